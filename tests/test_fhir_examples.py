"""Differential test: each example's FHIR Bundle (examples/fhir/) gives the same assessment as its JSON input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

import neuroguide as ng
from neuroguide import fhir
from tools.fhir import EXAMPLES, render

AS_OF = dt.date(2026, 11, 23)  # the examples' evaluation date (examples/expected/)
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def test_there_is_a_bundle_for_each_example() -> None:
    assert len(NAMES) >= 14
    assert sorted(p.stem for p in (EXAMPLES / "fhir").glob("*.json")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_bundle_on_disk_is_what_the_builder_makes(name: str) -> None:
    on_disk = (EXAMPLES / "fhir" / f"{name}.json").read_text(encoding="utf-8")
    assert on_disk == render(EXAMPLES / f"{name}.json"), "run: python -m tools.fhir"


@pytest.mark.parametrize("name", NAMES)
def test_bundle_gives_the_same_assessment_as_the_json(name: str) -> None:
    bundle: Path = EXAMPLES / "fhir" / f"{name}.json"
    reading = fhir.read(bundle, as_of=AS_OF)
    assert reading.notes == ()  # every resource and code mapped, every resource conformant
    from_json = ng.Patient.from_json(EXAMPLES / f"{name}.json")
    assert reading.patient.to_dict() == from_json.to_dict()
    expected = ng.assess(from_json, as_of=AS_OF)
    got = fhir.assess(bundle, as_of=AS_OF)
    assert got.recommendations == expected.recommendations
    assert got.missing == expected.missing
    assert got.record.facts == expected.record.facts
    assert got.record.trace == expected.record.trace
