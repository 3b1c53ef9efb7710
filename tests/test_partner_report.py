"""Partner Support Service report: counts on hand-made data, McNemar, disclosure, the notebook."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evallib import stats
from evallib.disclosure import DisclosureRule
from evallib.outcomes.partners import high_risk_table
from evallib.outputs import json_safe
from evallib.reports import partners as pr

OFF = DisclosureRule(threshold=0)
ON = DisclosureRule(threshold=5)

REFERRALS = [
    {"referral_id": f"R{i}", "person_id": f"P{i}", "referral_date": "2021-05-01", "district": "Blaby",
     "source": "self", "eligible": "yes", "children": kids}
    for i, kids in ((1, 2), (2, 0), (3, None), (4, 1), (5, 3))
]
EPISODES = [
    {"episode_id": "E1", "referral_id": "R1", "programme": "second_step", "start_date": "2021-06-01",
     "end_date": "2021-11-30", "status": "completed"},
    {"episode_id": "E2", "referral_id": "R2", "programme": "second_step", "start_date": "2021-06-01",
     "end_date": "2021-08-30", "status": "disengaged"},
    {"episode_id": "E3", "referral_id": "R3", "programme": "one_to_one", "start_date": "2021-06-01",
     "status": "ongoing"},
    # R4: no episode (not started)
    {"episode_id": "E5", "referral_id": "R5", "programme": "one_to_one", "start_date": "2021-06-01",
     "end_date": "2022-01-31", "status": "completed"},
]


def partner(pid, ref, offered="2021-07-01", **kw):
    return {"partner_id": pid, "referral_id": ref, "offered_date": offered, **kw}


# Six partners in 2021-22 whose every count is worked out by hand in the tests below.
PARTNERS = [
    partner("A", "R1", engaged="yes", contact_made="yes", support="multiple", dash_start=16, dash_end=8,
            feels_safer="yes", abuse_reduced="yes", outcome_coping="improved"),
    partner("B", "R1", engaged="yes", contact_made="yes", support="single", dash_start=12, dash_end=12,
            feels_safer="no", abuse_reduced="unknown", outcome_coping="no_change"),
    partner("C", "R2", engaged="no", contact_made="no", support="declined", dash_start=5,
            outcome_safety="no_change"),
    partner("D", "R3", engaged="yes", feels_safer="unknown", abuse_reduced="yes", outcome_coping="unknown"),
    partner("E", "R4", engaged="yes", contact_made="yes", support="multiple", dash_start=8, dash_end=15,
            feels_safer="yes", abuse_reduced="no", outcome_coping="deteriorated"),
    partner("F", "R5", engaged="yes", contact_made="yes", support="single", dash_start=14, dash_end=14,
            abuse_reduced="yes"),
    partner("G", "R5", offered="2023-01-01", engaged="yes", dash_start=20, dash_end=2, feels_safer="yes"),
]


@pytest.fixture
def hand(make_dataset):
    return make_dataset({"referrals": REFERRALS, "episodes": EPISODES, "partners": PARTNERS})


def counts(section: pr.Section, label_col: str, value_col: str) -> dict:
    return dict(zip(section.table[label_col], section.table[value_col], strict=True))


# -- the counts, by hand ------------------------------------------------------------------------


def test_engagement_counts_missing_as_not_recorded(hand):
    r = pr.build(hand, "2021-22", OFF)
    assert r.count("offered") == 6                      # G is outside the period
    e = counts(pr.engagement(r), "Measure", "Partners")
    assert e["Contact made"] == "4" and e["Contact not made"] == "1" and e["Contact not recorded"] == "1"
    assert e["Engaged (took up support at any stage)"] == "5" and e["Did not engage"] == "1"
    assert e["Support: declined"] == "1" and e["Support: a single incident of support"] == "2"
    assert e["Support: more than one incident of support"] == "2" and e["Support: not recorded"] == "1"
    pct = counts(pr.engagement(r), "Measure", "Percentage (95% interval)")
    lo, hi = stats.proportion_ci(4, 6)
    assert pct["Contact made"] == f"67% ({100 * lo:.0f}% to {100 * hi:.0f}%)"


def test_dash_cross_table_change_and_paired_table(hand):
    r = pr.build(hand, "2021-22", OFF)
    assert "cross" in r.dash_views
    x = r.cross_table
    assert x[("high", "standard")] == 1 and x[("medium", "medium")] == 1 and x[("standard", "missing")] == 1
    assert x[("missing", "missing")] == 1 and x[("standard", "high")] == 1 and x[("high", "high")] == 1
    assert sum(v for v in x.values()) == 6
    t = pr.dash_bands(r).table.set_index("First contact")
    assert t.loc["Not recorded", "Last: All"] == "1" and t.loc["All", "Last: Not recorded"] == "2"
    assert t.loc["All", "Last: All"] == "6"
    ch = counts(pr.risk_change(r), "Measure", "Partners")
    assert ch["Improved: lower band at last contact"] == "1"            # A
    assert ch["No change: same band"] == "2"                            # B, F
    assert ch["Deteriorated: higher band at last contact"] == "1"       # E
    assert ch["Not assessable: a score missing"] == "2"                 # C, D: never counted as unchanged
    # the 2x2 is the module's paired table: A high->not, F high->high, E not->high, B not->not
    test = pr.mcnemar_high_risk(r)
    assert test["table"] == high_risk_table(r.partners).tolist() == [[1, 1], [1, 1]]


def test_feels_safer_by_programme_and_missing_answers(hand):
    r = pr.build(hand, "2021-22", OFF)
    t = pr.feels_safer(r).table.set_index("Engaged partners")
    done = t.loc[pr.ANSWER_GROUPS["completed"]]     # A yes, B no, F not recorded
    assert (done["Number"], done["Yes"], done["No"], done["Unknown"], done["Not recorded"]) == \
        ("3", "1", "1", "0", "1")
    assert done["Yes, of those who answered"] == "1 of 2"
    other = t.loc[pr.ANSWER_GROUPS["other"]]        # D (ongoing) unknown, E (not started) yes
    assert (other["Number"], other["Yes"], other["Unknown"]) == ("2", "1", "1")
    allr = t.loc[pr.ANSWER_GROUPS["engaged"]]
    assert allr["Yes, of those who answered"] == "2 of 3" and allr["Not recorded"] == "1"
    res = pr.results(r)["feels_safer"]["engaged"]
    assert (res["count"], res["of"], res["unknown"], res["not_recorded"]) == (2, 3, 1, 1)
    assert res["rate"] == pytest.approx(2 / 3)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx(stats.proportion_ci(2, 3))
    ar = pr.abuse_reduced(r).table.set_index("Engaged partners").loc[pr.ANSWER_GROUPS["engaged"]]
    assert ar["Yes, of those who answered"] == "3 of 4" and ar["Unknown"] == "1"
    # the bounds over partners without an answer: 2 of 5 if none of them feel safer, 4 of 5 if all do
    assert "between 40% (if none" in pr.feels_safer(r).text and "and 80% (if all" in pr.feels_safer(r).text


def test_domains_and_children(hand):
    r = pr.build(hand, "2021-22", OFF)
    d = pr.domains(r).table.set_index("Domain")
    assert tuple(d.loc["Coping", ["Improved", "No change", "Deteriorated", "Assessed", "Unknown", "Not recorded"]]) \
        == ("1", "1", "1", "3", "1", "1")
    assert d.loc["Safety", "Not recorded"] == "5"     # C's answer is not counted: C did not engage ...
    assert "1 partners who did not engage nonetheless have an outcome recorded" in pr.domains(r).text  # ... but said
    c = counts(pr.children(r), "Measure", "Number")
    assert c["People whose (ex-)partner was offered support"] == "5"    # P1 counts once for A and B
    assert c["Number of children recorded"] == "4" and c["Number of children not recorded"] == "1"
    assert c["With at least one child, of those recorded"] == "3"
    assert c["Children (where the number is recorded)"] == "6"           # 2 + 0 + 1 + 3


# -- McNemar -------------------------------------------------------------------------------------


def paired(hh: int, hl: int, lh: int, ll: int) -> pd.DataFrame:
    """Partners with given moves between high risk (16) and standard (5)."""
    scores = [(16, 16)] * hh + [(16, 5)] * hl + [(5, 16)] * lh + [(5, 5)] * ll
    return pd.DataFrame([partner(f"X{i}", "R1", engaged="yes", dash_start=s, dash_end=e)
                         for i, (s, e) in enumerate(scores)])


def test_mcnemar_matches_stats_and_by_hand(make_dataset):
    ds = make_dataset({"referrals": REFERRALS, "episodes": EPISODES, "partners": paired(20, 15, 5, 30)})
    r = pr.build(ds, "2021-22", ON)
    test = pr.mcnemar_high_risk(r)
    ref = stats.mcnemar(np.array([[20, 15], [5, 30]]))
    assert test["shown"] and test["table"] == [[20, 15], [5, 30]]
    assert test["statistic"] == pytest.approx(ref.statistic) == pytest.approx((abs(15 - 5) - 1) ** 2 / 20)
    assert test["p_value"] == pytest.approx(ref.p_value) == pytest.approx(0.04417, abs=1e-4)
    text = pr.high_risk(r).text
    assert "chi-square = 4.05" in text and "more moved out of high risk than into it" in text
    assert pr.results(r)["dash"]["high_risk"]["mcnemar"]["p_value"] == pytest.approx(ref.p_value)


def test_mcnemar_not_shown_when_a_discordant_cell_is_small(make_dataset):
    ds = make_dataset({"referrals": REFERRALS, "episodes": EPISODES, "partners": paired(20, 15, 3, 30)})
    r = pr.build(ds, "2021-22", ON)
    test = pr.mcnemar_high_risk(r)
    assert not test["shown"] and test["statistic"] is None and test["p_value"] is None
    assert "not shown" in pr.high_risk(r).text.lower() and "chi-square" not in pr.high_risk(r).text
    assert r.count("hr.lower_high") is None
    # with suppression off the same data give the test
    assert pr.mcnemar_high_risk(pr.build(ds, "2021-22", OFF))["shown"]


# -- disclosure ----------------------------------------------------------------------------------

#: The cross-table cells each published DASH count adds up (restated here, independently).
_B = ("standard", "medium", "high")
_ALL = ("standard", "medium", "high", "missing")
_ORDER = {b: i for i, b in enumerate(_B)}
DASH_MEMBERS = {
    "offered": [(s, e) for s in _ALL for e in _ALL],
    **{f"dash.{s}.all": [(s, e) for e in _ALL] for s in _ALL},
    **{f"dash.all.{e}": [(s, e) for s in _ALL] for e in _ALL},
    "change.improved": [(s, e) for s in _B for e in _B if _ORDER[e] < _ORDER[s]],
    "change.no_change": [(s, s) for s in _B],
    "change.deteriorated": [(s, e) for s in _B for e in _B if _ORDER[e] > _ORDER[s]],
    "change.assessable": [(s, e) for s in _B for e in _B],
    "hr.high_high": [("high", "high")], "hr.high_lower": [("high", "standard"), ("high", "medium")],
    "hr.lower_high": [("standard", "high"), ("medium", "high")],
    "hr.lower_lower": [(s, e) for s in ("standard", "medium") for e in ("standard", "medium")],
}


def recoverable_small_dash_cells(r: pr.PartnerReport, threshold: int = 5) -> list:
    """Cross-table cells from 1 to threshold - 1 whose value follows from what is published."""
    cells = [(s, e) for s in _ALL for e in _ALL]
    truth = r.partners.assign(s=r.partners["band_start"].fillna("missing"), e=r.partners["band_end"].fillna("missing"))
    truth = truth.groupby(["s", "e"]).size()
    x = np.array([truth.get(c, 0) for c in cells], dtype=float)
    shown = {k: m for k, m in DASH_MEMBERS.items() if r.shown(k)}
    shown.update({f"cell{c}": [c] for c, v in r.cross_table.items() if v is not None})
    a = np.array([[1.0 if c in m else 0.0 for c in cells] for m in shown.values()])
    out = []
    for i, c in enumerate(cells):
        if not 1 <= x[i] < threshold:
            continue
        goal = np.eye(len(cells))[i]
        lo = linprog(goal, A_eq=a, b_eq=a @ x, bounds=(0, None), method="highs").fun
        top = linprog(-goal, A_eq=a, b_eq=a @ x, bounds=(0, None), method="highs")
        if top.status == 3:   # unbounded above: not recoverable
            continue
        if math.floor(-top.fun + 1e-6) - math.ceil(lo - 1e-6) < 1:
            out.append(c)
    return out


def test_small_cross_table_cell_not_recoverable_by_difference(make_dataset):
    # 2 partners move medium -> standard: improved (22) - high to lower (20) would give it away
    scores = [(16, 5)] * 10 + [(16, 11)] * 10 + [(11, 5)] * 2 + [(5, 5)] * 30 + [(16, 16)] * 10 + [(11, 11)] * 10
    rows = pd.DataFrame([partner(f"X{i}", "R1", engaged="yes", dash_start=s, dash_end=e)
                         for i, (s, e) in enumerate(scores)])
    r = pr.build(make_dataset({"referrals": REFERRALS, "episodes": EPISODES, "partners": rows}), "2021-22", ON)
    assert r.raw["offered"] == 72
    assert r.cross_table[("medium", "standard")] is None
    assert not (r.shown("change.improved") and r.shown("hr.high_lower"))
    assert recoverable_small_dash_cells(r) == []


def derivable_hidden_cells(r: pr.PartnerReport) -> list[str]:
    """Hidden cells whose value follows, by linear arithmetic, from everything shown.

    An independent audit over the whole report at once: every declared sum (across all
    tables), every shown count fixed, counts non-negative.
    """
    keys = list(r.raw.index)
    pos = {k: i for i, k in enumerate(keys)}
    hidden = [k for k in keys if not r.shown(k)]
    if not hidden:
        return []
    col = {k: j for j, k in enumerate(hidden)}
    value = r.raw.astype(float).to_dict()
    rows, rhs = [], []
    for total, members in r.relations:
        row, b = np.zeros(len(hidden)), 0.0
        for k, sign in [(total, -1.0), *[(m, 1.0) for m in members]]:
            if k in col:
                row[col[k]] += sign
            else:
                b -= sign * value[k]
        if row.any():
            rows.append(row)
            rhs.append(b)
    assert set(pos) >= {k for t, m in r.relations for k in (t, *m)}
    a, b = (np.array(rows), np.array(rhs)) if rows else (None, None)
    out = []
    for k, j in col.items():
        goal = np.eye(len(hidden))[j]
        lo = linprog(goal, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-goal, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        if hi.status != 3 and math.floor(-hi.fun + 1e-6) - math.ceil(lo.fun - 1e-6) < 1:
            out.append(k)
    return out


def test_no_hidden_count_derivable_from_all_tables_together(make_dataset):
    # two engaged partners of a completer: a small count shared by both answer tables
    rows = [partner(f"Y{i}", "R1" if i < 2 else "R4", engaged="yes", contact_made="yes", support="single",
                    dash_start=5, dash_end=5, feels_safer=["yes", "no", "unknown"][i % 3],
                    abuse_reduced=["yes", "unknown"][i % 2], outcome_coping="improved")
            for i in range(40)]
    r = pr.build(make_dataset({"referrals": REFERRALS, "episodes": EPISODES, "partners": rows}), "2021-22", ON)
    assert r.raw["grp.completed"] == 2 and not r.shown("grp.completed")
    assert derivable_hidden_cells(r) == []


def random_partners(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """A partners frame (as ``partner_frame`` makes it) with random answers: small counts everywhere."""
    from evallib.outcomes.partners import dash_band

    def pick(levels, probs):
        return pd.array(rng.choice(np.array(levels, dtype=object), n, p=probs), dtype="string")

    answers, domain = (["yes", "no", "unknown", None], [.6, .15, .15, .1]), \
        (["improved", "no_change", "deteriorated", "unknown", None], [.5, .2, .1, .1, .1])
    p = pd.DataFrame({
        "partner_id": [f"X{i}" for i in range(n)], "referral_id": [f"R{i}" for i in range(n)],
        "offered_date": pd.Timestamp("2021-07-01"),
        "contact_made": pd.array(rng.random(n) < .9, dtype="boolean"),
        "support": pick(["declined", "single", "multiple", None], [.2, .3, .4, .1]),
        "engaged": pd.array(rng.random(n) < .8, dtype="boolean"),
        "dash_start": pd.array(rng.integers(0, 20, n), dtype="Int64"),
        "dash_end": pd.array(np.where(rng.random(n) < .2, -1, rng.integers(0, 20, n)), dtype="Int64"),
        "feels_safer": pick(*answers), "abuse_reduced": pick(*answers),
        **{c: pick(*domain) for c in ("outcome_coping", "outcome_safety", "outcome_mental_health",
                                       "outcome_confidence")},
        "person_id": [f"P{i}" for i in range(n)], "district": "Blaby",
        "children": pd.array(rng.integers(0, 3, n), dtype="Int64"),
        "programme_status": pick(["completed", "not_completed", "ongoing", "not_started"], [.3, .2, .2, .3]),
    })
    p.loc[p["dash_end"] < 0, "dash_end"] = pd.NA
    p["band_start"], p["band_end"] = dash_band(p["dash_start"]), dash_band(p["dash_end"])
    return p


def test_no_hidden_count_derivable_in_random_small_reports():
    """Tables that share a total hidden in one of them are protected together (else this fails)."""
    rng = np.random.default_rng(0)
    for n in rng.integers(8, 60, size=24):
        r = pr.from_partners(random_partners(rng, int(n)), ON, "2021-22")
        assert derivable_hidden_cells(r) == [], n
        assert recoverable_small_dash_cells(r) == [], n


INTEGER = re.compile(r"(?<![\d.])\d[\d,]*(?![\d.%])")
LABELS = {"Measure", "First contact", "Engaged partners", "Domain", "", "measure", "first_contact", "group", "domain"}


def small_counts_in(section: pr.Section) -> list:
    found = []
    for frame in (section.table, section.data):
        for col in frame.columns:
            if col in LABELS or pd.api.types.is_float_dtype(frame[col]):
                continue
            for cell in frame[col].dropna().astype(str):
                if "%" in cell:
                    continue
                found += [(section.name, col, cell) for n in INTEGER.findall(cell) if 1 <= int(n.replace(",", "")) <= 4]
    text = re.sub(r"95% interval|\d+%|DASH 14\+|\(0-9\)|\(10-13\)|\(14\+\)|from 1 to \d|1 degree|chi-square = [\d.]+"
                  r"|p [=<] [\d.]+", "", section.text)
    found += [(section.name, "text", n) for n in INTEGER.findall(text) if 1 <= int(n.replace(",", "")) <= 4]
    return found


def ints_in(obj, skip=("suppression_threshold", "df")):
    if isinstance(obj, dict):
        return [v for k, val in obj.items() if k not in skip for v in ints_in(val, skip)]
    if isinstance(obj, list):
        return [v for val in obj for v in ints_in(val, skip)]
    return [obj] if isinstance(obj, int) and not isinstance(obj, bool) else []


SECTIONS = (pr.engagement, pr.dash_bands, pr.risk_change, pr.high_risk, pr.feels_safer, pr.abuse_reduced,
            pr.domains, pr.children)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from evallib.schemas import load_dataset
    from evallib.synthetic.demo import write_demo

    folder = tmp_path_factory.mktemp("demo") / "demo-data"
    write_demo(folder)
    return load_dataset(folder)


@pytest.mark.parametrize("period", ["2021-22", "2021-22Q2", "2022-04-01..2022-11-30"])
def test_no_count_from_1_to_4_in_anything_published(demo, period):
    r = pr.build(demo, period, ON)
    assert (r.raw.between(1, 4)).any()                  # there is something to protect
    found = [hit for f in SECTIONS for hit in small_counts_in(f(r))]
    assert found == []
    assert [v for v in ints_in(json_safe(pr.results(r))) if 1 <= v <= 4] == []
    assert [v for v in r.cross_table.values() if v is not None and 1 <= v <= 4] == []
    assert recoverable_small_dash_cells(r) == []
    assert derivable_hidden_cells(r) == []
    for fig in (pr.key_rates_figure(r), pr.dash_figure(r), pr.domain_figure(r)):
        fig.figure.clf()
        alt = re.sub(r"95% interval|\d+%|\(0-9\)|\(10-13\)|\(14\+\)", "", fig.alt)
        assert [n for n in INTEGER.findall(alt) if 1 <= int(n.replace(",", "")) <= 4] == []


def test_the_small_count_check_can_fail(demo):
    """The same checks find small counts when suppression is off (so they are not vacuous)."""
    r = pr.build(demo, "2021-22Q2", OFF)
    assert [hit for f in SECTIONS for hit in small_counts_in(f(r))]
    assert recoverable_small_dash_cells(r)


def test_rounding_and_banner(hand):
    off = pr.build(hand, "2021-22", OFF)
    assert "NOT FOR PUBLICATION: small-number suppression is off" in pr.heading(off)
    on = pr.build(hand, "2021-22", ON)
    assert "NOT FOR PUBLICATION" not in pr.heading(on) and "1 April 2021" in pr.heading(on)
    # six partners: the total is shown, every count from 1 to 4 hidden, zeros shown
    assert on.count("offered") == 6 and on.count("contact.nr") is None
    assert pr.engagement(on).table["Partners"].isin(["[c]", "0", "6"]).all()
    rounded = pr.build(hand, "2021-22", DisclosureRule(threshold=0, round_to=5))
    assert rounded.count("offered") == 5 and rounded.count("engaged.yes") == 5


def test_results_are_json_safe_and_leave_the_headline_alone(hand):
    res = json_safe(pr.results(pr.build(hand, "2021-22", OFF)))
    json.dumps(res, allow_nan=False)
    assert "headline" not in res
    assert res["offered"] == 6 and res["engagement"]["engaged"]["count"] == 5
    assert res["dash"]["risk_change"]["not_assessable"]["count"] == 2
    assert res["children"]["children_known"] == 6


def test_no_partners_table(make_dataset):
    ds = make_dataset({"referrals": REFERRALS, "episodes": EPISODES})
    r = pr.build(ds, "2021-22", ON)
    assert "No partners table was supplied" in pr.heading(r)
    assert r.count("offered") == 0
    for f in SECTIONS:
        f(r)
    assert pr.results(r)["feels_safer"]["engaged"]["rate"] is None


# -- the notebook, end to end --------------------------------------------------------------------


def test_notebook_runs_on_the_demo_data(tmp_path):
    from evallib.runner import execute, plan
    from evallib.synthetic.demo import write_demo

    data, out = tmp_path / "demo-data", tmp_path / "out"
    write_demo(data)
    jobs = plan(notebooks=["partner_outcomes"], areas=["leicestershire"], periods=["2021-22"], data=data, out=out)
    report = execute(jobs, progress=False)
    assert report.ok, report.to_text()
    folder = out / "leicestershire" / "2021-22" / "partner_outcomes"
    names = {p.stem for p in (folder / "tables").glob("*.csv")}
    assert names == {f"partner_{n}" for n in ("engagement", "dash_bands", "risk_change", "high_risk",
                                               "feels_safer", "abuse_reduced", "domains", "children")}
    eng = pd.read_csv(folder / "tables" / "partner_engagement.csv", dtype={"count": str, "of": str})
    assert list(eng.columns) == ["measure", "count", "of", "rate", "ci_low", "ci_high"]
    assert eng.loc[eng["measure"] == "Offered support", "count"].item() == "246"
    for csv in (folder / "tables").glob("*.csv"):
        df = pd.read_csv(csv, dtype=str)
        for col in df.columns:
            if col in LABELS or col in ("rate", "ci_low", "ci_high") or col.endswith(("_rate", "_ci_low", "_ci_high")):
                continue
            vals = pd.to_numeric(df[col].str.replace(",", ""), errors="coerce").dropna()
            assert not vals.between(1, 4).any(), f"{csv.name}:{col}"
    results = json.loads((folder / "results.json").read_text())
    assert results["partner_outcomes"]["offered"] == 246
    assert results["headline"].startswith("Partner Support Service: 246 partners offered support; ")
    assert results["for_publication"] is True and results["synthetic"] is True
    html = (folder / "partner_outcomes.html").read_text()
    assert "Traceback" not in html and "Warning" not in html and "import " not in html
    assert "partner_report." not in html and "In&nbsp;[" not in html
    assert "NOT FOR PUBLICATION" not in html
    assert len(re.findall(r'<img [^>]*alt="[^"]{40,}"', html)) == 3
    assert "95 per cent of survivors" in html and "Wilson" in html
