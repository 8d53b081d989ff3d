"""Calculators: Cockcroft-Gault (with weight conventions and rounding), BSA, BMI, IBW, adjusted body weight."""

from __future__ import annotations

import math
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import calculators as calc

LB = 0.45359237  # kg per lb (exact)
CREATININE_UMOL_PER_MG_DL = 10000 / 113.12  # creatinine's declared molar mass


def mag(result: calc.CalcResult, unit: str) -> float:
    return float(result.value.to(unit).magnitude)


def field_of(exc: pytest.ExceptionInfo[ng.InputError]) -> str:
    return exc.value.field


# -- every calculator returns the full result shape ---------------------------------

EXAMPLES: dict[str, dict[str, Any]] = {
    "creatinine-clearance": {"age": 65, "weight": "70 kg", "serum_creatinine": "1.4 mg/dL", "sex": "male"},
    "bsa-dubois": {"height": "165 cm", "weight": "75 kg"},
    "bmi": {"weight": "72 kg", "height": "170 cm"},
    "ibw-devine": {"height": "170 cm", "sex": "male"},
    "adjusted-body-weight": {"weight": "99 kg", "height": "177 cm", "sex": "male"},
    "hba1c-to-ifcc": {"hba1c": "6.5 %"},
    "hba1c-to-ngsp": {"hba1c": "48 mmol/mol"},
    "eag-adag": {"hba1c": "7 %"},
    "a1c-from-eag": {"glucose": "154 mg/dL"},
    "glucose-conversion": {"value": "126 mg/dL"},
    "b12-conversion": {"value": "180 ng/L"},
    "creatinine-conversion": {"value": "1.0 mg/dL"},
    "mnsi-questionnaire": {"answers": {i: i in (1, 2, 5, 13) for i in range(1, 16)}},
    "mnsi-examination": {
        f"{side}_{k}": v
        for side in ("right", "left")
        for k, v in {
            "appearance": "abnormal",
            "ulceration": False,
            "ankle_reflex": "absent",
            "vibration": "decreased",
        }.items()
    },
    "tcss": {
        **dict.fromkeys(("foot_pain", "numbness", "tingling", "weakness", "ataxia", "upper_limb_symptoms"), True),
        **dict.fromkeys(("pinprick", "temperature", "light_touch", "vibration", "position"), False),
        **dict.fromkeys(("knee_right", "knee_left", "ankle_right", "ankle_left"), "reduced"),
    },
    "dn4": dict.fromkeys(
        (
            "burning",
            "painful_cold",
            "electric_shocks",
            "tingling",
            "pins_and_needles",
            "numbness",
            "itching",
            "touch_hypoaesthesia",
            "pricking_hypoaesthesia",
            "brushing",
        ),
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_result_has_value_interpretation_inputs_steps_citation(name: str) -> None:
    result = calc.REGISTRY[name](**EXAMPLES[name])
    assert result.name == name
    assert result.value is not None
    assert not isinstance(result.value, bool)
    assert result.interpretation
    assert result.inputs
    assert result.steps
    assert result.citation
    assert result.conventions


def test_registry_lists_the_new_calculators() -> None:
    for name in ("creatinine-clearance", "bsa-dubois", "bmi", "ibw-devine", "adjusted-body-weight"):
        assert name in calc.REGISTRY
    for name in ("creatinine_clearance", "bsa_dubois", "bmi", "ibw_devine", "adjusted_body_weight"):
        assert name in calc.__all__


# -- Cockcroft-Gault ----------------------------------------------------------------


def test_cockcroft_gault_worked_example_male() -> None:
    # (140 - 65) x 70 / (72 x 1.4) = 5250 / 100.8 = 52.083 (third-party worked example prints 52.1)
    result = calc.creatinine_clearance(age=65, weight="70 kg", serum_creatinine="1.4 mg/dL", sex="male")
    assert mag(result, "mL/min") == pytest.approx(5250 / 100.8, rel=1e-12)
    assert round(mag(result, "mL/min"), 1) == 52.1


def test_cockcroft_gault_female_is_15_percent_less() -> None:
    male = calc.creatinine_clearance(age=65, weight="70 kg", serum_creatinine="1.4 mg/dL", sex="male")
    female = calc.creatinine_clearance(age=65, weight="70 kg", serum_creatinine="1.4 mg/dL", sex="female")
    assert mag(female, "mL/min") == pytest.approx(0.85 * mag(male, "mL/min"), rel=1e-12)


def test_cockcroft_gault_and_creatinine_clearance_agree_for_actual_weight() -> None:
    kwargs: dict[str, Any] = {"age": 72, "weight": "72 kg", "serum_creatinine": "1.4 mg/dL", "sex": "female"}
    assert mag(calc.cockcroft_gault(**kwargs), "mL/min") == mag(calc.creatinine_clearance(**kwargs), "mL/min")
    assert calc.crcl_from_floats(72, 72, 1.4, True) == pytest.approx(68 * 72 / (72 * 1.4) * 0.85)


def test_ceil_rounding_as_the_gdl_deck() -> None:
    # GDL deck: male 24 y, 54 kg, SCr 5 mg/dL: 116 x 54 / 360 = 17.4 -> 18
    result = calc.creatinine_clearance(age=24, weight="54 kg", serum_creatinine="5 mg/dL", sex="male", rounding="ceil")
    assert mag(result, "mL/min") == 18.0
    assert "rounding=ceil to whole mL/min" in result.conventions


def test_ceil_does_not_round_up_binary_noise() -> None:
    # (140 - 68) x 68 / 72 = 68 exactly; float noise must not turn it into 69.
    result = calc.creatinine_clearance(age=68, weight="68 kg", serum_creatinine="1 mg/dL", sex="male", rounding="ceil")
    assert mag(result, "mL/min") == 68.0


def test_half_up_rounding() -> None:
    # 75 x 70 / 100.8 = 52.08 -> 52; female 0.85 x 87 = 73.95 -> 74
    male = calc.creatinine_clearance(
        age=65, weight="70 kg", serum_creatinine="1.4 mg/dL", sex="male", rounding="half-up"
    )
    assert mag(male, "mL/min") == 52.0
    female = calc.creatinine_clearance(
        age=24, weight="54 kg", serum_creatinine="1 mg/dL", sex="female", rounding="half-up"
    )
    assert mag(female, "mL/min") == 74.0


def ibw(height_cm: float, female: bool) -> float:
    return (45.5 if female else 50.0) + 2.3 * (height_cm / 2.54 - 60)


def test_weight_conventions_ideal_and_adjusted() -> None:
    base: dict[str, Any] = {"age": 72, "weight": "95 kg", "height": "165 cm", "serum_creatinine": "1.4 mg/dL"}
    i = ibw(165, True)
    ideal = calc.creatinine_clearance(**base, sex="female", weight_convention="ideal")
    assert mag(ideal, "mL/min") == pytest.approx(68 * i / (72 * 1.4) * 0.85, rel=1e-12)
    assert ideal.inputs["weight_convention"] == "ideal"
    assert any(c.startswith("weight_convention=ideal") for c in ideal.conventions)
    abw = i + 0.4 * (95 - i)
    adjusted = calc.creatinine_clearance(**base, sex="female", weight_convention="adjusted")
    assert mag(adjusted, "mL/min") == pytest.approx(68 * abw / (72 * 1.4) * 0.85, rel=1e-12)
    assert adjusted.inputs["dosing_weight"] == f"{abw:.4g} kg"


@pytest.mark.parametrize(
    ("weight_kg", "expected_weight"),
    [
        (50.0, "actual"),  # BMI 50 / 1.8^2 = 15.43 < 18.5
        (70.0, "lesser"),  # BMI 21.6: lesser of IBW (75.0) and actual (70)
        (80.0, "lesser"),  # BMI 24.69: IBW 75.0 is lesser
        (81.0, "adjusted"),  # BMI 25.00 -> adjusted
        (110.0, "adjusted"),
    ],
)
def test_bmi_dependent_convention(weight_kg: float, expected_weight: str) -> None:
    i = ibw(180, False)
    result = calc.creatinine_clearance(
        age=60, weight=f"{weight_kg} kg", height="180 cm", serum_creatinine="1 mg/dL", sex="male",
        weight_convention="bmi-dependent",
    )  # fmt: skip
    w = {"actual": weight_kg, "lesser": min(i, weight_kg), "adjusted": i + 0.4 * (weight_kg - i)}[expected_weight]
    assert mag(result, "mL/min") == pytest.approx(80 * w / 72, rel=1e-12)
    assert "no primary source" in result.conventions[0]


def test_bmi_dependent_boundary_25() -> None:
    # 180 cm: 80.99 kg -> BMI 24.9969 -> 25.00 at 2 dp (adjusted); 80.98 kg -> 24.9938 -> 24.99 (lesser of IBW, actual)
    i = ibw(180, False)
    at = calc.creatinine_clearance(
        age=60, weight="80.99 kg", height="180 cm", serum_creatinine="1 mg/dL", sex="male",
        weight_convention="bmi-dependent",
    )  # fmt: skip
    assert mag(at, "mL/min") == pytest.approx(80 * (i + 0.4 * (80.99 - i)) / 72)
    below = calc.creatinine_clearance(
        age=60, weight="80.98 kg", height="180 cm", serum_creatinine="1 mg/dL", sex="male",
        weight_convention="bmi-dependent",
    )  # fmt: skip
    assert mag(below, "mL/min") == pytest.approx(80 * min(i, 80.98) / 72)


def test_bmi_dependent_boundary_18_5() -> None:
    # 180 cm: 59.94 kg -> 18.50 (lesser of IBW 75.0 and actual = actual); 59.9 kg -> 18.49 (actual)
    i = ibw(180, False)
    assert i > 60
    for w in (59.94, 59.9):
        r = calc.creatinine_clearance(
            age=60, weight=f"{w} kg", height="180 cm", serum_creatinine="1 mg/dL", sex="male",
            weight_convention="bmi-dependent",
        )  # fmt: skip
        assert mag(r, "mL/min") == pytest.approx(80 * w / 72)
    assert "BMI (2 dp, half-up)" in [s.label for s in r.steps]


def test_convention_needs_height() -> None:
    with pytest.raises(ng.InputError) as exc:
        calc.creatinine_clearance(
            age=60, weight="80 kg", serum_creatinine="1 mg/dL", sex="male", weight_convention="ideal"
        )
    assert field_of(exc) == "height"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weight": "0 kg"}, "weight"),
        ({"weight": "-5 kg"}, "weight"),
        ({"weight": "70 cm"}, "weight"),
        ({"serum_creatinine": "0 mg/dL"}, "serum_creatinine"),
        ({"serum_creatinine": "0 umol/L"}, "serum_creatinine"),
        ({"serum_creatinine": "1 IU/L"}, "serum_creatinine"),
        ({"age": 200}, "age"),
        ({"age": 17}, "age"),
        ({"age": True}, "age"),
        ({"sex": "unknown"}, "sex"),
        ({"weight_convention": "lean"}, "weight_convention"),
        ({"rounding": "floor"}, "rounding"),
    ],
)
def test_implausible_inputs_are_refused_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"age": 60, "weight": "70 kg", "serum_creatinine": "1 mg/dL", "sex": "male"}
    with pytest.raises(ng.InputError) as exc:
        calc.creatinine_clearance(**{**base, **kwargs})
    assert field_of(exc) == field
    assert field in str(exc.value)


def test_age_boundaries_18_and_120() -> None:
    base: dict[str, Any] = {"weight": "70 kg", "serum_creatinine": "1 mg/dL", "sex": "male"}
    assert mag(calc.creatinine_clearance(age=18, **base), "mL/min") == pytest.approx(122 * 70 / 72)
    assert mag(calc.creatinine_clearance(age=120, **base), "mL/min") == pytest.approx(20 * 70 / 72)
    for age in (17, 121):
        with pytest.raises(ng.InputError):
            calc.creatinine_clearance(age=age, **base)


@settings(max_examples=60, deadline=None)
@given(
    age=st.integers(18, 100),
    weight_kg=st.floats(30, 250),
    scr=st.floats(0.3, 15),
    female=st.booleans(),
)
def test_unit_invariance_weight_lb_and_creatinine_umol(age: int, weight_kg: float, scr: float, female: bool) -> None:
    sex: Literal["female", "male"] = "female" if female else "male"
    ref = calc.creatinine_clearance(age=age, weight=f"{weight_kg!r} kg", serum_creatinine=f"{scr!r} mg/dL", sex=sex)
    lb = calc.creatinine_clearance(age=age, weight=f"{weight_kg / LB!r} lb", serum_creatinine=f"{scr!r} mg/dL", sex=sex)
    umol = calc.creatinine_clearance(
        age=age,
        weight=ng.Q_(weight_kg, "kg"),
        serum_creatinine=ng.Q_(scr * CREATININE_UMOL_PER_MG_DL, "umol/L"),
        sex=sex,
    )
    expected = (140 - age) * weight_kg / (72 * scr) * (0.85 if female else 1.0)
    for r in (ref, lb, umol):
        assert mag(r, "mL/min") == pytest.approx(expected, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(age=st.integers(18, 100), w=st.floats(40, 200), scr=st.floats(0.3, 10))
def test_crcl_decreases_with_age_and_creatinine(age: int, w: float, scr: float) -> None:
    base: dict[str, Any] = {"weight": f"{w!r} kg", "sex": "male"}
    a = mag(calc.creatinine_clearance(age=age, serum_creatinine=f"{scr!r} mg/dL", **base), "mL/min")
    older = mag(calc.creatinine_clearance(age=min(age + 1, 120), serum_creatinine=f"{scr!r} mg/dL", **base), "mL/min")
    higher = mag(calc.creatinine_clearance(age=age, serum_creatinine=f"{scr * 1.1!r} mg/dL", **base), "mL/min")
    assert older < a
    assert higher < a


# -- body size ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "weight", "expected_2dp"),
    [("180 cm", "72 kg", 1.90), ("145 cm", "50 kg", 1.42)],  # GDL2 BSA_Mosteller vectors
)
def test_mosteller_examples(height: str, weight: str, expected_2dp: float) -> None:
    result = calc.bsa_mosteller(height=height, weight=weight)
    h, w = float(height.split()[0]), float(weight.split()[0])
    assert mag(result, "m**2") == pytest.approx(math.sqrt(h * w / 3600), rel=1e-12)
    assert round(mag(result, "m**2"), 2) == expected_2dp


@pytest.mark.parametrize(
    ("w", "h", "expected_2dp"),
    [
        (8, 70, 0.38),
        (11, 84, 0.49),
        (26, 130, 0.98),
        (52, 160, 1.53),
        (57, 164, 1.62),
        (45, 165, 1.47),
        (75, 165, 1.82),
    ],
)
def test_dubois_examples(w: float, h: float, expected_2dp: float) -> None:
    result = calc.bsa_dubois(height=f"{h} cm", weight=f"{w} kg")
    assert mag(result, "m**2") == pytest.approx(0.007184 * w**0.425 * h**0.725, rel=1e-12)
    assert round(mag(result, "m**2"), 2) == expected_2dp
    assert "Du Bois" in result.citation


def test_dubois_imperial_units_equal_metric() -> None:
    metric = calc.bsa_dubois(height="165 cm", weight="75 kg")
    imperial = calc.bsa_dubois(height=f"{165 / 2.54!r} in", weight=f"{75 / LB!r} lb")
    assert mag(imperial, "m**2") == pytest.approx(mag(metric, "m**2"), rel=1e-12)


@pytest.mark.parametrize(
    ("weight", "label"),
    [
        ("63.96 kg", "severe thinness"),  # 15.99 at 200 cm
        ("64 kg", "moderate thinness"),  # 16.00
        ("67.96 kg", "moderate thinness"),  # 16.99
        ("68 kg", "mild thinness"),  # 17.00
        ("73.96 kg", "mild thinness"),  # 18.49
        ("74 kg", "normal range"),  # 18.50
        ("99.96 kg", "normal range"),  # 24.99
        ("100 kg", "pre-obese"),  # 25.00
        ("119.96 kg", "pre-obese"),  # 29.99
        ("120 kg", "obese class I"),  # 30.00
        ("139.96 kg", "obese class I"),  # 34.99
        ("140 kg", "obese class II"),  # 35.00
        ("159.96 kg", "obese class II"),  # 39.99
        ("160 kg", "obese class III"),  # 40.00
    ],
)
def test_bmi_who_bands_at_each_edge(weight: str, label: str) -> None:
    result = calc.bmi(weight=weight, height="200 cm")
    assert f": {label} (" in result.interpretation


def test_bmi_value_and_gap_free_rounding() -> None:
    result = calc.bmi(weight="30 kg", height="150 cm")
    assert mag(result, "kg/m**2") == pytest.approx(30 / 1.5**2)
    assert "13.33" in result.interpretation
    # 16.995 would fall between the GDL's '<= 16.99' and '>= 17'; half-up to 2 dp gives 17.00 -> mild thinness
    assert ": mild thinness (" in calc.bmi(weight="67.98 kg", height="200 cm").interpretation


def test_ibw_devine() -> None:
    assert mag(calc.ibw_devine(height="60 in", sex="female"), "kg") == pytest.approx(45.5)
    assert mag(calc.ibw_devine(height="60 in", sex="male"), "kg") == pytest.approx(50.0)
    assert mag(calc.ibw_devine(height="70 in", sex="female"), "kg") == pytest.approx(68.5)
    assert mag(calc.ibw_devine(height="190 cm", sex="male"), "kg") == pytest.approx(50 + 2.3 * (190 / 2.54 - 60))


def test_ibw_refuses_below_60_inches() -> None:
    with pytest.raises(ng.InputError) as exc:
        calc.ibw_devine(height="59.9 in", sex="female")
    assert field_of(exc) == "height"
    with pytest.raises(ng.InputError) as exc2:
        calc.ibw_devine(height="170 cm", sex="x")  # type: ignore[arg-type]
    assert field_of(exc2) == "sex"


def test_adjusted_body_weight_factor_04() -> None:
    result = calc.adjusted_body_weight(weight="99 kg", height="177 cm", sex="male")
    i = ibw(177, False)
    assert mag(result, "kg") == pytest.approx(i + 0.4 * (99 - i), rel=1e-12)
    assert round(mag(result, "kg")) == 83  # GDL2 vector
    assert "IBW + 0.4 x (TBW-IBW)" in result.citation
    assert "factor 0.4" in result.conventions


def test_adjusted_body_weight_notes_weight_not_above_ibw() -> None:
    result = calc.adjusted_body_weight(weight="60 kg", height="180 cm", sex="male")
    assert "not above IBW" in result.interpretation


@pytest.mark.parametrize(("kwargs", "field"), [({"weight": "0 kg"}, "weight"), ({"factor": 1.5}, "factor")])
def test_adjusted_body_weight_refusals(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"weight": "99 kg", "height": "177 cm", "sex": "male"}
    with pytest.raises(ng.InputError) as exc:
        calc.adjusted_body_weight(**{**base, **kwargs})
    assert field_of(exc) == field


@pytest.mark.parametrize("fn", [calc.bmi, calc.bsa_dubois, calc.bsa_mosteller])
def test_body_size_refuses_zero_weight_and_absurd_height(fn: Any) -> None:
    with pytest.raises(ng.InputError) as exc:
        fn(weight="0 kg", height="170 cm")
    assert field_of(exc) == "weight"
    with pytest.raises(ng.InputError) as exc2:
        fn(weight="70 kg", height="5 m")
    assert field_of(exc2) == "height"
