"""Tests for evallib.stats.meta (pooling over areas) against published reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evallib import stats

# The BCG vaccine trials (Colditz et al. 1994), as metafor's dat.bcg: tpos, tneg, cpos, cneg.
# Used because metafor's own test suite publishes rma.mh and rma results on them, checked
# against Stata's metan (wviechtb/metafor, tests/testthat/test_misc_metan_vs_rma.mh_with_dat.bcg.r
# and test_misc_metan_vs_rma.uni_with_dat.bcg.r).
BCG = np.array([
    [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
    [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619], [505, 87886, 499, 87892],
    [29, 7470, 45, 7232], [17, 1699, 65, 1600], [186, 50448, 141, 27197], [5, 2493, 3, 2338],
    [27, 16886, 29, 17825],
])
A, B, C, D = BCG.T
N1, N0 = A + B, C + D


def test_mantel_haenszel_risk_difference_matches_metafor_rma_mh_on_dat_bcg():
    # metafor: rma.mh(measure="RD", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
    # beta -0.0033, ci -0.0039 to -0.0027, zval -11.4708 (Sato, Greenland and Robins 1989
    # variance), QE 386.7759.
    res = stats.mantel_haenszel_difference(A, N1, C, N0)
    assert res.difference == pytest.approx(-0.0033, abs=5e-5)
    assert res.difference_ci == pytest.approx((-0.0039, -0.0027), abs=5e-5)
    assert res.z == pytest.approx(-11.4708, abs=5e-5)
    assert res.q == pytest.approx(386.7759, abs=5e-5)
    assert res.q_df == 12 and res.k == 13
    assert res.variance == "sato"


def test_greenland_robins_variance_matches_stata_metan():
    # The same file: Stata's metan (Greenland and Robins 1985 variance) prints |z| = 11.56.
    res = stats.mantel_haenszel_difference(A, N1, C, N0, variance="greenland-robins")
    assert abs(res.z) == pytest.approx(11.56, abs=0.005)


def test_mantel_haenszel_odds_and_risk_ratios_match_metafor():
    # metafor rma.mh(measure="OR"): log OR -0.4734 (-0.5538 to -0.3930);
    # rma.mh(measure="RR"): log RR -0.4537.
    res = stats.mantel_haenszel_difference(A, N1, C, N0)
    assert math.log(res.odds_ratio) == pytest.approx(-0.4734, abs=5e-5)
    assert [math.log(x) for x in res.odds_ratio_ci] == pytest.approx([-0.5538, -0.3930], abs=5e-5)
    assert math.log(res.risk_ratio) == pytest.approx(-0.4537, abs=5e-5)


def test_dersimonian_laird_risk_difference_matches_metafor_rma_dl_on_dat_bcg():
    # metafor: dat <- escalc(measure="RD", ...); rma(yi, vi, data=dat, method="DL"):
    # beta -0.0071, ci -0.0101 to -0.0040, zval -4.5128, I2 95.6596;
    # method="FE": beta -0.0009, QE 276.4737.
    res = stats.pooled_difference(A, N1, C, N0, hartung_knapp=False)
    assert res.estimate == pytest.approx(-0.0071, abs=5e-5)
    assert res.estimate_ci == pytest.approx((-0.0101, -0.0040), abs=5e-5)
    assert res.statistic == pytest.approx(-4.5128, abs=5e-5)
    assert 100 * res.i2 == pytest.approx(95.6596, abs=5e-5)
    assert res.q == pytest.approx(276.4737, abs=5e-5)
    assert res.fixed_estimate == pytest.approx(-0.0009, abs=5e-5)


def test_dersimonian_laird_log_risk_ratio_matches_metafor():
    # metafor: escalc(measure="RR"); rma(method="DL"): beta -0.7141 (-1.0644 to -0.3638),
    # zval -3.9952, tau2 0.3088, I2 92.1173; method="FE": QE 152.2330.
    from statsmodels.stats.meta_analysis import effectsize_2proportions

    y, v = effectsize_2proportions(A, N1, C, N0, statistic="risk-ratio")
    res = stats.random_effects(y, v, hartung_knapp=False)
    assert res.estimate == pytest.approx(-0.7141, abs=5e-5)
    assert res.estimate_ci == pytest.approx((-1.0644, -0.3638), abs=5e-5)
    assert res.statistic == pytest.approx(-3.9952, abs=5e-5)
    assert res.tau2 == pytest.approx(0.3088, abs=5e-5)
    assert 100 * res.i2 == pytest.approx(92.1173, abs=5e-5)
    assert res.q == pytest.approx(152.2330, abs=5e-5)


# Kacker (2004) interlaboratory example, with R metafor's output stored in statsmodels'
# tests (statsmodels/stats/tests/results/results_meta.py, exk1_dl and exk1_dl_hksj):
# rma(y, v, method="DL") and rma(y, v, method="DL", test="knha").
KACKER_Y = [61.0, 61.4, 62.21, 62.3, 62.34, 62.6, 62.7, 62.84, 65.9]
KACKER_V = [0.2025, 1.2100, 0.0900, 0.2025, 0.3844, 0.5625, 0.0676, 0.0225, 1.8225]


def test_hartung_knapp_interval_matches_metafor_knha():
    res = stats.random_effects(KACKER_Y, KACKER_V, hartung_knapp=True)
    assert res.estimate == pytest.approx(62.3901386044504, abs=1e-9)
    assert res.se == pytest.approx(0.29477605699879, abs=1e-9)
    assert res.estimate_ci == pytest.approx((61.710383798052, 63.0698934108488), abs=1e-9)
    assert res.p_value == pytest.approx(2.77938607433693e-16, rel=1e-6)
    assert res.tau2 == pytest.approx(0.288049246973751, abs=1e-12)
    assert 100 * res.i2 == pytest.approx(67.744403741711, abs=1e-9)
    assert res.q == pytest.approx(24.801897741835, abs=1e-9)
    assert res.h2 == pytest.approx(3.10023721772938, abs=1e-9)
    assert res.df == 8


def test_plain_dersimonian_laird_matches_metafor_dl():
    res = stats.random_effects(KACKER_Y, KACKER_V, hartung_knapp=False)
    assert res.se == pytest.approx(0.245749668040304, abs=1e-9)
    assert res.estimate_ci == pytest.approx((61.9084781058787, 62.8717991030221), abs=1e-9)
    assert res.fixed_estimate == pytest.approx(62.5833970939982, abs=1e-9)


def test_tau2_is_truncated_at_zero_and_the_hartung_knapp_interval_never_narrower():
    # Strata that agree closely: Q below its degrees of freedom. DerSimonian and Laird
    # (1986) truncate tau2 at 0 (statsmodels' combine_effects does not): the estimate is then
    # the fixed-effect one. The plain Hartung-Knapp scale Q / (k - 1) < 1 would give an
    # interval narrower than the fixed-effect one; by default it is floored at 1.
    y, v = [0.10, 0.11, 0.09], [0.01, 0.02, 0.015]
    res = stats.random_effects(y, v)
    plain = stats.random_effects(y, v, truncate_scale=False)
    w = 1 / np.asarray(v)
    fixed = float(np.sum(w * y) / w.sum())
    assert res.tau2 == 0.0 and res.i2 == 0.0
    assert res.estimate == pytest.approx(fixed)
    assert res.se == pytest.approx(math.sqrt(1 / w.sum()))
    assert plain.se < res.se
    assert any("set to 1" in n for n in res.notes)


def test_one_stratum_mantel_haenszel_is_the_crude_difference():
    res = stats.mantel_haenszel_difference([12], [40], [9], [20])
    assert res.difference == pytest.approx(12 / 40 - 9 / 20)
    # Sato's variance reduces to the binomial variance for one stratum
    assert res.se ** 2 == pytest.approx(0.3 * 0.7 / 40 + 0.45 * 0.55 / 20, rel=1e-12)
    assert math.isnan(res.q)


def test_pooling_within_areas_is_not_fooled_by_simpson_paradox():
    # Area X: many completers, high reoffending; area Y: few completers, low reoffending.
    # Within each area completers do 10 points better; crude, they look worse.
    c1, n1, c0, n0 = [40, 2], [80, 20], [12, 16], [20, 80]
    crude = sum(c1) / sum(n1) - sum(c0) / sum(n0)
    res = stats.mantel_haenszel_difference(c1, n1, c0, n0)
    assert crude > 0
    assert res.difference == pytest.approx(-0.10)
    re = stats.pooled_difference(c1, n1, c0, n0)
    assert re.estimate == pytest.approx(-0.10)


def test_an_area_with_an_empty_group_is_left_out_with_a_note():
    res = stats.mantel_haenszel_difference([5, 3, 0], [20, 10, 0], [6, 0, 3], [15, 0, 9],
                                           ["A", "B", "C"])
    assert res.k == 1 and res.k_dropped == 2
    assert "B, C" in res.notes[0]
    with pytest.raises(stats.StatsError):
        stats.mantel_haenszel_difference([1], [0], [1], [3])
    with pytest.raises(stats.StatsError, match="Stratum 'Y'"):
        stats.mantel_haenszel_difference([1, 5], [3, 4], [1, 1], [3, 3], ["X", "Y"])


def test_zero_cells_follow_metafor_escalc_only0():
    # escalc(measure="RD", ai=0, n1i=10, ci=2, n2i=10): 0.5 added to each cell (only0):
    # p1 = 0.5/11, p0 = 2.5/11, vi = p1(1-p1)/11 + p0(1-p0)/11.
    t = stats.stratum_table([0, 3], [10, 10], [2, 4], [10, 10])
    p1, p0 = 0.5 / 11, 2.5 / 11
    assert t.loc[0, "variance"] == pytest.approx(p1 * (1 - p1) / 11 + p0 * (1 - p0) / 11)
    assert t.loc[1, "variance"] == pytest.approx(0.3 * 0.7 / 10 + 0.4 * 0.6 / 10)
    assert t.loc[0, "difference"] == pytest.approx(-0.2)  # shown uncorrected
    assert t["weight_mh"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("i2,words", [(0.1, "might not be important"), (0.4, "may be moderate"),
                                      (0.6, "may be substantial"), (0.9, "is considerable")])
def test_heterogeneity_in_words_follows_the_cochrane_handbook_bands(i2, words):
    text = stats.describe_heterogeneity(i2, 0.5, 3)
    assert words in text and "little power" in text
    assert "disagree more than chance" in stats.describe_heterogeneity(i2, 0.01, 3)


def test_pooled_wording_uses_the_pooled_interval_and_jdl_rules():
    mh = stats.mantel_haenszel_difference([40, 2], [80, 20], [12, 16], [20, 80], ["X", "Y"])
    w = stats.describe_pooled(mh, 42, 100, 28, 100)
    assert "Mantel-Haenszel" in w.difference_sentence
    assert w.table_row["difference_pp"] == -10
    assert "not a causal comparison" in w.text
    assert "police records differ by force" in w.text
    assert "before comparing within each" in w.headline
    # too few events in a group: never called significant, whatever p
    small = stats.mantel_haenszel_difference([1, 1], [30, 30], [8, 9], [12, 12])
    ws = stats.describe_pooled(small, 2, 60, 17, 24)
    assert not ws.significant and ws.verdict == "inconclusive"


def test_known_truth_pooled_adjusted_covers_and_unadjusted_pool_is_biased():
    """Three areas with a stored true effect (TrueEffects.log_odds_any = -0.7 in each), but
    different completion and reoffending levels, and in each area completion confounded as in
    the single-area coverage test (tests/test_stats_propensity.py). The estimand is the pooled
    sample ATT, true_att() over all completers. The adjusted pooled estimate (ATT weighting
    with the area among the covariates, as the pooled report does) must cover it in 90-99%
    of 200 simulated pools; the unadjusted Mantel-Haenszel difference (within areas, but not
    adjusted for the covariates) is visibly biased. 200 pools of 750 people; fixed seed
    (seen: 94% coverage, mean error -0.001; Mantel-Haenszel 2% coverage, bias -0.14)."""
    import warnings

    import pandas as pd

    from evallib.synthetic.model import COVARIATES, TrueEffects, simulate_cohort, true_att

    areas = {"A": (TrueEffects(completion_intercept=2.6, reoffend_intercept_any=-1.0), 300),
             "B": (TrueEffects(completion_intercept=1.6, reoffend_intercept_any=-1.6), 250),
             "C": (TrueEffects(completion_intercept=0.9, reoffend_intercept_any=-2.2), 200)}
    rng = np.random.default_rng(20261129)
    n_sim, cover_adj, cover_mh, bias_mh, bias_adj = 200, 0, 0, [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.StatsWarning)
        for _ in range(n_sim):
            pool = pd.concat([simulate_cohort(n, rng=rng, effects=e).assign(area=a)
                              for a, (e, n) in areas.items()], ignore_index=True)
            att = true_att(pool)
            adj = stats.propensity_att(pool, "reoffended_any", "completed", [*COVARIATES, "area"])
            cover_adj += adj.difference_ci[0] <= att <= adj.difference_ci[1]
            bias_adj.append(adj.difference - att)
            t, y = pool["completed"], pool["reoffended_any"]
            g = pd.DataFrame({"c1": (t & y), "n1": t, "c0": (~t & y), "n0": ~t}).groupby(pool["area"]).sum()
            mh = stats.mantel_haenszel_difference(g["c1"], g["n1"], g["c0"], g["n0"])
            cover_mh += mh.difference_ci[0] <= att <= mh.difference_ci[1]
            bias_mh.append(mh.difference - att)
    assert 0.90 <= cover_adj / n_sim <= 0.99, cover_adj
    assert cover_mh / n_sim < 0.5, cover_mh
    assert abs(np.mean(bias_adj)) < 0.01
    assert np.mean(bias_mh) < -0.08    # completers look far better than the programme makes them
