"""Partner Support Service outcomes report: published tables, sentences, figures and results.

What the report on partners and ex-partners offered the Partner Support Service (PSS)
shows, for one area and period: engagement, DASH risk at first and last contact, the
paired change in high risk (McNemar), feeling safer, partner-reported reduction in
abuse, the OPCC outcome domains and the children in these households.

Why one register for the whole report. Every count the report shows, in any table,
sentence or figure, is one *cell* of a single register, and every sum that ties cells
together (contact made + not made + not recorded = offered; the DASH views, all sums of
one cross-table; the answer tables' rows and columns) is declared once, in the section
that publishes it. Disclosure control (:func:`from_partners`) then protects the sections
so that a count hidden in one table cannot be worked out from another table sharing its
total, nor from the differences of the DASH views. A section function only formats
published cells.

Rules every section follows (``docs/partner-outcomes.md``):

* every count shown has its denominator next to it, or is a total that is;
* every rate has its Wilson 95% interval (:func:`evallib.stats.proportion_ci`), computed
  from the *published* counts (after any rounding), and is shown only when both of its
  counts are;
* missing answers are counted in columns of their own ("unknown": the partner was asked
  and the answer is recorded as unknown; "not recorded": the field is empty), never
  dropped, and rates "of those who answered" say how many did.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from evallib import stats
from evallib.disclosure import DisclosureRule
from evallib.outcomes.partners import (
    CHANGE_LEVELS,
    DASH_BANDS,
    DOMAINS,
    dash_change_summary,
    partner_frame,
)
from evallib.params import Period, parse_period
from evallib.reports.gate import Gate, PublishedCounts
from evallib.schemas import Dataset

__all__ = [
    "PartnerReport", "Section", "FigureWithAlt", "build", "from_partners", "heading",
    "engagement", "dash_bands", "risk_change", "high_risk", "feels_safer", "abuse_reduced",
    "domains", "children", "contrast", "key_rates_figure", "dash_figure", "domain_figure",
    "results", "mcnemar_high_risk", "NOT_APPLICABLE", "ANSWER_GROUPS", "BAND_LABELS", "DASH_LEVELS",
]

#: GSS symbol for "not applicable": a percentage of nobody.
NOT_APPLICABLE = "[z]"
_NA_NOTE = f"{NOT_APPLICABLE} = not applicable: a percentage of no partners."

#: DASH bands as the report names them.
BAND_LABELS = {"standard": "Standard (0-9)", "medium": "Medium (10-13)", "high": "High (14+)",
               "missing": "Not recorded", "all": "All"}
_ANSWER_LEVELS = ("yes", "no", "unknown", "nr")
_DOMAIN_LEVELS = (*CHANGE_LEVELS, "unknown", "nr")
_ENGAGED_GROUPS = ("completed", "other")
#: Rows of the feels-safer and abuse-reduced tables: engaged partners by where their
#: (ex-)partner stands on a core programme, then the totals.
ANSWER_GROUPS = {
    "completed": "Whose (ex-)partner completed a programme",
    "other": "Whose (ex-)partner has not completed (left, still on a programme, or not started)",
    "engaged": "All engaged partners",
}
_GROUP_OF_STATUS = {"completed": "completed", "not_completed": "other", "ongoing": "other",
                    "not_started": "other"}

# Okabe-Ito colours (evallib.figures.PALETTE) for bands and changes; grey for "no change".
_BAND_COLOURS = {"standard": "#56B4E9", "medium": "#E69F00", "high": "#D55E00"}
_CHANGE_COLOURS = {"improved": "#009E73", "no_change": "#BBBBBB", "deteriorated": "#D55E00"}


# ---------------------------------------------------------------------------------------
# The register of cells (one evallib.reports.gate.Gate for the whole report)
# ---------------------------------------------------------------------------------------


def _counts(series: pd.Series, levels: Sequence[str], missing: str = "nr") -> pd.Series:
    """Count each level, empty values under ``missing``; all levels kept (zeros too)."""
    v = series.astype("string").fillna(missing)
    return v.value_counts().reindex(list(levels), fill_value=0).astype(int)


def _engaged(p: pd.DataFrame) -> np.ndarray:
    """``engaged`` as plain booleans (required by the contract; empty would count as not engaged)."""
    return p["engaged"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _register_base(p: pd.DataFrame, rule: DisclosureRule) -> Gate:
    """Every count the report publishes except the DASH ones (see :func:`_dash_views`)."""
    c = Gate(rule, report="partner_outcomes")
    c.section = "engagement"
    c.add("offered", len(p), priority=1)
    c.share("offered", "partners.offered")   # the service tables and the quarterly return publish it too

    # -- engagement ------------------------------------------------------------------
    contact = p["contact_made"].astype("boolean").map({True: "yes", False: "no"}, na_action="ignore")
    c.add_many("contact", _counts(contact, ("yes", "no", "nr")))
    c.total("offered", ["contact.yes", "contact.no", "contact.nr"])
    engaged = _engaged(p)
    c.add("engaged.yes", int(engaged.sum()))
    c.share("engaged.yes", "partners.engaged")
    c.add("engaged.no", int((~engaged).sum()))
    c.total("offered", ["engaged.yes", "engaged.no"])
    c.add_many("support", _counts(p["support"], ("declined", "single", "multiple", "nr")))
    c.total("offered", [f"support.{k}" for k in ("declined", "single", "multiple", "nr")])

    # -- feels safer, abuse reduced: engaged partners by the (ex-)partner's programme ------
    status = p["programme_status"].astype("string").map(_GROUP_OF_STATUS).fillna("other")
    group = pd.Series(np.where(engaged, status.to_numpy(dtype=object), "not_engaged"), index=p.index,
                      dtype="string")
    group_counts = _counts(group, (*_ENGAGED_GROUPS, "not_engaged"))
    c.section = "fs"
    for g in _ENGAGED_GROUPS:
        c.add(f"grp.{g}", int(group_counts[g]))
    c.together(*(f"grp.{g}" for g in _ENGAGED_GROUPS))   # compared groups: a hidden one hides its complement
    for col, short in (("feels_safer", "fs"), ("abuse_reduced", "ar")):
        c.section = short
        c.total("engaged.yes", [f"grp.{g}" for g in _ENGAGED_GROUPS])
        c.touch("engaged.no")
        answers = p[col].astype("string").fillna("nr")
        xa = pd.crosstab(pd.Categorical(group, [*_ENGAGED_GROUPS, "not_engaged"]),
                         pd.Categorical(answers, list(_ANSWER_LEVELS)), dropna=False)
        xa.index, xa.columns = list(xa.index.astype(str)), list(xa.columns.astype(str))
        for g in _ENGAGED_GROUPS:
            for lvl in _ANSWER_LEVELS:   # about the group: withheld (even a 0) when it is hidden
                c.add(f"{short}.{g}.{lvl}", int(xa.loc[g, lvl]), about=[f"grp.{g}"])
            c.total(f"grp.{g}", [f"{short}.{g}.{lvl}" for lvl in _ANSWER_LEVELS])
        for lvl in _ANSWER_LEVELS:
            c.total(f"{short}.engaged.{lvl}", [f"{short}.{g}.{lvl}" for g in _ENGAGED_GROUPS])
        c.total("engaged.yes", [f"{short}.engaged.{lvl}" for lvl in _ANSWER_LEVELS])
        for g in (*_ENGAGED_GROUPS, "engaged"):
            c.derive(f"{short}.{g}.answered", [f"{short}.{g}.yes", f"{short}.{g}.no"])
        # Partners who did not engage are not asked; an answer recorded for one is counted here.
        c.add(f"{short}.not_engaged.recorded", int(xa.loc["not_engaged", ["yes", "no", "unknown"]].sum()))

    # -- OPCC outcome domains (engaged partners) ------------------------------------------
    c.section = "domains"
    eng = p[engaged]
    for col in DOMAINS:
        d = col.removeprefix("outcome_")
        c.add_many(f"dom.{d}", _counts(eng[col], _DOMAIN_LEVELS))
        c.total("engaged.yes", [f"dom.{d}.{lvl}" for lvl in _DOMAIN_LEVELS])
        c.derive(f"dom.{d}.assessed", [f"dom.{d}.{lvl}" for lvl in CHANGE_LEVELS])
    recorded = p.loc[~engaged, list(DOMAINS)].notna().any(axis=1)
    c.add("dom.not_engaged.recorded", int(recorded.sum()))

    # -- children: one row per person whose (ex-)partner was offered support --------------
    c.section = "children"
    people = p.sort_values(["offered_date", "partner_id"], kind="stable").drop_duplicates("person_id")
    kids = pd.to_numeric(people["children"], errors="coerce")
    c.add("ch.with", int((kids >= 1).sum()))
    c.add("ch.none", int((kids == 0).sum()))
    c.add("ch.unknown", int(kids.isna().sum()))
    c.total("ch.known", ["ch.with", "ch.none"])
    c.total("ch.people", ["ch.known", "ch.unknown"])
    c.add("ch.children", int(kids.fillna(0).sum()))
    return c


# -- DASH: the cross-table and the views published from it --------------------------------

_BANDS = (*DASH_BANDS, "missing")
_INTERIOR = tuple((s, e) for s in _BANDS for e in _BANDS)

#: Views of the DASH cross-table, from the most to the least detailed. The report
#: publishes the first level whose cells, after suppression, reveal no small count of
#: the cross-table (see :func:`from_partners`).
DASH_LEVELS = (("cross", "bands", "change", "high_risk"), ("bands", "change", "high_risk"),
               ("bands", "change"), ("bands",), ())


def _dash_views(views: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """Each published DASH count as the cross-table cells it adds up."""
    order = {b: i for i, b in enumerate(DASH_BANDS)}
    both = [(s, e) for s in DASH_BANDS for e in DASH_BANDS]
    lower = ("standard", "medium")
    out: dict[str, list[tuple[str, str]]] = {"offered": list(_INTERIOR)}
    views = set(views)
    if "cross" in views:
        out.update({f"dash.{s}.{e}": [(s, e)] for s, e in _INTERIOR})
    if "bands" in views:
        out.update({f"dash.{s}.all": [(s, e) for e in _BANDS] for s in _BANDS})
        out.update({f"dash.all.{e}": [(s, e) for s in _BANDS] for e in _BANDS})
    if "change" in views or "high_risk" in views:
        out["change.assessable"] = both
    if "change" in views:
        out["change.improved"] = [(s, e) for s, e in both if order[e] < order[s]]
        out["change.no_change"] = [(s, e) for s, e in both if order[e] == order[s]]
        out["change.deteriorated"] = [(s, e) for s, e in both if order[e] > order[s]]
        out["change.not_assessable"] = [k for k in _INTERIOR if k not in both]
    if "high_risk" in views:
        out.update({
            "hr.high_high": [("high", "high")],
            "hr.high_lower": [("high", e) for e in lower],
            "hr.lower_high": [(s, "high") for s in lower],
            "hr.lower_lower": [(s, e) for s in lower for e in lower],
            "hr.high_first": [("high", e) for e in DASH_BANDS],
            "hr.high_last": [(s, "high") for s in DASH_BANDS],
            "hr.lower_first": [(s, e) for s in lower for e in DASH_BANDS],
            "hr.lower_last": [(s, e) for s in DASH_BANDS for e in lower],
        })
    return out


def _add_dash(c: Gate, interior: dict[tuple[str, str], int], views: dict[str, list[tuple[str, str]]]) -> None:
    """Add the DASH cells of ``views`` and the sums between them to the register."""
    c.section = "dash"
    c.touch("offered")
    for key, members in views.items():
        if key != "offered":
            c.add(key, sum(interior[m] for m in members))
    members_of = {k: frozenset(v) for k, v in views.items()}
    # Declare every published count that is exactly the sum of other published counts
    # with disjoint cells: rows and columns of the cross-table, the bands adding up to
    # all offered, improved + no change + deteriorated, the 2x2's rows and columns.
    candidates = {
        "offered": [[f"dash.{s}.all" for s in _BANDS], [f"dash.all.{e}" for e in _BANDS],
                    ["change.assessable", "change.not_assessable"]],
        "change.assessable": [["change.improved", "change.no_change", "change.deteriorated"],
                              ["hr.high_first", "hr.lower_first"], ["hr.high_last", "hr.lower_last"]],
        "hr.high_first": [["hr.high_high", "hr.high_lower"]],
        "hr.high_last": [["hr.high_high", "hr.lower_high"]],
        "hr.lower_first": [["hr.lower_high", "hr.lower_lower"]],
        "hr.lower_last": [["hr.high_lower", "hr.lower_lower"]],
        **{f"dash.{s}.all": [[f"dash.{s}.{e}" for e in _BANDS]] for s in _BANDS},
        **{f"dash.all.{e}": [[f"dash.{s}.{e}" for s in _BANDS]] for e in _BANDS},
        **{f"hr.{k}": [[f"dash.{s}.{e}" for s, e in cells]] for k, cells in (
            ("high_high", [("high", "high")]), ("high_lower", [("high", "standard"), ("high", "medium")]),
            ("lower_high", [("standard", "high"), ("medium", "high")]))},
        **{f"change.{k}": [[f"dash.{s}.{e}" for s, e in _dash_views(["change"])[f"change.{k}"]]]
           for k in ("improved", "no_change", "deteriorated", "not_assessable")},
    }
    for total, options in candidates.items():
        if total not in views:
            continue
        for parts in options:
            if all(p in views for p in parts) and frozenset().union(*(members_of[p] for p in parts)) \
                    == members_of[total] and sum(len(members_of[p]) for p in parts) == len(members_of[total]):
                c.total(total, parts)


def _dash_audit(views: dict[str, list[tuple[str, str]]], interior: dict[tuple[str, str], int],
                shown: dict[str, bool], rule: DisclosureRule) -> tuple[bool, set[tuple[str, str]]]:
    """Check that the published DASH counts give away no small count of the cross-table.

    The cross-table's cells are the unknowns; each published (shown) count is a linear
    equation on them. For every hidden published count and every cross-table cell
    holding a count from 1 to ``threshold - 1``, the smallest and largest values
    consistent with what is shown (linear programming, cells non-negative) must differ
    by at least ``rule.protection``, as :func:`evallib.disclosure.suppress` requires of
    the cells it hides. This catches what suppression of the published table alone
    cannot see: a small cell that is never published but is the difference of two
    published counts (moving from medium to standard = improved - high to lower).

    Returns
    -------
    (ok, determined)
        ``ok``: nothing small can be worked out. ``determined``: the cross-table cells
        whose value follows exactly from what is shown (safe to show, since showing
        them adds nothing).
    """
    idx = {k: i for i, k in enumerate(_INTERIOR)}

    def row(members):
        r = np.zeros(len(_INTERIOR))
        r[[idx[m] for m in members]] = 1.0
        return r

    truth = np.array([interior[k] for k in _INTERIOR], dtype=float)
    eq_keys = [k for k in views if shown.get(k, False)]
    a_eq = np.array([row(views[k]) for k in eq_keys]) if eq_keys else None
    b_eq = a_eq @ truth if eq_keys else None

    def bounds(vec) -> tuple[float, float]:
        out = []
        for sign in (1.0, -1.0):
            res = linprog(sign * vec, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if res.status == 3:
                out.append(math.inf)
                continue
            out.append(sign * res.fun)
        return out[0], out[1]

    def width(vec) -> float:
        lo, hi = bounds(vec)
        return math.inf if math.isinf(hi) else math.floor(hi + 1e-6) - math.ceil(lo - 1e-6)

    targets = [row(views[k]) for k in views if not shown.get(k, False)]
    if rule.active:
        targets += [row([k]) for k in _INTERIOR if 1 <= interior[k] < rule.threshold]
    ok = all(width(t) >= rule.protection for t in targets)
    determined = {k for k in _INTERIOR if width(row([k])) < 1}
    return ok, determined


# ---------------------------------------------------------------------------------------
# The report object
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One section of the report, ready to show and to write.

    Attributes
    ----------
    name : str
        Short name; the notebook writes ``data`` to ``tables/partner_<name>.csv``.
    caption : str
        The table's caption.
    table : pandas.DataFrame
        Display strings: counts or ``[c]``, "x of y", "79% (71% to 85%)".
    data : pandas.DataFrame
        The same published numbers for the CSV: counts as published (``[c]`` where
        hidden), rates and interval limits as proportions (empty where not shown).
    footnote : str
        What the symbols in the table mean.
    text : str
        Markdown: what the table shows, in sentences, each number with its n.
    """

    name: str
    caption: str
    table: pd.DataFrame
    data: pd.DataFrame
    footnote: str
    text: str

    def styled(self):
        """The table in the house style (:func:`evallib.present.styled`) with its footnote."""
        from evallib.present import styled

        out = styled(self.table, self.caption, self.footnote)
        wide = [c for c in self.table.columns if "%" in str(c) or "Percentage" in str(c)]
        if wide:  # "66% (59% to 72%)" reads best on one line
            out.styler = out.styler.set_properties(subset=wide, **{"white-space": "nowrap"})
        return out


class FigureWithAlt(NamedTuple):
    """A figure and its alt text: ``present.figure_html(*f)`` embeds it."""

    figure: Any
    alt: str


@dataclass(frozen=True, eq=False)
class PartnerReport(PublishedCounts):
    """The counts of one PSS report, raw and published.

    Build it with :func:`build` (from a dataset) or :func:`from_partners` (from a frame
    made by :func:`evallib.outcomes.partners.partner_frame`). ``partners`` and ``raw``
    are internal: never publish them. Everything a section shows comes from
    ``published``.

    Attributes
    ----------
    partners : pandas.DataFrame
        One row per partner offered support in the period (person-level).
    rule : DisclosureRule
    period : Period
    area_name : str
    extract_date : date or None
    partners_supplied : bool
        Whether the dataset had a ``partners`` table at all.
    raw : pandas.Series
        Every published cell's true count, by key (internal).
    published : pandas.Series
        ``Int64``: the count as published (rounded if the rule rounds), ``<NA>`` if
        hidden or, for a DASH view not published at all, withheld.
    reasons : pandas.Series
        Why a cell is not shown: ``primary``, ``secondary``, ``withheld`` or ``""``.
    dash_views : tuple of str
        The DASH views published (a level of :data:`DASH_LEVELS`).
    cross_table : dict
        ``(first band, last band) -> count`` as published in the cross-table, ``None``
        where not shown.
    derived : dict
        Sums shown only when all their parts are (``fs.engaged.answered`` = yes + no).
    relations : tuple
        Every sum declared to disclosure control, ``(total, (members, ...))``: what an
        auditor needs to check that no hidden count can be worked out.
    """

    partners: pd.DataFrame
    rule: DisclosureRule
    period: Period
    area_name: str
    extract_date: date | None
    partners_supplied: bool
    raw: pd.Series
    published: pd.Series
    reasons: pd.Series
    dash_views: tuple[str, ...]
    cross_table: dict[tuple[str, str], int | None]
    derived: dict[str, tuple[str, ...]]
    relations: tuple[tuple[str, tuple[str, ...]], ...]
    disclosure: dict = field(default_factory=dict)
    #: The dataset is synthetic (its dataset.yaml has a ``synthetic`` block): the report says so.
    synthetic: bool = False

    # -- access to published cells ----------------------------------------------------------
    def shown(self, key: str) -> bool:
        """Whether the count is published (a derived sum: whether all its parts are)."""
        if key in self.derived:
            return all(self.shown(m) for m in self.derived[key])
        return key in self.published.index and not pd.isna(self.published[key])

    def count(self, key: str) -> int | None:
        """The published count, or ``None`` if not shown."""
        if not self.shown(key):
            return None
        if key in self.derived:
            return sum(int(self.published[m]) for m in self.derived[key])
        return int(self.published[key])

    def text(self, key: str) -> str:
        """The published count as text: ``1,234`` or the symbol."""
        v = self.count(key)
        return self.rule.symbol if v is None else f"{v:,}"

    def pct_ci(self, num: str, den: str) -> str:
        """``"30% (18% to 46%)"``; the symbol if hidden; ``[z]`` for a percentage of none."""
        r = self.rate(num, den)
        if r["count"] is None or r["of"] is None:
            return self.rule.symbol
        if r["of"] == 0:
            return NOT_APPLICABLE
        return f"{_pc(r['rate'])} ({_pc(r['ci_low'])} to {_pc(r['ci_high'])})"

    def phrase(self, num: str, den: str) -> str:
        """A sentence fragment: ``"12 of 40 (30%; 95% interval 18% to 46%)"``."""
        r = self.rate(num, den)
        if r["count"] is None or r["of"] is None:
            return "not shown (small numbers)"
        if r["of"] == 0:
            return "0 of 0"
        return (f"{r['count']:,} of {r['of']:,} ({_pc(r['rate'])}; 95% interval "
                f"{_pc(r['ci_low'])} to {_pc(r['ci_high'])})")

    def footnote(self, *, z: bool = False) -> str:
        """The rule's footnote, plus the ``[z]`` note when the table uses it."""
        return " ".join(t for t in (self.rule.footnote(), _NA_NOTE if z else "") if t)


def _day(d: date) -> str:
    """``1 April 2021``: no leading zero, as in the rest of the suite's reports."""
    return f"{d.day} {d:%B %Y}"


def _pc(x: float) -> str:
    """A proportion as a whole percentage, half up (Justice Data Lab style)."""
    return f"{math.floor(100 * x + 0.5):.0f}%"


def build(ds: Dataset, period: Period | str, rule: DisclosureRule) -> PartnerReport:
    """The PSS report of one dataset and period under a disclosure rule.

    Parameters
    ----------
    ds : Dataset
        A loaded dataset; an absent ``partners`` table gives a report of zeros that
        says so (:func:`heading`).
    period : Period or str
        Partners are selected by ``offered_date`` in the period.
    rule : DisclosureRule
        Usually ``evallib.reports.evaluation.disclosure_rule(ds, suppress_below)``.
    """
    period = parse_period(period)
    report = from_partners(partner_frame(ds, period), rule, period, area_name=ds.area.display_name,
                           extract_date=ds.meta.extract_date, partners_supplied="partners" in ds.present)
    return dataclasses.replace(report, synthetic=bool(ds.meta.synthetic))


def from_partners(p: pd.DataFrame, rule: DisclosureRule, period: Period | str, *, area_name: str = "",
                  extract_date: date | None = None, partners_supplied: bool = True) -> PartnerReport:
    """The report from a prepared partners frame (:func:`~evallib.outcomes.partners.partner_frame`).

    How the counts are protected:

    1. All published counts (engagement, answers, domains, children and the DASH
       views) go through :func:`evallib.disclosure.suppress` with every sum between
       them declared: section by section, joining sections whose shared totals get
       hidden (:meth:`evallib.reports.gate.Gate.protect`), so that a count hidden in one table cannot be worked
       out from another table sharing its total.
    2. The DASH views are all sums of one cross-table (band at first by band at last
       contact). If that table has no small cell it is published whole. Otherwise its
       cells are not published, and the most detailed set of views (:data:`DASH_LEVELS`)
       is chosen under which no small cell of the cross-table, and no hidden published
       count, can be worked out from what is shown (:func:`_dash_audit`); the
       cross-table then shows only the cells that follow from the views anyway.
    """
    base = _register_base(p, rule)
    bands = list(_BANDS)
    xt = dash_change_summary(p) if len(p) else pd.DataFrame(0, index=bands, columns=bands)
    interior = {(s, e): int(xt.loc[s, e]) for s, e in _INTERIOR}
    any_small = rule.active and any(1 <= v < rule.threshold for v in interior.values())
    levels = DASH_LEVELS[1:] if any_small else DASH_LEVELS[:1]
    all_keys = _dash_views(DASH_LEVELS[0])
    for i, level in enumerate(levels):
        views = _dash_views(level)
        cells = base.copy()
        _add_dash(cells, interior, views)
        pub = cells.protect()
        published, reasons = pub.published, pub.reasons
        shown = published.notna().to_dict()
        if "cross" in level:
            cross = {k: (None if not shown[f"dash.{k[0]}.{k[1]}"] else int(published[f"dash.{k[0]}.{k[1]}"]))
                     for k in _INTERIOR}
            break
        ok, determined = _dash_audit(views, interior, shown, rule)
        if ok or i == len(levels) - 1:
            rounded = rule.round_counts(np.array([interior[k] for k in _INTERIOR]))
            cross = {k: (int(v) if k in determined else None) for k, v in zip(_INTERIOR, rounded, strict=True)}
            break
    raw = pd.Series(cells.values, dtype="Int64")
    withheld = [k for k in all_keys if k not in published.index]
    if withheld:
        published = pd.concat([published, pd.Series(pd.NA, index=withheld, dtype="Int64")])
        reasons = pd.concat([reasons, pd.Series("withheld", index=withheld, dtype=str)])
    return PartnerReport(
        partners=p, rule=rule, period=parse_period(period), area_name=area_name, extract_date=extract_date,
        partners_supplied=partners_supplied, raw=raw, published=published, reasons=reasons,
        dash_views=tuple(level), cross_table=cross, derived=cells.derived,
        relations=tuple(dict.fromkeys((t, tuple(m)) for _, t, m in cells.sums)),
        disclosure=pub.record(),
    )


# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------


def heading(r: PartnerReport) -> str:
    """The title block (HTML): area, period, selection, data and disclosure in force.

    With suppression off it starts with the suite's "NOT FOR PUBLICATION" banner
    (:func:`evallib.present.publication_banner`), fixed so that it prints on every page.
    """
    import html

    from evallib.present import publication_banner, synthetic_notice

    title = f"{r.area_name or 'Partner Support Service'}: Partner Support Service outcomes, {r.period.title}"
    extract = f"Data extracted {_day(r.extract_date)}. " if r.extract_date else ""
    suppression = (f"Counts from 1 to {r.rule.threshold - 1} are not shown ({r.rule.symbol}), nor any "
                   "count they could be worked out from." if r.rule.active else
                   "Every count is shown, however small.")
    intro = ("Partners and ex-partners of people referred to the perpetrator programme who were first offered "
             f"support between {_day(r.period.start)} and {_day(r.period.end)}. {extract}{suppression} "
             "Every percentage is given with the number it is a percentage of and a 95% interval (Wilson).")
    out = (f"{publication_banner(r.rule)}<h1>{html.escape(title)}</h1>{synthetic_notice(r.synthetic)}"
           f"<p>{html.escape(intro)}</p>")
    if not r.partners_supplied:
        out += "<p><strong>No partners table was supplied with this dataset, so there is nothing to report.</strong></p>"
    return out


def _list_section(r: PartnerReport, name: str, caption: str, rows: Iterable[tuple[str, str, str | None]],
                  text: str, unit: str = "Partners") -> Section:
    """A table of measures, each "count", "of", "percentage (95% interval)"."""
    disp, data, z = [], [], False
    for label, key, den in rows:
        if den is None:
            disp.append({"Measure": label, unit: r.text(key), "Of": "", "Percentage (95% interval)": ""})
            data.append({"measure": label, "count": r.text(key), "of": None, "rate": None,
                         "ci_low": None, "ci_high": None})
            continue
        rate = r.rate(key, den)
        pct = r.pct_ci(key, den)
        z |= pct == NOT_APPLICABLE
        disp.append({"Measure": label, unit: r.text(key), "Of": r.text(den), "Percentage (95% interval)": pct})
        data.append({"measure": label, "count": r.text(key), "of": r.text(den), "rate": rate["rate"],
                     "ci_low": rate["ci_low"], "ci_high": rate["ci_high"]})
    data_df = pd.DataFrame(data)
    for col in ("rate", "ci_low", "ci_high"):
        data_df[col] = data_df[col].astype("Float64")
    return Section(name, caption, pd.DataFrame(disp), data_df, r.footnote(z=z), text)


def engagement(r: PartnerReport) -> Section:
    """Offered, contact made, engaged, and the support received, each of those offered.

    Why every category is shown, "not recorded" included: a rate of engagement says
    little unless the reader can see how many records are silent.
    """
    rows = [
        ("Offered support", "offered", None),
        ("Contact made", "contact.yes", "offered"),
        ("Contact not made", "contact.no", "offered"),
        ("Contact not recorded", "contact.nr", "offered"),
        ("Engaged (took up support at any stage)", "engaged.yes", "offered"),
        ("Did not engage", "engaged.no", "offered"),
        ("Support: declined", "support.declined", "offered"),
        ("Support: a single incident of support", "support.single", "offered"),
        ("Support: more than one incident of support", "support.multiple", "offered"),
        ("Support: not recorded", "support.nr", "offered"),
    ]
    text = (f"**{r.text('offered')}** partners and ex-partners were offered support. "
            f"Contact made: {r.phrase('contact.yes', 'offered')}. "
            f"Engaged: {r.phrase('engaged.yes', 'offered')}. "
            f"Support not recorded: {r.phrase('support.nr', 'offered')}.")
    return _list_section(r, "engagement", "Engagement with the Partner Support Service", rows, text)


def dash_bands(r: PartnerReport) -> Section:
    """DASH band at first contact (rows) by band at last contact (columns), missing counted.

    When the cross-table holds small counts its inner cells are shown only where they
    follow from the totals and summaries published anyway (:func:`from_partners`).
    """
    bands = [*DASH_BANDS, "missing", "all"]
    sym = r.rule.symbol

    def cell(s: str, e: str) -> str:
        if s == e == "all":
            return r.text("offered")
        if "all" in (s, e):
            return r.text(f"dash.{s}.{e}")
        v = r.cross_table[(s, e)]
        return sym if v is None else f"{v:,}"

    rows = [{"First contact": BAND_LABELS[s], **{f"Last: {BAND_LABELS[e]}": cell(s, e) for e in bands}}
            for s in bands]
    data = [{"first_contact": s, **{f"last_{e}": cell(s, e) for e in bands}} for s in bands]
    text = (f"DASH risk band at first contact (rows) against last contact (columns), for all "
            f"{r.text('offered')} partners offered support, missing scores included. The first score is "
            f"missing for {r.phrase('dash.missing.all', 'offered')} and the last for "
            f"{r.phrase('dash.all.missing', 'offered')}.")
    if "cross" not in r.dash_views and "bands" in r.dash_views:
        text += (f" Some inner cells hold counts from 1 to {r.rule.threshold - 1}, so an inner cell is shown "
                 "only where it follows from the totals and the summaries below anyway.")
    elif "bands" not in r.dash_views:
        text += " The table cannot be shown without revealing small counts."
    return Section("dash_bands", "DASH risk band at first contact (rows) and last contact (columns)",
                   pd.DataFrame(rows), pd.DataFrame(data), r.footnote(), text)


def risk_change(r: PartnerReport) -> Section:
    """Improved / no change / deteriorated band, of partners with both scores; and the rest.

    A lower band at last contact is "improved"; a lower score in the same band is
    "no change", as in the OPCC return (``docs/quarterly-return.md``).
    """
    rows = [
        ("Improved: lower band at last contact", "change.improved", "change.assessable"),
        ("No change: same band", "change.no_change", "change.assessable"),
        ("Deteriorated: higher band at last contact", "change.deteriorated", "change.assessable"),
        ("Both scores recorded (assessable)", "change.assessable", "offered"),
        ("Not assessable: a score missing", "change.not_assessable", "offered"),
        ("All partners offered support", "offered", None),
    ]
    text = (f"Partners with a DASH score at both first and last contact: "
            f"{r.phrase('change.assessable', 'offered')} of those offered support. Of them, the band was "
            f"**lower** at last contact for {r.phrase('change.improved', 'change.assessable')} and **higher** for "
            f"{r.phrase('change.deteriorated', 'change.assessable')}. The other "
            f"{r.text('change.not_assessable')} have a score missing: their change is unknown, and they are "
            "counted as not assessable, never as unchanged. A lower score within the same band is no change.")
    if "change" not in r.dash_views:
        text = _WITHHELD.format(what="The change in risk band", threshold=r.rule.threshold - 1)
    return _list_section(r, "risk_change", "Change in DASH risk band, first to last contact", rows, text)


def mcnemar_high_risk(r: PartnerReport) -> dict[str, Any]:
    """McNemar's test of the paired high-risk table, if it may be published.

    Decision (documented in ``docs/partner-outcomes.md``): the test is shown only when
    both discordant cells (high to lower, lower to high) are published. The reason: the
    margins shown (high risk at first and at last contact) give the difference of the
    discordant cells, and the continuity-corrected statistic
    ``(|b - c| - 1)^2 / (b + c)`` then gives their sum, so a statistic or p-value shown
    beside hidden cells would give the hidden counts back. When the cells are hidden
    the report says the test cannot be shown.

    Returns
    -------
    dict
        ``shown`` (bool), ``statistic``, ``df``, ``p_value`` (``None`` unless shown or
        when undefined), ``table`` (the published 2x2 as ``[[hh, hl], [lh, ll]]``,
        ``None`` for hidden cells) and ``reason`` (why not shown, or a note).
    """
    keys = [["hr.high_high", "hr.high_lower"], ["hr.lower_high", "hr.lower_lower"]]
    table = [[r.count(k) for k in row] for row in keys]
    out: dict[str, Any] = {"shown": False, "statistic": None, "df": None, "p_value": None,
                           "correction": True, "table": table, "reason": ""}
    if "high_risk" not in r.dash_views:
        out["reason"] = ("Not shown: the paired table is withheld, because with the other DASH tables it would "
                         "reveal small counts of partners moving between bands.")
        return out
    if not (r.shown("hr.high_lower") and r.shown("hr.lower_high")):
        out["reason"] = ("Not shown: the number of partners moving into or out of high risk is too small "
                         "to publish, and the test result would reveal it.")
        return out
    b, c = r.count("hr.high_lower"), r.count("hr.lower_high")
    res = stats.mcnemar(np.array([[table[0][0] or 0, b], [c, table[1][1] or 0]]))
    out.update(shown=True, df=res.df)
    if math.isnan(res.statistic):
        out["reason"] = "No partner moved into or out of high risk, so the test is not defined."
    else:
        out.update(statistic=res.statistic, p_value=res.p_value)
    return out


_WITHHELD = ("{what} is not shown: together with the tables above it would let a reader work out a count "
             "from 1 to {threshold} of partners moving between DASH bands.")


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def high_risk(r: PartnerReport) -> Section:
    """The paired high-risk (DASH 14+) table and McNemar's test on it.

    Why paired: the same partners are assessed twice, so the question is whether more
    moved out of high risk than into it; comparing two percentages as if they were of
    different people would ignore that.
    """
    heads = {"hh": "High risk at last contact", "hl": "Not high risk at last contact"}
    rows = [
        ("High risk at first contact", "hr.high_high", "hr.high_lower", "hr.high_first"),
        ("Not high risk at first contact", "hr.lower_high", "hr.lower_lower", "hr.lower_first"),
        ("All with both scores", "hr.high_last", "hr.lower_last", "change.assessable"),
    ]
    disp = pd.DataFrame([{"": lab, heads["hh"]: r.text(a), heads["hl"]: r.text(b), "All": r.text(t)}
                         for lab, a, b, t in rows])
    data = pd.DataFrame([{"first_contact": lab, "high_last": r.text(a), "not_high_last": r.text(b), "all": r.text(t)}
                         for lab, a, b, t in rows])
    test = mcnemar_high_risk(r)
    parts = [
        f"Partners with both scores at high risk (DASH 14+) at first contact: "
        f"{r.phrase('hr.high_first', 'change.assessable')}; at last contact: "
        f"{r.phrase('hr.high_last', 'change.assessable')}. Moved out of high risk: {r.text('hr.high_lower')}; "
        f"moved into it: {r.text('hr.lower_high')}."
    ]
    if "high_risk" not in r.dash_views:
        parts = [_WITHHELD.format(what="The paired table", threshold=r.rule.threshold - 1),
                 "McNemar's test, which would give those counts back, is not shown either."]
    elif test["p_value"] is not None:
        fell = (r.count("hr.high_lower") or 0) > (r.count("hr.lower_high") or 0)
        verdict = ("more moved out of high risk than into it, by more than chance alone would readily explain"
                   if test["p_value"] <= 0.05 and fell else
                   "more moved into high risk than out of it, by more than chance alone would readily explain"
                   if test["p_value"] <= 0.05 else
                   "the change is inconclusive: it is within what chance alone could produce")
        parts.append(f"McNemar's test (continuity-corrected): chi-square = {test['statistic']:.2f}, "
                     f"{test['df']} degree of freedom, {_p_text(test['p_value'])}; {verdict}.")
    else:
        parts.append(f"McNemar's test: {test['reason']}")
    parts.append("This compares the same partners at two times, with no comparison group, so it does not show "
                 "that support or the programme caused the change. Risk first assessed at a crisis tends to be "
                 "lower later whatever happens (regression to the mean).")
    return Section("high_risk", "High risk (DASH 14+) at first and last contact, partners with both scores",
                   disp, data, r.footnote(), " ".join(parts))


def _answer_section(r: PartnerReport, short: str, name: str, caption: str, text: str) -> Section:
    totals = {"completed": "grp.completed", "other": "grp.other", "engaged": "engaged.yes"}
    disp, data, z = [], [], False
    for g, label in ANSWER_GROUPS.items():
        k = f"{short}.{g}"
        pct = r.pct_ci(f"{k}.yes", f"{k}.answered")
        z |= pct == NOT_APPLICABLE
        disp.append({"Engaged partners": label, "Number": r.text(totals[g]), "Yes": r.text(f"{k}.yes"),
                     "No": r.text(f"{k}.no"), "Unknown": r.text(f"{k}.unknown"),
                     "Not recorded": r.text(f"{k}.nr"),
                     "Yes, of those who answered": r.x_of_y(f"{k}.yes", f"{k}.answered"),
                     "Percentage (95% interval)": pct})
        rate = r.rate(f"{k}.yes", f"{k}.answered")
        data.append({"group": label, "partners": r.text(totals[g]), "yes": r.text(f"{k}.yes"),
                     "no": r.text(f"{k}.no"), "unknown": r.text(f"{k}.unknown"), "not_recorded": r.text(f"{k}.nr"),
                     "answered": r.text(f"{k}.answered"), "rate": rate["rate"], "ci_low": rate["ci_low"],
                     "ci_high": rate["ci_high"]})
    data_df = pd.DataFrame(data)
    for col in ("rate", "ci_low", "ci_high"):
        data_df[col] = data_df[col].astype("Float64")
    text += (f"\n\nThe {r.text('engaged.no')} partners who did not engage are not asked, and are not in the "
             "table.")
    if r.raw[f"{short}.not_engaged.recorded"] > 0:
        text += (f" {r.text(f'{short}.not_engaged.recorded')} of them nonetheless have an answer recorded; "
                 "it is not counted here.")
    return Section(name, caption, pd.DataFrame(disp), data_df, r.footnote(z=z), text)


def _answer_text(r: PartnerReport, short: str, group: str, verb: str) -> str:
    """Rate among those who answered, how many answered, and the bounds over non-answers."""
    k = f"{short}.{group}"
    total = {"completed": "grp.completed", "other": "grp.other", "engaged": "engaged.yes"}[group]
    head = f"**{ANSWER_GROUPS[group]}**: "
    rate = r.rate(f"{k}.yes", f"{k}.answered")
    if rate["rate"] is None:
        if rate["of"] == 0:
            return head + "nobody answered."
        return head + f"not shown: the numbers who did and did not {verb} include counts too small to publish."
    text = (head + f"{r.phrase(f'{k}.yes', f'{k}.answered')} of those who answered {verb}. "
            f"Answered: {r.phrase(f'{k}.answered', total)} of these partners; the others' answers are unknown "
            f"({r.text(f'{k}.unknown')}) or not recorded ({r.text(f'{k}.nr')}).")
    y, a, n = r.count(f"{k}.yes"), r.count(f"{k}.answered"), r.count(total)
    if None not in (y, a, n) and n > 0 and a < n:
        text += (f" Counting everyone, the share who {verb} lies between {_pc(y / n)} (if none of those "
                 f"without an answer do) and {_pc((y + n - a) / n)} (if all of them do).")
    return text


def feels_safer(r: PartnerReport) -> Section:
    """Partners who feel safer, of those who answered, by the (ex-)partner's programme.

    The published measure (seed 001) is engaged partners whose (ex-)partner completed;
    the table also gives the other engaged partners and all of them, so the reader can
    see whether the headline group is typical.
    """
    text = "\n\n".join(_answer_text(r, "fs", g, "feel safer") for g in ("completed", "engaged"))
    return _answer_section(r, "fs", "feels_safer", "Partners who feel safer at last contact", text)


def abuse_reduced(r: PartnerReport) -> Section:
    """Partners reporting that the person's use of abuse has reduced, of those who answered."""
    text = "\n\n".join(_answer_text(r, "ar", g, "say the abuse has reduced") for g in ("engaged", "completed"))
    return _answer_section(r, "ar", "abuse_reduced",
                           "Partners reporting that the person's use of abuse has reduced", text)


def domains(r: PartnerReport) -> Section:
    """OPCC outcome domains (coping, safety, mental health, confidence), engaged partners.

    "Assessed" = improved + no change + deteriorated; percentages are of those assessed,
    and the unknown and not-recorded columns show who is not.
    """
    disp, data, z = [], [], False
    for col, label in DOMAINS.items():
        k = f"dom.{col.removeprefix('outcome_')}"
        imp, det = r.pct_ci(f"{k}.improved", f"{k}.assessed"), r.pct_ci(f"{k}.deteriorated", f"{k}.assessed")
        z |= NOT_APPLICABLE in (imp, det)
        disp.append({"Domain": label, "Improved": r.text(f"{k}.improved"), "No change": r.text(f"{k}.no_change"),
                     "Deteriorated": r.text(f"{k}.deteriorated"), "Assessed": r.text(f"{k}.assessed"),
                     "Unknown": r.text(f"{k}.unknown"), "Not recorded": r.text(f"{k}.nr"),
                     "Improved, % (95% interval)": imp,
                     "Deteriorated, % (95% interval)": det})
        ri, rd = r.rate(f"{k}.improved", f"{k}.assessed"), r.rate(f"{k}.deteriorated", f"{k}.assessed")
        data.append({"domain": label, "improved": r.text(f"{k}.improved"), "no_change": r.text(f"{k}.no_change"),
                     "deteriorated": r.text(f"{k}.deteriorated"), "assessed": r.text(f"{k}.assessed"),
                     "unknown": r.text(f"{k}.unknown"), "not_recorded": r.text(f"{k}.nr"),
                     "engaged": r.text("engaged.yes"),
                     "improved_rate": ri["rate"], "improved_ci_low": ri["ci_low"], "improved_ci_high": ri["ci_high"],
                     "deteriorated_rate": rd["rate"], "deteriorated_ci_low": rd["ci_low"],
                     "deteriorated_ci_high": rd["ci_high"]})
    data_df = pd.DataFrame(data)
    for col in (f"{lvl}_{x}" for lvl in ("improved", "deteriorated") for x in ("rate", "ci_low", "ci_high")):
        data_df[col] = data_df[col].astype("Float64")
    text = _domain_text(r)
    if r.raw["dom.not_engaged.recorded"] > 0:
        text += (f"\n\n{r.text('dom.not_engaged.recorded')} partners who did not engage nonetheless have an "
                 "outcome recorded; they are not in this table.")
    return Section("domains", "Outcome domains at last contact, engaged partners (percentages of those assessed)", pd.DataFrame(disp), data_df,
                   r.footnote(z=z), text)


def _domain_text(r: PartnerReport) -> str:
    lines = [f"Outcome domains of the **{r.text('engaged.yes')}** engaged partners, as recorded at last contact. "
             "Percentages are of the partners assessed in each domain (improved, no change or deteriorated):"]
    for col, label in DOMAINS.items():
        k = f"dom.{col.removeprefix('outcome_')}"
        not_assessed = ("not shown" if None in (r.count("engaged.yes"), r.count(f"{k}.assessed"))
                        else f"{r.count('engaged.yes') - r.count(f'{k}.assessed'):,}")
        if r.rate(f"{k}.improved", f"{k}.assessed")["rate"] is None:
            lines.append(f"- **{label}**: not shown (small numbers).")
            continue
        lines.append(f"- **{label}**: improved for {r.phrase(f'{k}.improved', f'{k}.assessed')}; deteriorated for "
                     f"{r.phrase(f'{k}.deteriorated', f'{k}.assessed')}. Not assessed: {not_assessed}.")
    return "\n".join(lines)


def children(r: PartnerReport) -> Section:
    """Children in the households of the people whose (ex-)partners were offered support.

    Definition: each person (``person_id``) whose (ex-)partner was offered support in
    the period counts once, with ``referrals.children`` of the referral linked to their
    first partner offered in the period (a person with a partner and an ex-partner is
    one household of children, not two). An empty ``children`` is unknown: it is
    counted as unknown, and adds nothing to the total, so the total is of the children
    *known*. This differs from the service table's children "of people on
    intervention" (seed 001), which counts people on a programme, not partners.
    """
    rows = [
        ("People whose (ex-)partner was offered support", "ch.people", None),
        ("Number of children recorded", "ch.known", "ch.people"),
        ("Number of children not recorded", "ch.unknown", "ch.people"),
        ("With at least one child, of those recorded", "ch.with", "ch.known"),
        ("With no children, of those recorded", "ch.none", "ch.known"),
    ]
    text = (f"The **{r.text('offered')}** partners offered support are the (ex-)partners of "
            f"**{r.text('ch.people')}** people referred. With at least one child: "
            f"{r.phrase('ch.with', 'ch.known')} of those whose number of children is recorded; "
            f"**{r.text('ch.children')} children** in all.")
    if r.raw["ch.unknown"] > 0:
        text += (f" The number is not recorded for {r.phrase('ch.unknown', 'ch.people')} people, so the true "
                 "total is higher by an unknown amount.")
    sec = _list_section(r, "children", "Children in the households (one count per person referred)", rows, text,
                        unit="Number")
    extra = pd.DataFrame([{"Measure": "Children (where the number is recorded)", "Number": r.text("ch.children"),
                           "Of": "", "Percentage (95% interval)": ""}])
    extra_data = pd.DataFrame([{"measure": "Children (where the number is recorded)", "count": r.text("ch.children"),
                                "of": None, "rate": None, "ci_low": None, "ci_high": None}])
    data = pd.concat([sec.data, extra_data.astype({c: sec.data[c].dtype for c in ("rate", "ci_low", "ci_high")})],
                     ignore_index=True)
    return Section(sec.name, sec.caption, pd.concat([sec.table, extra], ignore_index=True), data,
                   sec.footnote, sec.text)


def _claim(r: PartnerReport, claim: str, who: str, k: str, total: str, of_whom: str, published=None) -> str:
    """One bullet of :func:`contrast`: the rate with its n and interval, and who answered;
    after it the area's published wording of the same claim, when there is one."""
    line = f"- **{claim}** ({who}): {r.phrase(f'{k}.yes', f'{k}.answered')}."
    if r.shown(f"{k}.answered") and r.shown(total):
        line += f" They are {r.phrase(f'{k}.answered', total)} {of_whom}."
    if published is not None:
        line += f" Published as: \"{published.wording}\" ({published.source})."
    return line


def contrast(r: PartnerReport, claims=None) -> str:
    """How such claims are published today, and the same claims here with their n and interval.

    Why: commissioners' summaries print "95 per cent of survivors reported a sustained
    reduction of abuse" or "100% ... felt safer" with no number of people, no count of
    those who did not answer and no interval. The reader cannot tell 19 of 20 from 190
    of 200, nor whether most partners answered at all. ``claims`` (the area's
    ``published_claims``, keyed ``feels_safer`` / ``abuse_reduced``) puts the area's own
    published wording beside the computed rate.
    """
    claims = claims or {}
    lo10, _ = stats.proportion_ci(10, 10)
    lines = [
        "Partner outcomes are usually published as a bare percentage: \"95 per cent of survivors reported a "
        "sustained reduction of abuse\", \"90 per cent of victims/survivors reported feeling safer\", \"100% of "
        "the (ex) partners that gave feedback identified that they felt safer\". None says how many partners "
        "answered, how many were asked, or how precise the figure is. Here are the same claims for this area and "
        "period, with those:",
        "",
        _claim(r, "Felt safer", "engaged partners whose (ex-)partner completed, who answered", "fs.completed",
               "grp.completed", "such partners"),
        _claim(r, "Felt safer", "all engaged partners who answered", "fs.engaged", "engaged.yes",
               "engaged partners", claims.get("feels_safer")),
        _claim(r, "Abuse reduced", "engaged partners who answered", "ar.engaged", "engaged.yes",
               "engaged partners", claims.get("abuse_reduced")),
        "",
        f"A percentage of few answers is uncertain: 10 of 10 is \"100%\", yet the 95% interval runs from "
        f"{_pc(lo10)} to 100%. And those who answer may differ from those who do not, which no interval "
        "captures; the tables below give the unknown and not-recorded answers for that reason.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------


def key_rates_figure(r: PartnerReport) -> FigureWithAlt:
    """Dot-and-interval chart of the main rates, each with its n (the denominator)."""
    from evallib.figures import rate_intervals

    specs = [
        ("Engaged, of those offered", "engaged.yes", "offered"),
        ("Feel safer: (ex-)partner completed", "fs.completed.yes", "fs.completed.answered"),
        ("Feel safer: all engaged", "fs.engaged.yes", "fs.engaged.answered"),
        ("Abuse reduced: all engaged", "ar.engaged.yes", "ar.engaged.answered"),
        ("DASH band lower at last contact", "change.improved", "change.assessable"),
    ]
    rows = []
    for label, num, den in specs:
        x = r.rate(num, den)
        rows.append({"label": label, "rate": np.nan if x["rate"] is None else x["rate"],
                     "ci_low": x["ci_low"], "ci_high": x["ci_high"],
                     "n": np.nan if x["rate"] is None else x["of"]})
    t = pd.DataFrame(rows)
    title = "Partner outcomes, each with its 95% interval"
    for num, den, who in (("fs.completed.yes", "fs.completed.answered", "partners of completers"),
                          ("fs.engaged.yes", "fs.engaged.answered", "engaged partners")):
        fs = r.rate(num, den)
        if fs["rate"] is not None:
            title = (f"{_pc(fs['rate'])} of the {fs['of']:,} {who} who answered felt safer; "
                     f"the 95% interval runs from {_pc(fs['ci_low'])} to {_pc(fs['ci_high'])}")
            break
    fig = rate_intervals(t, title="", xlabel="%, with 95% interval (n: the number it is a percentage of)")
    _title(fig, title)
    alt_parts = []
    for label, num, den in specs:
        alt_parts.append(f"{label}: {r.phrase(num, den)}")
    alt = "Dot and interval chart of the main partner outcomes. " + "; ".join(alt_parts) + "."
    return FigureWithAlt(fig, alt)


def _title(fig, title: str) -> None:
    """The finding as a bold title, left-aligned over the whole figure and wrapped to fit A4."""
    for ax in fig.axes:
        ax.set_title("")
    text = textwrap.fill(title, 68)
    fig.suptitle(text, x=0.01, ha="left", fontsize=12, fontweight="bold")
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        fig.tight_layout()  # makes room for the title


def _stacked(ax, y: float, parts: Sequence[tuple[str, float, str]], height: float = 0.6) -> None:
    """One 100% bar of (label, share, colour) segments, with the share written inside."""
    left = 0.0
    for _, share, colour in parts:
        ax.barh(y, 100 * share, left=left, height=height, color=colour, edgecolor="white", linewidth=1)
        if share >= 0.07:
            dark = colour in ("#D55E00", "#009E73", "#0072B2")
            ax.text(left + 50 * share, y, _pc(share), ha="center", va="center", fontsize=10,
                    color="white" if dark else "black")
        left += 100 * share


def dash_figure(r: PartnerReport) -> FigureWithAlt:
    """DASH band at first and at last contact, all partners offered support (100% bars).

    Why all partners and not only those with both scores: the missing scores are part
    of the picture (a grey segment), and the paired comparison has its own table. The
    title states the paired finding when it is published.
    """
    import matplotlib.pyplot as plt

    from evallib.figures import A4_WIDTH_IN, house_style

    house_style()
    segs = [*DASH_BANDS, "missing"]
    colours = {**_BAND_COLOURS, "missing": "#DDDDDD"}
    n = r.count("offered")
    first = {b: r.count(f"dash.{b}.all") for b in segs}
    last = {b: r.count(f"dash.all.{b}") for b in segs}
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.0), layout="constrained")
    if n and None not in first.values() and None not in last.values():
        for y, counts in ((1, first), (0, last)):
            _stacked(ax, y, [(b, counts[b] / n, colours[b]) for b in segs])
        ax.set_yticks([1, 0], ["First contact", "Last contact"])
        handles = [plt.Rectangle((0, 0), 1, 1, color=colours[b]) for b in segs]
        ax.legend(handles, [BAND_LABELS[b] for b in segs], ncol=4, loc="lower left", bbox_to_anchor=(0, 1.0),
                  handlelength=1.2, columnspacing=1.2)
        hf, hl, m = r.rate("hr.high_first", "change.assessable"), r.rate("hr.high_last", "change.assessable"), \
            r.count("change.assessable")
        if hf["rate"] is not None and hl["rate"] is not None:
            move = "fell" if hl["rate"] < hf["rate"] else "rose" if hl["rate"] > hf["rate"] else "was unchanged"
            title = (f"High risk {move}: {_pc(hf['rate'])} at first contact, {_pc(hl['rate'])} at last "
                     f"(the {m:,} partners with both scores)")
        else:
            title = (f"High risk: {_pc(first['high'] / n)} of partners at first contact, "
                     f"{_pc(last['high'] / n)} at last")
        alt = (f"Two 100% bars of DASH risk band for the {n:,} partners offered support. "
               + " ".join(f"{when}: " + ", ".join(f"{BAND_LABELS[b].lower()} {counts[b]:,} ({_pc(counts[b] / n)})"
                                                  for b in segs) + "."
                          for when, counts in (("First contact", first), ("Last contact", last))))
    else:
        ax.text(50, 0.5, "No partners" if n == 0 else "Not shown: small numbers", ha="center", va="center",
                color="#555555")
        ax.set_yticks([])
        title = "DASH risk band at first and last contact"
        alt = "DASH risk bands at first and last contact: not shown (small numbers or no partners)."
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.5, 1.5)
    ax.set_xlabel(f"% of the {n:,} partners offered support" if n else "%")
    ax.grid(axis="y", visible=False)
    _title(fig, title)
    return FigureWithAlt(fig, alt)


def domain_figure(r: PartnerReport) -> FigureWithAlt:
    """Improved / no change / deteriorated in each outcome domain, of partners assessed."""
    import matplotlib.pyplot as plt

    from evallib.figures import A4_WIDTH_IN, house_style

    house_style()
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.6), layout="constrained")
    labels, alts, improved, worse = [], [], [], []
    for i, (col, label) in enumerate(DOMAINS.items()):
        k = f"dom.{col.removeprefix('outcome_')}"
        y = len(DOMAINS) - 1 - i
        n = r.count(f"{k}.assessed")
        counts = {lvl: r.count(f"{k}.{lvl}") for lvl in CHANGE_LEVELS}
        if n and None not in counts.values():
            _stacked(ax, y, [(lvl, counts[lvl] / n, _CHANGE_COLOURS[lvl]) for lvl in CHANGE_LEVELS])
            labels.append(f"{label} (n = {n:,})")
            improved.append(counts["improved"] / n)
            worse.append(counts["deteriorated"] / n)
            alts.append(f"{label}: of {n:,} assessed, improved {counts['improved']:,} "
                        f"({_pc(counts['improved'] / n)}), no change {counts['no_change']:,}, deteriorated "
                        f"{counts['deteriorated']:,} ({_pc(counts['deteriorated'] / n)})")
        else:
            ax.text(2, y, "not shown: small numbers" if n is None or n else "nobody assessed",
                    va="center", color="#555555")
            labels.append(label)
            alts.append(f"{label}: not shown" if n is None or n else f"{label}: nobody assessed")
    ax.set_yticks(list(range(len(DOMAINS) - 1, -1, -1)), labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of engaged partners assessed in the domain")
    ax.grid(axis="y", visible=False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=_CHANGE_COLOURS[lvl]) for lvl in CHANGE_LEVELS]
    ax.legend(handles, ["Improved", "No change", "Deteriorated"], ncol=3, loc="lower left", bbox_to_anchor=(0, 1.0),
              handlelength=1.2)
    if improved:
        title = (f"Improved for {_pc(min(improved))} to {_pc(max(improved))} of partners assessed in each "
                 f"domain; deteriorated for at most {_pc(max(worse))}")
        if len(improved) == 1:
            title = f"Improved for {_pc(improved[0])} of partners assessed; deteriorated for {_pc(worse[0])}"
    else:
        title = "Outcome domains at last contact"
    _title(fig, title)
    alt = "Stacked bars of outcome domains at last contact, engaged partners. " + "; ".join(alts) + "."
    return FigureWithAlt(fig, alt)


# ---------------------------------------------------------------------------------------
# results.json
# ---------------------------------------------------------------------------------------


def headline(r: PartnerReport) -> str:
    """One line for the index: partners offered support and how many engaged, as published."""
    if not r.partners_supplied:
        return "Partner Support Service outcomes: no partners table was supplied."
    offered = r.count("offered")
    engaged = r.rate("engaged.yes", "offered")
    if offered is None:
        return "Partner Support Service outcomes: the number of partners offered support is not shown (small numbers)."
    text = f"Partner Support Service: {offered:,} partner{'s' if offered != 1 else ''} offered support"
    if engaged["rate"] is not None:
        text += (f"; {engaged['count']:,} engaged ({100 * engaged['rate']:.0f}%, 95% interval "
                 f"{100 * engaged['ci_low']:.0f}% to {100 * engaged['ci_high']:.0f}%)")
    else:
        text += "; the number who engaged is not shown (small numbers)"
    return text + "."


def results(r: PartnerReport) -> dict[str, Any]:
    """Group-level, disclosure-controlled numbers for ``results.json["partner_outcomes"]``.

    Every count is as published (``None`` where hidden); every rate comes with its
    count, denominator and Wilson interval. No ``headline``: the evaluation notebook
    owns that key.
    """
    def rate(num: str, den: str) -> dict[str, Any]:
        return r.rate(num, den)

    def answers(short: str) -> dict[str, Any]:
        out = {}
        for g in ANSWER_GROUPS:
            k = f"{short}.{g}"
            total = {"completed": "grp.completed", "other": "grp.other", "engaged": "engaged.yes"}[g]
            out[g] = {"label": ANSWER_GROUPS[g], "partners": r.count(total), **rate(f"{k}.yes", f"{k}.answered"),
                      "no": r.count(f"{k}.no"), "unknown": r.count(f"{k}.unknown"),
                      "not_recorded": r.count(f"{k}.nr")}
        return out

    bands = [*DASH_BANDS, "missing", "all"]
    test = mcnemar_high_risk(r)
    return {
        "period": r.period.label, "period_title": r.period.title,
        "partners_supplied": r.partners_supplied,
        "suppression_threshold": r.rule.threshold, "suppression_on": r.rule.active,
        "offered": r.count("offered"),
        "engagement": {
            "contact_made": rate("contact.yes", "offered"), "contact_not_made": rate("contact.no", "offered"),
            "contact_not_recorded": rate("contact.nr", "offered"),
            "engaged": rate("engaged.yes", "offered"), "not_engaged": rate("engaged.no", "offered"),
            **{f"support_{k}": rate(f"support.{k.replace('not_recorded', 'nr')}", "offered")
               for k in ("declined", "single", "multiple", "not_recorded")},
        },
        "dash": {
            "first_by_last": {s: {e: (r.count("offered") if s == e == "all" else r.count(f"dash.{s}.{e}")
                                      if "all" in (s, e) else r.cross_table[(s, e)]) for e in bands}
                              for s in bands},
            "views_published": list(r.dash_views),
            "risk_change": {**{lvl: rate(f"change.{lvl}", "change.assessable") for lvl in CHANGE_LEVELS},
                            "assessable": rate("change.assessable", "offered"),
                            "not_assessable": rate("change.not_assessable", "offered")},
            "high_risk": {"first": rate("hr.high_first", "change.assessable"),
                          "last": rate("hr.high_last", "change.assessable"),
                          "high_to_lower": r.count("hr.high_lower"), "lower_to_high": r.count("hr.lower_high"),
                          "mcnemar": {k: test[k] for k in ("shown", "statistic", "df", "p_value", "reason")}},
        },
        "feels_safer": answers("fs"),
        "abuse_reduced": answers("ar"),
        "domains": {d: {"label": label,
                        "improved": rate(f"dom.{d}.improved", f"dom.{d}.assessed"),
                        "deteriorated": rate(f"dom.{d}.deteriorated", f"dom.{d}.assessed"),
                        "no_change": r.count(f"dom.{d}.no_change"), "unknown": r.count(f"dom.{d}.unknown"),
                        "not_recorded": r.count(f"dom.{d}.nr")}
                    for d, label in ((c.removeprefix("outcome_"), lab) for c, lab in DOMAINS.items())},
        "children": {"people": r.count("ch.people"), "with_children": rate("ch.with", "ch.known"),
                     "number_unknown": rate("ch.unknown", "ch.people"), "children_known": r.count("ch.children")},
        "disclosure": r.disclosure,
    }
