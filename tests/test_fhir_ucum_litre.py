"""UCUM spells the litre ``l`` or ``L``: the FHIR reader reads both, as the JSON input does, and nothing else.

UCUM's own table (ucum-essence.xml 2.2, ucum-org/ucum at d060c6d3) has ``<unit Code="l" ...>`` and
``<unit Code="L" ...>``, both the metric litre. Every other letter of a UCUM code keeps its case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import neuroguide as ng
from neuroguide import fhir
from neuroguide import terminology as t

AS_OF = dt.date(2026, 11, 23)
FACT = "urn:neuroguide:fact"
UCUM = "http://unitsofmeasure.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01", "gender": "male"}


def observation(fact: str, value: float, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": FACT, "code": fact}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": value, "system": UCUM, "code": code},
    }


def read(fact: str, value: float, code: str) -> fhir.Reading:
    entries = [{"resource": r} for r in (PATIENT, observation(fact, value, code))]
    return fhir.read({"resourceType": "Bundle", "type": "collection", "entry": entries}, as_of=AS_OF)


def from_json(fact: str, value: float, unit: str) -> Any:
    patient = ng.Patient.from_dict({"age": 66, "sex": "male", "measurements": {fact: f"{value} {unit}"}})
    return patient.normalized[fact]


# (fact, value, the code with L, the same code with l): both spellings written out, not derived from each other.
LITRE = [
    ("b12-total", 310, "pg/mL", "pg/ml"),
    ("b12-total", 310, "ng/L", "ng/l"),
    ("b12-total", 229, "pmol/L", "pmol/l"),
    ("serum-creatinine", 97, "umol/L", "umol/l"),
    ("serum-creatinine", 1.1, "mg/dL", "mg/dl"),
    ("fasting-glucose", 7.2, "mmol/L", "mmol/l"),
]


@pytest.mark.parametrize(("fact", "value", "upper", "lower"), LITRE, ids=[f"{r[0]}-{r[3]}" for r in LITRE])
def test_both_litre_spellings_read_as_the_json_input_reads_them(
    fact: str, value: float, upper: str, lower: str
) -> None:
    for code in (upper, lower):
        reading = read(fact, value, code)
        assert reading.notes == (), (code, reading.notes)
        assert reading.patient.normalized[fact] == from_json(fact, value, code)
        assert reading.patient.normalized[fact] == from_json(fact, value, upper)
    # one value, one reading: the lower-case code is read as the code the table lists
    assert read(fact, value, lower).patient.to_dict() == read(fact, value, upper).patient.to_dict()


def test_hba1c_in_mmol_per_mol_has_no_litre_and_reads_as_json() -> None:
    reading = read("hba1c", 53, "mmol/mol")
    assert reading.notes == ()
    assert reading.patient.normalized["hba1c"] == from_json("hba1c", 53, "mmol/mol")


@pytest.mark.parametrize(
    ("fact", "text", "expected"),
    [
        # normalised to pg/mL (B12) and mg/dL (creatinine, glucose); molar masses: cobalamin 1355.4 g/mol,
        # creatinine 113.12 g/mol (88.4 umol/L = 1 mg/dL), glucose 180.16 g/mol (1 mmol/L = 18.016 mg/dL)
        ("b12-total", "310 pg/ml", 310.0),
        ("b12-total", "310 ng/l", 310.0),
        ("b12-total", "310 pmol/l", 420.2),
        ("serum-creatinine", "88.4 umol/l", 1.0),
        ("serum-creatinine", "1.1 mg/dl", 1.1),
        ("fasting-glucose", "7 mmol/l", 126.1),
    ],
)
def test_a_lower_case_litre_is_read_at_its_own_scale(fact: str, text: str, expected: float) -> None:
    value, code = text.split()
    normalized = read(fact, float(value), code).patient.normalized[fact]
    assert normalized == pytest.approx(expected, abs=0.1)


def test_folate_is_not_a_fact_in_either_spelling() -> None:
    # neuroguide has no folate measurement: both spellings get the same note, about the code, not the unit
    readings = [read("folate", 6.2, code) for code in ("ng/mL", "ng/ml")]
    for reading in readings:
        assert "measurements" not in reading.patient.to_dict()
        assert len(reading.notes) == 1 and "unit" not in reading.notes[0].what
    assert readings[0].notes == readings[1].notes


@pytest.mark.parametrize("code", ["Mg/dL", "MG/DL", "mg/Dl", "pg/mLl", "umol/LL", "pg/m l", "Umol/l", "furlong"])
def test_a_unit_outside_the_table_still_gets_its_note(code: str) -> None:
    reading = read("b12-total", 310, code)
    assert "measurements" not in reading.patient.to_dict()
    assert [(n.kind, n.what, n.reason) for n in reading.notes] == [
        (
            fhir.NoteKind.UNRECOGNISED,
            f"b12-total unit {code!r}",
            "not a UCUM unit neuroguide accepts (see the codes page)",
        )
    ]


@pytest.mark.parametrize(
    ("code", "unit"),
    [("ml/min", "mL/min"), ("umol/l", "umol/L"), ("mmol/mol", "mmol/mol"), ("mg", "mg"), ("Mg", None), ("l", None)],
)
def test_ucum_unit_maps_only_the_litre(code: str, unit: str | None) -> None:
    assert t.ucum_unit(code) == unit
