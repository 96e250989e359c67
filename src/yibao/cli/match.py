"""``yibao match``: precise enrollment (精准参保, DOMAIN.md §8) — department feeds read and checked.

``yibao match specs`` lists the shipped feed specs; ``yibao match ingest SPEC FILE --out DIR`` reads
a feed, writes ``rows.parquet``, ``bad_rows.parquet`` and ``summary.json`` and shows the first bad
rows. SPEC is a shipped spec's name or a YAML file. ``yibao match generate`` writes a synthetic
region with known truth (docs/match-synthetic.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli.admin_common import JsonFlag, emit, guard
from yibao.match.feeds import ingest, load_spec, shipped_specs, write

app = typer.Typer(help="精准参保：部门数据导入与规范化 / precise enrollment: department feeds",
                  no_args_is_help=True)


@app.command("specs")
@guard
def specs(as_json: JsonFlag = False) -> None:
    """列出内置数据规格 / list the shipped feed specs."""
    shipped = shipped_specs()
    data = [{"name": s.name, "department": s.department, "kind": s.kind, "description": s.description,
             "required": s.required} for s in shipped.values()]
    if as_json:
        emit(data, True)
        return
    table = Table("name", "department", "kind", "required / 必需字段", "description")
    for s in shipped.values():
        table.add_row(s.name, s.department, s.kind, ", ".join(s.required), s.description)
    Console(highlight=False).print(table)


@app.command("ingest")
@guard
def ingest_cmd(
    spec: Annotated[str, typer.Argument(help="数据规格名称或 YAML 文件 / spec name or YAML file")],
    file: Annotated[Path, typer.Argument(help="CSV、xlsx 或 Parquet 文件 / CSV, xlsx or Parquet file")],
    out: Annotated[Path, typer.Option("--out", help="输出目录 / output directory")],
    show: Annotated[int, typer.Option("--show", help="显示的问题行数 / bad rows shown")] = 10,
    as_json: JsonFlag = False,
) -> None:
    """导入一个部门数据文件 / read, validate and normalise one feed file."""
    result = ingest(file, load_spec(spec))
    paths = write(result, out)
    summary = result.summary() | {"files": paths}
    first = result.bad.head(show)
    if as_json:
        emit(summary | {"first_bad": first.to_dicts()}, True)
        return
    console = Console(highlight=False)
    console.print(f"{result.spec.name}: 输入 {result.input_rows} 行 / input rows；"
                  f"保留 {result.rows.height} 行 / kept（其中证件号无法使用 {result.id_warning_count()} 行，"
                  f"留待概率匹配 / with an unusable ID, kept for linkage）；"
                  f"问题 {result.bad_row_count()} 行 / bad → {out}")
    if first.height:
        table = Table("行 / row", "字段 / field", "值 / value", "原因", "reason", "级别 / severity")
        for r in first.iter_rows():
            table.add_row(*(("" if v is None else str(v)) for v in r))
        console.print(table)


@app.command("generate")
@guard
def generate_cmd(
    persons: Annotated[int, typer.Option("--persons", help="世界人数 / persons in the world")],
    out: Annotated[Path, typer.Option("--out", help="输出目录 / output directory")],
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / seed")] = 1,
    as_json: JsonFlag = False,
) -> None:
    """生成带真值的合成地区 / write a synthetic region with known truth (docs/match-synthetic.md)."""
    from yibao.match.synthetic import STAGES, generate

    console = Console(highlight=False, stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=as_json) as bar:
        task = bar.add_task("generate", total=len(STAGES))
        manifest = generate(persons, seed, out, lambda stage: bar.update(task, advance=1, description=stage))
    summary = {k: manifest[k] for k in ("seed", "persons", "world_persons", "register_rows", "feed_rows",
                                        "feed_rows_total", "situations")}
    summary["id_corrupted_share"] = manifest["error_shares"]["id_corrupted"]
    if as_json:
        emit(summary | {"out": str(out)}, True)
        return
    table = Table("feed / 数据", "rows / 行数", "format / 格式")
    for feed, rows in manifest["feed_rows"].items():
        table.add_row(feed, str(rows), manifest["feeds"][feed])
    console = Console(highlight=False)
    console.print(table)
    console.print(f"登记册 / register: {manifest['register_rows']}；证件号受损 / IDs corrupted "
                  f"{manifest['error_shares']['id_corrupted']:.2%} → {out}")
