"""The words an evaluator publishes for a two-group comparison.

Follows the reporting conventions of the Ministry of Justice's Justice Data Lab
(JDL): rates as whole percentages; the difference as "between L and U
percentage points"; "statistically significant" only when p <= 0.05 *and* the
groups are large enough; otherwise the JDL's inconclusive wording, never "no
effect"; a "for every 100 people" sentence; and, beside any non-significant
result, the minimum difference the groups could have detected. An unadjusted
comparison of completers with non-completers always carries the reminder that
it is not a causal comparison.

References
----------
Ministry of Justice (2016 onwards). *Justice Data Lab: methodology paper* and
*Justice Data Lab reports: user guide* (wording of significant and
inconclusive results; minimum group sizes).
"""

from __future__ import annotations

import dataclasses
import math
from decimal import ROUND_HALF_UP, Decimal

from ._utils import Result, StatsError
from .power import minimum_detectable_difference
from .proportions import compare_proportions

__all__ = ["describe_comparison", "Wording", "VERDICTS", "INCONCLUSIVE"]

VERDICTS = ("significant_reduction", "significant_increase", "inconclusive", "not_assessable")

#: The Justice Data Lab's sentence for a result that is not statistically significant.
INCONCLUSIVE = ("More people would need to be analysed to determine the way in which the "
                "programme affects reoffending; this should not be taken to mean that it has "
                "no effect.")


@dataclasses.dataclass(frozen=True)
class Wording(Result):
    """Publishable wording for one comparison.

    Attributes
    ----------
    headline : str
        The two rates, as whole percentages, with the group sizes.
    difference_sentence : str
        The difference and its interval ("between L and U percentage
        points"), with the significance verdict in words.
    per_100 : str
        The "for every 100 people" sentence.
    mdd_sentence : str
        The minimum detectable difference (empty when significant).
    caveats : tuple of str
        Including the not-causal reminder for unadjusted comparisons.
    significant : bool
    verdict : str
        One of :data:`VERDICTS`.
    reason : str
        Why the result is inconclusive or not assessable ("" otherwise).
    table_row : dict
        The published table row (whole percentages and percentage points).
    """

    headline: str
    difference_sentence: str
    per_100: str
    mdd_sentence: str
    caveats: tuple[str, ...]
    significant: bool
    verdict: str
    reason: str
    table_row: dict = dataclasses.field(repr=False)

    @property
    def sentences(self) -> tuple[str, ...]:
        """All sentences in reading order (empty ones left out)."""
        parts = (self.headline, self.difference_sentence, self.per_100, self.mdd_sentence,
                 *self.caveats)
        return tuple(p for p in parts if p)

    @property
    def text(self) -> str:
        """The sentences as one paragraph."""
        return " ".join(self.sentences)


def _whole(x: float) -> int:
    """Round to a whole number, halves away from zero (not Python's banker's rounding)."""
    return int(Decimal(repr(round(x, 9))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _pp(x: float) -> str:
    v = _whole(100 * x)
    return f"{v}" if v <= 0 else f"+{v}"


def _count_phrase(k: int) -> str:
    return "1" if k == 1 else f"{k}"


def _not_assessable(reason: str, outcome: str, group1: str, group0: str, n1, n0) -> Wording:
    head = f"{outcome[:1].upper()}{outcome[1:]}: this comparison cannot be made. {reason}"
    row = {"outcome": outcome, "group1": group1, "group1_n": n1, "group1_rate_pct": None,
           "group0": group0, "group0_n": n0, "group0_rate_pct": None, "difference_pp": None,
           "ci_low_pp": None, "ci_high_pp": None, "p_value": None, "significant": False,
           "verdict": "not_assessable", "adjusted": False, "mdd_pp": None}
    return Wording(headline=head, difference_sentence="", per_100="", mdd_sentence="",
                   caveats=(), significant=False, verdict="not_assessable", reason=reason,
                   table_row=row)


def describe_comparison(
    count1: int, nobs1: int, count0: int, nobs0: int, *,
    outcome: str = "the one-year proven reoffending rate",
    event: str = "committed a proven reoffence within one year",
    group1: str = "people who completed the programme",
    group0: str = "people who did not complete it",
    adjusted_estimate=None,
    time_to_event: bool = False,
    min_count: int = 10,
    min_events: int = 30,
    alpha: float = 0.05,
    power: float = 0.8,
    lead: str | None = None,
    headline_note: str | None = None,
    caveats: tuple[str, ...] | None = None,
) -> Wording:
    """Turn a two-group comparison into the sentences and table row to publish.

    Parameters
    ----------
    count1, nobs1 : int
        People with the outcome, and people, in group 1 (e.g. completers).
    count0, nobs0 : int
        The same for group 0 (e.g. non-completers).
    outcome : str
        Noun phrase for the rate ("the one-year proven reoffending rate").
    event : str
        Verb phrase for one person having the outcome.
    group1, group0 : str
        Plural noun phrases for the groups.
    adjusted_estimate : object, optional
        An adjusted estimate with ``difference``, ``difference_ci`` and
        ``p_value`` attributes (e.g. from
        :func:`evallib.stats.propensity_att`). When given, the difference,
        interval and significance come from it and the not-causal reminder is
        replaced by the caveat that only recorded characteristics were
        adjusted for. Otherwise the unadjusted comparison of
        :func:`evallib.stats.compare_proportions` is used.
    time_to_event : bool
        If the measure is a time-to-event one; then at least ``min_events``
        events in total are needed for a significant result (JDL).
    min_count : int
        Group-size rule for rates (JDL ``n p >= 10``): each group needs at
        least this many people with *and* without the outcome (``n p`` and
        ``n (1 - p)``) for a result to be called significant.
    alpha, power : float
        Significance level and the power for the minimum detectable
        difference.
    lead, headline_note, caveats : optional
        For an ``adjusted_estimate`` that is not a covariate adjustment (e.g.
        a difference pooled within areas, :mod:`evallib.stats.meta`): the
        words that open the difference sentence (default "After adjusting for
        recorded characteristics, the"), the note after the crude rates in
        the headline (default "before adjustment") and the caveats that
        replace the default ones.

    Returns
    -------
    Wording
        ``verdict`` is ``"significant_reduction"`` or
        ``"significant_increase"`` only when p <= alpha and the size rule
        holds; ``"inconclusive"`` otherwise (worded as the JDL does, never as
        "no effect", with the minimum detectable difference beside it); and
        ``"not_assessable"`` when a group is empty or the counts are
        impossible (explicit wording, no numbers invented).
    """
    for v in (count1, nobs1, count0, nobs0):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return _not_assessable("Some of the counts needed are missing.", outcome, group1,
                                   group0, nobs1, nobs0)
    if nobs1 == 0 or nobs0 == 0:
        empty = group1 if nobs1 == 0 else group0
        return _not_assessable(f"There were no {empty} in the data analysed, so there is "
                               "nothing to compare.", outcome, group1, group0, nobs1, nobs0)
    try:
        comp = compare_proportions(count1, nobs1, count0, nobs0, alpha=alpha)
    except StatsError as exc:
        return _not_assessable(str(exc), outcome, group1, group0, nobs1, nobs0)

    adjusted = adjusted_estimate is not None
    if adjusted:
        diff = float(adjusted_estimate.difference)
        low, high = (float(x) for x in adjusted_estimate.difference_ci)
        p = float(adjusted_estimate.p_value)
        if any(math.isnan(x) for x in (diff, low, high, p)):
            return _not_assessable("The adjusted estimate could not be calculated.", outcome,
                                   group1, group0, nobs1, nobs0)
    else:
        diff, (low, high), p = comp.difference, comp.difference_ci, comp.p_value

    r1, r0 = _whole(100 * comp.rate1), _whole(100 * comp.rate0)
    if time_to_event:
        big_enough = count1 + count0 >= min_events
        size_reason = (f"there were only {count1 + count0} events in total, fewer than the "
                       f"{min_events} needed for a reliable time-to-event result")
    else:
        smallest = min(count1, nobs1 - count1, count0, nobs0 - count0)
        big_enough = smallest >= min_count
        size_reason = (f"the groups are too small for a reliable result (each group needs at "
                       f"least {min_count} people with and without the outcome)")
    significant = bool(p <= alpha and big_enough)
    if significant:
        verdict = "significant_reduction" if diff < 0 else "significant_increase"
        reason = ""
    else:
        verdict = "inconclusive"
        reason = size_reason if (p <= alpha and not big_enough) else (
            f"the difference is not statistically significant (p = {p:.2f})")

    note = f" ({headline_note or 'before adjustment'})" if adjusted else ""
    headline = (f"{outcome[:1].upper()}{outcome[1:]} was {r1}% for the {nobs1} {group1}, "
                f"compared with {r0}% for the {nobs0} {group0}"
                f"{note}.")
    interval = f"between {_pp(low)} and {_pp(high)} percentage points"
    lead = (lead or "After adjusting for recorded characteristics, the") if adjusted else "The"
    if significant:
        direction = "lower" if diff < 0 else "higher"
        near, far = sorted((abs(_whole(100 * low)), abs(_whole(100 * high))))
        difference_sentence = (
            f"{lead} difference is statistically significant: the rate for {group1} is "
            f"{direction}, and the true difference is likely to be between {near} and {far} "
            f"percentage points {direction}.")
    else:
        extra = (f" Although p = {p:.3f}, {size_reason}." if p <= alpha else "")
        difference_sentence = (
            f"{lead} difference is not statistically significant: the true difference could be "
            f"{interval} (negative values mean a lower rate for {group1}).{extra} {INCONCLUSIVE}")

    a, b = _whole(100 * low), _whole(100 * high)
    if significant and diff < 0:
        per_100 = (f"For every 100 {group1}, between {-b} and {-a} fewer {event} than for "
                   f"every 100 {group0}.")
    elif significant:
        per_100 = (f"For every 100 {group1}, between {a} and {b} more {event} than for "
                   f"every 100 {group0}.")
    else:
        def end(v: int) -> str:
            return f"{-v} fewer" if v < 0 else ("the same number" if v == 0 else f"{v} more")
        per_100 = (f"For every 100 {group1}, the number who {event} could be anywhere from "
                   f"{end(a)} to {end(b)} compared with every 100 {group0}.")

    mdd_pp = None
    mdd_sentence = ""
    if not significant:
        if 0 < comp.rate0 < 1:
            mdd = minimum_detectable_difference(nobs1, nobs0, comp.rate0, alpha=alpha,
                                                power=power)
            if math.isnan(mdd.difference):
                mdd_sentence = (f"With {nobs1} and {nobs0} people, no reduction from a rate of "
                                f"{r0}% could have been reliably detected ({power:.0%} power, "
                                f"{alpha:.0%} significance level).")
            else:
                mdd_pp = _whole(100 * mdd.difference)
                mdd_sentence = (f"With {nobs1} and {nobs0} people, only a reduction of at least "
                                f"{mdd_pp} percentage points (from {r0}% to "
                                f"{_whole(100 * mdd.p1)}%) could have been reliably detected "
                                f"({power:.0%} power, {alpha:.0%} significance level).")
        else:
            mdd_sentence = (f"The rate for {group0} was {r0}%, so the minimum detectable "
                            "difference cannot be calculated.")

    if caveats is not None:
        caveats = tuple(caveats)
    elif adjusted:
        caveats = ("This estimate adjusts only for the characteristics recorded in the data; "
                   "differences that were not recorded (such as motivation) could still explain "
                   "part of the result.",)
    else:
        caveats = (f"This compares {group1} with {group0} without adjusting for differences "
                   f"between them, so it is not a causal comparison: the two groups may differ "
                   "in ways (such as risk, needs and motivation) that also affect the outcome.",)

    row = {"outcome": outcome, "group1": group1, "group1_n": int(nobs1), "group1_rate_pct": r1,
           "group0": group0, "group0_n": int(nobs0), "group0_rate_pct": r0,
           "difference_pp": _whole(100 * diff), "ci_low_pp": a, "ci_high_pp": b,
           "p_value": p, "significant": significant, "verdict": verdict, "adjusted": adjusted,
           "mdd_pp": mdd_pp}
    return Wording(headline=headline, difference_sentence=difference_sentence, per_100=per_100,
                   mdd_sentence=mdd_sentence, caveats=caveats, significant=significant,
                   verdict=verdict, reason=reason, table_row=row)
