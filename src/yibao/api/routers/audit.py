"""``/api/v1/audit``: the audit trail — who read or changed what, when and why (auditors, admins).

An auditor limited to regions sees the events of those regions; asking for one person's trail
checks that the person is theirs to see, then shows every event about them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from yibao.admin import watch
from yibao.admin.trail import trail_for
from yibao.admin.uow import Actor
from yibao.api.deps import Limit, Offset, PathId, call, page
from yibao.api.security import require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["audit / 审计"])


@router.get("/audit", summary="审计记录 / the audit trail")
def trail(
    request: Request,
    actor: Annotated[Actor, Depends(require("audit.read"))],
    limit: Limit = 100,
    offset: Offset = 0,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    user: Annotated[str | None, Query(max_length=64, description="操作人，如 user:zhang")] = None,
    action: Annotated[str | None, Query(max_length=48, description="如 person.read, claim.settle")] = None,
) -> dict[str, Any]:
    def step(s: Session) -> list[dict[str, Any]]:
        return trail_for(
            s,
            actor,
            subject_type=subject_type,
            subject_id=subject_id,
            user=user,
            action=action,
            limit=limit,
            offset=offset,
        )

    return page(call(request, step), limit, offset)


@router.get("/security/alerts", summary="安全告警（批量查询等）/ security alerts (bulk reads)")
def alerts(
    request: Request,
    actor: Annotated[Actor, Depends(require("security.read"))],
    limit: Limit = 100,
    offset: Offset = 0,
    open_only: bool = True,
) -> dict[str, Any]:
    def step(s: Session) -> list[dict[str, Any]]:
        return watch.alerts(s, actor, open_only, limit, offset)

    return page(call(request, step), limit, offset)


@router.post("/security/alerts/{alert_id}/ack", summary="确认告警 / acknowledge an alert")
def acknowledge(
    alert_id: PathId, request: Request, actor: Annotated[Actor, Depends(require("security.manage"))]
) -> dict[str, Any]:
    return call(request, lambda s: watch.acknowledge(s, actor, alert_id))
