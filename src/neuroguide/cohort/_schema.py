"""The wide fact table: one row per patient, one column per vocabulary fact.

Columns (see ``docs/cohort.md``):

* ``patient_id`` (string), ``birth_date`` (date), ``diabetes_type`` (``type-1``/``type-2``/``other``;
  empty means no diabetes recorded, as in a patient document), ``diabetes_diagnosed`` (date);
* one column per input fact of the vocabulary, named by the fact: booleans for findings, dates for
  ``last-*`` assessments, numbers for quantities in the fact's canonical unit, unless the column
  name says another unit (``serum-creatinine[umol/L]``) or the Arrow field metadata has ``unit``;
* ``medications``: a list of structs with the fields of a patient document's medication
  (``agent``, ``dose`` and ``cumulative`` as quantity text such as ``"300 mg"``, ``per``,
  ``route``, ``started``, ``stopped``, ``indication``); a JSON text column is accepted too.

:func:`resolve` checks the columns and reports every bad one at once; :func:`prepare` coerces a
batch, converts units, and lists every impossible cell in an errors table (row, column, value,
expected) with a per-column "bad" flag the evaluator uses to exclude the row from the rules that
read that column.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import re
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import polars as pl

from .._agents import key as agent_key
from .._jsonin import loads
from .._limits import LIMITED, inside
from .._plausible import span, unit_slip
from .._vocabulary import FactSpec, vocabulary
from ..exceptions import InputError
from ..patient import Diabetes, Medication, Patient
from ..units import (
    Quantity,
    dimension,
    dimension_of,
    format_quantity,
    hba1c_ifcc_to_ngsp,
    in_kind,
    is_quantity,
    parse_quantity,
    parse_unit,
    quantity,
    scale,
)
from ._errors import SchemaError

__all__ = [
    "BAD",
    "ERRORS_SCHEMA",
    "RESULT_SCHEMA",
    "ColumnSpec",
    "Resolved",
    "columns",
    "document_of",
    "patient_of",
    "prepare",
    "resolve",
    "wide_from_documents",
]

ID, BIRTH, DTYPE, DDIAG, MEDS, ROW = (
    "patient_id",
    "birth_date",
    "diabetes_type",
    "diabetes_diagnosed",
    "medications",
    "row",
)
BAD = "__bad:"
"""Prefix of the per-column flag marking a cell reported in the errors table."""

Kind = Literal["id", "date", "boolean", "float", "category", "medications"]

_DIABETES_TYPES = ("type-1", "type-2", "other")
_PERIODS = ("day", "week", "month")

MED_FIELDS: dict[str, pl.DataType] = {
    "agent": pl.String(),
    "dose": pl.String(),
    "per": pl.String(),
    "route": pl.String(),
    "started": pl.Date(),
    "stopped": pl.Date(),
    "cumulative": pl.String(),
    "indication": pl.String(),
}
MED_TYPE = pl.List(pl.Struct(MED_FIELDS))

ERRORS_SCHEMA: dict[str, pl.DataType] = {
    ROW: pl.Int64(),
    ID: pl.String(),
    "column": pl.String(),
    "value": pl.String(),
    "expected": pl.String(),
    "effect": pl.String(),
}
"""``effect``: ``excluded`` (the row is left out of the rules reading the column), ``refused`` (the whole
patient, as ``assess`` refuses it) or ``not used`` (the value is treated as unknown, as ``assess`` flags it)."""

# Text columns with few distinct values are categorical (dictionary-encoded in Parquet): cheaper to build and write.
RESULT_SCHEMA: dict[str, pl.DataType] = {
    ROW: pl.Int64(),
    ID: pl.String(),
    "guideline": pl.Categorical(),
    "version": pl.Categorical(),
    "rule": pl.Categorical(),
    "kind": pl.Categorical(),
    "rule_status": pl.Categorical(),
    "status": pl.Categorical(),
    "due": pl.Date(),
    "due_by": pl.Date(),
    "overdue_days": pl.Int64(),
    "missing": pl.List(pl.Categorical()),
    "label": pl.Categorical(),
    "evaluated": pl.Categorical(),
}


@attrs.frozen
class ColumnSpec:
    """One column of the wide table."""

    name: str
    kind: Kind
    unit: str | None = None
    analyte: str | None = None
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    label: str = ""


@functools.cache
def columns() -> Mapping[str, ColumnSpec]:
    """Every column the wide table may have, by name."""
    out: dict[str, ColumnSpec] = {
        ID: ColumnSpec(ID, "id", label="patient identifier"),
        BIRTH: ColumnSpec(BIRTH, "date", label="date of birth"),
        DTYPE: ColumnSpec(DTYPE, "category", values=_DIABETES_TYPES, label="diabetes type (empty: no diabetes)"),
        DDIAG: ColumnSpec(DDIAG, "date", label="date diabetes was diagnosed"),
        MEDS: ColumnSpec(MEDS, "medications", label="medication list"),
    }
    for name, spec in vocabulary().items():
        if spec.is_input:
            out[name] = _fact_column(spec)
    return out


def _fact_column(spec: FactSpec) -> ColumnSpec:
    kind: Kind = {"boolean": "boolean", "date": "date", "category": "category"}.get(spec.type, "float")  # type: ignore[assignment]
    return ColumnSpec(
        spec.name,
        kind,
        unit=spec.unit,
        analyte=spec.analyte,
        values=spec.values,
        low=spec.low,
        high=spec.high,
        label=spec.label,
    )


@attrs.frozen
class Resolved:
    """A source column matched to a wide-table column, with its unit conversion."""

    source: str
    spec: ColumnSpec
    unit: str | None = None
    factor: float = 1.0
    ifcc: bool = False
    """HbA1c given in mmol/mol (IFCC): converted with the master equation, not a factor."""


_UNIT_IN_NAME = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<unit>[^\[\]]+)\]$")


def resolve(schema: Mapping[str, pl.DataType], units: Mapping[str, str] | None = None) -> list[Resolved]:
    """Match every column of ``schema`` to the wide table, reporting every bad column at once.

    ``units`` maps a column to its unit (from Arrow field metadata); a unit in the column
    name (``weight[lb]``) works the same. Unknown columns, wrong types, units that do not
    convert to the fact's unit, derived facts given as inputs and duplicates are all
    reported together.

    Raises:
        SchemaError: listing every bad column.

    """
    cols = columns()
    problems: list[tuple[str, str, str]] = []
    out: list[Resolved] = []
    seen: dict[str, str] = {}
    vocab = vocabulary()
    for source, dtype in schema.items():
        name, unit = source, (units or {}).get(source)
        match = _UNIT_IN_NAME.match(source)
        if match:
            name, unit = match["name"].strip(), match["unit"].strip()
        spec = cols.get(name)
        if spec is None:
            if name in vocab:
                problems.append(
                    (source, "a derived fact", f"an input column; {name!r} is derived ({vocab[name].derived})")
                )
            else:
                close = difflib.get_close_matches(name, list(cols), n=2)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                problems.append((source, "an unknown column", f"a vocabulary fact or patient field{hint}"))
            continue
        if name in seen:
            problems.append((source, f"a second column for {name!r}", f"one column per fact (already {seen[name]!r})"))
            continue
        seen[name] = source
        bad_type = _type_problem(spec, dtype)
        if bad_type:
            problems.append((source, f"type {dtype}", bad_type))
            continue
        try:
            out.append(_with_unit(source, spec, unit))
        except InputError as exc:
            problems.append((source, f"unit {unit!r}", exc.expected))
    if problems:
        raise SchemaError(problems)
    return out


def _with_unit(source: str, spec: ColumnSpec, unit: str | None) -> Resolved:
    if unit is None or spec.kind != "float" or unit in ("", "1") or unit == spec.unit:
        if unit not in (None, "", "1", spec.unit):
            raise InputError(source, unit, f"no unit: {spec.name} is a {spec.kind} column")
        return Resolved(source, spec)
    if spec.unit is None:
        raise InputError(source, unit, f"no unit: {spec.name} is a plain number")
    if spec.name == "hba1c":
        if str(parse_unit(unit, source)) == "millimole / mole":
            return Resolved(source, spec, unit=unit, ifcc=True)
        if str(parse_unit(unit, source)) != "percent":
            raise InputError(source, unit, "HbA1c in % (NGSP) or mmol/mol (IFCC)")
        return Resolved(source, spec)
    try:
        factor = scale(unit, spec.unit, analyte=spec.analyte)
    except InputError as exc:
        raise InputError(source, unit, f"a unit convertible to {spec.unit}") from exc
    return Resolved(source, spec, unit=unit, factor=factor)


_NUMERIC = (pl.Float32, pl.Float64, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def _type_problem(spec: ColumnSpec, dtype: pl.DataType) -> str | None:
    text_ok = dtype in (pl.String, pl.Null)
    if spec.kind == "boolean":
        ok = dtype in (pl.Boolean, *_NUMERIC) or text_ok
        want = "booleans (or true/false text)"
    elif spec.kind == "float":
        ok = dtype in _NUMERIC or isinstance(dtype, pl.Decimal) or text_ok
        want = "numbers"
    elif spec.kind == "date":
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            # Its calendar date depends on the zone it is read in (midnight in Berlin is 23:00 the day before in
            # UTC): which day was meant is not in the data, so it is not guessed.
            return (
                f"dates, not datetimes with a time zone ({dtype.time_zone}: the calendar date may be a day off); "
                "convert to the date meant first, e.g. .dt.convert_time_zone(<the zone the date was recorded "
                "in>).dt.date()"
            )
        ok = dtype == pl.Date or isinstance(dtype, pl.Datetime) or text_ok
        want = "dates (or YYYY-MM-DD text)"
    elif spec.kind in ("category", "id"):
        ok = text_ok or (spec.kind == "id" and dtype in _NUMERIC)
        want = "text"
    else:
        zoned = _zoned_fields(dtype)
        if zoned:
            return (
                f"medication dates, not datetimes with a time zone ({', '.join(zoned)}: the calendar date may be a "
                "day off); convert them to the dates meant first"
            )
        ok = text_ok or _medication_type_ok(dtype)
        want = f"a list of medication structs with fields from {', '.join(MED_FIELDS)} (or JSON text)"
    return None if ok else want


def _zoned_fields(dtype: pl.DataType) -> list[str]:
    """Fields of a medication struct holding datetimes with a time zone (``started: UTC``)."""
    if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct):
        return []
    return [
        f"{f.name}: {f.dtype.time_zone}"
        for f in dtype.inner.fields
        if isinstance(f.dtype, pl.Datetime) and f.dtype.time_zone is not None
    ]


def _medication_type_ok(dtype: pl.DataType) -> bool:
    if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct):
        return False
    return all(f.name in MED_FIELDS for f in dtype.inner.fields)


# -- preparing a batch --------------------------------------------------------------


def prepare(
    frame: pl.DataFrame, resolved: Sequence[Resolved], as_of: dt.date, first_row: int, *, slips: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Coerce a batch to the canonical wide table and collect its bad cells.

    Returns the table (every known column present, absent ones null, with ``row`` and a
    ``__bad:<column>`` flag for each column that had a bad cell) and the errors table.
    With ``slips``, a measurement far likelier in another unit than its column's is left out
    and flagged, as ``assess`` does (documents were checked in their own units already).
    """
    n = frame.height
    out: dict[str, pl.Series] = {ROW: pl.int_range(first_row, first_row + n, dtype=pl.Int64, eager=True).alias(ROW)}
    ids = (
        frame[next(r.source for r in resolved if r.spec.name == ID)].cast(pl.String)
        if any(r.spec.name == ID for r in resolved)
        else None
    )
    out[ID] = ids.alias(ID) if ids is not None else out[ROW].cast(pl.String).alias(ID)
    errors: list[pl.DataFrame] = []
    for r in resolved:
        if r.spec.name == ID:
            continue
        series, bad, expected = _coerce(frame[r.source], r, as_of)
        if bad is not None and bool(bad.any()):
            out[BAD + r.spec.name] = bad.alias(BAD + r.spec.name)
            errors.append(_errors(out[ROW], out[ID], r.source, frame[r.source], bad, expected))
        if slips and r.spec.kind == "float":
            slipped, why = _slips(frame[r.source], r)
            if slipped is not None and bad is not None:
                slipped = slipped & ~bad.fill_null(False)
            if slipped is not None and bool(slipped.any()):
                series = series.set(slipped, None)
                errors.append(_errors(out[ROW], out[ID], r.source, frame[r.source], slipped, why, "not used"))
        out[r.spec.name] = series.alias(r.spec.name)
    table = pl.DataFrame(list(out.values()))
    table = complete(table)
    table, more = _cross_checks(table)
    errors.extend(more)
    return table, (pl.concat(errors, how="vertical") if errors else pl.DataFrame(schema=ERRORS_SCHEMA))


def complete(table: pl.DataFrame) -> pl.DataFrame:
    """Add every wide column the table lacks: unknown (null) for every row; no medications listed."""
    schema = _wide_schema()
    absent = [name for name in schema if name not in table.columns]
    if not absent:
        return table
    fill = [
        (pl.lit([], dtype=MED_TYPE) if name == MEDS else pl.lit(None, dtype=schema[name])).alias(name)
        for name in absent
    ]
    return table.with_columns(fill)


def _errors(
    rows: pl.Series,
    ids: pl.Series,
    column: str,
    raw: pl.Series,
    bad: pl.Series,
    expected: pl.Series | str,
    effect: str = "excluded",
) -> pl.DataFrame:
    exp = expected if isinstance(expected, pl.Series) else pl.Series([expected] * len(rows), dtype=pl.String)
    shown = raw.cast(pl.String) if not isinstance(raw.dtype, pl.List) else pl.Series([str(v) for v in raw.to_list()])
    return pl.DataFrame(
        {ROW: rows, ID: ids, "column": [column] * len(rows), "value": shown, "expected": exp, "effect": effect},
        schema=ERRORS_SCHEMA,
    ).filter(bad)


def _coerce(raw: pl.Series, r: Resolved, as_of: dt.date) -> tuple[pl.Series, pl.Series | None, pl.Series | str]:
    spec = r.spec
    if spec.kind == "boolean":
        return _booleans(raw)
    if spec.kind == "float":
        return _floats(raw, r)
    if spec.kind == "date":
        return _dates(raw, as_of)
    if spec.kind == "category":
        text = raw.cast(pl.String)
        bad = text.is_not_null() & ~text.is_in(list(spec.values))
        return text.set(bad, None), bad, f"one of {', '.join(spec.values)}"
    return _medications(raw, as_of)


_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def _booleans(raw: pl.Series) -> tuple[pl.Series, pl.Series | None, str]:
    expected = "true, false or empty"
    if raw.dtype == pl.Boolean:
        return raw, None, expected
    if raw.dtype in _NUMERIC:
        bad = raw.is_not_null() & ~raw.cast(pl.Float64).is_in([0.0, 1.0])  # 0.5 is neither, and is named
        return (raw == 1).set(bad, None), bad, expected
    text = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
    truth = pl.Series([None] * len(raw), dtype=pl.Boolean)
    truth = truth.set(text.is_in(_TRUE).fill_null(False), True)
    truth = truth.set(text.is_in(_FALSE).fill_null(False), False)
    bad = text.is_not_null() & (text != "") & truth.is_null()
    return truth, bad, expected


def _floats(raw: pl.Series, r: Resolved) -> tuple[pl.Series, pl.Series | None, pl.Series | str]:
    spec = r.spec
    unit = f" {spec.unit}" if spec.unit else ""
    values = raw.cast(pl.Float64, strict=False) if raw.dtype != pl.Float64 else raw
    unparsed = raw.is_not_null() & values.is_null()
    if unparsed.any():
        # A text ("<150", "150 ng/L", "≤5") is no value out of range: say what a cell must hold instead
        converted, bad, expected = _floats(values, r)
        where = f" in {r.unit or spec.unit}" if (r.unit or spec.unit) else ""
        limit = ""
        if spec.name in LIMITED:
            limit = "; a limit such as '<150' is read only from patient documents (JSON lines)"
        text = f"a plain number{where} (a unit goes in the column name, as 'name[unit]'){limit}"
        assert isinstance(bad, pl.Series) and isinstance(expected, str)
        return converted, unparsed | bad, pl.Series([text] * len(raw), dtype=pl.String).set(~unparsed, expected)
    if r.ifcc:
        values = _map_unique(values, lambda x: float(hba1c_ifcc_to_ngsp(x)))
    elif r.factor != 1.0:
        values = values * r.factor  # the same multiplication units.magnitude does
    bad = unparsed | ~values.is_finite().fill_null(True)
    if spec.low is not None and spec.high is not None:
        bad = bad | ((values < spec.low) | (values > spec.high)).fill_null(False)
        expected = f"a finite value between {spec.low:g} and {spec.high:g}{unit}"  # NaN is no value in range
    else:
        expected = f"a finite number{unit}"
    return values.set(bad, None), bad, expected


def _likely(name: str) -> str | None:
    """The plausibility key of a quantity with likely-unit windows, or None."""
    spec = vocabulary().get(name)
    if spec is None or spec.plausible is None or not span(spec.plausible).likely:
        return None
    return spec.plausible


@functools.lru_cache(maxsize=65536)
def unit_slip_of(plausible: str, value: float, unit: str) -> str | None:
    """Why ``value`` labelled ``unit`` is probably in another unit (the engine's ``unit_slip``), or None."""
    return unit_slip(plausible, functools.partial(in_kind, quantity(value, unit)))


def _slips(raw: pl.Series, r: Resolved) -> tuple[pl.Series | None, pl.Series]:
    """Values far likelier in another unit than the column's, checked once per distinct value."""
    plausible = _likely(r.spec.name)
    unit = r.unit or r.spec.unit
    if plausible is None or unit is None:
        return None, pl.Series([], dtype=pl.String)
    values = raw.cast(pl.Float64, strict=False)
    found = {}
    for v in values.drop_nulls().unique().to_list():
        if math.isfinite(v):
            why = unit_slip_of(plausible, v, unit)
            if why is not None:
                found[v] = f"a value in the column's unit ({why}; not used, check the unit)"
    if not found:
        return None, pl.Series([], dtype=pl.String)
    why_of = values.replace_strict(list(found), list(found.values()), default=None, return_dtype=pl.String)
    return why_of.is_not_null(), why_of


def _map_unique(values: pl.Series, fn: Any) -> pl.Series:
    uniques = values.drop_nulls().unique()
    mapping = {v: fn(v) for v in uniques.to_list() if math.isfinite(v)}
    return values.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=pl.Float64)


def _dates(raw: pl.Series, as_of: dt.date) -> tuple[pl.Series, pl.Series | None, pl.Series | str]:
    if raw.dtype == pl.Date:
        dates = raw
        unparsed = pl.Series([False] * len(raw), dtype=pl.Boolean)
    elif isinstance(raw.dtype, pl.Datetime):
        dates = raw.dt.date()
        unparsed = pl.Series([False] * len(raw), dtype=pl.Boolean)
    else:
        text = raw.cast(pl.String).str.strip_chars()
        dates = text.str.to_date("%Y-%m-%d", strict=False)
        unparsed = text.is_not_null() & (text != "") & dates.is_null()
    late = (dates > as_of).fill_null(False)
    bad = unparsed | late
    expected = pl.Series(["a date as YYYY-MM-DD"] * len(raw), dtype=pl.String).set(
        late, f"a date on or before the evaluation date {as_of.isoformat()}"
    )
    return dates.set(bad, None), bad, expected


def _medications(raw: pl.Series, as_of: dt.date) -> tuple[pl.Series, pl.Series | None, pl.Series | str]:
    refused: dict[str, str] = {}
    if raw.dtype in (pl.String, pl.Null):
        texts = raw.cast(pl.String)
        try:
            decoded = texts.str.json_decode(MED_TYPE)
        except pl.exceptions.PolarsError:
            # a cell that is not a JSON list of medication objects: that cell is bad (named), the others are read
            refused = {t: why for t in texts.drop_nulls().unique().to_list() if (why := _medication_text_problem(t))}
            decoded = texts.set(texts.is_in(list(refused)).fill_null(False), None).str.json_decode(MED_TYPE)
        # The decoder keeps one of two equal keys, drops an unknown key and reads a bad date as null, silently: a
        # cell whose keys (less explicit nulls) outnumber the values it decoded to is checked strictly, here.
        keys = texts.str.count_matches(r'"[^"\\]*"\s*:') - texts.str.count_matches(r'"[^"\\]*"\s*:\s*null')
        values = decoded.list.eval(
            pl.sum_horizontal([pl.element().struct.field(k).is_not_null().cast(pl.Int64) for k in MED_FIELDS])
        ).list.sum()
        suspect = texts.filter((keys != values).fill_null(False)).unique().to_list()
        more = {t: why for t in suspect if t not in refused and (why := _medication_text_problem(t))}
        if more:
            refused |= more
            decoded = decoded.set(texts.is_in(list(more)).fill_null(False), None)
    else:
        decoded = raw
    present = [f.name for f in decoded.dtype.inner.fields]  # type: ignore[attr-defined]
    # Every medication field, in the canonical order and types.
    meds = decoded.list.eval(
        pl.struct(
            [
                (pl.element().struct.field(k) if k in present else pl.lit(None)).cast(t).alias(k)
                for k, t in MED_FIELDS.items()
            ]
        )
    ).fill_null([])
    meds = meds.cast(MED_TYPE)
    problem = _medication_problems(meds, as_of)
    if refused:
        problem = raw.cast(pl.String).replace_strict(refused, default=None, return_dtype=pl.String).fill_null(problem)
    return meds, problem.is_not_null(), problem.fill_null("")


def _medication_text_problem(text: str) -> str | None:
    """Why a medications cell is not a JSON list of medication objects (``None`` if it is one)."""
    try:
        doc = loads(text, "medications", constants=False)
    except InputError as exc:
        return f"medications: {exc.expected}"
    if not isinstance(doc, list) or not all(isinstance(m, dict) for m in doc):
        return "medications: a JSON list of medication objects"
    for i, med in enumerate(doc):
        for k, v in med.items():
            if k not in MED_FIELDS:
                return f"medications[{i}].{k}: a field from {', '.join(MED_FIELDS)}"
            if v is not None and not isinstance(v, str):
                return f'medications[{i}].{k}: text (e.g. "dose": "300 mg", "started": "2024-01-31")'
            if k in ("started", "stopped") and v is not None and _iso_date(v) is None:
                return f"medications[{i}].{k}: a date as YYYY-MM-DD (got {v!r})"
    return None


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _medication_problems(meds: pl.Series, as_of: dt.date) -> pl.Series:
    """The first problem of each row's medication list ('medications[i].field: expected ...'), or null."""
    n = len(meds)
    flat = (
        pl.DataFrame({"i": pl.int_range(0, n, eager=True), "m": meds})
        .explode("m")
        .filter(pl.col("m").is_not_null())
        .with_columns(k=pl.int_range(pl.len()).over("i"))
        .unnest("m")
    )
    if flat.height == 0:
        return pl.Series([None] * n, dtype=pl.String)
    dose_problem = _text_problems(flat["dose"], _dose_problem)
    cumulative_problem = _text_problems(flat["cumulative"], _cumulative_problem)
    at = pl.format("medications[{}].", pl.col("k"))
    late = f"a date on or before the evaluation date {as_of.isoformat()}"
    problem = (
        pl.when(pl.col("agent").is_null() | (pl.col("agent").str.strip_chars() == ""))
        .then(pl.concat_str([at, pl.lit("agent: a drug name")]))
        .when(dose_problem.is_not_null())
        .then(pl.concat_str([at, pl.lit("dose: "), dose_problem]))
        .when(pl.col("per").is_not_null() & ~pl.col("per").is_in(list(_PERIODS)))
        .then(pl.concat_str([at, pl.lit("per: 'day', 'week' or 'month' (got "), pl.col("per"), pl.lit(")")]))
        .when(pl.col("dose").is_not_null() & pl.col("per").is_null())
        .then(pl.concat_str([at, pl.lit("per: the period the dose is given per: 'day', 'week' or 'month'")]))
        .when(cumulative_problem.is_not_null())
        .then(pl.concat_str([at, pl.lit("cumulative: "), cumulative_problem]))
        .when((pl.col("stopped") < pl.col("started")).fill_null(False))
        .then(pl.concat_str([at, pl.lit("stopped: a date on or after started")]))
        .when((pl.col("started") > as_of).fill_null(False))
        .then(pl.concat_str([at, pl.lit("started: " + late)]))
        .when((pl.col("stopped") > as_of).fill_null(False))
        .then(pl.concat_str([at, pl.lit("stopped: " + late)]))
    )
    first = (
        flat.with_columns(problem=problem)
        .filter(pl.col("problem").is_not_null())
        .group_by("i")
        .agg(pl.col("problem").sort_by("k").first())
    )
    return pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).join(first, on="i", how="left", maintain_order="left")[
        "problem"
    ]


def _text_problems(texts: pl.Series, check: Any) -> pl.Expr:
    """Check each distinct text once (quantities are parsed by the one unit registry)."""
    found = {t: check(t) for t in texts.drop_nulls().unique().to_list()}
    bad = {t: p for t, p in found.items() if p is not None}
    if not bad:
        return pl.lit(None, dtype=pl.String)
    name = texts.name
    return pl.col(name).replace_strict(list(bad), list(bad.values()), default=None, return_dtype=pl.String)


def _dose_problem(text: str) -> str | None:
    try:
        _dose(text, "dose")
    except InputError as exc:
        return f"{exc.expected} (got {text!r})"
    return None


def _cumulative_problem(text: str) -> str | None:
    try:
        _cumulative(text, "cumulative")
    except InputError as exc:
        return f"{exc.expected} (got {text!r})"
    return None


def medication_of(med: Mapping[str, Any], i: int) -> Medication:
    """A medication struct as a :class:`~neuroguide.patient.Medication` (validated as a document's)."""
    field = f"medications[{i}]"
    agent = med.get("agent")
    if not isinstance(agent, str) or not agent.strip():
        raise InputError(f"{field}.agent", agent, "a drug name")
    dose = _dose(med.get("dose"), f"{field}.dose")
    per = med.get("per")
    if per is not None and per not in _PERIODS:
        raise InputError(f"{field}.per", per, "'day', 'week' or 'month'")
    if dose is not None and per is None:
        raise InputError(f"{field}.per", None, "the period the dose is given per: 'day', 'week' or 'month'")
    cumulative = _cumulative(med.get("cumulative"), f"{field}.cumulative")
    started, stopped = med.get("started"), med.get("stopped")
    if started is not None and stopped is not None and stopped < started:
        raise InputError(f"{field}.stopped", stopped.isoformat(), f"a date on or after started ({started})")
    return Medication(
        agent=agent.strip(),
        dose=dose,
        per=per,
        route=med.get("route"),
        started=started,
        stopped=stopped,
        cumulative=cumulative,
        indication=med.get("indication"),
    )


@functools.lru_cache(maxsize=4096)
def _dose(text: str | None, field: str) -> Any:
    if text is None:
        return None
    q = parse_quantity(text, field)
    if q.magnitude <= 0:
        raise InputError(field, text, "a positive dose")
    if dimension_of(q) not in (dimension("mg"), dimension("IU")):  # from the unit table: no unit registry
        raise InputError(field, text, "an amount given per period: a mass (mg, ug, g) or IU")
    return q


@functools.lru_cache(maxsize=4096)
def _cumulative(text: str | None, field: str) -> Any:
    if text is None:
        return None
    q = parse_quantity(text, field)
    if dimension_of(q) not in (dimension("mg"), dimension("mg/m2")):
        raise InputError(field, text, "a mass (g, mg) or mass per area (mg/m2)")
    return q


def _cross_checks(table: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Checks across columns: a diabetes type needs its diagnosis date (and the reverse).

    Dates before birth are the engine's refusals (``_derive.check_rows``).
    """
    errors: list[pl.DataFrame] = []
    if DTYPE not in table.columns and DDIAG not in table.columns:
        return table, errors
    kind = table[DTYPE] if DTYPE in table.columns else pl.Series([None] * table.height, dtype=pl.String)
    diag = table[DDIAG] if DDIAG in table.columns else pl.Series([None] * table.height, dtype=pl.Date)
    checks = [
        (DDIAG, kind.is_not_null() & diag.is_null(), diag, "the diagnosis date when diabetes_type is given"),
        (DTYPE, kind.is_null() & diag.is_not_null(), kind, "a diabetes type when diabetes_diagnosed is given"),
    ]
    flags: dict[str, pl.Series] = {}
    for column, bad, shown, expected in checks:
        if bool(bad.any()):
            errors.append(_errors(table[ROW], table[ID], column, shown, bad, expected))
            for c in (DTYPE, DDIAG):
                name = BAD + c
                base = flags.get(name, table[name] if name in table.columns else pl.Series([False] * table.height))
                flags[name] = (base | bad).alias(name)
    if flags:
        table = table.with_columns(list(flags.values()))
    return table, errors


# -- documents <-> wide rows -----------------------------------------------------------


def wide_from_documents(docs: Sequence[Mapping[str, Any]], first_row: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Patient documents (as ``Patient.from_dict`` reads them) as a wide table, and the documents refused.

    A document that ``Patient.from_dict`` refuses is left out and reported (its row, the
    field, value and expectation the parser named).
    """
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        try:
            if not isinstance(doc, Mapping | Patient):
                raise InputError("patient", type(doc).__name__, "a JSON object")
            patient = doc if isinstance(doc, Patient) else Patient.from_dict(doc)
        except InputError as exc:
            ident = doc.get("id") if isinstance(doc, Mapping) else None
            errors.append(
                {
                    ROW: first_row + i,
                    ID: str(ident) if ident is not None else None,
                    "column": exc.field,
                    "value": repr(exc.value),
                    "expected": exc.expected,
                    "effect": "refused",
                }
            )
            continue
        row = _row_of(patient)
        row[ROW] = first_row + i
        if row[ID] is None:
            row[ID] = str(first_row + i)
        for name, shown, expected in _document_unused(patient):
            row[name] = None
            errors.append(
                {
                    ROW: first_row + i,
                    ID: row[ID],
                    "column": f"measurements.{name}",
                    "value": shown,
                    "expected": expected,
                    "effect": "not used",
                }
            )
        rows.append(row)
    schema = {ROW: pl.Int64(), **_wide_schema()}
    return pl.DataFrame(rows, schema=schema), pl.DataFrame(errors, schema=ERRORS_SCHEMA)


def _document_unused(patient: Patient) -> list[tuple[str, str, str]]:
    """A document's measurements the engine does not use, in the errors table's words: name, value, expected.

    Limits it cannot read as their number first, then unit slips (the order of the errors rows of every path).
    """
    found = _document_limits(patient)
    found += [(n, s, f"a value in its unit ({w}; not used, check the unit)") for n, s, w in _document_slips(patient)]
    return found


def _document_limits(patient: Patient) -> list[tuple[str, str, str]]:
    """Limits the engine cannot read as their number (``assess`` reads them as intervals): name, value, why.

    The engine's columns are floats: a limit is read as its number, which decides every threshold as the
    interval does only when no threshold (after the rule's rounding) lies at or inside its open side.
    """
    found = []
    for name, comparator in patient.limits.items():
        edge = inside(name, comparator, float(patient.normalized[name]))
        if edge is not None:
            shown = comparator + format_quantity(patient.measurements[name], exact=True)  # type: ignore[arg-type]
            found.append(
                (
                    name,
                    shown,
                    "an exact value, or a limit every threshold lies wholly beyond: the cohort engine reads a limit "
                    f"as its number, and this one has a threshold at or inside it ({edge}); not used here "
                    "(assess reads it as an interval and flags the rules it leaves undecided)",
                )
            )
    return found


_DOC_SLIPS: dict[tuple[str, float, str], str | None] = {}


def _document_slips(patient: Patient) -> list[tuple[str, str, str]]:
    """Measurements far likelier in another unit than labelled (as ``assess`` flags them): name, value, why."""
    found = []
    for name, given in patient.measurements.items():
        plausible = _likely(name)
        if plausible is None or not is_quantity(given):
            continue
        value = typing.cast("Quantity", given)
        key = (plausible, float(value.magnitude), str(value.units))
        if key not in _DOC_SLIPS:
            _DOC_SLIPS[key] = unit_slip(plausible, functools.partial(in_kind, value))
        why = _DOC_SLIPS[key]
        if why is not None:
            found.append((name, format_quantity(value), why))
    return found


@functools.cache
def _wide_schema() -> dict[str, pl.DataType]:
    types: dict[Kind, pl.DataType] = {
        "id": pl.String(),
        "date": pl.Date(),
        "boolean": pl.Boolean(),
        "float": pl.Float64(),
        "category": pl.String(),
        "medications": MED_TYPE,
    }
    return {name: types[spec.kind] for name, spec in columns().items()}


def _row_of(patient: Patient) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(columns())
    row[ID] = patient.id
    row[BIRTH] = patient.birth_date
    row["sex"] = patient.sex
    if patient.diabetes is not None:
        row[DTYPE] = patient.diabetes.type
        row[DDIAG] = patient.diabetes.diagnosed
    row.update(patient.findings)
    row.update(patient.normalized)
    # A top-level age counts only without a birth date; an age given as a fact always wins.
    if "age" not in patient.normalized and patient.birth_date is None:
        row["age"] = patient.age
    for name, date in patient.last.items():
        row[f"last-{name}"] = date
    row[MEDS] = [
        {
            "agent": med.agent,
            "dose": format_quantity(med.dose) if med.dose is not None else None,
            "per": med.per,
            "route": med.route,
            "started": med.started,
            "stopped": med.stopped,
            "cumulative": format_quantity(med.cumulative) if med.cumulative is not None else None,
            "indication": med.indication,
        }
        for med in patient.medications
    ]
    return row


def patient_of(row: Mapping[str, Any]) -> Patient:
    """A prepared wide row as a :class:`~neuroguide.patient.Patient` (values already canonical)."""
    cols = columns()
    findings: dict[str, bool] = {}
    measurements: dict[str, float] = {}
    last: dict[str, dt.date] = {}
    for name, spec in cols.items():
        value = row.get(name)
        if value is None or spec.kind in ("id", "medications", "category") or name in (BIRTH, DDIAG):
            continue
        if spec.kind == "boolean":
            findings[name] = bool(value)
        elif spec.kind == "float":
            measurements[name] = float(value)
        elif spec.kind == "date":
            last[name.removeprefix("last-")] = value
    kind = row.get(DTYPE)
    diabetes = Diabetes(type=kind, diagnosed=row[DDIAG]) if kind is not None and row.get(DDIAG) is not None else None
    meds = tuple(medication_of(med, i) for i, med in enumerate(row.get(MEDS) or []))
    return Patient(
        id=row.get(ID),
        birth_date=row.get(BIRTH),
        sex=row.get("sex"),
        diabetes=diabetes,
        findings=findings,
        measurements=measurements,
        last=last,
        medications=meds,
    )


def document_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A prepared wide row as a patient document (the JSON ``Patient.from_dict`` reads)."""
    cols = columns()
    doc: dict[str, Any] = {}
    if row.get(ID) is not None:
        doc["id"] = str(row[ID])
    if row.get(BIRTH) is not None:
        doc["birth_date"] = row[BIRTH].isoformat()
    if row.get("sex") is not None:
        doc["sex"] = row["sex"]
    if row.get(DTYPE) is not None:
        doc["diabetes"] = {"type": row[DTYPE], "diagnosed": row[DDIAG].isoformat()}
    findings, measurements, last = {}, {}, {}
    for name, spec in cols.items():
        value = row.get(name)
        if value is None or name in (ID, BIRTH, DTYPE, DDIAG, MEDS, "sex"):
            continue
        if spec.kind == "boolean":
            findings[name] = bool(value)
        elif spec.kind == "float":
            measurements[name] = f"{float(value)!r} {spec.unit}" if spec.unit else float(value)
        elif spec.kind == "date":
            last[name.removeprefix("last-")] = value.isoformat()
    for key, part in (("findings", findings), ("measurements", measurements), ("last", last)):
        if part:
            doc[key] = part
    meds = []
    for med in row.get(MEDS) or []:
        item = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in med.items() if v is not None}
        meds.append(item)
    if meds:
        doc["medications"] = meds
    return doc


def agent_keys(names: Sequence[str]) -> dict[str, str]:
    """The comparison form of each distinct drug name (the one matcher, applied once per name)."""
    return {n: agent_key(n) for n in names}
