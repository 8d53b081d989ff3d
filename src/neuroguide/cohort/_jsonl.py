"""JSON lines of patient documents read columnarly into the wide fact table.

A batch of lines is parsed by Polars' JSON reader into typed columns; every distinct measurement,
dose and cumulative-exposure string is checked once through ``Patient.from_dict`` itself (the one
unit table and plausibility table) and joined back. A row the columnar reader cannot vouch for is
read by the per-document path (``Patient.from_dict``) instead, for that row only:

* the chunk of lines it is in does not parse with the expected types (a value of another JSON
  type, an unknown key, a line that is not a JSON object): the chunk is split until the odd line
  is alone;
* it is not a JSON object, or its text has a backslash escape (an escaped key or an unpaired
  surrogate), or ``findings``, ``measurements``, ``last`` or ``medications`` set to ``null`` (the
  parser refuses those, and a column cannot tell them from an absent key);
* any value fails a check (an unknown unit, an implausible value, a bad date or medication): the
  document is then refused, or accepted, exactly as ``Patient.from_dict`` decides, with its message.

A measurement given as a limit (``"<150 pg/mL"``), or one far likelier in another unit than labelled, is
left out of its row with a ``not used`` errors row, as ``wide_from_documents`` leaves it out (a limit only
when the engine cannot read it as its number).

Every such row is counted (``fallbacks``) and the result is the same table ``wide_from_documents``
builds from the same documents.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import polars as pl
import pyarrow as pa
import pyarrow.json as pj

from .._jsonin import loads
from .._vocabulary import vocabulary
from ..exceptions import InputError
from ..patient import Patient
from ..units import format_quantity
from ._api import empty_results, partition_arrow
from ._engine import ABSENT_ONLY_SCHEMA, Plan, Undetermined, arrow_schema
from ._schema import (
    BIRTH,
    DDIAG,
    DTYPE,
    ERRORS_SCHEMA,
    ID,
    MED_TYPE,
    MEDS,
    ROW,
    _document_unused,
    _wide_schema,
    wide_from_documents,
)

__all__ = ["JsonLines", "empty_results", "evaluate_lines", "wide_from_lines"]

_TOP = ("id", "birth_date", "age", "sex", "diabetes", "findings", "measurements", "last", "medications")
_MED_KEYS = ("agent", "dose", "per", "route", "started", "stopped", "cumulative", "indication")
_PERIODS = ("day", "week", "month")
_DIABETES_TYPES = ("type-1", "type-2", "other")
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_NUMBERS = (pl.Int64, pl.Float64)
# A section set to null is refused by the parser but reads as an absent key in a column.
_NULL_SECTION = r'"(?:findings|measurements|last|medications)"\s*:\s*null'
_IDX = "__line"
_MEDS_TEXT = pl.List(pl.Struct({k: pl.String() for k in _MED_KEYS}))


@attrs.frozen
class JsonLines:
    """A batch of JSON lines as the wide table, the rows refused or not used, and the fallback count."""

    wide: pl.DataFrame
    errors: pl.DataFrame
    fallbacks: int
    """Rows read by ``Patient.from_dict`` one by one instead of columnarly."""


@functools.cache
def _sections() -> dict[str, dict[str, str]]:
    """Allowed keys of each nested object and the kind of value each holds."""
    vocab = vocabulary()
    return {
        "findings": {n: "boolean" for n, s in vocab.items() if s.is_input and s.type == "boolean"},
        "measurements": {n: s.type for n, s in vocab.items() if s.is_input and s.type in ("quantity", "number")},
        "last": {n.removeprefix("last-"): "date" for n in vocab if n.startswith("last-")},
    }


def wide_from_lines(lines: Sequence[str], first_row: int = 0) -> JsonLines:
    """The wide table of a batch of JSON lines (row ``first_row + i`` for line ``i``), as the documents give."""
    n = len(lines)
    if n == 0:
        return JsonLines(_empty_wide(), pl.DataFrame(schema=ERRORS_SCHEMA), 0)
    try:
        text = pl.Series("t", lines, dtype=pl.String)
    except UnicodeEncodeError:
        # Text with an unpaired surrogate (not from a UTF-8 file): such a line is read per document.
        text = pl.Series("t", [t if _encodable(t) else "" for t in lines], dtype=pl.String)
    # Arrow reads a line "null" as an empty row: only objects go to the columnar reader.
    odd = ~text.str.starts_with("{") | text.str.contains("\\", literal=True) | text.str.contains(_NULL_SECTION)
    chosen = [i for i, bad in enumerate(odd.to_list()) if not bad]
    fallback = set(range(n)) - set(chosen)
    flats: list[pl.DataFrame] = []
    _read(lines, chosen, flats, fallback)
    if flats:
        flat = pl.concat(flats, how="diagonal_relaxed")
        wide, errors, suspect = _columns(flat, first_row)
        fallback |= suspect
        wide = wide.filter(~pl.col(ROW).is_in([first_row + i for i in suspect]))
        errors = errors.filter(~pl.col(ROW).is_in([first_row + i for i in suspect]))
    else:
        wide, errors = _empty_wide(), pl.DataFrame(schema=ERRORS_SCHEMA)
    if fallback:
        back_wide, back_errors = _per_document(lines, sorted(fallback), first_row)
        wide = pl.concat([wide, back_wide]).sort(ROW)
        errors = pl.concat([errors, back_errors])
    return JsonLines(wide, errors.sort(ROW, maintain_order=True), len(fallback))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refusal(doc: Mapping[str, Any], row: int) -> dict[str, Any]:
    """The refusal of a document whose identifier is not valid Unicode (shown with the surrogate escaped)."""
    try:
        Patient.from_dict(doc)
    except InputError as exc:
        ident = str(doc["id"]).encode("utf-8", "backslashreplace").decode("utf-8")
        return {ROW: row, ID: ident, "column": exc.field, "value": repr(exc.value), "expected": exc.expected} | {
            "effect": "refused"
        }
    raise AssertionError("the parser accepted an identifier that is not valid Unicode")  # pragma: no cover


def _empty_wide() -> pl.DataFrame:
    return pl.DataFrame(schema={ROW: pl.Int64(), **_wide_schema()})


@functools.cache
def _layout() -> pa.Schema:
    """The Arrow type of every key a patient document may have (keys outside it make a chunk odd)."""
    text = pa.string()
    kinds = {"boolean": pa.bool_(), "quantity": text, "number": pa.float64(), "date": text}
    sections = [(key, pa.struct([(n, kinds[k]) for n, k in fields.items()])) for key, fields in _sections().items()]
    return pa.schema(
        [
            ("id", text),
            ("birth_date", text),
            ("age", pa.float64()),
            ("sex", text),
            ("diabetes", pa.struct([("type", text), ("diagnosed", text)])),
            *sections,
            ("medications", pa.list_(pa.struct([(k, text) for k in _MED_KEYS]))),
        ]
    )


@functools.cache
def _options() -> pj.ParseOptions:
    # Explicit types: no timestamp guessing, and a value of another JSON type is a parse error.
    return pj.ParseOptions(explicit_schema=_layout(), unexpected_field_behavior="infer")


def _read(lines: Sequence[str], chosen: list[int], out: list[pl.DataFrame], fallback: set[int]) -> None:
    """Parse the lines ``chosen`` into flat frames, splitting a chunk that is not as a document may be."""
    stack = [chosen] if chosen else []
    while stack:
        part = stack.pop()
        flat = None
        data = "\n".join(lines[i] for i in part).encode()
        try:
            table = pj.read_json(pa.BufferReader(data), parse_options=_options())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            table = None  # a line of another shape: split the chunk until it is alone
        if table is not None and table.num_rows == len(part) and table.schema.equals(_layout()):
            flat = pl.DataFrame(pl.from_arrow(table)).select(_flat_columns())
        if flat is not None:
            out.append(flat.with_columns(pl.Series(_IDX, part, dtype=pl.Int64)))
        elif len(part) == 1:
            fallback.add(part[0])
        else:
            half = len(part) // 2
            stack.extend([part[half:], part[:half]])


@functools.cache
def _flat_columns() -> list[pl.Expr]:
    """One column per document field (nested fields as ``section.name``)."""
    cols = [pl.col(k) for k in ("id", "sex", "birth_date", "age")]
    cols.append(pl.col("diabetes").is_not_null().alias("__diabetes"))
    cols += [pl.col("diabetes").struct.field(f).alias(f"diabetes.{f}") for f in ("type", "diagnosed")]
    for key, fields in _sections().items():
        cols += [pl.col(key).struct.field(f).alias(f"{key}.{f}") for f in fields]
    cols.append(pl.col("medications").alias("__meds"))
    return cols


def _columns(flat: pl.DataFrame, first_row: int) -> tuple[pl.DataFrame, pl.DataFrame, set[int]]:
    """The wide rows of a flat frame, its 'not used' rows, and the lines to recheck one by one."""
    height = flat.height
    idx = flat[_IDX]
    suspect = pl.Series([False] * height)
    out: dict[str, pl.Series] = {ROW: (idx + first_row).alias(ROW)}
    errors: list[pl.DataFrame] = []

    def col(name: str, dtype: pl.DataType) -> pl.Series:
        return flat[name] if name in flat.columns else pl.Series(name, [None] * height, dtype=dtype)

    ident = col("id", pl.String())
    out[ID] = pl.Series(ID, ident).fill_null(out[ROW].cast(pl.String))
    sex = col("sex", pl.String())
    suspect |= sex.is_not_null() & ~sex.is_in(["female", "male"])
    out["sex"] = sex.alias("sex")
    birth, bad = _dates(col("birth_date", pl.String()))
    suspect |= bad
    out[BIRTH] = birth.alias(BIRTH)
    # diabetes: both fields needed whenever the object is there
    has_diabetes = col("__diabetes", pl.Boolean()).fill_null(False)
    kind = col("diabetes.type", pl.String())
    diagnosed, bad = _dates(col("diabetes.diagnosed", pl.String()))
    suspect |= has_diabetes & (~kind.is_in(list(_DIABETES_TYPES)).fill_null(False) | diagnosed.is_null() | bad)
    out[DTYPE] = kind.set(~has_diabetes, None).alias(DTYPE)
    out[DDIAG] = diagnosed.set(~has_diabetes, None).alias(DDIAG)
    for name in _sections()["findings"]:
        out[name] = col(f"findings.{name}", pl.Boolean()).alias(name)
    for name in _sections()["last"]:
        date, bad = _dates(col(f"last.{name}", pl.String()))
        suspect |= bad
        out[f"last-{name}"] = date.alias(f"last-{name}")
    for name, kind_of in _sections()["measurements"].items():
        raw = col(f"measurements.{name}", pl.String() if kind_of == "quantity" else pl.Float64())
        if raw.null_count() == height:
            continue
        value, bad, reasons = _measurement(name, raw)
        suspect |= bad
        for reason in reasons:
            flagged = reason.is_not_null()
            value = value.set(flagged, None)
            errors.append(
                pl.DataFrame(
                    {
                        ROW: out[ROW],
                        ID: out[ID],
                        "column": pl.Series([f"measurements.{name}"] * height, dtype=pl.String),
                        "value": reason.struct.field("shown"),
                        "expected": reason.struct.field("why"),
                        "effect": pl.Series(["not used"] * height, dtype=pl.String),
                    }
                ).filter(flagged)
            )
        out[name] = value.alias(name)
    # A top-level age counts only without a birth date; an age given as a fact always wins.
    age = col("age", pl.Float64()) + 0.0  # -0.0 is read as 0, as the parser's plausibility check reads it
    suspect |= _bad_age(age)
    top = age.set(birth.is_not_null(), None)
    given = col("measurements.age", pl.String()).is_not_null()
    measured = out.get("age", pl.Series("age", [None] * height, dtype=pl.Float64))
    out["age"] = pl.DataFrame({"g": given, "m": measured, "t": top}).select(
        pl.when(pl.col("g")).then(pl.col("m")).otherwise(pl.col("t")).alias("age")
    )["age"]
    meds, bad = _medications(col("__meds", _MEDS_TEXT), height)
    suspect |= bad
    out[MEDS] = meds.alias(MEDS)
    schema = {ROW: pl.Int64(), **_wide_schema()}
    wide = pl.DataFrame(
        [out[c].cast(t) if c in out else pl.Series(c, [None] * height, dtype=t) for c, t in schema.items()]
    )
    lines = set(idx.filter(suspect.fill_null(True)).to_list())
    err = pl.concat(errors) if errors else pl.DataFrame(schema=ERRORS_SCHEMA)
    return wide, err, lines


def _dates(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Dates of YYYY-MM-DD text, and which non-null values are not such a date."""
    dates = text.str.to_date("%Y-%m-%d", strict=False)
    ok = text.str.contains(_ISO) & dates.is_not_null() & (dates.dt.year() >= 1)
    bad = text.is_not_null() & ~ok.fill_null(False)
    return dates.set(bad, None), bad


def _bad_age(age: pl.Series) -> pl.Series:
    """A top-level age the parser refuses (checked once per distinct value)."""
    bad = []
    for v in age.drop_nulls().unique().to_list():
        try:
            Patient.from_dict({"age": v})
        except InputError:
            bad.append(v)
    return age.is_in(bad).fill_null(False) if bad else pl.Series([False] * len(age))


@functools.lru_cache(maxsize=65536)
def _measured(name: str, raw: str | float) -> tuple[float, tuple[tuple[str, str], ...]] | None:
    """A measurement as the parser reads it: canonical value and why it is not used (shown, why), or None if refused.

    The reasons are those ``wide_from_documents`` gives, in its order: a limit the engine cannot read as its
    number, then a unit slip.
    """
    try:
        patient = Patient.from_dict({"measurements": {name: raw}})
    except InputError:
        return None
    return patient.normalized[name], tuple((shown, why) for _, shown, why in _document_unused(patient))


def _measurement(name: str, raw: pl.Series) -> tuple[pl.Series, pl.Series, list[pl.Series]]:
    """Canonical values, refused flags and reasons not to use them of one measurement column, once per distinct value.

    Each reason column holds (shown, why) or null; the first holds a value's first reason, the second its second.
    """
    found = {v: _measured(name, v) for v in raw.drop_nulls().unique().to_list()}
    good = {v: r for v, r in found.items() if r is not None}
    value = raw.replace_strict(list(good), [r[0] for r in good.values()], default=None, return_dtype=pl.Float64)
    bad_keys = [v for v, r in found.items() if r is None]
    bad = raw.is_in(bad_keys).fill_null(False) if bad_keys else pl.Series([False] * len(raw))
    kind = pl.Struct({"shown": pl.String(), "why": pl.String()})
    reasons = []
    for k in range(max((len(r[1]) for r in good.values()), default=0)):
        picked = {v: r[1][k] for v, r in good.items() if len(r[1]) > k}
        reasons.append(
            raw.replace_strict(
                list(picked),
                pl.Series([{"shown": s, "why": w} for s, w in picked.values()], dtype=kind),
                default=None,
                return_dtype=kind,
            )
        )
    return value, bad, reasons


@functools.lru_cache(maxsize=16384)
def _medication_text(key: str, text: str) -> str | None:
    """A dose or cumulative text as the parser writes it back, or None if it refuses it."""
    med: dict[str, Any] = {"agent": "x", key: text}
    if key == "dose":
        med["per"] = "day"
    try:
        parsed = Patient.from_dict({"medications": [med]}).medications[0]
    except InputError:
        return None
    value = parsed.dose if key == "dose" else parsed.cumulative
    assert value is not None
    return format_quantity(value)


def _medications(meds: pl.Series, height: int) -> tuple[pl.Series, pl.Series]:
    """The medication lists as the wide table holds them, and which rows the parser may refuse."""
    frame = pl.DataFrame({"i": pl.int_range(0, height, eager=True), "m": meds})
    flat = frame.with_columns(n=pl.col("m").list.len()).explode("m")
    # A row with an empty or absent list explodes to one null item: not a medication.
    real = flat.filter(pl.col("n").fill_null(0) > 0)
    null_item = real["m"].is_null()
    items = real.unnest("m")
    fields = {k: items[k] for k in _MED_KEYS}
    agents = {a: a.strip() for a in fields["agent"].drop_nulls().unique().to_list()}
    agent = fields["agent"].replace_strict(list(agents), list(agents.values()), default=None, return_dtype=pl.String)
    bad = null_item | agent.is_null() | (agent == "").fill_null(True)
    texts: dict[str, pl.Series] = {}
    for key in ("dose", "cumulative"):
        raw = fields[key]
        done = {t: _medication_text(key, t) for t in raw.drop_nulls().unique().to_list()}
        ok = {t: f for t, f in done.items() if f is not None}
        texts[key] = raw.replace_strict(list(ok), list(ok.values()), default=None, return_dtype=pl.String)
        bad |= raw.is_not_null() & texts[key].is_null()
    per = fields["per"]
    bad |= (per.is_not_null() & ~per.is_in(list(_PERIODS))).fill_null(False)
    bad |= fields["dose"].is_not_null() & per.is_null()
    started, bad_start = _dates(fields["started"])
    stopped, bad_stop = _dates(fields["stopped"])
    bad |= bad_start | bad_stop | (stopped < started).fill_null(False)
    built = pl.DataFrame(
        {
            "i": real["i"],
            "agent": agent,
            "dose": texts["dose"],
            "per": per,
            "route": fields["route"],
            "started": started,
            "stopped": stopped,
            "cumulative": texts["cumulative"],
            "indication": fields["indication"],
            "bad": bad.fill_null(True),
        }
    )
    lists = built.group_by("i", maintain_order=True).agg(
        pl.struct(list(_MED_KEYS)).alias(MEDS), pl.col("bad").any().alias("bad")
    )
    joined = frame.select("i").join(lists, on="i", how="left", maintain_order="left")
    return joined[MEDS].fill_null([]).cast(MED_TYPE), joined["bad"].fill_null(False)


def _per_document(lines: Sequence[str], indices: Sequence[int], first_row: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines read one by one as ``Patient.from_json`` reads a document (strict JSON, then ``from_dict``)."""
    unreadable: list[dict[str, Any]] = []
    docs: list[Any] = []
    kept: list[int] = []
    for i in indices:
        text = lines[i]
        try:
            docs.append(loads(text, "line"))
        except InputError as exc:
            # Not JSON, or a key given twice: refused as ``neuroguide assess`` refuses the file.
            shown = text[:80] if exc.field == "line" else repr(exc.value)
            if not _encodable(shown):  # an unpaired surrogate (never in text read from a UTF-8 file)
                shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
            row = {ROW: first_row + i, ID: None, "column": exc.field, "value": shown, "expected": exc.expected}
            unreadable.append(row | {"effect": "refused"})
            continue
        if isinstance(docs[-1], Mapping) and isinstance(docs[-1].get("id"), str) and not _encodable(docs[-1]["id"]):
            unreadable.append(_refusal(docs.pop(), first_row + i))
            continue
        kept.append(first_row + i)
    wide, refused = wide_from_documents(docs, 0)
    # A document without an identifier is named by its row in the file, as a wide table's row is.
    unnamed = [p for p, d in enumerate(docs) if not isinstance(d, Mapping) or d.get("id") is None]
    rename = (
        pl.when(pl.col(ROW).is_in(unnamed) & pl.col(ID).is_not_null())
        .then(pl.col(ROW).replace_strict(list(range(len(kept))), kept, return_dtype=pl.Int64).cast(pl.String))
        .otherwise(pl.col(ID))
        .alias(ID)
    )
    renumber = pl.col(ROW).replace_strict(list(range(len(kept))), kept, return_dtype=pl.Int64)
    wide = wide.with_columns(rename).with_columns(renumber)
    refused = refused.with_columns(rename).with_columns(renumber)
    return wide, pl.concat([pl.DataFrame(unreadable, schema=ERRORS_SCHEMA), refused])


def evaluate_lines(
    lines: Sequence[str],
    first_row: int,
    plan: Plan,
    undetermined: Undetermined = Undetermined.COMPACT,
    repeated: pl.DataFrame | None = None,
) -> tuple[pa.Table, pl.DataFrame, tuple[str, ...], pl.DataFrame, int]:
    """Evaluate a batch of JSON lines: results (Arrow), errors, absent columns, absent-only counts and fallbacks.

    Errors are the refused, not used and excluded values; documents lack no column, so the counts are empty.
    """
    got = wide_from_lines(lines, first_row)
    if not got.wide.height:  # every line refused: nothing to evaluate
        return arrow_schema().empty_table(), got.errors, (), pl.DataFrame(schema=ABSENT_ONLY_SCHEMA), got.fallbacks
    results, errors, absent, only = partition_arrow(
        got.wide, plan, first_row=first_row, undetermined=undetermined, repeated=repeated
    )
    return results, pl.concat([got.errors, errors]), absent, only, got.fallbacks
