"""The columnar cohort evaluator gives exactly the answers ``assess`` gives, patient by patient.

Set NEUROGUIDE_COHORT_N (e.g. 10000) for the large differential run; the default session uses a
few hundred synthetic patients plus the hypothesis-generated ones and the eight examples.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pl = pytest.importorskip("polars")
pytest.importorskip("pyarrow")

from neuroguide import _facts, assess  # noqa: E402
from neuroguide import model as m  # noqa: E402
from neuroguide._loading import catalog  # noqa: E402
from neuroguide.cohort import Undetermined, _derive, _engine, _schema  # noqa: E402
from neuroguide.cohort import evaluate as cohort_evaluate  # noqa: E402
from neuroguide.cohort._api import unknown_facts  # noqa: E402
from neuroguide.cohort._errors import BadRowsError, SchemaError  # noqa: E402
from neuroguide.cohort._synth import synth  # noqa: E402
from neuroguide.exceptions import InputError  # noqa: E402
from neuroguide.patient import FlagKind  # noqa: E402
from neuroguide.results import RuleOutcome  # noqa: E402

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.json"))
Row = tuple[str, str, Any, Any, Any, tuple[str, ...], Any, tuple[str, str, str, str]]
# Medication rules name the entry they checked (the cohort's ``label``): compared too. So is a classification's
# band label (``assess`` adds it to the facts under the rule's id), and every row's rule information.
_MEDICATION_KINDS = ("dosing", "neurotoxicity")


def _info(guideline: str, version: str, rule: str) -> tuple[str, str, str, str]:
    """The rule information a results row carries: guideline, version, kind, rule status."""
    found = {r.id: r for r in catalog().get(guideline, version=version).rules}[rule]
    return (guideline, version, str(found.kind), str(found.status))


def expected(doc: Mapping[str, Any], as_of: dt.date) -> list[Row]:
    """Per rule: status, due, due_by, overdue days and missing facts, as ``assess`` reports them."""
    return assessed(doc, as_of)[0]


_NOT_RECOGNISED = re.compile(r"medication (?P<agent>'.*') is not recognised(?P<hint>.*); no rule could check it")
# What assess lists as not checked (a drug whose only neurotoxicity entry or dosing rule is not evaluated).
_NOT_CHECKED = re.compile(
    r"(?:neurotoxicity|dose) of (?P<agent>'.*') not checked \((?:entry|dosing rule) (?P<which>.+), not evaluated\)"
)


def assessed(
    doc: Mapping[str, Any], as_of: dt.date, statuses: Sequence[str] = ("approved",)
) -> tuple[list[Row], list[tuple[str, str, str]]]:
    """:func:`expected`, and the medication names ``assess`` lists as not recognised: (field, name, hint).

    A drug ``assess`` lists as not checked is a row per rule named (status ``not-checked``, the drug as label).
    """
    a = assess(doc, as_of=as_of, statuses=statuses)
    unknown = []
    out: list[Row] = []
    held = {r.id: (g.id, g.version, r) for g in _chosen(a) for r in g.rules}
    for item in a.missing:
        hit = _NOT_RECOGNISED.fullmatch(item.label)
        if hit is not None:
            unknown.append((item.fact, ast.literal_eval(hit["agent"]), hit["hint"]))
        unchecked = _NOT_CHECKED.fullmatch(item.label)
        if unchecked is not None:
            for which in unchecked["which"].split(", "):
                rule_id, status = which.split(" ")
                gid, version, rule = held[rule_id]
                assert str(rule.status) == status
                info = (gid, version, str(rule.kind), status)
                out.append((rule_id, "not-checked", None, None, None, (), ast.literal_eval(unchecked["agent"]), info))
    recs: dict[tuple[str, str], list[Any]] = {}
    for r in a.recommendations:
        recs.setdefault((r.guideline, r.rule), []).append(r)
    for t in a.record.trace:
        found = recs.get((t.guideline, t.rule), [])
        if t.outcome is RuleOutcome.NOT_FIRED and not found:
            continue
        info = _info(t.guideline, t.version, t.rule)
        if found:
            out.extend(
                (
                    t.rule,
                    str(r.status),
                    r.due,
                    r.due_by,
                    r.overdue_days,
                    tuple(t.missing),
                    a.record.facts.get(t.rule) if r.kind == "classification" else _label(r.kind, r.reasons),
                    info,
                )
                for r in found
            )
        else:
            out.append((t.rule, "undetermined", None, None, None, tuple(t.missing), None, info))
    return sorted(out, key=repr), sorted(unknown)


def _chosen(a: Any) -> list[m.Guideline]:
    """The guideline versions an assessment used."""
    return [catalog().get(g.id, version=g.version) for g in a.record.guidelines]


def _label(kind: str, reasons: Sequence[str]) -> str | None:
    if kind == "dosing" and reasons:
        return " and ".join(reasons)  # duplicate therapy: every entry summed
    return reasons[0] if kind in _MEDICATION_KINDS and reasons else None


def got(results: Any, row: int) -> list[Row]:
    part = results.filter(pl.col("row") == row)
    return sorted(
        (
            (
                r["rule"],
                r["status"],
                r["due"],
                r["due_by"],
                r["overdue_days"],
                tuple(r["missing"]),
                r["label"] if r["kind"] in (*_MEDICATION_KINDS, "classification") else None,
                (r["guideline"], r["version"], r["kind"], r["rule_status"]),
            )
            for r in part.iter_rows(named=True)
        ),
        key=repr,
    )


def absent_only(row: Row, unknown: frozenset[str]) -> bool:
    """``assess`` left the rule undetermined and every fact it names missing has no column in the input."""
    return row[1] == "undetermined" and bool(row[5]) and set(row[5]) <= unknown


def assert_same(
    docs: Sequence[Mapping[str, Any]],
    results: Any,
    as_of: dt.date,
    errors: Any = None,
    unknown: frozenset[str] = frozenset(),
    counts: Any = None,
    statuses: Sequence[str] = ("approved",),
) -> None:
    """The cohort's rows are ``assess``'s results, patient by patient and rule by rule.

    With ``unknown`` (a compact run over a table lacking those columns) a result ``assess`` leaves
    undetermined only for want of them has no row, and is counted per rule in ``counts`` instead:
    a (patient, rule) without a row is either not fired or exactly such a result.
    """
    by_row = {key[0]: part for key, part in results.partition_by("row", as_dict=True).items()}
    left_out: dict[str, int] = {}
    empty = results.clear()
    # Values merely not used (a placeholder date, a conflicting given value) do not refuse the patient.
    refused = set(errors.filter(pl.col("effect") != "not used")["row"].to_list()) if errors is not None else set()
    flagged = _unrecognised_of(errors)
    for i, doc in enumerate(docs):
        try:
            want, names = assessed(doc, as_of, statuses)
        except InputError:
            # assess refuses the patient: the cohort reports it and gives it no results.
            assert i in refused, f"patient {i}: refused by assess, not reported by the cohort"
            assert i not in by_row
            continue
        assert i not in refused, f"patient {i}: accepted by assess, reported bad by the cohort"
        if errors is not None:  # every medication name assess lists as not recognised, and no other
            assert flagged.get(i, []) == names, f"patient {i}: drug names not recognised"
        have = got(by_row.get(i, empty), i)
        for r in want:
            if absent_only(r, unknown):
                left_out[r[0]] = left_out.get(r[0], 0) + 1
        want = [r for r in want if not absent_only(r, unknown)]
        assert have == want, f"patient {i} ({doc.get('id')}): cohort {set(have) ^ set(want)}"
    if counts is not None:
        assert dict(zip(counts["rule"].to_list(), counts["patients"].to_list(), strict=True)) == left_out


def _unrecognised_of(errors: Any) -> dict[int, list[tuple[str, str, str]]]:
    """The cohort's rows for medication names not recognised, per row: (field, name, hint) as ``assess`` words it."""
    out: dict[int, list[tuple[str, str, str]]] = {}
    if errors is None:
        return out
    rows = errors.filter(pl.col("column").str.ends_with(".agent") & (pl.col("effect") == "not used"))
    for r in rows.iter_rows(named=True):
        found = re.fullmatch(r"a drug name neuroguide recognises(?P<hint>.*); no rule could check it", r["expected"])
        assert found is not None, r["expected"]
        out.setdefault(r["row"], []).append((r["column"], r["value"], found["hint"]))
    return {k: sorted(v) for k, v in out.items()}


# -- differential: examples, synthetic cohorts, generated patients ----------------------------------


@pytest.mark.parametrize("as_of", [dt.date(2026, 11, 23), dt.date(2028, 2, 29), dt.date(2027, 3, 1)])
def test_examples_give_the_same_answers_as_assess(as_of: dt.date) -> None:
    docs = [json.loads(p.read_text()) for p in EXAMPLES]
    assert len(docs) >= 8
    res = cohort_evaluate(docs, as_of=as_of)
    assert res.errors.height == 0
    assert res.results.height > 0
    assert_same(docs, res.results, as_of)


def _synthetic_docs(n: int, seed: int, as_of: dt.date) -> tuple[Any, list[dict[str, Any]]]:
    frame = synth(n, seed=seed, as_of=as_of)
    prepared, errors = _schema.prepare(frame, _schema.resolve(dict(frame.schema)), as_of, 0)
    assert errors.height == 0
    return frame, [_schema.document_of(r) for r in prepared.to_dicts()]


@pytest.mark.parametrize(("seed", "as_of"), [(1, dt.date(2028, 2, 29)), (2, dt.date(2026, 11, 30))])
def test_synthetic_cohort_gives_the_same_answers_as_assess(seed: int, as_of: dt.date) -> None:
    n = int(os.environ.get("NEUROGUIDE_COHORT_N", "300"))
    frame, docs = _synthetic_docs(n, seed, as_of)
    unknown = unknown_facts(frame.columns)
    assert set(res_absent(frame, as_of)) <= unknown
    res = cohort_evaluate(frame, as_of=as_of)  # compact: no rows for results undetermined only by absent columns
    assert res.undetermined is Undetermined.COMPACT
    assert "columnar" in set(res.results["evaluated"].unique().to_list())
    # Dosing rules are looked up by prescription (columnar); the synthetic cohort has dose problems to report.
    assert res.results.filter(pl.col("kind") == "dosing").height > 0 or n < 200
    assert res.absent_only.height > 0
    assert_same(docs, res.results, as_of, unknown=unknown, counts=res.absent_only)
    every = cohort_evaluate(frame, as_of=as_of, undetermined="all")  # every undetermined result is a row
    assert_same(docs, every.results, as_of)
    assert every.absent_only.equals(res.absent_only)
    assert every.results.height == res.results.height + res.absent_only["patients"].sum()


def res_absent(frame: Any, as_of: dt.date) -> tuple[str, ...]:
    return cohort_evaluate(frame.head(1), as_of=as_of).absent


def test_unknown_facts_are_absent_columns_and_facts_derived_only_from_them() -> None:
    derived = _derive.reads()
    cols = set(_schema.columns())
    everything = unknown_facts(cols)
    assert not everything  # a table with every column lacks nothing
    unknown = unknown_facts(["patient_id", "monofilament-abnormal"])
    assert "areflexia" in unknown and "monofilament-abnormal" not in unknown
    assert "lops" not in unknown  # derived from a column the table has: empty cells there are actionable
    assert "lops" in unknown_facts(["patient_id"])
    for fact in unknown & derived.keys():
        assert derived[fact] and not derived[fact] & {"patient_id", "monofilament-abnormal"}


def test_undetermined_mode_is_checked() -> None:
    with pytest.raises(InputError, match="undetermined"):
        cohort_evaluate(pl.DataFrame({"patient_id": ["a"]}), as_of=dt.date(2026, 11, 23), undetermined="some")


# Dates near month ends and 29 February, where calendar arithmetic differs from day counts.
_EDGE_DAYS = st.sampled_from(
    [dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2023, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 8, 31)]
)
_DAYS = st.one_of(_EDGE_DAYS, st.dates(dt.date(1990, 1, 1), dt.date(2025, 12, 31)))
_FINDINGS = sorted(n for n, c in _schema.columns().items() if c.kind == "boolean")
_MEASURES = {
    "hba1c": ("%", [5.6, 5.7, 6.4, 6.5, 7.0, 9.1]),
    "fasting-glucose": ("mg/dL", [99.0, 100.0, 125.0, 125.5, 126.0]),
    "abi": (None, [0.9, 0.904, 0.905, 0.91, 1.4, 1.41]),
    "serum-creatinine": ("mg/dL", [0.6, 1.0, 1.2, 1.5, 2.4, 3.2, 6.0]),
    "weight": ("kg", [50.0, 80.0, 120.0, 150.0]),
    "b12-total": ("ng/L", [150.0, 200.0, 300.0, 400.0]),
    "systolic-drop": ("mmHg", [19.0, 20.0, 21.0]),
    "toe-pressure": ("mmHg", [29.0, 30.0]),
    "tbi": (None, [0.69, 0.7, 0.704, 0.705, 0.71]),
    # Renal-table edges (gabapentin >= 60, >30 to 59, >15 to 29, 15, < 15; duloxetine < 30) and a step either side.
    "crcl": ("mL/min", [7.5, 14.99, 15.0, 15.01, 25.0, 29.99, 30.0, 30.01, 45.0, 59.99, 60.0, 60.01, 95.0]),
    "height": ("cm", [150.0, 165.0, 185.0]),
    "symptom-duration": ("week", [1.0, 4.0, 8.0, 8.1]),
    "progression-duration": ("week", [1.0, 4.0, 8.0, 9.0]),
    "iwgdf-category": (None, [0.0, 1.0, 2.0, 3.0]),
}
# Dates records systems use for "unknown": flagged and not used by the engine.
_PLACEHOLDERS = st.sampled_from([dt.date(1900, 1, 1), dt.date(1899, 12, 31)])
_PAIRS = [
    *((a, b) for a, b, _ in _facts._EXCLUSIVE),
    ("bladder-bowel-dysfunction", "urinary-retention"),
    ("still-progressing", "numbness"),
    ("monofilament-abnormal", "lops"),
    ("saddle-anaesthesia", "numbness"),
    ("distal-symmetric-pattern", "radicular-pain"),
]
_AGENTS = [
    "metformin",
    "Glucophage",
    "Janumet",
    "Metformin ER 500 mg",
    "gabapentin",
    "Neurontin",
    "pregabalin",
    "duloxetine",
    "oxaliplatin",
    "vitamin B12",
    "cyanocobalamin",
    "hydroxocobalamin",
    "thiamine",
    "midodrine",
    "aspirin",
    # neurotoxicity entries still in review: assess lists them as not checked (evaluated with in-review rules)
    "linezolid",
    "amiodarone",
    "Colchicine",
    "lenalidomide",
    "gabapentn",  # misspelt: assess lists it as not recognised, and so must the cohort
    "metforminn",
    " Neurontn ",
]


# Daily doses at and around the renal-table rows (gabapentin 100-300 at 15, 200-700, 400-1400, 900-3600 mg/day;
# below 15 mL/min in proportion to CrCl), and B12 and thiamine amounts in several units.
_DOSES = {
    "gabapentin": ["50 mg", "100 mg", "200 mg", "300 mg", "700 mg", "900 mg", "1400 mg", "1800 mg", "3600 mg", "4 g"],
    "Neurontin": ["300 mg", "900 mg", "1800 mg"],
    "pregabalin": ["25 mg", "75 mg", "150 mg", "300 mg", "600 mg"],
    "duloxetine": ["30 mg", "60 mg", "120 mg"],
    "vitamin B12": ["250 ug", "1000 ug", "1 mg", "350 mg"],
    "cyanocobalamin": ["1000 ug", "2 mg"],
    "hydroxocobalamin": ["1 mg", "1000 ug"],
    "thiamine": ["100 mg", "300 mg", "500 mg"],
    "gabapentn": ["900 mg", "4 g"],
}


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    born = draw(st.one_of(st.none(), st.dates(dt.date(1930, 1, 1), dt.date(2004, 12, 31)), _EDGE_DAYS, _PLACEHOLDERS))
    if born is not None:
        doc["birth_date"] = born.isoformat()
    elif draw(st.booleans()):
        doc["age"] = draw(st.sampled_from([17, 18, 50, 51, 70]))
    if draw(st.booleans()):
        doc["sex"] = draw(st.sampled_from(["female", "male"]))
    if draw(st.integers(0, 2)):
        diagnosed = draw(_DAYS)
        if born is not None and diagnosed < born:
            diagnosed = born
        doc["diabetes"] = {
            "type": draw(st.sampled_from(["type-1", "type-2", "other"])),
            "diagnosed": diagnosed.isoformat(),
        }
    names = draw(st.lists(st.sampled_from(_FINDINGS), max_size=12, unique=True))
    if names:
        doc["findings"] = {n: draw(st.sampled_from([True, False, None])) for n in names}
    if draw(st.integers(0, 4)) == 0:  # findings the engine refuses together, or reads together
        pair = draw(st.sampled_from(_PAIRS))
        doc.setdefault("findings", {}).update({n: draw(st.sampled_from([True, False])) for n in pair})
    measures = draw(st.lists(st.sampled_from(sorted(_MEASURES)), max_size=4, unique=True))
    if measures:
        doc["measurements"] = {}
        for name in measures:
            unit, values = _MEASURES[name]
            v = draw(st.sampled_from(values))
            doc["measurements"][name] = v if unit is None else f"{v} {unit}"
    last = draw(
        st.lists(
            st.sampled_from(["foot-exam", "neuropathy-exam", "b12-test", "autonomic-assessment"]),
            max_size=3,
            unique=True,
        )
    )
    if last:
        doc["last"] = {k: draw(st.one_of(_DAYS, _PLACEHOLDERS)).isoformat() for k in last}
    meds = []
    for agent in draw(st.lists(st.sampled_from(_AGENTS), max_size=2)):
        med: dict[str, Any] = {"agent": agent}
        if draw(st.booleans()):
            med["started"] = draw(st.one_of(_DAYS, _PLACEHOLDERS)).isoformat()
        if agent in _DOSES and draw(st.integers(0, 3)):
            med |= {"dose": draw(st.sampled_from(_DOSES[agent])), "per": draw(st.sampled_from(["day", "day", "week"]))}
            if draw(st.booleans()):
                med["route"] = draw(st.sampled_from(["oral", "IM", "intravenous", "PO"]))
            if draw(st.booleans()):
                med["indication"] = draw(
                    st.sampled_from(["dpn", "postherpetic neuralgia", "wernicke", "neuropathic pain"])
                )
        if draw(st.integers(0, 5)) == 0:
            med["stopped"] = draw(_DAYS).isoformat()
            if "started" in med and med["stopped"] < med["started"]:
                med["stopped"] = med["started"]
        if agent == "oxaliplatin":
            med["cumulative"] = draw(st.sampled_from(["500 mg/m2", "850 mg/m2"]))
        meds.append(med)
    if meds:
        doc["medications"] = meds
    return doc


@settings(max_examples=int(os.environ.get("NEUROGUIDE_COHORT_EXAMPLES", "12")), deadline=None)
@given(
    docs=st.lists(patients(), min_size=1, max_size=25),
    as_of=st.sampled_from([dt.date(2026, 2, 28), dt.date(2028, 2, 29), dt.date(2026, 12, 31)]),
)
def test_generated_patients_give_the_same_answers_as_assess(docs: list[dict[str, Any]], as_of: dt.date) -> None:
    res = cohort_evaluate(docs, as_of=as_of, max_bad_share=1.0)
    assert_same(docs, res.results, as_of, res.errors)


_IN_REVIEW = ("approved", "in-review")


@settings(max_examples=int(os.environ.get("NEUROGUIDE_COHORT_EXAMPLES", "12")), deadline=None)
@given(docs=st.lists(patients(), min_size=1, max_size=25))
def test_generated_patients_with_rules_in_review_give_the_same_answers_as_assess(docs: list[dict[str, Any]]) -> None:
    as_of = dt.date(2026, 11, 30)
    res = cohort_evaluate(docs, as_of=as_of, max_bad_share=1.0, statuses=_IN_REVIEW)
    assert_same(docs, res.results, as_of, res.errors, statuses=_IN_REVIEW)


# -- drugs not checked: the only rule naming them is not evaluated (in review) ---------------------------------

_HELD = {"linezolid": "neurotox-linezolid", "amiodarone": "neurotox-amiodarone", "colchicine": "neurotox-colchicine"}


def test_drugs_whose_only_rule_is_in_review_are_rows_not_checked_as_assess_lists_them() -> None:
    as_of = dt.date(2026, 11, 30)
    docs: list[dict[str, Any]] = [
        {"id": "a", "medications": [{"agent": " Linezolid "}, {"agent": "amiodarone", "stopped": "2020-01-01"}]},
        {"id": "b", "medications": [{"agent": "gabapentin", "dose": "900 mg", "per": "day"}]},
        {"id": "c", "medications": [{"agent": "colchicine", "dose": "1 mg", "per": "day"}]},
        {  # diagnosed before birth: refused, no rows
            "id": "d",
            "birth_date": "1960-01-01",
            "diabetes": {"type": "type-2", "diagnosed": "1950-01-01"},
            "medications": [{"agent": "linezolid"}],
        },
    ]
    res = cohort_evaluate(docs, as_of=as_of, max_bad_share=1.0)
    held = res.results.filter(pl.col("status") == "not-checked")
    assert held.select("patient_id", "rule", "label", "kind", "rule_status").rows() == [
        ("a", "neurotox-linezolid", "Linezolid", "neurotoxicity", "in-review"),
        ("a", "neurotox-amiodarone", "amiodarone", "neurotoxicity", "in-review"),
        ("c", "neurotox-colchicine", "colchicine", "neurotoxicity", "in-review"),
    ]
    assert set(held["rule"].to_list()) <= set(_HELD.values())
    assert res.not_checked.select("rule", "patients", "entries").rows() == [
        ("neurotox-amiodarone", 1, 1),
        ("neurotox-colchicine", 1, 1),
        ("neurotox-linezolid", 1, 1),
    ]
    assert_same(docs, res.results, as_of, res.errors)
    # With the rules in review evaluated, the drugs are checked: no row says otherwise.
    every = cohort_evaluate(docs, as_of=as_of, max_bad_share=1.0, statuses=_IN_REVIEW)
    assert every.results.filter(pl.col("status") == "not-checked").height == 0
    assert set(every.results.filter(pl.col("patient_id") == "a")["rule"].to_list()) >= {
        "neurotox-linezolid",
        "neurotox-amiodarone",
    }
    assert_same(docs, every.results, as_of, every.errors, statuses=_IN_REVIEW)
    assert every.not_checked.height == 0


def test_the_synthetic_cohort_has_drugs_not_checked_and_in_review_checks_them() -> None:
    as_of = dt.date(2026, 11, 30)
    frame, docs = _synthetic_docs(1500, 4, as_of)
    res = cohort_evaluate(frame, as_of=as_of)
    assert set(res.not_checked["rule"].to_list()) >= {"neurotox-amiodarone", "neurotox-colchicine"}
    held = res.results.filter(pl.col("status") == "not-checked")
    picked = [docs[i] for i in held["row"].unique().to_list()[:40]]
    assert_same(picked, _renumbered(res.results, held), as_of, unknown=unknown_facts(frame.columns))
    every = cohort_evaluate(frame, as_of=as_of, statuses=_IN_REVIEW)
    assert every.results.filter(pl.col("status") == "not-checked").height == 0


def _renumbered(results: Any, held: Any) -> Any:
    """The results of the first 40 patients with a drug not checked, numbered 0.. in that order."""
    rows = held["row"].unique().to_list()[:40]
    mapping = {r: i for i, r in enumerate(rows)}
    part = results.filter(pl.col("row").is_in(rows))
    return part.with_columns(pl.col("row").replace_strict(mapping, return_dtype=pl.Int64))


# -- contradicting findings: flagged and left out, the patient evaluated (as assess does) ------------------


def assert_same_contradictions(docs: Sequence[Mapping[str, Any]], errors: Any, as_of: dt.date) -> None:
    """The cohort's ``not used`` rows for contradictions are ``assess``'s contradiction flags, row by row.

    A patient refused for another reason (a date before birth) has no flags from ``assess``; the cohort reports
    the values it would leave out all the same, as it does placeholder dates.
    """
    refused = set(errors.filter(pl.col("effect") == "refused")["row"].to_list())
    have = {
        (r["row"], r["column"], r["value"], r["expected"])
        for r in errors.filter(pl.col("effect") == "not used").iter_rows(named=True)
        if " and " in r["column"] and r["row"] not in refused
    }
    want = set()
    for i, doc in enumerate(docs):
        try:
            flags = assess(doc, as_of=as_of).flags
        except InputError:
            continue
        for f in flags:
            if f.kind is FlagKind.CONTRADICTION:
                column = f.field.replace("findings.", "").replace("measurements.", "")
                want.add((i, column, f.value, f.message.removeprefix(_facts.CONTRADICTING)))
    assert have == want


_GENERAL_DENIALS = [(general, specific) for general, specific, _ in _facts._DENIALS]


@st.composite
def contradicting(draw: st.DrawFn) -> dict[str, Any]:
    """A generated patient with one or more contradictions: exclusive pairs, denials, durations."""
    doc = draw(patients())
    findings = doc.setdefault("findings", {})
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["exclusive", "denial", "tempo"]))
        if kind == "exclusive":
            first, second, _ = draw(st.sampled_from(_facts._EXCLUSIVE))
            findings |= {first: True, second: True}
        elif kind == "denial":
            general, specific = draw(st.sampled_from(_GENERAL_DENIALS))
            findings[general] = False
            named = draw(st.lists(st.sampled_from(specific), min_size=1, unique=True))
            findings |= {n: draw(st.sampled_from([True, True, False])) for n in named}
        else:
            symptoms = draw(st.sampled_from(["40 day", "3 month", "8 week", "1 week"]))
            progression = draw(st.sampled_from(["2 day", "10 week", "13 week", "6 day", "8 week"]))
            doc.setdefault("measurements", {}).update(
                {"symptom-duration": symptoms, "progression-duration": progression}
            )
            findings["still-progressing"] = draw(st.sampled_from([True, False, None]))
    # Red-flag findings beside the contradiction: they must still decide their rules.
    findings |= {n: draw(st.sampled_from([True, False, None])) for n in ("saddle-anaesthesia", "known-cancer")}
    return doc


# The facts a contradiction touches: its fields, and the facts derived from them.
_TOUCHED = sorted(
    {n for a, b, _ in _facts._EXCLUSIVE for n in (a, b)}
    | {n for g, specific, _ in _facts._DENIALS for n in (g, *specific)}
    | {"still-progressing", "progression-duration", "symptom-duration"}
    | {name for name, inputs in _derive.BY_VALUE.items() if name != "iwgdf-category"}
)


def assert_same_facts(docs: Sequence[Mapping[str, Any]], as_of: dt.date) -> None:
    """The cohort's fact columns (after its input checks and derivations) are ``assess``'s facts, row by row."""
    wide, _ = _schema.wide_from_documents(docs)
    rows = wide[_schema.ROW]
    frame = wide.drop(_schema.ROW)
    prepared, _ = _schema.prepare(frame, _schema.resolve(dict(frame.schema)), as_of, 0, slips=False)
    prepared = prepared.with_columns(rows.alias(_schema.ROW))
    checked, refused, _ = _derive.check_rows(prepared, as_of)
    facts, _ = _derive.derive_columns(checked, as_of, _derive.derivations())
    skip = set(refused[_schema.ROW].to_list())
    names = [n for n in _TOUCHED if n in facts.columns]
    for row in facts.select(_schema.ROW, *names).iter_rows(named=True):
        i = row.pop(_schema.ROW)
        if i in skip:
            continue
        want = assess(docs[i], as_of=as_of).record.facts
        for name in names:
            have, expect = row[name], want.get(name)
            if isinstance(expect, float) and isinstance(have, float):
                assert have == pytest.approx(expect), (i, name)
            else:
                assert have == expect, f"patient {i}: {name} cohort {have!r}, assess {expect!r}"


@settings(max_examples=int(os.environ.get("NEUROGUIDE_COHORT_EXAMPLES", "12")), deadline=None)
@given(
    docs=st.lists(contradicting(), min_size=1, max_size=12),
    as_of=st.sampled_from([dt.date(2026, 2, 28), dt.date(2028, 2, 29)]),
)
def test_contradicting_patients_give_the_same_answers_and_flags_as_assess(
    docs: list[dict[str, Any]], as_of: dt.date
) -> None:
    res = cohort_evaluate(docs, as_of=as_of, max_bad_share=1.0)
    assert_same(docs, res.results, as_of, res.errors)
    assert_same_contradictions(docs, res.errors, as_of)
    assert_same_facts(docs, as_of)


_CONTRADICTIONS = [
    # Saddle anaesthesia and a bilateral deficit with a contradicting bladder pair: cauda equina still fires.
    {
        "id": "ces",
        "findings": {
            "saddle-anaesthesia": True,
            "bilateral-leg-deficit": True,
            "bladder-bowel-dysfunction": False,
            "urinary-retention": True,
        },
    },
    # The only positive sphincter finding contradicted: cauda equina and MSCC undetermined, naming it.
    {
        "id": "undecided",
        "findings": {
            "known-cancer": True,
            "bladder-bowel-dysfunction": False,
            "urinary-retention": True,
            "bowel-dysfunction": True,
            "urinary-incontinence": False,
            "saddle-anaesthesia": False,
            "bilateral-leg-deficit": False,
        },
    },
    {"id": "pattern", "findings": {"distal-symmetric-pattern": True, "non-length-dependent": True, "numbness": True}},
    {
        "id": "tempo",
        "findings": {"still-progressing": True, "weakness": True},
        "measurements": {"progression-duration": "2 day", "symptom-duration": "3 month"},
    },
    {"id": "walking", "findings": {"exertional-nonjoint-leg-symptoms": False, "claudication": True}},
]


@pytest.mark.parametrize("undetermined", ["compact", "all"])
def test_contradiction_cases_give_the_same_answers_and_flags_as_assess(undetermined: str) -> None:
    as_of = dt.date(2026, 11, 23)
    res = cohort_evaluate(_CONTRADICTIONS, as_of=as_of, undetermined=undetermined)
    assert res.bad_rows == 0  # a contradiction refuses no row
    assert_same(_CONTRADICTIONS, res.results, as_of, res.errors)
    assert_same_contradictions(_CONTRADICTIONS, res.errors, as_of)
    assert_same_facts(_CONTRADICTIONS, as_of)
    status = {(r["patient_id"], r["rule"]): (r["status"], r["missing"]) for r in res.results.iter_rows(named=True)}
    assert status[("ces", "cauda-equina-suspected")] == ("emergency", [])
    cauda, missing = status[("undecided", "cauda-equina-suspected")]
    assert cauda == "undetermined" and "urinary-retention" in missing
    mscc, missing = status[("undecided", "mscc-suspected")]
    assert mscc == "undetermined" and {"urinary-retention", "bowel-dysfunction", "bladder-bowel-dysfunction"} <= set(
        missing
    )


@pytest.mark.usefixtures("fresh_derivations")
def test_contradictions_through_the_engine_per_row_are_flagged_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the input checks had changed since they were pinned: every patient goes through the engine's derive.
    monkeypatch.setitem(_derive.PINNED, "(checks)", "0" * 16)
    assert not _derive.derivations().checks_current
    as_of = dt.date(2026, 11, 23)
    res = cohort_evaluate(_CONTRADICTIONS, as_of=as_of)
    assert_same(_CONTRADICTIONS, res.results, as_of, res.errors)
    assert_same_contradictions(_CONTRADICTIONS, res.errors, as_of)


# -- calendar arithmetic and the compiled plan -----------------------------------------------------


@pytest.mark.parametrize(
    "period",
    [
        m.Period(1, "month"),
        m.Period(3, "month"),
        m.Period(12, "month"),
        m.Period(1, "year"),
        m.Period(5, "year"),
        m.Period(0, "year"),
        m.Period(2, "week"),
    ],
)
def test_column_calendar_arithmetic_matches_period_add_to(period: m.Period) -> None:
    days = [dt.date(2023, 1, 1) + dt.timedelta(days=i) for i in range(3 * 366)]
    frame = pl.DataFrame({"d": days})
    moved = frame.select(_engine.add_period(pl.col("d"), period))["d"].to_list()
    assert moved == [period.add_to(d) for d in days]


def test_29_february_plus_a_year_is_28_february() -> None:
    frame = pl.DataFrame({"d": [dt.date(2024, 2, 29)]})
    assert frame.select(_engine.add_period(pl.col("d"), m.Period(1, "year")))["d"][0] == dt.date(2025, 2, 28)


def test_medication_rules_are_the_per_row_ones() -> None:
    state = _derive.derivations()
    if state.stale or not state.checks_current:
        pytest.skip(
            "the fact engine (_facts) changed since the column derivations were checked: rules reading "
            f"{sorted(state.stale) or 'derived facts'} run per row (correct, slower); bring cohort/_derive.py up to "
            f"date and renew the pins in _derive.PINNED (now {dict(state.changed)})"
        )
    plan = _engine.make_plan(dt.date(2026, 11, 23))
    per_row = {s.rule.kind for s in plan.per_row()}
    assert per_row <= set(_engine.PER_ROW_KINDS)
    columnar = {s.rule.kind for s in plan.steps if s.columnar}
    assert {"screening", "classification", "workup", "consideration"} <= columnar


@pytest.fixture
def fresh_derivations() -> Any:
    _derive.derivations.cache_clear()
    yield
    _derive.derivations.cache_clear()


@pytest.mark.usefixtures("fresh_derivations")
def test_a_changed_pinned_derivation_runs_per_row_and_still_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_derive.PINNED, "age", "0" * 16)  # as if _facts._age had changed since it was pinned
    state = _derive.derivations()
    assert {"age", "crcl"} <= state.stale  # crcl reads age: stale with it
    assert dict(state.changed)["age"] == _derive.fingerprint("age")
    plan = _engine.make_plan(dt.date(2026, 11, 23))
    assert not any(s.columnar for s in plan.steps if "age" in set(_engine._rule_facts(s.rule)))
    docs = [json.loads(p.read_text()) for p in EXAMPLES]
    res = cohort_evaluate(docs, as_of=dt.date(2026, 11, 23))
    assert_same(docs, res.results, dt.date(2026, 11, 23), res.errors)


@pytest.mark.usefixtures("fresh_derivations")
def test_a_by_value_derivation_reading_an_undeclared_fact_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = _facts._DERIVATIONS["pad"]

    def pad(patient: Any, as_of: dt.date, facts: Any) -> Any:
        return original(patient, as_of, facts) if facts.get("smoker") is not True else True

    monkeypatch.setitem(_facts._DERIVATIONS, "pad", pad)
    assert "pad" in _derive.derivations().stale  # found by the probe, before any data is read
    with pytest.raises(_derive.StaleDerivationError):
        _derive._call("pad", _derive.BY_VALUE["pad"], {"abi": 1.0}, dt.date(2026, 1, 1))


def test_engine_refusals_placeholders_and_unit_slips_are_reported_as_assess_decides() -> None:
    as_of = dt.date(2026, 11, 23)
    frame = pl.DataFrame(
        {
            "patient_id": ["contradiction", "placeholder", "slip", "before-birth"],
            "birth_date": [dt.date(1950, 1, 1)] * 4,
            "diabetes_type": ["type-2"] * 4,
            "diabetes_diagnosed": [dt.date(2010, 1, 1)] * 4,
            "areflexia": [True, None, None, None],
            "brisk-reflexes": [True, None, None, None],
            "last-foot-exam": [dt.date(2025, 1, 1), dt.date(1900, 1, 1), dt.date(2025, 1, 1), dt.date(1949, 1, 1)],
            "serum-creatinine": [1.0, 1.0, 35.0, 1.0],  # 35 mg/dL: within the span, but far likelier umol/L
        }
    )
    res = cohort_evaluate(frame, as_of=as_of, max_bad_share=1.0)
    effects = {(r["patient_id"], r["column"]): r["effect"] for r in res.errors.iter_rows(named=True)}
    assert effects == {
        ("contradiction", "areflexia and brisk-reflexes"): "not used",
        ("placeholder", "last-foot-exam"): "not used",
        ("slip", "serum-creatinine"): "not used",
        ("before-birth", "last-foot-exam"): "refused",
    }
    assert res.bad_rows == 1  # values not used do not count as bad rows
    assert set(res.results["patient_id"].unique().to_list()) == {"contradiction", "placeholder", "slip"}
    docs = [_schema.document_of(r) for r in frame.with_row_index("row").to_dicts()]
    assert_same(docs, res.results, as_of, res.errors, unknown_facts(frame.columns), res.absent_only)


# -- bad input ------------------------------------------------------------------------------------------


def test_every_bad_column_is_reported_at_once() -> None:
    frame = pl.DataFrame(
        {
            "patient_id": ["a"],
            "numbnes": [True],
            "weight": [dt.date(2020, 1, 1)],
            "crcl[furlong]": [50.0],
            "diabetes-duration": [3.0],
        }
    )
    with pytest.raises(SchemaError) as info:
        cohort_evaluate(frame, as_of=dt.date(2026, 11, 23))
    cols = [p[0] for p in info.value.problems]
    assert cols == ["numbnes", "weight", "crcl[furlong]", "diabetes-duration"]
    assert "numbness" in str(info.value)  # the suggestion
    assert isinstance(info.value, ValueError)


def test_bad_cells_are_reported_and_excluded_from_the_rules_that_read_them() -> None:
    as_of = dt.date(2026, 11, 23)
    frame = pl.DataFrame(
        {
            "patient_id": ["ok", "late-exam", "heavy"],
            "diabetes_type": ["type-2"] * 3,
            "diabetes_diagnosed": [dt.date(2010, 1, 1)] * 3,
            "last-foot-exam": [dt.date(2025, 1, 1), dt.date(2027, 1, 1), dt.date(2025, 1, 1)],
            "weight": [80.0, 80.0, 9000.0],
        }
    )
    res = cohort_evaluate(frame, as_of=as_of, max_bad_share=1.0)
    errors = {(r["patient_id"], r["column"]) for r in res.errors.iter_rows(named=True)}
    assert errors == {("late-exam", "last-foot-exam"), ("heavy", "weight")}
    assert "evaluation date" in res.errors.filter(pl.col("column") == "last-foot-exam")["expected"][0]
    foot = res.results.filter(pl.col("rule") == "foot-exam-annual")
    if _engine.derivations_current():  # per row (after a fact-engine change) any bad cell excludes the row
        assert sorted(foot["patient_id"].to_list()) == ["heavy", "ok"]  # the bad weight does not touch foot screening
    assert "late-exam" in res.results["patient_id"].to_list()  # other rules still run for it


def test_too_many_bad_rows_stop_the_run_with_a_summary() -> None:
    frame = pl.DataFrame({"patient_id": ["a", "b", "c", "d"], "hba1c": [5.0, 99.0, 98.0, 6.0]})
    with pytest.raises(BadRowsError) as info:
        cohort_evaluate(frame, as_of=dt.date(2026, 11, 23), max_bad_share=0.25)
    assert "hba1c: 2 rows" in str(info.value)


def test_a_missing_column_is_unknown_for_everyone_and_named_once() -> None:
    frame = pl.DataFrame(
        {"patient_id": ["a", "b"], "diabetes_type": ["type-2", None], "diabetes_diagnosed": [dt.date(2020, 1, 1), None]}
    )
    res = cohort_evaluate(frame, as_of=dt.date(2026, 11, 23))
    assert res.absent.count("last-foot-exam") == 1
    # A decided result keeps its row and names what was missing.
    foot = res.results.filter(pl.col("rule") == "foot-exam-annual")
    assert foot.select("status", "missing").rows() == [("due", ["last-foot-exam"])]
    # Undecidable for want of a column: counted once for the rule, not a row per patient.
    assert res.results.filter(pl.col("rule") == "thiamine-before-glucose").height == 0
    thiamine = res.absent_only.filter(pl.col("rule") == "thiamine-before-glucose")
    assert thiamine.select("patients", "missing").rows() == [(2, ["suspected-wernicke"])]
    every = cohort_evaluate(frame, as_of=dt.date(2026, 11, 23), undetermined=Undetermined.ALL)
    rows = every.results.filter(pl.col("rule") == "thiamine-before-glucose")
    assert rows.select("status", "missing").rows() == [("undetermined", ["suspected-wernicke"])] * 2
    assert every.absent_only.equals(res.absent_only)


def test_an_empty_cell_in_a_present_column_keeps_its_row() -> None:
    frame = pl.DataFrame(
        {"patient_id": ["a", "b"], "suspected-wernicke": [None, True]},
        schema_overrides={"suspected-wernicke": pl.Boolean},
    )
    res = cohort_evaluate(frame, as_of=dt.date(2026, 11, 23))
    rows = res.results.filter(pl.col("rule") == "thiamine-before-glucose").sort("row")
    assert rows.select("patient_id", "status", "missing").rows() == [
        ("a", "undetermined", ["suspected-wernicke"]),  # the column is there, this cell is empty: actionable
        ("b", "fires", []),
    ]
    assert "thiamine-before-glucose" not in res.absent_only["rule"].to_list()


def test_units_in_the_column_name_convert_like_a_document() -> None:
    as_of = dt.date(2026, 11, 23)
    base = {"patient_id": ["a"], "birth_date": [dt.date(1950, 5, 5)], "sex": ["female"], "weight": [70.0]}
    every = Undetermined.ALL
    canonical = cohort_evaluate(
        pl.DataFrame({**base, "serum-creatinine": [1.0]}), as_of=as_of, undetermined=every
    ).results
    molar = cohort_evaluate(
        pl.DataFrame({**base, "serum-creatinine[umol/L]": [88.42]}), as_of=as_of, undetermined=every
    ).results
    doc = {
        "birth_date": "1950-05-05",
        "sex": "female",
        "measurements": {"weight": "70 kg", "serum-creatinine": "88.42 umol/L"},
    }
    assert got(molar, 0) == expected(doc, as_of)
    assert canonical.height == molar.height


def test_text_columns_are_converted_and_bad_text_reported() -> None:
    frame = pl.DataFrame(
        {"patient_id": ["a", "b"], "numbness": ["yes", "perhaps"], "last-foot-exam": ["2025-01-31", "31/01/2025"]}
    )
    res = cohort_evaluate(frame, as_of=dt.date(2026, 11, 23), max_bad_share=1.0)
    assert sorted(res.errors["column"].to_list()) == ["last-foot-exam", "numbness"]
    assert set(res.errors["patient_id"].to_list()) == {"b"}


def test_refused_documents_are_reported_not_dropped() -> None:
    docs = [{"id": "x", "sex": "unknown"}, {"id": "y", "findings": {"numbness": True}}]
    res = cohort_evaluate(docs, as_of=dt.date(2026, 11, 23), max_bad_share=1.0)
    assert res.errors.select("row", "column").rows() == [(0, "sex")]
    assert set(res.results["patient_id"].to_list()) == {"y"}


@pytest.mark.usefixtures("fresh_derivations")
def test_per_row_results_undetermined_only_by_absent_columns_are_counted_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_derive.PINNED, "age", "0" * 16)  # rules reading age now run per row
    as_of = dt.date(2026, 11, 30)
    per_row = {s.rule.id for s in _engine.make_plan(as_of).per_row()}
    frame = pl.DataFrame(
        {"patient_id": ["a", "b"], "diabetes_type": ["type-2", None], "diabetes_diagnosed": [dt.date(2020, 1, 1), None]}
    )
    res = cohort_evaluate(frame, as_of=as_of)
    assert set(res.absent_only["rule"].to_list()) & per_row  # e.g. pad-screening: no birth date, no age column
    docs = [_schema.document_of(r) for r in frame.with_row_index("row").to_dicts()]
    assert_same(docs, res.results, as_of, res.errors, unknown_facts(frame.columns), res.absent_only)
    every = cohort_evaluate(frame, as_of=as_of, undetermined=Undetermined.ALL)
    assert_same(docs, every.results, as_of, every.errors)
    assert every.results.height == res.results.height + res.absent_only["patients"].sum()


# -- dosing rules: looked up by prescription and CrCl ------------------------------------------------


def _on(agent: str, dose: str, per: str = "day", **more: str) -> dict[str, Any]:
    return {"agent": agent, "dose": dose, "per": per, "started": "2026-01-05", **more}


def _renal(age: int, weight: float, scr: float, sex: str = "male", **more: Any) -> dict[str, Any]:
    measurements = {"weight": f"{weight} kg", "serum-creatinine": f"{scr} mg/dL", **more}
    return {"age": age, "sex": sex, "measurements": measurements}


# Cockcroft-Gault (140 - 60) x 81 / (72 x scr) gives exactly 60, 30 and 15 mL/min at scr 1.5, 3.0 and 6.0:
# the gabapentin label's printed edges (>= 60; >30 to 59; >15 to 29; 15; < 15), reached exactly and a step away.
_EDGE_PATIENTS = [
    {**_renal(60, 81.0, scr), "medications": [_on("gabapentin", dose)]}
    for scr in (1.5, 1.51, 1.49, 3.0, 3.01, 2.99, 6.0, 6.01, 5.99, 12.0)
    for dose in ("100 mg", "300 mg", "700 mg", "1400 mg", "1800 mg")
]
_GIVEN_CRCL = [
    {"measurements": {"crcl": f"{c} mL/min"}, "medications": [_on(agent, dose)]}
    for c in (7.5, 14.999, 15.0, 15.001, 29.999, 30.0, 30.001, 59.999, 60.0, 60.001)
    for agent, dose in (("gabapentin", "300 mg"), ("pregabalin", "300 mg"), ("duloxetine", "60 mg"))
]
_OTHERS = [
    # A heavy patient: CrCl from actual weight in the ">= 60" row, from ideal weight in ">30 to 59".
    {**_renal(60, 150.0, 1.2, "female", height="160 cm"), "medications": [_on("gabapentin", "1800 mg")]},
    {**_renal(60, 150.0, 1.2, "female", height="160 cm"), "medications": [_on("gabapentin", "900 mg")]},
    {**_renal(60, 150.0, 1.2, "female"), "medications": [_on("gabapentin", "1800 mg")]},  # no height: no views
    # Duplicate therapy (summed, per row), stopped the day before and on the day, started on the day, no CrCl,
    # routes, units, a release form.
    {**_renal(70, 70.0, 1.0), "medications": [_on("gabapentin", "900 mg"), _on("Neurontin", "900 mg")]},
    {**_renal(70, 70.0, 1.0), "medications": [_on("gabapentin", "4000 mg", stopped="2026-11-29")]},
    {**_renal(70, 70.0, 1.0), "medications": [_on("gabapentin", "4000 mg", stopped="2026-11-30")]},
    {**_renal(70, 70.0, 1.0), "medications": [{**_on("gabapentin", "4000 mg"), "started": "2026-11-30"}]},
    {"medications": [_on("gabapentin", "4000 mg"), _on("duloxetine", "60 mg")]},
    {"medications": [_on("vitamin B12", "350 mg", route="oral"), _on("thiamine", "300 mg", route="IV")]},
    {"medications": [_on("cyanocobalamin", "1000 ug", "week", route="IM"), _on("gabapentin ER", "600 mg")]},
    {"medications": [_on("hydroxocobalamin", "1 mg", "month", route="intramuscular", indication="maintenance")]},
    {**_renal(70, 70.0, 1.0), "medications": [_on("gabapentn", "4000 mg"), _on("duloxetine", "60 mg")]},  # misspelt
]


def test_dosing_rules_at_band_edges_give_the_same_answers_as_assess() -> None:
    as_of = dt.date(2026, 11, 30)
    docs = [*_EDGE_PATIENTS, *_GIVEN_CRCL, *_OTHERS]
    res = cohort_evaluate(docs, as_of=as_of)
    assert_same(docs, res.results, as_of, res.errors)
    dosing = res.results.filter(pl.col("kind") == "dosing")
    statuses = set(dosing["status"].to_list())
    assert {"weight-dependent", "above-maximum", "below-range", "avoid", "not-covered"} <= statuses
    # Every dosing row is looked up by prescription except duplicate therapy's.
    per_row = set(dosing.filter(pl.col("evaluated") == "per-row")["row"].to_list())
    assert per_row == {len(_EDGE_PATIENTS) + len(_GIVEN_CRCL) + 3}


def test_duplicate_therapy_label_names_every_entry() -> None:
    # NEURONTIN Table 1 is a total daily dose: 900 + 900 mg/day is 1800, above 400-1400 at CrCl 45, although each
    # entry alone is within it. The row's label named only the first entry (a dose within range on its own).
    doc = {
        "id": "two-prescribers",
        "measurements": {"crcl": "45 mL/min"},
        "medications": [
            {"agent": "gabapentin", "dose": "900 mg", "per": "day", "route": "oral"},
            {"agent": "Neurontin", "dose": "900 mg", "per": "day", "route": "oral"},
        ],
    }
    res = cohort_evaluate([doc], as_of=dt.date(2026, 11, 30))
    rows = res.results.filter(pl.col("kind") == "dosing").to_dicts()
    assert [(r["status"], r["label"]) for r in rows] == [
        ("above-maximum", "gabapentin 900 mg per day and Neurontin 900 mg per day")
    ]


def test_dosing_lookup_is_pinned_to_the_engine_functions() -> None:
    from neuroguide.cohort import _lookup

    if not _lookup.current():
        pytest.skip(
            "the medication-rule functions of the engine changed since the cohort's dosing look-up was checked: "
            "dosing rules run per row (correct, slower); check cohort/_lookup.py against them and renew "
            f"_lookup.PINNED (now {_lookup.fingerprint()})"
        )
    plan = _engine.make_plan(dt.date(2026, 11, 23))
    assert all(s.lookup for s in plan.steps if s.rule.kind == "dosing")
    assert {s.rule.kind for s in plan.per_row()} <= {"neurotoxicity"}


def test_pad_given_no_against_a_diagnostic_abi_is_a_conflict_as_in_assess() -> None:
    # ABI <= 0.90 establishes PAD: a given "no" beside it is withheld and flagged; 0.91 leaves the "no" in use.
    as_of = dt.date(2026, 11, 30)
    docs = [
        {"id": f"abi-{abi}-{pad}", "findings": {"pad": pad, "foot-ulcer": True}, "measurements": {"abi": abi}}
        for abi in (0.89, 0.90, 0.91)
        for pad in (False, True)
    ]
    res = cohort_evaluate(docs, as_of=as_of)
    assert_same(docs, res.results, as_of, res.errors)
    flagged = set(res.errors.filter(pl.col("column") == "pad")["row"].to_list())
    assert flagged == {0, 2}  # "no" at 0.89 and 0.90


def test_a_batch_whose_every_document_is_refused_is_reported_not_a_crash() -> None:
    docs = [{"id": "x", "sex": "unknown"}, {"id": "y", "birth_date": "not a date"}]
    res = cohort_evaluate(docs, as_of=dt.date(2026, 11, 23), max_bad_share=1.0)
    assert res.results.height == 0
    assert sorted(res.errors["row"].to_list()) == [0, 1]


# -- medication names no rule recognises: flagged, as assess lists them -------------------------------------


_MISSPELT: list[dict[str, Any]] = [
    {"id": "a", "medications": [_on("gabapentn", "900 mg"), {"agent": "metformin"}]},
    {"id": "b", "medications": [{"agent": "metforminn"}, {"agent": " aspirin "}, _on("gabapentin", "4000 mg")]},
    {"id": "c", "medications": [_on("gabapentin", "900 mg"), {"agent": "Neurontin"}]},
    {"id": "d", "birth_date": "1950-01-01", "last": {"foot-exam": "1940-01-01"}, "medications": [{"agent": "xyz"}]},
]


def test_drug_names_no_rule_recognises_are_flagged_as_assess_lists_them() -> None:
    as_of = dt.date(2026, 11, 30)
    res = cohort_evaluate(_MISSPELT, as_of=as_of, max_bad_share=1.0)
    rows = res.errors.filter(pl.col("effect") == "not used").sort("row", "column")
    assert rows.select("patient_id", "column", "value").rows() == [
        ("a", "medications[0].agent", "gabapentn"),
        ("b", "medications[0].agent", "metforminn"),
        ("b", "medications[1].agent", "aspirin"),
        ("d", "medications[0].agent", "xyz"),  # refused (as by assess), its names still listed: one pass fixes all
    ]
    assert "did you mean 'gabapentin'?" in rows["expected"][0]
    assert "did you mean 'metformin'?" in rows["expected"][1]
    assert res.unrecognised == 4
    assert res.bad_rows == 1  # only d, refused for a date before birth: a name not recognised is not a bad row
    assert_same(_MISSPELT, res.results, as_of, res.errors)


def test_drug_names_in_a_wide_table_are_flagged_too() -> None:
    as_of = dt.date(2026, 11, 30)
    meds = [[{"agent": "gabapentn", "dose": "900 mg", "per": "day"}], [{"agent": "pregabalin"}], []]
    frame = pl.DataFrame(
        {"patient_id": ["a", "b", "c"], "medications": meds},
        schema_overrides={"medications": _schema.MED_TYPE},
    )
    res = cohort_evaluate(frame, as_of=as_of)
    assert res.errors.select("patient_id", "column", "value", "effect").rows() == [
        ("a", "medications[0].agent", "gabapentn", "not used")
    ]
    text = frame.with_columns(pl.Series("medications", ['[{"agent": "gabapentn"}]', "[]", None]))
    assert cohort_evaluate(text, as_of=as_of).errors.select("patient_id", "value").rows() == [("a", "gabapentn")]


def test_a_true_false_derivation_is_called_once_per_combination_across_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    as_of = dt.date(2026, 11, 30)
    frame = pl.DataFrame(
        {
            "monofilament-abnormal": [True, True, None, False, None],
            "vibration-abnormal": [False, False, None, None, True],
        },
        schema={"monofilament-abnormal": pl.Boolean(), "vibration-abnormal": pl.Boolean()},
    )
    # The engine's derivation per row (as the per-row path calls it) is the reference.
    expected = [_derive._call("lops", _derive.BY_VALUE["lops"], row, as_of) for row in frame.iter_rows(named=True)]
    calls: list[Any] = []
    real = _derive._call

    def counting(name: str, *args: Any) -> Any:
        calls.append(name)
        return real(name, *args)

    monkeypatch.setattr(_derive, "_call", counting)
    monkeypatch.setattr(_derive, "_SEEN", {})
    assert _derive._by_value(frame, "lops", as_of).to_list() == expected
    assert len(calls) == 4  # four distinct combinations in five rows
    assert _derive._by_value(frame.reverse(), "lops", as_of).to_list() == expected[::-1]
    assert len(calls) == 4  # the next partition: no call for a combination seen before
    # A changed derivation function is a new key: called afresh, never the old function's values.
    monkeypatch.setitem(_facts._DERIVATIONS, "lops", lambda patient, when, facts: True)
    assert _derive._by_value(frame, "lops", as_of).to_list() == [True] * 5
    assert len(calls) == 8


def test_duloxetine_on_dialysis_gives_the_answer_of_assess() -> None:
    # Dialysis puts duloxetine in its avoid row whatever the CrCl: not a function of CrCl, so evaluated per row.
    as_of = dt.date(2026, 11, 30)
    hd = {"findings": {"dialysis": True}}
    docs = [
        {**hd, "medications": [_on("duloxetine", "60 mg")]},
        {**hd, **_renal(60, 81.0, 1.5), "medications": [_on("duloxetine", "60 mg")]},
        {**hd, "medications": [_on("gabapentin", "2400 mg")]},
        {"medications": [_on("duloxetine", "60 mg")]},
    ]
    res = cohort_evaluate(docs, as_of=as_of)
    assert_same(docs, res.results, as_of, res.errors)
    dosing = res.results.filter(pl.col("rule") == "duloxetine-dpnp").sort("row")
    assert dosing["status"].to_list() == ["avoid", "avoid", "within-range"]
    assert dosing["evaluated"].to_list()[:2] == ["per-row", "per-row"]


def test_dialysis_with_a_creatinine_gives_the_answer_of_assess() -> None:
    # On dialysis Cockcroft-Gault is not applied (it presumes stable renal function): the columns derive no CrCl
    # from a creatinine there, as assess does; a CrCl given directly is still used. 40 y, 90 kg, 3 mg/dL gives
    # (140 - 40) x 90 / (72 x 3) = 41.7 mL/min off dialysis (gabapentin ">30 to 59": 1200 mg/day within range).
    as_of = dt.date(2026, 11, 30)
    reviewer = _renal(40, 90.0, 3.0)
    given = _renal(40, 90.0, 3.0, crcl="20 mL/min")
    hd = {"findings": {"dialysis": True, "end-stage-renal-disease": True}}
    off = {"findings": {"dialysis": False}}
    gaba, dulox = [_on("gabapentin", "1200 mg")], [_on("duloxetine", "60 mg")]
    docs = [
        {**reviewer, **hd, "medications": gaba},  # not banded: not-covered, CrCl missing
        {**reviewer, **off, "medications": gaba},  # within range at 41.7: no row
        {**reviewer, "medications": gaba},  # dialysis not recorded: as off
        {**given, **hd, "medications": gaba},  # given 20 on dialysis: used, above 200-700
        {**given, **off, "medications": gaba},  # given 20 against 41.7 off dialysis: conflict, not-covered
        {**reviewer, **hd, "medications": dulox},  # avoid on dialysis
        {**given, **hd, "medications": dulox},  # avoid on dialysis, the given CrCl does not decide
        {**reviewer, **off, "medications": dulox},  # 41.7: within range, no row
        {**_renal(40, 150.0, 3.0, crcl="20 mL/min"), "measurements": {"weight": "150 kg", "height": "170 cm",
         "serum-creatinine": "3 mg/dL", "crcl": "20 mL/min"}, **hd, "medications": gaba},  # heavy, on dialysis
    ]  # fmt: skip
    res = cohort_evaluate(docs, as_of=as_of)
    assert_same(docs, res.results, as_of, res.errors)
    dosing = res.results.filter(pl.col("kind") == "dosing").sort("row")
    got = dict(zip(dosing["row"].to_list(), dosing["status"].to_list(), strict=True))
    assert got == {0: "not-covered", 3: "above-maximum", 4: "not-covered", 5: "avoid", 6: "avoid", 8: "above-maximum"}
    assert dosing.filter(pl.col("row") == 0)["missing"].to_list()[0] != []
