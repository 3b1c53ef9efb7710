"""Run the report notebooks over areas x periods and turn them into finished reports.

The suite's reports are Jupyter notebooks that take a few parameters (which area,
which period, which dataset, where to write). This module is the one place that
knows how to run them safely and unattended:

1. :func:`plan` expands ``params/suite.yaml`` (or the areas, periods and notebooks
   given on the command line) into a list of :class:`Job`, and checks every job's
   parameters against the notebook's ``parameters`` cell *before anything runs*:
   papermill itself only warns about a misspelt parameter and then runs the notebook
   with its default, which would silently report on the wrong thing.
2. :func:`execute` runs each job with papermill in a worker process kept for the run
   (:mod:`evallib.workers`), each notebook in a kernel of its own (so jobs can run
   in parallel without sharing a working directory or a kernel), keeps the executed
   notebook, renders a code-free self-contained HTML report and, if asked, an A4
   PDF. Each report is built in a staging folder and moved whole into its own folder,
   ``<out>/<area>/<period>/<notebook>/``, only when complete, so no file is written by
   two reports and a failed or killed run never leaves a mix. A failing notebook does
   not stop the others; the :class:`RunReport` says which cell failed and why.
3. :func:`write_index` writes ``index.html``, the front page linking every complete
   report, by area, report type and period.

Parameters contract for notebooks
---------------------------------
Every notebook has one cell tagged ``parameters`` with typed defaults, e.g.::

    area: str = "leicestershire"          # area params file (params/areas/<area>.yaml)
    period: str = "2021-22"               # 2021-22, 2023-24Q3 or 2022-04-01..2022-11-30
    data_dir: str = "../outputs/demo-data"  # dataset folder
    output_dir: str = ""                  # "" when run by hand (see evallib.outputs)
    suppress_below: int = -1              # -1: the area's disclosure threshold

``area``, ``period``, ``data_dir`` and ``output_dir`` are required (see
:data:`REQUIRED_PARAMETERS`): without them a notebook would quietly report on its own
defaults instead of the data asked for. ``suppress_below`` is passed only to
notebooks that declare it (:data:`OPTIONAL_PARAMETERS`). Any other parameter (e.g.
``window_months``) is passed only when asked for (``extra_parameters`` /
``evallib run --set``) and is refused, naming the notebook, unless the notebook
declares it; the settings the runner owns (:data:`RUNNER_SETTINGS`) cannot be set so.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

try:  # POSIX: one run at a time per output folder
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None

from evallib import __version__, incremental
from evallib.browser import check, prepare, print_pdf, screenshot
from evallib.browser import close as close_browser
from evallib.outputs import INTERNAL, RESERVED_NAMES, report_dir
from evallib.params import (
    ParamsError,
    Period,
    PeriodError,
    SuiteParams,
    SuiteRun,
    available_areas,
    load_area,
    load_suite,
    params_dir,
    parse_period,
)
from evallib.report_page import finish_report

__all__ = [
    "Job", "JobResult", "RunReport", "plan", "execute", "write_index",
    "render_html", "html_to_pdf", "print_report", "find_chromium", "notebook_parameters",
    "notebooks_dir", "repo_root", "available_notebooks", "resolve_notebook",
    "RunnerError", "NotebookNotFoundError", "NotebookParameterError", "ChromiumNotFoundError",
    "REQUIRED_PARAMETERS", "OPTIONAL_PARAMETERS", "SUITE_PARAMETERS", "FORMATS", "first_page_images",
    "clean_leftovers", "notebook_period_kinds", "period_words", "REPORT_TYPES", "RUNNER_SETTINGS",
]

#: Parameters every suite notebook must declare: the runner always passes them.
REQUIRED_PARAMETERS: tuple[str, ...] = ("area", "period", "data_dir", "output_dir")
#: Suite-wide parameters passed only to the notebooks that declare them.
OPTIONAL_PARAMETERS: tuple[str, ...] = ("suppress_below",)
SUITE_PARAMETERS: tuple[str, ...] = REQUIRED_PARAMETERS + OPTIONAL_PARAMETERS
#: Output formats; HTML is always made (the PDF is printed from it).
FORMATS: tuple[str, ...] = ("html", "pdf")
EXECUTORS: tuple[str, ...] = ("local", "dask")

#: Settings `evallib run` owns, with the option that sets each: ``--set`` of one is refused.
RUNNER_SETTINGS: dict[str, str] = {"area": "--area", "period": "--period", "data_dir": "--data",
                                   "output_dir": "--out", "suppress_below": "--suppress-below"}
#: A failed run's notebook and error go to ``<period>/<notebook>.failed/``.
FAILED_SUFFIX = ".failed"
_STAGING, _OLD, _WORK = ".staging-", ".old-", ".evallib-work"
#: Files the earlier layout wrote straight into a period folder, shared between reports.
_OLD_LAYOUT = (".html", ".pdf", ".png", ".ipynb", ".error.txt", "results.json", ".xlsx")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
_ONE_DAY = timedelta(days=1)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------- errors
class RunnerError(Exception):
    """A run that cannot start as asked; the message says what to change."""


class NotebookNotFoundError(RunnerError):
    """A notebook name or path that does not lead to a notebook."""


class NotebookParameterError(RunnerError):
    """Parameters that do not match a notebook's ``parameters`` cell."""


class ChromiumNotFoundError(RunnerError):
    """PDF output was asked for but no Chromium browser is installed."""


# --------------------------------------------------------------------------- locations
def repo_root() -> Path:
    """The repository holding this package: relative paths in ``suite.yaml`` start here."""
    return Path(__file__).resolve().parents[1]


def notebooks_dir() -> Path:
    """Where notebook names are looked up: ``$EVALLIB_NOTEBOOKS`` or ``<repo>/notebooks``."""
    env = os.environ.get("EVALLIB_NOTEBOOKS")
    return Path(env).resolve() if env else repo_root() / "notebooks"


def available_notebooks() -> list[str]:
    """Names of the notebooks in :func:`notebooks_dir`, for help and error messages."""
    folder = notebooks_dir()
    return sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []


def resolve_notebook(name: str | Path, base: str | Path | None = None) -> Path:
    """A notebook name (``annual_report``) or path (``reports/x.ipynb``) -> absolute path.

    A bare name is looked up in :func:`notebooks_dir`; a path is read relative to
    ``base`` (default: the current folder), then to :func:`notebooks_dir`.

    Raises
    ------
    NotebookNotFoundError
        Listing the notebooks that do exist.
    """
    base = Path(base) if base is not None else Path.cwd()
    text = str(name)
    candidates = []
    if text.endswith(".ipynb") or os.sep in text or "/" in text:
        p = Path(text).expanduser()
        candidates += [p] if p.is_absolute() else [base / p, notebooks_dir() / p]
    else:
        candidates.append(notebooks_dir() / f"{text}.ipynb")
    for c in candidates:
        if c.is_file():
            return c.resolve()
    known = ", ".join(available_notebooks()) or "none found"
    raise NotebookNotFoundError(
        f"no notebook {text!r}: looked for {', '.join(str(c) for c in candidates)}. "
        f"Give a name from {notebooks_dir()} ({known}) or a path to an .ipynb file."
    )


def _resolve_path(value: str | Path, base: Path) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


# --------------------------------------------------------------------------- parameters
_PARAMETER_CACHE: dict[tuple[str, float], dict[str, dict[str, Any]]] = {}


def notebook_parameters(notebook: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares, read from its cell tagged ``parameters``.

    Returns
    -------
    dict
        ``name -> {"name", "inferred_type_name", "default", "help"}`` as read by
        :func:`papermill.inspect_notebook` from lines like
        ``window_months: int = 12  # outcome window``.

    Raises
    ------
    NotebookParameterError
        If the notebook has no ``parameters`` cell: papermill would then inject the
        values in a new first cell, and the notebook's own settings would be silently
        overwritten or ignored.
    """
    path = Path(notebook).resolve()
    key = (str(path), path.stat().st_mtime)
    if key in _PARAMETER_CACHE:
        return _PARAMETER_CACHE[key]
    text = path.read_bytes()
    cells = json.loads(text).get("cells", [])
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells):
        raise NotebookParameterError(
            f"{path}: has no cell tagged 'parameters'. Put the notebook's settings "
            "(area, period, data_dir, output_dir, ...) in one code cell and give it the tag "
            "'parameters' (in JupyterLab: select the cell, open the property inspector, "
            "add the tag)."
        )
    declared = _inspected(path, text)
    _PARAMETER_CACHE[key] = declared
    return declared


def _inspected(path: Path, text: bytes) -> dict[str, dict[str, Any]]:
    """:func:`papermill.inspect_notebook`, remembered on disk by the notebook's content:
    importing papermill is most of what an unchanged rerun costs (``evallib run`` with
    nothing to do). The cache (``$XDG_CACHE_HOME/evallib``, else ``~/.cache/evallib``)
    is only ever a copy: unreadable or unwritable, it is ignored."""
    import hashlib
    from importlib.metadata import version

    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evallib" / "parameters"
    name = hashlib.sha256(text + f"|papermill {version('papermill')}".encode()).hexdigest()
    cached = folder / f"{name}.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(cached.read_text(encoding="utf-8"))
    import papermill

    declared = papermill.inspect_notebook(str(path))
    with contextlib.suppress(OSError, TypeError, ValueError):
        folder.mkdir(parents=True, exist_ok=True)
        spare = folder / f".{name}.{os.getpid()}.tmp"
        spare.write_text(json.dumps(declared), encoding="utf-8")
        os.replace(spare, cached)   # whole or not at all, for runs side by side
    return declared


_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _coerce(value: Any, declared: Mapping[str, Any], notebook: Path) -> Any:
    """Convert a value (often text from the command line) to the declared type."""
    type_name = str(declared.get("inferred_type_name", "None"))
    name = declared.get("name", "?")
    if not isinstance(value, str):
        if type_name == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type_name == "str" and not isinstance(value, str):
            return str(value)
        return value
    text = value.strip()
    try:
        if type_name == "int":
            return int(text)
        if type_name == "float":
            return float(text)
        if type_name == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
    except ValueError:
        example = {"int": "12", "float": "0.5", "bool": "true or false"}[type_name]
        raise NotebookParameterError(
            f"{notebook.name}: parameter {name} takes a {type_name} (e.g. {example}), "
            f"not {value!r}"
        ) from None
    if type_name in ("None", "NoneType"):  # no annotation: read numbers as numbers
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
    return value


def _describe_declared(declared: Mapping[str, Mapping[str, Any]]) -> str:
    lines = []
    for p in declared.values():
        type_name = p.get("inferred_type_name", "None")
        type_text = "" if type_name in ("None", None) else f": {type_name}"
        help_text = f"  # {p['help']}" if p.get("help") else ""
        lines.append(f"    {p['name']}{type_text} = {p.get('default')}{help_text}")
    return "\n".join(lines) or "    (none)"


def _job_parameters(notebook: Path, suite_values: Mapping[str, Any],
                    extra: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters to pass one notebook, checked against what it declares."""
    declared = notebook_parameters(notebook)
    missing = [p for p in REQUIRED_PARAMETERS if p not in declared]
    unknown = [p for p in extra if p not in declared and p not in SUITE_PARAMETERS]
    if missing or unknown:
        parts = [f"notebook {notebook} cannot be run as asked:"]
        if unknown:
            hints = [f"{u!r} (did you mean {close[0]!r}?)" if close else repr(u)
                     for u in unknown
                     for close in [difflib.get_close_matches(u, list(declared), n=1)]]
            parts.append(
                f"  it has no parameter {', '.join(hints)}. Check the spelling; to change a "
                "setting for some notebooks only, choose them with --notebook."
            )
        if missing:
            parts.append(
                f"  its parameters cell does not declare {', '.join(missing)}, which the suite "
                "passes to every notebook (add e.g. `area: str = \"leicestershire\"`)."
            )
        parts.append("  Parameters it accepts:\n" + _describe_declared(declared))
        raise NotebookParameterError("\n".join(parts))
    values = {**suite_values, **extra}
    return {k: _coerce(v, declared[k], notebook) for k, v in values.items() if k in declared}


# --------------------------------------------------------------------------- planning
@dataclass
class Job:
    """One notebook to run for one area and period.

    Attributes
    ----------
    area : str
        Area name (``params/areas/<area>.yaml``), or the path of an area file.
    period : str
        Period label as written (``2021-22``, ``2023-24Q3``, ``2022-04-01..2022-11-30``).
    notebook : Path
        Absolute path to the notebook to run.
    data_dir : Path
        Absolute path to the dataset folder.
    out_dir : Path
        Absolute path to the report's own folder,
        ``<out>/<area>/<period slug>/<notebook>/`` (``<out>/internal/...`` when
        small-number suppression is off): the HTML and PDF report, the executed
        notebook, ``tables/`` and ``results.json`` go here, and nothing else writes
        there. It is built in a staging folder beside it and moved into place whole.
    parameters : dict
        Exactly what papermill injects into the notebook (``output_dir`` is replaced
        by the staging folder when the job runs).
    """

    area: str
    period: str
    notebook: Path
    data_dir: Path
    out_dir: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    #: A pooled job (a suite block with ``areas:``): each area pooled and its dataset folder.
    members: dict[str, Path] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The notebook's name: its file name without ``.ipynb``."""
        return self.notebook.stem

    @property
    def label(self) -> str:
        """``area period notebook``, for progress and messages."""
        return f"{self.area} {self.period} {self.name}"

    @property
    def period_dir(self) -> Path:
        """``<out>/<area>/<period slug>/``: the folder holding this period's reports."""
        return self.out_dir.parent

    @property
    def executed_path(self) -> Path:
        return self.out_dir / f"{self.name}.ipynb"

    @property
    def html_path(self) -> Path:
        return self.out_dir / f"{self.name}.html"

    @property
    def pdf_path(self) -> Path:
        return self.out_dir / f"{self.name}.pdf"

    @property
    def failed_dir(self) -> Path:
        """``<period>/<notebook>.failed/``: the last failed run's notebook and error.

        Kept beside (never inside) the report folder, so a failed rerun leaves the
        last complete report as it was; removed when a run succeeds.
        """
        return self.period_dir / f"{self.name}{FAILED_SUFFIX}"

    @property
    def error_path(self) -> Path:
        """Written when the job fails: what went wrong, in words (linked from the index)."""
        return self.failed_dir / "error.txt"

    def staged(self, folder: Path) -> Job:
        """The same job writing everything to ``folder`` (its staging folder)."""
        return replace(self, out_dir=folder, parameters={**self.parameters, "output_dir": str(folder)})


def _unique(items: Iterable[Any]) -> list[Any]:
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def plan(
    suite: SuiteParams | str | Path | None = None,
    *,
    areas: Sequence[str] | None = None,
    periods: Sequence[str | Period] | None = None,
    notebooks: Sequence[str | Path] | None = None,
    data: str | Path | None = None,
    out: str | Path | None = None,
    suppress_below: int = -1,
    extra_parameters: Mapping[str, Any] | None = None,
    skipped: list[str] | None = None,
) -> list[Job]:
    """Expand the suite into jobs (areas x periods x notebooks) and check them.

    Parameters
    ----------
    suite : SuiteParams, path or None
        The default run; ``None`` reads ``params/suite.yaml``.
    areas, periods, notebooks : sequence, optional
        Override the suite: only these areas (an area not in the suite needs
        ``periods``), these periods (parsed with :func:`evallib.params.parse_period`) and
        these notebooks (names in ``notebooks/`` or paths).
    data, out : path, optional
        Dataset folder and output folder, relative to the current directory. Without
        them the suite's folders are used, relative to the repository.
    suppress_below : int
        Passed to notebooks declaring ``suppress_below``; ``-1`` means "use the area's
        disclosure threshold".
    extra_parameters : mapping, optional
        Further notebook parameters (e.g. ``{"window_months": 24}``). Every notebook
        run must declare each of them, or the plan is refused: papermill would only warn
        and run the notebook with its default. The settings the runner owns (area,
        period, data_dir, output_dir, suppress_below) are refused, naming the option.
    skipped : list, optional
        Filled with a sentence per notebook and period left out because the notebook
        does not take that kind of period (the quarterly return takes quarters only). A
        notebook chosen with ``notebooks`` that is left with no period is refused.

    Returns
    -------
    list of Job
        In suite order: area, then period, then notebook.

    Raises
    ------
    ParamsError, PeriodError, NotebookNotFoundError, NotebookParameterError
        With a message meant for the person running the suite.
    """
    if not isinstance(suite, SuiteParams):
        suite = load_suite(suite)
    root, cwd = repo_root(), Path.cwd()
    extra = dict(extra_parameters or {})
    owned = [k for k in extra if k in RUNNER_SETTINGS]
    if owned:
        raise NotebookParameterError("; ".join(
            f"--set {k}=... is not allowed: {k} is set by evallib run itself; use {RUNNER_SETTINGS[k]} instead"
            for k in owned))

    chosen_periods = _unique(parse_period(p) for p in periods) if periods else None
    chosen_notebooks = [resolve_notebook(n, cwd) for n in notebooks] if notebooks else None

    runs: list[tuple[SuiteRun | None, str]] = [(r, r.area) for r in suite.runs]
    if areas:
        wanted = _unique(areas)
        runs = [(r, a) for r, a in runs if a in wanted]
        covered = {a for _, a in runs}
        for a in wanted:
            if a not in covered:
                _area(a, cwd)  # a misspelt area fails first, listing the areas available
                if not chosen_periods:
                    raise ParamsError(
                        f"area {a!r} is not in the suite file, so its periods are not known: "
                        f"give them with --period, e.g. --period 2023-24"
                    )
                runs.append((None, a))

    pools = {r.area for r, _ in runs if r is not None and r.areas}
    for member in _unique(m for r, _ in runs if r is not None and r.areas for m in r.areas):
        _area(member, cwd)  # a misspelt area in the suite file fails before anything runs
    areas_found = {a: (a, None) if a in pools else _area(a, cwd) for a in _unique(a for _, a in runs)}
    all_suite_notebooks = _unique(n for r in suite.runs for n in r.notebooks)
    refused: dict[Path, str] = {}
    jobs: list[Job] = []
    seen: set[tuple[str, str, Path]] = set()
    for run, area in runs:
        run_periods = chosen_periods or [parse_period(p) for p in run.periods]
        if chosen_notebooks:
            run_notebooks = chosen_notebooks
        else:
            names = run.notebooks if run is not None else all_suite_notebooks
            run_notebooks = [resolve_notebook(n, root) for n in names]
        if data is not None:
            data_dir = _resolve_path(data, cwd)
        else:
            data_dir = _resolve_path((run.data if run is not None and run.data else suite.data), root)
        out_root = _resolve_path(out, cwd) if out is not None else _resolve_path(suite.out, root)
        members = _pool_members(suite, run, root, _resolve_path(data, cwd) if data is not None else None)
        pool_values = {"areas": ",".join(members), "title": run.title or ""} if members else {}
        if members:
            data_dir = next(iter(members.values()))
        area_value, area_params = areas_found[area]
        if area_params is None and not _PLAIN_NAME.match(area):
            raise ParamsError(f"pooled report {area!r}: give it a plain name such as east_midlands")
        folder_name = area_params.name if area_params is not None else area
        own_threshold = (area_params.disclosure.threshold if area_params is not None
                         else min(load_area(a).disclosure.threshold for a in members))
        for period in run_periods:
            for nb in run_notebooks:
                try:
                    _check_period_kind(nb, period)
                except PeriodError as exc:
                    refused.setdefault(nb, str(exc))
                    if skipped is not None:
                        skipped.append(f"{nb.stem} left out for {period.label}: {exc}")
                    continue
                key = (folder_name, period.slug, nb)
                if key in seen:
                    continue
                seen.add(key)
                data_text = "; ".join(f"{m}={f}" for m, f in members.items()) if members else str(data_dir)
                suite_values = {"area": area_value, "period": period.label, "data_dir": data_text,
                                "output_dir": "", "suppress_below": int(suppress_below), **pool_values}
                parameters = _job_parameters(nb, suite_values, extra)
                threshold = parameters.get("suppress_below", -1)
                if threshold < 0:
                    threshold = own_threshold
                out_dir = report_dir(out_root, folder_name, period.slug, nb.stem,
                                     for_publication=threshold >= 2)
                if "output_dir" in parameters:
                    parameters["output_dir"] = str(out_dir)
                jobs.append(Job(area=area, period=period.label, notebook=nb, data_dir=data_dir,
                                out_dir=out_dir, parameters=parameters, members=members))
    for nb, reason in refused.items():
        if (chosen_notebooks and nb in chosen_notebooks or not jobs) and not any(j.notebook == nb for j in jobs):
            raise PeriodError(reason)
    if not jobs:
        raise ParamsError("nothing to run: the suite file and the options chosen select no notebooks")
    return jobs


def _pool_members(suite: SuiteParams, run: SuiteRun | None, root: Path, data: Path | None) -> dict[str, Path]:
    """A pooled block's areas and each one's dataset folder (empty for an ordinary block).

    An area's folder is, in order: ``<folder>/<area>`` where the pooled block (or
    ``--data``) gives a folder holding one folder per area, else that folder itself; else
    the ``data:`` of the suite's first block for that area; else the suite's ``data``.
    """
    if run is None or not run.areas:
        return {}
    if run.area in available_areas():
        raise ParamsError(f"suite block with areas {run.areas}: its area {run.area!r} names the pooled report and "
                          "must not be an area file's name; call it e.g. east_midlands (see docs/pooling.md)")
    given = data if data is not None else (_resolve_path(run.data, root) if run.data else None)
    own = {r.area: _resolve_path(r.data, root) for r in reversed(suite.runs) if r.data and not r.areas}
    members = {}
    for a in _unique(run.areas):
        if given is not None:
            members[a] = given / a if (given / a).is_dir() else given
        else:
            members[a] = own.get(a, _resolve_path(suite.data, root))
    return members


def _area(text: str, cwd: Path) -> tuple[str, Any]:
    """An area as given -> (the value passed to notebooks, its params).

    A plain name (``leicestershire``) is looked up in ``params/areas/``; a path to an
    area file (``areas/x.yaml``) is read as such and passed on as an absolute path.
    Either way the report folder is named after the area's own ``name``, so an area
    can never lead out of ``--out`` (``../x`` is refused).
    """
    value = str(text).strip()
    if value.endswith((".yaml", ".yml")):
        path = _resolve_path(value, cwd)
        if not path.is_file():
            raise ParamsError(f"area file {value!r} not found (looked for {path})")
        area = load_area(path)
        value = str(path)
    elif not _PLAIN_NAME.match(value):
        raise ParamsError(
            f"area {value!r}: an area is a plain name such as leicestershire (a file in params/areas/, "
            "see `evallib areas`) or the path of an area file ending in .yaml")
    else:
        area = load_area(value)
    if area.name in RESERVED_NAMES:
        raise ParamsError(f"area {area.name!r}: that name is kept for the folders "
                          f"{', '.join(sorted(RESERVED_NAMES))}; rename the area")
    return value, area


def notebook_period_kinds(notebook: str | Path) -> tuple[str, ...]:
    """The kinds of period a notebook accepts (notebook metadata ``evallib.periods``).

    ``("quarter",)`` for the quarterly return; every kind (``year``, ``quarter``,
    ``range``) when the metadata does not say.
    """
    path = Path(notebook).resolve()
    return _period_kinds(path, path.stat().st_mtime)


@functools.lru_cache(maxsize=64)
def _period_kinds(path: Path, mtime: float) -> tuple[str, ...]:
    """Read once per notebook version: :func:`plan` asks for every job. Plain JSON, as
    only the metadata is read (nbformat would import and run its validator)."""
    metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    kinds = metadata.get("evallib", {}).get("periods")
    return tuple(kinds) if kinds else ("year", "quarter", "range")


_KIND_FORMS = {"year": "a financial year such as 2023-24", "quarter": "a financial quarter such as "
               "2023-24Q3 (Q1 = April-June, so Q3 = October-December 2023)",
               "range": "a date range such as 2022-04-01..2022-11-30"}


def period_kinds_text(kinds: Sequence[str]) -> str:
    """The kinds of period, as written: "a financial quarter such as 2023-24Q3 (...)"."""
    return " or ".join(_KIND_FORMS[k] for k in kinds)


def _check_period_kind(notebook: Path, period: Period) -> None:
    kinds = notebook_period_kinds(notebook)
    if period.kind not in kinds:
        raise PeriodError(f"{notebook.stem} takes only {period_kinds_text(kinds)}; "
                          f"{period.label!r} is a {period.kind}. Choose its periods with --period.")


# --------------------------------------------------------------------------- results
@dataclass
class JobResult:
    """How one job went.

    ``cell`` is the failing cell's number in the notebook as written (1 = first cell,
    markdown cells included); ``cell_source`` its first lines; ``ename``/``evalue``
    the exception's name and message; ``stage`` is ``execute``, ``html`` or ``pdf``.
    """

    job: Job
    ok: bool
    seconds: float = 0.0
    outputs: dict[str, Path] = field(default_factory=dict)
    stage: str = ""
    cell: int | None = None
    cell_source: str = ""
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    #: The report on disk was made from exactly these inputs, so it was not made again.
    reused: bool = False
    #: The worker process that made it (one serves many jobs in a run).
    worker_pid: int | None = None
    #: Seconds each stage took in the worker (kernel, execute, html, pdf): for profiling.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def executed(self) -> Path:
        """The executed notebook (in the report's folder, or its ``.failed`` folder)."""
        if self.ok:
            return self.job.executed_path
        return self.job.failed_dir / f"{self.job.name}.ipynb"

    def describe(self, executed: Path | None = None) -> str:
        """A few lines for the terminal: what ran, and for a failure where and why."""
        if self.ok and self.reused:
            return f"reused  {self.job.label} (nothing it is made from changed): {self.outputs.get('html', '')}"
        if self.ok:
            return f"ok      {self.job.label} ({self.seconds:.0f}s): {self.outputs.get('html', '')}"
        where = {"execute": "while running", "html": "while making the HTML report",
                 "pdf": "while printing the PDF"}.get(self.stage, "")
        lines = [f"FAILED  {self.job.label} {where}".rstrip()]
        if self.cell is not None:
            lines.append(f"        cell {self.cell} of {self.job.notebook}")
            if self.cell_source:
                lines.append("        which starts: " + self.cell_source.splitlines()[0][:100])
        lines.append(f"        {self.ename}: {_short(self.evalue)}")
        executed = executed or self.executed
        if executed.exists() or executed != self.executed:
            lines.append(f"        partly run notebook (open it to see the error): {executed}")
        return "\n".join(lines)


def _short(text: str, limit: int = 600) -> str:
    text = _ANSI.sub("", str(text)).strip()
    return text if len(text) <= limit else text[:limit] + " ..."


@dataclass
class RunReport:
    """The outcome of :func:`execute`: one :class:`JobResult` per job, in job order."""

    results: list[JobResult]

    @property
    def successes(self) -> list[JobResult]:
        return [r for r in self.results if r.ok]

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_text(self) -> str:
        """A summary for the terminal: failures first, each with its cell and error."""
        lines = [r.describe() for r in self.failures]
        n, f = len(self.results), len(self.failures)
        reused = sum(r.reused for r in self.results)
        lines.append(f"{n - f} of {n} report(s) made" + (f" ({reused} reused: nothing they are made from "
                                                           "changed; --force makes them again)" if reused else "")
                     + (f"; {f} failed." if f else "."))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record of the run (kept as ``run-log.json`` for the audit trail)."""
        return {"evallib": __version__, "results": [{
            "area": r.job.area, "period": r.job.period, "notebook": str(r.job.notebook),
            "parameters": r.job.parameters, "ok": r.ok, "seconds": round(r.seconds, 1),
            "outputs": {k: str(v) for k, v in r.outputs.items()}, "stage": r.stage,
            "cell": r.cell, "error": f"{r.ename}: {_short(r.evalue)}" if not r.ok else "",
            "reused": r.reused,
        } for r in self.results]}


# --------------------------------------------------------------------------- executing
def execute(
    jobs: Sequence[Job],
    *,
    n_jobs: int = 1,
    formats: Sequence[str] = ("html",),
    progress: bool = True,
    timeout: int | None = None,
    on_done: Callable[[JobResult], None] | None = None,
    keys: Sequence[str] | None = None,
    force: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
) -> RunReport:
    """Run the jobs in worker processes and put each finished report in place.

    Each report is built in a staging folder beside its own (``<period>/.staging-...``)
    and moved into place only when complete (:func:`_publish`), so a failed, stopped or
    killed run leaves the previous complete report as it was, never a mix of two runs.
    A failure's partly run notebook and error go to ``<period>/<notebook>.failed/``.
    The output folder is locked for the run (a second run on it is refused), and what a
    killed run left behind (staging folders, kernel files) is removed at the start.

    Parameters
    ----------
    jobs : sequence of Job
        From :func:`plan`.
    n_jobs : int
        Notebooks run at the same time; ``0`` or less means one per CPU: that many
        worker processes (:class:`evallib.workers.WorkerPool`), each kept for the run
        and running one notebook at a time, each notebook in a kernel of its own, so
        jobs share no state.
    formats : sequence of {"html", "pdf"}
        HTML is always made; ``"pdf"`` also prints it to A4 PDF with Chromium: each
        worker starts one browser and prints all its reports with it
        (:mod:`evallib.browser`); Chromium is checked to start before anything runs.
    progress : bool
        Show a progress bar (on standard error).
    timeout : int, optional
        Seconds a single cell may run before the notebook is stopped as failed.
    on_done : callable, optional
        Called with each :class:`JobResult` once its report is in place (or its failure
        recorded), e.g. to rewrite the index so it never links a report half made.
    keys : sequence of str, optional
        Each job's key (:func:`job_keys`): a report whose folder holds the same key and
        all its outputs is reused, not made again (``JobResult.reused``); each report
        made keeps its key. ``None``: no reuse, no keys kept.
    force : bool
        Make every report again even when its key is unchanged.
    executor : {"local", "dask"}
        ``local``: ``n_jobs`` worker processes on this machine. ``dask``: each job is
        a task on a Dask distributed cluster (:mod:`evallib.cluster`), at
        ``scheduler`` or, without one, a ``LocalCluster`` of ``n_jobs`` workers.

    Returns
    -------
    RunReport
        Successes and failures; a failing notebook never stops the others.

    Raises
    ------
    RunnerError
        Before anything runs: an unknown format, PDF asked for without Chromium, or
        another run writing to the same output folder.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise RunnerError(f"unknown format(s) {', '.join(bad)}: choose from {', '.join(FORMATS)}")
    chromium = find_chromium() if "pdf" in formats else None
    jobs = list(jobs)
    if not jobs:
        return RunReport([])
    if executor not in EXECUTORS:
        raise RunnerError(f"unknown executor {executor!r}: choose from {', '.join(EXECUTORS)}")
    roots = _unique(_out_root(job) for job in jobs)
    with contextlib.ExitStack() as stack:
        locks = [stack.enter_context(_run_lock(root)) for root in roots]
        for root in roots:
            clean_leftovers(root)
        results: dict[int, JobResult] = {}
        for i, job in enumerate(jobs):   # unchanged reports are reused, with the folder locked
            if keys is not None and not force and incremental.is_current(job.out_dir, job.name, keys[i]):
                incremental.mark_reused(job.out_dir, job.name)
                results[i] = _reused_result(job)
                if on_done is not None:
                    on_done(results[i])
        todo = [i for i in range(len(jobs)) if i not in results]
        if not todo:
            return RunReport([results[i] for i in range(len(jobs))])
        work = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=_work_dir(roots[0])))
        stack.callback(_remove_if_empty, work.parent)  # callbacks run last first
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        browser = _check_browser(chromium) if chromium else None
        staging = {i: _new_staging(jobs[i]) for i in todo}

        workers = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
        workers = max(1, min(workers, len(todo)))
        bar = tqdm(total=len(todo), desc="Reports", unit="report", disable=not progress,
                   file=sys.stderr, dynamic_ncols=True)
        if executor == "dask":
            from evallib.cluster import dask_pool

            pool_cm = dask_pool(scheduler, workers)
        else:
            from evallib.workers import WorkerPool

            pool_cm = ThreadPoolExecutor(max_workers=workers)
            # n_jobs long-lived worker processes, holding the lock while any of them runs
            serving = WorkerPool(work, keep_fds=locks)
            stack.callback(serving.close)
        with pool_cm as pool:
            if executor == "dask":  # workers on a cluster cannot share this process's lock
                futures = {pool.submit(_run_in_subprocess, jobs[i].staged(staging[i]), browser, timeout,
                                       work / str(i)): i
                           for i in todo}
            else:  # a worker warms a kernel for the job it probably runs next, if any
                futures = {pool.submit(serving.run, jobs[i].staged(staging[i]), browser, timeout, work / str(i),
                                       jobs[todo[n + workers]].notebook if n + workers < len(todo) else None): i
                           for n, i in enumerate(todo)}
            try:
                for fut in pool.as_completed(futures) if executor == "dask" else as_completed(futures):
                    i = futures[fut]
                    result = _publish(jobs[i], staging[i], fut.result())
                    if result.ok and keys is not None:
                        incremental.record(jobs[i].out_dir, jobs[i].name, keys[i],
                                           [p for p in jobs[i].out_dir.rglob("*") if p.is_file()])
                    results[i] = result
                    if on_done is not None:
                        on_done(result)
                    bar.set_postfix_str(f"{'done' if result.ok else 'FAILED'}: {jobs[i].label}",
                                        refresh=False)
                    bar.update(1)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                if executor == "local":
                    serving.close(kill=True)  # stopped: the workers end their kernels and exit
                raise
            finally:
                bar.close()
                for folder in staging.values():  # stopped with Ctrl-C: nothing half made stays
                    shutil.rmtree(folder, ignore_errors=True)
    return RunReport([results[i] for i in range(len(jobs))])


def _reused_result(job: Job) -> JobResult:
    """The result of a job whose report on disk is current: its outputs, as they are."""
    outputs = {"ipynb": job.executed_path, "html": job.html_path}
    if job.pdf_path.exists():
        outputs["pdf"] = job.pdf_path
    return JobResult(job, ok=True, outputs=outputs, reused=True)


def job_keys(jobs: Sequence[Job], formats: Sequence[str], suite_file: Path | None = None) -> list[str]:
    """Each job's key (:func:`evallib.incremental.job_key`): its notebook, parameters,
    datasets, area and suite files, formats and evallib's code. Each dataset folder is
    read once, however many jobs use it."""
    digests: dict[Path, str] = {}
    keys = []
    for job in jobs:
        areas = list(job.members) if job.members else [job.area]
        data = list(job.members.values()) if job.members else [job.data_dir]
        files = [Path(a) if Path(a).suffix in (".yaml", ".yml") else params_dir() / "areas" / f"{a}.yaml"
                 for a in areas]
        keys.append(incremental.job_key(notebook=job.notebook, parameters=job.parameters, data_dirs=data,
                                        area_files=files, suite_file=suite_file, formats=formats,
                                        digests=digests))
    return keys


# --------------------------------------------------------------------------- staging
def _out_root(job: Job) -> Path:
    """The output folder a job's report is in (``--out``), whatever tree it is in."""
    root = job.out_dir.parents[2]
    return root.parent if root.name == INTERNAL else root


def _work_dir(root: Path) -> Path:
    """``<out>/.evallib-work/``: the run's temporary files, kernels included (removed
    by the run, or by the next one if this one is killed)."""
    folder = root / _WORK
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def _run_lock(root: Path) -> Iterator[int]:
    """Hold an exclusive lock on the output folder for the run; yields the lock's file
    descriptor, which the workers inherit, so the lock lasts while any of them does."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunnerError(
                    f"another `evallib run` is writing to {root} (or what is left of one that was "
                    "stopped is finishing). Wait for it to end, or choose another folder with --out."
                ) from None
        yield fd
    finally:
        os.close(fd)


def clean_leftovers(root: str | Path) -> None:
    """Remove what a stopped or killed run left in an output folder.

    Staging folders (``.staging-*``) and the run's work folder (kernel files) are
    deleted, as are the files an earlier layout put straight into a period folder
    (shared ``tables/`` and ``results.json``, ``<report>.html`` ...); a report caught between the two renames of :func:`_swap_in` (only its
    ``.old-*`` copy left) is put back. Called by :func:`execute` with the folder locked.
    """
    root = Path(root)
    shutil.rmtree(root / _WORK, ignore_errors=True)
    for tree in (root, root / INTERNAL):
        for period in tree.glob("*/*/"):
            if period.parent.name in RESERVED_NAMES:
                continue
            for stale in period.glob("*"):  # the earlier layout, shared by all reports
                if stale.is_file() and stale.name.endswith(_OLD_LAYOUT):
                    stale.unlink()
            if (period / "tables").is_dir() and not (period / "tables" / "tables.html").exists():
                shutil.rmtree(period / "tables", ignore_errors=True)
            for leftover in sorted(period.glob(".*")):
                if leftover.name.startswith(_STAGING):
                    shutil.rmtree(leftover, ignore_errors=True)
                elif leftover.name.startswith(_OLD):
                    name = leftover.name[len(_OLD):].rsplit("-", 1)[0]
                    if (period / name).exists():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        os.rename(leftover, period / name)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def _new_staging(job: Job) -> Path:
    job.period_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{_STAGING}{job.name}-", dir=job.period_dir))


def _swap_in(source: Path, target: Path) -> None:
    """Move a complete folder into place, replacing ``target`` (two renames, no copy).

    ``target`` is first renamed aside to ``.old-<name>-<random>``, then ``source`` takes
    its name, then the old copy is deleted. A kill between the two renames leaves only
    the ``.old`` copy, which :func:`clean_leftovers` puts back.
    """
    old = None
    if target.exists():
        old = target.parent / f"{_OLD}{target.name}-{os.urandom(4).hex()}"
        os.rename(target, old)
    os.rename(source, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    os.chmod(target, 0o755)  # mkdtemp made it private; reports are meant to be shared


def _publish(job: Job, staging: Path, result: JobResult) -> JobResult:
    """Put a finished job's staging folder in place: the report, or the failure record."""
    result.job = job
    if result.ok:
        _swap_in(staging, job.out_dir)
        shutil.rmtree(job.failed_dir, ignore_errors=True)
        result.outputs = {k: job.out_dir / Path(v).name for k, v in result.outputs.items()}
        return result
    # Only the partly run notebook and what went wrong are kept: tables or results a
    # failed run wrote must not pass for a report's.
    for item in staging.iterdir():
        if item.name != f"{job.name}.ipynb":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    text = result.describe(executed=job.failed_dir / f"{job.name}.ipynb")
    (staging / "error.txt").write_text(
        text + ("\n\n" + result.traceback if result.traceback else "") + "\n", encoding="utf-8")
    _swap_in(staging, job.failed_dir)
    return result


def _job_to_dict(job: Job) -> dict[str, Any]:
    return {"area": job.area, "period": job.period, "notebook": str(job.notebook),
            "data_dir": str(job.data_dir), "out_dir": str(job.out_dir), "parameters": job.parameters}


def _job_from_dict(d: Mapping[str, Any]) -> Job:
    return Job(area=d["area"], period=d["period"], notebook=Path(d["notebook"]),
               data_dir=Path(d["data_dir"]), out_dir=Path(d["out_dir"]),
               parameters=dict(d["parameters"]))


def _run_in_subprocess(job: Job, browser: str | None, timeout: int | None,
                       work: Path, keep_fds: Sequence[int] = ()) -> JobResult:
    """Run one job in a worker process of its own (a :class:`evallib.workers.WorkerPool`
    of one, closed after it) and return its result.

    ``browser``: the Chromium program that prints the PDF (:func:`find_chromium`);
    ``None`` for HTML only. Used for a job on a Dask cluster (a local run keeps its
    worker processes for the whole run instead). The job runs exactly as in a local
    run, and a worker that dies fails the job with the end of its log.
    """
    from evallib.workers import WorkerPool

    pool = WorkerPool(work, keep_fds)
    try:
        return pool.run(job, browser, timeout, work / "job")
    finally:
        pool.close()


def _write_result(result: JobResult, path: Path) -> None:
    """A worker's answer for one job, for :func:`_read_result` in the run's process."""
    path.write_text(json.dumps({
        "ok": result.ok, "seconds": result.seconds, "stage": result.stage,
        "outputs": {k: str(v) for k, v in result.outputs.items()}, "cell": result.cell,
        "cell_source": result.cell_source, "ename": result.ename, "evalue": result.evalue,
        "traceback": result.traceback, "pid": os.getpid(), "timings": result.timings,
    }), encoding="utf-8")


def _read_result(job: Job, path: Path) -> JobResult:
    d = json.loads(path.read_text(encoding="utf-8"))
    return JobResult(job, ok=d["ok"], seconds=d["seconds"],
                     outputs={k: Path(v) for k, v in d["outputs"].items()}, stage=d["stage"],
                     cell=d["cell"], cell_source=d["cell_source"], ename=d["ename"],
                     evalue=d["evalue"], traceback=d["traceback"], worker_pid=d.get("pid"),
                     timings=d.get("timings", {}))


def skip_iri_format_checks() -> None:
    """Spare this process about a second of start-up: papermill and nbconvert validate
    notebooks with nbformat, which imports jsonschema, whose format checker imports
    ``rfc3987_syntax`` (it builds a grammar on import) only to check IRI formats that
    the notebook schema never uses. Called by the processes evallib itself starts."""
    sys.modules.setdefault("rfc3987_syntax", None)   # jsonschema then goes without them


def _ensure_kernel(folder: Path) -> str:
    """Make kernel ``python3`` mean *this* interpreter, and return the kernel name.

    A user-level kernelspec (``~/.local/share/jupyter/kernels/python3``) can point at
    another Python that lacks evallib; ``JUPYTER_PATH`` is searched first, so a spec
    written there pins the kernel to ``sys.executable`` (the venv's Python). Called
    in the worker process only, so the caller's environment is untouched; ``folder``
    is a temporary folder that must outlive the run.
    """
    spec_dir = folder / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (evallib)", "language": "python",
        "metadata": {"debugger": False},
    }), encoding="utf-8")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(folder), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    # The kernel imports this very evallib, even when it is not installed.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(repo_root()), *filter(None, [os.environ.get("PYTHONPATH")])])
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Figures must be captured as images whatever the user has set (e.g. MPLBACKEND=Agg).
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return "python3"


def _source_cell_number(notebook: Path, cell_index: int) -> int | None:
    """Turn papermill's cell index (counted after it injected its parameters cell)
    into the cell's 1-based number in the notebook as written."""
    import nbformat

    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception:
        return cell_index + 1
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    injected_at = tagged[0] + 1 if tagged else 0
    if cell_index == injected_at:
        return None  # the injected parameters themselves failed
    return cell_index if cell_index > injected_at else cell_index + 1


def _run_job(job: Job, browser: str | None, timeout: int | None, *, kernels: Any,
             warm_next: str | None = None) -> JobResult:
    """Execute one notebook, then render it. Runs in a worker process
    (:func:`evallib.workers.serve`).

    ``kernels`` (:class:`evallib.workers.Kernels`) is the worker's: the notebook runs in
    its warm kernel, and with ``warm_next`` (the notebook the worker probably runs
    next) the kernel for the worker's next job is started now. Either way the kernel
    runs this one notebook and is shut down.
    """
    start = time.monotonic()
    km = None
    timings: dict[str, float] = {}

    def lap(stage: str, since: float) -> float:
        now = time.monotonic()
        timings[stage] = round(now - since, 3)
        return now

    if browser:
        prepare(browser)   # the worker's browser starts while the notebook runs
    try:
        km = kernels.take(job.notebook.parent)
        if warm_next:
            kernels.warm(job.notebook.parent, warm_next)
        t = lap("kernel", start)
        result = _execute(job, km, kernels.kernel_name, timeout)
        kernels.release(km)
        km = None
        t = lap("execute", t)
        result.timings = timings
        if result.ok:
            result.ok = False
            try:
                result.stage = "html"
                result.outputs["html"] = render_html(job.executed_path, job.html_path)
                t = lap("html", t)
                if browser:
                    result.stage = "pdf"
                    result.outputs.update(print_report(job.html_path, job.pdf_path, chromium=browser))
                    t = lap("pdf", t)
                result.ok, result.stage = True, ""
            except Exception as exc:
                result.ename, result.evalue = type(exc).__name__, str(exc)
    finally:
        if km is not None:
            kernels.release(km)
    result.seconds = time.monotonic() - start
    return result


def _execute(job: Job, km: Any, kernel_name: str, timeout: int | None) -> JobResult:
    """Run the notebook with papermill in the started kernel ``km`` (nbclient uses a
    kernel it is given and leaves it running: :meth:`Kernels.release` ends it)."""
    import logging

    import papermill
    from papermill.exceptions import PapermillExecutionError

    logging.getLogger("papermill").setLevel(logging.ERROR)
    job.out_dir.mkdir(parents=True, exist_ok=True)
    result = JobResult(job, ok=False, stage="execute")
    try:
        papermill.execute_notebook(
            str(job.notebook), str(job.executed_path), parameters=job.parameters,
            kernel_name=kernel_name, progress_bar=False, log_output=False,
            cwd=str(job.notebook.parent), execution_timeout=timeout, km=km,
        )
    except PapermillExecutionError as exc:
        result.cell = _source_cell_number(job.notebook, exc.cell_index)
        result.cell_source = "\n".join(str(exc.source).splitlines()[:3])
        result.ename, result.evalue = exc.ename, exc.evalue
        result.traceback = _ANSI.sub("", "\n".join(exc.traceback or []))
    except Exception as exc:
        result.ename, result.evalue = type(exc).__name__, str(exc)
    else:
        result.outputs["ipynb"] = job.executed_path
        result.ok = True
    return result


# --------------------------------------------------------------------------- HTML
def _notebook_title(nb: Any, fallback: str) -> str:
    """The report's title: notebook metadata ``title``, else its first heading."""
    title = nb.metadata.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
            if m:
                text = re.sub(r"[*_`]|\[([^\]]*)\]\([^)]*\)", lambda g: g.group(1) or "", m.group(1))
                return re.sub(r"<[^>]+>", "", text).strip()
    return fallback.replace("_", " ").strip().capitalize()


_TAG = re.compile(r"<[^<>]*>")
_EVENT_ATTR = re.compile(r"""\s(on[a-z]+|formaction)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_ACTIVE_TAG = re.compile(r"<(/?\s*(?:script|iframe|object|embed|frame|frameset|meta|base|link)\b)", re.IGNORECASE)
_MARKDOWN_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def _inert_html(text: str) -> str:
    """A safety net under the escaping the reports do: tags that run code (``script``,
    ``iframe``, ...) are shown as text and event attributes (``onerror=``) dropped."""
    text = _ACTIVE_TAG.sub(r"&lt;\1", text)
    return _TAG.sub(lambda m: _EVENT_ATTR.sub("", m.group(0)), text)


def _inert_outputs(cell: Any) -> None:
    """Make a code cell's outputs inert: HTML through :func:`_inert_html`; raw HTML in
    markdown output (which would pass through to the page) shown as text."""
    for out in cell.get("outputs", []):
        data = out.get("data") or {}
        if "text/html" in data:
            value = data["text/html"]
            data["text/html"] = _inert_html("".join(value) if isinstance(value, list) else value)
        if "text/markdown" in data:
            value = data["text/markdown"]
            data["text/markdown"] = _MARKDOWN_TAG.sub("&lt;", "".join(value) if isinstance(value, list) else value)


def _clean_for_report(nb: Any) -> None:
    """Drop what a reader should not see: removed cells, the injected parameters,
    papermill's error banners, warnings and other stderr text, and empty code cells;
    make what is left inert (:func:`_inert_outputs`)."""
    kept = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"remove_cell", "injected-parameters", "papermill-error-cell-tag"}:
            continue
        if cell.cell_type == "code":
            if "remove_output" in tags:
                cell.outputs = []
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
            if not cell.outputs:
                continue
            _inert_outputs(cell)
        kept.append(cell)
    nb.cells = kept


def _css_string(text: str) -> str:
    return re.sub(r'[\\"\n\r<>]', lambda m: {"\n": " ", "\r": " ", "<": "\\3c ", ">": "\\3e "}.get(
        m.group(0), "\\" + m.group(0)), text)


@functools.cache
def _html_exporter() -> Any:
    """The report exporter, made once per process: making one finds and loads the
    templates, which costs as much as exporting a report. It keeps no state between
    reports (each call gets its own resources)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", template_file=str(TEMPLATES / "report.html.j2"))
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.exclude_anchor_links = True
    exporter.embed_images = True
    return exporter


def render_html(notebook: str | Path, html_path: str | Path | None = None) -> Path:
    """Render an executed notebook as a code-free, self-contained HTML report.

    No input cells or prompts; images embedded as ``data:`` URIs (one file to email
    or archive); warnings and other stderr output dropped; cells tagged
    ``remove_cell`` dropped and ``remove_output`` emptied; no scripts, so it opens
    offline; A4 print CSS with page numbers. The ``<title>`` is the notebook's
    ``title`` metadata or its first heading.

    Returns
    -------
    Path
        The HTML file (default: the notebook's path with ``.html``).
    """
    import nbformat

    notebook = Path(notebook).resolve()
    target = Path(html_path).resolve() if html_path else notebook.with_suffix(".html")
    nb = nbformat.read(notebook, as_version=4)
    title = _notebook_title(nb, notebook.stem)
    _clean_for_report(nb)
    nb.metadata["title"] = title
    exporter = _html_exporter()
    resources = {"metadata": {"name": title, "path": str(notebook.parent)},
                 "evallib": {"version": __version__, "css_title": _css_string(title)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = finish_report(body)  # contents list; tables in labelled scroll regions
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


# --------------------------------------------------------------------------- PDF
def find_chromium() -> str:
    """The Chromium (or Chrome) executable used to print PDFs.

    ``$EVALLIB_CHROMIUM`` if set, else the first of ``chromium``, ``chromium-browser``,
    ``google-chrome-stable``, ``google-chrome`` on ``PATH``.

    Raises
    ------
    ChromiumNotFoundError
        Saying how to install it.
    """
    env = os.environ.get("EVALLIB_CHROMIUM")
    if env:
        found = shutil.which(env) or (env if os.access(env, os.X_OK) and Path(env).is_file() else None)
        if found:
            return found
        raise ChromiumNotFoundError(
            f"EVALLIB_CHROMIUM is set to {env!r}, which is not a program that can be run. "
            "Point it at the Chromium browser, or unset it to search PATH."
        )
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumNotFoundError(
        "PDF reports are printed by the Chromium browser, which is not installed. Install it "
        "with `sudo apt-get install chromium` (Debian/Ubuntu; `make setup` does this), or set "
        "EVALLIB_CHROMIUM to the path of Chromium or Chrome. HTML reports need no browser: "
        "run with --format html."
    )


def _check_browser(chromium: str) -> str:
    """Make sure Chromium starts before a run that prints PDFs (it is then stopped, so
    only the workers' browsers run); returns the program for the workers."""
    try:
        check(chromium)
    except RuntimeError as exc:
        raise RunnerError(f"{exc}\nPDF reports need a working Chromium: fix it, set EVALLIB_CHROMIUM "
                          "to another, or run with --format html.") from None
    finally:
        close_browser()
    return chromium


def html_to_pdf(html_path: str | Path, pdf_path: str | Path | None = None, *,
                chromium: str | None = None, timeout: float = 180) -> Path:
    """Print an HTML report to an A4 PDF with headless Chromium.

    Page size, margins, page numbers ("Page 2 of 9") and the running title come from
    the report's print CSS (CSS page-margin boxes, Chromium 131 or later); Chromium's
    own header and footer, which would show the file's path, are turned off. Each print
    has a fresh browser context, so nothing passes between reports.

    This process starts its browser, ``chromium`` (default :func:`find_chromium`), on
    its first print and keeps it for later prints (:mod:`evallib.browser`).

    Raises
    ------
    ChromiumNotFoundError
        If no browser is found.
    RuntimeError
        If Chromium does not produce the PDF, with its error; or takes over ``timeout`` s.
    """
    return _print(html_path, pdf_path, chromium, timeout, picture=False)["pdf"]


def print_report(html_path: str | Path, pdf_path: str | Path | None = None, *,
                 chromium: str | None = None, timeout: float = 180) -> dict[str, Path]:
    """:func:`html_to_pdf` and :func:`first_page_images` from one load of the page.

    Returns ``{"pdf": ..., "png": ..., "pdf_png": ...}`` (the pictures made); raises
    as :func:`html_to_pdf` does.
    """
    return _print(html_path, pdf_path, chromium, timeout, picture=True)


def _print(html_path: str | Path, pdf_path: str | Path | None, chromium: str | None, timeout: float,
           picture: bool) -> dict[str, Path]:
    exe = chromium or find_chromium()
    html_path = Path(html_path).resolve()
    target = Path(pdf_path).resolve() if pdf_path else html_path.with_suffix(".pdf")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    shot = html_path.with_suffix(".png")
    made = {"pdf": print_pdf(html_path, target, chromium=exe, timeout=timeout,
                             picture=shot if picture else None)}
    if picture:
        if shot.exists():
            made["png"] = shot
        made.update(_pdf_picture(target, timeout))
    return made


def first_page_images(html_path: str | Path, pdf_path: str | Path | None = None, *,
                      chromium: str | None = None, timeout: float = 120) -> dict[str, Path]:
    """Pictures of a report's first page, so a reviewer can look without running anything.

    ``<name>.png``: the HTML's first screen (1000 x 1400 pixels), by headless Chromium
    (``chromium`` as for :func:`html_to_pdf`); left out, with a warning,
    if Chromium cannot make it. ``<name>.pdf.png``: the PDF's first page, by
    ``pdftoppm`` (Debian's poppler-utils), when both the PDF and the tool are there.
    Returns the images made.
    """
    exe = chromium or find_chromium()
    html_path = Path(html_path).resolve()
    made: dict[str, Path] = {}
    try:
        made["png"] = screenshot(html_path, html_path.with_suffix(".png"), chromium=exe,
                                 timeout=timeout)
    except RuntimeError as exc:  # a picture for reviewers: its lack must not fail the report
        warnings.warn(str(exc), RuntimeWarning, stacklevel=2)
    if pdf_path:
        made.update(_pdf_picture(Path(pdf_path), timeout))
    return made


def _pdf_picture(pdf_path: Path, timeout: float) -> dict[str, Path]:
    """``<name>.pdf.png``, the PDF's first page, when ``pdftoppm`` is installed."""
    pdftoppm = shutil.which("pdftoppm")
    if not (pdf_path.exists() and pdftoppm):
        return {}
    stem = pdf_path.with_suffix(".pdf")  # pdftoppm adds .png itself with -singlefile
    subprocess.run([pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(stem)],
                   capture_output=True, timeout=timeout, check=False)
    return {"pdf_png": Path(f"{stem}.png")} if Path(f"{stem}.png").exists() else {}


# --------------------------------------------------------------------------- index
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)

#: How the index names each report type, in the order it lists them.
REPORT_TYPES: dict[str, str] = {
    "completers_vs_noncompleters": "Evaluation: completers compared with non-completers",
    "partner_outcomes": "Partner Support Service outcomes",
    "service_outputs": "Service outputs by district",
    "quarterly_return": "Quarterly monitoring return",
    "pooled_evaluation": "Pooled evaluation: several areas and periods",
}


def _html_title(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.read(20000)
    m = _TITLE.search(head)
    title = html_lib.unescape(m.group(1)).strip() if m else ""
    return title or path.stem.replace("_", " ").capitalize()


def _period_of(slug: str) -> Period | None:
    for text in (slug, slug.replace("_", "..")):
        try:
            return parse_period(text)
        except PeriodError:
            continue
    return None


def period_words(period: Period) -> str:
    """A period in words, never a code: "April 2021 to March 2022 (financial year)",
    "July to September 2022 (quarter 2 of the financial year)", "1 April 2021 to 30 November 2022"."""
    def month(d: Any) -> str:
        return f"{d:%B} {d.year}"

    whole_months = period.start.day == 1 and (period.end + _ONE_DAY).day == 1
    if period.kind == "quarter":
        q = (period.start.month - 4) % 12 // 3 + 1
        return f"{period.start:%B} to {month(period.end)} (quarter {q} of the financial year)"
    if period.kind == "year":
        return f"{month(period.start)} to {month(period.end)} (financial year)"
    if whole_months:
        return f"{month(period.start)} to {month(period.end)}"
    return f"{period.start.day} {month(period.start)} to {period.end.day} {month(period.end)}"


def _area_title(name: str) -> str:
    try:
        return load_area(name).display_name
    except (ParamsError, OSError):
        pass
    try:   # a pooled report's folder: the title of its suite block
        return next((r.title for r in load_suite().runs if r.area == name and r.title), name)
    except (ParamsError, OSError):
        return name


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d %B %Y at %H:%M")
    except ValueError:
        return iso


def _link(root: Path, path: Path) -> str:
    return "/".join(quote(p) for p in path.relative_to(root).parts)


def _read_results(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _report_entry(root: Path, period_dir: Path, name: str) -> dict[str, Any]:
    """What the index shows of one report: links to its files, headline and marks."""
    folder, failed = period_dir / name, period_dir / f"{name}{FAILED_SUFFIX}"
    html = folder / f"{name}.html"
    entry: dict[str, Any] = {"name": name, "html": None, "failed": None}
    if html.is_file():
        results = _read_results(folder)
        headline = results.get("headline")
        if not isinstance(headline, str):
            headline = (results.get("headlines") or {}).get(name)
        pdf = folder / f"{name}.pdf"
        entry.update(
            title=_html_title(html), html=_link(root, html),
            pdf=_link(root, pdf) if pdf.is_file() else None,
            headline=headline if isinstance(headline, str) else None,
            tables=[{"name": p.stem, "href": _link(root, p)} for p in sorted(folder.glob("tables/*.csv"))],
            workbooks=[{"name": p.name, "href": _link(root, p)} for p in sorted(folder.glob("*.xlsx"))],
            synthetic=bool(results.get("synthetic")),
            for_publication=results.get("for_publication", True) is not False,
        )
        made, reused = incremental.made_at(folder, name)
        if made and reused:   # the last run reused this report rather than making it again
            entry.update(made=_when(made), reused=_when(reused))
    if failed.is_dir():
        error, ipynb = failed / "error.txt", failed / f"{name}.ipynb"
        when = datetime.fromtimestamp(failed.stat().st_mtime).strftime("%d %B %Y at %H:%M")
        entry["failed"] = {"when": when, "error": _link(root, error) if error.is_file() else None,
                           "ipynb": _link(root, ipynb) if ipynb.is_file() else None}
    return entry


def _scan(root: Path, tree: Path, internal: bool = False) -> list[dict[str, Any]]:
    """The areas in one tree of an output folder, each with its reports by type and period."""
    areas = []
    if not tree.is_dir():
        return areas
    for area_dir in sorted(p for p in tree.iterdir() if p.is_dir() and not p.name.startswith(".")
                           and p.name not in RESERVED_NAMES):
        types: dict[str, list[dict[str, Any]]] = {}
        for period_dir in (p for p in area_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            period = _period_of(period_dir.name)
            names = {p.name[: -len(FAILED_SUFFIX)] if p.name.endswith(FAILED_SUFFIX) else p.name
                     for p in period_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
            for name in names:
                entry = _report_entry(root, period_dir, name)
                if entry["html"] is None and entry["failed"] is None:
                    continue  # not a report folder (e.g. tables/ from an older layout)
                entry["period"] = period_words(period) if period else period_dir.name.replace("_", " to ")
                entry["sort"] = (str(period.start), str(period.end)) if period else ("9", period_dir.name)
                types.setdefault(name, []).append(entry)
        if not types:
            continue
        order = list(REPORT_TYPES)
        groups = []
        for name in sorted(types, key=lambda n: (order.index(n) if n in order else len(order), n)):
            entries = sorted(types[name], key=lambda e: e["sort"])
            title = REPORT_TYPES.get(name) or next(
                (e["title"] for e in entries if e.get("title")), name.replace("_", " ").capitalize())
            groups.append({"name": name, "title": title, "reports": entries})
        areas.append({"name": area_dir.name, "title": _area_title(area_dir.name), "types": groups,
                      "internal": internal})
    return areas


@functools.cache
def _index_templates() -> jinja2.Environment:
    """One template environment per process: the index is rewritten after every report,
    and compiling its template each time cost more than the rest of writing it (jinja
    still reloads the template if its file changes)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def write_index(out_dir: str | Path, *, title: str = "Evaluation reports") -> Path:
    """Write ``<out_dir>/index.html``, the front page linking every complete report.

    Reports are found on disk (``<out>/<area>/<period>/<report>/``), not taken from the
    last run, so the page also lists reports from earlier runs; a report folder only
    ever appears complete (see :func:`execute`), so every link is to a whole report.
    The page groups reports by area, then report type, then period (in words); each
    shows its headline (``"headline"`` in its ``results.json``) and links its HTML,
    PDF, tables (CSV) and workbook (XLSX), and says when the data are synthetic. A
    report whose last run failed says so, with what went wrong. Reports made with
    suppression off (``<out>/internal/``) are listed apart, as not for publication.
    Links are relative, so the folder can be zipped or copied to a shared drive. The
    page is written to a temporary file and renamed, so a reader never sees half.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    areas, internal = _scan(out, out), _scan(out, out / INTERNAL, internal=True)

    def reports(trees: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for a in trees for t in a["types"] for r in t["reports"]]

    published = reports(areas)
    page = _index_templates().get_template("index.html.j2").render(
        title=title, areas=areas, internal=internal, version=__version__,
        n_reports=sum(1 for r in published if r["html"]),
        n_failed=sum(1 for r in published if r["failed"]),
        synthetic=any(r.get("synthetic") for r in published + reports(internal)),
        generated=datetime.now().strftime("%d %B %Y at %H:%M"),
    )
    target = out / "index.html"
    tmp = target.with_name(f".index.html.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target

