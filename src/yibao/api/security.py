"""Who is calling: a bearer token (machines) or a session cookie (browsers), and what they may do.

- ``Authorization: Bearer yb_…`` — a token from ``yibao user token`` or ``POST /api/v1/auth/tokens``.
- the ``yibao_session`` cookie — set by ``POST /api/v1/auth/login`` or the sign-in page; HttpOnly,
  SameSite=Strict, ``Secure`` when the request came over HTTPS. A request authenticated by the
  cookie that changes anything must carry the session's CSRF token (``X-CSRF-Token`` header, or
  the ``csrf_token`` field of a page's form): a cookie alone is not proof the user meant it.

:func:`require` is the dependency a route names with its permission (:mod:`yibao.admin.roles`);
it answers 401 when no one is signed in, 403 when the role does not allow it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from fastapi import Request, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.admin.roles import authorize
from yibao.admin.uow import Actor, run
from yibao.admin.users import (
    SESSION_HOURS,
    actor_of,
    attempt_login,
    end_session,
    session_user,
    start_session,
    token_user,
)
from yibao.errors import Forbidden, NotSignedIn

__all__ = [
    "CACHE_SECONDS",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Principal",
    "check_csrf",
    "client_of",
    "forget",
    "get_engine",
    "principal",
    "require",
    "set_session_cookie",
    "sign_in",
    "sign_out",
    "signed_in",
]

SESSION_COOKIE = "yibao_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request."""

    username: str
    display_name: str | None
    role: str
    actor: Actor
    via: str  # session | token
    csrf_token: str | None  # sessions only


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


#: How long a looked-up token or session is trusted without asking the database again. Looking it
#: up costs a transaction and two queries — a third of a settlement's own time (docs/performance.md);
#: the price is that a revocation, an expiry or a sign-out on another worker process takes effect
#: within this many seconds (on the worker that made it, at once).
CACHE_SECONDS = 30.0
_CACHE_MAX = 10_000
_cache: dict[str, tuple[float, Principal]] = {}


def forget(digest: str) -> None:
    """Drop a cached token or session (by its SHA-256, as the database stores it)."""
    _cache.pop(digest, None)


def _cached(digest: str, rid: str) -> Principal | None:
    hit = _cache.get(digest)
    if hit is None or hit[0] < time.monotonic():
        return None
    return replace(hit[1], actor=replace(hit[1].actor, request_id=rid))


def _remember(digest: str, p: Principal) -> None:
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()  # rare: far more live credentials than a bureau has
    _cache[digest] = (time.monotonic() + CACHE_SECONDS, p)


def principal(request: Request) -> Principal | None:
    """The caller, or None; looked up once per request (and cached, see :data:`CACHE_SECONDS`)."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    rid = getattr(request.state, "request_id", "")
    auth = request.headers.get("authorization", "")
    scheme, _, credential = auth.partition(" ")
    token = credential.strip() if scheme.lower() == "bearer" else None
    sid = None if token else request.cookies.get(SESSION_COOKIE)
    result: Principal | None = None
    digest = hashlib.sha256((token or sid or "").encode()).hexdigest()
    if token or sid:
        result = _cached(digest, rid)
        if result is not None:
            request.state.principal = result
            return result

        def look(s: Session) -> Principal | None:
            if token:
                user = token_user(s, token)
                if user is None:
                    return None
                return Principal(
                    user.username, user.display_name, user.role, actor_of(user, rid), "token", None
                )
            found = session_user(s, sid)
            if found is None:
                return None
            u, ws = found
            return Principal(u.username, u.display_name, u.role, actor_of(u, rid), "session", ws.csrf_token)

        result = run(get_engine(request), look)
        if result is not None:
            _remember(digest, result)
        if token and result is None:
            request.state.principal = None
            raise NotSignedIn("令牌无效、已撤销或已过期", "the token is unknown, revoked or expired")
    request.state.principal = result
    return result


def signed_in(request: Request) -> Principal:
    p = principal(request)
    if p is None:
        raise NotSignedIn("请先登录", "sign in first")
    return p


def check_csrf(request: Request, p: Principal, given: str | None) -> None:
    """A cookie-authenticated change must carry the session's CSRF token."""
    if p.via != "session" or request.method in SAFE_METHODS:
        return
    if not given or p.csrf_token is None or not hmac.compare_digest(given, p.csrf_token):
        raise Forbidden(
            "缺少或错误的 CSRF 令牌；请刷新页面后重试",
            "missing or wrong CSRF token; reload the page and try again",
        )


def require(permission: str) -> Callable[[Request], Actor]:
    """A dependency: the caller's :class:`Actor` if their role holds ``permission``."""

    def dependency(request: Request) -> Actor:
        p = signed_in(request)
        check_csrf(request, p, request.headers.get(CSRF_HEADER))
        authorize(p.actor, permission)
        return p.actor

    dependency.__name__ = f"require_{permission.replace('.', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]  # read by the role matrix test
    return dependency


def sign_in(request: Request, username: str, password: str, otp: str | None = None) -> tuple[str, str, str]:
    """Check the password (rate limited, every attempt recorded) and open a session:
    ``(session id for the cookie, CSRF token, role)``; raises 401 or 429."""
    engine = get_engine(request)
    client = client_of(request)
    outcome = run(engine, lambda s: attempt_login(s, username, password, client, otp=otp))
    if outcome.error is not None or outcome.user is None:
        raise outcome.error or NotSignedIn("用户名或密码不正确", "wrong user name or password")
    user = outcome.user
    sid, csrf = run(engine, lambda s: start_session(s, user))
    return sid, csrf, user.role


def set_session_cookie(request: Request, response: Response, sid: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def sign_out(request: Request, response: Response) -> None:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        forget(hashlib.sha256(sid.encode()).hexdigest())
    run(get_engine(request), lambda s: end_session(s, sid))
    response.delete_cookie(SESSION_COOKIE, path="/")
