"""Benchmark of the policy lab (issue 7): the national year, the projection, and the OpenFisca peer.

**National year.** ``yibao lab national --year 2021`` in a child process, as a user runs it: every
one of the 354,310,000 members of 2021 generated, assessed, credited, given their claims and
settled, in chunks over two worker processes. Wall time and the peak memory of the whole process
tree (sampled every 0.2 s; the sum over the child and its workers) are held against the target
(≤ 10 minutes, ≤ 8 GB).

**Projection.** A 1% sample of 2024's members projected to 2050 (central draw, in this process;
the calibration that precedes it is timed apart). Target ≤ 60 s.

**Peer.** The same year's work through the OpenFisca encoding (:mod:`yibao.bench.openfisca_peer`)
on a sample of a million members, measured in the same run, best of 3: the in-service members'
monthly contributions and every member's first admission of the year — all that encoding expresses
(no outpatient claims, later admissions, account credits or population generation). yibao's
calculators do the same work on the same inputs; the ratio is OpenFisca's time over yibao's.
yibao's full year on the sample (:func:`person_year`) is printed beside it for scale.
"""

from __future__ import annotations

import contextlib
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

FULL: Final = {"year": 2021, "agents": 0, "projection_share": 0.01, "peer_sample": 1_000_000}
QUICK: Final = {"year": 2021, "agents": 300_000, "projection_share": 0.0002, "peer_sample": 5_000}
TARGET_SECONDS: Final = 600.0
TARGET_RSS_BYTES: Final = 8 * 1024**3
TARGET_PROJECTION_SECONDS: Final = 60.0


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a worker may exit between listing and reading
            total += p.memory_info().rss
    return total


def _national_child(year: int, agents: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "yibao",
        "lab",
        "national",
        "--year",
        str(year),
        "--agents",
        str(agents),
        "--workers",
        str(workers),
        "--json",
    ]
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
        raise YibaoError(
            f"yibao lab national 失败（退出码 {child.returncode}）：{err[-2000:]}",
            f"yibao lab national failed (exit {child.returncode}): {err[-2000:]}",
        )
    result: dict[str, Any] = json.loads(out)
    return result | {"seconds": seconds, "peak_rss_bytes": peak}


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _peers(year: int, n: int, seed: int) -> dict[str, Any]:
    """The same work through yibao's calculators and through the OpenFisca encoding, best of 3:
    the in-service members' monthly contributions and every member's first admission of the year,
    on a sample of the year's members; and yibao's full year on the sample for scale."""
    import datetime as dt

    from yibao.bench.data import Claims, Wages
    from yibao.bench.openfisca_peer import OpenFiscaPeer
    from yibao.bench.rules_view import bench_rules
    from yibao.policy.catalog import BENEFIT_CLASSES
    from yibao.rules.contribution import IN_SERVICE, assess_contributions
    from yibao.rules.settlement import Accumulators, ClaimColumns, settle_batch
    from yibao.sim.calibrate import calibrated_years
    from yibao.sim.claims import LEVEL_CODES, draw_claims
    from yibao.sim.funds import lab_policy, sample_columns
    from yibao.sim.population import build_population
    from yibao.sim.year import YearRules, YearSettings, person_year

    c = calibrated_years(seed=seed)[year]
    m = sample_columns(build_population(year, n, seed))
    rules = YearRules.build(lab_policy(), year)
    settings = YearSettings(c.base_ratio, c.utilisation)
    full_year = _best(lambda: person_year(m, rules, settings, seed, 0))
    unit = m["status"] == 0
    wage = np.round(m["wage_fen"][unit] / 12 * c.base_ratio).astype(np.int64)
    drawn = draw_claims(m["age"], m["status"] >= 2, c.utilisation, np.random.default_rng(seed))
    inp = np.flatnonzero(drawn.kind == 0)
    psn = drawn.psn[inp]
    first = inp[np.r_[True, psn[1:] != psn[:-1]]] if psn.size else inp
    k = first.size
    retired = m["status"][drawn.psn[first]] >= 2
    zeros = np.zeros(k, np.int64)
    cls = np.where(retired, BENEFIT_CLASSES.index("retired"), BENEFIT_CLASSES.index("in_service")).astype(
        np.int8
    )
    claims = ClaimColumns(
        psn=np.arange(k),
        param=np.zeros(k, np.int16),
        year=np.full(k, rules.year_key, np.int32),
        kind=np.zeros(k, np.int8),
        benefit_class=cls,
        level=drawn.level[first],
        remote=np.zeros(k, np.int8),
        share_bp=np.full(k, 10_000, np.int16),
        total=drawn.total[first],
        full_self_pay=drawn.full_self_pay[first],
        over_limit=zeros,
        preselfpay=zeros,
        account_balance=zeros,
        mulaid_balance=zeros,
    )
    ptype = np.full(wage.size, IN_SERVICE, np.int8)

    def yibao_same() -> None:
        assess_contributions(wage, ptype, rules.contribution)
        settle_batch(claims, rules.settlement, Accumulators.zeros(k))

    yibao_same()  # compile
    yibao_s = _best(yibao_same)
    level_of = {int(code): i for i, code in enumerate(LEVEL_CODES)}
    peer_claims = Claims(
        person=np.arange(k, dtype=np.int64),
        day=zeros,
        medfee_fen=claims.total,
        fulamt_ownpay_fen=claims.full_self_pay,
        overlmt_selfpay_fen=zeros,
        preselfpay_fen=zeros,
        benefit_class=retired.astype(np.int8),
        level=np.array([level_of[int(v)] for v in claims.level], dtype=np.int8),
        seed=seed,
    )
    peer = OpenFiscaPeer(bench_rules(rules.snapshot), dt.date(year, 7, 1))
    wages = Wages(wage, seed)

    def openfisca_same() -> None:
        peer.contributions(wages)
        peer.settle(peer_claims)

    openfisca_s = _best(openfisca_same)
    return {
        "peer_sample": n,
        "yibao_seconds": yibao_s,
        "openfisca_seconds": openfisca_s,
        "yibao_full_year_seconds": full_year,
        "peer_rows": {"contributions": int(wage.size), "first_admissions": int(k)},
        "ratio_vs_openfisca": openfisca_s / yibao_s,
    }


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
    start = ProjectionStart(
        sample_columns(build_population(START_YEAR, agents, seed)),
        cal[START_YEAR],
        cal[START_YEAR - 1].account_balance,
        float(a["pooled_balance_2023"]),
    )
    path, _ = project(start, assumption_draws(a, 1, seed)[0], a, lab_policy(), 2050, True, seed)
    seconds = time.perf_counter() - t
    return {
        "projection_records": agents,
        "projection_seconds": seconds,
        "calibration_seconds": calibration_s,
        "projection_exhaustion_year": exhaustion_year(path),
    }


def bench_lab(
    quick: bool, workers: int = 2, seed: int = 1, log: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """All three measurements (module docstring) as one result dict."""
    sizes = QUICK if quick else FULL
    year = int(sizes["year"])
    national = _national_child(year, int(sizes["agents"]), workers, log)
    records = int(national["records"])
    out: dict[str, Any] = {
        "year": year,
        "records": records,
        "workers": workers,
        "seconds": national["seconds"],
        "peak_rss_bytes": national["peak_rss_bytes"],
        "records_per_s": records / national["seconds"],
        "totals": national["totals"],
    }
    out |= _projection(float(sizes["projection_share"]), seed, log)
    log("peer: OpenFisca on a sample")
    out |= _peers(year, int(sizes["peer_sample"]), seed)
    out["met"] = (
        out["seconds"] <= TARGET_SECONDS
        and out["peak_rss_bytes"] <= TARGET_RSS_BYTES
        and out["projection_seconds"] <= TARGET_PROJECTION_SECONDS
    )
    return out
