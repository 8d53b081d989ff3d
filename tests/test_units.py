from __future__ import annotations

from decimal import Decimal
from typing import Any

import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neuroguide as ng
from neuroguide import units


@pytest.mark.parametrize("spelling", ["ug", "µg", "μg", "mcg"])
def test_microgram_spellings_are_accepted(spelling: str) -> None:
    q = units.parse_quantity(f"350 {spelling}")
    assert units.magnitude(q, "mg") == pytest.approx(0.35)
    assert units.format_quantity(q) == "350 ug"


@pytest.mark.parametrize("bad", ["350 MG", "350 Mg", "1 pt", "5 U", "3 furlong", "350", "mg"])
def test_ambiguous_or_unknown_units_are_refused(bad: str) -> None:
    with pytest.raises(ng.UnitError) as info:
        units.parse_quantity(bad, "dose")
    assert "dose" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_dimension_check_names_field_and_expectation() -> None:
    with pytest.raises(ng.IncompatibleUnitsError) as info:
        units.parse_quantity("5 mg/dL", "dose", "mg")
    message = str(info.value)
    assert "dose" in message and "5 mg/dL" in message and "mg" in message
    assert isinstance(info.value, TypeError)


def test_international_units_never_convert_to_mass() -> None:
    q = units.parse_quantity("1000 IU")
    with pytest.raises(ng.IncompatibleUnitsError):
        units.convert(q, "mg")


def test_hba1c_percent_and_mmol_per_mol_are_distinct_kinds() -> None:
    with pytest.raises(ng.IncompatibleUnitsError, match="master equation"):
        units.convert(units.parse_quantity("6.5 %"), "mmol/mol")
    assert units.round_half_up(units.hba1c_ngsp_to_ifcc(6.5), 0) == Decimal(48)
    assert units.round_half_up(units.hba1c_ifcc_to_ngsp(48), 1) == Decimal("6.5")


def test_mmol_per_mol_is_not_umol_per_litre() -> None:
    with pytest.raises(ng.IncompatibleUnitsError):
        units.convert(units.parse_quantity("48 mmol/mol"), "umol/L")


@pytest.mark.parametrize(
    ("value", "unit", "analyte", "target", "expected"),
    [
        ("200 ng/L", "pmol/L", "vitamin-b12", None, 147.6),  # BSH pair 200 ng/L ~ 148 pmol/L
        ("180 ng/L", "pmol/L", "vitamin-b12", None, 132.8),  # NICE pair 180 ~ 133
        ("126 mg/dL", "mmol/L", "glucose", None, 6.99),  # ADA pair 126 ~ 7.0
        ("1 mg/dL", "umol/L", "creatinine", None, 88.4),
    ],
)
def test_molar_mass_conversions_reproduce_published_pairs(
    value: str, unit: str, analyte: str, target: None, expected: float
) -> None:
    q = units.parse_quantity(value)
    assert units.magnitude(q, unit, analyte=analyte) == pytest.approx(expected, abs=0.05)


def test_mass_to_amount_needs_a_declared_analyte() -> None:
    with pytest.raises(ng.IncompatibleUnitsError):
        units.convert(units.parse_quantity("200 ng/L"), "pmol/L")
    with pytest.raises(ng.UnknownUnitError):
        units.convert(units.parse_quantity("200 ng/L"), "pmol/L", analyte="unobtainium")


def test_round_half_up_removes_float_noise() -> None:
    # 28.7 * 6 - 46.7 is 125.49999999999999 in binary; the ADA table prints 126.
    assert units.round_half_up(28.7 * 6 - 46.7, 0) == Decimal(126)
    assert units.round_half_up(0.825, 2) == Decimal("0.83")
    assert units.round_half_up(-0.5, 0) == Decimal(-1)


def test_foreign_registry_quantities_are_rehomed() -> None:
    other: pint.UnitRegistry[Any] = pint.UnitRegistry()
    q = units.parse_quantity(other.Quantity(2, "g"))
    assert q._REGISTRY is ng.ureg
    assert units.magnitude(q, "mg") == pytest.approx(2000)


def test_one_registry() -> None:
    assert ng.ureg is units.get_registry()
    assert ng.Q_(1, "g").to("mg").magnitude == pytest.approx(1000)


@given(st.floats(min_value=0.001, max_value=1e6, allow_nan=False))
def test_ug_mg_invariance(value: float) -> None:
    a = units.magnitude(units.parse_quantity((value, "ug")), "mg")
    b = units.magnitude(units.parse_quantity((value / 1000, "mg")), "mg")
    assert a == pytest.approx(b, rel=1e-12)


@given(st.floats(min_value=1, max_value=5000, allow_nan=False))
def test_b12_round_trip_through_molar_mass(value: float) -> None:
    pmol = units.magnitude(units.parse_quantity((value, "ng/L")), "pmol/L", analyte="vitamin-b12")
    back = units.magnitude(ng.Q_(pmol, "pmol/L"), "ng/L", analyte="vitamin-b12")
    assert back == pytest.approx(value, rel=1e-9)
