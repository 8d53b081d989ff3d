"""Clinical vignettes, round 8: drugs in the neurotoxicity table, screening dates, foot and PAD edges, OH and pain
treatment, renal dosing, the work-up, missing inputs and the presentations that must (not) raise a red flag.

Each file in tests/data/vignettes/round8/ holds the patient, the evaluation date, the primary sources with their
locators and what they say, and what the tool must and must not output (``expect``). The expected values were
written from the sources named in the file, never read from the guideline files or from the tool's output. The
checks below only interpret ``expect``; the few that need more than that follow at the end.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.report import render_text
from vignette_helpers import check_expect

ROUND8 = Path(__file__).parent / "data" / "vignettes" / "round8"
NAMES = sorted(p.stem for p in ROUND8.glob("*.json"))
# The keys an expectation may use: an unknown key is a typo in a vignette, not a check that passes silently.
KEYS = {
    "red_flags", "first", "first_status", "fired", "fired_any", "not_fired", "facts", "facts_approx",
    "urgent_missing_include", "urgent_missing_first_in_report", "urgent_missing_empty",
    "report_names_every_urgent_question", "asked_before",
}  # fmt: skip
FIRED_KEYS = {
    "status", "rule_status", "action_contains", "details_or_action_contain", "reasons_contain", "missing_contain",
    "due", "due_by", "overdue_days",
}  # fmt: skip


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROUND8 / f"{name}.json").read_text(encoding="utf-8"))
    return data


def run(name: str) -> tuple[dict[str, Any], Any]:
    data = load(name)
    statuses = tuple(data.get("statuses", ("approved",)))
    result = ng.assess(
        ng.Patient.from_dict(data["patient"]), as_of=dt.date.fromisoformat(data["as_of"]), statuses=statuses
    )
    return data["expect"], result


def test_every_round8_vignette_names_its_sources_and_expectations() -> None:
    assert len(NAMES) >= 25
    for name in NAMES:
        data = load(name)
        assert data["patient"]["id"] == name
        assert data["sources"] and all(s["source"] and s["locator"] and s["says"] for s in data["sources"]), name
        assert set(data["expect"]) <= KEYS, (name, set(data["expect"]) - KEYS)
        for rule, want in data["expect"].get("fired", {}).items():
            assert set(want) <= FIRED_KEYS, (name, rule, set(want) - FIRED_KEYS)


@pytest.mark.parametrize("name", NAMES)
def test_round8_vignette(name: str) -> None:
    expect, result = run(name)
    check_expect(result, expect)


@pytest.mark.parametrize("name", [n for n in NAMES if load(n)["expect"].get("red_flags")])
def test_round8_red_flags_in_review_are_shown_as_not_yet_verified(name: str) -> None:
    _, result = run(name)
    text = render_text(result)
    for rec in result.section(ng.Section.RED_FLAGS):
        assert rec.status in ("emergency", "urgent")
        if rec.rule_status == "in-review":
            assert "NOT YET VERIFIED" in text


def test_what_an_emergency_rule_needs_is_asked_before_what_only_an_urgent_rule_needs() -> None:
    # Nothing but a name recorded: the cauda equina, MSCC and cord questions (emergencies) lead; the B12 levels,
    # which only the urgent B12-myelopathy rule needs (and only with cord signs), come after them.
    result = ng.assess(ng.Patient.from_dict({"id": "nothing-recorded"}), as_of=dt.date(2026, 11, 30))
    emergency = {
        r.id
        for g in (ng.load_guideline(gid) for gid in ("presentation-pattern", "inflammatory-neuropathy", "iwgdf-foot"))
        for r in g.rules
        if getattr(r, "urgency", None) == "emergency"
    }
    needed = {m.fact: set(m.needed_by) for m in result.missing}
    flags = [not emergency.isdisjoint(needed[f]) for f in result.urgent_missing]
    assert flags == sorted(flags, reverse=True), list(zip(result.urgent_missing, flags, strict=True))
    assert flags[0] and not flags[-1]
    assert result.urgent_missing.index("urinary-retention") < result.urgent_missing.index("b12-total")
