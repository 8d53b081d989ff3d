"""Warm ``check_dose`` in CPU µs per call: `python benchmarks/check_dose.py [ROUNDS]`.

The two calls of the performance budget (as ``peers.py`` times them), and the same calls with a new dose (and
CrCl) string every call, more distinct strings than any kept parse, so nothing but the rules' own numbers is
reused. The rounds are interleaved and the median printed as JSON. To compare two builds in one sitting, run it
alternately with each build's interpreter (or ``PYTHONPATH`` to each checkout's ``src``).
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
import timeit
from collections.abc import Callable

import neuroguide as ng


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    b12_doses = itertools.cycle([f"{500 + i} ug" for i in range(3000)])
    gaba = itertools.cycle([(f"{600 + i} mg", f"{20 + (i % 700) / 10} mL/min") for i in range(3000)])

    def gaba_new() -> object:
        dose, crcl = next(gaba)
        return ng.check_dose("gabapentin", dose, per="day", crcl=crcl)

    calls: dict[str, Callable[[], object]] = {
        "b12": lambda: ng.check_dose("cyanocobalamin", "1000 ug", per="day", route="oral"),
        "gabapentin_crcl": lambda: ng.check_dose("gabapentin", "1800 mg", per="day", crcl="45 mL/min"),
        "b12_new_dose": lambda: ng.check_dose("cyanocobalamin", next(b12_doses), per="day", route="oral"),
        "gabapentin_new_dose_and_crcl": gaba_new,
    }
    timers = {label: timeit.Timer(fn, timer=time.process_time) for label, fn in calls.items()}
    for timer in timers.values():
        timer.timeit(3000)  # warm: every cycled string seen once
    runs: dict[str, list[float]] = {label: [] for label in calls}
    number = 5000
    for _ in range(rounds):
        for label, timer in timers.items():
            runs[label].append(timer.timeit(number) / number * 1e6)
    print(json.dumps({label: round(statistics.median(us), 2) for label, us in runs.items()}))


if __name__ == "__main__":
    main()
