"""Dates given as text: one reading for every input (guideline data, patients, records)."""

from __future__ import annotations

import datetime as dt

__all__ = ["as_date"]


def as_date(value: object) -> dt.date | None:
    """Return ``value`` as a date (a date, or an ISO ``YYYY-MM-DD`` string), else None."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None
