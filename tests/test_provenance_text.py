"""Issue 15: user-facing text says how a quote was checked in plain words, never internal research artefacts.

Released guideline files are immutable, so superseded versions keep their original notes (visible only in
version histories); every version in force, every rule page and every report must be clean.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import neuroguide as ng
from neuroguide import model as m
from neuroguide._docgen import generate
from neuroguide._loading import catalog
from neuroguide.report import render_rule, render_text

BANNED = re.compile(r"github|file id|language-model|extraction|find_string|read_file|find_files|cfowla", re.I)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string reachable from a model object, with its path."""
    if isinstance(value, str):
        yield path, value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _strings(getattr(value, field.name), f"{path}.{field.name}")
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}[{k!r}]")


def _in_force() -> list[m.Guideline]:
    return [ng.load_guideline(info.id) for info in ng.list_guidelines() if info.status is m.Status.APPROVED]


def test_no_user_facing_guideline_string_names_research_artefacts() -> None:
    found = [
        f"{g.id} {g.version}{path}: {text[:120]}"
        for g in {(g.id, g.version): g for g in _in_force()}.values()
        for path, text in _strings(g)
        if BANNED.search(text)
    ]
    assert found == []


def test_rule_pages_are_clean() -> None:
    for g in _in_force():
        for rule in g.rules:
            assert not BANNED.search(render_rule(g, rule)), (g.id, rule.id)


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_example_reports_are_clean(name: str) -> None:
    result = ng.assess(ng.Patient.from_json(EXAMPLES / f"{name}.json"), as_of=dt.date(2026, 11, 30))
    assert not BANNED.search(render_text(result))


def test_the_index_counts_primary_and_secondary_verifications() -> None:
    """docs/index.md states the counts; they must match the approved rules in force."""
    counts = {"primary": 0, "secondary": 0, "unverified": 0}
    rules = 0
    for g in {g.id: g for g in _in_force()}.values():
        for rule in g.rules:
            if rule.status is not m.Status.APPROVED:
                continue
            rules += 1
            statuses = {c.verification.status.value for c in rule.citations}
            best = "primary" if "primary" in statuses else "secondary" if "secondary" in statuses else "unverified"
            counts[best] += 1
    index = (Path(__file__).resolve().parents[1] / "docs" / "index.md").read_text(encoding="utf-8")
    assert "_generated/snippets/verification-counts.md" in index  # the front page shows the generated counts
    snippet = generate(catalog()).page("snippets/verification-counts.md").text
    assert f"{rules} approved rules in force" in snippet
    assert f"{counts['primary']} rest on at least one quote checked in the primary source" in snippet
    assert f"{counts['secondary']} only on a named secondary reproduction" in snippet
    assert counts["unverified"] == 0  # an approved rule never rests on an unverified quote
