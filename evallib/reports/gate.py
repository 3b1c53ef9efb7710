"""One disclosure gate per report: every published number registered with its relations, protected once.

Why one gate. A count hidden in one table can be worked out from another table of the
same report that shares its total ("43 starters" in the record flow, "of 39" in the
headline: the hidden group is 4). And a statistic about a hidden group (its rate, a
p-value, a hazard ratio, a mean) tells what the hidden count would. So a report
registers *every* number it publishes with one :class:`Gate` (tables, sentences, figure
data and alt text, ``results.json``, the index headline all read from it), declares how
the counts are related, protects them once over the linked set, and only then renders,
from the :class:`Publication` that :meth:`Gate.protect` returns.

API
---
Registering (a report's builder)::

    g = Gate(rule, report="partner_outcomes")
    g.section = "engagement"            # the table (section) that publishes what follows
    g.add("offered", 72, priority=1)    # a count; priority > 0: hidden as a complement last
    g.add_many("contact", counts)       # "contact.yes", "contact.no", ... from a Series
    g.total("offered", ["contact.yes", "contact.no", "contact.nr"])   # offered = sum
    g.le("sub.n", "group.n")            # a subgroup: sub.n <= group.n
    g.derive("answered", ["yes", "no"]) # a sum shown only when all its parts are
    g.keep("offered", priority=10)      # hidden as a complement last of all
    g.latent("moved", 3)                # a count never published that ties others together
    g.together("n.completed", "n.not_completed")   # compared groups: hidden together
    g.add("after.not_completed", 0, about=["n.not_completed"])   # withheld if the group is hidden
    g.stat("logrank.p", 0.03, about=["n.completed", "n.not_completed"])  # any non-count number
    g.share("offered", "partners.offered")        # the same people in another report of the period
    g.add_table("referrals", frame, count_columns=[...], row_totals={...}, pairs=[...])  # a whole table
    pub = g.protect()

Reading (every section, figure and results.json)::

    pub.shown(key), pub.count(key) -> int | None, pub.text(key) -> "1,234" | "[c]"
    pub.rate(num, den) -> {"count", "of", "rate", "ci_low", "ci_high"} (Wilson, from published counts)
    pub.x_of_y(num, den), pub.stat(key) -> value | None, pub.has_stat(key)
    pub.table("referrals") -> SuppressedTable (a table registered with add_table, for layout code)
    pub.record() -> the ``disclosure`` block of ``results.json``: every published count
                    (None where hidden), every relation, the shared keys; never a true hidden value

Rules the gate enforces (``docs/disclosure.md``):

* primary suppression of counts 1 to threshold - 1, secondary suppression over every
  declared relation, and the guarantee that no hidden count can be narrowed, by linear
  arithmetic over everything the report publishes, to fewer than ``threshold``
  possible values (``protection = threshold - 1``);
* a compared group declared with :meth:`Gate.together` is hidden with its complement;
* a number registered ``about`` a count (a group size) is withheld when that count is
  hidden, whatever its own value: no rate, interval, p-value, hazard ratio, SMD, mean,
  curve or incident count of a hidden group. Counts ``about`` a hidden count are hidden
  before protection and protected like small ones, so they cannot be worked out from
  the rest either;
* latent counts are unknowns: never published, and protected only when small.

Reports of the same area and period describe some of the same people (the partners
offered support appear in the service tables and in the partner report). Each gate
records such counts under a *shared key* (:meth:`Gate.share`); :func:`check_shared`
compares the records of the reports of one period and reports a shared count shown in
one and hidden in another, or shown with two values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from evallib import stats
from evallib.disclosure import DisclosureRule, SuppressedTable, suppress

__all__ = ["Gate", "Publication", "check_shared", "protection_width"]


def protection_width(rule: DisclosureRule) -> int:
    """The least LP width a hidden count must keep: ``threshold - 1`` (``threshold`` values).

    Why not the rule's default of 1: a hidden count that can be narrowed to "2 or 3" is
    nearly disclosed. The gate asks that an attacker is left with at least as many
    possible values as the threshold.
    """
    return max(rule.protection, rule.threshold - 1) if rule.active else rule.protection


class Gate:
    """The register of one report: counts by key, their relations, and what each number is about.

    A *section* is one table of the report with the counts its text and figures use.
    A relation is declared in the section that publishes it; a count used by several
    sections (a group size) is touched by each. Keys are plain strings, unique in the
    report.
    """

    def __init__(self, rule: DisclosureRule, *, report: str = "") -> None:
        self.rule = rule
        self.report = report
        self.values: dict[str, int] = {}
        self.sums: list[tuple[str, str, list[str]]] = []
        self.les: list[tuple[str, str, str]] = []
        self.groups: list[tuple[str, tuple[str, ...]]] = []
        self.sections: dict[str, set[str]] = {}
        self.derived: dict[str, tuple[str, ...]] = {}
        self.latents: set[str] = set()
        self.priorities: dict[str, int] = {}
        self.abouts: dict[str, tuple[str, ...]] = {}
        self.stats: dict[str, Any] = {}
        self.shared: dict[str, str] = {}
        self.tables: dict[str, tuple[pd.DataFrame, tuple[str, ...]]] = {}
        self.section = "main"

    # -- registering -----------------------------------------------------------------------
    def copy(self) -> Gate:
        """An independent copy (to try another set of published views)."""
        other = Gate(self.rule, report=self.report)
        other.values, other.sums, other.les = dict(self.values), list(self.sums), list(self.les)
        other.groups = list(self.groups)
        other.sections = {k: set(v) for k, v in self.sections.items()}
        other.derived, other.latents = dict(self.derived), set(self.latents)
        other.priorities, other.abouts = dict(self.priorities), dict(self.abouts)
        other.stats, other.shared = dict(self.stats), dict(self.shared)
        other.tables = dict(self.tables)
        other.section = self.section
        return other

    def touch(self, *keys: str) -> None:
        """Record that the current section publishes ``keys`` (already registered)."""
        for k in keys:
            if k not in self.values:
                raise KeyError(f"{self.report}: count {k!r} is not registered")
        self.sections.setdefault(self.section, set()).update(keys)

    def _new_key(self, key: str, about: Iterable[str], what: str) -> tuple[str, ...]:
        """Check that ``key`` is new and every count it is ``about`` is registered."""
        if key in self.values or key in self.stats:
            raise KeyError(f"{self.report}: {key!r} registered twice")
        about = tuple(about)
        missing = [k for k in about if k not in self.values and k not in self.derived]
        if missing:
            raise KeyError(f"{self.report}: {what} {key!r} is about unregistered counts {missing}")
        return about

    def add(self, key: str, value: int, *, about: Iterable[str] = (), priority: int = 0) -> str:
        """Register a published count (a whole number of people, partners or events)."""
        about = self._new_key(key, about, "count")
        v = int(value)
        if v != value or v < 0:
            raise ValueError(f"{self.report}: count {key!r} must be a non-negative whole number, got {value!r}")
        self.values[key] = v
        if priority:
            self.priorities[key] = int(priority)
        if about:
            self.abouts[key] = about
        self.touch(key)
        return key

    def add_many(self, prefix: str, counts: pd.Series, *, about: Iterable[str] = ()) -> list[str]:
        """Register ``prefix.<label>`` for each entry of ``counts``."""
        about = tuple(about)
        return [self.add(f"{prefix}.{k}", v, about=about) for k, v in counts.items()]

    def latent(self, key: str, value: int) -> str:
        """A count never published that ties published counts together (always hidden)."""
        self.add(key, value)
        self.latents.add(key)
        return key

    def total(self, key: str, members: Sequence[str]) -> None:
        """``key`` is the sum of ``members``: registered with that value if new, else checked."""
        members = list(members)
        value = sum(self.values[m] for m in members)
        if key not in self.values:
            self.add(key, value)
        elif self.values[key] != value:
            raise ValueError(f"{self.report}: {key} = {self.values[key]} but its parts {members} add up to {value}")
        self.touch(key, *members)
        self.sums.append((self.section, key, members))

    def le(self, part: str, whole: str) -> None:
        """``part <= whole``: a subgroup published beside its group."""
        if self.values[part] > self.values[whole]:
            raise ValueError(f"{self.report}: {part} = {self.values[part]} exceeds {whole} = {self.values[whole]}")
        self.touch(part, whole)
        self.les.append((self.section, part, whole))

    def together(self, *keys: str) -> None:
        """Counts shown or hidden together: two compared groups, so a hidden one's complement goes too."""
        self.touch(*keys)
        self.groups.append((self.section, tuple(keys)))

    def keep(self, *keys: str, priority: int = 1) -> None:
        """Choose ``keys`` as complementary cells last (a headline total, a count another report shows)."""
        for k in keys:
            self.priorities[k] = int(priority)

    def derive(self, key: str, members: Sequence[str]) -> None:
        """A sum shown only when all its ``members`` are: not a cell, so it adds nothing to protect.

        Why: a sum declared as a cell of its own gives secondary suppression one more
        total to choose complements from; a sum of shown cells reveals nothing its parts
        do not.
        """
        self.derived[key] = tuple(members)

    def stat(self, key: str, value: Any, *, about: Iterable[str]) -> str:
        """Register a statistic (rate, p-value, ratio, SMD, mean, curve): published only if every
        count in ``about`` is shown. ``value`` may be any object (a number, a dict, a frame)."""
        about = self._new_key(key, about, "statistic")
        self.stats[key] = value
        self.abouts[key] = about
        return key

    def share(self, key: str, shared_key: str) -> None:
        """Count ``key`` describes the same people as ``shared_key`` in other reports of the period."""
        self.shared[key] = shared_key

    def add_table(self, name: str, table: pd.DataFrame, *, count_columns: Sequence[str],
                  row_totals: Mapping[str, Sequence[str]] | None = None,
                  column_totals: Mapping[str, Sequence[str]] | None = None,
                  pairs: Sequence[tuple[str, str]] = (), nested: Sequence[tuple[str, str]] = (),
                  equations: Sequence[tuple[tuple, Sequence[tuple]]] = ()) -> None:
        """Register a whole table as section ``name``, with the relations :func:`~evallib.disclosure.suppress` takes.

        Cell ``(row, column)`` gets the key ``name|row|column``; after :meth:`protect`,
        :meth:`Publication.table` gives the table back as a
        :class:`~evallib.disclosure.SuppressedTable`, so a report laid out from
        ``suppress`` results keeps its layout code. ``pairs`` are shown or hidden
        together and also mean numerator <= denominator.
        """
        self.section = name
        cols = list(count_columns)

        def key(row, col) -> str:
            return f"{name}|{row}|{col}"

        self.tables[name] = (table.copy(), tuple(cols))
        for row in table.index:
            for col in cols:
                self.add(key(row, col), int(table.loc[row, col]))
        for group, members in (row_totals or {}).items():
            members = [members] if isinstance(members, str) else list(members)
            if members == [group]:
                continue
            for col in cols:
                self.total(key(group, col), [key(m, col) for m in members])
        for total, members in (column_totals or {}).items():
            for row in table.index:
                self.total(key(row, total), [key(row, m) for m in members])
        for num, den in pairs:
            for row in table.index:
                self.le(key(row, num), key(row, den))
                self.together(key(row, num), key(row, den))
        for part, whole in nested:
            for row in table.index:
                self.le(key(row, part), key(row, whole))
        for (row, col), members in equations:
            self.total(key(row, col), [key(r, c) for r, c in members])

    # -- protecting ------------------------------------------------------------------------
    def protect(self) -> Publication:
        """Suppress every count once over the linked set, then withhold what is about hidden counts.

        Why sections are protected separately and joined only when needed: secondary
        suppression chooses complements greedily, and across many linked tables one small
        count can then hide half the report. Sections linked only through counts *shown*
        in every one of them are independent (an attacker learns nothing about one from
        the other beyond those shown counts). When a shared count is hidden in any
        section, the sections sharing it are joined and protected together, until no
        shared count is hidden anywhere except within one joint call. The result has the
        guarantee of one call over everything.
        """
        order = {k: i for i, k in enumerate(self.values)}
        if not self.values:
            empty = pd.Series([], dtype="Int64")
            return Publication(self, empty, pd.Series([], dtype=str))
        # Counts about a hidden count are withheld *before* protection (and protected like
        # small ones), so that they cannot be worked out from the rest either; which counts
        # are hidden is known only after protecting, so repeat until nothing changes.
        forced: set[str] = set()
        while True:
            pub, why = self._protect_once(order, forced)
            new = {k for k, about in self.abouts.items()
                   if k in self.values and k not in forced and any(not _shown(pub, self.derived, a) for a in about)}
            if not new:
                break
            forced |= new
        return Publication(self, pub, why)

    def _protect_once(self, order: dict[str, int], forced: set[str]) -> tuple[pd.Series, pd.Series]:
        """One pass of protection: sections joined until no shared count is hidden outside one joint call."""
        groups = [frozenset([name]) for name in self.sections]
        while True:
            tables = {g: self._suppress(g, order, forced) for g in groups}
            owners: dict[str, list[frozenset]] = {}
            for g, st in tables.items():
                for k in st.values.index:
                    owners.setdefault(k, []).append(g)
            bad = [k for k, gs in owners.items() if len(gs) > 1 and any(tables[g].mask.loc[k, "n"] for g in gs)]
            if not bad:
                break
            for k in bad:
                join = {g for g in groups if k in set().union(*(self.sections[name] for name in g))}
                if len(join) > 1:
                    groups = [g for g in groups if g not in join] + [frozenset().union(*join)]
        published: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        for g in groups:
            st = tables[g]
            for k in st.values.index:
                if k not in published or st.mask.loc[k, "n"]:
                    published[k] = st.values.loc[k, "n"]
                    reasons[k] = str(st.reasons.loc[k, "n"])
        keys = sorted(published, key=order.__getitem__)
        return (pd.Series([published[k] for k in keys], index=keys, dtype="Int64"),
                pd.Series([reasons[k] for k in keys], index=keys, dtype=str))

    def _suppress(self, group: frozenset, order: dict[str, int], forced: set[str] = frozenset()):
        """One :func:`~evallib.disclosure.suppress` call over the counts of some sections."""
        keys = sorted(set().union(*(self.sections[name] for name in group)), key=order.__getitem__)
        inside = set(keys)
        table = pd.DataFrame({"n": [self.values[k] for k in keys]}, index=keys)
        seen: set = set()
        equations, les, together = [], [], []
        for section, total, members in self.sums:
            sig = ("sum", total, tuple(sorted(members)))
            if section in group and sig not in seen:
                seen.add(sig)
                equations.append(((total, "n"), [(m, "n") for m in members]))
        for section, a, b in self.les:
            if section in group and ("le", a, b) not in seen:
                seen.add(("le", a, b))
                les.append(((a, "n"), (b, "n")))
        for section, ks in self.groups:
            if section in group and all(k in inside for k in ks):
                together.append([(k, "n") for k in ks])
        rule = replace(self.rule, protection=protection_width(self.rule))
        return suppress(table, rule, count_columns=["n"], equations=equations, inequalities=les,
                        together=together,
                        withheld=[(k, "n") for k in keys if k in self.latents] if self.rule.active else [],
                        hidden=[(k, "n") for k in keys if k in forced],
                        priority={(k, "n"): p for k, p in self.priorities.items() if k in inside})


def _shown(published: pd.Series, derived: Mapping[str, tuple[str, ...]], key: str) -> bool:
    if key in derived:
        return all(_shown(published, derived, m) for m in derived[key])
    return key in published.index and not pd.isna(published[key])


class PublishedCounts:
    """Rates and "x of y" from published counts, for any report object that has
    ``count``, ``shown``, ``text`` and ``rule`` (a :class:`Publication`, the partner report)."""

    def rate(self, num: str, den: str) -> dict[str, Any]:
        """``num`` of ``den`` with its Wilson 95% interval, from published counts.

        Returns ``{"count", "of", "rate", "ci_low", "ci_high"}``; a count is ``None``
        when hidden, and the rate and limits are ``None`` when either count is hidden or
        the denominator is zero.
        """
        x, n = self.count(num), self.count(den)
        out = {"count": x, "of": n, "rate": None, "ci_low": None, "ci_high": None}
        if x is not None and n is not None and n > 0:
            x = min(x, n)  # rounding both parts independently could in principle cross
            lo, hi = stats.proportion_ci(x, n)
            out.update(rate=x / n, ci_low=lo, ci_high=hi)
        return out

    def x_of_y(self, num: str, den: str) -> str:
        """``"12 of 40"`` or the symbol when either part is hidden."""
        if not (self.shown(num) and self.shown(den)):
            return self.rule.symbol
        return f"{self.text(num)} of {self.text(den)}"


@dataclass(frozen=True, eq=False)
class Publication(PublishedCounts):
    """What a report may publish: every count as published, and the statistics still allowed.

    Attributes
    ----------
    gate : Gate
        The register (internal: holds the true counts; never publish it).
    published : pandas.Series
        ``Int64`` by key: the count as published (rounded if the rule rounds), ``<NA>``
        where hidden.
    reasons : pandas.Series
        Why a count is not shown (``primary``, ``secondary``, ``pair``, ``withheld``) or
        ``""``. Internal: "primary" says a count is small, so never publish this.
    """

    gate: Gate
    published: pd.Series
    reasons: pd.Series
    _extra: dict = field(default_factory=dict, repr=False)

    @property
    def rule(self) -> DisclosureRule:
        return self.gate.rule

    @property
    def raw(self) -> pd.Series:
        """Every registered count's true value (internal)."""
        return pd.Series(self.gate.values, dtype="Int64")

    @property
    def derived(self) -> dict[str, tuple[str, ...]]:
        return self.gate.derived

    @property
    def relations(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Every sum declared, ``(total, (members, ...))``: what an auditor needs."""
        return tuple(dict.fromkeys((t, tuple(m)) for _, t, m in self.gate.sums))

    def shown(self, key: str) -> bool:
        """Whether the count is published (a derived sum: whether all its parts are)."""
        return _shown(self.published, self.gate.derived, key)

    def count(self, key: str) -> int | None:
        """The published count, or ``None`` if not shown."""
        if not self.shown(key):
            return None
        if key in self.gate.derived:
            return sum(int(self.published[m]) for m in self.gate.derived[key])
        return int(self.published[key])

    def text(self, key: str) -> str:
        """The published count as text: ``1,234`` or the symbol."""
        v = self.count(key)
        return self.rule.symbol if v is None else f"{v:,}"

    def has_stat(self, key: str) -> bool:
        """Whether statistic ``key`` may be published (every count it is about is shown)."""
        return key in self.gate.stats and all(self.shown(a) for a in self.gate.abouts[key])

    def stat(self, key: str, default: Any = None) -> Any:
        """The statistic, or ``default`` when it is about a hidden count."""
        return self.gate.stats[key] if self.has_stat(key) else default

    def table(self, name: str) -> SuppressedTable:
        """A table registered with :meth:`Gate.add_table`, as published (for layout code)."""
        frame, cols = self.gate.tables[name]
        values = frame.copy()
        reasons = {}
        for col in cols:
            keys = [f"{name}|{row}|{col}" for row in frame.index]
            values[col] = self.published.reindex(keys).to_numpy()
            values[col] = values[col].astype("Int64")
            reasons[col] = pd.array([self.reasons.get(k, "") or ("withheld" if pd.isna(self.published[k]) else "")
                                     for k in keys], dtype="str")
        return SuppressedTable(values=values, reasons=pd.DataFrame(reasons, index=frame.index), rule=self.rule,
                               count_columns=cols)

    def record(self) -> dict[str, Any]:
        """The ``disclosure`` block of ``results.json``: what an independent audit needs.

        Every registered count that is not latent, as published (``None`` where hidden),
        every declared relation (sums and ``<=``, latent counts appear as unknowns), and
        the shared keys. No true hidden value, and no reason (a "primary" reason would say
        that a count is small).
        """
        g = self.gate
        counts = {k: (None if pd.isna(v) else int(v)) for k, v in self.published.items() if k not in g.latents}
        return {
            "report": g.report,
            "threshold": g.rule.threshold if g.rule.active else 0,
            "rounded_to": g.rule.round_to if g.rule.rounding else None,
            "min_possible_values": protection_width(g.rule) + 1 if g.rule.active else 1,
            "counts": counts,
            "latent": sorted(g.latents),
            "sums": [{"total": t, "members": list(m)} for t, m in self.relations],
            "at_most": [list(x) for x in dict.fromkeys((a, b) for _, a, b in g.les)],
            "shared": {k: s for k, s in g.shared.items()},
        }


def check_shared(records: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems between the reports of one area and period that publish the same people.

    Parameters
    ----------
    records : mapping
        Report name -> its :meth:`Publication.record` (the ``disclosure`` block of its
        ``results.json``).

    Returns
    -------
    list of str
        One sentence per shared count shown with two values, or shown in one report and
        hidden in another (the hidden one is then given away). Empty when consistent.
    """
    seen: dict[str, list[tuple[str, int | None]]] = {}
    for report, rec in records.items():
        for key, shared in rec.get("shared", {}).items():
            seen.setdefault(shared, []).append((report, rec["counts"].get(key)))
    problems = []
    for shared, uses in sorted(seen.items()):
        if len(uses) < 2:
            continue
        values = {v for _, v in uses}
        if len(values) > 1:
            where = ", ".join(f"{r}: {'hidden' if v is None else v}" for r, v in uses)
            problems.append(f"{shared} describes the same people in several reports but is published "
                            f"differently ({where})")
    return problems
