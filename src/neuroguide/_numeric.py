"""The one float-noise and rounding policy.

Arithmetic on binary floats leaves noise (``28.7 * 6 - 46.7`` is ``125.49999999999999``;
550 mg/m2 reached through g/m2 is ``549.9999999999999``). Every comparison with a
published number and every rounding first reads a float at 12 significant digits:
its decimal meaning. Rounding is half-up, as published tables print values.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import ClassVar

__all__ = [
    "BOUNDS",
    "LIMITED",
    "SIGNIFICANT",
    "Bound",
    "ceil_whole",
    "clean",
    "exceeds",
    "floor_whole",
    "round_half_up",
    "shown",
    "versus",
    "within",
]

SIGNIFICANT = 12
"""Significant digits that carry a float's decimal meaning (binary noise lies beyond them)."""


class Bound(float):
    """A result known only to lie below or above this number ("<150"): an open or half-open interval.

    Every comparison with a threshold or a band edge goes through :func:`versus`, which compares the interval the
    limit allows (exactly, never rounded) with the threshold: true or false when the whole interval lies on one
    side, unknown (``None``) when the threshold lies inside it. The text a reader sees must say it is a limit,
    never an exact result (:func:`shown`). Each comparator has its own subclass, so results kept by the values and
    types of the facts read (whose trace shows the comparator) are kept apart.
    """

    __slots__ = ()
    comparator: ClassVar[str] = ""

    def __new__(cls, value: float, comparator: str) -> Bound:
        return float.__new__(_BOUNDS[comparator], value)

    def __reduce__(self) -> tuple[type[Bound], tuple[float, str]]:
        return (Bound, (float(self), self.comparator))


_BOUNDS: dict[str, type[Bound]] = {
    c: type(f"Bound{name}", (Bound,), {"__slots__": (), "comparator": c})
    for c, name in (("<", "Below"), ("<=", "AtMost"), (">", "Above"), (">=", "AtLeast"))
}

LIMITED = frozenset({"b12-total", "b12-active", "hba1c", "fasting-glucose", "random-glucose", "ogtt-2h-glucose"})
"""Facts a limit (a :class:`Bound`) may stand for: laboratory results only compared with thresholds (no formula uses
them). Only their comparisons need to test for a Bound."""

BOUNDS = frozenset(_BOUNDS.values())
"""The classes of every :class:`Bound` (``type(v) in BOUNDS`` is the fast test generated code uses)."""


def versus(value: Bound, op: str, target: float) -> bool | None:
    """``value op target`` for every value the limit allows: True, False, or ``None`` when it depends on the value.

    Compared exactly (the limit's number and the threshold read at 12 significant digits, no rounding): "<180"
    is below 180 whatever the true value, while "<=180" is undecided against "< 180".
    """
    x, t = clean(value), clean(target)
    below = value.comparator in ("<", "<=")
    closed = value.comparator in ("<=", ">=")
    if op in ("==", "!="):
        # the value equals the threshold only if the threshold is in the interval, and even then not surely
        outside = (t > x or (t == x and not closed)) if below else (t < x or (t == x and not closed))
        return (op == "!=") if outside else None
    # Does every allowed value satisfy ``op``, or none? The interval runs to infinity on one side.
    if op in ("<", "<="):
        if not below:
            # values >(=) x: all below t is impossible; none is when x >= t (or x == t and op "<" ...)
            none = x > t or (x == t and (op == "<" or not closed))
            return False if none else None
        every = x < t or (x == t and (op == "<=" or not closed))
        return True if every else None
    if op not in (">", ">="):
        raise ValueError(op)
    if below:
        none = x < t or (x == t and (op == ">" or not closed))
        return False if none else None
    every = x > t or (x == t and (op == ">=" or not closed))
    return True if every else None


def shown(value: float, text: str) -> str:
    """``text`` (the number as written) with the comparator of a :class:`Bound` before it ("<150")."""
    return f"{value.comparator}{text}" if isinstance(value, Bound) else text


def clean(value: float | Decimal) -> Decimal:
    """The decimal a float stands for, without binary noise."""
    return value if isinstance(value, Decimal) else Decimal(f"{value:.{SIGNIFICANT}g}")


def round_half_up(value: float | Decimal, places: int) -> Decimal:
    """Round half-up to ``places`` decimals after removing noise (125.49999999999999 -> 126 at 0 places)."""
    return clean(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ceil_whole(value: float) -> int:
    """Round up to a whole number after removing noise (68.00000000000001 -> 68, not 69)."""
    return int(clean(value).quantize(Decimal(1), rounding=ROUND_CEILING))


def floor_whole(value: float) -> int:
    """Truncate to a whole number after removing noise (59.99999999999999 computed for 60 -> 60)."""
    return math.floor(clean(value))


def exceeds(value: float, limit: float) -> bool:
    """True if ``value`` is above ``limit`` beyond float noise."""
    return clean(value) > clean(limit)


# A value farther than this (relative) from both ends is decided on the floats themselves: 12
# significant digits cannot move it across an end. Closer values are decided on their decimals.
_CLEAR = 1e-9


def within(value: float, low: float, high: float) -> bool:
    """True if ``low <= value <= high`` (inclusive, beyond float noise)."""
    if low < value < high:
        margin = _CLEAR * max(abs(value), abs(low), abs(high))
        if value - low > margin and high - value > margin:
            return True
    return clean(low) <= clean(value) <= clean(high)
