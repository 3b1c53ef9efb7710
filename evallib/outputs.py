"""Machine-readable outputs of a report: its tables as CSV and its key results as JSON.

A notebook shows its tables and figures to people; the same numbers are also written
to files so that the quarterly return, the index page and the next analyst can reuse
them without copying figures out of a PDF. Each report has a folder of its own, which
no other report writes to::

    out = OutputFolder.for_report(output_dir, "service_outputs", ds, period, rule)
    out.table("referrals_by_district", table)            # tables/referrals_by_district.csv
    out.results({"headline": "412 people referred", "referred": 412})  # results.json

Where the folder is (see :func:`report_dir`):

- run by ``evallib run``: ``output_dir`` is the runner's (a staging folder, moved
  into ``<out>/<area>/<period>/<report>/`` when the report is complete);
- run by hand (JupyterLab, papermill) with ``output_dir = ""``: a folder derived from
  the notebook's own area and period under ``outputs/interactive/``, or
  ``outputs/interactive-internal/`` when small-number suppression is off, never a
  published report's folder.

With suppression off every output says so: ``results.json`` has
``"for_publication": false`` and a ``"not_for_publication"`` sentence, and every CSV's
file name starts with ``NOT_FOR_PUBLICATION-``. Every text cell a spreadsheet would run
as a formula is neutralised (:func:`spreadsheet_safe`).
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas and numpy are imported where used: the runner's worker
    import pandas as pd  # processes import this module for its names and need neither

try:  # POSIX: serialise concurrent writers of one results.json (notebooks run in parallel)
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, last writer wins
    fcntl = None

__all__ = ["OutputFolder", "json_safe", "report_dir", "spreadsheet_safe", "spreadsheet_safe_frame",
           "INTERNAL", "INTERACTIVE", "INTERACTIVE_INTERNAL", "RESERVED_NAMES", "NOT_FOR_PUBLICATION",
           "CSV_MARKER"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

#: ``<out>/internal/``: reports made by ``evallib run`` with small-number suppression off.
INTERNAL = "internal"
#: ``outputs/interactive/``: what a notebook run by hand writes (suppression on).
INTERACTIVE = "interactive"
#: ``outputs/interactive-internal/``: a notebook run by hand with suppression off.
INTERACTIVE_INTERNAL = "interactive-internal"
#: Folder names in an output folder that are not areas (the index never lists them as such).
RESERVED_NAMES = frozenset({INTERNAL, INTERACTIVE, INTERACTIVE_INTERNAL, "demo-data"})
NOT_FOR_PUBLICATION = "NOT FOR PUBLICATION: small-number suppression is off, so counts from 1 upwards are shown"
#: Start of the file name of every CSV written with suppression off.
CSV_MARKER = "NOT_FOR_PUBLICATION-"


def report_dir(root: str | Path, area: str, period_slug: str, report: str, *,
               for_publication: bool = True) -> Path:
    """The one folder a report writes to: ``<root>/<area>/<period>/<report>/``.

    With ``for_publication=False`` (suppression off) the folder is under
    ``<root>/internal/`` instead, so an unsuppressed report never takes the place of a
    published one. Each part must be a plain folder name, so nothing leads outside
    ``root``.
    """
    for part in (area, period_slug, report):
        if not _NAME.match(str(part)) or ".." in str(part):
            raise ValueError(f"{part!r} cannot be a folder name in the outputs: use letters, digits, '_', '-'")
    base = Path(root) if for_publication else Path(root) / INTERNAL
    return base / area / period_slug / report


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"^[-+]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?$")


def spreadsheet_safe(text: object) -> object:
    """Neutralise spreadsheet formula injection in one text value.

    A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab, CR or LF (or the
    full-width forms some spreadsheets also read) can be run as a formula when the file is
    opened (``=HYPERLINK(...)``, DDE payloads). Such text gets a leading apostrophe, the
    OWASP recommendation (CSV injection), which survives a later save as CSV; text that
    is just a number (``-0.26``, ``+3``) is left alone, as a spreadsheet reads it as that
    number. Control characters that XML forbids are removed. Non-text values are returned
    unchanged.
    """
    if not isinstance(text, str):
        return text
    text = _ILLEGAL_XML.sub("", text)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def spreadsheet_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell and column name through :func:`spreadsheet_safe`.

    Numeric columns are untouched (a number is never a formula).
    """
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_datetime64_any_dtype(out[c])):
            out[c] = out[c].map(spreadsheet_safe)
    out.columns = [spreadsheet_safe(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _default_root() -> Path:
    """The suite's output folder (``out`` in ``params/suite.yaml``, normally ``outputs/``)."""
    from evallib.params import ParamsError, load_suite

    repo = Path(__file__).resolve().parents[1]
    try:
        return (repo / load_suite().out).resolve()
    except (ParamsError, OSError):
        return repo / "outputs"


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

    def __init__(self, path: str | Path, *, for_publication: bool = True):
        self.path = Path(path).expanduser().resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self.for_publication = bool(for_publication)

    def __repr__(self) -> str:
        return f"OutputFolder({str(self.path)!r})"

    @classmethod
    def for_report(cls, output_dir: str | Path, report: str, ds: Any, period: Any, rule: Any) -> OutputFolder:
        """The folder of one report, as a notebook's first cell asks for it.

        Parameters
        ----------
        output_dir : str or Path
            The notebook's ``output_dir`` parameter. ``evallib run`` always passes its
            own; ``""`` (the notebooks' default) means "run by hand": the folder is
            derived from the area and period, under ``outputs/interactive/`` (or
            ``outputs/interactive-internal/`` with suppression off), so a notebook run
            in JupyterLab never writes over a published report.
        report : str
            The report's name (its notebook's file name), e.g. ``"service_outputs"``.
        ds : Dataset
            The dataset the report is made from (its area; whether it is synthetic).
        period : str or Period
            The report's period.
        rule : DisclosureRule
            The disclosure rule in force: with suppression off (``rule.active`` false)
            every output is marked not for publication.

        The folder's ``results.json`` starts with what the index needs: the report,
        area and period, ``for_publication`` (and a ``not_for_publication`` sentence
        when false) and ``synthetic``.
        """
        from evallib.params import parse_period

        period = parse_period(period)
        public = bool(getattr(rule, "active", True))
        if str(output_dir).strip():
            path = Path(output_dir)
        else:
            root = _default_root() / (INTERACTIVE if public else INTERACTIVE_INTERNAL)
            path = report_dir(root, ds.area.name, period.slug, report)
            for old in [path / "results.json", *path.glob("tables/*.csv")]:  # an earlier run by hand
                old.unlink(missing_ok=True)
        out = cls(path, for_publication=public)
        meta = getattr(ds, "meta", None)
        facts = {"report": report, "area": ds.area.name, "area_title": ds.area.display_name,
                 "period": period.label, "period_start": period.start, "period_end": period.end,
                 "period_kind": period.kind, "for_publication": public,
                 "suppression_threshold": int(getattr(rule, "threshold", 0)),
                 "synthetic": bool(getattr(meta, "synthetic", None))}
        if not public:
            facts["not_for_publication"] = NOT_FOR_PUBLICATION
        out.results(facts)
        return out

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

        Text cells a spreadsheet would run as a formula are neutralised
        (:func:`spreadsheet_safe_frame`). When the folder is not for publication the
        file is ``tables/NOT_FOR_PUBLICATION-<name>.csv``.
        """
        import pandas as pd

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
        target = folder / (f"{name}.csv" if self.for_publication else f"{CSV_MARKER}{name}.csv")
        spreadsheet_safe_frame(frame).to_csv(target, index=False, encoding="utf-8")
        return target

    def results(self, mapping: Mapping[str, Any]) -> Path:
        """Merge key results into ``results.json`` and return its path.

        Top-level keys in ``mapping`` replace the same keys already in the file; other
        keys are kept, so a notebook can add its results cell by cell.
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
    import numpy as np
    import pandas as pd

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
