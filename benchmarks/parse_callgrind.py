"""Reading a patient in machine instructions, which the load of a shared machine does not change.

Run under callgrind with collection on only inside ``functools.reduce``::

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \\
        python benchmarks/parse_callgrind.py dict 3

(``dict``: ``Patient.from_dict`` of each example's data; ``json``: ``Patient.from_json`` of its text), then
divide the "Collected" total by 3 × the number of examples (14): the mean instructions of one reading. Every
example is read twice first, outside the collected part.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import neuroguide as ng

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "dict"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.json"))]
    calls: list[Callable[[], object]]
    if mode == "json":
        calls = [functools.partial(ng.Patient.from_json, t) for t in texts]
    else:
        calls = [functools.partial(ng.Patient.from_dict, json.loads(t)) for t in texts]
    for _ in range(2):
        for call in calls:
            call()

    def one_round(_acc: None, _i: int) -> None:
        for call in calls:
            call()

    functools.reduce(one_round, range(rounds), None)


if __name__ == "__main__":
    main()
