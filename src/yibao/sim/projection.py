"""Projection of the employee fund year by year to 2050 (issue 7).

From the calibrated 2024 sample (:mod:`yibao.sim.calibrate`), each following year:

1. **Ageing and deaths**: ages advance; a record's weight is thinned by the year's death rate
   (:mod:`yibao.sim.demography`).
2. **Retirement**: in-service members who reach the statutory age in the year retire — with the
   2025 rise (:mod:`yibao.rules.retirement_age`) or, to measure it, without. A new retiree's
   pension is ``pension_to_wage`` of the average wage. A member retiring short of
   ``retirement.min_years`` pays the missing months then (:func:`yibao.rules.retirement.assess_retirement`,
   the composite's lump-sum rule): pooled income of the year.
3. **Entries and exits**: in-service membership then moves by ``in_service_growth`` a year:
   new members aged 18–30 enter (status, sex and wage like today's members), or, when it falls,
   in-service weights shrink alike.
4. **The year by the rules** (:mod:`yibao.sim.year`) with the policy (baseline or a reform) at the
   year's 1 July; the calibrated 2024 base ratio, utilisation and account use carry on.

**Money.** The rules run in 2024 yuan: wages, bases, deductibles and ceilings stay at their 2024
values, so every fixed amount of the policy is taken as indexed to wages (assumption). Totals are
then multiplied by the wage index ``(1 + wage_growth)^(year − 2024)``, and claim costs in addition
by ``(1 + excess_cost_growth)^(year − 2024)``. The pooled fund carries its balance from the end of
2023 (NHSA's 2.6万亿, ``pooled_balance_2023``) with no interest (assumption: the balance is mostly
bank deposits and its yield is left out, which makes the paths conservative); the accounts carry
the model's 2023 balance. The pooled fund **runs out** in the first year its balance is below zero.

**Ranges.** Each :class:`Draw` is one set of the four growth assumptions; draw 0 is the central
set, the others are drawn uniformly within each assumption's range. Reforms and the baseline use
the same draws and the same random numbers, so their difference is the reform's alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import polars as pl

from yibao.policy.resolve import Policy
from yibao.rules.retirement import assess_retirement
from yibao.rules.retirement_age import statutory_retirement_month
from yibao.sim.assumptions import Assumptions
from yibao.sim.calibrate import CalibratedYear
from yibao.sim.demography import death_rate
from yibao.sim.funds import FEN_PER_YI
from yibao.sim.population import BLOCK_SIZE
from yibao.sim.year import YearRules, claims_year, contributions_year

__all__ = ["DRAWN", "START_YEAR", "Draw", "ProjectionStart", "assumption_draws", "exhaustion_year", "project"]

START_YEAR: Final = 2024
#: The assumptions each draw varies.
DRAWN: Final = ("wage_growth", "excess_cost_growth", "in_service_growth", "mortality_improvement")
ENTRANT_SHARE: Final = 0.03  # entrant records a year, as a share of the starting sample


@dataclass(frozen=True)
class Draw:
    """One set of the projection's growth assumptions."""

    index: int
    wage_growth: float
    excess_cost_growth: float
    in_service_growth: float
    mortality_improvement: float

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def assumption_draws(a: Assumptions, n: int, seed: int) -> list[Draw]:
    """Draw 0 at the central values; draws 1..n-1 uniform within each range."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    out = [Draw(0, *(float(a[k]) for k in DRAWN))]
    for i in range(1, n):
        values = []
        for k in DRAWN:
            lo, hi = a.parameters[k].range or (a[k], a[k])
            values.append(float(rng.uniform(lo, hi)))
        out.append(Draw(i, *values))
    return out


@dataclass(frozen=True)
class ProjectionStart:
    """Where every projection starts: the 2024 sample and the calibrated parameters."""

    sample: dict[str, np.ndarray]
    calibrated: CalibratedYear  # 2024
    account_balance_before: float  # 亿元, end of 2023 (the model's path)
    pooled_balance_before: float  # 亿元, end of 2023 (assumptions: pooled_balance_2023)


class _Rules:
    """YearRules by (policy label, year), built once per projection run."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._cache: dict[int, YearRules] = {}

    def __call__(self, year: int) -> YearRules:
        if year not in self._cache:
            self._cache[year] = YearRules.build(self.policy, year)
        return self._cache[year]


def blocks(n: int) -> Iterator[tuple[int, slice]]:
    """The random-number blocks of n records: (block id, slice)."""
    for b in range(-(-n // BLOCK_SIZE)):
        yield b, slice(b * BLOCK_SIZE, min(n, (b + 1) * BLOCK_SIZE))


def _year_results(
    m: dict[str, np.ndarray],
    rules: YearRules,
    c: CalibratedYear,
    cost_index: float,
    seed: int,
    keep: bool = False,
) -> tuple[dict[str, float], dict[str, np.ndarray] | None]:
    """The year's weighted totals (亿元, in the rules' yuan) and, if ``keep``, every record's results."""
    u = c.utilisation.scaled(cost_index)

    totals: dict[str, float] = {}
    parts = []
    for b, s in blocks(len(m["status"])):
        part = {k: v[s] for k, v in m.items()}
        res = contributions_year(part, rules, c.base_ratio) | claims_year(part, rules, u, seed, b)
        w = part["weight"]
        for k, v in res.items():
            totals[k] = totals.get(k, 0.0) + float(w @ v) / FEN_PER_YI
        if keep:
            parts.append(res)
    return totals, ({k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if keep else None)


def _entrants(
    m: dict[str, np.ndarray],
    year: int,
    count: int,
    weight: float,
    pension_wage: float,
    women_50_share: float,
    seed: int,
) -> dict[str, np.ndarray]:
    """``count`` new in-service records aged 18–30, like today's members in status and wage."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, 2]))
    in_service = m["status"] < 2
    w = m["weight"] * in_service
    flexible_share = float(w[m["status"] == 1].sum() / w.sum())
    status = (rng.random(count) < flexible_share).astype(np.int8)
    # new-form workers among the flexible entrants as among today's flexible members
    flexible = m["status"] == 1
    new_form = m.get("new_form", np.zeros(flexible.size, np.bool_))
    new_form_share = float(w[flexible & new_form].sum()) / max(float(w[flexible].sum()), 1e-300)
    male = rng.random(count) < 0.5
    original = np.where(male, 60, np.where(rng.random(count) < women_50_share, 50, 55)).astype(np.int8)
    age = rng.uniform(18, 30, count)
    birth = (year * 12 + 11 - np.floor(age * 12)).astype(np.int32)
    # wages: drawn from today's in-service members of the same status (weighted)
    wage = np.empty(count, dtype=np.int64)
    for s in (0, 1):
        pool = np.flatnonzero(m["status"] == s)
        k = status == s
        if pool.size and k.any():
            p = m["weight"][pool] / m["weight"][pool].sum()
            wage[k] = m["wage_fen"][rng.choice(pool, size=int(k.sum()), p=p)]
    del pension_wage  # entrants are in service: no pension
    return {
        "status": status,
        "male": male,
        "age": (year - birth // 12).astype(np.int16),
        "birth_month": birth,
        "months_paid": np.zeros(count, np.int64),
        "original_age": original,
        "wage_fen": wage,
        "pension_fen": np.zeros(count, np.int64),
        "weight": np.full(count, weight),
        "new_form": (status == 1) & (rng.random(count) < new_form_share),
    }


def _shortfall_payments(m: dict[str, np.ndarray], retire: np.ndarray, rules: YearRules) -> float:
    """What members retiring short of the minimum years pay for the missing months (亿元, the
    rules' yuan): :func:`yibao.rules.retirement.assess_retirement` on their months paid."""
    idx = np.flatnonzero(retire)
    if not idx.size:
        return 0.0
    months = m["months_paid"][idx]
    zeros = np.zeros(idx.size, np.int64)
    sex = (~m["male"][idx]).astype(np.int64)  # 0 male, 1 female
    cols = assess_retirement(rules.snapshot, sex, months, zeros, zeros, months, zeros, price_shortfall=True)
    return float(m["weight"][idx] @ cols.shortfall_payment_fen) / FEN_PER_YI


def project(
    start: ProjectionStart,
    draw: Draw,
    a: Assumptions,
    policy: Policy,
    end_year: int = 2050,
    retirement_reform: bool = True,
    seed: int = 1,
    keep_year: int | None = None,
) -> tuple[pl.DataFrame, dict[str, np.ndarray] | None]:
    """The yearly path of one draw: ``(one row per year, the records' results in keep_year)``.

    Row columns: members, in service, retired (persons); contributions, account credits, pooled
    income, pooled spending, account spending (亿元, nominal); pooled and account balances at the
    year's end; the wage and cost indices."""
    c = start.calibrated
    rules = _Rules(policy)
    m = {k: v.copy() for k, v in start.sample.items()}
    # the month each member reaches the statutory age: fixed at birth, computed once
    m["retire_month"] = statutory_retirement_month(m["birth_month"], m["original_age"], retirement_reform)
    unit = m["status"] == 0
    pension_wage = float(np.average(m["wage_fen"][unit], weights=m["weight"][unit]))
    pension_fen = round(pension_wage * float(a["pension_to_wage"]))
    entrant_records = max(1, round(len(m["status"]) * ENTRANT_SHARE))
    pooled, account = start.pooled_balance_before, start.account_balance_before
    in_service_prev = float(m["weight"][m["status"] < 2].sum())
    rows = []
    kept = None
    mortality = _with_draw(a, draw)  # the draw's mortality improvement, once for every year
    for year in range(START_YEAR, end_year + 1):
        shortfall = 0.0
        if year > START_YEAR:
            m["age"] = (year - m["birth_month"] // 12).astype(np.int16)
            m["weight"] = m["weight"] * (1 - death_rate(m["age"], m["male"], year, mortality))
            m["months_paid"] = np.where(m["status"] < 2, m["months_paid"] + 12, m["months_paid"])
            retire = (m["status"] < 2) & (m["retire_month"] <= year * 12 + 11)
            shortfall = _shortfall_payments(m, retire, rules(year))
            m["status"] = np.where(retire, m["status"] + 2, m["status"]).astype(np.int8)
            m["pension_fen"] = np.where(retire, pension_fen, m["pension_fen"])
            m["wage_fen"] = np.where(retire, 0, m["wage_fen"])
            target = in_service_prev * (1 + draw.in_service_growth)
            active = m["status"] < 2
            now = float(m["weight"][active].sum())
            if target > now:
                new = _entrants(
                    m,
                    year,
                    entrant_records,
                    (target - now) / entrant_records,
                    pension_fen,
                    float(a["women_original_age_50_share"]),
                    seed,
                )
                new["retire_month"] = statutory_retirement_month(
                    new["birth_month"], new["original_age"], retirement_reform
                )
                m = {k: np.concatenate([m[k], new[k]]) for k in m}
            elif now > 0:
                m["weight"] = np.where(active, m["weight"] * target / now, m["weight"])
            in_service_prev = target
        wage_index = (1 + draw.wage_growth) ** (year - START_YEAR)
        cost_index = (1 + draw.excess_cost_growth) ** (year - START_YEAR)
        t, res = _year_results(m, rules(year), c, cost_index, seed, keep=year == keep_year)
        w = m["weight"]
        contributions = (t["employer"] + t["individual"] + t["retiree"] + shortfall) * wage_index
        credits = t["account_credit"] * wage_index
        spending = (t["inpatient_fund"] + t["outpatient_fund"]) * wage_index
        available = account + credits
        account_spending = available * c.account_use
        account = available - account_spending
        pooled = pooled + contributions - credits - spending
        retired = m["status"] >= 2
        rows.append(
            {
                "year": year,
                "draw": draw.index,
                "members": float(w.sum()),
                "in_service": float(w[~retired].sum()),
                "retired": float(w[retired].sum()),
                "contributions": contributions,
                "shortfall_payments": shortfall * wage_index,
                "account_credits": credits,
                "pooled_income": contributions - credits,
                "pooled_spending": spending,
                "account_spending": account_spending,
                "pooled_balance": pooled,
                "account_balance": account,
                "wage_index": wage_index,
                "cost_index": cost_index,
            }
        )
        if res is not None:
            kept = {k: v.copy() for k, v in m.items()} | {f"r_{k}": v for k, v in res.items()}
    return pl.DataFrame(rows), kept


def _with_draw(a: Assumptions, draw: Draw) -> Assumptions:
    """The assumptions with the draw's mortality improvement (the others are applied directly)."""
    if a["mortality_improvement"] == draw.mortality_improvement:
        return a
    return a.with_overrides({"mortality_improvement": draw.mortality_improvement})


def exhaustion_year(path: pl.DataFrame) -> int | None:
    """The first year the pooled balance is below zero, None if it never is by the path's end."""
    below = path.filter(pl.col("pooled_balance") < 0)
    return None if below.is_empty() else int(below["year"].min())  # type: ignore[arg-type]
