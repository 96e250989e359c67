"""Retirement transition (在职转退休): the minimum-years check, the switch to retiree cover, the
one-off payment for a shortfall, 补一退一, and the lump-sum plans of bankrupt or hardship
enterprises.

The rule is :mod:`yibao.rules.retirement` (Social Insurance Law art. 27 leaves the number of years
to the regions; DOMAIN §6): this module counts the person's months, finds the unit's arrears and
keeps the record.

- **Months counted** (:func:`yibao.admin.transfer.count_record`): paid contribution months of every
  region of the installation (each month once), the history recorded on the person
  (:class:`~yibao.db.models.cases.ContributionPeriod`: periods paid before the installation's records,
  deemed years 视同缴费年限), the months a received transfer recognised, and months bought by a
  paid shortfall payment. "Local" means the region's province (Changsha: 10 years "actually paid
  in the province", PD changsha).
- **补一退一** (seed 002): a unit's arrears block 在职转退休. By default the arrears counted are the
  retiring member's own months the unit has not paid — the member's sub-account of the unit
  (分户管理, seed 002's remedy); ``arrears_scope="unit"`` counts the whole unit's arrears instead.
  :func:`clear_unit_arrears_for` records the unit's payment for exactly those months through
  :func:`yibao.admin.payments.record_payment`, after which retirement proceeds.
- **Retire** (:func:`retire`): refused, with the reason, while the check fails; otherwise the
  in-service / flexible enrollment ends in the month of retirement and a retiree enrollment starts
  the month after (category retiree, retirement date, own pension, whether the member was a
  flexible worker) — from then on the retiree's contributions, benefits and account credit
  (:func:`yibao.admin.accounts.credit_retirees`) follow the retiree rules.
- **Shortfall** (:func:`shortfall_payment`, :func:`settle_shortfall`): the one-off payment the rule
  prices (``retirement.shortfall.*``, unknown in every shipped region: a region file must supply
  them). Assessed DR person_receivable / CR contribution_deferred; paid DR cash / CR
  person_receivable and DR contribution_deferred / CR pooled_fund. Once paid, its months count as
  actual months paid in the region.
- **Bankrupt and hardship enterprises** (seed 003, Jinan 2005–2007): a :class:`LumpSumPlan` per
  employer — the amount per retiree the bureau decides (Jinan 2005: a one-off 3万 yuan per retiree
  from bankrupt, closed, split or restructured units, "需一次性为退休人员缴纳3万元基本医疗保险费"),
  the retirees covered, instalments (difficult units could pay "分年度缴费", by year) whose amounts
  sum exactly to the total, payments against the oldest instalments, and the retirees enrolled
  separately from the unit (``retiree_enrollment_mode = separate``: from 2007-07-01 Jinan's
  retirees no longer lost benefits when their unit failed to pay). Ledger: DR employer_receivable
  / CR contribution_deferred for the plan; payments DR cash / CR employer_receivable, recognised DR
  contribution_deferred / CR pooled_fund.

  *因素剔除法* (factor exclusion, seed 003) is documentation only: Jinan applied the one-off payment
  to the bankrupt / closed / split / restructured category alone and let every other unit join
  without paying it. Which units a plan is for is the bureau's decision, recorded in ``document``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.admin import audit, ledger
from yibao.admin.ledger import credit, debit
from yibao.admin.payments import record_payment
from yibao.admin.transfer import (
    EMPLOYEE_CATEGORIES,
    count_record,
    month_arg,
    person_or_error,
    province,
    resolve_region,
    snapshot,
    ym_text,
)
from yibao.admin.uow import SYSTEM, Actor, idempotent
from yibao.db.base import add_months, month_of, ym_from_index
from yibao.db.models.cases import (
    PERIOD_KINDS,
    ContributionPeriod,
    LumpSumInstalment,
    LumpSumPayment,
    LumpSumPlan,
    LumpSumPlanMember,
    ShortfallPayment,
)
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, Person
from yibao.errors import InputError, YibaoError
from yibao.money import fen_to_yuan_str
from yibao.policy.registry import Registry
from yibao.rules.retirement import RetirementReason, assess_retirement, explain_retirement

__all__ = [
    "RetirementRefused",
    "add_plan_retiree",
    "clear_unit_arrears_for",
    "create_plan",
    "instalment_amounts",
    "pay_plan",
    "record_history",
    "retire",
    "retirement_check",
    "settle_shortfall",
    "shortfall_payment",
    "show_plan",
]

CM = ContributionMonth
OPEN = ("due", "partial")
SEX_CODES = {"male": 0, "female": 1}
ARREARS_SCOPES = ("person", "unit")  # the member's sub-account of the unit (分户管理) | the whole unit
REASON_TEXT = {
    RetirementReason.eligible: ("符合条件", "eligible"),
    RetirementReason.short_of_years: ("缴费年限不足", "short of years"),
    RetirementReason.short_of_local_years: ("本地实际缴费年限不足", "short of local years"),
    RetirementReason.unit_arrears: ("单位欠费，须先补缴（补一退一）",
                                    "unit arrears must be cleared first (补一退一)"),
}


class RetirementRefused(YibaoError):
    """The retirement check fails: years short, local years short, or unit arrears (补一退一)."""

    def __init__(self, check: dict[str, Any]) -> None:
        self.reason = str(check["reason"])
        self.check = check
        super().__init__(f"不能办理退休：{check['message_zh']}", f"retirement refused: {check['message_en']}")


# -- small checks --------------------------------------------------------------------------------
def _positive_int(value: object, field_name: str, zh: str, en: str, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if allow_zero else 1):
        raise InputError(field_name, value, zh, en)
    return value


def _date(value: object, field_name: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InputError(field_name, value, "应为日期 YYYY-MM-DD", "expected a date YYYY-MM-DD")
    return value


def _text(value: object, field_name: str, zh: str, en: str, limit: int = 256) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise InputError(field_name, value, zh, en)
    return value.strip()


def _employer(session: Session, employer_id: object, region: str | None = None) -> Employer:
    emp = session.get(Employer, employer_id) if isinstance(employer_id, int) else None
    if emp is None:
        raise InputError("employer_id", employer_id, "查无此用人单位（未登记）",
                         "no such employer in the register")
    if region is not None and emp.region_code != region:
        raise InputError("employer_id", emp.uscc, f"该单位登记在统筹地区 {emp.region_code}，不在 {region}",
                         f"the employer is registered in region {emp.region_code}, not {region}")
    return emp


# -- history (deemed years, periods paid before the installation's records) ------------------------
def record_history(session: Session, actor: Actor, person_id: int, region: str, from_month: int | str,
                   to_month: int | str, kind: str, source_document: str, key: str | None = None,
                   note: str | None = None) -> dict[str, Any]:
    """Record a period on the person's record that no assessed month holds: ``deemed`` years
    (视同缴费年限, e.g. Changsha: continuous service before 2003-01-01, PD changsha), or ``actual`` /
    ``back_paid`` months paid before the installation's records. ``region`` is a GB/T 2260 code
    (it may lie outside the installation); ``source_document`` names the archive or certificate."""
    request = {"person_id": person_id, "region": region, "from": str(from_month), "to": str(to_month),
               "kind": kind, "source_document": source_document, "note": note}

    def do() -> dict[str, Any]:
        person_or_error(session, person_id)
        code = str(region).strip()
        if not (len(code) == 6 and code.isdecimal()):
            raise InputError("region", region, "应为 6 位行政区划代码（GB/T 2260），如 430100",
                             "expected a 6-digit GB/T 2260 division code, e.g. 430100")
        a, b = month_arg(from_month, "from_month"), month_arg(to_month, "to_month")
        if b < a:
            raise InputError("to_month", ym_text(b), f"不能早于起始月 {ym_text(a)}",
                             f"cannot be before the first month {ym_text(a)}")
        if kind not in PERIOD_KINDS:
            raise InputError("kind", kind, "应为 actual（实际缴费）、deemed（视同缴费）或 back_paid（补缴）",
                             "expected actual, deemed or back_paid")
        doc = _text(source_document, "source_document", "应写明依据的档案或证明（1–256 字）",
                    "name the archive or certificate the period comes from (1 to 256 characters)")
        clash = session.scalar(select(ContributionPeriod).where(
            ContributionPeriod.person_id == person_id, ContributionPeriod.from_month <= b,
            ContributionPeriod.to_month >= a).limit(1))
        if clash is not None:
            raise InputError("from_month", ym_text(a),
                             f"与已登记的 {ym_text(clash.from_month)}–{ym_text(clash.to_month)}"
                             f"（{clash.kind}）重叠",
                             f"overlaps the recorded period {ym_text(clash.from_month)} to "
                             f"{ym_text(clash.to_month)} ({clash.kind})")
        months = (b // 100 - a // 100) * 12 + b % 100 - a % 100 + 1
        row = ContributionPeriod(person_id=person_id, region_code=code, from_month=a, to_month=b,
                                 months=months,
                                 kind=kind, source_document=doc, note=note, recorded_by=actor.user)
        session.add(row)
        session.flush()
        audit.record(session, actor, "history.record", "person", person_id, ("contribution_period",), code)
        return {"history_id": row.id, "person_id": person_id, "region": code, "from": ym_text(a),
                "to": ym_text(b), "months": months, "kind": kind, "source_document": doc}

    return idempotent(session, key, "retire.history", request, do)


# -- the check -----------------------------------------------------------------------------------
def _arrears(session: Session, person_id: int, region: str, through: int,
             scope: str) -> list[dict[str, Any]]:
    """Open months the person's units owe in ``region`` up to ``through``, per unit."""
    payers = set(session.scalars(select(CM.payer_id).where(
        CM.person_id == person_id, CM.region_code == region, CM.payer_kind == "employer").distinct()))
    payers |= {e for e in session.scalars(select(Enrollment.employer_id).where(
        Enrollment.person_id == person_id, Enrollment.region_code == region,
        Enrollment.status == "active", Enrollment.employer_id.is_not(None))) if e is not None}
    out = []
    for emp_id in sorted(payers):
        q = select(CM.month, CM.total_fen - CM.paid_fen).where(
            CM.region_code == region, CM.payer_kind == "employer", CM.payer_id == emp_id,
            CM.status.in_(OPEN), CM.month <= through)
        if scope == "person":
            q = q.where(CM.person_id == person_id)
        rows = session.execute(q.order_by(CM.month)).all()
        if rows:
            emp = session.get(Employer, emp_id)
            out.append({"employer_id": emp_id, "uscc": emp.uscc if emp else None,
                        "months": sorted({ym_text(int(m)) for m, _ in rows}),
                        "arrears_fen": sum(int(v) for _, v in rows)})
    return out


def _n_months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def _shortfall_paid(session: Session, person_id: int, region: str, on_date: dt.date) -> int:
    rows = session.execute(select(ShortfallPayment.region_code, ShortfallPayment.months).where(
        ShortfallPayment.person_id == person_id, ShortfallPayment.status == "paid",
        ShortfallPayment.paid_on <= on_date)).all()
    return sum(int(m) for reg, m in rows if province(reg) == province(region))


def _check(session: Session, region: str, person: Person, on_date: dt.date, registry: Registry | None,
           scope: str, price: bool | None = None) -> dict[str, Any]:
    if person.sex not in SEX_CODES:
        raise InputError("sex", person.sex, "退休年限按性别规定：性别应为 male 或 female",
                         "minimum years depend on sex: expected male or female")
    if scope not in ARREARS_SCOPES:
        raise InputError("arrears_scope", scope, "应为 person（本人分户）或 unit（单位全部欠费）",
                         "expected person (the member's own sub-account) or unit (the whole unit)")
    snap = snapshot(session, region, on_date, registry)
    rec = count_record(session, person.id, region, on_date, _shortfall_paid(session, person.id, region,
                                                                            on_date))
    arrears = _arrears(session, person.id, region, month_of(on_date), scope)
    owed = sum(a["arrears_fen"] for a in arrears)
    if price is None:  # price a shortfall only where the region says how (shortfall.* known)
        price = snap["retirement.shortfall.mode"].known
    cols = assess_retirement(snap, [SEX_CODES[person.sex]], [rec.actual_months], [rec.deemed_months],
                             [rec.transferred_months], [rec.local_actual_months], [owed],
                             price_shortfall=price)
    ex = explain_retirement(snap, cols, 0)
    reason = RetirementReason(int(cols.reason[0]))
    qualifying, required = int(cols.qualifying_months[0]), int(cols.required_months[0])
    local_required = int(cols.local_required_months[0])
    years_short = max(required - qualifying, 0)
    local_short = max(local_required - rec.local_actual_months, 0)
    if reason is RetirementReason.short_of_years:
        zh = f"缴费年限不足，差 {years_short} 个月（累计 {qualifying} 个月，需 {required} 个月）"
        en = f"years short by {_n_months(years_short)} ({qualifying} months counted, {required} required)"
    elif reason is RetirementReason.short_of_local_years:
        zh = (f"本地实际缴费年限不足，差 {local_short} 个月（本地实际 {rec.local_actual_months} 个月，"
              f"需 {local_required} 个月）")
        en = (f"local actual years short by {_n_months(local_short)} ({rec.local_actual_months} months paid "
              f"locally, {local_required} required)")
    elif reason is RetirementReason.unit_arrears:
        zh = f"单位欠费 {fen_to_yuan_str(owed)} 元，须先补缴（补一退一）"
        en = f"unit arrears of {fen_to_yuan_str(owed)} yuan must be cleared first (补一退一)"
    else:
        zh = f"符合退休医保待遇条件（累计 {qualifying} 个月，需 {required} 个月）"
        en = f"meets the conditions for retiree cover ({qualifying} months counted, {required} required)"
    payment = int(cols.shortfall_payment_fen[0]) if price else None
    return {
        "person_id": person.id, "region": region, "on_date": on_date.isoformat(), "sex": person.sex,
        "eligible": bool(cols.eligible[0]), "reason": reason.name,
        "reason_zh": REASON_TEXT[reason][0], "reason_en": REASON_TEXT[reason][1],
        "months": {"actual": rec.actual_months, "local_actual": rec.local_actual_months,
                   "deemed": rec.deemed_months, "transferred": rec.transferred_months,
                   "shortfall_paid": rec.shortfall_paid_months},
        "qualifying_months": qualifying, "required_months": required, "local_required_months": local_required,
        "years_short_months": years_short, "local_short_months": local_short,
        "shortfall_months": int(cols.shortfall_months[0]), "shortfall_payment_fen": payment,
        "unit_arrears_fen": owed, "arrears_scope": scope, "arrears": arrears,
        "message_zh": zh, "message_en": en,
        "explanation": {"zh": ex.render("zh"), "en": ex.render("en"), "steps": ex.as_json("en")},
        "sources": rec.sources,
    }


def retirement_check(session: Session, region: str, person_id: int, on_date: dt.date, *,
                     actor: Actor = SYSTEM, registry: Registry | None = None,
                     arrears_scope: str = "person") -> dict[str, Any]:
    """Whether the person may retire in ``region`` on ``on_date`` (module docstring): eligible,
    reason, months short, the shortfall payment where the region prices it, the explanation.
    Changes nothing; the read of personal data is audited."""
    code = resolve_region(session, region)
    actor.check_region(code)
    person = person_or_error(session, person_id)
    _date(on_date, "on_date")
    result = _check(session, code, person, on_date, registry, arrears_scope)
    audit.record(session, actor, "retirement.check", "person", person_id,
                 ("contribution_month", "contribution_period", "transfer_case"), code)
    return result


# -- retire --------------------------------------------------------------------------------------
def _ending(session: Session, person_id: int, region: str, month: int) -> tuple[Enrollment | None,
                                                                                Enrollment]:
    """(the active enrollment to end, the enrollment the retiree comes from)."""
    actives = list(session.scalars(select(Enrollment).where(
        Enrollment.person_id == person_id, Enrollment.scheme == "employee",
        Enrollment.status == "active").with_for_update()))
    for a in actives:
        if a.category == "retiree":
            raise InputError("person_id", person_id, f"该人员已于 {a.retired_on} 办理退休（{a.region_code}）",
                             f"the person already retired on {a.retired_on} ({a.region_code})")
        if a.region_code != region:
            raise InputError("region", region,
                             f"该人员在 {a.region_code} 仍有有效参保，应先办理转移接续",
                             f"the person is still enrolled in {a.region_code}; transfer the "
                             "enrollment first")
        if a.start_month > month:
            raise InputError("retired_on", ym_text(month),
                             f"早于参保开始月 {ym_text(a.start_month)}",
                             f"is before the enrollment's start month {ym_text(a.start_month)}")
        later = session.scalar(select(func.min(CM.month)).where(CM.enrollment_id == a.id, CM.month > month))
        if later is not None:
            raise InputError("retired_on", ym_text(month),
                             f"{ym_text(int(later))} 及以后月份已按在职核定缴费，退休月不能早于已核定月份",
                             f"{ym_text(int(later))} and later are assessed as in service; retirement "
                             "cannot precede assessed months")
        return a, a
    last = session.scalar(select(Enrollment).where(
        Enrollment.person_id == person_id, Enrollment.region_code == region, Enrollment.scheme == "employee",
        Enrollment.category.in_(EMPLOYEE_CATEGORIES)).order_by(Enrollment.start_month.desc()).limit(1))
    if last is None:
        raise InputError("person_id", person_id, f"该人员在统筹地区 {region} 没有职工医保参保记录",
                         f"the person has no employee enrollment in region {region}")
    return None, last


def retire(session: Session, actor: Actor, person_id: int, region: str, retired_on: dt.date, pension_fen: int,
           key: str | None = None, *, registry: Registry | None = None,
           arrears_scope: str = "person",
           mode: str = "with_unit") -> dict[str, Any]:
    """Switch the person to retiree cover (module docstring); refused while the check fails.

    ``mode`` is ``retiree_enrollment_mode`` (seed 003): ``with_unit`` keeps the unit on the retiree
    enrollment, ``separate`` enrolls the retiree apart from it (benefits then never depend on the
    unit's payments)."""
    request = {"person_id": person_id, "region": region, "retired_on": str(retired_on),
               "pension_fen": pension_fen, "arrears_scope": arrears_scope, "mode": mode}

    def do() -> dict[str, Any]:
        code = resolve_region(session, region)
        actor.check_region(code)
        person = person_or_error(session, person_id)
        day = _date(retired_on, "retired_on")
        _positive_int(pension_fen, "pension", "应为非负金额（分）", "expected an amount ≥ 0 (fen)",
                      allow_zero=True)
        if mode not in ("with_unit", "separate"):
            raise InputError("mode", mode, "应为 with_unit（随单位）或 separate（单独参保）",
                             "expected with_unit or separate")
        if person.death_date is not None and person.death_date <= day:
            raise InputError("person_id", person_id, f"该人员已于 {person.death_date} 死亡",
                             f"the person died on {person.death_date}")
        month = month_of(day)
        ending, source = _ending(session, person_id, code, month)
        check = _check(session, code, person, day, registry, arrears_scope)
        if not check["eligible"]:
            raise RetirementRefused(check)
        if ending is not None:
            ending.end_month, ending.status, ending.end_reason = month, "ended", "retired"
            session.flush()  # the one-active-employee-enrollment index sees it ended first
        enr = Enrollment(person_id=person_id, region_code=code, scheme="employee", category="retiree",
                         employer_id=source.employer_id if mode == "with_unit" else None,
                         start_month=add_months(month, 1), status="active", retired_on=day,
                         pension_fen=pension_fen, was_flexible=source.category in ("flexible", "new_form"))
        session.add(enr)
        session.flush()
        audit.record(session, actor, "retirement.retire", "person", person_id,
                     ("enrollment", "retired_on", "pension_fen"), code)
        return {"person_id": person_id, "region": code, "retired_on": day.isoformat(),
                "ended_enrollment_id": ending.id if ending else None, "retiree_enrollment_id": enr.id,
                "retiree_start_month": ym_text(enr.start_month), "pension_fen": pension_fen,
                "was_flexible": enr.was_flexible, "mode": mode, "check": check}

    return idempotent(session, key, "retire", request, do)


# -- shortfall -----------------------------------------------------------------------------------
def _shortfall_view(row: ShortfallPayment) -> dict[str, Any]:
    return {"shortfall_id": row.id, "person_id": row.person_id, "region": row.region_code,
            "assessed_on": row.assessed_on.isoformat(), "months": row.months, "amount_fen": row.amount_fen,
            "status": row.status, "paid_on": row.paid_on.isoformat() if row.paid_on else None,
            "reference": row.reference,
            "explanation": json.loads(row.explanation) if row.explanation else None}


def shortfall_payment(session: Session, actor: Actor, person_id: int, region: str, on_date: dt.date,
                      key: str | None = None, *, registry: Registry | None = None) -> dict[str, Any]:
    """Assess the one-off payment for the months short (``retirement.shortfall.*`` of the region on
    ``on_date``; unknown in every shipped region: the error names the key a region file must give)."""
    request = {"person_id": person_id, "region": region, "on_date": str(on_date)}

    def do() -> dict[str, Any]:
        code = resolve_region(session, region)
        actor.check_region(code)
        person = person_or_error(session, person_id)
        day = _date(on_date, "on_date")
        pending = session.scalar(select(ShortfallPayment.id).where(
            ShortfallPayment.person_id == person_id, ShortfallPayment.status == "due"))
        if pending is not None:
            raise InputError("person_id", person_id, f"该人员已有未缴的补缴年限费用 {pending}",
                             f"the person already has a shortfall payment due ({pending})")
        check = _check(session, code, person, day, registry, "person", price=True)
        months, amount = check["shortfall_months"], int(check["shortfall_payment_fen"] or 0)
        if months == 0:
            raise InputError("person_id", person_id, "缴费年限没有不足，无须补缴" + (
                f"；{check['message_zh']}" if not check["eligible"] else ""),
                "no years are short; nothing to pay" + (
                f"; {check['message_en']}" if not check["eligible"] else ""))
        if amount == 0:
            raise InputError("retirement.shortfall.mode", "continue_paying",
                             "本地区规定以继续缴费补足年限，不一次性补缴",
                             "the region meets a shortfall by continuing to pay, not by a lump sum")
        row = ShortfallPayment(person_id=person_id, region_code=code, assessed_on=day, months=months,
                               amount_fen=amount, status="due",
                               explanation=json.dumps(check["explanation"], ensure_ascii=False))
        session.add(row)
        session.flush()
        ledger.post(session, f"shortfall:{row.id}:assess", "shortfall_assessed", code, day,
                    [debit(ledger.account(session, code, "person_receivable", person_id), amount),
                     credit(ledger.account(session, code, "contribution_deferred"), amount)],
                    reference=f"shortfall:{row.id}", memo=f"{months} months short")
        audit.record(session, actor, "retirement.shortfall", "person", person_id, ("shortfall_payment",),
                     code)
        return _shortfall_view(row) | {"check": check}

    return idempotent(session, key, "retire.shortfall", request, do)


def settle_shortfall(session: Session, actor: Actor, shortfall_id: int, paid_on: dt.date, reference: str,
                     key: str | None = None) -> dict[str, Any]:
    """Record the payment of a shortfall in full and recognise it into the pooled fund."""
    request = {"shortfall_id": shortfall_id, "paid_on": str(paid_on), "reference": reference}

    def do() -> dict[str, Any]:
        row = session.get(ShortfallPayment, shortfall_id, with_for_update=True) \
            if isinstance(shortfall_id, int) else None
        if row is None:
            raise InputError("shortfall_id", shortfall_id, "查无此补缴年限费用", "no such shortfall payment")
        actor.check_region(row.region_code)
        day = _date(paid_on, "paid_on")
        ref = _text(reference, "reference", "应为 1–64 个字符的银行流水号",
                    "expected the bank reference, 1 to 64 "
                    "characters", 64)
        if row.status != "due":
            raise InputError("shortfall_id", shortfall_id, f"该费用已缴清（{row.paid_on}）",
                             f"the shortfall payment was already paid ({row.paid_on})")
        if day < row.assessed_on:
            raise InputError("paid_on", day.isoformat(), f"不能早于核定日 {row.assessed_on}",
                             f"cannot be before the assessment date {row.assessed_on}")
        r, amount = row.region_code, row.amount_fen
        ledger.post(session, f"shortfall:{row.id}:paid", "shortfall_payment", r, day,
                    [debit(ledger.account(session, r, "cash"), amount),
                     credit(ledger.account(session, r, "person_receivable", row.person_id), amount)],
                    reference=f"shortfall:{row.id}", memo=f"bank {ref}")
        ledger.post(session, f"shortfall:{row.id}:recognised", "shortfall_recognised", r, day,
                    [debit(ledger.account(session, r, "contribution_deferred"), amount),
                     credit(ledger.account(session, r, "pooled_fund"), amount)],
                    reference=f"shortfall:{row.id}")
        row.status, row.paid_on, row.reference = "paid", day, ref
        session.flush()
        audit.record(session, actor, "retirement.shortfall.paid", "person", row.person_id,
                     ("shortfall_payment",), r)
        return _shortfall_view(row)

    return idempotent(session, key, "retire.shortfall.settle", request, do)


# -- 补一退一 --------------------------------------------------------------------------------------
def clear_unit_arrears_for(session: Session, actor: Actor, person_id: int, region: str, paid_on: dt.date,
                           reference: str, key: str | None = None, *,
                           registry: Registry | None = None) -> dict[str, Any]:
    """The unit pays the retiring member's own arrears first (补一退一, seed 002): one payment per
    unit, matched only to this member's open months (the member's sub-account of the unit, 分户管理),
    recorded and recognised by :func:`yibao.admin.payments.record_payment`."""
    request = {"person_id": person_id, "region": region, "paid_on": str(paid_on), "reference": reference}

    def do() -> dict[str, Any]:
        code = resolve_region(session, region)
        actor.check_region(code)
        person_or_error(session, person_id)
        day = _date(paid_on, "paid_on")
        ref = _text(reference, "reference", "应为银行流水号", "expected the bank reference", 60)
        owed = _arrears(session, person_id, code, month_of(day), "person")
        if not owed:
            raise InputError("person_id", person_id, f"该人员在 {code} 没有单位欠缴的月份",
                             f"no months of this person are owed by a unit in {code}")
        paid = []
        for i, unit in enumerate(owed, 1):
            months = [int(m.replace("-", "")) for m in unit["months"]]
            payment = record_payment(session, actor, code, "employer", unit["employer_id"],
                                     unit["arrears_fen"],
                                     day, ref if len(owed) == 1 else f"{ref}-{i}", months=months,
                                     person_id=person_id, registry=registry)
            paid.append({"employer_id": unit["employer_id"], "uscc": unit["uscc"], "payment_id": payment.id,
                         "amount_fen": unit["arrears_fen"], "months": unit["months"]})
        audit.record(session, actor, "retirement.clear_arrears", "person", person_id, ("contribution_month",),
                     code)
        return {"person_id": person_id, "region": code, "paid_on": day.isoformat(), "payments": paid,
                "total_fen": sum(p["amount_fen"] for p in paid)}

    return idempotent(session, key, "retire.clear_arrears", request, do)


# -- bankrupt and hardship enterprises: lump-sum plans ------------------------------------------------
def instalment_amounts(total_fen: int, count: int) -> list[int]:
    """Split ``total_fen`` into ``count`` instalments of equal fen; the last absorbs the remainder,
    so the amounts always sum exactly to the total."""
    base = total_fen // count
    return [base] * (count - 1) + [total_fen - base * (count - 1)]


def _due_dates(first: dt.date, count: int, schedule: str) -> list[dt.date]:
    out = []
    for k in range(count):
        months = k * (12 if schedule == "yearly" else 1)
        m = ym_from_index(first.year * 12 + first.month - 1 + months)
        y, mo = m // 100, m % 100
        out.append(dt.date(y, mo, min(first.day, calendar.monthrange(y, mo)[1])))
    return out


def _plan(session: Session, plan_id: object, lock: bool = False) -> LumpSumPlan:
    plan = session.get(LumpSumPlan, plan_id, with_for_update=lock, populate_existing=lock) \
        if isinstance(plan_id, int) and not isinstance(plan_id, bool) else None
    if plan is None:
        raise InputError("plan_id", plan_id, "查无此一次性缴费计划", "no such lump-sum plan")
    return plan


def _plan_view(session: Session, plan: LumpSumPlan) -> dict[str, Any]:
    inst = list(session.scalars(select(LumpSumInstalment).where(LumpSumInstalment.plan_id == plan.id)
                                .order_by(LumpSumInstalment.seq)))
    pays = list(session.scalars(select(LumpSumPayment).where(LumpSumPayment.plan_id == plan.id)
                                .order_by(LumpSumPayment.id)))
    members = list(session.scalars(select(LumpSumPlanMember).where(LumpSumPlanMember.plan_id == plan.id)
                                   .order_by(LumpSumPlanMember.id)))
    paid = sum(i.paid_fen for i in inst)
    return {
        "plan_id": plan.id, "employer_id": plan.employer_id, "region": plan.region_code,
        "amount_per_retiree_fen": plan.amount_per_retiree_fen, "retirees": plan.retirees,
        "total_fen": plan.total_fen, "paid_fen": paid, "outstanding_fen": plan.total_fen - paid,
        "schedule": plan.schedule, "instalment_count": plan.instalment_count,
        "first_due": plan.first_due.isoformat(), "decided_on": plan.decided_on.isoformat(),
        "document": plan.document, "status": plan.status,
        "instalments": [{"seq": i.seq, "due_date": i.due_date.isoformat(), "amount_fen": i.amount_fen,
                         "paid_fen": i.paid_fen, "status": i.status,
                         "paid_on": i.paid_on.isoformat() if i.paid_on else None} for i in inst],
        "payments": [{"payment_id": p.id, "amount_fen": p.amount_fen, "paid_on": p.paid_on.isoformat(),
                      "reference": p.reference, "allocation": json.loads(p.allocation)} for p in pays],
        "members": [{"person_id": m.person_id, "enrollment_id": m.enrollment_id} for m in members],
    }


def create_plan(session: Session, actor: Actor, employer_id: int, region: str, amount_per_retiree_fen: int,
                retirees: int, instalments: int, schedule: str, first_due: dt.date, decided_on: dt.date,
                document: str, key: str | None = None) -> dict[str, Any]:
    """A lump-sum plan for a bankrupt or hardship enterprise's retirees (module docstring; seed 003).
    The amount per retiree is the bureau's decision (Jinan 2005: 3万 yuan), not a policy default."""
    request = {"employer_id": employer_id, "region": region, "amount_per_retiree_fen": amount_per_retiree_fen,
               "retirees": retirees, "instalments": instalments, "schedule": schedule,
               "first_due": str(first_due), "decided_on": str(decided_on), "document": document}

    def do() -> dict[str, Any]:
        code = resolve_region(session, region)
        actor.check_region(code)
        emp = _employer(session, employer_id, code)
        per = _positive_int(amount_per_retiree_fen, "amount_per_retiree", "每名退休人员的金额应大于 0（分）",
                            "the amount per retiree must be more than 0 (fen)")
        n_ret = _positive_int(retirees, "retirees", "覆盖的退休人数应为正整数",
                              "the retirees covered: a whole "
                              "number ≥ 1")
        n = _positive_int(instalments, "instalments", "分期数应为 1–600 的整数", "instalments: 1 to 600")
        if n > 600:
            raise InputError("instalments", n, "分期数应为 1–600 的整数", "instalments: 1 to 600")
        if schedule not in ("yearly", "monthly"):
            raise InputError("schedule", schedule, "应为 yearly（按年）或 monthly（按月）",
                             "expected yearly or monthly")
        first, decided = _date(first_due, "first_due"), _date(decided_on, "decided_on")
        if first < decided:
            raise InputError("first_due", first.isoformat(), f"不能早于决定日 {decided}",
                             f"cannot be before the decision date {decided}")
        doc = _text(document, "document", "应写明经办机构的决定文书（1–256 字）",
                    "name the bureau's decision (1 to 256 characters)")
        total = per * n_ret
        plan = LumpSumPlan(employer_id=emp.id, region_code=code, amount_per_retiree_fen=per, retirees=n_ret,
                           total_fen=total, schedule=schedule, instalment_count=n, first_due=first,
                           decided_on=decided, document=doc, status="open")
        session.add(plan)
        session.flush()
        for seq, (amount, due) in enumerate(zip(instalment_amounts(total, n), _due_dates(first, n, schedule),
                                                strict=True), 1):
            session.add(LumpSumInstalment(plan_id=plan.id, seq=seq, due_date=due, amount_fen=amount))
        ledger.post(session, f"plan:{plan.id}:assess", "lump_sum_assessed", code, decided,
                    [debit(ledger.account(session, code, "employer_receivable", emp.id), total),
                     credit(ledger.account(session, code, "contribution_deferred"), total)],
                    reference=f"lump_sum_plan:{plan.id}", memo=f"{n_ret} retirees × {fen_to_yuan_str(per)}")
        session.flush()
        audit.record(session, actor, "plan.create", "employer", emp.id, ("lump_sum_plan",), code)
        return _plan_view(session, plan)

    return idempotent(session, key, "retire.plan.create", request, do)


def pay_plan(session: Session, actor: Actor, plan_id: int, amount_fen: int, paid_on: dt.date, reference: str,
             key: str | None = None) -> dict[str, Any]:
    """Record the employer's payment against the plan's oldest open instalments and recognise it
    into the pooled fund. Paying more than is outstanding is refused (nothing to match it to)."""
    request = {"plan_id": plan_id, "amount_fen": amount_fen, "paid_on": str(paid_on), "reference": reference}

    def do() -> dict[str, Any]:
        plan = _plan(session, plan_id, lock=True)
        actor.check_region(plan.region_code)
        amount = _positive_int(amount_fen, "amount", "金额应大于 0（分）",
                               "the amount must be more than 0 (fen)")
        day = _date(paid_on, "paid_on")
        ref = _text(reference, "reference", "应为 1–64 个字符的银行流水号",
                    "expected the bank reference, 1 to 64 characters", 64)
        if day < plan.decided_on:
            raise InputError("paid_on", day.isoformat(), f"不能早于计划决定日 {plan.decided_on}",
                             f"cannot be before the plan's decision date {plan.decided_on}")
        if session.scalar(select(LumpSumPayment.id).where(LumpSumPayment.plan_id == plan.id,
                                                          LumpSumPayment.reference == ref)) is not None:
            raise InputError("reference", ref, "该银行流水号已登记为本计划的一笔缴款",
                             "this bank reference is already recorded as a payment of the plan")
        inst = list(session.scalars(select(LumpSumInstalment).where(
            LumpSumInstalment.plan_id == plan.id, LumpSumInstalment.status != "paid")
            .order_by(LumpSumInstalment.seq).with_for_update()))
        outstanding = sum(i.amount_fen - i.paid_fen for i in inst)
        if amount > outstanding:
            raise InputError("amount", fen_to_yuan_str(amount),
                             f"超过计划尚欠的 {fen_to_yuan_str(outstanding)} 元",
                             f"more than the {fen_to_yuan_str(outstanding)} yuan the plan still owes")
        left, allocation = amount, {}
        for i in inst:
            take = min(left, i.amount_fen - i.paid_fen)
            if take <= 0:
                break
            i.paid_fen += take
            left -= take
            allocation[str(i.seq)] = take
            i.status = "paid" if i.paid_fen == i.amount_fen else "partial"
            if i.status == "paid":
                i.paid_on = day
        pay = LumpSumPayment(plan_id=plan.id, amount_fen=amount, paid_on=day, reference=ref,
                             allocation=json.dumps(allocation))
        session.add(pay)
        session.flush()
        r = plan.region_code
        ledger.post(session, f"plan_payment:{pay.id}", "lump_sum_payment", r, day,
                    [debit(ledger.account(session, r, "cash"), amount),
                     credit(ledger.account(session, r, "employer_receivable", plan.employer_id), amount)],
                    reference=f"lump_sum_plan:{plan.id}", memo=f"bank {ref}")
        ledger.post(session, f"plan_payment:{pay.id}:recognised", "lump_sum_recognised", r, day,
                    [debit(ledger.account(session, r, "contribution_deferred"), amount),
                     credit(ledger.account(session, r, "pooled_fund"), amount)],
                    reference=f"lump_sum_plan:{plan.id}")
        if amount == outstanding:
            plan.status = "paid"
        session.flush()
        audit.record(session, actor, "plan.pay", "employer", plan.employer_id, ("lump_sum_payment",), r)
        return _plan_view(session, plan) | {"payment_id": pay.id}

    return idempotent(session, key, "retire.plan.pay", request, do)


def add_plan_retiree(session: Session, actor: Actor, plan_id: int, person_id: int, from_month: int | str,
                     retired_on: dt.date | None = None, pension_fen: int | None = None,
                     key: str | None = None) -> dict[str, Any]:
    """Enroll one of the plan's retirees separately from the unit from ``from_month`` (seed 003:
    ``retiree_enrollment_mode = separate``). A retiree already enrolled with the unit moves to a
    separate enrollment (same retirement date and pension); a retiree not yet insured — the case of
    bankrupt units' retirees — gives ``retired_on`` and ``pension_fen``."""
    request = {"plan_id": plan_id, "person_id": person_id, "from_month": str(from_month),
               "retired_on": str(retired_on) if retired_on else None, "pension_fen": pension_fen}

    def do() -> dict[str, Any]:
        plan = _plan(session, plan_id, lock=True)
        actor.check_region(plan.region_code)
        person_or_error(session, person_id)
        start = month_arg(from_month, "from_month")
        members = session.scalar(select(func.count()).select_from(LumpSumPlanMember)
                                 .where(LumpSumPlanMember.plan_id == plan.id)) or 0
        if session.scalar(select(LumpSumPlanMember.id).where(LumpSumPlanMember.plan_id == plan.id,
                                                             LumpSumPlanMember.person_id == person_id)):
            raise InputError("person_id", person_id, "该人员已在本计划内",
                             "the person is already in the plan")
        if members >= plan.retirees:
            raise InputError("person_id", person_id, f"计划只覆盖 {plan.retirees} 名退休人员，已满",
                             f"the plan covers {plan.retirees} retirees and is full")
        active = session.scalar(select(Enrollment).where(
            Enrollment.person_id == person_id, Enrollment.scheme == "employee",
            Enrollment.status == "active").with_for_update())
        if active is not None and active.category != "retiree":
            raise InputError("person_id", person_id, f"该人员仍为{active.category}参保，应先办理退休",
                             f"the person is still enrolled as {active.category}; retire first")
        if active is not None:
            if active.region_code != plan.region_code:
                raise InputError("person_id", person_id, f"该退休人员在 {active.region_code} 参保",
                                 f"the retiree is enrolled in {active.region_code}")
            if start <= active.start_month:
                raise InputError("from_month", ym_text(start),
                                 f"应晚于现退休参保开始月 {ym_text(active.start_month)}",
                                 f"must be after the current retiree enrollment's start, "
                                 f"{ym_text(active.start_month)}")
            day, pension, flexible = active.retired_on, active.pension_fen, active.was_flexible
            active.end_month, active.status = add_months(start, -1), "ended"
            active.end_reason = "separate_enrollment"
            session.flush()
        else:
            if retired_on is None or pension_fen is None:
                raise InputError("retired_on", retired_on, "未参保的退休人员须给出退休日期和养老金",
                                 "a retiree not yet insured needs the retirement date and the pension")
            day = _date(retired_on, "retired_on")
            pension = _positive_int(pension_fen, "pension", "应为非负金额（分）",
                                    "expected an amount ≥ 0 (fen)",
                                    allow_zero=True)
            flexible = False
        enr = Enrollment(person_id=person_id, region_code=plan.region_code, scheme="employee",
                         category="retiree",
                         employer_id=None, start_month=start, status="active", retired_on=day,
                         pension_fen=pension, was_flexible=flexible)
        session.add(enr)
        session.flush()
        session.add(LumpSumPlanMember(plan_id=plan.id, person_id=person_id, enrollment_id=enr.id))
        session.flush()
        audit.record(session, actor, "plan.add_retiree", "person", person_id, ("enrollment",),
                     plan.region_code)
        return _plan_view(session, plan) | {"enrollment_id": enr.id}

    return idempotent(session, key, "retire.plan.add", request, do)


def show_plan(session: Session, actor: Actor, plan_id: int) -> dict[str, Any]:
    plan = _plan(session, plan_id)
    audit.record(session, actor, "plan.read", "lump_sum_plan", plan.id, ("lump_sum_plan",), plan.region_code)
    return _plan_view(session, plan)


def plans_of(session: Session, employer_id: int) -> Sequence[LumpSumPlan]:
    return list(session.scalars(select(LumpSumPlan).where(LumpSumPlan.employer_id == employer_id)
                                .order_by(LumpSumPlan.id)))
