"""Tests for evallib.disclosure: hand-made cases, seed-001 tables and property tests.

The attacker model used here is written afresh (``attacker_ranges``), independently of
the module's own audit: every cell of the table is an LP variable, shown cells are fixed
at their published values, hidden cells are non-negative, and every declared sum and
pair inequality holds. A hidden cell is protected if its minimum and maximum differ.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from evallib.disclosure import DisclosureRule, ProtectionError, SuppressedTable, suppress

DISTRICTS = [
    "Blaby",
    "Charnwood",
    "Harborough",
    "Hinkley and Bosworth",
    "Melton",
    "North West Leicestershire",
    "Oadby and Wigston",
]
ROWS = [*DISTRICTS, "COUNTY", "Rutland", "CITY"]


# ---------------------------------------------------------------------------------------
# An attacker, written independently of the module
# ---------------------------------------------------------------------------------------


def attacker_ranges(
    table: pd.DataFrame,
    hidden: pd.DataFrame,
    sums: list[tuple[tuple, list[tuple]]],
    le: list[tuple[tuple, tuple]] = (),
) -> dict[tuple, tuple[float, float]]:
    """LP min and max of every hidden cell given what is shown and the declared relations.

    ``table`` holds the true counts; only cells where ``hidden`` is False are given to the
    attacker. ``sums``: (total cell, member cells); ``le``: (a, b) meaning a <= b.
    """
    cells = [(r, c) for r in table.index for c in hidden.columns]
    pos = {cell: i for i, cell in enumerate(cells)}
    n = len(cells)
    bounds = []
    for r, c in cells:
        if hidden.loc[r, c]:
            bounds.append((0, None))
        else:
            v = float(table.loc[r, c])
            bounds.append((v, v))
    a_eq = np.zeros((len(sums), n))
    for i, (total, members) in enumerate(sums):
        a_eq[i, pos[total]] = 1.0
        for m in members:
            a_eq[i, pos[m]] -= 1.0
    a_ub = np.zeros((len(le), n))
    for i, (a, b) in enumerate(le):
        a_ub[i, pos[a]] += 1.0
        a_ub[i, pos[b]] -= 1.0
    kw = {
        "A_eq": a_eq if len(sums) else None,
        "b_eq": np.zeros(len(sums)) if len(sums) else None,
        "A_ub": a_ub if len(le) else None,
        "b_ub": np.zeros(len(le)) if len(le) else None,
        "bounds": bounds,
        "method": "highs",
    }
    out = {}
    for cell in cells:
        if not hidden.loc[cell]:
            continue
        c = np.zeros(n)
        c[pos[cell]] = 1.0
        lo = linprog(c, **kw)
        hi = linprog(-c, **kw)
        assert lo.status == 0, lo.message
        assert hi.status in (0, 3), hi.message
        out[cell] = (lo.fun, math.inf if hi.status == 3 else -hi.fun)
    return out


def row_sums(groups: dict, columns: list) -> list:
    return [((g, c), [(m, c) for m in ms]) for g, ms in groups.items() for c in columns]


def col_sums(totals: dict, rows: list) -> list:
    return [((r, t), [(r, m) for m in ms]) for t, ms in totals.items() for r in rows]


def assert_protected(ranges: dict, protection: int = 1) -> None:
    for cell, (lo, hi) in ranges.items():
        assert hi - lo > 1e-6, f"{cell} is determined: range [{lo}, {hi}]"
        if math.isinf(hi):
            continue
        width = math.floor(hi + 1e-6) - math.ceil(lo - 1e-6)
        assert width >= protection, f"{cell}: range [{lo}, {hi}] narrower than {protection}"


def hidden_cells(st_: SuppressedTable) -> set:
    m = st_.mask
    return {(r, c) for c in m.columns for r in m.index[m[c].to_numpy()]}


# ---------------------------------------------------------------------------------------
# Hand-made examples
# ---------------------------------------------------------------------------------------


def three_districts(values: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"n": [*values, sum(values)]}, index=["A", "B", "C", "COUNTY"])


def test_single_small_district_forces_a_second_district():
    t = three_districts([2, 10, 20])
    s = suppress(t, DisclosureRule(), count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})
    assert s.reasons["n"].tolist() == ["primary", "secondary", "", ""]
    # the smallest other district is hidden, never the headline COUNTY total
    assert s.display()["n"].tolist() == ["[c]", "[c]", "20", "32"]
    assert s.values["n"].isna().tolist() == [True, True, False, False]
    ranges = attacker_ranges(t, s.mask, row_sums({"COUNTY": ["A", "B", "C"]}, ["n"]))
    assert ranges[("A", "n")] == pytest.approx((0, 12))
    assert_protected(ranges)


def test_without_declared_total_no_secondary_suppression():
    t = three_districts([2, 10, 20])
    s = suppress(t, DisclosureRule(), count_columns=["n"])
    assert s.mask["n"].tolist() == [True, False, False, False]


def test_complement_prefers_non_zero_cells():
    t = three_districts([2, 0, 9])
    s = suppress(t, DisclosureRule(), count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})
    assert s.display()["n"].tolist() == ["[c]", "0", "[c]", "11"]


def test_zeros_stay_zeros_and_are_never_primary():
    t = pd.DataFrame({"x": [0, 3, 9, 12], "y": [0, 0, 7, 7]}, index=["A", "B", "C", "COUNTY"])
    s = suppress(t, DisclosureRule(), count_columns=["x", "y"], row_totals={"COUNTY": ["A", "B", "C"]})
    shown = s.display()
    assert shown.loc["A", "x"] == "0" and shown.loc["A", "y"] == "0"
    assert (s.reasons[t[["x", "y"]].eq(0)] != "primary").all().all()
    assert s.reasons.loc["B", "x"] == "primary"


def test_published_zero_total_pins_members_so_more_is_hidden():
    # A's "0 of 2" is hidden because 2 is small. With every other district's numerator 0
    # and the total 0 published, non-negativity alone gives A's 0 back; the audit must
    # notice and hide the total too.
    t = pd.DataFrame(
        {"completed": [0, 0, 0, 0], "ended": [2, 50, 60, 999]}, index=["A", "B", "C", "T"]
    )
    sums = [(("T", "completed"), [("A", "completed"), ("B", "completed"), ("C", "completed")])]
    s = suppress(
        t, DisclosureRule(), count_columns=["completed", "ended"],
        equations=[(cell, members) for cell, members in sums], pairs=[("completed", "ended")],
    )
    assert s.reasons.loc["A", "ended"] == "primary"
    assert s.reasons.loc["A", "completed"] == "pair"
    assert s.mask.loc["T", "completed"]
    le = [((r, "completed"), (r, "ended")) for r in t.index]
    assert_protected(attacker_ranges(t, s.mask, sums, le))


def test_greedy_is_not_enough_lp_audit_adds_cells():
    # Two rectangles of small cells joined by one cell: every row and column holds at
    # least two hidden cells, yet the joining cell (r2, c3) is the sum of rows r1, r2
    # minus columns c1, c2. Only the LP audit can see it.
    small = {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r2", "c3"),
             ("r3", "c3"), ("r3", "c4"), ("r4", "c3"), ("r4", "c4")}
    rows, cols = ["r1", "r2", "r3", "r4", "r5"], ["c1", "c2", "c3", "c4", "c5"]
    data = {c: [2 if (r, c) in small else 20 for r in rows] for c in cols}
    t = pd.DataFrame(data, index=rows)
    t["total"] = t[cols].sum(axis=1)
    t.loc["all"] = t.loc[rows].sum()
    sums = row_sums({"all": rows}, [*cols, "total"]) + col_sums({"total": cols}, [*rows, "all"])
    # the greedy pattern alone (the nine small cells) leaves (r2, c3) determined
    naive = pd.DataFrame(False, index=t.index, columns=t.columns)
    for cell in small:
        naive.loc[cell] = True
    lo, hi = attacker_ranges(t, naive, sums)[("r2", "c3")]
    assert hi - lo < 1e-6

    s = suppress(t, DisclosureRule(), count_columns=[*cols, "total"],
                 row_totals={"all": rows}, column_totals={"total": cols})
    assert hidden_cells(s) > small
    assert_protected(attacker_ranges(t, s.mask, sums))


def test_small_total_is_primary_and_protected():
    t = three_districts([1, 2, 0])  # COUNTY = 3 is itself small
    s = suppress(t, DisclosureRule(), count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})
    assert s.reasons["n"].tolist() == ["primary", "primary", "", "primary"]
    assert_protected(attacker_ranges(t, s.mask, row_sums({"COUNTY": ["A", "B", "C"]}, ["n"])))


def test_rate_and_x_of_y_suppressed_with_either_part():
    t = pd.DataFrame(
        {"completed": [3, 10, 6, 19], "ended": [8, 3, 10, 21]}, index=["A", "B", "C", "COUNTY"]
    )
    # no pairs declared: the two columns are published separately, rates computed after
    s = suppress(t, DisclosureRule(), count_columns=["completed", "ended"])
    assert s.mask["completed"].tolist() == [True, False, False, False]
    assert s.mask["ended"].tolist() == [False, True, False, False]
    rate = s.rate("completed", "ended")
    assert rate.isna().tolist() == [True, True, False, False]
    assert rate["C"] == pytest.approx(0.6)
    assert s.x_of_y("completed", "ended").tolist() == ["[c]", "[c]", "6 of 10", "19 of 21"]
    assert s.count_rate("completed", "ended").tolist() == ["[c]", "10 ([c])", "6 (60%)", "19 (90%)"]


def test_pairs_hide_both_parts_and_protect_them():
    t = pd.DataFrame(
        {"completed": [2, 7, 6, 15], "ended": [3, 9, 10, 22]}, index=["A", "B", "C", "COUNTY"]
    )
    groups = {"COUNTY": ["A", "B", "C"]}
    s = suppress(t, DisclosureRule(), count_columns=["completed", "ended"],
                 row_totals=groups, pairs=[("completed", "ended")])
    m = s.mask
    assert (m["completed"] == m["ended"]).all()
    # C (the smallest other district) is the complement of A, in both columns
    assert m.loc["A"].all() and m.loc["C"].all()
    assert not m.loc["B"].any() and not m.loc["COUNTY"].any()
    assert s.x_of_y("completed", "ended").tolist() == ["[c]", "7 of 9", "[c]", "15 of 22"]
    le = [((r, "completed"), (r, "ended")) for r in t.index]
    assert_protected(attacker_ranges(t, m, row_sums(groups, ["completed", "ended"]), le))


def test_threshold_zero_and_one_disable_suppression():
    t = three_districts([1, 2, 0])
    for threshold in (0, 1):
        rule = DisclosureRule(threshold=threshold)
        s = suppress(t, rule, count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})
        assert not s.mask.any().any()
        assert s.values["n"].tolist() == [1, 2, 0, 3]
        assert s.footnote == ""


def test_threshold_ten_follows_ons_10_5_rule():
    t = three_districts([9, 10, 30])
    s = suppress(t, DisclosureRule(threshold=10), count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})
    assert s.reasons["n"].tolist() == ["primary", "secondary", "", ""]
    assert "1 to 9" in s.footnote


def test_rounding_to_five():
    t = pd.DataFrame({"n": [0, 1, 2, 3, 7, 8, 12, 13, 93]}, index=list("abcdefghi"))
    s = suppress(t, DisclosureRule(threshold=0, round_to=5), count_columns=["n"])
    # half up; a non-zero count never shows as 0
    assert s.values["n"].tolist() == [0, 5, 5, 5, 5, 10, 10, 15, 95]
    s10 = suppress(t, DisclosureRule(threshold=0, round_to=10), count_columns=["n"])
    assert s10.values["n"].tolist() == [0, 10, 10, 10, 10, 10, 10, 10, 90]


def test_rounding_after_suppression_totals_rounded_independently():
    t = three_districts([2, 13, 22])  # COUNTY 37
    rule = DisclosureRule(round_to=5)
    s = suppress(t, rule, count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})
    assert s.display()["n"].tolist() == ["[c]", "[c]", "20", "35"]
    assert s.mask.equals(suppress(t, DisclosureRule(), count_columns=["n"],
                                  row_totals={"COUNTY": ["A", "B", "C"]}).mask)
    assert "nearest 5" in s.footnote and "independently" in s.footnote


def test_display_formatting_and_percent_rounding():
    t = pd.DataFrame({"num": [1, 5, 1234, 0], "den": [8, 40, 2000, 0]}, index=list("abcd"))
    s = suppress(t, DisclosureRule(threshold=0), count_columns=["num", "den"])
    assert s.display()["num"].tolist() == ["1", "5", "1,234", "0"]
    # 12.5% rounds half up to 13%, not to even; a zero denominator gives no rate
    assert s.count_rate("num", "den").tolist() == ["1 (13%)", "5 (13%)", "1,234 (62%)", "0"]
    assert s.count_rate("num", "den", decimals=1).tolist()[:2] == ["1 (12.5%)", "5 (12.5%)"]
    assert s.x_of_y("num", "den", thousands=False).tolist()[2] == "1234 of 2000"
    assert s.rate("num", "den").isna().tolist() == [False, False, False, True]


def test_custom_symbol_and_footnote():
    rule = DisclosureRule(symbol="*")
    s = suppress(three_districts([2, 10, 20]), rule, count_columns=["n"],
                 row_totals={"COUNTY": ["A", "B", "C"]})
    assert s.display()["n"].tolist()[:2] == ["*", "*"]
    assert s.footnote.startswith("* = not shown") and "1 to 4" in s.footnote


def test_other_columns_pass_through():
    t = three_districts([2, 10, 20])
    t["note"] = ["x", "y", "z", "w"]
    s = suppress(t, DisclosureRule(), count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})
    assert s.values["note"].tolist() == ["x", "y", "z", "w"]
    assert s.display()["note"].tolist() == ["x", "y", "z", "w"]
    assert list(s.reasons.columns) == ["n"]


def test_group_of_itself_is_ignored():
    t = pd.DataFrame({"n": [3, 30]}, index=["Rutland", "CITY"])
    s = suppress(t, DisclosureRule(), count_columns=["n"], row_totals={"Rutland": ["Rutland"]})
    assert s.mask["n"].tolist() == [True, False]


def test_protection_width():
    t = pd.DataFrame({"x": [1, 1, 30, 32], "y": [20, 25, 5, 50]}, index=["A", "B", "C", "COUNTY"])
    groups = {"COUNTY": ["A", "B", "C"]}
    weak = suppress(t, DisclosureRule(), count_columns=["x", "y"], row_totals=groups)
    ranges = attacker_ranges(t, weak.mask, row_sums(groups, ["x", "y"]))
    assert ranges[("A", "x")] == pytest.approx((0, 2))  # A + B = 2: protected, but narrowly
    strong = suppress(t, DisclosureRule(protection=5), count_columns=["x", "y"], row_totals=groups)
    assert hidden_cells(strong) > hidden_cells(weak)
    assert_protected(attacker_ranges(t, strong.mask, row_sums(groups, ["x", "y"])), protection=5)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": -1}, "threshold"),
        ({"threshold": 2.5}, "threshold"),
        ({"round_to": 0}, "round_to"),
        ({"symbol": " "}, "symbol"),
        ({"protection": 0}, "protection"),
    ],
)
def test_rule_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DisclosureRule(**kwargs)


def test_rule_from_params_with_command_line_override():
    assert DisclosureRule.from_mapping({"threshold": 10}) == DisclosureRule(threshold=10)
    assert DisclosureRule.from_mapping({"threshold": 10}, threshold=0).threshold == 0
    assert DisclosureRule.from_mapping(None) == DisclosureRule()
    with pytest.raises(ValueError, match="threshhold"):
        DisclosureRule.from_mapping({"threshhold": 10})


def test_inconsistent_total_is_refused():
    t = three_districts([2, 10, 20])
    t.loc["COUNTY", "n"] = 33
    with pytest.raises(ValueError, match="does not hold"):
        suppress(t, DisclosureRule(), count_columns=["n"], row_totals={"COUNTY": ["A", "B", "C"]})


@pytest.mark.parametrize(
    "values", [[1.0, np.nan, 3.0, 4.0], [1, -2, 3, 2], [1.5, 2, 3, 6.5]], ids=["missing", "negative", "fraction"]
)
def test_bad_counts_are_refused(values):
    t = pd.DataFrame({"n": values}, index=["A", "B", "C", "COUNTY"])
    with pytest.raises(ValueError, match="count"):
        suppress(t, DisclosureRule(), count_columns=["n"])


def test_unknown_labels_and_broken_pairs_are_refused():
    t = three_districts([2, 10, 20])
    with pytest.raises(ValueError, match="not in the table"):
        suppress(t, DisclosureRule(), count_columns=["n"], row_totals={"COUNTY": ["A", "Z"]})
    with pytest.raises(ValueError, match="not a count column"):
        suppress(t, DisclosureRule(), count_columns=["n"], column_totals={"n": ["m"]})
    t2 = pd.DataFrame({"num": [5, 9], "den": [6, 8]}, index=["A", "B"])
    with pytest.raises(ValueError, match="pair"):
        suppress(t2, DisclosureRule(), count_columns=["num", "den"], pairs=[("num", "den")])


def test_contradictory_relations_raise_protection_error():
    # T = A and A = T + B force B = 0; once B's "0 of 3" is hidden, nothing can make
    # B's numerator uncertain, and the module says so rather than publish a false [c].
    t = pd.DataFrame({"x": [7, 7, 0], "y": [9, 9, 3]}, index=["T", "A", "B"])
    eqs = [(("T", "x"), [("A", "x")]), (("A", "x"), [("T", "x"), ("B", "x")])]
    with pytest.raises(ProtectionError, match="stays determined"):
        suppress(t, DisclosureRule(), count_columns=["x", "y"], equations=eqs, pairs=[("x", "y")])


# ---------------------------------------------------------------------------------------
# Seed 001: the tables the provider publishes
# ---------------------------------------------------------------------------------------

REFERRALS_2021_22 = pd.DataFrame(
    {
        "received": [16, 14, 9, 13, 8, 12, 21, 93, 6, 113],
        "eligible": [15, 11, 8, 13, 7, 12, 20, 86, 6, 103],
        "self": [7, 5, 4, 5, 1, 1, 5, 28, 1, 30],
    },
    index=ROWS,
)
REFERRALS_2022_23 = pd.DataFrame(
    {
        "received": [8, 14, 11, 10, 7, 5, 9, 64, 3, 51],
        "eligible": [7, 14, 9, 10, 6, 4, 8, 58, 3, 39],
        "self": [2, 2, 0, 4, 1, 0, 1, 10, 0, 11],
    },
    index=ROWS,
)
REFERRAL_COLS = ["received", "eligible", "self"]
NESTED = [("self", "eligible"), ("eligible", "received")]


def county_rule_holds(s: SuppressedTable) -> None:
    """In every column, COUNTY and its districts hold no hidden cell or at least two."""
    for col in s.mask.columns:
        n = int(s.mask.loc[[*DISTRICTS, "COUNTY"], col].sum())
        assert n != 1, f"{col}: a lone hidden cell in the COUNTY sum"


def test_seed_001_referrals_2021_22():
    s = suppress(REFERRALS_2021_22, DisclosureRule(), count_columns=REFERRAL_COLS,
                 row_totals={"COUNTY": DISTRICTS}, nested=NESTED)
    assert hidden_cells(s) == {
        ("Harborough", "self"), ("Melton", "self"), ("North West Leicestershire", "self"), ("Rutland", "self"),
    }
    assert set(s.reasons.stack().unique()) == {"", "primary"}  # three small districts cover each other
    county_rule_holds(s)
    le = [((r, a), (r, b)) for r in ROWS for a, b in NESTED]
    ranges = attacker_ranges(REFERRALS_2021_22, s.mask, row_sums({"COUNTY": DISTRICTS}, REFERRAL_COLS), le)
    assert ranges[("Melton", "self")] == pytest.approx((0, 6))  # 28 - 22 shown
    assert_protected(ranges)
    # the published headline survives, with its rate
    assert s.count_rate("self", "eligible")["COUNTY"] == "28 (33%)"


def test_seed_001_referrals_2022_23():
    s = suppress(REFERRALS_2022_23, DisclosureRule(), count_columns=REFERRAL_COLS,
                 row_totals={"COUNTY": DISTRICTS}, nested=NESTED)
    r = s.reasons
    assert r.loc["North West Leicestershire", "eligible"] == "primary"
    # the smallest non-zero other district protects it in the eligible column
    assert r.loc["Melton", "eligible"] == "secondary"
    assert r.loc[["Blaby", "Charnwood", "Hinkley and Bosworth", "Melton", "Oadby and Wigston"], "self"].eq(
        "primary").all()
    assert r.loc[["Harborough", "North West Leicestershire"], "self"].eq("").all()  # zeros shown
    assert r.loc["Rutland"].tolist() == ["primary", "primary", ""]
    assert not s.mask.loc[["COUNTY", "CITY"]].any().any()
    county_rule_holds(s)
    le = [((r_, a), (r_, b)) for r_ in ROWS for a, b in NESTED]
    assert_protected(
        attacker_ranges(REFERRALS_2022_23, s.mask, row_sums({"COUNTY": DISTRICTS}, REFERRAL_COLS), le)
    )


def test_seed_001_completers_with_x_of_y_pairs():
    # April 2021 - March 2022, Second Step and Foundations. A bare "2" in the source means
    # "2 of 2"; the COUNTY cells "10 (83%)" and "6 (86%)" are 10 of 12 and 6 of 7.
    t = pd.DataFrame(
        {
            "ss_completed": [2, 2, 2, 0, 2, 1, 1, 10, 0, 13],
            "ss_ended": [3, 2, 2, 0, 2, 1, 2, 12, 0, 14],
            "fd_completed": [1, 0, 2, 0, 1, 2, 0, 6, 0, 2],
            "fd_ended": [2, 0, 2, 0, 1, 2, 0, 7, 0, 3],
        },
        index=ROWS,
    )
    cols = list(t.columns)
    pairs = [("ss_completed", "ss_ended"), ("fd_completed", "fd_ended")]
    s = suppress(t, DisclosureRule(), count_columns=cols, row_totals={"COUNTY": DISTRICTS}, pairs=pairs)
    county_rule_holds(s)
    m = s.mask
    for num, den in pairs:
        assert (m[num] == m[den]).all()
    # COUNTY's "10 of 12" is publishable, every non-zero district is hidden
    assert s.x_of_y("ss_completed", "ss_ended")["COUNTY"] == "10 of 12"
    assert s.count_rate("ss_completed", "ss_ended")["COUNTY"] == "10 (83%)"
    assert m.loc[DISTRICTS, "ss_ended"].tolist() == [True, True, True, False, True, True, True]
    # CITY "2 of 3" in Foundations: both parts hidden, reason recorded
    assert s.reasons.loc["CITY", ["fd_completed", "fd_ended"]].tolist() == ["primary", "primary"]
    assert s.x_of_y("fd_completed", "fd_ended")["CITY"] == "[c]"
    le = [((r, a), (r, b)) for r in ROWS for a, b in pairs]
    assert_protected(attacker_ranges(t, m, row_sums({"COUNTY": DISTRICTS}, cols), le))


# ---------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------


@st.composite
def random_tables(draw):
    """Districts x columns of counts, a GROUP row (sum of districts), maybe an extra row
    outside the group, a row-sum ``total`` column, and maybe an "x of y" pair."""
    n_rows = draw(st.integers(2, 6))
    n_cols = draw(st.integers(1, 4))
    small, wide = st.integers(0, 6), st.integers(0, 40)
    cell = st.one_of(small, small, wide)
    m = np.array(
        draw(st.lists(st.lists(cell, min_size=n_cols, max_size=n_cols), min_size=n_rows, max_size=n_rows)),
        dtype=np.int64,
    )
    pair = n_cols >= 2 and draw(st.booleans())
    if pair:
        m[:, 0] = np.minimum(m[:, 0], m[:, 1])
    districts = [f"d{i}" for i in range(n_rows)]
    cols = [f"c{j}" for j in range(n_cols)]
    t = pd.DataFrame(m, index=districts, columns=cols)
    t.loc["GROUP"] = t.loc[districts].sum()
    if draw(st.booleans()):
        t.loc["other"] = draw(st.lists(cell, min_size=n_cols, max_size=n_cols))
        if pair:
            t.loc["other", "c0"] = min(t.loc["other", "c0"], t.loc["other", "c1"])
    t["total"] = t[cols].sum(axis=1)
    threshold = draw(st.integers(2, 10))
    return t, districts, cols, pair, threshold


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables())
def test_property_nothing_small_shown_nothing_derivable(case):
    t, districts, cols, pair, threshold = case
    count_cols = [*cols, "total"]
    pairs = [("c0", "c1")] if pair else None
    s = suppress(t, DisclosureRule(threshold=threshold), count_columns=count_cols,
                 row_totals={"GROUP": districts}, column_totals={"total": cols}, pairs=pairs)
    mask = s.mask
    truth = t[count_cols]
    shown = s.values[count_cols]

    # (1) no shown count lies in 1 .. threshold - 1
    visible = truth.where(~mask)
    assert not ((visible >= 1) & (visible < threshold)).any().any()
    # primary suppression is exactly the small non-zero counts; zeros never primary
    assert ((s.reasons == "primary") == ((truth >= 1) & (truth < threshold))).all().all()

    # (3) shown values are the true values; hidden ones are <NA>
    assert shown.isna().equals(mask)
    assert (shown.where(~mask, 0).astype("int64") == truth.where(~mask, 0)).all().all()

    # pair rule: both parts of "c0 of c1" are hidden together
    if pair:
        assert (mask["c0"] == mask["c1"]).all()

    # (2) no hidden cell can be derived by linear arithmetic from what is shown
    sums = row_sums({"GROUP": districts}, count_cols) + col_sums({"total": cols}, list(t.index))
    le = [((r, "c0"), (r, "c1")) for r in t.index] if pair else []
    assert_protected(attacker_ranges(truth, mask, sums, le))


@settings(max_examples=25, deadline=None)
@given(random_tables(), st.sampled_from([3, 5, 10]))
def test_property_rounding_changes_no_suppression(case, round_to):
    t, districts, cols, _, threshold = case
    count_cols = [*cols, "total"]
    kw = {"count_columns": count_cols, "row_totals": {"GROUP": districts}, "column_totals": {"total": cols}}
    plain = suppress(t, DisclosureRule(threshold=threshold), **kw)
    rounded = suppress(t, DisclosureRule(threshold=threshold, round_to=round_to), **kw)
    assert rounded.mask.equals(plain.mask)
    vals = rounded.values[count_cols].to_numpy(dtype="float64", na_value=np.nan)
    truth = t[count_cols].to_numpy(dtype="float64")
    ok = ~np.isnan(vals)
    assert (vals[ok] % round_to == 0).all()
    assert (np.abs(vals[ok] - truth[ok]) <= max(round_to / 2, round_to - 1)).all()
    assert ((vals[ok] == 0) == (truth[ok] == 0)).all()  # zeros, and only zeros, show as 0


# -- relations used by the report gate: together, withheld, priority, inequalities ---------


def test_together_hides_the_complement_group():
    t = pd.DataFrame({"n": [39, 4, 43]}, index=["completed", "not_completed", "starters"])
    s = suppress(t, DisclosureRule(), count_columns=["n"], together=[[("completed", "n"), ("not_completed", "n")]])
    assert s.reasons["n"].tolist() == ["pair", "primary", ""]


def test_withheld_cell_is_protected_when_small():
    # main 39, second analysis 41 = 39 + 2 people never published: 41 - 39 would give the 2 away
    t = pd.DataFrame({"n": [39, 2, 41]}, index=["main", "extra", "second"])
    eq = [(("second", "n"), [("main", "n"), ("extra", "n")])]
    s = suppress(t, DisclosureRule(), count_columns=["n"], equations=eq, withheld=[("extra", "n")])
    assert s.reasons.loc["extra", "n"] == "withheld" and s.mask["n"].sum() == 2
    # 20 more people: nothing small to protect, both sizes shown, the 20 still unpublished
    t.loc["extra", "n"], t.loc["second", "n"] = 20, 59
    s = suppress(t, DisclosureRule(), count_columns=["n"], equations=eq, withheld=[("extra", "n")])
    assert s.mask["n"].tolist() == [False, True, False]


def test_priority_keeps_the_headline_shown():
    t = pd.DataFrame({"n": [39, 2, 41]}, index=["main", "extra", "second"])
    eq = [(("second", "n"), [("main", "n"), ("extra", "n")])]
    plain = suppress(t, DisclosureRule(), count_columns=["n"], equations=eq)
    assert plain.mask.loc["main", "n"]                  # a member before a total, by default
    kept = suppress(t, DisclosureRule(), count_columns=["n"], equations=eq, priority={("main", "n"): 1})
    assert not kept.mask.loc["main", "n"] and kept.mask.loc["second", "n"]


def test_cell_inequality_bounds_the_attack():
    # sub <= group: with the group shown as 3 (not small here: threshold 3), sub = 2 lies in 0..3
    t = pd.DataFrame({"n": [2, 3]}, index=["sub", "group"])
    ok = suppress(t, DisclosureRule(threshold=3, protection=3), count_columns=["n"],
                  inequalities=[(("sub", "n"), ("group", "n"))])
    assert ok.mask["n"].tolist() == [True, False]       # 0..3 is 3 apart: enough
    s = suppress(t, DisclosureRule(threshold=3, protection=4), count_columns=["n"],
                 inequalities=[(("sub", "n"), ("group", "n"))])
    assert s.mask["n"].all()                            # not 4 apart: the group goes too
