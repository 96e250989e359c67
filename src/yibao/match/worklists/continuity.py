"""Contributions interrupted for more than N months, and flexible workers about to lose continuity.

Both apply the administration core's rule, :func:`yibao.admin.continuity.classify_interruptions`
(the same one ``continuity.interruptions`` applies to the database), to the register export:

- each person's latest employee-scheme enrollment in the region (started by the as-of month) is
  judged; retirees pay no basic contribution and are not counted, nor are the dead (register death
  date, or a deaths-feed row linked to them), nor an enrollment that ended because the person moved
  away (the export has no end reason, so an ended enrollment counts as a transfer when a hukou
  move out of the region or another region's register row is linked to the person);
- ``unpaid`` = months from the last month paid (status ``paid``) to the as-of month;
- **interrupted** (断保, seed 002): ``unpaid`` > N, where N = ``eligibility.backpay_max_gap_months``
  of the region's policy (3 months since the 2021-11 national transfer rules, DOMAIN.md §2.7, §5): a
  gap that long can no longer be back-paid into continuity: a back-payment reminder candidate;
- **flexible at risk**: a flexible or new-form worker, enrollment active, not interrupted, with
  ``1 ≤ back-payable months left ≤ warn`` where ``left = N − unpaid + 1``.

``arrears`` are the assessed, unpaid amounts of the months after the last month paid (the register's
own figures: ``total_fen − paid_fen`` of rows due or partial).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from yibao.admin.continuity import classify_interruptions
from yibao.match.worklists.base import Context, Worklist
from yibao.match.worklists.common import finish, month_text, with_person, yuan_text
from yibao.match.worklists.insured_twice import region_prefix

__all__ = ["FLEXIBLE", "INTERRUPTED", "classify"]

EXTRA = (
    "category",
    "enrollment_status",
    "last_paid_month",
    "unpaid_months",
    "backpay_months_left",
    "arrears_fen",
    "enrollment_ids",
)


def _moved_away(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    parts = [pl.DataFrame(schema={"person_id": pl.Int64})]
    other = inputs.feed("register")
    if other is not None:
        parts.append(other.filter(pl.col("person_id").is_not_null()).select("person_id"))
    moves = inputs.feed("hukou_moves")
    if moves is not None:
        prefix = region_prefix(inputs.region)
        parts.append(
            moves.filter(
                pl.col("person_id").is_not_null()
                & pl.col("to_region_code").is_not_null()
                & ~pl.col("to_region_code").str.starts_with(prefix)
                & (pl.col("move_date").is_null() | (pl.col("move_date") <= inputs.as_of))
            ).select("person_id")
        )
    return pl.concat(parts).unique()


def _dead(ctx: Context) -> pl.DataFrame:
    inputs = ctx.inputs
    parts = [inputs.persons.filter(pl.col("death_date").is_not_null()).select("person_id")]
    deaths = inputs.feed("deaths")
    if deaths is not None:
        parts.append(
            deaths.filter(pl.col("person_id").is_not_null() & (pl.col("death_date") <= inputs.as_of)).select(
                "person_id"
            )
        )
    return pl.concat(parts).unique()


def classify(ctx: Context) -> pl.DataFrame:
    """Persons interrupted or at risk (``kind``), by the continuity rule, with their arrears."""
    inputs = ctx.inputs
    as_of = inputs.as_of_month
    n = ctx.n("interrupted_months")
    spans = inputs.enrollments.filter((pl.col("scheme") == "employee") & (pl.col("start_month") <= as_of))
    paid = (
        inputs.months.filter((pl.col("status") == "paid") & (pl.col("month") <= as_of))
        .group_by("person_id")
        .agg(pl.col("month").max().alias("_last_paid"))
    )
    dead = _dead(ctx).with_columns(pl.lit(True).alias("_dead"))
    moved = _moved_away(ctx).with_columns(pl.lit(True).alias("_moved"))
    spans = (
        spans.join(paid, on="person_id", how="left")
        .join(dead, on="person_id", how="left")
        .join(moved, on="person_id", how="left")
        .with_columns(pl.col("_dead").fill_null(False), pl.col("_moved").fill_null(False))
    )
    reason = (
        pl.when(pl.col("_dead"))
        .then(pl.lit("death"))
        .when((pl.col("status") == "ended") & pl.col("_moved"))
        .then(pl.lit("transfer_out"))
    )
    spans = spans.with_columns(reason.alias("_reason"))
    found = classify_interruptions(
        spans["person_id"].to_numpy(),
        spans["enrollment_id"].to_numpy(),
        spans["start_month"].to_numpy(),
        np.asarray(spans["category"].to_list(), dtype=object),
        np.asarray(spans["status"].to_list(), dtype=object),
        np.asarray(spans["_reason"].to_list(), dtype=object),
        spans["_dead"].to_numpy(),
        spans["_last_paid"].fill_null(0).to_numpy(),
        as_of,
        n,
        n,
        ctx.n("flexible_warn_months"),
    )
    owed = (
        inputs.months.join(found.select("person_id", "last_paid_month"), on="person_id", how="inner")
        .filter(
            (pl.col("month") > pl.col("last_paid_month").fill_null(0))
            & (pl.col("month") <= as_of)
            & pl.col("status").is_in(["due", "partial"])
        )
        .group_by("person_id")
        .agg(
            (pl.col("total_fen") - pl.col("paid_fen")).sum().alias("arrears_fen"),
            pl.col("month").n_unique().alias("_owed_months"),
        )
    )
    return found.join(owed, on="person_id", how="left")


def _build(ctx: Context, kind: str, code: str) -> pl.DataFrame:
    inputs = ctx.inputs
    n = ctx.n("interrupted_months")
    rows = classify(ctx).filter(pl.col("kind") == kind)
    rows = with_person(rows, inputs.persons)
    last = (
        pl.when(pl.col("last_paid_month").is_not_null())
        .then(month_text(pl.col("last_paid_month")))
        .otherwise(pl.lit("—"))
    )
    owed_zh = (
        pl.when(pl.col("arrears_fen").is_not_null())
        .then(
            pl.format(
                "；其后 {} 个月已核定未缴 {} 元", pl.col("_owed_months"), yuan_text(pl.col("arrears_fen"))
            )
        )
        .otherwise(pl.lit("；其后无核定记录（暂停缴费）"))
    )
    owed_en = (
        pl.when(pl.col("arrears_fen").is_not_null())
        .then(
            pl.format(
                "; {} month(s) assessed since, {} yuan unpaid",
                pl.col("_owed_months"),
                yuan_text(pl.col("arrears_fen")),
            )
        )
        .otherwise(pl.lit("; nothing assessed since (contributions suspended)"))
    )
    m = month_text(pl.lit(inputs.as_of_month))
    base = rows.with_columns(
        pl.format("p:{}", pl.col("person_id")).alias("subject"),
        pl.lit("register").alias("link_method"),
        pl.lit(inputs.as_of_month).alias("month"),
        pl.col("arrears_fen").alias("amount_fen"),
        pl.col("enrollment_id").cast(pl.String).alias("enrollment_ids"),
        pl.col("category").alias("subtype"),
    )
    if kind == "interrupted":
        out = base.with_columns(
            priority=pl.lit(2),
            reason_zh=pl.format(
                "已连续 {} 个月未缴费，超过可补缴的 {} 个月", pl.col("unpaid_months"), pl.lit(n)
            ),
            reason_en=pl.format(
                "unpaid for {} months, more than the {} back-payable months",
                pl.col("unpaid_months"),
                pl.lit(n),
            ),
            evidence_zh=pl.concat_str(
                pl.format(
                    "登记册：参保记录 {}（{}，{}）最后缴费月 {}，至 {} 未缴 {} 个月",
                    pl.col("enrollment_id"),
                    pl.col("category"),
                    pl.col("enrollment_status"),
                    last,
                    m,
                    pl.col("unpaid_months"),
                ),
                owed_zh,
            ),
            evidence_en=pl.concat_str(
                pl.format(
                    "register: enrollment {} ({}, {}) last paid {}, {} months unpaid to {}",
                    pl.col("enrollment_id"),
                    pl.col("category"),
                    pl.col("enrollment_status"),
                    last,
                    pl.col("unpaid_months"),
                    m,
                ),
                owed_en,
            ),
            suggested_action_zh=pl.lit(
                "发送断缴提醒：了解断缴原因（失业、转出、单位欠费），符合条件的办理补缴或转为灵活就业参保；"
                "非本人原因的按“一事一议”协助补齐"
            ),
            suggested_action_en=pl.lit(
                "send a back-payment reminder: find out why (job loss, moved, unit arrears); "
                "back-pay or enroll as a flexible worker where allowed; if not the member's "
                "fault, settle case by case (seed 002)"
            ),
        )
    else:
        left = pl.col("backpay_months_left")
        out = base.with_columns(
            priority=pl.when(left <= 1).then(1).otherwise(2),
            reason_zh=pl.format(
                "灵活就业人员已 {} 个月未缴费，再断缴 {} 个月将无法通过补缴保持连续",
                pl.col("unpaid_months"),
                left,
            ),
            reason_en=pl.format(
                "flexible worker unpaid for {} months: {} more month(s) and back-payment can no "
                "longer keep continuity",
                pl.col("unpaid_months"),
                left,
            ),
            evidence_zh=pl.concat_str(
                pl.format(
                    "登记册：参保记录 {}（{}）最后缴费月 {}，至 {} 未缴 {} 个月；可补缴断缴期 {} 个月",
                    pl.col("enrollment_id"),
                    pl.col("category"),
                    last,
                    m,
                    pl.col("unpaid_months"),
                    pl.lit(n),
                ),
                owed_zh,
            ),
            evidence_en=pl.concat_str(
                pl.format(
                    "register: enrollment {} ({}) last paid {}, {} months unpaid to {}; "
                    "gaps up to {} months can be back-paid",
                    pl.col("enrollment_id"),
                    pl.col("category"),
                    last,
                    pl.col("unpaid_months"),
                    m,
                    pl.lit(n),
                ),
                owed_en,
            ),
            suggested_action_zh=pl.lit("提醒本人在可补缴期内补缴欠费，以免连续参保中断、重新计算等待期"),
            suggested_action_en=pl.lit(
                "remind the member to pay the missed months while they can still be "
                "back-paid, or continuity is lost and a waiting period starts again"
            ),
        )
    out = out.with_columns(
        identity_check=pl.lit(False),
        evidence=pl.struct(
            "enrollment_id",
            "category",
            "enrollment_status",
            "last_paid_month",
            "unpaid_months",
            "backpay_months_left",
            "arrears_fen",
            pl.lit(inputs.as_of_month).alias("as_of_month"),
            pl.lit(n).alias("backpay_max_gap_months"),
        ).struct.json_encode(),
    )
    return finish(out, code, EXTRA)


def build_interrupted(ctx: Context) -> pl.DataFrame:
    return _build(ctx, "interrupted", "interrupted")


def build_flexible(ctx: Context) -> pl.DataFrame:
    return _build(ctx, "at_risk", "flexible_at_risk")


INTERRUPTED = Worklist(
    "interrupted",
    "断缴超过 N 个月",
    "contributions interrupted for more than N months",
    "7 断缴补缴提醒",
    (),
    EXTRA,
    build_interrupted,
    ("interrupted_months",),
)
FLEXIBLE = Worklist(
    "flexible_at_risk",
    "灵活就业即将断保",
    "flexible workers about to lose continuity",
    "8 灵活就业断保预警",
    (),
    EXTRA,
    build_flexible,
    ("interrupted_months", "flexible_warn_months"),
)
