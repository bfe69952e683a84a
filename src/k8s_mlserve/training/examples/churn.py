"""Customer churn: the IBM Telco dataset, mixed numeric and categorical columns, with all the
preprocessing inside one scikit-learn Pipeline."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from ...model.bundle import ResponseSpec
from ..datasets import read_csv, resolve_dataset
from ..trained import Progress, TrainedModel, classification_metrics

NAME = "churn-model"
FILENAME = "telco-customer-churn.csv"
URL = "https://raw.githubusercontent.com/plotly/datasets/master/telco-customer-churn-by-IBM.csv"
ID_COLUMN = "customerID"
TARGET = "Churn"
# A request for a new customer (no total charges yet).
EXAMPLE_ROW = {
    "gender": "Female",
    "SeniorCitizen": 0,
    "Partner": "Yes",
    "Dependents": "No",
    "tenure": 1,
    "PhoneService": "No",
    "MultipleLines": "No phone service",
    "InternetService": "DSL",
    "OnlineSecurity": "No",
    "OnlineBackup": "Yes",
    "DeviceProtection": "No",
    "TechSupport": "No",
    "StreamingTV": "No",
    "StreamingMovies": "No",
    "Contract": "Month-to-month",
    "PaperlessBilling": "Yes",
    "PaymentMethod": "Electronic check",
    "MonthlyCharges": 29.85,
    "TotalCharges": None,
}
NUMERIC = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
PARAMS: dict[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_depth": 4,
    "random_state": 42,
}
RESPONSE = ResponseSpec(
    positive_class="Yes",
    flag_field="will_churn",
    probability_field="churn_probability",
    risk_field="risk_level",
    thresholds=(0.3, 0.6),
    labels=("low", "medium", "high"),
)


def prepare(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Drop the id, turn blank TotalCharges into missing values, split features and target."""
    frame = frame.drop(columns=[ID_COLUMN])
    frame["TotalCharges"] = pd.to_numeric(
        frame["TotalCharges"].astype(str).str.strip().replace("", None), errors="coerce"
    )
    target = frame.pop(TARGET).astype(str)
    for column in frame.columns:
        if column not in NUMERIC:
            frame[column] = frame[column].astype(str)
    return frame, target


def build_pipeline(features: pd.DataFrame) -> Pipeline:
    numeric = [c for c in features.columns if c in NUMERIC]
    categorical = [c for c in features.columns if c not in NUMERIC]
    preprocess = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), numeric),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ]
    )
    return Pipeline(
        [("preprocess", preprocess), ("classifier", HistGradientBoostingClassifier(**PARAMS))]
    )


def train(data: str | None = None, *, progress: Progress | None = None) -> TrainedModel:
    """Train the churn pipeline (stratified 80/20 split, seed 42)."""
    progress = progress or Progress(3)
    location = resolve_dataset(data, filename=FILENAME, url=URL)
    progress(f"reading {location}")
    raw = read_csv(location, required=[ID_COLUMN, TARGET, *NUMERIC], filename=FILENAME)
    features, target = prepare(raw)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=0.2, random_state=42, stratify=target
    )
    pipeline = build_pipeline(x_train)
    progress(f"fitting the preprocessing + gradient boosting pipeline on {len(x_train)} rows")
    pipeline.fit(x_train, y_train)
    progress("evaluating on the held-out 20%")
    return TrainedModel(
        name=NAME,
        model=pipeline,
        train_frame=x_train,
        test_frame=x_test,
        test_target=y_test,
        algorithm="hist_gradient_boosting",
        params=PARAMS,
        metrics=classification_metrics(pipeline, x_test, y_test, positive="Yes"),
        response=RESPONSE,
    )
