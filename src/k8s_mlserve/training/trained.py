"""What every example shares: metrics, progress output and publishing the bundle."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from ..model.bundle import ResponseSpec
from ..model.registry import BundleRegistry
from .bundle import write_bundle


@dataclass
class TrainedModel:
    """A fitted model with what is needed to write and evaluate its bundle."""

    name: str
    model: Any
    train_frame: pd.DataFrame
    test_frame: pd.DataFrame
    test_target: pd.Series
    algorithm: str
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    response: ResponseSpec | None = None


class Progress:
    """Numbered progress lines on stderr, with elapsed time."""

    def __init__(self, steps: int, *, quiet: bool = False) -> None:
        self.steps = steps
        self.step = 0
        self.quiet = quiet
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.step += 1
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(
                f"[{self.step}/{self.steps}] {message} ({elapsed:.1f}s)",
                file=sys.stderr,
                flush=True,
            )


def classification_metrics(
    model: Any, frame: pd.DataFrame, target: pd.Series, positive: Any = None
) -> dict[str, float]:
    """accuracy, precision, recall, f1_score and auc_roc (macro/one-vs-rest when multiclass)."""
    predicted = model.predict(frame)
    proba = model.predict_proba(frame) if hasattr(model, "predict_proba") else None
    classes = list(model.classes_)
    if len(classes) == 2:
        pos = positive if positive is not None else classes[1]
        metrics = {
            "accuracy": accuracy_score(target, predicted),
            "precision": precision_score(target, predicted, pos_label=pos, zero_division=0),
            "recall": recall_score(target, predicted, pos_label=pos, zero_division=0),
            "f1_score": f1_score(target, predicted, pos_label=pos, zero_division=0),
        }
        if proba is not None:
            metrics["auc_roc"] = roc_auc_score(
                np.asarray(target) == pos, proba[:, classes.index(pos)]
            )
    else:
        metrics = {
            "accuracy": accuracy_score(target, predicted),
            "precision": precision_score(target, predicted, average="macro", zero_division=0),
            "recall": recall_score(target, predicted, average="macro", zero_division=0),
            "f1_score": f1_score(target, predicted, average="macro", zero_division=0),
        }
        if proba is not None:
            metrics["auc_roc"] = roc_auc_score(target, proba, multi_class="ovr", labels=classes)
    return {k: round(float(v), 4) for k, v in metrics.items()}


def next_version(registry: BundleRegistry) -> str:
    numbers = [int(v[1:]) for v in registry.versions() if v.startswith("v") and v[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1}"


def publish(
    trained: TrainedModel,
    output: Path,
    *,
    version: str | None = None,
    make_current: bool = True,
    reference: dict[str, Any] | None = None,
    mlflow_run_id: str | None = None,
) -> tuple[Path, str]:
    """Write the bundle as a new version of the registry at ``output``; return (path, version).

    Without an explicit ``reference``, the drift reference profiles the training rows and the
    model's predictions on the held-out rows: a fitted model is over-confident on its own
    training rows, so its predictions in production are best represented by unseen rows.
    """
    registry = BundleRegistry(output)
    chosen = version or next_version(registry)
    target_path = registry.version_path(chosen)
    if target_path.exists():
        from ..errors import BundleError

        raise BundleError(f"version {chosen} already exists in {output}; pass another --version")
    staging = registry.staging_dir()
    try:
        bundle_dir = write_bundle(
            staging / "bundle",
            trained.model,
            trained.train_frame,
            name=trained.name,
            version=chosen,
            metrics=trained.metrics,
            algorithm=trained.algorithm,
            response=trained.response,
            params=trained.params,
            reference=True if reference is None else reference,
            prediction_frame=trained.test_frame,
            mlflow_run_id=mlflow_run_id,
        )
        path = registry.publish(bundle_dir, chosen, make_current=make_current)
    finally:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return path, chosen
