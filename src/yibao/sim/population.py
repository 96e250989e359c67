"""The insured population of the policy lab: how many, in which status, and a weighted sample of them.

**Counts** (:func:`insured_counts`). The employee scheme's members at a year's end split into
in-service members and retirees, and across both into unit members and flexible workers (灵活就业
人员等, whose published count includes their retirees). The total comes from the year's figure;
the retired share and the flexible share from the years that publish them. Where a year does not
(2018 and 2023 have no in-service/retired split), the share is interpolated linearly between the
nearest years that do, or carried on the trend of the nearest two at either end. A **held-out**
year is treated as if its splits had never been published, so the calibration can report how far
the interpolation lands from them (issue 7: one year held out of calibration).

**Sample** (:func:`build_population`). ``agents`` records drawn for those counts: each status gets
agents in proportion to its count and a weight so that the weights of a status add up to its count
exactly (in persons). Ages and wages are assumptions (``ASSUMPTIONS``), each labelled as such until a
published distribution replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from yibao.errors import InputError
from yibao.sim.statistics import Statistics, national_statistics

__all__ = [
    "ASSUMPTIONS",
    "BLOCK_SIZE",
    "COLUMNS",
    "NEW_FORM_STATUS",
    "STATUSES",
    "InsuredCounts",
    "PopulationPlan",
    "between_years",
    "build_population",
    "insured_counts",
    "population_block",
    "population_plan",
    "share_series",
]

#: Statuses of the lab's members.
STATUSES: Final = ("unit_in_service", "flexible_in_service", "unit_retired", "flexible_retired")
TEN_THOUSAND: Final = 10_000

#: Assumptions of the sample that no published figure fixes yet, each with why.
ASSUMPTIONS: Final = {
    "in_service_age": {
        "value": "uniform from 18 to the original statutory age (men 60, women 50 or 55)",
        "source": "assumption: no published age distribution of in-service members was found",
    },
    "retired_age": {
        "value": "the original statutory age + an exponential of mean 17 years, cut at 100",
        "source": "assumption",
    },
    "male_share": {"value": 0.5, "source": "assumption"},
    "wage": {
        "value": "log-normal, σ 0.5, mean = the average wage of urban non-private units (unit "
        "members) or private units (flexible workers)",
        "source": "statistics.yaml avg_wage_urban_non_private / avg_wage_urban_private; σ is an assumption",
    },
}


def between_years(known: dict[int, float], year: int, ends: str = "trend") -> tuple[float, str | None]:
    """A yearly value where ``known`` has none: linear between the nearest years before and after,
    and beyond them on the trend of the nearest two (``ends="trend"``) or carried from the nearest
    (``ends="carry"``). Returns the value and how it was obtained (None when ``year`` is known)."""
    if not known:
        raise InputError("statistics", None, "没有可用的年份", "no year to go by")
    if year in known:
        return known[year], None
    before = sorted(y for y in known if y < year)
    after = sorted(y for y in known if y > year)
    if before and after:
        a, b = before[-1], after[0]
        return known[a] + (known[b] - known[a]) * (year - a) / (b - a), f"interpolated {a}–{b}"
    ends_at = after[:2] if not before else before[-2:]
    if ends == "carry" or len(ends_at) < 2:
        nearest = before[-1] if before else after[0]
        return known[nearest], f"carried from {nearest}"
    a, b = ends_at
    return known[a] + (known[b] - known[a]) * (year - a) / (b - a), f"extrapolated from {a}, {b}"


def share_series(numerator: dict[int, float], denominator: dict[int, float], year: int) -> tuple[float, str]:
    """The share numerator/denominator in ``year``: published, interpolated or extrapolated.

    Returns the share and how it was obtained (``published``, ``interpolated a–b``,
    ``extrapolated from a, b``)."""
    shares = {y: numerator[y] / denominator[y] for y in numerator if y in denominator}
    if not shares:
        raise InputError("statistics", None, "没有可用的年份", "no year publishes both figures")
    value, how = between_years(shares, year)
    return value, how or "published"


@dataclass(frozen=True)
class InsuredCounts:
    """Members at a year's end, in persons, by status; and how each share was obtained."""

    year: int
    total: int
    by_status: dict[str, int]
    retired_share: float
    flexible_share: float
    how: dict[str, str]

    @property
    def in_service(self) -> int:
        return self.by_status["unit_in_service"] + self.by_status["flexible_in_service"]

    @property
    def retired(self) -> int:
        return self.by_status["unit_retired"] + self.by_status["flexible_retired"]

    @property
    def flexible(self) -> int:
        return self.by_status["flexible_in_service"] + self.by_status["flexible_retired"]


def insured_counts(year: int, stats: Statistics | None = None, held_out: int | None = None) -> InsuredCounts:
    """The year's members by status (module docstring); ``held_out`` hides that year's splits."""
    stats = stats or national_statistics()
    hide = frozenset({held_out}) if held_out is not None else frozenset()
    totals = stats.figures["employee_enrollees"].by_year()
    if year not in totals:
        raise InputError(
            "year",
            year,
            f"无该年参保人数（可用 {min(totals)}–{max(totals)}）",
            f"no enrollee count for that year (available {min(totals)}–{max(totals)})",
        )
    total_all = stats.figures["employee_enrollees"].by_year(hide)
    retired, how_r = share_series(stats.figures["employee_retired"].by_year(hide), total_all, year)
    flexible, how_f = share_series(
        stats.figures["flexible_and_other_enrollees"].by_year(hide), total_all, year
    )
    total = round(totals[year] * TEN_THOUSAND)
    n_retired = round(total * retired)
    n_flexible = round(total * flexible)
    # the flexible share applies alike to in-service members and retirees (assumption: no split found)
    flex_retired = round(n_retired * flexible)
    by_status = {
        "unit_in_service": total - n_retired - (n_flexible - flex_retired),
        "flexible_in_service": n_flexible - flex_retired,
        "unit_retired": n_retired - flex_retired,
        "flexible_retired": flex_retired,
    }
    return InsuredCounts(
        year, total, by_status, retired, flexible, {"retired_share": how_r, "flexible_share": how_f}
    )


#: Records per random-number block. Every block draws from its own stream, keyed by (seed, year,
#: block), so a population is the same whatever the chunks or workers it is built in.
BLOCK_SIZE: Final = 1 << 16


@dataclass(frozen=True)
class PopulationPlan:
    """How many records of each status a population has, and what each stands for.

    Records are laid out by status (all unit in-service members first, ...), so the status of
    record ``i`` is known without drawing anything; a block is a run of ``BLOCK_SIZE`` records."""

    year: int
    seed: int
    records: tuple[int, ...]  # records per status
    persons: tuple[int, ...]  # persons per status (the counts)
    wages: tuple[float, float]  # average yearly wage (yuan): non-private units, private units
    women_50_share: float
    pension_to_wage: float
    career: tuple[float, float, float, float]  # contribution start age low, high; continuity low, high

    @property
    def total(self) -> int:
        return sum(self.records)

    @property
    def blocks(self) -> int:
        return -(-self.total // BLOCK_SIZE)


def population_plan(
    year: int, agents: int | None, seed: int, stats: Statistics | None = None, held_out: int | None = None
) -> PopulationPlan:
    """The plan of a sample of ``agents`` records, or of the whole membership (``agents=None``:
    one record per person, every weight 1)."""
    from yibao.sim.assumptions import lab_assumptions

    if agents is not None and agents < len(STATUSES):
        raise InputError("agents", agents, f"至少 {len(STATUSES)} 个", f"at least {len(STATUSES)}")
    stats = stats or national_statistics()
    counts = insured_counts(year, stats, held_out)
    persons = tuple(counts.by_status[s] for s in STATUSES)
    records = persons if agents is None else tuple(max(1, round(agents * n / counts.total)) for n in persons)
    wages = _wages(stats, year)
    a = lab_assumptions()
    start, cont = a["contribution_start_age"], a["contribution_continuity"]
    return PopulationPlan(
        year,
        seed,
        records,
        persons,
        (wages["non_private"], wages["private"]),
        float(a["women_original_age_50_share"]),
        float(a["pension_to_wage"]),
        (float(start["low"]), float(start["high"]), float(cont["low"]), float(cont["high"])),
    )


def population_block(plan: PopulationPlan, block: int) -> dict[str, np.ndarray]:
    """Records ``[block × BLOCK_SIZE, …)`` of the plan as numpy columns (``COLUMNS``)."""
    start = block * BLOCK_SIZE
    stop = min(plan.total, start + BLOCK_SIZE)
    if not 0 <= start < plan.total:
        raise InputError("block", block, f"应在 0..{plan.blocks - 1}", f"must be in 0..{plan.blocks - 1}")
    n = stop - start
    bounds = np.cumsum(plan.records)
    status = np.searchsorted(bounds, np.arange(start, stop), side="right").astype(np.int8)
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, plan.year, block]))
    male = rng.random(n) < 0.5
    original_age = np.where(male, 60, np.where(rng.random(n) < plan.women_50_share, 50, 55)).astype(np.int8)
    retired = status >= 2
    # in service: uniform from 18 to the original statutory age; retired: that age + exponential(17)
    u = rng.random(n)
    years = np.where(
        retired, np.minimum(original_age + rng.exponential(17.0, n), 100.0), 18 + u * (original_age - 18)
    )
    birth_month = (plan.year * 12 + 11 - np.floor(years * 12)).astype(np.int32)
    age = (plan.year - birth_month // 12).astype(np.int16)
    flexible = (status == 1) | (status == 3)
    mean = np.where(flexible, plan.wages[1], plan.wages[0])
    sigma = 0.5
    wage = np.where(retired, 0.0, mean * np.exp(rng.normal(-(sigma**2) / 2, sigma, n)))
    spread = np.exp(rng.normal(-(0.3**2) / 2, 0.3, n))
    pension = np.where(retired, plan.wages[0] * plan.pension_to_wage * spread, 0.0)
    weights = np.array([p / r for p, r in zip(plan.persons, plan.records, strict=True)])
    # months paid so far (in service), from their own stream so the draws above stay as they were
    career = np.random.default_rng(np.random.SeedSequence([plan.seed, plan.year, block, 3]))
    a_lo, a_hi, c_lo, c_hi = plan.career
    start_age = career.uniform(a_lo, a_hi, n)
    continuity = career.uniform(c_lo, c_hi, n)
    months = np.where(retired, 0, np.round(np.maximum(years - start_age, 0) * 12 * continuity)).astype(
        np.int64
    )
    return {
        "status": status,
        "male": male,
        "age": age,
        "birth_month": birth_month,
        "months_paid": months,
        "original_age": original_age,
        "wage_fen": np.round(wage * 100).astype(np.int64),
        "pension_fen": np.round(pension * 100).astype(np.int64),
        "weight": weights[status],
        "new_form": np.zeros(n, dtype=np.bool_),
    }


#: The columns of a population block and of the sample frame.
COLUMNS: Final = (
    "status",
    "male",
    "age",
    "birth_month",
    "months_paid",
    "original_age",
    "wage_fen",
    "pension_fen",
    "weight",
    "new_form",
)
#: The extract status of new-form workers in service (新就业形态劳动者): status 1 (flexible in
#: service, where the statistics count them) with ``new_form`` set. The synthetic population has
#: none: the published figures do not split them out.
NEW_FORM_STATUS: Final = "new_form_in_service"


def build_population(
    year: int, agents: int, seed: int, stats: Statistics | None = None, held_out: int | None = None
) -> pl.DataFrame:
    """``agents`` weighted records of the year's members (``COLUMNS``).

    The weights of each status add up to :func:`insured_counts` exactly (float weights; the sum is
    checked to a person). The same records as :func:`population_block` gives block by block."""
    plan = population_plan(year, agents, seed, stats, held_out)
    blocks = [population_block(plan, b) for b in range(plan.blocks)]
    return pl.DataFrame({c: np.concatenate([b[c] for b in blocks]) for c in COLUMNS})


def _wages(stats: Statistics, year: int) -> dict[str, float]:
    """Average yearly wages (yuan) of the year, or of the latest year published before it."""
    out = {}
    for kind in ("non_private", "private"):
        series = stats.figures[f"avg_wage_urban_{kind}"].by_year()
        usable = [y for y in series if y <= year] or [min(series)]
        out[kind] = series[max(usable)]
    return out
