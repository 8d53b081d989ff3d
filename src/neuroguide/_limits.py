"""What a result given only as below or above a limit ("<150 ng/L", ">14 %") means for the guidelines' thresholds.

A laboratory reports a value outside its measuring range as a limit with a comparator. Such a result is not a
number, but it still decides every threshold lying wholly on one side of it: "<200 ng/L" is not above 350 ng/L
whatever the true value is, and "<180 ng/L" is below 180. A limit is read (by the FHIR reader, and in a patient
document written as "<150 pg/mL") as a ``Bound``: each comparison (a rule's criterion, a classification band)
compares the interval it allows with the threshold exactly, never rounded (see ``_numeric.versus``). Only a
threshold strictly inside the interval (or on its closed end) is undecided: the comparison is unknown, its rule
undetermined unless its other inputs decide it, and the assessment flags it (:func:`straddled`).

The cohort engine reads a limit as a plain number (its columns are floats), which gives the decisions of the
interval only when no threshold lies at or inside the limit's open side (:func:`inside`); other limits are
reported in its errors table.

Only facts that are compared with thresholds and enter no formula are read this way (a creatinine below a limit
would otherwise give a creatinine clearance computed from a number that was never measured).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from . import model as m
from ._bands import band_of_limit, edge_values
from ._criteria import threshold
from ._loading import catalog, compares, criteria_of
from ._numeric import LIMITED, Bound, clean, round_half_up, versus
from ._vocabulary import vocabulary
from .units import format_quantity, is_quantity, magnitude, quantity

__all__ = ["LIMITED", "SIDES", "inside", "split", "straddled"]


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


def straddled(
    fact: str, limit: Bound, guidelines: tuple[m.Guideline, ...], statuses: frozenset[m.Status], urgent: bool
) -> tuple[str, ...]:
    """Each threshold of ``guidelines`` the limit leaves undecided, described with its rule and guideline version.

    ``limit`` is in the fact's own unit. Only rules evaluated are looked at: those of ``statuses`` and, with
    ``urgent``, urgent rules still in review.
    """
    key = (fact, limit.comparator, float(limit), tuple(map(id, guidelines)), statuses, urgent)
    hit = _STRADDLED.get(key)
    if hit is None or hit[0] != guidelines:  # the guidelines are held with the answer: their ids are not reused
        if len(_STRADDLED) >= 1024:
            _STRADDLED.clear()
        found = _straddled(fact, limit.comparator, float(limit), guidelines, statuses, urgent)
        hit = _STRADDLED[key] = (guidelines, found)
    return hit[1]


def _urgency(rule: m.Rule) -> str:
    """How urgent an undecided rule is, and whether it is still in review, in the report's words."""
    if not m.is_urgent(rule):
        return ""
    how = rule.urgency.value if isinstance(rule, m.ReferralRule) else "red flag"
    verified = "; not yet verified: rule in review" if rule.status is m.Status.IN_REVIEW else ""
    return f" ({how.upper()}{verified})"


_STRADDLED: dict[tuple[object, ...], tuple[tuple[m.Guideline, ...], tuple[str, ...]]] = {}


def _straddled(
    fact: str,
    comparator: str,
    number: float,
    guidelines: tuple[m.Guideline, ...],
    statuses: frozenset[m.Status],
    urgent: bool,
) -> tuple[str, ...]:
    limit = Bound(number, comparator)
    spec = vocabulary()[fact]
    unit = spec.unit or ""
    out: list[str] = []
    for g in guidelines:
        for rule in g.rules:
            if rule.status not in statuses and not (urgent and rule.status is m.Status.IN_REVIEW and m.is_urgent(rule)):
                continue
            where = f"rule {rule.id}{_urgency(rule)} of {g.id} {g.version}"
            if isinstance(rule, m.ClassificationRule) and rule.fact == fact:
                value = (
                    number
                    if rule.unit == unit
                    else magnitude(quantity(number, unit), rule.unit, analyte=rule.analyte or spec.analyte)
                )
                _, edge = band_of_limit(rule, Bound(value, comparator))
                if edge is not None:
                    out.append(f"the band edge {edge} of {where}")
            for _, criterion in criteria_of(rule):
                for c in compares(criterion):
                    if c.fact != fact or c.op == "in":
                        continue
                    if is_quantity(c.value):
                        target, text = threshold(fact, c.value), f"{c.op} {format_quantity(c.value)}"  # type: ignore[arg-type]
                    elif isinstance(c.value, int | float):
                        target, text = float(c.value), f"{c.op} {c.value:g}"
                    else:
                        continue
                    if versus(limit, c.op, target) is None:
                        out.append(f"the threshold {fact} {text} of {where}")
    return tuple(dict.fromkeys(out))


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
