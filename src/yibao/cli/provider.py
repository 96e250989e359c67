"""``yibao provider add | list``: the designated providers (定点医药机构) the gateway answers.

The national platform's messages carry only ``fixmedins_code``; the settlement rules need the
provider's level and the region it is in (remote care), which the bureau records here. A
provider's system then signs in with a ``provider`` account's token (``yibao user add NAME
--role provider``, ``yibao user token NAME``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin.uow import run
from yibao.cli.admin_common import DbOpt, JsonFlag, emit, guard, open_db
from yibao.db.models.gateway import MedicalInstitution
from yibao.platform.gateway import add_institution
from yibao.policy.catalog import LEVELS

__all__ = ["app"]

app = typer.Typer(help="定点医药机构 / designated providers", no_args_is_help=True)


@app.command("add")
@guard
def add_cmd(
    code: Annotated[str, typer.Argument(help="定点医药机构编号 fixmedins_code")],
    name: Annotated[str, typer.Option("--name", help="名称 / name")],
    level: Annotated[str, typer.Option("--level", help=" | ".join(LEVELS))],
    region: Annotated[str, typer.Option("--region", help="所在医保区划 / region code where it is")],
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """登记定点医药机构 / register a designated provider."""
    row = run(open_db(db), lambda s: add_institution(s, code, name, level, region))
    emit({"code": row.code, "name": row.name, "level": row.level, "region": row.region_code}, as_json,
         f"已登记 / registered: {row.code} {row.name} ({row.level}, {row.region_code})")


@app.command("list")
@guard
def list_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """定点医药机构列表 / the designated providers."""
    with Session(open_db(db)) as s:
        rows = [{"code": m.code, "name": m.name, "level": m.level, "region": m.region_code}
                for m in s.scalars(select(MedicalInstitution).order_by(MedicalInstitution.code))]
    emit(rows, as_json, "\n".join(f"{r['code']:<14} {r['level']:<9} {r['region']}  {r['name']}" for r in rows)
         or "（无 / none）")
