"""Newborns not enrolled within N days: 新生儿出生后 N 天内未参保.

A birth (public-security births feed) with birth date B is listed when more than N days have passed
at the as-of date (as-of − B > N; exactly N days is still within the period) and the child has no
enrollment in the region's register (any scheme, any status): the row is linked to nobody, or to a
person without an enrollment. A child known to have died (register death date, a deaths-feed row
linked to the same person, or one with the same ID number) is not listed. N is the threshold
``newborn_days`` (docs/worklists.md: no source names a deadline, so it is an option with a
documented default). Seed 002: only a third of one region's 2021 births were enrolled; the newborn
"one thing" (出生"一件事") pushes births to the bureau to enroll at once. One row per child.
"""

from __future__ import annotations

import polars as pl

from yibao.match.worklists.base import Context, Worklist
from yibao.match.worklists.common import finish, identity_check, with_person

__all__ = ["WORKLIST", "build"]

CODE = "newborn_not_enrolled"
EXTRA = ("birth_date", "days_since_birth")


def build(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    births = inputs.feed("births")
    assert births is not None
    n = ctx.n("newborn_days")
    enrolled = inputs.enrollments.select("person_id").unique().with_columns(pl.lit(True).alias("_enrolled"))
    dead_ids = inputs.persons.filter(pl.col("death_date").is_not_null()).select("person_id")
    deaths = inputs.feed("deaths")
    dead_numbers = pl.DataFrame(schema={"id_number": pl.String})
    if deaths is not None:
        dead_ids = pl.concat([dead_ids, deaths.filter(pl.col("person_id").is_not_null()).select("person_id")])
        dead_numbers = deaths.filter(pl.col("id_number").is_not_null()).select("id_number")
    dead_ids = dead_ids.unique().with_columns(pl.lit(True).alias("_dead_p"))
    dead_numbers = dead_numbers.unique().with_columns(pl.lit(True).alias("_dead_i"))
    days = (pl.lit(inputs.as_of) - pl.col("birth_date")).dt.total_days()
    rows = (
        births.filter(pl.col("birth_date").is_not_null() & (pl.col("birth_date") <= inputs.as_of))
        .with_columns(days.alias("days_since_birth"))
        .filter(pl.col("days_since_birth") > n)
        .join(enrolled, on="person_id", how="left")
        .join(dead_ids, on="person_id", how="left")
        .join(dead_numbers, on="id_number", how="left")
        .filter(pl.col("_enrolled").is_null() & pl.col("_dead_p").is_null() & pl.col("_dead_i").is_null())
        .sort("source_row")
        .unique("subject", keep="first", maintain_order=True)
    )
    rows = with_person(rows, inputs.persons)
    out = rows.with_columns(
        subtype=pl.when(pl.col("person_id").is_null())
        .then(pl.lit("not_in_register"))
        .otherwise(pl.lit("no_enrollment")),
        priority=pl.lit(1),
        month=(pl.col("birth_date").dt.year() * 100 + pl.col("birth_date").dt.month()),
        reason_zh=pl.format(
            "新生儿出生已 {} 天（超过 {} 天）仍未参保", pl.col("days_since_birth"), pl.lit(n)
        ),
        reason_en=pl.format(
            "newborn not enrolled {} days after birth (limit {} days)", pl.col("days_since_birth"), pl.lit(n)
        ),
        evidence_zh=pl.format(
            "{} 第 {} 行：{} 出生，户籍地 {}；截至 {} 登记册无该儿童的参保记录",
            pl.col("feed"),
            pl.col("source_row"),
            pl.col("birth_date"),
            pl.col("region_code").fill_null("未填"),
            pl.lit(inputs.as_of),
        ),
        evidence_en=pl.format(
            "{} row {}: born {}, hukou {}; no enrollment of the child in the register at {}",
            pl.col("feed"),
            pl.col("source_row"),
            pl.col("birth_date"),
            pl.col("region_code").fill_null("not given"),
            pl.lit(inputs.as_of),
        ),
        suggested_action_zh=pl.lit('联系监护人，通过新生儿出生"一件事"办理城乡居民医保参保登记'),
        suggested_action_en=pl.lit(
            "contact the guardian and enroll the child in resident insurance through the "
            "newborn 'one thing' service"
        ),
        evidence=pl.struct(
            "feed",
            "source_row",
            pl.col("birth_date").cast(pl.String),
            "days_since_birth",
            pl.lit(n).alias("limit_days"),
            "region_code",
        ).struct.json_encode(),
    )
    out = out.with_columns(identity_check(ctx.settings.identity_check.below_probability))
    return finish(out, CODE, EXTRA)


WORKLIST = Worklist(
    CODE,
    "新生儿未参保",
    "newborns not enrolled within N days",
    "6 新生儿未参保",
    ("births",),
    EXTRA,
    build,
    ("newborn_days",),
)
