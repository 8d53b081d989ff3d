"""Hypothesis strategies for whole patients, shared by tests that need varied, valid patient documents.

The shape follows the cohort differential test's generator (findings true, false or unrecorded; measurements
at and beside published cut-offs; dates near month ends and 29 February; medications with and without doses),
with findings taken from the fact vocabulary so that it needs no optional dependency.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from neuroguide._vocabulary import vocabulary

# Dates near month ends and 29 February, where calendar arithmetic differs from day counts.
EDGE_DAYS = st.sampled_from(
    [dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2023, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 8, 31)]
)
DAYS = st.one_of(EDGE_DAYS, st.dates(dt.date(1990, 1, 1), dt.date(2025, 12, 31)))
FINDINGS = sorted(name for name, spec in vocabulary().items() if spec.type == "boolean" and spec.derived is None)
MEASURES: dict[str, tuple[str | None, list[float]]] = {
    "hba1c": ("%", [5.6, 5.7, 6.4, 6.5, 7.0, 9.1]),
    "fasting-glucose": ("mg/dL", [99.0, 100.0, 125.0, 125.5, 126.0]),
    "abi": (None, [0.9, 0.904, 0.905, 0.91, 1.4, 1.41]),
    "serum-creatinine": ("mg/dL", [0.6, 1.0, 1.5, 3.2]),
    "weight": ("kg", [50.0, 80.0, 120.0]),
    "b12-total": ("ng/L", [150.0, 200.0, 300.0, 400.0]),
    "systolic-drop": ("mmHg", [19.0, 20.0, 21.0]),
    "toe-pressure": ("mmHg", [29.0, 30.0]),
}
AGENTS = ["metformin", "Glucophage", "gabapentin", "pregabalin", "oxaliplatin", "vitamin B12", "midodrine", "aspirin"]


@st.composite
def patients(draw: st.DrawFn, max_findings: int = 12) -> dict[str, Any]:
    """A plain-data patient document (findings may contradict each other: flagged and left out)."""
    doc: dict[str, Any] = {}
    born = draw(st.one_of(st.none(), st.dates(dt.date(1930, 1, 1), dt.date(2004, 12, 31)), EDGE_DAYS))
    if born is not None:
        doc["birth_date"] = born.isoformat()
    elif draw(st.booleans()):
        doc["age"] = draw(st.sampled_from([17, 18, 50, 51, 70]))
    if draw(st.booleans()):
        doc["sex"] = draw(st.sampled_from(["female", "male"]))
    if draw(st.integers(0, 2)):
        diagnosed = draw(DAYS)
        if born is not None and diagnosed < born:
            diagnosed = born
        doc["diabetes"] = {
            "type": draw(st.sampled_from(["type-1", "type-2", "other"])),
            "diagnosed": diagnosed.isoformat(),
        }
    names = draw(st.lists(st.sampled_from(FINDINGS), max_size=max_findings, unique=True))
    if names:
        doc["findings"] = {n: draw(st.sampled_from([True, False, None])) for n in names}
    measures = draw(st.lists(st.sampled_from(sorted(MEASURES)), max_size=4, unique=True))
    if measures:
        doc["measurements"] = {}
        for name in measures:
            unit, values = MEASURES[name]
            v = draw(st.sampled_from(values))
            doc["measurements"][name] = v if unit is None else f"{v} {unit}"
    last = draw(
        st.lists(
            st.sampled_from(["foot-exam", "neuropathy-exam", "b12-test", "autonomic-assessment"]),
            max_size=3,
            unique=True,
        )
    )
    if last:
        doc["last"] = {k: draw(DAYS).isoformat() for k in last}
    meds = []
    for agent in draw(st.lists(st.sampled_from(AGENTS), max_size=2)):
        med: dict[str, Any] = {"agent": agent}
        if draw(st.booleans()):
            med["started"] = draw(DAYS).isoformat()
        if agent in ("gabapentin", "pregabalin") and draw(st.booleans()):
            med |= {"dose": draw(st.sampled_from(["300 mg", "1800 mg", "3600 mg", "900 mg"])), "per": "day"}
        if agent == "oxaliplatin":
            med["cumulative"] = draw(st.sampled_from(["500 mg/m2", "850 mg/m2"]))
        meds.append(med)
    if meds:
        doc["medications"] = meds
    return doc
