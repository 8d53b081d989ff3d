"""The Dask engine: the same partition function, one task per Parquet partition, on a Dask cluster.

Point it at an existing cluster with ``scheduler="tcp://host:8786"`` (``--scheduler`` on the
command line); without one, a local cluster of ``workers`` processes on 127.0.0.1 is started and
closed again. Workers need neuroguide with the ``cohort`` extra and must be able to read the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from .. import model as m
from ._engine import Plan, make_plan
from ._parts import Partition, evaluate_batch, partitions, read_partition

__all__ = ["dask_batches", "evaluate_parquet_partition"]


def evaluate_parquet_partition(
    path: str,
    part: Partition,
    as_of: dt.date,
    pins: Mapping[str, str] | None,
    statuses: tuple[str, ...],
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], int]:
    """Run on a worker: read one partition and evaluate it (the plan is rebuilt there; it is cached)."""
    plan = make_plan(as_of, pins=pins, statuses=statuses)
    frame, units = read_partition(Path(path), part)
    results, errors, absent, _ = evaluate_batch(frame, part.first_row, plan, units, None)
    return results, errors, absent, frame.height


def dask_batches(
    path: Path,
    plan: Plan,
    *,
    pins: Mapping[str, str] | None,
    statuses: Iterable[m.Status | str],
    scheduler: str | None,
    workers: int,
    batch_rows: int,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], int]]:
    """Evaluate every partition on the cluster and yield the results in input order."""
    import importlib

    # Dask ships no type information: its entry points are held as Any.
    delayed: Any = importlib.import_module("dask").delayed
    distributed: Any = importlib.import_module("distributed")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster  # noqa: N806

    parts = partitions(path, batch_rows)
    chosen = tuple(str(s) for s in statuses)
    cluster: Any = None
    client: Any
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        tasks = [
            delayed(evaluate_parquet_partition)(str(path.resolve()), part, plan.as_of, pins, chosen) for part in parts
        ]
        futures = client.compute(tasks)
        for i, future in enumerate(futures):
            futures[i] = None  # let the cluster drop each partition's result once it is written
            yield future.result()
            del future
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
