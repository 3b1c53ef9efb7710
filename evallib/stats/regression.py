"""Logistic regression: the covariate-adjusted comparison of a binary outcome.

Completers are a selected group (lower risk, fewer needs, more motivated), so
the adjusted odds ratio of completion, holding the recorded covariates fixed,
is reported beside the raw comparison.

References
----------
McCullagh P, Nelder JA (1989). *Generalized Linear Models*, 2nd ed. Chapman &
Hall (iteratively reweighted least squares; R's ``glm``).
Albert A, Anderson JA (1984). On the existence of maximum likelihood estimates
in logistic regression models. *Biometrika* 71:1-10.
Konis K (2007). *Linear programming algorithms for detecting separated data in
binary logistic regression models*. DPhil thesis, University of Oxford (the
linear programme used here, as in R's ``detectseparation``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize as _opt
from scipy import special as _sp
from scipy import stats as _st

from ._utils import SeparationError, StatsError, check_alpha, design_matrix, warn, z_value

__all__ = ["logistic", "fit_logistic"]


def _binary(values, what: str = "outcome") -> np.ndarray:
    s = pd.Series(values)
    if s.isna().any():
        raise StatsError(f"The {what} has {int(s.isna().sum())} missing value(s).")
    try:
        y = s.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise StatsError(f"The {what} must be 0/1 or True/False.") from None
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise StatsError(f"The {what} must be 0/1 or True/False.")
    return y


def separation_direction(X: np.ndarray, y: np.ndarray, tol: float = 1e-7) -> np.ndarray | None:
    """Return a direction ``b`` that separates the data, or None if there is none.

    Solves Konis's (2007) linear programme: maximise ``sum_i s_i x_i'b``
    subject to ``s_i x_i'b >= 0`` for every i and ``-1 <= b <= 1``, with
    ``s_i = 2 y_i - 1``. A positive optimum means complete or quasi-complete
    separation: the likelihood increases without bound along ``b``.
    """
    s = 2.0 * y - 1.0
    A = -(s[:, None] * X)
    c = A.sum(0)  # minimise -sum s x'b
    res = _opt.linprog(c, A_ub=A, b_ub=np.zeros(X.shape[0]), bounds=[(-1, 1)] * X.shape[1],
                       method="highs")
    if res.status != 0 or -res.fun <= tol * max(1.0, np.abs(X).max()):
        return None
    return res.x


def fit_logistic(X: np.ndarray, y: np.ndarray, *, max_iter: int = 50, tol: float = 1e-10):
    """Maximum-likelihood logistic regression by Newton-Raphson (IRLS).

    Returns ``(beta, covariance, converged)``. Convergence uses R's ``glm``
    rule on the relative change in deviance, with a tighter tolerance.
    """
    n, p = X.shape
    beta = np.zeros(p)
    dev_old = np.inf
    converged = False
    for _ in range(max_iter):
        eta = X @ beta
        mu = _sp.expit(eta)
        w = mu * (1 - mu)
        grad = X.T @ (y - mu)
        H = (X * w[:, None]).T @ X
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, grad, rcond=None)[0]
        new = beta + step
        dev = -2 * np.sum(y * _sp.log_expit(X @ new) + (1 - y) * _sp.log_expit(-(X @ new)))
        halvings = 0
        while dev > dev_old + 1e-12 and halvings < 30:
            step /= 2
            new = beta + step
            dev = -2 * np.sum(y * _sp.log_expit(X @ new) + (1 - y) * _sp.log_expit(-(X @ new)))
            halvings += 1
        beta = new
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    mu = _sp.expit(X @ beta)
    H = (X * (mu * (1 - mu))[:, None]).T @ X
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.nan)
    return beta, cov, converged


def logistic(data: pd.DataFrame, outcome: str, covariates: Sequence[str], *,
             reference: dict | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Logistic regression of a binary outcome on covariates.

    Parameters
    ----------
    data : pandas.DataFrame
    outcome : str
        Binary column (0/1 or False/True), e.g. ``reoffended_any``.
    covariates : list of str
        Numeric, boolean or categorical columns; put the comparison of
        interest (e.g. ``completed``) first. String or categorical columns are
        dummy-coded against a reference level: ``reference[column]`` or the
        first level in sorted order (R's factor default); dummy terms are
        named ``"column[level]"``.
    reference : dict, optional
        Reference level per categorical column.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (``Intercept`` first) with columns ``coef, se, z,
        p_value, ci_low, ci_high, odds_ratio, odds_ratio_ci_low,
        odds_ratio_ci_high``. ``coef`` is the log-odds ratio; ``ci_low`` and
        ``ci_high`` are Wald limits for ``coef`` (R's ``confint.default``);
        the odds-ratio limits are their exponentials. ``df.attrs`` holds
        ``n``, ``events``, ``deviance``, ``converged`` and ``warnings``
        (e.g. a constant covariate that was dropped; fewer than 10 events per
        term).

    Raises
    ------
    StatsError
        If the outcome is missing, not binary, or the same for everyone (no
        events, or all events).
    SeparationError
        If a covariate or combination perfectly predicts the outcome
        (complete or quasi-complete separation; Albert and Anderson 1984): the
        odds ratio is then infinite and no estimate or interval exists.
        Detected with Konis's linear programme after a fit whose linear
        predictor runs off to +-infinity.
    """
    alpha = check_alpha(alpha)
    if outcome not in data.columns:
        raise StatsError(f"Outcome column '{outcome}' not found in the data.")
    y = _binary(data[outcome])
    if y.size == 0:
        raise StatsError("There are no people to analyse (empty data).")
    if y.sum() == 0 or y.sum() == y.size:
        what = "Nobody" if y.sum() == 0 else "Everybody"
        raise StatsError(f"{what} analysed had the outcome '{outcome}', so there is nothing for a "
                         "model to explain: report the count instead.")
    X, notes = design_matrix(data, list(covariates), reference=reference, intercept=True)
    notes = list(notes)
    Xa = X.to_numpy(dtype=float)
    if np.linalg.matrix_rank(Xa) < Xa.shape[1]:
        raise StatsError("The covariates are collinear (one is a combination of the others), so "
                         "their separate effects cannot be estimated: drop one of them.")
    beta, cov, converged = fit_logistic(Xa, y)
    eta = Xa @ beta
    if not converged or np.max(np.abs(eta)) > 15:
        direction = separation_direction(Xa, y)
        if direction is not None:
            terms = [c for c, b in zip(X.columns, direction, strict=True)
                     if abs(b) > 1e-6 and c != "Intercept"]
            raise SeparationError(
                "Perfect separation: the outcome is completely predicted by "
                + (", ".join(terms) if terms else "the covariates")
                + " (for example, nobody in one category had the outcome), so the odds ratio "
                "is infinite and cannot be estimated. Merge sparse categories, drop the "
                "covariate, or use an exact or penalised (Firth) method.")
    if not converged:
        notes.append("The model did not converge; estimates may be unreliable.")
        warn(notes[-1])
    se = np.sqrt(np.diag(cov))
    z = z_value(alpha)
    stat = beta / se
    low, high = beta - z * se, beta + z * se
    out = pd.DataFrame({
        "coef": beta, "se": se, "z": stat, "p_value": 2 * _st.norm.sf(np.abs(stat)),
        "ci_low": low, "ci_high": high, "odds_ratio": np.exp(beta),
        "odds_ratio_ci_low": np.exp(low), "odds_ratio_ci_high": np.exp(high),
    }, index=pd.Index(X.columns, name="term"))
    events = int(min(y.sum(), y.size - y.sum()))
    n_terms = Xa.shape[1] - 1
    if n_terms and events < 10 * n_terms:
        notes.append(f"Only {events} people in the smaller outcome group for {n_terms} term(s): "
                     "fewer than 10 per term, so estimates may be unstable (Peduzzi et al. 1996).")
        warn(notes[-1])
    mu = _sp.expit(eta)
    deviance = float(-2 * np.sum(y * np.log(np.clip(mu, 1e-300, 1))
                                 + (1 - y) * np.log(np.clip(1 - mu, 1e-300, 1))))
    out.attrs.update(n=int(y.size), events=int(y.sum()), deviance=deviance,
                     converged=bool(converged), warnings=tuple(notes))
    return out
