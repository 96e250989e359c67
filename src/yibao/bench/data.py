"""Synthetic, seeded inputs for the benchmark: monthly wages and inpatient claims.

Everything comes from ``np.random.default_rng(seed)``, so a run is reproducible from its seed.
Amounts are int64 fen; no float ever holds money (floats only shape the random draws).

Claims: persons with one or more admissions each (1 + Poisson(1.5); DOMAIN.md §4.3: admission
rates of 9.9% / 39.5% make repeat admissions common among retirees), in service order within a
person, all in one benefit year. Total cost is log-normal around the national average inpatient
cost (12948 yuan in 2021, PD national; DOMAIN.md §4.3) with a heavy tail, so about 1% of claims
exceed 131,072 yuan — where float32 can no longer hold every fen.

Wages: log-normal declared monthly wages, so that some fall below the base floor and some above
the cap (DOMAIN.md §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from yibao.bench.rules_view import BENCH_CLASSES, BENCH_LEVELS

__all__ = ["Claims", "Wages", "make_claims", "make_wages", "one_claim_per_person"]

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

# Shape of the draws (not policy parameters): log-normal medians in fen and spreads.
_COST_MEDIAN_FEN = 1_000_000  # 10,000 yuan
_COST_SIGMA = 1.15
_COST_MAX_FEN = 300_000_000  # 3,000,000 yuan: clip absurd draws
_WAGE_MEDIAN_FEN = 1_000_000
_WAGE_SIGMA = 0.7
_RETIRED_SHARE = 0.3
_LEVEL_SHARES = (0.15, 0.35, 0.50)


@dataclass(frozen=True)
class Claims:
    """Inpatient claims in service order within each person; classes/levels index BENCH_*."""

    person: I64  # person id, non-decreasing
    day: I64  # day of the benefit year the admission started (0-based), increasing per person
    medfee_fen: I64  # medfee_sumamt
    fulamt_ownpay_fen: I64  # full self-pay items
    overlmt_selfpay_fen: I64  # over-limit-price self-pay
    preselfpay_fen: I64  # category-B first self-pay
    benefit_class: I8  # index into BENCH_CLASSES
    level: I8  # index into BENCH_LEVELS
    seed: int

    @property
    def rows(self) -> int:
        return int(self.person.shape[0])

    @property
    def in_scope_fen(self) -> I64:
        return self.medfee_fen - self.fulamt_ownpay_fen - self.overlmt_selfpay_fen - self.preselfpay_fen

    def nbytes(self) -> int:
        return sum(int(getattr(self, f).nbytes) for f in (
            "person", "day", "medfee_fen", "fulamt_ownpay_fen", "overlmt_selfpay_fen",
            "preselfpay_fen", "benefit_class", "level"))

    def take(self, n: int) -> Claims:
        """The first ``n`` claims (whole persons are not guaranteed at the cut)."""
        return Claims(self.person[:n], self.day[:n], self.medfee_fen[:n], self.fulamt_ownpay_fen[:n],
                      self.overlmt_selfpay_fen[:n], self.preselfpay_fen[:n],
                      self.benefit_class[:n], self.level[:n], self.seed)


@dataclass(frozen=True)
class Wages:
    """Declared monthly wages of in-service unit employees."""

    wage_fen: I64
    seed: int

    @property
    def rows(self) -> int:
        return int(self.wage_fen.shape[0])


def _share(rng: np.random.Generator, total: I64, lo: float, hi: float) -> I64:
    frac = rng.uniform(lo, hi, size=total.shape[0])
    return (total * frac).astype(np.int64)  # a share of an int fen amount, truncated to the fen


def make_claims(rows: int, seed: int, claims_per_person: float = 1.5) -> Claims:
    """``rows`` claims from ``np.random.default_rng(seed)``; ``claims_per_person`` = 1 + Poisson mean.

    With ``claims_per_person=0`` every person has exactly one claim (the OpenFisca comparison).
    """
    rng = np.random.default_rng(seed)
    if claims_per_person > 0:
        per = 1 + rng.poisson(claims_per_person, size=rows)  # more persons than needed, cut below
        person = np.repeat(np.arange(rows, dtype=np.int64), per)[:rows]
    else:
        person = np.arange(rows, dtype=np.int64)
    # Service order within a person: sort random days, then order by (person, day).
    day = rng.integers(0, 360, size=rows, dtype=np.int64)
    order = np.lexsort((day, person))
    day = day[order]
    medfee = np.exp(rng.normal(np.log(_COST_MEDIAN_FEN), _COST_SIGMA, size=rows))
    medfee_fen = np.clip(medfee, 10_000, _COST_MAX_FEN).astype(np.int64)
    retired = rng.random(rows) < _RETIRED_SHARE
    # Class is a property of the person: take it from the person's first row.
    first = np.r_[True, person[1:] != person[:-1]]
    cls = np.where(retired[np.cumsum(first) - 1], 1, 0).astype(np.int8)
    level = rng.choice(len(BENCH_LEVELS), size=rows, p=_LEVEL_SHARES).astype(np.int8)
    assert len(BENCH_CLASSES) == 2
    return Claims(
        person=person,
        day=day,
        medfee_fen=medfee_fen,
        fulamt_ownpay_fen=_share(rng, medfee_fen, 0.0, 0.08),
        overlmt_selfpay_fen=_share(rng, medfee_fen, 0.0, 0.02),
        preselfpay_fen=_share(rng, medfee_fen, 0.0, 0.06),
        benefit_class=cls,
        level=level,
        seed=seed,
    )


def one_claim_per_person(rows: int, seed: int) -> Claims:
    """Claims with one admission per person, as the OpenFisca encoding models them."""
    return make_claims(rows, seed, claims_per_person=0)


def make_wages(rows: int, seed: int) -> Wages:
    """``rows`` declared monthly wages from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    w = np.exp(rng.normal(np.log(_WAGE_MEDIAN_FEN), _WAGE_SIGMA, size=rows))
    return Wages(np.clip(w, 100, None).astype(np.int64), seed)
