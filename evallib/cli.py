"""The ``evallib`` command: one command to check data and make every report.

Written for evaluators and OPCC staff rather than programmers: every subcommand's
``--help`` ends with worked examples, and a mistake a user can make (a misspelt
area, a period in the wrong form, a dataset that breaks the contract, a notebook
setting that does not exist) ends with a plain message and exit code 2, never a
Python traceback. Exit codes: 0 all well, 1 some reports failed, 2 nothing was run
because of something the user can fix, 130 stopped with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from evallib import __version__

__all__ = ["main", "build_parser"]

USER_ERROR = 2
FAILED = 1

DESCRIPTION = """\
evallib makes the evaluation reports for domestic abuse perpetrator programmes.

The usual steps:
  1. evallib validate --data FOLDER    check a dataset against the data contract
  2. evallib run --data FOLDER         make every report listed in params/suite.yaml
  3. open outputs/index.html           the front page linking every report

With no --data, `evallib run` uses the synthetic demo dataset (written on first use),
so you can see what the reports look like before any real data arrives.
Type `evallib COMMAND --help` for the options of one command, with examples."""

MAIN_EXAMPLES = """\
examples:
  evallib run                                   all reports in params/suite.yaml, demo data
  evallib run --data D:/extracts/2024-06 --area leicestershire --period 2023-24
  evallib validate --data D:/extracts/2024-06   check a dataset, list every problem
  evallib synth --area leicestershire --out demo   write a synthetic demo dataset
  evallib areas                                 the areas the suite knows
  evallib new-area NAME --from DIR              draft an area file from a provider's export
  evallib notebooks                             the report notebooks and their settings"""

RUN_EXAMPLES = """\
examples:
  evallib run
      every area, period and notebook in params/suite.yaml (demo data unless the
      suite names a dataset); reports go to outputs/, open outputs/index.html
  evallib run --data extracts/llr-2024-06 --area leicestershire --period 2023-24
      one area and one financial year (1 April 2023 to 31 March 2024) from a real extract
  evallib run --period 2023-24Q3 --period 2023-24Q4
      two financial quarters (Q1 = April-June, so Q3 = October-December 2023)
  evallib run --period 2022-04-01..2022-11-30
      a date range, both ends included
  evallib run --notebook completers_vs_noncompleters --set window_months=24
      one notebook, with one of its settings changed (see `evallib notebooks NAME`)
  evallib run --format html,pdf --jobs 4
      also print each report to an A4 PDF (needs Chromium), four notebooks at a time
  evallib run --force
      make every report again (by default a report whose notebook, settings, data, area
      and suite files and evallib are all unchanged since it was made is reused)
  evallib run --executor dask --scheduler tcp://10.0.0.5:8786
      run the reports as tasks on a Dask cluster (workers need evallib and the same
      folders); --executor dask alone starts a local cluster of --jobs workers
  evallib run --suppress-below 10
      hide counts from 1 to 9 in every published table (default: the area's setting)

Periods are written as a financial year (2021-22), a financial quarter (2023-24Q3)
or a date range (2022-04-01..2022-11-30). Paths you type are relative to the current
folder; paths inside params/suite.yaml are relative to the repository.
Exit code 0: all reports made; 1: some notebooks failed (the others are still made);
2: nothing was run (the message says what to fix)."""

VALIDATE_EXAMPLES = """\
examples:
  evallib validate --data extracts/llr-2024-06
      check the dataset against the data contract and its area's params
      (the area is read from dataset.yaml in the folder)
  evallib validate --data extracts/llr-2024-06 --out problems.csv
      also write every problem to a spreadsheet you can sort and send to the provider
  evallib validate --data extracts/llr-2024-06 --area leicestershire
      check against a named area (e.g. before dataset.yaml is right)
  evallib validate --data extracts/llr-2024-06 --notebook service_outputs
      check only what the service outputs report needs (by default, what every
      report in params/suite.yaml for the area needs: police records for the
      evaluation, partner records for the partner report, ...)

Every problem is listed at once: first one line per kind of problem (file, column, the
first row, as numbered in the file with header = row 1, and value; how many rows; the
fix), then row by row. --out writes every row to a spreadsheet.
Exit code 0: no problems; 2: problems found (or the folder cannot be read)."""

SYNTH_EXAMPLES = """\
examples:
  evallib synth --area leicestershire --out demo-data
      a synthetic dataset shaped like the area's real extracts, in the folder demo-data
  evallib synth --area leicestershire --out demo-data --seed 7
      a different (but reproducible) synthetic dataset
  evallib synth --national --out national --scale 0.1
      a national dataset (40 areas; 100,000 referrals and 1M police records at this
      scale, Parquet partitioned by area), for benchmarks and scale tests

The data are made up: use them to try the suite, train staff or test changes, never
as evidence."""

AREAS_EXAMPLES = """\
examples:
  evallib areas
      list the area files in params/areas/ (add one to run the suite for a new area;
      see docs/adapting.md)"""

NEW_AREA_EXAMPLES = """\
examples:
  evallib new-area west_mercia --from extracts/west-mercia-2024-06
      read the export as it came (its files, headers and labels) and draft
      params/areas/west_mercia.yaml, every match it can tell made and a # TODO for
      each it cannot; then fill in the TODOs and run evallib validate
  evallib new-area west_mercia --from extracts/west-mercia-2024-06 --out draft.yaml
      write the draft somewhere else (e.g. to compare with an existing area file)

See docs/adapting.md for the keys of an area file."""

NOTEBOOKS_EXAMPLES = """\
examples:
  evallib notebooks
      list the report notebooks in notebooks/
  evallib notebooks completers_vs_noncompleters
      show the settings that notebook takes; change one with
      `evallib run --notebook completers_vs_noncompleters --set NAME=VALUE`"""


# --------------------------------------------------------------------------- helpers
class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def _split(values: Sequence[str] | None) -> list[str] | None:
    """``--area a --area b,c`` -> ``[a, b, c]``: both forms are natural to type."""
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _formats(text: str) -> tuple[str, ...]:
    from evallib.runner import FORMATS

    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(
            f"{text!r}: choose from {', '.join(FORMATS)}, separated by commas, e.g. html,pdf")
    return tuple(dict.fromkeys(("html", *chosen)))


def _non_negative(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 or more")
    return n


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE, e.g. window_months=24")
    return name.strip(), value.strip()


def _writable(folder: Path) -> bool:
    """Whether a file can be made in an existing folder (tried, as permissions alone
    do not tell: a read-only mount, or root ignoring modes)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _out_folder(text: str, option: str) -> Path:
    """An output folder: a folder (made if missing) you can write in."""
    p = Path(text).expanduser()
    if p.exists() and not p.is_dir():
        raise _UserError(f"{option} {text}: this is a file, not a folder. Give a folder (it is made if "
                         "missing), e.g. outputs")
    base = _existing_parent(p.resolve())
    if not base.is_dir():
        raise _UserError(f"{option} {text}: {base} is a file, so no folder can be made there")
    if not _writable(base):
        raise _UserError(f"{option} {text}: cannot write in {base} (read-only or no permission). "
                         "Give a folder you can write to")
    return p


def _out_file(text: str, option: str) -> Path:
    """An output file: not a folder, in an existing folder you can write in."""
    p = Path(text).expanduser()
    if p.is_dir():
        raise _UserError(f"{option} {text}: this is a folder. Give a file name, e.g. {p / 'problems.csv'}")
    if not p.resolve().parent.is_dir():
        raise _UserError(f"{option} {text}: the folder {p.resolve().parent} does not exist. Create it "
                         "first, or give a file in an existing folder, e.g. problems.csv")
    if not _writable(p.resolve().parent) or (p.exists() and not os.access(p, os.W_OK)):
        raise _UserError(f"{option} {text}: cannot write {p} (read-only or no permission). Give a file "
                         "you can write, e.g. problems.csv in your own folder")
    return p


def _in_folder(text: str, option: str, what: str = "the dataset folder") -> Path:
    p = Path(text).expanduser()
    if not p.exists():
        raise _UserError(f"{option} {text}: no such folder. Give {what} (it holds dataset.yaml and "
                         "referrals.csv etc.)")
    if not p.is_dir():
        raise _UserError(f"{option} {text}: this is a file, not a folder. Give {what}, e.g. "
                         f"{p.parent if str(p.parent) != '.' else 'extracts/2024-06'}")
    return p


def _in_file(text: str, option: str) -> Path:
    p = Path(text).expanduser()
    if not p.is_file():
        raise _UserError(f"{option} {text}: {'this is a folder' if p.is_dir() else 'no such file'}. "
                         "Give a YAML file, e.g. params/suite.yaml")
    return p


def _area_name(text: str | None, option: str = "--area") -> str | None:
    """An area given by name, or by the path of its file in the params folder."""
    from evallib.params import load_area, params_dir

    if text is None or not (text.endswith((".yaml", ".yml")) or "/" in text or os.sep in text):
        return text
    p = _in_file(text, option)
    area = load_area(p)
    areas = (params_dir() / "areas").resolve()
    if p.resolve().parent != areas:
        raise _UserError(f"{option} {text}: the suite reads area files from {areas}. Copy the file there "
                         f"and give {option} {area.name}, or set EVALLIB_PARAMS to the folder holding "
                         "areas/ and suite.yaml")
    return area.name


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _print_problems(exc, *, file=None, command: str = "") -> None:
    file = file or sys.stdout
    n = len(exc.problems)
    print(f"The dataset in {exc.folder} has {n} problem{'s' if n != 1 else ''}:", file=file)
    print(exc.to_text(), file=file)
    if command:
        print(f"\n{command}", file=file)


# --------------------------------------------------------------------------- commands
def cmd_run(args: argparse.Namespace) -> int:
    """Plan, prepare demo data if needed, validate, execute, index, summarise."""
    from evallib import incremental
    from evallib.params import load_suite, params_dir
    from evallib.runner import (
        execute,
        job_keys,
        plan,
        repo_root,
        skip_iri_format_checks,
        write_index,
    )

    skip_iri_format_checks()

    if args.scheduler and args.executor != "dask":
        raise _UserError(f"--scheduler {args.scheduler} is for the dask executor: add --executor dask")
    suite = load_suite(_in_file(args.suite, "--suite") if args.suite else None)
    extra = dict(args.set or [])
    if args.data:
        _in_folder(args.data, "--data")
    if args.out:
        _out_folder(args.out, "--out")
    areas = [_area_name(a) for a in _split(args.area) or []] or None
    left_out: list[str] = []
    jobs = plan(suite, areas=areas, periods=_split(args.period),
                notebooks=_split(args.notebook), data=args.data, out=args.out,
                suppress_below=args.suppress_below, extra_parameters=extra, skipped=left_out)
    for note in dict.fromkeys(left_out):
        print(f"Note: {note}")
    formats = args.format or tuple(dict.fromkeys(("html", *suite.formats)))
    if not args.format and "pdf" in formats:
        # PDFs in the suite's defaults are a bonus where Chromium is installed; asked for
        # with --format they are required (and their absence is an error).
        from evallib.runner import ChromiumNotFoundError, find_chromium

        try:
            find_chromium()
        except ChromiumNotFoundError:
            print("Note: PDFs skipped, as Chromium is not installed (`make report-pdf` or "
                  "`sudo apt-get install chromium` adds them). HTML reports are made as usual.")
            formats = tuple(f for f in formats if f != "pdf")
    out_root = Path(args.out).resolve() if args.out else (repo_root() / suite.out).resolve()
    if not args.out:
        _out_folder(str(out_root), "the suite's out:")

    # A demo dataset is written on first use, and only into a demo folder next to the suite's
    # (demo-data, demo-data-<area>, or a service subfolder of it: synthetic.folders.demo_folder):
    # a missing real extract (say an unmounted share) must be an error, not demo data.
    demo = (repo_root() / suite.data).resolve()
    by_data: dict[Path, list[str]] = {}
    for job in jobs:
        for area, folder in (job.members.items() if job.members else [(job.area, job.data_dir)]):
            by_data.setdefault(folder, [])
            if area not in by_data[folder]:
                by_data[folder].append(area)
    for folder, areas in by_data.items():
        root = _demo_root(folder, areas[0])
        if root is not None and root.parent == demo.parent and not folder.exists():
            print(f"Writing the synthetic demo dataset for {areas[0]} to {root} (first run) ...")
            _write_demo(root, areas[0], seed=None)

    # Reports whose inputs are all unchanged are reused as they are (their dataset was
    # sound when they were made, byte for byte as now): only the others' data is checked.
    suite_file = Path(args.suite).resolve() if args.suite else params_dir() / "suite.yaml"
    keys = dict(zip(map(id, jobs), job_keys(jobs, formats, suite_file), strict=True))
    current = set() if args.force else {id(j) for j in jobs if incremental.is_current(j.out_dir, j.name, keys[id(j)])}
    checked, skipped = _jobs_with_usable_data([j for j in jobs if id(j) not in current],
                                              given_data=args.data is not None)
    kept = {id(j) for j in checked} | current
    jobs = [j for j in jobs if id(j) in kept]
    if not jobs:
        print("\nNothing was run.", file=sys.stderr)
        return USER_ERROR

    n_nb, n_ap = len({j.notebook for j in jobs}), len({(j.area, j.period) for j in jobs})
    print(f"Making {len(jobs)} report{'s' if len(jobs) != 1 else ''} "
          f"({n_nb} notebook{'s' if n_nb != 1 else ''} x {n_ap} area-period"
          f"{'s' if n_ap != 1 else ''}) as {' and '.join(f.upper() for f in formats)} in {out_root}")
    # The index is rewritten as each report is put in place, so it never links one half
    # made (a reused report was complete already: the index is rewritten once at the end).
    report = execute(jobs, n_jobs=args.jobs, formats=formats, progress=not args.no_progress,
                     timeout=args.timeout, on_done=lambda r: r.reused or write_index(out_root),
                     keys=[keys[id(j)] for j in jobs], force=args.force, executor=args.executor,
                     scheduler=args.scheduler)
    index = write_index(out_root)
    (out_root / "run-log.json").write_text(json.dumps(report.to_dict(), indent=2, default=str),
                                           encoding="utf-8")
    print()
    print(report.to_text())
    print(f"\nOpen the reports from: {index}")
    if skipped:
        print("\nNot run: " + "; ".join(skipped) + " (see the messages above).")
    return FAILED if report.failures or skipped else 0


def _jobs_with_usable_data(jobs: list, *, given_data: bool) -> tuple[list, list[str]]:
    """Check each area's dataset once; keep the jobs whose dataset is sound and is for them.

    Every suite block is checked against its own dataset (its ``data:``, else the
    suite's), so adding an area to ``params/suite.yaml`` never stops the other areas'
    runs: a block whose dataset is missing, broken or another area's gets a message of
    its own and is left out. With ``--data``, the suite's blocks for other areas than
    the dataset's are left out with a note (not a failure). Returns ``(jobs to run,
    what was left out)``; the second is empty when only such notes were printed.
    """
    if not jobs:   # every report is current: no dataset to check (nor pandas to import)
        return [], []
    import yaml

    from evallib.notebook import needs_problems, notebook_needs
    from evallib.schemas import DataValidationError, read_dataset_yaml
    from evallib.snapshot import load_validated

    bad: set[tuple] = set()
    skipped: list[str] = []
    def datasets(j) -> list[tuple]:   # (folder, area) a job reads: every area's, for a pooled job
        return [(f, a) for a, f in j.members.items()] if j.members else [(j.data_dir, j.area)]

    for folder, area in dict.fromkeys(p for j in jobs for p in datasets(j)):
        try:
            meta = read_dataset_yaml(folder / "dataset.yaml") or {}
            data_area = str(meta.get("area", area)) if isinstance(meta, dict) else area
        except (OSError, UnicodeDecodeError, yaml.YAMLError):   # the loader names what is wrong
            data_area = area
        if data_area != area:
            bad.add((folder, area))
            if given_data:
                print(f"Note: {area} is left out: the dataset in {folder} is for {data_area}. To run "
                      f"{area}, give its own dataset: evallib run --data DIR --area {area}", file=sys.stderr)
                continue
            print(f"error: the suite's blocks for {area} were not run: their dataset {folder} is for "
                  f"{data_area}, not {area}. Give each of those blocks its own dataset in params/suite.yaml "
                  f"(data: path/to/{area}-extract; see docs/adapting.md).", file=sys.stderr)
            skipped.append(f"{area} (no dataset of its own)")
            continue
        notebooks = [j.notebook for j in jobs if (folder, area) in datasets(j)]
        try:
            ds = load_validated(folder, area)     # the notebooks then read the validated snapshot
            missing = needs_problems(ds, [notebook_needs(nb) for nb in dict.fromkeys(notebooks)])
            if len(missing):
                raise DataValidationError(missing, folder)
        except DataValidationError as exc:
            bad.add((folder, area))
            _print_problems(exc, file=sys.stderr, command=(
                f"The reports for {area} were not run. Fix these in the extract (or the area's params), then "
                f"run again.\nTo get the list as a spreadsheet: evallib validate --data \"{folder}\" "
                f"--area {area} --out problems.csv\n"))
            skipped.append(f"{area} (problems in {folder})")
    return [j for j in jobs if not set(datasets(j)) & bad], skipped   # a pooled job needs every area's


def _demo_root(folder: Path, area: str) -> Path | None:
    """The area's demo folder that ``folder`` is, or is a service subfolder of (``None`` if neither)."""
    from evallib.synthetic.folders import demo_folder

    return demo_folder(folder, area)


def _write_demo(folder: Path, area: str, seed: int | None) -> None:
    try:
        from evallib.synthetic.demo import write_demo
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("evallib"):
            raise _UserError("this version of evallib has no demo dataset generator "
                             "(evallib.synthetic.demo); give a dataset with --data") from None
        raise
    kwargs = {"area": area} if seed is None else {"area": area, "seed": seed}
    write_demo(folder, **kwargs)


class _UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a dataset; print the problem table or a one-line all-clear."""
    from evallib.notebook import needs_problems, notebook_needs
    from evallib.outputs import spreadsheet_safe_frame
    from evallib.params import load_area
    from evallib.schemas import PROBLEM_COLUMNS, DataValidationError, load_dataset

    folder = _in_folder(args.data, "--data")
    out = _out_file(args.out, "--out") if args.out else None
    area = args.area
    if area and (area.endswith((".yaml", ".yml")) or "/" in area or os.sep in area):
        area = load_area(_in_file(area, "--area"))  # an area file anywhere: validate reads it as it is
    try:
        ds = load_dataset(folder, area)
        reports = _reports_to_check(args.notebook, ds.area.name)
        missing = needs_problems(ds, [notebook_needs(nb) for nb in reports])
        if len(missing):
            raise DataValidationError(missing, folder)
    except DataValidationError as exc:
        # the reports' needs that can be seen without loading (a table not supplied) come too
        area_name = getattr(area, "name", area) or _dataset_area(folder)
        absent = needs_problems(folder, [notebook_needs(nb) for nb in _reports_to_check(args.notebook, area_name)])
        absent = absent[~absent["file"].isin(exc.problems["file"])]
        if len(absent):
            import pandas as pd

            exc = DataValidationError(pd.concat([exc.problems, absent], ignore_index=True), folder)
        _print_problems(exc)
        if out:
            # text a spreadsheet would run as a formula is neutralised
            spreadsheet_safe_frame(exc.problems).to_csv(out, index=False, encoding="utf-8")
            print(f"\nAll {len(exc.problems)} problem(s) written to {out.resolve()}")
        elif len(exc.problems) > 60:
            print(f"\nThe full list, as a spreadsheet: evallib validate --data \"{folder}\" --out problems.csv")
        return USER_ERROR
    if out:
        import pandas as pd

        pd.DataFrame(columns=PROBLEM_COLUMNS).to_csv(out, index=False, encoding="utf-8")
    counts = ", ".join(f"{name} {len(ds.tables[name])} rows" for name in ds.tables if name in ds.present)
    print(f"No problems in {folder} (area {ds.area.name}): {counts}.")
    if reports:
        print(f"It holds what these reports need: {', '.join(p.stem for p in reports)}.")
    return 0


def _dataset_area(folder: Path) -> str | None:
    """The area dataset.yaml names, if it can be read (the loader reports it otherwise)."""
    import yaml

    from evallib.schemas import read_dataset_yaml

    try:
        meta = read_dataset_yaml(folder / "dataset.yaml")
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return str(meta.get("area")) if isinstance(meta, dict) and meta.get("area") else None


def _reports_to_check(chosen: Sequence[str] | None, area: str | None) -> list[Path]:
    """The notebooks whose needs ``validate`` checks: those chosen with --notebook, else
    the suite's notebooks for the area (all the suite's, for an area not in it)."""
    from evallib.params import ParamsError, load_suite
    from evallib.runner import repo_root, resolve_notebook

    if chosen:
        return [resolve_notebook(n) for n in _split(chosen) or []]
    try:
        runs = load_suite().runs
    except ParamsError:
        return []
    names = [n for r in runs if r.area == area for n in r.notebooks] or [n for r in runs for n in r.notebooks]
    return [resolve_notebook(n, repo_root()) for n in dict.fromkeys(names)]


def cmd_synth(args: argparse.Namespace) -> int:
    """Write the synthetic demo dataset."""
    from evallib.params import load_area

    folder = _out_folder(args.out, "--out").resolve()
    if (folder / "dataset.yaml").is_file():
        import yaml

        from evallib.schemas import read_dataset_yaml

        try:
            existing = read_dataset_yaml(folder / "dataset.yaml")
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            existing = None
        if not (isinstance(existing, dict) and existing.get("synthetic")):
            raise _UserError(f"--out {args.out}: this folder holds a dataset that is not synthetic, and "
                             "synth would overwrite its tables. Give a new or empty folder")
    if args.national:
        from evallib.synthetic.national import write_national

        if not 0 < args.scale <= 10:
            raise _UserError(f"--scale {args.scale}: give a fraction of the full size, e.g. 0.01 or 1")
        write_national(folder, scale=args.scale, **({} if args.seed is None else {"seed": args.seed}))
        print(f"Synthetic national dataset ({args.scale:g} x 1M referrals, 10M police records) written to {folder}")
        print(f"Next: evallib validate --data \"{folder}\"")
        return 0
    area = _area_name(args.area)
    load_area(area)  # an unknown area fails here with the list of areas
    _write_demo(folder, area, args.seed)
    print(f"Synthetic demo dataset for {area} written to {folder}")
    for sub in sorted(p for p in folder.iterdir() if (p / "dataset.yaml").is_file()):
        print(f"  and the records of one service alone, as its provider exports them, in {sub}")
    print(f"Next: evallib validate --data \"{folder}\"   or   evallib run --data \"{folder}\"")
    return 0


def cmd_areas(args: argparse.Namespace) -> int:
    """List the areas in params/areas/."""
    from evallib.params import ParamsError, available_areas, load_area, load_suite, params_dir

    names = available_areas()
    if not names:
        print(f"No area files in {params_dir() / 'areas'}; see docs/adapting.md to add one.")
        return 0
    try:
        in_suite = {r.area for r in load_suite().runs}
    except ParamsError:
        in_suite = set()
    print(f"Areas in {params_dir() / 'areas'}:")
    for name in names:
        try:
            area = load_area(name)
            detail = (f"{area.display_name}: {len(area.districts)} districts, "
                      f"programmes {', '.join(area.programmes)}")
        except ParamsError as exc:
            detail = f"cannot be read: {str(exc).splitlines()[0]}"
        mark = "  (in the default run)" if name in in_suite else ""
        print(f"  {name:<18} {detail}{mark}")
    return 0


def cmd_new_area(args: argparse.Namespace) -> int:
    """Draft an area file from an export, and say what to do next."""
    from evallib.new_area import write_draft

    folder = Path(args.source)
    path, draft = write_draft(args.name, folder, args.out, force=args.force)
    print(f"Drafted {path}: {draft.mapped_columns} column(s) and {draft.mapped_labels} label(s) matched, "
          f"dates read as {draft.date_format}.")
    if draft.todos:
        print(f"\n{len(draft.todos)} thing(s) to fill in (each is a # TODO in the file):")
        for item in draft.todos[:40]:
            print(f"  - {item}")
        if len(draft.todos) > 40:
            print(f"  ... and {len(draft.todos) - 40} more")
    steps = ["fill in each # TODO in the file, and check the lines marked 'close match'"]
    if draft.renames:
        steps.append("rename the files: " + ", ".join(f"{a} -> {b}" for a, b in draft.renames.items()))
    if not (folder / "dataset.yaml").exists():
        steps.append(f"add {folder / 'dataset.yaml'} with area: {args.name} and extract_date: YYYY-MM-DD")
    area = args.name
    if args.out:
        from evallib.params import params_dir

        steps.append(f"move it to {params_dir() / 'areas' / (args.name + '.yaml')} when it is ready")
        area = f"\"{path}\""
    steps += [f"check the export against it: evallib validate --data \"{folder}\" --area {area}",
              f"make the reports: evallib run --data \"{folder}\" --area {args.name} --period 2023-24"]
    print("\nNext:")
    for i, step in enumerate(steps, 1):
        print(f"  {i}. {step}")
    return 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    """List notebooks, or show one notebook's settings."""
    from evallib.runner import (
        OPTIONAL_PARAMETERS,
        REQUIRED_PARAMETERS,
        available_notebooks,
        notebook_parameters,
        notebooks_dir,
        resolve_notebook,
    )

    if not args.name:
        names = available_notebooks()
        print(f"Notebooks in {notebooks_dir()}:" if names else f"No notebooks in {notebooks_dir()}.")
        for n in names:
            print(f"  {n}")
        if names:
            print("\nSee one notebook's settings: evallib notebooks NAME")
        return 0
    path = resolve_notebook(args.name)
    declared = notebook_parameters(path)
    print(f"Settings of {path.stem} ({path}):")
    for p in declared.values():
        kind = "" if p["inferred_type_name"] in ("None", None) else f" ({p['inferred_type_name']})"
        who = ""
        if p["name"] in REQUIRED_PARAMETERS + OPTIONAL_PARAMETERS:
            who = "  [set by evallib run]"
        print(f"  {p['name']}{kind} = {p['default']}{who}")
        if p.get("help"):
            print(textwrap.indent(textwrap.fill(p["help"], 80), "      "))
    from evallib.notebook import notebook_needs

    needs = notebook_needs(path).describe()
    if needs:
        print("Data it needs (checked by `evallib validate` and `evallib run` before it runs):")
        for line in needs:
            print(textwrap.indent(textwrap.fill(line, 86), "  "))
    from evallib.runner import notebook_period_kinds, period_kinds_text

    kinds = notebook_period_kinds(path)
    if set(kinds) != {"year", "quarter", "range"}:
        print(f"Periods it takes: {period_kinds_text(kinds)} only.")
    print(f"\nChange a setting: evallib run --notebook {path.stem} --set NAME=VALUE")
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(prog="evallib", description=DESCRIPTION, epilog=MAIN_EXAMPLES,
                                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"evallib {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks (for reporting a bug)")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="make the reports (all of params/suite.yaml, or a selection)",
                         description="Make the reports: run each notebook for each area and period, "
                         "save code-free HTML (and PDF) reports, tables and results, and write "
                         "index.html linking them all.", epilog=RUN_EXAMPLES, formatter_class=_Formatter)
    run.add_argument("--area", action="append", metavar="AREA",
                     help="only this area (repeat for more); names as in `evallib areas`")
    run.add_argument("--period", action="append", metavar="PERIOD",
                     help="only this period (repeat for more): 2021-22, 2023-24Q3 or "
                     "2022-04-01..2022-11-30")
    run.add_argument("--notebook", action="append", metavar="NAME",
                     help="only this notebook (repeat for more); names as in `evallib notebooks`")
    run.add_argument("--data", metavar="DIR", help="the dataset folder (default: the suite's, "
                     "normally the demo data)")
    run.add_argument("--out", metavar="DIR", help="where reports go (default: outputs/)")
    run.add_argument("--jobs", type=_non_negative, default=1, metavar="N",
                     help="notebooks to run at the same time (default 1; 0 = one per CPU)")
    run.add_argument("--format", type=_formats, metavar="html,pdf",
                     help="html (always made) and/or pdf (needs Chromium); default from the suite")
    run.add_argument("--suppress-below", type=int, default=-1, metavar="N",
                     help="hide published counts from 1 to N-1 (default -1: the area's threshold)")
    run.add_argument("--set", type=_setting, action="append", metavar="NAME=VALUE",
                     help="change a notebook setting, e.g. window_months=24 (repeatable); area, "
                     "period, data_dir, output_dir and suppress_below have options of their own")
    run.add_argument("--suite", metavar="FILE", help="another suite file (default params/suite.yaml)")
    run.add_argument("--timeout", type=_non_negative, default=None, metavar="SECONDS",
                     help="stop a notebook whose cell runs longer than this")
    run.add_argument("--no-progress", action="store_true", help="no progress bar (for log files)")
    run.add_argument("--force", action="store_true",
                     help="make every report again, even those whose notebook, settings, data, area "
                     "and suite files and evallib are all unchanged since they were made")
    run.add_argument("--executor", choices=("local", "dask"), default="local",
                     help="local: --jobs processes on this machine (default); dask: each report a task "
                     "on a Dask cluster (see --scheduler)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="with --executor dask: the cluster's scheduler, e.g. tcp://10.0.0.5:8786 "
                     "(default: a local cluster of --jobs workers for this run)")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check a dataset against the data contract",
                         description="Check a dataset folder against the data contract and its "
                         "area's params, and list every problem at once.",
                         epilog=VALIDATE_EXAMPLES, formatter_class=_Formatter)
    val.add_argument("--data", required=True, metavar="DIR", help="the dataset folder")
    val.add_argument("--area", metavar="AREA", help="the area (default: from dataset.yaml)")
    val.add_argument("--out", metavar="FILE.csv", help="also write the problems to this CSV file")
    val.add_argument("--notebook", action="append", metavar="NAME",
                     help="check the data this report needs (repeat for more; default: the suite's "
                     "reports for the area)")
    val.set_defaults(func=cmd_validate)

    syn = sub.add_parser("synth", help="write a synthetic demo dataset",
                         description="Write a synthetic dataset for an area, in the form of the "
                         "data contract.", epilog=SYNTH_EXAMPLES, formatter_class=_Formatter)
    syn.add_argument("--area", default="leicestershire", metavar="AREA",
                     help="the area (default leicestershire)")
    syn.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    syn.add_argument("--seed", type=int, default=None, metavar="N",
                     help="random seed: the same seed gives the same dataset")
    syn.add_argument("--national", action="store_true",
                     help="a national dataset instead: 40 areas, 1M referrals, 10M police records, "
                     "Parquet partitioned by area (for benchmarks)")
    syn.add_argument("--scale", type=float, default=1.0, metavar="F",
                     help="with --national: a fraction of the full size (0.01 = 10,000 referrals)")
    syn.set_defaults(func=cmd_synth)

    areas = sub.add_parser("areas", help="list the areas the suite knows",
                           description="List the area files in params/areas/.",
                           epilog=AREAS_EXAMPLES, formatter_class=_Formatter)
    areas.set_defaults(func=cmd_areas)

    new = sub.add_parser("new-area", help="draft an area file from a provider's export",
                         description="Draft params/areas/NAME.yaml from an export as it came: its "
                         "headers and labels matched onto the data contract where the match can be "
                         "told, a # TODO for each that cannot, and the date format detected.",
                         epilog=NEW_AREA_EXAMPLES, formatter_class=_Formatter)
    new.add_argument("name", metavar="NAME", help="the new area's name (lower case, e.g. west_mercia)")
    new.add_argument("--from", dest="source", required=True, metavar="DIR",
                     help="the folder holding the export's files")
    new.add_argument("--out", metavar="FILE.yaml", help="where to write the draft (default params/areas/NAME.yaml)")
    new.add_argument("--force", action="store_true", help="replace the file if it exists")
    new.set_defaults(func=cmd_new_area)

    nbs = sub.add_parser("notebooks", help="list the report notebooks, or one notebook's settings",
                         description="List the report notebooks, or show the settings one takes.",
                         epilog=NOTEBOOKS_EXAMPLES, formatter_class=_Formatter)
    nbs.add_argument("name", nargs="?", metavar="NAME", help="a notebook name")
    nbs.set_defaults(func=cmd_notebooks)
    return parser


class _NotRaised(Exception):
    """Stands for an exception class whose module was never imported, so never raised."""


def _imported(module: str, name: str) -> type[BaseException]:
    """``module.name`` if the module is imported, else a class nothing raises: catching
    the loader's errors must not import the loader (pandas), which a run with nothing
    to make never needs."""
    return getattr(sys.modules.get(module), name, _NotRaised)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``evallib`` command; returns the exit code (0, 1, 2 or 130)."""
    from evallib.params import ParamsError, PeriodError
    from evallib.runner import RunnerError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return USER_ERROR
    try:
        return args.func(args)
    except _imported("evallib.schemas", "DataValidationError") as exc:
        if args.debug:
            raise
        _print_problems(exc, file=sys.stderr)
        return USER_ERROR
    except (ParamsError, PeriodError, RunnerError, _UserError, OSError) as exc:
        if args.debug:
            raise
        _err(str(exc))
        return USER_ERROR
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
