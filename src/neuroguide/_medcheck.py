"""Medication rules in ``assess``: neurotoxic drugs taken, and dose problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence

import attrs

from . import model as m
from ._agents import names_agent
from ._criteria import FactValue
from .patient import Medication, Patient
from .results import NOT_FIRED, RuleOutcome, RuleResult, recommendation
from .results import RecommendationStatus as S
from .units import Quantity, format_quantity, unit_symbol

__all__ = ["READS", "evaluate", "medications_key"]

READS = ("crcl", "dialysis", "age", "weight", "serum-creatinine", "sex", "height")
"""Every fact a medication rule's result depends on, besides the medication list and the date: CrCl and
dialysis (dose checks), the inputs of CrCl and height (the dosing-weight view) and height and weight
(body-surface area of a cumulative dose). A test holds the checks to these facts."""


def medications_key(meds: Sequence[Medication]) -> Hashable:
    """A key equal for two medication lists exactly when every entry reads alike to the medication rules.

    Each entry's part is worked out once per entry (an entry is immutable): its fields, with each quantity as
    its type, its number's type, its unit and its text (short and exact), so 1000 mg and 1 g, equal as
    quantities, differ here, as the verdicts' text does.
    """
    return tuple(map(_entry_key, meds))


def _entry_key(med: Medication) -> Hashable:
    hit = _ENTRIES.get(id(med))
    if hit is not None and hit[0] is med:
        return hit[1]
    key = (
        med.agent,
        _quantity_key(med.dose),
        med.per,
        med.route,
        med.started,
        med.stopped,
        _quantity_key(med.cumulative),
        med.indication,
    )
    if len(_ENTRIES) >= 4096:
        _ENTRIES.clear()
    _ENTRIES[id(med)] = (med, key)
    return key


def _quantity_key(q: Quantity | None) -> Hashable:
    if q is None:
        return None
    if type(q) is not Quantity:
        return object()  # a quantity of another kind: equal only to itself (the entry's key is kept per entry)
    return (type(q.magnitude), q.magnitude, unit_symbol(q), format_quantity(q), format_quantity(q, exact=True))


# By id() of the entry, with the entry kept beside its key so the id cannot be reused while it lives.
_ENTRIES: dict[int, tuple[Medication, Hashable]] = {}


def evaluate(
    rule: m.DosingRule | m.NeurotoxicityRule,
    g: m.Guideline,
    patient: Patient,
    facts: dict[str, FactValue],
    as_of: dt.date,
) -> RuleResult:
    """Evaluate a neurotoxicity entry or a dosing rule against the medication list."""
    if not patient.medications:
        return NOT_FIRED
    # Neurotoxicity counts current and past exposure; dose checks only what is taken on as_of.
    taken = [med for med in patient.medications if names_agent(rule, med.agent) and med.taken_by(as_of)]
    if not taken:
        return NOT_FIRED
    if isinstance(rule, m.NeurotoxicityRule):
        # Imported here, as dosing below: an assessment of a patient who takes none of the drugs never loads them.
        from .neurotox import exposure_check

        recs = []
        missing: list[str] = []
        for med in taken:
            check = exposure_check(rule, med, patient, facts, as_of)
            missing.extend(check.missing)
            given: tuple[str, ...] = ()
            if med.dose is not None and rule.cumulative_threshold is None and rule.duration_threshold is None:
                # The dose is the only exposure given and the entry has no number to compare it with: shown, not
                # dropped (no source gives a plausible range for it either).
                given = (f"dose {format_quantity(med.dose)} per {med.per or 'dose'}: not compared automatically: "
                         "this entry encodes no dose threshold; read the caution's figures",)  # fmt: skip
            recs.append(
                recommendation(
                    rule,
                    g,
                    action=_neurotox_action(rule, check.past_threshold),
                    status=S.FLAGGED if check.past_threshold else S.CAUTION,
                    reasons=(f"takes {med.agent}", *given, *check.reasons),
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
            outcome=RuleOutcome.FIRED,
            leaves=(f"TRUE: takes {rule.agent}",),
            missing=tuple(dict.fromkeys(missing)),
            recommendations=tuple(recs),
        )
    from .dosing import medication_verdicts

    current = [med for med in taken if med.active_on(as_of)]
    recs = []
    dose_missing: list[str] = []
    for med, verdict in medication_verdicts(rule, current, facts, guideline=g):
        if verdict.ok and not verdict.duplicate and not verdict.missing:
            # A single entry within range needs no action; duplicate therapy always does, and so does a dose
            # within range whose use depends on a fact not known (duloxetine without CrCl: avoid below 30).
            continue
        dose_missing.extend(verdict.missing)
        details = [f"expected: {verdict.expected}"]
        if verdict.renal_band and verdict.dialysis_row:
            # chosen by dialysis, not by a CrCl (which may be far above the row's edge)
            details.append(f"renal band: on dialysis: the CrCl {verdict.renal_band} mL/min row")
        elif verdict.renal_band:
            basis = f" (CrCl from {verdict.crcl_basis})" if verdict.crcl_basis not in (None, "given") else ""
            details.append(f"renal band: CrCl {verdict.renal_band} mL/min{basis}")
        details.extend(f"note: {n}" for n in verdict.notes)
        reasons = verdict.duplicate or (f"{med.agent} {verdict.given}",)
        rec = recommendation(
            rule,
            g,
            action=verdict.message,
            status=S(verdict.verdict.value),
            reasons=reasons,
            missing=tuple(verdict.missing),
            details=tuple(details),
        )
        if verdict.indication_open:  # the rule's title names its indication, which was not decided
            rec = attrs.evolve(rec, title=f"{rule.agent.capitalize()}, indication not given: renal dose table")
        recs.append(rec)
    outcome = RuleOutcome.FIRED if recs else RuleOutcome.NOT_FIRED
    return RuleResult(
        outcome=outcome,
        leaves=(f"TRUE: takes {rule.agent}",),
        missing=tuple(dict.fromkeys(dose_missing)),
        recommendations=tuple(recs),
    )


def _neurotox_action(rule: m.NeurotoxicityRule, past: bool | None) -> str:
    """The rule's action, except below (or not known to be past) a threshold it is worded for."""
    if past or (rule.cumulative_threshold is None and rule.duration_threshold is None):
        return rule.action
    kind = f"{rule.title}, a neurotoxic {rule.drug_class}"
    if past is False:
        return f"{kind}: exposure is not past the cited threshold (see below); the flag applies only above it."
    return f"{kind}: whether exposure is past the cited threshold is not known; give the missing inputs below."
