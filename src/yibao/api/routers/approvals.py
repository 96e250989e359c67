"""Four-eyes approval (双人复核, :mod:`yibao.admin.approvals`): the requests, the reviewer's decision,
and the two operations that exist only under it — an identity correction and a manual account
adjustment. Any route whose operation needs a reviewer answers **202** with the request it filed
(``Location: /api/v1/approvals/{id}``) and changes nothing until a reviewer approves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from sqlalchemy.orm import Session

from yibao.admin import accounts, approvals, register
from yibao.admin.uow import Actor
from yibao.api.deps import IdemKey, Limit, Offset, PathId, Ref, call, page
from yibao.api.security import require
from yibao.money import parse_amount, parse_yuan
from yibao.platform.models import Amount, IsoDate

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["approvals / 复核"])
Status = Literal["pending", "approved", "rejected", "executed"]


@router.get("/approvals", summary="复核申请 / approval requests")
def listing(
    request: Request,
    actor: Annotated[Actor, Depends(require("approval.read"))],
    status: Status | None = "pending",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A reviewer sees their regions' requests; an operator sees their own."""
    return page(call(request, lambda s: approvals.listing(s, actor, status, limit, offset)), limit, offset)


@router.get("/approvals/{approval_id}", summary="一条复核申请 / one approval request")
def one(
    approval_id: PathId,
    request: Request,
    actor: Annotated[Actor, Depends(require("approval.read"))],
) -> dict[str, Any]:
    return call(request, lambda s: approvals.get(s, actor, approval_id))


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: StrictStr = Field(
        default="", max_length=256, description="意见；驳回时必填 / note, needed to reject"
    )


@router.post("/approvals/{approval_id}/approve", summary="批准并办理 / approve, and do it")
def approve(
    approval_id: PathId,
    body: DecisionIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("approval.decide"))],
) -> dict[str, Any]:
    return call(request, lambda s: approvals.decide(s, actor, approval_id, True, body.note))


@router.post("/approvals/{approval_id}/reject", summary="驳回 / reject")
def reject(
    approval_id: PathId,
    body: DecisionIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("approval.decide"))],
) -> dict[str, Any]:
    return call(request, lambda s: approvals.decide(s, actor, approval_id, False, body.note))


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: StrictStr = Field(max_length=32, description="办理的统筹地区 / the office's region")
    id_number: StrictStr | None = Field(default=None, max_length=32)
    name: StrictStr | None = Field(default=None, max_length=64)
    reason: StrictStr = Field(min_length=1, max_length=256)


@router.post(
    "/persons/{person}/corrections",
    summary="更正身份信息（须复核）/ correct an identity (needs a reviewer)",
    status_code=202,
)
def correct(
    person: Ref,
    body: CorrectionIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        code = register.resolve_region(s, body.region).code
        return register.correct_identity(
            s, actor, person, code, id_number=body.id_number, name=body.name, reason=body.reason
        )

    return call(request, step)


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    region: StrictStr = Field(max_length=32)
    amount: Amount = Field(
        description="元；正数记入个人账户，负数从中扣回 / yuan: + credits, − debits the account"
    )
    on_date: IsoDate
    reason: StrictStr = Field(min_length=1, max_length=256)


@router.post(
    "/accounts/adjustments",
    summary="个人账户手工调整（须复核）/ adjust an individual account (needs a reviewer)",
    status_code=202,
)
def adjust(
    body: AdjustmentIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("contribution.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        code = register.resolve_region(s, body.region).code
        pid = register.lookup_person(s, body.person).id
        amount = parse_yuan(body.amount, "amount")
        return accounts.adjust_account(s, actor, code, pid, amount, body.on_date, body.reason, key or "")

    return call(request, step)


class ThresholdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_review: Amount | None = Field(default=None, description="元：结算总费用达到此数须复核")
    export_review: StrictInt | None = Field(
        default=None, ge=1, le=100_000_000, description="导出超过此人数须复核"
    )


@router.put("/regions/{region}/review-thresholds", summary="复核阈值 / the four-eyes thresholds")
def thresholds(
    region: str,
    body: ThresholdsIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("security.manage"))],
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        code = register.resolve_region(s, region).code
        fen = None if body.claim_review is None else parse_amount(body.claim_review, "claim_review")
        t = approvals.set_thresholds(s, actor, code, fen, body.export_review)
        return {
            "region": t.region,
            "claim_review_fen": t.claim_review_fen,
            "export_review_rows": t.export_review_rows,
        }

    return call(request, step)
