"""The headline table in the Justice Data Lab layout, and the plain-English first page.

The headline table has one row per measure (one-year proven reoffending, any and
DA-related; reoffences per person; proportion without a proven reoffence at the end of
the window): the number analysed in each group, each rate with its interval, the
difference as "L to U percentage points" (or a ratio for frequency), whether it is
statistically significant by the JDL rules, and the p-value. Everything is built from
disclosure-controlled counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evallib import stats
from evallib.cohorts import COMPLETED, NOT_COMPLETED
from evallib.present import interval, percent, pp_interval
from evallib.reports.evaluation.core import (
    OUTCOME_LABELS,
    Evaluation,
    published_rate_table,
    results_json,
    wording,
)

__all__ = ["headline_table", "summary_markdown", "frequency"]


def _frequency_raw(ev: Evaluation, variant: str = "any"):
    """Proven reoffences and people in each group, and the exact rate ratio (unpublished)."""
    a = ev.analysed(variant)
    counts = {g: int(a.loc[a["group"] == g, f"reoffences_{variant}"].astype(float).sum()) for g in
              (COMPLETED, NOT_COMPLETED)}
    people = {g: int((a["group"] == g).sum()) for g in (COMPLETED, NOT_COMPLETED)}
    result = None
    if min(people.values()) > 0:
        result = stats.compare_rates(counts[COMPLETED], people[COMPLETED], counts[NOT_COMPLETED], people[NOT_COMPLETED])
    return counts, result


def register(g, ev: Evaluation, variant: str = "any") -> None:
    """Proven reoffences (events) per group, about the group; the rate ratio about both."""
    g.section = f"frequency.{variant}"
    counts, result = _frequency_raw(ev, variant)
    for grp, k in counts.items():
        g.add(f"freq.{variant}.reoffences.{grp}", k, about=[f"n.{grp}"])
    keys = [f"freq.{variant}.reoffences.{grp}" for grp in counts] + [f"n.{grp}" for grp in counts]
    g.stat(f"freq.{variant}.ratio", result, about=keys)


def frequency(ev: Evaluation, variant: str = "any"):
    """Proven reoffences and people per group as published (``None`` where hidden), and the rate ratio."""
    pub = ev.publication()
    t = {g: {"reoffences": pub.count(f"freq.{variant}.reoffences.{g}"), "people": pub.count(f"n.{g}")}
         for g in (COMPLETED, NOT_COMPLETED)}
    return t, pub.stat(f"freq.{variant}.ratio")


def headline_table(ev: Evaluation, tte=None) -> pd.DataFrame:
    """The JDL-style headline table (strings, ready to show)."""
    rows = []
    for variant, label in OUTCOME_LABELS.items():
        t = published_rate_table(ev, variant).set_index("group")
        w = wording(ev, variant)
        c, n = t.loc[COMPLETED], t.loc[NOT_COMPLETED]
        cmp_ = ev.comparisons.get(variant) if w is not None else None
        rows.append({
            "Measure": f"{label}: one-year rate" if ev.settings.window_months == 12 else label,
            "Completers": _rate_cell(c), "Non-completers": _rate_cell(n),
            "Difference": "[c]" if cmp_ is None else pp_interval(*cmp_.difference_ci),
            "Significant": "-" if w is None else ("yes" if w.significant else "no"),
            "p-value": "" if cmp_ is None else f"{cmp_.p_value:.3f}",
        })
        if variant == "any":
            v, rr = frequency(ev, variant)
            cells = {}
            for g in (COMPLETED, NOT_COMPLETED):
                k, m = v[g]["reoffences"], v[g]["people"]
                if k is None or m is None:
                    cells[g] = "[c]"
                else:
                    cells[g] = f"{k / m:.2f} per person (n = {m})" if m else "no people"
            rows.append({
                "Measure": "Proven reoffences per person", "Completers": cells[COMPLETED],
                "Non-completers": cells[NOT_COMPLETED],
                "Difference": "[c]" if rr is None or not np.isfinite(rr.rate_ratio) else
                f"ratio {rr.rate_ratio:.2f} ({rr.rate_ratio_ci[0]:.2f} to {rr.rate_ratio_ci[1]:.2f})",
                "Significant": "-" if rr is None else ("yes" if rr.p_value <= 0.05 and min(
                    x["reoffences"] for x in v.values()) >= 10 else "no"),
                "p-value": "" if rr is None else f"{rr.p_value:.3f}",
            })
    if tte is not None and not tte.monthly.empty:
        end = tte.monthly[tte.monthly["month"] == tte.monthly["month"].max()].set_index("group")

        def km_cell(g):
            if g not in end.index or pd.isna(end.loc[g, "survival"]):
                return "[c]"
            r = end.loc[g]
            return f"{percent(r['survival'])} ({interval(r['ci_low'], r['ci_high'])})"

        lr = tte.logrank
        rows.append({
            "Measure": "Without a proven reoffence at the end of the window (Kaplan-Meier)",
            "Completers": km_cell(COMPLETED), "Non-completers": km_cell(NOT_COMPLETED),
            "Difference": "log-rank test",
            "Significant": "-" if lr is None else ("yes" if lr.p_value <= 0.05 and tte.enough_events else "no"),
            "p-value": "" if lr is None else f"{lr.p_value:.3f}",
        })
    return pd.DataFrame(rows)


def _rate_cell(r) -> str:
    if pd.isna(r["rate"]):
        return "no people" if not pd.isna(r["n"]) and r["n"] == 0 else "[c]"
    return f"{percent(r['rate'])} of {int(r['n'])} ({interval(r['ci_low'], r['ci_high'])})"


def summary_markdown(ev: Evaluation, adjusted_sentence: str = "") -> str:
    """The first page in plain English: headline, per-100 sentence, MDD, main caveats."""
    w = wording(ev, "any")
    parts = ["## Summary"]
    if w is None:
        groups = results_json(ev)["outcomes"]["any"]["groups"]
        shown = [f"{g['label'].lower()}: {100 * g['rate']:.0f}% of {g['n']} (95% interval "
                 f"{100 * g['ci_low']:.0f}% to {100 * g['ci_high']:.0f}%)" for g in groups.values() if g["rate"] is not None]
        if shown:
            parts.append(f"**One-year proven reoffending (any offence), {'; '.join(shown)}.**")
        parts.append(
            "The rates of completers and non-completers cannot both be published for this period, so they are "
            "not compared: at least one of the counts is small enough that showing it could identify someone. "
            "A longer period, or several areas together, would give groups large enough to report.")
    else:
        parts += [f"**{w.headline}**", w.difference_sentence, w.per_100]
        if w.mdd_sentence:
            parts.append(w.mdd_sentence)
    if adjusted_sentence:
        parts.append(adjusted_sentence)
    parts.append(
        "**Main caveats.** Completers are a selected group (people at higher risk, or with substance misuse or "
        "mental-health needs, drop out more often and also reoffend more), so this is a description, not the effect "
        "of the programme. Proven reoffending counts only offences that reach a conviction, caution or community "
        "resolution; many domestic abuse incidents never do. People whose follow-up was not over by the police "
        "extract date are not counted.")
    return "\n\n".join(p for p in parts if p)
