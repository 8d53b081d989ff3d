"""The FHIR reader maps the standard codes of codes.toml to their facts (codes written here from the VSAC lists)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import neuroguide as ng
from neuroguide import fhir
from neuroguide import terminology as t

AS_OF = dt.date(2026, 11, 23)
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
SUBJECT = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01", "gender": "male"}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (PATIENT, *resources)]}


def lab(code: str, value: float, unit: str, ident: str = "o1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": value, "system": UCUM, "code": unit, "unit": unit},
    }


def condition(system: str, code: str, ident: str = "c1", status: str = "confirmed") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": ident,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": status}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": SUBJECT,
        "recordedDate": "2026-10-01",
    }


@pytest.mark.parametrize(
    ("code", "value", "unit", "fact", "text"),
    [
        ("2160-0", 1.1, "mg/dL", "serum-creatinine", "1.1 mg/dL"),
        ("14682-9", 97, "umol/L", "serum-creatinine", "97 umol/L"),
        ("29463-7", 82.5, "kg", "weight", "82.5 kg"),
        ("3141-9", 82500, "g", "weight", "82500 g"),
        ("8302-2", 176, "cm", "height", "176 cm"),
        ("1558-6", 131, "mg/dL", "fasting-glucose", "131 mg/dL"),
        ("2345-7", 11.4, "mmol/L", "random-glucose", "11.4 mmol/L"),
        ("4548-4", 7.9, "%", "hba1c", "7.9 %"),
    ],
)
def test_loinc_observation_is_read_into_its_fact(code: str, value: float, unit: str, fact: str, text: str) -> None:
    reading = fhir.read(bundle(lab(code, value, unit)), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["measurements"] == {fact: text}


def test_serum_creatinine_by_loinc_gives_the_same_clearance_as_the_json_input() -> None:
    # Cockcroft-Gault, male, 66 years, 82.5 kg, creatinine 1.1 mg/dL: (140-66)*82.5/(72*1.1) = 77.08 mL/min.
    resources = (lab("2160-0", 1.1, "mg/dL"), lab("29463-7", 82.5, "kg", ident="o2"))
    got = fhir.assess(bundle(*resources), as_of=AS_OF)
    same = ng.Patient.from_dict(
        {
            "id": "p1",
            "birth_date": "1960-05-01",
            "sex": "male",
            "measurements": {"serum-creatinine": "1.1 mg/dL", "weight": "82.5 kg"},
        }
    )
    expected = ng.assess(same, as_of=AS_OF)
    assert got.record.facts == expected.record.facts
    assert got.record.facts["crcl"] == pytest.approx(77.083, abs=0.001)


@pytest.mark.parametrize(
    ("system", "code", "fact"),
    [
        (ICD, "N18.6", "end-stage-renal-disease"),
        (SCT, "236435004", "end-stage-renal-disease"),
        (ICD, "N18.4", "kidney-disease"),
        (SCT, "422034002", "retinopathy"),
        (SCT, "65568007", "smoker"),
        (ICD, "F10.10", "alcohol-excess"),
        (ICD, "K51.90", "inflammatory-bowel-disease"),
        (ICD, "K90.0", "malabsorption"),
    ],
)
def test_condition_codes_set_their_finding(system: str, code: str, fact: str) -> None:
    reading = fhir.read(bundle(condition(system, code)), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["findings"][fact] is True  # (a few codes also set a second finding)
    refuted = fhir.read(bundle(condition(system, code, status="refuted")), as_of=AS_OF)
    # refuting a code that names one kind of the finding (ESRD on dialysis) does not say the finding is absent
    expected = {fact: False} if t.refutes(fact, code) else {}
    assert refuted.patient.to_dict().get("findings", {}) == expected
    assert t.refutes(fact, code) == (code != "236435004")


def test_chemotherapy_procedure_sets_the_finding_whatever_its_date() -> None:
    procedure = {
        "resourceType": "Procedure",
        "id": "x1",
        "status": "completed",
        "code": {"coding": [{"system": SCT, "code": "266719004"}]},
        "subject": SUBJECT,
        "performedDateTime": "2019-03-04",
    }
    reading = fhir.read(bundle(procedure), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["findings"] == {"chemotherapy": True}


def test_a_code_next_to_a_bound_one_is_listed_not_guessed() -> None:
    whole_blood = lab("38483-4", 1.1, "mg/dL")  # creatinine in whole blood: a different test
    reading = fhir.read(bundle(whole_blood), as_of=AS_OF)
    assert [n.resource for n in reading.unrecognised] == ["Observation/o1"]
    assert not reading.patient.to_dict().get("measurements")


def test_a_code_naming_two_facts_sets_both_while_current() -> None:
    dpn = {**condition(ICD, "E11.42"), "onsetDateTime": "2015-03-01"}
    reading = fhir.read(bundle(dpn), as_of=AS_OF)
    assert reading.notes == ()
    data = reading.patient.to_dict()
    assert data["diabetes"] == {"type": "type-2", "diagnosed": "2015-03-01"}
    assert data["findings"] == {"diabetic-peripheral-neuropathy": True}


@pytest.mark.parametrize("status", ["refuted", "entered-in-error"])
def test_a_refuted_code_never_sets_its_second_fact(status: str) -> None:
    esrd = condition(ICD, "N18.6", status=status)
    reading = fhir.read(bundle(esrd), as_of=AS_OF)
    assert "kidney-disease" not in reading.patient.to_dict().get("findings", {})


def test_a_resolved_condition_does_not_set_its_second_fact() -> None:
    ulcer = {
        **condition(ICD, "E11.621"),
        "onsetDateTime": "2015-03-01",
        "clinicalStatus": {"coding": [{"code": "resolved"}]},
    }
    reading = fhir.read(bundle(ulcer), as_of=AS_OF)
    assert "foot-ulcer" not in reading.patient.to_dict().get("findings", {})


def test_end_stage_renal_failure_on_dialysis_also_sets_dialysis() -> None:
    reading = fhir.read(bundle(condition(SCT, "236435004")), as_of=AS_OF)
    assert reading.patient.to_dict()["findings"] == {"end-stage-renal-disease": True, "dialysis": True}
