"""A patient built with the constructor: its record replays, and unknown names are refused as from_dict refuses them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide._numeric import LIMITED
from neuroguide._vocabulary import vocabulary
from neuroguide.units import parse_quantity

AS_OF = dt.date(2026, 11, 1)
VOCAB = vocabulary()
MEASURED = sorted(n for n, s in VOCAB.items() if s.is_input and s.type in ("quantity", "number") and n != "age")
FINDINGS = sorted(n for n, s in VOCAB.items() if s.is_input and s.type == "boolean")
LAST = sorted(n[5:] for n in VOCAB if n.startswith("last-"))


def _replayed(patient: ng.Patient) -> ng.ReplayReport:
    """Assess, write the record as JSON text, read it back and replay it."""
    record = ng.assess(patient, as_of=AS_OF).record
    return ng.replay(json.loads(record.to_json()))


def test_bare_number_is_recorded_with_the_canonical_unit() -> None:
    patient = ng.Patient(measurements={"hba1c": 7.0, "abi": 0.8})
    written = ng.assess(patient, as_of=AS_OF).record.patient["measurements"]
    assert written["abi"] == 0.8  # a number fact stays a number
    # the unit is the vocabulary's, and the text reads back to the same value
    hba1c = parse_quantity(written["hba1c"])
    assert hba1c.magnitude == 7.0
    assert str(hba1c.units) == "percent"
    assert _replayed(patient).identical


def test_bare_number_limit_keeps_its_comparator() -> None:
    patient = ng.Patient(measurements={"b12-total": 150.0}, limits={"b12-total": "<"})
    assert patient.to_dict()["measurements"]["b12-total"].startswith("<150")
    assert _replayed(patient).identical


def test_whole_number_fact_refuses_a_fraction() -> None:
    with pytest.raises(ng.InputError, match="whole number"):
        ng.Patient(measurements={"iwgdf-category": 1.5})


@pytest.mark.parametrize(
    ("fields", "field", "hint"),
    [
        ({"findings": {"numbnes": True}}, "findings.numbnes", "did you mean numbness"),
        ({"last": {"b12test": dt.date(2026, 1, 1)}}, "last.b12test", "did you mean b12-test"),
        ({"measurements": {"hba1C": 7.0}}, "measurements.hba1C", "did you mean hba1c"),
    ],
)
def test_unknown_names_refused_like_from_dict(fields: dict[str, Any], field: str, hint: str) -> None:
    with pytest.raises(ng.InputError) as built:
        ng.Patient(**fields)
    plain = {k: {n: (v.isoformat() if isinstance(v, dt.date) else v) for n, v in m.items()} for k, m in fields.items()}
    with pytest.raises(ng.InputError) as read:
        ng.Patient.from_dict(plain)
    assert built.value.field == field
    assert hint in str(built.value)
    assert str(built.value) == str(read.value)


def test_derived_finding_refused() -> None:
    derived = next(n for n, s in VOCAB.items() if s.type == "boolean" and not s.is_input)
    with pytest.raises(ng.InputError, match="derived"):
        ng.Patient(findings={derived: True})


@st.composite
def built(draw: st.DrawFn) -> ng.Patient:
    measurements: dict[str, Any] = {}
    limits: dict[str, str] = {}
    for name in draw(st.lists(st.sampled_from(MEASURED), unique=True, max_size=6)):
        spec = VOCAB[name]
        assert spec.low is not None and spec.high is not None
        if spec.integer:
            value = float(draw(st.integers(int(spec.low), int(spec.high))))
        else:
            value = draw(st.floats(spec.low, spec.high, allow_nan=False))
        unit = spec.unit
        if unit is not None and draw(st.booleans()):
            try:
                measurements[name] = parse_quantity(f"{value!r} {unit}")
            except ng.InputError:
                reject()  # not a quantity pint is given (a magnitude beyond what is read)
        else:
            measurements[name] = value
        if name in LIMITED and draw(st.booleans()):
            limits[name] = draw(st.sampled_from(["<", "<=", ">", ">="]))
    findings = draw(st.dictionaries(st.sampled_from(FINDINGS), st.booleans(), max_size=8))
    last = draw(st.dictionaries(st.sampled_from(LAST), st.dates(dt.date(2015, 1, 1), AS_OF), max_size=3))
    age = draw(st.one_of(st.none(), st.integers(18, 95).map(float)))
    try:
        return ng.Patient(age=age, findings=findings, measurements=measurements, last=last, limits=limits)
    except ng.InputError:
        reject()  # the property is about every patient the constructor accepts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(built())
def test_constructor_record_replays_identically(patient: ng.Patient) -> None:
    report = _replayed(patient)
    assert report.identical, [str(d) for d in report.differences]
