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
import polars as pl

from .. import _agents, _facts, _kinds
from .. import model as m
from .._bands import band_of
from .._criteria import compiled, facts_in, threshold
from .._loading import Catalog, catalog
from .._vocabulary import vocabulary
from ..evaluation import _choose, _plan, _statuses
from ..exceptions import InputError
from ..patient import Patient
from ..results import RuleOutcome, package_version
from ..units import is_quantity, magnitude, quantity
from . import _derive, _lookup
from ._schema import BAD, ERRORS_SCHEMA, ID, MEDS, RESULT_SCHEMA, ROW, columns, medication_of, patient_of

__all__ = [
    "ABSENT_ONLY_SCHEMA",
    "COUNTS_SCHEMA",
    "PER_ROW_KINDS",
    "RESULT_SCHEMA",
    "Plan",
    "Step",
    "Undetermined",
    "evaluate_prepared",
    "make_plan",
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
    due: pl.Expr
    due_by: pl.Expr
    overdue: pl.Expr
    missing: list[tuple[pl.Expr, str]]
    """(condition, fact name) in the engine's order: the name is missing where the condition holds."""
    label: pl.Expr


_NONE_DATE = pl.lit(None, dtype=pl.Date)
_NONE_CAT = pl.lit(None, dtype=pl.Categorical)


@functools.cache
def _cat(text: str) -> pl.Expr:
    """A categorical literal (the results' text columns are categorical: cheap to build, broadcast and write)."""
    return pl.lit(text, dtype=pl.Categorical)


_NONE_INT = pl.lit(None, dtype=pl.Int64)


def _simple(rule: m.Rule, env: _Env) -> _RuleColumns:
    when = env.truth(rule.when)  # type: ignore[union-attr]
    fired = "fires"
    if isinstance(rule, m.ReferralRule) and rule.urgency in (m.Urgency.EMERGENCY, m.Urgency.URGENT):
        fired = str(rule.urgency)
    elif isinstance(rule, m.ConsiderationRule) and getattr(rule, "pattern", None) is not None:
        fired = "pattern"  # a presentation pattern (as the engine reports it)
    status = pl.when(when).then(_cat(fired)).when(when.is_null()).then(_cat("undetermined"))
    missing = env.missing(rule.when, when.is_null())  # type: ignore[union-attr]
    return _RuleColumns(status, _NONE_DATE, _NONE_DATE, _NONE_INT, missing, _NONE_CAT)


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
        .then(_cat("undetermined"))
        .when(fired & (day < due))
        .then(_cat("scheduled"))
        .when(fired & (day <= latest))
        .then(_cat("due"))
        .when(fired)
        .then(_cat("overdue"))
    )
    label: pl.Expr = _NONE_CAT
    for cond, th in reversed(branches):
        label = pl.when(cond).then(_cat(th.label)).otherwise(label)
    return _RuleColumns(
        status=status,
        due=pl.when(fired).then(due),
        due_by=pl.when(fired & (latest != due)).then(latest),
        overdue=pl.when(fired & (day > latest)).then((day - latest).dt.total_days()),
        missing=segments,
        label=pl.when(fired).then(label),
    )


def _band_labels(rule: m.ClassificationRule, values: pl.Series) -> pl.Series:
    """The band label of every value, decided once per distinct value by the engine's band function."""
    spec = vocabulary().get(rule.fact)
    convert = rule.unit not in ("1", "") and spec is not None and spec.unit is not None and spec.unit != rule.unit
    mapping: dict[float, str | None] = {}
    for v in values.drop_nulls().unique().to_list():
        x = magnitude(quantity(v, spec.unit), rule.unit, analyte=rule.analyte) if convert else v  # type: ignore[union-attr,arg-type]
        band, _ = band_of(rule, x)
        mapping[v] = band.label if band is not None else None
    return values.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=pl.String)


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
    status = pl.when(applies.is_null()).then(_cat("undetermined")).when(label.is_not_null()).then(_cat("result"))
    missing = env.missing(rule.applies, applies.is_null()) if rule.applies is not None else []
    return _RuleColumns(status, _NONE_DATE, _NONE_DATE, _NONE_INT, missing, label.cast(pl.Categorical)), labels


def evaluate_prepared(
    table: pl.DataFrame,
    plan: Plan,
    *,
    unknown: frozenset[str] = frozenset(),
    undetermined: Undetermined = Undetermined.COMPACT,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Evaluate every rule of ``plan`` over a prepared wide table; return the results, errors and absent-only counts.

    ``unknown`` are the facts the input has no column for (unknown for every row). A result left
    undetermined only by them (every missing fact it names is in ``unknown``) is counted per rule in
    the third table (:data:`ABSENT_ONLY_SCHEMA`) and, with ``Undetermined.COMPACT``, is not a row.

    The errors are the patients the engine refuses (``effect`` ``refused``: dates before birth,
    contradicting findings, …; they get no results, as ``assess`` gives them none) and the values it
    leaves out (``not used``: placeholder dates, a given value contradicting the derivable one, …).

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
    parts: list[pl.LazyFrame] = []
    refusals: list[pl.DataFrame] = [refused_rows]
    segments: dict[int, list[str]] = {}
    bad_columns = {c.removeprefix(BAD) for c in facts.columns if c.startswith(BAD)}
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
            parts.append(res.drop("__step").lazy())
            refusals.append(refused)
            continue
        if len(cols.missing) > _MASK_BITS:
            raise AssertionError(f"{rule.id}: more than {_MASK_BITS} missing-fact segments")  # pragma: no cover
        segments[step.index] = [name for _, name in cols.missing]
        keep = pl.col("status").is_not_null()
        bad = [pl.col(BAD + c) for c in sorted(step.reads & bad_columns)]
        if bad:
            keep = keep & ~pl.any_horizontal(bad)
        mask = pl.sum_horizontal(
            [
                pl.when(cond).then(pl.lit(1 << k, pl.Int64)).otherwise(pl.lit(0, pl.Int64))
                for k, (cond, _) in enumerate(cols.missing)
            ]
            or [pl.lit(0, pl.Int64)]
        )
        key = (pl.lit(step.index << _MASK_BITS, pl.Int64) | mask).alias("__key")
        absent_bits = sum(1 << k for k, (_, name) in enumerate(cols.missing) if name in drop.unknown)
        source = facts.lazy()
        status, filtered = cols.status, keep
        if absent_bits:
            # Status and mask once (to find the results undetermined only by absent columns); the other
            # columns only for the rows written.
            known_bits = ((1 << len(cols.missing)) - 1) & ~absent_bits
            marked = drop.columnar(
                facts.lazy().select(pl.col(ROW), cols.status.alias("status"), key, *bad), keep, absent_bits, known_bits
            )
            status, key, filtered = pl.col("status"), pl.col("__key"), pl.col("__keep")
            source = source.with_columns(marked)
        parts.append(
            source.select(
                pl.col(ROW),
                pl.col(ID),
                _cat(step.guideline.id).alias("guideline"),
                _cat(step.guideline.version).alias("version"),
                _cat(rule.id).alias("rule"),
                _cat(rule.kind).alias("kind"),
                _cat(str(rule.status)).alias("rule_status"),
                status.alias("status"),
                cols.due.alias("due"),
                cols.due_by.alias("due_by"),
                cols.overdue.cast(pl.Int64).alias("overdue_days"),
                pl.lit(None, dtype=_CAT_LIST).alias("missing"),
                cols.label.alias("label"),
                _cat("columnar").alias("evaluated"),
                key.alias("__key"),
                *bad,
                *([filtered] if absent_bits else []),
            )
            .filter(filtered)
            .select(_PART_COLUMNS)
        )
    per_row = plan.per_row()
    lookups = [s for s in plan.steps if s.lookup]
    # Medication rules keep the per-row path's order (by input row, then rule) wherever they are evaluated.
    meds: list[pl.DataFrame] = []
    if lookups:
        looked, duplicates = _lookup.dosing_rows(facts, lookups, as_of, plan.measured)
        meds.append(looked.with_columns(pl.lit(None, dtype=pl.Int64).alias("__key")))
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
        parts.append(merged.drop("__step").lazy())
    return _assemble(parts, refusals, notes, plan, segments, drop)


_MASK_BITS = 48
"""Bits of a rule's missing-fact mask (the rule's step index is above them)."""
_CAT_LIST = pl.List(pl.Categorical())
_PART_COLUMNS = [*RESULT_SCHEMA, "__key"]


def _assemble(
    parts: list[pl.LazyFrame],
    refusals: list[pl.DataFrame],
    notes: list[pl.DataFrame],
    plan: Plan,
    segments: Mapping[int, list[str]],
    drop: _Drop,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The results without refused patients, the errors (refusals, then values not used), the absent-only counts.

    Rows are rule-major within a partition (the engine's rule order, then input row): sorting by patient
    would cost more than evaluating; every engine partitions the same way, so outputs are identical. A
    columnar row's missing facts come from its rule and mask, named once per distinct mask.
    """
    refused = pl.concat(refusals).unique(ROW, keep="first", maintain_order=True) if refusals else empty_errors()
    noted = [n for n in notes if n.height]
    errors = pl.concat([refused, *noted]) if noted else refused
    if not parts:
        return pl.DataFrame(schema=RESULT_SCHEMA), errors, drop.counts(plan, segments, refused, None)
    out = pl.concat(parts, how="vertical")
    if refused.height:
        out = out.filter(~pl.col(ROW).is_in(refused[ROW].implode()))
    frame = out.collect()
    frame, per_row = drop.per_row(frame)
    counted = drop.counts(plan, segments, refused, per_row)
    keys = frame["__key"].drop_nulls().unique().to_list()
    lists = []
    for key in keys:
        names = segments[key >> _MASK_BITS]
        mask = key & ((1 << _MASK_BITS) - 1)
        lists.append(list(dict.fromkeys(n for k, n in enumerate(names) if mask >> k & 1)))
    # Each row's list by its key's position (a gather, not a join: a join would copy every column).
    named = pl.Series("__missing", lists, dtype=_CAT_LIST)
    position = frame["__key"].replace_strict(keys, range(len(keys)), default=None, return_dtype=pl.UInt32)
    missing = pl.coalesce(pl.col("missing"), pl.lit(named.gather(position))).alias("missing")
    return frame.with_columns(missing).select(list(RESULT_SCHEMA)), errors, counted


_LOW = (1 << _MASK_BITS) - 1


class _Drop:
    """Results undetermined only because the input lacks columns: counted per rule, written only with ``ALL``."""

    def __init__(self, unknown: frozenset[str], mode: Undetermined) -> None:
        self.unknown = unknown
        self.mode = Undetermined(mode)
        self.found: list[pl.DataFrame] = []
        """(row, key) of the columnar results undetermined only by absent columns."""

    def columnar(self, flags: pl.LazyFrame, keep: pl.Expr, absent: int, known: int) -> list[pl.Series]:
        """Status, key and whether to write, for one rule's rows; remember the absent-only ones."""
        frame = flags.collect()
        low = pl.col("__key") & _LOW
        only = (pl.col("status") == "undetermined") & ((low & absent) != 0) & ((low & known) == 0)
        marks = frame.select(keep.fill_null(False).alias("k"), only.fill_null(False).alias("o"))
        kept, only_absent = marks["k"], marks["k"] & marks["o"]
        self.found.append(frame.filter(only_absent).select(ROW, "__key"))
        write = kept & ~only_absent if self.mode is Undetermined.COMPACT else kept
        return [frame["status"], frame["__key"], write.alias("__keep")]

    def per_row(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """The results without per-row ones undetermined only by absent columns (``COMPACT``), and their counts."""
        if not self.unknown:
            return frame, None
        undecided = frame.with_row_index("__i").filter(
            pl.col("__key").is_null() & (pl.col("status") == "undetermined") & (pl.col("missing").list.len() > 0)
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

    def counts(
        self, plan: Plan, segments: Mapping[int, list[str]], refused: pl.DataFrame, per_row: pl.DataFrame | None
    ) -> pl.DataFrame:
        """Per rule: patients undetermined only by absent columns, and the facts named."""
        rows: dict[int, tuple[int, set[str]]] = {}
        if self.found:
            found = pl.concat(self.found)
            if refused.height:
                found = found.filter(~pl.col(ROW).is_in(refused[ROW].implode()))
            for key, n in found.group_by("__key").len().iter_rows():
                step, mask = key >> _MASK_BITS, key & _LOW
                count, names = rows.get(step, (0, set()))
                names |= {name for k, name in enumerate(segments[step]) if mask >> k & 1}
                rows[step] = (count + n, names)
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


def _all_per_row(table: pl.DataFrame, plan: Plan, drop: _Drop) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every rule for every patient through the engine's own ``derive`` (the fact engine changed)."""
    steps = [attrs.evolve(s, columnar=False, lookup=False) for s in plan.steps]
    res, refused = _per_row(table, plan, steps, table, full=True)
    return _assemble([res.drop("__step").lazy()], [refused], [], plan, {}, drop)


def _per_row(
    facts: pl.DataFrame, plan: Plan, steps: Sequence[Step], inputs: pl.DataFrame, *, full: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evaluate ``steps`` one patient at a time through the engine (medication rules and the like)."""
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
                values = _facts.derive(patient, plan.as_of)
            except InputError as exc:  # the engine refuses this patient (e.g. contradicting findings)
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
    results = results.with_columns(pl.lit(None, dtype=pl.Int64).alias("__key"))
    return results, pl.DataFrame(refused, schema=ERRORS_SCHEMA)


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
        label = rec.reasons[0] if rec.reasons and isinstance(rule, m.DosingRule | m.NeurotoxicityRule) else None
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
