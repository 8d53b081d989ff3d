"""Laboratory conversions: HbA1c NGSP <-> IFCC, eAG (ADAG), glucose, vitamin B12 and creatinine."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import calculators as calc
from neuroguide.units import ANALYTES


def mag(result: calc.CalcResult) -> float:
    return float(result.value.magnitude)


def unit_of(result: calc.CalcResult) -> str:
    return f"{result.value.units:~}"


# -- HbA1c master equation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ngsp", "ifcc"),
    # ADA prints "6.5% (48 mmol/mol)"; the rest are the CSV's published anchor points.
    [
        ("6.5", 48),
        ("7.0", 53),
        ("5.7", 39),
        ("4.0", 20),
        ("5.0", 31),
        ("6.0", 42),
        ("8.0", 64),
        ("9.0", 75),
        ("10.0", 86),
    ],
)
def test_ngsp_to_ifcc_anchor_pairs(ngsp: str, ifcc: int) -> None:
    result = calc.hba1c_to_ifcc(f"{ngsp} %")
    assert mag(result) == ifcc
    assert unit_of(result) == "mmol / mol"
    assert result.steps[0].value.startswith(f"10.93 x {float(ngsp):g} - 23.5 = ")


@pytest.mark.parametrize(("ifcc", "ngsp"), [(48, 6.5), (53, 7.0), (42, 6.0), (64, 8.0), (86, 10.0)])
def test_ifcc_to_ngsp_anchor_pairs(ifcc: int, ngsp: float) -> None:
    assert mag(calc.hba1c_to_ngsp(f"{ifcc} mmol/mol")) == ngsp


def test_master_equation_exact_values() -> None:
    # 10.93 x 6.5 - 23.5 = 47.545 exactly; half-up -> 48 (the "+1 per 0.1 %" chart's 47 is wrong)
    result = calc.hba1c_to_ifcc("6.5 %", places=3)
    assert mag(result) == 47.545
    assert mag(calc.hba1c_to_ngsp("48 mmol/mol", places=3)) == 6.542


def test_percent_and_mmol_per_mol_are_never_confused() -> None:
    with pytest.raises(ng.IncompatibleUnitsError) as exc:
        calc.hba1c_to_ifcc("48 mmol/mol")
    assert exc.value.field == "hba1c"
    with pytest.raises(ng.IncompatibleUnitsError):
        calc.hba1c_to_ngsp("6.5 %")


@pytest.mark.parametrize(
    ("fn", "value"),
    [
        (calc.hba1c_to_ifcc, "48 %"),
        (calc.hba1c_to_ifcc, "0 %"),
        (calc.hba1c_to_ngsp, "500 mmol/mol"),
        (calc.eag, "48 %"),
    ],
)
def test_implausible_hba1c_refused(fn: Any, value: str) -> None:
    with pytest.raises(ng.InputError) as exc:
        fn(value)
    assert exc.value.field == "hba1c"


@settings(max_examples=80, deadline=None)
@given(st.decimals(min_value=Decimal("4.0"), max_value=Decimal("15.0"), places=1))
def test_ngsp_ifcc_round_trip(ngsp: Decimal) -> None:
    ifcc = mag(calc.hba1c_to_ifcc(f"{ngsp} %"))
    back = mag(calc.hba1c_to_ngsp(f"{ifcc:g} mmol/mol"))
    assert abs(back - float(ngsp)) <= 0.1


# -- eAG (ADAG) -----------------------------------------------------------------------------

ADAG_TABLE = [(5, 97, 5.4), (6, 126, 7.0), (7, 154, 8.6), (8, 183, 10.2), (9, 212, 11.8), (10, 240, 13.4),
              (11, 269, 14.9), (12, 298, 16.5)]  # fmt: skip


@pytest.mark.parametrize(("a1c", "mg_dl", "mmol_l"), ADAG_TABLE)
def test_eag_reproduces_the_adag_table(a1c: int, mg_dl: int, mmol_l: float) -> None:
    assert mag(calc.eag(f"{a1c} %")) == mg_dl
    assert mag(calc.eag(f"{a1c} %", unit="mmol/L")) == mmol_l


def test_eag_6_percent_is_126_not_125() -> None:
    # Python: round(28.7 * 6 - 46.7) == 125 (binary 125.49999999999999); ADA prints 126.
    assert round(28.7 * 6 - 46.7) == 125
    result = calc.eag("6 %")
    assert mag(result) == 126
    assert "28.7 x 6 - 46.7 = 125.5 mg/dL" in result.steps[0].value


def test_eag_10_percent_mmol_uses_18_not_18_016() -> None:
    assert mag(calc.eag("10 %", unit="mmol/L")) == 13.4  # 240.3 / 18 = 13.35 -> 13.4 (18.016 would give 13.3)


def test_eag_gdl_one_decimal_convention() -> None:
    assert mag(calc.eag("6 %", places=1)) == 125.5


@pytest.mark.parametrize(("ifcc", "mmol_l"), [(25, 4.5), (35, 5.9), (43, 7.1), (75, 11.8), (110, 16.9)])
def test_eag_from_ifcc(ifcc: int, mmol_l: float) -> None:
    result = calc.eag(f"{ifcc} mmol/mol", unit="mmol/L")
    assert mag(result) == mmol_l
    assert result.steps[0].label.startswith("IFCC -> NGSP")


@pytest.mark.parametrize(("glucose", "a1c"), [("190 mg/dL", 8.2), ("170 mg/dL", 7.6), ("154 mg/dL", 7.0)])
def test_a1c_from_eag(glucose: str, a1c: float) -> None:
    result = calc.a1c_from_eag(glucose)
    assert mag(result) == a1c
    assert "not a validated estimate" in result.interpretation


def test_eag_unknown_unit_refused() -> None:
    with pytest.raises(ng.InputError) as exc:
        calc.eag("7 %", unit="g/L")  # type: ignore[arg-type]
    assert exc.value.field == "unit"


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=Decimal("4.0"), max_value=Decimal("14.9"), places=1))
def test_eag_is_monotone(a1c: Decimal) -> None:
    assert mag(calc.eag(f"{a1c + Decimal('0.1')} %")) > mag(calc.eag(f"{a1c} %"))


# -- molar-mass conversions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "value", "to", "expected"),
    [
        (calc.glucose_convert, "126 mg/dL", "mmol/L", 7.0),  # ADA diagnostic pair
        (calc.glucose_convert, "7.0 mmol/L", "mg/dL", 126),
        (calc.glucose_convert, "200 mg/dL", "mmol/L", 11.1),
        (calc.glucose_convert, "100 mg/dL", "mmol/L", 5.6),
        (calc.b12_convert, "180 ng/L", "pmol/L", 133),  # NICE NG239 "180 ng/L (133 pmol/L)"
        (calc.b12_convert, "350 pg/mL", "pmol/L", 258),  # "350 ng/L (258 pmol/L)"
        (calc.b12_convert, "258 pmol/L", "ng/L", 350),
        (calc.creatinine_convert, "1.0 mg/dL", "umol/L", 88),
        (calc.creatinine_convert, "88.4 umol/L", "mg/dL", 1.00),
        (calc.creatinine_convert, "1.4 mg/dL", "umol/L", 124),
    ],
)
def test_published_pairs(fn: Any, value: str, to: str, expected: float) -> None:
    result = fn(value, to=to)
    assert mag(result) == expected
    assert result.citation
    assert result.steps[0].label.startswith("molar mass")


def test_declared_constants_come_from_units_analytes() -> None:
    for fn, analyte, value, to in (
        (calc.glucose_convert, "glucose", "100 mg/dL", "mmol/L"),
        (calc.b12_convert, "vitamin-b12", "1000 pg/mL", "pmol/L"),
        (calc.creatinine_convert, "creatinine", "1 mg/dL", "umol/L"),
    ):
        result = fn(value, to=to, places=6)
        assert f"molar mass {ANALYTES[analyte].molar_mass} g/mol" in result.conventions
    assert mag(calc.creatinine_convert("1 mg/dL", places=4)) == pytest.approx(10000 / 113.12, abs=1e-4)


@pytest.mark.parametrize(
    ("fn", "value", "field"),
    [
        (calc.glucose_convert, "0 mg/dL", "glucose"),
        (calc.glucose_convert, "7 kg", "glucose"),
        (calc.b12_convert, "1000 IU", "vitamin_b12"),  # international units never become mass
        (calc.b12_convert, "0 pg/mL", "vitamin_b12"),
        (calc.creatinine_convert, "0 mg/dL", "serum_creatinine"),
    ],
)
def test_conversion_refusals(fn: Any, value: str, field: str) -> None:
    with pytest.raises(ng.InputError) as exc:
        fn(value)
    assert exc.value.field == field


def test_unknown_target_refused() -> None:
    with pytest.raises(ng.InputError) as exc:
        calc.glucose_convert("100 mg/dL", to="mmol/mol")
    assert exc.value.field == "to"


@settings(max_examples=60, deadline=None)
@given(st.floats(40, 600))
def test_glucose_round_trip(mg_dl: float) -> None:
    mmol = mag(calc.glucose_convert(f"{mg_dl!r} mg/dL", places=6))
    back = mag(calc.glucose_convert(f"{mmol!r} mmol/L", to="mg/dL", places=6))
    assert back == pytest.approx(mg_dl, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.3, 15))
def test_creatinine_unit_invariance(mg_dl: float) -> None:
    umol = mag(calc.creatinine_convert(f"{mg_dl!r} mg/dL", places=6))
    assert umol == pytest.approx(mg_dl * 10000 / 113.12, abs=1e-5)
