"""Per-feature distributions of the reference and the current rows, as data to plot.

The HTML report draws these and ``GET /drift?histograms=true`` returns them, so a page that plots
the answer shows the same pictures as the report:

- numeric: shared bin edges over both samples (one bin per value for small integer ranges,
  else ``NUMERIC_BINS`` equal bins) and the count of reference and current values in each bin;
- categorical: the reference's levels, most frequent first, then levels only the current rows
  have, at most ``MAX_LEVELS`` of them, the rest summed as ``OTHER_LEVEL``; the share of each
  among the non-missing values (missing rates are in the drift statistics).

The reference side of a numeric feature is the reference's stored sample of values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from .reference import (
    CategoricalProfile,
    Column,
    NumericProfile,
    ReferenceProfile,
    categorical_profile,
    numeric_values,
)

NUMERIC_BINS = 30
MAX_LEVELS = 12
OTHER_LEVEL = "(other)"
_MAX_INTEGER_SPAN = 40  # integer values spanning at most this many get one bin each


class NumericHistogram(BaseModel):
    """Reference and current counts over shared bin edges."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric"] = "numeric"
    edges: list[float] = Field(description="bin edges, increasing; one more than the counts")
    reference: list[int] = Field(description="reference sample values in each bin")
    current: list[int] = Field(description="current non-missing values in each bin")


class CategoricalHistogram(BaseModel):
    """Reference and current shares of the shown levels."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["categorical"] = "categorical"
    levels: list[str]
    reference: list[float] = Field(description="share of each level among non-missing values")
    current: list[float] = Field(description="share of each level among non-missing values")


FeatureHistogram = Annotated[NumericHistogram | CategoricalHistogram, Field(discriminator="kind")]


def shared_edges(
    reference: npt.NDArray[np.float64], current: npt.NDArray[np.float64]
) -> list[float]:
    """Bin edges covering both samples (finite values only); empty when both are empty."""
    both = np.concatenate([reference, current])
    both = both[np.isfinite(both)]
    if both.size == 0:
        return []
    low, high = float(both.min()), float(both.max())
    if np.all(both == np.round(both)) and high - low <= _MAX_INTEGER_SPAN:
        # Integer values: one bin per value, centred on it.
        return [float(e) for e in np.arange(low - 0.5, high + 1.5)]
    return [float(e) for e in np.histogram_bin_edges(both, bins=NUMERIC_BINS)]


def numeric_histogram(profile: NumericProfile, column: Column) -> NumericHistogram:
    """The reference sample and the current column, counted over ``shared_edges``."""
    reference = np.asarray(profile.sample, dtype=np.float64)
    current = numeric_values(column)
    current = current[np.isfinite(current)]
    edges = shared_edges(reference, current)
    return NumericHistogram(
        name=profile.name,
        edges=edges,
        reference=_counts(reference, edges),
        current=_counts(current, edges),
    )


def categorical_histogram(profile: CategoricalProfile, column: Column) -> CategoricalHistogram:
    """The shares of the reference's levels (then new ones) in the reference and the column."""
    reference = profile.shares
    current = categorical_profile(profile.name, column).shares
    levels = sorted(reference, key=lambda level: -reference[level])
    levels += sorted(level for level in current if level not in reference)
    shown, hidden = levels[:MAX_LEVELS], levels[MAX_LEVELS:]
    ref_values = [reference.get(level, 0.0) for level in shown]
    cur_values = [current.get(level, 0.0) for level in shown]
    if hidden:
        shown.append(OTHER_LEVEL)
        ref_values.append(sum(reference.get(level, 0.0) for level in hidden))
        cur_values.append(sum(current.get(level, 0.0) for level in hidden))
    return CategoricalHistogram(
        name=profile.name, levels=shown, reference=ref_values, current=cur_values
    )


def histogram(profile: NumericProfile | CategoricalProfile, column: Column) -> FeatureHistogram:
    """The histogram of one feature, by the kind of its profile."""
    if isinstance(profile, NumericProfile):
        return numeric_histogram(profile, column)
    return categorical_histogram(profile, column)


def feature_histograms(
    reference: ReferenceProfile, rows: Sequence[Mapping[str, Any]]
) -> list[FeatureHistogram]:
    """One histogram per reference feature, in the reference's order, of validated rows."""
    return [
        histogram(profile, [row.get(profile.name) for row in rows])
        for profile in reference.features
    ]


def _counts(values: npt.NDArray[np.float64], edges: list[float]) -> list[int]:
    if not edges:
        return []
    counts, _ = np.histogram(values, bins=edges)
    return [int(c) for c in counts]
