"""Body size: body-surface area (Mosteller, Du Bois), BMI, ideal and adjusted body weight.

Each function checks its inputs once (pint at the boundary), then runs on
floats. Sources and their verification level are written in each citation,
as recorded in the project's research notes (``research/calculators.md``).
"""

from __future__ import annotations

import functools
import math
from typing import Literal

from .._numeric import round_half_up
from .._plausible import check, span
from ..exceptions import InputError
from ..units import Quantity, format_quantity, magnitude, parse_quantity, quantity
from ._result import CalcResult, Step, lazy_result

__all__ = [
    "ABW_FACTOR",
    "BMI_CLASSES",
    "adjusted_body_weight",
    "bmi",
    "bmi_class",
    "bsa_dubois",
    "bsa_mosteller",
    "ibw_devine",
    "ibw_kg",
]

MOSTELLER_CITATION = "Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317(17):1098."
DUBOIS_CITATION = (
    "Du Bois D, Du Bois EF. Clinical calorimetry. Tenth paper. A formula to estimate the approximate surface area "
    "if height and weight be known. Arch Intern Med 1916;17:863-871 (title and authors checked in a copy of the "
    "paper; constant 0.007184 and exponents secondary, via GlobalRPh and PMC7808064 table 2)."
)
BMI_CITATION = (
    "World Health Organization. What is overweight and obesity? (BMI 'defined as the weight in kilograms divided "
    "by the square of the height in meters (kg/m2)'; primary). Classification: WHO global database on BMI, "
    "'Adapted from WHO, 1995, WHO, 2000 and WHO 2004' (cut-off table secondary, verbatim reproductions)."
)
DEVINE_CITATION = (
    "Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655 (original not seen; formula secondary via "
    "the Cambio GDL Ideal_Body_Weight_Adjusted_Body_Weight.v0 and ClinCalc)."
)
ABW_CITATION = (
    "Ross AL et al. Evaluation of extended interval dosing aminoglycosides in the morbidly obese population. "
    "Adv Pharmacol Sci 2013;2013:194389. doi:10.1155/2013/194389: 'a 40% dosing weight correction factor "
    "(IBW + 0.4 x (TBW-IBW))' (primary abstract); Traynor AM et al. Antimicrob Agents Chemother "
    "1995;39(2):545-548. The first publication of the factor 0.4 is unverified."
)

#: Adjusted-body-weight factor: IBW + 0.4 x (actual - IBW) (Ross 2013; Traynor 1995 fitted 0.43).
ABW_FACTOR = 0.4

_CM_PER_IN = 2.54  # exact by definition (1959 international inch)
_DEVINE_MIN_IN = 60.0  # the formula is defined from 60 in (5 ft) upwards

#: WHO adult BMI classes: (label, lower bound inclusive, upper bound inclusive or None), on the 2-dp value.
BMI_CLASSES: tuple[tuple[str, float | None, float | None], ...] = (
    ("severe thinness", None, 15.99),
    ("moderate thinness", 16.00, 16.99),
    ("mild thinness", 17.00, 18.49),
    ("normal range", 18.50, 24.99),
    ("pre-obese", 25.00, 29.99),
    ("obese class I", 30.00, 34.99),
    ("obese class II", 35.00, 39.99),
    ("obese class III", 40.00, None),
)


def _height_cm(height: Quantity | str, *, low: float | None = None, what: str | None = None) -> float:
    if type(height) is str:
        return _height_text(height, low, what)
    return _read_height(height, low, what)


def _read_height(height: Quantity | str, low: float | None, what: str | None) -> float:
    q = parse_quantity(height, "height", "cm")
    h = magnitude(q, "cm", field="height")
    s = span("height")
    if not s.contains(h) or (low is not None and h < low):
        raise InputError("height", format_quantity(q), what or s.describe("a height"))
    return h


def _weight_kg(weight: Quantity | str, field: str = "weight") -> float:
    if type(weight) is str:
        return _weight_text(weight, field)
    return _read_weight(weight, field)


def _read_weight(weight: Quantity | str, field: str) -> float:
    q = parse_quantity(weight, field, "kg")
    w = magnitude(q, "kg", field=field)
    check("weight", w, field, format_quantity(q), "a body weight")
    return w


# Pure functions of the text: a unit string's reading is kept (an error is not).
_height_text = functools.lru_cache(maxsize=1024)(_read_height)
_weight_text = functools.lru_cache(maxsize=1024)(_read_weight)


def _sex(sex: object) -> Literal["female", "male"]:
    if sex == "female":
        return "female"
    if sex == "male":
        return "male"
    raise InputError("sex", sex, "'female' or 'male'")


def bsa_mosteller(*, height: Quantity | str, weight: Quantity | str) -> CalcResult:
    """Body-surface area (m2) = sqrt(height cm x weight kg / 3600) (Mosteller 1987).

    Args:
        height: body height (any length unit; 30-260 cm).
        weight: body weight (any mass unit; 0.5-500 kg).

    Returns:
        The BSA in m2, unrounded.

    Raises:
        InputError: height or weight missing, of the wrong dimension, or implausible.

    """
    h = _height_cm(height)
    w = _weight_kg(weight)
    value = math.sqrt(h * w / 3600.0)

    def text() -> tuple[str, dict[str, str], tuple[Step, ...]]:
        return (
            f"body-surface area {value:.2f} m2",
            {"height": f"{h:.4g} cm", "weight": f"{w:.4g} kg"},
            (
                Step(label="height x weight / 3600", value=f"{h:.4g} x {w:.4g} / 3600 = {h * w / 3600:.6g}"),
                Step(label="square root", value=f"{value:.6g} m2"),
            ),
        )

    return lazy_result("bsa-mosteller", quantity(value, "m**2"), MOSTELLER_CITATION, _NO_ROUNDING, (), text)


_NO_ROUNDING = ("no rounding (round for display only)",)


def bsa_dubois(*, height: Quantity | str, weight: Quantity | str) -> CalcResult:
    """Body-surface area (m2) = 0.007184 x weight(kg)^0.425 x height(cm)^0.725 (Du Bois 1916).

    Args:
        height: body height (any length unit; 30-260 cm).
        weight: body weight (any mass unit; 0.5-500 kg).

    Returns:
        The BSA in m2, unrounded.

    Raises:
        InputError: height or weight missing, of the wrong dimension, or implausible.

    """
    h = _height_cm(height)
    w = _weight_kg(weight)
    wpow = w**0.425
    hpow = h**0.725
    value = 0.007184 * wpow * hpow
    return CalcResult(
        name="bsa-dubois",
        value=quantity(value, "m**2"),
        interpretation=f"body-surface area {value:.2f} m2",
        inputs={"height": f"{h:.4g} cm", "weight": f"{w:.4g} kg"},
        steps=(
            Step(label="weight^0.425", value=f"{w:.4g}^0.425 = {wpow:.6g}"),
            Step(label="height^0.725", value=f"{h:.4g}^0.725 = {hpow:.6g}"),
            Step(label="x 0.007184", value=f"{value:.6g} m2"),
        ),
        citation=DUBOIS_CITATION,
        conventions=("no rounding (round for display only)",),
    )


def bmi_class(value_2dp: float) -> str:
    """Return the WHO adult class of a BMI already rounded half-up to 2 decimals."""
    for label, low, high in BMI_CLASSES:
        if (low is None or value_2dp >= low) and (high is None or value_2dp <= high):
            return label
    raise AssertionError(f"BMI {value_2dp} matched no class")  # pragma: no cover - the bands tile the 2-dp line


def bmi(*, weight: Quantity | str, height: Quantity | str) -> CalcResult:
    """Body-mass index (kg/m2) with its WHO adult class.

    The WHO table prints closed 2-decimal bands (16.00-16.99, 17.00-18.49 ...),
    so the class is taken from the value rounded half-up to 2 decimals; the
    returned value is unrounded.

    Args:
        weight: body weight (any mass unit; 0.5-500 kg).
        height: body height (any length unit; 30-260 cm).

    Returns:
        BMI in kg/m2; the interpretation names the WHO adult class.

    Raises:
        InputError: weight or height missing, of the wrong dimension, or implausible.

    """
    w = _weight_kg(weight)
    h = _height_cm(height)
    m = h / 100.0
    value = w / (m * m)
    shown = float(round_half_up(value, 2))
    label = bmi_class(shown)
    return CalcResult(
        name="bmi",
        value=quantity(value, "kg/m**2"),
        interpretation=f"BMI {shown:.2f} kg/m2: {label} (WHO adult classification; not for children)",
        inputs={"weight": f"{w:.4g} kg", "height": f"{h:.4g} cm"},
        steps=(
            Step(label="height in m, squared", value=f"{m:.4g}^2 = {m * m:.6g} m2"),
            Step(label="weight / height^2", value=f"{w:.4g} / {m * m:.6g} = {value:.6g} kg/m2"),
            Step(label="rounded half-up to 2 dp for the WHO table", value=f"{shown:.2f} -> {label}"),
        ),
        citation=BMI_CITATION,
        conventions=("class from the value rounded half-up to 2 dp (the WHO bands are closed at 2 dp)",),
    )


def ibw_kg(height_cm: float, sex: Literal["female", "male"]) -> float:
    """Devine IBW in kg from height in cm (floats in, float out; no range check)."""
    base = 50.0 if sex == "male" else 45.5
    return base + 2.3 * (height_cm / _CM_PER_IN - _DEVINE_MIN_IN)


def _ibw_height(height: Quantity | str) -> float:
    return _height_cm(
        height,
        low=_DEVINE_MIN_IN * _CM_PER_IN,
        what="a height from 60 in (152.4 cm) to 260 cm (the Devine formula is defined from 60 in upwards)",
    )


def ibw_devine(*, height: Quantity | str, sex: Literal["female", "male"]) -> CalcResult:
    """Ideal body weight (kg) = 50 (male) or 45.5 (female) + 2.3 x (height in inches - 60) (Devine 1974).

    Args:
        height: body height (any length unit), at least 60 in (152.4 cm): the
            formula is not defined below 60 in, and we refuse rather than extrapolate.
        sex: ``"female"`` or ``"male"``.

    Returns:
        IBW in kg, unrounded (1 in = 2.54 cm exactly).

    Raises:
        InputError: height below 60 in or implausible, or sex not given.

    """
    sx = _sex(sex)
    h = _ibw_height(height)
    inches = h / _CM_PER_IN
    base = 50.0 if sx == "male" else 45.5
    value = ibw_kg(h, sx)
    return CalcResult(
        name="ibw-devine",
        value=quantity(value, "kg"),
        interpretation=f"ideal body weight {value:.1f} kg",
        inputs={"height": f"{h:.4g} cm", "sex": sx},
        steps=(
            Step(label="height in inches", value=f"{h:.4g} cm / 2.54 = {inches:.4f} in"),
            Step(label=f"{base:g} + 2.3 x (in - 60)", value=f"{base:g} + 2.3 x {inches - 60:.4f} = {value:.4f} kg"),
        ),
        citation=DEVINE_CITATION,
        conventions=("1 in = 2.54 cm exactly", "refused below 60 in (no extrapolation)", "no rounding"),
    )


def adjusted_body_weight(
    *,
    weight: Quantity | str,
    height: Quantity | str,
    sex: Literal["female", "male"],
    factor: float = ABW_FACTOR,
) -> CalcResult:
    """Adjusted body weight (kg) = IBW + 0.4 x (actual weight - IBW), with Devine IBW.

    Args:
        weight: actual (total) body weight, 0.5-500 kg.
        height: body height, at least 60 in (see :func:`ibw_devine`).
        sex: ``"female"`` or ``"male"``.
        factor: the correction factor; 0.4 is the convention quoted by Ross 2013
            (Traynor 1995 fitted 0.43). Must lie in [0, 1].

    Returns:
        ABW in kg, unrounded. The formula is applied as written whatever the
        ratio of actual weight to IBW (published trigger thresholds such as
        ">120% of IBW" are unverified, so none is applied); the interpretation
        says when actual weight is not above IBW.

    Raises:
        InputError: an implausible input or a factor outside [0, 1].

    """
    sx = _sex(sex)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0.0 <= factor <= 1.0:
        raise InputError("factor", factor, "a correction factor from 0 to 1 (convention 0.4)")
    w = _weight_kg(weight)
    h = _ibw_height(height)
    ibw = ibw_kg(h, sx)
    value = ibw + factor * (w - ibw)
    pct = 100.0 * w / ibw
    note = (
        f"adjusted body weight {value:.1f} kg (actual {w:.1f} kg is {pct:.0f}% of IBW {ibw:.1f} kg)"
        if w > ibw
        else f"adjusted body weight {value:.1f} kg; actual weight {w:.1f} kg is not above IBW {ibw:.1f} kg, "
        "so the adjustment (meant for weight above IBW) is not usually applied"
    )
    return CalcResult(
        name="adjusted-body-weight",
        value=quantity(value, "kg"),
        interpretation=note,
        inputs={"weight": f"{w:.4g} kg", "height": f"{h:.4g} cm", "sex": sx, "factor": f"{factor:g}"},
        steps=(
            Step(label="IBW (Devine)", value=f"{ibw:.4f} kg"),
            Step(label="actual / IBW", value=f"{w:.4g} / {ibw:.4f} = {pct:.2f}%"),
            Step(
                label=f"IBW + {factor:g} x (actual - IBW)",
                value=f"{ibw:.4f} + {factor:g} x {w - ibw:.4f} = {value:.4f} kg",
            ),
        ),
        citation=ABW_CITATION + " IBW: " + DEVINE_CITATION,
        conventions=(f"factor {factor:g}", "no trigger threshold applied", "no rounding"),
    )
