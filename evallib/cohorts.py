"""Who is in which group, their index dates, and the record flow from supplied to analysed.

Definitions (docs/outcomes.md, from shared/design/outcomes.md):

- **Starters** of a period: people whose *first* core-programme episode (core
  programmes are set per area: ``role: core`` in params) started in the period. That
  episode is the person's *index episode*.
- **Completers / non-completers**: by the status of the index episode; non-completers
  are ``disengaged``, ``suspended`` or ``excluded``. ``ongoing`` episodes are neither and
  are counted apart.
- **Referred, not started**: people with an eligible referral in the period and no
  episode of any programme from any of their referrals, and who are not starters: a
  second comparison group, indexed at their (first such) referral date.

Every person supplied is accounted for in :func:`record_flow`, with the reason they are
not analysed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from evallib.fastops import isin, positions
from evallib.params import OutcomeSettings, Period, parse_period
from evallib.schemas import Dataset

__all__ = [
    "COMPLETED", "NOT_COMPLETED", "ONGOING", "REFERRED_NOT_STARTED", "GROUP_LABELS",
    "NON_COMPLETION_STATUSES", "Cohort", "build_cohort", "starters", "referred_not_started",
    "record_flow", "COVARIATE_COLUMNS",
]

COMPLETED = "completed"
NOT_COMPLETED = "not_completed"
ONGOING = "ongoing"
REFERRED_NOT_STARTED = "referred_not_started"
GROUP_LABELS = {
    COMPLETED: "Completers",
    NOT_COMPLETED: "Non-completers",
    ONGOING: "Still on programme",
    REFERRED_NOT_STARTED: "Referred, not started",
}
NON_COMPLETION_STATUSES = ("disengaged", "suspended", "excluded")

#: Referral columns carried onto each person for tables and adjustment.
COVARIATE_COLUMNS = [
    "district", "source", "gender", "age", "ethnicity", "risk_level", "children",
    "prior_da_incidents", "substance_misuse", "mental_health",
]


@dataclass(frozen=True)
class Cohort:
    """People of one area and period, one row each, with their group and index date.

    ``people`` columns: ``person_id, referral_id, episode_id, programme, referral_date,
    start_date, end_date, status, group, index_date`` plus :data:`COVARIATE_COLUMNS`
    and ``self_referred``. ``flow`` is the record flow (:func:`record_flow`).
    """

    period: Period
    settings: OutcomeSettings
    people: pd.DataFrame
    flow: pd.DataFrame

    def group(self, name: str) -> pd.DataFrame:
        return self.people[self.people["group"] == name]

    def with_settings(self, settings: OutcomeSettings) -> Cohort:
        """The same people under other outcome settings, without building the cohort again.

        Who is in which group does not depend on the settings; only the index date of
        starters does (``index_date: exit`` or ``start``). For sensitivity analyses.
        """
        people = self.people.copy()
        people["index_date"] = _index_dates(people, settings)
        return Cohort(period=self.period, settings=settings, people=people, flow=self.flow)

    @property
    def compared(self) -> pd.DataFrame:
        """Completers and non-completers: the two groups of the main comparison."""
        return self.people[self.people["group"].isin([COMPLETED, NOT_COMPLETED])]


@dataclass(frozen=True)
class _Facts:
    """What every cohort of a dataset is built from, computed once per dataset.

    ``first``: each person's first core-programme episode (earliest ``start_date``, ties
    by ``episode_id``) with the episode's columns and the referral's ``person_id``;
    ``ref_started``: per referral row, whether any episode (of any programme) hangs off it.
    People are also numbered (the same ``person_id``, the same number; ``-1`` where
    missing), so that questions about people are asked of numbers, not strings:
    ``ref_person`` per referral row, ``first_person`` per row of ``first``, and
    ``person_started`` per person (any episode of any programme, from any referral).
    """

    first: pd.DataFrame
    first_ref_row: np.ndarray
    ref_started: np.ndarray
    ref_person: np.ndarray
    first_person: np.ndarray
    person_started: np.ndarray


def _facts(ds: Dataset) -> _Facts:
    """The facts of :class:`_Facts`, cached on the dataset (tables are never changed).

    One hash lookup places every episode's referral (:func:`evallib.fastops.positions`,
    instead of a merge on the string key); each person's first core episode is found by
    sorting numbers (a code per person, the start date), not strings: only people whose
    first two core episodes start the same day are ordered by ``episode_id`` as text.
    """
    key = (tuple(ds.area.core_programmes), id(ds.episodes), id(ds.referrals))
    cache = ds.__dict__.setdefault("_cohort_facts", {})
    if key in cache:
        return cache[key]
    ref, ep = ds.referrals, ds.episodes
    known = ds.__dict__.get("_referral_rows")       # found by the loader's foreign-key check
    ep_row = (known[2] if known is not None and known[0] is ep and known[1] is ref
              else positions(ep["referral_id"], ref["referral_id"]))
    ref_started = np.zeros(len(ref), dtype=bool)
    ref_started[ep_row[ep_row >= 0]] = True
    person = _codes(ref["person_id"])
    core = np.flatnonzero(isin(ep["programme"], ds.area.core_programmes))
    row = ep_row[core]
    missing = person.max(initial=-1) + 1           # one group for a missing person, as pandas sorts it
    who = np.where(row >= 0, person[np.maximum(row, 0)], -1)
    who = np.where(who >= 0, who, missing)
    start = ep["start_date"].to_numpy("datetime64[ns]")[core].view(np.int64)
    start = np.where(start == np.iinfo(np.int64).min, np.iinfo(np.int64).max, start)   # NaT sorts last
    order = np.lexsort((start, who))
    who_s, start_s = who[order], start[order]
    lead = np.r_[True, who_s[1:] != who_s[:-1]] if len(order) else np.zeros(0, bool)
    group = np.cumsum(lead) - 1
    lead_at = np.flatnonzero(lead)
    same_day = start_s == start_s[lead_at][group]
    tied = same_day & (np.bincount(group, weights=same_day, minlength=len(lead_at)) > 1)[group]
    first_pos = order[lead_at]
    if tied.any():                                  # the first episode by episode_id among a same-day tie
        ties = pd.DataFrame({"group": group[tied], "episode_id": ep["episode_id"].iloc[core[order[tied]]].to_numpy(),
                             "pos": order[tied]}).sort_values(["group", "episode_id"], kind="stable")
        ties = ties.drop_duplicates("group")
        first_pos[ties["group"].to_numpy()] = ties["pos"].to_numpy()
    first_row = row[first_pos]
    person_id = ref["person_id"].iloc[np.maximum(first_row, 0)].reset_index(drop=True).astype("string")
    person_id[(first_row < 0) | person_id.isna().to_numpy()] = pd.NA
    ranked = np.asarray(pc.array_sort_indices(_combined(person_id), null_placement="at_end"))
    first_pos, first_row = first_pos[ranked], first_row[ranked]
    first = ep.iloc[core[first_pos]].reset_index(drop=True)
    first["person_id"] = person_id.iloc[ranked].reset_index(drop=True)
    first_person = np.where(first_row >= 0, person[np.maximum(first_row, 0)], -1) if len(first_row) else first_row
    started = person[ref_started]
    person_started = np.bincount(started[started >= 0], minlength=missing) > 0
    facts = _Facts(first=first, first_ref_row=first_row, ref_started=ref_started, ref_person=person,
                   first_person=first_person, person_started=person_started)
    cache.clear()
    cache[key] = facts
    return facts


def _combined(ids: pd.Series) -> pa.Array:
    """A text column as one Arrow array (no copy for Arrow-backed text in one chunk)."""
    arr = pa.array(ids.array) if isinstance(ids.dtype, pd.StringDtype) else pa.array(ids.to_numpy(object),
                                                                                      from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _codes(ids: pd.Series) -> np.ndarray:
    """A number for each distinct id (``-1`` where missing): the same id, the same number."""
    enc = pc.dictionary_encode(_combined(ids))
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64) if enc.null_count == 0 else (
        enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64))


def starters(ds: Dataset, period: Period | str) -> pd.DataFrame:
    """Index episodes of people whose first core-programme episode started in ``period``.

    The first episode is the earliest ``start_date`` (ties broken by ``episode_id``)
    over all of the person's referrals. Returns one row per person: the episode's
    columns, then the referral's, then ``group``.
    """
    period = parse_period(period)
    facts = _facts(ds)
    first = facts.first
    in_period = first["start_date"].between(pd.Timestamp(period.start), pd.Timestamp(period.end)).to_numpy(bool)
    ep_cols = [c for c in ds.episodes.columns]
    out = first.loc[in_period, ep_cols].reset_index(drop=True)
    rows = facts.first_ref_row[in_period]
    ref_part = ds.referrals.iloc[np.maximum(rows, 0)].drop(columns="referral_id").reset_index(drop=True)
    if (rows < 0).any():
        ref_part[rows < 0] = pd.NA
    out = pd.concat([out, ref_part], axis=1)
    out["group"] = np.select(
        [out["status"].eq("completed").to_numpy(dtype=bool, na_value=False),
         isin(out["status"], NON_COMPLETION_STATUSES)],
        [COMPLETED, NOT_COMPLETED], default=ONGOING,
    )
    return out


def referred_not_started(ds: Dataset, period: Period | str) -> pd.DataFrame:
    """People with an eligible referral in ``period`` who never started any programme.

    One row per person (their first eligible referral in the period); people with an
    episode of any programme, from any referral, are left out.
    """
    period = parse_period(period)
    ref = ds.referrals
    in_period = ref["referral_date"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))
    facts = _facts(ds)
    code = facts.ref_person
    started = facts.person_started[np.maximum(code, 0)] & (code >= 0)   # a missing person never started
    out = ref[(in_period & ref["eligible"].fillna(False).astype(bool)).to_numpy(bool) & ~started]
    out = out.sort_values(["person_id", "referral_date", "referral_id"], kind="stable")
    out = out.drop_duplicates("person_id").copy()
    out["group"] = REFERRED_NOT_STARTED
    return out.reset_index(drop=True)


def build_cohort(ds: Dataset, period: Period | str, settings: OutcomeSettings | None = None) -> Cohort:
    """Starters (completers, non-completers, ongoing) and referred-not-started, with index dates.

    The index date of a starter is the end date of the index episode (``index_date:
    exit``, the default) or its start date (``index_date: start``); ongoing people have
    no exit date, so under ``exit`` their index date is empty. For referred-not-started
    people it is the referral date.
    """
    period = parse_period(period)
    settings = settings or ds.area.outcomes
    st = starters(ds, period)
    rns = referred_not_started(ds, period)
    cols = ["person_id", "referral_id", "episode_id", "programme", "referral_date", "start_date",
            "end_date", "status", "group", "index_date", *COVARIATE_COLUMNS]
    rns = rns.reindex(columns=cols)
    for c in ("start_date", "end_date"):       # no episode: dates, not text, so they join the starters' as dates
        rns[c] = pd.Series(pd.NaT, index=rns.index, dtype="datetime64[ns]")
    people = pd.concat([st.reindex(columns=cols), rns], ignore_index=True)
    people["self_referred"] = people["source"].eq("self").astype("boolean")
    for c in ("start_date", "end_date", "referral_date"):
        people[c] = pd.to_datetime(people[c]).astype("datetime64[ns]")
    people["index_date"] = _index_dates(people, settings)
    return Cohort(period=period, settings=settings, people=people,
                  flow=record_flow(ds, period, settings, st))


def _index_dates(people: pd.DataFrame, settings: OutcomeSettings) -> pd.Series:
    """Starters: end (``exit``) or start of the index episode; referred-not-started: referral."""
    starter_date = people["end_date"] if settings.index_date == "exit" else people["start_date"]
    rns = (people["group"] == REFERRED_NOT_STARTED).to_numpy(bool)
    return starter_date.where(~rns, people["referral_date"]).astype("datetime64[ns]")


def record_flow(ds: Dataset, period: Period | str, settings: OutcomeSettings | None = None,
                starters_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every person supplied, from records supplied to records analysed, with reasons.

    Returns a table with columns ``stage, step, n, reason``: ``step`` is ``kept`` for
    the people carried to the next stage and ``excluded`` for those set aside there,
    each with its reason. The counts of each stage add up: nobody is lost.
    """
    period = parse_period(period)
    settings = settings or ds.area.outcomes
    st = starters(ds, period) if starters_frame is None else starters_frame
    ref = ds.referrals
    rows: list[dict] = []

    def add(stage, step, n, reason=""):
        rows.append({"stage": stage, "step": step, "n": int(n), "reason": reason})

    add("Referrals supplied", "kept", len(ref), "rows in referrals")
    facts = _facts(ds)
    lo, hi = pd.Timestamp(period.start), pd.Timestamp(period.end)
    in_period = ref["referral_date"].between(lo, hi).to_numpy(bool)
    first_start = facts.first["start_date"]
    starting = first_start.between(lo, hi).to_numpy(bool)        # the rows of ``st``, as numbers
    n = len(facts.person_started)
    referred = np.zeros(n, bool)
    referred[facts.ref_person[in_period & (facts.ref_person >= 0)]] = True
    eligible = np.zeros(n, bool)
    eligible[facts.ref_person[in_period & (facts.ref_person >= 0)
                              & ref["eligible"].fillna(False).astype(bool).to_numpy(bool)]] = True
    starter = np.zeros(n, bool)
    starter[facts.first_person[starting & (facts.first_person >= 0)]] = True
    scope = referred | starter
    add("People referred in the period or starting in it", "kept", int(scope.sum()), "distinct person_id")

    has_core = np.zeros(n, bool)
    core_start = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    known = (facts.first_person >= 0) & first_start.notna().to_numpy(bool)
    has_core[facts.first_person[known]] = True
    core_start[facts.first_person[known]] = first_start.to_numpy("datetime64[ns]")[known]
    others = scope & ~starter
    before = others & has_core & (core_start < lo.to_datetime64())
    after = others & has_core & (core_start > hi.to_datetime64())
    other_prog = others & ~has_core & facts.person_started
    eligible_not_started = others & ~has_core & ~other_prog & eligible
    not_eligible = others & ~has_core & ~other_prog & ~eligible_not_started
    for mask, reason in (
        (not_eligible, "not eligible"),
        (eligible_not_started, "eligible, never started a programme"),
        (other_prog, "awareness or follow-on programmes only"),
        (before, "first core programme started before the period"),
        (after, "first core programme started after the period"),
    ):
        add("People referred in the period or starting in it", "excluded", int(mask.sum()), reason)
    add(f"Starters in {period.label}", "kept", len(st), "")
    n_ongoing = int((st["group"] == ONGOING).sum())
    add(f"Starters in {period.label}", "excluded", n_ongoing, "still on the programme at the extract date")
    add("Completers", "kept", int((st["group"] == COMPLETED).sum()), "")
    add("Non-completers", "kept", int((st["group"] == NOT_COMPLETED).sum()),
        "disengaged, suspended or excluded")
    return pd.DataFrame(rows, columns=["stage", "step", "n", "reason"])
