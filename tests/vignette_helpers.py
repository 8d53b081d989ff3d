"""What the vignette tests read from an assessment: shared by every round of clinical vignettes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.report import render_text


def fired(result: Any, rule: str) -> bool:
    """Whether the rule produced a recommendation."""
    return result.by_rule(rule) is not None


def status(result: Any, rule: str) -> str | None:
    """The status of the rule's recommendation, or None when it did not fire."""
    rec = result.by_rule(rule)
    return None if rec is None else str(rec.status)


def red_flags(result: Any) -> list[str]:
    """The rules shown under red flags, in report order."""
    return [r.rule for r in result.section(ng.Section.RED_FLAGS)]


def pattern(result: Any) -> str | None:
    """The first presentation pattern named in the categories section."""
    patterns = [r.rule for r in result.section(ng.Section.CATEGORIES) if r.rule.startswith("pattern-")]
    return patterns[0] if patterns else None


def check_recommendation(rec: Any, want: dict[str, Any], where: str) -> None:
    """Assert one recommendation against a vignette's expectation for it (each round allows its own keys)."""
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


def summary_text(result: Any) -> str:
    """The report's summary, on one line."""
    text = render_text(result)
    return " ".join(text[text.index("Summary") : text.index("1. ")].split())


def missing_section(result: Any) -> str:
    """The report's "What is missing" section (with the notes after it, up to the guideline versions)."""
    text = render_text(result)
    return text[text.index("What is missing") : text.index("Guideline versions used")]


def check_expect(result: Any, expect: dict[str, Any]) -> None:
    """Assert an assessment against a vignette's ``expect`` (each round allows its own keys)."""
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
        check_recommendation(rec, want, rule)
    if "fired_any" in expect:
        want = dict(expect["fired_any"])
        rules = want.pop("rules")
        recs = [r for r in result.recommendations if r.rule in rules]
        assert recs, f"none of {rules} fired"
        check_recommendation(recs[0], want, recs[0].rule)
    for rule in expect.get("not_fired", ()):
        assert not fired(result, rule), rule
    for rule, texts in expect.get("not_fired_text", {}).items():
        # The rule may report a result, but not the named band.
        rec = result.by_rule(rule)
        if rec is not None:
            words = " ".join((rec.action, *rec.details)).lower()
            assert not any(re.search(rf"\b{re.escape(t)}\b", words) for t in texts), (rule, rec.action)
    for fact, value in expect.get("facts", {}).items():
        assert result.record.facts.get(fact) == value, (fact, result.record.facts.get(fact))
    for fact, (value, tolerance) in expect.get("facts_approx", {}).items():
        assert result.record.facts[fact] == pytest.approx(value, abs=tolerance), fact
    if expect.get("urgent_missing_empty"):
        assert result.urgent_missing == (), result.urgent_missing
    if "urgent_missing_include" in expect:
        assert set(expect["urgent_missing_include"]) <= set(result.urgent_missing), result.urgent_missing
    for text in expect.get("summary_contains", ()):
        assert text in summary_text(result), summary_text(result)
    for text in expect.get("summary_not_contains", ()):
        assert text not in summary_text(result), summary_text(result)
    for text in expect.get("missing_labels_contain", ()):
        assert any(text in m.label for m in result.missing), [m.label for m in result.missing]
        assert text in " ".join(missing_section(result).split()), text
    if expect.get("urgent_missing_first_in_report"):
        # The questions that could raise an urgent flag lead the report's list of what is missing.
        items = [" ".join(item.split()) for item in missing_section(result).split("\n   - ")[1:]]
        tags = [re.findall(r"\[([a-z0-9-]+(?:- [a-z0-9-]+)*)\]", item)[0].replace("- ", "-") for item in items]
        assert tags and all(tag in result.urgent_missing for tag in tags), tags
    if expect.get("report_names_every_urgent_question"):
        # Even when the list is cut short, every question that could rule out an urgent problem is named.
        section = " ".join(missing_section(result).split()).replace("- ", "-")
        for fact in result.urgent_missing:
            assert fact in section, fact
    if "asked_before" in expect:
        # Questions an emergency rule needs are asked before those only an urgent rule needs.
        first, then = expect["asked_before"]
        order = list(result.urgent_missing)
        assert max(order.index(f) for f in first) < min(order.index(f) for f in then), order
