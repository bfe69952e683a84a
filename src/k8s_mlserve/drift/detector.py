"""Compare recent rows (and the model's outputs on them) with the reference: the drift report.

Per feature a test gives a p-value (KS for numbers, chi-squared for categories), adjusted for
testing every feature at once, and PSI measures how large the change is. The verdict:

- ``drift``: the adjusted p-value is below ``p_value`` and PSI is at least ``min_psi``;
- ``warning``: significant but smaller than ``min_psi``, or PSI at least ``psi_drift`` without
  a significant test (a large-looking change the data cannot yet confirm);
- ``no drift`` otherwise; ``insufficient data`` when a feature has no values to test.

The dataset drifts when at least ``dataset_share`` of the tested features drift. Prediction
drift (labels and scores) is tested the same way, as a family of its own.

The report's one verdict, which its text, JSON and HTML forms all show (worst first):
``dataset drift`` (``dataset_drift``), ``feature drift`` (some features drift, fewer than
``dataset_share``), ``prediction drift`` (only the model's outputs drift), ``no drift``, and
``insufficient data`` (fewer than ``min_rows`` rows, or no feature could be tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from ..errors import DatasetError
from ..settings import DriftSettings
from .reference import (
    CategoricalProfile,
    Column,
    NumericProfile,
    ReferenceProfile,
    categorical_profile,
    numeric_values,
)
from .stats import Correction, adjust_p_values, bin_counts, chi2_test, ks_test, psi
from .window import DriftWindow

if TYPE_CHECKING:  # rows from the server's window are compared without pandas
    import pandas as pd

Verdict = Literal["no drift", "warning", "drift", "insufficient data"]
ReportVerdict = Literal[
    "dataset drift", "feature drift", "prediction drift", "no drift", "insufficient data"
]
# The report verdicts that mean something drifted (``--fail-on any`` exits 1 on each).
DRIFT_VERDICTS: tuple[ReportVerdict, ...] = ("dataset drift", "feature drift", "prediction drift")
PsiBand = Literal["small", "moderate", "major"]
MISSING_LEVEL = "(missing)"


class FeatureDrift(BaseModel):
    """The comparison of one feature (or of the predicted labels or scores)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric", "categorical"]
    test: Literal["ks", "chi2"] | None
    statistic: float | None
    p_value: float | None
    adjusted_p_value: float | None
    psi: float | None
    psi_band: PsiBand | None
    drifted: bool
    verdict: Verdict
    rows: int
    reference_missing_rate: float
    current_missing_rate: float
    reference_mean: float | None = None
    current_mean: float | None = None


class PredictionDrift(BaseModel):
    """Drift of the model's outputs: predicted labels and scores."""

    model_config = ConfigDict(frozen=True)

    labels: FeatureDrift | None
    scores: FeatureDrift | None
    drifted: bool
    verdict: Verdict


class DriftThresholds(BaseModel):
    """The thresholds a report was computed with."""

    model_config = ConfigDict(frozen=True)

    p_value: float
    correction: Correction
    min_psi: float
    psi_warning: float
    psi_drift: float
    dataset_share: float
    min_rows: int


class DriftReport(BaseModel):
    """Drift of a window of rows against the reference."""

    model_config = ConfigDict(frozen=True)

    generated_at: datetime
    verdict: ReportVerdict
    dataset_drift: bool
    message: str
    window_size: int
    reference_rows: int
    drift_share: float
    drifted_features: list[str]
    features: list[FeatureDrift]
    prediction: PredictionDrift | None
    thresholds: DriftThresholds

    @model_validator(mode="after")
    def _verdict_agrees(self) -> DriftReport:
        expected = report_verdict(
            tested=sum(f.verdict != "insufficient data" for f in self.features),
            drifted_features=len(self.drifted_features),
            dataset_drift=self.dataset_drift,
            prediction_drift=self.prediction is not None and self.prediction.drifted,
        )
        if self.verdict != expected:
            raise ValueError(f"verdict {self.verdict!r} contradicts the report: {expected!r}")
        return self

    @property
    def any_drift(self) -> bool:
        """Whether the dataset, any single feature, or the predictions drift."""
        return self.verdict in DRIFT_VERDICTS


def report_verdict(
    *, tested: int, drifted_features: int, dataset_drift: bool, prediction_drift: bool
) -> ReportVerdict:
    """The one verdict of a report, the worst that applies."""
    if dataset_drift:
        return "dataset drift"
    if drifted_features:
        return "feature drift"
    if prediction_drift:
        return "prediction drift"
    return "no drift" if tested else "insufficient data"


class DriftDetector:
    """Compares data with one reference under one set of thresholds."""

    def __init__(
        self, reference: ReferenceProfile, thresholds: DriftSettings | None = None
    ) -> None:
        self.reference = reference
        self.settings = thresholds or DriftSettings()

    def compare_window(self, window: DriftWindow) -> DriftReport:
        """Compare the current content of a window."""
        snap = window.snapshot()
        return self.compare(snap.rows, snap.labels or None, snap.scores or None)

    def compare(
        self,
        data: pd.DataFrame | Sequence[Mapping[str, Any]],
        predicted_labels: Sequence[Any] | None = None,
        scores: Sequence[float] | np.ndarray[Any, Any] | None = None,
    ) -> DriftReport:
        """Compare rows (a frame, or validated rows as dicts) and optionally the model's outputs."""
        columns = self._columns(data)
        settings = self.settings
        thresholds = DriftThresholds.model_validate(settings.model_dump())
        rows = len(data)
        if rows < settings.min_rows:
            return DriftReport(
                generated_at=datetime.now(UTC),
                verdict="insufficient data",
                dataset_drift=False,
                message=f"insufficient data: only {rows} rows, at least {settings.min_rows} needed",
                window_size=rows,
                reference_rows=self.reference.rows,
                drift_share=0.0,
                drifted_features=[],
                features=[],
                prediction=None,
                thresholds=thresholds,
            )
        features = self._family(
            [(profile, columns[profile.name]) for profile in self.reference.features]
        )
        prediction = self._prediction(predicted_labels, scores)
        tested = [f for f in features if f.verdict != "insufficient data"]
        drifted = [f.name for f in features if f.drifted]
        share = len(drifted) / len(tested) if tested else 0.0
        dataset_drift = bool(tested) and share >= settings.dataset_share
        verdict = report_verdict(
            tested=len(tested),
            drifted_features=len(drifted),
            dataset_drift=dataset_drift,
            prediction_drift=prediction is not None and prediction.drifted,
        )
        return DriftReport(
            generated_at=datetime.now(UTC),
            verdict=verdict,
            dataset_drift=dataset_drift,
            message=_message(verdict, features, tested, drifted, prediction, settings),
            window_size=rows,
            reference_rows=self.reference.rows,
            drift_share=share,
            drifted_features=drifted,
            features=features,
            prediction=prediction,
            thresholds=thresholds,
        )

    def _columns(self, data: pd.DataFrame | Sequence[Mapping[str, Any]]) -> Mapping[str, Column]:
        """Each reference feature's values: a frame's columns, or lists taken from the rows."""
        names = self.reference.names
        if isinstance(data, Sequence):
            return {name: [row.get(name) for row in data] for name in names}
        missing = [name for name in names if name not in data.columns]
        if missing:
            raise DatasetError(
                f"the data lacks the feature column(s) {missing}; the reference has {names}"
            )
        return {name: data[name] for name in names}

    def _prediction(
        self,
        labels: Sequence[Any] | None,
        scores: Sequence[float] | np.ndarray[Any, Any] | None,
    ) -> PredictionDrift | None:
        reference = self.reference.predictions
        pairs: list[tuple[NumericProfile | CategoricalProfile, Column]] = []
        has_labels = reference.labels is not None and labels is not None and len(labels) > 0
        has_scores = reference.scores is not None and scores is not None and len(scores) > 0
        if has_labels and reference.labels is not None and labels is not None:
            pairs.append((reference.labels, [str(v) for v in labels]))
        if has_scores and reference.scores is not None and scores is not None:
            pairs.append((reference.scores, np.asarray(scores, dtype=np.float64)))
        if not pairs:
            return None
        found = self._family(pairs, min_rows=self.settings.min_rows)
        return PredictionDrift(
            labels=found[0] if has_labels else None,
            scores=found[-1] if has_scores else None,
            drifted=any(r.drifted for r in found),
            verdict=_worst(found),
        )

    def _family(
        self,
        pairs: Sequence[tuple[NumericProfile | CategoricalProfile, Column]],
        min_rows: int = 1,
    ) -> list[FeatureDrift]:
        """Test each pair, then adjust the p-values of the family together and decide."""
        partial = [self._measure(profile, column, min_rows) for profile, column in pairs]
        tested = [i for i, m in enumerate(partial) if m["p_value"] is not None]
        adjusted = adjust_p_values(
            [partial[i]["p_value"] for i in tested], self.settings.correction
        )
        for i, p in zip(tested, adjusted, strict=True):
            partial[i]["adjusted_p_value"] = p
        return [self._decide(m) for m in partial]

    def _measure(
        self, profile: NumericProfile | CategoricalProfile, column: Column, min_rows: int
    ) -> dict[str, Any]:
        if isinstance(profile, NumericProfile):
            return self._measure_numeric(profile, column, min_rows)
        return _measure_categorical(profile, column, min_rows)

    def _measure_numeric(
        self, profile: NumericProfile, column: Column, min_rows: int
    ) -> dict[str, Any]:
        values = numeric_values(column)
        present = values[np.isfinite(values)]
        out: dict[str, Any] = _blank(profile, values.size, present.size)
        out["reference_mean"] = profile.mean
        out["current_mean"] = float(present.mean()) if present.size else None
        sample = np.asarray(profile.sample, dtype=np.float64)
        if present.size < min_rows or sample.size == 0:
            return out
        result = ks_test(sample, present)
        ref_shares = np.asarray(profile.proportions) * (1 - profile.missing_rate)
        cur_counts = bin_counts(present, profile.edges).astype(np.float64)
        missing = values.size - present.size
        if profile.missing_rate > 0 or missing > 0:
            ref_shares = np.append(ref_shares, profile.missing_rate)
            cur_counts = np.append(cur_counts, missing)
        out.update(
            test=result.test,
            statistic=result.statistic,
            p_value=result.p_value,
            psi=psi(ref_shares, cur_counts),
        )
        return out

    def _decide(self, measured: dict[str, Any]) -> FeatureDrift:
        s = self.settings
        value = measured["psi"]
        adjusted = measured.get("adjusted_p_value")
        verdict: Verdict
        if adjusted is None or value is None:
            verdict = "insufficient data"
        elif adjusted < s.p_value and value >= s.min_psi:
            verdict = "drift"
        elif adjusted < s.p_value or value >= s.psi_drift:
            verdict = "warning"
        else:
            verdict = "no drift"
        band: PsiBand | None = None
        if value is not None:
            band = (
                "small" if value < s.psi_warning else "moderate" if value < s.psi_drift else "major"
            )
        return FeatureDrift(
            **measured,
            psi_band=band,
            drifted=verdict == "drift",
            verdict=verdict,
        )


def _measure_categorical(
    profile: CategoricalProfile, column: Column, min_rows: int
) -> dict[str, Any]:
    current = categorical_profile(profile.name, column)
    present = sum(current.counts.values())
    out = _blank(profile, current.rows, present)
    if current.rows < min_rows or current.rows == 0 or profile.rows == 0:
        return out
    ref_counts = dict(profile.counts)
    cur_counts = dict(current.counts)
    ref_missing = profile.rows - sum(ref_counts.values())
    cur_missing = current.rows - present
    if ref_missing or cur_missing:
        ref_counts[MISSING_LEVEL] = ref_missing
        cur_counts[MISSING_LEVEL] = cur_missing
    result = chi2_test(ref_counts, cur_counts)
    levels = sorted(set(ref_counts) | set(cur_counts))
    out.update(
        test=result.test,
        statistic=result.statistic,
        p_value=result.p_value,
        psi=psi(
            [ref_counts.get(level, 0) for level in levels],
            [cur_counts.get(level, 0) for level in levels],
        ),
    )
    return out


def _blank(profile: NumericProfile | CategoricalProfile, rows: int, present: int) -> dict[str, Any]:
    return {
        "name": profile.name,
        "kind": profile.kind,
        "test": None,
        "statistic": None,
        "p_value": None,
        "adjusted_p_value": None,
        "psi": None,
        "rows": rows,
        "reference_missing_rate": profile.missing_rate,
        "current_missing_rate": (rows - present) / rows if rows else 0.0,
    }


_SEVERITY: tuple[Verdict, ...] = ("drift", "warning", "no drift")


def _worst(results: Sequence[FeatureDrift]) -> Verdict:
    for verdict in _SEVERITY:
        if any(r.verdict == verdict for r in results):
            return verdict
    return "insufficient data"


def _message(
    verdict: ReportVerdict,
    features: Sequence[FeatureDrift],
    tested: Sequence[FeatureDrift],
    drifted: Sequence[str],
    prediction: PredictionDrift | None,
    settings: DriftSettings,
) -> str:
    """One line: the verdict first, then what it rests on."""
    share = f"the dataset drifts from {settings.dataset_share:.0%}"
    counted = f"{len(drifted)} of {len(tested)} features drift" + (
        f" ({', '.join(drifted)})" if drifted else ""
    )
    parts = [
        f"{verdict}: no feature could be tested" if not tested else f"{verdict}: {counted}; {share}"
    ]
    warnings = [f.name for f in features if f.verdict == "warning"]
    if warnings:
        parts.append(f"warning on {', '.join(warnings)}")
    if prediction is not None:
        parts.append(f"predictions: {prediction.verdict}")
    return "; ".join(parts)
