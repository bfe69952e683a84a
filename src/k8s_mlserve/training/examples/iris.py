"""Iris: three algorithms to choose from, so three versions can be rolled out one after another."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..trained import Progress, TrainedModel, classification_metrics

NAME = "iris-model"
ALGORITHMS = ("rf", "svm", "logreg")
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
# A request as the iris clients send it (a setosa).
EXAMPLE_ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def build_estimator(algorithm: str, seed: int) -> tuple[Any, dict[str, Any]]:
    if algorithm == "rf":
        params: dict[str, Any] = {"n_estimators": 100, "max_depth": 5, "random_state": seed}
        return RandomForestClassifier(**params), params
    if algorithm == "svm":
        params = {"kernel": "rbf", "C": 1.0, "random_state": seed}
        # Probabilities come from calibration (SVC's own probability flag is deprecated).
        calibrated = CalibratedClassifierCV(SVC(**params), ensemble=False)
        return make_pipeline(StandardScaler(), calibrated), params
    if algorithm == "logreg":
        params = {"C": 1.0, "max_iter": 500}
        return make_pipeline(StandardScaler(), LogisticRegression(**params)), params
    raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")


def train(
    algorithm: str = "rf", *, seed: int = 42, progress: Progress | None = None
) -> TrainedModel:
    """Train an iris classifier; clients send the four measurements in centimetres."""
    progress = progress or Progress(3)
    progress("loading the iris dataset shipped with scikit-learn")
    data = load_iris()
    frame = pd.DataFrame(data.data, columns=FEATURES)
    target = pd.Series([data.target_names[i] for i in data.target], name="species")
    x_train, x_test, y_train, y_test = train_test_split(
        frame, target, test_size=0.2, random_state=seed, stratify=target
    )
    estimator, params = build_estimator(algorithm, seed)
    progress(f"fitting {algorithm} on {len(x_train)} rows")
    estimator.fit(x_train, y_train)
    progress("evaluating on the held-out 20%")
    return TrainedModel(
        name=NAME,
        model=estimator,
        train_frame=x_train,
        test_frame=x_test,
        test_target=y_test,
        algorithm=algorithm,
        params=params,
        metrics=classification_metrics(estimator, x_test, y_test),
    )
