"""Transfer and continuation (转移接续) between two pooling regions of one installation.

The rule is :mod:`yibao.rules.transfer` (基本医疗保险关系转移接续暂行办法, NHSA and MOF general offices,
2021-11, PD national_rules ``relationship_transfer_and_gaps``; DOMAIN §7); this module keeps the
record and moves the money.

- :func:`transfer_out` — the source region ends the member's employee enrollment (``end_reason
  transfer_out``) and issues the 参保凭证: a :class:`~yibao.db.models.cases.TransferCase` listing
  the periods it carries, by kind (actual / deemed / back-paid), and the account balance. A period
  is one run of consecutive paid months of one kind, the history the region recorded
  (:class:`~yibao.db.models.cases.ContributionPeriod`), and the periods an earlier transfer into the
  region recognised (a chain A → B → C carries A's recognised months on to C).
- :func:`transfer_in` — the receiving region recognises the periods with
  :func:`~yibao.rules.transfer.recognise_transfer` on its own policy on the first day of the start
  month (its ``transfer.years_conversion_ratio`` converts the periods paid elsewhere — unknown in
  every shipped region, so the calculation stops naming that key until a region file supplies
  it), measures the gap between the end and start months (at most
  ``eligibility.backpay_max_gap_months`` may be back-paid: the amount due is listed; a longer gap
  brings the receiving region's waiting rule, reported by
  :func:`~yibao.rules.eligibility.assess_eligibility`), moves the account balance when
  ``transfer.account_balance_follows`` in ONE ledger transfer across the two regions —
  DR individual_account(person, A) / CR cash(A); DR cash(B) / CR individual_account(person, B)
  (admin.md's ledger flow) — creates the new enrollment and stores the explanation on the case.
- :func:`complete_transfer` — a case received with a back-payable gap is completed once the gap
  months are paid, or when the member declines to back-pay (the waiting rule then applies).

Every write takes an idempotency key; bad input raises a bilingual error and changes nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yibao.admin import audit, ledger
from yibao.admin.ledger import credit, debit
from yibao.admin.policies import region_policy
from yibao.admin.uow import Actor, idempotent
from yibao.db.base import add_months, first_day, month_index, month_of, parse_month, ym_from_index
from yibao.db.models.cases import PERIOD_KINDS, ContributionPeriod, TransferCase, TransferPeriod
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ledger import LedgerAccount
from yibao.db.models.register import Employer, Person, Region
from yibao.errors import InputError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.contribution import ContributionParams, assess_contributions, person_type_codes
from yibao.rules.eligibility import assess_eligibility, explain_eligibility
from yibao.rules.transfer import KINDS, explain_transfer, recognise_transfer

__all__ = [
    "EMPLOYEE_CATEGORIES",
    "Record",
    "complete_transfer",
    "count_record",
    "resolve_region",
    "show_transfer",
    "transfer_in",
    "transfer_out",
]

#: Categories an employee enrollment can be transferred out of and into (retirees are not moved:
#: their cover follows the retirement region, DOMAIN §6).
EMPLOYEE_CATEGORIES = ("in_service", "flexible", "new_form")
EFFECTIVE = ("received", "completed")  # statuses in which a case's recognition is in force
CM = ContributionMonth


# -- shared helpers (also used by yibao.admin.retirement) --------------------------------------
def resolve_region(session: Session, name: str, field_name: str = "region") -> str:
    """The code of a region of this installation, given its code (110000), the name of its policy
    file (beijing) or its name (北京 / Beijing)."""
    text = str(name).strip()
    low = text.lower()
    for r in session.scalars(select(Region).order_by(Region.code)):
        if low in (r.code, r.policy.lower(), r.name_zh, r.name_en.lower()) or \
                text.rstrip("市省") == r.name_zh.rstrip("市省"):
            return r.code
    known = ", ".join(f"{r.code}/{r.policy}" for r in session.scalars(select(Region).order_by(Region.code)))
    raise InputError(field_name, name, f"不是本系统登记的统筹地区；已登记：{known or '无'}",
                     f"not a pooling region of this installation; registered: {known or 'none'}")


def snapshot(session: Session, region: str, day: dt.date, registry: Registry | None) -> Snapshot:
    return region_policy(session, region, registry).at(day)


def person_or_error(session: Session, person_id: int, field_name: str = "person_id") -> Person:
    p = session.get(Person, person_id) if isinstance(person_id, int) and not isinstance(person_id, bool) \
        else None
    if p is None:
        raise InputError(field_name, person_id, "查无此人（未登记）", "no such person in the register")
    return p


def month_arg(value: object, field_name: str) -> int:
    return parse_month(value, field_name)


def ym_text(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def last_day(month: int) -> dt.date:
    y, m = month // 100, month % 100
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def months_between(first: int, last: int) -> list[int]:
    """Every month from ``first`` to ``last`` inclusive (YYYYMM)."""
    return [ym_from_index(i) for i in range(month_index(first), month_index(last) + 1)]


def province(code: str) -> str:
    """The province of a GB/T 2260 code (its first two digits)."""
    return code[:2]


def ia_balance(session: Session, region: str, person_id: int, as_of: dt.date | None = None) -> int:
    """The person's individual-account balance in ``region`` (0 if the account does not exist)."""
    acc = session.scalar(select(LedgerAccount).where(
        LedgerAccount.code == ledger.account_code(region, "individual_account", person_id)))
    return 0 if acc is None else ledger.balance(session, acc, as_of)


def runs(months: dict[int, str]) -> list[tuple[int, int, str]]:
    """Consecutive months of the same kind as ``(from, to, kind)`` runs, oldest first."""
    out: list[tuple[int, int, str]] = []
    for m in sorted(months):
        k = months[m]
        if out and out[-1][2] == k and month_index(out[-1][1]) + 1 == month_index(m):
            out[-1] = (out[-1][0], m, k)
        else:
            out.append((m, m, k))
    return out


# -- what a person's record holds --------------------------------------------------------------
@dataclass
class Carried:
    """What received transfer cases carry, so it is not counted twice: contribution months
    (region, month), history rows, and the cases a later case carried on (not heads)."""

    months: set[tuple[str, int]] = field(default_factory=set)
    history_ids: set[int] = field(default_factory=set)
    heads: list[TransferCase] = field(default_factory=list)


def carried(session: Session, person_id: int, as_of: dt.date | None = None) -> Carried:
    q = select(TransferCase).where(TransferCase.person_id == person_id, TransferCase.status.in_(EFFECTIVE))
    if as_of is not None:
        q = q.where(TransferCase.received_on <= as_of)
    cases = list(session.scalars(q.order_by(TransferCase.id)))
    out = Carried()
    if not cases:
        return out
    ids = [c.id for c in cases]
    carried_on = {c.carries_case_id for c in cases if c.carries_case_id is not None}
    out.heads = [c for c in cases if c.id not in carried_on]
    for p in session.scalars(select(TransferPeriod).where(TransferPeriod.case_id.in_(ids))):
        if p.origin == "contribution_month":
            out.months.update((p.region_code, m) for m in months_between(p.from_month, p.to_month))
        elif p.origin == "history" and p.history_id is not None:
            out.history_ids.add(p.history_id)
    return out


def paid_months(session: Session, person_id: int, as_of: dt.date | None,
                region: str | None = None, through: int | None = None) -> dict[tuple[str, int], str]:
    """Paid contribution months ``(region, month) → kind``: ``back_paid`` when paid after the due
    date (补缴), else ``actual``. Only months paid by ``as_of`` and not after ``through``."""
    q = select(CM.region_code, CM.month, CM.due_date, CM.paid_on).where(
        CM.person_id == person_id, CM.status == "paid")
    if region is not None:
        q = q.where(CM.region_code == region)
    if as_of is not None:
        q = q.where(or_(CM.paid_on.is_(None), CM.paid_on <= as_of))
    if through is not None:
        q = q.where(CM.month <= through)
    out: dict[tuple[str, int], str] = {}
    for reg, month, due, paid_on in session.execute(q):
        kind = "back_paid" if paid_on is not None and paid_on > due else "actual"
        if out.get((reg, month)) != "actual":  # two rows in one month: one on-time payment is enough
            out[(reg, month)] = kind
    return out


def history(session: Session, person_id: int, region: str | None = None,
            as_of: dt.date | None = None) -> list[ContributionPeriod]:
    q = select(ContributionPeriod).where(ContributionPeriod.person_id == person_id)
    if region is not None:
        q = q.where(ContributionPeriod.region_code == region)
    if as_of is not None:
        q = q.where(ContributionPeriod.from_month <= month_of(as_of))
    return list(session.scalars(q.order_by(ContributionPeriod.from_month, ContributionPeriod.id)))


@dataclass(frozen=True)
class Record:
    """A person's months as a retirement check counts them in ``region`` (DOMAIN §6)."""

    actual_months: int  # paid, in any region (incl. recognised ones in the region's province)
    local_actual_months: int  # of which paid in the region's province
    deemed_months: int
    transferred_months: int  # recognised by a transfer, paid outside the province
    shortfall_paid_months: int  # included in actual and local (one-off shortfall payments)
    sources: list[dict[str, Any]]


def count_record(session: Session, person_id: int, region: str, on_date: dt.date,
                 shortfall_paid: int = 0) -> Record:
    """Count the person's months for a retirement in ``region`` on ``on_date``.

    - Months no received transfer carries count as they are: paid contribution months of every
      region of the installation and the recorded history (actual / back-paid; deemed apart),
      each month once.
    - The latest transfer cases (not carried on by a later one) count with what the receiving
      region recognised: deemed → deemed; paid months of the region's province → actual and local;
      others → transferred.
    - "Local" is the region's province (first two digits of the code): Changsha's 10 years must be
      "actually paid in the province" (长沙市职工基本医疗保险管理办法, PD changsha), the only sourced
      local minimum; for Beijing and Shanghai the province is the city.
    """
    through = month_of(on_date)
    car = carried(session, person_id, on_date)
    prov = province(region)
    actual: set[int] = set()
    local: set[int] = set()
    for (reg, month), _ in paid_months(session, person_id, on_date, through=through).items():
        if (reg, month) in car.months:
            continue
        actual.add(month)
        if province(reg) == prov:
            local.add(month)
    deemed_set: set[int] = set()
    sources: list[dict[str, Any]] = []
    for h in history(session, person_id, as_of=on_date):
        if h.id in car.history_ids:
            continue
        ms = [m for m in months_between(h.from_month, h.to_month) if m <= through]
        if h.kind == "deemed":
            deemed_set.update(ms)
        else:
            actual.update(ms)
            if province(h.region_code) == prov:
                local.update(ms)
        sources.append({"history_id": h.id, "region": h.region_code, "from": ym_text(h.from_month),
                        "to": ym_text(h.to_month), "kind": h.kind, "document": h.source_document})
    rec_actual = rec_local = rec_deemed = rec_transferred = 0
    if car.heads:
        periods = session.scalars(select(TransferPeriod).where(
            TransferPeriod.case_id.in_([c.id for c in car.heads])).order_by(TransferPeriod.id))
        for p in periods:
            n = int(p.recognised_months or 0)
            if p.kind == "deemed":
                rec_deemed += n
            elif province(p.region_code) == prov:
                rec_actual += n
                rec_local += n
            else:
                rec_transferred += n
        sources += [{"transfer_case": c.id, "from_region": c.from_region, "to_region": c.to_region,
                     "recognised_months": c.recognised_months} for c in car.heads]
    deemed = len(deemed_set - actual) + rec_deemed
    return Record(len(actual) + rec_actual + shortfall_paid, len(local) + rec_local + shortfall_paid,
                  deemed, rec_transferred, shortfall_paid, sources)


# -- the case as the API returns it -------------------------------------------------------------
def _periods(session: Session, case_id: int) -> list[TransferPeriod]:
    return list(session.scalars(select(TransferPeriod).where(TransferPeriod.case_id == case_id)
                                .order_by(TransferPeriod.seq)))


def case_view(session: Session, c: TransferCase) -> dict[str, Any]:
    """The case as a JSON-able dict (fen as integers, months as YYYY-MM)."""
    def opt_month(m: int | None) -> str | None:
        return ym_text(m) if m is not None else None

    return {
        "case_id": c.id, "person_id": c.person_id, "status": c.status,
        "from_region": c.from_region, "to_region": c.to_region,
        "from_enrollment_id": c.from_enrollment_id, "to_enrollment_id": c.to_enrollment_id,
        "from_category": c.from_category, "category": c.category, "employer_id": c.employer_id,
        "end_month": ym_text(c.end_month), "start_month": opt_month(c.start_month),
        "issued_on": c.issued_on.isoformat(),
        "received_on": c.received_on.isoformat() if c.received_on else None,
        "completed_on": c.completed_on.isoformat() if c.completed_on else None,
        "carried_months": {"actual": c.actual_months, "deemed": c.deemed_months,
                           "back_paid": c.back_paid_months},
        "unpaid_months_not_carried": c.unpaid_months,
        "carries_case_id": c.carries_case_id,
        "gap_months": c.gap_months,
        "local_months": c.local_months, "transferred_months": c.transferred_months,
        "recognised_months": c.recognised_months,
        "recognised_by_kind": None if c.recognised_months is None else {
            "actual": c.recognised_actual_months, "deemed": c.recognised_deemed_months,
            "back_paid": c.recognised_back_paid_months},
        "backpay_months": c.backpay_months, "monthly_due_fen": c.monthly_due_fen,
        "backpay_due_fen": c.backpay_due_fen,
        "balance_at_issue_fen": c.balance_at_issue_fen, "balance_moved_fen": c.balance_moved_fen,
        "waiting_months": c.waiting_months, "benefit_start_month": opt_month(c.benefit_start_month),
        "full_benefit_month": opt_month(c.full_benefit_month),
        "ledger_transfer_id": c.ledger_transfer_id,
        "periods": [{"seq": p.seq, "region": p.region_code, "from": ym_text(p.from_month),
                     "to": ym_text(p.to_month), "months": p.months, "kind": p.kind, "origin": p.origin,
                     "local": p.local, "recognised_months": p.recognised_months}
                    for p in _periods(session, c.id)],
        "explanation": json.loads(c.explanation) if c.explanation else None,
    }


def _case(session: Session, case_id: object, lock: bool = False) -> TransferCase:
    c = None
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        c = session.get(TransferCase, case_id, with_for_update=lock, populate_existing=lock)
    if c is None:
        raise InputError("case_id", case_id, "查无此转移接续单", "no such transfer case")
    return c


# -- transfer out -------------------------------------------------------------------------------
def _source_enrollment(session: Session, person_id: int, region: str, end_month: int) -> Enrollment:
    """The employee enrollment the transfer ends: the active one in ``region`` (ended here), or
    one that already ended at ``end_month`` and was not transferred yet."""
    active = session.scalar(select(Enrollment).where(
        Enrollment.person_id == person_id, Enrollment.region_code == region,
        Enrollment.scheme == "employee", Enrollment.status == "active").with_for_update())
    if active is not None:
        if active.category not in EMPLOYEE_CATEGORIES:
            raise InputError("person_id", person_id,
                             f"该人员在 {region} 为{active.category}参保，"
                             "只能转出在职、灵活就业或新业态参保关系",
                             f"the person is enrolled in {region} as {active.category}; only in-service, "
                             "flexible and new-form enrollments are transferred")
        if end_month < active.start_month:
            raise InputError("end_month", ym_text(end_month),
                             f"不能早于参保开始月 {ym_text(active.start_month)}",
                             f"cannot be before the enrollment's start month {ym_text(active.start_month)}")
        later = session.scalar(select(func.min(CM.month)).where(CM.enrollment_id == active.id,
                                                                CM.month > end_month))
        if later is not None:
            raise InputError("end_month", ym_text(end_month),
                             f"{ym_text(int(later))} 及以后月份已核定缴费；终止月不能早于已核定月份",
                             f"{ym_text(int(later))} and later are already assessed; the end month "
                             "cannot precede assessed months")
        active.end_month, active.status, active.end_reason = end_month, "ended", "transfer_out"
        session.flush()
        return active
    ended = session.scalar(select(Enrollment).where(
        Enrollment.person_id == person_id, Enrollment.region_code == region,
        Enrollment.scheme == "employee", Enrollment.status == "ended",
        Enrollment.category.in_(EMPLOYEE_CATEGORIES)).order_by(Enrollment.end_month.desc(),
                                                               Enrollment.id.desc()).limit(1))
    if ended is None:
        raise InputError("person_id", person_id, f"该人员在统筹地区 {region} 没有职工医保参保关系，无从转出",
                         f"the person has no employee enrollment in region {region} to transfer out of")
    if ended.end_month != end_month:
        raise InputError("end_month", ym_text(end_month),
                         f"该人员在 {region} 的参保已于 {ym_text(ended.end_month or 0)} 终止，"
                         "终止月应与之一致",
                         f"the person's enrollment in {region} already ended in "
                         f"{ym_text(ended.end_month or 0)}; the end month must be that month")
    issued = session.scalar(select(TransferCase.id).where(TransferCase.from_enrollment_id == ended.id))
    if issued is not None:
        raise InputError("person_id", person_id, f"该参保关系已开具转移接续单 {issued}",
                         f"a transfer case ({issued}) was already issued for this enrollment")
    return ended


def transfer_out(session: Session, actor: Actor, person_id: int, from_region: str, end_month: int | str,
                 key: str | None = None, issued_on: dt.date | None = None) -> dict[str, Any]:
    """Issue the 参保凭证 (module docstring). ``issued_on`` defaults to the last day of
    ``end_month`` (dates are explicit, never "today")."""
    request = {"person_id": person_id, "from_region": from_region, "end_month": str(end_month),
               "issued_on": issued_on.isoformat() if issued_on else None}

    def do() -> dict[str, Any]:
        region = resolve_region(session, from_region, "from_region")
        actor.check_region(region)
        end = month_arg(end_month, "end_month")
        person_or_error(session, person_id)
        day = issued_on or last_day(end)
        if day < first_day(end):
            raise InputError("issued_on", day.isoformat(), f"不能早于终止月 {ym_text(end)}",
                             f"cannot be before the end month {ym_text(end)}")
        pending = session.scalar(select(TransferCase.id).where(TransferCase.person_id == person_id,
                                                               TransferCase.status == "issued"))
        if pending is not None:
            raise InputError("person_id", person_id, f"该人员已有未接收的转移接续单 {pending}",
                             f"the person already has a transfer case ({pending}) not yet received")
        enr = _source_enrollment(session, person_id, region, end)
        car = carried(session, person_id)
        # 1. the region's own paid months, not carried by an earlier case
        own = {m: k for (reg, m), k in paid_months(session, person_id, None, region, end).items()
               if (reg, m) not in car.months}
        unpaid = session.scalar(select(func.count(func.distinct(CM.month))).where(
            CM.person_id == person_id, CM.region_code == region, CM.status.in_(("due", "partial")),
            CM.month <= end)) or 0
        rows: list[dict[str, Any]] = [
            {"region_code": region, "from_month": a, "to_month": b, "kind": k, "origin": "contribution_month",
             "months": month_index(b) - month_index(a) + 1} for a, b, k in runs(own)]
        # 2. history recorded for the region
        rows += [{"region_code": h.region_code, "from_month": h.from_month, "to_month": h.to_month,
                  "kind": h.kind, "origin": "history", "history_id": h.id, "months": h.months}
                 for h in history(session, person_id, region) if h.id not in car.history_ids]
        # 3. what the latest transfer into this region recognised (a chain carries it on)
        prior = [c for c in car.heads if c.to_region == region]
        carries = max(prior, key=lambda c: c.id) if prior else None
        if carries is not None:
            rows += [{"region_code": p.region_code, "from_month": p.from_month, "to_month": p.to_month,
                      "kind": p.kind, "origin": "transfer", "months": int(p.recognised_months or 0)}
                     for p in _periods(session, carries.id) if p.recognised_months]
        by_kind = dict.fromkeys(PERIOD_KINDS, 0)
        for r in rows:
            by_kind[r["kind"]] += r["months"]
        case = TransferCase(person_id=person_id, from_region=region, status="issued",
                            from_enrollment_id=enr.id, from_category=enr.category, end_month=end,
                            issued_on=day,
                            actual_months=by_kind["actual"], deemed_months=by_kind["deemed"],
                            back_paid_months=by_kind["back_paid"], unpaid_months=int(unpaid),
                            balance_at_issue_fen=ia_balance(session, region, person_id),
                            carries_case_id=carries.id if carries else None)
        session.add(case)
        session.flush()
        for i, r in enumerate(rows, 1):
            session.add(TransferPeriod(case_id=case.id, seq=i, **r))
        session.flush()
        audit.record(session, actor, "transfer.out", "transfer_case", case.id,
                     ("enrollment", "contribution_month", "contribution_period", "individual_account"),
                     region)
        return case_view(session, case)

    return idempotent(session, key, "transfer.out", request, do)


# -- transfer in --------------------------------------------------------------------------------
def _monthly_due(session: Session, snap: Snapshot, case: TransferCase, category: str,
                 flexible_option: int) -> int:
    """One month's contribution in the receiving region for the back-payable gap, assessed by
    :func:`yibao.rules.contribution.assess_contributions` on the member's last declared wage."""
    wage = session.scalar(select(CM.wage_fen).where(CM.enrollment_id == case.from_enrollment_id)
                          .order_by(CM.month.desc()).limit(1)) or 0
    cols = assess_contributions(np.array([wage], dtype=np.int64), person_type_codes([category]),
                                ContributionParams.from_snapshot(snap),
                                option=np.array([flexible_option], dtype=np.int8))
    return int(cols.total_fen[0])


def _check_in(session: Session, case: TransferCase, region: str, start: int, category: str,
              employer_id: int | None) -> Enrollment:
    if case.status != "issued":
        raise InputError("case_id", case.id, f"该转移接续单已被接收（状态 {case.status}），不能重复接收",
                         f"the transfer case was already received (status {case.status})")
    if region == case.from_region:
        raise InputError("to_region", region, "转入地区与转出地区相同；同一统筹地区内无须转移接续",
                         "the receiving region is the region the member left; a transfer needs two "
                         "different regions")
    if category not in EMPLOYEE_CATEGORIES:
        raise InputError("category", category,
                         "应为 in_service（在职）、flexible（灵活就业）或 new_form（新业态）",
                         "expected in_service, flexible or new_form")
    if category == "in_service":
        emp = session.get(Employer, employer_id) if employer_id is not None else None
        if emp is None:
            raise InputError("employer_id", employer_id, "在职职工转入须指明已登记的用人单位",
                             "an in-service member transfers in with a registered employer")
        if emp.region_code != region:
            raise InputError("employer_id", emp.uscc, f"该单位登记在 {emp.region_code}，不在转入地 {region}",
                             f"the employer is registered in {emp.region_code}, not in {region}")
    elif employer_id is not None:
        raise InputError("employer_id", employer_id, "灵活就业和新业态人员自行缴费，不带单位",
                         "flexible and new-form workers pay themselves; no employer")
    if start <= case.end_month:
        raise InputError("start_month", ym_text(start), f"应晚于转出地终止月 {ym_text(case.end_month)}",
                         f"must be after the end month in the source region, {ym_text(case.end_month)}")
    source = session.get(Enrollment, case.from_enrollment_id)
    if source is None or source.status != "ended":
        raise InputError("case_id", case.id, "转出地参保关系尚未终止，不能转入",
                         "the enrollment in the source region has not ended; nothing to transfer in")
    active = session.scalar(select(Enrollment).where(
        Enrollment.person_id == case.person_id, Enrollment.scheme == "employee",
        Enrollment.status == "active"))
    if active is not None:
        raise InputError("person_id", case.person_id,
                         f"该人员在 {active.region_code} 仍有有效的职工医保参保（{active.category}），"
                         "一人不能同时有两处职工医保",
                         f"the person still holds an active employee enrollment in {active.region_code} "
                         f"({active.category}); one person cannot hold two")
    return source


def transfer_in(session: Session, actor: Actor, case_id: int, to_region: str, start_month: int | str,
                category: str, employer_id: int | None = None, key: str | None = None,
                registry: Registry | None = None, flexible_option: int = 0) -> dict[str, Any]:
    """Receive a transfer case in ``to_region`` from ``start_month`` (module docstring).

    The receiving region's policy on the first day of ``start_month`` decides: periods paid
    elsewhere are converted by its ratio, the gap's back-payment and waiting rule are its own, and
    the balance moves only if ``transfer.account_balance_follows``.
    """
    request = {"case_id": case_id, "to_region": to_region, "start_month": str(start_month),
               "category": category, "employer_id": employer_id, "flexible_option": flexible_option}

    def do() -> dict[str, Any]:
        region = resolve_region(session, to_region, "to_region")
        actor.check_region(region)
        start = month_arg(start_month, "start_month")
        case = _case(session, case_id, lock=True)
        _check_in(session, case, region, start, category, employer_id)
        day = first_day(start)
        snap = snapshot(session, region, day, registry)
        periods = _periods(session, case.id)
        n = len(periods)
        months = np.array([p.months for p in periods], dtype=np.int64)
        kinds = np.array([KINDS.index(p.kind) for p in periods], dtype=np.int64)
        local = np.array([p.region_code == region for p in periods], dtype=np.bool_)
        gap = month_index(start) - month_index(case.end_month) - 1
        max_gap = int(snap.get("eligibility.backpay_max_gap_months")) if gap > 0 else 0
        back_payable = 0 < gap <= max_gap
        due = _monthly_due(session, snap, case, category, flexible_option) if back_payable else 0
        balance = ia_balance(session, case.from_region, case.person_id)
        cols = recognise_transfer(snap, np.zeros(n, dtype=np.int64), months, kinds, local, 1, [gap], [due],
                                  [balance])
        # the same rule once per period (each period its own row) gives what each one counts for
        per = recognise_transfer(snap, np.arange(n, dtype=np.int64), months, kinds, local, n,
                                 np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                                 np.zeros(n, dtype=np.int64)) if n else None
        flexible = category != "in_service"
        el = assess_eligibility(snap, [month_index(start)], [month_index(start)], [gap], [back_payable],
                                [flexible])
        moved = int(cols.balance_moved_fen[0])
        transfer_id = None
        if moved:
            a, b, who = case.from_region, region, case.person_id
            t = ledger.post(
                session, f"transfer:{case.id}:balance", "account_transfer", region, day,
                [debit(ledger.account(session, a, "individual_account", who), moved),
                 credit(ledger.account(session, a, "cash"), moved),
                 debit(ledger.account(session, b, "cash"), moved),
                 credit(ledger.account(session, b, "individual_account", who), moved)],
                reference=f"transfer_case:{case.id}", memo=f"account balance {a} -> {b}")
            transfer_id = t.id
        enr = Enrollment(person_id=case.person_id, region_code=region, scheme="employee", category=category,
                         employer_id=employer_id, start_month=start, status="active",
                         flexible_option=flexible_option)
        session.add(enr)
        session.flush()
        for i, p in enumerate(periods):
            p.local = bool(local[i])
            p.recognised_months = int(per.recognised_months[i]) if per is not None else 0
        ex_t, ex_e = explain_transfer(snap, cols, 0), explain_eligibility(snap, el, 0, month_index(start))
        case.to_region, case.to_enrollment_id, case.category = region, enr.id, category
        case.employer_id, case.start_month, case.received_on, case.gap_months = employer_id, start, day, gap
        case.local_months = int(cols.local_months[0])
        case.transferred_months = int(cols.transferred_months[0])
        case.recognised_months = int(cols.recognised_months[0])
        (case.recognised_actual_months, case.recognised_deemed_months,
         case.recognised_back_paid_months) = (int(x) for x in cols.by_kind_months[:, 0])
        case.backpay_months, case.monthly_due_fen = int(cols.backpay_months[0]), due
        case.backpay_due_fen, case.balance_moved_fen = int(cols.backpay_due_fen[0]), moved
        case.waiting_months = int(el.waiting_months[0])
        case.benefit_start_month = ym_from_index(int(el.benefit_start_month[0]))
        case.full_benefit_month = ym_from_index(int(el.full_benefit_month[0]))
        case.ledger_transfer_id = transfer_id
        case.explanation = json.dumps({
            "transfer": {"zh": ex_t.render("zh"), "en": ex_t.render("en"), "steps": ex_t.as_json("en")},
            "eligibility": {"zh": ex_e.render("zh"), "en": ex_e.render("en"), "steps": ex_e.as_json("en"),
                            "assumes_gap_back_paid": back_payable},
        }, ensure_ascii=False)
        if case.backpay_months:
            case.status = "received"  # the gap can still be back-paid: complete_transfer closes it
        else:
            case.status, case.completed_on = "completed", day
        session.flush()
        audit.record(session, actor, "transfer.in", "transfer_case", case.id,
                     ("enrollment", "transfer_period", "individual_account"), region)
        return case_view(session, case)

    return idempotent(session, key, "transfer.in", request, do)


# -- completion and reading ----------------------------------------------------------------------
def _gap_months(case: TransferCase) -> list[int]:
    assert case.start_month is not None
    return months_between(add_months(case.end_month, 1), add_months(case.start_month, -1))


def complete_transfer(session: Session, actor: Actor, case_id: int, on_date: dt.date, declined: bool = False,
                      key: str | None = None, registry: Registry | None = None) -> dict[str, Any]:
    """Close a received case: the gap months are paid (any region of the installation), or the
    member ``declined`` to back-pay — then the receiving region's waiting rule for a gap that was
    not back-paid applies and is stored (:func:`~yibao.rules.eligibility.assess_eligibility`)."""
    request = {"case_id": case_id, "on_date": on_date.isoformat(), "declined": declined}

    def do() -> dict[str, Any]:
        case = _case(session, case_id, lock=True)
        if case.status != "received":
            raise InputError("case_id", case_id,
                             f"只有已接收且有可补缴断保的单可办结（当前状态 {case.status}）",
                             f"only a received case with a back-payable gap can be completed "
                             f"(status is {case.status})")
        assert case.to_region is not None and case.start_month is not None and case.received_on is not None
        actor.check_region(case.to_region)
        if on_date < case.received_on:
            raise InputError("on_date", on_date.isoformat(), f"不能早于接收日 {case.received_on}",
                             f"cannot be before the day the case was received, {case.received_on}")
        gap = _gap_months(case)
        if declined:
            start = month_index(case.start_month)
            snap = snapshot(session, case.to_region, first_day(case.start_month), registry)
            el = assess_eligibility(snap, [start], [start], [len(gap)], [False],
                                    [case.category != "in_service"])
            ex = explain_eligibility(snap, el, 0, start)
            case.waiting_months = int(el.waiting_months[0])
            case.benefit_start_month = ym_from_index(int(el.benefit_start_month[0]))
            case.full_benefit_month = ym_from_index(int(el.full_benefit_month[0]))
            stored = json.loads(case.explanation or "{}")
            stored["eligibility"] = {"zh": ex.render("zh"), "en": ex.render("en"), "steps": ex.as_json("en"),
                                     "assumes_gap_back_paid": False, "declined_on": on_date.isoformat()}
            case.explanation = json.dumps(stored, ensure_ascii=False)
        else:
            paid = {m for (_, m) in paid_months(session, case.person_id, on_date)}
            missing = [ym_text(m) for m in gap if m not in paid]
            if missing:
                raise InputError("case_id", case_id,
                                 f"断保月份 {'、'.join(missing)} 尚未补缴；补缴后再办结，或按放弃补缴办结",
                                 f"gap months {', '.join(missing)} are not paid yet; complete the case once "
                                 "they are back-paid, or record that the member declined")
        case.status, case.completed_on = "completed", on_date
        session.flush()
        audit.record(session, actor, "transfer.complete", "transfer_case", case.id, ("status",),
                     case.to_region)
        return case_view(session, case)

    return idempotent(session, key, "transfer.complete", request, do)


def show_transfer(session: Session, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case with its periods and explanation (a read of personal data: audited)."""
    case = _case(session, case_id)
    if actor.regions is not None and not ({case.from_region, case.to_region} & set(actor.regions)):
        actor.check_region(case.from_region)  # either end of the transfer may read it; no one else
    audit.record(session, actor, "transfer.read", "transfer_case", case.id,
                 ("transfer_case", "transfer_period"), case.to_region or case.from_region)
    return case_view(session, case)


def cases_of(session: Session, person_id: int) -> Sequence[TransferCase]:
    return list(session.scalars(select(TransferCase).where(TransferCase.person_id == person_id)
                                .order_by(TransferCase.id)))

