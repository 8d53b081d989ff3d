"""What a health system's FHIR R4 data means, read as the FHIR R4B specification defines each element.

Small hand-written bundles, one element at a time: result and medication statuses, references by fullUrl, the same
resource twice, dose forms, a deceased patient. The LOINC and RxNorm codes are ones neuroguide already binds (codes
page); the blood-pressure panel (LOINC 85354-9, as in the specification's vital-signs example) is one it does not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

from neuroguide import fhir
from neuroguide.fhir import NoteKind

AS_OF = dt.date(2026, 11, 23)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SUBJECT = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01", "gender": "female"}


def bundle(*resources: dict[str, Any], kind: str = "collection", urls: tuple[str, ...] = ()) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [{"resource": r} for r in (PATIENT, *resources)]
    for entry, url in zip(entries, urls, strict=False):
        entry["fullUrl"] = url
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def hba1c(value: float, ident: str = "o1", status: str = "final", **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ident,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": "4548-4"}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": value, "system": UCUM, "code": "%", "unit": "%"},
    }
    res.update(extra)
    return {k: v for k, v in res.items() if v is not None}


def statement(status: str, ident: str = "s1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": ident,
        "status": status,
        "subject": SUBJECT,
        "medicationCodeableConcept": {"text": "pregabalin"},
        **extra,
    }


def daily(dose: dict[str, Any], **repeat: Any) -> list[dict[str, Any]]:
    return [{"timing": {"repeat": repeat}, "doseAndRate": [dose]}]


def mg(value: float) -> dict[str, Any]:
    return {"value": value, "system": UCUM, "code": "mg", "unit": "mg"}


def notes(reading: fhir.Reading, ref: str) -> list[tuple[NoteKind, str]]:
    return [(n.kind, f"{n.what}: {n.reason}") for n in reading.notes if n.resource == ref]


def read(*resources: dict[str, Any], **kw: Any) -> fhir.Reading:
    return fhir.read(bundle(*resources, **kw), as_of=AS_OF)


# -- Observation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_final_amended_and_corrected_results_are_used(status: str) -> None:
    assert str(read(hba1c(7.2, status=status)).patient.measurements["hba1c"]) == "7.2 percent"


@pytest.mark.parametrize("status", ["registered", "preliminary", "cancelled", "entered-in-error", "unknown"])
def test_other_result_statuses_are_never_used_and_are_listed(status: str) -> None:
    reading = read(hba1c(7.2, status=status))
    assert "hba1c" not in reading.patient.measurements
    ((kind, text),) = notes(reading, "Observation/o1")
    assert kind is NoteKind.EXCLUDED and f"status {status!r}" in text


def test_a_value_with_a_comparator_is_not_an_exact_result() -> None:
    # "<6 %" may lie either side of 5.7 %: read as a limit, which cannot decide that threshold (undecided, said so)
    reading = read(hba1c(6.0, valueQuantity={"value": 6.0, "comparator": "<", "system": UCUM, "code": "%"}))
    assert reading.patient.limits == {"hba1c": "<"}
    kind, reason = notes(reading, "Observation/o1")[0][:2]
    assert kind is NoteKind.UNDECIDED and "5.7" in reason


def test_a_unit_given_only_as_text_is_listed_not_guessed() -> None:
    reading = read(hba1c(7.2, valueQuantity={"value": 7.2, "unit": "%"}))
    assert "hba1c" not in reading.patient.measurements
    assert "UCUM" in notes(reading, "Observation/o1")[0][1]


@pytest.mark.parametrize(
    "value",
    [
        {"valueString": "7.2 %"},
        {"valueCodeableConcept": {"text": "raised"}},
        {"dataAbsentReason": {"coding": [{"code": "not-performed"}]}},
    ],
)
def test_a_value_that_cannot_give_a_number_is_listed(value: dict[str, Any]) -> None:
    reading = read(hba1c(7.2, valueQuantity=None, **value))
    assert "hba1c" not in reading.patient.measurements
    ((kind, text),) = notes(reading, "Observation/o1")
    assert kind is NoteKind.EXCLUDED
    assert ("not-performed" in text) if "dataAbsentReason" in value else (next(iter(value)) in text)


def test_the_local_date_of_a_timed_result_is_its_date() -> None:
    # 23:30 in New York on 23 November is 24 November in UTC; the result was taken on the 23rd, the evaluation date
    reading = read(hba1c(7.2, effectiveDateTime="2026-11-23T23:30:00-05:00"))
    assert str(reading.patient.measurements["hba1c"]) == "7.2 percent"


def test_a_period_dates_a_result_by_its_end() -> None:
    late = hba1c(7.2, effectiveDateTime=None, effectivePeriod={"start": "2026-11-20", "end": "2026-11-24"})
    assert notes(read(late), "Observation/o1")[0][0] is NoteKind.EXCLUDED  # ended after the evaluation date


def test_issued_alone_does_not_date_a_result_and_says_why() -> None:
    reading = read(hba1c(7.2, effectiveDateTime=None, issued="2026-11-02T09:00:00Z"))
    assert "hba1c" not in reading.patient.measurements
    assert "issued" in notes(reading, "Observation/o1")[0][1]


def test_the_newest_result_is_used_and_a_same_day_disagreement_is_listed() -> None:
    older = hba1c(9.0, ident="o0", effectiveDateTime="2026-10-01")
    a = hba1c(7.2, ident="a", issued="2026-11-01T10:00:00Z")
    b = hba1c(7.6, ident="b", issued="2026-11-01T12:00:00Z")
    reading = read(older, a, b)
    assert str(reading.patient.measurements["hba1c"]) == "7.6 percent"
    assert [k for k, _ in notes(reading, "Observation/b")] == [NoteKind.CONFLICT]


def test_a_blood_pressure_panel_is_listed_and_its_components_are_not_read_as_anything() -> None:
    panel = {
        "resourceType": "Observation",
        "id": "bp",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                "valueQuantity": {"value": 150, "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                "valueQuantity": {"value": 90, "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }
    reading = read(panel)
    assert reading.patient.measurements == {} and reading.patient.findings == {}
    assert [k for k, _ in notes(reading, "Observation/bp")] == [NoteKind.UNRECOGNISED]


# -- references and repeated resources ------------------------------------------------------------------------------


def test_references_by_fullurl_are_followed() -> None:
    drug = {"resourceType": "Medication", "id": "m1", "code": {"text": "pregabalin"}}
    ms = statement(
        "active",
        subject={"reference": "urn:uuid:6b1f9b2e-0000-4000-8000-000000000001"},
        medicationReference={"reference": "urn:uuid:6b1f9b2e-0000-4000-8000-000000000002"},
    )
    del ms["medicationCodeableConcept"]
    urls = ("urn:uuid:6b1f9b2e-0000-4000-8000-000000000001", "urn:uuid:6b1f9b2e-0000-4000-8000-000000000002")
    reading = read(drug, ms, kind="transaction", urls=urls)
    assert [m.agent for m in reading.patient.medications] == ["pregabalin"]
    assert reading.notes == ()


@pytest.mark.parametrize("reference", ["#c1", "https://ehr.example/fhir/Medication/m1", "Medication/m1/_history/3"])
def test_contained_absolute_and_versioned_references_are_followed(reference: str) -> None:
    drug = {"resourceType": "Medication", "id": "m1", "code": {"text": "pregabalin"}}
    ms = statement("active", medicationReference={"reference": reference})
    del ms["medicationCodeableConcept"]
    if reference == "#c1":
        ms["contained"] = [{"resourceType": "Medication", "id": "c1", "code": {"text": "pregabalin"}}]
        reading = read(ms)
    else:
        reading = read(drug, ms)
    assert [m.agent for m in reading.patient.medications] == ["pregabalin"]


def test_a_reference_to_nothing_in_the_data_says_so() -> None:
    ms = statement("active", medicationReference={"reference": "Medication/elsewhere"})
    del ms["medicationCodeableConcept"]
    reading = read(ms)
    assert reading.patient.medications == ()
    assert "Medication/elsewhere" in notes(reading, "MedicationStatement/s1")[0][1]


def test_a_subject_is_matched_by_fullurl_or_by_its_url() -> None:
    mine = hba1c(7.2, subject={"reference": "urn:uuid:me"})
    theirs = hba1c(9.9, ident="o2", subject={"reference": "https://ehr.example/fhir/Patient/p2"})
    reading = read(mine, theirs, urls=("urn:uuid:me",))
    assert str(reading.patient.measurements["hba1c"]) == "7.2 percent"
    assert [k for k, _ in notes(reading, "Observation/o2")] == [NoteKind.EXCLUDED]


def test_the_same_resource_twice_is_read_once() -> None:
    # a CDS Hooks prefetch often holds the Patient under its own key and again in a search that includes it
    prefetch = {"patient": PATIENT, "labs": bundle(hba1c(7.2), hba1c(7.2), kind="searchset")}
    reading = fhir.read(prefetch, as_of=AS_OF)
    assert str(reading.patient.measurements["hba1c"]) == "7.2 percent"
    assert reading.notes == ()


def test_an_older_version_of_a_resource_is_left_out_and_listed() -> None:
    v1 = hba1c(9.9, meta={"versionId": "1", "lastUpdated": "2026-11-01T10:00:00Z"})
    v2 = hba1c(7.2, status="corrected", meta={"versionId": "2", "lastUpdated": "2026-11-02T10:00:00Z"})
    for order in ((v1, v2), (v2, v1)):
        reading = read(*order, kind="history")
        assert str(reading.patient.measurements["hba1c"]) == "7.2 percent"
        ((kind, text),) = notes(reading, "Observation/o1")
        assert kind is NoteKind.EXCLUDED and "older version" in text


def test_two_different_resources_with_one_id_and_no_version_are_a_reported_conflict() -> None:
    reading = read(hba1c(9.9), hba1c(7.2))
    assert NoteKind.CONFLICT in [k for k, _ in notes(reading, "Observation/o1")]


# -- medications ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["entered-in-error", "not-taken", "unknown"])
def test_statements_not_taken_are_listed(status: str) -> None:
    reading = read(statement(status))
    assert reading.patient.medications == ()
    assert notes(reading, "MedicationStatement/s1")[0][0] is NoteKind.EXCLUDED


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error", "draft", "unknown"])
def test_requests_not_in_force_are_listed(status: str) -> None:
    request = {**statement(status), "resourceType": "MedicationRequest", "intent": "order"}
    reading = read(request)
    assert reading.patient.medications == ()
    assert notes(reading, "MedicationRequest/s1")[0][0] is NoteKind.EXCLUDED


@pytest.mark.parametrize("status", ["stopped", "completed"])
def test_an_ended_statement_without_an_end_date_is_stopped_by_its_assertion_date(status: str) -> None:
    ms = statement(status, effectivePeriod={"start": "2025-01-01"}, dateAsserted="2026-06-01")
    (med,) = read(ms).patient.medications
    assert med.stopped == dt.date(2026, 6, 1)
    assert not med.active_on(AS_OF) and med.taken_by(AS_OF)


@pytest.mark.parametrize("status", ["stopped", "completed"])
def test_an_ended_medication_with_no_date_at_all_is_read_as_taken_and_said_so(status: str) -> None:
    reading = read(statement(status))
    (med,) = reading.patient.medications
    assert med.stopped is None
    ((kind, text),) = notes(reading, "MedicationStatement/s1")
    assert kind is NoteKind.ASSUMPTION and "without an end date" in text


@pytest.mark.parametrize("status", ["intended", "on-hold"])
def test_intended_and_held_medications_are_read_and_said_so(status: str) -> None:
    reading = read(statement(status))
    assert len(reading.patient.medications) == 1
    assert [k for k, _ in notes(reading, "MedicationStatement/s1")] == [NoteKind.ASSUMPTION]


def test_an_end_date_in_the_record_is_kept() -> None:
    ms = statement("stopped", effectivePeriod={"start": "2025-01-01", "end": "2025-03-01"})
    (med,) = read(ms).patient.medications
    assert med.stopped == dt.date(2025, 3, 1)


def test_every_eight_hours_is_three_times_a_day() -> None:
    ms = statement("active", dosage=daily({"doseQuantity": mg(75)}, frequency=1, period=8, periodUnit="h"))
    (med,) = read(ms).patient.medications
    assert (str(med.dose), med.per) == ("225.0 milligram", "day")


def test_a_frequency_range_checks_the_most_allowed() -> None:
    ms = statement(
        "active", dosage=daily({"doseQuantity": mg(75)}, frequency=1, frequencyMax=3, period=1, periodUnit="d")
    )
    reading = read(ms)
    assert str(reading.patient.medications[0].dose) == "225.0 milligram"
    assert [k for k, _ in notes(reading, "MedicationStatement/s1")] == [NoteKind.ASSUMPTION]


def test_a_rate_is_listed_not_checked() -> None:
    dose = {"rateQuantity": {"value": 5, "system": UCUM, "code": "mg/h"}}
    reading = read(statement("active", dosage=daily(dose, frequency=1, period=1, periodUnit="d")))
    assert reading.patient.medications[0].dose is None
    ((kind, text),) = notes(reading, "MedicationStatement/s1")
    assert kind is NoteKind.EXCLUDED and "rateQuantity" in text


def test_a_dose_range_is_checked_at_its_high_end_and_said_so() -> None:
    # 75 to 150 mg once a day: up to 150 mg may be taken, as with a frequency range (round 8 changed this)
    dose = {"doseRange": {"low": mg(75), "high": mg(150)}}
    reading = read(statement("active", dosage=daily(dose, frequency=1, period=1, periodUnit="d")))
    assert str(reading.patient.medications[0].dose) == "150.0 milligram"
    ((kind, text),) = notes(reading, "MedicationStatement/s1")
    assert kind is NoteKind.ASSUMPTION and "doseRange.high" in text


def test_doses_at_several_times_of_day_are_listed_not_counted_as_one() -> None:
    dosage = daily({"doseQuantity": mg(75)}, timeOfDay=["08:00:00", "20:00:00"], period=1, periodUnit="d")
    reading = read(statement("active", dosage=dosage))
    assert reading.patient.medications[0].dose is None
    assert notes(reading, "MedicationStatement/s1")[0][0] is NoteKind.EXCLUDED


# -- Patient --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("birth", ["1950", "1950-06"])
def test_a_partial_birth_date_leaves_age_unknown_and_says_so(birth: str) -> None:
    reading = fhir.read([{**PATIENT, "birthDate": birth}], as_of=AS_OF)
    assert reading.patient.birth_date is None
    assert notes(reading, "Patient/p1")[0][0] is NoteKind.EXCLUDED


@pytest.mark.parametrize("gender", ["other", "unknown"])
def test_gender_other_or_unknown_leaves_sex_unknown_and_says_so(gender: str) -> None:
    reading = fhir.read([{**PATIENT, "gender": gender}], as_of=AS_OF)
    assert reading.patient.sex is None
    assert notes(reading, "Patient/p1")[0][0] is NoteKind.UNRECOGNISED


@pytest.mark.parametrize("deceased", [{"deceasedBoolean": True}, {"deceasedDateTime": "2026-10-01"}])
def test_a_deceased_patient_is_flagged(deceased: dict[str, Any]) -> None:
    reading = fhir.read([{**PATIENT, **deceased}], as_of=AS_OF)
    ((kind, text),) = notes(reading, "Patient/p1")
    assert kind is NoteKind.CONFLICT and "died" in text


def test_a_death_after_the_evaluation_date_is_no_flag() -> None:
    assert fhir.read([{**PATIENT, "deceasedDateTime": "2026-12-01"}], as_of=AS_OF).notes == ()


@pytest.mark.parametrize("kind", ["collection", "searchset", "transaction", "batch-response", "history"])
def test_every_bundle_type_is_read(kind: str) -> None:
    assert str(read(hba1c(7.2), kind=kind).patient.measurements["hba1c"]) == "7.2 percent"


def test_the_later_result_of_one_day_is_used_by_its_time_in_utc() -> None:
    # 09:00 in Berlin is 08:00 UTC, before 08:30 UTC: the UTC result is the later one, whatever was issued when
    berlin = hba1c(9.0, ident="a", effectiveDateTime="2026-11-01T09:00:00+01:00", issued="2026-11-02T12:00:00Z")
    utc = hba1c(7.2, ident="b", effectiveDateTime="2026-11-01T08:30:00Z", issued="2026-11-02T08:00:00Z")
    for order in ((berlin, utc), (utc, berlin)):
        reading = read(*order)
        assert str(reading.patient.measurements["hba1c"]) == "7.2 percent"
        assert [k for k, _ in notes(reading, "Observation/b")] == [NoteKind.CONFLICT]


def request(**extra: Any) -> dict[str, Any]:
    return {**statement("active"), "resourceType": "MedicationRequest", "intent": "order", **extra}


def test_an_order_not_to_give_a_drug_is_never_read_as_taken() -> None:
    reading = read(request(doNotPerform=True))
    assert reading.patient.medications == ()
    assert "doNotPerform" in notes(reading, "MedicationRequest/s1")[0][1]


@pytest.mark.parametrize("intent", ["proposal", "option"])
def test_a_proposal_or_option_is_not_a_medication_taken(intent: str) -> None:
    reading = read(request(intent=intent))
    assert reading.patient.medications == ()
    assert notes(reading, "MedicationRequest/s1")[0][0] is NoteKind.EXCLUDED


def test_a_plan_is_read_as_taken_and_said() -> None:
    # Some record systems send documented home medications with intent "plan": dropping them would hide a drug.
    reading = read(request(intent="plan"))
    assert [m.agent for m in reading.patient.medications] == ["pregabalin"]
    assert notes(reading, "MedicationRequest/s1") == [
        (NoteKind.ASSUMPTION, "'pregabalin': intent plan: read as taken, though it is not an order")
    ]


def test_an_as_needed_dose_is_checked_at_its_stated_daily_maximum() -> None:
    dosage = daily({"doseQuantity": mg(600)}, frequency=1, period=1, periodUnit="d")
    dosage[0] |= {"asNeededBoolean": True, "maxDosePerPeriod": {"numerator": mg(3600), "denominator": {
        "value": 24, "system": UCUM, "code": "h"}}}  # fmt: skip
    reading = read(statement("active", dosage=dosage))
    (med,) = reading.patient.medications
    assert (str(med.dose), med.per) == ("3600.0 milligram", "day")
    assert "maxDosePerPeriod" in notes(reading, "MedicationStatement/s1")[0][1]


def test_an_as_needed_dose_without_a_daily_maximum_is_checked_at_every_allowed_time() -> None:
    dosage = daily({"doseQuantity": mg(300)}, frequency=3, period=1, periodUnit="d")
    dosage[0]["asNeededBoolean"] = True
    reading = read(statement("active", dosage=dosage))
    assert str(reading.patient.medications[0].dose) == "900.0 milligram"
    ((kind, text),) = notes(reading, "MedicationStatement/s1")
    assert kind is NoteKind.ASSUMPTION and "every time the timing allows" in text


def test_an_as_needed_dose_that_is_not_checked_says_only_that() -> None:
    reading = read(statement("active", dosage=[{"asNeededBoolean": True, "doseAndRate": [{"doseQuantity": mg(300)}]}]))
    assert reading.patient.medications[0].dose is None
    assert [k for k, _ in notes(reading, "MedicationStatement/s1")] == [NoteKind.EXCLUDED]


def test_a_split_dose_over_several_lines_is_not_checked_as_its_first_line() -> None:
    # 300 mg in the morning and 600 mg at night: the first line alone would under-count the day's 900 mg.
    lines = [*daily({"doseQuantity": mg(300)}, frequency=1, period=1, periodUnit="d"),
             *daily({"doseQuantity": mg(600)}, frequency=1, period=1, periodUnit="d")]  # fmt: skip
    reading = read(statement("active", dosage=lines))
    assert reading.patient.medications[0].dose is None
    ((kind, text),) = notes(reading, "MedicationStatement/s1")
    assert kind is NoteKind.EXCLUDED and "2 dosage lines" in text


def glucose(*codes: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "g1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": c} for c in codes]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": 140, "system": UCUM, "code": "mg/dL", "unit": "mg/dL"},
    }


@pytest.mark.parametrize("codes", [("1558-6", "2345-7"), ("2345-7", "1558-6")])
def test_a_fasting_glucose_also_sent_under_the_generic_glucose_code_is_a_fasting_glucose(
    codes: tuple[str, str],
) -> None:
    # LOINC 1558-6 (fasting glucose) with 2345-7 (glucose, no timing): laboratories often send both for one sample.
    reading = read(glucose(*codes))
    assert set(reading.patient.measurements) == {"fasting-glucose"}
    ((kind, text),) = notes(reading, "Observation/g1")
    assert kind is NoteKind.ASSUMPTION and "read as fasting-glucose" in text


def test_two_timed_glucose_codes_on_one_value_are_a_conflict() -> None:
    reading = read(glucose("1558-6", "1518-0"))  # fasting and 2 hours after a load: which is unknown
    assert reading.patient.measurements == {}
    assert notes(reading, "Observation/g1")[0][0] is NoteKind.CONFLICT


@pytest.mark.parametrize("intent", ["order", "original-order", "reflex-order", "filler-order", "instance-order"])
def test_orders_are_read(intent: str) -> None:
    assert len(read(request(intent=intent)).patient.medications) == 1


def transaction(*entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"fullUrl": u, "resource": r} for u, r in entries],
    }


def test_resources_without_ids_are_told_apart_by_their_fullurl() -> None:
    # a transaction creates resources: no ids, each named by its entry's urn:uuid
    patient = {k: v for k, v in PATIENT.items() if k != "id"}
    ms = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "subject": {"reference": "urn:uuid:0c3d7a52-0000-4000-8000-000000000001"},
        "medicationReference": {"reference": "urn:uuid:0c3d7a52-0000-4000-8000-000000000002"},
    }
    reading = fhir.read(
        transaction(
            ("urn:uuid:0c3d7a52-0000-4000-8000-000000000001", patient),
            (
                "urn:uuid:0c3d7a52-0000-4000-8000-000000000002",
                {"resourceType": "Medication", "code": {"text": "pregabalin"}},
            ),
            (
                "urn:uuid:0c3d7a52-0000-4000-8000-000000000003",
                {"resourceType": "Medication", "code": {"text": "duloxetine"}},
            ),
            ("urn:uuid:0c3d7a52-0000-4000-8000-000000000004", ms),
        ),
        as_of=AS_OF,
    )
    assert [m.agent for m in reading.patient.medications] == ["pregabalin"]
    assert reading.patient.id is None  # the Patient is given no id it did not have
    assert [n.resource for n in reading.notes] == ["Medication/0c3d7a52-0000-4000-8000-000000000003"]  # unreferenced


def test_a_reference_to_two_different_medications_is_a_conflict_not_a_guess() -> None:
    ms = statement("active", medicationReference={"reference": "Medication/m1"})
    del ms["medicationCodeableConcept"]
    a = {"resourceType": "Medication", "id": "m1", "code": {"text": "pregabalin"}}
    b = {"resourceType": "Medication", "id": "m1", "code": {"text": "duloxetine"}}
    reading = read(a, b, ms)
    assert reading.patient.medications == ()
    assert [k for k, _ in notes(reading, "MedicationStatement/s1")] == [NoteKind.CONFLICT]


GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"


@pytest.mark.parametrize(
    ("code", "times"),
    [("QD", 1), ("BED", 1), ("BID", 2), ("TID", 3), ("Q8H", 3), ("QID", 4), ("Q6H", 4), ("Q4H", 6), ("Q3H", 8),
     ("Q2H", 12), ("Q1H", 24)],
)  # fmt: skip
def test_timing_abbreviations_give_the_times_a_day_of_their_definition(code: str, times: int) -> None:
    # FHIR R4 TimingAbbreviation value set (v3 GTSAbbreviation): "Every 8 hours at institution specified times", ...
    dosage = [
        {"timing": {"code": {"coding": [{"system": GTS, "code": code}]}}, "doseAndRate": [{"doseQuantity": mg(75)}]}
    ]
    (med,) = read(statement("active", dosage=dosage)).patient.medications
    assert (med.dose.magnitude if med.dose else None, med.per) == (75.0 * times, "day")


@pytest.mark.parametrize("code", ["QOD", "WK", "MO"])
def test_timing_abbreviations_that_are_not_daily_leave_the_dose_unchecked(code: str) -> None:
    dosage = [
        {"timing": {"code": {"coding": [{"system": GTS, "code": code}]}}, "doseAndRate": [{"doseQuantity": mg(75)}]}
    ]
    reading = read(statement("active", dosage=dosage))
    assert reading.patient.medications[0].dose is None
    assert [k for k, _ in notes(reading, "MedicationStatement/s1")] == [NoteKind.EXCLUDED]
