"""On dialysis without CrCl: the >= 60 row is not shown as the expectation, no Cockcroft–Gault inputs are asked."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.dosing import Verdict

AS_OF = dt.date(2026, 11, 23)

# The reviewer's patient: on haemodialysis, no weight, creatinine or CrCl recorded.
HD_PATIENT = json.loads(
    """
    {
      "id": "hd-gaba",
      "birth_date": "1950-03-01",
      "sex": "female",
      "findings": {"dialysis": true, "end-stage-renal-disease": true},
      "medications": [{"agent": "gabapentin", "dose": "2400 mg", "per": "day", "indication": "dpn"}]
    }
    """
)

# The lowest rows of the label's Table 1 as the reviewer read them in clinical-sources.md §6c (not from the rule
# file under test): the "15" row 100 to 300 mg/day, and "< 15" scaled down from it.
ROW_15 = "CrCl 15: 100 mg to 300 mg per day"
SUPPLEMENT = "125, 150, 200, 250 or 350 mg"


def _patient(dose: str = "2400 mg", **extra: Any) -> ng.Patient:
    data = json.loads(json.dumps(HD_PATIENT))
    data["medications"][0]["dose"] = dose
    data.update(extra)
    return ng.Patient.from_dict(data)


def _check(dose: str, patient: ng.Patient | None = None) -> ng.DoseVerdict:
    patient = patient if patient is not None else _patient(dose)
    return ng.check_dose("gabapentin", dose, per="day", indication="dpn", patient=patient, as_of=AS_OF)


@pytest.mark.parametrize(
    ("dose", "above"),
    [("50 mg", False), ("200 mg", False), ("300 mg", False), ("2400 mg", True), ("900 mg", True)],
)
def test_on_dialysis_the_lowest_rows_are_named_not_the_top_row(dose: str, above: bool) -> None:
    v = _check(dose)
    said = " ".join((v.expected, v.message))
    assert v.verdict is Verdict.NOT_COVERED  # no rule says which row applies on dialysis: none is chosen
    assert v.dialysis_unbanded
    assert ">= 60" not in said and "3600" not in said and "900 mg to" not in said
    assert ROW_15 in v.message and "CrCl < 15" in v.message
    assert "on dialysis" in v.message
    assert ("is above 300 mg per day" in v.message) is above
    assert ("not above 300 mg per day" in v.message) is not above


def test_on_dialysis_no_cockcroft_gault_inputs_are_asked() -> None:
    v = _check("2400 mg")
    assert v.missing == ("crcl",)  # what the label keys the row to, as the cohort's intervals name it
    text = " ".join((v.message, *v.notes))
    assert "give CrCl" not in text and "serum creatinine" not in text
    assert "not estimated by Cockcroft–Gault on dialysis" in v.message


def test_on_dialysis_the_supplement_note_stays() -> None:
    assert any(SUPPLEMENT in n and "post-hemodialysis" in n for n in _check("2400 mg").notes)


def test_on_dialysis_above_the_table_maximum_is_still_above_maximum() -> None:
    v = _check("4000 mg")
    assert v.verdict is Verdict.ABOVE
    assert not v.dialysis_unbanded


def test_on_dialysis_with_crcl_the_row_is_used() -> None:
    patient = _patient("2400 mg", measurements={"crcl": "10 mL/min"})
    v = _check("2400 mg", patient)
    assert v.verdict is Verdict.ABOVE
    assert v.renal_band == "< 15"
    assert not v.dialysis_unbanded


def test_assess_reports_the_lowest_rows_and_asks_no_crcl() -> None:
    patient = _patient("2400 mg")
    result = ng.assess(patient, as_of=AS_OF)
    (rec,) = [r for r in result.recommendations if r.rule == "gabapentin-dpn"]
    assert ROW_15 in rec.action
    said = " ".join((rec.action, *rec.details))
    assert "serum creatinine" not in said and "weight" not in said
    assert any(SUPPLEMENT in d for d in rec.details)


@pytest.mark.parametrize("dose", ["50 mg", "200 mg", "2400 mg"])
def test_the_order_sign_card_is_a_warning(dose: str) -> None:
    service = pytest.importorskip("neuroguide.service", reason="needs the service extra")
    patient = _patient(dose)
    card = service._dose_card(patient.medications[0], _check(dose, patient), "http://x", "MedicationRequest/m1")
    assert card["indicator"] == "warning"
    assert ROW_15 in card["detail"] and SUPPLEMENT in card["detail"]
    assert "serum creatinine" not in card["detail"] and "give CrCl" not in card["detail"]


def test_without_dialysis_and_crcl_the_check_is_unchanged() -> None:
    service = pytest.importorskip("neuroguide.service", reason="needs the service extra")
    data = json.loads(json.dumps(HD_PATIENT))
    data["findings"] = {}
    patient = ng.Patient.from_dict(data)
    v = _check("2400 mg", patient)
    assert v.verdict is Verdict.NOT_COVERED
    assert not v.dialysis_unbanded
    assert v.missing == ("crcl",)
    assert "at CrCl >= 60: 900 mg to 3600 mg per day" in v.message
    assert "give CrCl, or the age, sex, weight and serum creatinine" in v.message
    card = service._dose_card(patient.medications[0], v, "http://x", "MedicationRequest/m1")
    assert card["indicator"] == "info"


# -- duloxetine on dialysis ---------------------------------------------------------------------------------------
# The label's section 8.10 is headed "Severe Renal Impairment" and describes "end-stage renal disease receiving
# chronic intermittent hemodialysis" (clinical-sources.md §6e: "label §8.10 ESRD"); the label's severe group is
# CrCl below 30 mL/min, where duloxetine is avoided (§6e, A6). Expected words written from those sources.


def _duloxetine(dose: str = "60 mg", **extra: Any) -> ng.Patient:
    data = json.loads(json.dumps(HD_PATIENT))
    data["medications"] = [{"agent": "duloxetine", "dose": dose, "per": "day"}]
    data.update(extra)
    return ng.Patient.from_dict(data)


@pytest.mark.parametrize("dose", ["30 mg", "60 mg", "61 mg"])
def test_duloxetine_on_dialysis_without_crcl_is_avoid_and_asks_for_no_cockcroft_gault(dose: str) -> None:
    v = ng.check_dose("duloxetine", dose, per="day", patient=_duloxetine(dose), as_of=AS_OF)
    assert v.verdict is Verdict.AVOID
    assert v.missing == ()  # nothing to ask: dialysis decides
    text = " ".join((v.expected, v.message, *v.notes))
    assert "give CrCl" not in text and "serum creatinine" not in text and "Cockcroft" not in text
    assert "on dialysis" in v.message and "8.10" in v.message and "hemodialysis" in v.message
    assert "avoid" in v.message and "< 30" in v.message


@pytest.mark.parametrize("crcl", ["29.9 mL/min", "30 mL/min", "30.1 mL/min", "80 mL/min"])
def test_duloxetine_on_dialysis_a_crcl_given_does_not_decide(crcl: str) -> None:
    v = ng.check_dose("duloxetine", "60 mg", per="day", patient=_duloxetine(measurements={"crcl": crcl}), as_of=AS_OF)
    assert v.verdict is Verdict.AVOID
    assert "given for a patient on dialysis, does not decide it" in v.message


@pytest.mark.parametrize(("crcl", "verdict"), [("29.9 mL/min", Verdict.AVOID), ("30 mL/min", Verdict.WITHIN)])
def test_duloxetine_not_on_dialysis_keeps_the_crcl_rows(crcl: str, verdict: Verdict) -> None:
    # "Creatinine clearance 30 to 80 mL/min": no adjustment; below 30 avoid (§6e, MIMS reproduction).
    patient = _duloxetine(findings={}, measurements={"crcl": crcl})
    assert ng.check_dose("duloxetine", "60 mg", per="day", patient=patient, as_of=AS_OF).verdict is verdict


def test_duloxetine_without_dialysis_or_crcl_still_asks_for_renal_function() -> None:
    v = ng.check_dose("duloxetine", "60 mg", per="day", patient=_duloxetine(findings={}), as_of=AS_OF)
    assert v.verdict is Verdict.WITHIN and v.missing == ("crcl",)
    assert any("give CrCl" in n for n in v.notes)


def test_assess_and_the_order_card_say_avoid_for_duloxetine_on_dialysis() -> None:
    patient = _duloxetine()
    (rec,) = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule == "duloxetine-dpnp"]
    assert rec.status.value == "avoid" and rec.missing == ()
    assert "serum creatinine" not in " ".join((rec.action, *rec.details))
    service = pytest.importorskip("neuroguide.service", reason="needs the service extra")
    v = ng.check_dose("duloxetine", "60 mg", per="day", patient=patient, as_of=AS_OF)
    card = service._dose_card(patient.medications[0], v, "http://x", "MedicationRequest/m1")
    assert card["indicator"] != "info" and "give CrCl" not in card["detail"]
