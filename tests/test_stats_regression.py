"""Tests for evallib.stats.regression (logistic) against published glm output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats

FIXTURES = Path(__file__).parent / "fixtures" / "stats"

# R datasets::mtcars (Henderson and Velleman 1981): am (1 = manual), hp, wt, embedded literally.
MTCARS = pd.DataFrame({
    "am": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1,
           1, 1, 1, 1],
    "hp": [110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66,
           52, 65, 97, 150, 150, 245, 175, 66, 91, 113, 264, 175, 335, 109],
    "wt": [2.62, 2.875, 2.32, 3.215, 3.44, 3.46, 3.57, 3.19, 3.15, 3.44, 3.44, 4.07, 3.73, 3.78,
           5.25, 5.424, 5.345, 2.2, 1.615, 1.835, 2.465, 3.52, 3.435, 3.84, 3.845, 1.935, 2.14,
           1.513, 3.17, 2.77, 3.57, 2.78],
})


@pytest.fixture(scope="module")
def admissions():
    df = pd.read_csv(FIXTURES / "ucla_binary.csv")
    df["rank"] = df["rank"].astype(str)  # a factor, as in the UCLA example
    return df


def test_ucla_admissions_logit(admissions):
    # UCLA OARC, "Logit Regression | R Data Analysis Examples":
    # mylogit <- glm(admit ~ gre + gpa + rank, data = mydata, family = "binomial")
    #              Estimate Std. Error z value Pr(>|z|)
    # (Intercept) -3.989979   1.139951  -3.500 0.000465
    # gre          0.002264   0.001094   2.070 0.038465
    # gpa          0.804038   0.331819   2.423 0.015388
    # rank2       -0.675443   0.316490  -2.134 0.032829
    # rank3       -1.340204   0.345306  -3.881 0.000104
    # rank4       -1.551464   0.417832  -3.713 0.000205
    res = stats.logistic(admissions, "admit", ["gre", "gpa", "rank"])
    assert list(res.index) == ["Intercept", "gre", "gpa", "rank[2]", "rank[3]", "rank[4]"]
    np.testing.assert_allclose(res.coef, [-3.989979, 0.002264, 0.804038, -0.675443, -1.340204,
                                          -1.551464], atol=5e-7)
    np.testing.assert_allclose(res.se, [1.139951, 0.001094, 0.331819, 0.316490, 0.345306,
                                        0.417832], atol=5e-7)
    np.testing.assert_allclose(res.z, [-3.500, 2.070, 2.423, -2.134, -3.881, -3.713], atol=5e-4)
    np.testing.assert_allclose(res.p_value, [0.000465, 0.038465, 0.015388, 0.032829, 0.000104,
                                             0.000205], atol=5e-7)
    # confint.default(mylogit) (Wald limits, same page):
    # (Intercept) -6.2242418514 -1.755716295 ; gre 0.0001202298 0.004408622
    # gpa 0.1536836760 1.454391423 ; rank2 -1.2957512650 -0.055134591
    # rank3 -2.0169920597 -0.663415773 ; rank4 -2.3703986294 -0.732528724
    np.testing.assert_allclose(res.ci_low, [-6.2242418514, 0.0001202298, 0.1536836760,
                                            -1.2957512650, -2.0169920597, -2.3703986294],
                               atol=5e-6)
    np.testing.assert_allclose(res.ci_high, [-1.755716295, 0.004408622, 1.454391423,
                                             -0.055134591, -0.663415773, -0.732528724], atol=5e-6)
    # exp(coef(mylogit)): 0.0185001 1.0022670 2.2345448 0.5089310 0.2617923 0.2119375
    np.testing.assert_allclose(res.odds_ratio, [0.0185001, 1.0022670, 2.2345448, 0.5089310,
                                                0.2617923, 0.2119375], atol=5e-8)


def test_mtcars_transmission_logit():
    # glm(am ~ hp + wt, data = mtcars, family = binomial), a widely reproduced R example:
    #             Estimate Std. Error z value Pr(>|z|)
    # (Intercept) 18.86630    7.44356   2.535   0.0113
    # hp           0.03626    0.01773   2.044   0.0409
    # wt          -8.08348    3.06868  -2.634   0.0084
    with pytest.warns(stats.StatsWarning, match="fewer than 10 per term"):
        res = stats.logistic(MTCARS, "am", ["hp", "wt"])
    np.testing.assert_allclose(res.coef, [18.86630, 0.03626, -8.08348], atol=5e-6)
    np.testing.assert_allclose(res.se, [7.44356, 0.01773, 3.06868], atol=5e-6)
    np.testing.assert_allclose(res.p_value, [0.0113, 0.0409, 0.0084], atol=5e-5)


def test_reference_level_can_be_chosen(admissions):
    res = stats.logistic(admissions, "admit", ["gre", "gpa", "rank"], reference={"rank": "4"})
    assert "rank[1]" in res.index and "rank[4]" not in res.index
    # rank 1 vs 4 is minus rank 4 vs 1 from the UCLA fit
    assert res.loc["rank[1]", "coef"] == pytest.approx(1.551464, abs=5e-7)


def test_perfect_separation_is_detected_and_explained():
    df = pd.DataFrame({"y": [0, 0, 0, 0, 1, 1, 1, 1, 0, 1],
                       "completed": [False] * 5 + [True] * 5,
                       "risk": ["high", "high", "high", "high", "low", "low", "low", "low",
                                "high", "low"]})
    with pytest.raises(stats.SeparationError, match="Perfect separation.*risk"):
        stats.logistic(df, "y", ["risk"])
    assert issubclass(stats.SeparationError, ValueError)
    # quasi-complete: nobody in one category had the outcome, the rest mixed
    quasi = pd.DataFrame({"y": [0, 0, 0, 0, 1, 0, 1, 1, 0, 1],
                          "g": ["a", "a", "a", "a", "b", "b", "b", "b", "b", "b"]})
    with pytest.raises(stats.SeparationError, match=r"g\[b\]"):
        stats.logistic(quasi, "y", ["g"])


def test_no_events_and_all_events_are_clear_errors():
    df = MTCARS.assign(none=0, every=1)
    with pytest.raises(stats.StatsError, match="Nobody analysed had the outcome"):
        stats.logistic(df, "none", ["hp"])
    with pytest.raises(stats.StatsError, match="Everybody analysed had the outcome"):
        stats.logistic(df, "every", ["hp"])
    with pytest.raises(stats.StatsError, match="must be 0/1"):
        stats.logistic(MTCARS.assign(y=2), "y", ["hp"])
    with pytest.raises(stats.StatsError, match="missing"):
        stats.logistic(MTCARS.assign(hp=np.where(MTCARS.hp > 200, np.nan, MTCARS.hp)), "am", ["hp"])


@pytest.mark.filterwarnings("ignore:Only .* per term")
def test_constant_covariate_is_dropped_with_recorded_warning():
    with pytest.warns(stats.StatsWarning, match="same value for everyone"):
        res = stats.logistic(MTCARS.assign(area="Leicester"), "am", ["hp", "wt", "area"])
    assert list(res.index) == ["Intercept", "hp", "wt"]
    assert any("area" in w for w in res.attrs["warnings"])
    assert res.loc["wt", "coef"] == pytest.approx(-8.08348, abs=5e-6)


def test_collinear_covariates_are_a_clear_error():
    with pytest.raises(stats.StatsError, match="collinear"):
        stats.logistic(MTCARS.assign(wt2=2 * MTCARS.wt), "am", ["wt", "wt2"])


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_row_order_does_not_change_the_fit(admissions, seed):
    shuffled = admissions.sample(frac=1.0, random_state=seed)
    a = stats.logistic(admissions, "admit", ["gre", "gpa", "rank"])
    b = stats.logistic(shuffled, "admit", ["gre", "gpa", "rank"])
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-8)
    assert ((a.ci_low <= a.coef) & (a.coef <= a.ci_high)).all()
