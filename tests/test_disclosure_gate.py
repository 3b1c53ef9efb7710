"""The report gate (evallib.reports.gate): one register per report, protected once.

The audit here is written independently of the gate and of evallib.disclosure: from the
gate's published record alone (what results.json holds) it solves, for every hidden
count, the smallest and largest value consistent with everything shown and every stated
relation, and requires at least ``threshold`` whole values in between (the guarantee in
docs/disclosure.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evallib.disclosure import DisclosureRule
from evallib.reports.gate import Gate, check_shared
from tests.lp_audit import possible_values

ON = DisclosureRule(threshold=5)


def flow_gate(rule: DisclosureRule, completers: int, non_completers: int, set_aside: int = 0) -> Gate:
    """The shape of the evaluation report: a flow total, two compared groups, statistics about them."""
    g = Gate(rule, report="test")
    g.section = "flow"
    g.add("set_aside", set_aside)
    g.add("n.completed", completers, priority=1)
    g.add("n.not_completed", non_completers, priority=1)
    g.total("starters", ["set_aside", "n.completed", "n.not_completed"])
    g.together("n.completed", "n.not_completed")
    g.section = "headline"
    g.touch("n.completed", "n.not_completed")
    g.stat("p_value", 0.04, about=["n.completed", "n.not_completed"])
    g.stat("rate.completed", 0.2, about=["n.completed"])
    g.section = "incidents"
    g.add("after.not_completed", 0, about=["n.not_completed"])
    return g


def test_hidden_group_hides_its_complement_and_every_statistic_about_it():
    pub = flow_gate(ON, 39, 4).protect()
    assert not pub.shown("n.not_completed") and not pub.shown("n.completed")
    assert pub.stat("p_value") is None and pub.stat("rate.completed") is None
    assert not pub.shown("after.not_completed")       # a zero about a hidden group is withheld too
    assert pub.shown("starters")                      # the total stays: its parts are hidden
    assert all(v >= 5 for v in possible_values(pub.record()).values())


def test_large_groups_publish_everything():
    pub = flow_gate(ON, 39, 40).protect()
    assert pub.count("n.not_completed") == 40 and pub.stat("p_value") == 0.04
    assert pub.count("after.not_completed") == 0
    assert possible_values(pub.record()) == {}


def test_suppression_off_shows_small_groups():
    pub = flow_gate(DisclosureRule(threshold=0), 39, 4).protect()
    assert pub.count("n.not_completed") == 4 and pub.stat("p_value") == 0.04


def test_latent_count_ties_two_analyses_without_being_published():
    # a second analysis over 2 more people than the main one: 39 and 41 would give the 2 away
    g = flow_gate(ON, 39, 40)
    g.section = "sensitivity"
    g.latent("sens.extra", 2)
    g.total("sens.n.completed", ["n.completed", "sens.extra"])
    g.stat("sens.rate", 0.3, about=["sens.n.completed"])
    pub = g.protect()
    assert pub.shown("n.completed")                  # priority: the headline group stays
    assert not pub.shown("sens.n.completed") and pub.stat("sens.rate") is None
    rec = pub.record()
    assert "sens.extra" not in rec["counts"] or rec["counts"]["sens.extra"] is None
    assert all(v >= 5 for v in possible_values(rec).values())


def random_gate(rng: np.random.Generator) -> Gate:
    """Three linked tables over the same groups, with small counts anywhere."""
    g = Gate(ON, report="random")
    groups = ["a", "b", "c"]
    g.section = "sizes"
    sizes = {x: int(rng.integers(0, 30)) for x in groups}
    for x in groups:
        g.add(f"n.{x}", sizes[x])
    g.total("n.all", [f"n.{x}" for x in groups])
    for t in ("t1", "t2"):
        g.section = t
        for x in groups:
            parts = rng.multinomial(sizes[x], [0.5, 0.3, 0.2])
            g.add_many(f"{t}.{x}", pd.Series(parts, index=["p", "q", "r"]))
            g.total(f"n.{x}", [f"{t}.{x}.{lv}" for lv in "pqr"])
        for lv in "pqr":
            g.total(f"{t}.all.{lv}", [f"{t}.{x}.{lv}" for x in groups])
        g.total("n.all", [f"{t}.all.{lv}" for lv in "pqr"])
    g.section = "sub"
    for x in groups:
        g.add(f"sub.{x}", int(rng.integers(0, sizes[x] + 1)))
        g.le(f"sub.{x}", f"n.{x}")
    return g


@pytest.mark.parametrize("seed", range(6))
def test_no_hidden_count_narrowed_below_threshold_values(seed):
    g = random_gate(np.random.default_rng(seed))
    pub = g.protect()
    values = g.values
    small = [k for k, v in values.items() if 1 <= v < 5]
    assert all(not pub.shown(k) for k in small)
    assert all(v >= 5 for v in possible_values(pub.record()).values())


def test_record_holds_no_true_hidden_value():
    g = flow_gate(ON, 39, 3)
    rec = g.protect().record()
    assert rec["counts"]["n.not_completed"] is None and rec["counts"]["n.completed"] is None
    assert "reasons" not in rec and 3 not in [v for v in rec["counts"].values() if v is not None]


def test_statistic_about_unknown_count_refused():
    g = Gate(ON, report="x")
    with pytest.raises(KeyError, match="unregistered"):
        g.stat("p", 0.1, about=["n.nobody"])


def test_relation_that_does_not_hold_refused():
    g = Gate(ON, report="x")
    g.add("a", 3)
    g.add("b", 4)
    g.add("t", 8)
    with pytest.raises(ValueError, match="add up to 7"):
        g.total("t", ["a", "b"])


def test_shared_counts_checked_across_reports():
    a = {"counts": {"offered": 72}, "shared": {"offered": "partners.offered"}}
    b = {"counts": {"county.offered": None}, "shared": {"county.offered": "partners.offered"}}
    c = {"counts": {"o": 72}, "shared": {"o": "partners.offered"}}
    assert check_shared({"partner_outcomes": a, "quarterly": c}) == []
    problems = check_shared({"partner_outcomes": a, "service_outputs": b})
    assert len(problems) == 1 and "service_outputs: hidden" in problems[0]
