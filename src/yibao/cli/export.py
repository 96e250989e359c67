"""``yibao export register``: the register as Parquet for precise enrollment (docs/register-export.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID

from yibao.cli.admin_common import DbOpt, JsonFlag, actor, emit, open_db

app = typer.Typer(help="导出 / exports", no_args_is_help=True)


@app.command("register")
def register_cmd(
    out: Annotated[Path, typer.Option("--out", help="输出目录 / output folder")],
    purpose: Annotated[str, typer.Option("--purpose", help="用途（记入审计日志）/ purpose, audited")],
    region: Annotated[str | None, typer.Option("--region", help="只导出该统筹地区 / one region only")] = None,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """导出参保登记（人员、单位、就业、参保、缴费月）为 Parquet / export the register as Parquet."""
    from yibao.admin.export import export_register

    engine = open_db(db)
    with Progress(transient=True, disable=as_json) as bar:
        tasks: dict[str, TaskID] = {}

        def show(table: str, n: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=None)
            bar.update(tasks[table], completed=n)

        res = export_register(engine, actor(purpose), out, region=region, progress=show)
    lines = "\n".join(f"  {t}: {n}" for t, n in res.rows.items())
    emit({"folder": str(res.folder), "rows": res.rows, "audit_event": res.manifest["audit_event"]},
         as_json, f"已导出到 / exported to {res.folder}\n{lines}")
