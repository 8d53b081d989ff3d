"""Red flags that rest on contradicting inputs are shown as possible, never silently dropped.

Contradicting values are left out (neither is used), so a red flag needing one cannot decide. Evaluated under each
reading of the contradiction (one side taken as right), a red flag raised in every reading is raised whichever
value is right; one raised in some is possible. Both are shown before anything else, and the inputs must be
checked. Clinical review, 2026-11-30: a 2-day slip between progression and symptom duration had turned a clear
Guillain-Barre picture into "Red flags: none found".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import hypothesis.strategies as st
from hypothesis import given, settings

import neuroguide as ng
from neuroguide.report import summary
from neuroguide.service import cards_for

AS_OF = dt.date(2026, 11, 30)
GBS_PICTURE = {
    "tingling": True,
    "numbness": True,
    "weakness": True,
    "ascending-pattern": True,
    "areflexia": True,
    "still-progressing": True,
}


def _assess(doc: dict[str, Any]) -> ng.Assessment:
    return ng.assess(ng.Patient.from_dict({"id": "p", "birth_date": "1981-02-20", **doc}), as_of=AS_OF)


def _possible(result: ng.Assessment) -> dict[str, tuple[int, int]]:
    return {p.recommendation.rule: (p.readings, p.of) for p in result.possible}


def test_a_tempo_slip_both_under_four_weeks_raises_gbs_whichever_duration_is_right() -> None:
    # 12 days of progression against 10 days of symptoms: either way at most 4 weeks (NICE NG127 rapid progression,
    # GBS within 4 weeks), so the flags hold under both readings.
    result = _assess(
        {"findings": GBS_PICTURE, "measurements": {"progression-duration": "12 day", "symptom-duration": "10 day"}}
    )
    assert not result.section(ng.Section.RED_FLAGS)  # not decided: the durations were not used
    assert _possible(result) == {"rapidly-progressive-limb-weakness": (2, 2), "gbs-suspected": (2, 2)}
    assert all(p.every for p in result.possible)
    lines = "\n".join(summary(result))
    assert "POSSIBLE RED FLAGS (2)" in lines
    assert "raised whichever of the contradicting values is right" in lines
    assert "none found" not in lines and "none confirmed" in lines
    cards = cards_for(result, "r", "http://localhost")
    possible = [c for c in cards if c["summary"].startswith("Possible red flag")]
    assert [c["indicator"] for c in possible] == ["critical", "critical"]
    assert not any(c["summary"].startswith("No red flag") for c in cards)


def test_still_progressing_with_a_shorter_progression_is_read_three_ways() -> None:
    result = _assess(
        {"findings": GBS_PICTURE, "measurements": {"progression-duration": "5 day", "symptom-duration": "14 day"}}
    )
    found = _possible(result)
    assert found["gbs-suspected"] == (3, 3)  # 5 or 14 days, still progressing or not: within 4 weeks
    assert found["rapidly-progressive-limb-weakness"][1] == 3


def test_a_contradicted_sphincter_finding_makes_cauda_equina_possible_not_silent() -> None:
    result = _assess(
        {
            "findings": {
                "bladder-bowel-dysfunction": False,
                "urinary-retention": True,
                "saddle-anaesthesia": False,
                "radicular-pain": True,
            }
        }
    )
    found = _possible(result)
    assert found["cauda-equina-suspected"] == (1, 2)  # raised when the retention is right, not when the denial is
    card = next(
        c for c in cards_for(result, "r", "http://localhost") if "Cauda" in c["summary"] or "cauda" in c["summary"]
    )
    assert card["indicator"] == "warning"
    assert "raised in 1 of 2 readings" in "\n".join(summary(result))


def test_a_flag_already_raised_is_not_repeated_as_possible() -> None:
    result = _assess(
        {
            "findings": {**GBS_PICTURE, "brisk-reflexes": True},
            "measurements": {"progression-duration": "10 day", "symptom-duration": "10 day"},
        }
    )
    raised = {r.rule for r in result.section(ng.Section.RED_FLAGS)}
    assert "rapidly-progressive-limb-weakness" in raised  # needs neither reflex finding
    assert _possible(result) == {"gbs-suspected": (1, 2)}  # areflexia or brisk reflexes: one reading each


def test_without_a_contradiction_nothing_is_possible() -> None:
    result = _assess({"findings": GBS_PICTURE, "measurements": {"progression-duration": "10 day"}})
    assert result.possible == ()
    assert "POSSIBLE" not in "\n".join(summary(result))


_SPHINCTER = ("urinary-retention", "urinary-incontinence", "bowel-dysfunction")
_OTHERS = ("saddle-anaesthesia", "radicular-pain", "bilateral-leg-deficit", "sensory-level", "known-cancer", "weakness")


@settings(max_examples=25, deadline=None)
@given(
    specific=st.sets(st.sampled_from(_SPHINCTER), min_size=1),
    others=st.dictionaries(st.sampled_from(_OTHERS), st.booleans()),
)
def test_possible_flags_are_exactly_those_some_reading_raises(specific: set[str], others: dict[str, bool]) -> None:
    findings = {"bladder-bowel-dysfunction": False, **dict.fromkeys(specific, True), **others}
    result = _assess({"findings": findings})
    raised = {r.rule for r in result.section(ng.Section.RED_FLAGS)}
    # The two readings written out by hand: the denial right (every specific false), or the specifics right.
    denial = _assess({"findings": {**findings, **dict.fromkeys(specific, False)}})
    specifics = _assess({"findings": {**findings, "bladder-bowel-dysfunction": True}})
    counts: dict[str, int] = {}
    for reading in (denial, specifics):
        for rule in {r.rule for r in reading.section(ng.Section.RED_FLAGS)} - raised:
            counts[rule] = counts.get(rule, 0) + 1
    assert _possible(result) == {rule: (n, 2) for rule, n in counts.items()}
    assert not raised & set(_possible(result))
