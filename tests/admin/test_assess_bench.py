"""The assessment benchmark runs end to end at a tiny size (no timing is asserted): the set-based run
and the naive per-row loop agree on every sampled row, and the rows carry what the report prints."""

from __future__ import annotations

import os

import pytest

from yibao.bench.admin_assessment import bench_assessment

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.mark.skipif(os.environ.get("YIBAO_SKIP_PG") == "1", reason="YIBAO_SKIP_PG=1: PostgreSQL skipped")
def test_bench_assessment_tiny() -> None:
    rows = bench_assessment(PG_URL, n_employees=600, n_employers=7, naive_rows=40, chunk_size=250,
                            database=f"yibao_bench_assess_test_{os.getpid()}")
    by = {r["implementation"]: r for r in rows}
    assert set(by) == {"yibao", "yibao (executemany)", "naive per-row ORM"}
    assert by["yibao"]["rows"] == by["yibao (executemany)"]["rows"] == 600 and by["yibao"]["ratio"] == 1.0
    naive = by["naive per-row ORM"]
    assert naive["extrapolated"] and naive["rows"] == 40 and naive["suite_rows"] == 600
    assert naive["mismatches"] == 0 and "extrapolated" in naive["note"]
    # 600 rows in chunks of 250 → 3 chunks; each chunk posts one transfer per unit present in it
    assert 7 <= by["yibao"]["transfers"] <= 3 * 7


def test_bench_refuses_sqlite() -> None:
    from yibao.errors import InputError

    with pytest.raises(InputError):
        bench_assessment("sqlite:///x.db", 10, 1)
