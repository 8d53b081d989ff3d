"""Findings that contradict each other are flagged and left out; the rest of the patient is evaluated.

Clinician review: refusing the whole patient hid every red flag the other findings raise (saddle anaesthesia and
a bilateral leg deficit with a contradictory pair of bladder entries got no cauda equina flag, only an error).
Now both contradicting values are unknown to every rule (a rule needing one is undetermined and names it),
never read as normal, and the flag names both fields, both values and what was expected, in every output.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import cli
from neuroguide.report import render_text

AS_OF = dt.date(2026, 11, 23)
# Sphincter entries that contradict: "no new bladder or bowel dysfunction", yet urinary retention recorded.
SPHINCTER_PAIR = {"bladder-bowel-dysfunction": False, "urinary-retention": True}
PAIR_FIELD = "findings.bladder-bowel-dysfunction and findings.urinary-retention"


def assess(doc: dict[str, Any]) -> ng.Assessment:
    return ng.assess(doc, as_of=AS_OF)


def trace(result: ng.Assessment, rule: str) -> Any:
    (found,) = [t for t in result.record.trace if t.rule == rule]
    return found


def contradictions(result: ng.Assessment) -> list[ng.Flag]:
    return [f for f in result.flags if f.kind is ng.FlagKind.CONTRADICTION]


# -- red flags beside a contradiction ----------------------------------------------------------------


@pytest.mark.rule("cauda-equina-suspected")
def test_saddle_anaesthesia_and_bilateral_deficit_raise_cauda_equina_despite_a_contradicting_bladder_pair() -> None:
    # Bilateral sciatica: radicular pain with a deficit in both legs (the vocabulary has no separate fact for it).
    findings = {"saddle-anaesthesia": True, "radicular-pain": True, "bilateral-leg-deficit": True}
    result = assess({"findings": {**findings, **SPHINCTER_PAIR}})
    red = {r.rule: r for r in result.section(ng.Section.RED_FLAGS)}
    assert red["cauda-equina-suspected"].status == "emergency"
    (flag,) = contradictions(result)
    assert flag.field == PAIR_FIELD and flag.value == "false and true"
    assert flag.message == (
        "contradict each other; expected consistent findings: urinary-retention is a new bladder or bowel "
        "dysfunction, which bladder-bowel-dysfunction = false denies; neither used"
    )
    assert not {"bladder-bowel-dysfunction", "urinary-retention"} & set(result.record.facts)


@pytest.mark.rule("cauda-equina-suspected")
def test_cauda_equina_is_undetermined_naming_the_contradicted_finding_never_silently_not_fired() -> None:
    # Urinary retention is the only positive criterion, and it is contradicted: unknown, not "no".
    others = {"saddle-anaesthesia": False, "bowel-dysfunction": False, "bilateral-leg-deficit": False}
    result = assess({"findings": {**others, **SPHINCTER_PAIR}})
    found = trace(result, "cauda-equina-suspected")
    assert found.outcome is ng.RuleOutcome.UNDETERMINED
    assert found.missing == ("urinary-retention",)
    assert "urinary-retention" in result.urgent_missing
    # The same findings without the contradiction decide it: the flag is what leaves it open.
    assert trace(assess({"findings": {**others, "urinary-retention": False}}), "cauda-equina-suspected").outcome is (
        ng.RuleOutcome.NOT_FIRED
    )


@pytest.mark.rule("mscc-suspected")
def test_spinal_cord_compression_in_cancer_is_undetermined_naming_the_contradicted_sphincter_findings() -> None:
    findings = {
        "known-cancer": True,
        **dict.fromkeys(
            (
                "radicular-pain",
                "weakness",
                "bilateral-leg-deficit",
                "imbalance",
                "saddle-anaesthesia",
                "sensory-level",
                "urinary-incontinence",
                "bowel-dysfunction",
                "numbness",
                "distal-symmetric-pattern",
            ),
            False,
        ),
        **SPHINCTER_PAIR,
    }
    result = assess({"findings": findings})
    found = trace(result, "mscc-suspected")
    assert found.outcome is ng.RuleOutcome.UNDETERMINED
    assert set(found.missing) == {"urinary-retention", "bladder-bowel-dysfunction"}
    sphincter = trace(result, "sphincter-disturbance-new")
    assert sphincter.outcome is ng.RuleOutcome.UNDETERMINED and sphincter.missing == ("bladder-bowel-dysfunction",)
    # A cancer with a sensory level beside the same pair: the cord compression flags still fire.
    fired = assess({"findings": {**findings, "sensory-level": True}})
    red = {r.rule for r in fired.section(ng.Section.RED_FLAGS)}
    assert {"mscc-suspected", "cord-compression-suspected"} <= red
    assert len(contradictions(fired)) == 1


def test_a_general_finding_denied_with_several_specifics_recorded_leaves_out_each_of_them() -> None:
    findings = {
        "bladder-bowel-dysfunction": False,
        "urinary-retention": True,
        "bowel-dysfunction": True,
        "urinary-incontinence": False,
        "numbness": True,
    }
    result = assess({"findings": findings})
    assert [f.field for f in contradictions(result)] == [
        PAIR_FIELD,
        "findings.bladder-bowel-dysfunction and findings.bowel-dysfunction",
    ]
    facts = result.record.facts
    assert not {"bladder-bowel-dysfunction", "urinary-retention", "bowel-dysfunction"} & set(facts)
    assert facts["urinary-incontinence"] is False  # a specific finding recorded false agrees: it stays
    assert facts["numbness"] is True


def test_three_exclusive_findings_are_two_contradictions_and_all_three_are_left_out() -> None:
    findings = {"distal-symmetric-pattern": True, "asymmetric-pattern": True, "non-length-dependent": True}
    result = assess({"findings": {**findings, "numbness": True}})
    assert [f.field for f in contradictions(result)] == [
        "findings.distal-symmetric-pattern and findings.asymmetric-pattern",
        "findings.distal-symmetric-pattern and findings.non-length-dependent",
    ]
    assert not set(findings) & set(result.record.facts)
    assert trace(result, "pattern-distal-symmetric").outcome is ng.RuleOutcome.UNDETERMINED


def test_a_left_out_value_is_not_derived_from_the_other_inputs_instead() -> None:
    # Walking leg fatigue would give exertional non-joint symptoms; it is contradicted with the "no" given.
    walking = assess(
        {
            "findings": {"exertional-nonjoint-leg-symptoms": False, "claudication": True, "leg-fatigue": True},
            "measurements": {"abi": 1.0},
        }
    )
    assert len(contradictions(walking)) == 2
    assert not {"exertional-nonjoint-leg-symptoms", "claudication", "leg-fatigue"} & set(walking.record.facts)
    assert "exertional-nonjoint-leg-symptoms" in trace(walking, "exercise-abi").missing
    # Progression longer than the symptoms while still progressing: the durations are out, and progression is
    # not derived from "still progressing" and the symptom duration either.
    tempo = assess(
        {
            "findings": {"still-progressing": True, "weakness": True},
            "measurements": {"progression-duration": "10 week", "symptom-duration": "40 day"},
        }
    )
    (flag,) = contradictions(tempo)
    assert flag.field == "measurements.progression-duration and measurements.symptom-duration"
    assert flag.value == "70 days against 40 days"
    assert not {"progression-duration", "symptom-duration"} & set(tempo.record.facts)
    assert tempo.record.facts["still-progressing"] is True
    found = trace(tempo, "rapidly-progressive-limb-weakness")
    assert found.outcome is ng.RuleOutcome.UNDETERMINED and "progression-duration" in found.missing


def test_consistent_findings_raise_no_flag() -> None:
    result = assess({"findings": {"bladder-bowel-dysfunction": True, "urinary-retention": True, "areflexia": True}})
    assert not result.flags


# -- every output shows it ---------------------------------------------------------------------------

CES_DOC = {
    "id": "ces-contradiction",
    "birth_date": "1970-03-01",
    "findings": {"saddle-anaesthesia": True, "bilateral-leg-deficit": True, **SPHINCTER_PAIR},
}


def test_the_text_report_lists_the_flag_among_the_inputs_not_used() -> None:
    text = " ".join(render_text(assess(CES_DOC)).split())
    assert "INPUTS FLAGGED AND NOT USED" in text
    assert f"{PAIR_FIELD} = false and true: contradict each other" in text
    assert "EMERGENCY: Suspected cauda equina syndrome" in text


def test_the_record_json_holds_the_flag_and_replay_reproduces_it() -> None:
    result = ng.assess(ng.Patient.from_dict(CES_DOC), as_of=AS_OF)
    record = json.loads(result.record.to_json())
    (flag,) = record["flags"]
    assert flag["kind"] == "contradiction" and flag["field"] == PAIR_FIELD
    report = ng.replay(record)
    assert report.identical, report.differences
    again = report.assessment
    assert again is not None
    assert again.flags == result.flags
    assert again.record.facts == result.record.facts


def test_the_cli_prints_the_flag_and_the_red_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(CES_DOC))
    assert cli.main(["assess", str(path), "--as-of", AS_OF.isoformat()]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert PAIR_FIELD in out and "neither used" in out and "cauda equina" in out
    assert cli.main(["assess", str(path), "--as-of", AS_OF.isoformat(), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [f["field"] for f in shown["flags"]] == [PAIR_FIELD]


def test_a_cds_hooks_card_shows_the_flag_beside_the_emergency_card() -> None:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import cards_for

    cards = cards_for(assess(CES_DOC), "0" * 32, "http://x")
    assert cards[0]["indicator"] == "critical"
    (flags,) = [c for c in cards if "input problem" in c["summary"]]
    assert flags["indicator"] == "warning"
    assert flags["summary"] == "1 input problem(s) flagged: the values were not used"
    assert f"{PAIR_FIELD} = false and true: contradict each other" in flags["detail"]


def test_fhir_observations_that_contradict_are_flagged_and_the_red_flag_still_fires() -> None:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    from neuroguide import fhir
    from neuroguide.terminology import LOCAL_SYSTEM

    def obs(fact: str, value: bool) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": fact,
            "status": "final",
            "code": {"coding": [{"system": LOCAL_SYSTEM, "code": fact}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-11-01",
            "valueBoolean": value,
        }

    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01", "gender": "female"}
    values = {"saddle-anaesthesia": True, "bilateral-leg-deficit": True, **SPHINCTER_PAIR}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (patient, *(obs(k, v) for k, v in values.items()))],
    }
    reading = fhir.read(bundle, as_of=AS_OF)
    result = assess(reading.patient.to_dict())
    assert [f.field for f in contradictions(result)] == [PAIR_FIELD]
    assert "cauda-equina-suspected" in {r.rule for r in result.section(ng.Section.RED_FLAGS)}


def test_a_dose_check_for_a_patient_with_contradicting_findings_is_made_and_notes_the_flag() -> None:
    doc = {**CES_DOC, "sex": "male", "measurements": {"weight": "70 kg", "serum-creatinine": "1.0 mg/dL"}}
    verdict = ng.check_dose("gabapentin", "900 mg", per="day", patient=ng.Patient.from_dict(doc), as_of=AS_OF)
    assert any(PAIR_FIELD in note and "neither used" in note for note in verdict.notes)
