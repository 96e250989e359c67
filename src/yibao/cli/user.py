"""``yibao user add | token | list``: accounts for the service, from the server's own shell.

Whoever runs the CLI holds the database's credentials and could write the tables directly, so
these commands act as ``system`` — that is how the first admin account is made. After that, an
admin creates accounts and tokens over the API (``POST /api/v1/users``, ``/api/v1/auth/tokens``).
The password is read from a hidden prompt or, for scripts, from standard input
(``--password-stdin``); it is never an option, so it stays out of shell history and ``ps``.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated

import typer

from yibao.admin import users
from yibao.admin.roles import ROLES
from yibao.admin.uow import Actor, run
from yibao.cli.admin_common import DbOpt, JsonFlag, actor, emit, guard, open_db
from yibao.errors import InputError

__all__ = ["app"]

app = typer.Typer(help="服务账号与令牌 / service accounts and tokens", no_args_is_help=True)


def _system() -> Actor:
    return dataclasses.replace(actor("账号管理 / account administration"), role="system")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.readline().rstrip("\n")
        if not text:
            raise InputError("password", "", "标准输入中没有密码", "no password on standard input")
        return text
    first = typer.prompt("密码 / password", hide_input=True)
    if typer.prompt("再输入一次 / again", hide_input=True) != first:
        raise InputError("password", "***", "两次输入不一致", "the two entries differ")
    return str(first)


@app.command("add")
@guard
def add_cmd(
    username: Annotated[str, typer.Argument(help="用户名 / user name")],
    role: Annotated[str, typer.Option("--role", help=" | ".join(ROLES))],
    region: Annotated[list[str] | None, typer.Option("--region", help="所属统筹地区（可多次）")] = None,
    person: Annotated[str | None, typer.Option("--person", help="参保人：登记号或证件号码")] = None,
    employer: Annotated[str | None, typer.Option("--employer", help="单位：登记号或信用代码")] = None,
    name: Annotated[str | None, typer.Option("--name", help="显示名称 / display name")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读密码")] = False,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """新建账号 / create an account."""
    password = _password(password_stdin)
    who = _system()
    u = run(
        open_db(db),
        lambda s: users.create_user(
            s,
            who,
            username,
            password,
            role,
            regions=region,
            person=person,
            employer=employer,
            display_name=name,
        ),
    )
    emit(
        {"id": u.id, "username": u.username, "role": u.role, "regions": u.regions},
        as_json,
        f"已建账号 / created: {u.username} ({u.role}{', ' + u.regions if u.regions else ''})",
    )


@app.command("token")
@guard
def token_cmd(
    username: Annotated[str, typer.Argument(help="用户名 / user name")],
    name: Annotated[str, typer.Option("--name", help="令牌用途，如医院名称 / what it is for")],
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="有效天数 / days valid")] = 365,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """签发机器令牌（只显示一次）/ issue a machine token (shown once)."""
    who = _system()
    row, secret = run(open_db(db), lambda s: users.issue_token(s, who, username, name, days))
    emit(
        {"id": row.id, "token": secret, "expires_at": str(row.expires_at)},
        as_json,
        f"令牌（只显示这一次）/ token (shown once):\n{secret}",
    )


@app.command("list")
@guard
def list_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """账号列表 / the accounts."""
    who = _system()
    rows = run(open_db(db), lambda s: users.list_users(s, who))
    emit(
        rows,
        as_json,
        "\n".join(f"{r['id']:>4}  {r['username']:<20} {r['role']:<9} {r['regions'] or ''}" for r in rows)
        or "（无账号 / no accounts）",
    )


@app.command("totp")
@guard
def totp_cmd(
    username: Annotated[str, typer.Argument(help="用户名 / user name")],
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """设置动态口令（只显示一次；管理员、稽核登录必需）/ set up one-time codes (shown once)."""
    who = _system()
    secret, uri = run(open_db(db), lambda s: users.enroll_totp(s, who, username))
    emit(
        {"username": username, "secret": secret, "uri": uri},
        as_json,
        f"把这个地址加入身份验证器（只显示一次）/ add this to an authenticator app (shown once):\n{uri}\n"
        f"secret: {secret}",
    )
