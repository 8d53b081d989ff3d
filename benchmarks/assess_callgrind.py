"""Warm ``assess`` in machine instructions, which the load of a shared machine does not change.

Run under callgrind with collection on only inside ``functools.reduce``::

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \\
        python benchmarks/assess_callgrind.py 4

then divide the "Collected" total by 4 × the number of examples (14): the mean instructions of one warm call.
Every example is parsed and assessed twice first, and the plan's gate list compiled (as a long-running process
has it after 64 calls), outside the collected part; the objects made by then are frozen out of the garbage
collector (``gc.freeze()``), so the count does not depend on whether a full collection falls inside the part.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import sys
from pathlib import Path

import neuroguide as ng
from neuroguide.evaluation import compile_gates

AS_OF = dt.date(2026, 11, 23)
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    patients = [ng.Patient.from_json(p) for p in sorted((ROOT / "examples").glob("*.json"))]
    for _ in range(2):
        for p in patients:
            ng.assess(p, as_of=AS_OF)
    compile_gates()  # else the 65th call, inside the collected part, would compile it
    for p in patients:  # the compiled loop's first run (Python specialises its code then)
        ng.assess(p, as_of=AS_OF)
    # The objects made so far are set aside from the garbage collector: otherwise whether a full collection
    # (tens of millions of instructions, traversing the catalog) falls inside the collected part decides the total.
    gc.collect()
    gc.freeze()

    def one_round(_acc: None, _i: int) -> None:
        for p in patients:
            ng.assess(p, as_of=AS_OF)

    functools.reduce(one_round, range(rounds), None)


if __name__ == "__main__":
    main()
