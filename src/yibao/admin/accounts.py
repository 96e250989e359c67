"""Individual accounts (个人账户): recognition of paid months, retiree credits, account payments.

Recognition (admin.md's ledger flow). A contribution month that becomes fully paid is split, in one
transfer keyed ``recognise:<contribution_month.id>``, out of ``contribution_deferred`` into the
funds by the columns the assessment routed (:mod:`yibao.rules.contribution`) and into the person's
account by :func:`yibao.rules.accounts.credit_accounts` on the policy of the month's first day
(DOMAIN §3.1–§3.2; Beijing switches on 2022-09-01, ``account.regime`` in the Beijing policy file):

- ``from_individual_fen`` stays in the account; ``individual_to_pool_fen`` (the part of the
  individual contribution a region does not keep) goes to the pooled fund;
- ``from_employer_fen`` (pre-reform employer part by age, Beijing 0.8% / 1% / 2%) and
  ``from_pooled_fen`` (e.g. a flexible worker's credit) come out of the pooled fund.

So pooled + account = the routed pooled + account columns, and every recognition credits exactly
``total_fen``. Retiree months (Beijing's 3-yuan premium) carry no account part: retirees are
credited by the monthly run :func:`credit_retirees` (DR pooled_fund / CR individual_account).

Account payments (DOMAIN §3.3): the holder's outpatient and pharmacy costs, and through family
mutual aid (家庭共济) a linked relative's costs or resident premium, only under a
:class:`~yibao.db.models.register.FamilyLink` valid on the date. The ledger refuses any debit that
would take an account below zero, under a row lock (:func:`yibao.admin.ledger.post`).

Balances are never stored: a balance carried into a new year is simply the sum of the entries.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.admin import approvals, audit, ledger
from yibao.admin.ledger import InsufficientBalance, account_code, credit, debit
from yibao.admin.policies import region_policy
from yibao.admin.register import check_person_visible
from yibao.admin.roles import authorize
from yibao.admin.uow import SYSTEM, Actor, idempotent, run
from yibao.db.base import first_day, month_of, utcnow
from yibao.db.models.contribution import ContributionMonth, Payment, PaymentAllocation
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ledger import LedgerAccount, LedgerEntry, LedgerTransfer
from yibao.db.models.ops import MonthlyRun
from yibao.db.models.register import FamilyLink, Person
from yibao.errors import InputError
from yibao.ids import mask_id, mask_name
from yibao.money import fen_to_yuan_str
from yibao.policy.registry import Registry
from yibao.rules.accounts import credit_accounts
from yibao.rules.contribution import PERSON_TYPES, RETIREE, person_type_codes

__all__ = [
    "PURPOSES",
    "AccountPayment",
    "PersonStatement",
    "RetireeRun",
    "VerifyReport",
    "account_balance",
    "adjust_account",
    "age_on",
    "credit_retirees",
    "pay_from_account",
    "person_statement",
    "recognise_month",
    "verify_ledger",
]

#: What an account may pay for (DOMAIN §3.3): own or a relative's outpatient, pharmacy and
#: inpatient self-pay; a relative's resident premium (LS §3).
PURPOSES: dict[str, tuple[str, str]] = {
    "outpatient": ("门诊费用", "outpatient costs"),
    "pharmacy": ("定点药店购药", "purchase at a designated pharmacy"),
    "inpatient": ("住院个人负担", "inpatient personal share"),
    "resident_premium": ("城乡居民医保个人缴费", "resident insurance premium"),
}

#: The largest manual adjustment of one account, either way (1,000,000 yuan): a typo guard.
MAX_ADJUSTMENT_FEN = 100_000_000

# -- shared helpers ---------------------------------------------------------------------------
def age_on(birth: dt.date, day: dt.date) -> int:
    """Completed years on ``day`` (a birthday on that day counts)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _person(session: Session, person_id: int, field_name: str = "person_id") -> Person:
    p = session.get(Person, person_id)
    if p is None:
        raise InputError(field_name, person_id, "查无此人（未登记）", "no such person in the register")
    return p


# -- recognition ------------------------------------------------------------------------------
def recognise_month(session: Session, cm: ContributionMonth, value_date: dt.date,
                    registry: Registry | None = None) -> LedgerTransfer:
    """Split a fully paid month out of ``contribution_deferred`` into funds and account (module
    docstring). Posted once (key ``recognise:<id>``); marks ``cm.recognised``.

    Raises :class:`~yibao.errors.UnknownParameterError` (nothing posted) if the month's account
    rule needs a value the region's policy file does not have yet.
    """
    key = f"recognise:{cm.id}"
    if cm.status != "paid":
        raise InputError("contribution_month", f"{cm.id} ({cm.month})",
                         f"只有已足额缴纳的月份才能入账（当前状态 {cm.status}）",
                         f"only a fully paid month is recognised (status is {cm.status})")
    pooled = cm.to_pooled_fund_fen
    to_account = cm.to_individual_account_fen
    memo = f"{cm.month} {cm.category}"
    if cm.category in PERSON_TYPES and person_type_codes(cm.category)[0] != RETIREE:
        person = _person(session, cm.person_id)
        day = first_day(cm.month)
        snap = region_policy(session, cm.region_code, registry).at(day)
        cols = credit_accounts(snap, person_type_codes([cm.category]), [age_on(person.birth_date, day)],
                               [cm.base_fen], [cm.to_individual_account_fen])
        # The routed pooled + account columns are redistributed; their sum is unchanged.
        pooled = cm.to_pooled_fund_fen + cm.to_individual_account_fen - int(cols.credit_fen[0])
        to_account = int(cols.credit_fen[0])
        memo += (f" account {fen_to_yuan_str(to_account)} = individual "
                 f"{fen_to_yuan_str(int(cols.from_individual_fen[0]))} + employer "
                 f"{fen_to_yuan_str(int(cols.from_employer_fen[0]))} + pool "
                 f"{fen_to_yuan_str(int(cols.from_pooled_fen[0]))}")
    r = cm.region_code
    credits = [
        (ledger.account(session, r, "pooled_fund"), pooled),
        (ledger.account(session, r, "maternity_fund"), cm.to_maternity_fund_fen),
        (ledger.account(session, r, "large_amount_fund"), cm.to_large_amount_fund_fen),
        (ledger.account(session, r, "local_supplement_fund"), cm.to_local_supplement_fund_fen),
        (ledger.account(session, r, "individual_account", cm.person_id), to_account),
    ]
    if sum(a for _, a in credits) != cm.total_fen:
        raise InputError("contribution_month", cm.id, "各基金划分之和不等于核定总额",
                         "the routed columns do not add up to the month's total")
    lines = [debit(ledger.account(session, r, "contribution_deferred"), cm.total_fen)]
    lines += [credit(acc, amount) for acc, amount in credits]
    t = ledger.post(session, key, "contribution_recognised", r, value_date, lines,
                    reference=f"contribution_month:{cm.id}", memo=memo[:256])
    cm.recognised = True
    return t


# -- retiree monthly credit -------------------------------------------------------------------
@dataclass(frozen=True)
class RetireeRun:
    region: str
    month: int
    run_id: int
    credited: int  # persons credited by this call
    amount_fen: int  # credited by this call
    already_done: bool
    rows_done: int  # persons credited by the run in all (also by earlier, interrupted calls)


def _person_accounts(session: Session, region: str, person_ids: Sequence[int]) -> dict[int, LedgerAccount]:
    """The individual accounts of many persons, created in one statement where missing."""
    codes = {account_code(region, "individual_account", pid): pid for pid in person_ids}
    found = {a.code: a for a in session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        spec = ledger.ACCOUNT_KINDS["individual_account"]
        rows = [{"code": c, "region_code": region, "kind": "individual_account", "normal": spec.normal,
                 "non_negative": spec.non_negative, "person_id": codes[c], "employer_id": None,
                 "created_at": utcnow()} for c in missing]
        ins = (postgresql.insert(LedgerAccount) if session.get_bind().dialect.name == "postgresql"
               else sqlite.insert(LedgerAccount))
        session.execute(ins.on_conflict_do_nothing(index_elements=["code"]), rows)
        found.update({a.code: a for a in session.scalars(
            select(LedgerAccount).where(LedgerAccount.code.in_(missing)))})
    return {codes[c]: a for c, a in found.items()}


def _run_row(session: Session, region: str, month: int, kind: str) -> MonthlyRun:
    found = session.scalar(select(MonthlyRun).where(MonthlyRun.region_code == region,
                                                    MonthlyRun.month == month, MonthlyRun.kind == kind))
    if found is None:
        found = MonthlyRun(region_code=region, month=month, kind=kind, status="running", rows_done=0)
        session.add(found)
        session.flush()  # a concurrent twin fails on the unique key; run() retries and finds it
    return found


def _cursor(session: Session, reference: str) -> int:
    """The last enrollment id a chunk of this run credited (the keys end in ``-<last id>``)."""
    keys = session.scalars(select(LedgerTransfer.idempotency_key)
                           .where(LedgerTransfer.reference == reference))
    return max((int(k.rsplit("-", 1)[1]) for k in keys), default=0)


def credit_retirees(engine: Engine, region: str, month: int, progress: bool = False,
                    chunk_size: int = 5000, registry: Registry | None = None,
                    actor: Actor = SYSTEM) -> RetireeRun:
    """Credit every retiree's account for ``month`` (YYYYMM) once: DR pooled_fund / CR account.

    The amount is :func:`yibao.rules.accounts.credit_accounts` on the policy of the month's first
    day: ``account.retiree.mode`` fixed by age (Beijing 100 / 110 yuan from 70; Shanghai 1680 /
    1890 a year from 75), a share of the own pension (``enrollment.pension_fen``), with
    ``account.retiree.flexible_factor`` for former flexible workers (DOMAIN §3.1–§3.2).

    Who: employee-scheme retiree enrollments of the region covering the month (start ≤ month ≤
    end), not suspended, of persons alive on the month's first day; one credit per enrollment.

    Exactly once and resumable: the run is a :class:`~yibao.db.models.ops.MonthlyRun` row
    (kind ``retiree_credit``) locked by each chunk; each chunk of enrollments (in id order) is one
    transaction and one transfer keyed ``retiree_credit:<region>:<month>:<first id>-<last id>``,
    and the next chunk starts after the last id a committed transfer names. A process killed in
    the middle leaves whole chunks only; running again completes the rest; a finished run does
    nothing. Vectorised: one ``credit_accounts`` call and one insert of entries per chunk.
    """
    actor.check_region(region)
    day = first_day(month)
    reference = f"retiree_credit:{region}:{month}"

    def start(s: Session) -> tuple[int, bool, int]:
        region_policy(s, region, registry)  # an unknown region fails before anything is written
        r = _run_row(s, region, month, "retiree_credit")
        return r.id, r.status == "done", r.rows_done

    run_id, done, rows_done = run(engine, start)
    if done:
        return RetireeRun(region, month, run_id, 0, 0, True, rows_done)
    snap_holder: list[Any] = []
    totals = [0, 0]

    def chunk(s: Session) -> int | None:
        r = s.scalar(select(MonthlyRun).where(MonthlyRun.id == run_id).with_for_update()
                     .execution_options(populate_existing=True))
        assert r is not None
        if r.status == "done":
            return None
        after = _cursor(s, reference)
        q = (select(Enrollment.id, Enrollment.person_id, Person.birth_date, Enrollment.pension_fen,
                    Enrollment.was_flexible)
             .join(Person, Person.id == Enrollment.person_id)
             .where(Enrollment.region_code == region, Enrollment.scheme == "employee",
                    Enrollment.category == "retiree", Enrollment.status != "suspended",
                    Enrollment.start_month <= month,
                    or_(Enrollment.end_month.is_(None), Enrollment.end_month >= month),
                    or_(Person.death_date.is_(None), Person.death_date >= day),
                    Enrollment.id > after)
             .order_by(Enrollment.id).limit(chunk_size))
        rows = s.execute(q).all()
        if not rows:
            r.status, r.finished_at = "done", utcnow()
            audit.record(s, actor, "retiree_credit.finish", "monthly_run", run_id, ("rows_done",), region)
            return None
        if not snap_holder:
            snap_holder.append(region_policy(s, region, registry).at(day))
        n = len(rows)
        cols = credit_accounts(snap_holder[0], np.full(n, RETIREE, dtype=np.int8),
                               np.array([age_on(b, day) for _, _, b, _, _ in rows], dtype=np.int64),
                               np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                               np.array([p for *_, p, _ in rows], dtype=np.int64),
                               np.array([f for *_, f in rows], dtype=np.bool_))
        accounts = _person_accounts(s, region, sorted({pid for _, pid, *_ in rows}))
        amounts = cols.credit_fen.tolist()
        total = int(cols.credit_fen.sum())
        lines = [debit(ledger.account(s, region, "pooled_fund"), total)]
        lines += [credit(accounts[pid], amt) for (_, pid, *_), amt in zip(rows, amounts, strict=True)]
        ledger.post(s, f"{reference}:{rows[0][0]}-{rows[-1][0]}", "retiree_credit", region, day, lines,
                    reference=reference, memo=f"retiree account credit {month}, {n} persons")
        r.rows_done += n
        audit.record(s, actor, "retiree_credit.chunk", "monthly_run", run_id, ("individual_account",),
                     region)
        totals[0] += n
        totals[1] += total
        return n

    while True:
        n = run(engine, chunk)
        if n is None:
            break
        if progress:
            print(f"retiree credit {region} {month}: +{n} ({totals[0]} this call)", file=sys.stderr)

    def finish(s: Session) -> int:
        r = s.get(MonthlyRun, run_id)
        assert r is not None
        return r.rows_done

    return RetireeRun(region, month, run_id, totals[0], totals[1], False, run(engine, finish))


# -- account payments -------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountPayment:
    transfer_id: int
    region: str
    person_id: int
    for_person_id: int | None
    amount_fen: int
    purpose: str
    on_date: str
    balance_after_fen: int
    family_link_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _family_link(session: Session, holder: int, relative: int, on: dt.date) -> FamilyLink | None:
    return session.scalar(select(FamilyLink).where(
        FamilyLink.holder_id == holder, FamilyLink.relative_id == relative, FamilyLink.valid_from <= on,
        or_(FamilyLink.valid_to.is_(None), FamilyLink.valid_to >= on)).order_by(FamilyLink.valid_from.desc()))


def pay_from_account(session: Session, actor: Actor, region: str, person_id: int, amount_fen: int,
                     purpose: str, on_date: dt.date, key: str,
                     for_person_id: int | None = None) -> AccountPayment:
    """Pay ``amount_fen`` from ``person_id``'s individual account (DOMAIN §3.3).

    Own use: DR individual_account(holder) / CR provider_payable. For a relative (家庭共济):
    a :class:`FamilyLink` holder → relative valid on ``on_date`` is required, whose relation the
    region allows on that date (``account.family_mutual_aid.relations``: spouse, children and
    parents from 国办发〔2021〕14号; near relatives from 2024-08-01, PD national_rules), and the money
    passes through
    ``family_mutual_aid``: DR account / CR family_mutual_aid; DR family_mutual_aid / CR
    provider_payable, or CR resident_premium_payable for the relative's resident premium (LS §3).
    The ledger refuses an overdraft under a row lock (InsufficientBalance); ``key`` makes a replay
    change nothing.
    """
    actor.check_region(region)
    request = {"region": region, "person_id": person_id, "amount_fen": amount_fen, "purpose": purpose,
               "on_date": on_date.isoformat(), "for_person_id": for_person_id}

    def do() -> dict[str, Any]:
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
            raise InputError("amount", amount_fen, "支付金额应大于 0", "the amount must be more than 0")
        if purpose not in PURPOSES:
            raise InputError("purpose", purpose, "应为 " + "、".join(PURPOSES),
                             "expected one of " + ", ".join(PURPOSES))
        if not key:
            raise InputError("key", key, "账户支付须带幂等键", "an account payment needs an idempotency key")
        policy = region_policy(session, region)
        _person(session, person_id)
        holder_ia = ledger.account(session, region, "individual_account", person_id)
        link: FamilyLink | None = None
        if for_person_id is not None and for_person_id != person_id:
            _person(session, for_person_id, "for_person_id")
            link = _family_link(session, person_id, for_person_id, on_date)
            if link is None:
                audit.record(session, actor, "account.pay", "person", person_id, ("individual_account",),
                             region, outcome="refused")
                raise InputError(
                    "for_person_id", for_person_id,
                    f"家庭共济：个人账户只能为已登记且在 {on_date} 有效的共济关系中的近亲属支付"
                    f"（配偶、子女、父母，2024 年起扩至近亲属）；"
                    f"人员 {person_id} 与 {for_person_id} 之间没有",
                    f"family mutual aid: an account pays only for a relative linked to the holder on "
                    f"{on_date} (spouse, children, parents; near relatives from 2024); there is no such "
                    f"link from person {person_id} to {for_person_id}")
            allowed = policy.at(on_date).get("account.family_mutual_aid.relations")
            if link.relation not in allowed:
                raise InputError(
                    "for_person_id", for_person_id,
                    f"家庭共济：{on_date} 本地区个人账户可为 {'、'.join(allowed)} 支付"
                    f"（account.family_mutual_aid.relations），共济关系为 {link.relation}",
                    f"family mutual aid: on {on_date} the region's accounts pay for {', '.join(allowed)} "
                    f"(account.family_mutual_aid.relations); the link is {link.relation}")
        elif purpose == "resident_premium":
            raise InputError("purpose", purpose, "职工账户只能为共济关系中的亲属缴纳居民医保保费",
                             "an employee account pays resident premiums only for a linked relative")
        payee = ledger.account(session, region, "resident_premium_payable" if purpose == "resident_premium"
                               else "provider_payable")
        if link is None:
            lines = [debit(holder_ia, amount_fen), credit(payee, amount_fen)]
        else:
            aid = ledger.account(session, region, "family_mutual_aid")
            lines = [debit(holder_ia, amount_fen), credit(aid, amount_fen),
                     debit(aid, amount_fen), credit(payee, amount_fen)]
        kind = "account_payment" if link is None else "family_mutual_aid"
        ref = f"person:{for_person_id}" if link is not None else None
        t = ledger.post(session, f"account_pay:{key}", kind, region, on_date, lines, reference=ref,
                        memo=f"{purpose}: {PURPOSES[purpose][1]}")
        # post() checked today's balance under the account lock (still held); a back-dated payment
        # must also leave every balance from on_date onwards non-negative.
        low, low_date = ledger.lowest_balance_from(session, holder_ia, on_date)
        if low < 0:
            raise InsufficientBalance(f"{holder_ia.code} @ {low_date}", low + amount_fen, amount_fen)
        audit.record(session, actor, "account.pay", "person", person_id, ("individual_account",), region)
        return asdict(AccountPayment(t.id, region, person_id, for_person_id if link else None, amount_fen,
                                     purpose, on_date.isoformat(), ledger.balance(session, holder_ia),
                                     link.id if link else None))

    return AccountPayment(**idempotent(session, key, "accounts.pay", request, do))


def adjust_account(session: Session, actor: Actor, region: str, person_id: int, amount_fen: int,
                   on_date: dt.date, reason: str, key: str) -> dict[str, Any]:
    """A manual adjustment (手工调账) of ``person_id``'s individual account against the pooled fund:
    ``amount_fen`` > 0 credits the account (DR pooled_fund / CR individual_account), < 0 debits it
    (never below zero on any date from ``on_date``). It corrects an allocation made wrongly; a
    second person approves every one (four-eyes, :mod:`yibao.admin.approvals`).
    """
    authorize(actor, "contribution.write")
    actor.check_region(region)
    request = {"region": region, "person_id": person_id, "amount_fen": amount_fen,
               "on_date": on_date.isoformat(), "reason": reason, "key": key}

    def do() -> dict[str, Any]:
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen == 0 \
                or abs(amount_fen) > MAX_ADJUSTMENT_FEN:
            raise InputError("amount", amount_fen, "调整金额不能为 0，且绝对值不超过 100 万元",
                             "the amount must not be 0 and at most 1,000,000 yuan either way")
        why = " ".join(str(reason or "").split())
        if not (1 <= len(why) <= 256):
            raise InputError("reason", reason, "调账须写明原因（1–256 个字符）",
                             "an adjustment needs a reason (1-256 characters)")
        if not key:
            raise InputError("key", key, "调账须带幂等键", "an adjustment needs an idempotency key")
        region_policy(session, region)
        _person(session, person_id)
        shown = fen_to_yuan_str(amount_fen)
        approvals.check(session, actor, approvals.Command(
            "account_adjustment", region, request, "person", person_id,
            f"人员 {person_id} 个人账户调整 {shown} 元：{why}",
            f"adjust person {person_id}'s individual account by {shown} yuan: {why}"))
        ia = ledger.account(session, region, "individual_account", person_id)
        pool = ledger.account(session, region, "pooled_fund")
        t = ledger.post(session, f"account_adjust:{key}", "account_adjustment", region, on_date,
                        [debit(pool, amount_fen), credit(ia, amount_fen)], memo=why[:256])
        if amount_fen < 0:
            low, low_date = ledger.lowest_balance_from(session, ia, on_date)
            if low < 0:
                raise InsufficientBalance(f"{ia.code} @ {low_date}", low - amount_fen, -amount_fen)
        audit.record(session, actor, "account.adjust", "person", person_id, ("individual_account",), region)
        return {"transfer_id": t.id, "region": region, "person_id": person_id, "amount_fen": amount_fen,
                "balance_fen": ledger.balance(session, ia)}

    return idempotent(session, key, "accounts.adjust", request, do)


def adjust_account_from(session: Session, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """Do an approved account adjustment (:mod:`yibao.admin.approvals`)."""
    return adjust_account(session, actor, payload["region"], payload["person_id"], payload["amount_fen"],
                          dt.date.fromisoformat(payload["on_date"]), payload["reason"], payload["key"])


# -- balances and statements ------------------------------------------------------------------
def _person_ias(session: Session, person_id: int, region: str | None) -> list[LedgerAccount]:
    q = select(LedgerAccount).where(LedgerAccount.person_id == person_id,
                                    LedgerAccount.kind == "individual_account")
    if region is not None:
        q = q.where(LedgerAccount.region_code == region)
    return list(session.scalars(q.order_by(LedgerAccount.id)))


def account_balance(session: Session, region: str, person_id: int, as_of: dt.date | None = None,
                    actor: Actor | None = None) -> int:
    """The person's account balance in ``region`` at the end of ``as_of`` (the sum of entries)."""
    _person(session, person_id)
    if actor is not None:
        audit.record(session, actor, "account.balance.read", "person", person_id, ("individual_account",),
                     region)
    accs = _person_ias(session, person_id, region)
    return sum(ledger.balance(session, a, as_of) for a in accs)


@dataclass(frozen=True)
class StatementRow:
    value_date: str
    region: str
    kind: str
    reference: str | None
    memo: str | None
    amount_fen: int  # + in, − out
    balance_fen: int


@dataclass(frozen=True)
class MonthRow:
    month: int
    region: str
    category: str
    total_fen: int
    paid_fen: int  # as of the statement's end date
    status: str  # as of the statement's end date
    due_date: str
    paid_on: str | None


@dataclass(frozen=True)
class PersonStatement:
    person_id: int
    name: str  # masked
    id_number: str  # masked
    date_from: str | None
    date_to: str | None
    opening_fen: int
    closing_fen: int
    lines: list[StatementRow] = field(default_factory=list)
    months: list[MonthRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _months_as_of(session: Session, person_id: int, region: str | None,
                  as_of: dt.date | None) -> list[MonthRow]:
    q = select(ContributionMonth).where(ContributionMonth.person_id == person_id)
    if region is not None:
        q = q.where(ContributionMonth.region_code == region)
    if as_of is not None:
        q = q.where(ContributionMonth.month <= month_of(as_of))
    cms = list(session.scalars(q.order_by(ContributionMonth.month, ContributionMonth.id)))
    paid_by: dict[int, int] = {}
    if cms and as_of is not None:
        aq = (select(PaymentAllocation.contribution_month_id, func.sum(PaymentAllocation.amount_fen))
              .join(Payment, Payment.id == PaymentAllocation.payment_id)
              .where(PaymentAllocation.contribution_month_id.in_([c.id for c in cms]),
                     PaymentAllocation.amount_fen > 0, Payment.received_on <= as_of)
              .group_by(PaymentAllocation.contribution_month_id))
        paid_by = {int(i): int(v) for i, v in session.execute(aq)}
    out = []
    for c in cms:
        if as_of is None:
            status, paid = c.status, c.paid_fen
        elif c.written_off_on is not None and c.written_off_on <= as_of:
            status, paid = "written_off", c.paid_fen
        elif c.paid_on is not None and c.paid_on <= as_of:
            status, paid = "paid", c.total_fen
        else:
            paid = min(paid_by.get(c.id, 0), c.total_fen)
            status = "partial" if paid else "due"
        out.append(MonthRow(c.month, c.region_code, c.category, c.total_fen, paid, status,
                            c.due_date.isoformat(),
                            c.paid_on.isoformat() if c.paid_on and (as_of is None or c.paid_on <= as_of)
                            else None))
    return out


def person_statement(session: Session, actor: Actor, person_id: int, date_from: dt.date | None = None,
                     date_to: dt.date | None = None, region: str | None = None) -> PersonStatement:
    """Every movement of the person's individual account(s) from ``date_from`` to ``date_to``
    with dates, kinds, references and running balance, and the contribution months with their
    status on ``date_to``. The header shows the name and ID masked. Audited as a read."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InputError("date_from", date_from.isoformat(), f"应不晚于结束日期 {date_to}",
                         f"must not be after the end date {date_to}")
    p = _person(session, person_id)
    check_person_visible(session, actor, person_id)
    audit.record(session, actor, "account.statement.read", "person", person_id,
                 ("individual_account", "contribution_month"), region)
    opening = 0
    merged: list[tuple[dt.date, int, str, ledger.StatementLine]] = []
    for acc in _person_ias(session, person_id, region):
        op, lines = ledger.statement(session, acc, date_from, date_to)
        opening += op
        merged += [(ln.value_date, ln.transfer_id, acc.region_code, ln) for ln in lines]
    merged.sort(key=lambda x: (x[0], x[1]))
    bal = opening
    rows = []
    for d, _, reg, ln in merged:
        bal += ln.amount_fen
        rows.append(StatementRow(d.isoformat(), reg, ln.kind, ln.reference, ln.memo, ln.amount_fen, bal))
    return PersonStatement(person_id, mask_name(p.name), mask_id(p.id_number),
                           date_from.isoformat() if date_from else None,
                           date_to.isoformat() if date_to else None, opening, bal, rows,
                           _months_as_of(session, person_id, region, date_to))


# -- verification -----------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyReport:
    transfers: int
    unbalanced: list[dict[str, Any]]  # first few transfers whose entries do not sum to zero
    negative: dict[str, Any] | None  # the first entry after which an individual account is negative
    total_fen: int  # sum of every entry (0 in a sound ledger)

    @property
    def ok(self) -> bool:
        return not self.unbalanced and self.negative is None and self.total_fen == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def verify_ledger(session: Session, region: str | None = None, limit: int = 10) -> VerifyReport:
    """Check the ledger: every transfer sums to zero, and no individual account is below zero
    after any entry in date order (the running balance over value date, then entry id)."""
    tq = select(LedgerEntry.transfer_id, func.sum(LedgerEntry.amount_fen).label("s")).group_by(
        LedgerEntry.transfer_id)
    if region is not None:
        tq = tq.join(LedgerTransfer, LedgerTransfer.id == LedgerEntry.transfer_id).where(
            LedgerTransfer.region_code == region)
    sums = session.execute(tq).all()
    bad = [{"transfer_id": int(t), "sum_fen": int(s)} for t, s in sums if int(s) != 0][:limit]
    running = func.sum(LedgerEntry.amount_fen).over(
        partition_by=LedgerEntry.account_id, order_by=(LedgerEntry.value_date, LedgerEntry.id))
    inner = (select(LedgerEntry.id.label("entry_id"), LedgerEntry.account_id, LedgerEntry.transfer_id,
                    LedgerEntry.value_date, running.label("running"))
             .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
             .where(LedgerAccount.non_negative.is_(True)))
    if region is not None:
        inner = inner.where(LedgerAccount.region_code == region)
    sub = inner.subquery()
    # individual accounts keep a credit balance: a positive raw running sum is an overdraft
    first = session.execute(
        select(sub.c.entry_id, sub.c.account_id, sub.c.transfer_id, sub.c.value_date, sub.c.running,
               LedgerAccount.code)
        .join(LedgerAccount, LedgerAccount.id == sub.c.account_id)
        .where(and_(sub.c.running > 0, LedgerAccount.normal == "credit"))
        .order_by(sub.c.value_date, sub.c.entry_id).limit(1)).first()
    negative = None
    if first is not None:
        negative = {"entry_id": int(first[0]), "account": str(first[5]), "transfer_id": int(first[2]),
                    "value_date": first[3].isoformat(), "balance_fen": -int(first[4])}
    total = int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))) or 0)
    return VerifyReport(len(sums), bad, negative, total if region is None else 0)

