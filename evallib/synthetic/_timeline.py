"""Dates, durations and sampling helpers shared by the synthetic generators (private).

Dates are whole days since 1970-01-01 held in ``int64`` arrays (``MISSING`` for none),
so that every step is a vectorised array operation; they become ``datetime64`` only
when the tables are assembled.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

MISSING = np.int64(-(2**40))

#: Nominal length in weeks (completed) and longest stay before dropping out, per programme.
SHAPE = {
    "second_step": (24, 18),
    "one_to_one": (14, 9),
    "womens_programme": (20, 14),
    "step_up_dads": (10, 7),
    "foundations": (6, 4),
    # Nottinghamshire, the Your Choice Project (seed 003)
    "perpetrator_group": (24, 18),
    "perpetrator_one_to_one": (24, 18),
    "dads": (10, 7),
    # Derbyshire (seed 004): Changes, and the 180 high-harm service (one-to-one work)
    "changes": (26, 20),
    "high_harm": (16, 12),
}
GROUP_PROGRAMMES = ("second_step", "womens_programme", "step_up_dads", "foundations")
NON_COMPLETION = np.array(["disengaged", "suspended", "excluded"], dtype=object)


def day(d: date | str) -> int:
    """A date as whole days since 1970-01-01."""
    return int(np.datetime64(str(d), "D").astype(np.int64))


def to_datetime(days: np.ndarray) -> pd.Series:
    """Day numbers to ``datetime64[ns]`` with ``MISSING`` as ``NaT``."""
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    out[days == MISSING] = np.datetime64("NaT")
    return pd.Series(out)


def uniform_days(lo, hi, rng: np.random.Generator) -> np.ndarray:
    """One uniform whole day in ``[lo, hi]`` per row (both ends included)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    span = np.maximum(hi - lo + 1, 1)
    return lo + np.floor(rng.random(len(lo)) * span).astype(np.int64)


def weighted_pick(weights, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``k`` items drawn without replacement with probability ∝ weight.

    Gumbel-top-k: the k largest ``log(w) + Gumbel`` keys are a successive weighted
    sample without replacement (the same law as drawing one at a time and removing
    it). Used wherever calibration fixes *how many* and a model says *who*.
    """
    w = np.asarray(weights, dtype=float)
    if k == 0:
        return np.array([], dtype=np.int64)
    if k > int((w > 0).sum()):
        raise ValueError(f"cannot pick {k} of {int((w > 0).sum())} items with positive weight")
    keys = np.where(w > 0, np.log(np.where(w > 0, w, 1.0)) + rng.gumbel(size=len(w)), -np.inf)
    return np.sort(np.argsort(-keys, kind="stable")[:k])


def odds(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return p / (1 - p)


def expit(x) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def durations(programme, completed, rng: np.random.Generator) -> np.ndarray:
    """Days from first to last session (or closure) of an episode.

    Completed group programmes run their nominal weeks plus a few missed or holiday
    weeks; one-to-one work runs 10-18 weeks; people who drop out leave after 1 week
    up to the programme's longest stay, closed up to two weeks after their last session.
    """
    prog = np.asarray(programme, dtype=object)
    completed = np.asarray(completed, dtype=bool)
    out = np.zeros(len(prog), dtype=np.int64)
    for name, (nominal, drop_max) in SHAPE.items():
        c = (prog == name) & completed
        d = (prog == name) & ~completed
        if c.any():
            weeks = rng.integers(10, 19, c.sum()) if name == "one_to_one" else nominal + rng.poisson(1.0, c.sum())
            out[c] = 7 * (weeks - 1) + rng.integers(0, 3, c.sum())
        if d.any():
            out[d] = 7 * (rng.integers(1, drop_max + 1, d.sum()) - 1) + rng.integers(0, 15, d.sum())
    return out


def waits(n: int, rng: np.random.Generator) -> np.ndarray:
    """Days from referral to first session: assessment and waiting list (mean ~46 days)."""
    return 10 + np.rint(rng.gamma(2.0, 18.0, n)).astype(np.int64)


GAP = {"sud": (7, 12.0), "progress": (14, 15.0), "restart": (56, 30.0)}


def gaps(kind, rng: np.random.Generator) -> np.ndarray:
    """Days between two episodes of one person: ``sud`` (Second Step completed -> Step Up
    Dads), ``progress`` (Foundations -> a core programme), ``restart`` (dropped out ->
    started again)."""
    kind = np.asarray(kind, dtype=object)
    out = np.zeros(len(kind), dtype=np.int64)
    for k, (floor, scale) in GAP.items():
        m = kind == k
        if m.any():
            out[m] = floor + np.rint(rng.gamma(2.0, scale, m.sum())).astype(np.int64)
    return out


def statuses(completed, rng: np.random.Generator) -> np.ndarray:
    """Episode status: ``completed`` or how a non-completion ended."""
    completed = np.asarray(completed, dtype=bool)
    out = rng.choice(NON_COMPLETION, size=len(completed), p=[0.8, 0.08, 0.12])
    out[completed] = "completed"
    return out.astype(object)


def schedule(rng: np.random.Generator, programmes: np.ndarray, completed: np.ndarray,
             lo: np.ndarray, hi: np.ndarray, straddle: np.ndarray, gap_kind: np.ndarray,
             ref_lo: np.ndarray, ref_hi: np.ndarray, max_iter: int = 5000, *,
             start_hi: np.ndarray | None = None, draw_wait=waits
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dates for chains of L consecutive episodes whose end dates must fall in windows.

    Row i is one person: episode j (0..L-1) of programme ``programmes[i, j]`` must end in
    ``[lo[i, j], hi[i, j]]``, or, where ``straddle[i, j]``, be under way on day
    ``lo[i, j]`` and end after it. The referral must fall in ``[ref_lo[i], ref_hi[i]]``.
    Durations, gaps and the wait are drawn first; they fix the feasible range of the
    last end date, which is then drawn uniformly; rows whose range is empty are drawn
    again (vectorised rejection, looping over attempts, never over people).

    ``start_hi`` (optional, per row) is the latest day the first episode may start (a
    service with no waiting list starts people within their referral's quarter);
    ``draw_wait(k, rng)`` draws the days from referral to the first session.

    Returns ``starts (n, L), ends (n, L), referral (n,)`` in day numbers.
    """
    n, L = programmes.shape
    starts = np.zeros((n, L), dtype=np.int64)
    ends = np.zeros((n, L), dtype=np.int64)
    refs = np.zeros(n, dtype=np.int64)
    pending = np.arange(n)
    for _ in range(max_iter):
        if len(pending) == 0:
            return starts, ends, refs
        k = len(pending)
        dur = np.column_stack([durations(programmes[pending, j], completed[pending, j], rng) for j in range(L)])
        gap = (np.column_stack([gaps(gap_kind[pending, j], rng) for j in range(L - 1)])
               if L > 1 else np.zeros((k, 0), dtype=np.int64))
        wait = draw_wait(k, rng)
        off = np.zeros((k, L), dtype=np.int64)   # end_j = end_last - off_j
        for j in range(L - 2, -1, -1):
            off[:, j] = off[:, j + 1] + dur[:, j + 1] + gap[:, j]
        lo_j = np.where(straddle[pending], lo[pending] + 1, lo[pending])
        hi_j = np.where(straddle[pending], lo[pending] + dur, hi[pending])
        lower = (lo_j + off).max(axis=1)
        upper = (hi_j + off).min(axis=1)
        lead = off[:, 0] + dur[:, 0] + wait
        lower = np.maximum(lower, ref_lo[pending] + lead)
        upper = np.minimum(upper, ref_hi[pending] + lead)
        if start_hi is not None:
            upper = np.minimum(upper, start_hi[pending] + off[:, 0] + dur[:, 0])
        ok = lower <= upper
        last = uniform_days(lower[ok], upper[ok], rng)
        rows = pending[ok]
        ends[rows] = last[:, None] - off[ok]
        starts[rows] = ends[rows] - dur[ok]
        refs[rows] = starts[rows, 0] - wait[ok]
        pending = pending[~ok]
    raise RuntimeError(f"could not schedule {len(pending)} episode chain(s) within their windows")
