"""A FHIR dose in micrograms reads as its JSON twin does, whichever spelling; a unit not read is named in a note."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import neuroguide as ng
from neuroguide import fhir
from neuroguide.exceptions import UnknownUnitError
from neuroguide.fhir import NoteKind

AS_OF = dt.date(2026, 11, 23)
UCUM = "http://unitsofmeasure.org"
JSON_SPELLINGS = ("ug", "mcg", "\u00b5g", "\u03bcg")  # what the JSON input reads as micrograms (units.py)


def _bundle(quantity: dict[str, Any]) -> dict[str, Any]:
    """A patient on vitamin B12 (RxNorm 11248) once daily, the dose written as ``quantity``."""
    request = {
        "resourceType": "MedicationRequest",
        "id": "mr-b12",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "11248", "display": "Vitamin B 12"}
            ]
        },
        "subject": {"reference": "Patient/pu"},
        "authoredOn": "2026-09-01",
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 1000, **quantity}}],
            }
        ],
    }
    patient = {"resourceType": "Patient", "id": "pu", "gender": "female", "birthDate": "1958-04-12"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in (patient, request)],
    }


def _json(unit: str) -> ng.Patient:
    return ng.Patient.from_dict(
        {
            "id": "pu",
            "birth_date": "1958-04-12",
            "sex": "female",
            "medications": [{"agent": "vitamin B12", "dose": f"1000 {unit}", "per": "day", "started": "2026-09-01"}],
        }
    )


# Each way a FHIR Quantity can carry a microgram spelling: as the UCUM code, as a code without a system, and as the
# unit shown without a code.
def _forms(unit: str) -> list[dict[str, Any]]:
    return [{"system": UCUM, "code": unit, "unit": unit}, {"code": unit}, {"unit": unit}]


@pytest.mark.parametrize("unit", JSON_SPELLINGS)
def test_a_microgram_dose_reads_as_its_json_twin(unit: str) -> None:
    twin = _json(unit)
    assert twin.medications[0].dose is not None
    assert twin.medications[0].dose.magnitude == 1000  # the JSON reading of 1000 <unit> is 1000 ug
    for quantity in _forms(unit):
        reading = fhir.read(_bundle(quantity), as_of=AS_OF)
        assert reading.patient.to_dict()["medications"] == twin.to_dict()["medications"], quantity
        expected = ng.assess(twin, as_of=AS_OF).recommendations
        assert fhir.assess(_bundle(quantity), as_of=AS_OF).recommendations == expected


@pytest.mark.parametrize("unit", ["mcg", "\u00b5g", "\u03bcg"])
def test_a_spelling_that_is_not_the_ucum_code_is_read_with_a_note_naming_it(unit: str) -> None:
    for quantity in _forms(unit):
        notes = fhir.read(_bundle(quantity), as_of=AS_OF).notes
        assert [(n.kind, n.resource) for n in notes] == [(NoteKind.ASSUMPTION, "MedicationRequest/mr-b12")]
        assert repr(unit) in notes[0].what and "1000 ug" in notes[0].reason


def test_the_ucum_code_is_read_without_a_note() -> None:
    reading = fhir.read(_bundle({"system": UCUM, "code": "ug", "unit": "mcg"}), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["medications"][0]["dose"] == "1000 ug"


# Not read by the JSON input either: each is refused there by name, and named in a FHIR note.
@pytest.mark.parametrize("unit", ["microgram", "MCG", "mcgs", "umg"])
def test_a_unit_not_read_is_named_and_the_dose_is_not_checked(unit: str) -> None:
    with pytest.raises(UnknownUnitError, match=unit):
        _json(unit)
    for quantity in _forms(unit):
        reading = fhir.read(_bundle(quantity), as_of=AS_OF)
        med = reading.patient.to_dict()["medications"][0]
        assert "dose" not in med, quantity
        unread = [n for n in reading.notes if n.kind is NoteKind.UNRECOGNISED]
        assert len(unread) == 1 and unit in unread[0].what, reading.notes


def test_mcg_in_another_code_system_is_not_read() -> None:
    # A code is read by its system: 'mcg' of some other system is not taken for a UCUM unit.
    reading = fhir.read(_bundle({"system": "http://example.org/units", "code": "mcg"}), as_of=AS_OF)
    assert "dose" not in reading.patient.to_dict()["medications"][0]
    assert any(n.kind is NoteKind.UNRECOGNISED and "mcg" in n.what for n in reading.notes)


# Grams per unit, written out here (not read from units.py): two spellings name the same amount when these agree.
GRAMS = {"g": 1.0, "mg": 1e-3, "ug": 1e-6, "mcg": 1e-6, "\u00b5g": 1e-6}
PAIRS = [(code, unit) for code in GRAMS for unit in GRAMS if code != unit]


def _coded(code: str, unit: str) -> dict[str, Any]:
    # 'ug', 'mg' and 'g' are UCUM codes; 'mcg' and the micro sign are read as a code only without another system.
    return {"system": UCUM, "code": code, "unit": unit} if code in ("ug", "mg", "g") else {"code": code, "unit": unit}


@pytest.mark.parametrize(("code", "unit"), PAIRS)
def test_a_dose_whose_shown_unit_names_another_amount_than_its_code_is_a_conflict(code: str, unit: str) -> None:
    reading = fhir.read(_bundle(_coded(code, unit)), as_of=AS_OF)
    med = reading.patient.to_dict()["medications"][0]
    conflicts = [n for n in reading.notes if n.kind is NoteKind.CONFLICT]
    if GRAMS[code] == GRAMS[unit]:  # the same amount spelled twice: read, never a conflict
        assert conflicts == [], reading.notes
        assert med["dose"] == "1000 ug"
        return
    assert "dose" not in med, med  # not checked: 1000 of which?
    assert len(conflicts) == 1, reading.notes
    note = conflicts[0]
    assert note.resource == "MedicationRequest/mr-b12"
    assert repr(unit) in note.what and repr(code) in note.what
    assert f"1000 {unit}" in note.reason and "not checked" in note.reason
    assert [n for n in reading.notes if n.kind is NoteKind.ASSUMPTION] == []  # no spelling note beside it


def _pregabalin(dose: str | None) -> ng.Patient:
    med = {"agent": "pregabalin", "started": "2026-09-01"} | ({"dose": dose, "per": "day"} if dose else {})
    return ng.Patient.from_dict({"id": "pu", "birth_date": "1958-04-12", "sex": "female", "medications": [med]})


@pytest.mark.parametrize(("code", "unit"), [p for p in PAIRS if GRAMS[p[0]] != GRAMS[p[1]]])
def test_a_conflicting_dose_is_not_checked_by_assess(code: str, unit: str) -> None:
    # Pregabalin (RxNorm 187832) is dose-checked: 1000 of either unit changes the result, an unchecked dose does not.
    bundle = _bundle(_coded(code, unit))
    drug = bundle["entry"][1]["resource"]["medicationCodeableConcept"]["coding"][0]
    drug.update(code="187832", display="pregabalin")
    found = fhir.assess(bundle, as_of=AS_OF).recommendations
    assert found == ng.assess(_pregabalin(None), as_of=AS_OF).recommendations
    for either in (code, unit):
        assert found != ng.assess(_pregabalin(f"1000 {either}"), as_of=AS_OF).recommendations


@pytest.mark.parametrize(("code", "shown", "json"), [("mg", "mg", "1000 mg"), ("ug", "mcg", "1000 mcg"),
                                                     ("ug", "\u00b5g", "1000 ug"), ("g", "g", "1000 g")])  # fmt: skip
def test_a_dose_whose_units_agree_reads_as_its_json_twin(code: str, shown: str, json: str) -> None:
    twin = ng.Patient.from_dict(
        {
            "id": "pu",
            "birth_date": "1958-04-12",
            "sex": "female",
            "medications": [{"agent": "vitamin B12", "dose": json, "per": "day", "started": "2026-09-01"}],
        }
    )
    bundle = _bundle({"system": UCUM, "code": code, "unit": shown})
    reading = fhir.read(bundle, as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["medications"] == twin.to_dict()["medications"]
    assert fhir.assess(bundle, as_of=AS_OF).recommendations == ng.assess(twin, as_of=AS_OF).recommendations


def test_a_shown_unit_that_is_display_text_is_not_compared() -> None:
    reading = fhir.read(_bundle({"system": UCUM, "code": "mg", "unit": "milligram"}), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["medications"][0]["dose"] == "1000 mg"
