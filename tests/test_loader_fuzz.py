"""Property-based fuzzing of the loader (issue 8): random corruptions of a valid dataset.

Whatever is done to the files (a cell replaced by nasty text, a line deleted, doubled or
cut short, bytes inserted, a header renamed, a column dropped, dataset.yaml mangled),
loading either refuses with a problem table (every row naming its file and the problem)
or returns tables that keep the whole contract, with no row dropped: so no report can
publish a number computed from data that break it. Never any other exception.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evallib import cli
from evallib.params import load_area
from evallib.schemas import FOREIGN_KEYS, TABLES, DataValidationError, load_dataset
from evallib.synthetic.demo import generate_demo, write_dataset

NASTY = ["", " ", "NaN", "null", "None", "-1", "0", "1e309", "3.5", "99999999999999999999999", "2021-02-30",
         "0000-00-00", "9999-12-31", "2030-01-01", "31/12/2021", "yes", "TRUE", "maybe", "Narnia", '"', ",", ";",
         "\t", "\n", "\r\n", "\x00", "😀", "=1+1", "R00001", "P00001", "completed", "ongoing", "self", "Blaby"]
cells = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A small valid synthetic dataset (every table), written once."""
    tables, meta = generate_demo(n_people=25, seed=3)
    return write_dataset(tables, meta, tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def original(base):
    return load_dataset(base)


def _copy(base: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    shutil.copytree(base, folder, dirs_exist_ok=True)
    return folder


@st.composite
def corruption(draw):
    """(file, operation, position fraction, text) to apply to one file of the dataset."""
    file = draw(st.sampled_from([*(f"{t}.csv" for t in TABLES), "dataset.yaml"]))
    op = draw(st.sampled_from(["cell", "cell", "cell", "delete_line", "double_line", "insert", "truncate",
                               "header", "drop_column", "delimiter", "empty"]))
    return file, op, draw(st.floats(0, 1)), draw(st.floats(0, 1)), draw(cells)


def _frame(path: Path) -> pd.DataFrame | None:
    """A CSV as text cells, or None when an earlier corruption left it unreadable as CSV."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None


def _apply(folder: Path, file: str, op: str, a: float, b: float, value: str) -> None:
    path = folder / file
    data = path.read_bytes()
    lines = data.split(b"\n")
    i = min(int(a * len(lines)), len(lines) - 1)
    if op == "cell" and file.endswith(".csv"):
        df = _frame(path)
        if df is not None and len(df):
            df.iloc[min(int(a * len(df)), len(df) - 1), min(int(b * df.shape[1]), df.shape[1] - 1)] = value
            df.to_csv(path, index=False)
        return
    if op == "cell":   # dataset.yaml: a value replaced
        lines[i] = lines[i].split(b":")[0] + b": " + value.encode("utf-8", "replace")
    elif op == "delete_line":
        del lines[i]
    elif op == "double_line":
        lines.insert(i, lines[i])
    elif op == "insert":
        pos = int(a * len(data))
        path.write_bytes(data[:pos] + value.encode("utf-8", "replace") + bytes([int(b * 255)]) + data[pos:])
        return
    elif op == "truncate":
        path.write_bytes(data[:int(a * len(data))])
        return
    elif op == "header":
        names = lines[0].split(b",")
        names[min(int(b * len(names)), len(names) - 1)] = value.encode("utf-8", "replace")
        lines[0] = b",".join(names)
    elif op == "drop_column" and file.endswith(".csv"):
        df = _frame(path)
        if df is not None and df.shape[1]:
            df.drop(columns=df.columns[min(int(b * df.shape[1]), df.shape[1] - 1)]).to_csv(path, index=False)
        return
    elif op == "delimiter":
        lines[i] = lines[i].replace(b",", b";")
    elif op == "empty":
        lines = []
    path.write_bytes(b"\n".join(lines))


def assert_keeps_contract(ds, original, cut: str = "") -> None:
    """What a loaded dataset must be, checked from the contract's declaration alone (``cut``:
    a table whose file was cut short, so may hold fewer rows)."""
    area = load_area(ds.meta.area)
    for name, table in TABLES.items():
        df = ds.tables[name]
        if name not in ds.present:
            assert df.empty
            continue
        for col in table.columns:
            s = df[col.name]
            if col.required:
                assert s.notna().all(), f"{name}.{col.name} has empty required values"
            if col.unique:
                assert not s.dropna().duplicated().any(), f"{name}.{col.name} not unique"
            allowed = (col.categories or (tuple(area.districts) if col.name == "district" else
                                          tuple(area.programmes) if col.name == "programme" else None))
            if col.kind == "category" and allowed:
                assert s.dropna().isin(allowed).all(), f"{name}.{col.name} has unknown categories"
            if col.kind == "int":
                lo = -np.inf if col.minimum is None else col.minimum
                hi = np.inf if col.maximum is None else col.maximum
                assert s.dropna().between(lo, hi).all(), f"{name}.{col.name} out of range"
            if col.kind == "date":
                limit = ds.police_extract_date if name == "police" else ds.extract_date
                assert (s.dropna() <= limit).all(), f"{name}.{col.name} after the extract date"
    for (t, c), (pt, pc) in FOREIGN_KEYS.items():
        if t in ds.present:
            assert ds.tables[t][c].dropna().isin(ds.tables[pt][pc]).all(), f"{t}.{c} does not resolve"
    e = ds.tables["episodes"]
    assert not (e["end_date"] < e["start_date"]).fillna(False).any()
    assert not (e["sessions_attended"] > e["sessions_offered"]).fillna(False).any()
    for name in ds.present & original.present - {cut}:    # nothing dropped: the same rows, give or
        assert abs(len(ds.tables[name]) - len(original.tables[name])) <= 1, f"{name} rows dropped"  # take one


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=corruption())
def test_a_corrupted_dataset_is_refused_or_keeps_the_contract(base, original, change):
    folder = _copy(base)
    try:
        _apply(folder, *change)
        try:
            ds = load_dataset(folder)
        except DataValidationError as exc:
            p = exc.problems
            assert len(p) and (p["file"].astype(str) != "").all() and (p["problem"].astype(str) != "").all()
            assert exc.to_text()
            return
        file, op = change[0], change[1]
        assert_keeps_contract(ds, original, cut=file[:-4] if op == "truncate" else "")
        if op == "cell" and file.endswith(".csv"):     # a cell changed: every row still there
            assert len(ds.tables[file[:-4]]) == len(original.tables[file[:-4]])
    finally:
        shutil.rmtree(folder)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(corruption(), min_size=1, max_size=4))
def test_validate_on_a_corrupted_dataset_exits_0_or_2_without_a_traceback(base, capsys, changes):
    folder = _copy(base)
    try:
        for change in changes:
            _apply(folder, *change)
        code = cli.main(["validate", "--data", str(folder), "--notebook", "service_outputs"])
        out = capsys.readouterr()
        assert code in (0, 2)
        assert "Traceback" not in out.out + out.err
        if code == 2:
            assert "problem" in (out.out + out.err).splitlines()[0]
    finally:
        shutil.rmtree(folder)
