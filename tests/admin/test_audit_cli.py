"""`yibao audit events`: the audit log as staff read it (who, when, what, why), newest first."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from yibao.admin.audit import record
from yibao.admin.uow import Actor
from yibao.cli import _register, app
from yibao.db.engine import make_engine
from yibao.db.migrate import upgrade


def test_events_filter_and_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        clerk = Actor("alice", "operator", purpose="柜台查询 / counter enquiry")
        record(s, clerk, "person.read", "person", 7, ["id_number", "name"], "110000")
        record(s, Actor("bob", "auditor"), "claim.settle", "claim", 3, ["hifp_pay"], "110000")
    _register()
    res = CliRunner().invoke(app, ["audit", "events", "--db", url, "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["action"] for r in rows] == ["claim.settle", "person.read"]
    res = CliRunner().invoke(app, ["audit", "events", "--db", url, "--subject-type", "person", "--json"])
    only = json.loads(res.output)
    assert len(only) == 1 and only[0]["actor"] == "alice" and only[0]["purpose"].startswith("柜台查询")
    assert only[0]["fields"] == "id_number,name"
