"""``yibao keys status | rotate | retire``: the data keys of the encrypted personal fields."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from yibao.cli.admin_common import DbOpt, JsonFlag, actor, emit, guard, open_db

app = typer.Typer(help="个人信息加密密钥 / keys of the encrypted personal fields", no_args_is_help=True)


@app.command("status")
@guard
def status_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """每个密钥加密了多少个值 / how many stored values each key encrypts."""
    from yibao.admin.keys import status
    from yibao.db.crypto import keyring

    ring = keyring()
    uses = [
        {"table": u.table, "column": u.column, "key": u.key_id, "rows": u.rows} for u in status(open_db(db))
    ]
    doc = {
        "keyring": ring.source,
        "primary": ring.primary,
        "keys": {k: {"algorithm": a, "created": ring.created.get(k, "")} for k, (a, _) in ring.keys.items()},
        "uses": uses,
    }
    lines = [f"密钥环 / keyring {ring.source}；主密钥 / primary {ring.primary}"]
    lines += [f"  {k}  {a}  {ring.created.get(k, '')}" for k, (a, _) in ring.keys.items()]
    lines += [f"  {u['table']}.{u['column']}: {u['key']} × {u['rows']}" for u in uses]
    emit(doc, as_json, "\n".join(lines))


@app.command("rotate")
@guard
def rotate_cmd(
    algorithm: Annotated[str, typer.Option("--algorithm", help="sm4-gcm（默认）或 aes-256-gcm")] = "sm4-gcm",
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=100_000, help="每个事务的行数 / rows per transaction")
    ] = 1000,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """换新主密钥并重新加密每一行；中断后再运行即续做 / new primary key, every row re-encrypted;
    run again after an interruption to resume."""
    from yibao.admin import audit
    from yibao.admin.keys import EncryptedColumn, rotate, status
    from yibao.admin.uow import run

    engine = open_db(db)
    total = sum(u.rows for u in status(engine))
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), disable=as_json
    ) as bar:
        task = bar.add_task("重新加密 / re-encrypting", total=total)

        def step(ec: EncryptedColumn, n: int) -> None:
            bar.update(task, advance=n, description=f"{ec.table}.{ec.column}")

        kid, done = rotate(engine, algorithm, batch, step)
    run(engine, lambda s: audit.record(s, actor(), "keys.rotate", "keyring", kid, ("primary",)))
    emit(
        {"primary": kid, "rewritten": done},
        as_json,
        f"主密钥 / primary key {kid}；重新加密 / re-encrypted {done} 个值 / values",
    )


@app.command("retire")
@guard
def retire_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """从密钥环删去已无数据使用的旧密钥 / drop keys no stored value uses any more."""
    from yibao.admin import audit
    from yibao.admin.keys import retire
    from yibao.admin.uow import run

    engine = open_db(db)
    gone = retire(engine)
    for kid in gone:
        run(engine, lambda s, k=kid: audit.record(s, actor(), "keys.retire", "keyring", k))  # type: ignore[misc]
    emit({"retired": gone}, as_json, f"已删去 / retired: {', '.join(gone) or '（无 / none）'}")
