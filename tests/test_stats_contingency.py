"""Tests for evallib.stats.contingency against R's documented examples.

R's fisher.test finds the odds ratio and its limits with ``uniroot`` at its default
tolerance, ``.Machine$double.eps^0.25`` (about 1.22e-4) on the noncentrality parameter
(limits below 1) or on its reciprocal (limits above 1); evallib solves to machine
precision. So odds-ratio values are compared within that documented tolerance on the
scale R solved on; p-values (no root finding) to R's printed precision.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats

UNIROOT_TOL = 1.22e-4  # .Machine$double.eps^0.25


def close_as_r_solved(ours: float, r_value: float) -> bool:
    """Within uniroot's tolerance, on the scale R solved on."""
    if r_value == 0 or math.isinf(r_value):
        return ours == r_value
    if r_value < 1:
        return abs(ours - r_value) <= UNIROOT_TOL
    return abs(1 / ours - 1 / r_value) <= UNIROOT_TOL


# R documentation, ?fisher.test: "A British woman claimed to be able to distinguish whether
# milk or tea was added to the cup first" (Agresti 1990, p. 61; 2002, p. 91).
TEA_TASTING = [[3, 1], [1, 3]]
# ?fisher.test: Convictions of like-sex twins of criminals (Fisher 1962, 1970).
CONVICTIONS = [[2, 15], [10, 3]]
# ?fisher.test: Job satisfaction by income (Agresti 2002, p. 57); R fills by column.
JOB = np.array([1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11]).reshape(4, 4).T


def test_tea_tasting_one_sided():
    # fisher.test(TeaTasting, alternative = "greater"):
    # p-value = 0.2429; 95 percent CI 0.3135693 Inf; odds ratio 6.408309
    res = stats.fisher_exact(TEA_TASTING, alternative="greater")
    assert res.p_value == pytest.approx(0.2429, abs=5e-5)
    assert close_as_r_solved(res.odds_ratio, 6.408309)
    assert close_as_r_solved(res.odds_ratio_ci[0], 0.3135693)
    assert res.odds_ratio_ci[1] == math.inf


def test_tea_tasting_two_sided():
    # fisher.test(TeaTasting): p-value = 0.4857; CI 0.2117329 621.9337505; OR 6.408309
    res = stats.fisher_exact(TEA_TASTING)
    assert res.p_value == pytest.approx(0.4857, abs=5e-5)
    assert close_as_r_solved(res.odds_ratio_ci[0], 0.2117329)
    assert close_as_r_solved(res.odds_ratio_ci[1], 621.9337505)


def test_convictions():
    # fisher.test(Convictions, alternative = "less"):
    # p-value = 0.0004652; CI 0.0000000 0.2849601; odds ratio 0.04693661
    res = stats.fisher_exact(CONVICTIONS, alternative="less")
    assert res.p_value == pytest.approx(0.0004652, abs=5e-8)
    assert close_as_r_solved(res.odds_ratio, 0.04693661)
    assert res.odds_ratio_ci[0] == 0.0
    assert close_as_r_solved(res.odds_ratio_ci[1], 0.2849601)
    # fisher.test(Convictions, conf.int = FALSE) -> p-value = 0.0005367
    assert stats.fisher_exact(CONVICTIONS).p_value == pytest.approx(0.0005367, abs=5e-8)


def test_job_satisfaction_r_by_c():
    # fisher.test(Job) # 0.7827
    res = stats.fisher_exact(pd.DataFrame(JOB))
    assert res.p_value == pytest.approx(0.7827, abs=5e-5)
    assert math.isnan(res.odds_ratio)


def test_two_by_three_and_too_large_tables():
    # R 4.2.2: fisher.test(matrix(c(12, 20, 30, 8, 5, 9), 2))$p.value = 0.0004644470538
    assert stats.fisher_exact([[12, 30, 5], [20, 8, 9]]).p_value == pytest.approx(
        0.0004644470538, abs=5e-13)
    with pytest.raises(stats.StatsError, match="too large for an exact test"):
        stats.fisher_exact([[300, 200, 100], [250, 260, 90], [100, 120, 400]])


def test_zero_cell_gives_exact_zero_odds_ratio_not_an_error():
    # R 4.2.2: fisher.test(matrix(c(0, 5, 10, 3), 2)): p-value = 0.006535948,
    # CI 0.0000000 0.5879435, odds ratio 0
    res = stats.fisher_exact([[0, 10], [5, 3]])
    assert res.p_value == pytest.approx(0.006535948, abs=5e-10)
    assert res.odds_ratio == 0.0
    assert res.odds_ratio_ci[0] == 0.0
    assert close_as_r_solved(res.odds_ratio_ci[1], 0.5879435)


def test_fisher_rejects_empty_table_and_one_sided_rxc():
    with pytest.raises(stats.StatsError, match="empty"):
        stats.fisher_exact([[0, 0], [0, 0]])
    with pytest.raises(stats.StatsError, match="2x2"):
        stats.fisher_exact(JOB, alternative="less")


def test_chisq_party_by_gender():
    # ?chisq.test, Agresti (2007) p. 39: M <- as.table(rbind(c(762, 327, 468), c(484, 239, 477)))
    # X-squared = 30.07, df = 2, p-value = 2.954e-07; expected counts printed by Xsq$expected:
    # 703.6714 319.6453 533.6834 / 542.3286 246.3547 411.3166
    res = stats.chi_square([[762, 327, 468], [484, 239, 477]])
    assert res.statistic == pytest.approx(30.07, abs=5e-3)
    assert res.df == 2
    assert res.p_value == pytest.approx(2.954e-07, abs=5e-11)
    np.testing.assert_allclose(res.expected, [[703.6714, 319.6453, 533.6834],
                                              [542.3286, 246.3547, 411.3166]], atol=5e-5)
    assert not res.correction


def test_chisq_yates_on_2x2():
    # ?chisq.test: x <- matrix(c(12, 5, 7, 7), ncol = 2); chisq.test(x)$p.value  # 0.4233
    res = stats.chi_square([[12, 7], [5, 7]])
    assert res.p_value == pytest.approx(0.4233, abs=5e-5)
    assert res.correction
    # R 4.2.2: chisq.test(x, correct = FALSE) -> X-squared = 1.371646, p-value = 0.2415293
    raw = stats.chi_square([[12, 7], [5, 7]], correction=False)
    assert raw.statistic == pytest.approx(1.371646, abs=5e-7)
    assert raw.p_value == pytest.approx(0.2415293, abs=5e-8)


def test_chisq_empty_row_is_a_clear_error_and_small_counts_noted():
    with pytest.raises(stats.StatsError, match="all zeros"):
        stats.chi_square([[0, 0], [3, 4]])
    assert stats.chi_square([[1, 2], [3, 4]]).notes


def test_mcnemar_presidential_approval():
    # ?mcnemar.test, Agresti (1990) p. 350: Performance <- matrix(c(794, 86, 150, 570), nrow = 2)
    # (rows 1st survey, columns 2nd survey). Without continuity correction the statistic is
    # 17.36 (Agresti's z = -4.17 squared); Penn State STAT 504 lesson on McNemar prints R's
    # "McNemar's chi-squared = 17.3559, df = 1, p-value = 3.099e-05". The R default (with
    # correction) prints "McNemar's chi-squared = 16.818, df = 1, p-value = 4.115e-05".
    table = [[794, 150], [86, 570]]
    raw = stats.mcnemar(table, correction=False)
    assert raw.statistic == pytest.approx(17.3559, abs=5e-5)
    assert raw.p_value == pytest.approx(3.099e-05, abs=5e-9)
    cc = stats.mcnemar(table)
    assert cc.statistic == pytest.approx(16.818, abs=5e-4)
    assert cc.p_value == pytest.approx(4.115e-05, abs=5e-9)
    assert cc.df == 1


def test_mcnemar_without_discordant_pairs_is_nan_with_reason():
    res = stats.mcnemar([[10, 0], [0, 7]])
    assert math.isnan(res.statistic) and math.isnan(res.p_value)
    assert "discordant" in res.notes[0]
    with pytest.raises(stats.StatsError, match="square"):
        stats.mcnemar([[1, 2, 3], [4, 5, 6]])


cells = st.integers(min_value=0, max_value=25)


@settings(max_examples=100, deadline=None)
@given(cells, cells, cells, cells)
def test_fisher_interval_contains_estimate(a, b, c, d):
    if a + b == 0 or c + d == 0 or a + c == 0 or b + d == 0:
        return
    res = stats.fisher_exact([[a, b], [c, d]])
    low, high = res.odds_ratio_ci
    assert 0.0 <= res.p_value <= 1.0
    assert low <= res.odds_ratio <= high
    # swapping the rows inverts the odds ratio and leaves the p-value unchanged
    swapped = stats.fisher_exact([[c, d], [a, b]])
    assert swapped.p_value == pytest.approx(res.p_value)
    if 0 < res.odds_ratio < math.inf:
        assert swapped.odds_ratio == pytest.approx(1 / res.odds_ratio, rel=1e-6)
