"""Body size: body-surface area (Mosteller)."""

from __future__ import annotations

import math

from ..exceptions import InputError
from ..units import Quantity, get_registry, magnitude, parse_quantity
from ._result import CalcResult, Step

__all__ = ["bsa_mosteller"]

MOSTELLER_CITATION = "Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317(17):1098."


def bsa_mosteller(*, height: Quantity | str, weight: Quantity | str) -> CalcResult:
    """Body-surface area (m2) = sqrt(height cm x weight kg / 3600).

    Raises:
        InputError: height outside 30-260 cm or weight outside 0.5-500 kg.
    """
    h = magnitude(parse_quantity(height, "height", "cm"), "cm", field="height")
    w = magnitude(parse_quantity(weight, "weight", "kg"), "kg", field="weight")
    if not 30 <= h <= 260:
        raise InputError("height", height if isinstance(height, str) else f"{h:g} cm", "a height from 30 to 260 cm")
    if not 0.5 <= w <= 500:
        raise InputError("weight", weight if isinstance(weight, str) else f"{w:g} kg", "a weight from 0.5 to 500 kg")
    value = math.sqrt(h * w / 3600.0)
    return CalcResult(
        name="bsa-mosteller",
        value=get_registry().Quantity(value, "m**2"),
        interpretation=f"body-surface area {value:.2f} m2",
        inputs={"height": f"{h:.4g} cm", "weight": f"{w:.4g} kg"},
        steps=(
            Step(label="height x weight / 3600", value=f"{h:.4g} x {w:.4g} / 3600 = {h * w / 3600:.6g}"),
            Step(label="square root", value=f"{value:.6g} m2"),
        ),
        citation=MOSTELLER_CITATION,
    )
