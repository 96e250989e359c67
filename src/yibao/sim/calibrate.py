"""Calibration report of the policy lab (issue 7): the model's figure next to the published one.

Every published value of a figure the model produces is a row: target, model, relative error,
and whether the year was used to build the model (``fit``) or held out (``held out``: its own
figures were hidden and the model interpolated them from the neighbouring years) or ``check``
(never fitted). The counts come from the weighted sample; the fund figures from the fund year
(:mod:`yibao.sim.funds`) with three calibrated parameters per year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Final

import numpy as np
import polars as pl

from yibao.sim.assumptions import Assumptions, lab_assumptions
from yibao.sim.claims import Utilisation, tilt_norm, utilisation
from yibao.sim.funds import FEN_PER_YI, lab_policy, sample_columns, year_flows
from yibao.sim.population import between_years, build_population, insured_counts
from yibao.sim.statistics import Statistics, national_statistics
from yibao.sim.year import YearRules, claims_year

__all__ = ["COUNT_FIGURES", "DEFAULT_HELD_OUT", "TOLERANCE", "CalibratedYear", "calibrated_years",
           "calibration", "count_calibration", "fund_calibration", "sample_utilisation"]

#: issue 7: the baseline reproduces every national figure within 3%.
TOLERANCE: Final = 0.03
#: The year held out of calibration: 2022 publishes every figure the lab models (counts and splits,
#: fund income and spending, account balance), each with neighbours on both sides to interpolate from.
DEFAULT_HELD_OUT: Final = 2022
#: Count figures and the population attribute that models each.
COUNT_FIGURES: Final = {"employee_enrollees": "total", "employee_in_service": "in_service",
                        "employee_retired": "retired", "flexible_and_other_enrollees": "flexible"}
#: Employee pooled fund balances (亿元): the 2022 flash report (21470.04, policy_sources.yaml 2022
#: flash_employee_pooled_fund_cumulative_balance) and NHSA's rounded 2.6万亿 at the end of 2023.
POOLED_BALANCE_2022: Final = 21470.04
POOLED_BALANCE_2023: Final = 26000.0
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


def _bisect(f: Callable[[float], float], target: float, lo: float, hi: float, steps: int = 40) -> float:
    """The x in [lo, hi] where the increasing ``f`` reaches ``target``."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return (lo + hi) / 2


@dataclass(frozen=True)
class CalibratedYear:
    """The calibrated parameters of one year, and how each was obtained."""

    year: int
    base_ratio: float
    base_ratio_how: str
    outpatient_mean: float  # yuan per in-service user a year
    outpatient_how: str
    account_use: float
    utilisation: Utilisation
    account_balance: float  # 亿元 at the year's end (the model's path from the 2019 balance)


def sample_utilisation(m: dict[str, np.ndarray], year: int, a: Assumptions,
                       outpatient_mean: float) -> Utilisation:
    """The year's utilisation with the age tilt normalised on this sample's members."""
    retired = m["status"] >= 2
    norm = tilt_norm(m["age"], retired, m["weight"], a["inpatient_age_gradient"])
    rate = a["admission_rate"]
    overall = float(np.average(np.where(retired, rate["retired"], rate["in_service"]), weights=m["weight"]))
    return utilisation(year, a, outpatient_mean, norm, overall)


def fund_calibration(held_out: int | None = DEFAULT_HELD_OUT, agents: int = 20_000, seed: int = 1,
                     stats: Statistics | None = None, assumptions: Assumptions | None = None
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fund figures: ``(rows like count_calibration's, the calibrated parameters by year)``.

    Income: the base ratio at which the rules' contributions equal the published income. Spending:
    the claims settled by the rules (pooled and large-amount funds) plus the accounts' spending
    (``use × available``, the use fitted to the published balances); the outpatient cost level is
    solved so the two add up to the published spending. The held-out year's targets are not used:
    its parameters are interpolated and its figures compared. ``check`` rows are never fitted."""
    return _calibration(held_out, agents, seed, stats, assumptions)[:2]


def calibration(held_out: int | None = None, agents: int = 20_000, seed: int = 1,
                stats: Statistics | None = None, assumptions: Assumptions | None = None
                ) -> tuple[pl.DataFrame, pl.DataFrame, dict[int, CalibratedYear]]:
    """Figures, parameters and every year's calibrated parameters, from one calibration run."""
    return _calibration(held_out, agents, seed, stats, assumptions)


def calibrated_years(held_out: int | None = None, agents: int = 20_000, seed: int = 1,
                     stats: Statistics | None = None, assumptions: Assumptions | None = None
                     ) -> dict[int, CalibratedYear]:
    """Every year's calibrated parameters (the projection starts from the last)."""
    return _calibration(held_out, agents, seed, stats, assumptions)[2]


def _calibration(held_out: int | None, agents: int, seed: int, stats: Statistics | None,
                 assumptions: Assumptions | None
                 ) -> tuple[pl.DataFrame, pl.DataFrame, dict[int, CalibratedYear]]:
    stats = stats or national_statistics()
    a = assumptions or lab_assumptions()
    figures = {k: stats.figures[k].by_year() for k in ("employee_fund_income", "employee_fund_expenditure",
                                                        "employee_account_balance",
                                                        "employee_pooled_fund_income")}
    years = sorted(stats.figures["employee_enrollees"].by_year())
    policy = lab_policy()
    rules = {y: YearRules.build(policy, y) for y in years}
    samples = {y: sample_columns(build_population(y, agents, seed, stats, held_out)) for y in years}
    def income(y: int, ratio: float) -> float:
        return year_flows(samples[y], y, ratio, rules=rules[y]).contributions

    ratios = {y: _bisect(partial(income, y), v, 0.2, 2.0)
              for y, v in figures["employee_fund_income"].items() if y != held_out}
    flows = {}
    base: dict[int, tuple[float, str]] = {}
    for y in years:
        base[y] = _interpolate(ratios, y)
        flows[y] = year_flows(samples[y], y, base[y][0], rules=rules[y])
    # accounts: the share of the money available in a year that members spend, from the balances
    balances = figures["employee_account_balance"]
    start = min(balances)
    shown = {y: v for y, v in balances.items() if y != held_out}
    use = {y: 1 - shown[y] / (shown[y - 1] + flows[y].account_credits) for y in shown if y - 1 in shown}
    balance = {start: balances[start]}
    for y in [y for y in years if y > start]:
        balance[y] = (balance[y - 1] + flows[y].account_credits) * (1 - _interpolate(use, y)[0])
    for y in sorted((y for y in years if y < start), reverse=True):  # back from the first balance
        u_next = _interpolate(use, y + 1)[0]
        balance[y] = balance[y + 1] / (1 - u_next) - flows[y + 1].account_credits
    account_spend = {y: balance[y] * _interpolate(use, y)[0] / (1 - _interpolate(use, y)[0]) for y in years}

    # each year's utilisation once (its age tilt is normalised over the whole sample); the
    # bisection only changes the outpatient level
    base_use = {y: sample_utilisation(samples[y], y, a, 0.0) for y in years}

    def pooled_spend(y: int, mean: float) -> tuple[float, dict[str, float]]:
        u = replace(base_use[y], outpatient_mean=mean)
        c = claims_year(samples[y], rules[y], u, seed, 0)
        w = samples[y]["weight"]
        tot = {k: float(w @ v) for k, v in c.items()}
        return (tot["inpatient_fund"] + tot["outpatient_fund"]) / FEN_PER_YI, tot

    def pooled(y: int, mean: float) -> float:
        return pooled_spend(y, mean)[0]

    means = {y: _bisect(partial(pooled, y), v - account_spend[y], 0.0, 50_000.0, 30)
             for y, v in figures["employee_fund_expenditure"].items() if y != held_out}
    rows: list[dict[str, Any]] = []
    params: list[dict[str, Any]] = []
    calibrated = {}
    for y in years:
        mean, how_mean = _interpolate(means, y)
        spent, tot = pooled_spend(y, mean)
        u_y = _interpolate(use, y)[0]
        calibrated[y] = CalibratedYear(y, base[y][0], base[y][1], mean, how_mean, u_y,
                                       replace(base_use[y], outpatient_mean=mean), balance[y])
        w = samples[y]["weight"]
        params.append({"year": y, "base_ratio": base[y][0], "base_ratio_how": base[y][1],
                       "outpatient_mean_yuan": mean, "outpatient_how": how_mean, "account_use": u_y,
                       "admission_rate": tot["admissions"] / float(w.sum()),
                       "pooled_spending": spent, "account_spending": account_spend[y]})
        model = {"employee_fund_income": flows[y].contributions,
                 "employee_fund_expenditure": spent + account_spend[y],
                 "employee_account_balance": balance[y],
                 "employee_pooled_fund_income": flows[y].pooled_income}
        for figure, series in figures.items():
            if y not in series:
                continue
            role = ("check" if figure == "employee_pooled_fund_income" else
                    "start" if figure == "employee_account_balance" and y == start else
                    "held out" if y == held_out else "fit")
            rows.append(_row(figure, y, series[y], model[figure], role,
                             {"employee_fund_income": base[y][1],
                              "employee_fund_expenditure": how_mean}.get(figure, "rules")))
        rows += _checks(y, a, tot, float(w.sum()), flows[y].pooled_income - spent)
    table = pl.DataFrame(rows).sort("figure", "year")
    return _pooled_balance_check(table, stats), pl.DataFrame(params), calibrated


def _row(figure: str, year: int, target: float, model: float, role: str, how: str) -> dict[str, Any]:
    return {"figure": figure, "year": year, "target": float(target), "model": float(model),
            "error": float(model) / float(target) - 1, "role": role, "how": how}


def _checks(y: int, a: Assumptions, tot: dict[str, float], members: float,
            pooled_surplus: float) -> list[dict[str, Any]]:
    """Figures the calibration does not fit: the overall admission rate drawn (2023's rate sets
    the year's scale, so only the Poisson draws of the sample can move it: a check of the
    sampling), and the funds' share of in-catalogue inpatient cost (summary2022 / bulletin2023)."""
    rows = []
    overall = a["admission_rate_overall"]
    if y in overall:
        rows.append(_row("employee_admission_rate", y, overall[y], tot["admissions"] / members, "check",
                         "drawn"))
    shares = a["in_catalogue_fund_share"]
    if y in shares:
        rows.append(_row("employee_inpatient_in_catalogue_fund_share", y, shares[y],
                         tot["inpatient_fund"] / tot["inpatient_in_scope"], "check", "rules"))
    rows.append({"figure": "_pooled_surplus", "year": y, "target": 0.0, "model": pooled_surplus,
                 "error": 0.0, "role": "internal", "how": ""})
    return rows


def _pooled_balance_check(table: pl.DataFrame, stats: Statistics) -> pl.DataFrame:
    """The employee pooled fund's balance at the end of 2023 (NHSA, rounded 2.6万亿) against the
    2022 flash balance (21470.04亿) plus the model's 2023 pooled income less pooled spending: a
    check of the rules' split and of the claims, never fitted."""
    surplus = {r["year"]: r["model"] for r in table.filter(pl.col("figure") == "_pooled_surplus").iter_rows(
        named=True)}
    table = table.filter(pl.col("figure") != "_pooled_surplus")
    if 2023 not in surplus:
        return table
    model = POOLED_BALANCE_2022 + surplus[2023]
    row = _row("employee_pooled_fund_balance", 2023, POOLED_BALANCE_2023, model, "check",
               "2022 flash balance + model 2023")
    return pl.concat([table, pl.DataFrame([row])]).sort("figure", "year")
