"""Monthly contributions: wage declarations, payroll declarations, assessed months, payments.

The assessed month (:class:`ContributionMonth`) mirrors
:data:`yibao.rules.contribution.COLUMNS`: the calculator's output is stored as it came out, so the
database never recomputes a rule.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Fen, RegionCode, utcnow

PAYERS = ("employer", "person")  # a unit pays for its employees; flexible workers pay themselves


class WageDeclaration(Base):
    """A declared monthly wage (缴费工资申报) for a person, in force from ``month_from``."""

    __tablename__ = "wage_declaration"
    __table_args__ = (UniqueConstraint("person_id", "payer_kind", "payer_id", "month_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    payer_kind: Mapped[str] = mapped_column(String(8))  # employer | person
    payer_id: Mapped[int] = mapped_column(Integer)  # employer.id or person.id
    month_from: Mapped[int] = mapped_column(Integer)
    month_to: Mapped[int | None] = mapped_column(Integer)
    wage_fen: Mapped[Fen]
    source: Mapped[str] = mapped_column(String(128), default="single")  # single | file name
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PayrollDeclaration(Base):
    """An employer's declared total payroll (工资总额) and headcount for a month (base audit)."""

    __tablename__ = "payroll_declaration"
    __table_args__ = (UniqueConstraint("employer_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"))
    month: Mapped[int] = mapped_column(Integer)
    payroll_total_fen: Mapped[Fen]
    headcount: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContributionMonth(Base):
    """One person-month assessed (核定) by the rule in force; at most one per enrollment and month.

    ``status``: due → partial → paid (or written_off); ``paid_on`` is the date it became fully
    paid, which decides back-payment (补缴) and continuity. ``recognised`` is set when the paid
    amount was split into the funds and the individual account in the ledger.
    """

    __tablename__ = "contribution_month"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "month"),
        Index("ix_contribution_month_payer", "payer_kind", "payer_id", "status"),
        Index("ix_contribution_month_person", "person_id", "month"),
        Index("ix_contribution_month_region_month", "region_code", "month"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    month: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    payer_kind: Mapped[str] = mapped_column(String(8))
    payer_id: Mapped[int] = mapped_column(Integer)
    wage_fen: Mapped[Fen]
    base_fen: Mapped[Fen]
    employer_basic_fen: Mapped[Fen]
    employer_maternity_fen: Mapped[Fen]
    employer_large_amount_fen: Mapped[Fen]
    employer_local_supplement_fen: Mapped[Fen]
    individual_basic_fen: Mapped[Fen]
    fixed_premium_fen: Mapped[Fen]
    to_pooled_fund_fen: Mapped[Fen]
    to_individual_account_fen: Mapped[Fen]
    to_maternity_fund_fen: Mapped[Fen]
    to_large_amount_fund_fen: Mapped[Fen]
    to_local_supplement_fund_fen: Mapped[Fen]
    total_fen: Mapped[Fen]
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="due")
    due_date: Mapped[dt.date] = mapped_column(Date)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    recognised: Mapped[bool] = mapped_column(default=False)
    # payments side (admin/payments.py): a write-off of uncollectible arrears needs a reason
    written_off_on: Mapped[dt.date | None] = mapped_column(Date)
    write_off_reason: Mapped[str | None] = mapped_column(String(256))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("monthly_run.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Payment(Base):
    """Money received from a payer (bank reference unique: the same statement line twice is one
    payment). ``unallocated_fen`` is what is not yet matched to assessed months (over-payment)."""

    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("region_code", "reference"),
                      Index("ix_payment_payer", "payer_kind", "payer_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    payer_kind: Mapped[str] = mapped_column(String(8))
    payer_id: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[Fen]
    unallocated_fen: Mapped[Fen]
    received_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="payment")  # payment | refund
    # a refund names the payment whose over-payment it returns (None: drawn from several)
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PaymentAllocation(Base):
    """The part of a payment matched to one assessed month."""

    __tablename__ = "payment_allocation"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    contribution_month_id: Mapped[int] = mapped_column(ForeignKey("contribution_month.id"), index=True)
    amount_fen: Mapped[Fen]
