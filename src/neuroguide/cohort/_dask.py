"""The Dask engine: the same partition function, one task per partition, each writing its own results file.

Point it at an existing cluster with ``scheduler="tcp://host:8786"`` (``--scheduler`` on the
command line); without one, a local cluster of ``workers`` processes on 127.0.0.1 is started and
closed again. Workers need neuroguide with the ``cohort`` extra and must be able to read the input
and write the output directory (a shared file system). Each task writes
``OUTPUT/part-NNNNN.parquet`` and sends back only its errors and counts, so the client does no
per-row work and the workers run in parallel.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import polars as pl
import pyarrow.parquet as pq

from .. import model as m
from ._engine import (
    ABSENT_ONLY_SCHEMA,
    NOT_CHECKED_SCHEMA,
    RESULT_SCHEMA,
    Plan,
    Undetermined,
    make_plan,
    metadata,
    not_checked_counts,
)
from ._errors import WorkerMismatchError
from ._parts import Partition, Phases, Timer, evaluate_batch, partitions, read_partition

__all__ = [
    "QUIET",
    "WRITE_OPTIONS",
    "PartResult",
    "TaskTiming",
    "dask_parts",
    "dask_setup",
    "dask_teardown",
    "evaluate_parquet_partition",
    "local_cluster",
    "part_path",
    "results_schema",
]


@attrs.frozen
class TaskTiming:
    """When and how long one Dask task ran on its worker (to see where a run's time goes)."""

    index: int
    """The partition."""
    worker: str
    """The worker's address (empty outside a worker)."""
    started: float
    """Wall clock (``time.time()``) when the task began on its worker."""
    finished: float
    """Wall clock when it ended."""
    cpu_s: float
    """CPU seconds of the worker process while it ran this task (one thread per worker)."""
    process_cpu_s: float
    """CPU seconds of the worker process from its start to the task's end (imports and housekeeping included)."""
    steps: tuple[tuple[str, float], ...] = ()
    """CPU seconds of the task's steps: ``plan``, ``read``, ``evaluate``, ``write``."""


@attrs.frozen
class PartResult:
    """What a worker sends back for one partition: its errors and counts (the results are in its file)."""

    index: int
    rows: int
    results: int
    errors: pl.DataFrame
    absent: tuple[str, ...]
    timing: TaskTiming
    absent_only: pl.DataFrame = attrs.field(factory=lambda: pl.DataFrame(schema=ABSENT_ONLY_SCHEMA))
    """Per rule, the patients undetermined only because of absent columns (see ``evaluate_partition``)."""
    not_checked: pl.DataFrame = attrs.field(factory=lambda: pl.DataFrame(schema=NOT_CHECKED_SCHEMA))
    """Per rule not evaluated, the patients and entries whose drug only it names (rows ``not-checked``)."""


def part_path(directory: Path, index: int) -> Path:
    """The results file of partition ``index``."""
    return directory / f"part-{index:05d}.parquet"


def results_schema(meta: Mapping[str, str]) -> Any:
    """The Arrow schema of a results file, with the provenance metadata."""
    schema = pl.DataFrame(schema=RESULT_SCHEMA).to_arrow().schema
    return schema.with_metadata({k.encode(): v.encode() for k, v in meta.items()})


# Column statistics (for readers' row-group pruning) only where they are cheap and useful: computing them for
# the identifier and the missing-fact lists costs more than writing those columns. Dictionary pages for the
# categorical columns (the missing-fact lists by their leaf column); the row number and the identifier, distinct
# within a rule, are delta-encoded instead of hashed into a dictionary first: faster to write and half the file,
# and every reader gets the same table.
WRITE_OPTIONS: dict[str, Any] = {
    "write_statistics": ["row", "guideline", "version", "rule", "kind", "status", "due", "due_by", "overdue_days"],
    "use_dictionary": [
        "guideline",
        "version",
        "rule",
        "kind",
        "rule_status",
        "status",
        "missing.list.element",
        "label",
        "evaluated",
    ],
    "column_encoding": {"row": "DELTA_BINARY_PACKED", "patient_id": "DELTA_BYTE_ARRAY"},
}


def evaluate_parquet_partition(
    path: str,
    part: Partition,
    as_of: dt.date,
    pins: Mapping[str, str] | None,
    statuses: tuple[str, ...],
    directory: str,
    meta: Mapping[str, str],
    undetermined: Undetermined = Undetermined.COMPACT,
    repeated: pl.DataFrame | None = None,
) -> PartResult:
    """Run on a worker: read one partition, evaluate it and write its results file (``repeated``: ids used twice)."""
    started, start = time.time(), time.process_time()
    clock = _Clock(start)
    plan = make_plan(as_of, pins=pins, statuses=statuses)
    _same_as_client(plan, meta)
    clock.lap("plan")
    frame, units = read_partition(Path(path), part)
    clock.lap("read")
    results, errors, absent, only, _ = evaluate_batch(frame, part.first_row, plan, units, None, undetermined, repeated)
    clock.lap("evaluate")
    table = results.replace_schema_metadata(results_schema(meta).metadata)  # already in the results' Arrow types
    pq.write_table(table, part_path(Path(directory), part.index), **WRITE_OPTIONS)
    clock.lap("write")
    worker = _worker_address()
    end = time.process_time()
    timing = TaskTiming(part.index, worker, started, time.time(), end - start, end, clock.laps())
    held = not_checked_counts(results)
    return PartResult(part.index, frame.height, results.num_rows, errors, absent, timing, only, held)


# What a worker must share with the client for the client's provenance to be true of the worker's results.
_SHARED_META = {
    "neuroguide.package": "the neuroguide version",
    "neuroguide.guidelines": "the set of guideline versions and their sha256",
    "neuroguide.per_row_rules": "the rules evaluated per patient",
}


def _same_as_client(plan: Plan, meta: Mapping[str, str]) -> None:
    """Refuse a partition on a worker whose installation would choose other rules than the client's."""
    own = metadata(plan)
    for key, item in _SHARED_META.items():
        if key in meta and meta[key] != own[key]:
            raise WorkerMismatchError(_worker_address(), item, _short(meta[key]), _short(own[key]))


def _worker_address() -> str:
    """The Dask worker running this task, or "" outside a worker (tests, a plain process pool)."""
    try:
        return str(importlib.import_module("distributed").get_worker().address)
    except (ImportError, ValueError):
        return ""


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "…"


class _Clock:
    """CPU seconds between successive laps."""

    def __init__(self, start: float) -> None:
        self._last = start
        self._laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.process_time()
        self._laps.append((name, now - self._last))
        self._last = now

    def laps(self) -> tuple[tuple[str, float], ...]:
        return tuple(self._laps)


# Settings of the local cluster this engine starts (a cluster given by address keeps its own). By default every
# process of a cluster wakes up many times a second for housekeeping: the event-loop health check every 20 ms, the
# statistical profiler sampling each running task every 10 ms, the system monitor every 500 ms. On a machine with as
# many cores as workers that CPU is taken from the tasks: measured on a 2-core machine, an idle two-worker cluster used
# about 0.17 of a core (0.06 in the client's process, which holds the scheduler and the nannies, 0.11 in the workers),
# about 0.02 with these settings. None of them changes what is computed.
QUIET: dict[str, Any] = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
}


def local_cluster(workers: int) -> Any:
    """A cluster of ``workers`` single-threaded worker processes on 127.0.0.1, without a dashboard.

    Polars in each worker gets its share of the machine's cores (unless ``POLARS_MAX_THREADS`` is set), so the
    workers do not oversubscribe them.
    """
    distributed: Any = importlib.import_module("distributed")
    dask: Any = importlib.import_module("dask")
    env = (
        {}
        if "POLARS_MAX_THREADS" in os.environ
        else {"POLARS_MAX_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}
    )
    with dask.config.set(QUIET):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # No dashboard; the scheduler's small HTTP server (health, metrics) on a free loopback port, so two
            # runs at once do not race for Dask's default 8787.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            env=env,
            preload=[__name__],
        )


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: a worker of the local cluster imports this module (the engine) as it starts."""


def dask_teardown(worker: Any) -> None:
    """Dask's preload hook, as a worker of the local cluster closes: leave its objects to the process's exit.

    The interpreter's last garbage collections over every object the engine, Polars, pyarrow and Dask created took
    seconds per worker process (measured: a worker's ``atexit`` ran 0.1 s into closing the cluster, the process
    ended 2.2-3.4 s in); the cluster's close waits for them. Frozen objects are not collected again, and the
    process's memory goes back to the system as it ends.
    """
    gc.freeze()


def dask_parts(
    path: Path,
    plan: Plan,
    directory: Path,
    meta: Mapping[str, str],
    *,
    pins: Mapping[str, str] | None,
    statuses: Iterable[m.Status | str],
    scheduler: str | None,
    workers: int,
    batch_rows: int,
    undetermined: Undetermined = Undetermined.COMPACT,
    phases: Phases | None = None,
    repeated: pl.DataFrame | None = None,
) -> Iterator[PartResult]:
    """Evaluate every partition on the cluster; yield each partition's report as it finishes.

    ``phases`` receives the wall and client CPU seconds of ``cluster`` (starting a local cluster, or connecting),
    ``tasks`` (from the first submission to the last result) and ``close``.
    """
    timer = Timer(phases if phases is not None else {})
    # Dask ships no type information: its entry points are held as Any.
    distributed: Any = importlib.import_module("distributed")
    parts = partitions(path, batch_rows)
    chosen = tuple(str(s) for s in statuses)
    cluster: Any = None
    if scheduler is None:
        cluster = local_cluster(workers)
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    timer.lap("cluster")
    try:
        source, target = str(path.resolve()), str(directory.resolve())
        futures = [
            client.submit(
                evaluate_parquet_partition,
                source,
                part,
                plan.as_of,
                pins,
                chosen,
                target,
                dict(meta),
                undetermined,
                repeated,
                pure=False,
            )
            for part in parts
        ]
        for future in distributed.as_completed(futures):
            yield future.result()
            future.release()
        timer.lap("tasks")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        timer.lap("close")
