"""Record builders for synthetic datasets: police offences, sessions, onward referrals.

Each function turns person- or episode-level arrays into the rows of one table of the
data contract, vectorised (``np.repeat`` over counts, never a loop over people). Dates
are day numbers (see :mod:`evallib.synthetic._timeline`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evallib.synthetic._timeline import MISSING, expit, uniform_days

__all__ = [
    "police_records", "session_records", "onward_records", "incident_propensity", "span_incidents",
    "weekly_group_sessions", "one_to_one_sessions",
    "PROVEN", "MARGINS",
]

PROVEN = ("conviction", "caution", "community_resolution")
_MIXED = (["conviction", "caution", "community_resolution", "no_further_action", "other", "charge_pending"],
          [0.22, 0.10, 0.08, 0.45, 0.10, 0.05])
_PROVEN_P = [0.55, 0.27, 0.18]
_UNPROVEN = (["no_further_action", "other", "charge_pending"], [0.65, 0.15, 0.20])

#: Safety margins (days) that keep every generated offence clear of the edges of the
#: proven-reoffending window (12 months: 365 or 366 days) and waiting period (a further
#: 6 months: window plus waiting is 546 to 549 days), whatever the day-count convention.
MARGINS = {
    "first_window_day": 1,      # offences in the window: index + 1 ...
    "last_window_day": 355,     # ... up to index + 355
    "last_outcome_day": 540,    # proven in time: outcome by index + 540
    "after_window_day": 375,    # offences after the window: from index + 375
    "late_outcome_day": 560,    # proven too late: outcome from index + 560
    "prior_span": 720,          # prior DA incidents: referral - 720 ... referral - 1
    "older_than": 745,          # older offences: before referral - 745 (outside 2 years)
}


def _outcome_dates(offence: np.ndarray, outcome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Outcome dates by kind of outcome: court or caution weeks to months later; NFA soon."""
    n = len(offence)
    out = np.full(n, MISSING, dtype=np.int64)
    proven = np.isin(outcome, PROVEN)
    out[proven] = offence[proven] + 14 + np.rint(rng.gamma(2.0, 45.0, proven.sum())).astype(np.int64)
    nfa = outcome == "no_further_action"
    out[nfa] = offence[nfa] + 5 + np.rint(rng.gamma(2.0, 15.0, nfa.sum())).astype(np.int64)
    other = (outcome == "other") & (rng.random(n) < 0.5)
    out[other] = offence[other] + 10 + np.rint(rng.gamma(2.0, 30.0, other.sum())).astype(np.int64)
    return out


def police_records(person: pd.DataFrame, extract: int, rng: np.random.Generator,
                   stranger_ids: list[str] | None = None) -> pd.DataFrame:
    """Police-recorded offences that reproduce each person's latent proven reoffending.

    Parameters
    ----------
    person
        One row per person: ``person_id, ref`` (referral day), ``index`` (index day, or
        ``MISSING`` when the person has none, e.g. still on a programme), ``prior``
        (DA incidents in the 2 years before referral), ``high`` (high risk),
        ``reoffended_any``, ``reoffended_da``.
    extract
        Police extract day: nothing after it is recorded; an outcome after it is not
        yet known, so the offence shows as ``charge_pending``.
    stranger_ids
        Person ids with no referral, given an offence each (the contract allows them;
        analyses must ignore them).

    Notes
    -----
    A reoffender's first proven offence falls in the follow-up window with its outcome
    inside the waiting period; 1 + Poisson more proven offences follow in the window
    (frequency). DA-related proven offences in the window occur only for DA
    reoffenders, so the MoJ definition gives back both latent flags exactly for every
    countable person. The noise that exercises the definition never breaks this:
    unproven offences at any time after referral, offences before referral (exactly
    ``prior`` DA rows in the 2 years before, older ones outside them), offences during
    the programme, proven offences after the window, and proven offences in the window
    whose outcome comes after the waiting period.
    """
    m = MARGINS
    n = len(person)
    ref = person["ref"].to_numpy(np.int64)
    idx = person["index"].to_numpy(np.int64)
    has_index = idx != MISSING
    base = np.where(has_index, idx, ref)
    high = person["high"].to_numpy(bool)
    any_ = person["reoffended_any"].to_numpy(bool) & has_index
    da = person["reoffended_da"].to_numpy(bool) & has_index
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(who, offence, is_da, outcome):
        parts.append((who, offence.astype(np.int64), np.asarray(is_da, bool), np.asarray(outcome, object)))

    def mixed(k):
        return rng.choice(np.array(_MIXED[0], dtype=object), size=k, p=_MIXED[1])

    def unproven(k):
        return rng.choice(np.array(_UNPROVEN[0], dtype=object), size=k, p=_UNPROVEN[1])

    def proven(k):
        return rng.choice(np.array(PROVEN, dtype=object), size=k, p=_PROVEN_P)

    # 1. prior DA incidents: exactly `prior` in the 2 years before referral, more of them recent
    k = person["prior"].to_numpy(np.int64)
    who = np.repeat(np.arange(n), k)
    back = 1 + np.floor((m["prior_span"] - 1) * rng.random(len(who)) ** 1.5).astype(np.int64)
    add(who, ref[who] - back, np.ones(len(who), bool), mixed(len(who)))
    # 2. other (non-DA) offences in the 2 years before referral
    k = rng.poisson(0.3 + 0.3 * high)
    who = np.repeat(np.arange(n), k)
    add(who, ref[who] - 1 - np.floor((m["prior_span"] - 1) * rng.random(len(who))).astype(np.int64),
        np.zeros(len(who), bool), mixed(len(who)))
    # 3. older offences, outside the 2-year look-back
    k = rng.poisson(0.5 + 0.5 * high)
    who = np.repeat(np.arange(n), k)
    add(who, ref[who] - m["older_than"] - np.floor(1500 * rng.random(len(who))).astype(np.int64),
        rng.random(len(who)) < 0.5, mixed(len(who)))
    # 4. offences while on the programme (after referral, up to the index date itself)
    span = np.where(has_index, idx - ref, 0)
    k = rng.poisson(np.clip(span, 0, None) / 365.0 * (0.25 + 0.35 * high))
    who = np.repeat(np.arange(n), k)
    add(who, ref[who] + np.floor((span[who] + 1) * rng.random(len(who))).astype(np.int64),
        rng.random(len(who)) < 0.7, mixed(len(who)))
    # 5. proven reoffending in the window: first offence, then 1 + Poisson more (frequency)
    k = np.where(any_, 1 + rng.poisson(0.5 + 0.4 * high), 0)
    who = np.repeat(np.arange(n), k)
    first = np.zeros(len(who), bool)
    first[np.cumsum(k[k > 0]) - k[k > 0]] = True
    win = m["last_window_day"] - m["first_window_day"] + 1
    offence = idx[who] + m["first_window_day"] + np.floor(win * rng.random(len(who))).astype(np.int64)
    is_da = np.where(first, da[who], da[who] & (rng.random(len(who)) < 0.6))
    out5 = proven(len(who))
    parts.append((who, offence, is_da, out5))
    latest = idx[who] + m["last_outcome_day"]
    fixed_outcome = np.minimum(offence + 14 + np.rint(rng.gamma(2.0, 45.0, len(who))).astype(np.int64), latest)
    n_before = sum(len(p[0]) for p in parts[:-1])
    # 6a. unproven offences at any time after the index date (or referral)
    k = rng.poisson(0.4 + 0.4 * high + 0.4 * any_)
    who = np.repeat(np.arange(n), k)
    span = np.maximum(extract - base, 1)
    add(who, base[who] + 1 + np.floor(span[who] * rng.random(len(who))).astype(np.int64),
        rng.random(len(who)) < 0.6, unproven(len(who)))
    # 6b. proven offences after the window
    room = extract - (base + m["after_window_day"])
    k = np.where(has_index & (room > 0), rng.poisson(0.2 + 0.3 * any_), 0)
    who = np.repeat(np.arange(n), k)
    add(who, base[who] + m["after_window_day"] + np.floor(room[who] * rng.random(len(who))).astype(np.int64),
        rng.random(len(who)) < 0.5, proven(len(who)))
    # 6c. proven in the window, but the outcome only after the waiting period: must not count
    late_room = extract - (base + m["late_outcome_day"])
    late = has_index & (late_room >= 0) & (rng.random(n) < 0.08)
    who = np.flatnonzero(late)
    off_late = base[who] + m["first_window_day"] + np.floor(win * rng.random(len(who))).astype(np.int64)
    parts.append((who, off_late, rng.random(len(who)) < 0.5, proven(len(who))))
    late_outcome = base[who] + m["late_outcome_day"] + np.floor((late_room[who] + 1) * rng.random(len(who))).astype(np.int64)

    who_all = np.concatenate([p[0] for p in parts])
    offence_all = np.concatenate([p[1] for p in parts])
    da_all = np.concatenate([p[2] for p in parts])
    outcome_all = np.concatenate([p[3] for p in parts]).astype(object)
    outcome_day = _outcome_dates(offence_all, outcome_all, rng)
    # the reoffending rows and the late-proven rows carry dates fixed above
    n5 = len(fixed_outcome)
    outcome_day[n_before:n_before + n5] = fixed_outcome
    outcome_day[len(outcome_day) - len(late_outcome):] = late_outcome

    # a few offenders with no referral (allowed by the contract, ignored by analyses)
    stranger_ids = list(stranger_ids or [])
    n_strangers = len(stranger_ids)
    if n_strangers:
        s_off = extract - 30 - np.floor(1500 * rng.random(n_strangers)).astype(np.int64)
        s_out = mixed(n_strangers)
        s_day = _outcome_dates(s_off, s_out, rng)
        who_all = np.concatenate([who_all, n + np.arange(n_strangers)])
        offence_all = np.concatenate([offence_all, s_off])
        da_all = np.concatenate([da_all, rng.random(n_strangers) < 0.5])
        outcome_all = np.concatenate([outcome_all, s_out])
        outcome_day = np.concatenate([outcome_day, s_day])

    # what the extract can show: nothing after it; outcomes after it are still pending
    keep = offence_all <= extract
    who_all, offence_all, da_all = who_all[keep], offence_all[keep], da_all[keep]
    outcome_all, outcome_day = outcome_all[keep], outcome_day[keep]
    pending = (outcome_day != MISSING) & (outcome_day > extract)
    outcome_all[pending] = "charge_pending"
    outcome_day[pending] = MISSING
    all_ids = np.concatenate([person["person_id"].to_numpy(object), np.array(stranger_ids, dtype=object)])
    return pd.DataFrame({
        "person": who_all, "person_id": all_ids[who_all], "offence_day": offence_all,
        "da_related": da_all, "outcome": outcome_all, "outcome_day": outcome_day,
    })


def session_records(ep: pd.DataFrame, site: np.ndarray, extract: int, rng: np.random.Generator) -> pd.DataFrame:
    """Sessions delivered: weekly group sessions and one-to-one sessions.

    Group programmes (Second Step, Women's Programme, Step Up Dads, Foundations) meet
    weekly on a fixed weekday (Second Step as two groups, city and county; Foundations
    on Saturdays, as seed 002 says) whenever someone is on the programme; attendees are
    the people then on it who came (85% each week). One-to-one sessions: weekly for the
    one-to-one programme, one mid-course session for Foundations (seed 002) and two for
    Step Up Dads.

    ``ep`` has ``programme, start, end`` (``MISSING`` while ongoing) and
    ``sessions_attended``; ``site`` is ``"city"`` or ``"county"`` per episode.
    """
    start = ep["start"].to_numpy(np.int64)
    end = np.where(ep["end"].to_numpy(np.int64) == MISSING, extract, ep["end"].to_numpy(np.int64))
    prog = ep["programme"].to_numpy(object)
    frames = []
    weekday = {("second_step", "city"): 1, ("second_step", "county"): 2, ("womens_programme", None): 3,
               ("step_up_dads", None): 0, ("foundations", None): 5}
    for (name, where), wd in weekday.items():
        sel = (prog == name) & ((site == where) if where else True)
        if sel.any():
            frames.append(weekly_group_sessions(name, start[sel], end[sel], wd, extract, rng))
    # one-to-one sessions, one row each
    frames.append(one_to_one_sessions(ep, prog == "one_to_one", end))
    f = (prog == "foundations") & (end - start >= 28)
    d = np.minimum(start[f] + 21 + np.floor(15 * rng.random(f.sum())).astype(np.int64), end[f])
    frames.append(pd.DataFrame({"programme": "foundations", "day": d, "format": "one_to_one", "attendees": 1}))
    sud = (prog == "step_up_dads") & (end - start >= 14)
    frames.append(pd.DataFrame({"programme": "step_up_dads", "day": np.concatenate([start[sud] + 7, end[sud] - 7]),
                                "format": "one_to_one", "attendees": 1}))
    out = pd.concat(frames, ignore_index=True)
    return out[out["day"] <= extract].reset_index(drop=True)


def weekly_group_sessions(programme: str, start: np.ndarray, end: np.ndarray, weekday: int, extract: int,
                          rng: np.random.Generator, closed: np.ndarray | None = None) -> pd.DataFrame:
    """One group's weekly sessions on ``weekday`` (0 = Monday) while anyone is on it.

    ``start``/``end`` are the episodes of the people in the group (``end`` already
    filled for ongoing ones); attendees are those then on it who came (85% each week).
    Days in ``closed`` (bank holidays, a Christmas break) have no session.
    """
    s, e = np.sort(start), np.sort(end)
    first = s[0] - ((s[0] + 3 - weekday) % 7)          # 1970-01-01 was a Thursday (weekday 3)
    days = np.arange(first, min(e[-1], extract) + 1, 7, dtype=np.int64)
    active = np.searchsorted(s, days, side="right") - np.searchsorted(e, days, side="left")
    keep = active > 0
    if closed is not None:
        keep &= ~np.isin(days, closed)
    days, active = days[keep], active[keep]
    attendees = np.maximum(1, rng.binomial(active, 0.85))
    return pd.DataFrame({"programme": programme, "day": days, "format": "group", "attendees": attendees})


def one_to_one_sessions(ep: pd.DataFrame, mask: np.ndarray, end: np.ndarray) -> pd.DataFrame:
    """One row per attended one-to-one session of the episodes in ``mask``, weekly from the start."""
    start = ep["start"].to_numpy(np.int64)
    k = np.where(mask, ep["sessions_attended"].to_numpy(np.int64), 0)
    who = np.repeat(np.arange(len(ep)), k)
    j = np.arange(len(who)) - np.repeat(np.cumsum(k) - k, k)
    d = np.minimum(start[who] + 7 * j, end[who])
    return pd.DataFrame({"programme": ep["programme"].to_numpy(object)[who], "day": d, "format": "one_to_one",
                         "attendees": 1})


def onward_records(person: pd.DataFrame, partner: pd.DataFrame, extract: int,
                   rng: np.random.Generator) -> pd.DataFrame:
    """Referrals on to specialist services, for people who started and engaged partners.

    People: substance misuse and mental-health services for those with the need
    (about half and two in five of them), housing and other now and then. Partners:
    counselling, housing, mental health, children's services. Dated within weeks of
    the start of work (first session; partner's first offer).
    """
    rows = []
    started = person["first_start"].to_numpy(np.int64) != MISSING
    needs = {
        "substance_misuse": person["substance"].to_numpy(bool) * 0.5,
        "mental_health": person["mental"].to_numpy(bool) * 0.4,
        "housing": np.full(len(person), 0.05),
        "other": np.full(len(person), 0.04),
    }
    for service, p in needs.items():
        hit = started & (rng.random(len(person)) < p)
        d = person["first_start"].to_numpy(np.int64)[hit] + np.floor(60 * rng.random(hit.sum())).astype(np.int64)
        rows.append(pd.DataFrame({"person": np.flatnonzero(hit), "partner": -1, "service": service, "day": d}))
    engaged = partner["engaged"].to_numpy(bool)
    kids = partner["children"].to_numpy(np.int64) > 0
    for service, p in {"counselling": 0.3, "housing": 0.1, "mental_health": 0.1,
                       "children_services": 0.15 * kids, "other": 0.05}.items():
        hit = engaged & (rng.random(len(partner)) < p)
        d = partner["offered"].to_numpy(np.int64)[hit] + 7 + np.floor(110 * rng.random(hit.sum())).astype(np.int64)
        rows.append(pd.DataFrame({"person": -1, "partner": np.flatnonzero(hit), "service": service, "day": d}))
    out = pd.concat(rows, ignore_index=True)
    return out[out["day"] <= extract].reset_index(drop=True)


def incident_propensity(high, prior, substance) -> np.ndarray:
    """Chance that abuse becomes known to the service during an episode (risk-driven)."""
    return expit(-2.0 + 0.9 * np.asarray(high, float) + 0.3 * np.asarray(prior, float)
                 + 0.4 * np.asarray(substance, float))


def span_incidents(who: np.ndarray, lo: np.ndarray, hi: np.ndarray, extra_rate: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """1 + Poisson(extra_rate) incident days uniform in ``[lo, hi]`` for each row."""
    k = 1 + rng.poisson(extra_rate, len(who))
    rep = np.repeat(np.arange(len(who)), k)
    return who[rep], uniform_days(lo[rep], hi[rep], rng)
