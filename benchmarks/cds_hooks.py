"""CDS Hooks benchmark: `python benchmarks/cds_hooks.py [--requests N] [--clients C] [--workers W]`.

Needs neuroguide[service]. Starts the real service (`neuroguide serve --workers W`, uvicorn) in a subprocess on
127.0.0.1, then sends `patient-view` requests with prefetch (the t2d-metformin example split into the service's
prefetch keys) from a bounded loop: first one client on one keep-alive connection (latency), then C clients in
parallel threads (throughput). Reports p50/p95/p99 latency and requests per second, and, because the machine may be
shared, the CPU time the server processes (all workers) and the client used per request (read from /proc), its
share in each server process, and how busy the machine's CPUs were with other work meanwhile. `--cold` makes every
request a chart never seen before: a new patient id and resource ids, and every measured value moved by a multiple
of 1e-7 (so every resource, every element holding a value, and every evaluation record is new); the default
repeats one chart. `--auth` configures a trusted issuer (an ES384 key in a JWK Set file, as the CDS Hooks
specification recommends) and sends every request with its own signed JWT (signed before the loop, so the client's
signing is not measured): the server verifies the signature, audience and expiry and records the token's jti in
the replay table (a database commit per request).
The client runs on the same machine as the server, so on a 2-core machine the two compete for the CPU.
After the run the server is stopped (SIGTERM) and the evaluation records in its database are counted: every record
id a card named must be stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"Condition": "conditions", "Observation": "observations", "Procedure": "procedures"}
PATH = "/cds-services/neuroguide-patient-view"


def prefetch(example: str, tag: str = "", nudge: float = 0.0) -> dict[str, Any]:
    """The example's Bundle as prefetch keys; ``tag`` renames the patient and every resource, ``nudge`` moves every
    measured value by that much (so the chart, its elements holding values and its evaluation record are new)."""
    text = (ROOT / "examples" / "fhir" / f"{example}.json").read_text(encoding="utf-8")
    bundle = json.loads(text.replace(f'"Patient/{example}"', f'"Patient/{example}{tag}"'))
    out: dict[str, Any] = {"medicationRequests": None}
    searches: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        res = dict(entry["resource"])
        res["id"] = res["id"] + tag
        if res["resourceType"] == "Patient":
            out["patient"] = res
            continue
        if nudge and "valueQuantity" in res:
            res["valueQuantity"] = {**res["valueQuantity"], "value": res["valueQuantity"]["value"] + nudge}
        searches.setdefault(KEYS.get(res["resourceType"], "medicationStatements"), []).append({"resource": res})
    for key in ("conditions", "observations", "procedures", "medicationStatements"):
        entries = searches.get(key, [])
        out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None
    return out


COUNT = iter(range(1, 1_000_000_000))


def body(example: str, cold: bool) -> bytes:
    tag = f"-{uuid.uuid4().hex[:8]}" if cold else ""
    nudge = next(COUNT) * 1e-7 if cold else 0.0
    request = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": f"{example}{tag}"},
        "prefetch": prefetch(example, tag, nudge),
    }
    return json.dumps(request).encode()


RECORD = re.compile(rb'"record":\s*"([0-9a-f]{32})"')
SEEN: set[bytes] = set()


def connect(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection with Nagle's algorithm off, as EHR HTTP clients set it.

    http.client sends a body over 16 KiB in a second write; with Nagle on, that write waits for the server's
    delayed acknowledgement of the headers (about 40 ms on Linux), which would be measured as service latency.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    assert conn.sock is not None
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


ISS = "https://ehr.bench.example"
KID = "bench-key"


def signing_key(folder: Path) -> Any:
    """An ES384 key; its public half is written as the JWK Set file the service's issuer points at."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES384"}]}
    (folder / "jwks.json").write_text(json.dumps(jwks), encoding="utf-8")
    return key


def sign(key: Any, port: int, n: int) -> list[str]:
    import jwt

    now = int(time.time())
    aud = f"http://127.0.0.1:{port}{PATH}"
    claims = {"iss": ISS, "aud": aud, "exp": now + 3600, "iat": now}
    headers = {"kid": KID, "typ": "JWT"}
    return [jwt.encode({**claims, "jti": str(uuid.uuid4())}, key, algorithm="ES384", headers=headers) for _ in range(n)]


def post(conn: http.client.HTTPConnection, payload: bytes, token: str | None = None) -> float:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    start = time.perf_counter()
    conn.request("POST", PATH, body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200 or b'"cards"' not in data:
        raise RuntimeError(f"unexpected response {response.status}: {data[:200]!r}")
    SEEN.update(RECORD.findall(data))
    return elapsed


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [pid], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        todo += children
    return found


def cpu_by_process(pids: list[int]) -> dict[int, float]:
    """User plus system CPU seconds of each process (Linux /proc): contention on a shared machine can be told apart."""
    out = {}
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds of the processes together."""
    return sum(cpu_by_process(pids).values())


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (/proc/stat)."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_server(
    folder: Path, workers: int, conformance: bool = True, auth: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = folder / "service.toml"
    db = (folder / "bench.sqlite").as_posix()
    check = "" if conformance else "check_conformance = false\n"
    issuer = f'[[service.issuers]]\niss = "{ISS}"\njwks_file = "jwks.json"\n' if auth else ""
    text = f'[service]\ndatabase = "sqlite:///{db}"\nas_of = 2026-11-23\n{check}{issuer}'
    config.write_text(text, encoding="utf-8")
    cmd = [sys.executable, "-m", "neuroguide", "serve", "--port", str(port), "--config", str(config)]
    cmd += ["--workers", str(workers)] if workers > 1 else []
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # a loaded machine starts the processes slowly
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/cds-services")
            if conn.getresponse().status in (200, 401):  # 401: up, and asking for a JWT
                conn.close()
                time.sleep(2 if workers > 1 else 0)  # the other workers finish starting
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the service did not start")


def phase(
    port: int, payloads: list[bytes], clients: int, pids: list[int], tokens: list[str] | None = None
) -> dict[str, Any]:
    """Send the payloads from C clients (one keep-alive connection each); latency, throughput and CPU per request."""
    shares: list[list[float]] = [[] for _ in range(clients)]

    def worker(i: int) -> None:
        c = connect(port)
        mine = tokens[i::clients] if tokens else [None] * len(payloads[i::clients])
        for p, token in zip(payloads[i::clients], mine, strict=True):
            shares[i].append(post(c, p, token))
        c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    each, client, (busy, total) = cpu_by_process(pids), own_cpu(), machine_cpu()
    server = sum(each.values())
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    after = cpu_by_process(pids)
    server = sum(after.values()) - server
    # How the work spread over the processes: the parent (uvicorn's supervisor) and each worker.
    spread = [round((after[p] - each.get(p, 0.0)) / max(server, 1e-9), 2) for p in pids if p in after]
    client = own_cpu() - client
    busy2, total2 = machine_cpu()
    times = [x for share in shares for x in share]
    n = len(payloads)
    return {
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(percentile(times, 95) * 1000, 1),
        "p99_ms": round(percentile(times, 99) * 1000, 1),
        "req_per_s": round(n / wall, 1),
        "server_cpu_ms_per_request": round(server / n * 1000, 2),
        "client_cpu_ms_per_request": round(client / n * 1000, 2),
        # CPU seconds per second of wall time: the machine's, and the part neither the server nor this client used
        "machine_busy_cores": round((busy2 - busy) / wall, 2),
        "other_work_cores": round(max(0.0, (busy2 - busy) - server - client) / wall, 2),
        "cores": round((total2 - total) / wall, 1),
        "server_cpu_share_by_process": spread,
    }


def run(
    requests: int, clients: int, example: str, cold: bool, workers: int, conformance: bool, auth: bool = False
) -> dict[str, Any]:
    SEEN.clear()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        key = signing_key(Path(tmp)) if auth else None
        proc, port = start_server(Path(tmp), workers, conformance, auth)
        try:
            pids = tree(proc.pid)

            def tokens(n: int) -> list[str] | None:
                return sign(key, port, n) if auth else None

            warm = [body(example, cold) for _ in range(50 * workers)]
            phase(port, warm, workers, pids, tokens(len(warm)))  # warm-up: guidelines, plans, caches (every worker)
            payloads = [body(example, cold) for _ in range(requests)]
            single = phase(port, payloads, 1, pids, tokens(requests))
            payloads = [body(example, cold) for _ in range(requests)]
            multi = phase(port, payloads, clients, pids, tokens(requests))
        finally:
            proc.terminate()  # SIGTERM: a graceful shutdown writes every queued record
            proc.wait(timeout=60)
        with sqlite3.connect(Path(tmp) / "bench.sqlite") as db:
            stored = {row[0] for row in db.execute("SELECT id FROM evaluations")}
    missing = {s.decode() for s in SEEN} - stored
    return {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "example": example,
        "cold": cold,
        "workers": workers,
        "check_conformance": conformance,
        "authentication": "ES384 JWT per request" if auth else "off",
        "requests": requests,
        "one_client": single,
        f"{clients}_clients": multi,
        "records_named_by_cards": len(SEEN),
        "records_not_stored": len(missing),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per phase (bounded loop)")
    parser.add_argument("--clients", type=int, default=4, help="parallel clients in the throughput phase")
    parser.add_argument("--example", default="t2d-metformin", help="example whose FHIR Bundle is the prefetch")
    parser.add_argument("--cold", action="store_true", help="new resource ids on every request (no cache hits)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (one per core is best)")
    parser.add_argument(
        "--no-conformance", action="store_true", help="serve with check_conformance = false (no FHIR model check)"
    )
    parser.add_argument("--auth", action="store_true", help="a trusted issuer, and a signed JWT on every request")
    args = parser.parse_args()
    result = run(args.requests, args.clients, args.example, args.cold, args.workers, not args.no_conformance, args.auth)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
