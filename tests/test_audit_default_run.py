"""An independent audit of a default run's published outputs (docs/disclosure.md, "The guarantee").

Nothing here uses the gate's or the suppression code: the audit reads what a run
published (results.json and the CSV tables, through :func:`published`), and with its own
linear programmes (scipy.optimize.linprog) tries to narrow every hidden count, using every
relation the reports state, report by report and for the reports of one area and period
together. The guarantee tested: no hidden count can be pinned to fewer than
``threshold`` possible whole values. It also checks that no statistic of a hidden group is
published, that summary and sections agree, and that the CSVs and results.json hold every
number the HTML tables show.
"""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

from evallib.runner import repo_root
from tests.lp_audit import narrowest

REPORTS = {"completers_vs_noncompleters", "partner_outcomes", "service_outputs", "quarterly_return"}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The whole default run (every area, period and report of params/suite.yaml, the pooled
    East Midlands report included), as HTML, with each block's demo data in a temporary folder."""
    root = tmp_path_factory.mktemp("audit")
    suite = yaml.safe_load((repo_root() / "params" / "suite.yaml").read_text(encoding="utf-8"))
    base = Path(suite["data"]).parent   # outputs/: demo folders there are written on first use

    def moved(path: str) -> str:
        return str(root / Path(path).relative_to(base))

    suite["data"], suite["out"], suite["formats"] = moved(suite["data"]), str(root / "out"), ["html"]
    for block in suite["runs"]:
        if block.get("data"):
            block["data"] = moved(block["data"])
    (root / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "evallib", "run", "--suite", str(root / "suite.yaml"),
                           "--no-progress"], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "out"


# -- reading a run's outputs (one place, so that the folder layout may change) --------------


def published(out: Path) -> dict[tuple[str, ...], dict]:
    """Per area and period folder: its reports' disclosure records, results, CSV tables and HTML pages.

    A report's record is any object in a results.json holding ``report``, ``counts`` and
    ``sums``, wherever the file and the object sit under ``<area>/<period>/``.
    """
    found: dict[tuple[str, ...], dict] = {}
    for path in sorted(out.rglob("results.json")):
        rel = path.relative_to(out).parts
        if len(rel) < 3:
            continue
        entry = found.setdefault(rel[:2], {"records": {}, "results": [], "csv": [], "html": []})
        data = json.loads(path.read_text(encoding="utf-8"))
        entry["results"].append(data)
        for rec in _records(data):
            entry["records"][rec["report"]] = rec
    for key, entry in found.items():
        folder = out.joinpath(*key)
        entry["csv"] = sorted(folder.rglob("*.csv"))
        entry["html"] = sorted(folder.rglob("*.html"))
    return found


def _records(obj) -> list[dict]:
    if isinstance(obj, dict):
        if {"report", "counts", "sums"} <= set(obj):
            return [obj]
        return [r for v in obj.values() for r in _records(v)]
    if isinstance(obj, list):
        return [r for v in obj for r in _records(v)]
    return []


def test_the_audit_catches_a_count_given_away_by_subtraction():
    # the case: 43 starters shown, 39 completers shown, non-completers hidden
    rec = {"report": "r", "threshold": 5, "counts": {"starters": 43, "c": 39, "nc": None}, "latent": [],
           "sums": [{"total": "starters", "members": ["c", "nc"]}], "at_most": [], "shared": {}}
    assert narrowest({"r": rec}) == {"r:nc": 1}
    rec["counts"]["c"] = None
    assert narrowest({"r": rec}) == {"r:c": 44, "r:nc": 44}
    # across reports: a shared total shown in one report gives away the other's hidden part
    other = {"report": "o", "threshold": 5, "counts": {"all": 43}, "latent": [], "sums": [], "at_most": [],
             "shared": {"all": "starters"}}
    rec["shared"] = {"starters": "starters"}
    rec["counts"].update(starters=None, c=39)
    assert narrowest({"r": rec, "o": other})["r:nc"] == 1


def test_every_report_publishes_its_record(out):
    runs = published(out)
    assert runs
    seen = set().union(*(set(e["records"]) for e in runs.values()))
    assert seen >= REPORTS
    for entry in runs.values():
        for rec in entry["records"].values():
            assert rec["threshold"] == 5 and rec["min_possible_values"] == 5
            assert rec["counts"], rec["report"]


def test_an_unchanged_rerun_of_the_whole_default_run_reuses_every_report(out):
    """Every report of the default run is reused when nothing changed: the areas whose
    demo data holds a service's dataset in a subfolder (Derbyshire's ``changes/``) and the
    pooled reports that read them included."""
    proc = subprocess.run([sys.executable, "-m", "evallib", "run", "--suite", str(out.parent / "suite.yaml"),
                           "--no-progress"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((out / "run-log.json").read_text(encoding="utf-8"))["results"]
    made = [(r["area"], r["period"], Path(r["notebook"]).stem) for r in results if not r["reused"]]
    assert len(results) >= 19 and made == []


def test_no_hidden_count_can_be_narrowed_in_any_report(out):
    hidden = 0
    for where, entry in published(out).items():
        for report, rec in entry["records"].items():
            widths = narrowest({report: rec})
            hidden += len(widths)
            bad = {k: v for k, v in widths.items() if v < rec["threshold"]}
            assert not bad, f"{'/'.join(where)} {report}: {bad}"
    assert hidden > 0   # there is something to protect in the default run


def test_reports_of_one_period_checked_together(out):
    for where, entry in published(out).items():
        if len(entry["records"]) < 2:
            continue
        widths = narrowest(entry["records"])
        bad = {k: v for k, v in widths.items() if v < 5}
        assert not bad, f"{'/'.join(where)}: {bad}"


# -- no statistic of a hidden group; summary and sections agree -------------------------------


def _evaluations(out: Path):
    for where, entry in published(out).items():
        for res in entry["results"]:
            if "outcomes" in res and "disclosure" in res:
                html = [p for p in entry["html"] if "completers" in p.name]
                csvs = {p.stem: p for p in entry["csv"]}
                yield where, res, (html[0].read_text(encoding="utf-8") if html else ""), csvs


def _text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "img"]):
        tag.decompose()
    return soup.get_text(" ", strip=True)


def test_no_statistic_about_a_hidden_group(out):
    checked = 0
    for _, res, html, csvs in _evaluations(out):
        groups = res["outcomes"]["any"]["groups"]
        hidden = [g for g, v in groups.items() if v["n"] is None]
        if not hidden:
            continue
        checked += 1
        text = _text(html)
        for variant in res["outcomes"].values():
            assert "p_value" not in variant and "difference" not in variant
            for g in hidden:
                assert all(variant["groups"][g][k] is None for k in ("rate", "ci_low", "ci_high", "reoffenders"))
        tte = res["time_to_event"]
        assert tte["logrank"] is None and tte["cox_completed"] is None
        assert all(tte["without_reoffence_at_end"][g] is None for g in hidden)
        adj = res["adjusted"]
        assert adj["logistic_completed"] is None and adj["propensity_att"] is None
        assert "Log-rank test: chi-square" not in text and "hazard ratio for completing" not in text
        assert "odds ratio for completing" not in text.lower().replace("logistic regression: ", "")
        labels = {"completed": "Completers", "not_completed": "Non-completers"}
        head = pd.read_csv(csvs["headline"], dtype=str, keep_default_na=False)
        assert (head["p-value"] == "").all()
        for g in hidden:
            assert set(head[labels[g]]) <= {"[c]"}, head[labels[g]]
            ba = pd.read_csv(csvs["before_after"], dtype=str, keep_default_na=False)
            rows = ba[ba["Group"] == labels[g]].drop(columns=["Group", "Span"])
            assert set(rows.to_numpy().ravel()) <= {"[c]"}, rows          # not even "0 incidents"
            risk = pd.read_csv(csvs["numbers_at_risk"], dtype=str, keep_default_na=False)
            assert set(risk[risk["Still followed"] == labels[g]].iloc[0, 1:]) == {"[c]"}
        t1 = pd.read_csv(csvs["table_one"], dtype=str, keep_default_na=False)
        assert not t1["SMD"].str.match(r"^[+-]\d").any()                # no SMD between the groups
        for col in t1.columns:
            if any(col.startswith(labels[g]) for g in hidden):
                assert set(t1[col]) <= {"", "[c]"}, col
        sens = pd.read_csv(csvs["sensitivity"], dtype=str, keep_default_na=False)
        assert (sens["p-value"] == "").all() and (sens["Difference (95% CI)"] == "[c]").all()
    assert checked, "the default run should include a period with a hidden group (leicestershire 2021-22)"


def test_summary_and_sections_agree(out):
    for where, res, html, _ in _evaluations(out):
        text = _text(html)
        conclusion = res["adjusted"]["conclusion"]
        assert text.count(conclusion) >= 2, f"{where}: the summary and section 4 should both say: {conclusion}"
        if "No adjusted estimate could be made" in conclusion or res["adjusted"]["withheld"]:
            assert "Logistic regression: odds ratio" not in text and "Propensity weighting: difference" not in text
        if res["time_to_event"]["cox_completed"] is None:
            assert "hazard ratio for completing" not in text
        elif "Neither adjusted estimate" in conclusion:
            assert "hazard ratio for completing" in text
        compared = "difference" in res["outcomes"]["any"]
        assert ("cannot both be published" in text) != compared


# -- the CSVs and results.json hold every number of the HTML tables -----------------------------

NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?![\w])")
PERCENT = re.compile(r"(\d+)%")


def _numbers(text: str) -> set[str]:
    return {m.replace(",", "").lstrip("+") for m in NUMBER.findall(text)}


def _published_numbers(entry: dict) -> set[str]:
    found: set[str] = set()
    for path in entry["csv"]:
        with path.open(encoding="utf-8", newline="") as f:
            cells = [c for row in csv.reader(f) for c in row]
        for cell in cells:
            found |= _numbers(cell)
            for number in NUMBER.findall(cell):
                try:
                    found |= _renderings(float(number.replace(",", "")))
                except ValueError:
                    continue

    def walk(v):
        if isinstance(v, bool) or v is None:
            return
        if isinstance(v, (int, float)):
            found.update(_renderings(float(v)))
        elif isinstance(v, str):
            found.update(_numbers(v))
        elif isinstance(v, dict):
            for w in v.values():
                walk(w)
        elif isinstance(v, list):
            for w in v:
                walk(w)

    for res in entry["results"]:
        walk(res)
    return found


def _renderings(x: float) -> set[str]:
    """The ways a report prints a number: as is, to 1-3 decimals, as a whole percentage."""
    out = {f"{x:g}", f"{x:.1f}", f"{x:.2f}", f"{x:.3f}", f"{abs(x):.2f}", f"{x:.0f}"}
    if -1 <= x <= 1:
        out |= {str(math.floor(100 * x + 0.5)), f"{100 * x:.0f}", f"{100 * abs(x):.0f}"}
    if x == int(x):
        out.add(str(int(x)))
    return out


def _names(area: str) -> list[str]:
    """The area file's own names (programme labels such as "180 (high harm, one-to-one)",
    districts, groups): words of the area, not results, however many digits they hold."""
    path = repo_root() / "params" / "areas" / f"{area}.yaml"
    if not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = [str(p.get("label", "")) for p in (doc.get("programmes") or {}).values() if isinstance(p, dict)]
    names += [str(d) for d in doc.get("districts") or []] + [str(g) for g in (doc.get("groups") or {})]
    return sorted((n for n in names if re.search(r"\d", n)), key=len, reverse=True)


def test_csvs_and_results_hold_every_number_of_the_html_tables(out):
    for where, entry in published(out).items():
        have = _published_numbers(entry)
        names = _names(where[0])
        for page in entry["html"]:
            soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
            for table in soup.find_all("table"):
                if table.find_parent(class_="evallib-cover") or "fingerprint" in table.get_text().lower():
                    continue   # the cover: provenance, not results
                for tr in table.find_all("tr"):
                    text = tr.get_text(" ")
                    for name in names:
                        text = text.replace(name, " ")
                    missing = _numbers(text) - have - _row_percentages(text)
                    assert not missing, f"{'/'.join(where)} {page.name}: {sorted(missing)[:10]} in {text!r}"


def _row_percentages(text: str) -> set[str]:
    """Percentages in a row that are one of its counts of another ("10 of 12 (83%)"): nothing new."""
    counts = [int(x.replace(",", "")) for x in re.findall(r"(?<![\w.%])\d[\d,]*(?![\w.%])", text)]
    derived = {str(math.floor(100 * a / b + 0.5)) for a in counts for b in counts if b and a <= b}
    derived |= {f"{100 * a / b:.0f}" for a in counts for b in counts if b and a <= b}
    return {p for p in PERCENT.findall(text) if p in derived}
