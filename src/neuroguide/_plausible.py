"""The one plausibility table: which values of a quantity a person can have.

Read from ``_data/plausible.toml``; the vocabulary, the formulas and dosing all
check against it, so a range is stated once.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources

import attrs

from ._numeric import within
from .exceptions import InputError

__all__ = ["Span", "check", "span", "spans"]


@attrs.frozen(kw_only=True)
class Span:
    """The inclusive span of plausible values of one quantity, in its canonical unit."""

    name: str
    unit: str
    low: float
    high: float

    def contains(self, value: float) -> bool:
        """True if ``value`` (in :attr:`unit`) is plausible (inclusive, beyond float noise)."""
        return within(value, self.low, self.high)

    def describe(self, what: str) -> str:
        """E.g. ``a body weight from 0.5 to 500 kg``."""
        unit = "%" if self.unit == "percent" else self.unit
        return f"{what} from {self.low:g} to {self.high:g} {unit}"


@functools.cache
def spans() -> Mapping[str, Span]:
    """Every span, read once."""
    raw = tomllib.loads((resources.files("neuroguide") / "_data" / "plausible.toml").read_text(encoding="utf-8"))
    return {
        name: Span(name=name, unit=str(v["unit"]), low=float(v["low"]), high=float(v["high"]))
        for name, v in raw.items()
    }


def span(name: str) -> Span:
    """The span of quantity ``name`` (a key of the table)."""
    return spans()[name]


def check(name: str, value: float, field: str, shown: object, what: str) -> float:
    """Return ``value`` if plausible for quantity ``name``, else raise an error naming ``field``.

    Raises:
        InputError: the value is outside the span; the message gives the span.

    """
    s = span(name)
    if not s.contains(value):
        raise InputError(field, shown, s.describe(what))
    return value
