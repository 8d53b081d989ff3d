"""The third robustness sweep (2026-12-01): odd input that was still read silently, or resolved one way unsaid.

Each case was wrong before: an observation about a contained patient or a group read as the patient's, "once a
day on Mondays" read as once a day, a draft order for another patient checked against this one, a selection naming
no order (nothing checked), a record whose flags were removed replaying identical, a cohort run whose output named
its input deleting the input. The catalogue (``tests/data/bad_inputs``) holds the cases its format can express.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from test_bad_inputs_interfaces import PATIENT, _call, _order, bundle, creatinine, request

AS_OF = dt.date(2026, 11, 23)
UCUM = "http://unitsofmeasure.org"


@pytest.fixture
def fhir() -> Any:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    from neuroguide import fhir

    return fhir


def _notes(reading: Any, kind: str) -> str:
    return " | ".join(f"{n.what}: {n.reason}" for n in reading.notes if n.kind.value == kind)


# -- FHIR reader ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "named"),
    [("#x", "#x (a resource contained in Observation/c1)"), ("Group/g1", "Group/g1"), ("Device/d1", "Device/d1")],
)
def test_an_observation_about_someone_else_than_a_patient_reference_is_not_used(
    fhir: Any, subject: str, named: str
) -> None:
    res = creatinine(subject={"reference": subject}, contained=[{"resourceType": "Patient", "id": "x"}])
    reading = fhir.read(bundle(PATIENT, res), as_of=AS_OF)
    assert "serum-creatinine" not in reading.patient.measurements  # was used as patient p1's
    assert f"names {named}, not the patient read (Patient/p1)" in _notes(reading, "excluded")


def test_an_observation_about_the_patient_is_still_used(fhir: Any) -> None:
    for ref in ("Patient/p1", "http://ehr.example/fhir/Patient/p1"):
        reading = fhir.read(bundle(PATIENT, creatinine(subject={"reference": ref})), as_of=AS_OF)
        assert str(reading.patient.measurements["serum-creatinine"]) == "1.1 milligram / deciliter"


def test_no_data_at_all_is_refused(fhir: Any) -> None:
    with pytest.raises(ng.InputError, match="^fhir: got None; expected a FHIR resource"):
        fhir.read(None, as_of=AS_OF)  # was an empty patient


def _timed(fhir: Any, **repeat: Any) -> Any:
    dosage = [
        {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", **repeat}},
            "doseAndRate": [{"doseQuantity": {"value": 300, "system": UCUM, "code": "mg"}}],
        }
    ]
    return fhir.read(bundle(PATIENT, request(dosageInstruction=dosage)), as_of=AS_OF)


def test_a_dose_on_days_of_the_week_is_not_read_as_daily(fhir: Any) -> None:
    reading = _timed(fhir, dayOfWeek=["mon"])
    (med,) = reading.patient.medications
    assert med.dose is None  # was 300 mg per day: seven times the dose taken
    assert "dayOfWeek" in _notes(reading, "excluded")


def test_a_period_range_is_read_at_its_shortest_and_said(fhir: Any) -> None:
    reading = _timed(fhir, frequency=3, periodMax=2)
    (med,) = reading.patient.medications
    assert (med.dose.magnitude, med.per) == (900, "day")
    assert "every 1 to 2 d" in _notes(reading, "assumption")  # was read so without a word


# -- CDS Hooks service ------------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Any:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import ServiceConfig, create_app

    return create_app(ServiceConfig(database=f"sqlite:///{tmp_path}/s.sqlite", as_of=AS_OF))


def _sign(app: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return _call(app, "/cds-services/neuroguide-order-sign", json.dumps(body).encode())


def test_a_patient_id_that_is_not_a_string_is_refused(app: Any) -> None:
    body = {**_order(), "context": {**_order()["context"], "patientId": 5}}
    status, answer = _sign(app, body)  # was 200: 5 was never compared with the prefetch patient p1
    assert status == 400 and "context.patientId must be a string" in answer["message"]


def test_a_selection_naming_no_draft_order_is_refused(app: Any) -> None:
    body = {**_order(), "context": {**_order()["context"], "selections": ["MedicationRequest/zz"]}}
    status, answer = _sign(app, body)  # was 200 with nothing checked
    assert status == 400 and "MedicationRequest/zz" in answer["message"]


@pytest.mark.parametrize("subject", ["Patient/zz", "#x"])
def test_a_draft_order_for_someone_else_is_not_checked_against_this_patient(app: Any, subject: str) -> None:
    draft = {**request(status="draft"), "subject": {"reference": subject}}
    body = {**_order(), "context": {"userId": "Practitioner/1", "patientId": "p1", "draftOrders": bundle(draft)}}
    status, answer = _sign(app, body)
    assert status == 200
    summaries = [c["summary"] for c in answer["cards"]]
    assert not any("gabapentin" in s for s in summaries), summaries  # was a dose card for p1
    detail = " ".join(c.get("detail", "") for c in answer["cards"])
    assert f"the order is for {subject}, not the patient in context (Patient/p1); not checked" in detail


def test_a_draft_order_for_this_patient_is_still_checked(app: Any) -> None:
    status, answer = _sign(app, _order())
    assert status == 200 and any("gabapentin" in c["summary"] for c in answer["cards"])


# -- records ----------------------------------------------------------------------------------------------------


def test_a_record_whose_flags_were_removed_does_not_replay_identical() -> None:
    record = ng.assess({"age": None, "birth_date": "1900-01-01"}, as_of=AS_OF).record
    data = json.loads(record.to_json())
    assert [f["kind"] for f in data["flags"]] == ["placeholder-date"]
    assert ng.replay(data).identical
    data["flags"] = []
    report = ng.replay(data)  # was identical: the flag the report shows first was silently gone
    assert not report.identical
    assert any("inputs flagged were [none]" in d and "placeholder-date" in d for d in report.differences)


@pytest.mark.parametrize("record", ['{"as_of": "2026-11-23"}', None, 5])
def test_replay_names_a_record_of_the_wrong_type(record: Any) -> None:
    with pytest.raises(ng.InputError, match="^record: got "):  # was an AttributeError
        ng.replay(record)


# -- patient and catalog from Python ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [({"findings": {1: True}}, "findings.1"), ({"measurements": {None: "70 kg"}}, "measurements.None")],
)
def test_a_fact_name_that_is_not_a_string_is_named(data: dict[Any, Any], field: str) -> None:
    with pytest.raises(ng.InputError, match=f"^{field}: got .*a string"):  # was a TypeError from difflib
        ng.Patient.from_dict(data)


@pytest.mark.parametrize("root", ["/nonexistent/guidelines", 5])
def test_a_catalog_root_that_is_not_a_folder_is_named(root: Any) -> None:
    with pytest.raises(ng.InputError, match="^root: got .*expected a folder of guideline files"):
        ng.Catalog(root, allow_unlocked=True)  # was a FileNotFoundError / AttributeError


# -- cohort -----------------------------------------------------------------------------------------------------


def test_a_cohort_run_never_deletes_its_input() -> None:
    pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide.cohort._io import run

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "c.csv"
        src.write_text("patient_id,age\n1,60\n", encoding="utf-8")
        with pytest.raises(ng.InputError, match="overwritten"):
            run(src, src, as_of=AS_OF)
        assert src.read_text(encoding="utf-8") == "patient_id,age\n1,60\n"  # was deleted before the traceback


_CSV = "patient_id,age\n1,60\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["c.csv", "-o", "r.parquet", "--summary", "c.csv"],  # the page would replace the input
        ["c.csv", "-o", "r.parquet", "--summary", "r.parquet"],  # ... or the results
        ["c.csv", "-o", "r.parquet", "--errors", "r.parquet"],  # the errors table would replace the results
        ["c.csv", "-o", "r.parquet", "--summary", "r.errors.parquet"],  # ... or the default errors file
    ],
)
def test_a_cohort_run_refuses_outputs_that_name_one_file(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "c.csv"
        src.write_text(_CSV, encoding="utf-8")
        code = main(["cohort", *(str(Path(tmp) / a) if a.endswith((".csv", ".parquet")) else a for a in argv)])
        assert code == 2
        assert "would be overwritten" in capsys.readouterr().err
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["c.csv"]  # nothing written, before or after the run
        assert src.read_text(encoding="utf-8") == _CSV


def test_a_cohort_summary_never_replaces_the_results(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "c.csv", Path(tmp) / "r.parquet"
        src.write_text(_CSV, encoding="utf-8")
        assert main(["cohort", str(src), "-o", str(out), "--as-of", "2026-11-30", "--quiet"]) == 0
        before = out.read_bytes()
        capsys.readouterr()
        assert main(["cohort", "summary", str(out), "-o", str(out)]) == 2
        assert "would be overwritten" in capsys.readouterr().err
        assert out.read_bytes() == before


def test_a_corrupt_parquet_input_is_named() -> None:
    pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide.cohort._io import run

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "c.parquet"
        src.write_bytes(b"PAR1" + bytes(64))
        with pytest.raises(ng.InputError, match=r"^input: got .*c\.parquet.*expected a readable \.parquet file"):
            run(src, Path(tmp) / "o.parquet", as_of=AS_OF)  # was pyarrow's ArrowInvalid
        assert not (Path(tmp) / "o.parquet").exists()
