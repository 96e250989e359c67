"""Calibration report of the policy lab (issue 7): the model's figure next to the published one.

Every published value of a figure the model produces is a row: target, model, relative error,
and whether the year was used to build the model (``fit``) or held out (``held out``: its own
splits were hidden and the model interpolated them from the neighbouring years). So far the model
produces the member counts; the fund figures join as the simulation produces them.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from yibao.sim.population import build_population, insured_counts
from yibao.sim.statistics import Statistics, national_statistics

__all__ = ["COUNT_FIGURES", "DEFAULT_HELD_OUT", "TOLERANCE", "count_calibration"]

#: issue 7: the baseline reproduces every national figure within 3%.
TOLERANCE: Final = 0.03
#: The year held out of calibration: the 2020 splits (a yearbook reading, rounded) sit between two
#: bulletins, so interpolating them is a fair test of the method.
DEFAULT_HELD_OUT: Final = 2020
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
