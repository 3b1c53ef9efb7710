"""The one Chromium that prints a run's reports (evallib.browser).

One browser serves every print, each on a fresh page; PDFs keep the print CSS's
page-margin boxes ("Page N of M", the running title) and are tagged; a process with no
reachable browser starts its own once; and no browser outlives its run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

import pypdf
import pytest

from evallib import browser, runner
from evallib.runner import (
    ChromiumNotFoundError,
    find_chromium,
    first_page_images,
    html_to_pdf,
    print_report,
)

PAGE = """<!doctype html><html lang="en"><head><title>Running title</title><style>
@page { size: A4; margin: 20mm;
  @top-left { content: "Running title"; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); } }
@page :first { @top-left { content: none; } }
p { height: 180mm; }
</style></head><body><h1>Report</h1><p id="state">unset</p><p>second page</p>
<script>
  // A page that finds what an earlier one left has shared its browser state.
  document.getElementById("state").textContent =
    localStorage.getItem("seen") || document.cookie ? "STATE LEAKED" : "FRESH PAGE";
  localStorage.setItem("seen", "1"); document.cookie = "seen=1";
</script></body></html>"""


@pytest.fixture
def html(tmp_path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(PAGE, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fresh_session():
    browser.close()   # each test starts with no connection, and leaves none
    yield
    browser.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                          text=True).stdout.strip()[:1] not in ("Z", "")


def chromiums_using(folder: Path) -> list[str]:
    """Processes whose command line names the folder (a browser and its helpers)."""
    out = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True).stdout
    return out.split()


def pages_text(pdf: Path) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(pdf).pages]


def test_one_browser_prints_every_report_each_on_a_fresh_page(html, tmp_path):
    with browser.Chromium(find_chromium()) as chrome:
        assert chrome.endpoint.startswith("ws://127.0.0.1:")
        pdfs = [html_to_pdf(html, tmp_path / f"r{i}.pdf", browser=chrome.endpoint) for i in range(3)]
        images = first_page_images(html, pdfs[0], browser=chrome.endpoint)
        picture = images["png"].read_bytes()
        images["png"].unlink()
        report = print_report(html, tmp_path / "one-load.pdf", browser=chrome.endpoint)
        assert sorted(report) == ["pdf", "pdf_png", "png"]     # PDF and pictures from one page load
        assert report["png"].read_bytes() == picture            # the same picture as a fresh page's
        pdfs.append(report["pdf"])
        session = browser._session()
        assert session.own is None and session.endpoint == chrome.endpoint   # no browser of its own
        assert session.browser.contexts == [session.browser.contexts[0]]     # each print's context closed
        for pdf in pdfs:
            text = pages_text(pdf)
            assert len(text) == 2, pdf
            assert "Page 1 of 2" in text[0] and "Page 2 of 2" in text[1]
            assert "Running title" in text[1] and "Running title" not in text[0].replace("Report", "")
            assert "FRESH PAGE" in text[0] and "LEAKED" not in text[0]
            assert "file:" not in "".join(text) and str(tmp_path) not in "".join(text)  # no header/footer
            assert "/StructTreeRoot" in pypdf.PdfReader(pdf).trailer["/Root"]          # tagged
        with open(images["png"], "rb") as fh:
            head = fh.read(24)
        assert (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")) == browser.SCREEN
        pid, folder = chrome.process.pid, chrome.folder
        assert alive(pid)
    assert not alive(pid) and not folder.exists() and not chromiums_using(folder)


def test_a_worker_connects_while_its_notebook_runs():
    with browser.Chromium(find_chromium()) as chrome:
        browser.prepare(chrome.endpoint, find_chromium())   # returns at once
        session = browser._session()
        deadline = time.monotonic() + 30
        while session.endpoint != chrome.endpoint and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.endpoint == chrome.endpoint and session.own is None
        browser.close()


def test_without_a_reachable_browser_a_process_starts_its_own_once(html, tmp_path):
    nowhere = "ws://127.0.0.1:9/devtools/browser/none"   # e.g. a worker on another machine
    html_to_pdf(html, tmp_path / "a.pdf", browser=nowhere)
    own = browser._session().own
    assert own is not None and alive(own.process.pid)
    html_to_pdf(html, tmp_path / "b.pdf")            # standalone: the same browser again
    first_page_images(html, tmp_path / "b.pdf")
    assert browser._session().own is own

    async def in_a_notebook():   # Jupyter runs code inside an asyncio loop
        return html_to_pdf(html, tmp_path / "c.pdf")

    assert asyncio.run(in_a_notebook()).exists() and browser._session().own is own
    assert "FRESH PAGE" in pages_text(tmp_path / "b.pdf")[0]
    thread = browser._session().thread
    browser.close()
    assert not alive(own.process.pid) and not chromiums_using(own.folder)
    thread.join(5)
    assert not thread.is_alive()   # the thread that drove Playwright has ended too


def test_the_run_browser_is_closed_when_the_run_fails(tmp_path):
    with pytest.raises(KeyboardInterrupt), runner._run_browser(find_chromium()) as chrome:
        port = int(chrome.endpoint.split(":")[2].split("/")[0])
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert alive(chrome.process.pid) and chromiums_using(chrome.folder)
        raise KeyboardInterrupt   # Ctrl-C in the middle of a run
    assert not alive(chrome.process.pid) and not chromiums_using(chrome.folder)
    assert not chrome.folder.exists()
    with pytest.raises(ConnectionRefusedError):   # nothing listens there any more
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_broken_browser_is_refused_before_the_run(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(runner.RunnerError, match="(?s)exit code 3.*cannot open display.*--format html"), \
            runner._run_browser(str(fake)):
        pass


def test_errors_say_what_failed(html, tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match="did not print .*missing.html to PDF"):
        html_to_pdf(tmp_path / "missing.html", tmp_path / "m.pdf")
    hang = tmp_path / "hang.html"
    hang.write_text("<html><body>x<script>while (true) {}</script></body></html>", encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="took over 2s to print .*hang.html"):
        html_to_pdf(hang, tmp_path / "h.pdf", timeout=2)
    assert time.monotonic() - start < 20
    assert html_to_pdf(html, tmp_path / "after.pdf").exists()   # the browser still prints
    monkeypatch.delenv("EVALLIB_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ChromiumNotFoundError, match="apt-get install chromium"):
        html_to_pdf(html, tmp_path / "n.pdf")
