"""Reference documentation generated from the loaded guidelines (MyST pages; no Sphinx import).

:func:`generate` turns a :class:`~neuroguide.Catalog` into pages: one per
guideline, one per guideline version (every rule as it stands in that
version), one per rule (with a transparency section, its tests and its version
history), a history page per guideline, and the catalogue-wide pages built from
installed objects only (neurotoxicity table, calculators, anomalies, patient
schema, API reference). Everything that reads a repository (the trace matrix
from the tests, the dependency list, the changelog, the conformance report) is
contributed by the project's own docs extension as a :class:`Contribution`. The
Sphinx extension :mod:`neuroguide.sphinxext` writes the pages into
``docs/_generated``; the tests call :func:`generate` directly.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from . import model as m
from ._criteria import facts_in
from ._docgen_extra import extra_pages
from ._docgen_md import (
    Contribution,
    DocProblem,
    DocSet,
    Page,
    cite_summary,
    code,
    esc,
    fmt_value,
    heading,
    label,
    pipe_table,
    ref,
    rule_label,
    rule_page_path,
)
from ._loading import Catalog
from ._redline import as_markdown_html
from ._vocabulary import FactSpec, vocabulary
from .audit import Note, RuleVersion, redline, rule_differences, rule_versions

__all__ = [
    "Contribution",
    "DocSet",
    "cite_summary",
    "criterion_rows",
    "generate",
    "guideline_pages",
    "plain_criterion",
    "rule_facts",
    "rule_label",
    "rule_page_path",
    "source_reference",
]


# -- paths and targets ------------------------------------------------------------


def _version_rule_label(gid: str, version: str, rid: str) -> str:
    return label("v", gid, version, rid)


def _version_label(gid: str, version: str) -> str:
    return label("guideline", gid, version)


def _guideline_label(gid: str) -> str:
    return label("guideline", gid)


def _history_label(gid: str) -> str:
    return label("history", gid)


# -- criteria ----------------------------------------------------------------------

_OP_SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠", "in": "is one of"}
_OP_WORDS = {
    "<": "below",
    "<=": "at most",
    ">": "above",
    ">=": "at least",
    "==": "is",
    "!=": "is not",
    "in": "is one of",
}


def _criterion_value(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return fmt_value(value) if not isinstance(value, str) else value


def _fact_label(name: str, vocab: Mapping[str, FactSpec], g: m.Guideline | None) -> str:
    spec = vocab.get(name)
    if spec is not None:
        return spec.label
    if g is not None:
        for rule in g.rules:
            if rule.id == name:
                return f"result of “{rule.title}”"
    return name


def plain_criterion(
    c: m.Criterion, vocab: Mapping[str, FactSpec] | None = None, g: m.Guideline | None = None, *, top: bool = True
) -> str:
    """Return a criterion in plain words, using the vocabulary's labels (not escaped).

    Args:
        c: the criterion.
        vocab: the fact vocabulary (default: the packaged one).
        g: the guideline, so facts named after a classification rule read as its result.
        top: False when nested (adds parentheses around groups).

    Returns:
        e.g. ``Type 1 diabetes or Type 2 diabetes``.

    """
    vocab = vocab if vocab is not None else vocabulary()
    if isinstance(c, m.Fact):
        return _fact_label(c.name, vocab, g)
    if isinstance(c, m.Compare):
        value = _criterion_value(c.value)
        return f"{_fact_label(c.fact, vocab, g)} {_OP_WORDS[c.op]} {value}"
    if isinstance(c, m.Not):
        return f"not ({plain_criterion(c.not_, vocab, g, top=True)})"
    parts = c.all if isinstance(c, m.AllOf) else c.any
    joiner = " and " if isinstance(c, m.AllOf) else " or "
    text = joiner.join(plain_criterion(p, vocab, g, top=False) for p in parts)
    return text if top or len(parts) == 1 else f"({text})"


def criterion_rows(
    c: m.Criterion, vocab: Mapping[str, FactSpec] | None = None, g: m.Guideline | None = None, number: str = "1"
) -> list[tuple[str, str, str]]:
    """Flatten a criterion into decision-table rows ``(number, test, meaning)`` (Markdown).

    Groups become a row naming how their children combine, and the children
    are numbered beneath them (1.1, 1.2, 1.2.1 ...), so nesting stays visible.
    """
    vocab = vocab if vocab is not None else vocabulary()
    depth = number.count(".")
    indent = "&nbsp;" * (4 * depth)
    if isinstance(c, m.Fact):
        return [(number, f"{indent}{code(c.name)} is true", esc(_fact_label(c.name, vocab, g)))]
    if isinstance(c, m.Compare):
        test = f"{indent}{code(c.fact)} {esc(_OP_SYMBOL[c.op])} {esc(_criterion_value(c.value))}"
        return [(number, test, esc(plain_criterion(c, vocab, g)))]
    if isinstance(c, m.Not):
        rows = [(number, f"{indent}**NOT** {number}.1", "true when the condition below is false")]
        return rows + criterion_rows(c.not_, vocab, g, f"{number}.1")
    parts = c.all if isinstance(c, m.AllOf) else c.any
    span = f"{number}.1" if len(parts) == 1 else f"{number}.1–{number}.{len(parts)}"
    if isinstance(c, m.AllOf):
        rows = [(number, f"{indent}**ALL** of {span}", "true when every condition below holds")]
    else:
        rows = [(number, f"{indent}**ANY** of {span}", "true when at least one condition below holds")]
    for i, part in enumerate(parts, 1):
        rows.extend(criterion_rows(part, vocab, g, f"{number}.{i}"))
    return rows


def _decision_table(c: m.Criterion, vocab: Mapping[str, FactSpec], g: m.Guideline) -> list[str]:
    rows = criterion_rows(c, vocab, g)
    lines = pipe_table(["#", "Condition", "Meaning"], rows)
    lines += [f"In words: *{esc(plain_criterion(c, vocab, g))}*.", ""]
    return lines


def _is_criterion(value: object) -> bool:
    return isinstance(value, m.Fact | m.Compare | m.AllOf | m.AnyOf | m.Not)


def rule_facts(rule: m.Rule) -> list[str]:
    """Return every fact a rule reads, without duplicates, in the order it reads them."""
    names: list[str] = []
    for field in attrs.fields(type(rule)):
        value = getattr(rule, field.name)
        if _is_criterion(value):
            names.extend(facts_in(value))
        elif isinstance(value, tuple):
            for item in value:
                if attrs.has(type(item)):
                    for sub in attrs.fields(type(item)):
                        subvalue = getattr(item, sub.name)
                        if _is_criterion(subvalue):
                            names.extend(facts_in(subvalue))
                        elif sub.name == "anchor":
                            names.append(subvalue)
    if isinstance(rule, m.ScreeningRule):
        names.append(rule.last_done)
    if isinstance(rule, m.ClassificationRule):
        names.append(rule.fact)
    if isinstance(rule, m.DosingRule) and rule.renal:
        names.append("crcl")
        if any(b.dialysis is not None for b in rule.renal):
            names.append("dialysis")
    return list(dict.fromkeys(names))


# -- parameters --------------------------------------------------------------------

_BASE_FIELDS = {f.name for f in attrs.fields(m.RuleBase)} | {"kind"}
_FIELD_LABELS = {
    "interval": "Interval",
    "last_done": "Date of last assessment (fact)",
    "includes": "The assessment includes",
    "to": "Refer to",
    "dose_min": "Dose, minimum (per period)",
    "dose_max": "Dose, maximum (per period)",
    "per": "Per",
    "maximum": "Maximum allowed (per period)",
    "plausible_max": "Plausibility limit (above: likely unit error)",
    "drug_class": "Drug class",
    "rxnorm": "RxNorm code",
    "cumulative_threshold": "Cumulative-dose threshold",
    "duration_threshold": "Duration threshold",
    "places": "Rounding (decimal places, half-up)",
    "label_note": "Label note",
}
_FACT_FIELDS = {"last_done", "fact", "analyte"}
_TABLE_LABELS = {
    "start": "Start points",
    "intervals": "Category-specific intervals",
    "bands": "Bands",
    "renal": "Renal dose adjustment",
}
_CRITERION_LABELS = {"applies": "Applies to", "when": "Fires when"}


def _field_label(name: str) -> str:
    return _FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def _parameters(rule: m.Rule) -> tuple[list[tuple[str, str]], list[tuple[str, tuple[Any, ...]]]]:
    """Split a rule's own fields into scalar parameters and nested tables (criteria excluded)."""
    scalars: list[tuple[str, str]] = []
    tables: list[tuple[str, tuple[Any, ...]]] = []
    for field in attrs.fields(type(rule)):
        if field.name in _BASE_FIELDS:
            continue
        value = getattr(rule, field.name)
        if _is_criterion(value):
            continue
        if isinstance(value, tuple) and value and attrs.has(type(value[0])):
            tables.append((field.name, value))
        elif value is None or value == ():
            continue
        elif field.name in _FACT_FIELDS:
            scalars.append((_field_label(field.name), code(value)))
        else:
            scalars.append((_field_label(field.name), fmt_value(value)))
    return scalars, tables


def _nested_table(items: tuple[Any, ...], vocab: Mapping[str, FactSpec], g: m.Guideline) -> list[str]:
    fields = [f.name for f in attrs.fields(type(items[0]))]
    used = [name for name in fields if any(getattr(i, name) not in (None, ()) for i in items)]
    rows = []
    for item in items:
        cells = []
        for name in used:
            value = getattr(item, name)
            if _is_criterion(value):
                cells.append(esc(plain_criterion(value, vocab, g)))
            elif name in ("anchor", "fact"):
                cells.append(code(value))
            elif name.endswith("_inclusive"):
                cells.append("inclusive" if value else "exclusive")
            else:
                cells.append(fmt_value(value))
        rows.append(cells)
    return pipe_table([esc(_field_label(n)) for n in used], rows)


# -- citations and sources --------------------------------------------------------------


def source_reference(src: m.Source) -> str:
    """Return a full bibliographic reference in Markdown (DOI, PMID and URL linked)."""
    authors = "; ".join(src.authors)
    parts = [f"{esc(authors)}." if authors else "", f"{esc(src.title)}."]
    venue = src.journal or src.publisher
    tail = ", ".join(esc(x) for x in (venue, str(src.year)) if x)
    if src.volume:
        tail += f";{esc(src.volume)}"
    if src.pages:
        tail += f":{esc(src.pages)}"
    if tail:
        parts.append(f"*{tail}*." if venue else f"{tail}.")
    if src.edition:
        parts.append(f"Edition {esc(src.edition)}.")
    if src.doi:
        parts.append(f"doi:[{esc(src.doi)}](https://doi.org/{src.doi})")
    if src.pmid:
        parts.append(f"PMID [{esc(src.pmid)}](https://pubmed.ncbi.nlm.nih.gov/{src.pmid}/)")
    if src.url:
        parts.append(f"<{src.url}>" if " " not in src.url and ">" not in src.url else esc(src.url))
    return " ".join(p for p in parts if p)


def _citation_block(g: m.Guideline, cite: m.Citation, n: int) -> list[str]:
    try:
        src = g.source(cite.source)
        short, full = src.short(), source_reference(src)
    except KeyError:
        short, full = cite.source, esc(cite.source)
    grade = esc(cite.grade) if cite.grade else "none printed"
    if cite.grade and cite.scale:
        grade += f" ({esc(cite.scale)})"
    v = cite.verification
    lines = [f"**Citation {n}: {esc(short)}, {esc(cite.locator)}**", ""]
    lines += ["> " + esc(cite.quote), ""]
    lines += [
        f"- **Source:** {full}",
        f"- **Locator:** {esc(cite.locator)}",
        f"- **Evidence grade:** {grade}",
        f"- **Verification:** {esc(v.status.value)}, via {esc(v.via)} (checked {v.checked.isoformat()})",
        "",
    ]
    return lines


# -- history -----------------------------------------------------------------------------


def _notes_md(notes: Sequence[Note]) -> str:
    parts = []
    for n in notes:
        src = f" (source: {code(n.source)})" if n.source else ""
        parts.append(f"{esc(n.what)} *Why:* {esc(n.why)}{src}")
    return " ".join(parts) or "—"


def _change_text(entry: RuleVersion) -> str:
    if entry.event != "changed":
        return "first encoded" if entry.event == "added" and entry.previous is None else entry.event
    fields = [_field_change(d.path, d.before, d.after) for d in entry.differences]
    fields += [f"source {d.path}" for d in entry.source_changes]
    return "changed: " + "; ".join(fields)


def _field_change(path: str, before: str | None, after: str | None) -> str:
    # Short values are shown inline; long ones (quotes, statements) by field name only.
    if before and after and len(before) + len(after) < 140:
        return f"{path}: {before} → {after}"
    if after and not before and len(after) < 140:
        return f"{path}: + {after}"
    if before and not after and len(before) < 140:
        return f"{path}: − {before}"
    return path


def _history_table(history: Sequence[RuleVersion]) -> list[str]:
    """The version history of a rule, from :func:`neuroguide.audit.rule_versions` (one implementation)."""
    rows = [
        [
            esc(h.version),
            h.effective.isoformat(),
            esc(h.guideline_status.value),
            esc(h.rule_status.value if h.rule_status else "—"),
            esc(_change_text(h)),
            _notes_md(h.notes),
        ]
        for h in history
    ]
    return pipe_table(["Version", "Effective", "Guideline status", "Rule status", "Change", "Change note"], rows)


# -- rules -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _RuleContext:
    vocab: Mapping[str, FactSpec]
    tests: Mapping[tuple[str, str], str]  # (gid, rid) -> Markdown of the tests and outcomes
    versions: Mapping[str, list[m.Guideline]]


def _kind_intent(rule: m.Rule, vocab: Mapping[str, FactSpec], g: m.Guideline) -> str:
    def when(c: m.Criterion) -> str:
        return esc(plain_criterion(c, vocab, g))

    if isinstance(rule, m.ScreeningRule):
        return f"Tells the clinician when this assessment is due, for people to whom it applies ({when(rule.applies)})."
    if isinstance(rule, m.ReferralRule):
        return f"Prompts a referral to {esc(rule.to)} ({esc(rule.urgency)}) when: {when(rule.when)}."
    if isinstance(rule, m.WorkupRule):
        return f"Suggests tests to order ({esc('; '.join(rule.tests))}) when: {when(rule.when)}."
    if isinstance(rule, m.ConsiderationRule):
        return f"Raises a diagnostic consideration for the clinician when: {when(rule.when)}."
    if isinstance(rule, m.TreatmentRule):
        return f"Lists the options the source supports (and those it advises against) when: {when(rule.when)}."
    if isinstance(rule, m.CautionRule):
        return f"Warns the prescriber when: {when(rule.when)}."
    if isinstance(rule, m.ClassificationRule):
        return f"Interprets a measured value ({esc(_fact_label(rule.fact, vocab, g))}) into the source's categories."
    if isinstance(rule, m.DosingRule):
        return (
            f"Checks a prescribed dose of {esc(rule.agent)} ({esc(rule.route)}; {esc(rule.indication)}; "
            f"{esc(rule.population)}) against the cited range, and flags a likely unit error."
        )
    return (
        f"Flags {esc(rule.agent)} in the medication list as a possible cause of neuropathy and compares the "
        "exposure with the cited threshold."
    )


def _logic(rule: m.Rule, vocab: Mapping[str, FactSpec], g: m.Guideline) -> list[str]:
    """The rule's logic in plain words, kind by kind (mirrors ``neuroguide._kinds``)."""
    lines: list[str] = []
    if isinstance(rule, m.ScreeningRule):
        lines.append(f"1. The rule applies when: {esc(plain_criterion(rule.applies, vocab, g))}.")
        for sp in rule.start:
            lines.append(
                f"1. If {esc(plain_criterion(sp.when, vocab, g))}: the first assessment is due {esc(str(sp.after))} "
                f"after {esc(_fact_label(sp.anchor, vocab, g).lower())} (calendar arithmetic)."
            )
        lines.append(
            f"1. After an assessment ({code(rule.last_done)}), the next is due {esc(str(rule.interval))} later"
            + (", or per category as tabled above" if rule.intervals else "")
            + "; from the day after the latest date it is reported overdue."
        )
    elif isinstance(rule, m.ClassificationRule):
        rounding = f"rounded half-up to {rule.places} decimal place(s)" if rule.places is not None else "taken as given"
        lines.append(
            f"1. The value of {code(rule.fact)} is converted to {esc(rule.unit)} and {rounding}, then placed in the "
            "first band whose edges contain it (edge inclusivity as tabled)."
        )
        lines.append(f"1. The band label becomes the fact {code(rule.id)}, which other rules may test.")
    elif isinstance(rule, m.DosingRule):
        lines.append(f"1. The rule looks for {esc(rule.agent)} (or a synonym) in the medication list.")
        lines.append(
            "1. The dose is converted to the rule's units and period and compared with the cited range; a dose "
            "above the plausibility limit is reported as a likely unit error, not as an overdose."
        )
        if rule.renal:
            lines.append("1. With a creatinine clearance, the renal band that contains it sets the daily range.")
            if all(band.dialysis is None for band in rule.renal):
                lines.append(
                    "1. On dialysis no creatinine clearance is estimated from a serum creatinine (Cockcroft–Gault "
                    "presumes stable renal function); only one given directly sets the row."
                )
            for band in rule.renal:
                if band.dialysis is not None:
                    lines.append(
                        f"1. On dialysis, whatever the creatinine clearance, the row {esc(band.label)} applies "
                        f"({esc(band.regimen)}): {esc(band.dialysis)}."
                    )
    elif isinstance(rule, m.NeurotoxicityRule):
        lines.append(f"1. The rule fires when {esc(rule.agent)} (or a synonym, or RxNorm {esc(rule.rxnorm)}) is taken.")
        if rule.cumulative_threshold is not None:
            lines.append(
                f"1. A cumulative dose above {fmt_value(rule.cumulative_threshold)} is flagged (doses in mg are "
                "divided by the Mosteller body-surface area when the threshold is per m²)."
            )
        if rule.duration_threshold is not None:
            lines.append(f"1. Therapy longer than {fmt_value(rule.duration_threshold)} is flagged.")
        if rule.cumulative_threshold is None and rule.duration_threshold is None:
            lines.append("1. A dose given is named in the caution; it is not compared with a number.")
    else:
        crit = rule.when
        lines.append(f"1. The rule fires when: {esc(plain_criterion(crit, vocab, g))}.")
        lines.append(f"1. It then recommends: {esc(_action(rule))}")
    return [*lines, ""]


def _action(rule: m.Rule) -> str:
    if isinstance(rule, m.CautionRule):
        return rule.caution + (f" Exception: {rule.exception}" if rule.exception else "")
    return str(getattr(rule, "action", "") or "")


def _inputs_table(rule: m.Rule, vocab: Mapping[str, FactSpec], g: m.Guideline) -> list[str]:
    rows = []
    for name in rule_facts(rule):
        spec = vocab.get(name)
        if spec is None:
            rows.append([code(name), esc(_fact_label(name, vocab, g)), "category", "from the rule of that id", "—"])
            continue
        kind = spec.type + (f" ({esc(spec.unit)})" if spec.unit else "")
        if spec.derived and spec.obtain:
            how = f"{esc(spec.obtain)} Otherwise derived: {esc(spec.derived)}"
        elif spec.derived:
            how = f"Derived: {esc(spec.derived)}"
        else:
            how = esc(spec.obtain or "—")
        if spec.low is not None and spec.high is not None:
            span = esc(f"{spec.low:g} to {spec.high:g}" + (f" {spec.unit}" if spec.unit else ""))
        elif spec.values:
            span = esc(", ".join(spec.values))
        else:
            span = "—"
        rows.append([code(name), esc(spec.label), kind, how, span])
    if isinstance(rule, m.DosingRule | m.NeurotoxicityRule):
        fields = ["agent"]
        if isinstance(rule, m.DosingRule):
            fields += ["dose", "per", "route"]
        else:
            if rule.cumulative_threshold is not None:
                fields.append("cumulative")
            if rule.duration_threshold is not None:
                fields += ["started", "stopped"]
        rows.append(
            [
                code("medications"),
                "Medication list entry",
                "list",
                "Fields used: " + ", ".join(code(f) for f in fields) + ". From the prescribing record.",
                "doses must be positive; units as accepted by the unit policy",
            ]
        )
    if not rows:
        return ["This rule reads no patient input.", ""]
    return pipe_table(["Input", "What it is", "Type (unit)", "How to obtain it", "Accepted range"], rows)


def _transparency(rule: m.Rule, g: m.Guideline, level: int, ctx: _RuleContext) -> list[str]:
    vocab = ctx.vocab
    lines = heading(level, "Transparency (basis of the recommendation)")
    lines += [
        "In the spirit of the FDA guidance *Clinical Decision Support Software* (2022): who the rule is for, what it "
        "needs, how it decides, on what source, and what it does with missing or implausible data, so that a "
        "clinician can review the basis independently rather than rely on it.",
        "",
    ]
    lines += heading(level + 1, "Intended use and user")
    lines += [
        f"- **Intended use:** {_kind_intent(rule, vocab, g)} It supports, and does not replace, the clinician's "
        "judgement.",
        "- **Intended user:** a health-care professional (or clinical software acting for one). The output is "
        "advice for that professional, not a directive and not for patients without review.",
        f"- **Status:** {esc(rule.status.value)}"
        + (
            " (evaluated by default)."
            if rule.status is m.Status.APPROVED
            else " (not evaluated unless the caller asks for this status)."
        ),
        "",
    ]
    lines += heading(level + 1, "Required inputs and how to obtain them")
    lines += _inputs_table(rule, vocab, g)
    lines += heading(level + 1, "Logic in plain language")
    lines += _logic(rule, vocab, g)
    lines += heading(level + 1, "Sources")
    lines += [f"- {cite_summary(g, c)}: “{esc(c.quote)}”" for c in rule.citations] + [""]
    lines += heading(level + 1, "Missing or implausible inputs")
    missing = ", ".join(code(f) for f in rule_facts(rule)) or "none"
    lines += [
        f"- **Missing:** an input that is not recorded ({missing}) is *unknown*, never assumed normal. A condition "
        "that needs it is undetermined (all-of is false if any part is false, true if all are true, otherwise "
        "undetermined; any-of is the dual; not keeps undetermined). The rule is then reported as undetermined and "
        "the input is listed under the assessment's missing inputs and in the evaluation record.",
    ]
    if isinstance(rule, m.ScreeningRule):
        lines.append(
            f"- **No previous assessment recorded** ({code(rule.last_done)} missing): the assessment is reported as "
            "due from its start point, and the date is listed as a missing input."
        )
    lines += [
        "- **Implausible:** every quantity is converted once to its canonical unit and checked against the accepted "
        "range above; a value outside it, an unknown unit (units are case-sensitive: `MG` is not mg), a wrong "
        "dimension, an unknown fact name, or a date after the evaluation date is refused with "
        "{py:class}`~neuroguide.InputError`, which names the field, the value and what was expected. Nothing is "
        "clipped or silently dropped.",
        "",
    ]
    return lines


def _rule_body(
    g: m.Guideline, rule: m.Rule, level: int, ctx: _RuleContext, *, full: bool, anchor: str | None
) -> list[str]:
    vocab = ctx.vocab
    lines = heading(level, rule.title, anchor)
    meta = [
        f"Rule {code(rule.id)}",
        f"{esc(rule.kind)} rule",
        f"status **{esc(rule.status.value)}**",
        f"{esc(g.id)} {ref(_version_label(g.id, g.version), 'version ' + g.version)}",
    ]
    if full:
        meta.append(ref(_history_label(g.id), "guideline history"))
    else:
        meta.append(ref(rule_label(g.id, rule.id), "rule page: transparency, tests, history"))
    lines += [" · ".join(meta), ""]
    if rule.review_note:
        lines += ["```{admonition} In review", ":class: warning", "", esc(rule.review_note), "```", ""]
    lines += [f"**Statement.** {esc(rule.statement)}", ""]
    action = _action(rule)
    if action and not isinstance(rule, m.CautionRule):
        lines += [f"**Action.** {esc(action)}", ""]
    elif isinstance(rule, m.CautionRule):
        lines += [f"**Caution.** {esc(rule.caution)}", ""]
        if rule.exception:
            lines += [f"**Never blocked (exception).** {esc(rule.exception)}", ""]
    scalars, tables = _parameters(rule)
    scalars = [(k, v) for k, v in scalars if k not in ("Action", "Caution", "Exception")]
    if scalars or tables:
        lines += heading(level + 1, "Parameters")
        if scalars:
            lines += pipe_table(["Parameter", "Value"], [[esc(k), v] for k, v in scalars])
        for name, items in tables:
            lines += [f"**{esc(_TABLE_LABELS.get(name, _field_label(name)))}**", ""]
            lines += _nested_table(items, vocab, g)
    criteria = [
        (f.name, getattr(rule, f.name)) for f in attrs.fields(type(rule)) if _is_criterion(getattr(rule, f.name))
    ]
    if criteria:
        lines += heading(level + 1, "Criteria (decision table)")
        for name, crit in criteria:
            lines += [f"**{esc(_CRITERION_LABELS.get(name, _field_label(name)))}**", ""]
            lines += _decision_table(crit, vocab, g)
    if rule.boundary:
        lines += heading(level + 1, "Boundaries")
        lines += [esc(rule.boundary), ""]
    lines += heading(level + 1, "Citations")
    if not rule.citations:
        lines += ["**No citation.**", ""]
    for i, cite in enumerate(rule.citations, 1):
        lines += _citation_block(g, cite, i)
    if rule.deviations:
        lines += heading(level + 1, "Deviations from the seed")
        lines += pipe_table(["The seed says", "What governs"], [[esc(d.seed), esc(d.governs)] for d in rule.deviations])
    if full:
        lines += _transparency(rule, g, level + 1, ctx)
        lines += heading(level + 1, "Tests")
        lines += [ctx.tests.get((g.id, rule.id), "No test names this rule."), ""]
        lines += heading(level + 1, "Version history")
        lines += _history_table(rule_versions(rule.id, ctx.versions[g.id]))
    return lines


# -- pages ---------------------------------------------------------------------------


def _rule_page(gid: str, rid: str, ctx: _RuleContext) -> Page:
    versions = ctx.versions[gid]
    holding = [g for g in versions if any(r.id == rid for r in g.rules)]
    g = holding[-1]
    lines = _rule_body(g, g.rule(rid), 1, ctx, full=True, anchor=rule_label(gid, rid))
    if holding[-1] is not versions[-1]:
        lines[2:2] = [
            "```{admonition} Removed",
            ":class: warning",
            "",
            f"This rule is not in the latest version ({esc(versions[-1].version)}); shown as of version "
            f"{esc(g.version)}.",
            "```",
            "",
        ]
    return Page(rule_page_path(gid, rid), "\n".join(lines))


def _version_page(g: m.Guideline, ctx: _RuleContext) -> Page:
    lines = heading(1, f"{g.title}, version {g.version}", _version_label(g.id, g.version))
    rows = [
        ["Guideline id", code(g.id)],
        ["Version", esc(g.version)],
        ["Effective", g.effective.isoformat()],
        ["Status", esc(g.status.value)],
        ["Supersedes", esc(g.supersedes) if g.supersedes else "—"],
        ["Content hash (sha256)", code(g.sha256 or "—")],
        ["File", code(g.path or "—")],
        ["Rules", str(len(g.rules))],
    ]
    lines += pipe_table(["", ""], rows)
    lines += [esc(g.summary), ""]
    lines += heading(2, "Sources")
    for src in g.sources:
        lines += [f"- **{esc(src.short())}** ({code(src.id)}): {source_reference(src)}"]
    lines += [""]
    if g.changes:
        lines += heading(2, "Changes in this version")
        lines += pipe_table(
            ["Rule", "What", "Why", "Source"],
            [[code(n.rule), esc(n.what), esc(n.why), esc(n.source or "—")] for n in g.changes],
        )
    lines += heading(2, "Rules")
    lines += pipe_table(
        ["Rule", "Kind", "Status"],
        [[ref(_version_rule_label(g.id, g.version, r.id), r.title), esc(r.kind), esc(r.status.value)] for r in g.rules],
    )
    for rule in g.rules:
        lines += _rule_body(g, rule, 3, ctx, full=False, anchor=_version_rule_label(g.id, g.version, rule.id))
    return Page(f"guidelines/{g.id}/{g.version}.md", "\n".join(lines))


def _history_page(gid: str, versions: list[m.Guideline]) -> Page:
    title = versions[-1].title
    lines = heading(1, f"Version history: {title}", _history_label(gid))
    lines += [
        "Every released file is a complete snapshot, pinned by its sha256 in the lock file; a change is a new "
        "version with a change note. The differences below are computed by comparing the snapshots.",
        "",
    ]
    lines += pipe_table(
        ["Version", "Effective", "Status", "Supersedes", "Rules", "sha256"],
        [
            [
                ref(_version_label(gid, g.version), g.version),
                g.effective.isoformat(),
                esc(g.status.value),
                esc(g.supersedes or "—"),
                str(len(g.rules)),
                code(g.sha256[:16] or "—"),
            ]
            for g in versions
        ],
    )
    previous: m.Guideline | None = None
    for g in versions:
        lines += heading(2, f"Version {g.version} ({g.effective.isoformat()})")
        if g.supersedes and g.supersedes not in {v.version for v in versions}:
            lines += [f"Supersedes version {esc(g.supersedes)}, which is not in the catalog.", ""]
        old = {r.id: r for r in previous.rules} if previous else {}
        new = {r.id: r for r in g.rules}
        added = [rid for rid in new if rid not in old]
        removed = [rid for rid in old if rid not in new]
        changed = [rid for rid in new if rid in old and rule_differences(old[rid], new[rid])]
        items = []
        if previous is None:
            items.append("First version in the catalog: " + (", ".join(code(r) for r in added) or "no rules") + ".")
        else:
            for word, ids in (("Added", added), ("Removed", removed), ("Changed", changed)):
                if ids:
                    items.append(f"{word}: " + ", ".join(code(r) for r in ids) + ".")
            if not (added or removed or changed):
                items.append("No rule changed.")
        lines += [f"- {item}" for item in items] + [""]
        if g.changes:
            lines += pipe_table(
                ["Rule", "What", "Why", "Source"],
                [[code(n.rule), esc(n.what), esc(n.why), esc(n.source or "—")] for n in g.changes],
            )
        previous = g
    lines += heading(2, "Rule histories")
    for rid in dict.fromkeys(r.id for g in versions for r in g.rules):
        lines += [f"- {ref(rule_label(gid, rid), rid)}"]
    lines += [""]
    return Page(f"guidelines/{gid}/history.md", "\n".join(lines))


def _redline_page(prev: m.Guideline, g: m.Guideline, cat: Catalog) -> Page:
    """Word-level changes of statements, quotes and decision logic from the previous version (one page per version)."""
    lines = heading(1, f"{g.title}: redline {prev.version} to {g.version}", label("redline", g.id, g.version))
    lines += [
        f"What changed, word by word, from {ref(_version_label(g.id, prev.version), 'version ' + prev.version)} to "
        f"{ref(_version_label(g.id, g.version), 'version ' + g.version)}: removed words are struck through, "
        "added words underlined. Computed from the released files by the same comparison as "
        f"{code('neuroguide audit diff ' + g.id + ' ' + prev.version + ' ' + g.version + ' --redline')}.",
        "",
    ]
    changes = redline(g.id, prev.version, g.version, cat)
    if not changes:
        lines += ["No rule changed.", ""]
    for r in changes:
        lines += heading(2, f"{r.event}: {r.title} ({r.id})")
        for n in r.notes:
            lines += [f"Change note: {esc(n.what)} Why: {esc(n.why)}", ""]
        lines += ["```{raw} html", '<table class="redline"><tbody>']
        lines += [
            f"<tr><td><code>{html.escape(f.path)}</code></td><td>{as_markdown_html(f.segments)}</td></tr>"
            for f in r.fields
        ]
        lines += ["</tbody></table>", "```", ""]
    return Page(f"guidelines/{g.id}/{g.version}-redline.md", "\n".join(lines))


def _guideline_index(gid: str, versions: list[m.Guideline]) -> Page:
    latest = versions[-1]
    lines = heading(1, latest.title, _guideline_label(gid))
    lines += [f"Guideline {code(gid)}. {esc(latest.summary)}", ""]
    lines += pipe_table(
        ["Version", "Effective", "Status", "Rules"],
        [
            [
                ref(_version_label(gid, g.version), g.version),
                g.effective.isoformat(),
                esc(g.status.value),
                str(len(g.rules)),
            ]
            for g in versions
        ],
    )
    lines += ["```{toctree}", ":maxdepth: 1", ""]
    lines += [f"{g.version}" for g in reversed(versions)] + ["history"]
    lines += [f"{g.version}-redline" for g in reversed(versions[1:])] + ["```", ""]
    return Page(f"guidelines/{gid}/index.md", "\n".join(lines))


def _guidelines_index(versions: Mapping[str, list[m.Guideline]]) -> Page:
    lines = heading(1, "Guidelines", label("guidelines"))
    lines += [
        "One page per guideline version, generated from the same objects the code evaluates. Which version applies "
        "to an assessment is chosen by its evaluation date (the version in effect then) unless pinned.",
        "",
    ]
    lines += pipe_table(
        ["Guideline", "Latest version", "Effective", "Status", "Rules"],
        [
            [
                ref(_guideline_label(gid), vs[-1].title),
                esc(vs[-1].version),
                vs[-1].effective.isoformat(),
                esc(vs[-1].status.value),
                str(len(vs[-1].rules)),
            ]
            for gid, vs in versions.items()
        ],
    )
    lines += ["```{toctree}", ":maxdepth: 2", ":hidden:", ""]
    lines += [f"{gid}/index" for gid in versions] + ["```", ""]
    return Page("guidelines/index.md", "\n".join(lines))


def _rules_index(versions: Mapping[str, list[m.Guideline]]) -> Page:
    lines = heading(1, "Rules", label("rules"))
    lines += [
        "One page per rule: statement, parameters, criteria, citations with their quotes, a transparency section, "
        "the tests that assert it and its history across versions.",
        "",
    ]
    entries = []
    for gid, vs in versions.items():
        lines += heading(2, vs[-1].title)
        rows = []
        for rid in dict.fromkeys(r.id for g in vs for r in g.rules):
            holding = [g for g in vs if any(r.id == rid for r in g.rules)][-1]
            rule = holding.rule(rid)
            rows.append([ref(rule_label(gid, rid), rule.title), code(rid), esc(rule.kind), esc(rule.status.value)])
            entries.append(rule_page_path(gid, rid).removeprefix("rules/").removesuffix(".md"))
        lines += pipe_table(["Rule", "Id", "Kind", "Status"], rows)
    lines += ["```{toctree}", ":hidden:", "", *entries, "```", ""]
    return Page("rules/index.md", "\n".join(lines))


def verification_counts(cat: Catalog) -> dict[str, int]:
    """Approved rules in the latest version of each guideline, by their best citation's verification."""
    counts = {"rules": 0, "primary": 0, "secondary": 0, "unverified": 0}
    for gid in cat.ids():
        for rule in cat.get(gid).rules:
            if rule.status is not m.Status.APPROVED:
                continue
            statuses = {c.verification.status for c in rule.citations}
            best = next(
                (s.value for s in (m.VerificationStatus.PRIMARY, m.VerificationStatus.SECONDARY) if s in statuses),
                "unverified",
            )
            counts["rules"] += 1
            counts[best] += 1
    return counts


def _verification_snippet(cat: Catalog) -> Page:
    # Included by the docs' front page, so its counts are never typed by hand.
    n = verification_counts(cat)
    text = (
        f"{n['rules']} approved rules in force;\n"
        f"{n['primary']} rest on at least one quote checked in the primary source\n"
        "(the publisher's page, PubMed Central, PubMed, DailyMed or a regulator's record);\n"
        f"{n['secondary']} only on a named secondary reproduction\n"
        "(for example a society page or a drug compendium quoting the label).\n"
    )
    return Page("snippets/verification-counts.md", text)


def guideline_pages(cat: Catalog, tests_md: Mapping[tuple[str, str], str]) -> list[Page]:
    """Return the guideline, version, history and rule pages (``tests_md``: each rule's "Tests" section)."""
    versions = {gid: cat.versions(gid) for gid in cat.ids()}
    ctx = _RuleContext(vocab=vocabulary(), tests=tests_md, versions=versions)
    pages = [_guidelines_index(versions), _rules_index(versions), _verification_snippet(cat)]
    for gid, vs in versions.items():
        pages.append(_guideline_index(gid, vs))
        pages.extend(_version_page(g, ctx) for g in vs)
        pages.append(_history_page(gid, vs))
        pages.extend(_redline_page(prev, g, cat) for prev, g in itertools.pairwise(vs))
        for rid in dict.fromkeys(r.id for g in vs for r in g.rules):
            pages.append(_rule_page(gid, rid, ctx))
    return pages


def generate(cat: Catalog, contributions: Sequence[Contribution] = ()) -> DocSet:
    """Generate every reference page for ``cat``, plus what other extensions contribute.

    Args:
        cat: the guidelines to document.
        contributions: extra pages, problems and per-rule test listings (the project's
            docs contribute its trace matrix, conformance report, dependencies and changelog).

    Returns:
        The pages (paths relative to the generated folder) and the problems the
        build must report (an assessment example that no longer runs, and any
        problem a contribution reports).

    """
    tests_md: dict[tuple[str, str], str] = {}
    for c in contributions:
        tests_md.update(c.rule_tests)
    contributed = [page for c in contributions for page in c.pages]
    pages = guideline_pages(cat, tests_md)
    extra = extra_pages(cat, {page.path for page in contributed})
    pages.extend(extra.pages)
    pages.extend(contributed)
    problems: list[DocProblem] = [*extra.problems, *(p for c in contributions for p in c.problems)]
    return DocSet(pages=tuple(pages), problems=tuple(problems))
