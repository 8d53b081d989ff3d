"""The result object every calculator returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["CalcResult", "Step"]


@attrs.frozen(kw_only=True)
class Step:
    """One intermediate step, so a clinician can check the arithmetic by hand."""

    label: str
    value: str


@attrs.frozen(kw_only=True)
class CalcResult:
    """A calculator's answer: value, interpretation, normalized inputs, steps, citation.

    ``value`` is a pint quantity, a number, or a category label.
    """

    name: str
    value: Any
    interpretation: str
    inputs: Mapping[str, str]
    steps: tuple[Step, ...]
    citation: str
    conventions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    """Warnings about inputs probably in another unit than labelled, such as a creatinine of 35 mg/dL."""
