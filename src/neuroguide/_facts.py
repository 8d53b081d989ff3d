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


# Findings that cannot both be true of the same legs: (first, second, why).
_EXCLUSIVE = (
    (
        "areflexia",
        "brisk-reflexes",
        "reflexes cannot be both absent and brisk (areflexia means ankle and knee reflexes absent; with absent "
        "ankle but brisk knee reflexes, as in subacute combined degeneration, record areflexia as false)",
    ),
    ("reflexes-reduced-all-limbs", "brisk-reflexes", "reflexes cannot be both reduced in all limbs and brisk"),
    (
        "distal-symmetric-pattern",
        "asymmetric-pattern",
        "the distribution cannot be both distal symmetric and asymmetric or multifocal",
    ),
    (
        "distal-symmetric-pattern",
        "non-length-dependent",
        "a distal symmetric (stocking) distribution is length-dependent",
    ),
    (
        "relief-standing-still",
        "relief-sitting-or-flexion",
        "walking-induced leg symptoms cannot both ease on standing still and ease only on sitting or bending forwards",
    ),
)
# Specific sphincter findings that a recorded "no new bladder or bowel dysfunction" contradicts.
_SPHINCTER = ("urinary-retention", "urinary-incontinence", "bowel-dysfunction")
_DAY_IN_WEEKS = 1 / 7


def check_consistency(facts: dict[str, FactValue]) -> None:
    """Refuse findings that contradict each other, naming both fields.

    Raises:
        InputError: for the first contradiction found (both fields are named in the message).

    """
    for first, second, why in _EXCLUSIVE:
        if facts.get(first) is True and facts.get(second) is True:
            raise InputError(f"findings.{first} and findings.{second}", "both true", f"at most one of them true: {why}")
    if facts.get("bladder-bowel-dysfunction") is False:
        for name in _SPHINCTER:
            if facts.get(name) is True:
                raise InputError(
                    f"findings.bladder-bowel-dysfunction and findings.{name}",
                    "false and true",
                    f"consistent findings: {name} is a new bladder or bowel dysfunction, which "
                    "bladder-bowel-dysfunction = false denies",
                )
    _check_tempo(facts)


def _check_tempo(facts: dict[str, FactValue]) -> None:
    """Progression cannot outlast the symptoms; while still progressing the two durations are the same."""
    progression, duration = facts.get("progression-duration"), facts.get("symptom-duration")
    if not isinstance(progression, float) or not isinstance(duration, float):
        return
    days = f"{progression * 7:g} days against {duration * 7:g} days"
    if progression > duration + _DAY_IN_WEEKS:
        raise InputError(
            "measurements.progression-duration and measurements.symptom-duration",
            days,
            "a progression no longer than the time since the symptoms began",
        )
    # Months have no fixed length in days: the larger of 1 day and 10% is allowed between the two.
    if facts.get("still-progressing") is True and duration - progression > max(_DAY_IN_WEEKS, duration / 10):
        raise InputError(
            "measurements.progression-duration and measurements.symptom-duration",
            days,
            "equal durations while findings.still-progressing is true (the symptoms are still getting worse, so "
            "they have progressed since they began)",
        )


def derive(patient: Patient, as_of: dt.date) -> dict[str, FactValue]:
    """Return the fact table for ``patient`` on ``as_of``.

    Raises:
        InputError: a date lies after ``as_of``, or two findings contradict each other.

    """
    check_dates(patient, as_of)
    facts: dict[str, FactValue] = {}
    facts.update(patient.findings)
    facts.update(patient.normalized)
    check_consistency(facts)
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


@_derivation("progression-duration")
def _progression(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    # Still getting worse: the symptoms have progressed for as long as they have lasted.
    duration = facts.get("symptom-duration")
    if facts.get("still-progressing") is True and isinstance(duration, float):
        return duration
    return None


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


# Findings that place the leg symptoms at a nerve root, the spinal cord or brain, or in walking-related
# claudication (presentation-pattern guideline): without a stocking distribution they are not a polyneuropathy.
_OTHER_PATTERN_SIGNS = (
    "saddle-anaesthesia",
    "sensory-level",
    "radicular-pain",
    "lhermitte-sign",
    "optic-neuritis-history",
    "relief-standing-still",
    "relief-sitting-or-flexion",
)


@_derivation("polyneuropathy")
def _polyneuropathy(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    # "Suspected" is enough: distal sensory symptoms or signs are what this pathway starts from,
    # unless another pattern explains them and no distal symmetric distribution is recorded.
    if facts.get("distal-symmetric-pattern") is not True and any(facts.get(n) is True for n in _OTHER_PATTERN_SIGNS):
        return False
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
