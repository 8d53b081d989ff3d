"""One action key groups both the text report's items and the CDS Hooks cards (issue 18); the record keeps each rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import attrs
import pytest

import neuroguide as ng
from neuroguide import _actions
from neuroguide.api import list_guidelines, load_guideline
from neuroguide.report import _grouped
from neuroguide.results import Assessment, RecommendationStatus, Section
from test_report_grouping import PATIENT  # due all three PAD screenings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AS_OF = dt.date(2026, 11, 23)
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))
QUIET = {RecommendationStatus.SCHEDULED, RecommendationStatus.WITHIN_RANGE}


def report_groups(result: Assessment) -> list[frozenset[str]]:
    shown, absorbed = _grouped(result)
    return [
        frozenset({lead.rule, *(r.rule for r in absorbed.get(id(lead), []))})
        for items in shown.values()
        for lead in items
    ]


def card_groups(result: Assessment) -> list[frozenset[str]]:
    """Each card's rules; a card shared by a report section is split back into the report's groups it lists."""
    service = pytest.importorskip("neuroguide.service", reason="needs the service extra")
    cards = service.cards_for(result, "record", "http://127.0.0.1")
    groups = report_groups(result)
    out: list[frozenset[str]] = []
    for card in cards:
        rules = frozenset(r["rule"] for r in card["extension"][service.AUDIT_EXTENSION]["rules"])
        if not rules:
            continue  # the urgent-checks and FHIR-notes cards name no rule
        if ":section:" in _shared(service, card):
            inside = [g for g in groups if g <= rules]
            assert frozenset().union(*inside) == rules and len(inside) >= 2  # whole groups only
            out += inside
        else:
            out.append(rules)
    return out


def _shared(service: Any, card: dict[str, Any]) -> str:
    for section in Section:
        if card["uuid"] == service._uuid5(f"neuroguide:record:section:{section.value}"):
            return f":section:{section.value}"
    return ""


def assessed(name: str) -> Assessment:
    if name == "pad-screening-patient":
        return ng.assess(PATIENT, as_of=dt.date(2026, 11, 30))
    return ng.assess(ng.Patient.from_json(EXAMPLES / f"{name}.json"), as_of=AS_OF)


@pytest.mark.parametrize("name", [*NAMES, "pad-screening-patient"])
def test_report_items_and_cards_group_identically(name: str) -> None:
    result = assessed(name)
    by_rule = {r.rule: r for r in result.recommendations}
    expected = [g for g in report_groups(result) if any(by_rule[rule].status not in QUIET for rule in g)]
    assert sorted(card_groups(result), key=sorted) == sorted(expected, key=sorted)
    # grouping is presentation only: every rule that fired is in exactly one group
    assert sorted(rule for g in report_groups(result) for rule in g) == sorted(by_rule)


def test_the_pad_screenings_are_one_card_naming_each_rule() -> None:
    result = ng.assess(PATIENT, as_of=dt.date(2026, 11, 30))
    rules = frozenset({"pad-screening", "pad-screening-duration", "arterial-screening-interval"})
    assert rules in card_groups(result)
    assert rules in report_groups(result)
    service = pytest.importorskip("neuroguide.service", reason="needs the service extra")
    card = next(c for c in service.cards_for(result, "r", "http://h") if "`pad-screening`" in c["detail"])
    assert card["summary"].endswith("(due now)")  # the rule that is due leads the card
    for rule in rules:  # each rule is named, the others with their own state and action
        assert f"(rule `{rule}`," in card["detail"]
    assert "Consider: Consider screening for PAD" in card["detail"]


def test_same_action_text_is_one_action_whatever_the_case_and_spacing() -> None:
    result = ng.assess(PATIENT, as_of=dt.date(2026, 11, 30))
    rec = next(r for r in result.recommendations if r.rule not in _actions.same_action())
    twin = attrs.evolve(rec, rule="another-rule", action="  " + rec.action.upper().replace(" ", "  "))
    assert _actions.action_key(twin) == _actions.action_key(rec)


def test_every_listed_rule_exists_in_a_guideline() -> None:
    known = {rule.id for info in list_guidelines() for rule in load_guideline(info.id).rules}
    listed = set(_actions.same_action())
    assert listed and listed <= known
