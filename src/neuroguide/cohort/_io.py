"""Reading cohort files in bounded batches and writing the results table with its provenance."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import attrs
import polars as pl
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

from .. import model as m
from ..exceptions import InputError
from ._api import DEFAULT_MAX_BAD_SHARE, arrow_units, bad_rows, check_share, undetermined_mode, unrecognised_count
from ._dask import WRITE_OPTIONS, TaskTiming, dask_parts, results_schema
from ._engine import (
    RESULT_SCHEMA,
    Plan,
    Undetermined,
    make_plan,
    merge_absent_only,
    merge_not_checked,
    metadata,
    not_checked_counts,
    rule_info,
)
from ._errors import BadRowsError
from ._jsonl import evaluate_lines
from ._parts import (
    DEFAULT_BATCH_ROWS,
    Partition,
    Phase,
    Phases,
    Timer,
    evaluate_batch,
    input_ids,
    parquet_ids,
    partitions,
    read_partition,
)
from ._schema import ERRORS_SCHEMA, ID, MEDS, ROW, Resolved, document_of
from ._synth import synth

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "AbsentOnly",
    "NotChecked",
    "Partition",
    "RunSummary",
    "check_paths",
    "errors_path",
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


def _batches(path: Path, kind: Format, batch_rows: int) -> Iterator[tuple[int, pl.DataFrame, dict[str, str]]]:
    """(first row, frame, units) of a tabular file (JSON lines go through ``_jsonl``: see ``_local``)."""
    if kind == "parquet":
        held: dict[int, pa.Table] = {}  # a row group two partitions share is read once
        for part in partitions(path, batch_rows):
            frame, units = read_partition(path, part, held)
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
        raise InputError("input", kind, "a tabular format (JSON lines are read by the columnar reader)")


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


def _jsonl_batches(path: Path, batch_rows: int) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    """Batches of JSON lines as text (the columnar reader parses them); blank lines are not patients."""
    first = 0
    lines: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            text = line.strip()
            if not text:
                continue
            lines.append(text)
            if len(lines) >= batch_rows:
                yield first, lines, {}
                first, lines = first + len(lines), []
    if lines:
        yield first, lines, {}


@attrs.frozen
class AbsentOnly:
    """A rule left undetermined for ``patients`` patients only because the input has no column for ``missing``."""

    guideline: str
    version: str
    rule: str
    patients: int
    missing: tuple[str, ...]
    kind: str
    """The rule's kind (``screening``, ``referral``, …)."""
    urgent: bool
    """A red-flag check (:func:`neuroguide.model.is_urgent`): the run could not make it for these patients."""
    status: str
    """The rule's status (``approved``, ``in-review``)."""


@attrs.frozen
class NotChecked:
    """A rule not evaluated (e.g. in review) that alone names a drug ``patients`` patients take (``entries``)."""

    guideline: str
    version: str
    rule: str
    kind: str
    """``neurotoxicity`` or ``dosing``."""
    status: str
    """The rule's status (``in-review``)."""
    patients: int
    entries: int


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
    """Rules evaluated one patient at a time (the neurotoxicity table; every rule when the fact engine changed)."""
    worker_cpu: Mapping[str, float] = attrs.field(factory=dict)
    """Dask: CPU seconds each worker spent on its tasks (the run's critical path is the largest)."""
    absent_only: tuple[AbsentOnly, ...] = ()
    """Rules undetermined only because of absent columns (rows written only with ``Undetermined.ALL``)."""
    undetermined: Undetermined = Undetermined.COMPACT
    fallback_rows: int = 0
    """JSON lines: rows read one document at a time by ``Patient.from_dict`` (see ``docs/cohort.md``)."""
    lookup_rules: tuple[str, ...] = ()
    """Dosing rules looked up once per distinct prescription (patients with duplicate therapy run per patient)."""
    per_row_kinds: Mapping[str, int] = attrs.field(factory=dict)
    """How many of ``per_row_rules`` are of each rule kind."""
    phases: Mapping[str, Phase] = attrs.field(factory=dict)
    """Wall and CPU seconds (of the calling process) of the run's phases, in order: ``plan`` (choosing the rules,
    reading the input's metadata), then ``evaluate`` (local engine) or ``cluster``, ``tasks`` and ``close`` (Dask:
    starting or connecting to the cluster, from the first task submitted to the last result, closing), then
    ``errors`` (writing the errors table)."""
    tasks: tuple[TaskTiming, ...] = ()
    """Dask: when each partition's task ran, on which worker, and its CPU seconds by step."""
    unrecognised: int = 0
    """Medication entries whose drug name no rule recognises (errors rows ``medications[i].agent``, not used)."""
    not_checked: tuple[NotChecked, ...] = ()
    """Drugs whose neurotoxicity or dose no evaluated rule checks, per rule not evaluated that names them (results
    rows with status ``not-checked``; ``--include-in-review`` evaluates those rules)."""

    def urgent_absent(self) -> tuple[AbsentOnly, ...]:
        """Red-flag checks the run could not make for some patients (no column for what they need)."""
        return tuple(a for a in self.absent_only if a.urgent)


def write_table(frame: pl.DataFrame, path: Path, meta: Mapping[str, str]) -> None:
    """Write a whole table to Parquet with ``meta`` in the file metadata."""
    table = frame.to_arrow()
    pq.write_table(table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()}), path)


def _named_read_errors(fn: Callable[Concatenate[str | Path, P], R]) -> Callable[Concatenate[str | Path, P], R]:
    """Wrap ``fn`` so that polars' and pyarrow's errors for an unreadable input become one named error."""

    @functools.wraps(fn)
    def named(source: str | Path, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(source, *args, **kwargs)
        except (pl.exceptions.PolarsError, pa.ArrowException) as exc:
            detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise InputError("input", str(source), f"a readable {Path(source).suffix} file ({detail})") from None

    return named


def errors_path(output: str | Path, errors: str | Path | None = None) -> Path:
    """The errors table's file: ``errors`` if given, else ``OUTPUT.errors.parquet`` beside the results."""
    out = Path(output)
    return Path(errors) if errors is not None else out.with_name(out.name.removesuffix(".parquet") + ".errors.parquet")


_NOT_PARQUET = frozenset({".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".arrow", ".ipc", ".feather", ".html"})


def check_paths(source: str | Path, outputs: Iterable[tuple[str, str | Path]]) -> None:
    """Refuse, before anything is written, an output naming the input or another output, or in no folder.

    Writing a file first truncates it: an output naming the input (or two outputs naming one file) would destroy
    the input (or the other output) and still end in success.
    """
    seen = {Path(source).resolve(): f"the input {source}"}
    for name, path in outputs:
        where = Path(path)
        key = where.resolve()
        if str(path).strip() == "" or where.is_dir():  # else pyarrow's IsADirectoryError after the results are written
            raise InputError(name, str(path), "a file path, not a folder")
        if key in seen:
            raise InputError(name, str(where), f"a file other than {seen[key]} (it would be overwritten)")
        if not where.parent.is_dir():
            raise InputError(name, str(where), "a file in an existing folder")
        if name != "summary" and where.suffix.lower() in _NOT_PARQUET:
            # the table is Parquet whatever the name: a results.csv holding Parquet misleads whoever opens it
            raise InputError(name, str(path), f"a .parquet file (the {name} table is written as Parquet)")
        seen[key] = f"the {name} file"


@_named_read_errors
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
    undetermined: Undetermined | str = Undetermined.COMPACT,
) -> RunSummary:
    """Evaluate a cohort file into Parquet results, streaming in partitions of ``batch_rows``.

    The local engine writes one results file; with ``engine="dask"`` each partition runs as a
    task on a Dask cluster (``scheduler`` address, or a local cluster of ``workers`` processes)
    and writes its own file, ``output/part-NNNNN.parquet`` (a Parquet dataset: read the
    directory as one table, which is identical to the local engine's). The errors table goes to
    ``errors`` (default: ``<output>.errors.parquet``). With ``Undetermined.COMPACT`` (the default),
    results undetermined only because the input has no column for what they need are counted per
    rule (``RunSummary.absent_only``, the file metadata) instead of written as rows.

    Raises:
        SchemaError: bad columns. BadRowsError: too many bad rows (no results are left behind; the errors table of
            the rows read is written, and the message names it).
        InputError: the input cannot be read as its format (named, with polars' or pyarrow's reason), or the
            output or errors file would overwrite the input.

    """
    start = time.perf_counter()
    phases: Phases = {}
    timer = Timer(phases)
    src, out = Path(source), Path(output)
    if not src.is_file():
        raise InputError("input", str(src), "an existing file")
    if batch_rows < 1:
        raise InputError("batch_rows", batch_rows, "a positive number of rows")
    if engine not in ("local", "dask"):
        raise InputError("engine", engine, "'local' or 'dask'")
    kind = format_of(src)
    if engine == "dask" and kind != "parquet":
        raise InputError("engine", "dask", "a Parquet input for the Dask engine (convert the file first)")
    err_path = errors_path(out, errors)
    check_paths(src, (("output", out), ("errors", err_path)))
    mode = undetermined_mode(undetermined)
    plan = make_plan(as_of, pins=pins, statuses=statuses)
    meta = metadata(plan)
    meta["neuroguide.input"] = src.name
    meta["neuroguide.undetermined"] = str(mode)
    total = _count(src, kind)
    repeated = _repeated(src, kind, batch_rows)
    state = _Totals(max_bad_share, rule_info(plan))
    tasks: list[TaskTiming] = []
    timer.lap("plan")
    try:
        if engine == "dask":
            _clear(out)
            out.mkdir(parents=True, exist_ok=True)
            for part in dask_parts(
                src,
                plan,
                out,
                meta,
                pins=pins,
                statuses=statuses,
                scheduler=scheduler,
                workers=workers,
                batch_rows=batch_rows,
                undetermined=mode,
                phases=phases,
                repeated=repeated,
            ):
                state.add(part.results, part.errors, part.absent, part.rows, part.absent_only, part.not_checked)
                worker = part.timing.worker
                state.worker_cpu[worker] = state.worker_cpu.get(worker, 0.0) + part.timing.cpu_s
                tasks.append(part.timing)
                if progress is not None:
                    progress(state.rows, total)
            timer.skip()
        else:
            _clear(out)
            with pq.ParquetWriter(out, results_schema(meta), **WRITE_OPTIONS) as writer:
                for res, errs, missing_cols, only, n in _local(src, kind, plan, batch_rows, mode, state, repeated):
                    writer.write_table(res)
                    state.add(res.num_rows, errs, missing_cols, n, only, not_checked_counts(res))
                    if progress is not None:
                        progress(state.rows, total)
                writer.add_key_value_metadata(state.summary())
            timer.lap("evaluate")
    except BadRowsError as exc:
        _clear(out)
        # The rows read so far, every bad cell among them: the table the user fixes the input from.
        _write_errors(state, err_path, meta)
        raise BadRowsError(exc.bad, exc.rows, exc.limit, exc.summary, str(err_path)) from None
    except BaseException:
        _clear(out)
        raise
    _write_errors(state, err_path, meta)
    timer.lap("errors")
    return RunSummary(
        rows=state.rows,
        results=state.results,
        bad_rows=state.bad,
        absent=tuple(sorted(state.absent)),
        seconds=time.perf_counter() - start,
        output=out,
        errors=err_path,
        per_row_rules=tuple(s.rule.id for s in plan.per_row()),
        lookup_rules=tuple(s.rule.id for s in plan.steps if s.lookup),
        per_row_kinds=_kinds(plan.per_row()),
        worker_cpu=dict(state.worker_cpu),
        absent_only=tuple(
            AbsentOnly(
                r["guideline"],
                r["version"],
                r["rule"],
                r["patients"],
                tuple(r["missing"]),
                r["kind"],
                r["urgent"],
                r["status"],
            )
            for r in state.absent_only_rows()
        ),
        undetermined=mode,
        fallback_rows=state.fallbacks or 0,
        unrecognised=state.unrecognised,
        not_checked=tuple(NotChecked(**r) for r in state.not_checked().iter_rows(named=True)),
        phases=dict(phases),
        tasks=tuple(sorted(tasks, key=lambda t: t.index)),
    )


def _write_errors(state: _Totals, path: Path, meta: Mapping[str, str]) -> None:
    """Write the errors table of the rows read, with the run's counts in its metadata."""
    frame = pl.concat(state.errors) if state.errors else pl.DataFrame(schema=ERRORS_SCHEMA)
    write_table(frame.sort(ROW, maintain_order=True), path, {**meta, **state.summary()})


def _kinds(steps: Iterable[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in steps:
        counts[str(s.rule.kind)] = counts.get(str(s.rule.kind), 0) + 1
    return counts


class _Totals:
    """Counts over the partitions of a run; stops it when too many rows are bad."""

    def __init__(self, max_bad_share: float, info: Mapping[tuple[str, str, str], Mapping[str, Any]]) -> None:
        self.limit = max_bad_share
        self.info = info
        self.rows = self.results = self.bad = self.unrecognised = 0
        self.errors: list[pl.DataFrame] = []
        self.absent: set[str] = set()
        self.worker_cpu: dict[str, float] = {}
        self.only: list[pl.DataFrame] = []
        self.fallbacks: int | None = None
        """JSON lines: rows the columnar reader left to the per-document parser."""
        self.held: list[pl.DataFrame] = []

    def add(
        self,
        results: int,
        errors: pl.DataFrame,
        absent: Iterable[str],
        rows: int,
        only: pl.DataFrame | None = None,
        held: pl.DataFrame | None = None,
    ) -> None:
        self.rows += rows
        self.results += results
        if held is not None and held.height:
            self.held = [merge_not_checked([*self.held, held])]
        if only is not None and only.height:
            self.only = [merge_absent_only([*self.only, only])]
        if errors.height:
            self.errors.append(errors)
            self.bad += bad_rows(errors)
            self.unrecognised += unrecognised_count(errors)
        self.absent |= set(absent)
        if self.rows and self.bad / self.rows > self.limit:
            check_share(pl.concat(self.errors), self.rows, self.limit)

    def absent_only(self) -> pl.DataFrame:
        """Per rule, the patients undetermined only because of absent columns, over every partition."""
        return merge_absent_only(self.only)

    def absent_only_rows(self) -> list[dict[str, Any]]:
        """The absent-only counts as dicts, each with the rule's ``kind``, ``urgent`` and ``status``."""
        return [
            {**r, **self.info[(r["guideline"], r["version"], r["rule"])]}
            for r in self.absent_only().iter_rows(named=True)
        ]

    def not_checked(self) -> pl.DataFrame:
        """Per rule not evaluated that alone names a drug taken: patients and entries, over every partition."""
        return merge_not_checked(self.held)

    def summary(self) -> dict[str, str]:
        out = {
            "neuroguide.rows": str(self.rows),
            "neuroguide.bad_rows": str(self.bad),
            "neuroguide.unrecognised_medications": str(self.unrecognised),
            "neuroguide.absent_columns": json.dumps(sorted(self.absent)),
            "neuroguide.absent_only": json.dumps(self.absent_only_rows()),
            "neuroguide.not_checked": json.dumps(self.not_checked().to_dicts()),
        }
        if self.fallbacks is not None:
            out["neuroguide.per_document_rows"] = str(self.fallbacks)
        return out


def _clear(out: Path) -> None:
    """Remove a previous output: a results file, or a directory of partition files."""
    if out.is_dir():
        for part in out.glob("part-*.parquet"):
            part.unlink()
        if not any(out.iterdir()):
            out.rmdir()
    else:
        out.unlink(missing_ok=True)


def read_results(path: str | Path) -> pl.DataFrame:
    """A results table: one file (local engine) or a directory of partition files (Dask), in row order."""
    p = Path(path)
    files = sorted(p.glob("part-*.parquet")) if p.is_dir() else [p]
    return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame(schema=RESULT_SCHEMA)


def results_metadata(path: str | Path) -> dict[str, str]:
    """The provenance metadata of a results file (the first partition file of a directory)."""
    p = Path(path)
    first = min(p.glob("part-*.parquet"), default=None) if p.is_dir() else p
    if first is None:
        return {}
    return {k.decode(): v.decode() for k, v in (pq.read_metadata(first).metadata or {}).items()}


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


def _repeated(src: Path, kind: Format, batch_rows: int) -> pl.DataFrame | None:
    """The ids an input gives on more than one row, from its id column (or the ``id`` of each JSON line) alone."""
    if kind == "parquet":
        return input_ids(parquet_ids(src))
    if kind == "csv":
        names = pl.scan_csv(src, infer_schema=False).collect_schema().names()
        wanted = [c for c in (ID, ROW) if c in names]
        if ID not in wanted:
            return None
        frame = pl.scan_csv(src, infer_schema=False).select(wanted).collect()
        if ROW in wanted:
            frame = frame.with_columns(pl.col(ROW).cast(pl.Int64, strict=False))
        return input_ids([frame])
    if kind == "ipc":
        return input_ids(f.select(c for c in (ID, ROW) if c in f.columns) for _, f, _ in _ipc_batches(src, batch_rows))
    return input_ids(_jsonl_ids(src, batch_rows))


def _jsonl_ids(src: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The ``id`` each JSON line gives as text (Arrow's reader, only that key; per line where a batch fails)."""
    options = pj.ParseOptions(explicit_schema=pa.schema([("id", pa.string())]), unexpected_field_behavior="ignore")
    for first, lines, _ in _jsonl_batches(src, batch_rows):
        try:
            table = pj.read_json(io.BytesIO("\n".join(lines).encode()), parse_options=options)
            ids = table.column("id").to_pylist() if table.num_rows == len(lines) else None
        except (pa.ArrowInvalid, UnicodeEncodeError):
            ids = None
        if ids is None:  # a line that is not an object, or an id that is not text: that line has no id to repeat
            ids = [_line_id(text) for text in lines]
        rows = range(first, first + len(lines))
        yield pl.DataFrame({ID: ids, ROW: list(rows)}, schema={ID: pl.String(), ROW: pl.Int64()})


def _line_id(text: str) -> str | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    ident = doc.get("id") if isinstance(doc, dict) else None
    return ident if isinstance(ident, str) else None


def _local(
    src: Path,
    kind: Format,
    plan: Plan,
    batch_rows: int,
    mode: Undetermined,
    state: _Totals,
    repeated: pl.DataFrame | None = None,
) -> Iterator[tuple[pa.Table, pl.DataFrame, tuple[str, ...], pl.DataFrame, int]]:
    if kind == "jsonl":
        state.fallbacks = 0
        for first, lines, _ in _jsonl_batches(src, batch_rows):
            res, errs, absent, only, fallbacks = evaluate_lines(lines, first, plan, mode, repeated)
            state.fallbacks += fallbacks
            yield res, errs, absent, only, len(lines)
        return
    resolved: list[Resolved] | None = None
    for first, batch, units in _batches(src, kind, batch_rows):
        res, errs, absent, only, resolved = evaluate_batch(batch, first, plan, units, resolved, mode, repeated)
        yield res, errs, absent, only, (batch.height if isinstance(batch, pl.DataFrame) else len(batch))


__all__ += ["BadRowsError", "Undetermined", "evaluate_batch", "results_schema", "write_synth"]
