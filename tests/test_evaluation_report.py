"""The evaluation report's sections: wording conventions, disclosure, adjusted estimates."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from evallib.present import safe_text
from evallib.reports import evaluation
from evallib.reports.evaluation import (
    adjusted,
    before_after,
    groups,
    sensitivity,
    summary,
    time_to_event,
)
from evallib.schemas import load_dataset
from evallib.synthetic.demo import generate_demo, write_dataset, write_demo
from evallib.synthetic.model import TrueEffects

PERIOD = "2021-04-01..2022-11-30"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder)
    return load_dataset(folder)


@pytest.fixture(scope="module")
def large_effect(tmp_path_factory):
    """3,000 referrals with a large true effect of completing (log-odds -2)."""
    tables, meta = generate_demo(n_people=3000, effects=TrueEffects(log_odds_any=-2.0, log_odds_da=-2.0))
    folder = tmp_path_factory.mktemp("large")
    write_dataset(tables, meta, folder)
    return load_dataset(folder)


def test_demo_comparison_is_called_inconclusive(demo):
    ev = evaluation.evaluate(demo, PERIOD, suppress_below=0)
    w = evaluation.wording(ev, "any")
    assert w.verdict == "inconclusive" and not w.significant
    text = summary.summary_markdown(ev)
    assert "should not be taken to mean that it has no effect" in text
    assert "no effect" not in text.replace("should not be taken to mean that it has no effect", "")
    assert "could have been reliably detected" in text   # the minimum detectable difference


def test_large_effect_is_called_significant(large_effect):
    ev = evaluation.evaluate(large_effect, "2021-04-01..2022-11-30")
    w = evaluation.wording(ev, "any")
    assert w.verdict == "significant_reduction" and w.significant
    assert "statistically significant" in summary.summary_markdown(ev)
    adj = adjusted.adjusted_estimates(ev, "any")
    assert adj.logistic is not None and adj.logistic["odds_ratio"] < 1 and adj.logistic["p_value"] < 0.05
    assert adj.propensity is not None and adj.propensity.difference < 0
    table = adjusted.adjusted_table(ev, ev.comparisons["any"], adj)
    assert len(table) == 3 and "Propensity" in table["Estimate"].iloc[2]
    assert "conclusion" in adjusted.conclusion_sentence(ev.comparisons["any"], adj)
    bal = adjusted.balance_display(ev, adj)
    assert {"Characteristic", "|SMD| before", "|SMD| after weighting"} <= set(bal.columns)
    assert adjusted.overlap_figure(ev, adj) is not None
    tte = time_to_event.time_to_event(ev, "any")
    assert tte.logrank is not None and tte.cox is not None and tte.enough_events
    assert tte.cox["hazard_ratio"] < 1


SMALL = re.compile(r"(?<![\d.])[1-4](?![\d.%])")


def _cells(df):
    return [str(v) for v in df.drop(columns=[c for c in df.columns if c in ("Characteristic", "Group", "Span",
                                                                           "Analysis", "Measure", "Covariate")]).to_numpy().ravel()]


def test_published_tables_show_no_small_count(demo):
    ev = evaluation.evaluate(demo, PERIOD)
    for df in (groups.table_one(ev), before_after.before_after_table(ev)):
        for cell in _cells(df):
            count = cell.split(" (")[0]
            assert not SMALL.fullmatch(count), f"small count {cell!r} published"
    flow = evaluation.published_flow(ev)
    assert not flow["People"].isin(["1", "2", "3", "4"]).any()
    risk = time_to_event.at_risk_table(time_to_event.time_to_event(ev), 3, ev.rule)
    for cell in _cells(risk.drop(columns="Still followed")):
        assert not SMALL.fullmatch(cell)


def test_table_one_shows_the_selection(large_effect):
    ev = evaluation.evaluate(large_effect, PERIOD)
    t1 = groups.table_one(ev).set_index("Characteristic")
    assert any(c.startswith("Completers (n = ") for c in t1.columns)
    high_smd = float(t1.loc["  high", "SMD"])
    assert high_smd < -0.1          # completers are less often high risk: confounding is visible


def test_sensitivity_has_holm_and_four_rows(large_effect):
    ev = evaluation.evaluate(large_effect, PERIOD)
    s = sensitivity.sensitivity_table(ev)
    assert len(s) == 4 and "Holm-adjusted p" in s.columns
    raw = [float(x) for x in s["p-value"] if x]
    holm = [float(x) for x in s["Holm-adjusted p"] if x]
    assert all(h >= r - 1e-12 for h, r in zip(holm, raw, strict=True))


def test_headline_table_layout(large_effect):
    ev = evaluation.evaluate(large_effect, PERIOD)
    head = summary.headline_table(ev, time_to_event.time_to_event(ev))
    assert list(head.columns) == ["Measure", "Completers", "Non-completers", "Difference", "Significant", "p-value"]
    assert head["Difference"].iloc[0].endswith("percentage points")
    assert len(head) == 4


def test_messages_never_carry_counts():
    assert safe_text("Only 13 people in the smaller outcome group", 5) == "Few people in the smaller outcome group"
    assert "6" not in safe_text("6 treated people have scores outside the range", 5)
    assert safe_text("Only 13 people", 0) == "Only 13 people"   # suppression off: left as it is


def test_rules_are_not_counts():
    """A threshold in a message is nobody's count: "fewer than 10 events per term" stays whole."""
    msg = "Only 13 events for 8 term(s): fewer than 10 events per term, so estimates may be unstable."
    assert safe_text(msg, 5) == "Few events for 8 term(s): fewer than 10 events per term, so estimates may be unstable."
    assert safe_text("Models need at least 10 people in each group", 5) == "Models need at least 10 people in each group"
    assert safe_text("There are 12 people, fewer than 20 events", 5) == "There are some people, fewer than 20 events"


def test_model_messages_in_plain_words():
    from evallib.reports.evaluation.words import note_text

    text = note_text("After adjustment some covariates remain imbalanced (|SMD| >= 0.1): risk_level[high], "
                     "prior_da_incidents, age. The adjusted comparison may still be biased by them.", 5)
    assert "risk level: high; police domestic-abuse incidents before referral; age." in text
    text = note_text("Only 13 events for 8 term(s): fewer than 10 events per term (Peduzzi et al. 1995).", 5)
    assert text == ("Few proven reoffences for 8 characteristics allowed for (each category counts as one): "
                    "fewer than 10 per characteristic (Peduzzi et al. 1995).")
    text = note_text("6 treated people have propensity scores outside the range of the comparison group.", 5)
    assert text == "Some completers have estimated chances of completing outside the range of the non-completers."
    for jargon in ("_", "[", "term", "treated", "comparison group", "covariate"):
        assert jargon not in text


def test_not_for_publication_banner_when_suppression_off(demo):
    assert "NOT FOR PUBLICATION" in evaluation.cover_html(evaluation.evaluate(demo, "2021-22", suppress_below=0))
    assert "NOT FOR PUBLICATION" not in evaluation.cover_html(evaluation.evaluate(demo, "2021-22"))


@pytest.mark.parametrize("period", ["2021-22", PERIOD])
def test_every_section_shows_the_same_group_sizes(demo, period):
    """Two published sizes of one group that differ by a small count would give it away."""
    ev = evaluation.evaluate(demo, period)
    flow = evaluation.published_flow(ev).set_index("Stage")
    sizes = {"completed": set(), "not_completed": set()}
    for g, stage in (("completed", "Completers analysed"), ("not_completed", "Non-completers analysed")):
        sizes[g].add(flow.loc[stage, "People"] if isinstance(flow.loc[stage, "People"], str)
                     else flow.loc[stage, "People"].iloc[0])
        rates = evaluation.published_rate_table(ev, "any").set_index("group")
        sizes[g].add("[c]" if pd.isna(rates.loc[g, "n"]) else str(int(rates.loc[g, "n"])))
    header = [c for c in groups.table_one(ev).columns if "(n = " in c]
    sizes["completed"].add(header[0].split("(n = ")[1].rstrip(")"))
    sizes["not_completed"].add(header[1].split("(n = ")[1].rstrip(")"))
    risk = time_to_event.at_risk_table(time_to_event.time_to_event(ev), 3, ev.rule).set_index("Still followed")
    sizes["completed"].add(str(risk.loc["Completers", "0 months"]))
    sizes["not_completed"].add(str(risk.loc["Non-completers", "0 months"]))
    for g, seen in sizes.items():
        numbers = {s for s in seen if s != "[c]"}
        assert len(numbers) <= 1, f"{g}: sizes {seen} differ between sections"


def test_a_small_group_is_hidden_everywhere_with_its_complement(demo):
    # the demo's 2021-22 starters: 39 completers and 4 non-completers analysed (issue 13)
    ev = evaluation.evaluate(demo, "2021-22")
    raw = evaluation.rate_table(ev).set_index("group")["n"]
    assert 1 <= raw["not_completed"] < 5 <= raw["completed"]
    flow = evaluation.published_flow(ev).set_index("Stage")
    assert flow.loc["Non-completers analysed", "People"] == flow.loc["Completers analysed", "People"] == "[c]"
    res = evaluation.results_json(ev)
    for variant in res["outcomes"].values():
        assert "p_value" not in variant
        assert all(g["n"] is None and g["rate"] is None for g in variant["groups"].values())
    t1 = groups.table_one(ev)
    assert [c for c in t1.columns if "(n = [c])" in c] == ["Completers (n = [c])", "Non-completers (n = [c])"]
    assert not t1["SMD"].str.match(r"^[+-]\d").any()
    tte = time_to_event.time_to_event(ev)
    assert tte.logrank is None and tte.cox is None and tte.monthly["survival"].isna().all()
    assert (time_to_event.at_risk_table(tte, 3, ev.rule).iloc[:, 1:] == "[c]").all().all()
    text = time_to_event.time_to_event_text(tte)
    assert "Log-rank" not in text and "hazard ratio" not in text
    ba = before_after.before_after_table(ev).drop(columns=["Group", "Span"])
    assert (ba == "[c]").all().all()                       # not even "0 incidents after exit"
    head = summary.headline_table(ev, tte)
    assert (head["p-value"] == "").all() and set(head["Completers"]) == {"[c]"}
    sens = sensitivity.sensitivity_table(ev)
    assert (sens["Completers"] == "[c]").all() and (sens["p-value"] == "").all()
    adj = adjusted.adjusted_estimates(ev)
    assert adj.withheld and adj.logistic is None and adj.propensity is None
    assert adjusted.balance_display(ev, adj) is None and adjusted.overlap_figure(ev, adj) is None
    sentence = adjusted.conclusion_sentence(None, adj, tte)
    assert sentence in summary.summary_markdown(ev, sentence) and "not shown" in sentence
    assert res["adjusted"]["conclusion"] == sentence


def test_summary_names_the_cox_model_when_it_is_the_only_adjusted_estimate(large_effect):
    ev = evaluation.evaluate(large_effect, PERIOD)
    tte = time_to_event.time_to_event(ev)
    assert tte.cox is not None
    none = adjusted.Adjusted("any", [], 0, 0)               # neither logistic nor propensity could be fitted
    assert "section 5" in adjusted.conclusion_sentence(None, none, tte)
    assert "No adjusted estimate could be made" in adjusted.conclusion_sentence(None, none)


def test_figures_fit_an_a4_page_at_their_own_size(demo):
    """Each figure, as embedded (SVG, bounding box drawn tight around everything), is no
    wider than an A4 page's text (184 mm = 521.6 pt), so its type prints at its own size;
    its words stay text; its title wraps inside the plot."""
    from evallib import figures, present

    ev = evaluation.evaluate(demo, "2021-04-01..2022-11-30")
    tte = time_to_event.time_to_event(ev, "any")
    made = {
        "flow": figures.flow_diagram(evaluation.published_flow(ev)),
        "rates": figures.rate_intervals(evaluation.published_rate_table(ev, "any"),
                                        title=evaluation.figure_title(ev, "any")),
        "km": time_to_event.km_figure(tte, title="After 12 months, 78% of completers and 54% of non-completers "
                                                 "had no proven reoffence", rule=ev.rule),
    }
    import base64

    for name, fig in made.items():
        title = fig.axes[0].get_title(loc="left")
        assert all(len(line) <= 75 for line in title.splitlines()), (name, title)
        page = present.figure_html(fig, alt="a figure for the test, with a long enough alt text")
        svg = base64.b64decode(re.search(r'base64,([^"]+)"', page).group(1)).decode()
        width = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', svg).group(1))
        assert width <= 184 / 25.4 * 72, f"{name}: {width:.0f} pt wide, more than A4's text width"
        assert "<text" in svg, f"{name}: words drawn as paths, not text"
