"""Adjusted comparisons: logistic regression and propensity-score (ATT) weighting.

Completers are a selected group, so the unadjusted difference mixes the programme with
who completes it. Two adjustments on the covariates present in the data:

- **Logistic regression** of proven reoffending on completion and the covariates: the
  odds ratio for completing, *conditional* on the covariates.
- **Propensity-score weighting** (ATT): non-completers re-weighted to look like the
  completers on the covariates; the estimand is the average effect on the completers,
  as a risk difference, with a sandwich interval that accounts for the estimated
  scores (Lunceford and Davidian 2004). A balance table (standardised mean
  differences before and after) and an overlap check go with it.

Neither removes bias from characteristics the data do not record (motivation, say).
The analysis is complete-case: people missing a covariate are counted and set aside.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evallib import stats
from evallib.cohorts import COMPLETED
from evallib.figures import A4_WIDTH_IN, GROUP_COLOURS, fit_title, house_style
from evallib.reports.evaluation.core import Evaluation

__all__ = ["ADJUSTMENT_COVARIATES", "Adjusted", "adjusted_estimates", "unpublished_estimates", "balance_display", "overlap_figure",
           "adjusted_table", "conclusion_sentence"]

#: Candidate covariates, used when present and not constant: (column, label).
ADJUSTMENT_COVARIATES = {
    "risk_level": "Risk level", "prior_da_incidents": "Prior domestic-abuse incidents", "substance_misuse": "Substance misuse",
    "mental_health": "Mental-health needs", "self_referred": "Self-referred", "age": "Age",
}


@dataclass
class Adjusted:
    """Adjusted estimates for one outcome; ``messages`` say what could not be done and why."""

    variant: str
    covariates: list[str]
    n_used: int
    n_missing_covariates: int
    logistic: pd.Series | None = None
    propensity: object | None = None
    messages: list[str] = field(default_factory=list)
    propensity_data: pd.DataFrame | None = field(default=None, repr=False)
    propensity_covariates: list[str] = field(default_factory=list)
    withheld: bool = False

    @property
    def significant_logistic(self) -> bool | None:
        return None if self.logistic is None else bool(self.logistic["p_value"] <= 0.05)


def _analysis_frame(ev: Evaluation, variant: str, extra: tuple[str, ...] = ()) -> tuple[pd.DataFrame, list[str], int]:
    a = ev.analysed(variant).copy()
    a["completed"] = (a["group"] == COMPLETED).astype(int)
    a["outcome"] = a[f"reoffended_{variant}"].astype(bool).astype(int)
    covs = []
    for c in [*ADJUSTMENT_COVARIATES, *extra]:
        col = a[c]
        if col.notna().mean() < 0.8 or col.dropna().nunique() < 2:
            continue
        covs.append(c)
    for c in covs:
        if a[c].dtype == "boolean":
            a[c] = a[c].astype("Float64")
        elif pd.api.types.is_integer_dtype(a[c]):
            a[c] = a[c].astype("Float64")
    complete = a.dropna(subset=covs) if covs else a
    for c in covs:
        if pd.api.types.is_float_dtype(complete[c]):
            complete[c] = complete[c].astype(float)
        else:
            complete[c] = complete[c].astype(str)
    return complete, covs, len(a) - len(complete)


WITHHELD = ("Adjusted estimates are not shown: a group compared is too small to publish, so no statistic "
            "about it is.")


def adjusted_estimates(ev: Evaluation, variant: str = "any", extra_covariates: tuple[str, ...] = ()) -> Adjusted:
    """Both adjusted models for one outcome, as published by the report's gate.

    When a compared group is hidden the estimates are withheld (``withheld`` is true and
    the one message says so), in every section and in the summary alike.
    ``extra_covariates``: see :func:`unpublished_estimates`.
    """
    raw = unpublished_estimates(ev, variant, extra_covariates)
    if ev.publication().has_stat(f"adjusted.{variant}"):
        return raw
    return Adjusted(variant, raw.covariates, raw.n_used, raw.n_missing_covariates, messages=[WITHHELD],
                    withheld=True)


def register(g, ev: Evaluation, variant: str = "any") -> None:
    """The adjusted estimates (and balance, overlap) are about both compared groups."""
    g.stat(f"adjusted.{variant}", None, about=["n.completed", "n.not_completed"])


def unpublished_estimates(ev: Evaluation, variant: str = "any", extra_covariates: tuple[str, ...] = ()) -> Adjusted:
    """Both adjusted models, not yet through a gate: for a report that registers them with its own.

    ``extra_covariates`` are further columns of the analysed frame to adjust for (the
    pooled report adds ``area``, so that areas are compared like with like). Computed
    once per evaluation.
    """
    key = ("adjusted", variant, tuple(extra_covariates))
    if key not in ev._cache:
        ev._cache[key] = _fit(ev, variant, tuple(extra_covariates))
    return ev._cache[key]


def _fit(ev: Evaluation, variant: str, extra: tuple[str, ...] = ()) -> Adjusted:
    """Fit both adjusted models for one outcome; failures become plain-English messages."""
    data, covs, n_missing = _analysis_frame(ev, variant, extra)
    out = Adjusted(variant, covs, len(data), n_missing)
    n1 = int(data["completed"].sum())
    n0 = len(data) - n1
    if not covs:
        out.messages.append("No covariates are recorded well enough (80% complete, not constant) to adjust for.")
        return out
    if min(n1, n0) < max(ev.rule.threshold, 5):
        out.messages.append(
            f"Adjusted estimates need at least {max(ev.rule.threshold, 5)} people in each group; "
            "there are too few to fit the models reliably.")
        return out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out.logistic, _, _ = _fit_with_fallback(
            lambda d, c: stats.logistic(d, "outcome", ["completed", *c]).loc["completed"],
            data, covs, "Logistic regression", out.messages)
        out.propensity, out.propensity_data, out.propensity_covariates = _fit_with_fallback(
            lambda d, c: stats.propensity_att(d, "outcome", "completed", c),
            data, covs, "Propensity weighting", out.messages)
    if out.propensity is not None:
        out.messages.extend(getattr(out.propensity, "notes", ()))
    out.messages.extend(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    out.messages = list(dict.fromkeys(out.messages))
    return out


def _ordinal(data: pd.DataFrame, covs: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Sparse categories made fittable: risk level as an ordered score, other text covariates dropped."""
    d = data.copy()
    kept = []
    for c in covs:
        if c == "risk_level":
            d[c] = d[c].map({"standard": 0.0, "medium": 1.0, "high": 2.0})
            kept.append(c)
        elif pd.api.types.is_float_dtype(d[c]) or c == "area":   # areas are large: kept as they are
            kept.append(c)
    return d, kept


def _fit_with_fallback(fit, data, covs, name, messages):
    """Fit; on separation retry with categories simplified, saying so; else explain."""
    try:
        return fit(data, covs), data, covs
    except stats.SeparationError as exc:
        simple, kept = _ordinal(data, covs)
        try:
            result = fit(simple, kept)
        except stats.StatsError:
            messages.append(f"{name} could not be estimated: {exc}")
            return None, None, []
        messages.append(f"{name}: categories too sparse to fit as they are ({exc.args[0].split(':')[0].lower()}); "
                        "risk level was entered as an ordered score (standard 0, medium 1, high 2) instead.")
        return result, simple, kept
    except stats.StatsError as exc:
        messages.append(f"{name} could not be estimated: {exc}")
        return None, None, []


def adjusted_table(ev: Evaluation, unadjusted, adj: Adjusted) -> pd.DataFrame:
    """One row per estimate: unadjusted difference, logistic odds ratio, weighted difference for completers."""
    from evallib.present import pp_interval

    rows = []
    if unadjusted is not None:
        rows.append({"Estimate": "Unadjusted difference (completers minus non-completers)",
                     "Value": f"{100 * unadjusted.difference:+.0f} percentage points",
                     "95% interval": pp_interval(*unadjusted.difference_ci),
                     "p-value": f"{unadjusted.p_value:.3f}", "What it estimates": "a description, not an effect"})
    if adj.logistic is not None:
        r = adj.logistic
        rows.append({"Estimate": "Logistic regression: odds ratio for completing",
                     "Value": f"{r['odds_ratio']:.2f}",
                     "95% interval": f"{r['odds_ratio_ci_low']:.2f} to {r['odds_ratio_ci_high']:.2f}",
                     "p-value": f"{r['p_value']:.3f}",
                     "What it estimates": "odds ratio among people alike on the recorded characteristics"})
    if adj.propensity is not None:
        p = adj.propensity
        rows.append({"Estimate": "Propensity weighting: difference for completers",
                     "Value": f"{100 * p.difference:+.0f} percentage points",
                     "95% interval": pp_interval(*p.difference_ci),
                     "p-value": f"{p.p_value:.3f}",
                     "What it estimates": "average effect on completers, if the recorded characteristics explain who completes"})
    return pd.DataFrame(rows)


def conclusion_sentence(unadjusted, adj: Adjusted, tte=None) -> str:
    """Whether adjustment changed the conclusion (significant or not, and the direction).

    ``tte`` (:func:`~evallib.reports.evaluation.time_to_event.time_to_event`), when given,
    lets the sentence mention the Cox model's adjusted hazard ratio, so that the summary
    never says no adjusted estimate was made while section 5 shows one.
    """
    if adj.withheld:
        return WITHHELD
    if adj.propensity is None and adj.logistic is None:
        if tte is not None and tte.cox is not None:
            return ("Neither adjusted estimate of the rate (logistic regression, propensity weighting) could be made; "
                    "the Cox model's adjusted hazard ratio is in section 5.")
        return "No adjusted estimate could be made, so the unadjusted comparison stands alone, with its caveats."
    if unadjusted is None:
        return "The unadjusted comparison cannot be shown, so there is nothing to compare the adjusted estimates with."

    def verdict(p, direction):
        if p > 0.05:
            return "inconclusive"
        return "lower" if direction < 0 else "higher"

    before = verdict(unadjusted.p_value, unadjusted.difference)
    after = []
    if adj.logistic is not None:
        after.append(verdict(adj.logistic["p_value"], adj.logistic["coef"]))
    if adj.propensity is not None:
        after.append(verdict(adj.propensity.p_value, adj.propensity.difference))
    words = {"inconclusive": "inconclusive", "lower": "a significantly lower rate for completers",
             "higher": "a significantly higher rate for completers"}
    if all(a == before for a in after):
        return f"Adjustment did not change the conclusion: {words[before]}."
    return (f"Adjustment changed the conclusion: unadjusted, {words[before]}; adjusted, "
            + " and ".join(sorted({words[a] for a in after})) + ". The adjusted estimates are the better guide, "
            "but they cannot account for differences the data do not record.")


def balance_display(ev: Evaluation, adj: Adjusted) -> pd.DataFrame | None:
    """The balance table for publication: |SMD| before and after weighting per covariate.

    Means are not shown (for a small group they would give counts back), and an SMD is
    shown as the suppression symbol where the covariate level's count in either group is
    a small number.
    """
    if adj.propensity is None or adj.propensity.balance is None:
        return None
    data = adj.propensity_data
    bal = adj.propensity.balance.table
    t = data["completed"].to_numpy().astype(bool)
    rule = ev.rule
    rows = []
    for term, r in bal.iterrows():
        var, _, level = term.partition("[")
        level = level.rstrip("]")
        label = ADJUSTMENT_COVARIATES.get(var, var) + (f": {level}" if level else "")
        hide = False
        if rule.active and var in data:
            col = data[var]
            ind = (col.astype(str) == level) if level else (
                col.astype(float) > 0 if col.nunique() <= 2 or var == "risk_level" else None)
            if ind is not None:
                ind = ind.to_numpy()
                for grp in (t, ~t):
                    k, n = int(ind[grp].sum()), int(grp.sum())
                    if 0 < k < rule.threshold or 0 < n - k < rule.threshold:
                        hide = True
        fmt = (lambda v: rule.symbol) if hide else (lambda v: f"{abs(v):.2f}")
        rows.append({"Characteristic": label, "|SMD| before": fmt(r["smd_before"]), "|SMD| after weighting": fmt(r["smd_after"]),
                     "Balanced (< 0.1)": "yes" if r["balanced"] else "no"})
    return pd.DataFrame(rows)


def overlap_figure(ev: Evaluation, adj: Adjusted):
    """Smoothed distributions of propensity scores in each group (common support).

    Densities, not histograms: a histogram's bars are counts, and small ones would
    identify people. Returns ``None`` when there is no propensity model.
    """
    if adj.propensity is None:
        return None
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    data, covs = adj.propensity_data, adj.propensity_covariates
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = stats.propensity_scores(data, "completed", covs)
    scores = np.asarray(model.scores, dtype=float)
    t = data["completed"].to_numpy().astype(bool)
    house_style()
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.2))
    grid = np.linspace(0, 1, 201)
    for mask, name, label in ((t, "completed", "Completers"), (~t, "not_completed", "Non-completers")):
        x = scores[mask]
        if len(x) >= 2 and np.ptp(x) > 0:
            dens = gaussian_kde(x, bw_method=0.35)(grid)
            ax.fill_between(grid, dens, alpha=0.35, color=GROUP_COLOURS[name], label=label)
            ax.plot(grid, dens, color=GROUP_COLOURS[name], lw=1.5)
    ov = adj.propensity.overlap
    verdict = "the groups overlap" if ov is None or ov.common_support else "some completers have no comparable non-completer"
    ax.set_xlabel("Estimated probability of completing, given the recorded characteristics")
    ax.set_ylabel("How many people")
    ax.set_yticks([])
    ax.legend()
    fit_title(fig, ax, f"Estimated chance of completing: {verdict}")
    return fig
