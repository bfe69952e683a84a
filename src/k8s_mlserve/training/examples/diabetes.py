"""Diabetes risk: a random forest on the Pima Indians dataset, answering has_diabetes,
probability and risk_level as the clients of the workshop API expect."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from ...model.bundle import ResponseSpec
from ..datasets import read_csv, resolve_dataset
from ..trained import Progress, TrainedModel, classification_metrics

NAME = "diabetes-model"
FILENAME = "diabetes.csv"
URL = "https://raw.githubusercontent.com/plotly/datasets/master/diabetes.csv"
FEATURES = [
    "Pregnancies",
    "Glucose",
    "BloodPressure",
    "SkinThickness",
    "Insulin",
    "BMI",
    "DiabetesPedigreeFunction",
    "Age",
]
TARGET = "Outcome"
# A request as the workshop clients send it (the first row of the dataset).
EXAMPLE_ROW = {
    "Pregnancies": 6,
    "Glucose": 148,
    "BloodPressure": 72,
    "SkinThickness": 35,
    "Insulin": 0,
    "BMI": 33.6,
    "DiabetesPedigreeFunction": 0.627,
    "Age": 50,
}
PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 10,
    "min_samples_split": 5,
    "min_samples_leaf": 2,
    "random_state": 42,
}
RESPONSE = ResponseSpec(
    positive_class="1",
    flag_field="has_diabetes",
    probability_field="probability",
    risk_field="risk_level",
    thresholds=(0.3, 0.7),
    labels=("low", "moderate", "high"),
)


def train(data: str | None = None, *, progress: Progress | None = None) -> TrainedModel:
    """Train the diabetes classifier (stratified 80/20 split, seed 42)."""
    progress = progress or Progress(3)
    location = resolve_dataset(data, filename=FILENAME, url=URL)
    progress(f"reading {location}")
    frame = read_csv(location, required=[*FEATURES, TARGET], filename=FILENAME)
    features, target = frame[FEATURES], frame[TARGET].astype(int)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=0.2, random_state=42, stratify=target
    )
    model = RandomForestClassifier(**PARAMS)
    progress(f"fitting a random forest ({PARAMS['n_estimators']} trees) on {len(x_train)} rows")
    model.fit(x_train, y_train)
    progress("evaluating on the held-out 20%")
    return TrainedModel(
        name=NAME,
        model=model,
        train_frame=x_train,
        test_frame=x_test,
        test_target=y_test,
        algorithm="random_forest",
        params=PARAMS,
        metrics=classification_metrics(model, x_test, y_test, positive=1),
        response=RESPONSE,
    )
