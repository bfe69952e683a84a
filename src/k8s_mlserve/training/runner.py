"""Train an example by name and publish it: the code behind ``k8s-mlserve train``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError, ConfigurationError
from ..model.registry import BundleRegistry
from .examples import EXAMPLES, churn, diabetes, iris
from .tracking import CHAMPION, DEFAULT_METRIC, METRICS, TrackedRun, log_and_register
from .trained import Progress, TrainedModel, publish


@dataclass(frozen=True)
class TrainingRun:
    """What a training run published."""

    name: str
    version: str
    path: Path
    metrics: dict[str, float]
    tracked: TrackedRun | None = None


def fit_example(
    example: str,
    *,
    data: str | None = None,
    algorithm: str = "rf",
    progress: Progress | None = None,
) -> TrainedModel:
    """Fit one of the examples without publishing it."""
    if example == "iris":
        if algorithm not in iris.ALGORITHMS:
            raise ConfigurationError(
                f"unknown iris algorithm {algorithm!r}; choose one of {', '.join(iris.ALGORITHMS)}"
            )
        return iris.train(algorithm, progress=progress)
    if example == "diabetes":
        return diabetes.train(data, progress=progress)
    if example == "churn":
        return churn.train(data, progress=progress)
    raise ConfigurationError(f"unknown example {example!r}; choose one of {', '.join(EXAMPLES)}")


def train_example(
    example: str,
    *,
    output: Path,
    data: str | None = None,
    version: str | None = None,
    algorithm: str = "rf",
    make_current: bool = True,
    quiet: bool = False,
    tracking_uri: str | None = None,
    metric: str = DEFAULT_METRIC,
    force_champion: bool = False,
) -> TrainingRun:
    """Fit an example and publish it as a new version of the registry at ``output``.

    With a ``tracking_uri`` the run is also logged to MLflow and registered (see ``tracking``);
    the bundle then takes the registered version's number (``vN``) when it is free, records the
    run id, and becomes current only if the new version became champion.
    """
    registry = BundleRegistry(output)
    if tracking_uri and metric not in METRICS:
        raise ConfigurationError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if version is not None and registry.version_path(version).exists():
        raise BundleError(f"version {version} already exists in {output}; pass another --version")
    progress = Progress(5 if tracking_uri else 4, quiet=quiet)
    trained = fit_example(example, data=data, algorithm=algorithm, progress=progress)
    tracked = None
    if tracking_uri:
        progress(f"logging to MLflow at {tracking_uri}")
        tracked = log_and_register(
            trained, tracking_uri=tracking_uri, metric=metric, force_champion=force_champion
        )
        if version is None and not registry.version_path(f"v{tracked.version}").exists():
            version = f"v{tracked.version}"
        make_current = make_current and tracked.alias == CHAMPION
    progress(f"publishing to {output}")
    path, chosen = publish(
        trained,
        output,
        version=version,
        make_current=make_current,
        mlflow_run_id=tracked.run_id if tracked else None,
    )
    return TrainingRun(
        name=trained.name, version=chosen, path=path, metrics=trained.metrics, tracked=tracked
    )
