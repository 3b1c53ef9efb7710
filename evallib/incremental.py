"""Incremental runs: a report is made again only when something it depends on changed.

A report depends on its notebook, the parameters papermill injects, the dataset (every
file of each dataset folder it reads), the area's params file, the suite file, the
output formats asked for, and evallib's own code. :func:`job_key` hashes all of them;
a finished report keeps its key in a small hidden file beside it
(``.<notebook>.evallib-key``: hashes and parameters, no data). On the next run,
:func:`is_current` says whether the report on disk was made from exactly these
inputs (and that every output it listed is still there); if so the runner reuses it
instead of running the notebook. ``evallib run --force`` makes every report again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from evallib import __version__

__all__ = ["package_digest", "job_key", "is_current", "record", "mark_reused", "key_path", "made_at"]

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def package_digest() -> str:
    """SHA-256 over evallib's own files (code, templates): any edit gives another digest."""
    h = hashlib.sha256(__version__.encode())
    for p in sorted(_PACKAGE.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"):
            h.update(p.relative_to(_PACKAGE).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _file_digest(path: Path | None) -> str:
    if path is None or not Path(path).is_file():
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def job_key(*, notebook: Path, parameters: Mapping[str, Any], data_dirs: Iterable[Path],
            area_files: Iterable[Path], suite_file: Path | None, formats: Iterable[str],
            digests: dict[Path, str] | None = None) -> str:
    """The key of one report: SHA-256 over everything it is made from.

    ``digests`` caches dataset digests across the jobs of a run (each dataset folder is
    read once per run, however many reports use it).
    """
    from evallib.snapshot import dataset_digest  # (pandas) only when keys are made

    digests = {} if digests is None else digests
    parts = {
        "evallib": package_digest(),
        "notebook": _file_digest(notebook),
        "parameters": json.dumps(dict(parameters), sort_keys=True, default=str),
        "formats": sorted(formats),
        "suite": _file_digest(suite_file),
        "areas": [_file_digest(p) for p in area_files],
        "data": [],
    }
    for folder in data_dirs:
        folder = Path(folder)
        if folder not in digests:
            digests[folder] = dataset_digest(folder) if folder.is_dir() else ""
        parts["data"].append(digests[folder])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def key_path(report_dir: Path, name: str) -> Path:
    """Where a report's key is kept: a hidden file in the report's folder (JSON, but not named
    ``.json``: it is bookkeeping, not one of the report's published files)."""
    return Path(report_dir) / f".{name}.evallib-key"


def is_current(report_dir: Path, name: str, key: str) -> bool:
    """Was the report in ``report_dir`` made from these inputs, with all its outputs there?"""
    path = key_path(report_dir, name)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if saved.get("key") != key:
        return False
    outputs = [Path(report_dir) / p for p in saved.get("outputs", [])]
    return bool(outputs) and all(p.exists() for p in outputs)


def record(report_dir: Path, name: str, key: str, outputs: Iterable[Path]) -> None:
    """Keep the key of a report just made, with the outputs it made (relative names)."""
    rel = sorted({Path(p).resolve().relative_to(Path(report_dir).resolve()).as_posix() for p in outputs})
    rel = [r for r in rel if r != key_path(report_dir, name).name]
    _write(report_dir, name, {"key": key, "outputs": rel, "made": _now(), "reused": None})


def mark_reused(report_dir: Path, name: str) -> None:
    """Note that a run reused the report (the index says so, with when it was made)."""
    path = key_path(report_dir, name)
    saved = json.loads(path.read_text(encoding="utf-8"))
    _write(report_dir, name, {**saved, "reused": _now()})


def made_at(report_dir: Path, name: str) -> tuple[str | None, str | None]:
    """When the report was made and when a run last reused it (ISO times, or ``None``)."""
    try:
        saved = json.loads(key_path(report_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    return saved.get("made"), saved.get("reused")


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _write(report_dir: Path, name: str, data: dict) -> None:
    key_path(report_dir, name).write_text(json.dumps(data, indent=1), encoding="utf-8")
