"""The notes the FHIR reader writes, and the small JSON helpers its parts share."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs

__all__ = ["UCUM", "Note", "NoteKind", "as_list", "as_map", "codings", "num_text", "number", "shown"]

UCUM = "http://unitsofmeasure.org"


class NoteKind(StrEnum):
    """Why a datum was not used, or how it was read."""

    UNRECOGNISED = "unrecognised"
    EXCLUDED = "excluded"
    UNDECIDED = "undecided"
    """A recognised result that cannot decide a rule's threshold (a limit with the threshold inside its open side):
    not used, and the rules that need it say what is missing."""
    NONCONFORMANT = "nonconformant"
    CONFLICT = "conflict"
    ASSUMPTION = "assumption"

    @property
    def assumed(self) -> bool:
        """True for a datum that WAS used, read in a stated way; false for one not used or in conflict.

        Assumptions: an unconfirmed diagnosis read as present, no clinical status read as active, a nonconformant
        resource read leniently.
        """
        return self in (NoteKind.ASSUMPTION, NoteKind.NONCONFORMANT)


@attrs.frozen(kw_only=True)
class Note:
    """One thing the reader could not use, or had to read in a stated way."""

    kind: NoteKind
    resource: str
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.what}: {self.reason}"

    @property
    def assumed(self) -> bool:
        """True when the datum was used, read with the stated assumption (see :attr:`NoteKind.assumed`)."""
        return self.kind.assumed


def codings(concept: Any) -> list[Mapping[str, Any]]:
    coding = concept.get("coding") if isinstance(concept, Mapping) else None
    return [c for c in coding if isinstance(c, Mapping)] if isinstance(coding, list) else []


def as_map(value: Any) -> Mapping[str, Any]:
    """The value if it is a JSON object, else an empty one: lenient reading of a malformed element (noted elsewhere)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """The value if it is a JSON array, else an empty one (a malformed array element is noted as nonconformant)."""
    return value if isinstance(value, list) else []


def shown(concept: Any) -> str:
    parts = [
        f"{c.get('system', '?')}|{c.get('code', '?')}" + (f" ({c['display']})" if c.get("display") else "")
        for c in codings(concept)
    ]
    if isinstance(concept, Mapping) and concept.get("text"):
        parts.append(repr(concept["text"]))
    return ", ".join(parts) or "(no code)"


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def num_text(x: float) -> str:
    text = repr(x)  # shortest round-trip form: no precision is lost
    return text[:-2] if text.endswith(".0") else text
