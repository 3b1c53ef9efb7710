"""A new area from a provider's export as it comes, with an area file alone (issue 10).

The export is made from the demo dataset by doing to it what a case-management system
does: its own headers, its own labels typed in mixed case with stray spaces, UK dates
(dd/mm/yyyy) in CSV, and a table in XLSX with Excel date cells. `evallib new-area`
drafts the area file; only its TODOs are filled in; the export then validates, and its
referrals, record flow and proven reoffending equal an independent count made here with
plain pandas from the clean data the export was made from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evallib import cli
from evallib.new_area import detect_date_format, draft_area

AREA = "westshire"
PERIOD_START, PERIOD_END = pd.Timestamp("2021-04-01"), pd.Timestamp("2022-03-31")
CORE = ["second_step", "one_to_one", "womens_programme"]     # the demo's core programmes
PROVEN = ["conviction", "caution", "community_resolution"]

# The provider's own words: contract value -> what the export says.
SOURCES = {"self": "Self Referral", "police": "POLICE ", "childrens_social_care": "Children's Social Care",
           "adult_social_care": "adult social care", "probation": "Probation Service", "health": "GP / Health",
           "idva_marac": "IDVA/MARAC ", "other": "Other"}
PROGRAMMES = {"second_step": "Second Step", "one_to_one": "121s", "womens_programme": "Women's Group",
              "step_up_dads": "Step Up Dads", "foundations": "Foundations"}
STATUSES = {"completed": "Completed", "disengaged": "Dropped Out", "suspended": "Suspended",
            "excluded": "Excluded", "ongoing": "On Programme"}
OUTCOMES = {"conviction": "Conviction", "caution": "Caution", "community_resolution": "Community Resolution",
            "charge_pending": "Charge Pending", "no_further_action": "NFA", "other": "Other"}


def _typed(values: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Labels as people type them: some upper case, some lower, some with stray spaces."""
    how = rng.integers(0, 4, len(values))
    text = values.astype(str)
    return pd.Series(np.select([how == 1, how == 2, how == 3],
                               [text.str.upper(), text.str.lower(), "  " + text + " "], text),
                     index=values.index)


def _uk(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.strftime("%d/%m/%Y").fillna("")


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """(clean contract-form demo folder, the provider's export made from it)."""
    from evallib.synthetic.demo import write_demo

    root = tmp_path_factory.mktemp("provider")
    clean = root / "clean"
    write_demo(clean, area="leicestershire")
    rng = np.random.default_rng(7)
    ref = pd.read_csv(clean / "referrals.csv", dtype=str)
    ep = pd.read_csv(clean / "episodes.csv", dtype=str)
    pol = pd.read_csv(clean / "police.csv", dtype=str)
    out = root / "export"
    out.mkdir()
    pd.DataFrame({
        "Ref No": ref["referral_id"], "Client ID": ref["person_id"], "Date Received": _uk(ref["referral_date"]),
        "Local Authority": _typed(ref["district"], rng), "Referral Source": _typed(ref["source"].map(SOURCES), rng),
        "Eligible?": ref["eligible"].map({"true": "Y", "false": "N"}), "Gender": _typed(ref["gender"], rng),
        "AGE": ref["age"], "Ethnic Origin": _typed(ref["ethnicity"], rng), "Risk Level": _typed(ref["risk_level"].str.capitalize(), rng),
        "Keyworker": rng.choice(["A", "B", "C"], len(ref)),
    }).to_csv(out / "referrals.csv", index=False)
    pd.DataFrame({
        "Episode ID": ep["episode_id"], "Ref No": ep["referral_id"],
        "Intervention": _typed(ep["programme"].map(PROGRAMMES), rng),
        "Start Date": pd.to_datetime(ep["start_date"]), "End Date": pd.to_datetime(ep["end_date"]),
        "Outcome": _typed(ep["status"].map(STATUSES), rng),
        "Sessions Offered": pd.to_numeric(ep["sessions_offered"]),
        "Sessions Attended": pd.to_numeric(ep["sessions_attended"]),
    }).to_excel(out / "episodes.xlsx", index=False)         # Excel date cells
    pd.DataFrame({
        "Offence ID": pol["offence_id"], "Client ID": pol["person_id"], "Date of Offence": _uk(pol["offence_date"]),
        "DA Flag": pol["da_related"].map({"true": "Y", "false": "N"}),
        "Disposal": _typed(pol["outcome"].map(OUTCOMES), rng), "Disposal Date": _uk(pol["outcome_date"]),
    }).to_csv(out / "police.csv", index=False)
    part = pd.read_csv(clean / "partners.csv", dtype=str)
    part = part.rename(columns={"partner_id": "Partner ID", "referral_id": "Ref No", "offered_date": "Date Offered",
                                "engaged": "Engaged", "contact_made": "Contact Made"})
    part["Date Offered"] = pd.to_datetime(part["Date Offered"])
    part["Engaged"] = part["Engaged"].map({"true": "Yes", "false": "No"})
    for column in ("support", "stage", "feels_safer", "abuse_reduced"):
        part[column] = _typed(part[column].str.replace("_", " ").str.capitalize(), rng).where(part[column].notna())
    part.to_excel(out / "partners.xlsx", index=False)                 # a second XLSX table
    meta = yaml.safe_load((clean / "dataset.yaml").read_text())
    (out / "dataset.yaml").write_text(yaml.safe_dump({"area": AREA, "extract_date": meta["extract_date"],
                                                      "police_extract_date": meta["police_extract_date"],
                                                      "description": "a provider's export"}))
    return clean, out


# The answers a researcher writes in place of the draft's TODOs: nothing else changes.
ANSWERS = {
    "columns": {"referrals": {"Ethnic Origin": "ethnicity"}},
    "extra_columns": {"referrals": ["Keyworker"]},
    "labels": {"referrals": {"source": {"Self Referral": "self"}},
               "episodes": {"status": {"Dropped Out": "disengaged"}},
               "police": {"outcome": {"NFA": "no_further_action"}}},
    "roles": {"second_step": "core", "121s": "core", "women_s_group": "core", "step_up_dads": "follow_on",
              "foundations": "awareness"},
}


def fill_in(draft_text: str) -> dict:
    area = yaml.safe_load(draft_text)
    for table, mapping in ANSWERS["columns"].items():
        area.setdefault("columns", {}).setdefault(table, {}).update(mapping)
    area["extra_columns"] = ANSWERS["extra_columns"]
    for table, by_col in ANSWERS["labels"].items():
        for col, mapping in by_col.items():
            area.setdefault("labels", {}).setdefault(table, {}).setdefault(col, {}).update(mapping)
    for key, role in ANSWERS["roles"].items():
        area["programmes"][key]["role"] = role
    return area


def test_new_area_drafts_every_match_it_can_tell_and_a_todo_for_the_rest(export):
    _, folder = export
    draft = draft_area(AREA, folder)
    area = yaml.safe_load(draft.text)         # TODOs are comments: the draft is valid YAML
    assert area["date_format"] == "%d/%m/%Y"
    assert "episodes" not in area.get("date_formats", {})      # Excel date cells need no format
    assert area["columns"]["referrals"] == {
        "Ref No": "referral_id", "Client ID": "person_id", "Date Received": "referral_date",
        "Local Authority": "district", "Referral Source": "source", "Eligible?": "eligible", "Gender": "gender", "AGE": "age",
        "Risk Level": "risk_level"}
    assert area["columns"]["episodes"] == {
        "Episode ID": "episode_id", "Ref No": "referral_id", "Intervention": "programme",
        "Start Date": "start_date", "End Date": "end_date", "Outcome": "status",
        "Sessions Offered": "sessions_offered", "Sessions Attended": "sessions_attended"}
    assert area["columns"]["police"] == {
        "Offence ID": "offence_id", "Client ID": "person_id", "Date of Offence": "offence_date",
        "DA Flag": "da_related", "Disposal": "outcome", "Disposal Date": "outcome_date"}
    districts = pd.read_csv(folder.parent / "clean" / "referrals.csv")["district"].unique()
    assert sorted(d.strip().lower() for d in area["districts"]) == sorted(d.lower() for d in districts)
    assert {p["label"].strip().lower() for p in area["programmes"].values()} == {
        v.lower() for v in PROGRAMMES.values()}
    # a TODO line for each thing it cannot tell, and nothing else
    todo_lines = [line for line in draft.text.splitlines() if "TODO:" in line]
    for expected in ["Ethnic Origin", "Keyworker", '"self referral"', '"dropped out"', '"nfa"']:
        assert any(expected.lower() in line.lower() for line in todo_lines), (expected, draft.text)
    assert len(todo_lines) == 5 + 5   # and name, police force, districts to check, groups, programme roles
    labels = area["labels"]["referrals"]["source"]
    assert labels == {"Probation Service": "probation", "GP / Health": "health"}  # close matches, marked
    assert '"Probation Service": probation   # close match: check it' in draft.text
    assert "Children's Social Care" not in draft.text   # matched by normalising: no line needed


def test_filled_in_draft_validates_and_counts_match_plain_pandas(export, tmp_path, monkeypatch, capsys):
    clean, folder = export
    pdir = tmp_path / "params"
    (pdir / "areas").mkdir(parents=True)
    (pdir / "suite.yaml").write_text((Path(cli.__file__).parents[1] / "params" / "suite.yaml").read_text())
    monkeypatch.setenv("EVALLIB_PARAMS", str(pdir))
    assert cli.main(["new-area", AREA, "--from", str(folder)]) == 0
    said = capsys.readouterr().out
    assert f"evallib validate --data \"{folder}\" --area {AREA}" in said and "TODO" in said
    draft = (pdir / "areas" / f"{AREA}.yaml").read_text()
    (pdir / "areas" / f"{AREA}.yaml").write_text(yaml.safe_dump(fill_in(draft), sort_keys=False))
    assert cli.main(["validate", "--data", str(folder), "--area", AREA]) == 0, capsys.readouterr()

    from evallib import tables
    from evallib.cohorts import build_cohort
    from evallib.outcomes.reoffending import evaluation_frame
    from evallib.schemas import load_dataset

    ds = load_dataset(folder, AREA)
    period = "2021-22"

    # ---- the independent count: plain pandas on the clean data the export came from
    ref = pd.read_csv(clean / "referrals.csv", parse_dates=["referral_date"])
    ep = pd.read_csv(clean / "episodes.csv", parse_dates=["start_date", "end_date"])
    pol = pd.read_csv(clean / "police.csv", parse_dates=["offence_date", "outcome_date"])
    extract = pd.Timestamp(yaml.safe_load((clean / "dataset.yaml").read_text())["police_extract_date"])
    in_period = ref[(ref["referral_date"] >= PERIOD_START) & (ref["referral_date"] <= PERIOD_END)]
    received = in_period.groupby("district").size()
    eligible = in_period[in_period["eligible"]].groupby("district").size()

    core = ep[ep["programme"].isin(CORE)].merge(ref[["referral_id", "person_id"]], on="referral_id")
    first = core.sort_values(["person_id", "start_date", "episode_id"]).drop_duplicates("person_id")
    starters = first[(first["start_date"] >= PERIOD_START) & (first["start_date"] <= PERIOD_END)]
    completers = starters[starters["status"] == "completed"]
    non_completers = starters[starters["status"].isin(["disengaged", "suspended", "excluded"])]

    def reoffenders(people: pd.DataFrame) -> tuple[int, int]:
        """(countable, proven reoffenders) with the index date at the end of the episode."""
        idx = people[["person_id", "end_date"]].rename(columns={"end_date": "index"})
        idx["window_end"] = idx["index"] + pd.DateOffset(months=12)
        idx["waiting_end"] = idx["window_end"] + pd.DateOffset(months=6)
        idx = idx[idx["waiting_end"] <= extract]
        m = idx.merge(pol, on="person_id")
        hit = m[(m["offence_date"] > m["index"]) & (m["offence_date"] <= m["window_end"])
                & m["outcome"].isin(PROVEN) & (m["outcome_date"] <= m["waiting_end"])
                & (m["outcome_date"] <= extract)]
        return len(idx), hit["person_id"].nunique()

    # ---- evallib on the provider's export, read through the area file alone
    suite_refs = tables.referrals_table(ds, period).set_index("district")
    for district, n in received.items():
        assert suite_refs.loc[district, "received"] == n, district
        assert suite_refs.loc[district, "eligible"] == eligible.get(district, 0), district
    assert suite_refs.loc[list(received.index), "received"].sum() == len(in_period)

    cohort = build_cohort(ds, period)
    flow = cohort.flow.set_index(["stage", "step", "reason"])["n"]
    assert flow[("Referrals supplied", "kept", "rows in referrals")] == len(ref)
    assert flow[(f"Starters in {period}", "kept", "")] == len(starters)
    assert flow[("Completers", "kept", "")] == len(completers)
    assert flow[("Non-completers", "kept", "disengaged, suspended or excluded")] == len(non_completers)

    frame = evaluation_frame(ds, cohort)
    for group, people in (("completed", completers), ("not_completed", non_completers)):
        mine = frame[(frame["group"] == group) & frame["countable"].fillna(False)]
        assert (len(mine), int(mine["reoffended_any"].sum())) == reoffenders(people), group
    # the comparison is not empty: people in both groups, and reoffenders among them
    assert len(completers) > 0 and len(non_completers) > 0
    assert reoffenders(completers)[1] + reoffenders(non_completers)[1] > 0


def test_export_runs_through_a_notebook(export, tmp_path):
    """`evallib run` with the area file alone makes the evaluation report."""
    _, folder = export
    pdir = tmp_path / "params"
    (pdir / "areas").mkdir(parents=True)
    (pdir / "suite.yaml").write_text((Path(cli.__file__).parents[1] / "params" / "suite.yaml").read_text())
    (pdir / "areas" / f"{AREA}.yaml").write_text(
        yaml.safe_dump(fill_in(draft_area(AREA, folder).text), sort_keys=False))
    env = {**__import__("os").environ, "EVALLIB_PARAMS": str(pdir)}
    proc = subprocess.run([sys.executable, "-m", "evallib", "run", "--data", str(folder), "--area", AREA,
                           "--period", "2021-22", "--notebook", "service_outputs", "--out", str(tmp_path / "out"),
                           "--no-progress", "--format", "html"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    referrals = pd.read_csv(tmp_path / "out" / AREA / "2021-22" / "service_outputs" / "tables" / "referrals.csv")
    assert len(referrals) > 0
    # the report speaks of this area's programmes and groups only (it has no groups)
    report = next((tmp_path / "out" / AREA / "2021-22").glob("*/*.html")).read_text(encoding="utf-8")
    assert "COUNTY" not in report and "Group rows" not in report
    assert "Children of people on intervention (Foundations excluded)" in report   # its own awareness label


def test_date_format_detection():
    assert detect_date_format(pd.Series(["25/04/2022", "01/12/2021"]))[0] == "%d/%m/%Y"
    fmt, note = detect_date_format(pd.Series(["03/04/2022", "01/12/2021"]))
    assert fmt == "%d/%m/%Y" and "confirm" in note          # never chosen silently
    assert detect_date_format(pd.Series(["2022-04-25", ""]))[0] == "%Y-%m-%d"
    assert detect_date_format(pd.Series(["12/25/2022"]))[0] == "%m/%d/%Y"


def test_draft_names_files_to_rename_and_required_columns_missing(tmp_path):
    pd.DataFrame({"Referral Number": ["A1"], "Date Received": ["25/04/2022"], "Borough": ["Northtown"],
                  "Referred By": ["Police"], "Eligible": ["Y"]}).to_csv(tmp_path / "Referral Export.csv",
                                                                          index=False)
    draft = draft_area("newtown", tmp_path)
    assert draft.renames == {"Referral Export.csv": "referrals.csv"}
    assert "# TODO: required column person_id" in draft.text
    area = yaml.safe_load(draft.text)
    assert area["columns"]["referrals"] == {"Referral Number": "referral_id", "Date Received": "referral_date",
                                            "Borough": "district", "Referred By": "source", "Eligible": "eligible"}
    assert area["districts"] == ["Northtown"] and area["date_format"] == "%d/%m/%Y"


def test_identifying_columns_are_never_mapped(tmp_path):
    pd.DataFrame({"Ref No": ["A1"], "Client ID": ["P1"], "D.O.B.": ["01/01/1980"], "Surname": ["X"]}).to_csv(
        tmp_path / "referrals.csv", index=False)
    draft = draft_area("newtown", tmp_path)
    assert yaml.safe_load(draft.text)["columns"]["referrals"] == {"Ref No": "referral_id", "Client ID": "person_id"}
    assert '# TODO: "D.O.B.": a date of birth, never read: remove it from the export' in draft.text


def test_programme_keys_stay_distinct():
    from evallib.new_area import Draft, _programmes

    lines = _programmes({"episodes": pd.DataFrame({"programme": ["A & B", "A B", "A B"]})}, Draft("x", ""))
    area = yaml.safe_load("\n".join(lines))
    assert sorted((k, v["label"]) for k, v in area["programmes"].items()) == [("a_b", "A B"), ("a_b_2", "A & B")]


def test_draft_asks_about_yes_no_words(tmp_path):
    pd.DataFrame({"Ref No": ["A1", "A2", "A3"], "Eligible": ["Y", "Not Eligible", "n"]}).to_csv(
        tmp_path / "referrals.csv", index=False)
    draft = draft_area("newtown", tmp_path)
    assert '# TODO: "Not Eligible": true or false' in draft.text
    assert '"Y"' not in draft.text.split("labels")[-1] and "label 'Not Eligible' of referrals.eligible" in draft.todos


def test_new_area_out_elsewhere_says_how_to_validate_it(export, tmp_path, capsys):
    _, folder = export
    target = tmp_path / "draft.yaml"
    assert cli.main(["new-area", AREA, "--from", str(folder), "--out", str(target)]) == 0
    said = capsys.readouterr().out
    assert f'--area "{target}"' in said and "move it to" in said and target.exists()
    assert cli.main(["new-area", AREA, "--from", str(folder), "--out", str(target)]) == 2   # never replaced
    assert "--force" in capsys.readouterr().err
