"""Plain language: each recommendation of an assessment in words for the person it is about.

The same rule ids as the clinician report, so a clinician can hand it over and both can find the
rule. A recommendation whose rule has no checked plain-language text is still listed, by its title,
and says so: nothing is dropped.
"""

from __future__ import annotations

import attrs

from ._patient_text import patient_text
from .results import Assessment, Recommendation, Section

__all__ = ["PlainItem", "plain_language"]


@attrs.frozen(kw_only=True)
class PlainItem:
    """One recommendation for the person: the text, the rule behind it and how the text was checked."""

    rule: str
    guideline: str
    version: str
    section: Section
    status: str
    text: str
    why: str | None
    citation: str
    verified_rule: bool
    """False while the rule itself is in review (shown as not yet verified)."""
    has_text: bool
    """False when no plain-language text has been checked against this rule version (the title is shown)."""
    reading_grade: float | None
    text_sha256: str | None
    """The hash of the text file used, so the exact wording can be traced."""


def plain_language(result: Assessment) -> tuple[PlainItem, ...]:
    """Every recommendation of ``result`` in plain language, in report order."""
    return tuple(_item(rec) for rec in result.recommendations)


def _item(rec: Recommendation) -> PlainItem:
    found = patient_text(rec.rule, rec.guideline, rec.version)
    return PlainItem(
        rule=rec.rule,
        guideline=rec.guideline,
        version=rec.version,
        section=rec.section,
        status=str(rec.status),
        text=found.text if found is not None else f"{rec.title}. (No plain-language version yet: ask your care team.)",
        why=found.why if found is not None else None,
        citation=rec.citation,
        verified_rule=rec.rule_status == "approved",
        has_text=found is not None,
        reading_grade=found.reviewed.grade if found is not None else None,
        text_sha256=found.sha256 if found is not None else None,
    )
