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

from ..model.bundle import ResponseSpec, write_bundle
from ..model.registry import BundleRegistry
from ..model.schema import InputSchema


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

    Without an explicit ``reference``, the drift reference is built from the training frame.
    """
    if reference is None:
        reference = drift_reference(trained)
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
            reference=reference,
            mlflow_run_id=mlflow_run_id,
        )
        path = registry.publish(bundle_dir, chosen, make_current=make_current)
    finally:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return path, chosen


def drift_reference(trained: TrainedModel) -> dict[str, Any]:
    """Feature distributions of the training rows; prediction distributions on held-out rows.

    A fitted model is over-confident on its own training rows, so the predictions it will be
    compared with in production are best represented by its predictions on unseen rows.
    """
    from ..drift.reference import build_reference, prediction_scores

    labels: list[str] | None = None
    scores = None
    model = trained.model
    if hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        proba = model.predict_proba(trained.test_frame)
        classes = list(model.classes_)
        labels = [str(classes[i]) for i in np.asarray(proba).argmax(axis=1)]
        positive = trained.response.positive_class if trained.response else None
        scores = prediction_scores(proba, classes, positive)
    else:
        labels = [str(v) for v in model.predict(trained.test_frame)]
    schema = InputSchema.infer(trained.train_frame)
    return build_reference(trained.train_frame, schema, labels=labels, scores=scores)
