"""The loader's shortcut for clean typed columns (``schemas._clean_column``) changes nothing.

Typed Parquet tables are corrupted at random (a value missing, out of range, too large,
an unknown or differently spelt label, a padded or blank text, a repeated id, a time of
day on a date, a column of another type) and loaded twice: with the shortcut and with
every column down the full path. Either both refuse with the very same problem rows, or
both return the very same tables.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evallib import schemas
from evallib.schemas import TABLES, DataValidationError, load_dataset
from evallib.synthetic.demo import generate_demo, write_dataset


def _same(fast, full) -> None:
    """The same problem rows, or the same tables (values and dtypes)."""
    assert type(fast) is type(full)
    if isinstance(full, pd.DataFrame):
        pd.testing.assert_frame_equal(fast, full)
    else:
        assert fast.keys() == full.keys()
        for k in full:
            pd.testing.assert_frame_equal(fast[k], full[k], check_exact=True)


#: Values to put in a cell, by the column's kind (and any of the others, less often).
BY_KIND = {
    "str": [None, "", " ", " R1", "R1 ", "\u00a0", "é", "O1", "R00001"],
    "category": [None, "", " self", "Self", "SELF ", "completed", "Completed", "unknown-label", "conviction"],
    "int": [None, -5, 0, 3, 111, 2**31, 2**40, 3.5],
    "bool": [None, True, False, "yes", 1],
    "date": [None, pd.Timestamp("2021-05-01 13:00"), pd.Timestamp("2030-01-01"), pd.Timestamp("2021-05-01"),
             "2021-05-01"],
}
@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    tables, meta = generate_demo(n_people=30, seed=5)
    return write_dataset(tables, meta, tmp_path_factory.mktemp("typed"), fmt="parquet")


def _load(folder: Path, shortcut: bool, monkeypatch):
    with monkeypatch.context() as m:
        if not shortcut:
            m.setattr(schemas, "_clean_column", lambda *a, **k: None)
        try:
            ds = load_dataset(folder)
        except DataValidationError as exc:
            return exc.problems
    return ds.tables


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), table=st.sampled_from(["referrals", "episodes", "police", "partners"]), row=st.floats(0, 1),
       as_text=st.booleans(), copy_id=st.booleans())
def test_the_shortcut_gives_the_full_paths_answer(base, monkeypatch, data, table, row, as_text, copy_id):
    folder = Path(tempfile.mkdtemp(prefix="typed-"))
    try:
        shutil.copytree(base, folder, dirs_exist_ok=True)
        path = folder / f"{table}.parquet"
        df = pd.read_parquet(path)
        i = min(int(row * len(df)), len(df) - 1)
        spec = data.draw(st.sampled_from(TABLES[table].columns))
        name = spec.name
        kinds = [spec.kind] * 4 + list(BY_KIND)
        value = data.draw(st.sampled_from(BY_KIND[data.draw(st.sampled_from(kinds))]))
        if copy_id:                                  # a repeated id
            key = TABLES[table].columns[0].name
            df.loc[i, key] = df.loc[(i + 1) % len(df), key]
        elif name in df.columns:
            col = df[name].astype(object) if as_text else df[name]
            try:
                col = col.copy()
                col.iloc[i] = value
            except (TypeError, ValueError):
                col = col.astype(object)
                col.iloc[i] = value
            df[name] = col.astype(str).where(col.notna()) if as_text and value is not None else col
        try:
            df.to_parquet(path, index=False)
        except Exception:                            # a mix Parquet cannot store: nothing to compare
            return
        _same(_load(folder, True, monkeypatch), _load(folder, False, monkeypatch))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


CASES = [("referrals", "age", -5), ("referrals", "age", 2**40), ("referrals", "age", 3.5),
         ("referrals", "children", None), ("referrals", "source", "Self"), ("referrals", "source", " self"),
         ("referrals", "source", "unknown-label"), ("referrals", "source", None), ("referrals", "referral_id", None),
         ("referrals", "referral_id", "copy"), ("referrals", "person_id", " P1"), ("referrals", "person_id", ""),
         ("referrals", "eligible", None), ("referrals", "district", "blaby"),
         ("police", "offence_date", pd.Timestamp("2021-05-01 13:00")), ("police", "offence_date", None),
         ("police", "outcome_date", pd.Timestamp("2030-01-01")), ("police", "offence_id", "copy"),
         ("episodes", "sessions_offered", 3.5), ("episodes", "programme", "Unknown"), ("episodes", "status", None),
         ("partners", "dash_start", 28), ("partners", "engaged", None)]


@pytest.mark.parametrize(("table", "name", "value"), CASES)
def test_the_shortcut_on_each_kind_of_problem(base, monkeypatch, table, name, value):
    folder = Path(tempfile.mkdtemp(prefix="typed-"))
    try:
        shutil.copytree(base, folder, dirs_exist_ok=True)
        df = pd.read_parquet(folder / f"{table}.parquet")
        col = df[name].astype(object)
        col.iloc[1] = col.iloc[2] if value == "copy" else value
        df[name] = col.astype(df[name].dtype) if value is None or value == "copy" else col.infer_objects()
        df.to_parquet(folder / f"{table}.parquet", index=False)
        fast, full = _load(folder, True, monkeypatch), _load(folder, False, monkeypatch)
        _same(fast, full)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_clean_typed_columns_take_the_shortcut(base, monkeypatch):
    """The shortcut is taken on a clean typed dataset (else the test above proves nothing),
    and not on a column with a problem."""
    taken = {}
    real = schemas._clean_column

    def spy(raw, table, col, area):
        out = real(raw, table, col, area)
        taken[(table, col.name)] = out is not None
        return out
    monkeypatch.setattr(schemas, "_clean_column", spy)
    load_dataset(base)
    assert all(taken.values()), [k for k, v in taken.items() if not v]
    folder = Path(tempfile.mkdtemp(prefix="typed-"))
    try:
        shutil.copytree(base, folder, dirs_exist_ok=True)
        df = pd.read_parquet(folder / "police.parquet")
        df.loc[0, "outcome"] = "acquitted"
        df.to_parquet(folder / "police.parquet", index=False)
        with pytest.raises(DataValidationError, match="acquitted"):
            load_dataset(folder)
        assert not taken[("police", "outcome")] and taken[("police", "offence_id")]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_columns_checked_two_at_a_time_give_the_same_tables(base, monkeypatch):
    """Large tables have their columns' shortcut checks run on two threads: same tables."""
    one = load_dataset(base).tables
    monkeypatch.setattr(schemas, "PARALLEL_ROWS", 1)
    two = load_dataset(base).tables
    for k in one:
        pd.testing.assert_frame_equal(one[k], two[k], check_exact=True)


def test_the_episodes_referral_rows_are_kept_for_the_cohorts(base):
    """The foreign-key check's lookup is kept with the tables it was made from (and used by
    the cohorts instead of a second lookup)."""
    from evallib.cohorts import _facts
    from evallib.fastops import positions

    ds = load_dataset(base)
    episodes, referrals, rows = ds.__dict__["_referral_rows"]
    assert episodes is ds.episodes and referrals is ds.referrals
    assert rows.tolist() == positions(ds.episodes["referral_id"], ds.referrals["referral_id"]).tolist()
    assert _facts(ds).ref_started.sum() == ds.episodes["referral_id"].nunique()


def test_latest_date_is_pandas_max():
    from evallib.schemas import _latest

    for dates in (["2021-01-01", None, "2023-05-01"], [None, None], [], ["2020-01-01"]):
        s = pd.Series(pd.to_datetime(dates), dtype="datetime64[ns]")
        assert (pd.isna(_latest(s)) and pd.isna(s.max())) or _latest(s) == s.max()
