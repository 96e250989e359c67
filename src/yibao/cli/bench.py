"""`yibao bench` commands: the rule calculators against peers measured in the same run.

``yibao bench --quick`` runs every suite at a small size in seconds (the test suite runs it so the
benchmark never rots); ``yibao bench rules [--quick] [--rows N ...] [--json]`` is the full run
(1M and 10M rows by default). See docs/performance.md and :mod:`yibao.bench.runner`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from yibao.cli.common import PolicyFileOpt, load_policy, parse_date
from yibao.errors import InputError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)

QUICK_ROWS = 20_000
FULL_ROWS = (1_000_000, 10_000_000)
DEFAULT_LOOP_ROWS = 200_000
DEFAULT_SEED = 20240301

QuickOpt = Annotated[bool, typer.Option(
    "--quick", help="小规模快速运行（不检查目标）/ small sizes, seconds, no targets")]
JsonFlag = Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON instead of tables")]
SeedOpt = Annotated[int, typer.Option("--seed", help="随机种子 / seed of np.random.default_rng")]
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")


def _rows(text: str) -> int:
    m = _SIZE.match(text)
    if not m:
        raise InputError("--rows", text, "应为正整数，可带 k/M，如 20000、1M、10M",
                         "expected a positive whole number, optionally with k/M, e.g. 20000, 1M, 10M")
    mult = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    n = int(float(m.group(1)) * mult)
    if n < 100:
        raise InputError("--rows", text, "至少 100 行", "at least 100 rows")
    return n


def _run(quick: bool, sizes: list[int], loop_rows: int, seed: int, region: str, date: str,
         policy_files: list[Path] | None, suites: list[str] | None, repeat: int | None,
         as_json: bool) -> None:
    from yibao.bench.measure import machine
    from yibao.bench.runner import SUITES, BenchConfig, run, steps_for
    from yibao.bench.table import render, to_json

    chosen = tuple(suites or SUITES)
    for s in chosen:
        if s not in SUITES:
            raise InputError("--suite", s, "应为 " + " / ".join(SUITES),
                             "expected one of " + ", ".join(SUITES))
    if loop_rows < 1:
        raise InputError("--loop-rows", loop_rows, "应为正整数", "expected a positive whole number")
    snap = load_policy(region, policy_files).at(parse_date(date))
    cfg = BenchConfig(snap, tuple(sizes), loop_rows, seed, repeat or 3, chosen, quick)
    err = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task("yibao bench", total=steps_for(cfg))

        def step(what: str) -> None:
            progress.update(task, description=what, advance=1)

        report = run(cfg, step)
    info = machine()
    if as_json:
        typer.echo(json.dumps(to_json(report, info), ensure_ascii=False, indent=2))
    else:
        out = Console()
        if not out.is_terminal:  # a pipe or a file: do not squeeze the table into 80 columns
            out = Console(width=150)
        out.print(f"[dim]{info['cpu']}, {info['cores']} cores, Python {info['python']}, numpy "
                  f"{info['numpy']}, numba {info['numba']}, openfisca-core {info['openfisca-core']}[/]")
        render(report, out, show_targets=not quick)
    if report.interrupted:
        raise typer.Exit(130)


@app.callback(invoke_without_command=True)
def bench(ctx: typer.Context, quick: QuickOpt = False, as_json: JsonFlag = False,
          seed: SeedOpt = DEFAULT_SEED) -> None:
    """基准测试：与同场测得的对照实现比较 / benchmarks against peers measured in the same run."""
    if ctx.invoked_subcommand is not None:
        return
    if not quick:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    _run(True, [QUICK_ROWS], QUICK_ROWS, seed, "beijing", "2024-03-01", None, None, None, as_json)


def _admin_command() -> None:
    from yibao.cli.bench_admin import admin

    app.command("admin")(admin)


_admin_command()


def _api_command() -> None:
    from yibao.cli.admin_common import guard
    from yibao.cli.bench_api import api

    app.command("api")(guard(api))


_api_command()


def _match_command() -> None:
    from yibao.cli.admin_common import guard
    from yibao.cli.bench_match import match

    app.command("match")(guard(match))


_match_command()


def _lab_command() -> None:
    from yibao.cli.admin_common import guard
    from yibao.cli.bench_lab import lab

    app.command("lab")(guard(lab))


_lab_command()


@app.command("rules")
def rules(
    quick: QuickOpt = False,
    rows: Annotated[list[str] | None, typer.Option(
        "--rows", help="行数（可多次，如 1M 10M）/ rows per suite (repeatable)")] = None,
    loop_rows: Annotated[int, typer.Option(
        "--loop-rows", help="逐行循环只计时前 N 行 / time the per-row loop on the first N rows")]
    = DEFAULT_LOOP_ROWS,
    suite: Annotated[list[str] | None, typer.Option(
        "--suite", help="settle | settle_1pp | contribution（可多次）")] = None,
    seed: SeedOpt = DEFAULT_SEED,
    region: Annotated[str, typer.Option("--region", "-r", help="地区 / region")] = "beijing",
    date: Annotated[str, typer.Option("--date", "-d", help="规则日期 / rules of this date")]
    = "2024-03-01",
    policy_file: PolicyFileOpt = None,
    repeat: Annotated[int | None, typer.Option("--repeat", help="取最快的 N 次 / best of N runs")] = None,
    as_json: JsonFlag = False,
) -> None:
    """结算与缴费计算的速度、内存与精度 / settlement and contribution: speed, memory, exactness."""
    sizes = [_rows(r) for r in rows] if rows else ([QUICK_ROWS] if quick else list(FULL_ROWS))
    if repeat is not None and repeat < 1:
        raise InputError("--repeat", repeat, "应为正整数", "expected a positive whole number")
    _run(quick, sizes, min(loop_rows, QUICK_ROWS) if quick else loop_rows, seed, region, date,
         policy_file, suite, repeat, as_json)
