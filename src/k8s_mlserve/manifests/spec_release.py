"""The ``shadow`` and ``analysis`` sections of the deployment spec: a challenger scored on live
traffic beside the served model, and the thresholds a release must meet (``rollout analyze``).
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import Field, field_validator

from .spec_model import ModelSource
from .spec_types import Resources, Section, resources

CRON: Final = r"^(@(hourly|daily|weekly|monthly|yearly)|(\S+\s+){4}\S+)$"
_ALIAS = re.compile(r"^@[A-Za-z0-9_-]+$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class Shadow(Section):
    """A challenger model scoring a share of the live requests; its answers are compared with
    the served model's, never returned."""

    challenger: str = Field(
        "@challenger",
        min_length=1,
        description="@ALIAS of model.registered_name, a models:/ URI, or a version (MLflow: its "
        "number; the registry directory: its name, e.g. v2)",
    )
    sample_rate: float = Field(0.1, gt=0, le=1, description="share of requests also scored")
    queue_size: int = Field(1000, ge=1, le=1_000_000, description="rows waiting; more are dropped")

    @field_validator("challenger")
    @classmethod
    def _known_form(cls, value: str) -> str:
        if _ALIAS.match(value) or value.startswith("models:/") or _VERSION.match(value):
            return value
        raise ValueError(
            f"'{value}' is not a challenger: write @ALIAS (e.g. @challenger), a models:/ URI, or a "
            "version such as 3 or v2"
        )

    @property
    def alias(self) -> str | None:
        """The alias of ``@ALIAS``, else ``None``."""
        return self.challenger[1:] if self.challenger.startswith("@") else None

    def reference(self, source: ModelSource, registered_name: str | None) -> str:
        """The challenger as the server's ``shadow.model`` setting takes it."""
        if self.challenger.startswith("models:/") or source != "mlflow":
            return self.challenger
        if self.alias is not None:
            return f"models:/{registered_name}@{self.alias}"
        return f"models:/{registered_name}/{self.challenger.removeprefix('v')}"

    def check(self, source: ModelSource) -> None:
        """Refuse a challenger the model source cannot serve (``ValueError``)."""
        if self.alias is not None and source != "mlflow":
            raise ValueError(
                f"shadow.challenger {self.challenger} is an alias of model.registered_name; with "
                f"model.source {source}, give a version of the registry directory (e.g. v2)"
            )
        if source == "image" and not self.challenger.startswith("models:/"):
            raise ValueError(
                "shadow.challenger: with model.source image only a models:/ URI can be loaded"
            )
        if (
            source == "mlflow"
            and self.alias is None
            and not self.challenger.startswith("models:/")
            and not self.challenger.removeprefix("v").isdigit()
        ):
            raise ValueError(
                f"shadow.challenger {self.challenger}: an MLflow version is a number, e.g. 3"
            )


class Analysis(Section):
    """The thresholds ``k8s-mlserve rollout analyze`` judges a release by, and an optional
    schedule to run it in the cluster."""

    min_rows: int = Field(
        200, ge=1, description="rows scored by the challenger, or canary requests, to judge"
    )
    min_agreement: float = Field(
        0.95, ge=0, le=1, description="share of rows where the challenger's label is the champion's"
    )
    max_mean_abs_delta: float | None = Field(
        None, ge=0, description="mean |difference| of probabilities (or predictions)"
    )
    max_error_ratio: float = Field(
        0.01, ge=0, le=1, description="canary 5xx ratio; challenger error share"
    )
    max_p99_ratio: float = Field(1.5, gt=0, description="canary p99 latency / stable p99")
    schedule: str | None = Field(
        None, pattern=CRON, description="run rollout analyze as a CronJob on this schedule"
    )
    resources: Resources = resources("100m", "128Mi", "500m", "256Mi")
