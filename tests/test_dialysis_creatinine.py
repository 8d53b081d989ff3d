"""On dialysis a serum creatinine gives no CrCl: Cockcroft–Gault is not applied; a CrCl given directly is used.

Expected outcomes are written from the label text as clinical-sources.md records it, not read from the rules:
* gabapentin (§6c, NEURONTIN Table 1): total daily dose ">30 to 59" 400 to 1400 mg, ">15 to 29" 200 to 700 mg,
  "15" 100 to 300 mg; "Patients on hemodialysis should receive maintenance doses based on estimates of creatinine
  clearance"; the equation of Cockcroft and Gault estimates it "in patients with stable renal function".
* duloxetine (§6e): creatinine clearance 30 to 80 mL/min no adjustment, below 30 avoid; section 8.10 (severe
  renal impairment) covers end-stage renal disease on hemodialysis.

The reviewer's patient: male, 40 years, 90 kg, serum creatinine 3 mg/dL. Cockcroft–Gault by hand:
(140 - 40) x 90 / (72 x 3) = 9000 / 216 = 41.67 mL/min (the ">30 to 59" row; duloxetine's 30-80 range).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.dosing import Verdict

AS_OF = dt.date(2026, 11, 30)
CG = 9000 / 216  # the reviewer's patient by hand, see the module docstring
GIVEN = "20 mL/min"  # a CrCl given directly: gabapentin's ">15 to 29" row, below duloxetine's 30

# dialysis: True, False, or not recorded (None)
DIALYSIS = [True, False, None]


def _patient(agent: str, dose: str, *, dialysis: bool | None, creatinine: bool, crcl: str | None) -> ng.Patient:
    measurements: dict[str, str] = {"weight": "90 kg"}
    if creatinine:
        measurements["serum-creatinine"] = "3 mg/dL"
    if crcl is not None:
        measurements["crcl"] = crcl
    findings: dict[str, Any] = {}
    if dialysis is not None:
        findings["dialysis"] = dialysis
        findings["end-stage-renal-disease"] = dialysis
    return ng.Patient.from_dict(
        {
            "id": "cg-dialysis",
            "sex": "male",
            "age": 40,
            "measurements": measurements,
            "findings": findings,
            "medications": [{"agent": agent, "dose": dose, "per": "day"}],
        }
    )


def _check(agent: str, dose: str, **how: Any) -> ng.DoseVerdict:
    return ng.check_dose(agent, dose, per="day", patient=_patient(agent, dose, **how), as_of=AS_OF)


def _said(v: ng.DoseVerdict) -> str:
    return " ".join((v.expected, v.message, *v.notes))


# -- gabapentin 1200 mg/day ---------------------------------------------------------------------------------------


def test_the_reviewers_patient_is_not_banded_by_cockcroft_gault() -> None:
    # 1200 mg/day lies in the ">30 to 59" row (400-1400) that CG 41.7 would pick: that must not be the answer.
    v = _check("gabapentin", "1200 mg", dialysis=True, creatinine=True, crcl=None)
    assert v.verdict is Verdict.NOT_COVERED and not v.ok
    assert v.dialysis_unbanded
    assert v.crcl is None and v.renal_band is None
    assert "41.7" not in _said(v) and "1400" not in _said(v)
    # says why: the creatinine was given, but the equation is not used on dialysis
    assert "serum creatinine was given" in v.message and "Cockcroft–Gault on dialysis" in v.message
    assert "stable renal function" in v.message
    # the lowest rows (label: "15" row 100 to 300 mg/day), and the dose above them
    assert "100 mg to 300 mg per day" in v.message and "is above 300 mg per day" in v.message
    assert v.missing == ("crcl",)


def test_on_dialysis_without_creatinine_the_message_does_not_claim_one_was_given() -> None:
    v = _check("gabapentin", "1200 mg", dialysis=True, creatinine=False, crcl=None)
    assert v.verdict is Verdict.NOT_COVERED and v.dialysis_unbanded
    assert "serum creatinine" not in v.message and "not estimated by Cockcroft–Gault on dialysis" in v.message


@pytest.mark.parametrize("creatinine", [True, False])
def test_on_dialysis_a_crcl_given_chooses_the_row_and_is_said_to_be_given(creatinine: bool) -> None:
    # 20 mL/min: the ">15 to 29" row, 200 to 700 mg/day; 1200 mg is above it. With a creatinine the given value
    # is not held against Cockcroft–Gault (41.7), which is not valid on dialysis: no conflict, it is used.
    v = _check("gabapentin", "1200 mg", dialysis=True, creatinine=creatinine, crcl=GIVEN)
    assert v.verdict is Verdict.ABOVE
    assert v.crcl == pytest.approx(20.0) and v.crcl_basis == "given"
    assert "200 mg to 700 mg per day" in v.expected
    assert any("given for a patient on dialysis" in n for n in v.notes)
    assert not any(n.startswith("input not used") for n in v.notes)


@pytest.mark.parametrize("dialysis", [False, None])
def test_off_dialysis_cockcroft_gault_still_bands(dialysis: bool | None) -> None:
    v = _check("gabapentin", "1200 mg", dialysis=dialysis, creatinine=True, crcl=None)
    assert v.verdict is Verdict.WITHIN
    assert v.crcl == pytest.approx(CG) and v.crcl_basis == "actual body weight"
    assert "400 mg to 1400 mg per day" in v.expected
    assert "dialysis" not in _said(v)


@pytest.mark.parametrize("dialysis", [False, None])
def test_off_dialysis_without_creatinine_or_crcl_asks_for_them(dialysis: bool | None) -> None:
    v = _check("gabapentin", "1200 mg", dialysis=dialysis, creatinine=False, crcl=None)
    assert v.verdict is Verdict.NOT_COVERED and not v.dialysis_unbanded
    assert v.missing == ("crcl",) and "give CrCl, or the age, sex, weight and serum creatinine" in v.message


@pytest.mark.parametrize("dialysis", [False, None])
def test_off_dialysis_a_crcl_given_against_cockcroft_gault_is_a_conflict(dialysis: bool | None) -> None:
    # 20 against 41.7 mL/min: neither used (unchanged behaviour off dialysis)
    v = _check("gabapentin", "1200 mg", dialysis=dialysis, creatinine=True, crcl=GIVEN)
    assert v.verdict is Verdict.NOT_COVERED and v.crcl is None
    assert any("input not used" in n and "Cockcroft-Gault" in n for n in v.notes)


@pytest.mark.parametrize("dialysis", [False, None])
def test_off_dialysis_a_crcl_given_alone_is_used_without_a_dialysis_note(dialysis: bool | None) -> None:
    v = _check("gabapentin", "1200 mg", dialysis=dialysis, creatinine=False, crcl=GIVEN)
    assert v.verdict is Verdict.ABOVE and v.crcl == pytest.approx(20.0)
    assert "dialysis" not in _said(v)


def test_check_dose_with_crcl_and_no_patient_is_unchanged() -> None:
    v = ng.check_dose("gabapentin", "1200 mg", per="day", crcl="20 mL/min")
    assert v.verdict is Verdict.ABOVE and "dialysis" not in _said(v)


# -- duloxetine 60 mg/day -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("creatinine", [True, False])
@pytest.mark.parametrize("crcl", [None, GIVEN, "65.5 mL/min"])
def test_duloxetine_on_dialysis_is_avoid_whatever_the_creatinine_or_crcl(creatinine: bool, crcl: str | None) -> None:
    v = _check("duloxetine", "60 mg", dialysis=True, creatinine=creatinine, crcl=crcl)
    assert v.verdict is Verdict.AVOID and v.dialysis_row
    assert v.missing == ()
    assert "41.7" not in _said(v)
    if crcl is not None:
        assert v.crcl is not None and "given for a patient on dialysis, does not decide it" in v.message
    elif creatinine:
        assert v.crcl is None and "serum creatinine was given" in v.message and "Cockcroft–Gault" in v.message
    else:
        assert v.crcl is None and "Cockcroft" not in v.message and "serum creatinine" not in v.message


@pytest.mark.parametrize("dialysis", [False, None])
@pytest.mark.parametrize(
    ("creatinine", "crcl", "verdict", "missing"),
    [
        (True, None, Verdict.WITHIN, ()),  # CG 41.7: 30 to 80, no adjustment
        (False, None, Verdict.WITHIN, ("crcl",)),  # range checked, renal function asked for
        (True, GIVEN, Verdict.WITHIN, ("crcl",)),  # 20 against 41.7: a conflict, neither used
        (False, GIVEN, Verdict.AVOID, ()),  # below 30: avoid, by CrCl
    ],
)
def test_duloxetine_off_dialysis(
    dialysis: bool | None, creatinine: bool, crcl: str | None, verdict: Verdict, missing: tuple[str, ...]
) -> None:
    v = _check("duloxetine", "60 mg", dialysis=dialysis, creatinine=creatinine, crcl=crcl)
    assert v.verdict is verdict and v.missing == missing
    assert not v.dialysis_row and "dialysis" not in v.message


# -- assess, the CDS card and the report lines --------------------------------------------------------------------


def _assessed(agent: str, dose: str, **how: Any) -> ng.Recommendation | None:
    recs = ng.assess(_patient(agent, dose, **how), as_of=AS_OF).recommendations
    found = [r for r in recs if r.rule is not None and r.rule.startswith(agent)]
    return found[0] if found else None


def test_assess_reports_the_reviewers_patient_as_a_dose_problem() -> None:
    rec = _assessed("gabapentin", "1200 mg", dialysis=True, creatinine=True, crcl=None)
    assert rec is not None and rec.status.value == "not-covered"
    assert "serum creatinine was given" in rec.action and "41.7" not in " ".join((rec.action, *rec.details))


def test_the_order_card_for_the_reviewers_patient_is_a_warning() -> None:
    service = pytest.importorskip("neuroguide.service", reason="needs the service extra")
    patient = _patient("gabapentin", "1200 mg", dialysis=True, creatinine=True, crcl=None)
    v = ng.check_dose("gabapentin", "1200 mg", per="day", patient=patient, as_of=AS_OF)
    card = service._dose_card(patient.medications[0], v, "http://x", "MedicationRequest/m1")
    assert card["indicator"] == "warning" and "Cockcroft–Gault on dialysis" in card["detail"]


def test_duloxetine_renal_band_line_says_dialysis_chose_the_row() -> None:
    rec = _assessed("duloxetine", "60 mg", dialysis=True, creatinine=False, crcl="65.5 mL/min")
    assert rec is not None and rec.status.value == "avoid"
    bands = [d for d in rec.details if d.startswith("renal band:")]
    assert bands == ["renal band: on dialysis: the CrCl < 30 mL/min row"]


def test_duloxetine_renal_band_line_off_dialysis_names_the_crcl_row() -> None:
    rec = _assessed("duloxetine", "60 mg", dialysis=False, creatinine=False, crcl=GIVEN)
    assert rec is not None
    assert [d for d in rec.details if d.startswith("renal band:")] == ["renal band: CrCl < 30 mL/min"]


def test_pyridoxine_dose_reason_does_not_contradict_the_caution() -> None:
    patient = ng.Patient.from_dict(
        {"id": "b6", "age": 50, "medications": [{"agent": "pyridoxine", "dose": "500 mg", "per": "day"}]}
    )
    (rec,) = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule == "neurotox-pyridoxine-excess"]
    (reason,) = [r for r in rec.reasons if r.startswith("dose 500 mg per day")]
    assert "not compared with a number" not in reason and "has no dose threshold" not in reason
    assert "not compared automatically" in reason and "caution's figures" in reason
