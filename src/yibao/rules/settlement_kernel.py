"""The settlement kernel: one numba pass over fen columns, with benefit-year accumulators.

The rule it implements is documented in :mod:`yibao.rules.settlement`; this module holds the
loop only. Per row it checks the input (indexes, amounts, share), reads the few accumulators the
claim's kind and ceiling pool touch into local variables, settles the claim there, and stores
them back only if the claim succeeded, so a claim that is bad or needs an unknown parameter
changes nothing (its ``status`` says why). Nothing is allocated inside the loop, and the row is
written out in one fused body: calling a helper with dozens of array arguments per row cost ten
times the rule itself (reference counting), measured (docs/performance.md).

Performance choices, each measured in docs/performance.md:

- One output record of 64 bytes per claim (:data:`OUT_DTYPE`): the seven money amounts that
  cannot be derived, the ratio and the status. ``inscp_scp_amt``, ``coinsurance`` and
  ``psn_cash_pay`` are pure functions of these and the inputs; the wrapper derives them on use.
- The usual case (rounding to the fen half up, full benefit share) divides by the compile-time
  constant 20000, which LLVM turns into a multiply and shifts; other cases divide by the
  runtime ``10^8 × unit``.
- A claim's parameters are one row of :attr:`SettlementTable.plan` (by snapshot, kind, class,
  level, remote), indexed in place: fewer arguments and index computations than a dozen arrays
  of up to five dimensions, and no row view (a view costs two atomic reference counts).
- ``tr is None`` (no explanation wanted) compiles a second specialisation of the same function
  in which every trace record is pruned; with a trace array each step is recorded.

numba functions are compiled in the call form ``f = njit(...)(_f_py)`` (not decorators) so that
mutation testing, which runs them as Python with ``NUMBA_DISABLE_JIT=1``, can mutate them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
from numba import njit

from yibao.rules._kernels import rdiv
from yibao.rules.settlement_params import (
    N_CLASSES,
    N_LEVELS,
    N_REMOTE,
    P_BB,
    P_CAP,
    P_CB,
    P_CEIL,
    P_DED,
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
)

__all__ = [
    "ACC_COLUMNS",
    "KERNEL_COLUMNS",
    "MAX_AMOUNT_FEN",
    "NACC",
    "OUT_COLUMNS",
    "OUT_DTYPE",
    "PKEYS",
    "STATUS_BAD_INDEX",
    "STATUS_BAD_SHARE",
    "STATUS_INCONSISTENT",
    "STATUS_NEGATIVE",
    "STATUS_TOO_LARGE",
    "STATUS_UNKNOWN_BASE",
    "TRACE_FIELDS",
    "TRACE_STEPS",
    "settle_kernel",
]

# -- accumulator columns (per person); "+k" by kind (0 in, 1 out), "+p" by ceiling pool --------
A_YEAR, A_VISITS, A_DED, A_COST, A_PAID, A_CCOST, A_CPAID, A_LCOST, A_LPAID, A_BURDEN = (
    0, 1, 3, 5, 7, 9, 11, 13, 15, 17)
NACC: Final = 18
ACC_COLUMNS: Final[tuple[str, ...]] = (
    "year_key", "inpatient_admissions", "outpatient_visits",
    "inpatient_deductible_used", "outpatient_deductible_used",
    "inpatient_inscp_cum", "outpatient_inscp_cum",
    "inpatient_hifp_cum", "outpatient_hifp_cum",
    "pool_inpatient_inscp_cum", "pool_outpatient_inscp_cum",
    "pool_inpatient_hifp_cum", "pool_outpatient_hifp_cum",
    "large_inpatient_cost_cum", "large_outpatient_cost_cum",
    "large_inpatient_paid_cum", "large_outpatient_paid_cum",
    "personal_burden_cum",
)

# -- output (per claim) ---------------------------------------------------------------------------
OUT_COLUMNS: Final[tuple[str, ...]] = (
    "inscp_scp_amt", "act_pay_dedc", "coinsurance", "over_ceiling", "hifp_pay", "hifob_pay",
    "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "oop_cap_pay", "pool_ratio_bp", "status")
"""Every public column of a settled claim; the kernel writes :data:`KERNEL_COLUMNS` of them."""
OUT_DTYPE: Final = np.dtype([
    ("act_pay_dedc", np.int64), ("over_ceiling", np.int64), ("hifp_pay", np.int64),
    ("hifob_pay", np.int64), ("acct_pay", np.int64), ("acct_mulaid_pay", np.int64),
    ("oop_cap_pay", np.int64), ("pool_ratio_bp", np.int32), ("status", np.int32)], align=True)
"""One claim's kernel output: 64 bytes, one cache line (the rest is derived, see module doc)."""
KERNEL_COLUMNS: Final[tuple[str, ...]] = tuple(OUT_DTYPE.names or ())

# -- trace: steps × fields ------------------------------------------------------------------------
TRACE_STEPS: Final = 24
TRACE_FIELDS: Final[tuple[str, ...]] = ("type", "band", "cost", "ratio", "ratio_adj", "share",
                                        "pay", "pos", "bind")
T_YEAR, T_DED, T_BAND, T_CEIL, T_LARGE, T_OVERC, T_OOP, T_ACCT = 1, 2, 3, 4, 5, 6, 7, 8

# -- status codes --------------------------------------------------------------------------------
STATUS_INCONSISTENT: Final = 1  # fee components exceed the total
STATUS_NEGATIVE: Final = 2  # an amount is negative
STATUS_TOO_LARGE: Final = 3  # an amount is above MAX_AMOUNT_FEN
STATUS_BAD_INDEX: Final = 4  # person, snapshot, kind, class, level or remote index out of range
STATUS_BAD_SHARE: Final = 5  # benefit share outside 0..10000 bp
MAX_AMOUNT_FEN: Final = 10_000_000_000  # 1亿 yuan per claim keeps cost × ratio × share in int64
STATUS_UNKNOWN_BASE: Final = 16
PKEYS: Final[tuple[str, ...]] = (
    "deductible.scope", "deductible.first", "deductible.second", "deductible.third_plus",
    "bands", "bands.ratio", "band_basis", "pooled_ceiling", "ceiling_basis",
    "ceiling_shared_with_inpatient", "large_amount.ratio", "large_amount.ceiling",
    "large_amount.ceiling_basis", "settlement.personal_oop_cap",
    "remote.registered_ratio_reduction", "remote.unregistered_ratio_reduction",
    "settlement.rounding", "settlement.account_pays",
)
NO_LIMIT: Final = 1 << 62
RATIO_DEN: Final = 100_000_000  # ratio bp × benefit share bp
FULL_SHARE: Final = 10_000  # benefit share bp of full benefits: the fast path's constant divisor
# the largest status code (pkey 17, every other field at its maximum) must fit the int32 column
assert STATUS_UNKNOWN_BASE + ((((len(PKEYS) * 2 + 1) * 8 + 7) * 8 + 7) * 8 + 7) < 2**31

Kernel = Callable[..., Any]


def _unknown_py(pkey: int, kind: int, band: int, c: int, lv: int) -> int:
    return STATUS_UNKNOWN_BASE + ((((pkey * 2 + kind) * 8 + band) * 8 + c) * 8 + lv)


def _pay_py(cost: int, ra: int, sh: int, unit: int, mode: int) -> int:
    """round(cost × ra × sh / 10^8) to the rounding unit (mode 0 half up, 1 up, 2 down).

    The usual case — fen, half up, full share — is round(cost × ra / 10^4), written with the
    constant divisor 2 × 10^4 so that it compiles to a multiply instead of a division.
    """
    if unit == 1 and mode == 0 and sh == FULL_SHARE:
        return (2 * cost * ra + FULL_SHARE) // (2 * FULL_SHARE)
    q: int = rdiv(cost * ra * sh, RATIO_DEN * unit, mode)
    return q * unit


def _cost_for_py(room: int, rs: int) -> int:
    """The cost that pays exactly ``room`` at ``rs``: ceil(room × 10^8 / rs)."""
    return (room * RATIO_DEN + rs - 1) // rs


def _rec_py(tr: Any, i: int, n: int, typ: int, band: int, cost: int, ratio: int, ra: int,
            share: int, pay: int, pos: int, bind: int) -> int:
    """Record one step in the trace; with ``tr is None`` numba prunes the whole body."""
    if tr is None or n >= tr.shape[1]:
        return n
    row = tr[i, n]
    row[0], row[1], row[2], row[3], row[4] = typ, band, cost, ratio, ra
    row[5], row[6], row[7], row[8] = share, pay, pos, bind
    return n + 1


_unknown: Kernel = njit(cache=True, inline="always")(_unknown_py)
_pay: Kernel = njit(cache=True, inline="always")(_pay_py)
_cost_for: Kernel = njit(cache=True, inline="always")(_cost_for_py)
_rec: Kernel = njit(cache=True, inline="always")(_rec_py)


def _settle_kernel_py(psn: Any, prm: Any, year: Any, kind: Any, cls: Any, lvl: Any, remote: Any,
                      share: Any, total: Any, ful: Any, over: Any, pre: Any, acct_bal: Any,
                      mulaid_bal: Any, acc: Any, out: Any, tr: Any, plan: Any, n_prm: int
                      ) -> int:
    """Settle every row in order against ``acc`` (P × NACC), writing ``out`` (n, OUT_DTYPE).

    Returns the first row that did not settle, or -1 (so the caller need not scan ``status``).
    The class and level counts are module constants, not arguments: numba folds them into the
    plan-row formula (a multiply by a constant instead of two runtime multiplies and range
    checks against arguments), 4-8% of the kernel's time (docs/performance.md).

    ``st`` carries an error out of the one-pass ``for _ in range(1)`` block, after which nothing
    is committed. The person's accumulators live in local variables (registers) meanwhile.
    """
    n_psn = acc.shape[0]
    first_bad = -1
    for i in range(psn.shape[0]):
        r_out = out[i]
        # -- checks first: a bad row is reported by status and touches nothing ----------------
        # int(): the narrow index columns compute in int64 (as numba does) when run as Python
        pi, q, k, c, lv = int(psn[i]), int(prm[i]), int(kind[i]), int(cls[i]), int(lvl[i])
        rem, sh = int(remote[i]), int(share[i])
        tot, fl, ov, pr, bal, mbal = total[i], ful[i], over[i], pre[i], acct_bal[i], mulaid_bal[i]
        if (pi < 0 or pi >= n_psn or q < 0 or q >= n_prm or k < 0 or k > 1 or c < 0
                or c >= N_CLASSES or lv < 0 or lv >= N_LEVELS or rem < 0 or rem > 2):
            st = STATUS_BAD_INDEX
        elif sh < 0 or sh > FULL_SHARE:
            st = STATUS_BAD_SHARE
        elif (tot | fl | ov | pr | bal | mbal) < 0:  # the sign bit of any of them
            st = STATUS_NEGATIVE
        elif max(tot, fl, ov, pr, bal, mbal) > MAX_AMOUNT_FEN:
            st = STATUS_TOO_LARGE
        else:
            st = 0
        dedc = rest = hifp = hifob = acct = mul = oop = ratio = 0
        if st == 0:
            # the claim's parameters: one row of the plan (settlement_params.build_plan)
            prow = (((q * 2 + k) * N_CLASSES + c) * N_LEVELS + lv) * N_REMOTE + rem
            fresh = acc[pi, A_YEAR] != year[i]  # a new benefit year (医保年度): start again
            inscp = tot - fl - ov - pr
            # set from the plan before any use; the 0 only gives numba the type (no mutate: any
            # other start value is equivalent)
            p = 0  # pragma: no mutate
            for _ in range(1):
                if inscp < 0:
                    st = STATUS_INCONSISTENT
                    break
                p = plan[prow, P_POOL]
                if p < 0:  # only outpatient care can lack it (is its pool shared?)
                    st = _unknown(9, 1, 0, 0, 0)
                    break
                unit = plan[prow, P_UNIT]
                mode = plan[prow, P_MODE]
                if unit <= 0:
                    st = _unknown(16, 0, 0, 0, 0)
                    break
                # the accumulators this claim reads and writes (kind k, ceiling pool p)
                visits = 0 if fresh else acc[pi, A_VISITS + k]
                dused = 0 if fresh else acc[pi, A_DED + k]
                cost_k = 0 if fresh else acc[pi, A_COST + k]
                paid_k = 0 if fresh else acc[pi, A_PAID + k]
                ccost = 0 if fresh else acc[pi, A_CCOST + p]
                cpaid = 0 if fresh else acc[pi, A_CPAID + p]
                lcost = 0 if fresh else acc[pi, A_LCOST + p]
                lpaid = 0 if fresh else acc[pi, A_LPAID + p]
                burden0 = 0 if fresh else acc[pi, A_BURDEN]
                nt = _rec(tr, i, 0, T_YEAR, 0, visits + 1, 0, 0, 0, 0, dused, 0)
                # -- deductible (起付线) ---------------------------------------------------------
                if inscp > 0:
                    scope = plan[prow, P_SCOPE]
                    if scope < 0:
                        st = _unknown(0, k, 0, 0, 0)
                        break
                    t = 0 if scope == 1 else min(visits, 2)
                    d = plan[prow, P_DED + t]
                    if d < 0:
                        st = _unknown(1 + t, k, 0, c, lv)
                        break
                    left = d if scope == 0 else max(0, d - dused)
                    dedc = min(inscp, left)
                    nt = _rec(tr, i, nt, T_DED, t, dedc, d, scope, 0, 0, dused, 0)
                visits += 1
                dused += dedc
                ccost0 = ccost
                ccost += dedc
                rest = inscp - dedc
                coins = 0
                last_rs = 0
                if rest > 0:
                    red = plan[prow, P_RED]
                    if red < 0:
                        st = _unknown(13 + rem, 0, 0, 0, 0)
                        break
                    # -- pooled bands (分段) up to the pooled ceiling (封顶线) ---------------------
                    nb = plan[prow, P_NB]
                    if nb < 0:
                        st = _unknown(4, k, 0, 0, 0)
                        break
                    bb = plan[prow, P_BB]
                    if bb < 0:
                        st = _unknown(6, k, 0, 0, 0)
                        break
                    ceil = plan[prow, P_CEIL]  # the ceiling of pool p (0 is the inpatient ceiling)
                    if ceil < 0:
                        st = _unknown(7, p, 0, c, 0)
                        break
                    cb = plan[prow, P_CB]
                    if cb < 0:
                        st = _unknown(8, p, 0, 0, 0)
                        break
                    cpos = cost_k + dedc
                    while rest > 0:
                        croom_cost = ceil - ccost if cb == 0 else NO_LIMIT
                        croom_pay = ceil - cpaid if cb == 1 else NO_LIMIT
                        if croom_cost <= 0 or croom_pay <= 0:
                            nt = _rec(tr, i, nt, T_CEIL, 0, ceil, 0, 0, 0, 0,
                                      ccost if cb == 0 else cpaid, cb)
                            break
                        m = cpos if bb == 0 else paid_k
                        b = 0
                        while b < nb - 1 and plan[prow, P_UPTO + b] <= m:
                            b += 1
                        upto = plan[prow, P_UPTO + b]
                        if m >= upto:  # past the last, closed band: the pooled segment ends
                            break
                        r = plan[prow, P_RATIO + b]
                        if r < 0:
                            st = _unknown(5, k, b, c, lv)
                            break
                        ra = max(0, r - red)
                        rs = ra * sh
                        chunk = rest
                        proom = croom_pay
                        if bb == 0:
                            chunk = min(chunk, upto - m)
                        else:
                            proom = min(proom, upto - m)
                        chunk = min(chunk, croom_cost)
                        pay = _pay(chunk, ra, sh, unit, mode)
                        bind = 0
                        if pay >= proom:
                            bind = 1 if proom < croom_pay else 2
                            if pay > proom:
                                pay = proom
                                chunk = min(chunk, _cost_for(proom, rs))
                        elif bb == 0 and chunk == upto - m:
                            bind = 1
                        elif chunk == croom_cost:
                            bind = 2
                        nt = _rec(tr, i, nt, T_BAND, b, chunk, r, ra, sh, pay, m, bind)
                        rest -= chunk
                        cpos += chunk
                        ccost += chunk
                        cpaid += pay
                        paid_k += pay
                        hifp += pay
                        coins += chunk - pay
                        last_rs = rs
                    if st != 0:
                        break
                    # -- large-amount segment (大额) above the ceiling ----------------------------
                    if rest > 0:
                        lr = plan[prow, P_LR]
                        if lr < 0:
                            st = _unknown(10, k, 0, c, 0)
                            break
                        lc = plan[prow, P_LC]
                        if lc < 0:
                            st = _unknown(11, k, 0, c, 0)
                            break
                        lb = plan[prow, P_LB]
                        if lb < 0:
                            st = _unknown(12, k, 0, 0, 0)
                            break
                        ra = max(0, lr - red)
                        rs = ra * sh
                        room_cost = lc - lcost if lb == 0 else NO_LIMIT
                        room_pay = lc - lpaid if lb == 1 else NO_LIMIT
                        if room_cost > 0 and room_pay > 0:
                            chunk = min(rest, room_cost)
                            pay = _pay(chunk, ra, sh, unit, mode)
                            bind = 3 if chunk == room_cost else 0
                            if pay > room_pay:
                                pay = room_pay
                                chunk = min(chunk, _cost_for(room_pay, rs))
                                bind = 3
                            nt = _rec(tr, i, nt, T_LARGE, 0, chunk, lr, ra, sh, pay,
                                      lcost if lb == 0 else lpaid, bind)
                            rest -= chunk
                            lcost += chunk
                            lpaid += pay
                            hifob += pay
                            coins += chunk - pay
                cost_k += inscp
                ccost = ccost0 + inscp
                if rest > 0:
                    nt = _rec(tr, i, nt, T_OVERC, 0, rest, 0, 0, 0, 0, 0, 0)
                # -- personal out-of-pocket cap (个人负担封顶, seed 000 proposal) -------------------
                burden = dedc + coins + rest
                cap = plan[prow, P_CAP]
                if cap != NO_LIMIT and burden > 0:
                    if cap < 0:
                        st = _unknown(13, 0, 0, 0, 0)
                        break
                    excess = burden0 + burden - cap
                    if excess > 0:
                        oop = min(burden, excess)
                        nt = _rec(tr, i, nt, T_OOP, 0, burden, 0, 0, 0, oop, burden0, cap)
                burden0 += burden - oop
                hifp += oop
                # -- account (个人账户) and family mutual aid (家庭共济) --------------------------
                mask = plan[prow, P_MASK]
                if mask < 0:
                    st = _unknown(17, 0, 0, 0, 0)
                    break
                # nothing to pay from when both balances are zero; an explanation still shows
                # what the account could have paid (``tr is not None`` is pruned without a trace)
                if bal > 0 or mbal > 0 or tr is not None:
                    # the fund takes the latest-arising burden first: over-ceiling, coinsurance,
                    # deductible
                    part_overc = rest - min(rest, oop)
                    left_oop = oop - (rest - part_overc)
                    part_coins = coins - min(coins, left_oop)
                    left_oop -= coins - part_coins
                    part_ded = dedc - left_oop
                    payable = 0
                    if mask & 1:
                        payable += part_ded
                    if mask & 2:
                        payable += part_coins
                    if mask & 4:
                        payable += pr
                    if mask & 8:
                        payable += part_overc
                    if mask & 16:
                        payable += ov
                    if mask & 32:
                        payable += fl
                    acct = min(payable, bal)
                    mul = min(payable - acct, mbal)
                    nt = _rec(tr, i, nt, T_ACCT, mask, payable, mbal, 0, 0, acct, bal, mul)
                ratio = last_rs // FULL_SHARE
            if st == 0:  # commit: the claim settled
                if fresh:
                    for j in range(NACC):
                        acc[pi, j] = 0
                    acc[pi, A_YEAR] = year[i]
                acc[pi, A_VISITS + k] = visits
                acc[pi, A_DED + k] = dused
                acc[pi, A_COST + k] = cost_k
                acc[pi, A_PAID + k] = paid_k
                acc[pi, A_CCOST + p] = ccost
                acc[pi, A_CPAID + p] = cpaid
                acc[pi, A_LCOST + p] = lcost
                acc[pi, A_LPAID + p] = lpaid
                acc[pi, A_BURDEN] = burden0
            else:
                dedc = rest = hifp = hifob = acct = mul = oop = ratio = 0
        if st != 0 and first_bad < 0:
            first_bad = i
        r_out["act_pay_dedc"] = dedc
        r_out["over_ceiling"] = rest
        r_out["hifp_pay"] = hifp
        r_out["hifob_pay"] = hifob
        r_out["acct_pay"] = acct
        r_out["acct_mulaid_pay"] = mul
        r_out["oop_cap_pay"] = oop
        r_out["pool_ratio_bp"] = ratio
        r_out["status"] = st
    return first_bad


settle_kernel: Kernel = njit(cache=True)(_settle_kernel_py)
