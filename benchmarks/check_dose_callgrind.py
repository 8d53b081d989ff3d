"""Warm ``check_dose`` in machine instructions, which the load of a shared machine does not change.

The two calls of the performance budget (as ``peers.py`` times them). Run under callgrind with collection on
only inside ``functools.reduce``::

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \\
        python benchmarks/check_dose_callgrind.py b12 1000

then divide the "Collected" total by 1000: the instructions of one warm call (``gaba`` for the gabapentin call
with a CrCl band). Each call is made 50 times first, outside the collected part.
"""

from __future__ import annotations

import functools
import sys

import neuroguide as ng

CALLS = {
    "b12": lambda: ng.check_dose("cyanocobalamin", "1000 ug", per="day", route="oral"),
    "gaba": lambda: ng.check_dose("gabapentin", "1800 mg", per="day", crcl="45 mL/min"),
}


def main() -> None:
    call = CALLS[sys.argv[1] if len(sys.argv) > 1 else "b12"]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    for _ in range(50):
        call()
    functools.reduce(lambda _acc, _i: call(), range(rounds), None)


if __name__ == "__main__":
    main()
