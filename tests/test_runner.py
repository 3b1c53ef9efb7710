"""The runner: planning and parameter checks, execution with failure reports, the
code-free HTML report, the A4 PDF and the index page.

Kernel start-up is slow, so the two fixture notebooks are executed once (module
fixture ``run``: one succeeds, one raises in cell 3) and every execution test reads
that run. Everything else works on notebooks built in memory, with no kernel.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pypdf
import pytest
import yaml
from bs4 import BeautifulSoup

from evallib import runner
from evallib.params import ParamsError, PeriodError, load_suite
from evallib.runner import (
    ChromiumNotFoundError,
    NotebookNotFoundError,
    NotebookParameterError,
    RunnerError,
    execute,
    find_chromium,
    html_to_pdf,
    plan,
    render_html,
    write_index,
)

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
OK = FIXTURES / "ok_report.ipynb"
FAILING = FIXTURES / "failing.ipynb"
A4 = (595.28, 841.89)  # points


def write_suite(folder: Path, notebooks, periods=("2021-22",), area="leicestershire") -> Path:
    suite = {
        "data": str(folder / "data"), "out": str(folder / "out"), "formats": ["html"],
        "runs": [{"area": area, "periods": list(periods), "notebooks": [str(n) for n in notebooks]}],
    }
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path


def executed_notebook(cells, title=None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    if title:
        nb.metadata["title"] = title
    nb.cells = cells
    return nb


def code_cell(source, outputs=(), tags=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


# --------------------------------------------------------------------------- planning
def test_plan_expands_areas_periods_notebooks(tmp_path):
    suite = write_suite(tmp_path, [OK, FAILING], periods=["2021-22", "2022-04-01..2022-11-30"])
    jobs = plan(suite)
    assert [(j.period, j.name) for j in jobs] == [
        ("2021-22", "ok_report"), ("2021-22", "failing"),
        ("2022-04-01..2022-11-30", "ok_report"), ("2022-04-01..2022-11-30", "failing")]
    first = jobs[0]
    assert first.out_dir == tmp_path / "out" / "leicestershire" / "2021-22" / "ok_report"
    assert jobs[1].out_dir == tmp_path / "out" / "leicestershire" / "2021-22" / "failing"  # no shared folder
    assert jobs[2].out_dir.parent.name == "2022-04-01_2022-11-30"
    assert first.notebook.is_absolute() and first.data_dir.is_absolute()
    assert first.parameters == {"area": "leicestershire", "period": "2021-22",
                                "data_dir": str(tmp_path / "data"),
                                "output_dir": str(first.out_dir), "suppress_below": -1}
    # failing.ipynb does not declare suppress_below: a suite-wide optional parameter is
    # then not passed (papermill would warn and the notebook would ignore it anyway)
    assert "suppress_below" not in jobs[1].parameters
    assert jobs[1].html_path == jobs[1].out_dir / "failing.html"


def test_command_line_overrides_the_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = load_suite(write_suite(tmp_path, [OK, FAILING]))
    jobs = plan(suite, periods=["2023-24Q3", "2023-24Q3"], notebooks=[str(OK)], data="mine",
                out="reports", suppress_below=10)
    assert [(j.area, j.period, j.name) for j in jobs] == [("leicestershire", "2023-24Q3", "ok_report")]
    assert jobs[0].data_dir == tmp_path / "mine"  # command-line paths: relative to the cwd
    assert jobs[0].out_dir == tmp_path / "reports" / "leicestershire" / "2023-24Q3" / "ok_report"
    assert jobs[0].parameters["suppress_below"] == 10
    # suppression off: an internal tree of its own, never a published report's folder
    internal = plan(suite, notebooks=[str(OK)], out="reports", suppress_below=0)[0]
    assert internal.out_dir == tmp_path / "reports" / "internal" / "leicestershire" / "2021-22" / "ok_report"


def test_bad_period_teaches_the_right_forms(tmp_path):
    suite = write_suite(tmp_path, [OK])
    with pytest.raises(PeriodError) as err:
        plan(suite, periods=["2023/24"])
    for form in ("2021-22", "2023-24Q3", "2022-04-01..2022-11-30"):
        assert form in str(err.value)


def test_area_outside_the_suite_needs_periods_and_must_exist(tmp_path):
    suite = write_suite(tmp_path, [OK])
    with pytest.raises(ParamsError, match="--period"):
        plan(suite, areas=["nottinghamshire"])
    jobs = plan(suite, areas=["nottinghamshire"], periods=["2022-23"])
    assert [(j.area, j.period, j.name) for j in jobs] == [("nottinghamshire", "2022-23", "ok_report")]
    with pytest.raises(ParamsError, match="no area called 'atlantis'"):
        plan(suite, areas=["atlantis"])


def test_unknown_parameter_is_refused_naming_notebook_and_accepted_ones(tmp_path):
    suite = write_suite(tmp_path, [OK])
    with pytest.raises(NotebookParameterError) as err:
        plan(suite, extra_parameters={"window_monthz": 24})
    message = str(err.value)
    assert "ok_report.ipynb" in message
    assert "'window_monthz'" in message and "did you mean 'window_months'" in message
    for accepted in ("area: str", "period: str", "data_dir: str", "output_dir: str",
                     "suppress_below: int", "window_months: int = 12"):
        assert accepted in message


def test_a_parameter_some_notebooks_lack_is_refused_for_those(tmp_path):
    suite = write_suite(tmp_path, [OK, FAILING])
    with pytest.raises(NotebookParameterError, match=r"failing\.ipynb[\s\S]*'window_months'"):
        plan(suite, extra_parameters={"window_months": 24})
    jobs = plan(suite, notebooks=[str(OK)], extra_parameters={"window_months": "24"})
    assert jobs[0].parameters["window_months"] == 24  # text from the command line, typed
    with pytest.raises(NotebookParameterError, match="takes a int"):
        plan(suite, notebooks=[str(OK)], extra_parameters={"window_months": "two years"})


def test_notebook_must_declare_the_suite_parameters(tmp_path):
    nb = executed_notebook([code_cell('area: str = "x"\nperiod: str = "2021-22"', tags=["parameters"])])
    path = tmp_path / "incomplete.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(NotebookParameterError, match="does not declare data_dir, output_dir"):
        plan(write_suite(tmp_path, [path]))
    nb.cells[0].metadata["tags"] = []
    nbformat.write(nb, path)
    with pytest.raises(NotebookParameterError, match="no cell tagged 'parameters'"):
        plan(write_suite(tmp_path, [path]))


def test_missing_notebook_lists_what_exists(tmp_path):
    with pytest.raises(NotebookNotFoundError, match="no notebook 'annual_repot'"):
        plan(write_suite(tmp_path, ["annual_repot"]))


def test_execute_refuses_unknown_format_before_running(tmp_path):
    jobs = plan(write_suite(tmp_path, [OK]))
    with pytest.raises(RunnerError, match="docx"):
        execute(jobs, formats=("html", "docx"), progress=False)
    assert not jobs[0].out_dir.exists()


# --------------------------------------------------------------------------- execution
PREVIOUS = {"failing.html": "<title>Failing fixture</title>previous complete report",
            "tables/t.csv": "a\n1\n", "results.json": '{"headline": "previous headline"}\n'}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Execute both fixture notebooks once, in parallel, with HTML and PDF output.

    ``failing`` has a complete report from an earlier run, and leftovers of a killed run
    lie in the period folder: the failing rerun must leave the one as it was and the
    others must go.
    """
    folder = tmp_path_factory.mktemp("run")
    jobs = plan(write_suite(folder, [OK, FAILING]))
    for name, text in PREVIOUS.items():
        (jobs[1].out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (jobs[1].out_dir / name).write_text(text)
    (jobs[0].period_dir / ".staging-ok_report-killed" / "tables").mkdir(parents=True)
    (jobs[0].period_dir / "tables").mkdir()  # the earlier layout's shared files: stale
    for name in ("tables/partner_engagement.csv", "results.json", "ok_report.html", "failing.error.txt"):
        (jobs[0].period_dir / name).write_text("stale")
    (folder / "out" / ".evallib-work" / "run-1" / "evallib-kernel-x").mkdir(parents=True)
    report = execute(jobs, n_jobs=2, formats=("html", "pdf"), progress=False)
    return {"jobs": jobs, "report": report, "out": folder / "out"}


def test_failure_names_cell_and_error_and_the_other_report_is_made(run):
    report = run["report"]
    assert [r.job.name for r in report.successes] == ["ok_report"]
    assert [r.job.name for r in report.failures] == ["failing"]
    failure = report.failures[0]
    assert failure.cell == 3  # markdown, parameters, then the raise: cell 3 as written
    assert failure.ename == "ValueError"
    assert "fixture failure in cell three" in failure.evalue
    assert failure.executed.exists()  # the partly run notebook is kept for reading,
    assert failure.executed.parent == failure.job.failed_dir  # beside the report, not in it
    # the failed rerun leaves the last complete report exactly as it was: no mix
    assert {str(p.relative_to(failure.job.out_dir)): p.read_text() for p in failure.job.out_dir.rglob("*")
            if p.is_file()} == PREVIOUS
    assert sorted(p.name for p in failure.job.failed_dir.iterdir()) == ["error.txt", "failing.ipynb"]
    text = report.to_text()
    assert "cell 3 of" in text and "ValueError: fixture failure in cell three" in text
    assert str(failure.executed) in text
    assert "1 of 2 report(s) made; 1 failed." in text
    assert report.successes[0].outputs["html"].exists()


def test_html_report_has_no_code_and_embeds_the_figure(run):
    html = run["jobs"][0].html_path.read_text(encoding="utf-8")
    assert "<title>Fixture report for tests</title>" in html
    assert "FIXTURE_MARKDOWN_TEXT" in html
    assert "Report for leicestershire in 2021-22" in re.sub(r"<[^>]+>", "", html)  # printed output is kept
    assert f"kernel python: {sys.executable}" in html  # the kernel is this venv's Python
    assert re.search(r'<img [^>]*src="data:image/png;base64,', html)
    body = html.split("<body", 1)[1]  # the style sheet names these classes; the page must not
    assert not re.search(r'class="[^"]*(jp-InputArea|jp-CodeMirrorEditor|highlight)', body)
    assert "In&nbsp;[" not in body and "In [" not in body and "Out[" not in body
    for code in ("OutputFolder(output_dir)", "import warnings", "plt.subplots",
                 "FIXTURE_REMOVED_CELL", "FIXTURE_WARNING_TEXT", "window_months: int"):
        assert code not in html, code
    assert "<script" not in html  # opens offline; nothing fetched from a CDN


def test_no_staging_or_kernel_folders_are_left(run):
    period = run["jobs"][0].period_dir
    assert sorted(p.name for p in period.iterdir()) == ["failing", "failing.failed", "ok_report"]
    assert not (run["out"] / ".evallib-work").exists()


def test_notebook_outputs_are_written_to_the_job_folder(run):
    out_dir = run["jobs"][0].out_dir
    assert (out_dir / "tables" / "by_district.csv").read_text().splitlines()[0] == "district,people"
    results = json.loads((out_dir / "results.json").read_text())
    assert results == {"headline": "Fixture headline for leicestershire 2021-22", "people": 15,
                       "window_months": 12}


def test_pdf_from_the_run_is_a4(run):
    pdf = run["jobs"][0].pdf_path
    reader = pypdf.PdfReader(pdf)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4, abs=2)
    assert "FIXTURE_MARKDOWN_TEXT" in reader.pages[0].extract_text()


def test_index_links_every_report(run):
    index = write_index(run["out"])
    assert index == run["out"] / "index.html"
    page = index.read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert "leicestershire/2021-22/ok_report/ok_report.html" in hrefs
    assert "leicestershire/2021-22/ok_report/ok_report.pdf" in hrefs
    assert "leicestershire/2021-22/ok_report/tables/by_district.csv" in hrefs
    assert "leicestershire/2021-22/failing/failing.html" in hrefs  # the last complete report,
    assert "leicestershire/2021-22/failing.failed/failing.ipynb" in hrefs  # the failed rerun,
    assert "leicestershire/2021-22/failing.failed/error.txt" in hrefs  # with what went wrong
    assert all(not h.startswith(("/", "file:")) for h in hrefs)  # relative links
    assert all((run["out"] / h).exists() for h in hrefs)
    assert "Leicester, Leicestershire &amp; Rutland" in page
    assert ">April 2021 to March 2022 (financial year)</a>" in page  # the period in words
    visible = BeautifulSoup(page, "html.parser").get_text()
    assert "2021-22" not in visible.replace("Fixture headline for leicestershire 2021-22", "")  # no codes
    assert "Fixture headline for leicestershire 2021-22" in page and "previous headline" in page
    assert "<h3" in page and "Fixture report for tests</h3>" in page  # grouped by report type
    assert "the report above is from the last run that did" in page
    assert "<main>" in page
    error = (run["out"] / "leicestershire/2021-22/failing.failed/error.txt").read_text()
    assert "cell 3" in error and "ValueError: fixture failure in cell three" in error


# --------------------------------------------------------------------------- rendering
def test_render_html_drops_stderr_removed_cells_and_injected_parameters(tmp_path):
    nb = executed_notebook([
        nbformat.v4.new_markdown_cell("# A *plain* title\n\nprose"),
        code_cell('area = "SECRET_INJECTED"', tags=["injected-parameters"]),
        code_cell("x", outputs=[
            {"output_type": "stream", "name": "stderr", "text": "UserWarning: WARNED_TEXT"},
            {"output_type": "stream", "name": "stdout", "text": "KEPT_STDOUT"}]),
        code_cell("y", outputs=[{"output_type": "stream", "name": "stdout", "text": "REMOVED_CELL"}],
                  tags=["remove_cell"]),
        code_cell("z", outputs=[{"output_type": "stream", "name": "stdout", "text": "REMOVED_OUTPUT"}],
                  tags=["remove_output"]),
    ])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    html = render_html(path).read_text(encoding="utf-8")
    assert "<title>A plain title</title>" in html
    assert "KEPT_STDOUT" in html
    for gone in ("WARNED_TEXT", "REMOVED_CELL", "REMOVED_OUTPUT", "SECRET_INJECTED"):
        assert gone not in html, gone


def test_title_from_notebook_metadata(tmp_path):
    nb = executed_notebook([nbformat.v4.new_markdown_cell("# Heading")], title='Annual "LLR" report')
    nbformat.write(nb, tmp_path / "t.ipynb")
    html = render_html(tmp_path / "t.ipynb", tmp_path / "x" / "t.html").read_text(encoding="utf-8")
    assert "<title>Annual &quot;LLR&quot; report</title>" in html or \
        "<title>Annual \"LLR\" report</title>" in html


def test_chromium_is_installed():
    try:
        exe = find_chromium()
    except ChromiumNotFoundError as exc:
        pytest.fail(f"PDF tests need Chromium: {exc}")
    assert Path(exe).exists()


def test_html_to_pdf_is_a4_with_page_numbers_and_whole_tables(tmp_path):
    rows = "".join(f"<tr><td>district {i}</td><td>{i * 7}</td></tr>" for i in range(1, 161))
    table = f"<table><thead><tr><th>district</th><th>people</th></tr></thead><tbody>{rows}</tbody></table>"
    nb = executed_notebook([
        nbformat.v4.new_markdown_cell("# Long table report\n\nKNOWN_PDF_STRING"),
        code_cell("t", outputs=[{"output_type": "display_data", "metadata": {},
                                 "data": {"text/html": table, "text/plain": "table"}}]),
    ])
    nbformat.write(nb, tmp_path / "long.ipynb")
    html = render_html(tmp_path / "long.ipynb")
    pdf = html_to_pdf(html)
    assert pdf == tmp_path / "long.pdf"
    reader = pypdf.PdfReader(pdf)
    n = len(reader.pages)
    assert n >= 2
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=2)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "KNOWN_PDF_STRING" in text
    assert f"Page 1 of {n}" in reader.pages[0].extract_text()
    assert f"Page {n} of {n}" in reader.pages[-1].extract_text()
    assert "Long table report" in reader.pages[1].extract_text()  # running title on page 2
    assert "district 160" in text and "1120" in text  # the last row is printed, not cut off
    assert "file:" not in text and str(tmp_path) not in text  # no browser header/footer


def test_missing_chromium_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("EVALLIB_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ChromiumNotFoundError, match="apt-get install chromium"):
        find_chromium()
    monkeypatch.setenv("EVALLIB_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(ChromiumNotFoundError, match="EVALLIB_CHROMIUM"):
        find_chromium()
    jobs = [runner.Job("leicestershire", "2021-22", OK, tmp_path, tmp_path / "o", {})]
    with pytest.raises(ChromiumNotFoundError):
        execute(jobs, formats=("html", "pdf"), progress=False)  # refused before running


def test_index_of_an_empty_folder_says_how_to_make_reports(tmp_path):
    page = write_index(tmp_path / "empty").read_text(encoding="utf-8")
    assert "No reports yet" in page and "evallib run" in page


# --------------------------------------------------------------------------- runner-owned settings
@pytest.mark.parametrize(("name", "option"), [("area", "--area"), ("period", "--period"), ("data_dir", "--data"),
                                              ("output_dir", "--out"), ("suppress_below", "--suppress-below")])
def test_settings_the_runner_owns_are_refused_naming_the_option(tmp_path, capsys, name, option):
    from evallib import cli

    with pytest.raises(NotebookParameterError, match=f"use {option} instead"):
        plan(write_suite(tmp_path, [OK]), extra_parameters={name: "2022-23"})
    code = cli.main(["run", "--suite", str(write_suite(tmp_path, [OK])), f"--set={name}=../elsewhere"])
    assert code == 2 and f"use {option} instead" in capsys.readouterr().err


def test_an_area_is_a_plain_name_or_an_area_file_never_a_way_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = write_suite(tmp_path, [OK])
    for bad in ("../leicestershire", "leicestershire/../../x", "/etc/passwd", "a b"):
        with pytest.raises(ParamsError, match="plain name"):
            plan(suite, areas=[bad], periods=["2021-22"])
    copy = tmp_path / "mine" / "leicestershire.yaml"  # an area file outside params/, named by path
    copy.parent.mkdir()
    copy.write_text((Path(runner.repo_root()) / "params/areas/leicestershire.yaml").read_text())
    job = plan(suite, areas=["mine/leicestershire.yaml"], periods=["2021-22"], out="o")[0]
    assert job.parameters["area"] == str(copy)  # handed to the notebook as the file it is
    assert job.out_dir == tmp_path / "o" / "leicestershire" / "2021-22" / "ok_report"


def test_the_quarterly_return_takes_a_financial_quarter_only(tmp_path, capsys):
    from evallib import cli
    from evallib.reports.quarterly import require_quarter

    suite = write_suite(tmp_path, [OK])
    for period in ("2021-22", "2022-04-01..2022-06-30"):
        with pytest.raises(PeriodError, match=r"quarterly_return takes only a financial quarter such as 2023-24Q3"):
            plan(suite, notebooks=["quarterly_return"], periods=[period])
        with pytest.raises(PeriodError, match="2023-24Q2"):
            require_quarter(period)  # the report itself refuses too, when run by hand
        code = cli.main(["run", "--suite", str(suite), "--notebook", "quarterly_return", "--period", period])
        assert code == 2 and "financial quarter such as 2023-24Q3" in capsys.readouterr().err
    assert require_quarter("2022-23Q2").kind == "quarter"
    assert cli.main(["notebooks", "quarterly_return"]) == 0
    assert "Periods it takes: a financial quarter such as 2023-24Q3" in capsys.readouterr().out
    skipped: list[str] = []  # with other notebooks, the return is left out of the year, and says so
    jobs = plan(suite, notebooks=["quarterly_return", str(OK)], periods=["2021-22", "2022-23Q2"], skipped=skipped)
    assert [(j.period, j.name) for j in jobs] == [("2021-22", "ok_report"), ("2022-23Q2", "quarterly_return"),
                                                  ("2022-23Q2", "ok_report")]
    assert len(skipped) == 1 and skipped[0].startswith("quarterly_return left out for 2021-22")


# --------------------------------------------------------------------------- killed rerun
SLOW = """{"cells": [
 {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": null, "outputs": [], "source":
  "area: str = \\"leicestershire\\"  # area\\nperiod: str = \\"2021-22\\"  # period\\ndata_dir: str = \\".\\"  # data\\noutput_dir: str = \\"\\"  # out\\npause: float = 0  # seconds to wait half way"},
 {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source":
  "import time\\nimport pandas as pd\\nfrom evallib.outputs import OutputFolder\\nout = OutputFolder(output_dir)\\nout.table('half', pd.DataFrame({'run': [pause]}))\\ntime.sleep(pause)\\nout.results({'headline': f'run with pause {pause}'})\\nprint('done')"}],
 "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
 "nbformat": 4, "nbformat_minor": 5}"""


def test_a_killed_rerun_leaves_the_last_complete_report_and_is_cleaned_up(tmp_path):
    """kill -9 of the whole run (runner, worker, kernel) half way through a rerun."""
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import MINIMAL, write_tables

    nb = tmp_path / "slow.ipynb"
    nb.write_text(SLOW)
    data, out = write_tables(tmp_path / "data", MINIMAL), tmp_path / "out"
    cmd = [sys.executable, "-m", "evallib", "run", "--suite", str(write_suite(tmp_path, [nb])), "--data", str(data),
           "--out", str(out), "--no-progress", "--format", "html"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    report = out / "leicestershire" / "2021-22" / "slow"
    before = {p: p.read_bytes() for p in report.rglob("*") if p.is_file()}
    index = (out / "index.html").read_bytes()
    assert b"run with pause 0" in index

    proc = subprocess.Popen([*cmd, "--set", "pause=60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(report.parent.glob(".staging-slow-*/tables/half.csv")):  # the rerun is half way
        assert time.monotonic() < deadline and proc.poll() is None, "the rerun never got half way"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert {p: p.read_bytes() for p in report.rglob("*") if p.is_file()} == before  # untouched: no mix
    assert (out / "index.html").read_bytes() == index  # the index links the same complete report
    assert list(report.parent.glob(".staging-*"))  # the killed run's leftovers ...

    third = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stdout + third.stderr
    assert not list(report.parent.glob(".staging-*")) and not (out / ".evallib-work").exists()  # ... cleaned up
    assert sorted(p.name for p in report.parent.iterdir()) == ["slow"]


def test_index_groups_marks_and_keeps_internal_reports_apart(tmp_path):
    def report(*parts, results, extra=()):
        folder = tmp_path.joinpath(*parts)
        (folder / "tables").mkdir(parents=True)
        (folder / f"{parts[-1]}.html").write_text(f"<title>{parts[-1]} title</title>")
        (folder / "results.json").write_text(json.dumps(results))
        (folder / "tables" / "t.csv").write_text("a\n")
        for name in extra:
            (folder / name).write_text("x")

    report("leicestershire", "2022-23Q2", "quarterly_return", extra=["quarterly_return.xlsx"],
           results={"headline": "<b>7 valid referrals</b>", "synthetic": True, "for_publication": True})
    report("leicestershire", "2021-04-01_2022-11-30", "service_outputs",
           results={"headline": "Service outputs: not shown (small numbers): Rutland referrals."})
    report("internal", "leicestershire", "2021-22", "service_outputs",
           results={"headline": "INTERNAL HEADLINE", "for_publication": False})
    report("interactive", "leicestershire", "2021-22", "service_outputs", results={"headline": "BY HAND"})
    page = write_index(tmp_path).read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert "leicestershire/2022-23Q2/quarterly_return/quarterly_return.xlsx" in hrefs  # the workbook
    assert "leicestershire/2022-23Q2/quarterly_return/tables/t.csv" in hrefs  # and tables
    assert ">July to September 2022 (quarter 2 of the financial year)</a>" in page
    assert ">April 2021 to November 2022</a>" in page
    assert "&lt;b&gt;7 valid referrals&lt;/b&gt;" in page  # headlines are text, not markup
    assert "Quarterly monitoring return</h3>" in page and "Service outputs by district</h3>" in page
    assert "synthetic data" in page and "Synthetic data." in page
    assert "not shown (small numbers): Rutland referrals" in page
    main, internal = page.split('<h2 id="internal">')
    assert "INTERNAL HEADLINE" not in main and "INTERNAL HEADLINE" in internal  # apart, and marked
    assert "NOT FOR PUBLICATION" in internal and "internal/leicestershire/2021-22/service_outputs/" in internal
    assert "BY HAND" not in page and "interactive/" not in page  # notebooks run by hand: never listed
    assert "<main>" in page and "</main>" in page
    footer = re.search(r"footer \{[^}]*color: #([0-9a-f]{6})", page).group(1)
    assert _contrast(footer, "ffffff") >= 4.5


def _contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two sRGB colours given as hex."""
    def lum(h):
        c = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_a_second_run_on_the_same_output_folder_is_refused(tmp_path):
    jobs = plan(write_suite(tmp_path, [OK]))
    with runner._run_lock(tmp_path / "out"), pytest.raises(RunnerError, match="another `evallib run` is writing"):
        execute(jobs, progress=False)
    assert not jobs[0].out_dir.exists()
