"""A dataset validated once per run: the snapshot gives the same Dataset, and is never stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from evallib import schemas, snapshot
from evallib.notebook import load_for_notebook
from evallib.schemas import DataValidationError, load_dataset
from evallib.synthetic.demo import write_demo
from evallib.synthetic.national import write_national


@pytest.fixture(scope="module")
def _written(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo") / "demo")


@pytest.fixture()
def demo(_written, tmp_path):
    return Path(shutil.copytree(_written, tmp_path / "demo"))


def _same(a, b):
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert (a.meta, a.present, a.files, a.fingerprint, a.folder) == (b.meta, b.present, b.files, b.fingerprint,
                                                                    b.folder)


def _count_validations(monkeypatch):
    calls = []
    real = schemas.load_dataset   # what the snapshot calls to validate (imported when it does)

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(schemas, "load_dataset", counting)
    return calls


def test_second_load_reads_the_snapshot_and_gives_the_same_dataset(demo, monkeypatch):
    calls = _count_validations(monkeypatch)
    first = snapshot.load_validated(demo, "leicestershire")
    second = snapshot.load_validated(demo, "leicestershire")
    ds, _ = load_for_notebook(str(demo), "leicestershire")
    assert len(calls) == 1                       # validated once
    _same(first, load_dataset(demo, "leicestershire"))
    _same(second, first)
    _same(ds, first)
    assert (demo / snapshot.CACHE_DIR_NAME).is_dir()
    assert load_dataset(demo).fingerprint == first.fingerprint   # the hidden cache is not part of the data


def test_partitioned_national_dataset_round_trips(tmp_path):
    folder = write_national(tmp_path / "nat", n_referrals=800, n_police=4000)
    first = snapshot.load_validated(folder, "national")
    _same(snapshot.load_validated(folder, "national"), first)


def test_a_service_dataset_in_a_subfolder_keeps_its_snapshot_out_of_the_outer_key(tmp_path):
    """Derbyshire's demo keeps the Changes service's dataset in ``changes/``: loading it
    writes ``changes/.evallib-cache/``, which must not change the outer dataset's digest
    (it did: every rerun then made the area's and the pooled reports again)."""
    outer = write_demo(tmp_path / "outer")
    inner = write_demo(outer / "changes")
    before = snapshot.dataset_digest(outer)
    snapshot.load_validated(inner, "leicestershire")          # writes the inner snapshot
    assert any((inner / snapshot.CACHE_DIR_NAME).rglob("*.parquet"))
    (outer / "changes" / ".~lock.referrals.csv#").write_text("an office lock file")
    assert snapshot.dataset_digest(outer) == before
    (inner / "referrals.csv").write_bytes((inner / "referrals.csv").read_bytes() + b"\n")
    assert snapshot.dataset_digest(outer) != before              # the inner data itself counts


def test_a_changed_file_or_area_is_validated_again(demo, monkeypatch):
    calls = _count_validations(monkeypatch)
    snapshot.load_validated(demo, "leicestershire")
    ref = pd.read_csv(demo / "referrals.csv", dtype=str, keep_default_na=False)
    ref.loc[0, "age"] = "200"                    # now out of range
    ref.to_csv(demo / "referrals.csv", index=False)
    with pytest.raises(DataValidationError):
        snapshot.load_validated(demo, "leicestershire")
    with pytest.raises(DataValidationError):     # a dataset with problems fails every time
        snapshot.load_validated(demo, "leicestershire")
    assert len(calls) == 3


def test_cache_elsewhere_and_old_snapshots_pruned(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALLIB_CACHE", str(tmp_path / "cache"))
    for age in ("40", "41", "42"):
        ref = pd.read_csv(demo / "referrals.csv", dtype=str, keep_default_na=False)
        ref.loc[0, "age"] = age
        ref.to_csv(demo / "referrals.csv", index=False)
        snapshot.load_validated(demo, "leicestershire")
    assert not (demo / snapshot.CACHE_DIR_NAME).exists()
    assert len(list((tmp_path / "cache" / "datasets").iterdir())) == snapshot.KEEP


def test_a_cache_that_cannot_be_written_only_costs_time(demo, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("EVALLIB_CACHE", str(blocker))
    calls = _count_validations(monkeypatch)
    _same(snapshot.load_validated(demo, "leicestershire"), load_dataset(demo, "leicestershire"))
    snapshot.load_validated(demo, "leicestershire")
    assert len(calls) == 2
