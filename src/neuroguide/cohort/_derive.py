"""The fact engine (``_facts``) over a wide table: its input checks and derived facts, column by column.

Two ways, both held to ``_facts`` by the differential tests:

* **By value.** A fact derived from other facts only (loss of protective sensation, suspected
  polyneuropathy, PAD from ABI/TBI, the IWGDF category, …) is computed by the engine's own derivation
  function, called once per distinct combination of its inputs and joined back, so a change in ``_facts``
  is used as it is. Each such derivation declares its inputs here (:data:`BY_VALUE`); the function gets a
  mapping that refuses any other fact, and the patient record is withheld, so a derivation that starts
  reading something else is detected (at planning by a probe, while running by the refusal) and its fact
  is then derived per row by ``derive``.
* **Pinned.** Facts derived from the patient record (age, diabetes type and dates, medications) and the
  Cockcroft–Gault clearance are Polars expressions that reproduce the engine's function. Each is pinned
  to the sha256 of the engine functions it reproduces (:data:`PINNED`); when one changes (the tripwire),
  the rules reading that fact, or a fact derived from it, run per row through ``derive`` until the
  expression here is brought up to date and the pin renewed. The input checks (``check_dates``,
  ``check_consistency``, conflicts between a given and a derivable value, unit slips) are pinned the same
  way; when they change every patient goes through ``derive``.

Constants (the contradicting pairs, placeholder dates, tolerances, PAD thresholds, drug-name sets) are
read from ``_facts`` and ``_agents``, never copied.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import numpy as np
import polars as pl

from .. import _agents, _facts
from .._plausible import span
from .._vocabulary import vocabulary
from ..formulas import _renal
from ..formulas._iwgdf import IWGDF_FACTS
from ..patient import Medication
from ._schema import BIRTH, DDIAG, DTYPE, ERRORS_SCHEMA, ID, MEDS, ROW, columns

__all__ = [
    "BY_VALUE",
    "PINNED",
    "Derivations",
    "StaleDerivationError",
    "add_years",
    "check_rows",
    "completed_years",
    "derivations",
    "derive_columns",
    "elapsed_years",
    "reads",
]

EXCLUDED, REFUSED, NOT_USED = "excluded", "refused", "not used"
"""The ``effect`` of an errors-table row: the row is left out of the rules reading the column; the whole
patient is refused (as ``assess`` refuses it); the value is treated as unknown (as ``assess`` flags it)."""


def _names(*groups: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(itertools.chain.from_iterable(groups)))


# Derived from facts only: the engine's function, once per distinct combination of these inputs.
# A module constant that has gone from ``_facts`` reads as empty: the probe then reports the derivation stale.
BY_VALUE: dict[str, tuple[str, ...]] = {
    "progression-duration": ("still-progressing", "symptom-duration"),
    "lops": ("monofilament-abnormal", "vibration-abnormal"),
    "painful-diabetic-neuropathy": ("diabetes", "burning-pain", "distal-symmetric-pattern"),
    "thiamine-deficiency-risk": ("alcohol-excess", "bariatric-surgery", "persistent-vomiting", "malabsorption"),
    "exertional-nonjoint-leg-symptoms": getattr(_facts, "_EXERTIONAL", ()),
    "polyneuropathy": _names(
        ["distal-symmetric-pattern"],
        getattr(_facts, "_OTHER_PATTERN_SIGNS", ()),
        getattr(_facts, "_NEUROPATHY_SIGNS", ()),
    ),
    "pad": ("abi", "tbi"),
    "b12-result-recorded": ("b12-total", "b12-active"),
    "iwgdf-category": _names(["diabetes"], tuple(IWGDF_FACTS.values())),
}

# Derived from the patient record: Polars expressions below, pinned to the engine functions they reproduce.
_PINNED_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "age": ("_age", "completed_years", "is_placeholder"),
    "diabetes": ("_diabetes",),
    "type-1-diabetes": ("_type1",),
    "type-2-diabetes": ("_type2",),
    "diabetes-diagnosed": ("_diagnosed", "is_placeholder"),
    "diabetes-duration": ("_duration", "elapsed_years", "completed_years", "is_placeholder"),
    "on-metformin": ("_on_metformin", "_metformin", "is_placeholder", "Medication.active_on"),
    "metformin-duration": ("_metformin_duration", "_metformin", "elapsed_years", "Medication.active_on"),
    "on-midodrine": ("_on_midodrine", "_taking", "Medication.active_on"),
    "on-droxidopa": ("_on_droxidopa", "_taking", "Medication.active_on"),
    "two-gabapentinoids": ("_two_gabapentinoids", "Medication.active_on"),
    "crcl": ("_crcl", "crcl_from_floats"),
    "(checks)": (
        "derive_flagged",
        "check_dates",
        "check_consistency",
        "_contradiction",
        "_denied",
        "_check_tempo",
        "tempo_shown",
        "_conflict",
        "_unit_slips",
        "is_placeholder",
        "completed_years",
        "elapsed_years",
    ),
}
# Derived facts the pinned ones read (a stale one makes its readers stale).
_PINNED_INPUTS: dict[str, tuple[str, ...]] = {"crcl": ("age", "weight", "serum-creatinine", "sex")}

PINNED: dict[str, str] = {
    "age": "da2d6b849c247a81",
    "diabetes": "73518a5f4f04bad9",
    "type-1-diabetes": "f5fee7c3e9ab5771",
    "type-2-diabetes": "1252daab9f9b5030",
    "diabetes-diagnosed": "c2ebe74ad45db6ae",
    "diabetes-duration": "b12b962e6a0611bd",
    "on-metformin": "cb2f16768da75537",
    "metformin-duration": "8aa0e12a7736c675",
    "on-midodrine": "bee994610fea1f84",
    "on-droxidopa": "9de4247510323d29",
    "two-gabapentinoids": "a324690ca091a5a9",
    "crcl": "6eb67a39fbb249b0",
    "(checks)": "5c7e068d40834b03",
}
"""sha256 (first 16 hex digits) of the engine functions each pinned fact reproduces, as last checked."""


def _engine_object(path: str) -> Any:
    if path == "Medication.active_on":
        return Medication.active_on
    if path == "crcl_from_floats":
        return _renal.crcl_from_floats
    return getattr(_facts, path, None)


def fingerprint(fact: str) -> str | None:
    """The current sha256 (16 hex digits) of the engine functions a pinned fact reproduces (None: one is gone)."""
    digest = hashlib.sha256()
    for path in _PINNED_FUNCTIONS[fact]:
        obj = _engine_object(path)
        if obj is None:
            return None
        try:
            digest.update(inspect.getsource(obj).encode())
        except (OSError, TypeError):  # no source shipped: cannot tell, so trust nothing
            return None
    return digest.hexdigest()[:16]


# -- reading only what is declared -----------------------------------------------------------------


class StaleDerivationError(Exception):
    """A by-value derivation read a fact it does not declare (or the patient record)."""

    def __init__(self, fact: str, read: str) -> None:
        super().__init__(f"{fact} read {read!r}")
        self.fact, self.read = fact, read


class _Declared(Mapping[str, Any]):
    """The facts a derivation declares, refusing any other name."""

    def __init__(self, fact: str, allowed: tuple[str, ...], values: Mapping[str, Any]) -> None:
        self._fact, self._allowed, self._values = fact, frozenset(allowed), values

    def _check(self, key: object) -> None:
        if key not in self._allowed:
            raise StaleDerivationError(self._fact, str(key))

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        self._check(key)
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        raise StaleDerivationError(self._fact, "(every fact)")

    def __len__(self) -> int:
        raise StaleDerivationError(self._fact, "(every fact)")


class _NoPatient:
    """Stands in for the patient record: a by-value derivation must not read it."""

    def __init__(self, fact: str) -> None:
        self._fact = fact

    def __getattr__(self, name: str) -> Any:
        raise StaleDerivationError(self._fact, f"patient.{name}")


def _call(name: str, inputs: tuple[str, ...], values: Mapping[str, Any], as_of: dt.date) -> Any:
    fn = _facts._DERIVATIONS[name]
    present = {k: v for k, v in values.items() if v is not None}
    return fn(_NoPatient(name), as_of, _Declared(name, inputs, present))  # type: ignore[arg-type]


# -- which derivations are current -----------------------------------------------------------------


@attrs.frozen
class Derivations:
    """Which derived facts the columns reproduce, and which go through the engine's ``derive`` per row."""

    stale: frozenset[str]
    """Derived facts computed per row (changed, new or reading undeclared facts), with every fact derived from them."""
    checks_current: bool
    """False when the input checks changed: then every patient goes through ``derive``."""
    changed: tuple[tuple[str, str | None], ...] = ()
    """Pinned facts whose engine functions changed, with their current fingerprint (to renew the pin)."""


def _probe(name: str, inputs: tuple[str, ...]) -> bool:
    """True if the derivation reads only its declared inputs on a few typical combinations."""
    vocab = columns()
    choices: list[tuple[Any, ...]] = []
    for n in inputs:
        kind = vocab[n].kind if n in vocab else "boolean"
        choices.append((None, 1.0, 0.5, 30.0) if kind == "float" else (None, True, False))
    combos = [tuple(c[i % len(c)] for c in choices) for i in range(4)]
    combos += [tuple(c[1] if j == k else None for j, c in enumerate(choices)) for k in range(len(choices))]
    for combo in combos:
        try:
            _call(name, inputs, dict(zip(inputs, combo, strict=True)), dt.date(2026, 1, 1))
        except StaleDerivationError:
            return False
    return True


@functools.cache
def derivations() -> Derivations:
    """Compare the engine's derivations with the ones reproduced here (once per process)."""
    order = list(_facts._DERIVATIONS)
    changed = [(f, now) for f in PINNED if (now := fingerprint(f)) != PINNED[f]]
    stale = {f for f, _ in changed if f != "(checks)"}
    for name in order:
        if name in BY_VALUE:
            if not _probe(name, BY_VALUE[name]):
                stale.add(name)
        elif name not in PINNED:
            stale.add(name)  # a derivation added to the engine since
    for name in order:  # readers of a stale fact are stale (the engine's order is the dependency order)
        inputs = BY_VALUE.get(name, _PINNED_INPUTS.get(name, ()))
        if any(i in stale for i in inputs):
            stale.add(name)
    checks_current = all(f != "(checks)" for f, _ in changed)
    return Derivations(frozenset(stale), checks_current, tuple(changed))


@functools.cache
def reads() -> dict[str, frozenset[str]]:
    """Every derived fact with the wide columns it depends on (its given column included)."""
    cols = columns()
    base: dict[str, frozenset[str]] = {
        "age": frozenset({"age", BIRTH}),
        "diabetes": frozenset({DTYPE, DDIAG}),
        "type-1-diabetes": frozenset({DTYPE, DDIAG}),
        "type-2-diabetes": frozenset({DTYPE, DDIAG}),
        "diabetes-diagnosed": frozenset({DTYPE, DDIAG}),
        "diabetes-duration": frozenset({DTYPE, DDIAG}),
        "on-metformin": frozenset({MEDS}),
        "metformin-duration": frozenset({MEDS}),
        "on-midodrine": frozenset({MEDS, "on-midodrine"}),
        "on-droxidopa": frozenset({MEDS, "on-droxidopa"}),
        "two-gabapentinoids": frozenset({MEDS}),
    }
    out: dict[str, frozenset[str]] = {}
    for name in _facts._DERIVATIONS:
        if name in base:
            out[name] = base[name]
            continue
        inputs = BY_VALUE.get(name, _PINNED_INPUTS.get(name, ()))
        found: set[str] = {name} if name in cols else set()
        for i in inputs:
            found |= out.get(i, frozenset({i} if i in cols else ()))
        out[name] = frozenset(found)
    return out


# -- calendar arithmetic on columns ------------------------------------------------------------------


def completed_years(start: pl.Expr, end: dt.date) -> pl.Expr:
    """``_facts.completed_years`` on a column of start dates."""
    before = (start.dt.month().cast(pl.Int32) * 100 + start.dt.day().cast(pl.Int32)) > (end.month * 100 + end.day)
    return pl.lit(end.year, pl.Int32) - start.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def add_years(start: pl.Expr, years: pl.Expr) -> pl.Expr:
    """``start`` plus a per-row number of calendar years, the day clamped to the month's end."""
    year = start.dt.year().cast(pl.Int32) + years
    month = start.dt.month()
    last_day = pl.date(year, month, 1).dt.month_end().dt.day()
    return pl.date(year, month, pl.min_horizontal(start.dt.day(), last_day))


def elapsed_years(start: pl.Expr, end: dt.date) -> pl.Expr:
    """``_facts.elapsed_years``: completed years plus the fraction of the current one."""
    return start.map_batches(functools.partial(_elapsed, end=end), return_dtype=pl.Float64, is_elementwise=True)


def _elapsed(start: pl.Series, end: dt.date) -> pl.Series:
    """:func:`elapsed_years` on a column, by whole-array date arithmetic (several times cheaper than building dates).

    The anniversary on or before ``end`` falls in ``end``'s year or the year before, and the next one a
    year later; 29 February falls on the 28th in other years, as ``Period.add_to`` clamps it. The float
    is computed as the engine does: whole years plus elapsed days over the year's days.
    """
    days = start.cast(pl.Date).to_physical().fill_null(0).to_numpy().astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    before = month * 100 + day > end.month * 100 + end.day
    whole = end.year - (years.astype(np.int64) + 1970) - before
    last_year = end.year - before.astype(np.int64)

    def anniversary(year: Any) -> Any:
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        clamped = np.where((month == 2) & (day == 29) & ~leap, 28, day)
        return ((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]") + (clamped - 1)

    last, nxt = anniversary(last_year), anniversary(last_year + 1)
    done = (np.datetime64(end, "D") - last).astype(np.int64).astype(np.float64)
    length = (nxt - last).astype(np.int64).astype(np.float64)
    out = pl.Series(start.name, whole.astype(np.float64) + done / length)
    return out.set(start.is_null(), None) if start.null_count() else out


# -- input checks --------------------------------------------------------------------------------------


def _date_columns() -> list[str]:
    return [n for n, c in columns().items() if c.kind == "date"]


def _field(column: str) -> str:
    """How the engine names a date field of the wide table."""
    if column == DDIAG:
        return "diabetes.diagnosed"
    return f"last.{column.removeprefix('last-')}" if column.startswith("last-") else column


def _lit(x: str | pl.Expr) -> pl.Expr:
    return pl.lit(x) if isinstance(x, str) else x


@attrs.frozen
class _Rows:
    """Errors-table rows to come: the rows of ``frame`` where ``mask`` holds, described by the other fields."""

    frame: pl.DataFrame
    mask: pl.Expr
    column: str | pl.Expr
    value: pl.Expr
    expected: str | pl.Expr
    effect: str


def _rows(
    frame: pl.DataFrame, mask: pl.Expr, column: str | pl.Expr, value: pl.Expr, expected: str | pl.Expr, effect: str
) -> _Rows:
    """Errors-table rows for the rows of ``frame`` where ``mask`` holds (built by :func:`_collect`)."""
    return _Rows(frame, mask.fill_null(False), column, value, expected, effect)


def _collect(pending: list[_Rows]) -> pl.DataFrame:
    """The errors-table rows of ``pending``, in order.

    Most checks find nothing: every mask of a frame is tested in one select, and only the checks that
    hold somewhere filter their rows and format their text, eagerly on the rows found, rechunked: formatting
    text over the filtered rows of a CSV cohort with a date before the birth date made Polars 2.1 panic, lazily
    or eagerly (``tests/test_cohort_io.py``), as its streaming engine did in the differential test.
    """
    hits = [False] * len(pending)
    frames: dict[int, list[int]] = {}
    for i, p in enumerate(pending):
        frames.setdefault(id(p.frame), []).append(i)
    for found in frames.values():
        frame = pending[found[0]].frame
        anywhere = frame.select([pending[i].mask.any().alias(str(k)) for k, i in enumerate(found)]).row(0)
        for i, hit in zip(found, anywhere, strict=True):
            hits[i] = bool(hit)
    lit = _lit
    parts = [
        p.frame.filter(p.mask)
        .rechunk()
        .select(
            pl.col(ROW),
            pl.col(ID),
            lit(p.column).cast(pl.String).alias("column"),
            p.value.cast(pl.String).alias("value"),
            lit(p.expected).cast(pl.String).alias("expected"),
            pl.lit(p.effect).alias("effect"),
        )
        for p, hit in zip(pending, hits, strict=True)
        if hit
    ]
    return pl.concat(parts).select(list(ERRORS_SCHEMA)) if parts else pl.DataFrame(schema=ERRORS_SCHEMA)


def check_rows(table: pl.DataFrame, as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The engine's input checks on a prepared table: (table with placeholder dates unset, refusals, flags).

    Refusals are patients ``assess`` refuses (dates more than a lifetime back or before birth, an age that
    contradicts the birth date); flags are values ``assess`` leaves out and says so (placeholder dates such as
    1900-01-01; findings that contradict each other, or a progression longer than the symptoms: every value of
    the contradiction, in that row only).
    """
    col = pl.col
    oldest = span("age").high
    placeholders = sorted(_facts.PLACEHOLDER_DATES)
    refusals: list[_Rows] = []
    flags: list[_Rows] = []
    dates = [c for c in _date_columns() if c in table.columns]
    for c in dates:
        flags.append(
            _rows(
                table,
                col(c).is_in(placeholders),
                c,
                col(c).cast(pl.String),
                f"a real date ({_field(c)}: a date records systems use for 'unknown'; not used)",
                NOT_USED,
            )
        )
    table = table.with_columns(
        [pl.when(~col(c).is_in(placeholders).fill_null(False)).then(col(c)).alias(c) for c in dates]
    )
    born = col(BIRTH)
    for c in dates:
        what = "an age" if c == BIRTH else "a date in a lifetime"
        old = completed_years(col(c), as_of) > oldest
        refusals.append(
            _rows(table, old, c, col(c), f"{what} of at most {oldest:g} years on {as_of.isoformat()}", REFUSED)
        )
        if c != BIRTH:
            refusals.append(
                _rows(
                    table,
                    ~old & (col(c) < born),
                    c,
                    col(c),
                    pl.format("a date on or after birth_date {}", born.cast(pl.String)),
                    REFUSED,
                )
            )
    # Medication start and stop dates (kept in the list, as the patient record keeps them).
    meds = (
        table.lazy()
        .select(ROW, ID, BIRTH, MEDS)
        .with_columns(pl.int_ranges(pl.col(MEDS).list.len()).alias("__i"))
        .explode(MEDS, "__i")
        .filter(col(MEDS).is_not_null())
        .with_columns(col(MEDS).struct.field("started"), col(MEDS).struct.field("stopped"))
        .collect()
    )
    if meds.height:
        for part in ("started", "stopped"):
            d = col(part)
            placeholder = d.is_in(placeholders).fill_null(False)
            old = ~placeholder & (completed_years(d, as_of) > oldest)
            where = pl.format("medications[{}].{}", col("__i"), pl.lit(part))
            refusals.append(
                _rows(
                    meds,
                    old,
                    where,
                    d,
                    f"a date in a lifetime of at most {oldest:g} years on {as_of.isoformat()}",
                    REFUSED,
                )
            )
            refusals.append(
                _rows(
                    meds,
                    ~placeholder & ~old & (d < born),
                    where,
                    d,
                    pl.format("a date on or after birth_date {}", born.cast(pl.String)),
                    REFUSED,
                )
            )
    if "age" in table.columns:
        exact = elapsed_years(born, as_of)
        conflict = born.is_not_null() & col("age").is_not_null() & ((col("age") - exact).abs() >= _facts.AGE_TOLERANCE)
        refusals.append(
            _rows(
                table,
                conflict,
                "age",
                col("age"),
                pl.format(
                    "an age matching birth_date {} ({} years on {}); give one or the other",
                    born.cast(pl.String),
                    completed_years(born, as_of),
                    pl.lit(as_of.isoformat()),
                ),
                REFUSED,
            )
        )
    table, contradictions = _consistency(table)
    flags.extend(contradictions)
    return table, _collect(refusals), _collect(flags)


LEFT_OUT = "__out:"
"""Prefix of the marker columns of values left out as contradictory (read by :func:`derive_columns`)."""


def _consistency(table: pl.DataFrame) -> tuple[pl.DataFrame, list[_Rows]]:
    """``check_consistency``: every contradiction of each row flagged, its values unset (not used).

    The flags name both columns, both values and what was expected, as the engine's do. Each contradicting
    value is unset in that row only; a derived fact among them is marked so that ``derive_columns`` does not
    derive it from the other inputs instead (the engine withholds it likewise).
    """
    col = pl.col

    def true(name: str) -> pl.Expr:
        return (col(name) == True).fill_null(False) if name in table.columns else pl.lit(False)  # noqa: E712

    def false(name: str) -> pl.Expr:
        return (col(name) == False).fill_null(False) if name in table.columns else pl.lit(False)  # noqa: E712

    def named(names: tuple[str, ...]) -> str:
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    def used(names: tuple[str, ...]) -> str:
        return "neither used" if len(names) == 2 else "none used"

    checks: list[tuple[pl.Expr, tuple[str, ...], pl.Expr, str]] = []
    for first, second, why in _facts._EXCLUSIVE:
        checks.append(
            (true(first) & true(second), (first, second), pl.lit("both true"), f"at most one of them true: {why}")
        )
    for general, specific, what in _facts._DENIALS:
        for name in specific:
            denied = _facts._denied(general, name, what)
            checks.append((false(general) & true(name), (general, name), pl.lit("false and true"), denied))
    if "progression-duration" in table.columns and "symptom-duration" in table.columns:
        prog, dur = col("progression-duration"), col("symptom-duration")
        day = _facts._DAY_IN_WEEKS
        both = prog.is_not_null() & dur.is_not_null()
        longer = both & (prog > dur + day)
        shorter = both & ~longer & true("still-progressing") & ((dur - prog) > pl.max_horizontal(pl.lit(day), dur / 10))
        # Formatted by the engine's own function, on the flagged rows only (the rows are filtered first).
        days = pl.struct(p=prog, d=dur).map_elements(
            lambda r: _facts.tempo_shown(r["p"], r["d"]), return_dtype=pl.String
        )
        durations = ("progression-duration", "symptom-duration")
        checks.append((longer, durations, days, _facts.TEMPO_LONGER))
        checks.append((shorter, ("still-progressing", *durations), pl.format("true; {}", days), _facts.TEMPO_STILL))
    flags = [
        _rows(table, mask, named(names), shown, f"{reason}; {used(names)}", NOT_USED)
        for mask, names, shown, reason in checks
    ]
    out: dict[str, pl.Expr] = {}
    for mask, names, _, _ in checks:
        for name in names:
            out[name] = out[name] | mask if name in out else mask
    present = {name: mask for name, mask in out.items() if name in table.columns}
    if present:
        table = table.with_columns(
            *(pl.when(mask).then(None).otherwise(col(name)).alias(name) for name, mask in present.items()),
            *(mask.alias(LEFT_OUT + name) for name, mask in present.items() if name in _facts._DERIVATIONS),
        )
    return table, flags


# -- derived facts -------------------------------------------------------------------------------------


def _by_value(frame: pl.DataFrame, name: str, as_of: dt.date) -> pl.Series:
    """The engine's derivation of ``name``, once per distinct combination of its inputs."""
    inputs = BY_VALUE[name]
    present = [i for i in inputs if i in frame.columns]
    dtype = _DTYPES.get(vocabulary()[name].type, pl.Float64())
    if all(frame.schema[i] == pl.Boolean for i in present):
        return _by_truths(frame, name, inputs, present, as_of, dtype)
    keys = frame.select(present).unique()
    out = [_call(name, inputs, row, as_of) for row in keys.iter_rows(named=True)]
    table = keys.with_columns(pl.Series("__v", out, dtype=dtype))
    joined = frame.select(present).join(table, on=present, how="left", nulls_equal=True, maintain_order="left")
    return joined["__v"].alias(name)


def _by_truths(
    frame: pl.DataFrame, name: str, inputs: tuple[str, ...], present: list[str], as_of: dt.date, dtype: pl.DataType
) -> pl.Series:
    """:func:`_by_value` over true/false/unknown inputs: each row's combination as one number in base 3."""
    code = pl.sum_horizontal(
        [(pl.col(c).cast(pl.Int64) + 1).fill_null(0) * (3**k) for k, c in enumerate(present)] or [pl.lit(0, pl.Int64)]
    )
    codes = frame.select(code.alias("c"))["c"].to_numpy()
    distinct, inverse = np.unique(codes, return_inverse=True)
    truth = (None, False, True)
    seen = _values_seen(name, inputs, tuple(present), as_of)
    out = []
    for v in distinct.tolist():
        if v not in seen:
            seen[v] = _call(name, inputs, {c: truth[v // 3**k % 3] for k, c in enumerate(present)}, as_of)
        out.append(seen[v])
    return pl.Series(name, out, dtype=dtype).gather(inverse.reshape(-1))


_SEEN: dict[tuple[Any, ...], dict[int, Any]] = {}
"""A derivation's value per combination number, kept across partitions (see :func:`_values_seen`)."""
_SEEN_KEPT = 1 << 16


def _values_seen(name: str, inputs: tuple[str, ...], present: tuple[str, ...], as_of: dt.date) -> dict[int, Any]:
    """The values of one derivation already computed, by combination number (base 3 over ``present``).

    A pure function of them (the derivation function is part of the key, so a changed one is called afresh);
    looked up by the number, so a combination seen before costs no Python call. Bounded: a table that grows
    past ``_SEEN_KEPT`` entries, or a key past 64 tables, starts afresh.
    """
    key = (_facts._DERIVATIONS[name], name, inputs, present, as_of)
    held = _SEEN.get(key)
    if held is None or len(held) > _SEEN_KEPT:
        if len(_SEEN) >= 64:
            _SEEN.clear()
        held = _SEEN[key] = {}
    return held


_DTYPES: dict[str, pl.DataType] = {"boolean": pl.Boolean(), "date": pl.Date(), "category": pl.String()}


def _implausible_crcl(facts: pl.DataFrame) -> tuple[pl.DataFrame, _Rows]:
    """A derived (not given) clearance outside the plausible span is left out and flagged (``derive_flagged``)."""
    s = span("crcl")
    crcl = pl.col("crcl")
    derived = pl.col("__crcl_given").is_null() & crcl.is_not_null()
    # Only values near or beyond an edge are decided by the engine's own span test (float noise included).
    near = facts.filter(derived & ~crcl.is_between(s.low + 1e-6, s.high - 1e-6))["crcl"].unique().to_list()
    outside = [v for v in near if not s.contains(v)]
    out = derived & crcl.is_in(outside)
    flag = _rows(
        facts,
        out,
        "crcl",
        crcl.round(1),
        f"Cockcroft-Gault from the inputs within {s.describe('a clearance')}; not used (check age, weight and "
        "serum creatinine)",
        NOT_USED,
    )
    return facts.with_columns(pl.when(out).then(None).otherwise(crcl).alias("crcl")), flag


def _medications(frame: pl.DataFrame, as_of: dt.date) -> dict[str, pl.Expr]:
    """on-metformin, metformin-duration, on-midodrine, on-droxidopa (the engine's name matcher per distinct name)."""
    names = frame[MEDS].explode().struct.field("agent").drop_nulls().unique().to_list()
    ingredients = {a: _agents.ingredient_keys(a) for a in names}
    placeholders = sorted(_facts.PLACEHOLDER_DATES)
    med = pl.element().struct

    def taking(drugs: frozenset[str]) -> pl.Expr:
        wanted = [a for a, keys in ingredients.items() if not drugs.isdisjoint(keys)]
        active = (med.field("started").is_null() | (med.field("started") <= as_of)) & (
            med.field("stopped").is_null() | (med.field("stopped") >= as_of)
        )
        return med.field("agent").is_in(wanted).fill_null(False) & active

    start = med.field("started")
    first = pl.col(MEDS).list.eval(
        pl.when(taking(_agents.METFORMIN) & ~start.is_in(placeholders).fill_null(False)).then(start)
    )
    # Every member of the class on the current list (each by its ingredient names).
    both = [pl.col(MEDS).list.eval(taking(frozenset({g}))).list.any() for g in sorted(_agents.GABAPENTINOIDS)]
    return {
        "two-gabapentinoids": pl.all_horizontal(both) if both else pl.lit(True),
        "on-metformin": pl.col(MEDS).list.eval(taking(_agents.METFORMIN)).list.any(),
        "__metformin_start": first.list.min(),
        "on-midodrine": pl.col(MEDS).list.eval(taking(_agents.MIDODRINE)).list.any(),
        "on-droxidopa": pl.col(MEDS).list.eval(taking(_agents.DROXIDOPA)).list.any(),
    }


def derive_columns(facts: pl.DataFrame, as_of: dt.date, state: Derivations) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add every derived fact the columns reproduce, in the engine's order; return the frame and the flags.

    A value given in its own column wins, except where the engine checks it against the derivable value
    (``lops``, ``iwgdf-category``, ``crcl``, ``pad``): a conflicting given value is withheld and flagged, as
    ``derive_flagged`` does. A derived clearance outside the plausible span is left out and flagged.
    Stale derived facts are left unset (their rules run per row).

    Raises:
        StaleDerivationError: a by-value derivation read an undeclared fact on this data.

    """
    col = pl.col
    cols = columns()
    flags: list[_Rows] = []
    born = col(BIRTH)
    has = col(DTYPE).is_not_null()
    if "crcl" in facts.columns:
        facts = facts.with_columns(col("crcl").alias("__crcl_given"))
    med_exprs = _medications(facts, as_of) if MEDS in facts.columns else {}
    if med_exprs:
        facts = facts.with_columns(med_exprs["__metformin_start"].alias("__metformin_start"))
    first = col("__metformin_start")
    female = col("sex") == "female"
    dialysed = (col("dialysis") == True).fill_null(False) if "dialysis" in facts.columns else pl.lit(False)  # noqa: E712
    pinned: dict[str, Callable[[], pl.Expr]] = {
        "age": lambda: completed_years(born, as_of).cast(pl.Float64),
        "diabetes": lambda: has,
        "type-1-diabetes": lambda: (col(DTYPE) == "type-1").fill_null(False),
        "type-2-diabetes": lambda: (col(DTYPE) == "type-2").fill_null(False),
        "diabetes-diagnosed": lambda: pl.when(has).then(col(DDIAG)),
        "diabetes-duration": lambda: pl.when(has & col(DDIAG).is_not_null()).then(elapsed_years(col(DDIAG), as_of)),
        "on-metformin": lambda: med_exprs["on-metformin"],
        "metformin-duration": lambda: pl.when(first.is_not_null()).then(elapsed_years(first, as_of)),
        "on-midodrine": lambda: med_exprs["on-midodrine"],
        "on-droxidopa": lambda: med_exprs["on-droxidopa"],
        "two-gabapentinoids": lambda: med_exprs["two-gabapentinoids"],
        "crcl": lambda: _crcl(col("age"), col("weight"), col("serum-creatinine"), female, dialysed),
    }
    for name in _facts._DERIVATIONS:
        if name in state.stale:
            continue
        derived: pl.Expr | pl.Series = pinned[name]() if name in pinned else _by_value(facts, name, as_of)
        value = derived if isinstance(derived, pl.Expr) else pl.lit(derived)
        if LEFT_OUT + name in facts.columns:  # contradicted: not derived from the other inputs instead
            value = pl.when(col(LEFT_OUT + name)).then(None).otherwise(value)
        if name not in cols or name not in facts.columns:
            facts = facts.with_columns(value.alias(name))
            continue
        given = col(name)
        if name in ("lops", "iwgdf-category", "crcl", "pad"):
            # pad: the derivation gives true or nothing, so only a given "no" against a diagnostic index conflicts
            facts = facts.with_columns(value.alias("__derivable"))
            d = col("__derivable")
            if name == "crcl":
                tolerance = pl.max_horizontal(pl.lit(_facts.CRCL_TOLERANCE_ABS), _facts.CRCL_TOLERANCE_REL * d)
                conflict = given.is_not_null() & d.is_not_null() & ((given - d).abs() > tolerance)
                why = pl.format(
                    "a clearance within {} mL/min of Cockcroft-Gault from the inputs ({}); neither used",
                    tolerance.round(1),
                    d.round(1),
                )
            else:
                conflict = given.is_not_null() & d.is_not_null() & (given != d)
                why = pl.format(
                    "the value the other inputs give ({}); neither used", d.cast(pl.String).str.to_lowercase()
                )
            flags.append(_rows(facts, conflict, name, given, why, NOT_USED))
            facts = facts.with_columns(pl.when(conflict).then(None).otherwise(pl.coalesce(given, d)).alias(name)).drop(
                "__derivable"
            )
        else:
            facts = facts.with_columns(pl.coalesce(given, value).alias(name))
    if "crcl" in facts.columns and "crcl" not in state.stale:
        facts, implausible = _implausible_crcl(facts)
        flags.append(implausible)
    facts = facts.drop(
        "__metformin_start", "__crcl_given", *(c for c in facts.columns if c.startswith(LEFT_OUT)), strict=False
    )
    return facts, _collect(flags)


def _crcl(age: pl.Expr, weight: pl.Expr, scr: pl.Expr, female: pl.Expr, dialysed: pl.Expr) -> pl.Expr:
    """``_facts._crcl`` with ``crcl_from_floats``: the same operations in the same order (bit-identical floats).

    Not on dialysis (``dialysed``: the patient's ``dialysis`` is true), where Cockcroft–Gault is not applied.
    """
    value = (140.0 - age) * weight / (72.0 * scr)
    known = age.is_not_null() & weight.is_not_null() & scr.is_not_null() & female.is_not_null() & (age >= 18)
    known = known & ~dialysed
    return pl.when(known).then(pl.when(female).then(value * 0.85).otherwise(value))
