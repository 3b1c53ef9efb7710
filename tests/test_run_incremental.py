"""Incremental runs and the Dask executor, end to end on the demo data.

An unchanged rerun reuses every report (and says so in the run log and the index); a
changed input makes the report again; ``--force`` makes everything again; the Dask
executor on a 2-worker LocalCluster gives the same tables and results as a local run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evallib import runner
from evallib.synthetic.demo import write_demo

ARGS = ["--notebook", "service_outputs", "--format", "html", "--no-progress"]
TWO = ["--period", "2021-22", "--period", "2022-04-01..2022-11-30"]


def _run(data: Path, out: Path, *extra: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "evallib", "run", "--data", str(data), "--out", str(out),
                           *ARGS, *extra], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = json.loads((out / "run-log.json").read_text())
    return {"reused": [r["reused"] for r in log["results"]], "stdout": proc.stdout}


def _published(out: Path) -> dict[str, bytes]:
    """Tables and results of every report (what a local and a cluster run must share)."""
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file() and (p.suffix == ".csv" or p.name == "results.json")}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    data = write_demo(root / "data")
    first = _run(data, root / "out", *TWO)
    return data, root / "out", first


def test_cold_run_makes_every_report(local):
    _, out, first = local
    assert first["reused"] == [False, False]
    assert len(list(out.glob("leicestershire/*/service_outputs/.service_outputs.evallib-key"))) == 2


def test_unchanged_rerun_reuses_every_report_and_says_so(local):
    data, out, _ = local
    again = _run(data, out, *TWO)
    assert again["reused"] == [True, True]
    assert "2 reused" in again["stdout"]
    assert "Reused by the run of" in (out / "index.html").read_text()


def test_an_unchanged_rerun_does_not_load_the_notebook_machinery(local):
    """What a rerun costs is mostly imports: papermill (with nbclient and jupyter_client)
    is not imported when nothing is to be made (notebook parameters are remembered by
    content), nor nbformat."""
    data, out, _ = local
    code = ("import sys; from evallib.cli import main; "
            f"rc = main(['run', '--data', {str(data)!r}, '--out', {str(out)!r}, *{ARGS!r}, *{TWO!r}]); "
            "print('RC', rc, sorted(m for m in ('papermill', 'nbformat', 'nbclient') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "RC 0 []" in proc.stdout, proc.stdout + proc.stderr


def test_dask_executor_gives_the_same_outputs(local, tmp_path):
    data, out, _ = local
    cluster = _run(data, tmp_path / "dask", *TWO, "--executor", "dask", "--jobs", "2")
    assert cluster["reused"] == [False, False]
    mine, theirs = _published(out), _published(tmp_path / "dask")
    assert len(mine) > 5 and mine == theirs


def test_a_changed_dataset_or_force_makes_reports_again(local):
    data, out, _ = local
    meta = data / "dataset.yaml"
    meta.write_text(meta.read_text().replace("Not real people.", "Not real people (edited)."))
    one = ["--period", "2021-22"]      # (one report is enough here: runs are slow)
    assert _run(data, out, *one)["reused"] == [False]
    assert _run(data, out, *one)["reused"] == [True]
    assert _run(data, out, *one, "--force")["reused"] == [False]


def test_scheduler_needs_the_dask_executor(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "evallib", "run", "--scheduler", "tcp://127.0.0.1:1",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2 and "--executor dask" in proc.stderr


def test_keys_differ_by_job_and_by_format(tmp_path):
    suite = runner.load_suite()
    jobs = runner.plan(suite, notebooks=["service_outputs"], periods=["2021-22"], out=str(tmp_path),
                       data=str(tmp_path))
    html, pdf = runner.job_keys(jobs, ["html"]), runner.job_keys(jobs, ["html", "pdf"])
    assert len(set(html)) == len(jobs) and set(html).isdisjoint(pdf)
