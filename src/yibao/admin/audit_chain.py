"""The audit log made tamper-evident: an SM3 hash chain over its rows, sealed after the fact.

Every audit row is inserted by the transaction that reads or changes personal data, with no lock
shared between transactions (a chain extended at insert would make every settlement wait for the
one before it). :func:`seal` then walks the rows not yet sealed, older than a horizon (so the
transactions that wrote them have ended), in id order, and appends each to the chain in
``audit_seal``: ``row_hash = SM3(prev_hash ‖ canonical(row))``. A row that commits late (a long
transaction) is sealed when it is found, later in the chain. Both tables are append-only for the
application (database triggers, migration 0003), so changing or deleting a row takes a privileged
hand — and :func:`verify` names the first row whose text, presence or place in the chain no
longer matches. GB/T 22239-2019 level 3 (8.1.4.3 audit records protected from unexpected deletion,
modification or overwriting) and 密码法/GM/T 0004 SM3 for the digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.db.base import as_utc, utcnow
from yibao.db.models.audit import AuditEvent, AuditSeal
from yibao.errors import YibaoError

__all__ = ["GENESIS", "HORIZON", "SealReport", "VerifyReport", "canonical", "chain_hash", "seal", "verify"]

GENESIS = "0" * 64
#: Rows younger than this are left for the next run: their transactions may not have committed
#: their neighbours yet.
HORIZON = dt.timedelta(seconds=60)
_FIELDS = (
    "id",
    "at",
    "actor",
    "role",
    "region_code",
    "action",
    "subject_type",
    "subject_id",
    "fields",
    "purpose",
    "request_id",
    "outcome",
)


def _sm3() -> Any:
    try:
        return hashlib.new("sm3")
    except ValueError:  # pragma: no cover - an OpenSSL built without SM3
        raise YibaoError(
            "此机器的 OpenSSL 不提供 SM3，无法校验审计链",
            "this machine's OpenSSL has no SM3: the audit chain cannot be computed",
        ) from None


def canonical(ev: AuditEvent) -> bytes:
    """The row as the chain hashes it: its fields as sorted JSON (time in UTC, to the microsecond)."""
    values: dict[str, Any] = {k: getattr(ev, k) for k in _FIELDS}
    values["at"] = as_utc(values["at"]).astimezone(dt.UTC).isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(prev: str, ev: AuditEvent) -> str:
    h = _sm3()
    h.update(prev.encode())
    h.update(canonical(ev))
    return str(h.hexdigest())


@dataclass(frozen=True)
class SealReport:
    sealed: int
    head_seq: int
    head_hash: str


def seal(session: Session, now: dt.datetime | None = None, limit: int = 100_000) -> SealReport:
    """Append the unsealed rows older than :data:`HORIZON` to the chain (module docstring)."""
    horizon = (now or utcnow()) - HORIZON
    head = (
        session.scalar(select(AuditSeal).order_by(AuditSeal.seq.desc()).limit(1).with_for_update())
        if session.get_bind().dialect.name == "postgresql"
        else session.scalar(select(AuditSeal).order_by(AuditSeal.seq.desc()).limit(1))
    )
    seq, prev = (head.seq, head.row_hash) if head is not None else (0, GENESIS)
    pending = session.scalars(
        select(AuditEvent)
        .outerjoin(AuditSeal, AuditSeal.event_id == AuditEvent.id)
        .where(AuditSeal.event_id.is_(None), AuditEvent.at < horizon)
        .order_by(AuditEvent.id)
        .limit(limit)
    ).all()
    rows = []
    for ev in pending:
        seq += 1
        h = chain_hash(prev, ev)
        rows.append(AuditSeal(seq=seq, event_id=ev.id, prev_hash=prev, row_hash=h))
        prev = h
    session.add_all(rows)
    session.flush()
    return SealReport(len(rows), seq, prev)


@dataclass
class VerifyReport:
    checked: int = 0
    head_hash: str = GENESIS
    broken: dict[str, Any] | None = None  # the first row that does not match, and why
    unsealed_old: list[int] = field(default_factory=list)  # rows past the horizon not in the chain

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(session: Session, now: dt.datetime | None = None, batch: int = 10_000) -> VerifyReport:
    """Walk the chain from its start and recompute it; name the first row that breaks it."""
    report = VerifyReport()
    prev, expected_seq, after = GENESIS, 1, 0
    while True:
        seals = session.execute(
            select(AuditSeal, AuditEvent)
            .outerjoin(AuditEvent, AuditEvent.id == AuditSeal.event_id)
            .where(AuditSeal.seq > after)
            .order_by(AuditSeal.seq)
            .limit(batch)
        ).all()
        if not seals:
            break
        for s, ev in seals:
            where = {"seq": s.seq, "event_id": s.event_id}
            if s.seq != expected_seq:
                report.broken = {**where, "reason": f"seal {expected_seq} is missing (deleted)"}
            elif s.prev_hash != prev:
                report.broken = {**where, "reason": "the seal does not follow the one before it (edited)"}
            elif ev is None:
                report.broken = {**where, "reason": "the audit row is gone (deleted)"}
            elif chain_hash(prev, ev) != s.row_hash:
                report.broken = {**where, "reason": "the audit row was changed after it was sealed"}
            if report.broken is not None:
                return report
            prev, expected_seq, after = s.row_hash, expected_seq + 1, s.seq
            report.checked += 1
    report.head_hash = prev
    horizon = (now or utcnow()) - HORIZON
    report.unsealed_old = list(
        session.scalars(
            select(AuditEvent.id)
            .outerjoin(AuditSeal, AuditSeal.event_id == AuditEvent.id)
            .where(AuditSeal.event_id.is_(None), AuditEvent.at < horizon)
            .order_by(AuditEvent.id)
            .limit(100)
        )
    )
    total_sealed = session.scalar(select(func.count()).select_from(AuditSeal)) or 0
    if total_sealed != report.checked and report.broken is None:  # pragma: no cover - seq gaps caught above
        report.broken = {"seq": None, "event_id": None, "reason": "seal count differs from the chain"}
    return report
