"""``evaluate``: a whole cohort in memory, and the partition function every engine shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs
import polars as pl
import pyarrow as pa

from .. import model as m
from .._loading import Catalog
from ..exceptions import InputError
from . import _derive
from ._derive import NOT_USED, REFUSED
from ._engine import (
    COUNTS_SCHEMA,
    RESULT_SCHEMA,
    Plan,
    Undetermined,
    _rule_facts,
    evaluate_arrow,
    make_plan,
    merge_absent_only,
    not_checked_counts,
    to_frame,
    unrecognised,
    with_rule_info,
)
from ._errors import BadRowsError
from ._schema import ERRORS_SCHEMA, ID, ROW, Resolved, columns, prepare, resolve, wide_from_documents

__all__ = [
    "DEFAULT_MAX_BAD_SHARE",
    "CohortResult",
    "Undetermined",
    "arrow_units",
    "check_share",
    "evaluate",
    "evaluate_partition",
    "is_unrecognised",
    "merge_partitions",
    "partition",
    "partition_arrow",
    "plain_arrow",
    "refuse_repeated",
    "repeated_ids",
    "spark_ddl",
    "unknown_facts",
    "unrecognised_count",
    "unrecognised_rows",
]

Table: TypeAlias = pl.DataFrame | pa.Table | pa.RecordBatch
"""A wide fact table as the public functions take it: Polars, or Arrow (units from field metadata)."""

DEFAULT_MAX_BAD_SHARE = 0.05
"""The share of rows with a bad cell above which a run stops (5 %; change with ``max_bad_share``)."""


@attrs.frozen
class CohortResult:
    """The long results table, the errors table, and what the run could not read."""

    results: pl.DataFrame
    errors: pl.DataFrame
    absent: tuple[str, ...]
    """Columns the rules read that the input lacks: unknown for every row."""
    rows: int
    plan: Plan
    absent_only: pl.DataFrame = attrs.field(factory=lambda: pl.DataFrame(schema=COUNTS_SCHEMA))
    """Per rule (guideline, version, rule): the patients it was undetermined for only because of absent
    columns (``patients``) and the facts it needed (``missing``); with ``Undetermined.COMPACT`` these are
    not rows of ``results``. ``kind``, ``urgent`` (a red-flag check, :func:`neuroguide.model.is_urgent`) and
    ``status`` describe the rule."""
    undetermined: Undetermined = Undetermined.COMPACT

    @property
    def bad_rows(self) -> int:
        """Rows with at least one bad cell."""
        return bad_rows(self.errors)

    @property
    def unrecognised(self) -> int:
        """Medication entries whose drug name no rule recognises (errors rows, ``not used``)."""
        return unrecognised_count(self.errors)

    @property
    def not_checked(self) -> pl.DataFrame:
        """Per rule not evaluated (e.g. in review) that alone names a drug taken: patients and entries not checked.

        The results rows with ``status`` ``not-checked``, counted (``NOT_CHECKED_SCHEMA``).
        """
        return not_checked_counts(self.results)


def evaluate(
    table: Table | Sequence[Mapping[str, Any]],
    *,
    as_of: dt.date,
    source: Catalog | None = None,
    pins: Mapping[str, str] | None = None,
    statuses: Iterable[m.Status | str] = (m.Status.APPROVED,),
    guidelines: Iterable[str] | None = None,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
    units: Mapping[str, str] | None = None,
    undetermined: Undetermined | str = Undetermined.COMPACT,
) -> CohortResult:
    """Evaluate every patient of ``table`` on ``as_of``, as ``assess`` would one by one.

    Args:
        table: a wide fact table (Polars or Arrow; see the schema in ``docs/cohort.md``) or a
            sequence of patient documents (the dicts ``Patient.from_dict`` reads).
        as_of: the evaluation date.
        source: a catalog other than the packaged one, as for :func:`neuroguide.assess`.
        pins: guideline id -> version, as for :func:`neuroguide.assess`.
        statuses: rule statuses to evaluate, as for :func:`neuroguide.assess`.
        guidelines: restrict to these guideline ids.
        max_bad_share: stop (``BadRowsError``) when more than this share of rows has a bad cell.
        units: column -> unit, for quantity columns not in the fact's canonical unit.
        undetermined: ``Undetermined.COMPACT`` (the default) leaves out the results undetermined only
            because the table has no column for what they need, and counts them per rule in
            ``absent_only``; ``Undetermined.ALL`` writes every one as a row.

    Raises:
        SchemaError: bad columns (every one is named).
        BadRowsError: too many rows with impossible values.

    """
    mode = undetermined_mode(undetermined)
    _check_share_limit(max_bad_share)  # before the work, not after it
    if units is not None and not isinstance(units, Mapping):
        raise InputError("units", units, "a mapping of column name to unit, e.g. {'weight': 'lb'}")
    is_table = isinstance(table, pl.DataFrame | pa.Table | pa.RecordBatch)
    if not is_table and (isinstance(table, str | bytes | Mapping) or not isinstance(table, Iterable)):
        raise InputError("table", type(table).__name__, "a Polars or Arrow table, or a list of patient documents")
    plan = make_plan(as_of, source=source, pins=pins, statuses=statuses, guidelines=guidelines)
    if isinstance(table, pl.DataFrame | pa.Table | pa.RecordBatch):
        results, errors, absent, only = partition(table, plan, first_row=0, units=units, undetermined=mode)
        rows = table.height if isinstance(table, pl.DataFrame) else table.num_rows
    else:
        docs = list(table)
        wide, refused = wide_from_documents(docs)
        results, errors, absent, only = evaluate_partition(wide, plan, first_row=0, undetermined=mode, slips=False)
        only = with_rule_info(only, plan)
        errors = pl.concat([refused, errors]).sort(ROW, maintain_order=True)
        rows = len(docs)
    check_share(errors, rows, max_bad_share)
    return CohortResult(
        results=results,
        errors=errors,
        absent=absent,
        rows=rows,
        plan=plan,
        absent_only=only,
        undetermined=mode,
    )


def partition(
    table: Table,
    plan: Plan,
    *,
    first_row: int,
    units: Mapping[str, str] | None = None,
    undetermined: Undetermined | str = Undetermined.COMPACT,
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], pl.DataFrame]:
    """The public partition function: ``evaluate`` on one batch of a cohort (Polars or Arrow).

    Returns the results, the errors, the absent columns and the absent-only counts with each rule's
    ``kind``, ``urgent`` and ``status`` (:data:`COUNTS_SCHEMA`), as :func:`evaluate` gives them. Rows are
    numbered from ``first_row``, unless the table has a ``row`` column of whole numbers, which is kept.
    """
    frame, found_units = _frame(table)
    if ROW in frame.columns and (not frame[ROW].dtype.is_integer() or frame[ROW].null_count()):
        raise InputError(ROW, str(frame[ROW].dtype), "whole numbers in every row (the row numbers to keep)")
    results, errors, absent, only = evaluate_partition(
        frame,
        plan,
        first_row=first_row,
        units={**found_units, **(units or {})},
        undetermined=undetermined_mode(undetermined),
        slips=True,
    )
    return results, errors, absent, with_rule_info(only, plan)


def merge_partitions(frames: Iterable[pl.DataFrame], plan: Plan) -> pl.DataFrame:
    """The absent-only counts of several partitions as one table, with each rule's kind, urgent and status."""
    return with_rule_info(merge_absent_only(frames), plan)


def undetermined_mode(value: Undetermined | str) -> Undetermined:
    """``value`` as an :class:`Undetermined` mode, or an error naming the choices."""
    try:
        return Undetermined(value)
    except ValueError:
        choices = " or ".join(repr(str(u)) for u in Undetermined)
        raise InputError("undetermined", value, choices) from None


def _frame(table: object) -> tuple[pl.DataFrame, dict[str, str]]:
    if isinstance(table, pl.DataFrame):
        return table, {}
    if isinstance(table, pa.Table | pa.RecordBatch):
        return pl.DataFrame(pl.from_arrow(table)), arrow_units(table.schema)
    raise InputError("table", type(table).__name__, "a Polars DataFrame or a pyarrow Table or RecordBatch of wide rows")


def arrow_units(schema: pa.Schema) -> dict[str, str]:
    """Units declared in Arrow field metadata (key ``unit``)."""
    found = {}
    for field in schema:
        meta = field.metadata or {}
        unit = meta.get(b"unit")
        if unit:
            found[field.name] = unit.decode()
    return found


def evaluate_partition(
    frame: pl.DataFrame,
    plan: Plan,
    *,
    first_row: int,
    units: Mapping[str, str] | None = None,
    resolved: Sequence[Resolved] | None = None,
    undetermined: Undetermined = Undetermined.COMPACT,
    slips: bool | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], pl.DataFrame]:
    """:func:`partition_arrow` with the results as a Polars frame (``RESULT_SCHEMA``)."""
    results, errors, absent, only = partition_arrow(
        frame, plan, first_row=first_row, units=units, resolved=resolved, undetermined=undetermined, slips=slips
    )
    return to_frame(results), errors, absent, only


def partition_arrow(
    frame: pl.DataFrame,
    plan: Plan,
    *,
    first_row: int,
    units: Mapping[str, str] | None = None,
    resolved: Sequence[Resolved] | None = None,
    undetermined: Undetermined = Undetermined.COMPACT,
    slips: bool | None = None,
    repeated: pl.DataFrame | None = None,
) -> tuple[pa.Table, pl.DataFrame, tuple[str, ...], pl.DataFrame]:
    """The partition function every engine runs: one batch of wide rows -> results, errors, absent columns, counts.

    The counts are, per rule, the patients undetermined only because of absent columns (not rows
    unless ``Undetermined.ALL``; see ``ABSENT_ONLY_SCHEMA``).

    A table with a ``row`` column (patient documents in wide form, or a table numbering its own rows) keeps its
    row numbers. ``slips``: check measurements for unit slips (default: unless the table has a ``row`` column,
    as the documents' wide form has; callers with a wide table say ``True``).

    A medication name no rule recognises is an errors row (``medications[i].agent``, ``not used``), as ``assess``
    lists it under missing inputs; every row's names are checked, a refused row's too.

    A patient id on more than one row refuses every row with it (an errors row each). Rows of this batch are
    compared; ``repeated`` (:func:`repeated_ids` of the whole input, from a run's first pass over its id column)
    adds the ids repeated across batches.
    """
    if ROW in frame.columns:
        rows = frame[ROW]
        frame = frame.drop(ROW)
    else:
        rows = None
    if resolved is None:
        resolved = resolve(dict(frame.schema), units)
    # Documents were checked for unit slips in the units they were written in.
    prepared, errors = prepare(frame, resolved, plan.as_of, first_row, slips=rows is None if slips is None else slips)
    if rows is not None:
        mapping = dict(zip(prepared[ROW].to_list(), rows.to_list(), strict=True))
        prepared = prepared.with_columns(rows.alias(ROW))
        if errors.height:
            errors = errors.with_columns(pl.col(ROW).replace_strict(mapping, return_dtype=pl.Int64))
    unknown_agents = unrecognised(prepared, plan)  # every row read, refused ones too: all fixed in one pass
    if unknown_agents.height:
        errors = pl.concat([errors, unknown_agents])
    prepared, twice = refuse_repeated(prepared, repeated)
    if twice.height:
        errors = pl.concat([errors, twice])
    names = {r.spec.name for r in resolved}
    results, refused, only = evaluate_arrow(prepared, plan, unknown=unknown_facts(names), undetermined=undetermined)
    if refused.height:
        errors = pl.concat([errors, refused])
    read = {f for s in plan.steps for f in _rule_facts(s.rule)}
    derived = _derive.reads()
    absent = tuple(sorted(c for c in read if c not in names and c in columns() and c not in derived))
    return results, errors, absent, only


def repeated_ids(ids: pl.Series, rows: pl.Series) -> pl.DataFrame:
    """Ids given on more than one row (an empty id aside), each with the rows that have it (``id``, ``rows``)."""
    frame = pl.DataFrame({ID: ids.cast(pl.String), ROW: rows.cast(pl.Int64)})
    twice = frame.filter(pl.col(ID).is_duplicated() & pl.col(ID).is_not_null())
    return twice.group_by(ID, maintain_order=True).agg(pl.col(ROW).alias("rows"))


_SHOWN_ROWS = 5


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_SHOWN_ROWS])
    more = f" and {len(rows) - _SHOWN_ROWS} more" if len(rows) > _SHOWN_ROWS else ""
    return f"a patient id used once (rows {shown}{more} have it)"


def refuse_repeated(prepared: pl.DataFrame, repeated: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The batch without the rows whose id another row has too, and an errors row (``refused``) for each.

    Two rows under one id are two patients, or one patient twice with possibly different data: either way a
    result under that id could not be traced to one person, so neither is evaluated.
    """
    ids = prepared[ID]
    found = repeated_ids(ids, prepared[ROW])
    if repeated is not None and repeated.height:
        # the whole input's rows win: they name the rows in other batches too
        found = pl.concat([repeated.filter(pl.col(ID).is_in(ids.drop_nulls().implode())), found]).unique(
            ID, keep="first", maintain_order=True
        )
    if not found.height:
        return prepared, pl.DataFrame(schema=ERRORS_SCHEMA)
    texts = found.with_columns(
        pl.col("rows").map_elements(lambda r: _rows_text(sorted(r)), return_dtype=pl.String).alias("expected")
    )
    hit = prepared.select(ROW, ID).join(texts.select(ID, "expected"), on=ID, how="inner", maintain_order="left")
    errors = hit.select(
        pl.col(ROW),
        pl.col(ID),
        pl.lit(ID).alias("column"),
        pl.col(ID).alias("value"),
        pl.col("expected"),
        pl.lit(REFUSED).alias("effect"),
    ).cast(ERRORS_SCHEMA)  # type: ignore[arg-type]
    return prepared.filter(~pl.col(ROW).is_in(hit[ROW].implode())), errors


def unknown_facts(given: Iterable[str]) -> frozenset[str]:
    """Facts unknown for every row of a table with the columns ``given``.

    A fact whose column is absent, and a derived fact not given whose every input column is absent
    (it is missing only because they are).
    """
    lacking = set(columns()) - set(given)
    derived = _derive.reads()
    plain = {c for c in lacking if c not in derived}
    return frozenset(plain | {d for d, inputs in derived.items() if inputs and inputs <= lacking})


def _check_share_limit(limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 <= limit <= 1:
        raise InputError("max_bad_share", limit, "a share between 0 and 1")


def check_share(errors: pl.DataFrame, rows: int, limit: float) -> None:
    """Stop with a summary when more than ``limit`` of ``rows`` have a bad cell."""
    _check_share_limit(limit)
    bad = bad_rows(errors)
    if rows and bad / rows > limit:
        counts = (
            errors.filter(pl.col("effect") != NOT_USED)
            .group_by("column")
            .agg(pl.col(ROW).n_unique().alias("n"))
            .sort(["n", "column"], descending=[True, False])
        )
        summary = ", ".join(f"{c}: {n} rows" for c, n in counts.head(10).iter_rows())
        raise BadRowsError(bad, rows, limit, f"bad cells by column: {summary}")


def bad_rows(errors: pl.DataFrame) -> int:
    """Rows with a bad cell or refused (values merely not used do not count)."""
    if not errors.height:
        return 0
    return int(errors.filter(pl.col("effect") != NOT_USED)[ROW].n_unique())


def is_unrecognised() -> pl.Expr:
    """True for an errors row of a medication name no rule recognises (``medications[i].agent``, ``not used``)."""
    return (pl.col("effect") == NOT_USED) & pl.col("column").str.contains(r"^medications\[\d+\]\.agent$")


def unrecognised_rows(errors: pl.DataFrame) -> pl.DataFrame:
    """The errors rows of medication names no rule recognises."""
    return errors.filter(is_unrecognised())


def unrecognised_count(errors: pl.DataFrame) -> int:
    """How many medication entries have a drug name no rule recognises."""
    return unrecognised_rows(errors).height if errors.height else 0


def empty_results() -> pl.DataFrame:
    """An empty results table with the documented columns."""
    return pl.DataFrame(schema=RESULT_SCHEMA)


def empty_errors() -> pl.DataFrame:
    """An empty errors table."""
    return pl.DataFrame(schema=ERRORS_SCHEMA)


# Plain Arrow and Spark types for the columns of the tables above: text (categorical or not) as 32-bit-offset
# strings, because Spark's Arrow exchange takes neither dictionary-encoded nor (by default) large strings.
_PLAIN: dict[type[pl.DataType], tuple[pa.DataType, str]] = {
    pl.String: (pa.string(), "STRING"),
    pl.Categorical: (pa.string(), "STRING"),
    pl.Enum: (pa.string(), "STRING"),
    pl.Int64: (pa.int64(), "BIGINT"),
    pl.Int32: (pa.int32(), "INT"),
    pl.Float64: (pa.float64(), "DOUBLE"),
    pl.Boolean: (pa.bool_(), "BOOLEAN"),
    pl.Date: (pa.date32(), "DATE"),
}


def _plain(name: str, dtype: pl.DataType) -> tuple[pl.DataType, pa.DataType, str]:
    """``dtype`` as plain Polars, Arrow and Spark types (lists of them too)."""
    if isinstance(dtype, pl.List):
        inner, arrow, ddl = _plain(name, dtype.inner if isinstance(dtype.inner, pl.DataType) else dtype.inner())
        return pl.List(inner), pa.list_(arrow), f"ARRAY<{ddl}>"
    base = dtype.base_type()
    if base not in _PLAIN:
        raise InputError(name, str(dtype), f"a column of one of the types {', '.join(t.__name__ for t in _PLAIN)}")
    arrow, ddl = _PLAIN[base]
    return (pl.String() if base in (pl.Categorical, pl.Enum) else dtype), arrow, ddl


def plain_arrow(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pa.Table:
    """``frame`` as an Arrow table with ``schema``'s columns in plain types: no dictionaries, no large strings.

    For engines that take Arrow but not dictionary-encoded text, such as Spark's ``mapInArrow``; ``schema`` is
    ``RESULT_SCHEMA``, ``ERRORS_SCHEMA`` or ``ABSENT_ONLY_SCHEMA`` and :func:`spark_ddl` gives the same types.
    """
    lacking = [c for c in schema if c not in frame.columns]
    if lacking:
        raise InputError("frame", frame.columns, f"the columns {', '.join(schema)} (lacks {', '.join(lacking)})")
    typed = {c: _plain(c, t) for c, t in schema.items()}
    table = frame.select(list(schema)).cast(pl.Schema(schema)).cast(pl.Schema({c: t[0] for c, t in typed.items()}))
    return table.to_arrow().cast(pa.schema([pa.field(c, t[1]) for c, t in typed.items()]))


def spark_ddl(schema: Mapping[str, pl.DataType]) -> str:
    """A Spark DDL schema string for a table of ``schema`` cast by :func:`plain_arrow` (every name quoted)."""
    return ", ".join(f"`{c}` {_plain(c, t)[2]}" for c, t in schema.items())
