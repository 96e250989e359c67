"""Employed (taxed) but not insured: 有个税工资申报、未参加职工医保.

A tax row (税务 monthly wage declaration) of month M ≤ the as-of month names a person who is not in
the register, or who has no employee-scheme enrollment (any category) in the region covering M.
Employee insurance is compulsory with a labour relationship (国发〔1998〕44号; DOMAIN.md §1), and
seed 000 names the grey zone of employees who hold resident insurance instead: such a person is
the subtype ``resident_instead``. One row per person and employer, with every month taxed but
uninsured; the latest month's wage is shown.
"""

from __future__ import annotations

import polars as pl

from yibao.match.worklists.base import Context, Worklist, covers
from yibao.match.worklists.common import finish, identity_check, month_text, with_person, yuan_text

__all__ = ["WORKLIST", "build", "uninsured_tax_rows"]

CODE = "employed_not_insured"
EXTRA = ("months", "wage_fen")


def uninsured_tax_rows(ctx: Context) -> pl.DataFrame:
    """Tax rows (month ≤ as-of) whose person has no employee-scheme enrollment covering the month,
    with ``resident`` (a resident enrollment covers it) and ``in_register``."""
    inputs = ctx.inputs
    tax = inputs.feed("tax_wages")
    assert tax is not None
    tax = tax.filter(pl.col("month") <= inputs.as_of_month)
    spans = inputs.enrollments.select("person_id", "scheme", "start_month", "end_month", "status")
    linked = tax.filter(pl.col("person_id").is_not_null()).select("feed", "source_row", "person_id", "month")
    hits = (
        linked.join(spans, on="person_id", how="inner")
        .filter(covers(pl.col("month")))
        .group_by("feed", "source_row")
        .agg(
            (pl.col("scheme") == "employee").any().alias("employee"),
            (pl.col("scheme") == "resident").any().alias("resident"),
        )
    )
    registered = inputs.persons.select("person_id", pl.lit(True).alias("in_register"))
    got = (
        tax.join(hits, on=["feed", "source_row"], how="left")
        .join(registered, on="person_id", how="left")
        .with_columns(
            pl.col("employee").fill_null(False),
            pl.col("resident").fill_null(False),
            pl.col("in_register").fill_null(False),
        )
    )
    return got.filter(~pl.col("employee"))


def build(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    rows = uninsured_tax_rows(ctx).sort("month", "source_row")
    grouped = rows.group_by("subject", "employer_uscc").agg(
        pl.col("person_id").drop_nulls().first(),
        pl.col("id_number").drop_nulls().first(),
        pl.col("name").drop_nulls().first(),
        pl.col("employer_name").drop_nulls().last(),
        pl.col("month").max(),
        pl.col("month").unique().sort().alias("_months"),
        pl.col("wage_fen").last(),
        pl.col("feed").last(),
        pl.col("source_row").last(),
        pl.col("source_row").unique().sort().alias("_rows"),
        pl.col("link_method").last(),
        pl.col("match_probability").min(),
        pl.col("resident").last(),
        pl.col("in_register").last(),
    )
    employers = inputs.employers.select(
        "employer_id", pl.col("uscc").alias("employer_uscc"), pl.col("name").alias("_reg_employer")
    )
    out = grouped.join(employers, on="employer_uscc", how="left").with_columns(
        pl.coalesce("_reg_employer", "employer_name").alias("employer_name")
    )
    out = with_person(out, inputs.persons)
    months_txt = pl.col("_months").list.eval(month_text(pl.element())).list.join("、")
    subtype = (
        pl.when(~pl.col("in_register"))
        .then(pl.lit("not_in_register"))
        .when(pl.col("resident"))
        .then(pl.lit("resident_instead"))
        .otherwise(pl.lit("uninsured"))
    )
    out = out.with_columns(
        subtype.alias("subtype"),
        months_txt.alias("months"),
        identity_check(ctx.settings.identity_check.below_probability),
    )
    st = pl.col("subtype")
    who_zh = (
        pl.when(st == "not_in_register")
        .then(pl.lit("登记册中无此人"))
        .when(st == "resident_instead")
        .then(pl.lit("仅参加城乡居民医保"))
        .otherwise(pl.lit("无职工医保参保记录"))
    )
    who_en = (
        pl.when(st == "not_in_register")
        .then(pl.lit("not in the register"))
        .when(st == "resident_instead")
        .then(pl.lit("holds resident insurance only"))
        .otherwise(pl.lit("no employee-scheme enrollment"))
    )
    wage = yuan_text(pl.col("wage_fen"))
    out = out.with_columns(
        priority=pl.when(st == "resident_instead").then(2).otherwise(1),
        reason_zh=pl.format("税务有工资薪金申报，但{}", who_zh),
        reason_en=pl.format("taxed wages declared, but {}", who_en),
        evidence_zh=pl.format(
            "{} 第 {} 行：{} 月由单位 {} 申报工资 {} 元；所属月份 {} 均无覆盖该月的职工医保参保记录",
            pl.col("feed"),
            pl.col("_rows").list.eval(pl.element().cast(pl.String)).list.join(","),
            month_text(pl.col("month")),
            pl.col("employer_uscc"),
            wage,
            pl.col("months"),
        ),
        evidence_en=pl.format(
            "{} row(s) {}: wage {} yuan declared by {} for {}; no employee-scheme "
            "enrollment covers month(s) {}",
            pl.col("feed"),
            pl.col("_rows").list.eval(pl.element().cast(pl.String)).list.join(","),
            wage,
            pl.col("employer_uscc"),
            month_text(pl.col("month")),
            pl.col("months"),
        ),
        suggested_action_zh=pl.when(st == "resident_instead")
        .then(pl.lit("通知单位为其办理职工医保参保并补缴，参保后终止居民医保"))
        .otherwise(pl.lit("通知单位自用工之月起为其办理职工医保参保登记并补缴")),
        suggested_action_en=pl.when(st == "resident_instead")
        .then(
            pl.lit(
                "ask the employer to enroll the employee in employee insurance and back-pay; end the "
                "resident enrollment once enrolled"
            )
        )
        .otherwise(
            pl.lit("ask the employer to enroll the employee from the first month worked and back-pay")
        ),
        evidence=pl.struct(
            pl.col("feed"),
            pl.col("_rows").alias("source_rows"),
            pl.col("_months").alias("months"),
            pl.col("wage_fen").alias("latest_wage_fen"),
            pl.col("employer_uscc"),
            pl.col("in_register"),
            pl.col("resident").alias("resident_insured"),
        ).struct.json_encode(),
    )
    return finish(out, CODE, EXTRA)


WORKLIST = Worklist(
    CODE, "有工作未参保", "employed (taxed) but not insured", "1 有工作未参保", ("tax_wages",), EXTRA, build
)
