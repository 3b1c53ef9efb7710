"""docs/notebooks.md and docs/adapting.md kept true: every column of the evaluation frame
and every key of the area object is documented, and the worked example of a copied
notebook runs through `evallib run --notebook` exactly as the page says (issue 10, point 6)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd

from evallib.params import AreaParams

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DOC = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
ADAPTING_DOC = (ROOT / "docs" / "adapting.md").read_text(encoding="utf-8")


def _documented(text: str) -> set[str]:
    """Names written as code (`name`, or the last part of `ds.area`)."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return {span.split(".")[-1].split("(")[0] for span in re.findall(r"`([^`\n]+)`", prose)}


def test_every_evaluation_frame_column_is_documented(make_dataset):
    from evallib.cohorts import build_cohort
    from evallib.outcomes.reoffending import evaluation_frame

    ds = make_dataset()
    frame = evaluation_frame(ds, build_cohort(ds, "2021-22"))
    section = NOTEBOOKS_DOC.split("## The evaluation frame")[1].split("\n## ")[0]
    missing = set(frame.columns) - _documented(section)
    assert not missing, f"docs/notebooks.md does not describe these evaluation frame columns: {sorted(missing)}"


def test_every_area_key_is_documented():
    keys = set(AreaParams.model_fields)
    assert not keys - _documented(ADAPTING_DOC.split("## The keys of an area file")[1].split("\n## ")[0])
    assert not keys - _documented(NOTEBOOKS_DOC)


def _example_cells() -> tuple[str, list[str]]:
    section = NOTEBOOKS_DOC.split("## Worked example")[1]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)
    title = next(code for lang, code in blocks if lang == "markdown")
    return title.strip(), [code.strip() for lang, code in blocks if lang == "python"]


def test_worked_example_runs_through_notebook_option(tmp_path):
    from evallib.synthetic.demo import write_demo

    data = tmp_path / "data"
    write_demo(data)
    nb = nbformat.read(ROOT / "notebooks" / "completers_vs_noncompleters.ipynb", as_version=4)
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    title, code = _example_cells()
    assert params == 1 and nb.cells[0].cell_type == "markdown"      # "keep its first two cells"
    nb.cells[0].source = title
    nb.cells = nb.cells[:2] + [nbformat.v4.new_code_cell(c) for c in code]
    copy = tmp_path / "analyses" / "reoffending_by_risk.ipynb"
    copy.parent.mkdir()
    nbformat.write(nb, copy)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "evallib", "run", "--notebook", str(copy), "--area", "leicestershire",
                           "--period", "2021-22", "--data", str(data), "--out", str(out), "--no-progress",
                           "--format", "html", "--set", "window_months=12"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = out / "leicestershire" / "2021-22" / "reoffending_by_risk"
    assert (folder / "reoffending_by_risk.html").exists()
    table = pd.read_csv(folder / "tables" / "reoffending_by_risk.csv")
    assert list(table.columns) == ["risk", "people", "reoffended"]
    shown = table["people"].dropna()
    assert ((shown == 0) | (shown >= 5)).all()          # published counts pass disclosure control
    assert "reoffending_by_risk" in (out / "index.html").read_text(encoding="utf-8")
