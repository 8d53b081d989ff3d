"""Shared test configuration: hypothesis profiles and the evaluation date."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture
def as_of() -> dt.date:
    """The evaluation date used across tests (the library never reads the clock)."""
    return AS_OF


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
