"""Partner outcomes on a small hand-made dataset."""

import pandas as pd

from evallib.outcomes.partners import (
    dash_band,
    dash_change_summary,
    domain_summary,
    engagement_summary,
    high_risk_table,
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
