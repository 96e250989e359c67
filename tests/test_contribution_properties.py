"""Contribution invariants that must hold for every wage, region rule and person type."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.policy.registry import Registry
from yibao.rules.contribution import COLUMNS, ContributionParams, assess_contributions

DATES = ["2021-07-01", "2022-07-01", "2023-07-01", "2024-07-01"]
wages = st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=40)


@cache
def beijing(day: str) -> ContributionParams:
    return ContributionParams.from_snapshot(Registry().policy("beijing").at(dt.date.fromisoformat(day)))


@settings(max_examples=60, deadline=None)
@given(wages, st.sampled_from(DATES))
def test_in_service_base_always_within_floor_and_cap(w: list[int], day: str) -> None:
    p = beijing(day)
    base = assess_contributions(w, np.zeros(len(w), np.int8), p).base_fen
    assert (base >= p.limits["floor"].fen).all() and (base <= p.limits["cap"].fen).all()


@settings(max_examples=60, deadline=None)
@given(wages, st.lists(st.sampled_from([0, 1, 3]), min_size=40, max_size=40),
       st.sampled_from(DATES[1:]))  # Beijing's flexible-worker base is sourced from 2022-07
def test_routed_components_sum_to_total_assessed(w: list[int], kinds: list[int], day: str) -> None:
    cols = assess_contributions(w, kinds[: len(w)], beijing(day))
    routed = cols.data[COLUMNS.index("to_pooled_fund_fen"):].sum(axis=0)
    assert (routed == cols.total_fen).all()
    assert (cols.employer_total_fen + cols.individual_total_fen == cols.total_fen).all()


@settings(max_examples=40, deadline=None)
@given(wages, st.lists(st.sampled_from([0, 1, 3]), min_size=40, max_size=40))
def test_vectorized_equals_row_by_row(w: list[int], kinds: list[int]) -> None:
    p = beijing("2023-07-01")
    k = kinds[: len(w)]
    whole = assess_contributions(w, k, p).data
    rows = np.stack([assess_contributions([w[i]], [k[i]], p).data[:, 0] for i in range(len(w))], axis=1)
    assert (whole == rows).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**8), st.integers(0, 10**6), st.sampled_from(DATES))
def test_total_is_monotone_in_wage(w: int, dw: int, day: str) -> None:
    cols = assess_contributions([w, w + dw], [0, 0], beijing(day))
    assert cols.total_fen[0] <= cols.total_fen[1]
    assert (cols.data >= 0).all()
