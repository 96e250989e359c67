"""``yibao bench api``: settlement over HTTP against the in-process call (:mod:`yibao.bench.api`).

The PostgreSQL server is ``--db`` / ``YIBAO_DATABASE_URL`` or the local one; the benchmark creates
and drops its own database there. Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from yibao.cli.bench_admin import LOCAL_PG
from yibao.errors import InputError

__all__ = ["api"]

SHOWN = [
    "implementation",
    "clients",
    "claims",
    "claims_per_s",
    "p50_ms",
    "p99_ms",
    "ratio_throughput",
    "ratio_p99",
    "cpu_ms_per_claim",
    "errors",
]


def api(
    quick: Annotated[bool, typer.Option("--quick", help="小规模 / small sizes")] = False,
    db: Annotated[str | None, typer.Option("--db", help="PostgreSQL 服务器 URL / server URL")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64, help="uvicorn 进程数")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
) -> None:
    """HTTP 接口结算基准（PostgreSQL，本机回环）/ settlement over HTTP vs in-process, on PostgreSQL."""
    from yibao.bench import api as bench

    url = db or os.environ.get("YIBAO_DATABASE_URL") or LOCAL_PG
    if not url.startswith(("postgresql", "postgres")):
        raise InputError("--db", url, "基准需要 PostgreSQL 服务器", "the benchmark needs a PostgreSQL server")
    size = bench.QUICK if quick else bench.FULL
    err = Console(stderr=True, highlight=False)

    def say(msg: str) -> None:
        if not as_json:
            err.print(f"  {msg}", markup=False)

    rows: list[dict[str, Any]] = bench.bench_api(
        url, int(size["n_persons"]), seconds=float(size["seconds"]), workers=workers, log=say
    )
    if as_json:
        typer.echo(json.dumps({"rows": rows}, ensure_ascii=False, indent=2))
        return
    table = Table(title="api: POST /api/v1/claims vs claims.settle in-process (ratio = HTTP / in-process)")
    for k in SHOWN:
        table.add_column(k, justify="left" if k == "implementation" else "right")
    for r in rows:
        table.add_row(*("" if r.get(k) is None else str(r.get(k)) for k in SHOWN))
    Console(highlight=False, width=max(Console().width, 120)).print(table)
    if rows:
        typer.echo(rows[0]["note"])
