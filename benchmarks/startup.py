"""Start-up of the command line, as whole processes, against a bare interpreter measured in the same run.

Runs each command ``--runs`` times, round robin (so a busy machine slows every command alike), and prints the
minimum and median wall time and CPU time (user + system of the child) of each, with its ratio to
``python -c pass``. ``assess`` is measured twice: with a cold knowledge-base cache (a new, empty cache folder
each run: the guideline files are parsed and validated, then the cache is written) and with a warm one.
The row ``import attrs, cattrs`` is the cost of the core runtime's two libraries alone (a warm ``assess`` imports
only attrs of the two). The floor rows are ``import attrs`` alone and attrs with as many frozen classes as a warm
``assess`` defines, each with as many fields (a generated, byte-compiled module; with and without the cyclic
collector, which the command line pauses for its core commands). The pint row is the cost of pint alone
(``import pint`` and building a registry, minus a bare interpreter), for reading the ``assess`` figure without
pint.

``--against PYTHON`` also runs the warm ``assess`` and ``--version`` of the neuroguide installed for another
interpreter (e.g. a virtual environment with the wheel of another commit) in the same round robin.

Usage: ``python benchmarks/startup.py [--runs 20] [--against OTHER/bin/python]`` with neuroguide installed in the
running interpreter's environment (``nox -s bench`` runs it). Not a test: it reports, it does not judge.
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


_CLASSES_PROBE = """
import contextlib, io, json, sys
import attrs
from neuroguide.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(sys.argv[1:])
seen, todo = set(), [object]
while todo:
    for sub in type.__subclasses__(todo.pop()):
        if sub not in seen:
            seen.add(sub)
            todo.append(sub)
found = [c for c in seen if c.__module__.startswith("neuroguide") and attrs.has(c)]
print(json.dumps(sorted((len(attrs.fields(c)), "__slots__" in c.__dict__) for c in found)))
"""


def _floor_module(python: str, argv: list[str], env: dict[str, str], folder: Path) -> int:
    """Write and byte-compile ``ng_attrs_floor``: as many frozen attrs classes as ``argv`` defines, alike in size.

    Each class has as many fields as one of the attrs classes in the neuroguide modules loaded after running
    ``argv`` in process (slotted alike); no validators, converters or methods. Returns the number of classes.
    """
    import json
    import py_compile

    done = subprocess.run([python, "-c", _CLASSES_PROBE, *argv], env=env, capture_output=True, text=True, check=True)
    shapes = json.loads(done.stdout.strip().splitlines()[-1])
    lines = ["import attrs", ""]
    for i, (fields, slots) in enumerate(shapes):
        lines += [f"@attrs.frozen(slots={slots})", f"class C{i}:"]
        lines += [f"    f{j}: int = 0" for j in range(fields)] or ["    pass"]
    source = folder / "ng_attrs_floor.py"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    py_compile.compile(str(source), doraise=True)  # imported from bytecode, as the package's modules are
    return len(shapes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    parser.add_argument("--against", help="another environment's python: its warm assess and --version, compared")
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).parent / "neuroguide")
    assess = [cli, "assess", str(EXAMPLE), "--as-of", "2026-11-23"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("NEUROGUIDE_CACHE", "NEUROGUIDE_GUIDELINES")}
        warm = {**env, "NEUROGUIDE_CACHE_DIR": str(Path(tmp) / "warm")}
        subprocess.run(assess, env=warm, stdout=subprocess.DEVNULL, check=True)  # fill the warm cache
        pint_loaded = _imports_pint(python, assess[1:], warm)
        floor = Path(tmp) / "floor"
        floor.mkdir()
        classes = _floor_module(python, assess[1:], warm, floor)
        floor_env = {**env, "PYTHONPATH": str(floor)}
        commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "python -c pass": ([python, "-c", "pass"], env),
            "--version": ([cli, "--version"], env),
            "--help": ([cli, "--help"], env),
            "assess (cold cache)": (assess, None),
            "assess (warm cache)": (assess, warm),
            # The floor any start-up on the core runtime pays: the model is attrs classes and cattrs the converter.
            "import attrs, cattrs": ([python, "-c", "import attrs, cattrs"], env),
            "import attrs": ([python, "-c", "import attrs"], env),
            # attrs and as many frozen classes as a warm assess defines (see _floor_module); the command line
            # pauses the cyclic collector for a core command, so the floor is given both ways.
            f"attrs floor: {classes} frozen classes": ([python, "-c", "import ng_attrs_floor"], floor_env),
            f"attrs floor: {classes} frozen classes, collector paused": (
                [python, "-c", "import gc; gc.disable(); import ng_attrs_floor"],
                floor_env,
            ),
            "pint alone (import + registry)": (
                [python, "-c", "import pint; pint.UnitRegistry(autoconvert_offset_to_baseunit=False)"],
                env,
            ),
        }
        if args.against:
            other_cli = str(Path(args.against).parent / "neuroguide")
            other_assess = [other_cli, *assess[1:]]
            other_warm = {**env, "NEUROGUIDE_CACHE_DIR": str(Path(tmp) / "other-warm")}
            subprocess.run(other_assess, env=other_warm, stdout=subprocess.DEVNULL, check=True)
            commands["against: --version"] = ([other_cli, "--version"], env)
            commands["against: assess (warm cache)"] = (other_assess, other_warm)
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
