"""Laboratory conversions: HbA1c NGSP <-> IFCC, estimated average glucose, and molar-mass conversions.

Every conversion states its constant and its rounding policy. Rounding is
``Decimal`` half-up to the precision the source tables print, after removing
binary float noise, so published anchor pairs are reproduced exactly
(6.5 % = 48 mmol/mol; A1C 6 % = eAG 126 mg/dL = 7.0 mmol/L).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Literal

from .._numeric import clean, round_half_up
from .._plausible import span, unit_slip
from ..exceptions import InputError
from ..units import (
    ANALYTES,
    Quantity,
    base_names,
    convert,
    format_quantity,
    hba1c_ifcc_to_ngsp,
    hba1c_ngsp_to_ifcc,
    in_kind,
    magnitude,
    parse_quantity,
    quantity,
)
from ._result import CalcResult, Step

__all__ = [
    "a1c_from_eag",
    "b12_convert",
    "creatinine_convert",
    "eag",
    "glucose_convert",
    "hba1c_to_ifcc",
    "hba1c_to_ngsp",
]

MASTER_EQUATION_CITATION = (
    "Hoelzel W, Weykamp C, Jeppsson JO, et al. IFCC reference system for measurement of hemoglobin A1c in human "
    "blood and the national standardization schemes in the United States, Japan, and Sweden. Clin Chem "
    "2004;50(1):166-174; master equation as printed by the IFCC network: 'NGSP = 0.0915*IFCC + 2.15 %' and "
    "'IFCC = 10.93*NGSP - 23.5 mmol/mol' (primary)."
)
ADAG_CITATION = (
    "Nathan DM, Kuenen J, Borg R, et al.; ADAG Study Group. Translating the A1C assay into estimated average "
    "glucose values. Diabetes Care 2008;31(8):1473-1478. doi:10.2337/dc08-0545: 'AGmg/dl = 28.7 x A1C - 46.7' "
    "(primary); table values (secondary) reproduced by rounding half-up, mmol/L = mg/dL / 18."
)
MOLAR_MASS_NOTE = (
    "Molar mass declared in neuroguide.units.ANALYTES (secondary: Merck Index / Wikipedia-derived reproductions; "
    "the PubChem pages were not seen)."
)

# Plausible ranges, so a value in the wrong unit (HbA1c 48 given as %) is reported, not converted.
# The conversions' own domain, narrower than the plausible span of an HbA1c input (3-20 % keeps the
# IFCC value positive through the master equation).
_NGSP_RANGE = (3.0, 20.0)  # %
_IFCC_RANGE = (9.0, 195.0)  # mmol/mol, the same span through the master equation

_D18 = Decimal(18)  # mg/dL per mmol/L in the ADAG table (not 18.016: that gives 13.3 at A1C 10 %, not 13.4)
_ADAG_SLOPE = Decimal("28.7")
_ADAG_INTERCEPT = Decimal("46.7")


def _dec(value: float) -> Decimal:
    return clean(value)


def _check_places(places: object) -> int:
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 6:
        raise InputError("places", places, "a whole number of decimals from 0 to 6")
    return places


def _ngsp_percent(hba1c: Quantity | str, field: str = "hba1c") -> tuple[Decimal, str]:
    q = parse_quantity(hba1c, field)
    if "mole" in base_names(q):
        ifcc = _dec(float(convert(q, "mmol/mol", field=field).magnitude))
        lo, hi = _IFCC_RANGE
        if not lo <= ifcc <= hi:
            raise InputError(field, format_quantity(q), f"an HbA1c from {lo:g} to {hi:g} mmol/mol (IFCC)")
        return hba1c_ifcc_to_ngsp(ifcc), format_quantity(q)
    pct = _dec(float(convert(q, "%", field=field).magnitude))
    lo, hi = _NGSP_RANGE
    if not lo <= pct <= hi:
        raise InputError(field, format_quantity(q), f"an HbA1c from {lo:g} to {hi:g} % (NGSP/DCCT)")
    return pct, format_quantity(q)


def hba1c_to_ifcc(hba1c: Quantity | str, *, places: int = 0) -> CalcResult:
    """HbA1c NGSP % -> IFCC mmol/mol by the master equation IFCC = 10.93 x NGSP - 23.5.

    Args:
        hba1c: HbA1c in % (NGSP/DCCT), 3-20 %.
        places: decimals kept, rounded half-up (IFCC results are reported in whole mmol/mol).

    Returns:
        HbA1c in mmol/mol. 6.5 % -> 48 mmol/mol, 7.0 % -> 53 mmol/mol.

    Raises:
        InputError: not a percentage (mmol/mol is refused: it is already IFCC), or implausible.

    """
    p = _check_places(places)
    q = parse_quantity(hba1c, "hba1c")
    pct = _dec(float(convert(q, "%", field="hba1c").magnitude))
    lo, hi = _NGSP_RANGE
    if not lo <= pct <= hi:
        raise InputError("hba1c", format_quantity(q), f"an HbA1c from {lo:g} to {hi:g} % (NGSP/DCCT)")
    exact = hba1c_ngsp_to_ifcc(pct)
    value = round_half_up(exact, p)
    return CalcResult(
        name="hba1c-to-ifcc",
        value=quantity(float(value), "mmol/mol"),
        interpretation=f"HbA1c {pct} % (NGSP) = {value} mmol/mol (IFCC)",
        inputs={"hba1c": f"{pct} %"},
        steps=(
            Step(label="10.93 x NGSP - 23.5", value=f"10.93 x {pct} - 23.5 = {exact} mmol/mol"),
            Step(label=f"rounded half-up to {p} dp", value=f"{value} mmol/mol"),
        ),
        citation=MASTER_EQUATION_CITATION,
        conventions=("IFCC network coefficients (10.93, -23.5)", f"Decimal half-up to {p} dp"),
    )


def hba1c_to_ngsp(hba1c: Quantity | str, *, places: int = 1) -> CalcResult:
    """HbA1c IFCC mmol/mol -> NGSP % by the master equation NGSP = 0.0915 x IFCC + 2.15.

    Args:
        hba1c: HbA1c in mmol/mol (IFCC), 9-195 mmol/mol.
        places: decimals kept, rounded half-up (NGSP % is reported to 1 dp).

    Returns:
        HbA1c in %. 48 mmol/mol -> 6.5 %, 53 mmol/mol -> 7.0 %.

    Raises:
        InputError: not mmol/mol (a % value is refused: it is already NGSP), or implausible.

    """
    p = _check_places(places)
    q = parse_quantity(hba1c, "hba1c")
    ifcc = _dec(float(convert(q, "mmol/mol", field="hba1c").magnitude))
    lo, hi = _IFCC_RANGE
    if not lo <= ifcc <= hi:
        raise InputError("hba1c", format_quantity(q), f"an HbA1c from {lo:g} to {hi:g} mmol/mol (IFCC)")
    exact = hba1c_ifcc_to_ngsp(ifcc)
    value = round_half_up(exact, p)
    return CalcResult(
        name="hba1c-to-ngsp",
        value=quantity(float(value), "%"),
        interpretation=f"HbA1c {ifcc} mmol/mol (IFCC) = {value} % (NGSP)",
        inputs={"hba1c": f"{ifcc} mmol/mol"},
        steps=(
            Step(label="0.0915 x IFCC + 2.15", value=f"0.0915 x {ifcc} + 2.15 = {exact} %"),
            Step(label=f"rounded half-up to {p} dp", value=f"{value} %"),
        ),
        citation=MASTER_EQUATION_CITATION,
        conventions=("IFCC network coefficients (0.0915, 2.15)", f"Decimal half-up to {p} dp"),
    )


def eag(
    hba1c: Quantity | str,
    *,
    unit: Literal["mg/dL", "mmol/L"] = "mg/dL",
    places: int | None = None,
) -> CalcResult:
    """Estimated average glucose (ADAG): eAG mg/dL = 28.7 x A1C % - 46.7; mmol/L = that / 18.

    Args:
        hba1c: HbA1c in % (NGSP), or in mmol/mol (IFCC; converted to % by the
            unrounded master equation first).
        unit: ``"mg/dL"`` or ``"mmol/L"``.
        places: decimals kept, Decimal half-up. Default: 0 for mg/dL and 1 for
            mmol/L, which reproduces the ADAG table (6 % -> 126 mg/dL, 7.0 mmol/L;
            10 % -> 240 mg/dL, 13.4 mmol/L).

    Returns:
        eAG in the unit asked for.

    Raises:
        InputError: an HbA1c that is not % or mmol/mol, implausible, or an unknown unit.

    """
    if unit not in ("mg/dL", "mmol/L"):
        raise InputError("unit", unit, "'mg/dL' or 'mmol/L'")
    p = _check_places(places if places is not None else (0 if unit == "mg/dL" else 1))
    pct, given = _ngsp_percent(hba1c)
    mg = _ADAG_SLOPE * pct - _ADAG_INTERCEPT
    exact = mg if unit == "mg/dL" else mg / _D18
    value = round_half_up(exact, p)
    steps = [Step(label="28.7 x A1C - 46.7", value=f"28.7 x {pct.normalize()} - 46.7 = {mg} mg/dL")]
    if unit == "mmol/L":
        steps.append(Step(label="/ 18 (as the ADAG table)", value=f"{exact:.6f} mmol/L"))
    steps.append(Step(label=f"rounded half-up to {p} dp", value=f"{value} {unit}"))
    if given.endswith("mmol/mol"):
        steps.insert(0, Step(label="IFCC -> NGSP: 0.0915 x IFCC + 2.15", value=f"{pct} %"))
    return CalcResult(
        name="eag-adag",
        value=quantity(float(value), unit),
        interpretation=f"estimated average glucose {value} {unit} for HbA1c {given}",
        inputs={"hba1c": given, "hba1c_ngsp": f"{pct.normalize()} %", "unit": unit},
        steps=tuple(steps),
        citation=ADAG_CITATION + (" IFCC -> NGSP: " + MASTER_EQUATION_CITATION if given.endswith("mmol/mol") else ""),
        conventions=(f"Decimal half-up to {p} dp", "mmol/L = mg/dL / 18 (ADAG table), not the molar-mass 18.016"),
    )


def a1c_from_eag(glucose: Quantity | str, *, places: int = 1) -> CalcResult:
    """A1C % = (average glucose mg/dL + 46.7) / 28.7: the algebraic inverse of the ADAG line.

    Inverting the regression of glucose on A1C is not a regression of A1C on
    glucose; this is offered because decks (openEHR GDL2 A1C_calculator) use it,
    and the interpretation says it is not a validated estimate.

    Args:
        glucose: mean glucose in mg/dL or mmol/L (glucose's declared molar mass), 10-2000 mg/dL.
        places: decimals kept, Decimal half-up (default 1).

    Returns:
        A1C in %.

    Raises:
        InputError: not a glucose concentration, or implausible.

    """
    p = _check_places(places)
    q = parse_quantity(glucose, "glucose")
    mg = _dec(float(convert(q, "mg/dL", analyte="glucose", field="glucose").magnitude))
    lo, hi = _span_in("glucose", "mg/dL")
    if not lo <= mg <= hi:
        raise InputError("glucose", format_quantity(q), f"a glucose from {lo:g} to {hi:g} mg/dL")
    exact = (mg + _ADAG_INTERCEPT) / _ADAG_SLOPE
    value = round_half_up(exact, p)
    why = unit_slip("glucose", functools.partial(in_kind, q))
    flags = (f"PROBABLE UNIT ERROR: glucose {format_quantity(q)}: {why}",) if why else ()
    return CalcResult(
        name="a1c-from-eag",
        value=quantity(float(value), "%"),
        flags=flags,
        interpretation=("; ".join(flags) + "; " if flags else "")
        + (
            f"A1C {value} % corresponds to mean glucose {mg.normalize()} mg/dL on the ADAG line "
            "(algebraic inverse; not a validated estimate of A1C)"
        ),
        inputs={"glucose": f"{mg.normalize()} mg/dL"},
        steps=(
            Step(label="(glucose + 46.7) / 28.7", value=f"({mg.normalize()} + 46.7) / 28.7 = {exact:.6f} %"),
            Step(label=f"rounded half-up to {p} dp", value=f"{value} %"),
        ),
        citation=ADAG_CITATION,
        conventions=("inverse of the ADAG regression line", f"Decimal half-up to {p} dp"),
    )


def _analyte_convert(
    *,
    name: str,
    analyte: str,
    field: str,
    value: Quantity | str,
    to: str,
    units: dict[str, int],
    plausible: tuple[float, float, str],
    places: int | None,
) -> CalcResult:
    if not isinstance(to, str) or to not in units:
        raise InputError("to", to, f"one of {sorted(units)}")
    p = _check_places(places if places is not None else units[to])
    q = parse_quantity(value, field)
    lo, hi, ref_unit = plausible
    ref = float(convert(q, ref_unit, analyte=analyte, field=field).magnitude)
    if not lo <= ref <= hi:
        raise InputError(field, format_quantity(q), f"a {field} from {lo:g} to {hi:g} {ref_unit}")
    exact = convert(q, to, analyte=analyte, field=field)
    rounded = round_half_up(float(exact.magnitude), p)
    info = ANALYTES[analyte]
    return CalcResult(
        name=name,
        value=quantity(float(rounded), to),
        interpretation=f"{format_quantity(q)} = {rounded} {to}",
        inputs={field: format_quantity(q), "to": to},
        steps=(
            Step(label=f"molar mass of {info.basis}", value=f"{info.molar_mass} g/mol"),
            Step(label=f"converted to {to}", value=f"{float(exact.magnitude):.6g} {to}"),
            Step(label=f"rounded half-up to {p} dp", value=f"{rounded} {to}"),
        ),
        citation=f"{info.source}. {MOLAR_MASS_NOTE}",
        conventions=(f"molar mass {info.molar_mass} g/mol", f"Decimal half-up to {p} dp"),
    )


def glucose_convert(value: Quantity | str, *, to: str = "mmol/L", places: int | None = None) -> CalcResult:
    """Glucose mg/dL <-> mmol/L through D-glucose's molar mass (180.156 g/mol; 18.016 mg/dL per mmol/L).

    Args:
        value: a glucose concentration (mass or amount per volume), 10-2000 mg/dL.
        to: ``"mmol/L"`` or ``"mg/dL"``.
        places: decimals kept, half-up. Default: 1 for mmol/L, 0 for mg/dL.

    Returns:
        The glucose in ``to``. 126 mg/dL -> 7.0 mmol/L; 7.0 mmol/L -> 126 mg/dL.

    Raises:
        InputError: an unknown target, a value that is not a concentration, or implausible.

    """
    return _analyte_convert(
        name="glucose-conversion",
        analyte="glucose",
        field="glucose",
        value=value,
        to=to,
        units={"mmol/L": 1, "mg/dL": 0},
        plausible=(*_span_in("glucose", "mg/dL"), "mg/dL"),
        places=places,
    )


def b12_convert(value: Quantity | str, *, to: str = "pmol/L", places: int | None = None) -> CalcResult:
    """Vitamin B12 pg/mL (= ng/L) <-> pmol/L through cyanocobalamin's molar mass (1355.37 g/mol).

    Args:
        value: a B12 concentration, 10-50000 pg/mL.
        to: ``"pmol/L"``, ``"pg/mL"`` or ``"ng/L"``.
        places: decimals kept, half-up. Default 0 (whole units, as laboratories report).

    Returns:
        B12 in ``to``. 180 ng/L -> 133 pmol/L; 350 ng/L -> 258 pmol/L (as NICE NG239 prints them).

    Raises:
        InputError: an unknown target, a value that is not a concentration, or implausible.

    """
    return _analyte_convert(
        name="b12-conversion",
        analyte="vitamin-b12",
        field="vitamin_b12",
        value=value,
        to=to,
        units={"pmol/L": 0, "pg/mL": 0, "ng/L": 0},
        plausible=(*_span_in("b12-total", "pg/mL"), "pg/mL"),
        places=places,
    )


def creatinine_convert(value: Quantity | str, *, to: str = "umol/L", places: int | None = None) -> CalcResult:
    """Creatinine mg/dL <-> umol/L through creatinine's molar mass (113.12 g/mol; 88.4 umol/L per mg/dL).

    Args:
        value: a serum creatinine, 0.05-40 mg/dL.
        to: ``"umol/L"`` or ``"mg/dL"``.
        places: decimals kept, half-up. Default: 0 for umol/L, 2 for mg/dL.

    Returns:
        Creatinine in ``to``. 1.00 mg/dL -> 88 umol/L; 88.4 umol/L -> 1.00 mg/dL.

    Raises:
        InputError: an unknown target, a value that is not a concentration, or implausible.

    """
    return _analyte_convert(
        name="creatinine-conversion",
        analyte="creatinine",
        field="serum_creatinine",
        value=value,
        to=to,
        units={"umol/L": 0, "mg/dL": 2},
        plausible=(*_span_in("serum-creatinine", "mg/dL"), "mg/dL"),
        places=places,
    )


def _span_in(name: str, unit: str) -> tuple[float, float]:
    """The plausible span of ``name`` in ``unit`` (same-dimension units only)."""
    s = span(name)
    return magnitude(quantity(s.low, s.unit), unit), magnitude(quantity(s.high, s.unit), unit)
