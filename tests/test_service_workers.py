"""The CDS Hooks service with several worker processes (``neuroguide serve --workers 2``) and its record writer.

Evaluation records are written in batches by a background thread; none may be lost, neither when one item of a batch
cannot be stored nor when the server is stopped right after answering. The JWT replay set lives in the database, so a
token used once is refused by every worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="needs the service extra")
pytest.importorskip("fhir.resources", reason="needs the service extra")

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from neuroguide import assess, service
from neuroguide.exceptions import InputError
from neuroguide.patient import Patient
from tools.fhir import EXAMPLES

ISS = "https://ehr.test/"
KID = "ehr-key-1"
PATIENT_VIEW = "/cds-services/neuroguide-patient-view"
KEYS = {"Condition": "conditions", "Observation": "observations", "Procedure": "procedures"}
NAMES = sorted(p.stem for p in (EXAMPLES / "fhir").glob("*.json"))


def _prefetch(name: str) -> dict[str, Any]:
    bundle = json.loads((EXAMPLES / "fhir" / f"{name}.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {}
    searches: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            out["patient"] = res
        else:
            searches.setdefault(KEYS.get(res["resourceType"], "medicationStatements"), []).append({"resource": res})
    for key in ("conditions", "observations", "procedures", "medicationStatements", "medicationRequests"):
        entries = searches.get(key)
        out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None
    return out


def _post(base: str, path: str, body: Any, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class _Running:
    def __init__(self, proc: subprocess.Popen[bytes], base: str, db: Path) -> None:
        self.proc, self.base, self.db = proc, base, db

    def stop(self) -> str:
        """SIGTERM (a graceful shutdown writes every queued record), then the server's output."""
        self.proc.send_signal(signal.SIGTERM)
        out = self.proc.communicate(timeout=120)[0]
        return out.decode(errors="replace") if out is not None else ""


@contextlib.contextmanager
def _server(tmp_path: Path, extra: str = "", *, output: bool = True) -> Iterator[_Running]:
    """``neuroguide serve --workers 2`` on a free loopback port, up (answering discovery, or 401 without a JWT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    db = tmp_path / "service.sqlite"
    (tmp_path / "service.toml").write_text(
        f'[service]\ndatabase = "sqlite:///{db.as_posix()}"\nas_of = 2026-11-23\n{extra}', encoding="utf-8"
    )
    cmd = [sys.executable, "-m", "neuroguide", "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(
        [*cmd, "--config", str(tmp_path / "service.toml")],
        stdout=subprocess.PIPE if output else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output else None,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/cds-services", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # 401: up, and asking for a JWT
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the service did not start"
                time.sleep(0.3)
        yield _Running(proc, base, db)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_two_workers_share_the_replay_set_and_store_every_record_on_shutdown(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": KID, "alg": "ES384"}]}), encoding="utf-8")
    issuer = f'[[service.issuers]]\niss = "{ISS}"\njwks_file = "jwks.json"\n'
    with _server(tmp_path, issuer) as server:
        base = server.base

        def token() -> str:
            now = int(time.time())
            claims = {"iss": ISS, "aud": base + PATIENT_VIEW, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
            return jwt.encode(claims, key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})

        records = set()
        for name in NAMES:  # one evaluation per example: as many distinct records
            body = {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/1", "patientId": name},
                "prefetch": _prefetch(name),
            }
            used = token()
            status, answer = _post(base, PATIENT_VIEW, body, used)
            assert status == 200, answer
            records |= {c["extension"][service.AUDIT_EXTENSION]["record"] for c in answer["cards"]}
            again = _post(base, PATIENT_VIEW, {**body, "hookInstance": str(uuid.uuid4())}, used)
            assert again[0] == 401 and "already used" in again[1]["message"]  # whichever worker answers
        output = server.stop()  # at once: records may still be queued
    assert len(records) == len(NAMES)
    with sqlite3.connect(server.db) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM evaluations")}
        seen = conn.execute("SELECT count(*) FROM jwt_seen").fetchone()[0]
    assert records <= stored, output[-2000:]
    assert seen == len(NAMES)
    assert "could not store" not in output


def _pending(result: Any, i: int) -> service._Pending:
    record, record_id = service._record_json(result)
    cards = service.cards_for(result, f"{record_id}-{i}", "http://127.0.0.1")
    return service._pending(f"{record_id}-{i}", "svc", f"h{i}", record, cards)


def test_the_writer_stores_every_queued_record_and_skips_only_a_broken_one(tmp_path: Path) -> None:
    result = assess(Patient.from_json(EXAMPLES / "t2d-metformin.json"), as_of=dt.date(2026, 11, 23))
    store = service._Store(f"sqlite:///{(tmp_path / 'w.sqlite').as_posix()}")
    store.start()
    items = [_pending(result, i) for i in range(150)]
    no_rules: Any = None  # a card row without its rules: the database refuses it
    broken = service._Pending("broken", "svc", "h", "{}", (("no-rules", no_rules),), dt.datetime.now(dt.UTC))
    for item in items[:70]:
        store.queue.put(item)
    store.queue.put(broken)  # lands in a batch with good records: they must still be stored
    for item in items[70:]:
        store.queue.put(item)
    store.stop()  # returns once everything queued is written
    store.put(items[0])  # no writer: at once
    with sqlite3.connect(tmp_path / "w.sqlite") as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM evaluations")}
        cards = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
    assert stored == {i.record_id for i in items}
    assert cards == sum(len(i.cards) for i in items)


def test_check_conformance_is_a_boolean_setting(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text("[service]\ncheck_conformance = false\n", encoding="utf-8")
    assert service.load_config(path).check_conformance is False
    assert service.ServiceConfig().check_conformance is True
    path.write_text('[service]\ncheck_conformance = "no"\n', encoding="utf-8")
    with pytest.raises(InputError, match="check_conformance"):
        service.load_config(path)


def test_concurrent_requests_to_two_workers_are_all_answered_and_every_record_stored(tmp_path: Path) -> None:
    """Four clients at once against ``--workers 2`` (each call goes to whichever evaluator is free), then SIGTERM."""

    def chart(name: str, i: int) -> dict[str, Any]:
        prefetch = _prefetch(name)
        for entry in (prefetch["observations"] or {}).get("entry", []):
            quantity = entry["resource"].get("valueQuantity")
            if quantity:  # a value a little apart: a chart (and a record) of its own
                entry["resource"]["valueQuantity"] = {**quantity, "value": quantity["value"] + i * 1e-6}
        body = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": name},
        }
        return {**body, "prefetch": prefetch}

    with _server(tmp_path) as server:
        bodies = [chart(name, i) for i in range(3) for name in NAMES]
        with ThreadPoolExecutor(4) as clients:
            answers = list(clients.map(lambda b: _post(server.base, PATIENT_VIEW, b, "unused"), bodies))
        output = server.stop()
    assert all(status == 200 for status, _ in answers), answers
    records = {c["extension"][service.AUDIT_EXTENSION]["record"] for _, answer in answers for c in answer["cards"]}
    with sqlite3.connect(server.db) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM evaluations")}
    assert records <= stored, output[-2000:]
    assert "could not store" not in output and "unhandled error" not in output


def test_the_database_syncs_every_commit(tmp_path: Path) -> None:
    store = service._Store(f"sqlite:///{(tmp_path / 's.sqlite').as_posix()}")
    with store.engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert db.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: a commit survives a power loss
    store.engine.dispose()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == pid and b"spawn_main" in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the evaluator processes in /proc")
def test_a_dead_evaluator_is_replaced_and_the_request_can_be_sent_again(tmp_path: Path) -> None:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "t2d-metformin"},
        "prefetch": _prefetch("t2d-metformin"),
    }
    with _server(tmp_path, output=False) as server:
        assert _post(server.base, PATIENT_VIEW, body, "unused")[0] == 200
        evaluators = _children(server.proc.pid)
        assert len(evaluators) == 2
        os.kill(evaluators[0], signal.SIGKILL)
        statuses = []
        for _ in range(20):  # refused with 503 once the pool is found broken, answered again once replaced
            status, answer = _post(server.base, PATIENT_VIEW, body, "unused")
            statuses.append(status)
            if status == 200 and 503 in statuses:
                break
            assert status in (200, 503), answer
            assert status == 200 or answer["error"] == "unavailable", answer
            time.sleep(0.5)
        assert 503 in statuses and statuses[-1] == 200, statuses
        assert len(_children(server.proc.pid)) == 2
        server.stop()
