"""Backup and restore of the whole database, SQLite or PostgreSQL, either way round.

``backup`` reads every table in one transaction (a consistent snapshot) and writes a folder:
``tables/<table>.jsonl.gz`` (one JSON object a row, in id order) and ``manifest.json`` with the
schema revision, the row counts, the trial balance (debits and credits by region), the audit
chain's head and each file's SHA-256. ``restore`` refuses a database that holds any row, brings
it to the backup's schema, loads the tables in dependency order, moves PostgreSQL's sequences past
the restored ids, and checks the counts, the trial balance and the audit head against the
manifest: a restore that does not reproduce them says so. The report gives the recovery point
(when the snapshot was taken) and the recovery time (how long the restore took).
GB/T 22239-2019 level 3, 8.1.4.9 (data backup and recovery).
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Engine, MetaData, Table, Text, func, insert, select, text
from sqlalchemy.orm import Session

import yibao.db.models  # noqa: F401  (the whole schema)
from yibao.db.base import Base, utcnow
from yibao.db.crypto import Encrypted
from yibao.db.migrate import current_revision, head_revision, upgrade
from yibao.db.models.audit import AuditSeal
from yibao.db.models.ledger import LedgerAccount, LedgerEntry
from yibao.errors import InputError

__all__ = ["BackupReport", "RestoreReport", "backup", "figures", "restore"]

FORMAT = 1
CHUNK = 5_000
Progress = Callable[[str, int], None]


def _noop(_table: str, _rows: int) -> None:
    return None


@functools.cache
def _tables() -> list[Table]:
    """Every table, parents before children, with encrypted columns seen as the text they store:
    a backup carries the ciphertext (never the clear values), and a restore writes it back as is
    (the keyring travels separately, docs/security.md)."""
    raw = MetaData()
    tables = [t.to_metadata(raw) for t in Base.metadata.sorted_tables]
    for t in tables:
        for c in t.columns:
            if isinstance(c.type, Encrypted):
                c.type = Text()
    return tables


def figures(session: Session) -> dict[str, Any]:
    """What a restore must reproduce: row counts, debits and credits by region, the audit head."""
    counts = {t.name: int(session.scalar(select(func.count()).select_from(t)) or 0) for t in _tables()}
    pos = func.sum(func.abs(LedgerEntry.amount_fen) + LedgerEntry.amount_fen) / 2
    neg = func.sum(func.abs(LedgerEntry.amount_fen) - LedgerEntry.amount_fen) / 2
    rows = session.execute(
        select(LedgerAccount.region_code, pos, neg)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .group_by(LedgerAccount.region_code)
        .order_by(LedgerAccount.region_code)
    ).all()
    balance = {str(r): {"debit_fen": int(d or 0), "credit_fen": int(c or 0)} for r, d, c in rows}
    head = session.scalar(select(AuditSeal).order_by(AuditSeal.seq.desc()).limit(1))
    return {
        "rows": counts,
        "trial_balance": balance,
        "audit_head": None if head is None else {"seq": head.seq, "hash": head.row_hash},
    }


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


@dataclass(frozen=True)
class BackupReport:
    folder: str
    taken_at: str
    revision: str | None
    rows: int
    seconds: float
    figures: dict[str, Any]


def backup(engine: Engine, out: str | Path, progress: Progress = _noop) -> BackupReport:
    """Write the backup folder (module docstring); ``out`` must not exist yet or be empty."""
    folder = Path(out)
    if folder.exists() and any(folder.iterdir()):
        raise InputError(
            "--out", str(folder), "目录已存在且非空；请给一个新目录", "the folder exists and is not empty"
        )
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    revision = current_revision(engine)
    files: dict[str, str] = {}
    total = 0
    with Session(engine) as s:
        if engine.dialect.name == "postgresql":
            s.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        taken_at = utcnow().isoformat()
        fig = figures(s)
        for t in _tables():
            path = folder / "tables" / f"{t.name}.jsonl.gz"
            order = list(t.primary_key.columns)
            n = 0
            with gzip.open(path, "wt", encoding="utf-8") as f:
                for row in s.execute(select(t).order_by(*order)).mappings().yield_per(CHUNK):
                    f.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
                    n += 1
            files[t.name] = hashlib.sha256(path.read_bytes()).hexdigest()
            total += n
            progress(t.name, n)
        s.rollback()
    manifest = {
        "format": FORMAT,
        "taken_at": taken_at,
        "revision": revision,
        "dialect": engine.dialect.name,
        "figures": fig,
        "sha256": files,
    }
    (folder / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return BackupReport(str(folder), taken_at, revision, total, time.perf_counter() - start, fig)


def _converter(t: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    dates = {c.name for c in t.columns if isinstance(c.type, Date) and not isinstance(c.type, DateTime)}
    times = {c.name for c in t.columns if isinstance(c.type, DateTime)}
    known = {c.name for c in t.columns}  # JSON columns travel as JSON already

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in row.items() if k in known}
        for k in dates:
            if out.get(k) is not None:
                out[k] = dt.date.fromisoformat(out[k])
        for k in times:
            if out.get(k) is not None:
                out[k] = dt.datetime.fromisoformat(out[k])
        return out

    return convert


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


@dataclass
class RestoreReport:
    rows: int = 0
    seconds: float = 0.0
    recovery_point: str = ""
    matches: bool = False
    differences: list[str] = field(default_factory=list)


def restore(folder: str | Path, engine: Engine, progress: Progress = _noop) -> RestoreReport:
    """Load a backup folder into an empty database and check it (module docstring)."""
    src = Path(folder)
    manifest_path = src / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(
            "folder",
            str(src),
            "不是 yibao 备份目录（缺 manifest.json）",
            "not a yibao backup (no manifest.json)",
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise InputError(
            "folder", str(src), f"备份格式 {manifest.get('format')} 不受支持", "unsupported backup format"
        )
    if manifest.get("revision") != head_revision():
        raise InputError(
            "folder",
            manifest.get("revision"),
            f"备份的数据库版本与本程序（{head_revision()}）不同；请用同一版本的 yibao 恢复",
            f"the backup's schema revision differs from this program's "
            f"({head_revision()}); restore with the same yibao version",
        )
    for name, digest in manifest["sha256"].items():
        path = src / "tables" / f"{name}.jsonl.gz"
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise InputError(
                "folder",
                f"tables/{name}.jsonl.gz",
                "文件缺失或已被改动（SHA-256 不符）",
                "missing or altered (SHA-256 differs)",
            )
    upgrade(engine)
    with Session(engine) as s:
        occupied = [t.name for t in _tables() if s.scalar(select(func.count()).select_from(t))]
    if occupied:
        raise InputError(
            "--db",
            occupied[0],
            "目标数据库已有数据；恢复只写入空数据库",
            "the target database holds data; a restore writes only into an empty one",
        )
    start = time.perf_counter()
    report = RestoreReport(recovery_point=str(manifest["taken_at"]))
    with engine.begin() as conn:
        for t in _tables():
            convert = _converter(t)
            batch: list[dict[str, Any]] = []
            n = 0
            for row in _rows(src / "tables" / f"{t.name}.jsonl.gz"):
                batch.append(convert(row))
                if len(batch) >= CHUNK:
                    conn.execute(insert(t), batch)
                    n += len(batch)
                    batch = []
            if batch:
                conn.execute(insert(t), batch)
                n += len(batch)
            report.rows += n
            progress(t.name, n)
        if engine.dialect.name == "postgresql":  # the next ids follow the restored ones
            for t in _tables():
                pk = list(t.primary_key.columns)
                if len(pk) != 1:
                    continue
                seq = conn.scalar(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": t.name, "c": pk[0].name}
                )
                if seq:  # only serial keys have one
                    conn.execute(
                        text(
                            f"SELECT setval('{seq}', COALESCE((SELECT MAX({pk[0].name}) FROM "
                            f"{t.name}), 0) + 1, false)"
                        )
                    )
    report.seconds = time.perf_counter() - start
    with Session(engine) as s:
        got = figures(s)
    want = manifest["figures"]
    for key in ("rows", "trial_balance", "audit_head"):
        if got[key] != want[key]:
            report.differences.append(f"{key}: backup {want[key]} / restored {got[key]}")
    report.matches = not report.differences
    return report
