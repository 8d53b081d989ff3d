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
