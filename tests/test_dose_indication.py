"""Gabapentin without an indication: the renal table both cited regimens share, and no claim of either indication.

Expected numbers are the label's Table 1 as clinical-sources.md §6c records it (not read from the rule file):
CrCl >= 60: 900 to 3600 mg/day; > 30 to 59: 400 to 1400; > 15 to 29: 200 to 700; 15: 100 to 300. The
postherpetic neuralgia section (§2.1) titrates to 1800 mg/day; that target belongs to that indication only.
"""

from __future__ import annotations

import datetime as dt

import pytest

import neuroguide as ng
from neuroguide.dosing import Verdict

AS_OF = dt.date(2026, 11, 23)
PHN = "postherpetic"


def _check(dose: str, crcl: str | None = "80 mL/min", indication: str | None = None) -> ng.DoseVerdict:
    return ng.check_dose("gabapentin", dose, per="day", crcl=crcl, indication=indication)


def _claims(v: ng.DoseVerdict) -> str:
    """What the verdict says besides the notes that list the label's indications (the label status, and the note
    saying none was chosen)."""
    listing = ("FDA-labelled", "indication not given", "indication '")
    return " ".join((v.expected, v.message, *(n for n in v.notes if not n.startswith(listing))))


@pytest.mark.parametrize(
    ("dose", "crcl", "verdict"),
    [
        ("899 mg", "80 mL/min", Verdict.BELOW),
        ("900 mg", "80 mL/min", Verdict.WITHIN),
        ("901 mg", "80 mL/min", Verdict.WITHIN),
        ("2400 mg", "80 mL/min", Verdict.WITHIN),  # above PHN's 1800 mg/day target: no target note without PHN
        ("3599 mg", "60 mL/min", Verdict.WITHIN),
        ("3600 mg", "60 mL/min", Verdict.WITHIN),
        ("3601 mg", "60 mL/min", Verdict.ABOVE),
        ("1400 mg", "59.9 mL/min", Verdict.WITHIN),
        ("1401 mg", "59.9 mL/min", Verdict.ABOVE),
        ("399 mg", "31 mL/min", Verdict.BELOW),
        ("700 mg", "30 mL/min", Verdict.WITHIN),
        ("701 mg", "29 mL/min", Verdict.ABOVE),
        ("300 mg", "15 mL/min", Verdict.WITHIN),
        ("301 mg", "15 mL/min", Verdict.ABOVE),
    ],
)
def test_without_an_indication_the_shared_table_is_checked_and_no_indication_claimed(
    dose: str, crcl: str, verdict: Verdict
) -> None:
    v = _check(dose, crcl)
    assert v.verdict is verdict
    assert v.indication_open
    assert v.labelled is None  # labelled for PHN, off-label for DPN: not decided without the indication
    said = _claims(v)
    assert PHN not in said.lower() and "1800" not in said and "usual target" not in said
    (note,) = [n for n in v.notes if n.startswith("indication not given")]
    assert "renal" in note and "postherpetic neuralgia" in note and "diabetic" in note  # both listed, neither chosen


def test_without_crcl_the_verdict_still_names_no_indication() -> None:
    v = _check("1200 mg", None)
    assert v.verdict is Verdict.NOT_COVERED and v.indication_open
    assert PHN not in _claims(v).lower()


def test_an_indication_that_matches_no_regimen_is_said_not_to_decide() -> None:
    patient = ng.Patient.from_dict(
        {"id": "x", "medications": [{"agent": "gabapentin", "dose": "2400 mg", "per": "day", "indication": "sciatica"}]}
    )
    (rec,) = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule.startswith("gabapentin")]
    assert PHN not in rec.title.lower() and PHN not in rec.action.lower()
    assert any("'sciatica'" in d and "does not decide" in d for d in rec.details)


@pytest.mark.parametrize(
    ("indication", "rule", "labelled"), [("phn", "gabapentin-phn", True), ("dpn", "gabapentin-dpn", False)]
)
def test_with_an_indication_its_regimen_is_used(indication: str, rule: str, labelled: bool) -> None:
    v = _check("2400 mg", indication=indication)
    assert (v.rule, v.labelled, v.indication_open) == (rule, labelled, False)
    # The PHN section's 1800 mg/day target applies to PHN only.
    assert any("usual target of 1800 mg" in n for n in v.notes) is (indication == "phn")


def test_assess_does_not_take_the_indication_from_findings() -> None:
    # Diabetes and polyneuropathy recorded, no indication on the entry: still not decided.
    patient = ng.Patient.from_dict(
        {
            "id": "x",
            "birth_date": "1950-01-01",
            "sex": "female",
            "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
            "findings": {"polyneuropathy": True},
            "measurements": {"crcl": "40 mL/min"},
            "medications": [{"agent": "gabapentin", "dose": "2400 mg", "per": "day"}],
        }
    )
    (rec,) = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule.startswith("gabapentin")]
    assert rec.status.value == "above-maximum"
    assert "indication not given" in rec.title
    assert PHN not in rec.title.lower() and "diabetic" not in rec.title.lower()
    assert PHN not in rec.action.lower() and "diabetic" not in rec.action.lower()
