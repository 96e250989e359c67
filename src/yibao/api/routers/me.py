"""``/api/v1/me``: an insured person's own records — enrollment, contributions by month, account
balance and statement, claims with their explanations. Nothing here takes a person: the person is
the signed-in account's (:attr:`~yibao.admin.uow.Actor.person_id`), so no one reaches another's."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from yibao.admin import accounts, claims, enrollment, register
from yibao.admin.uow import Actor
from yibao.api.deps import Limit, Offset, PathId, call, page, row
from yibao.api.routers.register import enrollment_view
from yibao.api.security import require
from yibao.errors import Forbidden

__all__ = ["me_person", "router"]

router = APIRouter(prefix="/api/v1/me", tags=["insured person / 参保人"])
Self = Annotated[Actor, Depends(require("self.read"))]


def me_person(actor: Actor) -> int:
    if actor.person_id is None:
        raise Forbidden("此账号未关联参保人", "this account is not linked to an insured person")
    return actor.person_id


@router.get("", summary="我的登记信息 / my register entry")
def me(request: Request, actor: Self) -> dict[str, Any]:
    pid = me_person(actor)
    own = dataclasses.replace(actor, purpose="本人查询 / own record")
    return call(request, lambda s: register.get_person(s, own, pid, unmasked=True).as_dict())


@router.get("/enrollments", summary="我的参保 / my enrollments")
def my_enrollments(request: Request, actor: Self) -> list[dict[str, Any]]:
    pid = me_person(actor)

    def step(s: Session) -> list[dict[str, Any]]:
        register.get_person(s, actor, pid)  # audits the read
        return [
            {
                **enrollment_view(e),
                "description_zh": enrollment.describe(s, e, "zh"),
                "description_en": enrollment.describe(s, e, "en"),
            }
            for e in enrollment.enrollments_of(s, pid)
        ]

    return call(request, step)


@router.get("/statement", summary="我的账户与缴费月份 / my account and contribution months")
def my_statement(
    request: Request, actor: Self, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    pid = me_person(actor)
    return call(
        request, lambda s: row(accounts.person_statement(s, actor, pid, date_from, date_to).as_dict())
    )


@router.get("/claims", summary="我的结算 / my claims")
def my_claims(request: Request, actor: Self, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    pid = me_person(actor)
    return page(call(request, lambda s: claims.claims_of(s, actor, pid, limit, offset)), limit, offset)


@router.get("/claims/{claim_id}", summary="我的一笔结算及解释 / one of my claims, explained")
def my_claim(claim_id: PathId, request: Request, actor: Self) -> dict[str, Any]:
    me_person(actor)
    return call(request, lambda s: claims.get_claim(s, actor, claim_id))
