"""Area files, suite settings and periods: configuration kept apart from code.

An area's YAML file (``params/areas/<area>.yaml``) says which districts and groups of
districts it reports, which programmes it runs and in what role, how small counts are
suppressed, how a provider's own column names and labels map onto the data
contract, and how its export writes dates. ``params/suite.yaml`` names the default run.
Both are validated on load: an unknown key, a wrong type, an unknown programme role, or a
column or label mapped onto something the data contract does not have is an error that
names the file and the key, so a mistake in the area file never surfaces later as
hundreds of data problems blaming the provider.
"""

from __future__ import annotations

import calendar
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Period", "PeriodError", "parse_period", "financial_year_of",
    "ParamsError", "AreaParams", "Programme", "DisclosureSettings", "OutcomeSettings",
    "SuiteParams", "SuiteRun", "load_area", "load_suite", "params_dir", "available_areas",
    "normalise_label", "ISO_DATE", "strftime_format", "date_format_example",
]

PROGRAMME_ROLES = ("core", "awareness", "follow_on")
ISO_DATE = "%Y-%m-%d"


# --------------------------------------------------------------------------- labels, dates
def normalise_label(value: object) -> str:
    """A label as matched: case, spaces and punctuation ignored, ``&`` read as ``and``.

    Districts, programmes and every category label are compared this way, so
    ``"IDVA/MARAC "``, ``"idva-marac"`` and ``"IDVA MARAC"`` are one label.

    >>> normalise_label("  Children's SOCIAL care ") == normalise_label("childrens_social_care")
    True
    """
    text = str(value).strip().lower().replace("&", " and ")
    return re.sub(r"[\W_]+", "", text)


_DATE_TOKENS = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dd|d", re.IGNORECASE)
_DATE_TOKEN_CODES = {"yyyy": "%Y", "yy": "%y", "mmmm": "%B", "mmm": "%b", "mm": "%m", "m": "%m",
                     "dd": "%d", "d": "%d"}
DATE_FORMAT_HELP = ("write it as a Python date format such as \"%d/%m/%Y\" (25/04/2022), "
                    "\"%d-%m-%Y\" or \"%Y-%m-%d\", or as dd/mm/yyyy")


def strftime_format(text: str) -> str:
    """A date format as Python writes it (``%d/%m/%Y``); ``dd/mm/yyyy`` is read too.

    Raises ``ValueError`` for a format that does not name a day, a month and a year, or
    that cannot read back the dates it writes.
    """
    text = str(text).strip()
    fmt = text if "%" in text else _DATE_TOKENS.sub(lambda m: _DATE_TOKEN_CODES[m.group(0).lower()], text)
    if re.search(r"[A-Za-z]", re.sub(r"%[A-Za-z]", "", fmt)):
        raise ValueError(f"date format {text!r} is not one the suite reads; {DATE_FORMAT_HELP}")
    has = {code for code in ("%d", "%m", "%b", "%B", "%Y", "%y") if code in fmt}
    if "%d" not in has or not has & {"%m", "%b", "%B"} or not has & {"%Y", "%y"}:
        raise ValueError(f"date format {text!r} must name a day, a month and a year; {DATE_FORMAT_HELP}")
    sample = datetime(2022, 4, 25)
    try:
        back = datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError:
        back = None
    if back != sample:
        raise ValueError(f"date format {text!r} cannot read back the dates it writes; {DATE_FORMAT_HELP}")
    return fmt


def date_format_example(fmt: str) -> str:
    """25 April 2022 written in ``fmt``, for messages: ``25/04/2022``."""
    return datetime(2022, 4, 25).strftime(fmt)


# --------------------------------------------------------------------------- periods
class PeriodError(ValueError):
    """A period written in a form the suite does not read."""


PERIOD_HELP = (
    "write a financial year as 2021-22 (1 April 2021 to 31 March 2022), a financial "
    "quarter as 2023-24Q3 (Q1 = April-June, so Q3 = October-December 2023), or a date "
    "range as 2022-04-01..2022-11-30 (both ends included)"
)


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period with both ends included.

    ``label`` is what the user wrote (``2021-22``, ``2023-24Q3`` or
    ``2022-04-01..2022-11-30``); ``kind`` is ``year``, ``quarter`` or ``range``.
    """

    start: date
    end: date
    label: str
    kind: str = "range"

    @property
    def slug(self) -> str:
        """A folder-safe name: ``2021-22``, ``2023-24Q3``, ``2022-04-01_2022-11-30``."""
        return self.label.replace("..", "_")

    @property
    def title(self) -> str:
        """How a report names the period, e.g. ``April 2021 - March 2022``."""
        if self.kind == "quarter":
            return f"{self.label} ({_month_year(self.start)} - {_month_year(self.end)})"
        if self.start.day == 1 and self.end == _month_end(self.end):
            return f"{_month_year(self.start)} - {_month_year(self.end)}"
        return f"{self.start:%d %B %Y} - {self.end:%d %B %Y}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


def _month_year(d: date) -> str:
    return f"{calendar.month_name[d.month]} {d.year}"


def _month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


_YEAR = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-(\d{2})\s*Q([1-4])$", re.IGNORECASE)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


#: Years a period may start in: outside them a period is a typing mistake (``9999-00``).
PERIOD_YEARS = (1990, 2100)


def _sane_year(year: int, text: str) -> None:
    if not PERIOD_YEARS[0] <= year <= PERIOD_YEARS[1]:
        raise PeriodError(f"period {text!r}: the year {year} is outside {PERIOD_YEARS[0]}-{PERIOD_YEARS[1]}; "
                          f"{PERIOD_HELP}")


def _financial_year(first: str, second: str, text: str) -> int:
    start_year = int(first)
    _sane_year(start_year, text)
    if (start_year + 1) % 100 != int(second):
        raise PeriodError(
            f"period {text!r}: a financial year runs from one year into the next, so "
            f"{first} must be followed by {(start_year + 1) % 100:02d}; {PERIOD_HELP}"
        )
    return start_year


def parse_period(text: str | Period) -> Period:
    """Read a period written as a financial year, a financial quarter or a date range.

    >>> parse_period("2021-22")
    Period(start=datetime.date(2021, 4, 1), end=datetime.date(2022, 3, 31), label='2021-22', kind='year')
    >>> parse_period("2023-24Q3").start
    datetime.date(2023, 10, 1)
    """
    if isinstance(text, Period):
        return text
    raw = str(text).strip()
    if m := _YEAR.match(raw):
        y = _financial_year(m.group(1), m.group(2), raw)
        return Period(date(y, 4, 1), date(y + 1, 3, 31), raw, "year")
    if m := _QUARTER.match(raw):
        y = _financial_year(m.group(1), m.group(2), raw)
        q = int(m.group(3))
        first_month = 4 + 3 * (q - 1)
        year = y if first_month <= 12 else y + 1
        first_month = (first_month - 1) % 12 + 1
        start = date(year, first_month, 1)
        end = _month_end(date(year, first_month + 2, 1))
        return Period(start, end, f"{m.group(1)}-{m.group(2)}Q{q}", "quarter")
    if m := _RANGE.match(raw):
        try:
            start, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        except ValueError as exc:
            raise PeriodError(f"period {raw!r}: {exc}; {PERIOD_HELP}") from None
        _sane_year(start.year, raw)
        _sane_year(end.year, raw)
        if end < start:
            raise PeriodError(f"period {raw!r} ends before it starts; {PERIOD_HELP}")
        return Period(start, end, f"{start.isoformat()}..{end.isoformat()}", "range")
    raise PeriodError(f"period {raw!r} is not a form the suite reads; {PERIOD_HELP}")


def financial_year_of(day: date) -> str:
    """The financial year a date falls in, e.g. 2022-02-01 -> ``2021-22``."""
    y = day.year if day.month >= 4 else day.year - 1
    return f"{y}-{(y + 1) % 100:02d}"


# --------------------------------------------------------------------------- models
class ParamsError(ValueError):
    """A params file that cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Programme(_Strict):
    """A programme an area runs. ``role``: core, awareness or follow_on."""

    role: Literal["core", "awareness", "follow_on"]
    label: str
    weeks: int | None = None


class DisclosureSettings(_Strict):
    """Small-number suppression for every published table."""

    threshold: int = Field(5, ge=0, description="counts 1..threshold-1 are suppressed; 0 turns it off")
    round_to: int | None = Field(None, ge=1, description="round published counts to this base")


class OutcomeSettings(_Strict):
    """What the evaluation outcomes mean (see docs/outcomes.md)."""

    window_months: int = Field(12, ge=1, le=60)
    waiting_months: int = Field(6, ge=0, le=24)
    index_date: Literal["exit", "start"] = "exit"
    before_after_months: tuple[int, ...] = (6, 12)
    proven_outcomes: tuple[str, ...] = ("conviction", "caution", "community_resolution")
    countable_when: Literal["waiting_over", "window_over"] = Field(
        "waiting_over", description="waiting_over (the MoJ rule) or window_over: count people whose window is "
        "over but whose waiting period is not, with the outcomes recorded so far (a sensitivity analysis)")


class PublishedClaim(_Strict):
    """A partner outcome as the commissioner or provider published it, shown beside the computed rate."""

    wording: str
    source: str


class AreaParams(_Strict):
    """Everything the suite knows about one area; one YAML file per area."""

    name: str
    display_name: str
    police_force: str | None = None
    districts: list[str] = Field(min_length=1)
    district_aliases: dict[str, str] = {}
    groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="reporting groups, in table order; a group of several districts is shown "
        "after its districts, a group of one district is shown as that one row",
    )
    programmes: dict[str, Programme] = Field(min_length=1)
    disclosure: DisclosureSettings = DisclosureSettings()
    outcomes: OutcomeSettings = OutcomeSettings()
    columns: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="per table: provider column name -> contract column name")
    labels: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict, description="per table and column: provider label -> contract label")
    extra_columns: dict[str, list[str]] = Field(
        default_factory=dict, description="per table: columns outside the contract that may be read")
    date_format: str | None = Field(
        None, description="how the export writes dates held as text, e.g. \"%d/%m/%Y\" (or dd/mm/yyyy); "
        "unset: ISO 8601 (2022-04-25). Excel date cells are read as dates whatever it says")
    date_formats: dict[str, str | dict[str, str]] = Field(
        default_factory=dict, description="overrides of date_format: per table (a format), or per "
        "table and column ({end_date: \"%d.%m.%Y\"})")
    published_claims: dict[Literal["feels_safer", "abuse_reduced"], PublishedClaim] = Field(
        default_factory=dict, description="partner outcomes as published (wording, source), shown beside "
        "the same rates computed with their n and interval")

    @model_validator(mode="before")
    @classmethod
    def _keys_as_text(cls, data: object) -> object:
        """Provider headers and labels are text, even when YAML reads one as a number or
        true/false (``1:``, ``True:``)."""
        if isinstance(data, dict):
            data = dict(data)
            for key in ("columns", "labels", "district_aliases", "extra_columns", "date_formats"):
                if isinstance(data.get(key), dict):
                    data[key] = _as_text_keys(data[key])
        return data

    @field_validator("date_format")
    @classmethod
    def _date_format_readable(cls, v: str | None) -> str | None:
        return None if v is None else strftime_format(v)

    @field_validator("date_formats")
    @classmethod
    def _date_formats_readable(cls, v: dict) -> dict:
        return {t: strftime_format(f) if isinstance(f, str) else {c: strftime_format(x) for c, x in f.items()}
                for t, f in v.items()}

    @field_validator("districts")
    @classmethod
    def _unique_districts(cls, v: list[str]) -> list[str]:
        dupes = sorted({d for d in v if v.count(d) > 1})
        if dupes:
            raise ValueError(f"districts listed twice: {dupes}")
        return v

    @model_validator(mode="after")
    def _groups_and_aliases_known(self) -> AreaParams:
        known = set(self.districts)
        for group, members in self.groups.items():
            unknown = [m for m in members if m not in known]
            if unknown:
                raise ValueError(f"group {group!r} names districts not in 'districts': {unknown}")
        for alias, target in self.district_aliases.items():
            if target not in known:
                raise ValueError(f"district_aliases: {alias!r} points at {target!r}, not in 'districts'")
        mistakes = self._contract_mistakes()
        if mistakes:
            raise ValueError("\n".join(mistakes))
        return self

    def _contract_mistakes(self) -> list[str]:
        """Every ``columns``, ``labels``, ``date_formats`` and ``extra_columns`` key, and
        every label target, checked against the data contract: ``key: what is wrong``."""
        from evallib.contract import TABLES  # the contract; it imports this module

        out: list[str] = []
        table_list = ", ".join(TABLES)

        def table_known(key: str, table: str) -> bool:
            if table not in TABLES:
                out.append(f"{key}.{table}: not a table of the data contract (tables: {table_list})")
                return False
            return True

        for table, mapping in self.columns.items():
            if not table_known("columns", table):
                continue
            names = TABLES[table].names
            for provider, contract in mapping.items():
                if contract not in names:
                    out.append(f"columns.{table}.{provider}: {contract!r} is not a column of {table} "
                               f"(columns: {', '.join(names)}); write the provider's header on the left, "
                               "the contract's column on the right")
            targets = list(mapping.values())
            for contract in sorted({c for c in targets if targets.count(c) > 1}):
                twice = [p for p, c in mapping.items() if c == contract]
                out.append(f"columns.{table}: {', '.join(map(repr, twice))} are all mapped onto {contract!r}; "
                           "map one provider column onto each contract column")
        for table, by_column in self.labels.items():
            if not table_known("labels", table):
                continue
            contract_table = TABLES[table]
            renamed = self.columns.get(table, {})
            for column, mapping in by_column.items():
                key = f"labels.{table}.{column}"
                if column not in contract_table.names:
                    hint = (f"; labels are keyed by the contract column, so write {renamed[column]!r} "
                            f"(the column {column!r} is mapped onto under columns.{table})"
                            if column in renamed else "; labels are keyed by the contract column's name")
                    out.append(f"{key}: not a column of {table}{hint}")
                    continue
                allowed = self.allowed_values(table, column)
                if allowed is None:
                    out.append(f"{key}: {column} is not a category or yes/no column, so it takes no labels")
                    continue
                known = {normalise_label(a) for a in allowed}
                if allowed == ("true", "false"):
                    known |= {"yes", "no"}
                for provider, target in mapping.items():
                    if normalise_label(target) not in known:
                        whose = (f"one of the area's {column}s" if column in ("district", "programme")
                                 else f"a {column} of the data contract")
                        out.append(f"{key}.{provider}: {target!r} is not {whose}; use one of: {', '.join(allowed)}")
                seen: dict[str, str] = {}
                for provider, target in mapping.items():
                    n = normalise_label(provider)
                    if n in seen and normalise_label(mapping[seen[n]]) != normalise_label(target):
                        out.append(f"{key}.{provider}: the same label as {seen[n]!r} (case, spaces and "
                                   "punctuation are ignored) but mapped elsewhere; keep one of them")
                    seen.setdefault(n, provider)
        for table, override in self.date_formats.items():
            if not table_known("date_formats", table) or isinstance(override, str):
                continue
            dates = [c.name for c in TABLES[table].columns if c.kind == "date"]
            for column in override:
                if column not in dates:
                    out.append(f"date_formats.{table}.{column}: not a date column of {table} "
                               f"(date columns: {', '.join(dates)})")
        for table in self.extra_columns:
            table_known("extra_columns", table)
        return out

    def allowed_values(self, table: str, column: str) -> tuple[str, ...] | None:
        """The values a contract column takes in this area: a category's values, ``true``
        and ``false`` for a yes/no column (``None``: a column that takes no labels)."""
        from evallib.contract import TABLES

        col = TABLES[table].column(column)
        if col.kind == "bool":
            return ("true", "false")
        if col.kind != "category":
            return None
        if column == "district":
            return tuple(self.districts)
        if column == "programme":
            return tuple(self.programmes)
        return col.categories

    def date_format_for(self, table: str, column: str) -> str:
        """The format of a text date in ``table.column``: the column's override, else the
        table's, else the area's ``date_format``, else ISO 8601."""
        override = self.date_formats.get(table)
        if isinstance(override, dict):
            override = override.get(column)
        return override or self.date_format or ISO_DATE

    # -- convenience views used across the library
    def programmes_with_role(self, role: str) -> list[str]:
        if role not in PROGRAMME_ROLES:
            raise ValueError(f"unknown programme role {role!r}; roles are {PROGRAMME_ROLES}")
        return [k for k, p in self.programmes.items() if p.role == role]

    @property
    def core_programmes(self) -> list[str]:
        return self.programmes_with_role("core")

    def report_rows(self) -> list[tuple[str, list[str]]]:
        """Table rows in the order commissioners know: ``(row name, member districts)``.

        Districts of a multi-district group come first, then the group's total row; a
        single-district group is one row under the group's name. Districts in no group
        are listed at the end under their own names.
        """
        rows: list[tuple[str, list[str]]] = []
        grouped: set[str] = set()
        for group, members in self.groups.items():
            if len(members) > 1:
                rows.extend((d, [d]) for d in members)
            rows.append((group, list(members)))
            grouped.update(members)
        rows.extend((d, [d]) for d in self.districts if d not in grouped)
        return rows


class SuiteRun(_Strict):
    """One block of the default run: an area, its periods, the notebooks to run, and the
    dataset they read (``data``; without it the suite's ``data``, normally the demo data).

    Each block is checked against its own dataset, so a block whose data are missing or
    are another area's stops that block only, never the other areas' runs.
    """

    area: str
    periods: list[str] = Field(min_length=1)
    notebooks: list[str] = Field(min_length=1)
    data: str | None = Field(None, description="this block's dataset folder, relative to the repository "
                             "(default: the suite's data)")
    areas: list[str] | None = Field(None, min_length=1, description="a pooled block: the areas pooled "
                                    "(then `area` names the pooled report, e.g. east_midlands; "
                                    "docs/pooling.md)")
    title: str | None = Field(None, description="a pooled block: the report's title, e.g. East Midlands")

    @field_validator("periods")
    @classmethod
    def _periods_parse(cls, v: list[str]) -> list[str]:
        for p in v:
            parse_period(p)
        return v


class SuiteParams(_Strict):
    """The default run (``params/suite.yaml``): areas x periods x notebooks."""

    data: str = Field("outputs/demo-data", description="dataset folder, relative to the repository")
    out: str = "outputs"
    formats: list[Literal["html", "pdf"]] = ["html"]
    runs: list[SuiteRun] = Field(min_length=1)


def _as_text_keys(value: object) -> object:
    """Mapping keys (and plain values) as text: YAML's ``1`` or ``true`` as ``"1"``, ``"true"``."""
    if isinstance(value, dict):
        return {_as_text_scalar(k): _as_text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text_keys(v) for v in value]
    return _as_text_scalar(value)


def _as_text_scalar(value: object) -> object:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, date)):
        return str(value)
    return value


# --------------------------------------------------------------------------- loading
class _ParamsLoader(yaml.SafeLoader):
    """YAML as a params file means it: only ``true``/``false`` are booleans.

    YAML 1.1 (PyYAML's default) reads ``Yes``, ``No``, ``On`` and ``Off`` as true/false,
    so a provider's label ``Yes:`` would silently become a boolean; here it stays text.
    """


_ParamsLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def params_dir() -> Path:
    """The params folder: ``$EVALLIB_PARAMS`` if set, else the repository's ``params/``."""
    env = os.environ.get("EVALLIB_PARAMS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "params"


def available_areas() -> list[str]:
    return sorted(p.stem for p in (params_dir() / "areas").glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_ParamsLoader)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def _explain(path: Path, exc: ValidationError) -> ParamsError:
    lines = [f"{path}: {exc.error_count()} problem(s) in the params file:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/adapting.md for the keys an area file takes)"
        elif err["type"] == "literal_error":
            msg = f"{msg} (got {err.get('input')!r})"
        elif err["type"] == "string_type" and isinstance(err.get("input"), bool):
            msg = (f"{msg}: YAML read this as {err['input']} (it reads yes/no/on/off that way); "
                   "put the text in quotes, e.g. 'Yes'")
        elif err["type"] == "value_error":
            # the area's own checks (contract, groups) come as "key: what is wrong" lines
            text = str(err.get("ctx", {}).get("error", msg))
            found = text.splitlines()
            if not err["loc"] and all(": " in line for line in found):
                lines.extend(f"  - {line}" for line in found)
                continue
            msg = text
        lines.append(f"  - {key}: {msg}")
    lines[0] = f"{path}: {len(lines) - 1} problem(s) in the params file:"
    return ParamsError("\n".join(lines))


def load_area(name_or_path: str | Path) -> AreaParams:
    """Load and validate an area file by area name (``leicestershire``) or path."""
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        p = params_dir() / "areas" / f"{name_or_path}.yaml"
        if not p.exists():
            raise ParamsError(
                f"no area called {name_or_path!r}: expected {p}. Areas available: "
                f"{', '.join(available_areas()) or 'none'}"
            )
    data = _read_yaml(p)
    try:
        area = AreaParams.model_validate(data)
    except ValidationError as exc:
        raise _explain(p, exc) from None
    if p.stem != area.name:
        raise ParamsError(f"{p}: name: {area.name!r} must match the file name {p.stem!r}")
    return area


def load_suite(path: str | Path | None = None) -> SuiteParams:
    """Load and validate the suite file (default ``params/suite.yaml``)."""
    p = Path(path) if path else params_dir() / "suite.yaml"
    data = _read_yaml(p)
    try:
        return SuiteParams.model_validate(data)
    except ValidationError as exc:
        raise _explain(p, exc) from None
    except PeriodError as exc:  # raised inside a validator, re-wrapped by pydantic normally
        raise ParamsError(f"{p}: {exc}") from None
