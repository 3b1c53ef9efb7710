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
from evallib.disclosure import DisclosureRule
from evallib.outcomes.reoffending import OUTCOME_LABELS, countable_flow, evaluation_frame
from evallib.params import OutcomeSettings, Period, parse_period
from evallib.reports.gate import Gate, Publication
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

    def publication(self) -> Publication:
        """Every number the report publishes, protected once (:mod:`evallib.reports.gate`).

        Built on first use (the statistics of every section are computed and registered,
        then protected together) and cached: every section, figure and ``results.json``
        reads from it, so a count hidden in one is hidden in all and nothing about a
        hidden group is shown anywhere.
        """
        if "publication" not in self._cache:
            from evallib.reports.evaluation.register import build_publication

            self._cache["publication"] = build_publication(self)
        return self._cache["publication"]


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
    """:func:`rate_table` as published: counts hidden (``<NA>``) where the report's gate hides them.

    The counts are n, reoffenders and (as n - reoffenders) those who did not reoffend,
    protected with every other count of the report; a rate or interval is shown only
    when its counts are.
    """
    pub = ev.publication()
    rows = []
    for g in COMPARED:
        r = pub.stat(f"{variant}.rate.{g}") or {}
        rows.append({"group": g, "label": GROUP_LABELS[g], "n": pub.count(f"n.{g}"),
                     "reoffenders": pub.count(f"{variant}.reoffenders.{g}"),
                     "rate": r.get("rate"), "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high")})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("Int64")
    out["reoffenders"] = out["reoffenders"].astype("Int64")
    for c in ("rate", "ci_low", "ci_high"):
        out[c] = pd.array([np.nan if v is None else v for v in out[c]], dtype="Float64")
    out.attrs["footnote"] = ev.rule.footnote()
    return out


def register(g: Gate, ev: Evaluation) -> None:
    """Register the record flow, the group sizes and the reoffending counts and comparisons.

    The analysed completers and non-completers are the same counts (``n.completed``,
    ``n.not_completed``) in the flow, the headline, table one and every other section,
    and are declared compared groups: if one is hidden, so is the other, and every
    count and statistic about them is withheld.
    """
    g.section = "flow"
    f = ev.flow.reset_index(drop=True)
    rns = int((ev.frame["group"] == "referred_not_started").sum())
    # table one's third group is a set-aside row of the flow (the same people): found by its
    # count, and by its reason if several set-asides have that count
    same = f.index[(f["step"] == "excluded") & (f["n"] == rns)]
    named = [i for i in same if "never started" in str(f.loc[i, "reason"])]
    rns_row = named[0] if named else (same[0] if len(same) == 1 else None)
    keys = []
    for i, r in f.iterrows():
        key = f"flow.r{i}"
        if r["step"] == "kept" and r["stage"] == "Completers analysed":
            key = f"n.{COMPLETED}"
        elif r["step"] == "kept" and r["stage"] == "Non-completers analysed":
            key = f"n.{NOT_COMPLETED}"
        elif i == rns_row:
            key = "n.referred_not_started"
        g.add(key, int(r["n"]), priority=1 if key.startswith("n.") else 0)
        keys.append(key)
    if "n.referred_not_started" not in g.values:
        g.add("n.referred_not_started", rns)
    sizes_now = _group_counts(ev, "any")["n"]
    for grp in COMPARED:   # a flow without the group's row: the group size on its own
        if f"n.{grp}" not in g.values:
            g.add(f"n.{grp}", int(sizes_now[grp]), priority=1)
    stages = list(dict.fromkeys(f["stage"]))
    starters = next((s for s in stages if s.startswith("Starters")), None)
    feeds = {"People referred in the period or starting in it": [starters],
             starters: ["Completers analysed", "Non-completers analysed"]}
    for stage, nxt in feeds.items():
        if stage not in stages or not all(n in stages for n in nxt):
            continue
        kept = [keys[i] for i in f.index[(f["stage"] == stage) & (f["step"] == "kept")]]
        parts = [keys[i] for i in f.index[(f["stage"] == stage) & (f["step"] == "excluded")]]
        parts += [keys[i] for i in f.index[f["stage"].isin(nxt) & (f["step"] == "kept")]]
        if kept and g.values[kept[0]] == sum(g.values[k] for k in parts):
            g.total(kept[0], parts)
    g.together(f"n.{COMPLETED}", f"n.{NOT_COMPLETED}")
    sizes = [f"n.{c}" for c in COMPARED]
    for variant in OUTCOME_LABELS:
        g.section = f"rates.{variant}"
        t = rate_table(ev, variant).set_index("group")
        for grp in COMPARED:
            n, k = int(t.loc[grp, "n"]), int(t.loc[grp, "reoffenders"])
            g.add(f"{variant}.reoffenders.{grp}", k, about=[f"n.{grp}"])
            g.add(f"{variant}.not_reoffending.{grp}", n - k, about=[f"n.{grp}"])
            g.total(f"n.{grp}", [f"{variant}.reoffenders.{grp}", f"{variant}.not_reoffending.{grp}"])
            rate = None if not n else {k2: float(t.loc[grp, k2]) for k2 in ("rate", "ci_low", "ci_high")}
            g.stat(f"{variant}.rate.{grp}", rate, about=[f"n.{grp}", f"{variant}.reoffenders.{grp}"])
        g.stat(f"{variant}.comparison", ev.comparisons.get(variant),
               about=[*sizes, *(f"{variant}.reoffenders.{c}" for c in COMPARED)])


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
    pub = ev.publication()
    for variant, label in OUTCOME_LABELS.items():
        t = published_rate_table(ev, variant).set_index("group")
        entry = {"label": label, "groups": {}}
        for g in COMPARED:
            r = t.loc[g]
            entry["groups"][g] = {
                "label": GROUP_LABELS[g], "n": _num(r["n"]), "reoffenders": _num(r["reoffenders"]),
                "rate": _num(r["rate"]), "ci_low": _num(r["ci_low"]), "ci_high": _num(r["ci_high"]),
            }
        cmp_ = pub.stat(f"{variant}.comparison")
        if cmp_ is not None:
            entry["difference"] = float(cmp_.difference)
            entry["difference_ci"] = [float(x) for x in cmp_.difference_ci]
            entry["p_value"] = float(cmp_.p_value)
            entry["test"] = cmp_.test
        out["outcomes"][variant] = entry
    out["headline"] = headline(out)
    from evallib.reports.evaluation.register import published_statistics

    out.update(published_statistics(ev))
    out["disclosure"] = pub.record()
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
    """The record flow as published: every count from the report's gate.

    The flow's arithmetic (each stage's kept count is the next stage's total plus its
    set-asides) is declared to the gate with the group sizes every other section shows,
    so a hidden count cannot be recovered by subtraction from any of them.
    """
    pub = ev.publication()
    keys = _flow_keys(ev)
    out = ev.flow.reset_index(drop=True).copy()
    out.index = [f"r{i}" for i in range(len(out))]
    out["n"] = [pub.text(k) for k in keys]
    out["step"] = out["step"].map({"kept": "", "excluded": "set aside"})
    out = _flow_in_words(out, ev)
    return out.rename(columns={"stage": "Stage", "step": "Step", "n": "People", "reason": "Reason"})


def _flow_keys(ev: Evaluation) -> list[str]:
    """The gate key of each row of the record flow (as :func:`register` names them)."""
    return _flow_keys_of(ev.publication().gate, ev)


def _flow_in_words(flow: pd.DataFrame, ev: Evaluation) -> pd.DataFrame:
    """The flow's stage names and reasons in the reader's words: no column names, no period codes."""
    flow = flow.copy()
    flow["stage"] = flow["stage"].map(
        lambda s: f"Programme starters, {ev.period.title}" if str(s).startswith("Starters in ") else s)
    from evallib.reports.evaluation.words import FLOW_REASONS

    flow["reason"] = flow["reason"].replace(FLOW_REASONS)
    return flow


def wording(ev: Evaluation, variant: str = "any"):
    """Justice Data Lab wording for one outcome, or ``None`` when its counts are not publishable."""
    if ev.publication().stat(f"{variant}.comparison") is None:
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
    from evallib.present import publication_banner, synthetic_notice

    banner = publication_banner(ev.rule)
    rows = [
        ("Area", ds.area.display_name), ("Period (programme starts)", ev.period.title),
        ("Case data extracted", f"{ds.meta.extract_date:%d %B %Y}"),
        ("Police data extracted", f"{ds.police_extract_date:%d %B %Y}" if "police" in ds.present else "not supplied"),
        # In groups of 16, so the 64 characters wrap between groups, never inside one.
        ("Dataset fingerprint (SHA-256 of the input files)",
         " ".join(ds.fingerprint[i:i + 16] for i in range(0, len(ds.fingerprint), 16))),
        ("evallib version", evallib.__version__), ("Report run on", f"{date.today():%d %B %Y}"),
        ("Proven reoffending window", f"{s.window_months} months from the {s.index_date} date"),
        ("Waiting period", f"{s.waiting_months} months"),
        ("Small-number suppression", f"counts below {ev.rule.threshold} suppressed" if ev.rule.active else "off"),
    ]
    if ds.meta.synthetic:
        rows.append(("Data", "SYNTHETIC demonstration data: not real people"))
    body = "".join(f"<tr><th style='text-align:left;padding:2px 12px 2px 0'>{_html.escape(k)}</th>"
                   f"<td style='padding:2px 0;text-align:left'>{_html.escape(str(v))}</td></tr>" for k, v in rows)
    return (f"{banner}<h1>{_html.escape(ds.area.display_name)}: completers versus non-completers</h1>"
            f"{synthetic_notice(ds.meta.synthetic)}"
            f"<p style='font-size:1.15em'>Proven reoffending evaluation, programme starts {_html.escape(ev.period.title)}</p>"
            f"<table style='font-size:0.9em;border-collapse:collapse'><caption>About this report</caption>{body}</table>")


#: Characteristics whose missing share the limitations paragraph gives: (column, words).
_METHODS_MISSING = (("risk_level", "risk level"), ("prior_da_incidents", "prior domestic-abuse incidents"),
                    ("substance_misuse", "substance misuse"), ("mental_health", "mental-health needs"),
                    ("age", "age"), ("ethnicity", "ethnicity"))


def register_methods(g: Gate, ev: Evaluation) -> None:
    """The limitations paragraph's shares are counts of the people compared: registered as such.

    The people compared (completers and non-completers, countable or not) are the
    analysed groups plus those not yet countable; a share of them with a characteristic
    missing, or with a police record, gives its count back, so each is a count here.
    """
    g.section = "methods"
    people = ev.cohort.people
    compared = people[people["group"].isin(COMPARED)]
    waiting = [k for k, (_, r) in zip(_flow_keys_of(g, ev), ev.flow.reset_index(drop=True).iterrows(), strict=True)
               if r["step"] == "excluded" and str(r["reason"]).startswith("follow-up window")]
    parts = [f"n.{COMPLETED}", f"n.{NOT_COMPLETED}", *waiting]
    if sum(g.values[k] for k in parts) == len(compared):
        g.total("methods.people", parts)
    else:
        g.add("methods.people", len(compared))
    countable = ev.frame.loc[compared.index, "countable"].fillna(False).astype(bool) if len(compared) else []
    for col, _ in _METHODS_MISSING:
        key = g.add(f"methods.missing.{col}", int(compared[col].isna().sum()))
        g.le(key, "methods.people")
        # the same people as table one's "not recorded" counts, plus those not yet countable
        parts = [f"t1.{col}.{lv}.{grp}" for grp in COMPARED for lv in ("missing", "not recorded")
                 if f"t1.{col}.{lv}.{grp}" in g.values]
        if parts:
            rest = int(compared.loc[~np.asarray(countable, dtype=bool), col].isna().sum())
            if sum(g.values[k] for k in parts) + rest == g.values[key]:
                g.total(key, [*parts, g.latent(f"methods.missing.{col}.waiting", rest)])
    if "police" in ev.dataset.present:
        g.add("methods.police", int(compared["person_id"].isin(ev.dataset.police["person_id"]).sum()))
        g.le("methods.police", "methods.people")


def _flow_keys_of(g: Gate, ev: Evaluation) -> list[str]:
    out = []
    for i, r in ev.flow.reset_index(drop=True).iterrows():
        key = f"flow.r{i}"
        if key not in g.values:
            key = {"Completers analysed": f"n.{COMPLETED}", "Non-completers analysed": f"n.{NOT_COMPLETED}"}.get(
                r["stage"] if r["step"] == "kept" else "", "n.referred_not_started")
        out.append(key)
    return out


def methods_markdown(ev: Evaluation) -> str:
    """Definitions, methods and this dataset's limitations, for the report's last section."""
    ds, s = ev.dataset, ev.settings
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
        "otherwise a chi-square test. Adjusted estimates: logistic regression, and propensity-score weighting that "
        "estimates the average effect on the people who completed, with a sandwich interval. Time to event: "
        "Kaplan-Meier with log-transformed Greenwood intervals, log-rank test, Cox model (Efron ties). Several "
        "outcomes: Holm-adjusted p-values. Each method's source is listed in the methods guide that comes with "
        "evallib; the terms are explained in section 9.",
        "**Wording** follows the Justice Data Lab: a difference is called statistically significant only when p is "
        "at most 0.05 and each group has at least 10 people with and without the outcome (30 events for time "
        "measures); otherwise the result is inconclusive, which is not evidence of no effect.",
        "**What this comparison is not.** Completers versus non-completers is not a causal comparison: the same "
        "things that make people drop out (higher risk, substance misuse, mental-health needs, low motivation) make "
        "reoffending more likely. Adjustment helps only for what the data record.",
        f"**Disclosure control.** {ev.rule.footnote() or 'Suppression is off: not for publication.'}",
    ]
    limits = []
    pub = ev.publication()

    def share(key: str) -> str | None:
        """``"7%"`` of the people compared, or ``None`` if either count is hidden."""
        k, n = pub.count(key), pub.count("methods.people")
        return None if k is None or n is None or n == 0 else f"{100 * k / n:.0f}%"

    for col, label in _METHODS_MISSING:
        if pub.gate.values.get(f"methods.missing.{col}", 0) > 0:
            pc = share(f"methods.missing.{col}")
            limits.append(f"{label} is not recorded for {pc or 'some (not shown: small numbers)'} of the people "
                          "compared")
    if "police" not in ds.present:
        limits.append("no police records were supplied, so proven reoffending cannot be measured")
    else:
        pc = share("methods.police") or "some (not shown: small numbers)"
        limits.append(f"{pc} of the people compared have at least one police record "
                      f"(police data extracted {ds.police_extract_date:%d %B %Y}); offences outside the force area "
                      "are not seen")
    if ds.meta.synthetic:
        limits.append("the data are synthetic (generated for demonstration), not real people")
    lines.append("**Limitations of this dataset.** " + "; ".join(limits) + ".")
    return "\n\n".join(lines)
