"""CDS Hooks benchmark: `python benchmarks/cds_hooks.py [--requests N] [--clients C]` (needs neuroguide[service]).

Starts the real service (`neuroguide serve`, uvicorn) in a subprocess on 127.0.0.1, then sends `patient-view`
requests with prefetch (the t2d-metformin example split into the service's prefetch keys) from a bounded loop:
first one client on one keep-alive connection (latency), then C clients in parallel threads (throughput). Reports
p50/p95/p99 latency and requests per second. `--cold` gives every request new resource ids, so the per-resource
FHIR validation cache never hits (a stream of different patients); the default repeats one chart.
The client runs on the same machine as the server, so on a 2-core machine the two compete for the CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import socket
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


def prefetch(example: str, tag: str = "") -> dict[str, Any]:
    bundle = json.loads((ROOT / "examples" / "fhir" / f"{example}.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {"medicationRequests": None}
    searches: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        res = dict(entry["resource"])
        if res["resourceType"] == "Patient":
            out["patient"] = res
            continue
        res["id"] = res["id"] + tag
        searches.setdefault(KEYS.get(res["resourceType"], "medicationStatements"), []).append({"resource": res})
    for key in ("conditions", "observations", "procedures", "medicationStatements"):
        entries = searches.get(key, [])
        out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None
    return out


def body(example: str, cold: bool) -> bytes:
    tag = f"-{uuid.uuid4().hex[:8]}" if cold else ""
    request = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": example},
        "prefetch": prefetch(example, tag),
    }
    return json.dumps(request).encode()


def post(conn: http.client.HTTPConnection, payload: bytes) -> float:
    start = time.perf_counter()
    conn.request("POST", PATH, body=payload, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200 or b'"cards"' not in data:
        raise RuntimeError(f"unexpected response {response.status}: {data[:200]!r}")
    return elapsed


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux /proc), so contention on a shared machine can be told apart."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = folder / "service.toml"
    db = (folder / "bench.sqlite").as_posix()
    config.write_text(f'[service]\ndatabase = "sqlite:///{db}"\nas_of = 2026-11-23\n', encoding="utf-8")
    cmd = [sys.executable, "-m", "neuroguide", "serve", "--port", str(port), "--config", str(config)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/cds-services")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the service did not start")


def run(requests: int, clients: int, example: str, cold: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp))
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(50):  # warm-up: registry, guidelines, plans, caches
                post(conn, body(example, cold))
            payloads = [body(example, cold) for _ in range(requests)]
            cpu = cpu_seconds(proc.pid)
            start = time.perf_counter()
            single = [post(conn, p) for p in payloads]
            single_wall = time.perf_counter() - start
            server_cpu_ms = (cpu_seconds(proc.pid) - cpu) / requests * 1000
            conn.close()
            shares: list[list[float]] = [[] for _ in range(clients)]

            def worker(i: int) -> None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                for p in payloads[i::clients]:
                    shares[i].append(post(c, p))
                c.close()

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            multi_wall = time.perf_counter() - start
            multi = [x for share in shares for x in share]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "example": example,
        "cold": cold,
        "requests": requests,
        "one_client": {
            "p50_ms": statistics.median(single) * 1000,
            "p95_ms": percentile(single, 95) * 1000,
            "p99_ms": percentile(single, 99) * 1000,
            "req_per_s": requests / single_wall,
            "server_cpu_ms_per_request": server_cpu_ms,
        },
        f"{clients}_clients": {
            "p50_ms": statistics.median(multi) * 1000,
            "p95_ms": percentile(multi, 95) * 1000,
            "req_per_s": requests / multi_wall,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per phase (bounded loop)")
    parser.add_argument("--clients", type=int, default=4, help="parallel clients in the throughput phase")
    parser.add_argument("--example", default="t2d-metformin", help="example whose FHIR Bundle is the prefetch")
    parser.add_argument("--cold", action="store_true", help="new resource ids on every request (no cache hits)")
    args = parser.parse_args()
    print(json.dumps(run(args.requests, args.clients, args.example, args.cold), indent=2))


if __name__ == "__main__":
    main()
