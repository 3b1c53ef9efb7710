"""The headless browser that prints reports: one Chromium kept open for a whole run.

Why: starting Chromium costs about a second, and every report is printed twice (its A4
PDF and a picture of its first screen). :func:`evallib.runner.execute` starts one
:class:`Chromium` for the run and hands its DevTools endpoint (``ws://127.0.0.1:...``)
to the workers. A worker process connects once (Playwright over the Chrome DevTools
Protocol) and keeps the connection for every report it prints; each print gets a fresh
browser context, so no cookies, storage or cache pass from one report to the next. A
process that cannot reach the endpoint (a Dask worker on another machine), or that
prints without a run (``html_to_pdf`` by hand), starts its own Chromium once and keeps
it until it exits.

The browser is always the installed Chromium (:func:`evallib.runner.find_chromium`,
Debian's ``chromium``), never one Playwright downloads. Its DevTools port listens on
127.0.0.1 only, and only while the run lasts. Playwright is driven from one thread of
its own in each process, so printing works from any thread, from inside a running
asyncio loop (Jupyter), and a stuck print can be given up after its timeout.
"""

from __future__ import annotations

import atexit
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

__all__ = ["Chromium", "print_pdf", "screenshot", "prepare", "close", "FLAGS", "SCREEN"]

#: Command-line flags for printing unattended: no sandbox (containers), no GPU, no
#: network chatter, no first-run pages, no scrollbars in pictures.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio",
    "--hide-scrollbars",
)

#: The first screen pictured for reviewers, in pixels (width, height).
SCREEN = (1000, 1400)

_NOISE = ("dbus", "Fontconfig", "DevTools listening", "unexpected operator")


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, what makes a child stop when the thread that started it dies (even
    killed): ``prctl(PR_SET_PDEATHSIG)``, looked up here because the child may only
    call it (nothing that could take a lock) between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(1, signal.SIGTERM)


class Chromium:
    """A headless Chromium with a DevTools endpoint, for as long as this object is open.

    Use as a context manager (or call :meth:`close`): the browser and its throw-away
    profile folder are removed on exit, also on Ctrl-C or an error. On Linux the
    browser also stops if the thread that started it dies, so a killed run leaves no
    browser behind.

    Parameters
    ----------
    executable : str
        The Chromium program (:func:`evallib.runner.find_chromium`).
    timeout : float
        Seconds to wait for the browser to start.

    Raises
    ------
    RuntimeError
        If the browser does not start; the message has its last error lines.
    """

    def __init__(self, executable: str, *, timeout: float = 60) -> None:
        self.executable = executable
        self.folder = Path(tempfile.mkdtemp(prefix="evallib-chromium-"))
        self._log_path = self.folder / "chromium.log"
        self.endpoint = ""
        with open(self._log_path, "wb") as log:
            self.process = subprocess.Popen(
                [executable, *FLAGS, "--remote-debugging-port=0",
                 f"--user-data-dir={self.folder / 'profile'}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the run, which then closes the browser
                preexec_fn=_die_with_parent(),
            )
        try:
            self.endpoint = self._wait_for_endpoint(timeout)
        except BaseException:
            self.close()
            raise

    def _wait_for_endpoint(self, timeout: float) -> str:
        """Chromium writes its port and browser path to ``DevToolsActivePort`` once listening."""
        port_file = self.folder / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium ({self.executable}) stopped as it started (exit code "
                                   f"{self.process.returncode}):\n{self.errors()}")
            time.sleep(0.02)
        raise RuntimeError(f"Chromium ({self.executable}) did not start within {timeout:.0f}s:\n{self.errors()}")

    def errors(self) -> str:
        """The browser's last error lines, without the harmless ones."""
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if ln.strip() and not any(n in ln for n in _NOISE)]
        return "\n".join(lines[-10:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """Stop the browser (politely, then by force) and remove its profile folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Session:
    """This process's connection to a browser, kept for every print, and the one thread
    that drives Playwright (whose objects belong to the thread that made them)."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[Callable[[], Any], Future]] = queue.Queue()
        self.playwright: Any = None
        self.browser: Any = None       # Playwright's Browser, connected over CDP
        self.endpoint = ""             # what it is connected to
        self.own: Chromium | None = None  # the Chromium this process started, if any
        self.unreachable: set[str] = set()
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
    def connect(self, endpoint: str | None, executable: str) -> Any:
        """The run's browser at ``endpoint`` if it can be reached, else this process's own."""
        if self.playwright is None:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
        if endpoint and endpoint not in self.unreachable:
            if self.endpoint == endpoint and self.browser.is_connected():
                return self.browser
            self.disconnect()
            try:
                self.browser = self.playwright.chromium.connect_over_cdp(endpoint, timeout=15_000)
                self.endpoint = endpoint
                return self.browser
            except Exception:
                self.unreachable.add(endpoint)  # e.g. a worker on another machine
        if self.own is not None and self.own.alive() and self.endpoint == self.own.endpoint \
                and self.browser.is_connected():
            return self.browser
        self.disconnect()
        if self.own is None or not self.own.alive():
            if self.own is not None:
                self.own.close()
            self.own = Chromium(executable)
        self.browser = self.playwright.chromium.connect_over_cdp(self.own.endpoint, timeout=15_000)
        self.endpoint = self.own.endpoint
        return self.browser

    def disconnect(self) -> None:
        if self.browser is not None:
            try:
                self.browser.close()  # over CDP: drops the connection, the browser stays
            except Exception:
                pass
        self.browser, self.endpoint = None, ""

    def shutdown(self) -> None:
        self.disconnect()
        if self.playwright is not None:
            try:
                self.playwright.stop()
            except Exception:
                pass
            self.playwright = None
        if self.own is not None:
            self.own.close()
            self.own = None


_SESSION: _Session | None = None
_LOCK = threading.Lock()


def _session() -> _Session:
    global _SESSION
    with _LOCK:
        if _SESSION is None:
            _SESSION = _Session()
        return _SESSION


def close() -> None:
    """Drop this process's browser connection and stop any Chromium it started.

    Called at exit; the next print connects (or starts a browser) again.
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
    """Give up a session whose thread is stuck in a print: stop the browser this process
    started (which ends the print), and let the thread shut down when it is free."""
    global _SESSION
    with _LOCK:
        if _SESSION is session:
            _SESSION = None
    session.calls.put((session.shutdown, Future()))
    if session.own is not None:
        session.own.close()


atexit.register(close)


def prepare(endpoint: str | None, chromium: str) -> None:
    """Connect to the browser (or start this process's own) in the background, while
    the report's notebook runs, so that its print finds the browser ready. Does not
    wait; what goes wrong is left for the print to report."""
    session = _session()
    session.calls.put((lambda: session.connect(endpoint, chromium), Future()))


def _on_page(html: Path, executable: str, endpoint: str | None, timeout: float, what: str,
             act: Callable[[Any], Any]) -> Any:
    """Open ``html`` in a fresh context of this process's browser and ``act`` on the page;
    ``what`` says what for in errors (``"print {} to PDF"``, ``{}`` the file)."""
    session = _session()

    def work() -> Any:
        browser = session.connect(endpoint, executable)
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
        _abandon(session)  # the next print connects afresh
        raise slow from None
    except Exception as exc:
        if type(exc).__name__ == "TimeoutError" and type(exc).__module__.startswith("playwright"):
            raise slow from None
        if type(exc).__module__.startswith("playwright"):
            message = str(getattr(exc, "message", exc)).strip().splitlines()
            raise RuntimeError(f"Chromium ({executable}) did not {what.format(html)}:\n"
                               + "\n".join(message[:10])) from None
        raise


def print_pdf(html: str | Path, pdf: str | Path, *, chromium: str, endpoint: str | None = None,
              timeout: float = 180, picture: str | Path | None = None) -> Path:
    """Print ``html`` to ``pdf`` as Chromium's ``--print-to-pdf --no-pdf-header-footer`` does.

    Page size and margins come from the page's ``@page`` CSS (A4, landscape pages
    included), with backgrounds, and without Chromium's own header and footer (which
    would show the file's path); page numbers and the running title are the CSS's
    page-margin boxes. The PDF is tagged (its structure and language kept for screen
    readers), as Chromium's own print is.

    Parameters
    ----------
    chromium : str
        The program to start when no browser is reachable at ``endpoint``.
    endpoint : str, optional
        The run's browser (:attr:`Chromium.endpoint`).
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

    _on_page(html, chromium, endpoint, timeout, "print {} to PDF", act)
    if not target.exists() or target.stat().st_size == 0:
        raise RuntimeError(f"Chromium ({chromium}) wrote no PDF for {html}")
    return target


def screenshot(html: str | Path, png: str | Path, *, chromium: str, endpoint: str | None = None,
               timeout: float = 120) -> Path:
    """A picture of the first screen of ``html`` (:data:`SCREEN` pixels, no scrollbars).

    Takes the same arguments, and raises the same errors, as :func:`print_pdf`.
    """
    html, target = Path(html).resolve(), Path(png).resolve()
    _on_page(html, chromium, endpoint, timeout, "take a picture of {}",
             lambda page: page.screenshot(path=str(target)))
    return target


