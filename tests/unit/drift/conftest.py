"""A small synthetic dataset and a model fitted on it for the drift tests (built once per session).

Six features of the kinds the detector handles: numbers (integers, floats, one with missing values)
and categories. ``dose`` decides the outcome, so shifting it moves the model's predictions too.
What the detector finds on the real datasets is tested in tests/integration/drift/.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from ...drift_cases import Case, make_case

NUMERIC = ["dose", "age", "weight", "income", "visits"]
CATEGORICAL = ["plan"]
POSITIVE = "yes"


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
    return make_case(
        tmp_path_factory.mktemp("drift"), "synthetic", features, target, _model(), POSITIVE
    )
