"""FHIR R4 knowledge artifacts: each guideline version as Library, PlanDefinition and ActivityDefinitions.

Other clinical decision support platforms register knowledge as FHIR Clinical
Reasoning resources with the lifecycle metadata of the Canonical Resource
Management Infrastructure (CRMI): canonical ``url`` + ``version``, ``status``,
``effectivePeriod``, ``approvalDate`` and ``lastReviewDate``. Per guideline version:

* a **Library** holding the guideline file itself (``application/toml``, base64) and a
  ``relatedArtifact`` citation for every source;
* a **PlanDefinition** (type ``eca-rule``) with one action per rule: the statement as
  ``description``, the action text as ``textEquivalent``, the criterion as an
  ``applicability`` condition, the screening interval as ``timingTiming``, the
  citations (quote, locator, DOI) and the rule's documentation page as
  the action's ``documentation`` (RelatedArtifact); an orderable action points at its ActivityDefinition;
* an **ActivityDefinition** (kind ``ServiceRequest``) for each work-up, referral and
  screening rule: things a clinician orders.

Conditions are written in neuroguide's own criteria language, media type
``text/x-neuroguide-criteria``, as produced by :func:`neuroguide.audit.describe_criterion`:
fact names from the vocabulary, comparisons ``fact op value`` with units
(``abi <= 0.9``, ``crcl < 30 mL/min``), ``in [a, b]`` for categories, combined with
``AND``, ``OR``, ``NOT`` and parentheses. A fact that is not recorded is unknown, never
false (three-valued logic). The same condition is given as plain English in
``description``. No terminology codes are invented: ``code`` carries text only.

Status mapping (neuroguide lifecycle to FHIR PublicationStatus): approved -> active,
in-review and draft -> draft, retired -> retired. ``approvalDate``/``lastReviewDate``
are only written when a site overlay records a decision for the version.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import audit as a
from . import model as m
from . import site as s
from ._docgen_md import rule_page_path
from ._loading import Catalog, catalog
from .exceptions import InputError

__all__ = ["CRITERIA_LANGUAGE", "DEFAULT_BASE", "export", "guideline_resources"]

CRITERIA_LANGUAGE = "text/x-neuroguide-criteria"
DEFAULT_BASE = "http://neuroguide.invalid/fhir"
"""A base under the reserved ``.invalid`` domain: a site publishing the artifacts passes its own ``base``."""

_STATUS = {
    m.Status.APPROVED: "active",
    m.Status.IN_REVIEW: "draft",
    m.Status.DRAFT: "draft",
    m.Status.RETIRED: "retired",
}
_UNIT = {"year": "a", "month": "mo", "week": "wk", "day": "d"}
_ORDERABLE = (m.WorkupRule, m.ReferralRule, m.ScreeningRule)


def _fid(*parts: str) -> str:
    """A FHIR resource id: letters, digits, '-' and '.', at most 64 characters."""
    text = "-".join(parts).replace("_", "-")
    return "".join(ch for ch in text if ch.isalnum() or ch in "-.")[:64]


def _timing(period: m.Period) -> dict[str, Any]:
    return {"repeat": {"frequency": 1, "period": period.count, "periodUnit": _UNIT[period.unit]}}


def _source_artifact(src: m.Source) -> dict[str, Any]:
    art: dict[str, Any] = {
        "type": "citation",
        "label": src.short(),
        "display": src.title,
        "citation": f"{', '.join(src.authors)}. {src.title}. {src.journal or src.publisher or ''} {src.year}."
        + (f" doi:{src.doi}" if src.doi else "")
        + (f" PMID {src.pmid}" if src.pmid else ""),
    }
    if src.doi:
        art["url"] = f"https://doi.org/{src.doi}"
    elif src.url:
        art["url"] = src.url
    return art


def _meta(g: m.Guideline, base: str, kind: str, name: str, site: s.Site | None, end: dt.date | None) -> dict[str, Any]:
    period: dict[str, str] | None = {"start": g.effective.isoformat()}
    if end is not None and end < g.effective:
        # A corrected version took effect on the same date: this one never governed a day of its own.
        period = None
    elif end is not None and period is not None:
        period["end"] = end.isoformat()
    out: dict[str, Any] = {
        "url": f"{base}/{kind}/{name}",
        "version": g.version,
        "name": "".join(p.capitalize() for p in name.replace(".", "-").split("-")),
        "status": _STATUS[g.status],
        "experimental": g.status is not m.Status.APPROVED,
        "publisher": "neuroguide",
        **({"effectivePeriod": period} if period is not None else {}),
    }
    decisions = [d for d in (site.decisions if site else ()) if d.guideline == g.id and d.version == g.version]
    whole = [d for d in decisions if d.rule is None and d.decision is not s.DecisionKind.DISABLE]
    if whole:
        out["approvalDate"] = min(d.date for d in whole).isoformat()
    if decisions:
        out["lastReviewDate"] = max(d.date for d in decisions).isoformat()
    return out


def _criterion_condition(kind: str, c: m.Criterion, label: str) -> dict[str, Any]:
    text = a.describe_criterion(c)
    return {
        "kind": kind,
        "expression": {
            "language": CRITERIA_LANGUAGE,
            "expression": text,
            "description": f"{label}: {text} (a fact not recorded is unknown, never false)",
        },
    }


def _action(g: m.Guideline, rule: m.Rule, base: str, docs: str, activity: str | None) -> dict[str, Any]:
    act: dict[str, Any] = {
        "id": _fid(rule.id),
        "title": rule.title,
        "description": rule.statement
        if rule.status is m.Status.APPROVED
        else f"NOT YET VERIFIED (rule {rule.status.value} upstream): {rule.statement}",
    }
    text = getattr(rule, "action", None) or getattr(rule, "caution", None)
    if isinstance(text, str):
        act["textEquivalent"] = text
    conditions = []
    applies = getattr(rule, "applies", None)
    if applies is not None:
        conditions.append(_criterion_condition("applicability", applies, "applies when"))
    when = getattr(rule, "when", None)
    if when is not None and not isinstance(rule, m.ClassificationRule):
        conditions.append(_criterion_condition("applicability", when, "fires when"))
    if conditions:
        act["condition"] = conditions
    if isinstance(rule, m.ScreeningRule):
        act["timingTiming"] = _timing(rule.interval)
    elif isinstance(rule, m.WorkupRule) and rule.repeat is not None:
        act["timingTiming"] = _timing(rule.repeat)
    if isinstance(rule, m.ReferralRule) and rule.urgency in (m.Urgency.EMERGENCY, m.Urgency.URGENT):
        act["priority"] = "stat" if rule.urgency is m.Urgency.EMERGENCY else "urgent"
    related = []
    for c in rule.citations:
        src = g.source(c.source)
        art = _source_artifact(src)
        art["display"] = m.cite(c, g, verification=True)
        art["citation"] = f'"{c.quote}" ({c.locator}); ' + art["citation"]
        related.append(art)
    related.append(
        {
            "type": "documentation",
            "display": f"neuroguide rule page: {rule.id}",
            "url": f"{docs}/{rule_page_path(g.id, rule.id).removesuffix('.md')}.html",
        }
    )
    act["documentation"] = related  # R4: an action's related artifacts are its documentation
    if activity is not None:
        act["definitionCanonical"] = f"{activity}|{g.version}"
    return act


def guideline_resources(
    g: m.Guideline,
    *,
    content: bytes,
    site: s.Site | None = None,
    base: str = DEFAULT_BASE,
    docs: str = "https://neuroguide.invalid/docs",
    superseded_on: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The FHIR resources of one guideline version (Library, PlanDefinition, ActivityDefinitions), as JSON data.

    Args:
        g: the guideline version.
        content: the guideline file's bytes (embedded in the Library).
        site: a site overlay (approvalDate, lastReviewDate).
        base: the canonical base URL.
        docs: the base URL of the rule documentation pages.
        superseded_on: the next version's effective date (ends the effective period the day before).

    """
    end = superseded_on - dt.timedelta(days=1) if superseded_on is not None else None
    lib_name = g.id
    library = {
        "resourceType": "Library",
        "id": _fid(g.id, g.version),
        **_meta(g, base, "Library", lib_name, site, end),
        "title": f"{g.title} (neuroguide rules)",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "description": g.summary,
        "relatedArtifact": [_source_artifact(src) for src in g.sources],
        "content": [
            {
                "contentType": "application/toml",
                "title": f"{g.path} (sha256 {g.sha256})",
                "data": base64.b64encode(content).decode("ascii"),
            }
        ],
    }
    out: list[dict[str, Any]] = [library]
    actions = []
    for rule in g.rules:
        activity = None
        if isinstance(rule, _ORDERABLE):
            name = _fid(g.id, rule.id)
            meta = _meta(g, base, "ActivityDefinition", name, site, end)
            meta["status"] = _STATUS[rule.status] if g.status is m.Status.APPROVED else meta["status"]
            ad: dict[str, Any] = {
                "resourceType": "ActivityDefinition",
                "id": _fid(g.id, g.version, rule.id),
                **meta,
                "title": rule.title,
                "description": rule.statement,
                "kind": "ServiceRequest",
                "intent": "proposal",
                "code": {"text": _order_text(rule)},
                "library": [f"{library['url']}|{g.version}"],
            }
            if isinstance(rule, m.ScreeningRule):
                ad["timingTiming"] = _timing(rule.interval)
            if isinstance(rule, m.ReferralRule) and rule.urgency in (m.Urgency.EMERGENCY, m.Urgency.URGENT):
                ad["priority"] = "stat" if rule.urgency is m.Urgency.EMERGENCY else "urgent"
            out.append(ad)
            activity = str(meta["url"])
        actions.append(_action(g, rule, base, docs, activity))
    plan = {
        "resourceType": "PlanDefinition",
        "id": _fid(g.id, g.version),
        **_meta(g, base, "PlanDefinition", g.id, site, end),
        "title": g.title,
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type", "code": "eca-rule"}]
        },
        "description": g.summary,
        "library": [f"{library['url']}|{g.version}"],
        "relatedArtifact": [_source_artifact(src) for src in g.sources],
        "action": actions,
    }
    out.insert(1, plan)
    return out


def _order_text(rule: m.Rule) -> str:
    if isinstance(rule, m.WorkupRule):
        return "; ".join(rule.tests)
    if isinstance(rule, m.ReferralRule):
        return f"Referral to {rule.to}"
    if isinstance(rule, m.ScreeningRule):
        return rule.title
    return rule.title  # pragma: no cover - only orderable kinds get here


def export(
    folder: Path,
    *,
    source: Catalog | None = None,
    site: s.Site | None = None,
    base: str = DEFAULT_BASE,
) -> list[Path]:
    """Write every guideline version's resources as ``<ResourceType>-<id>.json`` into ``folder``.

    Returns:
        The files written.

    Raises:
        InputError: the folder cannot be created or written.

    """
    cat = source if source is not None else catalog()
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for gid in cat.ids():
            versions = cat.versions(gid)
            nxt: Mapping[str, dt.date] = {v.version: w.effective for v, w in itertools.pairwise(versions)}
            for g in versions:
                content = cat.root.joinpath(*g.path.split("/")).read_bytes()
                for res in guideline_resources(
                    g, content=content, site=site, base=base, superseded_on=nxt.get(g.version)
                ):
                    path = folder / f"{res['resourceType']}-{res['id']}.json"
                    path.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
                    written.append(path)
    except OSError as exc:
        raise InputError("--output", str(folder), f"a writable folder ({exc.strerror})") from None
    return written
