"""The audit log's SM3 hash chain (issue 8: "editing or deleting one audit row is detected by
yibao audit verify"), on SQLite and PostgreSQL; and the append-only triggers of migration 0003."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yibao.admin import audit
from yibao.admin.audit_chain import GENESIS, chain_hash, seal, verify
from yibao.admin.uow import Actor, run
from yibao.db.engine import make_engine
from yibao.db.migrate import upgrade
from yibao.db.models.audit import AuditEvent

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)  # past the sealing horizon of every row


def test_sm3_is_the_standard_one() -> None:
    # GB/T 32905-2016 (SM3) appendix A.1: SM3("abc")
    assert hashlib.new("sm3", b"abc").hexdigest() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def _events(engine: Engine, n: int) -> None:
    clerk = Actor("user:clerk", "operator", ("110000",), purpose="核查")
    run(
        engine,
        lambda s: [audit.record(s, clerk, "person.read", "person", i, ("name",), "110000") for i in range(n)],
    )


def test_sealed_rows_verify_and_a_change_or_deletion_is_named(engine: Engine) -> None:
    _events(engine, 100)
    first = run(engine, lambda s: seal(s, now=LATER))
    assert first.sealed == 100 and first.head_seq == 100
    assert run(engine, lambda s: seal(s, now=LATER)).sealed == 0  # sealing again adds nothing
    with Session(engine) as s:
        report = verify(s, now=LATER)
        assert report.ok and report.checked == 100 and report.head_hash == first.head_hash
        ev = s.get(AuditEvent, 1)
        assert ev is not None
        assert chain_hash(GENESIS, ev) != chain_hash(GENESIS[:-1] + "1", ev)
    # a privileged hand edits row 37 (the tests' schema has no triggers; a bureau's has)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_event SET purpose = 'nothing to see' WHERE id = 37"))
    with Session(engine) as s:
        broken = verify(s, now=LATER).broken
    assert broken is not None and broken["event_id"] == 37 and "changed" in broken["reason"]


def test_a_deleted_row_and_a_late_row(engine: Engine) -> None:
    _events(engine, 10)
    run(engine, lambda s: seal(s, now=LATER))
    _events(engine, 3)  # rows written after the last seal are sealed by the next run, in order
    assert run(engine, lambda s: seal(s, now=LATER)).sealed == 3
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_seal WHERE event_id = 12"))
        c.execute(text("DELETE FROM audit_event WHERE id = 12"))
    with Session(engine) as s:
        broken = verify(s, now=LATER).broken
    assert broken is not None and "missing" in broken["reason"]


def test_young_rows_wait_for_the_horizon(engine: Engine) -> None:
    _events(engine, 5)
    assert run(engine, seal).sealed == 0  # written this second: their neighbours may still commit
    with Session(engine) as s:
        assert verify(s).unsealed_old == []
        assert verify(s, now=LATER).unsealed_old == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migrated_schema_refuses_to_change_or_delete_audit_rows(
    backend: str, tmp_path: object, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/audit.db")
    else:
        pg = request.getfixturevalue("pg_engine")
        from yibao.bench.pg import bench_urls, recreate

        admin_url, url = bench_urls(str(pg.url.render_as_string(hide_password=False)), "yibao_audit_triggers")
        recreate(admin_url, "yibao_audit_triggers")
        engine = make_engine(url)
    try:
        upgrade(engine)
        _events(engine, 2)
        run(engine, lambda s: seal(s, now=LATER))
        for sql in (
            "UPDATE audit_event SET purpose = 'x' WHERE id = 1",
            "DELETE FROM audit_event WHERE id = 2",
            "DELETE FROM audit_seal WHERE seq = 1",
            "UPDATE audit_seal SET row_hash = 'x'",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
                c.execute(text(sql))
        with Session(engine) as s:
            assert verify(s, now=LATER).ok
    finally:
        engine.dispose()
        if backend == "postgresql":
            recreate(admin_url, "yibao_audit_triggers", drop_only=True)


def test_yibao_audit_verify_names_the_broken_row(tmp_path: object) -> None:
    import typer
    from typer.testing import CliRunner

    from yibao.cli import audit as audit_cli

    engine = make_engine(f"sqlite:///{tmp_path}/cli.db")
    from yibao.db.base import Base

    Base.metadata.create_all(engine)
    _events(engine, 4)
    run(engine, lambda s: seal(s, now=LATER))
    app = typer.Typer()
    app.add_typer(audit_cli.app, name="audit")
    url = str(engine.url)
    good = CliRunner().invoke(app, ["audit", "verify", "--db", url])
    assert good.exit_code == 0 and "4 rows" in good.output
    with engine.begin() as c:
        c.execute(text("UPDATE audit_event SET actor = 'user:someone-else' WHERE id = 3"))
    bad = CliRunner().invoke(app, ["audit", "verify", "--db", url])
    assert bad.exit_code == 1 and "audit row 3" in bad.output and "changed" in bad.output
