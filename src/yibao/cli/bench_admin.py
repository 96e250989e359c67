"""``yibao bench admin``: the administration core on PostgreSQL against a naive per-row peer.

Two suites, each printed with the ratio to a naive per-row ORM implementation measured in the
same run (issue 4's targets, checked and shown, never asserted in tests):

- **assessment**: the monthly run for 1,000,000 employees (set-based: one rule call and bulk
  writes per chunk) — target ≤ 60 s;
- **settlement**: online settlement with 16 concurrent clients (target ≥ 500 claims/s) and with
  4 clients (target p99 ≤ 20 ms).

The database server is ``--db`` / ``YIBAO_DATABASE_URL`` or the local PostgreSQL; each suite
creates and drops its own database there.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import InputError

__all__ = ["admin"]

LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGETS = {"assessment_seconds": 60.0, "claims_per_s_16": 500.0, "p99_ms_4": 20.0}


def admin(
    quick: Annotated[bool, typer.Option(
        "--quick", help="小规模（不检查目标）/ small sizes, no targets")] = False,
    suite: Annotated[list[str] | None, typer.Option("--suite", help="assessment | settlement")] = None,
    db: Annotated[str | None, typer.Option("--db", help="PostgreSQL 服务器 URL / server URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
) -> None:
    """经办核心基准（PostgreSQL）/ administration core benchmarks on PostgreSQL."""
    from yibao.bench import admin_assessment, admin_settlement

    url = db or os.environ.get("YIBAO_DATABASE_URL") or LOCAL_PG
    if not url.startswith(("postgresql", "postgres")):
        raise InputError("--db", url, "基准需要 PostgreSQL 服务器", "the benchmarks need a PostgreSQL server")
    chosen = suite or ["assessment", "settlement"]
    for s in chosen:
        if s not in ("assessment", "settlement"):
            raise InputError("--suite", s, "应为 assessment 或 settlement",
                             "expected assessment or settlement")
    err = Console(stderr=True, highlight=False)

    def say(msg: str) -> None:
        if not as_json:
            err.print(f"  {msg}", markup=False)

    rows: list[dict[str, Any]] = []
    if "assessment" in chosen:
        a = admin_assessment.QUICK if quick else admin_assessment.FULL
        rows += admin_assessment.bench_assessment(url, a["n_employees"], a["n_employers"], log=say,
                                                  naive_rows=200 if quick else 2_000)
    if "settlement" in chosen:
        b = admin_settlement.QUICK if quick else admin_settlement.FULL
        rows += admin_settlement.bench_settlement(url, int(b["n_persons"]), seconds=float(b["seconds"]),
                                                  log=say)
    verdicts = [] if quick else _verdicts(rows)
    if as_json:
        typer.echo(json.dumps({"rows": rows, "targets": verdicts}, ensure_ascii=False, indent=2))
        return
    out = Console(highlight=False, width=max(Console().width, 120))
    for name, keys in SHOWN.items():
        part = [r for r in rows if r["suite"] == name]
        if not part:
            continue
        table = Table(title=name)
        for k in keys:
            table.add_column(k, justify="left" if k in ("implementation", "note") else "right")
        for r in part:
            table.add_row(*("" if r.get(k) is None else str(r.get(k)) for k in keys))
        out.print(table)
    for line in verdicts:
        out.print(line, markup=False)


SHOWN = {
    "assessment": ["implementation", "suite_rows", "seconds_all_rows", "rows_per_s", "ratio", "note"],
    "settlement": ["implementation", "clients", "claims", "claims_per_s", "p50_ms", "p99_ms",
                   "ratio_throughput", "ratio_p99"],
}


def _verdicts(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        if r["suite"] == "assessment" and r["implementation"] == "yibao":
            ok = r["seconds"] <= TARGETS["assessment_seconds"]
            out.append(f"assessment {r['rows']} employees: {r['seconds']} s (target ≤ 60 s) "
                       f"{'met' if ok else 'NOT met'}")
        if r["suite"] == "settlement" and r["implementation"] == "yibao":
            if r["clients"] == 16:
                ok = r["claims_per_s"] >= TARGETS["claims_per_s_16"]
                out.append(f"settlement, 16 clients: {r['claims_per_s']} claims/s (target ≥ 500) "
                           f"{'met' if ok else 'NOT met'}")
            if r["clients"] == 4:
                ok = r["p99_ms"] <= TARGETS["p99_ms_4"]
                out.append(f"settlement, 4 clients: p99 {r['p99_ms']} ms (target ≤ 20 ms) "
                           f"{'met' if ok else 'NOT met'}")
    return out
