"""Tests for evallib.stats.multicomp (Holm) against published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats


def test_holm_wikipedia_example():
    # Holm-Bonferroni method, Wikipedia worked example: four hypotheses with p-values
    # 0.01, 0.04, 0.03 and 0.005 at alpha = 0.05; Holm rejects H1 and H4 only.
    # R 4.2.2: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02
    adj = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], atol=1e-12)
    assert list(adj <= 0.05) == [True, False, False, True]


def test_holm_ten_p_values_match_r():
    # Ten p-values with ties in the capped region and an out-of-order last value; expected
    # values printed by R 4.2.2, p.adjust(p, method = "holm").
    p = [0.0001, 0.004, 0.019, 0.095, 0.201, 0.278, 0.298, 0.344, 0.459, 0.324]
    # R: 0.0010 0.0360 0.1520 0.6650 1.0000 1.0000 1.0000 1.0000 1.0000 1.0000
    expected = [0.001, 0.036, 0.152, 0.665, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(stats.holm(p), expected, atol=1e-12)


def test_holm_keeps_missing_values_and_series_index():
    # R: p.adjust(c(0.01, NA, 0.02), "holm") = 0.02 NA 0.02 (n counts non-missing values)
    s = pd.Series([0.01, np.nan, 0.02], index=["a", "b", "c"], name="p")
    adj = stats.holm(s)
    assert list(adj.index) == ["a", "b", "c"]
    assert adj["a"] == pytest.approx(0.02) and np.isnan(adj["b"]) and adj["c"] == pytest.approx(0.02)
    with pytest.raises(stats.StatsError):
        stats.holm([0.5, 1.2])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_holm_properties(p):
    p = np.array(p)
    adj = stats.holm(p)
    assert np.all(adj >= p - 1e-15) and np.all(adj <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)  # monotone in the raw p-values
    perm = np.random.default_rng(0).permutation(p.size)
    np.testing.assert_allclose(stats.holm(p[perm]), adj[perm])
