"""``yibao backup --out DIR`` and ``yibao restore DIR``: the whole database, checked on the way
back (:mod:`yibao.admin.backup`). SQLite and PostgreSQL, either way round."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from yibao.cli.admin_common import DbOpt, JsonFlag, emit, open_db

__all__ = ["backup_cmd", "restore_cmd"]


def backup_cmd(
    out: Annotated[Path, typer.Option("--out", help="备份目录（新建）/ the backup folder (new)")],
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """备份整个数据库 / back up the whole database."""
    from yibao.admin.backup import backup

    err = Console(stderr=True, highlight=False)
    report = backup(open_db(db), out, progress=lambda t, n: None if as_json else err.print(f"  {t}: {n}"))
    head = report.figures["audit_head"]
    emit(
        {
            "folder": report.folder,
            "taken_at": report.taken_at,
            "revision": report.revision,
            "rows": report.rows,
            "seconds": round(report.seconds, 2),
            "figures": report.figures,
        },
        as_json,
        f"备份完成 / backed up: {report.rows} rows → {report.folder} in {report.seconds:.1f} s; "
        f"recovery point (RPO) {report.taken_at}; audit head {head}",
    )


def restore_cmd(
    folder: Annotated[Path, typer.Argument(help="备份目录 / the backup folder")],
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """恢复到空数据库并核对 / restore into an empty database and check it (exit 1 if it differs)."""
    from yibao.admin.backup import restore

    err = Console(stderr=True, highlight=False)
    report = restore(folder, open_db(db), progress=lambda t, n: None if as_json else err.print(f"  {t}: {n}"))
    emit(
        {
            "rows": report.rows,
            "seconds": round(report.seconds, 2),
            "recovery_point": report.recovery_point,
            "matches": report.matches,
            "differences": report.differences,
        },
        as_json,
        f"恢复 / restored {report.rows} rows in {report.seconds:.1f} s (RTO of the load); recovery point "
        f"(RPO) {report.recovery_point}; "
        + (
            "计数、试算平衡与审计链头一致 / counts, trial balance and audit head match"
            if report.matches
            else "不一致 / differences: " + "; ".join(report.differences)
        ),
    )
    if not report.matches:
        raise typer.Exit(1)
