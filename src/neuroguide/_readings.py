"""The readings of contradicting inputs: the patient as it would be if one side of each contradiction were right.

Contradicting values are left out of the facts (:func:`neuroguide._facts.check_consistency`), so a red flag that
needs one of them cannot be decided. Which value is wrong cannot be told, but each reading can be evaluated: a red
flag raised under every reading is raised whichever value is right, and one raised under some is possible. The
engine shows both as possible red flags resting on the contradicting inputs, never as decided.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping
from typing import Any

from ._facts import _DENIALS, _EXCLUSIVE
from .exceptions import InputError
from .patient import Patient

__all__ = ["MOST", "readings"]

MOST = 16
"""At most this many readings are evaluated (the first of each contradiction's readings combined in order)."""

_PROGRESSION, _DURATION, _STILL = "progression-duration", "symptom-duration", "still-progressing"

# One reading: (findings set to these values, measurements copied: target <- source).
_Reading = tuple[Mapping[str, bool], tuple[tuple[str, str], ...]]


def readings(patient: Patient, left_out: frozenset[str]) -> tuple[Patient, ...]:
    """Each combination of readings of the contradictions that left out ``left_out`` (none if there are none)."""
    found = _contradictions(patient, left_out)
    if not found:
        return ()
    plain = patient.plain()
    out: list[Patient] = []
    for combination in itertools.islice(itertools.product(*found), MOST):
        findings: dict[str, bool] = {}
        copies: list[tuple[str, str]] = []
        for set_to, copied in combination:
            findings.update(set_to)
            copies.extend(copied)
        with contextlib.suppress(InputError):  # a reading the reader refuses is not evaluated
            out.append(Patient.from_dict(_applied(plain, findings, copies)))
    return tuple(out)


def _contradictions(patient: Patient, left_out: frozenset[str]) -> list[tuple[_Reading, ...]]:
    """The readings of each contradiction, found from what was left out and the values as given."""
    given = patient.findings
    found: list[tuple[_Reading, ...]] = []
    for first, second, _ in _EXCLUSIVE:
        if {first, second} <= left_out and given.get(first) is True and given.get(second) is True:
            found.append((({first: True, second: False}, ()), ({first: False, second: True}, ())))
    for general, specific, _ in _DENIALS:
        named = [s for s in specific if s in left_out and given.get(s) is True]
        if general in left_out and given.get(general) is False and named:
            denied = {general: False, **dict.fromkeys(named, False)}
            found.append(((denied, ()), ({general: True, **dict.fromkeys(named, True)}, ())))
    if {_PROGRESSION, _DURATION} <= left_out and {_PROGRESSION, _DURATION} <= patient.measurements.keys():
        # Either duration may be the wrong one: the progression as long as the symptoms say, or the symptoms
        # as long as the progression says.
        shorter: _Reading = ({}, ((_PROGRESSION, _DURATION),))
        longer: _Reading = ({}, ((_DURATION, _PROGRESSION),))
        if _STILL in left_out:  # still progressing, yet a progression shorter than the symptoms
            found.append((({_STILL: False}, ()), ({_STILL: True}, shorter[1]), ({_STILL: True}, longer[1])))
        else:
            found.append((shorter, longer))
    return found


def _applied(plain: Mapping[str, Any], findings: Mapping[str, bool], copies: list[tuple[str, str]]) -> dict[str, Any]:
    """The patient document with ``findings`` set and each measurement ``target`` given the text of ``source``."""
    doc = dict(plain)
    doc["findings"] = {**plain.get("findings", {}), **findings}
    measurements = dict(plain.get("measurements", {}))
    for target, source in copies:
        measurements[target] = measurements[source]
    doc["measurements"] = measurements
    return doc
