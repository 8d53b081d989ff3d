"""Plain-language texts of guideline rules, for the person the recommendation is about.

Released guideline files never change, so each rule's patient text lives in a companion file,
``_data/patient-text/<guideline-id>.toml``, one table per rule id::

    [rules.dpn-screening]
    text = "..."                          # what the person should know or do; short sentences
    why = "..."                           # optional, one sentence
    applies_to_versions = ["2026.1"]      # guideline versions whose rule wording this text matches
    reviewed = { by = "...", date = 2026-11-30, measure = "Flesch–Kincaid grade", grade = 5.1 }

A text says what its rule says and nothing more; it is cited to the rule's own sources (the
caller prints the rule's citation beside it). ``reviewed`` records who read it against the rule
and its reading level; it never claims a clinical sign-off.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import tomllib
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import attrs

from . import _diskcache
from . import model as m
from ._loading import Catalog, catalog
from .exceptions import GuidelineDataError, Problem, UnknownGuidelineError

__all__ = [
    "MEASURE",
    "REVIEWER",
    "MissingText",
    "PatientText",
    "Review",
    "in_scope",
    "load_texts",
    "missing_patient_texts",
    "patient_text",
    "patient_text_files",
    "patient_texts",
    "text_problems",
]

MEASURE = "Flesch–Kincaid grade"
# The only reviewer a text may name: the project's developers read each text against its rule;
# no clinician has signed the texts off, and the data must not suggest otherwise.
REVIEWER = "neuroguide developers (not a clinical sign-off)"
FOLDER = "patient-text"
_RULE_KEYS = ("text", "why", "applies_to_versions", "reviewed")
_REVIEW_KEYS = ("by", "date", "measure", "grade")
_MAX_GRADE = 30.0  # a Flesch–Kincaid grade above this is a data error, not a hard text
_Report = Callable[[str, str], None]  # records one problem: (key path, message)


@attrs.frozen(kw_only=True)
class Review:
    """Who read a text against its rule, when, and its reading level."""

    by: str
    date: dt.date
    measure: str
    grade: float


@attrs.frozen(kw_only=True)
class PatientText:
    """The plain-language version of one rule.

    ``file`` and ``sha256`` name the exact companion file (its bytes), so an evaluation record
    can say which text was handed over.
    """

    guideline_id: str
    rule_id: str
    text: str
    why: str | None
    applies_to_versions: tuple[str, ...]
    reviewed: Review
    file: str
    sha256: str

    def full(self) -> str:
        """The text followed by its reason, as one paragraph (what the reading level is measured on)."""
        return f"{self.text} {self.why}" if self.why else self.text


@attrs.frozen
class MissingText:
    """A rule that needs a patient text and has none for this guideline version."""

    guideline_id: str
    version: str
    rule_id: str

    def __str__(self) -> str:
        return f"{self.guideline_id} {self.version}: rule {self.rule_id!r} has no patient text"


def in_scope(rule: m.Rule) -> bool:
    """True for a rule that needs a patient text: approved, or urgent and still in review (it is shown)."""
    return rule.status is m.Status.APPROVED or (rule.status is m.Status.IN_REVIEW and m.is_urgent(rule))


def texts_root() -> Traversable:
    """The packaged folder of patient-text files."""
    return resources.files("neuroguide") / "_data" / FOLDER


# -- reading and validating one file -----------------------------------------------------------


def load_texts(data: bytes, name: str, source: Catalog) -> dict[str, PatientText]:
    """Parse and check one companion file's bytes; return its texts by rule id.

    Args:
        data: the file's bytes.
        name: its file name, ``<guideline-id>.toml`` (the guideline it belongs to).
        source: the catalog whose rules and versions the texts must name.

    Raises:
        GuidelineDataError: listing every problem, each with file and key path.

    """
    label = f"{FOLDER}/{name}"
    problems: list[Problem] = []

    def bad(path: str, message: str) -> None:
        problems.append(Problem(label, path, message))

    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GuidelineDataError([Problem(label, "$", f"not valid TOML: {exc}")]) from None
    gid = name.removesuffix(".toml")
    versions = _versions(source, gid)
    if versions is None:
        bad("$", f"no guideline {gid!r} (name the file <guideline-id>.toml; known: {', '.join(source.ids())})")
    for key in raw:
        if key != "rules":
            bad(f"$.{key}", "unknown key; expected only [rules.<rule-id>] tables")
    rules = raw.get("rules", {})
    if not isinstance(rules, dict):
        bad("$.rules", f"expected tables [rules.<rule-id>], got {type(rules).__name__}")
        rules = {}
    digest = hashlib.sha256(data).hexdigest()
    out: dict[str, PatientText] = {}
    for rule_id, entry in rules.items():
        at = f"$.rules.{rule_id}"
        before = len(problems)
        if versions is not None:
            known = {r for g in versions.values() for r in (x.id for x in g.rules)}
            if rule_id not in known:
                close = difflib.get_close_matches(rule_id, sorted(known), n=3)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                bad(at, f"unknown rule id {rule_id!r} in guideline {gid!r}{hint}")
                continue
        if not isinstance(entry, dict):
            bad(at, f"expected a table, got {type(entry).__name__}")
            continue
        text = _check_entry(entry, at, rule_id, versions or {}, bad)
        if text is not None and len(problems) == before:
            out[rule_id] = attrs.evolve(text, guideline_id=gid, file=label, sha256=digest)
    if problems:
        raise GuidelineDataError(problems)
    return out


def _versions(source: Catalog, gid: str) -> dict[str, m.Guideline] | None:
    if gid not in source.ids():
        return None
    return {g.version: g for g in source.versions(gid)}


def _check_entry(
    entry: Mapping[str, Any],
    at: str,
    rule_id: str,
    versions: Mapping[str, m.Guideline],
    bad: _Report,
) -> PatientText | None:
    for key in entry:
        if key not in _RULE_KEYS:
            bad(f"{at}.{key}", f"unknown key; expected one of {', '.join(_RULE_KEYS)}")
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        bad(f"{at}.text", f"expected a non-empty string, got {text!r}")
    why = entry.get("why")
    if why is not None and (not isinstance(why, str) or not why.strip()):
        bad(f"{at}.why", f"expected a non-empty string (or no key), got {why!r}")
    applies = entry.get("applies_to_versions")
    if not isinstance(applies, list) or not applies or not all(isinstance(v, str) for v in applies):
        bad(f"{at}.applies_to_versions", f"expected a non-empty list of versions such as ['2026.1'], got {applies!r}")
        applies = []
    for i, version in enumerate(applies):
        g = versions.get(version)
        if g is None:
            known = ", ".join(versions) or "none"
            bad(f"{at}.applies_to_versions[{i}]", f"no version {version!r} of this guideline (known: {known})")
        elif rule_id not in {r.id for r in g.rules}:
            bad(f"{at}.applies_to_versions[{i}]", f"version {version!r} has no rule {rule_id!r}")
    if len(set(applies)) != len(applies):
        bad(f"{at}.applies_to_versions", "a version is listed twice")
    review = _check_review(entry.get("reviewed"), f"{at}.reviewed", bad)
    if not isinstance(text, str) or review is None:
        return None
    return PatientText(
        guideline_id="",
        rule_id=rule_id,
        text=text.strip(),
        why=why.strip() if isinstance(why, str) else None,
        applies_to_versions=tuple(applies),
        reviewed=review,
        file="",
        sha256="",
    )


def _check_review(raw: object, at: str, bad: _Report) -> Review | None:
    if not isinstance(raw, dict):
        bad(at, f"expected a table {{ by, date, measure, grade }}, got {raw!r}")
        return None
    for key in raw:
        if key not in _REVIEW_KEYS:
            bad(f"{at}.{key}", f"unknown key; expected one of {', '.join(_REVIEW_KEYS)}")
    by, date, measure, grade = (raw.get(k) for k in _REVIEW_KEYS)
    ok = True
    if by != REVIEWER:
        bad(f"{at}.by", f"got {by!r}; expected {REVIEWER!r} (no clinical sign-off may be claimed)")
        ok = False
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        bad(f"{at}.date", f"got {date!r}; expected a date such as 2026-11-30")
        ok = False
    if measure != MEASURE:
        bad(f"{at}.measure", f"got {measure!r}; expected {MEASURE!r}")
        ok = False
    if isinstance(grade, bool) or not isinstance(grade, int | float) or not 0 <= grade <= _MAX_GRADE:
        bad(f"{at}.grade", f"got {grade!r}; expected a number from 0 to {_MAX_GRADE:g}")
        ok = False
    if not ok:
        return None
    assert isinstance(date, dt.date) and isinstance(grade, int | float)  # narrowed by the checks above
    return Review(by=REVIEWER, date=date, measure=MEASURE, grade=float(grade))


# -- the packaged texts ------------------------------------------------------------------------


def load_folder(root: Traversable | Path, source: Catalog) -> dict[tuple[str, str], PatientText]:
    """Load every ``<guideline-id>.toml`` under ``root``; keys are ``(guideline id, rule id)``.

    Raises:
        GuidelineDataError: listing every problem of every file.

    """
    return _load_files(_files(root), source)


def _files(root: Traversable | Path) -> list[tuple[str, bytes]]:
    return [(e.name, e.read_bytes()) for e in sorted(root.iterdir(), key=lambda e: e.name) if e.name.endswith(".toml")]


def _load_files(files: Iterable[tuple[str, bytes]], source: Catalog) -> dict[tuple[str, str], PatientText]:
    problems: list[Problem] = []
    out: dict[tuple[str, str], PatientText] = {}
    for name, data in files:
        try:
            texts = load_texts(data, name, source)
        except GuidelineDataError as exc:
            problems.extend(exc.problems)
            continue
        out.update(((t.guideline_id, rule_id), t) for rule_id, t in texts.items())
    if problems:
        raise GuidelineDataError(problems)
    return out


_KIND = "patient-texts"
_ALLOWED = {(c.__module__, c.__qualname__): c for c in (PatientText, Review, dt.date)}


@functools.cache
def patient_texts() -> Mapping[tuple[str, str], PatientText]:
    """Every packaged patient text, keyed by ``(guideline id, rule id)``; read and checked once.

    Kept in the knowledge-base cache with the catalog they were checked against.

    Raises:
        GuidelineDataError: a file has problems (all are listed).

    """
    source = catalog()
    files = _files(texts_root())
    key = None
    if source.cache_key is not None and _diskcache.enabled():
        parts = [("catalog", source.cache_key), *((name, hashlib.sha256(data).hexdigest()) for name, data in files)]
        key = _diskcache.key_of(_KIND, parts)
        found = _diskcache.load(_KIND, key, _ALLOWED)
        if isinstance(found, dict) and all(
            isinstance(t, PatientText) and k == (t.guideline_id, t.rule_id) for k, t in found.items()
        ):
            return found
    texts = _load_files(files, source)
    if key is not None:
        _diskcache.store(_KIND, key, texts)
    return texts


def patient_text(rule_id: str, guideline_id: str, version: str) -> PatientText | None:
    """The plain-language text of one rule in one guideline version, or None when there is none.

    None means no text was written for the rule, or its text was not checked against that
    version's wording (``applies_to_versions``): show the clinician text instead, and say so.
    """
    found = patient_texts().get((guideline_id, rule_id))
    if found is None or version not in found.applies_to_versions:
        return None
    return found


def patient_text_files() -> dict[str, str]:
    """``{file: sha256}`` of every packaged patient-text file, for evaluation records."""
    return {t.file: t.sha256 for t in patient_texts().values()}


def missing_patient_texts(guidelines: Iterable[m.Guideline] | None = None) -> list[MissingText]:
    """Every in-scope rule without a text for its version (default: the latest released version of each guideline).

    A rule is in scope when :func:`in_scope` says so. The list is data to act on (write the texts);
    a rule without a text is not an error when loading.
    """
    chosen = list(guidelines) if guidelines is not None else _latest(catalog())
    missing = []
    for g in chosen:
        for rule in g.rules:
            if in_scope(rule) and patient_text(rule.id, g.id, g.version) is None:
                missing.append(MissingText(g.id, g.version, rule.id))
    return missing


def text_problems(guidelines: Iterable[m.Guideline] | None = None) -> list[Problem]:
    """Every problem at once: those of the files, then each in-scope rule without a text."""
    try:
        patient_texts()
    except GuidelineDataError as exc:
        return list(exc.problems)
    return [
        Problem(f"{FOLDER}/{miss.guideline_id}.toml", f"$.rules.{miss.rule_id}", f"rule without patient text ({miss})")
        for miss in missing_patient_texts(guidelines)
    ]


def _latest(source: Catalog) -> list[m.Guideline]:
    """The latest released version of each guideline still in effect (a retired guideline has none)."""
    out = []
    for gid in source.ids():
        try:
            out.append(source.get(gid))
        except UnknownGuidelineError:
            continue
    return out
