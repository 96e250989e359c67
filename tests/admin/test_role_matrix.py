"""The role × endpoint matrix, generated from the application itself (issues 5 and 8): every API
route and every page, called by every role and by no one, gets the answer its permission in
``yibao.admin.roles`` says — refused (403 naming the permission) when the role lacks it, never
refused for the role when the role holds it, 401 (API) or the sign-in page (pages) for no one.
A route added without a permission, or with one the table does not know, fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from test_api_service import enrolled_member, login_form, make_user, token_for

from yibao.admin.demo import DEMO_REGION, demo_region_text
from yibao.admin.policies import add_region
from yibao.admin.roles import PERMISSIONS, ROLES
from yibao.admin.uow import run
from yibao.api.app import create_app

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/",
    "/calculator",
    "/chooser",
    "/compare",
    "/static/plotly.min.js",
    "/favicon.ico",
    "/login",
    "/logout",
    "/api/v1/regions",
    "/api/v1/regions/{region}",
    "/api/v1/calc/settle",
    "/api/v1/calc/contribution",
    "/api/v1/auth/login",
    "/api/v1/auth/logout",
    "/api/v1/auth/me",
}


def routes(app: FastAPI) -> list[tuple[str, str, str | None, bool]]:
    """(method, path, permission, is a page) of every route the application serves."""
    out = []
    stack: list[Any] = list(app.routes)
    while stack:
        r = stack.pop()
        if hasattr(r, "original_router"):
            stack.extend(r.original_router.routes)
            continue
        if not isinstance(r, APIRoute):
            continue
        perms = {getattr(d.call, "permission", None) for d in r.dependant.dependencies} - {None}
        perm = getattr(r.endpoint, "permission", None) or (perms.pop() if perms else None)
        for m in sorted(r.methods):
            out.append((m, r.path, perm, not r.path.startswith("/api/")))
    return sorted(set(out))


@pytest.fixture()
def world(engine: Any) -> Iterator[dict[str, Any]]:
    run(engine, lambda s: add_region(s, demo_region_text()))
    make_user(engine, "op.bj", "operator", regions=[DEMO_REGION])
    app = create_app(engine)
    client = TestClient(app)
    m = enrolled_member({"client": client, "engine": engine, "op.bj": token_for(engine, "op.bj")})
    accounts = {
        "operator": "op.bj",
        "auditor": "aud.bj",
        "analyst": "ana",
        "employer": "clerk",
        "insured": "zhang",
        "admin": "root",
        "provider": "his",
        "reviewer": "rev.bj",
        "security_admin": "secadm",
        "security_auditor": "secaud",
    }
    make_user(engine, "aud.bj", "auditor", regions=[DEMO_REGION])
    make_user(engine, "ana", "analyst")
    make_user(engine, "clerk", "employer", employer=m["employer_id"])
    make_user(engine, "zhang", "insured", person=m["person"]["id"])
    make_user(engine, "root", "admin")
    make_user(engine, "his", "provider", regions=[DEMO_REGION])
    make_user(engine, "rev.bj", "reviewer", regions=[DEMO_REGION])
    make_user(engine, "secadm", "security_admin")
    make_user(engine, "secaud", "security_auditor")
    yield {"app": app, "engine": engine, "accounts": accounts, "member": m}


def _fill(path: str, m: dict[str, Any]) -> str:
    return re.sub(
        r"\{[^}]+\}",
        lambda g: {
            "{person}": str(m["person"]["id"]),
            "{employer}": str(m["employer_id"]),
            "{person_id}": str(m["person"]["id"]),
            "{username}": "op.bj",
        }.get(g.group(0), "1"),
        path,
    )


def test_every_route_answers_every_role_as_its_permission_says(world: dict[str, Any]) -> None:
    app, engine, m = world["app"], world["engine"], world["member"]
    table = routes(app)
    assert len(table) > 100  # the whole application, not a sample
    unknown = [
        (meth, path, perm) for meth, path, perm, _ in table if perm is not None and perm not in PERMISSIONS
    ]
    assert not unknown, unknown
    unguarded = [
        (meth, path)
        for meth, path, perm, _ in table
        if perm is None and path not in PUBLIC and not path.startswith("/static")
    ]
    assert not unguarded, f"routes without a permission: {unguarded}"
    checked = 0
    for role in ROLES:
        username = world["accounts"][role]
        api = TestClient(app, headers=token_for(engine, username))
        page = TestClient(app)
        signed = page.post("/login", data=login_form(username))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', signed.text)
        assert csrf, f"{role} could not sign in to the pages"
        for meth, path, perm, is_page in table:
            if perm is None:
                continue
            url = _fill(path, m)
            if is_page:
                r = page.request(
                    meth,
                    url,
                    data={"csrf_token": csrf.group(1)} if meth == "POST" else None,
                    follow_redirects=False,
                )
            else:
                r = api.request(meth, url, json={} if meth in ("POST", "PUT", "PATCH") else None)
            denied_for_role = r.status_code == 403 and perm in r.text
            may = role in PERMISSIONS[perm]
            assert r.status_code < 500, (role, meth, path, r.status_code, r.text[:300])
            if may:
                assert not denied_for_role and r.status_code != 401, (role, meth, path, r.text[:300])
            else:
                assert denied_for_role, (role, meth, path, r.status_code, r.text[:300])
            checked += 1
    # and no one, signed in as nobody: the API says 401, the pages send to the sign-in page
    anon = TestClient(app)
    for meth, path, perm, is_page in table:
        if perm is None:
            continue
        r = anon.request(meth, _fill(path, m), follow_redirects=False)
        if is_page:
            assert r.status_code == 303 and "/login" in r.headers["location"], (meth, path, r.status_code)
        else:
            assert r.status_code == 401, (meth, path, r.status_code)
    assert checked == len(ROLES) * len([t for t in table if t[2] is not None])


def test_reading_100_personal_records_writes_100_audit_rows(world: dict[str, Any]) -> None:
    """Issue 8: every read of personal data writes one audit row — 100 reads, exactly 100 rows."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from yibao.db.models.audit import AuditEvent

    engine, m = world["engine"], world["member"]
    c = TestClient(world["app"], headers=token_for(engine, "aud.bj"))
    with Session(engine) as s:
        before = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == "user:aud.bj")
        )
    for i in range(100):
        r = c.get(f"/api/v1/persons/{m['person']['id']}", params={"unmasked": True, "purpose": f"核查 {i}"})
        assert r.status_code == 200
    with Session(engine) as s:
        after = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == "user:aud.bj")
        )
        purposes = set(s.scalars(select(AuditEvent.purpose).where(AuditEvent.actor == "user:aud.bj")))
    assert (after or 0) - (before or 0) == 100 and {f"核查 {i}" for i in range(100)} <= purposes
