"""``yibao match``: precise enrollment (精准参保, DOMAIN.md §8) — department feeds read and checked.

``yibao match specs`` lists the shipped feed specs; ``yibao match ingest SPEC FILE --out DIR`` reads
a feed, writes ``rows.parquet``, ``bad_rows.parquet`` and ``summary.json`` and shows the first bad
rows. SPEC is a shipped spec's name or a YAML file. ``yibao match generate`` writes a synthetic
region with known truth (docs/match-synthetic.md); ``yibao match evaluate --world DIR --run RUN``
scores a run's links against that truth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli.admin_common import JsonFlag, emit, guard
from yibao.cli.match_worklist import worklist_cmd
from yibao.errors import InputError
from yibao.match.feeds import ingest, load_spec, shipped_specs, write

app = typer.Typer(help="精准参保：部门数据导入与规范化 / precise enrollment: department feeds",
                  no_args_is_help=True)
app.command("worklist")(worklist_cmd)  # the eight worklists (docs/worklists.md)


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


def _score_table(title: str, rows: dict[str, dict[str, object]]) -> Table:
    table = Table(title=title)
    table.add_column("", no_wrap=True)
    for head in ("rows / 行", "TP", "FP", "FN", "precision / 精确率", "recall / 召回率", "F1"):
        table.add_column(head)
    for key, r in rows.items():
        table.add_row(key, *(str(r.get(c, "")) for c in ("rows", "tp", "fp", "fn")),
                      *("–" if r[c] is None else f"{r[c]:.4f}" for c in ("precision", "recall", "f1")))
    return table


@app.command("evaluate")
@guard
def evaluate_cmd(
    world: Annotated[Path, typer.Option("--world", help="合成数据目录 / synthetic world folder")],
    run: Annotated[Path, typer.Option("--run", help="匹配运行目录 / run folder (links.parquet)")],
    as_json: JsonFlag = False,
) -> None:
    """按真值评估匹配结果 / score a run against the synthetic truth (writes RUN/evaluation.json)."""
    from yibao.match.evaluate import evaluate_run

    result = evaluate_run(world, run)
    if as_json:
        emit(result, True)
        return
    pm = result["person_matching"]
    console = Console(highlight=False)
    overall = {"rows": pm["rows"]} | pm["overall"]
    console.print(_score_table("人员匹配 / person matching", {"overall / 总体": overall}))
    for key, title in (("by_feed", "按数据 / by feed"), ("by_error_type", "按错误类型 / by error type"),
                       ("by_method", "按方法 / by method")):
        console.print(_score_table(title, pm[key]))
    for name, section in result.items():
        if isinstance(section, dict) and isinstance(section.get("table"), list) and section["table"]:
            rows = section["table"]
            table = Table(*map(str, rows[0]), title=name)
            for r in rows:
                table.add_row(*("" if v is None else str(v) for v in r.values()))
            console.print(table)
    if pm["rows_missing_from_run"]:
        console.print(f"[yellow]运行中缺少 {pm['rows_missing_from_run']} 行（按未匹配计）/ "
                      "rows missing from the run (counted as unlinked)[/yellow]")
    console.print(f"→ {run / 'evaluation.json'}")


@app.command("run")
@guard
def run_cmd(
    out: Annotated[Path, typer.Option("--out", help="运行目录 / run folder")],
    register: Annotated[Path | None, typer.Option(
        "--register", help="登记册导出目录 / register export folder")] = None,
    world: Annotated[Path | None, typer.Option(
        "--world", help="合成数据目录（登记册与全部数据）/ synthetic world: its register and feeds")] = None,
    feed: Annotated[list[str] | None, typer.Option(
        "--feed", help="数据规格=文件，可多次 / SPEC=FILE, repeatable")] = None,
    backend: Annotated[str, typer.Option("--backend", help="duckdb 或 spark")] = "duckdb",
    model: Annotated[Path | None, typer.Option(
        "--model", help="沿用已训练的模型（Splink JSON）/ reuse a trained model")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="清空运行目录重来 / start over")] = False,
    as_json: JsonFlag = False,
) -> None:
    """匹配：导入、精确匹配、概率链接 / match feeds to the register (resumes an interrupted run)."""
    from yibao.match.linkage import BACKENDS
    from yibao.match.run import FeedInput, feeds_of_world, parse_feed_option, run_match

    if backend not in BACKENDS:
        raise InputError("--backend", backend, "应为 duckdb 或 spark", "expected duckdb or spark")
    feeds: list[FeedInput] = []
    if world is not None:
        reg, feeds = feeds_of_world(world)
        register = register or reg
    feeds += [parse_feed_option(f) for f in feed or []]
    if register is None:
        raise InputError("--register", None, "需要登记册导出目录（--register 或 --world）",
                         "a register export folder is needed (--register or --world)")
    stages = [f"ingest:{f.name}" for f in feeds] + ["exact", "linkage", "links"]
    console = Console(highlight=False, stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=as_json) as bar:
        task = bar.add_task("match", total=len(stages))
        seen: list[str] = []

        def step(stage: str) -> None:
            if seen:
                bar.update(task, advance=1)
            seen.append(stage)
            bar.update(task, description=stage)

        def log(msg: str) -> None:
            bar.update(task, description=f"linkage: {msg}")

        summary = run_match(register, feeds, out, backend=backend, fresh=fresh,  # type: ignore[arg-type]
                            model=model, progress=step, log=log)
        bar.update(task, advance=1, description="done / 完成")
    if as_json:
        emit(summary, True)
        return
    table = Table("method / 方法", "rows / 行数")
    for method, n in sorted(summary["by_method"].items()):
        table.add_row(method, f"{n:,}")
    out_console = Console(highlight=False)
    out_console.print(table)
    out_console.print(f"概率链接 / linkage ({summary['backend']}, 模型 / model {summary['model']}): "
                      f"候选 {summary['candidates']:,} 行 / rows, "
                      f"配对 {summary['pairs']:,} / pairs, 链接 {summary['linked']:,} / linked, "
                      f"歧义 {summary['ambiguous']:,} / ambiguous → {out / 'links.parquet'}")
