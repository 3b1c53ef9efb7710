"""Partner outcomes on a small hand-made dataset."""

import pandas as pd

from evallib.outcomes.partners import (
    PROGRAMME_STATUSES,
    dash_band,
    dash_change_summary,
    domain_summary,
    engagement_summary,
    high_risk_table,
    partner_frame,
    partners_in_period,
)
from tests.conftest import MINIMAL


def test_dash_bands_at_the_edges():
    bands = dash_band(pd.Series([0, 9, 10, 13, 14, 27, None]))
    assert list(bands.iloc[:6]) == ["standard", "standard", "medium", "medium", "high", "high"]
    assert pd.isna(bands.iloc[6])


def partner(pid, offered="2021-07-01", **kw):
    return {"partner_id": pid, "referral_id": "R1", "offered_date": offered, "engaged": "yes", **kw}


def test_partner_summaries(make_dataset):
    rows = [
        partner("A", dash_start=16, dash_end=8, support="multiple", contact_made="yes", outcome_safety="improved"),
        partner("B", dash_start=15, dash_end=14, support="single", contact_made="yes", outcome_safety="no_change"),
        partner("C", dash_start=5, dash_end=11, support="declined", contact_made="no", engaged="no"),
        partner("D", dash_start=12, support=""),          # last DASH missing: change unknown
        partner("E", offered="2023-01-01", dash_start=20, dash_end=2),   # outside the period
    ]
    ds = make_dataset({**MINIMAL, "partners": rows})
    p = partners_in_period(ds, "2021-22")
    assert list(p["partner_id"]) == ["A", "B", "C", "D"]
    assert list(p["risk_change"].fillna("?")) == ["improved", "no_change", "deteriorated", "?"]
    assert p["person_completed"].all()      # R1's second_step episode completed
    e = engagement_summary(p).set_index("measure")["count"]
    assert e["Offered support"] == 4 and e["Engaged (took up support at any stage)"] == 3
    assert e["Contact made"] == 2 and e["Declined support"] == 1 and e["Support not recorded"] == 1
    t = dash_change_summary(p)
    assert t.loc["high", "standard"] == 1 and t.loc["medium", "missing"] == 1 and t.to_numpy().sum() == 4
    # paired high-risk table: A high->not, B high->high, C not->not; D has no last score
    assert high_risk_table(p).tolist() == [[1, 1], [0, 1]]
    d = domain_summary(p).set_index("domain")
    assert d.loc["Safety", "improved"] == 1 and d.loc["Safety", "not recorded"] == 2
    assert d.loc["Coping", "not recorded"] == 4


def test_programme_status_and_partner_frame(make_dataset):
    referrals = [{"referral_id": f"R{i}", "person_id": f"P{i}", "referral_date": "2021-05-01", "district": d,
                  "source": "self", "eligible": "yes", "children": c}
                 for i, d, c in ((1, "Blaby", 2), (2, "Melton", None), (3, "Rutland", 0), (4, "Blaby", 1),
                                 (5, "Blaby", 3))]
    episodes = [
        # R1: disengaged from one core episode, then completed another: completed
        {"episode_id": "E1", "referral_id": "R1", "programme": "second_step", "start_date": "2021-06-01",
         "end_date": "2021-07-01", "status": "disengaged"},
        {"episode_id": "E2", "referral_id": "R1", "programme": "one_to_one", "start_date": "2021-08-01",
         "end_date": "2021-12-01", "status": "completed"},
        # R2: ended without completing, and still on another one: ongoing
        {"episode_id": "E3", "referral_id": "R2", "programme": "second_step", "start_date": "2021-06-01",
         "end_date": "2021-07-01", "status": "excluded"},
        {"episode_id": "E4", "referral_id": "R2", "programme": "second_step", "start_date": "2021-09-01",
         "status": "ongoing"},
        # R3: suspended: not completed
        {"episode_id": "E5", "referral_id": "R3", "programme": "womens_programme", "start_date": "2021-06-01",
         "end_date": "2021-07-01", "status": "suspended"},
        # R4: only Foundations, completed: not started (not a core programme)
        {"episode_id": "E6", "referral_id": "R4", "programme": "foundations", "start_date": "2021-06-01",
         "end_date": "2021-07-01", "status": "completed"},
        # R5: no episode at all
    ]
    partners = [partner(f"S{i}", offered="2021-07-01") | {"referral_id": f"R{i}"} for i in range(1, 6)]
    ds = make_dataset({"referrals": referrals, "episodes": episodes, "partners": partners})
    p = partner_frame(ds, "2021-22")
    assert dict(zip(p["referral_id"], p["programme_status"], strict=True)) == {
        "R1": "completed", "R2": "ongoing", "R3": "not_completed", "R4": "not_started", "R5": "not_started"}
    assert list(p["partner_id"]) == [f"S{i}" for i in range(1, 6)]      # nobody dropped
    assert list(p["district"]) == ["Blaby", "Melton", "Rutland", "Blaby", "Blaby"]
    assert p["children"].isna().tolist() == [False, True, False, False, False]
    assert p["person_completed"].tolist() == (p["programme_status"] == "completed").tolist()
    assert set(p["programme_status"]) <= set(PROGRAMME_STATUSES)
