"""Every notebook: committed without outputs, parameters the runner can read, in the suite."""

from pathlib import Path

import nbformat
import pytest

from evallib.params import load_suite
from evallib.runner import notebook_parameters

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
REQUIRED = {"area", "period", "data_dir", "output_dir", "suppress_below"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs before committing"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    params = notebook_parameters(path)
    assert REQUIRED <= set(params), f"missing parameters: {REQUIRED - set(params)}"
    for name, p in params.items():
        assert p["inferred_type_name"] not in ("None", ""), f"{name} has no type"
        assert p["help"], f"{name} has no help comment"


def test_every_suite_notebook_exists():
    names = {p.stem for p in NOTEBOOKS}
    for run in load_suite().runs:
        assert set(run.notebooks) <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_declares_the_data_it_needs_and_checks_it(path):
    from evallib.notebook import notebook_needs

    needs = notebook_needs(path)          # names only contract tables and columns, or raises
    assert needs.tables, "declare the tables the report needs in metadata evallib.needs"
    nb = nbformat.read(path, as_version=4)
    assert any(f'notebook="{path.stem}"' in c.source for c in nb.cells if c.cell_type == "code"), \
        "the notebook should load its data with load_for_notebook(..., notebook=NAME) so it checks its needs"


def test_the_evaluation_needs_dated_police_outcomes():
    from evallib.notebook import notebook_needs

    needs = notebook_needs("completers_vs_noncompleters")
    assert "police" in needs.tables and "police.outcome_date" in needs.columns
