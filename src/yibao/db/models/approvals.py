"""Four-eyes approval (双人复核): a request that waits for a second, different person.

An operation that needs approval (:mod:`yibao.admin.approvals`) is not done when asked: its
command is kept here, and done — as the requester, under the approval — when a reviewer approves.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, RegionCode, utcnow
from yibao.db.crypto import Encrypted


class ApprovalRequest(Base):
    """One operation waiting for, or decided by, a second person."""

    __tablename__ = "approval_request"
    __table_args__ = (Index("ix_approval_request_status_region", "status", "region_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # yibao.admin.approvals.KINDS
    # None: every region (an export of the whole register): only a reviewer of all regions decides
    region_code: Mapped[RegionCode | None] = mapped_column(ForeignKey("region.code"))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    summary_zh: Mapped[str] = mapped_column(String(256))  # what is asked, masked
    summary_en: Mapped[str] = mapped_column(String(256))
    # the command's arguments (JSON): an identity edit's new ID number and name among them
    payload: Mapped[str] = mapped_column(Encrypted("approval_request.payload"))
    request_hash: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(64), index=True)
    requester_role: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected|executed
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(256))
    executed_at: Mapped[dt.datetime | None]
    result: Mapped[str | None] = mapped_column(Encrypted("approval_request.result"))  # JSON
