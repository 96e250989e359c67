"""What the signed-in pages share: sign-in and out, the guard every page passes, rendering.

:func:`view` wraps a page: no session → the sign-in page (then back); a role without the
permission → 403 with the reason in both languages; a POST without the session's CSRF token → 403;
bad input → the page's error in both languages with the field named (422), nothing changed.
Pages call the administration services with the signed-in user's actor, as the API does, so the
same region scoping, masking and audit apply.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.admin import approvals
from yibao.admin.approvals import ApprovalRequired
from yibao.admin.roles import ROLE_NAMES, authorize
from yibao.admin.uow import run
from yibao.api.security import (
    Principal,
    check_csrf,
    get_engine,
    principal,
    set_session_cookie,
    sign_in,
    sign_out,
)
from yibao.errors import Forbidden, NotSignedIn, TooManyAttempts, YibaoError
from yibao.web.i18n import lang_of
from yibao.web.pages import render

__all__ = ["home_for", "router", "view"]

router = APIRouter(include_in_schema=False)


def home_for(role: str) -> str:
    return {
        "insured": "/me",
        "employer": "/staff/employer",
        "admin": "/staff/users",
        "security_admin": "/staff/users",
        "security_auditor": "/staff/audit",
        "reviewer": "/staff/approvals",
        "analyst": "/compare",
    }.get(role, "/staff")


def _lang(request: Request) -> str:
    return lang_of(request.query_params.get("lang"))


def view(permission: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Guard a page handler ``fn(request, p, **params)`` (module docstring)."""

    def wrap(fn: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def inner(request: Request, **kwargs: Any) -> Response:
            lang = _lang(request)
            try:
                p = principal(request)
            except NotSignedIn:
                p = None
            if p is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?lang={lang}&next={quote(target)}", status_code=303)
            try:
                if request.method == "POST":
                    check_csrf(request, p, kwargs.get("csrf_token"))
                authorize(p.actor, permission)
                return fn(request, p, **kwargs)
            except ApprovalRequired as e:  # four-eyes: file it and show it waiting (yibao.web.approvals)
                err = e
                filed = run(get_engine(request), lambda s: approvals.submit(s, err))
                return RedirectResponse(f"/staff/approvals/{filed.id}?lang={lang}&filed=1", status_code=303)
            except Forbidden as e:
                return render(request, "problem.html", lang, status=403, error={"zh": e.zh, "en": e.en})
            except YibaoError as e:
                return render(request, "problem.html", lang, status=422, error={"zh": e.zh, "en": e.en})

        inner.permission = permission  # type: ignore[attr-defined]  # read by the role matrix test
        # FastAPI reads the parameters from the signature: the handler's, without ``p``
        sig = inspect.signature(fn)
        inner.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[v for k, v in sig.parameters.items() if k != "p"]
        )
        return inner

    return wrap


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, lang: str | None = None, next: str = "") -> HTMLResponse:
    return render(request, "login.html", lang_of(lang), next=next)


def _safe_next(target: str) -> str | None:
    # only a path of this site: never an open redirect to another origin
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    otp: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=512)] = "",
    lang: Annotated[str, Form(max_length=2)] = "zh",
) -> Response:
    lg = lang_of(lang)
    try:
        sid, _, role = sign_in(request, username, password, otp or None)
    except (NotSignedIn, TooManyAttempts) as e:
        status = 429 if isinstance(e, TooManyAttempts) else 401
        return render(
            request,
            "login.html",
            lg,
            status=status,
            error={"zh": e.zh, "en": e.en},
            next=next,
            username=username,
        )
    target = _safe_next(next) or home_for(role)
    sep = "&" if "?" in target else "?"
    response = RedirectResponse(
        f"{target}{sep}lang={lg}" if "lang=" not in target else target, status_code=303
    )
    set_session_cookie(request, response, sid)
    return response


@router.post("/logout")
def logout_submit(request: Request, csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    p = principal(request)
    response = RedirectResponse(f"/login?lang={_lang(request)}", status_code=303)
    if p is not None:
        check_csrf(request, p, csrf_token)
        sign_out(request, response)
    return response


def who_line(p: Principal, lang: str) -> str:
    zh, en = ROLE_NAMES.get(p.role, (p.role, p.role))
    return f"{p.display_name or p.username} · {en if lang == 'en' else zh}"
