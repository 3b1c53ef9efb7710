"""With suppression on, no count from 1 to 4 appears in any output file (HTML, CSV, XLSX)."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from tests.conftest import run_demo_suite

# A cell that holds counts: "7", "1,234", "2 of 3", "28 (33%)", "10 of 12 (83%)", "12 (86%)".
COUNT_CELL = re.compile(r"^\d[\d,]*(?: of \d[\d,]*)?(?: \(\d+%\))?$")
N_EQUALS = re.compile(r"n = (\d+)")
NOT_COUNTS = {"code", "no.", "no", "item", "month", "months", "span", "quarter", "unit", "key"}


def _ints(cell: str) -> list[int]:
    """The counts in a count-like cell (percentages left out)."""
    text = re.sub(r"\(\d+%\)", "", cell)
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", text)]


def small_counts(cells, threshold: int = 5) -> list[str]:
    bad = []
    for cell in cells:
        cell = str(cell).strip()
        found = _ints(cell) if COUNT_CELL.match(cell) else []
        found += [int(x) for x in N_EQUALS.findall(cell)]
        if any(1 <= v < threshold for v in found):
            bad.append(cell)
    return bad


def html_count_cells(html: str) -> list[str]:
    """Every table cell's text, except in columns headed as codes or item numbers ("No.")."""
    cells = []
    for table in BeautifulSoup(html, "html.parser").find_all("table"):
        skip: set[int] = set()
        for tr in table.find_all("tr"):
            row = tr.find_all(["td", "th"])
            texts = [c.get_text(" ", strip=True) for c in row]
            if all(c.name == "th" for c in row):
                skip = {i for i, t in enumerate(texts) if t.lower() in NOT_COUNTS}
                cells += [t for t in texts if "n =" in t]
                continue
            cells += [t for i, t in enumerate(texts) if i not in skip]
    return cells


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    _, out = run_demo_suite(
        tmp_path_factory.mktemp("published"), "--jobs", "2", "--period", "2022-04-01..2022-09-30",
        "--period", "2022-23Q2", "--notebook", "service_outputs", "--notebook", "quarterly_return",
        "--notebook", "completers_vs_noncompleters", "--notebook", "partner_outcomes")
    return out


def test_the_checker_catches_small_counts():
    assert small_counts(["2 of 3", "10 (83%)", "Completers (n = 3)", "4"]) == ["2 of 3", "Completers (n = 3)", "4"]
    assert small_counts(["10 of 12 (83%)", "0", "[c]", "3%", "2021-22", "0 of 0", "1.5 (0.3)"]) == []


def test_no_small_count_in_html(outputs):
    pages = list(outputs.rglob("*.html"))
    assert len([p for p in pages if p.name != "index.html"]) == 7  # the return takes the quarter only
    for page in pages:
        cells = html_count_cells(page.read_text())
        assert cells or page.name == "index.html"
        assert not small_counts(cells), f"{page}: {small_counts(cells)[:5]}"


def test_no_small_count_in_csv(outputs):
    csvs = list(outputs.rglob("tables/*.csv"))
    assert len(csvs) > 10
    for csv in csvs:
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        cells = [v for c in df.columns if c.strip().lower() not in NOT_COUNTS for v in df[c]]
        assert not small_counts(cells), f"{csv}: {small_counts(cells)[:5]}"


def test_no_small_count_in_xlsx(outputs):
    books = list(outputs.rglob("*.xlsx"))
    assert books
    for book in books:
        ws = openpyxl.load_workbook(book).active
        header_row = next(r for r in ws.iter_rows(values_only=True) if r and "Value" in r)
        value_col = header_row.index("Value")
        values = [r[value_col] for r in ws.iter_rows(values_only=True) if r and len(r) > value_col]
        counts = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        assert counts, "the workbook has counts"
        assert not [v for v in counts if 1 <= v < 5], f"{book}: small counts in the Value column"
