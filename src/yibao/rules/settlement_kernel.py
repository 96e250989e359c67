"""The settlement kernel: one numba pass over int64 fen columns, with benefit-year accumulators.

The rule it implements is documented in :mod:`yibao.rules.settlement`; this module holds the
loop only. Per row it loads the person's accumulators into a scratch vector, settles the claim
there, and writes them back only if the claim succeeded, so a claim that needs an unknown
parameter (or is inconsistent) changes nothing. Nothing is allocated inside the loop. With a
non-empty trace buffer each row also records its steps (same code path) for the explanation.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

__all__ = [
    "ACC_COLUMNS",
    "NACC",
    "NOUT",
    "OUT_COLUMNS",
    "PKEYS",
    "STATUS_INCONSISTENT",
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

# -- output columns (per claim) -------------------------------------------------------------------
(O_INSCP, O_DED, O_COINS, O_OVERC, O_HIFP, O_HIFOB, O_ACCT, O_MULAID, O_CASH, O_OOP, O_RATIO,
 O_STATUS) = range(12)
NOUT: Final = 12
OUT_COLUMNS: Final[tuple[str, ...]] = (
    "inscp_scp_amt", "act_pay_dedc", "coinsurance", "over_ceiling", "hifp_pay", "hifob_pay",
    "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "oop_cap_pay", "pool_ratio_bp", "status")

# -- trace: steps × fields ------------------------------------------------------------------------
TRACE_STEPS: Final = 24
TRACE_FIELDS: Final[tuple[str, ...]] = ("type", "band", "cost", "ratio", "ratio_adj", "share",
                                        "pay", "pos", "bind")
T_YEAR, T_DED, T_BAND, T_CEIL, T_LARGE, T_OVERC, T_OOP = 1, 2, 3, 4, 5, 6, 7

# -- status codes --------------------------------------------------------------------------------
STATUS_INCONSISTENT: Final = 1  # fee components exceed the total
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


@njit(cache=True, inline="always")
def _unknown(pkey: int, kind: int, band: int, c: int, lv: int) -> int:
    return STATUS_UNKNOWN_BASE + ((((pkey * 2 + kind) * 8 + band) * 8 + c) * 8 + lv)


@njit(cache=True, inline="always")
def _pay(cost: int, rs: int, unit: int, mode: int) -> int:
    """round(cost × rs / 10^8) to the rounding unit; rs = ratio bp × share bp."""
    num = cost * rs
    den = RATIO_DEN * unit
    if mode == 0:
        q = (2 * num + den) // (2 * den)
    elif mode == 1:
        q = (num + den - 1) // den
    else:
        q = num // den
    return q * unit


@njit(cache=True, inline="always")
def _cost_for(room: int, rs: int) -> int:
    """The cost that pays exactly ``room`` at ``rs``: ceil(room × 10^8 / rs)."""
    return (room * RATIO_DEN + rs - 1) // rs


@njit(cache=True, inline="always")
def _rec(tr: np.ndarray, i: int, n: int, typ: int, band: int, cost: int, ratio: int, ra: int,
         share: int, pay: int, pos: int, bind: int) -> int:
    if tr.shape[0] == 0 or n >= tr.shape[1]:
        return n
    row = tr[i, n]
    row[0], row[1], row[2], row[3], row[4] = typ, band, cost, ratio, ra
    row[5], row[6], row[7], row[8] = share, pay, pos, bind
    return n + 1


@njit(cache=True)
def _walk(i, q, k, c, lv, red, sh, rest, cpos, s, p, unit, mode, n_bands, band_upto, band_ratio,  # type: ignore[no-untyped-def]
          band_basis, ceiling, ceil_basis, large_ratio, large_ceiling, large_basis, o, tr, nt):
    """Pooled bands, then the large-amount segment; returns (status, rest, trace count)."""
    nb = n_bands[q, k]
    if nb < 0:
        return _unknown(4, k, 0, 0, 0), rest, nt
    bb = band_basis[q, k]
    if bb < 0:
        return _unknown(6, k, 0, 0, 0), rest, nt
    owner = p  # the pool's ceiling: pool 0 is the inpatient ceiling
    ceil = ceiling[q, owner, c]
    if ceil < 0:
        return _unknown(7, owner, 0, c, 0), rest, nt
    cb = ceil_basis[q, owner]
    if cb < 0:
        return _unknown(8, owner, 0, 0, 0), rest, nt
    while rest > 0:
        croom_cost = ceil - s[A_CCOST + p] if cb == 0 else NO_LIMIT
        croom_pay = ceil - s[A_CPAID + p] if cb == 1 else NO_LIMIT
        if croom_cost <= 0 or croom_pay <= 0:
            nt = _rec(tr, i, nt, T_CEIL, 0, ceil, 0, 0, 0, 0, s[A_CCOST + p + 2 * cb], cb)
            break
        m = cpos if bb == 0 else s[A_PAID + k]
        b = 0
        while b < nb - 1 and band_upto[q, k, b] <= m:
            b += 1
        upto = band_upto[q, k, b]
        if m >= upto:  # past the last, closed band: the pooled segment ends here
            break
        r = band_ratio[q, k, b, c, lv]
        if r < 0:
            return _unknown(5, k, b, c, lv), rest, nt
        ra = max(0, r - red)
        rs = ra * sh
        chunk = rest
        proom = croom_pay
        if bb == 0:
            chunk = min(chunk, upto - m)
        else:
            proom = min(proom, upto - m)
        chunk = min(chunk, croom_cost)
        pay = _pay(chunk, rs, unit, mode)
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
        s[A_CCOST + p] += chunk
        s[A_CPAID + p] += pay
        s[A_PAID + k] += pay
        o[O_HIFP] += pay
        o[O_COINS] += chunk - pay
        o[O_RATIO] = rs // 10_000
    if rest > 0:
        lr = large_ratio[q, k, c]
        if lr < 0:
            return _unknown(10, k, 0, c, 0), rest, nt
        lc = large_ceiling[q, k, c]
        if lc < 0:
            return _unknown(11, k, 0, c, 0), rest, nt
        lb = large_basis[q, k]
        if lb < 0:
            return _unknown(12, k, 0, 0, 0), rest, nt
        ra = max(0, lr - red)
        rs = ra * sh
        room_cost = lc - s[A_LCOST + p] if lb == 0 else NO_LIMIT
        room_pay = lc - s[A_LPAID + p] if lb == 1 else NO_LIMIT
        if room_cost > 0 and room_pay > 0:
            chunk = min(rest, room_cost)
            pay = _pay(chunk, rs, unit, mode)
            bind = 3 if chunk == room_cost else 0
            if pay > room_pay:
                pay = room_pay
                chunk = min(chunk, _cost_for(room_pay, rs))
                bind = 3
            nt = _rec(tr, i, nt, T_LARGE, 0, chunk, lr, ra, sh, pay,
                      s[A_LCOST + p] if lb == 0 else s[A_LPAID + p], bind)
            rest -= chunk
            s[A_LCOST + p] += chunk
            s[A_LPAID + p] += pay
            o[O_HIFOB] += pay
            o[O_COINS] += chunk - pay
    return 0, rest, nt


@njit(cache=True)
def _settle_row(i, q, k, c, lv, rem, sh, total, ful, over, pre, bal, mbal, s, o, tr,  # type: ignore[no-untyped-def]
                ded_scope, deductible, n_bands, band_upto, band_ratio, band_basis, ceiling,
                ceil_basis, shared, large_ratio, large_ceiling, large_basis, account_mask,
                oop_cap, round_unit, round_mode, remote_reduction):
    """Settle one claim on the scratch accumulators ``s`` into ``o``; returns the status."""
    for j in range(NOUT):
        o[j] = 0
    inscp = total - ful - over - pre
    if inscp < 0:
        return STATUS_INCONSISTENT
    o[O_INSCP] = inscp
    p = 0
    if k == 1:
        if shared[q, 1] < 0:
            return _unknown(9, 1, 0, 0, 0)
        p = 0 if shared[q, 1] == 1 else 1
    unit = round_unit[q]
    mode = round_mode[q]
    if unit <= 0:
        return _unknown(16, 0, 0, 0, 0)
    nt = _rec(tr, i, 0, T_YEAR, 0, s[A_VISITS + k] + 1, 0, 0, 0, 0, s[A_DED + k], 0)
    # -- deductible (起付线) -------------------------------------------------------------------
    dedc = 0
    if inscp > 0:
        scope = ded_scope[q, k]
        if scope < 0:
            return _unknown(0, k, 0, 0, 0)
        t = 0 if scope == 1 else min(s[A_VISITS + k], 2)
        d = deductible[q, k, t, c, lv]
        if d < 0:
            return _unknown(1 + t, k, 0, c, lv)
        left = d if scope == 0 else max(0, d - s[A_DED + k])
        dedc = min(inscp, left)
        nt = _rec(tr, i, nt, T_DED, t, dedc, d, scope, 0, 0, s[A_DED + k], 0)
    o[O_DED] = dedc
    s[A_VISITS + k] += 1
    s[A_DED + k] += dedc
    ccost0 = s[A_CCOST + p]
    s[A_CCOST + p] += dedc
    rest = inscp - dedc
    if rest > 0:
        red = remote_reduction[q, rem]
        if red < 0:
            return _unknown(13 + rem, 0, 0, 0, 0)
        st, rest, nt = _walk(i, q, k, c, lv, red, sh, rest, s[A_COST + k] + dedc, s, p, unit,
                             mode, n_bands, band_upto, band_ratio, band_basis, ceiling,
                             ceil_basis, large_ratio, large_ceiling, large_basis, o, tr, nt)
        if st != 0:
            return st
    s[A_COST + k] += inscp
    s[A_CCOST + p] = ccost0 + inscp
    o[O_OVERC] = rest
    if rest > 0:
        nt = _rec(tr, i, nt, T_OVERC, 0, rest, 0, 0, 0, 0, 0, 0)
    # -- personal out-of-pocket cap (个人负担封顶, seed 000 proposal) -----------------------------
    burden = dedc + o[O_COINS] + rest
    cap = oop_cap[q]
    oop = 0
    if cap != NO_LIMIT and burden > 0:
        if cap < 0:
            return _unknown(13, 0, 0, 0, 0)
        excess = s[A_BURDEN] + burden - cap
        if excess > 0:
            oop = min(burden, excess)
            nt = _rec(tr, i, nt, T_OOP, 0, burden, 0, 0, 0, oop, s[A_BURDEN], cap)
    s[A_BURDEN] += burden - oop
    o[O_OOP] = oop
    o[O_HIFP] += oop
    # the fund takes the latest-arising burden first: over-ceiling, then coinsurance, then deductible
    part_overc = rest - min(rest, oop)
    left_oop = oop - (rest - part_overc)
    part_coins = o[O_COINS] - min(o[O_COINS], left_oop)
    left_oop -= o[O_COINS] - part_coins
    part_ded = dedc - left_oop
    # -- account (个人账户) and family mutual aid (家庭共济) ----------------------------------------
    mask = account_mask[q]
    if mask < 0:
        return _unknown(17, 0, 0, 0, 0)
    parts = (part_ded, part_coins, pre, part_overc, over, ful)
    payable = 0
    for j in range(6):
        if (mask >> j) & 1:
            payable += parts[j]
    psn = total - o[O_HIFP] - o[O_HIFOB]
    acct = min(payable, bal)
    mul = min(payable - acct, mbal)
    o[O_ACCT] = acct
    o[O_MULAID] = mul
    o[O_CASH] = psn - acct - mul
    return 0


@njit(cache=True)
def settle_kernel(psn, prm, year, kind, cls, lvl, remote, share, total, ful, over, pre,  # type: ignore[no-untyped-def]
                  acct_bal, mulaid_bal, acc, out, tr,
                  ded_scope, deductible, n_bands, band_upto, band_ratio, band_basis, ceiling,
                  ceil_basis, shared, large_ratio, large_ceiling, large_basis, account_mask,
                  oop_cap, round_unit, round_mode, remote_reduction):
    """Settle every row in order against ``acc`` (P × NACC), writing ``out`` (n × NOUT)."""
    s = np.zeros(NACC, dtype=np.int64)
    o = np.zeros(NOUT, dtype=np.int64)
    for i in range(psn.shape[0]):
        pi = psn[i]
        if acc[pi, A_YEAR] == year[i]:
            for j in range(NACC):
                s[j] = acc[pi, j]
        else:  # a new benefit year (医保年度): the accumulators start again
            for j in range(NACC):
                s[j] = 0
            s[A_YEAR] = year[i]
        st = _settle_row(i, prm[i], kind[i], cls[i], lvl[i], remote[i], share[i], total[i],
                         ful[i], over[i], pre[i], acct_bal[i], mulaid_bal[i], s, o, tr,
                         ded_scope, deductible, n_bands, band_upto, band_ratio, band_basis,
                         ceiling, ceil_basis, shared, large_ratio, large_ceiling, large_basis,
                         account_mask, oop_cap, round_unit, round_mode, remote_reduction)
        if st == 0:
            for j in range(NACC):
                acc[pi, j] = s[j]
            for j in range(NOUT):
                out[i, j] = o[j]
        else:
            for j in range(NOUT):
                out[i, j] = 0
        out[i, O_STATUS] = st
