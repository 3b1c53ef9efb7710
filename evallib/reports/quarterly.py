"""The Home Office / OPCC quarterly monitoring return, computed from the case records.

Police and Crime Commissioners fund perpetrator programmes and ask each provider for a
quarterly monitoring return (the Derbyshire OPCC template, ``shared/seeds/004``):
referrals and engagement, caseload on the last working day, the waiting list, victims'
outcomes (improved / no change / deteriorated), sessions delivered, completion, onward
referrals, victims and children supported, and three percentage statements. Providers
fill it in by hand from their case-management systems; this module fills it in from the
data contract, with every item's definition written next to its figure, so that two
quarters, two providers or two areas mean the same thing by the same number.

The form was written for victim services. A perpetrator programme has two populations:
the people referred for their abusive behaviour (``referrals``, ``episodes``) and their
partners and ex-partners offered the Partner Support Service (``partners``), who are the
victims the form asks about. The return therefore has two referral-and-engagement blocks,
one per population, each keeping the form's arithmetic (``2 + 3 = valid total``;
``4 + 5 + 6 = successful contact``). Where the contract lacks what the form asks for
(contact attempts with the person referred, staff and WTE, sexual health, a partner
support end date) the item is shown as ``[x]`` and its definition says why; nothing is
invented. ``docs/quarterly-return.md`` lists every item, its definition in the form and
its computation.

Every count leaves the suite through :func:`evallib.disclosure.suppress`: counts from 1
to threshold - 1 are hidden with the sums the form publishes declared, so that a hidden
count cannot be worked out from a total; a rate or an average is hidden when a count it
is built on is.

Outputs: :func:`quarterly_return` (a :class:`QuarterlyReturn`, with ``to_frame()``),
:func:`write_return_xlsx` (one sheet laid out like the form, every text cell made safe
against spreadsheet formula injection) and :func:`return_html` (the same layout as an
HTML fragment or page).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from evallib.disclosure import DisclosureRule
from evallib.outputs import NOT_FOR_PUBLICATION, spreadsheet_safe
from evallib.params import AreaParams, Period, PeriodError, parse_period
from evallib.present import synthetic_notice
from evallib.reports.gate import Gate
from evallib.schemas import TABLES, Dataset

__all__ = [
    "QuarterlyReturn",
    "ReturnRow",
    "ReturnSection",
    "NOT_AVAILABLE",
    "NOT_APPLICABLE",
    "bank_holidays_england_wales",
    "last_working_day",
    "quarterly_return",
    "return_html",
    "return_rule",
    "spreadsheet_safe",
    "require_quarter",
    "write_return_xlsx",
]

#: GSS symbol for "not available": the data contract has no field for the item.
NOT_AVAILABLE = "[x]"
#: GSS symbol for "not applicable": a rate or average with no one to count.
NOT_APPLICABLE = "[z]"

SOURCES: tuple[str, ...] = TABLES["referrals"].column("source").categories or ()
SOURCE_LABELS = {
    "self": "Self-referral", "police": "Police", "childrens_social_care": "Children's social care",
    "adult_social_care": "Adult social care", "probation": "Probation", "health": "Health",
    "idva_marac": "IDVA / MARAC", "other": "Other",
}
SERVICES: tuple[str, ...] = TABLES["onward_referrals"].column("service").categories or ()
SERVICE_LABELS = {
    "housing": "Housing", "substance_misuse": "Substance misuse (drug and alcohol)",
    "mental_health": "Mental health", "counselling": "Counselling",
    "children_services": "Children's services", "other": "Other services",
}
ENDED_STATUSES = ("completed", "disengaged", "suspended", "excluded")

#: Outcome grid columns: (level in the contract, heading in the form).
LEVELS = (("improved", "Improved"), ("no_change", "No change"), ("deteriorated", "Deteriorated"))
#: The form's service outcomes -> partners column (None: not in the contract).
SERVICE_OUTCOMES = (
    ("safety", "Increase in safety", "outcome_safety"),
    ("mental_health", "Improved mental health", "outcome_mental_health"),
    ("sexual_health", "Improved sexual health", None),
    ("confidence", "Increase in confidence", "outcome_confidence"),
)
#: DASH bands (docs/outcomes.md): standard 0-9, medium 10-13, high 14 or more.
DASH_BAND_EDGES = (10, 14)


# --------------------------------------------------------------------------- calendar
def _easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(7 - d.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    d = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=d.weekday())


# Moved or extra bank holidays (proclamations), England and Wales.
_MOVED = {
    (1995, "early_may"): date(1995, 5, 8), (2020, "early_may"): date(2020, 5, 8),
    (2002, "spring"): date(2002, 6, 4), (2012, "spring"): date(2012, 6, 4),
    (2022, "spring"): date(2022, 6, 2),
}
_EXTRA = frozenset({
    date(1999, 12, 31), date(2002, 6, 3), date(2011, 4, 29), date(2012, 6, 5),
    date(2022, 6, 3), date(2022, 9, 19), date(2023, 5, 8),
})


def bank_holidays_england_wales(year: int) -> frozenset[date]:
    """Bank holidays in England and Wales in one year, from the rules (no network needed).

    The rules of the Banking and Financial Dealings Act 1971 as applied since 1978: New
    Year's Day, Good Friday, Easter Monday, the first and last Mondays of May, the last
    Monday of August, Christmas Day and Boxing Day, with weekend days substituted by the
    next weekday; plus the holidays moved or added by proclamation (1995, 1999, 2002,
    2011, 2012, 2020, 2022, 2023). Future proclamations are not known: the list is
    correct for past years and for the standard rules.

    Parameters
    ----------
    year : int
        Calendar year.

    Returns
    -------
    frozenset of datetime.date
    """
    days = set()
    new_year = date(year, 1, 1)
    days.add(new_year + timedelta(days={5: 2, 6: 1}.get(new_year.weekday(), 0)))
    easter = _easter_sunday(year)
    days |= {easter - timedelta(days=2), easter + timedelta(days=1)}
    days.add(_MOVED.get((year, "early_may"), _first_monday(year, 5)))
    days.add(_MOVED.get((year, "spring"), _last_monday(year, 5)))
    days.add(_last_monday(year, 8))
    christmas = date(year, 12, 25)
    by_weekday = {4: (25, 28), 5: (27, 28), 6: (26, 27)}  # Fri, Sat, Sun
    days |= {date(year, 12, d) for d in by_weekday.get(christmas.weekday(), (25, 26))}
    days |= {d for d in _EXTRA if d.year == year}
    return frozenset(days)


def last_working_day(end: date, start: date | None = None) -> date:
    """The last Monday-to-Friday on or before ``end`` that is not a bank holiday.

    The form counts caseload "by the end of the last working day within the quarter".
    Bank holidays are those of England and Wales (:func:`bank_holidays_england_wales`):
    31 March 2024 was a Sunday and 29 March Good Friday, so the last working day of
    2023-24 Q4 was Thursday 28 March.

    Parameters
    ----------
    end : datetime.date
        Last day of the period.
    start : datetime.date, optional
        First day of the period; a period with no working day raises ``ValueError``.
    """
    holidays = bank_holidays_england_wales(end.year)
    day = end
    while day.weekday() >= 5 or day in holidays:
        day -= timedelta(days=1)
        if day.year != end.year:
            holidays = bank_holidays_england_wales(day.year)
    if start is not None and day < start:
        raise ValueError(f"no working day between {start} and {end}")
    return day


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class ReturnRow:
    """One figure of the return, as published.

    Attributes
    ----------
    key : str
        Stable machine key, e.g. ``referrals.valid`` or ``opcc.coping.improved``.
    code : str
        The form's number for the item (``1``, ``(2+3)``, ``B``...), or empty.
    label : str
        The item as the form words it (grid cells: ``line - column``).
    value : int, float or None
        The published value: a count, a proportion (0-1) or a number of days. ``None``
        when suppressed, not available or not applicable (see ``status``).
    unit : str
        ``count``, ``proportion`` or ``days``.
    definition : str
        What the figure counts, in terms of the data contract.
    status : str
        ``shown``, ``suppressed``, ``not_available`` (the contract lacks the field) or
        ``not_applicable`` (a rate or average with nobody to count).
    text : str
        The value as printed: ``1,234``, ``57%``, ``22.0``, or a symbol.
    n : int or None
        For a proportion or average: its base (the published denominator).
    n_text : str
        The base as printed (empty for counts).
    total : bool
        A total line of the form (printed bold).
    line, line_label, column : str
        Grid sections only (outcomes, percentages): the form's row key and wording, and
        the column key.
    """

    key: str
    code: str
    label: str
    value: int | float | None
    unit: str
    definition: str
    status: str
    text: str
    n: int | None = None
    n_text: str = ""
    total: bool = False
    line: str = ""
    line_label: str = ""
    column: str = ""


@dataclass(frozen=True)
class ReturnSection:
    """A headed section of the form: simple rows, or a grid (outcomes by level).

    ``columns`` is empty for a simple section (item | value | n | definition); for a grid
    it lists ``(column key, heading)`` and the rows are its cells, line by line.
    """

    key: str
    title: str
    rows: tuple[ReturnRow, ...]
    note: str = ""
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def is_grid(self) -> bool:
        return bool(self.columns)

    def lines(self) -> list[tuple[str, str, str, str, dict[str, ReturnRow]]]:
        """Grid lines in order: ``(line key, code, label, definition, {column: row})``."""
        out: dict[str, tuple[str, str, str, str, dict[str, ReturnRow]]] = {}
        for r in self.rows:
            if r.line not in out:
                out[r.line] = (r.line, r.code, r.line_label, r.definition, {})
            out[r.line][4][r.column] = r
        return list(out.values())


@dataclass(frozen=True)
class QuarterlyReturn:
    """The monitoring return of one area and quarter, after disclosure control.

    Only published values are held: nothing here can give a suppressed count back.

    Attributes
    ----------
    area, area_name : str
        The area's key and display name.
    period : Period
        The quarter (any period works; a financial year gives the form's "Q1-Q4").
    last_working_day, extract_date : datetime.date
        Caseload day; the date the case records were extracted.
    rule : DisclosureRule
        The disclosure rule applied.
    sections : tuple of ReturnSection
        In the form's order.
    warnings : tuple of str
        Caveats a reader must see (e.g. records extracted before the quarter ended).
    fingerprint : str
        SHA-256 of the input files, for provenance.
    """

    area: str
    area_name: str
    period: Period
    last_working_day: date
    extract_date: date
    rule: DisclosureRule
    sections: tuple[ReturnSection, ...]
    warnings: tuple[str, ...] = ()
    fingerprint: str = ""
    disclosure: dict = field(default_factory=dict, compare=False)
    #: The dataset is synthetic (its dataset.yaml has a ``synthetic`` block): the return says so.
    synthetic: bool = False

    # -- access
    def rows(self) -> Iterator[tuple[ReturnSection, ReturnRow]]:
        """Every ``(section, row)`` in the form's order."""
        for s in self.sections:
            for r in s.rows:
                yield s, r

    def row(self, key: str) -> ReturnRow:
        """The row with this key (``KeyError`` if none)."""
        for _, r in self.rows():
            if r.key == key:
                return r
        raise KeyError(f"no row {key!r} in the quarterly return")

    def value(self, key: str) -> int | float | None:
        """The published value of a row (``None`` if not shown)."""
        return self.row(key).value

    @property
    def period_label(self) -> str:
        """``2023-24 Q2`` (quarters) or the period's own label."""
        return self.period.label.replace("Q", " Q") if self.period.kind == "quarter" else self.period.label

    @property
    def title(self) -> str:
        return f"Quarterly monitoring return: {self.area_name}, {self.period_label}"

    @property
    def headline(self) -> str:
        """One line for the suite's index page, e.g. ``2023-24 Q2: 41 valid referrals, 63% engaged``."""
        valid, rate = self.row("referrals.valid"), self.row("referrals.engagement_rate")
        return f"{self.period_label}: {valid.text} valid referrals, {rate.text} engaged"

    def footnotes(self) -> list[str]:
        """What the symbols mean, and how the last working day was found."""
        notes = []
        if self.rule.footnote():
            notes.append(self.rule.footnote())
        notes.append(f"{NOT_AVAILABLE} = not available: the data contract has no field for this item "
                     "(its definition says what is missing).")
        notes.append(f"{NOT_APPLICABLE} = not applicable: a rate or average with no one to count.")
        notes.append("Percentages are whole percentages, rounded half up, of the base shown as n; "
                     "they are worked out from the published counts.")
        notes.append("Last working day: the last Monday to Friday of the quarter that is not a bank "
                     "holiday in England and Wales (built-in rules; no network needed).")
        return notes

    def key_figures(self) -> dict[str, int | float | None]:
        """Headline figures for ``results.json`` (published values; ``None`` if hidden)."""
        keys = ("referrals.valid", "referrals.engagement_rate", "partners.offered",
                "partners.engagement_rate", "caseload.people", "caseload.partners",
                "waiting.number", "waiting.average_days", "delivered.supported",
                "delivered.completion_rate", "delivered.victims", "delivered.children")
        return {k: self.value(k) for k in keys}

    def to_frame(self, *, safe_text: bool = False) -> pd.DataFrame:
        """The return as a tidy table: one row per figure.

        Columns ``section, item, value, definition`` (the figure as published: numbers,
        ``<NA>`` where not shown) then ``code, key, unit, display, n, status``.

        Parameters
        ----------
        safe_text : bool, default False
            Pass every text column through :func:`spreadsheet_safe`, for a CSV that will be
            opened in a spreadsheet.
        """
        recs = [{"section": s.title, "item": r.label, "value": r.value, "definition": r.definition,
                 "code": r.code, "key": r.key, "unit": r.unit, "display": r.text,
                 "n": r.n, "status": r.status} for s, r in self.rows()]
        df = pd.DataFrame(recs, columns=["section", "item", "value", "definition", "code", "key",
                                         "unit", "display", "n", "status"])
        df["value"] = pd.Series([pd.NA if r["value"] is None else r["value"] for r in recs],
                                index=df.index, dtype=object)
        df["n"] = df["n"].astype("Int64")
        if safe_text:
            for c in ("section", "item", "definition", "code", "display"):
                df[c] = df[c].map(spreadsheet_safe)
        return df

    def _repr_html_(self) -> str:
        return return_html(self)


# --------------------------------------------------------------------------- helpers
def return_rule(area: AreaParams, suppress_below: int | None = None) -> DisclosureRule:
    """The area's disclosure rule, with an optional threshold override.

    ``suppress_below`` of ``None`` or a negative number keeps the area's threshold; ``0``
    switches suppression off (internal use only: a return with small counts must not
    leave the organisation).
    """
    d = area.disclosure
    threshold = d.threshold if suppress_below is None or suppress_below < 0 else suppress_below
    return DisclosureRule(threshold=threshold, round_to=d.round_to)


def _flag(s: pd.Series, value=True) -> pd.Series:
    """``s == value`` as plain bool, missing values False (nullable dtypes)."""
    return s.eq(value).fillna(False).astype(bool)


def _has(ds: Dataset, table: str, column: str | None = None) -> bool:
    """Whether an item can be computed: the table was supplied and, for an optional
    column, it holds at least one value (an all-empty column means "not recorded")."""
    if table not in ds.present:
        return False
    df = ds.tables[table]
    return column is None or len(df) == 0 or bool(df[column].notna().any())


def _overlaps(start: pd.Series, end: pd.Series, a: pd.Timestamp, b: pd.Timestamp) -> pd.Series:
    """Spans ``[start, end]`` (end missing = open) that share a day with ``[a, b]``."""
    return (start.le(b) & (end.isna() | end.ge(a))).fillna(False).astype(bool)


def _percent_text(num: int, den: int) -> str:
    """Whole percentage, half up, in integer arithmetic (no float ties)."""
    return f"{(200 * num + den) // (2 * den)}%"


def _long_date(d: date) -> str:
    """``1 July 2023``: no leading zero, on every platform."""
    return f"{d.day} {d:%B %Y}"


def _count_text(v: int) -> str:
    return f"{int(v):,}"


# --------------------------------------------------------------------------- computing
@dataclass
class _Spec:
    """A figure before disclosure control (never leaves this module)."""

    key: str
    code: str
    label: str
    definition: str
    unit: str = "count"
    raw: float | None = None
    available: bool = True
    num: tuple[str, ...] = ()
    den: str | None = None
    total: bool = False
    line: str = ""
    line_label: str = ""
    column: str = ""


@dataclass
class _SectionSpec:
    key: str
    title: str
    specs: list[_Spec]
    note: str = ""
    columns: tuple[tuple[str, str], ...] = ()


@dataclass
class _Facts:
    """Record-level frames the figures are counted from (one row per record)."""

    ds: Dataset
    qs: pd.Timestamp
    qe: pd.Timestamp
    lwd: pd.Timestamp
    ref: pd.DataFrame = field(init=False)
    ep: pd.DataFrame = field(init=False)
    partners: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        ds = self.ds
        ref = ds.referrals.copy()
        ref["eligible"] = _flag(ref["eligible"])
        first_start = ds.episodes.groupby("referral_id")["start_date"].min()
        ref["first_start"] = ref["referral_id"].map(first_start).astype("datetime64[ns]")
        self.ref = ref
        self.ep = ds.episodes.merge(ref[["referral_id", "person_id", "children"]], on="referral_id",
                                    how="left", validate="many_to_one")
        # Partner support has no end date in the contract: a partner is taken to be in
        # support from the offer until the last episode of the referral ends (open while
        # any episode is ongoing; the offer date alone when the referral has no episode).
        e = ds.episodes
        last_end = e.groupby("referral_id")["end_date"].max()
        open_refs = e.loc[e["end_date"].isna(), "referral_id"].unique()
        p = ds.partners.copy()
        p["engaged"] = _flag(p["engaged"])
        p_last = p["referral_id"].map(last_end).astype("datetime64[ns]")
        p["support_end"] = p_last.where(p_last.gt(p["offered_date"]).fillna(False), p["offered_date"])
        p["support_open"] = p["referral_id"].isin(open_refs)
        self.partners = p

    def waiting(self) -> pd.Series:
        """Eligible referrals received by the quarter end whose first session came after it."""
        ref = self.ref
        return ref["eligible"] & ref["referral_date"].le(self.qe) & ref["first_start"].gt(self.qe).fillna(False)

    def partners_in_support(self, a: pd.Timestamp, b: pd.Timestamp) -> pd.Series:
        p = self.partners
        end = p["support_end"].where(~p["support_open"])
        return p["engaged"] & _overlaps(p["offered_date"], end, a, b)


def _referral_specs(f: _Facts) -> _SectionSpec:
    ref = f.ref
    in_q = ref["referral_date"].between(f.qs, f.qe)
    valid = in_q & ref["eligible"]
    invalid = in_q & ~ref["eligible"]
    by_source = ref.loc[valid, "source"].value_counts().reindex(list(SOURCES), fill_value=0)
    started = valid & ref["first_start"].notna()
    extract = _long_date(f.ds.meta.extract_date)
    received = "received in the quarter (referral_date in the quarter)"
    specs = [
        _Spec("referrals.invalid", "1", "Invalid referrals",
              f"Referrals {received} that did not pass the eligibility rules (eligible = false). "
              "Form: criteria not met, duplicate referrals, inappropriate or barred.", raw=invalid.sum()),
        _Spec("referrals.invalid_total", "(1)", "INVALID REFERRAL TOTAL", "Item 1.",
              raw=invalid.sum(), total=True),
        _Spec("referrals.contact_issues", "2", "Valid referrals – contact issues",
              "Form: valid referrals where contact could not be established (no answer to calls, "
              "letters or texts). Not available: the data contract records no contact attempt with "
              "the person referred. All valid referrals are counted under item 3.", available=False),
    ]
    specs += [_Spec(f"referrals.source.{s}", "3", f"Valid referrals – source: {SOURCE_LABELS[s]}",
                    f"Eligible referrals {received} with source = {s}.", raw=by_source[s])
              for s in SOURCES]
    specs += [
        _Spec("referrals.valid", "(2+3)", "VALID REFERRAL TOTAL",
              f"Eligible referrals {received}: the sum of the sources (item 2 is not available).",
              raw=valid.sum(), total=True),
        _Spec("referrals.total", "(1+2+3)", "REFERRAL TOTAL", f"All referrals {received}: invalid plus valid.",
              raw=in_q.sum(), total=True),
        _Spec("referrals.started", "", "Valid referrals that started an intervention",
              "Valid referrals of the quarter with a first session of any programme (an episode of the "
              f"referral) by the extract date, {extract}: a later extract can only raise it. The contract has "
              "no declined / single / multiple record for the person referred; starting an intervention is "
              "their engagement.", raw=started.sum()),
        _Spec("referrals.not_started", "", "Valid referrals not started",
              f"Valid referrals of the quarter with no session attended by the extract date, {extract} "
              "(still waiting, not contacted, declined or closed: the contract cannot tell these apart).",
              raw=(valid & ~started).sum()),
        _Spec("referrals.engagement_rate", "", "ENGAGEMENT RATE (%) *",
              "* Of the valid referral total: valid referrals that started an intervention (by the extract "
              "date), as a percentage of valid referrals.", unit="proportion",
              num=("referrals.started",), den="referrals.valid"),
    ]
    return _SectionSpec("referrals", "Referrals and engagement summary: people referred (within the quarter)",
                        specs, note="The people referred for their abusive behaviour: one count per referral.")


def _partner_specs(f: _Facts) -> _SectionSpec:
    ds, p = f.ds, f.partners
    have = _has(ds, "partners")
    have_support = _has(ds, "partners", "support")
    have_contact = _has(ds, "partners", "contact_made")
    offered = p["offered_date"].between(f.qs, f.qe)
    support = p["support"]
    no_support = support.isna() if have_support else pd.Series(True, index=p.index)
    issues = offered & no_support & _flag(p["contact_made"], False) if have_contact else offered & False
    counts = {k: (offered & _flag(support, k)).sum() if have_support else 0
              for k in ("declined", "single", "multiple")}
    not_recorded = offered.sum() - issues.sum() - sum(counts.values())
    whom = "Partners and ex-partners offered the Partner Support Service in the quarter (offered_date in the quarter)"
    specs = [
        _Spec("partners.contact_issues", "2", "Valid referrals – contact issues",
              f"{whom} with contact not established (contact_made = false) and no support recorded.",
              raw=issues.sum(), available=have and have_contact),
        _Spec("partners.offered", "(2+3)", "VALID REFERRAL TOTAL: partners offered support",
              f"{whom}. Every partner offered support is a valid referral to the service.",
              raw=offered.sum(), available=have, total=True),
        _Spec("partners.declined", "4", "Declined support",
              f"{whom} who were contacted and declined support (support = declined).",
              raw=counts["declined"], available=have and have_support),
        _Spec("partners.single", "5", "Single incident of support",
              f"{whom} who received one incidence of support (support = single).",
              raw=counts["single"], available=have and have_support),
        _Spec("partners.multiple", "6", "Multiple incidents of support",
              f"{whom} who received more than one incidence of support, ongoing or on a managed "
              "caseload (support = multiple).", raw=counts["multiple"], available=have and have_support),
        _Spec("partners.contacted", "(4+5+6)", "SUCCESSFUL CONTACT TOTAL",
              "Declined plus single plus multiple: a recorded support outcome means contact was made "
              "(it takes precedence over contact_made).",
              raw=sum(counts.values()), available=have and have_support, total=True),
        _Spec("partners.not_recorded", "", "Contact outcome not recorded",
              f"{whom} with neither a support outcome nor contact_made = false recorded.",
              raw=not_recorded, available=have),
        _Spec("partners.engagement_rate", "", "ENGAGEMENT RATE (%) *",
              "* Of the valid referral total: single plus multiple incidents of support (the partners "
              "who engaged) as a percentage of partners offered support.", unit="proportion",
              num=("partners.single", "partners.multiple"), den="partners.offered"),
    ]
    return _SectionSpec("partners", "Referrals and engagement summary: partners offered support (within the quarter)",
                        specs, note="The victims: partners and ex-partners of the people referred, offered the "
                                    "Partner Support Service.")


def _caseload_specs(f: _Facts, area: AreaParams) -> tuple[_SectionSpec, list]:
    ep = f.ep
    on = _overlaps(ep["start_date"], ep["end_date"], f.lwd, f.lwd)
    by_prog = ep.loc[on].groupby("programme")["person_id"].nunique().reindex(list(area.programmes), fill_value=0)
    people = ep.loc[on, "person_id"].nunique()
    lwd = f.lwd.date()
    specs = [_Spec(f"caseload.programme.{k}", "", f"People on an intervention: {prog.label}",
                   f"People with a {prog.label} episode open on {_long_date(lwd)}: start_date on or before, "
                   "end_date empty or on or after that day.", raw=by_prog[k])
             for k, prog in area.programmes.items()]
    specs += [
        _Spec("caseload.people", "TOTAL", "People on an intervention (any programme)",
              f"Distinct people with an episode of any programme open on {_long_date(lwd)}; a person on two "
              "programmes is counted once here and under each programme above.", raw=people, total=True),
        _Spec("caseload.partners", "", "Partners in support",
              f"Engaged partners and ex-partners in support on {_long_date(lwd)}. The contract has no end date "
              "for partner support: support is taken to run from offered_date until the last episode of "
              "the person's referral ends (open while an episode is ongoing; the offer day only when the "
              "referral has no episode).",
              raw=f.partners_in_support(f.lwd, f.lwd).sum(), available=_has(f.ds, "partners")),
    ]
    equations = []
    if by_prog.sum() == people:
        equations.append(("caseload.people", [s.key for s in specs[:len(area.programmes)]]))
    note = (f"By the end of the last working day within the quarter: {lwd:%A} {_long_date(lwd)}. The form's caseload "
            "by staff member (name or role, WTE/FTE) is not available: the data contract records no staff.")
    return _SectionSpec("caseload", "Current caseload (last working day of the quarter)", specs, note), equations


def _waiting_specs(f: _Facts) -> _SectionSpec:
    ref = f.ref
    waiting = f.waiting()
    starters = ref["eligible"] & ref["first_start"].between(f.qs, f.qe).fillna(False)
    waits = (ref.loc[starters, "first_start"] - ref.loc[starters, "referral_date"]).dt.days
    specs = [
        _Spec("waiting.number", "", "Number on waiting list (at the quarter end)",
              "People with an eligible referral received on or before the last day of the quarter whose "
              "first session (of that referral, any programme) came after it. A lower bound: the contract "
              "has no date for leaving the list without starting, so referrals never started are not "
              "counted (see 'Valid referrals not started' above).",
              raw=ref.loc[waiting, "person_id"].nunique()),
        _Spec("waiting.average_days", "", "Average length of time on waiting list (days)",
              "Mean days from referral_date to the first session (first episode start_date of the referral), "
              "over eligible referrals whose first session was in the quarter.", unit="days",
              raw=float(waits.mean()) if len(waits) else None, den="waiting.starters"),
        _Spec("waiting.starters", "", "Valid referrals whose first session was in the quarter",
              "The base (n) of the average wait.", raw=starters.sum()),
    ]
    return _SectionSpec("waiting", "Current waiting list", specs)


def _grid(key: str, title: str, lines: list[tuple[str, str, str, dict[str, float] | None]],
          columns: tuple[tuple[str, str], ...], note: str = "", units: dict[str, str] | None = None,
          total_line: tuple[str, str, str] | None = None) -> tuple[_SectionSpec, list]:
    """A grid section: one line per outcome, one cell per column; an optional total line."""
    units = units or {}
    specs: list[_Spec] = []
    for line, label, definition, values in lines:
        for col, heading in columns:
            specs.append(_Spec(f"{key}.{line}.{col}", "", f"{label} – {heading}", definition,
                               unit=units.get(col, "count"),
                               raw=None if values is None else values.get(col),
                               available=values is not None, line=line, line_label=label, column=col))
    equations = []
    if total_line:
        line, label, definition = total_line
        members = [ln for ln, _, _, values in lines if values is not None]
        for col, heading in columns:
            specs.append(_Spec(f"{key}.{line}.{col}", "", f"{label} – {heading}", definition,
                               raw=sum(v.get(col, 0) for *_, v in lines if v is not None),
                               available=bool(members), total=True, line=line, line_label=label,
                               column=col))
            if members:
                equations.append((f"{key}.{line}.{col}", [f"{key}.{m}.{col}" for m in members]))
    return _SectionSpec(key, title, specs, note, columns), equations


def _level_counts(values: pd.Series) -> dict[str, float]:
    counts = values.value_counts()
    return {lvl: int(counts.get(lvl, 0)) for lvl, _ in LEVELS}


def _outcome_specs(f: _Facts) -> tuple[list[_SectionSpec], list]:
    sup = f.partners[f.partners_in_support(f.qs, f.qe)]
    have = _has(f.ds, "partners")
    whom = ("Victims supported in the quarter (engaged partners in support at any time in the quarter) "
            "by their latest recorded rating of {col}; unknown or missing ratings are left out. The "
            "contract has no date for a rating, so the latest one is used.")
    opcc_lines = [("coping", "Better able to cope with aspects of everyday life", whom.format(col="outcome_coping"),
                   _level_counts(sup["outcome_coping"]) if _has(f.ds, "partners", "outcome_coping") else None)]
    opcc, eq1 = _grid("opcc", "OPCC outcomes (number of victims, not %)", opcc_lines, LEVELS,
                      total_line=("total", "TOTAL", "The outcome above (the form has one OPCC outcome)."))
    service_lines = []
    for line, label, col in SERVICE_OUTCOMES:
        if col is None:
            service_lines.append((line, label, f"Form: {label.lower()}. Not available: the data contract has "
                                  "no sexual-health outcome for partners.", None))
        else:
            service_lines.append((line, label, whom.format(col=col),
                                  _level_counts(sup[col]) if have and _has(f.ds, "partners", col) else None))
    service, eq2 = _grid("service", "Your service outcomes (number of victims, not %)", service_lines, LEVELS,
                         total_line=("total", "TOTAL", "Sum of the outcomes above that are available."))
    if not have:
        for s in opcc.specs + service.specs:
            s.available = False
    return [opcc, service], eq1 + eq2


def _delivered_specs(f: _Facts, area: AreaParams) -> tuple[_SectionSpec, list]:
    ds, ep = f.ds, f.ep
    sessions = ds.sessions[ds.sessions["session_date"].between(f.qs, f.qe)]
    fmt = sessions["format"].value_counts()
    in_q = _overlaps(ep["start_date"], ep["end_date"], f.qs, f.qe)
    supported = ep.loc[in_q, "person_id"].nunique()
    waiting_people = f.ref.loc[f.waiting(), "person_id"].nunique()
    ended = ep["end_date"].between(f.qs, f.qe).fillna(False) & ep["status"].isin(ENDED_STATUSES).fillna(False)
    completed = ended & _flag(ep["status"], "completed")
    onward = ds.onward_referrals[ds.onward_referrals["date"].between(f.qs, f.qe)]
    by_service = onward["service"].value_counts().reindex(list(SERVICES), fill_value=0)
    awareness = area.programmes_with_role("awareness")
    on_prog = ep.loc[in_q & ~ep["programme"].isin(awareness)]
    latest = on_prog.sort_values(["person_id", "start_date", "episode_id"]).drop_duplicates("person_id", keep="last")
    have_sessions, have_onward = _has(ds, "sessions"), _has(ds, "onward_referrals")
    have_children = _has(ds, "referrals", "children")
    aw = ", ".join(area.programmes[k].label for k in awareness) or "none"
    specs = [
        _Spec("delivered.sessions", "B", "Intervention sessions delivered",
              "Sessions of any programme held in the quarter (sessions.session_date in the quarter).",
              raw=len(sessions), available=have_sessions, total=True),
        _Spec("delivered.sessions_one_to_one", "B", "– one-to-one sessions", "Of which format = one_to_one.",
              raw=int(fmt.get("one_to_one", 0)), available=have_sessions),
        _Spec("delivered.sessions_group", "B", "– group sessions", "Of which format = group.",
              raw=int(fmt.get("group", 0)), available=have_sessions),
        _Spec("delivered.anticipated", "C", "Perpetrators anticipated to be supported by interventions",
              "Form: those supported plus those on the waiting list: item D plus the number on the waiting list.",
              raw=supported + waiting_people, total=True),
        _Spec("delivered.supported", "D", "Perpetrators supported by interventions",
              "Distinct people with an episode of any programme open at any time in the quarter "
              "(start_date on or before its last day; end_date empty or on or after its first day).",
              raw=supported),
        _Spec("delivered.completed", "E", "Completed an intervention",
              "Episodes of any programme that ended in the quarter with status = completed.", raw=completed.sum()),
        _Spec("delivered.not_completed", "E", "Left an intervention without completing it",
              "Episodes that ended in the quarter as disengaged, suspended or excluded.",
              raw=(ended & ~completed).sum()),
        _Spec("delivered.ended", "E", "Interventions ended",
              "Episodes with end_date in the quarter (ongoing episodes are not counted).", raw=ended.sum(), total=True),
        _Spec("delivered.completion_rate", "E", "Completion rate (%)",
              "Completed as a percentage of interventions ended in the quarter (as in the outcome definitions "
              "that come with evallib).",
              unit="proportion", num=("delivered.completed",), den="delivered.ended"),
    ]
    specs += [_Spec(f"delivered.onward.{s}", "F", f"Referrals into specialist support: {SERVICE_LABELS[s]}",
                    f"Onward referrals dated in the quarter with service = {s}, for people referred or partners.",
                    raw=by_service[s], available=have_onward) for s in SERVICES]
    specs += [
        _Spec("delivered.onward", "F", "Referrals into specialist support services: total",
              "All onward referrals dated in the quarter.", raw=len(onward), available=have_onward, total=True),
        _Spec("delivered.victims", "G", "Victims supported",
              "Engaged partners and ex-partners in support at any time in the quarter (support runs from "
              "offered_date to the end of the last episode of the person's referral, as for the caseload).",
              raw=f.partners_in_support(f.qs, f.qe).sum(), available=_has(ds, "partners")),
        _Spec("delivered.children", "G", "Children supported",
              "Children of the people on an intervention in the quarter (item D, people on awareness "
              f"programmes only left out: {aw}): the sum of referrals.children, from the referral of each "
              "person's latest such episode. The contract records no children of victims.",
              raw=int(latest["children"].sum()), available=have_children),
        _Spec("delivered.children_not_recorded", "G", "People on an intervention with children not recorded",
              "People counted for the children above whose referral has no children value.",
              raw=int(latest["children"].isna().sum()), available=have_children),
    ]
    equations = [
        ("delivered.sessions", ["delivered.sessions_one_to_one", "delivered.sessions_group"]),
        ("delivered.anticipated", ["delivered.supported", "waiting.number"]),
        ("delivered.ended", ["delivered.completed", "delivered.not_completed"]),
        ("delivered.onward", [f"delivered.onward.{s}" for s in SERVICES]),
    ]
    return _SectionSpec("delivered", "Summary of services delivered (within the quarter)", specs), equations


def _statement_specs(f: _Facts) -> tuple[_SectionSpec, list]:
    ds = f.ds
    sup = f.partners[f.partners_in_support(f.qs, f.qe)]
    safer_yes, safer_no = _flag(sup["feels_safer"], "yes").sum(), _flag(sup["feels_safer"], "no").sum()
    abuse_yes, abuse_no = _flag(sup["abuse_reduced"], "yes").sum(), _flag(sup["abuse_reduced"], "no").sum()
    start, end = sup["dash_start"], sup["dash_end"]
    known = (start.notna() & end.notna()).to_numpy(dtype=bool)
    band_start = np.digitize(start.to_numpy(dtype="float64", na_value=0), DASH_BAND_EDGES)
    band_end = np.digitize(end.to_numpy(dtype="float64", na_value=0), DASH_BAND_EDGES)
    risk_yes = int((known & (band_end < band_start)).sum())
    risk_no = int(known.sum()) - risk_yes
    whom = "Victims supported in the quarter (as item G)"
    lines = [
        ("felt_safer", "Women who told us that they felt safer because of the support provided",
         f"{whom} whose feels_safer answer is known: yes, no, n = yes + no, and yes as a percentage of n.",
         {"yes": safer_yes, "no": safer_no, "n": safer_yes + safer_no}
         if _has(ds, "partners", "feels_safer") else None),
        ("risk_reduced", "Women with a reduction in risk following support",
         f"{whom} with DASH at first and last contact (dash_start, dash_end): yes = a lower DASH band at last "
         "contact (standard 0-9, medium 10-13, high 14+); no = the same or a higher band.",
         {"yes": risk_yes, "no": risk_no, "n": risk_yes + risk_no}
         if _has(ds, "partners", "dash_start") and _has(ds, "partners", "dash_end") else None),
        ("abuse_reduced", "Women who reported a reduction in abuse",
         f"{whom} whose abuse_reduced answer is known (the partner reports that the person's use of abuse "
         "has reduced): yes, no, n and the percentage.",
         {"yes": abuse_yes, "no": abuse_no, "n": abuse_yes + abuse_no}
         if _has(ds, "partners", "abuse_reduced") else None),
    ]
    columns = (("yes", "Yes"), ("no", "No"), ("n", "Known (n)"), ("percent", "%"))
    section, _ = _grid("statements", "Outcomes reported by the victims supported (percentages)", lines, columns,
                       note="The form's fourth statement (quality of life and well-being improved) is not "
                            "available: the contract has no such field.",
                       units={"percent": "proportion"})
    equations = []
    for s in section.specs:
        if s.column == "percent":
            s.num, s.den = (f"statements.{s.line}.yes",), f"statements.{s.line}.n"
            s.raw = None
        if s.column == "n" and s.available:
            equations.append((s.key, [f"statements.{s.line}.yes", f"statements.{s.line}.no"]))
    return section, equations


def require_quarter(period: str | Period) -> Period:
    """The period, if it is a financial quarter; else a :class:`PeriodError` showing the form.

    The return is a quarterly form: a year or a date range labelled "Quarter" would
    misreport, so it is refused (``evallib run`` refuses it before running anything).
    """
    p = parse_period(period)
    if p.kind != "quarter":
        raise PeriodError(
            f"the quarterly return is made for one financial quarter, written like 2023-24Q2 "
            f"(Q1 = April-June, so 2023-24Q2 is July-September 2023); {p.label!r} is a "
            f"{'financial year' if p.kind == 'year' else 'date range'}")
    return p


def quarterly_return(dataset: Dataset, quarter: str | Period, *,
                     suppress_below: int | None = None) -> QuarterlyReturn:
    """Compute the OPCC quarterly monitoring return of one area and quarter.

    Each item of the form is counted from the data contract as its definition says
    (the definitions travel with the figures, and ``docs/quarterly-return.md`` lists
    them), then every count passes disclosure control together with the sums the form
    publishes, so that a hidden count cannot be recovered from a total or a percentage.

    Parameters
    ----------
    dataset : Dataset
        A validated dataset (:func:`evallib.schemas.load_dataset`).
    quarter : str or Period
        A financial quarter such as ``2023-24Q2`` (July-September 2023), and nothing
        else: the form is quarterly (:func:`require_quarter`).
    suppress_below : int, optional
        Threshold override: ``None`` or negative uses the area's; ``0`` switches
        suppression off (internal use only).

    Returns
    -------
    QuarterlyReturn
        The published figures in the form's order, with definitions.
    """
    period = require_quarter(quarter)
    area = dataset.area
    rule = return_rule(area, suppress_below)
    lwd = last_working_day(period.end, period.start)
    f = _Facts(dataset, pd.Timestamp(period.start), pd.Timestamp(period.end), pd.Timestamp(lwd))

    sections = [_referral_specs(f), _partner_specs(f)]
    caseload, eq_caseload = _caseload_specs(f, area)
    outcomes, eq_outcomes = _outcome_specs(f)
    delivered, eq_delivered = _delivered_specs(f, area)
    statements, eq_statements = _statement_specs(f)
    sections += [caseload, _waiting_specs(f), *outcomes, delivered, statements]
    equations = [
        ("referrals.invalid_total", ["referrals.invalid"]),
        ("referrals.valid", [f"referrals.source.{s}" for s in SOURCES]),
        ("referrals.total", ["referrals.invalid", "referrals.valid"]),
        ("referrals.valid", ["referrals.started", "referrals.not_started"]),
        ("partners.offered", ["partners.contact_issues", "partners.declined", "partners.single",
                              "partners.multiple", "partners.not_recorded"]),
        ("partners.contacted", ["partners.declined", "partners.single", "partners.multiple"]),
        *eq_caseload, *eq_outcomes, *eq_delivered, *eq_statements,
    ]
    built, record = _publish(sections, equations, rule)
    warnings = []
    if dataset.meta.extract_date < period.end:
        warnings.append(f"The records were extracted on {_long_date(dataset.meta.extract_date)}, before the end of "
                        "the quarter: the return is incomplete.")
    return QuarterlyReturn(area=area.name, area_name=area.display_name, period=period, last_working_day=lwd,
                           extract_date=dataset.meta.extract_date, rule=rule, sections=built,
                           warnings=tuple(warnings), fingerprint=dataset.fingerprint, disclosure=record,
                           synthetic=bool(dataset.meta.synthetic))


def _publish(sections: list[_SectionSpec], equations: Sequence[tuple[str, list[str]]],
             rule: DisclosureRule) -> tuple[tuple[ReturnSection, ...], dict]:
    """Every count through the report's gate at once, then rates and averages from what is shown.

    Returns the sections and the gate's record (the ``disclosure`` block of ``results.json``).
    """
    specs = {s.key: s for sec in sections for s in sec.specs}
    counts = [s for s in specs.values() if s.unit == "count" and s.available]
    gate = Gate(rule, report="quarterly_return")
    gate.section = "return"
    for s in counts:
        gate.add(s.key, int(s.raw))
    usable = {s.key for s in counts}
    for total, members in equations:
        members = [m for m in members if m in usable]
        if total in usable and members:
            gate.total(total, members)
    for key, shared in _SHARED.items():
        if key in usable:
            gate.share(key, shared)
    pub = gate.protect()

    def count_state(key: str) -> tuple[int | None, str]:
        if key not in usable:
            return None, "not_available"
        if not pub.shown(key):
            return None, "suppressed"
        return pub.count(key), "shown"

    def text_of(status: str, value, unit: str) -> str:
        if status == "suppressed":
            return rule.symbol
        if status == "not_available":
            return NOT_AVAILABLE
        if status == "not_applicable":
            return NOT_APPLICABLE
        if unit == "count":
            return _count_text(value)
        if unit == "days":
            return f"{value:.1f}"
        return ""  # proportions are set with their parts

    out = []
    for sec in sections:
        rows = []
        for s in sec.specs:
            n = n_text = None
            if s.unit == "count":
                value, status = count_state(s.key)
                text = text_of(status, value, "count")
            else:
                n, n_status = count_state(s.den) if s.den else (None, "not_available")
                n_text = text_of(n_status, n, "count")
                parts = [count_state(k) for k in s.num]
                if not s.available or n_status == "not_available" or any(st_ == "not_available" for _, st_ in parts):
                    value, status = None, "not_available"
                elif n_status == "suppressed" or any(st_ == "suppressed" for _, st_ in parts):
                    value, status = None, "suppressed"
                elif not n:
                    value, status = None, "not_applicable"
                elif s.unit == "proportion":
                    num = sum(v for v, _ in parts)
                    value, status = num / n, "shown"
                else:
                    value, status = float(s.raw), "shown"
                text = text_of(status, value, s.unit)
                if s.unit == "proportion" and status == "shown":
                    text = _percent_text(sum(v for v, _ in parts), n)
            rows.append(ReturnRow(key=s.key, code=s.code, label=s.label, value=value, unit=s.unit,
                                  definition=s.definition, status=status, text=text, n=n,
                                  n_text=n_text or "", total=s.total, line=s.line,
                                  line_label=s.line_label, column=s.column))
        out.append(ReturnSection(sec.key, sec.title, tuple(rows), sec.note, sec.columns))
    return tuple(out), pub.record()


#: Counts of the return that describe the same people as counts of other reports of the
#: same period (:func:`evallib.reports.gate.check_shared`): partners offered support.
_SHARED = {"partners.offered": "partners.offered"}


# --------------------------------------------------------------------------- workbook
_HEAD_FILL, _SECTION_FILL, _TOTAL_FILL = "0B3C5D", "D9E2EC", "F0F3F7"
_NUMBER_FORMATS = {"count": "#,##0", "proportion": "0%", "days": "0.0"}
_COLS = {"code": 1, "item": 2, "value": 3, "n": 4, "definition": 7, "key": 8}
_WIDTHS = {"A": 8, "B": 58, "C": 13, "D": 13, "E": 13, "F": 13, "G": 70, "H": 30}


def write_return_xlsx(qr: QuarterlyReturn, path: str | Path) -> Path:
    """Write the return as an Excel workbook laid out like the OPCC form.

    One sheet: title rows (area, quarter, dates, disclosure rule), then each section of
    the form with a bold, filled heading, a column header and its items. Simple
    sections read ``No. | Item | Value | Base (n) | Definition``; the outcome sections
    are grids (``Improved | No change | Deteriorated``) as in the form. Numbers are
    stored as numbers with number formats (percentages as fractions shown ``0%``);
    suppressed or unavailable figures are the symbol, explained in footnotes. A hidden
    column H holds each line's machine key, for automated reading.

    Every text cell goes through :func:`spreadsheet_safe`, so a label or area name such
    as ``=HYPERLINK(...)`` is stored as inert text, never as a formula.

    Parameters
    ----------
    qr : QuarterlyReturn
    path : str or Path
        The ``.xlsx`` file to write (its folder is created if missing).

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "Quarterly return"
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    thin = Side(style="thin", color="B9C2CC")
    under = Border(bottom=thin)

    def text(row: int, col: int, value: str, *, font=None, fill=None, align=None):
        cell = ws.cell(row=row, column=col)
        cell.value = spreadsheet_safe(value)
        if cell.data_type == "f":  # belt and braces: never a formula
            cell.data_type = "s"
        if font:
            cell.font = font
        if fill:
            cell.fill = PatternFill("solid", fgColor=fill)
        if align:
            cell.alignment = align
        return cell

    def figure(row: int, col: int, r: ReturnRow, *, total: bool):
        cell = ws.cell(row=row, column=col)
        if r.status == "shown":
            cell.value = r.value
            cell.number_format = _NUMBER_FORMATS[r.unit]
        else:
            text(row, col, r.text)
        cell.alignment = Alignment(horizontal="right", vertical="top")
        if total:
            cell.font = bold
        return cell

    def height(row: int, chars: int, width: int):
        lines = max(1, math.ceil(chars / max(width - 2, 1)))
        ws.row_dimensions[row].height = 15 * lines

    r = 1
    if not qr.rule.active:  # a banner row and the sheet's name say so before anything else
        ws.title = "NOT FOR PUBLICATION"
        text(r, 1, NOT_FOR_PUBLICATION, font=Font(bold=True, color="FFFFFF"), fill="B00020")
        for col in range(2, 8):
            ws.cell(row=r, column=col).fill = PatternFill("solid", fgColor="B00020")
        r += 1
    text(r, 1, qr.title, font=Font(bold=True, size=14, color=_HEAD_FILL))
    r += 1
    facts = [
        ("Area", qr.area_name),
        ("Quarter", qr.period_label),
        ("Period", f"{_long_date(qr.period.start)} to {_long_date(qr.period.end)}"),
        ("Last working day", qr.last_working_day),
        ("Records extracted", qr.extract_date),
        ("Disclosure control", f"counts from 1 to {qr.rule.threshold - 1} not shown ({qr.rule.symbol})"
         if qr.rule.active else "off: internal use only, not for publication"),
        ("Produced by", "evallib from the case records; every figure's definition is given beside it"),
    ]
    for label, value in facts:
        text(r, 1, label, font=bold)
        if isinstance(value, date):
            c = ws.cell(row=r, column=3, value=value)
            c.number_format = "dd mmmm yyyy"
            c.alignment = Alignment(horizontal="left")
        else:
            text(r, 3, value)
        r += 1
    for w in qr.warnings:
        text(r, 1, f"Warning: {w}", font=Font(bold=True, color="9C0006"))
        r += 1

    for sec in qr.sections:
        r += 1
        for col in range(1, 8):
            ws.cell(row=r, column=col).fill = PatternFill("solid", fgColor=_HEAD_FILL)
        text(r, 1, sec.title, font=Font(bold=True, color="FFFFFF", size=12))
        text(r, _COLS["key"], sec.key)
        r += 1
        if sec.note:
            text(r, 1, sec.note, align=wrap)
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=7)
            height(r, len(sec.note), 185)
            r += 1
        if sec.is_grid:
            heads = ["No.", "Outcome", *[h for _, h in sec.columns]]
            for i, h in enumerate(heads, start=1):
                text(r, i, h, font=bold, fill=_SECTION_FILL)
            for i in range(len(heads) + 1, 8):
                ws.cell(row=r, column=i).fill = PatternFill("solid", fgColor=_SECTION_FILL)
            text(r, _COLS["definition"], "Definition", font=bold, fill=_SECTION_FILL)
            text(r, _COLS["key"], "|".join(k for k, _ in sec.columns))
            r += 1
            for line, code, label, definition, cells in sec.lines():
                is_total = any(c.total for c in cells.values())
                text(r, 1, code, align=wrap)
                text(r, 2, label, font=bold if is_total else None, align=wrap)
                for j, (col, _) in enumerate(sec.columns):
                    figure(r, 3 + j, cells[col], total=is_total)
                text(r, _COLS["definition"], definition, align=wrap)
                text(r, _COLS["key"], f"{sec.key}.{line}")
                height(r, max(len(definition) * _WIDTHS["B"] // _WIDTHS["G"], len(label), 1), _WIDTHS["B"])
                for col in range(1, 8):
                    ws.cell(row=r, column=col).border = under
                r += 1
        else:
            for i, h in ((1, "No."), (2, "Item"), (3, "Value"), (4, "Base (n)"), (5, "Definition")):
                text(r, i, h, font=bold, fill=_SECTION_FILL)
            for i in (6, 7):
                ws.cell(row=r, column=i).fill = PatternFill("solid", fgColor=_SECTION_FILL)
            r += 1
            for row in sec.rows:
                text(r, 1, row.code, font=bold if row.total else None)
                text(r, 2, row.label, font=bold if row.total else None, align=wrap)
                figure(r, 3, row, total=row.total)
                if row.unit != "count":
                    c = ws.cell(row=r, column=4)
                    if row.n is not None:
                        c.value = row.n
                        c.number_format = _NUMBER_FORMATS["count"]
                    else:
                        text(r, 4, row.n_text)
                    c.alignment = Alignment(horizontal="right", vertical="top")
                text(r, 5, row.definition, align=wrap)
                ws.merge_cells(start_row=r, start_column=5, end_row=r, end_column=7)
                text(r, _COLS["key"], row.key)
                wide = _WIDTHS["E"] + _WIDTHS["F"] + _WIDTHS["G"]
                height(r, max(len(row.definition) * _WIDTHS["B"] // wide, len(row.label)), _WIDTHS["B"])
                if row.total:
                    for col in range(1, 8):
                        ws.cell(row=r, column=col).fill = PatternFill("solid", fgColor=_TOTAL_FILL)
                for col in range(1, 8):
                    ws.cell(row=r, column=col).border = under
                r += 1

    r += 1
    text(r, 1, "Notes", font=bold)
    r += 1
    for note in qr.footnotes():
        text(r, 1, note, align=wrap)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=7)
        height(r, len(note), 185)
        r += 1
    text(r, 1, f"Dataset fingerprint (SHA-256): {qr.fingerprint}")

    for letter, width in _WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.column_dimensions["H"].hidden = True
    ws.freeze_panes = "A2"
    ws.sheet_view.showGridLines = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    wb.properties.title = spreadsheet_safe(qr.title)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- HTML
_CSS = """
.evallib-return { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: #1b1b1b; }
.evallib-return h1 { color: #0b3c5d; margin: 0 0 0.3em; }
.evallib-return h2 { background: #0b3c5d; color: #fff; padding: 0.3em 0.6em; margin: 1.4em 0 0.3em;
  font-size: 1.05em; }
.evallib-return caption { text-align: left; font-weight: bold; padding: 2px 0; }
.evallib-return .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
.evallib-return table { border-collapse: collapse; font-size: 0.9em; width: 100%; margin: 0.2em 0 0.6em; }
.evallib-return th { background: #d9e2ec; text-align: left !important; padding: 4px 8px; }
.evallib-return td { padding: 4px 8px; border-bottom: 1px solid #e3e7eb; vertical-align: top;
  text-align: left !important; }
.evallib-return td.num, .evallib-return th.num { text-align: right !important; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.evallib-return td.def { color: #444; font-size: 0.92em; }
.evallib-return tr.total td { font-weight: bold; background: #f0f3f7; }
.evallib-return tr.total td.def { font-weight: normal; }
.evallib-return table.form { table-layout: auto; }
.evallib-return table.form td:nth-child(1) { width: 6%; white-space: nowrap; }
.evallib-return table.form td:nth-child(2) { width: 30%; }
.evallib-return table.form td.def { width: 44%; }
.evallib-return table.facts td { border: none; padding: 1px 8px 1px 0; }
.evallib-return p.note, .evallib-return ol.notes { font-size: 0.85em; color: #444; }
.evallib-return p.warning { color: #9c0006; font-weight: bold; }
"""


_VALUE_WORDS = {"true": "yes", "false": "no", **{k: v.lower() for k, v in SOURCE_LABELS.items()},
                **{k: v.lower() for k, v in SERVICE_LABELS.items()}, "idva_marac": "IDVA / MARAC"}


def plain_definition(text: str) -> str:
    """A definition as a reader says it: the data contract's names in words.

    The definitions are written against the contract (``source = idva_marac``,
    ``referral_date in the quarter``), which the workbook keeps for the analyst; the report
    says "source recorded as IDVA / MARAC" and "referral date in the quarter".
    """
    def words(name: str) -> str:
        return name.split(".")[-1].replace("_", " ")

    text = re.sub(r"\b([a-z]+(?:[._][a-z0-9]+)*) = ([a-z0-9_]+)\b",
                  lambda m: f"{words(m.group(1))} recorded as {_VALUE_WORDS.get(m.group(2), words(m.group(2)))}",
                  text)
    return re.sub(r"\b[a-z]+(?:\.[a-z_]+)?(?:_[a-z0-9]+)+\b", lambda m: words(m.group(0)), text)


def return_html(qr: QuarterlyReturn, *, full_page: bool = False) -> str:
    """The return as self-contained HTML in the form's layout (for notebooks and reports).

    Parameters
    ----------
    qr : QuarterlyReturn
    full_page : bool, default False
        Wrap the fragment in a complete HTML document.

    Returns
    -------
    str
        A ``<section class="evallib-return">`` with its own style; every text escaped.
    """
    from evallib.present import publication_banner

    e = html.escape
    parts = [f"{publication_banner(qr.rule)}<section class=\"evallib-return\"><style>{_CSS}</style>",
             f"<h1>{e(qr.title)}</h1>", synthetic_notice(qr.synthetic),
             "<table class=\"facts\"><caption>About this return</caption>"]
    facts = [("Area", qr.area_name), ("Quarter", qr.period_label),
             ("Period", f"{_long_date(qr.period.start)} to {_long_date(qr.period.end)}"),
             ("Last working day", f"{qr.last_working_day:%A} {_long_date(qr.last_working_day)}"),
             ("Records extracted", _long_date(qr.extract_date)),
             ("Disclosure control", f"counts from 1 to {qr.rule.threshold - 1} not shown ({qr.rule.symbol})"
              if qr.rule.active else "off: internal use only, not for publication")]
    parts += [f"<tr><td><b>{e(k)}</b></td><td>{e(str(v))}</td></tr>" for k, v in facts]
    parts.append("</table>")
    parts += [f"<p class=\"warning\">Warning: {e(w)}</p>" for w in qr.warnings]
    for sec in qr.sections:
        parts.append(f"<h2>{e(sec.title)}</h2>")
        caption = f"<caption class=\"visually-hidden\">{e(sec.title)}</caption>"
        if sec.note:
            parts.append(f"<p class=\"note\">{e(sec.note)}</p>")
        if sec.is_grid:
            heads = "".join(f"<th class=\"num\">{e(h)}</th>" for _, h in sec.columns)
            parts.append(f"<table class=\"form\">{caption}<thead><tr><th>No.</th><th>Outcome</th>{heads}<th>Definition</th></tr></thead><tbody>")
            for _, code, label, definition, cells in sec.lines():
                cls = " class=\"total\"" if any(c.total for c in cells.values()) else ""
                vals = "".join(f"<td class=\"num\">{e(cells[k].text)}</td>" for k, _ in sec.columns)
                parts.append(f"<tr{cls}><td>{e(code)}</td><td>{e(label)}</td>{vals}"
                             f"<td class=\"def\">{e(plain_definition(definition))}</td></tr>")
        else:
            parts.append(f"<table class=\"form\">{caption}<thead><tr><th>No.</th><th>Item</th><th class=\"num\">Value</th>"
                         "<th class=\"num\">Base (n)</th><th>Definition</th></tr></thead><tbody>")
            for row in sec.rows:
                cls = " class=\"total\"" if row.total else ""
                parts.append(f"<tr{cls}><td>{e(row.code)}</td><td>{e(row.label)}</td>"
                             f"<td class=\"num\">{e(row.text)}</td><td class=\"num\">{e(row.n_text)}</td>"
                             f"<td class=\"def\">{e(plain_definition(row.definition))}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("<ol class=\"notes\">" + "".join(f"<li>{e(n)}</li>" for n in qr.footnotes()) + "</ol>")
    parts.append("</section>")
    body = "\n".join(parts)
    if not full_page:
        return body
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(qr.title)}</title>"
            f"</head><body>\n{body}\n</body></html>\n")
