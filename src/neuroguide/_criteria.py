"""Three-valued evaluation of declarative criteria over a fact table.

A criterion is true, false, or unknown (``None``) when a fact it needs is
missing. ``all`` is false if any part is false, true if all are true, else
unknown; ``any`` is the dual; ``not`` keeps unknown unknown. Missing facts are
therefore reported, never assumed normal.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeAlias

import attrs

from . import model as m
from ._cache import IdentityCache
from ._numeric import BOUNDS, LIMITED, versus
from ._numeric import shown as shown_number
from ._vocabulary import vocabulary
from .units import Quantity, format_quantity, is_quantity, magnitude, parse_quantity

__all__ = ["Explained", "Facts", "Kept", "KeptLoop", "Leaf", "Outcome", "evaluate", "explain"]

FactValue = bool | float | str | dt.date
Facts = Mapping[str, FactValue]
Decider: TypeAlias = Callable[[Facts], bool | None]


@attrs.frozen
class Leaf:
    """One elementary test and its result, for reasons and the record."""

    text: str
    result: bool | None
    missing: str | None = None


@attrs.frozen
class Outcome:
    """The result of a criterion, the leaves that decided it, and missing facts."""

    result: bool | None
    leaves: tuple[Leaf, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """Fact names whose absence left the result unknown (none once the result is decided)."""
        if self.result is not None:
            return ()
        return tuple(dict.fromkeys(leaf.missing for leaf in self.leaves if leaf.missing))

    def reasons(self) -> tuple[str, ...]:
        """Human-readable leaves that were true (for a fired rule)."""
        return tuple(leaf.text for leaf in self.leaves if leaf.result is True)


def facts_in(c: m.Criterion) -> Iterator[str]:
    """Yield every fact name a criterion tests, in order of appearance."""
    if isinstance(c, m.Fact):
        yield c.name
    elif isinstance(c, m.Compare):
        yield c.fact
    elif isinstance(c, m.Not):
        yield from facts_in(c.not_)
    else:
        for part in c.all if isinstance(c, m.AllOf) else c.any:
            yield from facts_in(part)


def decide(c: m.Criterion, facts: Facts) -> bool | None:
    """Return only the three-valued result of ``c`` (fast: no leaves are built).

    The criterion is compiled once into nested closures, and into generated code (:func:`compiled`) once it has
    been decided ``COMPILE_AFTER`` times: generating costs as much as a few dozen calls through closures, and most
    criteria decided here are decided a few times per process (a plan's urgent findings, the report's "would
    decide" findings). ``evaluate`` is used afterwards, only for rules that fire or cannot be decided, to explain
    why.
    """
    entry = _DECIDING.get((c,), None, lambda: [0, _compile(c)])
    entry[0] += 1
    if entry[0] == COMPILE_AFTER:
        entry[1] = compiled(c)
    decider: Decider = entry[1]
    return decider(facts)


_DECIDING: IdentityCache[list[Any]] = IdentityCache(limit=4096)  # [calls, decider] per criterion


def compiled(c: m.Criterion) -> Decider:
    """Return ``c`` compiled into a function of the fact table (cached)."""
    return _COMPILED.get((c,), None, lambda: _generate(c) or _compile(c))


_COMPILED: IdentityCache[Decider] = IdentityCache(limit=4096)


def _compile(c: m.Criterion) -> Decider:
    if isinstance(c, m.Fact):
        name = c.name

        def fact(facts: Facts) -> bool | None:
            value = facts.get(name)
            return None if value is None else bool(value)

        return fact
    if isinstance(c, m.Compare):
        return _compile_compare(c)
    if isinstance(c, m.Not):
        inner = _compile(c.not_)

        def negate(facts: Facts) -> bool | None:
            res = inner(facts)
            return None if res is None else not res

        return negate
    parts = tuple(_compile(p) for p in (c.all if isinstance(c, m.AllOf) else c.any))
    if isinstance(c, m.AllOf):

        def all_of(facts: Facts) -> bool | None:
            unknown = False
            for part in parts:
                res = part(facts)
                if res is False:
                    return False
                if res is None:
                    unknown = True
            return None if unknown else True

        return all_of

    def any_of(facts: Facts) -> bool | None:
        unknown = False
        for part in parts:
            res = part(facts)
            if res is True:
                return True
            if res is None:
                unknown = True
        return None if unknown else False

    return any_of


def _compile_compare(c: m.Compare) -> Decider:
    name = c.fact
    if c.op == "in":
        allowed = frozenset(c.value)  # type: ignore[arg-type]

        def member(facts: Facts) -> bool | None:
            value = facts.get(name)
            return None if value is None else value in allowed

        return member
    target: object = threshold(c.fact, c.value) if is_quantity(c.value) else c.value
    op, symbol = _OPS[c.op], c.op
    if name not in LIMITED:

        def compare(facts: Facts) -> bool | None:
            value = facts.get(name)
            return None if value is None else bool(op(value, target))

        return compare

    def limited(facts: Facts) -> bool | None:
        value = facts.get(name)
        if value is None:
            return None
        if type(value) in BOUNDS:  # a limit: its whole interval against the threshold
            return versus(value, symbol, target)  # type: ignore[arg-type]
        return bool(op(value, target))

    return limited


# -- deciders as generated code ----------------------------------------------------------
#
# Nested closures cost a Python call per node. The planner decides every gate of every
# rule for every patient, so a criterion is also turned into the source of one flat
# function (local variables, short cuts as in the closures) and compiled once. Only
# names and constants the criterion holds go into it, as constants bound at compile
# time, never as text; ``_compile`` remains the fallback (e.g. nesting too deep).


def _generate(c: m.Criterion) -> Decider | None:
    consts: dict[str, object] = {}
    lines: list[str] = []
    try:
        result = _emit(c, lines, consts, [], 1)
    except (TypeError, ValueError):  # pragma: no cover - every model criterion kind is emitted
        return None
    source = "def decide(facts):\n    get = facts.get\n" + "\n".join(lines) + f"\n    return {result}\n"
    namespace: dict[str, Any] = dict(consts)
    try:
        # The source is built here from the criterion's structure; its names and values are bound constants.
        exec(compile(source, f"<criterion {len(_SOURCES)}>", "exec"), namespace)
    except (SyntaxError, RecursionError, MemoryError):  # too deeply nested for one function
        return None
    _SOURCES.append(source)
    decider: Decider = namespace["decide"]
    return decider


_SOURCES: list[str] = []  # kept for tracebacks and inspection; bounded by the number of criteria


GateList: TypeAlias = Callable[[Facts], list[tuple[int, bool | None]]]


def compiled_all(
    criteria: Sequence[tuple[int, m.Criterion | None]],
    kept: Mapping[int, Kept] | None = None,
    first: Sequence[tuple[int, m.Criterion | None]] = (),
) -> GateList:
    """Numbered criteria as one gate list returning ``(number, result)`` for each not false, in order.

    A missing criterion (None) always holds. The first calls are decided by closures; after
    ``COMPILE_AFTER`` calls the list is compiled into one function (see :class:`Gates`). With ``kept``
    (for every number), the compiled form is a :data:`KeptLoop` instead (``Gates.loop``), which first decides
    the gates of ``first`` one after the other (classifications, each ``kept`` with the fact its label sets).
    """
    return Gates(tuple(criteria), kept, tuple(first))


COMPILE_AFTER = 64
"""Calls of a gate list decided through closures before it is compiled into one function."""


class Kept(NamedTuple):
    """How a caller keeps the result of the rule behind one gate: by the values of the facts it reads.

    The key is one flat tuple: ``as_of`` if ``dated``, then ``facts.get(name)`` for each of ``reads``, then
    their types if ``typed``; ``memo`` maps keys to results, each with a ``trace`` and a
    ``more`` attribute (see :data:`KeptLoop`). ``undetermined`` is the trace of an undecided gate when the caller
    does not explain.
    """

    reads: tuple[str, ...]
    typed: bool
    dated: bool
    memo: Mapping[Any, Any]
    undetermined: object
    label: str | None = None
    """For a classification decided before the other gates: the fact its result's ``label`` sets."""


KeptLoop: TypeAlias = Callable[
    [
        Facts,
        dt.date,
        bool,
        list[Any],
        Callable[[Any], None],
        Callable[[Sequence[Any]], None],
        Callable[[int, bool | None], Any],
        Callable[[str, Any], None],
    ],
    None,
]
"""``loop(facts, as_of, explain, traces, ask, rank, miss, label)``: decide every gate and, for each not false, find its
rule's kept result by its key (or ``miss(number, gate result)`` computes it) and set ``traces[number]`` to the
result's ``trace``; if its ``more`` is true, call ``ask(result)`` if its ``asks`` is true and ``rank(its
ranked)`` if that is not empty. Without ``explain``, an undecided gate's trace is its ``undetermined`` one and
nothing is looked up. A classification's label is set in ``facts`` and passed to ``label(fact, label)``.
Generated once per plan (see :class:`Gates`).
"""


class Gates:
    """A plan's gates: closures for the first calls, then one generated function.

    One call of the generated function saves the Python call per node and the loop per rule that
    closures cost, but compiling it costs about as much as some hundreds of calls through closures.
    A process that assesses one patient (the command line) never pays for the compilation; a
    long-running one (the service, a loop over patients) pays once, early. Both give the same
    results (a property test compares them).

    A gate list made with ``kept`` compiles, instead, into :attr:`loop`, which also looks up each passing
    gate's kept result (one generated function for the whole plan); calling the list itself then compiles
    the plain gate list on first use.
    """

    __slots__ = ("_calls", "_criteria", "_decide", "_first", "_kept", "loop")

    def __init__(
        self,
        criteria: tuple[tuple[int, m.Criterion | None], ...],
        kept: Mapping[int, Kept] | None = None,
        first: tuple[tuple[int, m.Criterion | None], ...] = (),
    ) -> None:
        self._criteria = criteria
        self._kept = kept
        self._first = first
        self._calls = 0
        self._decide: GateList = _gates_by_closures(criteria)
        self.loop: KeptLoop | None = None
        """The compiled plan loop (a list made with ``kept``, once compiled), else None."""

    def __call__(self, facts: Facts) -> list[tuple[int, bool | None]]:
        if self._calls < COMPILE_AFTER:
            self._calls += 1
            if self._calls == COMPILE_AFTER:
                self.compile()
        elif self._calls == COMPILE_AFTER and self.loop is not None:
            self._calls += 1  # compiled into the loop: the plain list is compiled only if asked for
            self._decide = _generate_gates(self._criteria) or self._decide
        return self._decide(facts)

    def compile(self) -> None:
        """Decide by one generated function from now on (kept on closures if it cannot be generated)."""
        self._calls = COMPILE_AFTER
        if self._kept is not None:
            self.loop = _generate_loop(self._criteria, self._kept, self._first)
            if self.loop is not None:
                return
        self._decide = _generate_gates(self._criteria) or self._decide


def _gates_by_closures(criteria: Sequence[tuple[int, m.Criterion | None]]) -> GateList:
    deciders = [(pos, _compile(c) if c is not None else None) for pos, c in criteria]

    def each(facts: Facts) -> list[tuple[int, bool | None]]:
        found = ((pos, d(facts) if d is not None else True) for pos, d in deciders)
        return [(pos, res) for pos, res in found if res is not False]

    return each


def _generate_gates(criteria: Sequence[tuple[int, m.Criterion | None]]) -> GateList | None:
    """One generated function deciding every criterion (None if it cannot be generated).

    Each fact is read once, at the top, into a local (and, if a criterion tests it as a yes/no fact, its
    three-valued truth too): the gates of a plan test the same few facts many times.
    """
    consts: dict[str, object] = {}
    made: list[str] = []
    lines = ["def gates(facts):", "    get = facts.get", "    out = []", "    keep = out.append"]
    hoisted: dict[str, str] = {}
    truths: set[str] = set()
    try:
        for _, c in criteria:
            if c is not None:
                _leaves(c, hoisted, truths)
        for name, local in hoisted.items():
            lines.append(f"    {local} = get({_const(consts, name)})")
            if name in truths:
                lines.append(f"    t{local} = None if {local} is None else bool({local})")
        for pos, c in criteria:
            if c is None:
                lines.append(f"    keep(({pos}, True))")
                continue
            result = _emit(c, lines, consts, made, 1, hoisted)
            lines.append(f"    if {result} is not False:")
            lines.append(f"        keep(({pos}, {result}))")
        lines.append("    return out")
        namespace: dict[str, Any] = dict(consts)
        # As in ``_generate``: source built from the criteria's structure, values bound as constants.
        exec(compile("\n".join(lines) + "\n", f"<gates {len(_SOURCES)}>", "exec"), namespace)
    except (TypeError, ValueError, SyntaxError, RecursionError, MemoryError):  # pragma: no cover - fallback
        return None
    _SOURCES.append("\n".join(lines))
    gates: GateList = namespace["gates"]
    return gates


def _generate_loop(
    criteria: Sequence[tuple[int, m.Criterion | None]],
    kept: Mapping[int, Kept],
    first: Sequence[tuple[int, m.Criterion | None]] = (),
) -> KeptLoop | None:
    """The gate list of :func:`_generate_gates` fused with each rule's kept-result look-up (None if not generated).

    Every fact a gate or a key reads is read once, at the top; a key is built from those locals exactly as
    :class:`Kept` describes, so the results computed one by one and those found here share one store.
    The gates of ``first`` come before, each reading its facts when decided: a classification's label is a fact
    the gates after it may test, set in ``facts`` (and passed to ``label``) before they read it.
    """
    consts: dict[str, object] = {}
    made: list[str] = []
    lines = ["def loop(facts, as_of, explain, traces, ask, rank, miss, label):", "    get = facts.get"]
    hoisted: dict[str, str] = {}
    truths: set[str] = set()
    try:
        for pos, c in first:
            _emit_kept(pos, c, kept[pos], lines, consts, made, None)
        top = len(lines)
        for pos, c in criteria:
            if c is not None:
                _leaves(c, hoisted, truths)
            for name in kept[pos].reads:
                hoisted.setdefault(name, f"f{len(hoisted)}")
        for pos, c in criteria:
            _emit_kept(pos, c, kept[pos], lines, consts, made, hoisted)
        # Every fact read into its local in one pass (``map`` over the names), then the truths of yes/no facts.
        reads = [f"    {', '.join(hoisted.values())}, = map(get, {_const(consts, tuple(hoisted))})"] if hoisted else []
        reads += [
            f"    t{local} = None if {local} is None else bool({local})"
            for name, local in hoisted.items()
            if name in truths
        ]
        lines[top:top] = reads
        namespace: dict[str, Any] = dict(consts)
        # As in ``_generate``: source built from the criteria's structure, values bound as constants.
        exec(compile("\n".join(lines) + "\n", f"<plan loop {len(_SOURCES)}>", "exec"), namespace)
    except (TypeError, ValueError, SyntaxError, RecursionError, MemoryError):  # pragma: no cover - fallback
        return None
    _SOURCES.append("\n".join(lines))
    loop: KeptLoop = namespace["loop"]
    return loop


def _emit_kept(
    pos: int,
    c: m.Criterion | None,
    spec: Kept,
    lines: list[str],
    consts: dict[str, object],
    made: list[str],
    hoisted: dict[str, str] | None,
) -> None:
    """Append the code of one step of :func:`_generate_loop` (facts read into locals if ``hoisted``, else here)."""
    if hoisted is None:
        local = {name: f"g{len(made)}_{i}" for i, name in enumerate(spec.reads)}
        for name, var in local.items():
            lines.append(f"    {var} = get({_const(consts, name)})")
    else:
        local = hoisted
    parts = ["as_of"] if spec.dated else []
    parts += [local[n] for n in spec.reads]
    if spec.typed:
        parts += [f"type({local[n]})" for n in spec.reads]
    key = "(" + "".join(f"{p}, " for p in parts) + ")"
    memo = _const(consts, spec.memo)
    pad = "    "
    result = "True"
    if c is not None:
        result = _emit(c, lines, consts, made, 1, hoisted)
        lines.append(f"    if {result} is not False:")
        pad = "        "
        lines.append(f"{pad}if {result} is None and not explain:")
        lines.append(f"{pad}    traces[{pos}] = {_const(consts, spec.undetermined)}")
        lines.append(f"{pad}else:")
        pad += "    "
    lines.append(f"{pad}d = {memo}.get({key})")
    lines.append(f"{pad}if d is None:")
    lines.append(f"{pad}    d = miss({pos}, {result})")
    lines.append(f"{pad}traces[{pos}] = d.trace")
    if spec.label is not None:
        name = _const(consts, spec.label)
        lines.append(f"{pad}if d.label is not None:")
        lines.append(f"{pad}    facts[{name}] = d.label")
        lines.append(f"{pad}    label({name}, d.label)")
    lines.append(f"{pad}if d.more:")
    lines.append(f"{pad}    if d.asks:")
    lines.append(f"{pad}        ask(d)")
    lines.append(f"{pad}    if d.ranked:")
    lines.append(f"{pad}        rank(d.ranked)")


def _leaves(c: m.Criterion, hoisted: dict[str, str], truths: set[str]) -> None:
    """Name a local for every fact ``c`` reads; note the facts it tests as yes/no facts."""
    if isinstance(c, m.Fact | m.Compare):
        name = c.name if isinstance(c, m.Fact) else c.fact
        hoisted.setdefault(name, f"f{len(hoisted)}")
        if isinstance(c, m.Fact):
            truths.add(name)
    elif isinstance(c, m.Not):
        _leaves(c.not_, hoisted, truths)
    elif isinstance(c, m.AllOf | m.AnyOf):
        for part in c.all if isinstance(c, m.AllOf) else c.any:
            _leaves(part, hoisted, truths)


def _emit(
    c: m.Criterion,
    lines: list[str],
    consts: dict[str, object],
    made: list[str],
    depth: int,
    hoisted: Mapping[str, str] | None = None,
) -> str:
    """Append code that leaves ``c``'s three-valued result in a variable; return its name.

    ``hoisted`` names the locals already holding each fact (and ``t`` + that name its truth), else each leaf
    reads its fact.
    """
    pad = "    " * depth
    if isinstance(c, m.Fact) and hoisted is not None:
        return "t" + hoisted[c.name]
    var = f"r{len(made)}"
    made.append(var)
    if isinstance(c, m.Fact):
        name = _const(consts, c.name)
        lines.append(f"{pad}v = get({name})")
        lines.append(f"{pad}{var} = None if v is None else bool(v)")
        return var
    if isinstance(c, m.Compare):
        v = "v"
        if hoisted is None:
            lines.append(f"{pad}v = get({_const(consts, c.fact)})")
        else:
            v = hoisted[c.fact]
        if c.op == "in":
            allowed = _const(consts, frozenset(c.value))  # type: ignore[arg-type]
            lines.append(f"{pad}{var} = None if {v} is None else {v} in {allowed}")
        else:
            if c.op not in _OPS:
                raise ValueError(c.op)
            target = _const(consts, threshold(c.fact, c.value) if is_quantity(c.value) else c.value)
            if c.fact in LIMITED:
                # a limit (a Bound) compares its whole interval with the threshold, and may leave it unknown
                bounds, vs = _const(consts, BOUNDS), _const(consts, versus)
                lines.append(
                    f"{pad}{var} = None if {v} is None else {vs}({v}, {c.op!r}, {target}) if type({v}) in {bounds} "
                    f"else bool({v} {c.op} {target})"
                )
            else:
                lines.append(f"{pad}{var} = None if {v} is None else bool({v} {c.op} {target})")
        return var
    if isinstance(c, m.Not):
        inner = _emit(c.not_, lines, consts, made, depth, hoisted)
        lines.append(f"{pad}{var} = None if {inner} is None else not {inner}")
        return var
    if not isinstance(c, m.AllOf | m.AnyOf):
        raise TypeError(type(c).__name__)
    every = isinstance(c, m.AllOf)
    stop, keep = ("False", "True") if every else ("True", "False")
    # A one-pass loop: ``break`` as soon as a part settles the result, as the closures return early.
    lines.append(f"{pad}{var} = {keep}")
    lines.append(f"{pad}while True:")
    parts = c.all if isinstance(c, m.AllOf) else c.any
    for part in parts:
        got = _emit(part, lines, consts, made, depth + 1, hoisted)
        lines.append(f"{pad}    if {got} is {stop}:")
        lines.append(f"{pad}        {var} = {stop}")
        lines.append(f"{pad}        break")
        lines.append(f"{pad}    if {got} is None:")
        lines.append(f"{pad}        {var} = None")
    lines.append(f"{pad}    break")
    return var


def _const(consts: dict[str, object], value: object) -> str:
    name = f"k{len(consts)}"
    consts[name] = value
    return name


def evaluate(c: m.Criterion, facts: Facts) -> Outcome:
    """Evaluate ``c`` against ``facts``."""
    leaves: list[Leaf] = []
    result = _eval(c, facts, leaves)
    return Outcome(result, tuple(leaves))


def _eval(c: m.Criterion, facts: Facts, leaves: list[Leaf]) -> bool | None:
    if isinstance(c, m.Fact):
        value = facts.get(c.name)
        if value is None:
            leaves.append(Leaf(f"{c.name} not recorded", None, c.name))
            return None
        truth = bool(value)
        leaves.append(Leaf(c.name if truth else f"not {c.name}", truth))
        return truth
    if isinstance(c, m.Compare):
        return _compare(c, facts, leaves)
    if isinstance(c, m.Not):
        inner: list[Leaf] = []
        res = _eval(c.not_, facts, inner)
        flipped = None if res is None else not res
        # Leaf texts describe what was observed ("not pad" = pad is false), which
        # negation does not change; only whether the leaf supports the result flips.
        for leaf in inner:
            leaves.append(Leaf(leaf.text, None if leaf.result is None else not leaf.result, leaf.missing))
        return flipped
    parts = c.all if isinstance(c, m.AllOf) else c.any
    results = [_eval(p, facts, leaves) for p in parts]
    if isinstance(c, m.AllOf):
        if any(r is False for r in results):
            return False
        return True if all(r is True for r in results) else None
    if any(r is True for r in results):
        return True
    return False if all(r is False for r in results) else None


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _compare(c: m.Compare, facts: Facts, leaves: list[Leaf]) -> bool | None:
    shown = _shown(c.value)
    value = facts.get(c.fact)
    if value is None:
        leaves.append(Leaf(f"{c.fact} {c.op} {shown}: {c.fact} not recorded", None, c.fact))
        return None
    if c.op == "in":
        assert isinstance(c.value, tuple)
        res = value in c.value
    else:
        target: object = threshold(c.fact, c.value) if is_quantity(c.value) else c.value
        if type(value) in BOUNDS:
            got = versus(value, c.op, target)  # type: ignore[arg-type]
            if got is None:
                text = f"{c.fact} {_shown_fact(c.fact, value)} {c.op} {shown}{STRADDLES}"
                leaves.append(Leaf(text, None))
                return None
            res = got
        else:
            res = bool(_OPS[c.op](value, target))
    leaves.append(Leaf(f"{c.fact} {_shown_fact(c.fact, value)} {c.op} {shown}", res))
    return res


STRADDLES = ": the limit straddles the threshold (undecided)"
"""Said of a comparison a limit leaves unknown: the threshold lies inside the interval it allows."""


def _shown(value: object) -> str:
    if is_quantity(value):
        return format_quantity(value)  # type: ignore[arg-type]
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _shown_fact(name: str, value: FactValue) -> str:
    spec = vocabulary().get(name)
    if isinstance(value, float) and spec is not None and spec.unit:
        return f"= {shown_number(value, f'{value:.4g}')} {spec.unit}"
    if isinstance(value, float):
        return f"= {shown_number(value, f'{value:g}')}"
    return f"= {value}"


@functools.cache
def _threshold_cached(fact: str, text: str) -> float:
    spec = vocabulary()[fact]
    assert spec.unit is not None
    return magnitude(parse_quantity(text), spec.unit, analyte=spec.analyte)


def threshold(fact: str, value: Quantity | float | str | tuple[str, ...]) -> float:
    """Return a criterion's quantity threshold in the fact's canonical unit (cached)."""
    assert is_quantity(value)
    return _threshold_cached(fact, format_quantity(value))  # type: ignore[arg-type]


# -- explanations, compiled ----------------------------------------------------------
#
# ``evaluate`` builds a ``Leaf`` per elementary test and ``leaves_of`` formats them;
# a rule that fires or cannot be decided needs only the formatted lines, the true
# texts (reasons) and the missing facts. ``explain`` produces exactly those from a
# criterion compiled once: static leaf texts are formatted at compile time, and a
# negation is folded into the leaves below it instead of re-wrapping them per call.


class Explained(NamedTuple):
    """A criterion's result with its trace lines, reasons and missing facts (as ``evaluate`` gives them)."""

    result: bool | None
    lines: tuple[str, ...]
    """``TRUE: ...`` / ``FALSE: ...`` / ``UNKNOWN: ...`` per leaf, in order (``results.leaves_of``)."""
    reasons: tuple[str, ...]
    """Texts of the leaves that were true (``Outcome.reasons``)."""
    missing: tuple[str, ...]
    """Facts whose absence left the result unknown; empty once decided (``Outcome.missing``)."""


# One elementary test as explained: (result, text, trace line, missing fact).
_Line: TypeAlias = tuple[bool | None, str, str, str | None]
_Explainer: TypeAlias = Callable[[Facts, list[_Line]], bool | None]


def explain(c: m.Criterion, facts: Facts) -> Explained:
    """Return what ``evaluate`` would, already formatted for the trace (identical text)."""
    hit = _EXPLAINERS.get(id(c))
    if hit is None or hit[0] is not c:
        hit = (c, _explainer(c, False))
        if len(_EXPLAINERS) >= _EXPLAINERS_LIMIT:
            _EXPLAINERS.clear()
        _EXPLAINERS[id(c)] = hit  # the criterion is held with it, so its id is not reused meanwhile
    lines: list[_Line] = []
    result = hit[1](facts, lines)
    missing: tuple[str, ...] = ()
    if result is None:
        missing = tuple(dict.fromkeys([line[3] for line in lines if line[3] is not None]))
    return Explained(
        result,
        tuple([line[2] for line in lines]),
        tuple([line[1] for line in lines if line[0] is True]),
        missing,
    )


# Keyed by identity (criteria are large frozen trees: hashing one costs more than explaining it).
_EXPLAINERS: dict[int, tuple[m.Criterion, _Explainer]] = {}
_EXPLAINERS_LIMIT = 4096
_WORD = {True: "TRUE", False: "FALSE", None: "UNKNOWN"}


def _line(result: bool | None, text: str, flip: bool, missing: str | None = None) -> _Line:
    shown = None if result is None else result is not flip
    return (shown, text, f"{_WORD[shown]}: {text}", missing)


def _explainer(c: m.Criterion, flip: bool) -> _Explainer:
    """Compile ``c``; ``flip`` is true under an odd number of negations (leaf results shown flipped)."""
    if isinstance(c, m.Fact):
        name = c.name
        unknown, yes, no = (
            _line(None, f"{name} not recorded", flip, name),
            _line(True, name, flip),
            _line(False, f"not {name}", flip),
        )

        def fact(facts: Facts, out: list[_Line]) -> bool | None:
            value = facts.get(name)
            if value is None:
                out.append(unknown)
                return None
            if value:
                out.append(yes)
                return True
            out.append(no)
            return False

        return fact
    if isinstance(c, m.Compare):
        return _explain_compare(c, flip)
    if isinstance(c, m.Not):
        inner = _explainer(c.not_, not flip)

        def negate(facts: Facts, out: list[_Line]) -> bool | None:
            res = inner(facts, out)
            return None if res is None else not res

        return negate
    parts = tuple(_explainer(p, flip) for p in (c.all if isinstance(c, m.AllOf) else c.any))
    # Every part is explained (no short cut): the trace lists each test, as ``evaluate`` does.
    if isinstance(c, m.AllOf):

        def all_of(facts: Facts, out: list[_Line]) -> bool | None:
            results = [part(facts, out) for part in parts]
            if False in results:
                return False
            return None if None in results else True

        return all_of

    def any_of(facts: Facts, out: list[_Line]) -> bool | None:
        results = [part(facts, out) for part in parts]
        if True in results:
            return True
        return None if None in results else False

    return any_of


def _explain_compare(c: m.Compare, flip: bool) -> _Explainer:
    name, shown = c.fact, _shown(c.value)
    unknown = _line(None, f"{name} {c.op} {shown}: {name} not recorded", flip, name)
    spec = vocabulary().get(name)
    unit = spec.unit if spec is not None and spec.unit else None
    tail = f" {c.op} {shown}"
    test: Callable[[Any], bool | None]
    if c.op == "in":
        allowed = c.value
        assert isinstance(allowed, tuple)

        def test(value: Any) -> bool | None:
            return value in allowed
    else:
        target: object = threshold(c.fact, c.value) if is_quantity(c.value) else c.value
        op, symbol = _OPS[c.op], c.op

        def test(value: Any) -> bool | None:
            if type(value) in BOUNDS:  # only a fact in LIMITED may hold one
                return versus(value, symbol, target)  # type: ignore[arg-type]
            return bool(op(value, target))

    def compare(facts: Facts, out: list[_Line]) -> bool | None:
        value = facts.get(name)
        if value is None:
            out.append(unknown)
            return None
        res = test(value)
        # The same text as ``_shown_fact`` (unit known here, once).
        if isinstance(value, float):
            number = shown_number(value, f"{value:.4g}" if unit else f"{value:g}")
            text = f"{name} = {number} {unit}{tail}" if unit else f"{name} = {number}{tail}"
        else:
            text = f"{name} = {value}{tail}"
        if res is None:  # a limit with the threshold inside it: unknown, though nothing is missing
            text += STRADDLES
            out.append((None, text, f"UNKNOWN: {text}", None))
            return None
        shown_res = res is not flip
        out.append((shown_res, text, f"{_WORD[shown_res]}: {text}", None))
        return res

    return compare
