"""``/api/v1/declarations``, ``/payments``, ``/arrears``, ``/persons/{p}/statement``: money in.

The same services as ``yibao declare``, ``yibao pay``, ``yibao arrears`` and ``yibao account
statement``. Amounts in are yuan (``"8000.00"``); amounts out are fen (``*_fen``) with the yuan
text beside where a person reads them. An employer clerk may declare for and see the arrears of
their own unit only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from sqlalchemy.orm import Session

from yibao.admin import accounts, assessment, declarations, payments, register
from yibao.admin.uow import Actor
from yibao.api.deps import IdemKey, Limit, Offset, Ref, call, page, row
from yibao.api.routers.register import Month
from yibao.api.security import get_engine, require
from yibao.db.models.contribution import WageDeclaration
from yibao.money import fen_to_yuan_str, parse_yuan
from yibao.platform.models import Amount, IsoDate

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["contributions / 缴费"])
PayerKind = Literal["employer", "person"]


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    region: StrictStr = Field(max_length=32)
    payer_kind: PayerKind
    payer: Ref = Field(description="单位（登记号或信用代码）或本人 / the unit, or the person themself")
    wage: Amount = Field(description="月工资（元）/ monthly wage")
    month_from: Month
    month_to: Month | None = None


@router.post("/declarations", status_code=201, summary="申报缴费工资 / declare a wage")
def declare(
    body: DeclarationIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("payroll.declare"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        region = register.resolve_region(s, body.region).code
        pid = register.lookup_person(s, body.person).id
        payer = register.lookup_payer(s, actor, body.payer_kind, body.payer)
        wage = declarations.parse_wage(body.wage)
        request_doc = {**body.model_dump(mode="json"), "region": region}

        def make() -> WageDeclaration:
            return declarations.declare_wage(
                s, actor, region, pid, body.payer_kind, payer, body.month_from, wage, body.month_to
            )

        d = register.replayable(s, key, "declaration.create", request_doc, make, WageDeclaration)
        return row(
            {
                "id": d.id,
                "person_id": d.person_id,
                "region": d.region_code,
                "payer_kind": d.payer_kind,
                "payer_id": d.payer_id,
                "month_from": d.month_from,
                "month_to": d.month_to,
                "wage_fen": d.wage_fen,
                "wage": fen_to_yuan_str(d.wage_fen),
            }
        )

    return call(request, step)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32)
    payer_kind: PayerKind
    payer: Ref
    amount: Amount
    received_on: IsoDate
    reference: StrictStr = Field(min_length=1, max_length=64, description="银行流水号等 / bank reference")
    months: list[StrictStr | StrictInt] | None = Field(
        None, max_length=600, description="只冲抵这些月份（补缴）"
    )
    person: Ref | None = Field(None, description="单位缴款只冲抵此人的月份 / one employee's months only")


@router.post("/payments", status_code=201, summary="登记缴款并冲抵 / record a payment and match it")
def pay(
    body: PaymentIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("contribution.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        region = register.resolve_region(s, body.region).code
        payer = register.lookup_payer(s, actor, body.payer_kind, body.payer)
        pid = register.lookup_person(s, body.person).id if body.person is not None else None
        amount = parse_yuan(body.amount, "amount")
        p = payments.record_payment(
            s,
            actor,
            region,
            body.payer_kind,
            payer,
            amount,
            body.received_on,
            body.reference,
            key=key,
            months=body.months,
            person_id=pid,
        )
        matched = [
            {"month": cm.month, "person_id": cm.person_id, "amount_fen": a.amount_fen, "status": cm.status}
            for a, cm in payments.allocations(s, p.id)
        ]
        return row(
            {
                "id": p.id,
                "region": p.region_code,
                "payer_kind": p.payer_kind,
                "payer_id": p.payer_id,
                "amount_fen": p.amount_fen,
                "unallocated_fen": p.unallocated_fen,
                "received_on": p.received_on,
                "reference": p.reference,
                "allocations": matched,
            }
        )

    return call(request, step)


@router.get("/arrears", summary="欠费清单 / arrears list")
def arrears(
    request: Request,
    actor: Annotated[Actor, Depends(require("arrears.read"))],
    region: Annotated[str, Query(max_length=32)],
    limit: Limit = 100,
    offset: Offset = 0,
    payer_kind: PayerKind | None = None,
    payer: Annotated[str | None, Query(max_length=32)] = None,
    as_of_month: Annotated[str | None, Query(max_length=7, description="截至月份 YYYY-MM")] = None,
) -> dict[str, Any]:
    def step(s: Session) -> list[Any]:
        code = register.resolve_region(s, region).code
        kind, pid = payer_kind, None
        if actor.role == "employer":  # a clerk sees their own unit's arrears, whatever is asked
            kind, pid = "employer", actor.employer_id if actor.employer_id is not None else -1
        elif payer is not None:
            if kind is None:
                kind = "employer"
            pid = register.lookup_payer(s, actor, kind, payer)
        return assessment.arrears(s, code, kind, pid, as_of_month, actor, limit=limit, offset=offset)

    return page(call(request, step), limit, offset)


@router.get("/persons/{person}/statement", summary="个人账户对账单与缴费月份 / account statement and months")
def statement(
    person: str,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.read"))],
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    region: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, person).id
        code = register.resolve_region(s, region).code if region else None
        return row(accounts.person_statement(s, actor, pid, date_from, date_to, code).as_dict())

    return call(request, step)


@router.get("/persons/{person}/backpay", summary="补缴报价与连续性 / back-payment quote and continuity")
def backpay(
    person: str,
    request: Request,
    actor: Annotated[Actor, Depends(require("arrears.read"))],
    region: Annotated[str, Query(max_length=32)],
    as_of: dt.date,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, person).id
        register.check_person_visible(s, actor, pid)
        code = register.resolve_region(s, region).code
        return row(payments.backpay_quote(s, code, as_of=as_of, person_id=pid, actor=actor).as_dict())

    return call(request, step)


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32)
    month: Month
    reopen: bool = Field(False, description="已完成的月份再次核定新登记的人 / assess people enrolled since")


@router.post(
    "/assessments", summary="月度核定（每人每月一次，可续跑）/ assess a month (once per person, resumable)"
)
def assess(
    body: AssessmentIn, request: Request, actor: Annotated[Actor, Depends(require("contribution.write"))]
) -> dict[str, Any]:
    code = call(request, lambda s: register.resolve_region(s, body.region).code)
    summary = assessment.run_assessment(
        get_engine(request), code, body.month, actor=actor, reopen=body.reopen
    )
    zh, en = summary.message
    return row({**dataclasses.asdict(summary), "message_zh": zh, "message_en": en})
