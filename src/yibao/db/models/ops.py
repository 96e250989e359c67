"""Operational records: idempotency keys, resumable monthly runs, import batches."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, RegionCode, utcnow
from yibao.db.crypto import Encrypted


class IdempotencyKey(Base):
    """A write command already done: replaying the key returns ``response`` and changes nothing;
    the same key with a different request (``request_hash``) is refused."""

    __tablename__ = "idempotency_key"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    command: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Encrypted("idempotency_key.response"))  # JSON; may name the person
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MonthlyRun(Base):
    """One monthly job (assessment, retiree account credit) of a region: resumable, done once.

    The run commits in chunks; each chunk's rows carry ``run_id`` and the unique keys of the rows
    make a re-run skip what a killed run already committed.
    """

    __tablename__ = "monthly_run"
    __table_args__ = (UniqueConstraint("region_code", "month", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    month: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # assessment | retiree_credit
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
