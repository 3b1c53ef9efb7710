"""Statistical disclosure control for every table that leaves the suite.

A published table of small counts about domestic abuse perpetrators and their (ex-)partners
can identify a person: "1 of 2 in Melton disengaged" is about someone a reader may know.
This module applies the rules in ``docs/disclosure.md``:

* **Primary suppression**: counts from 1 to ``threshold - 1`` are replaced by a symbol
  (default ``[c]``, the Government Statistical Service symbol for "confidential").
  Zeros are shown as zeros. ``threshold=0`` (or 1) switches suppression off for
  internal work.
* **Secondary (complementary) suppression**: more cells are hidden so that no hidden
  cell can be worked out by adding and subtracting what is shown, using the sums the
  table declares (district rows adding up to COUNTY, columns adding up to a total
  column, any other equality) and the fact that counts are never negative. A greedy
  pass picks complementary cells; a linear-programming audit then proves, for every
  hidden cell, that its smallest and largest values consistent with the published
  table differ, and hides more cells until they do.
* **Pairs**: "x of y" cells and rates are shown only when both parts are shown.
* **Rounding** (optional) to the nearest ``round_to`` after suppression.

Everything here is a pure function of DataFrames: no files, no printing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

__all__ = [
    "DEFAULT_SYMBOL",
    "DisclosureRule",
    "ProtectionError",
    "SuppressedTable",
    "suppress",
]

#: Default symbol for a suppressed cell: "[c]" (confidential) as recommended by the
#: Government Statistical Service guidance on symbols in tables. It cannot be mistaken
#: for a number or for a significance star, and screen readers read it out.
DEFAULT_SYMBOL = "[c]"

#: A cell of a table: (row label, column name).
Cell = tuple[Hashable, Hashable]

# Reason codes held in an int8 array while the algorithm runs.
_SHOWN, _PRIMARY, _SECONDARY, _PAIR, _WITHHELD = 0, 1, 2, 3, 4
_REASON_TEXT = np.array(["", "primary", "secondary", "pair", "withheld"], dtype=object)

# Numerical slack when turning LP optima (floats) into integer bounds.
_EPS = 1e-6


class ProtectionError(RuntimeError):
    """Raised when no amount of further suppression can protect a cell.

    This should not happen for tables whose relations are sums of non-negative
    counts; it signals contradictory declared relations.
    """


@dataclass(frozen=True)
class DisclosureRule:
    """How small counts are protected in one published table.

    Attributes
    ----------
    threshold : int, default 5
        Counts from 1 to ``threshold - 1`` are suppressed. The default 5 follows the
        usual practice for police and health data ("fewer than 5"); the ONS "10-5"
        rule uses 10. ``0`` (or ``1``) disables suppression, for internal work only.
    round_to : int or None, default None
        If set (e.g. 5), every shown count is rounded to the nearest multiple, half up.
        Rounding blurs differences between tables that suppression alone cannot
        protect (two periods, two overlapping areas).
    symbol : str, default ``"[c]"``
        What a suppressed cell shows. ``[c]`` is the GSS symbol for confidential data.
    protection : int, default 1
        The least width, in counts, of the range an attacker can narrow any suppressed
        cell down to using linear arithmetic on what is shown. ``1`` means no
        suppressed cell can be derived exactly; raise it (e.g. to ``threshold``) to
        demand that the attacker is left with a wider range.
    """

    threshold: int = 5
    round_to: int | None = None
    symbol: str = DEFAULT_SYMBOL
    protection: int = 1

    def __post_init__(self) -> None:
        if not _is_int(self.threshold) or self.threshold < 0:
            raise ValueError(f"threshold must be a non-negative integer, got {self.threshold!r}")
        if self.round_to is not None and (not _is_int(self.round_to) or self.round_to < 1):
            raise ValueError(f"round_to must be a positive integer or None, got {self.round_to!r}")
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise ValueError("symbol must be a non-empty string")
        if not _is_int(self.protection) or self.protection < 1:
            raise ValueError(f"protection must be an integer >= 1, got {self.protection!r}")

    @property
    def active(self) -> bool:
        """Whether any count can be suppressed (``threshold >= 2``)."""
        return self.threshold >= 2

    @property
    def rounding(self) -> bool:
        """Whether shown counts are rounded (``round_to >= 2``)."""
        return self.round_to is not None and self.round_to >= 2

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any] | None, *, threshold: int | None = None
    ) -> DisclosureRule:
        """Build a rule from an area's params (its ``disclosure:`` block).

        Parameters
        ----------
        mapping : mapping or None
            Keys among ``threshold``, ``round_to``, ``symbol``, ``protection``. Unknown
            keys raise, so that a misspelt setting cannot silently weaken protection.
        threshold : int, optional
            Command-line override of the threshold (``0`` disables suppression).

        Returns
        -------
        DisclosureRule
        """
        mapping = dict(mapping or {})
        known = {f.name for f in fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            raise ValueError(f"unknown disclosure settings: {sorted(unknown)}; known: {sorted(known)}")
        if threshold is not None:
            mapping["threshold"] = threshold
        return cls(**mapping)

    def footnote(self) -> str:
        """The sentence(s) printed under a table to explain the symbol and rounding.

        Returns an empty string when the rule changes nothing, so that internal tables
        carry no misleading note.
        """
        parts = []
        if self.active:
            parts.append(
                f"{self.symbol} = not shown to protect confidentiality: counts from 1 to "
                f"{self.threshold - 1}, other figures from which such a count could be "
                "worked out, and rates or 'x of y' figures that use them. "
                "0 means none."
            )
        if self.rounding:
            parts.append(
                f"Counts are rounded to the nearest {self.round_to} (a count above zero is "
                f"shown as at least {self.round_to}); totals are rounded independently, so "
                "they may not equal the sum of the figures shown. Rates are calculated "
                "from the rounded counts."
            )
        return " ".join(parts)

    def round_counts(self, values: np.ndarray) -> np.ndarray:
        """Round non-negative integer counts to the nearest ``round_to``, half up.

        A non-zero count never rounds to zero (it becomes ``round_to``), so that a
        published 0 always means none. Vectorised.
        """
        values = np.asarray(values, dtype=np.int64)
        if not self.rounding:
            return values
        r = int(self.round_to)  # type: ignore[arg-type]
        rounded = (values + r // 2) // r * r
        return np.where(values > 0, np.maximum(rounded, r), 0)


@dataclass(frozen=True, eq=False)
class SuppressedTable:
    """A table after disclosure control, ready to format.

    Attributes
    ----------
    values : pandas.DataFrame
        The input table with each count column as nullable ``Int64``: suppressed cells
        are ``<NA>``, shown cells rounded if the rule rounds. Other columns unchanged.
    reasons : pandas.DataFrame
        Same shape as the count columns: ``"primary"`` (a small count), ``"secondary"``
        (hidden so that a small count cannot be worked out), ``"pair"`` (hidden because
        the other part of its "x of y" cell is hidden) or ``""`` (shown).
    rule : DisclosureRule
        The rule applied.
    count_columns : tuple
        The count columns, in order.
    """

    values: pd.DataFrame
    reasons: pd.DataFrame
    rule: DisclosureRule
    count_columns: tuple[Hashable, ...]

    @property
    def mask(self) -> pd.DataFrame:
        """Boolean DataFrame over the count columns: True where a cell is suppressed."""
        return self.reasons.ne("")

    @property
    def footnote(self) -> str:
        """The rule's footnote (empty when the rule changes nothing)."""
        return self.rule.footnote()

    def display(self, *, thousands: bool = True) -> pd.DataFrame:
        """Strings for publication: counts, or the symbol where suppressed.

        Parameters
        ----------
        thousands : bool, default True
            Group thousands with commas (GSS style), e.g. ``1,234``.

        Returns
        -------
        pandas.DataFrame
            The table with count columns as strings; other columns unchanged.
        """
        out = self.values.copy()
        for col in self.count_columns:
            out[col] = self._count_text(col, thousands=thousands)
        return out

    def rate(self, numerator: Hashable, denominator: Hashable) -> pd.Series:
        """Proportion ``numerator / denominator`` for each row, ``<NA>`` if not publishable.

        A rate is missing where either count is suppressed (otherwise it would give the
        suppressed count back: rate x denominator) or the denominator is zero. Rates are
        computed from the published, possibly rounded, counts for the same reason.
        """
        num, den, ok = self._parts(numerator, denominator)
        ok = ok & (den > 0)
        out = np.divide(num, den, out=np.zeros(len(num)), where=ok)
        return pd.Series(
            pd.arrays.FloatingArray(out, ~ok), index=self.values.index, name=f"{numerator} / {denominator}"
        )

    def x_of_y(self, numerator: Hashable, denominator: Hashable, *, thousands: bool = True) -> pd.Series:
        """``"2 of 3"`` strings (completed of ended), or the symbol if either part is hidden."""
        num, den, ok = self._parts(numerator, denominator)
        fmt = _fmt_thousands if thousands else _fmt_plain
        text = [f"{fmt(n)} of {fmt(d)}" if k else self.rule.symbol for n, d, k in zip(num, den, ok, strict=True)]
        return pd.Series(text, index=self.values.index, dtype="str", name=f"{numerator} of {denominator}")

    def count_rate(
        self, numerator: Hashable, denominator: Hashable, *, decimals: int = 0, thousands: bool = True
    ) -> pd.Series:
        """``"28 (33%)"`` strings: a count with its percentage of ``denominator``.

        The count shows the symbol if suppressed; the percentage shows the symbol if the
        denominator is suppressed, and is left out if the denominator is zero.
        Percentages are rounded half up to ``decimals`` places (whole percentages by
        default, as in Justice Data Lab reports).
        """
        _, den, ok = self._parts(numerator, denominator)
        mask = self.mask
        num_hidden = mask[numerator].to_numpy()
        den_hidden = mask[denominator].to_numpy()
        num = self.values[numerator].to_numpy(dtype="float64", na_value=0).astype(np.int64)
        fmt = _fmt_thousands if thousands else _fmt_plain
        text = []
        for n, d, nh, dh, k in zip(num, den, num_hidden, den_hidden, ok, strict=True):
            if nh:
                text.append(self.rule.symbol)
            elif dh:
                text.append(f"{fmt(n)} ({self.rule.symbol})")
            elif k and d > 0:
                text.append(f"{fmt(n)} ({_percent(n, d, decimals)}%)")
            else:
                text.append(fmt(n))
        return pd.Series(text, index=self.values.index, dtype="str", name=f"{numerator} ({denominator})")

    # -- helpers -------------------------------------------------------------------------
    def _count_text(self, col: Hashable, *, thousands: bool) -> pd.Series:
        fmt = _fmt_thousands if thousands else _fmt_plain
        hidden = self.mask[col].to_numpy()
        vals = self.values[col].to_numpy(dtype="float64", na_value=np.nan)
        text = [self.rule.symbol if h else fmt(int(v)) for v, h in zip(vals, hidden, strict=True)]
        return pd.Series(text, index=self.values.index, dtype="str", name=col)

    def _parts(self, numerator: Hashable, denominator: Hashable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        for col in (numerator, denominator):
            if col not in self.count_columns:
                raise KeyError(f"{col!r} is not a count column of this table")
        mask = self.mask
        ok = ~(mask[numerator].to_numpy() | mask[denominator].to_numpy())
        num = self.values[numerator].to_numpy(dtype="float64", na_value=np.nan)
        den = self.values[denominator].to_numpy(dtype="float64", na_value=np.nan)
        num = np.where(ok, num, 0).astype(np.int64)
        den = np.where(ok, den, 0).astype(np.int64)
        return num, den, ok


def suppress(
    table: pd.DataFrame,
    rule: DisclosureRule,
    *,
    count_columns: Sequence[Hashable],
    row_totals: Mapping[Hashable, Sequence[Hashable]] | None = None,
    column_totals: Mapping[Hashable, Sequence[Hashable]] | None = None,
    pairs: Sequence[tuple[Hashable, Hashable]] | None = None,
    nested: Sequence[tuple[Hashable, Hashable]] | None = None,
    equations: Sequence[tuple[Cell, Sequence[Cell]]] | None = None,
    inequalities: Sequence[tuple[Cell, Cell]] | None = None,
    together: Sequence[Sequence[Cell]] | None = None,
    withheld: Iterable[Cell] | None = None,
    priority: Mapping[Cell, int] | None = None,
    hidden: Iterable[Cell] | None = None,
) -> SuppressedTable:
    """Apply primary and secondary suppression (and rounding) to one table.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per table row, labelled by the (unique) index, e.g. district names
        (use ``df.set_index("district")``). Count columns hold non-negative integers.
    rule : DisclosureRule
        Threshold, rounding, symbol and protection width.
    count_columns : sequence
        The columns holding counts; other columns pass through untouched.
    row_totals : mapping, optional
        Group row -> member rows, meaning the group's value in every count column is the
        sum of its members' (``{"COUNTY": [the seven districts]}``). Groups may nest.
        A group whose only member is itself (``{"Rutland": ["Rutland"]}``) is ignored.
    column_totals : mapping, optional
        Total column -> member columns, in every row (``{"ended": ["completed",
        "disengaged", "excluded"]}``). Declare this whenever the parts are published,
        or a hidden part could be recovered as total minus the others.
    pairs : sequence of (numerator, denominator), optional
        Columns published together in one "x of y" (or "n (p%)") cell. If either part is
        hidden the whole cell is, so the other part is hidden too (reason ``"pair"``),
        and the numerator is known to be at most the denominator.
    nested : sequence of (part, whole), optional
        Columns where ``part <= whole`` in every row (self-referrals of eligible referrals
        of all referrals). Not equalities, but an attacker knows them, so the audit
        uses them.
    equations : sequence of (cell, cells), optional
        Any other sum: ``((row, col), [(row, col), ...])`` means the first cell equals the
        sum of the others (a cell that is a total across two tables' rows, say).
    inequalities : sequence of (cell, cell), optional
        ``(a, b)`` means cell ``a <= b`` (a subgroup of a group in another row).
    together : sequence of sequences of cells, optional
        Cells shown or hidden together (reason ``"pair"``): the sizes of two compared
        groups, say, so that hiding one hides its complement.
    withheld : iterable of cells, optional
        Cells hidden from the start whatever their value (reason ``"withheld"``): counts
        that are never published but tie published cells together (the people in one
        analysis and not in another). They are unknowns to the attacker; one needs the
        guarantee itself only if it holds a count from 1 to ``threshold - 1``.
    priority : mapping of cell to int, optional
        Cells with a higher priority are chosen as complementary cells last (default 0):
        a report's headline figures, say.
    hidden : iterable of cells, optional
        Cells that must be hidden whatever their value and protected like small ones
        (reason ``"withheld"``): counts about a group that is hidden, say, which must not
        be worked out from the rest either.

    Returns
    -------
    SuppressedTable

    Raises
    ------
    ValueError
        If labels are unknown, counts are missing, negative or fractional, or a declared
        relation does not hold in the data (wrong relations give false protection).
    ProtectionError
        If a cell cannot be protected even with all related cells hidden.

    Notes
    -----
    The guarantee: for every suppressed cell, minimising and maximising it by linear
    programming over all non-negative tables that agree with every shown (unrounded)
    cell and every declared relation gives integer bounds at least ``rule.protection``
    apart. Rounding only widens what an attacker must consider, so checking against the
    unrounded values is conservative. Zeros are never suppressed as primary cells; a zero
    is picked as a complementary cell only where no non-zero cell would do, and totals
    only where no member would do, because hiding a headline total or a zero costs the
    reader most. Relations between *different* tables are not seen: put cells that are
    published twice into one call, with ``equations``.
    """
    problem = _Problem.build(
        table, count_columns, row_totals or {}, column_totals or {}, pairs or (), nested or (), equations or (),
        inequalities or (), together or (), priority or {},
    )
    reasons = np.zeros(problem.n_cells, dtype=np.int8)
    forced = [problem.cell(c) for c in (withheld or ())]
    must = [problem.cell(c) for c in (hidden or ())]
    if rule.active:
        reasons[_primary_mask(problem.values, rule.threshold)] = _PRIMARY
    reasons[forced] = _WITHHELD
    reasons[must] = _WITHHELD
    if rule.active or forced or must:
        # A withheld cell needs protecting only if it is itself small: a count never
        # published (the people in one analysis and not another) may follow from what is
        # shown when it is large, but it stays an unknown for everything else.
        exempt = np.zeros(problem.n_cells, dtype=bool)
        exempt[forced] = True
        if rule.active:
            exempt &= ~_primary_mask(problem.values, rule.threshold)
        exempt[must] = False
        _protect(problem, reasons, rule.protection, exempt)

    hidden = reasons != _SHOWN
    shown_values = rule.round_counts(problem.values.astype(np.int64))
    values = table.copy()
    reason_frame = {}
    shape = (problem.n_rows, problem.n_cols)
    hidden2 = hidden.reshape(shape)
    shown2 = shown_values.reshape(shape)
    reasons2 = _REASON_TEXT[reasons].reshape(shape)
    for j, col in enumerate(problem.columns):
        values[col] = pd.arrays.IntegerArray(shown2[:, j].copy(), hidden2[:, j].copy())
        reason_frame[col] = pd.array(reasons2[:, j], dtype="str")
    reason_df = pd.DataFrame(reason_frame, index=table.index)
    return SuppressedTable(values=values, reasons=reason_df, rule=rule, count_columns=tuple(problem.columns))


# ---------------------------------------------------------------------------------------
# The problem: cells, sums and inequalities in flat integer form
# ---------------------------------------------------------------------------------------


@dataclass
class _Problem:
    """Flat view of a table: cell k is row ``k // n_cols``, column ``k % n_cols``."""

    values: np.ndarray  # float64, integer-valued, (n_cells,)
    rows: list[Hashable]
    columns: list[Hashable]
    equations: list[np.ndarray]  # each: [total, member, member, ...] cell indices
    le: np.ndarray  # (m, 2): cell a <= cell b
    partners: list[list[int]]  # cells shown in the same "x of y" cell as each cell
    cell_eqs: list[list[int]]
    is_total: np.ndarray  # bool: a total in some equation
    neighbours: list[set[int]]
    priority: np.ndarray  # int: higher is chosen as a complement later

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def n_cols(self) -> int:
        return len(self.columns)

    @property
    def n_cells(self) -> int:
        return len(self.values)

    @classmethod
    def build(
        cls,
        table: pd.DataFrame,
        count_columns: Sequence[Hashable],
        row_totals: Mapping[Hashable, Sequence[Hashable]],
        column_totals: Mapping[Hashable, Sequence[Hashable]],
        pairs: Iterable[tuple[Hashable, Hashable]],
        nested: Iterable[tuple[Hashable, Hashable]],
        equations: Iterable[tuple[Cell, Sequence[Cell]]],
        inequalities: Iterable[tuple[Cell, Cell]] = (),
        together: Iterable[Sequence[Cell]] = (),
        priority: Mapping[Cell, int] | None = None,
    ) -> _Problem:
        if not isinstance(table, pd.DataFrame):
            raise TypeError("table must be a pandas DataFrame")
        columns = list(count_columns)
        if not columns:
            raise ValueError("count_columns is empty")
        if len(set(columns)) != len(columns):
            raise ValueError("count_columns has duplicates")
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ValueError(f"count columns not in table: {missing}")
        if not table.columns[table.columns.isin(columns)].is_unique:
            raise ValueError("a count column name appears more than once in the table")
        if not table.index.is_unique:
            raise ValueError("table index (row labels) must be unique")
        rows = list(table.index)
        n_rows, n_cols = len(rows), len(columns)
        values = _counts_matrix(table, columns).ravel()

        row_pos = {r: i for i, r in enumerate(rows)}
        col_pos = {c: j for j, c in enumerate(columns)}

        def rpos(label: Hashable) -> int:
            if label not in row_pos:
                raise ValueError(f"row {label!r} is not in the table index")
            return row_pos[label]

        def cpos(label: Hashable) -> int:
            if label not in col_pos:
                raise ValueError(f"column {label!r} is not a count column")
            return col_pos[label]

        eqs: list[np.ndarray] = []

        def add(total: int, members: list[int]) -> None:
            if members == [total]:
                return  # a group that is just itself ("Rutland": ["Rutland"])
            if not members:
                raise ValueError("a total needs at least one member")
            if total in members or len(set(members)) != len(members):
                raise ValueError("a total cannot be its own member, nor a member listed twice")
            eqs.append(np.array([total, *members], dtype=np.int64))

        for group, members in row_totals.items():
            g, ms = rpos(group), [rpos(m) for m in _as_list(members)]
            for j in range(n_cols):
                add(g * n_cols + j, [m * n_cols + j for m in ms])
        for total, members in column_totals.items():
            t, ms = cpos(total), [cpos(m) for m in _as_list(members)]
            for i in range(n_rows):
                add(i * n_cols + t, [i * n_cols + m for m in ms])
        for total_cell, member_cells in equations:
            t = rpos(total_cell[0]) * n_cols + cpos(total_cell[1])
            add(t, [rpos(r) * n_cols + cpos(c) for r, c in member_cells])

        pair_idx = []
        for num, den in pairs:
            a, b = cpos(num), cpos(den)
            pair_idx += [(i * n_cols + a, i * n_cols + b) for i in range(n_rows)]
        le_idx = list(pair_idx)
        for part, whole in nested:
            a, b = cpos(part), cpos(whole)
            le_idx += [(i * n_cols + a, i * n_cols + b) for i in range(n_rows)]
        def cell(c: Cell) -> int:
            return rpos(c[0]) * n_cols + cpos(c[1])

        le_idx += [(cell(a), cell(b)) for a, b in inequalities]
        partners: list[list[int]] = [[] for _ in range(n_rows * n_cols)]
        for a, b in pair_idx:
            partners[a].append(b)
            partners[b].append(a)
        for cells in together:
            idx = [cell(c) for c in cells]
            for a in idx:
                partners[a].extend(b for b in idx if b != a)
        le_arr = np.array(le_idx, dtype=np.int64).reshape(-1, 2)
        prio = np.zeros(n_rows * n_cols, dtype=np.int64)
        for c, v in (priority or {}).items():
            prio[cell(c)] = int(v)

        problem = cls(
            values=values, rows=rows, columns=columns, equations=eqs, le=le_arr, partners=partners,
            cell_eqs=[[] for _ in range(n_rows * n_cols)],
            is_total=np.zeros(n_rows * n_cols, dtype=bool),
            neighbours=[set() for _ in range(n_rows * n_cols)],
            priority=prio,
        )
        problem._check_relations()
        for e, cells in enumerate(eqs):
            problem.is_total[cells[0]] = True
            for k in cells:
                problem.cell_eqs[k].append(e)
                problem.neighbours[k].update(int(c) for c in cells if c != k)
        for a, b in le_arr:
            problem.neighbours[a].add(int(b))
            problem.neighbours[b].add(int(a))
        return problem

    def label(self, k: int) -> Cell:
        return (self.rows[k // self.n_cols], self.columns[k % self.n_cols])

    def cell(self, c: Cell) -> int:
        """The flat index of cell ``(row, column)``."""
        try:
            return self.rows.index(c[0]) * self.n_cols + self.columns.index(c[1])
        except ValueError:
            raise ValueError(f"cell {c!r} is not in the table") from None

    def _check_relations(self) -> None:
        v = self.values
        for cells in self.equations:
            if abs(v[cells[0]] - v[cells[1:]].sum()) > 0.5:
                parts = " + ".join(repr(self.label(int(k))) for k in cells[1:])
                raise ValueError(
                    f"declared sum does not hold: {self.label(int(cells[0]))} = {v[cells[0]]:g}, "
                    f"but {parts} = {v[cells[1:]].sum():g}"
                )
        if len(self.le):
            bad = v[self.le[:, 0]] > v[self.le[:, 1]]
            if bad.any():
                a, b = self.le[np.argmax(bad)]
                raise ValueError(
                    f"declared pair/nesting does not hold: {self.label(int(a))} = {v[a]:g} "
                    f"exceeds {self.label(int(b))} = {v[b]:g}"
                )


def _as_list(members: Sequence[Hashable] | Hashable) -> list[Hashable]:
    if isinstance(members, str) or not isinstance(members, Iterable):
        return [members]
    return list(members)


def _counts_matrix(table: pd.DataFrame, columns: list[Hashable]) -> np.ndarray:
    """Counts as a float matrix, refusing anything that is not a non-negative integer."""
    try:
        mat = table[columns].to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as err:
        raise ValueError(f"count columns must be numeric: {err}") from err
    if np.isnan(mat).any():
        raise ValueError("count columns contain missing values; a missing count cannot be protected")
    if (mat < 0).any() or (mat != np.round(mat)).any() or not np.isfinite(mat).all():
        raise ValueError("count columns must hold non-negative whole numbers")
    return mat


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _primary_mask(values: np.ndarray, threshold: int) -> np.ndarray:
    """Cells holding a count from 1 to ``threshold - 1`` (vectorised)."""
    return (values >= 1) & (values < threshold)


# ---------------------------------------------------------------------------------------
# Secondary suppression: greedy closure, then LP audit until every cell is protected
# ---------------------------------------------------------------------------------------


def _protect(problem: _Problem, reasons: np.ndarray, protection: int, exempt: np.ndarray | None = None) -> None:
    """Add secondary suppressions in place until the LP audit passes (``exempt`` cells need not)."""
    while True:
        _close(problem, reasons, exempt)
        failing = _unprotected(problem, reasons != _SHOWN, protection)
        if exempt is not None:
            failing = [k for k in failing if not exempt[k]]
        if not failing:
            return
        touched: set[int] = set()
        stuck = []
        for k in failing:
            if k in touched:
                continue  # a cell hidden for an earlier failure may already free this one
            extra = _nearest_candidate(problem, reasons != _SHOWN, k)
            if extra is None:
                stuck.append(k)  # nothing left to hide near it: the next audit says if it is still narrow
                continue
            reasons[extra] = _SECONDARY
            touched.add(extra)
            touched.update(problem.neighbours[extra])
        if stuck and not touched:
            row, col = problem.label(stuck[0])
            raise ProtectionError(
                f"cell ({row!r}, {col!r}) stays determined even with every related cell "
                "suppressed; check the declared relations"
            )


def _candidate_key(problem: _Problem, k: int, fixes: int = 0) -> tuple:
    """Order complementary cells: non-zero first, members before totals, then those that
    also complete another equation, then the smallest (least information lost)."""
    v = problem.values[k]
    return (int(problem.priority[k]), v == 0, bool(problem.is_total[k]), -fixes, v, k)


def _close(problem: _Problem, reasons: np.ndarray, exempt: np.ndarray | None = None) -> None:
    """Greedy fixpoint: hide pair partners, and give every equation with exactly one
    hidden cell a second one (otherwise that cell is the total minus the rest).

    Partners are hidden at once, so that a cell hidden in one column can serve as the
    complement in its partner's column too; this avoids needless extra suppressions.
    """
    hidden = reasons != _SHOWN
    for k in np.flatnonzero(hidden):
        _hide(problem, reasons, hidden, int(k), int(reasons[k]))

    def fixes(c: int) -> int:
        group = [c, *problem.partners[c]]
        eqs = {f for g in group for f in problem.cell_eqs[g]}
        return sum(1 for f in eqs if hidden[problem.equations[f]].sum() == 1)

    changed = True
    while changed:
        changed = False
        for cells in problem.equations:
            if hidden[cells].sum() != 1:
                continue
            if exempt is not None and exempt[cells[hidden[cells]]].all():
                continue
            candidates = [int(c) for c in cells[~hidden[cells]]]
            best = min(candidates, key=lambda c: _candidate_key(problem, c, fixes(c)))
            _hide(problem, reasons, hidden, best, _SECONDARY)
            changed = True


def _hide(problem: _Problem, reasons: np.ndarray, hidden: np.ndarray, k: int, reason: int) -> None:
    """Hide cell ``k`` and, transitively, the other parts of its "x of y" cells."""
    stack = [(k, reason)]
    while stack:
        c, why = stack.pop()
        if not hidden[c]:
            hidden[c] = True
            reasons[c] = why
        stack.extend((p, _PAIR) for p in problem.partners[c] if not hidden[p])


def _nearest_candidate(problem: _Problem, hidden: np.ndarray, k: int) -> int | None:
    """The best shown cell related to cell ``k``, searching outwards through relations."""
    seen = {k}
    frontier = {k}
    while frontier:
        ring: set[int] = set()
        for c in frontier:
            ring.update(problem.neighbours[c])
        ring -= seen
        if not ring:
            return None
        shown = [c for c in ring if not hidden[c]]
        if shown:
            return min(shown, key=lambda c: _candidate_key(problem, c))
        seen |= ring
        frontier = ring
    return None


def _unprotected(problem: _Problem, hidden: np.ndarray, protection: int) -> list[int]:
    """Hidden cells whose LP range, given everything shown, is narrower than ``protection``.

    Each LP optimum is a feasible table, so every solution widens the known range of
    *every* hidden cell; a cell already seen to span ``protection`` needs no LP of its
    own. This keeps the audit to a few LPs per table in practice.
    """
    unknown = np.flatnonzero(hidden)
    if len(unknown) == 0:
        return []
    col_of = np.full(problem.n_cells, -1, dtype=np.int64)
    col_of[unknown] = np.arange(len(unknown))
    v = problem.values

    a_eq, b_eq = [], []
    for cells in problem.equations:
        coef = np.ones(len(cells))
        coef[0] = -1.0  # members - total = 0
        u = col_of[cells] >= 0
        if not u.any():
            continue
        row = np.zeros(len(unknown))
        row[col_of[cells[u]]] = coef[u]
        a_eq.append(row)
        b_eq.append(-(coef[~u] @ v[cells[~u]]))
    a_ub, b_ub = [], []
    for a, b in problem.le:  # x_a - x_b <= 0
        ua, ub_ = col_of[a] >= 0, col_of[b] >= 0
        if not (ua or ub_):
            continue
        row = np.zeros(len(unknown))
        rhs = 0.0
        if ua:
            row[col_of[a]] = 1.0
        else:
            rhs -= v[a]
        if ub_:
            row[col_of[b]] = -1.0
        else:
            rhs += v[b]
        a_ub.append(row)
        b_ub.append(rhs)
    lp = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
        "bounds": (0, None),
        "method": "highs",
    }

    lo = v[unknown].astype(float).copy()
    hi = lo.copy()

    def wide(i: int) -> bool:
        if math.isinf(hi[i]):
            return True
        return math.floor(hi[i] + _EPS) - math.ceil(lo[i] - _EPS) >= protection

    def solve(i: int, sign: float) -> None:
        c = np.zeros(len(unknown))
        c[i] = sign
        res = linprog(c, **lp)
        if res.status == 3 and sign < 0:
            hi[i] = np.inf
            return
        if res.status != 0:
            raise ProtectionError(f"disclosure audit LP failed: {res.message}")
        np.minimum(lo, res.x, out=lo)
        np.maximum(hi, res.x, out=hi)

    failing = []
    for i in range(len(unknown)):
        if wide(i):
            continue
        solve(i, 1.0)
        if not wide(i):
            solve(i, -1.0)
            if not wide(i):
                failing.append(int(unknown[i]))
    return failing


# ---------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------


def _fmt_thousands(n: int) -> str:
    return f"{int(n):,}"


def _fmt_plain(n: int) -> str:
    return str(int(n))


def _percent(num: int, den: int, decimals: int) -> str:
    """``100 * num / den`` rounded half up, exactly (integer arithmetic, no float ties)."""
    scale = 10**decimals
    scaled = (200 * int(num) * scale + int(den)) // (2 * int(den))
    if decimals == 0:
        return str(scaled)
    return f"{scaled // scale}.{scaled % scale:0{decimals}d}"
