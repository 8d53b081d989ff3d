"""The one plausibility table: which values of a quantity a person can have.

Read from ``_data/plausible.toml``; the vocabulary, the formulas and dosing all
check against it, so a range is stated once.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping

import attrs

from . import _diskcache, _dist
from ._numeric import within
from .exceptions import InputError

__all__ = ["Likely", "Span", "check", "span", "spans", "unit_slip"]


@attrs.frozen(kw_only=True)
class Likely:
    """The window of likely values for one unit kind; outside it, ``other`` is the likelier unit."""

    unit: str
    low: float
    high: float
    other: str


@attrs.frozen(kw_only=True)
class Span:
    """The inclusive span of plausible values of one quantity, in its canonical unit."""

    name: str
    unit: str
    low: float
    high: float
    likely: tuple[Likely, ...] = ()

    def contains(self, value: float) -> bool:
        """True if ``value`` (in :attr:`unit`) is plausible (inclusive, beyond float noise)."""
        return within(value, self.low, self.high)

    def describe(self, what: str) -> str:
        """E.g. ``a body weight from 0.5 to 500 kg``."""
        unit = "%" if self.unit == "percent" else self.unit
        return f"{what} from {self.low:g} to {self.high:g} {unit}"


@functools.cache
def spans() -> Mapping[str, Span]:
    """Every span, read once (from the knowledge-base cache after the first start: no TOML parser is loaded)."""
    data = (_dist.package_files() / "_data" / "plausible.toml").read_bytes()
    return _diskcache.through(
        "plausible",
        [("plausible.toml", hashlib.sha256(data).hexdigest())],
        {(c.__module__, c.__qualname__): c for c in (Span, Likely)},
        lambda: _read(data),
        lambda found: isinstance(found, dict) and all(isinstance(v, Span) and v.name == k for k, v in found.items()),
    )


def _read(data: bytes) -> dict[str, Span]:
    import tomllib  # here: a start-up served from the knowledge-base cache parses no TOML

    raw = tomllib.loads(data.decode("utf-8"))
    return {
        name: Span(
            name=name,
            unit=str(v["unit"]),
            low=float(v["low"]),
            high=float(v["high"]),
            likely=tuple(
                Likely(unit=str(w["unit"]), low=float(w["low"]), high=float(w["high"]), other=str(w["other"]))
                for w in v.get("likely", ())
            ),
        )
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
    # -0.0 is zero: adding 0.0 makes it +0.0, so it is checked, recorded and shown as 0 is.
    return value + 0.0


def unit_slip(name: str, in_unit: Callable[[str], float | None]) -> str | None:
    """Return why a value of quantity ``name`` is probably in another unit than labelled, or None.

    Args:
        name: a key of the table.
        in_unit: gives the value in a window's unit when the value is of that unit's kind
            (e.g. a mass concentration for mg/dL), else None.

    """
    for window in span(name).likely:
        value = in_unit(window.unit)
        if value is None:
            continue
        if not window.low <= round(value, 9) <= window.high:
            unit = "%" if window.unit == "percent" else window.unit
            return (
                f"{value:g} {unit} is outside the usual {window.low:g}-{window.high:g} {unit}: "
                f"probably a value in {window.other} labelled {unit}"
            )
        return None
    return None
