"""The demo dataset reproduces the published LLR tables, cell for cell.

``tests/fixtures/published_tables.yaml`` holds every published cell of seeds 000 and 001,
transcribed as printed. The demo is generated, written, loaded through the contract and
its tables computed by :mod:`evallib.tables` with no disclosure control; every cell must
match. Calibration fixes the counts and chance only decides who and when, so the cells
must hold for any seed: two are checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from evallib import tables as T
from evallib.params import load_area
from evallib.schemas import load_dataset
from evallib.synthetic.demo import DEFAULT_SEED, generate_demo, write_dataset

FIXTURE = yaml.safe_load((Path(__file__).parent / "fixtures" / "published_tables.yaml").read_text(encoding="utf-8"))
AREA = load_area("leicestershire")
ROWS = [name for name, _ in AREA.report_rows()]
SEEDS = [DEFAULT_SEED, 314159]
PAIR_COLUMNS = {
    "completions": ("completed", "ended"),
    "repeat_incidents": ("with_repeat_incident", "on_intervention"),
    "partner_engagement": ("engaged", "offered"),
    "partner_safety": ("feels_safer", "answered"),
    "reduced_abuse": ("reduced", "assessed"),
}


# --------------------------------------------------------------------------- reading cells
def parse_cell(cell) -> dict:
    """A published cell as ``num``, ``den`` and/or ``percent`` (see the fixture's header)."""
    if isinstance(cell, bool):
        raise ValueError(f"not a cell: {cell!r}")
    if isinstance(cell, int):
        return {"num": cell, "den": cell}
    text = str(cell).strip()
    if m := re.fullmatch(r"(\d+)", text):
        return {"num": int(m[1]), "den": int(m[1])}
    if m := re.fullmatch(r"(\d+)\s*(?:of|/)\s*(\d+)", text):
        return {"num": int(m[1]), "den": int(m[2])}
    if m := re.fullmatch(r"(\d+)\s*\((\d+)%\)", text):
        return {"num": int(m[1]), "percent": int(m[2])}
    if m := re.fullmatch(r"(\d+)%", text):
        return {"percent": int(m[1])}
    raise ValueError(f"cannot read the published cell {cell!r}")


def whole_percent(num: int, den: int) -> int:
    """Percentages as printed: whole numbers, halves rounded up."""
    return int(100 * num / den + 0.5)


def check_pair(where: str, num: int, den: int, spec: dict) -> list[str]:
    problems = []
    if "num" in spec and num != spec["num"]:
        problems.append(f"{where}: numerator {num}, published {spec['num']}")
    if "den" in spec and den != spec["den"]:
        problems.append(f"{where}: denominator {den}, published {spec['den']}")
    if "percent" in spec:
        if den == 0:
            problems.append(f"{where}: published {spec['percent']}% but the denominator is 0")
        elif whole_percent(num, den) != spec["percent"] or (spec["percent"] == 100 and num != den):
            problems.append(f"{where}: {num} of {den} is {100 * num / den:.1f}%, published {spec['percent']}%")
    return problems


def _rows(period_block: dict) -> dict:
    return {k: v for k, v in period_block.items() if k in ROWS}


def _cell_and_expected(value, key=None):
    """(cell as published, cell to assert) for a row value or one column of it."""
    if isinstance(value, dict):
        expected = value.get("expected", {})
        if key is None:
            return value["cell"], expected or value["cell"]
        return value[key], (expected.get(key, value[key]) if isinstance(expected, dict) else value[key])
    return value, value


def compare(name: str, period: str, table, spec_rows: dict, spec: dict) -> list[str]:
    """Every problem between a computed table and its published rows."""
    problems = []
    if name in PAIR_COLUMNS and name != "completions":
        num_col, den_col = PAIR_COLUMNS[name]
        t = table.set_index("district")
        for row, value in spec_rows.items():
            _, cell = _cell_and_expected(value)
            problems += check_pair(f"{name} {period} {row}", int(t.loc[row, num_col]), int(t.loc[row, den_col]),
                                   parse_cell(cell))
    elif name == "completions":
        t = table.set_index(["district", "programme"])
        for row, value in spec_rows.items():
            for prog in AREA.programmes:
                _, cell = _cell_and_expected(value, prog)
                problems += check_pair(f"{name} {period} {row} {prog}", int(t.loc[(row, prog), "completed"]),
                                       int(t.loc[(row, prog), "ended"]), parse_cell(cell))
    else:   # one number per column (referrals, children)
        t = table.set_index("district")
        columns = spec["columns"]
        for row, value in spec_rows.items():
            for col in columns:
                cell = value[col] if isinstance(value, dict) else value
                got = int(t.loc[row, col])
                parsed = parse_cell(cell)
                if got != parsed["num"]:
                    problems.append(f"{name} {period} {row} {col}: {got}, published {parsed['num']}")
                if "percent" in parsed:
                    base = {**spec.get("percent_of", {}), **(value.get("percent_of", {}) if isinstance(value, dict)
                                                             else {})}[col]
                    problems += check_pair(f"{name} {period} {row} {col} (% of {base})", got,
                                           int(t.loc[row, base]), {"percent": parsed["percent"]})
    return problems


def compute(ds) -> dict:
    """Every published (table, period), computed from the dataset."""
    out = {}
    for name, spec in FIXTURE["tables"].items():
        func = getattr(T, spec["function"])
        periods = list(spec["periods"]) + list(spec.get("percentages", {}).get("periods", {}))
        for period in periods:
            out[(name, period)] = func(ds, period)
    return out


def check_all(computed: dict) -> list[str]:
    problems = []
    for name, spec in FIXTURE["tables"].items():
        for period, block in spec["periods"].items():
            problems += compare(name, period, computed[(name, period)], _rows(block), spec)
        for period, block in spec.get("percentages", {}).get("periods", {}).items():
            rows = {r: parse_cell(c) for r, c in _rows(block).items()}
            num_col, den_col = PAIR_COLUMNS[name]
            t = computed[(name, period)].set_index("district")
            for row, cell in rows.items():
                problems += check_pair(f"{name} {period} {row} (seed 001 %)", int(t.loc[row, num_col]),
                                       int(t.loc[row, den_col]), cell)
    return problems


def check_statements(computed: dict) -> list[str]:
    problems = []
    for st in FIXTURE["statements"]:
        c = st["check"]
        periods = c.get("periods", [c.get("period")])
        frames = [computed[(c["table"], p)] for p in periods]
        rows = [f[f["district"] == c["row"]] for f in frames]
        if "sum_of" in c:
            value = sum(int(r[c["sum_of"]].sum()) for r in rows)
        else:
            den = sum(int(r[c["of"]].sum()) for r in rows)
            num_col = c.get("percent", c.get("percent_without"))
            num = sum(int(r[num_col].sum()) for r in rows)
            if "percent_without" in c:
                num = den - num
            value = whole_percent(num, den) if den else None
        if value != c["equals"]:
            problems.append(f"{st['id']} ({st['text']!r}): got {value}, published {c['equals']}")
    return problems


# --------------------------------------------------------------------------- the demo
@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    """The published tables computed from the written and re-loaded demo, per seed."""
    out = {}
    for seed in SEEDS:
        folder = tmp_path_factory.mktemp(f"demo{seed}")
        tables, meta = generate_demo(seed=seed)
        ds = load_dataset(write_dataset(tables, meta, folder))   # raises on any contract problem
        out[seed] = compute(ds)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_every_published_cell(computed, seed):
    problems = check_all(computed[seed])
    assert not problems, f"{len(problems)} cell(s) differ from the publications:\n" + "\n".join(problems)


@pytest.mark.parametrize("seed", SEEDS)
def test_statements_implied_by_the_cells(computed, seed):
    problems = check_statements(computed[seed])
    assert not problems, "\n".join(problems)


def test_two_seeds_differ_where_they_are_free(computed):
    """Calibration fixes the published cells only: elsewhere the seed matters."""
    a, b = (computed[s][("children", "2021-04-01..2022-09-30")] for s in SEEDS)
    free = {"CITY", "Rutland"}
    city_a = a.loc[a["district"].isin(free), "children"].tolist()
    city_b = b.loc[b["district"].isin(free), "children"].tolist()
    assert city_a != city_b


# --------------------------------------------------------------------------- the checker itself
def test_fixture_rows_are_complete():
    """Every table that publishes all rows lists all ten; children lists the county's."""
    county = [name for name, members in AREA.report_rows() if set(members) <= set(AREA.groups["COUNTY"])]
    for name, spec in FIXTURE["tables"].items():
        blocks = list(spec["periods"].values()) + list(spec.get("percentages", {}).get("periods", {}).values())
        for block in blocks:
            rows = list(_rows(block))
            assert rows == (county if name == "children" else ROWS), (name, rows)
            assert not set(block) - set(ROWS) - {"source", "note"}, (name, set(block) - set(ROWS))


@pytest.mark.parametrize("cell, parsed", [
    ("2 of 3", {"num": 2, "den": 3}), ("8/9", {"num": 8, "den": 9}), (2, {"num": 2, "den": 2}),
    ("0", {"num": 0, "den": 0}), ("10 (83%)", {"num": 10, "percent": 83}), ("100%", {"percent": 100}),
])
def test_cells_are_read_as_published(cell, parsed):
    assert parse_cell(cell) == parsed


def test_unreadable_cell_is_an_error():
    with pytest.raises(ValueError):
        parse_cell("0 ∞")


@pytest.mark.parametrize("table, period, row, column, delta", [
    ("referrals", "2021-22", "Blaby", "eligible", 1),
    ("referrals", "2021-22", "COUNTY", "self_motivated", 1),
    ("completions", "2022-04-01..2022-09-30", "Melton", "ended", 1),
    ("repeat_incidents", "2021-04-01..2022-09-30", "Rutland", "on_intervention", 1),
    ("partner_safety", "2022-04-01..2022-09-30", "CITY", "answered", 1),
    ("partner_safety", "2022-04-01..2022-09-30", "Blaby", "feels_safer", -1),
    ("children", "2021-04-01..2022-09-30", "COUNTY", "children", -1),
    ("reduced_abuse", "2021-22", "CITY", "reduced", 1),
])
def test_checker_catches_any_change(computed, table, period, row, column, delta):
    tables = {k: v.copy() for k, v in computed[DEFAULT_SEED].items()}
    t = tables[(table, period)]
    sel = t["district"].eq(row)
    if table == "completions":
        sel &= t["programme"].eq("foundations")
    t.loc[sel, column] += delta
    assert check_all(tables), "a changed cell went unnoticed"
