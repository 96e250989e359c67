"""Contribution payments: recording, matching to assessed months, arrears and back-payment, refunds
of over-payment, write-off of uncollectible arrears.

The ledger flow (admin.md, agreed by the whole core):

- **Payment received** — DR cash / CR the payer's receivable (``employer_receivable`` of a unit,
  ``person_receivable`` of a flexible worker), the whole amount, key ``payment:<id>``. The bank
  reference is unique per region: the same statement line twice is the same payment.
- **Matching** allocates the payment to the payer's open months (due / partial) of the region,
  oldest month first, or only to the months named (a back-payment, 补缴). A month paid in part is
  ``partial``; what is left over stays on the payment as ``unallocated_fen`` (over-payment: the
  receivable then holds a credit balance). The payer's open months are locked (``SELECT … FOR
  UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), so two concurrent
  payments never allocate the same fen twice.
- **A month fully paid** gets ``paid_on = received_on`` and is recognised into the funds and the
  individual account in the same transaction (:func:`yibao.admin.accounts.recognise_month`). If
  the region's policy file still lacks a value the account rule needs, the money is kept
  (the month is paid, not yet recognised) and :func:`recognise_pending` finishes it once the
  value is supplied — a bank payment is never refused for a missing parameter.
- **Refund** of over-payment only: DR receivable / CR cash, key ``refund:<id>``.
- **Write-off** of uncollectible arrears (with a reason): DR contribution_deferred / CR
  receivable for the month's total, key ``write_off:<id>``. Money already matched to a partly
  paid month goes back to its payment as unallocated (there is no source for splitting part of a
  month into the funds; recognition is of whole months), where it can be matched or refunded.

Invariant (tested): a payer's receivable balance = Σ open months' outstanding − Σ payments'
unallocated; ``contribution_deferred`` = Σ totals of months neither recognised nor written off.

Back-payment (补缴) and continuity (DOMAIN §2.7, §5): a month paid after its due date is a
back-payment. Whether paying the arrears keeps continuity is the eligibility rule
(:func:`yibao.rules.eligibility.assess_eligibility`): a gap of at most
``eligibility.backpay_max_gap_months`` (3 under the 2021-11 national transfer rules), back-paid,
counts as continuous; a longer gap brings the region's waiting period
(``eligibility.waiting.after_gap_backpaid_months``, or ``after_gap_months`` if not back-paid).
:func:`backpay_quote` says which applies and cites the parameters.

Late-payment fees (滞纳金) are not computed: neither DOMAIN.md nor any policy file gives a
sourced rate or rule for medical-insurance contributions, so the quote shows the contributions
owed only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.admin import approvals, audit, ledger
from yibao.admin.accounts import recognise_month
from yibao.admin.ledger import credit, debit
from yibao.admin.policies import region_policy
from yibao.admin.uow import Actor, idempotent
from yibao.db.base import month_index, month_of, parse_month
from yibao.db.models.contribution import PAYERS, ContributionMonth, Payment, PaymentAllocation
from yibao.db.models.ledger import LedgerAccount
from yibao.db.models.register import Employer, Person
from yibao.errors import InputError, NoRuleError, UnknownParameterError
from yibao.money import fen_to_yuan_str
from yibao.policy.registry import Registry
from yibao.rules.eligibility import assess_eligibility, explain_eligibility

__all__ = [
    "CLOSED",
    "OPEN",
    "BackpayQuote",
    "Continuity",
    "OwedMonth",
    "allocations",
    "apply_unallocated",
    "arrears",
    "backpay_quote",
    "receivable",
    "recognise_pending",
    "record_payment",
    "refund",
    "write_off",
]

OPEN = ("due", "partial")
CLOSED = ("paid", "written_off")

CM = ContributionMonth


def _ym(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def _check_amount(amount_fen: object, field_name: str = "amount") -> int:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InputError(field_name, amount_fen, "金额应大于 0（单位：分）",
                         "the amount must be more than 0 (fen)")
    return amount_fen


def _check_reference(reference: object) -> str:
    if not isinstance(reference, str) or not reference.strip() or len(reference.strip()) > 64:
        raise InputError("reference", reference, "应为 1–64 个字符的银行流水号",
                         "expected the bank reference, 1 to 64 characters")
    return reference.strip()


def _check_payer(session: Session, region: str, payer_kind: str, payer_id: int) -> None:
    """The payer must be registered: a unit of this region, or a person."""
    if payer_kind not in PAYERS:
        raise InputError("payer_kind", payer_kind, "应为 employer（单位）或 person（个人）",
                         "expected employer or person")
    if payer_kind == "employer":
        emp = session.get(Employer, payer_id)
        if emp is None:
            raise InputError("payer", payer_id, "查无此缴费单位（未登记）",
                             "no such employer in the register")
        if emp.region_code != region:
            raise InputError("payer", emp.uscc, f"该单位登记在统筹地区 {emp.region_code}，不在 {region}",
                             f"the employer is registered in region {emp.region_code}, not {region}")
    elif session.get(Person, payer_id) is None:
        raise InputError("payer", payer_id, "查无此缴费人（未登记）", "no such person in the register")


def receivable(session: Session, region: str, payer_kind: str, payer_id: int) -> LedgerAccount:
    """The payer's receivable account (employer_receivable or person_receivable)."""
    kind = "employer_receivable" if payer_kind == "employer" else "person_receivable"
    return ledger.account(session, region, kind, payer_id)


def _months(months: Sequence[int | str] | None) -> list[int] | None:
    if not months:
        return None
    return sorted({parse_month(m, "months") for m in months})


def _open_rows(session: Session, region: str, payer_kind: str, payer_id: int,
               person_id: int | None = None, lock: bool = True) -> list[ContributionMonth]:
    """The payer's open months, oldest first; locked for the transaction when ``lock``."""
    q = (select(CM).where(CM.region_code == region, CM.payer_kind == payer_kind, CM.payer_id == payer_id,
                          CM.status.in_(OPEN))
         .order_by(CM.month, CM.id).execution_options(populate_existing=True))
    if person_id is not None:
        q = q.where(CM.person_id == person_id)
    if lock:
        q = q.with_for_update()
    return list(session.scalars(q))


def _refuse_month(session: Session, region: str, month: int, person_id: int | None,
                  payer: tuple[str, int] | None) -> None:
    """A named month with no open row: not assessed, or closed (paid / written off)."""
    q = select(CM.status).where(CM.region_code == region, CM.month == month)
    if person_id is not None:
        q = q.where(CM.person_id == person_id)
    if payer is not None:
        q = q.where(CM.payer_kind == payer[0], CM.payer_id == payer[1])
    statuses = sorted(set(session.scalars(q)))
    if not statuses:
        raise InputError("months", _ym(month), f"{_ym(month)} 尚未核定应缴费用，不能为该月缴费",
                         f"{_ym(month)} has not been assessed; no payment can be made for it")
    shown_zh = "、".join({"paid": "已缴足", "written_off": "已核销"}.get(s, s) for s in statuses)
    raise InputError("months", _ym(month),
                     f"{_ym(month)} 已结清（{shown_zh}），不能再为该月缴费；多缴款可申请退还",
                     f"{_ym(month)} is closed ({', '.join(statuses)}); no payment can be made for it; "
                     "an over-payment can be refunded")


def _allocate(session: Session, payment: Payment, rows: Sequence[ContributionMonth],
              registry: Registry | None) -> list[PaymentAllocation]:
    """Match the payment's unallocated money to ``rows`` in order; recognise months made whole."""
    left = payment.unallocated_fen
    made: list[PaymentAllocation] = []
    # one query each for the persons and their accounts, instead of two per month recognised
    people = {cm.person_id for cm in rows}
    ledger.prefetch(session, payment.region_code, "individual_account", people)
    _loaded = list(session.scalars(select(Person).where(Person.id.in_(people))))  # held: the map is weak
    for cm in rows:
        if left <= 0:
            break
        owed = cm.total_fen - cm.paid_fen
        if owed <= 0 or cm.status not in OPEN:
            continue
        take = min(owed, left)
        alloc = PaymentAllocation(payment_id=payment.id, contribution_month_id=cm.id, amount_fen=take)
        session.add(alloc)
        made.append(alloc)
        cm.paid_fen += take
        left -= take
        if cm.paid_fen == cm.total_fen:
            cm.status, cm.paid_on = "paid", payment.received_on
            # kept paid-but-unrecognised if a parameter is missing; recognise_pending() completes it
            with contextlib.suppress(UnknownParameterError, NoRuleError):
                recognise_month(session, cm, payment.received_on, registry)
        else:
            cm.status = "partial"
    payment.unallocated_fen = left
    session.flush()
    return made


def record_payment(session: Session, actor: Actor, region: str, payer_kind: str, payer_id: int,
                   amount_fen: int, received_on: dt.date, reference: str, key: str | None = None,
                   months: Sequence[int | str] | None = None, person_id: int | None = None,
                   registry: Registry | None = None) -> Payment:
    """Record money received from a payer and match it (module docstring).

    ``months`` (e.g. ``[202401, 202402]``) restricts matching to those months (a back-payment);
    a named month that is closed or not assessed is refused, naming the month, and nothing is
    recorded. ``person_id`` restricts an employer's payment to one employee's months. The same
    ``reference`` again returns the recorded payment if payer and amount agree, and is refused if
    they differ. ``key`` is an idempotency key (a replay returns the first payment).
    """
    actor.check_region(region)
    request = {"region": region, "payer_kind": payer_kind, "payer_id": payer_id, "amount_fen": amount_fen,
               "received_on": received_on.isoformat(), "reference": reference,
               "months": list(months or []), "person_id": person_id}

    def do() -> dict[str, Any]:
        _check_amount(amount_fen)
        ref = _check_reference(reference)
        region_policy(session, region, registry)
        _check_payer(session, region, payer_kind, payer_id)
        named = _months(months)
        existing = session.scalar(select(Payment).where(Payment.region_code == region,
                                                        Payment.reference == ref))
        if existing is not None:
            if (existing.kind, existing.payer_kind, existing.payer_id, existing.amount_fen) == \
                    ("payment", payer_kind, payer_id, amount_fen):
                return {"payment_id": existing.id}
            raise InputError(
                "reference", ref,
                f"该银行流水号已登记为另一笔{'退款' if existing.kind == 'refund' else '缴费'}"
                f"（付款人 {existing.payer_kind}:{existing.payer_id}，金额 "
                f"{fen_to_yuan_str(existing.amount_fen)} 元），与本次不一致",
                f"this bank reference is already recorded as another {existing.kind} (payer "
                f"{existing.payer_kind}:{existing.payer_id}, {fen_to_yuan_str(existing.amount_fen)} "
                "yuan), which differs from this one")
        rows = _open_rows(session, region, payer_kind, payer_id, person_id)
        if named is not None:
            have = {cm.month for cm in rows}
            for m in named:
                if m not in have:
                    _refuse_month(session, region, m, person_id, (payer_kind, payer_id))
            rows = [cm for cm in rows if cm.month in named]
        payment = Payment(region_code=region, payer_kind=payer_kind, payer_id=payer_id, amount_fen=amount_fen,
                          unallocated_fen=amount_fen, received_on=received_on, reference=ref, kind="payment")
        session.add(payment)
        session.flush()  # a concurrent twin with the same reference fails here; run() retries
        ledger.post(session, f"payment:{payment.id}", "contribution_payment", region, received_on,
                    [debit(ledger.account(session, region, "cash"), amount_fen),
                     credit(receivable(session, region, payer_kind, payer_id), amount_fen)],
                    reference=f"payment:{payment.id}", memo=f"bank {ref}")
        _allocate(session, payment, rows, registry)
        audit.record(session, actor, "payment.record", payer_kind, payer_id,
                     ("amount_fen", "reference", "months"), region)
        return {"payment_id": payment.id}

    resp = idempotent(session, key, "pay.record", request, do)
    found = session.get(Payment, int(resp["payment_id"]))
    assert found is not None
    return found


def allocations(session: Session, payment_id: int) -> list[tuple[PaymentAllocation, ContributionMonth]]:
    """The months a payment was matched to (a negative row is money released by a write-off)."""
    q = (select(PaymentAllocation, CM).join(CM, CM.id == PaymentAllocation.contribution_month_id)
         .where(PaymentAllocation.payment_id == payment_id).order_by(PaymentAllocation.id))
    return [(a, c) for a, c in session.execute(q).all()]


def apply_unallocated(session: Session, actor: Actor, region: str, payer_kind: str, payer_id: int,
                      registry: Registry | None = None) -> list[PaymentAllocation]:
    """Match a payer's earlier over-payments to months assessed since (oldest payment and month
    first), e.g. after a monthly assessment run."""
    actor.check_region(region)
    _check_payer(session, region, payer_kind, payer_id)
    rows = _open_rows(session, region, payer_kind, payer_id)
    pays = list(session.scalars(
        select(Payment).where(Payment.region_code == region, Payment.payer_kind == payer_kind,
                              Payment.payer_id == payer_id, Payment.kind == "payment",
                              Payment.unallocated_fen > 0)
        .order_by(Payment.received_on, Payment.id).with_for_update()
        .execution_options(populate_existing=True)))
    made: list[PaymentAllocation] = []
    for p in pays:
        made += _allocate(session, p, rows, registry)
    if made:
        audit.record(session, actor, "payment.match", payer_kind, payer_id, ("payment_allocation",), region)
    return made


def recognise_pending(session: Session, region: str, registry: Registry | None = None) -> int:
    """Recognise paid months that were left unrecognised because a parameter was missing."""
    rows = list(session.scalars(select(CM).where(CM.region_code == region, CM.status == "paid",
                                                 CM.recognised.is_(False)).with_for_update()))
    for cm in rows:
        assert cm.paid_on is not None
        recognise_month(session, cm, cm.paid_on, registry)
    return len(rows)


def refund(session: Session, actor: Actor, region: str, amount_fen: int, on_date: dt.date, reference: str,
           key: str | None = None, payment_id: int | None = None, payer_kind: str | None = None,
           payer_id: int | None = None) -> Payment:
    """Refund over-payment: from one payment (``payment_id``) or from the payer's over-payments,
    oldest first. Only unallocated money can be refunded; more is refused, naming what can be.
    Posts DR receivable / CR cash; recorded as a payment row of kind ``refund``."""
    actor.check_region(region)
    request = {"region": region, "amount_fen": amount_fen, "on_date": on_date.isoformat(),
               "reference": reference, "payment_id": payment_id, "payer_kind": payer_kind,
               "payer_id": payer_id}

    def do() -> dict[str, Any]:
        _check_amount(amount_fen)
        ref = _check_reference(reference)
        region_policy(session, region)
        if (payment_id is None) == (payer_kind is None or payer_id is None):
            raise InputError("payment_id", payment_id, "应给出要退款的付款编号，或缴费人（二者之一）",
                             "give either the payment to refund or the payer, not both")
        if payment_id is not None:
            sources = list(session.scalars(select(Payment).where(Payment.id == payment_id).with_for_update()
                                           .execution_options(populate_existing=True)))
            if not sources or sources[0].kind != "payment" or sources[0].region_code != region:
                raise InputError("payment_id", payment_id, f"统筹地区 {region} 没有这笔缴费",
                                 f"no such payment in region {region}")
            kind, pid = sources[0].payer_kind, sources[0].payer_id
        else:
            assert payer_kind is not None and payer_id is not None
            _check_payer(session, region, payer_kind, payer_id)
            kind, pid = payer_kind, payer_id
            sources = list(session.scalars(
                select(Payment).where(Payment.region_code == region, Payment.payer_kind == kind,
                                      Payment.payer_id == pid, Payment.kind == "payment",
                                      Payment.unallocated_fen > 0)
                .order_by(Payment.received_on, Payment.id).with_for_update()
                .execution_options(populate_existing=True)))
        existing = session.scalar(select(Payment).where(Payment.region_code == region,
                                                        Payment.reference == ref))
        if existing is not None:
            if (existing.kind, existing.payer_kind, existing.payer_id, existing.amount_fen) == \
                    ("refund", kind, pid, amount_fen):
                return {"payment_id": existing.id}
            raise InputError("reference", ref, "该银行流水号已登记为另一笔缴费或退款",
                             "this bank reference is already recorded for another payment or refund")
        sources = [p for p in sources if p.unallocated_fen > 0 and p.received_on <= on_date]
        available = sum(p.unallocated_fen for p in sources)
        if amount_fen > available:
            raise InputError(
                "amount", fen_to_yuan_str(amount_fen),
                f"只能退还多缴且未冲抵的金额；截至 {on_date} 可退 {fen_to_yuan_str(available)} 元",
                f"only over-paid, unallocated money can be refunded; {fen_to_yuan_str(available)} yuan "
                f"can be refunded as of {on_date}")
        rf = Payment(region_code=region, payer_kind=kind, payer_id=pid, amount_fen=amount_fen,
                     unallocated_fen=0, received_on=on_date, reference=ref, kind="refund",
                     refund_of_id=sources[0].id if payment_id is not None or len(sources) == 1 else None)
        session.add(rf)
        session.flush()
        left = amount_fen
        drawn = []
        for p in sources:
            take = min(left, p.unallocated_fen)
            if take:
                p.unallocated_fen -= take
                left -= take
                drawn.append(f"{p.id}:{take}")
        if rf.refund_of_id is None and len(drawn) == 1:
            rf.refund_of_id = int(drawn[0].split(":")[0])
        ledger.post(session, f"refund:{rf.id}", "contribution_refund", region, on_date,
                    [debit(receivable(session, region, kind, pid), amount_fen),
                     credit(ledger.account(session, region, "cash"), amount_fen)],
                    reference=f"refund:{rf.id}", memo=f"bank {ref}; from payments {', '.join(drawn)}"[:256])
        audit.record(session, actor, "payment.refund", kind, pid, ("amount_fen", "reference"), region)
        return {"payment_id": rf.id}

    resp = idempotent(session, key, "pay.refund", request, do)
    found = session.get(Payment, int(resp["payment_id"]))
    assert found is not None
    return found


def write_off(session: Session, actor: Actor, region: str, contribution_month_ids: Sequence[int], reason: str,
              on_date: dt.date, key: str | None = None) -> list[ContributionMonth]:
    """Write off uncollectible arrears (核销): each month ``written_off`` with the reason and date;
    DR contribution_deferred / CR receivable for its total (module docstring). A closed month is
    refused, naming it. A second person approves every write-off (four-eyes,
    :mod:`yibao.admin.approvals`): the audit rows name both."""
    actor.check_region(region)
    ids = sorted(set(contribution_month_ids))
    request = {"region": region, "ids": ids, "reason": reason, "on_date": on_date.isoformat()}

    def do() -> dict[str, Any]:
        why = (reason or "").strip()
        if not why or len(why) > 256:
            raise InputError("reason", reason, "核销须写明原因（1–256 个字符）",
                             "a write-off needs a reason (1 to 256 characters)")
        if not ids:
            raise InputError("months", ids, "应至少给出一个待核销月份",
                             "name at least one month to write off")
        rows = {cm.id: cm for cm in session.scalars(
            select(CM).where(CM.id.in_(ids)).order_by(CM.id).with_for_update()
            .execution_options(populate_existing=True))}
        for i in ids:
            cm = rows.get(i)
            if cm is None or cm.region_code != region:
                raise InputError("contribution_month", i, f"统筹地区 {region} 没有该核定月份",
                                 f"no such assessed month in region {region}")
            if cm.status not in OPEN:
                raise InputError("months", _ym(cm.month), f"{_ym(cm.month)} 已结清（{cm.status}），不能核销",
                                 f"{_ym(cm.month)} is closed ({cm.status}) and cannot be written off")
        owed = sum(rows[i].total_fen for i in ids)
        approvals.check(session, actor, approvals.Command(
            "write_off", region, {**request, "key": key}, "contribution_month", ids[0],
            f"核销 {len(ids)} 个月欠费共 {fen_to_yuan_str(owed)} 元：{why}",
            f"write off {len(ids)} month(s), {fen_to_yuan_str(owed)} yuan: {why}"))
        deferred = ledger.account(session, region, "contribution_deferred")
        for i in ids:
            cm = rows[i]
            if cm.paid_fen:
                net = (select(PaymentAllocation.payment_id, func.sum(PaymentAllocation.amount_fen))
                       .where(PaymentAllocation.contribution_month_id == cm.id)
                       .group_by(PaymentAllocation.payment_id).order_by(PaymentAllocation.payment_id))
                for pay_id, amt in session.execute(net).all():
                    if int(amt) <= 0:
                        continue
                    pay = session.scalar(select(Payment).where(Payment.id == pay_id).with_for_update()
                                         .execution_options(populate_existing=True))
                    assert pay is not None
                    pay.unallocated_fen += int(amt)
                    session.add(PaymentAllocation(payment_id=pay_id, contribution_month_id=cm.id,
                                                  amount_fen=-int(amt)))
            ledger.post(session, f"write_off:{cm.id}", "contribution_write_off", region, on_date,
                        [debit(deferred, cm.total_fen),
                         credit(receivable(session, region, cm.payer_kind, cm.payer_id), cm.total_fen)],
                        reference=f"contribution_month:{cm.id}", memo=f"write-off {cm.month}: {why}"[:256])
            cm.status, cm.paid_fen, cm.written_off_on, cm.write_off_reason = "written_off", 0, on_date, why
            audit.record(session, actor, "contribution.write_off", "contribution_month", cm.id,
                         ("status", "write_off_reason"), region)
        return {"ids": ids}

    idempotent(session, key, "pay.write_off", request, do)
    return [r for r in session.scalars(select(CM).where(CM.id.in_(ids)).order_by(CM.id))]


def write_off_from(session: Session, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """Do an approved write-off (:mod:`yibao.admin.approvals`)."""
    done = write_off(session, actor, payload["region"], payload["ids"], payload["reason"],
                     dt.date.fromisoformat(payload["on_date"]), payload.get("key"))
    return {"written_off": [cm.id for cm in done]}


# -- arrears and back-payment -----------------------------------------------------------------
@dataclass(frozen=True)
class OwedMonth:
    contribution_month_id: int
    person_id: int
    month: int
    category: str
    due_date: str
    total_fen: int
    paid_fen: int
    owed_fen: int
    status: str
    overdue: bool  # due date passed: paying it is a back-payment (补缴)


@dataclass(frozen=True)
class Continuity:
    """What paying the quoted months means for one person's continuity (DOMAIN §5)."""

    person_id: int
    gap_months: int  # the longest run of consecutive unpaid overdue months (0: no gap)
    gap_from: int | None
    gap_to: int | None
    backpaid_by_quote: bool  # the quote pays every month of that gap
    max_gap_months: int | None  # eligibility.backpay_max_gap_months (None: unknown)
    continuity_kept: bool | None  # None: the region's rule is not known
    waiting_months_if_paid: int | None
    waiting_months_if_not_paid: int | None
    reduced_share_bp: int | None
    unknown: list[str] = field(default_factory=list)
    explanation_zh: str = ""
    explanation_en: str = ""


@dataclass(frozen=True)
class BackpayQuote:
    region: str
    as_of: str
    months: list[OwedMonth]
    total_owed_fen: int
    continuity: list[Continuity]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def arrears(session: Session, region: str, as_of: dt.date, person_id: int | None = None,
            payer: tuple[str, int] | None = None) -> list[OwedMonth]:
    """Open months (due / partial) of a person or payer whose due date is before ``as_of``."""
    return [m for m in _owed(session, region, as_of, person_id, payer, None) if m.overdue]


def _owed(session: Session, region: str, as_of: dt.date, person_id: int | None,
          payer: tuple[str, int] | None, named: list[int] | None) -> list[OwedMonth]:
    q = select(CM).where(CM.region_code == region, CM.status.in_(OPEN))
    if person_id is not None:
        q = q.where(CM.person_id == person_id)
    if payer is not None:
        q = q.where(CM.payer_kind == payer[0], CM.payer_id == payer[1])
    if named is not None:
        q = q.where(CM.month.in_(named))
    return [OwedMonth(c.id, c.person_id, c.month, c.category, c.due_date.isoformat(), c.total_fen, c.paid_fen,
                      c.total_fen - c.paid_fen, c.status, c.due_date < as_of)
            for c in session.scalars(q.order_by(CM.person_id, CM.month, CM.id))]


def _runs(months: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive months: ``[202401, 202402, 202405]`` → ``[(202401, 202402), (202405, 202405)]``."""
    out: list[tuple[int, int]] = []
    for m in sorted(set(months)):
        if out and month_index(m) == month_index(out[-1][1]) + 1:
            out[-1] = (out[-1][0], m)
        else:
            out.append((m, m))
    return out


def _continuity(session: Session, region: str, as_of: dt.date, person_id: int, overdue: list[OwedMonth],
                paying: set[int], registry: Registry | None) -> Continuity:
    runs = _runs([m.month for m in overdue])
    if not runs:
        return Continuity(person_id, 0, None, None, True, None, True, 0, 0, None, [],
                          "无欠缴月份，参保连续", "no months in arrears: enrolment is continuous")
    start, end = max(runs, key=lambda r: (month_index(r[1]) - month_index(r[0]), r[1]))
    gap = month_index(end) - month_index(start) + 1
    covered = all(o.month in paying for o in overdue if start <= o.month <= end)
    flexible = any(o.category in ("flexible", "new_form") for o in overdue)
    snap = region_policy(session, region, registry).at(as_of)
    unknown: list[str] = []
    svc = month_index(month_of(as_of))
    waits: dict[bool, int | None] = {}
    explain: tuple[str, str] = ("", "")
    share: int | None = None
    for paid in (True, False):
        try:
            cols = assess_eligibility(snap, [svc], [month_index(end) + 1], [gap], [paid], [flexible])
            waits[paid] = int(cols.waiting_months[0])
            if paid == covered:
                ex = explain_eligibility(snap, cols, 0, svc)
                explain = (ex.render("zh"), ex.render("en"))
                if waits[paid]:
                    share = int(snap.get("eligibility.waiting.reduced_share"))
        except (UnknownParameterError, NoRuleError) as exc:
            waits[paid] = None
            k = getattr(exc, "key", None)
            if k and k not in unknown:
                unknown.append(k)
            if paid == covered:
                explain = (exc.zh, exc.en)
    max_gap: int | None = None
    try:
        max_gap = int(snap.get("eligibility.backpay_max_gap_months"))
    except (UnknownParameterError, NoRuleError):
        unknown.append("eligibility.backpay_max_gap_months")
    kept: bool | None = None if max_gap is None else covered and gap <= max_gap
    w_paid, w_not = waits[True], waits[False]
    span = f"{_ym(start)}–{_ym(end)}"
    lim = "未知" if max_gap is None else str(max_gap)
    if kept:
        res_zh = "补缴后视为连续参保，断保期间待遇可追溯"
        res_en = "once paid, enrolment counts as continuous and the gap is covered retroactively"
    elif covered:
        res_zh = f"补缴后仍超过可补缴月数，等待期 {'未知（需来源）' if w_paid is None else f'{w_paid} 个月'}"
        res_en = (f"even once paid the gap exceeds the limit: waiting period "
                  f"{'unknown (source needed)' if w_paid is None else f'{w_paid} months'}")
    else:
        res_zh = "本次未补清该断保期间，不视为补缴"
        res_en = "this payment does not cover the whole gap, so it is not back-paid"
    not_zh = "未知（需来源）" if w_not is None else f"{w_not} 个月"
    not_en = "unknown (source needed)" if w_not is None else f"{w_not} months"
    head_zh = (f"人员 {person_id}：断保 {span} 共 {gap} 个月；可补缴视为连续的最长断保月数 {lim}"
               f"（eligibility.backpay_max_gap_months，2021-11 转移接续暂行办法）。{res_zh}；"
               f"若不补缴，等待期 {not_zh}。")
    head_en = (f"person {person_id}: gap {span}, {gap} months; longest gap that back-payment keeps "
               f"continuous: {lim if max_gap is not None else 'unknown'} "
               f"(eligibility.backpay_max_gap_months, 2021-11 national transfer rules). {res_en}; "
               f"if not paid, waiting period {not_en}.")
    return Continuity(person_id, gap, start, end, covered, max_gap, kept, w_paid, w_not, share, unknown,
                      f"{head_zh}\n{explain[0]}", f"{head_en}\n{explain[1]}")


def backpay_quote(session: Session, region: str, *, as_of: dt.date, person_id: int | None = None,
                  payer: tuple[str, int] | None = None, months: Sequence[int | str] | None = None,
                  registry: Registry | None = None, actor: Actor | None = None) -> BackpayQuote:
    """The months owed (named, or every overdue open month) and their amount, and per person
    whether paying them keeps continuity or which waiting period applies after a longer gap
    (module docstring; DOMAIN §2.7, §5). No late-payment fee is added (none is sourced)."""
    if (person_id is None) == (payer is None):
        raise InputError("person_id", person_id, "应给出人员或缴费单位（二者之一）",
                         "give either the person or the payer, not both")
    region_policy(session, region, registry)
    if person_id is not None and session.get(Person, person_id) is None:
        raise InputError("person_id", person_id, "查无此人（未登记）", "no such person in the register")
    if payer is not None:
        _check_payer(session, region, payer[0], payer[1])
    if actor is not None:
        actor.check_region(region)
        subject = ("person", person_id) if person_id is not None else payer
        assert subject is not None
        audit.record(session, actor, "contribution.quote", subject[0], subject[1], ("contribution_month",),
                     region)
    named = _months(months)
    if named is not None:
        found = {m.month for m in _owed(session, region, as_of, person_id, payer, named)}
        for m in named:
            if m not in found:
                _refuse_month(session, region, m, person_id, payer)
        quoted = _owed(session, region, as_of, person_id, payer, named)
    else:
        quoted = [m for m in _owed(session, region, as_of, person_id, payer, None) if m.overdue]
    all_overdue = [m for m in _owed(session, region, as_of, person_id, payer, None) if m.overdue]
    persons = sorted({m.person_id for m in quoted} | ({person_id} if person_id is not None else set()))
    cont = []
    for pid in persons:
        paying = {m.month for m in quoted if m.person_id == pid}
        cont.append(_continuity(session, region, as_of, pid, [m for m in all_overdue if m.person_id == pid],
                                paying, registry))
    return BackpayQuote(region, as_of.isoformat(), quoted, sum(m.owed_fen for m in quoted), cont)

