"""The drift reference: what the training data (and the model's predictions on it) looked like.

Training writes it into the bundle as ``reference.json``. Per feature it keeps:

- numeric: quantile bin edges and the share of rows in each bin, mean, standard deviation,
  missing rate, and a bounded random sample of values for two-sample tests;
- categorical: the count of every level and the missing rate.

For prediction drift it keeps the same kind of profile for the predicted labels (a categorical
profile named ``prediction``) and for the scores (a numeric profile named ``score``).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from ..errors import BundleError, BundleNotFoundError, DatasetError
from ..model.schema import CategoricalFeature, InputSchema
from .stats import bin_counts, quantile_edges

if TYPE_CHECKING:  # frames belong to building a reference; loading one needs no pandas
    import pandas as pd

REFERENCE_FILE = "reference.json"


class NumericProfile(BaseModel):
    """A numeric column: right-closed quantile bins ``(-inf, e0], ..., (e_last, inf)`` and more."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric"] = "numeric"
    rows: int = Field(ge=0, description="rows profiled, missing values included")
    missing_rate: float = Field(ge=0, le=1)
    mean: float | None = None
    std: float | None = None
    edges: list[float] = Field(description="inner bin edges, increasing")
    proportions: list[float] = Field(description="share of non-missing values in each bin")
    sample: list[float] = Field(description="a random sample of the non-missing values")


class CategoricalProfile(BaseModel):
    """A categorical column: how often each level occurs."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["categorical"] = "categorical"
    rows: int = Field(ge=0, description="rows profiled, missing values included")
    missing_rate: float = Field(ge=0, le=1)
    counts: dict[str, int] = Field(description="rows per level (missing values excluded)")

    @property
    def shares(self) -> dict[str, float]:
        """Share of each level among the non-missing values."""
        total = sum(self.counts.values())
        return {level: (n / total if total else 0.0) for level, n in self.counts.items()}


FeatureProfile = Annotated[NumericProfile | CategoricalProfile, Field(discriminator="kind")]


class PredictionProfile(BaseModel):
    """The model's own outputs on reference rows: predicted labels and scores."""

    model_config = ConfigDict(frozen=True)

    labels: CategoricalProfile | None = None
    scores: NumericProfile | None = None


class ReferenceProfile(BaseModel):
    """The whole reference, as stored in ``reference.json``."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = 1
    created_at: datetime
    rows: int = Field(ge=0)
    features: list[FeatureProfile]
    predictions: PredictionProfile = Field(default_factory=PredictionProfile)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> NumericProfile | CategoricalProfile:
        """The profile of feature ``name``."""
        for profile in self.features:
            if profile.name == name:
                return profile
        raise KeyError(f"the reference has no feature {name!r}; it has {self.names}")


def build_reference(
    frame: pd.DataFrame,
    schema: InputSchema,
    *,
    labels: Sequence[object] | None = None,
    scores: npt.ArrayLike | None = None,
    sample_size: int = 1000,
    bins: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Profile the training ``frame`` feature by feature; returns the JSON-ready reference.

    ``labels`` and ``scores`` are the model's predicted labels and positive-class (or highest)
    probabilities. Prefer predictions on rows the model did not learn from (a validation split,
    or ``sklearn.model_selection.cross_val_predict``): a model scores its own training rows more
    confidently than new ones, which would later read as prediction drift.
    """
    if sample_size < 1:
        raise ValueError(f"sample_size must be at least 1, got {sample_size}")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    missing = [name for name in schema.names if name not in frame.columns]
    if missing:
        raise DatasetError(f"the frame lacks the feature column(s) {missing}")
    rng = np.random.default_rng(seed)
    features: list[NumericProfile | CategoricalProfile] = []
    for feature in schema.features:
        column = frame[feature.name]
        if isinstance(feature, CategoricalFeature):
            features.append(categorical_profile(feature.name, column, levels=feature.levels))
        else:
            features.append(numeric_profile(feature.name, column, bins, sample_size, rng))
    predictions = PredictionProfile(
        labels=categorical_profile("prediction", list(labels)) if labels is not None else None,
        scores=numeric_profile("score", np.asarray(scores), bins, sample_size, rng)
        if scores is not None
        else None,
    )
    profile = ReferenceProfile(
        created_at=datetime.now(UTC),
        rows=len(frame),
        features=features,
        predictions=predictions,
    )
    return profile.model_dump(mode="json")


def numeric_profile(
    name: str, column: Column, bins: int, sample_size: int, rng: np.random.Generator
) -> NumericProfile:
    """Profile one numeric column."""
    values = numeric_values(column)
    present = values[np.isfinite(values)]
    edges = quantile_edges(present, bins)
    counts = bin_counts(present, edges)
    if present.size > sample_size:
        sample = np.sort(rng.choice(present, size=sample_size, replace=False))
    else:
        sample = np.sort(present)
    return NumericProfile(
        name=name,
        rows=int(values.size),
        missing_rate=_rate(values.size - present.size, values.size),
        mean=float(present.mean()) if present.size else None,
        std=float(present.std(ddof=1)) if present.size > 1 else None,
        edges=[float(e) for e in edges],
        proportions=[float(c) / present.size if present.size else 0.0 for c in counts],
        sample=[float(v) for v in sample],
    )


Column = Union["pd.Series[Any]", Sequence[Any], npt.NDArray[Any]]
"""A column of values: a pandas Series (a frame's), or a list or array (validated rows')."""


def categorical_profile(
    name: str, column: Column, levels: Sequence[str] = ()
) -> CategoricalProfile:
    """Profile one categorical column; ``levels`` are listed even when they never occur.

    Missing values (None, NaN) are not levels; every other value counts as its text.
    """
    present = Counter(str(v) for v in column if not _is_missing(v))
    counts = {level: 0 for level in levels}
    counts.update(present)
    rows = len(column)
    found = sum(present.values())
    return CategoricalProfile(
        name=name,
        rows=rows,
        missing_rate=_rate(rows - found, rows),
        counts=dict(sorted(counts.items())),
    )


def numeric_values(column: Column) -> npt.NDArray[np.float64]:
    """A column as floats, with anything that is not a finite number turned into NaN.

    A list or array (validated rows, model scores) is read without pandas: numbers stay, anything
    else is NaN. A Series (a frame read from CSV) goes through ``pandas.to_numeric``, which also
    reads numbers written as text.
    """
    if isinstance(column, np.ndarray) and column.dtype.kind in "biuf":
        values: npt.NDArray[np.float64] = column.astype(np.float64)
    elif isinstance(column, (list, tuple, np.ndarray)):
        values = np.array(
            [
                v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan
                for v in column
            ],
            dtype=np.float64,
        )
    else:
        import pandas as pd

        values = np.array(pd.to_numeric(column, errors="coerce"), dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


def _number(value: Any) -> float:
    """A number as a float (numpy's included); anything else, booleans too, as NaN."""
    if isinstance(value, bool):
        return math.nan
    return float(value) if isinstance(value, numbers.Real) else math.nan


def _is_missing(value: Any) -> bool:
    """None and float NaN (numpy's included), and pandas' NA and NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value  # NaN
    return type(value).__name__ in ("NAType", "NaTType")


def prediction_scores(
    probabilities: npt.ArrayLike, classes: Sequence[object], positive_class: object | None = None
) -> npt.NDArray[np.float64]:
    """The score the server reports: the positive class's probability, else the highest one."""
    proba: npt.NDArray[np.float64] = np.asarray(probabilities, dtype=np.float64)
    if positive_class is None:
        best: npt.NDArray[np.float64] = proba.max(axis=1)
        return best
    keys = [str(c) for c in classes]
    if str(positive_class) not in keys:
        raise ValueError(f"positive class {positive_class!r} is not one of the classes {keys}")
    column: npt.NDArray[np.float64] = proba[:, keys.index(str(positive_class))]
    return column


def load_reference(path: str | os.PathLike[str]) -> ReferenceProfile:
    """Read a reference from ``reference.json`` or from a bundle directory holding one."""
    target = Path(path)
    if target.is_dir():
        target = target / REFERENCE_FILE
    if not target.is_file():
        raise BundleNotFoundError(
            f"{target} does not exist: the bundle was written without a drift reference "
            "(train again, or pass reference= to write_bundle)"
        )
    try:
        return ReferenceProfile.model_validate(json.loads(target.read_bytes()))
    except (ValueError, PydanticValidationError) as exc:
        raise BundleError(f"{target} is not a valid drift reference: {exc}") from exc


def _rate(part: int, whole: int) -> float:
    return float(part) / whole if whole else 0.0
