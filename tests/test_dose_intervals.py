"""dose_intervals / medication_intervals: one prescription's verdict over CrCl equals check_dose's at every CrCl.

The cohort checks each distinct prescription once and looks each patient's verdict up by CrCl; these
properties are what makes that exact. CrCl values include every interval edge and the float either side,
the printed band edges of the renal tables, one step either side, the unrounded and truncated boundaries,
and no CrCl at all.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuroguide import Patient, dosing
from neuroguide._agents import names_agent
from neuroguide._facts import derive_flagged
from neuroguide.dosing import Verdict, check_dose, dose_intervals, medication_intervals, medication_verdicts
from neuroguide.exceptions import NeuroguideError
from neuroguide.patient import Medication
from neuroguide.units import parse_quantity, quantity

AS_OF = dt.date(2026, 11, 30)
PAIRS = dosing.dosing_rules(as_of=AS_OF)
AGENTS = sorted({n for _, r in PAIRS for n in (r.agent, *r.synonyms)})
# Printed renal-table edges (mL/min) of the labels the dosing rules cite: gabapentin >= 60, >30 to 59, >15 to 29,
# 15, < 15 (7.5 is the label's own proportional example); pregabalin >= 60, 30-60, 15-30, < 15; duloxetine < 30.
EDGES = (7.5, 15.0, 29.0, 30.0, 59.0, 60.0)
# Daily doses around the cited limits (mg): each limit, and a step either side in each table's tolerance.
LIMITS = sorted(
    {
        x
        for _, r in PAIRS
        for n in [dosing._numbers(r)]
        for x in (n.low, n.target, n.maximum, n.implausible, *(v for b in n.bands for v in (b.daily_min, b.daily_max)))
        if x
    }
)


def _near(x: float) -> list[float]:
    """``x``, the floats either side, and a step of 1e-9 (the truncation and range tolerance) either side."""
    return [x, math.nextafter(x, -math.inf), math.nextafter(x, math.inf), x - 1e-9, x + 1e-9, x * (1 - 1e-9)]


CRCLS = sorted({c for e in EDGES for c in _near(e)} | {0.0, 0.5, 1.0, 300.0})


@st.composite
def prescriptions(draw: st.DrawFn) -> dict[str, object]:
    agent = draw(st.sampled_from(AGENTS))
    base = draw(st.sampled_from([*LIMITS, 1.0]))
    factor = draw(st.sampled_from([1.0, 1 + 1e-9, 1 - 1e-9, 1 + 1e-6, 0.5, 0.2, 2.0, 1 / 15, 7.5 / 15]))
    per = draw(st.sampled_from(["day", "week"]))
    unit = draw(st.sampled_from(["mg", "ug", "g"]))
    amount = base * factor * (7 if per == "week" else 1) * {"mg": 1.0, "ug": 1000.0, "g": 0.001}[unit]
    if draw(st.booleans()):
        amount = draw(st.floats(min_value=0.001, max_value=5000, allow_nan=False))
    return {
        "agent": agent,
        "dose": f"{amount!r} {unit}",
        "per": per,
        "route": draw(st.sampled_from([None, "oral", "IM", "intravenous", "subcutaneous"])),
        "indication": draw(st.sampled_from([None, "dpn", "postherpetic neuralgia", "wernicke", "migraine"])),
    }


def _key(v: dosing.DoseVerdict | dosing.CrClInterval) -> tuple[object, ...]:
    return (v.verdict, v.rule, v.renal_band, v.missing)


@given(rx=prescriptions(), extra=st.lists(st.floats(min_value=0, max_value=300), max_size=5))
def test_interval_verdict_is_check_doses_at_every_crcl(rx: dict[str, object], extra: list[float]) -> None:
    try:
        iv = dose_intervals(**rx, as_of=AS_OF)  # type: ignore[arg-type]
    except NeuroguideError as exc:
        with pytest.raises(type(exc)):
            check_dose(**rx, as_of=AS_OF)  # type: ignore[arg-type]
        return
    assert _key(iv.unknown) == _key(check_dose(**rx, as_of=AS_OF))  # type: ignore[arg-type]
    edges = {c for i in iv.intervals for c in _near(i.lower)}
    for c in sorted({*CRCLS, *edges, *extra}):
        if not 0 <= c <= 300:
            continue
        expected = check_dose(**rx, crcl=quantity(c, "mL/min"), as_of=AS_OF)  # type: ignore[arg-type]
        assert _key(iv.at(c)) == _key(expected), c
        assert iv.given == expected.given


def test_gabapentin_intervals_follow_the_label_table() -> None:
    # 1800 mg/day: within range from CrCl 60 (the ">= 60" row, 900-3600), above the 400-1400 row from >30.
    iv = dose_intervals("gabapentin", "1800 mg", per="day", indication="postherpetic neuralgia", as_of=AS_OF)
    assert iv.at(60.0).verdict is Verdict.WITHIN
    assert iv.at(math.nextafter(60.0, 0)).verdict is Verdict.ABOVE
    assert iv.at(45.0).renal_band == ">30 to 59"
    # Without a CrCl the dose is not checked against a row (it is below the 3600 mg/day top of the table).
    assert iv.unknown.verdict is Verdict.NOT_COVERED and iv.unknown.missing == ("crcl",)
    # 50 mg/day below 15: the '15' row (100-300) times CrCl/15 holds it from 2.5 to 7.5 mL/min.
    low = dose_intervals("gabapentin", "50 mg", per="day", indication="postherpetic neuralgia", as_of=AS_OF)
    assert low.at(5.0).verdict is Verdict.WITHIN
    assert low.at(7.6).verdict is Verdict.BELOW
    assert low.at(2.4).verdict is Verdict.ABOVE


def test_negative_crcl_is_refused() -> None:
    iv = dose_intervals("duloxetine", "60 mg", per="day", as_of=AS_OF)
    with pytest.raises(NeuroguideError, match="crcl"):
        iv.at(-1.0)


@given(
    rx=prescriptions(),
    age=st.integers(min_value=18, max_value=95),
    sex=st.sampled_from(["female", "male"]),
    weight=st.floats(min_value=40, max_value=220).map(lambda x: round(x, 1)),
    height=st.floats(min_value=140, max_value=200).map(lambda x: round(x, 0)),
    scr=st.floats(min_value=0.4, max_value=8).map(lambda x: round(x, 2)),
)
def test_heavy_patients_weight_views_match_check_dose(
    rx: dict[str, object], age: int, sex: str, weight: float, height: float, scr: float
) -> None:
    patient = Patient.from_dict(
        {
            "age": age,
            "sex": sex,
            "measurements": {"weight": f"{weight} kg", "height": f"{height} cm", "serum-creatinine": f"{scr} mg/dL"},
        }
    )
    facts, _ = derive_flagged(patient, AS_OF)
    try:
        iv = dose_intervals(**rx, as_of=AS_OF)  # type: ignore[arg-type]
    except NeuroguideError:
        return
    expected = check_dose(**rx, patient=patient, as_of=AS_OF)  # type: ignore[arg-type]
    crcl = facts.get("crcl")
    got = iv.verdict_at(crcl if isinstance(crcl, float) else None, dosing.weight_alternatives(facts))
    assert got is expected.verdict


def test_a_heavy_patient_can_be_weight_dependent() -> None:
    # 150 kg, 160 cm: CrCl from actual weight is in the ">= 60" row, from ideal weight far below it.
    patient = Patient.from_dict(
        {
            "age": 60,
            "sex": "female",
            "measurements": {"weight": "150 kg", "height": "160 cm", "serum-creatinine": "1.2 mg/dL"},
        }
    )
    facts, _ = derive_flagged(patient, AS_OF)
    iv = dose_intervals("gabapentin", "1800 mg", per="day", indication="postherpetic neuralgia", as_of=AS_OF)
    alternatives = dosing.weight_alternatives(facts)
    assert len(alternatives) == 2
    expected = check_dose("gabapentin", "1800 mg", per="day", indication="postherpetic neuralgia", patient=patient,
                          as_of=AS_OF)  # fmt: skip
    assert expected.verdict is Verdict.WEIGHT_DEPENDENT
    assert iv.verdict_at(facts["crcl"], alternatives) is Verdict.WEIGHT_DEPENDENT  # type: ignore[arg-type]


@st.composite
def entries(draw: st.DrawFn) -> Medication:
    rx = draw(prescriptions())
    agent = draw(st.sampled_from([*AGENTS, "gabapentin ER", "Neurontin", "vitamin B12 + folic acid"]))
    return Medication(
        agent=agent,
        dose=parse_quantity(str(rx["dose"]), "dose"),
        per=rx["per"],  # type: ignore[arg-type]
        route=draw(st.sampled_from([None, "oral", "IM", "by nose"])),
        indication=rx["indication"],  # type: ignore[arg-type]
    )


@given(med=entries(), extra=st.lists(st.floats(min_value=0, max_value=300), max_size=3))
def test_medication_intervals_report_what_assess_reports(med: Medication, extra: list[float]) -> None:
    naming = [(g, r) for g, r in PAIRS if names_agent(r, med.agent)]
    for g, rule in naming:
        iv = medication_intervals(rule, med, guideline=g)
        edges = {c for i in iv.intervals for c in _near(i.lower)}
        for c in [None, *sorted({*CRCLS, *edges, *extra})]:
            if c is not None and c < 0:
                continue
            facts = {} if c is None else {"crcl": c}
            got = list(medication_verdicts(rule, [med], facts, guideline=g))
            hit = iv.at(c)
            if hit.reporter != rule.id:
                assert got == [], (rule.id, c)
                continue
            assert len(got) == 1, (rule.id, c)
            assert _key(hit) == _key(got[0][1]), (rule.id, c)
            assert iv.given == got[0][1].given
