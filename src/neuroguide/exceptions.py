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
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "GuidelineDataError",
    "IncompatibleUnitsError",
    "InputError",
    "InputProblemsError",
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
    "raise_all",
]


class NeuroguideError(Exception):
    """Base class of every neuroguide error."""


class InputError(NeuroguideError, ValueError):
    """Bad input: names the field, the value given and what was expected."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: got {_shown(value)}; expected {expected}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, object, str]]:
        return (type(self), (self.field, self.value, self.expected))


def install_hint(extra: str) -> str:
    """How to install an optional extra: from a checkout or its wheel, never by name (another package may have it)."""
    return f"pip install '/path/to/neuroguide[{extra}]' from a checkout or a wheel built from it"


def _shown(value: object, limit: int = 200) -> str:
    """The value as the message shows it: its repr, shortened when very long."""
    try:
        text = repr(value)
    except Exception:  # a caller's object whose repr fails must not hide the error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[: limit - 20]}… ({len(text)} characters)"


class InputProblemsError(InputError):
    """Several input problems at once; ``problems`` lists each (field, value, expectation)."""

    def __init__(self, problems: Sequence[InputError]) -> None:
        self.problems = tuple(problems)
        self.field = ", ".join(p.field for p in self.problems)
        self.value = tuple(p.value for p in self.problems)
        self.expected = "; ".join(p.expected for p in self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        Exception.__init__(self, f"{len(self.problems)} problems in the input:\n{lines}")

    def __reduce__(self) -> tuple[type[InputProblemsError], tuple[tuple[InputError, ...]]]:  # type: ignore[override]
        return (type(self), (self.problems,))


def raise_all(problems: Sequence[InputError]) -> None:
    """Raise nothing, the one problem, or :class:`InputProblemsError` listing them all."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputProblemsError(problems)


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
    """A guideline file differs from its pinned sha256, is not pinned, or is missing: nothing is loaded."""

    def __init__(self, mismatches: Sequence[tuple[str, str, str]]) -> None:
        self.mismatches = tuple(mismatches)
        lines = "\n".join(f"  - {_mismatch_line(*row)}" for row in self.mismatches)
        super().__init__(
            f"guideline files do not match their lock; refusing to use them:\n{lines}\n"
            "(guideline authors editing files only: Catalog(..., allow_unlocked=True), "
            "--allow-unlocked or NEUROGUIDE_ALLOW_UNLOCKED=1; the evaluation record then names the files)"
        )

    def __reduce__(self) -> tuple[type[IntegrityError], tuple[tuple[tuple[str, str, str], ...]]]:
        return (type(self), (self.mismatches,))


def _mismatch_line(name: str, expected: str, actual: str) -> str:
    if expected == "(not in lock)":
        return f"{name}: not listed in lock.json (sha256 {actual})"
    if actual == "(file missing)":
        return f"{name}: listed in lock.json but missing"
    return f"{name}: expected sha256 {expected}, actual {actual}"


class NotFoundError(NeuroguideError, LookupError):
    """Something looked up by name does not exist; suggests close names."""

    what = "item"

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        self.known = tuple(sorted(set(known)))
        import difflib  # here: loaded only to suggest a name for one not known

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
