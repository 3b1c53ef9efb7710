"""OutputFolder: the CSV tables and results.json a notebook leaves behind."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


# --------------------------------------------------------------------------- spreadsheets
HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "\tx"]


def test_csv_cells_a_spreadsheet_would_run_are_neutralised_numbers_stay_numbers(tmp_path):
    df = pd.DataFrame({"label": [*HOSTILE, "Blaby"], "smd": [-0.26] * 6, "text_number": ["-0.26"] * 6,
                       "=1+1": [1] * 6})
    path = OutputFolder(tmp_path).table("hostile", df)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back.columns) == ["label", "smd", "text_number", "'=1+1"]
    assert list(back["label"]) == ["'" + h for h in HOSTILE] + ["Blaby"]
    assert set(back["smd"]) == {"-0.26"} and set(back["text_number"]) == {"-0.26"}  # numbers stay numbers
    assert pd.read_csv(path)["smd"].dtype.kind == "f"


def test_validate_problems_csv_has_no_formula_cells(tmp_path):
    from evallib import cli
    from tests.conftest import MINIMAL, write_tables

    bad = {**MINIMAL, "referrals": [{**MINIMAL["referrals"][0], "district": HOSTILE[0]}]}
    data = write_tables(tmp_path / "data", bad)
    assert cli.main(["validate", "--data", str(data), "--out", str(tmp_path / "problems.csv")]) == 2
    problems = pd.read_csv(tmp_path / "problems.csv", dtype=str, keep_default_na=False)
    cells = [v for c in problems.columns for v in problems[c]]
    assert "'" + HOSTILE[0] in cells
    assert not [v for v in cells if v.startswith(("=", "+", "@", "\t", "\r")) or
                (v.startswith("-") and not v.lstrip("-").replace(".", "").isdigit())]


# --------------------------------------------------------------------------- folders
class _Rule:
    def __init__(self, threshold):
        self.threshold, self.active = threshold, threshold >= 2


def _ds(make_dataset):
    return make_dataset()


def test_a_notebook_run_by_hand_writes_to_its_own_area_and_period(make_dataset, tmp_path, monkeypatch):
    from evallib import outputs

    monkeypatch.setattr(outputs, "_default_root", lambda: tmp_path / "outputs")
    ds = make_dataset()
    out = OutputFolder.for_report("", "service_outputs", ds, "2022-23Q2", _Rule(5))
    assert out.path == tmp_path / "outputs" / "interactive" / "leicestershire" / "2022-23Q2" / "service_outputs"
    results = json.loads(out.results_path.read_text())
    assert results["for_publication"] is True and "not_for_publication" not in results
    assert results["period"] == "2022-23Q2" and results["report"] == "service_outputs"
    assert out.table("t", pd.DataFrame({"a": [1]})).name == "t.csv"

    off = OutputFolder.for_report("", "service_outputs", ds, "2021-22", _Rule(0))
    assert off.path == tmp_path / "outputs" / "interactive-internal" / "leicestershire" / "2021-22" / "service_outputs"
    results = json.loads(off.results_path.read_text())
    assert results["for_publication"] is False and results["not_for_publication"].startswith("NOT FOR PUBLICATION")
    assert off.table("t", pd.DataFrame({"a": [1]})).name == "NOT_FOR_PUBLICATION-t.csv"

    given = OutputFolder.for_report(str(tmp_path / "runner"), "x", ds, "2021-22", _Rule(5))
    assert given.path == tmp_path / "runner"  # the runner's folder is used as given


def test_report_folders_cannot_lead_outside_the_root(tmp_path):
    from evallib.outputs import report_dir

    assert report_dir(tmp_path, "a", "2021-22", "r") == tmp_path / "a" / "2021-22" / "r"
    assert report_dir(tmp_path, "a", "2021-22", "r", for_publication=False) == tmp_path / "internal/a/2021-22/r"
    for bad in ("..", "../x", "a/b", ""):
        with pytest.raises(ValueError):
            report_dir(tmp_path, bad, "2021-22", "r")


# --------------------------------------------------------------------------- HTML
def test_styled_tables_show_hostile_text_as_text():
    from evallib.present import styled

    df = pd.DataFrame({"<img src=x onerror=alert(1)>": ["<script>alert(1)</script>"], "n": [-0.26]})
    html = styled(df, "<b>caption</b>", "<i>note</i>")._repr_html_()
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_hostile_labels_in_the_params_and_data_render_as_text_and_never_as_formulas(tmp_path, monkeypatch):
    """An area whose names are markup and formulas, through `evallib run` to HTML and CSV."""
    import shutil

    import yaml
    from bs4 import BeautifulSoup

    from evallib.runner import execute, plan
    from tests.conftest import write_tables

    params = tmp_path / "params"
    shutil.copytree(Path(__file__).resolve().parents[1] / "params", params)
    area = yaml.safe_load((params / "areas" / "leicestershire.yaml").read_text())
    script, img, formula = "<script>alert(1)</script>", "<img src=x onerror=alert(2)>", '=HYPERLINK("http://x","y")'
    area.update(name="hostile", display_name=img, districts=[script, "Blaby"], district_aliases={},
                groups={formula: [script, "Blaby"]})
    area["programmes"]["second_step"]["label"] = img
    (params / "areas" / "hostile.yaml").write_text(yaml.safe_dump(area))
    monkeypatch.setenv("EVALLIB_PARAMS", str(params))
    refs = [{"referral_id": f"R{i}", "person_id": f"P{i}", "referral_date": "2021-05-01",
             "district": script if i % 2 else "Blaby", "source": "self", "eligible": "yes"} for i in range(12)]
    eps = [{"episode_id": f"E{i}", "referral_id": f"R{i}", "programme": "second_step", "start_date": "2021-06-01",
            "end_date": "2021-11-30", "status": "completed"} for i in range(12)]
    data = write_tables(tmp_path / "data", {"referrals": refs, "episodes": eps}, area="hostile")
    jobs = plan(areas=["hostile"], periods=["2021-22"], notebooks=["service_outputs"], data=data,
                out=tmp_path / "out")
    report = execute(jobs, progress=False)
    assert report.ok, report.to_text()
    html = jobs[0].html_path.read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all("script") and not soup.find_all(attrs={"onerror": True})
    assert [i for i in soup.find_all("img") if not i.get("src", "").startswith("data:")] == []
    text = soup.get_text()
    assert script in text and img in text  # shown, as text
    for csv in jobs[0].out_dir.glob("tables/*.csv"):
        cells = pd.read_csv(csv, dtype=str, keep_default_na=False)
        values = [*cells.columns, *(v for c in cells.columns for v in cells[c])]
        assert "'" + formula in values or formula not in csv.read_text()
        assert not [v for v in values if v.startswith(("=", "+", "@"))], csv.name


def test_papermill_run_by_hand_leaves_published_reports_byte_identical(tmp_path, monkeypatch):
    """A notebook run outside `evallib run`, for another period and with suppression off."""
    import shutil

    import papermill
    import yaml

    from tests.conftest import MINIMAL, write_tables

    repo = Path(__file__).resolve().parents[1]
    params = tmp_path / "params"
    shutil.copytree(repo / "params", params)
    suite = yaml.safe_load((params / "suite.yaml").read_text())
    (params / "suite.yaml").write_text(yaml.safe_dump({**suite, "out": str(tmp_path / "outputs")}))
    monkeypatch.setenv("EVALLIB_PARAMS", str(params))
    published = tmp_path / "outputs" / "leicestershire" / "2021-22" / "service_outputs"
    (published / "tables").mkdir(parents=True)
    for name, text in {"service_outputs.html": "<p>published</p>", "results.json": '{"headline": "published"}',
                       "tables/referrals.csv": "district,received\nBlaby,12\n"}.items():
        (published / name).write_text(text)
    before = {p: p.read_bytes() for p in tmp_path.joinpath("outputs").rglob("*") if p.is_file()}
    data = write_tables(tmp_path / "data", MINIMAL)
    papermill.execute_notebook(str(repo / "notebooks" / "service_outputs.ipynb"), str(tmp_path / "run.ipynb"),
                               parameters={"data_dir": str(data), "period": "2021-04-01..2021-12-31",
                                           "suppress_below": 0},
                               cwd=str(repo / "notebooks"), kernel_name="python3", progress_bar=False)
    assert {p: p.read_bytes() for p in before} == before  # every published file as it was
    made = tmp_path / "outputs" / "interactive-internal" / "leicestershire" / "2021-04-01_2021-12-31" / "service_outputs"
    results = json.loads((made / "results.json").read_text())
    assert results["for_publication"] is False and results["period"] == "2021-04-01..2021-12-31"
    csvs = list(made.glob("tables/*.csv"))
    assert csvs and all(p.name.startswith("NOT_FOR_PUBLICATION-") for p in csvs)


def test_a_return_made_with_suppression_off_says_so_in_html_and_workbook(make_dataset, tmp_path):
    import openpyxl

    from evallib.reports.quarterly import quarterly_return, return_html, write_return_xlsx

    off = quarterly_return(make_dataset(), "2021-22Q1", suppress_below=0)
    assert "NOT FOR PUBLICATION" in return_html(off)
    ws = openpyxl.load_workbook(write_return_xlsx(off, tmp_path / "off.xlsx")).active
    assert ws.title == "NOT FOR PUBLICATION" and ws["A1"].value.startswith("NOT FOR PUBLICATION")
    on = quarterly_return(make_dataset(), "2021-22Q1")
    assert "NOT FOR PUBLICATION" not in return_html(on)
    ws = openpyxl.load_workbook(write_return_xlsx(on, tmp_path / "on.xlsx")).active
    assert ws.title == "Quarterly return" and "NOT FOR PUBLICATION" not in str(ws["A1"].value)
