"""The Chromium that prints a process's reports (evallib.browser).

One browser serves every print of a process, each on a fresh page, through a pipe (no
DevTools port); PDFs keep the print CSS's page-margin boxes ("Page N of M", the running
title) and are tagged; no browser outlives its process, even one killed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
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


def browser_pids(session) -> list[int]:
    """The processes of this session's Chromium (its marker is on their command lines)."""
    out = subprocess.run(["pgrep", "-f", "--", session.marker], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def listening_ports(pids: list[int]) -> list[str]:
    """TCP sockets the processes listen on (a DevTools port would be one)."""
    inodes = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:   # 0A: LISTEN
                listening.append(cols[1])
    return listening


def pages_text(pdf: Path) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(pdf).pages]


def test_one_browser_prints_every_report_each_on_a_fresh_page(html, tmp_path):
    pdfs = [html_to_pdf(html, tmp_path / f"r{i}.pdf") for i in range(3)]
    session = browser._session()
    pids = browser_pids(session)
    assert pids, "no browser of this process's found"
    images = first_page_images(html, pdfs[0])
    picture = images["png"].read_bytes()
    images["png"].unlink()
    report = print_report(html, tmp_path / "one-load.pdf")
    assert sorted(report) == ["pdf", "pdf_png", "png"]     # PDF and pictures from one page load
    assert report["png"].read_bytes() == picture            # the same picture as a fresh page's
    pdfs.append(report["pdf"])
    assert browser._session() is session and browser_pids(session) == pids   # the same browser
    assert session.browser.contexts == []                   # each print's context closed
    assert listening_ports(pids) == []                      # a pipe, no DevTools port
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

    async def in_a_notebook():   # Jupyter runs code inside an asyncio loop
        return html_to_pdf(html, tmp_path / "c.pdf")

    assert asyncio.run(in_a_notebook()).exists() and browser_pids(session) == pids
    thread = session.thread
    browser.close()
    assert browser_pids(session) == []
    thread.join(5)
    assert not thread.is_alive()   # the thread that drove Playwright has ended too


def test_a_worker_starts_its_browser_while_its_notebook_runs():
    browser.prepare(find_chromium())   # returns at once
    session = browser._session()
    deadline = time.monotonic() + 60
    while not browser_pids(session) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert browser_pids(session)


def test_a_killed_process_leaves_no_browser(html, tmp_path):
    script = (f"from evallib.runner import html_to_pdf; from evallib import browser; import sys, time\n"
              f"html_to_pdf({str(html)!r}, {str(tmp_path / 'k.pdf')!r})\n"
              "print(browser._session().marker, flush=True); time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    marker = proc.stdout.readline().strip()
    assert marker.startswith("--evallib-browser=")
    running = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True, text=True).stdout.split()
    assert running
    proc.kill()          # kill -9: no atexit, no clean-up of its own
    proc.wait()
    deadline = time.monotonic() + 20
    while running and time.monotonic() < deadline:
        time.sleep(0.2)
        running = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True, text=True).stdout.split()
    assert not running, "the browser outlived its process"


def test_a_broken_browser_is_refused_before_the_run(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(runner.RunnerError, match="(?s)did not start.*cannot open display.*--format html"):
        runner._check_browser(str(fake))


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
