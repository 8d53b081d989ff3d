"""Plain-text rendering of assessments, rules and calculator results."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import attrs

from . import model as m
from ._actions import action_groups
from ._bands import possible_bands
from ._criteria import decide
from ._loading import catalog, criterion_facts
from ._numeric import Bound
from ._vocabulary import vocabulary
from .evaluation import fact_of_record
from .formulas import CalcResult
from .patient import Flag, FlagKind
from .results import (
    DOSE_PROBLEMS,
    SECTION_TITLES,
    Assessment,
    EvaluationRecord,
    MissingInput,
    Note,
    NoteKind,
    Recommendation,
    RecommendationStatus,
    Section,
)
from .units import is_quantity, magnitude, parse_quantity, quantity

__all__ = [
    "NOTE_GROUPS",
    "Style",
    "note_groups",
    "note_title",
    "pattern_gaps",
    "render_calc",
    "render_patient",
    "render_rule",
    "render_text",
    "rule_line",
    "status_text",
    "summary",
]

_WIDTH = 100
_MISSING_SHOWN = 5  # the few inputs that would change the urgent or overdue items; --all-missing for the rest
_FLAGS_SHOWN = 4  # red flags named in the summary; the rest are counted (all are in section 1)
_FLAG_ORDER = {"emergency": 0, "urgent": 1}  # the summary names emergencies before urgent items

# Plain words for each status (no internal markers in what a clinician reads).
_WORDS = {
    "emergency": "EMERGENCY",
    "urgent": "URGENT",
    "fires": "Consider",
    "pattern": "Pattern",
    "result": "Result",
    "flagged": "Past the cited threshold",
    "caution": "Caution",
    "below-range": "Dose below the cited range",
    "above-range": "Dose above the cited range",
    "above-maximum": "Dose above the cited maximum",
    "implausible": "Dose implausible (likely a unit error)",
    "not-covered": "Dose not checked",
    "within-range": "Dose within range",
    "avoid": "Avoid at this kidney function",
    "weight-dependent": "Dose verdict depends on the weight used for kidney function",
}


@attrs.frozen(kw_only=True)
class Style:
    """How to draw a report: width, colour, and how much of the missing-input list to show."""

    width: int = _WIDTH
    color: bool = False
    all_missing: bool = False
    as_of_note: str | None = None
    """Said after the evaluation date (the CLI's "today; choose with --as-of")."""

    @classmethod
    def for_terminal(cls, stream: TextIO, **kw: Any) -> Style:
        """Colour only on a terminal (and never with ``NO_COLOR`` set); width from the terminal, 60-120."""
        tty = stream.isatty()
        width = _WIDTH
        if tty:
            import shutil  # here: it imports the compression modules, which a report to a file or pipe never needs

            width = shutil.get_terminal_size((_WIDTH, 24)).columns
        return cls(width=max(60, min(width, 120)), color=tty and not os.environ.get("NO_COLOR"), **kw)


def _wrap(text: str, indent: str, width: int = _WIDTH) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ")


def _paint(text: str, code: str, style: Style) -> str:
    return f"\033[{code}m{text}\033[0m" if style.color else text


def status_text(rec: Recommendation) -> str:
    """A recommendation's state in the report's words (e.g. ``OVERDUE by 10 days (due 2026-06-10)``, ``Consider``)."""
    return _status(rec)


def _status(rec: Recommendation) -> str:
    text = _state(rec)
    return f"{text}; NOT YET VERIFIED (rule in review)" if rec.rule_status != "approved" else text


def _state(rec: Recommendation) -> str:
    window = f"due {rec.due.isoformat()}" if rec.due is not None else ""
    if rec.due is not None and rec.due_by is not None:
        window = f"due between {rec.due.isoformat()} and {rec.due_by.isoformat()}"
    if rec.status == "overdue" and rec.due is not None:
        if never_recorded(rec):
            # What is known is that no assessment is on record, not that none was done: say exactly that.
            return f"NONE ON RECORD (due since {rec.due.isoformat()}; record the last one, or do it now)"
        return f"OVERDUE by {rec.overdue_days} day{'s' if rec.overdue_days != 1 else ''} ({window})"
    if rec.status == "due" and rec.due is not None:
        return f"DUE now ({window})" if rec.due_by is not None else f"DUE now (since {rec.due.isoformat()})"
    if rec.status == "scheduled" and rec.due is not None:
        return f"Next {window}"
    return _WORDS.get(rec.status, rec.status.replace("-", " "))


def _headline(rec: Recommendation, entered: Mapping[str, str] | None = None) -> str:
    """The action; for a result, led by the patient's own value (the action states the band).

    A result given as a limit is quoted as entered ("<100 pmol/L"); the reasons keep the number compared.
    """
    if rec.status != "result" or not rec.details:
        return rec.action
    fact, _, value = rec.details[0].partition(" ")
    spec = vocabulary().get(fact)
    if spec is None or not value:
        return rec.action
    return f"{spec.label} {(entered or {}).get(fact, value)}. {rec.action}"


def _entered_limits(result: Assessment) -> dict[str, str]:
    """The results the patient data gave as a limit, as entered ("<133 pmol/L"), by fact."""
    given = result.record.patient.get("measurements", {})
    return {
        k: v for k, v in given.items() if isinstance(v, str) and v.startswith(("<", ">")) and k in result.record.facts
    }


def never_recorded(rec: Recommendation) -> bool:
    """True for a repeated assessment with no previous one on record (its ``last-...`` date is missing)."""
    return rec.status == "overdue" and any(f.startswith("last-") for f in rec.missing)


def _color_of(rec: Recommendation) -> str:
    if rec.status in ("emergency", "urgent"):
        return "1;31"  # bold red
    if rec.status == "overdue" or rec.status in DOSE_PROBLEMS or rec.status == "flagged":
        return "33"  # yellow
    return "0"


def summary(result: Assessment) -> list[str]:
    """The lines a clinician reads first: red flags (each on its own line, emergencies first), then the rest.

    The red flags stand apart, followed by a blank line; with red flags present the routine screening line gives
    counts only, so overdue check-ups never crowd the urgent part.
    """
    lines = []
    flags = sorted(result.section(Section.RED_FLAGS), key=lambda r: _FLAG_ORDER.get(r.status, len(_FLAG_ORDER)))
    if flags:
        lines.append(f"RED FLAGS ({len(flags)}): act on these first")
        for item in flags[:_FLAGS_SHOWN]:
            unverified = " (not yet verified)" if item.rule_status != "approved" else ""
            lines.append(f"- {_state(item)}{unverified}: {item.title}")
        if len(flags) > _FLAGS_SHOWN:
            lines.append(f"- ... and {len(flags) - _FLAGS_SHOWN} more (section 1)")
        lines.append("")
    if result.possible:
        lines += _possible_lines(result)
    if not flags and result.urgent_missing:
        # Never "none found" alone while an urgent check could not be made: that reads as reassurance.
        label = {m.fact: m.label.split(";")[0] for m in result.missing}
        labels = [label[fact] for fact in result.urgent_missing if fact in label]
        more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
        lines.append(
            f"Red flags: none {'confirmed' if result.possible else 'found'}, but urgent checks could not be made: "
            f"{len(labels)} input"
            f"{'s' if len(labels) != 1 else ''} missing ({'; '.join(labels[:3])}{more}; see what is missing)"
        )
    elif not flags and not result.possible:
        lines.append("Red flags: none found (every urgent check could be made)")
    # Only a presentation pattern is a "likely" category; considerations (e.g. "a diagnosis of exclusion") are not.
    patterns = [r for r in result.section(Section.CATEGORIES) if r.status == "pattern"]
    if patterns:
        lines.append(f"Likely: {patterns[0].title}")
    overdue = [r for r in result.recommendations if r.status == "overdue"]
    due = [r for r in result.recommendations if r.status == "due"]
    if overdue or due:
        unrecorded = sum(1 for r in overdue if never_recorded(r))
        parts = [f"{len(overdue)} overdue"] if overdue else []
        if unrecorded:
            parts[0] += f" ({unrecorded} with none on record)"
        parts += [f"{len(due)} due now"] if due else []
        if flags:
            lines.append(f"Routine screening: {' and '.join(parts)} (see the schedule section)")
        else:
            names = ", ".join(r.title for r in (*overdue, *due)[:3])
            more = "; ..." if len(overdue) + len(due) > 3 else ""
            lines.append(f"Screening: {' and '.join(parts)}: {names}{more}")
    doses = [r for r in result.recommendations if r.status in DOSE_PROBLEMS]
    if doses:
        # The verdict word leads: an action's first sentence can read as reassurance ("... within range. But ...").
        # Duplicate therapy is judged on the entries together: name them all, not only the first (within range alone).
        shown = [f"{_state(r)} ({' and '.join(r.reasons) if r.reasons else r.title})" for r in doses[:2]]
        lines.append(f"Dose problems: {len(doses)}: " + "; ".join(shown))
    unchecked = [m for m in result.missing if _not_checked(m)]
    for prefix, title in _NOT_CHECKED:
        # a dose or drug no evaluated rule checks (its rule is in review): said beside the dose problems
        items = [m for m in unchecked if m.label.startswith(prefix)]
        if items:
            named = (m.label.removeprefix(prefix).replace(" not checked", "", 1) for m in items[:2])
            lines.append(f"{title}: " + "; ".join(named) + _more(items))
    unknown = [m for m in result.missing if not m.needed_by and m not in unchecked]
    if unknown:
        lines.append("Not recognised: " + "; ".join(m.label.split(";")[0] for m in unknown[:2]))
    if result.notes:
        lines += _notes_summary(result)
    return lines


_NOT_LEFT_OUT = frozenset({FlagKind.SITE_DECISION_NOT_APPLIED, FlagKind.UNDECIDED})
"""Flags shown apart from the inputs left out: a site decision not applied, a limit used where it decides."""

NOTE_GROUPS: tuple[tuple[NoteKind, str, str], ...] = (
    (NoteKind.ASSUMPTION, "Read with an assumption, used in the advice above", "read with an assumption"),
    (NoteKind.CONFLICT, "In conflict with other data, check the record", "in conflict"),
    (NoteKind.UNDECIDED, "Result too imprecise to decide a rule", "result too imprecise to decide a rule"),
    (NoteKind.EXCLUDED, "Not used", "not used"),
    (NoteKind.UNRECOGNISED, "Not recognised", "not recognised"),
    (NoteKind.NONCONFORMANT, "Not conformant to FHIR R4, read leniently", "not conformant to FHIR R4"),
)
"""The input reader's notes in the report: each kind's group title and the words that count it in the summary, in
the order shown (what the advice rests on first, then conflicts, then what was left out)."""


def note_groups(notes: Sequence[Note]) -> list[tuple[NoteKind, list[Note]]]:
    """The reader's notes by kind (:data:`NOTE_GROUPS` order), each note once.

    Within a kind: resource types not read first, then by resource, so notes on one resource stand together.
    """
    once = sorted(dict.fromkeys(notes), key=lambda n: ("/" in n.resource, n.resource, n.what, n.reason))
    kinds = [k for k, _, _ in NOTE_GROUPS]
    kinds += [k for k in NoteKind if k not in kinds]  # a kind without a group is still shown
    groups = [(kind, [n for n in once if n.kind is kind]) for kind in kinds]
    return [(kind, items) for kind, items in groups if items]


def _note_words(kind: NoteKind) -> tuple[str, str]:
    return next(((title, short) for k, title, short in NOTE_GROUPS if k is kind), (kind.value, kind.value))


def note_title(kind: NoteKind) -> str:
    """The title of a kind's group of notes (e.g. ``Not recognised``)."""
    return _note_words(kind)[0]


def _notes_summary(result: Assessment) -> list[str]:
    """What the advice rests on and what conflicts, named; every group counted (listed in its own section)."""
    lines = []
    groups = dict(note_groups(result.notes))
    named = (
        (NoteKind.ASSUMPTION, "Read with an assumption"),
        (NoteKind.CONFLICT, "In conflict"),
        (NoteKind.UNDECIDED, "Result too imprecise to decide a rule"),
    )
    for kind, label in named:
        items = groups.get(kind, [])
        if items:
            more = f"; and {len(items) - 2} more" if len(items) > 2 else ""
            # each named by what it is about (never cut mid-sentence): the whole note is in the section below
            shown = [n.what if n.resource in n.what else f"{n.resource}: {n.what}" for n in items[:2]]
            lines.append(f"{label}: " + "; ".join(shown) + more)
    counts = ", ".join(f"{len(items)} {_note_words(kind)[1]}" for kind, items in groups.items())
    lines.append(f'From the FHIR data: {counts} (see "From the FHIR data" below; not inputs to add)')
    return lines


def _grouped(result: Assessment) -> tuple[dict[Section, list[Recommendation]], dict[int, list[Recommendation]]]:
    """Recommendations per section after merging same-action items, and what each lead item absorbed.

    One item per action (:func:`neuroguide._actions.action_groups`, the grouping the CDS Hooks cards use), shown under
    the first, most pressing section it appears in, with every rule and reason behind it; the record keeps each rule.
    """
    shown: dict[Section, list[Recommendation]] = {}
    absorbed: dict[int, list[Recommendation]] = {}
    for group in action_groups(result):
        shown.setdefault(group.lead.section, []).append(group.lead)
        if len(group.items) > 1:
            absorbed[id(group.lead)] = list(group.items[1:])
    return shown, absorbed


def render_text(result: Assessment, style: Style | None = None) -> str:
    """Render an assessment as a report a clinician can read: a summary first, then the sections."""
    st = style or Style()
    rec = result.record
    who = f" of {rec.patient.get('id')}" if rec.patient.get("id") else ""
    note = f" ({st.as_of_note})" if st.as_of_note else ""
    lines = [_paint(f"neuroguide assessment{who}", "1", st), f"Evaluation date {rec.as_of.isoformat()}{note}", ""]
    lines += [_paint("Summary", "1", st)]
    lines += [_wrap(line, "  ", st.width) for line in summary(result)]
    lines.append("")
    inputs = [f for f in rec.flags if f.kind not in _NOT_LEFT_OUT]
    sites = [f for f in rec.flags if f.kind is FlagKind.SITE_DECISION_NOT_APPLIED]
    undecided = [f for f in rec.flags if f.kind is FlagKind.UNDECIDED]
    if inputs:
        # First, so a probable unit error or an unlocked guideline file is never missed.
        lines.append("INPUTS FLAGGED AND NOT USED (check them):")
        for flag in inputs:
            lines.append(_wrap(f"- {flag.field} = {flag.value}: {flag.message}", "   "))
        lines.append("")
    if undecided:
        lines.append("RESULTS GIVEN AS A LIMIT THAT LEAVE A RULE UNDECIDED (an exact value would decide it):")
        for flag in undecided:
            lines.append(_wrap(f"- {flag.field} = {flag.value}: {flag.message}", "   "))
        lines.append("")
    if sites:
        lines.append("SITE DECISIONS NOT APPLIED (they name another guideline version; check the site file):")
        for flag in sites:
            lines.append(_wrap(f"- {flag.message}", "   "))
        lines.append("")
    number = 0
    gaps = pattern_gaps(result)
    shown, absorbed = _grouped(result)
    limited = _limited_results(result)
    entered = _entered_limits(result)
    for section in Section:
        items = shown.get(section, [])
        extra = limited if section is Section.RESULTS else []
        if not items and not extra and not (section is Section.CATEGORIES and gaps):
            continue
        number += 1
        lines.append(_paint(f"{number}. {SECTION_TITLES[section]}", "1", st))
        if section is Section.CATEGORIES:
            lines += [_wrap(text, "   " if text.startswith("- ") else "     ", st.width) for text in gaps]
        lines += [_wrap(text, "   " if text.startswith("- ") else "     ", st.width) for text in extra]
        for item in items:
            head = _wrap(f"- {_status(item)}: {_headline(item, entered)}", "   ", st.width)
            lines.append(_paint(head, _color_of(item), st) if _color_of(item) != "0" else head)
            if item.reasons:
                lines.append(_wrap("because: " + "; ".join(item.reasons), "     ", st.width))
            for detail in item.details:
                lines.append(_wrap(detail, "     ", st.width))
            lines.append(
                _wrap(f"rule {item.rule} ({item.guideline} {item.version}); {item.citation}", "     ", st.width)
            )
            for other in absorbed.get(id(item), []):
                why = f" because: {'; '.join(other.reasons)}" if other.reasons else ""
                lines.append(
                    _wrap(
                        f"also recommended ({_status(other)}) by rule {other.rule} ({other.guideline} "
                        f"{other.version}): {other.action}{why}; {other.citation}",
                        "     ",
                        st.width,
                    )
                )
        lines.append("")
    number += 1
    lines += [_paint(f"{number}. What is missing to decide more", "1", st), *_missing(result, st), ""]
    if result.notes:
        number += 1
        lines += [_paint(f"{number}. From the FHIR data: not used, or read with an assumption", "1", st)]
        lines += _notes(result, st)
        lines.append("")
    lines.append("Guideline versions used:")
    for ref in rec.guidelines:
        pin = " (pinned)" if ref.pinned else ""
        lines.append(f"   {ref.id} {ref.version}{pin} sha256 {ref.sha256[:16]}")
    if rec.site is not None:
        lines.append(f"site overlay: {rec.site.name} sha256 {rec.site.sha256[:16]}")
        # A rule the site switched off is said, never silently absent.
        for trace in rec.trace:
            if trace.outcome == "disabled-by-site":
                why = trace.leaves[0] if trace.leaves else ""
                lines.append(
                    _wrap(
                        f"- not evaluated: rule {trace.rule} ({trace.guideline} {trace.version}): {why}",
                        "   ",
                        st.width,
                    )
                )
    asked_all = "in-review" in rec.statuses
    also = " (and urgent rules in review, shown as not yet verified)" if rec.urgent_unverified and not asked_all else ""
    lines.append(f"neuroguide {rec.package}; rule statuses evaluated: {', '.join(rec.statuses)}{also}")
    return "\n".join(lines)


def _possible_lines(result: Assessment) -> list[str]:
    """Red flags raised under some reading of contradicting inputs: possible, so the inputs are checked now."""
    fields = "; ".join(dict.fromkeys(f for p in result.possible for f in p.fields))
    lines = [
        f"POSSIBLE RED FLAGS ({len(result.possible)}): they rest on contradicting inputs ({fields}); check them now"
    ]
    for item in result.possible[:_FLAGS_SHOWN]:
        rec = item.recommendation
        unverified = " (not yet verified)" if rec.rule_status != "approved" else ""
        how = (
            "raised whichever of the contradicting values is right"
            if item.every
            else f"raised in {item.readings} of {item.of} readings of the contradicting values"
        )
        lines.append(f"- {_state(rec)}{unverified}: {rec.title} ({how})")
    if len(result.possible) > _FLAGS_SHOWN:
        lines.append(f"- ... and {len(result.possible) - _FLAGS_SHOWN} more")
    lines.append("")
    return lines


def _more(items: Sequence[object]) -> str:
    """``; and N more`` when a summary line names only the first two of ``items``."""
    return f"; and {len(items) - 2} more (see what is missing)" if len(items) > 2 else ""


# How the engine labels a dose or drug no evaluated rule checks (evaluation._unchecked), and the summary's title.
_NOT_CHECKED = (("dose of ", "Dose not checked"), ("neurotoxicity of ", "Neurotoxicity not checked"))


def _not_checked(item: MissingInput) -> bool:
    """A dose or drug no evaluated rule checks (its rule is in review): said, not an input to add."""
    prefixes = tuple(prefix for prefix, _ in _NOT_CHECKED)
    return not item.needed_by and item.label.startswith(prefixes) and " not checked (" in item.label


def _missing(result: Assessment, st: Style) -> list[str]:
    """Unrecognised inputs first, then what urgent rules need, then unchecked drugs, then what most rules need."""
    missing = _with_limits(result)
    if not missing:
        return ["   nothing: every evaluated rule could decide"]
    urgent = {fact: i for i, fact in enumerate(result.urgent_missing)}
    decisive = set(result.urgent_decisive)
    limits = _limit_flags(result)
    # a limit that leaves an urgent rule undecided is needed to rule out an urgent problem, like a missing finding
    deciding = {fact: _urgent_undecided(result, fact) for fact in limits}
    for fact, rules in deciding.items():
        if rules and fact not in urgent:
            urgent[fact] = len(urgent)
    last = len(urgent)
    # Urgent inputs in the assessment's order (decisive findings first, then what an emergency rule needs).
    # Unrecognised inputs first (the advice may rest on a misread input), then the urgent questions, then doses and
    # drugs no evaluated rule checks (said in the summary too), then the rest.
    ordered = sorted(
        missing,
        key=lambda m: (
            0 if not m.needed_by and not _not_checked(m) else 1 if m.fact in urgent else 2 if _not_checked(m) else 3,
            urgent.get(m.fact, last),
            -len(m.needed_by),
            m.fact,
        ),
    )
    shown = ordered if st.all_missing else ordered[:_MISSING_SHOWN]
    lines = []
    for miss in shown:
        if not miss.needed_by:
            lines.append(_wrap(f"- {miss.label}", "   ", st.width))
            continue
        tag = (
            " (needed to rule out an urgent problem; with the findings recorded, this one alone would raise it)"
            if miss.fact in decisive
            else " (needed to rule out an urgent problem)"
            if miss.fact in urgent
            else ""
        )
        label = miss.label
        if miss.fact in limits:
            label = f"An exact value of {label[:1].lower()}{label[1:]} (given only as {limits[miss.fact].value})"
        needed = dict.fromkeys([*miss.needed_by, *deciding.get(miss.fact, ())])
        lines.append(_wrap(f"- {label} [{miss.fact}]{tag}: needed by {', '.join(needed)}", "   ", st.width))
    rest = len(ordered) - len(shown)
    unshown = [
        f"{miss.fact} (an exact value; given only as {limits[miss.fact].value})" if miss.fact in limits else miss.fact
        for miss in ordered[len(shown) :]
        if miss.fact in urgent
    ]
    if unshown:
        # Every question that could rule out an urgent problem is named, even when the list is cut short.
        lines.append(_wrap(f"also needed to rule out an urgent problem: {', '.join(unshown)}", "   ", st.width))
    if rest:
        lines.append(f"   ... and {rest} more input{'s' if rest != 1 else ''} (show all with --all-missing)")
    return lines


def _limit_flags(result: Assessment) -> dict[str, Flag]:
    """The limits that leave a rule undecided, by fact."""
    return {f.field.removeprefix("measurements."): f for f in result.record.flags if f.kind is FlagKind.UNDECIDED}


def _limit_of(flag: Flag) -> tuple[str, str]:
    """The comparator and the quantity text of a limit as entered ("<200 pg/mL" -> "<", "200 pg/mL")."""
    comparator = next(c for c in ("<=", ">=", "<", ">") if flag.value.startswith(c))
    return comparator, flag.value[len(comparator) :].strip()


def _in_unit(fact: str, text: str, rule: m.ClassificationRule) -> float:
    spec = vocabulary()[fact]
    q = parse_quantity(text) if is_quantity(text) or " " in text else quantity(float(text), spec.unit or "")
    return magnitude(q, rule.unit, analyte=rule.analyte or spec.analyte)


def _undetermined(result: Assessment) -> set[str]:
    return {t.rule for t in result.record.trace if t.outcome == "undetermined"}


def _urgent_undecided(result: Assessment, fact: str) -> tuple[str, ...]:
    """The urgent rules the limit on ``fact`` leaves undetermined (directly or through its classification)."""
    rules = _rules_of(result.record)
    classes = {r.id for r in rules.values() if isinstance(r, m.ClassificationRule) and r.fact == fact}
    open_ = _undetermined(result)
    return tuple(
        rid
        for rid, rule in rules.items()
        if rid in open_ and m.is_urgent(rule) and any(f == fact or f in classes for _, f in criterion_facts(rule, ""))
    )


def _with_limits(result: Assessment) -> list[MissingInput]:
    """The missing inputs, with an entry for a limit that leaves an urgent rule undecided but is not listed."""
    out = list(result.missing)
    listed = {miss.fact for miss in out}
    for fact in _limit_flags(result):
        rules = _urgent_undecided(result, fact)
        if rules and fact not in listed:
            spec = vocabulary().get(fact)
            out.append(MissingInput(fact=fact, label=spec.label if spec else fact, needed_by=rules))
    return out


def _limited_results(result: Assessment) -> list[str]:
    """Each classification a limit leaves undecided, with the bands the limit leaves possible (none excluded)."""
    lines: list[str] = []
    open_ = _undetermined(result)
    rules = _rules_of(result.record)
    vocab = vocabulary()
    for fact, flag in _limit_flags(result).items():
        comparator, text = _limit_of(flag)
        for rule in rules.values():
            if not isinstance(rule, m.ClassificationRule) or rule.fact != fact or rule.id not in open_:
                continue
            bands = possible_bands(rule, Bound(_in_unit(fact, text, rule), comparator))
            if not bands:
                continue
            name = vocab[fact].label if fact in vocab else fact
            labels = " or ".join(b.label for b in bands)
            none = "neither is" if len(bands) == 2 else "none is"
            lines.append(
                f"- Result given as a limit: {name} {flag.value}: {labels}; {none} excluded "
                "(an exact value would decide)."
            )
            lines += [f"possible: {b.label}: {b.action}" for b in bands if b.action]
            lines.append(f"rule {rule.id}: undecided by the limit")
    return lines


def _notes(result: Assessment, st: Style) -> list[str]:
    """Every note of the input reader once, grouped by kind, each line with the note's own words only."""
    lines = []
    for kind, items in note_groups(result.notes):
        lines.append(f"   {note_title(kind)} ({len(items)}):")
        lines += [_wrap(f"- {n.text}", "     ", st.width) for n in items]
    return lines


_PLAIN_HEADINGS = {
    Section.RED_FLAGS: "Urgent: act on these first",
    Section.CATEGORIES: "What may be causing your symptoms",
    Section.RESULTS: "Your results",
    Section.WORKUP: "Tests and checks your care team may do",
    Section.SCHEDULE: "Check-ups and when they are due",
    Section.REFERRALS: "Specialists you may be referred to",
    Section.MEDICATIONS: "Your medicines",
    Section.TREATMENT: "Treatment and safety",
}


def render_patient(result: Assessment, style: Style | None = None) -> str:
    """The assessment in plain language for the person it is about, with the clinician report's rule ids."""
    st = style or Style()
    rec = result.record
    lines = [
        _paint("Your neuroguide summary", "1", st),
        f"Date of this summary: {rec.as_of.isoformat()}",
        _wrap(
            "Read this with your doctor or nurse: it explains what the guidelines suggest for you, "
            "and does not replace their advice. The code in brackets after each point lets them look it up.",
            "",
            st.width,
        ),
        "",
    ]
    from .plain import plain_language  # here: the clinician report, the command line's default, does not load it

    items = plain_language(result)
    for section in Section:
        mine = [i for i in items if i.section is section]
        if not mine:
            continue
        lines.append(_paint(_PLAIN_HEADINGS[section], "1;31" if section is Section.RED_FLAGS else "1", st))
        for item in mine:
            when = _plain_when(result, item.rule)
            text = item.text + (f" {item.why}" if item.why else "") + (f" {when}" if when else "")
            if not item.verified_rule:
                text += " (This advice is still being checked against its source.)"
            lines.append(_wrap(f"- {text} [{item.rule}]", "  ", st.width))
        lines.append("")
    if not items:
        lines += [
            _wrap(
                "No recommendation could be made from the information given. This does not mean that nothing is "
                "wrong: your care team decides what to do next.",
                "",
                st.width,
            ),
            "",
        ]
    unasked = [m.label for m in result.missing if m.fact in set(result.urgent_missing)]
    if unasked:
        # Never reassure by omission: say which warning-sign questions were not answered.
        lines.append(_paint("Questions not yet answered", "1", st))
        lines.append(
            _wrap(
                "Some questions that help rule out an urgent problem were not answered. Please make sure your "
                "care team has asked about: " + "; ".join(unasked[:6]) + ".",
                "  ",
                st.width,
            )
        )
        lines.append("")
    lines.append(
        _wrap(
            "Sources: each point comes from a published guideline; your care team can see it in the "
            "clinician report (same codes in brackets).",
            "",
            st.width,
        )
    )
    return "\n".join(lines)


def _plain_when(result: Assessment, rule: str) -> str:
    rec = result.by_rule(rule)
    if rec is None or rec.due is None:
        return ""
    if rec.status == "overdue" and never_recorded(rec):
        return f"Your record shows none since it was first due on {rec.due.isoformat()}. Ask if it is time."
    if rec.status == "overdue":
        return f"This was due by {(rec.due_by or rec.due).isoformat()} and is now overdue."
    if rec.status == "due":
        return "This is due now."
    if rec.status == "scheduled":
        return f"Next due on {rec.due.isoformat()}."
    return ""


# -- presentation pattern not decided ------------------------------------------------------------------

# Findings that make a presentation to classify (without any, no pattern is expected).
_LEG_SYMPTOMS = (
    "numbness",
    "tingling",
    "weakness",
    "burning-pain",
    "radicular-pain",
    "exercise-induced-symptoms",
    "claudication",
)


def pattern_gaps(result: Assessment) -> list[str]:
    """When leg symptoms are recorded but no presentation pattern fired: what would decide each pattern.

    Returns report lines: a heading line starting with ``"- "``, then one line per pattern rule that could
    not decide, naming the missing findings that would decide it on their own. Empty when a pattern fired,
    when no leg symptom is recorded, or when no pattern rule was evaluated.
    """
    facts = {k: fact_of_record(v) for k, v in result.record.facts.items()}  # a limit compared as one
    if any(r.status is RecommendationStatus.PATTERN for r in result.recommendations):
        return []
    if not any(facts.get(name) is True for name in _LEG_SYMPTOMS):
        return []
    rules = _rules_of(result.record)
    evaluated = False
    lines = []
    for trace in result.record.trace:
        rule = rules.get(trace.rule)
        if isinstance(rule, m.ConsiderationRule) and rule.pattern is not None:
            evaluated = True
            if trace.missing:
                lines.append(
                    f"{rule.pattern}: would be decided by {', '.join(_deciding(rule.when, facts, trace.missing))}"
                )
    if not evaluated:
        return []
    if not lines:
        return [
            "- Presentation pattern: none of the evaluated patterns fits the findings given "
            "(patterns in review are not evaluated)."
        ]
    return ["- Presentation pattern not decided by the findings given:", *lines]


def _rules_of(rec: EvaluationRecord) -> dict[str, m.Rule]:
    """The rules of the guideline versions a record used, by id (none where the packaged catalog differs)."""
    out: dict[str, m.Rule] = {}
    for ref in rec.guidelines:
        try:
            g = catalog().get(ref.id, version=ref.version)
        except LookupError:
            continue
        if g.sha256 == ref.sha256:
            out.update({r.id: r for r in g.rules})
    return out


def _deciding(when: m.Criterion, facts: dict[str, Any], missing: tuple[str, ...]) -> list[str]:
    """The missing findings that would decide ``when`` on their own (all of them if none would alone)."""
    alone = [
        name
        for name in missing
        if decide(when, {**facts, name: True}) is not None or decide(when, {**facts, name: False}) is not None
    ]
    return alone or list(missing)


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
    if isinstance(rule, m.ConsiderationRule) and rule.pattern is not None:
        lines.append(_wrap(f"presentation pattern: {rule.pattern}", ""))
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
        lines.append(
            _wrap(f"where the source article this project started from says otherwise: {dev.seed} -> {dev.governs}", "")
        )
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
