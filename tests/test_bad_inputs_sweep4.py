"""The fourth robustness sweep (2026-12-01): limits, the public API's wrong types, and quantities that are no number.

Each case was wrong before: a ``Patient`` built with a list, a string or a NaN where a mapping, a date or a number
belongs raised an AttributeError or TypeError from deep inside (or was read: a NaN HbA1c compares false with every
threshold, an age of "50" was ignored), a ``Quantity`` holding NaN was checked as a dose ("nan mg per day"), a limit
written with an unread sign ("≤150 pg/mL") was called a unit error and a limit's error quoted the text without its
comparator. The catalogue (``tests/data/bad_inputs``) holds the cases its format can express.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroguide as ng

AS_OF = dt.date(2026, 11, 23)
EXAMPLE = Path(__file__).parents[1] / "examples" / "indeterminate-b12.json"


@pytest.fixture
def fhir() -> Any:
    pytest.importorskip("fhir.resources", reason="needs the fhir extra")
    from neuroguide import fhir

    return fhir


def _patient(**measurements: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["measurements"].update(measurements)
    return data


# -- Patient built directly -------------------------------------------------------------------------------------

Q = ng.Quantity


@pytest.mark.parametrize(
    ("fields", "field", "expected"),
    [
        ({"findings": ["tingling"]}, "findings", "a mapping of fact name"),
        ({"findings": {"tingling": "yes"}}, "findings.tingling", "true or false"),
        ({"measurements": None}, "measurements", "a mapping of fact name"),
        ({"measurements": [1, 2]}, "measurements", "a mapping of fact name"),
        ({"measurements": {"hba1c": float("nan")}}, "measurements.hba1c", "a finite number"),
        ({"measurements": {"hba1c": 250.0}}, "measurements.hba1c", "a value between"),
        ({"limits": None, "measurements": {"b12-total": Q(150, "ng/L")}}, "limits", "a mapping of fact name"),
        ({"limits": ["<"], "measurements": {"b12-total": Q(150, "ng/L")}}, "limits", "a mapping of fact name"),
        ({"last": {"b12-test": "2026-01-01"}}, "last.b12-test", "a datetime.date"),
        ({"birth_date": "1960-01-01"}, "birth_date", "a datetime.date"),
        ({"birth_date": dt.datetime(1960, 1, 1)}, "birth_date", "a datetime.date"),
        ({"age": "50"}, "age", "a number of years"),
        ({"age": 500}, "age", "an age in years from 0 to 120"),
        ({"sex": "x"}, "sex", "'female', 'male'"),
        ({"diabetes": {"type": "type-2"}}, "diabetes", "a Diabetes"),
        ({"medications": ("gabapentin",)}, "medications[0]", "a Medication"),
        ({"medications": (ng.Medication(agent="gabapentin", started="2025-01-01"),)}, "medications[0].started", "date"),  # type: ignore[arg-type]
        ({"id": 5}, "id", "a string"),
    ],
)
def test_a_patient_field_of_the_wrong_type_is_named(fields: dict[str, Any], field: str, expected: str) -> None:
    with pytest.raises(ng.InputError) as caught:
        ng.Patient(**fields)  # was an AttributeError or TypeError from assess, or the value ignored or read
    assert f"{field}: got " in str(caught.value)
    assert expected in str(caught.value)


def test_a_nan_measurement_is_not_read_as_normal() -> None:
    with pytest.raises(ng.InputError, match="measurements.hba1c: got nan; expected a finite number"):
        ng.assess(ng.Patient(measurements={"hba1c": float("nan")}), as_of=AS_OF)


def test_a_patient_with_a_list_of_medications_keeps_a_tuple() -> None:
    p = ng.Patient(medications=[ng.Medication(agent="gabapentin")])  # type: ignore[arg-type]
    assert p.medications == (ng.Medication(agent="gabapentin"),)


def test_a_correct_patient_is_still_accepted() -> None:
    p = ng.Patient(
        age=70,
        sex="female",
        birth_date=dt.date(1956, 1, 1),
        findings={"tingling": True},
        measurements={"b12-total": Q(150, "ng/L"), "hba1c": 5.4},
        limits={"b12-total": "<"},
        last={"b12-test": dt.date(2026, 1, 1)},
        medications=(ng.Medication(agent="gabapentin", started=dt.date(2025, 1, 1)),),
    )
    assert p.normalized["b12-total"] == 150.0
    ng.assess(p, as_of=AS_OF)


# -- Quantities that are no number ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_dose_quantity_that_is_not_finite_is_refused(value: float) -> None:
    from neuroguide.units import quantity

    with pytest.raises(ng.UnitError, match="^dose: got .*; expected a quantity with a finite real number"):
        ng.check_dose("gabapentin", quantity(value, "mg"), per="day")  # nan was "not covered", inf "implausible"


@pytest.mark.parametrize("value", ["5", None, True, float("nan"), float("inf")])
def test_a_quantity_of_something_else_than_a_finite_number_is_refused(value: Any) -> None:
    with pytest.raises(ng.UnitError, match="^value: got "):
        ng.Quantity(value, "mg")  # was a quantity of the text '5' (a TypeError later), or of NaN


# -- Limits in a patient document ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["≤150 ng/L", "≥1000 ng/L", "＜150 ng/L", "=<150 ng/L", "=150 ng/L", "~150 ng/L"])
def test_a_limit_with_a_sign_that_is_not_read_is_named_as_such(text: str) -> None:
    with pytest.raises(ng.UnitError) as caught:
        ng.Patient.from_dict(_patient(**{"b12-total": text}))
    assert str(caught.value) == (
        f"measurements.b12-total: got {text!r}; expected a limit written with <, <=, > or >= (as '<=150 pg/mL'), "
        "or an exact value"
    )  # was "expected a number followed by a unit"


@pytest.mark.parametrize("text", ["<<150 ng/L", "<", "< ", "<150", "<ng/L", "<150 %", "<150 ng/L extra"])
def test_a_limit_that_cannot_be_read_is_quoted_whole(text: str) -> None:
    with pytest.raises(ng.UnitError) as caught:
        ng.Patient.from_dict(_patient(**{"b12-total": text}))
    assert f"measurements.b12-total: got {text!r};" in str(caught.value)  # was the text without its comparator


@pytest.mark.parametrize(("text", "comparator"), [("<150 ng/L", "<"), ("< 150 ng / L", "<"), (">= 1000 ng/L", ">=")])
def test_a_limit_with_odd_spacing_is_still_read_as_a_limit(text: str, comparator: str) -> None:
    p = ng.Patient.from_dict(_patient(**{"b12-total": text}))
    assert p.limits == {"b12-total": comparator}
    assert p.to_dict()["measurements"]["b12-total"].startswith(comparator)


# -- Rule statuses ------------------------------------------------------------------------------------------------


def test_no_status_at_all_is_refused() -> None:
    p = ng.Patient.from_dict(_patient())
    with pytest.raises(ng.InputError, match=r"^statuses: got \(\); expected at least one rule status"):
        ng.assess(p, as_of=AS_OF, statuses=[])  # was an assessment of no rule, every fact "missing"
    with pytest.raises(ng.InputError, match=r"^statuses: got \(\); expected at least one rule status"):
        ng.check_dose("gabapentin", "300 mg", per="day", statuses=[])  # was "gabapentin-phn ... in review"


def test_an_unknown_status_from_an_iterator_is_shown_whole() -> None:
    with pytest.raises(ng.InputError, match=r"^statuses: got \('approved', 'nope'\);"):
        ng.assess(ng.Patient.from_dict(_patient()), as_of=AS_OF, statuses=iter(["approved", "nope"]))


@pytest.mark.parametrize("status", ["in-review", "draft", "retired"])
def test_an_approved_regimen_outside_the_statuses_asked_is_not_called_in_review(status: str) -> None:
    with pytest.raises(ng.UnknownAgentError) as caught:
        ng.check_dose("gabapentin", "300 mg", per="day", statuses=[status])
    text = str(caught.value)
    assert text.startswith(f"no dosing regimen of the statuses asked ({status}) names 'gabapentin': ")
    assert "gabapentin-phn (drug-dosing 2026.4), approved" in text
    assert (
        "not yet verified" not in text
    )  # was: the approved regimens "in review (its source text is not yet verified)"


# -- Cohort ---------------------------------------------------------------------------------------------------------


def test_a_text_in_a_cohort_number_column_is_not_called_out_of_range() -> None:
    pl = pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide import cohort

    table = pl.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d", "e"],
            "b12-total": ["<150", "150 ng/L", "≤150", "nan", "150"],
            "serum-creatinine[umol/L]": ["80", "80", "80", "80", "<50"],
        }
    )
    errors = cohort.evaluate(table, as_of=AS_OF, max_bad_share=1.0).errors
    expected = dict(zip(errors["value"].to_list(), errors["expected"].to_list(), strict=True))
    limit = "; a limit such as '<150' is read only from patient documents (JSON lines)"
    for text in ("<150", "150 ng/L", "≤150"):  # was "a value between 1 and 100000 ng/L"
        assert expected[text] == f"a plain number in ng/L (a unit goes in the column name, as 'name[unit]'){limit}"
    assert expected["nan"] == "a finite value between 1 and 100000 ng/L"
    assert expected["<50"].startswith("a plain number in umol/L (")  # the column's unit; no limit for creatinine
    assert "limit" not in expected["<50"]


_CSV = "patient_id,age\n1,60\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", "r.parquet", "--errors", "{tmp}"], "errors: got '{tmp}'; expected a file path, not a folder"),
        (["-o", "{tmp}"], "output: got '{tmp}'; expected a file path, not a folder"),
        (["-o", "r.parquet", "--summary", "{tmp}"], "summary: got '{tmp}'; expected a file path, not a folder"),
        (
            ["-o", "r.csv"],
            "output: got '{tmp}/r.csv'; expected a .parquet file (the output table is written as Parquet)",
        ),
        (["-o", "r.parquet", "--errors", "e.csv"], "errors: got '{tmp}/e.csv'; expected a .parquet file"),
    ],
)
def test_a_cohort_output_that_is_a_folder_or_another_format_is_refused_first(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.csv").write_text(_CSV, encoding="utf-8")
        args = [a.replace("{tmp}", tmp) if a == "{tmp}" else str(Path(tmp) / a) if "." in a else a for a in argv]
        assert main(["cohort", str(Path(tmp) / "c.csv"), *args, "--as-of", "2026-11-30", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert message.replace("{tmp}", tmp) in err  # a folder was pyarrow's IsADirectoryError after the results
        assert "Traceback" not in err
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["c.csv"]  # nothing written


def test_a_cohort_summary_of_odd_paths_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    pl = pytest.importorskip("polars", reason="needs the cohort extra")
    from neuroguide.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "c.csv", Path(tmp) / "r.parquet"
        src.write_text(_CSV, encoding="utf-8")
        assert main(["cohort", str(src), "-o", str(out), "--as-of", "2026-11-30", "--quiet"]) == 0
        capsys.readouterr()
        assert main(["cohort", "summary", str(out), "-o", tmp]) == 2  # was IsADirectoryError
        assert f"output: got '{tmp}'; expected a file path for the HTML page, not a folder" in capsys.readouterr().err
        pl.read_parquet(out).drop("rule").write_parquet(Path(tmp) / "x.parquet")
        assert main(["cohort", "summary", str(Path(tmp) / "x.parquet"), "-o", str(Path(tmp) / "s.html")]) == 2
        assert "(it has no column 'rule')" in capsys.readouterr().err  # was "(ColumnNotFoundError)"
        assert main(["cohort", "summary", "/", "-o", str(Path(tmp) / "s.html")]) == 2  # was "has an empty name"
        err = capsys.readouterr().err
        assert "results: got '/'" in err
        assert "Traceback" not in err


# -- CDS Hooks prefetch ---------------------------------------------------------------------------------------------


def _patient_view(tmp_path: Path, prefetch: dict[str, Any]) -> str:
    pytest.importorskip("starlette", reason="needs the service extra")
    from neuroguide.service import ServiceConfig, create_app
    from test_bad_inputs_interfaces import _call

    app = create_app(ServiceConfig(database=f"sqlite:///{tmp_path}/s.sqlite", as_of=AS_OF))
    body = {
        "hook": "patient-view",
        "hookInstance": "h1",
        "context": {"patientId": "p1", "userId": "Practitioner/1"},
        "prefetch": prefetch,
    }
    status, answer = _call(app, "/cds-services/neuroguide-patient-view", json.dumps(body).encode())
    assert status == 200, answer
    return json.dumps(answer)


def _searchset(*resources: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources], **fields}


_KEYS = ("conditions", "observations", "procedures", "medicationStatements", "medicationRequests")


def test_a_null_prefetch_is_named_as_absent(tmp_path: Path) -> None:
    from test_bad_inputs_interfaces import PATIENT

    answer = _patient_view(tmp_path, {"patient": PATIENT, **{k: _searchset() for k in _KEYS}, "observations": None})
    # was no note: null (the client could not fetch it) was read as "no observations"
    assert "the CDS Client sent it as null; that kind of data is unknown" in answer
    assert answer.count("prefetch key absent") == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"link": [{"relation": "next", "url": "http://ehr.example/fhir/Observation?page=2"}]}, "has a next page"),
        ({"total": 50}, "total is 50 matches, but it holds 1"),
    ],
)
def test_a_prefetch_of_one_page_of_many_is_named(tmp_path: Path, fields: dict[str, Any], reason: str) -> None:
    from test_bad_inputs_interfaces import PATIENT, creatinine

    prefetch = {
        "patient": PATIENT,
        **{k: _searchset() for k in _KEYS},
        "observations": _searchset(creatinine(), **fields),
    }
    answer = _patient_view(tmp_path, prefetch)
    assert "Bundle incomplete" in answer  # was read as the whole record
    assert reason in answer


def test_a_complete_prefetch_has_no_incomplete_note(tmp_path: Path) -> None:
    from test_bad_inputs_interfaces import PATIENT, creatinine

    prefetch = {
        "patient": PATIENT,
        **{k: _searchset() for k in _KEYS},
        "observations": _searchset(creatinine(), total=1),
    }
    answer = _patient_view(tmp_path, prefetch)
    assert "Bundle incomplete" not in answer
    assert "prefetch key absent" not in answer


def test_fhir_read_names_a_searchset_of_one_page_of_many(fhir: Any) -> None:
    from test_bad_inputs_interfaces import PATIENT, creatinine

    data = _searchset(PATIENT, creatinine(), link=[{"relation": "next", "url": "http://ehr.example/fhir/p2"}])
    notes = [(n.kind.value, n.what, n.reason) for n in fhir.read(data, as_of=AS_OF).notes]
    assert (
        "excluded",
        "Bundle incomplete",
        "the searchset Bundle has a next page (link relation 'next'); further pages are not fetched",
    ) in notes  # was no note: one page read as the whole record


# -- Records: edited by hand ----------------------------------------------------------------------------------------


def _record() -> dict[str, Any]:
    data: dict[str, Any] = ng.assess(ng.Patient.from_dict(_patient()), as_of=AS_OF).record.to_dict()
    return data


@pytest.mark.parametrize("value", ["abc", "", {"a": 1}, [5]])
def test_a_record_list_of_texts_given_as_something_else_is_refused(value: Any) -> None:
    record = _record()
    record["trace"][0]["leaves"] = value  # "abc" was read as ("a", "b", "c"), "" and {} as no leaves, 5 as "5"
    with pytest.raises(ng.InputError, match=r"^record\.trace\[0\]\.leaves: got .*; expected a list of texts"):
        ng.replay(record)


@pytest.mark.parametrize("value", [[], {}])
def test_a_record_status_that_is_no_text_is_named(value: Any) -> None:
    record = _record()
    record["statuses"] = [value]
    with pytest.raises(ng.InputError, match=r"^record\.statuses: got "):
        ng.replay(record)  # was a TypeError (unhashable type)


@pytest.mark.parametrize("value", [[], {}])
def test_a_status_that_is_no_text_is_named(value: Any) -> None:
    with pytest.raises(ng.InputError, match=r"^statuses: got "):
        ng.assess(ng.Patient.from_dict(_patient()), as_of=AS_OF, statuses=[value])  # was a TypeError
    with pytest.raises(ng.InputError, match=r"^statuses: got "):
        ng.check_dose("gabapentin", "300 mg", per="day", statuses=[value])


def test_an_unedited_record_still_replays_identical() -> None:
    assert ng.replay(_record()).identical


# -- Property: any text given for a limited measurement ------------------------------------------------------------

_SIGNS = st.sampled_from(["<", "<=", ">", ">=", "≤", "≥", "=", "<<", "", " <", "< ", "~"])
_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10, 10**6).map(str), st.just("")
)
_UNITS = st.sampled_from(["ng/L", "pg/mL", "pmol/L", "ng / L", "%", "mg", "degC", "", "ng/L extra", "mmol/mol"])


@settings(max_examples=300, deadline=None)
@given(sign=_SIGNS, number=_NUMBERS, unit=_UNITS, spaces=st.sampled_from(["", " ", "  ", "\u00a0"]))
def test_any_limit_text_is_read_whole_or_refused_naming_it(sign: str, number: str, unit: str, spaces: str) -> None:
    text = f"{sign}{spaces}{number} {unit}"
    refused: ng.InputError | None = None
    try:
        p = ng.Patient.from_dict({"measurements": {"b12-total": text}})
    except ng.InputError as exc:
        refused = exc
    if refused is not None:
        assert str(refused).startswith(f"measurements.b12-total: got {text!r}; expected ")  # the text as written
        return
    value = p.normalized["b12-total"]
    assert math.isfinite(value)
    comparator = p.limits.get("b12-total")
    assert comparator == (sign.strip() or None)  # a limit is kept as a limit, an exact value as exact
    assert p.to_dict()["measurements"]["b12-total"].startswith(comparator or "")


@pytest.mark.parametrize("comparator", [5, "ad", "≤", "="])
def test_a_fhir_comparator_that_is_no_limit_is_shown_apart_from_the_value(fhir: Any, comparator: Any) -> None:
    from test_bad_inputs_interfaces import PATIENT, bundle, creatinine

    res = creatinine(code={"coding": [{"system": "http://loinc.org", "code": "2132-9"}]})
    res["valueQuantity"] = {
        "value": 150,
        "system": "http://unitsofmeasure.org",
        "code": "ng/L",
        "comparator": comparator,
    }
    reading = fhir.read(bundle(PATIENT, res), as_of=AS_OF)
    assert "b12-total" not in reading.patient.measurements
    notes = [(n.what, n.reason) for n in reading.notes if n.kind.value == "excluded"]
    # was "b12-total 5150 ng/L": the comparator 5 read as part of the number
    assert ("b12-total 150 ng/L", f"comparator {str(comparator)!r} is not a limit (<, <=, >, >=)") in notes
