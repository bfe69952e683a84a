"""The ``strategy`` section of the deployment spec: rolling, blue-green or canary.

``type`` may be left out (rolling); errors skip the union's tag, so they read
``strategy.percent: ...``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from .spec_types import ImageTag, IntOrPercent, Section

Colour = Literal["blue", "green"]


class Variant(Section):
    """What one colour or track runs, when it differs from the defaults."""

    image_tag: ImageTag | None = None
    model_alias: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]+$")
    model_version: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
        description="pin a version of the registry directory instead of following current",
    )


class _RollingUpdate(Section):
    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = 0

    @model_validator(mode="after")
    def _can_progress(self) -> _RollingUpdate:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            raise ValueError("max_surge and max_unavailable cannot both be 0")
        return self


class RollingStrategy(_RollingUpdate):
    """One Deployment updated in place."""

    type: Literal["rolling"] = "rolling"


class BlueGreenStrategy(_RollingUpdate):
    """Two Deployments labelled by colour; the Service selects the live one."""

    type: Literal["blue-green"]
    live: Colour = "blue"
    blue: Variant = Variant()
    green: Variant = Variant()


class CanaryStrategy(_RollingUpdate):
    """Stable and canary Deployments behind one Service, sized from a percentage."""

    type: Literal["canary"]
    percent: int = Field(10, ge=0, le=100)
    canary: Variant = Variant()


def _strategy_type(value: Any) -> str | None:
    # strategy.type may be left out: rolling is the default.
    if isinstance(value, dict):
        kind = value.get("type", "rolling")
        return kind if isinstance(kind, str) else None
    return getattr(value, "type", None)


Strategy = Annotated[
    Annotated[RollingStrategy, Tag("rolling")]
    | Annotated[BlueGreenStrategy, Tag("blue-green")]
    | Annotated[CanaryStrategy, Tag("canary")],
    Discriminator(
        _strategy_type,
        custom_error_type="invalid_strategy",
        custom_error_message="type must be 'rolling', 'blue-green' or 'canary'",
    ),
]
