from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from k8s_mlserve.drift.stats import (
    adjust_p_values,
    bin_counts,
    chi2_test,
    ks_test,
    psi,
    quantile_edges,
)


def test_psi_is_zero_for_identical_distributions() -> None:
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0)


def test_psi_matches_the_formula_by_hand() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    expected = -0.25 * math.log(0.5) + 0.25 * math.log(1.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    assert psi([50, 50], [25, 75]) == pytest.approx(expected)


def test_psi_stays_finite_and_large_when_a_bin_empties() -> None:
    value = psi([0.5, 0.5], [1.0, 0.0])
    assert math.isfinite(value)
    assert value > 2


def test_psi_refuses_different_bins() -> None:
    with pytest.raises(ValueError, match="same bins"):
        psi([1, 2], [1, 2, 3])


def test_quantile_edges_split_uniform_data_into_equal_bins() -> None:
    values = np.arange(1000, dtype=float)
    edges = quantile_edges(values, 10)
    assert len(edges) == 9
    assert bin_counts(values, edges).tolist() == [100] * 10


def test_quantile_edges_leave_no_empty_bin_on_zero_inflated_data() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([np.zeros(480), rng.exponential(100, 520)])
    edges = quantile_edges(values, 10)
    counts = bin_counts(values, edges)
    assert (counts > 0).all()
    assert counts[0] == 480  # every zero in the first bin, none below it
    assert counts.sum() == 1000


def test_bins_are_right_closed_and_open_ended() -> None:
    counts = bin_counts([-100.0, 1.0, 1.5, 2.0, 2.5, 100.0, math.nan], [1.0, 2.0])
    assert counts.tolist() == [2, 2, 2]


def test_ks_statistic_on_separated_samples_is_one() -> None:
    result = ks_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert result.test == "ks"
    assert result.statistic == pytest.approx(1.0)


def test_ks_detects_a_shift_and_not_a_resample() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(size=1000)
    assert ks_test(reference, rng.normal(size=300)).p_value > 0.05
    assert ks_test(reference, rng.normal(loc=1.0, size=300)).p_value < 1e-10


def test_ks_p_values_are_calibrated_when_nothing_changes() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(size=1000)
    p_values = [ks_test(reference, rng.normal(size=200)).p_value for _ in range(300)]
    rejected = np.mean(np.array(p_values) < 0.05)
    assert 0.01 <= rejected <= 0.09


def test_ks_ignores_missing_values_and_needs_some() -> None:
    assert ks_test([1.0, 2.0, math.nan], [1.0, 2.0]).statistic == pytest.approx(0.0)
    with pytest.raises(ValueError, match="finite value"):
        ks_test([1.0], [math.nan])


def test_chi2_of_identical_shares_is_zero() -> None:
    result = chi2_test({"a": 100, "b": 200}, {"a": 10, "b": 20})
    assert result.test == "chi2"
    assert result.statistic == pytest.approx(0.0)
    assert result.p_value == pytest.approx(1.0)


def test_chi2_matches_the_homogeneity_formula() -> None:
    reference = {"a": 30, "b": 70}
    current = {"a": 50, "b": 50}
    table = np.array([[30, 70], [50, 50]], dtype=float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    result = chi2_test(reference, current)
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(scipy_stats.chi2.sf(statistic, df=1))


def test_chi2_counts_levels_missing_on_one_side() -> None:
    result = chi2_test({"a": 500, "b": 500}, {"a": 50, "b": 20, "c": 30})
    assert result.p_value < 1e-10


def test_chi2_pools_sparse_levels() -> None:
    pooled = chi2_test({"a": 500, "b": 500, "rare": 2, "rarer": 1}, {"a": 40, "b": 60})
    by_hand = chi2_test({"a": 500, "b": 500, "other": 3}, {"a": 40, "b": 60, "other": 0})
    assert pooled.statistic == pytest.approx(by_hand.statistic)


def test_chi2_with_a_single_level_has_nothing_to_test() -> None:
    result = chi2_test({"a": 10}, {"a": 5})
    assert (result.statistic, result.p_value) == (0.0, 1.0)


def test_bonferroni_multiplies_by_the_number_of_tests() -> None:
    assert adjust_p_values([0.01, 0.02, 0.5], "bonferroni") == pytest.approx([0.03, 0.06, 1.0])


def test_benjamini_hochberg_matches_scipy() -> None:
    p_values = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    expected = scipy_stats.false_discovery_control(p_values, method="bh")
    assert adjust_p_values(p_values, "benjamini-hochberg") == pytest.approx(expected.tolist())


def test_benjamini_hochberg_keeps_the_input_order() -> None:
    adjusted = adjust_p_values([0.5, 0.001, 0.04], "benjamini-hochberg")
    assert adjusted == pytest.approx([0.5, 0.003, 0.06])


def test_no_correction_and_empty_input() -> None:
    assert adjust_p_values([0.2, 0.01], "none") == [0.2, 0.01]
    assert adjust_p_values([], "bonferroni") == []
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_p_values([0.1], "holm")  # type: ignore[arg-type]
