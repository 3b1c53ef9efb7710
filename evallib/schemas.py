"""The input data contract, enforced: load a dataset folder and report every problem at once.

A dataset is a folder with one file per table (``referrals.csv``, ``episodes.parquet``,
``partners.xlsx``, ...) and a ``dataset.yaml`` describing the extract. The contract is
declared once here (:data:`TABLES`); loading, validation and the data dictionary in
``docs/data-dictionary.md`` all read that one declaration. Problems come back as a
table (file, column, row as in the file, value, problem, fix); nothing is dropped.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import inspect
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pac
import yaml

from evallib.contract import (  # the contract, read by the loader and re-exported
    EXTRACT_DATE_OF,
    FALSE_WORDS,
    FOREIGN_KEYS,
    IDENTIFYING_KINDS,
    IDENTIFYING_PARTS,
    TABLES,
    TRUE_WORDS,
    Column,
    Table,
    identifying,
)
from evallib.fastops import has_repeats, isin, plain_text, positions, system_memory
from evallib.params import (
    ISO_DATE,
    AreaParams,
    ParamsError,
    date_format_example,
    load_area,
    normalise_label,
)

__all__ = [
    "Column", "Table", "TABLES", "Dataset", "DatasetMeta", "DataValidationError",
    "load_dataset", "validate_dataset", "PROBLEM_COLUMNS",
]

PROBLEM_COLUMNS = ["file", "column", "row", "value", "problem", "fix"]


class DataValidationError(ValueError):
    """A dataset that breaks the contract. ``problems`` lists every problem found."""

    def __init__(self, problems: pd.DataFrame, folder: Path | str = ""):
        self.problems = problems.reset_index(drop=True)
        self.folder = str(folder)
        n = len(self.problems)
        super().__init__(f"{n} problem(s) in the dataset {self.folder}:\n{self.to_text()}")

    def summary(self) -> pd.DataFrame:
        """One row per kind of problem (file, problem, fix), in the order found: how many
        rows it hits, the columns, the first rows and values."""
        p = self.problems.astype({"row": "string", "value": "string", "column": "string"}).fillna("")
        groups = p.groupby(["file", "problem", "fix"], sort=False)
        out = groups.agg(count=("row", "size"), first_column=("column", "first"), first_row=("row", "first"),
                         first_value=("value", "first"),
                         columns=("column", lambda c: list(dict.fromkeys(x for x in c if x))),
                         rows=("row", lambda r: ", ".join([x for x in r.head(6) if x][:5])
                               + (", ..." if len(r) > 5 else "")),
                         values=("value", lambda v: ", ".join(repr(x[:40]) for x in v[v != ""].unique()[:3])))
        return out.reset_index()[["file", "first_column", "columns", "problem", "count", "first_row",
                                  "first_value", "rows", "values", "fix"]]

    def to_text(self, limit: int = 60, kinds: int = 30) -> str:
        """The problems as text people can act on: first one line per kind of problem
        (where, what, how many, the fix), then the rows, at most ``limit`` (the rest counted)."""
        summary = self.summary()
        lines = []
        for i, g in enumerate(summary.head(kinds).itertuples(index=False), 1):
            value = g.first_value if len(g.first_value) <= 60 else g.first_value[:57] + "..."
            others = [c for c in g.columns if c != g.first_column]
            column = g.first_column + (f" (and {len(others)} other column{'s' if len(others) > 1 else ''}: "
                                       f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
                                       if others else "")
            where = g.file + (f", column {column}" if column else "") + (
                f", row {g.first_row}" if g.first_row else "") + (f", value {value!r}" if value else "")
            more = f" ({g.count} rows: {g.rows}; values {g.values})" if g.count > 1 and g.values else (
                f" ({g.count} rows: {g.rows})" if g.count > 1 else "")
            lines += [f"{i:>2}. {where}: {g.problem}{more}", f"    fix: {g.fix}"]
        if len(summary) > kinds:
            lines.append(f"... and {len(summary) - kinds} more kind(s) of problem, listed below")
        if len(self.problems) > len(summary.head(kinds)):
            shown = self.problems.head(limit).drop(columns="fix").astype(str)
            lines += ["", f"Every problem, row by row{f' (the first {limit})' if len(self.problems) > limit else ''}:",
                      shown.to_string(index=False, max_colwidth=70)]
            if len(self.problems) > limit:
                lines.append(f"... and {len(self.problems) - limit} more problem(s)")
        return "\n".join(lines)


@dataclass
class DatasetMeta:
    """``dataset.yaml``: what the extract is and when it was made."""

    area: str
    extract_date: date
    police_extract_date: date | None = None
    description: str = ""
    synthetic: dict = field(default_factory=dict)


@dataclass
class Dataset:
    """A validated dataset: one DataFrame per table in contract column names and types.

    Dates are ``datetime64[ns]``, booleans nullable ``boolean``, integers ``Int64``,
    text and categories strings. Absent optional tables are empty DataFrames with the
    contract's columns, so downstream code never branches on presence; ``present``
    says which tables were supplied.
    """

    folder: Path
    meta: DatasetMeta
    area: AreaParams
    tables: dict[str, pd.DataFrame]
    present: set[str]
    files: dict[str, Path]
    fingerprint: str

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def extract_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.meta.extract_date)

    @property
    def police_extract_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.meta.police_extract_date or self.meta.extract_date)


# --------------------------------------------------------------------------- reading
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")
#: How far down a sheet the header row is looked for (title rows above it are skipped).
HEADER_SEARCH_ROWS = 20
#: Delimiters a CSV export may use; the one giving a row near the top most cells is taken.
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "commas", ";": "semicolons (;)", "\t": "tabs", "|": "bars (|)"}


def _folder_files(folder: Path) -> list[Path]:
    """The files of a dataset folder, without hidden files and Excel's ``~$`` lock files; a
    folder ``<table>.parquet/`` (a partitioned Parquet table) counts as a file."""
    return sorted(p for p in folder.iterdir()
                  if (p.is_file() or p.suffix.lower() == ".parquet") and not p.name.startswith((".", "~$")))


def _find_file(folder: Path, table: str, listing: list[Path] | None = None
               ) -> tuple[Path | None, list[dict]]:
    """The file holding a table: ``referrals.csv``, ``Referrals.CSV``, ``referrals.xlsx``, ..."""
    listing = _folder_files(folder) if listing is None else listing
    found = [p for p in listing if p.stem.strip().lower() == table and p.suffix.lower() in TABLE_SUFFIXES]
    if len(found) > 1:
        return None, [_problem(", ".join(p.name for p in found), "", "", "",
                               f"table {table} is supplied {len(found)} times",
                               "keep one file per table")]
    return (found[0] if found else None), []


def supplied_tables(folder: Path) -> set[str]:
    """The tables a dataset folder holds a file for (named as :func:`load_dataset` finds them)."""
    listing = _folder_files(folder) if folder.is_dir() else []
    return {t for t in TABLES if _find_file(folder, t, listing)[0] is not None}


def _near_misses(listing: list[Path], used: set[Path]) -> dict[str, list[Path]]:
    """Files that look meant as a table but are not read (``referral.csv``, ``police.xls``)."""
    out: dict[str, list[Path]] = {}
    tables = {normalise_label(t): t for t in TABLES}
    for p in listing:
        if p in used or p.name == "dataset.yaml":
            continue
        stem = normalise_label(p.stem)
        close = difflib.get_close_matches(stem, list(tables), n=1, cutoff=0.75)
        match = close[0] if close else next((n for n in tables if n in stem or (stem and stem in n
                                                                                  and len(stem) > 4)), None)
        if match:
            out.setdefault(tables[match], []).append(p)
    return out


def _file_problem(path: Path, row, value, problem: str, fix: str) -> dict:
    return _problem(path.name, "", row, value, problem, fix)


def _decode(path: Path, data: bytes) -> tuple[str | None, list[dict]]:
    """CSV bytes as text: UTF-8 (with or without BOM) or UTF-16 with a BOM (Excel's
    "Unicode text"); anything else is a problem naming the row of the first bad byte."""
    if data.startswith(b"PK\x03\x04"):
        return None, [_file_problem(path, "", "", "this is an Excel workbook with a .csv name",
                                    f"rename it to {path.stem}.xlsx, or save it from Excel as CSV UTF-8")]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        bad = data[exc.start:exc.start + 1].hex()
        return None, [_file_problem(path, row, f"byte 0x{bad}",
                                    "the file is not UTF-8 text (it looks saved as Windows-1252 or Latin-1)",
                                    "save it as CSV UTF-8 (Excel: Save As > CSV UTF-8 (Comma delimited))")]


def _delimiter(text: str, known: set[str] = frozenset()) -> str:
    """The delimiter that splits a line near the top into the most known column names, then
    into the most cells (commas on a tie): neither a title row above the header
    (``Referrals, June 2024``) nor semicolons inside a value decide it."""
    top = [line[:10_000] for line in text[:200_000].splitlines()[:HEADER_SEARCH_ROWS] if line.strip()]

    def score(d: str) -> tuple[int, int, bool]:
        rows = list(csv.reader(top, delimiter=d))
        names = max((sum(c.strip().lower() in known for c in r) for r in rows), default=0)
        return names, max((len(r) for r in rows), default=0), d == ","
    return max(DELIMITERS, key=score)


def _csv_grid(path: Path, known: set[str] = frozenset()) -> tuple[pd.DataFrame | None, list[dict]]:
    """Every cell of a CSV file as text, one frame row per file row (header not yet found)."""
    data = path.read_bytes()
    text, problems = _decode(path, data)
    if text is None:
        return None, problems
    sep = _delimiter(text, known)
    try:
        grid = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
                           skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), []
    except pd.errors.ParserError:  # rows of unequal length (a title row above the header)
        limit = csv.field_size_limit(len(text) + 1)   # a cell may be as long as the file
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=sep))
        finally:
            csv.field_size_limit(limit)
        width = max((len(r) for r in rows), default=0)
        grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    except csv.Error as exc:
        return None, [_file_problem(path, "", "", f"cannot be read as CSV: {exc}",
                                    "save it again as CSV UTF-8 from the system that made it")]
    return grid, []


#: Parquet read into one block per column, Arrow buffers freed as they are converted: pandas
#: would otherwise copy same-typed columns into one block (seconds and GiBs at national
#: scale). The columns and dtypes are the same. (``to_pandas_kwargs``: pandas 3.)
_PARQUET_OPTIONS = ({"to_pandas_kwargs": {"split_blocks": True, "self_destruct": True}}
                    if "to_pandas_kwargs" in inspect.signature(pd.read_parquet).parameters else {})


def _grid(path: Path, known: set[str] = frozenset()) -> tuple[pd.DataFrame | None, list[dict]]:
    """A table file's cells without interpreting them (header not yet found)."""
    suffix = path.suffix.lower()
    if path.is_file() and path.stat().st_size == 0:
        return None, [_file_problem(path, "", "", "the file is empty (0 bytes)",
                                    "export the table again: it needs a header row and one row per record")]
    try:
        if suffix == ".csv":
            return _csv_grid(path, known)
        if suffix == ".xlsx":
            grid = pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="openpyxl")
            return grid.reset_index(drop=True), []
        return pd.read_parquet(path, **_PARQUET_OPTIONS), []
    except Exception as exc:  # an unreadable file is a problem row, never a traceback
        what = {".xlsx": "an Excel workbook (.xlsx)", ".parquet": "a Parquet file"}.get(suffix, "CSV")
        return None, [_file_problem(path, "", "", f"cannot be read as {what}: {str(exc).splitlines()[0][:200]}",
                                    "save it again as CSV UTF-8, XLSX (first sheet) or Parquet")]


def _empty_cells(frame: pd.DataFrame) -> np.ndarray:
    """Where a raw cell is missing or empty text (one array operation for the whole frame)."""
    cells = frame.to_numpy(dtype=object)
    return pd.isna(cells) | (cells == "")


def _header_row(grid: pd.DataFrame, known: set[str]) -> int:
    """The row holding the column names: the first row naming a known column (title rows
    above it are skipped), or the first non-empty row when no row names one."""
    top = grid.head(HEADER_SEARCH_ROWS)
    cells = top.astype("string").apply(lambda s: s.str.strip().str.lower())
    score = cells.isin(known).sum(axis=1)
    filled = pd.Series((~_empty_cells(top)).sum(axis=1), index=top.index)
    named = score[score > 0]
    if len(named):
        return int(named.index[0])
    nonempty = filled[filled > 0]
    return int(nonempty.index[0]) if len(nonempty) else 0


def _read_raw(path: Path, known: set[str] | None = None
              ) -> tuple[pd.DataFrame | None, np.ndarray | int, list[dict]]:
    """Read a table without interpreting its values.

    Returns the frame (text cells for CSV, cells as stored for XLSX and Parquet), the
    row number in the file of each frame row (header = row 1 for CSV and XLSX; Parquet
    has no header row, so its first record is row 1) and the problems found reading.
    """
    known = {k.lower() for k in (known or set())}
    grid, problems = _grid(path, known)
    if grid is None:
        return None, 0, problems
    if path.suffix.lower() == ".parquet":
        grid.columns = [str(c).strip() for c in grid.columns]
        return grid.reset_index(drop=True), np.arange(1, len(grid) + 1), problems
    if grid.empty or grid.shape[1] == 0:
        return None, 0, [_file_problem(path, "", "", "the file has no header row and no data",
                                       "export the table again with its header row")]
    h = _header_row(grid, known)
    header = ["" if pd.isna(v) else str(v).strip() for v in grid.iloc[h]]
    body = grid.iloc[h + 1:]
    body = body[~_empty_cells(body).all(axis=1)] if len(body) else body
    body.columns = header
    unnamed = [i for i, c in enumerate(header) if c == ""]
    keep = [i for i in range(len(header)) if i not in unnamed]
    for i in unnamed:
        col = body.iloc[:, i]
        filled = ~_blank(col)
        if filled.any():
            first = int(np.flatnonzero(filled.to_numpy())[0])
            problems.append(_problem(path.name, f"(column {i + 1}, no name)", int(body.index[first]) + 1,
                                     _fmt(col.iloc[first]), f"column {i + 1} has values but no name in the header "
                                     f"(row {h + 1})", "give the column its contract name, or delete it"))
    body = body.iloc[:, keep]
    dupes = sorted({c for c in body.columns if list(body.columns).count(c) > 1})
    for c in dupes:
        problems.append(_problem(path.name, c, h + 1, c, "the header names this column more than once",
                                 "keep one column of each name"))
    if dupes:
        body = body.loc[:, ~body.columns.duplicated()]
    rows = body.index.to_numpy() + 1
    return body.reset_index(drop=True), rows, problems


def _problem(file: str, column: str, row, value, problem: str, fix: str) -> dict:
    return {"file": file, "column": column, "row": row, "value": value, "problem": problem, "fix": fix}


def _blank(s: pd.Series) -> pd.Series:
    """True where a raw cell is empty (missing, NaN, or only spaces).

    Only text can be spaces: dates, numbers and booleans (typed Parquet or Excel
    columns) are blank only where missing, and are not turned into text to find out.
    Arrow-backed text is checked in Arrow (no per-value Python).
    """
    dtype = s.dtype
    if (pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)):
        return s.isna()
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        if plain_text(s):                    # ids and codes: no value can be spaces
            return s.isna()
        arr = pa.array(s.array)
        empty = pac.or_kleene(pac.equal(pac.utf8_length(arr), 0), pac.utf8_is_space(arr))
        return pd.Series(empty.fill_null(True).to_numpy(zero_copy_only=False), index=s.index)
    return s.isna() | s.astype("string").str.strip().fillna("").eq("")


def _as_text(s: pd.Series) -> pd.Series:
    if plain_text(s):                        # nothing to strip, nothing blank but missing
        return s.astype("string")
    out = s.astype("string").str.strip()
    return out.mask(out.isna() | out.eq("").fillna(True))


def _parse_dates(raw: pd.Series, blank: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series, str, str]:
    """Dates: Excel/Parquet date cells as they are; text in the one declared format.

    The format is never guessed: with none declared, text must be ISO 8601, and
    ``03/04/2022`` is a problem row (3 April or 4 March?) until the area file says
    ``date_format: "%d/%m/%Y"``. A value that does not fit the declared format,
    including a two-digit year under ``%Y``, is a problem row too.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = pd.to_datetime(raw).dt.tz_localize(None) if getattr(raw.dt, "tz", None) else pd.to_datetime(raw)
    else:
        cells = pd.Series(False, index=raw.index)
        if raw.dtype == object:   # XLSX: date cells come as datetimes, typed text as str
            cells = raw.map(lambda v: isinstance(v, date)).astype(bool)
        values = pd.to_datetime(_as_text(raw.where(~cells)), format=fmt, errors="coerce")
        if cells.any():
            values = values.where(~cells, pd.to_datetime(raw.where(cells), errors="coerce"))
    # pandas parses to seconds or microseconds, which hold 9999-12-31 (a common "no end
    # date"); the dataset's dates are nanoseconds (1677-09-22 to 2262-04-11).
    far = (values.notna() & ((values < pd.Timestamp.min) | (values > pd.Timestamp.max))).to_numpy(bool)
    values = values.mask(far).astype("datetime64[ns]")
    ns = values.to_numpy().view(np.int64)
    if ((ns % 86_400_000_000_000)[~np.isnat(values.to_numpy())] != 0).any():   # times of day: drop them
        values = values.dt.normalize()
    bad = values.isna() & ~blank
    if far.any() and not (bad & ~far).any():
        return (values, bad, "a year the suite cannot hold as a date (it takes 1678 to 2261; 9999-12-31 is "
                "sometimes written for 'no date')", "leave the cell empty when there is no date, or correct the year")
    if fmt == ISO_DATE:
        return (values, bad, "not a date in the form YYYY-MM-DD (the area file declares no date_format, and "
                "the suite never guesses whether the day or the month comes first)",
                "write it as YYYY-MM-DD (2022-04-25), or declare how the export writes dates in the area file, "
                "e.g. date_format: \"%d/%m/%Y\" for 25/04/2022 (see docs/adapting.md)")
    example = date_format_example(fmt)
    return (values, bad, f"not a date in the declared form {fmt} (e.g. {example})",
            f"write the date as {example} does, or correct date_format (or date_formats) in the area file")


def _parse_column(raw: pd.Series, col: Column, allowed: tuple[str, ...] | None, date_format: str = ISO_DATE
                  ) -> tuple[pd.Series, pd.Series, str, str]:
    """Parse one column vectorised. Returns (values, bad mask, problem, fix)."""
    blank = _blank(raw)
    if col.kind == "date":
        return _parse_dates(raw, blank, date_format)
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype("boolean"), pd.Series(False, index=raw.index), "", ""
        text = _as_text(raw.map(lambda v: str(int(v)) if isinstance(v, (bool, np.bool_)) else v)).str.lower()
        text = text.str.replace(r"\.0$", "", regex=True)
        values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        values[text.isin(TRUE_WORDS).fillna(False)] = True
        values[text.isin(FALSE_WORDS).fillna(False)] = False
        return values, values.isna() & ~blank, "not a yes/no value", "use true/false, yes/no or 1/0"
    if col.kind == "int":
        num = pd.to_numeric(_as_text(raw), errors="coerce") if not pd.api.types.is_numeric_dtype(raw) else raw
        whole = num.notna() & (num == np.floor(num.astype(float))) & (num.astype(float).abs() <= LARGEST_NUMBER)
        bad = (~blank & ~whole)
        values = num.where(whole).astype("Float64").astype("Int64")
        return values, bad, "not a whole number", "write a whole number such as 3, or leave it empty"
    text = raw if col.kind == "category" and allowed is not None else _as_text(raw)   # mapped: already text
    if col.kind == "category" and allowed is not None:
        bad = text.notna() & ~pd.Series(isin(text, allowed), index=text.index)
        return text, bad, "not a known category", f"use one of: {', '.join(allowed)}"
    return text, pd.Series(False, index=raw.index), "", ""


_DAY_NS = 86_400_000_000_000
#: Tables at least this long have their columns' shortcut checks run two at a time.
PARALLEL_ROWS = 1_000_000


def _clean_column(raw: pd.Series, table: str, col: Column, area: AreaParams) -> pd.Series | None:
    """A typed column's values when a few whole-column checks show it keeps the contract, else ``None``.

    Why: most supplied columns are clean, and proving that takes a few aggregates
    (missing count, smallest and largest value, the distinct labels, repeats by hash)
    instead of a mask per rule over every cell. The answer is the one
    :func:`_parse_column` gives; ``None`` sends the column down that path, which finds
    and reports every problem row (so no message depends on this shortcut).
    """
    dtype = raw.dtype
    text = isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    if col.unique and not text:
        return None
    if col.kind in ("str", "category"):
        if not (text and plain_text(raw)):       # something to strip or blank: the full path
            return None
        values = raw.astype("string")
        if col.kind == "category":
            allowed, lookup = _label_lookup(table, col, area)
            labels = pac.unique(pa.array(values.array).drop_null()).to_pylist()
            if any(v not in allowed or lookup.get(normalise_label(v), v) != v for v in labels):
                return None
        if col.unique and has_repeats(values):
            return None
    elif col.kind == "bool":
        if not pd.api.types.is_bool_dtype(dtype) or col.name in area.labels.get(table, {}):
            return None
        values = raw.astype("boolean")
    elif col.kind == "int":
        if not pd.api.types.is_integer_dtype(dtype):
            return None
        low = max(col.minimum if col.minimum is not None else -LARGEST_NUMBER, -LARGEST_NUMBER)
        high = min(col.maximum if col.maximum is not None else LARGEST_NUMBER, LARGEST_NUMBER)
        if raw.notna().any() and not (low <= raw.min() and raw.max() <= high):
            return None
        values = raw.astype("Int64")
    elif col.kind == "date":
        if dtype != np.dtype("datetime64[ns]"):
            return None
        ns = raw.to_numpy().view(np.int64)
        for lo in range(0, len(ns), 1 << 20):    # a time of day on any date: the full path drops it
            part = ns[lo: lo + (1 << 20)]
            if ((part % _DAY_NS != 0) & (part != np.iinfo(np.int64).min)).any():
                return None
        values = raw
    else:
        return None
    if col.required and values.hasnans:
        return None
    return values


def _map_labels(raw: pd.Series, table: str, col: Column, area: AreaParams
                ) -> tuple[pd.Series, tuple[str, ...], str]:
    """A category column's labels as the contract's values, and the fix for those left over.

    Every label is matched the same way (:func:`evallib.params.normalise_label`: case,
    spaces and punctuation ignored), against the contract's values, then the area's
    ``labels`` for this column (and, for districts, ``district_aliases``; for programmes,
    their ``label``). The distinct labels are looked up, not each row.
    """
    allowed, lookup = _label_lookup(table, col, area)
    text = _as_text(raw)
    labels = text.dropna().unique()          # the distinct labels are looked up, not each row
    found = {v: lookup.get(normalise_label(v), v) for v in labels}
    changed = {k: v for k, v in found.items() if k != v}
    mapped = text.astype("string")
    if changed:
        keys = pd.Series(list(changed), dtype="string")
        at = positions(mapped, keys)
        new = np.asarray(list(changed.values()), dtype=object)[np.maximum(at, 0)]
        mapped = pd.Series(np.where(at >= 0, new, mapped.to_numpy(dtype=object, na_value=None)),
                           index=text.index).astype("string")
    return mapped, allowed, _label_fix(table, col, allowed)


def _label_lookup(table: str, col: Column, area: AreaParams) -> tuple[tuple[str, ...], dict[str, str]]:
    """A column's allowed values, and each known label (normalised) -> the value it stands for."""
    allowed = area.allowed_values(table, col.name) or ()
    lookup: dict[str, str] = {}
    if col.name == "programme":
        lookup.update({normalise_label(p.label): key for key, p in area.programmes.items()})
    if col.name == "district":
        lookup.update({normalise_label(a): d for a, d in area.district_aliases.items()})
    canonical = {normalise_label(a): a for a in allowed}
    if col.kind == "bool":   # a yes/no column: the export's words for yes and no
        canonical.update({"yes": "true", "no": "false"})
    lookup.update({normalise_label(k): canonical[normalise_label(v)]
                   for k, v in area.labels.get(table, {}).get(col.name, {}).items()})
    lookup.update(canonical)
    return allowed, lookup


def _label_fix(table: str, col: Column, allowed: tuple[str, ...]) -> str:
    """How to fix a label the area does not know: the values to use, and the key to map it under."""
    where = f"labels.{table}.{col.name}"
    if col.name == "district":
        fix = (f"use one of the area's districts: {', '.join(allowed)}, or add the export's spelling "
               f"under district_aliases (or {where}) in the area file")
    elif col.name == "programme":
        fix = (f"use one of the area's programmes: {', '.join(allowed)}, or map the export's label onto "
               f"one under {where} in the area file")
    elif col.kind == "bool":
        fix = f"use true/false, yes/no or 1/0, or map the export's word onto true or false under {where}"
    else:
        fix = (f"use one of: {', '.join(allowed)}, or map the export's label onto one under {where} "
               "in the area file (case, spaces and punctuation are ignored)")
    return fix


def _many(file: str, column: str, mask: pd.Series, values, offset: int | np.ndarray, problem: str,
          fix: str) -> pd.DataFrame:
    """Problem rows for every flagged cell of a column at once (vectorised, not a loop over rows).

    ``offset`` is the file row of the first frame row, or each frame row's file row."""
    where = np.flatnonzero(np.asarray(mask, dtype=bool))
    if not len(where):
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    vals = pd.Series(values).iloc[where] if not isinstance(values, str) else pd.Series([values] * len(where))
    text = vals.map(_fmt).to_numpy() if len(where) else np.array([], dtype=object)
    rows = where + offset if np.ndim(offset) == 0 else np.asarray(offset)[where]
    return pd.DataFrame({"file": file, "column": column, "row": rows, "value": text,
                         "problem": problem, "fix": fix}, columns=PROBLEM_COLUMNS)


def _as_frame(problems: list) -> pd.DataFrame:
    frames = [p if isinstance(p, pd.DataFrame) else pd.DataFrame([p], columns=PROBLEM_COLUMNS)
              for p in problems if p is not None]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PROBLEM_COLUMNS)


META_KEYS = ("area", "extract_date", "police_extract_date", "description", "synthetic")
#: Extract dates outside these years are typing mistakes (``0024-06-30``, ``2204-06-30``).
SANE_YEARS = (1990, 2100)
META_HELP = {"area": "the area's name as listed by `evallib areas` (e.g. area: leicestershire)",
             "extract_date": "the date the case records were extracted, as YYYY-MM-DD (e.g. extract_date: 2024-06-30)"}


class _MetaLoader(yaml.SafeLoader):
    """YAML for dataset.yaml with dates kept as text: PyYAML turns ``2021-02-30`` into an
    exception instead of a value, and the loader's own date check names the key and value."""


_MetaLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def read_dataset_yaml(path: Path) -> object:
    """The contents of a ``dataset.yaml`` (any YAML value; dates as text).

    Raises ``OSError``, ``UnicodeDecodeError`` or ``yaml.YAMLError``; never an error from
    a value that only looks like a date.
    """
    return yaml.load(Path(path).read_bytes().decode("utf-8-sig"), Loader=_MetaLoader)  # noqa: S506 (a SafeLoader)


def _read_meta(folder: Path, problems: list[dict]) -> DatasetMeta | None:
    """Read ``dataset.yaml``; every way it can be wrong is a problem row, never an exception."""
    path = folder / "dataset.yaml"
    example = "area: leicestershire, extract_date: 2024-06-30 and description: (one key per line)"
    if not path.is_file():
        problems.append(_problem("dataset.yaml", "", "", "", "the dataset has no dataset.yaml",
                                 f"add dataset.yaml with {example}"))
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(_problem("dataset.yaml", "", exc.object[:exc.start].count(b"\n") + 1,
                                 f"byte 0x{exc.object[exc.start:exc.start + 1].hex()}",
                                 "dataset.yaml is not UTF-8 text", "save it as UTF-8 (any text editor can)"))
        return None
    try:
        raw = yaml.load(text, Loader=_MetaLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else ""
        problems.append(_problem("dataset.yaml", "", row, "", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                 f"write one key: value per line, e.g. {example}"))
        return None
    if raw is None:
        problems.append(_problem("dataset.yaml", "", "", "", "dataset.yaml is empty", f"write {example}"))
        return None
    if not isinstance(raw, dict):
        problems.append(_problem("dataset.yaml", "", "", _fmt(raw)[:60],
                                 f"dataset.yaml holds a {type(raw).__name__}, not keys and values",
                                 f"write one key: value per line, e.g. {example}"))
        return None
    meta_problems = []
    raw = {str(k): v for k, v in raw.items()}
    for key in ("area", "extract_date"):
        if key not in raw:
            meta_problems.append(_problem("dataset.yaml", key, "", "", f"{key} is missing",
                                          f"add a line with {META_HELP[key]}"))
        elif raw[key] is None or (isinstance(raw[key], str) and not raw[key].strip()):
            meta_problems.append(_problem("dataset.yaml", key, "", "", f"{key} is empty",
                                          f"fill in {META_HELP[key]}"))
    if raw.get("area") is not None and not isinstance(raw["area"], str):
        meta_problems.append(_problem("dataset.yaml", "area", "", _fmt(raw["area"]), "area is not a name",
                                      "write the area's name as in `evallib areas`, e.g. area: leicestershire"))

    def as_date(key):
        v = raw.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if isinstance(v, datetime):
            v = v.date()
        if not isinstance(v, date):
            try:
                v = date.fromisoformat(str(v).strip())
            except ValueError:
                meta_problems.append(_problem("dataset.yaml", key, "", _fmt(v), "not a date",
                                              "write the date as YYYY-MM-DD, e.g. 2024-06-30"))
                return None
        if not SANE_YEARS[0] <= v.year <= SANE_YEARS[1]:
            meta_problems.append(_problem("dataset.yaml", key, "", v.isoformat(),
                                          f"the year is outside {SANE_YEARS[0]}-{SANE_YEARS[1]}",
                                          "check the date (YYYY-MM-DD)"))
            return None
        return v

    extract, police = as_date("extract_date"), as_date("police_extract_date")
    if raw.get("synthetic") is not None and not isinstance(raw["synthetic"], dict):
        meta_problems.append(_problem("dataset.yaml", "synthetic", "", _fmt(raw["synthetic"])[:60],
                                      "synthetic must hold keys and values", "remove it (only the generator writes it)"))
    for key in sorted(set(raw) - set(META_KEYS)):
        close = difflib.get_close_matches(key.lower(), META_KEYS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        meta_problems.append(_problem("dataset.yaml", key, "", "", "unknown key",
                                      f"{hint}keys are {', '.join(META_KEYS)}"))
    problems.extend(meta_problems)
    area = raw.get("area")
    if extract is None or not isinstance(area, str) or not area.strip():
        return None
    return DatasetMeta(area=raw["area"].strip(), extract_date=extract, police_extract_date=police,
                       description=str(raw.get("description") or ""), synthetic=raw.get("synthetic") or {})


def _empty_table(table: Table) -> pd.DataFrame:
    dtypes = {"str": "string", "category": "string", "date": "datetime64[ns]", "bool": "boolean", "int": "Int64"}
    return pd.DataFrame({c.name: pd.Series(dtype=dtypes[c.kind]) for c in table.columns})


def load_dataset(folder: str | Path, area: AreaParams | str | None = None) -> Dataset:
    """Load a dataset folder, validate it against the contract and the area's params.

    Raises
    ------
    DataValidationError
        With every problem found (file, column, row as in the file, value, problem, fix).
    """
    with system_memory():
        return _load_dataset(folder, area)


def _load_dataset(folder: str | Path, area: AreaParams | str | None) -> Dataset:
    folder = Path(folder)
    problems: list[dict] = []
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.is_file() else "no such folder"
        raise DataValidationError(pd.DataFrame([_problem(str(folder), "", "", "", what,
                                                         "give the folder that holds referrals.csv etc.")],
                                               columns=PROBLEM_COLUMNS), folder)
    meta = _read_meta(folder, problems)
    if isinstance(area, str):
        area = load_area(area)
    elif area is None:
        if meta is None:
            raise DataValidationError(_as_frame(problems), folder)
        try:
            area = load_area(meta.area)
        except ParamsError as exc:
            problems.append(_problem("dataset.yaml", "area", "", meta.area, str(exc).splitlines()[0],
                                     "write an area name from `evallib areas` in dataset.yaml, or give --area"))
            raise DataValidationError(_as_frame(problems), folder) from None
    if meta is not None and meta.area != area.name:
        problems.append(_problem("dataset.yaml", "area", "", meta.area,
                                 f"the dataset is for area {meta.area!r}, not {area.name!r}",
                                 "check --area, or the area: key in dataset.yaml"))
    problems.extend(_params_identifiers(area))

    listing = _folder_files(folder)
    with ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(1) as lookup:
        # Parquet tables are read one after another in the background while the main
        # thread checks the table before (Arrow reads without holding the interpreter).
        ahead = {t: reader.submit(_read_raw, path) for t in TABLES
                 if (path := _find_file(folder, t, listing)[0]) is not None and path.suffix.lower() == ".parquet"}
        found = [p for t in TABLES if (p := _find_file(folder, t, listing)[0]) is not None]
        ahead["fingerprint"] = reader.submit(fingerprint, found, folder / "dataset.yaml")
        try:
            return _check_tables(folder, area, meta, problems, listing, ahead, lookup)
        finally:
            for future in ahead.values():
                future.cancel()


def _check_tables(folder: Path, area: AreaParams, meta: DatasetMeta | None, problems: list, listing: list[Path],
                  ahead: dict, lookup: ThreadPoolExecutor) -> Dataset:
    """Read and check every table of the contract (``ahead``: reads already under way; ``lookup``:
    a thread for the foreign-key lookup, started as soon as its tables are checked)."""
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    offsets: dict[str, np.ndarray | int] = {}
    unusable: dict[str, str] = {}   # table -> why it could not be read (knock-on problems are collapsed)
    for table in TABLES.values():
        path, found_problems = _find_file(folder, table.name, listing)
        problems.extend(found_problems)
        tables[table.name] = _empty_table(table)
        if path is None:
            if found_problems:
                unusable[table.name] = f"table {table.name} is supplied more than once"
            elif table.required:
                problems.append(_problem(f"{table.name}.csv", "", "", "", f"required table {table.name} is missing",
                                         f"supply {table.name}.csv, .xlsx or .parquet in {folder}"))
                unusable[table.name] = f"{table.name} is missing"
            continue
        files[table.name] = path
        fname = path.name
        mapping = area.columns.get(table.name, {})
        extras = set(area.extra_columns.get(table.name, []))
        raw, offset, read_problems = (ahead[table.name].result() if table.name in ahead
                                      else _read_raw(path, {*table.names, *mapping, *extras}))
        if raw is None or set(raw.columns) & {*table.names, *mapping}:
            problems.extend(read_problems)   # header problems only where a header was found
        if raw is None:
            unusable[table.name] = f"{fname} could not be read"
            continue
        offsets[table.name] = offset
        raw.columns = [str(c).strip() for c in raw.columns]
        for c in raw.columns:
            kind = identifying(c)
            if kind and c not in table.names:
                problems.append(_problem(fname, c, "", "", f"this column holds {kind}, which would identify a "
                                         "person, so it is never read",
                                         "delete the column from the export: datasets carry pseudonymous ids "
                                         "only (it cannot be mapped or listed under extra_columns)"))
        raw = raw[[c for c in raw.columns if not (identifying(c) and c not in table.names)]]
        raw = raw.rename(columns=mapping)
        if not set(raw.columns) & set(table.names):
            head = ", ".join(map(str, raw.columns[:8])) + (", ..." if len(raw.columns) > 8 else "")
            problems.append(_problem(fname, "", "", head[:200], f"none of the columns of {table.name} were found "
                                     f"(the header reads: {head[:120]})",
                                     f"the first row must name the columns: {', '.join(table.names[:6])}, ... "
                                     "(see docs/data-dictionary.md), or map your names under "
                                     f"columns.{table.name} in the area params"))
            unusable[table.name] = f"{fname} has none of the table's columns"
            continue
        for c in raw.columns:
            if c not in table.names and c not in extras:
                close = difflib.get_close_matches(c.lower(), table.names, n=1, cutoff=0.8)
                hint = f"rename it {close[0]} if that is what it holds; otherwise " if close else ""
                problems.append(_problem(fname, c, "", "", "column not in the data contract",
                                         f"{hint}remove it, map it to a contract column under "
                                         f"columns.{table.name} in the area params, or list it under "
                                         f"extra_columns.{table.name}"))
        missing = [c for c in table.columns if c.required and c.name not in raw.columns]
        for c in missing:
            problems.append(_problem(fname, c.name, "", "", "required column is missing",
                                     f"add the column {c.name} ({c.meaning})"))
        # Only the referrals table must have rows: every other table hangs off it. An empty
        # episodes table (nobody started yet) is a state a service can be in; the reports
        # that need starters refuse it through their declared needs (evallib.notebook).
        if table.name == "referrals" and raw.empty:
            problems.append(_problem(fname, "", "", "", f"the table {table.name} has a header but no rows",
                                     f"export the {table.name} records again: every report counts referrals"))
        parsed: dict[str, pd.Series] = {}
        present = [c for c in table.columns if c.name in raw.columns]
        with ThreadPoolExecutor(2 if len(raw) >= PARALLEL_ROWS else 1) as pool:   # Arrow and numpy run in parallel
            shortcut = dict(zip([c.name for c in present],
                                pool.map(_clean_column, [raw[c.name] for c in present], [table.name] * len(present),
                                         present, [area] * len(present)), strict=True))
        for col in present:
            clean = shortcut[col.name]
            if clean is not None:
                parsed[col.name] = clean
                continue
            series, allowed, label_fix = raw[col.name], None, ""
            if col.kind == "category":
                series, allowed, label_fix = _map_labels(series, table.name, col, area)
            elif col.kind == "bool":   # the export's own words for yes and no, if the area maps any
                if col.name in area.labels.get(table.name, {}):
                    series = _map_labels(series, table.name, col, area)[0]
                label_fix = _label_fix(table.name, col, ())
            values, bad, what, fix = _parse_column(series, col, allowed, area.date_format_for(table.name, col.name))
            fix = label_fix or fix
            if col.kind == "int":
                huge = _too_large(raw[col.name])
                limits = (f" (it must be {col.minimum} to {col.maximum})" if col.maximum is not None else "")
                problems.append(_many(fname, col.name, huge, raw[col.name], offset,
                                      f"the number is too large for {col.name}{limits}",
                                      f"check the value: {col.name} is {col.meaning}"))
                bad, values = bad & ~huge, values.mask(huge)
                bad_or_huge = bad | huge
            else:
                bad_or_huge = bad
            problems.append(_many(fname, col.name, bad, raw[col.name], offset, what, fix))
            if col.required:
                empty = values.isna() & ~bad_or_huge
                problems.append(_many(fname, col.name, empty, "", offset, "required value is empty",
                                      f"fill in {col.name} ({col.meaning})"))
            if col.kind == "int" and (col.minimum is not None or col.maximum is not None):
                lo = col.minimum if col.minimum is not None else -np.inf
                hi = col.maximum if col.maximum is not None else np.inf
                out = values.notna() & ((values < lo) | (values > hi)).fillna(False)
                rng = f"between {col.minimum} and {col.maximum}" if col.maximum is not None else f"{col.minimum} or more"
                problems.append(_many(fname, col.name, out, raw[col.name], offset,
                                      f"out of range: must be {rng}", f"correct the value to be {rng}"))
            if col.unique:
                dup = _duplicated(values)
                problems.append(_many(fname, col.name, dup, raw[col.name], offset,
                                      "id is not unique", "give every row its own id"))
            parsed[col.name] = values
        empty = _empty_table(table)
        df = pd.DataFrame({c.name: parsed[c.name] if c.name in parsed else empty[c.name].reindex(raw.index)
                           for c in table.columns}, index=raw.index)   # absent columns only are made empty
        for c in extras & set(raw.columns):
            df[c] = raw[c]
        tables[table.name] = df
        if table.name == "episodes" and "referrals" in files and "referral_id" in raw.columns:
            # where each episode's referral is: looked up beside the checks of the tables after
            ahead["lookup"] = lookup.submit(positions, df["referral_id"], tables["referrals"]["referral_id"])
        for c in missing:
            if any(c.name == k[1] for k in (*FOREIGN_KEYS, *FOREIGN_KEYS.values())):
                unusable.setdefault(f"{table.name}.{c.name}", f"{fname} has no column {c.name}")

    for p, files_near in _near_misses(listing, set(files.values())).items():
        if p in files:   # the table is read: a stray copy beside it is harmless
            continue
        for f in files_near:
            suffix = f.suffix.lower()
            how = (f"save it as {p}.xlsx (Excel Workbook)" if suffix == ".xls" else
                   f"rename it {p}{suffix}" if suffix in TABLE_SUFFIXES else
                   f"save it as {p}.csv (CSV UTF-8), {p}.xlsx or {p}.parquet")
            problems.append(_problem(f.name, "", "", "", f"this file looks like the table {p} but is not read",
                                     how))
    lookups: dict = {"pending": ahead.get("lookup")}
    _check_relations(tables, files, offsets, meta, problems, unusable, lookups)
    found = _as_frame(problems)
    if len(found):
        raise DataValidationError(found, folder)
    ds = Dataset(folder=folder, meta=meta, area=area, tables={k: v.reset_index(drop=True) for k, v in tables.items()},
                 present=set(files), files=files, fingerprint=ahead["fingerprint"].result())
    if ("episodes", "referral_id") in lookups:   # kept for the cohorts (evallib.cohorts._facts), with its tables
        ds.__dict__["_referral_rows"] = (ds.tables["episodes"], ds.tables["referrals"],
                                         lookups[("episodes", "referral_id")])
    return ds


def _duplicated(values: pd.Series) -> pd.Series:
    """Every row whose (non-missing) value appears more than once.

    A hash of the ids finds out whether any repeats at all (:func:`evallib.fastops.has_repeats`;
    the usual answer is no); only then is the full mask worked out.
    """
    if not has_repeats(values):
        return pd.Series(False, index=values.index)
    return values.notna() & values.duplicated(keep=False)


#: Whole numbers above this are not counts or ages but typing or export mistakes
#: (and lose precision as floating point).
LARGEST_NUMBER = 2**31 - 1


def _too_large(raw: pd.Series) -> pd.Series:
    """Where a raw cell is a number too large to be read exactly (``_parse_column`` leaves it missing)."""
    num = raw if pd.api.types.is_numeric_dtype(raw) else pd.to_numeric(_as_text(raw), errors="coerce")
    return (num.astype(float).abs() > LARGEST_NUMBER).fillna(False)


def _params_identifiers(area: AreaParams) -> list[dict]:
    """An area file that lists an identifying column (as extra, or mapped) is refused too."""
    listed = [("extra_columns", t, n, "lists") for t, names in area.extra_columns.items() for n in names]
    listed += [("columns", t, n, f"maps onto {area.columns[t][n]}") for t in area.columns for n in area.columns[t]]
    return [_problem(f"params/areas/{area.name}.yaml", f"{key}.{table}", "", name,
                     f"{how} {name!r}, a column holding {identifying(name)}, which would identify a person",
                     f"remove {name!r} from {key}.{table}, and the column from the export (use a pseudonymous id)")
            for key, table, name, how in listed if identifying(name)]


def _check_relations(tables, files, offsets, meta, problems, unusable=None, found=None) -> None:
    """Cross-column and cross-table rules: foreign keys, date order, extract dates.

    ``unusable`` (table or ``table.column`` -> why) names what could not be read: rows
    pointing at it are not each reported as "not found" but counted in one line.
    ``found``: a dict given to receive the row of referrals each episode points at (its
    ``pending``: that lookup already under way, for the tables as they are).
    """
    unusable = dict(unusable or {})
    def report(table, col, mask, what, fix, values=None):
        df = tables[table]
        off = offsets.get(table, 2)
        vals = df[col] if values is None else values
        problems.append(_many(files[table].name, col, mask, vals, off, what, fix))

    for (t, c), (pt, pc) in FOREIGN_KEYS.items():
        if t not in files or pt not in tables or t in unusable:
            continue
        child = tables[t][c]
        why = unusable.get(pt) or unusable.get(f"{pt}.{pc}") or (
            None if pt in files else f"no {pt} table was supplied")
        if why:
            n = int(child.notna().sum())
            if n:
                problems.append(_problem(files[t].name, c, "", "", f"{n} row(s) not checked against {pt}.{pc}, "
                                         f"because {why}", f"fix {pt} first (see the problem above); these "
                                         "rows are checked again then"))
            continue
        if (t, c) == ("episodes", "referral_id") and found is not None:   # where each is: the cohorts need it
            pending = found.get("pending")
            found[(t, c)] = where = (pending.result() if pending is not None
                                     else positions(child, tables[pt][pc]))
            bad = child.notna() & pd.Series(where < 0, index=child.index)
        else:
            bad = child.notna() & ~pd.Series(isin(child, tables[pt][pc]), index=child.index)
        report(t, c, bad, f"not found in {pt}.{pc}", f"every {c} must match a row of {pt}")
    if "onward_referrals" in files:
        o = tables["onward_referrals"]
        both = o["referral_id"].notna() == o["partner_id"].notna()
        report("onward_referrals", "referral_id", both, "exactly one of referral_id and partner_id must be set",
               "fill in referral_id for the person or partner_id for a partner, not both")
    if "episodes" in files:
        e = tables["episodes"]
        report("episodes", "end_date", (e["end_date"] < e["start_date"]).fillna(False),
               "end_date is before start_date", "check both dates")
        report("episodes", "sessions_attended", (e["sessions_attended"] > e["sessions_offered"]).fillna(False),
               "more sessions attended than offered", "check sessions_attended and sessions_offered")
        ended = pd.Series(isin(e["status"], ["completed", "disengaged", "suspended", "excluded"]), index=e.index)
        report("episodes", "end_date", ended & e["end_date"].isna(),
               "an ended episode has no end_date", "give the date of the last session or of closure")
        report("episodes", "end_date", e["status"].eq("ongoing").fillna(False) & e["end_date"].notna(),
               "an ongoing episode has an end_date", "set status to how it ended, or clear end_date")
    if meta is None:
        return
    for t, df in tables.items():
        if t not in files:
            continue
        limit = pd.Timestamp(getattr(meta, EXTRACT_DATE_OF.get(t, "extract_date")) or meta.extract_date)
        for col in TABLES[t].columns:
            if col.kind == "date" and _latest(df[col.name]) > limit:   # the latest date first: usually none late
                late = (df[col.name] > limit).fillna(False)
                report(t, col.name, late, f"date is after the extract date {limit.date()}",
                       "correct the date, or the extract date in dataset.yaml")


def _latest(dates: pd.Series) -> pd.Timestamp:
    """The latest date of a column (``NaT`` when none), without the copy pandas makes to skip
    missing values: as whole nanoseconds, a missing date is the smallest number there is."""
    if dates.dtype != np.dtype("datetime64[ns]") or not len(dates):
        return dates.max()
    latest = dates.to_numpy().view(np.int64).max()
    return pd.NaT if latest == np.iinfo(np.int64).min else pd.Timestamp(latest)


def _fmt(v) -> str:
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return "" if v is None or v is pd.NA else str(v)


def validate_dataset(folder: str | Path, area: AreaParams | str | None = None) -> pd.DataFrame:
    """All problems of a dataset as a table (empty when it keeps the contract)."""
    try:
        load_dataset(folder, area)
    except DataValidationError as exc:
        return exc.problems
    return pd.DataFrame(columns=PROBLEM_COLUMNS)


def fingerprint(paths, *extra: Path) -> str:
    """SHA-256 over the input files' names and bytes, for a report's provenance.

    A table supplied as a folder of Parquet files (partitioned, e.g. one file per area)
    counts every file in it, in name order.
    """
    h = hashlib.sha256()
    for p in sorted([*paths, *[e for e in extra if e.exists()]], key=lambda p: p.name):
        h.update(p.name.encode())
        for part in (sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]):
            if part != p:
                h.update(part.relative_to(p).as_posix().encode())
            with part.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def data_dictionary_markdown() -> str:
    """The data dictionary (``docs/data-dictionary.md``), made from :data:`TABLES`.

    A test keeps the committed file equal to this, so docs and code cannot drift.
    """
    kinds = {"str": "text", "date": "date (YYYY-MM-DD)", "bool": "true/false", "int": "whole number",
             "category": "category"}
    lines = [
        "# Data dictionary",
        "",
        "Generated from `evallib/contract.py` (`python -m evallib.schemas > docs/data-dictionary.md`);",
        "a test fails if this file and the code differ. The rules and their rationale are in",
        "`data-contract.md`; every rule below is checked by `evallib validate`.",
        "",
        "A dataset is a folder with `dataset.yaml` (area, extract_date, police_extract_date,",
        "description) and one file per table: CSV (UTF-8), XLSX (first sheet) or Parquet.",
        "Column names, labels and the date format may be the export's own: the area file maps them",
        "(`columns`, `labels`, `date_format`; see `adapting.md`). Labels are matched ignoring case,",
        "spaces and punctuation; text dates are YYYY-MM-DD unless the area declares another format",
        "(never guessed); Excel date cells are read as dates.",
        "",
    ]
    for t in TABLES.values():
        lines += [f"## `{t.name}` ({'required' if t.required else 'optional'})", "", t.meaning[0].upper() + t.meaning[1:] + ".", "",
                  "| column | type | required | meaning | allowed values |", "|---|---|---|---|---|"]
        for c in t.columns:
            allowed = ", ".join(c.categories) if c.categories else (
                "the area's districts (params)" if c.name == "district" else
                "the area's programmes (params)" if c.name == "programme" else "")
            if c.minimum is not None or c.maximum is not None:
                allowed = f"{c.minimum} to {c.maximum}" if c.maximum is not None else f"{c.minimum} or more"
            if c.unique:
                allowed = "unique"
            lines.append(f"| {c.name} | {kinds[c.kind]} | {'yes' if c.required else 'no'} | {c.meaning} | {allowed} |")
        lines.append("")
    lines += ["## Checks across tables", ""]
    lines += [f"- `{t}.{c}` must match `{pt}.{pc}`" for (t, c), (pt, pc) in FOREIGN_KEYS.items()]
    lines += [
        "- `episodes.end_date` not before `start_date`; ended episodes have an end date, ongoing ones do not",
        "- `episodes.sessions_attended` not above `sessions_offered`",
        "- no date after the extract date (`police` dates: the police extract date)",
        "- `onward_referrals`: exactly one of `referral_id` and `partner_id`",
        "",
        "## How files are read",
        "",
        "- File names are matched whatever their case (`Referrals.CSV` is `referrals`); a file that looks",
        "  meant as a table not supplied (`referral.csv`, `police.xls`) is reported, naming it.",
        "- CSV: UTF-8 (with or without a byte-order mark) or UTF-16 with a byte-order mark; cells separated",
        "  by commas, semicolons, tabs or bars (the one that splits the header row into the most column",
        "  names; semicolons inside a value do not decide it).",
        "- CSV and XLSX: the header is the first row naming a contract column (title rows above it are",
        "  skipped); empty rows are skipped. Row numbers in problems are the file's own (header row = 1",
        "  when it is the first). Parquet: row 1 is the first record.",
        f"- Whole numbers above {LARGEST_NUMBER:,} are refused as too large for any column.",
        "- `dataset.yaml`: keys and values, UTF-8; `area` and `extract_date` must be filled in; dates",
        f"  YYYY-MM-DD with a year from {SANE_YEARS[0]} to {SANE_YEARS[1]}.",
        "",
        "## Columns that identify a person",
        "",
        "A dataset carries pseudonymous ids only. A column whose name says it holds one of the following",
        "is refused, whatever the case, spacing or punctuation of its name (`D.O.B.`, `Date of Birth`,",
        "`nhs_no`), even when the area params list it under `extra_columns` or map it onto a contract",
        "column; delete it from the export.",
        "",
        "| holds | names recognised |",
        "|---|---|",
        *[f"| {kind} | {', '.join(names)} |" for kind, names in IDENTIFYING_KINDS.items()],
        "",
        "A name containing any of these is refused too (`Client Postcode`, `Mother's Date of Birth`): "
        + ", ".join(f"`{part}`" for part in IDENTIFYING_PARTS) + " (compared without case, spaces or punctuation).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(data_dictionary_markdown(), end="")
