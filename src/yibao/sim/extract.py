"""A real membership extract as the lab's population (issue 7), instead of the synthetic sample.

**Layout** (one Parquet file, one row per member at the year's end; docs/lab.md):

============== ========= ==========================================================================
column         type      meaning
============== ========= ==========================================================================
status         string    ``unit_in_service`` | ``flexible_in_service`` |
                         ``new_form_in_service`` | ``unit_retired`` | ``flexible_retired``
sex            string    ``male`` | ``female``
birth_date     date      date of birth
original_age   int       statutory age before the 2025 rise: 60 (men), 50 or 55 (women)
wage_yuan      float     yearly wage (in service; 0 for retirees)
pension_yuan   float     yearly pension (retirees; 0 in service), optional, default 0
months_paid    int       months of contributions so far (in service), optional, default every
                         month since age 20
weight         float     persons the row stands for, optional, default 1
============== ========= ==========================================================================

``new_form_in_service`` marks new-form workers (新就业形态劳动者, as the register records them): the
lab counts them as flexible workers in service and charges them the region's new-form rule where
it has one (``contribution.new_form.*`` known, e.g. under the ``new_form_category`` reform), the
flexible rule where it has none (they enroll as flexible workers today, DOMAIN.md §1).

Every row is checked; the first bad value is a bilingual error naming the column, the row and
what is accepted, and nothing is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from yibao.errors import InputError
from yibao.rules.retirement_age import ORIGINAL_AGES
from yibao.sim.population import COLUMNS, NEW_FORM_STATUS, STATUSES

__all__ = ["REQUIRED", "load_extract"]

REQUIRED: Final = ("status", "sex", "birth_date", "original_age", "wage_yuan")


def _bad(column: str, row: int, value: object, zh: str, en: str) -> InputError:
    return InputError(f"{column}[{row}]", value, zh, en)


def load_extract(path: str | Path, year: int) -> pl.DataFrame:
    """The extract as a population frame (:data:`yibao.sim.population.COLUMNS`) at ``year``'s end."""
    p = Path(path)
    if not p.is_file():
        raise InputError("extract", str(p), "文件不存在", "no such file")
    try:
        df = pl.read_parquet(p)
    except Exception as e:  # polars raises several types for a file that is not Parquet
        raise InputError(
            "extract", str(p), "不是 Parquet 文件", f"not a Parquet file: {type(e).__name__}"
        ) from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            "extract",
            missing,
            f"缺少列，需要：{', '.join(REQUIRED)}",
            f"missing columns; required: {', '.join(REQUIRED)}",
        )
    n = df.height
    status_text = df["status"].cast(pl.String).to_list()
    codes = {s: i for i, s in enumerate(STATUSES)} | {NEW_FORM_STATUS: STATUSES.index("flexible_in_service")}
    for i, s in enumerate(status_text):
        if s not in codes:
            raise _bad("status", i, s, f"应为 {' | '.join(codes)}", f"must be one of {', '.join(codes)}")
    sex = df["sex"].cast(pl.String).to_list()
    for i, s in enumerate(sex):
        if s not in ("male", "female"):
            raise _bad("sex", i, s, "应为 male 或 female", "must be male or female")
    birth = df["birth_date"].cast(pl.Date, strict=False)
    if birth.null_count():
        i = int(np.argmax(birth.is_null().to_numpy()))
        raise _bad("birth_date", i, df["birth_date"][i], "应为日期", "must be a date")
    original = df["original_age"].to_numpy()
    for i in np.flatnonzero(~np.isin(original, ORIGINAL_AGES))[:1]:
        raise _bad("original_age", int(i), int(original[i]), "应为 50、55 或 60", "must be 50, 55 or 60")
    money = {}
    for col, default in (("wage_yuan", None), ("pension_yuan", 0.0), ("weight", 1.0)):
        values = df[col].cast(pl.Float64).to_numpy() if col in df.columns else np.full(n, default)
        bad = ~np.isfinite(values) | (values < 0) | ((values <= 0) if col == "weight" else False)
        if bad.any():
            i = int(np.argmax(bad))
            raise _bad(
                col,
                i,
                float(values[i]),
                "应为非负数（权重为正数）",
                "must be a non-negative number (a weight positive)",
            )
        money[col] = values
    status = np.array([codes[s] for s in status_text], dtype=np.int8)
    birth_month = (birth.dt.year().to_numpy() * 12 + birth.dt.month().to_numpy() - 1).astype(np.int32)
    age = (year - birth_month // 12).astype(np.int16)
    if (age < 0).any():
        i = int(np.argmax(age < 0))
        raise _bad("birth_date", i, str(birth[i]), f"不能晚于 {year} 年", f"must not be after {year}")
    if "months_paid" in df.columns:
        months = df["months_paid"].cast(pl.Int64).to_numpy()
        for i in np.flatnonzero(months < 0)[:1]:
            raise _bad("months_paid", int(i), int(months[i]), "不能为负", "must not be negative")
    else:
        months = np.maximum(age.astype(np.int64) - 20, 0) * 12
    months = np.where(status >= 2, 0, months)
    out = pl.DataFrame(
        {
            "status": status,
            "male": np.array(sex) == "male",
            "age": age,
            "birth_month": birth_month,
            "months_paid": months,
            "original_age": original.astype(np.int8),
            "wage_fen": np.round(money["wage_yuan"] * 100).astype(np.int64),
            "pension_fen": np.round(money["pension_yuan"] * 100).astype(np.int64),
            "weight": money["weight"],
            "new_form": np.array([s == NEW_FORM_STATUS for s in status_text], dtype=np.bool_),
        }
    )
    return out.select(COLUMNS)
