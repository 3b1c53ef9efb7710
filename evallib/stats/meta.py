"""Pooling a two-group comparison over strata (areas, years): Mantel-Haenszel and random effects.

One area's completers and non-completers are usually too few to say anything. Pooled over
areas (and years) the groups grow, but the areas differ: different programmes, different
people, police data from different forces. So a pooled difference is always computed
*within* each stratum and then combined, never from one table of everybody (which would
mix the areas' differences in completion with their differences in reoffending: Simpson's
paradox). Two ways of combining:

* **Mantel-Haenszel** (fixed effect): one common difference assumed in every stratum,
  weights ``n1 n0 / N`` per stratum. The risk difference and its variance (Greenland and
  Robins 1985; Sato, Greenland and Robins 1989) are written here, because statsmodels'
  :class:`~statsmodels.stats.contingency_tables.StratifiedTable` gives only the pooled
  odds ratio and risk ratio (which are reported beside it).
* **Random effects** (DerSimonian and Laird 1986): the strata's true differences may
  themselves differ, with variance tau-squared; the interval uses the Hartung-Knapp(-Sidik-
  Jonkman) adjustment (a t distribution on k - 1 degrees of freedom with a scale estimated
  from the data), which keeps its coverage when there are only a few strata, as with three
  areas. Built on :func:`statsmodels.stats.meta_analysis.combine_effects`.

Heterogeneity (Cochran's Q, tau-squared, I-squared) is stated in words by
:func:`describe_heterogeneity`, following the Cochrane Handbook's guide to I-squared.

References
----------
Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data from
retrospective studies of disease. *JNCI* 22:719-748.
Greenland S, Robins JM (1985). Estimation of a common effect parameter from sparse
follow-up data. *Biometrics* 41:55-68.
Sato T, Greenland S, Robins JM (1989). On the variance estimator for the Mantel-Haenszel
risk difference. *Biometrics* 45:1323-1324.
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. *Controlled Clinical
Trials* 7:177-188.
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a
single covariate. *Statistics in Medicine* 22:2693-2710.
Roever C, Knapp G, Friede T (2015). Hartung-Knapp-Sidik-Jonkman approach and its
modification for random-effects meta-analysis with few studies. *BMC Medical Research
Methodology* 15:99.
IntHout J, Ioannidis JPA, Borm GF (2014). The Hartung-Knapp-Sidik-Jonkman method for
random effects meta-analysis is straightforward and considerably outperforms the standard
DerSimonian-Laird method. *BMC Medical Research Methodology* 14:25.
Hartung J, Knapp G (2001). A refined method for the meta-analysis of controlled clinical
trials with binary outcome. *Statistics in Medicine* 20:3875-3889.
Sidik K, Jonkman JN (2002). A simple confidence interval for meta-analysis. *Statistics
in Medicine* 21:3153-3159.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis.
*Statistics in Medicine* 21:1539-1558.
Deeks JJ, Higgins JPT, Altman DG (2023). Chapter 10: Analysing data and undertaking
meta-analyses. In *Cochrane Handbook for Systematic Reviews of Interventions*, version
6.4, section 10.10.2 (interpreting I-squared).
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software* 36(3) (``rma.mh``, ``rma``: the reference implementation).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._utils import Result, StatsError, check_alpha, z_value

__all__ = [
    "mantel_haenszel_difference", "random_effects", "pooled_difference", "describe_heterogeneity",
    "describe_pooled", "stratum_table", "MantelHaenszelDifference", "RandomEffects",
]


# ---------------------------------------------------------------------------- inputs
def _strata(count1, nobs1, count0, nobs0, labels=None) -> pd.DataFrame:
    """Check per-stratum counts and return them as a frame (one row per stratum)."""
    arrays = [np.asarray(x, dtype=float).ravel() for x in (count1, nobs1, count0, nobs0)]
    k = arrays[0].size
    if any(a.size != k for a in arrays):
        raise StatsError("count1, nobs1, count0 and nobs0 must have one value per stratum "
                         f"(got {', '.join(str(a.size) for a in arrays)} values).")
    if k == 0:
        raise StatsError("There are no strata to pool.")
    names = [str(x) for x in (labels if labels is not None else range(1, k + 1))]
    if len(names) != k:
        raise StatsError(f"labels has {len(names)} names for {k} strata.")
    a, n1, c, n0 = arrays
    for what, v in (("events", a), ("people", n1), ("events", c), ("people", n0)):
        bad = ~np.isfinite(v) | (v < 0) | (v != np.round(v))
        if bad.any():
            i = int(np.argmax(bad))
            raise StatsError(f"Stratum '{names[i]}': the number of {what} must be a whole number "
                             f">= 0 (got {v[i]}).")
    over = (a > n1) | (c > n0)
    if over.any():
        i = int(np.argmax(over))
        raise StatsError(f"Stratum '{names[i]}' has more events than people in a group "
                         f"({int(a[i])} of {int(n1[i])}; {int(c[i])} of {int(n0[i])}).")
    return pd.DataFrame({"stratum": names, "count1": a.astype(int), "nobs1": n1.astype(int),
                         "count0": c.astype(int), "nobs0": n0.astype(int)})


def _rd_effects(t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each stratum's risk difference and variance from statsmodels' ``effectsize_2proportions``.

    As metafor's ``escalc`` (``add=1/2, to="only0"``): 0.5 is added to every cell of a
    table holding a zero, and only of such a table, so that no stratum has a zero variance.
    (statsmodels' own ``zero_correction`` would shift the proportions of every table.)
    """
    from statsmodels.stats.meta_analysis import effectsize_2proportions

    a, n1, c, n0 = (t[col].to_numpy(dtype=float) for col in ("count1", "nobs1", "count0", "nobs0"))
    zero = (a == 0) | (a == n1) | (c == 0) | (c == n0)
    a, c = a + 0.5 * zero, c + 0.5 * zero
    n1, n0 = n1 + 1.0 * zero, n0 + 1.0 * zero
    eff, var = effectsize_2proportions(a, n1, c, n0, statistic="diff")
    return np.asarray(eff, dtype=float), np.asarray(var, dtype=float)


def stratum_table(count1, nobs1, count0, nobs0, labels=None, *, alpha: float = 0.05) -> pd.DataFrame:
    """Each stratum's rates and difference, with the Mantel-Haenszel and inverse-variance weights.

    One row per stratum: ``stratum, count1, nobs1, count0, nobs0, rate1, rate0, difference,
    variance`` (``p1 (1 - p1) / n1 + p0 (1 - p0) / n0``, with 0.5 added to every cell of a
    table holding a zero, as metafor's ``escalc``), ``ci_low, ci_high`` (Newcombe's hybrid
    score interval, as for a single area), ``weight_mh`` (share of the Mantel-Haenszel
    weight ``n1 n0 / N``) and ``usable`` (both groups have people). Unsuppressed: pass it
    through disclosure control before publishing.
    """
    from .proportions import compare_proportions

    alpha = check_alpha(alpha)
    t = _strata(count1, nobs1, count0, nobs0, labels)
    usable = (t["nobs1"] > 0) & (t["nobs0"] > 0)
    t["usable"] = usable
    with np.errstate(divide="ignore", invalid="ignore"):
        t["rate1"] = t["count1"] / t["nobs1"].where(t["nobs1"] > 0)
        t["rate0"] = t["count0"] / t["nobs0"].where(t["nobs0"] > 0)
    t["difference"] = t["rate1"] - t["rate0"]
    t["variance"] = np.nan
    t.loc[usable, "variance"] = _rd_effects(t[usable])[1]
    lows, highs = [], []
    for r in t.itertuples():  # one row per stratum (a handful), not per person
        if r.usable:
            lo, hi = compare_proportions(r.count1, r.nobs1, r.count0, r.nobs0, alpha=alpha).difference_ci
        else:
            lo, hi = math.nan, math.nan
        lows.append(lo)
        highs.append(hi)
    t["ci_low"], t["ci_high"] = lows, highs
    w = np.where(usable, t["nobs1"] * t["nobs0"] / (t["nobs1"] + t["nobs0"]).where(usable, 1), 0.0)
    t["weight_mh"] = w / w.sum() if w.sum() > 0 else np.nan
    return t[["stratum", "count1", "nobs1", "count0", "nobs0", "rate1", "rate0", "difference",
              "variance", "ci_low", "ci_high", "weight_mh", "usable"]]


# ---------------------------------------------------------------------------- heterogeneity
def describe_heterogeneity(i2: float, q_p_value: float, k: int, *, what: str = "areas") -> str:
    """Heterogeneity in words, for the report: how much the strata's differences disagree.

    I-squared (the share of the spread between strata that is beyond chance) is read with
    the Cochrane Handbook's overlapping guide (section 10.10.2): 0-40% might not be
    important, 30-60% may be moderate, 50-90% may be substantial, 75-100% considerable.
    With fewer than about ten strata Cochran's Q test has little power, so a
    non-significant Q is not taken as evidence that the strata agree.
    """
    if k < 2 or i2 is None or math.isnan(i2):
        return f"With fewer than two {what}, heterogeneity cannot be assessed."
    pct = round(100 * i2)
    if i2 < 0.30:
        band = "might not be important"
    elif i2 < 0.50:
        band = "may be moderate"
    elif i2 < 0.75:
        band = "may be substantial"
    else:
        band = "is considerable"
    sentence = (f"How much the {what}' results differ beyond what chance would give {band} "
                f"(I-squared {pct}%)")
    if q_p_value <= 0.05:
        sentence += (f"; the {what} disagree more than chance alone would explain (Cochran's Q, "
                     f"p = {q_p_value:.3f}), so a single pooled figure hides real differences "
                     f"and the {what}' own results matter.")
    elif k < 10:
        sentence += (f"; with only {k} {what} the test of heterogeneity has little power "
                     f"(Cochran's Q, p = {q_p_value:.2f}), so real differences between {what} "
                     "cannot be ruled out.")
    else:
        sentence += f"; Cochran's Q test found no clear disagreement (p = {q_p_value:.2f})."
    return sentence


# ---------------------------------------------------------------------------- Mantel-Haenszel
@dataclasses.dataclass(frozen=True)
class MantelHaenszelDifference(Result):
    """A Mantel-Haenszel pooled risk difference (group 1 minus group 0) over strata.

    Attributes
    ----------
    difference, difference_ci, se, z, p_value
        The pooled difference with a normal (Wald) interval and test from ``se``.
    variance : str
        ``"sato"`` (Sato, Greenland and Robins 1989; consistent both with many small
        strata and with a few large ones; metafor's ``rma.mh``) or ``"greenland-robins"``
        (Greenland and Robins 1985; RevMan, Stata ``metan``).
    odds_ratio, odds_ratio_ci
        Mantel-Haenszel odds ratio with the Robins-Breslow-Greenland interval
        (statsmodels ``StratifiedTable``).
    risk_ratio
        Mantel-Haenszel risk ratio (statsmodels ``StratifiedTable``).
    cmh_p_value
        Cochran-Mantel-Haenszel test of no association in any stratum.
    q, q_df, q_p_value
        Cochran's Q of the strata's differences about the pooled one (inverse-variance
        weights, as metafor's ``rma.mh``), its degrees of freedom and p-value.
    i2 : float
        ``max(0, (Q - df) / Q)`` (Higgins and Thompson 2002), 0 to 1.
    k : int
        Strata pooled (both groups non-empty); ``k_dropped`` strata had an empty group.
    count1, nobs1, count0, nobs0 : int
        Totals over the strata pooled.
    heterogeneity : str
        :func:`describe_heterogeneity` of this result.
    notes : tuple of str
    """

    difference: float
    difference_ci: tuple[float, float]
    se: float
    z: float
    p_value: float
    variance: str
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    risk_ratio: float
    cmh_p_value: float
    q: float
    q_df: int
    q_p_value: float
    i2: float
    k: int
    k_dropped: int
    count1: int
    nobs1: int
    count0: int
    nobs0: int
    heterogeneity: str
    alpha: float = 0.05
    notes: tuple[str, ...] = ()


def _mh_rd(a, n1, c, n0) -> tuple[float, float, float]:
    """MH risk difference and its Sato and Greenland-Robins variances (arrays per stratum)."""
    N = n1 + n0
    b, d = n1 - a, n0 - c
    W = np.sum(n1 * n0 / N)
    rd = float(np.sum(a * n0 / N - c * n1 / N) / W)
    # Sato, Greenland and Robins (1989), their equation (2): (RD P + Q) / W^2
    P = np.sum((n1 ** 2 * c - n0 ** 2 * a + n1 * n0 * (n0 - n1) / 2.0) / N ** 2)
    Q = np.sum((a * (n0 - c) + c * (n1 - a)) / (2.0 * N))
    var_sato = float((rd * P + Q) / W ** 2)
    # Greenland and Robins (1985): sum of (a b n0^3 + c d n1^3) / (n1 n0 N^2), over W^2
    var_gr = float(np.sum((a * b * n0 ** 3 + c * d * n1 ** 3) / (n1 * n0 * N ** 2)) / W ** 2)
    return rd, var_sato, var_gr


def _q_about(effect: np.ndarray, var: np.ndarray, centre: float) -> tuple[float, int, float, float]:
    """Cochran's Q about ``centre`` with inverse-variance weights; df, p-value and I-squared."""
    k = effect.size
    if k < 2:
        return math.nan, 0, math.nan, math.nan
    q = float(np.sum((effect - centre) ** 2 / var))
    df = k - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return q, df, float(_st.chi2.sf(q, df)), i2


def mantel_haenszel_difference(count1, nobs1, count0, nobs0, labels=None, *, variance: str = "sato",
                               alpha: float = 0.05, what: str = "areas") -> MantelHaenszelDifference:
    """Pooled risk difference over strata by the Mantel-Haenszel method.

    Parameters
    ----------
    count1, nobs1 : array-like
        Per stratum (area, or area x year): events and people in group 1 (completers).
    count0, nobs0 : array-like
        The same for group 0 (non-completers).
    labels : sequence of str, optional
        Stratum names, for messages.
    variance : {"sato", "greenland-robins"}
        Variance estimator of the pooled difference (see
        :class:`MantelHaenszelDifference`). Sato's is the default, as in metafor.
    alpha : float
    what : str
        Plural noun for the strata in the heterogeneity sentence.

    Returns
    -------
    MantelHaenszelDifference

    Notes
    -----
    The weights ``n1 n0 / N`` need no zero-cell correction, so a stratum where nobody (or
    everybody) reoffended still counts. A stratum with an empty group carries no
    information about the difference and is left out, with a note. Cochran's Q uses the
    per-stratum variances ``p1 (1 - p1) / n1 + p0 (1 - p0) / n0`` with 0.5 added to each
    cell of a table holding a zero (metafor's ``escalc`` default).

    Raises
    ------
    StatsError
        If no stratum has people in both groups, or a count is impossible.
    """
    from statsmodels.stats.contingency_tables import StratifiedTable

    alpha = check_alpha(alpha)
    if variance not in ("sato", "greenland-robins"):
        raise StatsError("variance must be 'sato' or 'greenland-robins'.")
    t = stratum_table(count1, nobs1, count0, nobs0, labels, alpha=alpha)
    notes: list[str] = []
    dropped = t[~t["usable"]]
    if len(dropped):
        notes.append(f"{len(dropped)} stratum/strata with an empty group left out: "
                     f"{', '.join(dropped['stratum'])}.")
    t = t[t["usable"]]
    if t.empty:
        raise StatsError("No stratum has people in both groups, so there is nothing to pool.")
    a, n1, c, n0 = (t[col].to_numpy(dtype=float) for col in ("count1", "nobs1", "count0", "nobs0"))
    rd, var_sato, var_gr = _mh_rd(a, n1, c, n0)
    var = var_sato if variance == "sato" else var_gr
    if not var > 0:
        raise StatsError("The pooled difference has no sampling variance (nobody, or everybody, "
                         "had the outcome in every stratum): no interval can be given.")
    se = math.sqrt(var)
    z = rd / se
    zc = z_value(alpha)
    ci = (max(rd - zc * se, -1.0), min(rd + zc * se, 1.0))

    # Ratios from statsmodels; a table with an empty row or column is skipped there too.
    tables = np.stack([np.array([[ai, n1i - ai], [ci_, n0i - ci_]])
                       for ai, n1i, ci_, n0i in zip(a, n1, c, n0, strict=True)], axis=2)
    try:
        st = StratifiedTable(tables)
        with np.errstate(divide="ignore", invalid="ignore"):
            orr = float(st.oddsratio_pooled)
            or_ci = tuple(float(x) for x in st.oddsratio_pooled_confint(alpha=alpha))
            rr = float(st.riskratio_pooled)
            cmh_p = float(st.test_null_odds(correction=False).pvalue)
    except (ValueError, ZeroDivisionError, FloatingPointError):
        orr, or_ci, rr, cmh_p = math.nan, (math.nan, math.nan), math.nan, math.nan
    if not all(np.isfinite([orr, rr])):
        notes.append("The pooled odds or risk ratio is not defined for these counts (no events, "
                     "or all events, in a group across every stratum).")

    q, q_df, q_p, i2 = _q_about(t["difference"].to_numpy(), t["variance"].to_numpy(), rd)
    if len(t) == 1:
        notes.append("Only one stratum has people in both groups: nothing was pooled.")
    return MantelHaenszelDifference(
        difference=rd, difference_ci=(float(ci[0]), float(ci[1])), se=se, z=z,
        p_value=float(2 * _st.norm.sf(abs(z))), variance=variance, odds_ratio=orr,
        odds_ratio_ci=(float(or_ci[0]), float(or_ci[1])), risk_ratio=rr, cmh_p_value=cmh_p,
        q=q, q_df=q_df, q_p_value=q_p, i2=i2, k=len(t), k_dropped=len(dropped),
        count1=int(a.sum()), nobs1=int(n1.sum()), count0=int(c.sum()), nobs0=int(n0.sum()),
        heterogeneity=describe_heterogeneity(i2, q_p, len(t), what=what), alpha=alpha,
        notes=tuple(notes))


# ---------------------------------------------------------------------------- random effects
@dataclasses.dataclass(frozen=True)
class RandomEffects(Result):
    """A random-effects pooled estimate (DerSimonian-Laird), with heterogeneity.

    Attributes
    ----------
    estimate, estimate_ci, se, statistic, p_value
        The pooled effect; with ``hartung_knapp`` the interval and test use a t
        distribution on ``k - 1`` degrees of freedom and the Hartung-Knapp-Sidik-Jonkman
        standard error, otherwise the normal distribution and the usual one.
    difference, difference_ci
        The same as ``estimate`` and its interval, under the name the wording expects
        (meaningful when the effects are risk differences).
    fixed_estimate, fixed_ci
        The inverse-variance fixed-effect estimate, for comparison.
    tau2, tau : float
        Between-stratum variance (DerSimonian-Laird, truncated at 0) and its square root.
    i2, h2 : float
        I-squared (0 to 1) and H-squared (Higgins and Thompson 2002).
    q, q_df, q_p_value
        Cochran's Q about the fixed-effect estimate.
    k : int
    method : str
        ``"DL"``.
    hartung_knapp : bool
    heterogeneity : str
    weights : pandas.Series
        Each stratum's share of the random-effects weight (not in ``to_frame()``).
    notes : tuple of str
    """

    estimate: float
    estimate_ci: tuple[float, float]
    se: float
    statistic: float
    p_value: float
    df: float
    fixed_estimate: float
    fixed_ci: tuple[float, float]
    tau2: float
    tau: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    k: int
    method: str
    hartung_knapp: bool
    heterogeneity: str
    alpha: float = 0.05
    weights: pd.Series = dataclasses.field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def difference(self) -> float:
        return self.estimate

    @property
    def difference_ci(self) -> tuple[float, float]:
        return self.estimate_ci


def random_effects(effects: Sequence[float], variances: Sequence[float], labels=None, *,
                   hartung_knapp: bool = True, truncate_scale: bool = True, alpha: float = 0.05,
                   what: str = "areas") -> RandomEffects:
    """DerSimonian-Laird random-effects pooling of per-stratum estimates.

    Parameters
    ----------
    effects, variances : array-like
        Each stratum's estimate (e.g. a risk difference) and its sampling variance.
    labels : sequence of str, optional
    hartung_knapp : bool
        Use the Hartung-Knapp-Sidik-Jonkman interval (default; metafor ``test="knha"``).
        With few strata the plain normal interval is too narrow (Hartung and Knapp 2001;
        IntHout et al. 2014).
    truncate_scale : bool
        With ``hartung_knapp``: never let the Hartung-Knapp variance fall below the usual
        random-effects variance (the "ad hoc" scale ``max(1, q)`` of Knapp and Hartung 2003;
        Roever, Knapp and Friede 2015). When the strata agree closely the plain
        Hartung-Knapp interval can be *narrower* than the fixed-effect one; with three areas
        that would overstate the evidence. ``False`` gives metafor's ``test="knha"``.
    alpha : float
    what : str
        Plural noun for the strata in the heterogeneity sentence.

    Returns
    -------
    RandomEffects

    Notes
    -----
    Computed by :func:`statsmodels.stats.meta_analysis.combine_effects` with
    ``method_re="dl"``. statsmodels does not truncate the DerSimonian-Laird tau-squared
    at zero; metafor (and the method as published) does, so when Q is below its degrees
    of freedom tau-squared is set to 0 and the random-effects estimate equals the fixed
    one (with the Hartung-Knapp scale Q / (k - 1), as metafor's).
    """
    from statsmodels.stats.meta_analysis import combine_effects

    alpha = check_alpha(alpha)
    eff = np.asarray(effects, dtype=float).ravel()
    var = np.asarray(variances, dtype=float).ravel()
    k = eff.size
    names = [str(x) for x in (labels if labels is not None else range(1, k + 1))]
    if var.size != k or len(names) != k:
        raise StatsError("effects, variances and labels must have one value per stratum.")
    if k < 2:
        raise StatsError(f"Random-effects pooling needs at least two {what} (got {k}).")
    if not (np.all(np.isfinite(eff)) and np.all(np.isfinite(var)) and np.all(var > 0)):
        raise StatsError("Every stratum needs a finite estimate and a positive variance.")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # statsmodels' sqrt of a negative tau2 fit
        res = combine_effects(eff, var, method_re="dl", row_names=names, use_t=hartung_knapp, alpha=alpha)
    notes: list[str] = []
    tau2 = float(res.tau2)
    if tau2 <= 0:
        tau2 = 0.0
        est, var_plain, var_hk = float(res.mean_effect_fe), float(res.var_eff_w_fe), float(res.var_hksj_fe)
        w = pd.Series(np.asarray(res.weights_rel_fe, dtype=float), index=names, name="weight")
        notes.append(f"The {what}' differences vary no more than chance would give (Q at most its "
                     "degrees of freedom), so tau-squared is 0 and the random-effects estimate "
                     "equals the fixed-effect one.")
    else:
        est, var_plain, var_hk = float(res.mean_effect_re), float(res.var_eff_w_re), float(res.var_hksj_re)
        w = pd.Series(np.asarray(res.weights_rel_re, dtype=float), index=names, name="weight")
    q = float(res.q)
    df = k - 1
    if hartung_knapp and truncate_scale and var_hk < var_plain:
        var_hk = var_plain
        notes.append("The Hartung-Knapp scale was below 1 and was set to 1, so that the interval is "
                     "never narrower than the usual random-effects one (Knapp and Hartung 2003; "
                     "Roever, Knapp and Friede 2015).")
    if hartung_knapp:
        se = math.sqrt(var_hk)
        crit = float(_st.t.isf(alpha / 2, df))
        stat = est / se if se > 0 else math.nan
        p = float(2 * _st.t.sf(abs(stat), df)) if se > 0 else math.nan
        dist_df = float(df)
    else:
        se = math.sqrt(var_plain)
        crit = z_value(alpha)
        stat = est / se
        p = float(2 * _st.norm.sf(abs(stat)))
        dist_df = math.inf
    fe_se = math.sqrt(float(res.var_eff_w_fe))
    zc = z_value(alpha)
    fixed = float(res.mean_effect_fe)
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    q_p = float(_st.chi2.sf(q, df))
    return RandomEffects(
        estimate=est, estimate_ci=(est - crit * se, est + crit * se), se=se, statistic=stat,
        p_value=p, df=dist_df, fixed_estimate=fixed, fixed_ci=(fixed - zc * fe_se, fixed + zc * fe_se),
        tau2=tau2, tau=math.sqrt(tau2), i2=i2, h2=q / df if df else math.nan, q=q, q_df=df,
        q_p_value=q_p, k=k, method="DL", hartung_knapp=bool(hartung_knapp),
        heterogeneity=describe_heterogeneity(i2, q_p, k, what=what), alpha=alpha, weights=w,
        notes=tuple(notes))


def pooled_difference(count1, nobs1, count0, nobs0, labels=None, *, hartung_knapp: bool = True,
                      truncate_scale: bool = True, alpha: float = 0.05,
                      what: str = "areas") -> RandomEffects:
    """Random-effects (DerSimonian-Laird, Hartung-Knapp) pooled risk difference from counts.

    Each stratum's difference and variance come from
    :func:`statsmodels.stats.meta_analysis.effectsize_2proportions` (``statistic="diff"``,
    0.5 added to every cell of a table holding a zero, and only there, as metafor's ``escalc``); strata with
    an empty group are left out with a note. See :func:`random_effects`.
    """
    t = _strata(count1, nobs1, count0, nobs0, labels)
    usable = (t["nobs1"] > 0) & (t["nobs0"] > 0)
    dropped = t.loc[~usable, "stratum"].tolist()
    t = t[usable]
    eff, var = _rd_effects(t)
    res = random_effects(eff, var, t["stratum"].tolist(), hartung_knapp=hartung_knapp,
                         truncate_scale=truncate_scale, alpha=alpha, what=what)
    if dropped:
        res = dataclasses.replace(res, notes=res.notes + (
            f"{len(dropped)} stratum/strata with an empty group left out: {', '.join(dropped)}.",))
    return res


# ---------------------------------------------------------------------------- wording
def describe_pooled(result, count1: int, nobs1: int, count0: int, nobs0: int, *, what: str = "areas",
                    covariate_adjusted: bool = False, **wording):
    """Justice Data Lab wording for a pooled difference (Mantel-Haenszel or random effects).

    ``result`` is a :class:`MantelHaenszelDifference` or :class:`RandomEffects` (or a
    covariate-adjusted pooled estimate with ``difference``, ``difference_ci`` and
    ``p_value``, with ``covariate_adjusted=True``); the counts are the totals over the
    strata pooled, for the headline rates, the JDL size rule and the minimum detectable
    difference. Other keywords go to :func:`evallib.stats.describe_comparison`.

    The headline's rates are everybody together; the difference, its interval and the
    verdict come from the pooled estimate, which compares like with like within each
    stratum. The caveats say that the comparison is not causal (or, when adjusted, only
    for recorded characteristics) and how much the strata disagree.
    """
    from .wording import describe_comparison

    k = getattr(result, "k", None)
    n_words = f"the {k} {what}" if k else f"the {what}"
    if isinstance(result, MantelHaenszelDifference):
        lead = f"Compared within each of {n_words} and pooled (Mantel-Haenszel), the"
    elif isinstance(result, RandomEffects):
        lead = (f"Allowing for real differences between {n_words} (random effects, "
                f"DerSimonian-Laird with the Hartung-Knapp interval), the pooled")
    else:
        lead = f"Adjusted for recorded characteristics and for the area (propensity weighting over {n_words}), the"
    if covariate_adjusted:
        first = ("This estimate adjusts only for the characteristics recorded in the data; "
                 "differences that were not recorded (such as motivation) could still explain part "
                 "of the result.")
    else:
        g1 = wording.get("group1", "people who completed the programme")
        g0 = wording.get("group0", "people who did not complete it")
        first = (f"This compares {g1} with {g0} without adjusting for differences between them, "
                 "so it is not a causal comparison: the two groups may differ in ways (such as "
                 "risk, needs and motivation) that also affect the outcome.")
    caveats = [first]
    het = getattr(result, "heterogeneity", "")
    if het and getattr(result, "k", 0) and result.k >= 2:
        caveats.append(het)
    caveats.append(f"Pooling assumes that the {what} are comparable enough to combine; they deliver "
                   "different programmes to different people, and police records differ by force.")
    return describe_comparison(count1, nobs1, count0, nobs0, adjusted_estimate=result, lead=lead,
                               headline_note=f"all {what} together, before comparing within each",
                               caveats=tuple(caveats), **wording)
