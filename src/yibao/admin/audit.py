"""Recording audit events: every change and every read of personal data (who, when, what, why).

Services call :func:`record` inside the same transaction as the change, so a change without its
audit row cannot commit. Reads of personal data are recorded by the service that returns them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin.uow import Actor
from yibao.db.models.audit import AuditEvent

__all__ = ["events_for", "record"]


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
