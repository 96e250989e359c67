"""Posting to the double-entry ledger, and balances, trial balance and statements derived from it.

Every money event is one :class:`~yibao.db.models.ledger.LedgerTransfer` whose entries sum to zero
(debit +, credit −), posted under an idempotency key: posting the same key again returns the
first transfer and adds nothing. Entries are never changed; :func:`reverse` posts the negation.

A balance is never stored: it is the sum of the account's entries up to a date. An individual
account (``non_negative``) cannot be overdrawn: before a debit to it is written, the account row
is locked (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the database
write lock), its balance summed, and the post refused if it would go below zero. Locks are taken
in account-id order, so two posts never wait on each other in a cycle.

Accounts per region (DOMAIN §1 money flow; the issue's list):

=========================  =======  =====================================================
kind                       normal   holds
=========================  =======  =====================================================
cash                       debit    the fund's bank: contributions in, payments out
employer_receivable        debit    contributions assessed on a unit and not yet paid
person_receivable          debit    the same for a flexible / new-form worker or a retiree
contribution_deferred      credit   assessed, not yet paid: recognised into funds on payment
pooled_fund                credit   统筹基金
large_amount_fund          credit   大额医疗费用互助 / 职工大额
maternity_fund             credit   生育 (merged contribution component)
local_supplement_fund      credit   地方附加 (Shanghai)
individual_account         credit   个人账户, one per person; never negative
family_mutual_aid          credit   家庭共济: a holder's account paying for a relative (clears to 0)
provider_payable           credit   owed to designated providers for settled claims
resident_premium_payable   credit   a relative's resident premium paid from an account (DOMAIN §3.3)
inter_region_clearing      credit   balances in transit between two regions of the installation
=========================  =======  =====================================================
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.db.models.ledger import LedgerAccount, LedgerEntry, LedgerTransfer
from yibao.errors import InputError, YibaoError
from yibao.money import fen_to_yuan_str

__all__ = [
    "ACCOUNT_KINDS",
    "InsufficientBalance",
    "Line",
    "account",
    "balance",
    "balances",
    "credit",
    "debit",
    "lowest_balance_from",
    "post",
    "prefetch",
    "reverse",
    "statement",
    "trial_balance",
]


@dataclass(frozen=True)
class Kind:
    normal: str  # debit | credit
    non_negative: bool
    owner: str | None  # person | employer | None
    zh: str
    en: str


ACCOUNT_KINDS: dict[str, Kind] = {
    "cash": Kind("debit", False, None, "基金银行存款", "fund cash"),
    "employer_receivable": Kind("debit", False, "employer", "单位应缴未缴", "employer receivable"),
    "person_receivable": Kind("debit", False, "person", "个人应缴未缴", "person receivable"),
    "contribution_deferred": Kind("credit", False, None, "已核定待到账", "assessed, not yet received"),
    "pooled_fund": Kind("credit", False, None, "统筹基金", "pooled fund"),
    "large_amount_fund": Kind("credit", False, None, "大额医疗互助基金", "large-amount fund"),
    "maternity_fund": Kind("credit", False, None, "生育保险基金", "maternity fund"),
    "local_supplement_fund": Kind("credit", False, None, "地方附加基金", "local supplement fund"),
    "individual_account": Kind("credit", True, "person", "个人账户", "individual account"),
    "family_mutual_aid": Kind("credit", False, None, "家庭共济", "family mutual aid"),
    "provider_payable": Kind("credit", False, None, "应付定点机构", "payable to providers"),
    "resident_premium_payable": Kind("credit", False, None, "应付城乡居民医保保费",
                                     "resident premiums paid from accounts, owed to the resident fund"),
    "inter_region_clearing": Kind("credit", False, None, "跨统筹区清算", "inter-region clearing"),
}


class InsufficientBalance(YibaoError):
    """A debit would take a non-negative account below zero."""

    def __init__(self, code: str, balance_fen: int, debit_fen: int) -> None:
        self.code = code
        super().__init__(
            f"账户 {code} 余额 {fen_to_yuan_str(balance_fen)} 元，不足以支付 {fen_to_yuan_str(debit_fen)} 元",
            f"account {code} holds {fen_to_yuan_str(balance_fen)} yuan, not enough for "
            f"{fen_to_yuan_str(debit_fen)} yuan",
        )


@dataclass(frozen=True)
class Line:
    account: LedgerAccount
    amount_fen: int  # debit > 0, credit < 0


def debit(acc: LedgerAccount, fen: int) -> Line:
    return Line(acc, int(fen))


def credit(acc: LedgerAccount, fen: int) -> Line:
    return Line(acc, -int(fen))


def account_code(region: str, kind: str, owner_id: int | None = None) -> str:
    return f"{region}/{kind}" if owner_id is None else f"{region}/{kind}/{owner_id}"


def account(session: Session, region: str, kind: str, owner_id: int | None = None) -> LedgerAccount:
    """The account of ``kind`` in ``region`` (of the person or employer ``owner_id``), created once.

    Creation is ``INSERT … ON CONFLICT DO NOTHING`` on the unique code, so two transactions that
    both create the same account end up with one.
    """
    spec = ACCOUNT_KINDS.get(kind)
    if spec is None:
        raise InputError("account_kind", kind, "应为 " + "、".join(ACCOUNT_KINDS),
                         "expected one of " + ", ".join(ACCOUNT_KINDS))
    if (spec.owner is None) != (owner_id is None):
        raise InputError("owner_id", owner_id, f"账户类别 {kind} 的所有者应为 {spec.owner or '无'}",
                         f"accounts of kind {kind} are owned by {spec.owner or 'nobody'}")
    code = account_code(region, kind, owner_id)
    cache: dict[str, LedgerAccount] = session.info.setdefault(_CACHE, {})
    if code in cache:
        return cache[code]
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if found is not None:
        cache[code] = found
        return found
    values: dict[str, Any] = {
        "code": code, "region_code": region, "kind": kind, "normal": spec.normal,
        "non_negative": spec.non_negative,
        "person_id": owner_id if spec.owner == "person" else None,
        "employer_id": owner_id if spec.owner == "employer" else None,
    }
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert(LedgerAccount) if dialect == "postgresql" else sqlite.insert(LedgerAccount))
    session.execute(ins.values(**values).on_conflict_do_nothing(index_elements=["code"]))
    made = session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    assert made is not None
    cache[code] = made
    return made


def prefetch(session: Session, region: str, kind: str, owner_ids: Iterable[int]) -> None:
    """Load the existing accounts of many owners in one query into the session's memory, so the
    :func:`account` calls that follow (one per person in a payment or a run) need no query."""
    cache: dict[str, LedgerAccount] = session.info.setdefault(_CACHE, {})
    codes = [account_code(region, kind, o) for o in set(owner_ids)]
    missing = [c for c in codes if c not in cache]
    for i in range(0, len(missing), 1000):
        for acc in session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(missing[i:i + 1000]))):
            cache[acc.code] = acc


# Accounts are never deleted, so a session may remember the ones it has seen; a rollback forgets
# them (one created in the rolled-back transaction no longer exists).
_CACHE = "yibao.ledger.accounts"


@event.listens_for(Session, "after_soft_rollback")
def _forget_accounts(session: Session, _previous: object) -> None:
    session.info.pop(_CACHE, None)


def _raw_sum(session: Session, account_id: int, as_of: dt.date | None = None) -> int:
    q = select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
        LedgerEntry.account_id == account_id)
    if as_of is not None:
        q = q.where(LedgerEntry.value_date <= as_of)
    return int(session.scalar(q) or 0)


def balance(session: Session, acc: LedgerAccount, as_of: dt.date | None = None) -> int:
    """The balance on the account's normal side (a fund's credit balance is positive), fen."""
    raw = _raw_sum(session, acc.id, as_of)
    return raw if acc.normal == "debit" else -raw


def _lock(session: Session, ids: Iterable[int]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(LedgerAccount.id).where(LedgerAccount.id.in_(sorted(ids)))
                        .order_by(LedgerAccount.id).with_for_update())


def post(session: Session, key: str, kind: str, region: str, value_date: dt.date,
         lines: Sequence[Line], reference: str | None = None, memo: str | None = None,
         reverses: LedgerTransfer | None = None) -> LedgerTransfer:
    """Post one balanced transfer under ``key`` (see the module docstring); zero lines are dropped."""
    done = session.scalar(select(LedgerTransfer).where(LedgerTransfer.idempotency_key == key))
    if done is not None:
        return done
    lines = [ln for ln in lines if ln.amount_fen != 0]
    total = sum(ln.amount_fen for ln in lines)
    if total != 0:
        raise InputError("ledger_lines", total, "借贷不平衡（合计应为 0）",
                         "debits and credits do not balance (the sum must be 0)")
    guarded: dict[int, tuple[LedgerAccount, int]] = {}
    for ln in lines:
        if ln.account.non_negative:
            acc, net = guarded.get(ln.account.id, (ln.account, 0))
            guarded[ln.account.id] = (acc, net + ln.amount_fen)
    lowering = {i: (a, n) for i, (a, n) in guarded.items()
                if (n > 0 if a.normal == "credit" else n < 0)}
    if lowering:
        _lock(session, lowering)
        for acc, net in lowering.values():
            now = balance(session, acc)
            if now - abs(net) < 0:
                raise InsufficientBalance(acc.code, now, abs(net))
    transfer = LedgerTransfer(idempotency_key=key, kind=kind, region_code=region, value_date=value_date,
                              reference=reference, memo=memo,
                              reverses_id=reverses.id if reverses is not None else None)
    session.add(transfer)
    session.flush()
    if lines:
        session.execute(insert(LedgerEntry), [
            {"transfer_id": transfer.id, "account_id": ln.account.id, "amount_fen": ln.amount_fen,
             "value_date": value_date} for ln in lines])
    return transfer


def entries(session: Session, transfer: LedgerTransfer) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.transfer_id == transfer.id)
                                .order_by(LedgerEntry.id)))


def reverse(session: Session, transfer: LedgerTransfer, key: str, value_date: dt.date,
            memo: str | None = None) -> LedgerTransfer:
    """Post the exact negation of ``transfer`` (a reversal never edits the original)."""
    lines = []
    for e in entries(session, transfer):
        acc = session.get(LedgerAccount, e.account_id)
        assert acc is not None
        lines.append(Line(acc, -e.amount_fen))
    return post(session, key, "reversal", transfer.region_code, value_date, lines,
                reference=transfer.reference, memo=memo or f"reverses {transfer.idempotency_key}",
                reverses=transfer)


def lowest_balance_from(session: Session, acc: LedgerAccount, day: dt.date) -> tuple[int, dt.date]:
    """The lowest balance (normal side) the account has on ``day`` or any later date, and when.

    A debit dated ``day`` must not exceed it, or some later balance would go negative: a payment
    dated in the past cannot spend credits that arrived after it.
    """
    sign = 1 if acc.normal == "debit" else -1
    bal = balance(session, acc, day - dt.timedelta(days=1))
    low, low_date = bal, day
    rows = session.execute(select(LedgerEntry.value_date, LedgerEntry.amount_fen)
                           .where(LedgerEntry.account_id == acc.id, LedgerEntry.value_date >= day)
                           .order_by(LedgerEntry.value_date, LedgerEntry.id))
    for d, amount in rows:
        bal += sign * amount
        if bal < low:
            low, low_date = bal, d
    return low, low_date


def balances(session: Session, account_ids: Sequence[int], as_of: dt.date | None = None) -> dict[int, int]:
    """Raw signed sums (debit +) of several accounts in one query."""
    q = (select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_fen))
         .where(LedgerEntry.account_id.in_(account_ids)).group_by(LedgerEntry.account_id))
    if as_of is not None:
        q = q.where(LedgerEntry.value_date <= as_of)
    out = dict.fromkeys(account_ids, 0)
    for aid, s in session.execute(q):
        out[int(aid)] = int(s)
    return out


@dataclass(frozen=True)
class TrialRow:
    code: str
    kind: str
    debit_fen: int  # sum of debits
    credit_fen: int  # sum of credits (positive)
    balance_fen: int  # on the normal side


def trial_balance(session: Session, as_of: dt.date, region: str | None = None,
                  by_kind: bool = True) -> list[TrialRow]:
    """Debit and credit totals up to ``as_of``, by account kind (persons' accounts summed) or by
    account. Total debits always equal total credits: that is what a test checks after every step."""
    pos = func.sum(func.greatest(LedgerEntry.amount_fen, 0)) if session.get_bind().dialect.name == \
        "postgresql" else func.sum(func.max(LedgerEntry.amount_fen, 0))
    neg = func.sum(func.least(LedgerEntry.amount_fen, 0)) if session.get_bind().dialect.name == \
        "postgresql" else func.sum(func.min(LedgerEntry.amount_fen, 0))
    group = LedgerAccount.kind if by_kind else LedgerAccount.code
    q = (select(group, LedgerAccount.kind, LedgerAccount.normal, pos, neg)
         .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
         .where(LedgerEntry.value_date <= as_of)
         .group_by(group, LedgerAccount.kind, LedgerAccount.normal).order_by(group))
    if region is not None:
        q = q.where(LedgerAccount.region_code == region)
    rows = []
    for name, kind, normal, d, c in session.execute(q):
        d, c = int(d or 0), -int(c or 0)
        rows.append(TrialRow(str(name), str(kind), d, c, d - c if normal == "debit" else c - d))
    return rows


@dataclass(frozen=True)
class StatementLine:
    value_date: dt.date
    transfer_id: int
    kind: str
    reference: str | None
    memo: str | None
    amount_fen: int  # + increases the balance (on the normal side)
    balance_fen: int


def statement(session: Session, acc: LedgerAccount, date_from: dt.date | None = None,
              date_to: dt.date | None = None) -> tuple[int, list[StatementLine]]:
    """The opening balance at ``date_from`` and every movement to ``date_to``, with running balance."""
    sign = 1 if acc.normal == "debit" else -1
    opening = balance(session, acc, date_from - dt.timedelta(days=1)) if date_from else 0
    q = (select(LedgerEntry, LedgerTransfer)
         .join(LedgerTransfer, LedgerTransfer.id == LedgerEntry.transfer_id)
         .where(LedgerEntry.account_id == acc.id).order_by(LedgerEntry.value_date, LedgerEntry.id))
    if date_from is not None:
        q = q.where(LedgerEntry.value_date >= date_from)
    if date_to is not None:
        q = q.where(LedgerEntry.value_date <= date_to)
    run_bal = opening
    out: list[StatementLine] = []
    for e, t in session.execute(q).all():
        run_bal += sign * e.amount_fen
        out.append(StatementLine(e.value_date, t.id, t.kind, t.reference, t.memo, sign * e.amount_fen,
                                 run_bal))
    return opening, out


def totals_by_transfer(session: Session) -> dict[int, int]:
    """Every transfer's entry sum (all zero in a sound ledger); used by ``ledger verify``."""
    q = select(LedgerEntry.transfer_id, func.sum(LedgerEntry.amount_fen)).group_by(LedgerEntry.transfer_id)
    return defaultdict(int, {int(t): int(s) for t, s in session.execute(q)})
