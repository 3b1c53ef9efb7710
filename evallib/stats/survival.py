"""Time to event: Kaplan-Meier, the log-rank test and the Cox model.

Each reproduces the R survival package (Therneau): ``survfit`` (Greenwood
standard errors, ``conf.type = "log"``), ``survdiff`` (``rho = 0``) and
``coxph`` (Efron ties by default).

References
----------
Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete
observations. *JASA* 53:457-481.
Greenwood M (1926). The natural duration of cancer. *Reports on Public Health
and Medical Subjects* 33. HMSO.
Mantel N (1966). Evaluation of survival data and two new rank order statistics
arising in its consideration. *Cancer Chemotherapy Reports* 50:163-170.
Cox DR (1972). Regression models and life-tables. *JRSS B* 34:187-220.
Efron B (1977). The efficiency of Cox's likelihood function for censored data.
*JASA* 72:557-565.
Therneau TM, Grambsch PM (2000). *Modeling Survival Data*. Springer.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._utils import Result, StatsError, check_alpha, design_matrix, warn, z_value

__all__ = ["kaplan_meier", "survival_at", "numbers_at_risk", "logrank", "cox", "LogRankResult"]


def _time_event(time, event) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    if t.size != e.size:
        raise StatsError(f"time and event have different lengths ({t.size} and {e.size}).")
    if t.size == 0:
        raise StatsError("There are no people to analyse (empty data).")
    if np.any(~np.isfinite(t)):
        raise StatsError("Some follow-up times are missing or infinite.")
    if np.any(t < 0):
        raise StatsError("Follow-up times must not be negative.")
    e = e.astype(float)
    if np.any(np.isnan(e)) or not np.all(np.isin(e, (0.0, 1.0))):
        raise StatsError("event must be 0/1 or False/True (1 = the event happened, 0 = censored).")
    return t, e.astype(bool)


def _km_table(t: np.ndarray, e: np.ndarray, alpha: float) -> pd.DataFrame:
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    times, first = np.unique(t, return_index=True)
    n = t.size
    at_risk = n - first
    events = np.add.reduceat(e.astype(int), first)
    censored = np.add.reduceat((~e).astype(int), first)
    keep = events > 0
    times, at_risk, events, censored = times[keep], at_risk[keep], events[keep], censored[keep]
    surv = np.cumprod(1.0 - events / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        se_log = np.sqrt(greenwood)  # SE of log S (R: std.err of the "log" scale)
        z = z_value(alpha)
        low = surv * np.exp(-z * se_log)
        high = np.minimum(surv * np.exp(z * se_log), 1.0)
        std_err = surv * se_log
    undefined = surv == 0
    std_err[undefined] = np.nan
    low[undefined] = np.nan
    high[undefined] = np.nan
    return pd.DataFrame({
        "time": times, "at_risk": at_risk.astype(int), "events": events.astype(int),
        "censored": censored.astype(int), "survival": surv, "std_err": std_err,
        "ci_low": low, "ci_high": high,
    })


def kaplan_meier(time, event, *, group=None, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier estimate of the proportion still event-free over time.

    Parameters
    ----------
    time : array-like
        Follow-up time (e.g. days from the index date to the first proven
        reoffence, or to censoring).
    event : array-like of bool or 0/1
        1 if the event happened at ``time``, 0 if the person was censored.
    group : array-like, optional
        Group labels: one curve per group, with a ``group`` column first.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per distinct event time with columns ``time, at_risk,
        events, censored, survival, std_err, ci_low, ci_high`` (``censored``
        counts people censored at exactly that time). ``std_err`` is
        Greenwood's standard error of the survival (as R's
        ``summary(survfit(...))``); the interval is the "log" interval
        ``S exp(+-z se(log S))``, truncated at 1 (R's default,
        ``conf.type = "log"``). Where the survival reaches 0 the standard
        error and the interval are not defined and are NaN, as in R.
        ``df.attrs["n"]`` holds the number of people.
    """
    alpha = check_alpha(alpha)
    t, e = _time_event(time, event)
    if group is None:
        out = _km_table(t, e, alpha)
        out.attrs["n"] = int(t.size)
        return out
    g = pd.Series(np.asarray(group).ravel())
    if g.size != t.size:
        raise StatsError("group has a different length from time.")
    parts = []
    for level in sorted(g.dropna().unique(), key=str):
        mask = (g == level).to_numpy()
        part = _km_table(t[mask], e[mask], alpha)
        part.insert(0, "group", level)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.attrs["n"] = int(t.size)
    return out


def survival_at(time, event, times: Sequence[float], *, group=None, alpha: float = 0.05
                ) -> pd.DataFrame:
    """Survival, numbers at risk and events at chosen times.

    The equivalent of R's ``summary(survfit(...), times = times)``: at each
    requested time, ``at_risk`` is the number still under follow-up (time >=
    t), ``events`` the number of events since the previous requested time,
    and the survival and its interval are those of the step function at t.
    Use it for the "numbers at risk" row under a Kaplan-Meier plot and for
    one-year survival.
    """
    alpha = check_alpha(alpha)
    t, e = _time_event(time, event)
    req = np.asarray(times, dtype=float).ravel()
    if req.size == 0 or np.any(np.diff(req) < 0):
        raise StatsError("times must be a non-empty increasing sequence.")

    def one(tt, ee):
        km = _km_table(tt, ee, alpha)
        idx = np.searchsorted(km["time"].to_numpy(), req, side="right") - 1
        got = idx >= 0
        cols = {}
        for c, fill in (("survival", 1.0), ("std_err", 0.0), ("ci_low", 1.0), ("ci_high", 1.0)):
            v = km[c].to_numpy()
            # no event at all: the curve stays at 1 (R's summary.survfit does the same)
            cols[c] = np.where(got, v[np.maximum(idx, 0)], fill) if v.size else np.full(req.size, fill)
        cum_events = np.searchsorted(np.sort(tt[ee]), req, side="right")
        events = np.diff(np.concatenate([[0], cum_events]))
        at_risk = tt.size - np.searchsorted(np.sort(tt), req, side="left")
        return pd.DataFrame({"time": req, "at_risk": at_risk.astype(int),
                             "events": events.astype(int), **cols})

    if group is None:
        return one(t, e)
    g = pd.Series(np.asarray(group).ravel())
    parts = []
    for level in sorted(g.dropna().unique(), key=str):
        mask = (g == level).to_numpy()
        part = one(t[mask], e[mask])
        part.insert(0, "group", level)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def numbers_at_risk(time, times: Sequence[float], *, group=None) -> pd.DataFrame:
    """Numbers still at risk (follow-up time >= t) at each of ``times``.

    Returns a tidy table with columns ``time`` and ``at_risk`` (and ``group``
    first when groups are given), for printing under a Kaplan-Meier plot.
    """
    t = np.asarray(time, dtype=float).ravel()
    req = np.asarray(times, dtype=float).ravel()
    if group is None:
        return pd.DataFrame({"time": req,
                             "at_risk": t.size - np.searchsorted(np.sort(t), req, side="left")})
    g = pd.Series(np.asarray(group).ravel())
    parts = []
    for level in sorted(g.dropna().unique(), key=str):
        tt = np.sort(t[(g == level).to_numpy()])
        parts.append(pd.DataFrame({"group": level, "time": req,
                                   "at_risk": tt.size - np.searchsorted(tt, req, side="left")}))
    return pd.concat(parts, ignore_index=True)


@dataclasses.dataclass(frozen=True)
class LogRankResult(Result):
    """Log-rank test (R's ``survdiff``, rho = 0).

    Attributes
    ----------
    statistic, df, p_value
    groups : tuple
        Group labels in the order of ``observed`` and ``expected``.
    observed, expected : tuple of float
        Observed and expected numbers of events per group.
    events : int
        Total number of events (the Justice Data Lab asks for at least 30 for
        a time-to-event result to be called significant).
    notes : tuple of str
    """

    statistic: float
    df: int
    p_value: float
    groups: tuple
    observed: tuple
    expected: tuple
    events: int
    notes: tuple[str, ...] = ()


def logrank(time, event, group) -> LogRankResult:
    """Log-rank (Mantel-Haenszel) test that two or more survival curves are equal.

    Parameters
    ----------
    time, event : array-like
        Follow-up time and event indicator (1 = event, 0 = censored).
    group : array-like
        Group label per person (two or more groups).

    Returns
    -------
    LogRankResult
        As R's ``survdiff(Surv(time, event) ~ group)``: at each event time
        the expected events in each group are ``d n_g / n``; the statistic is
        ``(O - E)' V^- (O - E)`` with the hypergeometric variance, on
        ``k - 1`` degrees of freedom (Mantel 1966; Peto and Peto 1972).

    Raises
    ------
    StatsError
        With fewer than two non-empty groups, or no events at all (the
        statistic is then 0/0).
    """
    t, e = _time_event(time, event)
    g = pd.Series(np.asarray(group).ravel())
    if g.size != t.size:
        raise StatsError("group has a different length from time.")
    if g.isna().any():
        raise StatsError("Some group labels are missing.")
    levels = sorted(g.unique(), key=str)
    if len(levels) < 2:
        raise StatsError("The log-rank test needs at least two groups with people in them "
                         f"(found {len(levels)}).")
    if not e.any():
        raise StatsError("Nobody had the event, so survival curves cannot be compared "
                         "(the log-rank statistic is 0/0).")
    gi = pd.Categorical(g, categories=levels).codes
    k = len(levels)
    event_times = np.unique(t[e])
    # at risk per (event time, group): count of times >= u
    risk = np.empty((event_times.size, k))
    deaths = np.empty((event_times.size, k))
    for j in range(k):  # loop over groups, not people
        tj = np.sort(t[gi == j])
        risk[:, j] = tj.size - np.searchsorted(tj, event_times, side="left")
        dj = np.sort(t[(gi == j) & e])
        deaths[:, j] = (np.searchsorted(dj, event_times, side="right")
                        - np.searchsorted(dj, event_times, side="left"))
    n = risk.sum(1)
    d = deaths.sum(1)
    expected = (risk * (d / n)[:, None]).sum(0)
    observed = deaths.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n * n * (n - 1)), 0.0)
    V = np.diag((factor[:, None] * risk * n[:, None]).sum(0)) - (factor[:, None, None] * risk[:, :, None]
                                                                * risk[:, None, :]).sum(0)
    oe = observed - expected
    Vs = V[:-1, :-1]
    stat = float(oe[:-1] @ np.linalg.pinv(Vs) @ oe[:-1])
    df = int(np.linalg.matrix_rank(Vs))
    notes = []
    empty = [str(levels[j]) for j in range(k) if not np.any(gi == j)]
    if empty:
        notes.append(f"Empty group(s): {', '.join(empty)}.")
    return LogRankResult(statistic=stat, df=df, p_value=float(_st.chi2.sf(stat, df)),
                         groups=tuple(v.item() if hasattr(v, 'item') else v for v in levels),
                         observed=tuple(float(x) for x in observed),
                         expected=tuple(float(x) for x in expected), events=int(e.sum()),
                         notes=tuple(notes))


def cox(data: pd.DataFrame, duration: str, event: str, covariates: Sequence[str], *,
        ties: str = "efron", alpha: float = 0.05, reference: dict | None = None) -> pd.DataFrame:
    """Cox proportional hazards model.

    Parameters
    ----------
    data : pandas.DataFrame
    duration, event : str
        Columns with follow-up time and the event indicator (1/True = event).
    covariates : list of str
        Numeric, boolean or categorical columns. Categorical (string,
        categorical) columns are dummy-coded against a reference level:
        ``reference[column]`` or, by default, the first level in sorted order
        (R's factor default). Dummy terms are named ``"column[level]"``.
    ties : {"efron", "breslow"}
        Handling of tied event times; Efron is R's ``coxph`` default.
    alpha : float
        One minus the confidence level.
    reference : dict, optional
        Reference level per categorical column.

    Returns
    -------
    pandas.DataFrame
        Indexed by term, with columns ``coef, se, hazard_ratio, ci_low,
        ci_high, z, p_value`` (Wald tests and intervals, as R's
        ``summary(coxph(...))``); ``ci_low``/``ci_high`` are for the hazard
        ratio. ``df.attrs`` holds ``n``, ``events`` and ``warnings`` (e.g. a
        constant covariate that was dropped).

    Notes
    -----
    Fitted by Newton-Raphson on the partial likelihood with statsmodels'
    ``PHReg`` (which implements Breslow's and Efron's approximations).

    Raises
    ------
    StatsError
        With no events, no usable covariates, or a coefficient that does not
        converge (monotone likelihood: e.g. no events in one group of a binary
        covariate, so its hazard ratio is 0 or infinite).
    """
    from statsmodels.duration.hazard_regression import PHReg

    alpha = check_alpha(alpha)
    if ties not in ("efron", "breslow"):
        raise StatsError("ties must be 'efron' or 'breslow'.")
    for col in (duration, event):
        if col not in data.columns:
            raise StatsError(f"Column '{col}' not found in the data.")
    t, e = _time_event(data[duration], data[event])
    if not e.any():
        raise StatsError("Nobody had the event, so a Cox model cannot be fitted.")
    X, notes = design_matrix(data, list(covariates), reference=reference, intercept=False)
    if X.shape[1] == 0:
        raise StatsError("No covariate varies in the data: there is nothing to model.")
    notes = list(notes)
    model = PHReg(t, X.to_numpy(), status=e.astype(float), ties=ties)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is checked below, with a clear message
        fit = model.fit(disp=False)
    params = np.asarray(fit.params)
    se = np.asarray(fit.bse)
    converged = bool(getattr(fit, "mle_retvals", {}).get("converged", True))
    if (not converged or not np.all(np.isfinite(se)) or np.any(np.abs(params) > 20)
            or np.any(se > 1e3)):
        bad = [c for c, p, s in zip(X.columns, params, se, strict=True)
               if not np.isfinite(s) or abs(p) > 20 or s > 1e3] or list(X.columns)
        raise StatsError(
            "The Cox model did not converge for " + ", ".join(bad) + ": the partial likelihood "
            "is monotone (for example, nobody in one group had the event), so the hazard ratio "
            "is 0 or infinite and cannot be estimated. Merge categories or report counts.")
    z = z_value(alpha)
    stat = params / se
    out = pd.DataFrame({
        "coef": params, "se": se, "hazard_ratio": np.exp(params),
        "ci_low": np.exp(params - z * se), "ci_high": np.exp(params + z * se),
        "z": stat, "p_value": 2 * _st.norm.sf(np.abs(stat)),
    }, index=pd.Index(X.columns, name="term"))
    out.attrs.update(n=int(t.size), events=int(e.sum()), warnings=tuple(notes), ties=ties)
    if int(e.sum()) < 10 * X.shape[1]:
        msg = (f"Only {int(e.sum())} events for {X.shape[1]} term(s): fewer than 10 events per "
               "term, so estimates may be unstable (Peduzzi et al. 1995).")
        out.attrs["warnings"] = (*out.attrs["warnings"], msg)
        warn(msg)
    if math.isnan(out["coef"].sum()):
        raise StatsError("The Cox model returned missing estimates.")
    return out
