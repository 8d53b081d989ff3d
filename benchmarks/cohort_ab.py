"""A/B of the cohort engine: this checkout against another build's sources, alternating, in CPU seconds.

On a shared machine wall time means little; each measurement runs in a fresh process (one Polars thread) and
reports CPU seconds (``time.process_time``), the two builds alternating so that load changes hit both. Two
measurements per pair: ``evaluate_batch`` on the second 50,000-row partition of FILE (the first evaluated
before it, as in a run) with the Parquet write of its results, and a whole local run (``_io.run``, imports
excluded). The other build is given as its ``src`` directory (e.g. ``git archive main src guidelines | tar -x
-C /tmp/main``). Usage::

    python benchmarks/cohort_ab.py c.parquet --base /tmp/main/src --pairs 5 [--all-undetermined]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

_CHILD = r"""
import datetime as dt, json, sys, tempfile, time
from pathlib import Path
import pyarrow.parquet as pq
from neuroguide.cohort import _io
from neuroguide.cohort._engine import make_plan
from neuroguide.cohort._parts import evaluate_batch
src, mode = Path(sys.argv[1]), _io.Undetermined(sys.argv[2])
out = {}
with tempfile.TemporaryDirectory() as tmp:
    plan = make_plan(dt.date(2026, 11, 30))
    batches = _io._batches(src, "parquet", 50_000)
    first, batch, units = next(batches)
    resolved = evaluate_batch(batch, first, plan, units, None, mode)[4]
    first, batch, units = next(batches)
    start = time.process_time()
    results = evaluate_batch(batch, first, plan, units, resolved, mode)[0]
    out["evaluate_batch"] = time.process_time() - start
    start = time.process_time()
    with pq.ParquetWriter(Path(tmp) / "p.parquet", results.schema, **_io.WRITE_OPTIONS) as writer:
        writer.write_table(results)
    out["write"] = time.process_time() - start
    start = time.process_time()
    _io.run(src, Path(tmp) / "r.parquet", as_of=dt.date(2026, 11, 30), max_bad_share=1.0, undetermined=mode)
    out["run"] = time.process_time() - start
print(json.dumps(out))
"""


def _measure(src: Path, base: str | None, mode: str) -> dict[str, float]:
    env = dict(os.environ, POLARS_MAX_THREADS="1")
    if base is not None:
        env["PYTHONPATH"] = base
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(src), mode], env=env, capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a Parquet cohort of at least 100,000 rows")
    parser.add_argument("--base", required=True, help="the other build's src directory")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--all-undetermined", action="store_true")
    args = parser.parse_args()
    mode = "all" if args.all_undetermined else "compact"
    found: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
    for i in range(args.pairs):
        for name in ("base", "this") if i % 2 == 0 else ("this", "base"):
            found[name].append(_measure(args.file, args.base if name == "base" else None, mode))
        print(i, {k: v[-1] for k, v in found.items()}, "load", os.getloadavg(), flush=True)
    summary: dict[str, Any] = {}
    for name, runs in found.items():
        summary[name] = {key: round(sorted(r[key] for r in runs)[len(runs) // 2], 3) for key in runs[0]}
    print("medians (CPU s):", json.dumps(summary))


if __name__ == "__main__":
    main()
