"""Promotion and abort gated by a verdict: nothing moves unless the verdict says so."""

from __future__ import annotations

import pytest

from k8s_mlserve.errors import RolloutError
from k8s_mlserve.manifests import DeploymentSpec, parse_spec, render
from k8s_mlserve.release.analysis import Check, ModelVersion, Verdict
from k8s_mlserve.release.gates import abort_on, promote_on
from k8s_mlserve.release.rollout import Cluster

from ..manifests.conftest import counting_source, minimal
from .fake_pods import FakePodCluster

PASS = (Check("rows scored", "300", ">= 200", "pass"),)
FAIL = (Check("agreement", "0.5", ">= 0.95", "fail"),)
CHALLENGER = ModelVersion("churn-model", "v4")


def spec_of(**extra: object) -> DeploymentSpec:
    return parse_spec(minimal(**extra))


def cluster_of(spec: DeploymentSpec) -> tuple[FakePodCluster, Cluster]:
    fake = FakePodCluster(render(spec, counting_source()))
    return fake, Cluster(apps=fake, core=fake, pods=fake)


def never(name: str, version: str, alias: str) -> str | None:
    raise AssertionError("the alias must not move")


MLFLOW_SPEC = {"mlflow": {}, "model": {"registered_name": "churn-model", "alias": "prod"}}


def test_a_passing_shadow_verdict_moves_the_spec_alias() -> None:
    spec = spec_of(**MLFLOW_SPEC, shadow={})
    _, cluster = cluster_of(spec)
    moved: list[tuple[str, str, str]] = []

    def move(name: str, version: str, alias: str) -> str | None:
        moved.append((name, version, alias))
        return "4"  # already there: no "was"

    outcome = promote_on(
        Verdict("shadow", "", PASS, challenger=CHALLENGER), cluster, spec, move_alias=move
    )
    assert moved == [("churn-model", "v4", "prod")]
    assert outcome.changed
    assert "churn-model version v4 is now @prod;" in outcome.message


@pytest.mark.parametrize(
    ("checks", "problems", "status"),
    [(FAIL, (), "fail"), (PASS, ("pod api-0: /shadow answered 503",), "insufficient")],
)
def test_any_other_verdict_moves_nothing(
    checks: tuple[Check, ...], problems: tuple[str, ...], status: str
) -> None:
    spec = spec_of(**MLFLOW_SPEC, shadow={})
    _, cluster = cluster_of(spec)
    verdict = Verdict("shadow", "", checks, problems, CHALLENGER)
    outcome = promote_on(verdict, cluster, spec, move_alias=never)
    assert not outcome.changed
    assert outcome.message == f"not promoting: the shadow verdict is {status}"


def test_a_shadow_promotion_needs_an_mlflow_model_of_the_spec() -> None:
    spec = spec_of(**MLFLOW_SPEC, shadow={})
    _, cluster = cluster_of(spec)
    with pytest.raises(RolloutError, match="names no challenger version"):
        promote_on(Verdict("shadow", "", PASS), cluster, spec, move_alias=never)
    other = Verdict("shadow", "", PASS, challenger=ModelVersion("iris-model", "2"))
    with pytest.raises(RolloutError, match="not a version of churn-model"):
        promote_on(other, cluster, spec, move_alias=never)
    claim = spec_of(shadow={"challenger": "v2"})
    _, cluster = cluster_of(claim)
    with pytest.raises(RolloutError, match=r"serves from model\.source claim"):
        promote_on(
            Verdict("shadow", "", PASS, challenger=CHALLENGER), cluster, claim, move_alias=never
        )


def test_abort_is_for_a_failing_canary_only() -> None:
    spec = spec_of(
        api={"replicas": 4},
        strategy={"type": "canary", "percent": 25, "canary": {"image_tag": "1.1.0"}},
    )
    fake, cluster = cluster_of(spec)
    assert not abort_on(Verdict("canary", "", PASS), cluster, spec).changed
    assert fake.patches == []
    with pytest.raises(RolloutError, match="abort applies to a canary"):
        abort_on(Verdict("shadow", "", FAIL), cluster, spec)
    outcome = abort_on(Verdict("canary", "", FAIL), cluster, spec)
    assert outcome.changed
    assert fake.deployment("demo-canary", "demo")["spec"]["replicas"] == 0
    assert fake.deployment("demo-stable", "demo")["spec"]["replicas"] == 4
