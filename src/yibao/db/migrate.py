"""Alembic, driven from code: ``upgrade`` to head, ``current`` revision, ``check`` models vs migrations.

The migration scripts live in the package (``yibao/db/migrations``) so an installed yibao can
upgrade a bureau's database without a checkout; no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from yibao.db.crypto import keyring
from yibao.errors import YibaoError

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent: an up-to-date database is left alone).

    A database that has tables but no yibao revision was not made by yibao (or was made by
    ``create_all`` in a test): it is refused rather than half-migrated.
    """
    if current_revision(engine) is None and inspect(engine).get_table_names():
        raise YibaoError(
            "数据库中已有表，但没有 yibao 的版本记录；请使用空数据库或由 yibao db upgrade 建立的数据库",
            "the database has tables but no yibao revision: use an empty database or one created by "
            "yibao db upgrade")
    _ensure_keyring(engine)
    command.upgrade(alembic_config(engine), revision)


def _ensure_keyring(engine: Engine) -> None:
    """A new database gets a new keyring (yibao.db.crypto); one that holds people needs its own,
    and a missing key file is an error rather than a fresh key that could not read them."""
    has_people = "person" in inspect(engine).get_table_names() and bool(
        _scalar(engine, "SELECT EXISTS (SELECT 1 FROM person)"))
    keyring(create=not has_people)


def _scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
