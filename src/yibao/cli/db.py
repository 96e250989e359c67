"""``yibao db``: create or upgrade the database schema (Alembic), show its revision."""

from __future__ import annotations

import typer

from yibao.cli.admin_common import DbOpt, JsonFlag, emit
from yibao.db.engine import database_url, make_engine
from yibao.db.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="数据库结构（迁移）/ database schema (migrations)", no_args_is_help=True)


def _shown(url: str) -> str:
    # never print a password that a URL may carry
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.split("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}:***@{host}" if ":" in cred else url
    return url


@app.command("upgrade")
def upgrade_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """建立或升级数据库结构到最新版本 / create or upgrade the schema to the latest revision."""
    engine = make_engine(db)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    url = _shown(database_url(db))
    emit({"database": url, "from": before, "to": after}, as_json,
         f"数据库 {url}：{before or '空'} → {after}\ndatabase {url}: {before or 'empty'} → {after}")


@app.command("current")
def current_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """显示数据库当前版本 / show the database's revision and the latest one."""
    engine = make_engine(db)
    cur, head = current_revision(engine), head_revision()
    emit({"database": _shown(database_url(db)), "current": cur, "head": head, "up_to_date": cur == head},
         as_json, f"当前 / current: {cur or '空 / empty'}；最新 / head: {head}")
