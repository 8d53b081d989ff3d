"""Dask: two local workers against one on the same Parquet file.

    python benchmarks/cohort_dask.py FILE [BATCH_ROWS] [--pairs N] [--modes whole,existing]

Two ratios, each from runs that alternate 1, 2, 1, 2 workers (so a change in the machine's speed meets both alike),
printed for each pair and on the means:

- ``whole``: each run is a fresh process calling ``neuroguide.cohort.run(..., engine="dask", workers=W)``; the wall
  time includes starting and closing the local cluster (what ``neuroguide cohort --engine dask`` costs).
- ``existing``: each process first starts a cluster of W workers with the engine's own settings, then times
  ``run(..., scheduler=ADDRESS)`` against it twice: ``cold`` (the workers' first run: imports and the first
  partition's warm-up) and ``warm`` (a cluster that has run before, as a long-lived cluster has). The ratio is on
  the warm runs (the cold ones are printed too).

Polars is pinned to one thread in every process (``POLARS_MAX_THREADS=1``), so a worker is one core. Every run prints
one JSON line: wall and client CPU seconds; the wall split into the time before the first task began (imports, plan,
cluster start, the workers' imports), the span of the tasks and the time after the last one ended (its result,
closing the cluster, the errors table); the run's phases (``plan``, ``cluster``, ``tasks``, ``close``, ``errors``:
wall and client CPU each); the median task's CPU (compare it between one and two workers: a rise is the two cores
slowing each other down); and per worker its tasks, their CPU, the first task's extra CPU over the median task
(warm-up), the process's CPU before its first task (start-up imports; on a warm cluster its earlier runs too) and
between its tasks (housekeeping), when its last task ended and how long it then waited for the other's
(``tail_s``); with the 1-minute load average before and after. On a shared machine (load average above the number
of cores) the wall-clock ratios mean little: compare CPU seconds. ``estimate_by_cpu_path`` is the same ratio on each
run's CPU path (the client's CPU outside the tasks phase plus the busiest worker's CPU in the run), which ignores
waiting and contention for the cores: an upper bound, steadier under load, never a substitute for the wall clock.
Needs the ``dask`` extra. Make the file with ``neuroguide cohort synth 1000000 -o c.parquet``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

_CHILD = r"""
import datetime as dt, json, os, statistics, sys, time
from pathlib import Path
from neuroguide.cohort import run

AS_OF = dt.date(2026, 11, 30)


def report(summary, wall, cpu, label, workers, load, called):
    tasks = summary.tasks
    begin = min(t.started for t in tasks)
    end = max(t.finished for t in tasks)
    per = {}
    for t in tasks:
        per.setdefault(t.worker, []).append(t)
    ends = {w: max(t.finished for t in ts) for w, ts in per.items()}
    last = max(ends.values())
    median = statistics.median(t.cpu_s for t in tasks)
    workers_out = []
    for w, ts in sorted(per.items(), key=lambda kv: ends[kv[0]]):
        ts.sort(key=lambda t: t.started)
        task_cpu = sum(t.cpu_s for t in ts)
        steps = {}
        for t in ts:
            for name, seconds in t.steps:
                steps[name] = steps.get(name, 0.0) + seconds
        workers_out.append({
            "tasks": len(ts),
            "task_cpu_s": round(task_cpu, 2),
            "steps_cpu_s": {k: round(v, 2) for k, v in steps.items()},
            "busy_wall_s": round(sum(t.finished - t.started for t in ts), 2),
            "first_task_extra_cpu_s": round(ts[0].cpu_s - median, 2),
            "before_first_task_cpu_s": round(ts[0].process_cpu_s - ts[0].cpu_s, 2),
            "between_tasks_cpu_s": round(ts[-1].process_cpu_s - (ts[0].process_cpu_s - ts[0].cpu_s) - task_cpu, 2),
            "first_start_s": round(ts[0].started - begin, 2),
            "last_end_s": round(ends[w] - begin, 2),
            "tail_s": round(last - ends[w], 2),
        })
    # A load-robust estimate: the client's serial CPU plus the busiest worker's CPU in this run (a warm worker's CPU
    # before its first task belongs to earlier runs).
    serial = sum(p.cpu_s for k, p in summary.phases.items() if k != "tasks")
    fresh = label != "existing-warm"
    path = serial + max(
        w["task_cpu_s"] + w["between_tasks_cpu_s"] + (w["before_first_task_cpu_s"] if fresh else 0.0)
        for w in workers_out
    )
    print(json.dumps({
        "mode": label, "workers": workers, "wall_s": round(wall, 2), "client_cpu_s": round(cpu, 2),
        "cpu_path_s": round(path, 2),
        "phases": {k: [round(p.wall_s, 2), round(p.cpu_s, 2)] for k, p in summary.phases.items()},
        "before_first_task_s": round(begin - called, 2), "tasks_span_s": round(end - begin, 2),
        "after_last_task_s": round(called + wall - end, 2),
        "task_median_cpu_s": round(median, 2), "per_worker": workers_out,
        "rows": summary.rows, "results": summary.results,
        "load_avg_before": round(load, 2), "load_avg_after": round(os.getloadavg()[0], 2),
    }), flush=True)


def timed(src, out, workers, batch, label, scheduler=None):
    load = os.getloadavg()[0]
    called, wall, cpu = time.time(), time.perf_counter(), time.process_time()
    summary = run(Path(src), out, as_of=AS_OF, engine="dask", workers=workers, batch_rows=batch, scheduler=scheduler)
    report(summary, time.perf_counter() - wall, time.process_time() - cpu, label, workers, load, called)


def main():
    mode, src, out, workers, batch = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    if mode == "whole":
        timed(src, out, workers, batch, "whole")
        return
    from distributed import Client
    from neuroguide.cohort._dask import local_cluster

    cluster = local_cluster(workers)
    with Client(cluster) as client:
        client.wait_for_workers(workers)
    try:
        timed(src, out, workers, batch, "existing-cold", cluster.scheduler_address)
        timed(src, out, workers, batch, "existing-warm", cluster.scheduler_address)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
"""


def _ratios(walls: dict[int, list[float]]) -> dict[str, object]:
    pairs = [round(one / two, 3) for one, two in zip(walls[1], walls[2], strict=False)]
    mean = statistics.mean(walls[1]) / statistics.mean(walls[2]) if walls[1] and walls[2] else None
    return {"by_pair": pairs, "on_means": None if mean is None else round(mean, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("batch_rows", nargs="?", type=int, default=50_000)
    parser.add_argument("--pairs", type=int, default=2, help="runs of one and of two workers per mode (default 2)")
    parser.add_argument("--modes", default="whole,existing", help="whole, existing or both (default)")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    walls: dict[str, dict[int, list[float]]] = {}
    paths: dict[str, dict[int, list[float]]] = {}
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            for workers in (1, 2) * args.pairs:
                out = f"{tmp}/r{workers}"
                command = [sys.executable, "-c", _CHILD, mode, args.file, out, str(workers), str(args.batch_rows)]
                done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
                if done.returncode:
                    sys.exit(done.stderr)
                for line in done.stdout.strip().splitlines():
                    figure = json.loads(line)
                    walls.setdefault(figure["mode"], {1: [], 2: []})[workers].append(figure["wall_s"])
                    paths.setdefault(figure["mode"], {1: [], 2: []})[workers].append(figure["cpu_path_s"])
                    print(line, flush=True)
    summary = {label: _ratios(w) for label, w in walls.items()}
    estimate = {label: _ratios(p) for label, p in paths.items()}
    print(
        json.dumps(
            {
                "batch_rows": args.batch_rows,
                "speedup_two_over_one": summary,
                "estimate_by_cpu_path": estimate,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
