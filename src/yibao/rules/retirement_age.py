"""Statutory retirement age (法定退休年龄), including the gradual rise from 2025.

Rule (全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定, adopted 2024-09-13, and
its 办法 art. 1; text reprinted at http://www.gzjdyjgxx.com/hy_news/2erql/js/neilianwfdup.html and
https://pic.shebao.southmoney.com/dongtai/202503/854638_2.html): from 2025-01-01 the statutory
retirement age of men (60) and of women whose original age was 55 rises by one month every four
months, to 63 and 58; that of women whose original age was 50 rises by one month every two
months, to 55. A person whose original retirement month falls before January 2025 is not
affected. As a formula on month indices (``year × 12 + month − 1``)::

    original = birth + original_age × 12
    delay    = 0                                          if original < 2025-01
             = min(cap, (original − 2025-01) // step + 1)  otherwise
    step, cap = 4, 36 (men; women 55) — 2, 60 (women 50)

Check against the decision's tables: men born Jan–Apr 1965 retire at 60 years 1 month, May–Aug
1965 at 60 years 2 months, from September 1976 at 63; women (50) born from November 1984 at 55.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError

__all__ = ["ORIGINAL_AGES", "REFORM_START", "statutory_retirement_month"]

#: Original statutory ages in years: men 60; women 50 (workers) or 55 (cadres, 干部).
ORIGINAL_AGES: Final = (50, 55, 60)
#: The month the gradual rise starts: 2025-01 as a month index.
REFORM_START: Final = 2025 * 12
_STEP: Final = {50: 2, 55: 4, 60: 4}
_CAP: Final = {50: 60, 55: 36, 60: 36}

I64 = npt.NDArray[np.int64]


def statutory_retirement_month(birth_month: npt.ArrayLike, original_age: npt.ArrayLike,
                               reform: bool = True) -> I64:
    """The month index (``year × 12 + month − 1``) at which each person reaches retirement age.

    ``birth_month`` is a month index; ``original_age`` is 50, 55 or 60 (the age before 2025:
    men 60, women 50 or 55). ``reform=False`` gives the ages before the 2024 decision, for
    comparison."""
    birth = np.asarray(birth_month, dtype=np.int64)
    orig = np.asarray(original_age, dtype=np.int64)
    bad = ~np.isin(orig, ORIGINAL_AGES)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"original_age[{i}]", int(orig.flat[i]), "应为 50、55 或 60",
                         "must be 50, 55 or 60")
    original = birth + orig * 12
    if not reform:
        return original
    step = np.where(orig == 50, _STEP[50], _STEP[60])
    cap = np.where(orig == 50, _CAP[50], _CAP[60])
    delay = np.where(original < REFORM_START, 0,
                     np.minimum(cap, (original - REFORM_START) // step + 1))
    out: I64 = original + delay
    return out
