"""Looking up guidelines and rules."""

from __future__ import annotations

import datetime as dt

from . import model as m
from ._loading import Catalog, GuidelineInfo, catalog
from .exceptions import UnknownRuleError

__all__ = ["find_rule", "list_guidelines", "load_guideline"]


def list_guidelines(*, source: Catalog | None = None) -> list[GuidelineInfo]:
    """Every guideline version: id, version, title, effective date, status, hash, rule count."""
    cat = source if source is not None else catalog()
    return [
        GuidelineInfo(
            id=g.id,
            version=g.version,
            title=g.title,
            effective=g.effective,
            status=g.status,
            sha256=g.sha256,
            rules=len(g.rules),
        )
        for g in cat.all()
    ]


def load_guideline(
    guideline_id: str,
    *,
    version: str | None = None,
    as_of: dt.date | None = None,
    source: Catalog | None = None,
) -> m.Guideline:
    """Return a guideline: the latest released version, a pinned ``version``, or the one in effect ``as_of``.

    Raises:
        UnknownGuidelineError: no such guideline or version (suggests close names).

    """
    cat = source if source is not None else catalog()
    return cat.get(guideline_id, version=version, as_of=as_of)


def find_rule(
    rule_id: str, *, as_of: dt.date | None = None, source: Catalog | None = None
) -> tuple[m.Guideline, m.Rule]:
    """Find a rule by id in the latest released (or ``as_of``) version of any guideline.

    Raises:
        UnknownRuleError: no guideline has a rule with that id.

    """
    cat = source if source is not None else catalog()
    known: list[str] = []
    for gid in cat.ids():
        try:
            g = cat.get(gid, as_of=as_of)
        except LookupError:
            continue
        for rule in g.rules:
            if rule.id == rule_id:
                return g, rule
            known.append(rule.id)
    raise UnknownRuleError(rule_id, known)
