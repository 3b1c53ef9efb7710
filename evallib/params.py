"""Area files, suite settings and periods: configuration kept apart from code.

An area's YAML file (``params/areas/<area>.yaml``) says which districts and groups of
districts it reports, which programmes it runs and in what role, how small counts are
suppressed, and how a provider's own column names and labels map onto the data
contract. ``params/suite.yaml`` names the default run. Both are validated on load:
an unknown key, a wrong type or an unknown programme role is an error that names the
file and the key.
"""

from __future__ import annotations

import calendar
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Period", "PeriodError", "parse_period", "financial_year_of",
    "ParamsError", "AreaParams", "Programme", "DisclosureSettings", "OutcomeSettings",
    "SuiteParams", "SuiteRun", "load_area", "load_suite", "params_dir", "available_areas",
]

PROGRAMME_ROLES = ("core", "awareness", "follow_on")


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


def _financial_year(first: str, second: str, text: str) -> int:
    start_year = int(first)
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
        return self

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
    """One block of the default run: an area, its periods and the notebooks to run."""

    area: str
    periods: list[str] = Field(min_length=1)
    notebooks: list[str] = Field(min_length=1)
    data: str | None = None

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


# --------------------------------------------------------------------------- loading
def params_dir() -> Path:
    """The params folder: ``$EVALLIB_PARAMS`` if set, else the repository's ``params/``."""
    env = os.environ.get("EVALLIB_PARAMS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "params"


def available_areas() -> list[str]:
    return sorted(p.stem for p in (params_dir() / "areas").glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
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
        lines.append(f"  - {key}: {msg}")
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
