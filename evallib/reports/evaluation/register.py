"""The evaluation report's gate: every section registers what it publishes, then all is protected once.

Why here and not in each section: the record flow, the headline, table one, the
sensitivity table and the rest all show the same groups, so a count hidden in one is
only hidden if it is hidden in all, and a statistic about a hidden group must go from
every section and from the summary alike. :func:`build_publication` asks each section
module to register its counts and statistics with one :class:`~evallib.reports.gate.Gate`
and protects them together; :meth:`Evaluation.publication` caches the result.
"""

from __future__ import annotations

from typing import Any

from evallib.cohorts import COMPLETED, NOT_COMPLETED
from evallib.reports.evaluation import (
    adjusted,
    before_after,
    core,
    groups,
    sensitivity,
    summary,
    time_to_event,
)
from evallib.reports.gate import Gate, Publication

__all__ = ["build_publication", "published_statistics"]


def build_publication(ev: core.Evaluation) -> Publication:
    """Register every number of the report with one gate and protect them together."""
    g = Gate(ev.rule, report="completers_vs_noncompleters")
    core.register(g, ev)
    groups.register(g, ev)
    core.register_methods(g, ev)   # after table one: its missing counts are parts of these
    summary.register(g, ev, "any")
    time_to_event.register(g, ev, "any")
    adjusted.register(g, ev, "any")
    before_after.register(g, ev)
    sensitivity.register(g, ev)
    return g.protect()


def published_statistics(ev: core.Evaluation) -> dict[str, Any]:
    """The statistics the HTML shows beyond the rates, for ``results.json`` (``None`` where withheld).

    Why: ``results.json`` and the CSVs must hold every number the report shows, so that
    a reader (or an audit) needs no HTML.
    """
    tte = time_to_event.time_to_event(ev, "any")
    adj = adjusted.adjusted_estimates(ev, "any")
    lr, cox = tte.logrank, tte.cox
    end = {}
    if not tte.monthly.empty:
        last = tte.monthly[tte.monthly["month"] == tte.monthly["month"].max()].set_index("group")
        for grp in (COMPLETED, NOT_COMPLETED):
            if grp in last.index and not _missing(last.loc[grp, "survival"]):
                r = last.loc[grp]
                end[grp] = {k: float(r[k]) for k in ("survival", "ci_low", "ci_high")}
            else:
                end[grp] = None
    prop = adj.propensity
    w = core.wording(ev, "any")
    return {
        "sentences": {   # the numbers the report's sentences carry, as they read
            "summary": None if w is None else [t for t in (w.headline, w.difference_sentence, w.per_100,
                                                           w.mdd_sentence) if t],
            "time_to_event": time_to_event.time_to_event_text(tte),
        },
        "time_to_event": {
            "without_reoffence_at_end": end,
            "logrank": None if lr is None else {"statistic": float(lr.statistic), "df": int(lr.df),
                                                "p_value": float(lr.p_value)},
            "cox_completed": None if cox is None else {k: float(cox[k]) for k in
                                                       ("hazard_ratio", "ci_low", "ci_high", "p_value")},
        },
        "adjusted": {
            "withheld": adj.withheld,
            "logistic_completed": None if adj.logistic is None else {
                k: float(adj.logistic[k]) for k in ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high", "p_value")},
            "propensity_att": None if prop is None else {
                "difference": float(prop.difference), "difference_ci": [float(x) for x in prop.difference_ci],
                "p_value": float(prop.p_value)},
            "conclusion": adjusted.conclusion_sentence(
                ev.comparisons.get("any") if core.wording(ev) else None, adj, tte),
        },
    }


def _missing(v) -> bool:
    import pandas as pd

    return v is None or bool(pd.isna(v))
