"""Alembic environment: the engine comes from yibao (config attribute ``engine``)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Engine
from sqlalchemy.types import TypeDecorator

import yibao.db.models  # noqa: F401  (registers every table on Base.metadata)
from yibao.db.base import Base
from yibao.db.engine import make_engine


def render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Column types that wrap another (the encrypted text of yibao.db.crypto) are written as the
    type they store, so a migration never imports yibao's code."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


config = context.config
engine: Engine = config.attributes.get("engine") or make_engine()

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
