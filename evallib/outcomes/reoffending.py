"""Proven reoffending (Ministry of Justice definition) and police-recorded incidents.

The Ministry of Justice counts a *proven reoffence* as an offence committed in a
follow-up window after the index date that is proven by a court conviction, a caution
or a community resolution (the ``proven_outcomes`` setting), with the outcome dated
within the window or a further *waiting period* that lets cases come to court
(Ministry of Justice, "Guide to proven reoffending statistics", 2023: one-year
follow-up, six-month waiting period).

As implemented (all dates whole days):

- the window opens the day after the index date and closes on the index date plus
  ``window_months`` (inclusive): ``index < offence_date <= window_end``;
- an offence counts only if its outcome is proven and ``outcome_date <= window_end +
  waiting_months`` (inclusive) and not after the police extract date;
- a person whose ``window_end + waiting_months`` is after the police extract date is
  **not yet countable**: their binary outcome is missing (``<NA>``), never "did not
  reoffend".

Everything is vectorised over people: one merge of offences onto people, then group
sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evallib.cohorts import Cohort
from evallib.fastops import isin, matches
from evallib.params import OutcomeSettings
from evallib.schemas import Dataset

__all__ = [
    "proven_reoffending", "incidents_before_after", "countable_flow", "evaluation_frame", "OUTCOME_LABELS",
]

OUTCOME_LABELS = {
    "any": "Proven reoffending (any offence)",
    "da": "Proven reoffending (domestic-abuse related)",
}


def _months(dates: pd.Series, months: int) -> pd.Series:
    return (dates + pd.DateOffset(months=months)).astype("datetime64[ns]")


def _pairs(person_ids: pd.Series, police_ids: pd.Series, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(person row, police row) for every police record of every person with ``use``.

    When each person appears once (a cohort), one hash lookup of the police ids
    (:func:`evallib.fastops.matches`) replaces a merge on the string key.
    """
    if not person_ids.duplicated().any():
        pos, rows = matches(police_ids, person_ids)
        keep = use[rows]
        return rows[keep], pos[keep]
    left = pd.DataFrame({"row": np.arange(len(person_ids)), "person_id": person_ids.to_numpy()})[use]
    right = pd.DataFrame({"pos": np.arange(len(police_ids)), "person_id": police_ids.to_numpy()})
    m = left.merge(right, on="person_id", how="inner")
    return m["row"].to_numpy(np.int64), m["pos"].to_numpy(np.int64)


def proven_reoffending(
    people: pd.DataFrame,
    police: pd.DataFrame,
    police_extract_date: pd.Timestamp | str,
    settings: OutcomeSettings | None = None,
) -> pd.DataFrame:
    """Proven reoffending of each person from their ``index_date``.

    Parameters
    ----------
    people
        One row per person with ``person_id`` and ``index_date`` (rows with no index
        date, e.g. people still on a programme under an exit index, get no outcome).
    police
        The ``police`` table of the data contract.
    police_extract_date
        When the police records were extracted: follow-up that has not closed by then
        is not yet countable.
    settings
        Window, waiting period and which outcomes count as proven.

    Returns
    -------
    DataFrame
        Indexed like ``people``, with ``window_end, waiting_end, countable`` and for
        each variant ``v`` in (``any``, ``da``): ``reoffended_v`` (boolean, ``<NA>``
        when not countable), ``reoffences_v`` (proven reoffences in the window,
        ``<NA>`` when not countable), ``days_to_first_v`` and ``event_v`` (time to the
        first proven reoffence, censored at the window's end or the extract date).
    """
    settings = settings or OutcomeSettings()
    extract = pd.Timestamp(police_extract_date)
    idx = pd.to_datetime(people["index_date"]).astype("datetime64[ns]")
    window_end = _months(idx, settings.window_months)
    waiting_end = _months(window_end, settings.waiting_months)
    has_index = idx.notna()
    closes = waiting_end if settings.countable_when == "waiting_over" else window_end
    countable = (has_index & (closes <= extract)).astype("boolean")
    out = pd.DataFrame({
        "person_id": people["person_id"].to_numpy(),
        "index_date": idx.to_numpy(),
        "window_end": window_end.to_numpy(),
        "waiting_end": waiting_end.to_numpy(),
        "countable": countable.to_numpy(),
    }, index=people.index)

    rows, pos = _pairs(people["person_id"], police["person_id"], has_index.to_numpy(bool))
    idx_ns, end_ns, wait_ns = (s.to_numpy("datetime64[ns]")[rows] for s in (idx, window_end, waiting_end))
    off_date = police["offence_date"].to_numpy("datetime64[ns]")[pos]
    out_date = police["outcome_date"].to_numpy("datetime64[ns]")[pos]
    proven = (
        (off_date > idx_ns) & (off_date <= end_ns)
        & isin(police["outcome"].iloc[pos], settings.proven_outcomes)
        & ~np.isnat(out_date)
        & (out_date <= wait_ns) & (out_date <= extract.to_datetime64())
    )
    m = pd.DataFrame({"row": rows[proven], "offence_date": off_date[proven],
                      "da_related": police["da_related"].to_numpy(dtype=bool, na_value=False)[pos][proven]})
    censor_date = window_end.where(window_end <= extract, extract)
    censor_days = (censor_date - idx).dt.days.to_numpy(dtype=float)
    n = len(people)
    for variant, mask in (("any", np.ones(len(m), dtype=bool)),
                          ("da", m["da_related"].fillna(False).to_numpy(dtype=bool))):
        sub = m[mask]
        counts = np.bincount(sub["row"].to_numpy(), minlength=n)
        first = sub.groupby("row")["offence_date"].min()
        first_days = np.full(n, np.nan)
        first_days[first.index.to_numpy()] = (first - idx.iloc[first.index.to_numpy()].to_numpy()).dt.days
        event = ~np.isnan(first_days)
        reoffended = pd.array(counts > 0, dtype="boolean")
        reoffended[~countable.fillna(False).to_numpy(dtype=bool)] = pd.NA
        reoffences = pd.array(counts, dtype="Int64")
        reoffences[~countable.fillna(False).to_numpy(dtype=bool)] = pd.NA
        out[f"reoffended_{variant}"] = reoffended
        out[f"reoffences_{variant}"] = reoffences
        days = np.where(event, first_days, censor_days)
        days[~has_index.to_numpy()] = np.nan
        out[f"days_to_first_{variant}"] = days
        out[f"event_{variant}"] = event & has_index.to_numpy()
    return out


def incidents_before_after(
    people: pd.DataFrame,
    police: pd.DataFrame,
    police_extract_date: pd.Timestamp | str,
    months: tuple[int, ...] = (6, 12),
) -> pd.DataFrame:
    """Police-recorded DA incidents in N months before referral and after exit, per person.

    An *incident* is any ``police`` row flagged ``da_related``, whatever its outcome.
    Before: ``referral_date - N months <= offence_date < referral_date``. After:
    ``end_date < offence_date <= end_date + N months``, counted only when that span has
    closed by the police extract date (otherwise ``<NA>``, not zero).
    Columns: ``da_before_<N>m``, ``da_after_<N>m`` (``Int64``).
    """
    extract = pd.Timestamp(police_extract_date)
    ref = pd.to_datetime(people["referral_date"]).astype("datetime64[ns]")
    end = pd.to_datetime(people["end_date"]).astype("datetime64[ns]")
    rows, pos = _pairs(people["person_id"], police["person_id"], np.ones(len(people), dtype=bool))
    da = police["da_related"].to_numpy(dtype=bool, na_value=False)[pos]
    rows, pos = rows[da], pos[da]
    m = pd.DataFrame({"row": rows, "ref": ref.to_numpy()[rows], "end": end.to_numpy()[rows],
                      "offence_date": police["offence_date"].to_numpy("datetime64[ns]")[pos]})
    out = pd.DataFrame(index=people.index)
    n = len(people)
    for k in months:
        lo = _months(m["ref"], -k)
        before = ((m["offence_date"] >= lo) & (m["offence_date"] < m["ref"])).fillna(False).to_numpy(bool)
        after_end = _months(m["end"], k)
        after = ((m["offence_date"] > m["end"]) & (m["offence_date"] <= after_end)).fillna(False).to_numpy(bool)
        b = pd.array(np.bincount(m["row"].to_numpy()[before], minlength=n), dtype="Int64")
        b[ref.isna().to_numpy()] = pd.NA
        a = pd.array(np.bincount(m["row"].to_numpy()[after], minlength=n), dtype="Int64")
        closed = (end.notna() & (_months(end, k) <= extract)).to_numpy(bool)
        a[~closed] = pd.NA
        out[f"da_before_{k}m"] = b
        out[f"da_after_{k}m"] = a
    return out


def countable_flow(cohort: Cohort, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The record flow with the last step added: who is countable for proven reoffending.

    People whose follow-up window and waiting period are not over by the police extract
    date are set aside at the starters stage, *before* the split into completers and
    non-completers, so the groups shown everywhere in a report are the people analysed.
    (Publishing each group's full size beside its analysed size would give away a
    small number of people not yet countable by subtraction.)
    """
    flow = cohort.flow.copy()
    people = cohort.people
    compared = people["group"].isin(["completed", "not_completed"]).to_numpy()
    countable = outcomes["countable"].fillna(False).astype(bool).to_numpy()
    n_not_countable = int((compared & ~countable).sum())
    starters = flow.index[flow["stage"].str.startswith("Starters") & (flow["step"] == "excluded")]
    row = pd.DataFrame([{"stage": flow.loc[starters[-1], "stage"], "step": "excluded", "n": n_not_countable,
                         "reason": "follow-up window and waiting period not over by the police extract date"}])
    flow = pd.concat([flow.loc[:starters[-1]], row, flow.loc[starters[-1] + 1:]], ignore_index=True)
    for group, stage in (("completed", "Completers"), ("not_completed", "Non-completers")):
        n = int(((people["group"] == group).to_numpy() & countable).sum())
        flow.loc[(flow["stage"] == stage) & (flow["step"] == "kept"), "n"] = n
    flow["stage"] = flow["stage"].replace({"Completers": "Completers analysed",
                                           "Non-completers": "Non-completers analysed"})
    return flow


def evaluation_frame(ds: Dataset, cohort: Cohort) -> pd.DataFrame:
    """People of a cohort with every evaluation outcome attached (one row per person)."""
    settings = cohort.settings
    people = cohort.people
    reoff = proven_reoffending(people, ds.police, ds.police_extract_date, settings)
    inc = incidents_before_after(people, ds.police, ds.police_extract_date, settings.before_after_months)
    return pd.concat([people, reoff.drop(columns=["person_id", "index_date"]), inc], axis=1)

