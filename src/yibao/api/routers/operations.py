"""The rest of the administration over HTTP: employers and employment, family links, category
changes, payroll and the base audit, refunds and write-offs, account payments and the retirees'
monthly credit, interruptions, the ledger's trial balance and verification, the retirement
shortfall payment.

Each route calls the service the CLI calls (``yibao employer close``, ``yibao family link``,
``yibao declare payroll|audit``, ``yibao pay refund|write-off``, ``yibao accounts pay|credit-retirees``,
``yibao ledger trial-balance|verify``, ``yibao retire shortfall``) with the caller's actor; where a
service reads a whole region without an actor, the route checks the region first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from yibao.admin import (
    accounts,
    audit,
    continuity,
    declarations,
    enrollment,
    ledger,
    payments,
    register,
    retirement,
    transfer,
)
from yibao.admin import wage_file as wage_files
from yibao.admin.uow import Actor
from yibao.api.deps import IdemKey, Limit, Offset, PathId, Ref, RowId, call, page, row
from yibao.api.routers.register import Month, enrollment_view
from yibao.api.security import get_engine, require
from yibao.api.uploads import MAX_UPLOAD, save_upload
from yibao.db.base import parse_month
from yibao.money import fen_to_yuan_str, parse_amount
from yibao.platform.models import Amount, IsoDate

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["operations / 其他经办"])
Region = Annotated[str, Query(max_length=32, description="统筹地区：代码、拼音或中文名 / region")]
#: money out of an account is never paid twice for one purchase: the key is required
RequiredKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="必填：同一键只支付一次 / required: one payment per key",
    ),
]


def _code(s: Session, actor: Actor, region: str) -> str:
    code = register.resolve_region(s, region).code
    actor.check_region(code)
    return code


# -- employers and employment ---------------------------------------------------------------------
class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    closed_on: IsoDate


@router.post("/employers/{employer}/close", summary="单位注销 / close an employer unit")
def close_employer(
    employer: str,
    body: CloseIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("employer.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        emp = register.lookup_employer(s, employer)
        register.check_employer_visible(actor, emp)
        return register.employer_view(register.close_employer(s, actor, emp.id, body.closed_on, key=key))

    return call(request, step)


class SeparateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    employer: Ref
    end_date: IsoDate = Field(description="最后在职日 / the last day employed")


@router.post("/employments/end", summary="解除劳动关系 / end an employment spell")
def separate(
    body: SeparateIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        emp = register.lookup_employer(s, body.employer)
        register.check_employer_visible(actor, emp)
        sp = register.separate(s, actor, pid, emp.id, body.end_date, key=key)
        return row(
            {
                "id": sp.id,
                "person_id": sp.person_id,
                "employer_id": sp.employer_id,
                "start_date": sp.start_date,
                "end_date": sp.end_date,
            }
        )

    return call(request, step)


# -- family links ---------------------------------------------------------------------------------
class FamilyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holder: Ref
    relative: Ref
    relation: Literal["spouse", "child", "parent", "near_relative"]
    valid_from: IsoDate
    region: StrictStr | None = Field(None, max_length=32)


def _link(f: Any) -> dict[str, Any]:
    return row(
        {
            "id": f.id,
            "holder_id": f.holder_id,
            "relative_id": f.relative_id,
            "relation": f.relation,
            "valid_from": f.valid_from,
            "valid_to": f.valid_to,
        }
    )


@router.post("/family-links", status_code=201, summary="家庭共济绑定 / link a relative (family mutual aid)")
def link_family(
    body: FamilyIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        holder = register.lookup_person(s, body.holder, "holder").id
        relative = register.lookup_person(s, body.relative, "relative").id
        register.check_person_visible(s, actor, holder)
        code = _code(s, actor, body.region) if body.region else None
        return _link(
            register.link_family(
                s, actor, holder, relative, body.relation, body.valid_from, region=code, key=key
            )
        )

    return call(request, step)


class UnlinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valid_to: IsoDate


@router.post("/family-links/{link_id}/end", summary="解除家庭共济 / end a family link")
def unlink_family(
    link_id: PathId,
    body: UnlinkIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        f = register.unlink_family(s, actor, link_id, body.valid_to, key=key)
        register.check_person_visible(s, actor, f.holder_id)
        return _link(f)

    return call(request, step)


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: StrictStr = Field(max_length=16, description="in_service flexible new_form retiree")
    from_month: Month
    employer: Ref | None = None
    flexible_option: StrictInt = Field(0, ge=0, le=20)


@router.post(
    "/enrollments/{enrollment_id}/category", summary="变更参保类别 / change the category from a month"
)
def change_category(
    enrollment_id: PathId,
    body: CategoryIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        extra: dict[str, Any] = {"flexible_option": body.flexible_option}
        if body.employer is not None:
            extra["employer_id"] = register.lookup_employer(s, body.employer).id
        e = enrollment.change_category(
            s, actor, enrollment_id, body.category, body.from_month, key=key, **extra
        )
        return enrollment_view(e)

    return call(request, step)


# -- payroll, base audit, refunds, write-offs -----------------------------------------------------
class PayrollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employer: Ref
    month: Month
    payroll_total: Amount = Field(description="工资总额（元）/ the unit's payroll total")
    headcount: StrictInt = Field(ge=0, le=10_000_000)


@router.post("/payroll", status_code=201, summary="单位工资总额申报 / declare a unit's payroll")
def declare_payroll(
    body: PayrollIn, request: Request, actor: Annotated[Actor, Depends(require("payroll.declare"))]
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        emp = register.lookup_employer(s, body.employer)
        register.check_employer_visible(actor, emp)
        d = declarations.declare_payroll(
            s, actor, emp.id, body.month, parse_amount(body.payroll_total, "payroll_total"), body.headcount
        )
        return row(
            {
                "id": d.id,
                "employer_id": d.employer_id,
                "month": d.month,
                "payroll_total_fen": d.payroll_total_fen,
                "headcount": d.headcount,
            }
        )

    return call(request, step)


@router.get("/employers/{employer}/base-audit", summary="缴费基数稽核 / the unit's base audit for a month")
def base_audit(
    employer: str,
    request: Request,
    actor: Annotated[Actor, Depends(require("employer.read"))],
    month: Annotated[str, Query(max_length=7, description="YYYY-MM")],
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        emp = register.lookup_employer(s, employer)
        register.check_employer_visible(actor, emp)
        audit_ = declarations.base_audit(s, emp.id, month, actor)
        audit.record(
            s, actor, "employer.base_audit.read", "employer", emp.id, ("wage_declaration",), emp.region_code
        )
        return {**row(dataclasses.asdict(audit_)), "text": audit_.text()}

    return call(request, step)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32)
    amount: Amount
    on_date: IsoDate
    reference: StrictStr = Field(min_length=1, max_length=64)
    payment_id: RowId | None = None
    payer_kind: Literal["employer", "person"] | None = None
    payer: Ref | None = None


@router.post("/refunds", status_code=201, summary="退还多缴 / refund an over-payment")
def refund(
    body: RefundIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("contribution.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        code = _code(s, actor, body.region)
        payer_id = None
        if body.payer is not None:
            payer_id = register.lookup_payer(s, actor, body.payer_kind or "person", body.payer)
        p = payments.refund(
            s,
            actor,
            code,
            parse_amount(body.amount, "amount"),
            body.on_date,
            body.reference,
            key=key,
            payment_id=body.payment_id,
            payer_kind=body.payer_kind,
            payer_id=payer_id,
        )
        return row(
            {
                "id": p.id,
                "region": p.region_code,
                "amount_fen": p.amount_fen,
                "kind": p.kind,
                "received_on": p.received_on,
                "reference": p.reference,
            }
        )

    return call(request, step)


class WriteOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32)
    contribution_month_ids: list[RowId] = Field(min_length=1, max_length=10_000)
    reason: StrictStr = Field(min_length=1, max_length=200)
    on_date: IsoDate


@router.post("/write-offs", summary="欠费核销 / write off uncollectible arrears")
def write_off(
    body: WriteOffIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("contribution.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        code = _code(s, actor, body.region)
        done = payments.write_off(s, actor, code, body.contribution_month_ids, body.reason, body.on_date, key)
        return {
            "written_off": [
                {"id": m.id, "person_id": m.person_id, "month": m.month, "owed_fen": m.total_fen - m.paid_fen}
                for m in done
            ]
        }

    return call(request, step)


@router.get("/interruptions", summary="断缴与即将断缴 / interrupted contributions and those at risk")
def interrupted(
    request: Request,
    actor: Annotated[Actor, Depends(require("arrears.read"))],
    region: Region,
    as_of_month: Annotated[str, Query(max_length=7, description="YYYY-MM")],
    min_months: Annotated[int, Query(ge=1, le=120)] = 3,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    def step(s: Session) -> list[Any]:
        code = _code(s, actor, region)
        rows = continuity.interruptions(s, code, parse_month(as_of_month, "as_of_month"), min_months)
        audit.record(s, actor, "interruptions.read", "region", code, ("contribution_month",), code)
        return rows[offset : offset + limit]

    return page(call(request, step), limit, offset)


# -- accounts and the ledger ----------------------------------------------------------------------
class AccountPayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32)
    person: Ref
    amount: Amount
    purpose: Literal["outpatient", "pharmacy", "inpatient", "resident_premium"] = Field(
        description="门诊、药店购药、住院自付、居民医保个人缴费（为亲属）/ what the account pays for"
    )
    on_date: IsoDate
    for_person: Ref | None = Field(None, description="家庭共济：为其支付的亲属 / the relative paid for")


@router.post("/account-payments", status_code=201, summary="个人账户支付 / pay from an individual account")
def account_pay(
    body: AccountPayIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("claim.write"))],
    key: RequiredKey,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        code = _code(s, actor, body.region)
        pid = register.lookup_person(s, body.person).id
        register.check_person_visible(s, actor, pid)
        other = (
            register.lookup_person(s, body.for_person, "for_person").id
            if body.for_person is not None
            else None
        )
        payment = accounts.pay_from_account(
            s, actor, code, pid, parse_amount(body.amount, "amount"), body.purpose, body.on_date, key, other
        )
        return {**row(payment.as_dict()), "balance_after": fen_to_yuan_str(payment.balance_after_fen)}

    return call(request, step)


class CreditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32)
    month: Month


@router.post(
    "/account-credits/retirees",
    summary="退休人员个人账户月划入（每月一次，可续跑）/ credit retirees' accounts",
)
def credit_retirees(
    body: CreditIn, request: Request, actor: Annotated[Actor, Depends(require("contribution.write"))]
) -> dict[str, Any]:
    code = call(request, lambda s: _code(s, actor, body.region))
    done = accounts.credit_retirees(get_engine(request), code, parse_month(body.month, "month"), actor=actor)
    return row(dataclasses.asdict(done))


@router.get("/ledger/trial-balance", summary="试算平衡 / trial balance")
def trial_balance(
    request: Request,
    actor: Annotated[Actor, Depends(require("ledger.read"))],
    region: Region,
    as_of: dt.date,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        rows = ledger.trial_balance(s, as_of, _code(s, actor, region))
        debits, credits = sum(r.debit_fen for r in rows), sum(r.credit_fen for r in rows)
        return {
            "rows": [dataclasses.asdict(r) for r in rows],
            "debit_fen": debits,
            "credit_fen": credits,
            "balanced": debits == credits,
        }

    return call(request, step)


@router.get("/ledger/verify", summary="账本校验 / verify the ledger")
def verify(
    request: Request, actor: Annotated[Actor, Depends(require("ledger.read"))], region: Region
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        report = accounts.verify_ledger(s, _code(s, actor, region))
        return {**row(dataclasses.asdict(report)), "ok": report.ok}

    return call(request, step)


# -- retirement shortfall -------------------------------------------------------------------------
class ShortfallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    region: StrictStr = Field(max_length=32)
    on_date: IsoDate


@router.post(
    "/shortfalls", status_code=201, summary="核定补缴年限费用 / assess the minimum-years shortfall payment"
)
def shortfall(
    body: ShortfallIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        return row(
            retirement.shortfall_payment(s, actor, pid, _code(s, actor, body.region), body.on_date, key)
        )

    return call(request, step)


class ShortfallPaidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paid_on: IsoDate
    reference: StrictStr = Field(min_length=1, max_length=64)


@router.post("/shortfalls/{shortfall_id}/paid", summary="登记补缴到账 / record the shortfall paid")
def shortfall_paid(
    shortfall_id: PathId,
    body: ShortfallPaidIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    return call(
        request,
        lambda s: row(retirement.settle_shortfall(s, actor, shortfall_id, body.paid_on, body.reference, key)),
    )


# -- wage files, history, lump-sum plans, transfer cases, over-payments --------------------------
@router.post("/wage-files", summary="批量导入缴费工资（Excel/CSV）/ import a wage file")
async def wage_file(
    request: Request,
    actor: Annotated[Actor, Depends(require("payroll.declare"))],
    file: Annotated[UploadFile, File(description="yibao declare template 的 .xlsx 或 .csv")],
    region: Annotated[str, Form(max_length=32)],
    employer: Annotated[str | None, Form(max_length=32)] = None,
    mode: Annotated[Literal["all_or_nothing", "good_rows"], Form()] = "all_or_nothing",
) -> dict[str, Any]:
    """The file is checked row by row: with ``all_or_nothing`` one bad row imports nothing; the report
    names every bad row and field. An employer clerk imports for their own unit only."""
    data = await file.read(MAX_UPLOAD + 1)
    with tempfile.TemporaryDirectory(prefix="yibao-wages-") as tmp:
        name, path = save_upload(file.filename, data, Path(tmp))

        def step(s: Session) -> dict[str, Any]:
            code = _code(s, actor, region)
            uscc = None
            if actor.role == "employer" or employer:
                emp = register.lookup_employer(s, actor.employer_id if actor.role == "employer" else employer)
                register.check_employer_visible(actor, emp)
                uscc = emp.uscc
            # all_or_nothing: one bad row and nothing is written (the report says which and why)
            report = wage_files.import_wage_file(s, actor, path, code, uscc, mode)
            return {**row(report.as_dict()), "file": name}

        return await run_in_threadpool(call, request, step)


class HistoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    region: StrictStr = Field(max_length=6, description="GB/T 2260 代码（可在本系统之外）")
    from_month: Month
    to_month: Month
    kind: Literal["deemed", "actual", "back_paid"]
    source_document: StrictStr = Field(
        min_length=1, max_length=200, description="档案或证明 / the record it rests on"
    )
    note: StrictStr | None = Field(None, max_length=500)


@router.post("/history", status_code=201, summary="登记视同或既往缴费年限 / record deemed or earlier periods")
def history(
    body: HistoryIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        register.check_person_visible(s, actor, pid)
        return row(
            retirement.record_history(
                s,
                actor,
                pid,
                body.region,
                body.from_month,
                body.to_month,
                body.kind,
                body.source_document,
                key,
                body.note,
            )
        )

    return call(request, step)


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employer: Ref
    region: StrictStr = Field(max_length=32)
    amount_per_retiree: Amount = Field(description="每名退休人员一次性缴费（元），经办机构决定")
    retirees: StrictInt = Field(ge=1, le=1_000_000)
    instalments: StrictInt = Field(ge=1, le=120)
    schedule: Literal["monthly", "quarterly", "yearly"] = "monthly"
    first_due: IsoDate
    decided_on: IsoDate
    document: StrictStr = Field(min_length=1, max_length=200)


@router.post("/lump-sum-plans", status_code=201, summary="困难企业退休人员一次性缴费计划 / a lump-sum plan")
def create_plan(
    body: PlanIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        emp = register.lookup_employer(s, body.employer)
        register.check_employer_visible(actor, emp)
        return row(
            retirement.create_plan(
                s,
                actor,
                emp.id,
                _code(s, actor, body.region),
                parse_amount(body.amount_per_retiree, "amount_per_retiree"),
                body.retirees,
                body.instalments,
                body.schedule,
                body.first_due,
                body.decided_on,
                body.document,
                key,
            )
        )

    return call(request, step)


@router.get("/lump-sum-plans/{plan_id}", summary="一次性缴费计划 / a lump-sum plan")
def show_plan(
    plan_id: PathId, request: Request, actor: Annotated[Actor, Depends(require("case.read"))]
) -> dict[str, Any]:
    return call(request, lambda s: row(retirement.show_plan(s, actor, plan_id)))


class PlanPayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount
    paid_on: IsoDate
    reference: StrictStr = Field(min_length=1, max_length=64)


@router.post("/lump-sum-plans/{plan_id}/payments", summary="计划缴款 / pay against a plan")
def pay_plan(
    plan_id: PathId,
    body: PlanPayIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("contribution.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    return call(
        request,
        lambda s: row(
            retirement.pay_plan(
                s, actor, plan_id, parse_amount(body.amount, "amount"), body.paid_on, body.reference, key
            )
        ),
    )


class PlanRetireeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    from_month: Month
    retired_on: IsoDate | None = None
    pension: Amount | None = None


@router.post(
    "/lump-sum-plans/{plan_id}/retirees",
    status_code=201,
    summary="计划内退休人员单独参保 / enroll a plan's retiree",
)
def add_plan_retiree(
    plan_id: PathId,
    body: PlanRetireeIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        pension = parse_amount(body.pension, "pension") if body.pension is not None else None
        return row(
            retirement.add_plan_retiree(
                s, actor, plan_id, pid, body.from_month, body.retired_on, pension, key
            )
        )

    return call(request, step)


@router.get("/persons/{person}/transfers", summary="某人的转移接续案件 / a person's transfer cases")
def person_transfers(
    person: str, request: Request, actor: Annotated[Actor, Depends(require("case.read"))]
) -> list[dict[str, Any]]:
    def step(s: Session) -> list[dict[str, Any]]:
        pid = register.lookup_person(s, person).id
        register.check_person_visible(s, actor, pid)
        return [
            row(transfer.show_transfer(s, actor, c.id))
            for c in transfer.cases_of(s, pid)
            if actor.regions is None or {c.from_region, c.to_region} & set(actor.regions)
        ]

    return call(request, step)


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32)
    payer_kind: Literal["employer", "person"]
    payer: Ref


@router.post(
    "/payments/apply-unallocated", summary="以多缴款冲抵新核定月份 / match over-payments to new months"
)
def apply_unallocated(
    body: ApplyIn, request: Request, actor: Annotated[Actor, Depends(require("contribution.write"))]
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        code = _code(s, actor, body.region)
        payer_id = register.lookup_payer(s, actor, body.payer_kind or "person", body.payer)
        done = payments.apply_unallocated(s, actor, code, body.payer_kind, payer_id)
        return {
            "allocations": [
                {
                    "payment_id": a.payment_id,
                    "contribution_month_id": a.contribution_month_id,
                    "amount_fen": a.amount_fen,
                }
                for a in done
            ]
        }

    return call(request, step)
