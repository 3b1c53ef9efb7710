"""Tests on contingency tables: Fisher's exact test, Pearson's chi-square, McNemar.

Each follows the R function of the same name (``fisher.test``, ``chisq.test``,
``mcnemar.test``, R Core Team) so that published R output can be reproduced.

References
----------
Fisher RA (1935). The logic of inductive inference. *JRSS* 98:39-82.
Cornfield J (1956). A statistical problem arising from retrospective studies.
*Proc. Third Berkeley Symposium* 4:135-148 (conditional MLE and exact interval).
Mehta CR, Patel NR (1983). A network algorithm for performing Fisher's exact
test in r x c contingency tables. *JASA* 78:427-434.
Agresti A (2002). *Categorical Data Analysis*, 2nd ed. Wiley. Sections 3.5, 10.1.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize as _opt
from scipy import special as _sp
from scipy import stats as _st

from ._utils import Result, StatsError, as_table, check_alpha

__all__ = [
    "fisher_exact", "chi_square", "mcnemar",
    "FisherResult", "ChiSquareResult", "McNemarResult",
]

_REL_ERR = 1.0 + 1e-7  # R's fisher.test tolerance when comparing table probabilities
_EPS = np.finfo(float).eps


@dataclasses.dataclass(frozen=True)
class FisherResult(Result):
    """Fisher's exact test.

    Attributes
    ----------
    p_value : float
    odds_ratio : float
        Conditional maximum-likelihood estimate (2x2 only; NaN for larger tables).
    odds_ratio_ci : (float, float)
        Exact conditional interval (2x2 only; may be 0 or inf at a boundary).
    alternative : str
    alpha : float
    """

    p_value: float
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    alternative: str
    alpha: float


@dataclasses.dataclass(frozen=True)
class ChiSquareResult(Result):
    """Pearson's chi-square test of independence.

    Attributes
    ----------
    statistic, df, p_value
    expected : numpy.ndarray
        Expected counts under independence (not in ``to_frame()``).
    correction : bool
        Whether Yates' continuity correction was applied (2x2 only).
    notes : tuple of str
        E.g. a warning that some expected counts are under 5.
    """

    statistic: float
    df: int
    p_value: float
    expected: np.ndarray = dataclasses.field(compare=False)
    correction: bool
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class McNemarResult(Result):
    """McNemar's test of symmetry for paired categorical data.

    Attributes
    ----------
    statistic, df, p_value
    correction : bool
    notes : tuple of str
        Why the statistic is NaN, when it is (no discordant pairs).
    """

    statistic: float
    df: int
    p_value: float
    correction: bool
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------- Fisher 2x2
class _NonCentralHypergeometric:
    """Fisher's noncentral hypergeometric distribution of the (1,1) cell, as in R."""

    def __init__(self, table: np.ndarray):
        self.m = int(table[:, 0].sum())
        self.n = int(table[:, 1].sum())
        self.k = int(table[0, :].sum())
        self.x = int(table[0, 0])
        self.lo = max(0, self.k - self.n)
        self.hi = min(self.k, self.m)
        self.support = np.arange(self.lo, self.hi + 1)
        self.logdc = _st.hypergeom.logpmf(self.support, self.m + self.n, self.m, self.k)

    def d(self, ncp: float) -> np.ndarray:
        lg = self.logdc + math.log(ncp) * self.support
        lg = np.exp(lg - lg.max())
        return lg / lg.sum()

    def mean(self, ncp: float) -> float:
        if ncp == 0:
            return float(self.lo)
        if math.isinf(ncp):
            return float(self.hi)
        return float(np.sum(self.support * self.d(ncp)))

    def p(self, q: int, ncp: float, upper: bool = False) -> float:
        if ncp == 1:
            if upper:
                return float(_st.hypergeom.sf(self.x - 1, self.m + self.n, self.m, self.k))
            return float(_st.hypergeom.cdf(self.x, self.m + self.n, self.m, self.k))
        if ncp == 0:
            return float(q <= self.lo) if upper else float(q >= self.lo)
        if math.isinf(ncp):
            return float(q <= self.hi) if upper else float(q >= self.hi)
        d = self.d(ncp)
        return float(d[self.support >= q].sum() if upper else d[self.support <= q].sum())


def _root(f, lower: float, upper: float) -> float:
    return float(_opt.brentq(f, lower, upper, xtol=1e-14, rtol=4 * _EPS, maxiter=500))


def _fisher_2x2(table: np.ndarray, alternative: str, alpha: float) -> FisherResult:
    h = _NonCentralHypergeometric(table)
    x, lo, hi = h.x, h.lo, h.hi

    # p-value at odds ratio 1
    if alternative == "less":
        p_value = h.p(x, 1.0)
    elif alternative == "greater":
        p_value = h.p(x, 1.0, upper=True)
    else:
        d = h.d(1.0)
        p_value = float(d[d <= d[x - lo] * _REL_ERR].sum())

    # conditional MLE
    if x == lo and x == hi:
        est = math.nan
    elif x == lo:
        est = 0.0
    elif x == hi:
        est = math.inf
    else:
        mu = h.mean(1.0)
        if mu > x:
            est = _root(lambda t: h.mean(t) - x, 0.0, 1.0)
        elif mu < x:
            est = 1.0 / _root(lambda t: h.mean(1.0 / t) - x, _EPS, 1.0)
        else:
            est = 1.0

    def ncp_upper(a: float) -> float:
        if x == hi:
            return math.inf
        p = h.p(x, 1.0)
        if p < a:
            return _root(lambda t: h.p(x, t) - a, 0.0, 1.0)
        if p > a:
            return 1.0 / _root(lambda t: h.p(x, 1.0 / t) - a, _EPS, 1.0)
        return 1.0

    def ncp_lower(a: float) -> float:
        if x == lo:
            return 0.0
        p = h.p(x, 1.0, upper=True)
        if p > a:
            return _root(lambda t: h.p(x, t, upper=True) - a, 0.0, 1.0)
        if p < a:
            return 1.0 / _root(lambda t: h.p(x, 1.0 / t, upper=True) - a, _EPS, 1.0)
        return 1.0

    if lo == hi:
        ci = (math.nan, math.nan)
    elif alternative == "less":
        ci = (0.0, ncp_upper(alpha))
    elif alternative == "greater":
        ci = (ncp_lower(alpha), math.inf)
    else:
        ci = (ncp_lower(alpha / 2.0), ncp_upper(alpha / 2.0))
    return FisherResult(p_value=min(1.0, p_value), odds_ratio=float(est),
                        odds_ratio_ci=(float(ci[0]), float(ci[1])),
                        alternative=alternative, alpha=alpha)


# --------------------------------------------------------------------- Fisher r x c
def _compositions(total: int, caps: np.ndarray) -> np.ndarray:
    """All vectors of non-negative ints ``v`` with ``v <= caps`` summing to ``total``."""
    caps = np.asarray(caps, dtype=np.int64)
    k = caps.size
    tail = np.concatenate([np.cumsum(caps[::-1])[::-1][1:], [0]])  # capacity after each part
    partial = np.zeros((1, 0), dtype=np.int64)
    used = np.zeros(1, dtype=np.int64)
    for i in range(k - 1):
        rem = total - used
        low = np.maximum(0, rem - tail[i])
        high = np.minimum(caps[i], rem)
        counts = np.maximum(high - low + 1, 0)
        idx = np.repeat(np.arange(used.size), counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        vals = low[idx] + offs
        partial = np.column_stack([partial[idx], vals])
        used = used[idx] + vals
    last = total - used
    ok = (last >= 0) & (last <= caps[-1])
    return np.column_stack([partial[ok], last[ok]])


def _fisher_rxc(table: np.ndarray, max_work: float = 5e7) -> float:
    """Exact two-sided p-value for an r x c table (sum of probabilities of all
    tables with the observed margins no more likely than the observed one).

    Tables are enumerated column by column; the last two columns are joined to
    the first ones by a sorted cumulative sum ("meet in the middle"), a simple
    relative of the network algorithm of Mehta and Patel (1983).
    """
    if table.shape[0] > table.shape[1]:
        table = table.T
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 1.0
    table = table[:, np.argsort(table.sum(0), kind="stable")]
    rows = table.sum(1)
    cols = table.sum(0)
    total = int(table.sum())
    konst = (_sp.gammaln(rows + 1).sum() + _sp.gammaln(cols + 1).sum() - _sp.gammaln(total + 1))
    s_obs = -_sp.gammaln(table + 1).sum()
    threshold = s_obs + math.log(_REL_ERR)
    logfact = _sp.gammaln(np.arange(total + 1) + 1.0)  # log k! by lookup

    # left part: all columns but the last two, as arrays of paths (state, log-weight)
    state = rows[None, :].astype(np.int64)
    logw = np.zeros(1)
    for c in cols[:-2]:
        uniq, inv = np.unique(state, axis=0, return_inverse=True)
        inv = inv.ravel()
        new_state, new_logw = [], []
        for k, s in enumerate(uniq):
            comps = _compositions(int(c), s)
            contrib = -logfact[comps].sum(1)
            members = np.flatnonzero(inv == k)
            new_state.append(np.repeat(s[None, :] - comps, members.size, axis=0))
            new_logw.append((contrib[:, None] + logw[members][None, :]).ravel())
        state = np.concatenate(new_state)
        logw = np.concatenate(new_logw)
        if logw.size > max_work:
            raise StatsError("This table is too large for an exact test here: use chi_square, "
                             "or merge sparse categories.")
    # right part: the last two columns, joined by a sorted cumulative sum
    uniq, inv = np.unique(state, axis=0, return_inverse=True)
    inv = inv.ravel()
    right_work = uniq.shape[0] * math.comb(int(cols[-2]) + table.shape[0] - 1,
                                           table.shape[0] - 1)
    if right_work > 20 * max_work:
        raise StatsError("This table is too large for an exact test here: use chi_square, "
                         "or merge sparse categories.")
    order = np.lexsort((logw, inv))
    inv, logw = inv[order], logw[order]
    bounds = np.searchsorted(inv, np.arange(uniq.shape[0] + 1))
    p_value = 0.0
    for k, s in enumerate(uniq):
        left = logw[bounds[k]:bounds[k + 1]]
        comps = _compositions(int(cols[-2]), s)
        right = -(logfact[comps] + logfact[s - comps]).sum(1)
        top = left[-1]
        cum = np.cumsum(np.exp(left - top))
        idx = np.searchsorted(left, threshold - right, side="right")
        has = idx > 0
        p_value += float(np.sum(cum[idx[has] - 1] * np.exp(konst + top + right[has])))
    return min(1.0, p_value)


def fisher_exact(table, *, alternative: str = "two-sided", alpha: float = 0.05) -> FisherResult:
    """Fisher's exact test, with the conditional MLE odds ratio and its exact interval.

    Parameters
    ----------
    table : array-like or DataFrame
        Contingency table of counts. For a 2x2 table ``[[a, b], [c, d]]`` the
        odds ratio is ``(a/b) / (c/d)`` (rows are groups, first column the
        outcome), as in R.
    alternative : {"two-sided", "less", "greater"}
        Alternatives other than two-sided apply to 2x2 tables only.
    alpha : float
        One minus the confidence level of the interval.

    Returns
    -------
    FisherResult

    Notes
    -----
    For a 2x2 table this reproduces R's ``fisher.test``: the p-value sums the
    probabilities of all tables with the observed margins that are no more
    likely than the observed one (relative tolerance 1e-7); the odds ratio is
    the conditional maximum-likelihood estimate, i.e. the noncentrality
    parameter of Fisher's noncentral hypergeometric distribution whose mean
    equals the observed count (Cornfield 1956), and the interval inverts the
    two one-sided exact tests. The odds ratio is 0 or infinite, with a
    one-sided interval, when the observed count is at the edge of its range
    (e.g. a zero cell): these are the exact answers, not errors. R finds the
    roots with ``uniroot`` at its default tolerance (about 1e-4 on the
    noncentrality or its reciprocal); we solve to machine precision, so the
    last printed digit may differ from R's.

    For larger tables only the two-sided p-value is computed (exact
    enumeration; Mehta and Patel 1983), and ``odds_ratio`` is NaN.
    """
    alpha = check_alpha(alpha)
    t = as_table(table)
    if alternative not in ("two-sided", "less", "greater"):
        raise StatsError(f"alternative must be 'two-sided', 'less' or 'greater' (got {alternative!r}).")
    if t.sum() == 0:
        raise StatsError("The table is empty (all counts are zero): there is nothing to test.")
    if t.shape == (2, 2):
        return _fisher_2x2(t, alternative, alpha)
    if alternative != "two-sided":
        raise StatsError("One-sided alternatives exist only for 2x2 tables.")
    return FisherResult(p_value=_fisher_rxc(t), odds_ratio=math.nan,
                        odds_ratio_ci=(math.nan, math.nan), alternative=alternative, alpha=alpha)


# --------------------------------------------------------------------- chi-square
def chi_square(table, *, correction: bool = True) -> ChiSquareResult:
    """Pearson's chi-square test of independence for an r x c table.

    Parameters
    ----------
    table : array-like or DataFrame
        Counts, at least 2x2.
    correction : bool
        Apply Yates' continuity correction to 2x2 tables, as R's
        ``chisq.test`` does by default (``|O - E|`` reduced by
        ``min(0.5, |O - E|)``).

    Returns
    -------
    ChiSquareResult
        With a note when any expected count is under 5 (R warns "Chi-squared
        approximation may be incorrect"; Fisher's test is then preferable).

    Raises
    ------
    StatsError
        If a whole row or column is zero (expected counts of zero: the
        statistic is not defined).
    """
    t = as_table(table).astype(float)
    n = t.sum()
    if n == 0 or np.any(t.sum(0) == 0) or np.any(t.sum(1) == 0):
        raise StatsError("A row or column of the table is all zeros, so the chi-square statistic "
                         "is not defined; drop that category or use fisher_exact.")
    expected = np.outer(t.sum(1), t.sum(0)) / n
    diff = np.abs(t - expected)
    use_yates = bool(correction and t.shape == (2, 2))
    if use_yates:
        diff = diff - min(0.5, float(diff.min()))
    stat = float(np.sum(diff ** 2 / expected))
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    notes = ()
    if np.any(expected < 5):
        notes = ("Some expected counts are under 5: the chi-square approximation may be "
                 "poor; prefer Fisher's exact test.",)
    return ChiSquareResult(statistic=stat, df=df, p_value=float(_st.chi2.sf(stat, df)),
                           expected=expected, correction=use_yates, notes=notes)


# --------------------------------------------------------------------- McNemar
def mcnemar(table, *, correction: bool = True) -> McNemarResult:
    """McNemar's chi-square test for paired data (symmetry of a square table).

    Parameters
    ----------
    table : array-like
        Square table: rows the first measurement, columns the second (e.g.
        rows "before", columns "after").
    correction : bool
        Continuity correction for 2x2 tables (R's default):
        ``(|b - c| - 1)^2 / (b + c)``.

    Returns
    -------
    McNemarResult
        As R's ``mcnemar.test`` (McNemar 1947; Agresti 1990, pp. 350-354).
        With no discordant pairs the statistic is 0/0: it is returned as NaN
        with a note, as R does.
    """
    t = as_table(table).astype(float)
    r = t.shape[0]
    if t.shape[0] != t.shape[1]:
        raise StatsError("McNemar's test needs a square table (same categories before and after).")
    iu = np.triu_indices(r, 1)
    upper, lower = t[iu], t.T[iu]
    df = r * (r - 1) // 2
    notes: tuple[str, ...] = ()
    num = np.abs(upper - lower)
    use_cc = bool(correction and r == 2)
    if use_cc:
        num = num - 1.0
    den = upper + lower
    if np.any(den == 0):
        notes = ("No discordant pairs for at least one pair of categories: the McNemar "
                 "statistic is not defined (0/0); nobody changed category.",)
        return McNemarResult(statistic=math.nan, df=df, p_value=math.nan,
                             correction=use_cc, notes=notes)
    stat = float(np.sum(num ** 2 / den))
    return McNemarResult(statistic=stat, df=df, p_value=float(_st.chi2.sf(stat, df)),
                         correction=use_cc, notes=notes)
