"""The settlement benchmark runs end to end at a tiny size (no timing is asserted): both
implementations settle claims without errors, the stored accumulators equal the rule re-run over
each person's claims, and the rows carry what the report prints."""

from __future__ import annotations

import os

import pytest

from yibao.bench.admin_settlement import bench_settlement
from yibao.errors import InputError

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.mark.skipif(os.environ.get("YIBAO_SKIP_PG") == "1", reason="YIBAO_SKIP_PG=1: PostgreSQL skipped")
def test_bench_settlement_tiny() -> None:
    rows = bench_settlement(PG_URL, n_persons=300, clients=3, latency_clients=2, seconds=0.6, procs=2,
                            database=f"yibao_bench_settle_test_{os.getpid()}")
    by = {(r["implementation"], r["clients"]): r for r in rows}
    assert set(by) == {("yibao", 3), ("yibao", 2), ("naive per-row ORM", 3), ("naive per-row ORM", 2)}
    for r in rows:
        assert r["claims"] > 0 and r["errors"] == 0, r["first_error"]
        assert r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
    service = by[("yibao", 3)]
    assert service["ratio_throughput"] == 1.0 and service["checked"] > 0 and service["mismatches"] == 0
    assert by[("naive per-row ORM", 3)]["ratio_throughput"] is not None


def test_bench_refuses_sqlite() -> None:
    with pytest.raises(InputError):
        bench_settlement("sqlite:///x.db", 10)


@pytest.mark.skipif(os.environ.get("YIBAO_SKIP_PG") == "1", reason="YIBAO_SKIP_PG=1: PostgreSQL skipped")
def test_bench_api_tiny() -> None:
    """``yibao bench api`` end to end, small: the server starts, every HTTP claim settles (201), and
    each HTTP row carries its ratio to the in-process call of the same run."""
    from yibao.bench.api import bench_api

    rows = bench_api(PG_URL, n_persons=300, clients=3, latency_clients=2, seconds=0.6, procs=2, workers=1)
    by = {(r["implementation"], r["clients"]): r for r in rows}
    assert set(by) == {("in-process call", 3), ("in-process call", 2), ("HTTP API", 3), ("HTTP API", 2)}
    for r in rows:
        assert r["claims"] > 0 and r["errors"] == 0, r["first_error"]
    assert by[("in-process call", 3)]["ratio_throughput"] == 1.0
    http, http_latency = by[("HTTP API", 3)], by[("HTTP API", 2)]
    assert http["ratio_throughput"] is not None and http_latency["ratio_p99"] is not None
