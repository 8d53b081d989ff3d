"""The FHIR reader maps the standard codes of codes.toml to their facts (codes written here from the VSAC lists)."""

from __future__ import annotations

import datetime as dt
import json
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
        ("2132-9", 310, "ng/L", "b12-total", "310 ng/L"),
        ("2132-9", 310, "pg/mL", "b12-total", "310 pg/mL"),
        ("2132-9", 184.5, "pmol/L", "b12-total", "184.5 pmol/L"),  # the unit decides, as in the JSON input
        ("1518-0", 212, "mg/dL", "ogtt-2h-glucose", "212 mg/dL"),
        ("14995-5", 8.4, "mmol/L", "ogtt-2h-glucose", "8.4 mmol/L"),
        ("4548-4", 7.9, "%", "hba1c", "7.9 %"),
    ],
)
def test_loinc_observation_is_read_into_its_fact(code: str, value: float, unit: str, fact: str, text: str) -> None:
    reading = fhir.read(bundle(lab(code, value, unit)), as_of=AS_OF)
    assert reading.patient.to_dict()["measurements"] == {fact: text}
    # a molar unit under a mass-concentration code (2345-7, 2132-9): read by its unit, and said so
    mismatched = unit.endswith("mol/L") and code in ("2345-7", "2132-9")
    assert [n.kind for n in reading.notes] == ([fhir.NoteKind.ASSUMPTION] if mismatched else [])
    if mismatched:
        assert "converted by its unit" in reading.notes[0].reason and "[Mass/volume]" in reading.notes[0].reason


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


def test_b12_by_loinc_gives_the_same_assessment_as_the_json_input() -> None:
    # a total B12 result sent under its LOINC code gives what the same value, measured that day, gives in JSON
    got = fhir.assess(bundle(lab("2132-9", 150, "ng/L")), as_of=AS_OF)
    same = ng.Patient.from_dict(
        {
            "id": "p1",
            "birth_date": "1960-05-01",
            "sex": "male",
            "measurements": {"b12-total": "150 ng/L"},
            "last": {"b12-test": "2026-11-01"},
        }
    )
    want = ng.assess(same, as_of=AS_OF)
    assert got.record.facts == want.record.facts
    assert got.recommendations == want.recommendations
    assert dict(got.record.facts)["b12-result-recorded"] is True


def _b12_test(*resources: dict[str, Any]) -> str | None:
    last: dict[str, str] = fhir.read(bundle(*resources), as_of=AS_OF).patient.to_dict().get("last", {})
    return last.get("b12-test")


def _b12_procedure(date: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": "p-b12",
        "status": "completed",
        "code": {"coding": [{"system": "urn:neuroguide:fact", "code": "last-b12-test"}]},
        "subject": SUBJECT,
        "performedDateTime": date,
    }


def test_a_b12_result_is_a_b12_test_on_its_date() -> None:
    assert _b12_test(lab("2132-9", 310, "ng/L")) == "2026-11-01"
    assert _b12_test(lab("2132-9", 310, "ng/L"), _b12_procedure("2025-03-02")) == "2026-11-01"  # the later one
    assert _b12_test(lab("2132-9", 310, "ng/L"), _b12_procedure("2026-11-20")) == "2026-11-20"
    older = {**lab("2132-9", 280, "ng/L", "o2"), "effectiveDateTime": "2024-05-06"}
    assert _b12_test(older, lab("2132-9", 310, "ng/L")) == "2026-11-01"
    assert _b12_test(older) == "2024-05-06"
    active = {**lab("x", 60, "pmol/L"), "code": {"coding": [{"system": "urn:neuroguide:fact", "code": "b12-active"}]}}
    assert _b12_test(active) == "2026-11-01"


def test_a_b12_result_not_used_is_not_a_b12_test_date() -> None:
    assert _b12_test({**lab("2132-9", 310, "ng/L"), "status": "preliminary"}) is None
    assert _b12_test({**lab("2132-9", 310, "ng/L"), "status": "entered-in-error"}) is None
    no_value = {k: v for k, v in lab("2132-9", 310, "ng/L").items() if k != "valueQuantity"}
    assert _b12_test(no_value) is None
    assert _b12_test(lab("2160-0", 1.1, "mg/dL")) is None  # another laboratory result (creatinine)


@pytest.mark.parametrize(("code", "value", "unit"), [("1518-0", 200, "mg/dL"), ("14995-5", 11.1, "mmol/L")])
def test_ogtt_2h_glucose_by_loinc_gives_the_same_assessment_as_json(code: str, value: float, unit: str) -> None:
    # ADA: a 2-h plasma glucose of 200 mg/dL (11.1 mmol/L) or more in a 75-g OGTT is diagnostic of diabetes.
    got = fhir.assess(bundle(lab(code, value, unit)), as_of=AS_OF)
    same = ng.Patient.from_dict(
        {
            "id": "p1",
            "birth_date": "1960-05-01",
            "sex": "male",
            "measurements": {"ogtt-2h-glucose": f"{value} {unit}"},
        }
    )
    want = ng.assess(same, as_of=AS_OF)
    assert got.record.facts == want.record.facts
    assert got.recommendations == want.recommendations
    assert "ogtt-2h-glucose" in got.record.facts
    assert "random-glucose" not in got.record.facts  # a post-load glucose is never read as a random one


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


# -- resting heart rate and RxNorm ingredients (codes written from the HL7 value sets, not read from codes.toml) --

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.mark.parametrize(("code", "unit"), [("40443-4", "/min"), ("67129-7", "{beats}/min")])
def test_resting_heart_rate_by_loinc(code: str, unit: str) -> None:
    reading = fhir.read(bundle(lab(code, 64, unit)), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["measurements"] == {"resting-heart-rate": "64 1/min"}


@pytest.mark.parametrize("code", ["8867-4", "69001-6", "69000-8"])  # no state, standing, sitting: not at rest
def test_a_heart_rate_not_said_to_be_at_rest_is_listed_not_read(code: str) -> None:
    reading = fhir.read(bundle(lab(code, 64, "/min")), as_of=AS_OF)
    assert reading.patient.to_dict().get("measurements", {}) == {}
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.UNRECOGNISED]
    assert code in str(reading.notes[0])


def statement(coding: list[dict[str, Any]], text: str | None = None, ident: str = "ms1") -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": coding}
    if text is not None:
        concept["text"] = text
    return {
        "resourceType": "MedicationStatement",
        "id": ident,
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": concept,
        "effectivePeriod": {"start": "2024-01-01"},
    }


@pytest.mark.parametrize(
    ("code", "drug"),
    [
        ("6809", "metformin"),
        ("25480", "gabapentin"),
        ("187832", "pregabalin"),
        ("72625", "duloxetine"),
        ("11248", "vitamin B12"),
        ("32592", "oxaliplatin"),
        ("56946", "paclitaxel"),
        ("40048", "carboplatin"),
        ("6038", "isoniazid"),
        ("190376", "linezolid"),
        ("6922", "metronidazole"),
        ("7454", "nitrofurantoin"),
        ("8183", "phenytoin"),
        ("82122", "levofloxacin"),
        ("139462", "moxifloxacin"),
        ("2551", "ciprofloxacin"),
        ("191831", "infliximab"),
        ("214555", "etanercept"),
        ("327361", "adalimumab"),
        ("7486", "nitrous oxide"),
        ("2683", "colchicine"),
        ("703", "amiodarone"),
        ("11202", "vincristine"),
    ],
)
def test_an_rxnorm_ingredient_code_alone_gives_the_drug(code: str, drug: str) -> None:
    reading = fhir.read(bundle(statement([{"system": RXNORM, "code": code}])), as_of=AS_OF)
    assert reading.notes == ()
    assert [m.agent for m in reading.patient.medications] == [drug]


def test_a_clinical_drug_code_alone_is_listed_not_guessed() -> None:
    # 860975 is metformin 500 mg oral tablet (a clinical drug), not the ingredient: not read without a name
    reading = fhir.read(bundle(statement([{"system": RXNORM, "code": "860975"}])), as_of=AS_OF)
    assert reading.patient.medications == ()
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.UNRECOGNISED]


@pytest.mark.parametrize("text", ["Metformin ER 500 mg", "Glucophage", "metformin hydrochloride"])
def test_a_name_of_the_same_drug_is_kept_with_its_release_form(text: str) -> None:
    reading = fhir.read(bundle(statement([{"system": RXNORM, "code": "6809"}], text)), as_of=AS_OF)
    assert reading.notes == ()
    assert [m.agent for m in reading.patient.medications] == [text]


def test_a_name_of_another_drug_is_a_conflict_and_the_code_is_used() -> None:
    reading = fhir.read(bundle(statement([{"system": RXNORM, "code": "25480"}], "pregabalin")), as_of=AS_OF)
    assert [m.agent for m in reading.patient.medications] == ["gabapentin"]
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.CONFLICT]


def test_codes_of_two_different_drugs_are_not_read() -> None:
    coding = [{"system": RXNORM, "code": "25480"}, {"system": RXNORM, "code": "187832"}]
    reading = fhir.read(bundle(statement(coding)), as_of=AS_OF)
    assert reading.patient.medications == ()
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.CONFLICT]


def test_metformin_by_rxnorm_code_gives_the_same_assessment_as_the_json_input() -> None:
    got = fhir.assess(bundle(statement([{"system": RXNORM, "code": "6809"}])), as_of=AS_OF)
    same = ng.Patient.from_dict(
        {
            "id": "p1",
            "birth_date": "1960-05-01",
            "sex": "male",
            "medications": [{"agent": "metformin", "started": "2024-01-01"}],
        }
    )
    want = ng.assess(same, as_of=AS_OF)
    assert got.recommendations == want.recommendations
    assert got.record.facts == want.record.facts
    assert dict(got.record.facts)["on-metformin"] is True


def test_the_codes_pages_snippets_for_facts_without_a_standard_code_are_read() -> None:
    """Each snippet of "Sending a fact without a standard code" gives its fact; the page shows each snippet."""
    from neuroguide._docgen_codes import UNCODED_EXAMPLES, codes_page

    finding, measurement, last = UNCODED_EXAMPLES.values()
    reading = fhir.read(bundle(finding, measurement, last), as_of=AS_OF)
    data = reading.patient.to_dict()
    assert data["findings"] == {"numbness": True}
    assert data["measurements"] == {"b12-active": "52 pmol/L"}
    assert data["last"] == {"b12-test": "2026-11-02"}
    assert not reading.unrecognised
    page = codes_page().text
    assert "## Sending a fact without a standard code" in page
    assert all(json.dumps(r, indent=2) in page for r in UNCODED_EXAMPLES.values())
    row = next(line for line in page.splitlines() if line.startswith("| `b12-active`"))
    assert "Observation (valueQuantity in `pmol/L`" in row
    row = next(line for line in page.splitlines() if line.startswith("| `last-b12-test`"))
    assert "Procedure" in row and "performedDateTime" in row


@pytest.mark.rule("b12-metformin-annual")
def test_a_recent_coded_b12_result_means_the_annual_metformin_b12_check_is_not_due() -> None:
    # ADA: B12 monitored annually after more than 4 years of metformin. Metformin since 2020-01-01 (over 6 years on
    # 2026-11-23); a B12 result on 2026-11-01 is the last check, next due 2027-11-01.
    on_metformin = {**statement([{"system": RXNORM, "code": "6809"}]), "effectivePeriod": {"start": "2020-01-01"}}

    def annual(*resources: dict[str, Any]) -> Any:
        result = fhir.assess(bundle(on_metformin, *resources), as_of=AS_OF)
        return next(r for r in result.recommendations if r.rule == "b12-metformin-annual")

    without = annual()
    assert without.status in ("due", "overdue")
    with_result = annual(lab("2132-9", 310, "ng/L"))
    assert with_result.status == "scheduled" and with_result.due == dt.date(2027, 11, 1)


def test_a_b12_result_left_out_as_implausible_does_not_date_a_b12_test() -> None:
    # 310 ng/mL is 310,000 ng/L: a unit slip. Not used, and the annual check still asks for a B12 test.
    slip = lab("2132-9", 310, "ng/mL")
    reading = fhir.read(bundle(slip), as_of=AS_OF)
    assert "measurements" not in reading.patient.to_dict() and "last" not in reading.patient.to_dict()
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.EXCLUDED]
    procedure = _b12_procedure("2025-03-02")
    assert _b12_test(slip, procedure) == "2025-03-02"


def test_a_b12_result_below_a_limit_dates_a_b12_test() -> None:
    # "<200 ng/L" is not an exact value and leaves the 180 ng/L band edge undecided (read as a limit, and said so),
    # and a B12 test was done that day.
    below = lab("2132-9", 200, "ng/L")
    below["valueQuantity"] = {**below["valueQuantity"], "comparator": "<"}
    assert _b12_test(below) == "2026-11-01"
    reading = fhir.read(bundle(below), as_of=AS_OF)
    assert reading.patient.to_dict()["measurements"] == {"b12-total": "<200 ng/L"}
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.UNDECIDED]


def test_a_b12_result_after_the_evaluation_date_does_not_date_a_b12_test() -> None:
    future = {**lab("2132-9", 310, "ng/L"), "effectiveDateTime": "2026-12-01"}
    assert _b12_test(future) is None
