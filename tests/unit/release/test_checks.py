"""The one rollout check and the one pod-ready check, on objects as the API returns them."""

from __future__ import annotations

from typing import Any

from k8s_mlserve.release.checks import desired_replicas, pod_is_ready, rollout_problem

Obj = dict[str, Any]


def _deployment(wanted: int | None, **status: int) -> Obj:
    spec = {} if wanted is None else {"replicas": wanted}
    return {
        "metadata": {"generation": 2},
        "spec": spec,
        "status": {"observedGeneration": 2, **status},
    }


def test_a_fully_available_deployment_is_rolled_out() -> None:
    deployment = _deployment(3, replicas=3, updatedReplicas=3, availableReplicas=3)
    assert rollout_problem(deployment) is None
    assert rollout_problem(deployment, need_replicas=True) is None


def test_replicas_default_to_one_as_the_api_does() -> None:
    assert desired_replicas(_deployment(None)) == 1
    assert rollout_problem(_deployment(None)) == "0 of 1 replicas available, 0 updated, 0 in total"


def test_zero_replicas_is_rolled_out_but_cannot_take_traffic() -> None:
    deployment = _deployment(0)
    assert rollout_problem(deployment) is None
    assert rollout_problem(deployment, need_replicas=True) == "it is scaled to 0 replicas"


def test_an_unobserved_change_is_not_rolled_out() -> None:
    deployment = {"metadata": {"generation": 3}, "spec": {}, "status": {"observedGeneration": 2}}
    assert rollout_problem(deployment) == "its latest change is not rolled out yet"
    assert rollout_problem({"metadata": {"generation": 1}, "spec": {}, "status": {}}) == (
        "its latest change is not rolled out yet"
    )


def test_pods_of_an_older_revision_left_behind_are_a_problem() -> None:
    deployment = _deployment(2, replicas=3, updatedReplicas=2, availableReplicas=2)
    assert rollout_problem(deployment) == "2 of 2 replicas available, 2 updated, 3 in total"


def test_a_stuck_rollout_says_its_deadline_passed() -> None:
    deployment = _deployment(1)
    deployment["status"]["conditions"] = [
        {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "too slow"}
    ]
    assert rollout_problem(deployment) == "progress deadline exceeded: too slow"


def test_pod_readiness_reads_the_ready_condition() -> None:
    ready: Obj = {"metadata": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    unready: Obj = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert pod_is_ready(ready)
    assert not pod_is_ready(unready)
    assert not pod_is_ready({})
    ready["metadata"]["deletionTimestamp"] = "2026-11-29T00:00:00Z"
    assert pod_is_ready(ready)
    assert not pod_is_ready(ready, serving=True)
