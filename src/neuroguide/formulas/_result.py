"""The result object every calculator returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["CalcResult", "Step", "lazy_result"]


@attrs.frozen(kw_only=True)
class Step:
    """One intermediate step, so a clinician can check the arithmetic by hand."""

    label: str
    value: str


@attrs.frozen(kw_only=True)
class CalcResult:
    """A calculator's answer: value, interpretation, normalized inputs, steps, citation.

    ``value`` is a quantity, a number, or a category label.
    """

    name: str
    value: Any
    interpretation: str
    inputs: Mapping[str, str]
    steps: tuple[Step, ...]
    citation: str
    conventions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    """Warnings about inputs probably in another unit than labelled, such as a creatinine of 35 mg/dL."""


# The text of a result (interpretation, inputs, steps) costs more than the arithmetic; the fast
# calculators write it when it is first read. _LazyResult is a CalcResult whose three text fields
# are filled from a builder on first access; equality, repr, evolve and pickling see the filled values.
_LAZY = ("interpretation", "inputs", "steps")
_SLOTS: dict[str, Any] = {name: CalcResult.__dict__[name] for name in (*_LAZY, "name", "value", "citation")}
_SLOTS.update(conventions=CalcResult.__dict__["conventions"], flags=CalcResult.__dict__["flags"])


def _lazy_field(name: str) -> Any:
    slot = _SLOTS[name]

    def get(self: _LazyResult) -> Any:
        try:
            return slot.__get__(self, CalcResult)
        except AttributeError:
            self._fill()
            return slot.__get__(self, CalcResult)

    def set_(self: _LazyResult, value: Any) -> None:
        slot.__set__(self, value)

    return property(get, set_, doc=f"The result's {name} (written on first access).")


class _LazyResult(CalcResult):
    __slots__ = ("_builder",)
    _builder: Callable[[], tuple[str, Mapping[str, str], tuple[Step, ...]]]

    interpretation = _lazy_field("interpretation")
    inputs = _lazy_field("inputs")
    steps = _lazy_field("steps")

    def __repr__(self) -> str:
        return "CalcResult" + CalcResult.__repr__(self).removeprefix(type(self).__qualname__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CalcResult):
            return NotImplemented
        return all(getattr(self, a.name) == getattr(other, a.name) for a in attrs.fields(CalcResult))

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = CalcResult.__hash__

    def _fill(self) -> None:
        for name, value in zip(_LAZY, self._builder(), strict=True):
            _SLOTS[name].__set__(self, value)


_NEW = object.__new__
_SET_BUILDER = _LazyResult.__dict__["_builder"].__set__
_SET_NAME = _SLOTS["name"].__set__
_SET_VALUE = _SLOTS["value"].__set__
_SET_CITATION = _SLOTS["citation"].__set__
_SET_CONVENTIONS = _SLOTS["conventions"].__set__
_SET_FLAGS = _SLOTS["flags"].__set__


def lazy_result(
    name: str,
    value: Any,
    citation: str,
    conventions: tuple[str, ...],
    flags: tuple[str, ...],
    text: Callable[[], tuple[str, Mapping[str, str], tuple[Step, ...]]],
) -> CalcResult:
    """A :class:`CalcResult` whose interpretation, inputs and steps ``text()`` gives when first read."""
    out = _NEW(_LazyResult)
    _SET_NAME(out, name)
    _SET_VALUE(out, value)
    _SET_CITATION(out, citation)
    _SET_CONVENTIONS(out, conventions)
    _SET_FLAGS(out, flags)
    _SET_BUILDER(out, text)
    return out
