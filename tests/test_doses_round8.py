"""Round-8 dose deck: check_dose, the CLI, assess and the FHIR reader against label-derived verdicts.

The expected verdicts live in ``tests/data/doses/round8.json`` with the label section each comes from; they were
written from the labels and guidelines, not by running neuroguide. Besides the deck, a differential test holds
``assess`` to ``check_dose`` on every case, and a property test holds ``check_dose`` to "a verdict or a
NeuroguideError" for any dose text, number, unit and period.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import exceptions as ex
from neuroguide.cli import main as cli_main

DECK = json.loads((Path(__file__).parent / "data" / "doses" / "round8.json").read_text(encoding="utf-8"))
AS_OF = dt.date.fromisoformat(DECK["as_of"])
CASES: list[dict[str, Any]] = DECK["cases"]
FHIR_CASES: list[dict[str, Any]] = DECK["fhir"]
VERDICT_CASES = [c for c in CASES if "expect" in c]
ERROR_CASES = [c for c in CASES if "error" in c]
ASSESSED = [c for c in CASES if c.get("assess", True)]
DOSING = "drug-dosing"


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


def test_deck_is_well_formed() -> None:
    ids = _ids(CASES) + _ids(FHIR_CASES)
    assert len(ids) == len(set(ids)), "case ids are unique"
    for case in CASES + FHIR_CASES:
        assert case["source"] in DECK["sources"], case["id"]
        assert ("expect" in case) != ("error" in case), case["id"]
        if "error" in case:
            assert isinstance(getattr(ex, case["error"]), type) and case["field"], case["id"]
        else:
            assert case["expect"] in {v.value for v in ng.Verdict}, case["id"]
    assert len(CASES) >= 60


def _check(case: dict[str, Any]) -> ng.DoseVerdict:
    patient = ng.Patient.from_dict(case["patient"]) if "patient" in case else None
    return ng.check_dose(
        case["agent"],
        case["dose"],
        per=case.get("per"),
        route=case.get("route"),
        indication=case.get("indication"),
        crcl=case.get("crcl"),
        patient=patient,
        as_of=AS_OF if patient is not None else None,
    )


def _param(cases: list[dict[str, Any]]) -> list[Any]:
    """Cases as parameters, each marked with the rule it tests; a case with a ``known_gap`` is a strict expected
    failure (it must fail until fixed)."""
    out = []
    for c in cases:
        marks = [pytest.mark.rule(c["rule"])] if "rule" in c else []
        if "known_gap" in c:
            marks.append(pytest.mark.xfail(strict=True, reason=c["known_gap"]))
        out.append(pytest.param(c, id=c["id"], marks=marks))
    return out


@pytest.mark.parametrize("case", _param(VERDICT_CASES))
def test_check_dose_verdict(case: dict[str, Any]) -> None:
    v = _check(case)
    assert v.verdict.value == case["expect"], f"{case['why']}: {v.message}"
    assert set(case.get("missing", ())) <= set(v.missing), v.missing
    if case["expect"] != "within-range" or case.get("missing"):
        assert not v.ok or case.get("missing"), "never a silent ok"
    if "message_has" in case:
        assert case["message_has"] in v.message
    if "note_has" in case:
        assert any(case["note_has"] in n for n in v.notes), v.notes


@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_check_dose_error(case: dict[str, Any]) -> None:
    wanted = getattr(ex, case["error"])
    with pytest.raises(ex.NeuroguideError) as caught:
        _check(case)
    err = caught.value
    assert isinstance(err, wanted), f"{type(err).__name__}: {err}"
    _names_field(err, case["field"])
    if "message_has" in case:
        assert case["message_has"] in str(err)


def _names_field(err: BaseException, field: str) -> None:
    """The error names the field, shows the value and says what was expected."""
    text = str(err)
    if isinstance(err, ex.InputError):
        assert field in err.field, (err.field, text)
        assert repr(err.value)[:40] in text, "the value given is shown"
        assert err.expected, text
        assert "expected" in text
    else:  # a look-up error (unknown agent) names what was looked up
        assert isinstance(err, LookupError), text
    assert isinstance(err, ValueError | LookupError | TypeError), "subclasses the builtin it resembles"


# -- the CLI (in-process) ----------------------------------------------------------------------------

CLI_CASES = [c for c in CASES if c["id"] in {"gaba-59-1500", "gaba-15-300", "dulox-29-60", "unit-comma", "per-dose"}]


@pytest.mark.parametrize("case", CLI_CASES, ids=_ids(CLI_CASES))
def test_cli_dose(case: dict[str, Any]) -> None:
    argv = ["dose", case["agent"], case["dose"], "--json"]
    per = case.get("per")
    for flag, key in (("--route", "route"), ("--indication", "indication"), ("--crcl", "crcl")):
        if case.get(key) is not None:
            argv += [flag, case[key]]
    argv += ["--per", per] if per else []
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as stop:  # argparse refuses a --per outside its choices
            code = stop.code if isinstance(stop.code, int) else 2
    if "error" in case:
        assert code == 2, (code, out.getvalue(), err.getvalue())
        assert case["field"] in err.getvalue() or case["field"] in out.getvalue()
    else:
        data = json.loads(out.getvalue())
        assert data["verdict"] == case["expect"], data


# -- assess with the medication in a patient document ------------------------------------------------


def _document(case: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(case.get("patient", {})))
    if "crcl" in case:
        doc.setdefault("measurements", {})["crcl"] = case["crcl"]
    med = {"agent": case["agent"], "dose": case["dose"]}
    med |= {k: case[k] for k in ("per", "route", "indication") if case.get(k) is not None}
    doc["medications"] = [med]
    return doc


def _dose_recs(result: ng.Assessment) -> list[ng.Recommendation]:
    g = ng.load_guideline(DOSING)
    dosing = {r.id for r in g.rules if r.kind == "dosing"}
    return [r for r in result.recommendations if r.guideline == DOSING and r.rule in dosing]


def _assess_outcome(case: dict[str, Any]) -> tuple[str, tuple[str, ...]] | ex.NeuroguideError:
    """("none", ()) when assess shows nothing for the medication, else (status, missing); or the error."""
    try:
        result = ng.assess(_document(case), as_of=AS_OF)
    except ex.NeuroguideError as err:
        return err
    recs = _dose_recs(result)
    assert len(recs) <= 1, [r.status for r in recs]
    if not recs:
        return "none", ()
    return recs[0].status.value, recs[0].missing


def _shown(expect: str, missing: tuple[str, ...] | list[str]) -> str:
    """What assess must show for a verdict: nothing only for a within-range dose with nothing missing."""
    return "none" if expect == "within-range" and not missing else expect


@pytest.mark.parametrize("case", _param([c for c in ASSESSED if "expect" in c]))
def test_assess_matches_the_label(case: dict[str, Any]) -> None:
    outcome = _assess_outcome(case)
    assert not isinstance(outcome, Exception), outcome
    status, missing = outcome
    assert status == _shown(case["expect"], case.get("missing", ())), case["why"]
    assert set(case.get("missing", ())) <= set(missing)


@pytest.mark.parametrize("case", [c for c in ASSESSED if "error" in c], ids=_ids([c for c in ASSESSED if "error" in c]))
def test_assess_bad_dose_is_refused_or_flagged(case: dict[str, Any]) -> None:
    """A dose check_dose refuses is, in a patient document, a named input error or a visible "not covered"."""
    outcome = _assess_outcome(case)
    if isinstance(outcome, ex.NeuroguideError):
        assert isinstance(outcome, ex.InputError)
        assert case["field"] in outcome.field or f"medications[0].{case['field']}" in str(outcome), str(outcome)
        return
    assert outcome[0] == "not-covered", outcome


@pytest.mark.parametrize(
    "case", [c for c in ASSESSED if "expect" in c], ids=_ids([c for c in ASSESSED if "expect" in c])
)
def test_check_dose_and_assess_agree(case: dict[str, Any]) -> None:
    """Differential: assess shows exactly check_dose's verdict (independently of the deck's expectation)."""
    v = _check(case)
    outcome = _assess_outcome(case)
    assert not isinstance(outcome, Exception), outcome
    status, missing = outcome
    assert status == _shown(v.verdict.value, v.missing), (v.verdict, v.missing, v.message)
    assert set(v.missing) <= set(missing)


# -- the FHIR reader: MedicationRequest with a timing ------------------------------------------------

UCUM = "http://unitsofmeasure.org"


def _bundle(case: dict[str, Any]) -> dict[str, Any]:
    from neuroguide.terminology import LOCAL_SYSTEM

    subject = {"reference": "Patient/p1"}
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "p1", "birthDate": "1966-11-30", "gender": "male"},
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "subject": subject,
            "authoredOn": "2026-11-01",
            "medicationCodeableConcept": {"text": case["agent"]},
            "dosageInstruction": [
                {
                    "timing": {"repeat": {"frequency": case["frequency"], "period": 1, "periodUnit": "d"}},
                    "route": {"text": "Oral"},
                    "doseAndRate": [{"doseQuantity": {"value": case["amount"], "system": UCUM, "code": case["unit"]}}],
                }
            ],
        },
    ]
    if case["crcl"] is not None:
        resources.append(
            {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "code": {"coding": [{"system": LOCAL_SYSTEM, "code": "crcl"}]},
                "subject": subject,
                "effectiveDateTime": "2026-11-01",
                "valueQuantity": {"value": case["crcl"], "system": UCUM, "code": "mL/min", "unit": "mL/min"},
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


@pytest.mark.parametrize("case", _param(FHIR_CASES))
def test_fhir_medication_request(case: dict[str, Any]) -> None:
    from neuroguide import fhir

    reading = fhir.read(_bundle(case), as_of=AS_OF, conformance=False)
    (med,) = reading.patient.medications
    assert med.dose is not None and math.isclose(med.dose.magnitude, case["amount"] * case["frequency"])
    recs = _dose_recs(ng.assess(reading.patient, as_of=AS_OF))
    shown = recs[0].status.value if recs else "none"
    assert shown == _shown(case["expect"], case.get("missing", ())), (case["why"], [r.action for r in recs])
    if case.get("missing"):
        assert set(case["missing"]) <= set(recs[0].missing)


# -- property: a verdict or a NeuroguideError, nothing else -------------------------------------------

_UNITS = ["mg", "g", "ug", "mcg", "µg", "μg", "micrograms", "MG", "Mg", "mg/day", "mg/d", "g/week", "IU", "mL", "kg",
          "mmol", "", "%", "mg/kg", "tabs", "mg TID", "mg/m2", "L/min", "mg/dL"]  # fmt: skip
_AGENTS = ["gabapentin", "pregabalin", "duloxetine", "droxidopa", "thiamine", "cyanocobalamin", "hydroxocobalamin",
           "vitamin B12", "Neurontin", "midodrine", "aspirin", "", " ", "GABAPENTIN"]  # fmt: skip
_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(["1,800", "0", "-0", "1e400", "1e-400", "0x10", "1_000", "½", "٣٠٠", " 900 ", ".5", "5.", "nan"]),
)
_TEXT = st.one_of(
    st.builds(
        lambda n, u, sep: f"{n}{sep}{u}", _NUMBERS, st.sampled_from(_UNITS), st.sampled_from(["", " ", "  ", "\t"])
    ),
    st.text(max_size=20),
)
_DOSES = st.one_of(
    _TEXT,
    st.tuples(_NUMBERS, st.sampled_from(_UNITS)),
    st.floats(),
    st.integers(),
    st.none(),
    st.binary(max_size=5),
    st.booleans(),
    st.decimals(allow_nan=True),
    st.fractions(),
    st.lists(st.integers(), max_size=2),
    st.tuples(st.text(max_size=3), st.text(max_size=3)),
    st.tuples(_NUMBERS, _NUMBERS),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
_ODD = st.one_of(st.integers(), st.booleans(), st.binary(max_size=3), st.lists(st.integers(), max_size=1))
_PERS = st.one_of(
    st.none(),
    st.sampled_from(["day", "week", "month", "Day", "dose", "daily", "", "year", "hour"]),
    st.text(max_size=6),
    _ODD,
)
_CRCLS = st.one_of(
    st.none(),
    st.builds(lambda n: f"{n} mL/min", _NUMBERS),
    st.sampled_from(["60", "normal", "60 mL/min/1.73m2", "1 L/h", "0 mL/min", "300.1 mL/min"]),
    st.floats(),
    st.tuples(_NUMBERS, st.sampled_from(["mL/min", "mL/s", "L/h", "mg", ""])),
    _ODD,
)
_ROUTES = st.one_of(
    st.none(), st.sampled_from(["oral", "PO", "IM", "iv", "intrathecal", "", "by mouth"]), st.text(max_size=5), _ODD
)


@given(
    agent=st.one_of(st.sampled_from(_AGENTS), st.text(max_size=12), _ODD),
    dose=_DOSES,
    per=_PERS,
    crcl=_CRCLS,
    route=_ROUTES,
    indication=st.one_of(
        st.none(), st.sampled_from(["dpn", "phn", "wernicke", "malabsorption", ""]), st.text(max_size=8), _ODD
    ),
)
def test_check_dose_answers_or_raises_a_neuroguide_error(
    agent: str, dose: Any, per: Any, crcl: Any, route: Any, indication: Any
) -> None:
    outcome: ng.DoseVerdict | ex.NeuroguideError
    try:
        outcome = ng.check_dose(agent, dose, per=per, crcl=crcl, route=route, indication=indication)
    except ex.NeuroguideError as err:  # anything else escapes and fails the test
        outcome = err
    if isinstance(outcome, ex.NeuroguideError):
        assert isinstance(outcome, ValueError | LookupError | TypeError), type(outcome)
        assert str(outcome)
        return
    v = outcome
    assert isinstance(v, ng.DoseVerdict) and isinstance(v.verdict, ng.Verdict)
    assert v.message


def test_cohort_shows_a_within_range_dose_with_a_missing_fact_as_assess_does() -> None:
    """Duloxetine 60 mg/day without CrCl: assess and the cohort's columnar look-up both show it, naming crcl."""
    pl = pytest.importorskip("polars")
    from neuroguide.cohort import evaluate as cohort_evaluate

    doc = {"medications": [{"agent": "duloxetine", "dose": "60 mg", "per": "day", "indication": "dpnp"}]}
    rows = cohort_evaluate([doc], as_of=AS_OF).results.filter(pl.col("kind") == "dosing")
    assert rows["status"].to_list() == ["within-range"]
    assert rows["missing"].to_list() == [["crcl"]]
    (rec,) = _dose_recs(ng.assess(doc, as_of=AS_OF))
    assert (rec.status.value, rec.missing) == ("within-range", ("crcl",))


def test_cds_card_for_a_within_range_dose_with_a_missing_fact() -> None:
    """The CDS Hooks service shows duloxetine without CrCl (a card naming CrCl), and stays quiet when CrCl is 80."""
    pytest.importorskip("starlette")
    from neuroguide import service

    def cards(doc: dict[str, Any]) -> list[dict[str, Any]]:
        found = service.cards_for(ng.assess(doc, as_of=AS_OF), "r1", "https://example.org")
        return [c for c in found if "uloxetine" in json.dumps(c)]

    med = {"agent": "duloxetine", "dose": "60 mg", "per": "day", "indication": "dpnp"}
    (card,) = cards({"medications": [med]})
    assert "creatinine" in json.dumps(card).lower() or "crcl" in json.dumps(card).lower()
    assert cards({"measurements": {"crcl": "80 mL/min"}, "medications": [med]}) == []
