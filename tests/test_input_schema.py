"""The published JSON Schema and the patient parser accept the same inputs.

Two properties, with hypothesis (a small schema-to-strategy translator below
covers the keywords the patient schema uses; hypothesis-jsonschema 0.23 does
not run on current hypothesis):

* everything the parser accepts is valid against the schema (so a caller who
  validates with the schema never refuses a patient neuroguide would take);
* everything valid against the schema is accepted by the parser, once the schema's
  quantity strings are narrowed to real quantities (a schema cannot say
  "convertible to mg/dL": that is what ``x-unit`` and ``x-range`` document).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide.schema import patient_schema

SCHEMA = patient_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _narrowed() -> dict[str, Any]:
    """The schema with every quantity pattern replaced by real quantities inside its range."""
    schema = copy.deepcopy(SCHEMA)
    for prop in schema["properties"]["measurements"]["properties"].values():
        if "x-unit" in prop:
            low, high = prop["x-range"]
            unit = prop["x-unit"]
            prop.pop("pattern")
            prop["enum"] = [f"{(low + high) / 2:g} {unit}", f"{high:g} {unit}", None]
    med = schema["properties"]["medications"]["items"]["properties"]
    med["dose"] = {"enum": ["300 mg", "1 g", "350 ug", "1000 IU", None]}
    med["cumulative"] = {"enum": ["600 mg/m2", "2 g", None]}
    med["stopped"] = {"type": "null"}  # "on or after started" is a cross-field rule a schema cannot state
    med["agent"] = {"enum": ["gabapentin", "metformin", "unobtainium"]}
    schema["properties"]["id"] = {"type": ["string", "null"], "pattern": "^[a-z0-9-]*$"}
    return schema


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Instances of the JSON Schema subset the patient schema uses."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    options = [_typed(t, schema) for t in types]
    return st.one_of(*options)


def _typed(kind: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", -1e6), schema.get("maximum", 1e6)
        if kind == "integer":
            return st.integers(int(low), int(high))
        return st.floats(low, high, allow_nan=False)
    if kind == "string":
        if schema.get("format") == "date":
            return st.dates().map(lambda d: d.isoformat())
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(max_size=10)
    if kind == "array":
        return st.lists(from_schema(schema["items"]), max_size=3)
    assert kind == "object", kind
    props = {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
    required = set(schema.get("required", ()))
    then = schema.get("then", {}).get("required", [])
    base = st.fixed_dictionaries(
        {k: v for k, v in props.items() if k in required},
        optional={k: v for k, v in props.items() if k not in required},
    )
    if then:  # if a dose is given, the period it is given per must be too
        base = base.filter(lambda d: not isinstance(d.get("dose"), str) or d.get("per") is not None)
    return base


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(from_schema(_narrowed()))
def test_schema_valid_patients_are_accepted(data: dict[str, Any]) -> None:
    VALIDATOR.validate(data)
    ng.Patient.from_dict(data)


_VALUES: list[Any] = [
    None, True, 0, 1, 2.5, -1, 121, 45.5, "", " ", "x", "male", "Male", "1960-01-01", "2023-02-29", "20240101",
    "70 kg", "70", "1.0 mg/dL", "7 %", "48 mmol/mol", "300 mg(", [], {}, ["a"], {"type": "type-2"},
]  # fmt: skip
_KEYS = ["id", "birth_date", "age", "sex", "diabetes", "nickname"]
_MEASURES = ["weight", "hba1c", "abi", "iwgdf-category", "serum-creatinine", "wieght"]
_MEDS = ["agent", "dose", "per", "route", "started", "stopped", "cumulative", "indication", "frequency"]
_value = st.sampled_from(_VALUES)
_patients = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(_KEYS, _value),
        "findings": st.dictionaries(st.sampled_from(["numbness", "tingling", "numbnes", "weight"]), _value),
        "measurements": st.dictionaries(st.sampled_from(_MEASURES), _value),
        "last": st.dictionaries(st.sampled_from(["foot-exam", "b12-test", "toe-exam"]), _value),
        "medications": st.lists(st.dictionaries(st.sampled_from(_MEDS), _value), max_size=2),
    },
)


@settings(max_examples=300, deadline=None)
@given(_patients)
def test_what_the_parser_accepts_the_schema_accepts(data: dict[str, Any]) -> None:
    try:
        ng.Patient.from_dict(data)
    except ng.InputError:
        return
    errors = [e.message for e in VALIDATOR.iter_errors(data)]
    assert errors == [], f"the parser accepted {data!r}, the schema refused it: {errors}"


@pytest.mark.parametrize(
    "data",
    [
        {"age": 121},
        {"birth_date": "20240101"},
        {"medications": [{"agent": " "}]},
        {"medications": [{"agent": "x", "dose": "1 mg"}]},
        {"measurements": {"iwgdf-category": 2.5}},
    ],
)
def test_schema_and_parser_refuse_the_same_edge_cases(data: dict[str, Any]) -> None:
    assert list(VALIDATOR.iter_errors(data))
    with pytest.raises(ng.InputError):
        ng.Patient.from_dict(data)


def test_every_problem_is_reported_at_once() -> None:
    bad = {
        "age": "old",
        "sex": "M",
        "findings": {"numbnes": True},
        "measurements": {"weight": "70 kg(", "hba1c": "58 %"},
        "medications": [{"agent": "gabapentin", "dose": "-1 mg"}],
    }
    with pytest.raises(ng.InputError) as info:
        ng.Patient.from_dict(bad)
    text = str(info.value)
    for field in ("age", "sex", "findings.numbnes", "measurements.weight", "measurements.hba1c", "medications[0].dose"):
        assert field in text
    assert "medications[0].per" in text
    assert len(info.value.problems) == 7  # type: ignore[attr-defined]


def test_duplicate_keys_are_named_by_path() -> None:
    text = '{"medications": [{"agent": "oxaliplatin", "cumulative": "1200 mg/m2"}], "medications": []}'
    with pytest.raises(ng.InputError, match="medications: got"):
        ng.Patient.from_json(text)
    with pytest.raises(ng.InputError, match=r"medications\[0\]\.dose"):
        ng.Patient.from_json('{"medications": [{"agent": "a", "dose": "1 mg", "dose": "2 mg", "per": "day"}]}')
