"""A small synthetic dataset and a model fitted on it for the drift tests (built once per session).

Six features of the kinds the detector handles: numbers (integers, floats, one with missing values)
and categories. ``dose`` decides the outcome, so shifting it moves the model's predictions too.
What the detector finds on the real datasets is tested in tests/integration/drift/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from k8s_mlserve.drift import ReferenceProfile, build_reference, prediction_scores
from k8s_mlserve.model.bundle import ResponseSpec, write_bundle
from k8s_mlserve.model.schema import InputSchema

NUMERIC = ["dose", "age", "weight", "income", "visits"]
CATEGORICAL = ["plan"]
POSITIVE = "yes"


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


def make_rows(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series[str]]:
    """``rows`` synthetic patients and whether each responded (``yes`` mostly above dose 100)."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(mean=10.5, sigma=0.4, size=rows)
    income[rng.random(rows) < 0.03] = np.nan
    features = pd.DataFrame(
        {
            "dose": rng.normal(100.0, 20.0, size=rows),
            "age": rng.integers(20, 80, size=rows),
            "weight": rng.normal(70.0, 12.0, size=rows),
            "income": income,
            "plan": rng.choice(["basic", "gold", "silver"], size=rows, p=[0.5, 0.3, 0.2]),
            "visits": rng.poisson(3.0, size=rows),
        }
    )
    responds = features["dose"] + rng.normal(0.0, 10.0, size=rows) > 100.0
    return features, pd.Series(np.where(responds, POSITIVE, "no"), name="outcome", dtype=str)


def _model() -> Pipeline:
    return Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numeric", SimpleImputer(strategy="median"), NUMERIC),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                    ]
                ),
            ),
            ("forest", RandomForestClassifier(n_estimators=20, min_samples_leaf=5, random_state=0)),
        ]
    )


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Case:
    """1200 synthetic rows: a model and its reference from 840 of them, 360 held out."""
    features, target = make_rows(1200)
    x_train, x_hold, y_train, _ = train_test_split(
        features, target, test_size=0.3, random_state=0, stratify=target
    )
    model = _model()
    # Out-of-fold scores: the model's outputs on rows it did not learn from.
    proba = cross_val_predict(model, x_train, y_train, cv=3, method="predict_proba")
    model.fit(x_train, y_train)
    labels = [str(c) for c in np.asarray(model.classes_)[proba.argmax(axis=1)]]
    scores = prediction_scores(proba, model.classes_, POSITIVE)
    raw = build_reference(x_train, InputSchema.infer(x_train), labels=labels, scores=scores)
    bundle = write_bundle(
        tmp_path_factory.mktemp("drift") / "synthetic",
        model,
        x_train,
        name="synthetic",
        version="v1",
        reference=raw,
        response=ResponseSpec(positive_class=POSITIVE),
    )
    return Case(
        train=x_train,
        holdout=x_hold,
        model=model,
        positive=POSITIVE,
        reference=ReferenceProfile.model_validate(raw),
        bundle=bundle,
    )
