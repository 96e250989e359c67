"""The reviewers' page (双人复核, :mod:`yibao.admin.approvals`): requests waiting for a second
person, each approved (and so done) or rejected with a reason; an operator sees their own requests.
A page whose operation needs a reviewer lands here with the request it filed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yibao.admin import approvals
from yibao.api.deps import PathId, call
from yibao.api.security import Principal
from yibao.errors import InputError
from yibao.web.i18n import lang_of
from yibao.web.pages import render
from yibao.web.session_pages import view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _page(request: Request, p: Principal, status: str, one: dict[str, Any] | None = None) -> Response:
    lang = lang_of(request.query_params.get("lang"))
    rows = call(request, lambda s: approvals.listing(s, p.actor, status or None, 100, 0))
    filed = request.query_params.get("filed") == "1"
    return render(request, "staff_approvals.html", lang, rows=rows, shown=status, one=one, filed=filed)


@router.get("/staff/approvals", response_class=HTMLResponse)
@view("approval.read")
def approvals_page(request: Request, p: Principal, status: str = "pending") -> Response:
    return _page(request, p, status)


@router.get("/staff/approvals/{approval_id}", response_class=HTMLResponse)
@view("approval.read")
def approval_page(request: Request, p: Principal, approval_id: PathId) -> Response:
    one = call(request, lambda s: approvals.get(s, p.actor, approval_id))
    return _page(request, p, "", one)


@router.post("/staff/approvals/{approval_id}/decide", response_class=HTMLResponse)
@view("approval.decide")
def decide_page(
    request: Request,
    p: Principal,
    approval_id: PathId,
    decision: Annotated[str, Form(max_length=8)] = "",
    note: Annotated[str, Form(max_length=256)] = "",
    lang: Annotated[str, Form(max_length=2)] = "zh",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if decision not in ("approve", "reject"):
        raise InputError("decision", decision, "应为 approve 或 reject", "expected approve or reject")
    call(request, lambda s: approvals.decide(s, p.actor, approval_id, decision == "approve", note))
    return RedirectResponse(f"/staff/approvals/{approval_id}?lang={lang_of(lang)}", status_code=303)
