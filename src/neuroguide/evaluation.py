"""``assess``: evaluate the guidelines in effect for one patient, with a replayable record."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import operator
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from . import _converter, _kinds, _medcheck
from . import model as m
from ._agents import agent_names, ingredient_keys
from ._cache import IdentityCache
from ._criteria import FactValue, GateList, Gates, Kept, compiled, compiled_all, decide
from ._facts import RECOGNISED_AGENTS, SINCE_0_2, derive_flagged
from ._limits import SIDES, straddled
from ._loading import Catalog, catalog, criterion_facts
from ._numeric import BOUNDS, Bound, clean
from ._readings import readings
from ._vocabulary import vocabulary
from .exceptions import InputError, InputProblemsError, UnknownGuidelineError
from .patient import Flag, FlagKind, Patient
from .results import (
    Assessment,
    Difference,
    DifferenceKind,
    EvaluationRecord,
    GuidelineRef,
    MissingInput,
    PossibleFlag,
    Recommendation,
    RecommendationStatus,
    ReplayReport,
    RuleOutcome,
    RuleTrace,
    Section,
    newer_package,
    package_version,
)
from .units import Quantity, format_quantity

# A site overlay is only ever passed in (by the caller who loaded it): the type is enough here, and importing
# the overlay reader (TOML, hashing, cattrs hooks) would cost every start-up that uses none.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .site import Site

__all__ = [
    "Assessment",
    "EvaluationRecord",
    "GuidelineRef",
    "MissingInput",
    "Recommendation",
    "ReplayReport",
    "RuleTrace",
    "Section",
    "assess",
    "compile_gates",
    "replay",
]


def assess(
    patient: Patient | Mapping[str, Any],
    *,
    as_of: dt.date,
    pins: Mapping[str, str] | None = None,
    statuses: Iterable[m.Status | str] = (m.Status.APPROVED,),
    guidelines: Iterable[str] | None = None,
    source: Catalog | None = None,
    explain: bool = True,
    site: Site | None = None,
) -> Assessment:
    """Evaluate every guideline in effect on ``as_of`` for ``patient``.

    Args:
        patient: a :class:`~neuroguide.Patient` or its plain-data form.
        as_of: the evaluation date; the library never reads the clock.
        pins: guideline id -> version to use instead of the one in effect.
        statuses: rule statuses to evaluate; approved only by default.
        guidelines: restrict to these guideline ids.
        source: a catalog other than the packaged one (tests, audits).
        explain: when False (for cohorts), rules that cannot be decided are
            recorded as undetermined without working out which inputs are
            missing; recommendations are unchanged. ``Assessment.missing``
            then lists only inputs named by rules that fired (e.g. a missing
            last-assessment date), and the record says ``explained: false``.
        site: a site governance overlay (:func:`neuroguide.load_site`): its disabled
            rules are not evaluated (the trace says so), its locally approved in-review
            rules are, its notes and approvals are shown with the recommendations, and the
            record is stamped with the overlay's sha256.

    Raises:
        InputError: bad patient input (names the field, value and what was expected).
        UnknownGuidelineError: a pinned guideline or version does not exist.

    """
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise InputError("as_of", as_of, "a datetime.date")
    if not _EARLIEST <= as_of <= _LATEST:
        raise InputError("as_of", as_of.isoformat(), f"a date from {_EARLIEST} to {_LATEST}")
    if not isinstance(patient, Patient):
        if not isinstance(patient, Mapping):
            raise InputError("patient", type(patient).__name__, "a Patient or a mapping of patient fields")
        patient = Patient.from_dict(patient)
    if source is not None or site is not None or pins or guidelines is not None:
        guidelines = _check_options(source, site, pins, guidelines)
    cat = source if source is not None else catalog()
    pinned = tuple(sorted(pins.items())) if pins else ()
    status_set = _DEFAULT_STATUSES if statuses == _DEFAULT_STATUSES else _statuses(statuses)
    wanted = frozenset(guidelines) if guidelines is not None else None
    ctx = _CONTEXTS.get(
        (cat, site), (as_of, pinned, wanted, status_set), lambda: _context(cat, as_of, pinned, wanted, status_set, site)
    )
    derived, flags, shown = _DERIVED.get((patient,), as_of, lambda: _derive(patient, as_of))
    result = _run(
        patient,
        dict(derived),  # classifications add their labels to the table
        as_of,
        ctx.chosen,
        status_set,
        explain=explain,
        urgent=True,
        flags=flags,
        unlocked=cat.unlocked,
        site=site,
        plan=ctx.plan,
        refs=ctx.refs,
        shown=shown,
    )
    contradicted = [f for f in flags if f.kind is FlagKind.CONTRADICTION]
    if not contradicted or _READING.get():
        return result
    # Each reading of the contradicting inputs, evaluated as the patient was (same options); a reading's own
    # contradictions, if any, are not read again.
    named = frozenset(name for f in contradicted for name in _FIELD_NAME.findall(f.field))
    again = functools.partial(
        assess,
        as_of=as_of,
        pins=pins,
        statuses=status_set,
        guidelines=wanted,
        source=source,
        explain=explain,
        site=site,
    )
    token = _READING.set(True)
    others: list[Assessment] = []
    try:
        for reading in readings(patient, named):
            # a reading the engine refuses adds nothing (the patient itself was assessed: that is never lost)
            with contextlib.suppress(InputError):
                others.append(again(reading))
    finally:
        _READING.reset(token)
    return attrs.evolve(result, possible=_possible(result, others, contradicted))


_READING: contextvars.ContextVar[bool] = contextvars.ContextVar("neuroguide_reading", default=False)
_FIELD_NAME = re.compile(r"\b(?:findings|measurements)\.([a-z0-9-]+)")


def _possible(
    result: Assessment, others: Sequence[Assessment], contradicted: Sequence[Flag]
) -> tuple[PossibleFlag, ...]:
    """The red flags the readings raise that the assessment itself does not, each with how many readings raise it."""
    raised = {(r.guideline, r.rule) for r in result.recommendations if _is_red(r)}
    found: dict[tuple[str, str], tuple[Recommendation, int]] = {}
    for other in others:
        for rec in other.recommendations:
            key = (rec.guideline, rec.rule)
            if _is_red(rec) and key not in raised:
                first, count = found.get(key, (rec, 0))
                found[key] = (first, count + 1)
    fields = tuple(f.field for f in contradicted)
    flags = [PossibleFlag(recommendation=rec, readings=n, of=len(others), fields=fields) for rec, n in found.values()]
    # Raised in every reading first, then emergencies before urgent items (a stable sort keeps the plan order).
    flags.sort(key=lambda p: (not p.every, p.recommendation.status != RecommendationStatus.EMERGENCY))
    return tuple(flags)


def _is_red(rec: Recommendation) -> bool:
    """A red flag: in the red-flag section, or an emergency or urgent referral."""
    return rec.section is Section.RED_FLAGS or rec.status in _URGENT_STATUSES


_URGENT_STATUSES = frozenset({RecommendationStatus.EMERGENCY, RecommendationStatus.URGENT})


def _derive(patient: Patient, as_of: dt.date) -> tuple[dict[str, FactValue], tuple[Flag, ...], dict[str, Any]]:
    facts, flags = derive_flagged(patient, as_of)
    return facts, flags, _shown_facts(facts)


def _shown_facts(facts: Mapping[str, FactValue]) -> dict[str, Any]:
    """The facts as the record holds them: sorted by name, dates as ISO text, a limit as text ("<200 ng/L")."""
    return {
        k: (v.isoformat() if isinstance(v, dt.date) else limit_text(k, v) if isinstance(v, Bound) else v)
        for k, v in sorted(facts.items())
    }


def limit_text(name: str, value: Bound) -> str:
    """A limit read (a :class:`Bound`) as the record's facts show it: its comparator, number and canonical unit.

    The number is written at 12 significant digits (the binary noise of a unit conversion left out: "<200 pg/mL"
    is "<200 ng/L", not 199.99999999999997), so it is never read as an exact result.
    """
    number = format(clean(value).normalize(), "f")
    unit = vocabulary()[name].unit
    return f"{value.comparator}{number}" + (f" {unit}" if unit else "")


_LIMIT_TEXT = re.compile(r"^(<=|>=|<|>)([-+0-9.eE]+)(?: |$)")


def fact_of_record(value: Any) -> Any:
    """A fact as a record holds it, with a limit's text read back as its :class:`Bound` (canonical unit)."""
    if type(value) is str:
        found = _LIMIT_TEXT.match(value)
        if found is not None:
            return Bound(float(found[2]), found[1])
    return value


def _same_fact(before: Any, after: Any) -> bool:
    """Whether a recorded fact equals the fact now.

    A record made before limits were written as text holds the limit's number alone: it matches the same limit
    now (the comparator is in the record's patient).
    """
    if before == after:
        return True
    if isinstance(before, int | float) and not isinstance(before, bool) and type(after) is str:
        now = fact_of_record(after)
        return type(now) in BOUNDS and clean(before) == clean(now)
    return False


_DEFAULT_STATUSES = (m.Status.APPROVED,)
# A patient is immutable, so its fact table on a date is derived once (an assessment repeated for the same
# patient, e.g. with other pins or statuses, a report and its record, reuses it). Errors are not kept.
_DERIVED: IdentityCache[tuple[dict[str, FactValue], tuple[Flag, ...], dict[str, Any]]] = IdentityCache(limit=256)


@attrs.frozen
class _Context:
    """What one catalog, date, pin set, status set and site decide, before any patient: cached."""

    chosen: list[tuple[m.Guideline, bool]]
    plan: _Plan
    refs: tuple[GuidelineRef, ...]


def _context(
    cat: Catalog,
    as_of: dt.date,
    pins: tuple[tuple[str, str], ...],
    wanted: frozenset[str] | None,
    statuses: tuple[m.Status, ...],
    site: Site | None,
) -> _Context:
    _check_in_range(cat, as_of)
    chosen = _choose(cat, as_of, pins, wanted)
    return _Context(chosen, _plan(tuple(g for g, _ in chosen), statuses, True, site), _refs(chosen))


_CONTEXTS: IdentityCache[_Context] = IdentityCache(limit=256)


def _check_in_range(cat: Catalog, as_of: dt.date) -> None:
    """Refuse an evaluation date before every guideline took effect: its report would be empty, not reassuring."""
    earliest = _EARLIEST_IN_EFFECT.get((cat,), None, lambda: _earliest(cat))
    if earliest is not None and as_of < earliest:
        first = earliest.isoformat()
        raise InputError(
            "as_of",
            as_of.isoformat(),
            f"a date on or after {first}: the guidelines are in effect from {first} (no guideline was in effect "
            "before; check the date)",
        )


def _earliest(cat: Catalog) -> dt.date | None:
    dates = [g.effective for g in cat.all() if g.status in (m.Status.APPROVED, m.Status.RETIRED)]
    return min(dates) if dates else None


_EARLIEST_IN_EFFECT: IdentityCache[dt.date | None] = IdentityCache(limit=16)

# Calendar arithmetic adds years to dates: keep evaluation dates well inside what datetime can hold.
_EARLIEST = dt.date(1900, 1, 1)
_LATEST = dt.date(9000, 12, 31)


def _check_options(source: Any, site: Any, pins: Any, guidelines: Any) -> tuple[str, ...] | None:
    """Refuse an option of the wrong type by name (else an AttributeError or TypeError from deep inside).

    Returns the guideline ids as a tuple (an iterator given is read once, here).
    """
    if source is not None and not isinstance(source, Catalog):
        raise InputError("source", type(source).__name__, "a neuroguide Catalog, or None for the installed guidelines")
    if site is not None and not hasattr(site, "approves_locally"):  # Site itself is not imported here (see above)
        raise InputError("site", type(site).__name__, "a site overlay from neuroguide.load_site, or None")
    if pins and not (isinstance(pins, Mapping) and all(isinstance(x, str) for kv in pins.items() for x in kv)):
        raise InputError("pins", pins, "a mapping of guideline id to version, both strings")
    if guidelines is None:
        return None
    ids = tuple(guidelines) if isinstance(guidelines, Iterable) and not isinstance(guidelines, str | bytes) else None
    if ids is None or not all(isinstance(g, str) for g in ids):
        raise InputError("guidelines", guidelines, "a list of guideline ids (strings), or None for all")
    return ids


def _statuses(statuses: Iterable[m.Status | str]) -> tuple[m.Status, ...]:
    if isinstance(statuses, str | bytes) or not isinstance(statuses, Iterable):
        raise InputError("statuses", statuses, "a list of rule statuses, e.g. ['approved']")
    given = tuple(statuses)  # once: an iterator shown in the error would be half used up
    if not given:  # no rule would be evaluated: an assessment that says nothing, silently
        raise InputError("statuses", given, "at least one rule status, e.g. ['approved']")
    try:
        return tuple(m.Status(s) for s in given)
    except (ValueError, TypeError):  # TypeError: an unhashable value ([]) is looked up in the enum's table
        raise InputError("statuses", given, f"rule statuses from {', '.join(s.value for s in m.Status)}") from None


_CHOICES: IdentityCache[list[tuple[m.Guideline, bool]]] = IdentityCache(limit=256)


def _choose(
    cat: Catalog, as_of: dt.date, pins: tuple[tuple[str, str], ...], guidelines: Iterable[str] | None
) -> list[tuple[m.Guideline, bool]]:
    """Return (guideline version, pinned) for every guideline in scope (cached per catalog and date)."""
    wanted = guidelines if isinstance(guidelines, frozenset) or guidelines is None else frozenset(guidelines)
    return _CHOICES.get((cat,), (as_of, pins, wanted), lambda: _choose_now(cat, as_of, pins, wanted))


def _choose_now(
    cat: Catalog, as_of: dt.date, pins: tuple[tuple[str, str], ...], wanted: frozenset[str] | None
) -> list[tuple[m.Guideline, bool]]:
    pinned = dict(pins)
    if wanted is not None:
        unknown = sorted(wanted - set(cat.ids()))
        if unknown:
            raise UnknownGuidelineError(unknown[0], cat.ids())
    chosen: list[tuple[m.Guideline, bool]] = []
    for gid in sorted(set(cat.ids()) | set(pinned)):
        if wanted is not None and gid not in wanted:
            continue
        if gid in pinned:
            chosen.append((cat.get(gid, version=pinned[gid]), True))
        else:
            try:
                chosen.append((cat.get(gid, as_of=as_of), False))
            except LookupError:
                continue
    return chosen


def _run(
    patient: Patient,
    facts: dict[str, FactValue],
    as_of: dt.date,
    chosen: Sequence[tuple[m.Guideline, bool]],
    statuses: tuple[m.Status, ...],
    *,
    explain: bool = True,
    urgent: bool,
    flags: tuple[Flag, ...] = (),
    unlocked: tuple[str, ...] = (),
    site: Site | None = None,
    plan: _Plan | None = None,
    refs: tuple[GuidelineRef, ...] | None = None,
    shown: Mapping[str, Any] | None = None,
) -> Assessment:
    """Evaluate the plan's rules against ``facts``.

    ``shown`` is ``facts`` as the record holds them (``_shown_facts``), if already made.
    """
    recs: list[Recommendation] = []
    # limits still in the table (a flagged input is left out), before classification labels are added
    # (a Bound comes only from a limit the patient gives)
    limits = [(k, v) for k, v in facts.items() if type(v) in BOUNDS] if patient.limits else None
    asking: list[_Decided] = []  # rules that name missing facts, in plan order
    labels: dict[str, str] = {}  # classification labels added to the facts
    if plan is None:
        plan = _plan(tuple(g for g, _ in chosen), statuses, urgent, site)
    # Every rule starts as not fired (or disabled); only rules that can apply are looked at, in plan order.
    traces = list(plan.traces)
    steps = plan.steps
    rest = plan.rest
    loop = rest.loop if isinstance(rest, Gates) else None
    if loop is None:
        for i, gate in plan.hits(patient, facts):
            step = steps[i]
            if gate is None and not explain:
                traces[i] = step.undetermined
                continue
            done = _decided(step, plan, patient, facts, as_of, gate)
            traces[i] = done.trace
            if done.label is not None:
                facts[step.rule.id] = done.label
                labels[step.rule.id] = done.label
            if done.asks:
                asking.append(done)
            if done.recommendations:
                recs.extend(done.recommendations)
    else:
        # The compiled plan: one generated function decides the classifications one by one (their labels are
        # facts later gates test), then every other gate, and looks up each passing rule's kept result; only
        # results that ask for inputs or recommend come back. The medication rules the patient's drugs call
        # for are merged in after.
        ranked: list[tuple[tuple[int, int, str, str], Recommendation]] = []

        def miss(i: int, gate: bool | None) -> _Decided:
            return _decided(steps[i], plan, patient, facts, as_of, gate)

        loop(facts, as_of, explain, traces, asking.append, ranked.extend, miss, labels.__setitem__)
        if patient.medications:
            also: list[_Decided] = []
            for i, gate in plan.medication_hits(patient, facts):
                if gate is None and not explain:
                    traces[i] = steps[i].undetermined
                    continue
                done = _decided(steps[i], plan, patient, facts, as_of, gate)
                traces[i] = done.trace
                if done.asks:
                    also.append(done)
                ranked.extend(done.ranked)
            if also:  # in plan order, as the missing inputs list them
                position = plan.position
                asking = sorted([*asking, *also], key=lambda d: position[d.trace.guideline, d.trace.rule])
        # Ranked by section, urgency, guideline and rule (see ``_Decided.ranked``); a stable sort, as below.
        ranked.sort(key=_RANK_KEY)
        recs = [rec for _, rec in ranked]
    if site is not None:
        recs = list(_with_site(recs, site))
    if loop is None:
        recs.sort(key=_order)
    key = (id(plan), *asking)
    hit = _ASKED.get(key)
    if hit is None or hit[0] is not plan:
        hit = (plan, _asked(asking, plan, facts))
        if len(_ASKED) >= 1024:
            _ASKED.clear()
        _ASKED[key] = hit
    missing_inputs, asked, decisive = hit[1]
    if patient.medications:
        missing_inputs += _unrecognised(patient, plan.agents) + _unchecked(patient, plan, chosen)
    record = EvaluationRecord(
        as_of=as_of,
        package=package_version(),
        statuses=_STATUS_VALUES.get(statuses) or _status_values(statuses),
        patient=patient.plain(),
        facts=_shown_facts(facts)
        if shown is None
        else dict(_LABELLED.get((shown,), tuple(labels.items()), lambda: dict(sorted({**shown, **labels}.items()))))
        if labels
        else dict(shown),
        guidelines=refs if refs is not None else _refs(chosen),
        trace=tuple(traces),
        recommendations=tuple(recs),
        missing=missing_inputs,
        explained=explain,
        urgent_unverified=urgent,
        flags=flags
        + (_undecided(limits, chosen, statuses, urgent, patient) if limits else ())
        + (tuple(map(_unlocked_flag, unlocked)) if unlocked else ())
        + (site.not_applied({g.id: g.version for g, _ in chosen}) if site is not None else ()),
        unlocked=unlocked,
        site=site.stamp() if site is not None else None,
    )
    return Assessment(
        recommendations=tuple(recs),
        missing=missing_inputs,
        record=record,
        urgent_missing=asked,
        urgent_decisive=decisive,
    )


# Compared and hashed by identity: a kept result stands for the facts it was kept by (see ``_ASKED``).
@attrs.frozen(eq=False)
class _Decided:
    """What one rule gave one patient: its trace entry, recommendations and (classifications) label."""

    trace: RuleTrace
    recommendations: tuple[Recommendation, ...]
    label: str | None
    asks: bool = attrs.field(init=False, default=attrs.Factory(lambda self: bool(self.trace.missing), takes_self=True))
    """The result names missing inputs."""
    ranked: tuple[tuple[tuple[int, int, str, str], Recommendation], ...] = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: tuple((_order(r), r) for r in self.recommendations), takes_self=True),
    )
    """Each recommendation with the key the assessment orders recommendations by."""
    more: bool = attrs.field(
        init=False, default=attrs.Factory(lambda self: bool(self.asks or self.recommendations), takes_self=True)
    )
    """The result asks for inputs or recommends: more than its trace entry (see ``_criteria.Kept``)."""


# A rule's result depends only on the facts it reads (and, for a screening, the date), so it is kept per
# step, keyed by their values, and types unless every fact read is a finding (True == 1 == 1.0 in Python, but
# their trace lines differ). A cohort repeats most keys
# (findings are true, false or unrecorded); the store is emptied when full, which bounds its memory.
_MEMO_LIMIT = 512


def _decided(
    step: _Step, plan: _Plan, patient: Patient, facts: dict[str, FactValue], as_of: dt.date, gate: bool | None
) -> _Decided:
    memo = step.memo
    if step.reads is None:
        # A medication rule reads the medication list too: its result is kept by the list's entries as
        # ``medications_key`` reads them, the facts the checks read, the date and the gate.
        meds = patient.medications
        values = tuple(map(facts.get, _medcheck.READS))
        key: Hashable = (as_of, gate, _medcheck.medications_key(meds), *values, *map(type, values))
    else:
        # One flat tuple (as the compiled plan loop builds it, see ``_criteria.Kept``): the date for a
        # screening, the values read, and their types unless every fact read is a finding.
        read: tuple[object, ...] = tuple(map(facts.get, step.reads))
        if step.typed:
            read += tuple(map(type, read))
        key = (as_of, *read) if step.dated else read
    done = memo.get(key)
    if done is None:
        done = _decide(step, plan, patient, facts, as_of, gate)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[key] = done
    return done


def _decide(
    step: _Step, plan: _Plan, patient: Patient, facts: dict[str, FactValue], as_of: dt.date, gate: bool | None
) -> _Decided:
    rule = step.rule
    result = _kinds.evaluate_rule(rule, step.guideline, patient, facts, as_of, gate)
    label = facts.get(rule.id) if isinstance(rule, m.ClassificationRule) else None
    if result.outcome is RuleOutcome.NOT_FIRED and not result.recommendations:
        return _Decided(step.not_fired, (), label if isinstance(label, str) else None)
    missing = result.missing
    if any(f in plan.measured for f in missing):
        missing = tuple(dict.fromkeys(plan.measured.get(f, f) for f in missing))
    trace = RuleTrace(
        rule=rule.id,
        guideline=step.guideline.id,
        version=step.guideline.version,
        outcome=result.outcome,
        leaves=result.leaves,
        missing=missing,
    )
    return _Decided(trace, result.recommendations, label if isinstance(label, str) else None)


def forget_kept() -> None:
    """Forget every kept rule result, derived fact table and missing-input entry.

    The next assessment then computes everything as for a patient never seen (benchmarks and tests use this).
    """
    for plan in _PLANS.values():
        for step in plan.steps:
            step.memo.clear()
    _DERIVED.clear()
    _LABELLED.clear()
    _MISSING.clear()
    _ASKED.clear()
    _DECIDING.clear()


def _asked(
    asking: Sequence[_Decided], plan: _Plan, facts: Mapping[str, FactValue]
) -> tuple[tuple[MissingInput, ...], tuple[str, ...], tuple[str, ...]]:
    """The missing inputs, those an urgent rule needs (the decisive ones first), and the decisive ones.

    Kept by the identity of the rule results that asked (``_ASKED``): a kept result is shared only by patients
    with the same values of every fact its rule reads, which is all ``_decisive`` reads of ``facts`` (see
    ``_DECIDING``).
    """
    missing_inputs, asked = _aggregate(asking, plan)
    urgent_asking: list[tuple[m.Rule, RuleTrace]] = []
    if plan.urgent:  # the urgent rules among those asking, in plan order (see ``_decisive``)
        position = plan.position
        urgent_asking = [
            (plan.steps[position[d.trace.guideline, d.trace.rule]].rule, d.trace)
            for d in asking
            if d.trace.rule in plan.urgent
        ]
    decisive = _decisive(urgent_asking, facts)
    if decisive:
        asked = (*decisive, *(f for f in asked if f not in decisive))
    return missing_inputs, asked, decisive


def _aggregate(asking: Sequence[_Decided], plan: _Plan) -> tuple[tuple[MissingInput, ...], tuple[str, ...]]:
    """The missing inputs (by fact, naming the rules that need each) and those an urgent rule needs."""
    needed: dict[str, list[str]] = {}
    for done in asking:
        for fact in done.trace.missing:
            needed.setdefault(fact, []).append(done.trace.rule)
    missing = tuple(_missing_input(f, tuple(rules)) for f, rules in sorted(needed.items()))
    asked = [f for f, rules in needed.items() if not plan.urgent.isdisjoint(rules)]
    # What an emergency rule needs is asked before what only an urgent one needs (sorted is stable: plan order
    # within each): for a patient with almost nothing recorded, the sphincter, saddle and cancer questions come
    # before, say, a B12 level that matters only with cord signs.
    # Within each group, a finding that alone would raise an emergency (urinary retention, saddle anaesthesia) comes
    # before one that matters only with others (breathing difficulty with weakness).
    asked.sort(key=lambda f: (plan.emergency.isdisjoint(needed[f]), f not in plan.alone))
    return missing, tuple(asked)


def _decisive(urgent: Sequence[tuple[m.Rule, RuleTrace]], facts: Mapping[str, FactValue]) -> tuple[str, ...]:
    """Missing yes/no findings that alone would raise an urgent rule some recorded finding already supports.

    A rule with no true leaf yet (e.g. cauda equina with nothing recorded) is left to the usual order: every
    finding of its list would raise it alone, so this would put the whole list first and decide nothing.
    """
    found: dict[str, int] = {}  # fact: the most recorded findings met by a rule it would raise
    for rule, trace in urgent:
        for fact, met in _DECIDING.get((rule, trace), None, functools.partial(_deciding, rule, trace, facts)).items():
            if met > found.get(fact, 0):
                found[fact] = met
    # The finding of the rule most nearly met comes first (sorted is stable: plan order breaks ties).
    return tuple(sorted(found, key=lambda f: -found[f]))


def _deciding(rule: m.Rule, trace: RuleTrace, facts: Mapping[str, FactValue]) -> dict[str, int]:
    """The missing yes/no findings of one urgent rule that alone would decide it, each with its true leaves."""
    when: m.Criterion | None = getattr(rule, "when", None)
    met = sum(leaf.startswith("TRUE") for leaf in trace.leaves)
    if when is None or not met:
        return {}
    vocab = vocabulary()
    out: dict[str, int] = {}
    for fact in trace.missing:
        spec = vocab.get(fact)
        if spec is None or spec.type != "boolean":
            continue
        if any(decide(when, {**facts, fact: value}) is True for value in (True, False)):
            out[fact] = met
    return out


# Per urgent rule and its trace: a kept trace is shared only by patients with the same values of every fact its rule
# reads (``when`` included), so what decides the rule is the same for them (a fresh trace is a new entry).
_DECIDING: IdentityCache[dict[str, int]] = IdentityCache(limit=4096)


# Kept by the plan and the identity of the rule results that asked (kept results recur across patients, fresh ones
# miss), with the plan beside the value so its id cannot be reused while the entry lives; emptied when full.
_ASKED: dict[tuple[object, ...], tuple[_Plan, tuple[tuple[MissingInput, ...], tuple[str, ...], tuple[str, ...]]]] = {}


def _missing_input(fact: str, rules: tuple[str, ...]) -> MissingInput:
    """The missing-input entry of ``fact`` needed by ``rules`` (kept: the same entries recur across patients)."""
    found = _MISSING.get((fact, rules))
    if found is None:
        vocab = vocabulary()
        label = vocab[fact].label if fact in vocab else fact
        found = MissingInput(fact=fact, label=label, needed_by=tuple(dict.fromkeys(rules)))
        if len(_MISSING) >= _MEMO_LIMIT * 8:
            _MISSING.clear()
        _MISSING[fact, rules] = found
    return found


_MISSING: dict[tuple[str, tuple[str, ...]], MissingInput] = {}


def _status_values(statuses: tuple[m.Status, ...]) -> tuple[str, ...]:
    """The statuses as the record writes them (kept: a handful of status sets recur)."""
    values = tuple(s.value for s in statuses)
    if len(_STATUS_VALUES) < 64:
        _STATUS_VALUES[statuses] = values
    return values


_STATUS_VALUES: dict[tuple[m.Status, ...], tuple[str, ...]] = {}


def _undecided(
    limits: Sequence[tuple[str, FactValue]],
    chosen: Sequence[tuple[m.Guideline, bool]],
    statuses: tuple[m.Status, ...],
    urgent: bool,
    patient: Patient,
) -> tuple[Flag, ...]:
    """A flag for each limit that leaves a threshold of the guidelines used undecided, naming each threshold.

    The limit is quoted as entered ("<133 pmol/L", not its conversion); the converted number appears only where
    the comparison with a threshold in another unit is explained.
    """
    out: list[Flag] = []
    guidelines = tuple(g for g, _ in chosen)
    for name, value in limits:
        assert isinstance(value, Bound)
        found = straddled(name, value, guidelines, frozenset(statuses), urgent)
        if not found:
            continue
        unit = vocabulary()[name].unit or ""
        canonical = f"{float(value):g} {unit}".strip()
        given = _as_entered(patient, name) or canonical
        side = SIDES[value.comparator][0]
        converted = "" if given == canonical else f" (= {value.comparator}{canonical}, the unit its rules compare in)"
        out.append(
            Flag(
                field=f"measurements.{name}",
                kind=FlagKind.UNDECIDED,
                value=f"{value.comparator}{given}",
                message=f"known only to be {side} {given}{converted}, which leaves undecided "
                + "; ".join(found)
                + ": each such comparison is unknown (its rule undetermined unless its other inputs decide it); "
                "every threshold lying wholly on one side of the limit is decided by it",
            )
        )
    return tuple(out)


def _as_entered(patient: Patient, name: str) -> str | None:
    """The number and unit of a limit as the patient data gave it, or None.

    A bare number (the constructor's) is in the fact's canonical unit, which the record writes with it: quoted as
    that quantity, so a replay of the record, which reads that text, quotes it alike.
    """
    given = patient.measurements.get(name)
    if given is None:
        return None
    if isinstance(given, int | float):
        unit = vocabulary()[name].unit
        return None if unit is None else format_quantity(Quantity(float(given), unit))
    return format_quantity(given)


def _unlocked_flag(name: str) -> Flag:
    return Flag(
        field=f"guidelines/{name}",
        kind=FlagKind.UNLOCKED,
        value=name,
        message=f"guideline file {name} does not match lock.json; used only because unlocked files were allowed "
        "(guideline authoring): this is not released guidance",
    )


_SECTION_ORDER = {section: i for i, section in enumerate(Section)}
# The record's facts with the classification labels, by the shown table (kept per patient and date in
# ``_DERIVED``) and the labels: sorting the merged table is most of the record's cost otherwise.
_LABELLED: IdentityCache[dict[str, Any]] = IdentityCache(limit=256)
_REFS: IdentityCache[tuple[GuidelineRef, ...]] = IdentityCache(limit=256)


def _refs(chosen: Sequence[tuple[m.Guideline, bool]]) -> tuple[GuidelineRef, ...]:
    """The record's guideline references (cached per chosen set: they repeat across a cohort)."""
    return _REFS.get(
        tuple(g for g, _ in chosen),
        tuple(p for _, p in chosen),
        lambda: tuple(GuidelineRef(id=g.id, version=g.version, sha256=g.sha256, pinned=p) for g, p in chosen),
    )


@attrs.frozen
class _Step:
    """One rule of an evaluation plan, with its precomputed gate and not-fired trace."""

    guideline: m.Guideline
    rule: m.Rule
    gate: Callable[[Mapping[str, FactValue]], bool | None] | None
    """The compiled gate of a classification or medication step (None: none, or decided by ``_Plan.rest``)."""
    agents: frozenset[str] | None
    not_fired: RuleTrace
    undetermined: RuleTrace
    disabled: RuleTrace | None = None
    reads: tuple[str, ...] | None = None
    """Every fact the rule's result depends on; None for medication rules (they read the medication list)."""
    memo: dict[Hashable, _Decided] = attrs.field(factory=dict, eq=False, repr=False)
    typed: bool = True
    """The rule reads a fact that is not a yes/no finding: its kept results are keyed by type too."""
    dated: bool = True
    """The result depends on the evaluation date (screening schedules)."""


@attrs.frozen
class _Plan:
    guidelines: tuple[m.Guideline, ...]
    steps: tuple[_Step, ...]
    measured: Mapping[str, str]
    agents: frozenset[str]
    urgent: frozenset[str]
    emergency: frozenset[str] = frozenset()
    """The urgent rules whose urgency is an emergency: the inputs they need are asked for first."""
    alone: frozenset[str] = frozenset()
    """Findings that alone (true, all else unknown) raise an emergency rule: asked first among its inputs."""
    traces: tuple[RuleTrace, ...] = ()
    """Each step's trace before any patient: disabled by the site, else not fired."""
    gated: tuple[int, ...] = ()
    """Steps evaluated for every patient (not disabled, not a medication rule), in order."""
    by_agent: Mapping[str, tuple[int, ...]] = attrs.field(factory=dict)
    """Medication steps by each drug name they recognise (a medication rule applies only to its drugs)."""
    position: Mapping[tuple[str, str], int] = attrs.field(factory=dict)
    """Each step's place in the plan, by guideline and rule id."""

    first: tuple[int, ...] = ()
    """Classification steps (gated one by one: each label is a fact later gates may test)."""
    rest: GateList | None = None
    """Every other gate of ``gated``, decided in one call: ``(step, result)`` for each not false."""

    def hits(self, patient: Patient, facts: Mapping[str, FactValue]) -> Iterator[tuple[int, bool | None]]:
        """``(step, gate result)`` for each step that may apply to ``patient``, in plan order.

        Lazy: the caller adds each classification's label to ``facts`` before the other gates are decided.
        """
        steps = self.steps
        for i in self.first:
            gate = steps[i].gate
            result = gate(facts) if gate is not None else True
            if result is not False:
                yield i, result
        assert self.rest is not None
        found = self.rest(facts)
        if patient.medications:
            found.extend(self.medication_hits(patient, facts))
            found.sort(key=_first)
        yield from found

    def medication_hits(self, patient: Patient, facts: Mapping[str, FactValue]) -> list[tuple[int, bool | None]]:
        """``(step, gate result)`` for each medication step that may apply (a rule applies only to its drugs)."""
        steps = self.steps
        # The list is short, so its steps are merged in by the caller.
        meds = {
            i for med in patient.medications for name in ingredient_keys(med.agent) for i in self.by_agent.get(name, ())
        }
        found: list[tuple[int, bool | None]] = []
        for i in meds:
            gate = steps[i].gate
            result = gate(facts) if gate is not None else True
            if result is not False:
                found.append((i, result))
        return found


def unrecognised_hint(agent: str, known: frozenset[str]) -> str | None:
    """``None`` when a rule or derived fact recognises ``agent``; else the closest known name as a hint, or ``""``.

    The one test of a drug name both ``assess`` and the cohort apply (``known``: the plan's names).
    """
    names = ingredient_keys(agent)
    if not names.isdisjoint(known):
        return None
    import difflib  # here: loaded only to suggest a name for one not known

    close = difflib.get_close_matches(min(names, key=len), sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unrecognised(patient: Patient, known: frozenset[str]) -> tuple[MissingInput, ...]:
    """Medications no rule or derived fact recognises: said, so a misspelling is not silently ignored."""
    out = []
    for i, med in enumerate(patient.medications):
        hint = unrecognised_hint(med.agent, known)
        if hint is None:
            continue
        out.append(
            MissingInput(
                fact=f"medications[{i}].agent",
                label=f"medication {med.agent!r} is not recognised{hint}; no rule could check it",
                needed_by=(),
            )
        )
    return tuple(out)


def _unchecked(patient: Patient, plan: _Plan, chosen: Sequence[tuple[m.Guideline, bool]]) -> tuple[MissingInput, ...]:
    """Doses no evaluated rule checks although a dosing rule not evaluated (e.g. in review) names the drug: said.

    Likewise a drug taken whose only neurotoxicity entry is not evaluated (linezolid, in review): the report says
    its neurotoxicity was not checked rather than passing over a drug the table lists.
    """
    out = []
    for i, med in enumerate(patient.medications):
        names = ingredient_keys(med.agent)
        which = _held(m.NeurotoxicityRule, names, plan, chosen)
        if which:
            out.append(
                MissingInput(
                    fact=f"medications[{i}].agent",
                    label=f"neurotoxicity of {med.agent!r} not checked (entry {which}, not evaluated)",
                    needed_by=(),
                )
            )
        which = _held(m.DosingRule, names, plan, chosen) if med.dose is not None else ""
        if which:
            out.append(
                MissingInput(
                    fact=f"medications[{i}].dose",
                    label=f"dose of {med.agent!r} not checked (dosing rule {which}, not evaluated)",
                    needed_by=(),
                )
            )
    return tuple(out)


def _held(
    kind: type[m.NeurotoxicityRule] | type[m.DosingRule],
    names: frozenset[str],
    plan: _Plan,
    chosen: Sequence[tuple[m.Guideline, bool]],
) -> str:
    """Unevaluated rules of ``kind`` naming the drug ("id status"), if no evaluated one names it; else empty."""
    evaluated = (plan.steps[j].rule for name in names for j in plan.by_agent.get(name, ()))
    return ", ".join(f"{r.id} {r.status.value}" for _, r in held_rules(kind, names, evaluated, chosen))


def held_rules(
    kind: type[m.NeurotoxicityRule] | type[m.DosingRule],
    names: frozenset[str],
    evaluated: Iterable[m.Rule],
    chosen: Sequence[tuple[m.Guideline, bool]],
) -> tuple[tuple[m.Guideline, m.Rule], ...]:
    """The rules of ``kind`` in ``chosen`` naming the drug (``names``) if none of the ``evaluated`` is of ``kind``.

    The one test of "not checked" ``assess`` and the cohort apply: ``evaluated`` are the rules a plan evaluates
    that name the drug.
    """
    if any(isinstance(r, kind) for r in evaluated):
        return ()
    return tuple(
        (g, r) for g, _ in chosen for r in g.rules if isinstance(r, kind) and not agent_names(r).isdisjoint(names)
    )


_PLANS: IdentityCache[_Plan] = IdentityCache(limit=256)


def compile_gates() -> None:
    """Compile the gate lists of the plans made so far (a long-running process, before its first request).

    A plan decides its gates through closures for its first calls and compiles them after that; a service
    compiles them at start-up instead, so no request pays for it.
    """
    for plan in _PLANS.values():
        if isinstance(plan.rest, Gates):
            plan.rest.compile()


def _plan(
    guidelines: tuple[m.Guideline, ...], statuses: tuple[m.Status, ...], urgent: bool, site: Site | None = None
) -> _Plan:
    """Return the rules to evaluate, in order, with what lets most of them be skipped quickly.

    Classifications come first: their labels become facts other rules may test.
    A classification's label is missing when its measurement is, so dependent
    rules report the measurement (``measured``). Plans are cached per guideline set.
    """
    return _PLANS.get(guidelines, (statuses, urgent, site), lambda: _make_plan(guidelines, statuses, urgent, site))


def _shown_unverified(rule: m.Rule, urgent: bool) -> bool:
    """An urgent rule still in review is evaluated anyway (and reported as not yet verified)."""
    return urgent and rule.status is m.Status.IN_REVIEW and m.is_urgent(rule)


def _with_site(recs: Iterable[Recommendation], site: Site | None) -> Iterable[Recommendation]:
    """Add a site's local approval or note to each recommendation of the rules it concerns."""
    for rec in recs:
        extra = site.details(rec.guideline, rec.version, rec.rule) if site is not None else ()
        yield attrs.evolve(rec, details=(*rec.details, *extra)) if extra else rec


def _disabled_trace(g: m.Guideline, r: m.Rule, site: Site | None) -> RuleTrace | None:
    d = site.disabled(g.id, g.version, r.id) if site is not None else None
    if d is None or site is None:
        return None
    return RuleTrace(
        rule=r.id,
        guideline=g.id,
        version=g.version,
        outcome=RuleOutcome.DISABLED,
        leaves=(f"{d.describe(site.site.name)}. Reason: {d.reason}",),
    )


def _make_plan(
    guidelines: tuple[m.Guideline, ...], statuses: tuple[m.Status, ...], urgent: bool, site: Site | None = None
) -> _Plan:
    ordered = [
        (g, r)
        for g in guidelines
        for r in g.rules
        if r.status in statuses
        or _shown_unverified(r, urgent)
        or (site is not None and site.approves_locally(g.id, g.version, r.id))
    ]
    ordered.sort(key=lambda gr: 0 if isinstance(gr[1], m.ClassificationRule) else 1)
    steps = []
    for g, r in ordered:
        gate_criterion = _gate_of(r)
        agents = agent_names(r) if isinstance(r, m.DosingRule | m.NeurotoxicityRule) else None
        steps.append(
            _Step(
                guideline=g,
                rule=r,
                # Only classification and medication steps are gated one by one (see ``_Plan.hits``); every
                # other gate is decided by ``rest``, so compiling it here too would only cost start-up time.
                gate=(
                    compiled(gate_criterion)
                    if gate_criterion is not None and (agents is not None or isinstance(r, m.ClassificationRule))
                    else None
                ),
                agents=agents,
                not_fired=RuleTrace(rule=r.id, guideline=g.id, version=g.version, outcome=RuleOutcome.NOT_FIRED),
                undetermined=RuleTrace(rule=r.id, guideline=g.id, version=g.version, outcome=RuleOutcome.UNDETERMINED),
                disabled=_disabled_trace(g, r, site),
                reads=None if agents is not None else _kinds.reads(r),
                typed=agents is not None or not _all_findings(_kinds.reads(r)),
                dated=isinstance(r, m.ScreeningRule),
            )
        )
    measured = {r.id: r.fact for _, r in ordered if isinstance(r, m.ClassificationRule)}
    names: set[str] = set(RECOGNISED_AGENTS)
    for g in guidelines:  # every status: an in-review entry still recognises its drug
        for r in g.rules:
            if isinstance(r, m.DosingRule | m.NeurotoxicityRule):
                names |= agent_names(r)
    urgent_ids = frozenset(r.id for _, r in ordered if m.is_urgent(r))
    emergency_ids = frozenset(
        r.id for _, r in ordered if isinstance(r, m.ReferralRule) and r.urgency is m.Urgency.EMERGENCY
    )
    gated = tuple(i for i, s in enumerate(steps) if s.disabled is None and s.agents is None)
    rest = [i for i in gated if not isinstance(steps[i].rule, m.ClassificationRule)]
    # Classifications come first in the plan (sorted above), so every other gate, decided after them, sees
    # their labels.
    by_agent: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        if step.disabled is None and step.agents is not None:
            for name in step.agents:
                by_agent.setdefault(name, []).append(i)
    return _Plan(
        guidelines=guidelines,
        steps=tuple(steps),
        measured=measured,
        agents=frozenset(names),
        urgent=urgent_ids,
        emergency=emergency_ids,
        alone=frozenset(
            fact
            for _, r in ordered
            if r.id in emergency_ids and isinstance(r, m.ReferralRule)
            for _, fact in criterion_facts(r, r.id)
            if decide(r.when, {fact: True}) is True
        ),
        traces=tuple(s.disabled or s.not_fired for s in steps),
        gated=gated,
        by_agent={name: tuple(found) for name, found in by_agent.items()},
        position={(s.guideline.id, s.rule.id): i for i, s in enumerate(steps)},
        first=tuple(i for i in gated if isinstance(steps[i].rule, m.ClassificationRule)),
        rest=compiled_all(
            [(i, _gate_of(steps[i].rule)) for i in rest],
            # Compiled, the list also finds each passing rule's kept result (the look-up ``_decided`` makes),
            # after deciding the classifications one by one.
            {i: _kept_by(steps[i]) for i in gated},
            [(i, _gate_of(steps[i].rule)) for i in gated if isinstance(steps[i].rule, m.ClassificationRule)],
        ),
    )


def _kept_by(step: _Step) -> Kept:
    assert step.reads is not None  # not a medication step
    label = step.rule.id if isinstance(step.rule, m.ClassificationRule) else None
    return Kept(step.reads, step.typed, step.dated, step.memo, step.undetermined, label)


def _all_findings(names: Iterable[str]) -> bool:
    """True if every fact named is a yes/no fact given by the caller (so its values are True or False)."""
    vocab = vocabulary()
    return all(n in vocab and vocab[n].type == "boolean" and vocab[n].derived is None for n in names)


def _gate_of(r: m.Rule) -> m.Criterion | None:
    return getattr(r, "when", None) or getattr(r, "applies", None)


def _first(pair: tuple[int, bool | None]) -> int:
    return pair[0]


def _first_of(pair: tuple[int, _Decided]) -> int:
    return pair[0]


# A presentation pattern leads its section (the likely categories), before ordinary considerations.
_URGENCY = {"emergency": 0, "urgent": 1, "overdue": 2, "due": 3, "pattern": 4}


def _urgency(rec: Recommendation) -> int:
    return _URGENCY.get(rec.status, 5)


def _order(rec: Recommendation) -> tuple[int, int, str, str]:
    """The order of recommendations in an assessment: by section, urgency, guideline and rule."""
    return (_SECTION_ORDER[rec.section], _urgency(rec), rec.guideline, rec.rule)


# A ranked recommendation's key (its first item), without a Python call per recommendation.
_RANK_KEY = operator.itemgetter(0)


# -- replay ---------------------------------------------------------------------


# Short alias: replay builds many differences.
K = DifferenceKind


def replay(
    record: EvaluationRecord | Mapping[str, Any], *, source: Catalog | None = None, site: Site | None = None
) -> ReplayReport:
    """Re-evaluate a record with the guideline versions it names.

    Each guideline version is loaded by id and version and its content hash is
    compared with the record's; then the patient is re-assessed on the same
    date and the recommendations are compared field by field. A record made
    with a site overlay is replayed with ``site``, whose sha256 must match the
    one recorded.
    """
    if not isinstance(record, EvaluationRecord):
        if not isinstance(record, Mapping):  # else an AttributeError (a JSON text goes to EvaluationRecord.from_json)
            raise InputError("record", type(record).__name__, "an EvaluationRecord or its dict form")
        record = EvaluationRecord.from_dict(record)
    if source is not None or site is not None:
        _check_options(source, site, None, None)
    cat = source if source is not None else catalog()
    differences: list[Difference] = []
    chosen: list[tuple[m.Guideline, bool]] = []
    for ref in record.guidelines:
        try:
            g = cat.get(ref.id, version=ref.version)
        except LookupError:
            differences.append(
                Difference(K.GUIDELINE_UNAVAILABLE, f"guideline {ref.id} version {ref.version} is no longer available")
            )
            continue
        if g.sha256 != ref.sha256:
            differences.append(
                Difference(
                    K.CONTENT_CHANGED,
                    f"guideline {ref.id} {ref.version}: content changed (recorded sha256 {ref.sha256}, now {g.sha256})",
                )
            )
        chosen.append((g, ref.pinned))
    if package_version() != record.package:
        differences.append(
            Difference(
                K.PACKAGE_VERSION, f"package version differs: recorded {record.package}, now {package_version()}"
            )
        )
    differences.extend(_site_differences(record, site))
    differences.extend(_inconsistencies(record, chosen))
    made_by_0_1 = record.package.startswith("0.1.")
    try:
        patient = Patient.from_dict(record.patient)
        facts, flags = derive_flagged(patient, record.as_of, without=SINCE_0_2 if made_by_0_1 else frozenset())
    except InputProblemsError as exc:
        problems = [_refused(record, p) for p in exc.problems]
        raise InputProblemsError(problems) from None
    except InputError as exc:
        raise _refused(record, exc) from None

    def run(facts: dict[str, FactValue]) -> Assessment:
        return _run(
            patient,
            facts,
            record.as_of,
            chosen,
            _statuses(record.statuses),
            explain=record.explained,
            urgent=record.urgent_unverified,
            flags=flags,
            unlocked=cat.unlocked,
            site=site if record.site is not None else None,
        )

    again = run(facts)
    differences.extend(_diff_recommendations(record.recommendations, again.recommendations))
    read = frozenset(f for g, _ in chosen for r in g.rules for _, f in criterion_facts(r, ""))
    differences.extend(_diff_record_parts(record, again.record, read))
    if made_by_0_1:
        differences.extend(_held_back(patient, record.as_of, facts, again, run))
    substantive = [d for d in differences if d.kind.substantive]
    return ReplayReport(identical=not substantive, differences=tuple(differences), assessment=again)


def _held_back(
    patient: Patient,
    as_of: dt.date,
    facts: dict[str, FactValue],
    again: Assessment,
    run: Callable[[dict[str, FactValue]], Assessment],
) -> list[Difference]:
    """What the derivations added since 0.1 (left out so a 0.1 record replays as made) would change, said aloud."""
    full = derive_flagged(patient, as_of)[0]
    changed = {k: full.get(k) for k in sorted(SINCE_0_2) if full.get(k) != facts.get(k)}
    if not changed:
        return []
    derived = ", ".join(f"{k} = {v!r}" for k, v in changed.items())
    head = f"this version derives {derived} (since 0.2.0); the replay left it out, as the record's release did"
    changes = _diff_recommendations(again.recommendations, run(full).recommendations)
    if not changes:
        return [Difference(K.NEWER_CODE, f"{head}; with it, the recommendations are the same")]
    return [Difference(K.NEWER_CODE, f"{head}; with it: {d}") for d in changes]


def _refused(record: EvaluationRecord, exc: InputError) -> InputError:
    """The record's patient refused by this version, named as the record's.

    For an earlier release's record the refusal is said to be this version's (its checks may be stricter), not
    proof that the record was altered.
    """
    expected = exc.expected
    if record.package != package_version() and not newer_package(record.package):
        expected += (
            f" (this version refuses the record's patient; neuroguide {record.package} wrote the record, so it "
            "accepted this value unless the record was altered: later releases check inputs more strictly. The "
            f"record's {len(record.recommendations)} recommendation(s) stand as recorded but cannot be re-evaluated "
            f"here; replay with neuroguide {record.package} to reproduce them)"
        )
    return InputError(f"record.patient.{exc.field}", exc.value, expected)


def _site_differences(record: EvaluationRecord, site: Site | None) -> list[Difference]:
    stamp = record.site
    if stamp is None:
        if site is None:
            return []
        return [
            Difference(
                K.SITE_OVERLAY,
                f"the record was made without a site overlay; the overlay of {site.site.name} given to the replay "
                "was not applied",
            )
        ]
    if site is None:
        return [
            Difference(
                K.SITE_OVERLAY,
                f"the record applied the site overlay of {stamp.name} (sha256 {stamp.sha256}); none was given to "
                "the replay, so it ran without it",
            )
        ]
    if site.sha256 != stamp.sha256:
        return [
            Difference(
                K.SITE_OVERLAY,
                f"site overlay of {stamp.name}: content changed (recorded sha256 {stamp.sha256}, given {site.sha256})",
            )
        ]
    return []


def _inconsistencies(record: EvaluationRecord, chosen: Sequence[tuple[m.Guideline, bool]]) -> list[Difference]:
    """Where the record contradicts itself: such a record was altered or damaged after it was made."""
    out: list[Difference] = []
    named = Counter(ref.id for ref in record.guidelines)
    versions = {(ref.id, ref.version) for ref in record.guidelines}
    for gid, n in sorted(named.items()):
        if n > 1:
            out.append(Difference(K.RECORD_INCONSISTENT, f"guideline {gid} is listed {n} times in the record"))
    if not record.guidelines and (record.trace or record.recommendations):
        out.append(
            Difference(
                K.RECORD_INCONSISTENT,
                f"the record names no guideline, yet holds {len(record.trace)} rule trace(s) and "
                f"{len(record.recommendations)} recommendation(s)",
            )
        )
        return out
    recorded_rules = {(g.id, g.version): {r.id for r in g.rules} for g, _ in chosen}
    # 0.1.x gave a medication rule one recommendation per medication entry naming its drug (duplicate therapy
    # is summed into one since 0.2.0): a repeat of such a rule in its recommendations is how it was written.
    per_entry = (
        {(g.id, r.id) for g, _ in chosen for r in g.rules if isinstance(r, m.DosingRule | m.NeurotoxicityRule)}
        if record.package.startswith("0.1.")
        else set()
    )
    parts: list[tuple[str, Sequence[RuleTrace] | Sequence[Recommendation]]] = [
        ("trace", record.trace),
        ("recommendations", record.recommendations),
    ]
    for what, entries in parts:
        seen = Counter((e.guideline, e.rule) for e in entries)
        for (gid, rule), n in sorted(seen.items()):
            if n > 1 and not (what == "recommendations" and (gid, rule) in per_entry):
                out.append(Difference(K.RECORD_INCONSISTENT, f"rule {rule} ({gid}) appears {n} times in the {what}"))
        for e in entries:
            if (e.guideline, e.version) not in versions:
                out.append(
                    Difference(
                        K.RECORD_INCONSISTENT,
                        f"rule {e.rule} ({e.guideline}): the {what} names version {e.version}, which the record's "
                        "guideline list does not",
                    )
                )
            elif e.rule not in recorded_rules.get((e.guideline, e.version), {e.rule}):
                out.append(
                    Difference(
                        K.RECORD_INCONSISTENT,
                        f"rule {e.rule} ({e.guideline}): the {what} names a rule that {e.guideline} {e.version} "
                        "does not hold",
                    )
                )
    return out


def _diff_record_parts(
    before: EvaluationRecord, after: EvaluationRecord, read: frozenset[str] = frozenset()
) -> list[Difference]:
    """Differences in the normalized facts, the decision trace, the flags, the unlocked files and the missing inputs.

    A fact the record lacks and no rule of the recorded guideline versions reads is skipped: a later package
    derives it for newer rules, and it cannot have changed anything these versions decide.
    """
    out: list[Difference] = []
    for name in sorted(set(before.facts) | set(after.facts)):
        if name not in before.facts and name not in read:
            continue
        if not _same_fact(before.facts.get(name), after.facts.get(name)):
            text = f"fact {name}: recorded {before.facts.get(name)!r}, now {after.facts.get(name)!r}"
            # the input left out now, when the record holds no flag on it (a check added since the record's release)
            why = [f for f in after.flags if f not in before.flags and name in _flagged_names(f.field)]
            out.append(Difference(K.FACT, text + "".join(f" (flagged now: {f.kind.value}: {f.message})" for f in why)))
    old = {(t.guideline, t.rule): t for t in before.trace}
    new = {(t.guideline, t.rule): t for t in after.trace}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            where = "not in the recorded trace" if a is None else "no longer evaluated"
            out.append(Difference(K.TRACE, f"rule {key[1]} ({key[0]}): {where}"))
        elif a != b:
            was, now = _converter.shared().unstructure(a), _converter.shared().unstructure(b)
            changed = "; ".join(f"{f} was {was[f]!r}, now {now.get(f)!r}" for f in was if was[f] != now.get(f))
            out.append(Difference(K.TRACE, f"rule {key[1]} ({key[0]}) trace: {changed}"))
    if before.flags != after.flags:  # a flag shown first in the report: removed or added, the record was altered
        was = "; ".join(str(f) for f in before.flags) or "none"
        now = "; ".join(str(f) for f in after.flags) or "none"
        out.append(Difference(K.FACT, f"inputs flagged were [{was}], now [{now}]"))
    if before.unlocked != after.unlocked:
        was, now = ", ".join(before.unlocked) or "none", ", ".join(after.unlocked) or "none"
        out.append(Difference(K.CONTENT_CHANGED, f"guideline files not matching lock.json were [{was}], now [{now}]"))
    if before.missing != after.missing:
        was, now = [m.fact for m in before.missing], [m.fact for m in after.missing]
        added = ", ".join(f for f in now if f not in was)
        gone = ", ".join(f for f in was if f not in now)
        parts = [f"now also missing [{added}]"] if added else []
        parts += [f"no longer missing [{gone}]"] if gone else []
        if not parts:
            now_by = {m.fact: m for m in after.missing}
            parts = [
                f"{a.fact}: {f} was {getattr(a, f)!r}, now {getattr(now_by[a.fact], f)!r}"
                for a in before.missing
                for f in ("label", "needed_by")
                if a.fact in now_by and getattr(a, f) != getattr(now_by[a.fact], f)
            ] or ["the same inputs, asked in another order"]
        out.append(Difference(K.MISSING_INPUTS, "missing inputs: " + "; ".join(parts)))
    return out


def _flagged_names(field: str) -> set[str]:
    """The fact names a flag's field names ('findings.a and findings.b', 'measurements.crcl', 'birth_date')."""
    return {part.strip().rpartition(".")[2] for part in field.split(" and ")}


def _diff_recommendations(before: Sequence[Recommendation], after: Sequence[Recommendation]) -> list[Difference]:
    out: list[Difference] = []
    old = {(r.rule, r.guideline): r for r in before}
    new = {(r.rule, r.guideline): r for r in after}
    # A rule given more than once (0.1.x: one per medication entry naming its drug) is compared entry by entry.
    was, now = Counter((r.rule, r.guideline) for r in before), Counter((r.rule, r.guideline) for r in after)
    for key in sorted(set(old) & set(new)):
        if was[key] != now[key]:
            out.append(
                Difference(
                    K.RECOMMENDATION_CHANGED,
                    f"rule {key[0]} ({key[1]}): recommended {was[key]} time(s) in the record, now {now[key]}",
                )
            )
    if any(n > 1 for n in was.values()):
        # compare the first recorded entry of a repeated rule, as the current code gives one
        old = {}
        for r in before:
            old.setdefault((r.rule, r.guideline), r)
    for key in sorted(set(old) - set(new)):
        out.append(
            Difference(
                K.RECOMMENDATION_REMOVED, f"rule {key[0]} ({key[1]}): recorded recommendation no longer produced"
            )
        )
    for key in sorted(set(new) - set(old)):
        out.append(
            Difference(K.RECOMMENDATION_ADDED, f"rule {key[0]} ({key[1]}): new recommendation not in the record")
        )
    converter = _converter.shared()
    for key in sorted(set(old) & set(new)):
        a = converter.unstructure(old[key])
        b = converter.unstructure(new[key])
        for field in a:
            if a[field] != b[field]:
                text = f"rule {key[0]} ({key[1]}): {field} was {a[field]!r}, now {b[field]!r}"
                out.append(Difference(K.RECOMMENDATION_CHANGED, text))
    if not out and [r.rule for r in before] != [r.rule for r in after]:
        out.append(Difference(K.RECOMMENDATION_ORDER, "recommendations are the same but in a different order"))
    return out
