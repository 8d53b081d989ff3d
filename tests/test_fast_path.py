"""The fast evaluation path gives exactly what the explained path gives.

``assess`` decides each rule's gate once, explains only rules that fire or cannot be decided (with criteria
explainers compiled once), and keeps each rule's result by the values of the facts it reads. None of that may
change an answer: these properties compare the compiled explanations with the reference ``evaluate``, a
result served from kept results with one computed afresh, and the cohort mode (``explain=False``) with the
explained mode, over generated patients.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import _criteria, _kinds, _medcheck, evaluation
from neuroguide import model as m
from neuroguide._facts import derive_flagged
from neuroguide._loading import catalog
from neuroguide._vocabulary import vocabulary
from neuroguide.exceptions import InputError
from neuroguide.results import RuleOutcome, leaves_of
from strategies import patients

AS_OF = dt.date(2026, 11, 23)


def _criteria_of(rule: m.Rule) -> list[m.Criterion]:
    found = [c for c in (getattr(rule, "when", None), getattr(rule, "applies", None)) if c is not None]
    if isinstance(rule, m.ScreeningRule):
        found += [sp.when for sp in rule.start] + [th.when for th in rule.intervals]
    return found


CRITERIA = [c for g in catalog().all() for r in g.rules for c in _criteria_of(r)]


def _value(name: str) -> st.SearchStrategy[Any]:
    spec = vocabulary().get(name)
    kind = spec.type if spec is not None else "category"
    if kind == "boolean":
        return st.booleans()
    if kind in ("quantity", "number"):
        return st.floats(-1e4, 1e4, allow_nan=False) | st.sampled_from([0.0, 0.9, 1.0, 6.5, 30.0, 60.0])
    if kind == "date":
        return st.dates(dt.date(1990, 1, 1), AS_OF)
    values = list(spec.values) if spec is not None and spec.values else ["a", "b"]
    return st.sampled_from(values)


@st.composite
def _criterion_and_facts(draw: st.DrawFn) -> tuple[m.Criterion, dict[str, Any]]:
    c = draw(st.sampled_from(CRITERIA))
    facts = {}
    for name in dict.fromkeys(_criteria.facts_in(c)):
        value = draw(st.one_of(st.none(), _value(name)))
        if value is not None:
            facts[name] = value
    return c, facts


@settings(max_examples=400, deadline=None)
@given(_criterion_and_facts())
def test_compiled_explanations_match_the_reference_evaluation(case: tuple[m.Criterion, dict[str, Any]]) -> None:
    c, facts = case
    reference = _criteria.evaluate(c, facts)
    got = _criteria.explain(c, facts)
    assert got.result is reference.result
    assert got.result is _criteria.decide(c, facts)
    assert got.lines == leaves_of(reference)
    assert got.reasons == reference.reasons()
    assert got.missing == reference.missing


@settings(max_examples=200, deadline=None)
@given(_criterion_and_facts())
def test_decide_gives_the_reference_result_through_closures_and_generated_code(
    case: tuple[m.Criterion, dict[str, Any]],
) -> None:
    """``decide`` starts on closures and switches to the generated function at its ``COMPILE_AFTER``-th call."""
    c, facts = case
    expected = _criteria.evaluate(c, facts).result
    _criteria._DECIDING.clear()
    seen = [_criteria.decide(c, facts)]
    ((_, first),) = _criteria._DECIDING.values()
    assert first is not _criteria.compiled(c)  # closures: nothing generated for a criterion decided once
    seen += [_criteria.decide(c, facts) for _ in range(_criteria.COMPILE_AFTER)]
    assert all(found is expected for found in seen)
    ((calls, decider),) = _criteria._DECIDING.values()
    assert calls == _criteria.COMPILE_AFTER + 1
    assert decider is _criteria.compiled(c)  # the generated function (or its fall-back), shared with the plans


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_gate_list_decides_alike_through_closures_and_compiled(data: st.DataObject) -> None:
    """A plan's gates give the reference results before compilation (closures), after it, and at the switch."""
    chosen = data.draw(st.lists(st.sampled_from(CRITERIA), min_size=1, max_size=12))
    facts: dict[str, Any] = {}
    for c in chosen:
        for name in dict.fromkeys(_criteria.facts_in(c)):
            value = data.draw(st.one_of(st.none(), _value(name)))
            if value is not None:
                facts.setdefault(name, value)
    numbered: list[tuple[int, m.Criterion | None]] = [(2 * i, c) for i, c in enumerate(chosen)]
    numbered.insert(data.draw(st.integers(0, len(numbered))), (1, None))  # no criterion: always holds
    expected = [
        (pos, result)
        for pos, c in numbered
        if (result := True if c is None else _criteria.evaluate(c, facts).result) is not False
    ]
    gates = _criteria.compiled_all(numbered)
    assert _criteria._generate_gates(numbered) is not None  # no silent fall-back to closures
    seen = [gates(facts) for _ in range(_criteria.COMPILE_AFTER + 1)]  # the last calls are compiled
    assert all(found == expected for found in seen)
    assert gates._decide.__name__ == "gates"  # type: ignore[attr-defined]  # the generated function


def _assess(doc: dict[str, Any], **options: Any) -> ng.Assessment | None:
    try:
        return ng.assess(doc, as_of=AS_OF, **options)
    except InputError:  # a generated patient the engine refuses, as for any caller
        return None


@settings(max_examples=60, deadline=None)
@given(st.lists(patients(), min_size=2, max_size=6))
def test_kept_results_equal_fresh_ones(docs: list[dict[str, Any]]) -> None:
    """A rule result served from what other patients left equals one computed with nothing kept."""
    evaluation.forget_kept()
    fresh = [_assess(doc) for doc in docs]
    for doc, first in zip(docs, fresh, strict=True):
        evaluation.forget_kept()
        alone = _assess(doc)
        again = _assess(doc)
        if first is None:
            assert alone is None
            continue
        assert alone is not None and again is not None
        assert first.record == alone.record == again.record
        assert first.missing == alone.missing and first.urgent_missing == alone.urgent_missing
        assert first.urgent_decisive == alone.urgent_decisive == again.urgent_decisive


@settings(max_examples=60, deadline=None)
@given(patients())
def test_fast_and_explained_paths_agree(doc: dict[str, Any]) -> None:
    """explain=False changes only the explanation of undecided rules: same statuses, dates, text, fired rules."""
    full = _assess(doc)
    fast = _assess(doc, explain=False)
    if full is None:
        assert fast is None
        return
    assert fast is not None
    assert fast.recommendations == full.recommendations
    assert [(r.rule, r.status, r.due, r.due_by, r.action, r.reasons) for r in fast.recommendations] == [
        (r.rule, r.status, r.due, r.due_by, r.action, r.reasons) for r in full.recommendations
    ]
    fired = [t for t in full.record.trace if t.outcome is RuleOutcome.FIRED]
    assert [t for t in fast.record.trace if t.outcome is RuleOutcome.FIRED] == fired
    assert [(t.rule, t.outcome) for t in fast.record.trace] == [(t.rule, t.outcome) for t in full.record.trace]
    assert fast.record.facts == full.record.facts


@settings(max_examples=40, deadline=None)
@given(patients())
def test_a_rule_decided_by_its_gate_is_explained_as_if_decided_alone(doc: dict[str, Any]) -> None:
    """Passing the gate's result in (each rule decided once) gives what deciding the rule afresh gives."""
    try:
        patient = ng.Patient.from_dict(doc)
        facts, _ = derive_flagged(patient, AS_OF)
    except InputError:
        return
    for g in catalog().in_effect(AS_OF):
        for rule in g.rules:
            if isinstance(rule, m.DosingRule | m.NeurotoxicityRule | m.ClassificationRule):
                continue
            gate_criterion = getattr(rule, "when", None) or getattr(rule, "applies", None)
            assert gate_criterion is not None, rule.id
            gate = _criteria.decide(gate_criterion, facts)
            alone = _kinds.evaluate_rule(rule, g, patient, dict(facts), AS_OF)
            given_gate = _kinds.evaluate_rule(rule, g, patient, dict(facts), AS_OF, gate)
            assert given_gate == alone, rule.id


def test_every_rule_reads_what_it_depends_on() -> None:
    """The facts a rule's result is kept by include every fact its criteria, anchors and dates name."""
    for g in catalog().all():
        for rule in g.rules:
            if isinstance(rule, m.DosingRule | m.NeurotoxicityRule):
                with pytest.raises(TypeError):
                    _kinds.reads(rule)
                continue
            reads = set(_kinds.reads(rule))
            for c in _criteria_of(rule):
                assert set(_criteria.facts_in(c)) <= reads, rule.id
            if isinstance(rule, m.ScreeningRule):
                assert rule.last_done in reads and {sp.anchor for sp in rule.start} <= reads
            if isinstance(rule, m.ClassificationRule):
                assert rule.fact in reads


def _plans() -> tuple[list[tuple[m.Guideline, bool]], Any, Any]:
    """The approved plan twice, each with its own kept results: one on closures, one compiled into its loop."""
    chosen = evaluation._choose(catalog(), AS_OF, (), None)
    guidelines = tuple(g for g, _ in chosen)
    by_closures = evaluation._make_plan(guidelines, (m.Status.APPROVED,), True)
    compiled = evaluation._make_plan(guidelines, (m.Status.APPROVED,), True)
    assert isinstance(compiled.rest, _criteria.Gates)
    compiled.rest.compile()
    assert compiled.rest.loop is not None  # no silent fall-back to the step-by-step loop
    return chosen, by_closures, compiled


CHOSEN, BY_CLOSURES, COMPILED = _plans()


@settings(max_examples=80, deadline=None)
@given(st.lists(patients(), min_size=1, max_size=4), st.booleans())
def test_the_compiled_plan_loop_gives_what_the_step_by_step_loop_gives(
    docs: list[dict[str, Any]], explain: bool
) -> None:
    """The generated loop (gates, kept-result look-ups, medication steps merged) equals deciding step by step.

    Each patient is assessed by a plan on closures and twice by a compiled plan (the second time from what
    the first kept), after other generated patients left their results in both stores.
    """
    for doc in docs:
        try:
            patient = ng.Patient.from_dict(doc)
            facts, derived_flags = derive_flagged(patient, AS_OF)
        except InputError:
            continue

        def run(
            plan: Any, patient: ng.Patient = patient, facts: dict[str, Any] = facts, flags: Any = derived_flags
        ) -> ng.Assessment:
            return evaluation._run(
                patient, dict(facts), AS_OF, CHOSEN, (m.Status.APPROVED,), explain=explain, urgent=True,
                flags=flags, plan=plan,
            )  # fmt: skip

        reference = run(BY_CLOSURES)
        first, again = run(COMPILED), run(COMPILED)
        for got in (first, again):
            assert got.record == reference.record
            assert got.recommendations == reference.recommendations
            assert got.missing == reference.missing and got.urgent_missing == reference.urgent_missing


class _Reading(dict[str, Any]):
    """A fact table that notes every fact read from it."""

    def __init__(self, facts: dict[str, Any]) -> None:
        super().__init__(facts)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


@settings(max_examples=60, deadline=None)
@given(patients())
def test_medication_rules_read_only_the_facts_their_results_are_kept_by(doc: dict[str, Any]) -> None:
    """A medication rule's kept result is keyed by ``_medcheck.READS``: the checks read no other fact."""
    try:
        patient = ng.Patient.from_dict(doc)
        facts, _ = derive_flagged(patient, AS_OF)
    except InputError:
        return
    for g in catalog().in_effect(AS_OF):
        for rule in g.rules:
            if isinstance(rule, m.DosingRule | m.NeurotoxicityRule):
                reading = _Reading(facts)
                try:
                    _medcheck.evaluate(rule, g, patient, reading, AS_OF)
                except InputError:
                    continue
                assert reading.read <= set(_medcheck.READS), (rule.id, reading.read - set(_medcheck.READS))


def test_a_medication_entry_is_keyed_by_how_it_reads() -> None:
    """Entries equal as quantities but written differently (1000 mg, 1 g) are kept apart; equal ones share."""

    def entry(dose: str) -> ng.Medication:
        return ng.Patient.from_dict({"medications": [{"agent": "gabapentin", "dose": dose, "per": "day"}]}).medications[
            0
        ]

    assert _medcheck.medications_key([entry("1000 mg")]) == _medcheck.medications_key([entry("1000 mg")])
    assert _medcheck.medications_key([entry("1000 mg")]) != _medcheck.medications_key([entry("1 g")])
    assert _medcheck.medications_key([entry("1000 mg")]) != _medcheck.medications_key([entry("1000 ug")])
    # The reading makes 1000 and 1000.0 the same float, so they read alike and share.
    assert _medcheck.medications_key([entry("1000 mg")]) == _medcheck.medications_key([entry("1000.0 mg")])
