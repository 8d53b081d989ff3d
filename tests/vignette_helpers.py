"""What the vignette tests read from an assessment: shared by every round of clinical vignettes."""

from __future__ import annotations

from typing import Any

import neuroguide as ng


def fired(result: Any, rule: str) -> bool:
    """Whether the rule produced a recommendation."""
    return result.by_rule(rule) is not None


def status(result: Any, rule: str) -> str | None:
    """The status of the rule's recommendation, or None when it did not fire."""
    rec = result.by_rule(rule)
    return None if rec is None else str(rec.status)


def red_flags(result: Any) -> list[str]:
    """The rules shown under red flags, in report order."""
    return [r.rule for r in result.section(ng.Section.RED_FLAGS)]


def pattern(result: Any) -> str | None:
    """The first presentation pattern named in the categories section."""
    patterns = [r.rule for r in result.section(ng.Section.CATEGORIES) if r.rule.startswith("pattern-")]
    return patterns[0] if patterns else None
