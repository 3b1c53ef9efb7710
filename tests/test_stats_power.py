"""Tests for evallib.stats.power against R's power.prop.test and pwr.

R solves for the unknown with ``uniroot(..., tol = .Machine$double.eps^0.25)`` (about
1.22e-4), which limits the accuracy of the printed values; evallib solves to 1e-12, so
solved quantities are compared within that documented tolerance. Powers computed in
closed form are compared to R's printed precision.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats

UNIROOT_TOL = 1.22e-4


def test_power_prop_test_documented_examples():
    # ?power.prop.test: power.prop.test(n = 50, p1 = .50, p2 = .75)  ## => power = 0.740
    # (R 4.2.2 prints power = 0.7401659)
    assert stats.power_two_proportions(0.75, 0.50, 50, 50) == pytest.approx(0.7401659, abs=5e-8)
    # ?power.prop.test: power.prop.test(n = 50, p1 = .5, power = .90)  ## =>  p2 = 0.8026
    # (R 4.2.2 prints p2 = 0.8026141)
    mdd = stats.minimum_detectable_difference(50, 50, 0.5, power=0.9, direction="increase")
    assert mdd.p1 == pytest.approx(0.8026141, abs=UNIROOT_TOL)
    assert float(mdd) == pytest.approx(0.3026141, abs=UNIROOT_TOL)
    # by symmetry of the binomial variance about 0.5, the detectable decrease is the same
    down = stats.minimum_detectable_difference(50, 50, 0.5, power=0.9)
    assert down.p1 == pytest.approx(1 - 0.8026141, abs=UNIROOT_TOL)


def test_pwr_2p2n_examples():
    # ?pwr.2p2n.test: pwr.2p2n.test(h = 0.30, n1 = 80, n2 = 245, sig.level = 0.05,
    # alternative = "greater") -> power = 0.7532924 (pwr 1.3-0)
    got = stats.power_two_proportions(
        # any pair of proportions with Cohen's h = 0.30: p0 = 0.5, p1 = sin(asin(sqrt(.5)) + .15)^2
        math.sin(math.asin(math.sqrt(0.5)) + 0.15) ** 2, 0.5, 80, 245,
        method="arcsine", alternative="greater")
    assert got == pytest.approx(0.7532924, abs=5e-8)
    # pwr.2p2n.test(n1 = 80, n2 = 245, sig.level = 0.05, power = 0.8) -> h = 0.3607568
    mdd = stats.minimum_detectable_difference(80, 245, 0.5, method="arcsine", direction="increase")
    assert mdd.cohens_h == pytest.approx(0.3607568, abs=UNIROOT_TOL)


def test_small_groups_cannot_detect_a_fall_from_a_low_rate():
    res = stats.minimum_detectable_difference(17, 5, 0.05)
    assert math.isnan(res.difference)
    assert "No decrease" in res.notes[0]


def test_bad_inputs_raise():
    with pytest.raises(stats.StatsError):
        stats.minimum_detectable_difference(0, 10, 0.3)
    with pytest.raises(stats.StatsError):
        stats.minimum_detectable_difference(10, 10, 0.0)
    with pytest.raises(stats.StatsError):
        stats.minimum_detectable_difference(10, 10, 0.3, method="exact")


@settings(max_examples=60, deadline=None)
@given(st.integers(5, 2000), st.integers(5, 2000), st.floats(0.05, 0.95))
def test_mdd_has_the_requested_power_and_shrinks_with_n(n1, n0, p0):
    res = stats.minimum_detectable_difference(n1, n0, p0)
    if math.isnan(res.difference):
        return
    assert stats.power_two_proportions(res.p1, p0, n1, n0) == pytest.approx(0.8, abs=1e-6)
    bigger = stats.minimum_detectable_difference(2 * n1, 2 * n0, p0)
    assert bigger.difference < res.difference
