"""Engine and sessions: SQLite file by default, PostgreSQL with ``YIBAO_DATABASE_URL``.

SQLite runs with foreign keys on, WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction: a transaction takes the write lock when it starts, so two processes never both read
a balance and then both spend it (SQLite's deferred default would let them, then fail one late).
PostgreSQL runs at READ COMMITTED; services take row locks (``SELECT … FOR UPDATE``) on what they
check before writing (a person's accumulators, an account about to be debited).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["DEFAULT_URL", "database_url", "is_sqlite", "make_engine", "session_factory"]

DEFAULT_URL = "sqlite:///yibao.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ``YIBAO_DATABASE_URL``, else ``yibao.db`` here.

    A bare ``postgresql://`` URL is given the psycopg 3 driver, which is the one installed.
    """
    chosen = url or os.environ.get("YIBAO_DATABASE_URL") or DEFAULT_URL
    if chosen.startswith("postgresql://") or chosen.startswith("postgres://"):
        chosen = "postgresql+psycopg://" + chosen.split("://", 1)[1]
    return chosen


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`database_url`); a SQLite file's folder is created."""
    full = database_url(url)
    if full.startswith("sqlite"):
        path = full.split("///", 1)[1] if "///" in full else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 60})
        engine = create_engine(full, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(full, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
