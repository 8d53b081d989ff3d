"""Work-up for causes other than diabetes: quotes, triggers, history items, seed deviations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import model as m

AS_OF = dt.date(2026, 11, 23)
GID = "neuropathy-workup"
VERSION = "2020.2"


def _rule(rule_id: str) -> m.Rule:
    return ng.load_guideline(GID, version=VERSION).rule(rule_id)


def _quotes(rule: m.Rule) -> str:
    return " ".join(c.quote for c in rule.citations)


def _fires(rule_id: str, patient: dict[str, Any], statuses: tuple[str, ...] = ("approved",)) -> bool:
    result = ng.assess(patient, as_of=AS_OF, guidelines=[GID], statuses=statuses)
    return result.by_rule(rule_id) is not None


@pytest.mark.rule("initial-neuropathy-labs")
def test_initial_labs_match_their_quotes() -> None:
    rule = _rule("initial-neuropathy-labs")
    assert isinstance(rule, m.WorkupRule)
    quotes = _quotes(rule)
    for test_name, quoted in [
        ("complete blood count", "complete blood count"),
        ("comprehensive metabolic profile", "comprehensive metabolic profile"),
        ("fasting blood glucose", "fasting blood glucose"),
        ("methylmalonic acid", "methylmalonic acid with or without homocysteine"),
        ("thyroid-stimulating hormone", "thyroid-stimulating hormone"),
        ("immunofixation", "serum protein electrophoresis with immunofixation"),
    ]:
        assert any(test_name in t for t in rule.tests), test_name
        assert quoted in quotes, quoted
    aan = next(c for c in rule.citations if c.source == "aan-2009")
    assert aan.grade == "C"
    assert "may be considered" in aan.quote


@pytest.mark.rule("initial-neuropathy-labs")
@pytest.mark.parametrize(("value", "fires"), [(True, True), (False, False)])
def test_initial_labs_trigger(value: bool, fires: bool) -> None:
    assert _fires("initial-neuropathy-labs", {"findings": {"polyneuropathy": value}}) is fires


def test_initial_labs_undetermined_when_neuropathy_not_recorded() -> None:
    result = ng.assess({}, as_of=AS_OF, guidelines=[GID])
    assert result.by_rule("initial-neuropathy-labs") is None
    assert "polyneuropathy" in {m_.fact for m_ in result.missing}


@pytest.mark.rule("inconclusive-workup-referral")
@pytest.mark.parametrize(("inconclusive", "fires"), [(True, True), (False, False)])
def test_inconclusive_workup_referral(inconclusive: bool, fires: bool) -> None:
    rule = _rule("inconclusive-workup-referral")
    assert isinstance(rule, m.ReferralRule)
    quotes = _quotes(rule)
    assert "referral to a neurologist for additional testing" in quotes
    # The idiopathic range in the statement is the AAFP one, not the seed's 41-48%.
    assert "25% to 46%" in quotes
    assert "25% to 46%" in rule.statement
    patient = {"findings": {"polyneuropathy": True, "workup-inconclusive": inconclusive}}
    assert _fires("inconclusive-workup-referral", patient) is fires


@pytest.mark.rule("inconclusive-workup-referral")
def test_seed_deviations_are_recorded() -> None:
    rule = _rule("inconclusive-workup-referral")
    seeds = [d.seed for d in rule.deviations]
    assert any("41-48%" in s for s in seeds)
    assert any("70-90%" in s for s in seeds)
    governs = " ".join(d.governs for d in rule.deviations)
    assert "Forty-one (48%)" in governs
    assert "1:4" in governs


@pytest.mark.rule("other-causes-in-diabetes")
@pytest.mark.parametrize(
    ("patient", "fires"),
    [
        ({"findings": {"polyneuropathy": True}, "diabetes": {"type": "type-2", "diagnosed": "2019-05-01"}}, True),
        ({"findings": {"polyneuropathy": True}}, False),
        ({"findings": {"polyneuropathy": False}, "diabetes": {"type": "type-1", "diagnosed": "2001-05-01"}}, False),
    ],
)
def test_other_causes_in_diabetes(patient: dict[str, Any], fires: bool) -> None:
    quotes = _quotes(_rule("other-causes-in-diabetes"))
    for cause in (
        "alcohol",
        "chemotherapy",
        "vitamin B12 deficiency",
        "hypothyroidism",
        "renal disease",
        "multiple myeloma",
        "HIV",
        "inherited neuropathies",
        "vasculitis",
        "diagnosis of exclusion",
    ):
        assert cause in quotes, cause
    assert _fires("other-causes-in-diabetes", patient) is fires


HISTORY = [
    pytest.param("history-alcohol", {"alcohol-excess": True}, "alcohol", marks=pytest.mark.rule("history-alcohol")),
    pytest.param(
        "history-chemotherapy", {"chemotherapy": True}, "chemotherapy", marks=pytest.mark.rule("history-chemotherapy")
    ),
    pytest.param(
        "history-family-hereditary",
        {"family-history-neuropathy": True},
        "inherited neuropathies",
        marks=pytest.mark.rule("history-family-hereditary"),
    ),
    pytest.param(
        "history-kidney-disease", {"dialysis": True}, "renal disease", marks=pytest.mark.rule("history-kidney-disease")
    ),
    pytest.param(
        "history-kidney-disease",
        {"kidney-disease": True},
        "comprehensive metabolic profile",
        marks=pytest.mark.rule("history-kidney-disease"),
    ),
    pytest.param(
        "copper-after-upper-gi-surgery",
        {"bariatric-surgery": True},
        "previous upper gastrointestinal surgery",
        marks=pytest.mark.rule("copper-after-upper-gi-surgery"),
    ),
    pytest.param(
        "copper-after-upper-gi-surgery",
        {"malabsorption": True},
        "malabsorption syndromes",
        marks=pytest.mark.rule("copper-after-upper-gi-surgery"),
    ),
]


@pytest.mark.parametrize(("rule_id", "history", "quoted"), HISTORY)
def test_history_items_change_the_workup(rule_id: str, history: dict[str, bool], quoted: str) -> None:
    assert quoted in _quotes(_rule(rule_id))
    assert _fires(rule_id, {"findings": {"polyneuropathy": True, **history}}) is True
    negated = dict.fromkeys(history, False)
    assert _fires(rule_id, {"findings": {"polyneuropathy": True, **negated}}) is False
    # The history item alone, without a neuropathy, changes nothing.
    assert _fires(rule_id, {"findings": {"polyneuropathy": False, **history}}) is False


@pytest.mark.rule("copper-after-upper-gi-surgery")
def test_copper_rule_tests_and_deviation() -> None:
    rule = _rule("copper-after-upper-gi-surgery")
    assert isinstance(rule, m.WorkupRule)
    assert rule.tests == ("serum copper", "serum caeruloplasmin")
    assert "Low serum copper and caeruloplasmin levels confirmed the diagnosis" in _quotes(rule)
    assert any("vitamin E" in d.seed for d in rule.deviations)


def test_hiv_hcv_rule_is_in_review_and_only_runs_on_request() -> None:
    rule = _rule("hiv-hcv-testing")
    assert rule.status is m.Status.IN_REVIEW
    assert rule.review_note
    patient = {"findings": {"polyneuropathy": True, "asymmetric-pattern": True}}
    assert _fires("hiv-hcv-testing", patient) is False
    assert _fires("hiv-hcv-testing", patient, statuses=("approved", "in-review")) is True
    assert "mononeuritis multiplex" in _quotes(rule)


def test_every_workup_rule_is_cited_and_verified_when_approved() -> None:
    g = ng.load_guideline(GID, version=VERSION)
    for rule in g.rules:
        assert rule.citations, rule.id
        for cite in rule.citations:
            assert cite.quote.strip()
            if rule.status is m.Status.APPROVED:
                assert cite.verification.status is not m.VerificationStatus.UNVERIFIED
