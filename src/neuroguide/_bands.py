"""Classification bands: which band a value falls in, at the precision the source states."""

from __future__ import annotations

from decimal import Decimal

from . import model as m
from ._numeric import Bound, clean, round_half_up, versus
from .units import format_quantity, is_quantity, magnitude

__all__ = ["band_of", "band_of_limit", "describe_edges", "edge_values", "possible_bands"]


def band_of(rule: m.ClassificationRule, value: float) -> tuple[m.Band | None, Decimal]:
    """Return the band ``value`` (in the rule's unit) falls in, after rounding.

    The value is rounded half-up to ``rule.places`` decimals first, because
    published cut-offs (e.g. ABI 0.90 / 0.91) are stated at that precision.
    """
    shown = round_half_up(value, rule.places) if rule.places is not None else clean(value)
    for band in rule.bands:
        if _inside(band, shown, rule):
            return band, shown
    return None, shown


def band_of_limit(rule: m.ClassificationRule, limit: Bound) -> tuple[m.Band | None, str | None]:
    """The band every value ``limit`` allows (in the rule's unit) falls in, or the edge it straddles.

    The limit is compared exactly with each band's stated interval, never rounded: "<180" lies wholly in a band
    "below 180" (a laboratory's limit and the guideline's cut-off state the same number at the same precision).
    Returns ``(band, None)`` when one band holds the whole interval, ``(None, edge)`` when a band edge lies inside
    it (the band is unknown), ``(None, None)`` when no band holds any of it.
    """
    straddled: str | None = None
    for band in rule.bands:
        parts: list[bool | None] = []
        for edge, op in (
            (band.lower, ">=" if band.lower_inclusive else ">"),
            (band.upper, "<=" if band.upper_inclusive else "<"),
        ):
            if edge is not None:
                got = versus(limit, op, float(_bound(edge, rule)))
                parts.append(got)
                if got is None and straddled is None:
                    straddled = _fmt(edge)
        if all(p is True for p in parts):
            return band, None
    return None, straddled


def possible_bands(rule: m.ClassificationRule, limit: Bound) -> tuple[m.Band, ...]:
    """The bands holding some value ``limit`` allows (in the rule's unit), in the rule's order.

    A band is excluded only when one of its edges lies wholly on the wrong side of the limit's interval, compared
    exactly as :func:`band_of_limit` does.
    """
    out: list[m.Band] = []
    for band in rule.bands:
        edges = (
            (band.lower, ">=" if band.lower_inclusive else ">"),
            (band.upper, "<=" if band.upper_inclusive else "<"),
        )
        if all(versus(limit, op, float(_bound(edge, rule))) is not False for edge, op in edges if edge is not None):
            out.append(band)
    return tuple(out)


def _bound(value: object, rule: m.ClassificationRule) -> Decimal:
    if is_quantity(value):
        number = magnitude(value, rule.unit, analyte=rule.analyte)  # type: ignore[arg-type]
    else:
        number = float(value)  # type: ignore[arg-type]
    return clean(number)


def _inside(band: m.Band, x: Decimal, rule: m.ClassificationRule) -> bool:
    if band.lower is not None:
        lo = _bound(band.lower, rule)
        if x < lo or (x == lo and not band.lower_inclusive):
            return False
    if band.upper is not None:
        hi = _bound(band.upper, rule)
        if x > hi or (x == hi and not band.upper_inclusive):
            return False
    return True


def edge_values(rule: m.ClassificationRule) -> list[tuple[Decimal, str]]:
    """Every band edge of a classification in the rule's unit (as compared), with the edge as the rule states it."""
    out: dict[Decimal, str] = {}
    for band in rule.bands:
        for edge in (band.lower, band.upper):
            if edge is not None:
                out.setdefault(_bound(edge, rule), _fmt(edge))
    return list(out.items())


def describe_edges(band: m.Band, rule: m.ClassificationRule) -> str:
    parts = []
    if band.lower is not None:
        parts.append(f"{'≥' if band.lower_inclusive else '>'} {_fmt(band.lower)}")
    if band.upper is not None:
        parts.append(f"{'≤' if band.upper_inclusive else '<'} {_fmt(band.upper)}")
    return " and ".join(parts) if parts else "any value"


def _fmt(value: object) -> str:
    return format_quantity(value) if is_quantity(value) else f"{value:g}"  # type: ignore[arg-type]
