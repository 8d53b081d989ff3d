"""Inflammatory-neuropathy red flags (inflammatory-neuropathy 2021.1) and the ADA atypical-features rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import neuroguide as ng

GID = "inflammatory-neuropathy"
DAY = dt.date(2026, 6, 1)
ALL = ("approved", "in-review")


def guideline() -> Any:
    return ng.load_guideline(GID, version="2021.1")


def quote(rule_id: str) -> str:
    return " ".join(c.quote for c in guideline().rule(rule_id).citations)


def assess(findings: dict[str, bool], days: int | None, statuses: tuple[str, ...] = ("approved",)) -> Any:
    patient: dict[str, Any] = {"findings": findings}
    if days is not None:
        patient["measurements"] = {"progression-duration": f"{days} day"}
    return ng.assess(patient, as_of=DAY, guidelines=[GID], statuses=statuses)


GBS = {"weakness": True, "areflexia": True}
CIDP = {"proximal-and-distal-weakness": True, "reflexes-reduced-all-limbs": True, "numbness": True}


@pytest.mark.rule("gbs-suspected")
def test_gbs_progression_up_to_4_weeks_is_urgent() -> None:
    assert "days to 4 weeks" in quote("gbs-suspected")
    assert "maximum disability within 2 weeks" in quote("gbs-suspected")
    fired = [assess(GBS, d).by_rule("gbs-suspected") for d in (27, 28, 29)]
    assert [f is not None for f in fired] == [True, True, False]
    first = fired[0]
    assert first is not None and first.status == "urgent" and first.section is ng.Section.RED_FLAGS
    assert assess({**GBS, "areflexia": False, "reflexes-reduced-all-limbs": False}, 10).by_rule("gbs-suspected") is None
    (trace,) = [t for t in assess(GBS, None).record.trace if t.rule == "gbs-suspected"]
    assert trace.outcome == "undetermined" and "progression-duration" in trace.missing


def test_gbs_respiratory_is_in_review_and_an_emergency() -> None:
    # Safety policy: an emergency rule in review is evaluated and shown as not yet verified, never hidden.
    findings = {"weakness": True, "breathing-or-swallowing-difficulty": True}
    for statuses in (("approved",), ALL):
        r = assess(findings, 5, statuses).by_rule("gbs-respiratory")
        assert r is not None and r.status == "emergency" and r.section is ng.Section.RED_FLAGS
        assert r.rule_status == "in-review"
    assert assess({"weakness": True, "breathing-or-swallowing-difficulty": False}, 5).by_rule("gbs-respiratory") is None


@pytest.mark.rule("cidp-typical")
def test_cidp_at_least_8_weeks() -> None:
    assert "Developing over at least 8 weeks" in quote("cidp-typical")
    assert "Absent or reduced tendon reflexes in all limbs" in quote("cidp-typical")
    fired = [assess(CIDP, d).by_rule("cidp-typical") is not None for d in (55, 56, 57)]
    assert fired == [False, True, True]
    ankle_only = {**CIDP, "reflexes-reduced-all-limbs": False, "areflexia": True}
    assert assess(ankle_only, 90).by_rule("cidp-typical") is None
    seeds = " ".join(d.seed for d in guideline().rule("cidp-typical").deviations)
    assert "two-fold" in seeds and "areflexia" in seeds


@pytest.mark.rule("cidp-acute-onset")
def test_acute_onset_cidp_within_4_weeks() -> None:
    assert "rapidly progresses within 4 weeks" in quote("cidp-acute-onset")
    fired = [assess(CIDP, d).by_rule("cidp-acute-onset") is not None for d in (27, 28, 29)]
    assert fired == [True, True, False]


def test_subacute_course_between_4_and_8_weeks_fires_neither_time_rule() -> None:
    result = assess({**CIDP, **GBS}, 42)
    assert all(result.by_rule(r) is None for r in ("gbs-suspected", "cidp-acute-onset", "cidp-typical"))


def test_isolated_ankle_areflexia_is_not_atypical_in_ada() -> None:
    rule = ng.load_guideline("ada-neuropathy", version="2026.1").rule("atypical-referral")
    assert any("areflexia" in d.seed for d in rule.deviations)
    typical = {
        "areflexia": True,
        "acute-onset": False,
        "non-length-dependent": False,
        "asymmetric-pattern": False,
        "motor-predominant": False,
        "diagnosis-unclear": False,
    }
    patient = {"diabetes": {"type": "type-2", "diagnosed": "2012-01-01"}, "findings": typical}
    result = ng.assess(patient, as_of=DAY, guidelines=["ada-neuropathy"], statuses=ALL)
    assert result.by_rule("atypical-referral") is None
    patient["findings"] = {**typical, "asymmetric-pattern": True}
    assert ng.assess(patient, as_of=DAY, guidelines=["ada-neuropathy"], statuses=ALL).by_rule("atypical-referral")
