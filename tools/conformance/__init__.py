"""Conformance of neuroguide's calculators and unit layer against decks written by others.

Repository tooling (not shipped in the wheel). :data:`DECKS` is the vendored deck folder.
"""

from __future__ import annotations

from pathlib import Path

from .runner import (
    CalculatorRun,
    Cause,
    ConformanceReport,
    Outcome,
    VectorResult,
    load_known_causes,
    read_gdl_deck,
    run,
    ucum_spelling,
)

__all__ = [
    "DECKS",
    "CalculatorRun",
    "Cause",
    "ConformanceReport",
    "Outcome",
    "VectorResult",
    "load_known_causes",
    "read_gdl_deck",
    "run",
    "ucum_spelling",
]

#: The vendored conformance decks (one folder per deck, each with its licence and provenance).
DECKS = Path(__file__).resolve().parents[2] / "tests" / "conformance" / "decks"
