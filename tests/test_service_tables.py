"""Service outcomes and district tables on small hand-made datasets with obvious answers."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from evallib import tables as T
from evallib.outcomes import service
from evallib.params import load_area, parse_period
from evallib.schemas import load_dataset
from evallib.synthetic.demo import write_demo

AREA = load_area("leicestershire")
ROWS = [name for name, _ in AREA.report_rows()]
INTERVENTIONS = T.intervention_programmes(AREA)
FY = "2021-22"
NO_EPISODES = pd.DataFrame(columns=["episode_id", "referral_id", "programme", "start_date", "status"])


def ref(rid, district="Blaby", date="2021-05-01", source="police", eligible="yes", person=None, **kw):
    return {"referral_id": rid, "person_id": person or f"P{rid}", "referral_date": date, "district": district,
            "source": source, "eligible": eligible, **kw}


def ep(eid, rid, programme, start, end, status):
    return {"episode_id": eid, "referral_id": rid, "programme": programme, "start_date": start,
            "end_date": end, "status": status}


def partner(pid, rid, offered, engaged="yes", feels_safer="", abuse_reduced=""):
    return {"partner_id": pid, "referral_id": rid, "offered_date": offered, "engaged": engaged,
            "feels_safer": feels_safer, "abuse_reduced": abuse_reduced}


def row(table: pd.DataFrame, district: str, **by) -> pd.Series:
    sel = table["district"].eq(district)
    for k, v in by.items():
        sel &= table[k].eq(v)
    out = table[sel]
    assert len(out) == 1, (district, by)
    return out.iloc[0]


# --------------------------------------------------------------------------- referrals
def test_referrals_received_eligible_self_motivated(make_dataset):
    ds = make_dataset({"episodes": NO_EPISODES, "referrals": [
        ref("R1", source="self"),
        ref("R2", source="self", eligible="no"),             # self but not eligible: not self-motivated
        ref("R3", eligible="no"),
        ref("R4", date="2022-03-31", district="Leicester City", source="self"),   # last day of the year: in
        ref("R5", date="2022-04-01", district="Leicester City"),                 # first day after: out
        ref("R6", date="2021-03-31"),                                            # day before: out
    ]})
    units = service.referral_flags(ds.referrals, FY)
    assert sorted(units["referral_id"]) == ["R1", "R2", "R3", "R4"]
    t = T.referrals_table(ds, FY)
    assert list(t.columns) == ["district", "received", "eligible", "self_motivated"]
    assert list(t["district"]) == ROWS
    assert tuple(row(t, "Blaby")[["received", "eligible", "self_motivated"]]) == (3, 1, 1)
    assert tuple(row(t, "CITY")[["received", "eligible", "self_motivated"]]) == (1, 1, 1)
    assert tuple(row(t, "COUNTY")[["received", "eligible", "self_motivated"]]) == (3, 1, 1)
    assert tuple(row(t, "Rutland")[["received", "eligible", "self_motivated"]]) == (0, 0, 0)


def test_referrals_by_source_add_up_to_received(make_dataset):
    ds = make_dataset({"episodes": NO_EPISODES, "referrals": [ref("R1", source="self"), ref("R2", source="probation"),
                                     ref("R3", source="probation", district="Melton")]})
    t = T.referrals_by_source_table(ds, FY)
    assert list(t.columns) == ["district", "source", "referrals"]
    assert len(t) == len(ROWS) * 8                                   # every source shown, zeros included
    assert row(t, "Blaby", source="probation")["referrals"] == 1
    assert row(t, "COUNTY", source="probation")["referrals"] == 2
    assert row(t, "CITY", source="self")["referrals"] == 0
    assert t[t["district"] == "COUNTY"]["referrals"].sum() == 3


def test_unknown_yes_no_counts_as_no():
    """The loader requires eligible and engaged; frames built in memory may still lack them."""
    refs = pd.DataFrame({"referral_id": ["R1", "R2"], "person_id": ["A", "B"], "district": ["Blaby", "Blaby"],
                         "referral_date": pd.to_datetime(["2021-05-01", "2021-05-02"]),
                         "source": pd.array(["self", "self"], dtype="string"),
                         "eligible": pd.array([pd.NA, True], dtype="boolean")})
    units = service.referral_flags(refs, FY)
    assert units["eligible"].tolist() == [False, True]
    assert units["self_motivated"].tolist() == [False, True]
    parts = pd.DataFrame({"partner_id": ["S1", "S2"], "referral_id": ["R1", "R2"],
                          "offered_date": pd.to_datetime(["2021-05-01", "2021-05-02"]),
                          "engaged": pd.array([pd.NA, True], dtype="boolean")})
    assert service.partner_engagement(parts, refs, FY)["engaged"].tolist() == [False, True]


# --------------------------------------------------------------------------- completions
def test_completion_counts_ended_episodes_only(make_dataset):
    ds = make_dataset({
        "referrals": [ref("R1"), ref("R2"), ref("R3"), ref("R4"), ref("R5", district="Rutland")],
        "episodes": [
            ep("E1", "R1", "second_step", "2021-06-01", "2021-11-30", "completed"),
            ep("E2", "R2", "second_step", "2021-06-01", "2021-08-01", "disengaged"),
            ep("E3", "R3", "second_step", "2021-06-01", "", "ongoing"),              # not ended
            ep("E4", "R4", "second_step", "2021-10-01", "2022-04-01", "completed"),  # ends after the year
            ep("E5", "R1", "step_up_dads", "2021-12-10", "2022-02-20", "completed"),
            ep("E6", "R5", "foundations", "2021-06-05", "2021-07-15", "excluded"),
        ],
    }, extract_date="2022-06-30", police_extract_date=None)
    units = service.episode_completion(ds.episodes, ds.referrals, FY)
    assert sorted(units["episode_id"]) == ["E1", "E2", "E5", "E6"]
    t = T.completions_table(ds, FY)
    assert list(t.columns) == ["district", "programme", "completed", "ended"]
    assert len(t) == len(ROWS) * len(AREA.programmes)
    assert tuple(row(t, "Blaby", programme="second_step")[["completed", "ended"]]) == (1, 2)
    assert tuple(row(t, "Blaby", programme="step_up_dads")[["completed", "ended"]]) == (1, 1)
    assert tuple(row(t, "Rutland", programme="foundations")[["completed", "ended"]]) == (0, 1)
    assert tuple(row(t, "COUNTY", programme="foundations")[["completed", "ended"]]) == (0, 0)
    assert tuple(row(t, "CITY", programme="one_to_one")[["completed", "ended"]]) == (0, 0)


# --------------------------------------------------------------------------- repeat incidents and children
@pytest.fixture
def on_intervention(make_dataset):
    """People on intervention in 2021-22 with incidents placed around their episodes."""
    return make_dataset({
        "referrals": [
            ref("R1", children=2), ref("R2", children=1), ref("R3", children=3), ref("R4", children=4),
            ref("R5", children=5), ref("R6", children=""), ref("R7", district="Leicester City", children=1),
            ref("R8", children=6), ref("R9", date="2020-06-01", children=7),
        ],
        "episodes": [
            ep("E1", "R1", "second_step", "2021-06-01", "2021-11-30", "completed"),
            ep("E2", "R2", "second_step", "2021-06-01", "2021-11-30", "completed"),
            ep("E3", "R3", "second_step", "2021-06-01", "2021-11-30", "completed"),
            ep("E4", "R4", "foundations", "2021-06-01", "2021-07-15", "completed"),      # awareness only
            ep("E5", "R5", "second_step", "2021-05-01", "2021-06-01", "disengaged"),
            ep("E6", "R5", "second_step", "2021-10-01", "2022-03-20", "completed"),      # started again
            ep("E7", "R6", "one_to_one", "2022-01-10", "", "ongoing"),
            ep("E8", "R7", "womens_programme", "2021-06-01", "2021-10-30", "completed"),
            ep("E9", "R8", "second_step", "2022-04-05", "2022-09-30", "completed"),      # after the year
            ep("E10", "R9", "second_step", "2020-07-01", "2021-01-15", "completed"),     # before the year
        ],
        "incidents": [
            {"incident_id": "I1", "referral_id": "R1", "incident_date": "2021-11-30", "reported_by": "partner"},
            {"incident_id": "I2", "referral_id": "R2", "incident_date": "2021-12-01", "reported_by": "police"},
            {"incident_id": "I3", "referral_id": "R3", "incident_date": "2021-05-20", "reported_by": "police"},
            {"incident_id": "I4", "referral_id": "R4", "incident_date": "2021-06-20", "reported_by": "partner"},
            {"incident_id": "I5", "referral_id": "R5", "incident_date": "2021-08-01", "reported_by": "partner"},
            {"incident_id": "I6", "referral_id": "R6", "incident_date": "2022-04-02", "reported_by": "partner"},
            {"incident_id": "I7", "referral_id": "R7", "incident_date": "2021-06-01", "reported_by": "self"},
            {"incident_id": "I8", "referral_id": "R8", "incident_date": "2022-05-01", "reported_by": "partner"},
        ],
    }, extract_date="2022-12-31", police_extract_date=None)


def test_repeat_incident_only_while_on_intervention(on_intervention):
    ds = on_intervention
    units = service.repeat_incidents(ds.episodes, ds.incidents, ds.referrals, FY, INTERVENTIONS)
    flags = dict(zip(units["person_id"], units["with_repeat_incident"], strict=True))
    # R1 on its end date: counts. R2 the day after end_date: not. R3 before start: not.
    # R4 Foundations only: not on intervention. R5 between two episodes: not.
    # R6 ongoing, incident after the period's end: not. R7 on its start date: counts.
    # R8 starts after the period, R9 ended before it: not on intervention.
    assert flags == {"PR1": True, "PR2": False, "PR3": False, "PR5": False, "PR6": False, "PR7": True}
    t = T.repeat_incidents_table(ds, FY)
    assert list(t.columns) == ["district", "with_repeat_incident", "on_intervention"]
    assert tuple(row(t, "Blaby")[["with_repeat_incident", "on_intervention"]]) == (1, 5)
    assert tuple(row(t, "CITY")[["with_repeat_incident", "on_intervention"]]) == (1, 1)
    assert tuple(row(t, "COUNTY")[["with_repeat_incident", "on_intervention"]]) == (1, 5)


def test_ongoing_episode_counts_up_to_the_period_end(on_intervention):
    ds = on_intervention
    t = T.repeat_incidents_table(ds, "2022-04-01..2022-12-31")
    # R6's ongoing episode now covers the incident of 2022-04-02; R8's incident is inside E9
    assert tuple(row(t, "Blaby")[["with_repeat_incident", "on_intervention"]]) == (2, 2)


def test_children_of_people_on_intervention(on_intervention):
    ds = on_intervention
    units = service.children_on_intervention(ds.episodes, ds.referrals, FY, INTERVENTIONS)
    assert sorted(units["person_id"]) == ["PR1", "PR2", "PR3", "PR5", "PR6", "PR7"]   # R5 once, not R4
    t = T.children_table(ds, FY)
    assert list(t.columns) == ["district", "children"]
    assert row(t, "Blaby")["children"] == 2 + 1 + 3 + 5          # R6 unknown adds nothing
    assert row(t, "CITY")["children"] == 1
    assert row(t, "COUNTY")["children"] == 11


# --------------------------------------------------------------------------- partners
@pytest.fixture
def partners_ds(make_dataset):
    return make_dataset({
        "referrals": [ref("R1"), ref("R2"), ref("R3", district="Leicester City"), ref("R4")],
        "episodes": [
            ep("E1", "R1", "second_step", "2021-06-01", "2021-11-30", "completed"),
            ep("E2", "R2", "second_step", "2021-06-01", "2021-08-30", "disengaged"),
            ep("E3", "R3", "one_to_one", "2021-06-01", "2022-05-30", "completed"),       # completes next year
            ep("E4", "R4", "foundations", "2021-06-01", "2021-07-15", "completed"),      # not an intervention
            ep("E5", "R2", "step_up_dads", "2021-10-01", "2021-12-15", "completed"),     # follow-on, not core
        ],
        "partners": [
            partner("S1", "R1", "2021-05-10", "yes", "yes", "yes"),
            partner("S2", "R1", "2021-06-10", "no", "yes", "no"),         # not engaged: not asked
            partner("S3", "R1", "2021-07-10", "yes", "unknown", "unknown"),
            partner("S4", "R2", "2021-05-10", "yes", "yes", "no"),        # person did not complete core
            partner("S5", "R3", "2021-05-10", "yes", "no", "yes"),
            partner("S6", "R4", "2021-05-10", "no", "yes", ""),           # Foundations only
            partner("S7", "R1", "2022-04-01", "yes", "no", "yes"),        # offered next year
        ],
    }, extract_date="2022-12-31", police_extract_date=None)


def test_partner_engagement(partners_ds):
    t = T.partner_engagement_table(partners_ds, FY)
    assert list(t.columns) == ["district", "engaged", "offered"]
    assert tuple(row(t, "Blaby")[["engaged", "offered"]]) == (3, 5)
    assert tuple(row(t, "CITY")[["engaged", "offered"]]) == (1, 1)
    assert tuple(row(t, "COUNTY")[["engaged", "offered"]]) == (3, 5)


def test_reduced_abuse_of_known_answers(partners_ds):
    t = T.reduced_abuse_table(partners_ds, FY)
    assert list(t.columns) == ["district", "reduced", "assessed"]
    assert tuple(row(t, "Blaby")[["reduced", "assessed"]]) == (1, 3)     # S1 yes, S2 no, S4 no
    assert tuple(row(t, "CITY")[["reduced", "assessed"]]) == (1, 1)
    assert tuple(row(T.reduced_abuse_table(partners_ds, "2022-23"), "Blaby")[["reduced", "assessed"]]) == (1, 1)


def test_feels_safer_only_for_engaged_partners_of_completers(partners_ds):
    t = T.partner_safety_table(partners_ds, FY)
    assert list(t.columns) == ["district", "feels_safer", "answered"]
    # S1 (engaged, R1 completed Second Step in the year, yes) and S7 (R1's, offered later: the
    # period is the completion's). Not S2 (not engaged), S3 (unknown), S4 (Step Up Dads is not
    # core), S6 (Foundations). S5's person completes in 2022-23.
    assert tuple(row(t, "Blaby")[["feels_safer", "answered"]]) == (1, 2)
    assert tuple(row(t, "CITY")[["feels_safer", "answered"]]) == (0, 0)
    t2 = T.partner_safety_table(partners_ds, "2022-23")
    assert tuple(row(t2, "CITY")[["feels_safer", "answered"]]) == (0, 1)


# --------------------------------------------------------------------------- demographics
def test_demographics_count_people_once(make_dataset):
    ds = make_dataset({"episodes": NO_EPISODES, "referrals": [
        ref("R1", person="A", gender="male", ethnicity="white", age="34"),
        ref("R2", person="A", date="2021-09-01", gender="male", ethnicity="white", age="34"),   # same person
        ref("R3", gender="female", ethnicity="asian", age="17"),
        ref("R4", district="Leicester City", gender="", ethnicity="black", age=""),
    ]})
    t = T.demographics_table(ds, FY)
    assert list(t.columns) == ["district", "characteristic", "category", "people"]
    assert row(t, "Blaby", characteristic="gender", category="male")["people"] == 1
    assert row(t, "Blaby", characteristic="age_band", category="under 18")["people"] == 1
    assert row(t, "Blaby", characteristic="age_band", category="25-34")["people"] == 1
    assert row(t, "CITY", characteristic="gender", category="unknown")["people"] == 1
    assert row(t, "CITY", characteristic="age_band", category="unknown")["people"] == 1
    for (district, _), g in t.groupby(["district", "characteristic"]):
        assert g["people"].sum() == {"Blaby": 2, "COUNTY": 2, "CITY": 1}.get(district, 0)


# --------------------------------------------------------------------------- rollups
def test_group_rows_are_sums_of_their_districts_on_the_demo(tmp_path):
    """On the demo: COUNTY is the sum of its seven districts, and COUNTY + Rutland + CITY is
    what one group of every district counts (nobody dropped or counted twice)."""
    ds = load_dataset(write_demo(tmp_path / "demo", seed=9))
    everything = dataclasses.replace(ds, area=AREA.model_copy(update={"groups": {"ALL": list(AREA.districts)}}))
    county = AREA.groups["COUNTY"]
    for name, func in T.TABLE_FUNCTIONS.items():
        for period in ("2021-22", parse_period("2022-04-01..2022-11-30"), "2021-04-01..2022-09-30"):
            t = func(ds, period)
            assert list(dict.fromkeys(t["district"])) == ROWS, name
            keys = [c for c in t.columns if c != "district" and t[c].dtype == "string"]
            counts = [c for c in t.columns if c != "district" and c not in keys]
            assert (t[counts] >= 0).all().all()

            def total(frame, rows, keys=keys, counts=counts):
                f = frame[frame["district"].isin(rows)]
                return f.groupby(keys)[counts].sum() if keys else f[counts].sum()

            got, want = total(t, ["COUNTY"]), total(t, county)
            assert (got.to_numpy() == want.to_numpy()).all(), (name, period, "COUNTY")
            every = func(everything, period)
            got, want = total(t, ["COUNTY", "Rutland", "CITY"]), total(every, ["ALL"])
            assert (got.to_numpy() == want.to_numpy()).all(), (name, period, "all districts")
            assert want.to_numpy().sum() > 0 or name in ("partner_safety",), (name, period)


def test_period_may_be_text_or_period(make_dataset):
    ds = make_dataset()
    a = T.referrals_table(ds, "2021-22")
    b = T.referrals_table(ds, parse_period("2021-04-01..2022-03-31"))
    pd.testing.assert_frame_equal(a, b)
