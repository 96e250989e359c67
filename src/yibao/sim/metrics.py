"""Who pays and who benefits: the lab's distributional metrics (issue 7; seed 000 on redistribution).

Per record of a year (:func:`yibao.sim.projection.project`'s ``keep_year`` results):

- **income**: the yearly wage of a member in service, the yearly pension of a retiree;
- **contributions**: employer + individual + retiree contributions (the employer's share counts
  as the member's: it is paid on their wage);
- **benefits**: what the pooled and large-amount funds paid for their claims, plus the money
  credited to their account;
- **net** = benefits − contributions.

**Concentration index** (weighted, on the fractional income rank r): ``CI(x) = 2 cov(x, r) / mean(x)``.
The Gini of income is the income's own CI. **Kakwani** progressivity of contributions:
``CI(contributions) − Gini(income)`` (> 0 progressive, < 0 regressive). A benefit's CI < 0 means it
goes more to people with lower income.

**Winners and losers** of a reform, on the same people with the same claims: the change of net
benefit; ±1 yuan a year counts as unchanged.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "AGE_BANDS",
    "concentration_index",
    "distribution",
    "fair_rates",
    "group_table",
    "person_frame",
    "winners_losers",
]

F64 = npt.NDArray[np.float64]
AGE_BANDS: Final = (18, 30, 40, 50, 60, 70, 80)
STATUS_NAMES: Final = (
    "单位在职 / unit in service",
    "灵活就业在职 / flexible in service",
    "单位退休 / unit retired",
    "灵活就业退休 / flexible retired",
)
NEW_FORM_NAME: Final = "新就业形态在职 / new-form in service"
UNCHANGED_FEN: Final = 100


def person_frame(kept: dict[str, np.ndarray], wage_index: float = 1.0) -> pl.DataFrame:
    """One row per record: weight, status, age, income, contributions, benefits, net (yuan)."""
    r = {k.removeprefix("r_"): v for k, v in kept.items() if k.startswith("r_")}
    scale = wage_index / 100
    income = np.where(kept["status"] >= 2, kept["pension_fen"], kept["wage_fen"]) * scale
    contributions = (r["employer"] + r["individual"] + r["retiree"]) * scale
    benefits = (r["inpatient_fund"] + r["outpatient_fund"] + r["account_credit"]) * scale
    frame = pl.DataFrame(
        {
            "weight": kept["weight"],
            "status": kept["status"],
            "age": kept["age"],
            "income": income,
            "contributions": contributions,
            "benefits": benefits,
            "fund_paid": (r["inpatient_fund"] + r["outpatient_fund"]) * scale,
            "account_credit": r["account_credit"] * scale,
            "net": benefits - contributions,
            "base": r["base"] * scale,
        }
    )
    bands = [f"{lo}–{hi - 1}" for lo, hi in pairwise(AGE_BANDS)] + [f"{AGE_BANDS[-1]}+"]
    band = np.searchsorted(np.asarray(AGE_BANDS[1:]), kept["age"], side="right")
    return frame.with_columns(
        pl.Series("age_band", np.asarray(bands)[band]),
        pl.Series("decile", _deciles(income, kept["weight"])),
        pl.Series("status_name", _status_names(kept)),
    )


def _status_names(kept: dict[str, np.ndarray]) -> np.ndarray:
    """The status of each record by name; new-form workers apart from the other flexible workers."""
    names: np.ndarray = np.asarray(STATUS_NAMES)[kept["status"]]
    if "new_form" in kept:
        names = np.where(kept["new_form"] & (kept["status"] == 1), NEW_FORM_NAME, names)
    return names


def _ranks(income: F64, weight: F64) -> F64:
    """Weighted fractional rank in (0, 1): the middle of each record's share of the weight."""
    order = np.argsort(income, kind="stable")
    cum = np.cumsum(weight[order])
    mid = (cum - weight[order] / 2) / cum[-1]
    out: F64 = np.empty_like(mid)
    out[order] = mid
    return out


def _deciles(income: npt.ArrayLike, weight: npt.ArrayLike) -> npt.NDArray[np.int8]:
    r = _ranks(np.asarray(income, dtype=np.float64), np.asarray(weight, dtype=np.float64))
    return np.minimum(9, (r * 10).astype(np.int8)) + 1


def concentration_index(x: npt.ArrayLike, income: npt.ArrayLike, weight: npt.ArrayLike) -> float:
    """``2 cov_w(x, r) / mean_w(x)`` with r the weighted fractional income rank."""
    xa = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    r = _ranks(np.asarray(income, dtype=np.float64), w)
    mean = float(np.average(xa, weights=w))
    if mean == 0:
        return 0.0
    cov = float(np.average((xa - mean) * (r - np.average(r, weights=w)), weights=w))
    return 2 * cov / mean


def distribution(p: pl.DataFrame) -> dict[str, float]:
    """Gini of income, CIs of contributions, fund payments and benefits, Kakwani of contributions."""
    w, inc = p["weight"].to_numpy(), p["income"].to_numpy()
    gini = concentration_index(inc, inc, w)
    ci = {k: concentration_index(p[k].to_numpy(), inc, w) for k in ("contributions", "fund_paid", "benefits")}
    return {
        "gini_income": gini,
        "ci_contributions": ci["contributions"],
        "ci_fund_paid": ci["fund_paid"],
        "ci_benefits": ci["benefits"],
        "kakwani_contributions": ci["contributions"] - gini,
    }


def group_table(p: pl.DataFrame, by: str) -> pl.DataFrame:
    """Weighted means per person (yuan a year) and head counts by ``by`` (age_band, decile, status_name)."""

    def mean(c: str) -> pl.Expr:
        return (pl.col(c) * pl.col("weight")).sum() / pl.col("weight").sum()

    return (
        p.group_by(by)
        .agg(
            pl.col("weight").sum().alias("persons"),
            mean("income").alias("income"),
            mean("contributions").alias("contributions"),
            mean("benefits").alias("benefits"),
            mean("net").alias("net"),
        )
        .sort(by)
    )


def winners_losers(base: pl.DataFrame, reform: pl.DataFrame, by: str) -> pl.DataFrame:
    """Shares of persons whose net benefit rises, falls or stays (±1 yuan), and the mean change, by ``by``."""
    d = base.select("weight", by).with_columns((reform["net"] - base["net"]).alias("change"))
    unchanged = UNCHANGED_FEN / 100

    def share(cond: pl.Expr) -> pl.Expr:
        return (pl.col("weight") * cond.cast(pl.Float64)).sum() / pl.col("weight").sum()

    return (
        d.group_by(by)
        .agg(
            pl.col("weight").sum().alias("persons"),
            share(pl.col("change") > unchanged).alias("gain"),
            share(pl.col("change") < -unchanged).alias("lose"),
            ((pl.col("change") * pl.col("weight")).sum() / pl.col("weight").sum()).alias("mean_change"),
        )
        .sort(by)
    )


def fair_rates(p: pl.DataFrame) -> pl.DataFrame:
    """By in-service status: the rate paid (contributions / declared bases) and the actuarially fair
    rate of the year (fund payments + account credits / declared bases) — the rate at which the
    group's contributions would equal what it received (seed 000/002 on flexible workers' rates)."""
    def total(c: str) -> pl.Expr:
        return (pl.col(c) * pl.col("weight")).sum()

    return (
        p.filter(pl.col("status") < 2)
        .group_by("status_name")
        .agg(
            pl.col("weight").sum().alias("persons"),
            (total("contributions") / total("base")).alias("rate_paid"),
            ((total("fund_paid") + total("account_credit")) / total("base")).alias("fair_rate"),
        )
        .sort("status_name")
    )
