"""The columns every worklist row carries, their bilingual headers, and small polars helpers.

A worklist row says who (the person, masked on export, and/or the employer), why (``reason_*``),
on what evidence (``evidence_*`` in words, ``evidence`` as JSON naming the feed rows and register
rows, months and amounts, so that a staff member can check it without rerunning), what to do
(``suggested_action_*``), how urgent (``priority``: 1 first) and how sure the link is (``link_method``,
``match_probability``, ``identity_check``). Money is integer fen; the workbook shows yuan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import polars as pl

__all__ = [
    "COLUMNS",
    "COMMON",
    "Column",
    "finish",
    "identity_check",
    "month_text",
    "with_person",
    "yuan_text",
]

Kind = Literal["text", "int", "money", "month", "date", "prob", "id", "name", "bool", "json"]


@dataclass(frozen=True)
class Column:
    """A worklist column: polars type, Chinese and English header, how it is shown, width in Excel."""

    dtype: pl.DataType | type[pl.DataType]
    zh: str
    en: str
    kind: Kind = "text"
    width: int = 14


#: Columns of every worklist, in order.
COMMON: Final[dict[str, Column]] = {
    "worklist": Column(pl.String, "清单", "worklist", width=22),
    "subtype": Column(pl.String, "类型", "subtype", width=18),
    "priority": Column(pl.Int8, "优先级", "priority", "int", 8),
    "person_id": Column(pl.Int64, "人员编号", "person ID", "int", 11),
    "id_number": Column(pl.String, "公民身份号码", "ID number", "id", 21),
    "name": Column(pl.String, "姓名", "name", "name", 10),
    "employer_id": Column(pl.Int64, "单位编号", "employer ID", "int", 11),
    "employer_uscc": Column(pl.String, "统一社会信用代码", "employer USCC", width=21),
    "employer_name": Column(pl.String, "单位名称", "employer name", width=28),
    "month": Column(pl.Int32, "所属月份", "month", "month", 10),
    "amount_fen": Column(pl.Int64, "金额（元）", "amount (yuan)", "money", 13),
    "reason_zh": Column(pl.String, "原因", "reason (zh)", width=30),
    "reason_en": Column(pl.String, "原因（英文）", "reason", width=30),
    "evidence_zh": Column(pl.String, "证据", "evidence (zh)", width=60),
    "evidence_en": Column(pl.String, "证据（英文）", "evidence", width=60),
    "suggested_action_zh": Column(pl.String, "建议措施", "suggested action (zh)", width=40),
    "suggested_action_en": Column(pl.String, "建议措施（英文）", "suggested action", width=40),
    "feed": Column(pl.String, "数据来源", "feed", width=20),
    "source_row": Column(pl.Int64, "来源行号", "feed row", "int", 9),
    "link_method": Column(pl.String, "匹配方法", "match method", width=16),
    "match_probability": Column(pl.Float64, "匹配概率", "match probability", "prob", 10),
    "identity_check": Column(pl.Boolean, "身份待核实", "check identity", "bool", 10),
    "subject": Column(pl.String, "对象键", "subject key", width=14),
    "evidence": Column(pl.String, "证据（机读）", "evidence (JSON)", "json", 40),
}

#: Every column a worklist may carry (common and specific), for headers and formats.
COLUMNS: Final[dict[str, Column]] = dict(COMMON) | {
    "months": Column(pl.String, "涉及月份", "months", width=22),
    "wage_fen": Column(pl.Int64, "个税工资（元）", "taxed wage (yuan)", "money", 14),
    "declared_wage_fen": Column(pl.Int64, "申报工资（元）", "declared wage (yuan)", "money", 14),
    "base_declared_fen": Column(pl.Int64, "申报缴费基数（元）", "declared base (yuan)", "money", 15),
    "base_taxed_fen": Column(pl.Int64, "应核缴费基数（元）", "base on taxed wage (yuan)", "money", 15),
    "total_declared_fen": Column(pl.Int64, "已核定缴费（元）", "assessed on declared (yuan)", "money", 15),
    "total_taxed_fen": Column(pl.Int64, "应核定缴费（元）", "due on taxed wage (yuan)", "money", 15),
    "employer_gap_fen": Column(pl.Int64, "单位少缴（元）", "employer gap (yuan)", "money", 13),
    "individual_gap_fen": Column(pl.Int64, "个人少缴（元）", "individual gap (yuan)", "money", 13),
    "gap_fen": Column(pl.Int64, "少缴合计（元）", "contribution gap (yuan)", "money", 13),
    "taxed_count": Column(pl.Int64, "个税申报人数", "taxed employees", "int", 11),
    "insured_count": Column(pl.Int64, "参保人数", "insured employees", "int", 10),
    "missing_count": Column(pl.Int64, "差额人数", "difference", "int", 10),
    "death_date": Column(pl.Date, "死亡日期", "date of death", "date", 12),
    "death_source": Column(pl.String, "死亡信息来源", "death known from", width=16),
    "enrollment_ids": Column(pl.String, "参保记录号", "enrollment IDs", width=16),
    "months_after_death": Column(pl.Int64, "死亡后月数", "months after death", "int", 10),
    "assessed_after_death_fen": Column(
        pl.Int64, "死亡后核定（元）", "assessed after death (yuan)", "money", 15
    ),
    "paid_after_death_fen": Column(pl.Int64, "死亡后已缴（元）", "paid after death (yuan)", "money", 15),
    "other_region": Column(pl.String, "外地参保地", "other region", width=12),
    "other_insurance": Column(pl.String, "外地险种", "other scheme", width=20),
    "other_since": Column(pl.Date, "外地参保日期", "insured there since", "date", 12),
    "home_schemes": Column(pl.String, "本地参保", "home enrollments", width=24),
    "birth_date": Column(pl.Date, "出生日期", "birth date", "date", 12),
    "days_since_birth": Column(pl.Int64, "出生天数", "days since birth", "int", 9),
    "category": Column(pl.String, "人员类别", "category", width=12),
    "enrollment_status": Column(pl.String, "参保状态", "enrollment status", width=12),
    "last_paid_month": Column(pl.Int32, "最后缴费月", "last month paid", "month", 11),
    "unpaid_months": Column(pl.Int64, "未缴月数", "months unpaid", "int", 9),
    "backpay_months_left": Column(pl.Int64, "可补缴剩余月数", "back-payable months left", "int", 11),
    "arrears_fen": Column(pl.Int64, "欠缴金额（元）", "arrears (yuan)", "money", 13),
}


def yuan_text(fen: pl.Expr) -> pl.Expr:
    """``12345`` fen → ``"123.45"`` (integer arithmetic, no float)."""
    return pl.format("{}.{}", fen // 100, (fen % 100).cast(pl.String).str.zfill(2))


def month_text(yyyymm: pl.Expr) -> pl.Expr:
    """``202412`` → ``"2024-12"``."""
    return pl.format("{}-{}", yyyymm // 100, (yyyymm % 100).cast(pl.String).str.zfill(2))


def identity_check(below: float) -> pl.Expr:
    """A row to check the identity of first: a probabilistic link below ``below``, or a feed row
    linked to nobody that has no usable ID (the person may be in the register after all)."""
    method = pl.col("link_method")
    weak = (method == "probabilistic") & (pl.col("match_probability").fill_null(0.0) < below)
    lost = (method == "none") & pl.col("id_number").is_null()
    return (weak | lost).fill_null(False).alias("identity_check")


def with_person(frame: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """Register ID number and name where the row is linked (the register is the reference),
    the feed's own where it is not."""
    reg = persons.select("person_id", pl.col("id_number").alias("_rid"), pl.col("name").alias("_rname"))
    cols = frame.columns
    out = frame.join(reg, on="person_id", how="left")
    fill = []
    fill.append(
        pl.coalesce("_rid", "id_number").alias("id_number")
        if "id_number" in cols
        else pl.col("_rid").alias("id_number")
    )
    fill.append(
        pl.coalesce("_rname", "name").alias("name") if "name" in cols else pl.col("_rname").alias("name")
    )
    return out.with_columns(fill).drop("_rid", "_rname")


def finish(frame: pl.DataFrame, code: str, extra: tuple[str, ...]) -> pl.DataFrame:
    """The worklist's rows in the common column order, then its own columns, typed."""
    out = frame.with_columns(pl.lit(code).alias("worklist"))
    names = [*COMMON, *extra]
    cols = [(pl.col(c) if c in out.columns else pl.lit(None)).cast(COLUMNS[c].dtype).alias(c) for c in names]
    return out.select(cols).sort("priority", "subject", "month", nulls_last=True)
