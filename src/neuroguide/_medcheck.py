"""Medication rules in ``assess``: neurotoxic drugs taken, and dose problems."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from . import model as m
from ._criteria import FactValue
from .patient import Medication, Patient

if TYPE_CHECKING:
    from ._kinds import RuleResult

__all__ = ["agent_names", "evaluate", "matches"]


def agent_names(rule: m.DosingRule | m.NeurotoxicityRule) -> frozenset[str]:
    """The lower-case names a medication list may use for the rule's drug (and its RxNorm code, if verified)."""
    names = {rule.agent.lower(), *(s.lower() for s in rule.synonyms)}
    if isinstance(rule, m.NeurotoxicityRule) and rule.rxnorm.isdigit():
        names.add(rule.rxnorm)
    return frozenset(names)


def matches(rule: m.DosingRule | m.NeurotoxicityRule, med: Medication) -> bool:
    """True if the medication names the rule's agent or one of its synonyms."""
    return med.agent.lower() in agent_names(rule)


def evaluate(
    rule: m.DosingRule | m.NeurotoxicityRule,
    g: m.Guideline,
    patient: Patient,
    facts: dict[str, FactValue],
    as_of: dt.date,
) -> RuleResult:
    """Evaluate a neurotoxicity entry or a dosing rule against the medication list."""
    from ._kinds import _NOT_FIRED, RuleResult, _rec

    if not patient.medications:
        return _NOT_FIRED
    taken = [med for med in patient.medications if matches(rule, med) and (med.stopped is None or med.stopped <= as_of)]
    if not taken:
        return _NOT_FIRED
    if isinstance(rule, m.NeurotoxicityRule):
        from .neurotox import exposure_check

        recs = []
        missing: list[str] = []
        for med in taken:
            check = exposure_check(rule, med, patient, facts, as_of)
            missing.extend(check.missing)
            recs.append(
                _rec(
                    rule,
                    g,
                    action=rule.action,
                    status="flagged" if check.past_threshold else "caution",
                    reasons=(f"takes {med.agent}", *check.reasons),
                    missing=tuple(check.missing),
                    details=(
                        f"class: {rule.drug_class}",
                        f"phenotype: {rule.phenotype}",
                        f"onset: {rule.onset}",
                        f"reversibility: {rule.reversibility}",
                    ),
                )
            )
        return RuleResult(
            outcome="fired",
            leaves=(f"TRUE: takes {rule.agent}",),
            missing=tuple(dict.fromkeys(missing)),
            recommendations=tuple(recs),
        )
    from .dosing import medication_verdicts

    # Dose checks concern what the patient takes now: a medication stopped on or before as_of is skipped.
    current = [med for med in taken if med.stopped is None or med.stopped > as_of]
    recs = []
    dose_missing: list[str] = []
    for med, verdict in medication_verdicts(rule, current, facts, guideline=g):
        if verdict.ok:
            continue
        dose_missing.extend(verdict.missing)
        details = [f"expected: {verdict.expected}"]
        if verdict.renal_band:
            details.append(f"renal band: CrCl {verdict.renal_band} mL/min")
        details.extend(f"note: {n}" for n in verdict.notes)
        recs.append(
            _rec(
                rule,
                g,
                action=verdict.message,
                status=verdict.verdict.value,
                reasons=(f"{med.agent} {verdict.given}",),
                missing=tuple(verdict.missing),
                details=tuple(details),
            )
        )
    outcome = "fired" if recs else "not-fired"
    return RuleResult(
        outcome=outcome,
        leaves=(f"TRUE: takes {rule.agent}",),
        missing=tuple(dict.fromkeys(dose_missing)),
        recommendations=tuple(recs),
    )
