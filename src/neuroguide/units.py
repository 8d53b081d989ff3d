"""Units: the only module that touches pint.

One registry per process, built on first use (``import neuroguide`` does not
build it). Unit strings are parsed case-sensitively against an allow-list, so
``MG`` (megagauss in pint) or ``pt`` (a pint of beer) never slip through.
Mass and amount of substance convert only through a declared, cited molar mass
per analyte; HbA1c % (NGSP) and mmol/mol (IFCC) are related only by the master
equation; international units never convert to mass.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import pint
from pint import Unit as Unit

if TYPE_CHECKING:
    Quantity: TypeAlias = pint.Quantity[Any]
else:
    Quantity = pint.Quantity

from ._numeric import round_half_up
from .exceptions import IncompatibleUnitsError, UnitError, UnknownUnitError

__all__ = [
    "ANALYTES",
    "Analyte",
    "Quantity",
    "Unit",
    "convert",
    "format_quantity",
    "get_registry",
    "hba1c_ifcc_to_ngsp",
    "hba1c_ngsp_to_ifcc",
    "in_kind",
    "magnitude",
    "parse_quantity",
    "parse_unit",
    "quantity",
    "round_half_up",
    "scale",
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

_TOKEN = re.compile(r"[A-Za-zµμ%_]+\d?")
# ASCII digits only, as in the published JSON Schema's pattern (ECMA-262 \d is ASCII).
_NUMBER = re.compile(r"^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(.*?)\s*$")
_SQUARE = re.compile(r"\b(c?m)2\b")
# The unit grammar accepted before pint sees the text: symbols, '*', '/', integer
# powers ('**2', '^-1', 'm2'), parentheses and a literal 1 ('1/min'). Everything
# else (stray punctuation, implicit products, fractional or huge powers) is
# refused here, because pint's parser either crashes on it or reads it loosely.
_UNIT_CHARS = re.compile(r"[A-Za-zµμ%_0-9 \t/*^()\-]+")
_POWER = re.compile(r"(\*\*|\^)\s*(-?\d+)(?![\d.])")
_IMPLICIT = re.compile(r"[^\s/*^(]\s+[^\s/*^)]")
_BAD_OPS = re.compile(r"^\s*[/*^)]|[/*^(]\s*$|[/*^]\s*[/*^)]|\(\s*\)|\(\s*[/*^]")
_MAX_UNIT_TEXT = 40
_MAX_POWER = 4
# Magnitudes outside this span are not clinical values; refusing them keeps
# conversions clear of float overflow and underflow (1e-320 mcg -> 0 mg).
_TINY, _HUGE = 1e-100, 1e100

_registry: pint.UnitRegistry[Any] | None = None
_registry_lock = threading.Lock()


def get_registry() -> pint.UnitRegistry[Any]:
    """Return neuroguide's one unit registry, building it on first call (thread-safe)."""
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
            ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(autoconvert_offset_to_baseunit=False)
            # International units measure biological activity, not mass: a base
            # dimension of their own makes IU -> mg a dimension error.
            ureg.define("international_unit = [biologic_activity] = IU")
            _registry = ureg
        return _registry


def _grammar_problem(text: str) -> str | None:
    """Return why ``text`` is not in the accepted unit grammar, or None."""
    if len(text) > _MAX_UNIT_TEXT:
        return f"a unit of at most {_MAX_UNIT_TEXT} characters"
    if not _UNIT_CHARS.fullmatch(text):
        bad = next(c for c in text if not _UNIT_CHARS.fullmatch(c))
        return f"a unit made of symbols, '/', '*', powers and parentheses; {bad!r} is not accepted"
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0 or depth > 3:
            return "a unit with balanced parentheses, at most 3 deep"
    if depth:
        return "a unit with balanced parentheses"
    for match in _POWER.finditer(text):
        power = int(match.group(2))
        if power == 0 or abs(power) > _MAX_POWER:
            return f"a power from -{_MAX_POWER} to {_MAX_POWER} (not 0); got {match.group(0)!r}"
    rest = _POWER.sub("", text)
    if _BAD_OPS.search(rest.replace("**", "^")):
        return "a unit with an operand on each side of every '/', '*' and power"
    if _IMPLICIT.search(rest):
        return "operators between unit symbols (write 'mg/dL' or 'mg*kg', not 'mg kg')"
    stripped = _TOKEN.sub("", rest)
    if "-" in stripped:
        return "a unit without '-' (only a power may be negative, as in 'min^-1')"
    if re.search(r"\d", re.sub(r"(?<![\d.])1(?![\d.])", "", stripped)):
        return "a unit whose only bare number is a leading 1 (as in '1/min')"
    return None


def parse_unit(text: str, field: str = "unit") -> Unit:
    """Parse an accepted unit string (case-sensitive) into a pint unit.

    This is the one place text meets pint's parser: every failure becomes an
    :class:`UnknownUnitError` naming the text.

    Raises:
        UnknownUnitError: a symbol is not accepted, the expression is malformed, or the text is empty.

    """
    if not isinstance(text, str):
        raise UnknownUnitError(field, text, "a unit string such as 'mg'")
    return _parse_unit(text, field)


@functools.cache
def _parse_unit(text: str, field: str) -> Unit:
    cleaned = text.strip()
    if not cleaned:
        raise UnknownUnitError(field, text, "a unit such as 'mg', 'ug/day' or 'mg/dL'")
    for match in _TOKEN.finditer(cleaned):
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
    expr = _SQUARE.sub(r"\1**2", cleaned).replace("^", "**")
    try:
        unit = get_registry().Unit(expr)
    except Exception as exc:  # pint's parser raises many builtin types (TokenError, TypeError, ...)
        raise UnknownUnitError(field, text, "a valid unit expression") from exc
    if not isinstance(unit, pint.Unit):  # pragma: no cover - pint returns a Unit for every accepted text
        raise UnknownUnitError(field, text, "a valid unit expression")
    return unit


def _check_magnitude(mag: float, field: str, shown: object) -> float:
    if not math.isfinite(mag):
        raise UnitError(field, shown, "a finite number")
    if mag != 0 and not _TINY <= abs(mag) <= _HUGE:
        raise UnitError(field, shown, f"a number between {_TINY:g} and {_HUGE:g} in size (or 0)")
    return mag


def quantity(value: float, unit: str) -> Quantity:
    """Build a quantity from a number and an accepted unit string (the unit is parsed once and cached)."""
    return get_registry().Quantity(value, parse_unit(unit))


def parse_quantity(value: object, field: str = "value", dimension: str | Unit | None = None) -> Quantity:
    """Turn ``"350 ug"``, ``(350, "ug")`` or a pint quantity into a quantity.

    Args:
        value: the value to parse.
        field: name used in error messages.
        dimension: if given, a unit (or unit string) the result must be
            convertible to, e.g. ``"mg"`` for a mass.

    Raises:
        UnitError: the text is not a number followed by an accepted unit.
        IncompatibleUnitsError: the dimension differs from ``dimension``.

    """
    ureg = get_registry()
    q: Quantity
    if isinstance(value, pint.Quantity):
        mag = value.magnitude
        if not isinstance(mag, int | float) or isinstance(mag, bool):
            raise UnitError(field, value, "a quantity with a single real number")
        _check_magnitude(float(mag), field, value)
        if value._REGISTRY is ureg:
            q = value
        else:
            # Re-home quantities from another registry so they can meet ours.
            try:
                q = ureg.Quantity(float(mag), str(value.units))
            except Exception as exc:  # a unit our registry cannot read, with pint's own error types
                raise UnknownUnitError(field, str(value.units), "a unit neuroguide's registry knows") from exc
    elif isinstance(value, tuple) and len(value) == 2:
        mag, unit = value
        if not isinstance(mag, int | float) or isinstance(mag, bool) or not isinstance(unit, str):
            raise UnitError(field, value, "a (number, unit string) pair")
        _check_magnitude(float(mag), field, value)
        q = ureg.Quantity(float(mag), _unit_of(unit, field, value))
    elif isinstance(value, str):
        mag, unit_text = _split(value, field)
        _check_magnitude(mag, field, value)
        if mag == 0 and re.search(r"[1-9]", value.split("e")[0].split("E")[0]):
            raise UnitError(field, value, f"a number between {_TINY:g} and {_HUGE:g} in size (or 0); it underflows")
        q = ureg.Quantity(mag, _unit_of(unit_text, field, value))
    else:
        raise UnitError(field, value, "a quantity string such as '350 ug'")
    if dimension is not None:
        target = parse_unit(dimension, "dimension") if isinstance(dimension, str) else dimension
        if q.dimensionality != target.dimensionality:
            raise IncompatibleUnitsError(
                field, value, f"a quantity convertible to {_symbol(target)} ({target.dimensionality})"
            )
    return q


def _unit_of(text: str, field: str, whole: object) -> Unit:
    """Parse the unit part, naming the whole value in any error."""
    try:
        return parse_unit(text, field)
    except UnitError as exc:
        raise type(exc)(field, whole, exc.expected) from None


_YEAR = re.compile(r"(?<![A-Za-z])a(?![A-Za-z])")
_LITRE = re.compile(r"(?<![A-Za-z])([munpfdc]?)l(?![A-Za-z])")


def _split(text: str, field: str) -> tuple[float, str]:
    parsed = _split_cached(text)
    if parsed is None:
        raise UnitError(field, text, "a number followed by a unit, e.g. '350 ug'")
    return parsed


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
    text = _YEAR.sub("year", text)  # pint abbreviates year as "a" (annum), which reads badly
    return _LITRE.sub(r"\1L", text)


def format_quantity(q: Quantity, places: int | None = None, *, exact: bool = False) -> str:
    """Serialize a quantity as an ASCII string such as ``"350 ug"`` or ``"1.5 mg/dL"``.

    By default the magnitude is shown to 10 significant digits; ``exact=True``
    writes the shortest text that reads back as the same float (records keep
    inputs exactly, so replay re-derives the same values).
    """
    mag = q.magnitude
    if places is not None:
        text = f"{mag:.{places}f}"
    elif exact:
        text = repr(float(mag)).removesuffix(".0")
    else:
        text = f"{float(mag):.10g}"
    # Keyed by the quantity's units container: hashing and comparing a Unit object is much slower.
    unit = _SYMBOLS.get(q._units)
    if unit is None:
        unit = _SYMBOLS[q._units] = _symbol(q.units)
    return f"{text} {unit}" if unit else text


_SYMBOLS: dict[Any, str] = {}


def magnitude(q: Quantity, unit: str, *, analyte: str | None = None, field: str = "value") -> float:
    """Return ``q`` in ``unit`` as a float, using the analyte's molar mass if needed.

    The conversion factor between two units is computed once and cached, so
    repeated conversions cost a multiplication (every unit accepted here is
    multiplicative: no offsets such as degrees Celsius).
    """
    try:
        return float(q.magnitude) * _scale(q.units, unit, analyte)
    except UnitError:
        # Recompute through convert() for the error message naming the field and value.
        return float(convert(q, unit, analyte=analyte, field=field).magnitude)


@functools.lru_cache(maxsize=4096)
def _scale(units: Unit, unit: str, analyte: str | None) -> float:
    one = get_registry().Quantity(1.0, units)
    return float(convert(one, unit, analyte=analyte).magnitude)


def scale(from_unit: str, to_unit: str, *, analyte: str | None = None) -> float:
    """Return the factor converting a magnitude in ``from_unit`` to ``to_unit`` (cached)."""
    return _scale(parse_unit(from_unit), to_unit, analyte)


def convert(q: Quantity, unit: str, *, analyte: str | None = None, field: str = "value") -> Quantity:
    """Convert ``q`` to ``unit``.

    Mass concentration and amount concentration convert only when ``analyte``
    names an entry of :data:`ANALYTES`. HbA1c % and mmol/mol are refused here:
    use :func:`hba1c_ngsp_to_ifcc`.

    Raises:
        IncompatibleUnitsError: the dimensions differ and no declared molar
            mass bridges them.

    """
    target = parse_unit(unit, field)
    src_units = {str(k) for k in q.units._units}
    dst_units = {str(k) for k in target._units}
    if ("percent" in src_units and "mole" in dst_units) or ("mole" in src_units and "percent" in dst_units):
        raise IncompatibleUnitsError(
            field,
            format_quantity(q),
            "HbA1c % (NGSP) and mmol/mol (IFCC) are different kinds; use the master equation",
        )
    if q.dimensionality == target.dimensionality:
        return q.to(target)
    if analyte is None:
        raise IncompatibleUnitsError(field, format_quantity(q), f"a quantity convertible to {unit}")
    info = ANALYTES.get(analyte)
    if info is None:
        raise UnknownUnitError(field, analyte, f"an analyte with a declared molar mass: {sorted(ANALYTES)}")
    ureg = get_registry()
    mw = quantity(info.molar_mass, "g/mol")
    mass_conc = ureg.get_dimensionality("[mass]/[length]**3")
    amount_conc = ureg.get_dimensionality("[substance]/[length]**3")
    if q.dimensionality == mass_conc and target.dimensionality == amount_conc:
        result: Quantity = (q / mw).to(target)
        return result
    if q.dimensionality == amount_conc and target.dimensionality == mass_conc:
        result = (q * mw).to(target)
        return result
    raise IncompatibleUnitsError(field, format_quantity(q), f"a concentration convertible to {unit}")


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
    target = parse_unit(unit)
    if q.dimensionality != target.dimensionality:
        return None
    if target.dimensionless and q.units != target:
        return None
    return float(q.to(target).magnitude)


def is_quantity(value: Any) -> bool:
    """Return True for a pint quantity of any registry."""
    return isinstance(value, pint.Quantity)
