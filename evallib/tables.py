"""The standard service tables, by district with the area's rollups (COUNTY, CITY, ...).

Each table function takes a loaded :class:`~evallib.schemas.Dataset` and a period and
returns a tidy DataFrame: one row per report row of the area (its districts, then each
group's total, in :meth:`AreaParams.report_rows` order) and, where the table has a
second dimension (programme, source, characteristic), one row per value of it, zeros
included, so that tables of different periods and areas line up.

A group row is computed from the records of its member districts (the units counted
by :mod:`evallib.outcomes.service` filtered to those districts), never by adding up
rows that have been rounded or suppressed. Counts are raw: disclosure control is
applied afterwards by :mod:`evallib.disclosure`. A rate (completion rate, percentage
engaged) is for the report to compute from the two counts given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evallib.outcomes import service
from evallib.params import AreaParams, Period, parse_period
from evallib.schemas import TABLES, Dataset

__all__ = [
    "referrals_table", "completions_table", "repeat_incidents_table", "reduced_abuse_table",
    "partner_engagement_table", "partner_safety_table", "children_table", "referrals_by_source_table",
    "demographics_table", "intervention_programmes", "rollup", "TABLE_FUNCTIONS", "DEMOGRAPHIC_CATEGORIES",
]

#: Categories of the demographics table, in order (age bands from
#: :data:`evallib.outcomes.service.AGE_BANDS`).
DEMOGRAPHIC_CATEGORIES: dict[str, list[str]] = {
    "gender": [*TABLES["referrals"].column("gender").categories],
    "ethnicity": [*TABLES["referrals"].column("ethnicity").categories],
    "age_band": [label for _, _, label in service.AGE_BANDS] + ["unknown"],
}


def intervention_programmes(area: AreaParams) -> list[str]:
    """Programmes that make someone "on intervention": all but awareness ones (Foundations)."""
    return [k for k, p in area.programmes.items() if p.role != "awareness"]


def rollup(units: pd.DataFrame, area: AreaParams, counts: Sequence[str],
           by: str | None = None, levels: Sequence[str] | None = None) -> pd.DataFrame:
    """Sum yes/no or count columns of ``units`` per report row of the area.

    ``units`` has a ``district`` column and the ``counts`` columns (booleans or
    integers; missing adds nothing). With ``by``, one row per report row and level of
    ``by`` (``levels`` in order, zeros included). Each group row is summed over the
    units of its member districts.
    """
    frames = []
    keys = ["district"] + ([by] if by else [])
    for name, members in area.report_rows():
        sub = units[units["district"].isin(members).to_numpy(dtype=bool)]
        values = {c: sub[c].astype("Float64").fillna(0).to_numpy(dtype=float) for c in counts}
        if by is None:
            frames.append(pd.DataFrame({"district": [name], **{c: [int(v.sum())] for c, v in values.items()}}))
            continue
        lv = list(levels) if levels is not None else sorted(units[by].dropna().unique())
        code = pd.Categorical(sub[by], categories=lv).codes
        row = {"district": [name] * len(lv), by: lv}
        for c, v in values.items():
            ok = code >= 0
            row[c] = np.bincount(code[ok], weights=v[ok], minlength=len(lv)).astype(np.int64).tolist()
        frames.append(pd.DataFrame(row))
    out = pd.concat(frames, ignore_index=True)
    for c in counts:
        out[c] = out[c].astype("int64")
    out["district"] = out["district"].astype("string")
    if by:
        out[by] = out[by].astype("string")
    return out[keys + list(counts)]


def _p(period: Period | str) -> Period:
    return parse_period(period)


def referrals_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """Referrals received, eligible and self-motivated (of the eligible) in the period.

    Columns ``district, received, eligible, self_motivated``
    (:func:`evallib.outcomes.service.referral_flags`).
    """
    units = service.referral_flags(dataset.referrals, _p(period))
    return rollup(units, dataset.area, ["received", "eligible", "self_motivated"])


def completions_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """Episodes completed of those ended in the period, by programme (Foundations included).

    Columns ``district, programme, completed, ended``: one row per report row and
    programme of the area, in params order (:func:`evallib.outcomes.service.episode_completion`).
    A group's completion rate is for the report to compute, Foundations apart.
    """
    units = service.episode_completion(dataset.episodes, dataset.referrals, _p(period))
    return rollup(units, dataset.area, ["completed", "ended"], by="programme",
                  levels=list(dataset.area.programmes))


def repeat_incidents_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """People with a repeat incident while on intervention, of those on intervention.

    Columns ``district, with_repeat_incident, on_intervention``
    (:func:`evallib.outcomes.service.repeat_incidents`, Foundations excluded).
    """
    units = service.repeat_incidents(dataset.episodes, dataset.incidents, dataset.referrals, _p(period),
                                     intervention_programmes(dataset.area))
    return rollup(units, dataset.area, ["with_repeat_incident", "on_intervention"])


def reduced_abuse_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """Partners reporting reduced use of abuse, of those with an answer.

    Columns ``district, reduced, assessed`` (:func:`evallib.outcomes.service.reduced_abuse`).
    """
    units = service.reduced_abuse(dataset.partners, dataset.referrals, _p(period))
    return rollup(units, dataset.area, ["reduced", "assessed"])


def partner_engagement_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """Partners who engaged, of those offered support in the period (all stages).

    Columns ``district, engaged, offered`` (:func:`evallib.outcomes.service.partner_engagement`).
    """
    units = service.partner_engagement(dataset.partners, dataset.referrals, _p(period))
    return rollup(units, dataset.area, ["engaged", "offered"])


def partner_safety_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """Engaged partners of people who completed in the period who feel safer, of those who answered.

    Columns ``district, feels_safer, answered`` (:func:`evallib.outcomes.service.partner_safety`).
    """
    units = service.partner_safety(dataset.partners, dataset.episodes, dataset.referrals, _p(period),
                                   dataset.area.core_programmes)
    return rollup(units, dataset.area, ["feels_safer", "answered"])


def children_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """Children in the cases of people on intervention in the period (Foundations excluded).

    Columns ``district, children`` (:func:`evallib.outcomes.service.children_on_intervention`):
    children known; unknown values add nothing.
    """
    units = service.children_on_intervention(dataset.episodes, dataset.referrals, _p(period),
                                             intervention_programmes(dataset.area))
    return rollup(units, dataset.area, ["children"])


def referrals_by_source_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """Referrals received in the period by who referred, every contract source shown.

    Columns ``district, source, referrals``.
    """
    units = service.referral_flags(dataset.referrals, _p(period)).rename(columns={"received": "referrals"})
    return rollup(units, dataset.area, ["referrals"], by="source",
                  levels=list(TABLES["referrals"].column("source").categories))


def demographics_table(dataset: Dataset, period: Period | str) -> pd.DataFrame:
    """People referred in the period by gender, ethnicity and age band (seed 002 paragraph 3).

    Columns ``district, characteristic, category, people``: for each report row, the
    categories of :data:`DEMOGRAPHIC_CATEGORIES` in order, ``unknown`` included, each
    characteristic adding up to the people referred
    (:func:`evallib.outcomes.service.people_referred`).
    """
    people = service.people_referred(dataset.referrals, _p(period))
    frames = []
    for characteristic, levels in DEMOGRAPHIC_CATEGORIES.items():
        units = pd.DataFrame({"district": people["district"].to_numpy(),
                              "category": people[characteristic].to_numpy(),
                              "people": np.ones(len(people), dtype=np.int64)})
        t = rollup(units, dataset.area, ["people"], by="category", levels=levels)
        t.insert(1, "characteristic", characteristic)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    order = {name: i for i, (name, _) in enumerate(dataset.area.report_rows())}
    out["_row"] = out["district"].map(order)
    out = out.sort_values(["_row"], kind="stable").drop(columns="_row").reset_index(drop=True)
    out["characteristic"] = out["characteristic"].astype("string")
    return out[["district", "characteristic", "category", "people"]]


#: Table name -> function, for reports and the test of published tables.
TABLE_FUNCTIONS = {
    "referrals": referrals_table,
    "completions": completions_table,
    "repeat_incidents": repeat_incidents_table,
    "reduced_abuse": reduced_abuse_table,
    "partner_engagement": partner_engagement_table,
    "partner_safety": partner_safety_table,
    "children": children_table,
    "referrals_by_source": referrals_by_source_table,
    "demographics": demographics_table,
}
