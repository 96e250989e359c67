"""Rendering a benchmark :class:`~yibao.bench.runner.Report`: a rich table, targets, JSON.

Targets (the issue; checked only on full runs, never in tests): ≥ 50 million settled claims per
second with benefit-year accumulators on one core; ≥ 10× the OpenFisca encoding; ≥ 100× the
per-row loop; ≤ 200 bytes per row; exact to the fen (zero mismatches with the loop).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from yibao.bench.runner import STREAMING, Float32Finding, Report, ResultRow

__all__ = ["TARGETS", "render", "targets", "to_json"]

TARGETS: dict[str, float] = {"settle_rows_per_s": 50e6, "vs_openfisca": 10.0, "vs_loop": 100.0,
                             "bytes_per_row": 200.0}


def _fmt_rate(r: float) -> str:
    return f"{r / 1e6:,.2f} M" if r >= 1e6 else f"{r / 1e3:,.1f} k"


def _row_cells(r: ResultRow) -> list[str]:
    impl = r.implementation + (" *" if r.rows < r.suite_rows else "")
    ratio = "1.00×" if r.implementation == "yibao" else (
        f"{r.ratio:,.2f}×" if r.ratio is not None else "-")
    mism = "-" if r.mismatches is None else f"{r.mismatches:,}"
    first = "" if r.first_seconds is None else f"{r.first_seconds:.4f}"
    return [r.suite, f"{r.rows:,}", impl, f"{r.seconds:.4f}", first, _fmt_rate(r.rows_per_s), ratio,
            f"{r.bytes_in_out_per_row:,.0f}", f"{r.peak_extra_per_row:,.0f}", mism]


def _finding_line(f: Float32Finding) -> str:
    small = f.smallest_amount_differ_fen
    where = "none" if small is None else f"{small / 100:,.2f} yuan"
    what = "medfee" if f.suite.startswith("settle") else "declared wage"
    return (f"{f.suite}: {f.rows_differ:,} of {f.rows:,} rows differ from yibao "
            f"({f.rows_differ_at_or_below_limit:,} with {what} ≤ 131,072 yuan); smallest {what} "
            f"that differs: {where}; largest difference {f.max_abs_diff_fen} fen; by column "
            + ", ".join(f"{c} {n:,}" for c, n in f.by_column.items() if n))


def targets(report: Report) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the largest size run of each suite."""
    out: list[tuple[str, str, bool]] = []
    biggest: dict[tuple[str, str], ResultRow] = {}
    for r in report.rows:
        impl = r.implementation if r.implementation.startswith("yibao") else r.implementation.split(" ")[0]
        key = (r.suite, impl)
        if key not in biggest or r.suite_rows >= biggest[key].suite_rows:
            biggest[key] = r
    for impl in ("yibao", STREAMING):
        y = biggest.get(("settle", impl))
        if y is not None:
            out.append((f"settle, {impl}: ≥ 50 M claims/s ({y.suite_rows:,} rows)",
                        _fmt_rate(y.rows_per_s), y.rows_per_s >= TARGETS["settle_rows_per_s"]))
    for (suite, impl), r in sorted(biggest.items()):
        # ratios against the fresh call (the table's column) and against the streaming mode
        ratios = [("", r.ratio)]
        stream = biggest.get((suite, STREAMING))
        if stream is not None and r.seconds > 0:
            ratios.append((", streaming", stream.rows_per_s / r.rows_per_s))
        for mode, ratio in ratios:
            if ratio is None:
                continue
            if impl == "OpenFisca":
                out.append((f"{suite}{mode}: ≥ 10× OpenFisca", f"{ratio:,.1f}×",
                            ratio >= TARGETS["vs_openfisca"]))
            if impl == "per-row":
                out.append((f"{suite}{mode}: ≥ 100× per-row loop", f"{ratio:,.1f}×",
                            ratio >= TARGETS["vs_loop"]))
        if impl == "per-row" and r.ratio is not None:
            out.append((f"{suite}: exact (0 mismatches with the loop)", f"{r.mismatches:,}",
                        r.mismatches == 0))
        if impl == "yibao":  # the fresh-output call: what one call needs
            worst = max(r.bytes_in_out_per_row, r.peak_extra_per_row)
            out.append((f"{suite}: ≤ 200 bytes/row", f"{worst:,.0f}", worst <= TARGETS["bytes_per_row"]))
    return out


def render(report: Report, console: Console, show_targets: bool) -> None:
    cfg = report.config
    t = Table(title=f"yibao bench rules — {cfg['region']} rules of {cfg['date']}, seed {cfg['seed']}")
    for col, just in (("suite", "left"), ("rows", "right"), ("implementation", "left"),
                      ("seconds", "right"), ("1st call s", "right"), ("rows/s", "right"),
                      ("yibao ×", "right"),
                      ("B/row in+out", "right"), ("B/row peak Δ", "right"), ("mismatches", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in report.rows:
        t.add_row(*_row_cells(r))
    console.print(t)
    loop_rows = cfg.get("loop_rows")
    console.print(f"[dim]* the per-row loop is timed on the first {loop_rows:,} rows and its rows/s "
                  "reported from those. seconds = best of the runs; 1st call s = yibao's first run, "
                  "which also pays for touching fresh output memory. yibao (reused buffers) = the "
                  "streaming mode: the output and accumulator arrays of the previous call, the "
                  "accumulators zeroed inside the timed call.\n"
                  "yibao × = yibao rows/s ÷ this rows/s. B/row in+out = input, output and accumulator "
                  "arrays ÷ rows; peak Δ = peak resident memory the call added ÷ rows.\n"
                  "mismatches: yibao = conservation (settlement) or routing (contribution) violations; "
                  "loop = rows differing from yibao; OpenFisca = rows whose float32 yuan differ from "
                  "yibao's fen.[/]")
    for f in report.findings:
        console.print("float32: " + _finding_line(f))
    if show_targets:
        tt = Table(title="targets (one core)")
        for col in ("target", "measured", "met"):
            tt.add_column(col)
        for name, measured, ok in targets(report):
            tt.add_row(name, measured, "[green]yes[/]" if ok else "[red]NO[/]")
        console.print(tt)
    if report.interrupted:
        console.print("[yellow]interrupted (Ctrl-C): rows measured so far are shown[/]")


def to_json(report: Report, machine: dict[str, str]) -> dict[str, Any]:
    rows = []
    for r in report.rows:
        d = asdict(r)
        d["rows_per_s"] = r.rows_per_s
        rows.append(d)
    return {"machine": machine, "config": report.config, "rows": rows,
            "float32_findings": [asdict(f) for f in report.findings],
            "targets": [] if report.config.get("quick") else
            [{"target": n, "measured": m, "met": ok} for n, m, ok in targets(report)],
            "interrupted": report.interrupted}
