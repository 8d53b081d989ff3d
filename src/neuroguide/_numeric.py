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

__all__ = ["SIGNIFICANT", "Bound", "ceil_whole", "clean", "exceeds", "floor_whole", "round_half_up", "shown", "within"]

SIGNIFICANT = 12
"""Significant digits that carry a float's decimal meaning (binary noise lies beyond them)."""


class Bound(float):
    """A result known only to lie below or above this number ("<150"): compared as the number, shown with it.

    It is read only when every threshold falls on the same side of the number as of every value it allows
    (see ``neuroguide._limits``), so each decision is the one the true value would give; the text a reader sees
    must still say it is a limit, never an exact result (:func:`shown`). Each comparator has its own subclass, so
    results kept by the values and types of the facts read (whose trace shows the comparator) are kept apart.
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
