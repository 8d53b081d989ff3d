"""Cold start is thread-safe: the first calls of a fresh interpreter may arrive on many threads at once.

In 0.1.0, two or more threads calling at start-up each built a unit registry;
every later call in that process then failed ("Cannot operate with Unit and Unit
of different registries"). Each test starts a new interpreter, so the lazy
initialisation really is exercised.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import datetime as dt, json, sys, threading
    import neuroguide as ng

    PATIENT = {
        "birth_date": "1962-03-14", "sex": "male", "diabetes": {"type": "type-2", "diagnosed": "2012-05-02"},
        "findings": {"numbness": True, "burning-pain": True, "distal-symmetric-pattern": True},
        "measurements": {"weight": "88 kg", "serum-creatinine": "1.1 mg/dL", "hba1c": "7.4 %"},
        "medications": [{"agent": "gabapentin", "dose": "2000 mg", "per": "day"}],
    }

    def work():
        dose = ng.check_dose("gabapentin", "300 mg", per="day", crcl="45 mL/min")
        cg = ng.calculators.cockcroft_gault(age=60, weight="70 kg", serum_creatinine="1.0 mg/dL", sex="male")
        record = ng.assess(PATIENT, as_of=dt.date(2026, 11, 23)).record.to_json()
        return [str(dose.verdict), dose.message, str(cg.value), record]

    n = int(sys.argv[1])
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        barrier.wait()
        try:
            results[i] = work()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reference = work()  # single-threaded, after the race
    print(json.dumps({"errors": errors, "agree": sum(r == reference for r in results), "reference": reference}))
    """
)


def _run(threads: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(threads)], capture_output=True, text=True, check=True, timeout=300
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_eight_threads_on_a_cold_start_all_succeed_and_agree() -> None:
    first = _run(8)
    assert first["errors"] == []
    assert first["agree"] == 8
    # and the answer is the one a separate, single-threaded process gives
    assert _run(1)["reference"] == first["reference"]
