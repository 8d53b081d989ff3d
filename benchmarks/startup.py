"""Start-up of the command line, as whole processes, against a bare interpreter measured in the same run.

Runs each command ``--runs`` times, round robin (so a busy machine slows every command alike), and prints the
minimum and median wall time and CPU time (user + system of the child) of each, with its ratio to
``python -c pass``. ``assess`` is measured twice: with a cold knowledge-base cache (a new, empty cache folder
each run: the guideline files are parsed and validated, then the cache is written) and with a warm one.
The row ``import attrs, cattrs`` is the cost of the core runtime's two libraries alone (a warm ``assess`` imports
only attrs of the two; ``import attrs`` alone is most of that row). The last row is the cost of pint alone
(``import pint`` and building a registry, minus a bare interpreter), for reading the ``assess`` figure without
pint.

Usage: ``python benchmarks/startup.py [--runs 20]`` with neuroguide installed in the running interpreter's
environment (``nox -s bench`` runs it). Not a test: it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "t2d-metformin.json"
BUDGET = {"--version": 3.0, "assess (warm cache)": 8.0}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process."""
    cpu = _child_cpu()
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start, _child_cpu() - cpu


def _imports_pint(python: str, argv: list[str], env: dict[str, str]) -> bool:
    probe = "import sys; from neuroguide.cli import main; main(sys.argv[1:]); print('pint' in sys.modules)"
    done = subprocess.run([python, "-c", probe, *argv], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1] == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).parent / "neuroguide")
    assess = [cli, "assess", str(EXAMPLE), "--as-of", "2026-11-23"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("NEUROGUIDE_CACHE", "NEUROGUIDE_GUIDELINES")}
        warm = {**env, "NEUROGUIDE_CACHE_DIR": str(Path(tmp) / "warm")}
        subprocess.run(assess, env=warm, stdout=subprocess.DEVNULL, check=True)  # fill the warm cache
        pint_loaded = _imports_pint(python, assess[1:], warm)
        commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "python -c pass": ([python, "-c", "pass"], env),
            "--version": ([cli, "--version"], env),
            "--help": ([cli, "--help"], env),
            "assess (cold cache)": (assess, None),
            "assess (warm cache)": (assess, warm),
            # The floor any start-up on the core runtime pays: the model is attrs classes and cattrs the converter.
            "import attrs, cattrs": ([python, "-c", "import attrs, cattrs"], env),
            "pint alone (import + registry)": (
                [python, "-c", "import pint; pint.UnitRegistry(autoconvert_offset_to_baseunit=False)"],
                env,
            ),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        load_before = os.getloadavg()[0]
        for i in range(args.runs):
            for name, (argv, run_env) in commands.items():
                if run_env is None:  # a new, empty cache folder: a cold start
                    run_env = {**env, "NEUROGUIDE_CACHE_DIR": str(Path(tmp) / f"cold-{i}")}
                times[name].append(_run(argv, run_env))
        load_after = os.getloadavg()[0]
    base_wall = statistics.median(w for w, _ in times["python -c pass"])
    base_cpu = statistics.median(c for _, c in times["python -c pass"])
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {args.runs} runs each, round robin; "
        f"load average {load_before:.1f} before, {load_after:.1f} after"
    )
    print()
    print("| command | wall min / median (ms) | CPU min / median (ms) | × `python -c pass` (wall / CPU, medians) |")
    print("| --- | --- | --- | --- |")
    for name, samples in times.items():
        walls, cpus = [w for w, _ in samples], [c for _, c in samples]
        mw, mc = statistics.median(walls), statistics.median(cpus)
        budget = f" (budget ≤ {BUDGET[name]:g}×)" if name in BUDGET else ""
        print(
            f"| {name} | {min(walls) * 1e3:.0f} / {mw * 1e3:.0f} | {min(cpus) * 1e3:.0f} / {mc * 1e3:.0f} "
            f"| {mw / base_wall:.1f} / {mc / base_cpu:.1f}{budget} |"
        )
    pint_cpu = statistics.median(c for _, c in times["pint alone (import + registry)"]) - base_cpu
    warm_cpu = statistics.median(c for _, c in times["assess (warm cache)"])
    print()
    if pint_loaded:
        print(
            f"assess (warm cache) imports pint; without pint's own cost: ≈{(warm_cpu - pint_cpu) * 1e3:.0f} ms CPU, "
            f"{(warm_cpu - pint_cpu) / base_cpu:.1f} × python -c pass (pint alone: {pint_cpu * 1e3:.0f} ms CPU)"
        )
    else:
        print("assess (warm cache) does not import pint.")


if __name__ == "__main__":
    main()
