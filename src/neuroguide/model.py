"""The typed guideline model: frozen value objects, no I/O.

A guideline file (``guidelines/<id>/<version>.toml``) is structured into a
:class:`Guideline`, which holds :class:`Source` records and a tuple of rules.
Each rule kind is its own class; all share the fields of :class:`RuleBase`.
Criteria are declarative data (:data:`Criterion`), never code.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal, TypeAlias

import attrs

from .exceptions import UnknownRuleError
from .units import Quantity

__all__ = [
    "AllOf",
    "AnyOf",
    "Band",
    "CautionRule",
    "ChangeNote",
    "Citation",
    "ClassificationRule",
    "Compare",
    "ConsiderationRule",
    "Criterion",
    "Deviation",
    "DosingRule",
    "Fact",
    "Guideline",
    "NeurotoxicityRule",
    "Not",
    "Period",
    "ReferralRule",
    "RenalBand",
    "Rule",
    "ScreeningRule",
    "Source",
    "StartPoint",
    "Status",
    "Threshold",
    "TreatmentRule",
    "Verification",
    "VerificationStatus",
    "WorkupRule",
]


class Urgency(enum.StrEnum):
    """How soon a referral must happen."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"


class Status(enum.StrEnum):
    """Lifecycle of a guideline version or of one rule."""

    DRAFT = "draft"
    IN_REVIEW = "in-review"
    APPROVED = "approved"
    RETIRED = "retired"


class VerificationStatus(enum.StrEnum):
    """How a citation's quote was checked.

    ``primary``: read in the source itself; ``secondary``: read in a named,
    faithful reproduction; ``unverified``: not checked (a lead only).
    """

    PRIMARY = "primary"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"


@attrs.frozen
class Period:
    """A calendar duration such as 5 years or 12 months.

    Calendar arithmetic is not linear (months differ in length), so periods are
    kept apart from pint quantities. Adding a period to a date clamps the day to
    the end of the month: 29 February plus one year is 28 February.
    """

    count: int
    unit: Literal["year", "month", "week", "day"]

    def add_to(self, date: dt.date) -> dt.date:
        """Return ``date`` moved forward by this period."""
        if self.unit == "day":
            return date + dt.timedelta(days=self.count)
        if self.unit == "week":
            return date + dt.timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "year" else 1)
        total = date.year * 12 + (date.month - 1) + months
        year, month = divmod(total, 12)
        month += 1
        last_day = _days_in_month(year, month)
        return dt.date(year, month, min(date.day, last_day))

    def subtract_from(self, date: dt.date) -> dt.date:
        """Return ``date`` moved back by this period (same clamping)."""
        return Period(-self.count, self.unit).add_to(date)

    def __str__(self) -> str:
        plural = "" if abs(self.count) == 1 else "s"
        return f"{self.count} {self.unit}{plural}"


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


# -- criteria -------------------------------------------------------------


@attrs.frozen
class Fact:
    """True when the named boolean fact is true (e.g. ``"type-1-diabetes"``)."""

    name: str


@attrs.frozen
class Compare:
    """Compare a named fact with a value.

    ``value`` is a quantity for quantity facts (units are converted before the
    comparison), a number for dimensionless facts, or a string for categorical
    facts (``==``, ``!=`` and ``in`` only).
    """

    fact: str
    op: Literal["<", "<=", ">", ">=", "==", "!=", "in"]
    value: Quantity | float | str | tuple[str, ...]


@attrs.frozen
class AllOf:
    """True when every part is true."""

    all: tuple[Criterion, ...]


@attrs.frozen
class AnyOf:
    """True when at least one part is true."""

    any: tuple[Criterion, ...]


@attrs.frozen
class Not:
    """True when its part is false."""

    not_: Criterion


Criterion: TypeAlias = Fact | Compare | AllOf | AnyOf | Not


# -- sources and citations ------------------------------------------------


@attrs.frozen(kw_only=True)
class Source:
    """A published document a rule rests on."""

    id: str
    authors: tuple[str, ...]
    title: str
    year: int
    journal: str | None = None
    publisher: str | None = None
    edition: str | None = None
    volume: str | None = None
    pages: str | None = None
    doi: str | None = None
    url: str | None = None
    pmid: str | None = None
    label: str | None = None

    def short(self) -> str:
        """Return a short label such as ``ADA 2026`` for reports (``label`` if given)."""
        if self.label:
            return self.label
        first = self.authors[0] if self.authors else self.title
        lead = first.split(",")[0]
        return f"{lead} {self.year}"


@attrs.frozen(kw_only=True)
class Verification:
    """How and when a quote was checked against its source."""

    status: VerificationStatus
    via: str
    checked: dt.date


@attrs.frozen(kw_only=True)
class Citation:
    """A verbatim quote from a source, with its locator and evidence grade."""

    source: str
    locator: str
    quote: str
    verification: Verification
    grade: str | None = None
    scale: str | None = None


@attrs.frozen(kw_only=True)
class Deviation:
    """Where a rule departs from the seed narrative, and what governs."""

    seed: str
    governs: str


# -- rules ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RuleBase:
    """Fields every rule kind has."""

    id: str
    title: str
    statement: str
    citations: tuple[Citation, ...]
    status: Status = Status.APPROVED
    section: str | None = None
    review_note: str | None = None
    boundary: str | None = None
    deviations: tuple[Deviation, ...] = ()


@attrs.frozen(kw_only=True)
class StartPoint:
    """When screening starts: ``after`` a date fact, for patients matching ``when``."""

    when: Criterion
    anchor: str
    after: Period


@attrs.frozen(kw_only=True)
class ScreeningRule(RuleBase):
    """Repeat an assessment from a start point at a fixed or category interval.

    The interval is ``interval`` unless an entry of ``intervals`` matches the
    patient; then that entry's ``shortest``/``longest`` give the window.
    """

    kind: Literal["screening"] = "screening"
    applies: Criterion
    start: tuple[StartPoint, ...] = ()
    interval: Period
    intervals: tuple[Threshold, ...] = ()
    last_done: str
    includes: tuple[str, ...] = ()
    action: str


@attrs.frozen(kw_only=True)
class Threshold:
    """A category-specific screening window (used by :class:`ScreeningRule`)."""

    when: Criterion
    label: str
    shortest: Period
    longest: Period


@attrs.frozen(kw_only=True)
class ReferralRule(RuleBase):
    """Refer when a criterion holds."""

    kind: Literal["referral"] = "referral"
    when: Criterion
    to: str
    urgency: Urgency = Urgency.ROUTINE
    action: str


@attrs.frozen(kw_only=True)
class WorkupRule(RuleBase):
    """Order tests when a criterion holds."""

    kind: Literal["workup"] = "workup"
    when: Criterion
    tests: tuple[str, ...]
    action: str
    repeat: Period | None = None


@attrs.frozen(kw_only=True)
class ConsiderationRule(RuleBase):
    """A clinical consideration (likely category, diagnostic caveat) when a criterion holds.

    ``pattern`` names the presentation pattern the rule establishes (e.g. "distal symmetric
    polyneuropathy"); such a rule is reported first among the likely categories, and when no
    pattern rule can decide, the report lists the findings that would.
    """

    kind: Literal["consideration"] = "consideration"
    when: Criterion
    action: str
    pattern: str | None = None


@attrs.frozen(kw_only=True)
class TreatmentRule(RuleBase):
    """Treatment options a source supports, and those it recommends against."""

    kind: Literal["treatment"] = "treatment"
    when: Criterion
    options: tuple[str, ...]
    avoid: tuple[str, ...] = ()
    action: str


@attrs.frozen(kw_only=True)
class CautionRule(RuleBase):
    """A safety caution, with the exception that must never be blocked."""

    kind: Literal["caution"] = "caution"
    when: Criterion
    caution: str
    exception: str | None = None


@attrs.frozen(kw_only=True)
class Band:
    """One interval of a classification: ``lower``/``upper`` bound a value.

    A missing bound is open. ``lower_inclusive``/``upper_inclusive`` state
    whether the edge itself belongs to this band.
    """

    label: str
    lower: Quantity | float | None = None
    upper: Quantity | float | None = None
    lower_inclusive: bool = True
    upper_inclusive: bool = True
    action: str | None = None


@attrs.frozen(kw_only=True)
class ClassificationRule(RuleBase):
    """Classify a measured value into labelled bands.

    ``places`` is the number of decimals the value is rounded to (Decimal,
    half-up, in ``unit``) before it is compared with the band edges, because
    sources publish thresholds at a stated precision. ``applies`` limits the
    classification to patients it is meant for (e.g. diagnostic criteria only
    for people not yet diagnosed); without it every recorded value is classified.
    """

    kind: Literal["classification"] = "classification"
    applies: Criterion | None = None
    fact: str
    unit: str
    places: int | None = None
    bands: tuple[Band, ...]
    analyte: str | None = None


@attrs.frozen(kw_only=True)
class RenalBand:
    """A creatinine-clearance band of a label's renal dosing table."""

    label: str
    crcl_lower: Quantity | None = None
    crcl_upper: Quantity | None = None
    lower_inclusive: bool = True
    upper_inclusive: bool = True
    daily_min: Quantity | None = None
    daily_max: Quantity | None = None
    regimen: str
    supplement: str | None = None
    avoid: bool = False
    """The source says not to use the drug in this band (any dose is reported as "avoid")."""
    dialysis: str | None = None
    """Why the source puts a patient on dialysis in this (avoid) row, whatever the CrCl (e.g. the label's section on
    severe renal impairment covers end-stage renal disease on hemodialysis); ``None``: dialysis does not decide it."""


@attrs.frozen(kw_only=True)
class DosingRule(RuleBase):
    """A dosing regimen with its range, period and renal adjustment.

    ``dose_min``/``dose_max`` are amounts per ``per`` period (e.g. 350-500 ug
    per day). ``maximum`` is the most per ``per`` the source allows.
    ``plausible_max`` is the amount per ``per`` above which an entry is
    treated as a likely unit error rather than an overdose.

    ``crcl_comparison`` states how a creatinine clearance meets the renal bands:
    ``"truncate"`` (0.1.0 files: truncated to a whole mL/min, a value in no band
    goes to the band below) or ``"exact"`` (compared unrounded with bands that
    leave no gap; a value in no band is not checked).
    """

    kind: Literal["dosing"] = "dosing"
    agent: str
    synonyms: tuple[str, ...] = ()
    indication: str
    population: str
    route: str
    dose_min: Quantity | None = None
    dose_max: Quantity | None = None
    per: Period
    frequency: str
    duration: str | None = None
    maximum: Quantity | None = None
    plausible_max: Quantity
    renal: tuple[RenalBand, ...] = ()
    crcl_comparison: Literal["truncate", "exact"] = "truncate"
    labelled: bool | None = None
    label_note: str | None = None
    timing: str | None = None


@attrs.frozen(kw_only=True)
class NeurotoxicityRule(RuleBase):
    """One drug of the neurotoxicity table."""

    kind: Literal["neurotoxicity"] = "neurotoxicity"
    agent: str
    synonyms: tuple[str, ...] = ()
    rxnorm: str
    drug_class: str
    phenotype: str
    risk: str
    cumulative_threshold: Quantity | None = None
    duration_threshold: Period | None = None
    onset: str
    reversibility: str
    action: str
    disagreement: str | None = None


Rule: TypeAlias = (
    ScreeningRule
    | ReferralRule
    | WorkupRule
    | ConsiderationRule
    | TreatmentRule
    | CautionRule
    | ClassificationRule
    | DosingRule
    | NeurotoxicityRule
)


@attrs.frozen(kw_only=True)
class ChangeNote:
    """Why a rule changed in this version: what, why, and which source."""

    rule: str
    what: str
    why: str
    source: str | None = None


@attrs.frozen(kw_only=True)
class Guideline:
    """One released version of a guideline: its sources and rules.

    ``sha256`` is the digest of the file's bytes, as pinned in the lock file.
    """

    id: str
    title: str
    version: str
    effective: dt.date
    status: Status
    summary: str
    sources: tuple[Source, ...]
    rules: tuple[Rule, ...]
    changes: tuple[ChangeNote, ...] = ()
    supersedes: str | None = None
    sha256: str = ""
    path: str = ""

    def rule(self, rule_id: str) -> Rule:
        """Return the rule with ``rule_id``.

        Raises:
            UnknownRuleError: no such rule in this version.

        """
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise UnknownRuleError(rule_id, [r.id for r in self.rules])

    def source(self, source_id: str) -> Source:
        """Return the source with ``source_id`` (validated at load time)."""
        for src in self.sources:
            if src.id == source_id:
                return src
        raise KeyError(source_id)  # unreachable for a loaded guideline


def cite(citation: Citation, g: Guideline, *, verification: bool = False) -> str:
    """The one citation format: e.g. ``ADA 2026, Recommendation 12.17 (grade B)``.

    With ``verification``, the verification status joins the grade: ``(grade B; primary)``.
    """
    try:
        short = g.source(citation.source).short()
    except KeyError:  # a guideline being validated may name an unknown source
        short = citation.source
    notes = [f"grade {citation.grade}"] if citation.grade else []
    if verification:
        notes.append(citation.verification.status.value)
    return f"{short}, {citation.locator}" + (f" ({'; '.join(notes)})" if notes else "")


def short_citation(rule: Rule, g: Guideline) -> str:
    """The citation of a rule's first (governing) quote, for reports, dose verdicts and calculator results."""
    return cite(rule.citations[0], g)


def is_urgent(rule: Rule) -> bool:
    """True for an emergency or urgent referral, or any rule reported among the red flags.

    Such a rule is always evaluated: while in review it is shown as not yet verified, never hidden.
    """
    if isinstance(rule, ReferralRule) and rule.urgency in (Urgency.EMERGENCY, Urgency.URGENT):
        return True
    return rule.section == "red-flags"
