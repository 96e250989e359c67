"""Pooling regions side by side, and the adjustment fund between them (调剂金; seed 000 §三(二)).

The published statistics are national, so the lab's regions (统筹地区, here *pools*) are given by
the scenario, each in one of two ways:

- **from the national sample**: its share of the nation's members, the share of them that are
  retired, and its wage level against the nation's. The calibrated 2024 sample is reweighted to
  that size and retired share (in-service and retired records each scaled alike) and its wages and
  pensions scaled, so the pool's members are the nation's in everything else;
- **from a bureau's extract** (``extract:``, the layout of :mod:`yibao.sim.extract`, written by
  ``yibao export lab-extract``): the region's own members.

Every pool runs under the lab's composite rules (with the variant's reforms) and the calibrated
national utilisation; its accounts start from the nation's balance per member (scaled by its wage
level), its pooled fund from ``pooled_balance_yi`` or ``balance_months`` of its own first-year
pooled spending (default: the nation's months, NHSA's 2023 balance over the baseline's 2024
spending). A pool's projection does not depend on its balance, so it is run from zero and the
opening balance added; the adjustment fund then moves money between the pools year by year
(:func:`yibao.rules.adjustment_fund.adjust_year`, integer fen), and each pool's run-out year is
read alone and with the fund.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from yibao.rules.adjustment_fund import AdjustmentRule, adjust_year
from yibao.sim.extract import load_extract
from yibao.sim.funds import FEN_PER_YI, sample_columns
from yibao.sim.projection import START_YEAR, ProjectionStart

__all__ = ["AdjustmentSpec", "Pool", "apply_fund", "pool_start", "pool_summary"]


class Pool(BaseModel):
    """One pooling region of a scenario (``pools:``)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = ""
    name_en: str = ""
    members_share: float | None = Field(default=None, gt=0, le=1)
    retired_share: float | None = Field(default=None, gt=0, lt=1)
    wage_ratio: float = Field(default=1.0, ge=0.2, le=5.0)
    extract: str | None = None
    balance_months: float | None = Field(default=None, ge=0, le=600)
    pooled_balance_yi: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_source(self) -> Pool:
        if (self.members_share is None) == (self.extract is None):
            raise ValueError(
                "give exactly one of members_share (from the national sample) or extract (a file)"
            )
        if self.extract is not None and self.retired_share is not None:
            raise ValueError("retired_share applies to pools from the national sample, not to an extract")
        if self.balance_months is not None and self.pooled_balance_yi is not None:
            raise ValueError("give balance_months or pooled_balance_yi, not both")
        if self.extract is not None and self.balance_months is None and self.pooled_balance_yi is None:
            raise ValueError("a pool from an extract needs its pooled_balance_yi or balance_months")
        return self

    @property
    def label(self) -> str:
        return " / ".join(x for x in (self.name_zh, self.name_en) if x) or self.id


class AdjustmentSpec(BaseModel):
    """The scenario's ``adjustment_fund:`` (every number a scenario value; rules/adjustment_fund.py)."""

    model_config = ConfigDict(extra="forbid")
    levy_rate: float = Field(default=0.0, ge=0, le=1)
    allocation: Literal["deficit", "retirees"] = "deficit"
    reserve_months: float = Field(default=0.0, ge=0, le=120)
    central_subsidy: bool = False
    draws: int = Field(default=1, ge=1, le=500)  # how many of the scenario's draws the pools run

    def rule(self) -> AdjustmentRule:
        return AdjustmentRule(self.levy_rate, self.allocation, self.reserve_months, self.central_subsidy)


def pool_start(pool: Pool, national: ProjectionStart) -> ProjectionStart:
    """The pool's 2024 members (module docstring) with a zero pooled balance (added later)."""
    m = national.sample
    national_members = float(m["weight"].sum())
    if pool.extract is not None:
        p = sample_columns(load_extract(pool.extract, START_YEAR))
        own, nation = _mean_wage(p), _mean_wage(m)
        # the accounts' scale: the region's wage level (the nation's if it has no one in service)
        ratio = own / nation if own is not None and nation else 1.0
    else:
        assert pool.members_share is not None  # the validator's rule
        p = {k: v.copy() for k, v in m.items()}
        retired = m["status"] >= 2
        total = national_members * pool.members_share
        share = (
            pool.retired_share
            if pool.retired_share is not None
            else float(m["weight"][retired].sum() / national_members)
        )
        target = np.where(retired, total * share, total * (1 - share))
        groups = np.where(retired, m["weight"][retired].sum(), m["weight"][~retired].sum())
        p["weight"] = m["weight"] * target / groups
        for k in ("wage_fen", "pension_fen"):
            p[k] = np.rint(m[k] * pool.wage_ratio).astype(np.int64)
        ratio = pool.wage_ratio
    members = float(p["weight"].sum())
    account = national.account_balance_before * members / national_members * ratio
    return ProjectionStart(p, national.calibrated, account, 0.0)


def _mean_wage(m: dict[str, np.ndarray]) -> float | None:
    """The weighted mean wage of the in-service records (fen a year); None if there are none."""
    w = m["weight"] * (m["status"] < 2)
    return float(w @ m["wage_fen"]) / float(w.sum()) if w.sum() > 0 else None


def opening_balance(pool: Pool, first_year_spending: float, national_months: float) -> float:
    """The pool's pooled balance at the end of 2023 (亿元)."""
    if pool.pooled_balance_yi is not None:
        return pool.pooled_balance_yi
    months = pool.balance_months if pool.balance_months is not None else national_months
    return first_year_spending * months / 12


def apply_fund(
    paths: pl.DataFrame, openings: dict[str, float], rule: AdjustmentRule
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The adjustment fund over one (variant, draw)'s pool paths.

    ``paths``: one row per pool and year (``pool``, ``year``, ``pooled_income``, ``pooled_spending``,
    ``retired``; 亿元 nominal). Returns the pools' rows with ``balance_alone`` (no fund), ``levy``,
    ``need``, ``grant``, ``central`` and ``pooled_balance`` (with the fund), and the fund's own rows
    per year. Flows are integer fen inside; the frames carry 亿元."""
    pools = list(openings)
    years = sorted(set(paths["year"].to_list()))
    by = {(r["pool"], r["year"]): r for r in paths.iter_rows(named=True)}
    balance = np.array([round(openings[p] * FEN_PER_YI) for p in pools], dtype=np.int64)
    alone = balance.copy()
    fund = 0
    rows, fund_rows = [], []
    for y in years:
        cur = [by[(p, y)] for p in pools]
        income = np.array([round(r["pooled_income"] * FEN_PER_YI) for r in cur], dtype=np.int64)
        spending = np.array([round(r["pooled_spending"] * FEN_PER_YI) for r in cur], dtype=np.int64)
        a = adjust_year(rule, balance, income, spending, [r["retired"] for r in cur], fund)
        alone = alone + income - spending
        for i, r in enumerate(cur):
            rows.append(
                r
                | {
                    "balance_alone": int(alone[i]) / FEN_PER_YI,
                    "levy": int(a.levy[i]) / FEN_PER_YI,
                    "need": int(a.need[i]) / FEN_PER_YI,
                    "grant": int(a.grant[i]) / FEN_PER_YI,
                    "central": int(a.central[i]) / FEN_PER_YI,
                    "pooled_balance": int(a.closing[i]) / FEN_PER_YI,
                }
            )
        fund_rows.append(
            {
                "year": y,
                "fund_opening": fund / FEN_PER_YI,
                "levies": int(a.levy.sum()) / FEN_PER_YI,
                "grants": int(a.grant.sum()) / FEN_PER_YI,
                "central": int(a.central.sum()) / FEN_PER_YI,
                "fund_closing": a.fund_closing / FEN_PER_YI,
            }
        )
        balance, fund = a.closing, a.fund_closing
    return pl.DataFrame(rows), pl.DataFrame(fund_rows)


def _first(path: pl.DataFrame, col: str) -> int | None:
    below = path.filter(pl.col(col) < 0)
    return None if below.is_empty() else int(below["year"].min())  # type: ignore[arg-type]


def pool_summary(pools: pl.DataFrame) -> pl.DataFrame:
    """Per variant, draw and pool: the run-out year alone and with the fund, and the money moved."""
    rows = []
    for (variant, draw, pool), p in pools.group_by(["variant", "draw", "pool"], maintain_order=True):
        levies, grants = float(p["levy"].sum()), float(p["grant"].sum())
        rows.append(
            {
                "variant": variant,
                "draw": draw,
                "pool": pool,
                "label": p["label"][0],
                "retired_share_2024": float(p["retired"][0] / p["members"][0]),
                "exhaustion_alone": _first(p, "balance_alone"),
                "exhaustion_with_fund": _first(p, "pooled_balance"),
                "levies": levies,
                "grants": grants,
                "net_transfer": grants - levies,
                "central": float(p["central"].sum()),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "variant": pl.String,
            "draw": pl.Int64,
            "pool": pl.String,
            "label": pl.String,
            "retired_share_2024": pl.Float64,
            "exhaustion_alone": pl.Int64,
            "exhaustion_with_fund": pl.Int64,
            "levies": pl.Float64,
            "grants": pl.Float64,
            "net_transfer": pl.Float64,
            "central": pl.Float64,
        },
    )

