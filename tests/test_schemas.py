"""The data contract: loading in three formats, and every problem reported at once."""

import pandas as pd
import pytest

from evallib.schemas import TABLES, DataValidationError, load_dataset, validate_dataset
from tests.conftest import MINIMAL, write_tables


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_loads_each_format_with_contract_types(make_dataset, fmt):
    ds = make_dataset(MINIMAL, fmt=fmt)
    r = ds.referrals
    assert list(r.columns) == TABLES["referrals"].names
    assert str(r["referral_date"].dtype) == "datetime64[ns]"
    assert r["eligible"].dtype == "boolean" and bool(r["eligible"].iloc[0])
    assert str(ds.episodes["end_date"].iloc[0].date()) == "2021-11-30"
    assert ds.police.empty and "police" not in ds.present
    assert len(ds.fingerprint) == 64


def test_aliases_and_label_case(make_dataset):
    tables = {**MINIMAL, "referrals": [{**MINIMAL["referrals"][0], "district": "Hinkley and Bosworth",
                                        "source": "Self", "gender": "Male"}]}
    ds = make_dataset(tables)
    assert ds.referrals["district"].iloc[0] == "Hinckley and Bosworth"
    assert ds.referrals["source"].iloc[0] == "self"
    assert ds.referrals["gender"].iloc[0] == "male"


def test_missing_column_bad_date_unknown_district_all_reported(make_dataset):
    rows = [
        {"referral_id": "R1", "person_id": "P1", "referral_date": "2021-13-01", "district": "Blaby",
         "eligible": "yes"},
        {"referral_id": "R2", "person_id": "P2", "referral_date": "2021-06-01", "district": "Narnia",
         "eligible": "no"},
    ]
    folder = make_dataset({**MINIMAL, "referrals": rows}, load=False)
    with pytest.raises(DataValidationError) as exc:
        load_dataset(folder)
    p = exc.value.problems
    assert list(p.columns) == ["file", "column", "row", "value", "problem", "fix"]
    missing = p[p["column"] == "source"]
    assert missing["problem"].str.contains("missing").any()
    bad_date = p[p["column"] == "referral_date"].iloc[0]
    assert (bad_date["row"], bad_date["value"]) == (2, "2021-13-01")  # row 2 of the file (header is row 1)
    district = p[p["column"] == "district"].iloc[0]
    assert (district["row"], district["value"]) == (3, "Narnia")
    assert "Blaby" in district["fix"]
    assert len(p) == 3


def test_relations_checked(make_dataset):
    eps = [
        {"episode_id": "E1", "referral_id": "R9", "programme": "second_step", "start_date": "2021-06-01",
         "end_date": "2021-05-30", "status": "completed", "sessions_offered": 10, "sessions_attended": 12},
        {"episode_id": "E1", "referral_id": "R1", "programme": "basket_weaving", "start_date": "2025-01-01",
         "end_date": "", "status": "disengaged", "sessions_offered": -1, "sessions_attended": 1},
    ]
    folder = make_dataset({**MINIMAL, "episodes": eps}, load=False)
    p = validate_dataset(folder)
    problems = set(zip(p["column"], p["problem"], strict=True))
    assert ("referral_id", "not found in referrals.referral_id") in problems
    assert ("end_date", "end_date is before start_date") in problems
    assert ("sessions_attended", "more sessions attended than offered") in problems
    assert ("episode_id", "id is not unique") in problems
    assert ("programme", "not a known category") in problems
    assert ("end_date", "an ended episode has no end_date") in problems
    assert any("after the extract date" in x for _, x in problems)
    assert ("sessions_offered", "out of range: must be 0 or more") in problems


def test_identifying_and_unknown_columns_refused(make_dataset):
    rows = [{**MINIMAL["referrals"][0], "surname": "Smith", "favourite_colour": "blue"}]
    p = validate_dataset(make_dataset({**MINIMAL, "referrals": rows}, load=False))
    assert set(p["column"]) == {"surname", "favourite_colour"}
    assert p.loc[p["column"] == "surname", "problem"].str.contains("identify").all()


def test_params_column_mapping(tmp_path, monkeypatch):
    import shutil

    from evallib.params import params_dir
    pdir = tmp_path / "params"
    shutil.copytree(params_dir(), pdir)
    area = pdir / "areas" / "leicestershire.yaml"
    area.write_text(area.read_text() + "columns:\n  referrals: {Ref No: referral_id}\n"
                    "labels:\n  referrals: {source: {Police Referral: police}}\n")
    monkeypatch.setenv("EVALLIB_PARAMS", str(pdir))
    rows = [{**MINIMAL["referrals"][0], "source": "Police Referral"}]
    rows[0]["Ref No"] = rows[0].pop("referral_id")
    ds = load_dataset(write_tables(tmp_path / "d", {**MINIMAL, "referrals": rows}))
    assert ds.referrals["referral_id"].iloc[0] == "R1"
    assert ds.referrals["source"].iloc[0] == "police"


def test_missing_dataset_yaml_and_required_table(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    pd.DataFrame(MINIMAL["referrals"]).to_csv(folder / "referrals.csv", index=False)
    with pytest.raises(DataValidationError) as exc:
        load_dataset(folder, "leicestershire")
    msgs = " ".join(exc.value.problems["problem"])
    assert "dataset.yaml" in msgs and "episodes" in msgs


def test_error_message_is_a_table():
    err = DataValidationError(pd.DataFrame([{"file": "a.csv", "column": "x", "row": 2, "value": "v",
                                             "problem": "bad", "fix": "mend"}]), "somewhere")
    assert "a.csv" in str(err) and "mend" in str(err) and "1 problem" in str(err)


def test_data_dictionary_doc_is_current():
    from pathlib import Path

    from evallib.schemas import data_dictionary_markdown
    doc = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"
    assert doc.read_text() == data_dictionary_markdown(), "regenerate: python -m evallib.schemas > docs/data-dictionary.md"


# --------------------------------------------------------------------------- export mess
def test_semicolons_title_rows_and_file_name_case_are_read(tmp_path):
    """A semicolon-separated export, a title row above the header, a blank row and an
    upper-case file name load as the clean file does, with rows numbered as in the file."""
    folder = write_tables(tmp_path / "d", MINIMAL)
    clean = load_dataset(folder)
    text = (folder / "referrals.csv").read_text().replace(",", ";")
    (folder / "referrals.csv").unlink()
    (folder / "Referrals.CSV").write_text("Referrals extract, June 2024\n\n" + text + "\n\n", encoding="utf-8")
    messy = load_dataset(folder)
    pd.testing.assert_frame_equal(messy.referrals, clean.referrals)
    (folder / "Referrals.CSV").write_text("Referrals extract\n" + text.replace("2021-05-01", "2021-13-01"))
    p = validate_dataset(folder)
    assert (p.loc[0, "file"], p.loc[0, "column"], p.loc[0, "row"], p.loc[0, "value"]) == (
        "Referrals.CSV", "referral_date", 3, "2021-13-01")


def test_identifiers_as_people_write_them_are_refused_even_as_extra(tmp_path, monkeypatch):
    import shutil

    from evallib.params import params_dir
    from evallib.schemas import identifying
    pdir = tmp_path / "params"
    shutil.copytree(params_dir(), pdir)
    area = pdir / "areas" / "leicestershire.yaml"
    area.write_text(area.read_text() + "extra_columns:\n  referrals: [Date of Birth, keyworker]\n")
    monkeypatch.setenv("EVALLIB_PARAMS", str(pdir))
    rows = [{**MINIMAL["referrals"][0], "Date of Birth": "1990-01-01", "NHS Number": "485 777 3456",
             "D.O.B.": "1/1/90", "keyworker": "team a"}]
    p = validate_dataset(write_tables(tmp_path / "d", {**MINIMAL, "referrals": rows}))
    refused = p[p["problem"].str.contains("identify")]
    assert set(refused["column"]) == {"Date of Birth", "NHS Number", "D.O.B.", "extra_columns.referrals"}
    assert not refused["fix"].str.contains("list it under").any()
    assert "keyworker" not in set(p["column"])      # a listed extra column that identifies no one is read
    for name in ["nhs_no", "Full Name", "Surname", "Postcode", "Address Line 1", "Mobile", "Email",
                 "NI Number", "PNC ID", "Client Post Code"]:
        assert identifying(name), name
    assert not any(identifying(c) for t in TABLES.values() for c in t.names)


def test_an_unreadable_table_gives_one_knock_on_line(tmp_path):
    eps = [{**MINIMAL["episodes"][0], "episode_id": f"E{i}"} for i in range(300)]
    folder = write_tables(tmp_path / "d", {**MINIMAL, "episodes": eps})
    (folder / "referrals.csv").write_bytes("referral_id,person_id\nR1,Zoë\n".encode("cp1252"))
    p = validate_dataset(folder)
    assert len(p) == 2, p
    assert p.loc[0, "problem"].startswith("the file is not UTF-8") and p.loc[0, "row"] == 2
    assert p.loc[1, "problem"] == ("300 row(s) not checked against referrals.referral_id, because "
                                   "referrals.csv could not be read")


def test_numbers_too_large_are_named(make_dataset):
    rows = [{**MINIMAL["referrals"][0], "children": "99999999999999999999999", "age": "4000000000"}]
    p = validate_dataset(make_dataset({**MINIMAL, "referrals": rows}, load=False))
    assert set(zip(p["column"], p["value"], strict=True)) == {("children", "99999999999999999999999"),
                                                               ("age", "4000000000")}
    assert p["problem"].str.startswith("the number is too large").all()
