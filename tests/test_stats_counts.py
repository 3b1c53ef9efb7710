"""Tests for evallib.stats.counts against R's glm, MASS::glm.nb and poisson.test."""

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


def test_poisson_dobson_example():
    # ?glm, Dobson (1990) p. 93, randomized controlled trial:
    # counts <- c(18,17,15,20,10,20,25,13,12); outcome <- gl(3,1,9); treatment <- gl(3,3)
    # glm.D93 <- glm(counts ~ outcome + treatment, family = poisson())
    #               Estimate Std. Error z value Pr(>|z|)
    # (Intercept)  3.045e+00  1.709e-01  17.815   <2e-16
    # outcome2    -4.543e-01  2.022e-01  -2.247   0.0246
    # outcome3    -2.930e-01  1.927e-01  -1.520   0.1285
    # treatment2   1.338e-15  2.000e-01   0.000   1.0000
    # treatment3   1.421e-15  2.000e-01   0.000   1.0000
    d = pd.DataFrame({"counts": [18, 17, 15, 20, 10, 20, 25, 13, 12],
                      "outcome": list("123123123"), "treatment": list("111222333")})
    res = stats.poisson_regression(d, "counts", ["outcome", "treatment"])
    np.testing.assert_allclose(res.coef, [3.045, -0.4543, -0.2930, 0, 0], atol=5e-4)
    np.testing.assert_allclose(res.se, [0.1709, 0.2022, 0.1927, 0.2000, 0.2000], atol=5e-5)
    np.testing.assert_allclose(res.z[:3], [17.815, -2.247, -1.520], atol=5e-4)
    np.testing.assert_allclose(res.p_value[1:], [0.0246, 0.1285, 1.0, 1.0], atol=5e-5)
    # Residual deviance: 5.1291 on 4 degrees of freedom
    assert res.attrs["deviance"] == pytest.approx(5.1291, abs=5e-5)


def test_poisson_with_exposure_insurance():
    # MASS::Insurance (Baxter et al. 1980), claims per policy holder, with treatment
    # contrasts (Group and Age made unordered). R 4.2.2:
    # glm(Claims ~ District + Group + Age + offset(log(Holders)), family = poisson)
    ins = pd.read_csv(FIXTURES / "insurance.csv")
    ins["District"] = ins["District"].astype(str)
    ref = {"Group": "<1l", "Age": "<25"}
    res = stats.poisson_regression(ins, "Claims", ["District", "Group", "Age"],
                                   exposure="Holders", reference=ref)
    expected_coef = [-1.82173991809, 0.02586819091, 0.03852392710, 0.23420532798, 0.16133698000,
                     0.39281049083, 0.56341234112, -0.19101010633, -0.34495065825, -0.53667070639]
    expected_se = [0.07678761900, 0.04301579403, 0.05051156541, 0.06167327581, 0.05053238801,
                   0.05499780181, 0.07231533407, 0.08285643958, 0.08137413457, 0.06995561531]
    np.testing.assert_allclose(res.coef, expected_coef, atol=1e-7)
    np.testing.assert_allclose(res.se, expected_se, atol=1e-7)
    # confint.default: District4 0.11332792858 0.35508272738
    assert (res.loc["District[4]", "ci_low"], res.loc["District[4]", "ci_high"]) == pytest.approx(
        (0.11332792858, 0.35508272738), abs=1e-7)
    assert res.loc["District[4]", "rate_ratio"] == pytest.approx(math.exp(0.23420532798), rel=1e-7)


@pytest.fixture(scope="module")
def quine():
    return pd.read_csv(FIXTURES / "quine.csv")


def test_negative_binomial_quine(quine):
    # MASS::quine (days absent from school; Venables and Ripley 2002, section 7.4).
    # R 4.2.2, MASS 7.3-58: glm.nb(Days ~ Eth + Sex + Age + Lrn, data = quine)
    #                Estimate  Std. Error
    # (Intercept)  2.89458002 0.228424615
    # EthN        -0.56937170 0.153333360
    # SexM         0.08232026 0.159915015
    # AgeF1       -0.44842815 0.239746593
    # AgeF2        0.08808014 0.236193029
    # AgeF3        0.35690095 0.248324363
    # LrnSL        0.29210914 0.186474711
    # Theta: 1.2749 (SE 0.1610)
    res = stats.negative_binomial_regression(quine, "Days", ["Eth", "Sex", "Age", "Lrn"])
    np.testing.assert_allclose(res.coef, [2.89458002, -0.56937170, 0.08232026, -0.44842815,
                                          0.08808014, 0.35690095, 0.29210914], atol=5e-6)
    np.testing.assert_allclose(res.se, [0.228424615, 0.153333360, 0.159915015, 0.239746593,
                                        0.236193029, 0.248324363, 0.186474711], atol=5e-6)
    assert res.attrs["theta"] == pytest.approx(1.2749, abs=5e-4)
    assert res.attrs["theta_se"] == pytest.approx(0.1610, abs=5e-4)


def test_negative_binomial_rate_ratio_interval_and_poisson_overdispersion(quine):
    # R 4.2.2: exp(confint.default(glm.nb(Days ~ Eth, data = quine)))["EthN", ]
    #          = 0.4195732462 0.7845838614; theta = 1.157165436
    nb = stats.negative_binomial_regression(quine, "Days", ["Eth"])
    assert (nb.loc["Eth[N]", "rate_ratio_ci_low"], nb.loc["Eth[N]", "rate_ratio_ci_high"]) == \
        pytest.approx((0.4195732462, 0.7845838614), abs=5e-6)
    assert nb.attrs["theta"] == pytest.approx(1.157165436, abs=5e-5)
    # the Poisson fit of the same data: exp(confint.default(glm(Days ~ Eth, poisson)))["EthN", ]
    #          = 0.5286019001 0.622756743 -- far too narrow; evallib says so. (R's glm stops
    #          at a relative deviance change of 1e-8, so agreement is to about 1e-6.)
    with pytest.warns(stats.StatsWarning, match="over-dispersed"):
        po = stats.poisson_regression(quine, "Days", ["Eth"])
    assert (po.loc["Eth[N]", "rate_ratio_ci_low"], po.loc["Eth[N]", "rate_ratio_ci_high"]) == \
        pytest.approx((0.5286019001, 0.622756743), abs=1e-6)


def test_compare_rates_matches_poisson_test():
    # ?poisson.test: "Comparing rates of cancer in Fredericia vs. other cities"
    # poisson.test(c(11, 6+8+7), c(800, 1083+1050+878)); R 4.2.2 prints
    # p-value = 0.07967; 95 percent CI 0.8584264 4.2772659; rate ratio 1.971488
    res = stats.compare_rates(11, 800, 21, 1083 + 1050 + 878)
    assert res.rate_ratio == pytest.approx(1.971488, abs=5e-7)
    assert res.rate_ratio_ci == pytest.approx((0.8584264, 4.2772659), abs=5e-8)
    assert res.p_value == pytest.approx(0.07967, abs=5e-6)


def test_compare_rates_zero_counts():
    none = stats.compare_rates(0, 10, 0, 12)
    assert math.isnan(none.rate_ratio) and none.p_value == 1.0 and none.notes
    inf = stats.compare_rates(4, 10, 0, 12)
    assert inf.rate_ratio == math.inf and inf.rate_ratio_ci[1] == math.inf
    with pytest.raises(stats.StatsError, match="no time at risk"):
        stats.compare_rates(1, 0, 1, 10)


def test_paired_rate_ratio_epil():
    # MASS::epil (Thall and Vail 1990): seizures in the 8-week baseline and in the first
    # three 2-week periods (6 weeks) after randomisation, per patient. R 4.2.2:
    # m <- glm(y ~ period + offset(log(expo)), poisson, data = long)   # stacked before/after
    # V <- sandwich::vcovCL(m, cluster = ~id, type = "HC0", cadjust = TRUE)
    # coef(m)["period"] = 0.09356483565; sqrt(V[2, 2]) = 0.1128798219
    # rate ratio interval 0.880138894 1.369992439; Wald p = 0.4071672557
    d = pd.read_csv(FIXTURES / "epil_wide.csv")
    res = stats.paired_rate_ratio(d.base, d.after6, exposure_before=8, exposure_after=6)
    assert math.log(res.rate_ratio) == pytest.approx(0.09356483565, abs=1e-9)
    assert res.rate_ratio_ci == pytest.approx((0.880138894, 1.369992439), abs=1e-8)
    assert res.p_value == pytest.approx(0.4071672557, abs=1e-8)
    assert res.n == 59


def test_count_edge_cases():
    d = pd.DataFrame({"n": [0, 0, 0, 0], "g": ["a", "a", "b", "b"]})
    with pytest.raises(stats.StatsError, match="Nobody had any"):
        stats.poisson_regression(d, "n", ["g"])
    d2 = pd.DataFrame({"n": [0, 0, 3, 1], "g": ["a", "a", "b", "b"]})
    with pytest.raises(stats.StatsError, match="0 or infinite"):
        stats.poisson_regression(d2, "n", ["g"])
    with pytest.raises(stats.StatsError, match="positive"):
        stats.poisson_regression(d2.assign(t=[1, 0, 1, 1]), "n", [], exposure="t")
    with pytest.raises(stats.StatsError, match="'before' period"):
        stats.paired_rate_ratio([0, 0], [1, 2])
    res = stats.paired_rate_ratio([1, 2, 3], [0, 0, 0])
    assert res.rate_ratio == 0.0 and res.notes


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=3, max_size=40))
def test_paired_ratio_order_invariant_and_interval_contains_estimate(pairs):
    b = np.array([p[0] for p in pairs])
    a = np.array([p[1] for p in pairs])
    if b.sum() == 0 or a.sum() == 0:
        return
    res = stats.paired_rate_ratio(b, a)
    perm = np.random.default_rng(1).permutation(b.size)
    again = stats.paired_rate_ratio(b[perm], a[perm])
    assert again.rate_ratio == pytest.approx(res.rate_ratio)
    assert again.rate_ratio_ci == pytest.approx(res.rate_ratio_ci, nan_ok=True)
    if math.isnan(res.rate_ratio_ci[0]):
        assert "no interval" in res.notes[-1]
        assert np.sum((a + b) > 0) < 2 or np.allclose(a * b.sum(), b * a.sum())
    else:
        assert res.rate_ratio_ci[0] <= res.rate_ratio <= res.rate_ratio_ci[1]
