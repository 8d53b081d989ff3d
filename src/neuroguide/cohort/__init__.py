"""Population scale: evaluate a cohort columnarly (optional extra ``cohort``; Dask with ``dask``).

The heavy dependencies (Polars, pyarrow, Dask) are imported only when a function here is called,
so ``import neuroguide`` and the command line stay fast without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._api import CohortResult
    from ._engine import Plan, Undetermined

__all__ = [
    "ABSENT_ONLY_SCHEMA",
    "ERRORS_SCHEMA",
    "NOT_CHECKED_SCHEMA",
    "RESULT_SCHEMA",
    "CohortResult",
    "Plan",
    "Undetermined",
    "evaluate",
    "evaluate_partition",
    "make_plan",
    "merge_absent_only",
    "plain_arrow",
    "read_results",
    "run",
    "spark_ddl",
    "summary_html",
    "synth",
]


def evaluate(table: Any, *, as_of: Any, **options: Any) -> CohortResult:
    """Evaluate a cohort table; see :func:`neuroguide.cohort._api.evaluate`."""
    from ._api import evaluate as _evaluate

    return _evaluate(table, as_of=as_of, **options)


def run(source: Any, output: Any, *, as_of: Any, **options: Any) -> Any:
    """Evaluate a cohort file into a results file; see :func:`neuroguide.cohort._io.run`."""
    from ._io import run as _run

    return _run(source, output, as_of=as_of, **options)


def synth(n: int, *, seed: int = 0, as_of: Any = None) -> Any:
    """A seeded synthetic cohort as a wide table; see :func:`neuroguide.cohort._synth.synth`."""
    from ._synth import synth as _synth

    return _synth(n, seed=seed, as_of=as_of)


def summary_html(results: Any, **options: Any) -> str:
    """A self-contained HTML summary of a results table; see :func:`neuroguide.cohort._html.summary_html`."""
    from ._html import summary_html as _summary

    return _summary(results, **options)


def make_plan(as_of: Any, **options: Any) -> Plan:
    """The guideline versions and rules a cohort run evaluates on ``as_of``, chosen exactly as ``assess`` chooses them.

    Build it once per process and pass it to :func:`evaluate_partition` (options: ``pins``, ``statuses``,
    ``guidelines``, ``source``).
    """
    from ._engine import make_plan as _make_plan

    return _make_plan(as_of, **options)


def evaluate_partition(table: Any, plan: Plan, *, first_row: int, **options: Any) -> Any:
    """The partition function every engine runs (local, Dask, Spark's ``mapInArrow``).

    A Polars frame, pyarrow Table or RecordBatch of wide rows in (options ``units``, ``undetermined``, as for
    :func:`evaluate`); out: the results and errors tables, the absent columns and, per rule, the patients
    undetermined only because of them with the rule's ``kind``, ``urgent`` and ``status`` (``ABSENT_ONLY_SCHEMA``,
    as ``evaluate(...).absent_only``). ``first_row`` numbers the rows in the whole cohort (a ``row`` column of
    whole numbers is kept instead); a table without ``patient_id`` has the row number as each patient's id.
    """
    from ._api import partition

    return partition(table, plan, first_row=first_row, **options)


def merge_absent_only(frames: Any, plan: Plan) -> Any:
    """The absent-only counts of several partitions as one table (patients summed, facts united).

    Each rule keeps its ``kind``, ``urgent`` (a red-flag check) and ``status``, from ``plan``, as
    ``evaluate(...).absent_only`` has them.
    """
    from ._api import merge_partitions

    return merge_partitions(frames, plan)


def plain_arrow(frame: Any, schema: Any) -> Any:
    """A results, errors or counts table as Arrow in plain types (text as strings, no dictionaries), for Spark."""
    from ._api import plain_arrow as _plain_arrow

    return _plain_arrow(frame, schema)


def spark_ddl(schema: Any) -> str:
    """The Spark DDL schema string of ``RESULT_SCHEMA``, ``ERRORS_SCHEMA`` or ``ABSENT_ONLY_SCHEMA`` (plain types)."""
    from ._api import spark_ddl as _spark_ddl

    return _spark_ddl(schema)


def read_results(path: Any) -> Any:
    """A results table: one file (local engine) or the directory of partition files a Dask run wrote, in row order."""
    from ._io import read_results as _read_results

    return _read_results(path)


def __getattr__(name: str) -> Any:
    if name == "CohortResult":
        from ._api import CohortResult

        return CohortResult
    if name in ("Undetermined", "Plan", "RESULT_SCHEMA", "ERRORS_SCHEMA", "ABSENT_ONLY_SCHEMA", "NOT_CHECKED_SCHEMA"):
        from . import _engine

        # The public counts carry the rule info (``_engine.ABSENT_ONLY_SCHEMA`` is the engine's own, without).
        return _engine.COUNTS_SCHEMA if name == "ABSENT_ONLY_SCHEMA" else getattr(_engine, name)
    raise AttributeError(name)
