"""Long-lived worker processes and warm kernels: the costs of a run paid once, not per report.

Why: a report's own computation is a few seconds; starting a Python process for it
(importing papermill, nbconvert, jsonschema) and a kernel that then imports pandas,
scipy, statsmodels and matplotlib cost about as much again. So:

- each of a run's ``n_jobs`` workers is one process (``python -m evallib.workers``)
  that serves job after job: it reads one job per line on its standard input and
  answers one line per job on its standard output (the result itself goes to a file).
  It exits when its standard input closes, so it ends with the run; it holds the
  output folder's lock (inherited descriptors) while it works. The run's thread pool
  still decides which job runs when; a worker is only reused. A worker that dies
  (a notebook that ends its process, a kernel that takes it down) fails its own job
  with the end of its log, and a fresh worker takes the next job.
- each worker starts the kernel for its *next* job while the current one runs, and
  has it import the libraries the reports use (silently: execution counts still
  start at 1). A kernel runs exactly one notebook and is then shut down, so reports
  share no state.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["WorkerPool", "Kernels", "WARM_IMPORTS", "FIGURE_IMPORTS"]

#: What a warm kernel imports before its notebook is given to it: what every report
#: notebook imports (measured: the modules loaded by each of the suite's notebooks), so
#: the work is never wasted when the machine is busy. Not ``statsmodels.api`` (no report
#: imports it: about a second each time), nor ``matplotlib.pyplot`` or ``evallib.figures``:
#: importing pyplot picks matplotlib's backend (with ipykernel's inline backend it also
#: sets up figure display) and ``evallib.figures`` selects Agg, so a notebook would see
#: another matplotlib than a fresh kernel gives it.
WARM_IMPORTS: tuple[str, ...] = (
    "pandas", "numpy", "scipy.stats", "scipy.optimize", "pyarrow.parquet", "jinja2", "yaml", "pydantic",
    "IPython.display", "evallib", "evallib.notebook", "evallib.outputs", "evallib.present", "evallib.params",
    "evallib.schemas", "evallib.snapshot", "evallib.disclosure", "evallib.stats", "evallib.reports.gate",
    "evallib.runner",
)
#: Imported too when the next notebook draws figures: matplotlib's heavy parts (figures,
#: fonts, Agg), none of which picks a backend.
FIGURE_IMPORTS: tuple[str, ...] = (
    "matplotlib", "matplotlib.figure", "matplotlib.font_manager", "matplotlib.backends.backend_agg",
)


def _warm_code(notebook: str | None) -> str:
    """The warm-up for a kernel whose notebook is probably ``notebook`` (a guess: it
    changes only how much is imported ahead, never what the notebook sees)."""
    modules = list(WARM_IMPORTS)
    try:
        text = Path(notebook).read_text(encoding="utf-8") if notebook else ""
    except OSError:
        text = ""
    if "matplotlib" in text or "figures" in text:
        modules += FIGURE_IMPORTS
    # Each on its own: a module that fails to import here is imported (and its error
    # shown) by the notebook itself.
    return "\n".join(f"try:\n    import {m}\nexcept Exception:\n    pass" for m in modules)


_LOG_TAIL = 15


# --------------------------------------------------------------------------- kernels
class Kernels:
    """The kernels of one worker process: the one running now and a warm one for next.

    ``home`` holds the kernelspec that pins ``python3`` to this interpreter
    (:func:`evallib.runner._ensure_kernel`) and the kernels' connection files.
    """

    def __init__(self, home: Path) -> None:
        from evallib.runner import _ensure_kernel

        self.kernel_name = _ensure_kernel(home)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(home)
        self._next: Any = None
        self._live: list[Any] = []

    def take(self, cwd: Path) -> Any:
        """A started kernel (manager) for a notebook in ``cwd``: the warm one if it fits."""
        km, self._next = self._next, None
        if km is not None and (km.evallib_cwd != str(cwd) or not _alive(km)):
            self.release(km)
            km = None
        return km if km is not None else self._start(cwd)

    def warm(self, cwd: Path, notebook: str | None = None) -> None:
        """Start the next job's kernel now, importing the libraries in the background
        (:func:`_warm_code`; ``notebook``: the notebook it will probably run)."""
        if self._next is None:
            self._next = self._start(cwd, notebook)

    def release(self, km: Any) -> None:
        """Shut a kernel down after its one notebook (or unused), and free its sockets."""
        from jupyter_core.utils import run_sync

        kc = getattr(km, "evallib_kc", None)
        try:
            if kc is not None:
                kc.stop_channels()
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # already dead: make sure its process is gone
            with contextlib.suppress(Exception):
                run_sync(km.cleanup_resources)()
        finally:
            if km in self._live:
                self._live.remove(km)
            if getattr(km, "_created_context", False) and not km.context.closed:
                km.context.destroy(linger=0)  # the notebook client's sockets with it

    def close(self) -> None:
        """Shut down every kernel this worker started that is still running."""
        self._next = None
        for km in list(self._live):
            self.release(km)

    def _start(self, cwd: Path, notebook: str | None = None) -> Any:
        from jupyter_client import AsyncKernelManager
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_core.utils import run_sync

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        # As nbclient starts a kernel: IPython's history in memory, not in ~/.ipython.
        run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"])
        self._live.append(km)
        km.evallib_cwd = str(cwd)
        kc = BlockingKernelClient()
        kc.load_connection_info(km.get_connection_info())
        kc.start_channels(hb=False)
        kc.execute(_warm_code(notebook), silent=True, store_history=False, allow_stdin=False)
        km.evallib_kc = kc
        return km


def _alive(km: Any) -> bool:
    from jupyter_core.utils import run_sync

    try:
        return bool(run_sync(km.is_alive)())
    except Exception:
        return False


# --------------------------------------------------------------------------- the worker process
def serve(work: Path) -> int:
    """The worker process: run each job read from standard input, until it closes.

    Standard output is kept for the answers (one line per job); everything else the
    process or its kernels print goes to standard error (the worker's log).
    """
    from evallib.runner import _job_from_dict, _run_job, _write_result, skip_iri_format_checks

    skip_iri_format_checks()
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    kernels = Kernels(Path(tempfile.mkdtemp(prefix="evallib-kernel-", dir=work)))
    try:
        while line := sys.stdin.readline():
            spec = json.loads(line)
            result = _run_job(_job_from_dict(spec["job"]), spec["browser"], spec["timeout"],
                              kernels=kernels, warm_next=spec.get("warm_next"))
            _write_result(result, Path(spec["answer"]))
            answers.write(json.dumps({"pid": os.getpid(), "answer": spec["answer"]}) + "\n")
    finally:
        kernels.close()
    return 0


# --------------------------------------------------------------------------- the run's side
class _Worker:
    def __init__(self, work: Path, number: int, cwd: Path, keep_fds: Sequence[int]) -> None:
        from evallib.runner import repo_root

        self.log = work / f"worker-{number}.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(repo_root()), *filter(None, [env.get("PYTHONPATH")])])
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "evallib.workers", str(work)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=fh,
                                         env=env, cwd=str(cwd), pass_fds=tuple(keep_fds), text=True,
                                         encoding="utf-8")

    def run(self, spec: dict[str, Any]) -> dict[str, Any] | None:
        """Hand the worker one job; its answer, or ``None`` if it died first."""
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def log_from(self, offset: int) -> list[str]:
        with open(self.log, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", errors="replace")
        return text.strip().splitlines()[-_LOG_TAIL:]

    def stop(self, kill: bool = False) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        if kill and self.proc.poll() is None:
            self.proc.terminate()  # it shuts its kernels down on the way out
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(Exception):
            self.proc.stdout.close()


class WorkerPool:
    """The run's worker processes, each reused for job after job (see the module's text).

    ``run`` is called from the run's threads, one job per thread at a time; a worker
    is started when no idle one is left, so there are never more than threads.
    """

    def __init__(self, work: Path, keep_fds: Sequence[int] = ()) -> None:
        self.work = work
        self.keep_fds = tuple(keep_fds)
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def run(self, job: Any, browser: str | None, timeout: int | None, folder: Path,
            warm_next: str | Path | None = None) -> Any:
        """Run one job in a worker and return its :class:`~evallib.runner.JobResult`.

        ``warm_next``: the notebook the worker probably runs next (a kernel is started
        for it while this job runs); ``None`` when no job is likely to follow."""
        from evallib.runner import JobResult, _job_to_dict, _read_result

        start = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)
        answer = folder / "result.json"
        spec = {"job": _job_to_dict(job), "browser": browser, "timeout": timeout,
                "answer": str(answer), "warm_next": str(warm_next) if warm_next else None}
        worker = self._take(job.notebook.parent)
        offset = worker.log.stat().st_size
        reply = worker.run(spec)
        if reply is not None and answer.exists():
            with self._lock:
                self._idle.append(worker)
            return _read_result(job, answer)
        worker.stop()   # dead (or dying): a fresh worker takes the next job
        tail = worker.log_from(offset)
        return JobResult(job, ok=False, seconds=time.monotonic() - start, stage="execute",
                         ename="WorkerError",
                         evalue=f"the process running the notebook stopped (exit code {worker.proc.returncode})"
                         + (":\n" + "\n".join(tail) if tail else ""))

    def _take(self, cwd: Path) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the run is stopping")
            if self._idle:
                return self._idle.pop()
            worker = _Worker(self.work, len(self._all) + 1, cwd, self.keep_fds)
            self._all.append(worker)
            return worker

    def close(self, kill: bool = False) -> None:
        """End every worker: close their input (they finish and exit), or stop them now."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
        for worker in workers:
            worker.stop(kill=kill)


if __name__ == "__main__":  # a worker process started by WorkerPool
    sys.exit(serve(Path(sys.argv[1])))
