"""Deaths and retirements of the lab's members from one year to the next.

**Mortality.** A Gompertz curve through the 2000–2003 insured-lives table's q(19), with the slope
that gives the table's life expectancy at birth (CL1/CL2, 保监发〔2005〕117号; ``assumptions.yaml``
``mortality_q19``, ``life_expectancy_at_birth``): ``q(x) = q19 × exp(B × (x − 19))``, capped at 1,
with q19 below age 19. Every age's mortality then falls by ``mortality_improvement`` a year from
2002, the table's middle year (assumption). Deaths thin a record's weight; they draw no random
numbers, so the projection of a sample is smooth and exactly repeatable.

**Retirement.** An in-service member retires in the year they reach the statutory age
(:func:`yibao.rules.retirement_age.statutory_retirement_month`, with the 2025 rise or without).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from yibao.rules.retirement_age import statutory_retirement_month
from yibao.sim.assumptions import Assumptions

__all__ = ["TABLE_YEAR", "death_rate", "gompertz_slope", "retires_in"]

TABLE_YEAR: Final = 2002  # the 2000–2003 table's middle year
MAX_AGE: Final = 120


@lru_cache(maxsize=8)
def gompertz_slope(q19: float, e0: float) -> float:
    """The slope B for which the Gompertz curve through q19 has life expectancy ``e0`` at birth."""
    ages = np.arange(MAX_AGE)

    def expectancy(b: float) -> float:
        q = np.minimum(1.0, q19 * np.exp(b * np.maximum(ages - 19, 0)))
        alive = np.cumprod(1 - q)
        return float(alive.sum() + 0.5)

    lo, hi = 0.01, 0.3
    for _ in range(60):  # expectancy falls as the slope rises
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expectancy(mid) > e0 else (lo, mid)
    return (lo + hi) / 2


def death_rate(age: npt.ArrayLike, male: npt.ArrayLike, year: int, a: Assumptions) -> npt.NDArray[np.float64]:
    """Probability of dying within ``year`` at ``age`` (module docstring)."""
    age = np.asarray(age, dtype=np.float64)
    male = np.asarray(male, dtype=bool)
    out = np.empty(age.shape)
    improve = (1 - a["mortality_improvement"]) ** (year - TABLE_YEAR)
    for sex, mask in (("male", male), ("female", ~male)):
        q19 = a["mortality_q19"][sex]
        b = gompertz_slope(q19, a["life_expectancy_at_birth"][sex])
        out[mask] = np.minimum(1.0, q19 * np.exp(b * np.maximum(age[mask] - 19, 0)) * improve)
    return out


def retires_in(year: int, birth_month: npt.ArrayLike, original_age: npt.ArrayLike,
               reform: bool = True) -> npt.NDArray[np.bool_]:
    """Whether the statutory retirement month falls in ``year`` or earlier."""
    month = statutory_retirement_month(birth_month, original_age, reform)
    out: npt.NDArray[np.bool_] = month <= year * 12 + 11
    return out
