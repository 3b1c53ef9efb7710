"""The headless browser that prints reports: one Chromium per worker, kept for its run.

Why: starting Chromium and Playwright's driver costs about half a second, and every
report is printed (its A4 PDF and a picture of its first screen). A process prints
through one Chromium that it starts once (:func:`prepare` starts it in the background
while the report's notebook runs) and keeps until it exits; each print gets a fresh
browser context, so no cookies, storage or cache pass from one report to the next.
A run's workers are long-lived (:mod:`evallib.workers`), so a run starts one Chromium
per worker, not one per report.

The browser is always the installed Chromium (:func:`evallib.runner.find_chromium`,
Debian's ``chromium``), never one Playwright downloads. Playwright talks to it over a
pipe (``--remote-debugging-pipe``), not a DevTools port: a port, even on 127.0.0.1,
would let any local user drive a browser that can read the case-level data's files.
The browser ends with its process (Playwright's driver closes it when the process
exits, even when killed). Playwright is driven from one thread of its own in each
process, so printing works from any thread, from inside a running asyncio loop
(Jupyter), and a stuck print can be given up after its timeout.
"""

from __future__ import annotations

import atexit
import os
import queue
import signal
import subprocess
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

__all__ = ["print_pdf", "screenshot", "prepare", "check", "close", "FLAGS", "SCREEN"]

#: Command-line flags for printing unattended: no sandbox (containers), no GPU, no
#: network chatter, no first-run pages, no scrollbars in pictures. Playwright adds
#: ``--headless``, its pipe and a throw-away profile folder.
FLAGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio",
    "--hide-scrollbars",
)

#: The first screen pictured for reviewers, in pixels (width, height).
SCREEN = (1000, 1400)


class _Session:
    """This process's browser, kept for every print, and the one thread that drives
    Playwright (whose objects belong to the thread that made them)."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[Callable[[], Any], Future]] = queue.Queue()
        self.playwright: Any = None
        self.browser: Any = None       # Playwright's Browser, launched by this session
        self.executable = ""           # the program it runs
        # Chromium ignores switches it does not know: this one finds the browser's
        # processes (to stop a browser stuck in a print, and for the tests).
        self.marker = f"--evallib-browser={os.getpid()}-{os.urandom(4).hex()}"
        self.thread = threading.Thread(target=self._serve, name="evallib-browser", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        fn = None
        while fn != self.shutdown:   # the session's last call
            fn, fut = self.calls.get()
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as exc:  # handed to the caller
                    fut.set_exception(exc)

    def call(self, fn: Callable[[], Any], timeout: float | None) -> Any:
        fut: Future = Future()
        self.calls.put((fn, fut))
        return fut.result(timeout)

    # Everything below runs on the session's own thread.
    def connect(self, executable: str) -> Any:
        """This process's browser, started on first use (or again if it has died)."""
        if self.browser is not None and self.browser.is_connected() and self.executable == executable:
            return self.browser
        self.disconnect()
        if self.playwright is None:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
        try:
            self.browser = self.playwright.chromium.launch(
                executable_path=executable, args=[*FLAGS, self.marker], timeout=60_000)
        except Exception as exc:
            lines = [ln for ln in str(getattr(exc, "message", exc)).splitlines()
                     if ln.strip() and "Call log" not in ln]
            raise RuntimeError(f"Chromium ({executable}) did not start:\n" + "\n".join(lines[:12])) from None
        self.executable = executable
        return self.browser

    def disconnect(self) -> None:
        if self.browser is not None:
            try:
                self.browser.close()   # launched by this session: the browser ends
            except Exception:
                _kill(self.marker)
        self.browser, self.executable = None, ""

    def shutdown(self) -> None:
        self.disconnect()
        if self.playwright is not None:
            try:
                self.playwright.stop()
            except Exception:
                pass
            self.playwright = None


def _kill(marker: str) -> None:
    """Stop the browser processes started with ``marker``."""
    out = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True, text=True, check=False).stdout
    for pid in out.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass


_SESSION: _Session | None = None
_LOCK = threading.Lock()


def _session() -> _Session:
    global _SESSION
    with _LOCK:
        if _SESSION is None:
            _SESSION = _Session()
        return _SESSION


def close() -> None:
    """Stop this process's browser and Playwright's driver.

    Called at exit; the next print starts a browser again.
    """
    global _SESSION
    with _LOCK:
        session, _SESSION = _SESSION, None
    if session is None:
        return
    try:
        session.call(session.shutdown, timeout=30)
    except FutureTimeout:
        _abandon(session)


def _abandon(session: _Session) -> None:
    """Give up a session whose thread is stuck in a print: stop its browser (which ends
    the print), and let the thread shut down when it is free."""
    global _SESSION
    with _LOCK:
        if _SESSION is session:
            _SESSION = None
    session.calls.put((session.shutdown, Future()))
    _kill(session.marker)


atexit.register(close)


def prepare(chromium: str) -> None:
    """Start this process's browser in the background, while the report's notebook
    runs, so that its print finds the browser ready. Does not wait; what goes wrong is
    left for the print to report."""
    session = _session()
    session.calls.put((lambda: session.connect(chromium), Future()))


def check(chromium: str, timeout: float = 90) -> None:
    """Start (or find running) this process's browser and wait for it: a broken
    Chromium is then found before a run, not at its first report.

    Raises
    ------
    RuntimeError
        If Chromium does not start, with its error lines.
    """
    session = _session()
    session.call(lambda: session.connect(chromium), timeout)


def _on_page(html: Path, executable: str, timeout: float, what: str,
             act: Callable[[Any], Any]) -> Any:
    """Open ``html`` in a fresh context of this process's browser and ``act`` on the page;
    ``what`` says what for in errors (``"print {} to PDF"``, ``{}`` the file)."""
    session = _session()

    def work() -> Any:
        browser = session.connect(executable)
        context = browser.new_context(viewport={"width": SCREEN[0], "height": SCREEN[1]},
                                      device_scale_factor=1)
        try:
            page = context.new_page()
            page.set_default_timeout(timeout * 1000)
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            return act(page)
        finally:
            context.close()

    slow = RuntimeError(f"Chromium took over {timeout:.0f}s to {what.format(html)}")
    try:
        # Playwright's own timeout stops a slow page; this one, a browser that hangs.
        return session.call(work, timeout + 30)
    except FutureTimeout:
        _abandon(session)  # the next print starts a browser afresh
        raise slow from None
    except Exception as exc:
        if type(exc).__name__ == "TimeoutError" and type(exc).__module__.startswith("playwright"):
            raise slow from None
        if type(exc).__module__.startswith("playwright"):
            message = str(getattr(exc, "message", exc)).strip().splitlines()
            raise RuntimeError(f"Chromium ({executable}) did not {what.format(html)}:\n"
                               + "\n".join(message[:10])) from None
        raise


def print_pdf(html: str | Path, pdf: str | Path, *, chromium: str, timeout: float = 180,
              picture: str | Path | None = None) -> Path:
    """Print ``html`` to ``pdf`` as Chromium's ``--print-to-pdf --no-pdf-header-footer`` does.

    Page size and margins come from the page's ``@page`` CSS (A4, landscape pages
    included), with backgrounds, and without Chromium's own header and footer (which
    would show the file's path); page numbers and the running title are the CSS's
    page-margin boxes. The PDF is tagged (its structure and language kept for screen
    readers), as Chromium's own print is.

    Parameters
    ----------
    chromium : str
        The program this process's browser runs (started on first use).
    picture : path, optional
        Also save the first screen here, as :func:`screenshot` does, from the same page
        (the page is loaded once); if that fails, a warning says why.

    Raises
    ------
    RuntimeError
        If the page cannot be loaded or printed, or printing takes over ``timeout`` s.
    """
    html, target = Path(html).resolve(), Path(pdf).resolve()

    def act(page: Any) -> None:
        page.pdf(path=str(target), prefer_css_page_size=True, print_background=True,
                 display_header_footer=False, tagged=True)
        if picture is not None:
            try:
                page.screenshot(path=str(picture))
            except Exception as exc:  # a picture for reviewers: its lack must not fail the PDF
                warnings.warn(f"Chromium did not take a picture of {html}: {exc}", RuntimeWarning,
                              stacklevel=1)

    _on_page(html, chromium, timeout, "print {} to PDF", act)
    if not target.exists() or target.stat().st_size == 0:
        raise RuntimeError(f"Chromium ({chromium}) wrote no PDF for {html}")
    return target


def screenshot(html: str | Path, png: str | Path, *, chromium: str, timeout: float = 120) -> Path:
    """A picture of the first screen of ``html`` (:data:`SCREEN` pixels, no scrollbars).

    Takes the same arguments, and raises the same errors, as :func:`print_pdf`.
    """
    html, target = Path(html).resolve(), Path(png).resolve()
    _on_page(html, chromium, timeout, "take a picture of {}",
             lambda page: page.screenshot(path=str(target)))
    return target


