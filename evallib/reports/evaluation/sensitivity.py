"""Sensitivity analyses: does the answer survive other reasonable definitions?

Each row re-runs the headline comparison under one change: DA-related offences only;
index date at the start of the programme instead of exit; counting people whose window
is over but whose waiting period is not (outcomes recorded so far). Holm-adjusted
p-values (Holm 1979) sit beside the raw ones, because several outcomes are examined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evallib import stats
from evallib.present import pp_interval
from evallib.reports.evaluation.core import Evaluation, evaluate, published_rate_table

__all__ = ["sensitivity_table"]


def _row(label: str, ev: Evaluation, variant: str, main: Evaluation | None = None) -> dict:
    t = published_rate_table(ev, variant).set_index("group")
    cmp_ = ev.comparisons.get(variant)
    hidden = t[["n", "reoffenders"]].isna().any().any()
    if main is not None and ev.rule.active:
        # A row over other people than the main analysis would give away, by subtraction,
        # how many people differ between them: hidden when that is a small number.
        base = published_rate_table(main, "any").set_index("group")
        for g in t.index:
            diff = abs(int(t.loc[g, "n"] if pd.notna(t.loc[g, "n"]) else 0)
                       - int(base.loc[g, "n"] if pd.notna(base.loc[g, "n"]) else 0))
            if 0 < diff < ev.rule.threshold:
                t.loc[g, ["n", "rate"]] = pd.NA
                hidden = True

    def rate(g):
        r = t.loc[g]
        return "[c]" if pd.isna(r["rate"]) or pd.isna(r["n"]) else f"{100 * float(r['rate']):.0f}% of {int(r['n'])}"

    return {
        "Analysis": label, "Completers": rate("completed"), "Non-completers": rate("not_completed"),
        "Difference (95% CI)": "[c]" if hidden or cmp_ is None else
        f"{100 * cmp_.difference:+.0f} ({pp_interval(*cmp_.difference_ci)})",
        "p": np.nan if hidden or cmp_ is None else cmp_.p_value,
    }


def sensitivity_table(ev: Evaluation) -> pd.DataFrame:
    """The headline comparison under each alternative definition, with Holm-adjusted p-values."""
    ds, s = ev.dataset, ev.settings
    other_index = "start" if s.index_date == "exit" else "exit"
    rows = [
        _row(f"Main: any offence, index at {s.index_date}", ev, "any"),
        _row("DA-related offences only", ev, "da"),
        _row(f"Index date at {other_index} of the programme",
             evaluate(ds, ev.period, s.model_copy(update={"index_date": other_index}),
                      suppress_below=ev.rule.threshold, cohort=ev.cohort), "any", main=ev),
        _row("Including people still in their waiting period (outcomes so far)",
             evaluate(ds, ev.period, s.model_copy(update={"countable_when": "window_over"}),
                      suppress_below=ev.rule.threshold, cohort=ev.cohort), "any", main=ev),
    ]
    out = pd.DataFrame(rows)
    known = out["p"].notna()
    holm = pd.Series(np.nan, index=out.index)
    if known.any():
        holm[known] = stats.holm(out.loc[known, "p"].to_numpy())
    out["p-value"] = [f"{p:.3f}" if pd.notna(p) else "" for p in out["p"]]
    out["Holm-adjusted p"] = [f"{p:.3f}" if pd.notna(p) else "" for p in holm]
    return out.drop(columns="p")
