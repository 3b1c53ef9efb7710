"""Params files and period parsing."""

from datetime import date

import pytest

from evallib.params import (
    ParamsError,
    PeriodError,
    financial_year_of,
    load_area,
    load_suite,
    parse_period,
)


@pytest.mark.parametrize("text,start,end,kind", [
    ("2021-22", date(2021, 4, 1), date(2022, 3, 31), "year"),
    ("1999-00", date(1999, 4, 1), date(2000, 3, 31), "year"),
    ("2023-24Q1", date(2023, 4, 1), date(2023, 6, 30), "quarter"),
    ("2023-24Q3", date(2023, 10, 1), date(2023, 12, 31), "quarter"),
    ("2023-24Q4", date(2024, 1, 1), date(2024, 3, 31), "quarter"),
    ("2023-24q2", date(2023, 7, 1), date(2023, 9, 30), "quarter"),
    ("2022-04-01..2022-11-30", date(2022, 4, 1), date(2022, 11, 30), "range"),
])
def test_periods_parse(text, start, end, kind):
    p = parse_period(text)
    assert (p.start, p.end, p.kind) == (start, end, kind)


def test_period_slug_and_title():
    assert parse_period("2022-04-01..2022-11-30").slug == "2022-04-01_2022-11-30"
    assert parse_period("2021-22").title == "April 2021 - March 2022"
    assert "October 2023" in parse_period("2023-24Q3").title


@pytest.mark.parametrize("bad", ["2021", "2021-23", "2021/22", "Q3 2023", "2023-24Q5",
                                 "2022-04-01..2022-02-30", "2022-11-30..2022-04-01", ""])
def test_bad_periods_refused_with_example(bad):
    with pytest.raises(PeriodError) as exc:
        parse_period(bad)
    assert "2021-22" in str(exc.value) and "2023-24Q3" in str(exc.value)


def test_financial_year_of():
    assert financial_year_of(date(2022, 3, 31)) == "2021-22"
    assert financial_year_of(date(2022, 4, 1)) == "2022-23"


def test_leicestershire_area():
    a = load_area("leicestershire")
    assert len(a.districts) == 9
    assert a.core_programmes == ["second_step", "one_to_one", "womens_programme"]
    assert a.programmes_with_role("awareness") == ["foundations"]
    rows = [r for r, _ in a.report_rows()]
    assert rows[:7] == a.groups["COUNTY"]
    assert rows[7:] == ["COUNTY", "Rutland", "CITY"]
    assert a.district_aliases["Hinkley and Bosworth"] == "Hinckley and Bosworth"


def _write(tmp_path, name, text):
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return p


BASE = """name: {name}
display_name: Test
districts: [A, B]
programmes:
  second_step: {{role: core, label: Second Step}}
"""


def test_unknown_key_named(tmp_path):
    p = _write(tmp_path, "t1", BASE.format(name="t1") + "distrcts_typo: [C]\n")
    with pytest.raises(ParamsError) as exc:
        load_area(p)
    assert "t1.yaml" in str(exc.value) and "distrcts_typo" in str(exc.value)
    assert "unknown key" in str(exc.value)


def test_unknown_role_named(tmp_path):
    p = _write(tmp_path, "t2", BASE.format(name="t2").replace("role: core", "role: central"))
    with pytest.raises(ParamsError) as exc:
        load_area(p)
    assert "programmes.second_step.role" in str(exc.value) and "central" in str(exc.value)


def test_wrong_type_named(tmp_path):
    p = _write(tmp_path, "t3", BASE.format(name="t3") + "disclosure: {threshold: five}\n")
    with pytest.raises(ParamsError) as exc:
        load_area(p)
    assert "disclosure.threshold" in str(exc.value)


def test_group_with_unknown_district(tmp_path):
    p = _write(tmp_path, "t4", BASE.format(name="t4") + "groups: {ALL: [A, Z]}\n")
    with pytest.raises(ParamsError, match="Z"):
        load_area(p)


def test_unknown_area_lists_available():
    with pytest.raises(ParamsError, match="leicestershire"):
        load_area("atlantis")


def test_suite_loads_and_periods_valid():
    suite = load_suite()
    assert suite.runs
    for run in suite.runs:
        for area in run.areas or [run.area]:   # a pooled block names its areas; its area is the report's name
            load_area(area)
        for p in run.periods:
            parse_period(p)


def test_suite_bad_period(tmp_path):
    p = tmp_path / "suite.yaml"
    p.write_text("runs:\n  - area: leicestershire\n    periods: [2021/22]\n    notebooks: [x]\n")
    with pytest.raises(ParamsError, match="2021/22"):
        load_suite(p)


@pytest.mark.parametrize("name", ["leicestershire", "nottinghamshire", "derbyshire"])
def test_every_area_file_loads(name):
    area = load_area(name)
    assert area.name == name and area.core_programmes
    # every district appears in exactly one report row of its own or a group
    covered = [d for _, members in area.report_rows() if len(members) == 1 for d in members]
    assert set(area.districts) <= set(covered) | {d for g in area.groups.values() for d in g}
