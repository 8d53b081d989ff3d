"""check_dose: verdicts, unit handling, plausibility, assess() and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide.cli import main
from neuroguide.dosing import Verdict

AS_OF = dt.date(2026, 11, 23)


def verdict(agent: str, dose: str, **kw: object) -> Verdict:
    """Shorthand: the verdict of one check."""
    return ng.check_dose(agent, dose, **kw).verdict  # type: ignore[arg-type]


# -- the seed's B12 unit error ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "per"),
    [("250 mg", "day"), ("350 mg", "day"), ("1000 mg", "week")],
)
def test_seed_b12_doses_in_mg_are_implausible(dose: str, per: str) -> None:
    v = ng.check_dose("cyanocobalamin", dose, per=per, route="oral")
    assert v.verdict is Verdict.IMPLAUSIBLE
    assert "likely a unit error" in v.message
    assert "ug" in v.expected  # the expected range is also shown in the source's unit


def test_seed_b12_weekly_dose_in_mg_is_implausible_by_any_route() -> None:
    assert verdict("cyanocobalamin", "1000 mg", per="week") is Verdict.IMPLAUSIBLE


@pytest.mark.parametrize(
    ("dose", "per", "route", "rule"),
    [
        ("350 ug", "day", "oral", "b12-bariatric-oral"),
        ("500 ug", "day", "sublingual", "b12-bariatric-oral"),
        ("1000 ug", "day", "oral", "b12-malabsorption-oral"),
        ("1000 ug", "month", "intramuscular", "b12-bariatric-parenteral"),
    ],
)
def test_b12_doses_in_micrograms_pass(dose: str, per: str, route: str, rule: str) -> None:
    v = ng.check_dose("cyanocobalamin", dose, per=per, route=route)
    assert v.verdict is Verdict.WITHIN
    assert v.rule == rule
    assert v.ok


def test_b12_oral_between_regimens_reports_the_nearest() -> None:
    # 600 ug/day: 1.2 times the bariatric top (500) but 1.67 times below the malabsorption minimum (1000).
    v = ng.check_dose("vitamin B12", "600 ug", per="day", route="oral")
    assert v.verdict is Verdict.ABOVE_RANGE
    assert v.rule == "b12-bariatric-oral"
    assert "states no maximum" in v.message


# -- unit invariance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("1000 ug", "day"), ("1 mg", "day")),
        (("1 mg", "day"), ("1000 mcg", "day")),
        (("350 µg", "day"), ("0.35 mg", "day")),
        (("7 mg", "week"), ("1 mg", "day")),
        (("1 mg/day", None), ("7000 ug", "week")),
    ],
)
def test_b12_unit_and_period_invariance(a: tuple[str, str | None], b: tuple[str, str | None]) -> None:
    va = ng.check_dose("cyanocobalamin", a[0], per=a[1], route="oral")
    vb = ng.check_dose("cyanocobalamin", b[0], per=b[1], route="oral")
    assert (va.verdict, va.rule) == (vb.verdict, vb.rule)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("0.3 g", "day"), ("300 mg", "day")),
        (("0.3 g/day", None), ("300 mg", "day")),
        (("2100 mg", "week"), ("300 mg", "day")),
    ],
)
def test_gabapentin_unit_invariance(a: tuple[str, str | None], b: tuple[str, str | None]) -> None:
    va = ng.check_dose("gabapentin", a[0], per=a[1], crcl="15 mL/min")
    vb = ng.check_dose("gabapentin", b[0], per=b[1], crcl="15 mL/min")
    assert va.verdict is vb.verdict is Verdict.WITHIN
    assert va.renal_band == vb.renal_band == "15"


def test_expected_range_is_in_the_callers_units() -> None:
    v = ng.check_dose("gabapentin", "1.5 g", per="day", crcl="45 mL/min")
    assert v.verdict is Verdict.ABOVE
    assert v.expected.startswith("0.4 g to 1.4 g per day")


def test_crcl_in_other_units_is_converted() -> None:
    v = ng.check_dose("gabapentin", "1400 mg", per="day", crcl="0.75 L/h")  # 12.5 mL/min
    assert v.renal_band == "< 15"


_AGENTS = [
    ("cyanocobalamin", "oral", None),
    ("hydroxocobalamin", "intramuscular", None),
    ("thiamine", "intravenous", None),
    ("gabapentin", "oral", "45 mL/min"),
    ("gabapentin", "oral", "10 mL/min"),
    ("pregabalin", "oral", "75 mL/min"),
    ("duloxetine", "oral", None),
    ("droxidopa", "oral", None),
]


@given(
    case=st.sampled_from(_AGENTS),
    mg=st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
    factor=st.floats(min_value=1.0, max_value=1e4, allow_nan=False),
    per=st.sampled_from(["day", "week", "month"]),
)
def test_scaling_up_never_turns_above_maximum_into_within(
    case: tuple[str, str, str | None], mg: float, factor: float, per: str
) -> None:
    agent, route, crcl = case
    before = ng.check_dose(agent, f"{mg!r} mg", per=per, route=route, crcl=crcl)
    after = ng.check_dose(agent, f"{mg * factor!r} mg", per=per, route=route, crcl=crcl)
    if before.verdict is Verdict.ABOVE:
        assert after.verdict in (Verdict.ABOVE, Verdict.IMPLAUSIBLE)
    if before.verdict is Verdict.IMPLAUSIBLE:
        assert after.verdict is Verdict.IMPLAUSIBLE


@given(mg=st.floats(min_value=0.001, max_value=1e5, allow_nan=False), per=st.sampled_from(["day", "week", "month"]))
def test_same_dose_in_ug_and_mg_gets_the_same_verdict(mg: float, per: str) -> None:
    a = ng.check_dose("cyanocobalamin", f"{mg!r} mg", per=per, route="oral")
    b = ng.check_dose("cyanocobalamin", f"{mg * 1000!r} ug", per=per, route="oral")
    assert (a.verdict, a.rule) == (b.verdict, b.rule)


# -- errors -----------------------------------------------------------------------------------------


def test_a_mass_without_a_period_is_a_clear_error() -> None:
    with pytest.raises(ng.IncompatibleUnitsError, match="needs per="):
        ng.check_dose("cyanocobalamin", "350 ug")


@pytest.mark.parametrize("dose", ["350 MG", "350 units", "350 furlong", "350"])
def test_unknown_units_are_refused(dose: str) -> None:
    with pytest.raises(ng.UnitError):
        ng.check_dose("cyanocobalamin", dose, per="day")


@pytest.mark.parametrize("dose", ["5 mg/dL", "45 mL/min", "2 mmol"])
def test_a_dose_that_is_not_an_amount_is_refused(dose: str) -> None:
    with pytest.raises(ng.IncompatibleUnitsError, match="dose"):
        ng.check_dose("gabapentin", dose, per="day")


def test_bad_period_route_and_agent_are_errors() -> None:
    with pytest.raises(ng.InputError, match="per"):
        ng.check_dose("gabapentin", "300 mg", per="fortnight")
    with pytest.raises(ng.InputError, match="route"):
        ng.check_dose("gabapentin", "300 mg", per="day", route="topical-patch")
    with pytest.raises(ng.UnknownAgentError, match="gabapentin"):
        ng.check_dose("gabapentine", "300 mg", per="day")
    with pytest.raises(ng.InputError, match="as_of"):
        ng.check_dose("gabapentin", "300 mg", per="day", patient=ng.Patient())


def test_route_without_a_regimen_is_not_covered() -> None:
    v = ng.check_dose("gabapentin", "300 mg", per="day", route="intravenous")
    assert v.verdict is Verdict.NOT_COVERED
    assert "oral" in v.message


def test_unknown_indication_is_not_covered_rather_than_ignored() -> None:
    v = ng.check_dose("gabapentin", "900 mg", per="day", crcl="80 mL/min", indication="migraine")
    assert v.verdict is Verdict.NOT_COVERED


def test_renal_agent_without_crcl_asks_for_it_but_still_flags_overdose() -> None:
    v = ng.check_dose("gabapentin", "1800 mg", per="day")
    assert v.verdict is Verdict.NOT_COVERED
    assert v.missing == ("crcl",)
    assert "900 mg to 3600 mg per day" in v.expected
    assert verdict("gabapentin", "3700 mg", per="day") is Verdict.ABOVE
    assert verdict("gabapentin", "40 g", per="day") is Verdict.IMPLAUSIBLE


def test_crcl_is_derived_from_a_patient() -> None:
    # Cockcroft–Gault: (140 - 70) x 60 / (72 x 2.0) = 29.17 mL/min (male) -> truncated 29 -> ">15 to 29".
    patient = ng.Patient.from_dict(
        {
            "birth_date": "1956-01-01",
            "sex": "male",
            "measurements": {"weight": "60 kg", "serum-creatinine": "2.0 mg/dL"},
        }
    )
    v = ng.check_dose("gabapentin", "900 mg", per="day", patient=patient, as_of=AS_OF)
    assert v.renal_band == ">15 to 29"
    assert v.verdict is Verdict.ABOVE
    assert v.crcl == pytest.approx(70 * 60 / 144)


def test_hemodialysis_adds_the_supplement_note() -> None:
    patient = ng.Patient.from_dict({"findings": {"dialysis": True}, "measurements": {"crcl": "10 mL/min"}})
    v = ng.check_dose("gabapentin", "150 mg", per="day", patient=patient, as_of=AS_OF)
    assert v.verdict is Verdict.WITHIN
    assert any("125, 150, 200, 250 or 350 mg" in n for n in v.notes)


def test_off_label_use_is_said() -> None:
    v = ng.check_dose("gabapentin", "1800 mg", per="day", crcl="80 mL/min", indication="dpn")
    assert v.rule == "gabapentin-dpn"
    assert v.labelled is False
    assert any(n.lower().startswith("off-label") for n in v.notes)


def test_gabapentin_above_titration_target_is_noted() -> None:
    v = ng.check_dose("gabapentin", "2400 mg", per="day", crcl="80 mL/min", indication="phn")
    assert v.verdict is Verdict.WITHIN
    assert any("1800 mg" in n for n in v.notes)


# -- assess() and the CLI ---------------------------------------------------------------------------


def test_assess_reports_a_b12_unit_error_in_the_medication_list() -> None:
    patient = {"medications": [{"agent": "cyanocobalamin", "dose": "1000 mg", "per": "week"}]}
    result = ng.assess(patient, as_of=AS_OF)
    dose_recs = [r for r in result.recommendations if r.guideline == "drug-dosing"]
    assert len(dose_recs) == 1  # one medication -> one verdict, however many B12 regimens exist
    assert dose_recs[0].status == "implausible"
    assert "likely a unit error" in dose_recs[0].action


def test_assess_is_quiet_for_a_correct_b12_dose_and_skips_stopped_medication() -> None:
    patient = {
        "medications": [
            {"agent": "cyanocobalamin", "dose": "1000 ug", "per": "month", "route": "IM"},
            {"agent": "cyanocobalamin", "dose": "1000 mg", "per": "week", "stopped": "2026-01-01"},
        ]
    }
    result = ng.assess(patient, as_of=AS_OF)
    assert [r for r in result.recommendations if r.guideline == "drug-dosing"] == []


def test_assess_gabapentin_without_crcl_reports_missing_input() -> None:
    patient = {"medications": [{"agent": "gabapentin", "dose": "1800 mg", "per": "day"}]}
    result = ng.assess(patient, as_of=AS_OF)
    rec = next(r for r in result.recommendations if r.guideline == "drug-dosing")
    assert rec.status == "not-covered"
    assert "crcl" in [m.fact for m in result.missing]


def test_cli_dose_flags_the_seed_b12_dose(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dose", "cyanocobalamin", "250 mg", "--per", "day", "--route", "oral", "--as-of", "2026-11-23"])
    out = capsys.readouterr().out
    assert code == 1
    assert "IMPLAUSIBLE" in out


def test_cli_dose_accepts_the_microgram_dose(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dose", "cyanocobalamin", "350 ug", "--per", "day", "--route", "oral", "--as-of", "2026-11-23"])
    assert code == 0
    assert "WITHIN-RANGE" in capsys.readouterr().out


@pytest.mark.rule("pregabalin-dpn")
def test_pregabalin_below_60_never_allows_more_than_the_normal_maximum() -> None:
    """Reduced renal function cannot allow more than the 300 mg/day maximum at CrCl >= 60."""
    over = ng.check_dose("pregabalin", "600 mg", per="day", crcl="20 mL/min")
    assert over.verdict is ng.Verdict.ABOVE
    assert "must be reduced further" in over.message
    at_max = ng.check_dose("pregabalin", "300 mg", per="day", crcl="20 mL/min")
    assert at_max.verdict is ng.Verdict.NOT_COVERED  # the reduced dose itself is in the unverified Table 2


@pytest.mark.rule("gabapentin-phn")
def test_gabapentin_below_1_ml_min_is_not_scaled_to_zero() -> None:
    """The label's proportional rule (row 15 x CrCl/15) is not applied below 1 mL/min (anuria, dialysis)."""
    v = ng.check_dose("gabapentin", "300 mg", per="day", crcl="0.5 mL/min")
    assert v.verdict is ng.Verdict.NOT_COVERED
    assert "CrCl 0.5 mL/min" in v.message
    scaled = ng.check_dose("gabapentin", "100 mg", per="day", crcl="1 mL/min")
    assert scaled.verdict is ng.Verdict.ABOVE  # row 15 is 100-300 mg/day; x 1/15 gives at most 20 mg/day


@pytest.mark.rule("duloxetine-dpnp")
@pytest.mark.rule("duloxetine-dpnp")
def test_duloxetine_dpnp_at_crcl_20_is_avoid() -> None:
    """The audit's case: duloxetine 60 mg/day at CrCl 20 mL/min was 'within range'; severe impairment -> avoid."""
    v = ng.check_dose("duloxetine", "60 mg", per="day", crcl="20 mL/min")
    assert v.verdict is ng.Verdict.AVOID and not v.ok
    assert "avoid" in v.message and any("renal impairment" in n for n in v.notes)


# The clinician's case (b12-seed-sublingual-daily, 250-350 ug/day, is in review; the approved ASMBS oral regimen is
# 350-500 ug/day) and its weekly twin, beside every case of the round-8 dose deck.
_B12_CASES = [
    {"agent": "cyanocobalamin", "dose": dose, "per": per, "route": route}
    for dose, per in (("300 ug", "day"), ("250 ug", "day"), ("350 ug", "day"), ("1000 ug", "week"), ("1 mg", "week"))
    for route in ("sublingual", "oral")
]
_ROUND8 = json.loads((Path(__file__).parent / "data" / "doses" / "round8.json").read_text(encoding="utf-8"))


def _dose_args(case: dict[str, Any]) -> dict[str, Any]:
    patient = ng.Patient.from_dict(case["patient"]) if "patient" in case else None
    as_of = dt.date.fromisoformat(_ROUND8["as_of"])
    return {
        "per": case.get("per"),
        "route": case.get("route"),
        "indication": case.get("indication"),
        "crcl": case.get("crcl"),
        "patient": patient,
        "as_of": as_of if patient is not None else None,
    }


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c["id"]) for c in _ROUND8["cases"]]
    + [pytest.param(c, id=f"b12-{c['dose']}-{c['per']}-{c['route']}") for c in _B12_CASES],
)
def test_in_review_regimens_never_change_a_verdict_of_approved_ones(case: dict[str, Any]) -> None:
    """With in-review statuses, check_dose answers exactly as with approved regimens whenever one names the drug."""
    from neuroguide.dosing import NoRegimenError

    args = _dose_args(case)
    try:
        approved: ng.DoseVerdict | Exception = ng.check_dose(case["agent"], case["dose"], **args)
    except NoRegimenError:
        pytest.skip("no approved regimen: the in-review one is used (tested below)")
    except ng.NeuroguideError as exc:
        approved = exc
    try:
        both: ng.DoseVerdict | Exception = ng.check_dose(
            case["agent"], case["dose"], statuses=("approved", "in-review"), **args
        )
    except ng.NeuroguideError as exc:
        both = exc
    if isinstance(approved, Exception):
        assert type(both) is type(approved) and str(both) == str(approved)
    else:
        assert isinstance(both, ng.DoseVerdict)
        assert both.verdict is approved.verdict
        assert both == approved
        assert both.rule_status in (None, "approved")


def test_the_clinicians_b12_sublingual_case_stays_below_range_with_in_review_rules() -> None:
    # 300 ug/day is below the approved 350-500 ug/day and inside the in-review seed's 250-350 ug/day.
    for statuses in (("approved",), ("approved", "in-review")):
        v = ng.check_dose("cyanocobalamin", "300 ug", per="day", route="sublingual", statuses=statuses)
        assert (v.verdict, v.rule, v.rule_status) == (Verdict.BELOW, "b12-bariatric-oral", "approved"), statuses
        assert not v.ok


def test_check_dose_uses_a_regimen_in_review_only_when_asked_and_says_its_status() -> None:
    from neuroguide.dosing import NoRegimenError, dosing_rules

    with pytest.raises(NoRegimenError, match="midodrine-oh"):
        ng.check_dose("midodrine", "30 mg", per="day", as_of=AS_OF)
    v = ng.check_dose("midodrine", "30 mg", per="day", as_of=AS_OF, statuses=("approved", "in-review"))
    assert (v.rule, v.rule_status, v.verdict) == ("midodrine-oh", "in-review", Verdict.WITHIN)
    assert ng.check_dose("gabapentin", "900 mg", per="day", crcl="70 mL/min", as_of=AS_OF).rule_status == "approved"
    approved = dosing_rules(as_of=AS_OF)
    every = dosing_rules(as_of=AS_OF, statuses=["approved", "in-review"])
    assert set(approved) < set(every) and all(r.status.value == "approved" for _, r in approved)
    assert {r.status.value for _, r in every} == {"approved", "in-review"}
    with pytest.raises(ng.InputError, match="statuses"):
        ng.check_dose("midodrine", "30 mg", per="day", statuses=("verified",))
    with pytest.raises(ng.InputError, match="statuses"):
        ng.check_dose("midodrine", "30 mg", per="day", statuses="in-review")
