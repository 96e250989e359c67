"""``yibao bench api``: claim settlement over HTTP against the same call made in-process.

On a fresh PostgreSQL database loaded as :mod:`yibao.bench.admin_settlement` loads it (a synthetic
Beijing register, every member paid on time), an operator account and its bearer token are made,
and ``yibao serve``'s application runs under uvicorn in its own processes (``--workers``, one per
CPU by default) on loopback. Then, with the same client machinery as the settlement benchmark
(processes of threads, forked, warmed, started together):

1. **in-process** — the peer: each client calls :func:`yibao.admin.claims.settle` in its own
   transaction, as the service does inside a request;
2. **HTTP** — each client keeps one keep-alive connection and posts ``/api/v1/claims`` with the
   token: authentication, validation, the same service call, the JSON answer, the access log line.

Each with ``clients`` (16) for throughput and ``latency_clients`` (4) for p50 / p99. The ratio is
the HTTP figure against the in-process one measured in the same run: what the service layer
costs. The server, the clients and PostgreSQL share the machine's cores; the note says how many.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine

from yibao.admin import users
from yibao.admin.claims import ClaimInput
from yibao.admin.uow import SYSTEM, run
from yibao.bench import admin_settlement as settlement
from yibao.bench.pg import bench_urls, recreate
from yibao.db.engine import make_engine
from yibao.errors import YibaoError

__all__ = ["BENCH_DB", "FULL", "QUICK", "bench_api", "http_settle"]

BENCH_DB = "yibao_bench_api"
QUICK: dict[str, float] = {"n_persons": 5_000, "seconds": 3.0}
FULL: dict[str, float] = {"n_persons": 50_000, "seconds": 15.0}
_TOKEN_ENV, _BASE_ENV = "YIBAO_BENCH_API_TOKEN", "YIBAO_BENCH_API_BASE"
_local = threading.local()


def http_settle(_engine: Engine, pid: int, ci: ClaimInput, key: str) -> None:
    """One claim through ``POST /api/v1/claims`` (the client's thread keeps its connection)."""
    client: httpx.Client | None = getattr(_local, "client", None)
    if client is None:
        client = httpx.Client(
            base_url=os.environ[_BASE_ENV],
            timeout=60.0,
            headers={"Authorization": f"Bearer {os.environ[_TOKEN_ENV]}"},
        )
        _local.client = client
    body: dict[str, Any] = {
        "person": pid,
        "region": settlement.REGION,
        "service_date": ci.service_date.isoformat(),
        "kind": ci.kind,
        "level": ci.level,
        "total": f"{ci.total_fen / 100:.2f}",
        "full_self_pay": f"{ci.full_self_pay_fen / 100:.2f}",
    }
    r = client.post("/api/v1/claims", json=body, headers={"Idempotency-Key": key})
    if r.status_code != 201:
        err = (
            r.json().get("error", {})
            if r.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        raise YibaoError(str(err.get("zh", r.status_code)), str(err.get("en", r.text[:200])))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(bench_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "YIBAO_DATABASE_URL": bench_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "yibao.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the server stopped: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not become ready in 120 s")


def bench_api(
    url: str,
    n_persons: int = 5_000,
    clients: int = 16,
    seconds: float = 3.0,
    latency_clients: int = 4,
    procs: int | None = None,
    workers: int | None = None,
    seed: int = 20240315,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the benchmark (module docstring) on the PostgreSQL server of ``url``; rows as dicts."""
    say = log or (lambda _msg: None)
    cpus = os.cpu_count() or 1
    procs = procs or cpus
    workers = workers or cpus
    admin_url, bench_url = bench_urls(url, BENCH_DB)
    recreate(admin_url, BENCH_DB)
    engine = make_engine(bench_url)
    server: subprocess.Popen[bytes] | None = None
    rows: list[dict[str, Any]] = []
    try:
        t = time.perf_counter()
        settlement.load(engine, int(n_persons), seed)
        run(
            engine,
            lambda s: users.create_user(
                s, SYSTEM, "bench.operator", "bench-password-1", "operator", regions=[settlement.REGION]
            ),
        )
        _, token = run(engine, lambda s: users.issue_token(s, SYSTEM, "bench.operator", "bench api"))
        say(f"loaded {n_persons} members in {time.perf_counter() - t:.1f} s")
        settlement._warm(engine)
        engine.dispose()
        server, base = _serve(bench_url, workers)
        os.environ[_TOKEN_ENV], os.environ[_BASE_ENV] = token, base  # the forked clients read them
        figures: dict[tuple[str, int], dict[str, Any]] = {}
        for impl, label in (("yibao", "in-process call"), ("api", "HTTP API")):
            for n in (clients, latency_clients):
                f = settlement._phase(
                    bench_url,
                    impl,
                    n,
                    procs,
                    int(n_persons),
                    seconds,
                    seed + 1000 * n + (0 if impl == "yibao" else 7),
                )
                figures[(label, n)] = f
                say(
                    f"{label}, {n} clients: {f['claims']} claims in {f['seconds']:.1f} s = "
                    f"{f['claims_per_s']:.0f}/s, p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms"
                    + (f", {f['errors']} errors ({f['first_error']})" if f["errors"] else "")
                )
        for (label, n), f in figures.items():
            base_f = figures[("in-process call", n)]
            rows.append(
                {
                    "suite": "api",
                    "implementation": label,
                    "clients": n,
                    "claims": f["claims"],
                    "seconds": round(f["seconds"], 2),
                    "claims_per_s": round(f["claims_per_s"], 1),
                    "p50_ms": round(f["p50_ms"], 2),
                    "p99_ms": round(f["p99_ms"], 2),
                    "max_ms": round(f["max_ms"], 2),
                    "errors": f["errors"],
                "cpu_ms_per_claim": round(f["cpu_ms_per_claim"], 2) if f["cpu_ms_per_claim"] else None,
                    "first_error": f["first_error"],
                    "ratio_throughput": round(f["claims_per_s"] / base_f["claims_per_s"], 2)
                    if base_f["claims_per_s"]
                    else None,
                    "ratio_p99": round(f["p99_ms"] / base_f["p99_ms"], 2) if base_f["p99_ms"] else None,
                    "note": f"{n_persons} members; server {workers} uvicorn workers; "
                    f"{min(procs, n)} client processes; {cpus} CPUs shared with PostgreSQL",
                }
            )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        engine.dispose()
        recreate(admin_url, BENCH_DB, drop_only=True)
    return rows
