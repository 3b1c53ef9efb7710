"""The fast paths give the answers of the plain pandas operations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from evallib.fastops import has_repeats, isin, matches, plain_text, positions, system_memory
from evallib.schemas import _blank, _duplicated

words = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", " a", "", "  ", "\t", "\u00a0", "é", "R1", "R10"])),
                 max_size=30)


@given(words, words)
def test_isin_and_positions_match_pandas(values, universe):
    s = pd.Series(values, dtype="string")
    u = pd.Series(universe, dtype="string")
    expected = (s.astype(object).isin([x for x in universe if x is not None]) & s.notna()).to_numpy(bool)
    assert (isin(s, u) == expected).all()
    assert (isin(s.astype(object), universe) == expected).all()
    distinct = u.dropna().drop_duplicates().reset_index(drop=True)
    where = positions(s, distinct)
    lookup = {v: i for i, v in enumerate(distinct)}
    assert where.tolist() == [lookup.get(v, -1) if v is not None else -1 for v in values]
    for vals in (s, s.astype(object)):
        at, found = matches(vals, distinct)
        assert at.tolist() == np.flatnonzero(where >= 0).tolist() and found.tolist() == where[where >= 0].tolist()


def test_isin_on_numbers_and_dates_uses_pandas():
    assert isin(pd.Series([1, 2, 3]), [2, 3]).tolist() == [False, True, True]
    d = pd.Series(pd.to_datetime(["2021-01-01", None]))
    assert isin(d, [pd.Timestamp("2021-01-01")]).tolist() == [True, False]


@given(words)
def test_blank_on_arrow_text_matches_the_plain_definition(values):
    s = pd.Series(values, dtype="string")
    plain = s.isna() | s.astype(object).map(lambda v: v is None or v is pd.NA or str(v).strip() == "")
    assert _blank(s).tolist() == plain.astype(bool).tolist()
    assert _blank(s.astype(object)).tolist() == plain.astype(bool).tolist()


def test_blank_of_typed_columns_is_missing_only():
    assert _blank(pd.Series(pd.to_datetime(["2021-01-01", None]))).tolist() == [False, True]
    assert _blank(pd.Series([1, None], dtype="Int64")).tolist() == [False, True]
    assert _blank(pd.Series([True, None], dtype="boolean")).tolist() == [False, True]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["E1", "E2", "E3", "E10", ""])), max_size=20))
def test_duplicated_matches_pandas(values):
    s = pd.Series(values, dtype="string")
    expected = (s.notna() & s.duplicated(keep=False)).to_numpy(bool)
    assert np.array_equal(_duplicated(s).to_numpy(bool), expected)


@given(words)
def test_plain_text_only_when_stripping_changes_nothing(values):
    s = pd.Series(values, dtype="string")
    stripped = s.str.strip()
    unchanged = bool((stripped.fillna("\\0") == s.fillna("\\0")).all()) and not bool(s.eq("").fillna(False).any())
    if plain_text(s):
        assert unchanged
    assert plain_text(pd.Series(["R1", None, "x-2"], dtype="string"))
    assert not plain_text(pd.Series(["R1", "R2 "], dtype="string"))
    assert not plain_text(pd.Series(["R1", "é"], dtype="string"))
    assert not plain_text(pd.Series(["R1", ""], dtype="string"))
    assert not plain_text(pd.Series(["R1"], dtype=object))
    assert plain_text(pd.Series([" a", "b", None, "c"], dtype="string").iloc[1:])
    assert not plain_text(pd.Series(["a", "b", " c"], dtype="string").iloc[1:])


ids = st.lists(st.one_of(st.none(), st.text(alphabet="ab \x00é", max_size=20),
                         st.sampled_from(["E1", "E10", "x" * 17, "x" * 16 + "y"])), max_size=40)


@given(ids, st.integers(0, 5), st.integers(1, 4))
def test_has_repeats_matches_pandas(values, skip, chunks):
    """Any lengths (across the 8-byte words), NUL and non-ASCII bytes, sliced and chunked arrays."""
    expected = pd.Series(values[skip:], dtype=object).dropna().duplicated().any()
    arr = pa.array(values, type=pa.string()).slice(skip)
    cut = len(arr) // chunks
    pieces = [arr.slice(i * cut, cut if i < chunks - 1 else None) for i in range(chunks)] if cut else [arr]
    s = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(pieces, type=pa.string())))
    assert has_repeats(s) == expected
    assert has_repeats(pd.Series(values[skip:], dtype=object)) == expected


def test_has_repeats_sees_a_repeat_among_many():
    s = pd.Series([f"O{i:08d}" for i in range(100_000)], dtype="string")
    assert not has_repeats(s)
    s.iloc[99_999] = s.iloc[3]
    assert has_repeats(s)


def test_system_memory_is_scoped(monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with system_memory():
        assert pa.default_memory_pool().backend_name == "system"
        arr = pa.array(["a", "b"] * 1000)
    assert pa.default_memory_pool().backend_name == before
    assert arr.to_pylist()[:3] == ["a", "b", "a"]          # made inside, still usable outside
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", before)
    with system_memory():                                   # the user's choice is kept
        assert pa.default_memory_pool().backend_name == before


@given(ids, ids)
def test_two_thread_paths_give_the_same_answers(values, universe):
    """Long columns are hashed and looked up on two threads: the same answers (block size made tiny)."""
    from evallib import fastops

    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(
        [pa.array(values[:7], pa.string()), pa.array(values[7:15], pa.string()), pa.array(values[15:], pa.string())])))
    u = pd.Series(universe, dtype="string").dropna().drop_duplicates()
    one = has_repeats(chunked), matches(chunked, u)
    old = fastops._BLOCK
    try:
        fastops._BLOCK = 2
        two = has_repeats(chunked), matches(chunked, u)
    finally:
        fastops._BLOCK = old
    assert one[0] == two[0] == pd.Series(values, dtype=object).dropna().duplicated().any()
    assert one[1][0].tolist() == two[1][0].tolist() and one[1][1].tolist() == two[1][1].tolist()
