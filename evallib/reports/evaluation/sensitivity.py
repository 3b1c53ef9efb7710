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
from evallib.reports.evaluation.core import COMPARED, Evaluation, evaluate, rate_table

__all__ = ["sensitivity_table"]


def _alternatives(ev: Evaluation) -> dict[str, tuple[str, Evaluation]]:
    """The other definitions re-run (computed once per report): key -> (label, evaluation)."""
    if "sensitivity" not in ev._cache:
        ds, s = ev.dataset, ev.settings
        other_index = "start" if s.index_date == "exit" else "exit"
        ev._cache["sensitivity"] = {
            "index": (f"Index date at {other_index} of the programme",
                      evaluate(ds, ev.period, s.model_copy(update={"index_date": other_index}),
                               suppress_below=ev.rule.threshold, cohort=ev.cohort)),
            "window": ("Including people still in their waiting period (outcomes so far)",
                       evaluate(ds, ev.period, s.model_copy(update={"countable_when": "window_over"}),
                                suppress_below=ev.rule.threshold, cohort=ev.cohort)),
        }
    return ev._cache["sensitivity"]


def register(g, ev: Evaluation) -> None:
    """Each alternative's group sizes and reoffenders, tied to the main analysis's groups.

    The people analysed under another definition overlap the main analysis: for each
    group, ``n.main = both + only_main`` and ``n.alt = both + only_alt``, with the three
    parts latent (never published). An empty part is left out, as a reader who knows
    the definitions knows it is empty (counting people still in their waiting period
    only adds people). So if the two analyses differ by a small number of people, one of
    the two sizes is hidden, and with it the rates and the comparison of that row.
    """
    main = ev.analysed()
    for key, (_, alt) in _alternatives(ev).items():
        g.section = f"sensitivity.{key}"
        a = alt.analysed()
        counts = rate_table(alt, "any").set_index("group")
        sizes = []
        for grp in COMPARED:
            ids_main = set(main.loc[main["group"] == grp, "person_id"])
            ids_alt = set(a.loc[a["group"] == grp, "person_id"])
            n_key = f"sens.{key}.n.{grp}"
            only_main, only_alt = len(ids_main - ids_alt), len(ids_alt - ids_main)
            both = g.latent(f"sens.{key}.both.{grp}", len(ids_main & ids_alt))
            main_parts, alt_parts = [both], [both]
            if only_main:
                main_parts.append(g.latent(f"sens.{key}.only_main.{grp}", only_main))
            if only_alt:
                alt_parts.append(g.latent(f"sens.{key}.only_alt.{grp}", only_alt))
            g.total(f"n.{grp}", main_parts)
            g.add(n_key, int(counts.loc[grp, "n"]), about=[f"n.{grp}"])
            g.total(n_key, alt_parts)
            k = int(counts.loc[grp, "reoffenders"])
            g.add(f"sens.{key}.reoffenders.{grp}", k, about=[n_key])
            g.add(f"sens.{key}.not_reoffending.{grp}", int(counts.loc[grp, "n"]) - k, about=[n_key])
            g.total(n_key, [f"sens.{key}.reoffenders.{grp}", f"sens.{key}.not_reoffending.{grp}"])
            rate = counts.loc[grp, "rate"]
            g.stat(f"sens.{key}.rate.{grp}", None if pd.isna(rate) else float(rate),
                   about=[n_key, f"sens.{key}.reoffenders.{grp}"])
            sizes.append(n_key)
        g.together(*sizes)
        g.stat(f"sens.{key}.comparison", alt.comparisons.get("any"),
               about=[*sizes, *(f"sens.{key}.reoffenders.{c}" for c in COMPARED), *(f"n.{c}" for c in COMPARED)])


def _row(label: str, pub, prefix: str, n_prefix: str) -> dict:
    """One row of the table from the report's gate: ``prefix`` names the counts and statistics."""
    def rate(g):
        r, n = pub.stat(f"{prefix}.rate.{g}"), pub.count(f"{n_prefix}.{g}")
        if isinstance(r, dict):
            r = r["rate"]
        return pub.rule.symbol if r is None or n is None else f"{100 * float(r):.0f}% of {n}"

    cmp_ = pub.stat(f"{prefix}.comparison")
    return {
        "Analysis": label, "Completers": rate("completed"), "Non-completers": rate("not_completed"),
        "Difference (95% CI)": pub.rule.symbol if cmp_ is None else
        f"{100 * cmp_.difference:+.0f} ({pp_interval(*cmp_.difference_ci)})",
        "p": np.nan if cmp_ is None else cmp_.p_value,
    }


def sensitivity_table(ev: Evaluation) -> pd.DataFrame:
    """The headline comparison under each alternative definition, with Holm-adjusted p-values."""
    pub = ev.publication()
    rows = [
        _row(f"Main: any offence, index at {ev.settings.index_date}", pub, "any", "n"),
        _row("Domestic-abuse-related offences only", pub, "da", "n"),
        *(_row(label, pub, f"sens.{key}", f"sens.{key}.n") for key, (label, _) in _alternatives(ev).items()),
    ]
    out = pd.DataFrame(rows)
    known = out["p"].notna()
    holm = pd.Series(np.nan, index=out.index)
    if known.any():
        holm[known] = stats.holm(out.loc[known, "p"].to_numpy())
    out["p-value"] = [f"{p:.3f}" if pd.notna(p) else "" for p in out["p"]]
    out["Holm-adjusted p"] = [f"{p:.3f}" if pd.notna(p) else "" for p in holm]
    return out.drop(columns="p")
