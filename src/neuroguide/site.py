"""Site governance overlay: what one hospital decided about each guideline version and rule.

The package ships rules with an upstream lifecycle status (approved, in review...)
but no local approvals: it cannot know who at a given hospital accepted a rule.
A site records that in its own TOML file, outside the package::

    [site]
    id = "example-test-hospital"
    name = "Example Test Hospital"

    [[decisions]]
    guideline = "ada-neuropathy"
    version = "2026.1"
    rule = "dpn-screening"          # omit to decide for the whole guideline version
    decision = "adopt"              # adopt | adopt-with-note | disable | approve-locally
    approver = "Test Approver"
    role = "Chair, clinical decision support committee"
    date = 2026-11-02
    scope = "Adult diabetes outpatient clinics"
    review_due = 2027-11-02
    note = "..."                    # adopt-with-note: shown with every recommendation of the rule
    reason = "..."                  # disable and approve-locally: why

:func:`load_site` validates the file like a guideline file (every problem at once,
each with its key path) and against the catalog it will be applied to.
``assess(..., site=...)`` applies it and stamps the record with the file's sha256.

Safety: a site may not disable an urgent or emergency rule (:func:`neuroguide.model.is_urgent`),
nor a whole guideline version that holds one. Such a rule is never hidden; a site that
handles it through a local pathway records ``adopt-with-note``, and the note is shown
with every recommendation the rule makes. A rule locally approved while in review
upstream keeps its upstream status in the record and the report (``in-review``), with
the local approval stated beside it.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs

from . import model as m
from ._converter import converter, format_errors
from ._loading import Catalog, catalog
from .exceptions import InputError, Problem, SiteDataError
from .patient import Flag, FlagKind
from .results import SiteStamp

__all__ = [
    "NO_SIGNOFF",
    "Decision",
    "DecisionKind",
    "ReviewState",
    "SignoffReport",
    "SignoffRow",
    "Site",
    "SiteInfo",
    "load_site",
    "parse_site",
    "signoff",
]

NO_SIGNOFF = "no site sign-off recorded"


class DecisionKind(enum.StrEnum):
    """What a site decided about a guideline version or one rule."""

    ADOPT = "adopt"
    ADOPT_WITH_NOTE = "adopt-with-note"
    DISABLE = "disable"
    APPROVE_LOCALLY = "approve-locally"
    """Use a rule that is still in review upstream, on the site's own responsibility."""


@attrs.frozen(kw_only=True)
class SiteInfo:
    """The site the overlay belongs to."""

    id: str
    name: str


@attrs.frozen(kw_only=True)
class Decision:
    """One sign-off: who decided what, when, for which scope, and when it must be reviewed again."""

    guideline: str
    version: str
    rule: str | None = None
    decision: DecisionKind
    approver: str
    role: str
    date: dt.date
    scope: str
    review_due: dt.date
    note: str | None = None
    reason: str | None = None

    def describe(self, site: str) -> str:
        """One line for reports: e.g. ``Adopted at Example Test Hospital by Test Approver (Chair), 2026-11-02``."""
        word = {
            DecisionKind.ADOPT: "Adopted",
            DecisionKind.ADOPT_WITH_NOTE: "Adopted with a note",
            DecisionKind.DISABLE: "Disabled",
            DecisionKind.APPROVE_LOCALLY: "Locally approved while in review upstream",
        }[self.decision]
        return (
            f"{word} at {site} by {self.approver} ({self.role}) on {self.date.isoformat()}; scope: {self.scope}; "
            f"review due {self.review_due.isoformat()}"
        )


@attrs.frozen(kw_only=True)
class Site:
    """A validated site overlay. ``sha256`` is the digest of the file's bytes (stamped in records)."""

    site: SiteInfo
    decisions: tuple[Decision, ...] = ()
    sha256: str = ""
    path: str = ""

    def decision(self, guideline: str, version: str, rule: str | None = None) -> Decision | None:
        """Return the decision governing a rule (its own, else its guideline version's), or None."""
        found = None
        for d in self.decisions:
            if d.guideline == guideline and d.version == version:
                if rule is not None and d.rule == rule:
                    return d
                if d.rule is None:
                    found = d
        return found

    def stamp(self) -> SiteStamp:
        """What an evaluation record keeps of this overlay."""
        return SiteStamp(id=self.site.id, name=self.site.name, sha256=self.sha256)

    def details(self, guideline: str, version: str, rule: str) -> tuple[str, ...]:
        """Lines shown with each recommendation of a rule: a local approval or a site note."""
        d = self.decision(guideline, version, rule)
        if d is None:
            return ()
        if d.decision is DecisionKind.APPROVE_LOCALLY:
            return (f"{d.describe(self.site.name)}. Reason: {d.reason}",)
        if d.decision is DecisionKind.ADOPT_WITH_NOTE:
            return (f"Site note ({self.site.name}, {d.approver}, {d.date.isoformat()}): {d.note}",)
        return ()

    def disabled(self, guideline: str, version: str, rule: str) -> Decision | None:
        """The decision that disables a rule, or None."""
        d = self.decision(guideline, version, rule)
        return d if d is not None and d.decision is DecisionKind.DISABLE else None

    def not_applied(self, used: Mapping[str, str]) -> tuple[Flag, ...]:
        """A visible flag for each decision about a guideline used here that names another version of it.

        Decisions are made per guideline version, so a decision for an older (or a later) version does not
        govern the version an assessment uses: it is not applied, and the assessment says so rather than
        dropping it silently.

        Args:
            used: guideline id -> the version the assessment uses.

        """
        flags = []
        for d in self.decisions:
            version = used.get(d.guideline)
            if version is None or version == d.version:
                continue
            target = f"{d.guideline} {d.version}" + (f", rule {d.rule}" if d.rule else " (whole version)")
            flags.append(
                Flag(
                    field=f"site {self.site.id}: {d.guideline} {d.version}" + (f" {d.rule}" if d.rule else ""),
                    kind=FlagKind.SITE_DECISION_NOT_APPLIED,
                    value=d.decision.value,
                    message=f"the site decision '{d.decision.value}' of {self.site.name} for {target} "
                    f"(by {d.approver}, {d.date.isoformat()}) is not applied: this assessment uses {d.guideline} "
                    f"{version}. The site must decide on {d.guideline} {version} (see `neuroguide audit signoff`).",
                )
            )
        return tuple(flags)

    def approves_locally(self, guideline: str, version: str, rule: str) -> bool:
        """True when the site approved this in-review rule for local use."""
        d = self.decision(guideline, version, rule)
        return d is not None and d.decision is DecisionKind.APPROVE_LOCALLY


# -- loading and validation ------------------------------------------------------------------


def load_site(path: Path | str, *, source: Catalog | None = None) -> Site:
    """Read and validate a site overlay file.

    Args:
        path: the TOML file.
        source: the catalog the overlay will be applied to (the packaged one by default).

    Returns:
        The :class:`Site`, with the file's sha256.

    Raises:
        InputError: the file cannot be read.
        SiteDataError: listing every problem, each with its key path.

    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError("site", str(path), f"a readable site overlay file ({exc.strerror})") from None
    return parse_site(data, file.name, source=source)


def parse_site(data: bytes, name: str = "site.toml", *, source: Catalog | None = None) -> Site:
    """Validate a site overlay's bytes (see :func:`load_site`)."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SiteDataError([Problem(name, "$", f"not valid TOML: {exc}")]) from None
    try:
        site = converter.structure(raw, Site)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise SiteDataError([Problem(name, path, msg) for path, msg in format_errors(exc)]) from None
    problems = [Problem(name, path, msg) for path, msg in _check(site, source if source is not None else catalog())]
    if problems:
        raise SiteDataError(problems)
    return attrs.evolve(site, sha256=hashlib.sha256(data).hexdigest(), path=name)


def _structure_site(value: Any, _: object) -> Site:
    if not isinstance(value, dict):
        raise ValueError("a site overlay must be a TOML table")
    for key in ("sha256", "path"):
        if key in value:
            raise ValueError(f"{key}: computed from the file, not written in it")
    return _structure_site_fields(value, Site)


_structure_site_fields = cattrs.gen.make_dict_structure_fn(Site, converter, _cattrs_forbid_extra_keys=True)
converter.register_structure_hook(Site, _structure_site)

_TEXT = ("approver", "role", "scope")


def _check(site: Site, cat: Catalog) -> Iterable[tuple[str, str]]:
    """Checks against the catalog and between decisions (structure is already valid)."""
    if not site.site.id.strip() or not site.site.name.strip():
        yield "$.site", "id and name must not be empty"
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, d in enumerate(site.decisions):
        at = f"$.decisions[{i}]"
        for field in _TEXT:
            if not str(getattr(d, field)).strip():
                yield f"{at}.{field}", "must not be empty: a sign-off names who decided, in which role, for what"
        if d.review_due <= d.date:
            yield f"{at}.review_due", f"got {d.review_due.isoformat()}; expected a date after {d.date.isoformat()}"
        key = (d.guideline, d.version, d.rule)
        if key in seen:
            yield at, f"a second decision for the same target as decisions[{seen[key]}]: conflicts are not resolved"
        seen.setdefault(key, i)
        yield from _check_text(d, at)
        try:
            g = cat.get(d.guideline, version=d.version)
        except LookupError:
            yield f"{at}.version", f"no guideline {d.guideline!r} version {d.version!r} in the catalog"
            continue
        yield from _check_target(d, g, at)


def _check_text(d: Decision, at: str) -> Iterable[tuple[str, str]]:
    if d.decision is DecisionKind.ADOPT_WITH_NOTE and not (d.note or "").strip():
        yield f"{at}.note", "adopt-with-note needs the note to show with the rule's recommendations"
    if d.decision in (DecisionKind.DISABLE, DecisionKind.APPROVE_LOCALLY) and not (d.reason or "").strip():
        yield f"{at}.reason", f"{d.decision.value} needs a reason"
    if d.note is not None and d.decision is not DecisionKind.ADOPT_WITH_NOTE:
        yield f"{at}.note", f"a note is only shown for adopt-with-note (this decision is {d.decision.value})"


def _check_target(d: Decision, g: m.Guideline, at: str) -> Iterable[tuple[str, str]]:
    if d.rule is None:
        if d.decision is DecisionKind.APPROVE_LOCALLY:
            yield f"{at}.decision", "approve-locally is decided rule by rule, never for a whole guideline version"
        urgent = [r.id for r in g.rules if m.is_urgent(r)]
        if d.decision is DecisionKind.DISABLE and urgent:
            yield (
                f"{at}.decision",
                f"{d.guideline} {d.version} holds urgent rules ({', '.join(urgent)}), which a site may not disable; "
                "disable its other rules one by one",
            )
        return
    try:
        rule = g.rule(d.rule)
    except LookupError:
        yield f"{at}.rule", f"no rule {d.rule!r} in {d.guideline} {d.version}"
        return
    if d.decision is DecisionKind.DISABLE and m.is_urgent(rule):
        yield (
            f"{at}.decision",
            f"rule {rule.id} is urgent (emergency/urgent referral or red flag) and may not be disabled: an urgent "
            "rule is never hidden. Record adopt-with-note naming the local pathway instead",
        )
    if d.decision is DecisionKind.APPROVE_LOCALLY and rule.status is not m.Status.IN_REVIEW:
        yield (
            f"{at}.decision",
            f"approve-locally applies to rules in review; rule {rule.id} is {rule.status.value} upstream"
            + (" (use adopt)" if rule.status is m.Status.APPROVED else ""),
        )


# -- sign-off listing -----------------------------------------------------------------------


class ReviewState(enum.StrEnum):
    """Where a rule stands in the site's review cycle on a given date."""

    NO_SIGNOFF = "no-signoff"
    CURRENT = "current"
    DUE = "due"
    """The review falls due within the window asked for."""
    OVERDUE = "overdue"


@attrs.frozen(kw_only=True)
class SignoffRow:
    """One rule of a guideline version in effect, with the decision that governs it (if any)."""

    guideline: str
    version: str
    rule: str
    title: str
    upstream_status: m.Status
    urgent: bool
    decision: Decision | None
    inherited: bool
    """True when the decision was made for the whole guideline version."""
    review: ReviewState
    text: str


@attrs.frozen(kw_only=True)
class SignoffReport:
    """What a site adopted, disabled and must review again, as of one date."""

    as_of: dt.date
    due_within_days: int
    site: SiteStamp | None
    rows: tuple[SignoffRow, ...]
    stale: tuple[Decision, ...]
    """Decisions for guideline versions not in effect on ``as_of`` (superseded or not yet in effect)."""

    def count(self, state: ReviewState | str) -> int:
        """Number of rules in a review state."""
        return sum(1 for r in self.rows if r.review == ReviewState(state))


def signoff(site: Site | None, *, as_of: dt.date, source: Catalog | None = None, due_within: int = 90) -> SignoffReport:
    """List every rule of the guideline versions in effect on ``as_of`` with its site decision.

    Args:
        site: the overlay; None lists every rule as having no site sign-off.
        as_of: the date the review states are computed for (the library never reads the clock).
        source: a catalog other than the packaged one.
        due_within: a review falling due within this many days is ``due``.

    Returns:
        A :class:`SignoffReport`: rules with no sign-off, current, due or overdue for review.

    """
    cat = source if source is not None else catalog()
    rows: list[SignoffRow] = []
    covered: set[tuple[str, str]] = set()
    for g in cat.in_effect(as_of):
        covered.add((g.id, g.version))
        for r in g.rules:
            d = site.decision(g.id, g.version, r.id) if site is not None else None
            review = ReviewState.NO_SIGNOFF
            if d is not None:
                days = (d.review_due - as_of).days
                review = (
                    ReviewState.OVERDUE if days < 0 else ReviewState.DUE if days <= due_within else ReviewState.CURRENT
                )
            text = NO_SIGNOFF if d is None or site is None else d.describe(site.site.name)
            if d is not None and d.rule is None and r.status is not m.Status.APPROVED:
                # Adopting a version adopts it as shipped: its rules in review stay unused unless approved locally.
                text += f"; this rule is {r.status.value} upstream and is not used unless approved locally"
            rows.append(
                SignoffRow(
                    guideline=g.id,
                    version=g.version,
                    rule=r.id,
                    title=r.title,
                    upstream_status=r.status,
                    urgent=m.is_urgent(r),
                    decision=d,
                    inherited=d is not None and d.rule is None,
                    review=review,
                    text=text,
                )
            )
    stale = tuple(d for d in (site.decisions if site else ()) if (d.guideline, d.version) not in covered)
    return SignoffReport(
        as_of=as_of,
        due_within_days=due_within,
        site=site.stamp() if site is not None else None,
        rows=tuple(rows),
        stale=stale,
    )
