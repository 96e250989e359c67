"""The claims of a year, drawn from utilisation by age and status (issue 7; ``assumptions.yaml``).

Per member and year:

- **Admissions** ~ Poisson(rate), rate = the status's published admission rate (2021: 9.9% in
  service, 39.5% retirees), scaled for the year so the overall rate follows the published one
  (21.86% in 2023), and tilted by age within the status (``inpatient_age_gradient``, normalised
  by the status's mean of the tilt in the calibration sample so the status keeps its rate).
- **An admission's cost**: the hospital level is drawn from ``inpatient_level_shares``; the cost
  is the level's published mean (2021) scaled to the year's published average cost, times a
  log-normal of mean 1 (``inpatient_cost_sigma``). A share (``out_of_scope_share``) is outside the
  catalogue (全自费).
- **Outpatient care**: a member uses outpatient care with probability ``outpatient_use``; the
  year's outpatient cost is one claim, log-normal around the year's calibrated outpatient level
  (retirees ``outpatient_retired_factor`` times more).

Every amount is int64 fen. Draws come from the generator the caller passes (one per block, so a
population's claims do not depend on how it is chunked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from yibao.policy.catalog import LEVELS
from yibao.rules.settlement import MAX_AMOUNT_FEN
from yibao.sim.assumptions import Assumptions
from yibao.sim.population import between_years

__all__ = ["DrawnClaims", "Utilisation", "draw_claims", "utilisation"]

I64 = npt.NDArray[np.int64]
_LEVEL_NAMES: Final = ("level_1", "level_2", "level_3")
LEVEL_CODES: Final = np.array([LEVELS.index(n) for n in _LEVEL_NAMES], dtype=np.int8)
OUTPATIENT_LEVEL: Final = LEVELS.index("level_1")  # the hospital ratio, not the community one


@dataclass(frozen=True)
class Utilisation:
    """The year's utilisation, every money value in yuan of the rules' year."""

    rate: tuple[float, float]  # admissions a year: in service, retired (before the age tilt)
    age_gradient: float
    tilt_norm: tuple[float, float]  # mean of exp(gradient × age) per group in the calibration sample
    level_shares: tuple[float, ...]
    level_cost: tuple[float, ...]  # mean cost per admission by level, yuan
    cost_sigma: float
    out_of_scope: float
    outpatient_use: tuple[float, float]
    outpatient_mean: float  # in service, yuan a year per user
    outpatient_factor: float  # retirees' multiple
    outpatient_sigma: float

    def scaled(self, cost_index: float) -> Utilisation:
        """The same utilisation with every cost multiplied (the projection's cost growth)."""
        from dataclasses import replace

        return replace(
            self,
            level_cost=tuple(c * cost_index for c in self.level_cost),
            outpatient_mean=self.outpatient_mean * cost_index,
        )


def admission_scale(year: int, a: Assumptions, overall_2021: float) -> float:
    """The factor on the 2021 rates in ``year``: 1 in 2021, the published overall rate over the
    model's 2021-rates overall rate in 2023, linear between and carried beyond."""
    base = a.parameters["admission_rate"].year or 2021
    known = {base: 1.0} | {int(y): float(v) / overall_2021 for y, v in a["admission_rate_overall"].items()}
    return between_years(known, year, ends="carry")[0]


def utilisation(
    year: int, a: Assumptions, outpatient_mean: float, tilt_norm: tuple[float, float], overall_2021: float
) -> Utilisation:
    """The year's utilisation from the assumptions (module docstring); ``overall_2021`` is the
    overall admission rate the 2021 rates give on the year's membership mix."""
    scale = admission_scale(year, a, overall_2021)
    rate = a["admission_rate"]
    costs = {int(y): float(v) for y, v in a["inpatient_cost_mean"].items()}
    mean = between_years(costs, year, ends="carry")[0]
    shares = tuple(float(a["inpatient_level_shares"][n]) for n in _LEVEL_NAMES)
    by_level = tuple(float(a["inpatient_cost_by_level"][n]) for n in _LEVEL_NAMES)
    mix = sum(s * c for s, c in zip(shares, by_level, strict=True))
    use = a["outpatient_use"]
    return Utilisation(
        rate=(rate["in_service"] * scale, rate["retired"] * scale),
        age_gradient=float(a["inpatient_age_gradient"]),
        tilt_norm=tilt_norm,
        level_shares=shares,
        level_cost=tuple(c * mean / mix for c in by_level),
        cost_sigma=float(a["inpatient_cost_sigma"]),
        out_of_scope=float(a["out_of_scope_share"]),
        outpatient_use=(float(use["in_service"]), float(use["retired"])),
        outpatient_mean=outpatient_mean,
        outpatient_factor=float(a["outpatient_retired_factor"]),
        outpatient_sigma=float(a["outpatient_sigma"]),
    )


def tilt_norm(
    age: npt.ArrayLike, retired: npt.ArrayLike, weight: npt.ArrayLike, gradient: float
) -> tuple[float, float]:
    """Weighted mean of ``exp(gradient × age)`` for in-service members and for retirees."""
    age = np.asarray(age, dtype=np.float64)
    retired = np.asarray(retired, dtype=bool)
    w = np.asarray(weight, dtype=np.float64)
    tilt = np.exp(gradient * age)
    return (
        float(np.average(tilt[~retired], weights=w[~retired])),
        float(np.average(tilt[retired], weights=w[retired])),
    )


@dataclass(frozen=True)
class DrawnClaims:
    """Claims in person order (each person's admissions, then their outpatient claim)."""

    psn: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int8]  # 0 inpatient, 1 outpatient
    level: npt.NDArray[np.int8]  # index into LEVELS
    total: I64
    full_self_pay: I64


def _lognormal(rng: np.random.Generator, sigma: float, n: int) -> npt.NDArray[np.float64]:
    """Log-normal draws of mean 1."""
    return np.exp(rng.normal(-sigma * sigma / 2, sigma, n))


def draw_claims(
    age: npt.ArrayLike, retired: npt.ArrayLike, u: Utilisation, rng: np.random.Generator
) -> DrawnClaims:
    """The year's claims of n members (module docstring)."""
    age = np.asarray(age, dtype=np.float64)
    retired = np.asarray(retired, dtype=bool)
    n = age.shape[0]
    g = u.age_gradient
    lam = np.where(retired, u.rate[1] / u.tilt_norm[1], u.rate[0] / u.tilt_norm[0]) * np.exp(g * age)
    admissions = rng.poisson(lam)
    psn_in = np.repeat(np.arange(n, dtype=np.int64), admissions)
    lvl = np.searchsorted(np.cumsum(u.level_shares)[:-1], rng.random(psn_in.size), side="right")
    cost_in = np.asarray(u.level_cost)[lvl] * _lognormal(rng, u.cost_sigma, psn_in.size)
    users = rng.random(n) < np.where(retired, u.outpatient_use[1], u.outpatient_use[0])
    psn_out = np.flatnonzero(users).astype(np.int64)
    mean_out = np.where(retired[psn_out], u.outpatient_mean * u.outpatient_factor, u.outpatient_mean)
    cost_out = mean_out * _lognormal(rng, u.outpatient_sigma, psn_out.size)
    # person order, each person's admissions first: rows placed by offsets (no sort)
    per = admissions + users
    start = np.cumsum(per) - per
    first_in = np.cumsum(admissions) - admissions
    pos_in = start[psn_in] + (np.arange(psn_in.size) - first_in[psn_in])
    pos_out = start[psn_out] + admissions[psn_out]
    k = psn_in.size + psn_out.size
    psn = np.empty(k, np.int64)
    kind = np.empty(k, np.int8)
    level = np.empty(k, np.int8)
    cost = np.empty(k, np.float64)
    psn[pos_in], psn[pos_out] = psn_in, psn_out
    kind[pos_in], kind[pos_out] = 0, 1
    level[pos_in], level[pos_out] = LEVEL_CODES[lvl], OUTPATIENT_LEVEL
    cost[pos_in], cost[pos_out] = cost_in, cost_out
    total = np.round(cost * 100).astype(np.int64)
    # the costliest single admission stays under the kernel's 1亿 limit by far (σ 0.9 → 1e-20)
    np.minimum(total, MAX_AMOUNT_FEN, out=total)
    full_self_pay = np.round(total * u.out_of_scope).astype(np.int64)
    return DrawnClaims(psn, kind, level, total, full_self_pay)
