"""The ``model`` and ``training`` sections of the deployment spec: where the served model comes
from, and the Job that trains it.

``model.source`` is ``claim`` (a registry directory on the models claim), ``image`` (baked into the
image) or ``mlflow`` (a registered model by alias); the training Job runs a built-in example or the
user's own command.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, field_validator, model_validator

from . import contract
from .spec_types import Argument, DnsLabel, EnvName, EnvValue, Resources, Section, resources

ModelSource = Literal["claim", "image", "mlflow"]

# What every training container gets from k8s-mlserve; the spec may not set them.
TRAINING_ENV: Final = (
    "HOME",
    contract.ENV_TRAINING_OUTPUT,
    contract.ENV_TRAINING_VERSION,
    contract.ENV_TRAINING_REGISTERED_MODEL,
    contract.ENV_TRAINING_MODEL_ALIAS,
    contract.ENV_TRACKING_URI,
)


class Model(Section):
    """Where the API finds its model: the models claim, the image, or MLflow."""

    source: ModelSource | None = Field(
        None, description="claim, image or mlflow; default: mlflow with registered_name, else claim"
    )
    name: DnsLabel | None = Field(None, description="directory under /models; default: name")
    registered_name: str | None = Field(None, description="MLflow registered model name")
    alias: str = Field("champion", pattern=r"^[A-Za-z0-9_-]+$")
    version: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
        description="pin a version of the registry directory instead of following current",
    )

    @property
    def resolved_source(self) -> ModelSource:
        """``source``, or its default: ``mlflow`` with a registered name, else ``claim``."""
        if self.source is not None:
            return self.source
        return "mlflow" if self.registered_name is not None else "claim"

    @model_validator(mode="after")
    def _fits_the_source(self) -> Model:
        source = self.resolved_source
        if source == "mlflow" and self.registered_name is None:
            raise ValueError("source mlflow needs registered_name, the MLflow model to serve")
        if source != "mlflow" and self.registered_name is not None:
            raise ValueError(
                f"registered_name is only used with source mlflow, not {source}; remove it or set "
                "source: mlflow"
            )
        if source == "image" and self.version is not None:
            raise ValueError(
                "version pins a version of the registry directory on the models claim; with "
                "source image the image holds one model: set image.tag to the image that has it"
            )
        return self


NonEmpty = Annotated[str, Field(min_length=1)]


class Training(Section):
    """The training Job: a built-in example (``k8s-mlserve train``) or the user's own command,
    publishing into the registry directory on the models claim."""

    example: DnsLabel | None = Field(None, description="a built-in example: iris, diabetes, churn")
    algorithm: str | None = Field(
        None, pattern=r"^[a-z0-9_-]+$", description="iris: rf, svm, logreg"
    )
    data: str | None = None
    command: list[NonEmpty] | None = Field(None, min_length=1, description="your own program")
    args: list[Argument] = Field(default_factory=list)
    image: str | None = Field(None, min_length=1, description="default: the spec's image")
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    version: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    backoff_limit: int = Field(2, ge=0, le=20)
    active_deadline_seconds: int | None = Field(None, ge=1)
    ttl_seconds_after_finished: int | None = Field(None, ge=0)
    resources: Resources = resources("500m", "512Mi", "2", "2Gi")

    @field_validator("env")
    @classmethod
    def _not_ours(cls, value: dict[str, str]) -> dict[str, str]:
        taken = sorted(name for name in value if name in TRAINING_ENV)
        if taken:
            raise ValueError(
                f"{', '.join(taken)}: set by k8s-mlserve for every training Job; remove "
                + ("them" if len(taken) > 1 else "it")
            )
        return value

    @model_validator(mode="after")
    def _one_program(self) -> Training:
        if self.example is None and self.command is None:
            raise ValueError(
                "set example (a built-in example: iris, diabetes or churn) or command (your own "
                "program)"
            )
        if self.example is not None and self.command is not None:
            raise ValueError("set example or command, not both")
        if self.command is not None:
            for name in ("algorithm", "data"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name} is an option of the built-in examples; with command, pass what "
                        "your program needs in args or env"
                    )
        return self
