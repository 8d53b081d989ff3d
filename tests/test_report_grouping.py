"""Issue 15 item 7: one report item per action; the record keeps every rule."""

from __future__ import annotations

import datetime as dt

import pytest

import neuroguide as ng
from neuroguide.report import render_text

PATIENT = {
    "birth_date": "1960-01-01",
    "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
    "findings": {
        "claudication": False,
        "leg-fatigue": False,
        "rest-pain-relieved-by-dependency": False,
        "exertional-nonjoint-leg-symptoms": False,
        "pedal-pulses-decreased": False,
        "pad": False,
        "retinopathy": False,
        "kidney-disease": False,
        "diabetic-peripheral-neuropathy": False,
        "foot-ulcer": False,
        "prior-foot-ulcer": False,
        "prior-amputation": False,
        "charcot-foot": False,
    },
}


@pytest.mark.rule("pad-screening")
@pytest.mark.rule("pad-screening-duration")
@pytest.mark.rule("arterial-screening-interval")
def test_three_pad_screenings_show_as_one_item() -> None:
    result = ng.assess(PATIENT, as_of=dt.date(2026, 11, 30))
    rules = {"pad-screening", "pad-screening-duration", "arterial-screening-interval"}
    assert rules <= {r.rule for r in result.recommendations}  # the record keeps each rule
    text = render_text(result)
    leads = [line for line in text.splitlines() if line.strip().startswith("- [") and "arterial" in line.lower()]
    also = [line for line in text.splitlines() if "also recommended" in line]
    shown = {r for r in rules if f"rule {r} (" in text}
    assert shown == rules  # every rule and its reason is named in the one item
    assert len(also) == 2 and len(leads) <= 1
