"""Referral of an active diabetic foot problem (iwgdf-foot 2023.2, NICE NG19).

Expected words and thresholds are written here from the sources (NICE NG19 as reproduced verbatim; AHA/ACC 2016
for PAD from the ABI: "Patients with ABI ≤0.90 are diagnosed with PAD"), not read from the guideline file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import neuroguide as ng

GID = "iwgdf-foot"
DAY = dt.date(2026, 11, 30)
T2D = {"type": "type-2", "diagnosed": "2000-01-01"}


def assess(findings: dict[str, bool], measurements: dict[str, Any] | None = None, diabetes: bool = True) -> Any:
    patient: dict[str, Any] = {"findings": findings, "measurements": measurements or {}}
    if diabetes:
        patient["diabetes"] = T2D
    return ng.assess(patient, as_of=DAY, guidelines=[GID, "ada-neuropathy"])


def quote(rule_id: str) -> str:
    g = ng.load_guideline(GID, version="2023.2")
    return " ".join(c.quote for c in g.rule(rule_id).citations)


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
def test_foot_ulcer_limb_ischaemia_the_reviewed_case_is_an_emergency_shown_unverified() -> None:
    # The clinical review's patient: active ulcer, PAD, toe pressure 25 mmHg -- no flag in iwgdf-foot 2023.1.
    text = quote("foot-ulcer-limb-ischaemia")
    assert "refer them immediately to acute services and inform the multidisciplinary foot care service" in text
    assert "ulceration with limb ischaemia" in text
    result = assess(
        {"foot-ulcer": True, "pad": True, "monofilament-abnormal": True, "prior-foot-ulcer": True},
        {"toe-pressure": "25 mmHg"},
    )
    first = result.section(ng.Section.RED_FLAGS)[0]
    assert first.rule == "foot-ulcer-limb-ischaemia" and first.status == "emergency"
    assert first.rule_status == "in-review"  # evaluated and shown although in review
    assert result.recommendations[0].rule == "foot-ulcer-limb-ischaemia"


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
@pytest.mark.parametrize(("ulcer", "pad", "fires"), [(True, True, True), (True, False, False), (False, True, False)])
def test_foot_ulcer_limb_ischaemia_needs_ulcer_and_pad(ulcer: bool, pad: bool, fires: bool) -> None:
    assert (assess({"foot-ulcer": ulcer, "pad": pad}).by_rule("foot-ulcer-limb-ischaemia") is not None) is fires


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
def test_foot_ulcer_limb_ischaemia_without_diabetes_or_with_pad_unknown() -> None:
    assert assess({"foot-ulcer": True, "pad": True}, diabetes=False).by_rule("foot-ulcer-limb-ischaemia") is None
    unknown = assess({"foot-ulcer": True})
    (trace,) = [t for t in unknown.record.trace if t.rule == "foot-ulcer-limb-ischaemia"]
    assert trace.outcome == "undetermined" and set(trace.missing) == {"pad", "toe-pressure"}
    assert {"pad", "toe-pressure"} <= set(unknown.urgent_missing)


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
@pytest.mark.parametrize(
    ("toe", "fires"),
    [("25 mmHg", True), ("29 mmHg", True), ("29.9 mmHg", True), ("30 mmHg", False), ("31 mmHg", False)],
)
def test_foot_ulcer_limb_ischaemia_at_the_toe_pressure_boundary(toe: str, fires: bool) -> None:
    # IWGDF 2015 (reproduced abstract): "toe pressure is <30 mmHg" -- strict, so 30 mmHg does not fire.
    assert "toe pressure is <30 mmHg" in quote("foot-ulcer-limb-ischaemia")
    result = assess({"foot-ulcer": True, "pad": False}, {"toe-pressure": toe})
    assert (result.by_rule("foot-ulcer-limb-ischaemia") is not None) is fires
    without_ulcer = assess({"foot-ulcer": False, "pad": False}, {"toe-pressure": toe})
    assert without_ulcer.by_rule("foot-ulcer-limb-ischaemia") is None


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
@pytest.mark.parametrize(("abi", "fires"), [(0.89, True), (0.90, True), (0.91, None)])
def test_foot_ulcer_limb_ischaemia_with_pad_from_the_abi(abi: float, fires: bool | None) -> None:
    # AHA/ACC 2016: "Patients with ABI ≤0.90 are diagnosed with PAD"; above 0.90 PAD is not excluded (unknown).
    result = assess({"foot-ulcer": True}, {"abi": abi})
    (trace,) = [t for t in result.record.trace if t.rule == "foot-ulcer-limb-ischaemia"]
    assert trace.outcome == ("fired" if fires else "undetermined")


@pytest.mark.rule("active-foot-problem-referral")
@pytest.mark.parametrize(("ulcer", "fires"), [(True, True), (False, False), (None, None)])
def test_active_foot_problem_referral_within_1_working_day(ulcer: bool | None, fires: bool | None) -> None:
    assert "refer the person within 1 working day to the multidisciplinary foot care service" in quote(
        "active-foot-problem-referral"
    )
    findings = {} if ulcer is None else {"foot-ulcer": ulcer}
    result = assess(findings)
    found = result.by_rule("active-foot-problem-referral")
    (trace,) = [t for t in result.record.trace if t.rule == "active-foot-problem-referral"]
    assert trace.outcome == {True: "fired", False: "not-fired", None: "undetermined"}[fires]
    if fires:
        assert found is not None and found.status == "urgent" and found.section is ng.Section.RED_FLAGS
        assert found.rule_status == "in-review"


def test_foot_screening_is_unchanged_in_2023_2() -> None:
    old = ng.load_guideline(GID, version="2023.1").rule("foot-screening-by-risk")
    new = ng.load_guideline(GID, version="2023.2").rule("foot-screening-by-risk")
    assert old == new
