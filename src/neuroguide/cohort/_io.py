"""Reading cohort files in bounded batches and writing the results table with its provenance."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from .. import model as m
from ..exceptions import InputError
from ._api import DEFAULT_MAX_BAD_SHARE, arrow_units, bad_rows, check_share
from ._dask import dask_batches
from ._engine import RESULT_SCHEMA, Plan, make_plan, metadata
from ._errors import BadRowsError
from ._parts import DEFAULT_BATCH_ROWS, Partition, Unreadable, evaluate_batch, partitions, read_partition
from ._schema import ERRORS_SCHEMA, MEDS, Resolved, document_of
from ._synth import synth

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "Partition",
    "RunSummary",
    "format_of",
    "partitions",
    "read_partition",
    "run",
    "write_table",
]

Format = Literal["parquet", "ipc", "csv", "jsonl"]
_SUFFIXES: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "ipc",
    ".feather": "ipc",
    ".ipc": "ipc",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
Progress = Callable[[int, int | None], None]


def format_of(path: Path) -> Format:
    """The input format, from the file name's suffix."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError("input", str(path), f"a file ending in one of {', '.join(_SUFFIXES)}")
    return kind


def _batches(
    path: Path, kind: Format, batch_rows: int
) -> Iterator[tuple[int, pl.DataFrame | list[Any], dict[str, str]]]:
    """(first row, batch, units): a frame for tabular formats, a list of documents for JSON lines."""
    if kind == "parquet":
        for part in partitions(path, batch_rows):
            frame, units = read_partition(path, part)
            yield part.first_row, frame, units
    elif kind == "ipc":
        yield from _ipc_batches(path, batch_rows)
    elif kind == "csv":
        # Every column is read as text: the schema check converts and reports each bad cell.
        first = 0
        reader = pl.scan_csv(path, infer_schema=False).collect_batches(chunk_size=batch_rows)
        for frame in reader:
            yield first, frame, {}
            first += frame.height
    else:
        yield from _jsonl_batches(path, batch_rows)


def _ipc_batches(path: Path, batch_rows: int) -> Iterator[tuple[int, pl.DataFrame, dict[str, str]]]:
    with pa.memory_map(str(path)) as source:
        try:
            reader: Any = pa.ipc.open_file(source)
            batches: Iterable[pa.RecordBatch] = (reader.get_batch(i) for i in range(reader.num_record_batches))
        except pa.ArrowInvalid:
            source.seek(0)
            reader = pa.ipc.open_stream(source)
            batches = reader
        units = arrow_units(reader.schema)
        first = 0
        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in batches:
            pending.append(batch)
            count += batch.num_rows
            if count >= batch_rows:
                yield first, pl.DataFrame(pl.from_arrow(pa.Table.from_batches(pending))), units
                first, pending, count = first + count, [], 0
        if pending:
            yield first, pl.DataFrame(pl.from_arrow(pa.Table.from_batches(pending))), units


def _jsonl_batches(path: Path, batch_rows: int) -> Iterator[tuple[int, list[Any], dict[str, str]]]:
    first = 0
    docs: list[Any] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            text = line.strip()
            if not text:
                continue  # blank lines are not patients
            try:
                docs.append(json.loads(text))
            except json.JSONDecodeError as exc:
                docs.append(Unreadable(f"valid JSON ({exc.msg} at column {exc.colno})", text[:80]))
            if len(docs) >= batch_rows:
                yield first, docs, {}
                first, docs = first + len(docs), []
    if docs:
        yield first, docs, {}


@attrs.frozen
class RunSummary:
    """What a run read, wrote and left out."""

    rows: int
    results: int
    bad_rows: int
    absent: tuple[str, ...]
    seconds: float
    output: Path
    errors: Path
    per_row_rules: tuple[str, ...]


def results_schema(meta: Mapping[str, str]) -> pa.Schema:
    """The Arrow schema of the results file, with the provenance metadata."""
    schema = pl.DataFrame(schema=RESULT_SCHEMA).to_arrow().schema
    return schema.with_metadata({k.encode(): v.encode() for k, v in meta.items()})


def write_table(frame: pl.DataFrame, path: Path, meta: Mapping[str, str]) -> None:
    """Write a whole table to Parquet with ``meta`` in the file metadata."""
    table = frame.to_arrow()
    pq.write_table(table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()}), path)


def run(
    source: str | Path,
    output: str | Path,
    *,
    as_of: dt.date,
    engine: Literal["local", "dask"] = "local",
    scheduler: str | None = None,
    workers: int = 2,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
    errors: str | Path | None = None,
    pins: Mapping[str, str] | None = None,
    statuses: Iterable[m.Status | str] = (m.Status.APPROVED,),
    progress: Progress | None = None,
) -> RunSummary:
    """Evaluate a cohort file into a Parquet results file, streaming in batches of ``batch_rows``.

    The errors table goes to ``errors`` (default: ``<output>.errors.parquet``). With
    ``engine="dask"`` the Parquet partitions run on a Dask cluster (``scheduler`` address,
    or a local cluster of ``workers`` processes); the output is identical to the local engine's.

    Raises:
        SchemaError: bad columns. BadRowsError: too many bad rows (no output is left behind).

    """
    start = time.perf_counter()
    src, out = Path(source), Path(output)
    if not src.is_file():
        raise InputError("input", str(src), "an existing file")
    if batch_rows < 1:
        raise InputError("batch_rows", batch_rows, "a positive number of rows")
    kind = format_of(src)
    err_path = (
        Path(errors) if errors is not None else out.with_name(out.name.removesuffix(".parquet") + ".errors.parquet")
    )
    plan = make_plan(as_of, pins=pins, statuses=statuses)
    meta = metadata(plan)
    meta["neuroguide.input"] = src.name
    total = _count(src, kind)
    if engine == "dask":
        if kind != "parquet":
            raise InputError("engine", "dask", "a Parquet input for the Dask engine (convert the file first)")
        batches: Iterator[tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], int]] = dask_batches(
            src, plan, pins=pins, statuses=statuses, scheduler=scheduler, workers=workers, batch_rows=batch_rows
        )
    elif engine == "local":
        batches = _local(src, kind, plan, batch_rows)
    else:
        raise InputError("engine", engine, "'local' or 'dask'")
    writer: pq.ParquetWriter | None = None
    all_errors: list[pl.DataFrame] = []
    absent: set[str] = set()
    rows = results = bad = 0
    try:
        for res, errs, missing_cols, n in batches:
            if writer is None:
                writer = pq.ParquetWriter(out, results_schema(meta))
            writer.write_table(res.to_arrow().cast(results_schema({})))
            rows += n
            results += res.height
            if errs.height:
                all_errors.append(errs)
                bad += bad_rows(errs)
            absent |= set(missing_cols)
            if progress is not None:
                progress(rows, total)
            if rows and bad / rows > max_bad_share:
                check_share(pl.concat(all_errors), rows, max_bad_share)
        if writer is None:
            writer = pq.ParquetWriter(out, results_schema(meta))
        summary = {
            "neuroguide.rows": str(rows),
            "neuroguide.bad_rows": str(bad),
            "neuroguide.absent_columns": json.dumps(sorted(absent)),
        }
        writer.add_key_value_metadata(summary)
    except BaseException:
        if writer is not None:
            writer.close()
        out.unlink(missing_ok=True)
        raise
    writer.close()
    errors_frame = pl.concat(all_errors) if all_errors else pl.DataFrame(schema=ERRORS_SCHEMA)
    write_table(errors_frame, err_path, {**meta, **summary})
    return RunSummary(
        rows=rows,
        results=results,
        bad_rows=bad,
        absent=tuple(sorted(absent)),
        seconds=time.perf_counter() - start,
        output=out,
        errors=err_path,
        per_row_rules=tuple(s.rule.id for s in plan.per_row()),
    )


_SYNTH_CHUNK = 100_000


def write_synth(n: int, output: str | Path, *, seed: int, as_of: dt.date, batch_rows: int = _SYNTH_CHUNK) -> None:
    """Write ``n`` synthetic patients to ``output`` (format from the suffix), chunk by chunk.

    Chunks are always 100,000 patients (one Parquet row group each), so the file is the same
    for the same ``n``, ``seed`` and ``as_of`` whatever ``batch_rows`` is.
    """
    out = Path(output)
    kind = format_of(out)
    parquet: pq.ParquetWriter | None = None
    ipc: Any = None
    with out.open("wb") as handle:
        for first in range(0, max(n, 1), _SYNTH_CHUNK):
            size = min(_SYNTH_CHUNK, n - first)
            frame = synth(size, seed=seed, as_of=as_of, start=first)
            if kind == "parquet":
                table = frame.to_arrow()
                parquet = parquet or pq.ParquetWriter(handle, table.schema)
                parquet.write_table(table)
            elif kind == "ipc":
                table = frame.to_arrow()
                ipc = ipc or pa.ipc.new_file(handle, table.schema)
                ipc.write_table(table)
            elif kind == "csv":
                text = frame.with_columns(pl.col(MEDS).map_elements(_json, return_dtype=pl.String))
                handle.write(text.write_csv(include_header=first == 0).encode())
            else:
                lines = (json.dumps(document_of(row)) + "\n" for row in frame.to_dicts())
                handle.write("".join(lines).encode())
        if parquet is not None:
            parquet.close()
        if ipc is not None:
            ipc.close()


def _json(meds: Any) -> str:
    return json.dumps([{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in d.items()} for d in meds])


def _count(path: Path, kind: Format) -> int | None:
    if kind == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    return None


def _local(
    src: Path, kind: Format, plan: Plan, batch_rows: int
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...], int]]:
    resolved: list[Resolved] | None = None
    for first, batch, units in _batches(src, kind, batch_rows):
        res, errs, absent, resolved = evaluate_batch(batch, first, plan, units, resolved)
        yield res, errs, absent, (batch.height if isinstance(batch, pl.DataFrame) else len(batch))


__all__ += ["BadRowsError", "evaluate_batch", "results_schema", "write_synth"]
