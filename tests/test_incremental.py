"""Incremental runs: a report's key changes with every input it is made from, and only then."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evallib import incremental
from evallib.snapshot import CACHE_DIR_NAME


@pytest.fixture()
def inputs(tmp_path):
    data = tmp_path / "data"
    (data / "police.parquet").mkdir(parents=True)
    (data / "referrals.csv").write_text("referral_id\nR1\n")
    (data / "police.parquet" / "01-a.parquet").write_bytes(b"x")
    nb = tmp_path / "report.ipynb"
    nb.write_text("{}")
    area = tmp_path / "area.yaml"
    area.write_text("name: a\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text("runs: []\n")
    return {"notebook": nb, "parameters": {"period": "2021-22", "window_months": 12}, "data_dirs": [data],
            "area_files": [area], "suite_file": suite, "formats": ["html"]}


def test_the_same_inputs_give_the_same_key_and_any_change_another(inputs, tmp_path):
    base = incremental.job_key(**inputs)
    assert incremental.job_key(**inputs) == base
    data = inputs["data_dirs"][0]
    (data / CACHE_DIR_NAME).mkdir()                  # the loader's own snapshot is not an input
    (data / CACHE_DIR_NAME / "x").write_text("cache")
    assert incremental.job_key(**inputs) == base
    changes = [
        lambda: inputs["notebook"].write_text('{"cells": []}'),
        lambda: inputs["parameters"].update(window_months=24),
        lambda: (data / "police.parquet" / "02-b.parquet").write_bytes(b"y"),   # one area's file more
        lambda: (data / "referrals.csv").write_text("referral_id\nR2\n"),
        lambda: inputs["area_files"][0].write_text("name: a\ndisclosure: {threshold: 10}\n"),
        lambda: inputs["suite_file"].write_text("runs: [x]\n"),
        lambda: inputs.update(formats=["html", "pdf"]),
    ]
    seen = {base}
    for change in changes:
        change()
        key = incremental.job_key(**inputs)
        assert key not in seen
        seen.add(key)


def test_evallib_code_is_an_input(inputs, monkeypatch):
    base = incremental.job_key(**inputs)
    monkeypatch.setattr(incremental, "package_digest", lambda: "another evallib")
    assert incremental.job_key(**inputs) != base


def test_a_report_is_current_only_with_its_key_and_all_its_outputs(tmp_path):
    report = tmp_path / "out" / "a" / "2021-22" / "report"
    (report / "tables").mkdir(parents=True)
    made = [report / "report.html", report / "tables" / "t.csv"]
    for p in made:
        p.write_text("x")
    assert not incremental.is_current(report, "report", "k1")          # never recorded
    incremental.record(report, "report", "k1", made)
    assert incremental.is_current(report, "report", "k1")
    assert not incremental.is_current(report, "report", "k2")          # inputs changed
    (report / "tables" / "t.csv").unlink()
    assert not incremental.is_current(report, "report", "k1")          # an output went missing
    shutil.rmtree(report)
    assert not incremental.is_current(report, "report", "k1")


def test_package_digest_covers_the_templates():
    files = {p.name for p in Path(incremental.__file__).parent.rglob("*.j2")}
    assert files and len(incremental.package_digest()) == 64
