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
