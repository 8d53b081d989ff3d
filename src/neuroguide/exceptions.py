"""Every error neuroguide raises.

All derive from :class:`NeuroguideError`, and each also derives from the builtin
it resembles, so callers can catch either::

    NeuroguideError
    ├── InputError (ValueError)             bad patient or calculator input
    │   └── UnitError                       a unit string or dimension is wrong
    │       ├── UnknownUnitError            unit not accepted (also LookupError)
    │       └── IncompatibleUnitsError      wrong dimension (also TypeError)
    ├── GuidelineDataError (ValueError)     a guideline file has problems (lists all)
    │   └── SiteDataError                   a site governance overlay has problems (lists all)
    ├── IntegrityError (ValueError)         a released file differs from the lock
    └── NotFoundError (LookupError)
        ├── UnknownGuidelineError
        ├── UnknownRuleError
        ├── UnknownAgentError
        └── NotInEffectError
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "GuidelineDataError",
    "IncompatibleUnitsError",
    "InputError",
    "IntegrityError",
    "NeuroguideError",
    "NotFoundError",
    "NotInEffectError",
    "Problem",
    "SiteDataError",
    "UnitError",
    "UnknownAgentError",
    "UnknownGuidelineError",
    "UnknownRuleError",
    "UnknownUnitError",
]


class NeuroguideError(Exception):
    """Base class of every neuroguide error."""


class InputError(NeuroguideError, ValueError):
    """Bad input: names the field, the value given and what was expected."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: got {value!r}; expected {expected}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, object, str]]:
        return (type(self), (self.field, self.value, self.expected))


class UnitError(InputError):
    """A unit is unknown, ambiguous or of the wrong dimension."""


class UnknownUnitError(UnitError, LookupError):
    """The unit string is not one neuroguide accepts."""


class IncompatibleUnitsError(UnitError, TypeError):
    """The quantity has the wrong dimension for this field."""


@attrs.frozen
class Problem:
    """One problem found in a guideline file: where, and what."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class GuidelineDataError(NeuroguideError, ValueError):
    """A guideline file (or set of files) has problems; all are listed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in guideline data:\n{lines}")

    def __reduce__(self) -> tuple[type[GuidelineDataError], tuple[tuple[Problem, ...]]]:
        return (type(self), (self.problems,))


class SiteDataError(GuidelineDataError):
    """A site governance overlay has problems; all are listed, each with its key path."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        Exception.__init__(self, f"{count} problem{'s' if count != 1 else ''} in the site overlay:\n{lines}")


class IntegrityError(NeuroguideError, ValueError):
    """A released guideline file does not match its pinned sha256."""

    def __init__(self, mismatches: Sequence[tuple[str, str, str]]) -> None:
        self.mismatches = tuple(mismatches)
        lines = "\n".join(f"  - {name}: expected sha256 {exp}, actual {act}" for name, exp, act in self.mismatches)
        super().__init__(f"released guideline files were altered:\n{lines}")


class NotFoundError(NeuroguideError, LookupError):
    """Something looked up by name does not exist; suggests close names."""

    what = "item"

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        self.known = tuple(sorted(set(known)))
        close = difflib.get_close_matches(name.lower(), [k.lower() for k in self.known], n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {self.what} {name!r}{hint}")

    def __reduce__(self) -> tuple[type[NotFoundError], tuple[str, tuple[str, ...]]]:
        return (type(self), (self.name, self.known))


class UnknownGuidelineError(NotFoundError):
    """No guideline (or no such version) with that id."""

    what = "guideline"


class UnknownRuleError(NotFoundError):
    """No rule with that id."""

    what = "rule"


class UnknownAgentError(NotFoundError):
    """No drug of that name, synonym or RxNorm code."""

    what = "drug"


class NotInEffectError(NotFoundError):
    """The item exists, but no guideline version covering it was in effect on the date asked."""

    def __init__(self, name: str, as_of: dt.date) -> None:
        self.name = name
        self.known = ()
        self.as_of = as_of
        LookupError.__init__(
            self, f"no released guideline covering {name!r} was in effect on {as_of.isoformat()} (check --as-of)"
        )

    def __reduce__(self) -> tuple[type[NotInEffectError], tuple[str, dt.date]]:  # type: ignore[override]
        return (type(self), (self.name, self.as_of))
