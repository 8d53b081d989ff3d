"""Finding and condition codes (claudication, foot ulcer, bariatric surgery) read by the FHIR reader.

The codes and displays are written here from the VSAC expansions themselves, not read from codes.toml.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

from neuroguide import fhir
from neuroguide import terminology as t

AS_OF = dt.date(2026, 11, 23)
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SUBJECT = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01", "gender": "male"}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (PATIENT, *resources)]}


def condition(
    system: str, code: str, *, verification: str = "confirmed", clinical: str | None = "active"
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "c1",
        "verificationStatus": {"coding": [{"code": verification}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": SUBJECT,
        "onsetDateTime": "2026-09-01",
    }
    if clinical is not None:
        res["clinicalStatus"] = {"coding": [{"code": clinical}]}
    return res


def procedure(code: str, status: str = "completed") -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": "x1",
        "status": status,
        "code": {"coding": [{"system": SCT, "code": code}]},
        "subject": SUBJECT,
        "performedDateTime": "2012-06-14",
    }


def findings(*resources: dict[str, Any]) -> dict[str, Any]:
    return dict(fhir.read(bundle(*resources), as_of=AS_OF).patient.to_dict().get("findings", {}))


BOUND = [
    (SCT, "63491006", "claudication", "Intermittent claudication (finding)"),
    (SCT, "792845002", "claudication", "Intermittent claudication due to atherosclerosis of artery of limb (finding)"),
    (
        ICD,
        "I70.211",
        "claudication",
        "Atherosclerosis of native arteries of extremities with intermittent claudication, right leg",
    ),
    (
        ICD,
        "I70.212",
        "claudication",
        "Atherosclerosis of native arteries of extremities with intermittent claudication, left leg",
    ),
    (
        ICD,
        "I70.213",
        "claudication",
        "Atherosclerosis of native arteries of extremities with intermittent claudication, bilateral legs",
    ),
    (SCT, "238794007", "foot-ulcer", "Ischemic foot ulcer (disorder)"),
    (SCT, "429768000", "foot-ulcer", "Ischemic ulcer of toe (disorder)"),
    (
        ICD,
        "I70.234",
        "foot-ulcer",
        "Atherosclerosis of native arteries of right leg with ulceration of heel and midfoot",
    ),
    (
        ICD,
        "I70.245",
        "foot-ulcer",
        "Atherosclerosis of native arteries of left leg with ulceration of other part of foot",
    ),
    (ICD, "L89.600", "foot-ulcer", "Pressure ulcer of unspecified heel, unstageable"),
    (ICD, "L89.612", "foot-ulcer", "Pressure ulcer of right heel, stage 2"),
    (ICD, "L89.624", "foot-ulcer", "Pressure ulcer of left heel, stage 4"),
]


# Codes whose own wording states peripheral artery disease or limb ischaemia: they also set pad while current.
STATES_PAD = {"792845002", "I70.211", "I70.212", "I70.213", "238794007", "429768000", "I70.234", "I70.245"}


@pytest.mark.parametrize(("system", "code", "fact", "display"), BOUND)
def test_an_active_condition_with_the_code_sets_its_fact(system: str, code: str, fact: str, display: str) -> None:
    found = t.lookup(system, code)
    assert found is not None and found[0] == fact and found[1].display == display
    reading = fhir.read(bundle(condition(system, code)), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["findings"] == {fact: True, **({"pad": True} if code in STATES_PAD else {})}


@pytest.mark.parametrize(("system", "code", "fact", "display"), BOUND)
def test_an_observation_with_the_code_gives_its_value(system: str, code: str, fact: str, display: str) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        "valueBoolean": False,
    }
    assert findings(obs) == {fact: False}  # stated absent: false, because the clinician said so


@pytest.mark.parametrize(("system", "code", "fact", "display"), BOUND)
@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
def test_a_past_condition_never_sets_the_current_finding(
    system: str, code: str, fact: str, display: str, clinical: str
) -> None:
    reading = fhir.read(bundle(condition(system, code, clinical=clinical)), as_of=AS_OF)
    assert fact not in reading.patient.to_dict().get("findings", {})
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.EXCLUDED]


@pytest.mark.parametrize(("system", "code", "fact", "display"), BOUND)
def test_a_refuted_condition_never_sets_the_finding_true(system: str, code: str, fact: str, display: str) -> None:
    # only intermittent claudication itself says "no claudication" when refuted; a narrower code leaves it unknown
    whole = code == "63491006"
    assert findings(condition(system, code, verification="refuted")) == ({fact: False} if whole else {})
    assert findings(condition(system, code, verification="entered-in-error")) == {}


def test_a_missing_code_is_not_read_as_false() -> None:
    assert findings() == {}


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD, "I70.218"),  # claudication of another extremity (an arm)
        (ICD, "I70.219"),  # claudication, extremity not said
        (ICD, "I70.233"),  # ulceration of the ankle: above the foot
        (ICD, "I70.25"),  # ulceration of other extremities
        (ICD, "L89.611"),  # pressure ulcer of the heel, stage 1: skin intact
        (ICD, "L89.619"),  # pressure ulcer of the heel, stage not said
        (ICD, "R53.1"),  # "Weakness": generalised, not weakness of the legs
        (ICD, "R29.2"),  # "Abnormal reflex": neither absent nor brisk said
        (ICD, "R33.9"),  # retention of urine: the red flag must be new
        (SCT, "22631008"),  # unsteady when walking: the red flag must be new
        (SCT, "183071001"),  # vegan diet education, not the diet
        (ICD, "F18.10"),  # inhalant abuse: does not say nitrous oxide
        (ICD, "I95.1"),  # orthostatic hypotension: a blood-pressure diagnosis, not the symptoms
    ],
)
def test_a_neighbouring_code_is_listed_as_not_recognised(system: str, code: str) -> None:
    assert t.lookup(system, code) is None
    reading = fhir.read(bundle(condition(system, code)), as_of=AS_OF)
    assert [n.resource for n in reading.unrecognised] == ["Condition/c1"]
    assert reading.patient.to_dict().get("findings", {}) == {}


@pytest.mark.parametrize("code", ["430715008", "427074001", "427980007", "24883002"])
def test_a_bariatric_operation_sets_bariatric_surgery_whatever_its_date(code: str) -> None:
    reading = fhir.read(bundle(procedure(code)), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["findings"] == {"bariatric-surgery": True}
    assert findings(procedure(code, status="not-done")) == {}


@pytest.mark.parametrize(
    "code", ["26452005", "287816003", "24506003"]
)  # total, radical gastrectomy; oesophagogastrectomy
def test_a_gastrectomy_for_another_reason_is_not_bariatric_surgery(code: str) -> None:
    reading = fhir.read(bundle(procedure(code)), as_of=AS_OF)
    assert [n.resource for n in reading.unrecognised] == ["Procedure/x1"]


# -- a healed foot ulcer is a history of foot ulcer ([[history]])


@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
@pytest.mark.parametrize(("system", "code"), [(SCT, "238794007"), (ICD, "L89.613"), (ICD, "E11.621")])
def test_a_healed_foot_ulcer_sets_prior_foot_ulcer(system: str, code: str, clinical: str) -> None:
    got = findings(condition(system, code, clinical=clinical))
    # an ischaemic ulcer (238794007) also names artery disease, which outlasts the ulcer
    assert got == ({"prior-foot-ulcer": True, "pad": True} if code == "238794007" else {"prior-foot-ulcer": True})


@pytest.mark.parametrize("clinical", ["resolved", "inactive"])
@pytest.mark.parametrize(("system", "code"), [(SCT, "238794007"), (ICD, "I70.211"), (ICD, "E11.51")])
def test_artery_disease_named_by_a_past_condition_still_holds(system: str, code: str, clinical: str) -> None:
    # clinical review: PAD does not resolve with the ulcer or episode coded with it
    assert findings(condition(system, code, clinical=clinical)).get("pad") is True
    assert "pad" not in findings(condition(system, code, verification="refuted"))


@pytest.mark.parametrize(("system", "code"), [(SCT, "238794007"), (ICD, "E11.621")])
def test_a_current_foot_ulcer_is_not_a_history_of_one(system: str, code: str) -> None:
    assert findings(condition(system, code)) == {"foot-ulcer": True, **({"pad": True} if code in STATES_PAD else {})}


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
@pytest.mark.parametrize(("system", "code"), [(SCT, "238794007"), (ICD, "E11.621")])
def test_a_refuted_healed_ulcer_sets_no_history(system: str, code: str, verification: str) -> None:
    got = findings(condition(system, code, verification=verification, clinical="resolved"))
    assert "prior-foot-ulcer" not in got and got.get("foot-ulcer") is not True


def test_a_past_claudication_sets_no_history_fact() -> None:
    assert findings(condition(SCT, "63491006", clinical="resolved")) == {}


def test_the_history_rule_is_listed_on_the_codes_page() -> None:
    from neuroguide._docgen_codes import codes_page

    page = codes_page().text
    assert "A past finding that sets a history fact" in page
    assert "`prior-foot-ulcer`" in page


# -- known cancer: the VSAC value set 'All Primary and Secondary Cancer', past or current


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD, "C79.51"),  # Secondary malignant neoplasm of bone
        (ICD, "C90.00"),  # Multiple myeloma not having achieved remission
        (ICD, "C61"),  # Malignant neoplasm of prostate
        (SCT, "363346000"),  # Malignant neoplastic disease (disorder)
    ],
)
@pytest.mark.parametrize("clinical", ["active", "resolved", "inactive", "remission", None])
def test_a_cancer_condition_sets_known_cancer_current_or_past(system: str, code: str, clinical: str | None) -> None:
    reading = fhir.read(bundle(condition(system, code, clinical=clinical)), as_of=AS_OF)
    if clinical is None:  # read as active, and said so
        assert [(n.kind, n.reason) for n in reading.notes] == [
            (fhir.NoteKind.ASSUMPTION, "no clinical status: read as active (onset 2026-09-01)")
        ]
    else:
        assert reading.notes == ()
    assert reading.patient.to_dict()["findings"] == {"known-cancer": True}


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_a_refuted_cancer_never_sets_known_cancer_true(verification: str) -> None:
    assert findings(condition(ICD, "C61", verification=verification)).get("known-cancer") is not True


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD, "D03.9"),  # melanoma in situ: not in the value set
        (ICD, "D48.9"),  # neoplasm of uncertain behaviour
        (ICD, "Z85.46"),  # personal history of prostate cancer: not in this value set
        (SCT, "838352004"),  # adenocarcinoma in situ of oesophagus: member left out (in situ)
        (SCT, "868252007"),  # malignant neoplasm of gastrointestinal tract suspected: member left out
    ],
)
def test_codes_that_are_not_a_cancer_diagnosis_are_not_recognised(system: str, code: str) -> None:
    assert t.lookup(system, code) is None
    reading = fhir.read(bundle(condition(system, code)), as_of=AS_OF)
    assert [n.resource for n in reading.unrecognised] == ["Condition/c1"]


def test_the_packaged_cancer_set_is_the_vendored_expansion_less_the_non_diagnoses() -> None:
    import csv
    from pathlib import Path

    deck = Path(__file__).parent / "conformance" / "decks" / "vsac_ecqm_2024" / "vsac_ecqm_2024_cancer.csv"
    with deck.open(encoding="utf-8") as f:
        vendored = {(r["code_system_name"], r["code"]): r["display"] for r in csv.DictReader(f)}
    assert len(vendored) == 4350  # the expansion's own count (1,131 ICD-10-CM, 3,219 SNOMED CT)
    names = {"SNOMED CT": "SNOMED-CT", "ICD-10-CM": "ICD-10-CM"}
    packaged = {(names[m.system.name], m.code): m.display for m in t.value_set("Cancer").values()}
    assert all(vendored[k] == d for k, d in packaged.items())
    left_out = {vendored[k] for k in set(vendored) - set(packaged)}
    assert len(left_out) == 16
    wording = ("(morphologic abnormality)", " in situ", "(situation)", "(finding)")
    assert all(any(w in d.lower() for w in wording) for d in left_out)


def test_refuting_one_cancer_does_not_say_there_is_none() -> None:
    lung = condition(ICD, "C34.90", verification="refuted")
    reading = fhir.read(bundle(lung), as_of=AS_OF)
    assert reading.patient.to_dict().get("findings", {}) == {}
    assert [(n.kind, n.resource) for n in reading.notes] == [(fhir.NoteKind.EXCLUDED, "Condition/c1")]


def test_a_later_refutation_never_hides_a_recorded_cancer() -> None:
    prostate = {**condition(ICD, "C61", clinical="resolved"), "id": "c2", "onsetDateTime": "2015-01-01"}
    none = {**condition(SCT, "363346000", verification="refuted"), "onsetDateTime": "2026-10-01"}
    reading = fhir.read(bundle(prostate, none), as_of=AS_OF)
    assert reading.patient.to_dict()["findings"] == {"known-cancer": True}
    assert [(n.kind, n.resource) for n in reading.notes] == [(fhir.NoteKind.EXCLUDED, "Condition/c1")]


def test_a_refuted_ulcer_code_does_not_hide_a_current_ulcer() -> None:
    toe = {**condition(SCT, "429768000"), "id": "c2", "onsetDateTime": "2026-01-01"}
    heel = condition(ICD, "L89.613", verification="refuted")
    assert findings(toe, heel) == {"foot-ulcer": True, "pad": True}


def test_a_refuted_code_for_the_whole_finding_reads_as_absent() -> None:
    assert findings(condition(SCT, "63491006", verification="refuted")) == {"claudication": False}
    assert t.refutes("claudication", "63491006") and not t.refutes("claudication", "I70.211")
    assert not t.refutes("foot-ulcer", "238794007")
    assert t.refutes("smoker", "77176002")  # facts without a list keep one meaning per code


# -- previous optic neuritis: the VSAC value set 'Optic Neuritis', inflammatory members only, past or current


@pytest.mark.parametrize(
    ("system", "code", "display"),
    [
        (SCT, "66760008", "Optic neuritis (disorder)"),
        (SCT, "230507009", "Retrobulbar neuritis (disorder)"),
        (SCT, "15631051000119101", "Neuritis of left optic nerve (disorder)"),
        (ICD, "H46.9", "Unspecified optic neuritis"),
        (ICD, "H46.12", "Retrobulbar neuritis, left eye"),
    ],
)
@pytest.mark.parametrize("clinical", ["active", "resolved", "inactive", "remission"])
def test_optic_neuritis_current_or_past_sets_the_history(system: str, code: str, display: str, clinical: str) -> None:
    found = t.lookup(system, code)
    assert found is not None and found[0] == "optic-neuritis-history" and found[1].display == display
    reading = fhir.read(bundle(condition(system, code, clinical=clinical)), as_of=AS_OF)
    assert reading.notes == ()
    assert reading.patient.to_dict()["findings"] == {"optic-neuritis-history": True}


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD, "H46.2"),  # nutritional optic neuropathy
        (ICD, "H46.3"),  # toxic optic neuropathy
        (SCT, "420920007"),  # optic neuropathy due to vitamin B12 deficiency
        (SCT, "36276008"),  # syphilitic retrobulbar neuritis: another cause
        (SCT, "25044007"),  # neuromyelitis optica: does not say an optic neuritis occurred
        (SCT, "14357004"),  # ischaemic optic neuropathy
    ],
)
def test_optic_neuropathies_that_are_not_optic_neuritis_are_not_recognised(system: str, code: str) -> None:
    assert t.lookup(system, code) is None
    reading = fhir.read(bundle(condition(system, code, clinical="resolved")), as_of=AS_OF)
    assert [n.resource for n in reading.unrecognised] == ["Condition/c1"]


def test_refuted_optic_neuritis() -> None:
    # a history fact: ruling out optic neuritis now says nothing about a past episode
    assert findings(condition(SCT, "66760008", verification="refuted")) == {}
    assert findings(condition(ICD, "H46.9", verification="refuted")) == {}
    assert findings(condition(ICD, "H46.12", verification="refuted")) == {}  # one eye refuted: the other unknown
    assert findings(condition(SCT, "66760008", verification="entered-in-error", clinical="resolved")) == {}


@pytest.mark.parametrize(
    "code",
    ["153891000119101", "704667004", "286371000119107", "90771000119100", "90791000119104", "368471000119109"],
)
def test_end_stage_renal_disease_on_dialysis_sets_both(code: str) -> None:
    found = t.lookup(SCT, code)
    assert found is not None and found[0] == "end-stage-renal-disease" and "on dialysis" in found[1].display
    assert findings(condition(SCT, code)) == {"end-stage-renal-disease": True, "dialysis": True}
    assert findings(condition(SCT, code, clinical="resolved")) == {}  # off dialysis now (e.g. transplanted)
    assert findings(condition(SCT, code, verification="refuted")) == {}  # a narrower code: not "no ESRD"


def test_only_end_stage_renal_disease_itself_refuted_reads_as_absent() -> None:
    assert findings(condition(ICD, "N18.6", verification="refuted")) == {"end-stage-renal-disease": False}
    assert findings(condition(SCT, "46177005", verification="refuted")) == {"end-stage-renal-disease": False}
    assert findings(condition(SCT, "236436003", verification="refuted")) == {}  # with a transplant: narrower


@pytest.mark.parametrize("verification", ["unconfirmed", "provisional", "differential"])
def test_an_unconfirmed_entry_is_read_as_present_and_said_so(verification: str) -> None:
    reading = fhir.read(bundle(condition(ICD, "C79.51", verification=verification)), as_of=AS_OF)
    assert reading.patient.to_dict()["findings"] == {"known-cancer": True}
    assert [(n.kind, n.resource) for n in reading.notes] == [(fhir.NoteKind.ASSUMPTION, "Condition/c1")]
    assert verification in reading.notes[0].reason


def test_a_plain_code_where_an_element_belongs_is_named_in_the_specifications_terms() -> None:
    # STU3 senders give clinicalStatus as a bare code; R4 has a CodeableConcept there. The note says so in words a
    # reader can act on, not the model's "Invalid JSON: expected value at line 1 column 1".
    res = condition(SCT, "238794007", clinical=None)
    res["clinicalStatus"] = "resolved"
    reading = fhir.read(bundle(res), as_of=AS_OF)
    (note,) = [n for n in reading.notes if n.kind is fhir.NoteKind.NONCONFORMANT]
    assert "clinicalStatus: got 'resolved'; expected a JSON object here" in note.reason
    assert "Invalid JSON" not in note.reason
