"""Benchmark of matching end to end (issue 6): a synthetic world's feeds against its register.

**Data.** ``yibao match generate`` (docs/match-synthetic.md) at a size that gives at least 1M feed
rows: 1,820,000 persons give about 1.56M register persons and 1.01M feed rows in eight files
(CSV in GB18030 and UTF-8, xlsx, Parquet), 5.6% of them with an unusable ID and 1.6% with a
legacy 15-digit one. The world is generated once per size and seed and kept in the work folder;
its generation is timed apart and not counted.

**Measured.** ``yibao match run --world`` in a child process, as a user runs it: reading and
checking every feed, exact matching, training the Splink model and scoring (DuckDB), choosing the
links, writing ``links.parquet``. Wall time and the child's peak resident memory (``wait4``) are
the figures held against the target (≤ 5 minutes, ≤ 8 GB). The links are then scored against the
world's truth (precision, recall, F1; not timed).

**Peer.** Naive pairwise comparison, the method blocking exists to avoid: every feed row that
linkage considered is compared with every register person, field by field in Python, with the
trained model's weights. It is timed on a sample of feed rows × a sample of the register in the
same run, and its rate extrapolated to all pairs; the ratio is that estimate over linkage's time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import polars as pl

__all__ = ["FULL", "QUICK", "TARGET_RSS_BYTES", "TARGET_SECONDS", "bench_linkage", "naive_pairwise"]

FULL: Final = {"persons": 1_820_000, "seed": 2026, "peer_feed": 20, "peer_register": 50_000}
QUICK: Final = {"persons": 20_000, "seed": 2026, "peer_feed": 10, "peer_register": 10_000}
#: issue 6: 1M × 1M linkage end to end in at most 5 minutes with at most 8 GB on this 2-core machine.
TARGET_SECONDS: Final = 300.0
TARGET_RSS_BYTES: Final = 8 * 1024**3


def _osa(a: str, b: str) -> int:
    """Damerau–Levenshtein distance (optimal string alignment), as Splink's level computes it."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _weights(model: dict[str, Any]) -> dict[str, list[float]]:
    """log2(m/u) of every level but the null level, per comparison of a Splink model JSON."""
    import math

    out: dict[str, list[float]] = {}
    for comp in model["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        out[comp["output_column_name"]] = [
            math.log2((lv.get("m_probability") or 1e-9) / (lv.get("u_probability") or 1e-9)) for lv in levels]
    return out


def _pair_weight(f: dict[str, Any], r: dict[str, Any], w: dict[str, list[float]]) -> float:
    """The model's weight of one pair, level by level in Python (term frequencies left out)."""
    total = 0.0
    if f["name"] and r["name"]:
        total += w["name"][0 if f["name"] == r["name"] else 1 if f["pinyin_key"] == r["pinyin_key"] else 3]
    if f["birth_date"] and r["birth_date"]:
        days = abs((f["birth_date"] - r["birth_date"]).days)
        fb, rb = f["birth_text"], r["birth_text"]
        level = (0 if days == 0 else 1 if days <= 3 else
                 2 if fb[:4] == rb[:4] and fb[5:7] == rb[8:10] and fb[8:10] == rb[5:7] else
                 3 if _osa(fb, rb) <= 1 else 4)
        total += w["birth_date"][level]
    if f["sex"] and r["sex"]:
        total += w["sex"][0 if f["sex"] == r["sex"] else 1]
    regions_f = {f["region"], f["region2"]} - {None}
    regions_r = {r["region"], r["region2"]} - {None}
    if regions_f and regions_r:
        total += w["region"][0 if regions_f & regions_r else 1]
    if f["id_rest"] and r["id_rest"]:
        same = f["id_rest"] == r["id_rest"]
        near = same or _osa(f["id_rest"], r["id_rest"]) <= 1
        total += w["id_rest"][0 if same else 1 if near else 2]
    if f["employer_uscc"] and r["employer_uscc"]:
        total += w["employer_uscc"][0 if f["employer_uscc"] == r["employer_uscc"] else 1]
    return total


def naive_pairwise(work: Path, feed_rows: int, register_rows: int) -> dict[str, Any]:
    """Time the naive peer on ``feed_rows`` × ``register_rows`` pairs of a finished run's tables."""
    feed = pl.read_parquet(work / "feed.parquet")
    register = pl.read_parquet(work / "register.parquet")
    weights = _weights(json.loads((work / "model.json").read_text(encoding="utf-8")))
    f_rows = feed.sample(min(feed_rows, feed.height), seed=1).to_dicts()
    r_rows = register.sample(min(register_rows, register.height), seed=1).to_dicts()
    start = time.perf_counter()
    best = [max(_pair_weight(f, r, weights) for r in r_rows) for f in f_rows]
    seconds = time.perf_counter() - start
    pairs = len(f_rows) * len(r_rows)
    all_pairs = feed.height * register.height
    return {"peer_pairs": pairs, "peer_seconds": round(seconds, 3),
            "peer_pairs_per_s": round(pairs / seconds),
            "all_pairs": all_pairs, "peer_estimate_seconds": round(all_pairs / (pairs / seconds)),
            "peer_best_weight_mean": round(sum(best) / len(best), 3) if best else None}


def _child(args: list[str]) -> tuple[float, int, int]:
    """Run ``yibao ARGS`` as a child: wall seconds, peak RSS in bytes, exit code."""
    cli = Path(sys.executable).with_name("yibao")
    command = ([str(cli), *args] if cli.is_file()
               else [sys.executable, "-c", "from yibao.cli import main; main()", *args])
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        raise RuntimeError(f"yibao {' '.join(args)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, usage.ru_maxrss * 1024, proc.returncode


def bench_linkage(folder: Path, persons: int, seed: int, peer_feed: int, peer_register: int, *,
                  log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Generate (or reuse) the world, match it end to end in a child process, score it, time the peer."""
    from yibao.match.evaluate import evaluate_run

    world = folder / f"world-{persons}-{seed}"
    generated = None
    if not (world / "manifest.json").is_file():
        shutil.rmtree(world, ignore_errors=True)
        log(f"generating a world of {persons:,} persons (seed {seed}) in {world}")
        # in a child too: a process forked from one that grew to several GB reports that peak as its own
        generated = round(_child(["match", "generate", "--persons", str(persons), "--seed", str(seed),
                                  "--out", str(world), "--json"])[0], 1)
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    run = folder / "run"
    shutil.rmtree(run, ignore_errors=True)
    log(f"yibao match run: {manifest['register_rows']['persons']:,} register persons × "
        f"{manifest['feed_rows_total']:,} feed rows")
    seconds, rss, _ = _child(["match", "run", "--world", str(world), "--out", str(run), "--json"])
    state = json.loads((run / "run.json").read_text(encoding="utf-8"))["stages"]
    log(f"matched in {seconds:.1f} s, peak {rss / 1024**3:.2f} GB; scoring against the truth")
    scored = evaluate_run(world, run, write=True)["person_matching"]
    log(f"the naive pairwise peer on {peer_feed} × {peer_register:,} pairs")
    peer = naive_pairwise(run / "linkage", peer_feed, peer_register)
    linkage_seconds = float(state["linkage"]["seconds"])
    return {
        "persons": persons, "seed": seed, "generate_seconds": generated,
        "register_persons": manifest["register_rows"]["persons"], "feed_rows": manifest["feed_rows_total"],
        "id_unusable_share": manifest["error_shares"]["id_unusable"],
        "seconds": round(seconds, 2), "peak_rss_bytes": rss,
        "stage_seconds": {k: v.get("seconds") for k, v in state.items()},
        "linkage_parts": state["linkage"].get("parts"),
        "candidates": state["linkage"]["candidates"], "pairs": state["linkage"]["pairs"],
        "linked": state["linkage"]["linked"], "ambiguous": state["linkage"]["ambiguous"],
        "model": state["linkage"]["model"], "by_method": state["links"]["by_method"],
        "overall": scored["overall"], "by_error_type": scored["by_error_type"],
        **peer,
        "ratio_vs_peer": round(peer["peer_estimate_seconds"] / linkage_seconds, 1),
        "target_seconds": TARGET_SECONDS, "target_rss_bytes": TARGET_RSS_BYTES,
        "met": (seconds <= TARGET_SECONDS and rss <= TARGET_RSS_BYTES
                and (scored["overall"]["f1"] or 0) >= 0.98),
    }
