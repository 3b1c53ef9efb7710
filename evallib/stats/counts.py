"""Rates of counts: how often people reoffend, and incidents before versus after.

References
----------
Cameron AC, Trivedi PK (2013). *Regression Analysis of Count Data*, 2nd ed.
Cambridge University Press (Poisson and negative binomial (NB2) regression;
cluster-robust variances).
Venables WN, Ripley BD (2002). *Modern Applied Statistics with S*, 4th ed.
Springer, section 7.4 (``glm.nb``).
Fay MP (2010). Two-sided exact tests and matching confidence intervals for
discrete data. *R Journal* 2:53-58 (R's ``poisson.test``).
Liang KY, Zeger SL (1986). Longitudinal data analysis using generalized linear
models. *Biometrika* 73:13-22.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._utils import Result, StatsError, check_alpha, design_matrix, warn, z_value

__all__ = [
    "poisson_regression", "negative_binomial_regression", "compare_rates", "paired_rate_ratio",
    "RateComparison", "PairedRateRatio",
]


def _counts(values, what: str) -> np.ndarray:
    y = pd.Series(values)
    if y.isna().any():
        raise StatsError(f"The {what} has {int(y.isna().sum())} missing value(s).")
    y = y.to_numpy(dtype=float)
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise StatsError(f"The {what} must hold whole numbers >= 0 (counts).")
    return y


def _exposure(data: pd.DataFrame, exposure: str | None, n: int) -> np.ndarray:
    if exposure is None:
        return np.ones(n)
    if exposure not in data.columns:
        raise StatsError(f"Exposure column '{exposure}' not found in the data.")
    t = data[exposure].to_numpy(dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise StatsError("Exposure (time at risk) must be positive for everyone: remove people "
                         "with no time at risk, and say so.")
    return t


def _table(params, se, names, alpha, ratio_name):
    z = z_value(alpha)
    stat = params / se
    low, high = params - z * se, params + z * se
    return pd.DataFrame({
        "coef": params, "se": se, "z": stat, "p_value": 2 * _st.norm.sf(np.abs(stat)),
        "ci_low": low, "ci_high": high, ratio_name: np.exp(params),
        f"{ratio_name}_ci_low": np.exp(low), f"{ratio_name}_ci_high": np.exp(high),
    }, index=pd.Index(names, name="term"))


def _prepare(data, outcome, covariates, exposure, reference):
    if outcome not in data.columns:
        raise StatsError(f"Outcome column '{outcome}' not found in the data.")
    y = _counts(data[outcome], f"outcome '{outcome}'")
    if y.size == 0:
        raise StatsError("There are no people to analyse (empty data).")
    if y.sum() == 0:
        raise StatsError(f"Nobody had any '{outcome}': a rate ratio cannot be estimated "
                         "(all rates are zero).")
    X, notes = design_matrix(data, list(covariates), reference=reference, intercept=True)
    t = _exposure(data, exposure, y.size)
    return y, X, t, list(notes)


def _check_groups_with_events(X: pd.DataFrame, y: np.ndarray) -> None:
    for col in X.columns[1:]:
        x = X[col].to_numpy()
        if set(np.unique(x)) <= {0.0, 1.0}:
            for v in (0.0, 1.0):
                if y[x == v].sum() == 0:
                    raise StatsError(
                        f"Nobody with {col} = {int(v)} had any events, so the rate ratio for "
                        f"{col} is 0 or infinite and cannot be estimated: report the counts.")


def poisson_regression(data: pd.DataFrame, outcome: str, covariates: Sequence[str], *,
                       exposure: str | None = None, reference: dict | None = None,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Poisson regression of a count on covariates: rate ratios.

    Parameters
    ----------
    data : pandas.DataFrame
    outcome : str
        Count column (e.g. proven reoffences per person in the window).
    covariates : list of str
        As :func:`evallib.stats.logistic` (categorical columns dummy-coded).
    exposure : str, optional
        Column with each person's time at risk (e.g. days); its log is the
        offset, so the ratios compare rates per unit of exposure.
    reference : dict, optional
        Reference level per categorical column.
    alpha : float

    Returns
    -------
    pandas.DataFrame
        Indexed by term, columns ``coef, se, z, p_value, ci_low, ci_high,
        rate_ratio, rate_ratio_ci_low, rate_ratio_ci_high`` (Wald; ``ci_*``
        on the log scale), as R's ``glm(family = poisson)`` with
        ``offset(log(exposure))``. ``df.attrs`` holds ``n``, ``deviance``,
        ``dispersion`` (Pearson chi-square / df) and ``warnings``: counts of
        reoffending are usually over-dispersed, and a dispersion well above 1
        means the Poisson intervals are too narrow; use
        :func:`negative_binomial_regression`.
    """
    import statsmodels.api as sm

    alpha = check_alpha(alpha)
    y, X, t, notes = _prepare(data, outcome, covariates, exposure, reference)
    _check_groups_with_events(X, y)
    fit = sm.GLM(y, X.to_numpy(), family=sm.families.Poisson(), offset=np.log(t)).fit(tol=1e-12)
    out = _table(np.asarray(fit.params), np.asarray(fit.bse), X.columns, alpha, "rate_ratio")
    df_resid = max(fit.df_resid, 1)
    dispersion = float(fit.pearson_chi2 / df_resid)
    if dispersion > 1.5:
        notes.append(f"The counts are over-dispersed (Pearson dispersion {dispersion:.2f}): "
                     "Poisson intervals are too narrow; prefer the negative binomial model.")
        warn(notes[-1])
    out.attrs.update(n=int(y.size), deviance=float(fit.deviance), dispersion=dispersion,
                     warnings=tuple(notes))
    return out


def negative_binomial_regression(data: pd.DataFrame, outcome: str, covariates: Sequence[str], *,
                                 exposure: str | None = None, reference: dict | None = None,
                                 alpha: float = 0.05) -> pd.DataFrame:
    """Negative binomial (NB2) regression of a count on covariates: rate ratios.

    The variance is ``mu + mu^2 / theta``, which allows for the extra
    variation in reoffending counts (a few people commit many offences). The
    shape ``theta`` is estimated by maximum likelihood jointly with the
    coefficients, as R's ``MASS::glm.nb`` (Venables and Ripley 2002); as
    there, the coefficients' standard errors come from the expected
    information with ``theta`` treated as known.

    Returns
    -------
    pandas.DataFrame
        As :func:`poisson_regression`; ``df.attrs`` holds ``theta`` and its
        standard error ``theta_se``, ``n`` and ``warnings``.
    """
    from statsmodels.discrete.discrete_model import NegativeBinomial

    alpha = check_alpha(alpha)
    y, X, t, notes = _prepare(data, outcome, covariates, exposure, reference)
    _check_groups_with_events(X, y)
    model = NegativeBinomial(y, X.to_numpy(), loglike_method="nb2", offset=np.log(t))
    fit = model.fit(disp=False, maxiter=500, method="bfgs")
    fit = model.fit(start_params=fit.params, disp=False, maxiter=100, method="newton", tol=1e-12)
    params = np.asarray(fit.params)
    bse = np.asarray(fit.bse)
    k = X.shape[1]
    alpha_nb, alpha_se = params[k], bse[k]
    # Standard errors of the coefficients from the expected (Fisher) information
    # with theta treated as known, as R's glm.nb reports them.
    Xa = X.to_numpy(dtype=float)
    mu = t * np.exp(Xa @ params[:k])
    info = (Xa * (mu / (1.0 + alpha_nb * mu))[:, None]).T @ Xa
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    out = _table(params[:k], se, X.columns, alpha, "rate_ratio")
    if not np.all(np.isfinite(bse)) or alpha_nb < 1e-8:
        notes.append("The negative binomial shape is at its boundary (no over-dispersion): "
                     "the Poisson model is adequate.")
        warn(notes[-1])
    out.attrs.update(n=int(y.size), theta=float(1 / alpha_nb),
                     theta_se=float(alpha_se / alpha_nb ** 2), loglik=float(fit.llf),
                     warnings=tuple(notes))
    return out


@dataclasses.dataclass(frozen=True)
class RateComparison(Result):
    """Two event rates compared (group 1 relative to group 0).

    Attributes
    ----------
    count1, exposure1, count0, exposure0
    rate1, rate0 : float
        Events per unit of exposure.
    rate_ratio, rate_ratio_ci : float, (float, float)
        Exact conditional interval (Clopper-Pearson on the binomial split of
        the events), as R's ``poisson.test``.
    p_value : float
        Exact two-sided conditional test of a rate ratio of 1.
    notes : tuple of str
    """

    count1: int
    exposure1: float
    count0: int
    exposure0: float
    rate1: float
    rate0: float
    rate_ratio: float
    rate_ratio_ci: tuple[float, float]
    p_value: float
    alpha: float = 0.05
    notes: tuple[str, ...] = ()


def compare_rates(count1: int, exposure1: float, count0: int, exposure0: float, *,
                  alpha: float = 0.05) -> RateComparison:
    """Compare two Poisson rates exactly (e.g. reoffences per person-year).

    Conditional on the total number of events, group 1's events are binomial
    with probability ``E1 r / (E1 r + E0)`` (``r`` the rate ratio, ``E`` the
    exposures). Inverting the Clopper-Pearson interval and the exact binomial
    test gives R's ``poisson.test(c(count1, count0), c(exposure1,
    exposure0))`` (Fay 2010). Assumes Poisson counts: with repeat offending
    the counts are usually over-dispersed, and a person-level model
    (:func:`negative_binomial_regression`) is preferable.
    """
    alpha = check_alpha(alpha)
    for name, v in (("count1", count1), ("count0", count0)):
        if v < 0 or v != int(v):
            raise StatsError(f"{name} must be a whole number >= 0 (got {v}).")
    for name, v in (("exposure1", exposure1), ("exposure0", exposure0)):
        if not v > 0:
            raise StatsError(f"{name} must be positive: a group with no time at risk has no rate.")
    x1, x0 = int(count1), int(count0)
    n = x1 + x0
    scale = exposure0 / exposure1
    notes: list[str] = []
    if n == 0:
        notes.append("No events in either group: the rate ratio is not defined.")
        return RateComparison(x1, float(exposure1), x0, float(exposure0), 0.0, 0.0, math.nan,
                              (0.0, math.inf), 1.0, alpha, tuple(notes))
    p_null = exposure1 / (exposure1 + exposure0)
    test = _st.binomtest(x1, n, p_null)
    p_low = 0.0 if x1 == 0 else float(_st.beta.ppf(alpha / 2, x1, n - x1 + 1))
    p_high = 1.0 if x1 == n else float(_st.beta.ppf(1 - alpha / 2, x1 + 1, n - x1))
    ci = (p_low / (1 - p_low) * scale, math.inf if p_high == 1 else p_high / (1 - p_high) * scale)
    rr = (x1 / exposure1) / (x0 / exposure0) if x0 > 0 else math.inf
    if x0 == 0:
        notes.append("No events in group 0: the rate ratio is infinite (upper limit infinite).")
    return RateComparison(x1, float(exposure1), x0, float(exposure0), x1 / exposure1,
                          x0 / exposure0, float(rr), (float(ci[0]), float(ci[1])),
                          float(test.pvalue), alpha, tuple(notes))


@dataclasses.dataclass(frozen=True)
class PairedRateRatio(Result):
    """Counts for the same people before and after (e.g. police-recorded incidents).

    Attributes
    ----------
    n : int
        People.
    total_before, total_after : float
        Events in each period.
    rate_before, rate_after : float
        Events per unit of exposure.
    rate_ratio, rate_ratio_ci : float, (float, float)
        After relative to before; interval from a cluster-robust (sandwich)
        variance with people as clusters.
    p_value : float
        Wald test of a ratio of 1.
    notes : tuple of str
    """

    n: int
    total_before: float
    total_after: float
    rate_before: float
    rate_after: float
    rate_ratio: float
    rate_ratio_ci: tuple[float, float]
    p_value: float
    alpha: float = 0.05
    notes: tuple[str, ...] = ()


def paired_rate_ratio(before, after, *, exposure_before=None, exposure_after=None,
                      alpha: float = 0.05) -> PairedRateRatio:
    """Rate ratio of events after versus before, for the same people.

    Parameters
    ----------
    before, after : array-like
        Each person's count in the period before (e.g. 12 months before
        referral) and after (e.g. 12 months after exit).
    exposure_before, exposure_after : array-like or float, optional
        Time at risk in each period (default 1 each: equal windows).
    alpha : float

    Returns
    -------
    PairedRateRatio

    Notes
    -----
    The estimate is the ratio of the two overall rates, the maximum-likelihood
    estimate of a Poisson model with a period indicator. Its interval uses the
    cluster-robust sandwich variance with each person as a cluster (Liang and
    Zeger 1986), with the small-sample factor ``G / (G - 1)``; this allows for
    both over-dispersion and the correlation of a person's two counts. It
    equals R's ``sandwich::vcovCL(glm(count ~ period + offset(log(exposure)),
    poisson), cluster = ~id, type = "HC0")``. A before/after change is not the
    effect of the programme: incidents tend to fall after the peak that led to
    the referral (regression to the mean), so compare with a comparison group.
    """
    alpha = check_alpha(alpha)
    b = _counts(before, "'before' count")
    a = _counts(after, "'after' count")
    if a.size != b.size:
        raise StatsError("before and after must have one value per person (different lengths).")
    g = a.size
    if g < 2:
        raise StatsError("At least two people are needed for a before/after rate ratio.")
    tb = np.broadcast_to(np.asarray(1.0 if exposure_before is None else exposure_before,
                                    dtype=float), b.shape)
    ta = np.broadcast_to(np.asarray(1.0 if exposure_after is None else exposure_after,
                                    dtype=float), a.shape)
    if np.any(tb <= 0) or np.any(ta <= 0):
        raise StatsError("Exposure (time at risk) must be positive in both periods.")
    B, A = b.sum(), a.sum()
    if B == 0:
        raise StatsError("Nobody had any events in the 'before' period, so a rate ratio cannot "
                         "be formed (division by zero): report the counts.")
    notes: list[str] = []
    rate_b, rate_a = B / tb.sum(), A / ta.sum()
    if A == 0:
        notes.append("No events after: the rate ratio is 0 and its log-scale interval is not "
                     "defined.")
        return PairedRateRatio(g, float(B), float(A), float(rate_b), float(rate_a), 0.0,
                               (math.nan, math.nan), math.nan, alpha, tuple(notes))
    mu_b, mu_a = tb * rate_b, ta * rate_a
    # scores for (log rate before, log rate ratio), summed within person
    u = np.column_stack([(b - mu_b) + (a - mu_a), a - mu_a])
    bread = np.array([[mu_b.sum() + mu_a.sum(), mu_a.sum()], [mu_a.sum(), mu_a.sum()]])
    inv = np.linalg.inv(bread)
    V = inv @ (u.T @ u) @ inv * g / (g - 1)
    se = math.sqrt(max(float(V[1, 1]), 0.0))
    rr = rate_a / rate_b
    z = z_value(alpha)
    if se < 1e-12 or int(np.sum((a + b) > 0)) < 2:
        notes.append("The person-level (robust) variance is zero or undefined (fewer than two "
                     "people had events, or everyone's counts moved in exact proportion), so no "
                     "interval can be given.")
        return PairedRateRatio(g, float(B), float(A), float(rate_b), float(rate_a), float(rr),
                               (math.nan, math.nan), math.nan, alpha, tuple(notes))
    stat = math.log(rr) / se
    return PairedRateRatio(
        g, float(B), float(A), float(rate_b), float(rate_a), float(rr),
        (float(rr * math.exp(-z * se)), float(rr * math.exp(z * se))),
        float(2 * _st.norm.sf(abs(stat))), alpha, tuple(notes))
