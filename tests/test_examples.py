"""Every bundled example patient gives its reviewed, expected output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def _expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_there_are_at_least_eight_examples() -> None:
    assert len(NAMES) >= 8
    assert all((EXAMPLES / "expected" / f"{n}.json").is_file() for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_gives_expected_output(name: str) -> None:
    expected = _expected(name)
    result = ng.assess(ng.Patient.from_json(EXAMPLES / f"{name}.json"), as_of=dt.date.fromisoformat(expected["as_of"]))
    got = [
        {
            k: v
            for k, v in {
                "section": r.section.value,
                "rule": r.rule,
                "guideline": r.guideline,
                "version": r.version,
                "status": r.status,
                "due": r.due.isoformat() if r.due else None,
                "overdue_days": r.overdue_days,
            }.items()
            if v is not None
        }
        for r in result.recommendations
    ]
    assert got == expected["recommendations"]
    assert [m.fact for m in result.missing] == expected["missing"]
    assert ng.replay(result.record).identical


@pytest.mark.parametrize("name", NAMES)
def test_example_report_renders(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    from neuroguide.cli import main

    assert main(["assess", str(EXAMPLES / f"{name}.json"), "--as-of", _expected(name)["as_of"]]) == 0
    out = capsys.readouterr().out
    assert "What is missing to decide more" in out
    assert "Guideline versions used:" in out


def test_red_flags_come_first() -> None:
    result = ng.assess(ng.Patient.from_json(EXAMPLES / "gbs-ascending.json"), as_of=dt.date(2026, 11, 23))
    first = result.recommendations[0]
    assert first.section is ng.Section.RED_FLAGS
    # The emergency (rapid progression, NICE NG127; shown although in review) precedes the urgent GBS flag.
    assert first.rule == "rapidly-progressive-symmetric" and first.status == "emergency"
    assert [r.rule for r in result.section(ng.Section.RED_FLAGS)][:2] == [
        "rapidly-progressive-symmetric",
        "gbs-suspected",
    ]


def test_seed_b12_unit_error_is_caught_in_assess() -> None:
    result = ng.assess(ng.Patient.from_json(EXAMPLES / "bariatric-b12-mg.json"), as_of=dt.date(2026, 11, 23))
    flagged = [r for r in result.recommendations if r.status == "implausible"]
    assert [r.rule for r in flagged] == ["b12-bariatric-oral"]
    assert "350 ug to 500 ug" in flagged[0].action


def test_high_risk_foot_referrals_under_the_2024_edition() -> None:
    """Pinning ADA 2024.1 shows the verified 2024 referral recommendations."""
    patient = ng.Patient.from_json(EXAMPLES / "high-risk-foot.json")
    result = ng.assess(patient, as_of=dt.date(2026, 11, 23), pins={"ada-neuropathy": "2024.1"})
    rules = {r.rule for r in result.recommendations}
    assert "foot-inspection-every-visit" in rules
