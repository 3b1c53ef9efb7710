"""Tests for evallib.stats.wording: Justice Data Lab reporting conventions.

Numbers in the sentences are checked against published values (Newcombe 1998b Table II
and R's power.prop.test), so a wrong interval or power calculation shows up here too.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from evallib import stats


def test_significant_increase_newcombe_example_a():
    # Newcombe (1998b) Table II (a): 56/70 - 48/80 = 0.2000, 95% CI 0.0524 to 0.3339,
    # i.e. between 5 and 33 percentage points; R: chisq.test p = 0.0134; every group has
    # at least 10 people with and without the outcome.
    w = stats.describe_comparison(56, 70, 48, 80)
    assert w.verdict == "significant_increase" and w.significant
    assert "80% for the 70" in w.headline and "60% for the 80" in w.headline
    assert "between 5 and 33 percentage points higher" in w.difference_sentence
    assert w.per_100.startswith("For every 100 people who completed the programme, between 5 "
                                "and 33 more")
    assert w.mdd_sentence == ""
    assert "not a causal comparison" in w.caveats[0]
    assert w.table_row == {**w.table_row, "group1_rate_pct": 80, "group0_rate_pct": 60,
                           "difference_pp": 20, "ci_low_pp": 5, "ci_high_pp": 33,
                           "significant": True, "verdict": "significant_increase"}


def test_significant_reduction_when_groups_swapped():
    w = stats.describe_comparison(48, 80, 56, 70)
    assert w.verdict == "significant_reduction"
    assert "between 5 and 33 percentage points lower" in w.difference_sentence
    assert "between 5 and 33 fewer committed a proven reoffence" in w.per_100


def test_small_groups_are_inconclusive_even_when_p_is_small():
    # Newcombe (1998b) Table II (b): 9/10 - 3/10, CI 0.1705 to 0.8090 (17 to 81 points);
    # R: fisher.test p = 0.0198 <= 0.05, but the groups fail the n p >= 10 rule.
    w = stats.describe_comparison(9, 10, 3, 10)
    assert w.verdict == "inconclusive" and not w.significant
    assert "too small" in w.reason
    assert "between +17 and +81 percentage points" in w.difference_sentence
    assert stats.INCONCLUSIVE in w.difference_sentence
    assert "statistically significant:" not in w.difference_sentence.replace("not statistically", "")


def test_inconclusive_result_states_the_minimum_detectable_difference():
    # 20/50 vs 25/50: R chisq.test p = 0.4214, not significant. The minimum detectable
    # reduction from 50% with 50 per group at 80% power: R power.prop.test(n = 50,
    # p1 = .5, power = .8) gives p2 = 0.7668 for an increase, i.e. 27 points; by the
    # symmetry of the variance about 50% a fall to 23%.
    w = stats.describe_comparison(20, 50, 25, 50)
    assert w.verdict == "inconclusive"
    assert "only a reduction of at least 27 percentage points (from 50% to 23%)" in w.mdd_sentence
    assert w.table_row["mdd_pp"] == 27
    text = w.text.lower()
    assert "no effect" not in text.replace("should not be taken to mean that it has no effect", "")
    assert "more people would need to be analysed" in text


def test_not_assessable_groups_get_explicit_wording():
    w = stats.describe_comparison(0, 0, 3, 5)
    assert w.verdict == "not_assessable" and not w.significant
    assert "cannot be made" in w.headline and "no people who completed the programme" in w.reason
    assert w.table_row["group1_rate_pct"] is None
    assert stats.describe_comparison(3, 5, 0, 0).verdict == "not_assessable"
    bad = stats.describe_comparison(7, 5, 1, 5)
    assert bad.verdict == "not_assessable" and "7 events out of only 5" in bad.reason


def test_adjusted_estimate_replaces_the_causal_reminder():
    est = SimpleNamespace(difference=-0.12, difference_ci=(-0.20, -0.04), p_value=0.003)
    w = stats.describe_comparison(60, 300, 90, 250, adjusted_estimate=est)
    assert w.verdict == "significant_reduction"
    assert w.difference_sentence.startswith("After adjusting for recorded characteristics")
    assert "between 4 and 20 percentage points lower" in w.difference_sentence
    assert "recorded" in w.caveats[0] and "not a causal comparison" not in w.text
    assert w.table_row["adjusted"] is True


def test_time_to_event_needs_thirty_events():
    est = SimpleNamespace(difference=-0.2, difference_ci=(-0.35, -0.05), p_value=0.01)
    w = stats.describe_comparison(10, 60, 19, 60, adjusted_estimate=est, time_to_event=True)
    assert w.verdict == "inconclusive" and "29 events" in w.reason
    ok = stats.describe_comparison(11, 60, 19, 60, adjusted_estimate=est, time_to_event=True)
    assert ok.verdict == "significant_reduction"


def test_to_frame_and_sentences():
    w = stats.describe_comparison(4, 17, 3, 5)
    df = w.to_frame()
    assert len(df) == 1 and df.loc[0, "verdict"] == "inconclusive"
    assert w.sentences[0] == w.headline and w.text.startswith(w.headline)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wording_is_consistent(g1, g0):
    w = stats.describe_comparison(g1[0], g1[1], g0[0], g0[1])
    assert w.verdict in stats.VERDICTS
    row = w.table_row
    assert w.significant == (w.verdict.startswith("significant"))
    if w.significant:
        assert row["p_value"] <= 0.05 and min(g1[0], g1[1] - g1[0], g0[0], g0[1] - g0[0]) >= 10
        assert w.mdd_sentence == ""
    else:
        assert stats.INCONCLUSIVE in w.text
    # rates are whole percentages, and the interval is given in percentage points
    assert all(re.fullmatch(r"\d+", p) for p in re.findall(r"(\d+(?:\.\d+)?)%", w.headline))
    assert "percentage points" in w.difference_sentence
    assert row["ci_low_pp"] <= row["difference_pp"] <= row["ci_high_pp"]
    swapped = stats.describe_comparison(g0[0], g0[1], g1[0], g1[1])
    assert swapped.table_row["difference_pp"] == -row["difference_pp"]
