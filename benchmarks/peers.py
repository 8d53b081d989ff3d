"""Side-by-side benchmark against peer calculator packages: `nox -s bench` (or `python benchmarks/peers.py`).

Measures, in one run on one machine: each calculator neuroguide shares with a peer (Cockcroft–Gault),
neuroguide's whole-process start against a bare interpreter, warm `assess` over the examples and
`check_dose`. Peers are optional: a peer that is not installed is reported as absent. Writes the
table, with ratios, between the markers in docs/performance.md when `--write` is given.

Per-call figures are the CPU time of this process (``time.process_time``), so time spent waiting for
a busy machine's cores is not counted; the repeats of all calls are interleaved (round-robin) and the
median is reported, so a burst of load affects every implementation alike. The load average is
recorded before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
AS_OF = dt.date(2026, 11, 23)

# One patient for every Cockcroft–Gault implementation: 60 y, 70 kg, creatinine 1.0 mg/dL, male (77.8 mL/min).
AGE, WEIGHT, SCR = 60, 70.0, 1.0


def per_call_us(fn: Callable[[], object], repeat: int = 7) -> float:
    """Median over `repeat` runs of the mean CPU µs per call (each run ≥ 0.05 s)."""
    return interleaved({"fn": fn}, repeat)["fn"]


def interleaved(fns: dict[str, Callable[[], object]], repeat: int = 9) -> dict[str, float]:
    """Median CPU µs per call of each function, the repeats taken round-robin across all of them."""
    timers = {label: timeit.Timer(fn, timer=time.process_time) for label, fn in fns.items()}
    numbers = {}
    for label, timer in timers.items():
        timer.timeit(1)  # first use (caches, imports) is not a warm call
        one = max(timer.timeit(20) / 20, 1e-8)
        numbers[label] = max(1, int(0.05 / one))
    runs: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(repeat):
        for label, timer in timers.items():
            runs[label].append(timer.timeit(numbers[label]) / numbers[label] * 1e6)
    return {label: statistics.median(values) for label, values in runs.items()}


def calculators() -> dict[str, Callable[[], object]]:
    """Every Cockcroft–Gault implementation available here, by label (each checked to give 77.8 mL/min)."""
    import neuroguide as ng
    from neuroguide.formulas import crcl_from_floats

    out: dict[str, Callable[[], object]] = {
        "plain float (the formula only)": lambda: (140 - AGE) * WEIGHT / (72 * SCR),
        "neuroguide `crcl_from_floats` (float core)": lambda: crcl_from_floats(AGE, WEIGHT, SCR, False),
        "neuroguide `cockcroft_gault` (unit strings)": lambda: ng.calculators.cockcroft_gault(
            age=AGE, weight="70 kg", serum_creatinine="1.0 mg/dL", sex="male"
        ),
        "neuroguide `creatinine_clearance` (bmi-dependent)": lambda: ng.calculators.creatinine_clearance(
            age=AGE,
            weight="70 kg",
            serum_creatinine="1.0 mg/dL",
            sex="male",
            height="175 cm",
            weight_convention="bmi-dependent",
        ),
    }
    if importlib.util.find_spec("open_medicine"):
        from open_medicine.mcp.calculators.cockcroft_gault import CockcroftGaultParams, calculate_cockcroft_gault

        out["open-medicine"] = lambda: calculate_cockcroft_gault(
            CockcroftGaultParams(age=AGE, weight=WEIGHT, is_female=False, serum_creatinine=SCR)
        )
    if importlib.util.find_spec("clincalc"):
        import clincalc

        out["clincalc"] = lambda: clincalc.calculate(
            "cockcroft_gault",
            {"age": AGE, "weight_kg": WEIGHT, "sex": "male", "creatinine": SCR, "creatinine_unit": "mg/dL"},
        )
    if importlib.util.find_spec("medcalc"):
        from medcalc import creatinine_clearance

        params = {
            "sex": "Male",
            "weight": (WEIGHT, "kg"),
            "height": (175, "cm"),
            "age": (AGE, "years"),
            "creatinine": (SCR, "mg/dL"),
        }
        out["medcalc-bench"] = lambda: creatinine_clearance.generate_cockcroft_gault_explanation(params)
    return out


def start_ms(argv: list[str], runs: int = 9) -> float:
    """Median wall ms of a whole process."""
    times = []
    for _ in range(runs):
        t = timeit.default_timer()
        subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
        times.append((timeit.default_timer() - t) * 1e3)
    return statistics.median(times)


def warm() -> dict[str, float]:
    import neuroguide as ng

    names = sorted(p.stem for p in (ROOT / "examples").glob("*.json"))
    patients = [ng.Patient.from_json(ROOT / "examples" / f"{n}.json") for n in names]
    calls: dict[str, Callable[[], object]] = {
        n: (lambda p=p: ng.assess(p, as_of=AS_OF)) for n, p in zip(names, patients, strict=True)
    }
    calls["patient_us"] = lambda: ng.Patient.from_json(ROOT / "examples" / "t2d-metformin.json")
    got = interleaved(calls, repeat=5)
    per_example = [got[n] for n in names]
    return {
        "assess_median_us": statistics.median(per_example),
        "assess_max_us": max(per_example),
        "patient_us": got["patient_us"],
    }


def measure() -> dict[str, object]:
    import neuroguide as ng

    load_before = os.getloadavg()
    # The dose checks are timed in the same round-robin as the peers' calls, so their ratio to a peer holds.
    doses: dict[str, Callable[[], object]] = {
        "check_dose_us": lambda: ng.check_dose("cyanocobalamin", "1000 ug", per="day", route="oral"),
        "check_dose_renal_us": lambda: ng.check_dose("gabapentin", "1800 mg", per="day", crcl="45 mL/min"),
    }
    timed = interleaved({**calculators(), **doses})
    cg = {label: us for label, us in timed.items() if label not in doses}
    beside = Path(sys.executable).parent / "neuroguide"  # the script installed with this interpreter
    exe = str(beside) if beside.exists() else shutil.which("neuroguide") or "neuroguide"
    bare = start_ms([sys.executable, "-c", "pass"])
    example = ["examples/t2d-metformin.json", "--as-of", AS_OF.isoformat()]
    return {
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "cockcroft_gault_us": cg,
        "start_ms": {
            "python -c pass": bare,
            "neuroguide --version": start_ms([exe, "--version"]),
            "neuroguide assess (example)": start_ms([exe, "assess", *example]),
        },
        **warm(),
        **{label: timed[label] for label in doses},
        "load": [load_before[0], os.getloadavg()[0]],
        "cpus": os.cpu_count(),
    }


def table(res: dict[str, object]) -> str:
    cg = res["cockcroft_gault_us"]
    assert isinstance(cg, dict)
    ours = cg["neuroguide `cockcroft_gault` (unit strings)"]
    load = res["load"]
    assert isinstance(load, list)
    lines = [
        f"Measured by `nox -s bench` (`python benchmarks/peers.py --write`) on {res['machine']}, "
        f"{dt.date.today().isoformat()}; peers installed in the same environment. Per call: CPU time of the "
        f"benchmark process, median of interleaved repeats. Load average {load[0]:.1f} before and "
        f"{load[1]:.1f} after, on {res['cpus']} CPUs.",
        "",
        "| Cockcroft–Gault, one call | µs (median) | × plain float | neuroguide unit-string call ÷ this |",
        "| --- | ---: | ---: | ---: |",
    ]
    floor = cg["plain float (the formula only)"]
    for label, us in cg.items():
        lines.append(f"| {label} | {us:.2f} | {us / floor:.0f}× | {ours / us:.2f} |")
    budget = [
        f"| `cockcroft_gault` (unit strings) ÷ open-medicine | {ours / cg['open-medicine']:.2f} | ≤ 1.0 |"
        if "open-medicine" in cg
        else "| `cockcroft_gault` ÷ open-medicine | open-medicine not installed | ≤ 1.0 |",
    ]
    bmi = cg["neuroguide `creatinine_clearance` (bmi-dependent)"]
    if "open-medicine" in cg:
        om = cg["open-medicine"]
        budget.append(f"| `creatinine_clearance` (bmi-dependent) ÷ open-medicine | {bmi / om:.2f} | ≤ 2.0 |")
        # The quiet-machine figure for open-medicine's call is 3.5 µs: a ratio times 3.5 estimates µs there.
        for key, what in (("check_dose_us", "B12"), ("check_dose_renal_us", "gabapentin, CrCl band")):
            us = res[key]
            assert isinstance(us, float)
            budget.append(
                f"| `check_dose` ({what}) ÷ open-medicine; × 3.5 µs (quiet-machine estimate) | "
                f"{us / om:.2f}; ≈ {us / om * 3.5:.1f} µs | ≤ 10 µs |"
            )
    lines += ["", "| budget (issue 16) | this run | budget |", "| --- | ---: | ---: |", *budget]
    start = res["start_ms"]
    assert isinstance(start, dict)
    bare = start["python -c pass"]
    lines += ["", "| whole process | ms (median of 9) | × `python3 -c pass` |", "| --- | ---: | ---: |"]
    for label, ms in start.items():
        lines.append(f"| `{label}` | {ms:.0f} | {ms / bare:.1f}× |")
    lines += [
        "",
        "| warm call | µs |",
        "| --- | ---: |",
        f"| `assess` of an example (median of the examples) | {res['assess_median_us']:.0f} |",
        f"| `assess`, slowest example | {res['assess_max_us']:.0f} |",
        f"| `check_dose` (B12, no renal table) | {res['check_dose_us']:.1f} |",
        f"| `check_dose` with a CrCl band (gabapentin) | {res['check_dose_renal_us']:.1f} |",
        f"| `Patient.from_json` (t2d-metformin example) | {res['patient_us']:.0f} |",
    ]
    return "\n".join(lines)


def write(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc:
        head, _, rest = doc.partition(BEGIN)
        _, _, tail = rest.partition(END)
        doc = head + block + tail
    else:
        doc = doc.rstrip() + "\n\n## Side by side with peer packages\n\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    args = parser.parse_args()
    res = measure()
    text = table(res)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
