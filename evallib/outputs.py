"""Machine-readable outputs of a report: its tables as CSV and its key results as JSON.

A notebook shows its tables and figures to people; the same numbers are also written
to files so that the quarterly return, the index page and the next analyst can reuse
them without copying figures out of a PDF. A notebook gets its folder from the runner
(the ``output_dir`` parameter) and calls::

    out = OutputFolder(output_dir)
    out.table("referrals_by_district", table)            # tables/referrals_by_district.csv
    out.results({"headline": "412 people referred", "referred": 412})  # results.json

``results.json`` is merged, not replaced, so several notebooks of one area and period
can add their own keys; a ``"headline"`` string is shown on the suite's index page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

try:  # POSIX: serialise concurrent writers of one results.json (notebooks run in parallel)
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, last writer wins
    fcntl = None

__all__ = ["OutputFolder", "json_safe"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class OutputFolder:
    """The folder a report writes its machine-readable outputs to.

    Parameters
    ----------
    path : str or Path
        The report's folder, usually the ``output_dir`` parameter the runner passes to
        the notebook. It is created if missing, so a notebook run by hand works too.

    Notes
    -----
    Tables go to ``tables/<name>.csv`` (UTF-8, no index column: the CSV is for people
    opening it in Excel and for other programs, neither of which wants pandas' row
    numbers); results go to one ``results.json`` per folder.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()
        self.path.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"OutputFolder({str(self.path)!r})"

    @property
    def results_path(self) -> Path:
        """Where :meth:`results` writes: ``<path>/results.json``."""
        return self.path / "results.json"

    def table(self, name: str, df: pd.DataFrame) -> Path:
        """Write a table as ``tables/<name>.csv`` and return its path.

        Parameters
        ----------
        name : str
            A file-safe name (letters, digits, ``_ - .``), without ``.csv``. Names are
            checked so that a table can never be written outside the folder.
        df : pandas.DataFrame
            The table exactly as published (already suppressed and rounded). A named
            index is kept as a column; an unnamed default index is dropped.
        """
        if name.endswith(".csv"):
            name = name[:-4]
        if not _NAME.match(name):
            raise ValueError(
                f"table name {name!r}: use letters, digits, '_', '-' or '.', e.g. 'referrals_by_district'"
            )
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"table {name!r}: expected a pandas DataFrame, got {type(df).__name__}")
        frame = df
        if any(n is not None for n in frame.index.names):
            frame = frame.reset_index()
        folder = self.path / "tables"
        folder.mkdir(exist_ok=True)
        target = folder / f"{name}.csv"
        frame.to_csv(target, index=False, encoding="utf-8")
        return target

    def results(self, mapping: Mapping[str, Any]) -> Path:
        """Merge key results into ``results.json`` and return its path.

        Top-level keys in ``mapping`` replace the same keys already in the file; other
        keys are kept, so several notebooks sharing a folder can each add theirs.
        Values are made JSON-safe with :func:`json_safe` (numpy and pandas scalars to
        Python numbers, NaN and missing values to ``null``, dates to ISO 8601 text).
        """
        if not isinstance(mapping, Mapping):
            raise TypeError(f"results: expected a mapping such as a dict, got {type(mapping).__name__}")
        new = json_safe(dict(mapping))
        with _locked(self.path):
            current: dict[str, Any] = {}
            if self.results_path.exists():
                try:
                    current = json.loads(self.results_path.read_text(encoding="utf-8"))
                except json.JSONDecodeError:
                    current = {}
                if not isinstance(current, dict):
                    current = {}
            for key, value in new.items():   # one level deep, so notebooks share "headlines"
                if isinstance(value, dict) and isinstance(current.get(key), dict):
                    current[key] = {**current[key], **value}
                else:
                    current[key] = value
            _atomic_write(self.results_path, json.dumps(current, indent=2, ensure_ascii=False,
                                                        allow_nan=False) + "\n")
        return self.results_path


def json_safe(value: Any, _where: str = "results") -> Any:
    """Convert a value to plain JSON types, recursively.

    Notebooks produce numpy integers, pandas ``NA``, timestamps and NaN; the standard
    ``json`` module refuses the first three and writes NaN as invalid JSON. This makes
    every such value portable: integers and floats as numbers, missing values (NaN,
    ``None``, ``pd.NA``, ``NaT``) as ``null``, dates as ``YYYY-MM-DD`` and date-times
    as ISO 8601, Series as ``{index: value}``, DataFrames as a list of records.

    Raises
    ------
    TypeError
        For a value with no sensible JSON form, naming where it was found.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, Decimal)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return _iso(value.to_pydatetime())
    if isinstance(value, (dt.datetime, dt.date)):
        return _iso(value)
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else _iso(pd.Timestamp(value).to_pydatetime())
    if isinstance(value, (pd.Period, pd.Interval, pd.Timedelta, dt.timedelta, Path)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, f"{_where}.{k}") for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [json_safe(r, _where) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): json_safe(v, f"{_where}.{k}") for k, v in value.items()}
    if isinstance(value, (np.ndarray, pd.Index, list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        return [json_safe(v, f"{_where}[{i}]") for i, v in enumerate(items)]
    raise TypeError(f"{_where}: a {type(value).__name__} cannot be written to results.json; "
                    "convert it to a number, text, list or dict first")


def _iso(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    return value.isoformat()


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp makes the file private (0600); results are meant to be shared.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder itself (no lock file left behind)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
