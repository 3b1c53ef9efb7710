"""The input data contract, enforced: load a dataset folder and report every problem at once.

A dataset is a folder with one file per table (``referrals.csv``, ``episodes.parquet``,
``partners.xlsx``, ...) and a ``dataset.yaml`` describing the extract. The contract is
declared once here (:data:`TABLES`); loading, validation and the data dictionary in
``docs/data-dictionary.md`` all read that one declaration. Problems come back as a
table (file, column, row as in the file, value, problem, fix); nothing is dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml

from evallib.params import ISO_DATE, AreaParams, date_format_example, load_area, normalise_label

__all__ = [
    "Column", "Table", "TABLES", "Dataset", "DatasetMeta", "DataValidationError",
    "load_dataset", "validate_dataset", "PROBLEM_COLUMNS",
]

Kind = Literal["str", "date", "bool", "int", "category"]
PROBLEM_COLUMNS = ["file", "column", "row", "value", "problem", "fix"]

# Columns that would identify a person: refused outright, even if listed as extra.
IDENTIFYING = {
    "name", "first_name", "last_name", "surname", "forename", "full_name", "address",
    "postcode", "post_code", "date_of_birth", "dob", "birth_date", "phone", "telephone",
    "mobile", "email", "nhs_number", "ni_number", "pnc_id", "case_notes", "notes",
}

TRUE_WORDS = {"true", "yes", "1", "y", "t"}
FALSE_WORDS = {"false", "no", "0", "n", "f"}


@dataclass(frozen=True)
class Column:
    """One column of the contract. ``categories`` for category columns; ``district`` and
    ``programme`` categories come from the area's params."""

    name: str
    kind: Kind
    required: bool
    meaning: str
    categories: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    meaning: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


OUTCOME_LEVELS = ("improved", "no_change", "deteriorated", "unknown")
YES_NO_UNKNOWN = ("yes", "no", "unknown")

TABLES: dict[str, Table] = {t.name: t for t in [
    Table("referrals", True, "one row per referral of a person using abusive behaviour", (
        Column("referral_id", "str", True, "unique in the table", unique=True),
        Column("person_id", "str", True, "pseudonymous id of the person referred; the same id is used in police"),
        Column("referral_date", "date", True, "date the referral was received"),
        Column("district", "category", True, "one of the area's districts (params)"),
        Column("source", "category", True, "who referred", categories=(
            "self", "police", "childrens_social_care", "adult_social_care", "probation",
            "health", "idva_marac", "other")),
        Column("eligible", "bool", True, "passed the eligibility rules"),
        Column("ineligible_reason", "str", False, "why not eligible"),
        Column("gender", "category", False, "gender", categories=("female", "male", "other", "unknown")),
        Column("age", "int", False, "age at referral", minimum=10, maximum=110),
        Column("ethnicity", "category", False, "ONS five groups", categories=(
            "white", "mixed", "asian", "black", "other", "unknown")),
        Column("risk_level", "category", False, "assessed harm at assessment",
               categories=("standard", "medium", "high")),
        Column("children", "int", False, "children in the household or affected", minimum=0),
        Column("prior_da_incidents", "int", False, "police DA incidents known in the 2 years before referral", minimum=0),
        Column("substance_misuse", "bool", False, "substance misuse identified at assessment"),
        Column("mental_health", "bool", False, "mental health needs identified at assessment"),
    )),
    Table("episodes", True, "one row per intervention a person started", (
        Column("episode_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", True, "must exist in referrals"),
        Column("programme", "category", True, "one of the area's programmes (params)"),
        Column("start_date", "date", True, "first session attended"),
        Column("end_date", "date", False, "last session or date closed; empty while ongoing"),
        Column("status", "category", True, "state of the episode", categories=(
            "completed", "disengaged", "suspended", "excluded", "ongoing")),
        Column("sessions_offered", "int", False, "sessions offered", minimum=0),
        Column("sessions_attended", "int", False, "not more than sessions_offered", minimum=0),
    )),
    Table("incidents", False, "incidents of abuse known to the service while a case was open", (
        Column("incident_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", True, "must exist in referrals"),
        Column("incident_date", "date", True, "date of the incident"),
        Column("reported_by", "category", True, "who reported it", categories=(
            "partner", "police", "self", "practitioner", "other")),
    )),
    Table("partners", False, "partners and ex-partners offered the Partner Support Service", (
        Column("partner_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", True, "the referral of the person whose (ex-)partner this is"),
        Column("offered_date", "date", True, "date support was first offered"),
        Column("contact_made", "bool", False, "contact established"),
        Column("support", "category", False, "none, one, or more than one incident of support",
               categories=("declined", "single", "multiple")),
        Column("engaged", "bool", True, "took up support at any stage"),
        Column("stage", "category", False, "stage of the person's intervention",
               categories=("assessment", "intervention", "post_intervention")),
        Column("dash_start", "int", False, "DASH checklist yes-count at first contact", minimum=0, maximum=27),
        Column("dash_end", "int", False, "DASH checklist yes-count at last contact", minimum=0, maximum=27),
        Column("feels_safer", "category", False, "at last contact", categories=YES_NO_UNKNOWN),
        Column("abuse_reduced", "category", False, "partner reports the person's use of abuse has reduced",
               categories=YES_NO_UNKNOWN),
        Column("outcome_coping", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
        Column("outcome_safety", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
        Column("outcome_mental_health", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
        Column("outcome_confidence", "category", False, "OPCC outcome domain", categories=OUTCOME_LEVELS),
    )),
    Table("police", False, "police-recorded offences of referred people", (
        Column("offence_id", "str", True, "unique", unique=True),
        Column("person_id", "str", True, "as in referrals; ids with no referral are allowed and ignored"),
        Column("offence_date", "date", True, "date the offence was committed"),
        Column("da_related", "bool", True, "flagged domestic-abuse related"),
        Column("outcome", "category", True, "outcome of the offence", categories=(
            "conviction", "caution", "community_resolution", "charge_pending",
            "no_further_action", "other")),
        Column("outcome_date", "date", False, "date of the outcome (court disposal or caution)"),
    )),
    Table("sessions", False, "sessions delivered, for returns", (
        Column("session_id", "str", True, "unique", unique=True),
        Column("programme", "category", True, "one of the area's programmes (params)"),
        Column("session_date", "date", True, "date of the session"),
        Column("format", "category", True, "group or one-to-one", categories=("group", "one_to_one")),
        Column("attendees", "int", True, "people attending", minimum=0),
    )),
    Table("onward_referrals", False, "referrals made to specialist services", (
        Column("onward_id", "str", True, "unique", unique=True),
        Column("referral_id", "str", False, "set for a referral to a service for the person"),
        Column("partner_id", "str", False, "set for a referral to a service for a partner"),
        Column("service", "category", True, "service referred to", categories=(
            "housing", "substance_misuse", "mental_health", "counselling", "children_services", "other")),
        Column("date", "date", True, "date of the onward referral"),
    )),
]}

# Foreign keys: (table, column) -> (table, column)
FOREIGN_KEYS = {
    ("episodes", "referral_id"): ("referrals", "referral_id"),
    ("incidents", "referral_id"): ("referrals", "referral_id"),
    ("partners", "referral_id"): ("referrals", "referral_id"),
    ("onward_referrals", "referral_id"): ("referrals", "referral_id"),
    ("onward_referrals", "partner_id"): ("partners", "partner_id"),
}
# Dates checked against the extract date: table -> (date columns, which extract date)
EXTRACT_DATE_OF = {"police": "police_extract_date"}


class DataValidationError(ValueError):
    """A dataset that breaks the contract. ``problems`` lists every problem found."""

    def __init__(self, problems: pd.DataFrame, folder: Path | str = ""):
        self.problems = problems.reset_index(drop=True)
        self.folder = str(folder)
        n = len(self.problems)
        super().__init__(f"{n} problem(s) in the dataset {self.folder}:\n{self.to_text()}")

    def to_text(self, limit: int = 60) -> str:
        """The problem table as aligned text, at most ``limit`` rows (the rest counted)."""
        shown = self.problems.head(limit).astype(str)
        text = shown.to_string(index=False, max_colwidth=70)
        if len(self.problems) > limit:
            text += f"\n... and {len(self.problems) - limit} more problem(s)"
        return text


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
def _find_file(folder: Path, table: str) -> tuple[Path | None, list[dict]]:
    found = [folder / f"{table}{ext}" for ext in (".csv", ".xlsx", ".parquet")
             if (folder / f"{table}{ext}").exists()]
    if len(found) > 1:
        return None, [_problem(", ".join(p.name for p in found), "", "", "",
                               f"table {table} is supplied {len(found)} times",
                               "keep one file per table")]
    return (found[0] if found else None), []


def _read_raw(path: Path) -> tuple[pd.DataFrame, int]:
    """Read a table without interpreting it; returns the frame and the file row offset
    (row number in the file of the first data row)."""
    if path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        return df, 2
    if path.suffix == ".xlsx":
        df = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
        return df, 2
    df = pd.read_parquet(path)
    return df, 1


def _problem(file: str, column: str, row, value, problem: str, fix: str) -> dict:
    return {"file": file, "column": column, "row": row, "value": value, "problem": problem, "fix": fix}


def _blank(s: pd.Series) -> pd.Series:
    """True where a raw cell is empty (missing, NaN, or only spaces)."""
    return s.isna() | s.astype("string").str.strip().fillna("").eq("")


def _as_text(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.strip()
    return out.mask(_blank(s))


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
    values = values.astype("datetime64[ns]").dt.normalize()
    bad = values.isna() & ~blank
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
        whole = num.notna() & (num == np.floor(num.astype(float)))
        bad = (~blank & ~whole)
        values = num.where(whole).astype("Float64").astype("Int64")
        return values, bad, "not a whole number", "write a whole number such as 3, or leave it empty"
    text = _as_text(raw)
    if col.kind == "category" and allowed is not None:
        bad = text.notna() & ~text.isin(allowed)
        return text, bad, "not a known category", f"use one of: {', '.join(allowed)}"
    return text, pd.Series(False, index=raw.index), "", ""


def _map_labels(raw: pd.Series, table: str, col: Column, area: AreaParams
                ) -> tuple[pd.Series, tuple[str, ...], str]:
    """A category column's labels as the contract's values, and the fix for those left over.

    Every label is matched the same way (:func:`evallib.params.normalise_label`: case,
    spaces and punctuation ignored), against the contract's values, then the area's
    ``labels`` for this column (and, for districts, ``district_aliases``; for programmes,
    their ``label``). The distinct labels are looked up, not each row.
    """
    allowed = area.allowed_values(table, col.name) or ()
    lookup: dict[str, str] = {}
    if col.name == "programme":
        lookup.update({normalise_label(p.label): key for key, p in area.programmes.items()})
    if col.name == "district":
        lookup.update({normalise_label(a): d for a, d in area.district_aliases.items()})
    canonical = {normalise_label(a): a for a in allowed}
    lookup.update({normalise_label(k): canonical[normalise_label(v)]
                   for k, v in area.labels.get(table, {}).get(col.name, {}).items()})
    lookup.update(canonical)
    text = _as_text(raw)
    found = {v: lookup.get(normalise_label(v), v) for v in text.dropna().unique()}
    mapped = text.map(found).astype("string")
    where = f"labels.{table}.{col.name}"
    if col.name == "district":
        fix = (f"use one of the area's districts: {', '.join(allowed)}, or add the export's spelling "
               f"under district_aliases (or {where}) in the area file")
    elif col.name == "programme":
        fix = (f"use one of the area's programmes: {', '.join(allowed)}, or map the export's label onto "
               f"one under {where} in the area file")
    else:
        fix = (f"use one of: {', '.join(allowed)}, or map the export's label onto one under {where} "
               "in the area file (case, spaces and punctuation are ignored)")
    return mapped, allowed, fix


def _many(file: str, column: str, mask: pd.Series, values, offset: int, problem: str, fix: str) -> pd.DataFrame:
    """Problem rows for every flagged cell of a column at once (vectorised, not a loop over rows)."""
    where = np.flatnonzero(np.asarray(mask, dtype=bool))
    vals = pd.Series(values).iloc[where] if not isinstance(values, str) else pd.Series([values] * len(where))
    text = vals.map(_fmt).to_numpy() if len(where) else np.array([], dtype=object)
    return pd.DataFrame({"file": file, "column": column, "row": where + offset, "value": text,
                         "problem": problem, "fix": fix}, columns=PROBLEM_COLUMNS)


def _as_frame(problems: list) -> pd.DataFrame:
    frames = [p if isinstance(p, pd.DataFrame) else pd.DataFrame([p], columns=PROBLEM_COLUMNS) for p in problems]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PROBLEM_COLUMNS)


def _read_meta(folder: Path, problems: list[dict]) -> DatasetMeta | None:
    path = folder / "dataset.yaml"
    if not path.exists():
        problems.append(_problem("dataset.yaml", "", "", "", "the dataset has no dataset.yaml",
                                 "add dataset.yaml with area, extract_date (YYYY-MM-DD) and description"))
        return None
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        problems.append(_problem("dataset.yaml", "", "", "", f"not valid YAML: {exc}", "fix the YAML syntax"))
        return None
    meta_problems = []
    for key in ("area", "extract_date"):
        if key not in raw:
            meta_problems.append(_problem("dataset.yaml", key, "", "", f"{key} is missing",
                                          f"add {key}: to dataset.yaml"))

    def as_date(key):
        v = raw.get(key)
        if v is None or isinstance(v, date):
            return v
        try:
            return date.fromisoformat(str(v))
        except ValueError:
            meta_problems.append(_problem("dataset.yaml", key, "", v, "not a date", "write YYYY-MM-DD"))
            return None

    extract, police = as_date("extract_date"), as_date("police_extract_date")
    unknown = set(raw) - {"area", "extract_date", "police_extract_date", "description", "synthetic"}
    for key in sorted(unknown):
        meta_problems.append(_problem("dataset.yaml", key, "", "", "unknown key",
                                      "keys are area, extract_date, police_extract_date, description, synthetic"))
    problems.extend(meta_problems)
    if meta_problems:
        return None
    return DatasetMeta(area=str(raw["area"]), extract_date=extract, police_extract_date=police,
                       description=str(raw.get("description", "")), synthetic=raw.get("synthetic") or {})


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
    folder = Path(folder)
    problems: list[dict] = []
    if not folder.is_dir():
        raise DataValidationError(pd.DataFrame([_problem(str(folder), "", "", "", "no such folder",
                                                         "give the folder that holds referrals.csv etc.")],
                                               columns=PROBLEM_COLUMNS), folder)
    meta = _read_meta(folder, problems)
    if isinstance(area, str):
        area = load_area(area)
    elif area is None:
        if meta is None:
            raise DataValidationError(_as_frame(problems), folder)
        area = load_area(meta.area)
    if meta is not None and meta.area != area.name:
        problems.append(_problem("dataset.yaml", "area", "", meta.area,
                                 f"the dataset is for area {meta.area!r}, not {area.name!r}",
                                 "check --area, or the area: key in dataset.yaml"))

    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    offsets: dict[str, int] = {}
    for table in TABLES.values():
        path, found_problems = _find_file(folder, table.name)
        problems.extend(found_problems)
        if path is None:
            if table.required and not found_problems:
                problems.append(_problem(f"{table.name}.csv", "", "", "", f"required table {table.name} is missing",
                                         f"supply {table.name}.csv, .xlsx or .parquet in {folder}"))
            tables[table.name] = _empty_table(table)
            continue
        files[table.name] = path
        try:
            raw, offset = _read_raw(path)
        except Exception as exc:  # unreadable file: report, do not crash
            problems.append(_problem(path.name, "", "", "", f"cannot be read: {exc}",
                                     "save it as UTF-8 CSV, XLSX (first sheet) or Parquet"))
            tables[table.name] = _empty_table(table)
            continue
        offsets[table.name] = offset
        raw.columns = [str(c).strip() for c in raw.columns]
        raw = raw.rename(columns=area.columns.get(table.name, {}))
        fname = path.name
        extras = set(area.extra_columns.get(table.name, []))
        for c in raw.columns:
            if c.lower() in IDENTIFYING:
                problems.append(_problem(fname, c, "", "", "this column would identify a person and is never read",
                                         "remove it from the export: datasets carry pseudonymous ids only"))
            elif c not in table.names and c not in extras:
                problems.append(_problem(fname, c, "", "", "column not in the data contract",
                                         f"remove it, map it to a contract column under columns.{table.name} in "
                                         f"the area params, or list it under extra_columns.{table.name}"))
        missing = [c for c in table.columns if c.required and c.name not in raw.columns]
        for c in missing:
            problems.append(_problem(fname, c.name, "", "", "required column is missing",
                                     f"add the column {c.name} ({c.meaning})"))
        parsed: dict[str, pd.Series] = {}
        for col in table.columns:
            if col.name not in raw.columns:
                continue
            series, allowed, label_fix = raw[col.name], None, ""
            if col.kind == "category":
                series, allowed, label_fix = _map_labels(series, table.name, col, area)
            values, bad, what, fix = _parse_column(series, col, allowed, area.date_format_for(table.name, col.name))
            fix = label_fix or fix
            problems.append(_many(fname, col.name, bad, raw[col.name], offset, what, fix))
            if col.required:
                empty = values.isna() & ~bad
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
                dup = values.notna() & values.duplicated(keep=False)
                problems.append(_many(fname, col.name, dup, raw[col.name], offset,
                                      "id is not unique", "give every row its own id"))
            parsed[col.name] = values
        df = _empty_table(table)
        df = pd.DataFrame({c.name: parsed.get(c.name, df[c.name].reindex(raw.index)) for c in table.columns},
                          index=raw.index)
        for c in extras & set(raw.columns):
            df[c] = raw[c]
        tables[table.name] = df

    _check_relations(tables, files, offsets, meta, problems)
    found = _as_frame(problems)
    if len(found):
        raise DataValidationError(found, folder)
    return Dataset(folder=folder, meta=meta, area=area, tables={k: v.reset_index(drop=True) for k, v in tables.items()},
                   present=set(files), files=files, fingerprint=fingerprint(files.values(), folder / "dataset.yaml"))


def _check_relations(tables, files, offsets, meta, problems) -> None:
    """Cross-column and cross-table rules: foreign keys, date order, extract dates."""
    def report(table, col, mask, what, fix, values=None):
        df = tables[table]
        off = offsets.get(table, 2)
        vals = df[col] if values is None else values
        problems.append(_many(files[table].name, col, mask, vals, off, what, fix))

    for (t, c), (pt, pc) in FOREIGN_KEYS.items():
        if t not in files or pt not in tables:
            continue
        child = tables[t][c]
        bad = child.notna() & ~child.isin(tables[pt][pc].dropna())
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
        ended = e["status"].isin(["completed", "disengaged", "suspended", "excluded"]).fillna(False)
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
            if col.kind == "date":
                late = (df[col.name] > limit).fillna(False)
                report(t, col.name, late, f"date is after the extract date {limit.date()}",
                       "correct the date, or the extract date in dataset.yaml")


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
        "Generated from `evallib/schemas.py` (`python -m evallib.schemas > docs/data-dictionary.md`);",
        "a test fails if this file and the code differ. The rules and their rationale are in",
        "`data-contract.md`; every rule below is checked by `evallib validate`.",
        "",
        "A dataset is a folder with `dataset.yaml` (area, extract_date, police_extract_date,",
        "description) and one file per table: CSV (UTF-8), XLSX (first sheet) or Parquet.",
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
        f"- columns that would identify a person are refused: {', '.join(sorted(IDENTIFYING))}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(data_dictionary_markdown(), end="")
