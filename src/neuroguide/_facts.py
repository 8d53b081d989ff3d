"""Turn a patient into the fact table criteria are evaluated against.

Quantities are converted here, once, to each fact's canonical unit; from here
on evaluation runs on floats.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal

from . import _agents
from ._criteria import FactValue
from ._plausible import span, unit_slip
from ._vocabulary import vocabulary
from .exceptions import InputError, raise_all
from .formulas import crcl_from_floats
from .formulas._iwgdf import IWGDF_FACTS, possible_categories
from .model import Period
from .patient import Flag, FlagKind, Patient
from .units import Quantity, format_quantity, in_kind, is_quantity, parse_quantity, round_half_up

__all__ = [
    "PLACEHOLDER_DATES",
    "RECOGNISED_AGENTS",
    "SINCE_0_2",
    "check_dates",
    "completed_years",
    "derive",
    "derive_flagged",
    "elapsed_years",
    "is_placeholder",
]

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


# Dates records systems store for "unknown" (1900-01-01 and 1800-01-01 in many EHRs,
# 1753-01-01 the SQL Server minimum, 0001-01-01 the .NET minimum, 1899-12-30/31 the
# spreadsheet day zero). Such a date is flagged and treated as not given.
PLACEHOLDER_DATES = frozenset(
    dt.date(*ymd) for ymd in ((1900, 1, 1), (1800, 1, 1), (1753, 1, 1), (1, 1, 1), (1899, 12, 30), (1899, 12, 31))
)
# Conflict tolerance between a given creatinine clearance and the Cockcroft-Gault value
# derivable from the inputs: the larger of 10 mL/min and 20 % of the derivable value.
CRCL_TOLERANCE_ABS, CRCL_TOLERANCE_REL = 10.0, 0.20
# A given age and the age from birth_date may differ by less than a year (a fractional or rounded age).
AGE_TOLERANCE = 1.0


def is_placeholder(date: dt.date | None) -> bool:
    """True for a date records systems use for 'unknown'."""
    return date is not None and date in PLACEHOLDER_DATES


def check_dates(patient: Patient, as_of: dt.date) -> tuple[Flag, ...]:
    """Refuse impossible dates and conflicting ages; flag placeholder dates.

    Raises:
        InputError: listing every problem (dates after ``as_of``, before birth,
            more than 120 years back, an age that contradicts ``birth_date``).

    """
    problems: list[InputError] = []
    flags: list[Flag] = []
    oldest = span("age").high
    born = patient.birth_date
    for field, date in patient.dates().items():
        if is_placeholder(date):
            flags.append(
                Flag(
                    field=field,
                    kind=FlagKind.PLACEHOLDER_DATE,
                    value=date.isoformat(),
                    message=f"{date.isoformat()} is a date records systems use for 'unknown'; not used",
                )
            )
            continue
        if date > as_of:
            problems.append(
                InputError(field, date.isoformat(), f"a date on or before the evaluation date {as_of.isoformat()}")
            )
        elif completed_years(date, as_of) > oldest:
            what = "an age" if field == "birth_date" else "a date in a lifetime"
            problems.append(
                InputError(field, date.isoformat(), f"{what} of at most {oldest:g} years on {as_of.isoformat()}")
            )
        elif field != "birth_date" and born is not None and not is_placeholder(born) and date < born:
            problems.append(InputError(field, date.isoformat(), f"a date on or after birth_date {born.isoformat()}"))
    if born is not None and not is_placeholder(born) and born <= as_of:
        exact = elapsed_years(born, as_of)
        for field, given in (("age", patient.age), ("measurements.age", patient.normalized.get("age"))):
            if given is not None and abs(given - exact) >= AGE_TOLERANCE:
                problems.append(
                    InputError(
                        field,
                        given,
                        f"an age matching birth_date {born.isoformat()} ({completed_years(born, as_of)} years "
                        f"on {as_of.isoformat()}); give one or the other",
                    )
                )
    elif patient.age is not None and "age" in patient.normalized:
        other = patient.normalized["age"]
        if abs(other - patient.age) >= AGE_TOLERANCE:
            problems.append(InputError("measurements.age", other, f"the same age as age ({patient.age:g})"))
    raise_all(problems)
    return tuple(flags)


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
# Walking-related leg findings that a recorded "no exertional non-joint leg symptoms" contradicts.
_EXERTIONAL = ("claudication", "leg-fatigue")
# Specific sphincter findings that a recorded "no new bladder or bowel dysfunction" contradicts.
_SPHINCTER = ("urinary-retention", "urinary-incontinence", "bowel-dysfunction")
# A general finding recorded false, the specific findings it denies, and what each of those is (the cohort's
# columnar checks read the same table).
_DENIALS = (
    ("bladder-bowel-dysfunction", _SPHINCTER, "a new bladder or bowel dysfunction"),
    ("exertional-nonjoint-leg-symptoms", _EXERTIONAL, "an exertional leg symptom not related to a joint"),
)
_DAY_IN_WEEKS = 1 / 7


def check_consistency(facts: Mapping[str, FactValue]) -> tuple[tuple[Flag, ...], frozenset[str]]:
    """Findings that contradict each other: a flag for each contradiction, and every value to leave out.

    Which of two contradicting values is wrong cannot be told, so both are left out (unknown to every rule,
    named missing by the rules that need them) and the flag names both fields, both values and what was
    expected. The rest of the patient is evaluated: refusing the whole patient would hide the red flags its
    other findings raise. Every contradiction is found on the values as given (a value in two contradictions
    is flagged in both); a general finding recorded false leaves out with it every specific one recorded true,
    and keeps the specific ones recorded false.
    """
    found: list[tuple[Flag, tuple[str, ...]]] = []
    for first, second, why in _EXCLUSIVE:
        if facts.get(first) is True and facts.get(second) is True:
            found.append(
                (_contradiction((first, second), "both true", f"at most one of them true: {why}"), (first, second))
            )
    for general, specific, what in _DENIALS:
        if facts.get(general) is False:
            for name in specific:
                if facts.get(name) is True:
                    denied = _denied(general, name, what)
                    found.append((_contradiction((general, name), "false and true", denied), (general, name)))
    found.extend(_check_tempo(facts))
    flags = tuple(flag for flag, _ in found)
    return flags, frozenset(name for _, names in found for name in names)


CONTRADICTING = "contradict each other; expected "
"""How a contradiction flag's message begins (then what was expected, and that the values were not used)."""


def _contradiction(names: tuple[str, ...], shown: str, expected: str) -> Flag:
    """The flag for contradicting values: the fields, the values, what was expected, and that none was used."""
    fields = [f"{_section(n)}.{n}" for n in names]
    field = fields[0] if len(fields) == 1 else f"{', '.join(fields[:-1])} and {fields[-1]}"
    return Flag(
        field=field,
        kind=FlagKind.CONTRADICTION,
        value=shown,
        message=f"{CONTRADICTING}{expected}; {'neither' if len(names) == 2 else 'none'} used",
    )


def _section(name: str) -> str:
    """Where a patient document holds a fact: ``findings`` (true/false) or ``measurements``."""
    return "findings" if vocabulary()[name].type == "boolean" else "measurements"


def _denied(general: str, name: str, what: str) -> str:
    """What a contradiction between ``general`` = false and ``name`` = true expects."""
    return f"consistent findings: {name} is {what}, which {general} = false denies"


# The tempo contradictions: what each expects.
TEMPO_LONGER = "a progression no longer than the time since the symptoms began"
TEMPO_STILL = (
    "equal durations while findings.still-progressing is true (the symptoms are still getting worse, so they have "
    "progressed since they began)"
)


def tempo_shown(progression: float, duration: float) -> str:
    """The two durations (in weeks) as a tempo contradiction shows them, in days."""
    return f"{progression * 7:g} days against {duration * 7:g} days"


def _check_tempo(facts: Mapping[str, FactValue]) -> list[tuple[Flag, tuple[str, ...]]]:
    """Progression cannot outlast the symptoms; while still progressing the two durations are the same."""
    progression, duration = facts.get("progression-duration"), facts.get("symptom-duration")
    if not isinstance(progression, float) or not isinstance(duration, float):
        return []
    days = tempo_shown(progression, duration)
    durations = ("progression-duration", "symptom-duration")
    if progression > duration + _DAY_IN_WEEKS:
        return [(_contradiction(durations, days, TEMPO_LONGER), durations)]
    # Months have no fixed length in days: the larger of 1 day and 10% is allowed between the two.
    if facts.get("still-progressing") is True and duration - progression > max(_DAY_IN_WEEKS, duration / 10):
        # Any of the three may be the wrong one: none is used.
        names = ("still-progressing", *durations)
        return [(_contradiction(names, f"true; {days}", TEMPO_STILL), names)]
    return []


def derive(patient: Patient, as_of: dt.date) -> dict[str, FactValue]:
    """Return the fact table for ``patient`` on ``as_of`` (flagged inputs left out).

    Raises:
        InputError: a date lies after ``as_of``, or another impossible date or age.

    """
    return derive_flagged(patient, as_of)[0]


# Derivations added after 0.1.0: a record written by 0.1.0 is replayed without them, so it replays as made.
SINCE_0_2 = frozenset({"exertional-nonjoint-leg-symptoms"})


def derive_flagged(
    patient: Patient, as_of: dt.date, *, without: frozenset[str] = frozenset()
) -> tuple[dict[str, FactValue], tuple[Flag, ...]]:
    """Return the fact table and the flags: inputs not used, each with the reason.

    ``without`` names derivations not to make (a value given directly is still used).

    A flagged value is left out of the facts, so every rule that needs it is
    undetermined and reports it missing; it is never read as normal. Findings
    that contradict each other are flagged and left out the same way (both of
    them), and a value left out is never derived from other inputs instead.

    Raises:
        InputError: listing every impossible date or conflicting age.

    """
    flags = list(check_dates(patient, as_of))
    facts: dict[str, FactValue] = {}
    facts.update(patient.findings)
    facts.update(patient.normalized)
    contradictions, left_out = check_consistency(facts)
    flags.extend(contradictions)
    for name in left_out:
        del facts[name]
    for name, date in patient.last.items():
        if not is_placeholder(date):
            facts[f"last-{name}"] = date
    if patient.sex is not None:
        facts["sex"] = patient.sex
    flags.extend(_unit_slips(patient, facts))
    withheld = set(left_out)  # a contradicted value is not derived from the other inputs instead
    for name, fn in _DERIVATIONS.items():
        if name in facts:
            flag = _conflict(name, fn, patient, as_of, facts)
            if flag is not None:
                flags.append(flag)
                del facts[name]
                withheld.add(name)
            continue  # a value given directly wins when it agrees
        if name in withheld or name in without:
            continue
        value = fn(patient, as_of, facts)
        if value is not None:
            facts[name] = value
    crcl = facts.get("crcl")
    if isinstance(crcl, float) and "crcl" not in patient.normalized and not span("crcl").contains(crcl):
        del facts["crcl"]
        flags.append(
            Flag(
                field="crcl",
                kind=FlagKind.IMPLAUSIBLE,
                value=f"{crcl:.1f} mL/min",
                message=f"Cockcroft-Gault gives {crcl:.1f} mL/min from the inputs, outside "
                f"{span('crcl').describe('a clearance')}; not used (check age, weight and serum creatinine)",
            )
        )
    return facts, tuple(flags)


def _unit_slips(patient: Patient, facts: dict[str, FactValue]) -> list[Flag]:
    """Flag (and leave out) measurements that are far likelier in another unit than labelled."""
    vocab = vocabulary()
    flags: list[Flag] = []
    for name, value in patient.measurements.items():
        spec = vocab.get(name)
        if spec is None or spec.plausible is None:
            continue
        if is_quantity(value):
            q = typing.cast("Quantity", value)
        elif spec.unit is not None:
            # a bare number (possible only from Python) is in the canonical unit: as likely a slip as one labelled so
            q = parse_quantity(f"{float(value)!r} {spec.unit}")
        else:
            continue
        why = unit_slip(spec.plausible, functools.partial(in_kind, q))
        if why is not None:
            facts.pop(name, None)
            shown = format_quantity(q)
            flags.append(
                Flag(
                    field=f"measurements.{name}",
                    kind=FlagKind.PROBABLE_UNIT_ERROR,
                    value=shown,
                    message=f"{why}; not used (check the unit and re-enter)",
                )
            )
    return flags


# Derived facts that may also be given: a given value is checked against the derivable one.
def _conflict(name: str, fn: Derivation, patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> Flag | None:
    # pad: a given "no" against a diagnostic ABI or TBI is a conflict; a given "yes" with a normal index is not
    # (the derivation never gives false: a normal ABI does not exclude PAD)
    if name not in ("crcl", "lops", "iwgdf-category", "pad"):
        return None
    given = facts[name]
    others = {k: v for k, v in facts.items() if k != name}
    derivable = fn(patient, as_of, others)
    if derivable is None:
        return None
    field = f"measurements.{name}" if name in patient.normalized else f"findings.{name}"
    if name == "crcl":
        assert isinstance(given, float) and isinstance(derivable, float)
        tolerance = max(CRCL_TOLERANCE_ABS, CRCL_TOLERANCE_REL * derivable)
        if abs(given - derivable) <= tolerance:
            return None
        return Flag(
            field=field,
            kind=FlagKind.CONFLICT,
            value=f"{given:g} mL/min",
            message=f"given {given:g} mL/min, but Cockcroft-Gault from age, sex, weight and serum creatinine "
            f"gives {derivable:.1f} mL/min (tolerance {tolerance:.1f} mL/min); neither used",
        )
    if given == derivable:
        return None
    shown = f"{given:g}" if isinstance(given, float) else str(given).lower()
    derived_shown = f"{derivable:g}" if isinstance(derivable, float) else str(derivable).lower()
    return Flag(
        field=field,
        kind=FlagKind.CONFLICT,
        value=shown,
        message=f"given {shown}, but the other inputs give {derived_shown}; neither used",
    )


@_derivation("progression-duration")
def _progression(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    # Still getting worse: the symptoms have progressed for as long as they have lasted.
    duration = facts.get("symptom-duration")
    if facts.get("still-progressing") is True and isinstance(duration, float):
        return duration
    return None


@_derivation("age")
def _age(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    if patient.birth_date is not None and not is_placeholder(patient.birth_date):
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
    if patient.diabetes is None or is_placeholder(patient.diabetes.diagnosed):
        return None
    return patient.diabetes.diagnosed


@_derivation("diabetes-duration")
def _duration(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    if patient.diabetes is None or is_placeholder(patient.diabetes.diagnosed):
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


@_derivation("exertional-nonjoint-leg-symptoms")
def _exertional(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    # Intermittent claudication and leg fatigue on walking are exertional muscle symptoms, not joint pain
    # (AHA/ACC 2016 defines claudication as exercise-induced fatigue, discomfort or pain in the leg muscles).
    # Only a positive finding decides: walking symptoms from a joint or elsewhere may exist unrecorded.
    return True if any(facts.get(name) is True for name in _EXERTIONAL) else None


RECOGNISED_AGENTS = _agents.RECOGNISED


def _metformin(patient: Patient, as_of: dt.date) -> list[dt.date | None]:
    return [
        None if is_placeholder(med.started) else med.started
        for med in patient.medications
        if not _agents.METFORMIN.isdisjoint(_agents.ingredient_keys(med.agent)) and med.active_on(as_of)
    ]


@_derivation("on-metformin")
def _on_metformin(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    return bool(_metformin(patient, as_of))


@_derivation("two-gabapentinoids")
def _two_gabapentinoids(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    # Both members of the class on the current list (brands and release forms reduce to their ingredient).
    taken = set().union(*(_agents.ingredient_keys(m.agent) for m in patient.medications if m.active_on(as_of)))
    return taken >= _agents.GABAPENTINOIDS


@_derivation("b12-result-recorded")
def _b12_result_recorded(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool:
    # A usable total or active B12 value: the initial test has been done (a flagged value was left out).
    return isinstance(facts.get("b12-total"), float) or isinstance(facts.get("b12-active"), float)


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
# Of those, the signs of the spinal cord or brain. They explain the sensory symptoms without excluding a
# neuropathy beside them (B12 deficiency damages both cord and nerves), so they leave it unknown, not false:
# "false" would read as "no neurological involvement" to the B12 regimen rules.
_CENTRAL_PATTERN_SIGNS = ("sensory-level", "lhermitte-sign", "optic-neuritis-history")


@_derivation("polyneuropathy")
def _polyneuropathy(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> bool | None:
    # "Suspected" is enough: distal sensory symptoms or signs are what this pathway starts from,
    # unless another pattern explains them and no distal symmetric distribution is recorded.
    values = [facts.get(name) for name in _NEUROPATHY_SIGNS]
    if facts.get("distal-symmetric-pattern") is not True and any(facts.get(n) is True for n in _OTHER_PATTERN_SIGNS):
        central = any(facts.get(n) is True for n in _CENTRAL_PATTERN_SIGNS)
        return None if central and any(v is True for v in values) else False
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


@_derivation("crcl")
def _crcl(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    # Cockcroft-Gault with actual body weight, adults only (the equation's derivation population). Not on
    # dialysis: the equation presumes stable renal function, which a dialysed patient's creatinine does not
    # reflect (a CrCl given directly is still used; the dose check says why none was estimated).
    age, weight, scr, sex = (facts.get(k) for k in ("age", "weight", "serum-creatinine", "sex"))
    if not (isinstance(age, float) and isinstance(weight, float) and isinstance(scr, float)) or sex is None:
        return None
    if facts.get("dialysis") is True:
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
