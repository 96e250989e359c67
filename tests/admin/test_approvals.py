"""Four-eyes approval (issue 8): identity edits, manual account adjustments, write-offs and claims
above the region's threshold wait for a second, different person; self-approval is refused; until
a reviewer approves nothing changes; approving does the operation once, as the requester under the
approval, and the audit trail names both. On SQLite and PostgreSQL, over the API.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_api_service import BJ, enrolled_member, make_user, new_id, ok, token_for, world  # noqa: F401

from yibao.admin import approvals
from yibao.admin.uow import Actor, run
from yibao.db.models.approvals import ApprovalRequest
from yibao.db.models.audit import AuditEvent
from yibao.db.models.claims import Claim
from yibao.db.models.ledger import LedgerTransfer
from yibao.db.models.register import Person
from yibao.errors import Forbidden, InputError


def _count(engine: Any, model: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _claim(c: Any, h: dict[str, str], pid: int, total: str, key: str) -> Any:
    return c.post(
        "/api/v1/claims",
        json={
            "person": pid,
            "region": BJ,
            "service_date": "2024-03-15",
            "total": total,
            "kind": "inpatient",
            "level": "level_3",
        },
        headers={**h, "Idempotency-Key": key},
    )


def test_a_large_claim_waits_for_a_reviewer_and_is_settled_once_on_approval(world: dict[str, Any]) -> None:  # noqa: F811
    c, op, rev, engine = world["client"], world["op.bj"], world["rev.bj"], world["engine"]
    m = enrolled_member(world)
    pid = m["person"]["id"]
    small = _claim(c, op, pid, "49999.99", "small-1")  # below the default 50,000 yuan: settled at once
    assert small.status_code == 201, small.text
    claims_before, transfers_before = _count(engine, Claim), _count(engine, LedgerTransfer)
    big = _claim(c, op, pid, "80000", "big-1")
    assert big.status_code == 202 and big.headers["Location"].startswith("/api/v1/approvals/")
    filed = big.json()["approval"]
    assert (filed["kind"], filed["status"], filed["requested_by"]) == ("large_claim", "pending", "user:op.bj")
    assert "80000.00" in filed["summary_en"] and "复核" in big.json()["zh"]
    # nothing changed, and sending it again files nothing new
    assert (_count(engine, Claim), _count(engine, LedgerTransfer)) == (claims_before, transfers_before)
    assert _claim(c, op, pid, "80000", "big-1").json()["approval"]["id"] == filed["id"]
    assert _count(engine, ApprovalRequest) == 1
    # the operator cannot decide; another region's reviewer cannot either
    assert c.post(f"/api/v1/approvals/{filed['id']}/approve", json={}, headers=op).status_code == 403
    make_user(engine, "rev.sh", "reviewer", regions=["310000"])
    other = c.post(f"/api/v1/approvals/{filed['id']}/approve", json={}, headers=token_for(engine, "rev.sh"))
    assert other.status_code == 403
    assert ok(c.get("/api/v1/approvals", headers=token_for(engine, "rev.sh")))["items"] == []
    # the reviewer sees it, approves it, and it is settled under the operator's key
    assert [a["id"] for a in ok(c.get("/api/v1/approvals", headers=rev))["items"]] == [filed["id"]]
    done = ok(c.post(f"/api/v1/approvals/{filed['id']}/approve", json={"note": "病历已核"}, headers=rev))
    assert (done["status"], done["decided_by"], done["note"]) == ("executed", "user:rev.bj", "病历已核")
    assert done["result"]["amounts_fen"]["medfee_sumamt"] == 8_000_000 and done["result"]["claim_id"]
    assert _count(engine, Claim) == claims_before + 1
    # the operator's resend is now a replay of that claim; approving again is refused
    again = _claim(c, op, pid, "80000", "big-1")
    assert again.status_code in (200, 201) and again.json()["claim_id"] == done["result"]["claim_id"]
    assert c.post(f"/api/v1/approvals/{filed['id']}/approve", json={}, headers=rev).status_code == 422
    assert _count(engine, Claim) == claims_before + 1
    with Session(engine) as s:
        settled = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "claim.settle").order_by(AuditEvent.id.desc())
        ).first()
        approved = s.scalars(select(AuditEvent).where(AuditEvent.action == "approval.approve")).one()
    assert settled is not None and settled.actor == "user:op.bj" and "user:rev.bj" in (settled.purpose or "")
    assert approved.actor == "user:rev.bj" and approved.subject_id == str(filed["id"])


def test_a_write_off_is_refused_or_done_by_the_reviewer_never_by_its_requester(world: dict[str, Any]) -> None:  # noqa: F811
    c, op, rev = world["client"], world["op.bj"], world["rev.bj"]
    enrolled_member(world)
    ok(c.post("/api/v1/assessments", json={"region": BJ, "month": "2024-03"}, headers=op))
    owed = [
        x
        for x in ok(c.get("/api/v1/arrears", params={"region": BJ}, headers=op))["items"]
        if x["month"] == 202403
    ]
    body = {
        "region": BJ,
        "contribution_month_ids": [owed[0]["contribution_month_id"]],
        "reason": "单位破产",
        "on_date": "2024-12-31",
    }
    filed = ok(c.post("/api/v1/write-offs", json=body, headers=op), 202)["approval"]
    # a rejection needs a reason; once rejected, nothing happened and it cannot be approved
    r = c.post(f"/api/v1/approvals/{filed['id']}/reject", json={"note": ""}, headers=rev)
    assert r.status_code == 422 and r.json()["error"]["field"] == "note"
    done = ok(c.post(f"/api/v1/approvals/{filed['id']}/reject", json={"note": "尚未穷尽追缴"}, headers=rev))
    assert done["status"] == "rejected" and done["result"] is None
    assert c.post(f"/api/v1/approvals/{filed['id']}/approve", json={}, headers=rev).status_code == 422
    still = [
        x
        for x in ok(c.get("/api/v1/arrears", params={"region": BJ}, headers=op))["items"]
        if x["month"] == 202403
    ]
    assert still == owed
    # the requester sees their own request and its outcome
    mine = ok(c.get("/api/v1/approvals", params={"status": "rejected"}, headers=op))["items"]
    assert [(a["id"], a["note"]) for a in mine] == [(filed["id"], "尚未穷尽追缴")]
    assert c.get(f"/api/v1/approvals/{filed['id']}", headers=world["op.sh"]).status_code == 403


def test_self_approval_is_refused_even_for_a_reviewer(world: dict[str, Any]) -> None:  # noqa: F811
    """A reviewer's account that filed a request (as the CLI or a script acting in its name could)
    cannot decide it."""
    engine = world["engine"]
    err = approvals.ApprovalRequired(
        Actor("user:rev.bj", "operator", (BJ,)),
        approvals.Command(
            "write_off", BJ, {"region": BJ, "ids": [1]}, "contribution_month", 1, "核销", "write off"
        ),
    )
    filed = run(engine, lambda s: approvals.submit(s, err))
    with pytest.raises(Forbidden) as refused:
        run(engine, lambda s: approvals.decide(s, Actor("user:rev.bj", "reviewer", (BJ,)), filed.id, True))
    assert "own request" in refused.value.en
    with Session(engine) as s:
        assert s.get(ApprovalRequest, filed.id).status == "pending"  # type: ignore[union-attr]


def test_an_approval_is_for_one_command_only(world: dict[str, Any]) -> None:  # noqa: F811
    """An approved request cannot be stretched to another operation, nor used by someone else."""
    engine = world["engine"]
    asked = {"region": BJ, "ids": [1], "reason": "单位破产", "on_date": "2024-12-31", "key": None}
    wanted = approvals.Command("write_off", BJ, asked, "contribution_month", 1, "核销", "write off")
    err = approvals.ApprovalRequired(Actor("user:op.bj", "operator", (BJ,)), wanted)
    filed = run(engine, lambda s: approvals.submit(s, err))

    def approve(s: Session) -> None:
        req = s.get(ApprovalRequest, filed.id)
        assert req is not None
        req.status = "approved"

    run(engine, approve)
    mine = Actor("user:op.bj", "operator", (BJ,), approval_id=filed.id)
    for kind, command in (("write_off", {**asked, "ids": [2]}), ("account_adjustment", asked)):
        with pytest.raises(InputError) as wrong:
            other = approvals.Command(kind, BJ, command, "x", 1, "", "")
            run(engine, lambda s, o=other: approvals.check(s, mine, o))  # type: ignore[misc]
        assert "another operation" in wrong.value.en
    someone_else = Actor("user:op.bj2", "operator", (BJ,), approval_id=filed.id)
    with pytest.raises(Forbidden):
        run(engine, lambda s: approvals.check(s, someone_else, wanted))


def test_identity_edits_and_account_adjustments_need_a_second_person(world: dict[str, Any]) -> None:  # noqa: F811
    c, op, rev, engine = world["client"], world["op.bj"], world["rev.bj"], world["engine"]
    m = enrolled_member(world)
    pid = m["person"]["id"]
    fixed = new_id()
    filed = ok(
        c.post(
            f"/api/v1/persons/{pid}/corrections",
            json={"region": BJ, "id_number": fixed, "name": "张叁", "reason": "户籍证明更正"},
            headers=op,
        ),
        202,
    )["approval"]
    assert filed["kind"] == "identity_edit" and fixed not in str(filed) and "张叁" not in str(filed)
    with Session(engine) as s:
        assert s.get(Person, pid).name == "张三"  # type: ignore[union-attr]
    done = ok(c.post(f"/api/v1/approvals/{filed['id']}/approve", json={}, headers=rev))
    assert done["result"] == {"person_id": pid, "corrected": ["id_number", "name", "sex", "birth_date"]}
    with Session(engine) as s:
        p = s.get(Person, pid)
        assert p is not None and (p.id_number, p.name) == (fixed, "张叁")
    # an adjustment: +100 yuan into the account, then one that would overdraw it fails on approval
    before = ok(c.get(f"/api/v1/persons/{pid}/statement", headers=op))["closing_fen"]
    up = ok(
        c.post(
            "/api/v1/accounts/adjustments",
            json={
                "person": pid,
                "region": BJ,
                "amount": "100",
                "on_date": "2024-03-01",
                "reason": "划入差错",
            },
            headers={**op, "Idempotency-Key": "adj-1"},
        ),
        202,
    )["approval"]
    assert ok(c.get(f"/api/v1/persons/{pid}/statement", headers=op))["closing_fen"] == before
    ok(c.post(f"/api/v1/approvals/{up['id']}/approve", json={}, headers=rev))
    assert ok(c.get(f"/api/v1/persons/{pid}/statement", headers=op))["closing_fen"] == before + 10000
    down = ok(
        c.post(
            "/api/v1/accounts/adjustments",
            json={
                "person": pid,
                "region": BJ,
                "amount": "-1000000",
                "on_date": "2024-03-01",
                "reason": "扣回",
            },
            headers={**op, "Idempotency-Key": "adj-2"},
        ),
        202,
    )["approval"]
    r = c.post(f"/api/v1/approvals/{down['id']}/approve", json={}, headers=rev)
    assert r.status_code == 422 and "1000000.00" in r.json()["error"]["en"]
    assert ok(c.get(f"/api/v1/approvals/{down['id']}", headers=rev))["status"] == "pending"
    assert ok(c.get("/api/v1/ledger/verify", params={"region": BJ}, headers=world["audit.bj"]))["ok"]


def test_the_security_admin_sets_the_claim_threshold(world: dict[str, Any]) -> None:  # noqa: F811
    c, op, engine = world["client"], world["op.bj"], world["engine"]
    m = enrolled_member(world)
    make_user(engine, "secadm", "security_admin")
    path = f"/api/v1/regions/{BJ}/review-thresholds"
    assert c.put(path, json={"claim_review": "1000"}, headers=op).status_code == 403
    r = c.put(path, json={"claim_review": "1000", "export_review": 50}, headers=token_for(engine, "secadm"))
    assert ok(r) == {"region": BJ, "claim_review_fen": 100000, "export_review_rows": 50}
    assert _claim(c, op, m["person"]["id"], "999.99", "t-1").status_code == 201
    assert _claim(c, op, m["person"]["id"], "1000", "t-2").status_code == 202


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_export_above_the_threshold_runs_only_with_an_approval(engine: Any, tmp_path: Any) -> None:
    """The CLI files the request (exit 3, nothing written); after a reviewer approves, the same
    command with ``--approval N`` exports, once."""
    from typer.testing import CliRunner

    from yibao import cli
    from yibao.admin import register
    from yibao.admin.uow import SYSTEM

    if not any(g.name == "person" for g in cli.app.registered_groups):
        cli._register()
    from yibao.admin.enrollment import enroll

    for n in range(3):
        p = run(
            engine,
            lambda s, n=n: register.register_person(s, SYSTEM, new_id(), f"人员{n}", hukou_region="110105"),
        )  # type: ignore[misc]
        run(engine, lambda s, i=p.id: enroll(s, SYSTEM, i, "110000", "flexible", "2023-01"))  # type: ignore[misc]
    run(engine, lambda s: approvals.set_thresholds(s, SYSTEM, "110000", export_review=2))
    url = str(engine.url)
    runner = CliRunner()
    env = {"YIBAO_USER": "clerk1"}
    args = [
        "export",
        "register",
        "--out",
        str(tmp_path / "out"),
        "--purpose",
        "精准参保比对",
        "--region",
        "110000",
    ]
    args += ["--db", url]
    first = runner.invoke(cli.app, args, env=env)
    assert first.exit_code == 3 and "approval request #1" in first.output and "--approval 1" in first.output
    assert not (tmp_path / "out").exists()
    early = runner.invoke(cli.app, [*args, "--approval", "1"], env=env)
    assert early.exit_code == 2 and "pending" in early.output
    run(engine, lambda s: approvals.decide(s, Actor("user:rev", "reviewer"), 1, True, "比对需要"))
    other = runner.invoke(cli.app, [*args, "--approval", "1"], env={"YIBAO_USER": "clerk2"})
    assert other.exit_code == 2 and "only the person who asked" in other.output
    done = runner.invoke(cli.app, [*args, "--approval", "1", "--json"], env=env)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "persons.parquet").exists()
    again = runner.invoke(cli.app, [*args, "--approval", "1"], env=env)
    assert again.exit_code == 2 and "executed" in again.output
