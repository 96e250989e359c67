"""``yibao lab``: the policy lab (政策实验室, issue 7) — its statistics and its calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from yibao.cli.admin_common import JsonFlag, emit, guard
from yibao.errors import InputError

app = typer.Typer(help="政策实验室：全国参保人群、校准 / policy lab: national population, calibration",
                  no_args_is_help=True)


@app.command("statistics")
@guard
def statistics_cmd(as_json: JsonFlag = False) -> None:
    """校准所用的全国统计数据及来源 / the national statistics the lab is calibrated to, with sources."""
    from yibao.sim.statistics import national_statistics

    table = national_statistics().table()
    if as_json:
        emit(table.to_dicts(), True)
        return
    out = Table("figure / 指标", "year", "value", "unit", "confidence", "derived", "source")
    for r in table.iter_rows(named=True):
        out.add_row(r["figure"], str(r["year"]), f"{r['value']:,}", r["unit"], r["confidence"],
                    "yes" if r["derived"] else "", r["href"])
    Console(highlight=False).print(out)


@app.command("calibrate")
@guard
def calibrate_cmd(
    held_out: Annotated[int, typer.Option("--held-out", help="留出年份 / year held out")] = 2022,
    agents: Annotated[int, typer.Option("--agents", help="样本人数 / sample records")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / seed")] = 1,
    as_json: JsonFlag = False,
) -> None:
    """校准报告：模型值与公布值逐项对照 / the model's figures against the published ones."""
    import polars as pl

    from yibao.sim.calibrate import TOLERANCE, count_calibration, fund_calibration

    if agents < 100:
        raise InputError("--agents", agents, "至少 100", "at least 100")
    counts = count_calibration(held_out, agents, seed)
    funds, params = fund_calibration(held_out, agents, seed)
    counts = counts.with_columns(pl.col("target").cast(pl.Float64), pl.col("model").cast(pl.Float64))
    table = pl.concat([counts, funds])
    if as_json:
        emit({"figures": table.to_dicts(), "parameters": params.to_dicts()}, True)
        return
    out = Table("figure / 指标", "year", "published / 公布", "model / 模型", "error / 误差", "role", "how")
    for r in table.iter_rows(named=True):
        flag = "" if abs(r["error"]) <= TOLERANCE or r["role"] != "fit" else " !"
        out.add_row(r["figure"], str(r["year"]), f"{r['target']:,.2f}", f"{r['model']:,.2f}",
                    f"{r['error']:+.2%}{flag}", r["role"], r["how"])
    console = Console(highlight=False)
    console.print(out)
    ptable = Table("year", "base ratio / 基数比", "how", "outpatient / 门诊水平 (yuan)", "how",
                   "account use / 账户使用率", "admissions / 住院率", "pooled / 统筹支出 (亿)",
                   "accounts / 账户支出 (亿)", title="calibrated parameters / 校准参数")
    for p in params.iter_rows(named=True):
        ptable.add_row(str(p["year"]), f"{p['base_ratio']:.4f}", p["base_ratio_how"],
                       f"{p['outpatient_mean_yuan']:,.0f}", p["outpatient_how"], f"{p['account_use']:.3f}",
                       f"{p['admission_rate']:.2%}", f"{p['pooled_spending']:,.0f}",
                       f"{p['account_spending']:,.0f}")
    console.print(ptable)
    for role in ("fit", "held out", "check"):
        part = table.filter(pl.col("role") == role)
        if part.height:
            worst = float(part["error"].abs().max() or 0.0)  # type: ignore[arg-type]
            console.print(f"{role}: {part.height} figures, max |error| {worst:.3%}"
                          + (f" (tolerance {TOLERANCE:.0%})" if role == "fit" else ""))


def _progress(target: Path, state: str, done: int, total: int, error: str = "") -> None:
    """``progress.json`` in the run folder: what the /lab pages show of a run still going (or
    stopped), written atomically."""
    import datetime as dt
    import json
    import os

    tmp = target / "progress.json.tmp"
    tmp.write_text(json.dumps({"state": state, "done": done, "total": total, "error": error,
                               "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))
    os.replace(tmp, target / "progress.json")


@app.command("run")
@guard
def run_cmd(
    scenario: Annotated[str, typer.Argument(help="场景文件 / scenario file (YAML): scenarios/reforms.yaml")],
    out: Annotated[str, typer.Option("--out", help="输出目录 / output directory")] = "lab-out",
    fresh: Annotated[bool, typer.Option("--fresh", help="不续跑，重新开始 / start afresh")] = False,
) -> None:
    """运行场景：基线与改革、预测到 2050、HTML 报告与 Parquet 结果 / run a scenario: baseline and
    reforms projected with ranges, an HTML report and Parquet results (resumable)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from yibao.sim.report import render_report
    from yibao.sim.scenario import load_scenario, run_scenario

    spec = load_scenario(scenario)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    _progress(target, "running", 0, 0)
    try:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task("预测 / projecting (variant × draw)", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)
                _progress(target, "running", done, total)

            result = run_scenario(spec, target, fresh=fresh, progress=step)
        report = target / "report.html"
        report.write_text(render_report(result), encoding="utf-8")
    except BaseException as e:  # the web page shows a run that stopped; the guard reports the error
        _progress(target, "failed", 0, 0, f"{type(e).__name__}: {e}"[:500])
        raise
    _progress(target, "done", 1, 1)
    console = Console(highlight=False)
    table = Table("variant / 方案", "runs out (central) / 耗尽年份", "first deficit / 当期赤字",
                  title=spec.name_zh)
    for r in result.exhaustion.filter(result.exhaustion["draw"] == 0).iter_rows(named=True):
        table.add_row(r["variant"], str(r["exhaustion_year"] or f"> {spec.end_year}"),
                      str(r["first_deficit_year"] or f"> {spec.end_year}"))
    console.print(table)
    console.print(f"报告 / report: {report}\nParquet: {target}/*.parquet")


@app.command("national")
@guard
def national_cmd(
    year: Annotated[int, typer.Option("--year", help="年份 / year")] = 2021,
    agents: Annotated[int, typer.Option("--agents", help="样本数，0 = 全部 / sample records, 0 = all")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="进程数 / worker processes")] = 2,
    chunk_blocks: Annotated[int, typer.Option("--chunk-blocks", help="每块的区块数 / blocks per chunk")] = 16,
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / seed")] = 1,
    checkpoint: Annotated[str, typer.Option("--checkpoint", help="续跑文件 / resume file")] = "",
    as_json: JsonFlag = False,
) -> None:
    """全体参保人一年：逐人缴费、划账与结算 / one year of every member, person by person (streamed,
    both cores, resumable)."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from yibao.sim.calibrate import calibrated_years
    from yibao.sim.national import NationalJob, national_year
    from yibao.sim.population import population_plan

    bounds = (("--workers", workers, 1), ("--chunk-blocks", chunk_blocks, 1), ("--agents", agents, 0))
    for name, value, low in bounds:
        if value < low:
            raise InputError(name, value, f"至少 {low}", f"at least {low}")
    cal = calibrated_years(seed=seed)
    if year not in cal:
        raise InputError("--year", year, f"可用 {min(cal)}–{max(cal)}", f"available {min(cal)}–{max(cal)}")
    plan = population_plan(year, agents or None, seed)
    job = NationalJob.from_calibration(plan, cal[year], chunk_blocks=chunk_blocks)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, disable=as_json) as bar:
        task = bar.add_task(f"{plan.total:,} 人 / records", total=job.chunks)
        result = national_year(job, workers, Path(checkpoint) if checkpoint else None,
                               lambda done, total: bar.update(task, completed=done))
    figures = {c: result.total(c) for c in ("employer", "individual", "account_credit", "inpatient_fund",
                                            "outpatient_fund", "admissions")}
    if as_json:
        emit(result.as_dict() | {"totals": figures}, True)
        return
    out = Table("figure / 指标", "value", title=f"{year}: {plan.total:,} records")
    for k, v in figures.items():
        out.add_row(k, f"{v:,.2f}" + ("" if k == "admissions" else " 亿元"))
    Console(highlight=False).print(out)
