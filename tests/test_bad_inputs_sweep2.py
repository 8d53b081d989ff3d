"""The second robustness sweep (2026-11-30): odd input the first one left read silently.

Each case was read silently before: two patients under one cohort id, a birth date moved by a time zone, an
Observation with a value and a reason for its absence, a unit that disagrees with its UCUM code, a number sent as a
JSON string, an age of -0.0, CDS Hooks ``selections`` given as one string. Now each is a named error, a note, or a
value read one stated way.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from test_bad_inputs_interfaces import PATIENT, _call, _order, bundle, creatinine

AS_OF = dt.date(2026, 11, 23)


# -- patient JSON: -0.0 ----------------------------------------------------------------------------------------


def test_an_age_of_minus_zero_is_read_as_zero() -> None:
    patient = ng.Patient.from_json(json.dumps({"age": -0.0}))
    assert patient.age == 0.0 and math.copysign(1.0, patient.age) == 1.0  # was -0.0, recorded as -0.0
    assert "-0" not in json.dumps(patient.to_dict())


def test_an_age_below_zero_is_still_refused() -> None:
    with pytest.raises(ng.InputError, match="age"):
        ng.Patient.from_json(json.dumps({"age": -0.5}))


# -- FHIR reader ------------------------------------------------------------------------------------------------


@pytest.fixture
def fhir() -> Any:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    from neuroguide import fhir

    return fhir


def _read(fhir: Any, *resources: dict[str, Any]) -> Any:
    return fhir.read(bundle(PATIENT, *resources), as_of=AS_OF)


def _notes(reading: Any, kind: str) -> list[str]:
    return [f"{n.what}: {n.reason}" for n in reading.notes if n.kind.value == kind]


def test_a_value_with_a_data_absent_reason_is_a_conflict_not_used(fhir: Any) -> None:
    reason = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error"}]}
    reading = _read(fhir, creatinine(1.1, dataAbsentReason=reason))
    assert "serum-creatinine" not in reading.patient.measurements  # was used as 1.1 mg/dL
    (note,) = _notes(reading, "conflict")
    assert "obs-6" in note and "dataAbsentReason" in note and "not used" in note


def test_a_data_absent_reason_alone_is_still_only_excluded(fhir: Any) -> None:
    res = creatinine()
    del res["valueQuantity"]
    res["dataAbsentReason"] = {"text": "not performed"}
    reading = _read(fhir, res)
    assert not _notes(reading, "conflict") and _notes(reading, "excluded")


def _unit(unit: str, code: str, value: float = 1.1) -> dict[str, Any]:
    res = creatinine(value)
    res["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": code}
    return res


def test_a_unit_of_another_kind_than_its_code_is_a_conflict_not_used(fhir: Any) -> None:
    reading = _read(fhir, _unit("mg/dL", "umol/L", 97.0))
    assert "serum-creatinine" not in reading.patient.measurements  # was read as 97 umol/L without a word
    (note,) = _notes(reading, "conflict")
    assert "'mg/dL'" in note and "'umol/L'" in note and "different kinds" in note


def test_a_unit_of_the_same_kind_but_another_scale_is_read_by_its_code_with_a_note(fhir: Any) -> None:
    reading = _read(fhir, _unit("g/L", "mg/dL", 1.1))
    assert reading.patient.measurements["serum-creatinine"] is not None
    (note,) = _notes(reading, "assumption")
    assert "'g/L'" in note and "read in the code's unit" in note


@pytest.mark.parametrize("shown", ["mg/dL", "milligram per decilitre"])
def test_a_unit_that_agrees_or_is_display_text_has_no_note(fhir: Any, shown: str) -> None:
    reading = _read(fhir, _unit(shown, "mg/dL"))
    assert "serum-creatinine" in reading.patient.measurements
    assert not [n for n in reading.notes if "unit" in n.what]


def test_a_number_given_as_a_json_string_is_read_with_a_nonconformance_note(fhir: Any) -> None:
    reading = _read(fhir, creatinine("1.1"))
    assert "serum-creatinine" in reading.patient.measurements
    (note,) = _notes(reading, "nonconformant")
    assert "'1.1'" in note and "JSON number" in note  # was read with no note


# -- CDS Hooks: selections --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selections", "status"),
    [
        ("MedicationRequest/m1", 400),  # a string: was matched by substring ("MedicationRequest/m" matched too)
        ("MedicationRequest/m", 400),
        ([1], 400),
        ({"id": "MedicationRequest/m1"}, 400),
        (["MedicationRequest/m1"], 200),
    ],
    ids=["string", "substring", "not-strings", "object", "list"],
)
def test_selections_must_be_an_array_of_strings(tmp_path: Path, selections: Any, status: int) -> None:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import ServiceConfig, create_app

    body = _order()
    body["hook"] = "order-select"
    body["context"]["selections"] = selections
    app = create_app(ServiceConfig(database=f"sqlite:///{tmp_path}/s.sqlite", as_of=AS_OF))
    got, answer = _call(app, "/cds-services/neuroguide-order-select", json.dumps(body).encode())
    assert got == status, answer
    if status == 400:
        assert answer["error"] == "bad-request" and "context.selections" in answer["message"]
        assert "array of strings" in answer["message"]


# -- cohort: a patient id on two rows -------------------------------------------------------------------------


def _cohort() -> Any:
    pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide import cohort

    return cohort


def _table(ids: list[str]) -> Any:
    import polars as pl

    n = len(ids)
    return pl.DataFrame(
        {
            "patient_id": ids,
            "birth_date": [dt.date(1960, 1, 1)] * n,
            "diabetes_type": ["type-2"] * n,
            "diabetes_diagnosed": [dt.date(2010, 1, 1)] * n,
            "numbness": [True, False, True, None, True, False][:n],
        }
    )


def test_every_row_of_a_repeated_patient_id_is_refused_and_named() -> None:
    cohort = _cohort()
    res = cohort.evaluate(_table(["a", "b", "a", "c", "a"]), as_of=AS_OF, max_bad_share=1.0)
    dup = res.errors.filter(res.errors["column"] == "patient_id")
    assert dup.select("row", "patient_id", "value", "effect").rows() == [(r, "a", "a", "refused") for r in (0, 2, 4)]
    assert set(dup["expected"]) == {"a patient id used once (rows 0, 2, 4 have it)"}
    assert set(res.results["patient_id"].to_list()) == {"b", "c"}  # before: "a" had the results of three patients
    assert res.bad_rows == 3


def test_a_repeated_id_refuses_too_many_rows_past_the_limit() -> None:
    cohort = _cohort()
    with pytest.raises(cohort._errors.BadRowsError, match="patient_id"):
        cohort.evaluate(_table(["a", "a", "b", "c"]), as_of=AS_OF)


def test_documents_with_one_id_are_refused_alike() -> None:
    cohort = _cohort()
    docs = [{"id": "x", "findings": {"numbness": True}}, {"id": "y"}, {"id": "x", "findings": {"numbness": False}}]
    res = cohort.evaluate(docs, as_of=AS_OF, max_bad_share=1.0)
    assert res.errors.filter(res.errors["column"] == "patient_id")["row"].to_list() == [0, 2]
    assert "x" not in res.results["patient_id"].to_list()


def test_without_a_patient_id_column_rows_are_never_repeats() -> None:
    cohort = _cohort()
    res = cohort.evaluate(_table(["a", "b", "a"]).drop("patient_id"), as_of=AS_OF)
    assert not res.errors.height


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".arrow"])
def test_a_run_refuses_an_id_repeated_across_batches(tmp_path: Path, suffix: str) -> None:
    cohort = _cohort()
    import polars as pl

    table = _table(["a", "b", "c", "d", "a", "e"])
    src = tmp_path / f"in{suffix}"
    if suffix == ".parquet":
        table.write_parquet(src)
    elif suffix == ".csv":
        table.write_csv(src)
    else:
        table.write_ipc(src)
    out = tmp_path / "out.parquet"
    summary = cohort.run(src, out, as_of=AS_OF, batch_rows=2, max_bad_share=1.0)  # "a" in batches 0 and 2
    errors = pl.read_parquet(summary.errors).filter(pl.col("column") == "patient_id")
    expected = "a patient id used once (rows 0, 4 have it)"
    assert errors.select("row", "expected").rows() == [(0, expected), (4, expected)]
    assert "a" not in pl.read_parquet(out)["patient_id"].to_list()
    whole = cohort.evaluate(table, as_of=AS_OF, max_bad_share=1.0)
    assert pl.read_parquet(out).sort("row", "rule").equals(whole.results.sort("row", "rule"))


def test_a_time_zone_aware_birth_date_column_is_refused_by_name() -> None:
    cohort = _cohort()
    import polars as pl

    table = _table(["a"]).with_columns(
        pl.datetime(1960, 1, 1, time_zone="Europe/Berlin").dt.convert_time_zone("UTC").alias("birth_date")
    )  # 1959-12-31T23:00Z: its UTC date is a day early
    with pytest.raises(cohort._errors.SchemaError) as caught:
        cohort.evaluate(table, as_of=AS_OF)
    (problem,) = caught.value.problems
    assert problem[0] == "birth_date" and "UTC" in problem[1] and "time zone" in problem[2]


def test_a_naive_datetime_birth_date_column_is_still_read_as_its_date() -> None:
    cohort = _cohort()
    import polars as pl

    table = _table(["a"]).with_columns(pl.datetime(1960, 1, 1, 12).alias("birth_date"))
    assert not cohort.evaluate(table, as_of=AS_OF).errors.height


def test_a_json_lines_run_refuses_an_id_repeated_across_batches(tmp_path: Path) -> None:
    cohort = _cohort()
    import polars as pl

    docs = [{"id": i, "findings": {"numbness": True}} for i in ("a", "b", "c", "d", "a")]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([json.dumps(d) for d in docs] + ['{"id": 5}', "not json", ""]) + "\n")
    summary = cohort.run(src, tmp_path / "out.parquet", as_of=AS_OF, batch_rows=2, max_bad_share=1.0)
    errors = pl.read_parquet(summary.errors)
    assert errors.filter(pl.col("column") == "patient_id")["row"].to_list() == [0, 4]
    assert "a" not in pl.read_parquet(summary.output)["patient_id"].to_list()
    assert summary.rows == 7


def test_the_dask_engine_refuses_an_id_repeated_across_tasks(tmp_path: Path) -> None:
    cohort = _cohort()
    pytest.importorskip("distributed", reason="needs the dask extra")
    import polars as pl

    src = tmp_path / "in.parquet"
    _table(["a", "b", "c", "d", "a", "e"]).write_parquet(src)
    local = cohort.run(src, tmp_path / "local.parquet", as_of=AS_OF, batch_rows=2, max_bad_share=1.0)
    dask = cohort.run(src, tmp_path / "dask", as_of=AS_OF, batch_rows=2, max_bad_share=1.0, engine="dask", workers=2)
    want = pl.read_parquet(local.errors)
    assert want.filter(pl.col("column") == "patient_id")["row"].to_list() == [0, 4]
    assert pl.read_parquet(dask.errors).equals(want)
    assert cohort.read_results(dask.output).equals(pl.read_parquet(local.output))


def test_time_zone_aware_medication_dates_are_refused_by_name() -> None:
    cohort = _cohort()
    import polars as pl

    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    meds = pl.Series("medications", [[{"agent": "gabapentin", "dose": "900 mg", "per": "day", "started": start}]])
    with pytest.raises(cohort._errors.SchemaError) as caught:
        cohort.evaluate(pl.DataFrame({"patient_id": ["a"]}).with_columns(meds), as_of=AS_OF)
    (problem,) = caught.value.problems
    assert problem[0] == "medications" and "started: UTC" in problem[2]  # was read silently as its UTC date
