"""Cohorts and proven reoffending on small hand-made cases where the answer is obvious."""

import pandas as pd
import pytest

from evallib.cohorts import build_cohort, referred_not_started, starters
from evallib.outcomes.reoffending import (
    countable_flow,
    evaluation_frame,
    incidents_before_after,
    proven_reoffending,
)
from evallib.params import OutcomeSettings


def ref(rid, pid, date="2021-05-01", eligible="yes", source="police", district="Blaby"):
    return {"referral_id": rid, "person_id": pid, "referral_date": date, "district": district,
            "source": source, "eligible": eligible}


def ep(eid, rid, start, end, status, programme="second_step"):
    return {"episode_id": eid, "referral_id": rid, "programme": programme, "start_date": start,
            "end_date": end, "status": status}


TABLES = {
    "referrals": [
        ref("R1", "P1"), ref("R2", "P2"), ref("R3", "P3"), ref("R4", "P4", source="self"),
        ref("R5", "P5"),                      # eligible, never started
        ref("R6", "P6", eligible="no"),       # never eligible
        ref("R7", "P7"),                      # foundations only
        ref("R8", "P8", date="2020-01-10"),   # first core start before the period
        ref("R9", "P8", date="2021-06-01"),
    ],
    "episodes": [
        ep("E1", "R1", "2021-06-01", "2021-11-30", "completed"),
        ep("E2", "R2", "2021-06-01", "2021-08-15", "disengaged"),
        ep("E3", "R3", "2021-07-01", "", "ongoing"),
        ep("E4", "R4", "2021-07-01", "2021-09-01", "suspended", "one_to_one"),
        ep("E5", "R7", "2021-07-01", "2021-08-01", "completed", "foundations"),
        ep("E6", "R8", "2020-02-01", "2020-08-01", "disengaged"),
        ep("E7", "R9", "2021-07-01", "2021-12-01", "completed"),   # second start: not an index
    ],
}


def test_groups_and_record_flow(make_dataset):
    ds = make_dataset(TABLES)
    st = starters(ds, "2021-22")
    assert dict(zip(st["person_id"], st["group"], strict=True)) == {
        "P1": "completed", "P2": "not_completed", "P3": "ongoing", "P4": "not_completed"}
    rns = referred_not_started(ds, "2021-22")
    assert list(rns["person_id"]) == ["P5"]
    cohort = build_cohort(ds, "2021-22")
    flow = cohort.flow.set_index(["stage", "step", "reason"])["n"]
    assert flow[("People referred in the period or starting in it", "kept", "distinct person_id")] == 8
    excluded = cohort.flow[cohort.flow["step"] == "excluded"]
    reasons = dict(zip(excluded["reason"], excluded["n"], strict=True))
    assert reasons["not eligible"] == 1
    assert reasons["eligible, never started a programme"] == 1
    assert reasons["awareness or follow-on programmes only"] == 1
    assert reasons["first core programme started before the period"] == 1
    assert reasons["still on the programme at the extract date"] == 1
    # nobody lost: 8 people = 3 excluded before starting + 1 earlier start + 4 starters
    assert 8 == 3 + 1 + len(st)
    assert cohort.people.loc[cohort.people["person_id"] == "P4", "self_referred"].iloc[0]


def test_first_core_episode_ties_go_to_the_first_episode_id_as_text(make_dataset):
    """Two core episodes starting the same day: the index episode is the first by episode_id
    as text ("E10" before "E9"), from whichever referral; people come out in person_id order."""
    tables = {
        "referrals": [ref("R1", "P2"), ref("R2", "P2"), ref("R3", "P10"), ref("R4", "P1")],
        "episodes": [
            ep("E9", "R1", "2021-06-01", "2021-11-30", "completed"),
            ep("E10", "R2", "2021-06-01", "2021-08-15", "disengaged"),
            ep("E11", "R2", "2021-05-01", "2021-05-15", "excluded", "foundations"),   # not core
            ep("E3", "R3", "2021-07-01", "2021-09-01", "completed"),
            ep("E1", "R3", "2021-07-02", "2021-09-02", "disengaged"),   # later start: not the index
            ep("E2", "R4", "2021-08-01", "2021-10-01", "completed"),
        ],
    }
    st = starters(make_dataset(tables), "2021-22")
    assert list(st["person_id"]) == ["P1", "P10", "P2"]
    assert list(st["episode_id"]) == ["E2", "E3", "E10"]
    assert list(st["referral_id"]) == ["R4", "R3", "R2"]


def test_a_dataset_with_no_core_episode_builds_a_cohort(make_dataset):
    """Nobody on a core programme yet (awareness courses only): referred-not-started people,
    no starters, and a record flow that adds up (this used to fail on an empty lookup)."""
    tables = {"referrals": [ref("R1", "P1"), ref("R2", "P2")],
              "episodes": [ep("E1", "R2", "2021-06-01", "2021-07-01", "completed", "foundations")]}
    cohort = build_cohort(make_dataset(tables), "2021-22")
    assert list(cohort.people["group"]) == ["referred_not_started"]
    assert str(cohort.people["start_date"].dtype) == "datetime64[ns]"
    excluded = cohort.flow[cohort.flow["step"] == "excluded"]
    reasons = dict(zip(excluded["reason"], excluded["n"], strict=True))
    assert reasons["eligible, never started a programme"] == 1
    assert reasons["awareness or follow-on programmes only"] == 1


def test_index_date_exit_or_start(make_dataset):
    ds = make_dataset(TABLES)
    exit_c = build_cohort(ds, "2021-22", OutcomeSettings(index_date="exit")).people.set_index("person_id")
    start_c = build_cohort(ds, "2021-22", OutcomeSettings(index_date="start")).people.set_index("person_id")
    assert str(exit_c.loc["P1", "index_date"].date()) == "2021-11-30"
    assert str(start_c.loc["P1", "index_date"].date()) == "2021-06-01"
    assert pd.isna(exit_c.loc["P3", "index_date"])       # ongoing: no exit yet
    assert str(exit_c.loc["P5", "index_date"].date()) == "2021-05-01"   # referred, not started


def people(*rows):
    return pd.DataFrame(rows, columns=["person_id", "index_date"]).astype({"index_date": "datetime64[ns]"})


def police(*rows):
    df = pd.DataFrame(rows, columns=["person_id", "offence_date", "da_related", "outcome", "outcome_date"])
    for c in ("offence_date", "outcome_date"):
        df[c] = pd.to_datetime(df[c])
    df["da_related"] = df["da_related"].astype("boolean")
    return df


S = OutcomeSettings()  # 12-month window, 6-month waiting period
EXTRACT = "2024-06-30"


@pytest.mark.parametrize("offence,outcome,outcome_date,expected", [
    ("2022-01-01", "conviction", "2022-03-01", True),             # inside window, proven promptly
    ("2022-12-31", "caution", "2023-06-30", True),                 # last day of window, last day of waiting
    ("2022-12-31", "caution", "2023-07-01", False),                # proven one day after the waiting period
    ("2023-01-01", "conviction", "2023-02-01", False),             # one day after the window
    ("2021-12-31", "conviction", "2022-02-01", False),             # on the index date: before the window
    ("2022-01-01", "no_further_action", "2022-02-01", False),      # not proven
    ("2022-01-01", "charge_pending", None, False),
    ("2022-01-01", "community_resolution", "2022-01-05", True),
])
def test_mojo_definition_edges(offence, outcome, outcome_date, expected):
    p = people(("P1", "2021-12-31"))
    r = proven_reoffending(p, police(("P1", offence, False, outcome, outcome_date)), EXTRACT, S)
    assert bool(r["countable"].iloc[0])
    assert bool(r["reoffended_any"].iloc[0]) is expected
    assert r["reoffended_da"].iloc[0] == False  # noqa: E712 (not DA-related)


def test_not_yet_countable_is_missing_not_zero():
    # index 2023-06-01: window ends 2024-06-01, waiting ends 2024-12-01 > extract
    p = people(("P1", "2023-06-01"), ("P2", "2022-12-30"))
    r = proven_reoffending(p, police(("P1", "2023-07-01", True, "conviction", "2023-09-01")), EXTRACT, S)
    assert not r["countable"].iloc[0]
    assert pd.isna(r["reoffended_any"].iloc[0]) and pd.isna(r["reoffences_any"].iloc[0])
    assert bool(r["countable"].iloc[1]) and r["reoffended_any"].iloc[1] == False  # noqa: E712
    # time to event still uses the proven offence, censoring the other at the extract date
    assert r["event_any"].iloc[0] and r["days_to_first_any"].iloc[0] == 30
    assert not r["event_any"].iloc[1] and r["days_to_first_any"].iloc[1] == 365


def test_frequency_time_and_da_variant():
    p = people(("P1", "2021-01-01"), ("P2", "2021-01-01"), ("P3", None))
    off = police(
        ("P1", "2021-03-01", False, "conviction", "2021-04-01"),
        ("P1", "2021-02-01", True, "caution", "2021-02-10"),
        ("P1", "2021-05-01", True, "conviction", "2022-01-01"),
        ("P2", "2020-12-01", True, "conviction", "2021-01-02"),   # before index
        ("P3", "2021-03-01", True, "conviction", "2021-04-01"),   # no index date
        ("P9", "2021-03-01", True, "conviction", "2021-04-01"),   # not in the cohort
    )
    r = proven_reoffending(p, off, EXTRACT, S)
    assert list(r["reoffences_any"].iloc[:2]) == [3, 0]
    assert list(r["reoffences_da"].iloc[:2]) == [2, 0]
    assert r["days_to_first_any"].iloc[0] == 31 and r["event_any"].iloc[0]
    assert not r["countable"].iloc[2] and pd.isna(r["days_to_first_any"].iloc[2])


def test_window_and_waiting_configurable():
    p = people(("P1", "2021-01-01"))
    off = police(("P1", "2022-06-01", False, "conviction", "2022-07-01"))
    assert not proven_reoffending(p, off, EXTRACT, S)["reoffended_any"].iloc[0]
    long = OutcomeSettings(window_months=24, waiting_months=3)
    assert proven_reoffending(p, off, EXTRACT, long)["reoffended_any"].iloc[0]


def test_incidents_before_and_after():
    p = pd.DataFrame({"person_id": ["P1", "P2"],
                      "referral_date": pd.to_datetime(["2021-07-01", "2021-07-01"]),
                      "end_date": pd.to_datetime(["2022-01-01", "2024-03-01"])})
    off = police(
        ("P1", "2021-01-01", True, "no_further_action", None),   # exactly 6 months before: in
        ("P1", "2020-12-31", True, "conviction", "2021-02-01"),  # 6m+1d before: only in 12m
        ("P1", "2021-07-01", True, "other", None),               # on referral day: not before
        ("P1", "2021-06-01", False, "conviction", "2021-07-01"), # not DA
        ("P1", "2022-07-01", True, "other", None),               # 6 months after exit: in
        ("P2", "2024-04-01", True, "other", None),               # after window not closed
    )
    r = incidents_before_after(p, off, EXTRACT, (6, 12))
    assert list(r.loc[0, ["da_before_6m", "da_before_12m", "da_after_6m", "da_after_12m"]]) == [1, 2, 1, 1]
    assert r.loc[1, "da_before_6m"] == 0 and pd.isna(r.loc[1, "da_after_6m"])


def test_evaluation_frame_and_countable_flow(make_dataset):
    tables = {**TABLES, "police": [
        {"offence_id": "O1", "person_id": "P1", "offence_date": "2022-02-01", "da_related": "true",
         "outcome": "conviction", "outcome_date": "2022-04-01"},
    ]}
    ds = make_dataset(tables)
    cohort = build_cohort(ds, "2021-22")
    ev = evaluation_frame(ds, cohort).set_index("person_id")
    assert ev.loc["P1", "reoffended_da"] == True  # noqa: E712
    assert ev.loc["P2", "reoffended_any"] == False  # noqa: E712
    flow = countable_flow(cohort, evaluation_frame(ds, cohort))
    assert flow.loc[flow["stage"] == "Completers analysed", "n"].sum() == 1
    assert flow.loc[flow["stage"] == "Non-completers analysed", "n"].sum() == 2
    # not-yet-countable people are set aside before the split, for both groups together
    starters = flow[flow["stage"].str.startswith("Starters")]
    assert starters.loc[starters["step"] == "kept", "n"].iloc[0] == 4
    excluded = dict(zip(starters.loc[starters["step"] == "excluded", "reason"],
                        starters.loc[starters["step"] == "excluded", "n"], strict=True))
    assert excluded == {"still on the programme at the extract date": 1,
                        "follow-up window and waiting period not over by the police extract date": 0}
    assert "Completers" not in set(flow["stage"])   # only the analysed groups are published


def test_window_over_counts_people_in_their_waiting_period():
    # index 2023-04-01: window ends 2024-04-01 (before the extract), waiting ends 2024-10-01 (after)
    p = people(("P1", "2023-04-01"))
    off = police(("P1", "2023-05-01", False, "conviction", "2024-06-01"),
                 ("P1", "2023-06-01", False, "conviction", "2024-07-01"))   # outcome after the extract
    main = proven_reoffending(p, off, EXTRACT, S)
    assert not main["countable"].iloc[0]
    so_far = proven_reoffending(p, off, EXTRACT, OutcomeSettings(countable_when="window_over"))
    assert so_far["countable"].iloc[0] and so_far["reoffences_any"].iloc[0] == 1
