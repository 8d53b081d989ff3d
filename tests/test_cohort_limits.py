"""Results given as a limit ("<200 pg/mL") in the cohort engine: the same through every input path, and as ``assess``.

A patient document may hold a limit. The engine reads it as its number only when that gives ``assess``'s
decisions; otherwise the value is left out of the row with a ``not used`` errors row naming the threshold. The
JSON-lines file reader (columnar) and ``cohort.evaluate(documents)`` (per document) must agree row for row,
and each patient's results must be ``assess``'s: of the document itself when the limit is used, of the document
without the value when it is not.

Expected bands are the source's numbers, written here (NICE NG239 as quoted in clinical-sources.md: below
180 ng/L deficiency confirmed, 180 to 350 ng/L indeterminate, above 350 ng/L deficiency unlikely; B12 pg/mL is
ng/L, and 1 pmol/L is 1.355 ng/L, so 100 pmol/L is 135.5 ng/L and 150 pmol/L is 203 ng/L).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("pyarrow")

from neuroguide import assess  # noqa: E402
from neuroguide.cohort import _io  # noqa: E402
from neuroguide.cohort import evaluate as cohort_evaluate  # noqa: E402
from neuroguide.patient import FlagKind  # noqa: E402
from test_cohort import assert_same  # noqa: E402

AS_OF = dt.date(2026, 11, 23)
RULE = "b12-total-interpretation"
CONFIRMED, INDETERMINATE, ABOVE = "deficiency-confirmed", "indeterminate", "above-indeterminate"

# (limit, the band it decides, or None when a threshold lies inside the interval it allows)
DECIDING = [
    ("<150 pg/mL", CONFIRMED),
    ("<150 ng/L", CONFIRMED),
    ("<=150 ng/L", CONFIRMED),
    ("<100 pmol/L", CONFIRMED),
    (">400 ng/L", ABOVE),
    (">=400 pg/mL", ABOVE),
    (">300 pmol/L", ABOVE),
]
STRADDLING = [
    "<200 pg/mL",
    "<=180 ng/L",
    "<150 pmol/L",
    ">=350 ng/L",
    ">349 pg/mL",
    ">200 pmol/L",
    ">=180 ng/L",
    "<350 ng/L",
]
# At a band edge: assess decides these (the edge is the limit), the engine may read them or leave them out.
AT_EDGE = [("<180 ng/L", CONFIRMED), (">350 ng/L", ABOVE)]


def _doc(i: int, b12: str) -> dict[str, Any]:
    return {
        "id": f"p{i}",
        "birth_date": "1958-03-14",
        "sex": "female",
        "diabetes": {"type": "type-2", "diagnosed": "2012-05-02"},
        "findings": {"numbness": True, "urinary-retention": i % 2 == 0},
        "measurements": {"b12-total": b12, "hba1c": "7.4 %"},
        "last": {"b12-test": "2026-10-14"},
        "medications": [{"agent": "metformin", "dose": "1000 mg", "per": "day", "started": "2013-01-01"}],
    }


def _docs() -> list[dict[str, Any]]:
    texts = [b for b, _ in DECIDING] + STRADDLING + [b for b, _ in AT_EDGE] + ["250 ng/L", "120 pmol/L"]
    return [_doc(i, b) for i, b in enumerate(texts)]


def _band(doc: dict[str, Any]) -> str | None:
    return assess(doc, as_of=AS_OF).record.facts.get(RULE)


def _through_file(docs: list[dict[str, Any]], tmp_path: Path, batch_rows: int = 5) -> tuple[Any, Any]:
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "r.parquet"
    summary = _io.run(src, out, as_of=AS_OF, max_bad_share=1.0, batch_rows=batch_rows)
    assert summary.fallback_rows == 0  # limits are read columnarly
    return pl.read_parquet(out), pl.read_parquet(summary.errors)


def _sorted(frame: Any) -> list[tuple[Any, ...]]:
    return sorted(frame.rows(), key=repr)


def test_the_source_bands_are_what_assess_gives() -> None:
    """The test's own expectations hold for assess (so a limit not used below is one assess reads as an interval)."""
    for b12, band in DECIDING + AT_EDGE:
        assert _band(_doc(0, b12)) == band, b12
    for b12 in STRADDLING:
        got = assess(_doc(0, b12), as_of=AS_OF)
        assert got.record.facts.get(RULE) is None, b12
        assert any(f.kind is FlagKind.UNDECIDED for f in got.record.flags), b12


def test_the_file_and_the_documents_give_the_same_rows_and_errors(tmp_path: Path) -> None:
    docs = _docs()
    per_doc = cohort_evaluate(docs, as_of=AS_OF, max_bad_share=1)
    results, errors = _through_file(docs, tmp_path)
    assert _sorted(results) == _sorted(per_doc.results)
    assert _sorted(errors) == _sorted(per_doc.errors)
    # one batch or one line a batch: the same
    again, again_errors = _through_file(docs, tmp_path, batch_rows=1)
    assert _sorted(again) == _sorted(results) and _sorted(again_errors) == _sorted(errors)


@pytest.mark.parametrize("path", ["file", "documents"])
def test_each_limit_is_used_as_assess_uses_it_or_reported_not_used(path: str, tmp_path: Path) -> None:
    docs = _docs()
    if path == "file":
        results, errors = _through_file(docs, tmp_path)
    else:
        res = cohort_evaluate(docs, as_of=AS_OF, max_bad_share=1)
        results, errors = res.results, res.errors
    assert set(errors["effect"].to_list()) <= {"not used"}
    reported = {r["row"]: r for r in errors.iter_rows(named=True)}
    assert len(reported) == errors.height  # one row per value left out
    seen = []
    for i, doc in enumerate(docs):
        b12 = doc["measurements"]["b12-total"]
        if b12 in STRADDLING:
            assert i in reported, f"{b12}: a threshold lies inside it, yet the engine read it as a number"
        if b12 in [b for b, _ in DECIDING] or b12[0] not in "<>":
            assert i not in reported, f"{b12}: decides every threshold, yet left out"
        if i in reported:
            err = reported[i]
            assert (err["patient_id"], err["column"], err["value"]) == (doc["id"], "measurements.b12-total", b12)
            assert "band edge" in err["expected"] and "not used here" in err["expected"], err["expected"]
            seen.append(b12)
    assert set(STRADDLING) <= set(seen)
    # each patient's rows: assess of the document as the engine used it (the limit, or no value at all)
    used = copy.deepcopy(docs)
    for i in reported:
        del used[i]["measurements"]["b12-total"]
    assert_same(used, results, AS_OF, errors)
    # a limit the engine reads gives the band assess gives for the limit itself
    for i, doc in enumerate(docs):
        label = results.filter((pl.col("row") == i) & (pl.col("rule") == RULE))["label"].to_list()
        if i not in reported:
            assert label == [_band(doc)], doc["measurements"]["b12-total"]


def test_documents_without_limits_give_no_errors_rows_through_the_file(tmp_path: Path) -> None:
    """Documents without limits give no errors rows and assess's results through the file (the usual path)."""
    docs = [d for d in _docs() if d["measurements"]["b12-total"][0] not in "<>"]
    results, errors = _through_file(docs, tmp_path)
    assert errors.height == 0
    assert_same(docs, results, AS_OF, errors)


def test_a_limit_in_a_table_cell_is_an_excluded_cell_whatever_it_decides(tmp_path: Path) -> None:
    """A Parquet or CSV number column holds numbers: any limit text there is a bad cell, not a limit read."""
    src = tmp_path / "t.csv"
    src.write_text("patient_id,b12-total,numbness\na,<150 pg/mL,true\nb,<200 pg/mL,true\nc,300,true\n")
    out = tmp_path / "t.parquet"
    summary = _io.run(src, out, as_of=AS_OF, max_bad_share=1.0)
    errors = pl.read_parquet(summary.errors)
    assert errors.select("patient_id", "column", "value", "effect").rows() == [
        ("a", "b12-total", "<150 pg/mL", "excluded"),
        ("b", "b12-total", "<200 pg/mL", "excluded"),
    ]
    assert all("read only from" in e for e in errors["expected"].to_list())
