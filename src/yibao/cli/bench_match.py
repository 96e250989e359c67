"""``yibao bench match``: precise enrollment's matching against peers measured in the same run.

Parts (``--part``, repeatable; default all):

- **exact** — exact-ID matching of N register persons × N feed rows generated on disk (default
  50,000,000, issue 6 target ≤ 120 s on this 2-core machine), with the ratio to a pandas
  ``merge`` of a sample measured in the same run (:mod:`yibao.bench.match_exact`).
- **linkage** — ``yibao match run`` end to end on a synthetic world of ≥ 1M feed rows (issue 6
  target ≤ 5 minutes and ≤ 8 GB, F1 ≥ 0.98), with the ratio to naive pairwise comparison timed on a
  sample in the same run (:mod:`yibao.bench.match_linkage`).

Each part is a function ``(quick, options, log) -> list of result dicts`` in :data:`PARTS`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from yibao.errors import InputError

__all__ = ["PARTS", "match"]

Part = Callable[[bool, dict[str, Any], Callable[[str], None]], list[dict[str, Any]]]


def _exact(quick: bool, options: dict[str, Any], log: Callable[[str], None]) -> list[dict[str, Any]]:
    from yibao.bench.match_exact import FULL, QUICK, bench_exact

    sizes = QUICK if quick else FULL
    rows = int(options.get("rows") or sizes["rows"])
    sample = int(options.get("sample") or sizes["sample"])
    if rows < 1_000 or sample < 1_000:
        raise InputError("--rows", rows, "行数与样本至少 1000", "rows and sample must be at least 1000")
    base = Path(options.get("workdir") or tempfile.gettempdir()) / "yibao-bench-match-exact"
    result = bench_exact(base, rows, sample, memory_limit=str(options.get("memory_limit") or "6GB"), log=log)
    return [{"part": "exact"} | result]


def _linkage(quick: bool, options: dict[str, Any], log: Callable[[str], None]) -> list[dict[str, Any]]:
    from yibao.bench.match_linkage import FULL, QUICK, bench_linkage

    sizes = QUICK if quick else FULL
    persons = int(options.get("persons") or sizes["persons"])
    if persons < 2_000:
        raise InputError("--persons", persons, "人数至少 2000", "persons must be at least 2000")
    base = Path(options.get("workdir") or tempfile.gettempdir()) / "yibao-bench-match-linkage"
    result = bench_linkage(base, persons, int(sizes["seed"]), int(sizes["peer_feed"]),
                           int(sizes["peer_register"]), log=log)
    return [{"part": "linkage"} | result]


#: The parts of ``yibao bench match``, by name.
PARTS: dict[str, Part] = {"exact": _exact, "linkage": _linkage}


def _show_linkage(out: Console, r: dict[str, Any], quick: bool) -> None:
    table = Table(title=f"匹配全流程 / matching end to end: {r['register_persons']:,} register persons × "
                        f"{r['feed_rows']:,} feed rows")
    for col in ("implementation", "pairs", "seconds", "pairs/s", "note"):
        table.add_column(col, justify="left" if col in ("implementation", "note") else "right")
    stages = r["stage_seconds"]
    ingest = sum(v for k, v in stages.items() if k.startswith("ingest:") and v)
    table.add_row("yibao match run (DuckDB + Splink)", f"{r['pairs']:,} scored", f"{r['seconds']:.1f}", "",
                  f"ingest {ingest:.1f} s, exact {stages.get('exact') or 0:.1f} s, "
                  f"linkage {stages.get('linkage') or 0:.1f} s, peak {r['peak_rss_bytes'] / 1024**3:.2f} GB")
    table.add_row("naive pairwise (Python, sample)", f"{r['peer_pairs']:,}", f"{r['peer_seconds']:.2f}",
                  f"{r['peer_pairs_per_s']:,}", "same model weights, every pair compared")
    table.add_row("naive pairwise, all pairs (estimate)", f"{r['all_pairs']:,}",
                  f"{r['peer_estimate_seconds']:,}", "", f"{r['candidates']:,} rows × register")
    out.print(table)
    o = r["overall"]
    out.print(f"person matching / 人员匹配: precision {o['precision']:.4f}, recall {o['recall']:.4f}, "
              f"F1 {o['f1']:.4f}; linked by linkage {r['linked']:,} of {r['candidates']:,} rows "
              f"(ambiguous {r['ambiguous']:,}, model {r['model']})")
    out.print(f"ratio / 倍数: ×{r['ratio_vs_peer']:,} (naive pairwise estimate / linkage stage)")
    if not quick:
        verdict = "met / 达标" if r["met"] else "NOT met / 未达标"
        out.print(f"target ≤ {r['target_seconds']:.0f} s, ≤ {r['target_rss_bytes'] / 1024**3:.0f} GB, "
                  f"F1 ≥ 0.98: {verdict}")


def _show(rows: list[dict[str, Any]], quick: bool) -> None:
    out = Console(highlight=False, width=max(Console().width, 120))
    for r in rows:
        if r["part"] == "linkage":
            _show_linkage(out, r, quick)
        if r["part"] != "exact":
            continue
        table = Table(title=f"精确匹配 / exact-ID matching, {r['rows']:,} × {r['rows']:,}")
        for col in ("implementation", "rows", "seconds", "rows/s", "note"):
            table.add_column(col, justify="left" if col in ("implementation", "note") else "right")
        table.add_row("yibao (DuckDB hash join, out of core)", f"{r['rows']:,}",
                      f"{r['duckdb_seconds']:.2f}", f"{r['duckdb_rows_per_s']:,}",
                      f"generation {r['generate_seconds']:.1f} s not counted")
        table.add_row("yibao on the sample", f"{r['sample_rows']:,}", f"{r['duckdb_sample_seconds']:.2f}",
                      f"{round(r['sample_rows'] / r['duckdb_sample_seconds']):,}", "")
        table.add_row("pandas merge on the sample", f"{r['sample_rows']:,}",
                      f"{r['pandas_sample_seconds']:.2f}", f"{r['pandas_rows_per_s']:,}",
                      "read + merge + write, same matches")
        out.print(table)
        out.print(f"ratio / 倍数: ×{r['ratio_same_size']} on the sample, ×{r['ratio_rows_per_s']} rows/s "
                  f"(full size vs pandas sample)")
        if not quick:
            verdict = "met / 达标" if r["duckdb_seconds"] <= r["target_seconds"] else "NOT met / 未达标"
            out.print(f"target ≤ {r['target_seconds']:.0f} s for {r['rows']:,} × {r['rows']:,}: {verdict}")


def match(
    quick: Annotated[bool, typer.Option(
        "--quick", help="小规模（不检查目标）/ small sizes, no targets")] = False,
    part: Annotated[list[str] | None, typer.Option(
        "--part", help="exact、linkage（可多次）/ parts to run")] = None,
    persons: Annotated[int | None, typer.Option(
        "--persons", help="linkage：合成世界人数 / persons of the linkage world")] = None,
    rows: Annotated[int | None, typer.Option("--rows", help="登记册与数据行数 / rows on each side")] = None,
    sample: Annotated[int | None, typer.Option(
        "--sample", help="对照实现的样本行数 / peer sample rows")] = None,
    memory_limit: Annotated[str, typer.Option(
        "--memory-limit", help="DuckDB 内存上限 / memory limit")] = "6GB",
    workdir: Annotated[Path | None, typer.Option("--workdir", help="临时数据目录 / scratch folder")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
) -> None:
    """精准参保匹配基准 / precise enrollment matching benchmarks."""
    chosen = part or list(PARTS)
    for p in chosen:
        if p not in PARTS:
            raise InputError("--part", p, "应为 " + " / ".join(PARTS), "expected one of " + ", ".join(PARTS))
    err = Console(stderr=True, highlight=False)

    def log(msg: str) -> None:
        if not as_json:
            err.print(f"  {msg}", markup=False)

    options = {"rows": rows, "sample": sample, "memory_limit": memory_limit, "workdir": workdir,
               "persons": persons}
    results: list[dict[str, Any]] = []
    for p in chosen:
        results += PARTS[p](quick, options, log)
    if as_json:
        typer.echo(json.dumps({"rows": results}, ensure_ascii=False, indent=2))
        return
    _show(results, quick)
