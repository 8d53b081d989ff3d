"""The columnar JSON-lines reader gives exactly what the per-document path gives, line by line.

For every generated line (good documents, documents with one odd or bad value, lines that are not
documents) the reader either refuses it as ``Patient.from_dict`` does (the same errors-table row:
row, field, value, expectation) or gives the same wide row, hence the same cohort results.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pl = pytest.importorskip("polars")
pytest.importorskip("pyarrow")

from neuroguide._jsonin import loads  # noqa: E402
from neuroguide._vocabulary import vocabulary  # noqa: E402
from neuroguide.cli import main  # noqa: E402
from neuroguide.cohort import _io, _jsonl  # noqa: E402
from neuroguide.cohort import evaluate as cohort_evaluate  # noqa: E402
from neuroguide.cohort._api import evaluate_partition  # noqa: E402
from neuroguide.cohort._engine import make_plan, to_frame  # noqa: E402
from neuroguide.cohort._schema import ERRORS_SCHEMA, ROW, wide_from_documents  # noqa: E402
from neuroguide.exceptions import InputError  # noqa: E402
from neuroguide.patient import Patient  # noqa: E402
from strategies import patients as plain_patients  # noqa: E402
from test_cohort import patients as cohort_patients  # noqa: E402

AS_OF = dt.date(2026, 11, 30)
_VOCAB = vocabulary()
_FINDINGS = sorted(n for n, s in _VOCAB.items() if s.is_input and s.type == "boolean")
_MEASURES = sorted(n for n, s in _VOCAB.items() if s.is_input and s.type in ("quantity", "number"))
_LAST = sorted(n.removeprefix("last-") for n in _VOCAB if n.startswith("last-"))

# Values a field should not hold, or holds only in an unusual spelling: wrong JSON types, empty and
# blank text, bad or odd dates, unusual or wrong units, impossible numbers, nested shapes, escapes.
_ODD: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.5,
    1e308,
    10**30,
    "",
    " ",
    "x",
    "true",
    "null",
    "162",
    "162 cm",
    "5.5 ft",
    "70 kg",
    "154 lb",
    "154 pound",
    "7 %",
    "7.0 percent",
    "53 mmol/mol",
    "530 mmol/mol",
    "6.5 mmol/L",
    "120 mg/dL",
    "1.1 mg/dL",
    "97 umol/L",
    "97 µmol/L",
    "300 pg/mL",
    "300 ng/L",
    # results given as a limit: read as the number, or not used, as for a document
    "<200 pg/mL",
    "<150 pg/mL",
    "<180 ng/L",
    ">350 ng/L",
    "<=150 pmol/L",
    ">=14 %",
    "<5 %",
    ">20 mmol/L",
    "<0.3 mg/dL",
    "0.9",
    "NaN mg/dL",
    "inf kg",
    "-5 kg",
    "0 mg",
    "300 mg",
    "300 µg",
    "0.3 g",
    "1 IU",
    "850 mg/m2",
    "-1 mg/m2",
    "1 m",
    "2 week",
    "3 month",
    "20 mmHg",
    "60 mL/min",
    "2020-02-30",
    "2020-2-3",
    "0000-01-01",
    "1900-01-01",
    "2020-01-01T00:00:00",
    " 2020-01-01",
    "2030-01-01",
    "2026-11-30",
    "\ud800",
    "é",
    "a\\b",
    "type-2",
    "female",
    "male",
    "day",
    "fortnight",
    [],
    {},
    [1],
    {"a": 1},
    [None],
    [{}],
    [{"agent": "metformin"}],
]
_DATE = st.dates(dt.date(1920, 1, 1), dt.date(2026, 11, 30)).map(dt.date.isoformat)


def _paths(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Places a value can be put in ``doc``: existing leaves and keys, and new (known or unknown) ones."""
    out: list[tuple[Any, ...]] = [(k,) for k in (*doc, "id", "age", "sex", "birth_date", "diabetes", "extra")]
    out += [("findings", n) for n in (*_FINDINGS[:5], "numbness", "not-a-finding", "lops-derived")]
    out += [("measurements", n) for n in (*_MEASURES, "height-cm")]
    out += [("last", n) for n in (*_LAST, "not-an-exam")]
    out += [("diabetes", k) for k in ("type", "diagnosed", "extra")]
    meds = doc.get("medications")
    for i, med in enumerate(meds if isinstance(meds, list) else []):
        if not isinstance(med, dict):
            continue
        out += [("medications", i, k) for k in (*med, "dose", "per", "started", "stopped", "cumulative", "x")]
    for key in ("findings", "measurements", "last", "diabetes"):
        if isinstance(doc.get(key), dict):
            out += [(key, k) for k in doc[key]]
    return out


def _put(doc: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> None:
    target: Any = doc
    for step in path[:-1]:
        if isinstance(target, dict):
            if not isinstance(target.get(step), dict | list):
                target[step] = {}
            target = target[step]
        elif isinstance(target, list) and isinstance(step, int) and step < len(target):
            if not isinstance(target[step], dict):
                target[step] = {}
            target = target[step]
        else:
            return
    if isinstance(target, dict):
        if delete:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A patient document, often with one to three values changed to odd or bad ones."""
    doc: dict[str, Any] = draw(st.one_of(cohort_patients(), plain_patients()))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        path = draw(st.sampled_from(_paths(doc)))
        value = draw(st.one_of(st.sampled_from(_ODD), _DATE, st.floats(-1e3, 1e4).map(lambda v: f"{v} kg")))
        _put(doc, path, value, delete=draw(st.integers(0, 9)) == 0)
    return doc


# Lines that are not one plain document: not JSON, not an object, duplicate or escaped keys, null sections.
_RAW = [
    "{not json",
    "[1, 2]",
    "1",
    "null",
    '"text"',
    '{"id": "a", "id": "b"}',
    '{"findings": {"numbness": true, "numbness": false}}',
    '{"findings": null}',
    '{"measurements": null, "id": "m"}',
    '{"last": null}',
    '{"medications": null}',
    '{"medications": {}}',
    '{"\\u0066indings": {"numbness": true}}',
    '{"age": 1e400}',
    '{"age": 123456789012345678901234567890}',
    '{"diabetes": {}}',
    '{"diabetes": null}',
    '{"id": null, "age": null, "sex": null}',
    "{}",
]


@st.composite
def lines(draw: st.DrawFn) -> list[str]:
    docs = draw(st.lists(documents(), min_size=1, max_size=30))
    out = [json.dumps(d, ensure_ascii=draw(st.booleans())) for d in docs]
    for raw in draw(st.lists(st.sampled_from(_RAW), max_size=3)):
        out.insert(draw(st.integers(0, len(out))), raw)
    return out


def per_document(texts: list[str], first_row: int = 0) -> tuple[Any, Any]:
    """The reference: each line read alone as ``Patient.from_json`` reads it (strict JSON, ``from_dict``)."""
    empty_wide, empty_errors = wide_from_documents([])
    wides: list[Any] = [empty_wide]
    errors: list[Any] = [empty_errors]
    for i, text in enumerate(texts):
        try:
            doc = loads(text, "line")
        except InputError as exc:
            shown = text[:80] if exc.field == "line" else repr(exc.value)
            row = {ROW: first_row + i, "patient_id": None, "column": exc.field, "value": shown}
            errors.append(pl.DataFrame([row | {"expected": exc.expected, "effect": "refused"}], schema=ERRORS_SCHEMA))
            continue
        if isinstance(doc, dict) and isinstance(doc.get("id"), str) and not _jsonl._encodable(doc["id"]):
            with pytest.raises(InputError) as refusal:
                Patient.from_dict(doc)
            why = refusal.value
            row = {ROW: first_row + i, "patient_id": doc["id"].encode("utf-8", "backslashreplace").decode()}
            row |= {"column": why.field, "value": repr(why.value), "expected": why.expected, "effect": "refused"}
            errors.append(pl.DataFrame([row], schema=ERRORS_SCHEMA))
            continue
        wide, refused = wide_from_documents([doc], first_row + i)
        wides.append(wide)
        errors.append(refused)
    return pl.concat(wides), pl.concat(errors)


def _error_rows(frame: Any) -> list[tuple[Any, ...]]:
    return sorted(frame.rows(), key=repr)


def assert_same_as_documents(texts: list[str], first_row: int = 0) -> int:
    got = _jsonl.wide_from_lines(texts, first_row)
    want_wide, want_errors = per_document(texts, first_row)
    assert got.wide.schema == want_wide.schema
    assert got.wide.rows() == want_wide.rows()
    assert _error_rows(got.errors) == _error_rows(want_errors)
    return got.fallbacks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(texts=lines(), first_row=st.sampled_from([0, 7, 50_000]))
def test_columnar_reader_matches_the_per_document_path(texts: list[str], first_row: int) -> None:
    assert_same_as_documents(texts, first_row)


@pytest.mark.parametrize("raw", _RAW)
def test_each_odd_line_alone_and_among_good_ones(raw: str) -> None:
    good = [json.dumps(d) for d in (_good(i) for i in range(5))]
    fallbacks = assert_same_as_documents([raw])
    assert assert_same_as_documents([*good[:2], raw, *good[2:]]) == fallbacks
    # Documents a column reads as it is are read columnarly; everything else alone, per document.
    assert fallbacks == (raw not in ('{"diabetes": null}', '{"id": null, "age": null, "sex": null}', "{}"))


def test_bad_input_catalogue_lines_among_good_ones() -> None:
    """Every patient case of the bad-input catalogue as one line, each between two good documents."""
    cases = json.loads((Path(__file__).parent / "data/bad_inputs/patient.json").read_text())["cases"]
    texts: list[str] = []
    for case in cases:
        text = case.get("text")
        line = " ".join(str(text).splitlines()).strip() if text is not None else json.dumps(case["patient"])
        # A blank line is not a patient; an unpaired surrogate cannot come from a UTF-8 file.
        if line and _jsonl._encodable(line):
            texts += [json.dumps(_good(len(texts))), line]
    assert len(texts) > 2 * 450
    assert assert_same_as_documents(texts) <= len(texts) // 2


def _good(i: int) -> dict[str, Any]:
    return {
        "id": f"g{i}",
        "birth_date": "1960-05-0" + str(1 + i % 9),
        "sex": "female",
        "diabetes": {"type": "type-2", "diagnosed": "2015-03-01"},
        "findings": {"numbness": True, "burning-pain": False},
        "measurements": {"hba1c": "7.1 %", "weight": f"{70 + i % 50} kg", "serum-creatinine": "1.1 mg/dL"},
        "last": {"foot-exam": "2025-01-01"},
        "medications": [{"agent": "metformin", "dose": "1000 mg", "per": "day", "started": "2016-01-01"}],
    }


def test_good_documents_are_read_columnarly() -> None:
    texts = [json.dumps(_good(i)) for i in range(40)]
    assert assert_same_as_documents(texts) == 0


def test_unit_slips_are_flagged_not_used_as_for_a_document() -> None:
    doc = _good(0) | {"measurements": {"hba1c": "7 mmol/mol", "weight": "70 kg"}}
    assert assert_same_as_documents([json.dumps(doc), json.dumps(_good(1))]) == 0
    got = _jsonl.wide_from_lines([json.dumps(doc)])
    assert got.errors.select("column", "effect").rows() == [("measurements.hba1c", "not used")]


_LIMITS = [f"{c}{v}" for c in ("<", "<=", ">", ">=") for v in ("150 pg/mL", "180 ng/L", "350 ng/L", "150 pmol/L")]
_LIMITS += ["<5 %", ">14 %", "<=48 mmol/mol", ">20 mmol/L", "<3 mmol/L", "<0.3 mg/dL", ">60 kg", "<1"]


def test_every_measurement_given_as_a_limit_is_read_as_for_a_document() -> None:
    """Each limit in each measurement: used, not used (an errors row) or refused, exactly as per document."""
    texts = [json.dumps(_good(0))]
    for name in _MEASURES:
        for limit in _LIMITS:
            doc = _good(len(texts))
            doc["measurements"] = doc["measurements"] | {name: limit}
            texts.append(json.dumps(doc))
    assert_same_as_documents(texts)
    got = _jsonl.wide_from_lines(texts)
    limits = got.errors.filter(pl.col("expected").str.contains("reads a limit as its number"))
    assert set(limits["column"].to_list()) >= {"measurements.b12-total"}
    assert set(limits["effect"].to_list()) == {"not used"}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(texts=lines())
def test_cohort_results_equal_the_per_document_path(texts: list[str]) -> None:
    plan = make_plan(AS_OF)
    table, errors, _, _, _ = _jsonl.evaluate_lines(texts, 0, plan)
    results = to_frame(table)
    wide, refused = per_document(texts)
    want, want_errors = _jsonl.empty_results(), refused.clear()
    if wide.height:
        want, want_errors, _, _ = evaluate_partition(wide, plan, first_row=0)
    assert results.rows() == want.rows()
    assert _error_rows(errors) == _error_rows(pl.concat([refused, want_errors]))


def test_a_run_counts_the_rows_read_per_document(tmp_path: Path) -> None:
    docs = [_good(i) for i in range(6)]
    texts = [json.dumps(d) for d in docs]
    texts[3] = '{"id": "odd", "findings": {"numbness": "yes"}}'
    texts.insert(1, "")
    src = tmp_path / "p.jsonl"
    src.write_text("\n".join(texts) + "\n")
    out = tmp_path / "r.parquet"
    summary = _io.run(src, out, as_of=AS_OF, max_bad_share=1.0, batch_rows=4)
    assert summary.rows == 6 and summary.fallback_rows == 1
    assert _io.results_metadata(out)["neuroguide.per_document_rows"] == "1"
    errors = pl.read_parquet(summary.errors)
    assert errors.select("row", "column", "effect").rows() == [(3, "findings.numbness", "refused")]
    got = pl.read_parquet(out).drop("row")
    want = cohort_evaluate([d for i, d in enumerate(docs) if i != 3], as_of=AS_OF).results.drop("row")
    assert got.sort("patient_id", "rule").rows() == want.sort("patient_id", "rule").rows()


def test_the_command_line_names_the_rows_read_per_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps(_good(0)) + '\n{"id": "x", "age": "old"}\n')
    out = tmp_path / "r.parquet"
    assert main(["cohort", str(src), "-o", str(out), "--as-of", "2026-11-30", "--max-bad-share", "1", "--quiet"]) == 0
    assert "read one document at a time (odd or bad lines): 1" in capsys.readouterr().out
