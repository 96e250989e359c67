"""Deceased but still enrolled, or still receiving account allocations: 已死亡仍在保、仍在划账.

A death is known from the public-security deaths feed (a row linked to a register person, death
date ≤ as-of) or from the register itself (``persons.death_date``). With D the month of death:

- **still enrolled**: an enrollment of the person in the region not marked ended whose end month is
  empty or after D;
- **allocations after death**: contribution months after D (each assessed month credits the
  individual account with the member's contribution, DOMAIN.md §3.2), or an open retiree
  enrollment (a retiree's account is credited monthly from the pooled fund while enrolled,
  国办发〔2021〕14号, DOMAIN.md §3.2).

The month of death itself is a normal month (enrollment ending in D, a contribution for D: not
listed). Seed 002: deaths must be cancelled in time (人口的死亡需要及时注销). One row per person.
"""

from __future__ import annotations

import polars as pl

from yibao.match.worklists.base import Context, Worklist
from yibao.match.worklists.common import finish, identity_check, month_text, with_person, yuan_text

__all__ = ["WORKLIST", "build", "deaths"]

CODE = "deceased_enrolled"
EXTRA = (
    "death_date",
    "death_source",
    "enrollment_ids",
    "category",
    "months_after_death",
    "assessed_after_death_fen",
    "paid_after_death_fen",
)
_EMPTY_DEATHS = {
    "person_id": pl.Int64,
    "death_date": pl.Date,
    "feed": pl.String,
    "source_row": pl.Int64,
    "link_method": pl.String,
    "match_probability": pl.Float64,
    "id_number": pl.String,
    "name": pl.String,
}


def deaths(ctx: Context) -> pl.DataFrame:
    """One row per dead person of the register: the earliest death date known (feed or register),
    with the feed row that reported it (null if only the register knows)."""
    inputs = ctx.inputs
    feed = inputs.feed("deaths")
    parts = []
    if feed is not None:
        parts.append(
            feed.filter(
                pl.col("person_id").is_not_null()
                & pl.col("death_date").is_not_null()
                & (pl.col("death_date") <= inputs.as_of)
            ).select(*_EMPTY_DEATHS)
        )
    parts.append(
        inputs.persons.filter(
            pl.col("death_date").is_not_null() & (pl.col("death_date") <= inputs.as_of)
        ).select(
            "person_id",
            "death_date",
            pl.lit(None, pl.String).alias("feed"),
            pl.lit(None, pl.Int64).alias("source_row"),
            pl.lit(None, pl.String).alias("link_method"),
            pl.lit(None, pl.Float64).alias("match_probability"),
            "id_number",
            "name",
        )
    )
    frame = pl.concat([p.cast(_EMPTY_DEATHS) for p in parts])  # type: ignore[arg-type]
    # a feed row first (it names the evidence), then the earliest date
    return (
        frame.sort(pl.col("feed").is_null(), "death_date", "source_row", nulls_last=True)
        .group_by("person_id", maintain_order=True)
        .agg(
            pl.all().first(),
            pl.col("feed").is_not_null().any().alias("_in_feed"),
            pl.col("feed").is_null().any().alias("_in_register"),
        )
    )


def build(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    dead = deaths(ctx).with_columns(
        (
            pl.col("death_date").dt.year().cast(pl.Int32) * 100
            + pl.col("death_date").dt.month().cast(pl.Int32)
        ).alias("death_month")
    )
    spans = (
        inputs.enrollments.join(dead.select("person_id", "death_month"), on="person_id", how="inner")
        .filter(
            (pl.col("status") != "ended")
            & (pl.col("end_month").is_null() | (pl.col("end_month") > pl.col("death_month")))
        )
        .group_by("person_id")
        .agg(
            pl.col("enrollment_id").sort().alias("_eids"),
            pl.col("category").sort_by("start_month").last().alias("category"),
            (pl.col("category") == "retiree").any().alias("_retiree"),
        )
    )
    months = (
        inputs.months.join(dead.select("person_id", "death_month"), on="person_id", how="inner")
        .filter(pl.col("month") > pl.col("death_month"))
        .group_by("person_id")
        .agg(
            pl.col("month").n_unique().cast(pl.Int64).alias("months_after_death"),
            pl.col("total_fen").sum().alias("assessed_after_death_fen"),
            pl.col("paid_fen").sum().alias("paid_after_death_fen"),
            pl.col("month").min().alias("_first_after"),
            pl.col("month").max().alias("_last_after"),
        )
    )
    out = (
        dead.join(spans, on="person_id", how="left")
        .join(months, on="person_id", how="left")
        .filter(pl.col("_eids").is_not_null() | pl.col("months_after_death").is_not_null())
    )
    out = with_person(out, inputs.persons).with_columns(
        pl.format("p:{}", pl.col("person_id")).alias("subject"),
        pl.col("link_method").fill_null("register"),
        pl.col("_retiree").fill_null(False),
    )
    money = pl.col("months_after_death").is_not_null() | pl.col("_retiree")
    enrolled = pl.col("_eids").is_not_null()
    eids = pl.col("_eids").list.eval(pl.element().cast(pl.String)).list.join(",")
    src = (
        pl.when(pl.col("_in_feed") & pl.col("_in_register"))
        .then(pl.lit("feed+register"))
        .when(pl.col("_in_feed"))
        .then(pl.lit("feed"))
        .otherwise(pl.lit("register"))
    )
    where_zh = (
        pl.when(pl.col("feed").is_not_null())
        .then(
            pl.format("{} 第 {} 行报告于 {} 死亡", pl.col("feed"), pl.col("source_row"), pl.col("death_date"))
        )
        .otherwise(pl.format("登记册记载于 {} 死亡", pl.col("death_date")))
    )
    where_en = (
        pl.when(pl.col("feed").is_not_null())
        .then(
            pl.format(
                "{} row {} reports death on {}", pl.col("feed"), pl.col("source_row"), pl.col("death_date")
            )
        )
        .otherwise(pl.format("the register records death on {}", pl.col("death_date")))
    )
    open_zh = pl.when(enrolled).then(pl.format("；参保记录 {} 仍未终止", eids)).otherwise(pl.lit(""))
    open_en = pl.when(enrolled).then(pl.format("; enrollment(s) {} not ended", eids)).otherwise(pl.lit(""))
    after_zh = (
        pl.when(pl.col("months_after_death").is_not_null())
        .then(
            pl.format(
                "；死亡后 {}–{} 共 {} 个月仍核定缴费 {} 元、已缴 {} 元",
                month_text(pl.col("_first_after")),
                month_text(pl.col("_last_after")),
                pl.col("months_after_death"),
                yuan_text(pl.col("assessed_after_death_fen")),
                yuan_text(pl.col("paid_after_death_fen")),
            )
        )
        .when(pl.col("_retiree"))
        .then(pl.lit("；退休人员参保未终止，个人账户仍按月划入"))
        .otherwise(pl.lit(""))
    )
    after_en = (
        pl.when(pl.col("months_after_death").is_not_null())
        .then(
            pl.format(
                "; {} month(s) {} to {} assessed after death, {} yuan, {} yuan paid",
                pl.col("months_after_death"),
                month_text(pl.col("_first_after")),
                month_text(pl.col("_last_after")),
                yuan_text(pl.col("assessed_after_death_fen")),
                yuan_text(pl.col("paid_after_death_fen")),
            )
        )
        .when(pl.col("_retiree"))
        .then(pl.lit("; open retiree enrollment: the account is still credited monthly"))
        .otherwise(pl.lit(""))
    )
    out = out.with_columns(
        subtype=pl.when(money).then(pl.lit("allocations_after_death")).otherwise(pl.lit("still_enrolled")),
        priority=pl.when(money).then(1).otherwise(2),
        death_source=src,
        enrollment_ids=eids,
        month=pl.col("death_month"),
        amount_fen=pl.col("paid_after_death_fen"),
        reason_zh=pl.when(money)
        .then(pl.lit("人员已死亡，仍在缴费或划入个人账户"))
        .otherwise(pl.lit("人员已死亡，参保关系未终止")),
        reason_en=pl.when(money)
        .then(pl.lit("deceased, contributions or account credits continue"))
        .otherwise(pl.lit("deceased, enrollment not ended")),
        evidence_zh=pl.concat_str(where_zh, open_zh, after_zh),
        evidence_en=pl.concat_str(where_en, open_en, after_en),
        suggested_action_zh=pl.lit(
            "核实死亡信息后自死亡次月起终止参保关系，停止个人账户划入，清退或追回死亡后的缴费与划账，"
            "个人账户余额按本地规定办理"
        ),
        suggested_action_en=pl.lit(
            "confirm the death, end the enrollment from the month after death, stop "
            "account credits, refund or recover what was assessed or credited after death; "
            "settle the account balance by the region's rules"
        ),
        evidence=pl.struct(
            "feed",
            "source_row",
            pl.col("death_date").cast(pl.String),
            pl.col("death_month"),
            pl.col("_eids").alias("open_enrollment_ids"),
            "months_after_death",
            "assessed_after_death_fen",
            "paid_after_death_fen",
            pl.col("_retiree").alias("retiree_enrollment_open"),
        ).struct.json_encode(),
    )
    out = out.with_columns(identity_check(ctx.settings.identity_check.below_probability))
    return finish(out, CODE, EXTRA)


WORKLIST = Worklist(
    CODE,
    "死亡仍参保",
    "deceased but still enrolled or receiving account allocations",
    "4 死亡未注销",
    (),
    EXTRA,
    build,
)
