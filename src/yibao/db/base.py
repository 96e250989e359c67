"""Declarative base, naming convention and the column types every model shares.

Money is ``BigInteger`` fen (int64 covers ±9.2×10¹⁶ fen, far beyond any fund); months are ``int``
``YYYYMM`` (202403), readable in SQL and ordered like dates; :func:`month_index` converts to the
``year × 12 + month − 1`` index the rule calculators use (:func:`yibao.rules.eligibility.month_index`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sqlalchemy import BigInteger, DateTime, MetaData, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

from yibao.errors import InputError

__all__ = [
    "Base",
    "Fen",
    "RegionCode",
    "add_months",
    "as_utc",
    "month_index",
    "month_of",
    "parse_month",
    "utcnow",
    "ym",
    "ym_from_index",
]

# Stable constraint names, so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        dt.datetime: DateTime(timezone=True),
    }


Fen = Annotated[int, mapped_column(BigInteger)]
RegionCode = Annotated[str, mapped_column(String(6))]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(t: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime: SQLite gives timezone-aware columns back naive, and
    they were stored in UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def ym(year: int, month: int) -> int:
    """``2024, 3`` → ``202403``."""
    return year * 100 + month


def month_of(date: dt.date) -> int:
    """The ``YYYYMM`` month a date falls in."""
    return date.year * 100 + date.month


def first_day(yyyymm: int) -> dt.date:
    """``202403`` → 2024-03-01."""
    return dt.date(yyyymm // 100, yyyymm % 100, 1)


def month_index(yyyymm: int) -> int:
    """``202403`` → ``2024 × 12 + 2``, the index of :mod:`yibao.rules.eligibility`."""
    return (yyyymm // 100) * 12 + yyyymm % 100 - 1


def ym_from_index(index: int) -> int:
    return (index // 12) * 100 + index % 12 + 1


def add_months(yyyymm: int, n: int) -> int:
    return ym_from_index(month_index(yyyymm) + n)


def parse_month(value: object, field: str = "month") -> int:
    """Accept ``202403``, ``"2024-03"``, ``"2024/3"``, ``"2024年3月"``; return ``202403``."""
    text = str(value).strip().replace("年", "-").replace("月", "").replace("/", "-").replace(".", "-")
    year: int | None = None
    month: int | None = None
    try:
        if "-" in text:
            y, m = text.split("-")[:2]
            year, month = int(y), int(m)
        elif len(text) == 6 and text.isdecimal():
            year, month = int(text[:4]), int(text[4:])
    except ValueError:
        year = None
    if year is None or month is None or not (1 <= month <= 12) or not (1900 <= year <= 2200):
        raise InputError(field, value, "月份应写作 YYYYMM、YYYY-MM 或 YYYY年M月，如 202403",
                         "a month is YYYYMM, YYYY-MM or YYYY年M月, e.g. 202403")
    return ym(year, month)
