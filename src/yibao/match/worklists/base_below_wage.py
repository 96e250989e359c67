"""Declared base below the taxed wage (做实缴费基数), with the contribution gap in yuan.

For a tax row of month M ≤ the as-of month linked to a person, the register's contribution month of
that person, month and employer (in-service, paid by the employer; the employer matched by its
unified social credit code) holds the wage the unit declared. When the declared wage is below the
taxed wage, both are assessed with the policy engine's contribution rules
(:func:`yibao.rules.contribution.assess_contributions` with the region's parameters in force in M:
base rounding, floor and cap, employer and individual rates, fixed premium), and the difference of
the totals is the contribution gap. A row is listed only when the gap is positive: a declared wage
below the taxed one whose bases both clamp to the same limit costs the fund nothing. Seed 000: most
regions' actual bases lie below the prescribed ones, and the reform call is to make the base real
(做实缴费基数); DOMAIN.md §2.1, §2.5. One row per person and employer; the gap is summed over the
months, each month's figures are in ``evidence``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from yibao.match.worklists.base import Context, Worklist
from yibao.match.worklists.common import finish, identity_check, month_text, with_person, yuan_text
from yibao.policy.resolve import Policy
from yibao.rules.contribution import IN_SERVICE, ContributionParams, assess_contributions

__all__ = ["WORKLIST", "build", "price_gap"]

CODE = "base_below_wage"
EXTRA = (
    "months",
    "wage_fen",
    "declared_wage_fen",
    "base_taxed_fen",
    "base_declared_fen",
    "total_taxed_fen",
    "total_declared_fen",
    "employer_gap_fen",
    "individual_gap_fen",
    "gap_fen",
)
_PRICED = (
    "base_taxed_fen",
    "base_declared_fen",
    "total_taxed_fen",
    "total_declared_fen",
    "employer_gap_fen",
    "individual_gap_fen",
    "gap_fen",
)


def price_gap(
    policy: Policy, month: pl.Series, taxed_fen: pl.Series, declared_fen: pl.Series
) -> pl.DataFrame:
    """Assess each row on the taxed and on the declared wage with the contribution rules of its month
    (unit employee); bases, totals and the gaps (employer, individual, total) in fen."""
    m = month.to_numpy()
    taxed = taxed_fen.to_numpy().astype(np.int64)
    declared = declared_fen.to_numpy().astype(np.int64)
    out = {c: np.zeros(m.size, dtype=np.int64) for c in _PRICED}
    for ym in np.unique(m).tolist():
        rows = np.flatnonzero(m == ym)
        params = ContributionParams.from_snapshot(policy.at(dt.date(ym // 100, ym % 100, 1)))
        kind = np.full(rows.size, IN_SERVICE, dtype=np.int8)
        t = assess_contributions(taxed[rows], kind, params)
        d = assess_contributions(declared[rows], kind, params)
        out["base_taxed_fen"][rows] = t.base_fen
        out["base_declared_fen"][rows] = d.base_fen
        out["total_taxed_fen"][rows] = t.total_fen
        out["total_declared_fen"][rows] = d.total_fen
        out["employer_gap_fen"][rows] = t.employer_total_fen - d.employer_total_fen
        out["individual_gap_fen"][rows] = t.individual_total_fen - d.individual_total_fen
        out["gap_fen"][rows] = t.total_fen - d.total_fen
    return pl.DataFrame(out)


def _monthly(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    tax = inputs.feed("tax_wages")
    assert tax is not None
    tax = (
        tax.filter(pl.col("person_id").is_not_null() & (pl.col("month") <= inputs.as_of_month))
        .sort("source_row")
        .unique(["person_id", "month", "employer_uscc"], keep="first", maintain_order=True)
    )
    employers = inputs.employers.select(
        pl.col("employer_id"), pl.col("uscc").alias("employer_uscc"), pl.col("name").alias("_reg_name")
    )
    declared = (
        inputs.months.filter((pl.col("category") == "in_service") & (pl.col("payer_kind") == "employer"))
        .select(
            "person_id",
            "month",
            pl.col("payer_id").alias("employer_id"),
            "enrollment_id",
            pl.col("wage_fen").alias("declared_wage_fen"),
            pl.col("base_fen").alias("register_base_fen"),
            pl.col("total_fen").alias("register_total_fen"),
        )
        .join(employers, on="employer_id", how="inner")
        .sort("enrollment_id")
        .unique(["person_id", "month", "employer_uscc"], keep="first")
    )
    got = tax.join(
        declared.with_columns(pl.col("month").cast(pl.Int32)),
        on=["person_id", "month", "employer_uscc"],
        how="inner",
    ).filter(pl.col("declared_wage_fen") < pl.col("wage_fen"))
    priced = price_gap(inputs.policy, got["month"], got["wage_fen"], got["declared_wage_fen"])
    return pl.concat([got, priced], how="horizontal").filter(pl.col("gap_fen") > 0)


def build(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    monthly = _monthly(ctx).sort("month", "source_row")
    detail = pl.struct(
        pl.col("month"),
        pl.col("source_row"),
        pl.col("enrollment_id"),
        pl.col("wage_fen").alias("taxed_wage_fen"),
        "declared_wage_fen",
        "register_base_fen",
        "register_total_fen",
        *_PRICED,
    )
    sums = [
        pl.col(c).sum()
        for c in (
            "total_taxed_fen",
            "total_declared_fen",
            "employer_gap_fen",
            "individual_gap_fen",
            "gap_fen",
        )
    ]
    out = monthly.group_by("person_id", "employer_uscc").agg(
        pl.col("subject").first(),
        pl.col("id_number").first(),
        pl.col("name").first(),
        pl.col("employer_id").first(),
        pl.col("_reg_name").first().alias("employer_name"),
        pl.col("feed").last(),
        pl.col("source_row").last(),
        pl.col("link_method").last(),
        pl.col("match_probability").min(),
        pl.col("month").max(),
        pl.col("month").alias("_months"),
        pl.col("wage_fen").last(),
        pl.col("declared_wage_fen").last(),
        pl.col("base_taxed_fen").last(),
        pl.col("base_declared_fen").last(),
        *sums,
        detail.alias("_detail"),
    )
    out = with_person(out, inputs.persons)
    p = ctx.settings.priority
    n = pl.col("_months").list.len()
    mean_gap = pl.col("gap_fen") // n
    gap = yuan_text(pl.col("gap_fen"))
    months = pl.col("_months").list.eval(month_text(pl.element())).list.join("、")
    out = out.with_columns(
        months.alias("months"), identity_check(ctx.settings.identity_check.below_probability)
    )
    out = out.with_columns(
        subtype=pl.lit("base_below_wage"),
        priority=pl.when(mean_gap >= p.base_gap_high_fen)
        .then(1)
        .when(mean_gap < p.base_gap_low_fen)
        .then(3)
        .otherwise(2),
        amount_fen=pl.col("gap_fen"),
        reason_zh=pl.format("申报缴费工资低于个税工资，少缴 {} 元", gap),
        reason_en=pl.format("declared wage below the taxed wage: {} yuan short", gap),
        evidence_zh=pl.format(
            "{} 第 {} 行：{} 个税工资 {} 元；登记册申报工资 {} 元，缴费基数 {} 元（按个税工资应为 {} 元）；"
            "按{}缴费规则，月份 {} 合计应缴 {} 元、已核定 {} 元，差额 {} 元（单位 {} 元，个人 {} 元）",
            pl.col("feed"),
            pl.col("source_row"),
            month_text(pl.col("month")),
            yuan_text(pl.col("wage_fen")),
            yuan_text(pl.col("declared_wage_fen")),
            yuan_text(pl.col("base_declared_fen")),
            yuan_text(pl.col("base_taxed_fen")),
            pl.lit(inputs.policy.region.name_zh),
            pl.col("months"),
            yuan_text(pl.col("total_taxed_fen")),
            yuan_text(pl.col("total_declared_fen")),
            gap,
            yuan_text(pl.col("employer_gap_fen")),
            yuan_text(pl.col("individual_gap_fen")),
        ),
        evidence_en=pl.format(
            "{} row {}: taxed wage {} yuan in {}; declared {} yuan, base {} yuan (the taxed "
            "wage gives {} yuan); by {}'s contribution rules, month(s) {} owe {} yuan against "
            "{} yuan assessed: {} yuan short (employer {}, individual {})",
            pl.col("feed"),
            pl.col("source_row"),
            yuan_text(pl.col("wage_fen")),
            month_text(pl.col("month")),
            yuan_text(pl.col("declared_wage_fen")),
            yuan_text(pl.col("base_declared_fen")),
            yuan_text(pl.col("base_taxed_fen")),
            pl.lit(inputs.policy.region.name_en),
            pl.col("months"),
            yuan_text(pl.col("total_taxed_fen")),
            yuan_text(pl.col("total_declared_fen")),
            gap,
            yuan_text(pl.col("employer_gap_fen")),
            yuan_text(pl.col("individual_gap_fen")),
        ),
        suggested_action_zh=pl.lit("通知单位按实际工资（个税申报工资）更正缴费基数并补缴差额"),
        suggested_action_en=pl.lit(
            "ask the employer to correct the base to the real (taxed) wage and pay the difference"
        ),
        evidence=pl.struct(
            pl.col("_detail").alias("months"), pl.lit(inputs.policy.label).alias("policy")
        ).struct.json_encode(),
    )
    return finish(out, CODE, EXTRA)


WORKLIST = Worklist(
    CODE,
    "缴费基数低于个税工资",
    "declared base below the taxed wage (做实缴费基数)",
    "3 缴费基数不实",
    ("tax_wages",),
    EXTRA,
    build,
)
