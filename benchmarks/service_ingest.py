"""Benchmark: batched telemetry ingestion with decisions through the HTTP API, one uvicorn worker.

For each backend -- a
SQLite file, and PostgreSQL when ``SKYFENCE_TEST_POSTGRES_URL`` (or ``--postgres URL``) names a server where the
role may create databases -- it starts ``skyfence serve`` on 127.0.0.1, registers 100 terminals in Taiwan, Ukraine
and Poland, activates a policy (Taiwan and Ukraine served, a Ukrainian whitelist, an in-motion limit), posts
batches of 1,000 fixes with idempotency keys from one client, one request at a time, and prints JSON: fixes/s and
p50/p99 request latency.  Target on SQLite: >= 20,000 fixes/s and p99 < 100 ms per request.

The issue names no baseline, only the SQLite target; the closing JSON line reports it as ``baseline``: the time
the target rate (20,000 fixes/s) would take for the same fixes, so ``speedup`` > 1 means the target is met.
Needs ``SKYFENCE_DATA_DIR`` (the policy engine reads Natural Earth).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

#: Taiwan and Ukraine served, a Ukrainian whitelist, an in-motion limit (the service tests' policy too).
POLICY = (Path(__file__).resolve().parents[1] / "examples" / "policies" / "control_plane_demo.toml").read_text()
PLACES = {"TW": (23.7, 121.0, 1.2), "UA": (49.0, 31.0, 2.5), "PL": (52.0, 19.0, 2.0)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skyfence.service", *args], capture_output=True, text=True, env=env, check=True
    )


def _ok(response: httpx.Response) -> dict:
    if response.status_code >= 300:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


def _setup(client: httpx.Client, n_terminals: int) -> list[tuple[int, str]]:
    _ok(client.post("/api/v1/operators", json={"id": "starlink", "name": "Starlink", "reason": "benchmark"}))
    terminals = []
    for country, plan in (("TW", "residential"), ("UA", "roam"), ("PL", "roam")):
        account = _ok(
            client.post(
                "/api/v1/accounts",
                json={
                    "operator_id": "starlink",
                    "owner_name": f"Bench {country}",
                    "country": country,
                    "type": "business",
                    "reason": "benchmark",
                },
            )
        )["id"]
        for k in range(n_terminals // 3 + 1):
            terminal = _ok(
                client.post(
                    "/api/v1/terminals",
                    json={
                        "serial": f"BENCH-{country}-{k:05d}",
                        "account_id": account,
                        "registration_country": country,
                        "plan": plan,
                        "whitelisted": k % 2 == 0,
                        "reason": "benchmark",
                    },
                )
            )["id"]
            terminals.append((terminal, country))
    version = _ok(client.post("/api/v1/policies", json={"source": POLICY, "reason": "benchmark"}))["version_id"]
    _ok(client.post(f"/api/v1/policies/{version}/activate", json={"reason": "benchmark"}))
    return terminals[:n_terminals]


def _batch(rng: random.Random, terminals: list[tuple[int, str]], n: int, start: datetime) -> bytes:
    fixes = []
    for i in range(n):
        terminal, country = terminals[rng.randrange(len(terminals))]
        lat, lon, spread = PLACES[country]
        fixes.append(
            {
                "terminal_id": terminal,
                "time": (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                "lat_deg": round(lat + rng.uniform(-spread, spread), 5),
                "lon_deg": round(lon + rng.uniform(-spread, spread), 5),
                "alt_m": 100.0,
                "speed_kmh": rng.choice((0.0, 0.0, 30.0, 120.0)),
            }
        )
    return json.dumps({"fixes": fixes}).encode()


def run(db_url: str, label: str, batches: int, fixes_per_batch: int, workdir: Path) -> dict:
    env = {
        **os.environ,
        "SKYFENCE_ENVIRONMENT": "test",
        "SKYFENCE_SECRET_KEY": secrets.token_urlsafe(48),
        "SKYFENCE_RATE_LIMIT_PER_SECOND": "100000",
        "SKYFENCE_RATE_LIMIT_BURST": "100000",
    }
    made = _service(
        "keys",
        "create",
        "--db",
        db_url,
        "--role",
        "operator",
        "--name",
        "bench",
        "--reason",
        "benchmark",
        "--json",
        env=env,
    )
    key = json.loads(made.stdout)["key"]
    port = _free_port()
    log = open(workdir / f"{label}.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skyfence.service",
            "serve",
            "--db",
            db_url,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
            terminals = _setup(client, 100)
            rng = random.Random(42)
            start = datetime(2026, 8, 22, tzinfo=UTC)
            headers = {"Content-Type": "application/json"}
            bodies = [_batch(rng, terminals, fixes_per_batch, start + timedelta(hours=b)) for b in range(batches + 5)]
            for body in bodies[:5]:  # warm-up: policy compile, JIT, caches
                _ok(
                    client.post(
                        "/api/v1/telemetry/batches",
                        content=body,
                        headers={**headers, "Idempotency-Key": f"warm-{uuid.uuid4().hex}"},
                    )
                )
            latencies = []
            began = time.perf_counter()
            for body in bodies[5:]:
                t0 = time.perf_counter()
                receipt = _ok(
                    client.post(
                        "/api/v1/telemetry/batches",
                        content=body,
                        headers={**headers, "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
                    )
                )
                latencies.append(time.perf_counter() - t0)
                assert receipt["n_fixes"] == fixes_per_batch
            wall = time.perf_counter() - began
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    latencies.sort()
    return {
        "backend": label,
        "seconds": round(wall, 3),
        "batches": batches,
        "fixes_per_batch": fixes_per_batch,
        "fixes_per_s": round(batches * fixes_per_batch / wall),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--fixes-per-batch", type=int, default=1000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SKYFENCE_TEST_POSTGRES_URL"),
        help="PostgreSQL URL of a role that may create databases (default $SKYFENCE_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="skyfence-bench-") as tmp:
        workdir = Path(tmp)
        results.append(run(f"sqlite:///{workdir / 'bench.db'}", "sqlite", args.batches, args.fixes_per_batch, workdir))
        if args.postgres:
            import psycopg
            from sqlalchemy.engine import make_url

            admin = make_url(args.postgres).set(drivername="postgresql")
            name = f"skyfence_bench_{uuid.uuid4().hex[:8]}"
            plain = admin.render_as_string(hide_password=False)
            with psycopg.connect(plain, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{name}"')
            try:
                url = admin.set(database=name).render_as_string(hide_password=False)
                results.append(run(url, "postgresql", args.batches, args.fixes_per_batch, workdir))
            finally:
                with psycopg.connect(plain, autocommit=True) as connection:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    import resource

    sqlite = results[0]
    fixes = sqlite["batches"] * sqlite["fixes_per_batch"]
    for r in results:
        print(
            f"{r['backend']:>10}: {r['fixes_per_s']:,} fixes/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms "
            f"({r['batches']} batches of {r['fixes_per_batch']})"
        )
    target_s = fixes / 20_000
    print(
        json.dumps(
            {
                "workload": f"service ingest: {sqlite['batches']} batches x {sqlite['fixes_per_batch']} fixes "
                "with decisions, one worker, SQLite",
                "seconds": sqlite["seconds"],
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
                "baseline": "issue target: 20,000 fixes/s on SQLite",
                "baseline_seconds": round(target_s, 3),
                "speedup": round(target_s / sqlite["seconds"], 2),
                "fixes_per_s": sqlite["fixes_per_s"],
                "p50_ms": sqlite["p50_ms"],
                "p99_ms": sqlite["p99_ms"],
                "backends": results,
                "date": time.strftime("%Y-%m-%d"),
            }
        )
    )


if __name__ == "__main__":
    main()
