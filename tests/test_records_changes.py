"""Records written by 0.1.0 whose replay differs: each difference is the one a change since 0.1.0 (CHANGELOG,
0.2.0) predicts, and the replay names that change as its cause.

The expectations come from the change history and the record's own patient, not from the replay's output:
e.g. the CHANGELOG says an ABI <= 0.90 now sets ``pad``, so a record whose patient has such an ABI and no
recorded ``pad`` must replay with ``pad`` true and say why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import audit

RECORDS = Path(__file__).parent / "data" / "records" / "0.1.0"
K = ng.DifferenceKind


def load(name: str) -> tuple[str, dict[str, Any]]:
    text = (RECORDS / f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    assert data["package"] == "0.1.0"
    return text, data


def replayed(name: str) -> tuple[dict[str, Any], ng.ReplayReport, audit.ReplayAudit]:
    text, data = load(name)
    report = ng.replay(ng.EvaluationRecord.from_json(text))
    result = audit.replay_record(text)
    assert not report.identical and not result.identical
    assert result.causes, "every difference needs a cause"
    assert K.RECORD_INCONSISTENT not in {d.kind for d in report.differences}, "an authentic record is not altered"
    return data, report, result


def kinds(report: ng.ReplayReport) -> set[ng.DifferenceKind]:
    return {d.kind for d in report.differences if d.kind.substantive}


def has(texts: Any, *parts: str) -> bool:
    return any(all(p in str(t) for p in parts) for t in texts)


def rec(data: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [r for r in data["recommendations"] if r["rule"] == rule]


def test_pad_derived_from_a_diagnostic_abi() -> None:
    # CHANGELOG 0.2.0: pad derived from ABI <= 0.90 / TBI <= 0.70 (AHA/ACC 2016); 0.1.0 read only a given pad.
    data, report, result = replayed("pad-from-abi-2024-02-29")
    assert data["as_of"] == "2024-02-29"
    assert float(data["patient"]["measurements"]["abi"]) <= 0.90 and "pad" not in data["patient"]["findings"]
    assert data["facts"].get("pad") is None and report.assessment is not None
    assert report.assessment.record.facts["pad"] is True
    assert has(report.differences, "fact pad", "now True")
    assert has(result.causes, "pad is derived from an ABI <= 0.90")


def test_two_entries_of_one_drug_were_one_recommendation_each() -> None:
    # 0.1.0 gave a neurotoxicity rule one recommendation per entry: the record repeats it, and is not "altered".
    data, _, result = replayed("neurotox-isoniazid-two-entries")
    agents = [m["agent"] for m in data["patient"]["medications"]]
    assert agents.count("isoniazid") == 2 and len(rec(data, "neurotox-isoniazid")) == 2
    assert not has(result.causes, "altered or damaged")


def test_duplicate_therapy_is_summed_into_one_recommendation() -> None:
    # CHANGELOG 0.2.0 (clinical safety): entries naming the same drug are summed into one daily dose, checked once.
    data, report, result = replayed("gabapentin-duplicate-therapy")
    entries = data["patient"]["medications"]
    assert {m["agent"] for m in entries} == {"gabapentin", "neurontin"} and len(rec(data, "gabapentin-phn")) == 2
    assert report.assessment is not None
    now = [r for r in report.assessment.recommendations if r.rule == "gabapentin-phn"]
    assert len(now) == 1 and len(now[0].reasons) == 2
    total = sum(int(m["dose"].split()[0]) for m in entries)
    assert f"{total} mg per day in total" in now[0].action
    assert has(report.differences, "gabapentin-phn", "recommended 2 time(s) in the record, now 1")
    assert has(result.causes, "duplicate therapy", "gabapentin-phn")


def test_a_neurotoxic_drug_with_unknown_exposure_no_longer_gets_the_past_threshold_action() -> None:
    # 0.2.0 (commit 9708d62; CHANGELOG: below its threshold or with exposure unknown, no past-threshold action).
    data, report, result = replayed("neurotox-paclitaxel-exposure-unknown")
    assert data["patient"]["medications"] == [{"agent": "paclitaxel"}]  # no dose, dates or cumulative exposure
    was = rec(data, "neurotox-paclitaxel")[0]["action"]
    assert "threshold" not in was
    assert kinds(report) == {K.RECOMMENDATION_CHANGED}
    assert all("neurotox-paclitaxel" in d and ": action was" in d for d in report.differences if d.kind.substantive)
    assert has(result.causes, "past-threshold action", "neurotox-paclitaxel")


@pytest.mark.parametrize(
    ("name", "field", "fact"),
    [
        ("creatinine-umol-as-mgdl", "measurements.serum-creatinine", "serum-creatinine"),
        ("hba1c-mmolmol-as-percent", "measurements.hba1c", "hba1c"),
    ],
)
def test_a_value_in_the_wrong_unit_is_now_flagged_and_left_out(name: str, field: str, fact: str) -> None:
    # 0.2.0 flags a value far outside the usual range of its unit as a probable unit error (not used); 0.1.0 used it.
    data, report, result = replayed(name)
    assert data["facts"][fact] is not None
    assert report.assessment is not None and report.assessment.record.facts.get(fact) is None
    assert has(report.differences, f"fact {fact}:", "now None", "probable-unit-error")
    assert has(result.causes, "this version flags", f"{field}: probable-unit-error")


def test_the_hba1c_left_out_takes_its_diagnostic_recommendation_with_it() -> None:
    data, report, _ = replayed("hba1c-mmolmol-as-percent")
    assert rec(data, "ada-dx-hba1c")
    assert has(report.differences, "ada-dx-hba1c", "no longer produced")
    assert has(report.differences, "missing inputs", "hba1c")


@pytest.mark.parametrize(
    ("name", "kind", "facts"),
    [
        (
            "contradiction-distal-nonlength-in-review",
            "contradiction",
            ("distal-symmetric-pattern", "non-length-dependent"),
        ),
        ("conflict-lops-monofilament", "conflict", ("lops",)),
    ],
)
def test_contradicting_findings_are_now_left_out(name: str, kind: str, facts: tuple[str, ...]) -> None:
    # 0.2.0: contradicting findings, and a given value against the one derived, are flagged and neither used.
    data, report, result = replayed(name)
    for fact in facts:
        assert fact in data["patient"]["findings"]
        assert has(report.differences, f"fact {fact}:", "now None", f"flagged now: {kind}")
    assert has(result.causes, "this version flags", kind)


def test_a_dose_of_a_drug_whose_dosing_rule_is_in_review_is_now_a_missing_input() -> None:
    # CHANGELOG 0.2.0: a dose whose only dosing rule is not evaluated (midodrine-oh in review) is said not checked.
    data, report, result = replayed("midodrine-dose-in-review")
    assert data["statuses"] == ["approved"] and data["patient"]["medications"][0]["agent"] == "midodrine"
    assert "medications[0].dose" not in {m["fact"] for m in data["missing"]}
    assert has(report.differences, "now also missing [medications[0].dose]")
    assert has(result.causes, "dose that was not checked", "medications[0].dose")


def test_a_reworded_missing_input_label_is_named() -> None:
    _, report, result = replayed("b12-label-2025-01-31")
    assert kinds(report) == {K.MISSING_INPUTS}
    assert has(report.differences, "last-b12-test: label was")
    assert has(result.causes, "evaluation code (package 0.1.0 then")


def test_a_renal_verdict_now_says_which_weight_its_crcl_used() -> None:
    # CHANGELOG 0.2.0 (clinical safety): every renal verdict says which weight its CrCl used; the verdict stands.
    data, report, _ = replayed("gabapentin-crcl21-details")
    assert kinds(report) == {K.RECOMMENDATION_CHANGED}
    # Since 0.2.0 too: the entry has no indication, so the verdict no longer claims postherpetic neuralgia (its title
    # and the regimen named in its action change; CHANGELOG, "gabapentin without an indication").
    changed = [str(d) for d in report.differences if d.kind.substantive]
    assert all("gabapentin-phn" in d for d in changed)
    assert {d.split(": ", 1)[1].split(" was ", 1)[0] for d in changed} == {"details", "title", "action"}
    assert has(changed, "title was 'Gabapentin for postherpetic neuralgia", "now 'Gabapentin, indication not given")
    assert report.assessment is not None
    now = [r for r in report.assessment.recommendations if r.rule == "gabapentin-phn"]
    assert [r.status.value for r in now] == [r["status"] for r in rec(data, "gabapentin-phn")]


@pytest.mark.parametrize(
    ("name", "field"),
    [("refused-iwgdf-fraction", "measurements.iwgdf-category"), ("refused-exam-before-birth", "last.foot-exam")],
)
def test_a_patient_0_1_0_accepted_and_this_version_refuses_is_said_so(name: str, field: str) -> None:
    text, data = load(name)
    with pytest.raises(ng.InputError, match=rf"record\.patient\.{field}") as caught:
        audit.replay_record(text)
    assert "neuroguide 0.1.0 wrote the record" in str(caught.value)
    assert f"record's {len(data['recommendations'])} recommendation(s) stand as recorded" in str(caught.value)


def test_a_record_of_this_version_with_a_refused_patient_is_not_excused() -> None:
    patient = {"age": 64, "sex": "male"}
    data = ng.assess(patient, as_of=ng.EvaluationRecord.from_json(load("t2d-metformin")[0]).as_of).record.to_dict()
    data["patient"]["measurements"] = {"iwgdf-category": 0.1}
    with pytest.raises(ng.InputError, match=r"record\.patient\.measurements\.iwgdf-category") as caught:
        audit.replay_record(data)
    assert "wrote the record" not in str(caught.value)


@pytest.mark.parametrize("package", ["banana", "v", " "])
def test_a_package_that_is_not_a_version_is_refused(package: str) -> None:
    _, data = load("t2d-metformin")
    data["package"] = package
    with pytest.raises(ng.InputError, match="record.package"):
        audit.replay_record(data)


def test_a_repeated_rule_in_an_old_record_that_is_not_a_medication_rule_is_still_altered() -> None:
    _, data = load("t2d-metformin")
    data["recommendations"].append(dict(data["recommendations"][0]))
    result = audit.replay_record(data)
    assert not result.identical and has(result.causes, "altered or damaged")


def test_a_derivation_held_back_for_0_1_0_is_said_with_what_it_would_change() -> None:
    # CHANGELOG 0.2.0: exertional-nonjoint-leg-symptoms is derived true from claudication or leg fatigue, so a
    # borderline ABI (0.91-0.99, AHA/ACC 2016) with such symptoms is offered the exercise ABI; 0.1.0 records are
    # replayed without the derivation (identical), and the replay says what it would change.
    text, data = load("claudication-exercise-abi-held-back")
    findings = data["patient"]["findings"]
    assert findings.get("leg-fatigue") is True or findings.get("claudication") is True
    assert "exertional-nonjoint-leg-symptoms" not in findings
    assert 0.91 <= float(data["patient"]["measurements"]["abi"]) <= 0.99
    assert not rec(data, "exercise-abi")
    report = ng.replay(ng.EvaluationRecord.from_json(text))
    assert report.identical
    newer = [d for d in report.differences if d.kind is K.NEWER_CODE]
    assert has(newer, "exertional-nonjoint-leg-symptoms = True", "exercise-abi", "new recommendation")
    result = audit.replay_record(text)
    assert result.identical and has(result.notes, "exercise-abi")
