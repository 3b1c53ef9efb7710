"""The pooled evaluation (evallib.reports.pooled): pooling within areas, disclosure over the whole report.

On the three demo areas (Leicestershire, Nottinghamshire, Derbyshire: docs/demo-data.md),
2021-22: the single-area Leicestershire report withholds its comparison (4 non-completers);
pooled over the three areas it is published.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evallib import stats
from evallib.params import ParamsError, load_suite, parse_period
from evallib.reports import evaluation, pooled
from evallib.synthetic.demo import write_demo
from tests.lp_audit import possible_values

REPO = Path(__file__).resolve().parents[1]
AREAS = ["leicestershire", "nottinghamshire", "derbyshire"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The three areas' demo datasets, one folder each."""
    data = tmp_path_factory.mktemp("pooled") / "data"
    for a in AREAS:
        write_demo(data / a, area=a)
    return {"data": data}


@pytest.fixture(scope="module")
def report(world):
    pool = pooled.load_pool(world["data"], ",".join(AREAS), "2021-22", name="east_midlands",
                            title="East Midlands")
    return pooled.build_report(pool)


def test_pooled_report_publishes_the_comparison_the_single_area_report_withholds(world, report):
    llr = report.pool.strata[0].ev
    assert llr.dataset.area.name == "leicestershire"
    assert evaluation.wording(llr) is None          # 2021-22 LLR alone: withheld (4 non-completers)
    llr_n0 = int((llr.analysed()["group"] == "not_completed").sum())
    assert llr_n0 < report.rule.threshold
    mh = report.pub.stat("pooled.mh")
    assert mh is not None and report.pub.count("all.n0") > llr_n0
    words = pooled.wordings(report)
    assert words and "Mantel-Haenszel" in words[0].difference_sentence
    assert words[0].verdict != "not_assessable"


def test_pooled_estimates_are_the_meta_analysis_of_each_areas_counts(report):
    c = report.counts
    mh = stats.mantel_haenszel_difference(c["c1"], c["n1"], c["c0"], c["n0"])
    re = stats.pooled_difference(c["c1"], c["n1"], c["c0"], c["n0"])
    assert report.mh.difference == pytest.approx(mh.difference)
    assert report.re.difference_ci == pytest.approx(re.difference_ci)
    # never a crude comparison of everybody together
    crude = c["c1"].sum() / c["n1"].sum() - c["c0"].sum() / c["n0"].sum()
    assert report.mh.difference != pytest.approx(crude, abs=1e-12)


def test_no_hidden_count_can_be_worked_out_from_the_whole_report(report):
    rec = report.pub.record()
    assert rec["min_possible_values"] == report.rule.threshold
    widths = possible_values(rec)
    assert widths, "something is hidden in this pool (LLR has 4 non-completers)"
    assert all(w >= report.rule.threshold for w in widths.values()), widths
    for key, v in rec["counts"].items():
        assert v is None or v == 0 or v >= report.rule.threshold, (key, v)


def test_an_area_too_small_to_show_is_in_the_pool_without_its_own_row(report):
    hidden = [s for s in report.counts["stratum"] if s not in report.shown_strata()]
    assert "s1" in hidden                            # LLR 2021-22: 4 non-completers
    table = pooled.forest_table(report)
    llr = table[table["Area"] == "Leicester, Leicestershire & Rutland"].iloc[0]
    assert llr["_kind"] == "hidden" and math.isnan(llr["_d"])
    assert llr["Completers"] == report.rule.symbol
    assert "included in the pooled rows" in llr["95% interval"]
    pooled_rows = table[table["_kind"] == "pooled"]
    n0_total = report.pub.count("all.n0")
    assert all(f"of {n0_total} " in r for r in pooled_rows["Non-completers"])
    alt = pooled.forest_alt(table)
    assert "not shown (small numbers)" in alt
    # no statistic of a hidden area's own leaks through the per-area curves
    assert not report.pub.has_stat("s1.tte")


def test_results_json_holds_only_published_numbers(report):
    res = pooled.results_json(report)
    text = json.dumps(res, default=str)
    assert "person_id" not in text and "referral_id" not in text
    assert res["totals"]["not_completed"]["n"] == report.pub.count("all.n0")
    hidden = [s for s in res["strata"] if not s["shown"]]
    assert hidden and all(set(s) == {"label", "area", "period", "shown"} for s in hidden)
    assert res["headline"].startswith("One-year proven reoffending, East Midlands pooled")


def test_flow_of_every_area_side_by_side_with_the_same_protection(report):
    flow = pooled.flow_table(report)
    for s in report.pool.strata:
        assert s.label in flow.columns
    analysed = flow[flow["Stage"] == "Non-completers analysed"].iloc[0]
    assert analysed["Leicester, Leicestershire & Rutland"] == report.rule.symbol


def test_period_over_several_years_is_stratified_by_year(world):
    pool = pooled.load_pool(world["data"] / "leicestershire", "leicestershire", "2021-04-01..2022-11-30")
    assert [s.period.label for s in pool.strata] == ["2021-22", "2022-04-01..2022-11-30"]
    assert pool.by_year and pool.strata[1].label.endswith("2022-04-01..2022-11-30")
    assert pooled.split_by_year(parse_period("2021-22")) == [parse_period("2021-22")]


def test_data_folders_are_found_per_area_or_refused_naming_the_area(world):
    d = world["data"]
    assert pooled.resolve_data_dirs(d, ["derbyshire"]) == {"derbyshire": d / "derbyshire"}
    assert pooled.resolve_data_dirs(f"derbyshire={d / 'x'}", ["derbyshire"]) == {"derbyshire": d / "x"}
    with pytest.raises(ParamsError, match="no dataset for derbyshire"):
        pooled.resolve_data_dirs(d / "nottinghamshire", ["nottinghamshire", "derbyshire"])
    with pytest.raises(ParamsError, match="gives no dataset for derbyshire"):
        pooled.resolve_data_dirs(f"nottinghamshire={d}", ["nottinghamshire", "derbyshire"])
    # the demo folders: demo-data (Leicestershire) and demo-data-<area> beside it
    demo = Path("outputs/demo-data")
    assert pooled.resolve_data_dirs(demo, AREAS) == {
        "leicestershire": demo, "nottinghamshire": Path("outputs/demo-data-nottinghamshire"),
        "derbyshire": Path("outputs/demo-data-derbyshire")}


def test_a_pooled_suite_block_plans_one_job_with_every_areas_dataset(world, tmp_path):
    from evallib.runner import plan

    suite = load_suite()
    block = suite.runs[0].model_copy(update={"area": "test_pool", "areas": ["leicestershire", "derbyshire"],
                                             "title": "Test pool", "notebooks": ["pooled_evaluation"],
                                             "periods": ["2021-22"], "data": str(world["data"])})
    jobs = [j for j in plan(suite.model_copy(update={"runs": [*suite.runs, block]}), out=tmp_path)
            if j.area == "test_pool"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job.out_dir == tmp_path / "test_pool" / "2021-22" / "pooled_evaluation"
    assert job.members == {"leicestershire": world["data"] / "leicestershire",
                           "derbyshire": world["data"] / "derbyshire"}
    assert job.parameters["areas"] == "leicestershire,derbyshire" and job.parameters["title"] == "Test pool"
    assert pooled.resolve_data_dirs(job.parameters["data_dir"], ["leicestershire", "derbyshire"]) == job.members
    with pytest.raises(ParamsError, match="must not be an area"):
        plan(suite.model_copy(update={"runs": [block.model_copy(update={"area": "derbyshire"})]}), out=tmp_path)


def test_the_default_suite_pools_the_east_midlands_from_each_areas_own_demo_data(tmp_path):
    from evallib.runner import plan, repo_root

    jobs = [j for j in plan(out=tmp_path) if j.area == "east_midlands"]
    assert {j.period for j in jobs} >= {"2021-22"}
    demo = repo_root() / "outputs"
    assert jobs[0].members == {"leicestershire": demo / "demo-data",
                               "nottinghamshire": demo / "demo-data-nottinghamshire",
                               "derbyshire": demo / "demo-data-derbyshire"}


def test_the_notebook_runs_on_the_three_areas_and_publishes_the_pooled_comparison(world, tmp_path):
    """The notebook as a user runs it (papermill), so that the report's sections stay in step
    with the modules they call."""
    import papermill

    out = tmp_path / "east_midlands"
    papermill.execute_notebook(
        str(REPO / "notebooks" / "pooled_evaluation.ipynb"), str(tmp_path / "run.ipynb"),
        parameters={"area": "east_midlands", "areas": ",".join(AREAS), "period": "2021-22",
                    "data_dir": str(world["data"]), "output_dir": str(out), "title": "East Midlands"},
        cwd=str(REPO / "notebooks"), progress_bar=False)
    res = json.loads((out / "results.json").read_text())
    assert res["pooled"]["mantel_haenszel"]["difference_ci"][1] < 0.5
    assert res["headline"].startswith("One-year proven reoffending, East Midlands pooled")
    assert {p.stem for p in (out / "tables").glob("*.csv")} >= {"forest", "pooled", "record_flow"}
