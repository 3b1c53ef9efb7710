"""Adapting to a new area with an area file alone (issue 10): dates as providers write
them, labels matched like districts, YAML traps, and mistakes in the area file caught
when it loads, not later as data problems."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evallib.params import ParamsError, load_area, normalise_label, strftime_format
from evallib.schemas import DataValidationError, load_dataset, validate_dataset
from tests.conftest import MINIMAL, write_tables

BASE = """\
name: testshire
display_name: Testshire
districts: [North Town, South Vale]
groups:
  COUNTY: [North Town, South Vale]
programmes:
  group_work: {role: core, label: Group Work}
  intro: {role: awareness, label: Intro Course}
"""


def area_file(tmp_path: Path, extra: str = "", name: str = "testshire") -> Path:
    path = tmp_path / "areas" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BASE.replace("testshire", name) + textwrap.dedent(extra), encoding="utf-8")
    return path


def referral(i: int, **kw) -> dict:
    row = {"referral_id": f"R{i}", "person_id": f"P{i}", "referral_date": "2022-04-25",
           "district": "North Town", "source": "self", "eligible": "yes"}
    return {**row, **kw}


def dataset(tmp_path: Path, referrals: list[dict], episodes: list[dict] | None = None, fmt: str = "csv",
            sub: str = "data") -> Path:
    episodes = episodes or [{"episode_id": "E0", "referral_id": referrals[0]["referral_id"],
                             "programme": "group_work", "start_date": referrals[0]["referral_date"],
                             "status": "ongoing"}]
    return write_tables(tmp_path / sub, {"referrals": referrals, "episodes": episodes}, area="testshire", fmt=fmt)


def problems_of(folder: Path, area) -> pd.DataFrame:
    return validate_dataset(folder, area)


# --------------------------------------------------------------------------- 1. dates
def test_uk_dates_in_csv_read_with_a_declared_format(tmp_path):
    area = load_area(area_file(tmp_path, 'date_format: "%d/%m/%Y"\n'))
    folder = dataset(tmp_path, [referral(1, referral_date="25/04/2022"), referral(2, referral_date="3/4/2022")],
                     [{"episode_id": "E1", "referral_id": "R1", "programme": "group_work",
                       "start_date": "01/05/2022", "end_date": "30/09/2022", "status": "completed"}])
    ds = load_dataset(folder, area)
    assert list(ds.referrals["referral_date"]) == [pd.Timestamp("2022-04-25"), pd.Timestamp("2022-04-03")]
    assert ds.episodes["end_date"].iloc[0] == pd.Timestamp("2022-09-30")


def test_friendly_format_spelling_is_read():
    assert strftime_format("dd/mm/yyyy") == "%d/%m/%Y"
    assert strftime_format("DD-MM-YYYY") == "%d-%m-%Y"
    with pytest.raises(ValueError, match="day, a month and a year"):
        strftime_format("%m/%Y")


def test_day_first_dates_are_never_guessed(tmp_path):
    """No date_format: 03/04/2022 could be 3 April or 4 March, so it is a problem row
    whose fix names the date_format key."""
    area = load_area(area_file(tmp_path))
    folder = dataset(tmp_path, [referral(1, referral_date="2022-04-25"), referral(2, referral_date="03/04/2022")])
    found = problems_of(folder, area)
    assert list(found["row"]) == [3] and list(found["value"]) == ["03/04/2022"]
    assert "date_format" in found["fix"].iloc[0] and "never guesses" in found["problem"].iloc[0]


@pytest.mark.parametrize("value", ["2022-04-25", "04/25/2022", "25/04/22", "25 April 2022"])
def test_a_value_not_in_the_declared_format_is_a_problem_row(tmp_path, value):
    area = load_area(area_file(tmp_path, 'date_format: "%d/%m/%Y"\n'))
    folder = dataset(tmp_path, [referral(1, referral_date="25/04/2022"), referral(2, referral_date=value)])
    found = problems_of(folder, area)
    assert list(zip(found["column"], found["row"], found["value"], strict=True)) == [("referral_date", 3, value)]
    assert "%d/%m/%Y" in found["problem"].iloc[0]


def test_per_table_and_per_column_date_overrides(tmp_path):
    area = load_area(area_file(tmp_path, """\
        date_format: "%d/%m/%Y"
        date_formats:
          episodes: {end_date: "%Y-%m-%d"}
          police: "%d.%m.%Y"
        """))
    assert area.date_format_for("referrals", "referral_date") == "%d/%m/%Y"
    assert area.date_format_for("episodes", "start_date") == "%d/%m/%Y"
    assert area.date_format_for("episodes", "end_date") == "%Y-%m-%d"
    assert area.date_format_for("police", "offence_date") == "%d.%m.%Y"
    folder = dataset(tmp_path, [referral(1, referral_date="25/04/2022")],
                     [{"episode_id": "E1", "referral_id": "R1", "programme": "group_work",
                       "start_date": "01/05/2022", "end_date": "2022-09-30", "status": "completed"}])
    assert load_dataset(folder, area).episodes["end_date"].iloc[0] == pd.Timestamp("2022-09-30")


def test_excel_date_cells_still_read_with_a_text_format_declared(tmp_path):
    """XLSX: real date cells are dates whatever the format; text typed in a date column
    follows the declared format."""
    area = load_area(area_file(tmp_path, 'date_format: "%d/%m/%Y"\n'))
    refs = pd.DataFrame([referral(1), referral(2)])
    refs["referral_date"] = pd.Series([pd.Timestamp("2022-04-25"), "03/04/2022"], dtype=object)
    folder = dataset(tmp_path, refs.to_dict("records"), fmt="xlsx")
    ds = load_dataset(folder, area)
    assert list(ds.referrals["referral_date"]) == [pd.Timestamp("2022-04-25"), pd.Timestamp("2022-04-03")]


def test_bad_date_format_in_the_area_file_named(tmp_path):
    with pytest.raises(ParamsError) as exc:
        load_area(area_file(tmp_path, 'date_format: "%d/%q"\n'))
    assert "testshire.yaml" in str(exc.value) and "date_format" in str(exc.value)
    with pytest.raises(ParamsError, match=r"date_formats\.episodes\.referral_date: not a date column"):
        load_area(area_file(tmp_path, 'date_formats: {episodes: {referral_date: "%d/%m/%Y"}}\n'))


# --------------------------------------------------------------------------- 3. YAML traps
def test_yes_no_label_keys_stay_text(tmp_path):
    area = load_area(area_file(tmp_path, """\
        labels:
          referrals:
            source: {Yes: self, No: police, On: other}
        """))
    assert area.labels["referrals"]["source"] == {"Yes": "self", "No": "police", "On": "other"}


def test_a_boolean_where_text_belongs_is_explained():
    from pydantic import ValidationError

    from evallib.params import AreaParams, ParamsError, _explain

    with pytest.raises(ValidationError) as exc:
        AreaParams.model_validate({**yaml.safe_load(BASE), "display_name": True})
    text = str(_explain(Path("x.yaml"), exc.value))
    assert "display_name" in text and "quotes" in text
    assert issubclass(ParamsError, ValueError)


# --------------------------------------------------------------------------- 4. labels
def test_labels_matched_ignoring_case_spaces_and_punctuation(tmp_path):
    area = load_area(area_file(tmp_path, """\
        labels:
          referrals:
            source: {IDVA/MARAC: idva_marac, "Children's Social Care": childrens_social_care, Self Referral: self}
        """))
    refs = [referral(1, source="IDVA/MARAC "), referral(2, source="CHILDREN'S SOCIAL CARE"),
            referral(3, source="  self referral"), referral(4, source="Adult Social-Care"),
            referral(5, district=" north town ", source="Police")]
    ds = load_dataset(dataset(tmp_path, refs), area)
    assert list(ds.referrals["source"]) == ["idva_marac", "childrens_social_care", "self",
                                            "adult_social_care", "police"]
    assert ds.referrals["district"].iloc[4] == "North Town"
    assert normalise_label("Hinckley & Bosworth") == normalise_label("hinckley and bosworth")


def test_programme_matched_by_its_label(tmp_path):
    area = load_area(area_file(tmp_path))
    folder = dataset(tmp_path, [referral(1)], [{"episode_id": "E1", "referral_id": "R1", "programme": "GROUP WORK",
                                                "start_date": "2022-05-01", "status": "ongoing"}])
    assert load_dataset(folder, area).episodes["programme"].iloc[0] == "group_work"


def test_unknown_label_fix_points_at_labels(tmp_path):
    area = load_area(area_file(tmp_path))
    found = problems_of(dataset(tmp_path, [referral(1, source="GP surgery")]), area)
    assert list(found["value"]) == ["GP surgery"]
    assert "labels.referrals.source" in found["fix"].iloc[0]


# --------------------------------------------------------------------------- 5. area-file mistakes
def test_every_mistake_in_labels_and_columns_named_at_load(tmp_path):
    with pytest.raises(ParamsError) as exc:
        load_area(area_file(tmp_path, """\
            columns:
              referrals: {Ref No: referral_id, Referral Source: source, Borough: distrct}
              referals: {X: y}
            labels:
              referrals:
                Referral Source: {Police Referral: police}
                source: {GP: helth}
                district: {Northtown: North Twn}
                age: {ten: "10"}
            """))
    text = str(exc.value)
    assert text.startswith(str(tmp_path / "areas" / "testshire.yaml"))
    for key in ["columns.referrals.Borough: 'distrct' is not a column of referrals",
                "columns.referals: not a table",
                "labels.referrals.Referral Source: not a column of referrals; labels are keyed by the "
                "contract column, so write 'source'",
                "labels.referrals.source.GP: 'helth' is not a source",
                "labels.referrals.district.Northtown: 'North Twn' is not one of the area's districts",
                "labels.referrals.age: age is not a category or yes/no column"]:
        assert key in text, text
    assert "6 problem(s)" in text


def test_a_correct_area_file_maps_an_export_as_it_is(tmp_path):
    area = load_area(area_file(tmp_path, """\
        columns:
          referrals: {Ref No: referral_id, Client: person_id, Received: referral_date, Borough: district,
                      Referral Source: source, "Eligible?": eligible}
        labels:
          referrals:
            source: {Police Referral: police}
            district: {N Town: North Town}
        """))
    refs = pd.DataFrame([referral(1, source="Police Referral", district="N TOWN")]).rename(columns={
        "referral_id": "Ref No", "person_id": "Client", "referral_date": "Received", "district": "Borough",
        "source": "Referral Source", "eligible": "Eligible?"})
    ds = load_dataset(dataset(tmp_path, refs.to_dict("records"),
                              [{**MINIMAL["episodes"][0], "programme": "group_work"}]), area)
    assert ds.referrals[["source", "district"]].iloc[0].tolist() == ["police", "North Town"]


def test_params_errors_are_not_data_problems(tmp_path):
    """A misspelt label target fails when the area loads (before any data is read), so
    it cannot reach the provider as hundreds of data problems."""
    bad = area_file(tmp_path, "labels: {referrals: {source: {Police Referral: polise}}}\n")
    folder = dataset(tmp_path, [referral(i, source="Police Referral") for i in range(1, 40)])
    with pytest.raises(ParamsError, match="polise"):
        load_dataset(folder, str(bad))
    with pytest.raises(DataValidationError):   # the data, with no mapping, are a data problem
        load_dataset(folder, load_area(area_file(tmp_path)))


# --------------------------------------------------------------------------- 2. suite blocks
def suite_setup(tmp_path: Path, monkeypatch, newshire_data: str | None) -> Path:
    """A params folder with leicestershire (its dataset the suite's) and a new area."""
    import shutil

    from evallib.params import params_dir

    pdir = tmp_path / "params"
    (pdir / "areas").mkdir(parents=True)
    shutil.copy(params_dir() / "areas" / "leicestershire.yaml", pdir / "areas")
    area_file(pdir, name="newshire")
    llr = write_tables(tmp_path / "llr", MINIMAL)
    block = {"area": "newshire", "periods": ["2022-23"], "notebooks": ["service_outputs"]}
    if newshire_data:
        block["data"] = newshire_data
    suite = {"data": str(llr), "out": str(tmp_path / "out"),
             "runs": [{"area": "leicestershire", "periods": ["2021-22"], "notebooks": ["service_outputs"]}, block]}
    (pdir / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    monkeypatch.setenv("EVALLIB_PARAMS", str(pdir))
    return pdir


@pytest.fixture
def no_execute(monkeypatch):
    """Record the jobs `evallib run` would execute, without running notebooks."""
    import evallib.runner as runner

    ran: list = []

    class Report:
        failures: list = []

        def to_text(self):
            return "stub"

        def to_dict(self):
            return {}

    def execute(jobs, **kw):
        ran.extend(jobs)
        return Report()

    monkeypatch.setattr(runner, "execute", execute)
    monkeypatch.setattr(runner, "write_index", lambda out: Path(out) / "index.html")
    return ran


def test_a_new_area_without_data_stops_only_its_own_block(tmp_path, monkeypatch, capsys, no_execute):
    from evallib import cli

    suite_setup(tmp_path, monkeypatch, newshire_data=None)
    (tmp_path / "out").mkdir()
    assert cli.main(["run", "--no-progress", "--format", "html"]) == 1
    assert {j.area for j in no_execute} == {"leicestershire"}
    err = capsys.readouterr().err
    assert "blocks for newshire were not run" in err and "is for leicestershire" in err
    assert "data: path/to/newshire-extract" in err
    assert "leicestershire" not in err.split("newshire were not run")[0]   # nothing said against LLR


def test_each_block_validated_against_its_own_data(tmp_path, monkeypatch, capsys, no_execute):
    from evallib import cli

    own = dataset(tmp_path, [referral(1)], sub="newshire-data")
    (own / "dataset.yaml").write_text(yaml.safe_dump({"area": "newshire", "extract_date": "2024-06-30"}))
    suite_setup(tmp_path, monkeypatch, newshire_data=str(own))
    (tmp_path / "out").mkdir()
    assert cli.main(["run", "--no-progress", "--format", "html"]) == 0, capsys.readouterr().err
    assert {(j.area, j.data_dir) for j in no_execute} == {("leicestershire", tmp_path / "llr"),
                                                         ("newshire", own)}


def test_a_broken_block_dataset_is_reported_for_that_block_only(tmp_path, monkeypatch, capsys, no_execute):
    from evallib import cli

    own = dataset(tmp_path, [referral(1, district="Atlantis")], sub="newshire-data")
    (own / "dataset.yaml").write_text(yaml.safe_dump({"area": "newshire", "extract_date": "2024-06-30"}))
    suite_setup(tmp_path, monkeypatch, newshire_data=str(own))
    (tmp_path / "out").mkdir()
    assert cli.main(["run", "--no-progress", "--format", "html"]) == 1
    assert {j.area for j in no_execute} == {"leicestershire"}
    err = capsys.readouterr().err
    assert "Atlantis" in err and "The reports for newshire were not run" in err


# --------------------------------------------------------------------------- area wording
def test_service_report_wording_comes_from_the_area_run(tmp_path):
    from evallib.reports import service

    other = load_area(area_file(tmp_path, name="otherland")).model_copy(update={"groups": {"NORTH": ["North Town", "South Vale"]}})
    text = service.definitions_markdown(other) + " ".join(service.title_for(n, other) for n in service.TITLES)
    assert "Foundations" not in text and "COUNTY" not in text
    assert "Group rows (NORTH)" in text and "(Intro Course excluded)" in text
    llr = load_area("leicestershire")
    assert service.title_for("children", llr) == "Children of people on intervention (Foundations excluded)"
    assert "Group rows (COUNTY) are totals" in service.definitions_markdown(llr)
    lone = other.model_copy(update={"groups": {}, "programmes": {k: v for k, v in other.programmes.items()
                                                                 if v.role != "awareness"}})
    assert "Group rows" not in service.definitions_markdown(lone)
    assert service.title_for("children", lone) == "Children of people on intervention"


def test_yes_no_columns_take_the_exports_own_words(tmp_path):
    area = load_area(area_file(tmp_path, """\
        labels:
          referrals:
            eligible: {Eligible: yes, Not Eligible: false}
        """))
    refs = [referral(1, eligible="ELIGIBLE "), referral(2, eligible="not eligible"), referral(3, eligible="Y"),
            referral(4, eligible="maybe")]
    found = problems_of(dataset(tmp_path, refs), area)
    assert list(zip(found["row"], found["value"], strict=True)) == [(5, "maybe")]
    assert "labels.referrals.eligible" in found["fix"].iloc[0]
    ds = load_dataset(dataset(tmp_path, refs[:3], sub="ok"), area)
    assert ds.referrals["eligible"].tolist() == [True, False, True]
    with pytest.raises(ParamsError, match="labels.referrals.eligible.Eligible: 'perhaps'"):
        load_area(area_file(tmp_path, "labels: {referrals: {eligible: {Eligible: perhaps}}}\n"))
