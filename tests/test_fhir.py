"""The FHIR R4 reader: what it maps, what it excludes, and that nothing is dropped without a note."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

from neuroguide import (
    InputError,
    UnitError,
    fhir,
)
from neuroguide.exceptions import InputProblemsError
from neuroguide.fhir import NoteKind
from neuroguide.terminology import LOCAL_SYSTEM

AS_OF = dt.date(2026, 11, 23)
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SUBJECT = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01", "gender": "female"}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (PATIENT, *resources)]}


def hba1c(value: float, date: str, status: str = "final", ident: str = "o1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": "17856-6"}]},
        "subject": SUBJECT,
        "effectiveDateTime": date,
        "valueQuantity": {"value": value, "system": UCUM, "code": "%", "unit": "%"},
        **extra,
    }


def local_obs(fact: str, ident: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": LOCAL_SYSTEM, "code": fact}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        **value,
    }


def diabetes(code: str, system: str = SCT, ident: str = "c1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": ident,
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": SUBJECT,
        **extra,
    }


def kinds(reading: fhir.Reading) -> dict[str, NoteKind]:
    return {n.resource: n.kind for n in reading.notes}


def test_patient_and_diabetes_from_verified_codes() -> None:
    reading = fhir.read(bundle(diabetes("44054006", onsetDateTime="2012-05-02T10:00:00Z")), as_of=AS_OF)
    p = reading.patient
    assert (p.id, p.birth_date, p.sex) == ("p1", dt.date(1960, 5, 1), "female")
    assert p.diabetes is not None
    assert (p.diabetes.type, p.diabetes.diagnosed) == ("type-2", dt.date(2012, 5, 2))
    assert reading.notes == ()


def test_icd10cm_type1_and_other_specified_diabetes() -> None:
    icd = "http://hl7.org/fhir/sid/icd-10-cm"
    t1 = fhir.read(bundle(diabetes("E10.9", icd, onsetDateTime="2001-01-01")))
    assert t1.patient.diabetes is not None and t1.patient.diabetes.type == "type-1"
    other = fhir.read(bundle(diabetes("E13.9", icd, onsetDateTime="2001-01-01")))
    assert other.patient.diabetes is not None and other.patient.diabetes.type == "other"
    assert kinds(other)["Condition/c1"] is NoteKind.ASSUMPTION  # said, not silently assumed


def test_diabetes_without_onset_uses_recorded_date_and_says_so() -> None:
    reading = fhir.read(bundle(diabetes("46635009", recordedDate="2019-03-04")))
    assert reading.patient.diabetes is not None and reading.patient.diabetes.diagnosed == dt.date(2019, 3, 4)
    assert "recordedDate" in reading.notes[0].reason


def test_diabetes_without_any_date_is_refused_naming_the_resource() -> None:
    with pytest.raises(InputError, match="Condition/c1"):
        fhir.read(bundle(diabetes("46635009")))


def test_both_diabetes_types_is_a_reported_conflict() -> None:
    with pytest.raises(InputError, match="both type 1 and type 2"):
        fhir.read(
            bundle(
                diabetes("46635009", onsetDateTime="2001-01-01"),
                diabetes("44054006", ident="c2", onsetDateTime="2002-01-01"),
            )
        )


def test_entered_in_error_and_refuted_conditions() -> None:
    err = {"coding": [{"code": "entered-in-error"}]}
    reading = fhir.read(bundle(diabetes("46635009", verificationStatus=err, onsetDateTime="2001-01-01")))
    assert reading.patient.diabetes is None
    assert kinds(reading)["Condition/c1"] is NoteKind.EXCLUDED
    refuted = {
        "resourceType": "Condition",
        "id": "c3",
        "code": {"coding": [{"system": LOCAL_SYSTEM, "code": "pad"}]},
        "verificationStatus": {"coding": [{"code": "refuted"}]},
        "subject": SUBJECT,
    }
    assert fhir.read(bundle(refuted)).patient.findings == {"pad": False}


def test_latest_valid_value_per_fact() -> None:
    reading = fhir.read(
        bundle(
            hba1c(7.0, "2025-01-10", ident="old"),
            hba1c(8.2, "2026-03-01", ident="newest-valid", status="amended"),
            hba1c(12.0, "2026-06-01", ident="wrong", status="entered-in-error"),
            hba1c(11.0, "2026-07-01", ident="cancelled", status="cancelled"),
            hba1c(10.0, "2026-08-01", ident="prelim", status="preliminary"),
            hba1c(9.5, "2026-12-01", ident="future"),
        ),
        as_of=AS_OF,
    )
    assert reading.patient.normalized["hba1c"] == 8.2
    k = kinds(reading)
    for ident in ("wrong", "cancelled", "prelim", "future"):
        assert k[f"Observation/{ident}"] is NoteKind.EXCLUDED


def test_same_day_different_values_is_a_listed_conflict() -> None:
    reading = fhir.read(
        bundle(
            hba1c(7.0, "2026-01-10", ident="a", issued="2026-01-10T10:00:00Z"),
            hba1c(7.6, "2026-01-10", ident="b", issued="2026-01-10T12:00:00Z"),
        )
    )
    assert reading.patient.normalized["hba1c"] == 7.6
    assert [n.kind for n in reading.notes] == [NoteKind.CONFLICT]


@given(
    st.lists(
        st.tuples(st.floats(4.0, 15.0).map(lambda x: round(x, 1)), st.integers(0, 3000)),
        min_size=1,
        max_size=6,
        unique_by=lambda v: v[1],
    )
)
def test_property_the_newest_final_result_wins(values: list[tuple[float, int]]) -> None:
    start = dt.date(2018, 1, 1)
    obs = [hba1c(v, (start + dt.timedelta(days=d)).isoformat(), ident=f"o{i}") for i, (v, d) in enumerate(values)]
    newest = max(values, key=lambda v: v[1])[0]
    assert fhir.read(bundle(*obs)).patient.normalized["hba1c"] == newest


def test_ucum_units_go_through_the_same_allow_list() -> None:
    weight = local_obs("weight", "w", valueQuantity={"value": 88, "system": UCUM, "code": "kg"})
    creat = local_obs("serum-creatinine", "cr", valueQuantity={"value": 97, "system": UCUM, "code": "umol/L"})
    reading = fhir.read(bundle(weight, creat))
    assert reading.patient.normalized["weight"] == 88
    assert reading.patient.normalized["serum-creatinine"] == pytest.approx(97 / 88.42, rel=1e-3)
    ounces = local_obs("weight", "oz", valueQuantity={"value": 3000, "system": UCUM, "code": "[oz_av]"})
    no_system = local_obs("height", "h", valueQuantity={"value": 170, "unit": "cm"})
    reading = fhir.read(bundle(ounces, no_system))
    assert reading.patient.measurements == {}
    assert kinds(reading) == {"Observation/oz": NoteKind.UNRECOGNISED, "Observation/h": NoteKind.UNRECOGNISED}


def test_ucum_pounds_inches_and_kilopascals_are_read_through_the_allow_list() -> None:
    pounds = local_obs("weight", "lb", valueQuantity={"value": 190, "system": UCUM, "code": "[lb_av]"})
    inches = local_obs("height", "in", valueQuantity={"value": 70, "system": UCUM, "code": "[in_i]"})
    toe = local_obs("toe-pressure", "tp", valueQuantity={"value": 6, "system": UCUM, "code": "kPa"})
    reading = fhir.read(bundle(pounds, inches, toe))
    assert reading.notes == ()
    assert reading.patient.normalized["weight"] == pytest.approx(190 * 0.45359237)  # the avoirdupois pound
    assert reading.patient.normalized["height"] == pytest.approx(70 * 2.54)
    assert reading.patient.normalized["toe-pressure"] == pytest.approx(6 * 7.50062, rel=1e-4)  # 1 kPa = 7.50062 mmHg


def test_impossible_value_is_refused_naming_the_resource_when_strict() -> None:
    weight = local_obs("weight", "w", valueQuantity={"value": 900, "system": UCUM, "code": "kg"})
    with pytest.raises(InputError, match=r"Observation/w \(measurements.weight\)"):
        fhir.read(bundle(weight), strict=True)
    wrong = local_obs("weight", "w2", valueQuantity={"value": 3, "system": UCUM, "code": "mg/dL"})
    with pytest.raises(UnitError, match="Observation/w2"):
        fhir.read(bundle(wrong), strict=True)
    both = local_obs("hba1c", "h", valueQuantity={"value": 58, "system": UCUM, "code": "%"})
    with pytest.raises(InputProblemsError, match=r"(?s)Observation/h \(measurements.hba1c\).*Observation/w "):
        fhir.read(bundle(weight, both), strict=True)


def test_an_impossible_value_is_left_out_with_a_note_and_the_rest_is_read() -> None:
    """One implausible result (a unit slip) must not stop every other decision, the red flags among them."""
    weight = local_obs("weight", "w", valueQuantity={"value": 900, "system": UCUM, "code": "kg"})
    wrong = local_obs("serum-creatinine", "c", valueQuantity={"value": 3, "system": UCUM, "code": "kg"})
    hba1c = local_obs("hba1c", "h", valueQuantity={"value": 58, "system": UCUM, "code": "%"})
    good = local_obs("numbness", "n", valueBoolean=True)
    reading = fhir.read(bundle(weight, wrong, hba1c, good))
    data = reading.patient.to_dict()
    assert "measurements" not in data and data["findings"] == {"numbness": True}
    notes = {n.resource: n for n in reading.notes}
    assert set(notes) == {"Observation/w", "Observation/c", "Observation/h"}
    assert all(n.kind is NoteKind.EXCLUDED and n.reason.startswith("not used: expected") for n in notes.values())
    assert "between" in notes["Observation/w"].reason and "900 kg" in notes["Observation/w"].what
    result = fhir.assess(bundle(weight, good), as_of=AS_OF)
    (note,) = [n for n in result.notes if n.resource == "Observation/w"]  # returned with the assessment
    assert "900 kg" in note.what and not any(m.fact.startswith("fhir:") for m in result.missing)


def test_unmapped_codes_are_listed_with_the_assessment_not_as_missing_inputs() -> None:
    creatinine = {  # a laboratory's own code, not a standard one: nothing to map it to
        "resourceType": "Observation",
        "id": "lab",
        "status": "final",
        "code": {"coding": [{"system": "http://lab.example.org/codes", "code": "CREA", "display": "Creatinine"}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": 1.1, "system": UCUM, "code": "mg/dL"},
    }
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"}}
    reading = fhir.read(bundle(creatinine, encounter))
    assert [n.resource for n in reading.unrecognised] == ["Encounter", "Observation/lab"]
    result = fhir.assess(bundle(creatinine, encounter), as_of=AS_OF)
    assert result.notes == reading.notes and "CREA" in str(reading.unrecognised[1])
    assert not any(m.fact.startswith("fhir:") for m in result.missing)  # not an input that lets a rule decide


def test_resources_about_another_patient_are_excluded() -> None:
    other = hba1c(9.9, "2026-01-01", ident="x", subject={"reference": "Patient/someone-else"})
    reading = fhir.read(bundle(other))
    assert "hba1c" not in reading.patient.normalized
    assert kinds(reading)["Observation/x"] is NoteKind.EXCLUDED


def test_foot_exam_needs_all_three_parts_on_one_day() -> None:
    def proc(code: str, date: str, ident: str) -> dict[str, Any]:
        return {
            "resourceType": "Procedure",
            "id": ident,
            "status": "completed",
            "code": {"coding": [{"system": SCT, "code": code}]},
            "subject": SUBJECT,
            "performedDateTime": date,
        }

    full = [proc(c, "2025-06-10", f"a{i}") for i, c in enumerate(("401191002", "134388005", "91161007"))]
    partial = [proc("134388005", "2026-02-01", "b")]
    reading = fhir.read(bundle(*full, *partial))
    assert reading.patient.last == {"foot-exam": dt.date(2025, 6, 10)}
    assert [n.kind for n in reading.notes] == [NoteKind.EXCLUDED]
    assert "incomplete" in reading.notes[0].reason


def test_amputation_value_set_sets_prior_amputation() -> None:
    amputation = {
        "resourceType": "Procedure",
        "id": "amp",
        "status": "completed",
        "code": {"coding": [{"system": SCT, "code": "79733001"}]},  # Amputation above-knee (CMS123v7 value set)
        "subject": SUBJECT,
    }
    assert fhir.read(bundle(amputation)).patient.findings == {"prior-amputation": True}


def test_medication_request_dose_frequency_and_status() -> None:
    def request(ident: str, status: str, frequency: int, period: float) -> dict[str, Any]:
        return {
            "resourceType": "MedicationRequest",
            "id": ident,
            "status": status,
            "intent": "order",
            "subject": SUBJECT,
            "authoredOn": "2025-02-01",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "860975"}], "text": "Metformin"},
            "dosageInstruction": [
                {
                    "timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": "d"}},
                    "route": {"text": "Oral"},
                    "doseAndRate": [{"doseQuantity": {"value": 1000, "system": UCUM, "code": "mg"}}],
                }
            ],
        }

    reading = fhir.read(bundle(request("m1", "active", 2, 1), request("m2", "cancelled", 1, 1)))
    (med,) = reading.patient.medications
    assert (med.agent, str(med.dose), med.per, med.route, med.started) == (
        "Metformin",
        "2000.0 milligram",
        "day",
        "oral",
        dt.date(2025, 2, 1),
    )
    k = kinds(reading)
    assert k["MedicationRequest/m2"] is NoteKind.EXCLUDED
    assert k["MedicationRequest/m1"] is NoteKind.ASSUMPTION  # 860975: a clinical drug, not an ingredient: by name
    every_other_day = fhir.read(bundle(request("m3", "active", 1, 2)))
    assert every_other_day.patient.medications[0].dose is None
    assert kinds(every_other_day)["MedicationRequest/m3"] is NoteKind.EXCLUDED


def test_medication_reference_is_followed_and_a_lone_medication_is_listed() -> None:
    drug = {"resourceType": "Medication", "id": "med1", "code": {"text": "pregabalin"}}
    lone = {"resourceType": "Medication", "id": "med2", "code": {"text": "duloxetine"}}
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "medicationReference": {"reference": "Medication/med1"},
        "subject": SUBJECT,
    }
    reading = fhir.read(bundle(drug, lone, statement))
    assert [m.agent for m in reading.patient.medications] == ["pregabalin"]
    assert kinds(reading) == {"Medication/med2": NoteKind.UNRECOGNISED}


def test_cds_hooks_prefetch_object() -> None:
    prefetch = {
        "patient": PATIENT,
        "conditions": {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": diabetes("46635009", onsetDateTime="2010-01-01")}],
        },
        "observations": None,  # a prefetch key the EHR could not fill
    }
    reading = fhir.read(prefetch)
    assert reading.patient.diabetes is not None and reading.patient.diabetes.type == "type-1"


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("{not json", "valid JSON"),
        ({"resourceType": "Nonsense"}, "FHIR R4 resource type"),
        ({"resourceType": "Bundle", "entry": {}}, "list of Bundle entries"),
        ([PATIENT, {**PATIENT, "id": "p2"}], "one Patient resource"),
        (42, "a FHIR resource"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(data: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        fhir.read(data)


def test_conformance_check_can_be_skipped_and_says_so() -> None:
    odd = hba1c(7.1, "2026-01-01", ident="odd", issued="not a date")  # does not conform: issued is an instant
    checked = fhir.read(bundle(odd), as_of=AS_OF)
    assert kinds(checked)["Observation/odd"] is NoteKind.NONCONFORMANT
    skipped = fhir.read(bundle(odd), as_of=AS_OF, conformance=False)
    assert skipped.patient == checked.patient  # read the same way, leniently
    assert [(n.resource, n.kind) for n in skipped.notes] == [("FHIR data", NoteKind.ASSUMPTION)]
    assert "not checked against the FHIR specification" in str(skipped.notes[0])
    with pytest.raises(InputError, match="conformance"):
        fhir.read(bundle(odd), strict=True, conformance=False)
