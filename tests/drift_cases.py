"""A drift test case, shared by the unit tier (synthetic data) and integration (real data)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_predict, train_test_split

from k8s_mlserve.drift import ReferenceProfile, build_reference, prediction_scores
from k8s_mlserve.model.bundle import ResponseSpec, write_bundle
from k8s_mlserve.model.schema import InputSchema


@dataclass(frozen=True)
class Case:
    """A dataset split in two, a model fitted on the first part, and the reference built from it."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    model: Any
    positive: str
    reference: ReferenceProfile
    bundle: Path

    def predict(self, frame: pd.DataFrame) -> tuple[list[str], np.ndarray[Any, Any]]:
        """Predicted labels and positive-class scores, as the server reports them."""
        proba = self.model.predict_proba(frame)
        labels = [str(c) for c in np.asarray(self.model.classes_)[proba.argmax(axis=1)]]
        return labels, prediction_scores(proba, self.model.classes_, self.positive)


def make_case(
    tmp: Path,
    name: str,
    features: pd.DataFrame,
    target: pd.Series[str],
    model: Any,
    positive: str,
) -> Case:
    """Split 70/30, fit ``model`` on the 70 %, and write its bundle with the drift reference."""
    x_train, x_hold, y_train, _ = train_test_split(
        features, target, test_size=0.3, random_state=0, stratify=target
    )
    # Out-of-fold scores: the model's outputs on rows it did not learn from.
    proba = cross_val_predict(model, x_train, y_train, cv=3, method="predict_proba")
    model.fit(x_train, y_train)
    labels = [str(c) for c in np.asarray(model.classes_)[proba.argmax(axis=1)]]
    scores = prediction_scores(proba, model.classes_, positive)
    schema = InputSchema.infer(x_train)
    raw = build_reference(x_train, schema, labels=labels, scores=scores)
    bundle = write_bundle(
        tmp / name,
        model,
        x_train,
        name=name,
        version="v1",
        reference=raw,
        response=ResponseSpec(positive_class=positive),
    )
    return Case(
        train=x_train,
        holdout=x_hold,
        model=model,
        positive=positive,
        reference=ReferenceProfile.model_validate(raw),
        bundle=bundle,
    )
