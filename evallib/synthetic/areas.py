"""Building blocks shared by the Nottinghamshire and Derbyshire demo generators.

The LLR demo (:mod:`evallib.synthetic.demo`) is calibrated cell by cell to a set of
published district tables. The other two areas publish far less (seed 003: two partner
percentages; seed 004: one quarterly return), so their generators draw most records
forward from the same person-level model (:mod:`evallib.synthetic.model`) and then fix
only the published figures. These helpers are that forward draw: referrals, episodes
(chains of programmes), and the group sessions a rolling programme holds.
Dates are day numbers (:mod:`evallib.synthetic._timeline`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from evallib.synthetic._timeline import day, durations, gaps, uniform_days
from evallib.synthetic.demo import _people_frame
from evallib.synthetic.model import TrueEffects

__all__ = ["referrals", "chains", "quarter_end", "closed_days"]


def referrals(counts: dict[tuple[date, date], tuple[int, int]], shares: dict[str, float], city: str,
              p_self: float, rng: np.random.Generator, effects: TrueEffects, high_harm: bool = False) -> pd.DataFrame:
    """People referred: per period ``(first, last)`` exactly ``(received, eligible)`` referrals,
    dates uniform in the period, districts in ``shares``; covariates and propensities from
    the model (:func:`evallib.synthetic.demo._people_frame`); ``high_harm``: all assessed
    high risk. Column ``pool`` numbers the period."""
    names = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()), dtype=float)
    cols: dict[str, list] = {"district": [], "ref": [], "eligible": [], "self": [], "pool": []}
    for i, ((lo, hi), (received, eligible)) in enumerate(counts.items()):
        cols["district"].append(rng.choice(names, size=received, p=p / p.sum()))
        cols["ref"].append(np.sort(uniform_days(np.full(received, day(lo)), np.full(received, day(hi)), rng)))
        elig = np.zeros(received, bool)
        elig[rng.permutation(received)[:eligible]] = True
        cols["eligible"].append(elig)
        cols["self"].append(rng.random(received) < np.where(elig, p_self, 0.2))
        cols["pool"].append(np.full(received, i))
    c = {k: np.concatenate(v) for k, v in cols.items()}
    people = _people_frame(c["district"], c["ref"], c["eligible"], c["self"], city, rng, effects,
                           np.full(len(c["ref"]), high_harm))
    people["pool"] = c["pool"]
    return people


def chains(people: pd.DataFrame, who: np.ndarray, first: np.ndarray, start: np.ndarray, core: tuple[str, ...],
           rng: np.random.Generator, follow_on: str | None = None, p_follow: float = 0.0,
           p_restart: float = 0.0) -> pd.DataFrame:
    """Episodes drawn forward from each person's first programme and start day.

    Core programmes complete with the model's probability (confounded); a follow-on
    (a fathers' programme) is offered to men with children who completed a core
    programme (``p_follow``) and completes 85% of the time; people who dropped out may
    start the same programme again (``p_restart``). At most three episodes each.
    """
    gender = people["gender"].to_numpy(object)
    kids = people["children"].to_numpy(np.int64)
    pc = people["p_complete"].to_numpy(float)
    prog = np.asarray(first, dtype=object)
    start = np.asarray(start, dtype=np.int64)
    frames = []
    for _ in range(3):
        if len(who) == 0:
            break
        is_core = np.isin(prog, core)
        comp = rng.random(len(who)) < np.where(is_core, pc[who], 0.85)
        end = start + durations(prog, comp, rng)
        frames.append(pd.DataFrame({"person": who, "programme": prog, "completed": comp, "start": start,
                                    "end": end}))
        u = rng.random(len(who))
        restart = is_core & ~comp & (u < p_restart)
        follow = (is_core & comp & (gender[who] == "male") & (kids[who] > 0) & (u < p_follow)
                  if follow_on else np.zeros(len(who), bool))
        nxt = restart | follow
        kind = np.where(restart, "restart", "sud")[nxt]
        start = end[nxt] + gaps(kind, rng)
        prog = np.where(restart, prog, follow_on or "").astype(object)[nxt]
        who = who[nxt]
    if not frames:
        return pd.DataFrame(columns=["person", "programme", "completed", "start", "end"])
    return pd.concat(frames, ignore_index=True)


def quarter_end(days: np.ndarray) -> np.ndarray:
    """Last day of the calendar quarter (= financial quarter) each day falls in."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]").astype(np.int64)          # months since 1970-01
    next_q = (months // 3 + 1) * 3
    return next_q.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1


def closed_days(first: date, last: date) -> np.ndarray:
    """Days with no group session: bank holidays in England and Wales, and 24 December -
    1 January (a Christmas break), as day numbers."""
    from evallib.reports.quarterly import bank_holidays_england_wales

    out = []
    for year in range(first.year, last.year + 1):
        out += [day(d) for d in bank_holidays_england_wales(year)]
        out += list(range(day(date(year, 12, 24)), day(date(year + 1, 1, 1)) + 1))
    return np.unique(np.array(out, dtype=np.int64))
