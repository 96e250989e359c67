"""The `yibao bench rules` suites: yibao and its peers on the same seeded rows, in the same run.

Suites (each at every requested size):

- ``settle`` — inpatient settlement with benefit-year accumulators, several claims per person in
  service order: yibao vs the per-row loop (OpenFisca cannot carry accumulators across claims).
- ``settle_1pp`` — one claim per person, the issue's OpenFisca setting: yibao, loop, OpenFisca.
- ``contribution`` — monthly contribution assessment of in-service employees: all three.

The loop is timed on the first ``loop_rows`` rows (default 200,000) and its rows/s reported as
such; its results are compared with yibao's on those rows (zero mismatches expected: both are
exact integer fen). OpenFisca runs on every row; its float32 results are compared to the fen
and the rows that differ are counted (see :class:`Float32Finding`). yibao's settlement is also
checked for conservation: hifp + hifob + acct + mulaid + cash = medfee on every row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from yibao.bench.data import Claims, make_claims, make_wages, one_claim_per_person
from yibao.bench.loop import loop_contributions, loop_settle
from yibao.bench.measure import measure
from yibao.bench.openfisca_peer import OpenFiscaPeer, to_fen
from yibao.bench.rules_view import EMPLOYER_COMPONENTS, BenchRules, bench_rules
from yibao.bench.yibao_side import YibaoContribution, YibaoSettlement, prepare_claims
from yibao.policy.resolve import Snapshot

__all__ = ["STREAMING", "SUITES", "BenchConfig", "Float32Finding", "Report", "ResultRow",
           "float32_finding", "run"]

SUITES: tuple[str, ...] = ("settle", "settle_1pp", "contribution")
STREAMING = "yibao (reused buffers)"
"""The streaming mode's row: output (and settlement accumulator) buffers of an earlier call."""
FLOAT32_EXACT_LIMIT_FEN = 131_072 * 100  # 2**17 yuan: above it float32's step exceeds one fen
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BenchConfig:
    snapshot: Snapshot
    sizes: tuple[int, ...]
    loop_rows: int
    seed: int
    repeat: int
    suites: tuple[str, ...] = SUITES
    quick: bool = False


@dataclass
class ResultRow:
    suite: str
    rows: int  # rows this implementation ran on
    suite_rows: int
    implementation: str
    seconds: float
    bytes_in_out_per_row: float  # input + output (+ accumulator) arrays / rows
    peak_extra_per_row: float  # peak memory the call added / rows
    mismatches: int | None  # vs yibao (yibao: conservation violations)
    note: str = ""
    ratio: float | None = None  # yibao rows/s ÷ this rows/s
    first_seconds: float | None = None  # the first (cold-memory) run

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class Float32Finding:
    """Where OpenFisca's float32 yuan differ from yibao's fen."""

    suite: str
    rows: int
    rows_differ: int
    rows_differ_at_or_below_limit: int  # amount ≤ 131,072 yuan: rounding of float32 products
    smallest_amount_differ_fen: int | None  # medfee (settlement) or wage (contribution)
    max_abs_diff_fen: int
    by_column: dict[str, int]


@dataclass
class Report:
    config: dict[str, Any]
    rows: list[ResultRow] = field(default_factory=list)
    findings: list[Float32Finding] = field(default_factory=list)
    interrupted: bool = False


Step = Callable[[str], None]


def float32_finding(suite: str, amount_fen: I64, ours: dict[str, I64],
                    theirs: dict[str, I64]) -> Float32Finding:
    """Rows where OpenFisca's results (already in fen) differ from yibao's, and where."""
    by_col: dict[str, int] = {}
    differ = np.zeros(amount_fen.shape[0], dtype=bool)
    max_abs = 0
    for col, mine in ours.items():
        d = mine != theirs[col]
        by_col[col] = int(d.sum())
        differ |= d
        if d.any():
            max_abs = max(max_abs, int(np.abs(mine - theirs[col]).max()))
    small = differ & (amount_fen <= FLOAT32_EXACT_LIMIT_FEN)
    return Float32Finding(suite, int(amount_fen.shape[0]), int(differ.sum()), int(small.sum()),
                          int(amount_fen[differ].min()) if differ.any() else None, max_abs, by_col)


def _settle_suite(name: str, n: int, claims: Claims, cfg: BenchConfig, rules: BenchRules,
                  report: Report, step: Step, with_openfisca: bool) -> None:
    ys = YibaoSettlement(cfg.snapshot)
    cols = prepare_claims(claims, ys.year)
    n_persons = int(claims.person[-1]) + 1
    ys.settle(prepare_claims(claims.take(64), ys.year), n_persons)  # compile (or load the cache)
    step(f"{name} {n:,}: yibao")
    m = measure(lambda: ys.settle(cols, n_persons), cfg.repeat)
    res, acc = m.result
    out = res.out
    total = cols.total
    hifp, hifob = res.hifp_pay, res.hifob_pay
    balance = hifp + hifob + res.acct_pay + res.acct_mulaid_pay + res.psn_cash_pay
    y = ResultRow(name, n, n, "yibao", m.seconds,
                  (cols.nbytes + out.nbytes + acc.data.nbytes) / n, m.peak_extra_bytes / n,
                  int((balance != total).sum()), "mismatches = conservation violations", 1.0)
    y.first_seconds = m.first_seconds
    report.rows.append(y)
    # The streaming mode (ARCHITECTURE.md: chunks with bounded memory): the output buffer and the
    # accumulator array are reused (the accumulators zeroed inside the timed call), so the call
    # no longer pays for touching fresh memory. Same results, same rows.
    step(f"{name} {n:,}: yibao, reused buffers")
    mr = measure(lambda: ys.settle(cols, n_persons, out=out, acc=acc), cfg.repeat)
    report.rows.append(ResultRow(name, n, n, STREAMING, mr.seconds,
                                 y.bytes_in_out_per_row, mr.peak_extra_bytes / n, None,
                                 "", y.rows_per_s / (n / mr.seconds)))
    ours = {"act_pay_dedc": res.act_pay_dedc, "hifp_pay": hifp, "hifob_pay": hifob,
            "psn_part_amt": total - hifp - hifob}
    k = min(n, cfg.loop_rows)
    sub = claims.take(k)
    step(f"{name} {n:,}: per-row loop on {k:,} rows")
    ml = measure(lambda: loop_settle(sub, rules.inpatient), 1)
    lr = ml.result
    theirs = {"act_pay_dedc": lr.deductible_fen, "hifp_pay": lr.hifp_pay_fen,
              "hifob_pay": lr.hifob_pay_fen, "psn_part_amt": lr.psn_part_amt_fen}
    mism = np.zeros(k, dtype=bool)
    for col, v in theirs.items():
        mism |= ours[col][:k] != v
    report.rows.append(ResultRow(
        name, k, n, "per-row loop", ml.seconds, (sub.nbytes() + 4 * 8 * k) / k,
        ml.peak_extra_bytes / k, int(mism.sum()),
        f"timed on the first {k:,} rows" if k < n else "", y.rows_per_s / (k / ml.seconds)))
    if not with_openfisca:
        return
    step(f"{name} {n:,}: OpenFisca")
    peer = OpenFiscaPeer(rules, cfg.snapshot.date)
    peer.settle(claims.take(64))  # first-call costs (parameter tree at the instant)
    mo = measure(lambda: peer.settle(claims), cfg.repeat)
    theirs_of = {c: to_fen(v) for c, v in mo.result.items()}
    f = float32_finding(name, claims.medfee_fen, ours, theirs_of)
    report.findings.append(f)
    in_bytes = 4 * 4 + 2 * 2  # four float32 amounts and two int16 enums per row
    report.rows.append(ResultRow(
        name, n, n, "OpenFisca (float32)", mo.seconds, in_bytes + 4 * len(mo.result),
        mo.peak_extra_bytes / n, f.rows_differ, "mismatches: float32 vs fen",
        y.rows_per_s / (n / mo.seconds)))


def _contribution_suite(n: int, cfg: BenchConfig, rules: BenchRules, report: Report,
                        step: Step) -> None:
    name = "contribution"
    wages = make_wages(n, cfg.seed + 2)
    yc = YibaoContribution(cfg.snapshot)
    ptype = yc.person_types(wages)
    yc.assess(make_wages(64, cfg.seed), ptype[:64])  # compile (or load the cache)
    step(f"{name} {n:,}: yibao")
    m = measure(lambda: yc.assess(wages, ptype), cfg.repeat)
    cc = m.result
    routed = cc.data[7:12].sum(axis=0)
    y = ResultRow(name, n, n, "yibao", m.seconds,
                  (wages.wage_fen.nbytes + ptype.nbytes + cc.data.nbytes) / n,
                  m.peak_extra_bytes / n, int((routed != cc.total_fen).sum()),
                  "mismatches = routing ≠ total", 1.0)
    y.first_seconds = m.first_seconds
    report.rows.append(y)
    step(f"{name} {n:,}: yibao, reused buffers")
    mr = measure(lambda: yc.assess(wages, ptype, out=cc.data), cfg.repeat)
    report.rows.append(ResultRow(name, n, n, STREAMING, mr.seconds,
                                 y.bytes_in_out_per_row, mr.peak_extra_bytes / n, None,
                                 "", y.rows_per_s / (n / mr.seconds)))
    ours = {"contribution_base": cc.base_fen, "individual_contribution": cc.individual_basic_fen,
            "individual_fixed_premium": cc.fixed_premium_fen,
            **{f"employer_{c}": getattr(cc, f"employer_{c}_fen") for c in EMPLOYER_COMPONENTS}}
    k = min(n, cfg.loop_rows)
    sub = type(wages)(wages.wage_fen[:k], wages.seed)
    step(f"{name} {n:,}: per-row loop on {k:,} rows")
    ml = measure(lambda: loop_contributions(sub, rules.contribution), 1)
    lc = ml.result
    theirs = {"contribution_base": lc.base_fen, "individual_contribution": lc.individual_fen,
              "individual_fixed_premium": lc.fixed_premium_fen,
              **{f"employer_{c}": lc.employer_fen[c] for c in EMPLOYER_COMPONENTS}}
    mism = np.zeros(k, dtype=bool)
    for col, v in theirs.items():
        mism |= ours[col][:k] != v
    report.rows.append(ResultRow(
        name, k, n, "per-row loop", ml.seconds, 8 + 8 * len(theirs),
        ml.peak_extra_bytes / k, int(mism.sum()), f"timed on the first {k:,} rows" if k < n else "",
        y.rows_per_s / (k / ml.seconds)))
    step(f"{name} {n:,}: OpenFisca")
    peer = OpenFiscaPeer(rules, cfg.snapshot.date)
    peer.contributions(make_wages(64, cfg.seed))
    mo = measure(lambda: peer.contributions(wages), cfg.repeat)
    f = float32_finding(name, wages.wage_fen, ours, {c: to_fen(v) for c, v in mo.result.items()})
    report.findings.append(f)
    report.rows.append(ResultRow(
        name, n, n, "OpenFisca (float32)", mo.seconds, 4 + 4 * len(mo.result),
        mo.peak_extra_bytes / n, f.rows_differ, "mismatches: float32 vs fen",
        y.rows_per_s / (n / mo.seconds)))


def steps_for(cfg: BenchConfig) -> int:
    per = {"settle": 4, "settle_1pp": 4, "contribution": 4}
    return len(cfg.sizes) * sum(per[s] for s in cfg.suites)


def run(cfg: BenchConfig, step: Step) -> Report:
    """Run the suites; Ctrl-C stops cleanly with the rows measured so far."""
    rules = bench_rules(cfg.snapshot)
    report = Report({"seed": cfg.seed, "region": cfg.snapshot.policy.label,
                     "date": cfg.snapshot.date.isoformat(), "sizes": list(cfg.sizes),
                     "loop_rows": cfg.loop_rows, "repeat": cfg.repeat, "quick": cfg.quick,
                     "seeds": {"settle": cfg.seed, "settle_1pp": cfg.seed + 1,
                               "contribution": cfg.seed + 2}})
    try:
        for n in cfg.sizes:
            if "settle" in cfg.suites:
                step(f"settle {n:,}: generating claims")
                _settle_suite("settle", n, make_claims(n, cfg.seed), cfg, rules, report, step, False)
            if "settle_1pp" in cfg.suites:
                _settle_suite("settle_1pp", n, one_claim_per_person(n, cfg.seed + 1), cfg, rules,
                              report, step, True)
            if "contribution" in cfg.suites:
                _contribution_suite(n, cfg, rules, report, step)
    except KeyboardInterrupt:
        report.interrupted = True
    return report


def default_date() -> dt.date:
    """The date whose rules the benchmark uses unless told otherwise."""
    return dt.date(2024, 3, 1)
