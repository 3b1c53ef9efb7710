"""A synthetic national dataset: about 40 areas, 1M referrals, 10M police records.

:func:`generate_national` draws every table of the data contract that the evaluation
needs (referrals, episodes, police) for the police force areas of
``params/areas/national.yaml`` (treated as the districts of one area, so one run loads
and analyses them all), fully vectorised: no loop over people. :func:`write_national`
writes it as Parquet *partitioned by area*: each table is a folder
``<table>.parquet/`` holding one file per area (``01-avon-and-somerset.parquet``, ...),
which the loader, pandas, DuckDB and Polars all read as one table.

It exists to measure speed and memory at national scale (``benchmarks/``): the
numbers are plausible in shape (repeat referrals, drop-out, follow-on programmes,
heavy-tailed offending, outcomes that wait for court, police ids of people never
referred) but calibrated to nothing and carry no true effect of completing. ``scale``
shrinks everything in proportion for tests (``scale=0.01``: 10,000 referrals).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from evallib.params import load_area
from evallib.schemas import TABLES

__all__ = ["generate_national", "write_national", "NATIONAL_AREA", "N_REFERRALS", "N_POLICE"]

NATIONAL_AREA = "national"
N_REFERRALS = 1_000_000
N_POLICE = 10_000_000
DEFAULT_SEED = 20260401
FIRST_REFERRAL = date(2019, 4, 1)
LAST_REFERRAL = date(2024, 3, 31)
EXTRACT_DATE = date(2024, 6, 30)
POLICE_EXTRACT_DATE = date(2025, 12, 31)
FIRST_OFFENCE = date(2016, 4, 1)
GENERATOR_VERSION = "1.0"

_SOURCES = ("self", "police", "childrens_social_care", "adult_social_care", "probation", "health",
            "idva_marac", "other")
_SOURCE_P = (0.25, 0.25, 0.2, 0.03, 0.1, 0.05, 0.07, 0.05)
_ETHNICITY = ("white", "mixed", "asian", "black", "other", "unknown")
_ETHNICITY_P = (0.78, 0.04, 0.08, 0.04, 0.02, 0.04)
_STATUSES = ("completed", "disengaged", "suspended", "excluded", "ongoing")
_STATUS_P = (0.55, 0.25, 0.05, 0.05, 0.10)
_OUTCOMES = ("conviction", "caution", "community_resolution", "charge_pending", "no_further_action", "other")
_OUTCOME_P = (0.22, 0.10, 0.08, 0.07, 0.43, 0.10)
_INELIGIBLE = ("not in area", "no current relationship", "declined", "risk too high", "other")


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Day numbers to ``datetime64[ns]`` (``NaT`` where ``missing``)."""
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    if missing is not None:
        out[missing] = np.datetime64("NaT")
    return out


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array, built from bytes.

    One column of digit bytes per position (``width`` steps), never a Python string per
    id: 10M ids take a fraction of a second.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    pre = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    row = len(pre) + width
    mat = np.empty((len(numbers), row), dtype=np.uint8)
    mat[:, :len(pre)] = pre
    rest = numbers.copy()
    for pos in range(row - 1, len(pre) - 1, -1):
        mat[:, pos] = (rest % 10 + 48).astype(np.uint8)
        rest //= 10
    offsets = np.arange(0, mat.size + 1, row, dtype=np.int32)
    return pa.StringArray.from_buffers(len(numbers), pa.py_buffer(offsets), pa.py_buffer(mat.ravel()))


def _pick(choices: tuple[str, ...], p, size: int, rng: np.random.Generator) -> np.ndarray:
    """Codes into ``choices`` drawn with probabilities ``p``."""
    return rng.choice(len(choices), size=size, p=np.asarray(p) / np.sum(p))


def _labels(choices, codes: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Codes to an Arrow string column (plain strings, as a provider's export has)."""
    arr = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=missing),
                                         pa.array(list(choices), pa.string()))
    return arr.cast(pa.string())


def generate_national(scale: float = 1.0, seed: int = DEFAULT_SEED, *, n_referrals: int | None = None,
                      n_police: int | None = None) -> tuple[dict[str, pd.DataFrame], dict, dict[str, np.ndarray]]:
    """Draw the national dataset.

    Parameters
    ----------
    scale
        Fraction of the full size (1M referrals, 10M police records).
    seed
        The same seed gives the same dataset.
    n_referrals, n_police
        Exact sizes, overriding ``scale``.

    Returns
    -------
    tables
        ``referrals``, ``episodes`` and ``police`` in the contract's columns and dtypes.
    meta
        What goes into ``dataset.yaml``.
    area_of
        Per table, each row's area number (index into the area's districts), for
        partitioning.
    """
    n = int(n_referrals if n_referrals is not None else round(N_REFERRALS * scale))
    n_pol = int(n_police if n_police is not None else round(N_POLICE * scale))
    if n < 1 or n_pol < 0:
        raise ValueError("the national dataset needs at least one referral")
    params = load_area(NATIONAL_AREA)
    districts = np.array(params.districts, dtype=object)
    rng = np.random.default_rng(seed)

    # people and their referrals: about 8% of referrals are a repeat referral of someone
    n_persons = max(1, int(round(n * 0.92)))
    person = np.concatenate([np.arange(n_persons), rng.integers(0, n_persons, n - n_persons)])
    size = rng.gamma(2.0, 1.0, len(districts))
    person_area = rng.choice(len(districts), size=n_persons, p=size / size.sum())
    area = person_area[person]
    ref_day = rng.integers(_day(FIRST_REFERRAL), _day(LAST_REFERRAL) + 1, n)
    order = np.lexsort((person, ref_day))             # referral ids in date order
    person, area, ref_day = person[order], area[order], ref_day[order]
    female = rng.random(n_persons) < 0.1
    eligible = rng.random(n) < 0.88
    gender_code = np.where(female[person], 0, np.where(rng.random(n) < 0.005, 2, 1))
    assessed = eligible
    risk = rng.choice(3, size=n, p=[0.45, 0.4, 0.15])
    referrals = _frame("referrals", {
        "referral_id": _ids("R", np.arange(1, n + 1), 7),
        "person_id": _ids("P", person + 1, 7),
        "referral_date": _dates(ref_day),
        "district": _labels(tuple(districts), area),
        "source": _labels(_SOURCES, _pick(_SOURCES, _SOURCE_P, n, rng)),
        "eligible": eligible,
        "ineligible_reason": _labels(_INELIGIBLE, rng.integers(0, len(_INELIGIBLE), n), eligible),
        "gender": _labels(("female", "male", "other"), gender_code),
        "age": rng.integers(18, 76, n),
        "ethnicity": _labels(_ETHNICITY, _pick(_ETHNICITY, _ETHNICITY_P, n, rng)),
        "risk_level": _labels(("standard", "medium", "high"), risk, ~assessed),
        "children": rng.poisson(1.2, n),
        "prior_da_incidents": rng.poisson(1.5 + risk, n),
        "substance_misuse": pd.array(np.where(assessed, rng.random(n) < 0.3, None), dtype="boolean"),
        "mental_health": pd.array(np.where(assessed, rng.random(n) < 0.35, None), dtype="boolean"),
    })

    # episodes: a core (or awareness-only) programme for about 60% of eligible referrals,
    # a follow-on for some completers
    extract = _day(EXTRACT_DATE)
    start = ref_day + 7 + rng.gamma(2.0, 25.0, n).astype(np.int64)
    starts = eligible & (rng.random(n) < 0.62) & (start <= extract)
    who = np.flatnonzero(starts)
    m = len(who)
    prog = np.where(female[person[who]], np.where(rng.random(m) < 0.8, 2, 1),
                    rng.choice([0, 1, 4], size=m, p=[0.75, 0.12, 0.13]))
    names = np.array(["second_step", "one_to_one", "womens_programme", "step_up_dads", "foundations"], dtype=object)
    weeks = np.array([24, 20, 20, 10, 6])
    ep_start = start[who]
    status = _pick(_STATUSES, _STATUS_P, m, rng)
    length = weeks[prog] * 7
    frac = np.where(status == 0, rng.uniform(0.9, 1.2, m), rng.uniform(0.1, 0.9, m))
    ep_end = ep_start + np.maximum(1, (length * frac).astype(np.int64))
    running = (status == 4) | (ep_end > extract)
    status = np.where(running, 4, status)
    follow = (status == 0) & (prog != 4) & ~female[person[who]] & (rng.random(m) < 0.15)
    f_start = ep_end[follow] + rng.integers(7, 60, int(follow.sum()))
    keep = f_start <= extract
    f_who = who[follow][keep]
    f_start = f_start[keep]
    f_status = np.where(rng.random(len(f_who)) < 0.7, 0, 1)
    f_end = f_start + np.where(f_status == 0, 70, rng.integers(7, 60, len(f_who)))
    f_running = f_end > extract
    f_status = np.where(f_running, 4, f_status)
    ep_ref = np.concatenate([who, f_who])
    ep_prog = np.concatenate([prog, np.full(len(f_who), 3)])
    ep_s = np.concatenate([ep_start, f_start])
    ep_e = np.concatenate([ep_end, f_end])
    ep_status = np.concatenate([status, f_status])
    ep_running = np.concatenate([running, f_running])
    e_order = np.lexsort((ep_ref, ep_s))
    ep_ref, ep_prog, ep_s, ep_e, ep_status, ep_running = (
        a[e_order] for a in (ep_ref, ep_prog, ep_s, ep_e, ep_status, ep_running))
    k = len(ep_ref)
    offered = weeks[ep_prog]
    attended = rng.binomial(offered, np.where(ep_status == 0, 0.9, 0.4))
    episodes = _frame("episodes", {
        "episode_id": _ids("E", np.arange(1, k + 1), 7),
        "referral_id": _ids("R", ep_ref + 1, 7),
        "programme": names[ep_prog],
        "start_date": _dates(ep_s),
        "end_date": _dates(ep_e, ep_running),
        "status": _labels(_STATUSES, ep_status),
        "sessions_offered": offered,
        "sessions_attended": attended,
    })

    # police: heavy-tailed offending among referred people, 15% ids never referred
    pol_extract = _day(POLICE_EXTRACT_DATE)
    n_known = int(round(n_pol * 0.85))
    rate = rng.gamma(0.6, 1.0, n_persons)
    pol_person = rng.choice(n_persons, size=n_known, p=rate / rate.sum())
    n_strangers = max(1, n_pol // 50)
    stranger = rng.integers(0, n_strangers, n_pol - n_known)
    pol_ids = np.concatenate([pol_person + 1, n_persons + 1 + stranger])
    pol_area = np.concatenate([person_area[pol_person], rng.integers(0, len(districts), n_pol - n_known)])
    off_day = rng.integers(_day(FIRST_OFFENCE), pol_extract + 1, n_pol)
    outcome = _pick(_OUTCOMES, _OUTCOME_P, n_pol, rng)
    delay = np.where(outcome == 0, rng.gamma(2.0, 60.0, n_pol), rng.gamma(1.0, 25.0, n_pol)).astype(np.int64)
    out_day = off_day + delay
    undated = (outcome == 3) | ((outcome == 5) & (rng.random(n_pol) < 0.5))
    late = out_day > pol_extract
    outcome = np.where(late & (outcome == 0), 3, outcome)      # still waiting for court
    undated |= late
    p_order = np.lexsort((off_day, pol_ids))
    police = _frame("police", {
        "offence_id": _ids("O", np.arange(1, n_pol + 1), 8),
        "person_id": _ids("P", pol_ids[p_order], 7),
        "offence_date": _dates(off_day[p_order]),
        "da_related": rng.random(n_pol) < 0.55,
        "outcome": _labels(_OUTCOMES, outcome[p_order]),
        "outcome_date": _dates(out_day[p_order], undated[p_order]),
    })
    meta = {
        "area": NATIONAL_AREA,
        "extract_date": EXTRACT_DATE.isoformat(),
        "police_extract_date": POLICE_EXTRACT_DATE.isoformat(),
        "description": (f"Synthetic national dataset: {n:,} referrals in {len(districts)} areas, "
                        f"{FIRST_REFERRAL:%B %Y} - {LAST_REFERRAL:%B %Y}, {n_pol:,} police records. "
                        "For benchmarks: calibrated to nothing. Not real people."),
        "synthetic": {"seed": int(seed), "generator": "evallib.synthetic.national",
                      "generator_version": GENERATOR_VERSION, "n_referrals": n, "n_police": n_pol,
                      "areas": len(districts)},
    }
    area_of = {"referrals": area, "episodes": area[ep_ref], "police": pol_area[p_order]}
    return {"referrals": referrals, "episodes": episodes, "police": police}, meta, area_of


def _frame(name: str, columns: dict) -> pd.DataFrame:
    """A contract table in its columns and the loader's dtypes, strings kept in Arrow."""
    out = {}
    for col in TABLES[name].columns:
        v = columns[col.name]
        if isinstance(v, pa.Array):
            out[col.name] = pd.Series(pd.arrays.ArrowStringArray(v), name=col.name)
        elif col.kind in ("str", "category"):
            out[col.name] = pd.Series(v, name=col.name).astype("string")
        elif col.kind == "date":
            out[col.name] = pd.Series(v, name=col.name).astype("datetime64[ns]")
        else:
            out[col.name] = pd.Series(v, name=col.name).astype({"bool": "boolean", "int": "Int64"}[col.kind])
    return pd.DataFrame(out)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def write_national(out_dir: str | Path, scale: float = 1.0, seed: int = DEFAULT_SEED, **sizes) -> Path:
    """Generate the national dataset and write it as Parquet partitioned by area.

    Each table becomes a folder ``<table>.parquet/`` with one file per area, rows in id
    order within each file; ``dataset.yaml`` beside them. Returns the folder.
    """
    tables, meta, area_of = generate_national(scale, seed, **sizes)
    districts = load_area(NATIONAL_AREA).districts
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        folder = out / f"{name}.parquet"
        for other in (out / f"{name}.csv", out / f"{name}.xlsx"):
            other.unlink(missing_ok=True)
        if folder.is_file():
            folder.unlink()
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.parquet"):
            old.unlink()
        codes = area_of[name]
        order = np.argsort(codes, kind="stable")
        table = pa.Table.from_pandas(df, preserve_index=False).take(pa.array(order))
        bounds = np.searchsorted(codes[order], np.arange(len(districts) + 1))
        for i, d in enumerate(districts):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            if hi > lo:
                pq.write_table(table.slice(lo, hi - lo), folder / f"{i + 1:02d}-{_slug(d)}.parquet")
        del table
    (out / "dataset.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100),
                                      encoding="utf-8")
    return out
