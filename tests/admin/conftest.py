"""Database fixtures: every test that takes ``engine`` runs on SQLite and on PostgreSQL.

PostgreSQL is the real server on this machine (127.0.0.1:5432, trust auth; ``YIBAO_TEST_PG_URL``
overrides). It is required: when it cannot be reached the tests fail, as CI demands, unless
``YIBAO_SKIP_PG=1`` says otherwise explicitly (then they are skipped with that reason).
A fresh database is created for the test session and every table is truncated between tests.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

import yibao.db.models  # noqa: F401
from yibao.db.base import Base
from yibao.db.engine import make_engine
from yibao.db.models.register import Region

PG_ADMIN_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DB = f"yibao_test_{os.getpid()}"


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    if os.environ.get("YIBAO_SKIP_PG") == "1":
        pytest.skip("YIBAO_SKIP_PG=1: PostgreSQL tests skipped on request")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}"'))
            c.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    except Exception as exc:  # pragma: no cover - only when the server is down
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for these tests: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
    admin.dispose()


def _truncate(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An empty database with the schema and the shipped regions used in tests."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "yibao.db"
        eng = make_engine(f"sqlite:///{path}")
        Base.metadata.create_all(eng)
    else:
        eng = request.getfixturevalue("pg_engine")
        _truncate(eng)
    with Session(eng) as s, s.begin():
        for code, policy, zh, en in REGIONS:
            s.add(Region(code=code, policy=policy, name_zh=zh, name_en=en))
    yield eng
    if request.param == "sqlite":
        eng.dispose()


REGIONS = [("110000", "beijing", "北京", "Beijing"), ("310000", "shanghai", "上海", "Shanghai"),
           ("640100", "yinchuan", "银川", "Yinchuan")]

D = dt.date
