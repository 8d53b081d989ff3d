"""Partitions of an input and the evaluation of one batch: what the local and Dask engines share."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ._api import arrow_units, partition_arrow, repeated_ids
from ._engine import Plan, Undetermined
from ._schema import ERRORS_SCHEMA, ID, ROW, Resolved, resolve, wide_from_documents

__all__ = [
    "Partition",
    "Phase",
    "Phases",
    "Timer",
    "Unreadable",
    "evaluate_batch",
    "input_ids",
    "parquet_ids",
    "partitions",
    "read_partition",
]

DEFAULT_BATCH_ROWS = 50_000


@attrs.frozen
class Phase:
    """One phase of a run: its wall-clock seconds and the CPU seconds of the process that ran the run."""

    wall_s: float
    cpu_s: float


Phases = dict[str, Phase]


class Timer:
    """Records successive phases into ``phases`` (the time since the previous lap, or since the timer began)."""

    def __init__(self, phases: Phases) -> None:
        self.phases = phases
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.phases[name] = Phase(wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu

    def skip(self) -> None:
        """Start the next phase now (what came since the last lap was recorded elsewhere)."""
        self._wall, self._cpu = time.perf_counter(), time.process_time()


@attrs.frozen
class Partition:
    """A slice of an input file: ``rows`` rows from ``offset`` within Parquet row groups ``groups``."""

    index: int
    first_row: int
    rows: int
    groups: tuple[int, ...] = ()
    offset: int = 0


def partitions(path: Path, batch_rows: int = DEFAULT_BATCH_ROWS) -> list[Partition]:
    """Split a Parquet file into partitions of ``batch_rows`` rows (the last one shorter).

    Every engine (local, Dask) uses these same partitions, so their outputs are identical; a
    partition may span row groups or take part of one, so a file with large row groups still
    gives every worker work. Memory is bounded by the partition plus its row groups.
    """
    meta = pq.ParquetFile(path).metadata
    starts: list[int] = []
    ends: list[int] = []
    total = 0
    for g in range(meta.num_row_groups):
        starts.append(total)
        total += meta.row_group(g).num_rows
        ends.append(total)
    out: list[Partition] = []
    for first in range(0, total, max(batch_rows, 1)):
        rows = min(batch_rows, total - first)
        groups = tuple(
            g
            for g in range(meta.num_row_groups)
            if starts[g] < first + rows and starts[g] + meta.row_group(g).num_rows > first
        )
        out.append(Partition(len(out), first, rows, groups, first - starts[groups[0]]))
    return out


def read_partition(
    path: Path, part: Partition, held: dict[int, pa.Table] | None = None
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Read one Parquet partition as a Polars frame, with the units its field metadata declares.

    ``held``: row groups already read (by group index), for a caller reading the partitions in order; a
    row group shared by two partitions is then decoded once. It is updated to the groups of this partition.
    """
    pf = pq.ParquetFile(path)
    if held is None:
        table = pf.read_row_groups(list(part.groups))
    else:
        groups = {g: held[g] if g in held else pf.read_row_group(g) for g in part.groups}
        held.clear()
        held.update(groups)
        table = pa.concat_tables([groups[g] for g in part.groups])
    return pl.DataFrame(pl.from_arrow(table.slice(part.offset, part.rows))), arrow_units(pf.schema_arrow)


def input_ids(ids: Iterable[pl.DataFrame]) -> pl.DataFrame | None:
    """The ids a tabular input gives on more than one row (see :func:`repeated_ids`), or None if none repeats.

    ``ids`` yields the input's ``patient_id`` (and ``row``, if the input numbers its rows) column in row order:
    one column is read, so the whole input is checked for a fraction of a run's cost.
    """
    frames = [f for f in ids if ID in f.columns]
    if not frames:
        return None
    frame = pl.concat([f.select(ID, *([ROW] if ROW in f.columns else [])) for f in frames], how="vertical_relaxed")
    rows = frame[ROW] if ROW in frame.columns else pl.int_range(0, frame.height, dtype=pl.Int64, eager=True)
    if rows.dtype.is_integer() and not rows.null_count():
        found = repeated_ids(frame[ID], rows)
        return found if found.height else None
    return None  # a bad row column is refused by the partition function itself


def parquet_ids(path: Path) -> Iterator[pl.DataFrame]:
    """The id (and row) column of a Parquet file, read alone."""
    names = pq.ParquetFile(path).schema_arrow.names
    wanted = [c for c in (ID, ROW) if c in names]
    if ID in wanted:
        yield pl.DataFrame(pl.from_arrow(pq.read_table(path, columns=wanted)))


@attrs.frozen
class Unreadable:
    expected: str
    text: str


def evaluate_batch(
    batch: pl.DataFrame | list[Any],
    first_row: int,
    plan: Plan,
    units: Mapping[str, str],
    resolved: list[Resolved] | None,
    undetermined: Undetermined = Undetermined.COMPACT,
    repeated: pl.DataFrame | None = None,
) -> tuple[pa.Table, pl.DataFrame, tuple[str, ...], pl.DataFrame, list[Resolved] | None]:
    """Evaluate one batch (a wide frame or a list of documents).

    Returns results (Arrow, ready to write), errors, absent columns, the absent-only counts per rule, and the resolved
    columns (reused by the next batch of a file). ``repeated``: the ids the whole input gives on more than one row
    (:func:`repeated_ids`), refused in every batch.
    """
    if isinstance(batch, pl.DataFrame):
        if resolved is None:
            resolved = resolve(dict(batch.schema), units)
        results, errors, absent, only = partition_arrow(
            batch,
            plan,
            first_row=first_row,
            resolved=resolved,
            undetermined=undetermined,
            slips=True,
            repeated=repeated,
        )
        return results, errors, absent, only, resolved
    unreadable = [
        {ROW: first_row + i, ID: None, "column": "line", "value": d.text, "expected": d.expected, "effect": "refused"}
        for i, d in enumerate(batch)
        if isinstance(d, Unreadable)
    ]
    docs = [d if not isinstance(d, Unreadable) else None for d in batch]
    kept = [(i, d) for i, d in enumerate(docs) if d is not None]
    wide, refused = _documents(kept, first_row)
    results, errors, absent, only = partition_arrow(
        wide, plan, first_row=first_row, undetermined=undetermined, repeated=repeated
    )
    all_errors = pl.concat([pl.DataFrame(unreadable, schema=ERRORS_SCHEMA), refused, errors])
    return results, all_errors, absent, only, None


def _documents(kept: list[tuple[int, Any]], first_row: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    wide, refused = wide_from_documents([d for _, d in kept], 0)
    positions = list(range(len(kept)))
    index = [first_row + i for i, _ in kept]
    renumber = pl.col(ROW).replace_strict(positions, index, return_dtype=pl.Int64)
    return wide.with_columns(renumber), refused.with_columns(renumber)
