"""Cohorts and proven reoffending agree, person by person, with an independent SQL version.

The reference (``benchmarks/sql_reference.py``) is DuckDB SQL written from the
definitions in docs/outcomes.md, run over the dataset's files on disk; it is also the
reference of the national benchmark. Checked on the demo dataset and on a small
national dataset (repeat referrals, follow-on programmes, ongoing episodes, police ids
of people never referred), for both index dates and both countable rules.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evallib.cohorts import build_cohort
from evallib.outcomes.reoffending import proven_reoffending
from evallib.schemas import load_dataset
from evallib.synthetic.demo import generate_demo, write_dataset
from evallib.synthetic.national import write_national

ROOT = Path(__file__).resolve().parents[1]


def _reference():
    spec = importlib.util.spec_from_file_location("sql_reference", ROOT / "benchmarks" / "sql_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sql_reference"] = module
    spec.loader.exec_module(module)
    return module


ref = _reference()


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    demo = tmp_path_factory.mktemp("demo")
    tables, meta = generate_demo()
    write_dataset(tables, meta, demo, fmt="parquet")
    national = write_national(tmp_path_factory.mktemp("national"), n_referrals=6000, n_police=60000, seed=11)
    return {"demo": demo, "national": national}


def _norm(s: pd.Series) -> np.ndarray:
    if s.name in ("person_id", "group"):
        return s.astype(str).to_numpy()
    if s.name == "index_date":
        d = pd.to_datetime(s).astype("datetime64[ns]")
        return np.where(d.isna(), np.nan, d.to_numpy().astype("int64") / 8.64e13)
    values = s.astype(object).where(s.notna(), None).to_numpy()
    return pd.array(values, dtype="Float64").to_numpy(float, na_value=np.nan)


CASES = [
    ("demo", "2021-22", {}),
    ("demo", "2022-04-01..2022-11-30", {"index_date": "start"}),
    ("national", "2021-22", {}),
    ("national", "2020-21", {"index_date": "start", "window_months": 24}),
    ("national", "2022-23", {"countable_when": "window_over", "waiting_months": 3}),
]


@pytest.mark.parametrize(("which", "period", "changes"), CASES)
def test_every_person_matches_the_sql_reference(datasets, which, period, changes):
    folder = datasets[which]
    ds = load_dataset(folder)
    s = ds.area.outcomes.model_copy(update=changes)
    cohort = build_cohort(ds, period, s)
    mine = proven_reoffending(cohort.people, ds.police, ds.police_extract_date, s)
    mine = pd.concat([cohort.people[["person_id", "group"]], mine.drop(columns="person_id")], axis=1)
    mine = mine.sort_values("person_id").reset_index(drop=True)
    con = ref.connect(folder)
    theirs = ref.cohort_and_reoffending(
        con, start=cohort.period.start, end=cohort.period.end, core_programmes=ds.area.core_programmes,
        index_date=s.index_date, window_months=s.window_months, waiting_months=s.waiting_months,
        proven_outcomes=s.proven_outcomes, countable_when=s.countable_when,
        police_extract_date=ds.police_extract_date)
    assert len(mine) == len(theirs) > 50
    assert mine["group"].nunique() >= 3
    assert mine["reoffended_any"].fillna(False).astype(bool).sum() > 5
    for col in theirs.columns:
        a, b = _norm(mine[col].rename(col)), _norm(theirs[col].rename(col))
        same = (a == b) if a.dtype == object else ((a == b) | (np.isnan(a) & np.isnan(b)))
        assert same.all(), f"{col}: {int((~same).sum())} people differ, e.g. {mine.loc[~same, 'person_id'].head(3).tolist()}"

    flow = ref.record_flow_counts(con, start=cohort.period.start, end=cohort.period.end,
                                  core_programmes=ds.area.core_programmes)
    expected = [flow[k] for k in ("supplied", "scope", "not_eligible", "eligible_not_started", "other_programmes",
                                  "before", "after", "starters", "ongoing", "completers", "non_completers")]
    assert cohort.flow["n"].tolist() == expected


def test_a_cohort_built_twice_is_the_same(datasets):
    ds = load_dataset(datasets["national"])
    first = build_cohort(ds, "2021-22")
    again = build_cohort(ds, "2021-22")          # from the facts cached on the dataset
    pd.testing.assert_frame_equal(first.people, again.people)
    pd.testing.assert_frame_equal(first.flow, again.flow)


@pytest.mark.parametrize("which", ["demo", "national"])
def test_a_cohort_under_other_settings_equals_one_built_for_them(datasets, which):
    ds = load_dataset(datasets[which])
    base = build_cohort(ds, "2021-22")
    for changes in ({"index_date": "start"}, {"countable_when": "window_over"}, {"index_date": "exit"}):
        s = ds.area.outcomes.model_copy(update=changes)
        built = build_cohort(ds, "2021-22", s)
        reused = base.with_settings(s)
        assert reused.settings == s
        pd.testing.assert_frame_equal(reused.people, built.people)
        pd.testing.assert_frame_equal(reused.flow, built.flow)
