"""Records written by earlier releases still replay identically (an auditor can always reconstruct them)."""

from __future__ import annotations

from pathlib import Path

import pytest

import neuroguide as ng
from neuroguide import audit

RECORDS = Path(__file__).parent / "data" / "records"
# Records whose replay differs, each for a change since its release (tests/test_records_changes.py says which).
CHANGED = {
    "0.1.0": {
        "b12-label-2025-01-31",
        "conflict-lops-monofilament",
        "contradiction-distal-nonlength-in-review",
        "creatinine-umol-as-mgdl",
        "gabapentin-crcl21-details",
        "gabapentin-duplicate-therapy",
        "hba1c-mmolmol-as-percent",
        "midodrine-dose-in-review",
        "neurotox-isoniazid-two-entries",
        "neurotox-paclitaxel-exposure-unknown",
        "pad-from-abi-2024-02-29",
        "refused-exam-before-birth",
        "refused-iwgdf-fraction",
    }
}
ALL = sorted(RECORDS.glob("*/*.json"))
FILES = [p for p in ALL if p.stem not in CHANGED.get(p.parent.name, set())]


def test_every_release_has_records() -> None:
    assert {p.parent.name for p in ALL} >= {"0.1.0"}
    # the 9 written for the examples, then 19 from a deck of 3061 (tests/data/records/README.md)
    assert len([p for p in ALL if p.parent.name == "0.1.0"]) == 28
    assert len(FILES) == 28 - len(CHANGED["0.1.0"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_old_record_replays_identically(path: Path) -> None:
    record = ng.EvaluationRecord.from_json(path.read_text(encoding="utf-8"))
    report = ng.replay(record)
    assert report.identical, [str(d) for d in report.differences]
    # Only the package version may differ, and what newer derivations would decide: both reported as such.
    assert all(d.kind in (ng.DifferenceKind.PACKAGE_VERSION, ng.DifferenceKind.NEWER_CODE) for d in report.differences)
    assert audit.replay_record(path.read_text(encoding="utf-8")).identical


def test_old_records_keep_the_old_policy_for_in_review_urgent_rules() -> None:
    # 0.1.0 hid in-review urgent rules; its records say nothing of the 0.2.0 policy and replay under the old one.
    record = ng.EvaluationRecord.from_json((RECORDS / "0.1.0" / "gbs-ascending.json").read_text(encoding="utf-8"))
    assert record.urgent_unverified is False
    fresh = ng.assess(ng.Patient.from_dict(record.patient), as_of=record.as_of)
    assert fresh.record.urgent_unverified is True


def test_a_changed_recommendation_in_an_old_record_is_detected() -> None:
    text = (RECORDS / "0.1.0" / "t2d-metformin.json").read_text(encoding="utf-8")
    tampered = text.replace('"status": "overdue"', '"status": "scheduled"', 1)
    assert tampered != text
    report = ng.replay(ng.EvaluationRecord.from_json(tampered))
    assert not report.identical
    assert any(d.kind is ng.DifferenceKind.RECOMMENDATION_CHANGED for d in report.differences)
