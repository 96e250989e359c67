"""Bulk-read watch (issue 8): one account reading more people in an hour than the limit raises one
alert for that hour, seen by the auditor through the API; another auditor acknowledges it, the
account it is about cannot."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_api_service import make_user, token_for

from yibao.admin import audit
from yibao.admin.uow import Actor, run
from yibao.admin.watch import watch
from yibao.api.app import create_app
from yibao.db.models.audit import SecurityAlert

HOUR = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _reads(engine: Engine, who: str, persons: int, at: dt.datetime) -> None:
    actor = Actor(who, "auditor", ("110000",), purpose="核查")

    def step(s: Session) -> None:
        for i in range(persons):
            ev = audit.record(s, actor, "person.read", "person", i, ("name",), "110000")
            ev.at = at + dt.timedelta(seconds=i)

    run(engine, step)


def test_one_alert_per_account_and_hour_over_the_limit(engine: Engine) -> None:
    _reads(engine, "user:curious", 150, HOUR)
    _reads(engine, "user:normal", 80, HOUR)
    report = run(engine, lambda s: watch(s, now=HOUR + dt.timedelta(minutes=59), limit=100))
    assert report.alerts == 1
    assert run(engine, lambda s: watch(s, now=HOUR + dt.timedelta(minutes=59), limit=100)).alerts == 0  # once
    with Session(engine) as s:
        a = s.scalars(select(SecurityAlert)).one()
        assert (a.actor, a.count, a.limit_per_hour) == ("user:curious", 150, 100)
    make_user(engine, "secaud", "security_auditor")
    make_user(engine, "secadm", "security_admin")
    c = TestClient(create_app(engine))
    listed = c.get("/api/v1/security/alerts", headers=token_for(engine, "secaud")).json()["items"]
    assert [x["actor"] for x in listed] == ["user:curious"]
    # the security auditor reads; handling the alert is the security administrator's (三员)
    refused = c.post(f"/api/v1/security/alerts/{listed[0]['id']}/ack", headers=token_for(engine, "secaud"))
    assert refused.status_code == 403
    done = c.post(f"/api/v1/security/alerts/{listed[0]['id']}/ack", headers=token_for(engine, "secadm"))
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "user:secadm"
    assert c.get("/api/v1/security/alerts", headers=token_for(engine, "secaud")).json()["items"] == []
    make_user(engine, "op.x", "operator", regions=["110000"])
    assert c.get("/api/v1/security/alerts", headers=token_for(engine, "op.x")).status_code == 403


def test_reads_spread_over_hours_do_not_alert(engine: Engine) -> None:
    _reads(engine, "user:steady", 90, HOUR)
    _reads(engine, "user:steady", 90, HOUR + dt.timedelta(hours=1))
    assert (
        run(engine, lambda s: watch(s, now=HOUR + dt.timedelta(hours=1, minutes=59), limit=100)).alerts == 0
    )
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(SecurityAlert)) == 0
