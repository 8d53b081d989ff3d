"""Treatment and safety-caution rules (AAN 2022, thiamine/glucose, orthostatic-hypotension drugs) via assess()."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import model as m

AS_OF = dt.date(2026, 11, 23)
DIABETES = {"type": "type-2", "diagnosed": "2015-03-01"}


def fired(patient: dict[str, Any], rule_id: str) -> ng.Recommendation | None:
    """The recommendation ``rule_id`` gives ``patient`` on AS_OF, if any."""
    return ng.assess(patient, as_of=AS_OF).by_rule(rule_id)


def outcome(patient: dict[str, Any], rule_id: str) -> str:
    """The trace outcome of ``rule_id`` (fired / not-fired / undetermined)."""
    result = ng.assess(patient, as_of=AS_OF)
    return next(t.outcome for t in result.record.trace if t.rule == rule_id)


def rule(guideline: str, rule_id: str) -> m.Rule:
    """A rule of the latest version of ``guideline``."""
    return ng.load_guideline(guideline).rule(rule_id)


# -- AAN 2022 -------------------------------------------------------------------------------------------


@pytest.mark.rule("pdn-initial-classes")
def test_pdn_initial_classes_unranked() -> None:
    r = rule("pdn-treatment", "pdn-initial-classes")
    assert isinstance(r, m.TreatmentRule)
    quote = r.citations[0].quote
    for cls in ("TCAs", "SNRIs", "gabapentinoids", "sodium channel blockers"):
        assert cls in quote
    assert r.citations[0].grade == "Level B" and "(Level B)" in quote
    assert len(r.options) == 4 and r.deviations and "without ranking" in r.deviations[0].governs
    rec = fired({"diabetes": DIABETES, "findings": {"painful-diabetic-neuropathy": True}}, "pdn-initial-classes")
    assert rec is not None and rec.status == "fires"
    assert any("not FDA-labelled for DPN" in d for d in rec.details)
    assert (
        fired({"diabetes": DIABETES, "findings": {"painful-diabetic-neuropathy": False}}, "pdn-initial-classes") is None
    )
    assert fired({"findings": {"painful-diabetic-neuropathy": True}}, "pdn-initial-classes") is None  # no diabetes
    assert outcome({"diabetes": DIABETES}, "pdn-initial-classes") == "undetermined"


@pytest.mark.rule("pdn-switch-class")
def test_pdn_switch_class_after_failure() -> None:
    r = rule("pdn-treatment", "pdn-switch-class")
    assert "trial of medication from a different effective class" in r.citations[0].quote
    base = {"diabetes": DIABETES, "findings": {"painful-diabetic-neuropathy": True}}
    failed = {"diabetes": DIABETES, "findings": {"painful-diabetic-neuropathy": True, "pdn-initial-class-failed": True}}
    ok = {"diabetes": DIABETES, "findings": {"painful-diabetic-neuropathy": True, "pdn-initial-class-failed": False}}
    assert fired(failed, "pdn-switch-class") is not None
    assert fired(ok, "pdn-switch-class") is None
    assert outcome(base, "pdn-switch-class") == "undetermined"


@pytest.mark.rule("pdn-no-opioids")
def test_pdn_no_opioids() -> None:
    r = rule("pdn-treatment", "pdn-no-opioids")
    assert isinstance(r, m.TreatmentRule)
    assert "not use opioids" in r.citations[0].quote and r.citations[0].grade == "Level B"
    assert r.avoid == ("opioids",) and r.options == ()
    rec = fired({"diabetes": DIABETES, "findings": {"painful-diabetic-neuropathy": True}}, "pdn-no-opioids")
    assert rec is not None and "avoid: opioids" in rec.details


# -- thiamine before glucose, never delaying glucose ------------------------------------------------------


@pytest.mark.rule("thiamine-before-glucose")
def test_thiamine_before_glucose_with_the_hypoglycaemia_exception() -> None:
    r = rule("thiamine", "thiamine-before-glucose")
    assert isinstance(r, m.CautionRule)
    assert "before any carbohydrate" in r.citations[0].quote and r.citations[0].grade == "Level C"
    assert "a delay in giving glucose to hypoglycemic patients cannot be recommended" in r.citations[1].quote
    assert r.exception and "never withheld" in r.exception
    assert r.deviations and "never be delayed" in r.deviations[0].governs
    assert "suspected or manifest WE" in r.citations[0].quote
    rec = fired({"findings": {"suspected-wernicke": True}}, "thiamine-before-glucose")
    assert rec is not None and any("never withheld" in d for d in rec.details)
    none = {"findings": {"suspected-wernicke": False, "thiamine-deficiency-risk": False}}
    assert fired(none, "thiamine-before-glucose") is None
    assert outcome({}, "thiamine-before-glucose") == "undetermined"


@pytest.mark.rule("thiamine-before-glucose")
@pytest.mark.parametrize("risk", ["bariatric-surgery", "alcohol-excess", "malabsorption", "persistent-vomiting"])
def test_thiamine_before_glucose_scoped_to_suspected_wernicke(risk: str) -> None:
    """EFNS rec 5 concerns 'suspected or manifest WE': an outpatient with a risk factor alone gets no caution."""
    outpatient = {"findings": {risk: True, "suspected-wernicke": False, "numbness": True}}
    assert fired(outpatient, "thiamine-before-glucose") is None
    suspected = {"findings": {risk: True, "suspected-wernicke": True}}
    assert fired(suspected, "thiamine-before-glucose") is not None
    old = ng.assess(outpatient, as_of=AS_OF, pins={"thiamine": "2012.1"}).by_rule("thiamine-before-glucose")
    assert old is not None  # the superseded 2012.1 scope, kept for replay


@pytest.mark.rule("glucose-not-delayed-hypoglycaemia")
def test_glucose_is_never_blocked_in_hypoglycaemia() -> None:
    r = rule("thiamine", "glucose-not-delayed-hypoglycaemia")
    assert "prompt thiamine supplementation after or concurrent" in r.citations[0].quote
    hypo = {"findings": {"hypoglycaemia": True, "suspected-wernicke": True}}
    rec = fired(hypo, "glucose-not-delayed-hypoglycaemia")
    assert rec is not None and "glucose now" in rec.action
    # Both cautions fire together: the ordering advice never stands alone when the patient is hypoglycaemic.
    assert fired(hypo, "thiamine-before-glucose") is not None
    assert (
        fired({"findings": {"hypoglycaemia": False, "suspected-wernicke": True}}, "glucose-not-delayed-hypoglycaemia")
        is None
    )
    assert (
        fired(
            {"findings": {"hypoglycaemia": True, "suspected-wernicke": False, "thiamine-deficiency-risk": False}},
            "glucose-not-delayed-hypoglycaemia",
        )
        is None
    )


# -- orthostatic hypotension ------------------------------------------------------------------------------


@pytest.mark.rule("midodrine-supine-hypertension")
def test_midodrine_boxed_warning() -> None:
    r = rule("oh-treatment", "midodrine-supine-hypertension")
    assert "marked elevation of supine blood pressure" in r.citations[0].quote
    assert "have not been verified" in r.citations[0].quote
    assert r.citations[0].verification.status is m.VerificationStatus.PRIMARY
    assert fired({"findings": {"on-midodrine": True}}, "midodrine-supine-hypertension") is not None
    assert fired({"findings": {"on-midodrine": False}}, "midodrine-supine-hypertension") is None


@pytest.mark.rule("droxidopa-supine-hypertension")
def test_droxidopa_boxed_warning() -> None:
    r = rule("oh-treatment", "droxidopa-supine-hypertension")
    assert r.citations[0].quote.startswith("WARNING: SUPINE HYPERTENSION")
    rec = fired({"findings": {"on-droxidopa": True}}, "droxidopa-supine-hypertension")
    assert rec is not None and "supine" in rec.action
    assert fired({"findings": {"on-droxidopa": False}}, "droxidopa-supine-hypertension") is None


@pytest.mark.rule("droxidopa-not-diabetic-an")
def test_droxidopa_is_off_label_in_diabetes() -> None:
    r = rule("oh-treatment", "droxidopa-not-diabetic-an")
    assert "non-diabetic autonomic neuropathy" in r.citations[0].quote
    assert "beyond 2 weeks" in r.citations[0].quote
    assert fired({"diabetes": DIABETES, "findings": {"on-droxidopa": True}}, "droxidopa-not-diabetic-an") is not None
    assert fired({"findings": {"on-droxidopa": True}}, "droxidopa-not-diabetic-an") is None  # no diabetes
    assert fired({"diabetes": DIABETES, "findings": {"on-droxidopa": False}}, "droxidopa-not-diabetic-an") is None


def test_duloxetine_renal_limit_concerns_only_people_taking_duloxetine() -> None:
    """drug-dosing 2026.2 replaced the in-review caution (which fired on CrCl alone) by duloxetine's renal row."""
    patient = {"measurements": {"crcl": "29 mL/min"}}
    result = ng.assess(patient, as_of=AS_OF, statuses=("approved", "in-review"))
    assert result.by_rule("duloxetine-severe-renal") is None
    taking = {**patient, "medications": [{"agent": "duloxetine", "dose": "60 mg", "per": "day"}]}
    rec = ng.assess(taking, as_of=AS_OF).by_rule("duloxetine-dpnp")
    assert rec is not None and rec.status == "avoid"
