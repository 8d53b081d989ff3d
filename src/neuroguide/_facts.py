"""Turn a patient into the fact table criteria are evaluated against.

Quantities are converted here, once, to each fact's canonical unit; from here
on evaluation runs on floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from . import _agents
from ._criteria import FactValue
from .exceptions import InputError
from .formulas import crcl_from_floats
from .formulas._iwgdf import IWGDF_FACTS, possible_categories
from .model import Period
from .patient import Patient
from .units import round_half_up

__all__ = ["RECOGNISED_AGENTS", "completed_years", "derive", "elapsed_years"]

Derivation = Callable[[Patient, dt.date, dict[str, FactValue]], FactValue | None]

# Derived facts computed after the inputs, in this order.
_DERIVATIONS: dict[str, Derivation] = {}


def _derivation(name: str) -> Callable[[Derivation], Derivation]:
    """Add the function that derives fact ``name`` (when not given) to the end of the list."""

    def register(fn: Derivation) -> Derivation:
        _DERIVATIONS[name] = fn
        return fn

    return register


def completed_years(start: dt.date, end: dt.date) -> int:
    """Whole years from ``start`` to ``end`` (a birthday counts on its day)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def elapsed_years(start: dt.date, end: dt.date) -> float:
    """Years from ``start`` to ``end``: completed years plus the fraction of the current one.

    Exactly ``n`` on the ``n``-th calendar anniversary, so "more than 4 years"
    first holds the day after the fourth anniversary.
    """
    whole = completed_years(start, end)
    last = Period(whole, "year").add_to(start)
    nxt = Period(whole + 1, "year").add_to(start)
    return whole + (end - last).days / (nxt - last).days


def check_dates(patient: Patient, as_of: dt.date) -> None:
    """Refuse any input date after the evaluation date.

    Raises:
        InputError: naming the first such field.

    """
    for field, date in patient.dates().items():
        if date > as_of:
            raise InputError(field, date.isoformat(), f"a date on or before the evaluation date {as_of.isoformat()}")
    diabetes, born = patient.diabetes, patient.birth_date
    if diabetes is not None and born is not None and diabetes.diagnosed < born:
        raise InputError("diabetes.diagnosed", diabetes.diagnosed.isoformat(), "a date on or after birth_date")


def derive(patient: Patient, as_of: dt.date) -> dict[str, FactValue]:
    """Return the fact table for ``patient`` on ``as_of``.

    Raises:
        InputError: a date lies after ``as_of``.

    """
    check_dates(patient, as_of)
    facts: dict[str, FactValue] = {}
    facts.update(patient.findings)
    facts.update(patient.normalized)
    for name, date in patient.last.items():
        facts[f"last-{name}"] = date
    if patient.sex is not None:
        facts["sex"] = patient.sex
    for name, fn in _DERIVATIONS.items():
        if name in facts:
            continue  # a value given directly wins
        value = fn(patient, as_of, facts)
        if value is not None:
            facts[name] = value
    return facts


@_derivation("age")
def _age(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    if patient.birth_date is not None:
        return float(completed_years(patient.birth_date, as_of))
    return patient.age


@_derivation("diabetes")
def _diabetes(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    return patient.diabetes is not None


@_derivation("type-1-diabetes")
def _type1(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    return patient.diabetes is not None and patient.diabetes.type == "type-1"


@_derivation("type-2-diabetes")
def _type2(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    return patient.diabetes is not None and patient.diabetes.type == "type-2"


@_derivation("diabetes-diagnosed")
def _diagnosed(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> dt.date | None:
    return patient.diabetes.diagnosed if patient.diabetes is not None else None


@_derivation("diabetes-duration")
def _duration(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    if patient.diabetes is None:
        return None
    return elapsed_years(patient.diabetes.diagnosed, as_of)


@_derivation("lops")
def _lops(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    tests = [facts.get("monofilament-abnormal"), facts.get("vibration-abnormal")]
    if any(t is True for t in tests):
        return True
    if all(t is False for t in tests):
        return False
    return None


RECOGNISED_AGENTS = _agents.RECOGNISED


def _metformin(patient: Patient, as_of: dt.date) -> list[dt.date | None]:
    return [
        med.started
        for med in patient.medications
        if not _agents.METFORMIN.isdisjoint(_agents.ingredient_keys(med.agent)) and med.active_on(as_of)
    ]


@_derivation("on-metformin")
def _on_metformin(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    return bool(_metformin(patient, as_of))


@_derivation("metformin-duration")
def _metformin_duration(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    starts = [s for s in _metformin(patient, as_of) if s is not None]
    if not starts:
        return None
    return elapsed_years(min(starts), as_of)


def _taking(patient: Patient, names: frozenset[str], as_of: dt.date) -> bool:
    return any(
        not names.isdisjoint(_agents.ingredient_keys(med.agent)) and med.active_on(as_of) for med in patient.medications
    )


@_derivation("on-midodrine")
def _on_midodrine(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    # The medication list is taken as complete: a drug not on it is not taken.
    return _taking(patient, _agents.MIDODRINE, as_of)


@_derivation("on-droxidopa")
def _on_droxidopa(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    return _taking(patient, _agents.DROXIDOPA, as_of)


@_derivation("painful-diabetic-neuropathy")
def _painful_dpn(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    parts = [facts.get("diabetes"), facts.get("burning-pain"), facts.get("distal-symmetric-pattern")]
    if any(p is False for p in parts):
        return False
    return True if all(p is True for p in parts) else None


@_derivation("thiamine-deficiency-risk")
def _thiamine_risk(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    # Only a positive finding decides: other causes (e.g. malnutrition) may exist unrecorded.
    risks = ("alcohol-excess", "bariatric-surgery", "persistent-vomiting", "malabsorption")
    return True if any(facts.get(r) is True for r in risks) else None


_NEUROPATHY_SIGNS = (
    "numbness",
    "tingling",
    "distal-symmetric-pattern",
    "monofilament-abnormal",
    "vibration-abnormal",
    "pinprick-reduced",
    "temperature-reduced",
)


@_derivation("polyneuropathy")
def _polyneuropathy(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    # "Suspected" is enough: distal sensory symptoms or signs are what this pathway starts from.
    values = [facts.get(name) for name in _NEUROPATHY_SIGNS]
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


@_derivation("crcl")
def _crcl(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    # Cockcroft-Gault with actual body weight, adults only (the equation's derivation population).
    age, weight, scr, sex = (facts.get(k) for k in ("age", "weight", "serum-creatinine", "sex"))
    if not (isinstance(age, float) and isinstance(weight, float) and isinstance(scr, float)) or sex is None:
        return None
    if age < 18:
        return None
    return crcl_from_floats(age, weight, scr, sex == "female")


# AHA/ACC 2016 (PMC5477786): "Patients with ABI ≤0.90 are diagnosed with PAD" and "A TBI ≤0.70 is abnormal and
# diagnostic of PAD"; both indices are read at 2 decimals, as the guideline records them.
PAD_ABI_AT_MOST = Decimal("0.90")
PAD_TBI_AT_MOST = Decimal("0.70")


@_derivation("pad")
def _pad(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    # Only a diagnostic value decides; a normal ABI does not exclude PAD (noncompressible arteries, exercise ABI).
    abi, tbi = facts.get("abi"), facts.get("tbi")
    if isinstance(abi, float) and round_half_up(abi, 2) <= PAD_ABI_AT_MOST:
        return True
    if isinstance(tbi, float) and round_half_up(tbi, 2) <= PAD_TBI_AT_MOST:
        return True
    return None


@_derivation("iwgdf-category")
def _iwgdf(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    # IWGDF stratifies people with diabetes only; elsewhere the category is not a fact.
    if facts.get("diabetes") is not True:
        return None
    values = tuple(v if isinstance(v := facts.get(name), bool) else None for name in IWGDF_FACTS.values())
    found = possible_categories(values)
    return float(found.pop()) if len(found) == 1 else None
