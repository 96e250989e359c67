"""Backup and restore (issue 8): a restore into an empty database reproduces the same row counts,
trial balance and audit-chain head — SQLite to PostgreSQL and back; a restore into a database
with data, or from an altered file, is refused and changes nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_api_service import enrolled_member, make_user, token_for

from yibao.admin.audit_chain import seal, verify
from yibao.admin.backup import backup, figures, restore
from yibao.admin.demo import DEMO_REGION, demo_region_text
from yibao.admin.policies import add_region
from yibao.admin.uow import run
from yibao.api.app import create_app
from yibao.bench.pg import bench_urls, recreate
from yibao.db.engine import make_engine
from yibao.db.migrate import upgrade
from yibao.errors import InputError

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
LATER = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)


def _world(engine: Engine) -> None:
    run(engine, lambda s: add_region(s, demo_region_text()))
    make_user(engine, "op.bj", "operator", regions=[DEMO_REGION])
    c = TestClient(create_app(engine))
    w: dict[str, Any] = {"client": c, "engine": engine, "op.bj": token_for(engine, "op.bj")}
    m = enrolled_member(w)
    r = c.post(
        "/api/v1/claims",
        json={
            "person": m["person"]["id"],
            "region": DEMO_REGION,
            "service_date": "2024-03-15",
            "total": "20000",
        },
        headers=w["op.bj"],
    )
    assert r.status_code == 201, r.text
    run(engine, lambda s: seal(s, now=LATER))


@pytest.mark.skipif(os.environ.get("YIBAO_SKIP_PG") == "1", reason="YIBAO_SKIP_PG=1: PostgreSQL skipped")
def test_sqlite_to_postgresql_and_back(tmp_path: Path) -> None:
    source = make_engine(f"sqlite:///{tmp_path}/source.db")
    upgrade(source)
    _world(source)
    with Session(source) as s:
        want = figures(s)
    assert want["rows"]["claim"] == 1 and want["audit_head"] is not None
    done = backup(source, tmp_path / "b1")
    assert done.rows == sum(want["rows"].values())
    admin_url, url = bench_urls(PG_URL, f"yibao_restore_{os.getpid()}")
    recreate(admin_url, f"yibao_restore_{os.getpid()}")
    pg = make_engine(url)
    try:
        report = restore(tmp_path / "b1", pg)
        assert report.matches, report.differences
        with Session(pg) as s:
            assert figures(s) == want and verify(s, now=LATER).ok
        # the restored database keeps working: new rows take new ids
        _ = run(pg, lambda s: seal(s, now=LATER))
        with pytest.raises(InputError) as err:
            restore(tmp_path / "b1", pg)  # not empty any more
        assert err.value.field == "--db"
        backup(pg, tmp_path / "b2")
        back = make_engine(f"sqlite:///{tmp_path}/back.db")
        assert restore(tmp_path / "b2", back).matches
        with Session(back) as s:
            assert figures(s) == want
    finally:
        pg.dispose()
        recreate(admin_url, f"yibao_restore_{os.getpid()}", drop_only=True)


def test_an_altered_backup_is_refused(tmp_path: Path) -> None:
    source = make_engine(f"sqlite:///{tmp_path}/s.db")
    upgrade(source)
    _world(source)
    backup(source, tmp_path / "b")
    path = tmp_path / "b" / "tables" / "claim.jsonl.gz"
    text = gzip.decompress(path.read_bytes()).decode().replace('"hifp_pay": ', '"hifp_pay": 1')
    path.write_bytes(gzip.compress(text.encode()))
    target = make_engine(f"sqlite:///{tmp_path}/t.db")
    with pytest.raises(InputError) as err:
        restore(tmp_path / "b", target)
    assert "claim.jsonl.gz" in str(err.value.value) and "SHA-256" in err.value.en
    with pytest.raises(InputError):
        backup(source, tmp_path / "b")  # an existing, non-empty folder is never overwritten
