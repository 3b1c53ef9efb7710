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
from evallib.reports.evaluation.core import Evaluation

__all__ = ["table_one", "CHARACTERISTICS"]

GROUPS = (COMPLETED, NOT_COMPLETED, REFERRED_NOT_STARTED)

#: (column, label, kind): kind is "mean" (numeric), "cat" (categories) or "bool".
CHARACTERISTICS = [
    ("age", "Age at referral", "mean"),
    ("gender", "Gender", "cat"),
    ("ethnicity", "Ethnicity", "cat"),
    ("risk_level", "Risk level at assessment", "cat"),
    ("prior_da_incidents", "Police domestic-abuse incidents in the 2 years before referral", "mean"),
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


def _people(ev: Evaluation) -> pd.DataFrame:
    """The compared groups are the people analysed (see Evaluation.analysed), plus those not started."""
    return pd.concat([ev.analysed(), ev.frame[ev.frame["group"] == REFERRED_NOT_STARTED]])


def _levels(people: pd.DataFrame, column: str, kind: str) -> tuple[list[str], pd.Series]:
    """The levels shown for a categorical characteristic, and each person's level."""
    col = people[column]
    if kind == "bool":
        levels = ["yes", "no", "not recorded"]
        values = col.map({True: "yes", False: "no"}).astype("object").where(col.notna(), "not recorded")
    else:
        known = LEVEL_ORDER.get(column, sorted(col.dropna().unique()))
        levels = [lv for lv in known if (col == lv).any()] + ["not recorded"]
        values = col.astype("object").where(col.notna(), "not recorded")
    if not (values == "not recorded").any():
        levels = [lv for lv in levels if lv != "not recorded"]
    return levels, values


def register(g, ev: Evaluation) -> None:
    """Register table one: every level count (summing to its group's size), means and SMDs.

    A mean is about its group (withheld when the group is hidden); an SMD is about both
    compared groups and, for categories, about the level counts it is built from (an SMD
    with the groups' shares would give a hidden count back).
    """
    people = _people(ev)
    g.section = "table_one"
    g.touch(*(f"n.{x}" for x in GROUPS))
    compared = [f"n.{COMPLETED}", f"n.{NOT_COMPLETED}"]
    for column, _, kind in CHARACTERISTICS:
        col = people[column]
        if kind == "mean":
            for x in GROUPS:
                v = col[people["group"] == x].astype("Float64").dropna().astype(float)
                missing = int(col[people["group"] == x].isna().sum())
                g.add(f"t1.{column}.missing.{x}", missing, about=[f"n.{x}"])
                g.le(f"t1.{column}.missing.{x}", f"n.{x}")
                g.stat(f"t1.{column}.mean.{x}", (float(v.mean()) if len(v) else np.nan,
                                                 float(v.std(ddof=1)) if len(v) > 1 else np.nan, len(v)),
                       about=[f"n.{x}"])
            g.stat(f"t1.{column}.smd", _smd(people, column), about=compared)
            continue
        levels, values = _levels(people, column, kind)
        counts = pd.crosstab(values, people["group"]).reindex(index=levels, columns=list(GROUPS), fill_value=0)
        for x in GROUPS:
            for lv in levels:
                g.add(f"t1.{column}.{lv}.{x}", int(counts.loc[lv, x]), about=[f"n.{x}"])
            g.total(f"n.{x}", [f"t1.{column}.{lv}.{x}" for lv in levels])
        smd = _smd(people, column)
        level_cells = {lv: [f"t1.{column}.{lv}.{x}" for x in (COMPLETED, NOT_COMPLETED)] for lv in levels}
        if isinstance(smd, pd.Series):
            for lv in levels:
                if lv in smd.index:
                    g.stat(f"t1.{column}.smd.{lv}", float(smd[lv]), about=[*compared, *level_cells[lv]])
        else:
            g.stat(f"t1.{column}.smd", smd, about=[*compared, *(k for ks in level_cells.values() for k in ks)])


def table_one(ev: Evaluation) -> pd.DataFrame:
    """The published table one: one row per characteristic (and level), one column per group.

    Completers and non-completers are the people analysed (countable for proven
    reoffending), the same people as in every other section. Counts are shown as
    ``n (%)`` of the group (missing counted in a row of its own); numeric characteristics
    as ``mean (SD)``, shown only for groups of at least the suppression threshold. Columns:
    ``Characteristic``, one per group (labelled with its n), and ``SMD`` (completers vs
    non-completers). Every number comes from the report's gate.
    """
    pub = ev.publication()
    rule = ev.rule
    people = _people(ev)
    header = {x: f"{GROUP_LABELS[x]} (n = {pub.text(f'n.{x}')})" for x in GROUPS}
    rows: list[dict] = []

    def count_cell(key: str, x: str) -> str:
        v, n = pub.count(key), pub.count(f"n.{x}")
        if v is None or n is None:
            return rule.symbol
        return f"{v} ({100 * v / n:.0f}%)" if n else "0"

    def smd_cell(key: str) -> str:
        if key not in pub.gate.stats:
            return ""
        return _fmt_smd(pub.stat(key)) if pub.has_stat(key) else (
            "" if _nan(pub.gate.stats[key]) else rule.symbol)

    for column, label, kind in CHARACTERISTICS:
        if kind == "mean":
            entry = {"Characteristic": f"{label}: mean (SD)"}
            for x in GROUPS:
                st = pub.stat(f"t1.{column}.mean.{x}")
                size = pub.gate.stats[f"t1.{column}.mean.{x}"][2]
                enough = size >= max(rule.threshold, 2) or (not rule.active and size > 1)
                entry[header[x]] = (f"{st[0]:.1f} ({st[1]:.1f})" if st is not None and enough
                                    else ("no data" if size == 0 and st is not None else rule.symbol))
            entry["SMD"] = smd_cell(f"t1.{column}.smd")
            rows.append(entry)
            if any(pub.gate.values[f"t1.{column}.missing.{x}"] for x in GROUPS):
                rows.append({"Characteristic": "  not recorded",
                             **{header[x]: count_cell(f"t1.{column}.missing.{x}", x) for x in GROUPS}, "SMD": ""})
            continue
        levels, _ = _levels(people, column, kind)
        per_level = f"t1.{column}.smd" not in pub.gate.stats
        rows.append({"Characteristic": label, **{header[x]: "" for x in GROUPS},
                     "SMD": "" if per_level else smd_cell(f"t1.{column}.smd")})
        for lv in levels:
            rows.append({"Characteristic": f"  {lv}".replace("_", " "),
                         **{header[x]: count_cell(f"t1.{column}.{lv}.{x}", x) for x in GROUPS},
                         "SMD": smd_cell(f"t1.{column}.smd.{lv}") if per_level else ""})
    return pd.DataFrame(rows)


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))
