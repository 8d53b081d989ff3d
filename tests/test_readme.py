"""Every command the README and the ``--help`` texts show runs as written (no traceback, no usage error)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neuroguide.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Command line") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines() if line.startswith("neuroguide ")]


def _help(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*args, "--help"])
    return out.getvalue()


def _help_commands() -> list[str]:
    top = _help()
    subs = re.findall(r"^    (\w+)\s", top, re.M)
    found = [line.strip() for line in top.splitlines() if line.strip().startswith("neuroguide ")]
    for sub in subs:
        text = _help(sub)
        found += [line.strip() for line in text.splitlines() if line.strip().startswith(("neuroguide ", "cat "))]
    # Not run here: `serve` runs until stopped (tests/test_service.py starts it on loopback); `cohort` examples
    # process 10^5 patients or name a remote scheduler (tests/test_cohort_io.py runs the command on small files).
    return [c for c in dict.fromkeys(found) if not c.startswith(("neuroguide serve", "neuroguide cohort"))]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the examples and the files the examples name (patient.json, record.json)."""
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "guidelines", work / "guidelines")
    shutil.copy(ROOT / "examples" / "t2d-metformin.json", work / "patient.json")
    return work


def _run(command: str, work: Path) -> subprocess.CompletedProcess[str]:
    """Run a shown command line in-process (pipes from ``cat`` and ``>`` redirection supported)."""
    stdin = ""
    if command.startswith("cat "):
        source, _, command = command.partition("|")
        stdin = (work / shlex.split(source)[1]).read_text(encoding="utf-8")
    words = shlex.split(command.strip(), comments=True)
    target = None
    if ">" in words:
        at = words.index(">")
        target, words = words[at + 1], words[:at]
    assert words[0] == "neuroguide", command
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    old_stdin = sys.stdin
    try:
        os.chdir(work)
        sys.stdin = io.StringIO(stdin)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(words[1:])
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        os.chdir(here)
        sys.stdin = old_stdin
    if target is not None:
        (work / target).write_text(out.getvalue(), encoding="utf-8")
    return subprocess.CompletedProcess(words, code, out.getvalue(), err.getvalue())


README = _readme_commands()


def test_the_readme_shows_commands() -> None:
    assert len(README) >= 8


@pytest.mark.parametrize("command", README)
def test_readme_command_runs(command: str, workdir: Path) -> None:
    if "audit replay record.json" in command and not (workdir / "record.json").exists():
        _run("neuroguide assess examples/t2d-metformin.json --as-of 2026-11-23 --json > record.json", workdir)
    done = _run(command, workdir)
    assert "Traceback" not in done.stderr, done.stderr
    # 1 is a check's verdict (a dose out of range); 2 would be a usage or input error.
    assert done.returncode in (0, 1), (command, done.returncode, done.stderr)
    assert done.stdout.strip() or done.returncode == 0


def test_help_examples_run(workdir: Path) -> None:
    commands = _help_commands()
    assert len(commands) >= 10
    (workdir / "record.json").write_text(
        _run("neuroguide assess examples/t2d-metformin.json --as-of 2026-11-23 --json", workdir).stdout,
        encoding="utf-8",
    )
    failed = []
    for command in commands:
        done = _run(command, workdir)
        if "Traceback" in done.stderr or done.returncode not in (0, 1):
            failed.append((command, done.returncode, done.stderr[-300:]))
    assert failed == []
