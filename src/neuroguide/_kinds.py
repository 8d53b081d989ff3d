"""Per-kind evaluation of one rule against the fact table."""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from . import _medcheck
from . import model as m
from ._bands import band_of, band_of_limit, describe_edges
from ._criteria import FactValue, decide, explain, facts_in
from ._numeric import Bound, clean
from ._numeric import shown as shown_number
from ._vocabulary import vocabulary
from .patient import Patient
from .results import NOT_FIRED, RuleOutcome, RuleResult, recommendation
from .results import RecommendationStatus as S
from .units import magnitude, quantity

__all__ = ["UNDECIDED", "Schedule", "evaluate_rule", "reads", "schedule"]

_OUTCOME = {True: RuleOutcome.FIRED, False: RuleOutcome.NOT_FIRED, None: RuleOutcome.UNDETERMINED}


class _Undecided(enum.Enum):
    """The gate has not been evaluated yet (the default of ``evaluate_rule``)."""

    TOKEN = enum.auto()


UNDECIDED = _Undecided.TOKEN


def evaluate_rule(
    rule: m.Rule,
    g: m.Guideline,
    patient: Patient,
    facts: dict[str, FactValue],
    as_of: dt.date,
    gate: bool | _Undecided | None = UNDECIDED,
) -> RuleResult:
    """Evaluate one rule; classifications also add their label to ``facts``.

    ``gate`` is the result of the rule's ``when`` / ``applies`` criterion if the
    caller has already decided it (the planner does, to skip most rules cheaply):
    it is then not decided again, only explained.
    """
    if isinstance(rule, m.ScreeningRule):
        return _screening(rule, g, facts, as_of, gate)
    if isinstance(rule, m.ClassificationRule):
        return _classification(rule, g, facts)
    if isinstance(rule, m.DosingRule | m.NeurotoxicityRule):
        return _medcheck.evaluate(rule, g, patient, facts, as_of)
    if gate is UNDECIDED:
        gate = decide(rule.when, facts)
    if gate is False:
        return NOT_FIRED  # the common case: skip building the explanation
    outcome = explain(rule.when, facts)
    result = RuleResult(outcome=_OUTCOME[outcome.result], leaves=outcome.lines, missing=outcome.missing)
    if outcome.result is not True:
        return result
    if isinstance(rule, m.TreatmentRule):
        details = tuple(f"option: {o}" for o in rule.options) + tuple(f"avoid: {a}" for a in rule.avoid)
        action = rule.action
    elif isinstance(rule, m.CautionRule):
        details = (f"exception: {rule.exception}",) if rule.exception else ()
        action = rule.caution
    elif isinstance(rule, m.WorkupRule):
        details = tuple(f"test: {t}" for t in rule.tests)
        action = rule.action
    elif isinstance(rule, m.ReferralRule):
        details = (f"refer to: {rule.to}", f"urgency: {rule.urgency}")
        action = rule.action
    elif isinstance(rule, m.ConsiderationRule) and rule.pattern is not None:
        details = (f"pattern: {rule.pattern}",)
        action = rule.action
    else:
        details = ()
        action = rule.action
    status = S.FIRES
    if isinstance(rule, m.ReferralRule) and rule.urgency in (m.Urgency.EMERGENCY, m.Urgency.URGENT):
        status = S(rule.urgency)
    elif isinstance(rule, m.ConsiderationRule) and rule.pattern is not None:
        status = S.PATTERN
    rec = recommendation(rule, g, action=action, status=status, reasons=outcome.reasons, details=details)
    return RuleResult(outcome=RuleOutcome.FIRED, leaves=outcome.lines, recommendations=(rec,))


def reads(rule: m.Rule) -> tuple[str, ...]:
    """Every fact ``evaluate_rule`` reads for ``rule`` (not medication rules: they also read the medication list).

    The result of a rule is a function of these facts' values and the date alone.
    """
    if isinstance(rule, m.DosingRule | m.NeurotoxicityRule):
        raise TypeError(f"{rule.id}: a medication rule also depends on the medication list")
    names: list[str] = []
    for attr in ("when", "applies"):
        c = getattr(rule, attr, None)
        if c is not None:
            names.extend(facts_in(c))
    if isinstance(rule, m.ScreeningRule):
        for sp in rule.start:
            names.extend(facts_in(sp.when))
            names.append(sp.anchor)
        for th in rule.intervals:
            names.extend(facts_in(th.when))
        names.append(rule.last_done)
    if isinstance(rule, m.ClassificationRule):
        names.append(rule.fact)
    return tuple(dict.fromkeys(names))


# -- screening -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Schedule:
    """When a screening is next due: window start, latest date, and state on ``as_of``."""

    due: dt.date
    latest: dt.date
    status: S
    overdue_days: int | None
    basis: str


def schedule(
    start: dt.date | None, last: dt.date | None, shortest: m.Period, longest: m.Period, as_of: dt.date
) -> Schedule:
    """Compute the next due date of a repeated assessment.

    With no previous assessment the first is due on ``start``. Otherwise the
    next is due ``shortest`` after the last (never before ``start``) and must be
    done by ``longest`` after the last. On the due date the state is ``due``;
    after ``latest`` it is ``overdue`` by the days past ``latest``.
    """
    if last is None:
        assert start is not None
        due = latest = start
        basis = f"first assessment due {start.isoformat()} (no previous assessment recorded)"
    else:
        due = shortest.add_to(last)
        latest = longest.add_to(last)
        if start is not None and due < start:
            due = latest = start
        span = str(shortest) if shortest == longest else f"{shortest} to {longest}"
        basis = f"last assessment {last.isoformat()}; repeat every {span}"
    if as_of < due:
        return Schedule(due=due, latest=latest, status=S.SCHEDULED, overdue_days=None, basis=basis)
    if as_of <= latest:
        return Schedule(due=due, latest=latest, status=S.DUE, overdue_days=None, basis=basis)
    return Schedule(due=due, latest=latest, status=S.OVERDUE, overdue_days=(as_of - latest).days, basis=basis)


def _screening(
    rule: m.ScreeningRule,
    g: m.Guideline,
    facts: dict[str, FactValue],
    as_of: dt.date,
    gate: bool | _Undecided | None = UNDECIDED,
) -> RuleResult:
    if gate is UNDECIDED:
        gate = decide(rule.applies, facts)
    if gate is False:
        return NOT_FIRED
    applies = explain(rule.applies, facts)
    leaves = list(applies.lines)
    missing = list(applies.missing)
    if applies.result is not True:
        return RuleResult(outcome=_OUTCOME[applies.result], leaves=applies.lines, missing=applies.missing)
    start: dt.date | None = None
    start_reason = ""
    for sp in rule.start:
        o = explain(sp.when, facts)
        if o.result is True:
            anchor = facts.get(sp.anchor)
            if not isinstance(anchor, dt.date):
                missing.append(sp.anchor)
                return RuleResult(outcome=RuleOutcome.UNDETERMINED, leaves=tuple(leaves), missing=tuple(missing))
            start = sp.after.add_to(anchor)
            start_reason = f"starts {sp.after} after {sp.anchor} ({anchor.isoformat()}): {start.isoformat()}"
            break
        missing.extend(o.missing)
    if rule.start and start is None:
        return RuleResult(outcome=RuleOutcome.UNDETERMINED, leaves=tuple(leaves), missing=tuple(dict.fromkeys(missing)))
    shortest = longest = rule.interval
    label = ""
    for th in rule.intervals:
        o = explain(th.when, facts)
        if o.result is True:
            shortest, longest, label = th.shortest, th.longest, th.label
            leaves.extend(o.lines)
            break
        if o.result is None:
            missing.extend(o.missing)
            return RuleResult(
                outcome=RuleOutcome.UNDETERMINED, leaves=tuple(leaves), missing=tuple(dict.fromkeys(missing))
            )
    last_value = facts.get(rule.last_done)
    last = last_value if isinstance(last_value, dt.date) else None
    if last is None:
        missing.append(rule.last_done)
    if start is None and last is None:
        start = as_of  # no start rule: due now when never recorded
    sched = schedule(start, last, shortest, longest, as_of)
    reasons = list(applies.reasons)
    if start_reason:
        reasons.append(start_reason)
    if label:
        reasons.append(label)
    reasons.append(sched.basis)
    details = tuple(f"includes: {item}" for item in rule.includes)
    if sched.latest != sched.due:
        details += (f"window: {sched.due.isoformat()} to {sched.latest.isoformat()}",)
    rec = recommendation(
        rule,
        g,
        action=rule.action,
        status=sched.status,
        due=sched.due,
        due_by=sched.latest if sched.latest != sched.due else None,
        overdue_days=sched.overdue_days,
        reasons=tuple(reasons),
        missing=tuple(dict.fromkeys(missing)),
        details=details,
    )
    return RuleResult(
        outcome=RuleOutcome.FIRED, leaves=tuple(leaves), missing=tuple(dict.fromkeys(missing)), recommendations=(rec,)
    )


# -- classification --------------------------------------------------------------


def _classification(rule: m.ClassificationRule, g: m.Guideline, facts: dict[str, FactValue]) -> RuleResult:
    if rule.applies is not None:
        applies = explain(rule.applies, facts)
        if applies.result is not True:
            return RuleResult(outcome=_OUTCOME[applies.result], leaves=applies.lines, missing=applies.missing)
    value = facts.get(rule.fact)
    if not isinstance(value, float):
        # Interpreting a result needs the result, but nothing requires it to be measured:
        # rules that need the label report the measurement as missing themselves.
        return RuleResult(outcome=RuleOutcome.NOT_FIRED, leaves=(f"UNKNOWN: {rule.fact} not recorded",))
    given = value
    if rule.unit not in ("1", ""):
        spec = vocabulary()[rule.fact]
        if spec.unit is not None and spec.unit != rule.unit:
            value = magnitude(quantity(value, spec.unit), rule.unit, analyte=rule.analyte)
    if isinstance(given, Bound):
        # a limit: its whole interval against each band, exactly (never rounded); undecided across an edge
        band, edge = band_of_limit(rule, Bound(value, given.comparator))
        rounded = clean(value)
        shown = shown_number(given, str(rounded))
        if edge is not None:
            return RuleResult(
                outcome=RuleOutcome.UNDETERMINED,
                leaves=(f"UNKNOWN: {rule.fact} = {shown} {rule.unit}: the limit straddles the band edge {edge}",),
            )
    else:
        band, rounded = band_of(rule, value)
        shown = shown_number(given, str(rounded))  # a limit ("<150") is shown as one, never as an exact result
    if band is None:
        return RuleResult(outcome=RuleOutcome.NOT_FIRED, leaves=(f"FALSE: {rule.fact} = {shown} fits no band",))
    facts[rule.id] = band.label
    unit = "" if rule.unit in ("1", "") else f" {rule.unit}"
    text = f"{rule.fact} = {shown}{unit}: {band.label}"
    edges = describe_edges(band, rule)
    rec = recommendation(
        rule,
        g,
        action=band.action or f"{rule.title}: {band.label}",
        status=S.RESULT,
        reasons=(f"{text} ({edges})",),
        details=(f"{rule.fact} {shown}{unit}",),
    )
    return RuleResult(outcome=RuleOutcome.FIRED, leaves=(f"TRUE: {text}",), recommendations=(rec,))
