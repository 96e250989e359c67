"""``yibao export register``: the register as Parquet for precise enrollment (docs/register-export.md);
``yibao export lab-extract``: a de-identified member extract for the policy lab (docs/security.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TaskID

from yibao.cli.admin_common import DbOpt, JsonFlag, actor, emit, guard, open_db

app = typer.Typer(help="导出 / exports", no_args_is_help=True)


@app.command("register")
@guard
def register_cmd(
    out: Annotated[Path, typer.Option("--out", help="输出目录 / output folder")],
    purpose: Annotated[str, typer.Option("--purpose", help="用途（记入审计日志）/ purpose, audited")],
    region: Annotated[str | None, typer.Option("--region", help="只导出该统筹地区 / one region only")] = None,
    approval: Annotated[int | None, typer.Option(
        "--approval", help="已批准的复核申请号（人数超过阈值时）/ the approved request (above the threshold)",
    )] = None,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """导出参保登记（人员、单位、就业、参保、缴费月）为 Parquet / export the register as Parquet.

    More people than the region's export threshold need a reviewer's approval first (four-eyes):
    the first run files the request (exit 3), the run after approval names it with --approval."""
    import dataclasses

    from yibao.admin.export import export_register

    engine = open_db(db)
    with Progress(transient=True, disable=as_json) as bar:
        tasks: dict[str, TaskID] = {}

        def show(table: str, n: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=None)
            bar.update(tasks[table], completed=n)

        who = dataclasses.replace(actor(purpose), approval_id=approval)
        res = export_register(engine, who, out, region=region, progress=show)
    lines = "\n".join(f"  {t}: {n}" for t, n in res.rows.items())
    emit({"folder": str(res.folder), "rows": res.rows, "audit_event": res.manifest["audit_event"]},
         as_json, f"已导出到 / exported to {res.folder}\n{lines}")


@app.command("lab-extract")
@guard
def lab_extract_cmd(
    region: Annotated[str, typer.Option("--region", help="统筹地区 / pooling region")],
    year: Annotated[int, typer.Option("--year", min=2000, max=2100, help="年末 / the year's end")],
    out: Annotated[Path, typer.Option("--out", help="Parquet 文件 / the Parquet file")],
    key_file: Annotated[Path | None, typer.Option("--key-file", help="假名密钥文件（≥32 字节）")] = None,
    k: Annotated[int, typer.Option("--k", help="每组至少人数 / k-anonymity")] = 5,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """去标识化人员提取（政策实验室格式）/ a de-identified member extract in the lab's layout."""
    import os

    from yibao.admin.deidentify import lab_extract, load_key, write_extract
    from yibao.admin.register import resolve_region
    from yibao.admin.uow import run

    key = load_key(key_file, os.environ.get("YIBAO_PSEUDONYM_KEY"))
    who = actor("去标识化提取 / de-identified extract")

    def step(s: Any) -> Any:
        return lab_extract(s, who, resolve_region(s, region).code, year, key, k)

    frame, report = run(open_db(db), step)
    path = write_extract(frame, report, out)
    emit({**report.as_dict(), "file": str(path)}, as_json,
         f"提取 / extracted {report.rows} members ({report.suppressed} left out for k={report.k}) → {path}")
