"""The drug-neurotoxicity table: look-up and cumulative-exposure checks.

Entries live in ``guidelines/drug-neurotoxicity/<version>.toml``, one
:class:`~neuroguide.model.NeurotoxicityRule` per agent. Look-up is by agent
name, synonym (brand name) or RxNorm code, case-insensitively; an unknown name
raises :class:`~neuroguide.exceptions.UnknownAgentError` suggesting close names.

Exposure checks compare a cumulative dose (a mass such as ``"42 g"`` or a mass
per body-surface area such as ``"550 mg/m2"``) and a treatment duration with
the entry's thresholds. Thresholds are exclusive (``>``), as the sources print
them ("> 550 mg/m2", "longer than 28 days").
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from . import model as m
from ._agents import agent_names, key
from ._criteria import FactValue
from ._loading import Catalog, catalog
from ._numeric import exceeds
from .exceptions import InputError, UnknownAgentError
from .formulas import bsa_mosteller
from .patient import Medication, Patient
from .units import (
    Quantity,
    convert,
    dimension,
    dimension_of,
    format_quantity,
    magnitude,
    parse_quantity,
    quantity,
    unit_symbol,
    with_magnitude,
)

__all__ = [
    "DrugClassNameError",
    "Exposure",
    "cumulative_dose",
    "exposure_check",
    "neurotoxicity",
    "neurotoxicity_class",
    "neurotoxicity_table",
    "parse_dose",
]

TABLE_ID = "drug-neurotoxicity"


def neurotoxicity_table(
    *, as_of: dt.date | None = None, source: Catalog | None = None
) -> tuple[m.NeurotoxicityRule, ...]:
    """Return every entry of the neurotoxicity table, approved and in review.

    Args:
        as_of: use the version in effect on this date (default: the latest released).
        source: a catalog other than the packaged one.

    Returns:
        The entries in file order; check ``rule.status`` before relying on one.

    """
    cat = source if source is not None else catalog()
    g = cat.get(TABLE_ID, as_of=as_of)
    return tuple(r for r in g.rules if isinstance(r, m.NeurotoxicityRule))


def _is_code(value: str) -> bool:
    # Only numeric RxNorm codes are look-up keys: "unverified" marks a missing code.
    return value.isdigit()


@functools.cache
def _index(entries: tuple[m.NeurotoxicityRule, ...]) -> Mapping[str, m.NeurotoxicityRule]:
    index: dict[str, m.NeurotoxicityRule] = {}
    for rule in entries:
        for name in (*agent_names(rule), key(rule.id)):
            index.setdefault(name, rule)
    return index


def neurotoxicity(name: str, *, as_of: dt.date | None = None, source: Catalog | None = None) -> m.NeurotoxicityRule:
    """Find a table entry by name, synonym or RxNorm code (case-insensitive).

    Args:
        name: agent name (``"oxaliplatin"``), brand name (``"Eloxatin"``),
            rule id (``"neurotox-oxaliplatin"``) or RxNorm code (``"32592"``).
        as_of: use the table version in effect on this date.
        source: a catalog other than the packaged one.

    Returns:
        The entry (it may be in review: see ``status`` and ``review_note``).

    Raises:
        UnknownAgentError: no such drug; the message suggests close names,
            and names the members when ``name`` is a drug class.

    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("name", name, "a drug name, synonym or RxNorm code")
    entries = neurotoxicity_table(as_of=as_of, source=source)
    index = _index(entries)
    wanted = key(name)
    rule = index.get(wanted)
    if rule is not None:
        return rule
    members = _class_members(entries, wanted)
    if members:
        # A class name ("fluoroquinolone") is not one entry: point at its members.
        raise DrugClassNameError(name, [r.agent for r in members])
    known = [k for k in index if not k.isdigit() and not k.startswith("neurotox-")]
    raise UnknownAgentError(name, known)


class DrugClassNameError(UnknownAgentError):
    """The name is a drug class with several entries, not one agent; the message lists them."""

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        super().__init__(name, known)
        self.args = (f"{name!r} is a drug class, not one agent; look up one of: {', '.join(self.known)}",)


def _class_members(entries: Iterable[m.NeurotoxicityRule], wanted: str) -> list[m.NeurotoxicityRule]:
    stem = wanted.rstrip("s")
    if len(stem) < 4:
        return []
    return [r for r in entries if stem in r.drug_class.lower()]


def neurotoxicity_class(
    name: str, *, as_of: dt.date | None = None, source: Catalog | None = None
) -> tuple[m.NeurotoxicityRule, ...]:
    """Return every entry whose drug class contains ``name`` (e.g. ``"taxane"``, ``"fluoroquinolone"``).

    Args:
        name: part of a drug-class name, case-insensitive; a plural "s" is ignored.
        as_of: use the table version in effect on this date.
        source: a catalog other than the packaged one.

    Returns:
        The matching entries in table order (empty if none).

    """
    return tuple(_class_members(neurotoxicity_table(as_of=as_of, source=source), name.strip().lower()))


# -- doses -------------------------------------------------------------------------


def parse_dose(text: str | Quantity) -> Quantity:
    """Parse a cumulative dose (a mass such as ``"42 g"`` or a mass per area such as ``"550 mg/m2"``).

    Raises:
        UnitError: not a number with an accepted unit.
        InputError: neither a mass nor a mass per area.

    """
    q = parse_quantity(text, "cumulative")
    if dimension_of(q) not in (_MASS, _PER_AREA):
        raise InputError("cumulative", format_quantity(q), "a mass (g, mg) or a mass per area (mg/m2)")
    return q


_MASS = dimension("mg")
_PER_AREA = dimension("mg/m2")


def cumulative_dose(
    doses: Sequence[tuple[dt.date, Quantity | str]] | Sequence[Quantity | str],
    *,
    until: dt.date | None = None,
) -> Quantity:
    """Sum a list of administered doses into one cumulative dose.

    Args:
        doses: quantities (``"85 mg/m2"``), or ``(date, quantity)`` pairs.
            All must be masses, or all masses per area; units may differ
            (``"1 g"`` and ``"500 mg"`` add to 1.5 g).
        until: with dated doses, count only those given on or before this date.

    Returns:
        The total, in mg or mg/m2.

    Raises:
        InputError: an empty list, a negative dose, mixed mass and mass-per-area
            doses, or a dated dose after ``until``-filtering of mixed forms.

    """
    if not doses:
        raise InputError("doses", [], "at least one dose")
    amounts: list[Quantity] = []
    for i, item in enumerate(doses):
        if isinstance(item, tuple):
            when, raw = item
            if not isinstance(when, dt.date):
                raise InputError(f"doses[{i}]", item, "a (date, dose) pair")
            if until is not None and when > until:
                continue
        else:
            raw = item
        q = parse_dose(raw)
        if q.magnitude < 0:
            raise InputError(f"doses[{i}]", format_quantity(q), "a non-negative dose")
        amounts.append(q)
    if not amounts:
        return quantity(0.0, "mg")
    kinds = {dimension_of(q) == _PER_AREA for q in amounts}
    if len(kinds) > 1:
        raise InputError("doses", [format_quantity(q) for q in amounts], "doses all in mg or all in mg/m2, not mixed")
    unit = "mg/m2" if kinds == {True} else "mg"
    # Sum as floats in one unit (floats inside, units at the boundary).
    total = math.fsum(float(convert(q, unit).magnitude) for q in amounts)
    return quantity(total, unit)


@attrs.frozen(kw_only=True)
class Exposure:
    """Whether a patient's exposure is past the cited threshold, and why."""

    past_threshold: bool | None
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def exposure_check(
    rule: m.NeurotoxicityRule,
    med: Medication,
    patient: Patient | None = None,
    facts: Mapping[str, FactValue] | None = None,
    as_of: dt.date | None = None,
    *,
    bsa: Quantity | None = None,
) -> Exposure:
    """Compare a medication's cumulative dose and duration with the entry's thresholds.

    A threshold in mg/m2 needs the cumulative dose per body-surface area: a
    dose given in mg (or g) is divided by ``bsa``, or by the Mosteller BSA from
    ``height`` and ``weight`` in ``facts``. Either threshold, when exceeded
    (strictly), flags the exposure. Unknown parts are reported as missing.

    Args:
        rule: the table entry.
        med: the medication, with ``cumulative`` and/or ``started``/``stopped``.
        patient: unused; kept for the medication-rule interface.
        facts: the fact table (height in cm, weight in kg) for BSA.
        as_of: the evaluation date (end of an ongoing course).
        bsa: a body-surface area to use instead of height and weight.

    Returns:
        ``past_threshold`` True if any threshold is exceeded, False if every
        threshold was checked and none is, None if the answer depends on a
        missing input.

    Raises:
        InputError: the cumulative dose cannot be compared with the threshold.

    """
    reasons: list[str] = []
    missing: list[str] = []
    verdicts: list[bool] = []
    facts = facts or {}
    if rule.cumulative_threshold is not None:
        limit = rule.cumulative_threshold
        if med.cumulative is None:
            missing.append(f"cumulative dose of {med.agent}")
        else:
            dose = _per_area_if_needed(med.cumulative, limit, facts, bsa, missing)
            if dose is not None:
                # From the unit table: no unit registry for mg, g.
                value = magnitude(dose, unit_symbol(limit), field="cumulative")
                threshold = float(limit.magnitude)
                past = _exceeds(value, threshold)
                verdicts.append(past)
                shown = _fmt(with_magnitude(limit, value), 1)
                reasons.append(f"cumulative {shown} {'>' if past else '≤'} threshold {_fmt(limit)}")
    if rule.duration_threshold is not None:
        if med.started is None or as_of is None:
            missing.append(f"start date of {med.agent}")
        else:
            end = med.stopped if med.stopped is not None and med.stopped < as_of else as_of
            limit_date = rule.duration_threshold.add_to(med.started)
            past = end > limit_date
            verdicts.append(past)
            days = (end - med.started).days
            reasons.append(
                f"{days} days of therapy {'>' if past else '≤'} {rule.duration_threshold} "
                f"(threshold reached on {limit_date.isoformat()})"
            )
    if any(verdicts):
        result: bool | None = True
    elif missing:
        result = None
    else:
        result = False
    return Exposure(past_threshold=result, reasons=tuple(reasons), missing=tuple(missing))


def _fmt(q: Quantity, places: int | None = None) -> str:
    # "550 mg/m2" rather than pint's "550 mg/m**2", as the sources print it.
    return format_quantity(q, places).replace("**", "")


def _exceeds(value: float, threshold: float) -> bool:
    # Unit conversion leaves binary noise (550 mg/m2 via g/m2 is 549.9999...).
    return exceeds(value, threshold)


def _per_area_if_needed(
    dose: Quantity,
    limit: Quantity,
    facts: Mapping[str, FactValue],
    bsa: Quantity | None,
    missing: list[str],
) -> Quantity | None:
    if dimension_of(dose) == dimension_of(limit):
        return dose
    if dimension_of(dose) == _MASS and dimension_of(limit) == _PER_AREA:
        area = bsa
        if area is None:
            height, weight = facts.get("height"), facts.get("weight")
            if isinstance(height, float) and isinstance(weight, float):
                area = bsa_mosteller(height=quantity(height, "cm"), weight=quantity(weight, "kg")).value
            else:
                missing.append("height and weight (for body-surface area)")
                return None
        per_area: Quantity = dose / area
        return per_area
    raise InputError("cumulative", format_quantity(dose), f"a dose comparable with {format_quantity(limit)}")
