"""What a result given only as below or above a limit ("<150 ng/L", ">14 %") means for the guidelines' thresholds.

A laboratory reports a value outside its measuring range as a limit with a comparator. Such a result is not a
number, but it can still decide every threshold the guidelines apply to the fact: "<150 ng/L" is below a cut-off of
180 ng/L whatever the true value is. So a limit is read in place of the value (by the FHIR reader, and in a patient
document written as "<150 pg/mL") only when no threshold of any guideline version (a comparison in a rule's
criteria, or a classification band's edge after the rule's own rounding) lies at or inside the open side of the
limit: then the limit and every value the result allows fall on the same side of every threshold, and each
decision is the one the true value would give. Otherwise the result leaves a decision unknown and is not read. A
limit read is a ``Bound``: compared as its number, always shown with its comparator.

Only facts that are compared with thresholds and enter no formula are read this way (a creatinine below a limit
would otherwise give a creatinine clearance computed from a number that was never measured).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from . import model as m
from ._bands import edge_values
from ._criteria import threshold
from ._loading import catalog, compares, criteria_of
from ._numeric import clean, round_half_up
from ._vocabulary import vocabulary
from .units import is_quantity, magnitude, quantity

__all__ = ["LIMITED", "SIDES", "inside", "split"]

LIMITED = frozenset({"b12-total", "b12-active", "hba1c", "fasting-glucose", "random-glucose", "ogtt-2h-glucose"})
"""Facts a limit may stand for: laboratory results that are only compared with thresholds (no formula uses them)."""

BELOW = frozenset({"<", "<="})

SIDES = {
    "<": ("below", "above"),
    "<=": ("at or below", "above"),
    ">": ("above", "below"),
    ">=": ("at or above", "below"),
}
"""Each comparator (FHIR's codes): where the true value lies, and where every threshold must lie."""


# Patterns are compiled on first use: a start-up that reads no such text does not pay for them.
@functools.cache
def _limit_text() -> re.Pattern[str]:
    return re.compile(r"^\s*(<=|>=|<|>)\s*(.*)$", re.DOTALL)


def split(text: str) -> tuple[str, str] | None:
    """(comparator, the rest) of a text written as a limit ("<150 pg/mL"); ``None`` for any other text."""
    found = _limit_text().match(text)
    return (found.group(1), found.group(2)) if found else None


def inside(fact: str, comparator: str, limit: float, as_of: dt.date | None = None) -> str | None:
    """The first threshold lying at or beyond ``limit`` on the comparator's open side, described; ``None`` if none.

    ``limit`` is in the fact's own unit (the vocabulary's). A band edge is compared with the limit converted to the
    rule's unit and rounded as the rule rounds: every value beyond the limit then rounds to the limit's side of it.
    Every guideline version is looked at (the answer must not depend on which one an assessment uses), but a
    threshold of a version in effect on ``as_of`` (default: today) is named first: the one the reader's
    assessment evaluates.
    """
    below = comparator in BELOW
    unit = vocabulary()[fact].unit or ""
    current = {(g.id, g.version) for g in catalog().in_effect(as_of or dt.date.today())}
    found: list[tuple[bool, str]] = []
    for version, where, edge, edge_unit, places, analyte in _edges(fact):
        value = limit if edge_unit == unit else magnitude(quantity(limit, unit), edge_unit, analyte=analyte)
        rounded = float(round_half_up(value, places) if places is not None else clean(value))
        if (below and edge <= rounded) or (not below and edge >= rounded):
            found.append((version not in current, f"{where}, where the limit is {_text(rounded)} {edge_unit}"))
    return min(found, key=lambda hit: hit[0])[1] if found else None


def _text(x: float) -> str:
    return f"{x:g}"


@functools.cache
def _edges(fact: str) -> tuple[tuple[tuple[str, str], str, float, str, int | None, str | None], ...]:
    """(version, where, threshold, unit, rounding places, analyte) of each threshold on ``fact`` in any version."""
    spec = vocabulary()[fact]
    unit = spec.unit or ""
    out: list[tuple[tuple[str, str], str, float, str, int | None, str | None]] = []
    for g in catalog().all():
        version = (g.id, g.version)
        for rule in g.rules:
            where = f"rule {rule.id} of {g.id} {g.version}"
            if isinstance(rule, m.ClassificationRule) and rule.fact == fact:
                for edge, text in edge_values(rule):
                    analyte = rule.analyte or spec.analyte
                    out.append((version, f"{where}, band edge {text}", float(edge), rule.unit, rule.places, analyte))
            for _, criterion in criteria_of(rule):
                for c in compares(criterion):
                    if c.fact != fact or c.op == "in":
                        continue
                    if is_quantity(c.value):
                        value, text = threshold(fact, c.value), f"{c.op} {c.value}"
                    elif isinstance(c.value, int | float):
                        value, text = float(c.value), f"{c.op} {c.value:g}"
                    else:
                        continue
                    out.append((version, f"{where}, {fact} {text}", value, unit, None, None))
    return tuple(out)
