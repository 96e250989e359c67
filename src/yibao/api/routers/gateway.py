"""``POST /api/v1/gateway``: the national platform's message envelope in, its answer out.

A hospital information system posts what it would post to the national platform (see
:mod:`yibao.platform.gateway` and docs/gateway.md) with a provider account's bearer token. As on
the platform, a message that fails still answers HTTP 200 with ``infcode`` -1 and ``err_msg``
(Chinese, then English, naming the field), and changes nothing; only a missing or wrong token is
refused at the HTTP level (401, 403).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from yibao.admin.uow import Actor
from yibao.api.deps import call
from yibao.api.security import require
from yibao.errors import InputError, YibaoError
from yibao.platform.gateway import INFNOS, handle

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["national platform gateway / 国家医保平台接口"])

EXAMPLE = {
    "infno": "1101",
    "msgid": "H11010500001202403150900000001",
    "mdtrtarea_admvs": "110000",
    "insuplc_admdvs": "110000",
    "opter": "001",
    "inf_time": "2024-03-15 09:00:00",
    "fixmedins_code": "H11010500001",
    "input": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "11010519491231002X"}},
}


@router.post(
    "/gateway",
    summary="国家医保平台报文（" + "、".join(INFNOS) + "）/ the national platform's messages",
)
def gateway(
    request: Request,
    actor: Annotated[Actor, Depends(require("gateway.use"))],
    message: Annotated[dict[str, Any], Body(examples=[EXAMPLE])],
) -> dict[str, Any]:
    now = dt.datetime.now()
    try:
        return call(request, lambda s: handle(s, actor, message, now))
    except YibaoError as exc:
        field = exc.field if isinstance(exc, InputError) else None
        return {
            "infcode": -1,
            "inf_refmsgid": None,
            "refmsg_time": now.strftime("%Y%m%d%H%M%S%f")[:17],
            "respond_time": dt.datetime.now().strftime("%Y%m%d%H%M%S%f")[:17],
            "err_msg": f"{exc.zh} / {exc.en}"[:1000],
            "err_field": field,
            "output": None,
        }
