"""The text report reads at a glance: a short summary first, plain words, the few missing inputs that matter."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import attrs
import pytest

import neuroguide as ng
from neuroguide.report import Style, render_text, summary

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def _assess(name: str) -> ng.Assessment:
    expected = json.loads((EXAMPLES / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    return ng.assess(ng.Patient.from_json(EXAMPLES / f"{name}.json"), as_of=dt.date.fromisoformat(expected["as_of"]))


@pytest.mark.parametrize("name", NAMES)
def test_summary_fits_the_first_screen(name: str) -> None:
    text = render_text(_assess(name))
    head = text.split("\n1. ")[0].splitlines()
    assert len(head) <= 25
    assert head[1].startswith("Evaluation date ")
    assert "Summary" in head


@pytest.mark.parametrize("name", NAMES)
def test_report_has_no_internal_markers(name: str) -> None:
    text = render_text(_assess(name))
    assert "[FIRES]" not in text and "FIRES" not in text
    assert not re.search(r"\bseed\b", text)


def test_missing_list_is_short_unless_asked() -> None:
    result = _assess("t2d-metformin")
    short = render_text(result).split("What is missing to decide more")[1].split("Guideline versions used")[0]
    full = render_text(result, Style(all_missing=True)).split("What is missing to decide more")[1]
    assert short.count("\n   - ") <= 5 < len(result.missing)
    assert "--all-missing" in short
    assert full.count("\n   - ") == len(result.missing)


def test_unrecognised_medication_is_first_in_summary_and_missing() -> None:
    patient = {"medications": [{"agent": "gabapentinn", "dose": "300 mg", "per": "day"}]}
    result = ng.assess(patient, as_of=dt.date(2026, 11, 23))
    assert any(line.startswith("Not recognised: medication 'gabapentinn'") for line in summary(result))
    missing = render_text(result).split("What is missing to decide more\n")[1].splitlines()
    assert "gabapentinn" in missing[0]


def test_inputs_needed_by_urgent_rules_come_first() -> None:
    result = ng.assess({"findings": {"numbness": True}}, as_of=dt.date(2026, 11, 23))
    assert result.urgent_missing
    items = render_text(result).split("What is missing to decide more\n")[1].split("\n   - ")
    assert "needed to rule out an urgent problem" in " ".join(items[0].split())


def test_colour_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Style.for_terminal(io.StringIO()).color is False
    assert Style.for_terminal(Tty()).color is True
    result = _assess("gbs-ascending")
    assert "\033[" in render_text(result, Style(color=True))
    assert "\033[" not in render_text(result)


def test_first_example_report_matches_its_expected_text() -> None:
    text = render_text(_assess("t2d-metformin"))
    expected = (EXAMPLES / "expected" / "t2d-metformin.txt").read_text(encoding="utf-8")
    strip = re.compile(r"^neuroguide \S+; ", re.M)  # the package version line changes with every release
    assert strip.sub("neuroguide VERSION; ", text).rstrip() == strip.sub("neuroguide VERSION; ", expected).rstrip()


def test_no_red_flag_is_never_said_alone_while_an_urgent_check_could_not_be_made() -> None:
    empty = ng.assess(ng.Patient.from_dict({"id": "nothing-recorded"}), as_of=dt.date(2026, 11, 23))
    assert empty.urgent_missing
    line = summary(empty)[0]
    assert line.startswith("Red flags: none found, but urgent checks could not be made:")
    assert f"{len(empty.urgent_missing)} inputs missing" in line
    answered = attrs.evolve(empty, urgent_missing=())
    assert summary(answered)[0] == "Red flags: none found (every urgent check could be made)"


@pytest.mark.parametrize("name", ["t2d-metformin", "nothing-recorded"])
def test_the_summary_names_the_missing_urgent_inputs_in_the_order_of_what_is_missing(name: str) -> None:
    if name == "nothing-recorded":
        result = ng.assess(ng.Patient.from_dict({"id": name}), as_of=dt.date(2026, 11, 23))
    else:
        result = _assess(name)
    line = " ".join(summary(result)[0].split())
    text = render_text(result, Style(width=10_000, all_missing=True))
    section = text.split("What is missing", 1)[1]
    listed = [
        entry.strip()[2:].split(" [", 1)[0].split(";")[0]
        for entry in section.splitlines()
        if entry.strip().startswith("- ") and "needed to rule out an urgent problem" in entry
    ]
    named = line.split(" missing (", 1)[1]
    places = [named.find(label) for label in listed[:3]]
    assert -1 not in places, (listed[:3], named)
    assert places == sorted(places)
    # the service's card and the plain text read ``urgent_missing``: the same order
    facts = [
        entry.split(" [", 1)[1].split("]", 1)[0]
        for entry in section.splitlines()
        if entry.strip().startswith("- ") and "needed to rule out an urgent problem" in entry
    ]
    assert facts == list(result.urgent_missing)


def test_the_likely_line_is_a_presentation_pattern_never_a_consideration() -> None:
    lines = summary(_assess("t2d-metformin"))
    assert not any(line.startswith("Likely:") for line in lines)  # pattern undecided: reflexes not recorded
    assert "Likely: Pattern: central demyelinating" in "\n".join(summary(_assess("ms-like")))


def test_findings_that_alone_raise_an_emergency_are_asked_first() -> None:
    # Clinical review: with almost nothing recorded, urinary retention, saddle anaesthesia and the like (each alone
    # raises cauda equina or another emergency) come before findings that matter only with others.
    result = ng.assess(
        ng.Patient.from_dict({"id": "x", "age": 67, "findings": {"numbness": True}}), as_of=dt.date(2026, 11, 30)
    )
    first = result.urgent_missing[:3]
    assert "urinary-retention" in first and "saddle-anaesthesia" in first
    assert result.urgent_missing.index("breathing-or-swallowing-difficulty") > result.urgent_missing.index(
        "sensory-level"
    )
