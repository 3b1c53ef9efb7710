"""Police-recorded domestic-abuse incidents before referral and after exit, by group.

For each group and each span (6 and 12 months by default), the people whose after-span
has closed by the police extract date: incidents per person before and after, and the
rate ratio after/before with a cluster-robust interval (people as clusters). A ratio
below 1 is fewer incidents after than before. Like every completers-versus-non-completers
contrast this is descriptive: incidents often fall after a crisis that led to referral
(regression to the mean), in both groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evallib import stats
from evallib.cohorts import COMPLETED, GROUP_LABELS, NOT_COMPLETED
from evallib.disclosure import suppress
from evallib.reports.evaluation.core import Evaluation

__all__ = ["before_after_table"]


def before_after_table(ev: Evaluation) -> pd.DataFrame:
    """One row per group and span: people, incidents before/after, per person, rate ratio.

    Counts of people and of incidents pass disclosure control; a row whose counts are
    hidden shows no rates either.
    """
    rows = []
    f = ev.analysed()   # the people analysed, as in every section of the report
    for months in ev.settings.before_after_months:
        for g in (COMPLETED, NOT_COMPLETED):
            sub = f[(f["group"] == g) & f[f"da_after_{months}m"].notna() & f[f"da_before_{months}m"].notna()]
            before = sub[f"da_before_{months}m"].astype(float).to_numpy()
            after = sub[f"da_after_{months}m"].astype(float).to_numpy()
            row = {"group": g, "months": months, "people": len(sub), "before": int(before.sum()),
                   "after": int(after.sum()), "rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                   "p_value": np.nan}
            if len(sub) >= 2 and before.sum() + after.sum() > 0:
                try:
                    r = stats.paired_rate_ratio(before, after)
                    row.update(rate_ratio=r.rate_ratio, ci_low=r.rate_ratio_ci[0], ci_high=r.rate_ratio_ci[1],
                               p_value=r.p_value)
                except stats.StatsError:
                    pass
            rows.append(row)
    t = pd.DataFrame(rows)
    t.index = [f"{r.group}-{r.months}" for r in t.itertuples()]
    s = suppress(t, ev.rule, count_columns=["people", "before", "after"])
    shown = s.values
    hidden = s.mask.any(axis=1)
    out = pd.DataFrame({
        "Group": [GROUP_LABELS[g] for g in t["group"]],
        "Span": [f"{m} months" for m in t["months"]],
        "People followed": s.display()["people"],
        "Incidents before": s.display()["before"],
        "Incidents after": s.display()["after"],
    })
    per_before = shown["before"].astype("Float64") / shown["people"].astype("Float64")
    per_after = shown["after"].astype("Float64") / shown["people"].astype("Float64")
    out["Per person before"] = [_fmt(v, h) for v, h in zip(per_before, hidden, strict=True)]
    out["Per person after"] = [_fmt(v, h) for v, h in zip(per_after, hidden, strict=True)]
    out["Rate ratio after/before (95% CI)"] = [
        "[c]" if h else ("not estimable" if pd.isna(rr) else f"{rr:.2f} ({lo:.2f} to {hi:.2f})")
        for rr, lo, hi, h in zip(t["rate_ratio"], t["ci_low"], t["ci_high"], hidden, strict=True)]
    return out.reset_index(drop=True)


def _fmt(v, hidden) -> str:
    if hidden:
        return "[c]"
    return "" if pd.isna(v) else f"{float(v):.2f}"
