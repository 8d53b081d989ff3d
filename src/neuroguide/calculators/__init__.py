"""Validated clinical calculators: pint quantities in, a :class:`CalcResult` out.

Each calculator states its formula, source, conventions and plausible input
ranges, and returns the normalized inputs and intermediate steps. ``REGISTRY``
maps each calculator's name to its function, for the CLI and the docs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._body import bsa_mosteller
from ._renal import cockcroft_gault, crcl_from_floats
from ._result import CalcResult, Step

__all__ = ["REGISTRY", "CalcResult", "Step", "bsa_mosteller", "cockcroft_gault", "crcl_from_floats"]

REGISTRY: dict[str, Callable[..., CalcResult]] = {
    "cockcroft-gault": cockcroft_gault,
    "bsa-mosteller": bsa_mosteller,
}


def register(name: str, fn: Callable[..., Any]) -> None:
    """Add a calculator to :data:`REGISTRY` (module import time only)."""
    REGISTRY[name] = fn


# -- calculator modules --
