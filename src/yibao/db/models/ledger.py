"""The double-entry ledger (the truth of every fen): accounts, transfers, entries.

Shaped after TigerBeetle's accounts and transfers: a transfer (one money event, with an
idempotency key) holds balanced entries; entries are never updated or deleted (a correction is a
new transfer, a reversal names the transfer it reverses). There is no balance column anywhere:
a balance is the sum of an account's entries up to a date (:mod:`yibao.admin.ledger`).
``amount_fen`` is signed: debit positive, credit negative, so every transfer sums to zero.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Fen, RegionCode, utcnow


class LedgerAccount(Base):
    """An account of one region: a fund, cash, a receivable, or one person's individual account.

    ``code`` is ``<region>/<kind>`` or ``<region>/<kind>/<owner id>``. ``normal`` is the side its
    balance is kept on (debit for assets, credit for funds and liabilities); ``non_negative``
    accounts (individual accounts) can never be overdrawn: posting checks it under a row lock.
    """

    __tablename__ = "ledger_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    kind: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    normal: Mapped[str] = mapped_column(String(6))  # debit | credit
    non_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LedgerTransfer(Base):
    """One money event. ``idempotency_key`` is unique: posting the same event twice is one post."""

    __tablename__ = "ledger_transfer"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    value_date: Mapped[dt.date] = mapped_column(Date, index=True)
    reference: Mapped[str | None] = mapped_column(String(64), index=True)  # e.g. claim:12
    memo: Mapped[str | None] = mapped_column(String(256))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """One side of a transfer: ``amount_fen`` > 0 debits the account, < 0 credits it."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_entry_account_date", "account_id", "value_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    amount_fen: Mapped[Fen]
    value_date: Mapped[dt.date] = mapped_column(Date)  # the transfer's, kept here for statements
