"""``yibao audit events``: who read or changed what, when and why (the audit log)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.cli.admin_common import DbOpt, JsonFlag, emit, guard, open_db
from yibao.db.models.audit import AuditEvent

app = typer.Typer(help="审计日志 / the audit log", no_args_is_help=True)


@app.command("events")
@guard
def events_cmd(
    subject_type: Annotated[
        str | None, typer.Option("--subject-type", help="person, employer, claim…")
    ] = None,
    subject_id: Annotated[str | None, typer.Option("--subject-id", help="编号 / id")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="操作人 / user")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="条数 / rows")] = 50,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """最近的审计记录（最新在前）/ the latest audit events, newest first."""
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if subject_type:
        q = q.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        q = q.where(AuditEvent.subject_id == subject_id)
    if actor:
        q = q.where(AuditEvent.actor == actor)
    with Session(open_db(db)) as s:
        rows = [
            {
                "id": e.id,
                "at": e.at.isoformat(timespec="seconds"),
                "actor": e.actor,
                "role": e.role,
                "region": e.region_code,
                "action": e.action,
                "subject": f"{e.subject_type}:{e.subject_id}",
                "fields": e.fields,
                "purpose": e.purpose,
                "outcome": e.outcome,
            }
            for e in s.scalars(q)
        ]
    text = "\n".join(
        f"{r['at']}  {r['actor']} ({r['role']})  {r['action']}  {r['subject']}  "
        f"{r['fields'] or ''}  {r['purpose'] or ''}"
        for r in rows
    )
    emit(rows, as_json, text or "（无 / none）")


@app.command("seal")
@guard
def seal_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """把审计记录封入 SM3 哈希链（建议每分钟运行）/ seal the audit rows into the SM3 hash chain."""
    from yibao.admin.audit_chain import seal
    from yibao.admin.uow import run

    report = run(open_db(db), seal)
    emit(
        {"sealed": report.sealed, "head_seq": report.head_seq, "head_hash": report.head_hash},
        as_json,
        f"封存 / sealed {report.sealed}；链头 / head {report.head_seq} {report.head_hash}",
    )


@app.command("verify")
@guard
def verify_cmd(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """校验审计哈希链，指出第一处断裂 / verify the audit chain; name the first broken row (exit 1)."""
    from yibao.admin.audit_chain import verify

    with Session(open_db(db)) as s:
        report = verify(s)
    doc = {
        "ok": report.ok,
        "checked": report.checked,
        "head_hash": report.head_hash,
        "broken": report.broken,
        "unsealed_old": report.unsealed_old,
    }
    if report.ok:
        text = f"审计链完整 / the audit chain holds: {report.checked} rows, head {report.head_hash}"
        if report.unsealed_old:
            text += (
                f"\n{len(report.unsealed_old)} 条超过 1 分钟的记录尚未封存（运行 yibao audit seal）/ rows "
                f"older than a minute not yet sealed (run yibao audit seal): {report.unsealed_old[:10]}"
            )
        emit(doc, as_json, text)
        return
    b = report.broken or {}
    emit(
        doc,
        as_json,
        f"审计链断裂 / the audit chain is broken at seal {b.get('seq')}, audit row "
        f"{b.get('event_id')}: {b.get('reason')}",
    )
    raise typer.Exit(1)


@app.command("watch")
@guard
def watch_cmd(
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="每小时人数上限 / people an hour")
    ] = None,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """批量查询告警 / raise bulk-read alerts (more people read in an hour than the limit)."""
    from yibao.admin.uow import run
    from yibao.admin.watch import watch

    report = run(open_db(db), lambda s: watch(s, limit=limit))
    emit({"alerts": report.alerts}, as_json, f"新告警 / new alerts: {report.alerts}")


@app.command("purge")
@guard
def purge_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只统计，不删除 / count only")] = False,
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """删除超过保存期限的记录（见 retention.yaml）/ delete records past their retention period."""
    from yibao.admin.retention import purge
    from yibao.admin.uow import run
    from yibao.cli.admin_common import actor

    who = actor("保存期限清理 / retention purge")
    report = run(open_db(db), lambda s: purge(s, who, dry_run=dry_run))
    emit(
        {"as_of": report.as_of, "deleted": report.deleted, "dry_run": report.dry_run},
        as_json,
        ("将删除 / would delete: " if dry_run else "已删除 / deleted: ")
        + ", ".join(f"{k} {v}" for k, v in report.deleted.items()),
    )
