"""Round 8: FHIR bundles shaped as real systems send them (tests/data/fhir/round8/, provenance in its README).

Each bundle's expected reading is written here from the FHIR R4 specification and the code systems, as a clinician
would read the record, not from running the reader: the patient read, and every note (kind, resource, a fragment of
its text). Nothing may be dropped silently: every resource is either read or named in a note. A few bundles are also
written as neuroguide JSON, and both must give the same assessment.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import neuroguide as ng
from neuroguide import InputError, fhir
from neuroguide.fhir import NoteKind

DECK = Path(__file__).parent / "data" / "fhir" / "round8"
AS_OF = dt.date(2026, 11, 23)
A, E, U, C, N = NoteKind.ASSUMPTION, NoteKind.EXCLUDED, NoteKind.UNRECOGNISED, NoteKind.CONFLICT, NoteKind.NONCONFORMANT
D = NoteKind.UNDECIDED
SYNTHEA = "8f1e6b2c-3a47-4f0e-9a55-0c2d7b1e4a01"
ENC = "5c1b7f2e-6d0a-4c3b-8e9f-1a2b3c4d5e01"
OTHER = "6a0e5d3c-1f2b-4c8d-9e7a-2b3c4d5e6f28"
ENC28 = "e0000028-0000-4000-8000-000000000001"


def _who(pid: str, birth: str = "1958-04-12", sex: str = "female") -> dict[str, Any]:
    return {"id": pid, "birth_date": birth, "sex": sex}


# name -> (patient as read, notes as (kind, resource, fragment of "what: reason"))
EXPECTED: dict[str, tuple[dict[str, Any], list[tuple[NoteKind, str, str]]]] = {
    # Synthea transaction bundle: urn:uuid references, conditional references to practitioners, and many resources
    # neuroguide does not read (each type listed once). The prediabetes, pain-score and smoking-status codes are not
    # bound. Metformin is named by its RxNorm clinical-drug display; the dose "1" has no unit (one tablet of a
    # strength given only in the name), so it is not checked.
    "synthea_transaction_t2dm": (
        {
            **_who(SYNTHEA),
            "diabetes": {"type": "type-2", "diagnosed": "2014-06-02"},
            "measurements": {
                "hba1c": "7.4 %",
                "height": "164.2 cm",
                "serum-creatinine": "1.1 mg/dL",
                "weight": "82.3 kg",
            },
            "medications": [
                {"agent": "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "started": "2014-06-02"}
            ],
        },
        [
            (U, "CarePlan", "does not read this resource type"),
            (U, "Claim", "does not read this resource type"),
            (U, "DiagnosticReport", "does not read this resource type"),
            (U, "Encounter", "does not read this resource type"),
            (U, "ExplanationOfBenefit", "does not read this resource type"),
            (U, "Immunization", "does not read this resource type"),
            (U, "Provenance", "does not read this resource type"),
            (U, "Condition/c0000001-0000-4000-8000-000000000002", "15777000"),
            (U, "Observation/a1c00001-0000-4000-8000-000000000005", "72514-3"),
            (U, "Observation/a1c00001-0000-4000-8000-000000000006", "72166-2"),
            (U, f"Procedure/{ENC}-proc", "430193006"),
            (A, "MedicationRequest/m0000001-0000-4000-8000-000000000001", "matched by the name"),
            (U, "MedicationRequest/m0000001-0000-4000-8000-000000000001", "dose 1 (no unit)"),
        ],
    ),
    # Synthea collection bundle with a result whose subject is a urn:uuid no entry has: another patient's.
    "synthea_collection_other_subject": (
        {**_who(OTHER, "1955-07-07", "male"), "measurements": {"hba1c": "6.4 %"}},
        [
            (U, "Claim", "resource type"),
            (U, "Encounter", "resource type"),
            (U, "ExplanationOfBenefit", "resource type"),
            (U, "Immunization", "resource type"),
            (U, f"Procedure/{ENC28}-proc", "430193006"),
            (E, "Observation/a1c00028-0000-4000-8000-000000000099", "names no resource in the data"),
        ],
    ),
    # A server's $everything searchset with absolute fullUrls and an OperationOutcome entry. SNOMED CT
    # 368581000119106 'Neuropathy due to type 2 diabetes mellitus' is a member of the VSAC Diabetes value set: type 2
    # diabetes (it does not say polyneuropathy, so no neuropathy finding). Diagnosed: the earlier onset.
    "searchset_everything_neuropathy": (
        {
            **_who("p-search-2", "1951-09-30", "male"),
            "diabetes": {"type": "type-2", "diagnosed": "2011-02-14"},
            "measurements": {"hba1c": "8.1 %"},
        },
        [(U, "OperationOutcome", "resource type")],
    ),
    # A local code beside LOINC: the LOINC code decides. The unit text "mg/dl" is the UCUM code mg/dL spelled
    # another way; "millimole per mole" is display text. A local-only code is not guessed.
    "multi_coding_units": (
        {**_who("p3"), "measurements": {"hba1c": "58 mmol/mol", "random-glucose": "212 mg/dL"}},
        [(U, "Observation/o3-vitd", "VITD25")],
    ),
    # Comparators. Total B12 thresholds are 179.5 ng/L (presentation pattern) and the NG239 band edges 180 and 350
    # ng/L (1 pg/mL = 1 ng/L). "<150" lies below all of them: deficiency confirmed whatever the true value. ">2000"
    # lies above all: above the indeterminate range. "<200" may be below or above 180: unknown, not read
    # (recognised, but undecided), but a B12 test was done that day. A limit read stays a limit ("<150 pg/mL").
    "comparator_b12_below_all_edges": (
        {**_who("p4", "1949-01-20"), "measurements": {"b12-total": "<150 pg/mL"}, "last": {"b12-test": "2026-10-14"}},
        [(A, "Observation/p4-b12", "known only to be below 150 pg/mL")],
    ),
    "comparator_b12_above_all_edges": (
        {**_who("p5", "1949-01-20"), "measurements": {"b12-total": ">2000 pg/mL"}, "last": {"b12-test": "2026-10-14"}},
        [(A, "Observation/p5-b12", "known only to be above 2000 pg/mL")],
    ),
    "comparator_b12_straddles_an_edge": (
        {**_who("p6", "1949-01-20"), "measurements": {"b12-total": "<200 pg/mL"}, "last": {"b12-test": "2026-10-14"}},
        [(D, "Observation/p6-b12", "band edge 180 ng/L")],
    ),
    # HbA1c ">14 %" is above the 5.7 and 6.5 % edges; fasting glucose "<40 mg/dL" below 100, 125 and 126 mg/dL.
    # A creatinine "<0.3 mg/dL" would feed the creatinine clearance formula with a number never measured: not read.
    "comparator_hba1c_and_glucose": (
        {**_who("p7"), "measurements": {"fasting-glucose": "<40 mg/dL", "hba1c": ">14 %"}},
        [
            (A, "Observation/o7-a1c", "above 14 %"),
            (A, "Observation/o7-fpg", "below 40 mg/dL"),
            (E, "Observation/o7-crea", "not read from a limit"),
        ],
    ),
    # The blood-pressure panel (85354-9) and its systolic/diastolic components name no fact. A local panel whose
    # component is LOINC 40443-4 'Heart rate --resting' gives the resting heart rate, with the panel's date; its
    # respiratory-rate component is listed.
    "panels_and_components": (
        {**_who("p8"), "measurements": {"resting-heart-rate": "104 1/min"}},
        [
            (U, "Observation/o8-bp", "8480-6"),
            (U, "Observation/o8-vitals", "9279-1"),
            (A, "Observation/o8-vitals", "read from a component"),
        ],
    ),
    # final, corrected and amended results count; the latest of them (amended, 8.2 %) is used. Preliminary,
    # cancelled and entered-in-error results are not, even though later.
    "result_statuses": (
        {**_who("p9"), "measurements": {"hba1c": "8.2 %"}},
        [
            (E, "Observation/o9-preliminary", "status 'preliminary'"),
            (E, "Observation/o9-cancelled", "status 'cancelled'"),
            (E, "Observation/o9-error", "status 'entered-in-error'"),
        ],
    ),
    # effectivePeriod (its end), effectiveInstant and a date alone all date a result. A result dated only "2026-05"
    # or "2026" cannot be ordered against others: not used. The local date as written is the date: 22:30 on the
    # 23rd in California is the evaluation day (06:30 UTC on the 24th); 01:00 on the 24th in Tokyo is after it
    # (16:00 UTC on the 23rd).
    "effective_forms_and_dates": (
        {
            **_who("p10"),
            "measurements": {
                "height": "178 cm",
                "random-glucose": "140 mg/dL",
                "serum-creatinine": "1.3 mg/dL",
                "weight": "91 kg",
            },
        },
        [
            (E, "Observation/o10-a1c-month", "'2026-05' gives only a year or a month"),
            (E, "Observation/o10-a1c-year", "'2026' gives only a year or a month"),
            (E, "Observation/o10-fpg-east", "after the evaluation date"),
        ],
    ),
    # valueString: "7.1" for HbA1c has no unit (% or mmol/mol?), not used; "0.85" for an index (no unit) is the
    # number; "see report" is not a number.
    "value_string": (
        {**_who("p11"), "measurements": {"abi": 0.85}},
        [
            (E, "Observation/o11-a1c", "valueString"),
            (A, "Observation/o11-abi", "read as the number 0.85"),
            (E, "Observation/o11-tbi", "valueString"),
        ],
    ),
    # A resolved foot ulcer is a history of foot ulcer; an inactive smoker code and alcohol dependence in remission
    # are not current; refuted intermittent claudication says claudication is absent; provisional and differential
    # diagnoses are shown as present with the doubt said; entered-in-error is void.
    "condition_statuses": (
        {
            **_who("p12"),
            # a resolved ischaemic ulcer: a prior ulcer, and artery disease that outlasts it (clinical review)
            "findings": {
                "claudication": False,
                "kidney-disease": True,
                "pad": True,
                "prior-foot-ulcer": True,
                "retinopathy": True,
            },
        },
        [
            (E, "Condition/c12-ulcer", "read as prior-foot-ulcer"),
            (E, "Condition/c12-smoker", "clinicalStatus inactive"),
            (A, "Condition/c12-retina", "verificationStatus provisional"),
            (A, "Condition/c12-ckd", "verificationStatus differential"),
            (E, "Condition/c12-alcohol", "clinicalStatus remission"),
            (E, "Condition/c12-optic", "entered-in-error"),
        ],
    ),
    # E11.42 is type 2 diabetes with polyneuropathy; onsetAge 52 years, born 1960-05-01: diagnosed on the 52nd
    # birthday at the earliest.
    "condition_onset_age_e11_42": (
        {
            **_who("p13", "1960-05-01"),
            "diabetes": {"type": "type-2", "diagnosed": "2012-05-01"},
            "findings": {"diabetic-peripheral-neuropathy": True},
        },
        [(A, "Condition/c13-dm", "onsetAge 52 a")],
    ),
    # An onset "2019-06" is June 2019 (read as its first day); onsetString is text (the ulcer is current anyway);
    # an onsetPeriod dates chronic kidney disease stage 3 (ICD-10-CM N18.30) by its start.
    # SNOMED CT 429768000 'Ischemic ulcer of toe' is a foot ulcer and names peripheral arterial disease.
    "condition_onset_partial_and_string": (
        {
            **_who("p14", "1990-02-17", "male"),
            "diabetes": {"type": "type-1", "diagnosed": "2019-06-01"},
            "findings": {"foot-ulcer": True, "kidney-disease": True, "pad": True},
        },
        [(A, "Condition/c14-dm", "'2019-06' is a partial date"), (A, "Condition/c14-ulcer", "onsetString")],
    ),
    # ICD-10-CM E11.65 and SNOMED CT 1481000119100 are type 2 diabetes; 73211009 'Diabetes mellitus' (the parent
    # concept) is in neither verified value set, so it is listed, not guessed.
    "diabetes_codes_icd10_and_snomed": (
        {**_who("p16", sex="male"), "diabetes": {"type": "type-2", "diagnosed": "2016-11-20"}},
        [(U, "Condition/c16-parent", "73211009")],
    ),
    # A contained Medication coded only by an RxNorm clinical drug, with no text and no ingredient: the drug is not
    # known, and it says so.
    "medication_contained_scd_only": (
        _who("p17"),
        [(U, "MedicationRequest/mr17", "no medication name")],
    ),
    # The same with the ingredient (RxNorm 6809 metformin, 500 mg per tablet): 2 tablets twice a day (BID) is
    # 1000 mg a dose, 2000 mg a day.
    "medication_contained_with_ingredient_strength": (
        {
            **_who("p18", sex="male"),
            "medications": [{"agent": "metformin", "dose": "2000 mg", "per": "day", "started": "2020-03-10"}],
        },
        [
            (A, "MedicationRequest/mr18", "a product code"),
            (A, "MedicationRequest/mr18", "read as 1000 mg"),
        ],
    ),
    # TID 100 mg: 300 mg a day. Of a calculated 1200 mg and an ordered 600 mg dose, the ordered one, three times a
    # day: 1800 mg. A range 30 to 60 mg once a day (QD): up to 60 mg. BID in the code but three times in the repeat:
    # the dose is not checked.
    "medication_timing_and_ranges": (
        {
            **_who("p19"),
            "medications": [
                {"agent": "pregabalin", "dose": "300 mg", "per": "day", "started": "2026-09-01"},
                {"agent": "gabapentin", "dose": "1800 mg", "per": "day", "started": "2026-09-01"},
                {"agent": "duloxetine", "dose": "60 mg", "per": "day", "started": "2026-09-01"},
                {"agent": "amitriptyline 10 mg tablet", "started": "2026-09-01"},
            ],
        },
        [
            (A, "MedicationRequest/mr19-gaba", "typed 'ordered'"),
            (A, "MedicationRequest/mr19-dulox", "doseRange.high"),
            (C, "MedicationRequest/mr19-prn", "the code says 2 times a day and the repeat 3"),
        ],
    ),
    # 6 mL of 250 mg/5 mL three times a day: 900 mg a day. 1000 ug (UCUM) a day is read; so is 1000 "mcg" (not a
    # UCUM code, but micrograms as the JSON input reads it), with a note saying how it was read.
    "medication_units_mcg_ml": (
        {
            **_who("p20"),
            "medications": [
                {
                    "agent": "gabapentin 250 mg/5 mL oral solution",
                    "dose": "900 mg",
                    "per": "day",
                    "started": "2026-09-01",
                },
                {"agent": "vitamin B12", "dose": "1000 ug", "per": "day", "started": "2026-09-01"},
                {"agent": "vitamin B12", "dose": "1000 ug", "per": "day", "started": "2026-10-01"},
            ],
        },
        [
            (A, "MedicationRequest/mr20-sol", "read as 300 mg"),
            (A, "MedicationRequest/mr20-b12-mcg", "unit 'mcg': read as micrograms (1000 ug)"),
        ],
    ),
    # A dose given only as text is not checked; a completed statement with an end date is a past medication.
    "medication_statement_r4": (
        {
            **_who("p21", sex="male"),
            "medications": [
                {"agent": "metformin", "started": "2019-02-01"},
                {"agent": "amiodarone", "started": "2024-01-10", "stopped": "2024-07-10"},
            ],
        },
        [(E, "MedicationStatement/ms21-met", "dose (text)")],
    ),
    # An R5 MedicationStatement (status 'recorded', medication as a CodeableReference) is not read as R4.
    "r5_medication_statement": (
        {**_who("p22"), "measurements": {"hba1c": "6.8 %"}},
        [
            (N, "MedicationStatement/ms22", "medication"),
            (U, "MedicationStatement/ms22", "FHIR R5 form"),
        ],
    ),
    # STU3 wrote clinicalStatus as a bare code: 'resolved' is resolved (a past ulcer), never "no status: active".
    "stu3_condition_status_strings": (
        {**_who("p25"), "findings": {"pad": True, "prior-foot-ulcer": True}},
        [
            (N, "Condition/c25-ulcer", "clinicalStatus"),
            (A, "Condition/c25-ulcer", "verificationStatus given as the bare code 'confirmed'"),
            (A, "Condition/c25-ulcer", "clinicalStatus given as the bare code 'resolved'"),
            (E, "Condition/c25-ulcer", "clinicalStatus resolved"),
        ],
    ),
    # birthDate "1950" gives no age; gender 'unknown' no sex; deceasedBoolean true is flagged.
    "patient_partial_unknown_deceased": (
        {"id": "p26", "measurements": {"hba1c": "7.2 %"}},
        [
            (E, "Patient/p26", "birthDate '1950'"),
            (C, "Patient/p26", "deceased"),
            (U, "Patient/p26", "gender 'unknown'"),
        ],
    ),
    # A CDS Hooks prefetch of US Core searches; the Medication comes as a searchset 'include' entry.
    "prefetch_us_core_searches": (
        {
            **_who("p27", "1962-12-01", "male"),
            "diabetes": {"type": "type-2", "diagnosed": "2016-05-05"},
            "measurements": {"serum-creatinine": "1 mg/dL", "weight": "88 kg"},
            "medications": [{"agent": "pregabalin", "dose": "300 mg", "per": "day", "started": "2026-09-01"}],
        },
        [],
    ),
}

# name -> (field, fragment of the expectation): the whole reading is refused, naming the element and what it wants
ERRORS = {
    "condition_diabetes_without_onset": ("Condition/c15-dm.onsetDateTime", "an onset date for the diabetes diagnosis"),
    "r5_ballot_medication_usage": ("MedicationUsage/mu23.resourceType", "FHIR R5 ballot"),
    "dstu2_medication_order": ("MedicationOrder/mo24.resourceType", "R4 calls it MedicationRequest"),
}


def test_the_deck_is_what_this_file_expects() -> None:
    assert sorted(p.stem for p in DECK.glob("*.json")) == sorted([*EXPECTED, *ERRORS])
    assert len(EXPECTED) + len(ERRORS) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundle_reads_as_a_clinician_reads_it(name: str) -> None:
    patient, notes = EXPECTED[name]
    reading = fhir.read(DECK / f"{name}.json", as_of=AS_OF)
    assert reading.patient.to_dict() == patient
    got = [(n.kind, n.resource, f"{n.what}: {n.reason}") for n in reading.notes]
    for kind, resource, fragment in notes:
        assert any(k is kind and r == resource and fragment in t for k, r, t in got), (kind, resource, fragment, got)
    assert sorted((k.value, r) for k, r, _ in got) == sorted((k.value, r) for k, r, _ in notes), got


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bundle_of_another_version_or_without_a_diagnosis_date_is_refused_by_name(name: str) -> None:
    field, fragment = ERRORS[name]
    with pytest.raises(InputError) as caught:
        fhir.read(DECK / f"{name}.json", as_of=AS_OF)
    assert caught.value.field == field and fragment in caught.value.expected


def _resources(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [r for x in data for r in _resources(x)]
    if not isinstance(data, dict):
        return []
    if "resourceType" not in data:
        return [r for v in data.values() for r in _resources(v)]
    if data["resourceType"] == "Bundle":
        return [r for e in data.get("entry", []) for r in _resources(e.get("resource"))]
    return [data]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nothing_is_dropped_silently(name: str) -> None:
    data = json.loads((DECK / f"{name}.json").read_text(encoding="utf-8"))
    reading = fhir.read(data, as_of=AS_OF)
    for res in _resources(data):
        if res["resourceType"] == "Medication":
            continue  # read through the request that names it (an unreferenced one is listed: test_fhir_semantics)
        ref = f"{res['resourceType']}/{res['id']}"
        named = ref in reading.used or any(n.resource in (ref, res["resourceType"]) for n in reading.notes)
        assert named, f"{ref} is neither read nor listed"


# -- a limit decides every threshold: any value on its side gives the same assessment ---------------------------------


def _json_patient(b12: str) -> ng.Patient:
    return ng.Patient.from_dict(
        {**_who("p4", "1949-01-20"), "measurements": {"b12-total": b12}, "last": {"b12-test": "2026-10-14"}}
    )


def _decisions(result: ng.Assessment) -> list[tuple[str, str, Any]]:
    return [(r.rule, r.status.value, r.due) for r in result.recommendations]


@pytest.mark.parametrize("true_value", ["1 ng/L", "90 ng/L", "149.4 ng/L", "150 ng/L"])
def test_below_150_gives_the_decisions_of_any_value_below_it(true_value: str) -> None:
    got = fhir.assess(DECK / "comparator_b12_below_all_edges.json", as_of=AS_OF)
    assert got.record.facts["b12-total-interpretation"] == "deficiency-confirmed"
    assert _decisions(got) == _decisions(ng.assess(_json_patient(true_value), as_of=AS_OF))


@pytest.mark.parametrize("true_value", ["2000 ng/L", "2500 ng/L", "40000 ng/L"])
def test_above_2000_gives_the_decisions_of_any_value_above_it(true_value: str) -> None:
    got = fhir.assess(DECK / "comparator_b12_above_all_edges.json", as_of=AS_OF)
    assert got.record.facts["b12-total-interpretation"] == "above-indeterminate"
    expected = ng.assess(_json_patient(true_value), as_of=AS_OF)
    assert [(r, s, d) for r, s, d in _decisions(got)] == [(r, s, d) for r, s, d in _decisions(expected)]


def test_below_200_leaves_the_band_undecided_because_170_and_190_differ() -> None:
    # why the band is unknown: two values the limit allows fall in different NG239 bands
    low = ng.assess(_json_patient("170 ng/L"), as_of=AS_OF).record.facts["b12-total-interpretation"]
    high = ng.assess(_json_patient("190 ng/L"), as_of=AS_OF).record.facts["b12-total-interpretation"]
    assert (low, high) == ("deficiency-confirmed", "indeterminate")
    got = fhir.assess(DECK / "comparator_b12_straddles_an_edge.json", as_of=AS_OF)
    assert "b12-total-interpretation" not in got.record.facts
    (trace,) = [t for t in got.record.trace if t.rule == "b12-total-interpretation"]
    assert trace.outcome == "undetermined" and "band edge 180 ng/L" in trace.leaves[0]


def test_synthea_metformin_counts_as_metformin() -> None:
    # "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet" (RxNorm 860975) is metformin, since 2014
    facts = fhir.assess(DECK / "synthea_transaction_t2dm.json", as_of=AS_OF).record.facts
    assert facts["on-metformin"] is True and facts["metformin-duration"] > 4


# -- the same patient as neuroguide JSON gives the same assessment ----------------------------------------------------

DIFFERENTIAL = sorted(p.stem for p in (DECK / "json").glob("*.json"))


def test_there_are_json_twins() -> None:
    assert len(DIFFERENTIAL) >= 4 and set(DIFFERENTIAL) <= set(EXPECTED)


@pytest.mark.parametrize("name", DIFFERENTIAL)
def test_bundle_gives_the_same_assessment_as_its_json_twin(name: str) -> None:
    bundle = DECK / f"{name}.json"
    from_json = ng.Patient.from_json(DECK / "json" / f"{name}.json")
    reading = fhir.read(bundle, as_of=AS_OF)
    assert reading.patient.to_dict() == from_json.to_dict()
    expected = ng.assess(from_json, as_of=AS_OF)
    got = fhir.assess(bundle, as_of=AS_OF)
    assert got.recommendations == expected.recommendations
    assert got.missing == expected.missing  # the reader's notes are apart, in got.notes
    assert got.notes == reading.notes
    assert got.record.facts == expected.record.facts
    assert got.record.trace == expected.record.trace


# Total B12 thresholds, from the sources (not read from the guideline files): NICE NG239 bands "less than 180 ng/L"
# (deficiency confirmed) and "180 to 350 ng/L" (indeterminate, 350 included); and the presentation-pattern
# comparison "below 179.5 ng/L" (an urgent rule in review, evaluated). A limit is always read; it leaves undecided
# (note kind undecided) exactly the thresholds lying inside the interval it allows, compared unrounded.
@pytest.mark.parametrize(
    ("comparator", "limit", "undecided"),
    [
        ("<", 179, ()),
        ("<", 179.4, ()),
        ("<", 179.5, ()),  # every value below 179.5 is below 179.5 and below 180
        ("<", 180, ("b12-total < 179.5",)),  # below 180: deficiency confirmed, but 179.7 is not below 179.5
        ("<=", 178, ()),
        (">", 350, ()),  # above 350: above the indeterminate range
        (">", 350.4, ()),
        (">=", 350, ("band edge 350",)),  # 350 itself is indeterminate
        (">", 200, ("band edge 350",)),  # 200 to 350 indeterminate, above 350 not
    ],
)
def test_a_b12_limit_leaves_undecided_only_the_thresholds_inside_it(
    comparator: str, limit: float, undecided: tuple[str, ...]
) -> None:
    data = json.loads((DECK / "comparator_b12_below_all_edges.json").read_text(encoding="utf-8"))
    quantity = data["entry"][1]["resource"]["valueQuantity"]
    quantity.update(comparator=comparator, value=limit, unit="ng/L", code="ng/L")
    reading = fhir.read(data, as_of=AS_OF)
    assert reading.patient.limits == {"b12-total": comparator}
    ((note,),) = [[n for n in reading.notes if n.resource == "Observation/p4-b12"]]
    assert note.kind is (D if undecided else A)
    for fragment in undecided:
        assert fragment in note.reason
