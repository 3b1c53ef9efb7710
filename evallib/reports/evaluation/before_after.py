"""Police-recorded domestic-abuse incidents before referral and after exit, by group.

For each group and each span (6 and 12 months by default), the people whose after-span
has closed by the police extract date: incidents per person before and after, and the
rate ratio after/before with a cluster-robust interval (people as clusters). A ratio
below 1 is fewer incidents after than before. Like every completers-versus-non-completers
contrast this is descriptive: incidents often fall after a crisis that led to referral
(regression to the mean), in both groups.
"""

from __future__ import annotations

import pandas as pd

from evallib import stats
from evallib.cohorts import COMPLETED, GROUP_LABELS, NOT_COMPLETED
from evallib.reports.evaluation.core import Evaluation

__all__ = ["before_after_table"]


def _rows(ev: Evaluation) -> list[dict]:
    """Per group and span: people followed, incidents before and after, and the rate ratio."""
    rows = []
    f = ev.analysed()   # the people analysed, as in every section of the report
    for months in ev.settings.before_after_months:
        for g in (COMPLETED, NOT_COMPLETED):
            sub = f[(f["group"] == g) & f[f"da_after_{months}m"].notna() & f[f"da_before_{months}m"].notna()]
            before = sub[f"da_before_{months}m"].astype(float).to_numpy()
            after = sub[f"da_after_{months}m"].astype(float).to_numpy()
            row = {"group": g, "months": months, "people": len(sub), "before": int(before.sum()),
                   "after": int(after.sum()), "ratio": None}
            if len(sub) >= 2 and before.sum() + after.sum() > 0:
                try:
                    r = stats.paired_rate_ratio(before, after)
                    row["ratio"] = (r.rate_ratio, r.rate_ratio_ci[0], r.rate_ratio_ci[1], r.p_value)
                except stats.StatsError:
                    pass
            rows.append(row)
    return rows


def register(g, ev: Evaluation) -> None:
    """People followed (at most their group), incidents before and after, and the ratio: all about the group."""
    g.section = "before_after"
    for r in _rows(ev):
        k = f"ba.{r['months']}.{r['group']}"
        group = f"n.{r['group']}"
        g.add(f"{k}.people", r["people"], about=[group])
        g.le(f"{k}.people", group)
        g.add(f"{k}.before", r["before"], about=[group, f"{k}.people"])
        g.add(f"{k}.after", r["after"], about=[group, f"{k}.people"])
        g.stat(f"{k}.ratio", r["ratio"], about=[group, f"{k}.people", f"{k}.before", f"{k}.after"])


def before_after_table(ev: Evaluation) -> pd.DataFrame:
    """One row per group and span: people, incidents before/after, per person, rate ratio.

    Every number comes from the report's gate: a row of a hidden group, or whose
    counts are hidden, shows no count, rate or ratio (not even a zero).
    """
    pub = ev.publication()
    out = []
    for months in ev.settings.before_after_months:
        for g in (COMPLETED, NOT_COMPLETED):
            k = f"ba.{months}.{g}"
            people, before, after = (pub.count(f"{k}.{c}") for c in ("people", "before", "after"))
            hidden = None in (people, before, after)
            ratio = pub.stat(f"{k}.ratio")
            out.append({
                "Group": GROUP_LABELS[g], "Span": f"{months} months",
                "People followed": pub.text(f"{k}.people"), "Incidents before": pub.text(f"{k}.before"),
                "Incidents after": pub.text(f"{k}.after"),
                "Per person before": _fmt(None if hidden or not people else before / people, hidden),
                "Per person after": _fmt(None if hidden or not people else after / people, hidden),
                "Rate ratio after/before (95% CI)": "[c]" if hidden else (
                    "not estimable" if ratio is None else f"{ratio[0]:.2f} ({ratio[1]:.2f} to {ratio[2]:.2f})"),
            })
    return pd.DataFrame(out)


def _fmt(v, hidden) -> str:
    if hidden:
        return "[c]"
    return "" if v is None else f"{float(v):.2f}"
