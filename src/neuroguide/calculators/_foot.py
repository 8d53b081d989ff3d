"""Foot calculators: IWGDF risk category and the ankle-brachial index (ABI).

The category logic follows the IWGDF 2019/2023 risk table; the screening
intervals and the ABI bands are read from the loaded guidelines
(``iwgdf-foot`` and ``aha-acc-pad``), so a number lives in one place only.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from .._criteria import FactValue
from .._facts import derivation
from ..exceptions import InputError
from ..patient import Patient
from ..units import Quantity, format_quantity, magnitude, parse_quantity, round_half_up
from ._result import CalcResult, Step

if TYPE_CHECKING:
    from .. import model as m

__all__ = ["abi", "classify_abi", "iwgdf_category", "iwgdf_category_from"]

# Calculator argument -> fact name, in the order the table reads them.
IWGDF_FACTS: Mapping[str, str] = {
    "lops": "lops",
    "pad": "pad",
    "deformity": "foot-deformity",
    "prior_ulcer": "prior-foot-ulcer",
    "prior_amputation": "prior-amputation",
    "esrd": "end-stage-renal-disease",
}

_IWGDF_GUIDELINE = "iwgdf-foot"
_IWGDF_RULE = "foot-screening-by-risk"
_ABI_GUIDELINE = "aha-acc-pad"
_ABI_RULE = "abi-classification"

# Plausible cuff pressures (mmHg). Ankle pressures may be 0 (no signal) and may
# exceed arm pressure in calcified, noncompressible arteries.
_ANKLE_RANGE = (0.0, 400.0)
_BRACHIAL_RANGE = (40.0, 300.0)


# -- IWGDF ---------------------------------------------------------------------


def _category(lops: bool, pad: bool, deformity: bool, ulcer: bool, amputation: bool, esrd: bool) -> int:
    """The IWGDF table on complete inputs (highest category whose row matches)."""
    if (lops or pad) and (ulcer or amputation or esrd):
        return 3
    if (lops and pad) or (lops and deformity) or (pad and deformity):
        return 2
    if lops or pad:
        return 1
    return 0


def _possible(values: tuple[bool | None, ...]) -> set[int]:
    """Every category reachable by filling in the unknown inputs."""
    unknown = [i for i, v in enumerate(values) if v is None]
    if not unknown:
        return {_category(*(bool(v) for v in values))}
    found: set[int] = set()
    for fill in itertools.product((False, True), repeat=len(unknown)):
        filled = list(values)
        for i, v in zip(unknown, fill, strict=True):
            filled[i] = v
        found.add(_category(*(bool(v) for v in filled)))
    return found


def _needed(values: tuple[bool | None, ...]) -> tuple[int, ...]:
    """Indexes of unknown inputs whose value changes the category for some filling of the others."""
    unknown = [i for i, v in enumerate(values) if v is None]
    out = []
    for i in unknown:
        others = [j for j in unknown if j != i]
        for fill in itertools.product((False, True), repeat=len(others)):
            filled = [bool(v) for v in values]
            for j, v in zip(others, fill, strict=True):
                filled[j] = v
            filled[i] = True
            high = _category(*filled)
            filled[i] = False
            if _category(*filled) != high:
                out.append(i)
                break
    return tuple(out)


def iwgdf_category_from(
    lops: bool | None,
    pad: bool | None,
    deformity: bool | None,
    prior_ulcer: bool | None,
    prior_amputation: bool | None,
    esrd: bool | None,
) -> int | None:
    """Return the IWGDF category (0-3), or None when unknown inputs could change it.

    Plain booleans in, no validation; :func:`iwgdf_category` is the checked,
    explained form.
    """
    found = _possible((lops, pad, deformity, prior_ulcer, prior_amputation, esrd))
    return found.pop() if len(found) == 1 else None


def _interval_labels(version: str | None) -> tuple[dict[int, str], str]:
    """Read each category's interval label and the table citation from the guideline."""
    from ..api import load_guideline
    from ..model import Compare, ScreeningRule

    g = load_guideline(_IWGDF_GUIDELINE, version=version)
    rule = g.rule(_IWGDF_RULE)
    assert isinstance(rule, ScreeningRule)
    labels: dict[int, str] = {}
    for th in rule.intervals:
        if isinstance(th.when, Compare) and isinstance(th.when.value, float):
            labels[int(th.when.value)] = th.label
    return labels, _cite(g, rule)


def _cite(g: m.Guideline, rule: m.Rule) -> str:
    cite = rule.citations[0]
    grade = f" ({cite.grade})" if cite.grade else ""
    return f"{g.source(cite.source).short()} ({g.id} {g.version}), {cite.locator}{grade}"


def _flag(name: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InputError(name, value, "true, false, or None (unknown)")


def _word(value: bool | None) -> str:
    return "unknown" if value is None else str(value).lower()


def iwgdf_category(
    *,
    lops: bool | None,
    pad: bool | None,
    deformity: bool | None = None,
    prior_ulcer: bool | None = None,
    prior_amputation: bool | None = None,
    esrd: bool | None = None,
    version: str | None = None,
) -> CalcResult:
    """IWGDF foot-ulcer risk category (0-3) and its screening frequency.

    0 very low: no LOPS and no PAD; 1 low: LOPS or PAD; 2 moderate: LOPS + PAD,
    LOPS + deformity, or PAD + deformity; 3 high: LOPS or PAD, and a history of
    foot ulcer, a lower-extremity amputation, or end-stage renal disease.

    Args:
        lops: loss of protective sensation (None = not assessed).
        pad: peripheral artery disease (None = not assessed).
        deformity: foot deformity (None = unknown).
        prior_ulcer: history of a foot ulcer (None = unknown).
        prior_amputation: previous lower-extremity amputation, minor or major (None = unknown).
        esrd: end-stage renal disease (None = unknown).
        version: the ``iwgdf-foot`` guideline version whose intervals to quote (default: latest).

    Returns:
        A result whose ``value`` is the category (int), or None when an unknown
        input could change it; the interpretation then names what is missing.

    Raises:
        InputError: an input is neither a boolean nor None.

    """
    given = {
        "lops": _flag("lops", lops),
        "pad": _flag("pad", pad),
        "deformity": _flag("deformity", deformity),
        "prior_ulcer": _flag("prior_ulcer", prior_ulcer),
        "prior_amputation": _flag("prior_amputation", prior_amputation),
        "esrd": _flag("esrd", esrd),
    }
    values = tuple(given.values())
    names = tuple(given)
    possible = sorted(_possible(values))
    labels, citation = _interval_labels(version)
    lp, hist = _or3(values[0], values[1]), _or3(*values[3:])
    steps = (
        Step(label="LOPS or PAD", value=_word(lp)),
        Step(label="history of foot ulcer, amputation or ESRD", value=_word(hist)),
        Step(
            label="two of LOPS, PAD, foot deformity",
            value=_word(_or3(_and3(values[0], values[1]), _and3(values[0], values[2]), _and3(values[1], values[2]))),
        ),
        Step(label="possible categories", value=", ".join(str(c) for c in possible)),
    )
    conventions = (
        "unknown inputs are never assumed normal: the category is given only when no unknown input could change it",
        "a history of ulcer, amputation or ESRD without LOPS or PAD does not raise the category (literal IWGDF table)",
    )
    if len(possible) == 1:
        category = possible[0]
        interpretation = labels.get(category, f"IWGDF risk {category}")
        value: int | None = category
    else:
        value = None
        missing = ", ".join(names[i] for i in _needed(values))
        interpretation = (
            f"IWGDF risk category undeterminable: {possible[0]} to {possible[-1]} possible; "
            f"assess {missing} (unknown inputs are not assumed normal)"
        )
    return CalcResult(
        name="iwgdf-category",
        value=value,
        interpretation=interpretation,
        inputs={k: _word(v) for k, v in given.items()},
        steps=steps,
        citation=citation,
        conventions=conventions,
    )


def _or3(*xs: bool | None) -> bool | None:
    if any(x is True for x in xs):
        return True
    return False if all(x is False for x in xs) else None


def _and3(*xs: bool | None) -> bool | None:
    if any(x is False for x in xs):
        return False
    return True if all(x is True for x in xs) else None


@derivation("iwgdf-category")
def _derive_iwgdf(patient: Patient, as_of: dt.date, facts: dict[str, FactValue]) -> float | None:
    # IWGDF stratifies people with diabetes only; elsewhere the category is not a fact.
    if facts.get("diabetes") is not True:
        return None
    values = tuple(_bool_fact(facts.get(name)) for name in IWGDF_FACTS.values())
    found = _possible(values)
    return float(found.pop()) if len(found) == 1 else None


def _bool_fact(value: FactValue | None) -> bool | None:
    return value if isinstance(value, bool) else None


# -- ABI -----------------------------------------------------------------------


def _abi_rule(version: str | None) -> tuple[m.ClassificationRule, m.Guideline]:
    from ..api import load_guideline
    from ..model import ClassificationRule

    g = load_guideline(_ABI_GUIDELINE, version=version)
    rule = g.rule(_ABI_RULE)
    assert isinstance(rule, ClassificationRule)
    return rule, g


def classify_abi(value: float | Decimal, *, version: str | None = None) -> tuple[str, Decimal]:
    """Classify an ABI with the bands of the ``aha-acc-pad`` guideline.

    Args:
        value: the ankle-brachial index (unrounded or rounded).
        version: the guideline version (default: latest released).

    Returns:
        The band label (abnormal, borderline, normal, noncompressible) and the
        value as rounded by the rule (Decimal, half-up, to the rule's places).

    Raises:
        InputError: the value is negative or fits no band.

    """
    from .._kinds import classify

    rule, _ = _abi_rule(version)
    band, shown = classify(rule, float(value))
    if band is None or value < 0:
        raise InputError("abi", value, "an ankle-brachial index of 0 or more")
    return band.label, shown


def _pressure(name: str, value: Quantity | str, bounds: tuple[float, float]) -> float:
    q = parse_quantity(value, name, "mmHg")
    mmhg = magnitude(q, "mmHg", field=name)
    # Compare at 9 decimals so a kPa value converted from an edge (300 mmHg) is not refused for float noise.
    if not bounds[0] <= round(mmhg, 9) <= bounds[1]:
        raise InputError(name, format_quantity(q), f"a systolic pressure from {bounds[0]:g} to {bounds[1]:g} mmHg")
    return mmhg


def abi(
    *,
    ankle_dp: Quantity | str,
    ankle_pt: Quantity | str,
    brachial_left: Quantity | str,
    brachial_right: Quantity | str,
    version: str | None = None,
) -> CalcResult:
    """Ankle-brachial index of one leg, rounded half-up to 2 decimals, with its AHA/ACC category.

    ABI = higher of the dorsalis pedis and posterior tibial systolic pressures
    of that leg / higher of the left and right brachial systolic pressures.

    Args:
        ankle_dp: dorsalis pedis systolic pressure (mmHg or kPa).
        ankle_pt: posterior tibial systolic pressure (mmHg or kPa).
        brachial_left: left arm systolic pressure (mmHg or kPa).
        brachial_right: right arm systolic pressure (mmHg or kPa).
        version: the ``aha-acc-pad`` guideline version whose bands to use (default: latest).

    Returns:
        A result whose ``value`` is the ABI as a Decimal at the rule's precision.

    Raises:
        InputError: a pressure is not a pressure, or is outside 0-400 mmHg (ankle)
            or 40-300 mmHg (arm).

    """
    dp = _pressure("ankle_dp", ankle_dp, _ANKLE_RANGE)
    pt = _pressure("ankle_pt", ankle_pt, _ANKLE_RANGE)
    left = _pressure("brachial_left", brachial_left, _BRACHIAL_RANGE)
    right = _pressure("brachial_right", brachial_right, _BRACHIAL_RANGE)
    rule, g = _abi_rule(version)
    ankle, arm = max(dp, pt), max(left, right)
    ratio = ankle / arm
    places = rule.places if rule.places is not None else 2
    value = round_half_up(ratio, places)
    label, _ = classify_abi(ratio, version=g.version)
    band = next(b for b in rule.bands if b.label == label)
    return CalcResult(
        name="abi",
        value=value,
        interpretation=f"ABI {value}: {label}" + (f" ({band.action})" if band.action else ""),
        inputs={
            "ankle_dp": f"{dp:.4g} mmHg",
            "ankle_pt": f"{pt:.4g} mmHg",
            "brachial_left": f"{left:.4g} mmHg",
            "brachial_right": f"{right:.4g} mmHg",
        },
        steps=(
            Step(label="higher ankle pressure (DP, PT)", value=f"max({dp:.4g}, {pt:.4g}) = {ankle:.4g} mmHg"),
            Step(label="higher arm pressure (left, right)", value=f"max({left:.4g}, {right:.4g}) = {arm:.4g} mmHg"),
            Step(label="ratio", value=f"{ankle:.4g} / {arm:.4g} = {ratio:.6g}"),
            Step(label=f"rounded half-up to {places} decimals", value=str(value)),
            Step(label="category", value=label),
        ),
        citation=_cite(g, rule),
        conventions=(
            f"rounded half-up (Decimal) to {places} decimals before binning, as the guideline records ABI values",
            "pressures in kPa are converted to mmHg first; the ratio is unit-free",
            "plausible inputs: ankle 0-400 mmHg, arm 40-300 mmHg",
        ),
    )
