"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import yibao.db.models  # noqa: F401
from yibao.db.base import Base
from yibao.db.engine import make_engine
from yibao.db.migrate import current_revision, head_revision, upgrade

PG_ADMIN_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _diff(engine: object) -> list[object]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def test_sqlite_upgrade_matches_models(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    upgrade(engine)  # a second upgrade is a no-op
    assert _diff(engine) == [], "models changed: run `make migration`"


def test_postgresql_upgrade_matches_models() -> None:
    if os.environ.get("YIBAO_SKIP_PG") == "1":
        import pytest
        pytest.skip("YIBAO_SKIP_PG=1")
    name = f"yibao_migr_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _diff(engine) == [], "models changed: run `make migration`"
        assert _explanation_compression(engine) == "l"  # lz4, migration 0002
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _explanation_compression(engine: object) -> str:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return str(conn.execute(text(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'claim'::regclass "
            "AND attname = 'explanation'")).scalar())


def test_create_all_also_compresses_explanations_with_lz4(pg_engine: object) -> None:
    """The test fixture's schema (create_all) matches the migrated one in this respect too."""
    assert _explanation_compression(pg_engine) == "l"
