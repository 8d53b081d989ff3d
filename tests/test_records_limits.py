"""The record's facts show a limit with its comparator; a replay difference reads it; older records still replay."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng

AS_OF = dt.date(2026, 11, 1)
EXAMPLE = Path(__file__).parent.parent / "examples" / "t2d-metformin.json"


def _record(b12: str) -> dict[str, Any]:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    doc.setdefault("measurements", {})["b12-total"] = b12
    got: dict[str, Any] = json.loads(ng.assess(ng.Patient.from_dict(doc), as_of=AS_OF).record.to_json())
    return got


@pytest.mark.parametrize(
    ("given", "shown"),
    [("<200 pg/mL", "<200 ng/L"), ("<=150 ng/L", "<=150 ng/L"), (">2000 pg/mL", ">2000 ng/L")],
)
def test_limit_in_facts_has_its_comparator(given: str, shown: str) -> None:
    record = _record(given)
    assert record["facts"]["b12-total"] == shown
    assert ng.replay(record).identical


def test_limit_in_mmol_per_mol_is_shown_in_the_canonical_unit() -> None:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    doc.setdefault("measurements", {})["hba1c"] = "<48 mmol/mol"
    facts = ng.assess(ng.Patient.from_dict(doc), as_of=AS_OF).record.facts
    text = facts["hba1c"]
    assert text.startswith("<6.5") and text.endswith(" percent")
    assert len(text) < 20  # 12 significant digits at most, no binary noise


def test_replay_difference_reads_the_limit() -> None:
    record = _record("<200 pg/mL")
    record["patient"]["measurements"]["b12-total"] = "<150 pg/mL"
    lines = [str(d) for d in ng.replay(record).differences]
    assert "fact b12-total: recorded '<200 ng/L', now '<150 ng/L'" in lines


def test_record_of_the_older_form_replays_identically() -> None:
    # records written before this change hold the limit's number alone; its comparator is in the patient
    record = _record("<200 pg/mL")
    record["facts"]["b12-total"] = 199.99999999999997
    assert ng.replay(record).identical
    record["facts"]["b12-total"] = 150.0
    lines = [str(d) for d in ng.replay(record).differences]
    assert "fact b12-total: recorded 150.0, now '<200 ng/L'" in lines
