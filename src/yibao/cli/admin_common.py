"""What the administration commands share: the database option, the actor, output as table or JSON.

Every staff command takes ``--db URL`` (default ``YIBAO_DATABASE_URL`` or ``yibao.db`` here) and
``--json`` (print the result as JSON for scripts). Writes take ``--key`` (idempotency key):
replaying a command with the same key changes nothing and prints the first result.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from yibao.admin import approvals
from yibao.admin.approvals import ApprovalRequired
from yibao.admin.uow import Actor, run
from yibao.db.engine import make_engine
from yibao.errors import YibaoError

__all__ = ["DbOpt", "JsonFlag", "KeyOpt", "actor", "emit", "guard", "open_db"]

P = ParamSpec("P")
R = TypeVar("R")

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


def guard(fn: Callable[P, R]) -> Callable[P, R]:
    """A YibaoError becomes its bilingual message and exit code 2 (also when a command runs outside
    ``yibao.cli.main``, e.g. under a test runner); a database without the schema says what to run."""

    @functools.wraps(fn)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ApprovalRequired as exc:
            # four-eyes: file the request in the command's database and say so (exit 3: not done yet)
            err = exc
            filed = run(open_db(kwargs.get("db")), lambda s: approvals.submit(s, err))  # type: ignore[arg-type]
            done = approvals.executes(err.command.kind)
            then_zh = "复核人员批准后自动办理" if done else f"批准后请加 --approval {filed.id} 再次运行"
            then_en = ("it is done when a reviewer approves it" if done
                       else f"once approved, run the command again with --approval {filed.id}")
            typer.echo(f"{err.zh}\n{err.en}\n复核申请 / approval request #{filed.id} ({filed.status}): "
                       f"{then_zh}\n{then_en}", err=True)
            raise typer.Exit(3) from None
        except YibaoError as exc:
            typer.echo(f"错误 / error\n{exc.bilingual()}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (OperationalError, ProgrammingError) as exc:
            first = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            typer.echo(f"错误 / error\n数据库不可用或未初始化（{first}）；"
                       "请检查 --db，或先运行 yibao db upgrade\n"
                       f"the database is unavailable or has no schema ({first}); check --db or run "
                       "yibao db upgrade first", err=True)
            raise typer.Exit(2) from None

    return inner
