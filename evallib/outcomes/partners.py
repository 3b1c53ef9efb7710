"""Partner Support Service outcomes: engagement, DASH risk, feeling safer, outcome domains.

Partners and ex-partners are selected by the date support was first offered
(``offered_date`` in the period). Nothing missing is dropped: every summary counts
missing answers in a column of their own, so a reader sees how much is unknown.

DASH bands follow the SafeLives DASH risk checklist guidance: 14 or more "yes" answers
is high risk; 10-13 is taken as medium and 0-9 as standard (shared/design/outcomes.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evallib.params import Period, parse_period
from evallib.schemas import Dataset

__all__ = [
    "DASH_BANDS", "dash_band", "partners_in_period", "engagement_summary", "dash_change_summary",
    "high_risk_table", "domain_summary", "answer_summary", "DOMAINS", "CHANGE_LEVELS",
    "PROGRAMME_STATUSES", "programme_status", "partner_frame",
]

DASH_BANDS = ("standard", "medium", "high")
DOMAINS = {"outcome_coping": "Coping", "outcome_safety": "Safety",
           "outcome_mental_health": "Mental health", "outcome_confidence": "Confidence"}
CHANGE_LEVELS = ("improved", "no_change", "deteriorated")


def dash_band(score: pd.Series) -> pd.Series:
    """DASH band of a yes-count: standard 0-9, medium 10-13, high 14+ (missing stays missing)."""
    s = pd.to_numeric(score, errors="coerce")
    band = pd.cut(s, bins=[-0.5, 9.5, 13.5, 27.5], labels=list(DASH_BANDS))
    return band.astype("string")


def partners_in_period(ds: Dataset, period: Period | str) -> pd.DataFrame:
    """Partners offered support in ``period``, with DASH bands and risk change.

    Added columns: ``band_start``, ``band_end``, ``risk_change`` (improved = a lower band
    at last contact, deteriorated = a higher one, no_change = the same; missing when
    either score is missing), ``high_start``, ``high_end`` and ``person_completed``
    (the referred person completed a core programme from that referral).
    """
    period = parse_period(period)
    p = ds.partners
    sel = p["offered_date"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))
    p = p[sel].copy()
    p["band_start"] = dash_band(p["dash_start"])
    p["band_end"] = dash_band(p["dash_end"])
    order = {b: i for i, b in enumerate(DASH_BANDS)}
    start = p["band_start"].map(order).astype("Float64")
    end = p["band_end"].map(order).astype("Float64")
    change = np.select([(end < start).fillna(False).to_numpy(bool), (end > start).fillna(False).to_numpy(bool),
                        (end == start).fillna(False).to_numpy(bool)],
                       ["improved", "deteriorated", "no_change"], default="")
    p["risk_change"] = pd.array(change, dtype="string").astype("string")
    p.loc[p["risk_change"] == "", "risk_change"] = pd.NA
    p["high_start"] = (p["dash_start"] >= 14).astype("boolean")
    p["high_end"] = (p["dash_end"] >= 14).astype("boolean")
    p["person_completed"] = programme_status(ds, p["referral_id"]).eq("completed").to_numpy(dtype=bool)
    return p.reset_index(drop=True)


def engagement_summary(p: pd.DataFrame) -> pd.DataFrame:
    """Offered, contact made, engaged, and support received (declined / single / multiple / not recorded)."""
    support = p["support"].fillna("not recorded")
    rows = [
        ("Offered support", len(p), len(p)),
        ("Contact made", int(p["contact_made"].fillna(False).sum()), len(p)),
        ("Engaged (took up support at any stage)", int(p["engaged"].fillna(False).sum()), len(p)),
        ("Declined support", int((support == "declined").sum()), len(p)),
        ("Single incident of support", int((support == "single").sum()), len(p)),
        ("Multiple incidents of support", int((support == "multiple").sum()), len(p)),
        ("Support not recorded", int((support == "not recorded").sum()), len(p)),
    ]
    return pd.DataFrame(rows, columns=["measure", "count", "of"])


def dash_change_summary(p: pd.DataFrame) -> pd.DataFrame:
    """DASH band at first contact (rows) by last contact (columns), with missing counted."""
    start = p["band_start"].fillna("missing")
    end = p["band_end"].fillna("missing")
    levels = [*DASH_BANDS, "missing"]
    t = pd.crosstab(pd.Categorical(start, levels), pd.Categorical(end, levels), dropna=False)
    t.index.name, t.columns.name = "first contact", "last contact"
    return t


def high_risk_table(p: pd.DataFrame) -> np.ndarray:
    """2x2 paired table of high risk (DASH 14+) at first (rows) and last (columns) contact.

    Only partners with both scores; rows/columns ordered (high, not high), the layout R's
    ``mcnemar.test`` takes.
    """
    both = p[p["dash_start"].notna() & p["dash_end"].notna()]
    s = both["high_start"].astype(bool).to_numpy()
    e = both["high_end"].astype(bool).to_numpy()
    return np.array([[np.sum(s & e), np.sum(s & ~e)], [np.sum(~s & e), np.sum(~s & ~e)]])


def domain_summary(p: pd.DataFrame) -> pd.DataFrame:
    """Each OPCC outcome domain: improved / no change / deteriorated / unknown / not recorded."""
    rows = []
    for col, label in DOMAINS.items():
        v = p[col].fillna("not recorded")
        rows.append({"domain": label, **{lvl: int((v == lvl).sum()) for lvl in
                                         (*CHANGE_LEVELS, "unknown", "not recorded")}})
    return pd.DataFrame(rows)


def answer_summary(p: pd.DataFrame, column: str) -> dict[str, int]:
    """Counts of yes / no / unknown / not recorded for a yes-no-unknown question."""
    v = p[column].fillna("not recorded")
    return {k: int((v == k).sum()) for k in ("yes", "no", "unknown", "not recorded")}


#: Where the referred person stands on a core programme, from the referral a partner is
#: linked to (see :func:`programme_status`).
PROGRAMME_STATUSES = ("completed", "not_completed", "ongoing", "not_started")


def programme_status(ds: Dataset, referral_ids: pd.Series) -> pd.Series:
    """Where the referred person stands on a core programme, for each referral id.

    ``completed`` when any core-programme episode of the referral has status
    ``completed`` (``person_completed`` in :func:`partners_in_period` is this test);
    otherwise ``ongoing`` when one is still ongoing; otherwise ``not_completed`` when one
    ended without completing (disengaged, suspended or excluded); otherwise
    ``not_started`` (no core-programme episode: the person has not started, or started
    only Foundations or Step Up Dads).

    Why from the referral and not the person: a partner is linked to one referral, and
    the intervention that referral led to is the one the Partner Support Service works
    alongside. Completion "by the data extract date" is used, not completion in the
    period, because a partner's answers at last contact can follow a completion after
    the period the partner was offered support in.

    Returns
    -------
    pandas.Series
        Strings from :data:`PROGRAMME_STATUSES`, aligned with ``referral_ids``.
    """
    ep = ds.episodes
    core = ep[ep["programme"].isin(ds.area.core_programmes).fillna(False).to_numpy(dtype=bool)]
    flags = pd.DataFrame({
        "referral_id": core["referral_id"].to_numpy(),
        "completed": core["status"].eq("completed").fillna(False).to_numpy(dtype=bool),
        "ongoing": core["status"].eq("ongoing").fillna(False).to_numpy(dtype=bool),
        "ended": np.ones(len(core), dtype=bool),
    }).groupby("referral_id").any()
    f = flags.reindex(referral_ids.to_numpy(), fill_value=False)
    status = np.select([f["completed"].to_numpy(bool), f["ongoing"].to_numpy(bool), f["ended"].to_numpy(bool)],
                       ["completed", "ongoing", "not_completed"], default="not_started")
    return pd.Series(status, index=referral_ids.index, dtype="string", name="programme_status")


def partner_frame(ds: Dataset, period: Period | str) -> pd.DataFrame:
    """Partners offered support in ``period``, with what the report needs about the person.

    :func:`partners_in_period` plus, from the linked referral, ``person_id``,
    ``district`` and ``children`` (the referral's count; missing stays missing), and
    ``programme_status`` (:func:`programme_status`). One row per partner; nobody is
    dropped, so every summary built on it can count missing answers.

    This frame is person-level: use it for counting, never publish it.
    """
    p = partners_in_period(ds, period)
    ref = ds.referrals[["referral_id", "person_id", "district", "children"]]
    p = p.merge(ref, on="referral_id", how="left", validate="many_to_one")
    p["programme_status"] = programme_status(ds, p["referral_id"])
    return p
