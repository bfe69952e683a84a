"""Release operations gated by an analysis verdict: promote only on a pass, abort only on a fail.

A canary is promoted or aborted as ``rollout.promote`` and ``rollout.abort`` do. A shadow
challenger is promoted by moving the spec's model alias (``model.alias``, e.g. champion) to the
challenger's version in the MLflow registry, through ``move_alias`` (the CLI passes the MLflow
client's; tests pass their own). Nothing moves on any other verdict.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import RolloutError
from ..manifests.spec import DeploymentSpec
from . import rollout
from .analysis import Verdict
from .rollout import Cluster, Outcome

#: Point ``alias`` of registered model ``name`` at ``version``; return the previous holder.
MoveAlias = Callable[[str, str, str], "str | None"]


def promote_on(
    verdict: Verdict,
    cluster: Cluster,
    spec: DeploymentSpec,
    *,
    move_alias: MoveAlias,
    force: bool = False,
) -> Outcome:
    """Promote what ``verdict`` judged, only when it passed."""
    if verdict.status != "pass":
        return Outcome(False, f"not promoting: the {verdict.kind} verdict is {verdict.status}")
    if verdict.kind == "canary":
        outcome = rollout.promote(cluster, spec, force=force)
        return Outcome(outcome.changed, f"the canary verdict passed: {outcome.message}")
    challenger = verdict.challenger
    if challenger is None:
        raise RolloutError("the shadow verdict names no challenger version; nothing to promote")
    if spec.model_source != "mlflow":
        raise RolloutError(
            f"promoting a shadow challenger moves an MLflow alias, but {spec.name} serves from "
            f"model.source {spec.model_source}"
        )
    if challenger.name != spec.model.registered_name:
        raise RolloutError(
            f"the pods score {challenger}, not a version of {spec.model.registered_name}; "
            "promote it with k8s-mlserve registry promote"
        )
    alias = spec.model.alias
    previous = move_alias(challenger.name, challenger.version, alias)
    number = challenger.version.removeprefix("v")  # served as vN, registered as N
    was = f" (was version {previous})" if previous and previous != number else ""
    return Outcome(
        True,
        f"the shadow verdict passed: {challenger} is now @{alias}{was}; the API pods load it "
        "when they next check the alias",
    )


def abort_on(verdict: Verdict, cluster: Cluster, spec: DeploymentSpec) -> Outcome:
    """Abort the canary, only when ``verdict`` failed."""
    if verdict.kind != "canary":
        raise RolloutError("abort applies to a canary; this verdict is of a shadow challenger")
    if verdict.status != "fail":
        return Outcome(False, f"not aborting: the canary verdict is {verdict.status}")
    outcome = rollout.abort(cluster, spec)
    return Outcome(outcome.changed, f"the canary verdict failed: {outcome.message}")
