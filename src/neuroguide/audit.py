"""Regulatory audit: rule history, version diffs, tamper detection, replay, and the lock file.

An auditor asks four questions, each answered here from the released guideline
files themselves (never from a separate register that could drift from them):

* *How did this rule come to say what it says?* :func:`history` lists every
  version in which a rule appeared, changed, was retired or was removed, with the
  change notes, the source edition cited and field-by-field differences.
* *What changed between two versions?* :func:`diff` compares two versions of one
  guideline: rules added, removed and changed, sources and metadata.
* *Are the released files the ones that were released?* :func:`verify` checks
  every file's sha256 against ``lock.json``; :func:`update_lock` adds entries for
  new files and refuses to change an existing one.
* *Why was this recommendation made?* :func:`replay_record` re-evaluates an
  :class:`~neuroguide.EvaluationRecord` with the versions it names and explains
  any difference.

Comparisons walk the typed rule objects; leaves are turned into plain data with
the shared cattrs converter, so a comparison sees exactly what a file states
(``"1 g"`` and ``"1000 mg"`` are different text, and are reported as a change).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, Protocol

import attrs

from . import model as m
from ._converter import converter
from ._loading import LOCK_NAME, Catalog, catalog, guideline_files, guideline_root, lock_mismatches, read_lock
from ._redline import Segment, word_diff
from .evaluation import EvaluationRecord, replay
from .exceptions import InputError, UnknownRuleError
from .patient import FlagKind, Patient
from .results import Assessment, Difference, DifferenceKind, newer_package, package_version
from .results import Note as ReaderNote
from .site import Site
from .units import format_quantity, is_quantity

__all__ = [
    "CitedSource",
    "FieldChange",
    "FieldRedline",
    "GuidelineDiff",
    "IntegrityReport",
    "LockReport",
    "Mismatch",
    "Note",
    "ReplayAudit",
    "ReplayedGuideline",
    "Reread",
    "RuleChange",
    "RuleHistory",
    "RuleRedline",
    "RuleSummary",
    "RuleVersion",
    "SourceSummary",
    "describe_criterion",
    "diff",
    "file_sha256",
    "history",
    "redline",
    "replay_record",
    "rule_differences",
    "to_plain",
    "update_lock",
    "verify",
]

Event = Literal["added", "changed", "unchanged", "retired", "removed"]
Change = Literal["changed", "added", "removed"]
Problem = Literal["altered", "not-locked", "missing"]


# -- result types ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FieldChange:
    """One field that differs between two versions.

    ``path`` names the field as in the file (``statement``,
    ``citations[0].verification.status``, ``source ada-2026-s12.edition``).
    Criteria are rendered as readable text (``type-1-diabetes OR type-2-diabetes``).
    For lists of strings (``options``, ``tests``, ``includes``...) each item
    added or removed is its own change.
    """

    path: str
    change: Change
    before: str | None = None
    after: str | None = None


@attrs.frozen(kw_only=True)
class Note:
    """A ``[[changes]]`` entry of a version: what changed in a rule, why, and on which source."""

    version: str
    rule: str
    what: str
    why: str
    source: str | None = None
    source_label: str | None = None


@attrs.frozen(kw_only=True)
class CitedSource:
    """A source (and edition) a rule cites in one version."""

    id: str
    label: str
    title: str
    year: int
    edition: str | None = None
    doi: str | None = None
    url: str | None = None
    pmid: str | None = None


@attrs.frozen(kw_only=True)
class RuleVersion:
    """What happened to a rule in one guideline version.

    ``event`` is ``added`` (first appearance, or reappearance), ``changed``,
    ``unchanged``, ``retired`` (status set to retired) or ``removed`` (absent
    from this version though present in the previous one). ``differences`` are
    against ``previous`` (the guideline's previous version); ``source_changes``
    are changes to the records of the sources the rule cites (e.g. a new
    edition under the same source id). ``warnings`` flag audit gaps, such as a
    change without a change note.
    """

    guideline: str
    version: str
    effective: dt.date
    superseded_on: dt.date | None
    guideline_status: m.Status
    sha256: str
    file: str
    previous: str | None
    event: Event
    rule_status: m.Status | None
    title: str
    notes: tuple[Note, ...] = ()
    cites: tuple[CitedSource, ...] = ()
    differences: tuple[FieldChange, ...] = ()
    source_changes: tuple[FieldChange, ...] = ()
    warnings: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class RuleHistory:
    """Every version of every guideline in which a rule appeared, changed, was retired or removed."""

    rule: str
    guidelines: tuple[str, ...]
    entries: tuple[RuleVersion, ...]

    def entry(self, version: str, guideline: str | None = None) -> RuleVersion:
        """Return the entry of one version.

        Args:
            version: the guideline version, e.g. ``"2026.1"``.
            guideline: the guideline id, when the rule occurs in several.

        Returns:
            The matching entry.

        Raises:
            LookupError: the rule has no entry for that version.

        """
        for e in self.entries:
            if e.version == version and (guideline is None or e.guideline == guideline):
                return e
        raise LookupError(f"rule {self.rule} has no history entry for version {version}")


@attrs.frozen(kw_only=True)
class RuleSummary:
    """A rule added or removed between two versions."""

    id: str
    kind: str
    title: str
    status: m.Status


@attrs.frozen(kw_only=True)
class RuleChange:
    """A rule present in both versions whose data differs."""

    id: str
    kind: str
    title: str
    changes: tuple[FieldChange, ...]
    notes: tuple[Note, ...] = ()


@attrs.frozen(kw_only=True)
class SourceSummary:
    """A source added or removed between two versions."""

    id: str
    label: str
    title: str
    edition: str | None = None
    year: int


@attrs.frozen(kw_only=True)
class GuidelineDiff:
    """Differences between two versions of one guideline, from ``v1`` to ``v2``."""

    guideline: str
    v1: str
    v2: str
    effective1: dt.date
    effective2: dt.date
    sha256_1: str
    sha256_2: str
    metadata: tuple[FieldChange, ...]
    sources_added: tuple[SourceSummary, ...]
    sources_removed: tuple[SourceSummary, ...]
    sources_changed: tuple[FieldChange, ...]
    added: tuple[RuleSummary, ...]
    removed: tuple[RuleSummary, ...]
    changed: tuple[RuleChange, ...]
    unchanged: tuple[str, ...]
    notes: tuple[Note, ...]
    warnings: tuple[str, ...] = ()

    def rule(self, rule_id: str) -> RuleChange:
        """Return the change record of one changed rule.

        Args:
            rule_id: the rule id.

        Returns:
            Its :class:`RuleChange`.

        Raises:
            LookupError: the rule did not change between the two versions.

        """
        for c in self.changed:
            if c.id == rule_id:
                return c
        raise LookupError(f"rule {rule_id} did not change between {self.v1} and {self.v2}")


@attrs.frozen(kw_only=True)
class Mismatch:
    """A file that differs from the lock.

    ``problem`` is ``altered`` (hash differs), ``not-locked`` (file has no lock
    entry) or ``missing`` (lock entry, no file).
    """

    file: str
    problem: Problem
    expected: str
    actual: str


@attrs.frozen(kw_only=True)
class IntegrityReport:
    """The result of :func:`verify`."""

    root: str
    files: int
    locked: int
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """True when every file matches the lock and every lock entry has its file."""
        return not self.mismatches


@attrs.frozen(kw_only=True)
class LockReport:
    """The result of :func:`update_lock`.

    ``written`` is False when anything was refused (nothing is written then) or
    when there was nothing new to add.
    """

    root: str
    added: tuple[tuple[str, str], ...]
    kept: int
    refused: tuple[Mismatch, ...]
    written: bool

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not self.refused


@attrs.frozen(kw_only=True)
class ReplayedGuideline:
    """One guideline version named in a record, as found now."""

    id: str
    version: str
    pinned: bool
    recorded_sha256: str
    current_sha256: str | None
    locked_sha256: str | None
    file: str | None


@attrs.frozen(kw_only=True)
class ReplayAudit:
    """The result of :func:`replay_record`: identical or not, what differs, and why."""

    identical: bool
    as_of: dt.date
    recommendations: int
    guidelines: tuple[ReplayedGuideline, ...]
    differences: tuple[str, ...]
    causes: tuple[str, ...]
    notes: tuple[str, ...]
    reader_notes: tuple[str, ...] = ()
    """The FHIR reader's notes the record holds (``kind: text``): why a value of the input was not used, or how it
    was read. Compared with a re-reading of the input when the replay is given it."""


class Reread(Protocol):
    """The FHIR input read again for a replay (a :class:`neuroguide.fhir.Reading`)."""

    @property
    def patient(self) -> Patient: ...

    @property
    def notes(self) -> tuple[ReaderNote, ...]: ...


# -- rendering values -------------------------------------------------------------

_CRITERIA = (m.Fact, m.Compare, m.AllOf, m.AnyOf, m.Not)
_LEAVES = (*_CRITERIA, m.Period)


def describe_criterion(c: m.Criterion) -> str:
    """Render a criterion as readable text.

    Args:
        c: the criterion.

    Returns:
        e.g. ``type-2-diabetes AND (abi <= 0.9 OR NOT pedal-pulses-decreased)``.

    """
    return _describe(c, top=True)


def _describe(c: m.Criterion, *, top: bool) -> str:
    if isinstance(c, m.Fact):
        return c.name
    if isinstance(c, m.Compare):
        return f"{c.fact} {c.op} {_value_text(c.value)}"
    if isinstance(c, m.Not):
        return f"NOT {_describe(c.not_, top=False)}"
    parts, joiner = (c.all, " AND ") if isinstance(c, m.AllOf) else (c.any, " OR ")
    text = joiner.join(_describe(p, top=False) for p in parts)
    return text if top or len(parts) == 1 else f"({text})"


def _value_text(value: Any) -> str:
    """Return the text of one leaf value as the file would state it."""
    if value is None:
        return "(none)"
    if isinstance(value, _CRITERIA):
        return describe_criterion(value)
    if isinstance(value, m.Period):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if is_quantity(value):
        return format_quantity(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if attrs.has(type(value)):
        shown = [
            f"{f.name}={_value_text(getattr(value, f.name))}"
            for f in attrs.fields(type(value))
            if getattr(value, f.name) not in (None, ())
        ]
        return "{" + "; ".join(shown) + "}"
    plain = converter.unstructure(value)
    return plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False, sort_keys=True)


class _Absent:
    """Marks a field one version lacks (e.g. a kind-specific field after a kind change)."""


_ABSENT = _Absent()


def _field_names(value: Any) -> list[str]:
    return [f.name for f in attrs.fields(type(value))]


def _compare(a: Any, b: Any, path: str, out: list[FieldChange]) -> None:
    """Append the differences between ``a`` and ``b`` (structured values) to ``out``."""
    if isinstance(a, _Absent) or isinstance(b, _Absent):
        if isinstance(a, _Absent) and not isinstance(b, _Absent):
            out.append(FieldChange(path=path, change="added", after=_value_text(b)))
        elif isinstance(b, _Absent) and not isinstance(a, _Absent):
            out.append(FieldChange(path=path, change="removed", before=_value_text(a)))
        return
    if isinstance(a, _LEAVES) or isinstance(b, _LEAVES):
        # Criteria and periods read as one value ("12 months"), not as their parts.
        _leaf(a, b, path, out)
        return
    if attrs.has(type(a)) and attrs.has(type(b)):
        names = _field_names(a) + [n for n in _field_names(b) if n not in _field_names(a)]
        for name in names:
            _compare(getattr(a, name, _ABSENT), getattr(b, name, _ABSENT), _join(path, name), out)
        return
    if isinstance(a, tuple) and isinstance(b, tuple):
        if all(isinstance(x, str) for x in (*a, *b)):
            _compare_strings(a, b, path, out)
            return
        # Lists of records (citations, bands, start points...) are compared by position,
        # so a changed quote or grade shows as that one field of that one citation.
        for i in range(max(len(a), len(b))):
            _compare(a[i] if i < len(a) else _ABSENT, b[i] if i < len(b) else _ABSENT, f"{path}[{i}]", out)
        return
    _leaf(a, b, path, out)


def _leaf(a: Any, b: Any, path: str, out: list[FieldChange]) -> None:
    before, after = _value_text(a), _value_text(b)
    if before != after:
        out.append(FieldChange(path=path, change="changed", before=before, after=after))


def _compare_strings(a: tuple[str, ...], b: tuple[str, ...], path: str, out: list[FieldChange]) -> None:
    removed = [x for x in a if x not in b]
    added = [x for x in b if x not in a]
    out.extend(FieldChange(path=path, change="removed", before=x) for x in removed)
    out.extend(FieldChange(path=path, change="added", after=x) for x in added)
    if not removed and not added and a != b:
        out.append(FieldChange(path=path, change="changed", before=_value_text(a), after=_value_text(b)))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def rule_differences(before: m.Rule, after: m.Rule) -> tuple[FieldChange, ...]:
    """Return the field-by-field differences between two versions of a rule.

    Args:
        before: the rule in the earlier version.
        after: the rule in the later version.

    Returns:
        One :class:`FieldChange` per differing field, in the rule's field order.

    """
    out: list[FieldChange] = []
    _compare(before, after, "", out)
    return tuple(c for c in out if c.path != "id")


def _source_differences(old: m.Guideline, new: m.Guideline, ids: Iterable[str]) -> tuple[FieldChange, ...]:
    out: list[FieldChange] = []
    old_sources = {s.id: s for s in old.sources}
    new_sources = {s.id: s for s in new.sources}
    for sid in ids:
        if sid in old_sources and sid in new_sources:
            _compare(old_sources[sid], new_sources[sid], f"source {sid}", out)
    return tuple(c for c in out if not c.path.endswith(".id"))


# -- history ------------------------------------------------------------------------


def _notes(g: m.Guideline, rule_id: str | None = None) -> tuple[Note, ...]:
    labels = {s.id: s.short() for s in g.sources}
    return tuple(
        Note(
            version=g.version,
            rule=n.rule,
            what=n.what,
            why=n.why,
            source=n.source,
            source_label=labels.get(n.source) if n.source else None,
        )
        for n in g.changes
        if rule_id is None or n.rule == rule_id
    )


def _cites(g: m.Guideline, rule: m.Rule) -> tuple[CitedSource, ...]:
    out: list[CitedSource] = []
    for sid in dict.fromkeys(c.source for c in rule.citations):
        s = g.source(sid)
        out.append(
            CitedSource(
                id=s.id,
                label=s.short(),
                title=s.title,
                year=s.year,
                edition=s.edition,
                doi=s.doi,
                url=s.url,
                pmid=s.pmid,
            )
        )
    return tuple(out)


def _find(g: m.Guideline, rule_id: str) -> m.Rule | None:
    for r in g.rules:
        if r.id == rule_id:
            return r
    return None


def history(rule_id: str, source: Catalog | None = None, *, guideline: str | None = None) -> RuleHistory:
    """Return the history of one rule across every version of every guideline that has it.

    Args:
        rule_id: the rule id, e.g. ``"dpn-screening"``.
        source: a catalog other than the packaged one.
        guideline: only this guideline id (when several guidelines use the id).

    Returns:
        A :class:`RuleHistory`, oldest version first per guideline.

    Raises:
        UnknownRuleError: no version of any guideline has (or had) the rule.
        UnknownGuidelineError: ``guideline`` does not exist.

    """
    cat = source if source is not None else catalog()
    gids = [guideline] if guideline is not None else cat.ids()
    entries: list[RuleVersion] = []
    known: set[str] = set()
    for gid in gids:
        versions = cat.versions(gid)
        known.update(r.id for g in versions for r in g.rules)
        entries.extend(rule_versions(rule_id, versions))
    if not entries:
        raise UnknownRuleError(rule_id, known)
    return RuleHistory(
        rule=rule_id, guidelines=tuple(dict.fromkeys(e.guideline for e in entries)), entries=tuple(entries)
    )


def rule_versions(rule_id: str, versions: Sequence[m.Guideline]) -> list[RuleVersion]:
    """Return what happened to a rule in each version of one guideline (``versions`` oldest first)."""
    out: list[RuleVersion] = []
    for i, g in enumerate(versions):
        prev = versions[i - 1] if i else None
        nxt = versions[i + 1].effective if i + 1 < len(versions) else None
        entry = _entry(rule_id, prev, g, nxt)
        if entry is not None:
            out.append(entry)
    return out


def _entry(rule_id: str, prev: m.Guideline | None, g: m.Guideline, nxt: dt.date | None) -> RuleVersion | None:
    old = _find(prev, rule_id) if prev is not None else None
    new = _find(g, rule_id)
    notes = _notes(g, rule_id)
    if old is None and new is None and not notes:
        return None
    warnings: list[str] = []
    differences: tuple[FieldChange, ...] = ()
    source_changes: tuple[FieldChange, ...] = ()
    event: Event
    title = new.title if new is not None else old.title if old is not None else rule_id
    if new is None:
        event = "removed"
        if old is None:
            # A note about a rule that is in neither version: record it, flag it.
            warnings.append(f"change note names {rule_id}, which is in neither {g.version} nor the version before")
    elif old is None:
        event = "added"
    else:
        differences = rule_differences(old, new)
        assert prev is not None
        source_changes = _source_differences(prev, g, dict.fromkeys(c.source for c in new.citations))
        if new.status is m.Status.RETIRED and old.status is not m.Status.RETIRED:
            event = "retired"
        elif differences or source_changes:
            event = "changed"
        else:
            event = "unchanged"
    first_encoding = prev is None
    if event in ("added", "changed", "retired", "removed") and not notes and not first_encoding:
        warnings.append(f"{event} in {g.version} without a [[changes]] note for this rule")
    if event == "unchanged" and notes:
        warnings.append(f"{g.version} has a change note for this rule but its data did not change")
    return RuleVersion(
        guideline=g.id,
        version=g.version,
        effective=g.effective,
        superseded_on=nxt,
        guideline_status=g.status,
        sha256=g.sha256,
        file=g.path,
        previous=prev.version if prev is not None else None,
        event=event,
        rule_status=new.status if new is not None else None,
        title=title,
        notes=notes,
        cites=_cites(g, new) if new is not None else (),
        differences=differences,
        source_changes=source_changes,
        warnings=tuple(warnings),
    )


# -- diff ---------------------------------------------------------------------------

_META_FIELDS = ("title", "effective", "status", "summary", "supersedes")


def diff(guideline_id: str, v1: str, v2: str, source: Catalog | None = None) -> GuidelineDiff:
    """Compare two versions of one guideline, from ``v1`` to ``v2``.

    Args:
        guideline_id: the guideline id.
        v1: the earlier (or first) version.
        v2: the later (or second) version.
        source: a catalog other than the packaged one.

    Returns:
        A :class:`GuidelineDiff`: rules added, removed and changed (field by
        field), sources and metadata changes, and the change notes of every
        version after ``v1`` up to and including ``v2``.

    Raises:
        UnknownGuidelineError: no such guideline or version.

    """
    cat = source if source is not None else catalog()
    a = cat.get(guideline_id, version=v1)
    b = cat.get(guideline_id, version=v2)
    meta: list[FieldChange] = []
    for name in _META_FIELDS:
        _compare(getattr(a, name), getattr(b, name), name, meta)
    src_a = {s.id: s for s in a.sources}
    src_b = {s.id: s for s in b.sources}
    old_rules = {r.id: r for r in a.rules}
    new_rules = {r.id: r for r in b.rules}
    ordered = list(cat.versions(guideline_id))
    ia, ib = ordered.index(a), ordered.index(b)
    notes = tuple(n for g in ordered[ia + 1 : ib + 1] for n in _notes(g))
    noted = {n.rule for n in notes}
    changed: list[RuleChange] = []
    unchanged: list[str] = []
    for rid, new in new_rules.items():
        old = old_rules.get(rid)
        if old is None:
            continue
        changes = rule_differences(old, new)
        if changes:
            changed.append(
                RuleChange(
                    id=rid,
                    kind=new.kind,
                    title=new.title,
                    changes=changes,
                    notes=tuple(n for n in notes if n.rule == rid),
                )
            )
        else:
            unchanged.append(rid)
    added = tuple(_summary(r) for rid, r in new_rules.items() if rid not in old_rules)
    removed = tuple(_summary(r) for rid, r in old_rules.items() if rid not in new_rules)
    warnings: list[str] = []
    if ib > ia:
        for what, ids in (
            ("added", [r.id for r in added]),
            ("removed", [r.id for r in removed]),
            ("changed", [c.id for c in changed]),
        ):
            warnings.extend(f"rule {rid} {what} without a [[changes]] note" for rid in ids if rid not in noted)
    else:
        warnings.append(f"{v2} is not later than {v1}: the comparison runs backwards and carries no change notes")
    return GuidelineDiff(
        guideline=guideline_id,
        v1=a.version,
        v2=b.version,
        effective1=a.effective,
        effective2=b.effective,
        sha256_1=a.sha256,
        sha256_2=b.sha256,
        metadata=tuple(meta),
        sources_added=tuple(_source_summary(s) for sid, s in src_b.items() if sid not in src_a),
        sources_removed=tuple(_source_summary(s) for sid, s in src_a.items() if sid not in src_b),
        sources_changed=_source_differences(a, b, [sid for sid in src_b if sid in src_a]),
        added=added,
        removed=removed,
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        notes=notes,
        warnings=tuple(warnings),
    )


def _summary(r: m.Rule) -> RuleSummary:
    return RuleSummary(id=r.id, kind=r.kind, title=r.title, status=r.status)


def _source_summary(s: m.Source) -> SourceSummary:
    return SourceSummary(id=s.id, label=s.short(), title=s.title, edition=s.edition, year=s.year)


# -- redline --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FieldRedline:
    """The word-level changes of one field (statement, a quote, the decision logic...)."""

    path: str
    change: Change
    segments: tuple[Segment, ...]


@attrs.frozen(kw_only=True)
class RuleRedline:
    """A rule's words as they changed between two versions."""

    id: str
    title: str
    kind: str
    event: Literal["added", "removed", "changed"]
    fields: tuple[FieldRedline, ...]
    notes: tuple[Note, ...] = ()


def _logic_fields(rule: m.Rule) -> list[tuple[str, str]]:
    """The fields a reviewer reads for a rule shown whole (an added or removed rule)."""
    out = [("statement", rule.statement)]
    for name in ("when", "applies"):
        c = getattr(rule, name, None)
        if c is not None:
            out.append((name, describe_criterion(c)))
    action = getattr(rule, "action", None)
    if isinstance(action, str):
        out.append(("action", action))
    out.extend((f"citations[{i}].quote", c.quote) for i, c in enumerate(rule.citations))
    return out


def redline(guideline_id: str, v1: str, v2: str, source: Catalog | None = None) -> tuple[RuleRedline, ...]:
    """Word-level redline of every rule added, removed or changed from ``v1`` to ``v2``.

    Built on :func:`diff` (the same field comparison): each changed field's
    before and after text is compared word by word; an added rule shows its
    statement, logic, action and quotes as inserted, a removed rule as deleted.

    Args:
        guideline_id: the guideline id.
        v1: the earlier version.
        v2: the later version.
        source: a catalog other than the packaged one.

    Returns:
        One :class:`RuleRedline` per rule that differs, in the later version's order.

    Raises:
        UnknownGuidelineError: no such guideline or version.

    """
    cat = source if source is not None else catalog()
    d = diff(guideline_id, v1, v2, cat)
    old = {r.id: r for r in cat.get(guideline_id, version=v1).rules}
    new = {r.id: r for r in cat.get(guideline_id, version=v2).rules}
    notes = {rid: tuple(n for n in d.notes if n.rule == rid) for rid in (*old, *new)}
    out: list[RuleRedline] = []
    changed = {c.id: c for c in d.changed}
    added = {r.id for r in d.added}
    for rid, rule in new.items():
        if rid in added:
            fields = tuple(
                FieldRedline(path=p, change="added", segments=word_diff(None, t)) for p, t in _logic_fields(rule)
            )
            out.append(
                RuleRedline(id=rid, title=rule.title, kind=rule.kind, event="added", fields=fields, notes=notes[rid])
            )
        elif rid in changed:
            fields = tuple(
                FieldRedline(path=c.path, change=c.change, segments=word_diff(c.before, c.after))
                for c in changed[rid].changes
            )
            out.append(
                RuleRedline(id=rid, title=rule.title, kind=rule.kind, event="changed", fields=fields, notes=notes[rid])
            )
    for r in d.removed:
        rule = old[r.id]
        fields = tuple(
            FieldRedline(path=p, change="removed", segments=word_diff(t, None)) for p, t in _logic_fields(rule)
        )
        out.append(
            RuleRedline(id=r.id, title=rule.title, kind=rule.kind, event="removed", fields=fields, notes=notes[r.id])
        )
    return tuple(out)


# -- integrity ----------------------------------------------------------------------


def _root(root: Traversable | Path | str | None) -> Traversable | Path:
    if root is None:
        return guideline_root()
    path = Path(root) if isinstance(root, str) else root
    if not path.is_dir():
        raise InputError("root", str(root), "a folder of guideline files (<id>/<version>.toml)")
    return path


def _mismatch(name: str, expected: str, actual: str) -> Mismatch:
    problem: Problem
    if expected == "(not in lock)":
        problem = "not-locked"
    elif actual == "(file missing)":
        problem = "missing"
    else:
        problem = "altered"
    return Mismatch(file=name, problem=problem, expected=expected, actual=actual)


def verify(root: Traversable | Path | str | None = None) -> IntegrityReport:
    """Check every guideline file under ``root`` against its ``lock.json``.

    Only bytes are hashed, so an altered file is reported even when it no
    longer parses. (:meth:`Catalog.verify` gives the same answer for a
    catalog that loads.)

    Args:
        root: the guideline folder; the packaged one by default.

    Returns:
        An :class:`IntegrityReport`; ``report.ok`` is False on any mismatch.

    Raises:
        InputError: ``root`` is not a folder, or has no ``lock.json``.

    """
    folder = _root(root)
    if not (folder / "lock.json").is_file():
        raise InputError("root", str(folder), "a guideline folder with a lock.json (nothing to verify against)")
    files = sum(1 for _ in guideline_files(folder))
    return IntegrityReport(
        root=str(folder),
        files=files,
        locked=len(read_lock(folder)),
        mismatches=tuple(_mismatch(*row) for row in lock_mismatches(folder)),
    )


def update_lock(root: Traversable | Path | str | None = None) -> LockReport:
    """Add lock entries for guideline files that have none; never change an existing entry.

    Every file must load and validate first (a broken file is never locked).
    If any locked file's hash differs, or a locked file is missing, nothing is
    written: a release is a new file, never an edit or a deletion.

    Args:
        root: the guideline folder; the packaged one by default. It must be a
            writable folder on disk.

    Returns:
        A :class:`LockReport` listing what was added and what was refused.

    Raises:
        InputError: ``root`` is not a folder on disk.
        GuidelineDataError: a file does not validate.

    """
    folder = _root(root)
    if not isinstance(folder, Path):
        raise InputError("root", str(folder), "a guideline folder on disk (pass --root)")
    Catalog(folder, allow_unlocked=True)  # validates every file; raises GuidelineDataError listing all problems
    lock_path = folder / LOCK_NAME
    entries = read_lock(folder)  # IntegrityError if the lock itself is malformed
    raw: dict[str, Any] = {"files": entries}
    added: list[tuple[str, str]] = []
    refused: list[Mismatch] = []
    for name, exp, act in lock_mismatches(folder):
        m_ = _mismatch(name, exp, act)
        if m_.problem == "not-locked":
            added.append((name, act))
        else:
            refused.append(m_)
    written = False
    if not refused and added:
        entries.update(added)
        raw["files"] = dict(sorted(entries.items()))
        _write_atomic(lock_path, json.dumps(raw, indent=2, ensure_ascii=False) + "\n")
        written = True
    return LockReport(
        root=str(folder),
        added=tuple(added),
        kept=len(entries) - (len(added) if written else 0),
        refused=tuple(refused),
        written=written,
    )


def _write_atomic(path: Path, text: str) -> None:
    # Write beside the target and rename, so a crash never leaves a half-written lock.
    fd, tmp = tempfile.mkstemp(prefix=".lock-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- replay -------------------------------------------------------------------------


def replay_record(
    record: EvaluationRecord | Mapping[str, Any] | str,
    *,
    source: Catalog | None = None,
    site: Site | None = None,
    reading: Reread | None = None,
) -> ReplayAudit:
    """Re-evaluate a record with the guideline versions it names and explain any difference.

    Args:
        record: an :class:`~neuroguide.EvaluationRecord`, its ``to_dict()``
            form, or its JSON text (as printed by ``neuroguide assess --json``).
        source: a catalog other than the packaged one.
        site: the site overlay the record applied (its sha256 must match the record's).
        reading: the FHIR input the record was made from, read again
            (:func:`neuroguide.fhir.reread`): its patient must be the record's
            and its notes the record's ``notes``.

    Returns:
        A :class:`ReplayAudit`. ``identical`` is True when the same
        recommendations come out of the same guideline content; a different
        package version alone is reported in ``notes`` (a record from a newer
        release says so there too). Every difference has a cause; a record
        that contradicts itself (an entry twice, a trace or recommendation
        naming a guideline version or rule its guideline list lacks) is
        different, its cause saying it was altered or damaged. The record's
        FHIR reader notes are listed in ``reader_notes``; without ``reading``
        they are shown, not checked (a record without notes, such as every
        0.1.0 record, is not different for lacking them).

    Raises:
        InputError: the data is not an evaluation record (names the part and
            what was expected; for a record from a newer release, says which
            release to replay it with), or the record's patient is invalid
            (``record.patient.<field>``).

    """
    if isinstance(record, str):
        record = EvaluationRecord.from_json(record)
    elif not isinstance(record, EvaluationRecord):
        record = EvaluationRecord.from_dict(record)
    cat = source if source is not None else catalog()
    report = replay(record, source=cat, site=site)
    lock = read_lock(cat.root)
    found: list[ReplayedGuideline] = []
    causes: list[str] = []
    for ref in record.guidelines:
        name = f"{ref.id}/{ref.version}.toml"
        try:
            g = cat.get(ref.id, version=ref.version)
        except LookupError:
            found.append(_replayed(ref, None, lock.get(name), None))
            causes.append(
                f"{name}: guideline {ref.id} version {ref.version} is not in the catalog, so the rules that "
                "produced the record could not be re-run; its recommendations are missing from the replay"
            )
            continue
        found.append(_replayed(ref, g.sha256, lock.get(g.path), g.path))
        if g.sha256 != ref.sha256:
            causes.append(_content_cause(g.path, ref.sha256, g.sha256, lock.get(g.path)))
    notes: list[str] = []
    if record.package != package_version():
        notes.append(f"package version differs: recorded {record.package}, now {package_version()}")
    if newer_package(record.package):
        notes.append(
            f"the record was written by neuroguide {record.package}, newer than this installation "
            f"({package_version()}): it was re-evaluated with this version's code; replay it with neuroguide "
            f"{record.package} or later for a verdict on that version"
        )
    # kept as the record's release made it, but not silent: what this version's newer code would decide
    notes.extend(str(d) for d in report.differences if d.kind is DifferenceKind.NEWER_CODE)
    # Differences in what the rules decided (recommendations or traces) need a cause; facts alone follow the inputs.
    causes.extend(str(d) for d in report.differences if d.kind is DifferenceKind.SITE_OVERLAY)
    inconsistent = [str(d) for d in report.differences if d.kind is DifferenceKind.RECORD_INCONSISTENT]
    if inconsistent:
        causes.append(
            "the record contradicts itself, so it was altered or damaged after it was made: "
            + "; ".join(inconsistent[:3])
            + (f"; and {len(inconsistent) - 3} more (listed below)" if len(inconsistent) > 3 else "")
        )
    # every difference needs a cause: facts and missing inputs too, since the same inputs give the same facts
    rec_differences = [d for d in report.differences if d.kind.substantive]
    explained = bool(causes)  # by the guideline files, the site overlay or the record contradicting itself
    flagged = _newly_flagged(record, report.assessment) if rec_differences else []
    if flagged:
        causes.append(
            f"this version flags {len(flagged)} input(s) of the record's patient that neuroguide {record.package} "
            "used, and leaves each out (unknown to every rule, so facts derived from it are unknown too): "
            + "; ".join(flagged)
        )
    causes.extend(_code_changes(record, report.assessment) if rec_differences else ())
    if rec_differences and not explained:
        if record.package != package_version():
            causes.append(
                "the guideline files are byte-identical to those recorded; the difference comes from the evaluation "
                f"code (package {record.package} then, {package_version()} now), unless the record was altered after "
                "it was made"
            )
        else:
            causes.append(
                "the guideline files and the package version are identical to those recorded, so the same inputs "
                "must give the same result: the record itself was altered after it was made"
            )
    notes.extend(_selection_notes(record, cat))
    reader: list[str] = []
    if reading is None:
        if record.notes:
            notes.append(
                f"the record holds {len(record.notes)} FHIR reader note(s), listed as recorded; they were not "
                "re-checked: give the replay the FHIR input (--fhir FILE) to read it again and compare"
            )
    else:
        reader_diffs, reader_notes_, reader_cause = _reread_differences(record, reading)
        reader = [str(d) for d in reader_diffs]
        notes.extend(reader_notes_)
        causes.extend(reader_cause)
    differences = tuple(str(d) for d in report.differences if d.kind.substantive) + tuple(reader)
    return ReplayAudit(
        identical=report.identical and not reader,
        as_of=record.as_of,
        recommendations=len(record.recommendations),
        guidelines=tuple(found),
        differences=differences,
        causes=tuple(causes),
        notes=tuple(notes),
        reader_notes=tuple(f"{n.kind.value}: {n}" for n in record.notes),
    )


def _compared(notes: Iterable[ReaderNote]) -> list[ReaderNote]:
    # The CDS Hooks service's notes on the request itself (a prefetch key not filled) come from no FHIR reading.
    return [n for n in dict.fromkeys(notes) if not n.resource.startswith("prefetch.")]


def _reread_differences(record: EvaluationRecord, reading: Reread) -> tuple[list[Difference], list[str], list[str]]:
    """How the FHIR input read again differs from the record: differences, notes and their cause."""
    diffs: list[Difference] = []
    notes: list[str] = []
    patient = dict(reading.patient.plain())
    if patient != dict(record.patient):
        keys = sorted(k for k in set(patient) | set(record.patient) if patient.get(k) != record.patient.get(k))
        diffs.append(
            Difference(
                DifferenceKind.PATIENT_READ,
                f"the patient read from the FHIR input differs from the record's patient in: {', '.join(keys)}",
            )
        )
    if record.package.startswith("0.1."):  # its release kept no reader notes: their absence is no difference
        notes.append(
            f"neuroguide {record.package} kept no FHIR reader notes in its records; re-reading the input gives "
            f"{len(reading.notes)}, not compared"
        )
    else:
        was, now = _compared(record.notes), _compared(reading.notes)
        diffs += [
            Difference(DifferenceKind.READER_NOTES, f"reader note in the record, not made now: {n.kind.value}: {n}")
            for n in was
            if n not in now
        ]
        diffs += [
            Difference(DifferenceKind.READER_NOTES, f"reader note made now, not in the record: {n.kind.value}: {n}")
            for n in now
            if n not in was
        ]
    if not diffs:
        return [], notes, []
    same = record.package == package_version()
    if any(d.kind is DifferenceKind.PATIENT_READ for d in diffs):
        cause = (
            "the patient read from the FHIR input given is not the record's patient: the input is not the one the "
            "record was made from, or the record was altered"
            + ("" if same else f", or the FHIR reader changed since neuroguide {record.package}")
        )
    elif same:
        cause = (
            "the same FHIR input read by the same version gives the same patient and the same notes, yet the notes "
            "differ: the record's notes were altered after it was made"
        )
    else:
        cause = (
            f"the FHIR reader of neuroguide {package_version()} notes the same input otherwise than "
            f"{record.package} did (the patient read is the same), unless the record's notes were altered"
        )
    return diffs, notes, [cause]


# Flags about the patient's own inputs (not about the guideline files or a site overlay).
_INPUT_FLAGS = frozenset(
    {
        FlagKind.PROBABLE_UNIT_ERROR,
        FlagKind.PLACEHOLDER_DATE,
        FlagKind.CONFLICT,
        FlagKind.CONTRADICTION,
        FlagKind.IMPLAUSIBLE,
    }
)


def _newly_flagged(record: EvaluationRecord, again: Assessment | None) -> list[str]:
    """Input flags of the replay that the record does not hold: checks added since the record's release."""
    if again is None or record.package == package_version():
        return []
    had = set(record.flags)
    return [str(f) for f in again.flags if f.kind in _INPUT_FLAGS and f not in had]


def _code_changes(record: EvaluationRecord, again: Assessment | None) -> list[str]:
    """Changes of the evaluation code since 0.1.x (the 0.2.0 release notes) that this record's replay shows."""
    if again is None or not record.package.startswith("0.1."):
        return []
    out: list[str] = []
    given = record.patient.get("findings")
    if (
        record.facts.get("pad") is None
        and again.record.facts.get("pad") is True
        and not (isinstance(given, Mapping) and "pad" in given)
    ):
        out.append(
            "since 0.2.0, pad is derived from an ABI <= 0.90 or a TBI <= 0.70 (diagnostic of PAD, AHA/ACC 2016); "
            f"neuroguide {record.package} read pad only when given, so it was unknown in the record"
        )
    now = {(r.guideline, r.rule): r for r in again.recommendations}
    below = sorted(
        {
            r.rule
            for r in record.recommendations
            if r.kind == "neurotoxicity"
            and (n := now.get((r.guideline, r.rule))) is not None
            and n.action != r.action
            and "threshold" in n.action
        }
    )
    if below:
        out.append(
            "since 0.2.0, a neurotoxic drug whose exposure is below its cited threshold, or not known to be past it, "
            "no longer gets the past-threshold action: the action says where exposure stands instead "
            f"(neuroguide {record.package} gave the past-threshold action): {', '.join(below)}"
        )
    was_missing, now_missing = [m.fact for m in record.missing], [m.fact for m in again.record.missing]
    doses = [f for f in now_missing if f.startswith("medications[") and f not in was_missing]
    if doses:
        out.append(
            "since 0.2.0, a dose that was not checked (its only dosing rule not evaluated, e.g. in review) is listed "
            f"under the missing inputs: {', '.join(doses)}"
        )
    if was_missing != now_missing and sorted(was_missing) == sorted(now_missing):
        out.append(
            "since 0.2.0, the missing inputs an emergency rule needs are ordered with a finding that alone raises "
            "the emergency first: the same inputs are asked in another order"
        )
    seen = Counter((r.guideline, r.rule) for r in record.recommendations)
    made = Counter((r.guideline, r.rule) for r in again.recommendations)
    repeated = sorted(key[1] for key, n in seen.items() if n > 1 and 0 < made[key] < n)
    if repeated:
        out.append(
            f"neuroguide {record.package} gave a medication rule one recommendation per medication entry naming its "
            "drug; since 0.2.0, entries naming the same drug are summed into one daily dose and checked once "
            f"(duplicate therapy): {', '.join(repeated)}"
        )
    return out


def _replayed(ref: Any, current: str | None, locked: str | None, file: str | None) -> ReplayedGuideline:
    return ReplayedGuideline(
        id=ref.id,
        version=ref.version,
        pinned=ref.pinned,
        recorded_sha256=ref.sha256,
        current_sha256=current,
        locked_sha256=locked,
        file=file,
    )


def _content_cause(file: str, recorded: str, now: str, locked: str | None) -> str:
    head = f"{file}: content changed since the record was made (recorded sha256 {recorded}, file now {now}"
    if locked is None:
        return head + "; the file is not in lock.json)"
    if locked == recorded:
        return head + "; lock.json still pins the recorded hash): the released file was edited after release"
    if locked == now:
        return (
            head + "; the file matches lock.json): either the record itself was altered, or the released file "
            "was replaced in place and re-locked (a release must be a new version file)"
        )
    return head + f"; lock.json pins a third hash {locked})"


def _selection_notes(record: EvaluationRecord, cat: Catalog) -> list[str]:
    """Say when the catalog would now pick other versions for the record's date (replay keeps the recorded ones)."""
    notes: list[str] = []
    recorded = {ref.id: ref for ref in record.guidelines}
    for g in cat.in_effect(record.as_of):
        ref = recorded.get(g.id)
        if ref is None:
            notes.append(
                f"{g.id} {g.version} is in effect on {record.as_of.isoformat()} in the current catalog "
                "but was not used by the record (added later, or excluded when the record was made)"
            )
        elif not ref.pinned and ref.version != g.version:
            notes.append(
                f"{g.id}: the current catalog would select {g.version} on {record.as_of.isoformat()}; "
                f"the record used {ref.version} and the replay kept it"
            )
    return notes


def file_sha256(path: Path) -> str:
    """Return the sha256 of a file's bytes (as the lock records it).

    Args:
        path: the file.

    Returns:
        The hex digest.

    """
    return hashlib.sha256(path.read_bytes()).hexdigest()


def to_plain(value: Any) -> Any:
    """Return an audit result as JSON-ready data (via the shared converter).

    Args:
        value: any result of this module.

    Returns:
        Plain dicts, lists, strings and numbers.

    """
    return converter.unstructure(value)
