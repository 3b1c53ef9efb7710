"""Long-lived workers and warm kernels (evallib.workers).

One worker process serves job after job, but every notebook gets a kernel of its own
(a global set by one report is absent in the next); a worker killed mid-run fails only
its own job and a fresh one runs the rest; no kernel or worker is left after a run.
The notebooks here need no data and print what they saw, so the tests are quick.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import psutil
import yaml

from evallib.runner import execute, plan

PARAMETERS = ('area: str = "leicestershire"\nperiod: str = "2021-22"\ndata_dir: str = "."\n'
              'output_dir: str = ""')


def notebook(folder: Path, name: str, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    params = nbformat.v4.new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, nbformat.v4.new_code_cell(source)]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def run(folder: Path, notebooks: list[Path], n_jobs: int = 1):
    suite = {"data": str(folder / "data"), "out": str(folder / "out"), "formats": ["html"],
             "runs": [{"area": "leicestershire", "periods": ["2021-22"], "notebooks": [str(n) for n in notebooks]}]}
    (folder / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    return execute(plan(folder / "suite.yaml"), n_jobs=n_jobs, progress=False)


def printed(result) -> dict:
    """What the notebook's last cell printed (one JSON line), and its execution count."""
    cell = nbformat.read(result.outputs["ipynb"], as_version=4).cells[-1]
    return {**json.loads(cell.outputs[0]["text"]), "count": cell.execution_count}


def left_over(folder: Path, wait: float = 10.0) -> list[str]:
    """Kernels and workers of the run in ``folder`` still running after ``wait`` seconds
    (a kernel whose worker was killed notices within a second or so and exits)."""
    def ours():
        found = []
        for p in psutil.process_iter(["cmdline"]):
            line = " ".join(p.info["cmdline"] or [])
            if str(folder) in line and ("ipykernel_launcher" in line or "evallib.workers" in line):
                found.append(line)
        return found
    deadline = time.monotonic() + wait
    while (found := ours()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


SEES = ("import json, os\nprint(json.dumps({'leak': 'LEAK' in globals(), 'kernel': os.getpid(), 'cwd': os.getcwd(), "
        "'pandas_first': 'pandas' in __import__('sys').modules}))")


def test_one_worker_serves_every_job_each_in_a_kernel_of_its_own(tmp_path):
    sets = notebook(tmp_path, "sets", "LEAK = 1\n" + SEES)
    checks = notebook(tmp_path, "checks", SEES)
    (tmp_path / "elsewhere").mkdir()
    again = notebook(tmp_path / "elsewhere", "again", SEES)  # the kernel warmed in the wrong folder: a fresh one
    report = run(tmp_path, [sets, checks, again])
    assert report.ok, report.to_text()
    assert len({r.worker_pid for r in report.results}) == 1  # one worker process for the run
    seen = [printed(r) for r in report.results]
    assert [s["leak"] for s in seen] == [True, False, False]  # a global of one report is not in the next
    assert len({s["kernel"] for s in seen}) == 3  # a kernel per notebook
    # the warm-up is silent: the parameters 1, the injected parameters 2, this cell 3
    assert [s["count"] for s in seen] == [3, 3, 3]
    assert seen[1]["pandas_first"]  # a warmed kernel had pandas imported before the notebook ran
    assert [s["cwd"] for s in seen] == [str(tmp_path)] * 2 + [str(tmp_path / "elsewhere")]  # its own folder
    assert not left_over(tmp_path)
    assert not (tmp_path / "out" / ".evallib-work").exists()


def test_a_killed_worker_fails_only_its_job_and_a_fresh_worker_runs_the_rest(tmp_path):
    first = notebook(tmp_path, "first", SEES)
    kills = notebook(tmp_path, "kills", "import os, signal\nprint('about to end my worker')\n"
                                        "os.kill(os.getppid(), signal.SIGKILL)")
    raises = notebook(tmp_path, "raises", "raise ValueError('on purpose')")
    exits = notebook(tmp_path, "exits", "import os\nos._exit(3)")  # the kernel dies, not the worker
    last = notebook(tmp_path, "last", SEES)
    report = run(tmp_path, [first, kills, raises, exits, last])
    assert [r.ok for r in report.results] == [True, False, False, False, True], report.to_text()
    failed = report.results[1]
    assert failed.ename == "WorkerError" and "exit code -9" in failed.evalue
    assert (failed.job.failed_dir / "error.txt").exists()
    assert report.results[2].ename == "ValueError"
    assert report.results[3].ename != "WorkerError"  # a dead kernel fails its notebook in a live worker
    pids = [r.worker_pid for r in report.results]
    assert pids[0] != pids[2] and pids[2] == pids[3] == pids[4]  # a fresh worker took over, and stayed
    assert not printed(report.results[4])["leak"]
    assert not left_over(tmp_path)


def test_two_workers_share_the_jobs(tmp_path):
    books = [notebook(tmp_path, f"nb{i}", SEES) for i in range(4)]
    report = run(tmp_path, books, n_jobs=2)
    assert report.ok, report.to_text()
    assert 1 <= len({r.worker_pid for r in report.results}) <= 2  # never more workers than jobs at once
    assert len({printed(r)["kernel"] for r in report.results}) == 4
    assert not left_over(tmp_path)


def test_warm_imports_leave_the_notebook_the_matplotlib_it_would_have_had(tmp_path):
    """The warm-up must not pick a matplotlib backend (pyplot, or evallib.figures' Agg):
    a fresh kernel would still be on the inline backend, with figure display set up."""
    import subprocess
    import sys

    from evallib.workers import FIGURE_IMPORTS, WARM_IMPORTS

    code = ("import sys\n" + "".join(f"import {m}\n" for m in WARM_IMPORTS + FIGURE_IMPORTS)
            + "print('matplotlib.pyplot' in sys.modules, 'evallib.figures' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
