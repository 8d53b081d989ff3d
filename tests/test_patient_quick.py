"""The quick reading of well-formed patient documents gives exactly what the full reading gives.

``Patient.from_dict`` and ``Patient.from_json`` first try a quick reading that accepts only well-formed
documents and hands every other document to the full reading (``patient._parse_checked``, kept as the
reference). These tests compare the public functions with the reference over generated documents, most of
them broken on purpose: the same patient (fields, units, canonical values, plain form, derived flags) or the
same error (class, message, every listed problem).
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import _jsonin, patient
from neuroguide._facts import derive_flagged
from neuroguide._vocabulary import vocabulary
from strategies import patients

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 23)
VOCAB = vocabulary()
QUANTITY_NAMES = sorted(n for n, s in VOCAB.items() if s.type == "quantity")
NUMBER_NAMES = sorted(n for n, s in VOCAB.items() if s.type == "number")
BOOLEAN_NAMES = sorted(n for n, s in VOCAB.items() if s.type == "boolean")
LAST_NAMES = sorted(n[5:] for n in VOCAB if n.startswith("last-"))
UNITS = ["", "mg/dL", "umol/L", "mmol/L", "%", "mmol/mol", "kg", "lb", "g", "cm", "in", "m", "ng/L", "pg/mL"]
UNITS += ["pmol/L", "mmHg", "week", "day", "month", "mL/min", "mg", "ug", "IU", "mg/m2", "g/m2", "mL", "furlong"]
NAMES = st.sampled_from([*VOCAB, *LAST_NAMES, "purple-toes", "", "Weight", "last-foot-exam"])


def _outcome(read: Callable[[], ng.Patient]) -> tuple[str, Any]:
    """What a reading gives, in a form two readings can be compared by (errors as class, text and problems)."""
    try:
        p = read()
    except Exception as exc:  # any outcome, error or not, must be the same
        problems = [(type(e).__name__, str(e), e.args) for e in getattr(exc, "problems", ())]
        return "error", (type(exc).__name__, str(exc), exc.args, problems)
    return "patient", _shape(p)


def _shape(p: ng.Patient) -> Any:
    fields = {a.name: getattr(p, a.name) for a in attrs.fields(ng.Patient) if a.name != "_plain"}
    typed: dict[str, list[tuple[Any, ...]]] = {
        "measurements": [(n, type(v).__name__, v, getattr(v, "_u", None)) for n, v in p.measurements.items()]
    }
    for k in ("findings", "last", "normalized"):
        typed[k] = [(n, type(v).__name__, v) for n, v in getattr(p, k).items()]
    try:
        facts, flags = derive_flagged(p, AS_OF)
    except ng.InputError as exc:  # e.g. a date before the birth date: refused when assessed, alike
        derived: Any = (type(exc).__name__, str(exc))
    else:
        derived = ([str(f) for f in flags], sorted(facts.items(), key=str))
    return fields, typed, p.to_dict(), derived


def _same(doc: Any) -> None:
    reference = _outcome(lambda: patient._parse_checked(doc))
    assert _outcome(lambda: ng.Patient.from_dict(doc)) == reference
    quick = patient._quick_patient(doc)
    if quick is not None:  # never a patient where the full reading refuses the document
        assert reference[0] == "patient"
        assert _shape(quick) == reference[1]


def _reference_loads(text: str) -> Any:
    """JSON reading as 0.1.0 did it: every object remembers its repeated keys (a leading BOM ignored, as since 0.2)."""
    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text, object_pairs_hook=_jsonin._object, parse_int=_jsonin._int)
    except json.JSONDecodeError as exc:
        raise ng.InputError(
            "patient", text[:80], f"valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ng.InputError("patient", text[:80], "JSON nested to a reasonable depth (nested too deeply)") from None
    ng.exceptions.raise_all(_jsonin._duplicates(data))
    return data


def _same_text(text: str) -> None:
    reference = _outcome(lambda: patient._parse_checked(_reference_loads(text)))
    assert _outcome(lambda: ng.Patient.from_json(text)) == reference


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 400),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=3),  # lone surrogates
    st.sampled_from(["2020-02-29", "2021-02-29", "1900-01-01", "2020-1-1", "2020-01-01\n", "2020-01-01T00:00"]),
    st.sampled_from(["1970-01-01", "9999-12-31", "2030-01-01", " 2020-01-01", "type-1", "type-2", "female", "x"]),
    st.builds(
        "{} {}".format,
        st.sampled_from([0, -1, 0.5, 1e-300, 1e300, 7.4, 58, 88, 1000, "1e400", "nan"]),
        st.sampled_from(UNITS),
    ),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(NAMES, st.text(max_size=3)), inner, max_size=3),
        st.tuples(inner, inner),
    ),
    max_leaves=6,
)


def _measurement(spec_name: str) -> st.SearchStrategy[Any]:
    """Values of one measurement: mostly in its own unit at and beside its limits, sometimes anything."""
    spec = VOCAB[spec_name]
    edges = [v for v in (spec.low, spec.high) if v is not None]
    near = [*edges, *(e * 1.0001 + 1e-6 for e in edges), *(e * 0.9999 - 1e-6 for e in edges), 1.5, 2, 7.4, 70]
    numbers = st.one_of(st.sampled_from(near), st.floats(-10, 2000, allow_nan=False))
    units = st.one_of(st.just(spec.unit or ""), st.sampled_from(UNITS))
    text = st.builds("{} {}".format, numbers, units)
    return st.one_of(text, text, numbers, VALUES) if spec.type == "quantity" else st.one_of(numbers, text, VALUES)


# Values each medication field is likely to be given, right and wrong.
MEDICATION_VALUES = {
    "agent": ["metformin", "gabapentin", " ", "", "B12", "vitamin B12 "],
    "dose": ["300 mg", "0 mg", "-5 mg", "1000 ug", "5000 IU", "5 mL", "2 g", "300 mg/day", "300"],
    "per": ["day", "week", "month", "fortnight", "Day"],
    "route": ["oral", "IM", ""],
    "started": ["2020-01-01", "2019-12-31", "2020-02-30", "1900-01-01", "2030-01-01"],
    "stopped": ["2020-01-01", "2019-12-31", "2021-06-30"],
    "cumulative": ["600 mg/m2", "0 mg/m2", "-1 mg", "2 g", "5 mL", "850 mg/m2"],
    "indication": ["dpn", "postherpetic neuralgia"],
}


@st.composite
def medications(draw: st.DrawFn) -> dict[str, Any]:
    med: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from([*MEDICATION_VALUES, "dose ", "freq"]), max_size=5)):
        likely = MEDICATION_VALUES.get(key, ["x"])
        med[key] = draw(st.one_of(st.sampled_from(likely), st.sampled_from(likely), VALUES))
    return med


def _part(doc: dict[Any, Any], key: str, kind: type) -> Any:
    if not isinstance(doc.get(key), kind):
        doc[key] = kind()
    return doc[key]


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A generated patient document, valid or broken in up to three places."""
    doc: dict[Any, Any] = draw(patients())
    for kind in draw(st.lists(st.sampled_from(range(10)), max_size=3)):
        if kind == 0:
            doc[draw(st.sampled_from([*patient._TOP, "medication", "notes", "Age"]))] = draw(VALUES)
        elif kind == 1:
            _part(doc, "findings", dict)[draw(st.one_of(NAMES, st.sampled_from(BOOLEAN_NAMES)))] = draw(VALUES)
        elif kind in (2, 3):
            name = draw(st.sampled_from([*QUANTITY_NAMES, *NUMBER_NAMES]))
            _part(doc, "measurements", dict)[name] = draw(_measurement(name))
        elif kind == 4:
            _part(doc, "measurements", dict)[draw(NAMES)] = draw(VALUES)
        elif kind == 5:
            _part(doc, "last", dict)[draw(st.one_of(NAMES, st.sampled_from(LAST_NAMES)))] = draw(VALUES)
        elif kind == 6:
            doc["diabetes"] = {
                **(doc["diabetes"] if isinstance(doc.get("diabetes"), dict) else {}),
                draw(st.sampled_from(["type", "diagnosed", "x"])): draw(VALUES),
            }
        elif kind in (7, 8):
            _part(doc, "medications", list).append(draw(medications()))
        else:
            doc[draw(st.sampled_from(["findings", "measurements", "last", "medications", "diabetes"]))] = draw(VALUES)
    wrap = draw(st.sampled_from(["dict", "dict", "dict", "proxy", "list"]))
    if wrap == "proxy":
        return types.MappingProxyType(doc)
    return [doc] if wrap == "list" else doc


@settings(max_examples=250)
@given(documents())
def test_from_dict_is_the_full_reading(doc: Any) -> None:
    _same(doc)


@settings(max_examples=100)
@given(documents())
def test_from_json_is_the_full_reading(doc: Any) -> None:
    try:
        text = json.dumps(doc)
    except (TypeError, ValueError):  # a mapping proxy is not JSON
        return
    _same_text(text)


BASE: dict[str, Any] = {
    "id": "p1",
    "birth_date": "1960-05-01",
    "sex": "female",
    "diabetes": {"type": "type-2", "diagnosed": "2015-03-01"},
    "findings": {"monofilament-abnormal": True, "claudication": False, "numbness": None},
    "measurements": {"serum-creatinine": "1.2 mg/dL", "weight": "72 kg", "abi": 0.8, "iwgdf-category": 2},
    "last": {"neuropathy-exam": "2025-10-01"},
    "medications": [
        {"agent": "metformin", "dose": "2000 mg", "per": "day", "started": "2016-01-01", "route": "oral"},
        {"agent": "oxaliplatin", "cumulative": "600 mg/m2", "started": "2024-01-01", "stopped": "2024-06-01"},
    ],
}
ONE_WRONG: list[tuple[str, Any]] = [
    ("id", 5),
    ("id", "p\udc80"),
    ("age", 121),
    ("age", True),
    ("sex", "Female"),
    ("birth_date", "1960-5-1"),
    ("birth_date", "1960-02-30"),
    ("birth_date", "1900-01-01"),
    ("diabetes", {"type": "type-2"}),
    ("diabetes", {"type": "type-2", "diagnosed": "2015-03-01", "since": 3}),
    ("findings", {"monofilament-abnormal": "yes"}),
    ("findings", {"crcl": True}),
    ("findings", {"lops": True}),
    ("findings", {"weight": True}),
    ("measurements", {"weight": "600 kg"}),
    ("measurements", {"weight": "0.4 kg"}),
    ("measurements", {"weight": "72"}),
    ("measurements", {"weight": 72}),
    ("measurements", {"weight": "72 mg/dL"}),
    ("measurements", {"weight": "159 lb"}),
    ("measurements", {"serum-creatinine": "106 umol/L"}),
    ("measurements", {"serum-creatinine": "106 mg/dL"}),
    ("measurements", {"hba1c": "58 mmol/mol"}),
    ("measurements", {"hba1c": "58 umol/L"}),
    ("measurements", {"hba1c": "0.074"}),
    ("measurements", {"hba1c": "74 %"}),
    ("measurements", {"iwgdf-category": 1.5}),
    ("measurements", {"iwgdf-category": 4}),
    ("measurements", {"abi": "0.8"}),
    ("measurements", {"abi": 3.5}),
    ("measurements", {"diabetes-duration": "3 year"}),
    ("measurements", {"crcl": "45 mL/min"}),
    ("last", {"toe-exam": "2025-01-01"}),
    ("last", {"foot-exam": None}),
    ("last", {"foot-exam": "2025-13-01"}),
    ("medications", {"agent": "x"}),
    ("medications", [{"agent": "x", "dose": "1 mg"}]),
    ("medications", [{"agent": "x", "dose": "0 mg", "per": "day"}]),
    ("medications", [{"agent": "x", "dose": "5 mL", "per": "day"}]),
    ("medications", [{"agent": "x", "dose": "5000 IU", "per": "week"}]),
    ("medications", [{"agent": "x", "dose": "300 mg/day", "per": "day"}]),
    ("medications", [{"agent": "x", "dose": "1 mg", "per": "fortnight"}]),
    ("medications", [{"agent": "x", "cumulative": "5 mL"}]),
    ("medications", [{"agent": "x", "cumulative": "-1 mg"}]),
    ("medications", [{"agent": "x", "cumulative": "0 g"}]),
    ("medications", [{"agent": "x", "started": "2020-01-02", "stopped": "2020-01-01"}]),
    ("medications", [{"agent": "x", "started": "2020-01-01", "stopped": "2020-01-01"}]),
    ("medications", [{"agent": "x", "route": 3}]),
    ("medications", [{"agent": " x\u00e9 ", "route": "IM", "indication": "dpn"}]),
    ("medications", [{"agent": "x\ud800"}]),
    ("medications", [{"agent": "x", "route": "\udfff"}]),
    ("medications", [{"agent": "x", "notes": "y"}]),
    ("medications", [{"agent": None}]),
    ("medications", [{"agent": "x", "dose": None, "per": None}]),
    ("medications", [{"agent": " "}]),
    ("medications", [{"agent": ""}]),
    ("measurements", {"hba1c": "740 ppm"}),
    ("measurements", {"hba1c": "74 permille"}),
    ("nickname", "Bob"),
]


@pytest.mark.parametrize(("key", "value"), ONE_WRONG, ids=lambda v: repr(v)[:30])
def test_each_check_of_the_full_reading_is_kept(key: str, value: Any) -> None:
    doc = json.loads(json.dumps(BASE))
    doc[key] = json.loads(json.dumps(value))
    _same(doc)
    _same_text(json.dumps(doc))


@settings(max_examples=150)
@given(patients(), st.sampled_from(ONE_WRONG))
def test_a_generated_patient_with_one_odd_field_is_read_alike(doc: dict[str, Any], change: tuple[str, Any]) -> None:
    key, value = change
    if isinstance(value, dict) and isinstance(doc.get(key), dict):
        value = {**doc[key], **value}
    elif isinstance(value, list) and isinstance(doc.get(key), list):
        value = [*doc[key], *value]
    doc[key] = value
    _same(doc)


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.json")), ids=lambda p: p.stem)
def test_examples_read_quickly_and_alike(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert patient._quick_patient(doc) is not None  # the examples are the common case the quick reading is for
    _same(doc)
    _same_text(path.read_text(encoding="utf-8"))


def _cases() -> list[Any]:
    data = json.loads((ROOT / "tests" / "data" / "bad_inputs" / "patient.json").read_text(encoding="utf-8"))
    return [c for c in data["cases"] if isinstance(c.get("text"), str)]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_bad_inputs_are_refused_alike(case: Mapping[str, Any]) -> None:
    _same_text(case["text"])


@pytest.mark.parametrize(
    "text",
    [
        '{"findings": {"numbness": true, "numbness": false}}',
        '{"medications": [{"agent": "x", "agent": "y"}], "last": {"foot-exam": "2020-01-01", "foot-exam": null}}',
        '{"id": "a", "id": "b", "measurements": {"weight": "70 kg", "weight": "71 kg"}}',
        '{"diabetes": {"type": "type-1", "diagnosed": "2001-01-01", "type": "type-2"}}',
        '{"age": 1' + "0" * 120 + "}",
        '{"id": "\\ud800"}',
        '{"findings": {"\\udc00": true}}',
        '{"medications": [{"agent": "metformin\\udfff", "dose": "500 mg", "per": "day"}]}',
    ],
)
def test_repeated_keys_and_odd_text_are_named_alike(text: str) -> None:
    _same_text(text)


def test_a_patient_built_quickly_is_a_whole_patient() -> None:
    doc = json.loads((ROOT / "examples" / "t2d-metformin.json").read_text(encoding="utf-8"))
    quick = patient._quick_patient(doc)
    full = patient._parse_checked(doc)
    assert quick is not None
    assert quick == full
    assert quick.normalized == full.normalized
    assert quick.plain() == full.plain()
    assert repr(quick) == repr(full)
    again = pickle.loads(pickle.dumps(quick))  # e.g. sent to a cohort worker
    assert again == full
    assert again.normalized == full.normalized
    assert attrs.evolve(quick, id="other").normalized == full.normalized
