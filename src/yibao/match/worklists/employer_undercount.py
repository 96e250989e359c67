"""Employer with more taxed employees than insured ones: 单位个税申报人数多于参保人数.

For each employer (unified social credit code) and tax month M ≤ the as-of month: ``taxed`` is the
number of distinct persons in the tax feed (by subject: linked person, else linkage cluster, else
ID number, else the row), ``insured`` the number of distinct persons with an in-service
(unit-employee) enrollment at that employer in the region covering M. A unit is listed when
taxed > insured (a unit the register does not know has ``insured`` 0: subtype ``not_registered``).
The count needs no person linkage beyond de-duplication, so it holds even where linkage is weak.
Employee insurance is compulsory for a unit's employees (国发〔1998〕44号; DOMAIN.md §1).
"""

from __future__ import annotations

import polars as pl

from yibao.match.worklists.base import Context, Worklist, covers
from yibao.match.worklists.common import finish, month_text

__all__ = ["WORKLIST", "build"]

CODE = "employer_undercount"
EXTRA = ("taxed_count", "insured_count", "missing_count")


def build(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    tax = inputs.feed("tax_wages")
    assert tax is not None
    tax = tax.filter((pl.col("month") <= inputs.as_of_month) & pl.col("employer_uscc").is_not_null())
    taxed = tax.group_by("employer_uscc", "month").agg(
        pl.col("subject").n_unique().alias("taxed_count"),
        pl.col("employer_name").drop_nulls().first(),
        pl.col("feed").first(),
        pl.col("source_row").min().alias("_first_row"),
        pl.col("source_row").max().alias("_last_row"),
    )
    employers = inputs.employers.select(
        "employer_id", pl.col("uscc").alias("employer_uscc"), pl.col("name").alias("_reg_name")
    )
    months = taxed.select("employer_uscc", "month").unique()
    spans = (
        inputs.enrollments.filter((pl.col("category") == "in_service") & pl.col("employer_id").is_not_null())
        .select("person_id", "employer_id", "start_month", "end_month", "status")
        .join(employers.select("employer_id", "employer_uscc"), on="employer_id", how="inner")
    )
    insured = (
        months.join(spans, on="employer_uscc", how="inner")
        .filter(covers(pl.col("month")))
        .group_by("employer_uscc", "month")
        .agg(pl.col("person_id").n_unique().alias("insured_count"))
    )
    out = (
        taxed.join(insured, on=["employer_uscc", "month"], how="left")
        .join(employers, on="employer_uscc", how="left")
        .with_columns(
            pl.col("insured_count").fill_null(0).cast(pl.Int64),
            pl.coalesce("_reg_name", "employer_name").alias("employer_name"),
        )
        .with_columns((pl.col("taxed_count") - pl.col("insured_count")).alias("missing_count"))
        .filter(pl.col("missing_count") > 0)
    )
    p = ctx.settings.priority
    high = (pl.col("missing_count") >= p.undercount_high_missing) | (
        pl.col("missing_count") >= pl.col("taxed_count") * p.undercount_high_share
    )
    registered = pl.col("employer_id").is_not_null()
    m = month_text(pl.col("month"))
    out = out.with_columns(
        subtype=pl.when(registered).then(pl.lit("fewer_insured")).otherwise(pl.lit("not_registered")),
        priority=pl.when(high).then(1).otherwise(2),
        subject=pl.format("u:{}", pl.col("employer_uscc")),
        reason_zh=pl.when(registered)
        .then(pl.lit("单位个税申报人数多于职工医保参保人数"))
        .otherwise(pl.lit("单位有个税申报但未在医保登记")),
        reason_en=pl.when(registered)
        .then(pl.lit("the unit files tax for more employees than it insures"))
        .otherwise(pl.lit("the unit files payroll tax but is not registered for medical insurance")),
        evidence_zh=pl.format(
            "{} 月：{} 第 {}–{} 行中个税申报 {} 人；登记册在职参保 {} 人；差 {} 人",
            m,
            pl.col("feed"),
            pl.col("_first_row"),
            pl.col("_last_row"),
            pl.col("taxed_count"),
            pl.col("insured_count"),
            pl.col("missing_count"),
        ),
        evidence_en=pl.format(
            "{}: {} employees taxed ({} rows {}-{}); {} insured in the register; {} short",
            m,
            pl.col("taxed_count"),
            pl.col("feed"),
            pl.col("_first_row"),
            pl.col("_last_row"),
            pl.col("insured_count"),
            pl.col("missing_count"),
        ),
        suggested_action_zh=pl.lit("对单位开展参保稽核，核对个税申报名单，督促为未参保职工补办参保并补缴"),
        suggested_action_en=pl.lit(
            "audit the unit: compare its payroll-tax list with the register and have "
            "it enroll and back-pay the uninsured employees (see employed_not_insured)"
        ),
        evidence=pl.struct(
            "feed",
            "month",
            "taxed_count",
            "insured_count",
            "missing_count",
            pl.col("_first_row").alias("first_row"),
            pl.col("_last_row").alias("last_row"),
        ).struct.json_encode(),
    )
    return finish(out, CODE, EXTRA)


WORKLIST = Worklist(
    CODE,
    "单位参保人数少于个税人数",
    "employer with more taxed employees than insured ones",
    "2 单位少报参保",
    ("tax_wages",),
    EXTRA,
    build,
)
