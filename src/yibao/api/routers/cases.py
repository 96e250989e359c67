"""``/api/v1/transfers`` and ``/api/v1/retirements``: the cases that span regions and years.

The same services as ``yibao transfer`` and ``yibao retire`` (:mod:`yibao.admin.transfer`,
:mod:`yibao.admin.retirement`): a transfer is issued by the region left (参保凭证), received by the
new one and completed when the gap months are settled; a retirement is checked (minimum years,
arrears, the shortfall payment) before the person is switched to retiree cover.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sqlalchemy.orm import Session

from yibao.admin import register, retirement, transfer
from yibao.admin.uow import Actor
from yibao.api.deps import IdemKey, PathId, Ref, call, row
from yibao.api.routers.register import Month
from yibao.api.security import require
from yibao.money import parse_amount
from yibao.platform.models import Amount, IsoDate

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["cases / 转移接续与退休"])


class TransferOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    from_region: StrictStr = Field(max_length=32)
    end_month: Month
    issued_on: IsoDate | None = None


@router.post(
    "/transfers", status_code=201, summary="转出，开具参保凭证 / transfer out (issue the certificate)"
)
def transfer_out(
    body: TransferOutIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        region = register.resolve_region(s, body.from_region, "from_region").code
        return row(transfer.transfer_out(s, actor, pid, region, body.end_month, key, body.issued_on))

    return call(request, step)


@router.get("/transfers/{case_id}", summary="转移接续案件 / a transfer case")
def show_transfer(
    case_id: PathId, request: Request, actor: Annotated[Actor, Depends(require("case.read"))]
) -> dict[str, Any]:
    return call(request, lambda s: row(transfer.show_transfer(s, actor, case_id)))


class TransferInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_region: StrictStr = Field(max_length=32)
    start_month: Month
    category: StrictStr = Field(max_length=16)
    employer: Ref | None = None
    flexible_option: StrictInt = Field(0, ge=0, le=20)


@router.post("/transfers/{case_id}/receive", summary="转入地接收 / receive in the new region")
def transfer_in(
    case_id: PathId,
    body: TransferInIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        region = register.resolve_region(s, body.to_region, "to_region").code
        emp = register.lookup_employer(s, body.employer).id if body.employer is not None else None
        return row(
            transfer.transfer_in(
                s,
                actor,
                case_id,
                region,
                body.start_month,
                body.category,
                emp,
                key=key,
                flexible_option=body.flexible_option,
            )
        )

    return call(request, step)


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_date: IsoDate
    declined: StrictBool = Field(False, description="参保人放弃补缴空档月份 / the person declines the gap")


@router.post("/transfers/{case_id}/complete", summary="办结 / complete a transfer")
def complete(
    case_id: PathId,
    body: CompleteIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    return call(
        request,
        lambda s: row(transfer.complete_transfer(s, actor, case_id, body.on_date, body.declined, key)),
    )


@router.get("/persons/{person}/retirement-check", summary="退休资格审核 / retirement check")
def retirement_check(
    person: str,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.read"))],
    region: Annotated[str, Query(max_length=32)],
    on_date: dt.date,
    arrears_scope: Literal["person", "unit"] = "person",
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, person).id
        register.check_person_visible(s, actor, pid)
        code = register.resolve_region(s, region).code
        return row(
            retirement.retirement_check(s, code, pid, on_date, actor=actor, arrears_scope=arrears_scope)
        )

    return call(request, step)


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    region: StrictStr = Field(max_length=32)
    retired_on: IsoDate
    pension: Amount = Field(description="月养老金（元）/ monthly pension")
    arrears_scope: Literal["person", "unit"] = "person"
    mode: StrictStr = Field("with_unit", max_length=16)


@router.post("/retirements", status_code=201, summary="办理退休（转退休人员待遇）/ retire a member")
def retire(
    body: RetireIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("case.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        code = register.resolve_region(s, body.region).code
        pension = parse_amount(body.pension, "pension")
        return row(
            retirement.retire(
                s,
                actor,
                pid,
                code,
                body.retired_on,
                pension,
                key,
                arrears_scope=body.arrears_scope,
                mode=body.mode,
            )
        )

    return call(request, step)
