"""Turning the settlement kernel's trace of one claim into an Explanation, in Chinese and English.

The kernel records each step it took (deductible, each band chunk, ceiling, large-amount chunk,
over-ceiling cost, out-of-pocket cap) with the numbers it used; this module only words them and
attaches the parameters (value, source, effective date) through :func:`param_use`. There is no
second calculation here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from yibao.money import fen_to_yuan_str as y
from yibao.money import rate_bp_to_str as pct
from yibao.policy.resolve import Snapshot
from yibao.policy.values import Band
from yibao.rules.explain import Explanation, ParamUse, Step, param_use
from yibao.rules.settlement_kernel import (
    NO_LIMIT,
    T_ACCT,
    T_BAND,
    T_CEIL,
    T_DED,
    T_LARGE,
    T_OOP,
    T_OVERC,
    T_YEAR,
)

if TYPE_CHECKING:
    from yibao.rules.settlement import Claim

__all__ = ["explain_claim"]

_KIND_ZH = {"inpatient": "住院", "outpatient": "门诊"}
_NTH = ("first", "second", "third_plus")
_BASIS_ZH = {0: "累计政策范围内费用", 1: "累计统筹基金支付"}
_BASIS_EN = {0: "cumulative in-scope cost", 1: "cumulative pooled payment"}

# Why a chunk ended (the kernel's trace ``bind``): the band's end, the pooled ceiling, or the
# large-amount limit.
_BIND_TEXT: dict[int, str] = {
    1: "（至本段上限）/ (to the end of the band)",
    2: "（统筹基金封顶线所限）/ (the pooled ceiling binds)",
    3: "（大额限额所限）/ (the large-amount limit binds)",
}


def _ratio_text(ratio: int, ra: int, share: int) -> str:
    text = pct(ratio)
    if ra != ratio:
        text = f"({pct(ratio)} − {pct(ratio - ra)} = {pct(ra)})"
    if share != 10_000:
        text = f"{text} × {pct(share)}"
    return text


def _bands(snap: Snapshot, k: str) -> tuple[Band, ...]:
    bands = snap[f"{k}.bands"].value
    assert isinstance(bands, tuple)
    return bands


def _remote_params(snap: Snapshot, claim: Claim) -> list[ParamUse]:
    if claim.remote == "local":
        return []
    return [param_use(snap, f"remote.{claim.remote}_ratio_reduction")]


def explain_claim(snap: Snapshot, claim: Claim, preselfpay: int, amounts: dict[str, int],
                  trace: npt.NDArray[np.int64]) -> Explanation:
    """The explanation of one settled claim from its trace rows (see the module docstring)."""
    kind, cls, lv = claim.kind, claim.benefit_class, claim.level
    k = f"settlement.{kind}"
    ex = Explanation(f"{snap.policy.label} {snap.date} {_KIND_ZH[kind]}结算（{cls}，{lv}）",
                     f"{snap.policy.label} {snap.date} {kind} settlement ({cls}, {lv})")
    pre_params = ([param_use(snap, "settlement.category_b_first_self_pay")]
                  if claim.preselfpay_fen is None and claim.category_b_fen is not None else [])
    ex.add(Step("政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付",
                "in-scope amount = total − full self-pay − over-limit − category-B first self-pay",
                f"{y(claim.total_fen)} − {y(claim.full_self_pay_fen)} − {y(claim.over_limit_fen)}"
                f" − {y(preselfpay)}", amounts["inscp_scp_amt"], tuple(pre_params)))
    payable_fen: int | None = None  # what the account could pay (the kernel's T_ACCT record)
    for row in trace:
        typ, band, cost, ratio, ra, share, pay, pos, bind = (int(x) for x in row)
        if typ == 0:
            break
        if typ == T_ACCT:
            payable_fen = cost
        if typ == T_YEAR:
            ex.add(Step(f"本医保年度第 {cost} 次{_KIND_ZH[kind]}；此前已付起付线 {y(pos)}",
                        f"{kind} claim no. {cost} of the benefit year; deductible used before "
                        f"{y(pos)}", "-", None, (param_use(snap, "benefit_year.start"),)))
        elif typ == T_DED:
            key = f"{k}.deductible.{_NTH[band]}"
            use: tuple[ParamUse, ...] = (param_use(snap, key, f"{y(ratio)} 元/yuan [{cls}][{lv}]"),
                   param_use(snap, f"{k}.deductible.scope"))
            arith = f"min({y(amounts['inscp_scp_amt'])}, {y(ratio)})" if ra == 0 else \
                f"min({y(amounts['inscp_scp_amt'])}, {y(ratio)} − {y(pos)})"
            ex.add(Step("起付线（个人自付）", "deductible (paid by the member)", arith, cost, use))
        elif typ == T_BAND:
            upto_fen = _bands(snap, k)[band].upto_fen
            upto = "∞" if upto_fen is None else y(upto_fen)
            bb = 0 if snap[f"{k}.band_basis"].value == "cost" else 1
            use = (param_use(snap, f"{k}.bands", f"[{band}] ≤ {upto}: {pct(ratio)} [{cls}][{lv}]"),
                   param_use(snap, f"{k}.band_basis"), *_remote_params(snap, claim))
            ex.add(Step(f"统筹基金第 {band + 1} 段（{_BASIS_ZH[bb]}自 {y(pos)} 起，至 {upto}）",
                        f"pooled fund, band {band + 1} ({_BASIS_EN[bb]} from {y(pos)} up to "
                        f"{upto})", f"{y(cost)} × {_ratio_text(ratio, ra, share)}"
                        + _BIND_TEXT.get(bind, ""), pay, use))
        elif typ == T_CEIL:
            owner = "inpatient" if kind == "inpatient" or snap.maybe(
                f"{k}.ceiling_shared_with_inpatient") is True else "outpatient"
            use = (param_use(snap, f"settlement.{owner}.pooled_ceiling",
                             f"{y(cost)} 元/yuan [{cls}]"),
                   param_use(snap, f"settlement.{owner}.ceiling_basis"))
            ex.add(Step(f"已达统筹基金年度封顶线（{_BASIS_ZH[bind]} {y(pos)}）",
                        f"pooled ceiling reached ({_BASIS_EN[bind]} {y(pos)})", "-", None, use))
        elif typ == T_LARGE:
            lc = snap.maybe(f"{k}.large_amount.ceiling")
            use = (param_use(snap, f"{k}.large_amount.ratio", f"{pct(ratio)} [{cls}]"),
                   param_use(snap, f"{k}.large_amount.ceiling",
                             "none" if not isinstance(lc, dict) or lc[cls] is None
                             else f"{y(lc[cls])} 元/yuan [{cls}]"), *_remote_params(snap, claim))
            ex.add(Step("大额（封顶线以上）", "large-amount segment (above the pooled ceiling)",
                        f"{y(cost)} × {_ratio_text(ratio, ra, share)}"
                        + _BIND_TEXT.get(bind, ""), pay, use))
        elif typ == T_OVERC:
            ex.add(Step("封顶线以上个人自付", "self-pay above the ceilings", y(cost), cost))
        elif typ == T_OOP:
            cap = "none" if bind == NO_LIMIT else y(bind)
            ex.add(Step(f"个人负担封顶：本年已负担 {y(pos)} + 本次 {y(cost)} 超过 {cap}，"
                        "超出部分由统筹基金支付",
                        f"personal out-of-pocket cap: {y(pos)} this year + {y(cost)} now exceeds "
                        f"{cap}; the pooled fund pays the excess", f"{y(pos)} + {y(cost)} − {cap}",
                        pay, (param_use(snap, "settlement.personal_oop_cap"),)))
    fund = amounts["hifp_pay"] + amounts["hifob_pay"]
    ex.add(Step("基金支付合计 = 统筹 + 大额", "fund payment = pooled + large-amount",
                f"{y(amounts['hifp_pay'])} + {y(amounts['hifob_pay'])}", fund))
    ex.add(Step("个人负担 = 总额 − 基金支付", "personal share = total − fund payment",
                f"{y(claim.total_fen)} − {y(fund)}", claim.total_fen - fund))
    # the trace records what the account could pay; only a claim whose trace ran out of room
    # (TRACE_STEPS) lacks the record, and then the balance alone is shown
    payable = "…" if payable_fen is None else y(payable_fen)
    ex.add(Step("个人账户支付 = min(账户可付部分, 余额)", "account pays min(payable parts, balance)",
                f"min({payable}, {y(claim.account_balance_fen)})", amounts["acct_pay"],
                (param_use(snap, "settlement.account_pays"),)))
    if amounts["acct_mulaid_pay"]:
        rest = "…" if payable_fen is None else y(payable_fen - amounts["acct_pay"])
        ex.add(Step("家庭共济账户支付 = min(账户未付部分, 共济余额)",
                    "family mutual-aid account pays min(the part the account did not pay, its "
                    "balance)", f"min({rest}, {y(claim.mulaid_balance_fen)})",
                    amounts["acct_mulaid_pay"]))
    ex.add(Step("个人现金支付", "cash paid by the member",
                f"{y(claim.total_fen - fund)} − {y(amounts['acct_pay'])} − "
                f"{y(amounts['acct_mulaid_pay'])}", amounts["psn_cash_pay"]))
    return ex
