"""Peer 2: a straightforward per-row Python loop of the same rules, on plain Python ints.

This is how the rules look when written one claim at a time, as an administration system's
service code would: read a row, update the person's benefit-year accumulators, write a row.
It uses the same parameters as yibao (through :mod:`yibao.bench.rules_view`) and integer fen,
so it must agree with yibao exactly on every row; it is the benchmark's correctness oracle as
much as a speed peer.

Settlement semantics (DOMAIN.md §4.1–§4.4; the settlement module docstring): in-scope amount =
medfee − full self-pay − over-limit − category-B first self-pay; deductible by the person's nth
admission of the year; the rest walks the bands on the year's cumulative in-scope cost (which
includes deductible portions) up to the pooled ceiling (on cost), then the large-amount segment
at its ratio up to its own cumulative-cost limit; above that the member pays. Each chunk of cost
c at ratio r pays round(c × r / 10000) by ``settlement.rounding``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from yibao.bench.data import Claims, Wages
from yibao.bench.rules_view import EMPLOYER_COMPONENTS, ContributionRules, InpatientRules

__all__ = ["LoopContribution", "LoopSettlement", "loop_contributions", "loop_settle"]

I64 = npt.NDArray[np.int64]


def _round_div(num: int, den: int, unit: int, mode: int) -> int:
    """num / den fen rounded to ``unit`` fen: mode 0 half-up, 1 up, 2 down (num ≥ 0 here)."""
    d = den * unit
    if mode == 0:
        return (2 * num + d) // (2 * d) * unit
    if mode == 1:
        return (num + d - 1) // d * unit
    return num // d * unit


@dataclass(frozen=True)
class LoopContribution:
    base_fen: I64
    employer_fen: dict[str, I64]
    individual_fen: I64
    fixed_premium_fen: I64


def loop_contributions(wages: Wages, r: ContributionRules) -> LoopContribution:
    """Assess each wage row by row (DOMAIN.md §2.1–§2.2: clamp, round the base, apply each rate)."""
    bu, bm = r.base_rounding.code
    au, am = r.amount_rounding.code
    rates = [r.employer_rates_bp[c] for c in EMPLOYER_COMPONENTS]
    floor, cap, ind_rate, premium = (r.base_floor_fen, r.base_cap_fen, r.individual_rate_bp,
                                     r.individual_fixed_premium_fen)
    bases: list[int] = []
    employer: list[list[int]] = [[] for _ in rates]
    individual: list[int] = []
    for wage in wages.wage_fen.tolist():
        # Round, then clamp: the order of yibao.rules.contribution (the same when limits are whole).
        base = min(max(_round_div(wage, 1, bu, bm), floor), cap)
        bases.append(base)
        for out, rate in zip(employer, rates, strict=True):
            out.append(_round_div(base * rate, 10_000, au, am))
        individual.append(_round_div(base * ind_rate, 10_000, au, am))
    n = len(bases)
    return LoopContribution(
        base_fen=np.array(bases, dtype=np.int64),
        employer_fen={c: np.array(v, dtype=np.int64) for c, v in zip(EMPLOYER_COMPONENTS, employer,
                                                                      strict=True)},
        individual_fen=np.array(individual, dtype=np.int64),
        fixed_premium_fen=np.full(n, premium, dtype=np.int64),
    )


@dataclass(frozen=True)
class LoopSettlement:
    deductible_fen: I64  # act_pay_dedc
    hifp_pay_fen: I64  # pooled fund
    hifob_pay_fen: I64  # large-amount fund
    psn_part_amt_fen: I64  # medfee − fund payments


def loop_settle(claims: Claims, r: InpatientRules) -> LoopSettlement:
    """Settle claims one by one in service order against per-person benefit-year accumulators."""
    unit, mode = r.rounding.code
    upto = r.band_upto_fen
    ded_out: list[int] = []
    hifp_out: list[int] = []
    hifob_out: list[int] = []
    psn_out: list[int] = []
    last_person = -1
    admissions = cum_cost = large_cost = ded_used = 0
    rows = zip(claims.person.tolist(), claims.medfee_fen.tolist(), claims.in_scope_fen.tolist(),
               claims.benefit_class.tolist(), claims.level.tolist(), strict=True)
    for person, medfee, inscp, cls, lv in rows:
        if person != last_person:  # one benefit year in the benchmark: a new person resets
            last_person, admissions, cum_cost, large_cost, ded_used = person, 0, 0, 0, 0
        if r.per_admission:
            ded = min(inscp, r.deductible_fen[cls][lv][admissions if admissions < 2 else 2])
        else:  # per_year: what is left of the annual deductible
            ded = min(inscp, max(0, r.deductible_fen[cls][lv][0] - ded_used))
        ceiling = r.pooled_ceiling_fen[cls]
        start = cum_cost + ded  # the deductible portion counts on the cost measure
        end = cum_cost + inscp
        pooled = 0
        lo = 0
        ratios = r.band_ratio_bp[cls][lv]
        for hi, ratio in zip(upto, ratios, strict=True):
            top = hi if hi < ceiling else ceiling
            a = start if start > lo else lo
            b = end if end < top else top
            if b > a:
                pooled += _round_div((b - a) * ratio, 10_000, unit, mode)
            lo = hi
        a = start if start > ceiling else ceiling
        large_chunk = end - a if end > a else 0
        room = r.large_limit_fen[cls] - large_cost
        if large_chunk > room:
            large_chunk = room if room > 0 else 0
        large = _round_div(large_chunk * r.large_ratio_bp[cls], 10_000, unit, mode)
        admissions += 1
        cum_cost = end
        large_cost += large_chunk
        ded_used += ded
        ded_out.append(ded)
        hifp_out.append(pooled)
        hifob_out.append(large)
        psn_out.append(medfee - pooled - large)
    return LoopSettlement(*(np.array(v, dtype=np.int64) for v in (ded_out, hifp_out, hifob_out, psn_out)))
