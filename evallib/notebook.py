"""What a notebook's first cell needs: the dataset and outcome settings from its parameters."""

from __future__ import annotations

from pathlib import Path

from evallib.params import OutcomeSettings, load_area
from evallib.schemas import Dataset
from evallib.snapshot import load_validated

__all__ = ["load_for_notebook"]


def load_for_notebook(data_dir: str, area: str, **outcome_overrides) -> tuple[Dataset, OutcomeSettings]:
    """Load a dataset for a notebook; write the demo dataset first if a demo folder is missing.

    ``outcome_overrides`` (window_months, waiting_months, index_date, ...) replace the
    area's outcome settings. A folder named ``demo-data`` that does not exist yet is
    created with the embedded demo dataset, so *Run All* works on a fresh clone. The
    dataset is validated once and then read from a snapshot (:mod:`evallib.snapshot`)
    while its files are unchanged.
    """
    folder = Path(data_dir)
    params = load_area(area)
    if not folder.exists() and folder.name == "demo-data":
        from evallib.synthetic.demo import write_demo

        write_demo(folder, area=area)
    ds = load_validated(folder, params)   # validated once per run, then read from a snapshot
    settings = params.outcomes.model_copy(update={k: v for k, v in outcome_overrides.items() if v is not None})
    settings = OutcomeSettings.model_validate(settings.model_dump())
    return ds, settings
