"""The columnar evaluator: the rules ``assess`` runs, compiled into Polars expressions over a wide table.

Semantics are those of the per-patient engine, column-wise:

* criteria are three-valued: a Polars boolean with null for "unknown" (Kleene ``&``, ``|`` and
  ``~`` are exactly the engine's ``all``, ``any`` and ``not``);
* a rule left undetermined lists the facts it needed that are null, in the order the
  criterion names them, as ``assess`` does;
* calendar arithmetic moves dates by calendar months with the day clamped to the month's end
  (29 February plus one year is 28 February), as ``Period.add_to`` does;
* classification bands are decided by the engine's own band function (rounding half-up at the
  source's precision, after removing float noise) once per distinct value.

Rules whose kind or facts are not compiled run per row through the engine's own per-kind
function (:data:`PER_ROW_KINDS`, and any rule reading a derived fact this module does not derive).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import attrs
import numpy as np
import polars as pl
import pyarrow as pa

from .. import _agents, _facts, _kinds
from .. import model as m
from .._bands import band_of
from .._criteria import compiled, facts_in, threshold
from .._loading import Catalog, catalog
from .._vocabulary import vocabulary
from ..evaluation import _choose, _plan, _statuses, held_rules, unrecognised_hint
from ..exceptions import InputError
from ..patient import Flag, Patient
from ..results import RuleOutcome, package_version
from ..units import is_quantity, magnitude, quantity
from . import _derive, _lookup
from ._schema import BAD, ERRORS_SCHEMA, ID, MEDS, RESULT_SCHEMA, ROW, columns, medication_of, patient_of

__all__ = [
    "ABSENT_ONLY_SCHEMA",
    "COUNTS_SCHEMA",
    "NOT_CHECKED",
    "NOT_CHECKED_SCHEMA",
    "PER_ROW_KINDS",
    "RESULT_SCHEMA",
    "Plan",
    "Step",
    "Undetermined",
    "arrow_schema",
    "evaluate_arrow",
    "evaluate_prepared",
    "make_plan",
    "to_frame",
]


class Undetermined(StrEnum):
    """Which undetermined results become rows of the results table."""

    COMPACT = "compact"
    """Not the results undetermined only because the input has no column for what they need (counted per rule)."""
    ALL = "all"
    """Every undetermined result, one row each."""


ABSENT_ONLY_SCHEMA: dict[str, pl.DataType] = {
    "guideline": pl.String(),
    "version": pl.String(),
    "rule": pl.String(),
    "patients": pl.Int64(),
    "missing": pl.List(pl.String()),
}
"""Per rule: patients it was undetermined for only because of absent columns, and those (sorted) facts."""

RULE_INFO_SCHEMA: dict[str, pl.DataType] = {"kind": pl.String(), "urgent": pl.Boolean(), "status": pl.String()}
"""What :func:`with_rule_info` adds to the counts: the rule's kind, whether it is a red-flag check, its status."""

COUNTS_SCHEMA: dict[str, pl.DataType] = {**ABSENT_ONLY_SCHEMA, **RULE_INFO_SCHEMA}
"""The absent-only counts as the public API gives them (``CohortResult.absent_only``, ``evaluate_partition``)."""

PER_ROW_KINDS = ("dosing", "neurotoxicity")
"""Rule kinds evaluated per row (each matching patient through the engine's own function)."""

_COLUMNAR_KINDS = (
    m.ScreeningRule,
    m.ClassificationRule,
    m.ReferralRule,
    m.WorkupRule,
    m.ConsiderationRule,
    m.TreatmentRule,
    m.CautionRule,
)


# -- the plan --------------------------------------------------------------------------


@attrs.frozen
class Step:
    """One rule of the plan, in the order ``assess`` evaluates it."""

    index: int
    guideline: m.Guideline
    rule: m.Rule
    columnar: bool
    reads: frozenset[str]
    """Wide-table columns the rule depends on: a bad cell in one excludes the row from this rule."""
    agents: frozenset[str] | None = None
    lookup: bool = False
    """A dosing rule checked once per distinct prescription and looked up by CrCl (``_lookup``)."""


@attrs.frozen
class Plan:
    """The rules to evaluate on one date, and the guideline versions they come from."""

    as_of: dt.date
    chosen: tuple[tuple[m.Guideline, bool], ...]
    steps: tuple[Step, ...]
    measured: Mapping[str, str]
    full_derive: bool = False
    """Per-row steps derive their facts with the engine's own ``derive`` (the fact engine has changed)."""
    agents: frozenset[str] = frozenset()
    """Every drug name a rule or derived fact recognises (as ``assess``'s plan has them); others are flagged."""

    def guidelines(self) -> list[dict[str, Any]]:
        """Guideline id, version, sha256 and pinned flag of every version used (for file metadata)."""
        return [{"id": g.id, "version": g.version, "sha256": g.sha256, "pinned": p} for g, p in self.chosen]

    def per_row(self) -> list[Step]:
        """Steps evaluated per row (dosing rules looked up by prescription are not, except duplicate therapy)."""
        return [s for s in self.steps if not s.columnar and not s.lookup]


def make_plan(
    as_of: dt.date,
    *,
    source: Catalog | None = None,
    pins: Mapping[str, str] | None = None,
    statuses: Iterable[m.Status | str] = (m.Status.APPROVED,),
    guidelines: Iterable[str] | None = None,
) -> Plan:
    """Choose the guideline versions and rules exactly as ``assess`` does on ``as_of``."""
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise InputError("as_of", as_of, "a datetime.date")
    cat = source if source is not None else catalog()
    chosen = _choose(cat, as_of, tuple(sorted((pins or {}).items())), guidelines)
    plan = _plan(tuple(g for g, _ in chosen), _statuses(statuses), True)
    state = _derive.derivations()
    derived = {k: v for k, v in _derive.reads().items() if k not in state.stale}
    cols = columns()
    labels: dict[str, frozenset[str]] = {}
    per_row_labels: set[str] = set()
    steps = []
    for i, step in enumerate(plan.steps):
        rule = step.rule
        names = list(_rule_facts(rule))
        reads: set[str] = set()
        columnar = isinstance(rule, _COLUMNAR_KINDS) and state.checks_current
        for name in names:
            if name in derived:
                reads |= derived[name]
            elif name in labels:
                reads |= labels[name]
            elif name in per_row_labels:
                columnar = False  # the label comes from a classification evaluated per row
            elif name in cols and name not in state.stale:
                reads.add(name)
            elif name in _facts._DERIVATIONS or name in vocabulary():
                columnar = False  # a derived fact the columns do not reproduce: the engine's per-row path
        if not columnar:
            reads = set(cols)
        if isinstance(rule, m.ClassificationRule):
            # A label is a column named by its rule id, added as the rules are evaluated: a name already taken
            # (an input column or another label) would let earlier rules read the label in its place.
            if rule.id in cols or rule.id in labels or rule.id in per_row_labels:
                raise AssertionError(f"classification {rule.id!r} shadows a column or another classification")
            if columnar:
                labels[rule.id] = frozenset(reads)
            else:
                per_row_labels.add(rule.id)
        steps.append(Step(i, step.guideline, rule, columnar, frozenset(reads), step.agents))
    full = bool(state.stale) or not state.checks_current
    if not full and _lookup.current():
        steps = [attrs.evolve(s, lookup=True) if isinstance(s.rule, m.DosingRule) else s for s in steps]
    return Plan(
        as_of=as_of,
        chosen=tuple(chosen),
        steps=tuple(steps),
        measured=dict(plan.measured),
        full_derive=full,
        agents=plan.agents,
    )


def derivations_current() -> bool:
    """True if the columns reproduce every derived fact and input check of the fact engine."""
    state = _derive.derivations()
    return state.checks_current and not state.stale


def _rule_facts(rule: m.Rule) -> Iterable[str]:
    for attr in ("when", "applies"):
        c = getattr(rule, attr, None)
        if c is not None:
            yield from facts_in(c)
    if isinstance(rule, m.ScreeningRule):
        for sp in rule.start:
            yield from facts_in(sp.when)
            yield sp.anchor
        for th in rule.intervals:
            yield from facts_in(th.when)
        yield rule.last_done
    if isinstance(rule, m.ClassificationRule):
        yield rule.fact


# -- calendar arithmetic --------------------------------------------------------------------


def add_period(date: pl.Expr, period: m.Period) -> pl.Expr:
    """``Period.add_to`` on a column (Polars clamps month offsets to the month's end, like the model)."""
    if period.unit == "day":
        return date + pl.duration(days=period.count)
    if period.unit == "week":
        return date + pl.duration(weeks=period.count)
    months = period.count * (12 if period.unit == "year" else 1)
    return date.dt.offset_by(f"{months}mo")


def _kleene_any(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return functools.reduce(lambda a, b: a | b, exprs)


def _kleene_all(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return functools.reduce(lambda a, b: a & b, exprs)


# -- criteria -------------------------------------------------------------------------------


class _NotCompiledError(Exception):
    """A criterion this module does not compile (the rule then runs per row)."""


@attrs.frozen
class _Env:
    """What a criterion may read: column names and their types."""

    types: Mapping[str, pl.DataType]
    measured: Mapping[str, str]

    def col(self, name: str) -> pl.Expr:
        if name not in self.types:
            return pl.lit(None, dtype=pl.Boolean)  # a fact nobody gave: unknown for every row
        return pl.col(name)

    def truth(self, c: m.Criterion) -> pl.Expr:
        """The three-valued result of ``c``: a boolean column, null where unknown."""
        if isinstance(c, m.Fact):
            dtype = self.types.get(c.name, pl.Boolean())
            x = self.col(c.name)
            if dtype == pl.Boolean:
                return x
            if dtype == pl.Float64:
                return x != 0.0
            if dtype == pl.String:
                return x.str.len_chars() > 0
            return pl.when(x.is_not_null()).then(True)
        if isinstance(c, m.Compare):
            return self._compare(c)
        if isinstance(c, m.Not):
            return ~self.truth(c.not_)
        if isinstance(c, m.AllOf):
            return _kleene_all([self.truth(p) for p in c.all])
        return _kleene_any([self.truth(p) for p in c.any])

    def _compare(self, c: m.Compare) -> pl.Expr:
        x = self.col(c.fact)
        dtype = self.types.get(c.fact)
        if c.fact not in self.types:
            return pl.lit(None, dtype=pl.Boolean)
        if c.op == "in":
            assert isinstance(c.value, tuple)
            if dtype != pl.String:
                raise _NotCompiledError(c)
            return x.is_in(list(c.value))
        target: object = threshold(c.fact, c.value) if is_quantity(c.value) else c.value
        text = isinstance(target, str)
        if text != (dtype == pl.String) or dtype in (pl.Date, pl.Boolean):
            if c.op not in ("==", "!="):
                raise _NotCompiledError(c)  # Python would refuse the comparison: keep the engine's behaviour
            return pl.when(x.is_not_null()).then(c.op == "!=")
        lit = pl.lit(target)
        return {"<": x < lit, "<=": x <= lit, ">": x > lit, ">=": x >= lit, "==": x == lit, "!=": x != lit}[c.op]

    def missing(self, c: m.Criterion, when: pl.Expr) -> list[tuple[pl.Expr, str]]:
        """Where ``when`` holds, the facts ``c`` names that are null (the engine's ``Outcome.missing``).

        A classification's label is named by its measurement, as ``assess`` reports it.
        """
        return [(when & self.col(f).is_null(), self.shown(f)) for f in dict.fromkeys(facts_in(c))]

    def shown(self, name: str) -> str:
        return self.measured.get(name, name)


# -- evaluation ----------------------------------------------------------------------------


@attrs.frozen
class _RuleColumns:
    status: pl.Expr
    """The status as its code in :data:`STATUSES` (UInt8), null where the rule leaves no row."""
    missing: list[tuple[pl.Expr, str]]
    """(condition, fact name) in the engine's order: the name is missing where the condition holds."""
    due: pl.Expr | None = None
    due_by: pl.Expr | None = None
    overdue: pl.Expr | None = None
    label: pl.Expr | None = None
    """Text; ``None`` for a column null in every row of the rule (not computed)."""


STATUSES = ("undetermined", "fires", "emergency", "urgent", "pattern", "scheduled", "due", "overdue", "result")
"""Statuses of columnar results, by code (the dictionary of the results' ``status`` column starts with them)."""
_NO_ROW = 255
"""The status code of a patient the rule leaves no row for."""


@functools.cache
def _status(text: str) -> pl.Expr:
    return pl.lit(STATUSES.index(text), dtype=pl.UInt8)


_NONE_DATE = pl.lit(None, dtype=pl.Date)


def _simple(rule: m.Rule, env: _Env) -> _RuleColumns:
    when = env.truth(rule.when)  # type: ignore[union-attr]
    fired = "fires"
    if isinstance(rule, m.ReferralRule) and rule.urgency in (m.Urgency.EMERGENCY, m.Urgency.URGENT):
        fired = str(rule.urgency)
    elif isinstance(rule, m.ConsiderationRule) and getattr(rule, "pattern", None) is not None:
        fired = "pattern"  # a presentation pattern (as the engine reports it)
    status = pl.when(when).then(_status(fired)).when(when.is_null()).then(_status("undetermined"))
    return _RuleColumns(status, env.missing(rule.when, when.is_null()))  # type: ignore[union-attr]


def _screening(rule: m.ScreeningRule, env: _Env, as_of: dt.date) -> _RuleColumns:
    applies = env.truth(rule.applies)
    applied = applies.fill_null(False)
    segments = env.missing(rule.applies, applies.is_null())
    pending = applied
    start: pl.Expr = _NONE_DATE
    stuck = pl.lit(False)
    for sp in rule.start:
        o = env.truth(sp.when)
        anchor = env.col(sp.anchor)
        hit = pending & o.fill_null(False)
        segments.extend(env.missing(sp.when, pending & o.is_null()))
        segments.append((hit & anchor.is_null(), env.shown(sp.anchor)))
        stuck = stuck | (hit & anchor.is_null())
        start = pl.when(hit).then(add_period(anchor, sp.after)).otherwise(start)
        pending = pending & ~o.fill_null(False)
    if rule.start:
        stuck = stuck | pending
    going = applied & ~stuck
    left = going
    branches: list[tuple[pl.Expr, m.Threshold]] = []
    for th in rule.intervals:
        o = env.truth(th.when)
        unknown = left & o.is_null()
        segments.extend(env.missing(th.when, unknown))
        stuck = stuck | unknown
        branches.append((left & o.fill_null(False), th))
        left = left & (~o).fill_null(False)
    fired = applied & ~stuck
    last = env.col(rule.last_done)
    segments.append((fired & last.is_null(), env.shown(rule.last_done)))
    if not rule.start:
        start = pl.when(last.is_null()).then(pl.lit(as_of))

    def window(pick: str) -> pl.Expr:
        chosen = add_period(last, rule.interval)
        for cond, th in reversed(branches):
            chosen = pl.when(cond).then(add_period(last, getattr(th, pick))).otherwise(chosen)
        return pl.when(last.is_null()).then(start).otherwise(chosen)

    due0, latest0 = window("shortest"), window("longest")
    reset = last.is_not_null() & start.is_not_null() & (due0 < start)
    due = pl.when(reset).then(start).otherwise(due0)
    latest = pl.when(reset).then(start).otherwise(latest0)
    day = pl.lit(as_of)
    status = (
        pl.when(applies.is_null() | (applied & stuck))
        .then(_status("undetermined"))
        .when(fired & (day < due))
        .then(_status("scheduled"))
        .when(fired & (day <= latest))
        .then(_status("due"))
        .when(fired)
        .then(_status("overdue"))
    )
    label: pl.Expr = pl.lit(None, dtype=pl.String)
    for cond, th in reversed(branches):
        label = pl.when(cond).then(pl.lit(th.label, dtype=pl.String)).otherwise(label)
    return _RuleColumns(
        status=status,
        due=pl.when(fired).then(due),
        due_by=pl.when(fired & (latest != due)).then(latest),
        overdue=pl.when(fired & (day > latest)).then((day - latest).dt.total_days()).cast(pl.Int64),
        missing=segments,
        label=pl.when(fired).then(label),
    )


def _band_labels(rule: m.ClassificationRule, values: pl.Series) -> pl.Series:
    """The band label of every value, decided once per distinct value by the engine's band function."""
    spec = vocabulary().get(rule.fact)
    convert = rule.unit not in ("1", "") and spec is not None and spec.unit is not None and spec.unit != rule.unit
    known = _bands_seen(rule)
    mapping: dict[float, str | None] = {}
    for v in values.drop_nulls().unique().to_list():
        if v not in known:
            x = magnitude(quantity(v, spec.unit), rule.unit, analyte=rule.analyte) if convert else v  # type: ignore[union-attr,arg-type]
            band, _ = band_of(rule, x)
            known[v] = band.label if band is not None else None
        mapping[v] = known[v]
    return values.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=pl.String)


_BANDS: dict[int, tuple[m.ClassificationRule, dict[float, str | None]]] = {}
"""Band labels already decided, per classification rule (by identity) and value: pure functions of the value,
kept across partitions, at most :data:`_BANDS_KEPT` values per rule."""
_BANDS_KEPT = 1 << 16


def _bands_seen(rule: m.ClassificationRule) -> dict[float, str | None]:
    held = _BANDS.get(id(rule))
    if held is None or held[0] is not rule or len(held[1]) > _BANDS_KEPT:
        held = _BANDS[id(rule)] = (rule, {})
    return held[1]


def _classification(rule: m.ClassificationRule, env: _Env, facts: pl.DataFrame) -> tuple[_RuleColumns, pl.Series]:
    applies = env.truth(rule.applies) if rule.applies is not None else pl.lit(True)
    values = facts[rule.fact] if rule.fact in facts.columns and facts[rule.fact].dtype == pl.Float64 else None
    labels = (
        _band_labels(rule, values) if values is not None else pl.Series([None] * facts.height, dtype=pl.String)
    ).alias(rule.id)
    applied = facts.select(applies.alias("a"))["a"] if rule.applies is not None else None
    if applied is not None:
        labels = labels.set(~applied.fill_null(False), None)
    label = pl.col(rule.id)
    status = pl.when(applies.is_null()).then(_status("undetermined")).when(label.is_not_null()).then(_status("result"))
    missing = env.missing(rule.applies, applies.is_null()) if rule.applies is not None else []
    return _RuleColumns(status, missing, label=label), labels


def evaluate_prepared(
    table: pl.DataFrame,
    plan: Plan,
    *,
    unknown: frozenset[str] = frozenset(),
    undetermined: Undetermined = Undetermined.COMPACT,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """:func:`evaluate_arrow` with the results as a Polars frame (``RESULT_SCHEMA``)."""
    results, errors, counts = evaluate_arrow(table, plan, unknown=unknown, undetermined=undetermined)
    return to_frame(results), errors, counts


def evaluate_arrow(
    table: pl.DataFrame,
    plan: Plan,
    *,
    unknown: frozenset[str] = frozenset(),
    undetermined: Undetermined = Undetermined.COMPACT,
) -> tuple[pa.Table, pl.DataFrame, pl.DataFrame]:
    """Evaluate every rule of ``plan`` over a prepared wide table; return the results, errors and absent-only counts.

    ``unknown`` are the facts the input has no column for (unknown for every row). A result left
    undetermined only by them (every missing fact it names is in ``unknown``) is counted per rule in
    the third table (:data:`ABSENT_ONLY_SCHEMA`) and, with ``Undetermined.COMPACT``, is not a row.

    The errors are the patients the engine refuses (``effect`` ``refused``: dates before birth, an age
    contradicting the birth date, …; they get no results, as ``assess`` gives them none) and the values it
    leaves out (``not used``: placeholder dates, findings contradicting each other, a given value
    contradicting the derivable one, …).

    One row per patient and rule that fired or could not be decided (rules that do not apply
    leave no row), in the engine's rule order and then by input row. Rows with a bad
    cell in a column a rule reads are left out of that rule (they are in the errors table).
    """
    as_of = plan.as_of
    state = _derive.derivations()
    drop = _Drop(unknown, undetermined)
    if not state.checks_current:
        return _all_per_row(table, plan, drop)
    checked, refused_rows, placeholder_flags = _derive.check_rows(table, as_of)
    try:
        facts, derived_flags = _derive.derive_columns(checked, as_of, state)
    except _derive.StaleDerivationError:
        # A derivation read a fact it does not declare, on this data: the engine decides every patient.
        return _all_per_row(table, plan, drop)
    refused_ids = refused_rows[ROW].unique()
    if refused_ids.len():
        facts = facts.filter(~pl.col(ROW).is_in(refused_ids.implode()))
    notes = [placeholder_flags, derived_flags]
    types: dict[str, pl.DataType] = dict(facts.schema)
    refusals: list[pl.DataFrame] = [refused_rows]
    segments: dict[int, list[str]] = {}
    bad_columns = {c.removeprefix(BAD) for c in facts.columns if c.startswith(BAD)}
    # Every columnar rule's status code, missing-fact mask, clean flag and dates in ONE select: one plan,
    # one pass, common sub-expressions shared; the results table is then gathered from these columns.
    exprs: list[list[pl.Expr]] = []
    pieces: list[list[_Compiled] | pl.DataFrame] = []
    """In output order: runs of columnar rules, and frames of rules evaluated per row."""
    for step in plan.steps:
        if not step.columnar:
            continue
        env = _Env(types, plan.measured)
        rule = step.rule
        try:
            if isinstance(rule, m.ClassificationRule):
                cols, labels = _classification(rule, env, facts)
                facts = facts.with_columns(labels)
                types[rule.id] = pl.String()
            elif isinstance(rule, m.ScreeningRule):
                cols = _screening(rule, env, as_of)
            else:
                cols = _simple(rule, env)
        except _NotCompiledError:
            step = attrs.evolve(step, columnar=False)
            res, refused = _per_row(facts, plan, [step], table, full=plan.full_derive)
            pieces.append(res.drop("__step"))
            refusals.append(refused)
            continue
        if len(cols.missing) > _MASK_BITS:
            raise AssertionError(f"{rule.id}: more than {_MASK_BITS} missing-fact segments")  # pragma: no cover
        segments[step.index] = [name for _, name in cols.missing]
        n = len(exprs)
        mask = pl.sum_horizontal(
            [pl.when(cond).then(_BITS[k]).otherwise(_BITS_ZERO) for k, (cond, _) in enumerate(cols.missing)]
            or [_BITS_ZERO]
        )
        own = [cols.status.fill_null(_NO_ROW).alias("status"), mask.cast(pl.Int64).alias("mask")]
        bad = [pl.col(BAD + c) for c in sorted(step.reads & bad_columns)]
        if bad:
            own.append((~pl.any_horizontal(bad)).fill_null(False).alias("clean"))
        extra = []
        for name, expr in (("due", cols.due), ("due_by", cols.due_by), ("overdue_days", cols.overdue)):
            if expr is not None:
                own.append(expr.alias(name))
                extra.append(name)
        if cols.label is not None:
            own.append(cols.label.cast(pl.String).alias("label"))
            extra.append("label")
        exprs.append(own)
        absent_bits = sum(1 << k for k, (_, name) in enumerate(cols.missing) if name in drop.unknown)
        known_bits = ((1 << len(cols.missing)) - 1) & ~absent_bits
        done = _Compiled(step, n, bool(bad), tuple(extra), absent_bits, known_bits)
        last = pieces[-1] if pieces else None
        if isinstance(last, list):
            last.append(done)
        else:
            pieces.append([done])
    wide = _collect(facts, exprs)
    base = facts.select(ROW, ID)
    per_row = plan.per_row()
    lookups = [s for s in plan.steps if s.lookup]
    # Medication rules keep the per-row path's order (by input row, then rule) wherever they are evaluated.
    meds: list[pl.DataFrame] = []
    if lookups:
        looked, duplicates = _lookup.dosing_rows(facts, lookups, as_of, plan.measured)
        meds.append(looked)
        if duplicates:
            # Duplicate therapy (entries summed): those patients' dosing rules through the engine.
            dup = facts.filter(pl.col(ROW).is_in(duplicates))
            res, refused = _per_row(dup, plan, lookups, table, full=False)
            meds.append(res)
            refusals.append(refused)
    if per_row:
        res, refused = _per_row(facts, plan, per_row, table, full=plan.full_derive)
        meds.append(res)
        refusals.append(refused)
    if meds:
        merged = pl.concat(meds, how="vertical") if len(meds) > 1 else meds[0]
        if len(meds) > 1:
            merged = merged.sort(ROW, "__step", maintain_order=True)
        pieces.append(merged.drop("__step"))
    held = not_checked(facts, plan)
    if held.height:
        pieces.append(held)
    return _assemble(pieces, (base, wide), refusals, notes, plan, segments, drop)


_RULES_PER_SELECT = 8
"""Columnar rules collected together: a select per rule pays Polars' per-query cost some 490 times a partition, one
select over every rule costs more still (its plan is optimised as a whole); groups of 8 cost least (CPU seconds of
a 10^5 run, docs/performance.md). Results are the same for any group size."""


def _collect(facts: pl.DataFrame, exprs: Sequence[list[pl.Expr]]) -> list[pl.DataFrame]:
    """Each rule's columns (``exprs[n]``, with the row) as its own frame, collected a few rules per select.

    Within a select the rule's columns are suffixed by its place in the group, then split off under their own names.
    The row column keeps the frame's height when every expression is a literal (no column read).
    """
    wide: list[pl.DataFrame] = []
    for first in range(0, len(exprs), _RULES_PER_SELECT):
        group = exprs[first : first + _RULES_PER_SELECT]
        named = [[x.meta.output_name() for x in e] for e in group]
        frame = (
            facts.lazy()
            .select(pl.col(ROW), *[x.name.suffix(f"#{j}") for j, e in enumerate(group) for x in e])
            .collect()
        )
        wide.extend(
            frame.select(pl.col(ROW), *[pl.col(f"{n}#{j}").alias(n) for n in names]) for j, names in enumerate(named)
        )
    return wide


_MASK_BITS = 48
"""Bits of a rule's missing-fact mask (an Int64 column)."""
_BITS = tuple(pl.lit(1 << k, pl.Int64) for k in range(_MASK_BITS))
_BITS_ZERO = pl.lit(0, pl.Int64)
"""The mask's literals, made once rather than for every rule of every partition."""


@attrs.frozen
class _Compiled:
    """A columnar rule in the one select: its columns are ``s{n}`` (status code), ``m{n}`` (missing mask) and so on."""

    step: Step
    n: int
    clean: bool
    """``c{n}``: the row has no bad cell in a column the rule reads."""
    extra: tuple[str, ...]
    """Result columns the rule computes (``due{n}``, ``label{n}``, …); the others are null."""
    absent: int
    """Mask bits of facts the input has no column for."""
    known: int


@functools.cache
def arrow_schema() -> pa.Schema:
    """The Arrow schema of a results table (dictionary-encoded text, as Polars' categoricals convert)."""
    return pl.DataFrame(schema=RESULT_SCHEMA).to_arrow().schema


def to_frame(results: pa.Table) -> pl.DataFrame:
    """A results table as Polars (``RESULT_SCHEMA``)."""
    return pl.DataFrame(pl.from_arrow(results))


def _assemble(
    pieces: Sequence[list[_Compiled] | pl.DataFrame],
    wide: tuple[pl.DataFrame, list[pl.DataFrame]] | None,
    refusals: list[pl.DataFrame],
    notes: list[pl.DataFrame],
    plan: Plan,
    segments: Mapping[int, list[str]],
    drop: _Drop,
) -> tuple[pa.Table, pl.DataFrame, pl.DataFrame]:
    """The results without refused patients, the errors (refusals, then values not used), the absent-only counts.

    Rows are rule-major within a partition (the engine's rule order, then input row): sorting by patient
    would cost more than evaluating; every engine partitions the same way, so outputs are identical.
    Columnar rows are gathered straight into Arrow arrays (the text columns as dictionary indices).
    """
    refused = pl.concat(refusals).unique(ROW, keep="first", maintain_order=True) if refusals else empty_errors()
    noted = [n for n in notes if n.height]
    errors = pl.concat([refused, *noted]) if noted else refused
    tables: list[pa.Table] = []
    counted: list[pl.DataFrame] = []
    for piece in pieces:
        if isinstance(piece, pl.DataFrame):
            if refused.height:
                piece = piece.filter(~pl.col(ROW).is_in(refused[ROW].implode()))
            piece, per_row = drop.per_row(piece)
            if per_row is not None:
                counted.append(per_row)
            tables.append(piece.select(list(RESULT_SCHEMA)).to_arrow().cast(arrow_schema()))
        else:
            assert wide is not None
            tables.append(_gather(piece, *wide, refused, segments, drop))
    counts = drop.counts(plan, segments, pl.concat(counted) if counted else None)
    if not tables:
        return arrow_schema().empty_table(), errors, counts
    return (pa.concat_tables(tables) if len(tables) > 1 else tables[0]), errors, counts


def _dictionary(indices: Any, values: Sequence[str]) -> pa.DictionaryArray:
    codes = indices if isinstance(indices, pa.Array) else pa.array(indices, pa.uint32())
    return pa.DictionaryArray.from_arrays(codes, pa.array(values, pa.large_string()))


def _constant(texts: Sequence[str], counts: Any) -> pa.DictionaryArray:
    """A text column constant within each rule's rows: dictionary indices repeated by the rule's row count."""
    values = list(dict.fromkeys(texts))
    codes = np.array([values.index(t) for t in texts], dtype=np.uint32)
    return _dictionary(np.repeat(codes, counts), values)


def _gather(
    run: Sequence[_Compiled],
    base: pl.DataFrame,
    wide: list[pl.DataFrame],
    refused: pl.DataFrame,
    segments: Mapping[int, list[str]],
    drop: _Drop,
) -> pa.Table:
    """The results of a run of columnar rules, rule-major, as an Arrow table (the engine's missing-fact lists)."""
    rows = base[ROW].to_numpy()
    allowed = ~np.isin(rows, refused[ROW].to_numpy()) if refused.height else None
    picked: list[Any] = []
    status: list[Any] = []
    keys: list[Any] = []
    for r in run:
        own = wide[r.n]
        code = own["status"].to_numpy()
        mask = own["mask"].to_numpy()
        keep = code != _NO_ROW
        if r.clean:
            keep &= own["clean"].to_numpy()
        if r.absent:
            # Undetermined only because the input lacks columns: counted per rule, a row only with ``ALL``.
            only = keep & (code == 0) & ((mask & r.absent) != 0) & ((mask & r.known) == 0)
            counted = only & allowed if allowed is not None else only  # refused patients are not counted
            if counted.any():
                drop.found.append((r.step.index, mask[counted]))
            if drop.mode is Undetermined.COMPACT:
                keep &= ~only
        if allowed is not None:
            keep &= allowed
        idx = np.flatnonzero(keep)
        picked.append(idx)
        status.append(code[idx])
        keys.append(mask[idx])
    counts = np.array([len(i) for i in picked], dtype=np.int64)
    where = np.concatenate(picked)
    steps = [r.step for r in run]
    ids = base[ID].to_arrow().cast(pa.large_string())
    arrays: dict[str, pa.Array] = {
        ROW: pa.array(rows[where], pa.int64()),
        ID: ids.take(pa.array(where)),
        "guideline": _constant([s.guideline.id for s in steps], counts),
        "version": _constant([s.guideline.version for s in steps], counts),
        "rule": _constant([s.rule.id for s in steps], counts),
        "kind": _constant([str(s.rule.kind) for s in steps], counts),
        "rule_status": _constant([str(s.rule.status) for s in steps], counts),
        "status": _dictionary(np.concatenate(status), STATUSES),
        "missing": _missing(keys, run, segments),
        "evaluated": _constant(["columnar"], np.array([counts.sum()])),
    }
    ends = np.cumsum(counts)
    spans = [(r, idx, int(end) - len(idx), int(end)) for r, idx, end in zip(run, picked, ends, strict=True)]
    for name, physical, arrow in _EXTRA:
        computed = [(wide[r.n][name].gather(idx), lo, hi) for r, idx, lo, hi in spans if name in r.extra]
        arrays[name] = _sparse(computed, int(counts.sum()), physical, arrow)
    labels = [(wide[r.n]["label"].gather(idx), lo, hi) for r, idx, lo, hi in spans if "label" in r.extra]
    texts: list[str] = (
        pl.concat([s for s, _, _ in labels]).drop_nulls().unique(maintain_order=True).to_list() if labels else []
    )
    codes = [(s.replace_strict(texts, range(len(texts)), default=None), lo, hi) for s, lo, hi in labels]
    indices = _sparse(codes, int(counts.sum()), np.uint32, pa.uint32())
    arrays["label"] = pa.DictionaryArray.from_arrays(indices, pa.array(texts, pa.large_string()))
    schema = arrow_schema()
    return pa.Table.from_arrays([arrays[f.name] for f in schema], schema=schema)


_EXTRA = (("due", np.int32, pa.date32()), ("due_by", np.int32, pa.date32()), ("overdue_days", np.int64, pa.int64()))


def _sparse(chunks: Sequence[tuple[pl.Series, int, int]], total: int, physical: Any, arrow: pa.DataType) -> pa.Array:
    """A column null but for the given rows ``lo:hi`` (the few rules that compute it)."""
    if not chunks:
        return pa.nulls(total, arrow)
    values = np.zeros(total, dtype=physical)
    valid = np.zeros(total, dtype=bool)
    for series, lo, hi in chunks:
        values[lo:hi] = series.to_physical().fill_null(0).to_numpy()
        valid[lo:hi] = series.is_not_null().to_numpy()
    return pa.array(values, mask=~valid).view(arrow)


def _distinct(masks: Any) -> tuple[Any, Any]:
    """The distinct masks (ascending) and each row's position among them."""
    if not len(masks) or masks.max() < 1 << 16:
        # Small masks (most rules): by a table of every value, not by sorting.
        seen = np.bincount(masks, minlength=1) if len(masks) else np.zeros(1, dtype=np.int64)
        distinct = np.flatnonzero(seen)
        table = np.zeros(len(seen), dtype=np.int64)
        table[distinct] = np.arange(len(distinct))
        return distinct, table[masks]
    return np.unique(masks, return_inverse=True)


def _missing(masks: Sequence[Any], run: Sequence[_Compiled], segments: Mapping[int, list[str]]) -> pa.Array:
    """Each row's missing facts, named once per distinct mask of its rule and taken by each row's mask."""
    names: dict[str, int] = {}
    lists: list[list[int]] = []
    positions = []
    for r, chosen in zip(run, masks, strict=True):
        distinct, inverse = _distinct(chosen)
        found = segments[r.step.index]
        positions.append(inverse.reshape(-1) + len(lists))
        for mask in distinct.tolist():
            named = dict.fromkeys(n for k, n in enumerate(found) if mask >> k & 1)
            lists.append([names.setdefault(n, len(names)) for n in named])
    sizes = np.array([len(x) for x in lists], dtype=np.int64)
    starts = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    flat = pa.array(np.array([c for x in lists for c in x], dtype=np.uint32), pa.uint32())
    # Arrow's take copies each row's list of name codes from the distinct lists (offsets and values at once).
    taken = pa.LargeListArray.from_arrays(pa.array(starts), flat).take(pa.array(np.concatenate(positions)))
    return pa.LargeListArray.from_arrays(
        taken.offsets, _dictionary(taken.values, list(names)), type=arrow_schema().field("missing").type
    )


class _Drop:
    """Results undetermined only because the input lacks columns: counted per rule, written only with ``ALL``."""

    def __init__(self, unknown: frozenset[str], mode: Undetermined) -> None:
        self.unknown = unknown
        self.mode = Undetermined(mode)
        self.found: list[tuple[int, Any]] = []
        """(step index, missing-fact masks) of the columnar results undetermined only by absent columns."""

    def per_row(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """The results without per-row ones undetermined only by absent columns (``COMPACT``), and their counts."""
        if not self.unknown:
            return frame, None
        undecided = frame.with_row_index("__i").filter(
            (pl.col("status") == "undetermined") & (pl.col("missing").list.len() > 0)
        )
        if not undecided.height:
            return frame, None
        absent = sorted(self.unknown)
        only = undecided.filter(pl.col("missing").list.eval(pl.element().cast(pl.String).is_in(absent)).list.all())
        if not only.height:
            return frame, None
        counts = only.group_by("guideline", "version", "rule").agg(
            pl.len().cast(pl.Int64).alias("patients"), pl.col("missing").cast(pl.List(pl.String())).explode()
        )
        if self.mode is Undetermined.COMPACT:
            frame = frame.with_row_index("__i").filter(~pl.col("__i").is_in(only["__i"].implode())).drop("__i")
        return frame, counts.cast(ABSENT_ONLY_SCHEMA)  # type: ignore[arg-type]

    def counts(self, plan: Plan, segments: Mapping[int, list[str]], per_row: pl.DataFrame | None) -> pl.DataFrame:
        """Per rule: patients undetermined only by absent columns (refused ones left out), and the facts named."""
        rows: dict[int, tuple[int, set[str]]] = {}
        for step, masks in self.found:
            distinct, sizes = np.unique(masks, return_counts=True)
            count, names = rows.get(step, (0, set()))
            for mask in distinct.tolist():
                names |= {name for k, name in enumerate(segments[step]) if mask >> k & 1}
            rows[step] = (count + int(sizes.sum()), names)
        steps = {s.index: s for s in plan.steps}  # a plan may hold a subset of the steps (benchmarks)
        frame = pl.DataFrame(
            [
                {
                    "guideline": steps[i].guideline.id,
                    "version": steps[i].guideline.version,
                    "rule": steps[i].rule.id,
                    "patients": n,
                    "missing": sorted(names),
                }
                for i, (n, names) in rows.items()
            ],
            schema=ABSENT_ONLY_SCHEMA,
        )
        return merge_absent_only([frame] if per_row is None else [frame, per_row])


def merge_absent_only(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Absent-only counts of several partitions as one table (patients summed, facts united), by guideline and rule.

    Columns other than :data:`ABSENT_ONLY_SCHEMA`'s (the rule info) are left out: :func:`with_rule_info` adds them.
    """
    base = list(ABSENT_ONLY_SCHEMA)
    joined = pl.concat([pl.DataFrame(schema=ABSENT_ONLY_SCHEMA), *(f.select(base) for f in frames)])
    return (
        joined.group_by("guideline", "version", "rule")
        .agg(pl.col("patients").sum(), pl.col("missing").explode().drop_nulls().unique().sort())
        .sort("guideline", "version", "rule")
        .cast(ABSENT_ONLY_SCHEMA)  # type: ignore[arg-type]
    )


def rule_info(plan: Plan) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (guideline, version, rule) of the plan: its ``kind``, ``urgent`` and ``status``.

    ``urgent`` is :func:`neuroguide.model.is_urgent`: a red-flag check.
    """
    return {
        (s.guideline.id, s.guideline.version, s.rule.id): {
            "kind": str(s.rule.kind),
            "urgent": m.is_urgent(s.rule),
            "status": str(s.rule.status),
        }
        for s in plan.steps
    }


def with_rule_info(counts: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """Absent-only counts with each rule's ``kind``, ``urgent`` and ``status`` columns (for readers of the counts)."""
    info = rule_info(plan)
    keys = [(g, v, r) for g, v, r in counts.select("guideline", "version", "rule").iter_rows()]
    return counts.with_columns(
        pl.Series("kind", [info[k]["kind"] for k in keys], dtype=pl.String()),
        pl.Series("urgent", [info[k]["urgent"] for k in keys], dtype=pl.Boolean()),
        pl.Series("status", [info[k]["status"] for k in keys], dtype=pl.String()),
    )


def _all_per_row(table: pl.DataFrame, plan: Plan, drop: _Drop) -> tuple[pa.Table, pl.DataFrame, pl.DataFrame]:
    """Every rule for every patient through the engine's own ``derive`` (the fact engine changed)."""
    steps = [attrs.evolve(s, columnar=False, lookup=False) for s in plan.steps]
    flags: list[dict[str, Any]] = []
    res, refused = _per_row(table, plan, steps, table, full=True, flags=flags)
    pieces = [res.drop("__step"), not_checked(table, plan)]
    return _assemble(pieces, None, [refused], [pl.DataFrame(flags, schema=ERRORS_SCHEMA)], plan, {}, drop)


def _per_row(
    facts: pl.DataFrame,
    plan: Plan,
    steps: Sequence[Step],
    inputs: pl.DataFrame,
    *,
    full: bool,
    flags: list[dict[str, Any]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evaluate ``steps`` one patient at a time through the engine (medication rules and the like).

    With ``full``, each patient's facts come from the engine's ``derive``; the values it leaves out and flags
    are added to ``flags`` (when given) as errors-table rows (``not used``).
    """
    bad_cols = [c for c in facts.columns if c.startswith(BAD)]
    clean = ~pl.any_horizontal([pl.col(c) for c in bad_cols]) if bad_cols else pl.lit(True)
    agents: set[str] = set()
    anyone = False
    for s in steps:
        if s.agents is None:
            anyone = True
        else:
            agents |= s.agents
    if anyone:
        wanted = clean
    else:
        seen = facts[MEDS].explode().struct.field("agent").drop_nulls().unique().to_list()
        hits = [n for n in seen if not agents.isdisjoint(_agents.ingredient_keys(n))]
        on = pl.col(MEDS).list.eval(pl.element().struct.field("agent").is_in(hits).fill_null(False)).list.any()
        wanted = clean & on
    # Fast path: the derived facts are already columns (the same values ``derive`` gives, as the
    # differential tests check), so a row's fact table is read off the frame; only medications are
    # parsed. A derived fact this module does not compute sends every row through ``derive``.
    labels = {s.rule.id for s in plan.steps if isinstance(s.rule, m.ClassificationRule)}
    names = [c for c in facts.columns if c in vocabulary() or c in labels]
    chosen = facts.filter(wanted)
    if full:
        # The patient as given: derived columns here would pass as inputs to ``derive``.
        given = inputs.filter(pl.col(ROW).is_in(chosen[ROW].implode()))
        rows = given.select(ROW, *[c for c in columns() if c in inputs.columns]).to_dicts()
    else:
        rows = chosen.select(ROW, *sorted({ID, MEDS, *names})).to_dicts()
    out: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    classifications = [s for s in plan.steps if isinstance(s.rule, m.ClassificationRule)]
    for row in rows:
        if full:
            patient = patient_of(row)
            try:
                values, flagged = _facts.derive_flagged(patient, plan.as_of)
            except InputError as exc:  # the engine refuses this patient (e.g. a date before birth)
                refused.append(
                    {
                        ROW: row[ROW],
                        ID: row[ID],
                        "column": exc.field,
                        "value": repr(exc.value),
                        "expected": exc.expected,
                        "effect": "refused",
                    }
                )
                continue
            if flags is not None:
                flags.extend(_flag_row(row[ROW], row[ID], f) for f in flagged)
            for s in classifications:
                _kinds.evaluate_rule(s.rule, s.guideline, patient, values, plan.as_of)
        else:
            meds = tuple(medication_of(med, i) for i, med in enumerate(row[MEDS] or []))
            patient = Patient(id=row[ID], medications=meds)
            values = {k: row[k] for k in names if row[k] is not None}
        taken = frozenset().union(*(_agents.ingredient_keys(med.agent) for med in patient.medications))
        for s in steps:
            if s.agents is not None and taken.isdisjoint(s.agents):
                continue
            out.extend(_one(s, patient, values, taken, plan, row[ROW]))
    text = {k: (pl.String() if v == pl.Categorical() else v) for k, v in RESULT_SCHEMA.items()}
    text["missing"] = pl.List(pl.String())
    text["__step"] = pl.Int64()
    typed: dict[Any, Any] = {**RESULT_SCHEMA, "__step": pl.Int64()}
    results = pl.DataFrame(out, schema=text).cast(typed)
    return results, pl.DataFrame(refused, schema=ERRORS_SCHEMA)


NOT_CHECKED = "not-checked"
"""``status`` of a results row for a drug taken whose only rule of a kind (its neurotoxicity entry, its dosing
rule) is not evaluated, e.g. still in review: ``assess`` lists it as "not checked" under what is missing."""


def not_checked(table: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """A results row (``status`` :data:`NOT_CHECKED`) per medication entry and rule not evaluated that names it.

    ``assess``'s test (``evaluation.held_rules``): a drug whose neurotoxicity, or whose dose (an entry with a
    dose), no rule of the plan checks although a rule of the chosen guidelines not evaluated names it. Every
    entry counts, as in ``assess`` (stopped ones too); the row names the held rule, its status and, in
    ``label``, the drug as written. A row with a bad cell has none, as for the medication rules.
    Each distinct drug name is looked up once; rows in input order, then entry, then neurotoxicity before dose.
    """
    typed: dict[Any, Any] = dict(RESULT_SCHEMA)
    if MEDS not in table.columns or not table.height:
        return pl.DataFrame(schema=typed)
    found: dict[str, tuple[tuple[m.Guideline, m.Rule], ...]] = {}
    dosed: dict[str, tuple[tuple[m.Guideline, m.Rule], ...]] = {}
    for agent in table[MEDS].explode().struct.field("agent").drop_nulls().unique().to_list():
        name = agent.strip()
        if not name:
            continue
        names = _agents.ingredient_keys(name)
        evaluated = [s.rule for s in plan.steps if s.agents is not None and not s.agents.isdisjoint(names)]
        neuro = held_rules(m.NeurotoxicityRule, names, evaluated, plan.chosen)
        dose = held_rules(m.DosingRule, names, evaluated, plan.chosen)
        if neuro or dose:
            found[agent], dosed[agent] = neuro, dose
    if not found:  # the common case
        return pl.DataFrame(schema=typed)
    # As for the medication rules: a row with a bad cell has none (``assess`` refuses such a patient).
    bad = [pl.col(c) for c in table.columns if c.startswith(BAD)]
    rows = (
        table.lazy()
        .filter(~pl.any_horizontal(bad).fill_null(False) if bad else pl.lit(True))
        .select(
            ROW,
            ID,
            pl.col(MEDS).list.eval(pl.element().struct.field("agent")).alias("__agent"),
            pl.col(MEDS).list.eval(pl.element().struct.field("dose").is_not_null()).alias("__dosed"),
        )
        .explode("__agent", "__dosed")
        .filter(pl.col("__agent").is_in(list(found)))
        .collect()
    )
    out: list[dict[str, Any]] = []
    for row, patient_id, agent, with_dose in rows.iter_rows():
        for g, r in (*found[agent], *(dosed[agent] if with_dose else ())):
            out.append(
                {
                    ROW: row,
                    ID: patient_id,
                    "guideline": g.id,
                    "version": g.version,
                    "rule": r.id,
                    "kind": str(r.kind),
                    "rule_status": str(r.status),
                    "status": NOT_CHECKED,
                    "missing": [],
                    "label": agent.strip(),
                    "evaluated": "columnar",
                }
            )
    text = {k: (pl.String() if v == pl.Categorical() else v) for k, v in RESULT_SCHEMA.items()}
    text["missing"] = pl.List(pl.String())
    return pl.DataFrame(out, schema=text).cast(typed)


NOT_CHECKED_SCHEMA: dict[str, pl.DataType] = {
    "guideline": pl.String(),
    "version": pl.String(),
    "rule": pl.String(),
    "kind": pl.String(),
    "status": pl.String(),
    "patients": pl.Int64(),
    "entries": pl.Int64(),
}
"""Per rule not evaluated: the patients and medication entries whose drug it alone names (rows ``not-checked``);
``status`` is the rule's (``in-review``)."""


def not_checked_counts(results: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """The ``not-checked`` rows of a results table counted per rule (:data:`NOT_CHECKED_SCHEMA`)."""
    frame = results if isinstance(results, pl.DataFrame) else to_frame(results.select(["status"]))
    mask = frame["status"].cast(pl.String) == NOT_CHECKED
    if not mask.any():
        return pl.DataFrame(schema=NOT_CHECKED_SCHEMA)
    held = (
        results.filter(mask)
        if isinstance(results, pl.DataFrame)
        else to_frame(results.filter(pa.array(mask.to_arrow())))
    )
    return merge_not_checked(
        [
            held.group_by("guideline", "version", "rule", "kind", "rule_status")
            .agg(pl.col(ROW).n_unique().alias("patients"), pl.len().alias("entries"))
            .rename({"rule_status": "status"})
            .cast(pl.String, strict=False)
            .cast(NOT_CHECKED_SCHEMA)  # type: ignore[arg-type]
        ]
    )


def merge_not_checked(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Not-checked counts of several partitions as one table (patients are in one partition each: summed)."""
    joined = pl.concat([pl.DataFrame(schema=NOT_CHECKED_SCHEMA), *(f.select(list(NOT_CHECKED_SCHEMA)) for f in frames)])
    return (
        joined.group_by("guideline", "version", "rule", "kind", "status")
        .agg(pl.col("patients").sum(), pl.col("entries").sum())
        .sort("guideline", "version", "rule")
        .cast(NOT_CHECKED_SCHEMA)  # type: ignore[arg-type]
    )


UNRECOGNISED = "a drug name neuroguide recognises{}; no rule could check it"
"""``expected`` of an errors row for a medication name no rule recognises (with the closest known name)."""


@functools.lru_cache(maxsize=4096)
def _hint(agent: str, known: frozenset[str]) -> str | None:
    return unrecognised_hint(agent, known)


def unrecognised(table: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """An errors row (``not used``) for each medication whose name no rule or derived fact recognises.

    ``assess`` lists such a name under its missing inputs (``medications[i].agent``); a misspelling is never
    silently read as "takes nothing relevant". Each distinct name is checked once.
    """
    if MEDS not in table.columns or not table.height:
        return empty_errors()
    names = table[MEDS].explode().struct.field("agent").drop_nulls().unique().to_list()
    found = {n: h for n in names if n.strip() and (h := _hint(n.strip(), plan.agents)) is not None}
    if not found:  # the common case: every name is known
        return empty_errors()
    flat = (
        table.lazy()
        .select(ROW, ID, pl.col(MEDS).list.eval(pl.element().struct.field("agent")).alias("__agent"))
        .with_columns(pl.int_ranges(pl.col("__agent").list.len()).alias("__i"))
        .explode("__agent", "__i")
        .filter(pl.col("__agent").is_in(list(found)))
        .collect()
    )
    hints = pl.col("__agent").replace_strict(list(found), list(found.values()), return_dtype=pl.String)
    return flat.select(
        pl.col(ROW),
        pl.col(ID),
        pl.format("medications[{}].agent", pl.col("__i")).alias("column"),
        pl.col("__agent").str.strip_chars().alias("value"),
        pl.format(UNRECOGNISED.format("{}"), hints).alias("expected"),
        pl.lit("not used").alias("effect"),
    ).cast(ERRORS_SCHEMA)  # type: ignore[arg-type]


def _flag_row(row: int, patient_id: Any, flag: Flag) -> dict[str, Any]:
    """An errors-table row for a value the engine left out (its fields named by column, as the columnar checks do)."""
    column = flag.field.replace("findings.", "").replace("measurements.", "")
    return {
        ROW: row,
        ID: patient_id,
        "column": column,
        "value": flag.value,
        "expected": flag.message.removeprefix(_facts.CONTRADICTING),  # as the columnar checks word it
        "effect": "not used",
    }


def _one(
    step: Step, patient: Any, values: dict[str, Any], taken: frozenset[str], plan: Plan, row: int
) -> list[dict[str, Any]]:
    """One rule for one patient, as ``assess`` decides it; the rows it adds to the results."""
    rule = step.rule
    gate_criterion = getattr(rule, "when", None) or getattr(rule, "applies", None)
    if gate_criterion is not None and compiled(gate_criterion)(values) is False:
        return []
    if step.agents is not None and taken.isdisjoint(step.agents):
        return []
    result = _kinds.evaluate_rule(rule, step.guideline, patient, values, plan.as_of)
    if result.outcome is RuleOutcome.NOT_FIRED and not result.recommendations:
        return []
    base = {
        ROW: row,
        ID: patient.id,
        "guideline": step.guideline.id,
        "version": step.guideline.version,
        "rule": rule.id,
        "kind": rule.kind,
        "rule_status": str(rule.status),
        "missing": list(dict.fromkeys(plan.measured.get(f, f) for f in result.missing)),
        "evaluated": "per-row",
        "__step": step.index,
    }
    if not result.recommendations:
        return [{**base, "status": "undetermined"}]
    rows = []
    for rec in result.recommendations:
        label = rec.reasons[0] if rec.reasons and isinstance(rule, m.NeurotoxicityRule) else None
        if rec.reasons and isinstance(rule, m.DosingRule):
            # Duplicate therapy is judged on its entries together: the label names them all, not only the first.
            label = " and ".join(rec.reasons)
        if isinstance(rule, m.ClassificationRule):
            label = values.get(rule.id)
        rows.append(
            {
                **base,
                "status": str(rec.status),
                "due": rec.due,
                "due_by": rec.due_by,
                "overdue_days": rec.overdue_days,
                "label": label,
            }
        )
    return rows


def empty_errors() -> pl.DataFrame:
    """An empty errors table."""
    return pl.DataFrame(schema=ERRORS_SCHEMA)


def metadata(plan: Plan) -> dict[str, str]:
    """File metadata for a results table: package, date and every guideline version with its hash."""
    return {
        "neuroguide.package": package_version(),
        "neuroguide.as_of": plan.as_of.isoformat(),
        "neuroguide.guidelines": json.dumps(plan.guidelines()),
        "neuroguide.per_row_rules": json.dumps([s.rule.id for s in plan.per_row()]),
    }
