"""Memory soak: `python benchmarks/soak.py [SECONDS] [THREADS]`.

Runs assess (bundled examples over many evaluation dates), check_dose and a calculator on several threads
and prints the resident set size every 5 s; the figure for docs/reliability.md is the growth after warm-up.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import threading
import time
from pathlib import Path

import neuroguide as ng

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover - not Linux


def main(seconds: float, threads: int) -> int:
    examples = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "examples").glob("*.json"))]
    stop = time.monotonic() + seconds
    calls = [0] * threads
    errors: list[str] = []

    def work(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            n += 1
            patient = examples[n % len(examples)]
            as_of = dt.date(2026, 11, 23) + dt.timedelta(days=n % 400)  # beyond the caches' 256 entries
            try:
                ng.assess(patient, as_of=as_of).record.to_json()
                ng.check_dose("gabapentin", f"{300 + n % 900} mg", per="day", crcl=f"{20 + n % 100} mL/min")
                ng.calculators.cockcroft_gault(
                    age=60, weight=f"{50 + n % 50} kg", serum_creatinine="1 mg/dL", sex="male"
                )
            except Exception as exc:
                errors.append(repr(exc))
            calls[i] = n

    ng.assess(examples[0], as_of=dt.date(2026, 11, 23))
    print(f"after warm-up: {rss_mb():.1f} MB")
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    start = time.monotonic()
    while any(t.is_alive() for t in pool):
        time.sleep(5)
        print(f"{time.monotonic() - start:5.0f} s  {rss_mb():7.1f} MB  {sum(calls):,} iterations")
    for t in pool:
        t.join()
    print(f"iterations {sum(calls):,} (each: assess + record JSON, check_dose, cockcroft_gault), errors {len(errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0, int(sys.argv[2]) if len(sys.argv) > 2 else 8))
