"""Errors as the API returns them: one JSON shape, Chinese and English, never a traceback.

``{"error": {"code", "field", "value", "zh", "en", "request_id"}}`` with status 422 for bad input
(:class:`~yibao.errors.InputError`, request validation), 401 when no one is signed in, 403 when
the role or region does not allow it, 404 for an unknown region, 409 for a parameter whose source
is still missing, 429 after too many failed sign-ins, 500 (logged with the request id, no detail)
otherwise.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from yibao.admin import approvals
from yibao.admin.approvals import ApprovalRequired
from yibao.admin.uow import run
from yibao.errors import (
    Forbidden,
    InputError,
    NotSignedIn,
    TooManyAttempts,
    UnknownParameterError,
    UnknownRegionError,
    YibaoError,
)

__all__ = ["AUTH_RESPONSES", "ERROR_RESPONSES", "ErrorOut", "error_body", "install"]

log = logging.getLogger("yibao.api")


class ErrorDetail(BaseModel):
    code: str
    field: str | None = None
    value: Any = None
    zh: str
    en: str
    request_id: str | None = None
    reason: str | None = None  # a coded refusal: not_enrolled, deceased, suspended, waiting, …


class ErrorOut(BaseModel):
    """Every error the API returns."""

    error: ErrorDetail


#: Documented on every route (schemathesis checks that each response matches the spec).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "请求无法解析 / malformed request"},
    404: {"model": ErrorOut, "description": "没有这个地区或地址 / no such region or path"},
    409: {"model": ErrorOut, "description": "所需参数尚无来源 / a needed parameter has no source yet"},
    422: {"model": ErrorOut, "description": "输入无效 / invalid input (field, value, what is accepted)"},
}
#: Also documented on the routes that need a signed-in user.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "未登录或令牌无效 / not signed in, or a bad token"},
    403: {"model": ErrorOut, "description": "角色或地区无权 / the role or region does not allow it"},
}
_STATUS: dict[type[YibaoError], int] = {
    InputError: 422,
    UnknownRegionError: 404,
    UnknownParameterError: 409,
    Forbidden: 403,
    NotSignedIn: 401,
    TooManyAttempts: 429,
}


# where a value came from, and the members of a union pydantic tried: not part of the field's name
_NOT_FIELDS = frozenset({"body", "query", "path", "header", "str", "int", "float", "bool"})


def error_body(
    request: Request, code: str, zh: str, en: str, field: str | None = None, value: Any = None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "field": field,
            "value": value,
            "zh": zh,
            "en": en,
            "request_id": getattr(request.state, "request_id", None),
        }
    }


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(YibaoError)
    async def yibao_error(request: Request, exc: YibaoError) -> JSONResponse:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 422)
        field: str | None
        value: Any
        if isinstance(exc, UnknownRegionError):
            field, value = "region", exc.given
        else:
            field = getattr(exc, "field", None) or getattr(exc, "key", None)
            value = getattr(exc, "value", None)
        body = error_body(request, type(exc).__name__, exc.zh, exc.en, field, _jsonable(value))
        reason = getattr(exc, "reason", None)
        if isinstance(reason, str):
            body["error"]["reason"] = reason
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(ApprovalRequired)
    async def approval_required(request: Request, exc: ApprovalRequired) -> JSONResponse:
        """Four-eyes: the operation waits for a reviewer. File the request (nothing else changed)
        and answer 202 with it."""
        engine = request.app.state.engine
        filed = await run_in_threadpool(
            lambda: run(engine, lambda s: approvals.view(approvals.submit(s, exc)))
        )
        body = {
            "status": "pending_approval",
            "zh": exc.zh,
            "en": exc.en,
            "approval": filed,
            "request_id": getattr(request.state, "request_id", None),
        }
        return JSONResponse(body, status_code=202, headers={"Location": f"/api/v1/approvals/{filed['id']}"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err.get("loc", ()) if x not in _NOT_FIELDS and "[" not in str(x))
        value = None if err.get("type") == "missing" else _jsonable(err.get("input"))
        body = error_body(
            request,
            "InputError",
            f"字段 {field} 的值无效：{err.get('msg')}",
            f"field {field}: invalid value: {err.get('msg')}",
            field,
            value,
        )
        return JSONResponse(body, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        zh = {404: "没有这个地址", 405: "不支持该方法"}.get(exc.status_code, "请求无法处理")
        body = error_body(request, f"HTTP{exc.status_code}", zh, str(exc.detail))
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the first route matching the path; GET and POST of one path
            # are separate routes, so list every method any route of this path accepts
            path = request.url.path
            methods = {
                m
                for r in app.routes
                if isinstance(r, APIRoute) and r.path_regex.match(path)
                for m in (r.methods or ())
            }
            headers["Allow"] = ", ".join(sorted(methods))
        return JSONResponse(body, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"request_id": getattr(request.state, "request_id", None)})
        body = error_body(
            request,
            "InternalError",
            "内部错误，已记录；请把请求编号告诉管理员",
            "internal error, logged; give the request id to an administrator",
        )
        return JSONResponse(body, status_code=500)
