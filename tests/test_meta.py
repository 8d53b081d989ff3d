"""Meta-tests: every approved rule is tested and cited; every number is pinned."""

from __future__ import annotations

import re
from pathlib import Path

import neuroguide as ng
from neuroguide import _loading
from neuroguide import model as m

_MARKER = re.compile(r"""rule\(\s*["']([a-z0-9-]+)["']""")


def _tested_rule_ids() -> set[str]:
    ids: set[str] = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        ids.update(_MARKER.findall(path.read_text(encoding="utf-8")))
    return ids


def test_every_approved_rule_has_a_test_naming_it() -> None:
    tested = _tested_rule_ids()
    untested = sorted(
        f"{g.id} {g.version}: {r.id}"
        for g in _loading.catalog().all()
        for r in g.rules
        if r.status is m.Status.APPROVED and r.id not in tested
    )
    assert untested == [], "approved rules without a test marked @pytest.mark.rule(id): " + ", ".join(untested)


def test_every_rule_is_cited_with_a_quote_and_verification() -> None:
    for g in _loading.catalog().all():
        for rule in g.rules:
            assert rule.citations, rule.id
            for cite in rule.citations:
                assert cite.quote.strip(), rule.id
                assert g.source(cite.source)
                if rule.status is m.Status.APPROVED:
                    assert cite.verification.status in (m.VerificationStatus.PRIMARY, m.VerificationStatus.SECONDARY)


def test_in_review_rules_say_why_and_are_not_evaluated_by_default() -> None:
    for g in _loading.catalog().all():
        for rule in g.rules:
            if rule.status is m.Status.IN_REVIEW:
                assert rule.review_note, rule.id


def test_every_guideline_source_is_cited_or_documented() -> None:
    for g in _loading.catalog().all():
        cited = {c.source for r in g.rules for c in r.citations} | {n.source for n in g.changes if n.source}
        assert cited <= {s.id for s in g.sources}


def test_list_guidelines_matches_the_catalog() -> None:
    rows = ng.list_guidelines()
    assert {(r.id, r.version) for r in rows} == {(g.id, g.version) for g in _loading.catalog().all()}
    assert all(len(r.sha256) == 64 for r in rows)
