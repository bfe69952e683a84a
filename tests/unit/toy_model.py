"""The toy model the unit tests serve: a small Pipeline on synthetic rows, behind a fake source.

The model is one-hot + logistic regression on 300 rows with a numeric (``x``), an integer
(``count``) and a categorical (``colour``) feature, and the response fields of a binary classifier
(``is_yes``, ``probability``, ``risk``), so that every kind of input, output and error can be
exercised without a socket or a real dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from k8s_mlserve.drift import build_reference
from k8s_mlserve.model.bundle import METADATA_FILE, Bundle, ResponseSpec, write_bundle
from k8s_mlserve.model.schema import InputSchema

MODEL_NAME = "toy-model"
ROW: dict[str, Any] = {"x": 0.5, "count": 3, "colour": "red"}
# Rows the toy model answers with both of its labels (``yes`` when x + [colour is red] > 0.5).
ROWS: list[dict[str, Any]] = [
    {"x": 2.0, "count": 5, "colour": "red"},
    {"x": -2.0, "count": 1, "colour": "blue"},
    ROW,
    {"x": 0.1, "count": 7, "colour": "green"},
]


def toy_frame(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "count": rng.integers(0, 10, size=rows),
            "colour": rng.choice(["red", "green", "blue"], size=rows),
        }
    )
    target = np.where(frame["x"] + (frame["colour"] == "red") > 0.5, "yes", "no")
    return frame, pd.Series(target)


def write_toy_bundle(path: Path, version: str = "v1") -> Path:
    frame, target = toy_frame()
    encode = ColumnTransformer(
        [("numbers", "passthrough", ["x", "count"]), ("colour", OneHotEncoder(), ["colour"])]
    )
    model = Pipeline([("prepare", encode), ("classify", LogisticRegression())]).fit(frame, target)
    return write_bundle(
        path,
        model,
        frame,
        name=MODEL_NAME,
        version=version,
        algorithm="logreg",
        response=ResponseSpec(positive_class="yes", flag_field="is_yes", risk_field="risk"),
        reference=build_reference(frame, InputSchema.infer(frame)),
    )


def write_toy_challenger(path: Path, version: str = "c1") -> Path:
    """A challenger for the toy model: fitted to another rule (the colour does not count), so
    the two disagree on some rows (``ROWS[3]``)."""
    frame, _ = toy_frame()
    encode = ColumnTransformer(
        [("numbers", "passthrough", ["x", "count"]), ("colour", OneHotEncoder(), ["colour"])]
    )
    model = Pipeline([("prepare", encode), ("classify", LogisticRegression())])
    model.fit(frame, np.where(frame["x"] > 0, "yes", "no"))
    return write_bundle(path, model, frame, name="toy-challenger", version=version)


def record_scikit_learn(bundle: Path, version: str | None) -> Path:
    """Rewrite ``metadata.json`` as if ``bundle`` had been written with scikit-learn ``version``.

    ``None`` records no scikit-learn version, like a bundle from before versions were recorded.
    """
    metadata = bundle / METADATA_FILE
    data = json.loads(metadata.read_text())
    data["library_versions"].pop("scikit-learn", None)
    if version is not None:
        data["library_versions"]["scikit-learn"] = version
    metadata.write_text(json.dumps(data))
    return bundle


class FakeSource:
    """A model source serving a fixed bundle, or failing with ``error`` when it is set."""

    def __init__(self, bundle: Bundle | None, description: str = "fake source") -> None:
        self.bundle = bundle
        self.description = description
        self.error: Exception | None = None
        self.loads = 0

    def current_version(self) -> str:
        if self.error is not None:
            raise self.error
        assert self.bundle is not None
        return self.bundle.metadata.version

    def load(self) -> Bundle:
        self.loads += 1
        if self.error is not None:
            raise self.error
        assert self.bundle is not None
        return self.bundle
