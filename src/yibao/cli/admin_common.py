"""What the administration commands share: the database option, the actor, output as table or JSON.

Every staff command takes ``--db URL`` (default ``YIBAO_DATABASE_URL`` or ``yibao.db`` here) and
``--json`` (print the result as JSON for scripts). Writes take ``--key`` (idempotency key):
replaying a command with the same key changes nothing and prints the first result.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from yibao.admin.uow import Actor
from yibao.db.engine import make_engine

__all__ = ["DbOpt", "JsonFlag", "KeyOpt", "actor", "emit", "open_db"]

DbOpt = Annotated[str | None, typer.Option(
    "--db", help="数据库 URL（默认 YIBAO_DATABASE_URL 或 ./yibao.db）/ database URL")]
JsonFlag = Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")]
KeyOpt = Annotated[str | None, typer.Option(
    "--key", help="幂等键：同一键重复提交不重复执行 / idempotency key")]


def open_db(url: str | None) -> Engine:
    """The engine for ``--db``; the schema must exist (``yibao db upgrade``)."""
    return make_engine(url)


def actor(purpose: str | None = None) -> Actor:
    """The staff member running the CLI: ``YIBAO_USER`` (default the OS user), role operator."""
    user = os.environ.get("YIBAO_USER") or os.environ.get("USER") or "cli"
    return Actor(user=f"cli:{user}", role=os.environ.get("YIBAO_ROLE", "operator"), purpose=purpose)


def emit(result: Any, as_json: bool, human: str | None = None) -> None:
    """Print ``result`` as JSON (``--json``) or the human text (default: JSON pretty-printed)."""
    if as_json or human is None:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        Console(highlight=False).print(human)
