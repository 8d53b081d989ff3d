"""Creatinine clearance (Cockcroft–Gault 1976)."""

from __future__ import annotations

import functools
from typing import Literal

from .._numeric import ceil_whole, round_half_up
from .._plausible import check, span, unit_slip
from ..exceptions import InputError
from ..units import Quantity, format_quantity, in_kind, magnitude, parse_quantity, quantity
from ._body import ABW_FACTOR, bmi_class, ibw_kg
from ._result import CalcResult, Step, lazy_result

__all__ = ["WEIGHT_CONVENTIONS", "cockcroft_gault", "crcl_from_floats", "creatinine_clearance"]

CG_CITATION = (
    "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. "
    "Nephron 1976;16(1):31-41. doi:10.1159/000180580"
)


def crcl_from_floats(age: float, weight_kg: float, scr_mg_dl: float, female: bool) -> float:
    """CrCl (mL/min) = (140 - age) x weight / (72 x SCr), x 0.85 if female (floats in, float out)."""
    value = (140.0 - age) * weight_kg / (72.0 * scr_mg_dl)
    return value * 0.85 if female else value


_ADULT = 18  # Cockcroft-Gault was derived in adults

WeightConvention = Literal["actual", "ideal", "adjusted", "bmi-dependent"]
Rounding = Literal["ceil", "half-up"]

#: The dosing-weight conventions :func:`creatinine_clearance` accepts, and what each means.
WEIGHT_CONVENTIONS: dict[str, str] = {
    "actual": "actual (total) body weight, as in the 1976 derivation ('wt kg')",
    "ideal": "ideal body weight (Devine: 50 or 45.5 kg + 2.3 kg per inch over 60 in)",
    "adjusted": f"adjusted body weight, IBW + {ABW_FACTOR:g} x (actual - IBW)",
    "bmi-dependent": (
        "BMI (2 dp) < 18.50: actual weight; 18.50-24.99: the lesser of IBW and actual; >= 25.00: adjusted weight "
        "(a common calculator convention; no primary source for it was verified)"
    ),
}


def _check_age(age: object) -> float:
    if (type(age) is int or type(age) is float) and _ADULT <= age <= _age_high():
        return float(age)
    hi = _age_high()
    if isinstance(age, bool) or not isinstance(age, int | float) or not _ADULT <= age <= hi:
        raise InputError("age", age, f"an age in years from {_ADULT} to {hi:g} (Cockcroft-Gault is for adults)")
    return float(age)


@functools.cache
def _age_high() -> float:
    return span("age").high


def _check_sex(sex: object) -> Literal["female", "male"]:
    if sex == "female":
        return "female"
    if sex == "male":
        return "male"
    raise InputError("sex", sex, "'female' or 'male'")


# The checks below are pure functions of their input; a unit string's answer is kept (an error is
# not), so a repeated string such as "70 kg" costs a dictionary look-up.


def _check_weight(weight: Quantity | str) -> float:
    return _weight_text(weight) if type(weight) is str else _weight(weight)


def _weight(weight: Quantity | str) -> float:
    q = parse_quantity(weight, "weight", "kg")
    w = magnitude(q, "kg", field="weight")
    return check("weight", w, "weight", format_quantity(q), "a body weight")


_weight_text = functools.lru_cache(maxsize=1024)(_weight)


def _check_scr(serum_creatinine: Quantity | str) -> float:
    return _scr_text(serum_creatinine) if type(serum_creatinine) is str else _scr(serum_creatinine)


def _scr(serum_creatinine: Quantity | str) -> float:
    q = parse_quantity(serum_creatinine, "serum_creatinine")
    scr = magnitude(q, "mg/dL", analyte="creatinine", field="serum_creatinine")
    return check("serum-creatinine", scr, "serum_creatinine", format_quantity(q), "a serum creatinine")


_scr_text = functools.lru_cache(maxsize=1024)(_scr)


def scr_flags(serum_creatinine: Quantity | str) -> tuple[str, ...]:
    """A flag when the creatinine is far likelier in the other unit than labelled (35 "mg/dL" = 35 umol/L)."""
    if type(serum_creatinine) is str:
        return _scr_flags_text(serum_creatinine)
    return _scr_flags(serum_creatinine)


def _scr_flags(serum_creatinine: Quantity | str) -> tuple[str, ...]:
    q = parse_quantity(serum_creatinine, "serum_creatinine")
    why = unit_slip("serum-creatinine", functools.partial(in_kind, q))
    return (f"PROBABLE UNIT ERROR: serum_creatinine {format_quantity(q)}: {why}",) if why else ()


_scr_flags_text = functools.lru_cache(maxsize=1024)(_scr_flags)


def _cg_steps(age: float, w: float, scr: float, female: bool, value: float) -> tuple[Step, ...]:
    raw = (140.0 - age) * w / (72.0 * scr)
    return (
        Step(label="serum creatinine", value=f"{scr:.4g} mg/dL"),
        Step(label="(140 - age) x weight", value=f"(140 - {age:g}) x {w:.4g} = {(140 - age) * w:.6g}"),
        Step(label="/ (72 x SCr)", value=f"/ (72 x {scr:.4g}) = {raw:.6g} mL/min"),
        Step(label="x 0.85 (female)" if female else "male: no factor", value=f"{value:.6g} mL/min"),
    )


def cockcroft_gault(
    *,
    age: float,
    weight: Quantity | str,
    serum_creatinine: Quantity | str,
    sex: Literal["female", "male"],
) -> CalcResult:
    """Estimate creatinine clearance by Cockcroft–Gault with the weight given.

    Args:
        age: years (18-120; the equation was derived in adults aged 18-92).
        weight: body weight (the weight convention is the caller's; see
            :func:`neuroguide.calculators.creatinine_clearance` for named ones).
        serum_creatinine: in mg/dL or umol/L (converted through creatinine's molar mass).
        sex: ``"female"`` applies the factor 0.85.

    Returns:
        CrCl in mL/min, unrounded.

    Raises:
        InputError: an implausible or missing input.

    """
    a = _check_age(age)
    sx = _check_sex(sex)
    w = _check_weight(weight)
    scr = _check_scr(serum_creatinine)
    flags = scr_flags(serum_creatinine)
    female = sx == "female"
    value = crcl_from_floats(a, w, scr, female)

    def text() -> tuple[str, dict[str, str], tuple[Step, ...]]:
        warning = f"{flags[0]}; " if flags else ""
        return (
            f"{warning}estimated creatinine clearance {value:.1f} mL/min",
            {"age": f"{a:g} year", "weight": f"{w:.4g} kg", "serum_creatinine": f"{scr:.4g} mg/dL", "sex": sx},
            _cg_steps(a, w, scr, female, value),
        )

    return lazy_result("cockcroft-gault", quantity(value, "mL/min"), CG_CITATION, _CG_CONVENTIONS, flags, text)


_CG_CONVENTIONS = ("weight as given (the 1976 derivation used actual body weight)", "no rounding")


def _round_crcl(value: float, rounding: Rounding | None) -> float:
    if rounding is None:
        return value
    # Noise removed first, so 68.00000000000001 is not ceiled to 69.
    return float(ceil_whole(value)) if rounding == "ceil" else float(round_half_up(value, 0))


def _height(height: Quantity | str) -> tuple[float, str]:
    """Height in cm and as shown in messages; refused outside 30-260 cm."""
    if type(height) is str:
        return _height_text(height)
    return _height_checked(height)


def _height_checked(height: Quantity | str) -> tuple[float, str]:
    hq = parse_quantity(height, "height", "cm")
    h = magnitude(hq, "cm", field="height")
    if not 30.0 <= h <= 260.0:
        raise InputError("height", format_quantity(hq), "a height from 30 to 260 cm")
    return h, format_quantity(hq)


_height_text = functools.lru_cache(maxsize=1024)(_height_checked)


def _dosing_weight(
    convention: str,
    actual: float,
    height: tuple[float, str] | None,
    sex: Literal["female", "male"],
    steps: list[Step] | None = None,
) -> float:
    """The dosing weight in kg; with ``steps``, also the steps that explain it."""
    if convention == "actual":
        if steps is not None:
            steps.append(Step(label="dosing weight: actual", value=f"{actual:.4g} kg"))
        return actual
    if height is None:
        raise InputError("height", None, f"a height: weight_convention={convention!r} needs it")
    h, shown = height

    def ibw() -> float:
        if h < 152.4:
            raise InputError(
                "height",
                shown,
                f"a height of at least 60 in (152.4 cm): weight_convention={convention!r} needs Devine IBW, "
                "which is not defined below 60 in",
            )
        value = ibw_kg(h, sex)
        if steps is not None:
            steps.append(Step(label="IBW (Devine)", value=f"{value:.4f} kg"))
        return value

    if convention == "ideal":
        w = ibw()
        if steps is not None:
            steps.append(Step(label="dosing weight: IBW", value=f"{w:.4g} kg"))
        return w
    if convention == "adjusted":
        i = ibw()
        w = i + ABW_FACTOR * (actual - i)
        if steps is not None:
            steps.append(Step(label=f"dosing weight: IBW + {ABW_FACTOR:g} x (actual - IBW)", value=f"{w:.4f} kg"))
        return w
    # bmi-dependent
    bmi = actual / (h / 100.0) ** 2
    # Bands are read on the 2-dp value, as the WHO table prints them (and as calculators.bmi does).
    bmi2 = float(round_half_up(bmi, 2))
    if steps is not None:
        steps.append(Step(label="BMI (2 dp, half-up)", value=f"{bmi2:.2f} kg/m2 ({bmi_class(bmi2)})"))
    if bmi2 < 18.5:
        if steps is not None:
            steps.append(Step(label="dosing weight: actual (BMI < 18.5)", value=f"{actual:.4g} kg"))
        return actual
    i = ibw()
    if bmi2 < 25.0:
        w = min(i, actual)
        if steps is not None:
            steps.append(Step(label="dosing weight: lesser of IBW and actual (BMI 18.5-24.99)", value=f"{w:.4g} kg"))
        return w
    w = i + ABW_FACTOR * (actual - i)
    if steps is not None:
        steps.append(Step(label="dosing weight: adjusted (BMI >= 25)", value=f"{w:.4f} kg"))
    return w


def creatinine_clearance(
    *,
    age: float,
    weight: Quantity | str,
    serum_creatinine: Quantity | str,
    sex: Literal["female", "male"],
    height: Quantity | str | None = None,
    weight_convention: WeightConvention = "actual",
    rounding: Rounding | None = None,
) -> CalcResult:
    """Creatinine clearance (Cockcroft–Gault 1976) with a named weight convention and rounding.

    CrCl (mL/min) = (140 - age) x weight / (72 x SCr mg/dL), x 0.85 if female.
    Which weight to use in obesity, and how to round, differ between
    institutions and test decks; both are explicit parameters here and are
    recorded in the result's ``conventions``.

    Args:
        age: years, 18-120 (derivation population aged 18-92).
        weight: actual body weight, 1-500 kg (any mass unit).
        serum_creatinine: mg/dL or umol/L (converted through creatinine's declared molar mass).
        sex: ``"female"`` (x 0.85) or ``"male"``.
        height: needed for every convention except ``"actual"``.
        weight_convention: one of :data:`WEIGHT_CONVENTIONS`: ``"actual"`` (default,
            as derived), ``"ideal"``, ``"adjusted"`` or ``"bmi-dependent"``.
        rounding: ``None`` (unrounded), ``"ceil"`` (whole mL/min rounded up, as
            the openEHR GDL2 deck does) or ``"half-up"`` (whole mL/min, Decimal half-up).

    Returns:
        CrCl in mL/min.

    Raises:
        InputError: an implausible or missing input, an unknown convention, or a
            height missing (or below 60 in) where the convention needs IBW.

    """
    if not isinstance(weight_convention, str) or weight_convention not in WEIGHT_CONVENTIONS:
        raise InputError("weight_convention", weight_convention, f"one of {sorted(WEIGHT_CONVENTIONS)}")
    if rounding not in (None, "ceil", "half-up"):
        raise InputError("rounding", rounding, "None, 'ceil' or 'half-up'")
    a = _check_age(age)
    sx = _check_sex(sex)
    actual = _check_weight(weight)
    scr = _check_scr(serum_creatinine)
    hgt = _height(height) if height is not None else None
    w = _dosing_weight(weight_convention, actual, hgt, sx)
    female = sx == "female"
    exact = crcl_from_floats(a, w, scr, female)
    value = _round_crcl(exact, rounding)

    def text() -> tuple[str, dict[str, str], tuple[Step, ...]]:
        weight_steps: list[Step] = []
        _dosing_weight(weight_convention, actual, hgt, sx, weight_steps)
        steps = (*weight_steps, *_cg_steps(a, w, scr, female, exact))
        if rounding is not None:
            steps = (*steps, Step(label=f"rounded ({rounding}) to whole mL/min", value=f"{value:g} mL/min"))
        inputs = {
            "age": f"{a:g} year",
            "weight": f"{actual:.4g} kg",
            "serum_creatinine": f"{scr:.4g} mg/dL",
            "sex": sx,
            "weight_convention": weight_convention,
            "dosing_weight": f"{w:.4g} kg",
            "rounding": rounding or "none",
        }
        if hgt is not None:
            inputs["height"] = f"{hgt[0]:.1f} cm"
        interpretation = (
            f"estimated creatinine clearance {value:.1f} mL/min (Cockcroft-Gault, {weight_convention} weight"
            f"{'' if rounding is None else ', rounded ' + rounding})"
        )
        return interpretation, inputs, steps

    conventions = _cc_conventions(weight_convention, rounding)
    return lazy_result("creatinine-clearance", quantity(value, "mL/min"), CG_CITATION, conventions, (), text)


@functools.lru_cache(maxsize=32)
def _cc_conventions(weight_convention: str, rounding: str | None) -> tuple[str, ...]:
    return (
        f"weight_convention={weight_convention}: {WEIGHT_CONVENTIONS[weight_convention]}",
        "rounding=none" if rounding is None else f"rounding={rounding} to whole mL/min",
        "SCr umol/L -> mg/dL through creatinine's molar mass 113.12 g/mol (88.4 umol/L per mg/dL)",
    )
