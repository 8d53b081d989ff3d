"""Warm ``assess`` per bundled example, and ``check_dose``: `python benchmarks/assess.py [--json OUT]`.

Each example is parsed once (its parse cost is reported separately), assessed once to warm the caches, then
timed: per-call time is the median of ``--repeat`` runs of ``--number`` calls. Three figures per example:

* ``warm``: ``assess(patient, as_of=2026-11-23)`` called again for the same parsed patient (what the budget
  of issue 16 measures: the plan, the compiled criteria, the derived facts and the kept rule results are
  reused);
* ``first``: the same call after forgetting every kept rule result and derived fact table
  (``evaluation.forget_kept``), i.e. the first assessment of a patient whose fact values were never seen;
* ``parse``: ``Patient.from_dict`` of the example's JSON.

Times are CPU time of this process (``time.process_time``), which is far less disturbed than wall time when
other work shares the cores; the load average is printed with the figures. The median over the examples is
the figure the docs quote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 23)


def per_call_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Median per-call CPU time in microseconds over ``repeat`` runs of ``number`` calls."""
    runs = timeit.Timer(fn, timer=time.process_time).repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6


def bench(number: int, repeat: int) -> dict[str, Any]:
    import neuroguide as ng
    from neuroguide import evaluation

    rows: dict[str, dict[str, float]] = {}
    for path in sorted((ROOT / "examples").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        patient = ng.Patient.from_dict(doc)
        ng.assess(patient, as_of=AS_OF)

        forget = getattr(evaluation, "forget_kept", None)  # absent before 0.2.0: nothing was kept

        def first(p: ng.Patient = patient, forget: Callable[[], None] | None = forget) -> object:
            if forget is not None:
                forget()
            return ng.assess(p, as_of=AS_OF)

        rows[path.stem] = {
            "warm": per_call_us(lambda p=patient: ng.assess(p, as_of=AS_OF), number, repeat),
            "first": per_call_us(first, max(1, number // 10), repeat),
            "parse": per_call_us(lambda d=doc: ng.Patient.from_dict(d), max(1, number // 10), repeat),
        }
    dose = {
        "check_dose (B12, no renal table)": per_call_us(
            lambda: ng.check_dose("cyanocobalamin", "350 ug", per="day", route="oral"), number, repeat
        ),
        "check_dose (gabapentin, CrCl band)": per_call_us(
            lambda: ng.check_dose("gabapentin", "900 mg", per="day", crcl="45 mL/min"), number, repeat
        ),
    }
    overall = {kind: statistics.median(r[kind] for r in rows.values()) for kind in ("warm", "first", "parse")}
    return {"examples": rows, "median": overall, "check_dose": dose}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200, help="calls per timed run (default 200)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure (default 7)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    load_before = os.getloadavg()
    figures = bench(args.number, args.repeat)
    load_after = os.getloadavg()
    figures["machine"] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "date": dt.date.today().isoformat(),
    }
    print(f"{'example':32} {'warm µs':>9} {'first µs':>9} {'parse µs':>9}")
    for name, row in figures["examples"].items():
        print(f"{name:32} {row['warm']:9.1f} {row['first']:9.1f} {row['parse']:9.1f}")
    med = figures["median"]
    print(f"{'median of the examples':32} {med['warm']:9.1f} {med['first']:9.1f} {med['parse']:9.1f}")
    for name, us in figures["check_dose"].items():
        print(f"{name:44} {us:9.1f} µs")
    print(f"CPU time of this process; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
