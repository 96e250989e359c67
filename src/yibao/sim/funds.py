"""The employee fund's income in the policy lab: contributions and account credits by the bureau's
rules (issue 7); spending comes from the settled claims (:mod:`yibao.sim.year`, calibrated in
:mod:`yibao.sim.calibrate`).

**By the rules.** Each sample record is assessed with
:func:`yibao.sim.year.contributions_year` on the composite region's policy at the year's 1 July
(``lab_region.yaml``) and weighted up to the population. A unit member's base is the wage times the
year's **base ratio** (the calibrated share of wages actually declared, seed 000's 做实缴费基数,
which also absorbs rates above the composite's 6% + 2% and maternity insurance folded in from
2019); a flexible worker pays on the region's base option, a retiree pays only where a policy sets
a retiree rate. 2020: employers' medical contributions were halved from February to July
(人民日报 2021-03-10, statistics.yaml ``relief2021``), i.e. three months' employer contributions
fewer.

Amounts are integer fen per record from the rules; weighted totals are floats in 亿元 (10⁸ yuan).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final

import numpy as np
import polars as pl

from yibao.policy.registry import Registry
from yibao.policy.resolve import Policy
from yibao.sim.year import YearRules, contributions_year

__all__ = ["FEN_PER_YI", "RELIEF_2020_EMPLOYER_MONTHS", "YearFlows", "lab_policy",
           "sample_columns", "year_flows"]

FEN_PER_YI: Final = 10**10  # 1亿元 = 10⁸ yuan = 10¹⁰ fen
#: 2020: employer medical contributions halved for six months (Feb-Jul) = three months fewer.
RELIEF_2020_EMPLOYER_MONTHS: Final = 3


@lru_cache(maxsize=16)
def lab_policy(reforms: tuple[str, ...] = ()) -> Policy:
    """The composite region (``lab_region.yaml``) on the shipped national baseline, with reform
    overlays by id (``params/reforms/``) or by the path of a user's reform file."""
    path = resources.files("yibao.sim").joinpath("lab_region.yaml")
    return Registry([str(path)]).policy("lab_national", reforms)


@dataclass(frozen=True)
class YearFlows:
    """A year's money in 亿元, weighted to the whole membership."""

    year: int
    contributions: float      # employer + individual, after the 2020 relief
    employer: float
    individual: float
    account_credits: float    # money credited to individual accounts
    members_in_service: float
    members_retired: float

    @property
    def pooled_income(self) -> float:
        """Contributions less every account credit: NHSA counts all credits as account income
        (the 2024 flash: 23671.59 in all, 17368.93 pooled)."""
        return self.contributions - self.account_credits


def sample_columns(sample: pl.DataFrame) -> dict[str, np.ndarray]:
    """A population frame as the numpy columns the year's rules take."""
    return {c: sample[c].to_numpy() for c in sample.columns}


def year_flows(sample: pl.DataFrame | dict[str, np.ndarray], year: int, base_ratio: float,
               policy: Policy | None = None, rules: YearRules | None = None) -> YearFlows:
    """Contributions and account credits of the year for a weighted sample (module docstring);
    pass ``rules`` (:meth:`YearRules.build`) when calling many times for one year."""
    rules = rules or YearRules.build(policy or lab_policy(), year)
    m = sample_columns(sample) if isinstance(sample, pl.DataFrame) else sample
    employer_months = 12 - (RELIEF_2020_EMPLOYER_MONTHS if year == 2020 else 0)
    c = contributions_year(m, rules, base_ratio, employer_months)
    weight = m["weight"]
    employer = float(weight @ c["employer"]) / FEN_PER_YI
    individual = float(weight @ (c["individual"] + c["retiree"])) / FEN_PER_YI
    credit = float(weight @ c["account_credit"]) / FEN_PER_YI
    retired = m["status"] >= 2
    return YearFlows(year, employer + individual, employer, individual, credit,
                     float(weight[~retired].sum()), float(weight[retired].sum()))
