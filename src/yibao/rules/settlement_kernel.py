"""The settlement kernel: one numba pass over int64 fen columns, with benefit-year accumulators.

The rule it implements is documented in :mod:`yibao.rules.settlement`; this module holds the
loop only. Per row it checks the input (indexes, amounts, share), loads the person's
accumulators into a scratch vector, settles the claim there, and writes them back only if the
claim succeeded, so a claim that is bad or needs an unknown parameter changes nothing (its
``status`` says why). Nothing is allocated inside the loop, and the row is written out in one
fused body: calling a helper with dozens of array arguments per row cost ten times the rule
itself (reference counting), measured. With a non-empty trace buffer each row also records its
steps (same code path) for the explanation.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

__all__ = [
    "ACC_COLUMNS",
    "MAX_AMOUNT_FEN",
    "NACC",
    "NOUT",
    "OUT_COLUMNS",
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
def settle_kernel(psn, prm, year, kind, cls, lvl, remote, share, total, ful, over, pre,  # type: ignore[no-untyped-def]
                  acct_bal, mulaid_bal, acc, out, tr,
                  ded_scope, deductible, n_bands, band_upto, band_ratio, band_basis, ceiling,
                  ceil_basis, shared, large_ratio, large_ceiling, large_basis, account_mask,
                  oop_cap, round_unit, round_mode, remote_reduction):
    """Settle every row in order against ``acc`` (P × NACC), writing ``out`` (n × NOUT).

    One fused loop: per-row helper calls with dozens of array arguments cost more than the rule
    itself (reference counting), so the row is written out here; ``st`` carries an error out of
    the one-pass ``for _ in range(1)`` block, after which nothing is committed.
    """
    s = np.zeros(NACC, dtype=np.int64)
    o = np.zeros(NOUT, dtype=np.int64)
    n_psn, n_prm = acc.shape[0], ded_scope.shape[0]
    n_cls, n_lvl = deductible.shape[3], deductible.shape[4]
    for i in range(psn.shape[0]):
        for j in range(NOUT):
            o[j] = 0
        # -- checks first: a bad row is reported by status and touches nothing ----------------
        pi, q, k, c, lv, rem = psn[i], prm[i], kind[i], cls[i], lvl[i], remote[i]
        if (pi < 0 or pi >= n_psn or q < 0 or q >= n_prm or k < 0 or k > 1 or c < 0
                or c >= n_cls or lv < 0 or lv >= n_lvl or rem < 0 or rem > 2):
            st = STATUS_BAD_INDEX
        elif share[i] < 0 or share[i] > 10_000:
            st = STATUS_BAD_SHARE
        elif (total[i] < 0 or ful[i] < 0 or over[i] < 0 or pre[i] < 0 or acct_bal[i] < 0
              or mulaid_bal[i] < 0):
            st = STATUS_NEGATIVE
        elif (total[i] > MAX_AMOUNT_FEN or ful[i] > MAX_AMOUNT_FEN or over[i] > MAX_AMOUNT_FEN
              or pre[i] > MAX_AMOUNT_FEN or acct_bal[i] > MAX_AMOUNT_FEN
              or mulaid_bal[i] > MAX_AMOUNT_FEN):
            st = STATUS_TOO_LARGE
        else:
            st = 0
        if st != 0:
            for j in range(NOUT):
                out[i, j] = 0
            out[i, O_STATUS] = st
            continue
        if acc[pi, A_YEAR] == year[i]:
            for j in range(NACC):
                s[j] = acc[pi, j]
        else:  # a new benefit year (医保年度): the accumulators start again
            for j in range(NACC):
                s[j] = 0
            s[A_YEAR] = year[i]
        sh = share[i]
        last_rs = 0
        for _ in range(1):
            inscp = total[i] - ful[i] - over[i] - pre[i]
            if inscp < 0:
                st = STATUS_INCONSISTENT
                break
            o[O_INSCP] = inscp
            p = 0
            if k == 1:
                if shared[q, 1] < 0:
                    st = _unknown(9, 1, 0, 0, 0)
                    break
                p = 0 if shared[q, 1] == 1 else 1
            unit = round_unit[q]
            mode = round_mode[q]
            if unit <= 0:
                st = _unknown(16, 0, 0, 0, 0)
                break
            nt = _rec(tr, i, 0, T_YEAR, 0, s[A_VISITS + k] + 1, 0, 0, 0, 0, s[A_DED + k], 0)
            # -- deductible (起付线) -------------------------------------------------------------
            dedc = 0
            if inscp > 0:
                scope = ded_scope[q, k]
                if scope < 0:
                    st = _unknown(0, k, 0, 0, 0)
                    break
                t = 0 if scope == 1 else min(s[A_VISITS + k], 2)
                d = deductible[q, k, t, c, lv]
                if d < 0:
                    st = _unknown(1 + t, k, 0, c, lv)
                    break
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
                    st = _unknown(13 + rem, 0, 0, 0, 0)
                    break
                # -- pooled bands (分段) up to the pooled ceiling (封顶线) -------------------------
                nb = n_bands[q, k]
                if nb < 0:
                    st = _unknown(4, k, 0, 0, 0)
                    break
                bb = band_basis[q, k]
                if bb < 0:
                    st = _unknown(6, k, 0, 0, 0)
                    break
                ceil = ceiling[q, p, c]  # pool 0 is the inpatient ceiling
                if ceil < 0:
                    st = _unknown(7, p, 0, c, 0)
                    break
                cb = ceil_basis[q, p]
                if cb < 0:
                    st = _unknown(8, p, 0, 0, 0)
                    break
                cpos = s[A_COST + k] + dedc
                while rest > 0:
                    croom_cost = ceil - s[A_CCOST + p] if cb == 0 else NO_LIMIT
                    croom_pay = ceil - s[A_CPAID + p] if cb == 1 else NO_LIMIT
                    if croom_cost <= 0 or croom_pay <= 0:
                        nt = _rec(tr, i, nt, T_CEIL, 0, ceil, 0, 0, 0, 0,
                                  s[A_CCOST + p + 2 * cb], cb)
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
                    last_rs = rs
                if st != 0:
                    break
                # -- large-amount segment (大额) above the ceiling --------------------------------
                if rest > 0:
                    lr = large_ratio[q, k, c]
                    if lr < 0:
                        st = _unknown(10, k, 0, c, 0)
                        break
                    lc = large_ceiling[q, k, c]
                    if lc < 0:
                        st = _unknown(11, k, 0, c, 0)
                        break
                    lb = large_basis[q, k]
                    if lb < 0:
                        st = _unknown(12, k, 0, 0, 0)
                        break
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
            s[A_COST + k] += inscp
            s[A_CCOST + p] = ccost0 + inscp
            o[O_OVERC] = rest
            if rest > 0:
                nt = _rec(tr, i, nt, T_OVERC, 0, rest, 0, 0, 0, 0, 0, 0)
            # -- personal out-of-pocket cap (个人负担封顶, seed 000 proposal) -----------------------
            burden = dedc + o[O_COINS] + rest
            cap = oop_cap[q]
            oop = 0
            if cap != NO_LIMIT and burden > 0:
                if cap < 0:
                    st = _unknown(13, 0, 0, 0, 0)
                    break
                excess = s[A_BURDEN] + burden - cap
                if excess > 0:
                    oop = min(burden, excess)
                    nt = _rec(tr, i, nt, T_OOP, 0, burden, 0, 0, 0, oop, s[A_BURDEN], cap)
            s[A_BURDEN] += burden - oop
            o[O_OOP] = oop
            o[O_HIFP] += oop
            # the fund takes the latest-arising burden first: over-ceiling, coinsurance, deductible
            part_overc = rest - min(rest, oop)
            left_oop = oop - (rest - part_overc)
            part_coins = o[O_COINS] - min(o[O_COINS], left_oop)
            left_oop -= o[O_COINS] - part_coins
            part_ded = dedc - left_oop
            # -- account (个人账户) and family mutual aid (家庭共济) ------------------------------
            mask = account_mask[q]
            if mask < 0:
                st = _unknown(17, 0, 0, 0, 0)
                break
            payable = 0
            if mask & 1:
                payable += part_ded
            if mask & 2:
                payable += part_coins
            if mask & 4:
                payable += pre[i]
            if mask & 8:
                payable += part_overc
            if mask & 16:
                payable += over[i]
            if mask & 32:
                payable += ful[i]
            psn_part = total[i] - o[O_HIFP] - o[O_HIFOB]
            acct = min(payable, acct_bal[i])
            mul = min(payable - acct, mulaid_bal[i])
            o[O_ACCT] = acct
            o[O_MULAID] = mul
            o[O_CASH] = psn_part - acct - mul
            o[O_RATIO] = last_rs // 10_000
        if st == 0:
            for j in range(NACC):
                acc[pi, j] = s[j]
            for j in range(NOUT):
                out[i, j] = o[j]
        else:
            for j in range(NOUT):
                out[i, j] = 0
        out[i, O_STATUS] = st
