"""Retirement transition (在职转退休): minimum years, local years, arrears block, shortfall payment.

The rule (DOMAIN.md §6; Social Insurance Law art. 27 leaves the numbers to regions)::

    qualifying = actual + (deemed if retirement.deemed_years_count) + recognised transferred
    eligible   = qualifying ≥ min_years[sex] × 12 and local_actual ≥ min_local_actual_years × 12
                 and unit_arrears == 0                          # 补一退一 (seed 002)
    shortfall  = max(min_years × 12 − qualifying, min_local × 12 − local_actual)   months
    payment    = shortfall × round(round(average_wage × shortfall.base_share) × shortfall.rate)

Changsha: men 30, women 25 years including 10 actually paid in the province; service before
2003-01-01 counts as deemed years (PD changsha). Beijing: 25 / 20 (PD beijing). The lump-sum
formula's parameters are unknown in every shipped region (no source gives them): the calculator
exists and the data says what is missing. Months are whole months; the monthly shortfall amount is
rounded by ``contribution.base_rounding`` / ``amount_rounding`` like a contribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError
from yibao.money import BP, Rounding, fen_to_yuan_str
from yibao.policy.resolve import Snapshot
from yibao.rules.explain import Explanation, Step, param_use

__all__ = ["RetirementColumns", "RetirementReason", "assess_retirement", "explain_retirement"]

IntArray = npt.NDArray[np.int64]
SEXES = ("male", "female")


class RetirementReason(IntEnum):
    eligible = 0
    short_of_years = 1
    short_of_local_years = 2
    unit_arrears = 3  # 补一退一: the unit's arrears must be cleared first


@dataclass(frozen=True)
class RetirementColumns:
    qualifying_months: IntArray
    required_months: IntArray
    local_required_months: IntArray
    shortfall_months: IntArray
    eligible: npt.NDArray[np.bool_]
    reason: npt.NDArray[np.int8]
    shortfall_payment_fen: IntArray
    keys: tuple[str, ...]


def _col(x: npt.ArrayLike, n: int, name: str) -> IntArray:
    a = np.atleast_1d(np.asarray(x, dtype=np.int64))
    if a.shape != (n,):
        raise InputError(name, a.shape, f"长度应为 {n}", f"expected length {n}")
    if n and int(a.min()) < 0:
        raise InputError(name, int(a.min()), "应为非负整数（月）", "must be a whole number of months ≥ 0")
    return a


def assess_retirement(snap: Snapshot, sex: npt.ArrayLike, actual_months: npt.ArrayLike,
                      deemed_months: npt.ArrayLike, transferred_months: npt.ArrayLike,
                      local_actual_months: npt.ArrayLike, unit_arrears_fen: npt.ArrayLike,
                      price_shortfall: bool = False) -> RetirementColumns:
    """Check n people at retirement; ``sex`` 0 = male, 1 = female (index into ``SEXES``).

    With ``price_shortfall`` the one-off payment for any shortfall is computed too, which needs
    ``retirement.shortfall.*`` (unknown in every shipped region); without it those are not read.
    """
    sx = np.atleast_1d(np.asarray(sex, dtype=np.int64))
    n = sx.shape[0]
    if n and (int(sx.min()) < 0 or int(sx.max()) > 1):
        raise InputError("sex", int(sx.max()), "应为 male 或 female（0/1）", "expected male or female (0/1)")
    actual = _col(actual_months, n, "actual_months")
    deemed = _col(deemed_months, n, "deemed_months")
    transferred = _col(transferred_months, n, "transferred_months")
    local = _col(local_actual_months, n, "local_actual_months")
    arrears = _col(unit_arrears_fen, n, "unit_arrears_fen")
    if n and bool((local > actual).any()):
        raise InputError("local_actual_months", int(local.max()), "不能超过 actual_months",
                         "cannot exceed actual_months")
    keys = ["retirement.min_years.male", "retirement.min_years.female",
            "retirement.min_local_actual_years", "retirement.deemed_years_count"]
    years = np.array([int(snap.get(keys[0])), int(snap.get(keys[1]))], dtype=np.int64)
    local_min = int(snap.get(keys[2])) * 12
    counts_deemed = bool(snap.get(keys[3])) if deemed.any() else False
    qualifying = actual + transferred + (deemed if counts_deemed else 0)
    required = years[sx] * 12
    local_required = np.full(n, local_min, dtype=np.int64)
    short_total = np.maximum(required - qualifying, 0)
    short_local = np.maximum(local_required - local, 0)
    shortfall = np.maximum(short_total, short_local)
    reason = np.where(short_total > 0, RetirementReason.short_of_years,
                      np.where(short_local > 0, RetirementReason.short_of_local_years,
                               np.where(arrears > 0, RetirementReason.unit_arrears,
                                        RetirementReason.eligible))).astype(np.int8)
    payment = np.zeros(n, dtype=np.int64)
    if price_shortfall and shortfall.any():
        mode = snap.get("retirement.shortfall.mode")
        keys.append("retirement.shortfall.mode")
        if mode == "lump_sum_payment":
            monthly, more = _monthly_shortfall_fen(snap)
            keys += more
            payment = shortfall * monthly
    return RetirementColumns(qualifying, required, local_required, shortfall, reason == 0, reason,
                             payment, tuple(keys))


def _monthly_shortfall_fen(snap: Snapshot) -> tuple[int, list[str]]:
    keys = ["contribution.average_wage_monthly", "retirement.shortfall.base_share",
            "retirement.shortfall.rate", "contribution.base_rounding", "contribution.amount_rounding"]
    base_r: Rounding = snap.get(keys[3])
    amount_r: Rounding = snap.get(keys[4])
    base = int(base_r.div(int(snap.get(keys[0])) * int(snap.get(keys[1])), BP))
    return int(amount_r.div(base * int(snap.get(keys[2])), BP)), keys


def explain_retirement(snap: Snapshot, cols: RetirementColumns, i: int) -> Explanation:
    """Explain row ``i``: years counted, years required, what is short and the payment."""
    ex = Explanation(f"{snap.region.name_zh} {snap.date} 退休医保待遇资格",
                     f"{snap.region.name_en} {snap.date} retirement entitlement")
    used = tuple(param_use(snap, k) for k in cols.keys)
    ex.add(Step("累计缴费月数（实际 + 视同（如计入）+ 认可的转入）",
                "qualifying months (actual + deemed if counted + recognised transferred)",
                f"{int(cols.qualifying_months[i])} / {int(cols.required_months[i])} required; local "
                f"minimum {int(cols.local_required_months[i])}", None, used))
    reason = RetirementReason(int(cols.reason[i]))
    zh = {0: "符合条件", 1: "缴费年限不足", 2: "本地实际缴费年限不足", 3: "单位欠费，须先补缴（补一退一）"}
    en = {0: "eligible", 1: "short of years", 2: "short of local years",
          3: "unit arrears must be cleared first (补一退一)"}
    ex.add(Step(f"结论：{zh[reason]}", f"result: {en[reason]}",
                f"shortfall {int(cols.shortfall_months[i])} months; payment "
                f"{fen_to_yuan_str(int(cols.shortfall_payment_fen[i]))}",
                int(cols.shortfall_payment_fen[i])))
    return ex
