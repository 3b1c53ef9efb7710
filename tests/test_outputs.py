"""OutputFolder: the CSV tables and results.json a notebook leaves behind."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from evallib.outputs import OutputFolder, json_safe


def test_folder_is_created_and_absolute(tmp_path):
    out = OutputFolder(tmp_path / "a" / "b")
    assert out.path.is_dir()
    assert out.path.is_absolute()
    assert out.path == (tmp_path / "a" / "b").resolve()


def test_table_writes_utf8_csv_without_index(tmp_path):
    out = OutputFolder(tmp_path)
    df = pd.DataFrame({"district": ["Blaby", "Hinckley – Bosworth"], "n": [3, 12]}, index=[7, 8])
    path = out.table("by_district", df)
    assert path == out.path / "tables" / "by_district.csv"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "district,n"
    assert "Hinckley – Bosworth,12" in text
    assert "7" not in text.splitlines()[1]  # the index is not written
    pd.testing.assert_frame_equal(pd.read_csv(path), df.reset_index(drop=True))


def test_table_keeps_a_named_index(tmp_path):
    df = pd.DataFrame({"n": [1, 2]}, index=pd.Index(["CITY", "COUNTY"], name="group"))
    path = OutputFolder(tmp_path).table("groups.csv", df)
    assert path.name == "groups.csv"
    assert path.read_text(encoding="utf-8").splitlines() == ["group,n", "CITY,1", "COUNTY,2"]


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", " spaced"])
def test_table_refuses_unsafe_names(tmp_path, bad):
    with pytest.raises(ValueError, match="letters, digits"):
        OutputFolder(tmp_path).table(bad, pd.DataFrame({"a": [1]}))


def test_results_are_json_safe_and_merged(tmp_path):
    out = OutputFolder(tmp_path)
    out.results({"headline": "12 people", "n": np.int64(12), "rate": np.float64("nan"),
                 "when": pd.Timestamp("2023-03-31"), "day": dt.date(2022, 4, 1),
                 "missing": pd.NA, "flag": np.bool_(True), "share": np.float32(0.25)})
    path = out.results({"n": 13, "by_group": pd.Series({"CITY": np.int64(4)})})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {"headline": "12 people", "n": 13, "rate": None, "when": "2023-03-31",
                    "day": "2022-04-01", "missing": None, "flag": True, "share": 0.25,
                    "by_group": {"CITY": 4}}
    assert "NaN" not in path.read_text(encoding="utf-8")


def test_results_from_parallel_writers_are_all_kept(tmp_path):
    out = OutputFolder(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: OutputFolder(tmp_path).results({f"k{i}": i}), range(40)))
    data = json.loads(out.results_path.read_text(encoding="utf-8"))
    assert data == {f"k{i}": i for i in range(40)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_json_safe_datetime_keeps_time_and_refuses_unknown_objects():
    assert json_safe(pd.Timestamp("2023-01-02 10:30")) == "2023-01-02T10:30:00"
    assert json_safe({"x": [np.int16(1), float("inf"), pd.NaT]}) == {"x": [1, None, None]}
    with pytest.raises(TypeError, match=r"results\.model"):
        json_safe({"model": object()})


def test_results_file_is_readable_by_others(tmp_path):
    path = OutputFolder(tmp_path).results({"a": 1})
    assert path.stat().st_mode & 0o644 == 0o644


def test_results_merge_nested_headlines(tmp_path):
    from evallib.outputs import OutputFolder

    out = OutputFolder(tmp_path)
    out.results({"headline": "main", "headlines": {"a": "first"}})
    out.results({"headlines": {"b": "second"}})
    import json
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["headline"] == "main" and data["headlines"] == {"a": "first", "b": "second"}
