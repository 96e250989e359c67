"""``/api/v1/claims``: settle (or pre-settle) a claim on the register, read it, reverse it.

The same service as ``yibao settle`` (:mod:`yibao.admin.claims`): the person's type, age, account
balance and benefit share come from the register, never from the request; the answer is the
stored claim with ``setlinfo``, ``setldetail`` and the explanation in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from sqlalchemy.orm import Session

from yibao.admin import claims, register
from yibao.admin.uow import Actor
from yibao.api.deps import IdemKey, Limit, Offset, PathId, Ref, call, page
from yibao.api.security import require
from yibao.money import parse_amount
from yibao.platform.models import Amount, IsoDate

__all__ = ["ClaimRequest", "claim_input", "router"]

router = APIRouter(prefix="/api/v1", tags=["claims / 结算"])


class ClaimRequest(BaseModel):
    """One claim as the provider submits it (amounts in yuan)."""

    model_config = ConfigDict(extra="forbid")
    person: Ref
    region: StrictStr = Field(max_length=32, description="参保地 / insured region")
    service_date: IsoDate
    kind: Literal["inpatient", "outpatient"] = "inpatient"
    level: StrictStr = Field(
        "level_3", max_length=16, description="pharmacy community level_1 level_2 level_3 level_3a"
    )
    total: Amount = Field(description="医疗费总额 / medfee_sumamt")
    full_self_pay: Amount = Field("0", description="全自费 / fulamt_ownpay_amt")
    over_limit: Amount = Field("0", description="超限价自付 / overlmt_selfpay")
    preselfpay: Amount | None = Field(None, description="先行自付 / preselfpay_amt")
    category_b: Amount | None = Field(None, description="乙类金额 / catb_amt")
    remote: Literal["local", "registered", "unregistered"] = "local"
    settle_date: IsoDate | None = None
    use_account: StrictBool = True
    dry_run: StrictBool = Field(False, description="预结算，不记账 / pre-settle only")


def claim_input(body: ClaimRequest) -> claims.ClaimInput:
    """The service's input from the request (yuan → fen, each field checked and named)."""
    return claims.ClaimInput(
        service_date=body.service_date,
        kind=body.kind,
        level=body.level,
        total_fen=parse_amount(body.total, "total"),
        full_self_pay_fen=parse_amount(body.full_self_pay, "full_self_pay"),
        over_limit_fen=parse_amount(body.over_limit, "over_limit"),
        preselfpay_fen=parse_amount(body.preselfpay, "preselfpay") if body.preselfpay is not None else None,
        category_b_fen=parse_amount(body.category_b, "category_b") if body.category_b is not None else None,
        remote=body.remote,
        settle_date=body.settle_date,
        use_account=body.use_account,
    )


@router.post(
    "/claims", status_code=201, summary="结算（dry_run 为预结算）/ settle a claim (dry_run: pre-settle)"
)
def settle(
    body: ClaimRequest,
    request: Request,
    actor: Annotated[Actor, Depends(require("claim.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    ci = claim_input(body)

    def step(s: Session) -> dict[str, Any]:
        # a division code and a register number go straight to the service, which checks both in
        # its first round trip; names and ID numbers are looked up first (two more round trips)
        code = body.region.strip()
        region = code if len(code) == 6 and code.isdecimal() else register.resolve_region(s, body.region).code
        pid = body.person if isinstance(body.person, int) else register.lookup_person(s, body.person).id
        if body.dry_run:
            return claims.presettle(s, actor, region, pid, ci)
        return claims.settle(s, actor, region, pid, ci, key=key)

    return call(request, step)


@router.get("/claims/{claim_id}", summary="一笔结算及其解释 / a claim with its explanation")
def get_claim(
    claim_id: PathId, request: Request, actor: Annotated[Actor, Depends(require("claim.read"))]
) -> dict[str, Any]:
    return call(request, lambda s: claims.get_claim(s, actor, claim_id))


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_date: IsoDate | None = Field(None, description="冲销日期（默认今天）/ reversal date, default today")


@router.post("/claims/{claim_id}/reverse", summary="冲销 / reverse a claim")
def reverse(
    claim_id: PathId,
    body: ReverseIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("claim.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    on = body.on_date or dt.date.today()
    return call(request, lambda s: claims.reverse(s, actor, claim_id, key, on))


@router.get("/persons/{person}/claims", summary="某人的结算（无解释）/ a person's claims")
def person_claims(
    person: str,
    request: Request,
    actor: Annotated[Actor, Depends(require("claim.read"))],
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    def step(s: Session) -> list[dict[str, Any]]:
        return claims.claims_of(s, actor, register.lookup_person(s, person).id, limit, offset)

    return page(call(request, step), limit, offset)
