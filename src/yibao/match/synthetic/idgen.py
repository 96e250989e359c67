"""Distinct valid citizen ID numbers for millions of synthetic persons, as byte matrices.

Same layout and check as :func:`yibao.ids.synthetic_resident_ids` (GB 11643-1999: address code,
birth date, sequence whose parity gives the sex, MOD 11-2 check), but the sequence is chosen, not
drawn: persons sharing an address code, a birth date and a sex get consecutive sequence numbers
from a per-group offset, so the numbers are distinct by construction (drawing and redrawing
collisions cost 6 s per million). The result stays a ``(n, 18)`` uint8 matrix and becomes a
polars/Arrow string column without a Python string per row.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from yibao.ids.person import MOD11_CHARS, MOD11_WEIGHTS

__all__ = ["id_matrix", "id_strings", "matrix_strings", "unique_sequences"]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
_CHECK: Final = np.frombuffer(MOD11_CHARS.encode("ascii"), dtype=np.uint8)
_W: Final = np.array(MOD11_WEIGHTS, dtype=np.int64)


def _ymd(days: npt.NDArray[np.datetime64]) -> I64:
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    ymd: I64 = ((years.astype(np.int64) + 1970) * 10000 + ((months - years).astype(np.int64) + 1) * 100
                + (days - months).astype(np.int64) + 1)
    return ymd


def id_matrix(region_digits: U8, birth: npt.NDArray[np.datetime64], seq: I64) -> U8:
    """(n, 18) ASCII bytes: ``region_digits`` (n, 6) digit values, birth dates, sequences 0..999."""
    n = seq.size
    ymd = _ymd(np.asarray(birth, dtype="datetime64[D]"))
    digits = np.empty((n, 17), dtype=np.uint8)
    digits[:, :6] = region_digits
    for j in range(8):  # YYYYMMDD, most significant digit first
        digits[:, 6 + j] = ymd // 10 ** (7 - j) % 10
    digits[:, 14], digits[:, 15], digits[:, 16] = seq // 100, seq // 10 % 10, seq % 10
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :17] = digits + 48
    out[:, 17] = _CHECK[(digits.astype(np.int64) @ _W) % 11]
    return out


def unique_sequences(region_index: I64, birth: npt.NDArray[np.datetime64], male: npt.NDArray[np.bool_]
                     ) -> I64:
    """Sequence numbers (odd for men, even for women) distinct within each address code and date."""
    days = np.asarray(birth, dtype="datetime64[D]").astype(np.int64)
    group = (region_index.astype(np.int64) * 1_000_000 + (days + 200_000)) * 2 + male
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    first = np.r_[True, sorted_group[1:] != sorted_group[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(group.size), 0))
    rank = np.empty(group.size, dtype=np.int64)
    rank[order] = np.arange(group.size) - start
    if group.size and rank.max() >= 500:
        raise ValueError("more than 500 persons of one sex share an address code and a birth date")
    offset = (group * 2_654_435_761) % 500  # a fixed, spread start per group
    return 2 * ((rank + offset) % 500) + male


def matrix_strings(matrix: U8) -> pa.StringArray:
    """An Arrow string array over the rows of a fixed-width byte matrix (no copy per row)."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)))


def id_strings(codes: list[str], region_of_row: I64, birth: npt.NDArray[np.datetime64],
               male: npt.NDArray[np.bool_]) -> pl.Series:
    """Distinct valid IDs: row i has address code ``codes[region_of_row[i]]``."""
    digits = np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8).reshape(-1, 6) - 48
    seq = unique_sequences(region_of_row, birth, male)
    series = pl.from_arrow(matrix_strings(id_matrix(digits[region_of_row], birth, seq)))
    assert isinstance(series, pl.Series)
    return series.alias("id_number")
