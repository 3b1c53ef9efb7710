"""Every report as a reader meets it: on A4 paper, on a 390 px phone, and to a screen reader.

Two runs of the demo suite make all four reports as HTML and PDF. Then:

- **paper**: every word and number of every HTML table comes out whole in the PDF's text
  (``pdftotext``, Debian's poppler-utils): a word split over two lines of a cell comes
  out as two fragments, so the whole word is found fewer times than the page shows it;
- **phone** (390 px, Debian's Chromium driven by Playwright): no table cell breaks a
  word across lines, nothing is cut off without a way to scroll to it, and every box
  that scrolls sideways shows the scroll shadows and can be reached from the keyboard;
- **accessibility**: axe-core (the npm package, installed into ``.venv/node`` by the
  Makefile or by this file) finds no serious or moderate violation, at 1366 and 390 px.

Words may break after a hyphen or a slash between letters ("Non-" / "completers"), as
in print; never inside a word or a number.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from evallib.runner import find_chromium
from tests.conftest import run_demo_suite

REPO = Path(__file__).resolve().parent.parent
AXE = Path(os.environ.get("EVALLIB_AXE", REPO / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
REPORTS = ("completers_vs_noncompleters", "partner_outcomes", "service_outputs", "quarterly_return")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def tokens(text: str) -> list[str]:
    """Words and numbers as they may be set: a break is allowed at a space, after a hyphen
    or a dash between letters, and after a slash; nowhere else."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = re.sub(r"(?<=[^\W\d_]-)(?=[^\W\d_])|(?<=[\u2013\u2014/])(?=\S)", " ", text)
    return text.split()


def test_tokens_split_where_a_line_may_break():
    assert tokens("Non-completers 23% of 39 (13% to 38%) -0.21 2021-22 IDVA/MARAC") == [
        "Non-", "completers", "23%", "of", "39", "(13%", "to", "38%)", "-0.21", "2021-22", "IDVA/", "MARAC"]


def test_contents_list_links_every_section():
    from evallib.report_page import add_contents

    page = add_contents("<h1>T</h1><p>x</p><h2>1. Record flow</h2><p>a</p><h2 class='k'>Who &amp; why</h2>"
                        "<h2>1. Record flow</h2>")
    assert page.index('<nav class="evl-contents"') < page.index("<h2")
    ids = re.findall(r'<h2 id="([^"]+)"', page)
    assert ids == ["1-record-flow", "who-why", "1-record-flow-2"]
    assert [f'href="#{i}"' in page for i in ids] == [True] * 3
    assert "<li><a href=\"#who-why\">Who &amp; why</a></li>" in page
    assert add_contents("<h1>T</h1><h2>Only one</h2>") == "<h1>T</h1><h2>Only one</h2>"


def test_tables_scroll_in_named_boxes_and_wide_ones_are_marked():
    from evallib.report_page import PORTRAIT_EM, min_table_width_em, wrap_tables

    narrow = "<table><caption>Referrals</caption><tr><th>District</th><th>Referrals</th></tr></table>"
    cells = "".join(f"<th>Leicestershire{i}</th>" for i in range(14))
    wide = f"<table><tr>{cells}</tr></table>"
    assert min_table_width_em(narrow) < PORTRAIT_EM < min_table_width_em(wide)
    page = wrap_tables(f"<h2>People &amp; places</h2>{narrow}<h2>By district</h2>{wide}")
    assert '<div class="evl-scroll" tabindex="0" role="group" aria-label="Table: Referrals"><table>' in page
    assert '<div class="evl-scroll evl-wide" tabindex="0" role="group" aria-label="Table: By district">' in page


def test_numbers_with_a_hyphen_are_kept_on_one_line():
    from evallib.report_page import keep_numbers_whole

    page = keep_numbers_whole('<head><style>i{a:1-2}</style></head><body><td title="1-2">10-13, -0.2</td></body>')
    assert page == ('<head><style>i{a:1-2}</style></head><body><td title="1-2">'
                    '<span class="evl-nowrap">10-13,</span> -0.2</td></body>')


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The four reports, HTML and PDF: three for 2021-22, the quarterly return for 2022-23 Q1.

    Returns ``{report name: its folder}``, with the first run's index under ``"index"``.
    """
    root = tmp_path_factory.mktemp("pages")
    _, out = run_demo_suite(root / "year", "--area", "leicestershire", "--period", "2021-22", "--format", "html,pdf", "--jobs", "2",
                            *[a for n in REPORTS[:3] for a in ("--notebook", n)])
    _, out_q = run_demo_suite(root / "quarter", "--area", "leicestershire", "--period", "2022-23Q1", "--format", "html,pdf",
                              "--notebook", "quarterly_return")
    folders = {n: out / "leicestershire" / "2021-22" / n for n in REPORTS[:3]}
    folders["quarterly_return"] = out_q / "leicestershire" / "2022-23Q1" / "quarterly_return"
    for name, folder in folders.items():
        assert _file(folder, name, ".html").exists() and _file(folder, name, ".pdf").exists(), name
    folders["index"] = out
    return folders


def _file(folder: Path, name: str, suffix: str) -> Path:
    """A report's file in its own folder: <area>/<period>/<report>/<report>.html (or .pdf)."""
    return folder / f"{name}{suffix}"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def axe_script() -> Path:
    """axe-core's script; installed with npm into .venv/node when missing (as `make test` does)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        assert npm, "axe-core is needed and npm is not installed: apt-get install npm (or set EVALLIB_AXE)"
        subprocess.run([npm, "install", "--prefix", str(REPO / ".venv" / "node"), "--no-save", "--no-audit",
                        "--no-fund", "axe-core@4"], check=True, capture_output=True, timeout=300)
    assert AXE.exists(), f"axe-core was not installed at {AXE}"
    return AXE


def _open(browser, path: Path, width: int, *, media: str = "screen"):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.emulate_media(media=media)
    page.goto(path.as_uri(), wait_until="load")
    return page


# ---------------------------------------------------------------------------- paper
_TABLE_TEXT = """() => {
  // Text for screen readers only (clipped to nothing) is not printed: leave it out.
  document.querySelectorAll('.visually-hidden').forEach(e => e.remove());
  const cells = [...document.querySelectorAll('td, th, caption')].map(c => c.innerText);
  const headings = [...document.querySelectorAll('h2, h3')].map(h => h.innerText.trim());
  return {cells, headings, all: document.body.innerText};
}"""


def _pdf_text(pdf: Path) -> str:
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext is needed (Debian's poppler-utils; `make browser` installs it)"
    return subprocess.run([exe, "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", REPORTS)
def test_every_table_word_and_number_is_whole_in_the_pdf(run, browser, name):
    folder = run[name]
    page = _open(browser, _file(folder, name, ".html"), 794, media="print")
    text = page.evaluate(_TABLE_TEXT)
    page.close()
    in_tables = {t for cell in text["cells"] for t in tokens(cell)}
    on_page = collections.Counter(tokens(text["all"]))
    in_pdf = collections.Counter(tokens(_pdf_text(_file(folder, name, ".pdf"))))
    assert len(in_tables) > 30
    broken = sorted(t for t in in_tables if in_pdf[t] < on_page[t])
    assert not broken, (f"{name}.pdf: these table words or numbers are split (found fewer times in the PDF "
                        f"than on the page): {broken[:20]}")
    # No heading left at the foot of a page with what it heads on the next.
    headings = [" ".join(h.split()) for h in text["headings"] if h.strip()]
    for number, sheet in enumerate(_pdf_text(_file(folder, name, ".pdf")).split("\f")[:-1], start=1):
        lines = [ln.strip() for ln in sheet.splitlines() if ln.strip() and not re.match(r"Page \d+ of \d+$", ln.strip())]
        last = " ".join(lines[-2:])
        orphan = [h for h in headings if last.endswith(h)]
        assert not orphan, f"{name}.pdf page {number} ends with the heading {orphan}"


# ---------------------------------------------------------------------------- phone
_BROKEN_WORDS = r"""() => {
  // Each word of each table cell must sit on one line: a word split over two lines has
  // two client rectangles. Words may break after a hyphen or dash between letters, or a slash.
  const broken = [];
  const split = /(?<=[\p{L}][-\u2013\u2014])(?=\p{L})|(?<=[\u2013\u2014\/])(?=\S)/u;
  for (const cell of document.querySelectorAll('td, th')) {
    if (cell.closest('.visually-hidden')) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\S+/g; let m;
      while ((m = re.exec(node.data))) {
        let start = m.index;
        for (const part of m[0].split(split)) {
          const r = document.createRange();
          r.setStart(node, start); r.setEnd(node, start + part.length);
          const lines = new Set([...r.getClientRects()].filter(q => q.width > 0).map(q => Math.round(q.top)));
          if (lines.size > 1) broken.push(part);
          start += part.length;
        }
      }
    }
  }
  return broken;
}"""

_CLIPPED = """() => {
  // Anything wider than its box must be in a box that scrolls, shows the scroll shadows
  // and can be focused; nothing may make the page itself scroll sideways.
  const bad = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
  for (const e of document.body.querySelectorAll('*')) {
    if (e.scrollWidth <= e.clientWidth + 1 || e.clientWidth === 0) continue;
    const cs = getComputedStyle(e);
    if (cs.display === 'inline' || e.closest('svg, .visually-hidden')) continue;
    const name = e.tagName + '.' + e.className;
    if (!['auto', 'scroll'].includes(cs.overflowX)) {
      if (cs.overflowX !== 'visible') bad.push('clipped: ' + name);
      continue;
    }
    if (!e.matches('.evl-scroll, .evl-figure')) bad.push('scrolls with no cue: ' + name);
    else if (!cs.backgroundImage.includes('radial-gradient')) bad.push('no scroll shadow: ' + name);
    if (e.tabIndex < 0) bad.push('cannot be scrolled from the keyboard: ' + name);
  }
  return bad;
}"""


@pytest.mark.parametrize("name", REPORTS)
def test_phone_layout_breaks_no_word_and_clips_nothing(run, browser, name):
    folder = run[name]
    page = _open(browser, _file(folder, name, ".html"), 390)
    broken = page.evaluate(_BROKEN_WORDS)
    clipped = page.evaluate(_CLIPPED)
    scrolls = page.evaluate("() => [...document.querySelectorAll('.evl-scroll')]"
                            ".filter(e => e.scrollWidth > e.clientWidth + 1).length")
    page.close()
    assert not broken, f"{name} at 390 px: words broken across lines in table cells: {broken[:20]}"
    assert not clipped, f"{name} at 390 px: {clipped[:10]}"
    assert scrolls >= 1, "at 390 px at least one table is wider than the screen: the check must see it scroll"


def test_desktop_shows_every_column_of_the_service_tables(run, browser):
    page = _open(browser, _file(run["service_outputs"], "service_outputs", ".html"), 1366)
    hidden = page.evaluate("() => [...document.querySelectorAll('.evl-scroll')]"
                           ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.getAttribute('aria-label'))")
    clipped = page.evaluate(_CLIPPED)
    page.close()
    assert not hidden, f"at 1366 px these tables hide columns in a scroll box: {hidden}"
    assert not clipped


# ---------------------------------------------------------------------------- axe-core
def _axe(browser, path: Path, script: Path, width: int) -> list[str]:
    page = _open(browser, path, width)
    page.add_script_tag(path=str(script))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    page.close()
    return [f"{v['id']} ({v['impact']}): {v['help']} - {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical", "moderate")]


@pytest.mark.parametrize("width", [1366, 390])
def test_axe_finds_no_serious_or_moderate_violation_in_any_report_or_the_index(run, browser, axe_script, width):
    found = {name: _axe(browser, _file(run[name], name, ".html"), axe_script, width) for name in REPORTS}
    found["index"] = _axe(browser, run["index"] / "index.html", axe_script, width)
    assert not any(found.values()), {k: v for k, v in found.items() if v}
