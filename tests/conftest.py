"""Shared fixtures: tiny hand-made datasets written in the contract's format."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import settings

from evallib.schemas import load_dataset

# CI runs every property test on the same examples (no flaky reds); locally they explore.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


MINIMAL = {
    "referrals": [
        {"referral_id": "R1", "person_id": "P1", "referral_date": "2021-05-01", "district": "Blaby",
         "source": "self", "eligible": "yes"},
    ],
    "episodes": [
        {"episode_id": "E1", "referral_id": "R1", "programme": "second_step", "start_date": "2021-06-01",
         "end_date": "2021-11-30", "status": "completed"},
    ],
}


def write_tables(folder: Path, tables: dict[str, list[dict] | pd.DataFrame], *,
                 area: str = "leicestershire", extract_date: str = "2024-06-30",
                 police_extract_date: str | None = "2024-06-30", fmt: str = "csv") -> Path:
    """Write tables (lists of row dicts or DataFrames) and a dataset.yaml into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"area": area, "extract_date": extract_date, "description": "test dataset"}
    if police_extract_date:
        meta["police_extract_date"] = police_extract_date
    (folder / "dataset.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    for name, rows in tables.items():
        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        elif fmt == "xlsx":
            df.to_excel(folder / f"{name}.xlsx", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture
def make_dataset(tmp_path):
    """Factory: ``make_dataset(tables, **meta)`` writes and loads a dataset."""
    counter = {"n": 0}

    def _make(tables=None, load=True, **kw):
        counter["n"] += 1
        folder = write_tables(tmp_path / f"ds{counter['n']}", tables or MINIMAL, **kw)
        return load_dataset(folder) if load else folder

    return _make


def run_demo_suite(root: Path, *args: str, data: Path | None = None) -> tuple[Path, Path]:
    """Write the demo dataset under ``root`` and run ``evallib run`` on it as a user would.

    ``data``: an existing dataset folder to use instead of writing the demo again.
    Reports are in ``out/<area>/<period>/<report>/`` (see docs/running.md).
    Returns ``(data, out)``; fails with the command's output if it does not exit 0.
    """
    import subprocess
    import sys

    from evallib.synthetic.demo import write_demo

    out = root / "out"
    if data is None:
        data = root / "data"
        write_demo(data)
    proc = subprocess.run([sys.executable, "-m", "evallib", "run", "--data", str(data), "--out", str(out),
                           "--no-progress", *args], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert str(out / "index.html") in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
    return data, out
