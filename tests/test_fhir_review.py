"""A clinician's review vignettes as FHIR input: the fact read and the emergency or urgent status it leads to.

Each vignette is written here as the bundle an EHR would send (the codes, displays and dates are the test's own,
written from the vendored value-set rows and the FHIR specification, not read from codes.toml).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import neuroguide
from neuroguide import fhir
from neuroguide import terminology as t
from neuroguide._facts import derive_flagged
from neuroguide.patient import FlagKind

AS_OF = dt.date(2026, 11, 23)
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOCAL = "urn:neuroguide:fact"
SUBJECT = {"reference": "Patient/v1"}
PATIENT = {"resourceType": "Patient", "id": "v1", "birthDate": "1950-01-01", "gender": "male"}


def condition(
    ident: str,
    system: str,
    code: str,
    *,
    clinical: str | None = "active",
    verification: str = "confirmed",
    onset: str = "2026-11-01",
    **extra: Any,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": ident,
        "code": {"coding": [{"system": system, "code": code}]},
        "verificationStatus": {"coding": [{"code": verification}]},
        "subject": SUBJECT,
        "onsetDateTime": onset,
        **extra,
    }
    if clinical is not None:
        res["clinicalStatus"] = {"coding": [{"code": clinical}]}
    return res


def observation(ident: str, fact: str, value: bool = True) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": LOCAL, "code": fact}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-23",
        "valueBoolean": value,
    }


T2D = condition("dm", SCT, "44054006", onset="2010-01-01")  # Diabetes mellitus type 2 (disorder)


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (PATIENT, *resources)]}


def read(*resources: dict[str, Any], as_of: dt.date = AS_OF) -> fhir.Reading:
    return fhir.read(bundle(*resources), as_of=as_of)


def status(rule: str, *resources: dict[str, Any], as_of: dt.date = AS_OF) -> str | None:
    found = fhir.assess(bundle(*resources), as_of=as_of).by_rule(rule)
    return None if found is None else str(found.status)


# -- M1: codes that state limb ischaemia set pad, so an ischaemic foot ulcer is an emergency


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
@pytest.mark.parametrize(
    ("system", "code"),
    [
        (SCT, "238794007"),  # Ischemic foot ulcer (disorder)
        (SCT, "429768000"),  # Ischemic ulcer of toe (disorder)
        (ICD, "I70.234"),  # atherosclerosis of native arteries of right leg with ulceration of heel and midfoot
        (ICD, "I70.235"),  # ... right leg with ulceration of other part of foot
        (ICD, "I70.244"),  # ... left leg with ulceration of heel and midfoot
        (ICD, "I70.245"),  # ... left leg with ulceration of other part of foot
    ],
)
def test_an_ischaemic_foot_ulcer_is_an_emergency(system: str, code: str) -> None:
    ulcer = condition("u", system, code)
    assert read(T2D, ulcer).patient.to_dict()["findings"] == {"foot-ulcer": True, "pad": True}
    assert status("foot-ulcer-limb-ischaemia", T2D, ulcer) == "emergency"
    assert status("active-foot-problem-referral", T2D, ulcer) == "urgent"


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
def test_a_heel_pressure_ulcer_alone_is_urgent_and_pad_is_asked_for() -> None:
    ulcer = condition("u", ICD, "L89.612")  # Pressure ulcer of right heel, stage 2: names no ischaemia
    assert read(T2D, ulcer).patient.to_dict()["findings"] == {"foot-ulcer": True}
    assert status("foot-ulcer-limb-ischaemia", T2D, ulcer) != "emergency"
    assert status("active-foot-problem-referral", T2D, ulcer) == "urgent"
    assert "pad" in fhir.assess(bundle(T2D, ulcer), as_of=AS_OF).urgent_missing
    with_pad = observation("p", "pad")  # PAD recorded under the neuroguide code
    assert status("foot-ulcer-limb-ischaemia", T2D, ulcer, with_pad) == "emergency"


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("E10.51", "type-1"),  # Type 1 diabetes mellitus with diabetic peripheral angiopathy without gangrene
        ("E10.52", "type-1"),  # ... with gangrene
        ("E11.51", "type-2"),
        ("E11.52", "type-2"),
        ("E13.51", "other"),  # Other specified diabetes mellitus with diabetic peripheral angiopathy ...
        ("E13.52", "other"),
    ],
)
def test_diabetes_with_peripheral_angiopathy_is_diabetes_and_pad(code: str, kind: str) -> None:
    angiopathy = condition("a", ICD, code, onset="2015-01-01")
    patient = read(angiopathy).patient.to_dict()
    assert patient["diabetes"]["type"] == kind
    assert patient["findings"] == {"pad": True}
    ulcer = condition("u", ICD, "L89.612")
    assert status("foot-ulcer-limb-ischaemia", angiopathy, ulcer) == "emergency"


def test_snomed_type_2_diabetes_with_peripheral_angiopathy_sets_pad() -> None:
    patient = read(condition("a", SCT, "314902007", onset="2015-01-01")).patient.to_dict()
    assert patient["diabetes"]["type"] == "type-2"
    assert patient["findings"] == {"pad": True}


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
def test_diabetes_with_foot_ulcer_and_diabetes_with_angiopathy_is_an_emergency() -> None:
    ulcer = condition("u", ICD, "E11.621", onset="2026-11-01")  # Type 2 diabetes mellitus with foot ulcer
    angiopathy = condition("a", ICD, "E11.51", onset="2015-01-01")
    assert read(ulcer, angiopathy).patient.to_dict()["findings"] == {"foot-ulcer": True, "pad": True}
    assert status("foot-ulcer-limb-ischaemia", ulcer, angiopathy) == "emergency"


@pytest.mark.parametrize(
    ("system", "code", "pad"),
    [
        (SCT, "792845002", True),  # claudication due to atherosclerosis of artery of limb
        (ICD, "I70.211", True),
        (ICD, "I70.212", True),
        (ICD, "I70.213", True),
        (SCT, "63491006", False),  # intermittent claudication: names no cause, so no pad
    ],
)
def test_claudication_due_to_atherosclerosis_sets_pad(system: str, code: str, pad: bool) -> None:
    got = read(condition("c", system, code)).patient.to_dict()["findings"]
    assert got == {"claudication": True, **({"pad": True} if pad else {})}


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_a_refuted_ischaemic_ulcer_sets_no_pad(verification: str) -> None:
    assert "pad" not in read(condition("u", SCT, "238794007", verification=verification)).patient.findings


def test_a_healed_ischaemic_ulcer_is_a_history_of_ulcer_and_still_artery_disease() -> None:
    # Clinical review 2026-11-30: peripheral artery disease is chronic; it does not resolve with the ulcer.
    got = read(condition("u", SCT, "238794007", clinical="resolved")).patient.to_dict()["findings"]
    assert got == {"prior-foot-ulcer": True, "pad": True}


# pad given directly (a code or the neuroguide code) and pad derived from the ABI (AHA/ACC 2016: ABI <= 0.90)


def pad_facts(pad: bool, abi: float) -> tuple[dict[str, Any], tuple[Any, ...]]:
    patient = neuroguide.Patient.from_dict({"findings": {"pad": pad}, "measurements": {"abi": abi}})
    return derive_flagged(patient, AS_OF)


@pytest.mark.parametrize("abi", [0.89, 0.90])
def test_pad_given_and_a_diagnostic_abi_agree(abi: float) -> None:
    facts, flags = pad_facts(True, abi)
    assert facts["pad"] is True and flags == ()


@pytest.mark.parametrize("abi", [0.91, 1.05, 1.45])
def test_pad_given_with_a_normal_abi_is_kept(abi: float) -> None:
    # a normal or noncompressible ABI does not exclude PAD (the derivation never gives false): no conflict
    facts, flags = pad_facts(True, abi)
    assert facts["pad"] is True and flags == ()


@pytest.mark.parametrize("abi", [0.89, 0.90])
def test_pad_given_false_against_a_diagnostic_abi_is_a_conflict(abi: float) -> None:
    facts, flags = pad_facts(False, abi)
    assert "pad" not in facts
    assert [(f.field, f.kind) for f in flags] == [("findings.pad", FlagKind.CONFLICT)]


def test_pad_given_false_with_an_abi_of_0_91_is_used() -> None:
    facts, flags = pad_facts(False, 0.91)
    assert facts["pad"] is False and flags == ()


# -- M2: a refuted cancer (or optic neuritis, or amputation) never sets its history fact false

RED_FLAGS = (observation("w", "weakness"), observation("r", "radicular-pain"))


@pytest.mark.rule("mscc-suspected")
def test_a_refuted_cancer_leaves_known_cancer_unknown_and_asks_for_it() -> None:
    refuted = condition("ca", SCT, "363346000", clinical=None, verification="refuted", onset="2026-09-01")
    reading = read(refuted, *RED_FLAGS)
    assert "known-cancer" not in reading.patient.findings
    assert [(n.kind, n.resource) for n in reading.notes] == [(fhir.NoteKind.EXCLUDED, "Condition/ca")]
    result = fhir.assess(bundle(refuted, *RED_FLAGS), as_of=AS_OF)
    assert "known-cancer" in result.urgent_missing
    recorded = condition("old", ICD, "C50.911", clinical="resolved", onset="2014-03-01")  # breast cancer
    assert status("mscc-suspected", refuted, recorded, *RED_FLAGS) == "emergency"


@pytest.mark.parametrize(
    ("system", "code", "fact"),
    [
        (SCT, "363346000", "known-cancer"),  # Malignant neoplastic disease
        (ICD, "C61", "known-cancer"),
        (SCT, "66760008", "optic-neuritis-history"),  # Optic neuritis
        (ICD, "H46.9", "optic-neuritis-history"),
    ],
)
def test_a_refuted_condition_never_sets_a_history_fact_false(system: str, code: str, fact: str) -> None:
    assert fact not in read(condition("c", system, code, verification="refuted")).patient.findings
    assert not t.refutes(fact, code)


def test_a_refuted_amputation_never_sets_prior_amputation_false() -> None:
    code = next(k[1] for k in t.value_set("Amputation") if k[0] == ICD)
    assert t.bindings()["prior-amputation"].history
    assert "prior-amputation" not in read(condition("c", ICD, code, verification="refuted")).patient.findings
    assert read(condition("c", ICD, code, clinical="resolved")).patient.findings == {"prior-amputation": True}


def test_every_history_fact_is_never_refuted() -> None:
    for fact, binding in t.bindings().items():
        if binding.history:
            assert not binding.absent_when_refuted, fact
            assert not any(t.refutes(fact, c.code) for c in binding.codes), fact


def test_the_loader_refuses_absent_when_refuted_on_a_history_fact(monkeypatch: pytest.MonkeyPatch) -> None:
    from neuroguide.exceptions import GuidelineDataError

    raw = t._raw()
    changed = {**raw, "facts": {**raw["facts"], "known-cancer": {**raw["facts"]["known-cancer"]}}}
    changed["facts"]["known-cancer"]["absent_when_refuted"] = ["363346000"]
    monkeypatch.setattr(t, "_raw", lambda: changed)
    t.bindings.cache_clear()
    try:
        with pytest.raises(GuidelineDataError, match="history fact"):
            t.bindings()
    finally:
        monkeypatch.undo()
        t.bindings.cache_clear()


# -- M3: abatement[x] on or before the evaluation date makes a Condition past


@pytest.mark.rule("active-foot-problem-referral")
@pytest.mark.parametrize(
    ("abated", "current"),
    [("2026-11-22", False), ("2026-11-23", False), ("2026-11-24", True)],  # a day before, on, a day after as_of
)
@pytest.mark.parametrize("clinical", [None, "resolved"])
def test_an_ulcer_abated_by_the_evaluation_date_is_a_history(abated: str, current: bool, clinical: str | None) -> None:
    ulcer = condition("u", ICD, "L89.612", clinical=clinical, onset="2026-01-01", abatementDateTime=abated)
    reading = read(T2D, ulcer)
    expected = {"foot-ulcer": True} if current else {"prior-foot-ulcer": True}
    assert reading.patient.to_dict()["findings"] == expected
    assert (status("active-foot-problem-referral", T2D, ulcer) == "urgent") is current


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
@pytest.mark.parametrize(("end", "emergency"), [("2026-11-22", False), ("2026-11-23", False), ("2026-11-24", True)])
def test_an_abated_ischaemic_ulcer_with_pad_is_no_emergency(end: str, emergency: bool) -> None:
    # the reviewer's vignette: a heel ulcer healed years ago, PAD recorded today
    ulcer = condition("u", SCT, "238794007", clinical=None, onset="2019-01-01", abatementPeriod={"end": end})
    pad = observation("p", "pad")
    assert (status("foot-ulcer-limb-ischaemia", T2D, ulcer, pad) == "emergency") is emergency


@pytest.mark.parametrize(
    "abatement",
    [{"abatementString": "healed in 2020"}, {"abatementBoolean": True}, {"abatementAge": {"value": 70, "code": "a"}}],
)
def test_other_abatement_forms_make_the_condition_past(abatement: dict[str, Any]) -> None:
    ulcer = condition("u", ICD, "L89.612", clinical=None, onset="2019-01-01", **abatement)
    assert read(ulcer).patient.to_dict()["findings"] == {"prior-foot-ulcer": True}


@pytest.mark.parametrize(("age", "past"), [(75, True), (76, False)])  # born 1950-01-01: aged 76 at as_of
def test_an_abatement_age_is_placed_from_the_birth_date(age: int, past: bool) -> None:
    ulcer = condition("u", ICD, "L89.612", clinical=None, onset="2019-01-01", abatementAge={"value": age, "code": "a"})
    got = read(ulcer).patient.to_dict()["findings"]
    assert got == ({"prior-foot-ulcer": True} if past else {"foot-ulcer": True})


def test_abatement_boolean_false_says_nothing() -> None:
    ulcer = condition("u", ICD, "L89.612", abatementBoolean=False)
    assert read(ulcer).patient.to_dict()["findings"] == {"foot-ulcer": True}


def test_an_active_status_with_a_past_abatement_is_a_reported_conflict() -> None:
    ulcer = condition("u", ICD, "L89.612", onset="2019-01-01", abatementDateTime="2020-06-01")
    reading = read(ulcer)
    assert reading.patient.to_dict()["findings"] == {"prior-foot-ulcer": True}
    assert fhir.NoteKind.CONFLICT in [n.kind for n in reading.notes]


def test_a_past_cancer_abated_long_ago_is_still_a_known_cancer() -> None:
    cancer = condition("ca", ICD, "C50.911", clinical="resolved", onset="2014-03-01", abatementDateTime="2016-06-01")
    assert read(cancer).patient.to_dict()["findings"] == {"known-cancer": True}
    assert status("mscc-suspected", cancer, *RED_FLAGS) == "emergency"


def test_no_clinical_status_is_read_as_active_and_said_so() -> None:
    reading = read(condition("u", ICD, "L89.612", clinical=None))
    assert reading.patient.to_dict()["findings"] == {"foot-ulcer": True}
    assert [(n.kind, n.reason) for n in reading.notes] == [
        (fhir.NoteKind.ASSUMPTION, "no clinical status: read as active (onset 2026-11-01)")
    ]


# -- M5: an unconfirmed Condition read as a past (history) fact carries the assumption note too


@pytest.mark.parametrize("verification", ["unconfirmed", "provisional", "differential"])
def test_an_unconfirmed_past_condition_read_as_history_says_so(verification: str) -> None:
    cancer = condition("ca", ICD, "C61", clinical="resolved", verification=verification)
    reading = read(cancer)
    assert reading.patient.to_dict()["findings"] == {"known-cancer": True}
    assert [n.kind for n in reading.notes] == [fhir.NoteKind.ASSUMPTION]
    ulcer = condition("u", ICD, "L89.612", clinical="resolved", verification=verification)
    reading = read(ulcer)
    assert reading.patient.to_dict()["findings"] == {"prior-foot-ulcer": True}
    assumed = [n for n in reading.notes if n.kind is fhir.NoteKind.ASSUMPTION]
    assert len(assumed) == 1 and "prior-foot-ulcer" in assumed[0].reason and verification in assumed[0].reason


@pytest.mark.rule("active-foot-problem-referral")
@pytest.mark.parametrize(("abated", "current"), [("2026-11-22", False), ("2026-11-23", False), ("2026-11-24", True)])
def test_diabetes_with_foot_ulcer_abated_is_diabetes_and_a_history_of_ulcer(abated: str, current: bool) -> None:
    # E11.621 Type 2 diabetes mellitus with foot ulcer: still diabetes; the ulcer it names is past once abated
    ulcer = condition("u", ICD, "E11.621", clinical=None, onset="2020-01-01", abatementDateTime=abated)
    patient = read(ulcer).patient.to_dict()
    assert patient["diabetes"]["type"] == "type-2"
    assert patient["findings"] == ({"foot-ulcer": True} if current else {"prior-foot-ulcer": True})
    assert (status("active-foot-problem-referral", ulcer) == "urgent") is current


def test_diabetes_with_foot_ulcer_without_status_says_the_ulcer_is_read_as_active() -> None:
    reading = read(condition("u", ICD, "E11.621", clinical=None, onset="2019-01-01"))
    assert reading.patient.to_dict()["findings"] == {"foot-ulcer": True}
    assert [n.reason for n in reading.assumed] == ["no clinical status: read as active (onset 2019-01-01)"]
    assert read(condition("d", ICD, "E11.9", clinical=None)).notes == ()  # diabetes alone: status not used


# -- M5: the notes card and the text report tell "not used" from "read with an assumption"


def mixed_bundle() -> dict[str, Any]:
    unknown = condition("x", "http://example.org/local", "ABC")  # a local code: not used
    provisional = condition("c", SCT, "63491006", verification="provisional")  # read as claudication present
    no_status = condition("u", ICD, "L89.612", clinical=None)  # read as active
    return bundle(T2D, unknown, provisional, no_status)


def test_note_kinds_split_into_not_used_and_assumed() -> None:
    assumed = {k for k in fhir.NoteKind if k.assumed}
    # a limit with a threshold inside it is read too (used for every threshold it decides)
    assert assumed == {fhir.NoteKind.ASSUMPTION, fhir.NoteKind.NONCONFORMANT, fhir.NoteKind.UNDECIDED}
    reading = fhir.read(mixed_bundle(), as_of=AS_OF)
    assert [n.resource for n in reading.not_used] == ["Condition/x"]
    assert sorted(n.resource for n in reading.assumed) == ["Condition/c", "Condition/u"]
    assert set(reading.notes) == {*reading.not_used, *reading.assumed}


def test_the_cards_list_assumptions_apart_from_what_was_not_used() -> None:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import cards_for

    reading = fhir.read(mixed_bundle(), as_of=AS_OF)
    result = fhir.assess(mixed_bundle(), as_of=AS_OF)
    cards = cards_for(result, "rec-1", "http://h", reading.notes)
    (unused,) = [c for c in cards if "could not be used" in c["summary"]]
    (assumed,) = [c for c in cards if "read with an assumption" in c["summary"]]
    assert unused["summary"].startswith("1 item(s)") and "Condition/x" in unused["detail"]
    assert "Condition/c" not in unused["detail"] and "Condition/u" not in unused["detail"]
    assert assumed["summary"].startswith("2 item(s)")
    assert "Condition/c" in assumed["detail"] and "no clinical status: read as active" in assumed["detail"]
    assert unused["uuid"] != assumed["uuid"]


def test_the_text_report_lists_assumptions_apart_from_what_was_not_recognised() -> None:
    from neuroguide.report import summary

    lines = summary(fhir.assess(mixed_bundle(), as_of=AS_OF))
    (assumed,) = [line for line in lines if line.startswith("Read with an assumption: ")]
    (counts,) = [line for line in lines if line.startswith("From the FHIR data: ")]
    assert "63491006" in assumed and "L89.612" in assumed and "ABC" not in assumed
    assert "2 read with an assumption" in counts and "1 not recognised" in counts


def test_only_assumptions_give_no_not_recognised_line() -> None:
    from neuroguide.report import summary

    lines = summary(fhir.assess(bundle(T2D, condition("u", ICD, "L89.612", clinical=None)), as_of=AS_OF))
    assert not any(line.startswith("Not recognised") for line in lines)
    assert any(line.startswith("Read with an assumption: ") for line in lines)
