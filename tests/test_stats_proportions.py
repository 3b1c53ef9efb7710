"""Tests for evallib.stats.proportions against published reference values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats

# Newcombe RG (1998a), Statistics in Medicine 17:857-872, Table I: method 3 (Wilson score,
# no continuity correction) and method 5 (Clopper-Pearson "exact"), printed to 4 decimals.
NEWCOMBE_TABLE_I = [
    # count, n, wilson (low, high), exact (low, high)
    (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20, (0.0000, 0.1611), (0.0000, 0.1684)),
    (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
]


@pytest.mark.parametrize("count,n,wilson,exact", NEWCOMBE_TABLE_I)
def test_single_proportion_matches_newcombe_table_i(count, n, wilson, exact):
    assert stats.proportion_ci(count, n, method="wilson") == pytest.approx(wilson, abs=5e-5)
    assert stats.proportion_ci(count, n, method="exact") == pytest.approx(exact, abs=5e-5)


# Jeffreys interval: Brown, Cai and DasGupta (2001) define it as the beta(x + 1/2, n - x + 1/2)
# quantiles with the lower limit 0 at x = 0 and upper limit 1 at x = n. Values printed by
# R 4.2.2: qbeta(c(.025, .975), x + .5, n - x + .5) (lower set to 0 when x = 0).
@pytest.mark.parametrize("count,n,expected", [
    (81, 263, (0.254521935, 0.3656474992)),
    (15, 148, (0.06044851701, 0.1576431435)),
    (0, 20, (0.0, 0.1166389829)),
    (1, 29, (0.003746173649, 0.150077686)),
])
def test_jeffreys_interval_matches_r_qbeta(count, n, expected):
    assert stats.proportion_ci(count, n, method="jeffreys") == pytest.approx(expected, abs=5e-10)


# Newcombe RG (1998b), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid
# score interval without continuity correction), examples (a)-(h), printed to 4 decimals.
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, (0.0524, 0.3339)),
    (9, 10, 3, 10, (0.1705, 0.8090)),
    (6, 7, 2, 7, (0.0582, 0.8062)),
    (5, 56, 0, 29, (-0.0381, 0.1926)),
    (0, 10, 0, 20, (-0.1611, 0.2775)),
    (0, 10, 0, 10, (-0.2775, 0.2775)),
    (10, 10, 0, 20, (0.6791, 1.0000)),
    (10, 10, 0, 10, (0.6075, 1.0000)),
]


@pytest.mark.parametrize("x1,n1,x0,n0,expected", NEWCOMBE_TABLE_II)
def test_difference_matches_newcombe_table_ii_method_10(x1, n1, x0, n0, expected):
    res = stats.compare_proportions(x1, n1, x0, n0)
    assert res.difference == pytest.approx(x1 / n1 - x0 / n0)
    assert res.difference_ci == pytest.approx(expected, abs=5e-5)
    assert (res.count1, res.nobs1, res.count0, res.nobs0) == (x1, n1, x0, n0)


def test_test_choice_and_p_values_match_r():
    # 56/70 vs 48/80: all expected counts >= 5, so Pearson chi-square with Yates' correction.
    # R 4.2.2: chisq.test(rbind(c(56, 14), c(48, 32)))$p.value = 0.01340947518
    res = stats.compare_proportions(56, 70, 48, 80)
    assert res.test == "chi2"
    assert res.p_value == pytest.approx(0.01340947518, abs=5e-12)
    # 9/10 vs 3/10: expected counts under 5, so Fisher's exact test.
    # R 4.2.2: fisher.test(rbind(c(9, 1), c(3, 7)))$p.value = 0.0197666111
    small = stats.compare_proportions(9, 10, 3, 10)
    assert small.test == "fisher"
    assert small.p_value == pytest.approx(0.0197666111, abs=5e-11)


def test_ratios_match_textbook_formulas_on_a_worked_example():
    # Risk ratio with the log (Katz et al. 1978) interval and odds ratio with Woolf's (1955)
    # interval, 56/70 vs 48/80: RR = 0.8 / 0.6 = 4/3, OR = (56 * 32) / (14 * 48) = 8/3.
    # Limits printed by R 4.2.2 from the published formulas:
    # exp(log(4/3) + c(-1, 1) * qnorm(.975) * sqrt(1/56 - 1/70 + 1/48 - 1/80)) = 1.076626423 1.651248511
    # exp(log(8/3) + c(-1, 1) * qnorm(.975) * sqrt(1/56 + 1/14 + 1/48 + 1/32)) = 1.276217871 5.572019696
    res = stats.compare_proportions(56, 70, 48, 80)
    assert res.risk_ratio == pytest.approx(4 / 3)
    assert res.risk_ratio_ci == pytest.approx((1.076626423, 1.651248511), abs=5e-9)
    assert res.odds_ratio == pytest.approx(8 / 3)
    assert res.odds_ratio_ci == pytest.approx((1.276217871, 5.572019696), abs=5e-9)


def test_zero_cells_give_finite_corrected_ratios_with_a_note():
    res = stats.compare_proportions(0, 17, 3, 5)
    assert math.isfinite(res.risk_ratio) and math.isfinite(res.odds_ratio)
    assert all(math.isfinite(v) for v in res.risk_ratio_ci + res.odds_ratio_ci)
    assert any("Haldane" in n for n in res.notes)
    assert res.test == "fisher"


def test_no_events_anywhere_reports_nan_ratios_with_reasons():
    res = stats.compare_proportions(0, 17, 0, 5)
    assert math.isnan(res.risk_ratio) and math.isnan(res.odds_ratio)
    assert any("Risk ratio not defined" in n for n in res.notes)
    assert any("Odds ratio not defined" in n for n in res.notes)
    assert res.p_value == 1.0
    assert res.difference_ci[0] < 0 < res.difference_ci[1]


def test_all_events_reports_nan_odds_ratio_and_ratio_of_one():
    res = stats.compare_proportions(17, 17, 5, 5)
    assert res.risk_ratio == pytest.approx(1.0)
    assert math.isnan(res.odds_ratio)
    assert res.difference == 0.0


def test_empty_group_raises_a_clear_error():
    with pytest.raises(stats.StatsError, match="no people"):
        stats.compare_proportions(3, 10, 0, 0)
    with pytest.raises(stats.StatsError, match="no people"):
        stats.proportion_ci(0, 0)
    with pytest.raises(stats.StatsError, match="events out of only"):
        stats.proportion_ci(5, 3)
    with pytest.raises(stats.StatsError, match="Unknown interval method"):
        stats.proportion_ci(1, 3, method="wald")


def test_to_frame_is_one_tidy_row():
    df = stats.compare_proportions(56, 70, 48, 80).to_frame()
    assert len(df) == 1
    for col in ("rate1", "difference", "difference_ci_low", "difference_ci_high",
                "risk_ratio_ci_low", "odds_ratio_ci_high", "p_value", "test", "nobs1"):
        assert col in df.columns


counts = st.integers(min_value=1, max_value=200).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n)))


@settings(max_examples=150, deadline=None)
@given(counts, st.sampled_from(["wilson", "exact", "jeffreys"]))
def test_interval_contains_estimate_and_stays_in_unit_interval(xn, method):
    x, n = xn
    low, high = stats.proportion_ci(x, n, method=method)
    assert 0.0 <= low <= x / n <= high <= 1.0


@settings(max_examples=150, deadline=None)
@given(counts, counts)
def test_swapping_groups_flips_the_difference(a, b):
    fwd = stats.compare_proportions(a[0], a[1], b[0], b[1])
    rev = stats.compare_proportions(b[0], b[1], a[0], a[1])
    assert rev.difference == pytest.approx(-fwd.difference)
    assert rev.difference_ci == pytest.approx((-fwd.difference_ci[1], -fwd.difference_ci[0]))
    assert rev.p_value == pytest.approx(fwd.p_value)
    assert -1.0 <= fwd.difference_ci[0] <= fwd.difference <= fwd.difference_ci[1] <= 1.0
