"""The drug-neurotoxicity table: look-up and cumulative-exposure checks."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping

import attrs

from . import model as m
from ._criteria import FactValue
from ._loading import Catalog, catalog
from .exceptions import InputError, UnknownAgentError
from .patient import Medication, Patient
from .units import Quantity, format_quantity, get_registry, parse_quantity, parse_unit

__all__ = ["Exposure", "exposure_check", "neurotoxicity", "neurotoxicity_table"]

TABLE_ID = "drug-neurotoxicity"


def neurotoxicity_table(*, as_of: dt.date | None = None, source: Catalog | None = None) -> tuple[m.NeurotoxicityRule, ...]:
    """Return every entry of the neurotoxicity table (version in effect on ``as_of``, else latest)."""
    cat = source if source is not None else catalog()
    g = cat.get(TABLE_ID, as_of=as_of)
    return tuple(r for r in g.rules if isinstance(r, m.NeurotoxicityRule))


@functools.cache
def _index(entries: tuple[m.NeurotoxicityRule, ...]) -> Mapping[str, m.NeurotoxicityRule]:
    index: dict[str, m.NeurotoxicityRule] = {}
    for rule in entries:
        for key in (rule.agent, rule.rxnorm, rule.id, *rule.synonyms):
            index[key.lower()] = rule
    return index


def neurotoxicity(name: str, *, as_of: dt.date | None = None, source: Catalog | None = None) -> m.NeurotoxicityRule:
    """Find a table entry by name, synonym or RxNorm code (case-insensitive).

    Raises:
        UnknownAgentError: no such drug; the message suggests close names.
    """
    index = _index(neurotoxicity_table(as_of=as_of, source=source))
    rule = index.get(name.strip().lower())
    if rule is None:
        raise UnknownAgentError(name, index)
    return rule


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
    dose given in mg is divided by ``bsa`` (or Mosteller BSA from height and
    weight in ``facts``). Unknown parts are reported as missing.
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
                past = bool(dose > limit)
                verdicts.append(past)
                reasons.append(
                    f"cumulative {format_quantity(dose.to(limit.units), 1)} "
                    f"{'>' if past else '≤'} threshold {format_quantity(limit)}"
                )
    if rule.duration_threshold is not None:
        if med.started is None or as_of is None:
            missing.append(f"start date of {med.agent}")
        else:
            end = med.stopped or as_of
            limit_date = rule.duration_threshold.add_to(med.started)
            past = end > limit_date
            verdicts.append(past)
            days = (end - med.started).days
            reasons.append(f"{days} days of therapy {'>' if past else '≤'} {rule.duration_threshold}")
    if any(verdicts):
        result: bool | None = True
    elif verdicts and not missing:
        result = False
    else:
        result = None if missing else False
    return Exposure(past_threshold=result, reasons=tuple(reasons), missing=tuple(missing))


def _per_area_if_needed(
    dose: Quantity,
    limit: Quantity,
    facts: Mapping[str, FactValue],
    bsa: Quantity | None,
    missing: list[str],
) -> Quantity | None:
    if dose.dimensionality == limit.dimensionality:
        return dose
    mass = parse_unit("mg").dimensionality
    if dose.dimensionality == mass and limit.dimensionality == parse_unit("mg/m2").dimensionality:
        area = bsa
        if area is None:
            height, weight = facts.get("height"), facts.get("weight")
            if isinstance(height, float) and isinstance(weight, float):
                from .calculators import bsa_mosteller

                area = bsa_mosteller(height=get_registry().Quantity(height, "cm"), weight=get_registry().Quantity(weight, "kg")).value
            else:
                missing.append("height and weight (for body-surface area)")
                return None
        return dose / area
    raise InputError("cumulative", format_quantity(dose), f"a dose comparable with {format_quantity(limit)}")


def parse_dose(text: str) -> Quantity:
    """Parse a cumulative dose string (mass or mass per area)."""
    return parse_quantity(text, "cumulative")
