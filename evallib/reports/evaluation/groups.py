"""Who the groups are: a "table one" of completers, non-completers and referred-not-started.

Completers are a selected group; this table makes the selection visible. Beside each
characteristic is the standardised mean difference (SMD) between completers and
non-completers (Austin 2009; ``|SMD| >= 0.1`` is a meaningful imbalance). Category
counts pass disclosure control with each variable's levels declared to sum to the group
size, so a hidden count cannot be recovered by subtraction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evallib import stats
from evallib.cohorts import COMPLETED, GROUP_LABELS, NOT_COMPLETED, REFERRED_NOT_STARTED
from evallib.disclosure import suppress
from evallib.reports.evaluation.core import Evaluation

__all__ = ["table_one", "CHARACTERISTICS"]

GROUPS = (COMPLETED, NOT_COMPLETED, REFERRED_NOT_STARTED)

#: (column, label, kind): kind is "mean" (numeric), "cat" (categories) or "bool".
CHARACTERISTICS = [
    ("age", "Age at referral", "mean"),
    ("gender", "Gender", "cat"),
    ("ethnicity", "Ethnicity", "cat"),
    ("risk_level", "Risk level at assessment", "cat"),
    ("prior_da_incidents", "Police DA incidents in the 2 years before referral", "mean"),
    ("self_referred", "Self-referred", "bool"),
    ("children", "Children in the household", "mean"),
    ("substance_misuse", "Substance misuse identified", "bool"),
    ("mental_health", "Mental-health needs identified", "bool"),
]

LEVEL_ORDER = {
    "gender": ["male", "female", "other", "unknown"],
    "ethnicity": ["white", "mixed", "asian", "black", "other", "unknown"],
    "risk_level": ["standard", "medium", "high"],
}


def _smd(people: pd.DataFrame, column: str):
    """SMD completers vs non-completers on known values; NaN (not assessable) otherwise."""
    sub = people[people["group"].isin([COMPLETED, NOT_COMPLETED]) & people[column].notna()]
    t = (sub["group"] == COMPLETED).to_numpy()
    if t.sum() < 2 or (~t).sum() < 2:
        return np.nan
    x = sub[column]
    if x.dtype == "boolean" or x.dtype == bool:
        x = x.astype(float)
    elif pd.api.types.is_numeric_dtype(x):
        x = x.astype(float)
    else:
        x = x.astype(str)
    try:
        return stats.standardised_mean_difference(x.to_numpy(), t)
    except stats.StatsError:
        return np.nan


def _fmt_smd(v) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:+.2f}"


def table_one(ev: Evaluation) -> pd.DataFrame:
    """The published table one: one row per characteristic (and level), one column per group.

    Completers and non-completers are the people analysed (countable for proven
    reoffending), the same people as in every other section. Counts are shown as ``n (%)`` of the group's known values' total (missing counted in
    a row of its own); numeric characteristics as ``mean (SD)``, shown only for groups
    of at least the suppression threshold. Columns: ``Characteristic``, one per group
    (labelled with its n), and ``SMD`` (completers vs non-completers).
    """
    # The compared groups are the people analysed (see Evaluation.analysed).
    people = pd.concat([ev.analysed(), ev.frame[ev.frame["group"] == REFERRED_NOT_STARTED]])
    rule = ev.rule
    sizes = people["group"].value_counts().reindex(GROUPS, fill_value=0)
    size_tab = suppress(pd.DataFrame({g: [int(sizes[g])] for g in GROUPS}, index=["n"]), rule,
                        count_columns=list(GROUPS))
    size_txt = size_tab.display().iloc[0]
    header = {g: f"{GROUP_LABELS[g]} (n = {size_txt[g]})" for g in GROUPS}
    rows: list[dict] = []
    for column, label, kind in CHARACTERISTICS:
        col = people[column]
        if kind == "mean":
            entry = {"Characteristic": f"{label}: mean (SD)"}
            for g in GROUPS:
                v = col[people["group"] == g].astype("Float64").dropna().astype(float)
                shown = len(v) >= max(rule.threshold, 2) or (not rule.active and len(v) >= 1)
                entry[header[g]] = f"{v.mean():.1f} ({v.std(ddof=1):.1f})" if shown and len(v) > 1 else (
                    "[c]" if len(v) else "no data")
            entry["SMD"] = _fmt_smd(_smd(people, column))
            rows.append(entry)
            missing = {g: int(col[people["group"] == g].isna().sum()) for g in GROUPS}
            if any(missing.values()):
                rows.extend(_count_rows(pd.DataFrame(missing, index=["  not recorded"]), sizes, rule, header,
                                        label=None))
            continue
        if kind == "bool":
            levels = ["yes", "no", "not recorded"]
            values = col.map({True: "yes", False: "no"}).astype("object").where(col.notna(), "not recorded")
        else:
            known = LEVEL_ORDER.get(column, sorted(col.dropna().unique()))
            levels = [lv for lv in known if (col == lv).any()] + ["not recorded"]
            values = col.astype("object").where(col.notna(), "not recorded")
        counts = pd.crosstab(values, people["group"]).reindex(index=levels, columns=list(GROUPS), fill_value=0)
        counts = counts.loc[(counts.sum(axis=1) > 0) | (counts.index != "not recorded")]
        smd = _smd(people, column)
        smd_levels = smd if isinstance(smd, pd.Series) else None
        level_rows = _count_rows(counts.rename(index=lambda s: f"  {s}"), sizes, rule, header, label, smd_levels)
        # An SMD with its group shares would give a hidden count back: hide it with them.
        compared = [header[COMPLETED], header[NOT_COMPLETED]]
        hidden_any = any(r[c] == rule.symbol for r in level_rows for c in compared)
        for r in level_rows:
            if r["SMD"] and any(r[c] == rule.symbol for c in compared):
                r["SMD"] = rule.symbol
        head_smd = "" if smd_levels is not None else (rule.symbol if hidden_any and not np.isnan(smd) else _fmt_smd(smd))
        rows.append({"Characteristic": label, **{header[g]: "" for g in GROUPS}, "SMD": head_smd})
        rows.extend(level_rows)
    return pd.DataFrame(rows)


def _count_rows(counts: pd.DataFrame, sizes: pd.Series, rule, header, label, smd_levels=None) -> list[dict]:
    """Rows of ``n (%)`` for one variable's levels, disclosure-controlled with their total."""
    table = counts.copy()
    table.columns = list(GROUPS)
    levels = list(table.index)
    if label is not None:   # the levels sum to the group size (all levels, missing included)
        table.loc["__total__"] = [int(sizes[g]) for g in GROUPS]
        s = suppress(table.astype(int), rule, count_columns=list(GROUPS), row_totals={"__total__": levels})
    else:
        s = suppress(table.astype(int), rule, count_columns=list(GROUPS))
    shown = s.values
    out = []
    for lv in levels:
        entry = {"Characteristic": lv.replace("_", " ")}
        for g in GROUPS:
            v = shown.loc[lv, g]
            n = sizes[g]
            entry[header[g]] = rule.symbol if pd.isna(v) else (f"{int(v)} ({100 * int(v) / n:.0f}%)" if n else "0")
        key = lv.strip()
        entry["SMD"] = _fmt_smd(smd_levels.get(key, np.nan)) if smd_levels is not None else ""
        out.append(entry)
    return out
