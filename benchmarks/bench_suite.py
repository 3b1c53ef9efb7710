"""The default suite against its floor: cold run, unchanged rerun, and two jobs at a time.

Not a test (timings vary by machine and load): run it to see ratios measured in one run.

    .venv/bin/python benchmarks/bench_suite.py [--repeat 1] [--format html,pdf]

In a temporary folder it writes the demo dataset, then times, alternating so that every
measurement sees the same machine load:

- **cold**: ``evallib run`` of the default suite into an empty output folder;
- **rerun**: the same command again, nothing changed (an incremental run reuses every
  report; without that, everything is made again);
- **jobs 2**: ``evallib run --jobs 2`` into another empty folder;
- **floor**: the least any runner could do for the same number of reports: per report,
  a bare papermill run of a notebook that only imports pandas, statsmodels, matplotlib
  and scipy, a bare nbconvert HTML export and, with PDFs, one headless Chromium print.

It prints each time and the ratios: cold / floor, rerun / cold, jobs 2 / cold.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR_NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "imports", "metadata": {}, "outputs": [],
               "source": ["import pandas, statsmodels.api, matplotlib.pyplot, scipy.stats\n", "print('ok')"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def _evallib(*args: str) -> float:
    start = time.perf_counter()
    extra = ["--no-progress"] if args[0] == "run" else []
    proc = subprocess.run([sys.executable, "-m", "evallib", *args, *extra], capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"evallib {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return took


def _floor(n: int, work: Path, pdf: bool) -> float:
    """``n`` bare papermill runs + nbconvert exports (+ Chromium PDFs), in one process."""
    import json

    work.mkdir(parents=True, exist_ok=True)
    nb = work / "floor.ipynb"
    nb.write_text(json.dumps(FLOOR_NOTEBOOK))
    script = f"""
import subprocess, papermill, nbformat
from nbconvert import HTMLExporter
from evallib.runner import find_chromium
exe = find_chromium() if {pdf!r} else None
for i in range({n}):
    out = r"{work}/run%d.ipynb" % i
    papermill.execute_notebook(r"{nb}", out, kernel_name="python3", progress_bar=False)
    html, _ = HTMLExporter().from_notebook_node(nbformat.read(out, as_version=4))
    page = r"{work}/run%d.html" % i
    open(page, "w").write(html)
    if exe:
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                        "--print-to-pdf=" + page + ".pdf", "file://" + page], capture_output=True, check=True)
"""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="rounds (medians are reported)")
    parser.add_argument("--format", default="html", help="html or html,pdf (PDFs need Chromium)")
    args = parser.parse_args(argv)
    pdf = "pdf" in args.format
    times: dict[str, list[float]] = {"cold": [], "rerun": [], "jobs 2": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        tmp = Path(tmp)
        _evallib("synth", "--out", str(tmp / "data"))
        n_reports = 0
        for r in range(args.repeat):
            cold, two = tmp / f"cold{r}", tmp / f"two{r}"
            times["cold"].append(_evallib("run", "--data", str(tmp / "data"), "--out", str(cold),
                                          "--format", args.format))
            n_reports = len(list(cold.rglob("*.ipynb")))
            times["floor"].append(_floor(n_reports, tmp / f"floor{r}", pdf))
            times["rerun"].append(_evallib("run", "--data", str(tmp / "data"), "--out", str(cold),
                                           "--format", args.format))
            times["jobs 2"].append(_evallib("run", "--data", str(tmp / "data"), "--out", str(two),
                                            "--format", args.format, "--jobs", "2"))
            for d in (two, tmp / f"floor{r}"):
                shutil.rmtree(d, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"default suite, {n_reports} reports ({args.format}); {platform.machine()}, {os.cpu_count()} cores; "
          f"medians of {args.repeat}")
    for k, v in med.items():
        print(f"  {k:<8}{v:8.1f} s")
    print(f"cold / floor:   {med['cold'] / med['floor']:.2f}x")
    print(f"rerun / cold:   {med['rerun'] / med['cold']:.2f}x")
    print(f"jobs 2 / cold:  {med['jobs 2'] / med['cold']:.2f}x")


if __name__ == "__main__":
    main()
