"""Release strategies: which API Deployments a spec has, how many replicas each runs, and which
pods the Service selects.

- rolling: one Deployment, updated in place (maxSurge/maxUnavailable).
- blue-green: ``NAME-blue`` and ``NAME-green``, labelled by colour; the Service selects the live
  colour (``k8s-mlserve rollout switch`` flips it on a cluster).
- canary: ``NAME-stable`` and ``NAME-canary`` behind one Service selecting both; the replica
  counts split ``api.replicas`` by the canary percentage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import naming
from .spec import DeploymentSpec
from .spec_strategy import BlueGreenStrategy, CanaryStrategy, Variant

COLOURS = ("blue", "green")
TRACKS = ("stable", "canary")


@dataclass(frozen=True)
class ApiVariant:
    """One API Deployment of a strategy."""

    suffix: str | None
    selector_labels: dict[str, str]
    replicas: int | None  # None when a HorizontalPodAutoscaler owns the count
    image_tag: str
    model_alias: str | None
    model_version: str | None  # a pinned version of the registry directory
    autoscaled: bool

    def deployment_name(self, spec: DeploymentSpec) -> str:
        return naming.names(spec).api_variant(self.suffix)


def canary_split(total: int, percent: int) -> tuple[int, int]:
    """(stable, canary) replica counts: the canary gets ``percent`` of ``total``, rounded half
    up, at least one pod when the percentage is above 0 and at most ``total - 1`` below 100."""
    if percent <= 0:
        return total, 0
    if percent >= 100:
        return 0, total
    canary = min(max(1, math.floor(total * percent / 100 + 0.5)), total - 1)
    return total - canary, canary


def _variant(
    spec: DeploymentSpec,
    suffix: str | None,
    labels: dict[str, str],
    replicas: int,
    override: Variant | None = None,
    *,
    autoscaled: bool = False,
) -> ApiVariant:
    override = override or Variant()
    return ApiVariant(
        suffix=suffix,
        selector_labels=labels,
        replicas=None if autoscaled else replicas,
        image_tag=override.image_tag or spec.image.tag,
        model_alias=override.model_alias,
        model_version=override.model_version or spec.model.version,
        autoscaled=autoscaled,
    )


def api_variants(spec: DeploymentSpec) -> list[ApiVariant]:
    """The API Deployments of the spec's strategy, in a stable order."""
    strategy = spec.strategy
    autoscaled = spec.autoscaling is not None
    if isinstance(strategy, BlueGreenStrategy):
        return [
            _variant(
                spec,
                colour,
                {naming.COLOUR: colour},
                spec.api.replicas,
                getattr(strategy, colour),
                autoscaled=autoscaled,
            )
            for colour in COLOURS
        ]
    if isinstance(strategy, CanaryStrategy):
        stable, canary = canary_split(spec.api.replicas, strategy.percent)
        return [
            _variant(spec, "stable", {naming.TRACK: "stable"}, stable),
            _variant(spec, "canary", {naming.TRACK: "canary"}, canary, strategy.canary),
        ]
    return [_variant(spec, None, {}, spec.api.replicas, autoscaled=autoscaled)]


def service_selector(spec: DeploymentSpec) -> dict[str, str]:
    """The API Service's selector: every API pod, or only the live colour's."""
    extra = {}
    if isinstance(spec.strategy, BlueGreenStrategy):
        extra[naming.COLOUR] = spec.strategy.live
    return naming.selector(spec, naming.API, **extra)
