"""Real data and quickly trained models for the drift tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from ...drift_cases import Case, make_case


def read_diabetes(data_dir: Path) -> tuple[pd.DataFrame, pd.Series[str]]:
    frame = pd.read_csv(data_dir / "diabetes.csv")
    return frame.drop(columns="Outcome"), frame["Outcome"].astype(str)


def read_churn(data_dir: Path) -> tuple[pd.DataFrame, pd.Series[str]]:
    frame = pd.read_csv(data_dir / "telco-customer-churn.csv").drop(columns="customerID")
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce")
    target = frame.pop("Churn").astype(str)
    return frame, target


@pytest.fixture(scope="session")
def diabetes(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Case:
    features, target = read_diabetes(data_dir)
    model = RandomForestClassifier(n_estimators=60, min_samples_leaf=3, random_state=0)
    return make_case(tmp_path_factory.mktemp("drift"), "diabetes", features, target, model, "1")


@pytest.fixture(scope="session")
def churn(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Case:
    features, target = read_churn(data_dir)
    numeric = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
    categorical = [c for c in features.columns if c not in numeric]
    model = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numeric", SimpleImputer(strategy="median"), numeric),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
                    ]
                ),
            ),
            ("forest", RandomForestClassifier(n_estimators=60, min_samples_leaf=5, random_state=0)),
        ]
    )
    return make_case(tmp_path_factory.mktemp("drift"), "churn", features, target, model, "Yes")
