"""The administration over HTTP (issue 5) on SQLite and PostgreSQL: accounts and roles, region
scoping on every list and detail endpoint, an insured person's own records only, CSRF, the
sign-in rate limit, idempotency keys — and the same settlement as the service the CLI calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from yibao.admin import claims, totp, users
from yibao.admin.demo import DEMO_REGION, demo_region_text
from yibao.admin.policies import add_region
from yibao.admin.uow import SYSTEM, run
from yibao.api.app import create_app
from yibao.db.models.audit import AuditEvent
from yibao.db.models.auth import ApiToken, UserAccount, WebSession
from yibao.ids.synthetic import synthetic_resident_id

BJ, SH = DEMO_REGION, "310000"  # Demo City: Beijing's rules, its unknown waiting periods filled
PASSWORD = "correct horse battery"
UNIT_BJ = "91110000100000008J"
UNIT_SH = "913100002000000052"
rng = random.Random(7)


def new_id(birth: dt.date = dt.date(1985, 6, 1), sex: str = "male") -> str:
    return synthetic_resident_id(rng, birth, sex)  # type: ignore[arg-type]


#: one-time-code secrets of the admin and auditor accounts the tests make (users.TOTP_ROLES)
SECRETS: dict[str, str] = {}


def make_user(engine: Engine, username: str, role: str, **kw: Any) -> None:
    run(engine, lambda s: users.create_user(s, SYSTEM, username, PASSWORD, role, **kw))
    if role in users.TOTP_ROLES:
        SECRETS[username] = run(engine, lambda s: users.enroll_totp(s, SYSTEM, username))[0]


def login_form(username: str) -> dict[str, str]:
    """What a person types to sign in: name, password and, for admins and auditors, today's code."""
    form = {"username": username, "password": PASSWORD}
    if username in SECRETS:
        form["otp"] = totp.code(SECRETS[username])
    return form


def token_for(engine: Engine, username: str) -> dict[str, str]:
    _, secret = run(engine, lambda s: users.issue_token(s, SYSTEM, username, "test"))
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture()
def world(engine: Engine) -> Iterator[dict[str, Any]]:
    """Two regions' operators, a Beijing auditor (稽核), an analyst, an admin, a Beijing security
    auditor (安全审计员, the audit log's only reader), a Beijing reviewer (复核), tokens for each."""
    run(engine, lambda s: add_region(s, demo_region_text()))
    make_user(engine, "op.bj", "operator", regions=[BJ])
    make_user(engine, "op.sh", "operator", regions=[SH])
    make_user(engine, "audit.bj", "auditor", regions=[BJ])
    make_user(engine, "analyst", "analyst")
    make_user(engine, "root", "admin")
    make_user(engine, "secaud.bj", "security_auditor", regions=[BJ])
    make_user(engine, "rev.bj", "reviewer", regions=[BJ])
    client = TestClient(create_app(engine))
    names = ("op.bj", "op.sh", "audit.bj", "analyst", "root", "secaud.bj", "rev.bj")
    tokens = {u: token_for(engine, u) for u in names}
    yield {"client": client, "engine": engine, **tokens}


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def enrolled_member(w: dict[str, Any], region: str = BJ, unit: str = UNIT_BJ) -> dict[str, Any]:
    """Register a person and a unit, hire, enroll from 2024-01, declare 10,000 yuan, assess
    January and February and pay them — all through the API, as an operator of ``region``."""
    c, h = w["client"], w["op.bj" if region == BJ else "op.sh"]
    idn = new_id()
    p = ok(c.post("/api/v1/persons", json={"id_number": idn, "name": "张三"}, headers=h), 201)
    emp = c.post("/api/v1/employers", json={"uscc": unit, "name": "示范公司", "region": region}, headers=h)
    emp_id = (
        emp.json()["id"]
        if emp.status_code == 201
        else ok(c.get("/api/v1/employers", params={"q": unit}, headers=h))["items"][0]["id"]
    )
    ok(
        c.post(
            "/api/v1/employments",
            json={"person": p["id"], "employer": emp_id, "start_date": "2024-01-01"},
            headers=h,
        ),
        201,
    )
    e = ok(
        c.post(
            "/api/v1/enrollments",
            json={
                "person": p["id"],
                "region": region,
                "category": "in_service",
                "start_month": "2024-01",
                "employer": emp_id,
            },
            headers=h,
        ),
        201,
    )
    for payer_kind, payer in (("employer", emp_id),):
        ok(
            c.post(
                "/api/v1/declarations",
                json={
                    "person": p["id"],
                    "region": region,
                    "payer_kind": payer_kind,
                    "payer": payer,
                    "wage": "10000",
                    "month_from": "2024-01",
                },
                headers=h,
            ),
            201,
        )
    for m in ("2024-01", "2024-02"):
        ok(c.post("/api/v1/assessments", json={"region": region, "month": m, "reopen": True}, headers=h))
    arrears = ok(c.get("/api/v1/arrears", params={"region": region}, headers=h))["items"]
    owed = sum(a["outstanding_fen"] for a in arrears if a["person_id"] == p["id"])
    assert owed > 0
    pay = ok(
        c.post(
            "/api/v1/payments",
            json={
                "region": region,
                "payer_kind": "employer",
                "payer": emp_id,
                "amount": f"{owed / 100:.2f}",
                "received_on": "2024-02-15",
                "reference": f"BANK-{p['id']}",
            },
            headers={**h, "Idempotency-Key": f"pay-{p['id']}"},
        ),
        201,
    )
    assert pay["unallocated_fen"] == 0
    return {"person": p, "employer_id": emp_id, "enrollment": e, "id_number": idn}


def test_an_operator_runs_a_case_and_the_settlement_is_the_services(world: dict[str, Any]) -> None:
    c, h = world["client"], world["op.bj"]
    m = enrolled_member(world)
    pid = m["person"]["id"]
    assert m["person"]["id_number"] != m["id_number"] and "*" in m["person"]["id_number"]  # masked
    body = {
        "person": pid,
        "region": BJ,
        "service_date": "2024-03-15",
        "total": "20000",
        "full_self_pay": "1000",
    }
    dry = ok(c.post("/api/v1/claims", json={**body, "dry_run": True}, headers=h), 201)
    settled = ok(c.post("/api/v1/claims", json=body, headers={**h, "Idempotency-Key": "claim-1"}), 201)
    # the same request again with the same key: the first result, nothing settled twice
    again = ok(c.post("/api/v1/claims", json=body, headers={**h, "Idempotency-Key": "claim-1"}), 201)
    assert again["claim_id"] == settled["claim_id"] and again["replayed"]
    assert dry["setlinfo"] == settled["setlinfo"]
    direct = run(world["engine"], lambda s: claims.get_claim(s, SYSTEM, settled["claim_id"]))
    assert settled["setlinfo"] == direct["setlinfo"] and settled["explanation"] == direct["explanation"]
    # Beijing 2024, level 3, in service: (19000 − 1300) × 85% from the pooled fund
    assert settled["setlinfo"]["hifp_pay"] == "15045.00"
    listed = ok(c.get(f"/api/v1/persons/{pid}/claims", headers=h))["items"]
    assert [x["claim_id"] for x in listed] == [settled["claim_id"]] and "explanation" not in listed[0]
    rev = ok(
        c.post(f"/api/v1/claims/{settled['claim_id']}/reverse", json={"on_date": "2024-03-20"}, headers=h)
    )
    assert rev["status"] == "reversed"
    stmt = ok(c.get(f"/api/v1/persons/{pid}/statement", headers=h))
    assert [x["status"] for x in stmt["months"]] == ["paid", "paid"]


def test_each_role_is_denied_what_it_may_not_do(world: dict[str, Any]) -> None:
    c = world["client"]
    m = enrolled_member(world)
    pid = m["person"]["id"]
    # the analyst sees rules and calculators, never a person
    assert c.get("/api/v1/regions", headers=world["analyst"]).status_code == 200
    for path in (
        f"/api/v1/persons/{pid}",
        "/api/v1/persons?q=张三",
        f"/api/v1/persons/{pid}/statement",
        "/api/v1/arrears?region=990100",
        "/api/v1/audit",
    ):
        assert c.get(path, headers=world["analyst"]).status_code == 403, path
    # the auditor reads but does not change
    assert c.get(f"/api/v1/persons/{pid}", headers=world["audit.bj"]).status_code == 200
    r = c.post(
        "/api/v1/claims",
        json={"person": pid, "region": BJ, "service_date": "2024-03-15", "total": "100"},
        headers=world["audit.bj"],
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "Forbidden"
    # the three officers (三员): the admin manages accounts, handles no case, reads no audit log;
    # the security auditor reads the audit log and no person; no business role reads the log
    assert c.get(f"/api/v1/persons/{pid}", headers=world["root"]).status_code == 403
    assert c.get("/api/v1/audit", headers=world["root"]).status_code == 403
    assert c.get("/api/v1/audit", headers=world["secaud.bj"]).status_code == 200
    assert c.get(f"/api/v1/persons/{pid}", headers=world["secaud.bj"]).status_code == 403
    for business in ("op.bj", "audit.bj", "analyst"):
        assert c.get("/api/v1/audit", headers=world[business]).status_code == 403, business
    # the admin cannot make an officer (the security administrator's task), nor an admin
    for role in ("admin", "security_admin", "security_auditor"):
        r = c.post("/api/v1/users", json={"username": f"x{role}", "password": PASSWORD, "role": role},
                   headers=world["root"])
        assert r.status_code == 403 and "officer.manage" in r.json()["error"]["en"], role
    # an operator creates no account
    r = c.post(
        "/api/v1/users",
        json={"username": "x1", "password": PASSWORD, "role": "admin"},
        headers=world["op.bj"],
    )
    assert r.status_code == 403
    # nobody signed in: 401, and a bad token is not anonymous
    assert c.get(f"/api/v1/persons/{pid}").status_code == 401
    assert c.get("/api/v1/regions", headers={"Authorization": "Bearer yb_nope"}).status_code == 200  # public
    assert c.get(f"/api/v1/persons/{pid}", headers={"Authorization": "Bearer yb_nope"}).status_code == 401


def test_region_scoping_holds_on_every_list_and_detail(world: dict[str, Any]) -> None:
    c, sh = world["client"], world["op.sh"]
    m = enrolled_member(world)
    pid = m["person"]["id"]
    claim = ok(
        c.post(
            "/api/v1/claims",
            json={"person": pid, "region": BJ, "service_date": "2024-03-15", "total": "5000"},
            headers=world["op.bj"],
        ),
        201,
    )
    denied = [
        f"/api/v1/persons/{pid}",
        f"/api/v1/persons/{m['id_number']}",
        f"/api/v1/persons/{pid}/enrollments",
        f"/api/v1/persons/{pid}/statement",
        f"/api/v1/persons/{pid}/claims",
        f"/api/v1/persons/{pid}/backpay?region=990100&as_of=2024-06-01",
        f"/api/v1/persons/{pid}/retirement-check?region=990100&on_date=2024-06-01",
        f"/api/v1/claims/{claim['claim_id']}",
        f"/api/v1/employers/{m['employer_id']}",
        f"/api/v1/employers/{m['employer_id']}/employees",
        "/api/v1/arrears?region=990100",
        f"/api/v1/audit?subject_type=person&subject_id={pid}",
    ]
    for path in denied:
        assert c.get(path, headers=sh).status_code == 403, path
    assert c.get(path, headers=world["secaud.bj"]).status_code == 200  # Beijing's security auditor may
    # lists leave the other region's rows out
    assert ok(c.get("/api/v1/persons", params={"q": "张三"}, headers=sh))["items"] == []
    assert ok(c.get("/api/v1/employers", headers=sh))["items"] == []
    assert ok(c.get("/api/v1/persons", params={"q": "张三"}, headers=world["op.bj"]))["items"]
    # and no write crosses: settling, paying, enrolling for Beijing as a Shanghai operator
    writes = [
        ("/api/v1/claims", {"person": pid, "region": BJ, "service_date": "2024-03-15", "total": "100"}),
        (
            "/api/v1/payments",
            {
                "region": BJ,
                "payer_kind": "employer",
                "payer": m["employer_id"],
                "amount": "1",
                "received_on": "2024-03-01",
                "reference": "X",
            },
        ),
        (f"/api/v1/claims/{claim['claim_id']}/reverse", {}),
        ("/api/v1/transfers", {"person": pid, "from_region": BJ, "end_month": "2024-02"}),
    ]
    for path, body in writes:
        r = c.post(path, json=body, headers=sh)
        assert r.status_code == 403, (path, r.text)


def test_an_insured_person_sees_only_their_own_records(world: dict[str, Any]) -> None:
    c, engine = world["client"], world["engine"]
    mine, other = enrolled_member(world), enrolled_member(world)
    claim = ok(
        c.post(
            "/api/v1/claims",
            json={
                "person": mine["person"]["id"],
                "region": BJ,
                "service_date": "2024-03-15",
                "total": "5000",
            },
            headers=world["op.bj"],
        ),
        201,
    )
    theirs = ok(
        c.post(
            "/api/v1/claims",
            json={
                "person": other["person"]["id"],
                "region": BJ,
                "service_date": "2024-03-15",
                "total": "5000",
            },
            headers=world["op.bj"],
        ),
        201,
    )
    make_user(engine, "zhangsan", "insured", person=mine["person"]["id"])
    h = token_for(engine, "zhangsan")
    me = ok(c.get("/api/v1/me", headers=h))
    assert me["id_number"] == mine["id_number"] and me["name"] == "张三"  # their own, unmasked
    assert [e["region"] for e in ok(c.get("/api/v1/me/enrollments", headers=h))] == [BJ]
    assert len(ok(c.get("/api/v1/me/statement", headers=h))["months"]) == 2
    assert [x["claim_id"] for x in ok(c.get("/api/v1/me/claims", headers=h))["items"]] == [claim["claim_id"]]
    assert ok(c.get(f"/api/v1/me/claims/{claim['claim_id']}", headers=h))["explanation"]["settlement"]["zh"]
    assert c.get(f"/api/v1/me/claims/{theirs['claim_id']}", headers=h).status_code == 403
    for path in (
        f"/api/v1/persons/{other['person']['id']}",
        f"/api/v1/claims/{theirs['claim_id']}",
        f"/api/v1/persons/{mine['person']['id']}/statement",
    ):
        assert c.get(path, headers=h).status_code == 403, path


def test_browser_sessions_need_the_csrf_token_for_changes(world: dict[str, Any]) -> None:
    c = TestClient(create_app(world["engine"]))
    r = c.post("/api/v1/auth/login", json={"username": "op.bj", "password": PASSWORD})
    session = ok(r)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert ok(c.get("/api/v1/auth/me"))["regions"] == [BJ]
    body = {"id_number": new_id(), "name": "李四"}
    r = c.post("/api/v1/persons", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["en"]
    assert c.post("/api/v1/persons", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    ok(c.post("/api/v1/persons", json=body, headers={"X-CSRF-Token": session["csrf_token"]}), 201)
    assert c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": session["csrf_token"]}).status_code == 204
    assert c.get("/api/v1/auth/me").status_code == 401


def test_sign_in_is_rate_limited_and_passwords_never_stored_or_logged(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    c, engine = world["client"], world["engine"]
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-password-123"
    for _ in range(users.MAX_FAILURES_PER_USER):
        r = c.post("/api/v1/auth/login", json={"username": "op.sh", "password": wrong})
        assert r.status_code == 401 and r.json()["error"]["zh"] == "用户名或密码不正确"
    r = c.post("/api/v1/auth/login", json={"username": "op.sh", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right one, for now
    # an unknown user name answers exactly as a wrong password does
    assert c.post("/api/v1/auth/login", json={"username": "nobody", "password": wrong}).json()["error"][
        "en"
    ] == ("wrong user name or password")
    with Session(engine) as s:
        hashes = list(s.scalars(select(UserAccount.password_hash)))
        assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
        assert all(len(t) == 64 for t in s.scalars(select(ApiToken.token_hash)))
        assert all(len(t) == 64 for t in s.scalars(select(WebSession.id_hash)))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert wrong not in logged and PASSWORD not in logged


def test_id_numbers_never_appear_unmasked_in_logs(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    m = enrolled_member(world)
    c, h = world["client"], world["op.bj"]
    idn = m["id_number"]
    ok(c.get(f"/api/v1/persons/{idn}", headers=h))
    ok(c.get("/api/v1/persons", params={"q": idn}, headers=h))
    c.get(f"/api/v1/persons/{idn}", headers=world["op.sh"])  # refused: logged as a warning
    c.post("/api/v1/persons", json={"id_number": idn, "name": "重复"}, headers=h)  # already registered
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("yibao", "uvicorn")))
    assert "/api/v1/persons" in logged  # the access log did record those requests
    assert idn not in logged and idn[:14] not in logged


def test_unmasked_reads_need_a_purpose_and_are_audited(world: dict[str, Any]) -> None:
    c, h, engine = world["client"], world["audit.bj"], world["engine"]
    m = enrolled_member(world)
    pid = m["person"]["id"]
    r = c.get(f"/api/v1/persons/{pid}", params={"unmasked": True}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "purpose"
    full = ok(
        c.get(f"/api/v1/persons/{pid}", params={"unmasked": True, "purpose": "稽核核查 2024-17"}, headers=h)
    )
    assert full["id_number"] == m["id_number"]
    with Session(engine) as s:
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_id == str(pid),
                AuditEvent.action == "person.read",
                AuditEvent.actor == "user:audit.bj",
            )
        ).all()
    assert any(e.purpose == "稽核核查 2024-17" and "id_number" in (e.fields or "") for e in ev)
    trail = ok(c.get("/api/v1/audit", params={"subject_type": "person", "subject_id": pid},
                     headers=world["secaud.bj"]))["items"]
    assert {"person.read", "person.create"} <= {e["action"] for e in trail}


def test_bad_requests_name_the_field_in_both_languages(world: dict[str, Any]) -> None:
    c, h = world["client"], world["op.bj"]
    r = c.post("/api/v1/persons", json={"id_number": "110101199001011234", "name": "王五"}, headers=h)
    err = r.json()["error"]
    assert r.status_code == 422 and err["field"] == "id_number" and err["zh"] and err["en"]
    r = c.post(
        "/api/v1/enrollments",
        json={"person": 1, "region": "火星", "category": "in_service", "start_month": "2024-01"},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] in ("person", "region")
    r = c.post(
        "/api/v1/claims",
        json={"person": 1, "region": BJ, "service_date": "2024-03-15", "total": True},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "total"
    r = c.get("/api/v1/persons", params={"q": "张", "limit": 0}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "limit"


def test_a_revoked_token_is_refused_at_once(world: dict[str, Any]) -> None:
    """Tokens are cached for speed (api.security.CACHE_SECONDS); revoking one through the service
    drops it from the cache, so the next request is refused."""
    c, root = world["client"], world["root"]
    issued = ok(c.post("/api/v1/auth/tokens", json={"username": "op.bj", "name": "HIS"}, headers=root), 201)
    h = {"Authorization": f"Bearer {issued['token']}"}
    assert ok(c.get("/api/v1/auth/me", headers=h))["username"] == "op.bj"
    assert c.delete(f"/api/v1/auth/tokens/{issued['id']}", headers=root).status_code == 204
    assert c.get("/api/v1/auth/me", headers=h).status_code == 401


def test_an_employer_clerk_sees_and_declares_for_their_own_unit_only(world: dict[str, Any]) -> None:
    c, engine = world["client"], world["engine"]
    mine = enrolled_member(world)
    make_user(engine, "clerk.a", "employer", employer=mine["employer_id"])
    make_user(engine, "his.a", "provider", regions=[BJ])
    h, his = token_for(engine, "clerk.a"), token_for(engine, "his.a")
    assert [e["id"] for e in ok(c.get("/api/v1/employers", headers=h))["items"]] == [mine["employer_id"]]
    staff = ok(c.get(f"/api/v1/employers/{mine['employer_id']}/employees", headers=h))
    assert [p["id"] for p in staff] == [mine["person"]["id"]] and "*" in staff[0]["id_number"]
    owed = ok(c.get("/api/v1/arrears", params={"region": BJ}, headers=h))["items"]
    assert all(r["payer_kind"] == "employer" and r["payer_id"] == mine["employer_id"] for r in owed)
    ok(
        c.post(
            "/api/v1/declarations",
            json={
                "person": mine["person"]["id"],
                "region": BJ,
                "payer_kind": "employer",
                "payer": mine["employer_id"],
                "wage": "12000",
                "month_from": "2024-03",
            },
            headers=h,
        ),
        201,
    )
    for path in (
        f"/api/v1/persons/{mine['person']['id']}",
        f"/api/v1/persons/{mine['person']['id']}/statement",
        "/api/v1/audit",
        "/api/v1/persons?q=张",
    ):
        assert c.get(path, headers=h).status_code == 403, path
    other = ok(
        c.post(
            "/api/v1/employers",
            json={"uscc": UNIT_SH, "name": "别家公司", "region": BJ},
            headers=world["op.bj"],
        ),
        201,
    )
    r = c.post(
        "/api/v1/declarations",
        json={
            "person": mine["person"]["id"],
            "region": BJ,
            "payer_kind": "employer",
            "payer": other["id"],
            "wage": "9000",
            "month_from": "2024-04",
        },
        headers=h,
    )
    assert r.status_code == 403 and c.get(f"/api/v1/employers/{other['id']}", headers=h).status_code == 403
    r = c.post(
        "/api/v1/claims",
        json={"person": mine["person"]["id"], "region": BJ, "service_date": "2024-03-15", "total": "100"},
        headers=h,
    )
    assert r.status_code == 403
    # a hospital system's token sends the platform's messages and nothing else
    for path in (
        f"/api/v1/persons/{mine['person']['id']}",
        "/api/v1/arrears?region=990100",
        f"/api/v1/employers/{mine['employer_id']}",
    ):
        assert c.get(path, headers=his).status_code == 403, path


def test_a_browser_session_ends_after_idle_time_and_at_its_end(engine: Engine) -> None:
    """Sessions: 30 minutes idle or 8 hours after sign-in, whichever comes first (users.IDLE_MINUTES,
    users.SESSION_HOURS); activity keeps a session alive."""
    import datetime as dt

    make_user(engine, "clerk.idle", "operator", regions=["310000"])
    t0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    user = run(engine, lambda s: s.scalar(select(UserAccount).where(UserAccount.username == "clerk.idle")))
    sid, _ = run(engine, lambda s: users.start_session(s, user, now=t0))

    def seen(minutes: int) -> bool:
        at = t0 + dt.timedelta(minutes=minutes)
        return run(engine, lambda s: users.session_user(s, sid, now=at)) is not None

    assert seen(25) and seen(50) and seen(75)  # each visit within 30 minutes of the last
    assert not seen(106)  # 31 minutes idle: ended
    assert not seen(110)  # and stays ended
    sid2, _ = run(engine, lambda s: users.start_session(s, user, now=t0))
    assert all(seen_at(engine, sid2, t0, m) for m in range(20, 480, 20))
    assert not seen_at(engine, sid2, t0, 481)  # 8 hours after sign-in, however active


def seen_at(engine: Engine, sid: str, t0: Any, minutes: int) -> bool:
    import datetime as dt

    return (
        run(engine, lambda s: users.session_user(s, sid, now=t0 + dt.timedelta(minutes=minutes))) is not None
    )


def test_claims_for_the_deceased_the_suspended_and_the_unenrolled_are_refused_with_a_code(
    world: dict[str, Any],
) -> None:
    """Issue 8: a claim on a date without cover is refused with a coded reason; nothing is paid."""
    from sqlalchemy import func, text

    from yibao.db.models.claims import Claim
    from yibao.db.models.ledger import LedgerTransfer

    c, h, engine = world["client"], world["op.bj"], world["engine"]
    a, b, d = enrolled_member(world), enrolled_member(world), enrolled_member(world)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE person SET death_date = '2024-03-01' WHERE id = :p"), {"p": a["person"]["id"]}
        )
        conn.execute(
            text("UPDATE enrollment SET status = 'suspended' WHERE person_id = :p"), {"p": b["person"]["id"]}
        )

    def count() -> tuple[int, int]:
        with Session(engine) as s:
            return (
                s.scalar(select(func.count()).select_from(Claim)) or 0,
                s.scalar(select(func.count()).select_from(LedgerTransfer)) or 0,
            )

    before = count()
    for m, day, reason in (
        (a, "2024-03-15", "deceased"),
        (b, "2024-03-15", "suspended"),
        (d, "2023-06-01", "not_enrolled"),
    ):
        r = c.post(
            "/api/v1/claims",
            json={"person": m["person"]["id"], "region": BJ, "service_date": day, "total": "5000"},
            headers=h,
        )
        assert r.status_code == 422 and r.json()["error"]["reason"] == reason, r.text
        assert r.json()["error"]["zh"] and r.json()["error"]["en"]
    assert count() == before


def test_admins_and_auditors_sign_in_with_a_one_time_code(world: dict[str, Any]) -> None:
    c = TestClient(create_app(world["engine"]))
    r = c.post("/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
    assert r.status_code == 401 and "one-time code" in r.json()["error"]["en"]
    form = login_form("root")
    assert c.post("/api/v1/auth/login", json=form).status_code == 200
    again = TestClient(create_app(world["engine"])).post("/api/v1/auth/login", json=form)
    assert again.status_code == 401  # the same code twice: refused
    make_user(world["engine"], "aud.new", "auditor", regions=[BJ])
    SECRETS.pop("aud.new")
    run(
        world["engine"],
        lambda s: s.execute(text("UPDATE user_account SET totp_secret = NULL WHERE username = 'aud.new'")),
    )
    r = c.post("/api/v1/auth/login", json={"username": "aud.new", "password": PASSWORD})
    assert r.status_code == 401 and "yibao user totp aud.new" in r.json()["error"]["en"]
    # operators sign in with a password only
    assert c.post("/api/v1/auth/login", json={"username": "op.bj", "password": PASSWORD}).status_code == 200
