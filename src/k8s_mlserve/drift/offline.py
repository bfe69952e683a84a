"""Offline drift: the rows to compare, from a CSV file or a request log, as the server sees them.

``read_current`` reads the rows (and, from a request log, the labels and scores the server
answered); ``predict_in_chunks`` predicts a CSV's rows with whatever model the caller passes, so
this module needs no inference code. ``k8s-mlserve drift`` wires the two together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DatasetError
from ..model.schema import CategoricalFeature, InputSchema
from .reference import numeric_values
from .requestlog import read_request_log

PREDICT_CHUNK = 2000

# Rows in, the predicted labels and scores (one per row) out.
PredictFn = Callable[[Sequence[Mapping[str, Any]]], tuple[Sequence[Any], Sequence[float | None]]]


@dataclass(frozen=True)
class CurrentData:
    """The rows to compare with the reference, and what the server answered for them if known."""

    frame: pd.DataFrame
    labels: list[Any] | None
    scores: list[float] | None
    description: str
    from_log: bool


def read_current(
    source: Path,
    schema: InputSchema,
    *,
    last: int | None = None,
    model_version: str | None = None,
) -> CurrentData:
    """The rows of a request log directory or a CSV file, with the schema's columns only."""
    names = schema.names
    if source.is_dir():
        log = read_request_log(source, max_rows=last, model_version=model_version)
        description = f"{len(log.frame)} rows from {log.files} request log file(s) in {source}" + (
            f", {log.skipped_lines} unreadable line(s) skipped" if log.skipped_lines else ""
        )
        missing = [n for n in names if n not in log.frame.columns]
        if len(log.frame) and missing:
            raise DatasetError(f"the request log lacks the feature(s) {missing}")
        frame = log.frame if len(log.frame) else pd.DataFrame(columns=names)
        return CurrentData(frame, log.labels or None, log.scores or None, description, True)
    if not source.is_file():
        raise DatasetError(f"{source} is neither a CSV file nor a request log directory")
    try:
        frame = pd.read_csv(source)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {source} as CSV: {exc}") from exc
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DatasetError(f"{source} lacks the feature column(s) {missing}")
    frame = coerce(frame[names], schema)
    if last is not None:
        frame = frame.tail(max(last, 0))
    return CurrentData(frame, None, None, f"{len(frame)} rows from {source}", False)


def coerce(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    """Columns as the server would see them: numbers (blank cells missing) and strings."""
    out = frame.copy()
    for feature in schema.features:
        column = out[feature.name]
        if isinstance(feature, CategoricalFeature):
            out[feature.name] = column.astype(object).where(column.isna(), column.astype(str))
        else:
            out[feature.name] = numeric_values(column)
    return out


@dataclass(frozen=True)
class OfflinePredictions:
    """Labels and scores of the rows the model accepts; ``rejected`` rows were left out."""

    labels: list[Any]
    scores: list[float]
    rejected: int


def predict_in_chunks(
    frame: pd.DataFrame,
    schema: InputSchema,
    predict: PredictFn,
    *,
    chunk: int = PREDICT_CHUNK,
) -> OfflinePredictions:
    """Predict the rows the server would accept, ``chunk`` rows per model call."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    valid, _ = schema.validate_rows(rows)
    accepted = [rows[i] for i in valid]
    labels: list[Any] = []
    scores: list[float] = []
    for start in range(0, len(accepted), chunk):
        chunk_labels, chunk_scores = predict(accepted[start : start + chunk])
        labels += chunk_labels
        scores += [s for s in chunk_scores if s is not None]
    return OfflinePredictions(labels, scores, len(rows) - len(accepted))
