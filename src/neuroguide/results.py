"""What an evaluation produces: recommendations, traces, missing inputs and the replayable record.

These types sit below the evaluator and the clinical services so that each can
build results without importing the other.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from . import _converter, _dist
from . import model as m
from ._criteria import Outcome
from ._jsonin import loads
from .exceptions import InputError, raise_all
from .patient import Flag

__all__ = [
    "DOSE_PROBLEMS",
    "NOT_FIRED",
    "SECTION_TITLES",
    "Assessment",
    "Difference",
    "DifferenceKind",
    "EvaluationRecord",
    "GuidelineRef",
    "MissingInput",
    "Note",
    "NoteKind",
    "PossibleFlag",
    "Recommendation",
    "RecommendationStatus",
    "ReplayReport",
    "RuleOutcome",
    "RuleResult",
    "RuleTrace",
    "Section",
    "SiteStamp",
    "leaves_of",
    "newer_package",
    "outcome_word",
    "package_version",
    "recommendation",
    "section_of",
]


class RuleOutcome(enum.StrEnum):
    """How one rule was decided for one patient."""

    FIRED = "fired"
    NOT_FIRED = "not-fired"
    UNDETERMINED = "undetermined"
    DISABLED = "disabled-by-site"
    """The site overlay disabled the rule, so it was not evaluated (the trace line names who, when and why)."""


class RecommendationStatus(enum.StrEnum):
    """What a recommendation asks for now, most pressing first."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    OVERDUE = "overdue"
    DUE = "due"
    SCHEDULED = "scheduled"
    PATTERN = "pattern"
    """The presentation pattern a consideration establishes (listed first among the likely categories)."""
    FIRES = "fires"
    """The rule's criterion holds (a consideration, work-up, treatment option or routine referral)."""
    RESULT = "result"
    """A classified measurement (e.g. an ABI band)."""
    FLAGGED = "flagged"
    """A neurotoxic drug past its cited cumulative threshold."""
    CAUTION = "caution"
    """A neurotoxic drug taken, below any cited threshold."""
    BELOW_RANGE = "below-range"
    ABOVE_RANGE = "above-range"
    ABOVE_MAXIMUM = "above-maximum"
    IMPLAUSIBLE = "implausible"
    NOT_COVERED = "not-covered"
    WITHIN_RANGE = "within-range"
    AVOID = "avoid"
    """The source says not to use the drug at this renal function."""
    WEIGHT_DEPENDENT = "weight-dependent"
    """Within range at CrCl from actual weight, out of range at CrCl from ideal or adjusted weight."""


DOSE_PROBLEMS = frozenset(
    {
        RecommendationStatus.BELOW_RANGE,
        RecommendationStatus.ABOVE_RANGE,
        RecommendationStatus.ABOVE_MAXIMUM,
        RecommendationStatus.IMPLAUSIBLE,
        RecommendationStatus.NOT_COVERED,
        RecommendationStatus.AVOID,
        RecommendationStatus.WEIGHT_DEPENDENT,
    }
)
"""Dose verdicts a prescriber must see (the report's dose problems; a warning card in CDS Hooks)."""


class Section(enum.StrEnum):
    """Report sections, in the order a clinician reads them."""

    RED_FLAGS = "red-flags"
    CATEGORIES = "categories"
    RESULTS = "results"
    WORKUP = "workup"
    SCHEDULE = "schedule"
    REFERRALS = "referrals"
    MEDICATIONS = "medications"
    TREATMENT = "treatment"


SECTION_TITLES = {
    Section.RED_FLAGS: "Red flags and urgent actions",
    Section.CATEGORIES: "Likely categories and diagnostic considerations",
    Section.RESULTS: "Results interpreted",
    Section.WORKUP: "Work-up to order",
    Section.SCHEDULE: "Screening and foot-care schedule",
    Section.REFERRALS: "Referrals",
    Section.MEDICATIONS: "Neurotoxic medications and dose problems",
    Section.TREATMENT: "Treatment options and safety cautions",
}

_DEFAULT_SECTION = {
    "screening": Section.SCHEDULE,
    "referral": Section.REFERRALS,
    "workup": Section.WORKUP,
    "consideration": Section.CATEGORIES,
    "treatment": Section.TREATMENT,
    "caution": Section.TREATMENT,
    "classification": Section.RESULTS,
    "dosing": Section.MEDICATIONS,
    "neurotoxicity": Section.MEDICATIONS,
}


def section_of(rule: m.Rule) -> Section:
    """Return the report section of a rule (its own, or its kind's default)."""
    if rule.section is not None:
        return Section(rule.section)
    if isinstance(rule, m.ReferralRule) and rule.urgency in ("emergency", "urgent"):
        return Section.RED_FLAGS
    return _DEFAULT_SECTION[rule.kind]


@attrs.frozen(kw_only=True)
class Recommendation:
    """One thing to do (or know), with the rule and guideline version behind it."""

    rule: str
    guideline: str
    version: str
    kind: str
    section: Section
    title: str
    action: str
    status: RecommendationStatus = attrs.field(converter=RecommendationStatus)
    citation: str
    reasons: tuple[str, ...] = ()
    due: dt.date | None = None
    due_by: dt.date | None = None
    overdue_days: int | None = None
    missing: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    rule_status: m.Status = attrs.field(default=m.Status.APPROVED, converter=m.Status)


@attrs.frozen(kw_only=True)
class MissingInput:
    """A fact that was not given but would let more rules decide."""

    fact: str
    label: str
    needed_by: tuple[str, ...]


@attrs.frozen(kw_only=True)
class GuidelineRef:
    """Which guideline version was used, its content hash, and whether it was pinned."""

    id: str
    version: str
    sha256: str
    pinned: bool = False


@attrs.frozen(kw_only=True)
class SiteStamp:
    """Which site governance overlay an assessment applied: the site and the overlay file's sha256."""

    id: str
    name: str
    sha256: str


@attrs.frozen(kw_only=True)
class RuleTrace:
    """How one rule was decided: fired, not fired, or undetermined, and why."""

    rule: str
    guideline: str
    version: str
    outcome: RuleOutcome
    leaves: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


_EXPECTED = {
    "unknown key": "no such key in an evaluation record (altered, or from another program)",
    "required key is missing": "this key, which every evaluation record has",
}


def _expectation(msg: str) -> str:
    """What a record's value should have been, from the converter's message about it."""
    if msg in _EXPECTED:
        return _EXPECTED[msg]
    return msg.split("; expected ", 1)[1] if "; expected " in msg else f"a valid value ({msg})"


# Patterns are compiled on first use: a start-up that reads no such text does not pay for them.
@functools.cache
def _step() -> re.Pattern[str]:
    return re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _value_at(data: Any, path: str) -> Any:
    """The value at a problem's path (``record.trace[0].outcome``), or ``"(missing)"``."""
    for name, index in _step().findall(path.removeprefix("record")):
        try:
            data = data[name] if name else data[int(index)]
        except (KeyError, IndexError, TypeError):
            return "(missing)"
    return data


@attrs.frozen(kw_only=True)
class EvaluationRecord:
    """Everything needed to reconstruct and replay one assessment."""

    as_of: dt.date
    package: str
    statuses: tuple[str, ...]
    patient: Mapping[str, Any]
    facts: Mapping[str, Any]
    guidelines: tuple[GuidelineRef, ...]
    trace: tuple[RuleTrace, ...]
    recommendations: tuple[Recommendation, ...]
    missing: tuple[MissingInput, ...]
    explained: bool = True
    urgent_unverified: bool = False
    """Urgent rules in review were evaluated and shown as not yet verified (0.2.0 on; absent in 0.1.0 records)."""
    flags: tuple[Flag, ...] = ()
    """Inputs flagged and not used (probable unit errors, placeholder dates, conflicts); 0.2.0 on."""
    unlocked: tuple[str, ...] = ()
    """Guideline files that did not match the lock, loaded because an author allowed it; 0.2.0 on."""
    site: SiteStamp | None = None
    """The site overlay applied, if any (absent from the JSON when none was, so such records read as before)."""
    notes: tuple[Note, ...] = ()
    """The FHIR reader's notes on the input (what it left out and why, or read with a stated assumption); 0.2.0 on,
    absent from the JSON when there are none (a patient given as JSON), so such records read as before."""

    # A record without a site overlay or reader notes serializes exactly as before these existed.
    omit_if_default: ClassVar[tuple[str, ...]] = ("site", "notes")

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-ready data."""
        data: dict[str, Any] = _converter.shared().unstructure(self)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """Serialize the record as JSON."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationRecord:
        """Rebuild a record from :meth:`to_dict` output.

        Raises:
            InputError: the data is not an evaluation record.

        """
        package = data.get("package", "")
        shape = [
            InputError(f"record.{k}", data[k], what) for k, kind, what in _SHAPES if k in data and not kind(data[k])
        ]
        if "package" in data and (not isinstance(package, str) or _release(package) is None):
            # every release, and an uninstalled tree ('0+unknown'), writes a version that starts with its numbers
            shape.append(
                InputError("record.package", package, "the version of neuroguide that wrote the record, e.g. '0.1.0'")
            )
        statuses = data.get("statuses")
        if isinstance(statuses, list) and not all(isinstance(s, str) and s in _STATUS_NAMES for s in statuses):
            shape.append(
                InputError("record.statuses", statuses, f"rule statuses from {', '.join(sorted(_STATUS_NAMES))}")
            )
        raise_all(shape)
        try:
            return _converter.shared().structure(dict(data), cls)
        except Exception as exc:  # cattrs raises groups of many kinds
            # a later release may add fields and values: say so rather than call the record broken
            later = (
                f"; the record was written by neuroguide {package}, newer than this installation "
                f"({package_version()}): replay it with neuroguide {package} or later"
                if isinstance(package, str) and newer_package(package)
                else ""
            )
            problems = [
                InputError(path, _value_at(data, path), f"{_expectation(msg)}{later}")
                for path, msg in _converter.format_errors(exc, root="record")
            ]
            raise_all(problems)
            raise InputError("record", "(evaluation record)", f"a valid evaluation record{later}") from None

    @classmethod
    def from_json(cls, text: str) -> EvaluationRecord:
        """Parse a record from JSON text (a leading UTF-8 byte order mark is ignored)."""
        text = text.removeprefix("\ufeff") if isinstance(text, str) else text
        try:
            data = loads(text, "record")  # strict: a duplicate key is refused, never one kept
        except InputError as exc:
            try:
                json.loads(text)
            except json.JSONDecodeError as bad:  # say when a record was cut short (a copy or download that stopped)
                if text.strip() and (bad.pos >= len(text.rstrip()) or bad.msg.startswith("Unterminated")):
                    raise InputError(exc.field, exc.value, f"{exc.expected[:-1]}: the text ends too early, so the "
                                     "record is cut short)") from None  # fmt: skip
            except (ValueError, RecursionError):
                pass
            raise
        if not isinstance(data, dict):
            raise InputError("record", type(data).__name__, "a JSON object")
        return cls.from_dict(data)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


# the JSON shape of each part of a record, checked first so a wrong shape is named in plain words
_SHAPES = (
    *((k, _is_object, "a JSON object") for k in ("patient", "facts")),
    *(
        (k, _is_list, "a JSON list")
        for k in ("statuses", "guidelines", "trace", "recommendations", "missing", "flags", "unlocked", "notes")
    ),
)
_STATUS_NAMES = frozenset(s.value for s in m.Status)


@attrs.frozen(kw_only=True)
class PossibleFlag:
    """A red flag raised under some reading of contradicting inputs: possible, never decided.

    Contradicting values are left out, so the rule could not decide; evaluated with one side of each contradiction
    taken as right, it was raised in ``readings`` of ``of`` readings. The inputs must be checked now.
    """

    recommendation: Recommendation
    """The red flag as it was raised (in the first reading that raised it)."""
    readings: int
    of: int
    fields: tuple[str, ...]
    """The contradicting inputs, as the flags name them."""

    @property
    def every(self) -> bool:
        """Raised whichever of the contradicting values is right."""
        return self.readings == self.of


class NoteKind(enum.StrEnum):
    """Why a datum of the input was not used, or how it was read (the FHIR reader's notes)."""

    UNRECOGNISED = "unrecognised"
    EXCLUDED = "excluded"
    UNDECIDED = "undecided"
    """A recognised result given as a limit with a threshold inside it, read as the limit.

    The limit decides every other threshold; the comparisons it cannot decide are unknown, and the assessment flags
    them (``FlagKind.UNDECIDED``)."""
    NONCONFORMANT = "nonconformant"
    CONFLICT = "conflict"
    ASSUMPTION = "assumption"

    @property
    def assumed(self) -> bool:
        """True for a datum that WAS used, read in a stated way; false for one not used or in conflict.

        Assumptions: an unconfirmed diagnosis read as present, no clinical status read as active, a nonconformant
        resource read leniently, a result given as a limit read as one (``undecided``: used for every threshold
        it decides).
        """
        return self in (NoteKind.ASSUMPTION, NoteKind.NONCONFORMANT, NoteKind.UNDECIDED)


@attrs.frozen(kw_only=True)
class Note:
    """One thing the reader of the input could not use, or had to read in a stated way."""

    kind: NoteKind
    resource: str
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.what}: {self.reason}"

    @property
    def text(self) -> str:
        """The note on one line, without its kind; the resource is left out when ``what`` already names it."""
        return f"{self.what}: {self.reason}" if self.resource in self.what else str(self)

    @property
    def assumed(self) -> bool:
        """True when the datum was used, read with the stated assumption (see :attr:`NoteKind.assumed`)."""
        return self.kind.assumed


@attrs.frozen(kw_only=True)
class Assessment:
    """The result of :func:`assess`: recommendations, missing inputs and the record."""

    recommendations: tuple[Recommendation, ...]
    missing: tuple[MissingInput, ...]
    record: EvaluationRecord
    urgent_missing: tuple[str, ...] = ()
    """Missing facts that an urgent or emergency rule needs in order to decide (ask for these first).

    Those in ``urgent_decisive`` come first."""
    urgent_decisive: tuple[str, ...] = ()
    """Missing yes/no findings that would alone raise an urgent or emergency flag that other recorded findings
    already partly meet (e.g. the reflexes of a patient whose weakness has progressed for 6 weeks)."""
    possible: tuple[PossibleFlag, ...] = ()
    """Red flags raised under some reading of contradicting inputs (none when no input contradicts another)."""
    notes: tuple[Note, ...] = ()
    """The FHIR reader's notes on what it did not use, or read with an assumption (empty for a patient given as JSON).

    They are not inputs to add, so never in ``missing``; the text report shows them in a section of their own.
    :meth:`with_notes` keeps them in the record too."""

    def with_notes(self, notes: Iterable[Note]) -> Assessment:
        """Return this assessment with the reader's notes (each once), in its record too (a replay shows them)."""
        once = tuple(dict.fromkeys(notes))
        return attrs.evolve(self, notes=once, record=attrs.evolve(self.record, notes=once))

    @property
    def flags(self) -> tuple[Flag, ...]:
        """Inputs flagged and not used, and unlocked guideline files (shown with the report)."""
        return self.record.flags

    def section(self, section: Section | str) -> tuple[Recommendation, ...]:
        """Return the recommendations of one section, in order."""
        want = Section(section)
        return tuple(r for r in self.recommendations if r.section is want)

    def by_rule(self, rule_id: str) -> Recommendation | None:
        """Return the recommendation a rule produced, if any."""
        for rec in self.recommendations:
            if rec.rule == rule_id:
                return rec
        return None


@functools.cache
def package_version() -> str:
    """Return neuroguide's installed version (read once: metadata look-ups are slow)."""
    return _dist.version()


def _release(version: str) -> tuple[int, ...] | None:
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    return tuple(int(x) for x in match.group(1).split(".")) if match else None


def newer_package(version: str) -> bool:
    """True when ``version`` is a later release than the installed neuroguide (by its release numbers)."""
    recorded, now = _release(version), _release(package_version())
    if recorded is None or now is None:
        return False
    width = max(len(recorded), len(now))
    return recorded + (0,) * (width - len(recorded)) > now + (0,) * (width - len(now))


class DifferenceKind(enum.StrEnum):
    """What a replay difference is about."""

    GUIDELINE_UNAVAILABLE = "guideline-unavailable"
    CONTENT_CHANGED = "content-changed"
    PACKAGE_VERSION = "package-version"
    RECOMMENDATION_REMOVED = "recommendation-removed"
    RECOMMENDATION_ADDED = "recommendation-added"
    RECOMMENDATION_CHANGED = "recommendation-changed"
    RECOMMENDATION_ORDER = "recommendation-order"
    FACT = "fact"
    TRACE = "trace"
    MISSING_INPUTS = "missing-inputs"
    SITE_OVERLAY = "site-overlay"
    """The record applied a site overlay that was not given to the replay, or whose content differs."""
    RECORD_INCONSISTENT = "record-inconsistent"
    """The record contradicts itself (an entry twice, a rule or version its guideline list does not hold)."""
    READER_NOTES = "reader-notes"
    """The FHIR reader's notes on the input, re-read, differ from the record's (replayed with the FHIR input)."""
    PATIENT_READ = "patient-read"
    """The patient read again from the FHIR input given to the replay is not the record's patient."""
    NEWER_CODE = "newer-code"
    """What this version's code would decide otherwise where the replay keeps the record's release behaviour
    (a derivation added since): said, but the record still replays as made."""

    @property
    def substantive(self) -> bool:
        """False for a package-version change and for what newer code would decide, as neither makes a replay differ."""
        return self not in (DifferenceKind.PACKAGE_VERSION, DifferenceKind.NEWER_CODE)

    @property
    def about_recommendations(self) -> bool:
        """True for differences in the recommendations themselves."""
        return self.value.startswith("recommendation")


class Difference(str):
    """One way a replay differs from its record: readable text with a typed :attr:`kind`.

    A ``str`` subclass so code written for 0.1.0 (which compared text) keeps working;
    new code should test :attr:`kind`.
    """

    kind: DifferenceKind

    def __new__(cls, kind: DifferenceKind, text: str) -> Difference:
        obj = super().__new__(cls, text)
        obj.kind = kind
        return obj

    def __getnewargs__(self) -> tuple[DifferenceKind, str]:  # type: ignore[override]
        return (self.kind, str(self))


@attrs.frozen(kw_only=True)
class ReplayReport:
    """Whether re-evaluating a record gave the identical result, and if not, what differs."""

    identical: bool
    differences: tuple[Difference, ...]
    assessment: Assessment | None


@attrs.frozen(kw_only=True)
class RuleResult:
    """What one rule did for one patient (the engine turns it into a trace and recommendations)."""

    outcome: RuleOutcome
    leaves: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()


# Rules that do not fire record only their outcome: the trace explains fired and undecided rules.
NOT_FIRED = RuleResult(outcome=RuleOutcome.NOT_FIRED)


def recommendation(rule: m.Rule, g: m.Guideline, **fields: Any) -> Recommendation:
    """Build a recommendation of ``rule`` (guideline ``g``) with the fields every recommendation shares."""
    return Recommendation(
        rule=rule.id,
        guideline=g.id,
        version=g.version,
        kind=rule.kind,
        section=section_of(rule),
        title=rule.title,
        citation=m.short_citation(rule, g),
        rule_status=rule.status.value,
        **fields,
    )


def outcome_word(result: bool | None) -> RuleOutcome:
    """Map a three-valued result to the trace's outcome."""
    return _OUTCOMES[result]


_OUTCOMES = {True: RuleOutcome.FIRED, False: RuleOutcome.NOT_FIRED, None: RuleOutcome.UNDETERMINED}


def leaves_of(outcome: Outcome) -> tuple[str, ...]:
    """Return the trace lines of an outcome."""
    return tuple(
        f"{'TRUE' if leaf.result else 'FALSE' if leaf.result is False else 'UNKNOWN'}: {leaf.text}"
        for leaf in outcome.leaves
    )
