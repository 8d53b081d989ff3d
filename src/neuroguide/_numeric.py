"""The one float-noise and rounding policy.

Arithmetic on binary floats leaves noise (``28.7 * 6 - 46.7`` is ``125.49999999999999``;
550 mg/m2 reached through g/m2 is ``549.9999999999999``). Every comparison with a
published number and every rounding first reads a float at 12 significant digits:
its decimal meaning. Rounding is half-up, as published tables print values.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

__all__ = ["SIGNIFICANT", "ceil_whole", "clean", "exceeds", "floor_whole", "round_half_up", "within"]

SIGNIFICANT = 12
"""Significant digits that carry a float's decimal meaning (binary noise lies beyond them)."""


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
