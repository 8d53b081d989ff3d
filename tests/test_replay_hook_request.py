"""A stored CDS Hooks record replays against the whole request the service received (``--fhir request.json``)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra")
pytest.importorskip("orjson", reason="needs the service extra")

from neuroguide import fhir
from neuroguide.audit import replay_record
from neuroguide.cli import main
from neuroguide.evaluation import EvaluationRecord
from neuroguide.exceptions import InputError
from neuroguide.service import ServiceConfig, _Hooks

REQUEST = Path(__file__).resolve().parents[1] / "examples" / "cds-hooks" / "patient-view.json"
AS_OF = dt.date(2026, 11, 23)


def _request() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REQUEST.read_text(encoding="utf-8"))
    return data


def _record(request: dict[str, Any]) -> EvaluationRecord:
    """The record the patient-view service stores for ``request`` (answered in-process, as a worker does)."""
    done = _Hooks(ServiceConfig(as_of=AS_OF)).answer(
        "neuroguide-patient-view", json.dumps(request).encode(), "http://x"
    )
    assert done.record is not None
    return EvaluationRecord.from_json(done.record.record)


def test_the_whole_request_replays_as_its_prefetch_does(tmp_path: Path) -> None:
    request = _request()
    record = _record(request)
    whole = replay_record(record, reading=fhir.reread(record, request))
    alone = replay_record(record, reading=fhir.reread(record, request["prefetch"]))
    assert whole.identical and alone.identical
    assert whole.reader_notes == alone.reader_notes


def test_the_cli_replays_a_service_record_against_the_request_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = _request()
    path = tmp_path / "svc_rec.json"
    path.write_text(_record(request).to_json(), encoding="utf-8")
    assert main(["audit", "replay", str(path), "--fhir", str(REQUEST)]) == 0
    assert "IDENTICAL" in capsys.readouterr().out


def test_a_request_for_another_patient_is_refused_by_name() -> None:
    request = _request()
    record = _record(request)
    other = copy.deepcopy(request)
    other["context"]["patientId"] = "someone-else"
    with pytest.raises(InputError, match=r"fhir\.context\.patientId.*'someone-else'.*t2d-metformin"):
        fhir.reread(record, other)


def test_prefetch_keys_the_service_ignored_are_ignored_again() -> None:
    # The service reads only the keys it requests, and drops a failed fetch: a replay reads the same data.
    request = _request()
    request["prefetch"]["extra"] = request["prefetch"]["conditions"]  # not requested: not read (noted)
    request["prefetch"]["procedures"] = {"resourceType": "OperationOutcome", "issue": []}
    record = _record(request)
    assert replay_record(record, reading=fhir.reread(record, request)).identical


def test_a_request_with_a_changed_prefetch_is_different() -> None:
    request = _request()
    record = _record(request)
    changed = copy.deepcopy(request)
    changed["prefetch"]["patient"]["birthDate"] = "1950-01-01"
    assert not replay_record(record, reading=fhir.reread(record, changed)).identical


@pytest.mark.parametrize("prefetch", [None, [], "x"])
def test_a_request_without_a_prefetch_object_is_refused_by_name(prefetch: Any) -> None:
    request = _request()
    record = _record(request)
    request["prefetch"] = prefetch
    with pytest.raises(InputError, match=r"fhir\.prefetch.*prefetch object of the CDS Hooks 'patient-view' request"):
        fhir.reread(record, request)


def test_reading_a_whole_request_says_to_pass_its_prefetch() -> None:
    with pytest.raises(InputError, match=r"fhir\.hook.*'patient-view'.*pass its `prefetch` object"):
        fhir.read(_request(), as_of=AS_OF)
