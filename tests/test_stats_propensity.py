"""Tests for evallib.stats.propensity: published balance values and known-truth coverage."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats
from evallib.synthetic.model import COVARIATES, TrueEffects, simulate_cohort, true_att

FIXTURES = Path(__file__).parent / "fixtures" / "stats"
LALONDE_COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde():
    df = pd.read_csv(FIXTURES / "lalonde.csv", index_col="id")
    df["employed78"] = (df["re78"] > 0).astype(int)
    return df


def test_balance_before_matches_matchit_vignette(lalonde):
    # MatchIt vignette "Getting started" (Greifer), lalonde data:
    # summary(matchit(treat ~ age + educ + race + married + nodegree + re74 + re75,
    #                 data = lalonde, method = NULL, distance = "glm"))
    # Summary of Balance for All Data (MatchIt 4.5.1; SMD uses the treated group's SD):
    #            Means Treated Means Control Std. Mean Diff.
    # age              25.8162       28.0303         -0.3094
    # educ             10.3459       10.2354          0.0550
    # raceblack         0.8432        0.2028          1.7615
    # racehispan        0.0595        0.1422         -0.3498
    # racewhite         0.0973        0.6550         -1.8819
    # married           0.1892        0.5128         -0.8263
    # nodegree          0.7081        0.5967          0.2450
    # re74           2095.5737     5619.2365         -0.7211
    # re75           1532.0553     2466.4844         -0.2903
    bal = stats.balance_table(lalonde, "treat", LALONDE_COVS, denominator="treated")
    t = bal.table
    assert list(t.index) == ["age", "educ", "race[black]", "race[hispan]", "race[white]",
                             "married", "nodegree", "re74", "re75"]
    np.testing.assert_allclose(t.smd_before, [-0.3094, 0.0550, 1.7615, -0.3498, -1.8819, -0.8263,
                                              0.2450, -0.7211, -0.2903], atol=5e-5)
    np.testing.assert_allclose(t.mean_treated, [25.8162, 10.3459, 0.8432, 0.0595, 0.0973, 0.1892,
                                                0.7081, 2095.5737, 1532.0553], atol=5e-5)
    np.testing.assert_allclose(t.mean_control, [28.0303, 10.2354, 0.2028, 0.1422, 0.6550, 0.5128,
                                                0.5967, 5619.2365, 2466.4844], atol=5e-5)
    assert bal.max_abs_smd_before == pytest.approx(1.8819, abs=5e-5)
    assert not bal.balanced  # without weights nothing changes: still imbalanced


def test_propensity_scores_match_glm(lalonde):
    # R 4.2.2, MatchIt 4.5.1: head(m$distance) for the model above (a logistic glm)
    # NSW1 0.6387699333 NSW2 0.2246342416 NSW3 0.6782438795 NSW4 0.7763240812
    # NSW5 0.7016387448 NSW6 0.6990699033
    model = stats.propensity_scores(lalonde, "treat", LALONDE_COVS)
    np.testing.assert_allclose(model.scores.iloc[:6], [0.6387699333, 0.2246342416, 0.6782438795,
                                                       0.7763240812, 0.7016387448, 0.6990699033],
                               atol=5e-9)
    assert (model.n_treated, model.n_control) == (185, 429)
    assert (model.weights[lalonde.treat == 1] == 1).all()


def test_att_weighted_difference_matches_r_sandwich(lalonde):
    # R 4.2.2: w <- ifelse(treat == 1, 1, ps / (1 - ps)); emp <- re78 > 0
    # weighted.mean(emp[treat == 0], w[treat == 0]) = 0.7441737176 (treated 0.7567567568)
    # f <- lm(emp ~ treat, weights = w); coef(f)["treat"] = 0.01258303911
    # sqrt(diag(sandwich::vcovHC(f, type = "HC0")))["treat"] = 0.05270701981
    model = stats.propensity_scores(lalonde, "treat", LALONDE_COVS)
    res = stats.weighted_difference(lalonde, "employed78", "treat", model.weights)
    # (R's glm stops at a relative deviance change of 1e-8, so the scores, and what is
    # computed from them, agree to about 1e-9.)
    assert res.rate_treated == pytest.approx(0.7567567568, abs=5e-11)
    assert res.rate_control == pytest.approx(0.7441737176, abs=1e-8)
    assert res.difference == pytest.approx(0.01258303911, abs=1e-8)
    assert res.se == pytest.approx(0.05270701981, abs=1e-8)
    assert res.variance == "robust"


def test_smd_worked_examples():
    # Austin (2009): d = (m1 - m0) / sqrt((s1^2 + s0^2) / 2). By hand: treated 1, 2, 3
    # (mean 2, variance 1), control 2, 4, 6 (mean 4, variance 4): d = -2 / sqrt(2.5) = -1.26491.
    x = [1, 2, 3, 2, 4, 6]
    g = [1, 1, 1, 0, 0, 0]
    assert stats.standardised_mean_difference(x, g) == pytest.approx(-1.26491, abs=5e-6)
    # with the treated SD (1): d = -2
    assert stats.standardised_mean_difference(x, g, denominator="treated") == pytest.approx(-2.0)
    # binary, Austin (2009): (p1 - p0) / sqrt((p1 q1 + p0 q0) / 2); p1 = 0.5, p0 = 0.2:
    # 0.3 / sqrt((0.25 + 0.16) / 2) = 0.66259
    b = [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    grp = [1] * 4 + [0] * 10
    assert stats.standardised_mean_difference(b, grp) == pytest.approx(0.66259, abs=5e-6)
    # categorical: one SMD per level, each level as 0/1
    cat = ["a", "b", "a", "b", "a", "a", "b", "b", "b", "b"]
    grp2 = [1] * 4 + [0] * 6
    smd = stats.standardised_mean_difference(cat, grp2)
    # level a: p1 = 0.5, p0 = 2/6; (1/6) / sqrt((0.25 + 2/9) / 2) = 0.34300
    assert smd["a"] == pytest.approx(0.34300, abs=5e-6)
    assert smd["b"] == pytest.approx(-0.34300, abs=5e-6)


def test_nearest_neighbour_matching_by_hand():
    # Treated scores 0.30, 0.62, 0.90; controls 0.10, 0.28, 0.33, 0.60, 0.61.
    # Nearest (with replacement): 0.30 -> 0.28 (0.02), 0.62 -> 0.61 (0.01), 0.90 -> 0.61 (0.29).
    # SD of all eight scores (ddof 1) = 0.25783; caliper 0.2 SD = 0.05157, so the third
    # treated person is left unmatched; controls used: 0.28 once and 0.61 once.
    df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0, 0, 0]}, index=list("ABCdefgh"))
    scores = [0.30, 0.62, 0.90, 0.10, 0.28, 0.33, 0.60, 0.61]
    with pytest.warns(stats.StatsWarning, match="no comparison person within the caliper"):
        m = stats.nearest_neighbour_match(df, "t", scores, caliper=0.2)
    assert m.caliper_width == pytest.approx(0.2 * 0.25783, abs=5e-6)
    assert m.pairs.treated.tolist() == ["A", "B"]
    assert m.pairs.control.tolist() == ["e", "h"]
    assert m.pairs.distance.tolist() == pytest.approx([0.02, 0.01])
    assert (m.n_treated_matched, m.n_treated_unmatched, m.n_controls_used) == (2, 1, 2)
    assert m.weights.tolist() == [1, 1, 0, 0, 1, 0, 0, 1]
    # without a caliper C is matched to h too: h then carries weight 2, scaled so the
    # control weights sum to the number of distinct controls used (2): e 2/3, h 4/3
    m2 = stats.nearest_neighbour_match(df, "t", scores, caliper=None)
    assert m2.weights.tolist() == pytest.approx([1, 1, 1, 0, 2 / 3, 0, 0, 4 / 3])


def test_overlap_by_hand():
    # treated 0.2, 0.5, 0.95; controls 0.1, 0.3, 0.6: 0.95 lies above the control maximum.
    res = stats.overlap([0.2, 0.5, 0.95, 0.1, 0.3, 0.6], [1, 1, 1, 0, 0, 0])
    assert (res.n_treated_outside, res.common_support) == (1, False)
    assert res.share_treated_outside == pytest.approx(1 / 3)
    # control weights e / (1 - e) = 1/9, 3/7, 3/2 (Kish 1965):
    # ESS = (sum w)^2 / sum w^2 = 2.039683^2 / 2.446019 = 1.70085
    assert res.ess_control == pytest.approx(1.70085, abs=5e-6)
    assert res.notes


def test_empty_group_and_separation_are_clear_errors():
    df = simulate_cohort(200, seed=3)
    with pytest.raises(stats.StatsError, match="group is empty"):
        stats.propensity_att(df.assign(completed=True), "reoffended_any", "completed", COVARIATES)
    # a covariate identical to completion separates the groups perfectly: no overlap at all
    with pytest.raises(stats.SeparationError, match="Perfect separation"):
        stats.propensity_att(df.assign(flag=df.completed.astype(int)), "reoffended_any",
                             "completed", [*COVARIATES, "flag"])


def test_constant_covariate_is_dropped_with_a_note():
    df = simulate_cohort(400, seed=4).assign(area="Leicester")
    with pytest.warns(stats.StatsWarning, match="same value for everyone"):
        res = stats.propensity_att(df, "reoffended_any", "completed", [*COVARIATES, "area"])
    assert any("area" in n for n in res.notes)
    assert "area" not in res.balance.table.index
    assert res.to_frame().loc[0, "estimand"] == "ATT"


def test_bootstrap_interval_is_close_to_the_sandwich():
    df = simulate_cohort(500, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.StatsWarning)
        sand = stats.propensity_att(df, "reoffended_any", "completed", COVARIATES)
        boot = stats.propensity_att(df, "reoffended_any", "completed", COVARIATES,
                                    variance="bootstrap", n_boot=300, seed=1)
    assert boot.difference == sand.difference
    assert boot.se == pytest.approx(sand.se, rel=0.25)


def test_known_truth_coverage_over_simulated_confounded_cohorts():
    """Estimands: (1) the conditional log-odds ratio of completing, which the simulator fixes
    at TrueEffects.log_odds_any = -0.7 (the logistic model's `completed` coefficient);
    (2) the sample ATT risk difference, true_att(cohort) (the estimand of ATT weighting).
    Completion is confounded (riskier people drop out and reoffend more), so the unadjusted
    completer/non-completer difference is biased for the ATT and its interval should
    rarely contain it. 200 cohorts of 500 people; fixed seed."""
    rng = np.random.default_rng(20240601)
    n_sim = 200
    truth = TrueEffects().log_odds_any
    cover_logit = cover_att = cover_raw = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.StatsWarning)
        for _ in range(n_sim):
            cohort = simulate_cohort(500, rng=rng)
            att = true_att(cohort)
            fit = stats.logistic(cohort, "reoffended_any", ["completed", *COVARIATES])
            low, high = fit.loc["completed", ["ci_low", "ci_high"]]
            cover_logit += low <= truth <= high
            w = stats.propensity_att(cohort, "reoffended_any", "completed", COVARIATES)
            cover_att += w.difference_ci[0] <= att <= w.difference_ci[1]
            t, y = cohort.completed, cohort.reoffended_any
            raw = stats.compare_proportions(int(y[t].sum()), int(t.sum()), int(y[~t].sum()),
                                            int((~t).sum()))
            cover_raw += raw.difference_ci[0] <= att <= raw.difference_ci[1]
    assert 0.90 <= cover_logit / n_sim <= 0.99, cover_logit
    assert 0.90 <= cover_att / n_sim <= 0.99, cover_att
    assert cover_raw / n_sim < 0.5, cover_raw


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000))
def test_propensity_att_does_not_depend_on_row_order(seed):
    df = simulate_cohort(300, seed=7)
    shuffled = df.sample(frac=1.0, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.StatsWarning)
        a = stats.propensity_att(df, "reoffended_any", "completed", COVARIATES)
        b = stats.propensity_att(shuffled, "reoffended_any", "completed", COVARIATES)
    assert b.difference == pytest.approx(a.difference, abs=1e-10)
    assert b.difference_ci == pytest.approx(a.difference_ci, abs=1e-8)
    assert -1 <= a.difference_ci[0] <= a.difference <= a.difference_ci[1] <= 1
