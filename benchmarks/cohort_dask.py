"""Dask: two local workers against one on the same Parquet file: `python benchmarks/cohort_dask.py FILE [BATCH_ROWS]`.

Each run is a fresh process calling ``neuroguide.cohort.run(..., engine="dask", workers=W)`` with Polars pinned to
one thread; the wall time includes starting and closing the local cluster. Runs alternate 1, 2, 1, 2 workers, so a
change in the machine's speed meets both alike; the ratio is printed for each pair and on the means. Needs the
``dask`` extra. Make the file with ``neuroguide cohort synth 1000000 -o c.parquet``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, sys, time, datetime as dt
from pathlib import Path
from neuroguide.cohort import run
src, out, workers, batch = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
start = time.perf_counter()
summary = run(Path(src), out, as_of=dt.date(2026, 11, 30), engine="dask", workers=workers, batch_rows=batch)
print(json.dumps({"wall_s": time.perf_counter() - start, "rows": summary.rows, "results": summary.results}))
"""


def main() -> None:
    src = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    walls: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2, 1, 2):
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, src, f"{tmp}/r{workers}", str(workers), str(batch)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "POLARS_MAX_THREADS": "1"},
            )
            figure = json.loads(done.stdout.strip().splitlines()[-1])
            walls[workers].append(figure["wall_s"])
            print(json.dumps({"workers": workers, **figure, "load_avg": os.getloadavg()[0]}), flush=True)
    pairs = [one / two for one, two in zip(walls[1], walls[2], strict=True)]
    mean = (sum(walls[1]) / len(walls[1])) / (sum(walls[2]) / len(walls[2]))
    print(json.dumps({"batch_rows": batch, "speedup_by_pair": pairs, "speedup_on_means": mean}))


if __name__ == "__main__":
    main()
