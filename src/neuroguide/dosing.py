"""Dose checking with units: within the cited range, above it, or a likely unit error.

Conventions (stated once here, and in each rule's ``boundary``):

* A dose is an amount per period: a mass (or IU) with ``per="day"|"week"|"month"``, or a rate such as
  ``"300 mg/day"``. A bare mass without a period is refused, because the same mass means different
  things per day and per week. Doses are compared per day (a month is 365.25/12 days).
* ``plausible_max`` of a rule is the amount per period above which an entry is reported as a likely unit
  error (e.g. mg typed for ug), not as an overdose.
* Renal banding: creatinine clearance is Cockcroft–Gault (the labels' equation). Each rule states how
  it meets its bands (``crcl_comparison``). ``"exact"`` (drug-dosing 2026.2 on): the unrounded value is
  compared with bands that leave no gap (the rule's ``boundary`` says which printed row each gap of the
  label joins); a value in no band is not checked. ``"truncate"`` (0.1.0 files): CrCl is truncated to a
  whole mL/min and a value in no printed band goes to the band below it. In both, where bands share an
  edge the band with the lower daily maximum wins, and a band whose regimen says "in proportion to
  creatinine clearance" scales the row at its upper edge by CrCl / edge (7.5 mL/min -> one half of the
  15 mL/min row, the Neurontin label's own example). A band marked ``avoid`` reports any dose as
  "avoid" (duloxetine below 30 mL/min).
* Dosing weight: the patient's derived ``crcl`` uses actual body weight, and every renal verdict says so.
  When actual weight is more than 130 % of ideal body weight (Devine) the verdict also shows CrCl from
  ideal and from adjusted body weight (IBW + 0.4 x excess); if the dose would be out of range at either,
  the verdict is "weight-dependent" instead of "within-range". The 130 % trigger is a calculator
  convention (ClinCalc), not a label statement: the labels do not state a weight basis.
* Duplicate therapy: in ``assess`` the current medications that name the same drug (brand, generic, salt,
  extended-release or combination product) are summed into one daily exposure, checked as one dose and
  flagged "duplicate therapy".
* Among several regimens for the same agent and route, the answer is the regimen the dose fits; if it fits
  none, the nearest one (by fold distance); a likely unit error only if every regimen finds it implausible.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import itertools
import math
import re
import struct
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from . import model as m
from ._agents import agent_names, is_combination, is_modified_release, key, names_agent, same_agent
from ._cache import IdentityCache
from ._criteria import FactValue
from ._facts import derive_flagged
from ._loading import Catalog, catalog
from .exceptions import IncompatibleUnitsError, InputError, NotInEffectError, UnitError, UnknownAgentError, raise_all
from .formulas import ABW_FACTOR, crcl_from_floats, ibw_kg
from .patient import Flag, Medication, Patient
from .units import (
    Quantity,
    base_names,
    dimension,
    dimension_of,
    format_quantity,
    magnitude,
    parse_quantity,
    scale,
    unit_name,
    unit_symbol,
)

__all__ = [
    "CrClInterval",
    "DoseIntervals",
    "DoseVerdict",
    "NoRegimenError",
    "Verdict",
    "check_dose",
    "dialysis_decides",
    "dose_intervals",
    "dosing_rules",
    "medication_intervals",
    "medication_verdicts",
    "normalize_route",
    "renal_band",
    "truncate_crcl",
    "weight_alternatives",
    "weight_dependent",
]


class Verdict(enum.StrEnum):
    """The outcome of a dose check."""

    WITHIN = "within-range"
    BELOW = "below-range"
    ABOVE_RANGE = "above-range"
    """Above the cited range where the source states no maximum (not an overdose by the source's words)."""
    ABOVE = "above-maximum"
    IMPLAUSIBLE = "implausible"
    NOT_COVERED = "not-covered"
    AVOID = "avoid"
    """The source says not to use the drug at this renal function (e.g. duloxetine below CrCl 30 mL/min)."""
    WEIGHT_DEPENDENT = "weight-dependent"
    """Within range at CrCl from actual weight, out of range at CrCl from ideal or adjusted weight."""


#: Actual weight above this percentage of ideal body weight triggers the dosing-weight warning. A stated
#: convention (ClinCalc's adjusted-weight trigger: "more than 30% above their IBW"); no label gives one.
OBESITY_PERCENT_OF_IBW = 130.0


# Not slotted: a verdict is written with one dictionary (see ``_verdict``) rather than sixteen slot stores.
@attrs.frozen(kw_only=True, slots=False)
class DoseVerdict:
    """A dose check's answer, with the rule, its citation and the expected range in the caller's units.

    ``notes`` carry advice that does not change the verdict (titration target, timing, hemodialysis
    supplement, label status); ``missing`` names facts that would let the check decide (``crcl``).
    """

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
    crcl: float | None = None
    labelled: bool | None = None
    notes: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    crcl_basis: str | None = None
    """The dosing weight behind ``crcl`` (e.g. "actual body weight"), or "given" when CrCl was given."""
    duplicate: tuple[str, ...] = ()
    """Medication entries summed into this dose (duplicate therapy), as written in the record."""
    rule_status: str | None = None
    """The status of ``rule`` (``"in-review"``: its source text is not yet verified; only evaluated when asked
    for, e.g. ``statuses=("approved", "in-review")``); ``None`` without a rule."""
    dialysis_unbanded: bool = False
    """True when the patient is on dialysis and CrCl is not known, so the renal table's row is not decided.

    The message then names the table's lowest rows to check the dose against, and a CDS card shows a warning.
    On dialysis a serum creatinine does not make CrCl known: Cockcroft–Gault presumes stable renal function,
    so neuroguide does not estimate CrCl from it (only a CrCl given directly is used)."""
    dialysis_row: bool = False
    """True when ``renal_band`` was chosen because the patient is on dialysis (the source puts dialysis in that
    avoid row, duloxetine), not by a creatinine clearance."""
    indication_open: bool = False
    """True when the indication did not choose between cited regimens that share one renal table (gabapentin).

    The table is checked and no regimen's own indication, titration target or label status is claimed: ``rule``
    names the regimen whose copy of the table was used, ``labelled`` is ``None`` and a note says so."""

    @property
    def ok(self) -> bool:
        """True when the dose is within the cited range."""
        return self.verdict is Verdict.WITHIN


# A verdict written as DoseVerdict's own __init__ would write it, but as one copy of the rule's template (its
# instance dictionary with the fields only the rule decides, see ``_template``) and a store of the fields the
# answer sets, instead of parsing sixteen keyword arguments and storing each field (most of a verdict's cost on
# the dose check's hot path). A test holds it equal to DoseVerdict(...) and checks that DoseVerdict still has
# these fields and no validator, converter or post-init step this would skip.
_NEW = object.__new__
_STORE = object.__setattr__
# The fields only the rule and its guideline decide: agent, rule, guideline, version, citation, labelled, status.
_Fields = tuple[str, str, str, str, str, bool | None, str]


def _verdict(
    verdict: Verdict,
    expected: str,
    message: str,
    notes: tuple[str, ...],
    fields: dict[str, Any],
    given: str,
    crcl: float | None,
    renal_band: str | None,
    crcl_basis: str | None,
    missing: tuple[str, ...],
) -> DoseVerdict:
    """``DoseVerdict(...)`` of one regimen's answer; ``fields`` is the rule's template (see :func:`_template`)."""
    d = fields.copy()  # the template's keys in field order: stores below replace values, keeping that order
    d["verdict"] = verdict
    d["given"] = given
    d["expected"] = expected
    d["message"] = message
    # The template holds each default: only a field the answer sets is stored.
    if notes:
        d["notes"] = notes
    if crcl is not None:
        d["crcl"] = crcl
    if renal_band is not None:
        d["renal_band"] = renal_band
    if crcl_basis is not None:
        d["crcl_basis"] = crcl_basis
    if missing:
        d["missing"] = missing
    v: DoseVerdict = _NEW(DoseVerdict)
    _STORE(v, "__dict__", d)
    return v


def _template(fields: _Fields) -> dict[str, Any]:
    """A verdict's instance dictionary: the rule's fields, every other field at its default.

    The rule's fields are agent, rule, guideline, version, citation, labelled and the rule's status;
    :func:`_verdict` stores the answer's own fields over the defaults.
    """
    return {
        "verdict": Verdict.NOT_COVERED,
        "agent": fields[0],
        "given": "",
        "expected": "",
        "message": "",
        "rule": fields[1],
        "guideline": fields[2],
        "version": fields[3],
        "citation": fields[4],
        "renal_band": None,
        "crcl": None,
        "labelled": fields[5],
        "notes": (),
        "missing": (),
        "crcl_basis": None,
        "duplicate": (),
        "rule_status": fields[6],
        "dialysis_unbanded": False,
        "dialysis_row": False,
        "indication_open": False,
    }


_PERIODS = ("day", "week", "month")
# Calendar-free length of a period in days, for comparing rates only.
_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}
_EPS = 1e-9

# Route spellings -> canonical route. "sublingual" counts as oral: the cited B12 regimens list
# "disintegrating tablet, sublingual, or liquid" together under oral.
_ROUTES = {
    "oral": "oral",
    "po": "oral",
    "by mouth": "oral",
    "sublingual": "oral",
    "sl": "oral",
    "intramuscular": "intramuscular",
    "im": "intramuscular",
    "intravenous": "intravenous",
    "iv": "intravenous",
    "subcutaneous": "subcutaneous",
    "sc": "subcutaneous",
    "sq": "subcutaneous",
    "subcut": "subcutaneous",
    "parenteral": "parenteral",
}
_PARENTERAL = frozenset({"intramuscular", "intravenous", "subcutaneous", "parenteral"})

# Common abbreviations of indications -> words that must appear in a rule's indication.
_INDICATION_ALIASES = {
    "dpn": "diabetic peripheral neuropathy",
    "dpnp": "diabetic peripheral neuropathic pain",
    "pdn": "diabetic neuropathy",
    "phn": "postherpetic neuralgia",
    "we": "wernicke",
    "oh": "orthostatic hypotension",
    "noh": "neurogenic orthostatic hypotension",
}


def normalize_route(route: str, field: str = "route") -> str:
    """Return the canonical route for a spelling such as ``"PO"``, ``"IM"`` or ``"sublingual"``.

    Raises:
        InputError: the route is not one neuroguide knows.

    """
    found = _ROUTES.get(route.strip().lower())
    if found is None:
        raise InputError(field, route, f"a route: one of {', '.join(sorted(_ROUTES))}")
    return found


def _route_matches(rule_route: str, given: str) -> bool:
    r, g = normalize_route(rule_route), given
    return r == g or (r == "parenteral" and g in _PARENTERAL) or (g == "parenteral" and r in _PARENTERAL)


def _indication_matches(rule: m.DosingRule, indication: str) -> bool:
    text = rule.indication.lower()
    wanted = indication.strip().lower()
    wanted = _INDICATION_ALIASES.get(wanted, wanted)
    if wanted in text:
        return True
    # Otherwise every given word must be a whole word of the rule's indication ("with" is not "without").
    words = [w for w in re.findall(r"[a-z0-9]+", wanted) if len(w) > 2]
    return bool(words) and set(words) <= set(re.findall(r"[a-z0-9]+", text))


_APPROVED: tuple[m.Status, ...] = (m.Status.APPROVED,)
"""The default rule statuses (as ``assess``'s): approved rules only."""


def _wanted(statuses: Iterable[m.Status | str]) -> frozenset[m.Status] | None:
    """The rule statuses asked for; ``None`` for approved only (the default, kept on the fast path)."""
    if statuses is _APPROVED:
        return None
    if isinstance(statuses, str | bytes) or not isinstance(statuses, Iterable):
        raise InputError("statuses", statuses, "a list of rule statuses, e.g. ['approved']")
    given = tuple(statuses)  # once: an iterator shown in the error would be half used up
    if not given:  # no regimen could be checked against
        raise InputError("statuses", given, "at least one rule status, e.g. ['approved']")
    try:
        found = frozenset(m.Status(s) for s in given)
    except (ValueError, TypeError):  # TypeError: an unhashable value ([]) is looked up in the enum's table
        raise InputError("statuses", given, f"rule statuses from {', '.join(s.value for s in m.Status)}") from None
    return None if found == {m.Status.APPROVED} else found


def dosing_rules(
    *, as_of: dt.date | None = None, source: Catalog | None = None, statuses: Iterable[m.Status | str] = _APPROVED
) -> tuple[tuple[m.Guideline, m.DosingRule], ...]:
    """Every dosing rule of ``statuses`` (approved only by default) in the guidelines in effect on ``as_of``.

    Args:
        as_of: choose the guideline versions in effect on this date; ``None`` for the latest released.
        source: a catalog other than the packaged one.
        statuses: rule statuses to include, as for :func:`neuroguide.assess` (e.g. ``("approved", "in-review")``).

    Returns:
        ``(guideline, rule)`` pairs in catalog order.

    """
    cat = source if source is not None else catalog()
    return _rules_of(cat, as_of, _wanted(statuses))


def _rules_of(
    cat: Catalog, as_of: dt.date | None, wanted: frozenset[m.Status] | None
) -> tuple[tuple[m.Guideline, m.DosingRule], ...]:
    # A catalog does not change once loaded: its dosing rules per date (and statuses) are worked out once.
    if wanted is None:
        return _memo(_RULES, cat, as_of, lambda: _dosing_rules(cat, as_of, None))
    return _memo(_RULES, cat, (as_of, wanted), lambda: _dosing_rules(cat, as_of, wanted))


def _dosing_rules(
    cat: Catalog, as_of: dt.date | None, wanted: frozenset[m.Status] | None
) -> tuple[tuple[m.Guideline, m.DosingRule], ...]:
    if as_of is not None:
        guidelines = cat.in_effect(as_of)
    else:
        guidelines = [cat.get(gid) for gid in cat.ids() if _has_released(cat, gid)]
    return tuple(
        (g, r)
        for g in guidelines
        for r in g.rules
        if isinstance(r, m.DosingRule) and (r.status is m.Status.APPROVED if wanted is None else r.status in wanted)
    )


_Pairs = tuple[tuple[m.Guideline, m.DosingRule], ...]
_T = TypeVar("_T")
# Values worked out once per object (a catalog, a rule set, a rule) and key: keyed by the object's
# id(), with the object kept beside the value so the id cannot be reused while the entry lives.
_RULES: dict[tuple[int, Hashable], tuple[object, Any]] = {}
_NAMED: dict[tuple[int, Hashable], tuple[object, Any]] = {}
_ROUTED: dict[tuple[int, Hashable], tuple[object, Any]] = {}
_CITED: dict[tuple[int, Hashable], tuple[object, Any]] = {}
_FOR: dict[tuple[int, Hashable], tuple[object, Any]] = {}


def _memo(
    table: dict[tuple[int, Hashable], tuple[object, Any]], owner: object, key: Hashable, make: Callable[[], _T]
) -> _T:
    slot = (id(owner), key)
    hit = table.get(slot)
    if hit is not None and hit[0] is owner:
        found: _T = hit[1]
        return found
    value = make()
    if len(table) >= 1024:
        table.clear()
    table[slot] = (owner, value)
    return value


def _fields(g: m.Guideline, rule: m.DosingRule) -> dict[str, Any]:
    """The verdict template of the rule and its guideline (:func:`_template`), kept per rule and guideline."""
    hit = _CITED.get((id(rule), id(g)))
    if hit is not None and hit[0] is rule and hit[1][0] is g:
        fields: dict[str, Any] = hit[1][1]
        return fields
    return _memo(_CITED, rule, id(g), lambda: (g, _template(_rule_fields(g, rule))))[1]


def _rule_fields(g: m.Guideline, rule: m.DosingRule) -> _Fields:
    return (rule.agent, rule.id, g.id, g.version, m.short_citation(rule, g), rule.labelled, rule.status.value)


def _naming(rules: _Pairs, agent: str) -> _Pairs:
    """The rules that name ``agent`` (kept per rule set and spelling)."""
    return _memo(_NAMED, rules, agent, lambda: tuple((g, r) for g, r in rules if names_agent(r, agent)))


def _has_released(cat: Catalog, gid: str) -> bool:
    try:
        cat.get(gid)
    except LookupError:
        return False
    return True


def _crcl_text(rule: m.DosingRule, crcl: float) -> str:
    """CrCl as the rule compares it, for messages (one decimal unrounded, or the truncated whole number)."""
    return f"{crcl:.1f}" if rule.crcl_comparison == "exact" else str(truncate_crcl(crcl))


def truncate_crcl(crcl: float) -> int:
    """Return creatinine clearance truncated to a whole mL/min (59.9 -> 59), the banding convention.

    A tiny tolerance absorbs binary noise (59.99999999999 computed for 60 stays 60).
    """
    return math.floor(crcl + 1e-9)


# -- amounts and rates ------------------------------------------------------------------------------


@attrs.frozen
class _Amount:
    """A dose as an amount per day in the rule family's unit, plus how the caller wrote it."""

    per_day: float
    unit: str  # the caller's amount unit, for display ("mg", "ug", "g")
    per: str  # the caller's period word, for display
    given: str


def _amount_unit(rule: m.DosingRule) -> str:
    return _numbers(rule).base


@attrs.frozen
class _Band:
    """A renal band's numbers: CrCl edges in mL/min, daily dose limits in mg."""

    lower: float | None
    upper: float | None
    daily_min: float | None
    daily_max: float | None


# A renal band and its dose limits (daily min, max in the rule's unit, and how they were found), or no band.
_View = tuple[m.RenalBand | None, tuple[float | None, float | None, str] | None]


@attrs.frozen
class _RuleNumbers:
    """A dosing rule's numbers as floats in canonical units, worked out once per rule."""

    base: str  # the family's amount unit: "mg" or "IU"
    native: str  # the unit the source writes doses in, for showing ranges
    implausible: float  # per day, in base
    maximum: float | None
    low: float | None
    target: float | None  # dose_max per day
    notes: tuple[str, ...]  # the label notes every verdict of the rule carries
    table_max: float | None  # the most the rule allows at any renal function (mg per day)
    avoid: tuple[m.RenalBand, ...]
    usable: tuple[m.RenalBand, ...]
    dialysis_band: m.RenalBand | None  # the (avoid) row the source puts a patient on dialysis in, whatever the CrCl
    bands: tuple[_Band, ...]  # in the order of rule.renal
    by_band: Mapping[int, _Band]  # by id() of the band (the rule keeps its bands alive)
    # Worked out once for _score (the fast path) and _check (the explained path).
    renal: bool  # the rule has a renal table
    implausible_cut: float  # implausible x (1 + _EPS): above it a dose is implausible
    regimen: str  # the regimen as verdicts name it (without a renal band)
    band_regimen: Mapping[int, str]  # with a renal band: by id() of the band
    high: float | None  # the top of the range without a renal table: the maximum, else the target
    high_is_max: bool
    unknown_limits: tuple[float | None, float | None] | None  # CrCl unknown, avoid rows beside one range
    exact: bool  # CrCl is compared unrounded (else truncated to a whole mL/min)
    # The band and dose limits of each CrCl as banded (see _view_of), kept: a pure function of the rule and it.
    views: dict[float, _View] = attrs.field(factory=dict, eq=False, repr=False)


# By id() of the rule, with the rule kept beside its numbers so the id cannot be reused.
_NUMBERS: dict[int, tuple[m.DosingRule, _RuleNumbers]] = {}


def _numbers(rule: m.DosingRule) -> _RuleNumbers:
    hit = _NUMBERS.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    numbers = _rule_numbers(rule)
    if len(_NUMBERS) >= 1024:
        _NUMBERS.clear()
    _NUMBERS[id(rule)] = (rule, numbers)
    return numbers


def _rule_numbers(rule: m.DosingRule) -> _RuleNumbers:
    base = "IU" if "international_unit" in base_names(rule.plausible_max) else "mg"
    days = _DAYS[rule.per.unit] * rule.per.count

    def per_day(q: Quantity | None) -> float | None:
        return None if q is None else magnitude(q, base) / days

    def mg(q: Quantity | None) -> float | None:
        return None if q is None else magnitude(q, "mg")

    def ml_min(q: Quantity | None) -> float | None:
        return None if q is None else magnitude(q, "mL/min")

    implausible = per_day(rule.plausible_max)
    assert implausible is not None  # plausible_max is required
    bands = tuple(
        _Band(ml_min(b.crcl_lower), ml_min(b.crcl_upper), mg(b.daily_min), mg(b.daily_max)) for b in rule.renal
    )
    source = rule.dose_max or rule.dose_min or rule.maximum or rule.plausible_max
    notes: list[str] = []
    if rule.labelled is False:
        note = rule.label_note or "not labelled for this indication"
        notes.append(note if note.lower().startswith("off-label") else f"off-label: {note}")
    elif rule.label_note:
        notes.append(rule.label_note)  # e.g. a renal caution the label gives without a number
    if rule.timing:
        notes.append(f"timing: {rule.timing}")
    maximum = per_day(rule.maximum)
    band_maxima = [b.daily_max for b in bands if b.daily_max is not None]
    avoid = tuple(b for b in rule.renal if b.avoid)
    usable = tuple(b for b in rule.renal if not b.avoid)
    by_band = {id(b): n for b, n in zip(rule.renal, bands, strict=True)}
    unknown_limits = None
    if avoid and len(usable) == 1:
        # What _check asks _band_limits for when CrCl is unknown: the one range, at CrCl 300.
        lo, hi, _ = _limits_of(rule, usable[0], 300.0, lambda b: by_band[id(b)])
        unknown_limits = (lo, hi)
    return _RuleNumbers(
        exact=rule.crcl_comparison == "exact",
        renal=bool(rule.renal),
        implausible_cut=implausible * (1 + _EPS),
        regimen=f"{rule.title} ({rule.frequency})",
        band_regimen={id(b): f"{b.regimen} (CrCl band {b.label}; {rule.title})" for b in rule.renal},
        high=maximum if maximum is not None else per_day(rule.dose_max),
        high_is_max=maximum is not None,
        unknown_limits=unknown_limits,
        notes=tuple(notes),
        table_max=max([*band_maxima, *([maximum] if maximum is not None else [])], default=None),
        avoid=avoid,
        usable=usable,
        dialysis_band=next((b for b in rule.renal if b.dialysis is not None), None),
        base=base,
        native=unit_symbol(source),
        implausible=implausible,
        maximum=maximum,
        low=per_day(rule.dose_min),
        target=per_day(rule.dose_max),
        bands=bands,
        by_band=by_band,
    )


def _band_numbers(rule: m.DosingRule, band: m.RenalBand) -> _Band:
    found = _numbers(rule).by_band.get(id(band))
    if found is None:  # a band not of this rule (renal_band is public): worked out here
        return _Band(
            magnitude(band.crcl_lower, "mL/min") if band.crcl_lower is not None else None,
            magnitude(band.crcl_upper, "mL/min") if band.crcl_upper is not None else None,
            magnitude(band.daily_min, "mg") if band.daily_min is not None else None,
            magnitude(band.daily_max, "mg") if band.daily_max is not None else None,
        )
    return found


def _parse_dose(dose: Quantity | str, per: str | None, base: str) -> _Amount:
    if type(dose) is str and (per is None or type(per) is str):
        return _parse_dose_text(dose, per, base)
    return _read_dose(dose, per, base)


def _read_dose(dose: Quantity | str, per: str | None, base: str) -> _Amount:
    q = parse_quantity(dose, "dose")
    amount_dim = dimension(base)
    rate_dim = dimension(f"{base}/day")
    if per is not None and per not in _PERIODS:
        raise InputError("per", per, "'day', 'week' or 'month'")
    dim = dimension_of(q)
    if dim == amount_dim:
        if per is None:
            raise IncompatibleUnitsError(
                "dose",
                format_quantity(q),
                "an amount per period: a mass needs per='day', 'week' or 'month' (or give a rate such as '300 mg/day')",
            )
        if q.magnitude <= 0:
            raise InputError("dose", format_quantity(q), "a positive dose")
        unit = _amount_symbol(q)
        return _Amount(magnitude(q, base) / _DAYS[per], unit, per, f"{format_quantity(q)} per {per}")
    if dim == rate_dim:
        if q.magnitude <= 0:
            raise InputError("dose", format_quantity(q), "a positive dose")
        per_day = magnitude(q, f"{base}/day")
        unit = _amount_symbol(q)
        shown = per or "day"
        return _Amount(per_day, unit, shown, format_quantity(q))
    kind = "an amount in IU" if base == "IU" else "a mass (mg, ug, g)"
    raise IncompatibleUnitsError("dose", format_quantity(q), f"{kind} per period, or a rate such as '300 mg/day'")


# A dose string's reading is a pure function of the text, period and amount unit: kept (errors are not).
_parse_dose_text = functools.lru_cache(maxsize=1024)(_read_dose)


_TIME_NAMES = frozenset({"day", "week", "month", "hour", "minute", "second", "year"})


def _amount_symbol(q: Quantity) -> str:
    # The amount part of the caller's unit (mg of "mg/day"), used to show ranges in the caller's units:
    # the symbol before the first '/', as format_quantity writes it ("ug/d" -> "ug").
    head = unit_symbol(q).split("/", 1)[0]
    if head and head.isalpha():
        return head
    return "mg"  # pragma: no cover - parse_dose only passes amounts and rates


def _show(per_day: float, base: str, amount: _Amount) -> str:
    value = per_day * _DAYS[amount.per] * scale(base, amount.unit)
    return f"{value:.4g} {amount.unit}"


# -- renal bands ------------------------------------------------------------------------------------


def _inside(band: m.RenalBand, edges: _Band, x: float) -> bool:
    lo, hi = edges.lower, edges.upper
    if lo is not None and (x < lo or (x == lo and not band.lower_inclusive)):
        return False
    return not (hi is not None and (x > hi or (x == hi and not band.upper_inclusive)))


def _banding_value(rule: m.DosingRule, crcl: float) -> float:
    """CrCl as the rule compares it: unrounded ("exact") or truncated to a whole mL/min ("truncate")."""
    return crcl if rule.crcl_comparison == "exact" else float(truncate_crcl(crcl))


def renal_band(rule: m.DosingRule, crcl: float) -> m.RenalBand | None:
    """Return the renal band of ``rule`` for a creatinine clearance in mL/min.

    The rule's ``crcl_comparison`` says whether CrCl is compared unrounded or truncated; shared edges go
    to the band with the lower daily maximum; with truncation a value in no band goes to the nearest band
    below it (see the module docstring).

    Args:
        rule: a dosing rule with renal bands.
        crcl: creatinine clearance in mL/min (not rounded).

    Returns:
        The band, or ``None`` if the rule has no bands or the value lies below every band.

    """
    x = _banding_value(rule, crcl)
    rows = tuple(zip(rule.renal, _numbers(rule).bands, strict=True))
    inside = [(b, n) for b, n in rows if _inside(b, n, x)]
    if inside:
        return min(inside, key=lambda bn: bn[1].daily_max if bn[1].daily_max is not None else math.inf)[0]
    if rule.crcl_comparison == "exact":
        return None  # exact bands leave no gap by construction: nothing is guessed
    below = [(b, n) for b, n in rows if b.crcl_upper is not None and (n.upper or 0.0) <= x]
    if not below:
        return None
    return max(below, key=lambda bn: bn[1].upper or 0.0)[0]


def _band_limits(rule: m.DosingRule, band: m.RenalBand, crcl: float) -> tuple[float | None, float | None, str]:
    """Daily min/max in mg for ``band`` (scaled for proportional bands) and a description."""
    return _limits_of(rule, band, crcl, lambda b: _band_numbers(rule, b))


def _limits_of(
    rule: m.DosingRule, band: m.RenalBand, crcl: float, edges: Callable[[m.RenalBand], _Band]
) -> tuple[float | None, float | None, str]:
    """As :func:`_band_limits`, with each band's numbers from ``edges`` (usable while the rule's are worked out)."""
    numbers = edges(band)
    lo, hi = numbers.daily_min, numbers.daily_max
    if lo is None and hi is None and "in proportion to creatinine clearance" in band.regimen.lower():
        edge = numbers.upper
        # The reference row is the one that contains the edge itself (gabapentin: the row "15").
        ref = next(
            (b for b in rule.renal if edge is not None and b.daily_max is not None and _inside(b, edges(b), edge)),
            None,
        )
        if ref is not None and edge:
            x = _banding_value(rule, crcl)
            if x < 1:
                # Scaling to zero would call every dose too high: the proportional rule does not reach
                # here (anuria, dialysis), so the dose is not checked against a number.
                return None, None, f"band {band.label}: CrCl below 1 mL/min, beyond the label's proportional rule"
            factor = x / edge
            ref_numbers = edges(ref)
            lo = ref_numbers.daily_min * factor if ref_numbers.daily_min is not None else None
            hi = ref_numbers.daily_max * factor if ref_numbers.daily_max is not None else None
            return lo, hi, f"band {band.label}: row {ref.label} x {x:g}/{edge:g}"
    return lo, hi, f"band {band.label}"


def _ceiling(rule: m.DosingRule, band: m.RenalBand) -> float | None:
    """The most a renal band without numbers of its own allows, per day in mg (kept per rule and band).

    A band "in proportion to creatinine clearance" scales its reference row (the row holding its edge) down, never
    up, so that row's maximum bounds it even where no number is worked out (CrCl below 1 mL/min); any other band
    is bounded by the most the rule allows at any renal function.
    """
    return _memo(_CEILINGS, rule, id(band), lambda: _find_ceiling(rule, band))


def _find_ceiling(rule: m.DosingRule, band: m.RenalBand) -> float | None:
    edge = _band_numbers(rule, band).upper
    if edge is not None and "in proportion to creatinine clearance" in band.regimen.lower():
        for ref in rule.renal:
            numbers = _band_numbers(rule, ref)
            if numbers.daily_max is not None and _inside(ref, numbers, edge):
                return numbers.daily_max
    return _numbers(rule).table_max


_CEILINGS: dict[tuple[int, Hashable], tuple[object, Any]] = {}


_NO_VIEW: _View = (None, None)  # no band looked up (no renal table, or CrCl not known)


def _renal_view(rule: m.DosingRule, crcl: float) -> _View:
    """The band of ``crcl`` and its dose limits: a pure function of the rule and CrCl as banded (kept)."""
    return _view_of(rule, _numbers(rule), crcl)


def _view_of(rule: m.DosingRule, n: _RuleNumbers, crcl: float) -> _View:
    """As :func:`_renal_view`, with the rule's numbers ``n`` at hand (kept in ``n.views``, by CrCl as banded)."""
    x = crcl if n.exact else float(truncate_crcl(crcl))  # as _banding_value
    views = n.views
    found = views.get(x)
    if found is None:
        found = _new_view(rule, crcl)
        if len(views) >= 1024:
            views.clear()
        views[x] = found
    return found


def _new_view(rule: m.DosingRule, crcl: float) -> _View:
    band = renal_band(rule, crcl)
    return band, (None if band is None else _band_limits(rule, band, crcl))


# -- the check --------------------------------------------------------------------------------------


def check_dose(
    agent: str,
    dose: Quantity | str,
    *,
    per: str | None = None,
    route: str | None = None,
    indication: str | None = None,
    crcl: Quantity | str | None = None,
    patient: Patient | None = None,
    as_of: dt.date | None = None,
    source: Catalog | None = None,
    statuses: Iterable[m.Status | str] = _APPROVED,
) -> DoseVerdict:
    """Check a dose of ``agent`` against the cited regimens.

    Args:
        agent: drug name or synonym (case-insensitive), e.g. ``"cyanocobalamin"``.
        dose: an amount per ``per`` period (``"350 ug"`` with ``per="day"``), or a rate (``"350 ug/day"``).
        per: ``"day"``, ``"week"`` or ``"month"``; required when ``dose`` is a mass; with a rate it only
            chooses the period the expected range is shown per.
        route: e.g. ``"oral"``, ``"sublingual"`` (= oral), ``"intramuscular"``/``"IM"``, ``"IV"``;
            narrows the regimens.
        indication: narrows the regimens (e.g. ``"dpn"``, ``"postherpetic neuralgia"``).
        crcl: creatinine clearance (Cockcroft–Gault), for renally adjusted agents.
        patient: alternatively, a patient whose ``crcl`` is derived (Cockcroft–Gault with actual body
            weight) and whose ``dialysis`` finding adds the post-hemodialysis supplement note.
        as_of: choose the guideline versions in effect on this date (required with ``patient``).
        source: a catalog other than the packaged one.
        statuses: rule statuses to check against, as for :func:`neuroguide.assess`; with ``"approved"`` and
            ``"in-review"``, a regimen whose source text is not yet verified is used only when no approved
            regimen names the agent (the verdict is then as with approved regimens alone), and its verdict says
            so (``rule_status``).

    Returns:
        The verdict of the best-fitting regimen, with its rule, citation and expected range in the
        caller's units.

    Raises:
        UnknownAgentError: no regimen of ``statuses`` names the agent.
        UnitError: the dose's unit is unknown, or it is not an amount (mass or IU) or a rate of one.
        IncompatibleUnitsError: a mass was given without ``per`` (a rate is needed).
        InputError: ``per`` or ``route`` is not recognised, or ``patient`` is given without ``as_of``.

    """
    if not (
        type(agent) is str
        and patient is None
        and as_of is None
        and (route is None or type(route) is str)
        and (indication is None or (type(indication) is str and indication.strip()))
        and agent.strip()
    ):  # the common call passes every check: the full check (which names each problem) only otherwise
        _check_arguments(agent, route, indication, crcl, patient, as_of)
    if source is not None and not isinstance(source, Catalog):  # else an AttributeError from deep inside
        raise InputError("source", type(source).__name__, "a neuroguide Catalog, or None for the installed guidelines")
    wanted = None if statuses is _APPROVED else _wanted(statuses)
    if wanted is not None and m.Status.APPROVED in wanted and _has_approved(agent, as_of, source):
        # Approved regimens name the agent: they alone decide, as without other statuses and as assess keeps a
        # drug's approved regimens; an unverified regimen must never turn an approved finding into a pass.
        wanted = None
    if patient is None and wanted is None:
        # Regimens already selected for this catalog, date, agent, route and indication: each is decided and
        # the chosen one written as below, without looking the regimens up again.
        cat = source if source is not None else catalog()
        hit = _SELECTED.get((id(cat), as_of, agent, route, indication))
        if hit is not None and hit[0] is cat:
            return _selected_verdict(hit[1], hit[2], dose, per, crcl)
    pairs = _pairs_for(agent, as_of, source, wanted)
    amount = _parse_dose(dose, per, _numbers(pairs[0][1]).base)
    facts: Mapping[str, FactValue] = {}
    flags: tuple[Flag, ...] = ()
    if patient is not None:
        if as_of is None:
            raise InputError("as_of", None, "an evaluation date when a patient is given")
        facts, flags = derive_flagged(patient, as_of)
    if type(crcl) is str:
        crcl_value: float | None = _crcl_of_text(crcl)  # as _crcl does for a string
    else:
        crcl_value = _crcl(crcl, facts) if crcl is not None or facts else None
    dialysis = facts.get("dialysis") is True
    weight = _weight_check(facts) if crcl is None and facts else None
    basis = "given" if crcl is not None else _crcl_basis(facts) if facts else None
    if weight is None:  # as _decide does without a dosing-weight view, one call shorter
        verdict = _best(
            agent, pairs, amount, route=route, indication=indication, crcl=crcl_value, dialysis=dialysis, basis=basis
        )
        if patient is None and wanted is None:
            _select(agent, pairs, route, indication, as_of, source)
    else:
        verdict = _decide(
            agent, pairs, amount, route=route, indication=indication, crcl=crcl_value, dialysis=dialysis,
            weight=weight, basis=basis,
        )  # fmt: skip
    if flags:
        # A flagged input (e.g. a placeholder birth date) was left out: say so beside the verdict.
        verdict = attrs.evolve(verdict, notes=verdict.notes + tuple(f"input not used: {f}" for f in flags))
    return verdict


# The candidate regimens of a check_dose call without a patient, by catalog, date, agent, route and indication (as
# written): the catalog, the agent's amount unit and the regimens. Kept only for a call that selected regimens
# (not for one refused or not covered); emptied when full, which bounds it.
_SELECTED: dict[tuple[int, dt.date | None, str, str | None, str | None], tuple[Catalog, str, tuple[_Regimen, ...]]] = {}


def _select(
    agent: str, pairs: _Pairs, route: str | None, indication: str | None, as_of: dt.date | None, source: Catalog | None
) -> None:
    """Keep the regimens ``check_dose`` selects for these arguments (see ``_SELECTED``)."""
    found = _narrow(agent, pairs, "", route, indication, True)
    if type(found) is DoseVerdict:
        return
    cat = source if source is not None else catalog()
    if len(_SELECTED) >= 1024:
        _SELECTED.clear()
    _SELECTED[id(cat), as_of, agent, route, indication] = (
        cat,
        _numbers(pairs[0][1]).base,
        _choosable(found, indication),  # type: ignore[arg-type]
    )


def _selected_verdict(
    base: str, regimens: tuple[_Regimen, ...], dose: Quantity | str, per: str | None, crcl: Quantity | str | None
) -> DoseVerdict:
    """``check_dose`` without a patient, its regimens selected: the same reading of the dose and CrCl, in order."""
    amount = _parse_dose(dose, per, base)
    if crcl is None:
        return _chosen(regimens, amount, None, False, None)
    value = _crcl_of_text(crcl) if type(crcl) is str else _read_crcl(crcl)
    return _chosen(regimens, amount, value, False, "given")


def _pairs_for(
    agent: str, as_of: dt.date | None, source: Catalog | None, wanted: frozenset[m.Status] | None = None
) -> _Pairs:
    """The approved regimens (or those of the ``wanted`` statuses) naming ``agent`` on ``as_of``.

    Raises:
        NotInEffectError: the agent's regimens are not in effect on ``as_of``.
        NoRegimenError: no approved regimen names the agent (an :class:`UnknownAgentError`).

    """
    cat = source if source is not None else catalog()
    # Per catalog, date and spelling (one look-up on the hot path).
    key: Hashable = (as_of, agent) if wanted is None else (as_of, agent, wanted)
    hit = _FOR.get((id(cat), key))
    if hit is not None and hit[0] is cat:
        pairs: _Pairs = hit[1]
    else:
        pairs = _memo(_FOR, cat, key, lambda: _naming(_rules_of(cat, as_of, wanted), agent))
    if not pairs:
        raise _no_regimen(agent, as_of, cat, wanted)
    return pairs


def _has_approved(agent: str, as_of: dt.date | None, source: Catalog | None) -> bool:
    """Whether an approved regimen names ``agent`` on ``as_of`` (a NotInEffectError is raised as without statuses)."""
    try:
        _pairs_for(agent, as_of, source)
    except NoRegimenError:
        return False
    return True


class NoRegimenError(UnknownAgentError):
    """No approved regimen names the drug: it is not in the dose tables, or its regimens are all in review.

    ``in_review`` names the regimens that are in review (the message says so); otherwise ``known`` lists the
    names the tables cover and the message names the agents. The dose is not checked either way.
    """

    def __init__(
        self, name: str, known: Iterable[str] = (), in_review: Iterable[str] = (), asked: Iterable[str] = ()
    ) -> None:
        super().__init__(name, known)
        self.in_review = tuple(in_review)
        self.asked = tuple(asked)
        if self.asked:
            self.args = (
                f"no dosing regimen of the statuses asked ({', '.join(self.asked)}) names {name!r}: "
                f"{'; '.join(self.in_review)} (each with its status), so the dose is not checked",
            )
        elif self.in_review:
            self.args = (
                f"no approved dosing regimen for {name!r}: {', '.join(self.in_review)} in review (its source text is "
                "not yet verified), so the dose is not checked",
            )
        else:
            self.args = (f"{self.args[0]} (not in the dose tables); the dose is not checked",)

    def __reduce__(  # type: ignore[override]
        self,
    ) -> tuple[type[NoRegimenError], tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
        return (type(self), (self.name, self.known, self.in_review, self.asked))


def _no_regimen(
    agent: str, as_of: dt.date | None, cat: Catalog, wanted: frozenset[m.Status] | None = None
) -> Exception:
    """Why no approved regimen names ``agent``: not in effect on the date, only in review, or not in the tables."""
    if as_of is not None and any(names_agent(r, agent) for _, r in _rules_of(cat, None, wanted)):
        return NotInEffectError(agent, as_of)
    guidelines = cat.in_effect(as_of) if as_of is not None else [cat.get(g) for g in cat.ids() if _has_released(cat, g)]
    others = [
        (r.status, f"{r.id} ({g.id} {g.version})")
        for g in guidelines
        for r in g.rules
        if isinstance(r, m.DosingRule)
        and (r.status is not m.Status.APPROVED if wanted is None else r.status not in wanted)
        and names_agent(r, agent)
    ]
    known = {n for _, r in _rules_of(cat, as_of, wanted) for n in (r.agent, *r.synonyms)}
    if wanted is not None and any(status is not m.Status.IN_REVIEW for status, _ in others):
        # Regimens of statuses not asked for (an approved one when only in-review was asked): named with their
        # status, never called "in review"
        asked = tuple(sorted(s.value for s in wanted))
        return NoRegimenError(agent, (), [f"{text}, {status.value}" for status, text in others], asked)
    in_review = [text for _, text in others]
    return NoRegimenError(agent, () if in_review else known, in_review)


# -- dosing weight ----------------------------------------------------------------------------------


@attrs.frozen
class _WeightCheck:
    """Actual weight far above ideal: CrCl from actual weight is likely overestimated."""

    actual: float
    ibw: float
    percent: float
    alternatives: tuple[tuple[str, float], ...]


def _crcl_inputs(facts: Mapping[str, FactValue]) -> tuple[float, float, float, bool] | None:
    age, weight, scr, sex = (facts.get(k) for k in ("age", "weight", "serum-creatinine", "sex"))
    if not (isinstance(age, float) and isinstance(weight, float) and isinstance(scr, float)) or sex is None:
        return None
    return age, weight, scr, sex == "female"


def _crcl_basis(facts: Mapping[str, FactValue]) -> str | None:
    """How the fact table's CrCl was obtained: from actual body weight (derived), or given directly.

    On dialysis CrCl is never derived (``_facts._crcl``), so a CrCl there was given; without one, a serum
    creatinine that Cockcroft–Gault was not applied to gives :data:`CG_NOT_ON_DIALYSIS` (the verdict says why).
    """
    crcl, inputs = facts.get("crcl"), _crcl_inputs(facts)
    dialysis = facts.get("dialysis") is True
    if not isinstance(crcl, float):
        return CG_NOT_ON_DIALYSIS if dialysis and isinstance(facts.get("serum-creatinine"), float) else None
    if not dialysis and inputs is not None and math.isclose(crcl_from_floats(*inputs), crcl, rel_tol=1e-12):
        return "actual body weight"
    return "given"


def _weight_check(facts: Mapping[str, FactValue]) -> _WeightCheck | None:
    inputs, height = _crcl_inputs(facts), facts.get("height")
    if inputs is None or not isinstance(height, float) or _crcl_basis(facts) != "actual body weight":
        return None
    age, weight, scr, female = inputs
    ibw = ibw_kg(height, "female" if female else "male")
    if ibw <= 0:
        return None
    percent = 100.0 * weight / ibw
    if percent <= OBESITY_PERCENT_OF_IBW:
        return None
    adjusted = ibw + ABW_FACTOR * (weight - ibw)
    return _WeightCheck(
        actual=weight,
        ibw=ibw,
        percent=percent,
        alternatives=(
            ("ideal body weight", crcl_from_floats(age, ibw, scr, female)),
            ("adjusted body weight", crcl_from_floats(age, adjusted, scr, female)),
        ),
    )


def _decide(
    agent: str,
    pairs: Sequence[tuple[m.Guideline, m.DosingRule]],
    amount: _Amount,
    *,
    route: str | None,
    indication: str | None,
    crcl: float | None,
    dialysis: bool,
    weight: _WeightCheck | None,
    basis: str | None,
    strict_indication: bool = True,
) -> DoseVerdict:
    """The best verdict, with its CrCl basis and, for a heavy patient, the ideal- and adjusted-weight view."""

    def best(c: float | None, basis: str | None = None) -> DoseVerdict:
        return _best(
            agent, pairs, amount, route=route, indication=indication, crcl=c, dialysis=dialysis,
            strict_indication=strict_indication, basis=basis,
        )  # fmt: skip

    # A verdict that used a renal band names the CrCl basis (written into the chosen verdict).
    v = best(crcl, basis)
    if weight is None or crcl is None or v.renal_band is None:
        return v
    others = [(label, c, best(c)) for label, c in weight.alternatives]
    views = "; ".join(f"with {label} CrCl = {c:.1f} mL/min ({o.verdict.value})" for label, c, o in others)
    note = (
        f"CrCl {crcl:.1f} mL/min uses actual body weight {weight.actual:.1f} kg, {weight.percent:.0f}% of ideal body "
        f"weight {weight.ibw:.1f} kg (above {OBESITY_PERCENT_OF_IBW:.0f}%): it is likely overestimated; {views}. "
        f"The {OBESITY_PERCENT_OF_IBW:.0f}% trigger and the 0.4 adjustment factor are calculator conventions; "
        "the label does not state which weight to use."
    )
    worse = next(((label, c, o) for label, c, o in others if not o.ok), None)
    if worse is not None and weight_dependent(v.verdict, [o.verdict for _, _, o in others]):
        label, c, o = worse
        return attrs.evolve(
            v,
            verdict=Verdict.WEIGHT_DEPENDENT,
            message=f"{v.message} But CrCl from actual body weight is likely overestimated: at CrCl {c:.1f} mL/min "
            f"(from {label}) the dose is {o.verdict.value}, expected {o.expected}. Choose the dosing weight.",
            notes=(*v.notes, note),
        )
    return attrs.evolve(v, notes=(*v.notes, note))


def _check_arguments(
    agent: object, route: object, indication: object, crcl: object, patient: object, as_of: object
) -> None:
    """Name a wrong argument type here, before it meets string or date operations."""
    problems: list[InputError] = []
    if not isinstance(agent, str) or not agent.strip():
        problems.append(InputError("agent", agent, "a drug name, e.g. 'gabapentin'"))
    for name, value in (("route", route), ("indication", indication)):
        if value is not None and not isinstance(value, str):
            problems.append(InputError(name, value, "a string or None"))
    if isinstance(indication, str) and not indication.strip():  # else read as no indication at all, unsaid
        problems.append(InputError("indication", indication, "an indication, e.g. 'malabsorption', or None"))
    if patient is not None and not isinstance(patient, Patient):
        problems.append(InputError("patient", type(patient).__name__, "a neuroguide.Patient (Patient.from_dict(...))"))
    if as_of is not None and (not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime)):
        problems.append(InputError("as_of", as_of, "a datetime.date"))
    if crcl is not None and patient is not None:
        problems.append(InputError("crcl", crcl, "either crcl or a patient (whose crcl is derived), not both"))
    raise_all(problems)


def _best(
    agent: str,
    pairs: Sequence[tuple[m.Guideline, m.DosingRule]],
    amount: _Amount,
    *,
    route: str | None,
    indication: str | None,
    crcl: float | None,
    dialysis: bool,
    strict_indication: bool = True,
    basis: str | None = None,
) -> DoseVerdict:
    found = _narrow(agent, pairs, amount.given, route, indication, strict_indication)
    if type(found) is DoseVerdict:
        return found
    return _chosen(_choosable(found, indication), amount, crcl, dialysis, basis)  # type: ignore[arg-type]


def _choosable(found: Sequence[tuple[m.Guideline, m.DosingRule]], indication: str | None) -> tuple[_Regimen, ...]:
    """The regimens to choose among: ``found``'s, or their shared renal table when no indication chose one."""
    regimens = _regimens(found)
    if len(regimens) > 1 and _shared_table(regimens):
        return (_open_regimen(regimens, indication),)
    return regimens


def _shared_table(regimens: Sequence[_Regimen]) -> bool:
    """True when regimens of several indications share one renal table: the indication was not decided."""
    first = regimens[0][1]
    return (
        bool(first.renal)
        and len({r[1].indication for r in regimens}) > 1
        and all(r[1].renal == first.renal for r in regimens)
    )


def _open_regimen(regimens: Sequence[_Regimen], indication: str | None) -> _Regimen:
    """The shared renal table as one regimen that claims no indication (see ``DoseVerdict.indication_open``).

    The table is the first regimen's; its title, titration target and label status are left out, since they
    belong to its indication. A note names the cited indications and why none was chosen.
    """
    g, rule, numbers, fields = regimens[0]
    cited = "; ".join(dict.fromkeys(r[1].indication for r in regimens))
    why = "indication not given" if indication is None else f"indication {indication!r} does not decide"
    note = (
        f"{why}: checked against the renal dose table, which is the same in each cited regimen ({cited}); "
        f"the dose within a row depends on the indication (each regimen's own titration and target), which is "
        f"not applied. Table from rule {rule.id}."
    )
    shared = "renal table shared by the cited regimens, indication not given"
    open_numbers = attrs.evolve(
        numbers,
        target=None,
        regimen=f"the {shared}",
        band_regimen={id(b): f"{b.regimen} (CrCl band {b.label}; {shared})" for b in rule.renal},
        notes=(*numbers.notes, note),
    )
    return g, rule, open_numbers, {**fields, "labelled": None, "indication_open": True}


def _narrow(
    agent: str,
    pairs: Sequence[tuple[m.Guideline, m.DosingRule]],
    given: str,
    route: str | None,
    indication: str | None,
    strict_indication: bool,
) -> Sequence[tuple[m.Guideline, m.DosingRule]] | DoseVerdict:
    """The regimens of ``pairs`` by ``route`` and ``indication``, or the "not covered" answer when none is.

    Raises:
        InputError: the route is not one neuroguide knows.

    """
    if route is not None:
        wanted = normalize_route(route)
        routed: Sequence[tuple[m.Guideline, m.DosingRule]]
        if type(pairs) is tuple:
            hit = _ROUTED.get((id(pairs), wanted))
            routed = hit[1] if hit is not None and hit[0] is pairs else _routed(pairs, wanted)
        else:
            routed = [(g, r) for g, r in pairs if _route_matches(r.route, wanted)]
        if not routed:
            routes = sorted({r.route for _, r in pairs})
            return DoseVerdict(
                verdict=Verdict.NOT_COVERED,
                agent=agent,
                given=given,
                expected=f"cited routes: {', '.join(routes)}",
                message=f"No cited {agent} regimen for route {route!r} (cited: {', '.join(routes)}); not checked.",
            )
        pairs = routed
    if indication is not None:
        narrowed = [(g, r) for g, r in pairs if _indication_matches(r, indication)]
        if not narrowed and strict_indication:
            cited = sorted({r.indication for _, r in pairs})
            return DoseVerdict(
                verdict=Verdict.NOT_COVERED,
                agent=agent,
                given=given,
                expected="cited indications: " + "; ".join(cited),
                message=f"No cited {agent} regimen for indication {indication!r}; not checked.",
            )
        pairs = narrowed or pairs
    return pairs


# A candidate regimen with what deciding and writing its answer needs: its guideline, the rule, the rule's
# numbers and its verdict template (each worked out once per rule).
_Regimen = tuple[m.Guideline, m.DosingRule, _RuleNumbers, dict[str, Any]]
_REGIMENS: dict[tuple[int, Hashable], tuple[object, Any]] = {}


def _regimens(pairs: Sequence[tuple[m.Guideline, m.DosingRule]]) -> tuple[_Regimen, ...]:
    """``pairs`` as candidate regimens (kept per rule set when it is a kept tuple)."""
    if type(pairs) is tuple:
        hit = _REGIMENS.get((id(pairs), None))
        if hit is not None and hit[0] is pairs:
            found: tuple[_Regimen, ...] = hit[1]
            return found
        return _memo(_REGIMENS, pairs, None, lambda: _new_regimens(pairs))
    return _new_regimens(pairs)


def _new_regimens(pairs: Sequence[tuple[m.Guideline, m.DosingRule]]) -> tuple[_Regimen, ...]:
    return tuple((g, r, _numbers(r), _fields(g, r)) for g, r in pairs)


def _chosen(
    regimens: Sequence[_Regimen], amount: _Amount, crcl: float | None, dialysis: bool, basis: str | None
) -> DoseVerdict:
    """The answer of the regimen the dose fits best (see :data:`_RANK`).

    Each regimen is decided once, on floats (:func:`_decision`); only the chosen one's answer is written, from
    its decision (:func:`_write`).
    """
    per_day = amount.per_day
    chosen = regimens[0]
    rank, distance, view = 4, 0.0, None  # above every rank: the first regimen is taken
    for regimen in regimens:
        r_rank, r_distance, r_view = _decision(regimen[1], regimen[2], per_day, crcl, dialysis)
        # The first regimen with the lowest (rank, distance) wins, as min() picks it.
        if r_rank < rank or (r_rank == rank and r_distance < distance):
            chosen, rank, distance, view = regimen, r_rank, r_distance, r_view
    return _write(chosen[0], chosen[1], chosen[2], chosen[3], amount, crcl, dialysis, basis, view)[2]


def _routed(pairs: _Pairs, wanted: str) -> _Pairs:
    """The regimens of ``pairs`` by route ``wanted`` (kept per rule set and route)."""
    return _memo(_ROUTED, pairs, wanted, lambda: tuple((g, r) for g, r in pairs if _route_matches(r.route, wanted)))


def _score(rule: m.DosingRule, per_day: float, crcl: float | None, dialysis: bool = False) -> tuple[int, float]:
    """The rank (:data:`_RANK`) and fold distance of one regimen's verdict, on floats only (see :func:`_decision`)."""
    rank, distance, _ = _decision(rule, _numbers(rule), per_day, crcl, dialysis)
    return rank, distance


def _decision(
    rule: m.DosingRule, n: _RuleNumbers, per_day: float, crcl: float | None, dialysis: bool = False
) -> tuple[int, float, _View]:
    """The rank (:data:`_RANK`) and fold distance of one regimen's verdict, and the renal view it used.

    On floats only: the same decisions as :func:`_write` in the same order, without writing anything (a property
    test holds the two equal). ``n`` is the rule's numbers; the view is the band of ``crcl`` and its limits
    (``(None, None)`` when no band was looked up), which :func:`_write` is given rather than finding again.
    """
    cut = n.implausible_cut
    view = _NO_VIEW
    if dialysis and n.dialysis_band is not None:
        return -1, 0.0, view  # avoid on dialysis, whatever the CrCl (as _write does)
    if n.renal:
        if crcl is None:
            if n.unknown_limits is not None:
                # Avoid rows beside one dose range: the range is checked (as _write does).
                low, high = n.unknown_limits
            else:
                if per_day > cut:
                    return 2, 0.0, view  # implausible
                table_max = n.table_max
                if table_max is not None and per_day > table_max * (1 + _EPS):
                    return 1, 0.0, view  # above the maximum at any renal function
                return 3, 0.0, view  # not covered: depends on CrCl
        else:
            view = _view_of(rule, n, crcl)
            band, limits = view
            if band is None:
                return 3, 0.0, view
            if band.avoid:
                return -1, 0.0, view
            assert limits is not None
            low, high = limits[0], limits[1]
            if low is None and high is None:
                if per_day > cut:
                    return 2, 0.0, view
                table_max = _ceiling(rule, band)
                if table_max is not None and per_day > table_max * (1 + _EPS):
                    return 1, (math.log(per_day / table_max) if table_max > 0 else math.inf), view
                return 3, 0.0, view
    else:
        low, high = n.low, n.high
        if low is None and high is None:
            return (2 if per_day > cut else 3), 0.0, view
    if per_day > cut:
        return 2, 0.0, view
    if high is not None and per_day > high * (1 + _EPS):
        return 1, (math.log(per_day / high) if high > 0 else math.inf), view
    if low is not None and per_day < low * (1 - _EPS):
        return 1, math.log(low / per_day), view
    return 0, 0.0, view


# Which verdict wins when several regimens name the agent: one the dose fits; else the nearest
# out-of-range one (by fold distance); a likely unit error only if every regimen finds it implausible;
# "not covered" (no number to check against) last.
_RANK = {
    Verdict.WITHIN: 0,
    Verdict.BELOW: 1,
    Verdict.ABOVE_RANGE: 1,
    Verdict.ABOVE: 1,
    Verdict.IMPLAUSIBLE: 2,
    Verdict.NOT_COVERED: 3,
    Verdict.AVOID: -1,
    Verdict.WEIGHT_DEPENDENT: 1,
}


def _crcl(crcl: Quantity | str | None, facts: Mapping[str, FactValue]) -> float | None:
    if crcl is not None:
        return _crcl_of_text(crcl) if type(crcl) is str else _read_crcl(crcl)
    found = facts.get("crcl")
    return found if isinstance(found, float) else None


def _read_crcl(crcl: Quantity | str) -> float:
    value = magnitude(parse_quantity(crcl, "crcl", "mL/min"), "mL/min")
    if not 0 <= value <= 300:
        raise InputError("crcl", crcl, "a creatinine clearance from 0 to 300 mL/min")
    return value


_crcl_of_text = functools.lru_cache(maxsize=1024)(_read_crcl)  # a pure function of the text (errors are not kept)


def _check(
    g: m.Guideline, rule: m.DosingRule, amount: _Amount, crcl: float | None, dialysis: bool, basis: str | None = None
) -> tuple[Verdict, float, DoseVerdict]:
    """Check one regimen and write its answer (the explained path).

    Returns the verdict, its fold distance from the range when out of range, and the full answer.
    :func:`_best` chooses among regimens with :func:`_decision` and writes only the chosen one (:func:`_write`).
    """
    return _write(g, rule, _numbers(rule), _fields(g, rule), amount, crcl, dialysis, basis)


# What a dose check asks for when renal function is not known: CrCl, or the inputs neuroguide computes it from
# (the derived ``crcl`` fact). Every verdict that lacks CrCl asks in these words.
_RENAL_ASK = "give CrCl, or the age, sex, weight and serum creatinine it is computed from (Cockcroft–Gault)"
#: The CrCl basis (``DoseVerdict`` verdicts' ``basis`` argument, never a verdict's ``crcl_basis``) when the patient
#: is on dialysis and a serum creatinine was given: Cockcroft–Gault was not applied to it.
CG_NOT_ON_DIALYSIS = "serum creatinine given, Cockcroft–Gault not applied on dialysis"
# Why, in the verdicts' words (the gabapentin label endorses the equation only with stable renal function).
_CG_WHY = (
    "a serum creatinine was given, but CrCl is not estimated from it by Cockcroft–Gault on dialysis "
    "(the equation presumes stable renal function)"
)


def _write(
    g: m.Guideline,
    rule: m.DosingRule,
    numbers: _RuleNumbers,
    fields: dict[str, Any],
    amount: _Amount,
    crcl: float | None,
    dialysis: bool,
    basis: str | None = None,
    view: _View | None = None,
) -> tuple[Verdict, float, DoseVerdict]:
    """As :func:`_check`, with the rule's numbers and verdict template at hand.

    ``view`` is the band of ``crcl`` and its limits as :func:`_decision` found them (else found here).
    """
    base = numbers.base
    native = numbers.native
    per_day = amount.per_day
    notes = list(numbers.notes)
    given = amount.given
    # The fields the chosen branch adds (written by _verdict with the rule's fields, given and crcl).
    band_label: str | None = None
    crcl_basis: str | None = None
    missing: tuple[str, ...] = ()
    what = f"{rule.agent} {given}"
    regimen = numbers.regimen
    implausible = numbers.implausible
    maximum = numbers.maximum
    low = numbers.low
    high = numbers.high
    high_is_max = numbers.high_is_max
    band_text = ""
    if dialysis and numbers.dialysis_band is not None:
        written = _dialysis_avoid(rule, numbers.dialysis_band, what, crcl, basis, notes, fields, given)
        return Verdict.AVOID, 0.0, written
    if rule.renal:
        table_max = numbers.table_max
        avoid, usable = numbers.avoid, numbers.usable
        if crcl is None and dialysis:
            # The row is not known, but the patient is on hemodialysis: the label's supplement applies whatever
            # the row (each row's text, once).
            notes.extend(dict.fromkeys(b.supplement for b in rule.renal if b.supplement))
        if crcl is None and avoid and len(usable) == 1:
            # The table only adds "avoid" rows to one dose range (duloxetine): check the range, and say
            # that renal function decides whether the drug may be used at all.
            rows = ", ".join(b.label for b in avoid)
            notes.append(f"avoid at CrCl {rows} mL/min; creatinine clearance not known: {_RENAL_ASK}")
            low, high, _ = _band_limits(rule, usable[0], 300.0)
            high_is_max = True
            missing = ("crcl",)
        elif crcl is None:
            if per_day > implausible * (1 + _EPS):
                v = _implausible(what, per_day, implausible, None, table_max, base, amount, notes, native)
                return Verdict.IMPLAUSIBLE, 0.0, _verdict(*v, fields, given, crcl, None, None, missing)
            if table_max is not None and per_day > table_max * (1 + _EPS):
                expected = f"at most {_show(table_max, base, amount)} per {amount.per} (at any renal function)"
                message = (
                    f"{what} is above the cited maximum for any renal function; expected {expected}. "
                    f"Regimen: {regimen}."
                )
                written = _verdict(Verdict.ABOVE, expected, message, tuple(notes), fields, given, crcl, None, None,
                                   ("crcl",))  # fmt: skip
                return Verdict.ABOVE, 0.0, written
            if dialysis:
                written = _dialysis_unbanded(
                    rule, what, per_day, base, amount, notes, fields, given, basis == CG_NOT_ON_DIALYSIS
                )
                return Verdict.NOT_COVERED, 0.0, written
            top = renal_band(rule, 300.0)
            top_range = ""
            if top is not None:
                t_lo, t_hi, _ = _band_limits(rule, top, 300.0)
                top_range = f"; at CrCl {top.label}: {_range_text(t_lo, t_hi, base, amount)}"
            written = _verdict(
                Verdict.NOT_COVERED,
                f"depends on creatinine clearance{top_range}",
                f"{what}: the dose depends on creatinine clearance (Cockcroft–Gault), which is not known"
                f"{top_range}. To check it against the renal table, {_RENAL_ASK}.",
                tuple(notes), fields, given, crcl, None, None, ("crcl",),
            )  # fmt: skip
            return Verdict.NOT_COVERED, 0.0, written
        else:
            band, band_limits = view if view is not None else _view_of(rule, numbers, crcl)
            if band is None:
                written = _verdict(
                    Verdict.NOT_COVERED,
                    "no renal band for this creatinine clearance",
                    f"{what}: no row of the renal table covers CrCl {crcl:g} mL/min; not checked.",
                    tuple(notes), fields, given, crcl, None, None, missing,
                )  # fmt: skip
                return Verdict.NOT_COVERED, 0.0, written
            band_label = band.label
            crcl_basis = basis
            if band.avoid:
                written = _verdict(
                    Verdict.AVOID,
                    f"none: avoid at CrCl {band.label} mL/min",
                    f"{what}: avoid {rule.agent} at CrCl {_crcl_text(rule, crcl)} mL/min "
                    f"(band {band.label}): {band.regimen}.",
                    tuple(notes), fields, given, crcl, band_label, crcl_basis, missing,
                )  # fmt: skip
                return Verdict.AVOID, 0.0, written
            regimen = numbers.band_regimen[id(band)]
            assert band_limits is not None
            low, high, band_text = band_limits
            high_is_max = True  # a label's renal row is a total daily dose range: its top is a maximum
            if dialysis and band.supplement:
                notes.append(band.supplement)
            if dialysis:
                notes.append(
                    f"CrCl {crcl:.1f} mL/min was given for a patient on dialysis and chooses the renal row (the label "
                    "keys maintenance on dialysis to an estimate of CrCl); neuroguide does not estimate it by "
                    "Cockcroft–Gault on dialysis, so check how it was estimated"
                )
            if low is None and high is None:
                # No number for this band, but nothing allows more than the most the source allows at any
                # renal function: a dose above that is flagged, not waved through as "not covered".
                if per_day > implausible * (1 + _EPS):
                    v = _implausible(what, per_day, implausible, None, table_max, base, amount, notes, native)
                    return Verdict.IMPLAUSIBLE, 0.0, _verdict(*v, fields, given, crcl, band_label, crcl_basis, missing)
                cap = _ceiling(rule, band)
                if cap is not None and per_day > cap * (1 + _EPS):
                    at = f"at CrCl {_crcl_text(rule, crcl)} mL/min"
                    if cap == table_max:
                        expected = (
                            f"at most {_show(cap, base, amount)} per {amount.per} (the most allowed at any renal "
                            f"function; {at}: {band.regimen})"
                        )
                        message = (
                            f"{what} is above the cited maximum even for normal renal function; {at} it must be "
                            f"reduced further ({band.regimen})."
                        )
                    else:  # a proportional band: its reference row's maximum, which the reduction only lowers
                        expected = (
                            f"at most {_show(cap, base, amount)} per {amount.per}, lower in proportion to CrCl "
                            f"({at}: {band.regimen})"
                        )
                        message = (
                            f"{what} is above {_show(cap, base, amount)} per {amount.per}, the most the renal table "
                            f"allows anywhere in band {band.label}; {at} it must be lower still ({band.regimen})."
                        )
                    written = _verdict(Verdict.ABOVE, expected, message, tuple(notes), fields, given, crcl, band_label,
                                       crcl_basis, missing)  # fmt: skip
                    return Verdict.ABOVE, (math.log(per_day / cap) if cap > 0 else math.inf), written
                written = _verdict(
                    Verdict.NOT_COVERED,
                    f"CrCl {_crcl_text(rule, crcl)} mL/min (band {band.label}): {band.regimen}",
                    f"{what}: at CrCl {_crcl_text(rule, crcl)} mL/min (band {band.label}) the dose must be "
                    f"adjusted: {band.regimen}. Not checked against a number.",
                    tuple(notes), fields, given, crcl, band_label, crcl_basis, missing,
                )  # fmt: skip
                return Verdict.NOT_COVERED, 0.0, written
    elif low is None and high is None:
        if per_day > implausible * (1 + _EPS):
            v = _implausible(what, per_day, implausible, None, None, base, amount, notes, native)
            return Verdict.IMPLAUSIBLE, 0.0, _verdict(*v, fields, given, crcl, None, None, missing)
        written = _verdict(
            Verdict.NOT_COVERED,
            "no dose stated by the source",
            f"{what}: {rule.title} states no dose ({rule.frequency}); not checked against a number.",
            tuple(notes), fields, given, crcl, None, None, missing,
        )  # fmt: skip
        return Verdict.NOT_COVERED, 0.0, written

    if per_day > implausible * (1 + _EPS):
        v = _implausible(what, per_day, implausible, low, high, base, amount, notes, native)
        return Verdict.IMPLAUSIBLE, 0.0, _verdict(*v, fields, given, crcl, band_label, crcl_basis, missing)
    text = _range_text_of(low, high, base, amount.unit, amount.per, native)  # as _range_text, one call shorter
    if band_text:
        text += f" ({band_text}, CrCl truncated)" if rule.crcl_comparison == "truncate" else f" ({band_text})"
    if high is not None and per_day > high * (1 + _EPS):
        words = "above the cited maximum" if high_is_max else "above the cited range (the source states no maximum)"
        kind = Verdict.ABOVE if high_is_max else Verdict.ABOVE_RANGE
        message = f"{what} is {words}; expected {text}. Regimen: {regimen}."
        written = _verdict(kind, text, message, tuple(notes), fields, given, crcl, band_label, crcl_basis, missing)
        return kind, (math.log(per_day / high) if high > 0 else math.inf), written
    if low is not None and per_day < low * (1 - _EPS):
        message = f"{what} is below the cited range; expected {text}. Regimen: {regimen}."
        written = _verdict(
            Verdict.BELOW, text, message, tuple(notes), fields, given, crcl, band_label, crcl_basis, missing
        )
        return Verdict.BELOW, math.log(low / per_day), written
    target = numbers.target
    if maximum is not None and target is not None and target < maximum and per_day > target * (1 + _EPS):
        notes.append(
            f"above the usual target of {_show(target, base, amount)} per {amount.per}; "
            f"within the cited maximum of {_show(maximum, base, amount)} per {amount.per}"
        )
    message = f"{what} is within the cited range ({text}). Regimen: {regimen}."
    written = _verdict(
        Verdict.WITHIN, text, message, tuple(notes), fields, given, crcl, band_label, crcl_basis, missing
    )
    return Verdict.WITHIN, 0.0, written


def _dialysis_avoid(
    rule: m.DosingRule,
    band: m.RenalBand,
    what: str,
    crcl: float | None,
    basis: str | None,
    notes: list[str],
    fields: dict[str, Any],
    given: str,
) -> DoseVerdict:
    """The verdict on dialysis where the source puts dialysis in an avoid row: avoid, whatever the CrCl.

    No Cockcroft–Gault input is asked for; a CrCl that was given (or a serum creatinine) is named as not deciding it.
    """
    unused = ""
    if crcl is not None:
        unused = f" The CrCl of {_crcl_text(rule, crcl)} mL/min, given for a patient on dialysis, does not decide it."
    elif basis == CG_NOT_ON_DIALYSIS:
        unused = f" No CrCl decides it: {_CG_WHY}."
    message = (
        f"{what}: the patient is on dialysis, and {band.dialysis}, so the renal row {band.label} mL/min applies: "
        f"{band.regimen}.{unused}"
    )
    expected = f"none: avoid on dialysis (renal row {band.label} mL/min)"
    written = _verdict(Verdict.AVOID, expected, message, tuple(notes), fields, given, crcl, band.label,
                       basis if crcl is not None else None, ())  # fmt: skip
    return attrs.evolve(written, dialysis_row=True)


def _lowest_rows(rule: m.DosingRule) -> tuple[m.RenalBand, ...]:
    """The renal table's lowest rows: the row at CrCl 0 and, if it scales another row, that row first."""
    bottom = renal_band(rule, 0.0)
    if bottom is None:
        return ()
    numbers = _band_numbers(rule, bottom)
    if numbers.daily_max is None and "in proportion to creatinine clearance" in bottom.regimen.lower():
        edge = numbers.upper
        for ref in rule.renal:
            ref_numbers = _band_numbers(rule, ref)
            if edge is not None and ref_numbers.daily_max is not None and _inside(ref, ref_numbers, edge):
                return ref, bottom
    return (bottom,)


def _dialysis_unbanded(
    rule: m.DosingRule,
    what: str,
    per_day: float,
    base: str,
    amount: _Amount,
    notes: list[str],
    fields: dict[str, Any],
    given: str,
    creatinine: bool = False,
) -> DoseVerdict:
    """The verdict on dialysis without CrCl: the table's lowest rows named, the dose compared with their numbers.

    ``creatinine``: a serum creatinine was given, and the message says why no CrCl was estimated from it.

    The label keys maintenance on dialysis to a CrCl row, and Cockcroft–Gault presumes stable renal function;
    no rule says which row applies on dialysis, so none is chosen (not-covered, a warning on a CDS card).
    """
    rows = _lowest_rows(rule)
    shown = []
    tops: list[float] = []
    for band in rows:
        n = _band_numbers(rule, band)
        if n.daily_min is None and n.daily_max is None:
            shown.append(f"CrCl {band.label}: {band.regimen}")
        else:
            shown.append(f"CrCl {band.label}: {_range_text(n.daily_min, n.daily_max, base, amount)}")
            if n.daily_max is not None:
                tops.append(n.daily_max)
    listed = "; ".join(shown) if shown else "none stated"
    comparison = ""
    if tops:
        top = max(tops)
        if per_day > top * (1 + _EPS):
            comparison = f" The dose is above {_show(top, base, amount)} per {amount.per}, the most these rows allow."
        else:
            comparison = (
                f" The dose is not above {_show(top, base, amount)} per {amount.per}, the most these rows allow."
            )
    expected = f"on dialysis, renal row not known; the table's lowest rows: {listed}"
    why = (
        f": {_CG_WHY}. So the renal table's row is not decided"
        if creatinine
        else ", so the renal table's row is not decided (CrCl is not estimated by Cockcroft–Gault on dialysis)"
    )
    message = (
        f"{what}: the patient is on dialysis and creatinine clearance is not known{why}. Check the dose against the "
        f"renal table's lowest rows ({listed}).{comparison}"
    )
    # CrCl is still what the label keys the row to (a CrCl given picks it): named as missing, as the cohort's
    # intervals name it, but the message asks for no Cockcroft–Gault inputs.
    written = _verdict(Verdict.NOT_COVERED, expected, message, tuple(notes), fields, given, None, None, None, ("crcl",))
    return attrs.evolve(written, dialysis_unbanded=True)


def _range_text(low: float | None, high: float | None, base: str, amount: _Amount, native: str | None = None) -> str:
    return _range_text_of(low, high, base, amount.unit, amount.per, native)


@functools.lru_cache(maxsize=1024)
def _range_text_of(low: float | None, high: float | None, base: str, unit: str, per: str, native: str | None) -> str:
    # A pure function of its arguments: the range as written for a caller's unit and period.
    amount = _Amount(0.0, unit, per, "")
    text = _range_words(low, high, base, amount)
    if native is not None and native != amount.unit:
        text += f" (= {_range_words(low, high, base, attrs.evolve(amount, unit=native))})"
    return text


def _range_words(low: float | None, high: float | None, base: str, amount: _Amount) -> str:
    per = f"per {amount.per}"
    if low is not None and high is not None:
        if math.isclose(low, high):
            return f"{_show(low, base, amount)} {per}"
        return f"{_show(low, base, amount)} to {_show(high, base, amount)} {per}"
    if low is not None:
        return f"at least {_show(low, base, amount)} {per}"
    if high is not None:
        return f"at most {_show(high, base, amount)} {per}"
    return "no range"  # pragma: no cover - callers handle the no-range case


def _native_unit(rule: m.DosingRule) -> str:
    """The amount unit the rule's source writes its doses in (ug for B12), for showing ranges."""
    return _numbers(rule).native


def _implausible(
    what: str,
    per_day: float,
    implausible: float,
    low: float | None,
    high: float | None,
    base: str,
    amount: _Amount,
    notes: list[str],
    native: str,
) -> tuple[Verdict, str, str, tuple[str, ...]]:
    """An implausible dose's verdict, expected range, message and notes."""
    limit = f"{_show(implausible, base, amount)} per {amount.per}"
    if high:
        times = f"{per_day / high:,.0f} times the top of the cited range"
    elif low:
        times = f"{per_day / low:,.0f} times the cited minimum"
    else:
        times = "no cited range"
    expected = _range_text(low, high, base, amount, native) if (low or high) else f"below {limit}"
    message = (
        f"{what} is implausible, likely a unit error (mg written for ug, or g for mg): above the "
        f"plausibility limit of {limit} ({times}). Expected {expected}."
    )
    return Verdict.IMPLAUSIBLE, expected, message, tuple(notes)


# -- verdicts by clearance interval ------------------------------------------------------------------


def weight_dependent(primary: Verdict, others: Iterable[Verdict]) -> bool:
    """True if a verdict within range at CrCl from actual weight is out of range at CrCl from another weight.

    The one test ``check_dose`` and ``assess`` apply to a heavy patient's renally banded verdict (then
    "weight-dependent"), and :meth:`DoseIntervals.verdict_at` applies to the views it is given.
    """
    return primary is Verdict.WITHIN and any(o is not Verdict.WITHIN for o in others)


def weight_alternatives(facts: Mapping[str, FactValue]) -> tuple[float, ...]:
    """CrCl from ideal and from adjusted body weight, when actual weight is above 130 % of ideal; else empty.

    These are exactly the views ``check_dose`` and ``assess`` weigh for a heavy patient (see the module
    docstring); pass them to :meth:`DoseIntervals.verdict_at`.
    """
    weight = _weight_check(facts)
    return () if weight is None else tuple(c for _, c in weight.alternatives)


@attrs.frozen
class CrClInterval:
    """One prescription's verdict from CrCl ``lower`` (inclusive, mL/min) to the next interval's (exclusive)."""

    lower: float
    verdict: Verdict
    rule: str | None
    """The regimen that gave the verdict (``DoseVerdict.rule``)."""
    renal_band: str | None
    missing: tuple[str, ...] = ()
    reporter: str | None = None
    """For a medication entry (:func:`medication_intervals`): the one rule that reports it in ``assess``."""


@attrs.frozen
class DoseIntervals:
    """One prescription's verdict as a function of creatinine clearance: a step function, exactly.

    ``intervals`` cover CrCl from 0 mL/min upwards in ascending ``lower``; ``unknown`` is the verdict when
    CrCl is not known. Each verdict, regimen, band and missing fact is what :func:`check_dose` gives at
    any CrCl of the interval (the edges are found on the floats themselves, by the same decision code;
    a property test compares). Messages and expected ranges, which quote the CrCl, are not kept: ask
    :func:`check_dose` for one patient's full verdict.
    """

    agent: str
    given: str
    unknown: CrClInterval
    intervals: tuple[CrClInterval, ...]
    lowers: tuple[float, ...] = attrs.field(init=False, eq=False, repr=False)

    @lowers.default
    def _lowers(self) -> tuple[float, ...]:
        return tuple(i.lower for i in self.intervals)

    def at(self, crcl: float | None) -> CrClInterval:
        """The interval holding ``crcl`` (mL/min, unrounded), or ``unknown`` for ``None``.

        Raises:
            InputError: ``crcl`` is negative or not a number.

        """
        if crcl is None:
            return self.unknown
        i = bisect.bisect_right(self.lowers, crcl) - 1
        if i < 0 or math.isnan(crcl):
            raise InputError("crcl", crcl, "a creatinine clearance of at least 0 mL/min")
        return self.intervals[i]

    def verdict_at(self, crcl: float | None, alternatives: Sequence[float] = ()) -> Verdict:
        """The verdict at ``crcl``, "weight-dependent" as ``check_dose`` gives it for a heavy patient.

        ``alternatives`` are the patient's CrCl from ideal and adjusted weight (:func:`weight_alternatives`).
        """
        hit = self.at(crcl)
        if crcl is None or not alternatives or hit.renal_band is None:
            return hit.verdict
        if weight_dependent(hit.verdict, [self.at(c).verdict for c in alternatives]):
            return Verdict.WEIGHT_DEPENDENT
        return hit.verdict


def dose_intervals(
    agent: str,
    dose: Quantity | str,
    *,
    per: str | None = None,
    route: str | None = None,
    indication: str | None = None,
    as_of: dt.date | None = None,
    source: Catalog | None = None,
) -> DoseIntervals:
    """The verdict of :func:`check_dose` for one prescription at every creatinine clearance.

    Arguments as for :func:`check_dose` without ``crcl`` and ``patient``: ``dose_intervals(...).at(c).verdict``
    is ``check_dose(..., crcl=c).verdict`` for every ``c`` from 0 mL/min, and ``.unknown`` is the verdict
    without a CrCl. Nothing else of the verdict depends on CrCl except for a heavy patient (actual weight
    above 130 % of ideal), whose ideal- and adjusted-weight views :meth:`DoseIntervals.verdict_at` takes;
    dialysis changes only notes and wording, except for a regimen whose source puts dialysis in an avoid row
    (:func:`dialysis_decides`; the verdict is then "avoid" whatever the CrCl). So a population is checked once
    per distinct prescription and each patient's verdict is looked up by CrCl.

    Raises:
        as :func:`check_dose`.

    """
    _check_arguments(agent, route, indication, None, None, as_of)
    pairs = _pairs_for(agent, as_of, source)
    amount = _parse_dose(dose, per, _amount_unit(pairs[0][1]))

    def outcome(c: float | None) -> DoseVerdict:
        return _best(agent, pairs, amount, route=route, indication=indication, crcl=c, dialysis=False)

    return _memo(_INTERVALS, pairs, (agent, amount, route, indication), lambda: _step_function(outcome, pairs, amount))


def dialysis_decides(rule: m.DosingRule, guideline: m.Guideline | None = None) -> bool:
    """True if being on dialysis can change the verdict of a dose of ``rule``'s agent (not only its wording).

    That is when a regimen of the agent in its guideline puts dialysis in an avoid row (duloxetine): a patient on
    dialysis is then checked as such, not looked up by CrCl in :func:`medication_intervals`.
    """
    g = guideline if guideline is not None else _guideline_of(rule)
    return any(_numbers(r).dialysis_band is not None for _, r in _siblings(g, rule))


def medication_intervals(rule: m.DosingRule, med: Medication, *, guideline: m.Guideline | None = None) -> DoseIntervals:
    """The verdict ``assess`` gives a single dosed medication entry at every creatinine clearance.

    As :func:`medication_verdicts` for one entry naming ``rule``'s agent (not duplicate therapy), with
    ``reporter`` naming the one sibling regimen that reports the verdict in each interval. An entry whose
    dose or route cannot be read gives one interval, "not covered", reported by the agent's first regimen.
    """
    assert med.dose is not None and med.per is not None
    g = guideline if guideline is not None else _guideline_of(rule)
    siblings = _siblings(g, rule)
    owner = siblings[0][1]
    dose_key = (med.dose.magnitude, unit_name(med.dose))  # "300 mg" and "0.3 g" are written differently
    slot = (owner.id, med.agent, dose_key, med.per, med.route, med.indication)
    return _memo(_INTERVALS, g, slot, lambda: _med_intervals(med, g, siblings))


def _med_intervals(med: Medication, g: m.Guideline, siblings: list[tuple[m.Guideline, m.DosingRule]]) -> DoseIntervals:
    owner = siblings[0][1]
    try:
        ready = _med_ready(med, siblings)
    except (UnitError, InputError) as exc:
        return _constant(med.agent, _unusable(owner, g, med, str(exc)), owner.id)
    if isinstance(ready, DoseVerdict):
        return _constant(med.agent, ready, _reporter(siblings, ready, med, owner).id)
    amount, route = ready

    def outcome(c: float | None) -> DoseVerdict:
        return _best(
            med.agent, siblings, amount, route=route, indication=med.indication, crcl=c, dialysis=False,
            strict_indication=False,
        )  # fmt: skip

    return _step_function(outcome, siblings, amount, lambda v: _reporter(siblings, v, med, owner).id)


_INTERVALS: dict[tuple[int, Hashable], tuple[object, Any]] = {}
# Candidate edges are looked at this close either side (relative): every change of the decision code near a
# candidate lies within it (truncation moves an edge by 1e-9 mL/min, the range tolerance by 1e-9 relative).
_WINDOW = 1e-6
# CrCl above this is beyond any table (every band's upper edge is far below): the last interval runs on.
_TOP = 1e6


def _constant(agent: str, v: DoseVerdict, reporter: str | None) -> DoseIntervals:
    cell = CrClInterval(0.0, v.verdict, v.rule, v.renal_band, v.missing, reporter)
    return DoseIntervals(agent=agent, given=v.given, unknown=attrs.evolve(cell, lower=math.nan), intervals=(cell,))


def _step_function(
    outcome: Callable[[float | None], DoseVerdict],
    pairs: Sequence[tuple[m.Guideline, m.DosingRule]],
    amount: _Amount,
    reporter: Callable[[DoseVerdict], str | None] = lambda v: None,
) -> DoseIntervals:
    """The decision code's verdicts over CrCl, with each switch found exactly on the floats.

    Where the verdict can change is known from the tables (band edges; where a dose meets a range scaled
    in proportion to CrCl; whole mL/min where CrCl is truncated): the decision code is asked either side
    of each such point and halfway between neighbours, and every change between two neighbours is narrowed
    down to the first float where it happens. The verdicts themselves are always the decision code's.
    """

    def cell(c: float, v: DoseVerdict) -> CrClInterval:
        return CrClInterval(c, v.verdict, v.rule, v.renal_band, v.missing, reporter(v))

    def same(a: CrClInterval, b: CrClInterval) -> bool:
        return (a.verdict, a.rule, a.renal_band, a.missing, a.reporter) == (
            b.verdict, b.rule, b.renal_band, b.missing, b.reporter,
        )  # fmt: skip

    def at(c: float) -> CrClInterval:
        return cell(c, outcome(c))

    # Either side of each candidate, and halfway between neighbouring candidates (a change no table
    # predicted is still found there, and narrowed down like the others).
    points = sorted(x for x in _candidates(pairs, amount) if 0.0 < x < _TOP)
    probes = sorted({0.0, _TOP, *(p for x in points for p in (x * (1 - _WINDOW), x * (1 + _WINDOW)))})
    probes = sorted({*probes, *((a + b) / 2 for a, b in itertools.pairwise(probes) if b - a > 4 * _WINDOW * b)})
    cells = [at(c) for c in probes]
    out = [cells[0]]
    for left, right in itertools.pairwise(cells):
        here = left
        while not same(here, right):
            here = _first_change(at, here, right.lower, same)
            out.append(here)
    merged = [out[0]]
    for c in out[1:]:
        if not same(merged[-1], c):
            merged.append(c)
    v = outcome(None)
    return DoseIntervals(agent=v.agent, given=v.given, unknown=cell(math.nan, v), intervals=tuple(merged))


def _candidates(pairs: Sequence[tuple[m.Guideline, m.DosingRule]], amount: _Amount) -> set[float]:
    """CrCl values near which a verdict may change: band edges and where a dose meets a proportional range."""
    points = {1.0}
    limits = {amount.per_day}
    for _, r in pairs:
        n = _numbers(r)
        limits |= {x for x in (n.maximum, n.low, n.target, n.table_max) if x}
        limits |= {x for b in n.bands for x in (b.daily_min, b.daily_max) if x}
    for _, r in pairs:
        n = _numbers(r)
        refs = {x for b in n.bands for x in (b.daily_min, b.daily_max) if x}
        found: set[float] = set()
        for b in n.bands:
            found |= {e for e in (b.lower, b.upper) if e is not None}
            if b.upper and b.daily_min is None and b.daily_max is None:
                # A range in proportion to CrCl (ref x CrCl / edge) meets the dose, or has the same fold
                # distance as another regimen's range, at these clearances (within the band only).
                lo = b.lower or 0.0
                for ref in refs:
                    for lim in limits:
                        for x in (b.upper * lim / ref, b.upper * amount.per_day**2 / (lim * ref)):
                            if lo <= x <= b.upper:
                                found.add(x)
        if r.crcl_comparison != "exact":  # truncated CrCl changes at whole mL/min
            found |= {float(k) for x in found for k in (math.floor(x), math.floor(x) + 1)}
        points |= found
    return points


def _ordinal(x: float) -> int:
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits


def _from_ordinal(i: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<q", i))[0]
    return value


def _first_change(
    at: Callable[[float], CrClInterval],
    left: CrClInterval,
    right: float,
    same: Callable[[CrClInterval, CrClInterval], bool],
) -> CrClInterval:
    """The first float after ``left.lower`` (up to ``right``) whose verdict differs from ``left``'s."""
    lo, hi = _ordinal(left.lower), _ordinal(right)  # non-negative floats order as their bit patterns
    found = at(right)
    # Most changes are at a printed edge itself, or the float after it: try those before halving.
    edge = (left.lower + right) / 2
    for x in (edge, math.nextafter(edge, math.inf)):
        before, here = at(math.nextafter(x, -math.inf)), at(x)
        if lo < _ordinal(x) <= hi and same(before, left) and not same(here, left):
            return here
    while hi - lo > 1:
        mid = (lo + hi) // 2
        here = at(_from_ordinal(mid))
        if same(here, left):
            lo = mid
        else:
            hi, found = mid, here
    return found


# -- assess: the medication list --------------------------------------------------------------------


def medication_verdicts(
    rule: m.DosingRule,
    meds: Iterable[Medication],
    facts: Mapping[str, FactValue],
    *,
    guideline: m.Guideline | None = None,
) -> Iterator[tuple[Medication, DoseVerdict]]:
    """Check each medication with a dose; yield the verdicts this rule owns (used by ``assess``).

    A medication is checked against every approved regimen of its agent in the rule's guideline (as
    :func:`check_dose` does), and the verdict is yielded only by the rule that gives it, so that one
    medication yields at most one verdict however many regimens name its agent. A medication whose route
    no regimen covers, or whose dose is not an amount, is skipped for the rules it does not concern and
    reported once as not covered. Several entries naming the same drug (generic and brand, or two
    strengths) are duplicate therapy: their doses are summed into one daily exposure, checked once, and
    the verdict lists every entry (``duplicate``).

    Args:
        rule: the dosing rule being evaluated.
        meds: the patient's current medications naming the rule's agent.
        facts: the fact table (``crcl``, ``dialysis``, and the weight inputs of CrCl).
        guideline: the rule's guideline (looked up in the packaged catalog if not given).

    Yields:
        ``(medication, verdict)`` pairs.

    """
    g = guideline if guideline is not None else _guideline_of(rule)
    siblings = _siblings(g, rule)
    owner = siblings[0][1]
    crcl = facts.get("crcl")
    dialysis = facts.get("dialysis") is True
    weight = _weight_check(facts)
    basis = _crcl_basis(facts)
    dosed = [med for med in meds if med.dose is not None and med.per is not None]
    if len(dosed) > 1:
        try:
            verdict = _group_verdict(dosed, siblings, crcl, dialysis, weight, basis)
        except (UnitError, InputError) as exc:
            if rule is owner:
                yield dosed[0], _unusable(rule, g, dosed[0], str(exc))
            return
        if rule is _reporter(siblings, verdict, dosed[0], owner):
            yield dosed[0], verdict
        return
    for med in dosed:
        # Every sibling rule of an agent asks for the same verdict: compute it once per medication.
        try:
            verdict = _VERDICTS.get(
                (g, med),
                (owner.id, crcl, dialysis, basis, weight),
                functools.partial(_med_verdict, med, siblings, crcl, dialysis, weight, basis),
            )
        except (UnitError, InputError) as exc:  # reported once, by the agent's first regimen
            if rule is owner:
                yield med, _unusable(rule, g, med, str(exc))
            continue
        if rule is _reporter(siblings, verdict, med, owner):
            yield med, verdict


def _reporter(
    siblings: list[tuple[m.Guideline, m.DosingRule]], verdict: DoseVerdict, med: Medication, owner: m.DosingRule
) -> m.DosingRule:
    """The one regimen that reports a medication's verdict in ``assess``.

    The regimen that gave the verdict reports it when it names the medication (so ``assess`` evaluates it);
    otherwise the first regimen naming the medication does, so a verdict is never lost because the best-fitting
    regimen lists the drug under another name (e.g. "vitamin B12" judged against a hydroxocobalamin regimen).
    """
    naming = [r for _, r in siblings if names_agent(r, med.agent)]
    for r in naming:
        if r.id == verdict.rule:
            return r
    return naming[0] if naming else owner


def _form_problem(med: Medication, siblings: list[tuple[m.Guideline, m.DosingRule]]) -> str | None:
    """Why the entry's dose cannot be compared with the cited regimens (a combination or a release form)."""
    if any(key(med.agent) in agent_names(r) for _, r in siblings):
        return None  # the rule names this exact product
    if is_combination(med.agent):
        return "a combination product: its dose is not the dose of one ingredient"
    if is_modified_release(med.agent):
        return "an extended- or modified-release form: the cited regimens are for the immediate-release form"
    return None


def _med_ready(
    med: Medication, siblings: list[tuple[m.Guideline, m.DosingRule]]
) -> tuple[_Amount, str | None] | DoseVerdict:
    """A medication entry's daily amount and route, or its "not covered" verdict (a combination or release form).

    Raises:
        UnitError, InputError: the dose or route cannot be read.

    """
    assert med.dose is not None and med.per is not None
    amount = _parse_dose(med.dose, med.per, _amount_unit(siblings[0][1]))
    problem = _form_problem(med, siblings)
    if problem is not None:
        g, rule = siblings[0]
        return attrs.evolve(_unusable(rule, g, med, problem), given=amount.given)
    route = normalize_route(med.route, "medications.route") if med.route is not None else None
    return amount, route


def _med_verdict(
    med: Medication,
    siblings: list[tuple[m.Guideline, m.DosingRule]],
    crcl: FactValue | None,
    dialysis: bool,
    weight: _WeightCheck | None = None,
    basis: str | None = None,
) -> DoseVerdict:
    ready = _med_ready(med, siblings)
    if isinstance(ready, DoseVerdict):
        return ready
    amount, route = ready
    return _decide(
        med.agent,
        siblings,
        amount,
        route=route,
        indication=med.indication,
        crcl=crcl if isinstance(crcl, float) else None,
        dialysis=dialysis,
        weight=weight,
        basis=basis,
        strict_indication=False,  # free-text indications in records: fall back to every regimen
    )


def _group_verdict(
    meds: list[Medication],
    siblings: list[tuple[m.Guideline, m.DosingRule]],
    crcl: FactValue | None,
    dialysis: bool,
    weight: _WeightCheck | None,
    basis: str | None,
) -> DoseVerdict:
    """Duplicate therapy: the entries' daily doses summed and checked as one."""
    base = _amount_unit(siblings[0][1])
    amounts = [_parse_dose(med.dose, med.per, base) for med in meds]  # type: ignore[arg-type]
    entries = tuple(f"{med.agent} {a.given}" for med, a in zip(meds, amounts, strict=True))
    flag = f"duplicate therapy: {len(meds)} entries name {siblings[0][1].agent} ({'; '.join(entries)})"
    problems = [p for med in meds if (p := _form_problem(med, siblings)) is not None]
    routes = {normalize_route(med.route, "medications.route") for med in meds if med.route is not None}
    g, rule = siblings[0]
    if problems or len(routes) > 1:
        why = problems[0] if problems else f"different routes ({', '.join(sorted(routes))})"
        unusable = _unusable(rule, g, meds[0], f"doses not summed: {why}")
        return attrs.evolve(
            unusable,
            given="; ".join(entries),
            message=f"Duplicate therapy: {'; '.join(entries)}; not summed ({why}). Review the medication list.",
            notes=(flag,),
            duplicate=entries,
        )
    total = sum(a.per_day for a in amounts)
    first = amounts[0]
    shown = attrs.evolve(first, per="day")
    amount = _Amount(
        per_day=total,
        unit=first.unit,
        per="day",
        given=f"{_show(total, base, shown)} per day in total ({' + '.join(entries)})",
    )
    indication = next((med.indication for med in meds if med.indication), None)
    v = _decide(
        rule.agent,
        siblings,
        amount,
        route=next(iter(routes), None),
        indication=indication,
        crcl=crcl if isinstance(crcl, float) else None,
        dialysis=dialysis,
        weight=weight,
        basis=basis,
        strict_indication=False,
    )
    return attrs.evolve(
        v, message=f"Duplicate therapy, doses summed: {v.message}", notes=(flag, *v.notes), duplicate=entries
    )


_VERDICTS: IdentityCache[DoseVerdict] = IdentityCache()
_SIBLINGS: IdentityCache[list[tuple[m.Guideline, m.DosingRule]]] = IdentityCache()


def _siblings(g: m.Guideline, rule: m.DosingRule) -> list[tuple[m.Guideline, m.DosingRule]]:
    """The approved regimens of the rule's agent in its guideline (cached per guideline object)."""
    return _SIBLINGS.get((g,), rule.id, lambda: _find_siblings(g, rule))


def _find_siblings(g: m.Guideline, rule: m.DosingRule) -> list[tuple[m.Guideline, m.DosingRule]]:
    siblings = [
        (g, r) for r in g.rules if isinstance(r, m.DosingRule) and r.status is m.Status.APPROVED and same_agent(r, rule)
    ]
    if not siblings:  # the rule itself is not approved (e.g. evaluated with in-review statuses)
        siblings = [(g, rule)]
    return siblings


def _unusable(rule: m.DosingRule, g: m.Guideline, med: Medication, why: str) -> DoseVerdict:
    given = f"{format_quantity(med.dose)} per {med.per}" if med.dose is not None else "no dose"
    return DoseVerdict(
        verdict=Verdict.NOT_COVERED,
        agent=rule.agent,
        given=given,
        expected="an amount per period by a cited route",
        message=f"{med.agent} {given}: not checked ({why}).",
        rule=rule.id,
        guideline=g.id,
        version=g.version,
        citation=m.short_citation(rule, g),
        rule_status=rule.status.value,
    )


def _guideline_of(rule: m.DosingRule) -> m.Guideline:
    for g in catalog().all():
        if any(r is rule for r in g.rules):
            return g
    raise LookupError(rule.id)  # pragma: no cover - rules come from the catalog
