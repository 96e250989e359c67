"""The audit log: who read or changed what, when and why. Rows are only ever inserted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, utcnow


class AuditEvent(Base):
    """One audited action: a change, or a read of personal data (who, when, what, why)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject", "subject_type", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(6))
    action: Mapped[str] = mapped_column(String(48))  # e.g. person.read, enrollment.create, claim.settle
    subject_type: Mapped[str] = mapped_column(String(32))  # person, employer, claim, ...
    subject_id: Mapped[str] = mapped_column(String(64))
    fields: Mapped[str | None] = mapped_column(Text)  # comma-separated fields read or changed
    purpose: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | refused | error


class AuditSeal(Base):
    """The audit log's hash chain (yibao.admin.audit_chain): one row per sealed event, in sealing
    order; ``row_hash`` = SM3(``prev_hash`` + the event's canonical text). Insert-only."""

    __tablename__ = "audit_seal"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SecurityAlert(Base):
    """Something a security officer must look at, e.g. one account reading far more people in an
    hour than its work explains (yibao.admin.watch)."""

    __tablename__ = "security_alert"
    __table_args__ = (Index("ix_security_alert_actor_window", "actor", "kind", "window_start", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # bulk_read
    actor: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[dt.datetime] = mapped_column()
    count: Mapped[int] = mapped_column(Integer)
    limit_per_hour: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column()
