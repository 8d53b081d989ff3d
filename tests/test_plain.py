"""Plain language for the person: every recommendation, same rule ids, no jargon, urgent first."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import attrs
import pytest

import neuroguide as ng
from neuroguide.cli import main
from neuroguide.report import render_patient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def _assess(name: str) -> ng.Assessment:
    expected = json.loads((EXAMPLES / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    return ng.assess(ng.Patient.from_json(EXAMPLES / f"{name}.json"), as_of=dt.date.fromisoformat(expected["as_of"]))


@pytest.mark.parametrize("name", NAMES)
def test_patient_version_keeps_every_recommendation_and_its_rule_id(name: str) -> None:
    result = _assess(name)
    items = ng.plain_language(result)
    assert [(i.rule, i.guideline, i.version) for i in items] == [
        (r.rule, r.guideline, r.version) for r in result.recommendations
    ]
    text = render_patient(result)
    for rec in result.recommendations:
        assert f"[{rec.rule}]" in " ".join(text.split()).replace("- ", "-")
    assert "FIRES" not in text and not re.search(r"\bseed\b", text)


@pytest.mark.parametrize("name", NAMES)
def test_cli_audience_patient_works_for_every_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    as_of = json.loads((EXAMPLES / "expected" / f"{name}.json").read_text(encoding="utf-8"))["as_of"]
    assert main(["assess", str(EXAMPLES / f"{name}.json"), "--as-of", as_of, "--audience", "patient"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Your neuroguide summary")


def test_urgent_items_come_first_and_unverified_rules_say_so() -> None:
    result = ng.assess(
        {"findings": {"weakness": True, "breathing-or-swallowing-difficulty": True}}, as_of=dt.date(2026, 11, 23)
    )
    text = render_patient(result)
    assert text.index("Urgent: act on these first") < text.index("[gbs-respiratory]")
    item = next(i for i in ng.plain_language(result) if i.rule == "gbs-respiratory")
    assert item.verified_rule is False and item.has_text
    assert "still being checked against its source" in text
    assert "emergency" in item.text.lower()


def test_a_rule_without_text_is_shown_by_title_not_dropped() -> None:
    from neuroguide import plain

    result = _assess("t2d-metformin")
    rec = result.recommendations[0]
    fake = ng.Assessment(recommendations=(attrs.evolve(rec, rule="no-such-rule"),), missing=(), record=result.record)
    (item,) = plain.plain_language(fake)
    assert not item.has_text and rec.title in item.text and "No plain-language version yet" in item.text


def test_each_shown_text_names_the_file_hash_and_reading_grade() -> None:
    for item in ng.plain_language(_assess("t2d-metformin")):
        if item.has_text:
            assert item.text_sha256 is not None and len(item.text_sha256) == 64
            assert item.reading_grade is not None and item.reading_grade <= 8


def test_patient_version_never_reassures_by_omission() -> None:
    result = ng.assess({"findings": {"numbness": True, "tingling": True}}, as_of=dt.date(2026, 11, 23))
    assert result.urgent_missing
    text = " ".join(render_patient(result).split())
    assert "Questions not yet answered" in text
    assert "suggest nothing more" not in text
    empty = ng.assess({}, as_of=dt.date(2026, 11, 23))
    if not empty.recommendations:
        assert "This does not mean that nothing is wrong" in " ".join(render_patient(empty).split())
