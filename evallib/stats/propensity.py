"""Propensity scores: weighting and matching completers to comparable non-completers.

The estimand throughout is the average effect on the treated (ATT): for the
people who completed, the difference between their reoffending rate and the
rate they would have had without completing. Non-completers are reweighted by
the odds of completion, ``e / (1 - e)``, so that they resemble completers on
the recorded covariates. Nothing can adjust for what is not recorded
(motivation beyond self-referral, for instance).

References
----------
Rosenbaum PR, Rubin DB (1983). The central role of the propensity score in
observational studies for causal effects. *Biometrika* 70:41-55.
Austin PC (2009). Balance diagnostics for comparing the distribution of
baseline covariates between treatment groups in propensity-score matched
samples. *Statistics in Medicine* 28:3083-3107.
Austin PC, Stuart EA (2015). Moving towards best practice when using inverse
probability of treatment weighting (IPTW) using the propensity score to
estimate causal treatment effects in observational studies. *Statistics in
Medicine* 34:3661-3679.
Lunceford JK, Davidian M (2004). Stratification and weighting via the
propensity score in estimation of causal treatment effects: a comparative
study. *Statistics in Medicine* 23:2937-2960 (M-estimation sandwich variance).
Stefanski LA, Boos DD (2002). The calculus of M-estimation. *The American
Statistician* 56:29-38.
Ho DE, Imai K, King G, Stuart EA (2011). MatchIt: nonparametric preprocessing
for parametric causal inference. *Journal of Statistical Software* 42(8).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special as _sp
from scipy import stats as _st

from ._utils import Result, StatsError, _is_categorical, check_alpha, design_matrix, warn, z_value
from .regression import _binary, fit_logistic, logistic

__all__ = [
    "propensity_scores", "att_weights", "standardised_mean_difference", "balance_table",
    "overlap", "weighted_difference", "propensity_att", "nearest_neighbour_match",
    "PropensityModel", "Balance", "Overlap", "WeightedDifference", "Matching",
]


# ---------------------------------------------------------------------------- scores
@dataclasses.dataclass(frozen=True)
class PropensityModel(Result):
    """A fitted propensity-score model (logistic regression of treatment on covariates).

    Attributes
    ----------
    scores : pandas.Series
        Estimated probability of treatment (completion) for each person,
        indexed like the data.
    weights : pandas.Series
        ATT weights: 1 for the treated, ``e / (1 - e)`` for the others.
    coefficients : pandas.DataFrame
        The logistic model (see :func:`evallib.stats.logistic`).
    treatment, covariates
    n_treated, n_control : int
    notes : tuple of str
    """

    scores: pd.Series = dataclasses.field(repr=False)
    weights: pd.Series = dataclasses.field(repr=False)
    coefficients: pd.DataFrame = dataclasses.field(repr=False)
    treatment: str
    covariates: tuple[str, ...]
    n_treated: int
    n_control: int
    notes: tuple[str, ...] = ()


def att_weights(treatment, scores) -> np.ndarray:
    """ATT (odds) weights: 1 for treated people, ``e / (1 - e)`` for the others.

    With these weights the comparison group stands in for the treated group
    (Hirano, Imbens and Ridder 2003; Austin and Stuart 2015).
    """
    t = _binary(treatment, "treatment")
    e = np.asarray(scores, dtype=float).ravel()
    if e.size != t.size:
        raise StatsError("treatment and scores have different lengths.")
    if np.any((e <= 0) | (e >= 1)):
        raise StatsError("Propensity scores must lie strictly between 0 and 1.")
    return np.where(t == 1, 1.0, e / (1.0 - e))


def _check_groups(data: pd.DataFrame, treatment: str) -> np.ndarray:
    if treatment not in data.columns:
        raise StatsError(f"Treatment column '{treatment}' not found in the data.")
    t = _binary(data[treatment], f"treatment '{treatment}'")
    n1 = int(t.sum())
    if n1 == 0 or n1 == t.size:
        which = "treated (e.g. completers)" if n1 == 0 else "comparison (e.g. non-completers)"
        raise StatsError(f"The {which} group is empty, so there is no comparison to make.")
    return t


def propensity_scores(data: pd.DataFrame, treatment: str, covariates: Sequence[str], *,
                      reference: dict | None = None) -> PropensityModel:
    """Fit a logistic propensity model of treatment on the covariates present.

    Parameters
    ----------
    data : pandas.DataFrame
    treatment : str
        Binary column: 1/True for the treated group (e.g. ``completed``).
    covariates : list of str
        Baseline characteristics that predict both completion and the outcome
        (risk level, prior incidents, substance misuse, mental health,
        self-referral, ...). Categorical columns are dummy-coded; a constant
        covariate is dropped with a note.
    reference : dict, optional
        Reference level per categorical column.

    Returns
    -------
    PropensityModel

    Raises
    ------
    SeparationError
        If the covariates perfectly predict treatment: treated and comparison
        people then do not overlap at all and no weighting can make them
        comparable.
    """
    t = _check_groups(data, treatment)
    coefs = logistic(data.assign(**{treatment: t}), treatment, list(covariates),
                     reference=reference)
    X, _ = design_matrix(data, list(covariates), reference=reference, intercept=True)
    X = X[coefs.index]
    lin = X.to_numpy(dtype=float) @ coefs["coef"].to_numpy()
    e = _sp.expit(lin)
    w = np.where(t == 1, 1.0, np.exp(lin))
    return PropensityModel(
        scores=pd.Series(e, index=data.index, name="propensity"),
        weights=pd.Series(w, index=data.index, name="att_weight"),
        coefficients=coefs, treatment=treatment, covariates=tuple(covariates),
        n_treated=int(t.sum()), n_control=int(t.size - t.sum()),
        notes=tuple(coefs.attrs.get("warnings", ())))


# ---------------------------------------------------------------------------- SMD
def _smd_numeric(x, t, w, denominator):
    """SMD of one numeric/binary column; ``w`` weights (1s before weighting)."""
    x1, x0 = x[t == 1], x[t == 0]
    w1, w0 = w[t == 1], w[t == 0]
    if w1.sum() <= 0 or w0.sum() <= 0:
        return math.nan, math.nan, math.nan
    m1 = np.average(x1, weights=w1)
    m0 = np.average(x0, weights=w0)
    binary = set(np.unique(x)) <= {0.0, 1.0}
    if binary:
        p1, p0 = x1.mean(), x0.mean()
        v1, v0 = p1 * (1 - p1), p0 * (1 - p0)
    else:
        v1 = x1.var(ddof=1) if x1.size > 1 else 0.0
        v0 = x0.var(ddof=1) if x0.size > 1 else 0.0
    sd = math.sqrt(v1) if denominator == "treated" else math.sqrt((v1 + v0) / 2)
    if sd == 0:
        return m1, m0, (0.0 if m1 == m0 else math.nan)
    return m1, m0, (m1 - m0) / sd


def _expand(data: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric columns as they are; categorical ones as one 0/1 column per level."""
    cols = {}
    for c in covariates:
        if c not in data.columns:
            raise StatsError(f"Covariate column '{c}' not found in the data.")
        s = data[c]
        if s.isna().any():
            raise StatsError(f"Covariate '{c}' has missing values.")
        if _is_categorical(s):
            levels = (list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype)
                      else sorted(s.astype(str).unique()))
            s = s.astype(str) if not isinstance(s.dtype, pd.CategoricalDtype) else s
            for lv in levels:
                cols[f"{c}[{lv}]"] = (s == lv).to_numpy(dtype=float)
        else:
            cols[c] = s.to_numpy(dtype=float)
    return pd.DataFrame(cols, index=data.index)


def standardised_mean_difference(x, group, *, weights=None, denominator: str = "pooled"):
    """Standardised mean difference (SMD) between two groups, for a "table one".

    Parameters
    ----------
    x : array-like
        A numeric, binary (0/1, bool) or categorical variable.
    group : array-like
        1/True for the treated group (e.g. completers), 0/False otherwise.
    weights : array-like, optional
        Weights (e.g. ATT or matching weights); the means are weighted, the
        standard deviation in the denominator is always that of the
        unweighted sample, so SMDs before and after weighting are comparable
        (Austin and Stuart 2015; as MatchIt and cobalt do).
    denominator : {"pooled", "treated"}
        ``"pooled"``: ``sqrt((s1^2 + s0^2) / 2)`` (Austin 2009), the usual
        choice for a table one. ``"treated"``: the treated group's SD, the
        MatchIt default for the ATT. Binary variables use ``p (1 - p)`` as the
        variance.

    Returns
    -------
    float or pandas.Series
        A float for numeric or binary variables; for a categorical variable, a
        Series with one SMD per level (each level as a 0/1 indicator).
        ``|SMD| < 0.1`` is the usual bar for a negligible imbalance.
    """
    if denominator not in ("pooled", "treated"):
        raise StatsError("denominator must be 'pooled' or 'treated'.")
    t = _binary(group, "group")
    if t.sum() == 0 or t.sum() == t.size:
        raise StatsError("Both groups need at least one person for a standardised difference.")
    w = np.ones(t.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    frame = _expand(pd.DataFrame({"x": np.asarray(x)}), ["x"])
    out = {c.removeprefix("x[").removesuffix("]") if c != "x" else c:
           _smd_numeric(frame[c].to_numpy(), t, w, denominator)[2] for c in frame.columns}
    if list(out) == ["x"]:
        return float(out["x"])
    return pd.Series(out, name="smd")


@dataclasses.dataclass(frozen=True)
class Balance(Result):
    """Covariate balance before and after weighting or matching.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per covariate (per level for categorical ones) with columns
        ``mean_treated, mean_control, smd_before, mean_treated_adjusted,
        mean_control_adjusted, smd_after, balanced``.
    threshold : float
        The bar for ``|SMD|`` (default 0.1).
    max_abs_smd_before, max_abs_smd_after : float
    balanced : bool
        Whether every ``|SMD|`` after adjustment is under the threshold.
    verdict : str
        A sentence for the report.
    """

    table: pd.DataFrame = dataclasses.field(repr=False)
    threshold: float
    max_abs_smd_before: float
    max_abs_smd_after: float
    balanced: bool
    verdict: str

    def to_frame(self) -> pd.DataFrame:
        """The balance table itself (one row per covariate)."""
        return self.table.copy()


def balance_table(data: pd.DataFrame, treatment: str, covariates: Sequence[str], *,
                  weights=None, denominator: str = "pooled", threshold: float = 0.1) -> Balance:
    """Standardised mean differences per covariate, before and after adjustment.

    Parameters
    ----------
    data : pandas.DataFrame
    treatment : str
        Binary treatment column.
    covariates : list of str
    weights : array-like or str, optional
        ATT or matching weights (or the name of a column holding them). If
        omitted, only the "before" columns are meaningful (the "after" ones
        repeat them).
    denominator : {"pooled", "treated"}
        See :func:`standardised_mean_difference`.
    threshold : float
        Balance bar for ``|SMD|`` (0.1 by convention; Austin 2009).

    Returns
    -------
    Balance
    """
    t = _check_groups(data, treatment)
    if isinstance(weights, str):
        weights = data[weights]
    w = np.ones(t.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.size != t.size or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise StatsError("weights must be finite, non-negative and one per person.")
    frame = _expand(data, covariates)
    ones = np.ones(t.size)
    rows = []
    for c in frame.columns:
        x = frame[c].to_numpy()
        m1, m0, before = _smd_numeric(x, t, ones, denominator)
        a1, a0, after = _smd_numeric(x, t, w, denominator)
        rows.append((c, m1, m0, before, a1, a0, after))
    table = pd.DataFrame(rows, columns=["covariate", "mean_treated", "mean_control", "smd_before",
                                        "mean_treated_adjusted", "mean_control_adjusted",
                                        "smd_after"]).set_index("covariate")
    table["balanced"] = table["smd_after"].abs() < threshold
    mb = float(table["smd_before"].abs().max())
    ma = float(table["smd_after"].abs().max())
    ok = bool(table["balanced"].all())
    if ok:
        verdict = (f"After adjustment every covariate is balanced (largest |SMD| {ma:.3f}, "
                   f"under {threshold}).")
    else:
        bad = ", ".join(table.index[~table["balanced"]])
        verdict = (f"After adjustment some covariates remain imbalanced (|SMD| >= {threshold}): "
                   f"{bad}. The adjusted comparison may still be biased by them.")
    return Balance(table=table, threshold=threshold, max_abs_smd_before=mb,
                   max_abs_smd_after=ma, balanced=ok, verdict=verdict)


# ---------------------------------------------------------------------------- overlap
@dataclasses.dataclass(frozen=True)
class Overlap(Result):
    """Common-support diagnostics for propensity scores.

    Attributes
    ----------
    treated_min, treated_max, control_min, control_max : float
        Range of the scores in each group.
    n_treated_outside : int
        Treated people whose score lies outside the range of the comparison
        group's scores: nobody comparable exists for them.
    share_treated_outside : float
    max_weight_share : float
        Largest single comparison-group weight as a share of the group's total
        weight (a few people carrying the comparison is a warning sign).
    ess_control : float
        Kish effective sample size of the weighted comparison group,
        ``(sum w)^2 / sum w^2``.
    common_support : bool
        True when no treated person lies outside the comparison range.
    notes : tuple of str
    """

    treated_min: float
    treated_max: float
    control_min: float
    control_max: float
    n_treated_outside: int
    share_treated_outside: float
    max_weight_share: float
    ess_control: float
    common_support: bool
    notes: tuple[str, ...] = ()


def overlap(scores, treatment) -> Overlap:
    """Check common support: do comparable comparison-group people exist?

    Parameters
    ----------
    scores : array-like
        Propensity scores.
    treatment : array-like
        1/True for the treated group.

    Returns
    -------
    Overlap
    """
    t = _binary(treatment, "treatment")
    e = np.asarray(scores, dtype=float).ravel()
    if e.size != t.size:
        raise StatsError("scores and treatment have different lengths.")
    if t.sum() == 0 or t.sum() == t.size:
        raise StatsError("Both groups need at least one person to check overlap.")
    e1, e0 = e[t == 1], e[t == 0]
    outside = int(np.sum((e1 > e0.max()) | (e1 < e0.min())))
    w0 = e0 / (1 - e0)
    notes = []
    if outside:
        notes.append(f"{outside} treated people have propensity scores outside the range of the "
                     "comparison group: no comparable comparison exists for them.")
    share = float(w0.max() / w0.sum())
    ess = float(w0.sum() ** 2 / np.sum(w0 ** 2))
    if share > 0.1:
        notes.append(f"One comparison person carries {share:.0%} of the comparison group's "
                     "weight: the weighted estimate leans on very few people.")
    return Overlap(float(e1.min()), float(e1.max()), float(e0.min()), float(e0.max()), outside,
                   outside / e1.size, share, ess, outside == 0, tuple(notes))


# ---------------------------------------------------------------------------- estimates
@dataclasses.dataclass(frozen=True)
class WeightedDifference(Result):
    """An adjusted (weighted) difference in proportions, treated minus comparison.

    Attributes
    ----------
    estimand : str
        ``"ATT"``: the average effect on the treated.
    rate_treated, rate_control : float
        Treated rate and the weighted comparison rate (what the treated would
        have had without treatment, if the covariates capture the selection).
    difference, difference_ci, se, p_value
        Risk difference with a normal interval from ``se``.
    variance : str
        ``"m-estimation"`` (sandwich accounting for the estimated propensity
        scores), ``"robust"`` (sandwich with weights taken as fixed) or
        ``"bootstrap"`` (percentile interval; ``se`` is the bootstrap SD).
    n_treated, n_control : int
    ess_control : float
        Effective sample size of the weighted comparison group.
    balance : Balance or None
        Covariate balance with these weights (not in ``to_frame()``).
    overlap : Overlap or None
        Common-support diagnostics (not in ``to_frame()``).
    notes : tuple of str
    """

    estimand: str
    rate_treated: float
    rate_control: float
    difference: float
    difference_ci: tuple[float, float]
    se: float
    p_value: float
    variance: str
    n_treated: int
    n_control: int
    ess_control: float
    alpha: float = 0.05
    balance: Balance | None = dataclasses.field(default=None, repr=False)
    overlap: Overlap | None = dataclasses.field(default=None, repr=False)
    notes: tuple[str, ...] = ()


def _finish(y, t, w, se, variance, alpha, boot_ci=None, balance=None, ov=None, notes=()):
    r1 = float(np.average(y[t == 1], weights=w[t == 1]))
    r0 = float(np.average(y[t == 0], weights=w[t == 0]))
    d = r1 - r0
    z = z_value(alpha)
    ci = boot_ci if boot_ci is not None else (d - z * se, d + z * se)
    ci = (max(float(ci[0]), -1.0), min(float(ci[1]), 1.0))
    p = float(2 * _st.norm.sf(abs(d) / se)) if se > 0 else math.nan
    w0 = w[t == 0]
    ess = float(w0.sum() ** 2 / np.sum(w0 ** 2))
    return WeightedDifference("ATT", r1, r0, d, ci, float(se), p, variance, int(t.sum()),
                              int(t.size - t.sum()), ess, alpha, balance, ov, tuple(notes))


def _robust_se(y, t, w):
    """Sandwich SE of the weighted difference with the weights held fixed."""
    se2 = 0.0
    for g in (1, 0):
        yy, ww = y[t == g], w[t == g]
        m = np.average(yy, weights=ww)
        se2 += np.sum(ww ** 2 * (yy - m) ** 2) / ww.sum() ** 2
    return math.sqrt(se2)


def _m_estimation_se(X, y, t, beta):
    """Sandwich SE of the ATT-weighted difference, stacking the propensity model's
    score equations with the two weighted means (Lunceford and Davidian 2004;
    Stefanski and Boos 2002)."""
    n, p = X.shape
    lin = X @ beta
    e = _sp.expit(lin)
    r = np.exp(lin)
    mu1 = np.sum(t * y) / t.sum()
    c = 1 - t
    mu0 = np.sum(c * r * y) / np.sum(c * r)
    psi = np.column_stack([X * (t - e)[:, None], t * (y - mu1), c * r * (y - mu0)])
    A = np.zeros((p + 2, p + 2))
    A[:p, :p] = (X * (e * (1 - e))[:, None]).T @ X
    A[p, p] = t.sum()
    A[p + 1, :p] = -(X * (c * r * (y - mu0))[:, None]).sum(0)
    A[p + 1, p + 1] = np.sum(c * r)
    B = psi.T @ psi
    Ainv = np.linalg.inv(A)
    V = Ainv @ B @ Ainv.T
    g = np.zeros(p + 2)
    g[p], g[p + 1] = 1.0, -1.0
    return math.sqrt(max(float(g @ V @ g), 0.0))


def weighted_difference(data: pd.DataFrame, outcome: str, treatment: str, weights, *,
                        alpha: float = 0.05) -> WeightedDifference:
    """Difference in proportions with given weights (e.g. matching weights).

    The interval uses a sandwich variance that takes the weights as fixed
    (as R's ``sandwich::vcovHC(lm(y ~ t, weights = w), type = "HC0")``); it
    does not allow for the estimation of the propensity scores or for the
    matching. Prefer :func:`propensity_att`, which does, for weighting.
    """
    alpha = check_alpha(alpha)
    t = _check_groups(data, treatment)
    y = _binary(data[outcome], f"outcome '{outcome}'")
    w = np.asarray(data[weights] if isinstance(weights, str) else weights, dtype=float).ravel()
    if w.size != t.size or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise StatsError("weights must be finite, non-negative and one per person.")
    if w[t == 1].sum() == 0 or w[t == 0].sum() == 0:
        raise StatsError("A group has zero total weight (nobody matched): no comparison is possible.")
    return _finish(y, t, w, _robust_se(y, t, w), "robust", alpha)


def propensity_att(data: pd.DataFrame, outcome: str, treatment: str, covariates: Sequence[str],
                   *, variance: str = "m-estimation", alpha: float = 0.05,
                   reference: dict | None = None, n_boot: int = 500, seed: int | None = None,
                   denominator: str = "pooled", threshold: float = 0.1) -> WeightedDifference:
    """Propensity-score (ATT) weighted difference in proportions, with diagnostics.

    Fits a logistic model of treatment on the covariates, weights comparison
    people by the odds ``e / (1 - e)``, and compares the treated rate with the
    weighted comparison rate.

    Parameters
    ----------
    data : pandas.DataFrame
    outcome : str
        Binary outcome (e.g. ``reoffended_any``).
    treatment : str
        Binary treatment (e.g. ``completed``).
    covariates : list of str
        Baseline covariates for the propensity model.
    variance : {"m-estimation", "robust", "bootstrap"}
        ``"m-estimation"`` (default): sandwich variance from stacking the
        propensity model's score equations with the weighted means, which
        accounts for the scores being estimated (Lunceford and Davidian 2004).
        ``"robust"``: weights taken as known. ``"bootstrap"``: percentile
        interval from ``n_boot`` resamples of people, refitting the model
        each time.
    alpha : float
    reference : dict, optional
    n_boot, seed : int
        Bootstrap settings.
    denominator, threshold
        For the balance table (see :func:`balance_table`).

    Returns
    -------
    WeightedDifference
        With ``balance`` (SMDs before/after weighting, with a verdict) and
        ``overlap`` attached, and their warnings in ``notes``.

    Raises
    ------
    StatsError
        Empty group, missing values, non-binary outcome or treatment.
    SeparationError
        If the covariates perfectly predict treatment (no overlap at all).
    """
    alpha = check_alpha(alpha)
    if variance not in ("m-estimation", "robust", "bootstrap"):
        raise StatsError("variance must be 'm-estimation', 'robust' or 'bootstrap'.")
    t = _check_groups(data, treatment)
    if outcome not in data.columns:
        raise StatsError(f"Outcome column '{outcome}' not found in the data.")
    y = _binary(data[outcome], f"outcome '{outcome}'")
    model = propensity_scores(data, treatment, covariates, reference=reference)
    X = design_matrix(data, list(covariates), reference=reference, intercept=True)[0]
    X = X[model.coefficients.index].to_numpy(dtype=float)
    beta = model.coefficients["coef"].to_numpy()
    w = model.weights.to_numpy()
    bal = balance_table(data, treatment, [c for c in covariates if data[c].nunique() > 1],
                        weights=w, denominator=denominator, threshold=threshold)
    ov = overlap(model.scores.to_numpy(), t)
    notes = list(model.notes) + list(ov.notes)
    if not bal.balanced:
        notes.append(bal.verdict)
    boot_ci = None
    if variance == "m-estimation":
        se = _m_estimation_se(X, y, t, beta)
    elif variance == "robust":
        se = _robust_se(y, t, w)
    else:
        rng = np.random.default_rng(seed)
        n = t.size
        diffs = np.full(n_boot, np.nan)
        for b in range(n_boot):  # loop over resamples, each vectorised
            idx = rng.integers(0, n, n)
            tb, yb, Xb = t[idx], y[idx], X[idx]
            if tb.sum() in (0, n):
                continue
            bb, _, ok = fit_logistic(Xb, tb)
            if not ok:
                continue
            wb = np.exp(Xb @ bb)
            diffs[b] = yb[tb == 1].mean() - np.average(yb[tb == 0], weights=wb[tb == 0])
        diffs = diffs[np.isfinite(diffs)]
        if diffs.size < 0.9 * n_boot:
            notes.append(f"Only {diffs.size} of {n_boot} bootstrap resamples could be used.")
        se = float(diffs.std(ddof=1))
        boot_ci = tuple(np.quantile(diffs, [alpha / 2, 1 - alpha / 2]))
    for note in notes:
        warn(note)
    return _finish(y, t, w, se, variance, alpha, boot_ci, bal, ov, notes)


# ---------------------------------------------------------------------------- matching
@dataclasses.dataclass(frozen=True)
class Matching(Result):
    """Nearest-neighbour matching on the propensity score (1:1, with replacement).

    Attributes
    ----------
    weights : pandas.Series
        Matching weights: 1 for matched treated people, 0 for unmatched ones;
        for comparison people, the number of treated people they were matched
        to, scaled to sum to the number of distinct comparison people used
        (as MatchIt). Use with :func:`balance_table` and
        :func:`weighted_difference`.
    pairs : pandas.DataFrame
        ``treated`` and ``control`` index labels and the score ``distance``.
    caliper_width : float
        Maximum allowed distance (``caliper`` SDs of the score).
    n_treated_matched, n_treated_unmatched, n_controls_used : int
    notes : tuple of str
    """

    weights: pd.Series = dataclasses.field(repr=False)
    pairs: pd.DataFrame = dataclasses.field(repr=False)
    caliper_width: float
    n_treated_matched: int
    n_treated_unmatched: int
    n_controls_used: int
    notes: tuple[str, ...] = ()


def nearest_neighbour_match(data: pd.DataFrame, treatment: str, scores, *,
                            caliper: float | None = 0.2, scale: str = "probability") -> Matching:
    """Match each treated person to the nearest comparison person on the score.

    Parameters
    ----------
    data : pandas.DataFrame
    treatment : str
        Binary treatment column.
    scores : array-like or PropensityModel
        Propensity scores (or the fitted model).
    caliper : float or None
        Maximum distance in standard deviations of the score (computed over
        everyone, as MatchIt); treated people with no comparison person that
        close are left unmatched (weight 0) and counted. ``None``: no caliper.
        0.2 SD of the logit is Austin's (2011) recommendation.
    scale : {"probability", "logit"}
        Distance on the probability scale (MatchIt's default) or the logit.

    Returns
    -------
    Matching

    Notes
    -----
    Matching is with replacement, so the result does not depend on the order
    in which treated people are matched (Ho et al. 2011). The estimand is the
    ATT among matched treated people; if some are unmatched, it no longer
    describes the whole treated group, and a note says so.
    """
    t = _check_groups(data, treatment)
    if isinstance(scores, PropensityModel):
        scores = scores.scores
    e = np.asarray(scores, dtype=float).ravel()
    if e.size != t.size:
        raise StatsError("scores and data have different lengths.")
    if scale == "logit":
        d = _sp.logit(e)
    elif scale == "probability":
        d = e
    else:
        raise StatsError("scale must be 'probability' or 'logit'.")
    width = math.inf if caliper is None else float(caliper) * float(np.std(d, ddof=1))
    ti = np.flatnonzero(t == 1)
    ci = np.flatnonzero(t == 0)
    order = np.argsort(d[ci], kind="stable")
    cs, cd = ci[order], d[ci][order]
    pos = np.searchsorted(cd, d[ti])
    left = np.clip(pos - 1, 0, cd.size - 1)
    right = np.clip(pos, 0, cd.size - 1)
    dl, dr = np.abs(d[ti] - cd[left]), np.abs(cd[right] - d[ti])
    pick = np.where(dr < dl, right, left)
    dist = np.minimum(dl, dr)
    ok = dist <= width
    w = np.zeros(t.size)
    w[ti[ok]] = 1.0
    used, counts = np.unique(cs[pick[ok]], return_counts=True)
    if used.size:
        w[used] = counts * used.size / counts.sum()
    notes = []
    unmatched = int((~ok).sum())
    if unmatched:
        notes.append(f"{unmatched} treated people had no comparison person within the caliper "
                     "and were left out: the estimate describes only the matched treated people.")
        warn(notes[-1])
    pairs = pd.DataFrame({"treated": data.index[ti[ok]], "control": data.index[cs[pick[ok]]],
                          "distance": dist[ok]})
    return Matching(weights=pd.Series(w, index=data.index, name="match_weight"), pairs=pairs,
                    caliper_width=width, n_treated_matched=int(ok.sum()),
                    n_treated_unmatched=unmatched, n_controls_used=int(used.size),
                    notes=tuple(notes))
