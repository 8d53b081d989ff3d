"""Clinical vignettes at the edges (third clinical review): combinations, thresholds one step either side.

Each vignette in tests/data/vignettes/edges/ is a patient as a clinician would present them. The expected values
are written here from the primary sources (clinical-sources.md), never read from the guideline files:
GIRFT CES criteria; NICE CG75/NG234 MSCC; NICE NG239 B12 bands (<180 confirmed, 180-350 indeterminate,
>350 unlikely); ADA 2026 metformin >4 years -> B12 annually; ADA 2026 12.17 (T2D at diagnosis, T1D 5 years
after); IWGDF risk table (3: every 1-3 months, 2: every 3-6 months); AHA/ACC ABI bands (<=0.90, 0.91-0.99) and
exercise ABI for exertional non-joint symptoms with an ABI of 0.91-1.40; ADA toe pressure <30 mmHg with an ulcer;
ADA orthostatic hypotension >20/>10 mmHg and resting tachycardia >100 bpm; ADA A1C >=6.5% / 5.7-6.4%;
EAN/PNS CIDP 'at least 8 weeks'; PMC7382348 subacute 4-8 weeks; Neurontin label Table 1 (CrCl >15-29:
200-700 mg/day); Cockcroft-Gault 1976; EFNS 2010 Wernicke recommendations 5 and 7 (thiamine 2012.3).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.report import render_text
from vignette_helpers import fired, red_flags, status

EDGES = Path(__file__).parent / "data" / "vignettes" / "edges"
AS_OF = dt.date(2026, 11, 30)


def case(name: str) -> Any:
    return ng.assess(ng.Patient.from_json(EDGES / f"{name}.json"), as_of=AS_OF)


def test_every_edge_vignette_is_loaded_by_a_test() -> None:
    names = sorted(p.stem for p in EDGES.glob("*.json"))
    assert len(names) == 30
    for name in names:
        case(name)  # every file is a valid patient


# -- a red flag on top of diabetic neuropathy ------------------------------------------------------------------


@pytest.mark.rule("cauda-equina-suspected")
def test_diabetic_neuropathy_does_not_hide_new_retention_and_saddle_numbness() -> None:
    # GIRFT: new difficulty initiating micturition or new saddle sensory change -> suspected CES (emergency).
    result = case("dm-dpn-new-retention")
    first = result.recommendations[0]
    assert first.rule == "cauda-equina-suspected" and first.status == "emergency"
    assert "MRI" in first.action


@pytest.mark.rule("mscc-suspected")
def test_cancer_history_with_new_radicular_pain_and_unsteadiness_is_mscc_even_with_diabetes() -> None:
    # NICE CG75 / Scottish referral guidelines: cancer + radicular pain or difficulty walking -> MSCC emergency.
    result = case("dm-breast-cancer-mscc")
    first = result.recommendations[0]
    assert first.rule == "mscc-suspected" and first.status == "emergency"


@pytest.mark.rule("mscc-suspected")
@pytest.mark.rule("neurotox-paclitaxel")
def test_stocking_neuropathy_on_paclitaxel_is_neurotoxicity_not_mscc() -> None:
    result = case("paclitaxel-diabetes-stocking")
    assert red_flags(result) == []
    # 1000 mg/m2 is far past the published paclitaxel marker (>250-300 mg/m2).
    assert status(result, "neurotox-paclitaxel") == "flagged"
    assert fired(result, "history-chemotherapy")


def test_red_flags_recorded_absent_read_differently_from_unrecorded() -> None:
    absent = case("dm-dpn-red-flags-absent")
    assert red_flags(absent) == [] and absent.urgent_missing == ()
    assert "Red flags: none found (every urgent check could be made)" in render_text(absent)
    unrecorded = case("metformin-b12-200")
    assert red_flags(unrecorded) == [] and unrecorded.urgent_missing
    assert "urgent checks could not be made" in render_text(unrecorded)


# -- metformin and B12 (NICE NG239 bands; ADA: metformin > 4 years, B12 annually) ------------------------------


@pytest.mark.rule("b12-total-interpretation")
@pytest.mark.rule("b12-mma-indeterminate")
@pytest.mark.parametrize("name", ["metformin-b12-200", "metformin-b12-180"])
def test_low_normal_b12_on_metformin_is_indeterminate_and_asks_for_mma(name: str) -> None:
    result = case(name)
    band = result.by_rule("b12-total-interpretation")
    assert band is not None and "indeterminate" in band.action
    assert fired(result, "b12-mma-indeterminate")
    assert not fired(result, "b12-treatment-neuro") and not fired(result, "b12-treatment-no-neuro")


@pytest.mark.rule("b12-total-interpretation")
@pytest.mark.rule("b12-treatment-neuro")
def test_b12_179_on_metformin_with_neuropathy_is_confirmed_and_gets_the_neurological_regimen() -> None:
    result = case("metformin-b12-179")
    band = result.by_rule("b12-total-interpretation")
    assert band is not None and "confirmed" in band.action
    assert fired(result, "b12-treatment-neuro") and not fired(result, "b12-treatment-no-neuro")
    assert fired(result, "folic-acid-not-before-b12")
    assert not fired(result, "b12-myelopathy")  # cord signs recorded absent


@pytest.mark.rule("b12-metformin-annual")
def test_metformin_b12_monitoring_starts_after_more_than_4_years() -> None:
    assert not fired(case("metformin-exactly-4y"), "b12-metformin-annual")  # exactly 4 years: not > 4
    just_over = case("metformin-4y-1d").by_rule("b12-metformin-annual")
    assert just_over is not None and just_over.status == "due" and just_over.due == AS_OF
    # With a test 10 days ago, the next one is 12 months later.
    later = case("metformin-b12-200").by_rule("b12-metformin-annual")
    assert later is not None and later.status == "scheduled" and later.due == dt.date(2027, 11, 20)


# -- thiamine: alcohol, bariatric surgery, Wernicke -------------------------------------------------------------


def test_alcohol_and_bariatric_surgery_with_vomiting() -> None:
    result = case("alcohol-bariatric-vomiting")
    assert result.record.facts["thiamine-deficiency-risk"] is True
    for rule in ("history-alcohol", "copper-after-upper-gi-surgery", "b12-test-symptom-and-risk"):
        assert fired(result, rule), rule


@pytest.mark.rule("thiamine-after-bariatric-surgery")
def test_post_bariatric_vomiting_patient_is_told_to_follow_up_and_supplement_thiamine() -> None:
    # EFNS 2010 rec. 7: "After bariatric surgery we recommend follow-up of thiamine status for at least 6 months
    # (Level B) and parenteral thiamine supplementation (GPP)." (thiamine 2012.3; absent in 2012.2)
    result = case("alcohol-bariatric-vomiting")
    rec = result.by_rule("thiamine-after-bariatric-surgery")
    assert rec is not None and rec.rule_status == "approved"
    assert "thiamine" in rec.action and "6 months" in rec.action
    old = ng.assess(
        ng.Patient.from_json(EDGES / "alcohol-bariatric-vomiting.json"), as_of=AS_OF, pins={"thiamine": "2012.2"}
    )
    assert not fired(old, "thiamine-after-bariatric-surgery")


@pytest.mark.rule("thiamine-after-bariatric-surgery")
@pytest.mark.parametrize(("bariatric", "expected"), [(True, True), (False, False), (None, False)])
def test_thiamine_after_bariatric_surgery_needs_the_operation_recorded(bariatric: bool | None, expected: bool) -> None:
    findings: dict[str, Any] = {"numbness": True}
    if bariatric is not None:
        findings["bariatric-surgery"] = bariatric
    assert fired(ng.assess({"findings": findings}, as_of=AS_OF), "thiamine-after-bariatric-surgery") is expected


@pytest.mark.rule("thiamine-before-glucose")
@pytest.mark.rule("glucose-not-delayed-hypoglycaemia")
def test_suspected_wernicke_with_hypoglycaemia_never_delays_glucose() -> None:
    result = case("wernicke-hypoglycaemia")
    assert fired(result, "glucose-not-delayed-hypoglycaemia") and fired(result, "thiamine-before-glucose")


@pytest.mark.rule("wernicke-thiamine-treatment")
def test_suspected_wernicke_is_told_the_efns_thiamine_dose() -> None:
    # EFNS 2010 rec. 5: "Thiamine is indicated for the treatment of suspected or manifest WE. It should be given,
    # before any carbohydrate, 200 mg thrice daily, preferably intravenously (Level C)."
    rule = ng.load_guideline("thiamine", version="2012.3").rule("wernicke-thiamine-treatment")
    assert "200 mg thrice daily, preferably intravenously" in " ".join(c.quote for c in rule.citations)
    result = case("wernicke-hypoglycaemia")
    rec = result.by_rule("wernicke-thiamine-treatment")
    assert rec is not None
    assert re.search(r"thiamine 200 mg three times daily, preferably intravenously", rec.action)
    assert "never delay glucose" in rec.action  # the hypoglycaemia exception stays with the dose
    # Suspected Wernicke is the trigger: a thiamine-deficiency risk alone (alcohol) is not.
    alcohol_only = ng.assess({"findings": {"alcohol-excess": True, "suspected-wernicke": False}}, as_of=AS_OF)
    assert not fired(alcohol_only, "wernicke-thiamine-treatment")


# -- gabapentinoids in renal impairment ---------------------------------------------------------------------------


@pytest.mark.rule("gabapentin-phn")
def test_gabapentin_900_mg_a_day_is_above_the_label_band_at_crcl_21() -> None:
    result = case("elderly-crcl21-gabapentin-900")
    # Cockcroft-Gault: (140 - 82) x 50 kg / (72 x 1.6 mg/dL) x 0.85 = 21.4 mL/min -> label band >15-29.
    assert result.record.facts["crcl"] == pytest.approx(21.4, abs=0.1)
    rec = result.by_rule("gabapentin-phn")
    assert rec is not None and rec.status == "above-maximum"
    assert "200 mg to 700 mg per day" in rec.action


@pytest.mark.rule("pregabalin-dpn")
def test_pregabalin_at_crcl_34_is_not_passed_as_within_range() -> None:
    result = case("elderly-crcl34-pregabalin-300")
    # (140 - 80) x 70 / (72 x 1.7) = 34.3 mL/min: below 60, the label asks for a reduced dose.
    assert result.record.facts["crcl"] == pytest.approx(34.3, abs=0.1)
    rec = result.by_rule("pregabalin-dpn")
    assert rec is not None and rec.status not in ("within-range", "ok")
    assert "adjust" in rec.action


# -- screening start and intervals --------------------------------------------------------------------------------


@pytest.mark.rule("dpn-screening")
def test_type_1_dpn_screening_starts_5_years_after_diagnosis() -> None:
    today = case("t1d-5y-today").by_rule("dpn-screening")
    assert today is not None and today.status == "due" and today.due == AS_OF
    tomorrow = case("t1d-5y-minus-1d").by_rule("dpn-screening")
    assert tomorrow is not None and tomorrow.status == "scheduled" and tomorrow.due == dt.date(2026, 12, 1)


@pytest.mark.rule("foot-screening-by-risk")
def test_iwgdf_high_risk_on_dialysis_is_overdue_after_4_months() -> None:
    result = case("iwgdf3-dialysis-4-months")
    assert result.record.facts["iwgdf-category"] == 3
    rec = result.by_rule("foot-screening-by-risk")
    # Last screen 30 July; category 3 is every 1-3 months: due 30 August to 30 October, overdue on 30 November.
    assert rec is not None and rec.status == "overdue" and rec.due == dt.date(2026, 8, 30)


@pytest.mark.rule("foot-screening-by-risk")
def test_iwgdf_moderate_risk_is_due_inside_its_3_to_6_month_window() -> None:
    result = case("iwgdf2-deformity-5-months")
    assert result.record.facts["iwgdf-category"] == 2
    rec = result.by_rule("foot-screening-by-risk")
    assert rec is not None and rec.status == "due" and rec.due == dt.date(2026, 9, 30)


# -- PAD: ABI bands, exercise ABI, toe pressure with an ulcer ---------------------------------------------------


@pytest.mark.rule("abi-classification")
@pytest.mark.rule("exercise-abi")
def test_abi_090_is_pad_and_091_with_claudication_asks_for_an_exercise_abi() -> None:
    low = case("abi-0-90")
    band = low.by_rule("abi-classification")
    assert band is not None and "abnormal" in band.action
    assert low.record.facts["pad"] is True and not fired(low, "exercise-abi")
    edge = case("abi-0-91")
    band = edge.by_rule("abi-classification")
    assert band is not None and "borderline" in band.action
    # AHA/ACC: exertional non-joint leg symptoms with an ABI of 0.91-1.40 -> exercise treadmill ABI.
    # Intermittent claudication is such a symptom (it was not counted before this review).
    assert edge.record.facts["exertional-nonjoint-leg-symptoms"] is True
    assert fired(edge, "exercise-abi")


@pytest.mark.rule("foot-ulcer-limb-ischaemia")
def test_ulcer_with_noncompressible_abi_turns_on_a_toe_pressure_of_29_versus_30() -> None:
    low = case("ulcer-noncompressible-toe-29")
    flag = low.by_rule("foot-ulcer-limb-ischaemia")
    assert flag is not None and flag.status == "emergency" and flag.rule_status == "in-review"
    assert low.recommendations[0].rule == "foot-ulcer-limb-ischaemia"
    assert "NOT YET VERIFIED" in render_text(low)
    edge = case("ulcer-noncompressible-toe-30")
    assert not fired(edge, "foot-ulcer-limb-ischaemia")
    assert status(edge, "active-foot-problem-referral") == "urgent"
    # PAD is not decided by an ABI above 1.40: it is what would make this ulcer an emergency, so it is asked first.
    assert "pad" in edge.urgent_missing and edge.urgent_decisive[:1] == ("pad",)


# -- autonomic signs and glycaemia (strict ADA thresholds) -----------------------------------------------------


@pytest.mark.rule("orthostatic-hypotension")
@pytest.mark.rule("resting-tachycardia")
def test_orthostatic_drop_and_heart_rate_one_step_either_side() -> None:
    at = case("oh-drop-20-hr-100")
    assert not fired(at, "orthostatic-hypotension") and not fired(at, "resting-tachycardia")
    over = case("oh-drop-21-hr-101")
    assert fired(over, "orthostatic-hypotension") and fired(over, "resting-tachycardia")


@pytest.mark.rule("ada-dx-hba1c")
def test_a1c_65_is_diabetes_range_needing_confirmation_and_64_is_prediabetes() -> None:
    at = case("neuropathy-hba1c-6-5")
    band = at.by_rule("ada-dx-hba1c")
    assert band is not None and "diabetes range" in band.action
    assert fired(at, "ada-dx-confirm-two-results")
    below = case("neuropathy-hba1c-6-4")
    band = below.by_rule("ada-dx-hba1c")
    assert band is not None and "prediabetes" in band.action
    assert not fired(below, "ada-dx-confirm-two-results")


@pytest.mark.rule("b12-nitrous-oxide-homocysteine")
def test_nitrous_oxide_with_normal_b12_asks_for_homocysteine() -> None:
    result = case("nitrous-oxide-b12-400")
    assert fired(result, "b12-nitrous-oxide-homocysteine")
    assert not fired(result, "b12-treatment-neuro")


# -- inflammatory neuropathy timing -----------------------------------------------------------------------------


@pytest.mark.rule("cidp-typical")
@pytest.mark.rule("inflammatory-subacute-window")
def test_8_weeks_is_cidp_and_55_days_is_the_subacute_window() -> None:
    chronic = case("cidp-day56")
    assert fired(chronic, "cidp-typical") and not fired(chronic, "inflammatory-subacute-window")
    assert red_flags(chronic) == []
    subacute = case("sidp-day55")
    flag = subacute.by_rule("inflammatory-subacute-window")
    assert flag is not None and flag.status == "urgent" and flag.rule_status == "in-review"
    assert not fired(subacute, "cidp-typical")


@pytest.mark.rule("gbs-respiratory")
def test_gbs_with_breathing_difficulty_leads_with_the_unverified_emergency() -> None:
    result = case("gbs-breathing")
    first = result.recommendations[0]
    assert first.rule == "gbs-respiratory" and first.status == "emergency" and first.rule_status == "in-review"
    assert {"rapidly-progressive-limb-weakness", "gbs-suspected"} <= set(red_flags(result))
    assert "EMERGENCY; NOT YET VERIFIED (rule in review)" in render_text(result)


# -- the missing-input prompt asks first for what would raise an urgent flag ----------------------------------


def test_diabetic_with_progressing_asymmetric_weakness_is_asked_for_reflexes_and_cancer_first() -> None:
    result = case("dm-asymmetric-multifocal")
    assert fired(result, "pattern-asymmetric-multifocal") and fired(result, "multifocal-workup")
    # Weakness progressing for 6 weeks: absent reflexes alone would raise the subacute inflammatory flag, and a
    # cancer history the MSCC emergency. Both must lead the list, ahead of the generic red-flag questions.
    assert {"areflexia", "known-cancer"} <= set(result.urgent_decisive)
    assert set(result.urgent_missing[: len(result.urgent_decisive)]) == set(result.urgent_decisive)
    text = render_text(result)
    missing = text[text.index("What is missing") :]
    first_items = [line for line in missing.splitlines() if line.startswith("   - ")][:5]
    assert any("[areflexia]" in line for line in first_items), first_items


def test_no_decisive_finding_is_claimed_without_recorded_evidence() -> None:
    # Nothing recorded for a cauda equina picture: its findings stay in the usual order, none claims to decide.
    result = ng.assess({"findings": {"tingling": True}}, as_of=AS_OF)
    assert result.urgent_missing and result.urgent_decisive == ()


# -- input mapping found by these vignettes ----------------------------------------------------------------------


@pytest.mark.rule("exercise-abi")
@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ({"claudication": True}, True),
        ({"leg-fatigue": True}, True),
        ({"claudication": False, "leg-fatigue": False}, None),  # a joint or other exertional cause may be unrecorded
        ({"exertional-nonjoint-leg-symptoms": False}, False),  # given directly, it is used
    ],
)
def test_claudication_and_walking_leg_fatigue_are_exertional_non_joint_symptoms(
    findings: dict[str, bool], expected: bool | None
) -> None:
    result = ng.assess({"findings": findings, "measurements": {"abi": 1.0}}, as_of=AS_OF)
    assert result.record.facts.get("exertional-nonjoint-leg-symptoms") is expected
    assert fired(result, "exercise-abi") is (expected is True)


def test_exertional_symptoms_denied_but_claudication_recorded_is_flagged_and_neither_is_used() -> None:
    patient = {
        "findings": {"claudication": True, "exertional-nonjoint-leg-symptoms": False},
        "measurements": {"abi": 1.0},
    }
    result = ng.assess(patient, as_of=AS_OF)
    (flag,) = result.flags
    assert flag.field == "findings.exertional-nonjoint-leg-symptoms and findings.claudication"
    assert flag.kind is ng.FlagKind.CONTRADICTION and flag.value == "false and true"
    # Neither the given "no" nor one derived from the contradicted claudication: unknown, and the rule says so.
    assert "exertional-nonjoint-leg-symptoms" not in result.record.facts and "claudication" not in result.record.facts
    (t,) = [t for t in result.record.trace if t.rule == "exercise-abi"]
    assert "exertional-nonjoint-leg-symptoms" in t.missing


@pytest.mark.parametrize("text", ["100 bpm", "100/min", "100 beats/min"])
def test_a_heart_rate_in_an_unaccepted_unit_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ng.InputError) as err:
        ng.Patient.from_dict({"measurements": {"resting-heart-rate": text}})
    assert "measurements.resting-heart-rate" in str(err.value) and "1/min" in str(err.value)
