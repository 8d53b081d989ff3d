"""JSON Schema of the patient input, generated from the fact vocabulary.

The schema describes exactly what :meth:`neuroguide.Patient.from_dict` accepts:
the top-level patient fields, and under ``findings``, ``measurements`` and
``last`` every fact name of the vocabulary that a caller may give. It is built
from the same vocabulary files the parser reads, so it cannot drift from them.
Unit conversion and the plausibility check of quantities happen in the parser
(a schema cannot express "convertible to mg/dL"); the schema states the
canonical unit and the accepted range of each quantity in ``x-unit`` and
``x-range``.
"""

from __future__ import annotations

from typing import Any

from ._limits import LIMITED
from ._plausible import span
from ._vocabulary import FactSpec, vocabulary

__all__ = ["SCHEMA_DIALECT", "patient_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# A number followed by a unit symbol, e.g. "350 ug" or "1.4 mg/dL" (the parser checks the unit itself).
_QUANTITY_PATTERN = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\S.*$"
# The same, optionally after a comparator (a result known only as below or above a limit: "<150 pg/mL").
_LIMIT_PATTERN = r"^\s*(<=|>=|<|>)?\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\S.*$"
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
# Kept in step with neuroguide.patient (its private constants); a test checks the parser accepts the example.
_DIABETES_TYPES = ["type-1", "type-2", "other"]
_PERIODS = ["day", "week", "month"]


def _describe(spec: FactSpec) -> str:
    parts = [spec.label + "."]
    if spec.obtain:
        parts.append(f"How to obtain: {spec.obtain}")
    if spec.derived:
        parts.append(f"Derived when not given: {spec.derived}")
    return " ".join(parts)


def _finding(spec: FactSpec) -> dict[str, Any]:
    return {"type": ["boolean", "null"], "title": spec.label, "description": _describe(spec)}


def _measurement(spec: FactSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"title": spec.label, "description": _describe(spec)}
    if spec.type == "number":
        out["type"] = ["integer", "null"] if spec.integer else ["number", "null"]
        if spec.low is not None:
            out["minimum"] = spec.low
        if spec.high is not None:
            out["maximum"] = spec.high
        return out
    out["type"] = ["string", "null"]
    out["pattern"] = _QUANTITY_PATTERN
    if spec.name in LIMITED:
        out["pattern"] = _LIMIT_PATTERN
        out["description"] += (
            " A result beyond the laboratory's limit may be written with its comparator ('<150 pg/mL'); it decides "
            "every threshold lying wholly on one side of it, and the assessment flags each threshold it leaves "
            "undecided."
        )
    out["x-unit"] = spec.unit
    if spec.analyte:
        out["x-analyte"] = spec.analyte
    if spec.low is not None and spec.high is not None:
        out["x-range"] = [spec.low, spec.high]
        out["description"] += f" Accepted range: {spec.low:g} to {spec.high:g} {spec.unit} (after conversion)."
    return out


def patient_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a patient input dict.

    Returns:
        A new dict on every call (callers may modify it). Unknown keys are not
        allowed anywhere (``additionalProperties: false``), matching the parser,
        which refuses unknown fields rather than dropping them.

    Raises:
        GuidelineDataError: a vocabulary file is invalid.

    """
    vocab = vocabulary()
    inputs = {name: spec for name, spec in sorted(vocab.items()) if spec.is_input}
    findings = {name: _finding(spec) for name, spec in inputs.items() if spec.type == "boolean"}
    measurements = {name: _measurement(spec) for name, spec in inputs.items() if spec.type in ("quantity", "number")}
    last = {
        name.removeprefix("last-"): {**_DATE, "type": ["string", "null"], "title": spec.label}
        for name, spec in inputs.items()
        if spec.type == "date" and name.startswith("last-")
    }
    quantity = {"type": ["string", "null"], "pattern": _QUANTITY_PATTERN}
    nullable_date = {**_DATE, "type": ["string", "null"]}
    medication = {
        "type": "object",
        "additionalProperties": False,
        "required": ["agent"],
        "properties": {
            "agent": {"type": "string", "pattern": r"\S", "description": "Drug name, synonym or RxNorm code."},
            "dose": {**quantity, "description": "Amount given per `per` period, e.g. '350 ug'."},
            "per": {"enum": [*_PERIODS, None], "description": "Required when `dose` is given."},
            "route": {"type": ["string", "null"], "description": "e.g. oral, intramuscular, intravenous."},
            "started": {**nullable_date, "description": "First day of therapy."},
            "stopped": {**nullable_date, "description": "Last day of therapy (absent: still taking it)."},
            "cumulative": {**quantity, "description": "Total exposure so far: a mass or a mass per area (mg/m2)."},
            "indication": {"type": ["string", "null"]},
        },
        # A dose needs the period it is given per.
        "if": {"required": ["dose"], "properties": {"dose": {"type": "string"}}},
        "then": {"required": ["per"], "properties": {"per": {"enum": _PERIODS}}},
    }
    age = span("age")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "urn:neuroguide:patient-input",
        "title": "neuroguide patient input",
        "description": (
            "What neuroguide.assess() and `neuroguide assess FILE` accept. A finding or measurement not given "
            "(or null) is unknown, never assumed normal. One exception, by design: `diabetes` absent or null "
            "means no diabetes diagnosis is recorded, so the pathway recommends screening for diabetes. The "
            "medication list is taken as complete. Dates are YYYY-MM-DD and may not lie after the evaluation date."
        ),
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "id": {
                "type": ["string", "null"],
                "description": "Caller's identifier, copied into the evaluation record.",
            },
            "birth_date": {**nullable_date, "description": "Date of birth (preferred over age)."},
            "age": {
                "type": ["number", "null"],
                "minimum": age.low,
                "maximum": age.high,
                "description": "Age in years.",
            },
            "sex": {"enum": ["female", "male", None], "description": "Sex as used by the Cockcroft-Gault equation."},
            "diabetes": {
                "type": ["object", "null"],
                "description": (
                    "A diabetes diagnosis: type and date (absent or null: no diagnosis recorded, so screening "
                    "for diabetes is recommended)."
                ),
                "additionalProperties": False,
                "required": ["type", "diagnosed"],
                "properties": {"type": {"enum": _DIABETES_TYPES}, "diagnosed": _DATE},
            },
            "findings": {
                "type": "object",
                "description": "Yes/no findings by fact name (true, false, or null for explicitly unknown).",
                "additionalProperties": False,
                "properties": findings,
            },
            "measurements": {
                "type": "object",
                "description": "Measurements by fact name: quantity strings with units, or numbers for ratios.",
                "additionalProperties": False,
                "properties": measurements,
            },
            "last": {
                "type": "object",
                "description": "Dates of the last assessments, by name (e.g. neuropathy-exam).",
                "additionalProperties": False,
                "properties": last,
            },
            "medications": {
                "type": "array",
                "description": "Medications taken now or before, with dose, period and dates.",
                "items": medication,
            },
        },
    }
