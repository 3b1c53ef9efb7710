"""Time to first proven reoffence: Kaplan-Meier curves, log-rank test, Cox hazard ratio.

The people analysed (the same as in every section: countable for proven reoffending)
are followed from the index date to the first proven reoffence, censored at the end of
the window (see :mod:`evallib.outcomes.reoffending`). People not yet countable are left
out here too, so that no published group size differs from another by a small count.

For disclosure, curves are published on a monthly grid (the proportion still without a
proven reoffence at the end of each month, with its interval) and only while at least
``threshold`` people in the group are still followed; numbers at risk are suppressed
when small. A step at every event day would show single events.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evallib import stats
from evallib.cohorts import COMPLETED, GROUP_LABELS, NOT_COMPLETED
from evallib.disclosure import suppress
from evallib.figures import A4_WIDTH_IN, GROUP_COLOURS, fit_title, house_style
from evallib.reports.evaluation.adjusted import ADJUSTMENT_COVARIATES, _ordinal
from evallib.reports.evaluation.core import Evaluation

__all__ = ["TimeToEvent", "time_to_event", "unpublished", "km_figure", "at_risk_table", "km_alt", "time_to_event_text", "km_title"]



@dataclass
class TimeToEvent:
    """Survival summaries for one outcome variant, all publishable."""

    variant: str
    monthly: pd.DataFrame            # group, month, at_risk, survival, ci_low, ci_high (suppressed where small)
    logrank: object | None = None
    cox: pd.Series | None = None      # the 'completed' row of the adjusted Cox model
    events: int = 0
    messages: list[str] = field(default_factory=list)
    published: bool = False          # True: counts already through the report's gate (time_to_event)

    @property
    def enough_events(self) -> bool:
        """Justice Data Lab: at least 30 events for a time measure to be called significant."""
        return self.events >= 30


def _frame(ev: Evaluation, variant: str) -> pd.DataFrame:
    f = ev.analysed(variant)
    f = f[f[f"days_to_first_{variant}"].notna()].copy()
    f["time"] = f[f"days_to_first_{variant}"].astype(float)
    f["event"] = f[f"event_{variant}"].astype(bool)
    f["completed"] = (f["group"] == COMPLETED).astype(int)
    return f


def time_to_event(ev: Evaluation, variant: str = "any") -> TimeToEvent:
    """Monthly Kaplan-Meier summaries per group, log-rank test and adjusted Cox model, as published.

    Everything comes through the report's gate: a group that is hidden has no curve and
    no numbers at risk, and neither test is shown unless both groups are.
    """
    pub = ev.publication()
    raw = unpublished(ev, variant)
    monthly = raw.monthly.copy()
    if not monthly.empty:
        at_risk = []
        for g, m in zip(monthly["group"], monthly["month"], strict=True):
            key = f"km.{variant}.{g}.at_risk.{m}"
            at_risk.append(pub.count(key) if key in pub.gate.values else None)   # only every 3 months is published
        monthly["at_risk"] = pd.array(at_risk, dtype="Int64")
        for g in monthly["group"].unique():
            if not pub.has_stat(f"km.{variant}.{g}.curve"):
                monthly.loc[monthly["group"] == g, ["survival", "ci_low", "ci_high"]] = pd.NA
    out = TimeToEvent(variant, monthly, pub.stat(f"km.{variant}.logrank"), pub.stat(f"km.{variant}.cox"),
                      raw.events, list(raw.messages), published=True)
    if raw.logrank is not None and out.logrank is None or raw.cox is not None and out.cox is None:
        out.messages = ["The tests are not shown: a group is too small to publish, so nothing about it is."]
    return out


def register(g, ev: Evaluation, variant: str = "any") -> None:
    """Numbers still followed every 3 months (at most the group), the curves, the log-rank test and Cox."""
    g.section = f"time_to_event.{variant}"
    raw = unpublished(ev, variant)
    sizes = [f"n.{COMPLETED}", f"n.{NOT_COMPLETED}"]
    m = raw.monthly
    for grp in (COMPLETED, NOT_COMPLETED):
        group = f"n.{grp}"
        sub = m[(m["group"] == grp) & (m["month"] % 3 == 0)] if not m.empty else m
        prev = group
        for month, n in zip(sub["month"], sub["at_risk"], strict=True):
            key = g.add(f"km.{variant}.{grp}.at_risk.{month}", int(n), about=[group])
            g.le(key, prev)
            prev = key
        g.stat(f"km.{variant}.{grp}.curve", None, about=[group])
    g.stat(f"km.{variant}.logrank", raw.logrank, about=sizes)
    g.stat(f"km.{variant}.cox", raw.cox, about=sizes)


def unpublished(ev: Evaluation, variant: str = "any") -> TimeToEvent:
    """The summaries not yet through a gate, for a report that registers them with its own
    (the pooled report); computed once per evaluation."""
    key = ("time_to_event", variant)
    if key not in ev._cache:
        ev._cache[key] = _compute(ev, variant)
    return ev._cache[key]


def _compute(ev: Evaluation, variant: str) -> TimeToEvent:
    """Monthly Kaplan-Meier summaries per group, log-rank test and adjusted Cox model (unpublished)."""
    f = _frame(ev, variant)
    months = np.arange(0, ev.settings.window_months + 1)
    rows = []
    rule = ev.rule
    for g in (COMPLETED, NOT_COMPLETED):
        sub = f[f["group"] == g]
        if sub.empty:
            continue
        s = stats.survival_at(sub["time"], sub["event"], np.floor(months * 365 / 12))
        s.insert(0, "group", g)
        s["month"] = months
        rows.append(s)
    out = TimeToEvent(variant, pd.DataFrame(), events=int(f["event"].sum()))
    if not rows:
        out.messages.append("Nobody in either group has a follow-up time to analyse.")
        return out
    monthly = pd.concat(rows, ignore_index=True)
    small = monthly["at_risk"] < max(rule.threshold, 1)
    for c in ("survival", "ci_low", "ci_high"):
        monthly[c] = monthly[c].astype("Float64").mask(small)
    out.monthly = monthly[["group", "month", "at_risk", "survival", "ci_low", "ci_high"]]
    if f["completed"].nunique() == 2 and out.events > 0:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out.logrank = stats.logrank(f["time"], f["event"], f["group"])
            except stats.StatsError as exc:
                out.messages.append(f"The log-rank test could not be done: {exc}")
            out.cox = _cox(f, out.messages)
        out.messages.extend(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    else:
        out.messages.append("A test needs people in both groups and at least one proven reoffence.")
    out.messages = list(dict.fromkeys(out.messages))
    return out


def _cox(f: pd.DataFrame, messages: list[str]):
    covs = [c for c in ADJUSTMENT_COVARIATES if f[c].notna().mean() >= 0.8 and f[c].dropna().nunique() > 1]
    data = f.dropna(subset=covs).copy()
    for c in covs:
        data[c] = data[c].astype(float) if data[c].dtype in ("boolean", "Int64", "Float64") or pd.api.types.is_numeric_dtype(data[c]) else data[c].astype(str)
    for attempt, (d, c) in enumerate(((data, covs), _ordinal(data, covs))):
        try:
            return stats.cox(d, "time", "event", ["completed", *c]).loc["completed"]
        except stats.SeparationError as exc:
            if attempt:
                messages.append(f"The adjusted Cox model could not be estimated: {exc}")
        except stats.StatsError as exc:
            messages.append(f"The adjusted Cox model could not be estimated: {exc}")
            return None
    return None


def at_risk_table(tte: TimeToEvent, every: int = 3, rule=None) -> pd.DataFrame:
    """Numbers still followed at every ``every`` months, per group, as published by the report's gate.

    From :func:`time_to_event` the numbers at risk are already disclosure-controlled
    (``<NA>`` where hidden) and ``rule`` gives the symbol; from :func:`unpublished` (a
    report with its own gate) they are suppressed here under ``rule``.
    """
    m = tte.monthly
    if m.empty:
        return pd.DataFrame()
    symbol = rule.symbol if rule is not None else "[c]"
    m = m[m["month"] % every == 0]
    wide = m.pivot(index="group", columns="month", values="at_risk")
    if not tte.published and rule is not None:
        wide = suppress(wide.astype(int), rule, count_columns=list(wide.columns)).values
    wide = wide.apply(lambda c: [symbol if pd.isna(v) else f"{int(v):,}" for v in c])
    wide.columns = [f"{c} months" for c in wide.columns]
    wide.index = [GROUP_LABELS[g] for g in wide.index]
    return wide.reset_index(names="Still followed")


def km_figure(tte: TimeToEvent, *, title: str, rule=None):
    """Kaplan-Meier curves (monthly) with 95% bands, numbers at risk under the plot."""
    import matplotlib.pyplot as plt

    house_style()
    fig, (ax, ax_risk) = plt.subplots(2, 1, figsize=(A4_WIDTH_IN, 4.8), gridspec_kw={"height_ratios": [4, 1.1]},
                                      sharex=True)
    for g, sub in tte.monthly.groupby("group", sort=False):
        sub = sub.dropna(subset=["survival"])
        if sub.empty:
            continue
        colour = GROUP_COLOURS[g]
        x = sub["month"].to_numpy()
        ax.step(x, 100 * sub["survival"].astype(float), where="post", color=colour, lw=2, label=GROUP_LABELS[g])
        ax.fill_between(x, 100 * sub["ci_low"].astype(float), 100 * sub["ci_high"].astype(float),
                        step="post", color=colour, alpha=0.18)
    ax.set_ylim(0, 102)
    ax.set_ylabel("Without a proven\nreoffence (%)")
    ax.legend(loc="lower left")
    risk = at_risk_table(tte, 3, rule)
    ax_risk.axis("off")
    if not risk.empty:
        months = [int(c.split()[0]) for c in risk.columns[1:]]
        for i, (_, r) in enumerate(risk.iterrows()):
            y = 0.6 - 0.4 * i
            ax_risk.text(-0.02, y, r["Still followed"], ha="right", va="center", fontsize=9.5,
                         transform=ax_risk.transAxes)
            for mth, col in zip(months, risk.columns[1:], strict=True):
                ax_risk.text(mth, y, str(r[col]), ha="center", va="center", fontsize=9.5)
        ax_risk.set_title("Numbers still followed", fontsize=9.5, loc="left", fontweight="normal")
    ax.set_xticks(range(0, int(tte.monthly["month"].max()) + 1, 3))
    ax.tick_params(labelbottom=True)
    ax.set_xlabel("Months since the index date")
    ax_risk.set_ylim(0, 1)
    fit_title(fig, ax, title)  # wrapped to the plot's width
    return fig


def km_alt(tte: TimeToEvent) -> str:
    """Alt text: each group's share without a proven reoffence at the end of the window."""
    m = tte.monthly
    if m.empty:
        return "Kaplan-Meier chart: no follow-up to show."
    last = m["month"].max()
    parts = []
    for g, sub in m.groupby("group", sort=False):
        end = sub[sub["month"] == last]["survival"].iloc[0]
        parts.append(f"{GROUP_LABELS[g]}: {'not shown (small numbers)' if pd.isna(end) else f'{100 * float(end):.0f}%'}"
                     f" without a proven reoffence after {last} months")
    return "Kaplan-Meier chart of time to first proven reoffence by group. " + "; ".join(parts) + "."


def time_to_event_text(tte: TimeToEvent) -> str:
    """The log-rank and Cox results in words, with the JDL 30-event rule."""
    parts = []
    if tte.logrank is not None:
        lr = tte.logrank
        sig = lr.p_value <= 0.05 and tte.enough_events
        parts.append(f"Log-rank test: chi-square {lr.statistic:.2f} on {lr.df} degree of freedom, p = {lr.p_value:.3f}"
                     f" ({'statistically significant' if sig else 'not statistically significant'}).")
        if not tte.enough_events:
            parts.append("There are fewer than 30 proven reoffences in all, so by the Justice Data Lab rule no "
                         "time-to-event difference here is called significant; the result is inconclusive.")
    if tte.cox is not None:
        c = tte.cox
        parts.append(f"Cox model adjusted for the recorded covariates: hazard ratio for completing {c['hazard_ratio']:.2f}"
                     f" (95% CI {c['ci_low']:.2f} to {c['ci_high']:.2f}, p = {c['p_value']:.3f}); below 1 means "
                     "completers reoffended later or less often, given their recorded characteristics.")
    return " ".join(parts) or "No test could be made."


def km_title(tte: TimeToEvent) -> str:
    """A title that states the finding: each group's share without a proven reoffence at the end."""
    m = tte.monthly
    if m.empty:
        return "Time to first proven reoffence: no follow-up to show"
    last = int(m["month"].max())
    parts = []
    for g, sub in m.groupby("group", sort=False):
        end = sub[sub["month"] == last]["survival"].iloc[0]
        if pd.notna(end):
            parts.append(f"{100 * float(end):.0f}% of {GROUP_LABELS[g].lower()}")
    if not parts:
        return "Time to first proven reoffence (curves not shown where few people are followed)"
    return f"After {last} months, {' and '.join(parts)} had no proven reoffence"
