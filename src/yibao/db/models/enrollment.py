"""Enrollment (参保): a person in a region and scheme, in a category, for a span of months."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Fen, RegionCode, utcnow

ACTIVE_EMPLOYEE = text("scheme = 'employee' AND status = 'active'")


class Enrollment(Base):
    """One enrollment spell. ``category`` is a :data:`yibao.rules.contribution.PERSON_TYPES`
    name (in_service, flexible, new_form, retiree); months are YYYYMM, ``end_month`` inclusive.

    A person holds at most one active employee enrollment (partial unique index below): a second
    one, in any region, is a conflict the service reports rather than accepts.
    """

    __tablename__ = "enrollment"
    __table_args__ = (
        Index("uq_enrollment_active_employee", "person_id", unique=True,
              postgresql_where=ACTIVE_EMPLOYEE, sqlite_where=ACTIVE_EMPLOYEE),
        Index("ix_enrollment_region_status", "region_code", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    scheme: Mapped[str] = mapped_column(String(16))  # employee | resident
    # in_service | flexible | new_form | retiree (employee scheme); resident (resident scheme)
    category: Mapped[str] = mapped_column(String(16))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    start_month: Mapped[int] = mapped_column(Integer)
    end_month: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended | suspended
    end_reason: Mapped[str | None] = mapped_column(String(32))  # yibao.admin.enrollment.END_REASONS
    # flexible workers: index into the region's flexible.base_options
    flexible_option: Mapped[int] = mapped_column(Integer, default=0)
    # retirees: retirement date, own monthly pension (for pct_own_pension credits), was flexible
    retired_on: Mapped[dt.date | None] = mapped_column(Date)
    pension_fen: Mapped[Fen] = mapped_column(default=0)
    was_flexible: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
