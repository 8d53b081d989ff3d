"""Partitions of an input and the evaluation of one batch: what the local and Dask engines share."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import polars as pl
import pyarrow.parquet as pq

from ._api import arrow_units, evaluate_partition
from ._engine import Plan
from ._schema import ERRORS_SCHEMA, ID, ROW, Resolved, resolve, wide_from_documents

__all__ = ["Partition", "Unreadable", "evaluate_batch", "partitions", "read_partition"]

DEFAULT_BATCH_ROWS = 100_000


@attrs.frozen
class Partition:
    """A slice of an input file: Parquet row groups, or a range of rows of another format."""

    index: int
    first_row: int
    rows: int
    groups: tuple[int, ...] = ()


def partitions(path: Path, batch_rows: int = DEFAULT_BATCH_ROWS) -> list[Partition]:
    """Split a Parquet file into partitions of whole row groups, about ``batch_rows`` rows each.

    The row group is the unit: every engine (local, Dask) uses these same partitions, so
    their outputs are identical. Write files with row groups of at most a few hundred
    thousand rows to keep memory bounded.
    """
    meta = pq.ParquetFile(path).metadata
    out: list[Partition] = []
    groups: list[int] = []
    first = rows = 0
    for g in range(meta.num_row_groups):
        groups.append(g)
        rows += meta.row_group(g).num_rows
        if rows >= batch_rows:
            out.append(Partition(len(out), first, rows, tuple(groups)))
            first, groups, rows = first + rows, [], 0
    if groups:
        out.append(Partition(len(out), first, rows, tuple(groups)))
    return out


def read_partition(path: Path, part: Partition) -> tuple[pl.DataFrame, dict[str, str]]:
    """Read one Parquet partition as a Polars frame, with the units its field metadata declares."""
    pf = pq.ParquetFile(path)
    table = pf.read_row_groups(list(part.groups))
    return pl.DataFrame(pl.from_arrow(table)), arrow_units(pf.schema_arrow)


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
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], list[Resolved] | None]:
    """Evaluate one batch (a wide frame or a list of documents); return results, errors, absent columns."""
    if isinstance(batch, pl.DataFrame):
        if resolved is None:
            resolved = resolve(dict(batch.schema), units)
        results, errors, absent = evaluate_partition(batch, plan, first_row=first_row, resolved=resolved)
        return results, errors, absent, resolved
    unreadable = [
        {ROW: first_row + i, ID: None, "column": "line", "value": d.text, "expected": d.expected, "effect": "refused"}
        for i, d in enumerate(batch)
        if isinstance(d, Unreadable)
    ]
    docs = [d if not isinstance(d, Unreadable) else None for d in batch]
    kept = [(i, d) for i, d in enumerate(docs) if d is not None]
    wide, refused = _documents(kept, first_row)
    results, errors, absent = evaluate_partition(wide, plan, first_row=first_row)
    all_errors = pl.concat([pl.DataFrame(unreadable, schema=ERRORS_SCHEMA), refused, errors])
    return results, all_errors, absent, None


def _documents(kept: list[tuple[int, Any]], first_row: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    wide, refused = wide_from_documents([d for _, d in kept], 0)
    positions = list(range(len(kept)))
    index = [first_row + i for i, _ in kept]
    renumber = pl.col(ROW).replace_strict(positions, index, return_dtype=pl.Int64)
    return wide.with_columns(renumber), refused.with_columns(renumber)
