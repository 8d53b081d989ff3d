"""``neuroguide serve`` refuses to listen beyond loopback with authentication off, unless told explicitly."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="needs the service extra")

import neuroguide
from neuroguide import cli, service
from neuroguide.exceptions import InputError
from neuroguide.service import Issuer, ServiceConfig, check_exposure, is_loopback


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Calls that would have started uvicorn, recorded instead of run."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("neuroguide.service.uvicorn.run", lambda app, **kw: calls.append(kw))
    monkeypatch.chdir(tmp_path)  # the default database is a file in the current folder
    return calls


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "cds.example.org", ""])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_cli_refuses_a_public_host_without_an_issuer(
    started: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "0.0.0.0" in err and "[[service.issuers]]" in err and "--allow-unauthenticated" in err
    assert started == []  # nothing listened


def test_serve_refuses_a_public_host_without_an_issuer(started: list[dict[str, Any]]) -> None:
    with pytest.raises(InputError) as exc:
        service.serve(ServiceConfig(), host="10.0.0.5")
    assert exc.value.field == "host" and exc.value.value == "10.0.0.5"
    assert started == []


def test_cli_starts_on_a_public_host_when_told_explicitly(started: list[dict[str, Any]]) -> None:
    assert cli.main(["serve", "--host", "0.0.0.0", "--allow-unauthenticated"]) == 0
    assert [c["host"] for c in started] == ["0.0.0.0"]


def test_cli_starts_on_loopback_without_an_issuer(started: list[dict[str, Any]]) -> None:
    assert cli.main(["serve"]) == 0
    assert [c["host"] for c in started] == ["127.0.0.1"]


def test_a_configured_issuer_allows_a_public_host() -> None:
    config = ServiceConfig(issuers=(Issuer(iss="https://ehr.test/", jwks_url="https://ehr.test/jwks.json"),))
    check_exposure(config, "0.0.0.0")
    check_exposure(ServiceConfig(require_auth=True), "0.0.0.0")


def test_serve_refuses_to_start_with_altered_guidelines(tmp_path: Path) -> None:
    """Altered knowledge fails closed at start-up, saying so, instead of refusing every hook call as bad data."""
    package = Path(neuroguide.__file__).resolve().parent
    env = {k: v for k, v in os.environ.items() if k not in ("NEUROGUIDE_ALLOW_UNLOCKED", "NEUROGUIDE_CACHE_DIR")}
    env["NEUROGUIDE_CACHE_DIR"] = str(tmp_path / "cache")
    if (package / "guidelines").is_dir():  # an installed wheel: a copy of the package, one guideline file edited
        shutil.copytree(package, tmp_path / "site" / "neuroguide")
        folder = tmp_path / "site" / "neuroguide" / "guidelines"
        env["PYTHONPATH"] = str(tmp_path / "site")
    else:  # an editable install: the guidelines named by the environment, as its users run it
        folder = tmp_path / "guidelines"
        shutil.copytree(Path(__file__).resolve().parents[1] / "guidelines", folder)
        env["NEUROGUIDE_GUIDELINES"] = str(folder)
    changed = sorted(folder.glob("thiamine/*.toml"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuroguide", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the service started with an altered guideline file: {err[-1500:]}")
    assert proc.returncode != 0
    assert "do not match" in err and changed.name in err, err[-1500:]
    assert "stored in" not in err  # refused before anything else
    assert not (tmp_path / "neuroguide-service.sqlite").exists()
