"""Validate and normalise millions of person ID numbers at once, for the matching feeds.

:func:`validate_ids` gives, for each row, the canonical number (or None) and an
:class:`~yibao.ids.person.IdReason` code (int8), with exactly the rules and the order of checks
of :func:`~yibao.ids.person.parse_person_id` (a property test holds the two together).

How it is fast: rows that are already 18 or 15 ASCII digits (a final ``X``/``x`` allowed) — nearly
all rows of a real feed — are joined into one byte string and viewed as a ``(rows, width)`` uint8
matrix; province, date and MOD 11-2 checks are then a few numpy operations per column. Every other
row (blanks around it, full-width characters, a foreigner's 2017 number, garbage) goes through the
scalar parser one by one, so odd rows cost microseconds but are still judged by the same rules.
Rows are processed in chunks so memory stays bounded for tens of millions of rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from yibao.ids._text import cell_text, clean_identifier
from yibao.ids.person import (
    EARLIEST_BIRTH_DATE,
    MOD11_CHARS,
    MOD11_WEIGHTS,
    PROVINCE_CODES,
    REASON_TEXT,
    IdReason,
    PersonId,
    _examine,
)

__all__ = ["IdBatch", "reason_text", "validate_ids"]

U8 = npt.NDArray[np.uint8]
I8 = npt.NDArray[np.int8]
Mask = npt.NDArray[np.bool_]

_NOT_DIGIT = np.uint8(255)
# byte → digit value; 'X'/'x' → 10 (the MOD 11-2 value of X); anything else → 255.
_VALUE = np.full(256, _NOT_DIGIT, dtype=np.uint8)
_VALUE[ord("0") : ord("9") + 1] = np.arange(10, dtype=np.uint8)
_VALUE[ord("X")] = _VALUE[ord("x")] = 10
# value → canonical byte (10 → 'X')
_CHAR = np.frombuffer(b"0123456789X", dtype=np.uint8)
# remainder of the weighted sum → value of the check character ('1 0 X 9 8 …' as values)
_CHECK_VALUE = np.array([10 if c == "X" else int(c) for c in MOD11_CHARS], dtype=np.uint8)
_WEIGHTS = np.array(MOD11_WEIGHTS, dtype=np.float32)
_PROVINCE = np.zeros(100, dtype=np.bool_)
_PROVINCE[sorted(PROVINCE_CODES)] = True
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
_CHUNK_ROWS = 1 << 18


class IdBatch(NamedTuple):
    """Per-row result: canonical number or None, and the :class:`IdReason` code (0 = valid)."""

    normalised: list[str | None]
    reason: I8


def reason_text(code: int, lang: str = "zh") -> str:
    """The short text of one reason code, in Chinese (``zh``) or English (``en``)."""
    zh, en = REASON_TEXT[IdReason(code)]
    return en if lang == "en" else zh


def _number(cols: U8, start: int, width: int) -> npt.NDArray[np.int32]:
    out = np.zeros(cols.shape[0], dtype=np.int32)
    for j in range(start, start + width):
        out = out * 10 + cols[:, j]
    return out


def _check_body(body: U8, province: npt.NDArray[np.int32], today: dt.date | None) -> list[Mask]:
    """Province, date and the three date bounds for 17-digit bodies; masks in check order."""
    year, month, day = _number(body, 6, 4), _number(body, 10, 2), _number(body, 12, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + (leap & (month == 2))
    real = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)
    ymd = year * 10000 + month * 100 + day
    earliest = EARLIEST_BIRTH_DATE.year * 10000 + EARLIEST_BIRTH_DATE.month * 100 + EARLIEST_BIRTH_DATE.day
    future = np.zeros(body.shape[0], dtype=np.bool_)
    if today is not None:
        future = ymd > today.year * 10000 + today.month * 100 + today.day
    return [~_PROVINCE[province], ~real, ymd < earliest, future]


def _check_value(body: U8) -> U8:
    # float32 matrix-vector product: exact (the sum is at most 9 × 96) and BLAS-fast.
    total = (body.astype(np.float32) @ _WEIGHTS).astype(np.int32)
    return _CHECK_VALUE[total % 11]


def _reasons(failures: list[Mask]) -> I8:
    codes = [IdReason.unknown_province, IdReason.impossible_date, IdReason.born_before_1900,
             IdReason.born_in_future, IdReason.bad_checksum][: len(failures)]
    return np.select(failures, [np.int8(c) for c in codes], np.int8(0)).astype(np.int8)


def _check18(val: U8, today: dt.date | None) -> tuple[I8, U8]:
    body = val[:, :17]
    foreign = body[:, 0] == 9  # 2023 foreign permanent residence ID: province in digits 2-3
    province = np.where(foreign, body[:, 1] * 10 + body[:, 2], body[:, 0] * 10 + body[:, 1]).astype(np.int32)
    failures = _check_body(body, province, today)
    failures.append(_check_value(body) != val[:, 17])
    return _reasons(failures), _CHAR[val]


def _check15(val: U8, today: dt.date | None) -> tuple[I8, U8]:
    body = np.empty((val.shape[0], 17), dtype=np.uint8)
    body[:, :6] = val[:, :6]
    body[:, 6], body[:, 7] = 1, 9  # legacy numbers are all born in the 1900s
    body[:, 8:] = val[:, 6:]
    province = (body[:, 0] * 10 + body[:, 1]).astype(np.int32)
    canon = np.empty((val.shape[0], 18), dtype=np.uint8)
    canon[:, :17] = _CHAR[body]
    canon[:, 17] = _CHAR[_check_value(body)]
    return _reasons(_check_body(body, province, today)), canon


def _fast_rows(
    texts: list[str], lens: npt.NDArray[np.intp], width: int, today: dt.date | None
) -> tuple[npt.NDArray[np.intp], I8, U8]:
    """Rows of `width` ASCII digits (+X): their indices, reason codes and canonical bytes."""
    idx = np.flatnonzero(lens == width)
    group = [texts[i] for i in idx.tolist()]
    joined = "".join(group)
    if not joined.isascii():
        ascii_rows = np.fromiter(map(str.isascii, group), dtype=np.bool_, count=len(group))
        idx = idx[ascii_rows]
        joined = "".join(t for t, a in zip(group, ascii_rows.tolist(), strict=True) if a)
    val = _VALUE[np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, width)]
    highest = np.full(width, 9, dtype=np.uint8)
    if width == 18:
        highest[17] = 10  # a final X
    plain = np.asarray((val <= highest).all(axis=1), dtype=np.bool_)
    idx, val = idx[plain], val[plain]
    codes, canon = _check18(val, today) if width == 18 else _check15(val, today)
    return idx, codes, canon


def _chunk(cells: list[object], today: dt.date | None) -> tuple[list[str | None], I8]:
    texts = [c if c.__class__ is str else cell_text(c) for c in cells]
    n = len(texts)
    lens = np.fromiter(map(len, texts), dtype=np.intp, count=n)
    reason = np.zeros(n, dtype=np.int8)
    out = np.full(n, None, dtype=object)
    pending = np.ones(n, dtype=np.bool_)
    for width in (18, 15):
        idx, codes, canon = _fast_rows(texts, lens, width, today)
        reason[idx] = codes
        pending[idx] = False
        good = codes == 0
        out[idx[good]] = np.frombuffer(canon[good].tobytes(), dtype="S18").astype("U18")
    for i in np.flatnonzero(pending).tolist():
        outcome = _examine(clean_identifier(texts[i]), today)
        if isinstance(outcome, PersonId):
            out[i] = outcome.number
        else:
            reason[i] = outcome.reason
    normalised: list[str | None] = out.tolist()
    return normalised, reason


def validate_ids(
    values: Sequence[object] | Iterable[object],
    *,
    today: dt.date | None = None,
    chunk_rows: int = _CHUNK_ROWS,
) -> IdBatch:
    """Validate a column of person ID numbers; ``(normalised, reason)`` per row.

    ``normalised[i]`` is the canonical number (a legacy 15-digit number as 18 digits) or None;
    ``reason[i]`` is the :class:`IdReason` (0 when valid; see :func:`reason_text`), the same as
    :func:`person_id_reason` of the cell: None, blank and NaN cells are ``empty``, an integer cell
    is read as its digits, any other non-text cell is ``bad_characters``. ``today`` bounds birth
    dates as in :func:`parse_person_id`.
    """
    normalised: list[str | None] = []
    parts: list[I8] = []
    cells = iter(values)
    while chunk := list(islice(cells, max(1, chunk_rows))):
        got, codes = _chunk(chunk, today)
        normalised.extend(got)
        parts.append(codes)
    reason = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int8)
    return IdBatch(normalised, reason)
