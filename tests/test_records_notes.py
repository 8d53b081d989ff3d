"""The FHIR reader's notes kept in the evaluation record, shown and compared by ``neuroguide audit replay``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from neuroguide import Patient, assess
from neuroguide.audit import replay_record
from neuroguide.cli import main
from neuroguide.results import EvaluationRecord

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

from neuroguide import fhir  # after the skip: the module needs the extra

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "examples" / "fhir" / "t2d-metformin.json"
OLD = sorted(p for p in (ROOT / "tests" / "data" / "records" / "0.1.0").glob("*.json") if "refused" not in p.stem)
AS_OF = dt.date(2026, 11, 23)
ENCOUNTER = {"resourceType": "Encounter", "id": "visit-1", "status": "finished", "class": {"code": "AMB"}}


def bundle(tmp_path: Path, *extra: dict[str, Any], name: str = "bundle.json") -> Path:
    data = json.loads(BUNDLE.read_text(encoding="utf-8"))
    data["entry"] += [{"resource": r} for r in extra]
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def record_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def made(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A record of the bundle with an Encounter (a resource the reader does not read: one note)."""
    path = bundle(tmp_path, ENCOUNTER)
    return path, fhir.assess(path, as_of=AS_OF).record.to_dict()


def test_the_record_keeps_the_reader_notes(tmp_path: Path) -> None:
    result = fhir.assess(bundle(tmp_path, ENCOUNTER), as_of=AS_OF)
    assert any("Encounter/visit-1" in n.what for n in result.notes)
    assert result.record.notes == result.notes
    data = json.loads(result.record.to_json())
    assert {"kind": "unrecognised", "resource": "Encounter"}.items() <= data["notes"][0].items()
    assert EvaluationRecord.from_json(result.record.to_json()) == result.record


def test_a_record_without_notes_is_written_as_before() -> None:
    patient = Patient.from_json(ROOT / "examples" / "t2d-metformin.json")
    assert "notes" not in assess(patient, as_of=AS_OF).record.to_dict()


def test_a_record_whose_notes_are_not_a_list_is_refused(tmp_path: Path) -> None:
    _, data = made(tmp_path)
    with pytest.raises(ValueError, match=r"record\.notes"):
        EvaluationRecord.from_dict({**data, "notes": "none"})


def test_replay_shows_the_notes_and_rereads_the_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, data = made(tmp_path)
    path = record_file(tmp_path, data)
    assert main(["audit", "replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("IDENTICAL") and "FHIR reader notes in the record (1)" in out
    assert "Encounter/visit-1" in out and "--fhir FILE" in out  # shown, and said not to be re-checked
    assert main(["audit", "replay", str(path), "--fhir", str(source)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("IDENTICAL") and "not re-checked" not in out
    assert "read again: the record's patient and its 1 reader note(s)" in out


@pytest.mark.parametrize("change", ["removed", "added", "reworded"])
def test_notes_that_differ_are_a_difference_with_its_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    source, data = made(tmp_path)
    note = data["notes"][0]
    if change == "removed":
        data["notes"] = []
    elif change == "added":
        data["notes"].append({**note, "what": "1 resource(s): Encounter/visit-2"})
    else:
        data["notes"][0] = {**note, "reason": "read as a visit"}
    path = record_file(tmp_path, data)
    result = replay_record(
        EvaluationRecord.from_dict(data), reading=fhir.reread(EvaluationRecord.from_dict(data), source)
    )
    assert not result.identical
    assert all(d.startswith("reader note") for d in result.differences)
    assert any("the record's notes were altered" in c for c in result.causes)
    assert main(["audit", "replay", str(path), "--fhir", str(source)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DIFFERENT") and "reader note" in out and "notes were altered" in out
    # without the input the notes are shown as recorded, not judged
    assert main(["audit", "replay", str(path)]) == 0


def test_another_input_is_named_as_the_cause(tmp_path: Path) -> None:
    _, data = made(tmp_path)
    record = EvaluationRecord.from_dict(data)
    other = json.loads(BUNDLE.read_text(encoding="utf-8"))
    patient = next(e["resource"] for e in other["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["birthDate"] = "1950-01-01"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other), encoding="utf-8")
    result = replay_record(record, reading=fhir.reread(record, path))
    assert not result.identical
    assert any("patient read from the FHIR input differs" in d and "birth_date" in d for d in result.differences)
    assert any("not the one the record was made from" in c for c in result.causes)


def test_a_reading_without_the_conformance_check_is_read_again_so(tmp_path: Path) -> None:
    source = bundle(tmp_path, ENCOUNTER)
    reading = fhir.read(source, as_of=AS_OF, conformance=False)
    record = assess(reading.patient, as_of=AS_OF).with_notes(reading.notes).record
    assert any(n.what == "conformance not checked" for n in record.notes)
    assert replay_record(record, reading=fhir.reread(record, source)).identical


def test_the_service_notes_on_the_request_are_not_compared(tmp_path: Path) -> None:
    source, data = made(tmp_path)
    prefetch = {"kind": "excluded", "resource": "prefetch.conditions", "what": "prefetch key absent", "reason": "x"}
    record = EvaluationRecord.from_dict({**data, "notes": [*data["notes"], prefetch]})
    assert replay_record(record, reading=fhir.reread(record, source)).identical


@pytest.mark.parametrize("path", OLD, ids=[p.stem for p in OLD])
def test_records_of_0_1_0_have_no_notes_and_none_are_held_against_them(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert '"notes"' not in text
    result = replay_record(text)
    assert result.reader_notes == ()
    assert not any("reader note" in d for d in result.differences)
    assert not any("reader note" in n for n in result.notes)
