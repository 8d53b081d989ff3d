"""Shared test configuration: hypothesis profiles, the evaluation date and a tiny two-version catalog."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from neuroguide import _loading

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _rule_in_junit(request: pytest.FixtureRequest, record_testsuite_property: Any) -> None:
    """Name each rule test's rule in the JUnit XML (``rule`` suite properties), for the sign-off packet."""
    for mark in request.node.iter_markers("rule"):
        if mark.args:
            record_testsuite_property("rule", f"{mark.args[0]} {request.node.nodeid}")


@pytest.fixture
def as_of() -> dt.date:
    """The evaluation date used across tests (the library never reads the clock)."""
    return AS_OF


# -- a tiny catalog in a temporary folder ----------------------------------------------------------

_TINY = """\
id = "tiny-guide"
title = "Tiny guideline"
version = "{version}"
effective = {effective}
status = "approved"
summary = "A one-rule guideline for the documentation tests."
{supersedes}

[sources.src-a]
authors = ["Doe J", "Roe R"]
title = "A source"
journal = "J Test"
year = 2026
label = "Doe 2026"
doi = "10.0000/test"

[[rules]]
id = "tiny-rule"
kind = "consideration"
title = "Consider something"
statement = "Consider X when there is numbness and no weakness."
when = {{ all = ["numbness", {{ not = "weakness" }}] }}
action = "{action}"

[[rules.citations]]
source = "src-a"
locator = "p. 1"
quote = "Consider X | *when* numbness [sic]."
grade = "B"
verification = {{ status = "primary", via = "the test itself", checked = 2026-11-23 }}

[[rules.deviations]]
seed = "Seed says Y."
governs = "Source says X."
{changes}
"""


def _write_tiny(root: Path) -> Path:
    folder = root / "guidelines" / "tiny-guide"
    folder.mkdir(parents=True)
    (folder / "2025.1.toml").write_text(
        _TINY.format(version="2025.1", effective="2025-01-01", supersedes="", action="Consider X.", changes=""),
        encoding="utf-8",
    )
    changes = '[[changes]]\nrule = "tiny-rule"\nwhat = "Action reworded"\nwhy = "Clearer."\nsource = "src-a"\n'
    (folder / "2026.1.toml").write_text(
        _TINY.format(
            version="2026.1",
            effective="2026-01-01",
            supersedes='supersedes = "2025.1"',
            action="Consider X now.",
            changes=changes,
        ),
        encoding="utf-8",
    )
    return root / "guidelines"


@pytest.fixture
def tiny_catalog(tmp_path: Path) -> _loading.Catalog:
    """A one-rule guideline in two versions (2025.1, 2026.1), written to a temporary folder."""
    return _loading.Catalog(_write_tiny(tmp_path), allow_unlocked=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--rule-id",
        action="append",
        default=[],
        help="keep only tests marked rule(ID) (repeatable), plus the example tests; used by `nox -s mutate`",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("--rule-id"))
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        ids = {mark.args[0] for mark in item.iter_markers("rule") if mark.args}
        if ids & wanted or item.path.name == "test_examples.py":
            keep.append(item)
        else:
            drop.append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)
