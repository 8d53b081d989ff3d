"""Round 9 clinician review of what neuroguide shows (each test reproduced the problem before its fix).

1. A laboratory result known only as below or above a limit ("<150 pg/mL") was shown as the bare number (150),
   which reads as an exact result: the report, the reasons, the trace and the record now show the comparator.
2. The note on a limit that leaves a threshold undecided cited an old b12-testing version and stood under
   "Not recognised": it cites the version the assessment evaluates and has its own summary line.
3. On hemodialysis without a known CrCl, the gabapentin verdict did not carry the label's post-hemodialysis
   supplement (it did with any CrCl, including below 1 mL/min).
4. Duloxetine without CrCl asked for "creatinine clearance" only; it now asks, as gabapentin does, in one wording
   for CrCl or the inputs neuroguide computes it from (Cockcroft–Gault: age, sex, weight, serum creatinine).
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.report import render_text, summary
from neuroguide.results import NoteKind

pytest.importorskip("fhir.resources", reason="needs the fhir extra")

from neuroguide import fhir

DECK = Path(__file__).parent / "data" / "fhir" / "round8"
AS_OF = dt.date(2026, 11, 23)


def _b12(value: str, **more: Any) -> ng.Patient:
    return ng.Patient.from_dict(
        {"id": "p4", "birth_date": "1949-01-20", "sex": "female", "measurements": {"b12-total": value}, **more}
    )


# -- 1. a limit is shown as a limit -------------------------------------------------------------------------------


def test_a_fhir_limit_is_shown_with_its_comparator_in_the_report() -> None:
    got = fhir.assess(DECK / "comparator_b12_below_all_edges.json", as_of=AS_OF)
    text = render_text(got)
    (line,) = [x for x in text.splitlines() if "Result: Serum total vitamin B12" in x]
    assert "Serum total vitamin B12 <150 pg/mL." in line  # as the laboratory gave it
    assert "B12 150 ng/L" not in text and "= 150 ng/L" not in text


def test_a_fhir_limit_is_shown_with_its_comparator_in_reasons_trace_and_record() -> None:
    got = fhir.assess(DECK / "comparator_b12_below_all_edges.json", as_of=AS_OF)
    (rec,) = [r for r in got.recommendations if r.rule == "b12-total-interpretation"]
    assert rec.reasons[0].startswith("b12-total = <150 ng/L: deficiency-confirmed")
    assert rec.details == ("b12-total <150 ng/L",)
    assert got.record.patient["measurements"]["b12-total"] == "<150 pg/mL"
    assert got.record.to_dict()["patient"]["measurements"]["b12-total"] == "<150 pg/mL"
    lines = [line for trace in got.record.trace for line in trace.leaves if "b12-total =" in line]
    assert lines and all("b12-total = <150 ng/L" in line for line in lines)


def test_above_a_limit_is_shown_with_its_comparator() -> None:
    got = fhir.assess(DECK / "comparator_b12_above_all_edges.json", as_of=AS_OF)
    (rec,) = [r for r in got.recommendations if r.rule == "b12-total-interpretation"]
    assert rec.details == ("b12-total >2000 ng/L",)


def test_a_limit_decides_as_its_number_does() -> None:
    # the comparator changes what is shown, never a decision
    bound, exact = (ng.assess(_b12(v), as_of=AS_OF) for v in ("<150 pg/mL", "150 pg/mL"))
    assert [(r.rule, r.status, r.action) for r in bound.recommendations] == [
        (r.rule, r.status, r.action) for r in exact.recommendations
    ]
    # the record's facts differ only in the limit, shown with its comparator, never as an exact result
    differ = {
        k
        for k in bound.record.facts.keys() | exact.record.facts.keys()
        if bound.record.facts.get(k) != exact.record.facts.get(k)
    }
    assert differ == {"b12-total"}
    assert bound.record.facts["b12-total"] == "<150 ng/L"
    assert exact.record.facts["b12-total"] == pytest.approx(150.0)


def test_a_limit_in_a_patient_document_round_trips_and_replays() -> None:
    patient = _b12("<150 pg/mL")
    assert patient.limits == {"b12-total": "<"}
    assert patient.to_dict()["measurements"] == {"b12-total": "<150 pg/mL"}
    assert ng.Patient.from_dict(patient.to_dict()) == patient
    assert patient != _b12("150 pg/mL")
    record = json.loads(json.dumps(ng.assess(patient, as_of=AS_OF).record.to_dict()))
    assert ng.replay(record).identical


def test_the_fhir_reading_equals_the_document_with_the_limit() -> None:
    reading = fhir.read(DECK / "comparator_b12_below_all_edges.json", as_of=AS_OF)
    assert reading.patient.measurements.keys() == {"b12-total"}
    assert reading.patient.to_dict()["measurements"] == {"b12-total": "<150 pg/mL"}


def test_a_formula_input_given_as_a_limit_is_refused_by_name() -> None:
    # a formula input is never read from a limit (a clearance from a number never measured)
    with pytest.raises(ng.InputError) as caught:
        ng.Patient.from_dict({"measurements": {"serum-creatinine": "<0.3 mg/dL"}})
    assert caught.value.field == "measurements.serum-creatinine" and caught.value.value == "<0.3 mg/dL"
    assert "only b12-active" in caught.value.expected


def test_a_limit_that_cannot_decide_a_band_is_read_and_flagged() -> None:
    # 170 and 190 (both below 200) fall in different NG239 bands: the band is undecided, the patient assessed
    patient = ng.Patient.from_dict({"measurements": {"b12-total": "<200 pg/mL"}})
    assert patient.limits == {"b12-total": "<"}
    (flag,) = [f for f in ng.assess(patient, as_of=AS_OF).record.flags if f.kind is ng.FlagKind.UNDECIDED]
    assert flag.field == "measurements.b12-total" and flag.value == "<200 pg/mL"  # as entered
    assert "band edge 180 ng/L of rule b12-total-interpretation of b12-testing" in flag.message


def test_a_typed_patient_with_a_limit_is_checked_too() -> None:
    q = ng.Patient.from_dict({"measurements": {"b12-total": "200 pg/mL"}}).measurements["b12-total"]
    typed = ng.Patient(measurements={"b12-total": q}, limits={"b12-total": "<"})
    assert typed == ng.Patient.from_dict({"measurements": {"b12-total": "<200 pg/mL"}})
    with pytest.raises(ng.InputError, match="limits.b12-total"):
        ng.Patient(limits={"b12-total": "<"})
    with pytest.raises(ng.InputError, match="limits.b12-total"):
        ng.Patient(measurements={"b12-total": q}, limits={"b12-total": "~"})


def test_a_bound_pickles_with_its_comparator() -> None:
    value = _b12("<150 pg/mL").normalized["b12-total"]
    back = pickle.loads(pickle.dumps(value))
    assert back == value and getattr(back, "comparator", None) == "<"


# -- 2. the undecided-limit note --------------------------------------------------------------------------------


def test_the_undecided_limit_note_cites_the_version_evaluated() -> None:
    got = fhir.assess(DECK / "comparator_b12_straddles_an_edge.json", as_of=AS_OF)
    used = {g.id: g.version for g in got.record.guidelines}["b12-testing"]
    (note,) = [n for n in got.notes if n.resource == "Observation/p6-b12"]
    assert f"of b12-testing {used}" in note.reason
    assert note.kind is NoteKind.UNDECIDED


def test_the_undecided_limit_is_not_listed_as_not_recognised() -> None:
    got = fhir.assess(DECK / "comparator_b12_straddles_an_edge.json", as_of=AS_OF)
    lines = summary(got)
    assert not any(line.startswith("Not recognised") and "b12-total" in line for line in lines)
    assert "Result too imprecise to decide a rule: Observation/p6-b12: b12-total <200 pg/mL" in lines
    text = render_text(got)
    missing = text.split("What is missing to decide more\n")[1].split("From the FHIR data")[0]
    assert "b12-total <200" not in missing  # a note on the data, not an input to add
    notes = text.split("From the FHIR data: not used, or read with an assumption\n")[1]
    assert "Result too imprecise to decide a rule (1):" in notes
    assert "b12-total <200 pg/mL" in notes


# -- 3. the hemodialysis supplement -------------------------------------------------------------------------------

# NEURONTIN Table 1, lower portion: "Post-Hemodialysis Supplemental Dose (mg) ... Hemodialysis 125 150 200 250 350"
SUPPLEMENT = "125, 150, 200, 250 or 350 mg"


def _on_dialysis(measurements: dict[str, str], drug: str = "gabapentin", dose: str = "300 mg") -> ng.Patient:
    return ng.Patient.from_dict(
        {
            "id": "hd",
            "birth_date": "1950-03-01",
            "sex": "male",
            "findings": {"dialysis": True},
            "measurements": measurements,
            "medications": [{"agent": drug, "dose": dose, "per": "day", "indication": "dpn"}],
        }
    )


@pytest.mark.parametrize(
    "measurements",
    [
        {"crcl": "0.5 mL/min"},  # below 1 mL/min: not scaled, not checked against a number
        {"crcl": "0 mL/min"},
        {"weight": "70 kg"},  # no creatinine: CrCl unknown
        {},
    ],
)
@pytest.mark.parametrize("dose", ["100 mg", "300 mg", "5000 mg"])
def test_on_hemodialysis_the_gabapentin_verdict_carries_the_supplement(measurements: dict[str, str], dose: str) -> None:
    patient = _on_dialysis(measurements, dose=dose)
    verdict = ng.check_dose("gabapentin", dose, per="day", indication="dpn", patient=patient, as_of=AS_OF)
    assert any(SUPPLEMENT in n and "post-hemodialysis" in n for n in verdict.notes), verdict
    recs = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule == "gabapentin-dpn"]
    assert recs and any(SUPPLEMENT in d for d in recs[0].details)


def test_without_dialysis_there_is_no_supplement() -> None:
    patient = ng.Patient.from_dict({"id": "x", "birth_date": "1950-03-01", "sex": "male"})
    verdict = ng.check_dose("gabapentin", "300 mg", per="day", indication="dpn", patient=patient, as_of=AS_OF)
    assert not any(SUPPLEMENT in n for n in verdict.notes)


# -- 4. what a dose check asks for when CrCl is not known --------------------------------------------------------


@pytest.mark.parametrize(("drug", "dose"), [("duloxetine", "60 mg"), ("gabapentin", "300 mg")])
def test_without_crcl_the_check_asks_for_crcl_or_its_inputs(drug: str, dose: str) -> None:
    patient = ng.Patient.from_dict(
        {"id": "x", "medications": [{"agent": drug, "dose": dose, "per": "day", "indication": "dpn"}]}
    )
    (rec,) = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule.startswith(drug)]
    said = " ".join((rec.action, *rec.details))
    assert "crcl" in rec.missing
    for needed in ("CrCl", "age", "sex", "weight", "serum creatinine", "Cockcroft–Gault"):
        assert needed in said, (needed, said)


def test_duloxetine_and_gabapentin_ask_in_the_same_words() -> None:
    def ask(drug: str, dose: str, indication: str) -> str:
        v = ng.check_dose(drug, dose, per="day", indication=indication)
        text = " ".join((v.message, *v.notes))
        return text[text.index("give CrCl") :].split(".")[0]

    assert ask("duloxetine", "60 mg", "dpnp") == ask("gabapentin", "300 mg", "dpn")


def test_the_order_sign_card_shows_the_supplement() -> None:
    service = pytest.importorskip("neuroguide.service", reason="needs the service extra")
    patient = _on_dialysis({})
    verdict = ng.check_dose("gabapentin", "300 mg", per="day", indication="dpn", patient=patient, as_of=AS_OF)
    card = service._dose_card(patient.medications[0], verdict, "http://x", "MedicationRequest/m1")
    assert SUPPLEMENT in card["detail"]


def test_drugs_not_checked_are_counted_and_come_after_the_urgent_questions() -> None:
    # Six drugs whose neurotoxicity entry is in review (or whose dosing rule is): all said, none pushing the urgent
    # questions (which a red flag needs) out of the shown part of What is missing.
    with open(Path(__file__).parents[1] / "examples" / "t2d-metformin.json", encoding="utf-8") as fh:
        doc = json.load(fh)
    doc["findings"] = {"numbness": True, "tingling": True}
    start = {"started": "2026-09-01"}
    doc["medications"] = [
        {"agent": "linezolid", **start},
        {"agent": "amiodarone", **start},
        {"agent": "colchicine", **start},
        {"agent": "lenalidomide", **start},
        {"agent": "midodrine", "dose": "10 mg", "per": "day", **start},
    ]
    got = ng.assess(ng.Patient.from_dict(doc), as_of=AS_OF)
    neurotox = [mi for mi in got.missing if mi.label.startswith("neurotoxicity of ")]
    assert len(neurotox) == 4
    (line,) = [x for x in summary(got) if x.startswith("Neurotoxicity not checked: ")]
    assert line.endswith("; and 2 more (see what is missing)")
    shown = render_text(got).split("What is missing to decide more\n")[1].split("\n\n")[0]
    first = shown.splitlines()[0]
    assert "needed to rule out an urgent problem" in first  # an urgent question leads, not a drug note
    assert got.urgent_missing
