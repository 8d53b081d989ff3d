"""A reader that closes standard output early never hides a command's verdict (real processes, real pipes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "t2d-metformin.json"
AS_OF = "2026-11-23"


def neuroguide(*args: str) -> list[str]:
    return [sys.executable, "-m", "neuroguide", *args]


def closed_early(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run with standard output a pipe whose reader has already gone: the first write meets a broken pipe."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(neuroguide(*args), stdout=write, stderr=subprocess.PIPE, check=False, timeout=300)
    finally:
        os.close(write)


def normal(*args: str) -> int:
    return subprocess.run(neuroguide(*args), capture_output=True, check=False, timeout=300).returncode


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A record as written, and the same record with one recommendation's action altered (replays DIFFERENT)."""
    folder = tmp_path_factory.mktemp("pipe")
    made = subprocess.run(
        neuroguide("assess", str(EXAMPLE), "--as-of", AS_OF, "--json"), capture_output=True, check=True, timeout=300
    )
    same, altered = folder / "record.json", folder / "altered.json"
    same.write_bytes(made.stdout)
    data = json.loads(made.stdout)
    data["recommendations"][0]["action"] += " (altered)"
    altered.write_text(json.dumps(data), encoding="utf-8")
    return same, altered


def test_a_different_replay_exits_1_when_the_reader_closes_early(records: tuple[Path, Path]) -> None:
    args = ("audit", "replay", str(records[1]))
    assert normal(*args) == 1
    done = closed_early(*args)
    assert done.returncode == 1  # was 0: the broken pipe hid the verdict
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr


def test_an_identical_replay_still_exits_0(records: tuple[Path, Path]) -> None:
    done = closed_early("audit", "replay", str(records[0]))
    assert done.returncode == 0 and done.stderr == b""


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("head") is None, reason="needs bash and head")
def test_piped_into_head_the_pipeline_fails_with_the_replay(records: tuple[Path, Path]) -> None:
    line = " ".join(neuroguide("audit", "replay", str(records[1]))) + " | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", line], capture_output=True, check=False, timeout=300)
    assert done.stdout.startswith(b"DIFFERENT") and done.stdout.count(b"\n") == 1
    assert done.returncode == 1 and b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("dose", "gabapentin", "9000 mg", "--per", "day"), 1),  # above the range
        (("dose", "gabapentin", "900 mg", "--per", "day", "--crcl", "80 mL/min"), 0),
        (("assess", str(EXAMPLE), "--as-of", AS_OF), 0),
        (("assess", str(ROOT / "no-such-patient.json")), 2),
        (("--help",), 0),
    ],
)
def test_other_commands_keep_their_exit_status(args: tuple[str, ...], code: int) -> None:
    assert normal(*args) == code
    done = closed_early(*args)
    assert done.returncode == code and b"Traceback" not in done.stderr


def test_a_cohort_run_finishes_its_work_when_the_reader_closes_early(tmp_path: Path) -> None:
    pytest.importorskip("polars", reason="needs the cohort extra")
    cohort, results, html = tmp_path / "c.parquet", tmp_path / "r.parquet", tmp_path / "s.html"
    assert normal("cohort", "synth", "40", "-o", str(cohort), "--as-of", AS_OF, "--seed", "3") == 0
    done = closed_early("cohort", str(cohort), "-o", str(results), "--as-of", AS_OF, "--summary", str(html))
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert results.stat().st_size > 0 and html.stat().st_size > 0  # ran to its end after the pipe broke


# -- standard error: a reader gone, or the descriptor closed at start -----------------------------------------


@pytest.fixture(scope="module")
def noted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FHIR bundle with one result not used (a preliminary status): `assess --json` warns on standard error."""
    bundle = json.loads((ROOT / "examples" / "fhir" / "t2d-metformin.json").read_text(encoding="utf-8"))
    entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    extra = json.loads(json.dumps(entry))
    extra["resource"]["id"] = "prelim"
    extra["resource"]["status"] = "preliminary"
    if "fullUrl" in extra:
        extra["fullUrl"] += "-prelim"
    bundle["entry"].append(extra)
    path = tmp_path_factory.mktemp("stderr") / "noted.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def stderr_gone(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run with standard error a pipe whose reader has already gone (``2>&1 >out.json | true``)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(neuroguide(*args), stdout=subprocess.PIPE, stderr=write, check=False, timeout=300)
    finally:
        os.close(write)


def stderr_closed(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run with descriptor 2 closed before the interpreter starts (``2>&-``)."""
    shell = ["sh", "-c", 'exec "$@" 2>&-', "sh", *neuroguide(*args)]
    return subprocess.run(shell, stdout=subprocess.PIPE, check=False, timeout=300)


def test_the_warning_made_noted_writes_to_stderr(noted: Path) -> None:
    done = subprocess.run(
        neuroguide("assess", str(noted), "--as-of", AS_OF, "--json"), capture_output=True, check=False, timeout=300
    )
    assert done.returncode == 0
    assert b"WARNING" in done.stderr  # else the tests below would test nothing


@pytest.mark.parametrize("run", [stderr_gone, stderr_closed])
def test_record_written_when_stderr_is_unusable(noted: Path, run: Any) -> None:
    done = run("assess", str(noted), "--as-of", AS_OF, "--json")
    assert done.returncode == 0  # was 1, with nothing written, when the reader of standard error had gone
    record = json.loads(done.stdout)
    assert record["notes"]  # the warning's content is in the record
    replayed = subprocess.run(
        neuroguide("audit", "replay", "-"), input=done.stdout, capture_output=True, check=False, timeout=300
    )
    assert replayed.returncode == 0, replayed.stdout


@pytest.mark.parametrize("run", [stderr_gone, stderr_closed])
def test_bad_input_exits_2_when_stderr_is_unusable(tmp_path: Path, run: Any) -> None:
    done = run("assess", str(tmp_path / "missing.json"))
    assert done.returncode == 2
    assert done.stdout == b""  # the error is never moved to standard output


@pytest.mark.parametrize("run", [stderr_gone, stderr_closed])
def test_different_replay_exits_1_when_stderr_is_unusable(records: tuple[Path, Path], run: Any) -> None:
    assert run("audit", "replay", str(records[1])).returncode == 1
    assert run("audit", "replay", str(records[0])).returncode == 0
