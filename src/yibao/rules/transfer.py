"""Transfer and continuation (转移接续): recognising periods paid elsewhere, gaps, the account balance.

The rule (DOMAIN.md §7; 基本医疗保险关系转移接续暂行办法 2021-11, PD national_rules):

- Periods are ``(person, months, kind, local)`` rows, kind 0 actual, 1 deemed, 2 back-paid.
  Local periods count as they are; periods from other regions are converted by the receiving
  region's ``transfer.years_conversion_ratio`` (rounded down to whole months: a ratio never grants a
  part month). No source quantifies a ratio (seed 001 reports low ones), so shipped regions have it
  unknown and a transfer that needs it stops with that key.
- The gap between leaving and joining: at most ``eligibility.backpay_max_gap_months`` can be
  back-paid (``backpay_due_fen = gap × monthly contribution``); a longer gap owes nothing and
  breaks continuity (see :mod:`yibao.rules.eligibility`).
- ``transfer.account_balance_follows``: the balance moves with the member (the account is the
  member's property, seed 000 / seed 004) or stays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError
from yibao.money import BP, fen_to_yuan_str
from yibao.policy.resolve import Snapshot
from yibao.rules.explain import Explanation, Step, param_use

__all__ = ["KINDS", "TransferColumns", "explain_transfer", "recognise_transfer"]

IntArray = npt.NDArray[np.int64]
KINDS = ("actual", "deemed", "back_paid")


@dataclass(frozen=True)
class TransferColumns:
    local_months: IntArray
    transferred_months: IntArray
    recognised_months: IntArray  # local + converted transferred
    by_kind_months: IntArray  # (3, persons) recognised months by kind
    backpay_months: IntArray
    backpay_due_fen: IntArray
    balance_moved_fen: IntArray
    keys: tuple[str, ...]


def _ints(x: npt.ArrayLike, name: str, n: int | None = None) -> IntArray:
    a = np.atleast_1d(np.asarray(x, dtype=np.int64))
    if n is not None and a.shape != (n,):
        raise InputError(name, a.shape, f"长度应为 {n}", f"expected length {n}")
    if a.size and int(a.min()) < 0:
        raise InputError(name, int(a.min()), "应为非负整数", "must be ≥ 0")
    return a


def recognise_transfer(snap: Snapshot, person: npt.ArrayLike, months: npt.ArrayLike,
                       kind: npt.ArrayLike, local: npt.ArrayLike, n_persons: int,
                       gap_months: npt.ArrayLike, monthly_due_fen: npt.ArrayLike,
                       balance_fen: npt.ArrayLike) -> TransferColumns:
    """Recognise the periods of ``n_persons`` people transferring into ``snap``'s region."""
    who = _ints(person, "person")
    n_rows = who.shape[0]
    m = _ints(months, "months", n_rows)
    k = _ints(kind, "kind", n_rows)
    loc = np.atleast_1d(np.asarray(local, dtype=np.bool_))
    if n_rows and (int(who.max()) >= n_persons or int(k.max()) >= len(KINDS)):
        raise InputError("person/kind", f"{int(who.max())}/{int(k.max())}",
                         f"person 应小于 {n_persons}，kind 为 0..2（{'/'.join(KINDS)}）",
                         f"person must be < {n_persons}; kind 0..2 ({'/'.join(KINDS)})")
    gap = _ints(gap_months, "gap_months", n_persons)
    due = _ints(monthly_due_fen, "monthly_due_fen", n_persons)
    balance = _ints(balance_fen, "balance_fen", n_persons)
    keys: list[str] = []
    ratio = BP
    if bool((~loc).any()):
        ratio = int(snap.get("transfer.years_conversion_ratio"))
        keys.append("transfer.years_conversion_ratio")
    # Convert each period, rounding down, so no ratio grants a part month.
    counted = np.where(loc, m, (m * ratio) // BP)
    by_kind = np.zeros((len(KINDS), n_persons), dtype=np.int64)
    np.add.at(by_kind, (k, who), counted)
    local_months = np.zeros(n_persons, dtype=np.int64)
    np.add.at(local_months, who[loc], m[loc])
    transferred = np.zeros(n_persons, dtype=np.int64)
    np.add.at(transferred, who[~loc], m[~loc])
    backpay = np.zeros(n_persons, dtype=np.int64)
    if gap.any():
        max_gap = int(snap.get("eligibility.backpay_max_gap_months"))
        keys.append("eligibility.backpay_max_gap_months")
        backpay = np.where(gap <= max_gap, gap, 0)
    moved = np.zeros(n_persons, dtype=np.int64)
    if balance.any():
        keys.append("transfer.account_balance_follows")
        if snap.get("transfer.account_balance_follows"):
            moved = balance.copy()
    return TransferColumns(local_months, transferred, by_kind.sum(axis=0), by_kind, backpay,
                           backpay * due, moved, tuple(keys))


def explain_transfer(snap: Snapshot, cols: TransferColumns, i: int) -> Explanation:
    """Explain person ``i``: months recognised, back-pay due and the balance moved."""
    ex = Explanation(f"{snap.region.name_zh} {snap.date} 转入认定", f"{snap.region.name_en} {snap.date} "
                     "transfer-in recognition")
    used = tuple(param_use(snap, k) for k in cols.keys)
    kinds = ", ".join(f"{n} {int(cols.by_kind_months[j, i])}" for j, n in enumerate(KINDS))
    ex.add(Step("认可缴费月数（本地 + 转入折算）", "recognised months (local + converted transferred)",
                f"{int(cols.local_months[i])} local + {int(cols.transferred_months[i])} transferred "
                f"→ {int(cols.recognised_months[i])} ({kinds})", None, used))
    ex.add(Step("可补缴的断保月数与应补金额", "back-payable gap months and amount due",
                f"{int(cols.backpay_months[i])} months", int(cols.backpay_due_fen[i])))
    ex.add(Step("随转的个人账户余额", "account balance moved",
                fen_to_yuan_str(int(cols.balance_moved_fen[i])), int(cols.balance_moved_fen[i])))
    return ex
