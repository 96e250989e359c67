"""Benefit eligibility on a service month: waiting periods, gaps, back-payment, continuity.

The rule (DOMAIN.md §5):

- **New enrolment** waits ``eligibility.waiting.unit_months`` (unit employees) or
  ``.flexible_months`` (flexible workers) — seed 000: none, "pay this month, benefits next month",
  3/6/9 months, at most 12.
- **A gap of at most ``eligibility.backpay_max_gap_months``, back-paid** keeps continuity: benefits
  resume in the payment month and the gap is covered retroactively (基本医疗保险关系转移接续暂行办法,
  2021-11, PD national_rules relationship_transfer_and_gaps, high).
- **A longer gap that was back-paid** waits ``waiting.after_gap_backpaid_months``; **a gap not
  back-paid** waits ``waiting.after_gap_months`` (at most 6 from 2021-11). Fujian (PD
  other_regions_examples, high): 3 months and 6 months, both at 50%.
- **During a wait** the benefit share is ``waiting.reduced_share`` (0 = no benefits; Fujian 50%).
- **Benefit start** (``eligibility.benefit_start``): ``same_month`` counts the wait from the month
  cover starts, ``next_month`` one month later (当月缴费次月享受).

Months are integer indices ``year × 12 + month − 1``. Per person (vectorised): the service month,
the month the current spell of contributions started (``cover_start``), the last month paid
(``paid_through``, or a large number), the gap before the spell (−1 = first enrolment, 0 = none),
whether the gap was back-paid and whether the person is a flexible worker. Output per person:
eligible, ``benefit_share_bp`` (10000 / reduced / 0), a :class:`Reason`, the first month with any
benefit and the first with full benefit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError
from yibao.money import BP, rate_bp_to_str
from yibao.policy.resolve import Snapshot
from yibao.rules.explain import Explanation, Step, param_use

__all__ = ["EligibilityColumns", "Reason", "assess_eligibility", "explain_eligibility", "month_index"]

IntArray = npt.NDArray[np.int64]
FIRST_ENROLMENT = -1


class Reason(IntEnum):
    """Why a person is (not) entitled on the service month."""

    eligible = 0
    waiting_reduced = 1  # in a waiting period that pays a reduced share
    waiting = 2  # in a waiting period that pays nothing
    not_covered = 3  # before cover starts, or after the last month paid
    gap_not_backpaid = 4  # service in a gap that was not back-paid
    retroactive_backpaid = 5  # service in a short gap, covered once back-paid


REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.eligible: ("享受待遇", "entitled"),
    Reason.waiting_reduced: ("等待期内，按比例享受待遇", "in a waiting period at a reduced share"),
    Reason.waiting: ("等待期内，不享受待遇", "in a waiting period, no benefits"),
    Reason.not_covered: ("该月不在参保缴费期内", "the month is outside the period paid"),
    Reason.gap_not_backpaid: ("断保期间且未补缴", "in a gap that was not back-paid"),
    Reason.retroactive_backpaid: ("断保不超过可补缴月数且已补缴，追溯享受",
                                  "short gap back-paid: covered retroactively"),
}


def month_index(year: int, month: int) -> int:
    """``2024, 3`` → the integer month index used by the eligibility arrays."""
    return year * 12 + month - 1


@dataclass(frozen=True)
class EligibilityColumns:
    eligible: npt.NDArray[np.bool_]
    benefit_share_bp: IntArray
    reason: npt.NDArray[np.int8]
    benefit_start_month: IntArray
    full_benefit_month: IntArray
    waiting_months: IntArray
    keys: tuple[str, ...]


def _col(x: npt.ArrayLike, n: int | None, name: str) -> IntArray:
    a = np.atleast_1d(np.asarray(x, dtype=np.int64))
    if n is not None and a.shape != (n,):
        raise InputError(name, a.shape, f"长度应为 {n}", f"expected length {n}")
    return a


def assess_eligibility(snap: Snapshot, service_month: npt.ArrayLike, cover_start: npt.ArrayLike,
                       gap_months: npt.ArrayLike, gap_backpaid: npt.ArrayLike,
                       flexible: npt.ArrayLike, paid_through: npt.ArrayLike | None = None,
                       ) -> EligibilityColumns:
    """Eligibility of n people on their service months; parameters resolved only where needed."""
    svc = _col(service_month, None, "service_month")
    n = svc.shape[0]
    start = _col(cover_start, n, "cover_start")
    gap = _col(gap_months, n, "gap_months")
    backpaid = np.atleast_1d(np.asarray(gap_backpaid, dtype=np.bool_))
    flex = np.atleast_1d(np.asarray(flexible, dtype=np.bool_))
    last = (np.full(n, np.iinfo(np.int64).max, dtype=np.int64) if paid_through is None
            else _col(paid_through, n, "paid_through"))
    if n and int(gap.min()) < FIRST_ENROLMENT:
        raise InputError("gap_months", int(gap.min()), "应为 -1（首次参保）、0 或断保月数",
                         "expected -1 (first enrolment), 0 or the months of the gap")
    keys: list[str] = []
    has_gap = gap > 0
    max_gap = 0
    if has_gap.any():
        max_gap = int(snap.get("eligibility.backpay_max_gap_months"))
        keys.append("eligibility.backpay_max_gap_months")
    continuous = (gap == 0) | (has_gap & backpaid & (gap <= max_gap))
    wait = np.zeros(n, dtype=np.int64)
    cases = (
        ((gap == FIRST_ENROLMENT) & ~flex, "eligibility.waiting.unit_months"),
        ((gap == FIRST_ENROLMENT) & flex, "eligibility.waiting.flexible_months"),
        (has_gap & ~continuous & backpaid, "eligibility.waiting.after_gap_backpaid_months"),
        (has_gap & ~backpaid, "eligibility.waiting.after_gap_months"),
    )
    for mask, key in cases:
        if mask.any():
            wait[mask] = int(snap.get(key))
            keys.append(key)
    waits = ~continuous
    lag = np.zeros(n, dtype=np.int64)
    share_wait = 0
    if waits.any():
        if snap.get("eligibility.benefit_start") == "next_month":
            lag[waits] = 1
        share_wait = int(snap.get("eligibility.waiting.reduced_share"))
        keys += ["eligibility.benefit_start", "eligibility.waiting.reduced_share"]
    first_full = start + lag + wait
    in_wait = waits & (svc >= start + lag) & (svc < first_full)
    share = np.where(svc >= first_full, BP, np.where(in_wait, share_wait, 0)).astype(np.int64)
    reason = np.where(share == BP, Reason.eligible,
                      np.where(in_wait, np.where(share_wait > 0, Reason.waiting_reduced, Reason.waiting),
                               Reason.not_covered)).astype(np.int8)
    # A short back-paid gap is covered retroactively: services in it are entitled.
    in_gap = has_gap & (svc < start) & (svc >= start - gap)
    retro = in_gap & continuous
    share[retro] = BP
    reason[retro] = Reason.retroactive_backpaid
    reason[in_gap & ~backpaid] = Reason.gap_not_backpaid
    after = svc > last
    share[after] = 0
    reason[after] = Reason.not_covered
    benefit_start = np.where(share_wait > 0, start + lag, first_full)
    return EligibilityColumns(share > 0, share, reason, benefit_start, first_full, wait,
                              tuple(dict.fromkeys(keys)))


def _month_str(m: int) -> str:
    return f"{m // 12}-{m % 12 + 1:02d}"


def explain_eligibility(snap: Snapshot, cols: EligibilityColumns, i: int, service_month: int) -> Explanation:
    """Explain row ``i``: the waiting period, the dates and the share, with the parameters used."""
    ex = Explanation(f"{snap.region.name_zh} {_month_str(service_month)} 待遇资格",
                     f"{snap.region.name_en} entitlement in {_month_str(service_month)}")
    used = tuple(param_use(snap, k) for k in cols.keys)
    w = int(cols.waiting_months[i])
    ex.add(Step(f"等待期 {w} 个月", f"waiting period of {w} months",
                f"benefits from {_month_str(int(cols.benefit_start_month[i]))}, full from "
                f"{_month_str(int(cols.full_benefit_month[i]))}", None, used))
    zh, en = REASON_TEXT[Reason(int(cols.reason[i]))]
    ex.add(Step(f"结论：{zh}", f"result: {en}",
                f"share {rate_bp_to_str(int(cols.benefit_share_bp[i]))}"))
    return ex
