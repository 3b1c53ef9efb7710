"""The whole command on the demo data: reports, tables, results, index, and no leaks."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.conftest import run_demo_suite

ID_COLUMNS = {
    "referrals": ["referral_id", "person_id"], "episodes": ["episode_id"], "partners": ["partner_id"],
    "police": ["offence_id", "person_id"], "incidents": ["incident_id"], "sessions": ["session_id"],
    "onward_referrals": ["onward_id"],
}


PERIOD = ("leicestershire", "2021-22")
EVALUATION = "completers_vs_noncompleters"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data, out = run_demo_suite(tmp_path_factory.mktemp("e2e"), "--period", "2021-22")
    return data, out, None


def test_every_notebook_of_the_period_made_a_report_in_its_own_folder(run):
    _, out, _ = run
    period = out.joinpath(*PERIOD)
    made = {p.stem for p in period.glob("*/*.html")}
    assert {EVALUATION, "partner_outcomes", "service_outputs"} <= made
    for html in period.glob("*/*.html"):
        assert html.parent.name == html.stem  # <period>/<report>/<report>.html
    assert not list(period.glob("*.*")) and not (period / "tables").exists()  # nothing shared
    # the two reports that once wrote tables/partner_engagement.csv each have their own
    assert (period / "service_outputs/tables/partner_engagement.csv").read_text() != \
        (period / "partner_outcomes/tables/partner_engagement.csv").read_text()


def test_index_links_every_report(run):
    _, out, _ = run
    index = (out / "index.html").read_text()
    reports = sorted(out.glob("*/*/*/*.html"))
    assert reports
    for report in reports:
        assert str(report.relative_to(out)) in index
        for table in report.parent.glob("tables/*.csv"):
            assert str(table.relative_to(out)) in index
    assert "One-year proven reoffending" in index   # the headline from results.json
    assert "Partner Support Service: " in index and "Service outputs: " in index  # every report's headline
    assert "Synthetic data" in index  # the demo data are made up, and the index says so


def test_jobs_do_not_change_the_outputs(run, tmp_path):
    """--jobs 2 gives byte-identical tables and results to --jobs 1 (the module's run)."""
    data, out, _ = run
    _, out2 = run_demo_suite(tmp_path, "--period", "2021-22", "--jobs", "2", "--notebook", "service_outputs",
                             "--notebook", "partner_outcomes", "--format", "html", data=data)
    for report in ("service_outputs", "partner_outcomes"):
        one, two = out.joinpath(*PERIOD, report), out2.joinpath(*PERIOD, report)
        files = sorted(p.relative_to(one) for p in one.rglob("*") if p.suffix in (".csv", ".json"))
        assert files and files == sorted(p.relative_to(two) for p in two.rglob("*") if p.suffix in (".csv", ".json"))
        for f in files:
            assert (one / f).read_bytes() == (two / f).read_bytes(), f"{report}/{f} differs"


def test_report_is_code_free_with_embedded_figures(run):
    _, out, _ = run
    html = out.joinpath(*PERIOD, EVALUATION, f"{EVALUATION}.html").read_text()
    assert "evaluation.evaluate" not in html and "import " not in html
    assert "jp-InputArea jp-Cell-inputArea" not in html and "In&nbsp;[" not in html
    assert "highlight-ipynb" not in html and "load_for_notebook" not in html
    assert len(re.findall(r'<img [^>]*src="data:image/svg\+xml;base64,', html)) >= 3  # SVG: sharp on paper
    assert len(re.findall(r'<img [^>]*alt="[^"]{20,}"', html)) >= 3
    assert "Record flow" in html and "Wilson" in html


def test_results_json_has_each_group(run):
    _, out, _ = run
    res = json.loads(out.joinpath(*PERIOD, EVALUATION, "results.json").read_text())
    for variant in ("any", "da"):
        for group in ("completed", "not_completed"):
            g = res["outcomes"][variant]["groups"][group]
            assert set(g) >= {"n", "reoffenders", "rate", "ci_low", "ci_high"}
            if g["n"] is not None and g["rate"] is not None:  # shown: a rate inside its interval
                assert g["n"] > 0 and g["ci_low"] <= g["rate"] <= g["ci_high"]
            else:  # hidden by disclosure control: nothing about the group, and the headline says so
                assert g["rate"] is None and g["ci_low"] is None and g["reoffenders"] is None
                assert f"{g['label'].lower()} not shown" in res["headline"].lower()
    assert res["dataset_fingerprint"] and res["settings"]["window_months"] == 12


def test_tables_written_as_csv(run):
    _, out, _ = run
    tables = out.joinpath(*PERIOD, EVALUATION, "tables")
    flow = pd.read_csv(tables / "record_flow.csv")
    assert list(flow.columns) == ["Stage", "Step", "People", "Reason"]
    rates = pd.read_csv(tables / "reoffending_any.csv")
    assert list(rates["group"]) == ["completed", "not_completed"]


def test_no_output_contains_a_person_level_identifier(run):
    data, out, _ = run
    ids: set[str] = set()
    for table, cols in ID_COLUMNS.items():
        df = pd.read_csv(data / f"{table}.csv", dtype=str)
        for c in cols:
            ids.update(df[c].dropna())
    assert len(ids) > 1000
    pattern = re.compile(r"(?<![A-Za-z0-9+/])(" + "|".join(map(re.escape, sorted(ids))) + r")(?![A-Za-z0-9+/])")
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in files) and any(p.suffix == ".csv" for p in files)
    for p in files:
        hits = pattern.findall(p.read_text(errors="replace"))
        assert not hits, f"{p} contains person-level identifiers: {sorted(set(hits))[:5]}"


def test_no_small_count_in_published_tables(run):
    _, out, _ = run
    for csv in out.joinpath(*PERIOD).glob("*/tables/*.csv"):
        df = pd.read_csv(csv)
        for col in df.columns:
            if col in ("n", "reoffenders", "People"):
                vals = pd.to_numeric(df[col], errors="coerce").dropna()
                assert not vals.between(1, 4).any(), f"{csv.name}:{col} shows a count from 1 to 4"
