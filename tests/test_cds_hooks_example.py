"""The sample CDS Hooks request examples/cds-hooks/patient-view.json: reproducible, and answered with cards."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tools.cds_hooks import OUT, render

pytest.importorskip("starlette", reason="needs the service extra")
pytest.importorskip("fhir.resources", reason="needs the service extra")

import uvicorn

from neuroguide.service import ServiceConfig, create_app


def test_the_sample_request_is_what_the_generator_builds() -> None:
    assert OUT.read_text(encoding="utf-8") == render(), "run python -m tools.cds_hooks"


def test_the_service_answers_the_sample_request_with_cards(tmp_path: Path) -> None:
    config = ServiceConfig(database=f"sqlite:///{tmp_path / 'cds.sqlite'}", as_of=dt.date(2026, 11, 23))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/cds-services/neuroguide-patient-view",
            data=OUT.read_bytes(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            status, body = resp.status, json.loads(resp.read())
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    assert status == 200
    assert body["cards"], "no cards"
    assert all(card["summary"] and card["indicator"] in ("info", "warning", "critical") for card in body["cards"])
