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


def test_register_entries_past_their_period_are_pseudonymised_not_deleted(engine: Engine) -> None:
    """100 years after death or the last enrollment's end (retention.yaml, person), the entry keeps
    its number (the ledger names it) but loses its identity: the ID number becomes a keyed
    pseudonym, the name and phone go, the birth date keeps its year; open enrollments keep it."""
    from test_claims_support import enroll, person

    from yibao.admin.register import lookup_person
    from yibao.db.models.register import Person
    from yibao.errors import InputError

    def people(s: Session) -> dict[str, int]:
        gone, recent, active = person(s, dt.date(1931, 5, 17)), person(s, dt.date(1950, 3, 2)), person(s)
        enroll(s, gone, start=197001, end=199012, status="ended")
        enroll(s, recent, start=197001, end=200006, status="ended")
        enroll(s, active, start=197001)
        for p in (gone, recent, active):
            p.created_at, p.phone = dt.datetime(1980, 1, 1, tzinfo=dt.UTC), "13800138000"
        return {"gone": gone.id, "recent": recent.id, "active": active.id, "number": gone.id_number}

    who = run(engine, people)
    later = dt.datetime(2091, 6, 1, tzinfo=dt.UTC)  # 100 years after 1990-12, not after 2000-06
    dry = run(engine, lambda s: purge(s, SYSTEM, now=later, dry_run=True))
    assert dry.deleted["person.pseudonymised"] == 1
    with Session(engine) as s:
        assert s.get_one(Person, who["gone"]).id_number == who["number"]  # a dry run changes nothing
    done = run(engine, lambda s: purge(s, SYSTEM, now=later))
    assert done.deleted["person.pseudonymised"] == 1
    with Session(engine) as s:
        p = s.get_one(Person, who["gone"])
        assert (
            p.id_kind == "pseudonymised" and p.id_number.startswith("P") and who["number"] not in p.id_number
        )
        assert (p.name, p.phone, p.birth_date) == ("（已假名化）", None, dt.date(1931, 1, 1))
        assert s.get_one(Person, who["recent"]).phone == "13800138000"
        assert s.get_one(Person, who["active"]).phone == "13800138000"
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")).one()
        assert "person.pseudonymised=1" in (ev.fields or "")
    try:
        run(engine, lambda s: lookup_person(s, who["number"]))
        raise AssertionError("the old ID number still finds the entry")
    except InputError as e:
        assert e.field == "person"
    assert run(engine, lambda s: purge(s, SYSTEM, now=later)).deleted["person.pseudonymised"] == 0  # once
