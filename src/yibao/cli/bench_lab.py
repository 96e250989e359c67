"""``yibao bench lab``: the policy lab at national scale, with the OpenFisca peer in the same run
(:mod:`yibao.bench.lab`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import InputError

__all__ = ["lab"]


def lab(
    quick: Annotated[bool, typer.Option("--quick", help="小规模 / small sizes")] = False,
    workers: Annotated[int, typer.Option("--workers", help="进程数 / worker processes")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="JSON 输出 / JSON output")] = False,
) -> None:
    """政策实验室：全国一年（3.54 亿人）、1% 样本预测到 2050 年，对照 OpenFisca / the lab: one national year
    (354 M members), a 1% sample to 2050, against OpenFisca in the same run."""
    from yibao.bench.lab import TARGET_PROJECTION_SECONDS, TARGET_RSS_BYTES, TARGET_SECONDS, bench_lab

    if workers < 1:
        raise InputError("--workers", workers, "至少 1", "at least 1")
    console = Console(highlight=False, stderr=as_json)
    r = bench_lab(quick, workers, log=lambda s: console.print(f"[dim]{s}[/dim]"))
    if as_json:
        print(json.dumps(r, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"政策实验室 / policy lab: {r['year']}, {r['records']:,} members")
    for col in ("measure", "value", "target", "note"):
        table.add_column(col, justify="left" if col in ("measure", "note") else "right")
    table.add_row(
        "national year / 全国一年",
        f"{r['seconds']:.1f} s",
        f"≤ {TARGET_SECONDS:.0f} s",
        f"{r['records_per_s']:,.0f} members/s, {r['workers']} workers",
    )
    table.add_row(
        "peak memory / 峰值内存",
        f"{r['peak_rss_bytes'] / 1024**3:.2f} GB",
        f"≤ {TARGET_RSS_BYTES / 1024**3:.0f} GB",
        "process tree",
    )
    table.add_row(
        "projection to 2050 / 预测",
        f"{r['projection_seconds']:.1f} s",
        f"≤ {TARGET_PROJECTION_SECONDS:.0f} s",
        f"{r['projection_records']:,} records; runs out {r['projection_exhaustion_year']}",
    )
    rows = r["peer_rows"]
    same = f"{rows['contributions']:,} contributions + {rows['first_admissions']:,} first admissions"
    table.add_row("yibao calculators, peer sample", f"{r['yibao_seconds']:.3f} s", "", same)
    table.add_row("OpenFisca encoding, same work", f"{r['openfisca_seconds']:.3f} s", "", same)
    table.add_row(
        "yibao full year, same sample",
        f"{r['yibao_full_year_seconds']:.3f} s",
        "",
        f"{r['peer_sample']:,} members: contributions, credits, all claims drawn and settled",
    )
    console.print(table)
    console.print(f"ratio / 倍数: ×{r['ratio_vs_openfisca']:.1f} (OpenFisca time / yibao time, same sample)")
    t = r["totals"]
    console.print(
        f"employer {t['employer']:,.0f} 亿, individual {t['individual']:,.0f} 亿, pooled fund paid "
        f"{t['inpatient_fund'] + t['outpatient_fund']:,.0f} 亿, admissions {t['admissions']:,.0f}"
    )
    if not quick:
        console.print("targets met / 达标" if r["met"] else "targets NOT met / 未达标")
