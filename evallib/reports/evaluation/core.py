"""Completers versus non-completers: cohorts, outcomes and statistics assembled for a report.

This is the seam between the person-level frames (which never leave the machine) and
what a report shows: group-level tables with their n, rates with intervals, and the
comparison, each passed through disclosure control before anything is published.
A notebook calls :func:`evaluate` once and shows what it returns.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

import evallib
from evallib import stats
from evallib.cohorts import COMPLETED, GROUP_LABELS, NOT_COMPLETED, Cohort, build_cohort
from evallib.disclosure import DisclosureRule, suppress
from evallib.outcomes.reoffending import OUTCOME_LABELS, countable_flow, evaluation_frame
from evallib.params import OutcomeSettings, Period, parse_period
from evallib.schemas import Dataset

__all__ = [
    "Evaluation", "evaluate", "rate_table", "published_rate_table", "disclosure_rule", "results_json",
    "published_flow", "wording", "figure_title", "figure_alt",
    "OUTCOME_LABELS", "headline", "flow_alt", "cover_html", "methods_markdown",
]

COMPARED = (COMPLETED, NOT_COMPLETED)


@dataclass
class Evaluation:
    """Everything one completers-versus-non-completers report needs.

    ``frame`` is person-level (one row per person, with outcomes): use it for
    statistics, never publish it. ``flow`` is the full record flow with counts.
    """

    dataset: Dataset
    period: Period
    settings: OutcomeSettings
    cohort: Cohort
    frame: pd.DataFrame
    flow: pd.DataFrame
    rule: DisclosureRule
    comparisons: dict[str, object] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    def analysed(self, variant: str = "any") -> pd.DataFrame:
        """Completers and non-completers whose outcome is countable: the people analysed.

        Every section of a report uses these people (plus, in table one, those referred
        and not started), so that no two published group sizes differ by a small count.
        """
        f = self.frame
        return f[f["group"].isin(COMPARED) & f["countable"].fillna(False).astype(bool)]


def disclosure_rule(ds: Dataset, suppress_below: int | None = None) -> DisclosureRule:
    """The area's disclosure rule, with an optional command-line threshold override.

    ``suppress_below`` of ``None`` or a negative number means "use the area's setting".
    """
    d = ds.area.disclosure
    threshold = d.threshold if suppress_below is None or suppress_below < 0 else suppress_below
    return DisclosureRule(threshold=threshold, round_to=d.round_to)


def evaluate(ds: Dataset, period: Period | str, settings: OutcomeSettings | None = None,
             suppress_below: int | None = None, cohort: Cohort | None = None) -> Evaluation:
    """Build cohorts, attach outcomes and compare completers with non-completers.

    ``cohort``: the period's cohort already built (e.g. by the main analysis), reused
    under ``settings`` instead of being built again.
    """
    period = parse_period(period)
    settings = settings or ds.area.outcomes
    if cohort is not None and cohort.period == period:
        cohort = cohort.with_settings(settings)
    else:
        cohort = build_cohort(ds, period, settings)
    frame = evaluation_frame(ds, cohort)
    flow = countable_flow(cohort, frame)
    ev = Evaluation(ds, period, settings, cohort, frame, flow, disclosure_rule(ds, suppress_below))
    for variant in OUTCOME_LABELS:
        counts = _group_counts(ev, variant)
        c, n = counts.loc[COMPLETED, ["reoffenders", "n"]]
        c0, n0 = counts.loc[NOT_COMPLETED, ["reoffenders", "n"]]
        if n > 0 and n0 > 0:
            ev.comparisons[variant] = stats.compare_proportions(int(c), int(n), int(c0), int(n0))
    return ev


def _group_counts(ev: Evaluation, variant: str) -> pd.DataFrame:
    a = ev.analysed(variant)
    col = a[f"reoffended_{variant}"].astype(bool)
    g = pd.DataFrame({"n": a.groupby("group").size(), "reoffenders": col.groupby(a["group"]).sum()})
    return g.reindex(list(COMPARED)).fillna(0).astype(int)


def rate_table(ev: Evaluation, variant: str = "any", alpha: float = 0.05) -> pd.DataFrame:
    """Per group: n analysed, reoffenders, rate and its Wilson interval (unsuppressed)."""
    g = _group_counts(ev, variant)
    rows = []
    for group, r in g.iterrows():
        n, k = int(r["n"]), int(r["reoffenders"])
        lo, hi = stats.proportion_ci(k, n, alpha=alpha) if n else (np.nan, np.nan)
        rows.append({"group": group, "label": GROUP_LABELS[group], "n": n, "reoffenders": k,
                     "rate": k / n if n else np.nan, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def published_rate_table(ev: Evaluation, variant: str = "any") -> pd.DataFrame:
    """:func:`rate_table` after disclosure control: what a report may show (see below)."""
    key = ("rates", variant)
    if key not in ev._cache:   # disclosure control solves LPs: do it once per report
        ev._cache[key] = _published_rate_table(ev, variant)
    return ev._cache[key].copy()


def _published_rate_table(ev: Evaluation, variant: str) -> pd.DataFrame:
    """:func:`rate_table` after disclosure control: what a report may show.

    The counts published are n, reoffenders and (implicitly, as n - reoffenders) those
    who did not reoffend; all three are protected together, and a rate or interval is
    shown only when its counts are.
    """
    t = rate_table(ev, variant).set_index("group")
    t["not_reoffending"] = t["n"] - t["reoffenders"]
    s = suppress(t, ev.rule, count_columns=["reoffenders", "not_reoffending", "n"],
                 column_totals={"n": ["reoffenders", "not_reoffending"]})
    out = s.values.copy()
    hidden = s.mask[["reoffenders", "n"]].any(axis=1)
    for c in ("rate", "ci_low", "ci_high"):
        out[c] = out[c].astype("Float64").mask(hidden)
    out.attrs["footnote"] = s.footnote
    return out.drop(columns=["not_reoffending"]).reset_index()


def results_json(ev: Evaluation) -> dict:
    """The machine-readable headline of a report (``results.json``), disclosure-controlled."""
    if "results" not in ev._cache:   # read by several sections: computed once
        ev._cache["results"] = _results_json(ev)
    return copy.deepcopy(ev._cache["results"])


def _results_json(ev: Evaluation) -> dict:
    """The machine-readable headline of a report (``results.json``), disclosure-controlled."""
    ds = ev.dataset
    out = {
        "area": ds.area.name, "area_name": ds.area.display_name,
        "period": ev.period.label, "period_title": ev.period.title,
        "extract_date": ds.meta.extract_date, "police_extract_date": ds.meta.police_extract_date,
        "dataset_fingerprint": ds.fingerprint, "evallib_version": evallib.__version__,
        "run_date": date.today(),
        "settings": {**ev.settings.model_dump(), "suppression_threshold": ev.rule.threshold},
        "outcomes": {},
    }
    for variant, label in OUTCOME_LABELS.items():
        t = published_rate_table(ev, variant).set_index("group")
        entry = {"label": label, "groups": {}}
        for g in COMPARED:
            r = t.loc[g]
            entry["groups"][g] = {
                "label": GROUP_LABELS[g], "n": _num(r["n"]), "reoffenders": _num(r["reoffenders"]),
                "rate": _num(r["rate"]), "ci_low": _num(r["ci_low"]), "ci_high": _num(r["ci_high"]),
            }
        cmp_ = ev.comparisons.get(variant)
        if cmp_ is not None and not t[["n", "reoffenders"]].isna().any().any():
            entry["difference"] = float(cmp_.difference)
            entry["difference_ci"] = [float(x) for x in cmp_.difference_ci]
            entry["p_value"] = float(cmp_.p_value)
            entry["test"] = cmp_.test
        out["outcomes"][variant] = entry
    out["headline"] = headline(out)
    return out


def headline(results: dict) -> str:
    """One sentence for the index page, from the published (disclosure-controlled) results."""
    g = results["outcomes"]["any"]["groups"]

    def part(v):
        if v["rate"] is None:
            return f"{v['label'].lower()} not shown (small numbers)"
        return f"{v['label'].lower()} {100 * v['rate']:.0f}% (n = {v['n']})"

    months = results["settings"]["window_months"]
    window = "One-year" if months == 12 else f"{months}-month"
    return (f"{window} proven reoffending, {results['period_title']}: "
            f"{part(g['completed'])}; {part(g['not_completed'])}.")


def _num(v):
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return float(v) if isinstance(v, (float, np.floating)) else int(v)


def published_flow(ev: Evaluation) -> pd.DataFrame:
    """The record flow with small counts suppressed, protecting the flow's own sums.

    The flow's arithmetic is declared to disclosure control (each stage's kept count is
    the next stage's total plus its exclusions), so a hidden count cannot be recovered by
    subtraction.
    """
    f = ev.flow.reset_index(drop=True).copy()
    f.index = [f"r{i}" for i in range(len(f))]
    stages = list(dict.fromkeys(f["stage"]))

    def rows(stage, step):
        return [(r, "n") for r in f.index[(f["stage"] == stage) & (f["step"] == step)]]

    starters_stage = next(s for s in stages if s.startswith("Starters"))
    # each stage's kept count = its exclusions + the stage(s) it feeds
    feeds = {
        "People referred in the period or starting in it": [starters_stage],
        starters_stage: ["Completers analysed", "Non-completers analysed"],
    }
    equations = []
    for stage, nxt in feeds.items():
        if stage in stages and all(n in stages for n in nxt):
            parts = rows(stage, "excluded") + [c for n in nxt for c in rows(n, "kept")]
            equations.append((rows(stage, "kept")[0], parts))
    valid = [e for e in equations if f.loc[e[0][0], "n"] == sum(f.loc[r, "n"] for r, _ in e[1])]
    s = suppress(f, ev.rule, count_columns=["n"], equations=valid)
    out = s.display()
    out["step"] = out["step"].map({"kept": "", "excluded": "set aside"})
    return out.rename(columns={"stage": "Stage", "step": "Step", "n": "People", "reason": "Reason"})


def wording(ev: Evaluation, variant: str = "any"):
    """Justice Data Lab wording for one outcome, or ``None`` when its counts are not publishable."""
    res = results_json(ev)["outcomes"][variant]
    if "difference" not in res:
        return None
    a = _group_counts(ev, variant)
    return stats.describe_comparison(
        int(a.loc[COMPLETED, "reoffenders"]), int(a.loc[COMPLETED, "n"]),
        int(a.loc[NOT_COMPLETED, "reoffenders"]), int(a.loc[NOT_COMPLETED, "n"]),
        outcome=f"the {_window_words(ev)} {OUTCOME_LABELS[variant].lower()} rate",
        event=f"committed a proven{' domestic-abuse related' if variant == 'da' else ''} reoffence "
              f"within {_window_words(ev, noun=True)}",
        group1="people who completed the programme", group0="people who did not complete it",
    )


def _window_words(ev: Evaluation, noun: bool = False) -> str:
    m = ev.settings.window_months
    if m % 12 == 0:
        y = m // 12
        return ("one year" if y == 1 else f"{y} years") if noun else ("one-year" if y == 1 else f"{y}-year")
    return f"{m} months" if noun else f"{m}-month"


def figure_title(ev: Evaluation, variant: str) -> str:
    res = results_json(ev)["outcomes"][variant]
    g = res["groups"]
    if g["completed"]["rate"] is None or g["not_completed"]["rate"] is None:
        return OUTCOME_LABELS[variant]
    return (f"{OUTCOME_LABELS[variant]}: completers {100 * g['completed']['rate']:.0f}%, "
            f"non-completers {100 * g['not_completed']['rate']:.0f}%")


def figure_alt(ev: Evaluation, variant: str) -> str:
    g = results_json(ev)["outcomes"][variant]["groups"]
    parts = []
    for v in g.values():
        if v["rate"] is None:
            parts.append(f"{v['label']}: not shown (small numbers)")
        else:
            parts.append(f"{v['label']}: {100 * v['rate']:.0f}% of {v['n']} "
                         f"(95% interval {100 * v['ci_low']:.0f}% to {100 * v['ci_high']:.0f}%)")
    return f"Dot and interval chart of {OUTCOME_LABELS[variant].lower()}. " + "; ".join(parts) + "."


def flow_alt(flow: pd.DataFrame) -> str:
    """Alt text for the flow diagram: every stage with its (published) count."""
    parts = [f"{r['Stage']}{' (set aside, ' + r['Reason'] + ')' if r['Step'] else ''}: {r['People']}"
             for _, r in flow.iterrows()]
    return "Flow diagram from records supplied to records analysed. " + "; ".join(parts) + "."


def cover_html(ev: Evaluation) -> str:
    """The cover and provenance block: what was analysed, from which data, with which settings."""
    import html as _html

    ds, s = ev.dataset, ev.settings
    from evallib.present import publication_banner

    banner = publication_banner(ev.rule)
    rows = [
        ("Area", ds.area.display_name), ("Period (programme starts)", ev.period.title),
        ("Case data extracted", f"{ds.meta.extract_date:%d %B %Y}"),
        ("Police data extracted", f"{ds.police_extract_date:%d %B %Y}" if "police" in ds.present else "not supplied"),
        ("Dataset fingerprint (SHA-256 of the input files)", ds.fingerprint),
        ("evallib version", evallib.__version__), ("Report run on", f"{date.today():%d %B %Y}"),
        ("Proven reoffending window", f"{s.window_months} months from the {s.index_date} date"),
        ("Waiting period", f"{s.waiting_months} months"),
        ("Small-number suppression", f"counts below {ev.rule.threshold} suppressed" if ev.rule.active else "off"),
    ]
    if ds.meta.synthetic:
        rows.append(("Data", "SYNTHETIC demonstration data: not real people"))
    body = "".join(f"<tr><th style='text-align:left;padding:2px 12px 2px 0'>{_html.escape(k)}</th>"
                   f"<td style='padding:2px 0;word-break:break-all'>{_html.escape(str(v))}</td></tr>" for k, v in rows)
    return (f"{banner}<h1>{_html.escape(ds.area.display_name)}: completers versus non-completers</h1>"
            f"<p style='font-size:1.15em'>Proven reoffending evaluation, programme starts {_html.escape(ev.period.title)}</p>"
            f"<table style='font-size:0.9em;border-collapse:collapse'>{body}</table>")


def methods_markdown(ev: Evaluation) -> str:
    """Definitions, methods and this dataset's limitations, for the report's last section."""
    ds, s = ev.dataset, ev.settings
    people = ev.cohort.people
    compared = people[people["group"].isin(COMPARED)]
    lines = [
        "**Proven reoffending** follows the Ministry of Justice definition (Ministry of Justice, *Guide to proven "
        f"reoffending statistics*): an offence committed within {s.window_months} months after the {s.index_date} "
        "date and proven by a conviction, caution or community resolution recorded within that window or a further "
        f"{s.waiting_months}-month waiting period. People whose window and waiting period were not over by the police "
        "extract date are not yet countable and are left out, never counted as non-reoffenders.",
        "**Groups.** Starters are people whose first core-programme episode started in the period; completers "
        "completed it; non-completers disengaged, were suspended or were excluded. People still on the programme "
        "are in neither group.",
        "**Methods.** Rates have Wilson 95% intervals; the difference between two rates has Newcombe's hybrid score "
        "interval (Newcombe 1998, method 10); the test is Fisher's exact test when any expected count is under 5, "
        "otherwise a chi-square test. Adjusted estimates: logistic regression and propensity-score (ATT) weighting "
        "with a sandwich interval. Time to event: Kaplan-Meier with log-transformed Greenwood intervals, log-rank "
        "test, Cox model (Efron ties). Several outcomes: Holm-adjusted p-values. Sources in `docs/methods.md`.",
        "**Wording** follows the Justice Data Lab: a difference is called statistically significant only when p is "
        "at most 0.05 and each group has at least 10 people with and without the outcome (30 events for time "
        "measures); otherwise the result is inconclusive, which is not evidence of no effect.",
        "**What this comparison is not.** Completers versus non-completers is not a causal comparison: the same "
        "things that make people drop out (higher risk, substance misuse, mental-health needs, low motivation) make "
        "reoffending more likely. Adjustment helps only for what the data record.",
        f"**Disclosure control.** {ev.rule.footnote() or 'Suppression is off: not for publication.'}",
    ]
    limits = []
    for col, label in (("risk_level", "risk level"), ("prior_da_incidents", "prior DA incidents"),
                       ("substance_misuse", "substance misuse"), ("mental_health", "mental-health needs"),
                       ("age", "age"), ("ethnicity", "ethnicity")):
        if len(compared):
            miss = compared[col].isna().mean()
            if miss > 0:
                limits.append(f"{label} is not recorded for {100 * miss:.0f}% of the people compared")
    if "police" not in ds.present:
        limits.append("no police records were supplied, so proven reoffending cannot be measured")
    else:
        covered = compared["person_id"].isin(ds.police["person_id"]).mean() if len(compared) else 0
        limits.append(f"{100 * covered:.0f}% of the people compared have at least one police record "
                      f"(police data extracted {ds.police_extract_date:%d %B %Y}); offences outside the force area "
                      "are not seen")
    if ds.meta.synthetic:
        limits.append("the data are synthetic (generated for demonstration), not real people")
    lines.append("**Limitations of this dataset.** " + "; ".join(limits) + ".")
    return "\n\n".join(lines)
