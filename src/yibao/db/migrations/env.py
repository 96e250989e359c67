"""Alembic environment: the engine comes from yibao (config attribute ``engine``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import yibao.db.models  # noqa: F401  (registers every table on Base.metadata)
from yibao.db.base import Base
from yibao.db.engine import make_engine

config = context.config
engine: Engine = config.attributes.get("engine") or make_engine()

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
