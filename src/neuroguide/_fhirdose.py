"""How the FHIR reader reads a dose: the dose of one dosage line, its timing, and a product's strength.

Part of :class:`neuroguide.fhir` (its reader takes these methods); every dose it cannot check is noted, never
dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import terminology as t
from ._fhirnotes import UCUM, NoteKind, as_list, as_map, codings, num_text, number, shown
from .exceptions import InputError
from .units import dimension, scale

__all__ = ["DoseReader", "dose_unit", "strength"]

# The JSON input's spellings of micrograms (units.py accepts each): read here too, so that a FHIR dose and its JSON
# twin agree. UCUM's own code is 'ug'; 'mcg' and the micro-sign spellings are not UCUM codes but name nothing else.
MICROGRAM = frozenset({"ug", "mcg", "\u00b5g", "\u03bcg"})

PERIOD = {"d": "day", "wk": "week", "mo": "month"}
# FHIR R4 value set TimingAbbreviation (http://hl7.org/fhir/ValueSet/timing-abbreviation): the codes of HL7 v3
# GTSAbbreviation read as a number of doses a day ("Two times a day at institution specified time", ...). QOD (every
# other day) and the weekly or monthly codes are not a whole number a day and are not read.
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
# Times a day of the FHIR R4 TimingAbbreviation codes (v3 GTSAbbreviation) that repeat within a day; QOD, WK and MO
# are not read (they are not daily).
TIMING = {
    "QD": 1, "AM": 1, "PM": 1, "BED": 1, "BID": 2, "TID": 3, "QID": 4,
    "Q8H": 3, "Q6H": 4, "Q4H": 6, "Q3H": 8, "Q2H": 12, "Q1H": 24,
}  # fmt: skip


def dose_unit(q: Mapping[str, Any]) -> tuple[str, bool] | None:
    """A dose Quantity's unit in neuroguide's spelling and whether it was read leniently (not a UCUM code); else None.

    A UCUM code neuroguide accepts is read as such. A microgram spelling of the JSON input (``mcg``, ``\u00b5g``) is
    read as ``ug`` when it is the code (in the UCUM system or none) or, with no code, the unit shown.
    """
    code, system = q.get("code"), q.get("system")
    if system == UCUM and isinstance(code, str) and (unit := t.ucum_unit(code)) is not None:
        return unit, False
    spelled = code if code is not None else q.get("unit")
    if system in (None, UCUM) and isinstance(spelled, str) and spelled in MICROGRAM:
        return "ug", True
    return None


def shown_clash(q: Mapping[str, Any], unit: str) -> str | None:
    """The unit a dose Quantity shows when it names another amount than its code (read as ``unit``); else None.

    A dose coded ``mg`` but shown as ``ug`` is 1000-fold wrong one way or the other, so unlike an Observation's value
    (read by its code, noted) such a dose is not read. A shown unit that is not a unit neuroguide reads (free text
    such as "micrograms") is display text and is not compared; ``mcg`` and ``\u00b5g`` shown under ``ug`` agree.
    """
    text = q.get("unit")
    if q.get("code") is None or not isinstance(text, str) or not text.strip():
        return None
    spelled = t.ucum_unit(text.strip()) or ("ug" if text.strip() in MICROGRAM else text.strip())
    try:
        kind = dimension(spelled)
    except InputError:
        return None  # display text, not a unit neuroguide reads
    try:
        same = spelled == unit or (kind == dimension(unit) and scale(spelled, unit) == 1.0)
    except InputError:
        same = False
    return None if same else text


def strength(medication: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The strength (a Ratio) of a Medication's one active ingredient, or ``None`` (none, or several)."""
    found = [as_map(i).get("strength") for i in as_list((medication or {}).get("ingredient"))]
    found = [f for f in found if isinstance(f, Mapping)]
    return found[0] if len(found) == 1 else None


class DoseReader:
    """The dose-reading methods of the FHIR reader; ``note`` is the reader's own."""

    __slots__ = ()

    def note(self, kind: NoteKind, ref: str, what: Any, reason: str) -> None:
        raise NotImplementedError  # the reader's

    def ucum_text(self, ref: str, q: Any, what: str) -> str | None:
        if not isinstance(q, Mapping) or number(q.get("value")) is None:
            self.note(NoteKind.EXCLUDED, ref, what, "no numeric value")
            return None
        found = dose_unit(q)
        if found is None:
            self.note(
                NoteKind.UNRECOGNISED,
                ref,
                f"{what} unit {q.get('code') or q.get('unit')!r}",
                "not a UCUM unit neuroguide accepts",
            )
            return None
        unit, lenient = found
        value = number(q.get("value"))
        assert value is not None
        clash = shown_clash(q, unit)
        if clash is not None:  # mg shown over a ug code: a 1000-fold doubt, not resolved by trusting either
            self.note(
                NoteKind.CONFLICT,
                ref,
                f"{what} {num_text(value)} unit {clash!r}, code {q.get('code')!r}",
                f"the unit shown and the code name different amounts ({num_text(value)} {clash.strip()} and "
                f"{num_text(value)} {unit}): which one the {what} is in is unknown; "
                + ("the dose is not checked" if what == "dose" else "not read"),
            )
            return None
        if lenient:
            spelled = q.get("code") if q.get("code") is not None else q.get("unit")
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                f"{what} unit {spelled!r}",
                f"read as micrograms ({num_text(value)} ug): UCUM writes micrograms 'ug'",
            )
        return f"{num_text(value)} {unit}"

    def dose(
        self, ref: str, dosage: Mapping[str, Any], med: dict[str, Any], strength: Mapping[str, Any] | None = None
    ) -> None:
        rates = [r for r in as_list(dosage.get("doseAndRate")) if isinstance(r, Mapping)]
        first = self.ordered(ref, rates)
        q = first.get("doseQuantity")
        dose_range = as_map(first.get("doseRange"))
        if q is None and dose_range:
            q = dose_range.get("high")
            if isinstance(q, Mapping):  # a range: the most the instruction allows is what may be taken
                low = as_map(dose_range.get("low"))
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    f"dose range {low.get('value', '?')} to {q.get('value')} {q.get('code') or q.get('unit') or ''}",
                    "the most the instruction allows (doseRange.high) is checked",
                )
        if q is None:
            given = [k for r in rates for k in r if k != "type"]
            given += ["text"] if isinstance(dosage.get("text"), str) and dosage["text"].strip() else []
            if given:  # a dose was given in a form not read: the drug is listed, its dose is not checked
                what = ", ".join(dict.fromkeys(given))
                reason = (
                    "only a single dose (doseQuantity, or the high end of doseRange) is read; the dose is not checked"
                )
                self.note(NoteKind.EXCLUDED, ref, f"dose ({what})", reason)
            return
        amount = self.dose_amount(ref, q, strength)
        if amount is None:
            return
        needed = dosage.get("asNeededBoolean") is True or dosage.get("asNeededCodeableConcept") is not None
        if needed:
            cap = self.max_per_day(ref, dosage)
            if cap is not None:  # as needed up to a stated daily maximum: that maximum is what may be taken
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    f"dose {amount} as needed, at most {cap} a day",
                    "the most allowed a day (maxDosePerPeriod) is checked",
                )
                med["dose"], med["per"] = cap, "day"
                return
        timing = as_map(dosage.get("timing"))
        repeat = dict(as_map(timing.get("repeat")))
        if not self.timing_code(ref, timing, repeat, amount):
            return
        frequency = repeat.get("frequency", 1)
        period, unit = repeat.get("period"), repeat.get("periodUnit")
        times = repeat.get("timeOfDay") or repeat.get("when")
        if "frequency" not in repeat and isinstance(times, list) and len(times) > 1:
            self.note(
                NoteKind.EXCLUDED,
                ref,
                f"dose {amount} at {', '.join(map(str, times))}",
                "the times of day are not read as a number of doses; the dose is not checked",
            )
            return
        most = repeat.get("frequencyMax")
        if isinstance(most, int) and isinstance(frequency, int) and most > frequency:
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                f"dose {amount}, {frequency} to {most} times",
                f"the most the instruction allows ({most} times) is checked",
            )
            frequency = most
        days = repeat.get("dayOfWeek")
        if isinstance(days, list) and days:  # "once a day, on Mondays" is once a week, not once a day
            self.note(
                NoteKind.EXCLUDED,
                ref,
                f"dose {amount} on {', '.join(map(str, days))}",
                "a timing limited to days of the week (dayOfWeek) is not read as a daily amount; "
                "the dose is not checked",
            )
            return
        longest = number(repeat.get("periodMax"))
        if longest is not None and number(period) is not None and longest > (number(period) or 0):
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                f"dose {amount}, every {period} to {repeat.get('periodMax')} {unit}",
                f"the most the instruction allows (every {period} {unit}) is checked",
            )
        hours = number(period)
        whole = hours is not None and hours > 0 and hours == int(hours) and 24 % int(hours) == 0
        if unit == "h" and whole and hours is not None and isinstance(frequency, int):  # every 8 hours: 3 a day
            frequency, period, unit = frequency * (24 // int(hours)), 1, "d"
        if (
            period is None
            or not isinstance(unit, str)
            or unit not in PERIOD
            or number(period) != 1
            or not isinstance(frequency, int)
            or frequency < 1
        ):
            self.note(
                NoteKind.EXCLUDED,
                ref,
                f"dose {amount}",
                f"timing (frequency {frequency!r} per {period!r} {unit!r}) is not n times per 1 d, wk or mo; "
                "the dose is not checked",
            )
            return
        value, text_unit = amount.split(" ", 1)
        med["dose"] = f"{num_text(float(value) * frequency)} {text_unit}"
        med["per"] = PERIOD[str(unit)]
        if needed:
            self.note(
                NoteKind.ASSUMPTION,
                ref,
                f"dose {amount} as needed",
                "no maximum a day (maxDosePerPeriod) is given: checked as if taken at every time the timing allows",
            )

    def ordered(self, ref: str, rates: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        """The doseAndRate entry to read: the one typed 'ordered' among several, else the first (noted)."""
        if len(rates) <= 1:
            return rates[0] if rates else {}
        kinds = [next((str(c.get("code")) for c in codings(r.get("type")) if c.get("code")), None) for r in rates]
        chosen = kinds.index("ordered") if kinds.count("ordered") == 1 else 0
        why = (
            "the one typed 'ordered' (as prescribed) is read"
            if kinds.count("ordered") == 1
            else "only the first is read"
        )
        shown = ", ".join(k or "untyped" for k in kinds)
        self.note(NoteKind.ASSUMPTION, ref, f"{len(rates)} doseAndRate entries ({shown})", why)
        return rates[chosen]

    def dose_amount(self, ref: str, q: Any, strength: Mapping[str, Any] | None) -> str | None:
        """A single dose as a mass (or IU) text: its UCUM unit, or a count of units of a product of stated strength.

        ``2 TAB`` of a Medication whose ingredient strength is ``500 mg / 1 TAB`` is 1000 mg; ``6 mL`` of
        ``250 mg / 5 mL`` is 300 mg. The count's unit must be the strength's denominator unit (same system and code).
        """
        if not isinstance(q, Mapping) or number(q.get("value")) is None:
            self.note(NoteKind.EXCLUDED, ref, "dose", "no numeric value")
            return None
        if dose_unit(q) is not None:
            return self.ucum_text(ref, q, "dose")
        count = number(q.get("value"))
        assert count is not None
        unit = q.get("code") or q.get("unit")
        shown = f"dose {num_text(count)} {unit or '(no unit)'}"
        if strength is not None:
            per, each = as_map(strength.get("denominator")), as_map(strength.get("numerator"))
            same = (per.get("system"), per.get("code")) == (q.get("system"), q.get("code")) and q.get("code")
            size, mass = number(per.get("value")), number(each.get("value"))
            found = dose_unit(each)
            each_unit = found[0] if found is not None else None
            if same and size and mass is not None and each_unit is not None:
                amount = f"{num_text(count / size * mass)} {each_unit}"
                self.note(
                    NoteKind.ASSUMPTION,
                    ref,
                    shown,
                    f"read as {amount} from the Medication's ingredient strength ({num_text(mass)} {each_unit} per "
                    f"{num_text(size)} {per.get('code')})",
                )
                return amount
        self.note(
            NoteKind.UNRECOGNISED,
            ref,
            shown,
            "not a UCUM mass or IU unit neuroguide accepts, and no Medication ingredient strength per that "
            "unit turns it into one; the dose is not checked",
        )
        return None

    def timing_code(self, ref: str, timing: Mapping[str, Any], repeat: dict[str, Any], amount: str) -> bool:
        """Fill ``repeat`` from a timing abbreviation (BID, TID ...) if it has no period; False: not checkable."""
        code = timing.get("code")
        if code is None:
            return True
        known = [
            TIMING[str(c.get("code"))] for c in codings(code) if c.get("system") == GTS and str(c.get("code")) in TIMING
        ]
        if not known:
            if "period" not in repeat:
                self.note(
                    NoteKind.EXCLUDED,
                    ref,
                    f"dose {amount}, timing code {shown(code)}",
                    "not a timing abbreviation neuroguide reads (QD, AM, PM, BED, BID, TID, QID, Q1H-Q4H, Q6H, Q8H of "
                    f"{GTS}); the dose is not checked",
                )
                return False
            return True
        times = known[0]
        if "period" in repeat:
            given = self.per_day(repeat)
            if given is not None and given != times:
                self.note(
                    NoteKind.CONFLICT,
                    ref,
                    f"dose {amount}, timing code {shown(code)} and timing.repeat",
                    f"the code says {times} times a day and the repeat {given}; the dose is not checked",
                )
                return False
            return True
        repeat.update(frequency=times, period=1, periodUnit="d")
        return True

    @staticmethod
    def per_day(repeat: Mapping[str, Any]) -> int | None:
        """Doses a day a repeat gives (n per 1 d, or every n hours), or ``None`` for any other form."""
        frequency, period, unit = repeat.get("frequency", 1), number(repeat.get("period")), repeat.get("periodUnit")
        if not isinstance(frequency, int) or period is None or period <= 0 or period != int(period):
            return None
        if unit == "d" and period == 1:
            return frequency
        if unit == "h" and 24 % int(period) == 0:
            return frequency * (24 // int(period))
        return None

    def max_per_day(self, ref: str, dosage: Mapping[str, Any]) -> str | None:
        """An as-needed dose's stated maximum per day (``maxDosePerPeriod`` over 1 day or 24 hours), as text."""
        ratio = dosage.get("maxDosePerPeriod")
        ratio = ratio[0] if isinstance(ratio, list) and ratio else ratio  # R5 makes it a list
        if not isinstance(ratio, Mapping):
            return None
        per = as_map(ratio.get("denominator"))
        count, unit = number(per.get("value")), per.get("code") or per.get("unit")
        if not ((count == 1 and unit == "d") or (count == 24 and unit == "h")):
            self.note(NoteKind.EXCLUDED, ref, "maxDosePerPeriod", "not per 1 day or 24 hours; not read")
            return None
        return self.ucum_text(ref, ratio.get("numerator"), "maximum dose")
