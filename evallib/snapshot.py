"""A dataset validated once per run: a Parquet snapshot of the validated tables.

Why: every notebook of a run loads the same dataset, and loading means reading every
file and checking every cell against the contract. The first load of a run writes the
validated tables to a *snapshot*; later loads whose inputs are byte for byte the same
read the snapshot instead (a plain Parquet read, no checks to redo).

A snapshot is found by a key: SHA-256 over the content of every file in the dataset
folder, the area's params, the contract code (``evallib/schemas.py``) and the pandas
version. Any change to any of them gives another key, so a stale snapshot is never
used. Snapshots hold the same person-level data as the dataset itself, so they live
beside it, in the dataset folder's hidden ``.evallib-cache/`` (or in
``$EVALLIB_CACHE``), never among the published outputs; only the latest two are kept.
When the folder cannot be written, loading simply validates every time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from evallib.params import AreaParams, load_area

if TYPE_CHECKING:
    from evallib.schemas import Dataset

# pandas and the loader are imported where a snapshot is read or made, not here:
# :func:`dataset_digest` is all an unchanged rerun needs (evallib.incremental).

__all__ = ["load_validated", "snapshot_key", "dataset_digest", "CACHE_DIR_NAME"]

CACHE_DIR_NAME = ".evallib-cache"
KEEP = 2
#: The code whose answer a snapshot keeps: the loader, the contract it checks, and its
#: vectorised helpers. A change to any of them makes every snapshot stale.
_LOADER_CODE = tuple(Path(__file__).resolve().parent / name for name in ("schemas.py", "contract.py", "fastops.py"))


def _content_files(folder: Path) -> list[Path]:
    """Every file of the dataset folder (partition folders included), hidden ones left out
    at any depth: a service's own dataset in a subfolder keeps its snapshot in its own
    ``.evallib-cache/``, which must not count as the outer dataset's content (else every
    run that reads the inner dataset would make the outer one's reports stale)."""
    def hidden(path: Path) -> bool:
        return any(part.startswith((".", "~$")) for part in path.relative_to(folder).parts)

    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not hidden(p)]


def dataset_digest(folder: str | Path) -> str:
    """SHA-256 over the names and bytes of every file of a dataset folder (hidden ones aside)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for p in _content_files(folder):
        h.update(p.relative_to(folder).as_posix().encode())
        with p.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def snapshot_key(folder: str | Path, area: AreaParams) -> str:
    """The key a snapshot of ``folder`` validated against ``area`` is stored under."""
    h = hashlib.sha256(dataset_digest(folder).encode())
    h.update(area.model_dump_json().encode())
    for code in _LOADER_CODE:
        h.update(code.read_bytes())
    import pandas as pd

    h.update(pd.__version__.encode())
    return h.hexdigest()


def _cache_root(folder: Path) -> Path:
    env = os.environ.get("EVALLIB_CACHE")
    return Path(env) if env else folder / CACHE_DIR_NAME


def _read(path: Path, folder: Path, area: AreaParams) -> Dataset | None:
    import pandas as pd

    from evallib.schemas import Dataset, DatasetMeta

    try:
        info = json.loads((path / "dataset.json").read_text(encoding="utf-8"))
        tables = {}
        for name, dtypes in info["dtypes"].items():
            df = pd.read_parquet(path / f"{name}.parquet")
            if [str(t) for t in df.dtypes] != dtypes or list(df.columns) != info["columns"][name]:
                return None
            tables[name] = df
        meta = DatasetMeta(**{**info["meta"], "extract_date": pd.Timestamp(info["meta"]["extract_date"]).date(),
                              "police_extract_date": (pd.Timestamp(info["meta"]["police_extract_date"]).date()
                                                      if info["meta"]["police_extract_date"] else None)})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Dataset(folder=folder, meta=meta, area=area, tables=tables, present=set(info["present"]),
                   files={k: folder / v for k, v in info["files"].items()}, fingerprint=info["fingerprint"])


def _write(ds: Dataset, path: Path) -> None:
    """Write the snapshot into a temporary folder, then move it into place (readers never
    see half a snapshot); give up quietly when a table cannot be stored."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for name, df in ds.tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        m = ds.meta
        info = {
            "meta": {"area": m.area, "extract_date": m.extract_date.isoformat(),
                     "police_extract_date": m.police_extract_date.isoformat() if m.police_extract_date else None,
                     "description": m.description, "synthetic": m.synthetic},
            "present": sorted(ds.present), "files": {k: v.name for k, v in ds.files.items()},
            "fingerprint": ds.fingerprint,
            "dtypes": {k: [str(t) for t in v.dtypes] for k, v in ds.tables.items()},
            "columns": {k: list(v.columns) for k, v in ds.tables.items()},
        }
        (tmp / "dataset.json").write_text(json.dumps(info, default=str), encoding="utf-8")
        try:
            tmp.rename(path)
        except OSError:          # another process wrote the same snapshot first
            shutil.rmtree(tmp, ignore_errors=True)
        _prune(path.parent)
    except Exception:            # a snapshot is only a shortcut: never fail a load for it
        shutil.rmtree(tmp, ignore_errors=True)


def _prune(root: Path) -> None:
    snaps = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".tmp")),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for old in snaps[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


def load_validated(folder: str | Path, area: AreaParams | str | None = None) -> Dataset:
    """:func:`evallib.schemas.load_dataset`, read from a snapshot when one matches.

    The answer is the same ``Dataset`` either way (tables, dtypes, metadata,
    fingerprint); a dataset with problems raises ``DataValidationError`` every time.
    """
    from evallib.schemas import load_dataset

    folder = Path(folder)
    if isinstance(area, str):
        area = load_area(area)
    if area is None or not folder.is_dir():
        return load_dataset(folder, area)
    try:
        key = snapshot_key(folder, area)
    except OSError:
        return load_dataset(folder, area)
    path = _cache_root(folder) / "datasets" / key[:32]
    if path.is_dir():
        ds = _read(path, folder, area)
        if ds is not None:
            return ds
    ds = load_dataset(folder, area)
    _write(ds, path)
    return ds
