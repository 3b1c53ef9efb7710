"""One proportion and the comparison of two independent proportions.

References
----------
Newcombe RG (1998a). Two-sided confidence intervals for the single proportion:
comparison of seven methods. *Statistics in Medicine* 17:857-872.
Newcombe RG (1998b). Interval estimation for the difference between independent
proportions: comparison of eleven methods. *Statistics in Medicine* 17:873-890.
Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial
proportion. *Statistical Science* 16:101-133.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats as _st

from ._utils import Result, StatsError, check_alpha, check_count, z_value

__all__ = ["proportion_ci", "compare_proportions", "ProportionComparison"]

_METHODS = ("wilson", "exact", "jeffreys")


def proportion_ci(count: int, nobs: int, *, method: str = "wilson", alpha: float = 0.05
                  ) -> tuple[float, float]:
    """Confidence interval for one binomial proportion.

    Parameters
    ----------
    count, nobs : int
        Number of events and number of people (``0 <= count <= nobs``, ``nobs >= 1``).
    method : {"wilson", "exact", "jeffreys"}
        ``"wilson"``: the score interval without continuity correction
        (Wilson 1927; method 3 of Newcombe 1998a), the default for every rate
        this suite publishes. ``"exact"``: Clopper-Pearson (1934), from beta
        quantiles (method 5 of Newcombe 1998a; R's ``binom.test``).
        ``"jeffreys"``: equal-tailed Jeffreys interval with the boundary
        modification of Brown, Cai and DasGupta (2001): lower limit 0 when
        ``count == 0`` and upper limit 1 when ``count == nobs``.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    (low, high) : tuple of float
        Always inside ``[0, 1]`` and containing ``count / nobs``; defined at
        ``count == 0`` and ``count == nobs``.

    Raises
    ------
    StatsError
        If ``nobs == 0`` (no rate exists) or the counts are impossible.
    """
    alpha = check_alpha(alpha)
    x, n = check_count(count, nobs)
    if method == "wilson":
        z = z_value(alpha)
        p = x / n
        centre = (x + z * z / 2.0) / (n + z * z)
        half = z * math.sqrt(n * p * (1.0 - p) + z * z / 4.0) / (n + z * z)
        low, high = centre - half, centre + half
        # exact boundary values (rounding could otherwise give -1e-17)
        low = 0.0 if x == 0 else low
        high = 1.0 if x == n else high
    elif method == "exact":
        low = 0.0 if x == 0 else float(_st.beta.ppf(alpha / 2.0, x, n - x + 1))
        high = 1.0 if x == n else float(_st.beta.ppf(1.0 - alpha / 2.0, x + 1, n - x))
    elif method == "jeffreys":
        low = 0.0 if x == 0 else float(_st.beta.ppf(alpha / 2.0, x + 0.5, n - x + 0.5))
        high = 1.0 if x == n else float(_st.beta.ppf(1.0 - alpha / 2.0, x + 0.5, n - x + 0.5))
    else:
        raise StatsError(f"Unknown interval method '{method}': choose one of {', '.join(_METHODS)}.")
    p = x / n
    return (float(min(max(low, 0.0), p)), float(max(min(high, 1.0), p)))


@dataclasses.dataclass(frozen=True)
class ProportionComparison(Result):
    """Two independent groups compared on a binary outcome (group 1 minus group 0).

    Attributes
    ----------
    count1, nobs1, count0, nobs0
        Events and people in group 1 (e.g. completers) and group 0.
    rate1, rate0, rate1_ci, rate0_ci
        Proportions with Wilson intervals.
    difference, difference_ci
        ``rate1 - rate0`` with the Newcombe hybrid score interval (method 10).
    risk_ratio, risk_ratio_ci
        ``rate1 / rate0`` with the log (Katz) interval.
    odds_ratio, odds_ratio_ci
        Sample odds ratio with the logit (Woolf) interval.
    test, p_value
        ``"fisher"`` (two-sided exact) when any expected count is under 5,
        otherwise ``"chi2"`` (Pearson with Yates' correction, as R's
        ``chisq.test`` default).
    notes
        Plain-language notes: zero-cell corrections and quantities that are
        not defined (reported as NaN) with the reason.
    """

    count1: int
    nobs1: int
    count0: int
    nobs0: int
    rate1: float
    rate0: float
    rate1_ci: tuple[float, float]
    rate0_ci: tuple[float, float]
    difference: float
    difference_ci: tuple[float, float]
    risk_ratio: float
    risk_ratio_ci: tuple[float, float]
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    test: str
    p_value: float
    alpha: float = 0.05
    notes: tuple[str, ...] = ()


def _newcombe_hybrid(x1: int, n1: int, x0: int, n0: int, alpha: float) -> tuple[float, float]:
    """Newcombe (1998b) method 10: Wilson limits of each rate combined by square-and-add."""
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = proportion_ci(x1, n1, method="wilson", alpha=alpha)
    l0, u0 = proportion_ci(x0, n0, method="wilson", alpha=alpha)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return (max(low, -1.0), min(high, 1.0))


def compare_proportions(count1: int, nobs1: int, count0: int, nobs0: int, *,
                        alpha: float = 0.05) -> ProportionComparison:
    """Compare the proportion with an outcome in two independent groups.

    Group 1 is the group of interest (e.g. completers), group 0 the comparison
    group; every difference and ratio is group 1 relative to group 0.

    Parameters
    ----------
    count1, nobs1 : int
        Events and people in group 1.
    count0, nobs0 : int
        Events and people in group 0.
    alpha : float
        One minus the confidence level of every interval.

    Returns
    -------
    ProportionComparison

    Notes
    -----
    * Difference: Newcombe's hybrid score interval (Newcombe 1998b, method 10),
      which stays inside [-1, 1] and behaves well with small groups and rates
      near 0 or 1.
    * Risk ratio (Katz et al. 1978) and odds ratio (Woolf 1955) use log-scale
      Wald intervals. When a cell of the 2x2 table is zero, 0.5 is added to
      every cell (Haldane 1956; Anscombe 1956) for these two ratios only, and
      a note says so. When a ratio is undefined (no events in either group for
      the risk ratio; no events or all events overall for the odds ratio) it
      is NaN and a note gives the reason.
    * The test is Fisher's exact test (two-sided, as R's ``fisher.test``) when
      any expected count is under 5, otherwise Pearson's chi-square with Yates'
      continuity correction (R's ``chisq.test`` default), following the
      suite's methods (``docs/methods.md``).

    Raises
    ------
    StatsError
        If a group is empty (``nobs == 0``) or the counts are impossible.
    """
    from .contingency import chi_square, fisher_exact

    alpha = check_alpha(alpha)
    a, n1 = check_count(count1, nobs1, what="first group")
    c, n0 = check_count(count0, nobs0, what="second group")
    b, d = n1 - a, n0 - c
    p1, p0 = a / n1, c / n0
    notes: list[str] = []
    z = z_value(alpha)

    # Risk ratio
    if a == 0 and c == 0:
        rr, rr_ci = math.nan, (math.nan, math.nan)
        notes.append("Risk ratio not defined: nobody in either group had the outcome.")
    else:
        aa, cc, m1, m0 = float(a), float(c), float(n1), float(n0)
        if a == 0 or c == 0:
            aa, cc, m1, m0 = a + 0.5, c + 0.5, n1 + 1.0, n0 + 1.0
            notes.append("A group had no events: 0.5 was added to every cell for the risk ratio "
                         "and its interval (Haldane-Anscombe correction).")
        rr = (aa / m1) / (cc / m0)
        se = math.sqrt(max(1 / aa - 1 / m1 + 1 / cc - 1 / m0, 0.0))
        rr_ci = (rr * math.exp(-z * se), rr * math.exp(z * se))

    # Odds ratio
    if a + c == 0 or b + d == 0:
        orr, or_ci = math.nan, (math.nan, math.nan)
        what = "nobody" if a + c == 0 else "everybody"
        notes.append(f"Odds ratio not defined: {what} in both groups had the outcome.")
    else:
        cells = np.array([a, b, c, d], dtype=float)
        if np.any(cells == 0):
            cells = cells + 0.5
            notes.append("A cell of the 2x2 table is zero: 0.5 was added to every cell for the "
                         "odds ratio and its interval (Haldane-Anscombe correction).")
        orr = (cells[0] * cells[3]) / (cells[1] * cells[2])
        se = math.sqrt(float(np.sum(1.0 / cells)))
        or_ci = (orr * math.exp(-z * se), orr * math.exp(z * se))

    table = np.array([[a, b], [c, d]])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    if np.any(expected < 5):
        test, p_value = "fisher", fisher_exact(table).p_value
    else:
        test, p_value = "chi2", chi_square(table, correction=True).p_value

    return ProportionComparison(
        count1=a, nobs1=n1, count0=c, nobs0=n0,
        rate1=p1, rate0=p0,
        rate1_ci=proportion_ci(a, n1, alpha=alpha), rate0_ci=proportion_ci(c, n0, alpha=alpha),
        difference=p1 - p0, difference_ci=_newcombe_hybrid(a, n1, c, n0, alpha),
        risk_ratio=float(rr), risk_ratio_ci=(float(rr_ci[0]), float(rr_ci[1])),
        odds_ratio=float(orr), odds_ratio_ci=(float(or_ci[0]), float(or_ci[1])),
        test=test, p_value=float(p_value), alpha=alpha, notes=tuple(notes),
    )
