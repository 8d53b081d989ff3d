"""Mutation testing of the guideline numbers: does the suite notice a changed number in an approved rule.

Run with ``nox -s mutate`` (opt-in). For every numeric value, comparison operator and inclusive flag in the
logic of an approved rule, one mutant changes that one token (one step down or up in its last digit, doubled,
operator or flag flipped). A mutant is killed when the tests that can see its rule fail: the tests marked
``@pytest.mark.rule(<rule id>)`` plus the example tests, run against a scratch copy of ``src/``,
``guidelines/``, ``tests/`` and ``examples/`` in which the mutant is written and the lock re-pinned (so the copy
is internally consistent).

How it is fast enough to run every mutant: the tests are collected once, giving each rule its test files; a
few long-lived worker processes (``--workers``, one scratch copy each) import the package and parse every
guideline file once, then fork a fresh child per mutant that runs pytest on that rule's files only. A
fork is a clean process (no cache, catalog or module state survives from one mutant to the next); the only
thing shared is the parse of unchanged guideline files, memoised by their exact bytes. A mutant whose tests
run longer than ``--timeout`` seconds counts as killed (the suite noticed something) and is named as such.

The summary (kill rate, per-file counts, every survivor with its file, line and token) is written to
``docs/_generated/mutation.json``; ``--write`` turns it, with the reasons recorded for survivors in
``tools/mutation_survivors.toml``, into the docs page ``docs/mutation.md``.

Usage: ``python tools/mutate.py [--workers N] [--sample N] [--seed S] [--files GLOB] [--list] [--write]``
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import queue
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Keys whose values are rule logic (never text, citations or sources).
NUMBER_KEYS = (
    "dose_min|dose_max|maximum|plausible_max|daily_min|daily_max|crcl_lower|crcl_upper|cumulative_threshold|"
    "duration_threshold|interval|after|shortest|longest|lower|upper|places|value|per"
)
_QUOTED = re.compile(rf"\b(?P<key>{NUMBER_KEYS})\s*=\s*\"(?P<num>-?\d+(?:\.\d+)?)(?P<rest>\s*[^\"]*)\"")
_BARE = re.compile(rf"\b(?P<key>{NUMBER_KEYS})\s*=\s*(?P<num>-?\d+(?:\.\d+)?)\b(?!\s*[-:])")
_OP = re.compile(r"\bop\s*=\s*\"(?P<op><=|>=|<|>)\"")
_FLAG = re.compile(r"\b(?P<key>lower_inclusive|upper_inclusive)\s*=\s*(?P<val>true|false)\b")
_FLIP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


@dataclass
class Mutant:
    """One changed token in one guideline file, and whether the tests noticed."""

    file: str
    line: int
    original: str
    mutant: str
    rule: str
    start: int
    end: int
    killed: bool | None = None
    by: str = ""


def _steps(num: str) -> list[str]:
    decimals = len(num.split(".")[1]) if "." in num else 0
    step = 10.0**-decimals
    value = float(num)
    out = []
    for new in (value - step, value + step, value * 2):
        if new < 0:
            continue
        text = f"{new:.{decimals}f}"
        if text != num:
            out.append(text)
    return out


def _rule_spans(text: str) -> list[tuple[int, str, str]]:
    """(offset, rule id, status) for each [[rules]] table start, in file order."""
    spans = []
    for m in re.finditer(r"^\[\[rules\]\]\s*$", text, re.M):
        block = text[m.end() : m.end() + 4000]
        rid = re.search(r'^id\s*=\s*"([^"]+)"', block, re.M)
        nxt = block.find("\n[[rules]]")
        head = block if nxt < 0 else block[:nxt]
        status = re.search(r'^status\s*=\s*"([^"]+)"', head, re.M)
        spans.append((m.start(), rid.group(1) if rid else "?", status.group(1) if status else "approved"))
    return spans


def _rule_at(spans: list[tuple[int, str, str]], offset: int) -> tuple[str, str] | None:
    found = None
    for start, rid, status in spans:
        if start <= offset:
            found = (rid, status)
    return found


def _in_comment_or_text(text: str, offset: int) -> bool:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    text_key = re.match(r"\s*(quote|statement|boundary|regimen|action|via)\s*=", line)
    return line.lstrip().startswith("#") or text_key is not None


def enumerate_mutants(path: Path) -> list[Mutant]:
    text = path.read_text(encoding="utf-8")
    base = tomllib.loads(text)
    spans = _rule_spans(text)
    found: list[Mutant] = []

    def add(start: int, end: int, new: str) -> None:
        where = _rule_at(spans, start)
        if where is None or where[1] != "approved" or _in_comment_or_text(text, start):
            return
        mutated = text[:start] + new + text[end:]
        try:
            if tomllib.loads(mutated) == base:
                return
        except tomllib.TOMLDecodeError:
            return
        line = text.count("\n", 0, start) + 1
        rel = path.resolve().relative_to(ROOT / "guidelines").as_posix()
        found.append(Mutant(rel, line, text[start:end], new, where[0], start, end))

    for m in _QUOTED.finditer(text):
        for new in _steps(m.group("num")):
            add(m.start("num"), m.end("num"), new)
    for m in _BARE.finditer(text):
        for new in _steps(m.group("num")):
            add(m.start("num"), m.end("num"), new)
    for m in _OP.finditer(text):
        add(m.start("op"), m.end("op"), _FLIP[m.group("op")])
    for m in _FLAG.finditer(text):
        add(m.start("val"), m.end("val"), "false" if m.group("val") == "true" else "true")
    return found


def in_force_files() -> list[Path]:
    """The newest version file of each guideline (the rules a clinician gets today)."""
    out = []
    for folder in sorted((ROOT / "guidelines").iterdir()):
        if folder.is_dir():
            files = sorted(folder.glob("*.toml"), key=lambda p: [int(x) for x in p.stem.split(".")])
            if files:
                out.append(files[-1])
    return out


def _copy(work: Path) -> None:
    # A frozen snapshot of code, data, tests and examples: edits to the checkout during a run change nothing.
    # (docs, tools, benchmarks and the top-level files too: some test modules read them at import.)
    skip = shutil.ignore_patterns("__pycache__", ".hypothesis", "_build", "_generated")
    for folder in ("src", "guidelines", "tests", "examples", "docs", "tools", "benchmarks"):
        shutil.copytree(ROOT / folder, work / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "noxfile.py"):
        shutil.copyfile(ROOT / name, work / name)


def _pin(work: Path, rel: str) -> None:
    lock_path = work / "guidelines" / "lock.json"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    digest = hashlib.sha256((work / "guidelines" / rel).read_bytes()).hexdigest()
    files = lock.get("files", lock)
    if isinstance(files, dict) and rel in files:
        files[rel] = digest
    lock_path.write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")


def _env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(work / "src"),
        "NEUROGUIDE_GUIDELINES": str(work / "guidelines"),
        "HYPOTHESIS_PROFILE": "dev",
        # Plugins are named, not discovered: a discovered plugin's package is marked for assertion rewriting,
        # which would make every child re-import (and re-rewrite) hypothesis instead of sharing the warm import.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


# -- collection: which test files can see which rule ------------------------------------------------------

EXAMPLE_TESTS = "tests/test_examples.py"
PYTEST_ARGS = ("-q", "-x", "-p", "no:cacheprovider", "-p", "_hypothesis_pytestplugin")


class _Recorder:
    """pytest plugin: the test files holding tests marked ``rule(<id>)``, per rule id."""

    def __init__(self) -> None:
        self.files: dict[str, set[str]] = {}

    def pytest_collection_finish(self, session: Any) -> None:
        for item in session.items:
            rel = Path(str(item.path)).resolve().relative_to(Path.cwd().resolve()).as_posix()
            for mark in item.iter_markers("rule"):
                if mark.args:
                    self.files.setdefault(str(mark.args[0]), set()).add(rel)


def _collect_here(out: Path) -> int:
    rec = _Recorder()
    code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests"], plugins=[rec])
    out.write_text(json.dumps({k: sorted(v) for k, v in rec.files.items()}, indent=1), encoding="utf-8")
    return int(code)


def collect(work: Path) -> dict[str, list[str]]:
    """Collect the copy's tests once, in a subprocess: ``{rule id: [test files]}``."""
    out = work / "rule-tests.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--collect-into", str(out)]
    done = subprocess.run(cmd, cwd=work, env=_env(work), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"test collection failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    found: dict[str, list[str]] = json.loads(out.read_text(encoding="utf-8"))
    return found


def selection(files: dict[str, list[str]], rules: list[str]) -> list[str]:
    """Pytest arguments for these rules: their test files, then the example tests, and the rule filter."""
    wanted = sorted({f for r in rules for f in files.get(r, [])} - {EXAMPLE_TESTS})
    return [*wanted, EXAMPLE_TESTS, *(f"--rule-id={r}" for r in rules)]


# -- the worker: one per scratch copy, a forked child per mutant --------------------------------------------


class _FirstFailure:
    """pytest plugin: the node id of the first failing test (or collection error)."""

    def __init__(self) -> None:
        self.nodeid = ""

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed and not self.nodeid:
            self.nodeid = report.nodeid

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed and not self.nodeid:
            self.nodeid = f"collecting {report.nodeid}"


def _run_child(args: list[str], timeout: float) -> tuple[str, str]:
    """Fork; the child runs pytest with ``args``. Returns (outcome, first failing test)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a clean copy of the warmed worker
        os.close(read_end)
        _reset_state()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        first = _FirstFailure()
        try:
            code = int(pytest.main([*PYTEST_ARGS, *args], plugins=[first]))
        except BaseException as exc:
            code, first.nodeid = 3, f"pytest crashed: {exc!r}"[:300]
        os.write(write_end, json.dumps({"code": code, "by": first.nodeid}).encode())
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_end], [], [], left)
        if ready:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_end)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if timed_out:
        return "timeout", f"no result within {timeout:.0f} s"
    try:
        result = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        result = {}
    code = result.get("code", -1)
    # 0 passed: survived. 1 failed, 2 interrupted (e.g. the mutant file refused at load): killed.
    outcome = {0: "survived", 1: "killed", 2: "killed"}.get(code, "error")
    return outcome, str(result.get("by", "")) or f"pytest exit code {code}"


def _memoise_parsing(root: Path) -> None:
    """Parse every guideline file once; a child re-parses only the file its mutant changed.

    Also: the scratch copy stands for a release whose lock was re-pinned to the mutant, so the second integrity
    layer, the installed wheel's own record of file hashes (an editable install records the checkout's
    guideline files), is switched off here. Left on, it would refuse every mutant at load and every mutant
    would count as killed without any test having looked at its number.
    """
    from neuroguide import _loading

    _loading._installed_mismatches = lambda root, hashes=None: []

    parse = _loading.load_file
    memo: dict[tuple[bytes, str], Any] = {}

    def load_file(data: bytes, name: str) -> Any:
        key = (hashlib.sha256(data).digest(), name)
        if key not in memo:
            memo[key] = parse(data, name)  # errors are raised, never memoised
        return memo[key]

    _loading.load_file = load_file
    for name, entry in _loading.guideline_files(root):
        load_file(entry.read_bytes(), name)


class _CatalogAtImport:
    """pytest plugin: the test modules that load the guideline catalog while being imported."""

    def __init__(self) -> None:
        self.names: list[str] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: Any) -> Any:
        from neuroguide import _loading

        report = yield
        if isinstance(collector, pytest.Module) and _loading._catalog is not None:
            self.names.append(collector.obj.__name__)
            _loading._catalog = None
        return report


def _preimport(files: dict[str, list[str]]) -> None:
    """Import the selected test modules once (collect only), so that the forked children reuse them.

    pytest reuses a test module already in ``sys.modules`` (importlib import mode). That is only sound for a
    module that reads no guideline data while being imported; a module that loads the catalog at import
    (e.g. to parametrize over rules) is dropped again, so every child imports it afresh.
    """
    wanted = sorted({f for found in files.values() for f in found} | {EXAMPLE_TESTS})
    watch = _CatalogAtImport()
    null = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    os.dup2(null, 1)
    try:
        pytest.main([*PYTEST_ARGS, "--collect-only", *wanted], plugins=[watch])
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
    for name in watch.names:
        sys.modules.pop(name, None)
    _reset_state()


def _reset_state() -> None:
    """Forget everything derived from guideline data: the catalog and every function-level cache."""
    from neuroguide import _loading

    _loading._catalog = None
    for name, module in list(sys.modules.items()):
        if name == "neuroguide" or name.startswith("neuroguide."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()


def worker(work: Path, timeout: float) -> int:
    """Serve tasks (JSON lines on stdin) against the scratch copy ``work``; answer one JSON line each."""
    os.chdir(work)
    import hypothesis  # noqa: F401 - warm imports shared by every child

    import neuroguide.cli  # noqa: F401

    _memoise_parsing(work / "guidelines")
    _preimport(json.loads((work / "rule-tests.json").read_text(encoding="utf-8")))
    for line in sys.stdin:
        task = json.loads(line)
        target = work / "guidelines" / task["file"] if task.get("file") else None
        lock = work / "guidelines" / "lock.json"
        original, original_lock = (target.read_bytes() if target else b""), lock.read_bytes()
        try:
            if target is not None:
                text = original.decode("utf-8")
                target.write_text(text[: task["start"]] + task["mutant"] + text[task["end"] :], encoding="utf-8")
                _pin(work, task["file"])
            began = time.monotonic()
            outcome, by = _run_child(task["args"], timeout)
            seconds = time.monotonic() - began
        finally:
            if target is not None:
                target.write_bytes(original)
            lock.write_bytes(original_lock)
        print(json.dumps({"outcome": outcome, "by": by, "seconds": round(seconds, 1)}), flush=True)
    return 0


class _Pool:
    """``n`` worker processes, each with its own scratch copy under ``tmp``."""

    def __init__(self, tmp: Path, n: int, timeout: float) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.files: dict[str, list[str]] = {}
        for i in range(n):
            work = tmp / f"w{i}"
            _copy(work)
            if i == 0:
                self.files = collect(work)
            else:
                shutil.copyfile(tmp / "w0" / "rule-tests.json", work / "rule-tests.json")
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(work), "--timeout", str(timeout)]
            self.procs.append(
                subprocess.Popen(
                    cmd, cwd=work, env=_env(work), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
            )

    @staticmethod
    def ask(proc: subprocess.Popen[str], task: dict[str, Any]) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(task) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"a mutation worker stopped (exit code {proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            proc.wait()


def run_all(mutants: list[Mutant], workers: int, timeout: float) -> None:
    """Run every mutant (sets ``killed`` and ``by``), after a calibration run of the unmutated copy."""
    with tempfile.TemporaryDirectory(prefix="neuroguide-mutate-") as tmp:
        pool = _Pool(Path(tmp), max(1, workers), timeout)
        try:
            files = pool.files
            rules = sorted({mu.rule for mu in mutants})
            # Calibration: the unmutated copy must pass every selected test, or a "kill" would mean nothing.
            answer = pool.ask(pool.procs[0], {"args": selection(files, rules)})
            if answer["outcome"] != "survived":
                raise SystemExit(f"calibration failed: the unmutated copy fails {answer['by']}")
            # Control: an edit that changes no data (a comment appended, lock re-pinned) must survive; else
            # the copy refuses edited files for another reason and every "kill" would be an artefact.
            if mutants:
                mu = mutants[0]
                end = len((ROOT / "guidelines" / mu.file).read_bytes().decode("utf-8"))
                control = {"file": mu.file, "start": end, "end": end, "mutant": "\n# control: no data changed\n"}
                answer = pool.ask(pool.procs[0], {**control, "args": selection(files, [mu.rule])})
                if answer["outcome"] != "survived":
                    why = f"a comment-only edit of {mu.file} is not accepted ({answer['by']})"
                    raise SystemExit(f"control failed: {why}")
            todo: queue.Queue[tuple[int, Mutant]] = queue.Queue()
            for item in enumerate(mutants, 1):
                todo.put(item)
            printing = threading.Lock()

            def serve(proc: subprocess.Popen[str]) -> None:
                while True:
                    try:
                        i, mu = todo.get_nowait()
                    except queue.Empty:
                        return
                    task = {"file": mu.file, "start": mu.start, "end": mu.end, "mutant": mu.mutant}
                    answer = pool.ask(proc, {**task, "args": selection(files, [mu.rule])})
                    mu.killed = answer["outcome"] in ("killed", "timeout")
                    mu.by = answer["by"] if answer["outcome"] != "timeout" else f"timeout: {answer['by']}"
                    if answer["outcome"] == "error":
                        mu.by = f"error: {answer['by']}"
                    with printing:
                        state = "killed  " if mu.killed else "SURVIVED"
                        print(f"[{i}/{len(mutants)}] {state} {answer['seconds']:5.1f}s {mu.file}:{mu.line} {mu.rule}: "
                              f"{mu.original} -> {mu.mutant}  ({mu.by})", flush=True)  # fmt: skip

            threads = [threading.Thread(target=serve, args=(p,)) for p in pool.procs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            pool.close()


# -- the docs page --------------------------------------------------------------------------------------------

REASONS = ROOT / "tools" / "mutation_survivors.toml"
PAGE = ROOT / "docs" / "mutation.md"


def _survivor_key(s: dict[str, Any]) -> tuple[str, int, str, str]:
    return (s["file"], int(s["line"]), s["original"], s["mutant"])


def write_page(
    summary: dict[str, Any],
    recheck: dict[str, Any] | None = None,
    reasons_path: Path = REASONS,
    page: Path = PAGE,
) -> list[str]:
    """Write the docs page from a full run (and the re-run of its survivors, if any).

    Returns the survivors that have no recorded reason; then the page is not written.
    """
    recorded = (
        tomllib.loads(reasons_path.read_text(encoding="utf-8")).get("survivor", []) if reasons_path.is_file() else []
    )
    reasons = {_survivor_key(r): r["reason"] for r in recorded}
    first = summary["survivors"]
    survivors = recheck["survivors"] if recheck is not None else first
    left = {_survivor_key(x) for x in survivors}
    rekilled = [x for x in first if _survivor_key(x) not in left]
    by = {_survivor_key(x): x.get("by", "") for x in (recheck or {}).get("all", [])}
    missing = [f"{s['file']}:{s['line']} {s['rule']}: {s['original']} -> {s['mutant']}" for s in survivors
               if _survivor_key(s) not in reasons]  # fmt: skip
    if missing:
        return missing
    killed = summary["killed"] + len(rekilled)
    rate = 100 * killed / summary["mutants"] if summary["mutants"] else 100.0
    lines = [
        "# Mutation testing of the guideline numbers",
        "",
        "Question: if a number, a comparison or an inclusive flag in an **approved** rule changes, does the test suite",
        "notice? `nox -s mutate` answers it. It is opt-in (not part of `nox -s tests`); this page is written by",
        "`python tools/mutate.py --write` from the last full run.",
        "",
        "Mutants: in the guideline version in force of each guideline, every numeric value of a logic field (dose",
        "limits, renal bands, thresholds, band edges, intervals, start points, rounding places, plausibility limits),",
        "one step down or up in its last digit and doubled; every comparison operator flipped (`<` and `<=`, `>` and",
        "`>=`); every inclusive flag flipped. Quotes, sources, statements and other text are never mutated; a mutant",
        "that parses to the same data is dropped; rules in review are not mutated (they are not in force as approved",
        "guidance).",
        "",
        "A mutant is **killed** when the tests that can see its rule fail: the tests marked",
        '`@pytest.mark.rule("<rule id>")` plus the example tests, run against a frozen scratch copy of the code,',
        "guidelines, tests and examples in which the mutant is written and the lock re-pinned to it. The expected",
        "numbers in those tests are written from the cited source, never read from the guideline file. A mutant the",
        "loader refuses (an inconsistent file) counts as killed, because it can never be released; so does one whose",
        f"tests run longer than {summary.get('timeout', 300):.0f} s.",
        "",
        "How it runs the full set in minutes: the tests are collected once (each rule's test files); worker",
        "processes, one scratch copy each, import the package and parse every guideline file once, then fork a",
        "clean child per mutant (catalog and caches reset) that runs only that rule's tests and the example tests.",
        "Before any mutant, the unmutated copy must pass every selected test, and a control edit that changes no",
        "data (a comment appended, lock re-pinned) must survive; the installed wheel's own record of guideline",
        "hashes is not consulted in the scratch copy (it would refuse every edited file before a test runs).",
        "",
        f"## Result ({summary['date']})",
        "",
        f"Command: `{summary['command']}` (`nox -s mutate` runs the same), over {len(summary['files'])} guideline",
        f"files in force on the branch, with {summary['workers']} workers; wall time",
        f"{summary['wall_seconds'] / 60:.0f} min on a shared 2-core machine. Files: "
        + ", ".join(f"`{f}`" for f in summary["files"])
        + ".",
        "",
        "| pass | mutants | killed | survived | kill rate |",
        "| --- | --- | --- | --- | --- |",
        f"| full run | {summary['mutants']} | {summary['killed']} | {len(first)} | "
        f"{100 * summary['killed'] / max(summary['mutants'], 1):.1f} % |",
    ]
    if recheck is not None:
        lines += [
            f"| its {len(first)} survivors re-run after the tests below were added (`{recheck['command']}`) | "
            f"{len(first)} | {len(rekilled)} | {len(survivors)} | |",
            f"| **final** (the full run's kills were not re-run: tests were only added) | {summary['mutants']} | "
            f"{killed} | {len(survivors)} | **{rate:.1f} %** |",
        ]
    lines += [
        "",
        "Per guideline file (full run):",
        "",
        "| file | mutants | killed |",
        "| --- | --- | --- |",
    ]
    for name, (n, k) in sorted(summary["per_file"].items()):
        lines.append(f"| {name} | {n} | {k} |")
    if rekilled:
        lines += ["", "## Survivors of the full run now killed, and the test that kills each", ""]
        lines += ["| mutant | killed by |", "| --- | --- |"]
        for x in rekilled:
            where = f"{x['file']} line {x['line']}, `{x['rule']}`: `{x['original']}` -> `{x['mutant']}`"
            lines.append(f"| {where} | `{by.get(_survivor_key(x), '').split('[')[0]}` |")
    lines += ["", "## Survivors, each with the reason it survives", ""]
    if not survivors:
        lines.append("None.")
    else:
        lines += ["| mutant | reason |", "| --- | --- |"]
        for s in survivors:
            where = f"{s['file']} line {s['line']}, `{s['rule']}`: `{s['original']}` -> `{s['mutant']}`"
            lines.append(f"| {where} | {' '.join(reasons[_survivor_key(s)].split())} |")
    lines.append("")
    page.write_text("\n".join(lines), encoding="utf-8")
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant before it counts as killed")
    parser.add_argument("--sample", type=int, default=0, help="run a random sample of N mutants (0 = all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--files", default="", help="glob over guideline paths (default: the in-force versions)")
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    parser.add_argument("--out", default=str(ROOT / "docs" / "_generated" / "mutation.json"))
    parser.add_argument("--recheck", default="", help="re-run only the survivors listed in this summary JSON")
    parser.add_argument("--write", action="store_true", help="write docs/mutation.md from the summary in --out")
    parser.add_argument("--with-recheck", default="", help="with --write: the summary of a --recheck run")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--collect-into", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(Path(args.worker), args.timeout)
    if args.collect_into:
        return _collect_here(Path(args.collect_into))
    if args.write:
        again = Path(args.with_recheck) if args.with_recheck else None
        recheck = json.loads(again.read_text(encoding="utf-8")) if again is not None else None
        missing = write_page(json.loads(Path(args.out).read_text(encoding="utf-8")), recheck)
        for item in missing:
            print(f"no reason recorded in {REASONS.relative_to(ROOT)} for survivor {item}", file=sys.stderr)
        return 1 if missing else 0
    every = sorted((ROOT / "guidelines").glob("*/*.toml"))
    chosen = [p for p in every if fnmatch.fnmatch(p.relative_to(ROOT / "guidelines").as_posix(), args.files)]
    files = chosen if args.files else in_force_files()
    unique: dict[tuple[str, int, str], Mutant] = {}
    for mu in (mu for p in files for mu in enumerate_mutants(p)):
        unique.setdefault((mu.file, mu.start, mu.mutant), mu)
    mutants = list(unique.values())
    if args.sample and args.sample < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.sample)
    if args.recheck:
        wanted = {_survivor_key(s) for s in json.loads(Path(args.recheck).read_text())["survivors"]}
        mutants = [mu for mu in unique.values() if (mu.file, mu.line, mu.original, mu.mutant) in wanted]
    if args.list:
        for mu in mutants:
            print(f"{mu.file}:{mu.line} {mu.rule}: {mu.original} -> {mu.mutant}")
        print(f"{len(mutants)} mutants")
        return 0
    began = time.monotonic()
    run_all(mutants, args.workers, args.timeout)
    killed = sum(1 for mu in mutants if mu.killed)
    rate = killed / len(mutants) if mutants else 1.0
    per_file: dict[str, list[int]] = {}
    for mu in mutants:
        counts = per_file.setdefault(mu.file, [0, 0])
        counts[0] += 1
        counts[1] += bool(mu.killed)
    given = list(argv if argv is not None else sys.argv[1:])
    shown = [a for i, a in enumerate(given) if not a.startswith("--out") and (i == 0 or given[i - 1] != "--out")]
    summary: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "command": " ".join(["python tools/mutate.py", *shown]),
        "workers": args.workers,
        "timeout": args.timeout,
        "wall_seconds": round(time.monotonic() - began),
        "mutants": len(mutants),
        "killed": killed,
        "kill_rate": round(rate, 4),
        "sample": args.sample,
        "seed": args.seed,
        "files": [p.relative_to(ROOT / "guidelines").as_posix() for p in files],
        "per_file": per_file,
        "survivors": [asdict(mu) for mu in mutants if not mu.killed],
        "all": [asdict(mu) for mu in mutants],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"mutation: {killed}/{len(mutants)} killed ({100 * rate:.1f}%) in {summary['wall_seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
