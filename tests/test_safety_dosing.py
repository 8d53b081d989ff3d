"""Issue 15 dose safety: duplicate therapy summed, the dosing weight stated, medications recognised by ingredient.

Numbers are typed from the sources (NEURONTIN Table 1; Cockcroft–Gault; Devine IBW), never read from the
guideline files.
"""

from __future__ import annotations

import datetime as dt

import pytest

import neuroguide as ng
from neuroguide._agents import ingredient_keys, is_combination, is_modified_release

AS_OF = dt.date(2026, 11, 30)

# The review's obese patient: male, 60 years on AS_OF, 140 kg, 175 cm, creatinine 1.8 mg/dL.
# CrCl (actual weight) = (140-60) x 140 / (72 x 1.8) = 86.4 mL/min; Devine IBW = 50 + 2.3 x (175/2.54 - 60)
# = 70.5 kg -> CrCl 43.5 mL/min; adjusted weight = IBW + 0.4 x (140 - IBW) = 98.3 kg -> CrCl 60.7 mL/min.
MEASURED = {"weight": "140 kg", "height": "175 cm", "serum-creatinine": "1.8 mg/dL"}
OBESE: dict[str, object] = {
    "birth_date": "1966-01-15",
    "sex": "male",
    "measurements": MEASURED,
}


def _ibw(height_cm: float) -> float:
    return 50.0 + 2.3 * (height_cm / 2.54 - 60.0)


def _cg(age: float, kg: float, scr: float) -> float:
    return (140.0 - age) * kg / (72.0 * scr)


@pytest.mark.rule("gabapentin-dpn")
def test_gabapentin_dpn_obese_patient_is_weight_dependent() -> None:
    """3000 mg/day is within 900-3600 at CrCl 86 (actual weight) but above 1400 at CrCl 43 (ideal weight)."""
    patient = ng.Patient.from_dict(OBESE)
    v = ng.check_dose("gabapentin", "3000 mg", per="day", indication="dpn", patient=patient, as_of=AS_OF)
    assert v.verdict is ng.Verdict.WEIGHT_DEPENDENT and not v.ok
    assert v.crcl == pytest.approx(_cg(60, 140, 1.8)) and v.crcl_basis == "actual body weight"
    ideal = _cg(60, _ibw(175), 1.8)
    adjusted = _cg(60, _ibw(175) + 0.4 * (140 - _ibw(175)), 1.8)
    note = next(n for n in v.notes if "likely overestimated" in n)
    assert f"{ideal:.1f} mL/min (above-maximum)" in note and f"{adjusted:.1f} mL/min (within-range)" in note
    assert "calculator convention" in note  # the 130 % trigger is not claimed to be a label statement
    assert "1400" in v.message


@pytest.mark.rule("gabapentin-dpn")
def test_dosing_weight_warning_only_above_130_percent_of_ideal() -> None:
    # 175 cm male: IBW 70.5 kg; 130 % = 91.6 kg. 91 kg: no warning; 92 kg: warning.
    for kg, warned in (("91 kg", False), ("92 kg", True)):
        data = {**OBESE, "measurements": {**MEASURED, "weight": kg}}
        v = ng.check_dose(
            "gabapentin", "900 mg", per="day", indication="dpn", patient=ng.Patient.from_dict(data), as_of=AS_OF
        )
        assert any("likely overestimated" in n for n in v.notes) is warned, kg


@pytest.mark.rule("gabapentin-dpn")
def test_given_crcl_is_stated_as_given() -> None:
    v = ng.check_dose("gabapentin", "900 mg", per="day", indication="dpn", crcl="80 mL/min")
    assert v.crcl_basis == "given" and not any("overestimated" in n for n in v.notes)


@pytest.mark.rule("gabapentin-dpn")
def test_gabapentin_dpn_duplicate_therapy_is_summed() -> None:
    """The review's case: gabapentin 1200 + Neurontin 1200 mg/day at CrCl 45 = 2400 > 1400 mg/day (>30 to 59)."""
    patient = {
        "measurements": {"crcl": "45 mL/min"},
        "medications": [
            {"agent": "gabapentin", "dose": "1200 mg", "per": "day", "indication": "dpn"},
            {"agent": "Neurontin", "dose": "1200 mg", "per": "day"},
        ],
    }
    result = ng.assess(patient, as_of=AS_OF)
    recs = [r for r in result.recommendations if r.rule.startswith("gabapentin")]
    assert len(recs) == 1
    rec = recs[0]
    assert rec.status == "above-maximum" and rec.action.startswith("Duplicate therapy")
    assert "2400 mg per day in total" in rec.action
    assert len(rec.reasons) == 2 and any("duplicate therapy" in d for d in rec.details)


@pytest.mark.rule("gabapentin-dpn")
def test_duplicate_therapy_within_range_is_still_flagged() -> None:
    patient = {
        "measurements": {"crcl": "80 mL/min"},
        "medications": [
            {"agent": "gabapentin", "dose": "600 mg", "per": "day"},
            {"agent": "Neurontin", "dose": "600 mg", "per": "day"},
        ],
    }
    recs = [r for r in ng.assess(patient, as_of=AS_OF).recommendations if r.rule.startswith("gabapentin")]
    assert len(recs) == 1 and recs[0].status == "within-range" and recs[0].action.startswith("Duplicate therapy")


@pytest.mark.rule("duloxetine-dpnp")
def test_duloxetine_dpnp_duplicate_under_brand_name_at_crcl_20_is_avoid() -> None:
    patient = {
        "measurements": {"crcl": "20 mL/min"},
        "medications": [
            {"agent": "duloxetine", "dose": "30 mg", "per": "day"},
            {"agent": "Cymbalta", "dose": "30 mg", "per": "day"},
        ],
    }
    rec = ng.assess(patient, as_of=AS_OF).by_rule("duloxetine-dpnp")
    assert rec is not None and rec.status == "avoid"


def test_ingredient_map_names() -> None:
    assert "metformin" in ingredient_keys("Metformin ER")
    assert "metformin" in ingredient_keys("metformin hydrochloride extended-release 500 mg")
    assert {"sitagliptin", "metformin"} <= ingredient_keys("Janumet")
    assert {"sitagliptin", "metformin"} <= ingredient_keys("JANUMET XR")
    assert {"sitagliptin", "metformin"} <= ingredient_keys("sitagliptin/metformin")
    assert "gabapentin" in ingredient_keys("Neurontin") and "pregabalin" in ingredient_keys("Lyrica")
    assert ingredient_keys("861007") == {"861007"}  # RxNorm codes are not mapped (none verified)
    assert is_combination("Janumet") and not is_combination("metformin")
    assert is_modified_release("Lyrica CR") and not is_modified_release("duloxetine")


@pytest.mark.parametrize(
    "name", ["gabapentin 250 mg/5 mL oral solution", "Gabapentin 250 MG/5ML Oral Solution", "gabapentin 50 mg/ml"]
)
def test_a_concentration_is_one_drug_not_a_combination(name: str) -> None:
    # The "/" of a strength per volume joins no second ingredient (clinical review: a solution's dose went unchecked).
    assert "gabapentin" in ingredient_keys(name)
    assert not is_combination(name)
    assert is_combination("paracetamol/codeine 500 mg/30 mg")


@pytest.mark.rule("b12-metformin-annual")
@pytest.mark.parametrize("name", ["metformin ER", "Metformin XR 500 mg", "Janumet", "sitagliptin/metformin"])
def test_b12_metformin_annual_recognises_metformin_however_named(name: str) -> None:
    patient = {
        "diabetes": {"type": "type-2", "diagnosed": "2010-01-01"},
        "medications": [{"agent": name, "started": "2015-01-01"}],
    }
    result = ng.assess(patient, as_of=AS_OF)
    assert result.by_rule("b12-metformin-annual") is not None
    assert not any(m.fact == "medications[0].agent" for m in result.missing)


@pytest.mark.rule("pregabalin-dpn")
def test_pregabalin_extended_release_is_not_checked_against_the_immediate_release_regimen() -> None:
    patient = {
        "measurements": {"crcl": "80 mL/min"},
        "medications": [{"agent": "Lyrica CR", "dose": "330 mg", "per": "day"}],
    }
    rec = ng.assess(patient, as_of=AS_OF).by_rule("pregabalin-dpn")
    assert rec is not None and rec.status == "not-covered" and "release" in rec.action


def test_unrecognised_medication_stays_listed() -> None:
    result = ng.assess({"medications": [{"agent": "zzz-unknown-drug"}, {"agent": "861007"}]}, as_of=AS_OF)
    facts = {m.fact for m in result.missing}
    assert {"medications[0].agent", "medications[1].agent"} <= facts  # RxNorm codes are not mapped (unverified)


def test_a_dose_whose_only_regimen_is_in_review_is_said_not_checked() -> None:
    # Midodrine's dosing rule is in review: assess evaluates no dose rule for it, and says so (clinical review:
    # 100 mg/day went unmentioned while an unknown drug was named).
    from neuroguide.report import summary

    doc = {
        "id": "m",
        "birth_date": "1950-01-01",
        "medications": [{"agent": "midodrine", "dose": "100 mg", "per": "day"}],
    }
    result = ng.assess(doc, as_of=AS_OF)
    said = [m for m in result.missing if m.fact == "medications[0].dose"]
    assert len(said) == 1 and "midodrine-oh in-review" in said[0].label and not said[0].needed_by
    assert any(line.startswith("Dose not checked: 'midodrine'") for line in summary(result))
    # evaluated with in-review rules, the dose rule runs and nothing is said
    both = ng.assess(doc, as_of=AS_OF, statuses=("approved", "in-review"))
    assert not [m for m in both.missing if m.fact == "medications[0].dose"]
    assert both.by_rule("midodrine-oh") is not None
    # no dose given: nothing to check, nothing said
    bare = ng.assess({**doc, "medications": [{"agent": "midodrine"}]}, as_of=AS_OF)
    assert not [m for m in bare.missing if m.fact.startswith("medications[0]")]


def test_a_dose_given_as_a_rate_says_how_to_write_it() -> None:
    with pytest.raises(ng.InputError) as caught:
        ng.Patient.from_dict({"id": "x", "medications": [{"agent": "gabapentin", "dose": "900 mg/day", "per": "day"}]})
    assert 'write "dose": "900 mg", "per": "day"' in str(caught.value)
