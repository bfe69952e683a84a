"""Train an example by name and publish it: the code behind ``k8s-mlserve train``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from . import EXAMPLES, churn, diabetes, iris
from .training import Progress, TrainedModel, publish


@dataclass(frozen=True)
class TrainingRun:
    """What a training run published."""

    name: str
    version: str
    path: Path
    metrics: dict[str, float]


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
) -> TrainingRun:
    """Fit an example and publish it as a new version of the registry at ``output``."""
    progress = Progress(4, quiet=quiet)
    trained = fit_example(example, data=data, algorithm=algorithm, progress=progress)
    progress(f"publishing to {output}")
    path, chosen = publish(trained, output, version=version, make_current=make_current)
    return TrainingRun(name=trained.name, version=chosen, path=path, metrics=trained.metrics)
