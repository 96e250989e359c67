"""Deaths and retirements of the lab's members from one year to the next.

**Mortality.** A Gompertz curve through the 2000–2003 insured-lives table's q(19), with the slope
that gives the table's life expectancy at birth (CL1/CL2, 保监发〔2005〕117号; ``assumptions.yaml``
``mortality_q19``, ``life_expectancy_at_birth``): ``q(x) = q19 × exp(B × (x − 19))``, capped at 1,
with q19 below age 19. Every age's mortality then falls by ``mortality_improvement`` a year from
2002, the table's middle year (assumption). Deaths thin a record's weight; they draw no random
numbers, so the projection of a sample is smooth and exactly repeatable.

Retirement is the statutory age of :mod:`yibao.rules.retirement_age` (the projection applies it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from yibao.sim.assumptions import Assumptions

__all__ = ["TABLE_YEAR", "death_rate", "gompertz_slope"]

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
    ages = np.clip(np.asarray(age, dtype=np.int64), 0, MAX_AGE)
    male = np.asarray(male, dtype=bool)
    improve = (1 - a["mortality_improvement"]) ** (year - TABLE_YEAR)
    table = np.empty((2, MAX_AGE + 1))  # [female, male][age]: a look-up, not an exp per member
    for row, sex in ((0, "female"), (1, "male")):
        q19 = a["mortality_q19"][sex]
        b = gompertz_slope(q19, a["life_expectancy_at_birth"][sex])
        table[row] = np.minimum(1.0, q19 * np.exp(b * np.maximum(np.arange(MAX_AGE + 1) - 19, 0)) * improve)
    out: npt.NDArray[np.float64] = table[male.astype(np.intp), ages]
    return out
