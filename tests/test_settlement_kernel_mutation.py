"""The settlement kernel, rule by rule, on a hypothetical policy row (mutation testing).

The kernel reads a claim's parameters from one plan row (settlement_params.build_plan). These
tests build that row by hand for a *hypothetical* region ("policy H", not a real policy; every
figure below is computed by us from the rule in :mod:`yibao.rules.settlement`, DOMAIN §4.1–§4.9):

- deductible (起付线) per admission: 1000 yuan first, 500 second, 200 third and later;
- pooled bands (分段) on the year's cumulative in-scope cost: up to 10000 yuan at 80%, above at 90%;
- pooled ceiling (封顶线) 50000 yuan of cost; large-amount segment (大额) 50%, up to 100000 yuan
  of cost; no personal out-of-pocket cap; the account may pay every part; fen, half up.

Each test changes the cells its rule needs and checks the amounts, the accumulators, the status
and the trace records the explanation is built from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from yibao.rules.settlement import ClaimColumns
from yibao.rules.settlement_kernel import (
    ACC_COLUMNS,
    MAX_AMOUNT_FEN,
    NACC,
    OUT_DTYPE,
    PKEYS,
    STATUS_BAD_INDEX,
    STATUS_BAD_SHARE,
    STATUS_INCONSISTENT,
    STATUS_NEGATIVE,
    STATUS_TOO_LARGE,
    STATUS_UNKNOWN_BASE,
    TRACE_FIELDS,
    TRACE_STEPS,
    settle_kernel,
)
from yibao.rules.settlement_params import (
    MAX_BANDS,
    N_CLASSES,
    N_LEVELS,
    N_REMOTE,
    NO_LIMIT,
    P_BB,
    P_CAP,
    P_CB,
    P_CEIL,
    P_DED,
    P_FIELDS,
    P_LB,
    P_LC,
    P_LR,
    P_MASK,
    P_MODE,
    P_NB,
    P_POOL,
    P_RATIO,
    P_RED,
    P_SCOPE,
    P_UNIT,
    P_UPTO,
    plan_row,
)

I64 = npt.NDArray[np.int64]
Y24, Y25 = 20240101, 20250101  # benefit-year keys (yyyymmdd of the year's first day)
COL = {name: j for j, name in enumerate(ACC_COLUMNS)}

# trace record types (TRACE_FIELDS: type, band, cost, ratio, ratio_adj, share, pay, pos, bind)
YEAR, DED, BAND, CEIL, LARGE, OVERC, OOP, ACCT = 1, 2, 3, 4, 5, 6, 7, 8


def policy_h(**cells: int | list[int]) -> I64:
    """One plan row of policy H (module docstring), with ``cells`` (P_* names) replaced."""
    row = np.full(P_FIELDS, -1, dtype=np.int64)  # -1: unknown, as build_plan leaves unused cells
    base: dict[int, int | list[int]] = {
        P_POOL: 0, P_UNIT: 1, P_MODE: 0, P_SCOPE: 0, P_DED: [100_000, 50_000, 20_000], P_RED: 0,
        P_NB: 2, P_BB: 0, P_UPTO: [1_000_000, NO_LIMIT], P_RATIO: [8000, 9000],
        P_CEIL: 5_000_000, P_CB: 0, P_LR: 5000, P_LC: 10_000_000, P_LB: 0, P_CAP: NO_LIMIT,
        P_MASK: 63}
    names = {n: v for n, v in globals().items() if n.startswith("P_") and isinstance(v, int)}
    for name, value in cells.items():
        base[names[name]] = value
    for field, value in base.items():
        vals = value if isinstance(value, list) else [value]
        row[field:field + len(vals)] = vals
    return row


def plan_of(*rows: I64) -> I64:
    """A plan of len(rows) snapshots, every (kind, class, level, remote) row of snapshot q = rows[q]."""
    per = 2 * N_CLASSES * N_LEVELS * N_REMOTE
    return np.concatenate([np.tile(r, (per, 1)) for r in rows])


@dataclass
class C:
    """One claim row (fen, bp, indexes) as the kernel takes it."""

    total: int = 0
    kind: int = 0
    year: int = Y24
    psn: int = 0
    q: int = 0
    cls: int = 0
    lvl: int = 0
    rem: int = 0
    share: int = 10_000
    ful: int = 0
    over: int = 0
    pre: int = 0
    bal: int = 0
    mbal: int = 0


@dataclass
class Run:
    out: npt.NDArray[np.void]
    trace: I64
    acc: I64
    first_bad: int

    def get(self, i: int, name: str) -> int:
        return int(self.out[name][i])

    def records(self, i: int, account: bool = False) -> list[tuple[int, ...]]:
        """The trace records of claim i (type ≠ 0), as tuples of TRACE_FIELDS; the account record
        that ends every settled claim's trace only with ``account``."""
        return [tuple(int(x) for x in r) for r in self.trace[i]
                if r[0] != 0 and (account or r[0] != ACCT)]

    def accum(self, name: str, psn: int = 0) -> int:
        return int(self.acc[psn, COL[name]])


def run(plan: I64, *claims: C, acc: I64 | None = None, persons: int = 1,
        trace: bool = True, width: int = TRACE_STEPS) -> Run:
    rows = [asdict(c) for c in claims]

    def col(name: str) -> list[Any]:
        return [r[name] for r in rows]

    cols = ClaimColumns(  # the dtypes settle_batch passes (one compiled specialisation)
        psn=np.array(col("psn")), param=np.array(col("q")), year=np.array(col("year")),
        kind=np.array(col("kind")), benefit_class=np.array(col("cls")),
        level=np.array(col("lvl")), remote=np.array(col("rem")), share_bp=np.array(col("share")),
        total=np.array(col("total")), full_self_pay=np.array(col("ful")),
        over_limit=np.array(col("over")), preselfpay=np.array(col("pre")),
        account_balance=np.array(col("bal")), mulaid_balance=np.array(col("mbal")))
    acc = np.zeros((persons, NACC), dtype=np.int64) if acc is None else acc
    out = np.zeros(len(rows), dtype=OUT_DTYPE)
    tr = np.zeros((len(rows), width, len(TRACE_FIELDS)), dtype=np.int64) if trace else None
    first = settle_kernel(cols.psn, cols.param, cols.year, cols.kind, cols.benefit_class,
                          cols.level, cols.remote, cols.share_bp, cols.total, cols.full_self_pay,
                          cols.over_limit, cols.preselfpay, cols.account_balance,
                          cols.mulaid_balance, acc, out, tr, plan, len(plan) // (
                              2 * N_CLASSES * N_LEVELS * N_REMOTE))
    return Run(out, tr if tr is not None else np.zeros((0, 0, 0), np.int64), acc, int(first))


def decode(status: int) -> tuple[str, int, int, int, int]:
    """An unknown-parameter status as (PKEYS key, kind, band, class, level)."""
    code = status - STATUS_UNKNOWN_BASE
    lv, code = code % 8, code // 8
    c, code = code % 8, code // 8
    band, code = code % 8, code // 8
    return PKEYS[code // 2], code % 2, band, c, lv


H = plan_of(policy_h())


# -- the walk: deductible, bands, ceiling, large-amount segment, over-ceiling ---------------------

def test_first_admission_20000_walks_both_bands() -> None:
    """Computed by us (policy H): deductible 1000; 1000–10000 at 80% = 7200; the 10000 above at
    90% = 9000; fund 16200, the member 3800; the last pooled ratio is 90%."""
    r = run(H, C(2_000_000))
    assert r.first_bad == -1
    assert [r.get(0, n) for n in ("status", "act_pay_dedc", "hifp_pay", "hifob_pay",
                                  "over_ceiling", "oop_cap_pay", "pool_ratio_bp")] == [
        0, 100_000, 1_620_000, 0, 0, 0, 9000]
    assert r.records(0) == [
        (YEAR, 0, 1, 0, 0, 0, 0, 0, 0),
        (DED, 0, 100_000, 100_000, 0, 0, 0, 0, 0),
        (BAND, 0, 900_000, 8000, 8000, 10_000, 720_000, 100_000, 1),  # band limit binds
        (BAND, 1, 1_000_000, 9000, 9000, 10_000, 900_000, 1_000_000, 0)]
    assert {n: r.accum(n) for n in ACC_COLUMNS} == {
        "year_key": Y24, "inpatient_admissions": 1, "outpatient_visits": 0,
        "inpatient_deductible_used": 100_000, "outpatient_deductible_used": 0,
        "inpatient_inscp_cum": 2_000_000, "outpatient_inscp_cum": 0,
        "inpatient_hifp_cum": 1_620_000, "outpatient_hifp_cum": 0,
        "pool_inpatient_inscp_cum": 2_000_000, "pool_outpatient_inscp_cum": 0,
        "pool_inpatient_hifp_cum": 1_620_000, "pool_outpatient_hifp_cum": 0,
        "large_inpatient_cost_cum": 0, "large_outpatient_cost_cum": 0,
        "large_inpatient_paid_cum": 0, "large_outpatient_paid_cum": 0,
        "personal_burden_cum": 380_000}


def test_ceiling_then_large_amount_then_over_ceiling_across_four_admissions() -> None:
    """Computed by us (policy H). 1st, 80000: 7200 + 40000 × 90% = 43200 pooled (cost reaches
    the 50000 ceiling), 30000 × 50% = 15000 large-amount. 2nd, 120000: deductible 500, pooled
    room 0, large room 70000 of cost → 35000, 49500 over the ceiling. 3rd and 4th, 1000: the
    third_plus deductible 200, the rest above every limit."""
    r = run(H, C(8_000_000), C(12_000_000), C(100_000), C(100_000))
    assert [r.get(0, n) for n in ("act_pay_dedc", "hifp_pay", "hifob_pay", "over_ceiling",
                                  "pool_ratio_bp")] == [100_000, 4_320_000, 1_500_000, 0, 9000]
    assert r.records(0)[3:] == [
        (BAND, 1, 4_000_000, 9000, 9000, 10_000, 3_600_000, 1_000_000, 2),  # the ceiling binds
        (CEIL, 0, 5_000_000, 0, 0, 0, 0, 5_000_000, 0),
        (LARGE, 0, 3_000_000, 5000, 5000, 10_000, 1_500_000, 0, 0)]
    assert [r.get(1, n) for n in ("act_pay_dedc", "hifp_pay", "hifob_pay", "over_ceiling",
                                  "pool_ratio_bp")] == [50_000, 0, 3_500_000, 4_950_000, 0]
    assert r.records(1) == [
        (YEAR, 0, 2, 0, 0, 0, 0, 100_000, 0),
        (DED, 1, 50_000, 50_000, 0, 0, 0, 100_000, 0),
        (CEIL, 0, 5_000_000, 0, 0, 0, 0, 8_050_000, 0),
        (LARGE, 0, 7_000_000, 5000, 5000, 10_000, 3_500_000, 3_000_000, 3),  # its limit binds
        (OVERC, 0, 4_950_000, 0, 0, 0, 0, 0, 0)]
    for i in (2, 3):
        assert (r.get(i, "act_pay_dedc"), r.get(i, "over_ceiling")) == (20_000, 80_000)
        assert r.records(i)[1] == (DED, 2, 20_000, 20_000, 0, 0, 0, 150_000 + 20_000 * (i - 2), 0)
    assert (r.accum("inpatient_admissions"), r.accum("inpatient_deductible_used")) == (4, 190_000)
    assert r.accum("pool_inpatient_inscp_cum") == 20_200_000  # every in-scope fen counts
    assert r.accum("inpatient_inscp_cum") == 20_200_000
    assert (r.accum("pool_inpatient_hifp_cum"), r.accum("inpatient_hifp_cum")) == (4_320_000,) * 2
    assert (r.accum("large_inpatient_cost_cum"), r.accum("large_inpatient_paid_cum")) == (
        10_000_000, 5_000_000)
    # burden: 3800+… = deductibles + coinsurance + over-ceiling of all four claims
    assert r.accum("personal_burden_cum") == 20_200_000 - 4_320_000 - 5_000_000


def test_second_admission_continues_the_cost_bands() -> None:
    """Computed by us (policy H): 5000 then 10000. The 2nd admission's band position starts at
    the year's cost 5000 plus its own 500 deductible: 4500 × 80% + 5000 × 90% = 8100."""
    r = run(H, C(500_000), C(1_000_000))
    assert r.get(0, "hifp_pay") == 320_000
    assert r.get(1, "hifp_pay") == 810_000
    assert [rec[7] for rec in r.records(1) if rec[0] == BAND] == [550_000, 1_000_000]


def test_closed_last_band_ends_the_pooled_segment() -> None:
    """Policy H with bands 80% to 10000 and 90% to 20000 (closed), no ceiling: a 30000 claim pays
    7200 + 9000 pooled; the 10000 past the last band goes to the 50% segment (computed by us)."""
    r = run(plan_of(policy_h(P_UPTO=[1_000_000, 2_000_000], P_CEIL=NO_LIMIT)), C(3_000_000))
    assert (r.get(0, "hifp_pay"), r.get(0, "hifob_pay")) == (1_620_000, 500_000)
    assert r.records(0)[3][-1] == 1  # the closed band's limit binds


def test_open_single_band_pays_one_ratio() -> None:
    """One open band at 70%: (3000 − 1000) × 70% = 1400 (computed by us, policy H variant)."""
    r = run(plan_of(policy_h(P_NB=1, P_UPTO=[NO_LIMIT], P_RATIO=[7000])), C(300_000))
    assert r.get(0, "hifp_pay") == 140_000
    assert r.get(0, "pool_ratio_bp") == 7000


@pytest.mark.parametrize(("ceil", "cost", "large"), [
    (1_000_000, 311_112, 344_444),  # ceil(2800 / 90%) = 3111.12 of cost; 6888.88 × 50%
    (990_000, 300_000, 350_000),  # 2700 / 90% = 3000 exactly
])
def test_fund_payment_ceiling_pays_the_room_and_consumes_its_cost(ceil: int, cost: int,
                                                                  large: int) -> None:
    """Policy H with the ceiling on fund payment: a 20000 claim pays 7200 in band 1, then only
    the room left; the cost consumed is ceil(room / ratio); the rest goes to the 50% segment."""
    r = run(plan_of(policy_h(P_CEIL=ceil, P_CB=1)), C(2_000_000))
    room = ceil - 720_000
    assert r.get(0, "hifp_pay") == ceil
    assert r.records(0)[3] == (BAND, 1, cost, 9000, 9000, 10_000, room, 1_000_000, 2)
    assert r.records(0)[4] == (CEIL, 0, ceil, 0, 0, 0, 0, ceil, 1)
    assert r.get(0, "hifob_pay") == large
    assert r.accum("pool_inpatient_hifp_cum") == ceil


def test_cost_consumed_by_a_payment_limit_is_rounded_up_by_any_fraction() -> None:
    """Ceiling 100 yuan of fund payment at 99.01% × 99.99% share: the room is paid for
    100 × 10^8 / (9901 × 9999) = 101.0100000…1 yuan of cost, rounded up to 101.02 (computed by
    us: ceil(room × 10^8 / (ratio × share)), settlement module docstring step 3)."""
    plan = plan_of(policy_h(P_DED=[0, 0, 0], P_NB=1, P_UPTO=[NO_LIMIT], P_RATIO=[9901],
                            P_CEIL=10_000, P_CB=1, P_LC=0))
    r = run(plan, C(20_000, share=9999))
    assert (r.get(0, "hifp_pay"), r.get(0, "over_ceiling")) == (10_000, 20_000 - 10_102)


def test_fund_payment_ceiling_met_exactly_binds_without_cutting_the_chunk() -> None:
    """Ceiling 16200 of fund payment = exactly what the 20000 claim pays: nothing is cut and no
    cost goes above the ceiling (computed by us, policy H variant)."""
    r = run(plan_of(policy_h(P_CEIL=1_620_000, P_CB=1)), C(2_000_000))
    assert r.records(0)[3] == (BAND, 1, 1_000_000, 9000, 9000, 10_000, 900_000, 1_000_000, 2)
    assert (r.get(0, "hifp_pay"), r.get(0, "hifob_pay"), r.get(0, "over_ceiling")) == (
        1_620_000, 0, 0)


def test_fund_payment_bands_switch_when_the_fund_has_paid_the_limit() -> None:
    """Bands on fund payment (Beijing outpatient 2023 shape): 80% until the fund has paid 5000,
    then 60%. 20000: deductible 1000; 5000 paid for ceil(5000 / 80%) = 6250 of cost; the 12750
    left at 60% = 7650 (computed by us)."""
    plan = plan_of(policy_h(P_BB=1, P_UPTO=[500_000, NO_LIMIT], P_RATIO=[8000, 6000],
                            P_CEIL=NO_LIMIT))
    r = run(plan, C(2_000_000), C(300_000))
    assert r.records(0)[2:] == [
        (BAND, 0, 625_000, 8000, 8000, 10_000, 500_000, 0, 1),
        (BAND, 1, 1_275_000, 6000, 6000, 10_000, 765_000, 500_000, 0)]
    assert r.get(0, "hifp_pay") == 1_265_000
    # the 2nd admission starts where the fund's payment stands: 12650 paid → 60%
    assert r.records(1)[2] == (BAND, 1, 250_000, 6000, 6000, 10_000, 150_000, 1_265_000, 0)


@pytest.mark.parametrize(("lc", "lb", "chunk", "pay", "bind"), [
    (10_000_000, 0, 3_000_000, 1_500_000, 0),  # 100000 of cost: room enough
    (3_000_000, 0, 3_000_000, 1_500_000, 3),  # exactly the room: the limit binds
    (1_000_000, 1, 2_000_000, 1_000_000, 3),  # 10000 of payment: ceil(10000 / 50%) of cost
    (1_500_000, 1, 3_000_000, 1_500_000, 0),  # payment room exactly enough
])
def test_large_amount_limit_on_cost_or_payment(lc: int, lb: int, chunk: int, pay: int,
                                               bind: int) -> None:
    """Policy H, 80000 claim: 30000 of cost above the pooled ceiling meets the 50% segment with
    its limit on cost (lb 0) or on its payment (lb 1); what it leaves is over the ceiling."""
    r = run(plan_of(policy_h(P_LC=lc, P_LB=lb)), C(8_000_000))
    assert r.records(0)[5][:-1] == (LARGE, 0, chunk, 5000, 5000, 10_000, pay, 0)
    assert r.records(0)[5][-1] == bind
    assert (r.get(0, "hifob_pay"), r.get(0, "over_ceiling")) == (pay, 3_000_000 - chunk)
    assert (r.accum("large_inpatient_cost_cum"), r.accum("large_inpatient_paid_cum")) == (
        chunk, pay)


def test_large_amount_payment_limit_used_up_leaves_everything_over_the_ceiling() -> None:
    """Large limit 10000 of payment, used by the 1st claim: the 2nd pays nothing from it."""
    r = run(plan_of(policy_h(P_LC=1_000_000, P_LB=1)), C(8_000_000), C(8_000_000))
    assert (r.get(1, "hifob_pay"), r.get(1, "over_ceiling")) == (0, 8_000_000 - 50_000)
    assert [rec[0] for rec in r.records(1)] == [YEAR, DED, CEIL, OVERC]


# -- deductible scope, year reset, kinds and pools ------------------------------------------------

def test_per_year_deductible_is_used_up_across_claims() -> None:
    """Per-year deductible 300 (Beijing outpatient shape): 200, then 100 of a 500 claim, then 0;
    the nth-admission amounts are not used (trace band field 0)."""
    r = run(plan_of(policy_h(P_SCOPE=1, P_DED=[30_000, 1, 2])), C(20_000, kind=1),
            C(50_000, kind=1), C(50_000, kind=1))
    assert [r.get(i, "act_pay_dedc") for i in range(3)] == [20_000, 10_000, 0]
    assert [r.records(i)[1] for i in range(2)] == [
        (DED, 0, 20_000, 30_000, 1, 0, 0, 0, 0), (DED, 0, 10_000, 30_000, 1, 0, 0, 20_000, 0)]
    assert (r.accum("outpatient_visits"), r.accum("outpatient_deductible_used")) == (3, 30_000)
    assert (r.accum("inpatient_admissions"), r.accum("inpatient_deductible_used")) == (0, 0)


def test_per_year_deductible_lowered_mid_year_is_not_negative() -> None:
    """A later snapshot lowers the per-year deductible to 150 after 300 were paid: nothing is
    left to pay (max(0, 150 − 300)), not a negative deductible."""
    r = run(plan_of(policy_h(P_SCOPE=1, P_DED=[30_000, 0, 0]),
                    policy_h(P_SCOPE=1, P_DED=[15_000, 0, 0])), C(40_000), C(40_000, q=1))
    assert r.get(1, "act_pay_dedc") == 0
    assert r.get(1, "hifp_pay") == 32_000


def test_a_new_benefit_year_resets_every_accumulator() -> None:
    """A 2025 claim after 2024 care starts from zero: first-admission deductible again, and the
    2024 outpatient figures are cleared too."""
    r = run(H, C(2_000_000), C(50_000, kind=1), C(2_000_000, year=Y25))
    assert r.get(2, "act_pay_dedc") == 100_000 and r.get(2, "hifp_pay") == 1_620_000
    assert r.accum("year_key") == Y25
    assert (r.accum("outpatient_visits"), r.accum("outpatient_deductible_used")) == (0, 0)
    assert r.accum("inpatient_admissions") == 1
    assert r.accum("personal_burden_cum") == 380_000


def test_inpatient_and_outpatient_count_their_own_visits_and_bands() -> None:
    """Per kind: an outpatient claim between two admissions is its own first visit, and the 2nd
    admission is still the second (deductible 500, band position from inpatient cost only)."""
    r = run(H, C(500_000), C(500_000, kind=1), C(1_000_000))
    assert [r.get(i, "act_pay_dedc") for i in range(3)] == [100_000, 100_000, 50_000]
    assert r.records(1)[0] == (YEAR, 0, 1, 0, 0, 0, 0, 0, 0)
    assert r.get(2, "hifp_pay") == 810_000
    assert (r.accum("outpatient_inscp_cum"), r.accum("outpatient_hifp_cum")) == (500_000, 320_000)
    assert r.accum("inpatient_inscp_cum") == 1_500_000


@pytest.mark.parametrize(("pool", "own", "shared"), [(1, "pool_outpatient", 0), (0, None, 1)])
def test_outpatient_ceiling_pool_own_or_shared_with_inpatient(pool: int, own: str | None,
                                                              shared: int) -> None:
    """Shanghai shape: with a shared pool (0) the outpatient claim counts in and is checked
    against the inpatient pool, which a 60000 admission has filled; with its own pool (1) it is
    not limited by the admission."""
    plan = plan_of(policy_h())
    for c in range(N_CLASSES):
        for lv in range(N_LEVELS):
            for rem in range(N_REMOTE):
                plan[plan_row(0, 1, c, lv, rem), P_POOL] = pool
    r = run(plan, C(6_000_000), C(500_000, kind=1))
    assert r.get(1, "hifp_pay") == (0 if shared else 320_000)
    assert r.accum("pool_inpatient_inscp_cum") == 6_000_000 + 500_000 * shared
    if own:
        assert (r.accum(f"{own}_inscp_cum"), r.accum(f"{own}_hifp_cum")) == (500_000, 320_000)


def test_a_claim_without_in_scope_cost_has_no_deductible_step() -> None:
    """All self-pay (fulamt_ownpay_amt = total): nothing in scope, no deductible record, the
    visit still counts; the deductible scope is not even needed."""
    r = run(plan_of(policy_h(P_SCOPE=-1)), C(50_000, ful=50_000, bal=0))
    assert r.get(0, "status") == 0 and r.get(0, "act_pay_dedc") == 0
    assert r.records(0) == [(YEAR, 0, 1, 0, 0, 0, 0, 0, 0)]
    assert r.accum("inpatient_admissions") == 1


def test_claim_within_the_deductible_needs_no_band_or_ceiling() -> None:
    """A 600 claim under the 1000 deductible settles although bands, ceilings and remote
    reduction are unknown (Guangzhou shape, test_settlement_examples)."""
    r = run(plan_of(policy_h(P_RED=-1, P_NB=-1, P_CEIL=-1, P_LR=-1)), C(60_000, rem=1))
    assert (r.get(0, "status"), r.get(0, "act_pay_dedc"), r.get(0, "pool_ratio_bp")) == (
        0, 60_000, 0)


# -- ratio: remote reduction and benefit share -----------------------------------------------------

@pytest.mark.parametrize(("rem", "paid", "ratio"), [
    (0, 1_620_000, 9000), (1, 1_430_000, 8000), (2, 1_240_000, 7000)])
def test_remote_reduction_comes_from_the_claims_remote_row(rem: int, paid: int,
                                                           ratio: int) -> None:
    """Local 0, registered remote −10 points, unregistered −20 points (hypothetical):
    9000 × 70% + 10000 × 80% = 14300; 9000 × 60% + 10000 × 70% = 12400 (computed by us)."""
    plan = plan_of(policy_h())
    for r_ in (1, 2):
        plan[plan_row(0, 0, 0, 0, r_), P_RED] = 1000 * r_
    r = run(plan, C(2_000_000, rem=rem))
    assert (r.get(0, "hifp_pay"), r.get(0, "pool_ratio_bp")) == (paid, ratio)
    assert r.records(0)[2][3:5] == (8000, 8000 - 1000 * rem)


def test_reduction_above_the_ratio_pays_nothing_not_negative() -> None:
    """A reduction of 85 points leaves 0% of the 80% band and 5% of the 90% band: 500."""
    r = run(plan_of(policy_h(P_RED=8500)), C(2_000_000))
    assert r.get(0, "hifp_pay") == 50_000
    assert r.records(0)[2][4] == 0


@pytest.mark.parametrize(("share", "paid", "ratio"), [
    (10_000, 1_620_000, 9000), (5000, 810_000, 4500), (0, 0, 0)])
def test_benefit_share_scales_each_chunk(share: int, paid: int, ratio: int) -> None:
    """Fujian-style 50% wait (DOMAIN §5) halves the fund's payment and the reported ratio; share 0
    (not eligible) pays nothing while the cost still counts (computed by us, policy H)."""
    r = run(H, C(2_000_000, share=share))
    assert (r.get(0, "hifp_pay"), r.get(0, "pool_ratio_bp")) == (paid, ratio)
    assert r.records(0)[2][5] == share
    assert r.accum("inpatient_inscp_cum") == 2_000_000


# -- rounding (settlement.rounding: unit and mode) ------------------------------------------------

def one_band(ratio: int, unit: int = 1, mode: int = 0) -> I64:
    return plan_of(policy_h(P_DED=[0, 0, 0], P_NB=1, P_UPTO=[NO_LIMIT], P_RATIO=[ratio],
                            P_UNIT=unit, P_MODE=mode, P_CEIL=NO_LIMIT))


@pytest.mark.parametrize(("cost", "ratio", "share", "unit", "pays"), [
    # (half up, up, down); cost × ratio × share / 10^8 in fen, then to the unit
    (1, 5000, 10_000, 1, (1, 1, 0)),  # 0.5 fen
    (3, 5000, 10_000, 1, (2, 2, 1)),  # 1.5 fen
    (1, 4999, 10_000, 1, (0, 1, 0)),  # 0.4999 fen
    (7, 10_000, 5000, 1, (4, 4, 3)),  # 3.5 fen at half benefits
    (5, 10_000, 3000, 1, (2, 2, 1)),  # 1.5 fen
    (10, 10_000, 10_000, 1, (10, 10, 10)),  # exact
    (150, 10_000, 10_000, 100, (200, 200, 100)),  # 1.50 yuan to the yuan
    (149, 10_000, 10_000, 100, (100, 200, 100)),  # 1.49 yuan
    (250, 10_000, 10_000, 100, (300, 300, 200)),  # 2.50 yuan: half up, not to even
    (200, 10_000, 10_000, 100, (200, 200, 200)),  # exact yuan
    (100, 5000, 5000, 10, (30, 30, 20)),  # 0.25 yuan to the jiao (10 fen)
    (5_882_353, 17, 1, 1, (1, 2, 1)),  # 1.00000001 fen: up means up by any fraction
])
def test_each_rounding_mode_and_unit(cost: int, ratio: int, share: int, unit: int,
                                     pays: tuple[int, int, int]) -> None:
    """settlement.rounding (DOMAIN §4.1): round(cost × ratio × share / 10^8) to the unit, half up
    (0), up (1) or down (2); computed by us."""
    for mode, want in enumerate(pays):
        r = run(one_band(ratio, unit, mode), C(cost, share=share))
        assert r.get(0, "hifp_pay") == want, (mode, want)


def test_rounding_unit_unknown_or_zero_is_reported() -> None:
    for unit in (0, -1):
        r = run(one_band(8000, unit=unit), C(1000))
        assert decode(r.get(0, "status")) == ("settlement.rounding", 0, 0, 0, 0)


# -- personal out-of-pocket cap (个人负担封顶, DOMAIN §4.9) -------------------------------------

def test_oop_cap_pays_the_excess_and_a_lower_cap_later_pays_the_whole_burden() -> None:
    """Cap 5000 (hypothetical). 20000: burden 3800, under it. 2nd admission 10000: burden 500 +
    950 = 1450; 250 above the cap → the fund pays 250 more. Then a snapshot with cap 3000: the
    year's burden (5000) is already above it, so the fund pays the whole 1180 of a 3rd
    admission (200 + 980) — min(burden, excess), computed by us."""
    plan = plan_of(policy_h(P_CAP=500_000), policy_h(P_CAP=300_000))
    r = run(plan, C(2_000_000), C(1_000_000), C(1_000_000, q=1))
    assert [r.get(i, "oop_cap_pay") for i in range(3)] == [0, 25_000, 118_000]
    assert [r.get(i, "hifp_pay") for i in range(3)] == [1_620_000, 880_000, 1_000_000]
    assert r.records(1)[-1] == (OOP, 0, 145_000, 0, 0, 0, 25_000, 380_000, 500_000)
    assert r.records(2)[-1] == (OOP, 0, 118_000, 0, 0, 0, 118_000, 500_000, 300_000)
    assert OOP not in [rec[0] for rec in r.records(0)]
    assert r.accum("personal_burden_cum") == 500_000
    # the cap pays outside the pooled ceiling: the pooled accumulators hold the band payments
    assert r.accum("pool_inpatient_hifp_cum") == 1_620_000 + 855_000 + 882_000


def test_oop_cap_reached_exactly_pays_nothing() -> None:
    r = run(plan_of(policy_h(P_CAP=380_000)), C(2_000_000), C(0))
    assert r.get(0, "oop_cap_pay") == 0 and r.accum("personal_burden_cum") == 380_000


def test_unknown_oop_cap_is_needed_only_when_there_is_a_burden() -> None:
    r = run(plan_of(policy_h(P_CAP=-1)), C(0), C(100_000, ful=100_000), C(1000))
    assert [r.get(i, "status") for i in range(2)] == [0, 0]
    assert decode(r.get(2, "status")) == ("settlement.personal_oop_cap", 0, 0, 0, 0)


# -- account (个人账户) and family mutual aid (家庭共济), DOMAIN §3.3 ----------------------------

def acct_plan(cap: int, mask: int) -> I64:
    """Deductible 1000, one open band at 80%, pooled ceiling 11000 of cost, no large segment."""
    return plan_of(policy_h(P_NB=1, P_UPTO=[NO_LIMIT], P_RATIO=[8000], P_CEIL=1_100_000,
                            P_LC=0, P_CAP=cap, P_MASK=mask))


# claim: in scope 20000 = deductible 1000 + coinsurance 2000 (10000 at 80%) + 9000 over the
# ceiling; preselfpay 5.00, over-limit 0.40, full self-pay 0.03 (distinct digits per part)
ACCT_CLAIM = C(2_000_543, pre=500, over=40, ful=3, bal=10**9)


@pytest.mark.parametrize(("cap", "parts"), [
    # (deductible, coinsurance, over-ceiling) left to the member after the cap
    (NO_LIMIT, (100_000, 200_000, 900_000)),
    (1_000_000, (100_000, 200_000, 700_000)),  # the fund takes 2000 of the over-ceiling cost
    (150_000, (100_000, 50_000, 0)),  # all over-ceiling, then 1500 of the coinsurance
    (50_000, (50_000, 0, 0)),  # and then 500 of the deductible
])
@pytest.mark.parametrize("bit", range(6))
def test_account_pays_exactly_the_listed_parts(cap: int, parts: tuple[int, int, int],
                                               bit: int) -> None:
    """settlement.account_pays: bit i = ACCOUNT_PARTS[i] (deductible, coinsurance, preselfpay,
    over_ceiling, over_limit, full_self_pay); under a cap the fund takes the latest-arising
    burden first (over-ceiling, coinsurance, deductible), computed by us."""
    r = run(acct_plan(cap, 1 << bit), ACCT_CLAIM)
    ded, coins, overc = parts
    assert r.get(0, "status") == 0
    assert r.get(0, "acct_pay") == (ded, coins, 500, overc, 40, 3)[bit]
    assert r.get(0, "acct_mulaid_pay") == 0


def test_account_pays_the_sum_of_all_parts() -> None:
    r = run(acct_plan(NO_LIMIT, 63), ACCT_CLAIM)
    assert r.get(0, "acct_pay") == 1_200_543
    assert run(acct_plan(NO_LIMIT, 0), ACCT_CLAIM).get(0, "acct_pay") == 0


@pytest.mark.parametrize(("bal", "mbal", "acct", "mul"), [
    (0, 0, 0, 0),
    (1, 0, 1, 0),
    (0, 1, 0, 1),
    (379_999, 10**9, 379_999, 1),
    (380_000, 10**9, 380_000, 0),
    (10**9, 5, 380_000, 0),
    (100_000, 200_000, 100_000, 200_000),
])
def test_account_then_mutual_aid_up_to_each_balance(bal: int, mbal: int, acct: int,
                                                    mul: int) -> None:
    """The member's burden 3800 (policy H, 20000 claim): the account pays up to its balance, the
    family mutual-aid account the next part up to its balance, cash the rest."""
    r = run(H, C(2_000_000, bal=bal, mbal=mbal))
    assert (r.get(0, "acct_pay"), r.get(0, "acct_mulaid_pay")) == (acct, mul)


@pytest.mark.parametrize(("bal", "mbal", "acct", "mul"), [
    (0, 0, 0, 0),  # no balance: the explanation still shows what the account could have paid
    (100_000, 200_000, 100_000, 200_000),
    (10**9, 5, 380_000, 0),
])
def test_the_trace_ends_with_what_the_account_could_pay(bal: int, mbal: int, acct: int,
                                                        mul: int) -> None:
    """Policy H, 20000 claim: the member's burden 3800 is all payable (mask 63). The record is
    (ACCT, mask, payable, mutual-aid balance, 0, 0, account paid, balance, mutual aid paid), and
    the amounts are the same with or without a trace."""
    claim = C(2_000_000, bal=bal, mbal=mbal)
    r = run(H, claim)
    assert r.records(0, account=True)[-1] == (ACCT, 63, 380_000, mbal, 0, 0, acct, bal, mul)
    bare = run(H, claim, trace=False)
    assert bare.out.tobytes() == r.out.tobytes() and np.array_equal(bare.acc, r.acc)


def test_the_account_record_names_only_the_listed_parts() -> None:
    """account_pays = deductible only (mask 1): payable is the 1000 deductible, not the burden."""
    r = run(acct_plan(NO_LIMIT, 1), ACCT_CLAIM)
    rec = r.records(0, account=True)[-1]
    assert (rec[0], rec[1], rec[2], rec[6]) == (ACCT, 1, 100_000, 100_000)


# -- input checks and status codes ----------------------------------------------------------------

@pytest.mark.parametrize(("field", "bad", "good"), [
    ("psn", -1, 1), ("psn", 2, 1), ("q", -1, 0), ("q", 1, 0), ("kind", -1, 1), ("kind", 2, 1),
    ("cls", -1, N_CLASSES - 1), ("cls", N_CLASSES, N_CLASSES - 1),
    ("lvl", -1, N_LEVELS - 1), ("lvl", N_LEVELS, N_LEVELS - 1),
    ("rem", -1, 2), ("rem", 3, 2),
])
def test_index_out_of_range_is_bad_index_and_the_last_valid_one_settles(field: str, bad: int,
                                                                        good: int) -> None:
    ok = C(2_000_000, **{field: good})
    wrong = C(2_000_000, **{field: bad})
    r = run(H, ok, wrong, ok, persons=2)
    assert [r.get(i, "status") for i in range(3)] == [0, STATUS_BAD_INDEX, 0]
    assert r.first_bad == 1
    assert r.get(0, "hifp_pay") > 0


@pytest.mark.parametrize(("share", "status"), [(-1, STATUS_BAD_SHARE), (0, 0), (10_000, 0),
                                               (10_001, STATUS_BAD_SHARE)])
def test_benefit_share_outside_0_to_10000_bp(share: int, status: int) -> None:
    assert run(H, C(2_000_000, share=share)).get(0, "status") == status


MONEY = ("total", "ful", "over", "pre", "bal", "mbal")


@pytest.mark.parametrize("field", MONEY)
def test_each_negative_amount_is_reported(field: str) -> None:
    claim = C(1000, **{field: -1}) if field != "total" else C(-1)
    r = run(H, claim)
    assert (r.get(0, "status"), r.first_bad) == (STATUS_NEGATIVE, 0)


@pytest.mark.parametrize("field", MONEY)
def test_amounts_up_to_the_maximum_settle_and_one_fen_more_does_not(field: str) -> None:
    """MAX_AMOUNT_FEN (1亿 yuan per claim) keeps cost × ratio × share inside int64."""
    at = {"total": MAX_AMOUNT_FEN} | ({field: MAX_AMOUNT_FEN} if field != "total" else {})
    above = {"total": MAX_AMOUNT_FEN} | {field: MAX_AMOUNT_FEN + 1}
    assert run(H, C(**at)).get(0, "status") == 0
    assert run(H, C(**above)).get(0, "status") == STATUS_TOO_LARGE


def test_checks_are_reported_in_order_index_share_sign_size() -> None:
    r = run(H, C(-1, kind=2, share=-1), C(-1, share=-1), C(-1, bal=MAX_AMOUNT_FEN + 1))
    assert [r.get(i, "status") for i in range(3)] == [
        STATUS_BAD_INDEX, STATUS_BAD_SHARE, STATUS_NEGATIVE]


@pytest.mark.parametrize(("parts", "status"), [((600, 300, 100), 0), ((600, 300, 101), 1)])
def test_fee_components_above_the_total_are_inconsistent(parts: tuple[int, int, int],
                                                         status: int) -> None:
    ful, over, pre = parts
    r = run(H, C(1000, ful=ful, over=over, pre=pre))
    assert r.get(0, "status") == status
    assert STATUS_INCONSISTENT == 1


@pytest.mark.parametrize(("cells", "claim", "key"), [
    ({"P_POOL": -1}, C(1000, kind=1), ("ceiling_shared_with_inpatient", 1, 0, 0, 0)),
    ({"P_SCOPE": -1}, C(1000, kind=1), ("deductible.scope", 1, 0, 0, 0)),
    ({"P_DED": [0, -1, 0]}, C(1000, cls=2, lvl=3), ("deductible.second", 0, 0, 2, 3)),
    ({"P_RED": -1}, C(200_000, rem=1), ("remote.registered_ratio_reduction", 0, 0, 0, 0)),
    ({"P_RED": -1}, C(200_000, rem=2), ("remote.unregistered_ratio_reduction", 0, 0, 0, 0)),
    ({"P_NB": -1}, C(200_000, kind=1), ("bands", 1, 0, 0, 0)),
    ({"P_BB": -1}, C(200_000), ("band_basis", 0, 0, 0, 0)),
    ({"P_CEIL": -1}, C(200_000, cls=3), ("pooled_ceiling", 0, 0, 3, 0)),
    ({"P_CB": -1}, C(200_000, kind=1), ("ceiling_basis", 0, 0, 0, 0)),  # pool 0: shared
    ({"P_RATIO": [8000, -1]}, C(2_000_000, kind=1, cls=1, lvl=4), ("bands.ratio", 1, 1, 1, 4)),
    ({"P_LR": -1}, C(8_000_000, cls=4, lvl=2), ("large_amount.ratio", 0, 0, 4, 0)),
    ({"P_LC": -1}, C(8_000_000, kind=1, cls=2), ("large_amount.ceiling", 1, 0, 2, 0)),
    ({"P_LB": -1}, C(8_000_000, kind=1), ("large_amount.ceiling_basis", 1, 0, 0, 0)),
    ({"P_MASK": -1}, C(1000), ("settlement.account_pays", 0, 0, 0, 0)),
])
def test_a_needed_unknown_cell_names_its_key_and_changes_nothing(
        cells: dict[str, Any], claim: C, key: tuple[str, int, int, int, int]) -> None:
    """A cell the policy records as unknown (-1) stops only the claim that needs it: its status
    names the key, kind, band, class and level; its amounts are 0; the accumulators keep the
    earlier claim of the year (a 20000 admission) and the next claim settles."""
    plan = plan_of(policy_h(), policy_h(**cells))  # the unknown cell is snapshot 1's
    earlier = C(2_000_000, kind=claim.kind)
    claim.q = 1
    r = run(plan, earlier, claim, earlier)
    assert decode(r.get(1, "status")) == key
    assert r.first_bad == 1
    assert all(r.get(1, n) == 0 for n in OUT_DTYPE.names or () if n != "status")
    assert [r.get(i, "status") for i in (0, 2)] == [0, 0]
    # the accumulators hold the two other claims only
    assert run(H, earlier, earlier).acc.tolist() == r.acc.tolist()


def test_deductible_unknown_for_the_nth_admission_names_that_one() -> None:
    r = run(plan_of(policy_h(P_DED=[-1, 0, 0])), C(200_000, kind=1, cls=1, lvl=2))
    assert decode(r.get(0, "status")) == ("deductible.first", 1, 0, 1, 2)
    r = run(plan_of(policy_h(P_DED=[100_000, -1, -1])), C(200_000), C(200_000, lvl=1))
    assert r.get(0, "status") == 0
    assert decode(r.get(1, "status")) == ("deductible.second", 0, 0, 0, 1)
    r = run(plan_of(policy_h(P_DED=[100_000, 50_000, -1])), C(200_000), C(200_000),
            C(200_000, cls=3))
    assert decode(r.get(2, "status")) == ("deductible.third_plus", 0, 0, 3, 0)


def test_first_bad_is_minus_one_when_every_row_settles_and_the_first_bad_row_otherwise() -> None:
    assert run(H, C(1000), C(1000)).first_bad == -1
    r = run(H, C(1000), C(-1), C(-2))
    assert r.first_bad == 1 and r.get(2, "status") == STATUS_NEGATIVE


def test_a_failing_claim_after_a_paid_band_undoes_its_partial_payment() -> None:
    """The 2nd band's ratio is unknown: the claim paid band 1 in locals, but nothing is kept."""
    r = run(plan_of(policy_h(P_RATIO=[8000, -1])), C(500_000), C(2_000_000))
    assert r.get(0, "status") == 0 and r.get(1, "status") != 0
    assert r.accum("inpatient_hifp_cum") == 320_000
    assert r.accum("inpatient_admissions") == 1
    assert r.get(1, "hifp_pay") == 0 and r.get(1, "act_pay_dedc") == 0


def test_a_failing_first_claim_of_a_new_year_keeps_the_old_year() -> None:
    r = run(plan_of(policy_h(P_MASK=-1)), C(0, year=Y25), acc=np.array(
        [[Y24] + [7] * (NACC - 1)], dtype=np.int64))
    assert r.acc.tolist() == [[Y24] + [7] * (NACC - 1)]


# -- the trace array ------------------------------------------------------------------------------

def test_without_a_trace_the_results_are_the_same() -> None:
    claims = (C(8_000_000, bal=10**6), C(12_000_000), C(500_000, kind=1, share=5000))
    a, b = run(H, *claims), run(H, *claims, trace=False)
    assert a.out.tolist() == b.out.tolist() and a.acc.tolist() == b.acc.tolist()


def test_a_short_trace_keeps_the_first_records_only() -> None:
    r = run(H, C(2_000_000), width=2)
    assert r.records(0) == [(YEAR, 0, 1, 0, 0, 0, 0, 0, 0),
                            (DED, 0, 100_000, 100_000, 0, 0, 0, 0, 0)]
    assert r.get(0, "hifp_pay") == 1_620_000


def test_plan_rows_are_found_by_snapshot_kind_class_level_and_remote() -> None:
    """Each plan row gets its own first deductible (its row number + 1, in fen): a claim pays
    the one of plan_row(q, kind, class, level, remote) (settlement_params, the kernel's formula)."""
    plan = plan_of(policy_h(), policy_h())
    plan[:, P_DED] = np.arange(len(plan)) + 1
    keys = [(q, k, c, lv, rem) for q in (0, 1) for k in (0, 1) for c in (0, N_CLASSES - 1)
            for lv in (0, N_LEVELS - 1) for rem in (0, 2)]
    claims = [C(10**6, q=q, kind=k, cls=c, lvl=lv, rem=rem, psn=i)
              for i, (q, k, c, lv, rem) in enumerate(keys)]
    r = run(plan, *claims, persons=len(claims))
    assert [r.get(i, "act_pay_dedc") for i in range(len(keys))] == [
        plan_row(*key) + 1 for key in keys]
    assert MAX_BANDS >= 2


def test_a_new_year_starts_the_ceilings_and_the_large_segment_again() -> None:
    """After 2024 care filled the pooled ceiling and used the 大额 limit (on cost and on payment),
    a 2025 claim settles exactly like a first claim: the same 80000 claim pays the same."""
    for cells in ({}, {"P_CB": 1, "P_CEIL": 4_320_000, "P_LB": 1, "P_LC": 1_500_000}):
        plan = plan_of(policy_h(**cells))
        first = run(plan, C(8_000_000))
        r = run(plan, C(8_000_000), C(12_000_000), C(8_000_000, year=Y25))
        assert r.out[2].tolist() == first.out[0].tolist()
        assert r.acc[0, 1:].tolist() == first.acc[0, 1:].tolist()  # all but the year key
        assert r.accum("year_key") == Y25
        assert r.records(2) == first.records(0)


def test_outpatient_with_its_own_pool_keeps_its_own_ceiling_accumulators() -> None:
    """Outpatient care in its own pool (1): its 2nd claim continues from its own pooled cost and
    payment, and its own large-amount figures (policy H, ceiling 50000 of cost)."""
    plan = plan_of(policy_h())
    for c in range(N_CLASSES):
        for lv in range(N_LEVELS):
            for rem in range(N_REMOTE):
                plan[plan_row(0, 1, c, lv, rem), P_POOL] = 1
    r = run(plan, C(8_000_000, kind=1), C(8_000_000, kind=1))
    assert r.get(1, "hifp_pay") == 0 and r.get(1, "hifob_pay") == 3_500_000
    assert (r.accum("pool_outpatient_inscp_cum"), r.accum("pool_outpatient_hifp_cum")) == (
        16_000_000, 4_320_000)
    assert (r.accum("large_outpatient_cost_cum"), r.accum("large_outpatient_paid_cum")) == (
        10_000_000, 5_000_000)
    assert r.accum("pool_inpatient_inscp_cum") == 0
