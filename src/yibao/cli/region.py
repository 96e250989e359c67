"""``yibao region``: the pooling regions this installation administers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin.policies import add_region
from yibao.admin.uow import run
from yibao.cli.admin_common import DbOpt, JsonFlag, emit, open_db
from yibao.db.models.register import Region

app = typer.Typer(help="本系统经办的统筹地区 / regions administered here", no_args_is_help=True)


@app.command("add")
def add_cmd(
    name: Annotated[str | None, typer.Argument(
        help="已有地区：代码、拼音或中文名 / a shipped region")] = None,
    policy_file: Annotated[Path | None, typer.Option(
        "--policy-file",
        help="本地地区文件（存入数据库）/ your own region file, stored in the database")] = None,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """登记一个统筹地区 / start administering a region (shipped, or from your own file)."""
    text = policy_file.read_text(encoding="utf-8") if policy_file else None
    row = run(open_db(db), lambda s: add_region(s, text, name))
    emit({"code": row.code, "policy": row.policy, "name_zh": row.name_zh, "name_en": row.name_en,
          "own_file": text is not None}, as_json,
         f"已登记 {row.name_zh}（{row.code}）/ now administering {row.name_en} ({row.code})")


@app.command("list")
def list_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """列出本系统经办的统筹地区 / list the regions administered here."""
    with Session(open_db(db)) as s:
        regions = s.scalars(select(Region).order_by(Region.code))
        rows = [{"code": r.code, "policy": r.policy, "name_zh": r.name_zh, "name_en": r.name_en,
                 "own_file": r.policy_file is not None} for r in regions]
    text = "\n".join(f"{r['code']}  {r['name_zh']} / {r['name_en']}  ({r['policy']})" for r in rows)
    emit(rows, as_json, text or "（无 / none）")
