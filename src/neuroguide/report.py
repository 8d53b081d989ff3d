"""Plain-text rendering of assessments, rules and calculator results."""

from __future__ import annotations

import textwrap

from . import model as m
from .formulas import CalcResult
from .results import SECTION_TITLES, Assessment, Recommendation, Section

__all__ = ["render_calc", "render_rule", "render_text", "rule_line"]

_WIDTH = 100


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=_WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def _status(rec: Recommendation) -> str:
    text = _state(rec)
    return f"{text}; NOT YET VERIFIED (rule in review)" if rec.rule_status != "approved" else text


def _state(rec: Recommendation) -> str:
    window = f"due {rec.due.isoformat()}" if rec.due is not None else ""
    if rec.due is not None and rec.due_by is not None:
        window = f"due between {rec.due.isoformat()} and {rec.due_by.isoformat()}"
    if rec.status == "overdue" and rec.due is not None:
        return f"OVERDUE by {rec.overdue_days} day{'s' if rec.overdue_days != 1 else ''} ({window})"
    if rec.status == "due" and rec.due is not None:
        return f"DUE now ({window})" if rec.due_by is not None else f"DUE now (since {rec.due.isoformat()})"
    if rec.status == "scheduled" and rec.due is not None:
        return f"next {window}"
    return rec.status.upper()


def render_text(result: Assessment) -> str:
    """Render an assessment as a report a clinician can read."""
    rec = result.record
    lines = [f"neuroguide assessment{' of ' + str(rec.patient.get('id')) if rec.patient.get('id') else ''}"]
    lines.append(f"evaluation date {rec.as_of.isoformat()}")
    lines.append("")
    number = 0
    for section in Section:
        items = result.section(section)
        if not items:
            continue
        number += 1
        lines.append(f"{number}. {SECTION_TITLES[section]}")
        for item in items:
            lines.append(_wrap(f"- [{_status(item)}] {item.action}", "   "))
            if item.reasons:
                lines.append(_wrap("because: " + "; ".join(item.reasons), "     "))
            for detail in item.details:
                lines.append(_wrap(detail, "     "))
            lines.append(_wrap(f"rule {item.rule} ({item.guideline} {item.version}); {item.citation}", "     "))
        lines.append("")
    number += 1
    lines.append(f"{number}. What is missing to decide more")
    if result.missing:
        # Inputs that would let the most rules decide come first.
        for miss in sorted(result.missing, key=lambda m: (-len(m.needed_by), m.fact)):
            lines.append(_wrap(f"- {miss.label} [{miss.fact}]: needed by {', '.join(miss.needed_by)}", "   "))
    else:
        lines.append("   nothing: every evaluated rule could decide")
    lines.append("")
    lines.append("guideline versions used:")
    for ref in rec.guidelines:
        pin = " (pinned)" if ref.pinned else ""
        lines.append(f"   {ref.id} {ref.version}{pin} sha256 {ref.sha256[:16]}")
    if rec.site is not None:
        lines.append(f"site overlay: {rec.site.name} sha256 {rec.site.sha256[:16]}")
    lines.append(f"neuroguide {rec.package}; rule statuses evaluated: {', '.join(rec.statuses)}")
    return "\n".join(lines)


def rule_line(g: m.Guideline, rule: m.Rule) -> str:
    """One line per rule for ``neuroguide rules``."""
    return f"{rule.id:34} {rule.kind:15} {rule.status.value:10} {g.id} {g.version}  {rule.title}"


def render_rule(g: m.Guideline, rule: m.Rule) -> str:
    """Render one rule in full, with its citations and quotes."""
    lines = [
        f"{rule.title}",
        f"rule {rule.id} ({rule.kind}, {rule.status.value}) in {g.id} {g.version}, effective {g.effective.isoformat()}",
        "",
    ]
    lines.append(_wrap(rule.statement, ""))
    if rule.review_note:
        lines.append(_wrap(f"in review because: {rule.review_note}", ""))
    if rule.boundary:
        lines.append(_wrap(f"boundaries: {rule.boundary}", ""))
    lines.append("")
    for cite in rule.citations:
        src = g.source(cite.source)
        scale = f" [grading scale: {cite.scale}]" if cite.grade and cite.scale else ""
        lines.append(_wrap(m.cite(cite, g) + scale, ""))
        lines.append(_wrap(f'"{cite.quote}"', "  "))
        v = cite.verification
        lines.append(_wrap(f"verified {v.status.value} on {v.checked.isoformat()} via {v.via}", "  "))
        ref = (src.doi and f"doi:{src.doi}") or src.url or ""
        lines.append(_wrap(f"{src.title}. {src.journal or src.publisher or ''} {src.year}. {ref}", "  "))
    for dev in rule.deviations:
        lines.append(_wrap(f"departs from the seed: {dev.seed} -> {dev.governs}", ""))
    return "\n".join(lines)


def render_calc(result: CalcResult) -> str:
    """Render a calculator result with its steps and citation."""
    lines = [f"{result.name}: {result.interpretation}"]
    for key, value in result.inputs.items():
        lines.append(f"  input {key} = {value}")
    for step in result.steps:
        lines.append(f"  {step.label}: {step.value}")
    for conv in result.conventions:
        lines.append(f"  convention: {conv}")
    lines.append(_wrap(f"source: {result.citation}", "  "))
    return "\n".join(lines)
