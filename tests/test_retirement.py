"""Retirement transition: minimum years, local years, 补一退一 and the shortfall payment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.retirement import RetirementReason, assess_retirement, explain_retirement

FIX = Path(__file__).parent / "fixtures" / "rules"
MALE, FEMALE = 0, 1


def snap(region: str, day: str = "2024-01-01", *files: Path) -> Snapshot:
    return Registry(policy_files=list(files)).policy(region).at(dt.date.fromisoformat(day))


@pytest.mark.parametrize(("sex", "years", "ok"), [
    (MALE, 29, False), (MALE, 30, True), (FEMALE, 24, False), (FEMALE, 25, True),
])
def test_changsha_needs_30_years_for_men_and_25_for_women(sex: int, years: int, ok: bool) -> None:
    """长沙市职工基本医疗保险管理办法 (PD changsha): 男30年、女25年."""
    c = assess_retirement(snap("changsha"), [sex], [years * 12], [0], [0], [15 * 12], [0])
    assert bool(c.eligible[0]) is ok


def test_changsha_counts_deemed_years_but_needs_10_years_actually_paid_in_province() -> None:
    """PD changsha: 视同缴费年限 count; at least 10 years actually paid in the province.

    Computed by us: 20 deemed + 9 actual (all local) + 1 transferred = 30 years but only 9 local →
    short 12 local months; with 10 local years the same man is eligible.
    """
    s = snap("changsha")
    c = assess_retirement(s, [MALE, MALE], [9 * 12, 10 * 12], [20 * 12, 20 * 12], [12, 0],
                          [9 * 12, 10 * 12], [0, 0])
    assert list(c.qualifying_months) == [360, 360]
    assert RetirementReason(int(c.reason[0])) is RetirementReason.short_of_local_years
    assert int(c.shortfall_months[0]) == 12
    assert bool(c.eligible[1])


def test_unit_arrears_block_retirement_until_cleared() -> None:
    """Seed 002 (补一退一): a unit's arrears must be cleared before 在职转退休."""
    c = assess_retirement(snap("changsha"), [FEMALE], [26 * 12], [0], [0], [26 * 12], [150000])
    assert RetirementReason(int(c.reason[0])) is RetirementReason.unit_arrears and not c.eligible[0]


def test_beijing_25_20_years_but_local_minimum_is_unknown_and_named() -> None:
    """PD beijing: 男25年/女20年; whether years must be paid in Beijing was not found → unknown."""
    with pytest.raises(UnknownParameterError) as err:
        assess_retirement(snap("beijing"), [MALE], [25 * 12], [0], [0], [25 * 12], [0])
    assert err.value.key == "retirement.min_local_actual_years"


def test_shortfall_lump_sum_with_a_user_formula() -> None:
    """Computed by us with hypothetical parameters (no source gives the formula): 8000 × 60% = 4800
    base, × 8% = 384.00 a month, × 24 months short = 9216.00."""
    s = snap("changsha_lump_sum", "2024-01-01", FIX / "changsha_lump_sum.yaml")
    c = assess_retirement(s, [MALE], [28 * 12], [0], [0], [28 * 12], [0], price_shortfall=True)
    assert int(c.shortfall_months[0]) == 24 and int(c.shortfall_payment_fen[0]) == 921600
    assert "921.6" not in explain_retirement(s, c, 0).render("en")
    assert "9216.00" in explain_retirement(s, c, 0).render("en")


def test_shortfall_mode_unknown_in_shipped_changsha_is_named() -> None:
    with pytest.raises(UnknownParameterError) as err:
        assess_retirement(snap("changsha"), [MALE], [20 * 12], [0], [0], [20 * 12], [0],
                          price_shortfall=True)
    assert err.value.key == "retirement.shortfall.mode"


def test_local_months_above_actual_months_is_an_input_error() -> None:
    with pytest.raises(InputError) as err:
        assess_retirement(snap("changsha"), [MALE], [10], [0], [0], [20], [0])
    assert "local_actual_months" in err.value.en and "不能超过" in err.value.zh


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([MALE, FEMALE]), st.integers(120, 480), st.integers(0, 120), st.integers(0, 60))
def test_eligibility_is_monotone_in_years(sex: int, actual: int, extra: int, deemed: int) -> None:
    s = snap("changsha")
    c = assess_retirement(s, [sex, sex], [actual, actual + extra], [deemed, deemed], [0, 0],
                          [120, 120], [0, 0])
    assert not (c.eligible[0] and not c.eligible[1])
    assert c.qualifying_months[0] <= c.qualifying_months[1]
