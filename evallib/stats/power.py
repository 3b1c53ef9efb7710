"""Power and the minimum detectable difference for two proportions.

An evaluation with 17 completers and 5 non-completers can only ever detect a
very large difference. Stating that difference next to a non-significant result
is what stops "inconclusive" being read as "no effect".

References
----------
Fleiss JL, Levin B, Paik MC (2003). *Statistical Methods for Rates and
Proportions*, 3rd ed. Wiley, section 4.2 (normal approximation; the formula of
R's ``power.prop.test``).
Cohen J (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd
ed., chapter 6 (effect size h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0)); the
formula of the R package pwr, ``pwr.2p2n.test``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize as _opt
from scipy import stats as _st

from ._utils import Result, StatsError, check_alpha

__all__ = ["minimum_detectable_difference", "power_two_proportions", "MinimumDetectableDifference"]

_METHODS = ("normal", "arcsine")


@dataclasses.dataclass(frozen=True)
class MinimumDetectableDifference(Result):
    """The smallest true difference in proportions the group sizes would detect.

    Attributes
    ----------
    difference : float
        Size of the smallest detectable difference, ``|p1 - p0|`` (a positive
        number; NaN with a note if no difference in that direction is
        detectable). ``float(result)`` gives it.
    p1 : float
        The group-1 proportion at that difference.
    p0, nobs1, nobs0, alpha, power, method, direction
        The inputs.
    cohens_h : float
        The same difference as Cohen's effect size h.
    notes : tuple of str
    """

    difference: float
    p1: float
    p0: float
    nobs1: int
    nobs0: int
    alpha: float
    power: float
    method: str
    direction: str
    cohens_h: float
    notes: tuple[str, ...] = ()

    def __float__(self) -> float:
        return float(self.difference)


def _check_n(nobs1, nobs0) -> tuple[int, int]:
    n1, n0 = int(nobs1), int(nobs0)
    if n1 != nobs1 or n0 != nobs0 or n1 < 1 or n0 < 1:
        raise StatsError("Both groups need at least one person for a power calculation "
                         f"(got {nobs1} and {nobs0}).")
    return n1, n0


def _power_normal(p1, p0, n1, n0, z):
    pbar = (n1 * p1 + n0 * p0) / (n1 + n0)
    null_sd = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    alt_sd = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _st.norm.cdf((np.abs(p1 - p0) - z * null_sd) / alt_sd)


def _cohens_h(p1, p0):
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0))


def power_two_proportions(p1: float, p0: float, nobs1: int, nobs0: int, *, alpha: float = 0.05,
                          method: str = "normal", alternative: str = "two-sided") -> float:
    """Power of a test comparing two independent proportions.

    Parameters
    ----------
    p1, p0 : float
        True proportions in group 1 and group 0.
    nobs1, nobs0 : int
        Group sizes.
    alpha : float
        Significance level.
    method : {"normal", "arcsine"}
        ``"normal"``: the normal approximation with the pooled variance under
        the null (Fleiss et al. 2003); with equal groups this is R's
        ``power.prop.test`` (which ignores the far tail, ``strict = FALSE``).
        ``"arcsine"``: Cohen's h with ``n = n1 n0 / (n1 + n0)``, as
        ``pwr::pwr.2p2n.test`` (which counts both tails when two-sided).
    alternative : {"two-sided", "greater", "less"}
        Only for ``"arcsine"``; "greater" means ``p1 > p0``.

    Returns
    -------
    float
    """
    alpha = check_alpha(alpha)
    n1, n0 = _check_n(nobs1, nobs0)
    if method == "normal":
        if alternative != "two-sided":
            raise StatsError("The normal method is two-sided only.")
        return float(_power_normal(p1, p0, n1, n0, _st.norm.ppf(1 - alpha / 2)))
    if method != "arcsine":
        raise StatsError(f"Unknown method '{method}': choose one of {', '.join(_METHODS)}.")
    h = _cohens_h(p1, p0)
    k = math.sqrt(n1 * n0 / (n1 + n0))
    if alternative == "two-sided":
        z = _st.norm.ppf(1 - alpha / 2)
        return float(_st.norm.cdf(h * k - z) + _st.norm.cdf(-h * k - z))
    z = _st.norm.ppf(1 - alpha)
    sign = 1.0 if alternative == "greater" else -1.0
    return float(_st.norm.cdf(sign * h * k - z))


def minimum_detectable_difference(nobs1: int, nobs0: int, p0: float, *, alpha: float = 0.05,
                                  power: float = 0.8, method: str = "normal",
                                  direction: str = "decrease") -> MinimumDetectableDifference:
    """Smallest true difference in proportions these group sizes would detect.

    Answers: "with ``nobs1`` people in group 1 and ``nobs0`` in group 0, and a
    rate of ``p0`` in group 0, how large would the true difference have to be
    for a two-sided test at level ``alpha`` to find it with probability
    ``power``?"

    Parameters
    ----------
    nobs1, nobs0 : int
        Group sizes (group 1: e.g. completers).
    p0 : float
        Proportion with the outcome in group 0 (e.g. the observed
        non-completer reoffending rate), strictly between 0 and 1.
    alpha : float
        Two-sided significance level.
    power : float
        Required power (probability of a significant result).
    method : {"normal", "arcsine"}
        ``"normal"`` (default): normal approximation with the pooled null
        variance, the formula of R's ``power.prop.test`` extended to unequal
        groups (identical to it for equal groups; far tail ignored).
        ``"arcsine"``: Cohen's h, as ``pwr::pwr.2p2n.test`` (both tails),
        converted back to a proportion around ``p0``.
    direction : {"decrease", "increase"}
        Whether group 1's rate is lower (a reduction in reoffending: the
        default) or higher than ``p0``. The test itself is two-sided; the
        detectable difference is not symmetric because the binomial variance
        depends on the rate.

    Returns
    -------
    MinimumDetectableDifference
        ``difference`` is ``|p1 - p0|`` as a positive number; NaN with a note
        when no difference in that direction reaches the power (e.g. a
        reduction from a 5% rate with tiny groups).
    """
    alpha = check_alpha(alpha)
    n1, n0 = _check_n(nobs1, nobs0)
    if not 0 < p0 < 1:
        raise StatsError(f"p0 must be strictly between 0 and 1 (got {p0}).")
    if not 0 < power < 1 or power <= alpha / 2:
        raise StatsError(f"power must be between alpha/2 and 1 (got {power}).")
    if direction not in ("decrease", "increase"):
        raise StatsError("direction must be 'decrease' or 'increase'.")
    sign = -1.0 if direction == "decrease" else 1.0
    notes: list[str] = []
    if method == "normal":
        z = _st.norm.ppf(1 - alpha / 2)
        edge = 0.0 if sign < 0 else 1.0
        if _power_normal(edge, p0, n1, n0, z) < power:
            p1 = math.nan
        else:
            p1 = float(_opt.brentq(lambda p: _power_normal(p, p0, n1, n0, z) - power,
                                   p0, edge, xtol=1e-12, rtol=1e-12))
    elif method == "arcsine":
        z = _st.norm.ppf(1 - alpha / 2)
        k = math.sqrt(n1 * n0 / (n1 + n0))
        h = float(_opt.brentq(lambda h: _st.norm.cdf(h * k - z) + _st.norm.cdf(-h * k - z) - power,
                              1e-10, 50.0, xtol=1e-12))
        angle = math.asin(math.sqrt(p0)) + sign * h / 2
        p1 = math.sin(angle) ** 2 if 0 <= angle <= math.pi / 2 else math.nan
    else:
        raise StatsError(f"Unknown method '{method}': choose one of {', '.join(_METHODS)}.")
    if math.isnan(p1):
        notes.append(f"No {direction} from a rate of {p0:.1%} would be detected with "
                     f"{power:.0%} power with groups of {n1} and {n0}.")
        diff, h_out = math.nan, math.nan
    else:
        diff, h_out = abs(p1 - p0), _cohens_h(p1, p0)
    return MinimumDetectableDifference(
        difference=diff, p1=p1, p0=float(p0), nobs1=n1, nobs0=n0, alpha=alpha, power=float(power),
        method=method, direction=direction, cohens_h=h_out, notes=tuple(notes))
