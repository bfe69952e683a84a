"""Training side of MLflow: log a trained example, register it, and move the aliases.

A run logs the hyper-parameters, the metrics and the model (sklearn flavour, skops format, with a
signature, an input example and, in the MLmodel metadata, the input schema and response contract
the server needs). The model is registered as a new version; aliases replace the deprecated
stages: a new version becomes ``champion`` only when it beats the current champion on a chosen
metric (or when forced, or when it is the first version), otherwise ``challenger``.

``mlflow`` is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, ModelSourceError
from ..model.schema import InputSchema, NumericFeature
from ..sources.mlflow.loading import MLMODEL_METADATA_KEY

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.models import ModelSignature

    from .trained import TrainedModel

CHAMPION = "champion"
CHALLENGER = "challenger"
DEFAULT_METRIC = "f1_score"
METRICS = ("accuracy", "precision", "recall", "f1_score", "auc_roc")  # all: higher is better
MODEL_ARTIFACT = "model"


@dataclass(frozen=True)
class TrackedRun:
    """What logging a trained model to MLflow produced."""

    run_id: str
    experiment: str
    model_name: str
    version: str  # the registered version number, as MLflow shows it
    alias: str  # champion or challenger
    reason: str  # why that alias

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"


@dataclass(frozen=True)
class VersionSummary:
    """One registered version, for ``k8s-mlserve registry list``."""

    version: str
    aliases: tuple[str, ...]
    run_id: str | None
    created_at: datetime | None
    score: float | None


def experiment_name(model_name: str) -> str:
    """``diabetes-model`` -> ``diabetes-classification`` (the experiment the examples log to)."""
    return f"{model_name.removesuffix('-model')}-classification"


def decide_alias(
    score: float,
    champion_score: float | None,
    *,
    metric: str,
    champion_version: str | None,
    force: bool = False,
) -> tuple[str, str]:
    """Which alias a new version with ``score`` gets, and why (higher scores are better)."""
    if force:
        return CHAMPION, "forced"
    if champion_version is None:
        return CHAMPION, "first version with the champion alias"
    if champion_score is None:
        return CHALLENGER, f"champion version {champion_version} has no {metric} to compare with"
    if score > champion_score:
        return CHAMPION, (
            f"{metric} {score:.4f} beats champion version {champion_version} ({champion_score:.4f})"
        )
    return CHALLENGER, (
        f"{metric} {score:.4f} does not beat champion version {champion_version} "
        f"({champion_score:.4f})"
    )


def log_and_register(
    trained: TrainedModel,
    *,
    tracking_uri: str,
    metric: str = DEFAULT_METRIC,
    force_champion: bool = False,
    experiment: str | None = None,
    run_name: str | None = None,
    model_name: str | None = None,
) -> TrackedRun:
    """Log ``trained`` as a run, register a new version and give it an alias.

    The process's MLflow tracking URI is ``tracking_uri`` during the call and restored after it.
    """
    if metric not in trained.metrics:
        raise ConfigurationError(
            f"unknown metric {metric!r}; choose one of {', '.join(sorted(trained.metrics))}"
        )
    import mlflow
    import mlflow.sklearn
    import skops.io  # type: ignore[import-untyped]

    name = model_name or trained.name
    experiment = experiment or experiment_name(trained.name)
    schema = InputSchema.infer(trained.train_frame)
    client = _client(tracking_uri)
    with _mlflow_errors(f"log {name} to MLflow at {tracking_uri}"), _tracking_uri(tracking_uri):
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
        # The model was trained in this process: the types skops does not know are ours to trust.
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(trained.model))
        run_label = run_name or f"{trained.name.removesuffix('-model')}-{trained.algorithm}"
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_label) as run:
            mlflow.log_params(trained.params)
            mlflow.log_metrics(trained.metrics)
            mlflow.set_tags(
                {"algorithm": trained.algorithm, "training_rows": len(trained.train_frame)}
            )
            with warnings.catch_warnings():
                # MLflow's input-example check compares columns with range(); pandas 3 deprecates
                # that comparison. The outcome is unaffected.
                warnings.filterwarnings("ignore", message="Operation with range is deprecated")
                info = mlflow.sklearn.log_model(
                    trained.model,
                    name=MODEL_ARTIFACT,
                    signature=signature_for(schema, getattr(trained.model, "classes_", None)),
                    input_example=trained.test_frame.iloc[:5],
                    registered_model_name=name,
                    pip_requirements=mlflow.sklearn.get_default_pip_requirements(
                        include_skops=True
                    ),
                    serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
                    skops_trusted_types=trusted,
                    metadata={MLMODEL_METADATA_KEY: _recorded(trained, schema)},
                )
        version = str(info.registered_model_version)
        champion = _holder(client, name, CHAMPION)
        champion_score = None
        if champion is not None and champion.run_id:
            champion_score = client.get_run(champion.run_id).data.metrics.get(metric)
        alias, reason = decide_alias(
            trained.metrics[metric],
            champion_score,
            metric=metric,
            champion_version=champion.version if champion is not None else None,
            force=force_champion,
        )
        client.set_registered_model_alias(name, alias, version)
    return TrackedRun(
        run_id=run.info.run_id,
        experiment=experiment,
        model_name=name,
        version=version,
        alias=alias,
        reason=reason,
    )


def signature_for(schema: InputSchema, classes: Any) -> ModelSignature:
    """The MLflow signature of a classifier taking ``schema``'s columns and answering a label."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    inputs: list[ColSpec | TensorSpec] = []
    for feature in schema.features:
        if isinstance(feature, NumericFeature):
            kind = "long" if feature.dtype == "integer" else "double"
        else:
            kind = "string"
        inputs.append(ColSpec(kind, feature.name, required=not feature.nullable))
    label = "string"
    if classes is not None and len(classes) and all(_is_int(c) for c in classes):
        label = "long"
    return ModelSignature(inputs=Schema(inputs), outputs=Schema([ColSpec(label)]))


def list_versions(
    name: str, *, tracking_uri: str, metric: str = DEFAULT_METRIC
) -> list[VersionSummary]:
    """The registered versions of ``name``, newest first, with aliases and ``metric``."""
    client = _client(tracking_uri)
    with _mlflow_errors(f"list the versions of {name} at {tracking_uri}"):
        registered = client.get_registered_model(name)
        aliases: dict[str, list[str]] = {}
        for alias, version in (registered.aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        summaries = []
        for mv in _newest_first(client, name):
            score = None
            if mv.run_id:
                score = client.get_run(mv.run_id).data.metrics.get(metric)
            summaries.append(
                VersionSummary(
                    version=str(mv.version),
                    aliases=tuple(sorted(aliases.get(str(mv.version), []))),
                    run_id=mv.run_id or None,
                    created_at=(
                        datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)
                        if mv.creation_timestamp
                        else None
                    ),
                    score=score,
                )
            )
    return summaries


def newest_version(name: str, *, tracking_uri: str) -> str:
    """The number of the newest registered version of ``name`` (e.g. the one just trained)."""
    client = _client(tracking_uri)
    with _mlflow_errors(f"find the newest version of {name} at {tracking_uri}"):
        versions = _newest_first(client, name)
    if not versions:
        raise ConfigurationError(f"{name} has no registered version at {tracking_uri}")
    return str(versions[0].version)


def promote(name: str, version: str, *, alias: str = CHAMPION, tracking_uri: str) -> str | None:
    """Point ``alias`` of ``name`` at ``version`` (``3`` or ``v3``); return the previous holder.

    A version promoted to champion stops being the challenger.
    """
    number = version.removeprefix("v")
    if not number.isdigit():
        raise ConfigurationError(f"version must be a number such as 3 (or v3), got {version!r}")
    client = _client(tracking_uri)
    with _mlflow_errors(f"promote {name} version {number} to @{alias} at {tracking_uri}"):
        target = client.get_model_version(name, number)
        previous = _holder(client, name, alias)
        client.set_registered_model_alias(name, alias, number)
        if alias == CHAMPION and CHALLENGER in (target.aliases or []):
            client.delete_registered_model_alias(name, CHALLENGER)
    return previous.version if previous is not None else None


# -- helpers -----------------------------------------------------------------------------------


def _client(tracking_uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _newest_first(client: MlflowClient, name: str) -> list[Any]:
    """The registered versions of ``name``, newest first."""
    quoted = name.replace("'", "\\'")
    versions = client.search_model_versions(f"name='{quoted}'")
    return sorted(versions, key=lambda v: int(v.version), reverse=True)


def _holder(client: MlflowClient, name: str, alias: str) -> Any:
    """The version holding ``alias``, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            return None
        raise


def _recorded(trained: TrainedModel, schema: InputSchema) -> dict[str, Any]:
    """What the server needs besides the model, stored in the MLmodel metadata."""
    return {
        "name": trained.name,
        "algorithm": trained.algorithm,
        "input_schema": schema.model_dump(mode="json"),
        "response": trained.response.model_dump(mode="json") if trained.response else None,
        "training_rows": len(trained.train_frame),
        "params": trained.params,
    }


def _is_int(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@contextlib.contextmanager
def _tracking_uri(uri: str) -> Iterator[None]:
    """Use ``uri`` for MLflow's fluent API (which also sets $MLFLOW_TRACKING_URI), then restore."""
    import mlflow

    was_set = mlflow.is_tracking_uri_set()  # type: ignore[no-untyped-call]
    previous = mlflow.get_tracking_uri() if was_set else None
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None means "unset"


@contextlib.contextmanager
def _mlflow_errors(what: str) -> Iterator[None]:
    """Turn MLflow failures into ``ModelSourceError`` saying what was being done."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        raise ModelSourceError(f"cannot {what}: {' '.join(exc.message.split())}") from exc
