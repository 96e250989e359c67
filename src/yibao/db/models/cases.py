"""Cases that move a person between states: transfer between regions, retirement, hardship plans.

- :class:`ContributionPeriod` — a person's history that the installation did not assess itself:
  deemed years (视同缴费年限, e.g. Changsha: service before 2003-01-01, PD changsha) and periods paid
  elsewhere before the installation's records, each with the document that proves it.
- :class:`TransferCase` / :class:`TransferPeriod` — the 参保凭证 a region issues when a member
  leaves (基本医疗保险关系转移接续暂行办法, 2021-11, PD national_rules; DOMAIN §7's transfer record)
  and what the receiving region recognised of each period.
- :class:`ShortfallPayment` — the one-off payment for years short at retirement (DOMAIN §6).
- :class:`LumpSumPlan` and its instalments, payments and members — the lump sum per retiree a
  bankrupt or hardship enterprise owes (Jinan 2005–2007, seed 003), paid in instalments, with its
  retirees enrolled separately from the unit (``retiree_enrollment_mode = separate``).

Months are ``YYYYMM`` integers, inclusive; money is fen.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Fen, RegionCode, utcnow

PERIOD_KINDS = ("actual", "deemed", "back_paid")  # = yibao.rules.transfer.KINDS
CASE_STATUSES = ("issued", "received", "completed")
ISSUED = text("status = 'issued'")
SHORTFALL_DUE = text("status = 'due'")


class ContributionPeriod(Base):
    """A period on a person's record that no :class:`ContributionMonth` row holds.

    ``kind``: actual (paid, before the installation's records or outside it), deemed (视同缴费,
    counted only where ``retirement.deemed_years_count``), back_paid. ``region_code`` may name a
    region outside the installation (GB/T 2260, not a foreign key). ``source_document`` is the
    archive, certificate or decision the clerk saw.
    """

    __tablename__ = "contribution_period"
    __table_args__ = (Index("ix_contribution_period_person", "person_id", "from_month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    region_code: Mapped[str] = mapped_column(String(6))
    from_month: Mapped[int] = mapped_column(Integer)
    to_month: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    source_document: Mapped[str] = mapped_column(String(256))
    note: Mapped[str | None] = mapped_column(String(256))
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TransferCase(Base):
    """One transfer of a member from ``from_region`` to ``to_region`` (known once received).

    ``issued``: the source ended the enrollment and listed the periods (参保凭证);
    ``received``: the receiving region recognised them, moved the balance and enrolled the person;
    ``completed``: nothing left to do (no back-payable gap, or its months are paid).
    One issued case per person at a time (partial unique index).
    """

    __tablename__ = "transfer_case"
    __table_args__ = (
        Index("uq_transfer_case_issued_person", "person_id", unique=True,
              postgresql_where=ISSUED, sqlite_where=ISSUED),
        Index("ix_transfer_case_person", "person_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    from_region: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    to_region: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    status: Mapped[str] = mapped_column(String(16), default="issued")
    from_enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"))
    from_category: Mapped[str] = mapped_column(String(16))
    end_month: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    # carried at issue, by kind (months as the source counts them)
    actual_months: Mapped[int] = mapped_column(Integer, default=0)
    deemed_months: Mapped[int] = mapped_column(Integer, default=0)
    back_paid_months: Mapped[int] = mapped_column(Integer, default=0)
    unpaid_months: Mapped[int] = mapped_column(Integer, default=0)  # assessed, not paid: not carried
    balance_at_issue_fen: Mapped[Fen] = mapped_column(default=0)
    # a case received earlier into from_region whose recognised periods this one carries on
    carries_case_id: Mapped[int | None] = mapped_column(ForeignKey("transfer_case.id"))
    # set on receipt
    to_enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment.id"))
    category: Mapped[str | None] = mapped_column(String(16))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"))
    start_month: Mapped[int | None] = mapped_column(Integer)
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    gap_months: Mapped[int | None] = mapped_column(Integer)
    local_months: Mapped[int | None] = mapped_column(Integer)
    transferred_months: Mapped[int | None] = mapped_column(Integer)
    recognised_months: Mapped[int | None] = mapped_column(Integer)
    recognised_actual_months: Mapped[int | None] = mapped_column(Integer)
    recognised_deemed_months: Mapped[int | None] = mapped_column(Integer)
    recognised_back_paid_months: Mapped[int | None] = mapped_column(Integer)
    backpay_months: Mapped[int | None] = mapped_column(Integer)
    monthly_due_fen: Mapped[int | None] = mapped_column(BigInteger)
    backpay_due_fen: Mapped[int | None] = mapped_column(BigInteger)
    balance_moved_fen: Mapped[int | None] = mapped_column(BigInteger)
    waiting_months: Mapped[int | None] = mapped_column(Integer)
    benefit_start_month: Mapped[int | None] = mapped_column(Integer)  # YYYYMM
    full_benefit_month: Mapped[int | None] = mapped_column(Integer)  # YYYYMM
    ledger_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    explanation: Mapped[str | None] = mapped_column(Text)  # JSON: transfer + eligibility, zh/en
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TransferPeriod(Base):
    """One period a transfer case carries: months of one kind in one region, and what the
    receiving region recognised of it (``local``: paid in the receiving region itself)."""

    __tablename__ = "transfer_period"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("transfer_case.id"))
    seq: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(6))
    from_month: Mapped[int] = mapped_column(Integer)
    to_month: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    # where the months come from: contribution_month rows, a contribution_period (history), or the
    # recognised periods of an earlier transfer case
    origin: Mapped[str] = mapped_column(String(20))
    history_id: Mapped[int | None] = mapped_column(ForeignKey("contribution_period.id"), index=True)
    local: Mapped[bool | None] = mapped_column(Boolean)
    recognised_months: Mapped[int | None] = mapped_column(Integer)


class ShortfallPayment(Base):
    """A one-off payment assessed for the months short of the minimum at retirement (DOMAIN §6).

    Ledger: assessed DR person_receivable / CR contribution_deferred; paid DR cash / CR
    person_receivable and DR contribution_deferred / CR pooled_fund. Once paid its months count as
    actual months paid in the region. One due payment per person at a time.
    """

    __tablename__ = "shortfall_payment"
    __table_args__ = (
        Index("uq_shortfall_payment_due_person", "person_id", unique=True,
              postgresql_where=SHORTFALL_DUE, sqlite_where=SHORTFALL_DUE),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[Fen]
    status: Mapped[str] = mapped_column(String(16), default="due")  # due | paid
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(64))
    explanation: Mapped[str | None] = mapped_column(Text)  # JSON
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LumpSumPlan(Base):
    """A bankrupt or hardship enterprise's lump sum for its retirees (seed 003, Jinan 2005: a
    one-off 3万 yuan per retiree from bankrupt, closed, split or restructured units; difficult units
    allowed to pay in yearly instalments). ``amount_per_retiree_fen`` is the bureau's figure."""

    __tablename__ = "lump_sum_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    amount_per_retiree_fen: Mapped[Fen]
    retirees: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[Fen]
    schedule: Mapped[str] = mapped_column(String(8))  # yearly | monthly
    instalment_count: Mapped[int] = mapped_column(Integer)
    first_due: Mapped[dt.date] = mapped_column(Date)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    document: Mapped[str] = mapped_column(String(256))  # the bureau's decision
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | paid
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LumpSumInstalment(Base):
    """One instalment of a plan; the amounts of a plan sum exactly to its total (the last one
    absorbs the remainder of the division)."""

    __tablename__ = "lump_sum_instalment"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("lump_sum_plan.id"))
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[Fen]
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="due")  # due | partial | paid
    paid_on: Mapped[dt.date | None] = mapped_column(Date)


class LumpSumPayment(Base):
    """Money a plan's employer paid; allocated to the oldest open instalments."""

    __tablename__ = "lump_sum_payment"
    __table_args__ = (UniqueConstraint("plan_id", "reference"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("lump_sum_plan.id"))
    amount_fen: Mapped[Fen]
    paid_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(64))
    allocation: Mapped[str] = mapped_column(Text)  # JSON {instalment seq: fen}
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LumpSumPlanMember(Base):
    """A retiree covered by a plan, enrolled separately from the unit (seed 003)."""

    __tablename__ = "lump_sum_plan_member"
    __table_args__ = (UniqueConstraint("plan_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("lump_sum_plan.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"))
