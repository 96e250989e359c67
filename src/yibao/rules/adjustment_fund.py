"""The adjustment fund between pooling regions (调剂金), one year, to the fen.

Policy source: seed 000 §三(二) (and DOMAIN.md §9.2): a region whose employee pooled fund cannot
balance is helped by higher levels, "例如建立职工医保基金调剂金制度，或者采用中央财政补助的办法";
the other regions balance themselves. The seed gives the mechanism, not its numbers, so every
number here is a parameter of the scenario (:class:`AdjustmentRule`), never a policy fact:

1. **Levy (上解).** Each region pays ``levy_rate`` of its pooled-fund income of the year into the
   fund (rounded down to the fen).
2. **Need.** A region's balance before help is ``opening + income − levy − spending``; its need is
   what lifts that balance to its reserve, ``reserve_months`` of its own spending (0: to zero).
3. **Grants (下拨).** ``allocation = "deficit"``: the fund (what it carried plus this year's levies)
   meets every need, or, when it cannot, shares itself out in proportion to the needs; what is left
   is carried to next year. ``allocation = "retirees"``: the whole fund is shared out in
   proportion to each region's retirees, the way the pension scheme's central adjustment fund pays
   a per-retiree amount (an analogy the scenario chooses, not a medical-insurance rule).
4. **Central subsidy (中央财政补助).** With ``central_subsidy`` on, what a region still needs after
   its grant is paid from outside the funds and counted as the subsidy's cost.

Money is integer fen; shares are apportioned by the largest-remainder method, so the levies equal
the grants plus the change in the fund's balance exactly, and no region's fen is lost or made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError

__all__ = ["ALLOCATIONS", "AdjustmentRule", "AdjustmentYear", "adjust_year", "apportion"]

I64 = npt.NDArray[np.int64]
ALLOCATIONS: Final = ("deficit", "retirees")
_PPM: Final = 1_000_000  # levy rates and reserve months are carried as integers of this scale


@dataclass(frozen=True)
class AdjustmentRule:
    """The scenario's adjustment fund: how much each region pays in and how the fund pays out."""

    levy_rate: float = 0.0  # share of each region's pooled income, 0 ≤ rate ≤ 1
    allocation: Literal["deficit", "retirees"] = "deficit"
    reserve_months: float = 0.0  # a region is helped up to this many months of its own spending
    central_subsidy: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.levy_rate <= 1:
            raise InputError("levy_rate", self.levy_rate, "应在 0 到 1 之间", "must be between 0 and 1")
        if self.allocation not in ALLOCATIONS:
            raise InputError(
                "allocation",
                self.allocation,
                f"应为 {' 或 '.join(ALLOCATIONS)}",
                f"must be one of {ALLOCATIONS}",
            )
        if not 0 <= self.reserve_months <= 120:
            raise InputError("reserve_months", self.reserve_months, "应在 0 到 120 之间", "must be 0–120")


@dataclass(frozen=True)
class AdjustmentYear:
    """One year's flows per region (fen) and the fund's balance after it."""

    levy: I64
    need: I64
    grant: I64
    central: I64
    closing: I64  # each region's pooled balance at the year's end, with the fund's help
    fund_closing: int


def apportion(total: int, weights: npt.ArrayLike) -> I64:
    """``total`` fen split in proportion to non-negative integer ``weights``, summing exactly to
    ``total`` (largest remainder; equal remainders go to the earlier region). All-zero weights
    receive nothing, and then the result sums to 0."""
    w = [int(x) for x in np.asarray(weights).ravel()]
    if total < 0 or any(x < 0 for x in w):
        raise InputError("weights", w, "份额与总额不能为负", "total and weights must not be negative")
    s = sum(w)
    if s == 0 or total == 0:
        return np.zeros(len(w), np.int64)
    # Python integers: fen totals times fen weights overflow int64
    floors = [total * x // s for x in w]
    rest = total - sum(floors)
    order = sorted(range(len(w)), key=lambda i: (-(total * w[i] % s), i))
    for i in order[:rest]:
        floors[i] += 1
    return np.array(floors, dtype=np.int64)


def _times(x: I64, numerator: int, denominator: int) -> I64:
    """``x × numerator // denominator`` in Python integers: a region's yearly income in fen (10¹³
    and more) times a rate in millionths overflows int64."""
    return np.array([int(v) * numerator // denominator for v in x.tolist()], dtype=np.int64)


def adjust_year(
    rule: AdjustmentRule,
    opening: npt.ArrayLike,
    income: npt.ArrayLike,
    spending: npt.ArrayLike,
    retirees: npt.ArrayLike,
    fund_opening: int = 0,
) -> AdjustmentYear:
    """The fund's year over the regions (arrays of equal length, fen; retirees in persons)."""
    o, inc, sp = (np.asarray(x, dtype=np.int64) for x in (opening, income, spending))
    ret = np.rint(np.asarray(retirees, dtype=np.float64)).astype(np.int64)
    if not (o.shape == inc.shape == sp.shape == ret.shape) or o.ndim != 1:
        raise InputError(
            "regions", o.shape, "各地区数组长度应一致", "every region array must have the same length"
        )
    for name, x in (("income", inc), ("spending", sp), ("retirees", ret)):
        if (x < 0).any():
            i = int(np.argmax(x < 0))
            raise InputError(f"{name}[{i}]", int(x[i]), "不能为负", "must not be negative")
    if fund_opening < 0:
        raise InputError("fund_opening", fund_opening, "不能为负", "must not be negative")
    levy = _times(inc, round(rule.levy_rate * _PPM), _PPM)
    before = o + inc - levy - sp
    reserve = _times(sp, round(rule.reserve_months * _PPM), 12 * _PPM)
    need = np.maximum(reserve - before, 0)
    available = fund_opening + int(levy.sum())
    if rule.allocation == "deficit":
        grant = need.copy() if available >= int(need.sum()) else apportion(available, need)
    else:
        grant = apportion(available, ret)
    central = np.maximum(need - grant, 0) if rule.central_subsidy else np.zeros_like(need)
    return AdjustmentYear(
        levy=levy,
        need=need,
        grant=grant,
        central=central,
        closing=before + grant + central,
        fund_closing=available - int(grant.sum()),
    )
