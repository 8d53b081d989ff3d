"""Benchmarks: `python benchmarks/run.py [--cohort N] [--json OUT]` (or `nox -s bench`).

Measures import time, loading every guideline (and the integrity check it starts with), one warm `assess` per
bundled example, `check_dose`,
each calculator, and a seeded synthetic cohort. Figures go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import random
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 23)


def _best(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Best per-call time in microseconds over `repeat` runs of `number` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def bench_import() -> dict[str, float]:
    runs = []
    for _ in range(7):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import time; t=time.perf_counter(); import neuroguide; print(time.perf_counter()-t)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(float(out.stdout) * 1e3)
    first_use = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t=time.perf_counter(); import neuroguide as ng; ng.load_guideline('ada-neuropathy'); "
            "print(time.perf_counter()-t)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {"import_ms_median": statistics.median(runs), "first_load_ms": float(first_use.stdout) * 1e3}


def bench_load() -> dict[str, float]:
    from neuroguide import _loading

    root = _loading.guideline_root()
    _loading.Catalog(root)  # warm the converter hooks
    per = _best(lambda: _loading.Catalog(root), number=3, repeat=5)
    cat = _loading.Catalog(root)
    rules = sum(len(g.rules) for g in cat.all())

    def verify_lock() -> object:
        # What Catalog does before parsing: hash every file, compare with lock.json.
        data = {name: entry.read_bytes() for name, entry in _loading.guideline_files(root)}
        actual = {name: hashlib.sha256(b).hexdigest() for name, b in data.items()}
        return _loading._mismatches(_loading.read_lock(root), actual)

    lock_us = _best(verify_lock, number=20)
    wheel_us = _best(lambda: _loading._installed_mismatches(root), number=20)
    return {
        "load_all_ms": per / 1e3,
        "files": float(len(cat.all())),
        "rules": float(rules),
        "verify_lock_ms": lock_us / 1e3,
        "verify_wheel_record_ms": wheel_us / 1e3,
        "verify_share_of_load_pct": 100 * (lock_us + wheel_us) / per,
    }


def bench_assess() -> dict[str, float]:
    import neuroguide as ng

    out: dict[str, float] = {}
    for path in sorted((ROOT / "examples").glob("*.json")):
        patient = ng.Patient.from_json(path)
        ng.assess(patient, as_of=AS_OF)
        out[f"assess_us[{path.stem}]"] = _best(lambda p=patient: ng.assess(p, as_of=AS_OF), number=200)
    # The budget (issue 16) is on the median over the examples; benchmarks/assess.py gives CPU-time medians.
    out["assess_us_median_of_examples"] = statistics.median(out.values())
    return out


def bench_dose_and_calculators() -> dict[str, float]:
    import neuroguide as ng
    from neuroguide.calculators import REGISTRY

    out = {
        "check_dose_us": _best(lambda: ng.check_dose("cyanocobalamin", "350 ug", per="day", route="oral"), 500),
        "check_dose_renal_us": _best(lambda: ng.check_dose("gabapentin", "900 mg", per="day", crcl="45 mL/min"), 500),
    }
    samples: dict[str, dict[str, Any]] = {
        "cockcroft-gault": {"age": 70, "weight": "72 kg", "serum_creatinine": "1.4 mg/dL", "sex": "female"},
        "bsa-mosteller": {"height": "170 cm", "weight": "70 kg"},
    }
    for name, kwargs in samples.items():
        if name in REGISTRY:
            out[f"calc_us[{name}]"] = _best(lambda n=name, k=kwargs: REGISTRY[n](**k), 2000)
    from neuroguide.calculators import crcl_from_floats

    out["calc_us[cockcroft-gault floats]"] = _best(lambda: crcl_from_floats(70.0, 72.0, 1.4, True), 100000)
    return out


def synthetic_patient(rng: random.Random, i: int) -> dict[str, Any]:
    """One seeded synthetic patient (plain data, as an integrator would send it)."""
    age = rng.randint(20, 90)
    born = dt.date(AS_OF.year - age, rng.randint(1, 12), rng.randint(1, 28))
    data: dict[str, Any] = {"id": f"s{i}", "birth_date": born.isoformat(), "sex": rng.choice(["female", "male"])}
    if rng.random() < 0.6:
        days = rng.randint(0, 365 * min(30, age - 18))
        data["diabetes"] = {
            "type": rng.choice(["type-1", "type-2", "type-2", "type-2"]),
            "diagnosed": (AS_OF - dt.timedelta(days=days)).isoformat(),
        }
        data["last"] = {"neuropathy-exam": (AS_OF - dt.timedelta(days=rng.randint(10, 700))).isoformat()}
    data["findings"] = {
        f: rng.random() < 0.3
        for f in (
            "monofilament-abnormal",
            "vibration-abnormal",
            "pad",
            "foot-deformity",
            "prior-foot-ulcer",
            "claudication",
        )
    }
    data["measurements"] = {
        "weight": f"{rng.uniform(45, 130):.1f} kg",
        "serum-creatinine": f"{rng.uniform(0.5, 3.0):.2f} mg/dL",
    }
    return data


def bench_cohort(n: int) -> dict[str, float]:
    import neuroguide as ng

    rng = random.Random(20261123)
    raw = [synthetic_patient(rng, i) for i in range(n)]
    t0 = time.perf_counter()
    patients = [ng.Patient.from_dict(d) for d in raw]
    t1 = time.perf_counter()
    fired = 0
    for p in patients:
        fired += len(ng.assess(p, as_of=AS_OF, explain=False).recommendations)
    t2 = time.perf_counter()
    sample = patients[: min(n, 5000)]
    t3 = time.perf_counter()
    for p in sample:
        ng.assess(p, as_of=AS_OF)
    t4 = time.perf_counter()
    return {
        "cohort_size": float(n),
        "cohort_parse_s": t1 - t0,
        "cohort_assess_s (explain=False)": t2 - t1,
        "cohort_assess_us_per_patient (explain=False)": (t2 - t1) / n * 1e6,
        "cohort_assess_us_per_patient (explained, first 5000)": (t4 - t3) / len(sample) * 1e6,
        "cohort_recommendations": float(fired),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cohort", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
    }
    for part in (bench_import, bench_load, bench_assess, bench_dose_and_calculators):
        figures.update(part())
    figures.update(bench_cohort(args.cohort))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:{width}}  {value:,.3f}" if isinstance(value, float) else f"{key:{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
