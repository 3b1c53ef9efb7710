"""Whatever arrives: the right answer or a clear refusal (issue 8).

A corpus of bad inputs, as providers, police analysts and new users send them: contract
violations, export mess, dataset.yaml mistakes, identifying columns, command-line abuse,
empty and huge files. Every case goes through the command line in-process
(``cli.main``) and must:

- exit with the expected status (2 for anything the user must fix);
- name what is wrong (file, column, row and value where there is one) in the first
  lines of the output, with the fix;
- never show a traceback;
- publish nothing: no report is run (the runner's ``execute`` is replaced by a spy) and
  nothing is written to the output folder.

Some export mess is read, not refused (semicolons, title rows, file names in capitals):
those cases must give the same tables as the clean file. Datasets are a handful of rows
written to ``tmp_path``; no notebook runs here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evallib import cli, runner
from evallib.schemas import load_dataset
from tests.conftest import MINIMAL, write_tables

POLICE = [{"offence_id": "O1", "person_id": "P1", "offence_date": "2022-01-10", "da_related": "yes",
           "outcome": "conviction", "outcome_date": "2022-03-01"}]
PARTNERS = [{"partner_id": "PS1", "referral_id": "R1", "offered_date": "2021-06-10", "engaged": "yes"}]
#: A dataset meeting the contract and every report's needs (police and partner records too).
FULL = {**MINIMAL, "police": POLICE, "partners": PARTNERS}


# --------------------------------------------------------------------------- editing helpers
def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, table: str, df: pd.DataFrame) -> None:
    df.to_csv(folder / f"{table}.csv", index=False)


def cell(table: str, column: str, value: str, row: int = 0) -> Callable[[Path], None]:
    """Set one cell (``row`` 0 is file row 2)."""
    def edit(folder: Path) -> None:
        df = read(folder, table)
        if column not in df.columns:
            df[column] = ""
        df.loc[row, column] = value
        write(folder, table, df)
    return edit


def rows(table: str, *extra: dict) -> Callable[[Path], None]:
    """Append rows (unset columns empty)."""
    def edit(folder: Path) -> None:
        df = read(folder, table)
        write(folder, table, pd.concat([df, pd.DataFrame(list(extra))], ignore_index=True).fillna(""))
    return edit


def drop(table: str, column: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        write(folder, table, read(folder, table).drop(columns=column))
    return edit


def rename(table: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        write(folder, table, read(folder, table).rename(columns={old: new}))
    return edit


def raw(name: str, content: bytes | str | None) -> Callable[[Path], None]:
    """Write a file as bytes (``None`` deletes it)."""
    def edit(folder: Path) -> None:
        if content is None:
            (folder / name).unlink()
        else:
            (folder / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return edit


def text(name: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / name).write_text(change((folder / name).read_text(encoding="utf-8")), encoding="utf-8")
    return edit


def move(old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / old).rename(folder / new)
    return edit


def meta(**keys) -> Callable[[Path], None]:
    """Change dataset.yaml keys (``None`` removes one)."""
    def edit(folder: Path) -> None:
        doc = yaml.safe_load((folder / "dataset.yaml").read_text())
        for k, v in keys.items():
            if v is None:
                doc.pop(k, None)
            else:
                doc[k] = v
        (folder / "dataset.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return edit


def area_file(extra_yaml: str) -> Callable[[Path], None]:
    """Append keys to a copy of the leicestershire area file (EVALLIB_PARAMS points at it)."""
    def edit(folder: Path) -> None:
        path = folder.parent / "params" / "areas" / "leicestershire.yaml"
        path.write_text(path.read_text() + extra_yaml)
    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        for e in edits:
            e(folder)
    return edit


# --------------------------------------------------------------------------- the corpus
@dataclass
class Case:
    """One bad input. ``edit`` spoils a copy of :data:`FULL`; ``argv`` is the command
    ({data}, {out}, {tmp} filled in); ``named`` must appear in the first lines of the
    output (``first`` of them); ``absent`` must not appear anywhere."""

    id: str
    edit: Callable[[Path], None] | None
    named: list[str]
    argv: list[str] = field(default_factory=lambda: ["validate", "--data", "{data}"])
    code: int = 2
    first: int = 4
    absent: list[str] = field(default_factory=list)


def V(id, edit, *named, first=4, absent=(), notebook=None):  # noqa: N802 - reads as a table
    """A dataset case, checked with ``evallib validate``."""
    argv = ["validate", "--data", "{data}"] + (["--notebook", notebook] if notebook else [])
    return Case(id, edit, list(named), argv, first=first, absent=list(absent))


def C(id, argv, *named, edit=None, code=2):  # noqa: N802
    """A command-line case."""
    return Case(id, edit, list(named), argv, code=code, first=3)


R = "referrals.csv"
E = "episodes.csv"
P = "police.csv"
ROW2 = "row 2"
IDENTIFIERS = ["NHS Number", "nhs_no", "D.O.B.", "Date of Birth", "Full Name", "Surname", "Postcode",
               "Address Line 1", "Mobile", "Email", "NI Number", "PNC ID", "Client Post Code", "first_name",
               "Tel No", "Case Notes", "Home Address", "E-mail Address", "Forename", "National Insurance No"]

CONTRACT = [
    V("missing-required-column", drop("referrals", "source"), f"{R}, column source: required column is missing"),
    V("impossible-date", cell("referrals", "referral_date", "2021-13-01"),
      f"{R}, column referral_date, {ROW2}, value '2021-13-01': not a date"),
    V("date-as-text", cell("referrals", "referral_date", "first of May"), "referral_date", ROW2, "'first of May'"),
    # Found by tests/test_loader_fuzz.py: a year pandas parses but a nanosecond date cannot hold crashed the loader.
    V("no-date-as-9999", cell("episodes", "end_date", "9999-12-31"),
      f"{E}, column end_date, {ROW2}, value '9999-12-31'", "1678 to 2261", "leave the cell empty"),
    V("year-before-1678", cell("referrals", "referral_date", "1066-10-14"), "column referral_date",
      "'1066-10-14'", "cannot hold as a date"),
    V("unknown-district", cell("referrals", "district", "Narnia"), f"{R}, column district, {ROW2}, value 'Narnia'",
      "Blaby"),
    V("unknown-source", cell("referrals", "source", "friend"), "column source", "'friend'", "not a known category"),
    V("bool-not-yes-no", cell("referrals", "eligible", "maybe"), "column eligible", "'maybe'", "yes/no"),
    V("age-not-a-number", cell("referrals", "age", "forty"), "column age", "'forty'", "not a whole number"),
    V("age-fraction", cell("referrals", "age", "35.5"), "column age", "'35.5'", "not a whole number"),
    V("age-too-young", cell("referrals", "age", "5"), "column age", "'5'", "between 10 and 110"),
    V("age-too-old", cell("referrals", "age", "200"), "column age", "'200'", "between 10 and 110"),
    V("negative-count", cell("referrals", "children", "-1"), "column children", "'-1'", "0 or more"),
    V("duplicate-id", rows("referrals", {**MINIMAL["referrals"][0], "person_id": "P2"}),
      "column referral_id", "'R1'", "id is not unique"),
    V("empty-required-value", cell("referrals", "person_id", ""), "column person_id", ROW2, "required value is empty"),
    V("foreign-key", cell("episodes", "referral_id", "R9"), f"{E}, column referral_id, {ROW2}, value 'R9'",
      "not found in referrals"),
    V("end-before-start", cell("episodes", "end_date", "2021-05-01"), "column end_date", "'2021-05-01'",
      "before start_date"),
    V("attended-over-offered", both(cell("episodes", "sessions_offered", "10"),
                                    cell("episodes", "sessions_attended", "12")),
      "column sessions_attended", "'12'", "more sessions attended than offered"),
    V("ended-without-end-date", cell("episodes", "end_date", ""), "column end_date", ROW2, "no end_date"),
    V("ongoing-with-end-date", cell("episodes", "status", "ongoing"), "column end_date", "ongoing"),
    V("unknown-programme", cell("episodes", "programme", "basket_weaving"), "column programme",
      "'basket_weaving'", "second_step"),
    V("unknown-status", cell("episodes", "status", "finished"), "column status", "'finished'"),
    V("date-after-extract", cell("referrals", "referral_date", "2025-01-01"), "column referral_date",
      "'2025-01-01'", "after the extract date"),
    V("police-date-after-police-extract", both(meta(police_extract_date="2022-06-30"),
                                               cell("police", "offence_date", "2023-01-01")),
      f"{P}, column offence_date", "'2023-01-01'", "2022-06-30"),
    V("police-unknown-outcome", cell("police", "outcome", "jail"), "column outcome", "'jail'"),
    V("police-bool", cell("police", "da_related", "perhaps"), "column da_related", "'perhaps'"),
    V("police-duplicate-offence", rows("police", POLICE[0]), "column offence_id", "'O1'", "not unique"),
    V("partners-dash-range", cell("partners", "dash_start", "30"), "partners.csv, column dash_start", "'30'",
      "between 0 and 27"),
    V("partners-category", cell("partners", "feels_safer", "sometimes"), "column feels_safer", "'sometimes'"),
    V("onward-both-ids", raw("onward_referrals.csv", "onward_id,referral_id,partner_id,service,date\n"
                             "ON1,R1,PS1,housing,2021-07-01\n"), "onward_referrals.csv, column referral_id",
      "exactly one of"),
    V("onward-no-partners-table", both(raw("partners.csv", None),
                                       raw("onward_referrals.csv", "onward_id,referral_id,partner_id,service,date\n"
                                           + "".join(f"ON{i},,PS{i},housing,2021-07-01\n" for i in range(50)))),
      "onward_referrals.csv, column partner_id: 50 row(s) not checked against partners.partner_id",
      notebook="service_outputs", absent=["not found in partners"]),
    V("sessions-negative", raw("sessions.csv", "session_id,programme,session_date,format,attendees\n"
                               "S1,second_step,2021-07-01,group,-3\n"), "sessions.csv, column attendees",
      "'-3'"),
    V("sessions-format", raw("sessions.csv", "session_id,programme,session_date,format,attendees\n"
                             "S1,second_step,2021-07-01,webinar,3\n"), "column format", "'webinar'"),
    V("incidents-reporter", raw("incidents.csv", "incident_id,referral_id,incident_date,reported_by\n"
                                "I1,R1,2021-07-01,neighbour\n"), "incidents.csv, column reported_by",
      "'neighbour'"),
    V("missing-episodes", raw("episodes.csv", None), "episodes.csv", "required table episodes is missing"),
    V("missing-referrals", raw("referrals.csv", None), "referrals.csv", "required table referrals is missing",
      absent=["not found in referrals"]),
    V("unknown-column", cell("referrals", "favourite_colour", "blue"), "column favourite_colour",
      "not in the data contract", "extra_columns"),
    V("misspelt-column", rename("referrals", "referral_date", "referal_date"), "column referal_date",
      "rename it referral_date"),
    V("column-twice", text("referrals.csv", lambda t: t.replace("eligible\n", "eligible,source\n", 1)
                           .replace("yes\n", "yes,self\n")), "column source", "more than once"),
    V("values-without-a-header", text("referrals.csv", lambda t: t.replace("eligible\n", "eligible,\n", 1)
                                      .replace("yes\n", "yes,oops\n")), "(column 7, no name)", ROW2, "'oops'"),
]

IDENTIFYING = [
    V(f"identifier-{name}", cell("referrals", name, "x"), f"{R}, column {name}: this column holds",
      "would identify a person", absent=["list it under"]) for name in IDENTIFIERS
] + [
    V("identifier-listed-as-extra", both(area_file("extra_columns:\n  referrals: [Date of Birth]\n"),
                                         cell("referrals", "Date of Birth", "1990-01-01")),
      "Date of Birth", "would identify a person", absent=["list it under"]),
    V("identifier-mapped-onto-person-id", both(area_file("columns:\n  referrals: {NHS Number: person_id}\n"),
                                               rename("referrals", "person_id", "NHS Number")),
      "NHS Number", "would identify a person", absent=["list it under"]),
]

EXPORT_MESS = [
    V("near-miss-name", move("referrals.csv", "referral.csv"), "required table referrals is missing",
      "referral.csv", "rename it referrals.csv", first=6),
    V("old-excel-format", move("referrals.csv", "referrals.xls"), "referrals.xls", "save it as referrals.xlsx",
      first=6),
    V("text-file", move("referrals.csv", "referrals.txt"), "referrals.txt", first=6),
    V("police-misnamed", move("police.csv", "police_extract.csv"), "police_extract.csv",
      "looks like the table police", first=6),
    V("table-twice", lambda f: pd.read_csv(f / R).to_excel(f / "referrals.xlsx", index=False),
      "referrals.csv, referrals.xlsx", "supplied 2 times"),
    V("windows-1252", raw(R, "referral_id,person_id,referral_date,district,source,eligible,ineligible_reason\n"
                          "R1,P1,2021-05-01,Blaby,self,yes,caf\xe9\n".encode("cp1252")),
      f"{R}, {ROW2}, value 'byte 0xe9': the file is not UTF-8", "CSV UTF-8"),
    V("xlsx-named-csv", lambda f: (pd.read_csv(f / R).to_excel(f / "x.xlsx", index=False),
                                   (f / "x.xlsx").rename(f / R)), R, "Excel workbook", "rename it to referrals.xlsx"),
    V("garbage-xlsx", both(raw(R, None), raw("referrals.xlsx", b"this is not a workbook")), "referrals.xlsx",
      "cannot be read as an Excel workbook"),
    V("garbage-parquet", both(raw(R, None), raw("referrals.parquet", b"PAR1 nonsense")), "referrals.parquet",
      "cannot be read as a Parquet file"),
    V("zero-bytes", raw(R, b""), R, "the file is empty (0 bytes)", absent=["not found in referrals"]),
    V("blank-lines-only", raw(R, "\n\n  \n"), R, "no header row"),
    V("header-only-required", raw(R, "referral_id,person_id,referral_date,district,source,eligible\n"),
      R, "has a header but no rows"),
    # An empty episodes table loads (nobody started yet is a real state), but the reports
    # that count starters refuse it through their declared needs, before anything runs.
    V("episodes-header-only", text(E, lambda t: t.splitlines()[0] + "\n"),
      E, "the episodes table has no rows", "service_outputs"),
    V("police-header-only", raw(P, "offence_id,person_id,offence_date,da_related,outcome,outcome_date\n"),
      P, "the police table has no rows", "completers_vs_noncompleters"),
    V("police-missing", raw(P, None), P, "needs the police table", "none was supplied"),
    V("police-outcomes-undated", drop("police", "outcome_date"), f"{P}, column outcome_date",
      "completers_vs_noncompleters needs it"),
    V("partners-missing", raw("partners.csv", None), "partners.csv", "partner_outcomes needs the partners table"),
    V("number-too-large", cell("referrals", "children", "99999999999999999999999"),
      "column children", "'99999999999999999999999'", "too large", absent=["0 or more"]),
    V("number-too-large-for-age", cell("referrals", "age", "4000000000"), "column age", "too large",
      "10 to 110"),
    V("ragged-row", text(R, lambda t: t.replace("yes\n", "yes,extra,cells\n")), "no name", ROW2),
    V("no-contract-columns", text(R, lambda t: "ref;pers;date\n" + t.split("\n", 1)[1]), R,
      "none of the columns of referrals were found", absent=["column not in the data contract"]),
    V("bad-value-after-blank-rows", text(R, lambda t: t.replace("2021-05-01", "2021-02-30") + "\n\n"),
      "'2021-02-30'", ROW2),
    V("semicolons-with-a-bad-date", text(R, lambda t: t.replace(",", ";").replace("2021-05-01", "2021/05/01")),
      f"{R}, column referral_date, {ROW2}, value '2021/05/01'"),
    V("title-row-with-a-bad-value", text(R, lambda t: "Referrals June 2024\n" + t.replace("Blaby", "Narnia")),
      f"{R}, column district, row 3, value 'Narnia'"),
    V("huge-problem-table", rows("referrals", *[{**MINIMAL["referrals"][0], "referral_id": f"X{i}",
                                                 "referral_date": "31/12/2021"} for i in range(3000)]),
      "column referral_date, row 3, value '31/12/2021'", "(3000 rows: 3, 4, 5, 6, 7, ...", first=3),
    V("many-unknown-columns", lambda f: write(f, "referrals", pd.concat(
        [read(f, "referrals"), pd.DataFrame({f"extra_{i}": ["x"] for i in range(300)})], axis=1)),
      "column extra_0 (and 299 other columns: extra_1, extra_2, extra_3, ...)", first=3),
    V("a-megabyte-in-a-cell", cell("referrals", "referral_date", "9" * 1_000_000), "column referral_date",
      "..."),
]

DATASET_YAML = [
    V("no-dataset-yaml", raw("dataset.yaml", None), "the dataset has no dataset.yaml", "extract_date"),
    V("yaml-a-list", raw("dataset.yaml", "- area\n- leicestershire\n"), "dataset.yaml", "holds a list"),
    V("yaml-a-sentence", raw("dataset.yaml", "extract for leicestershire\n"), "dataset.yaml", "holds a str"),
    V("yaml-empty", raw("dataset.yaml", ""), "dataset.yaml is empty"),
    V("yaml-not-utf8", raw("dataset.yaml", "area: leicestershire\nextract_date: 2024-06-30\n"
                           "description: caf\xe9\n".encode("latin-1")), "row 3", "not UTF-8"),
    V("yaml-syntax", raw("dataset.yaml", "area: leicestershire\nextract_date: [2024\n"), "not valid YAML", "row"),
    V("extract-date-empty", raw("dataset.yaml", "area: leicestershire\nextract_date:\n"),
      "dataset.yaml, column extract_date: extract_date is empty", "YYYY-MM-DD"),
    V("extract-date-missing", meta(extract_date=None), "column extract_date: extract_date is missing"),
    V("area-empty", raw("dataset.yaml", "area: ''\nextract_date: 2024-06-30\n"), "column area: area is empty"),
    V("extract-date-british", meta(extract_date="30/06/2024"), "column extract_date, value '30/06/2024'",
      "not a date"),
    V("extract-date-year-0024", raw("dataset.yaml", "area: leicestershire\nextract_date: 0024-06-30\n"),
      "'0024-06-30'", "outside 1990-2100"),
    # Found by the fuzz test: PyYAML raised on a date that does not exist instead of reading it.
    V("extract-date-impossible", raw("dataset.yaml", "area: leicestershire\nextract_date: 2021-02-30\n"),
      "column extract_date, value '2021-02-30'", "not a date"),
    V("police-extract-date-impossible", raw("dataset.yaml", "area: leicestershire\nextract_date: 2024-06-30\n"
                                             "police_extract_date: 2024-13-01\n"),
      "column police_extract_date, value '2024-13-01'", "not a date"),
    V("unknown-key", meta(Area="leicestershire"), "column Area: unknown key", "did you mean area"),
    V("unknown-area", meta(area="narnia"), "column area, value 'narnia'", "no area called 'narnia'"),
    V("synthetic-not-a-mapping", meta(synthetic="yes"), "column synthetic"),
    V("area-not-the-one-asked", None, "dataset is for area 'leicestershire'", first=6),
]
DATASET_YAML[-1].argv = ["validate", "--data", "{data}", "--area", "newshire"]
DATASET_YAML[-1].edit = lambda f: (f.parent / "params" / "areas" / "newshire.yaml").write_text(
    (f.parent / "params" / "areas" / "leicestershire.yaml").read_text().replace(
        "name: leicestershire", "name: newshire"))

RUN = ["run", "--data", "{data}", "--out", "{out}", "--no-progress", "--format", "html"]
COMMAND_LINE = [
    C("period-9999-00", [*RUN, "--period", "9999-00"], "period '9999-00'", "outside 1990-2100", "2021-22"),
    C("period-0000-01", [*RUN, "--period", "0000-01"], "period '0000-01'", "outside 1990-2100"),
    C("period-not-consecutive", [*RUN, "--period", "2021-23"], "period '2021-23'", "followed by 22"),
    C("period-slash", [*RUN, "--period", "2021/22"], "period '2021/22'", "2023-24Q3"),
    C("period-backwards", [*RUN, "--period", "2022-04-01..2021-04-01"], "ends before it starts"),
    C("period-year-1", [*RUN, "--period", "0001-01-01..2020-01-01"], "outside 1990-2100"),
    C("period-quarter-5", [*RUN, "--period", "2021-22Q5"], "period '2021-22Q5'"),
    C("period-impossible-day", [*RUN, "--period", "2021-02-30..2021-03-01"], "period '2021-02-30..2021-03-01'"),
    C("area-file-elsewhere", [*RUN, "--period", "2021-22", "--area", "{tmp}/elsewhere/leicestershire.yaml"],
      "--area", "elsewhere/leicestershire.yaml", "EVALLIB_PARAMS",
      edit=lambda f: ((f.parent / "elsewhere").mkdir(), (f.parent / "elsewhere" / "leicestershire.yaml")
                      .write_text((f.parent / "params" / "areas" / "leicestershire.yaml").read_text()))),
    C("area-file-missing", [*RUN, "--period", "2021-22", "--area", "{tmp}/nowhere.yaml"], "--area",
      "nowhere.yaml: no such file"),
    C("area-unknown", [*RUN, "--period", "2021-22", "--area", "narnia"], "no area called 'narnia'"),
    C("run-out-is-a-file", ["run", "--data", "{data}", "--out", "{data}/referrals.csv", "--period", "2021-22"],
      "--out", "referrals.csv: this is a file, not a folder"),
    C("run-out-under-a-file", ["run", "--data", "{data}", "--out", "{data}/referrals.csv/out",
                               "--period", "2021-22"], "--out", "is a file"),
    C("run-out-read-only", [*RUN, "--period", "2021-22"], "--out", "cannot write"),
    C("run-data-missing", ["run", "--data", "{tmp}/nowhere", "--out", "{out}"], "--data", "no such folder"),
    C("run-data-is-a-file", ["run", "--data", "{data}/referrals.csv", "--out", "{out}"], "--data",
      "this is a file, not a folder"),
    C("validate-out-is-a-folder", ["validate", "--data", "{data}", "--out", "{tmp}"], "--out",
      "this is a folder"),
    C("validate-out-missing-folder", ["validate", "--data", "{data}", "--out", "{tmp}/no/such/p.csv"], "--out",
      "does not exist"),
    C("validate-out-read-only", ["validate", "--data", "{data}", "--out", "{tmp}/p.csv"], "--out", "cannot write"),
    C("validate-data-missing", ["validate", "--data", "{tmp}/nowhere"], "--data", "no such folder"),
    C("validate-data-is-a-file", ["validate", "--data", "{data}/dataset.yaml"], "--data", "this is a file"),
    C("synth-out-is-a-file", ["synth", "--out", "{data}/referrals.csv"], "--out", "this is a file"),
    C("synth-over-a-real-dataset", ["synth", "--out", "{data}"], "--out", "not synthetic", "overwrite"),
    C("synth-area-elsewhere", ["synth", "--out", "{tmp}/s", "--area", "{tmp}/x.yaml"], "--area", "no such file"),
    C("suite-missing", ["run", "--suite", "{tmp}/nosuite.yaml", "--data", "{data}", "--out", "{out}"],
      "--suite", "no such file"),
    C("suite-is-a-folder", ["run", "--suite", "{tmp}", "--data", "{data}", "--out", "{out}"], "--suite",
      "this is a folder"),
    C("setting-wrong-type", [*RUN, "--period", "2021-22", "--notebook", "completers_vs_noncompleters",
                             "--set", "window_months=twelve"], "window_months", "'twelve'"),
    C("setting-unknown", [*RUN, "--period", "2021-22", "--notebook", "service_outputs", "--set",
                          "window_monthz=24"], "window_monthz"),
    C("notebook-unknown", [*RUN, "--period", "2021-22", "--notebook", "annual_reprot"], "annual_reprot"),
    C("run-without-police", [*RUN, "--period", "2021-22", "--notebook", "completers_vs_noncompleters"],
      "police.csv", "needs the police table", edit=raw(P, None)),
    C("run-with-empty-police", [*RUN, "--period", "2021-22", "--notebook", "completers_vs_noncompleters"],
      "police.csv", "no rows", edit=raw(P, "offence_id,person_id,offence_date,da_related,outcome\n")),
    C("run-yaml-not-utf8", [*RUN, "--period", "2021-22"], "dataset.yaml", "not UTF-8",
      edit=raw("dataset.yaml", "area: leicestershire\nextract_date: 2024-06-30\nzone: \xe9\n".encode("latin-1"))),
    C("run-yaml-a-list", [*RUN, "--period", "2021-22"], "dataset.yaml", "holds a list",
      edit=raw("dataset.yaml", "- leicestershire\n")),
    C("run-extract-date-empty", [*RUN, "--period", "2021-22"], "extract_date is empty",
      edit=raw("dataset.yaml", "area: leicestershire\nextract_date:\n")),
    C("run-with-a-broken-dataset", [*RUN, "--period", "2021-22", "--notebook", "service_outputs"],
      f"{R}, column district, {ROW2}, value 'Narnia'", edit=cell("referrals", "district", "Narnia")),
]

def suite_file(content: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder.parent / "params" / "suite.yaml").write_text(content, encoding="utf-8")
    return edit


AREA = "leicestershire.yaml"
PARAMS = [
    C("area-file-not-yaml", [*RUN, "--period", "2021-22"], AREA, "not valid YAML",
      edit=area_file("\n  : [unclosed\n")),
    C("area-file-unknown-key", [*RUN, "--period", "2021-22"], AREA, "districtz", "unknown key",
      edit=area_file("districtz: [Blaby]\n")),
    C("area-file-threshold-negative", [*RUN, "--period", "2021-22"], AREA, "disclosure",
      edit=area_file("disclosure: {threshold: -3}\n")),
    C("suite-period-9999", ["run", "--data", "{data}", "--out", "{out}"], "suite.yaml", "9999-00",
      "outside 1990-2100", edit=suite_file("runs:\n  - area: leicestershire\n    periods: ['9999-00']\n"
                                           "    notebooks: [service_outputs]\n")),
    C("suite-a-list", ["run", "--data", "{data}", "--out", "{out}"], "suite.yaml", "mapping",
      edit=suite_file("- leicestershire\n")),
    C("suite-unknown-notebook", ["run", "--data", "{data}", "--out", "{out}"], "annual_reprot",
      edit=suite_file("runs:\n  - area: leicestershire\n    periods: ['2021-22']\n"
                      "    notebooks: [annual_reprot]\n")),
]
CORPUS = CONTRACT + IDENTIFYING + EXPORT_MESS + DATASET_YAML + COMMAND_LINE + PARAMS


def test_the_corpus_is_large_and_its_cases_distinct():
    assert len(CORPUS) >= 100
    assert len({c.id for c in CORPUS}) == len(CORPUS)


def test_the_dataset_each_case_spoils_is_clean(setup, capsys):
    _, data, _ = setup
    code, output = _run(["validate", "--data", str(data)], capsys)
    assert code == 0, output
    assert "It holds what these reports need: completers_vs_noncompleters, partner_outcomes" in output


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A clean dataset and a private params folder; the runner's execute replaced by a spy."""
    import shutil

    from evallib.params import params_dir

    pdir = tmp_path / "params"
    shutil.copytree(params_dir(), pdir)
    monkeypatch.setenv("EVALLIB_PARAMS", str(pdir))
    data = write_tables(tmp_path / "data", FULL)
    ran: list = []

    def spy(jobs, **kw):
        ran.extend(jobs)
        raise AssertionError("a report was run from bad input")

    monkeypatch.setattr(runner, "execute", spy)
    return tmp_path, data, ran


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:         # argparse's own refusals
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _fill(argv: list[str], tmp: Path, data: Path) -> list[str]:
    return [a.format(data=data, out=tmp / "out", tmp=tmp) for a in argv]


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.id)
def test_bad_input_is_refused_clearly(case: Case, setup, capsys, monkeypatch):
    tmp, data, ran = setup
    if case.edit:
        case.edit(data)
    if case.id.endswith("read-only"):
        monkeypatch.setattr(cli, "_writable", lambda folder: False)
    before = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if ".evallib-cache" not in p.parts)
    code, output = _run(_fill(case.argv, tmp, data), capsys)
    assert "Traceback" not in output, output
    assert code == case.code, output
    head = "\n".join(output.splitlines()[:case.first])
    for needle in case.named:
        assert needle in head, f"{needle!r} not in the first {case.first} lines:\n{output[:3000]}"
    for needle in case.absent:
        assert needle not in output, output[:3000]
    assert len(output.splitlines()) < 90, "the problem table is summarised, not dumped"
    assert not ran, "a report was run"
    after = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if ".evallib-cache" not in p.parts)
    assert after == before, "something was written"


# --------------------------------------------------------------------------- read, not refused
READ_AS_CLEAN = {
    "semicolons": text(R, lambda t: t.replace(",", ";")),
    "tabs": text(R, lambda t: t.replace(",", "\t")),
    "bars": text(R, lambda t: t.replace(",", "|")),
    "title-and-blank-rows": text(R, lambda t: "Referrals extract, June 2024\n\n" + t + "\n\n"),
    "file-name-in-capitals": move(R, "Referrals.CSV"),
    "police-with-a-capital": move(P, "Police.csv"),
    "byte-order-mark": lambda f: (f / R).write_bytes(b"\xef\xbb\xbf" + (f / R).read_bytes()),
    "utf-16-from-excel": lambda f: (f / R).write_bytes((f / R).read_text().replace(",", "\t").encode("utf-16")),
    "spaces-around-names": text(R, lambda t: t.replace("referral_id,", " referral_id ,", 1)),
    "crlf-line-ends": lambda f: (f / R).write_bytes((f / R).read_bytes().replace(b"\n", b"\r\n")),
    "xlsx-with-a-title-row": lambda f: _xlsx_with_title(f),
}


def _xlsx_with_title(folder: Path) -> None:
    import openpyxl

    df = read(folder, "referrals")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Referrals, extract of June 2024"])
    sheet.append([])
    sheet.append(list(df.columns))
    for values in df.itertuples(index=False):
        sheet.append(list(values))
    book.save(folder / "referrals.xlsx")
    (folder / R).unlink()


@pytest.mark.parametrize("name", READ_AS_CLEAN)
def test_export_mess_is_read_as_the_clean_file(name, tmp_path):
    clean = load_dataset(write_tables(tmp_path / "clean", FULL))
    messy = write_tables(tmp_path / "messy", FULL)
    READ_AS_CLEAN[name](messy)
    ds = load_dataset(messy)
    for table in ("referrals", "episodes", "police", "partners"):
        pd.testing.assert_frame_equal(ds.tables[table], clean.tables[table], obj=table)
    assert ds.present == clean.present


def test_the_full_problem_table_goes_to_problems_csv(tmp_path, capsys):
    data = write_tables(tmp_path / "data", FULL)
    rows("referrals", *[{**MINIMAL["referrals"][0], "referral_id": f"X{i}", "age": "7"} for i in range(200)])(data)
    code, output = _run(["validate", "--data", str(data), "--out", str(tmp_path / "problems.csv")], capsys)
    assert code == 2
    table = pd.read_csv(tmp_path / "problems.csv", dtype=str)
    assert list(table.columns) == ["file", "column", "row", "value", "problem", "fix"]
    assert len(table) == 200 and table["row"].tolist() == [str(r) for r in range(3, 203)]
    assert "All 200 problem(s) written to" in output


def test_writable_is_tried_not_guessed(tmp_path):
    """The up-front check makes a file: permission bits alone do not tell (root ignores them)."""
    assert cli._writable(tmp_path)
    assert not cli._writable(tmp_path / "missing")
    assert not list(tmp_path.iterdir())          # the trial file is gone


def test_an_area_given_as_its_file_is_read_as_its_name(tmp_path, monkeypatch, capsys):
    from evallib.params import params_dir

    data = write_tables(tmp_path / "data", FULL)
    ran = []
    monkeypatch.setattr(runner, "execute", lambda jobs, **kw: ran.extend(jobs) or runner.RunReport([]))
    monkeypatch.setattr(runner, "write_index", lambda out: Path(out) / "index.html")
    area_file = str(params_dir() / "areas" / "leicestershire.yaml")
    (tmp_path / "out").mkdir()
    code = cli.main(["run", "--data", str(data), "--out", str(tmp_path / "out"), "--period", "2021-22",
                     "--notebook", "service_outputs", "--area", area_file, "--no-progress", "--format", "html"])
    assert code == 0, capsys.readouterr()
    assert [j.area for j in ran] == ["leicestershire"]
    assert "leicestershire" in ran[0].out_dir.parts and not any(".yaml" in p for p in ran[0].out_dir.parts)
    assert cli.main(["validate", "--data", str(data), "--area", area_file, "--notebook", "service_outputs"]) == 0


def test_semicolons_inside_values_do_not_decide_the_delimiter(tmp_path):
    reason = {**MINIMAL["referrals"][0], "eligible": "no", "ineligible_reason": "a; b; c; d; e; f; g; h; i; j"}
    folder = write_tables(tmp_path / "d", {**FULL, "referrals": [reason]})
    assert load_dataset(folder).referrals["ineligible_reason"].iloc[0] == reason["ineligible_reason"]


def test_validate_lists_a_missing_needed_table_with_the_contract_problems(tmp_path, capsys):
    data = write_tables(tmp_path / "data", FULL)
    cell("referrals", "district", "Narnia")(data)
    (data / "police.csv").unlink()
    code, output = _run(["validate", "--data", str(data)], capsys)
    assert code == 2
    assert "value 'Narnia'" in output and "needs the police table" in output


def test_a_stray_copy_beside_a_table_is_harmless(tmp_path):
    folder = write_tables(tmp_path / "d", FULL)
    (folder / "referrals_old.csv").write_text("anything")
    (folder / "README.txt").write_text("notes about the extract")
    assert len(load_dataset(folder).referrals) == 1
