"""Retention and purpose (issue 8, PIPL Art. 19 and 47): every kind of personal record names its
purpose, legal basis, period and source; the purge deletes only what has outlived a period set to
``delete``, audits the counts, and changes nothing in a dry run; the register, the ledger and the
audit log are kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_api_service import make_user

from yibao.admin import users
from yibao.admin.retention import purge, table
from yibao.admin.uow import SYSTEM, run
from yibao.db.models.audit import AuditEvent
from yibao.db.models.auth import LoginAttempt

NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


def test_every_record_kind_has_purpose_basis_period_and_source() -> None:
    doc = table()
    assert {"person", "ledger", "audit_event", "login_attempt"} <= set(doc["records"])
    for rec in doc["records"].values():
        assert rec["purpose"] and rec["legal_basis"] and rec["source"] in doc["sources"]
    assert (
        doc["records"]["ledger"]["keep_years"] == 30 and doc["records"]["login_attempt"]["keep_days"] >= 183
    )


def test_the_purge_deletes_only_what_outlived_its_period(engine: Engine) -> None:
    make_user(engine, "p.user", "operator", regions=["110000"])
    for days in (400, 200, 10):  # sign-ins 400, 200 and 10 days ago; only the first is past a year
        run(
            engine,
            lambda s, d=days: users.attempt_login(
                s, "p.user", "wrong-password-x", "10.0.0.1", now=NOW - dt.timedelta(days=d)
            ),
        )
    dry = run(engine, lambda s: purge(s, SYSTEM, now=NOW, dry_run=True))
    assert dry.deleted["login_attempt"] == 1
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 3
    done = run(engine, lambda s: purge(s, SYSTEM, now=NOW))
    assert done.deleted["login_attempt"] == 1
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 2
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")).one()
        assert "login_attempt=1" in (ev.fields or "")
