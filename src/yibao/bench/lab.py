"""Benchmark of the policy lab (issue 7): the national year, the projection, and the OpenFisca peer.

**National year.** ``yibao lab national --year 2021`` in a child process, as a user runs it: every
one of the 354,310,000 members of 2021 generated, assessed, credited, given their claims and
settled, in chunks over two worker processes. Wall time and the peak memory of the whole process
tree (sampled every 0.2 s; the sum over the child and its workers) are held against the target
(≤ 10 minutes, ≤ 8 GB).

**Projection.** A 1% sample of 2024's members projected to 2050 (central draw, in this process;
the calibration that precedes it is timed apart). Target ≤ 60 s.

**Peer.** The same year through the OpenFisca encoding (:mod:`yibao.bench.openfisca_peer`) on a
sample of members, measured in the same run: the in-service members' monthly contributions and
each member's first admission of the year — all that encoding expresses (no outpatient claims, no
later admissions, no account credits, no population generation), so the ratio understates what
yibao does per member. yibao's time on the same sample is its full year (:func:`person_year`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import psutil

from yibao.errors import YibaoError

__all__ = ["FULL", "QUICK", "TARGET_PROJECTION_SECONDS", "TARGET_RSS_BYTES", "TARGET_SECONDS", "bench_lab"]

FULL: Final = {"year": 2021, "agents": 0, "projection_share": 0.01, "peer_sample": 100_000}
QUICK: Final = {"year": 2021, "agents": 300_000, "projection_share": 0.0002, "peer_sample": 5_000}
TARGET_SECONDS: Final = 600.0
TARGET_RSS_BYTES: Final = 8 * 1024**3
TARGET_PROJECTION_SECONDS: Final = 60.0


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _national_child(year: int, agents: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "yibao", "lab", "national", "--year", str(year), "--agents", str(agents),
           "--workers", str(workers), "--json"]
    log(" ".join(cmd[2:]))
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        proc = psutil.Process(child.pid)
        while not stop.is_set():
            try:
                peak = max(peak, _tree_rss(proc))
            except psutil.Error:
                break
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = child.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    watcher.join()
    if child.returncode != 0:
        raise YibaoError(f"yibao lab national 失败（退出码 {child.returncode}）：{err[-2000:]}",
                         f"yibao lab national failed (exit {child.returncode}): {err[-2000:]}")
    return json.loads(out) | {"seconds": seconds, "peak_rss_bytes": peak}


def _peers(year: int, n: int, seed: int) -> dict[str, Any]:
    """Seconds per member: yibao's full year and the OpenFisca encoding's part of it, same sample."""
    import datetime as dt

    from yibao.bench.data import Claims, Wages
    from yibao.bench.openfisca_peer import OpenFiscaPeer
    from yibao.bench.rules_view import bench_rules
    from yibao.sim.calibrate import calibrated_years
    from yibao.sim.claims import LEVEL_CODES, draw_claims
    from yibao.sim.funds import lab_policy, sample_columns
    from yibao.sim.population import build_population
    from yibao.sim.year import YearRules, YearSettings, person_year

    c = calibrated_years(seed=seed)[year]
    m = sample_columns(build_population(year, n, seed))
    rules = YearRules.build(lab_policy(), year)
    settings = YearSettings(c.base_ratio, c.utilisation)
    person_year(m, rules, settings, seed, 0)  # compile and warm
    t = time.perf_counter()
    person_year(m, rules, settings, seed, 0)
    yibao_s = time.perf_counter() - t
    # the peer's inputs: in-service unit members' monthly declared wages; first admissions
    unit = m["status"] == 0
    wages = Wages(np.round(m["wage_fen"][unit] / 12 * c.base_ratio).astype(np.int64), seed)
    drawn = draw_claims(m["age"], m["status"] >= 2, c.utilisation, np.random.default_rng(seed))
    inpatient = drawn.kind == 0
    psn = drawn.psn[inpatient]
    first = np.flatnonzero(np.r_[True, psn[1:] != psn[:-1]]) if psn.size else np.array([], dtype=np.int64)
    rows = psn[first]
    level_of = {int(code): i for i, code in enumerate(LEVEL_CODES)}
    claims = Claims(person=np.arange(rows.size, dtype=np.int64), day=np.zeros(rows.size, np.int64),
                    medfee_fen=drawn.total[inpatient][first], fulamt_ownpay_fen=drawn.full_self_pay[inpatient][first],
                    overlmt_selfpay_fen=np.zeros(rows.size, np.int64), preselfpay_fen=np.zeros(rows.size, np.int64),
                    benefit_class=(m["status"][rows] >= 2).astype(np.int8),
                    level=np.array([level_of[int(v)] for v in drawn.level[inpatient][first]], dtype=np.int8),
                    seed=seed)
    date = dt.date(year, 7, 1)
    peer = OpenFiscaPeer(bench_rules(rules.snapshot), date)
    peer.contributions(Wages(wages.wage_fen[:100], seed))  # warm
    t = time.perf_counter()
    peer.contributions(wages)
    peer.settle(claims)
    openfisca_s = time.perf_counter() - t
    return {"peer_sample": n, "yibao_seconds": yibao_s, "openfisca_seconds": openfisca_s,
            "openfisca_rows": {"contributions": int(wages.rows), "first_admissions": int(claims.rows)},
            "ratio_vs_openfisca": openfisca_s / yibao_s}


def _projection(share: float, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    from yibao.sim.assumptions import lab_assumptions
    from yibao.sim.calibrate import calibrated_years
    from yibao.sim.funds import lab_policy, sample_columns
    from yibao.sim.population import build_population, insured_counts
    from yibao.sim.projection import START_YEAR, ProjectionStart, assumption_draws, exhaustion_year, project

    a = lab_assumptions()
    t = time.perf_counter()
    cal = calibrated_years(seed=seed)
    calibration_s = time.perf_counter() - t
    agents = max(1_000, round(insured_counts(START_YEAR).total * share))
    log(f"projection: {agents:,} records to 2050")
    t = time.perf_counter()
    start = ProjectionStart(sample_columns(build_population(START_YEAR, agents, seed)), cal[START_YEAR],
                            cal[START_YEAR - 1].account_balance, float(a["pooled_balance_2023"]))
    path, _ = project(start, assumption_draws(a, 1, seed)[0], a, lab_policy(), 2050, True, seed)
    seconds = time.perf_counter() - t
    return {"projection_records": agents, "projection_seconds": seconds, "calibration_seconds": calibration_s,
            "projection_exhaustion_year": exhaustion_year(path)}


def bench_lab(quick: bool, workers: int = 2, seed: int = 1,
              log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """All three measurements (module docstring) as one result dict."""
    sizes = QUICK if quick else FULL
    year = int(sizes["year"])
    national = _national_child(year, int(sizes["agents"]), workers, log)
    records = int(national["records"])
    out: dict[str, Any] = {"year": year, "records": records, "workers": workers,
                           "seconds": national["seconds"], "peak_rss_bytes": national["peak_rss_bytes"],
                           "records_per_s": records / national["seconds"], "totals": national["totals"]}
    out |= _projection(float(sizes["projection_share"]), seed, log)
    log("peer: OpenFisca on a sample")
    out |= _peers(year, int(sizes["peer_sample"]), seed)
    out["met"] = (out["seconds"] <= TARGET_SECONDS and out["peak_rss_bytes"] <= TARGET_RSS_BYTES
                  and out["projection_seconds"] <= TARGET_PROJECTION_SECONDS)
    return out
