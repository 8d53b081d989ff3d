"""Records altered, damaged or from another release get a clear verdict from replay: never a traceback, never a
silent "identical".

The altered records are made here from the 0.1.0 records (which stay untouched) and from a record this version
writes, so each test says exactly what was changed.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide import audit
from neuroguide.cli import main
from neuroguide.results import newer_package, package_version

RECORDS = Path(__file__).parent / "data" / "records" / "0.1.0"
K = ng.DifferenceKind


def old() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDS / "t2d-metformin.json").read_text(encoding="utf-8"))
    return data


def current() -> dict[str, Any]:
    patient = {"age": 64, "sex": "male", "diabetes": {"type": "type-2", "diagnosed": "2015-01-01"}}
    return ng.assess(patient, as_of=dt.date(2026, 11, 23)).record.to_dict()


def kinds(data: dict[str, Any]) -> set[ng.DifferenceKind]:
    report = ng.replay(data)
    assert not report.identical
    return {d.kind for d in report.differences}


def cli(tmp_path: Path, payload: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "record.json"
    path.write_bytes(payload.encode("utf-8") if isinstance(payload, str) else payload)
    code = main(["audit", "replay", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("make", [old, current], ids=["0.1.0", "this-version"])
def test_an_unaltered_record_replays_identically(make: Any) -> None:
    assert audit.replay_record(make()).identical


@pytest.mark.parametrize("field", ["as_of", "package", "statuses", "patient", "guidelines", "trace", "recommendations"])
def test_a_required_field_removed_is_refused_naming_it(field: str) -> None:
    data = old()
    del data[field]
    with pytest.raises(ng.InputError, match=field):
        audit.replay_record(data)


def test_a_field_added_since_0_1_0_may_be_absent() -> None:
    data = current()
    for field in ("urgent_unverified", "flags", "unlocked", "explained"):
        data.pop(field, None)
    report = audit.replay_record(data)
    assert report.recommendations == len(data["recommendations"])  # read, and replayed with the old defaults


def test_a_guideline_version_that_does_not_exist_is_named_as_the_cause() -> None:
    data = old()
    data["guidelines"][0]["version"] = "1999.1"
    result = audit.replay_record(data)
    assert not result.identical
    assert any("1999.1" in c and "not in the catalog" in c for c in result.causes)


def test_a_trace_version_the_record_does_not_list_is_an_inconsistency() -> None:
    data = old()
    data["trace"][0]["version"] = "1999.1"
    assert K.RECORD_INCONSISTENT in kinds(data)
    result = audit.replay_record(data)
    assert any("contradicts itself" in c for c in result.causes)
    assert any("version was '1999.1', now" in d for d in result.differences)  # the trace line says what changed


def test_a_rule_the_guideline_does_not_hold_is_an_inconsistency() -> None:
    data = old()
    data["trace"][0]["rule"] = "no-such-rule"
    assert K.RECORD_INCONSISTENT in kinds(data)


def test_a_different_guideline_hash_is_named() -> None:
    data = old()
    data["guidelines"][0]["sha256"] = "0" * 64
    result = audit.replay_record(data)
    assert not result.identical
    assert any("content changed" in c for c in result.causes)


@pytest.mark.parametrize("part", ["guidelines", "trace", "recommendations"])
def test_an_entry_given_twice_is_never_identical(part: str) -> None:
    data = old()
    data[part].append(copy.deepcopy(data[part][0]))
    assert K.RECORD_INCONSISTENT in kinds(data)


def test_no_guidelines_but_recommendations_is_an_inconsistency() -> None:
    data = old()
    data["guidelines"] = []
    assert K.RECORD_INCONSISTENT in kinds(data)


@pytest.mark.parametrize("part", ["facts", "missing", "recommendations"])
def test_an_emptied_part_is_different_and_has_a_cause(part: str) -> None:
    data = old()
    data[part] = {} if part == "facts" else []
    result = audit.replay_record(data)
    assert not result.identical and result.causes


def test_a_changed_evaluation_date_is_different() -> None:
    data = old()
    data["as_of"] = "2026-11-24"
    assert not audit.replay_record(data).identical


def test_a_bad_patient_in_the_record_is_named_as_the_records() -> None:
    data = old()
    data["patient"]["sex"] = "x"
    with pytest.raises(ng.InputError, match=r"record\.patient\.sex"):
        audit.replay_record(data)


@pytest.mark.parametrize("package", ["", None, 3])
def test_a_record_without_a_package_version_is_refused(package: Any) -> None:
    data = old()
    data["package"] = package
    with pytest.raises(ng.InputError, match="record.package"):
        audit.replay_record(data)


def test_newer_release_detection() -> None:
    assert newer_package("9.0.0") and newer_package("0.3") and newer_package("1")
    assert not newer_package("0.1.0") and not newer_package(package_version()) and not newer_package("unknown")


def test_a_newer_record_with_new_fields_says_which_version_to_use() -> None:
    data = old()
    data["package"] = "9.0.0"
    data["recommendations"][0]["status"] = "a-status-from-the-future"
    with pytest.raises(ng.InputError, match=r"written by neuroguide 9\.0\.0, newer than this installation"):
        audit.replay_record(data)


def test_a_newer_record_that_replays_says_it_is_newer() -> None:
    data = old()
    data["package"] = "9.0.0"
    result = audit.replay_record(data)
    assert result.identical
    assert any("newer than this installation" in n for n in result.notes)


def test_the_command_line_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (RECORDS / "t2d-metformin.json").read_text(encoding="utf-8")
    assert cli(tmp_path, text, capsys)[0] == 0
    code, out = cli(tmp_path, "\ufeff" + text, capsys)  # a byte order mark, as some editors write
    assert code == 0 and "IDENTICAL" in out
    code, out = cli(tmp_path, text[: len(text) // 2], capsys)
    assert code == 2 and "cut short" in out and "Traceback" not in out
    code, out = cli(tmp_path, text.encode("utf-8").replace(b'"0.1.0"', b'"0.1.0\xe9"', 1), capsys)
    assert code == 2 and "UTF-8" in out
    code, out = cli(tmp_path, "", capsys)
    assert code == 2 and "valid JSON" in out
    data = old()
    data["trace"].append(data["trace"][0])
    code, out = cli(tmp_path, json.dumps(data), capsys)
    assert code == 1 and "DIFFERENT" in out and "contradicts itself" in out
    data = old()
    data["guidelines"] = []
    code, out = cli(tmp_path, json.dumps(data), capsys)
    assert code == 1 and "with no guidelines" in out


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("patient", [], "a JSON object"),
        ("facts", "x", "a JSON object"),
        ("trace", {}, "a JSON list"),
        ("recommendations", None, "a JSON list"),
        ("statuses", "approved", "a JSON list"),
        ("statuses", ["approved", "bogus"], "rule statuses from"),
    ],
)
def test_a_part_of_the_wrong_shape_is_named(field: str, value: Any, expected: str) -> None:
    data = old()
    data[field] = value
    with pytest.raises(ng.InputError, match=f"record.{field}.*{expected}"):
        ng.EvaluationRecord.from_dict(data)
