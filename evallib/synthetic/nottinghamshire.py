"""The Nottinghamshire demo: the Your Choice Project, calibrated to its published partner claims.

Seed 003 (Nottinghamshire OPCC news release, 1 June 2022) describes the service and
publishes two partner outcomes, as bare percentages:

- a 24-week Perpetrator Programme with group and one-to-one interventions, for men or
  women (``perpetrator_group``, ``perpetrator_one_to_one``);
- a 10-week Dads' Programme (``dads``, a follow-on for fathers);
- Integrated Partner Support for up to a year, for the partners and ex-partners of
  clients assessed as suitable (eligible referrals);
- "95 per cent of survivors reported a sustained reduction of abuse while 90 per cent
  of victims/survivors reported feeling safer since intervention".

Referrals April 2021 - March 2023 (the two funded years) are drawn forward from the
model (:mod:`evallib.synthetic.model`): completion is confounded and the true effect of
completing is stored, as in the LLR demo. Calibration fixes only what was published: of
the engaged partners offered support in 2021-22 (the first funded year; "since
launching"), exactly :data:`CLAIMS` answered yes and no. Partners whose (ex-)partner
completed are more likely to say yes (the answers are drawn with weights from the
partner model), so the claims stay confounded too. See ``docs/demo-data.md``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from evallib.params import AreaParams
from evallib.synthetic._timeline import day, expit, waits, weighted_pick
from evallib.synthetic.areas import chains, closed_days, referrals
from evallib.synthetic.demo import (
    _finish_episodes,
    _incidents,
    _partners,
    _person_facts,
    _Plan,
    _truth,
    assemble,
    person_onward,
)
from evallib.synthetic.model import TrueEffects
from evallib.synthetic.records import one_to_one_sessions, weekly_group_sessions

__all__ = ["generate", "EXTRACT_DATE", "CLAIMS", "CLAIM_PERIOD", "REFERRALS"]

EXTRACT_DATE = date(2025, 6, 30)
CITY = "Nottingham City"
CORE = ("perpetrator_group", "perpetrator_one_to_one")
#: Referrals (received, eligible) per funded year.
REFERRALS = {
    (date(2021, 4, 1), date(2022, 3, 31)): (196, 172),
    (date(2022, 4, 1), date(2023, 3, 31)): (214, 189),
}
SHARES = {"Ashfield": 10, "Bassetlaw": 8, "Broxtowe": 8, "Gedling": 9, "Mansfield": 11,
          "Newark and Sherwood": 9, "Rushcliffe": 9, "Nottingham City": 36}
#: "Since launching": partners offered support in the first funded year.
CLAIM_PERIOD = (date(2021, 4, 1), date(2022, 3, 31))
#: Engaged partners offered support in CLAIM_PERIOD: (yes, no) answers. 95 of 100 is the
#: published "95 per cent ... sustained reduction of abuse"; 90 of 100 the "90 per cent
#: ... feeling safer since intervention". Every "no" and every "unknown" comes from partners
#: whose (ex-)partner did not complete (5 or more, so disclosure control keeps them).
CLAIMS = {"abuse_reduced": (95, 5), "feels_safer": (90, 10)}
UNKNOWN = 8


def _first_programme(gender: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Group for most; one-to-one for about a quarter (seed 003: "Mike" was offered one-to-one)."""
    u = rng.random(len(gender))
    return np.where(u < np.where(gender == "female", 0.45, 0.25), "perpetrator_one_to_one",
                    "perpetrator_group").astype(object)


def _sessions(ep: pd.DataFrame, site: np.ndarray, extract: int, rng: np.random.Generator) -> pd.DataFrame:
    """Weekly groups (city on Tuesdays, county on Wednesdays, the Dads' Programme on Mondays)
    and one-to-one sessions, none on bank holidays or over Christmas."""
    start = ep["start"].to_numpy(np.int64)
    end = np.where(ep["end"].to_numpy(np.int64) < 0, extract, ep["end"].to_numpy(np.int64))
    prog = ep["programme"].to_numpy(object)
    closed = closed_days(date(2021, 1, 1), EXTRACT_DATE)
    frames = []
    for name, where, wd in (("perpetrator_group", "city", 1), ("perpetrator_group", "county", 2), ("dads", None, 0)):
        sel = (prog == name) & ((site == where) if where else True)
        if sel.any():
            frames.append(weekly_group_sessions(name, start[sel], end[sel], wd, extract, rng, closed))
    frames.append(one_to_one_sessions(ep, prog == "perpetrator_one_to_one", end))
    out = pd.concat(frames, ignore_index=True)
    return out[out["day"] <= extract].reset_index(drop=True)


def _calibrate_claims(partners: pd.DataFrame, people: pd.DataFrame, ep: pd.DataFrame,
                      rng: np.random.Generator) -> pd.DataFrame:
    """Fix the answers of the engaged partners offered support in CLAIM_PERIOD to CLAIMS.

    Everyone else in that group is left "not recorded"; yes answers are drawn with
    weights from the partner model (more likely when the person completed, less at high
    risk), and the "no" and "unknown" answers from partners of people who did not complete.
    """
    p = partners.copy()
    lo, hi = day(CLAIM_PERIOD[0]), day(CLAIM_PERIOD[1])
    rows = np.flatnonzero(p["engaged"].to_numpy(bool) & (p["offered"].to_numpy() >= lo)
                          & (p["offered"].to_numpy() <= hi))
    who = p["person"].to_numpy(np.int64)[rows]
    done = ep.loc[ep["programme"].isin(CORE) & (ep["status"] == "completed"), "person"].unique()
    completer = np.isin(who, done)
    high = (people["risk_level"].to_numpy(object) == "high")[who]
    weight = {"feels_safer": expit(1.5 + 0.8 * completer - 0.6 * high),
              "abuse_reduced": expit(1.2 + 1.0 * completer - 0.8 * high)}
    for col, (yes, no) in CLAIMS.items():
        values = np.full(len(rows), None, dtype=object)
        free = np.ones(len(rows), bool)
        for answer, k, w in (("no", no, (1 - weight[col]) * ~completer), ("unknown", UNKNOWN, 1.0 * ~completer),
                             ("yes", yes, weight[col])):
            w = np.where(free, w, 0.0)
            pick = weighted_pick(w, k, rng)
            values[pick] = answer
            free[pick] = False
        out = p[col].to_numpy(object).copy()
        out[rows] = values
        p[col] = out
    return p


def generate(params: AreaParams, seed: int, effects: TrueEffects) -> tuple[dict[str, pd.DataFrame], dict]:
    """The Nottinghamshire demo dataset: contract tables and metadata (see the module docs)."""
    rng = np.random.default_rng(seed)
    people = referrals(REFERRALS, SHARES, CITY, 0.25, rng, effects)
    ref = people["ref"].to_numpy(np.int64)
    eligible = people["eligible"].to_numpy(bool)
    starts = eligible & (rng.random(len(people)) < people["p_start"].to_numpy())
    who = np.flatnonzero(starts)
    first = _first_programme(people["gender"].to_numpy(object)[who], rng)
    ep = chains(people, who, first, ref[who] + waits(len(who), rng), CORE, rng, follow_on="dads",
                p_follow=0.35, p_restart=0.06)
    # the Dads' Programme is for fathers
    dads = ep.loc[ep["programme"] == "dads", "person"].to_numpy(np.int64)
    kids = people["children"].to_numpy(np.int64).copy()
    kids[dads] = np.maximum(kids[dads], 1)
    people["children"] = kids
    plan = _Plan(people=people, ep=_finish_episodes(ep, rng, EXTRACT_DATE), calibrated=False, window_people={})
    facts = _person_facts(plan, EXTRACT_DATE, CORE)
    incidents = _incidents(plan, facts, rng, EXTRACT_DATE)
    partners = _partners(plan, facts, np.unique(incidents["person"].to_numpy()), rng, EXTRACT_DATE, CORE,
                         windows=(("all", (date(2021, 4, 1), EXTRACT_DATE)),), offer_to=eligible)
    partners = _calibrate_claims(partners, people, plan.ep, rng)
    truth = _truth(plan, facts, rng, effects, EXTRACT_DATE)
    district = people["district"].to_numpy(object)
    first_ref, last_ref = min(k[0] for k in REFERRALS), max(k[1] for k in REFERRALS)
    description = (f"Synthetic demo dataset for {params.display_name} (the Your Choice Project; partner "
                   f"answers of 2021-22 calibrated to the OPCC's published claims): referrals "
                   f"{first_ref:%B %Y} - {last_ref:%B %Y}, case and police records extracted "
                   f"{EXTRACT_DATE:%d %B %Y}. Not real people.")
    return assemble(
        params.name, plan, facts, incidents, partners, truth, rng, seed=seed, effects=effects,
        extract_date=EXTRACT_DATE, description=description, calibrated=True,
        generator="evallib.synthetic.nottinghamshire",
        sessions=lambda ep, extract, rng: _sessions(
            ep, np.where(district[ep["person"].to_numpy()] == CITY, "city", "county"), extract, rng),
        onward=person_onward,
        extra_meta={"calibrated_to": "Nottinghamshire OPCC news release, 1 June 2022 (seed 003): partner "
                                     "claims of 2021-22"})
