"""Drift statistics: pure functions of reference and current values, no I/O and no settings.

- Numeric features: the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``) on raw
  values, and the population stability index (PSI) on the reference's quantile bins.
- Categorical features: the chi-squared test of homogeneity (``scipy.stats.chi2_contingency``) on
  the 2 x k table of reference and current level counts, and PSI on level shares.
- Several features tested at once: p-values adjusted by Benjamini-Hochberg (the default),
  Bonferroni, or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Correction = Literal["benjamini-hochberg", "bonferroni", "none"]

# Share given to an empty bin so that PSI stays finite; small enough that a bin holding no
# reference mass but a visible share of current rows still weighs heavily.
PSI_EPSILON = 1e-4

# Cells of a chi-squared table expected to hold fewer rows than this are pooled, the usual
# condition for the chi-squared approximation to hold.
MIN_EXPECTED_COUNT = 5.0


@dataclass(frozen=True)
class TestResult:
    """The outcome of one two-sample test."""

    test: Literal["ks", "chi2"]
    statistic: float
    p_value: float


def quantile_edges(values: npt.ArrayLike, bins: int) -> FloatArray:
    """Inner bin edges at the ``bins``-quantiles of ``values``, deduplicated, empty bins merged.

    Bins are right-closed: ``(-inf, e0], (e0, e1], ..., (e_last, inf)``, so a point mass at the
    minimum (many zeros, say) fills the first bin instead of leaving an empty one below it.
    """
    data = _finite(values)
    if data.size == 0 or bins < 2:
        return np.empty(0, dtype=np.float64)
    probs = np.arange(1, bins) / bins
    edges = np.unique(np.quantile(data, probs))
    counts = bin_counts(data, edges)
    while edges.size and (counts == 0).any():
        empty = int(np.flatnonzero(counts == 0)[0])
        # Merge the empty bin into its upper neighbour (or, for the last bin, the lower one).
        edges = np.delete(edges, min(empty, edges.size - 1))
        counts = bin_counts(data, edges)
    return edges


def bin_counts(values: npt.ArrayLike, edges: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Counts of finite ``values`` in the right-closed bins delimited by inner ``edges``."""
    data = _finite(values)
    inner = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(inner, data, side="left")
    return np.bincount(index, minlength=inner.size + 1).astype(np.int64)


def psi(reference: npt.ArrayLike, current: npt.ArrayLike, *, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index between two distributions over the same bins.

    ``sum((c - r) * ln(c / r))`` over bins, with shares floored at ``epsilon``. Inputs may be
    counts or shares; each is normalised. Conventional reading: below 0.1 no real change,
    0.1 to 0.25 a moderate shift, above 0.25 a major one.
    """
    ref = _shares(reference, epsilon)
    cur = _shares(current, epsilon)
    if ref.shape != cur.shape:
        raise ValueError(f"PSI needs the same bins on both sides, got {ref.size} and {cur.size}")
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def ks_test(reference: npt.ArrayLike, current: npt.ArrayLike) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test on the finite values of each side."""
    ref = _finite(reference)
    cur = _finite(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("the KS test needs at least one finite value on each side")
    # The asymptotic distribution: its cost does not grow with the sample sizes, and unlike the
    # exact method it never falls back with a warning; the p-values differ in the third decimal.
    from scipy import stats  # heavy: imported by the first test, not by the server's start

    result = stats.ks_2samp(ref, cur, alternative="two-sided", method="asymp")
    return TestResult("ks", float(result.statistic), float(result.pvalue))


def chi2_test(reference_counts: Mapping[str, int], current_counts: Mapping[str, int]) -> TestResult:
    """Chi-squared test that two samples of a categorical variable share one distribution.

    The 2 x k contingency table of counts is tested for homogeneity, which accounts for the
    sampling noise of the reference as well as of the current sample. Levels expected to hold
    fewer than five rows on either side are pooled into one column; when fewer than two columns
    remain there is nothing to test and the result is ``statistic=0, p_value=1``.
    """
    levels = sorted(set(reference_counts) | set(current_counts))
    table = np.array(
        [
            [reference_counts.get(level, 0) for level in levels],
            [current_counts.get(level, 0) for level in levels],
        ],
        dtype=np.float64,
    )
    if table[0].sum() == 0 or table[1].sum() == 0:
        raise ValueError("the chi-squared test needs at least one row on each side")
    table = _pool_sparse_columns(table)
    if table.shape[1] < 2:
        return TestResult("chi2", 0.0, 1.0)
    # No Yates continuity correction: it makes 2 x 2 tests needlessly conservative.
    from scipy import stats

    result = stats.chi2_contingency(table, correction=False)
    return TestResult("chi2", float(result.statistic), float(result.pvalue))


def adjust_p_values(p_values: Sequence[float], method: Correction) -> list[float]:
    """P-values adjusted for testing several features at once.

    ``benjamini-hochberg`` controls the false discovery rate; when nothing drifts it also bounds
    the chance of any false alarm by the significance level, and it keeps more power than
    ``bonferroni`` (which controls the family-wise error) when several features move together.
    """
    raw = np.asarray(p_values, dtype=np.float64)
    m = raw.size
    if m == 0 or method == "none":
        return [float(p) for p in raw]
    if method == "bonferroni":
        return [float(p) for p in np.minimum(raw * m, 1.0)]
    if method != "benjamini-hochberg":
        raise ValueError(
            f"unknown correction {method!r}; use benjamini-hochberg, bonferroni or none"
        )
    order = np.argsort(raw)
    ranked = raw[order] * m / np.arange(1, m + 1)
    # Step-up: each adjusted value is the smallest of its own and those of larger p-values.
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum(ranked, 1.0)
    return [float(p) for p in adjusted]


def _pool_sparse_columns(table: FloatArray) -> FloatArray:
    totals = table.sum(axis=1, keepdims=True)
    expected = totals * table.sum(axis=0, keepdims=True) / table.sum()
    sparse = (expected < MIN_EXPECTED_COUNT).any(axis=0)
    if not sparse.any():
        return table
    pooled = table[:, sparse].sum(axis=1, keepdims=True)
    kept = table[:, ~sparse]
    if pooled.sum() > 0:
        kept = np.hstack([kept, pooled])
    return kept


def _shares(values: npt.ArrayLike, epsilon: float) -> FloatArray:
    data: FloatArray = np.asarray(values, dtype=np.float64)
    total = float(data.sum())
    if total <= 0:
        raise ValueError("PSI needs a positive total on each side")
    shares: FloatArray = np.maximum(data / total, epsilon)
    return shares


def _finite(values: npt.ArrayLike) -> FloatArray:
    data: FloatArray = np.asarray(values, dtype=np.float64).ravel()
    finite: FloatArray = data[np.isfinite(data)]
    return finite
