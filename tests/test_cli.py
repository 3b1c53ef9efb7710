"""The ``evallib`` command, as a user meets it: help with examples, plain errors with
exit code 2 and no traceback, the problem table of a bad dataset, and one full run.

Commands that users run are tested as real subprocesses (the installed console
script and ``python -m evallib``); argument handling is tested in-process with
``main(argv)``. One full run executes the two fixture notebooks (one fails).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from evallib import __version__, cli, runner

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
OK = FIXTURES / "ok_report.ipynb"
FAILING = FIXTURES / "failing.ipynb"
EVALLIB = Path(sys.executable).parent / "evallib"  # the console script of this venv

REFERRALS = """\
referral_id,person_id,referral_date,district,source,eligible
R1,P1,2021-05-03,Blaby,police,true
R2,P2,2021-07-19,Leicester City,self,yes
R3,P3,2022-01-10,Rutland,probation,no
"""
EPISODES = """\
episode_id,referral_id,programme,start_date,end_date,status
E1,R1,second_step,2021-06-01,2021-11-30,completed
E2,R2,one_to_one,2021-08-02,2021-10-01,disengaged
"""
# three problems: no `source` column, an impossible date, a district not in the area
BAD_REFERRALS = """\
referral_id,person_id,referral_date,district,eligible
R1,P1,2021-05-03,Blaby,true
R2,P2,2021-13-45,Leicester City,yes
R3,P3,2022-01-10,Atlantis,no
"""


def write_dataset(folder: Path, referrals: str = REFERRALS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yaml").write_text(
        "area: leicestershire\nextract_date: 2023-06-30\ndescription: tiny test extract\n")
    (folder / "referrals.csv").write_text(referrals, encoding="utf-8")
    (folder / "episodes.csv").write_text(EPISODES, encoding="utf-8")
    return folder


def write_suite(folder: Path, notebooks=(OK,), data: Path | None = None) -> Path:
    suite = {"data": str(data or folder / "data"), "out": str(folder / "out"), "formats": ["html"],
             "runs": [{"area": "leicestershire", "periods": ["2021-22"],
                       "notebooks": [str(n) for n in notebooks]}]}
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path


def shell(*args: str, command=(sys.executable, "-m", "evallib"), cwd=None):
    proc = subprocess.run([*map(str, command), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


# --------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", ["", "run", "validate", "synth", "areas", "notebooks"])
def test_help_of_every_command_shows_examples(command, capsys):
    argv = [command, "--help"] if command else ["--help"]
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert re.search(rf"^\s+evallib {command}", out, re.MULTILINE)


def test_run_help_teaches_period_forms(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    for text in ("2021-22", "2023-24Q3", "2022-04-01..2022-11-30", "--format html,pdf", "--set"):
        assert text in out


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"evallib {__version__}"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "evallib validate --data" in capsys.readouterr().out


# --------------------------------------------------------------------------- validate
def test_validate_lists_all_problems_in_one_table(tmp_path):
    assert EVALLIB.exists(), f"the evallib command is not installed in {EVALLIB.parent}"
    data = write_dataset(tmp_path / "bad", BAD_REFERRALS)
    code, out, err = shell("validate", "--data", data, "--notebook", "service_outputs", command=[EVALLIB])
    assert code == 2
    assert "Traceback" not in out + err
    assert "3 problems" in out
    lines = out.splitlines()
    # one line per problem, naming file, column, row and value, each followed by its fix
    assert "referrals.csv, column source: required column is missing" in lines[1]
    assert "referrals.csv, column referral_date, row 3, value '2021-13-45': not a date" in out
    assert "referrals.csv, column district, row 4, value 'Atlantis': not a known category" in out
    assert [line.strip().startswith("fix: ") for line in lines[2:7:2]] == [True] * 3


def test_validate_writes_the_problems_to_csv(tmp_path, capsys):
    data = write_dataset(tmp_path / "bad", BAD_REFERRALS)
    assert cli.main(["validate", "--data", str(data), "--out", str(tmp_path / "p.csv"),
                     "--notebook", "service_outputs"]) == 2
    rows = (tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "file,column,row,value,problem,fix" and len(rows) == 4


def test_validate_a_good_dataset_counts_rows(tmp_path, capsys):
    data = write_dataset(tmp_path / "good")
    assert cli.main(["validate", "--data", str(data), "--notebook", "service_outputs"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == (f"No problems in {data} (area leicestershire): referrals 3 rows, episodes 2 rows.\n"
                   "It holds what these reports need: service_outputs.")


def test_validate_a_missing_folder_exits_2(tmp_path, capsys):
    assert cli.main(["validate", "--data", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- run: refused
def test_bad_period_exits_2_showing_the_right_forms(tmp_path):
    suite = write_suite(tmp_path)
    code, out, err = shell("run", "--suite", suite, "--period", "2021/22")
    assert code == 2
    assert "Traceback" not in out + err
    assert "period '2021/22' is not a form the suite reads" in err
    for form in ("2021-22", "2023-24Q3", "2022-04-01..2022-11-30"):
        assert form in err


@pytest.mark.parametrize("args, expected", [
    (["--set", "window_monthz=24"], "has no parameter 'window_monthz' (did you mean 'window_months'?)"),
    (["--set", "window_months=two"], "window_months takes a int"),
    (["--notebook", "no_such_notebook"], "no notebook 'no_such_notebook'"),
    (["--area", "atlantis"], "no area called 'atlantis'"),
    (["--period", "2021-23"], "must be followed by 22"),
])
def test_user_errors_exit_2_with_a_message(tmp_path, capsys, args, expected):
    suite = write_suite(tmp_path, data=write_dataset(tmp_path / "data"))
    assert cli.main(["run", "--suite", str(suite), *args]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert captured.err.startswith("error: ")
    assert not (tmp_path / "out").exists()  # nothing was run


def test_bad_arguments_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["run", "--format", "docx"])
    assert done.value.code == 2
    assert "choose from html, pdf" in capsys.readouterr().err


def test_run_with_an_invalid_dataset_prints_problems_and_runs_nothing(tmp_path, capsys):
    data = write_dataset(tmp_path / "bad", BAD_REFERRALS)
    suite = write_suite(tmp_path, data=data)
    assert cli.main(["run", "--suite", str(suite), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "3 problems" in err and "Atlantis" in err and "Nothing was run" in err
    assert "evallib validate --data" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- demo data
@pytest.fixture
def fake_demo(monkeypatch):
    """Stand-in for evallib.synthetic.demo.write_demo (the real one is tested with it)."""
    calls = []

    def write_demo(out_dir, area, seed=12345):
        calls.append({"out_dir": Path(out_dir), "area": area, "seed": seed})
        write_dataset(Path(out_dir))

    module = types.ModuleType("evallib.synthetic.demo")
    module.write_demo = write_demo
    monkeypatch.setitem(sys.modules, "evallib.synthetic.demo", module)
    return calls


def test_synth_writes_the_demo_dataset(tmp_path, capsys, fake_demo):
    assert cli.main(["synth", "--area", "leicestershire", "--out", str(tmp_path / "d"), "--seed", "7"]) == 0
    assert fake_demo == [{"out_dir": tmp_path / "d", "area": "leicestershire", "seed": 7}]
    assert "evallib validate --data" in capsys.readouterr().out
    assert cli.main(["synth", "--area", "atlantis", "--out", str(tmp_path / "e")]) == 2


def test_run_writes_missing_demo_data_first_then_validates(tmp_path, capsys, fake_demo, monkeypatch):
    executed = []
    monkeypatch.setattr(runner, "execute", lambda jobs, **kw: executed.append(jobs) or runner.RunReport([]))
    demo = tmp_path / "demo-data"
    suite = write_suite(tmp_path, data=demo)
    assert cli.main(["run", "--suite", str(suite), "--no-progress"]) == 0
    assert [c["out_dir"] for c in fake_demo] == [demo]
    assert (demo / "referrals.csv").exists()
    assert [j.data_dir for j in executed[0]] == [demo]
    # a missing folder that is not the suite's demo folder is an error, never demo data
    assert cli.main(["run", "--suite", str(suite), "--data", str(tmp_path / "extract")]) == 2
    assert len(fake_demo) == 1
    assert "no such folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- listing
def test_areas_lists_the_params_files(capsys):
    assert cli.main(["areas"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"leicestershire\s+Leicester, Leicestershire & Rutland: 9 districts", out)


def test_notebooks_shows_a_notebooks_settings(capsys):
    assert cli.main(["notebooks", str(OK)]) == 0
    out = capsys.readouterr().out
    assert "window_months (int) = 12" in out and "outcome window in months" in out
    assert "suppress_below (int) = -1  [set by evallib run]" in out


# --------------------------------------------------------------------------- full run
def test_run_end_to_end_reports_the_failure_and_makes_the_rest(tmp_path):
    data = write_dataset(tmp_path / "extract")
    suite = write_suite(tmp_path, notebooks=(OK, FAILING))
    out = tmp_path / "reports"
    code, stdout, stderr = shell(
        "run", "--suite", suite, "--data", data, "--out", out, "--jobs", "2", "--no-progress",
        "--suppress-below", "7", command=[EVALLIB])
    assert code == 1, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "FAILED  leicestershire 2021-22 failing" in stdout
    assert "cell 3 of" in stdout and "ValueError: fixture failure in cell three" in stdout
    assert "1 of 2 report(s) made; 1 failed." in stdout
    assert f"Open the reports from: {out / 'index.html'}" in stdout
    job_dir = out / "leicestershire" / "2021-22" / "ok_report"
    html = (job_dir / "ok_report.html").read_text(encoding="utf-8")
    assert "suppress below 7" in html  # the option reached the notebook
    assert json.loads((job_dir / "results.json").read_text())["people"] == 15
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="leicestershire/2021-22/ok_report/ok_report.html"' in index
    log = json.loads((out / "run-log.json").read_text())
    assert [(r["notebook"].split("/")[-1], r["ok"], r["cell"]) for r in log["results"]] == [
        ("ok_report.ipynb", True, None), ("failing.ipynb", False, 3)]


def test_suite_default_pdf_is_skipped_without_chromium(tmp_path, monkeypatch):
    """PDFs from the suite's defaults are optional; the run still makes HTML when Chromium is absent."""
    from evallib import cli, runner

    def missing():
        raise runner.ChromiumNotFoundError("no browser")

    seen = {}

    def fake_execute(jobs, **kw):
        seen["formats"] = kw["formats"]
        return runner.RunReport([])

    monkeypatch.setattr(runner, "find_chromium", missing)
    monkeypatch.setattr(runner, "execute", fake_execute)
    from tests.conftest import MINIMAL, write_tables
    data = write_tables(tmp_path / "d", MINIMAL)
    code = cli.main(["run", "--data", str(data), "--out", str(tmp_path / "o"), "--period", "2021-22",
                     "--notebook", "service_outputs", "--no-progress"])
    assert code == 0 and seen["formats"] == ("html",)
