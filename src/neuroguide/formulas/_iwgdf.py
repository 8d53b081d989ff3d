"""The IWGDF foot-ulcer risk table as a pure function of six yes/no/unknown findings.

Unknown findings are never assumed normal: a category is returned only when no
unknown input could change it. The guideline-backed calculator with the
screening intervals is :func:`neuroguide.classify.iwgdf_category`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

__all__ = ["IWGDF_FACTS", "and3", "iwgdf_category_from", "needed_inputs", "or3", "possible_categories"]

# Calculator argument -> fact name, in the order the table reads them.
IWGDF_FACTS: Mapping[str, str] = {
    "lops": "lops",
    "pad": "pad",
    "deformity": "foot-deformity",
    "prior_ulcer": "prior-foot-ulcer",
    "prior_amputation": "prior-amputation",
    "esrd": "end-stage-renal-disease",
}


def _category(lops: bool, pad: bool, deformity: bool, ulcer: bool, amputation: bool, esrd: bool) -> int:
    """The IWGDF table on complete inputs (highest category whose row matches)."""
    if (lops or pad) and (ulcer or amputation or esrd):
        return 3
    if (lops and pad) or (lops and deformity) or (pad and deformity):
        return 2
    if lops or pad:
        return 1
    return 0


def possible_categories(values: tuple[bool | None, ...]) -> set[int]:
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


def needed_inputs(values: tuple[bool | None, ...]) -> tuple[int, ...]:
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
    found = possible_categories((lops, pad, deformity, prior_ulcer, prior_amputation, esrd))
    return found.pop() if len(found) == 1 else None


def or3(*xs: bool | None) -> bool | None:
    if any(x is True for x in xs):
        return True
    return False if all(x is False for x in xs) else None


def and3(*xs: bool | None) -> bool | None:
    if any(x is False for x in xs):
        return False
    return True if all(x is True for x in xs) else None
