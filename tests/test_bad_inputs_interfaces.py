"""Odd and malformed input at the FHIR reader, the CDS Hooks service, the cohort table and the API's options.

Each case was found by the robustness sweep of 2026-11-30: before the fix it raised a non-neuroguide exception
(a 500 from the service), or read a value silently. Now it is a named error, or a note that says what was not used.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng

AS_OF = dt.date(2026, 11, 23)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1962-03-14", "gender": "male"}
SUBJECT = {"reference": "Patient/p1"}
EXAMPLES = Path(__file__).parents[1] / "examples"


def creatinine(value: Any = 1.1, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "c1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2160-0"}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": value, "system": UCUM, "code": "mg/dL"},
        **fields,
    }


def request(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": SUBJECT,
        "authoredOn": "2025-01-01",
        "medicationCodeableConcept": {"text": "gabapentin"},
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 1200, "system": UCUM, "code": "mg"}}],
            }
        ],
        **fields,
    }


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


# -- FHIR reader -----------------------------------------------------------------------------------------------


@pytest.fixture
def fhir() -> Any:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    from neuroguide import fhir

    return fhir


def _notes(reading: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in reading.notes:
        out.setdefault(n.resource, []).append(f"{n.kind.value}: {n.what}: {n.reason}")
    return out


@pytest.mark.parametrize(
    ("change", "kind", "says"),
    [
        # one value under a creatinine code and a weight code: which was meant is unknown (the first was used)
        (
            {"code": {"coding": [{"system": LOINC, "code": "2160-0"}, {"system": LOINC, "code": "29463-7"}]}},
            "conflict",
            "different facts",
        ),
        ({"effectiveDateTime": "1950-01-01"}, "excluded", "before the birth date"),  # was used
        (
            {"effectiveDateTime": None, "effectivePeriod": {"start": "2026-10-01", "end": "2026-01-01"}},
            "excluded",
            "ends",
        ),
    ],
    ids=["codes-name-two-facts", "dated-before-birth", "period-reversed"],
)
def test_an_observation_that_cannot_be_placed_or_named_is_not_used(
    fhir: Any, change: dict[str, Any], kind: str, says: str
) -> None:
    res = {k: v for k, v in {**creatinine(), **change}.items() if v is not None}
    reading = fhir.read(bundle(PATIENT, res), as_of=AS_OF)
    assert "serum-creatinine" not in reading.patient.measurements
    notes = " | ".join(_notes(reading)["Observation/c1"])
    assert kind in notes and says in notes, notes


@pytest.mark.parametrize("status", ["stopped", "completed", "on-hold"])
def test_an_ended_medication_without_an_end_date_is_said(fhir: Any, status: str) -> None:
    reading = fhir.read(bundle(PATIENT, request(status=status)), as_of=AS_OF)
    assert [m.agent for m in reading.patient.medications] == ["gabapentin"]
    notes = " | ".join(_notes(reading)["MedicationRequest/m1"])
    assert f"status {status}" in notes and "read as" in notes and "taken" in notes


def test_a_dose_given_as_a_range_or_text_is_said_not_checked(fhir: Any) -> None:
    ranged = request(
        dosageInstruction=[
            {"doseAndRate": [{"doseRange": {"low": {"value": 300, "system": UCUM, "code": "mg"}}}]},
        ]
    )
    reading = fhir.read(bundle(PATIENT, ranged), as_of=AS_OF)
    assert reading.patient.medications[0].dose is None
    assert "doseRange" in " ".join(_notes(reading)["MedicationRequest/m1"])
    text_only = request(dosageInstruction=[{"text": "300 mg three times a day"}])
    assert "text" in " ".join(_notes(fhir.read(bundle(PATIENT, text_only), as_of=AS_OF))["MedicationRequest/m1"])


@pytest.mark.parametrize(
    "text",
    [
        '{"resourceType": "Patient", "id": "p1", "gender": "male", "gender": "female"}',
        "[" * 100_000 + "]" * 100_000,
        '{"resourceType": "Patient", "id": "p1", "multipleBirthInteger": ' + "9" * 5000 + "}",
    ],
    ids=["duplicate-key", "deep-nesting", "huge-integer"],
)
def test_fhir_json_text_is_parsed_strictly(fhir: Any, text: str) -> None:
    if "multipleBirthInteger" in text:  # was a ValueError; the field is not read, so the chart is
        assert fhir.read(text, as_of=AS_OF).patient.id == "p1"
        return
    with pytest.raises(ng.InputError, match="duplicate|nested too deeply"):  # was one value kept / RecursionError
        fhir.read(text, as_of=AS_OF)


@pytest.mark.parametrize(
    "resource",
    [
        creatinine(2**70),  # over 64 bits: the FHIR check's encoder refused it with a TypeError
        {**creatinine(), **dict[Any, Any]({5: "x"})},  # a key that is not a string
        {**creatinine(), "id": "\udc80"},  # a lone surrogate
    ],
    ids=["int-over-64-bits", "non-string-key", "lone-surrogate"],
)
def test_a_resource_that_is_not_json_is_nonconformant_not_a_crash(fhir: Any, resource: dict[Any, Any]) -> None:
    reading = fhir.read(bundle(PATIENT, resource), as_of=AS_OF)
    assert any(n.kind.value == "nonconformant" for n in reading.notes)


_JUNK: list[Any] = ["x", 5, -1, None, [], {}, True, [None], ["x"], {"a": 1}, 1e308, "", [{}], {"coding": "x"}]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out += _paths(v, (*prefix, k))
    return out


def test_malformed_elements_anywhere_never_crash_the_reader(fhir: Any) -> None:
    """A seeded mutation run: any element replaced by a value of the wrong shape is noted, or a named error."""
    rng = random.Random(20261130)
    charts = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((EXAMPLES / "fhir").glob("*.json"))]
    for chart in charts:
        pid = next(e["resource"]["id"] for e in chart["entry"] if e["resource"]["resourceType"] == "Patient")
        subject = {"reference": f"Patient/{pid}"}
        chart["entry"] += [{"resource": {**request(), "subject": subject}}]
    for _ in range(400):
        chart = copy.deepcopy(rng.choice(charts))
        res = rng.choice(chart["entry"])["resource"]
        path = rng.choice([p for p in _paths(res) if p != ("resourceType",)])
        target = res
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = copy.deepcopy(rng.choice(_JUNK))
        try:
            reading = fhir.read(chart, as_of=AS_OF, conformance=False)
            ng.assess(reading.patient, as_of=AS_OF)
        except ng.NeuroguideError:
            pass


# -- CDS Hooks service (in process, through its ASGI app) ---------------------------------------------------------


def _call(app: Any, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)

    asyncio.run(run())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def _order(**dosage: Any) -> dict[str, Any]:
    draft = {**request(status="draft"), "dosageInstruction": [{**request()["dosageInstruction"][0], **dosage}]}
    return {
        "hook": "order-sign",
        "hookInstance": "h-1",
        "context": {"userId": "Practitioner/1", "patientId": "p1", "draftOrders": bundle(draft)},
        "prefetch": {"patient": PATIENT},
    }


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("patient-view", b'{"hook": "patient-view", "hook": "order-sign", "hookInstance": "a"}', 400, "malformed-json"),
        ("patient-view", b'{"hook": NaN}', 400, "malformed-json"),
        ("patient-view", b"\xff\xfe{}", 400, "malformed-json"),
        ("patient-view", b'{"hook": "patient-view", "hookInstance": "\\ud800"}', 400, "malformed-json"),  # unstorable
        ("order-sign", json.dumps(_order(timing="x")).encode(), 200, None),  # was a 500 (AttributeError)
        ("order-sign", json.dumps(_order(doseAndRate={"a": 1})).encode(), 200, None),  # was a 500 (KeyError)
        (
            "order-sign",
            json.dumps(
                {
                    **_order(),
                    "context": {
                        "userId": "Practitioner/1",
                        "patientId": "p1",
                        "draftOrders": {**bundle(), "entry": "x"},
                    },
                }
            ).encode(),
            400,
            "bad-request",  # was 200 with no cards: the order silently unchecked
        ),
    ],
    ids=[
        "duplicate-key",
        "nan",
        "not-utf8",
        "lone-surrogate",
        "timing-string",
        "dose-and-rate-object",
        "entry-not-a-list",
    ],
)
def test_the_service_names_bad_bodies_and_never_fails_with_500(
    tmp_path: Path, path: str, body: bytes, status: int, error: str | None
) -> None:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import ServiceConfig, create_app

    app = create_app(ServiceConfig(database=f"sqlite:///{tmp_path}/s.sqlite", as_of=AS_OF))
    got, answer = _call(app, f"/cds-services/neuroguide-{path}", body)
    assert got == status, answer
    if error is not None:
        assert answer["error"] == error and answer["message"]
    else:
        assert any("could not be used" in c["summary"] for c in answer["cards"]), answer


# -- cohort -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("{not json", "valid JSON"),
        ('[{"agent": "gabapentin", "dose": NaN}]', "NaN"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"agent": "gabapentin"}', "a JSON list of medication objects"),
        # read silently by the fast decoder before: one of two keys kept, an unknown key dropped, a bad date as null
        ('[{"agent": "gabapentin", "agent": "pregabalin"}]', "each key once"),
        ('[{"agent": "gabapentin", "dose": "300 mg", "per": "day", "frequency": "tid"}]', "frequency: a field from"),
        ('[{"agent": "gabapentin", "stopped": "2024-02-30"}]', "stopped: a date as YYYY-MM-DD"),
    ],
    ids=["not-json", "nan", "deep", "object-not-list", "duplicate-key", "unknown-key", "impossible-date"],
)
def test_a_bad_medications_cell_is_named_and_the_other_rows_are_read(cell: str, expected: str) -> None:
    pl = pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide import cohort

    good = '[{"agent": "gabapentin", "dose": "900 mg", "per": "day"}]'
    rows = 40  # one bad row in 40 is below the default bad-row share
    table = pl.DataFrame(
        {"patient_id": [str(i) for i in range(rows)], "age": [60.0] * rows, "medications": [cell] + [good] * (rows - 1)}
    )
    result = cohort.evaluate(table, as_of=AS_OF)  # was polars' ComputeError for the whole batch
    errors = result.errors.to_dicts()
    assert [(e["column"], e["patient_id"]) for e in errors] == [("medications", "0")]
    assert expected in errors[0]["expected"]


def test_a_fractional_boolean_column_is_named_not_a_polars_error() -> None:
    pl = pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide import cohort

    table = pl.DataFrame({"patient_id": [str(i) for i in range(40)], "numbness": [0.5] + [1.0] * 39})
    errors = cohort.evaluate(table, as_of=AS_OF).errors.to_dicts()
    assert [(e["column"], e["value"]) for e in errors] == [("numbness", "0.5")]


# -- the API's options ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("statuses", 5),
        ("statuses", "approved"),  # was read letter by letter
        ("pins", "x"),
        ("pins", {5: "1"}),
        ("guidelines", "ada-diabetes-diagnosis"),  # was read letter by letter ("unknown guideline '-'")
        ("guidelines", [5]),
        ("source", 5),
        ("site", 5),
    ],
)
def test_an_option_of_the_wrong_type_is_named(option: str, value: Any) -> None:
    with pytest.raises(ng.InputError, match=f"^{option}: got "):
        ng.assess({"age": 60}, as_of=AS_OF, **{option: value})


def test_guidelines_may_still_be_any_iterable() -> None:
    wanted = iter(["ada-diabetes-diagnosis"])
    result = ng.assess({"age": 60}, as_of=AS_OF, guidelines=wanted)
    assert [g.id for g in result.record.guidelines] == ["ada-diabetes-diagnosis"]


def test_replay_names_a_source_of_the_wrong_type() -> None:
    record = ng.assess({"age": 60}, as_of=AS_OF).record
    with pytest.raises(ng.InputError, match="^source: got "):
        ng.replay(record, source=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ['{"as_of": "2020-01-01", "as_of": "2026-11-23"}', "[" * 100_000, '{"as_of": ' + "9" * 5000 + "}"],
    ids=["duplicate-key", "deep-nesting", "huge-integer"],
)
def test_a_record_text_is_parsed_strictly(text: str) -> None:
    with pytest.raises(ng.InputError, match=r"duplicate|nested too deeply|record\.as_of: got inf; expected a date"):
        ng.EvaluationRecord.from_json(text)


@pytest.mark.parametrize(
    ("option", "value"),
    [("table", 5), ("table", "patients.csv"), ("units", "kg"), ("max_bad_share", "x"), ("max_bad_share", True)],
)
def test_a_cohort_option_of_the_wrong_type_is_named(option: str, value: Any) -> None:
    pl = pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide import cohort

    options: dict[str, Any] = {"table": pl.DataFrame({"age": [60.0]}), option: value}
    table = options.pop("table")
    with pytest.raises(ng.InputError, match=f"^{option}: got "):  # were TypeErrors (or every letter a bad row)
        cohort.evaluate(table, as_of=AS_OF, **options)
