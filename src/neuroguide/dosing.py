"""Dose checking with units: is a dose within the cited range, above it, or a likely unit error?"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Mapping

import attrs

from . import model as m
from ._criteria import FactValue
from ._loading import Catalog, catalog
from .exceptions import IncompatibleUnitsError, InputError, UnknownAgentError
from .patient import Medication, Patient
from .units import Quantity, format_quantity, get_registry, magnitude, parse_quantity

__all__ = ["DoseVerdict", "Verdict", "check_dose", "dosing_rules", "medication_verdicts"]


class Verdict(enum.StrEnum):
    """The outcome of a dose check."""

    WITHIN = "within-range"
    BELOW = "below-range"
    ABOVE = "above-maximum"
    IMPLAUSIBLE = "implausible"
    NOT_COVERED = "not-covered"


@attrs.frozen(kw_only=True)
class DoseVerdict:
    """A dose check's answer, with the rule, its citation and the expected range in the caller's units."""

    verdict: Verdict
    agent: str
    given: str
    expected: str
    message: str
    rule: str | None = None
    guideline: str | None = None
    version: str | None = None
    citation: str | None = None
    renal_band: str | None = None

    @property
    def ok(self) -> bool:
        """True when the dose is within the cited range."""
        return self.verdict is Verdict.WITHIN


_PER = {"day": m.Period(1, "day"), "week": m.Period(1, "week"), "month": m.Period(1, "month")}
# Calendar-free conversion of a dose rate to per-day, for comparison only.
_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


def dosing_rules(*, as_of: dt.date | None = None, source: Catalog | None = None) -> tuple[tuple[m.Guideline, m.DosingRule], ...]:
    """Every dosing rule in the guidelines in effect (or latest), with its guideline."""
    cat = source if source is not None else catalog()
    guidelines = cat.in_effect(as_of) if as_of is not None else [cat.get(gid) for gid in cat.ids() if _has_released(cat, gid)]
    return tuple((g, r) for g in guidelines for r in g.rules if isinstance(r, m.DosingRule) and r.status is m.Status.APPROVED)


def _has_released(cat: Catalog, gid: str) -> bool:
    try:
        cat.get(gid)
    except LookupError:
        return False
    return True


def check_dose(
    agent: str,
    dose: Quantity | str,
    *,
    per: str = "day",
    route: str | None = None,
    indication: str | None = None,
    crcl: Quantity | str | None = None,
    patient: Patient | None = None,
    as_of: dt.date | None = None,
    source: Catalog | None = None,
) -> DoseVerdict:
    """Check one dose of ``agent`` given per ``per`` against the cited regimens.

    Args:
        agent: drug name or synonym (case-insensitive).
        dose: amount per ``per`` period, e.g. ``"350 ug"``.
        per: ``"day"``, ``"week"`` or ``"month"``.
        route: e.g. ``"oral"``, ``"intramuscular"``; narrows the regimens.
        indication: narrows the regimens when given.
        crcl: creatinine clearance, for renally adjusted agents.
        patient: alternatively, a patient whose creatinine clearance is derived.
        as_of: choose the guideline versions in effect on this date.

    Raises:
        UnknownAgentError: no regimen names the agent.
        IncompatibleUnitsError: the dose is not an amount (mass or IU).
        InputError: ``per`` is not day, week or month.
    """
    if per not in _PER:
        raise InputError("per", per, "'day', 'week' or 'month'")
    q = parse_quantity(dose, "dose")
    pairs = [(g, r) for g, r in dosing_rules(as_of=as_of, source=source) if _names(r, agent)]
    if not pairs:
        known = {r.agent for _, r in dosing_rules(as_of=as_of, source=source)}
        raise UnknownAgentError(agent, known)
    amount_dim = pairs[0][1].plausible_max.dimensionality
    if q.dimensionality != amount_dim:
        raise IncompatibleUnitsError("dose", format_quantity(q), f"an amount per {per} such as '300 mg' (a mass, or IU where the regimen uses IU)")
    if route is not None:
        pairs = [(g, r) for g, r in pairs if r.route == route] or []
    if indication is not None:
        pairs = [(g, r) for g, r in pairs if indication.lower() in r.indication.lower()] or pairs
    given = f"{format_quantity(q)} per {per}"
    if not pairs:
        return DoseVerdict(
            verdict=Verdict.NOT_COVERED, agent=agent, given=given, expected="no regimen for this route",
            message=f"No cited {agent} regimen for route {route!r}; not checked.",
        )
    crcl_value = _crcl(crcl, patient, as_of)
    per_day = magnitude(q, "mg" if "[mass]" in str(amount_dim) else "IU") / _DAYS[per]
    verdicts = [_check(g, r, q, per, per_day, crcl_value) for g, r in pairs]
    for wanted in (Verdict.WITHIN, Verdict.BELOW, Verdict.ABOVE, Verdict.IMPLAUSIBLE):
        for v in verdicts:
            if v.verdict is wanted:
                return v
    return verdicts[0]


def _names(rule: m.DosingRule, agent: str) -> bool:
    return agent.strip().lower() in {rule.agent.lower(), *(s.lower() for s in rule.synonyms)}


def _crcl(crcl: Quantity | str | None, patient: Patient | None, as_of: dt.date | None) -> float | None:
    if crcl is not None:
        return magnitude(parse_quantity(crcl, "crcl", "mL/min"), "mL/min")
    if patient is not None:
        if as_of is None:
            raise InputError("as_of", None, "an evaluation date when a patient is given")
        from ._facts import derive

        value = derive(patient, as_of).get("crcl")
        return value if isinstance(value, float) else None
    return None


def _per_day(q: Quantity | None, rule: m.DosingRule, unit: str) -> float | None:
    if q is None:
        return None
    return magnitude(q, unit) / _DAYS[rule.per.unit] / rule.per.count


def _show(per_day: float, unit: str, per: str) -> str:
    value = get_registry().Quantity(per_day * _DAYS[per], unit)
    return format_quantity(value)


def _check(g: m.Guideline, rule: m.DosingRule, q: Quantity, per: str, per_day: float, crcl: float | None) -> DoseVerdict:
    from .evaluation import short_citation

    unit = "mg" if "[mass]" in str(rule.plausible_max.dimensionality) else "IU"
    low = _per_day(rule.dose_min, rule, unit)
    high = _per_day(rule.maximum or rule.dose_max, rule, unit)
    band_label = None
    if rule.renal:
        band = _renal_band(rule, crcl)
        if band is None:
            return DoseVerdict(
                verdict=Verdict.NOT_COVERED, agent=rule.agent, given=f"{format_quantity(q)} per {per}",
                expected="creatinine clearance needed for the renal dosing table",
                message=f"{rule.agent}: dose depends on creatinine clearance, which is not known.",
                rule=rule.id, guideline=g.id, version=g.version, citation=short_citation(rule, g),
            )
        band_label = band.label
        low = _per_day(band.daily_min, rule, unit) if band.daily_min is not None else None
        high = _per_day(band.daily_max, rule, unit) if band.daily_max is not None else None
    implausible = _per_day(rule.plausible_max, rule, unit)
    assert implausible is not None
    parts = []
    if low is not None:
        parts.append(f"from {_show(low, unit, per)}")
    if high is not None:
        parts.append(f"to {_show(high, unit, per)}")
    expected = f"{' '.join(parts) or 'no range'} per {per}" + (f" (CrCl band {band_label})" if band_label else "")
    common = {
        "agent": rule.agent, "given": f"{format_quantity(q)} per {per}", "expected": expected, "rule": rule.id,
        "guideline": g.id, "version": g.version, "citation": short_citation(rule, g), "renal_band": band_label,
    }
    if per_day > implausible:
        factor = per_day / high if high else None
        times = f" ({factor:,.0f} times the maximum)" if factor and factor >= 10 else ""
        return DoseVerdict(
            verdict=Verdict.IMPLAUSIBLE,
            message=f"{rule.agent} {common['given']} is implausible{times}: likely a unit error (mg for ug?). Expected {expected}.",
            **common,  # type: ignore[arg-type]
        )
    if high is not None and per_day > high * (1 + 1e-9):
        return DoseVerdict(verdict=Verdict.ABOVE, message=f"{rule.agent} {common['given']} is above the cited maximum; expected {expected}.", **common)  # type: ignore[arg-type]
    if low is not None and per_day < low * (1 - 1e-9):
        return DoseVerdict(verdict=Verdict.BELOW, message=f"{rule.agent} {common['given']} is below the cited range; expected {expected}.", **common)  # type: ignore[arg-type]
    return DoseVerdict(verdict=Verdict.WITHIN, message=f"{rule.agent} {common['given']} is within the cited range ({expected}).", **common)  # type: ignore[arg-type]


def _renal_band(rule: m.DosingRule, crcl: float | None) -> m.RenalBand | None:
    if crcl is None:
        return None
    for band in rule.renal:
        lo = magnitude(band.crcl_lower, "mL/min") if band.crcl_lower is not None else None
        hi = magnitude(band.crcl_upper, "mL/min") if band.crcl_upper is not None else None
        if lo is not None and (crcl < lo or (crcl == lo and not band.lower_inclusive)):
            continue
        if hi is not None and (crcl > hi or (crcl == hi and not band.upper_inclusive)):
            continue
        return band
    return None


def medication_verdicts(
    rule: m.DosingRule, meds: Iterable[Medication], facts: Mapping[str, FactValue]
) -> Iterator[tuple[Medication, DoseVerdict]]:
    """Check each medication with a dose against one rule (used by ``assess``)."""
    crcl = facts.get("crcl")
    for med in meds:
        if med.dose is None or med.per is None:
            continue
        if med.route is not None and med.route != rule.route:
            continue
        from .evaluation import short_citation  # noqa: F401 - keeps import order simple

        g = _guideline_of(rule)
        per_day = magnitude(med.dose, "mg" if "[mass]" in str(rule.plausible_max.dimensionality) else "IU") / _DAYS[med.per]
        try:
            yield med, _check(g, rule, med.dose, med.per, per_day, crcl if isinstance(crcl, float) else None)
        except IncompatibleUnitsError:
            continue


def _guideline_of(rule: m.DosingRule) -> m.Guideline:
    cat = catalog()
    for g in cat.all():
        if rule in g.rules:
            return g
    raise LookupError(rule.id)  # pragma: no cover - rules come from the catalog
