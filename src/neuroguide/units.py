"""Units: the only module that touches pint.

Quantities are neuroguide's own small :class:`Quantity` (a number and a unit
from a table of the units the guidelines, the fact vocabulary and common inputs
use, each with its dimension and a precomputed factor to the dimension's root
unit), so parsing and converting the common units is a dictionary look-up and
a multiplication. pint is imported, and its one registry built, only for a unit
text that is not in the table (the unit is then read by pint once and its
factor kept), or when a caller asks a quantity for something only pint knows
(``q.to("lb")``, ``q.units``, arithmetic): the quantity then builds its pint
twin on demand, with identical values.

Unit strings are parsed case-sensitively against an allow-list, so ``MG``
(megagauss in pint) or ``pt`` (a pint of beer) never slip through. Mass and
amount of substance convert only through a declared, cited molar mass per
analyte; HbA1c % (NGSP) and mmol/mol (IFCC) are related only by the master
equation; international units never convert to mass.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

if TYPE_CHECKING:
    import pint
    from pint import Unit as Unit

    PintQuantity: TypeAlias = pint.Quantity[Any]

from ._numeric import round_half_up
from .exceptions import IncompatibleUnitsError, UnitError, UnknownUnitError

__all__ = [
    "ANALYTES",
    "Analyte",
    "Quantity",
    "Unit",
    "base_names",
    "convert",
    "dimension",
    "dimension_of",
    "format_quantity",
    "get_registry",
    "hba1c_ifcc_to_ngsp",
    "hba1c_ngsp_to_ifcc",
    "in_kind",
    "is_quantity",
    "magnitude",
    "parse_quantity",
    "parse_unit",
    "quantity",
    "round_half_up",
    "scale",
    "unit_name",
    "unit_symbol",
    "with_magnitude",
]

# Accepted unit symbols (case-sensitive). Anything else is refused, because
# pint resolves many look-alikes silently (MG = megagauss, pt = pint).
_ALLOWED = frozenset(
    {
        # mass
        "kg", "g", "mg", "ug", "µg", "μg", "mcg", "ng", "pg", "lb",
        # volume
        "L", "l", "dL", "dl", "mL", "ml", "uL", "µL", "μL", "nL", "fL",
        # amount of substance
        "mol", "mmol", "umol", "µmol", "μmol", "nmol", "pmol",
        # length and area
        "m", "cm", "mm", "in", "ft", "m2", "cm2",
        # time
        "s", "min", "h", "hr", "d", "day", "week", "month", "year",
        # pressure
        "mmHg", "kPa", "Pa",
        # ratio and other
        "%", "percent", "IU", "mIU", "kIU", "Hz", "count",
    }
)  # fmt: skip


# Patterns are compiled on first use: a start-up that reads no such text does not pay for them.
@functools.cache
def _token() -> re.Pattern[str]:
    return re.compile(r"[A-Za-zµμ%_]+\d?")


# ASCII digits only, as in the published JSON Schema's pattern (ECMA-262 \d is ASCII).
_NUMBER = re.compile(r"^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(.*?)\s*$")


@functools.cache
def _square() -> re.Pattern[str]:
    return re.compile(r"\b(c?m)2\b")


# The unit grammar accepted before pint sees the text: symbols, '*', '/', integer
# powers ('**2', '^-1', 'm2'), parentheses and a literal 1 ('1/min'). Everything
# else (stray punctuation, implicit products, fractional or huge powers) is
# refused here, because pint's parser either crashes on it or reads it loosely.
@functools.cache
def _unit_chars() -> re.Pattern[str]:
    return re.compile(r"[A-Za-zµμ%_0-9 \t/*^()\-]+")


@functools.cache
def _power() -> re.Pattern[str]:
    return re.compile(r"(\*\*|\^)\s*(-?\d+)(?![\d.])")


@functools.cache
def _implicit() -> re.Pattern[str]:
    return re.compile(r"[^\s/*^(]\s+[^\s/*^)]")


@functools.cache
def _bad_ops() -> re.Pattern[str]:
    return re.compile(r"^\s*[/*^)]|[/*^(]\s*$|[/*^]\s*[/*^)]|\(\s*\)|\(\s*[/*^]")


_MAX_UNIT_TEXT = 40
_MAX_POWER = 4
# Magnitudes outside this span are not clinical values; refusing them keeps
# conversions clear of float overflow and underflow (1e-320 mcg -> 0 mg).
_TINY, _HUGE = 1e-100, 1e100


# -- the unit table ----------------------------------------------------------------------------------
# Every unit text the guidelines, the fact vocabulary, the plausibility table and common inputs use:
# text -> (pint's dimensionality, factor to pint's root unit of that dimension, the symbol
# format_quantity writes, pint's name of the unit, which lists its parts in pint's order). The
# values are pint's own (read from pint 0.25.3 with this module's registry); tests/test_units_fast.py
# re-reads every entry through pint and checks it, and checks that each text passes the allow-list
# and grammar below (a text in the table is one parse_unit accepts, read exactly as pint reads it).
_TABLE: dict[str, tuple[str, float, str, str]] = {
    'kg': ('[mass]', 1000.0, 'kg', 'kilogram'),
    'g': ('[mass]', 1.0, 'g', 'gram'),
    'mg': ('[mass]', 0.001, 'mg', 'milligram'),
    'ug': ('[mass]', 1e-06, 'ug', 'microgram'),
    'µg': ('[mass]', 1e-06, 'ug', 'microgram'),
    'μg': ('[mass]', 1e-06, 'ug', 'microgram'),
    'mcg': ('[mass]', 1e-06, 'ug', 'microgram'),
    'ng': ('[mass]', 1e-09, 'ng', 'nanogram'),
    'pg': ('[mass]', 1e-12, 'pg', 'picogram'),
    'lb': ('[mass]', 453.5923700000001, 'lb', 'pound'),
    'm': ('[length]', 1.0, 'm', 'meter'),
    'cm': ('[length]', 0.01, 'cm', 'centimeter'),
    'mm': ('[length]', 0.001, 'mm', 'millimeter'),
    'in': ('[length]', 0.0254, 'in', 'inch'),
    'ft': ('[length]', 0.30479999999999996, 'ft', 'foot'),
    'L': ('[length] ** 3', 0.0010000000000000002, 'L', 'liter'),
    'l': ('[length] ** 3', 0.0010000000000000002, 'L', 'liter'),
    'dL': ('[length] ** 3', 0.00010000000000000002, 'dL', 'deciliter'),
    'dl': ('[length] ** 3', 0.00010000000000000002, 'dL', 'deciliter'),
    'mL': ('[length] ** 3', 1.0000000000000002e-06, 'mL', 'milliliter'),
    'ml': ('[length] ** 3', 1.0000000000000002e-06, 'mL', 'milliliter'),
    's': ('[time]', 1.0, 's', 'second'),
    'min': ('[time]', 60.0, 'min', 'minute'),
    'h': ('[time]', 3600.0, 'h', 'hour'),
    'hr': ('[time]', 3600.0, 'h', 'hour'),
    'd': ('[time]', 86400.0, 'd', 'day'),
    'day': ('[time]', 86400.0, 'd', 'day'),
    'days': ('[time]', 86400.0, 'd', 'day'),
    'week': ('[time]', 604800.0, 'week', 'week'),
    'weeks': ('[time]', 604800.0, 'week', 'week'),
    'month': ('[time]', 2629800.0, 'month', 'month'),
    'months': ('[time]', 2629800.0, 'month', 'month'),
    'year': ('[time]', 31557600.0, 'year', 'year'),
    'years': ('[time]', 31557600.0, 'year', 'year'),
    'm2': ('[length] ** 2', 1.0, 'm**2', 'meter ** 2'),
    'm**2': ('[length] ** 2', 1.0, 'm**2', 'meter ** 2'),
    'm^2': ('[length] ** 2', 1.0, 'm**2', 'meter ** 2'),
    'cm2': ('[length] ** 2', 0.0001, 'cm**2', 'centimeter ** 2'),
    'mmHg': ('[mass] / [length] / [time] ** 2', 133322.387415, 'mmHg', 'millimeter_Hg'),
    'kPa': ('[mass] / [length] / [time] ** 2', 1000000.0, 'kPa', 'kilopascal'),
    'mg/dL': ('[mass] / [length] ** 3', 9.999999999999998, 'mg/dL', 'milligram / deciliter'),
    'mg/dl': ('[mass] / [length] ** 3', 9.999999999999998, 'mg/dL', 'milligram / deciliter'),
    'g/dL': ('[mass] / [length] ** 3', 9999.999999999998, 'g/dL', 'gram / deciliter'),
    'g/L': ('[mass] / [length] ** 3', 999.9999999999999, 'g/L', 'gram / liter'),
    'mg/L': ('[mass] / [length] ** 3', 0.9999999999999999, 'mg/L', 'milligram / liter'),
    'umol/L': ('[substance] / [length] ** 3', 0.0009999999999999998, 'umol/L', 'micromole / liter'),
    'µmol/L': ('[substance] / [length] ** 3', 0.0009999999999999998, 'umol/L', 'micromole / liter'),
    'μmol/L': ('[substance] / [length] ** 3', 0.0009999999999999998, 'umol/L', 'micromole / liter'),
    'umol/l': ('[substance] / [length] ** 3', 0.0009999999999999998, 'umol/L', 'micromole / liter'),
    'µmol/l': ('[substance] / [length] ** 3', 0.0009999999999999998, 'umol/L', 'micromole / liter'),
    'μmol/l': ('[substance] / [length] ** 3', 0.0009999999999999998, 'umol/L', 'micromole / liter'),
    'mmol/L': ('[substance] / [length] ** 3', 0.9999999999999999, 'mmol/L', 'millimole / liter'),
    'mmol/l': ('[substance] / [length] ** 3', 0.9999999999999999, 'mmol/L', 'millimole / liter'),
    'pmol/L': ('[substance] / [length] ** 3', 9.999999999999999e-10, 'pmol/L', 'picomole / liter'),
    'pmol/l': ('[substance] / [length] ** 3', 9.999999999999999e-10, 'pmol/L', 'picomole / liter'),
    'nmol/L': ('[substance] / [length] ** 3', 1e-06, 'nmol/L', 'nanomole / liter'),
    'nmol/l': ('[substance] / [length] ** 3', 1e-06, 'nmol/L', 'nanomole / liter'),
    'pg/mL': ('[mass] / [length] ** 3', 1e-06, 'pg/mL', 'picogram / milliliter'),
    'pg/ml': ('[mass] / [length] ** 3', 1e-06, 'pg/mL', 'picogram / milliliter'),
    'ng/L': ('[mass] / [length] ** 3', 1e-06, 'ng/L', 'nanogram / liter'),
    'ng/l': ('[mass] / [length] ** 3', 1e-06, 'ng/L', 'nanogram / liter'),
    'ng/mL': ('[mass] / [length] ** 3', 0.001, 'ng/mL', 'nanogram / milliliter'),
    'ng/ml': ('[mass] / [length] ** 3', 0.001, 'ng/mL', 'nanogram / milliliter'),
    'ug/L': ('[mass] / [length] ** 3', 0.0009999999999999998, 'ug/L', 'microgram / liter'),
    'mcg/L': ('[mass] / [length] ** 3', 0.0009999999999999998, 'ug/L', 'microgram / liter'),
    '%': ('dimensionless', 0.01, '%', 'percent'),
    'percent': ('dimensionless', 0.01, '%', 'percent'),
    'mmol/mol': ('dimensionless', 0.001, 'mmol/mol', 'millimole / mole'),
    'mL/min': ('[length] ** 3 / [time]', 1.666666666666667e-08, 'mL/min', 'milliliter / minute'),
    'ml/min': ('[length] ** 3 / [time]', 1.666666666666667e-08, 'mL/min', 'milliliter / minute'),
    '1/min': ('1 / [time]', 0.016666666666666666, '1/min', '1 / minute'),
    'mg/day': ('[mass] / [time]', 1.1574074074074074e-08, 'mg/d', 'milligram / day'),
    'mg/d': ('[mass] / [time]', 1.1574074074074074e-08, 'mg/d', 'milligram / day'),
    'g/day': ('[mass] / [time]', 1.1574074074074073e-05, 'g/d', 'gram / day'),
    'g/d': ('[mass] / [time]', 1.1574074074074073e-05, 'g/d', 'gram / day'),
    'ug/day': ('[mass] / [time]', 1.1574074074074074e-11, 'ug/d', 'microgram / day'),
    'ug/d': ('[mass] / [time]', 1.1574074074074074e-11, 'ug/d', 'microgram / day'),
    'mcg/day': ('[mass] / [time]', 1.1574074074074074e-11, 'ug/d', 'microgram / day'),
    'mcg/d': ('[mass] / [time]', 1.1574074074074074e-11, 'ug/d', 'microgram / day'),
    'µg/day': ('[mass] / [time]', 1.1574074074074074e-11, 'ug/d', 'microgram / day'),
    'μg/day': ('[mass] / [time]', 1.1574074074074074e-11, 'ug/d', 'microgram / day'),
    'mg/week': ('[mass] / [time]', 1.6534391534391533e-09, 'mg/week', 'milligram / week'),
    'ug/week': ('[mass] / [time]', 1.6534391534391532e-12, 'ug/week', 'microgram / week'),
    'mcg/week': ('[mass] / [time]', 1.6534391534391532e-12, 'ug/week', 'microgram / week'),
    'mg/month': ('[mass] / [time]', 3.8025705376834746e-10, 'mg/month', 'milligram / month'),
    'ug/month': ('[mass] / [time]', 3.802570537683474e-13, 'ug/month', 'microgram / month'),
    'mcg/month': ('[mass] / [time]', 3.802570537683474e-13, 'ug/month', 'microgram / month'),
    'IU': ('[biologic_activity]', 1.0, 'IU', 'international_unit'),
    'mIU': ('[biologic_activity]', 0.001, 'mIU', 'milliinternational_unit'),
    'IU/day': ('[biologic_activity] / [time]', 1.1574074074074073e-05, 'IU/d', 'international_unit / day'),
    'IU/week': ('[biologic_activity] / [time]', 1.6534391534391533e-06, 'IU/week', 'international_unit / week'),
    'IU/month': ('[biologic_activity] / [time]', 3.802570537683474e-07, 'IU/month', 'international_unit / month'),
    'mg/m2': ('[mass] / [length] ** 2', 0.001, 'mg/m**2', 'milligram / meter ** 2'),
    'mg/m**2': ('[mass] / [length] ** 2', 0.001, 'mg/m**2', 'milligram / meter ** 2'),
    'mg/m^2': ('[mass] / [length] ** 2', 0.001, 'mg/m**2', 'milligram / meter ** 2'),
    'g/m2': ('[mass] / [length] ** 2', 1.0, 'g/m**2', 'gram / meter ** 2'),
    'kg/m2': ('[mass] / [length] ** 2', 1000.0, 'kg/m**2', 'kilogram / meter ** 2'),
    'kg/m**2': ('[mass] / [length] ** 2', 1000.0, 'kg/m**2', 'kilogram / meter ** 2'),
    'kg/m^2': ('[mass] / [length] ** 2', 1000.0, 'kg/m**2', 'kilogram / meter ** 2'),
}  # fmt: skip

# How pint reaches each unit's root unit: the scale factors its definitions chain through, with
# their exponents, in pint's order (conversion factors are multiplied exactly as pint multiplies
# them, so a converted value is the same float pint gives).
_TERMS: dict[str, tuple[tuple[float, int], ...]] = {
    'centimeter': ((0.01, 1),),
    'day': ((24, 1), (60, 1), (60, 1)),
    'deciliter': ((0.1, 1), (1, 1), (0.1, 3)),
    'foot': ((0.3333333333333333, 1), (0.9144, 1)),
    'gram': (),
    'hour': ((60, 1), (60, 1)),
    'inch': ((0.027777777777777776, 1), (0.9144, 1)),
    'international_unit': (),
    'kilogram': ((1000.0, 1),),
    'kilopascal': ((1000.0, 1), (1.0, 1), (1.0, 1), (1000.0, 1)),
    'liter': ((1, 1), (0.1, 3)),
    'meter': (),
    'microgram': ((1e-06, 1),),
    'micromole': ((1e-06, 1),),
    'milligram': ((0.001, 1),),
    'milliinternational_unit': ((0.001, 1),),
    'milliliter': ((0.001, 1), (1, 1), (0.1, 3)),
    'millimeter': ((0.001, 1),),
    'millimeter_Hg': ((0.001, 1), (1, 1), (13595.1, 1), (1000.0, 1), (9.80665, 1)),
    'millimole': ((0.001, 1),),
    'minute': ((60, 1),),
    'mole': (),
    'month': ((0.08333333333333333, 1), (365.25, 1), (24, 1), (60, 1), (60, 1)),
    'nanogram': ((1e-09, 1),),
    'nanomole': ((1e-09, 1),),
    'percent': ((0.01, 1),),
    'picogram': ((1e-12, 1),),
    'picomole': ((1e-12, 1),),
    'pound': ((7000.0, 1), (64.79891, 1), (0.001, 1)),
    'second': (),
    'week': ((7, 1), (24, 1), (60, 1), (60, 1)),
    'year': ((365.25, 1), (24, 1), (60, 1), (60, 1)),
}  # fmt: skip


_registry: pint.UnitRegistry[Any] | None = None
_registry_lock = threading.Lock()


def get_registry() -> pint.UnitRegistry[Any]:
    """Return neuroguide's one unit registry, building it on first call (thread-safe; imports pint)."""
    ureg = _registry
    if ureg is None:
        ureg = _build_registry()
    return ureg


def _build_registry() -> pint.UnitRegistry[Any]:
    global _registry
    with _registry_lock:
        # Checked again under the lock: concurrent first calls must share one registry,
        # or units cached from one meet quantities of another.
        if _registry is None:
            import pint

            ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(autoconvert_offset_to_baseunit=False)
            # International units measure biological activity, not mass: a base
            # dimension of their own makes IU -> mg a dimension error.
            ureg.define("international_unit = [biologic_activity] = IU")
            _registry = ureg
        return _registry


def _pint_quantity_type() -> type | None:
    """Pint's Quantity class if pint is already imported (never imports it)."""
    module = sys.modules.get("pint")
    found: type | None = None if module is None else module.Quantity
    return found


def _grammar_problem(text: str) -> str | None:
    """Return why ``text`` is not in the accepted unit grammar, or None."""
    if len(text) > _MAX_UNIT_TEXT:
        return f"a unit of at most {_MAX_UNIT_TEXT} characters"
    if not _unit_chars().fullmatch(text):
        bad = next(c for c in text if not _unit_chars().fullmatch(c))
        return f"a unit made of symbols, '/', '*', powers and parentheses; {bad!r} is not accepted"
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0 or depth > 3:
            return "a unit with balanced parentheses, at most 3 deep"
    if depth:
        return "a unit with balanced parentheses"
    for match in _power().finditer(text):
        power = int(match.group(2))
        if power == 0 or abs(power) > _MAX_POWER:
            return f"a power from -{_MAX_POWER} to {_MAX_POWER} (not 0); got {match.group(0)!r}"
    rest = _power().sub("", text)
    if _bad_ops().search(rest.replace("**", "^")):
        return "a unit with an operand on each side of every '/', '*' and power"
    if _implicit().search(rest):
        return "operators between unit symbols (write 'mg/dL' or 'mg*kg', not 'mg kg')"
    stripped = _token().sub("", rest)
    if "-" in stripped:
        return "a unit without '-' (only a power may be negative, as in 'min^-1')"
    if re.search(r"\d", re.sub(r"(?<![\d.])1(?![\d.])", "", stripped)):
        return "a unit whose only bare number is a leading 1 (as in '1/min')"
    return None


def parse_unit(text: str, field: str = "unit") -> Unit:
    """Parse an accepted unit string (case-sensitive) into a pint unit (imports pint).

    This is the one place text meets pint's parser: every failure becomes an
    :class:`UnknownUnitError` naming the text.

    Raises:
        UnknownUnitError: a symbol is not accepted, the expression is malformed, or the text is empty.

    """
    if not isinstance(text, str):
        raise UnknownUnitError(field, text, "a unit string such as 'mg'")
    return _parse_unit(text, field)


def _check_text(text: str, field: str) -> str:
    """The stripped unit text if it passes the allow-list and the grammar, else an UnknownUnitError."""
    cleaned = text.strip()
    if not cleaned:
        raise UnknownUnitError(field, text, "a unit such as 'mg', 'ug/day' or 'mg/dL'")
    for match in _token().finditer(cleaned):
        token = match.group(0)
        if token not in _ALLOWED and token.rstrip("s") not in _ALLOWED:
            raise UnknownUnitError(
                field,
                text,
                f"a known, case-sensitive unit; {token!r} is not accepted "
                "(write mg, ug, mcg, g, mL, dL, L, mmol, umol, pmol, mmHg, kg, cm, IU, %, day, week)",
            )
    problem = _grammar_problem(cleaned)
    if problem is not None:
        raise UnknownUnitError(field, text, problem)
    return cleaned


@functools.cache
def _parse_unit(text: str, field: str) -> Unit:
    cleaned = _check_text(text, field)
    expr = _square().sub(r"\1**2", cleaned).replace("^", "**")
    import pint

    try:
        unit = get_registry().Unit(expr)
    except Exception as exc:  # pint's parser raises many builtin types (TokenError, TypeError, ...)
        raise UnknownUnitError(field, text, "a valid unit expression") from exc
    if not isinstance(unit, pint.Unit):  # pragma: no cover - pint returns a Unit for every accepted text
        raise UnknownUnitError(field, text, "a valid unit expression")
    return unit


# -- unit facts: what the table or pint says about one unit -------------------------------------------


class _UnitInfo:
    """One unit: its dimension, factor to the dimension's root unit, symbol and pint name."""

    __slots__ = ("dim", "factor", "items", "key", "name", "names", "punit", "symbol")

    def __init__(
        self,
        key: str | None,
        dim: str,
        factor: float,
        symbol: str,
        name: str,
        items: tuple[tuple[str, Any], ...],
        punit: Any = None,
    ) -> None:
        self.key = key  # a unit text this module accepts (None: known only as a pint unit)
        self.dim = dim
        self.factor = factor
        self.symbol = symbol
        self.name = name
        self.items = items  # pint's unit container: (unit name, power) in pint's order
        self.names = frozenset(n for n, _ in items)
        self.punit = punit  # the pint unit, once built

    def pint_unit(self) -> Unit:
        if self.punit is None:
            assert self.key is not None
            self.punit = _parse_unit(self.key, "unit")
        unit: Unit = self.punit
        return unit

    def __repr__(self) -> str:
        return f"<unit {self.symbol} {self.dim} x{self.factor!r}>"


def _items(name: str) -> tuple[tuple[str, int], ...]:
    """Pint's unit container from pint's name of a unit: "milligram / meter ** 2" -> milligram^1, meter^-2."""
    out: list[tuple[str, int]] = []
    sign = 1
    for part in re.split(r" ([/*]) ", name):
        if part in ("/", "*"):
            sign = -1 if part == "/" else sign
            continue
        unit, _, power = part.partition(" ** ")
        if unit != "1":
            out.append((unit, sign * int(power or 1)))
    return tuple(out)


_KNOWN: dict[str, _UnitInfo] = {
    text: _UnitInfo(text, dim, factor, symbol, name, _items(name))
    for text, (dim, factor, symbol, name) in _TABLE.items()
}
_BY_PINT: dict[Any, _UnitInfo] = {}
_learn_lock = threading.Lock()


def _info(text: str, field: str) -> _UnitInfo:
    """The facts about an accepted unit text: from the table, else read by pint once and kept."""
    info = _KNOWN.get(text)
    if info is None:
        if not isinstance(text, str):
            raise UnknownUnitError(field, text, "a unit string such as 'mg'")
        unit = _parse_unit(text, field)
        info = _info_of_unit(unit, text)
        with _learn_lock:
            if len(_KNOWN) < len(_TABLE) + 4096:  # bounded: unit texts come from callers
                _KNOWN[text] = info
    return info


def _info_of_unit(unit: Unit, key: str | None = None) -> _UnitInfo:
    """The facts pint gives about one of its units."""
    container = unit._units
    known = _BY_PINT.get(container)
    if known is not None and known.key == key:
        return known
    ureg = get_registry()
    root = ureg.Quantity(1.0, unit).to_root_units()
    items = tuple(container.items())
    for name, _ in items:
        if name not in _TERMS:
            _TERMS[name] = _pint_terms(ureg, name)
    info = _UnitInfo(key, str(unit.dimensionality), float(root.magnitude), _symbol(unit), str(unit), items, unit)
    if key is None:
        _BY_PINT[container] = info
    return info


def _pint_terms(ureg: Any, name: str) -> tuple[tuple[float, int], ...]:
    """The scale factors pint chains through from unit ``name`` to its root unit (as in _TERMS)."""
    out: list[tuple[float, int]] = []

    def walk(ref: Any, exp: Any) -> None:
        for key in ref:
            exp2 = exp * ref[key]
            definition = ureg._units[ureg.get_name(key)]
            if not definition.is_base:
                out.append((definition.converter.scale, exp2))
                if definition.reference is not None:
                    walk(definition.reference, exp2)

    walk({name: 1}, 1)
    return tuple(out)


def _divided(src: tuple[tuple[str, Any], ...], dst: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """Pint's UnitsContainer ``src / dst``: same order, cancelled powers removed."""
    out = dict(src)
    for key, power in dst:
        out[key] = out.get(key, 0) - power
        if out[key] == 0:
            del out[key]
    return out


def _pint_factor(container: dict[str, Any]) -> float:
    """The factor of a unit container to root units, computed as pint's registry computes it.

    The same scales are collected, cancelled and multiplied in the same order as pint 0.25's
    ``_get_root_units``, so ``value * factor`` is the float pint's conversion gives.
    """
    numerator: dict[float, Any] = {}
    denominator: dict[float, Any] = {}
    for name, power in container.items():
        for scale, exp in _TERMS[name]:
            exp2 = power * exp
            if exp2 < 0:
                denominator[scale] = denominator.get(scale, 0) - exp2
            else:
                numerator[scale] = numerator.get(scale, 0) + exp2
    while any(f in denominator for f in numerator):
        for n_factor, n_exp in numerator.items():
            if n_factor in denominator and n_exp >= denominator[n_factor]:
                numerator[n_factor] -= denominator[n_factor]
                del denominator[n_factor]
        for d_factor, d_exp in list(denominator.items()):
            if d_factor in numerator and d_exp >= numerator[d_factor]:
                denominator[d_factor] -= numerator[d_factor]
                del numerator[d_factor]
    factor: Any = 1
    for n_factor, n_exp in numerator.items():
        if n_exp != 0:
            factor *= n_factor**n_exp
    for d_factor, d_exp in denominator.items():
        if d_exp != 0:
            factor *= d_factor**-d_exp
    return factor  # type: ignore[no-any-return]


_MOLAR = (("gram", 1), ("mole", -1))  # the unit of a molar mass, g/mol


# -- the quantity ------------------------------------------------------------------------------------


class _QuantityMeta(type):
    # isinstance(q, Quantity) is also True for a pint quantity (the type of 0.1.0's quantities).
    def __instancecheck__(cls, instance: object) -> bool:
        if type.__instancecheck__(cls, instance):
            return True
        pint_type = _pint_quantity_type()
        return pint_type is not None and isinstance(instance, pint_type)


_OWN = frozenset({"_m", "_u", "_q"})


class Quantity(metaclass=_QuantityMeta):
    """A number with a unit: ``Quantity(350, "ug")`` or ``Quantity("350 ug")``.

    neuroguide's own quantity: the magnitude (``.magnitude``) and the unit as
    written are kept, and conversions use the unit table's factors. Everything
    else a pint quantity offers (``.to``, ``.units``, ``.dimensionality``,
    arithmetic, formatting) is answered by an equal pint quantity of
    neuroguide's registry, built on first use (``.pint()`` returns it).
    """

    __slots__ = ("_m", "_q", "_u")
    _m: Any
    _u: _UnitInfo
    _q: Any

    def __init__(self, value: Any, unit: str | None = None) -> None:
        if unit is None:
            q = parse_quantity(value, "value")
        else:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise UnitError("value", value, "a real number (int or float) with the unit given apart")
            q = quantity(_check_magnitude(value, "value", value), unit)
        self._m, self._u, self._q = q._m, q._u, q._q

    @property
    def magnitude(self) -> Any:
        """The number, in the quantity's own unit."""
        return self._m

    m = magnitude

    def pint(self) -> PintQuantity:
        """An equal pint quantity of neuroguide's registry (built once)."""
        if self._q is None:
            self._q = get_registry().Quantity(self._m, self._u.pint_unit())
        q: PintQuantity = self._q
        return q

    def __getattr__(self, name: str) -> Any:
        if name in _OWN or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.pint(), name)

    def __reduce__(self) -> tuple[Any, ...]:
        info = self._u
        if info.key is not None:
            return (quantity, (self._m, info.key))
        return (_from_pint, (self.pint(),))

    def __repr__(self) -> str:
        return repr(self.pint())

    def __str__(self) -> str:
        return str(self.pint())

    def __format__(self, spec: str) -> str:
        return format(self.pint(), spec)

    def __eq__(self, other: object) -> bool:
        if type(other) is Quantity and other._u is self._u:
            return bool(self._m == other._m)
        return bool(self.pint() == _pint_of(other))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        # Equal quantities (1000 mg, 1 g) hash alike: the value in root units, at 12 significant digits.
        return hash((self._u.dim, float(f"{float(self._m) * self._u.factor:.12g}")))

    def __lt__(self, other: object) -> bool:
        if type(other) is Quantity and other._u is self._u:
            return bool(self._m < other._m)
        return bool(self.pint() < _pint_of(other))

    def __le__(self, other: object) -> bool:
        if type(other) is Quantity and other._u is self._u:
            return bool(self._m <= other._m)
        return bool(self.pint() <= _pint_of(other))

    def __gt__(self, other: object) -> bool:
        if type(other) is Quantity and other._u is self._u:
            return bool(self._m > other._m)
        return bool(self.pint() > _pint_of(other))

    def __ge__(self, other: object) -> bool:
        if type(other) is Quantity and other._u is self._u:
            return bool(self._m >= other._m)
        return bool(self.pint() >= _pint_of(other))

    def __bool__(self) -> bool:
        return bool(self._m)

    def __float__(self) -> float:
        return float(self.pint())

    def __int__(self) -> int:
        return int(self.pint())

    def __neg__(self) -> Any:
        return -self.pint()

    def __pos__(self) -> Any:
        return +self.pint()

    def __abs__(self) -> Any:
        return abs(self.pint())

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self.pint(), ndigits)

    # Arithmetic is pint's (the result is a pint quantity of neuroguide's registry).
    def __add__(self, other: object) -> Any:
        return self.pint() + _pint_of(other)

    def __radd__(self, other: object) -> Any:
        return _pint_of(other) + self.pint()

    def __sub__(self, other: object) -> Any:
        return self.pint() - _pint_of(other)

    def __rsub__(self, other: object) -> Any:
        return _pint_of(other) - self.pint()

    def __mul__(self, other: object) -> Any:
        return self.pint() * _pint_of(other)

    def __rmul__(self, other: object) -> Any:
        return _pint_of(other) * self.pint()

    def __truediv__(self, other: object) -> Any:
        return self.pint() / _pint_of(other)

    def __rtruediv__(self, other: object) -> Any:
        return _pint_of(other) / self.pint()

    def __pow__(self, other: object) -> Any:
        return self.pint() ** _pint_of(other)


def _pint_of(value: object) -> Any:
    return value.pint() if type(value) is Quantity else value


def with_magnitude(q: Quantity, value: float) -> Quantity:
    """A quantity of ``value`` in the unit of ``q``."""
    if type(q) is not Quantity:
        q = parse_quantity(q)
    return _new(value, q._u)


def _new(mag: Any, info: _UnitInfo, q: Any = None) -> Quantity:
    out = object.__new__(Quantity)
    out._m = mag
    out._u = info
    out._q = q
    return out


def _from_pint(q: Any) -> Quantity:
    """Wrap a pint quantity of neuroguide's registry."""
    return _new(q.magnitude, _info_of_unit(q.units), q)


def _check_magnitude(mag: float, field: str, shown: object) -> float:
    if not math.isfinite(mag):
        raise UnitError(field, shown, "a finite number")
    if mag != 0 and not _TINY <= abs(mag) <= _HUGE:
        raise UnitError(field, shown, f"a number between {_TINY:g} and {_HUGE:g} in size (or 0)")
    return mag


def quantity(value: float, unit: str) -> Quantity:
    """Build a quantity from a number and an accepted unit string (the unit is read once and kept)."""
    info = _KNOWN.get(unit)
    out = _object_new(Quantity)
    out._m = value
    out._u = info if info is not None else _info(unit, "unit")
    out._q = None
    return out


_object_new = object.__new__


def parse_quantity(value: object, field: str = "value", dimension: str | Unit | None = None) -> Quantity:
    """Turn ``"350 ug"``, ``(350, "ug")`` or a quantity (neuroguide's or pint's) into a quantity.

    Args:
        value: the value to parse.
        field: name used in error messages.
        dimension: if given, a unit (or unit string) the result must be
            convertible to, e.g. ``"mg"`` for a mass.

    Raises:
        UnitError: the text is not a number followed by an accepted unit.
        IncompatibleUnitsError: the dimension differs from ``dimension``.

    """
    q: Quantity
    if type(value) is str:
        parsed = _split_cached(value)
        if parsed is None:
            raise UnitError(field, value, "a number followed by a unit, e.g. '350 ug'")
        mag, unit_text = parsed
        _check_magnitude(mag, field, value)
        unit_of = _unit_of(unit_text, field, value)  # first: "0x384 mg" is a 0 with unit "x384 mg", not an underflow
        if mag == 0 and re.search(r"[1-9]", value.split("e")[0].split("E")[0]):
            raise UnitError(field, value, f"a number between {_TINY:g} and {_HUGE:g} in size (or 0); it underflows")
        q = _new(mag, unit_of)
    elif type(value) is Quantity:
        q = value
        if not isinstance(q._m, int | float) or isinstance(q._m, bool) or not math.isfinite(q._m):
            raise UnitError(field, value, "a quantity with a finite real number")  # nan mg was checked as a dose
    elif isinstance(value, tuple) and len(value) == 2:
        mag, unit = value
        if not isinstance(mag, int | float) or isinstance(mag, bool) or not isinstance(unit, str):
            raise UnitError(field, value, "a (number, unit string) pair")
        _check_magnitude(float(mag), field, value)
        q = _new(float(mag), _unit_of(unit, field, value))
    elif (pint_type := _pint_quantity_type()) is not None and isinstance(value, pint_type):
        q = _wrap_pint(value, field)
    else:
        raise UnitError(field, value, "a quantity string such as '350 ug'")
    if dimension is not None:
        target = _info(dimension, "dimension") if isinstance(dimension, str) else _info_of_unit(dimension)
        if q._u.dim != target.dim:
            raise IncompatibleUnitsError(field, value, f"a quantity convertible to {target.symbol} ({target.dim})")
    return q


def _wrap_pint(value: Any, field: str) -> Quantity:
    mag = value.magnitude
    if not isinstance(mag, int | float) or isinstance(mag, bool):
        raise UnitError(field, value, "a quantity with a single real number")
    _check_magnitude(float(mag), field, value)
    ureg = get_registry()
    if value._REGISTRY is ureg:
        q = value
    else:
        # Re-home quantities from another registry so they can meet ours.
        try:
            q = ureg.Quantity(float(mag), str(value.units))
        except Exception as exc:  # a unit our registry cannot read, with pint's own error types
            raise UnknownUnitError(field, str(value.units), "a unit neuroguide's registry knows") from exc
    return _from_pint(q)


def _unit_of(text: str, field: str, whole: object) -> _UnitInfo:
    """The unit part's facts, naming the whole value in any error."""
    info = _KNOWN.get(text)
    if info is not None:
        return info
    try:
        return _info(text, field)
    except UnitError as exc:
        raise type(exc)(field, whole, exc.expected) from None


@functools.cache
def _year() -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])a(?![A-Za-z])")


@functools.cache
def _litre() -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])([munpfdc]?)l(?![A-Za-z])")


@functools.lru_cache(maxsize=4096)
def _split_cached(text: str) -> tuple[float, str] | None:
    match = _NUMBER.match(text)
    if match is None or not match.group(2):
        return None
    return float(match.group(1)), match.group(2)


@functools.lru_cache(maxsize=512)
def _symbol(unit: Unit) -> str:
    # ASCII micro, and the clinical capital L for litre (mg/dL, not mg/dl).
    text = f"{unit:~}".replace("µ", "u").replace(" ", "")
    text = _year().sub("year", text)  # pint abbreviates year as "a" (annum), which reads badly
    return _litre().sub(r"\1L", text)


def format_quantity(q: Quantity, places: int | None = None, *, exact: bool = False) -> str:
    """Serialize a quantity as an ASCII string such as ``"350 ug"`` or ``"1.5 mg/dL"``.

    By default the magnitude is shown to 10 significant digits; ``exact=True``
    writes the shortest text that reads back as the same float (records keep
    inputs exactly, so replay re-derives the same values).
    """
    if type(q) is not Quantity:
        q = parse_quantity(q)
    mag = q._m
    if places is not None:
        text = f"{mag:.{places}f}"
    elif exact:
        text = repr(float(mag)).removesuffix(".0")
    else:
        text = f"{float(mag):.10g}"
    unit = q._u.symbol
    return f"{text} {unit}" if unit else text


# -- conversion factors ------------------------------------------------------------------------------

_MASS_CONC = "[mass] / [length] ** 3"
_AMOUNT_CONC = "[substance] / [length] ** 3"
_FACTORS: dict[tuple[_UnitInfo, str, str | None], _Conversion] = {}


class _Conversion:
    """A conversion to ``target``: the value (divided or multiplied by a molar mass) times ``factor``.

    Each step is the arithmetic pint does, so the result is the float pint gives.
    """

    __slots__ = ("divide", "factor", "molar", "scale", "target")

    def __init__(self, target: _UnitInfo, factor: Any, molar: float | None = None, divide: bool = False) -> None:
        self.target = target
        self.factor = factor  # None: the same unit, the value is left as it is
        self.molar = molar
        self.divide = divide
        # What magnitude() multiplies by, as 0.1.0 computed it: a quantity of 1.0, converted.
        self.scale: float = float(self.apply(1.0))

    def apply(self, value: Any) -> Any:
        """``value`` converted."""
        if self.factor is None:
            return value
        if self.molar is not None:
            value = value / self.molar if self.divide else value * self.molar
        return value * self.factor


def _factor(
    src: _UnitInfo, unit: str, analyte: str | None, field: str, shown: Callable[[], object] | None = None
) -> _Conversion:
    """How to convert from ``src`` to ``unit`` (through the analyte's molar mass if the dimensions need it).

    Raises the errors :func:`convert` raises; ``shown`` gives the value they name (default: the unit).
    """
    what = shown or (lambda: src.symbol)
    target = _info(unit, field)
    if src is target or dict(src.items) == dict(target.items):
        return _Conversion(target, None)
    if ("percent" in src.names and "mole" in target.names) or ("mole" in src.names and "percent" in target.names):
        raise IncompatibleUnitsError(
            field, what(), "HbA1c % (NGSP) and mmol/mol (IFCC) are different kinds; use the master equation"
        )
    if src.dim == target.dim:
        return _Conversion(target, _pint_factor(_divided(src.items, target.items)))
    if analyte is None:
        raise IncompatibleUnitsError(field, what(), f"a quantity convertible to {unit}")
    info = ANALYTES.get(analyte)
    if info is None:
        raise UnknownUnitError(field, analyte, f"an analyte with a declared molar mass: {sorted(ANALYTES)}")
    if src.dim == _MASS_CONC and target.dim == _AMOUNT_CONC:
        # pint: (q / molar mass).to(target)
        over = tuple(_divided(src.items, _MOLAR).items())
        return _Conversion(target, _pint_factor(_divided(over, target.items)), info.molar_mass, divide=True)
    if src.dim == _AMOUNT_CONC and target.dim == _MASS_CONC:
        # pint: (q * molar mass).to(target)
        times = tuple(_divided(src.items, tuple((k, -p) for k, p in _MOLAR)).items())
        return _Conversion(target, _pint_factor(_divided(times, target.items)), info.molar_mass)
    raise IncompatibleUnitsError(field, what(), f"a concentration convertible to {unit}")


def _conversion(src: _UnitInfo, unit: str, analyte: str | None) -> _Conversion:
    key = (src, unit, analyte)
    found = _FACTORS.get(key)
    if found is None:
        found = _factor(src, unit, analyte, "value")
        if len(_FACTORS) < 8192:
            _FACTORS[key] = found
    return found


def _scale_of(src: _UnitInfo, unit: str, analyte: str | None) -> float:
    return _conversion(src, unit, analyte).scale


def magnitude(q: Quantity, unit: str, *, analyte: str | None = None, field: str = "value") -> float:
    """Return ``q`` in ``unit`` as a float, using the analyte's molar mass if needed.

    The factor between two units is worked out once and kept, so repeated
    conversions cost a multiplication (every unit accepted here is
    multiplicative: no offsets such as degrees Celsius).
    """
    if type(q) is not Quantity:
        q = parse_quantity(q, field)
    found = _FACTORS.get((q._u, unit, analyte))
    if found is not None:
        return float(q._m) * found.scale
    try:
        return float(q._m) * _scale_of(q._u, unit, analyte)
    except UnitError:
        # Recompute through convert() for the error message naming the field and value.
        return float(convert(q, unit, analyte=analyte, field=field).magnitude)


def scale(from_unit: str, to_unit: str, *, analyte: str | None = None) -> float:
    """Return the factor converting a magnitude in ``from_unit`` to ``to_unit`` (kept after first use)."""
    return _scale_of(_info(from_unit, "unit"), to_unit, analyte)


def convert(q: Quantity, unit: str, *, analyte: str | None = None, field: str = "value") -> Quantity:
    """Convert ``q`` to ``unit``.

    Mass concentration and amount concentration convert only when ``analyte``
    names an entry of :data:`ANALYTES`. HbA1c % and mmol/mol are refused here:
    use :func:`hba1c_ngsp_to_ifcc`.

    Raises:
        IncompatibleUnitsError: the dimensions differ and no declared molar
            mass bridges them.

    """
    if type(q) is not Quantity:
        q = parse_quantity(q, field)
    how = _factor(q._u, unit, analyte, field, lambda: format_quantity(q))
    return _new(how.apply(q._m), how.target)


def dimension_of(q: Quantity) -> str:
    """The quantity's dimension as pint writes it (``"[mass]"``, ``"[mass] / [length] ** 3"``)."""
    return q._u.dim if type(q) is Quantity else str(q.dimensionality)


def dimension(unit: str) -> str:
    """The dimension of an accepted unit text, as pint writes it."""
    return _info(unit, "unit").dim


def unit_name(q: Quantity) -> str:
    """Pint's name of the quantity's unit (``"percent"``, ``"millimole / mole"``)."""
    return q._u.name if type(q) is Quantity else str(q.units)


def unit_symbol(q: Quantity) -> str:
    """The unit as :func:`format_quantity` writes it (``"ug"``, ``"mg/dL"``)."""
    return q._u.symbol if type(q) is Quantity else _symbol(q.units)


def base_names(q: Quantity) -> frozenset[str]:
    """The names of the units the quantity's unit is made of (``{"milligram", "day"}``)."""
    return q._u.names if type(q) is Quantity else frozenset(str(k) for k in q.units._units)


@attrs.frozen(kw_only=True)
class Analyte:
    """An analyte whose mass and amount concentrations may be interconverted."""

    name: str
    molar_mass: float
    basis: str
    source: str


ANALYTES: dict[str, Analyte] = {
    a.name: a
    for a in (
        Analyte(
            name="vitamin-b12",
            molar_mass=1355.37,
            basis="cyanocobalamin, C63H88CoN14O14P",
            source="PubChem CID 5311498 (cyanocobalamin), molecular weight 1355.4 g/mol",
        ),
        Analyte(
            name="glucose",
            molar_mass=180.156,
            basis="D-glucose, C6H12O6",
            source="PubChem CID 5793 (D-glucose), molecular weight 180.16 g/mol",
        ),
        Analyte(
            name="creatinine",
            molar_mass=113.12,
            basis="creatinine, C4H7N3O",
            source="PubChem CID 588 (creatinine), molecular weight 113.12 g/mol",
        ),
    )
}


# HbA1c master equation (IFCC-NGSP), Hoelzel et al. Clin Chem 2004;50:166-174.
_NGSP_SLOPE = Decimal("0.0915")
_NGSP_INTERCEPT = Decimal("2.15")
_IFCC_SLOPE = Decimal("10.93")
_IFCC_INTERCEPT = Decimal("-23.5")


def hba1c_ngsp_to_ifcc(percent: float | Decimal) -> Decimal:
    """IFCC (mmol/mol) = 10.93 x NGSP (%) - 23.5, unrounded."""
    return _IFCC_SLOPE * Decimal(str(percent)) + _IFCC_INTERCEPT


def hba1c_ifcc_to_ngsp(mmol_per_mol: float | Decimal) -> Decimal:
    """NGSP (%) = 0.0915 x IFCC (mmol/mol) + 2.15, unrounded."""
    return _NGSP_SLOPE * Decimal(str(mmol_per_mol)) + _NGSP_INTERCEPT


def in_kind(q: Quantity, unit: str) -> float | None:
    """``q`` in ``unit`` if it is of that unit's kind, else None.

    Same dimension, and for dimensionless units the same unit: HbA1c % and
    mmol/mol are different kinds, never converted into each other here.
    """
    if type(q) is not Quantity:
        q = parse_quantity(q)
    src, target = q._u, _info(unit, "unit")
    if src.dim != target.dim:
        return None
    if target.dim == "dimensionless" and src.name != target.name:
        return None
    return float(q._m) * _scale_of(src, unit, None)


def is_quantity(value: Any) -> bool:
    """Return True for a quantity (neuroguide's, or pint's of any registry)."""
    if type(value) is Quantity:
        return True
    pint_type = _pint_quantity_type()
    return pint_type is not None and isinstance(value, pint_type)


def __getattr__(name: str) -> Any:
    # ``units.Unit`` (pint's unit class) is loaded only when asked for.
    if name == "Unit":
        import pint

        return pint.Unit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
