"""Insured twice: in two regions, or in the employee and the resident scheme (重复参保).

- ``two_regions``: a row of another region's register (the ``other_region_register`` feed) linked
  to a person, insured there at the as-of date (status in ``settings.yaml``
  ``other_region_active_status``, or none given; insured since a date not after the as-of date;
  the region code outside the home region), while the person has an enrollment in force in the
  home region in the as-of month.
- ``two_schemes``: in the home register, an employee-scheme and a resident-scheme enrollment both
  in force in the as-of month.

Seed 000: employee and resident insurance overlap, and regional data silos inflate national totals.
Which enrollment to keep is not sourced (DOMAIN.md §8), so it is ``duplicate_precedence`` in
``settings.yaml``. One row per person and subtype.
"""

from __future__ import annotations

import polars as pl

from yibao.match.worklists.base import Context, Worklist, open_at
from yibao.match.worklists.common import finish, identity_check, month_text, with_person

__all__ = ["WORKLIST", "build", "region_prefix"]

CODE = "insured_twice"
EXTRA = ("other_region", "other_insurance", "other_since", "home_schemes", "enrollment_ids")


def region_prefix(code: str) -> str:
    """The part of a GB/T 2260 code that names the region: ``110000`` → ``11``, ``430100`` → ``4301``."""
    text = code.strip()
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


def _home_open(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    return (
        inputs.enrollments.filter(open_at(inputs.as_of_month))
        .sort("enrollment_id")
        .group_by("person_id")
        .agg(
            pl.col("enrollment_id").alias("_eids"),
            pl.format("{}/{}#{}", pl.col("scheme"), pl.col("category"), pl.col("enrollment_id")).alias(
                "_schemes"
            ),
            (pl.col("scheme") == "employee").any().alias("_employee"),
            (pl.col("scheme") == "resident").any().alias("_resident"),
        )
    )


def _two_regions(ctx: Context, home: pl.DataFrame) -> pl.DataFrame | None:
    inputs = ctx.inputs
    feed = inputs.feed("register")
    if feed is None:
        return None
    active = ctx.settings.other_region_active_status.values
    prefix = region_prefix(inputs.region)
    rows = (
        feed.filter(
            pl.col("person_id").is_not_null()
            & (pl.col("status").is_null() | pl.col("status").is_in(active))
            & (pl.col("start_date").is_null() | (pl.col("start_date") <= inputs.as_of))
            & pl.col("region_code").is_not_null()
            & ~pl.col("region_code").str.starts_with(prefix)
        )
        .sort("source_row")
        .unique("person_id", keep="first", maintain_order=True)
        .join(home, on="person_id", how="inner")
    )
    which = ctx.settings.duplicate_precedence.two_regions
    act_zh = {
        "ask_other_region": "与参保地 {} 核实就业与居住地，确定保留一处参保关系，终止另一处并办理转移接续",
        "home": "保留本地参保关系，通知 {} 终止其参保",
        "other": "终止本地参保关系，向 {} 办理转移接续",
    }[which]
    act_en = {
        "ask_other_region": "confirm with {} where the person works and lives, keep one enrollment, end "
        "the other and transfer the record",
        "home": "keep the home enrollment and ask {} to end theirs",
        "other": "end the home enrollment and transfer the record to {}",
    }[which]
    ins = pl.col("insurance_type").fill_null("")
    return rows.with_columns(
        subtype=pl.lit("two_regions"),
        other_region=pl.col("region_code"),
        other_insurance=pl.col("insurance_type"),
        other_since=pl.col("start_date"),
        reason_zh=pl.lit("在本地和外地同时参保"),
        reason_en=pl.lit("insured here and in another region"),
        evidence_zh=pl.format(
            "{} 第 {} 行：{} {} 参保（{}，自 {}）；本地 {} 仍有效",
            pl.col("feed"),
            pl.col("source_row"),
            pl.col("region_code"),
            ins,
            pl.col("status").fill_null("状态未填"),
            pl.col("start_date").cast(pl.String).fill_null("?"),
            pl.col("_schemes").list.join("、"),
        ),
        evidence_en=pl.format(
            "{} row {}: insured in {} ({}; status {}, since {}); home enrollment(s) {} in force in {}",
            pl.col("feed"),
            pl.col("source_row"),
            pl.col("region_code"),
            ins,
            pl.col("status").fill_null("not given"),
            pl.col("start_date").cast(pl.String).fill_null("?"),
            pl.col("_schemes").list.join(", "),
            month_text(pl.lit(inputs.as_of_month)),
        ),
        suggested_action_zh=pl.format(act_zh, pl.col("region_code")),
        suggested_action_en=pl.format(act_en, pl.col("region_code")),
        evidence=pl.struct(
            "feed",
            "source_row",
            "region_code",
            "insurance_type",
            "status",
            pl.col("start_date").cast(pl.String),
            pl.col("_eids").alias("home_enrollment_ids"),
        ).struct.json_encode(),
    )


def _two_schemes(ctx: Context, home: pl.DataFrame) -> pl.DataFrame:
    keep = ctx.settings.duplicate_precedence.two_schemes
    end_zh, end_en = ("城乡居民医保", "resident") if keep == "employee" else ("职工医保", "employee")
    m = month_text(pl.lit(ctx.inputs.as_of_month))
    return home.filter(pl.col("_employee") & pl.col("_resident")).with_columns(
        subtype=pl.lit("two_schemes"),
        feed=pl.lit(None, pl.String),
        source_row=pl.lit(None, pl.Int64),
        link_method=pl.lit("register"),
        reason_zh=pl.lit("同时参加职工医保和城乡居民医保"),
        reason_en=pl.lit("insured in both the employee and the resident scheme"),
        evidence_zh=pl.format("登记册：{} 月同时有效的参保记录 {}", m, pl.col("_schemes").list.join("、")),
        evidence_en=pl.format(
            "register: enrollments {} all in force in {}", pl.col("_schemes").list.join(", "), m
        ),
        suggested_action_zh=pl.lit(
            f"保留{'职工医保' if keep == 'employee' else '城乡居民医保'}，终止{end_zh}参保并按规定退费"
        ),
        suggested_action_en=pl.lit(
            f"keep the {keep} enrollment, end the {end_en} one and refund as the rules provide"
        ),
        evidence=pl.struct(
            pl.col("_eids").alias("enrollment_ids"), pl.lit(ctx.inputs.as_of_month).alias("month")
        ).struct.json_encode(),
    )


def build(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    home = _home_open(ctx)
    parts = [p for p in (_two_regions(ctx, home), _two_schemes(ctx, home)) if p is not None]
    cols = (
        "person_id",
        "subtype",
        "feed",
        "source_row",
        "link_method",
        "match_probability",
        "id_number",
        "name",
        "other_region",
        "other_insurance",
        "other_since",
        "_schemes",
        "_eids",
        "reason_zh",
        "reason_en",
        "evidence_zh",
        "evidence_en",
        "suggested_action_zh",
        "suggested_action_en",
        "evidence",
    )
    frames = [p.select([pl.col(c) if c in p.columns else pl.lit(None).alias(c) for c in cols]) for p in parts]
    out = pl.concat(frames, how="vertical_relaxed")
    out = with_person(out, inputs.persons).with_columns(
        pl.format("p:{}", pl.col("person_id")).alias("subject"),
        pl.lit(2).alias("priority"),
        pl.lit(inputs.as_of_month).alias("month"),
        pl.col("_schemes").list.join(", ").alias("home_schemes"),
        pl.col("_eids").list.eval(pl.element().cast(pl.String)).list.join(",").alias("enrollment_ids"),
        identity_check(ctx.settings.identity_check.below_probability),
    )
    return finish(out, CODE, EXTRA)


WORKLIST = Worklist(
    CODE, "重复参保", "insured twice (two regions, or employee and resident)", "5 重复参保", (), EXTRA, build
)
