"""Dosing rules over a wide table: each distinct prescription checked once, each patient looked up by CrCl.

A dose verdict depends on the prescription (agent as written, dose, period, route, indication) and,
continuously, on creatinine clearance. ``dosing.medication_intervals`` gives, for one prescription and
one dosing rule, the verdict the engine gives at every CrCl (a step function whose edges are found on the
floats by ``check_dose``'s own decision code) and which sibling regimen reports it. Here every current,
dosed medication entry of every clean patient is joined to its prescription's intervals by CrCl (a Polars
``join_asof``), so no dose logic lives in the cohort. What the verdict depends on besides CrCl:

* a heavy patient (actual weight above 130 % of ideal, with height, weight, age, creatinine and sex
  known): the ideal- and adjusted-weight views are worked out by ``dosing.weight_alternatives`` for those
  rows only, and the verdict by ``DoseIntervals.verdict_at``;
* dialysis and the CrCl basis change notes and wording only (not in the results table), except where the source
  puts dialysis in an avoid row (``dosing.dialysis_decides``): those patients' dosing rules run per row;
* duplicate therapy (two dosed entries naming one rule): those patients' dosing rules run per row.

The orchestration ``assess`` applies around the dose check (which entries are current, which are dosed,
which rule reports, within-range single entries leave no row unless a fact they depend on is missing) is
reproduced here and pinned to the engine functions that define it (:data:`PINNED`); when one changes,
dosing rules run per row again.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from .. import _medcheck, dosing
from .._agents import names_agent
from ..patient import Medication
from ._schema import BAD, ID, MEDS, RESULT_SCHEMA, ROW, medication_of

__all__ = ["PINNED", "current", "dosing_rows", "fingerprint"]

_FUNCTIONS = (
    Medication.active_on,
    Medication.taken_by,
    _medcheck.evaluate,
    dosing.medication_verdicts,
    dosing._reporter,
    dosing._decide,
    dosing._med_verdict,
)
PINNED = "f6e045c133faeb4e"
"""sha256 (16 hex digits) of the engine functions whose orchestration :func:`dosing_rows` reproduces."""

_WEIGHT_INPUTS = ("age", "weight", "serum-creatinine", "sex", "height")


def fingerprint() -> str | None:
    """The current sha256 (16 hex digits) of the pinned engine functions (None: no source to read)."""
    digest = hashlib.sha256()
    for fn in _FUNCTIONS:
        try:
            digest.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):
            return None
    return digest.hexdigest()[:16]


@functools.cache
def current() -> bool:
    """True if the pinned engine functions are unchanged (once per process)."""
    return fingerprint() == PINNED


def dosing_rows(
    facts: pl.DataFrame, steps: Sequence[Any], as_of: dt.date, measured: Mapping[str, str]
) -> tuple[pl.DataFrame, list[int]]:
    """The result rows of the dosing ``steps`` for every clean patient, and the rows left to the per-row path.

    Returns rows with the results columns plus ``__step`` (the step's index, for ordering), and the
    input rows with duplicate therapy or on dialysis where dialysis decides the verdict (their dosing rules are
    evaluated per row by the caller).
    """
    empty = pl.DataFrame(schema={**_OUT_SCHEMA})
    if MEDS not in facts.columns or not steps:
        return empty, []
    bad = [pl.col(c) for c in facts.columns if c.startswith(BAD)]
    clean = ~pl.any_horizontal(bad) if bad else pl.lit(True)
    crcl = pl.col("crcl") if "crcl" in facts.columns else pl.lit(None, dtype=pl.Float64)
    dialysis = pl.col("dialysis") if "dialysis" in facts.columns else pl.lit(None, dtype=pl.Boolean)
    weights = [pl.col(c) if c in facts.columns else pl.lit(None).alias(c) for c in _WEIGHT_INPUTS]
    on = facts.lazy().filter(clean & (pl.col(MEDS).list.len() > 0))
    entries = (
        on.select(
            ROW,
            ID,
            crcl.alias("__crcl"),
            dialysis.alias("__dialysis"),
            *weights,
            pl.col(MEDS),
            pl.int_ranges(pl.col(MEDS).list.len()).alias("__entry"),
        )
        .explode(MEDS, "__entry")
        .unnest(MEDS)
        # Medication.taken_by and .active_on (both ends count; an unknown start counts as started), and dosed.
        .filter(
            (pl.col("started").is_null() | (pl.col("started") <= as_of))
            & (pl.col("stopped").is_null() | (pl.col("stopped") >= as_of))
            & pl.col("dose").is_not_null()
            & pl.col("per").is_not_null()
            & pl.col("agent").is_not_null()
        )
        .collect()
    )
    if not entries.height:
        return empty, []
    rx_cols = ["agent", "dose", "per", "route", "indication"]
    distinct = entries.select(rx_cols).unique(maintain_order=True)
    table: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    names: list[dict[str, Any]] = []
    kept: dict[int, dosing.DoseIntervals] = {}  # by id(), alive while their ids are in the frame
    for rx, row in enumerate(distinct.iter_rows(named=True)):
        med = medication_of({**row, "started": None, "stopped": None, "cumulative": None}, 0)
        for step in steps:
            if not names_agent(step.rule, med.agent):
                continue
            names.append({**row, "__rx": rx, "__step": step.index})
            iv = dosing.medication_intervals(step.rule, med, guideline=step.guideline)
            label = f"{med.agent} {iv.given}"
            for cell in (iv.unknown, *iv.intervals):
                entry = {
                    "__rx": rx,
                    "__step": step.index,
                    "__lower": cell.lower,
                    "__verdict": cell.verdict.value,
                    "__reports": cell.reporter == step.rule.id,
                    "__banded": cell.renal_band is not None,
                    "__missing": list(dict.fromkeys(measured.get(f, f) for f in cell.missing)),
                    "label": label,
                    "__id": id(iv),
                }
                (unknown if cell is iv.unknown else table).append(entry)
                kept[id(iv)] = iv
    if not names:
        return empty, []
    naming = pl.DataFrame(names, schema={**{c: pl.String() for c in rx_cols}, "__rx": pl.Int64(), "__step": pl.Int64()})
    joined = entries.join(naming, on=rx_cols, how="inner", nulls_equal=True)
    # Duplicate therapy: more than one dosed current entry naming one rule sends the patient per row.
    dup = joined.group_by(ROW, "__step").len().filter(pl.col("len") > 1)[ROW].unique().to_list()
    # On dialysis, where the source puts dialysis in an avoid row, the verdict is not a function of CrCl: per row.
    deciding = [s.index for s in steps if dosing.dialysis_decides(s.rule, s.guideline)]
    if deciding:
        dialysed = joined.filter((pl.col("__dialysis") == True) & pl.col("__step").is_in(deciding))  # noqa: E712
        dup = sorted({*dup, *dialysed[ROW].unique().to_list()})
    if dup:
        joined = joined.filter(~pl.col(ROW).is_in(dup))
    schema = {
        "__rx": pl.Int64(),
        "__step": pl.Int64(),
        "__lower": pl.Float64(),
        "__verdict": pl.String(),
        "__reports": pl.Boolean(),
        "__banded": pl.Boolean(),
        "__missing": pl.List(pl.String()),
        "label": pl.String(),
        "__id": pl.Int64(),
    }
    cells = pl.DataFrame(table, schema=schema).sort("__lower")
    known = joined.filter(pl.col("__crcl").is_not_null()).sort("__crcl")
    looked = known.join_asof(
        cells, left_on="__crcl", right_on="__lower", by=["__rx", "__step"], strategy="backward", check_sortedness=False
    )
    blind = joined.filter(pl.col("__crcl").is_null()).join(
        pl.DataFrame(unknown, schema=schema).drop("__lower"), on=["__rx", "__step"], how="inner"
    )
    if looked["__verdict"].null_count():  # pragma: no cover - the intervals start at 0 and CrCl is never negative
        raise AssertionError("a CrCl outside every dose interval")
    found = pl.concat([looked.drop("__lower"), blind], how="diagonal_relaxed")
    found = _weight_views(found, kept)
    # As _medcheck.evaluate: a single entry within range leaves no row unless a fact it depends on is missing.
    shown = (pl.col("__verdict") != dosing.Verdict.WITHIN.value) | (pl.col("__missing").list.len() > 0)
    rows = found.filter(pl.col("__reports") & shown)
    by_step = {s.index: s for s in steps}
    meta = pl.DataFrame(
        {
            "__step": [s.index for s in steps],
            "guideline": [s.guideline.id for s in steps],
            "version": [s.guideline.version for s in steps],
            "rule": [s.rule.id for s in steps],
            "kind": [s.rule.kind for s in steps],
            "rule_status": [str(s.rule.status) for s in steps],
        }
    )
    assert set(rows["__step"].unique().to_list()) <= set(by_step)
    out = (
        rows.join(meta, on="__step", how="left")
        .select(
            pl.col(ROW),
            pl.col(ID),
            "guideline",
            "version",
            "rule",
            "kind",
            "rule_status",
            pl.col("__verdict").alias("status"),
            pl.lit(None, dtype=pl.Date).alias("due"),
            pl.lit(None, dtype=pl.Date).alias("due_by"),
            pl.lit(None, dtype=pl.Int64).alias("overdue_days"),
            pl.col("__missing").alias("missing"),
            "label",
            pl.lit("columnar").alias("evaluated"),
            "__step",
        )
        .sort(ROW, "__step")
    )
    return out.cast(_OUT_SCHEMA), dup


def _weight_views(found: pl.DataFrame, kept: Mapping[int, dosing.DoseIntervals]) -> pl.DataFrame:
    """A heavy patient's verdict within range at CrCl from actual weight may be "weight-dependent" (as ``assess``)."""
    heavy = (
        pl.col("__reports")
        & pl.col("__banded")
        & (pl.col("__verdict") == dosing.Verdict.WITHIN.value)
        & pl.all_horizontal([pl.col(c).is_not_null() for c in ("__crcl", *_WEIGHT_INPUTS)])
    )
    found = found.with_row_index("__at")
    maybe = found.filter(heavy)
    if not maybe.height:
        return found.drop("__at")
    changed: list[int] = []
    for r in maybe.select("__at", "__id", "__crcl", "__dialysis", *_WEIGHT_INPUTS).iter_rows(named=True):
        # dialysis too: there a CrCl is always given (never derived), so no weight view applies
        values = {k: r[k] for k in _WEIGHT_INPUTS} | {"crcl": r["__crcl"], "dialysis": r["__dialysis"]}
        alternatives = dosing.weight_alternatives(values)
        if alternatives and kept[r["__id"]].verdict_at(r["__crcl"], alternatives) is dosing.Verdict.WEIGHT_DEPENDENT:
            changed.append(r["__at"])
    if changed:
        found = found.with_columns(
            pl.when(pl.col("__at").is_in(changed))
            .then(pl.lit(dosing.Verdict.WEIGHT_DEPENDENT.value))
            .otherwise(pl.col("__verdict"))
            .alias("__verdict")
        )
    return found.drop("__at")


_OUT_SCHEMA: dict[Any, Any] = {**RESULT_SCHEMA, "__step": pl.Int64()}
