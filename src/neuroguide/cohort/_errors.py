"""Errors of the cohort interface: bad input, named precisely (``InputError``), and a Dask worker unlike its client."""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import InputError, NeuroguideError, install_hint

__all__ = ["BadRowsError", "MissingExtraError", "SchemaError", "WorkerMismatchError"]


class SchemaError(InputError):
    """One or more columns of a cohort table cannot be used; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[tuple[str, str, str]]) -> None:
        self.problems = tuple(problems)
        lines = "; ".join(f"{col}: got {got}; expected {want}" for col, got, want in self.problems)
        super().__init__("columns", f"{len(self.problems)} bad column(s)", lines)

    def __reduce__(self) -> tuple[type[SchemaError], tuple[tuple[tuple[str, str, str], ...]]]:  # type: ignore[override]
        return (type(self), (self.problems,))


class BadRowsError(InputError):
    """More rows than allowed had impossible values: the run stops with a summary.

    ``errors`` is the errors table written before stopping (a file run), where every bad cell is listed.
    """

    def __init__(self, bad: int, rows: int, limit: float, summary: str, errors: str = "") -> None:
        self.bad, self.rows, self.limit, self.summary, self.errors = bad, rows, limit, summary, errors
        share = bad / rows if rows else 0.0
        where = f"; every bad cell is listed in {errors}" if errors else ""
        super().__init__(
            "rows",
            f"{bad} of {rows} rows bad ({share:.1%})",
            f"at most {limit:.1%} bad rows; {summary}".rstrip("; ") + where,
        )

    def __reduce__(self) -> tuple[type[BadRowsError], tuple[int, int, float, str, str]]:  # type: ignore[override]
        return (type(self), (self.bad, self.rows, self.limit, self.summary, self.errors))


class MissingExtraError(InputError, ImportError):
    """The optional dependencies of the cohort interface are not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__("install", module, f"the {extra!r} extra: {install_hint(extra)}")

    def __reduce__(self) -> tuple[type[MissingExtraError], tuple[str, str]]:  # type: ignore[override]
        return (type(self), (str(self.value), self.expected.split("'")[1]))


class WorkerMismatchError(NeuroguideError, RuntimeError):
    """A Dask worker has another neuroguide or other guideline files than the client: its partition is refused.

    Each worker chooses the rules from its own installation, while every results file carries the client's
    provenance (package, guideline versions and hashes); a difference would make that provenance untrue.
    """

    def __init__(self, worker: str, item: str, client: str, found: str) -> None:
        self.worker, self.item, self.client, self.found = worker, item, client, found
        super().__init__(
            f"worker {worker or '(this process)'}: {item} is {found}, the client's is {client}; install the same "
            "neuroguide and guideline files on every worker"
        )

    def __reduce__(self) -> tuple[type[WorkerMismatchError], tuple[str, str, str, str]]:
        return (type(self), (self.worker, self.item, self.client, self.found))
