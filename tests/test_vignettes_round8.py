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
import re
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.report import render_text
from vignette_helpers import fired, red_flags

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


def _check_recommendation(rec: Any, want: dict[str, Any], where: str) -> None:
    if "status" in want:
        assert rec.status == want["status"], (where, rec.status)
    if "rule_status" in want:
        assert rec.rule_status == want["rule_status"], (where, rec.rule_status)
    for text in want.get("action_contains", ()):
        assert text.lower() in rec.action.lower(), (where, text, rec.action)
    for text in want.get("details_or_action_contain", ()):
        assert text.lower() in " ".join((rec.action, *rec.details)).lower(), (where, text, rec.action, rec.details)
    for text in want.get("reasons_contain", ()):
        assert any(text in r for r in rec.reasons), (where, text, rec.reasons)
    for text in want.get("missing_contain", ()):
        assert any(text in m for m in rec.missing), (where, text, rec.missing)
    for key in ("due", "due_by"):
        if key in want:
            assert getattr(rec, key) == dt.date.fromisoformat(want[key]), (where, key, getattr(rec, key))
    if "overdue_days" in want:
        assert rec.overdue_days == want["overdue_days"], (where, rec.overdue_days)


@pytest.mark.parametrize("name", NAMES)
def test_round8_vignette(name: str) -> None:
    expect, result = run(name)
    shown = red_flags(result)
    if "red_flags" in expect:
        wanted = expect["red_flags"]
        if wanted:
            assert set(wanted) <= set(shown), shown
            assert result.recommendations[0].section is ng.Section.RED_FLAGS
        else:
            assert shown == [], shown
    if "first" in expect:
        assert result.recommendations[0].rule == expect["first"], [r.rule for r in result.recommendations[:3]]
    if "first_status" in expect:
        assert result.recommendations[0].status == expect["first_status"], result.recommendations[0]
    for rule, want in expect.get("fired", {}).items():
        rec = result.by_rule(rule)
        assert rec is not None, f"{rule} did not fire"
        _check_recommendation(rec, want, rule)
    if "fired_any" in expect:
        want = dict(expect["fired_any"])
        rules = want.pop("rules")
        recs = [r for r in result.recommendations if r.rule in rules]
        assert recs, f"none of {rules} fired"
        _check_recommendation(recs[0], want, recs[0].rule)
    for rule in expect.get("not_fired", ()):
        assert not fired(result, rule), rule
    for fact, value in expect.get("facts", {}).items():
        assert result.record.facts.get(fact) == value, (fact, result.record.facts.get(fact))
    for fact, (value, tolerance) in expect.get("facts_approx", {}).items():
        assert result.record.facts[fact] == pytest.approx(value, abs=tolerance), fact
    if expect.get("urgent_missing_empty"):
        assert result.urgent_missing == (), result.urgent_missing
    if "urgent_missing_include" in expect:
        assert set(expect["urgent_missing_include"]) <= set(result.urgent_missing), result.urgent_missing
    if expect.get("urgent_missing_first_in_report"):
        # The questions that could raise an urgent flag lead the report's list of what is missing.
        text = render_text(result)
        section = text[text.index("What is missing") : text.index("Guideline versions used")]
        items = [" ".join(item.split()) for item in section.split("\n   - ")[1:]]
        tags = [re.findall(r"\[([a-z0-9-]+(?:- [a-z0-9-]+)*)\]", item)[0].replace("- ", "-") for item in items]
        assert tags and all(tag in result.urgent_missing for tag in tags), tags
    if expect.get("report_names_every_urgent_question"):
        # Even when the list is cut short, every question that could rule out an urgent problem is named.
        text = render_text(result)
        section = " ".join(text[text.index("What is missing") : text.index("Guideline versions used")].split())
        for fact in result.urgent_missing:
            assert fact in section.replace("- ", "-"), fact
    if "asked_before" in expect:
        # Questions an emergency rule needs are asked before those only an urgent rule needs.
        first, then = expect["asked_before"]
        order = list(result.urgent_missing)
        assert max(order.index(f) for f in first) < min(order.index(f) for f in then), order


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
