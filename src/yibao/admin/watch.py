"""Bulk-read watch: an alert when one account looks up more people in an hour than a limit.

The insider who reads or exports personal data with a borrowed account is the incident this field
knows best (issue 8). :func:`watch` counts, per account and clock hour, the distinct persons whose
data it read (audit rows about a person: reads, statements, claims, the gateway's look-ups), and
raises one :class:`~yibao.db.models.audit.SecurityAlert` per account and hour over the limit.
The limit is ours, not a published figure: :data:`DEFAULT_LIMIT` people an hour, set per
installation (``YIBAO_BULK_READ_LIMIT``). ``yibao serve`` runs the watch every minute with the
audit sealing; ``yibao audit watch`` runs it from cron. GB/T 22239-2019 level 3, 8.1.4.3 (audit
analysis) and PIPL Art. 51 (access control of personal information).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yibao.admin import audit
from yibao.admin.roles import authorize
from yibao.admin.uow import Actor
from yibao.db.base import as_utc, utcnow
from yibao.db.models.audit import AuditEvent, SecurityAlert
from yibao.errors import InputError

__all__ = ["DEFAULT_LIMIT", "WatchReport", "acknowledge", "alerts", "limit_from_env", "watch"]

DEFAULT_LIMIT = 300
log = logging.getLogger(__name__)


def limit_from_env() -> int:
    text = os.environ.get("YIBAO_BULK_READ_LIMIT", "").strip()
    if not text:
        return DEFAULT_LIMIT
    if not text.isdecimal() or int(text) < 1:
        raise InputError(
            "YIBAO_BULK_READ_LIMIT",
            text,
            "应为正整数（每小时人数）",
            "expected a positive number of people an hour",
        )
    return int(text)


@dataclass(frozen=True)
class WatchReport:
    hours: int
    alerts: int


def _hour(t: dt.datetime) -> dt.datetime:
    return as_utc(t).astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def watch(
    session: Session, now: dt.datetime | None = None, limit: int | None = None, hours: int = 2
) -> WatchReport:
    """Check the last ``hours`` clock hours (module docstring); returns how many alerts were raised."""
    now = now or utcnow()
    limit = limit or limit_from_env()
    raised = 0
    start = _hour(now) - dt.timedelta(hours=hours - 1)
    reads = or_(
        AuditEvent.action.like("%.read"),
        AuditEvent.action.like("gateway.%"),
        AuditEvent.action == "claim.list",
    )
    for h in range(hours):
        lo = start + dt.timedelta(hours=h)
        hi = lo + dt.timedelta(hours=1)
        rows = session.execute(
            select(AuditEvent.actor, func.count(func.distinct(AuditEvent.subject_id)))
            .where(AuditEvent.subject_type == "person", reads, AuditEvent.at >= lo, AuditEvent.at < hi)
            .group_by(AuditEvent.actor)
            .having(func.count(func.distinct(AuditEvent.subject_id)) > limit)
        ).all()
        for actor, n in rows:
            seen = session.scalar(
                select(SecurityAlert.id).where(
                    SecurityAlert.actor == actor,
                    SecurityAlert.kind == "bulk_read",
                    SecurityAlert.window_start == lo,
                )
            )
            if seen is not None:
                continue
            session.add(
                SecurityAlert(
                    kind="bulk_read",
                    actor=actor,
                    window_start=lo,
                    count=int(n),
                    limit_per_hour=limit,
                    detail=f"{n} persons read between {lo:%Y-%m-%d %H:%M} and {hi:%H:%M} UTC",
                )
            )
            log.warning("bulk read: %s read %s persons in the hour from %s (limit %s)", actor, n, lo, limit)
            raised += 1
    session.flush()
    return WatchReport(hours, raised)


def _view(a: SecurityAlert) -> dict[str, Any]:
    return {
        "id": a.id,
        "at": a.at.isoformat(),
        "kind": a.kind,
        "actor": a.actor,
        "window_start": a.window_start.isoformat(),
        "count": a.count,
        "limit_per_hour": a.limit_per_hour,
        "detail": a.detail,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
    }


def alerts(
    session: Session, actor: Actor, open_only: bool = True, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The alerts, newest first (reading them is audited)."""
    authorize(actor, "security.read")
    q = select(SecurityAlert)
    if open_only:
        q = q.where(SecurityAlert.acknowledged_at.is_(None))
    rows = [
        _view(a) for a in session.scalars(q.order_by(SecurityAlert.id.desc()).limit(limit).offset(offset))
    ]
    audit.record(session, actor, "security_alert.read", "security_alert", "*")
    return rows


def acknowledge(session: Session, actor: Actor, alert_id: int) -> dict[str, Any]:
    """Mark an alert as looked at, by whom and when; an alert about oneself cannot be acknowledged."""
    authorize(actor, "security.manage")
    a = session.get(SecurityAlert, alert_id)
    if a is None:
        raise InputError("alert_id", alert_id, "没有此告警", "no such alert")
    if a.actor == actor.user:
        raise InputError(
            "alert_id", alert_id, "不能确认关于自己的告警", "an alert about yourself is for someone else"
        )
    if a.acknowledged_at is None:
        a.acknowledged_by, a.acknowledged_at = actor.user, utcnow()
        audit.record(session, actor, "security_alert.ack", "security_alert", a.id, ("acknowledged",))
    return _view(a)
