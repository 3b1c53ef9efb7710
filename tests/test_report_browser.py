"""The rendered evaluation report in a real browser, and as a PDF.

Playwright (from PyPI) drives Debian's Chromium (no browser download): the HTML must load
with no console errors, every figure must load, and the summary must carry the headline
numbers of results.json. The PDF must be A4, of a sane length, carry the same numbers,
and keep every table on the page.
"""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from evallib.runner import find_chromium
from tests.conftest import run_demo_suite

A4_POINTS = (595.3, 841.9)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    _, out = run_demo_suite(tmp_path_factory.mktemp("browser"), "--period", "2021-22",
                            "--notebook", "completers_vs_noncompleters", "--format", "html,pdf")
    folder = out / "leicestershire" / "2021-22" / "completers_vs_noncompleters"
    return folder, json.loads((folder / "results.json").read_text())


def _headline_numbers(results) -> list[str]:
    """The published numbers a reader must find: each shown rate (whole %) and its n."""
    numbers = []
    for g in results["outcomes"]["any"]["groups"].values():
        if g["rate"] is not None:
            numbers += [f"{100 * g['rate']:.0f}%", str(g["n"])]
    if not numbers:   # 2021-22: 4 non-completers, so both groups are hidden (docs/disclosure.md)
        numbers = ["cannot both be published"]   # and the summary says so
    return numbers


def test_html_in_a_real_browser(report):
    from playwright.sync_api import sync_playwright

    folder, results = report
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((folder / "completers_vs_noncompleters.html").as_uri(), wait_until="load")
        sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight, i.alt])")
        summary = page.evaluate(
            "() => { const h = [...document.querySelectorAll('h2')].find(e => e.textContent.includes('Summary'));"
            " let t = ''; for (let e = h.nextElementSibling; e && !/^H[12]$/.test(e.tagName); e = e.nextElementSibling)"
            " t += e.innerText + ' '; if (!t) { t = h.closest('.jp-Cell').innerText } return t; }")
        browser.close()
    assert not errors, errors
    assert len(sizes) >= 4   # flow, two rate charts, Kaplan-Meier (+ overlap when a model is fitted)
    for w, h, alt in sizes:
        assert w > 0 and h > 0 and len(alt) > 20
    for number in _headline_numbers(results):
        assert number in summary, f"{number} not in the summary: {summary[:300]}"


def _text_x_positions(page) -> list[float]:
    xs: list[float] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            xs.append(tm[4] * cm[0] + cm[4])

    page.extract_text(visitor_text=visit)
    return xs


def test_pdf_is_a4_readable_and_nothing_runs_off(report):
    folder, results = report
    reader = PdfReader(folder / "completers_vs_noncompleters.pdf")
    assert 4 <= len(reader.pages) <= 30
    text = "\n".join(p.extract_text() for p in reader.pages)
    for number in _headline_numbers(results):
        assert number in text
    assert "Page 1 of" in text or "1 /" in text or "Page 1" in text
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2
        xs = _text_x_positions(page)
        assert all(-1 <= x <= w - 20 for x in xs), "text placed beyond the page's right edge"
    assert (folder / "completers_vs_noncompleters.png").stat().st_size > 10_000
    assert (folder / "completers_vs_noncompleters.pdf.png").stat().st_size > 10_000


def test_not_for_publication_on_every_pdf_page(tmp_path):
    _, out = run_demo_suite(tmp_path, "--period", "2021-22", "--notebook", "completers_vs_noncompleters",
                            "--format", "html,pdf", "--suppress-below", "0")
    report = out / "internal" / "leicestershire" / "2021-22" / "completers_vs_noncompleters"  # not published
    reader = PdfReader(report / "completers_vs_noncompleters.pdf")
    assert len(reader.pages) >= 4
    for page in reader.pages:
        assert "NOT FOR PUBLICATION" in page.extract_text()
