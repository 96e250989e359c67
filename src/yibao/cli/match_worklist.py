"""``yibao match worklist``: the eight worklists of precise enrollment (docs/worklists.md) from a run.

Reads a run folder (``RUN/feeds/<feed>/rows.parquet`` and ``RUN/links.parquet``) and a register
export (docs/register-export.md), builds the worklists and writes an Excel workbook (``--out
FILE.xlsx``) or a folder (``--out DIR``: one Parquet file per worklist, ``summary.json`` and
``worklists.xlsx``). ID numbers and names are masked unless ``--full-ids`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli.admin_common import JsonFlag, emit, guard

__all__ = ["worklist_cmd"]


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100:,}.{fen % 100:02d}"


@guard
def worklist_cmd(
    run: Annotated[Path, typer.Option("--run", help="匹配运行目录 / run folder (feeds/, links.parquet)")],
    register: Annotated[Path, typer.Option("--register", help="登记册导出目录 / register export folder")],
    out: Annotated[Path, typer.Option("--out", help="FILE.xlsx 或目录 / an .xlsx file or a folder")],
    region: Annotated[str | None, typer.Option("--region", help="统筹地区（默认取登记册）/ region")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="截至年月 YYYY-MM（默认取登记册）/ as-of month")
    ] = None,
    only: Annotated[
        str | None, typer.Option("--only", help="只生成这些清单（逗号分隔）/ only these worklists")
    ] = None,
    newborn_days: Annotated[
        int | None,
        typer.Option(
            "--newborn-days",
            help="新生儿参保期限天数（默认 90，假设）/ days to enroll a newborn (default 90)",
        ),
    ] = None,
    interrupted_months: Annotated[
        int | None,
        typer.Option(
            "--interrupted-months",
            help="断缴月数阈值（默认取政策可补缴月数）/ months unpaid (default: policy's back-payable gap)",
        ),
    ] = None,
    warn_months: Annotated[
        int | None,
        typer.Option(
            "--warn-months", help="灵活就业预警提前月数（默认 2）/ flexible-worker warning months (default 2)"
        ),
    ] = None,
    full_ids: Annotated[
        bool,
        typer.Option(
            "--full-ids",
            help="输出完整证件号和姓名（默认脱敏）/ write full IDs and names (masked by default)",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """生成精准参保工作清单 / build the precise-enrollment worklists (docs/worklists.md)."""
    from yibao.match.excel import write_workbook
    from yibao.match.worklists import compute, load_inputs, write_folder
    from yibao.match.worklists.registry import parse_only

    codes = parse_only(only)
    overrides = {
        "newborn_days": newborn_days,
        "interrupted_months": interrupted_months,
        "flexible_warn_months": warn_months,
    }
    console = Console(highlight=False, stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
    ) as bar:
        task = bar.add_task("读取 / reading", total=2 + 2 * len(codes))
        inputs = load_inputs(run, register, region, as_of)
        bar.update(task, advance=1, description="清单 / worklists")
        result = compute(
            inputs, overrides, codes, progress=lambda code: bar.update(task, advance=1, description=code)
        )
        bar.update(task, description="写出 / writing")
        written: dict[str, str] = {}
        if out.suffix.lower() == ".xlsx":
            written["xlsx"] = str(
                write_workbook(result, out, full_ids, progress=lambda code: bar.update(task, advance=1))
            )
        else:
            written = write_folder(result, out, full_ids)
            written["xlsx"] = str(
                write_workbook(
                    result,
                    out / "worklists.xlsx",
                    full_ids,
                    progress=lambda code: bar.update(task, advance=1),
                )
            )
        bar.update(task, completed=2 + 2 * len(codes))
    summary = result.summary()
    if as_json:
        emit(
            {
                "worklists": summary,
                "thresholds": {k: v.as_dict() for k, v in result.thresholds.items()},
                "ids": "full" if full_ids else "masked",
                "files": written,
            },
            True,
        )
        return
    table = Table(title=f"精准参保工作清单 / worklists — {inputs.policy.label}, {inputs.as_of}")
    table.add_column("worklist", no_wrap=True)
    table.add_column("清单")
    for head in ("行数 rows", "优先1 P1", "优先2 P2", "优先3 P3", "待核实 check ID", "金额 yuan"):
        table.add_column(head, justify="right")
    for s in summary:
        if s["rows"] is None:
            table.add_row(s["worklist"], s["title_zh"], f"[yellow]{s['note_zh']} / {s['note_en']}[/yellow]")
            continue
        table.add_row(
            s["worklist"],
            s["title_zh"],
            str(s["rows"]),
            str(s["priority_1"]),
            str(s["priority_2"]),
            str(s["priority_3"]),
            str(s["identity_check"]),
            _yuan(s["amount_fen"]),
        )
    out_console = Console(highlight=False)
    out_console.print(table)
    for t in result.thresholds.values():
        out_console.print(f"  {t.name} = {t.value}（{t.origin}: {t.source}）")
    masked = "完整证件号 / full IDs" if full_ids else "证件号已脱敏 / IDs masked"
    out_console.print(f"→ {written['xlsx']}（{masked}）")
