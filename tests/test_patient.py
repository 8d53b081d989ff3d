from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng

BASE: dict[str, Any] = {
    "id": "p1",
    "birth_date": "1960-05-01",
    "sex": "female",
    "diabetes": {"type": "type-2", "diagnosed": "2015-03-01"},
    "findings": {"monofilament-abnormal": True, "claudication": False},
    "measurements": {"serum-creatinine": "1.2 mg/dL", "weight": "72 kg", "b12-total": "150 pmol/L"},
    "last": {"neuropathy-exam": "2025-10-01"},
    "medications": [{"agent": "metformin", "dose": "2000 mg", "per": "day", "started": "2016-01-01"}],
}


def _with(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(BASE))
    data.update(changes)
    return data


def test_round_trip_dict() -> None:
    p = ng.Patient.from_dict(BASE)
    again = ng.Patient.from_dict(p.to_dict())
    assert again == p
    assert p.to_dict()["measurements"]["b12-total"] == "150 pmol/L"


def test_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(BASE), encoding="utf-8")
    assert ng.Patient.from_json(path).id == "p1"


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        (_with(age=-3), "age", "from 0 to 120"),
        (_with(sex="x"), "sex", "'female' or 'male'"),
        (_with(findings={"purple-toes": True}), "findings.purple-toes", "known"),
        (_with(findings={"claudication": "yes"}), "findings.claudication", "true, false or null"),
        (_with(measurements={"serum-creatinine": "0 mg/dL"}), "measurements.serum-creatinine", "between"),
        (_with(measurements={"serum-creatinine": "1.2 mg"}), "measurements.serum-creatinine", "convertible to mg/dL"),
        (_with(measurements={"weight": "72"}), "measurements.weight", "number followed by a unit"),
        (_with(measurements={"hba1c": "48 umol/L"}), "measurements.hba1c", "mmol/mol"),
        (_with(diabetes={"type": "type-3", "diagnosed": "2015-03-01"}), "diabetes.type", "type-1"),
        (_with(diabetes={"type": "type-2", "diagnosed": "2015/03/01"}), "diabetes.diagnosed", "YYYY-MM-DD"),
        (_with(last={"toe-exam": "2025-01-01"}), "last.toe-exam", "neuropathy-exam"),
        (_with(medications=[{"agent": " ", "dose": "1 mg", "per": "day"}]), "medications[0].agent", "drug name"),
        (_with(medications=[{"agent": "x", "dose": "1 mg"}]), "medications[0].per", "period"),
        (_with(medications=[{"agent": "x", "cumulative": "5 mL"}]), "medications[0].cumulative", "mass"),
        (_with(nickname="Bob"), "nickname", "patient fields"),
    ],
)
def test_bad_input_names_field_value_and_expectation(data: dict[str, Any], field: str, expected: str) -> None:
    with pytest.raises(ng.InputError) as info:
        ng.Patient.from_dict(data)
    assert info.value.field == field
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


def test_date_after_as_of_is_refused() -> None:
    p = ng.Patient.from_dict(_with(last={"neuropathy-exam": "2026-12-01"}))
    with pytest.raises(ng.InputError) as info:
        ng.assess(p, as_of=dt.date(2026, 11, 23))
    assert info.value.field == "last.neuropathy-exam"
    assert "on or before" in str(info.value)


def test_units_are_normalised_once() -> None:
    from neuroguide._facts import derive

    a = derive(ng.Patient.from_dict(_with(measurements={"serum-creatinine": "106.08 umol/L"})), dt.date(2026, 1, 1))
    b = derive(ng.Patient.from_dict(_with(measurements={"serum-creatinine": "1.2 mg/dL"})), dt.date(2026, 1, 1))
    assert a["serum-creatinine"] == pytest.approx(b["serum-creatinine"], rel=1e-3)


def test_hba1c_in_ifcc_units_converts_by_master_equation() -> None:
    from neuroguide._facts import derive

    facts = derive(ng.Patient.from_dict(_with(measurements={"hba1c": "48 mmol/mol"})), dt.date(2026, 1, 1))
    assert facts["hba1c"] == pytest.approx(0.0915 * 48 + 2.15)


def test_lops_is_unknown_unless_recorded() -> None:
    from neuroguide._facts import derive

    none = derive(ng.Patient.from_dict({"findings": {}}), dt.date(2026, 1, 1))
    assert "lops" not in none
    neg = derive(
        ng.Patient.from_dict({"findings": {"monofilament-abnormal": False, "vibration-abnormal": False}}),
        dt.date(2026, 1, 1),
    )
    assert neg["lops"] is False
    pos = derive(ng.Patient.from_dict({"findings": {"vibration-abnormal": True}}), dt.date(2026, 1, 1))
    assert pos["lops"] is True


def test_durations_count_calendar_anniversaries() -> None:
    from neuroguide._facts import elapsed_years

    start = dt.date(2022, 11, 23)
    assert elapsed_years(start, dt.date(2026, 11, 22)) < 4
    assert elapsed_years(start, dt.date(2026, 11, 23)) == 4
    assert elapsed_years(start, dt.date(2026, 11, 24)) > 4


@pytest.mark.parametrize(("typo", "meant"), [("medication", "medications"), ("birthdate", "birth_date")])
def test_an_unknown_top_level_field_suggests_the_close_one(typo: str, meant: str) -> None:
    with pytest.raises(ng.InputError) as info:
        ng.Patient.from_dict({typo: []})
    assert typo in str(info.value)
    assert f"did you mean {meant}?" in str(info.value)


@pytest.mark.parametrize(("name", "symbol"), [("hba1c", "%"), ("serum-creatinine", "mg/dL"), ("weight", "kg")])
def test_a_bare_number_measurement_names_the_facts_unit(name: str, symbol: str) -> None:
    with pytest.raises(ng.UnitError) as info:
        ng.Patient.from_dict({"measurements": {name: 7.4}})
    assert f"a number followed by a unit, in {symbol} or an equivalent unit" in str(info.value)
    assert "350 ug" not in str(info.value)
