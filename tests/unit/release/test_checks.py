"""The rollout, pod-ready and image checks, on objects as the API returns them."""

from __future__ import annotations

from typing import Any

from k8s_mlserve.release.checks import (
    desired_replicas,
    image_problem,
    pod_is_ready,
    rollout_problem,
    statefulset_problem,
)

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


def _pod(init: list[Obj], main: list[Obj]) -> Obj:
    return {
        "metadata": {"name": "api-1"},
        "spec": {
            "initContainers": [{"name": "seed", "image": "seed:1"}],
            "containers": [{"name": "api", "image": "api:1"}],
        },
        "status": {"initContainerStatuses": init, "containerStatuses": main},
    }


def _waiting(name: str, reason: str, message: str = "") -> Obj:
    return {"name": name, "state": {"waiting": {"reason": reason, "message": message}}}


def test_a_pod_waiting_on_its_image_says_which_and_why() -> None:
    pod = _pod([_waiting("seed", "ErrImageNeverPull", "not present")], [])
    problem = image_problem(pod)
    assert problem is not None
    assert problem.final
    assert str(problem) == "pod api-1 cannot get image seed:1 (ErrImageNeverPull: not present)"

    retried = image_problem(_pod([], [_waiting("api", "ImagePullBackOff")]))
    assert retried is not None
    assert not retried.final
    assert str(retried) == "pod api-1 cannot get image api:1 (ImagePullBackOff)"


def test_other_waits_are_not_image_problems() -> None:
    starting = _pod([], [_waiting("api", "ContainerCreating")])
    crashing = _pod([], [_waiting("api", "CrashLoopBackOff", "back-off 10s")])
    running = _pod([], [{"name": "api", "state": {"running": {}}}])
    assert image_problem(starting) is None
    assert image_problem(crashing) is None
    assert image_problem(running) is None
    assert image_problem({}) is None


def _statefulset(wanted: int, strategy: Obj | None = None, **status: int) -> Obj:
    spec: Obj = {"replicas": wanted}
    if strategy is not None:
        spec["updateStrategy"] = strategy
    return {
        "metadata": {"generation": 3},
        "spec": spec,
        "status": {"observedGeneration": 3, **status},
    }


def test_a_statefulset_is_rolled_out_when_every_replica_is_updated_and_ready() -> None:
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}  # as the API defaults
    done = _statefulset(1, rolling, replicas=1, readyReplicas=1, updatedReplicas=1)
    assert statefulset_problem(done) is None
    # The old pod is gone, the new one not ready yet: PostgreSQL is not serving.
    starting = _statefulset(1, rolling, replicas=1, updatedReplicas=1)
    assert statefulset_problem(starting) == "0 of 1 replicas ready, 1 updated, 1 in total"
    # Ready, but still the old revision's pod.
    old = _statefulset(1, rolling, replicas=1, readyReplicas=1, updatedReplicas=0)
    assert statefulset_problem(old) == "1 of 1 replicas ready, 0 updated, 1 in total"
    scaling_down = _statefulset(1, None, replicas=2, readyReplicas=2, updatedReplicas=2)
    assert statefulset_problem(scaling_down) == "2 of 1 replicas ready, 2 updated, 2 in total"


def test_a_statefulset_change_not_yet_observed_is_not_rolled_out() -> None:
    statefulset = _statefulset(1, replicas=1, readyReplicas=1, updatedReplicas=1)
    statefulset["status"]["observedGeneration"] = 2
    assert statefulset_problem(statefulset) == "its latest change is not rolled out yet"
    del statefulset["status"]["observedGeneration"]
    assert statefulset_problem(statefulset) == "its latest change is not rolled out yet"


def test_a_statefulset_partition_or_on_delete_leaves_pods_on_the_old_revision() -> None:
    partitioned = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    assert (
        statefulset_problem(
            _statefulset(3, partitioned, replicas=3, readyReplicas=3, updatedReplicas=1)
        )
        is None
    )
    assert statefulset_problem(
        _statefulset(3, partitioned, replicas=3, readyReplicas=3, updatedReplicas=0)
    ) == ("3 of 3 replicas ready, 0 updated, 3 in total")
    on_delete = _statefulset(2, {"type": "OnDelete"}, replicas=2, readyReplicas=2)
    assert statefulset_problem(on_delete) is None
