"""Creatinine clearance (Cockcroft–Gault 1976)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from .._criteria import FactValue
from .._facts import derivation
from ..exceptions import InputError
from ..patient import Patient
from ..units import Quantity, format_quantity, get_registry, magnitude, parse_quantity
from ._result import CalcResult, Step

__all__ = ["cockcroft_gault", "crcl_from_floats"]

CG_CITATION = (
    "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. "
    "Nephron 1976;16(1):31-41. doi:10.1159/000180580"
)


def crcl_from_floats(age: float, weight_kg: float, scr_mg_dl: float, female: bool) -> float:
    """CrCl (mL/min) = (140 - age) x weight / (72 x SCr), x 0.85 if female (floats in, float out)."""
    value = (140.0 - age) * weight_kg / (72.0 * scr_mg_dl)
    return value * 0.85 if female else value


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

    Raises:
        InputError: an implausible or missing input.
    """
    if isinstance(age, bool) or not isinstance(age, int | float) or not 18 <= age <= 120:
        raise InputError("age", age, "an age in years from 18 to 120 (Cockcroft–Gault is for adults)")
    if sex not in ("female", "male"):
        raise InputError("sex", sex, "'female' or 'male'")
    w = magnitude(parse_quantity(weight, "weight", "kg"), "kg", field="weight")
    if not 1 <= w <= 500:
        raise InputError("weight", format_quantity(parse_quantity(weight, "weight")), "a body weight from 1 to 500 kg")
    scr_q = parse_quantity(serum_creatinine, "serum_creatinine")
    scr = magnitude(scr_q, "mg/dL", analyte="creatinine", field="serum_creatinine")
    if not 0.05 <= scr <= 40:
        raise InputError("serum_creatinine", format_quantity(scr_q), "a serum creatinine from 0.05 to 40 mg/dL")
    female = sex == "female"
    raw = (140.0 - age) * w / (72.0 * scr)
    value = crcl_from_floats(age, w, scr, female)
    steps = (
        Step(label="serum creatinine", value=f"{scr:.4g} mg/dL"),
        Step(label="(140 - age) x weight", value=f"(140 - {age:g}) x {w:.4g} = {(140 - age) * w:.6g}"),
        Step(label="/ (72 x SCr)", value=f"/ (72 x {scr:.4g}) = {raw:.6g} mL/min"),
        Step(label="x 0.85 (female)" if female else "male: no factor", value=f"{value:.6g} mL/min"),
    )
    return CalcResult(
        name="cockcroft-gault",
        value=get_registry().Quantity(value, "mL/min"),
        interpretation=f"estimated creatinine clearance {value:.0f} mL/min",
        inputs={
            "age": f"{age:g} year",
            "weight": f"{w:.4g} kg",
            "serum_creatinine": f"{scr:.4g} mg/dL",
            "sex": sex,
        },
        steps=steps,
        citation=CG_CITATION,
        conventions=("weight as given (the 1976 derivation used actual body weight)", "no rounding"),
    )


@derivation("crcl")
def _derive_crcl(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    age, weight, scr, sex = (facts.get(k) for k in ("age", "weight", "serum-creatinine", "sex"))
    if not (isinstance(age, float) and isinstance(weight, float) and isinstance(scr, float)) or sex is None:
        return None
    if age < 18:
        return None
    return crcl_from_floats(age, weight, scr, sex == "female")
