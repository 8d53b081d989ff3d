"""The FHIR reader's notes (defined with the results, which carry them) and the JSON helpers its parts share."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .results import Note, NoteKind

__all__ = ["UCUM", "Note", "NoteKind", "as_list", "as_map", "codings", "num_text", "number", "shown"]

UCUM = "http://unitsofmeasure.org"


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
