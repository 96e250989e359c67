"""Synthetic, valid citizen ID numbers for tests, demo data and the synthetic population.

A synthetic number follows GB 11643-1999 exactly — the given address code, the birth date, a
sequence whose parity gives the sex, the MOD 11-2 check — so every validator accepts it. The
sequence is drawn from the explicit ``rng``, so a seeded generator gives the same numbers on every
run (determinism: STYLE.md habit 14). Nothing here is anybody's real number except by chance.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError
from yibao.ids.person import EARLIEST_BIRTH_DATE, MOD11_CHARS, MOD11_WEIGHTS, PROVINCE_CODES, Sex

__all__ = ["synthetic_resident_id", "synthetic_resident_ids"]

_CHECK = np.frombuffer(MOD11_CHARS.encode("ascii"), dtype=np.uint8)
_W = np.array(MOD11_WEIGHTS, dtype=np.int64)


def _region(region_code: str) -> str:
    if len(region_code) == 6 and region_code.isascii() and region_code.isdigit() \
            and int(region_code[:2]) in PROVINCE_CODES:
        return region_code
    raise InputError("region_code", region_code, "应为 6 位行政区划代码，前两位为省级代码，如 110101",
                     "expected a 6-digit division code starting with a province code, e.g. 110101")


def _sex(sex: str) -> int:
    if sex not in ("male", "female"):
        raise InputError("sex", sex, "应为 male 或 female", "expected male or female")
    return 1 if sex == "male" else 0


def _birth(birth_date: dt.date) -> dt.date:
    if not isinstance(birth_date, dt.date) or birth_date < EARLIEST_BIRTH_DATE or birth_date.year > 9999:
        raise InputError("birth_date", birth_date, "应为 1900-01-01 及以后的日期",
                         "expected a date on or after 1900-01-01")
    return birth_date


def synthetic_resident_id(
    rng: np.random.Generator | random.Random, birth_date: dt.date, sex: Sex, region_code: str = "110101"
) -> str:
    """One valid 18-digit citizen ID number for the given birth date, sex and address code.

    >>> n = synthetic_resident_id(random.Random(1), dt.date(1990, 5, 17), "female")
    >>> n[:14], int(n[16]) % 2
    ('11010119900517', 0)
    """
    region, parity, born = _region(region_code), _sex(sex), _birth(birth_date)
    half = int(rng.integers(0, 500)) if isinstance(rng, np.random.Generator) else rng.randrange(500)
    body = f"{region}{born:%Y%m%d}{2 * half + parity:03d}"
    return body + MOD11_CHARS[sum(int(c) * w for c, w in zip(body, MOD11_WEIGHTS, strict=True)) % 11]


def synthetic_resident_ids(
    rng: np.random.Generator,
    birth_dates: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
    region_codes: Sequence[str] | str = "110101",
) -> list[str]:
    """Many valid ID numbers at once (vectorised), e.g. for a synthetic population of millions.

    ``birth_dates`` is a ``datetime64[D]`` array, ``male`` a bool array of the same length, and
    ``region_codes`` one code for all rows or one per row.
    """
    days = np.asarray(birth_dates, dtype="datetime64[D]")
    n = days.shape[0]
    male_arr = np.asarray(male, dtype=np.bool_)
    if male_arr.shape != (n,):
        raise InputError("male", male_arr.shape, f"应为长度 {n} 的布尔数组",
                         f"expected a bool array of length {n}")
    if n and days.min() < np.datetime64(EARLIEST_BIRTH_DATE, "D"):
        raise InputError("birth_dates", str(days.min()), "出生日期应在 1900-01-01 及以后",
                         "birth dates must be on or after 1900-01-01")
    if isinstance(region_codes, str):
        region = np.frombuffer(_region(region_codes).encode("ascii"), dtype=np.uint8).astype(np.int64)
        regions = np.broadcast_to(region - 48, (n, 6))
    else:
        codes = list(region_codes)
        if len(codes) != n:
            raise InputError("region_codes", len(codes), f"应为 1 个或 {n} 个代码",
                             f"expected 1 or {n} codes")
        joined = "".join(_region(r) for r in codes).encode("ascii")
        regions = np.frombuffer(joined, dtype=np.uint8).astype(np.int64).reshape(n, 6) - 48
    years, months = days.astype("datetime64[Y]"), days.astype("datetime64[M]")
    ymd = ((years.astype(np.int64) + 1970) * 10000 + (months - years).astype(np.int64) * 100 + 100
           + (days - months).astype(np.int64) + 1)
    seq = 2 * rng.integers(0, 500, size=n) + male_arr
    digits = np.empty((n, 18), dtype=np.uint8)
    digits[:, :6] = regions
    for j in range(8):  # YYYYMMDD, most significant digit first
        digits[:, 6 + j] = ymd // 10 ** (7 - j) % 10
    digits[:, 14], digits[:, 15], digits[:, 16] = seq // 100, seq // 10 % 10, seq % 10
    chars = digits + 48
    chars[:, 17] = _CHECK[(digits[:, :17].astype(np.int64) @ _W) % 11]
    text = chars.tobytes().decode("ascii")
    return [text[i : i + 18] for i in range(0, 18 * n, 18)]
