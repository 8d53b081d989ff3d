"""Replay is exact: a record keeps its inputs as given, so re-evaluation re-derives the same values.

0.1.0 wrote quantities to 10 significant digits, so a weight of 69.989302691 kg
(154.3 lb converted by the caller) replayed as DIFFERENT. Records written by
0.1.0 must still replay identically.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroguide as ng
from test_records import CHANGED

RECORDS = Path(__file__).parent / "data" / "records" / "0.1.0"
AS_OF = dt.date(2026, 11, 23)
# Records whose replay differs for a change since 0.1.0 are tested in test_records_changes.py.
SAME = [p for p in sorted(RECORDS.glob("*.json")) if p.stem not in CHANGED["0.1.0"]]


@pytest.mark.parametrize("path", SAME, ids=lambda p: p.stem)
def test_records_written_by_0_1_0_replay_identically(path: Path) -> None:
    report = ng.replay(json.loads(path.read_text(encoding="utf-8")))
    assert report.identical, report.differences


def _quantity(low: float, high: float, units: list[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.floats(low, high, allow_nan=False), st.sampled_from(units)).map(lambda t: f"{t[0]!r} {t[1]}")


_patients = st.fixed_dictionaries(
    {"sex": st.sampled_from(["female", "male"])},
    optional={
        "age": st.floats(18, 100, allow_nan=False),
        "birth_date": st.dates(dt.date(1930, 1, 1), dt.date(2008, 1, 1)).map(dt.date.isoformat),
        "diabetes": st.fixed_dictionaries(
            {
                "type": st.sampled_from(["type-1", "type-2"]),
                "diagnosed": st.dates(dt.date(2009, 1, 1), AS_OF).map(dt.date.isoformat),
            }
        ),
        "findings": st.dictionaries(
            st.sampled_from(["numbness", "monofilament-abnormal", "pad", "dialysis"]), st.booleans()
        ),
        "measurements": st.fixed_dictionaries(
            {},
            optional={
                "weight": _quantity(35, 200, ["kg"]) | _quantity(80, 400, ["lb"]),
                "serum-creatinine": _quantity(0.4, 8, ["mg/dL"]) | _quantity(40, 700, ["umol/L"]),
                "hba1c": _quantity(4, 14, ["%"]),
                "fasting-glucose": _quantity(60, 400, ["mg/dL"]),
                "b12-total": _quantity(60, 1500, ["pmol/L", "ng/L"]),
            },
        ),
        "medications": st.lists(
            st.fixed_dictionaries(
                {
                    "agent": st.sampled_from(["gabapentin", "pregabalin", "metformin", "cyanocobalamin"]),
                    "dose": _quantity(0.001, 4000, ["mg", "ug"]),
                    "per": st.sampled_from(["day", "week"]),
                }
            ),
            max_size=2,
        ),
    },
).filter(lambda p: not ("age" in p and "birth_date" in p))


@settings(max_examples=60, deadline=None)
@given(_patients)
def test_a_fresh_record_replays_identically(patient: dict[str, Any]) -> None:
    record = ng.assess(patient, as_of=AS_OF).record
    report = ng.replay(json.loads(record.to_json()))
    assert report.identical, report.differences


def test_record_keeps_inputs_as_given() -> None:
    patient = {
        "age": 70,
        "sex": "male",
        "measurements": {"weight": "69.989302691 kg", "serum-creatinine": "1.13 mg/dL"},
    }
    record = ng.assess(patient, as_of=AS_OF).record
    assert record.patient["measurements"]["weight"] == "69.989302691 kg"
    assert ng.replay(json.loads(record.to_json())).identical
