"""Mutation testing of the guideline numbers: does the suite notice a changed number in an approved rule.

Run with ``nox -s mutate`` (opt-in: slow). For every numeric value, comparison operator and inclusive flag in
the logic of an approved rule, one mutant changes that one token (one step down or up in its last digit,
doubled, operator or flag flipped). Each mutant is written into a scratch copy of ``src/`` and
``guidelines/`` (with the lock re-pinned, so the copy is internally consistent; tests and examples are copied
too), and the tests marked
``@pytest.mark.rule(<rule id>)`` plus the example tests run against that copy. A mutant is killed when the
tests fail. The summary (kill rate, and every survivor with its file, line and token) is printed and written
to ``docs/_generated/mutation.json``.

Usage: ``python tools/mutate.py [--sample N] [--seed S] [--files GLOB] [--list]``
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
    for folder in ("src", "guidelines", "tests", "examples"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (work / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")


def _pin(work: Path, rel: str) -> None:
    lock_path = work / "guidelines" / "lock.json"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    digest = hashlib.sha256((work / "guidelines" / rel).read_bytes()).hexdigest()
    files = lock.get("files", lock)
    if isinstance(files, dict) and rel in files:
        entry = files[rel]
        if isinstance(entry, dict):
            entry["sha256"] = digest
        else:
            files[rel] = digest
    lock_path.write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")


def run_mutant(work: Path, mutant: Mutant) -> bool:
    """Apply the mutant in the scratch copy, run its tests, restore; True when the tests fail (killed)."""
    target = work / "guidelines" / mutant.file
    lock = work / "guidelines" / "lock.json"
    original, original_lock = target.read_bytes(), lock.read_bytes()
    text = original.decode("utf-8")
    target.write_text(text[: mutant.start] + mutant.mutant + text[mutant.end :], encoding="utf-8")
    _pin(work, mutant.file)
    try:
        env = {**os.environ, "PYTHONPATH": str(work / "src"), "HYPOTHESIS_PROFILE": "dev"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--rule-id", mutant.rule, "tests"]
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
        return done.returncode != 0
    finally:
        target.write_bytes(original)
        lock.write_bytes(original_lock)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="run a random sample of N mutants (0 = all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--files", default="", help="glob over guideline paths (default: the in-force versions)")
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    parser.add_argument("--out", default=str(ROOT / "docs" / "_generated" / "mutation.json"))
    parser.add_argument("--recheck", default="", help="re-run only the survivors listed in this summary JSON")
    args = parser.parse_args(argv)
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
        wanted = {
            (s["file"], s["line"], s["original"], s["mutant"])
            for s in json.loads(Path(args.recheck).read_text())["survivors"]
        }
        mutants = [mu for mu in unique.values() if (mu.file, mu.line, mu.original, mu.mutant) in wanted]
    if args.list:
        for mu in mutants:
            print(f"{mu.file}:{mu.line} {mu.rule}: {mu.original} -> {mu.mutant}")
        print(f"{len(mutants)} mutants")
        return 0
    with tempfile.TemporaryDirectory(prefix="neuroguide-mutate-") as tmp:
        work = Path(tmp)
        _copy(work)
        # Calibration: the unmutated copy must pass every selected test, or a "kill" would mean nothing.
        env = {**os.environ, "PYTHONPATH": str(work / "src"), "HYPOTHESIS_PROFILE": "dev"}
        rules = sorted({mu.rule for mu in mutants})
        selection = [f"--rule-id={r}" for r in rules]
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection, "tests"]
        if subprocess.run(cmd, cwd=work, env=env, capture_output=True, check=False).returncode != 0:
            print("calibration failed: the unmutated copy does not pass the selected tests", file=sys.stderr)
            return 2
        for i, mu in enumerate(mutants, 1):
            mu.killed = run_mutant(work, mu)
            print(f"[{i}/{len(mutants)}] {'killed  ' if mu.killed else 'SURVIVED'} {mu.file}:{mu.line} {mu.rule}: "
                  f"{mu.original} -> {mu.mutant}", flush=True)  # fmt: skip
    killed = sum(1 for mu in mutants if mu.killed)
    rate = killed / len(mutants) if mutants else 1.0
    summary: dict[str, Any] = {
        "mutants": len(mutants),
        "killed": killed,
        "kill_rate": round(rate, 4),
        "sample": args.sample,
        "seed": args.seed,
        "files": [p.relative_to(ROOT / "guidelines").as_posix() for p in files],
        "survivors": [asdict(mu) for mu in mutants if not mu.killed],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"mutation: {killed}/{len(mutants)} killed ({100 * rate:.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
