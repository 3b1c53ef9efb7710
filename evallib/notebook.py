"""What a notebook's first cell needs: the dataset and outcome settings from its parameters,
and what data the notebook needs to say anything true.

Each report notebook declares the tables it cannot do without (and the optional columns
that matter to it) in its metadata, under ``evallib.needs``::

    "evallib": {"needs": {
        "tables": {"police": "proven reoffending is counted from police-recorded offences"},
        "columns": {"police.outcome_date": "an offence is proven only once its outcome is dated"}}}

A needed table must be supplied with at least one row; a needed column must hold at
least one value. ``evallib validate`` and ``evallib run`` check this before anything
runs, and :func:`load_for_notebook` checks it again inside the notebook, so a report
never publishes a rate computed from data that were not there (0% reoffending from
an absent police table).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evallib.params import OutcomeSettings, load_area
from evallib.schemas import PROBLEM_COLUMNS, TABLES, Dataset, DataValidationError, supplied_tables
from evallib.snapshot import load_validated

__all__ = ["Needs", "notebook_needs", "needs_problems", "load_for_notebook"]


@dataclass(frozen=True)
class Needs:
    """The data a notebook needs: ``tables`` and ``columns`` (``table.column``), each
    mapped to why, in words a data provider understands."""

    notebook: str
    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[str]:
        """One line per need, for ``evallib notebooks NAME``."""
        return ([f"{t} (with at least one row): {why}" for t, why in self.tables.items()]
                + [f"{c} (filled in): {why}" for c, why in self.columns.items()])


def notebook_needs(notebook: str | Path) -> Needs:
    """Read a notebook's declared needs (none declared: an empty :class:`Needs`).

    Raises
    ------
    ValueError
        If the declaration names a table or column the data contract does not have.
    """
    import json

    path = Path(notebook)
    if path.suffix != ".ipynb":
        from evallib.runner import resolve_notebook

        path = resolve_notebook(str(notebook))
    # Plain JSON, not nbformat: only the metadata is read, and nbformat's validator
    # imports jsonschema's format checkers (about a second in every report's kernel).
    metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    declared = metadata.get("evallib", {}).get("needs", {})
    needs = Needs(path.stem, dict(declared.get("tables", {})), dict(declared.get("columns", {})))
    unknown = [t for t in needs.tables if t not in TABLES] + [
        c for c in needs.columns
        if c.partition(".")[0] not in TABLES or c.partition(".")[2] not in TABLES[c.partition(".")[0]].names]
    if unknown:
        raise ValueError(f"{path}: metadata evallib.needs names {unknown}, not in the data contract "
                         "(tables as in docs/data-dictionary.md; columns as table.column)")
    return needs


def needs_problems(ds: Dataset | Path, needs: Iterable[Needs]) -> pd.DataFrame:
    """Problem rows (as :func:`evallib.schemas.validate_dataset` gives) for every need of
    the given notebooks that the dataset does not meet; empty when all are met.

    Given a folder rather than a loaded dataset (one that does not load), only the
    tables not supplied at all are found."""
    if isinstance(ds, Path):
        from types import SimpleNamespace

        present = supplied_tables(ds)
        ds = SimpleNamespace(folder=ds, present=present, files={}, tables={t: [None] for t in present})
        needs = [Needs(n.notebook, n.tables) for n in needs]
    rows = []
    for need in needs:
        leave_out = (f"or leave the report {need.notebook} out of the run (choose the reports to run with "
                     "--notebook)")
        for table, why in need.tables.items():
            name = ds.files[table].name if table in ds.files else f"{table}.csv"
            if table not in ds.present:
                rows.append([name, "", "", "", f"the report {need.notebook} needs the {table} table ({why}), "
                             "and none was supplied",
                             f"supply {table}.csv, .xlsx or .parquet in {ds.folder}, {leave_out}"])
            elif len(ds.tables[table]) == 0:
                rows.append([name, "", "", "", f"the {table} table has no rows, and the report "
                             f"{need.notebook} needs them ({why})", f"export the {table} records again, {leave_out}"])
        for column, why in need.columns.items():
            table, _, col = column.partition(".")
            if table in ds.present and len(ds.tables[table]) and ds.tables[table][col].isna().all():
                rows.append([ds.files[table].name, col, "", "", f"{col} is empty or missing, and the report "
                             f"{need.notebook} needs it ({why})",
                             f"fill in {col} ({TABLES[table].column(col).meaning}), {leave_out}"])
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS)


def load_for_notebook(data_dir: str, area: str, *, notebook: str | None = None,
                      **outcome_overrides) -> tuple[Dataset, OutcomeSettings]:
    """Load a dataset for a notebook; write the demo dataset first if a demo folder is missing.

    ``notebook`` (the notebook's own name) checks the data it declares it needs
    (:func:`notebook_needs`), raising :class:`~evallib.schemas.DataValidationError` if
    they are not met. ``outcome_overrides`` (window_months, waiting_months, index_date,
    ...) replace the area's outcome settings. A demo folder that does not exist yet
    (``demo-data``, ``demo-data-<area>`` or a service subfolder of it:
    :func:`evallib.synthetic.folders.demo_folder`) is created with the area's demo dataset, so
    *Run All* works on a fresh clone.
    The dataset is validated once and then read from a snapshot (:mod:`evallib.snapshot`)
    while its files are unchanged.
    """
    folder = Path(data_dir)
    params = load_area(area)
    if not folder.exists():
        from evallib.synthetic.demo import write_demo
        from evallib.synthetic.folders import demo_folder

        root = demo_folder(folder, area)
        if root is not None:
            write_demo(root, area=area)
    ds = load_validated(folder, params)   # validated once per run, then read from a snapshot
    if notebook:
        problems = needs_problems(ds, [notebook_needs(notebook)])
        if len(problems):
            raise DataValidationError(problems, folder)
    settings = params.outcomes.model_copy(update={k: v for k, v in outcome_overrides.items() if v is not None})
    settings = OutcomeSettings.model_validate(settings.model_dump())
    return ds, settings
