"""Claims (结算) and benefit-year accumulators (待遇年度累计).

A :class:`Claim` stores a settlement as :func:`yibao.rules.settlement.settle_claims` computed it:
the inputs (``medfee_sumamt`` … in fen), every output column of
:data:`yibao.rules.settlement.OUT_COLUMNS`, the national platform's ``setlinfo`` / ``setldetail``
(yuan strings, :mod:`yibao.platform`), the explanation in Chinese and English, the change it
made to the person's accumulators (``acc_delta``, subtracted exactly on reversal) and the ledger
transfers that moved the money. Nothing is recomputed from it; a reversal never edits the amounts.

A :class:`BenefitAccumulator` is one person's counters for one benefit year in one region: the
columns are :data:`yibao.rules.settlement_kernel.ACC_COLUMNS` after ``year_key`` (checked by
the claims service). Settlement locks the row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers), so concurrent claims of one person see each other and the
annual ceiling (封顶线, DOMAIN §4.4) cannot be exceeded. ``version`` counts the updates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Fen, RegionCode, utcnow

__all__ = ["ACC_FIELDS", "CLAIM_STATUSES", "BenefitAccumulator", "Claim"]

CLAIM_STATUSES = ("settled", "reversed")


class Claim(Base):
    """One settled claim of a person in a region (inpatient or general outpatient)."""

    __tablename__ = "claim"
    __table_args__ = (
        Index("ix_claim_person_year", "person_id", "region_code", "year_key"),
        Index("ix_claim_region_date", "region_code", "service_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # the settlement's idempotency key (the ledger transfer's is "claim:<key>"); request_hash
    # tells a replay (same request) from a conflict (same key, another request)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"))
    kind: Mapped[str] = mapped_column(String(16))  # inpatient | outpatient
    med_type: Mapped[str] = mapped_column(String(4))  # platform code: 21 inpatient, 11 outpatient
    service_date: Mapped[dt.date] = mapped_column(Date)  # the date whose rules apply
    settle_date: Mapped[dt.date] = mapped_column(Date)  # value date of the ledger transfer
    year_key: Mapped[int] = mapped_column(Integer)  # benefit-year start as yyyymmdd
    benefit_class: Mapped[str] = mapped_column(String(16))
    hospital_level: Mapped[str] = mapped_column(String(16))
    remote: Mapped[str] = mapped_column(String(16))  # local | registered | unregistered
    share_bp: Mapped[int] = mapped_column(Integer)  # benefit share from eligibility, 10000 = full
    eligibility_reason: Mapped[str] = mapped_column(String(32))
    # inputs (fen)
    medfee_sumamt: Mapped[Fen]
    fulamt_ownpay_amt: Mapped[Fen]
    overlmt_selfpay: Mapped[Fen]
    preselfpay_amt: Mapped[Fen]
    account_balance_before: Mapped[Fen]
    mulaid_balance_before: Mapped[Fen]
    # outputs (fen; pool_ratio_bp in basis points) — OUT_COLUMNS of yibao.rules.settlement
    inscp_scp_amt: Mapped[Fen]
    act_pay_dedc: Mapped[Fen]
    coinsurance: Mapped[Fen]
    over_ceiling: Mapped[Fen]
    hifp_pay: Mapped[Fen]
    hifob_pay: Mapped[Fen]
    acct_pay: Mapped[Fen]
    acct_mulaid_pay: Mapped[Fen]
    psn_cash_pay: Mapped[Fen]
    oop_cap_pay: Mapped[Fen]
    pool_ratio_bp: Mapped[int] = mapped_column(Integer)
    fund_pay_sumamt: Mapped[Fen]
    psn_part_amt: Mapped[Fen]
    balc: Mapped[Fen]
    mulaid_holder_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    acc_delta: Mapped[dict[str, Any]] = mapped_column(JSON)  # ACC_FIELDS → change (counts, fen)
    setlinfo: Mapped[dict[str, Any]] = mapped_column(JSON)
    setldetail: Mapped[list[Any]] = mapped_column(JSON)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)  # settlement + eligibility, zh and en
    status: Mapped[str] = mapped_column(String(16), default="settled")
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    reversal_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    reversal_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    reversed_on: Mapped[dt.date | None] = mapped_column(Date)
    # the provider's own identifiers (定点医药机构编号, 就诊 ID, 机构结算 ID)
    medins_code: Mapped[str | None] = mapped_column(String(32))
    mdtrt_id: Mapped[str | None] = mapped_column(String(64))
    medins_setl_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reversed_at: Mapped[dt.datetime | None] = mapped_column()


class BenefitAccumulator(Base):
    """A person's benefit-year counters in a region (ACC_COLUMNS of the settlement kernel)."""

    __tablename__ = "benefit_accumulator"
    __table_args__ = (UniqueConstraint("person_id", "region_code", "year_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    year_key: Mapped[int] = mapped_column(Integer)
    inpatient_admissions: Mapped[int] = mapped_column(BigInteger, default=0)
    outpatient_visits: Mapped[int] = mapped_column(BigInteger, default=0)
    inpatient_deductible_used: Mapped[Fen] = mapped_column(default=0)
    outpatient_deductible_used: Mapped[Fen] = mapped_column(default=0)
    inpatient_inscp_cum: Mapped[Fen] = mapped_column(default=0)
    outpatient_inscp_cum: Mapped[Fen] = mapped_column(default=0)
    inpatient_hifp_cum: Mapped[Fen] = mapped_column(default=0)
    outpatient_hifp_cum: Mapped[Fen] = mapped_column(default=0)
    pool_inpatient_inscp_cum: Mapped[Fen] = mapped_column(default=0)
    pool_outpatient_inscp_cum: Mapped[Fen] = mapped_column(default=0)
    pool_inpatient_hifp_cum: Mapped[Fen] = mapped_column(default=0)
    pool_outpatient_hifp_cum: Mapped[Fen] = mapped_column(default=0)
    large_inpatient_cost_cum: Mapped[Fen] = mapped_column(default=0)
    large_outpatient_cost_cum: Mapped[Fen] = mapped_column(default=0)
    large_inpatient_paid_cum: Mapped[Fen] = mapped_column(default=0)
    large_outpatient_paid_cum: Mapped[Fen] = mapped_column(default=0)
    personal_burden_cum: Mapped[Fen] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


ACC_FIELDS: tuple[str, ...] = (
    "inpatient_admissions", "outpatient_visits", "inpatient_deductible_used",
    "outpatient_deductible_used", "inpatient_inscp_cum", "outpatient_inscp_cum",
    "inpatient_hifp_cum", "outpatient_hifp_cum", "pool_inpatient_inscp_cum",
    "pool_outpatient_inscp_cum", "pool_inpatient_hifp_cum", "pool_outpatient_hifp_cum",
    "large_inpatient_cost_cum", "large_outpatient_cost_cum", "large_inpatient_paid_cum",
    "large_outpatient_paid_cum", "personal_burden_cum",
)
"""The counter columns, in the kernel's order: ``ACC_COLUMNS[1:]`` of
:mod:`yibao.rules.settlement_kernel` (``year_key`` is the row's key). Written out so that the
schema does not import numba; the claims service checks the two agree."""

# A claim's explanation is 5–8 KB of JSON, above PostgreSQL's TOAST threshold, so every insert
# compresses it; lz4 costs 0.29 ms a row where the default pglz costs 0.49 ms (measured, 2,000
# demo explanations). Migration 0002 sets the same on upgraded databases.
LZ4_EXPLANATION = DDL("ALTER TABLE claim ALTER COLUMN explanation SET COMPRESSION lz4")  # type: ignore[no-untyped-call]
event.listen(Claim.__table__, "after_create", LZ4_EXPLANATION.execute_if(dialect="postgresql"))
