"""Tests for evallib.stats.survival against the R survival package's examples.

Reference output is that of R's survival package (Therneau; version 3.5-3 with R 4.2.2)
for its own datasets, as printed by ``summary(survfit(...))``, ``survdiff`` and
``summary(coxph(...))``; printed precision is the tolerance.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats

FIXTURES = Path(__file__).parent / "fixtures" / "stats"

# survival::aml, acute myelogenous leukaemia (Miller 1981), embedded literally.
AML = pd.DataFrame({
    "time": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161,
             5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    "status": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0,
               1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
    "x": ["Maintained"] * 11 + ["Nonmaintained"] * 12,
})

# survival::ovarian (Edmonson et al. 1979), embedded literally.
OVARIAN = pd.DataFrame(
    [(59, 1, 72.3315, 1), (115, 1, 74.4932, 1), (156, 1, 66.4658, 1), (421, 0, 53.3644, 2),
     (431, 1, 50.3397, 1), (448, 0, 56.4301, 1), (464, 1, 56.937, 2), (475, 1, 59.8548, 2),
     (477, 0, 64.1753, 1), (563, 1, 55.1781, 2), (638, 1, 56.7562, 1), (744, 0, 50.1096, 2),
     (769, 0, 59.6301, 2), (770, 0, 57.0521, 2), (803, 0, 39.2712, 1), (855, 0, 43.1233, 1),
     (1040, 0, 38.8932, 1), (1106, 0, 44.6, 1), (1129, 0, 53.9068, 2), (1206, 0, 44.2055, 2),
     (1227, 0, 59.589, 2), (268, 1, 74.5041, 1), (329, 1, 43.137, 1), (353, 1, 63.2192, 2),
     (365, 1, 64.4247, 2), (377, 0, 58.3096, 2)],
    columns=["futime", "fustat", "age", "rx"])


@pytest.fixture(scope="module")
def lung():
    df = pd.read_csv(FIXTURES / "lung.csv")
    df["dead"] = df["status"] == 2
    return df


def test_kaplan_meier_aml():
    # summary(survfit(Surv(time, status) ~ x, data = aml)), group Maintained:
    #  time n.risk n.event survival std.err lower 95% CI upper 95% CI
    #     9     11       1    0.909  0.0867       0.7541        1.000
    #    13     10       1    0.818  0.1163       0.6192        1.000
    #    18      8       1    0.716  0.1397       0.4884        1.000
    #    23      7       1    0.614  0.1526       0.3769        0.999
    #    31      5       1    0.491  0.1642       0.2549        0.946
    #    34      4       1    0.368  0.1627       0.1549        0.875
    #    48      2       1    0.184  0.1535       0.0359        0.944
    km = stats.kaplan_meier(AML.time, AML.status, group=AML.x)
    m = km[km.group == "Maintained"]
    assert m.time.tolist() == [9, 13, 18, 23, 31, 34, 48]
    assert m.at_risk.tolist() == [11, 10, 8, 7, 5, 4, 2]
    assert m.events.tolist() == [1] * 7
    np.testing.assert_allclose(m.survival, [0.909, 0.818, 0.716, 0.614, 0.491, 0.368, 0.184],
                               atol=5e-4)
    np.testing.assert_allclose(m.std_err, [0.0867, 0.1163, 0.1397, 0.1526, 0.1642, 0.1627,
                                           0.1535], atol=5e-5)
    np.testing.assert_allclose(m.ci_low, [0.7541, 0.6192, 0.4884, 0.3769, 0.2549, 0.1549,
                                          0.0359], atol=5e-5)
    np.testing.assert_allclose(m.ci_high, [1, 1, 1, 0.999, 0.946, 0.875, 0.944], atol=5e-4)
    # Nonmaintained: the last row (time 45, survival 0) has std.err NaN and NA limits.
    #     5     12       2   0.8333  0.1076       0.6470        1.000
    #     8     10       2   0.6667  0.1361       0.4468        0.995
    #    43      2       1   0.0972  0.0919       0.0153        0.620
    #    45      1       1   0.0000     NaN           NA           NA
    n = km[km.group == "Nonmaintained"].set_index("time")
    assert n.loc[5, ["at_risk", "events"]].tolist() == [12, 2]
    assert n.loc[5, "survival"] == pytest.approx(0.8333, abs=5e-5)
    assert n.loc[8, "std_err"] == pytest.approx(0.1361, abs=5e-5)
    assert n.loc[8, "ci_high"] == pytest.approx(0.995, abs=5e-4)
    assert n.loc[43, ["survival", "std_err", "ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.0972, 0.0919, 0.0153, 0.620], abs=5e-4)
    assert n.loc[45, "survival"] == 0.0
    assert n.loc[45, ["std_err", "ci_low", "ci_high"]].isna().all()


def test_survival_at_times_and_numbers_at_risk_aml():
    # summary(survfit(Surv(time, status) ~ x, data = aml), times = c(0, 10, 20, 30, 40)):
    # Maintained     n.risk 11 10 7 5 3; n.event 0 1 2 1 2; survival 1 .909 .716 .614 .368
    # Nonmaintained  n.risk 12  8 6 4 2; n.event 0 4 1 3 1; survival 1 .667 .583 .292 .194
    res = stats.survival_at(AML.time, AML.status, [0, 10, 20, 30, 40], group=AML.x)
    m, n = res[res.group == "Maintained"], res[res.group == "Nonmaintained"]
    assert m.at_risk.tolist() == [11, 10, 7, 5, 3]
    assert m.events.tolist() == [0, 1, 2, 1, 2]
    np.testing.assert_allclose(m.survival, [1, 0.909091, 0.715909, 0.613636, 0.368182], atol=5e-7)
    assert n.at_risk.tolist() == [12, 8, 6, 4, 2]
    assert n.events.tolist() == [0, 4, 1, 3, 1]
    np.testing.assert_allclose(n.survival, [1, 0.666667, 0.583333, 0.291667, 0.194444], atol=5e-7)
    nar = stats.numbers_at_risk(AML.time, [0, 10, 20, 30, 40], group=AML.x)
    assert nar.at_risk.tolist() == [11, 10, 7, 5, 3, 12, 8, 6, 4, 2]


def test_survival_at_lung(lung):
    # summary(survfit(Surv(time, status) ~ 1, data = lung), times = c(100, 200, 365, 500, 1000))
    #  time n.risk n.event survival std.err lower 95% CI upper 95% CI
    #   100    196      31   0.8640  0.0227       0.8206       0.9096
    #   200    144      41   0.6803  0.0311       0.6219       0.7441
    #   365     65      49   0.4092  0.0358       0.3447       0.4858
    #   500     41      17   0.2933  0.0351       0.2320       0.3707
    #  1000      2      27   0.0503  0.0228       0.0207       0.1225
    res = stats.survival_at(lung.time, lung.dead, [100, 200, 365, 500, 1000])
    assert res.at_risk.tolist() == [196, 144, 65, 41, 2]
    assert res.events.tolist() == [31, 41, 49, 17, 27]
    np.testing.assert_allclose(res.survival, [0.8640, 0.6803, 0.4092, 0.2933, 0.0503], atol=5e-5)
    np.testing.assert_allclose(res.std_err, [0.0227, 0.0311, 0.0358, 0.0351, 0.0228], atol=5e-5)
    np.testing.assert_allclose(res.ci_low, [0.8206, 0.6219, 0.3447, 0.2320, 0.0207], atol=5e-5)
    np.testing.assert_allclose(res.ci_high, [0.9096, 0.7441, 0.4858, 0.3707, 0.1225], atol=5e-5)


def test_logrank_aml():
    # survdiff(Surv(time, status) ~ x, data = aml)
    #                  N Observed Expected (O-E)^2/E (O-E)^2/V
    # x=Maintained    11        7    10.69      1.27       3.4
    # x=Nonmaintained 12       11     7.31      1.86       3.4
    #  Chisq= 3.4  on 1 degrees of freedom, p= 0.07   (R 4.2.2 prints p= 0.06534)
    res = stats.logrank(AML.time, AML.status, AML.x)
    assert res.observed == (7, 11)
    assert res.expected == pytest.approx((10.69, 7.31), abs=5e-3)
    assert res.statistic == pytest.approx(3.4, abs=0.05)
    assert res.df == 1
    assert res.p_value == pytest.approx(0.06534, abs=5e-6)
    assert res.events == 18


def test_logrank_lung_and_ovarian(lung):
    # survdiff(Surv(time, status) ~ sex, data = lung)
    # sex=1 138 112 91.6 4.55 10.3 ; sex=2 90 53 73.4 5.68 10.3
    # Chisq= 10.3  on 1 degrees of freedom, p= 0.001311
    res = stats.logrank(lung.time, lung.dead, lung.sex)
    assert res.observed == (112, 53)
    assert res.expected == pytest.approx((91.6, 73.4), abs=0.05)
    assert res.statistic == pytest.approx(10.3, abs=0.05)
    assert res.p_value == pytest.approx(0.001311, abs=5e-7)
    # survdiff(Surv(futime, fustat) ~ rx, data = ovarian): Chisq= 1.1 on 1 df, p= 0.3026
    ov = stats.logrank(OVARIAN.futime, OVARIAN.fustat, OVARIAN.rx)
    assert ov.expected == pytest.approx((5.23, 6.77), abs=5e-3)
    assert ov.p_value == pytest.approx(0.3026, abs=5e-5)


def test_cox_aml_categorical_covariate():
    # summary(coxph(Surv(time, status) ~ x, data = aml))
    #                   coef exp(coef) se(coef)     z Pr(>|z|)
    # xNonmaintained 0.9155    2.4981   0.5119 1.788   0.0737
    #                exp(coef) exp(-coef) lower .95 upper .95
    # xNonmaintained     2.498     0.4003    0.9159     6.813
    res = stats.cox(AML, "time", "status", ["x"])
    row = res.loc["x[Nonmaintained]"]
    assert row.coef == pytest.approx(0.9155, abs=5e-5)
    assert row.hazard_ratio == pytest.approx(2.4981, abs=5e-5)
    assert row.se == pytest.approx(0.5119, abs=5e-5)
    assert row.z == pytest.approx(1.788, abs=5e-4)
    assert row.p_value == pytest.approx(0.0737, abs=5e-5)
    assert (row.ci_low, row.ci_high) == pytest.approx((0.9159, 6.813), abs=5e-4)


def test_cox_ovarian_two_covariates():
    # summary(coxph(Surv(futime, fustat) ~ age + rx, data = ovarian))
    #         coef exp(coef) se(coef)      z Pr(>|z|)
    # age  0.14733   1.15873  0.04615  3.193  0.00141
    # rx  -0.80397   0.44755  0.63205 -1.272  0.20337
    #     lower .95 upper .95:  age 1.0585 1.2684 ; rx 0.1297 1.5447
    with pytest.warns(stats.StatsWarning, match="events per"):
        res = stats.cox(OVARIAN, "futime", "fustat", ["age", "rx"])
    assert res.coef.tolist() == pytest.approx([0.14733, -0.80397], abs=5e-6)
    assert res.se.tolist() == pytest.approx([0.04615, 0.63205], abs=5e-6)
    assert res.p_value.tolist() == pytest.approx([0.00141, 0.20337], abs=5e-6)
    assert res.ci_low.tolist() == pytest.approx([1.0585, 0.1297], abs=5e-5)
    assert res.ci_high.tolist() == pytest.approx([1.2684, 1.5447], abs=5e-5)


def test_cox_lung_efron_and_breslow(lung):
    # summary(coxph(Surv(time, status) ~ age + sex, data = lung))   (Efron, the default)
    #          coef exp(coef)  se(coef)      z Pr(>|z|)
    # age  0.017045  1.017191  0.009223  1.848  0.06459
    # sex -0.513219  0.598566  0.167458 -3.065  0.00218
    res = stats.cox(lung, "time", "dead", ["age", "sex"])
    assert res.coef.tolist() == pytest.approx([0.017045, -0.513219], abs=5e-7)
    assert res.se.tolist() == pytest.approx([0.009223, 0.167458], abs=5e-7)
    assert res.hazard_ratio.tolist() == pytest.approx([1.017191, 0.598566], abs=5e-7)
    assert res.p_value.tolist() == pytest.approx([0.06459, 0.00218], abs=5e-6)
    # ties = "breslow": age 0.017013 (se 0.009222), sex -0.512565 (se 0.167462)
    br = stats.cox(lung, "time", "dead", ["age", "sex"], ties="breslow")
    assert br.coef.tolist() == pytest.approx([0.017013, -0.512565], abs=5e-7)
    assert br.se.tolist() == pytest.approx([0.009222, 0.167462], abs=5e-7)


def test_edge_cases_are_clear_errors():
    with pytest.raises(stats.StatsError, match="empty"):
        stats.kaplan_meier([], [])
    with pytest.raises(stats.StatsError, match="Nobody had the event"):
        stats.logrank([1, 2, 3, 4], [0, 0, 0, 0], ["a", "a", "b", "b"])
    with pytest.raises(stats.StatsError, match="at least two groups"):
        stats.logrank([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    with pytest.raises(stats.StatsError, match="event must be"):
        stats.kaplan_meier([1, 2], [1, 2])
    df = pd.DataFrame({"t": [5, 6, 7, 8, 9, 10], "e": [1, 1, 1, 0, 0, 0],
                       "g": ["a", "a", "a", "b", "b", "b"]})
    with pytest.raises(stats.StatsError, match="did not converge"):
        stats.cox(df, "t", "e", ["g"])  # nobody in group b had the event


def test_cox_drops_a_constant_covariate_with_a_recorded_warning():
    data = AML.assign(area="Leicester")
    with pytest.warns(stats.StatsWarning, match="same value for everyone"):
        res = stats.cox(data, "time", "status", ["x", "area"])
    assert list(res.index) == ["x[Nonmaintained]"]
    assert any("area" in w for w in res.attrs["warnings"])


def test_all_events_no_censoring():
    # with no censoring the Kaplan-Meier estimate is the empirical survival function
    km = stats.kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    assert km.survival.tolist() == pytest.approx([0.75, 0.5, 0.25, 0.0])
    assert math.isnan(km.std_err.iloc[-1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 60), st.booleans(), st.booleans()), min_size=4,
                max_size=60), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(rows, rnd):
    df = pd.DataFrame(rows, columns=["t", "e", "g"])
    if df.e.sum() == 0 or df.g.nunique() < 2:
        return
    shuffled = df.sample(frac=1.0, random_state=rnd.randint(0, 10_000))
    a = stats.kaplan_meier(df.t, df.e, group=df.g)
    b = stats.kaplan_meier(shuffled.t, shuffled.e, group=shuffled.g)
    pd.testing.assert_frame_equal(a, b)
    la = stats.logrank(df.t, df.e, df.g)
    lb = stats.logrank(shuffled.t, shuffled.e, shuffled.g)
    assert la.statistic == pytest.approx(lb.statistic, nan_ok=True)
    finite = a[a.std_err.notna()]
    assert ((finite.ci_low <= finite.survival) & (finite.survival <= finite.ci_high)).all()
    assert ((a.survival >= 0) & (a.survival <= 1)).all()


def test_survival_at_with_no_events_stays_at_one():
    # Edge case: nobody had the event. R: summary(survfit(Surv(c(5, 8, 12), c(0, 0, 0)) ~ 1), times = c(0, 6))
    # gives survival 1 with 3 and 2 at risk.
    from evallib.stats import survival_at

    out = survival_at([5, 8, 12], [0, 0, 0], [0, 6])
    assert list(out["survival"]) == [1.0, 1.0]
    assert list(out["at_risk"]) == [3, 2]
    assert list(out["events"]) == [0, 0]
