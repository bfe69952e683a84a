"""The predictor: one loaded model, validated rows in, JSON-ready predictions out. No HTTP here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError, ValidationError
from ..model.bundle import Bundle, BundleMetadata, ResponseSpec
from ..model.compiled import plain
from ..model.schema import InputSchema
from .runtime import Runtime, RuntimeSetting, choose_runtime

Row = Mapping[str, Any]
Result = dict[str, Any]
DECIMALS = 6
"""Probabilities are answered rounded to this many decimals."""


@dataclass(frozen=True, slots=True)
class Predictions:
    """What the model answered for a batch of rows, one column per kind, one entry per row.

    ``results`` are the JSON-ready answers (label, probabilities, the example's own fields, the
    model version); ``labels`` and ``scores`` (the positive class's probability, or the top one)
    are what drift and metrics read. Slicing gives the predictions of a run of rows.
    """

    results: list[Result]
    labels: list[Any]
    scores: list[float | None]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, rows: slice) -> Predictions:
        return Predictions(self.results[rows], self.labels[rows], self.scores[rows])


class Predictor:
    """Runs one loaded model on batches of validated rows."""

    def __init__(
        self,
        bundle: Bundle,
        *,
        risk_labels: Sequence[str] | None = None,
        runtime: RuntimeSetting = "auto",
    ) -> None:
        self.bundle = bundle
        self.metadata: BundleMetadata = bundle.metadata
        self.schema: InputSchema = bundle.metadata.input_schema
        self.version = bundle.metadata.version
        self.name = bundle.metadata.name
        choice = choose_runtime(bundle, runtime)
        self.runtime: Runtime = choice.runtime
        self.runtime_reason = choice.reason
        """Why the compiled model is not used (None when it is)."""
        self._has_proba = choice.probabilities
        self._classes: list[Any] | None = choice.classes
        self._class_keys = [str(c) for c in self._classes] if self._classes else []
        self._response = _response_spec(bundle.metadata.response, risk_labels)
        self._positive_index = self._positive_class_index()

    @property
    def classes(self) -> list[Any] | None:
        return self._classes

    def validate(self, rows: Sequence[object]) -> None:
        """Raise ``ValidationError`` naming every bad field of every bad row."""
        _, per_row = self.schema.validate_rows(rows)
        errors = [
            type(e)(e.field, e.message, index if len(rows) > 1 else None)
            for index, row_errors in enumerate(per_row)
            for e in row_errors
        ]
        if errors:
            raise ValidationError(errors)

    def predict(self, rows: Sequence[Row]) -> Predictions:
        """Predict validated rows in one model call (blocking: run it off the event loop)."""
        if not (self._has_proba and self._classes is not None):
            labels = [plain(v) for v in self.runtime.predictions(rows)]
            version = self.version
            results = [{"label": label, "model_version": version} for label in labels]
            return Predictions(results=results, labels=labels, scores=[None] * len(labels))
        proba = self.runtime.probabilities(rows)
        rounded = np.round(proba, DECIMALS)
        # The label is the most probable class as answered (rounded): both runtimes then break
        # a tie the same way, for the first class, as scikit-learn does.
        winners = rounded.argmax(axis=1)
        classes = self._classes
        labels = [classes[i] for i in winners.tolist()]
        score_col = (
            proba[:, self._positive_index]
            if self._positive_index is not None
            else (proba.max(axis=1))
        )
        scores: list[float | None] = list(score_col.tolist())
        keys = self._class_keys
        columns: list[tuple[str, list[Any]]] = [
            ("label", labels),
            ("probabilities", [dict(zip(keys, p, strict=True)) for p in rounded.tolist()]),
            *self._response_columns(winners, score_col),
            ("model_version", [self.version] * len(labels)),
        ]
        names = [name for name, _ in columns]
        results = [
            dict(zip(names, values, strict=True))
            for values in zip(*(c for _, c in columns), strict=True)
        ]
        return Predictions(results=results, labels=labels, scores=scores)

    def _response_columns(
        self, winners: np.ndarray, score: np.ndarray
    ) -> list[tuple[str, list[Any]]]:
        """The example's own fields (flag, probability, risk band), one column each."""
        spec = self._response
        if spec is None:
            return []
        columns: list[tuple[str, list[Any]]] = []
        if spec.flag_field:
            columns.append((spec.flag_field, (winners == self._positive_index).tolist()))
        if spec.probability_field:
            columns.append((spec.probability_field, np.round(score, DECIMALS).tolist()))
        if spec.risk_field:
            bands = np.searchsorted(np.asarray(spec.thresholds), score, side="right")
            columns.append((spec.risk_field, [spec.labels[i] for i in bands.tolist()]))
        return columns

    def _positive_class_index(self) -> int | None:
        if self._response is None or self._classes is None:
            return None
        keys = self._class_keys
        if self._response.positive_class not in keys:
            raise ConfigurationError(
                f"response positive class {self._response.positive_class!r} is not one of the "
                f"model's classes {keys}"
            )
        return keys.index(self._response.positive_class)

    def warm_up(self) -> None:
        """One prediction on a synthetic row, so the first real request pays no first-call cost."""
        self.predict([self.schema.example_row()])


def _response_spec(
    spec: ResponseSpec | None, risk_labels: Sequence[str] | None
) -> ResponseSpec | None:
    if spec is None or risk_labels is None:
        return spec
    if len(risk_labels) != len(spec.thresholds) + 1:
        raise ConfigurationError(
            f"response.risk_labels needs {len(spec.thresholds) + 1} labels for thresholds "
            f"{list(spec.thresholds)}, got {len(risk_labels)}"
        )
    return spec.model_copy(update={"labels": tuple(risk_labels)})
