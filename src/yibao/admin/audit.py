"""Recording audit events: every change and every read of personal data (who, when, what, why).

Services call :func:`record` inside the same transaction as the change, so a change without its
audit row cannot commit. Reads of personal data are recorded by the service that returns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin.uow import Actor
from yibao.db.models.audit import AuditEvent
from yibao.errors import InputError

__all__ = ["events_for", "record", "trail"]


def record(session: Session, actor: Actor, action: str, subject_type: str, subject_id: object,
           fields: Iterable[str] = (), region: str | None = None, outcome: str = "ok") -> AuditEvent:
    """Add one audit row (flushed with the caller's transaction)."""
    ev = AuditEvent(actor=actor.user, role=actor.role, region_code=region, action=action,
                    subject_type=subject_type, subject_id=str(subject_id),
                    fields=",".join(fields) or None, purpose=actor.purpose,
                    request_id=actor.request_id or None, outcome=outcome)
    session.add(ev)
    return ev


def events_for(session: Session, subject_type: str, subject_id: object) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                                         AuditEvent.subject_id == str(subject_id))
                                .order_by(AuditEvent.id)))


def trail(session: Session, actor: Actor, *, subject_type: str | None = None, subject_id: object = None,
          user: str | None = None, action: str | None = None, regions: Sequence[str] | None = None,
          limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Audit rows, newest first, filtered; ``regions`` limits them to events of those regions
    (the caller decides: an auditor's own regions, or None once a person's visibility is checked).
    Reading the trail is itself recorded."""
    if not (1 <= limit <= 500) or offset < 0:
        raise InputError("limit", limit, "limit 应在 1–500，offset ≥ 0", "limit must be 1-500 and offset ≥ 0")
    q = select(AuditEvent)
    if subject_type:
        q = q.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None and str(subject_id) != "":
        q = q.where(AuditEvent.subject_id == str(subject_id))
    if user:
        q = q.where(AuditEvent.actor == user)
    if action:
        q = q.where(AuditEvent.action == action)
    if regions is not None:
        q = q.where(AuditEvent.region_code.in_(tuple(regions)))
    rows = list(session.scalars(q.order_by(AuditEvent.id.desc()).limit(limit).offset(offset)))
    record(session, actor, "audit.read", subject_type or "audit",
           subject_id if subject_id is not None else "*")
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "role": e.role, "region": e.region_code,
             "action": e.action, "subject_type": e.subject_type, "subject_id": e.subject_id,
             "fields": e.fields.split(",") if e.fields else [], "purpose": e.purpose,
             "request_id": e.request_id, "outcome": e.outcome} for e in rows]
