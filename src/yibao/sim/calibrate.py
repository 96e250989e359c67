"""Calibration report of the policy lab (issue 7): the model's figure next to the published one.

Every published value of a figure the model produces is a row: target, model, relative error,
and whether the year was used to build the model (``fit``) or held out (``held out``: its own
figures were hidden and the model interpolated them from the neighbouring years) or ``check``
(never fitted). The counts come from the weighted sample; the fund figures from the fund year
(:mod:`yibao.sim.funds`) with three calibrated parameters per year.
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from yibao.sim.funds import RETIRED_COST_RATIO, year_flows
from yibao.sim.population import between_years, build_population, insured_counts
from yibao.sim.statistics import Statistics, national_statistics

__all__ = ["COUNT_FIGURES", "DEFAULT_HELD_OUT", "TOLERANCE", "count_calibration", "fund_calibration"]

#: issue 7: the baseline reproduces every national figure within 3%.
TOLERANCE: Final = 0.03
#: The year held out of calibration: 2022 publishes every figure the lab models (counts and splits,
#: fund income and spending, account balance), each with neighbours on both sides to interpolate from.
DEFAULT_HELD_OUT: Final = 2022
#: Count figures and the population attribute that models each.
COUNT_FIGURES: Final = {"employee_enrollees": "total", "employee_in_service": "in_service",
                        "employee_retired": "retired", "flexible_and_other_enrollees": "flexible"}
_STATUS_SETS: Final = {"total": (0, 1, 2, 3), "in_service": (0, 1), "retired": (2, 3), "flexible": (1, 3)}


def count_calibration(held_out: int | None = DEFAULT_HELD_OUT, agents: int = 20_000, seed: int = 1,
                      stats: Statistics | None = None) -> pl.DataFrame:
    """Member counts: the weighted sample of each year against each published value (persons)."""
    stats = stats or national_statistics()
    rows = []
    years = sorted(stats.figures["employee_enrollees"].by_year())
    for year in years:
        sample = build_population(year, agents, seed, stats, held_out)
        how = insured_counts(year, stats, held_out).how
        for figure, attribute in COUNT_FIGURES.items():
            target = stats.figures[figure].by_year().get(year)
            if target is None:
                continue
            model = float(sample.filter(pl.col("status").is_in(_STATUS_SETS[attribute]))["weight"].sum())
            share = "retired_share" if attribute in ("in_service", "retired") else (
                "flexible_share" if attribute == "flexible" else None)
            rows.append({"figure": figure, "year": year, "target": target * 10_000, "model": round(model),
                         "error": model / (target * 10_000) - 1,
                         "role": "held out" if year == held_out and attribute != "total" else "fit",
                         "how": how[share] if share else "published"})
    return pl.DataFrame(rows).sort("figure", "year")


def _interpolate(known: dict[int, float], year: int) -> tuple[float, str]:
    """A calibrated parameter in a year without its own target: linear between the nearest fitted
    years, or carried from the nearest one at either end (a trend would run away)."""
    value, how = between_years(known, year, ends="carry")
    return value, how or "fitted"


def _solve_base_ratio(sample: pl.DataFrame, year: int, target: float) -> float:
    """The base ratio at which the rules' contributions equal the published income (bisection:
    income rises with the ratio; the floor and cap make it piecewise linear)."""
    lo, hi = 0.2, 2.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if year_flows(sample, year, mid).contributions < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def fund_calibration(held_out: int | None = DEFAULT_HELD_OUT, agents: int = 20_000, seed: int = 1,
                     stats: Statistics | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fund figures: ``(rows like count_calibration's, the calibrated parameters by year)``.

    The held-out year's targets are not used: its parameters are interpolated from the other years,
    and its figures compared with the published ones. ``employee_pooled_fund_income`` is never
    used for fitting (role ``check``): it tests the account split the rules make."""
    stats = stats or national_statistics()
    figures = {k: stats.figures[k].by_year() for k in ("employee_fund_income", "employee_fund_expenditure",
                                                        "employee_account_balance",
                                                        "employee_pooled_fund_income")}
    years = sorted(stats.figures["employee_enrollees"].by_year())
    samples = {y: build_population(y, agents, seed, stats, held_out) for y in years}
    ratios = {y: _solve_base_ratio(samples[y], y, v) for y, v in figures["employee_fund_income"].items()
              if y != held_out}
    flows = {}
    params: list[dict[str, Any]] = []
    for y in years:
        ratio, how_ratio = _interpolate(ratios, y)
        flows[y] = year_flows(samples[y], y, ratio)
        params.append({"year": y, "base_ratio": ratio, "base_ratio_how": how_ratio})
    heads = {y: (flows[y].members_in_service + RETIRED_COST_RATIO * flows[y].members_retired) for y in years}
    cost = {y: v * 1e8 / heads[y] for y, v in figures["employee_fund_expenditure"].items() if y != held_out}
    balances = figures["employee_account_balance"]
    start = min(balances)
    use: dict[int, float] = {}
    balance = {start: balances[start]}
    for y in [y for y in years if y > start]:
        available = balance[y - 1] + flows[y].account_credits
        if y in balances and y != held_out:
            use[y] = 1 - balances[y] / available
        share, _ = _interpolate(use, y) if use else (0.0, "none")
        balance[y] = available * (1 - share)
    rows = []
    for p in params:
        y = p["year"]
        per_head, how_cost = _interpolate(cost, y)
        p |= {"spend_per_member_yuan": per_head, "spend_how": how_cost}
        p |= {"account_use": _interpolate(use, y)[0] if use and y > start else None}
        model = {"employee_fund_income": flows[y].contributions,
                 "employee_fund_expenditure": per_head * heads[y] / 1e8,
                 "employee_account_balance": balance.get(y),
                 "employee_pooled_fund_income": flows[y].pooled_income}
        for figure, series in figures.items():
            value = model[figure]
            if y not in series or value is None:
                continue
            role = ("check" if figure == "employee_pooled_fund_income" else
                    "start" if figure == "employee_account_balance" and y == start else
                    "held out" if y == held_out else "fit")
            rows.append({"figure": figure, "year": y, "target": series[y], "model": float(value),
                         "error": float(value) / series[y] - 1, "role": role,
                         "how": {"employee_fund_income": p["base_ratio_how"],
                                 "employee_fund_expenditure": how_cost}.get(figure, "rules")})
    return pl.DataFrame(rows).sort("figure", "year"), pl.DataFrame(params)
