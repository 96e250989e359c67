"""``/api/v1/auth`` and ``/api/v1/users``: sign in and out, who am I, accounts and machine tokens.

A browser signs in with ``POST /api/v1/auth/login`` (or the sign-in page) and gets the session
cookie and its CSRF token; a machine uses a bearer token an admin issued
(``POST /api/v1/auth/tokens``, shown once). Passwords are never logged or echoed back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from sqlalchemy.orm import Session

from yibao.admin import users
from yibao.admin.uow import Actor, run
from yibao.api.deps import PathId, Ref
from yibao.api.errors import AUTH_RESPONSES
from yibao.api.security import (
    CSRF_HEADER,
    check_csrf,
    forget,
    get_engine,
    require,
    set_session_cookie,
    sign_in,
    sign_out,
    signed_in,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["accounts / 账户"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)
    otp: StrictStr | None = Field(None, max_length=10, description="动态口令（管理员、稽核）/ one-time code")


class SessionOut(BaseModel):
    username: str
    role: str
    csrf_token: str | None = None
    display_name: str | None = None
    regions: list[str] | None = None
    person_id: int | None = None
    employer_id: int | None = None


@router.post(
    "/auth/login",
    summary="登录（浏览器会话）/ sign in (browser session)",
    responses={
        401: AUTH_RESPONSES[401],
        429: {"model": AUTH_RESPONSES[401]["model"], "description": "登录失败次数过多 / too many failures"},
    },
)
def login(body: LoginIn, request: Request, response: Response) -> SessionOut:
    sid, csrf, role = sign_in(request, body.username, body.password, body.otp)
    set_session_cookie(request, response, sid)
    return SessionOut(username=body.username.strip(), role=role, csrf_token=csrf)


@router.post("/auth/logout", status_code=204, summary="退出 / sign out", responses=AUTH_RESPONSES)
def logout(request: Request, response: Response) -> None:
    p = signed_in(request)
    check_csrf(request, p, request.headers.get(CSRF_HEADER))
    sign_out(request, response)
    response.status_code = 204


@router.get("/auth/me", summary="当前用户 / who am I", responses=AUTH_RESPONSES)
def me(request: Request) -> SessionOut:
    p = signed_in(request)
    a = p.actor
    return SessionOut(
        username=p.username,
        role=p.role,
        csrf_token=p.csrf_token,
        display_name=p.display_name,
        regions=list(a.regions) if a.regions is not None else None,
        person_id=a.person_id,
        employer_id=a.employer_id,
    )


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)
    role: StrictStr = Field(max_length=16, description="operator auditor analyst employer insured admin")
    regions: list[Annotated[str, Field(max_length=6)]] | None = Field(None, max_length=64)
    person: Ref | None = Field(None, description="参保人账号：登记号或证件号码")
    employer: Ref | None = Field(None, description="单位账号：登记号或统一社会信用代码")
    display_name: StrictStr | None = Field(None, max_length=64)


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    regions: list[str] | None
    person_id: int | None
    employer_id: int | None


@router.post(
    "/users",
    status_code=201,
    summary="新建账号（管理员）/ create an account (admin)",
    responses=AUTH_RESPONSES,
)
def create_user(
    body: UserIn, request: Request, actor: Annotated[Actor, Depends(require("account.manage"))]
) -> UserOut:
    def step(s: Session) -> UserOut:
        u = users.create_user(
            s,
            actor,
            body.username,
            body.password,
            body.role,
            regions=body.regions,
            person=body.person,
            employer=body.employer,
            display_name=body.display_name,
        )
        return UserOut(
            id=u.id,
            username=u.username,
            role=u.role,
            regions=u.regions.split(",") if u.regions else None,
            person_id=u.person_id,
            employer_id=u.employer_id,
        )

    return run(get_engine(request), step)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: StrictStr = Field(max_length=64)
    name: StrictStr = Field(max_length=64, description="令牌用途，如医院 HIS 名称 / what the token is for")
    days: StrictInt | None = Field(
        365, description="有效天数；null 为不过期 / days valid; null never expires"
    )


class TokenOut(BaseModel):
    id: int
    token: str = Field(description="只显示这一次 / shown this once only")
    expires_at: str | None


@router.post(
    "/auth/tokens",
    status_code=201,
    summary="签发机器令牌（管理员）/ issue a machine token (admin)",
    responses=AUTH_RESPONSES,
)
def issue_token(
    body: TokenIn, request: Request, actor: Annotated[Actor, Depends(require("account.manage"))]
) -> TokenOut:
    row, secret = run(
        get_engine(request), lambda s: users.issue_token(s, actor, body.username, body.name, body.days)
    )
    return TokenOut(
        id=row.id, token=secret, expires_at=row.expires_at.isoformat() if row.expires_at else None
    )


@router.delete(
    "/auth/tokens/{token_id}",
    status_code=204,
    summary="撤销令牌（管理员）/ revoke a token (admin)",
    responses={**AUTH_RESPONSES, 422: {"description": "无此令牌 / no such token"}},
)
def revoke_token(
    token_id: PathId, request: Request, actor: Annotated[Actor, Depends(require("account.manage"))]
) -> None:
    forget(run(get_engine(request), lambda s: users.revoke_token(s, actor, token_id)))


class TotpOut(BaseModel):
    username: str
    secret: str = Field(description="只显示这一次 / shown this once only")
    uri: str = Field(description="otpauth:// 地址，身份验证器读取 / for an authenticator app")


@router.post(
    "/users/{username}/totp",
    summary="设置动态口令（管理员）/ set up a user's one-time codes (admin)",
    responses={**AUTH_RESPONSES, 422: {"description": "无此用户 / no such user"}},
)
def enroll_totp(
    username: Annotated[str, Path(max_length=64)],
    request: Request,
    actor: Annotated[Actor, Depends(require("account.manage"))],
) -> TotpOut:
    secret, uri = run(get_engine(request), lambda s: users.enroll_totp(s, actor, username))
    return TotpOut(username=username, secret=secret, uri=uri)
