"""Service outcomes: what the providers' published tables count, one function each.

Each function takes contract tables (as :func:`evallib.schemas.load_dataset` returns
them) and a period, and returns one row per *unit counted* (a referral, an episode, a
person or a partner) with its district and yes/no flags, so that a table is a sum of
flags by district and every count can be traced back to records.
:mod:`evallib.tables` does the sums and the district rollups.

The definitions follow ``shared/design/outcomes.md`` ("Service outcomes"); where it
is silent, each docstring states the reading chosen and why: in every case the one
under which the provider's published tables (seed 001) are consistent with each other.
All dates are whole days and periods include both ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evallib.params import Period, parse_period

__all__ = [
    "ENDED_STATUSES", "KNOWN_ANSWERS", "referral_flags", "episode_completion", "intervention_spans",
    "people_on_intervention", "repeat_incidents", "children_on_intervention", "partner_engagement",
    "reduced_abuse", "partner_safety", "people_referred", "AGE_BANDS",
]

#: Episode statuses that mean an episode has ended (``ongoing`` has not).
ENDED_STATUSES = ("completed", "disengaged", "suspended", "excluded")
#: Partner answers that count as an answer (``unknown`` and empty do not).
KNOWN_ANSWERS = ("yes", "no")


def _bounds(period: Period | str) -> tuple[pd.Timestamp, pd.Timestamp]:
    p = parse_period(period)
    return pd.Timestamp(p.start), pd.Timestamp(p.end)


def _within(dates: pd.Series, period: Period | str) -> np.ndarray:
    lo, hi = _bounds(period)
    return dates.between(lo, hi).fillna(False).to_numpy(dtype=bool)


def _flag(values: pd.Series) -> np.ndarray:
    """Nullable booleans as plain ones, unknown counting as no."""
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


def referral_flags(referrals: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """Referrals received in the period, with whether each was eligible and self-motivated.

    Definition: a referral is *received* in the period when its ``referral_date`` falls
    in it; *eligible* when ``eligible`` is true (an empty value counts as not eligible:
    nothing is assumed); *self-motivated* when eligible and ``source == "self"`` (the
    published "Self-motivated (of the eligible)").

    Returns one row per referral received: ``referral_id, person_id, district, source,
    received, eligible, self_motivated``.
    """
    ref = referrals[_within(referrals["referral_date"], period)]
    eligible = _flag(ref["eligible"])
    return pd.DataFrame({
        "referral_id": ref["referral_id"].to_numpy(),
        "person_id": ref["person_id"].to_numpy(),
        "district": ref["district"].to_numpy(),
        "source": ref["source"].to_numpy(),
        "received": np.ones(len(ref), dtype=bool),
        "eligible": eligible,
        "self_motivated": eligible & ref["source"].eq("self").fillna(False).to_numpy(dtype=bool),
    })


def episode_completion(episodes: pd.DataFrame, referrals: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """Episodes that ended in the period, and whether each was completed.

    Definition: an episode has *ended* in the period when its status is completed,
    disengaged, suspended or excluded and its ``end_date`` falls in the period;
    ongoing episodes have not ended and are left out. *Completed*: status
    ``completed``. Episodes are counted, not people (seed 001 counts Step Up Dads
    completions of people who also completed Second Step), for every programme,
    Foundations included; the district is that of the episode's referral.

    Returns one row per ended episode: ``episode_id, referral_id, district, programme,
    completed, ended``.
    """
    ep = episodes[episodes["status"].isin(ENDED_STATUSES).fillna(False).to_numpy(dtype=bool)
                  & _within(episodes["end_date"], period)]
    ep = ep.merge(referrals[["referral_id", "district"]], on="referral_id", how="left", validate="many_to_one")
    return pd.DataFrame({
        "episode_id": ep["episode_id"].to_numpy(),
        "referral_id": ep["referral_id"].to_numpy(),
        "district": ep["district"].to_numpy(),
        "programme": ep["programme"].to_numpy(),
        "completed": ep["status"].eq("completed").fillna(False).to_numpy(dtype=bool),
        "ended": np.ones(len(ep), dtype=bool),
    })


def intervention_spans(episodes: pd.DataFrame, referrals: pd.DataFrame, period: Period | str,
                       programmes: Sequence[str]) -> pd.DataFrame:
    """The part of each intervention episode that lies in the period.

    An episode of one of ``programmes`` is *under way in the period* when it started on
    or before the period's last day and had not ended before its first day (ongoing
    episodes have not ended). Its span in the period runs from ``max(start_date,
    period start)`` to ``min(end_date, period end)``, the period end standing in for
    the end of an episode still under way. Returns the episodes' rows with
    ``person_id, district, children`` of their referral and ``span_start, span_end``.
    """
    lo, hi = _bounds(period)
    ep = episodes[episodes["programme"].isin(list(programmes)).fillna(False).to_numpy(dtype=bool)]
    under_way = ((ep["start_date"] <= hi) & (ep["end_date"].isna() | (ep["end_date"] >= lo))).fillna(False)
    ep = ep[under_way.to_numpy(dtype=bool)]
    ep = ep.merge(referrals[["referral_id", "person_id", "district", "children"]], on="referral_id",
                  how="inner", validate="many_to_one")
    ep["span_start"] = ep["start_date"].where(ep["start_date"] >= lo, lo)
    ep["span_end"] = ep["end_date"].where(ep["end_date"].notna() & (ep["end_date"] <= hi), hi)
    return ep.sort_values(["person_id", "start_date", "episode_id"], kind="stable").reset_index(drop=True)


def people_on_intervention(episodes: pd.DataFrame, referrals: pd.DataFrame, period: Period | str,
                           programmes: Sequence[str]) -> pd.DataFrame:
    """People on intervention in the period: one row each.

    Definition: a person with at least one episode of ``programmes`` under way in the
    period (see :func:`intervention_spans`). The service tables pass every programme
    except awareness ones (LLR: all but Foundations), following seed 001's "individuals
    that participated in interventions (not Foundations)". People, not episodes, are
    counted: a person who dropped out and started again, or who went on to Step Up
    Dads, is one case (the reading under which seed 001's City row, 20 people on
    intervention, is consistent with its 23 core episodes ended in the same months).
    The district and ``children`` are those of the referral of the person's first such
    episode in the period.

    Returns ``person_id, referral_id, district, children``.
    """
    spans = intervention_spans(episodes, referrals, period, programmes)
    first = spans.drop_duplicates("person_id", keep="first")
    return pd.DataFrame({
        "person_id": first["person_id"].to_numpy(),
        "referral_id": first["referral_id"].to_numpy(),
        "district": first["district"].to_numpy(),
        "children": first["children"].astype("Int64").to_numpy(),
    })


def repeat_incidents(episodes: pd.DataFrame, incidents: pd.DataFrame, referrals: pd.DataFrame,
                     period: Period | str, programmes: Sequence[str]) -> pd.DataFrame:
    """Repeat incidents while on intervention: per person on intervention, whether any.

    Definition: a person on intervention in the period (see
    :func:`people_on_intervention`) has a *repeat incident* when at least one
    ``incidents`` row of any of their referrals is dated within one of their
    intervention spans in the period: ``span_start <= incident_date <= span_end``,
    both ends included. An incident the day after an episode's ``end_date``, while
    waiting to start, between two episodes or during Foundations is not "while on
    intervention".

    Returns ``person_id, district, with_repeat_incident, on_intervention``.
    """
    spans = intervention_spans(episodes, referrals, period, programmes)
    people = people_on_intervention(episodes, referrals, period, programmes)
    inc = incidents[["referral_id", "incident_date"]].merge(
        referrals[["referral_id", "person_id"]], on="referral_id", how="inner")
    m = spans[["person_id", "span_start", "span_end"]].merge(inc[["person_id", "incident_date"]], on="person_id")
    inside = ((m["incident_date"] >= m["span_start"]) & (m["incident_date"] <= m["span_end"])).fillna(False)
    hit = set(m.loc[inside.to_numpy(dtype=bool), "person_id"])
    return pd.DataFrame({
        "person_id": people["person_id"].to_numpy(),
        "district": people["district"].to_numpy(),
        "with_repeat_incident": people["person_id"].isin(hit).to_numpy(dtype=bool),
        "on_intervention": np.ones(len(people), dtype=bool),
    })


def children_on_intervention(episodes: pd.DataFrame, referrals: pd.DataFrame, period: Period | str,
                             programmes: Sequence[str]) -> pd.DataFrame:
    """Children involved in the cases of people on intervention (indirect victims).

    Definition: per person on intervention in the period (as in
    :func:`people_on_intervention`, Foundations excluded), ``children`` of the referral
    of their first intervention episode in the period. Each person counts once, so
    children are not counted twice for someone with two episodes. An empty
    ``children`` is unknown: it stays ``<NA>`` here and adds nothing to a sum, so a
    total is a count of the children *known*.

    Returns ``person_id, district, children``.
    """
    people = people_on_intervention(episodes, referrals, period, programmes)
    return people[["person_id", "district", "children"]].reset_index(drop=True)


def partner_engagement(partners: pd.DataFrame, referrals: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """Partners offered support in the period, and whether each engaged.

    Definition: a partner is *offered* support in the period when ``offered_date``
    falls in it, at any stage of the person's intervention (assessment, intervention,
    post-intervention: seed 001's "in all stages of service"); *engaged* when
    ``engaged`` is true (empty counts as not engaged). District: that of the referral
    of the person whose (ex-)partner this is.

    Returns one row per partner offered: ``partner_id, district, engaged, offered``.
    """
    p = partners[_within(partners["offered_date"], period)]
    p = p.merge(referrals[["referral_id", "district"]], on="referral_id", how="left", validate="many_to_one")
    return pd.DataFrame({
        "partner_id": p["partner_id"].to_numpy(),
        "district": p["district"].to_numpy(),
        "engaged": _flag(p["engaged"]),
        "offered": np.ones(len(p), dtype=bool),
    })


def reduced_abuse(partners: pd.DataFrame, referrals: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """Partner-reported reduction in the person's use of abuse.

    Definition: among partners offered support in the period (``offered_date`` in it:
    the period a partner belongs to, as for engagement, since the contract records no
    date of the answer) whose ``abuse_reduced`` is a known answer (yes or no;
    ``unknown`` and empty are left out), *reduced* when it is ``yes``. Seed 000's
    "Perpetrators reduce use of abuse" cells (e.g. 41 of 47 in the county) have
    denominators within the partners who engaged that year, as this reading needs.

    Returns one row per partner with an answer: ``partner_id, district, reduced, assessed``.
    """
    p = partners[_within(partners["offered_date"], period)
                 & partners["abuse_reduced"].isin(KNOWN_ANSWERS).fillna(False).to_numpy(dtype=bool)]
    p = p.merge(referrals[["referral_id", "district"]], on="referral_id", how="left", validate="many_to_one")
    return pd.DataFrame({
        "partner_id": p["partner_id"].to_numpy(),
        "district": p["district"].to_numpy(),
        "reduced": p["abuse_reduced"].eq("yes").fillna(False).to_numpy(dtype=bool),
        "assessed": np.ones(len(p), dtype=bool),
    })


def partner_safety(partners: pd.DataFrame, episodes: pd.DataFrame, referrals: pd.DataFrame,
                   period: Period | str, core_programmes: Sequence[str]) -> pd.DataFrame:
    """Partners who feel safer since the person's intervention.

    Definition: engaged partners (``engaged`` true) whose (ex-)partner *completed
    intervention in the period* (a core-programme episode with status ``completed``
    and ``end_date`` in the period, from any of the person's referrals) and whose
    ``feels_safer`` is a known answer (yes or no). *Feels safer*: ``yes``. The period
    is that of the completion: the reading under which seed 000/001's cells fit the
    completions of the same year (no answers where nobody completed, e.g. Hinckley and
    Bosworth and Rutland in 2021-22; answers never more than the completers).

    Returns one row per partner with an answer: ``partner_id, district, feels_safer, answered``.
    """
    done = episodes[episodes["programme"].isin(list(core_programmes)).fillna(False).to_numpy(dtype=bool)
                    & episodes["status"].eq("completed").fillna(False).to_numpy(dtype=bool)
                    & _within(episodes["end_date"], period)]
    completers = set(referrals.loc[referrals["referral_id"].isin(done["referral_id"]), "person_id"])
    p = partners.merge(referrals[["referral_id", "person_id", "district"]], on="referral_id", how="left",
                       validate="many_to_one")
    keep = (_flag(p["engaged"]) & p["person_id"].isin(completers).to_numpy(dtype=bool)
            & p["feels_safer"].isin(KNOWN_ANSWERS).fillna(False).to_numpy(dtype=bool))
    p = p[keep]
    return pd.DataFrame({
        "partner_id": p["partner_id"].to_numpy(),
        "district": p["district"].to_numpy(),
        "feels_safer": p["feels_safer"].eq("yes").fillna(False).to_numpy(dtype=bool),
        "answered": np.ones(len(p), dtype=bool),
    })


AGE_BANDS = ((10, 17, "under 18"), (18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"),
             (45, 54, "45-54"), (55, 200, "55 and over"))


def people_referred(referrals: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """People referred in the period, one row each, with gender, ethnicity and age band.

    Definition: distinct ``person_id`` with a referral received in the period; their
    characteristics and district are those of their first referral in the period (the
    OPCC report counts people, seed 002 paragraph 3). Empty values are ``unknown``.
    Age bands: under 18, 18-24, 25-34, 35-44, 45-54, 55 and over.

    Returns ``person_id, district, gender, ethnicity, age_band``.
    """
    ref = referrals[_within(referrals["referral_date"], period)]
    ref = ref.sort_values(["person_id", "referral_date", "referral_id"], kind="stable")
    ref = ref.drop_duplicates("person_id", keep="first")
    age = ref["age"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    band = np.full(len(ref), "unknown", dtype=object)
    for lo, hi, label in AGE_BANDS:
        band[(age >= lo) & (age <= hi)] = label
    return pd.DataFrame({
        "person_id": ref["person_id"].to_numpy(),
        "district": ref["district"].to_numpy(),
        "gender": ref["gender"].fillna("unknown").to_numpy(),
        "ethnicity": ref["ethnicity"].fillna("unknown").to_numpy(),
        "age_band": band,
    })
