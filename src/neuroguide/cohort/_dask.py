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
import importlib
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import polars as pl
import pyarrow.parquet as pq

from .. import model as m
from ._engine import ABSENT_ONLY_SCHEMA, RESULT_SCHEMA, Plan, Undetermined, make_plan
from ._parts import Partition, evaluate_batch, partitions, read_partition

__all__ = ["WRITE_OPTIONS", "PartResult", "dask_parts", "evaluate_parquet_partition", "part_path", "results_schema"]


@attrs.frozen
class PartResult:
    """What a worker sends back for one partition: its errors and counts (the results are in its file)."""

    index: int
    rows: int
    results: int
    errors: pl.DataFrame
    absent: tuple[str, ...]
    worker: str = ""
    cpu_s: float = 0.0
    """CPU seconds of the worker process while it ran this task (one thread per worker)."""
    absent_only: pl.DataFrame = attrs.field(factory=lambda: pl.DataFrame(schema=ABSENT_ONLY_SCHEMA))
    """Per rule, the patients undetermined only because of absent columns (see ``evaluate_partition``)."""


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
) -> PartResult:
    """Run on a worker: read one partition, evaluate it and write its results file."""
    start = time.process_time()
    plan = make_plan(as_of, pins=pins, statuses=statuses)
    frame, units = read_partition(Path(path), part)
    results, errors, absent, only, _ = evaluate_batch(frame, part.first_row, plan, units, None, undetermined)
    table = results.replace_schema_metadata(results_schema(meta).metadata)  # already in the results' Arrow types
    pq.write_table(table, part_path(Path(directory), part.index), **WRITE_OPTIONS)
    try:
        worker = str(importlib.import_module("distributed").get_worker().address)
    except (ImportError, ValueError):  # called outside a worker (tests, a plain process pool)
        worker = ""
    cpu = time.process_time() - start
    return PartResult(part.index, frame.height, results.num_rows, errors, absent, worker, cpu, only)


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
) -> Iterator[PartResult]:
    """Evaluate every partition on the cluster; yield each partition's report as it finishes."""
    # Dask ships no type information: its entry points are held as Any.
    distributed: Any = importlib.import_module("distributed")
    parts = partitions(path, batch_rows)
    chosen = tuple(str(s) for s in statuses)
    cluster: Any = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
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
                pure=False,
            )
            for part in parts
        ]
        for future in distributed.as_completed(futures):
            yield future.result()
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
