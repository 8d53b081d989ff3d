"""The quicker FHIR conformance check refuses exactly what the library's whole check refuses, with the same reason.

``_fhircheck.conformance`` first checks a resource with its elements (each CodeableConcept, Reference, Quantity...)
validated by their own model and remembered by exact content, and a resource whose shape (its keys and the kind of
JSON value each holds) has passed the whole model before by its elements and its primitives alone; a resource it
does not accept goes through the whole check (``_fhircheck.whole_check``, the library validating the JSON text),
which gives the reason. These tests compare the two over the vendored eCQM deck, the FHIR examples, the service's
bad-request cases and mutations of each, most of them after the original's shape is known.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import orjson

from neuroguide import _fhircheck, fhir
from neuroguide.fhir import NoteKind

ROOT = Path(__file__).resolve().parents[1]
DECK = ROOT / "tests" / "conformance" / "decks" / "ecqm_cms122"
READ = ("Patient", "Condition", "Observation", "MedicationStatement", "MedicationRequest", "Procedure", "Encounter")
ODD: list[Any] = [None, True, 0, -3, 2.5, "", "x", "2026-13-40", [], [None], {}, {"bogus": 1}, [{"bogus": 1}]]


def _resources() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted([*DECK.rglob("*.json"), *(ROOT / "examples" / "fhir").glob("*.json")]):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "resourceType" in data:
            fhir._flatten(data, path.name, found)
    return [r for r in found if r.get("resourceType") in READ]


RESOURCES = _resources()


def _both(res: dict[str, Any]) -> tuple[Any, Any]:
    text = orjson.dumps(res)
    kind = str(res["resourceType"])
    return _fhircheck.conformance.__wrapped__(kind, text), _fhircheck.whole_check(kind, text)


def _mutations(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Each top-level field and each field of each element set to values of the wrong (and right) JSON types."""
    out = []
    for key, value in res.items():
        if key == "resourceType":
            continue
        out += [{**res, key: odd} for odd in ODD]
        inner = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value
        if isinstance(inner, dict):
            for sub in inner:
                for odd in (None, 7, "x", [None], {"bogus": 1}):
                    changed = {**inner, sub: odd}
                    out.append({**res, key: [changed, *value[1:]] if isinstance(value, list) else changed})
            out.append({**res, key: [{**inner, "bogus": 1}] if isinstance(value, list) else {**inner, "bogus": 1}})
        out.append({k: v for k, v in res.items() if k != key})  # a field left out (required ones must be missed)
    return out


def test_the_corpus_is_the_deck_and_the_examples() -> None:
    kinds = {r["resourceType"] for r in RESOURCES}
    assert len(RESOURCES) > 300 and {"Patient", "Condition", "Observation", "Procedure"} <= kinds


def test_every_deck_and_example_resource_gets_the_same_verdict() -> None:
    for res in RESOURCES:
        quick, whole = _both(res)
        assert quick == whole, res.get("id")


@pytest.mark.parametrize("index", range(0, len(RESOURCES), 9))
def test_mutated_resources_are_refused_with_the_same_reason(index: int) -> None:
    _both(RESOURCES[index])  # its shape is known from here on
    for changed in _mutations(RESOURCES[index]):
        quick, whole = _both(changed)
        assert quick == whole, changed


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(RESOURCES) - 1), where=st.integers(0, 50), value=JSON, deep=st.booleans())
def test_any_json_value_anywhere_gets_the_same_verdict(index: int, where: int, value: Any, deep: bool) -> None:
    res = dict(RESOURCES[index])
    _both(res)  # its shape is known from here on
    keys = [k for k in res if k != "resourceType"]
    key = keys[where % len(keys)]
    target = res[key]
    if deep and isinstance(target, dict) and target:
        inner = list(target)
        res[key] = {**target, inner[where % len(inner)]: value}
    elif deep and isinstance(target, list) and target and isinstance(target[0], dict) and target[0]:
        inner = list(target[0])
        res[key] = [{**target[0], inner[where % len(inner)]: value}, *target[1:]]
    else:
        res[key] = value
    quick, whole = _both(res)
    assert quick == whole


def _observation(**changes: Any) -> dict[str, Any]:
    obs = {
        "resourceType": "Observation",
        "id": "same-id",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-01-01",
        "valueQuantity": {"value": 7.1, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
    }
    return {**obs, **changes}


def _notes(res: dict[str, Any]) -> list[str]:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}
    reading = fhir.read(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}, {"resource": res}]}
    )
    return [str(n) for n in reading.notes if n.kind is NoteKind.NONCONFORMANT]


def test_a_changed_resource_with_the_same_id_is_checked_again() -> None:
    assert _notes(_observation()) == []  # accepted, and its elements remembered
    changed = _observation(valueQuantity={"value": "seven", "unit": "%"})  # same id, an element now wrong
    notes = _notes(changed)
    assert len(notes) == 1 and "valueQuantity.value" in notes[0]
    assert _fhircheck.whole_check("Observation", orjson.dumps(changed)) is not None
    assert _notes(_observation(status=7)) != []  # a field of the resource itself, its elements all remembered
    assert _notes(_observation(subject={"reference": "Patient/p1", "bogus": 1})) != []
    assert _notes(_observation()) == []  # the original is still accepted


def test_a_resource_the_model_library_fails_on_is_reported_not_raised() -> None:
    odd = _observation(_status="1")  # the library parses the string as JSON, gets 1, and raises AttributeError
    notes = _notes(odd)
    assert len(notes) == 1 and "could not check it" in notes[0]


DATES = st.from_regex(
    r"[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,4})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?",
    fullmatch=True,
)


def _known_primitives(res: dict[str, Any]) -> list[str]:
    fields = _fhircheck._primitive_fields(_fhircheck.model_class(res["resourceType"])) or {}
    return [k for k in res if k in fields]


def test_resources_of_a_known_shape_are_checked_by_their_parts() -> None:
    """The shape path is taken (not only the whole model), and a wrong primitive in a known shape is still refused."""
    res = _observation(id="shape-1")
    assert _both(res) == (None, None)
    assert any(key[0] is _fhircheck.model_class("Observation") for key in _fhircheck._SHAPES)
    for key, bad in (("id", "has space"), ("effectiveDateTime", "2026-13-40"), ("status", ""), ("valueBoolean", 1)):
        quick, whole = _both({**res, key: bad})
        assert quick == whole and whole is not None, (key, bad)
    assert _both({**res, "id": "shape-2", "effectiveDateTime": "2025-02-28T10:00:00Z"}) == (None, None)


@settings(max_examples=400, deadline=None)
@given(index=st.integers(0, len(RESOURCES) - 1), where=st.integers(0, 50), data=st.data())
def test_a_known_shape_with_new_primitive_values_gets_the_same_verdict(index: int, where: int, data: Any) -> None:
    res = RESOURCES[index]
    _both(res)
    keys = _known_primitives(res)
    if not keys:
        return
    key = keys[where % len(keys)]
    old = res[key]
    if isinstance(old, bool):
        value: Any = data.draw(st.booleans())
    elif isinstance(old, int):
        value = data.draw(st.integers(-(2**40), 2**40))
    elif isinstance(old, str):
        value = data.draw(DATES | st.text(max_size=70) | st.sampled_from(["", " ", "final", "a b", "2026-02-29"]))
    else:
        value = data.draw(JSON)
    quick, whole = _both({**res, key: value})
    assert quick == whole, (key, value)


def test_a_model_with_rules_of_its_own_is_always_checked_whole() -> None:
    """The shape stands only for fhir_core's standard resource rules: any other rule means the whole model decides."""
    from pydantic import model_validator

    base = _fhircheck.model_class("Observation")
    assert _fhircheck._primitive_fields(base) is not None

    class WithRule(base):  # type: ignore[misc, valid-type]
        @model_validator(mode="after")
        def no_preliminary(self) -> Any:
            return self

    class OwnChoiceCheck(base):  # type: ignore[misc, valid-type]
        def _validate_one_of_many(self) -> None:
            return None

    assert _fhircheck._primitive_fields(WithRule) is None
    assert _fhircheck._primitive_fields(OwnChoiceCheck) is None
