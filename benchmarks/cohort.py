"""Cohort benchmarks: patients/s of the wide-table and JSON-lines paths, peak memory, Dask 2 vs 1 worker.

Each measurement runs in a fresh process (so peak RSS is its own) pinned to one Polars thread
(``POLARS_MAX_THREADS=1``: one core). Figures are CPU seconds of that process and wall seconds;
on a shared machine the CPU figure is the one to compare. For Dask the CPU seconds of the worker
processes are added (``cpu_children_s``: they are children of the measuring process), and the
machine's load average is recorded with every figure. Usage::

    python benchmarks/cohort.py --sizes 10000 100000 1000000 --jsonl 20000 --dask 200000 --out bench.json

JSON lines only (the columnar reader, the per-document reader it replaced, and whole runs both ways)::

    POLARS_MAX_THREADS=1 python benchmarks/cohort.py --sizes --jsonl 20000 --jsonl-before --dask 0
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

AS_OF = "2026-11-30"

_CHILD = r"""
import datetime as dt, json, os, resource, sys, time
import attrs
from pathlib import Path
from neuroguide.cohort import _io
from neuroguide.cohort._api import partition_arrow
from neuroguide.cohort._engine import make_plan
mode, src, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
as_of = dt.date.fromisoformat(sys.argv[4])
workers = int(sys.argv[5]) if len(sys.argv) > 5 else 2
c0, w0 = time.process_time(), time.perf_counter()
rows, worker_cpu, result_rows = 0, {}, 0
if mode == "columnar-only":  # the vectorised rules only, results written as a run writes them
    import pyarrow.parquet as pq
    from neuroguide.cohort._dask import WRITE_OPTIONS, results_schema
    plan = make_plan(as_of)
    plan = attrs.evolve(plan, steps=tuple(s for s in plan.steps if s.columnar))
    with pq.ParquetWriter(out, results_schema({}), **WRITE_OPTIONS) as writer:
        for part in _io.partitions(src):
            frame, units = _io.read_partition(src, part)
            res, _, _, _ = partition_arrow(frame, plan, first_row=part.first_row, units=units)
            writer.write_table(res)  # already in the results' Arrow types, as a run writes it
            rows += frame.height
            result_rows += res.num_rows
elif mode.startswith("jsonl-"):  # the JSON-lines readers alone, or the per-document path end to end
    import json as _json
    import pyarrow.parquet as pq
    from neuroguide.cohort._dask import WRITE_OPTIONS, results_schema
    from neuroguide.cohort._jsonl import wide_from_lines
    from neuroguide.cohort._parts import evaluate_batch
    from neuroguide.cohort._schema import wide_from_documents
    plan = make_plan(as_of) if mode == "jsonl-per-document" else None
    writer = pq.ParquetWriter(out, results_schema({}), **WRITE_OPTIONS) if plan is not None else None
    for first, lines, _ in _io._jsonl_batches(src, _io.DEFAULT_BATCH_ROWS):
        if mode == "jsonl-read-columnar":
            wide_from_lines(lines, first)
        elif mode == "jsonl-read-per-document":
            wide_from_documents([_json.loads(t) for t in lines], first)
        else:  # 0.2.0.dev0 before the columnar reader: json.loads, Patient.from_dict, then the engine
            res, _, _, _, _ = evaluate_batch([_json.loads(t) for t in lines], first, plan, {}, None)
            writer.write_table(res)
        rows += len(lines)
    if writer is not None:
        writer.close()
else:
    engine = "dask" if mode == "dask" else "local"
    undetermined = "all" if mode == "local-all" else "compact"
    summary = _io.run(src, out, as_of=as_of, engine=engine, workers=workers, undetermined=undetermined)
    rows, worker_cpu, result_rows = summary.rows, dict(summary.worker_cpu), summary.results
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"mode": mode, "rows": rows, "result_rows": result_rows, "cpu_s": cpu, "wall_s": wall,
                  "peak_rss_mb": peak,
                  "cpu_children_s": children.ru_utime + children.ru_stime, "load_avg": os.getloadavg(),
                  "worker_task_cpu_s": worker_cpu}))
"""


def _child(mode: str, src: Path, out: Path, workers: int = 2) -> dict[str, Any]:
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(src), str(out), AS_OF, str(workers)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["patients_per_s_cpu"] = result["rows"] / result["cpu_s"] if result["cpu_s"] else None
    result["patients_per_s_wall"] = result["rows"] / result["wall_s"]
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--jsonl", type=int, default=20_000, help="patients for the JSON-lines path (0: skip)")
    p.add_argument(
        "--jsonl-before", action="store_true", help="also time a whole JSON-lines run by the per-document path"
    )
    p.add_argument("--dask", type=int, default=200_000, help="patients for Dask 1 vs 2 workers (0: skip)")
    p.add_argument("--full", type=int, nargs="*", help="sizes for the full rule set (default: every --sizes)")
    p.add_argument("--out", type=Path, help="write every figure here as JSON")
    args = p.parse_args()
    import datetime as dt

    from neuroguide.cohort._io import write_synth

    as_of = dt.date.fromisoformat(AS_OF)
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in args.sizes:
            src = work / f"c{n}.parquet"
            write_synth(n, src, seed=0, as_of=as_of)
            # local: the full rule set, compact table; local-all: with every undetermined row (--all-undetermined).
            for mode in ("local", "local-all", "columnar-only"):
                if mode.startswith("local") and args.full is not None and n not in args.full:
                    continue
                figures.append({"n": n, **_child(mode, src, work / "r.parquet")})
            src.unlink()
        if args.jsonl:
            src = work / "c.jsonl"
            write_synth(args.jsonl, src, seed=0, as_of=as_of)
            # The reader alone (columnar, and the per-document one it replaces), then whole runs both ways.
            for mode in ("jsonl-read-columnar", "jsonl-read-per-document", "local", "jsonl-per-document"):
                if mode == "jsonl-per-document" and not args.jsonl_before:
                    continue
                figures.append({"n": args.jsonl, "format": "jsonl", **_child(mode, src, work / "r.parquet")})
        if args.dask:
            src = work / "d.parquet"
            write_synth(args.dask, src, seed=0, as_of=as_of)
            for workers in (1, 2):
                figures.append({"n": args.dask, "workers": workers, **_child("dask", src, work / "r", workers)})
            one, two = figures[-2], figures[-1]
            # On free cores a run takes about the client's CPU plus its busiest worker's task CPU.
            path_1 = one["cpu_s"] + max(one["worker_task_cpu_s"].values())
            path_2 = two["cpu_s"] + max(two["worker_task_cpu_s"].values())
            print(
                json.dumps(
                    {
                        "dask_speedup_wall": one["wall_s"] / two["wall_s"],
                        "dask_speedup_cpu_critical_path": path_1 / path_2,
                        "task_cpu_by_worker_2": two["worker_task_cpu_s"],
                    }
                ),
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
