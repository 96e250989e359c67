"""A flexible worker's choice of scheme (rules/scheme_choice.py; seeds 001 and 002).

The fixtures are two hypothetical regions (tests/fixtures/policy/scheme_choice_*.yaml): Beijing's
rules plus the values no shipped region has a source for (waiting period, hukou condition, resident
insurance, a flexible account), and Wuhan's with a known resident contribution. Expected values are
computed by us from the rules as written in those files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.policy.registry import Registry
from yibao.rules.scheme_choice import TYPICAL_ADMISSION_FEN, compare_schemes

FIX = Path(__file__).parent / "fixtures" / "policy"
REG = Registry([FIX / "scheme_choice_work.yaml", FIX / "scheme_choice_hukou.yaml"])
WORK, HUKOU = REG.policy("scheme_work"), REG.policy("scheme_hukou")
MARCH = dt.date(2025, 3, 1)


def test_the_employee_option_is_priced_credited_and_settled_by_the_work_regions_rules() -> None:
    """Beijing's flexible base from 2024-07 is 70% of 35283 / 3 = 8232.7 → 8233 yuan; at 7% that is
    576.31 a month, 6,915.72 a year; the fixture's 2% account credit is 164.66 a month, 1,975.92 a
    year. The typical admission (12,175 yuan, level 3), with the fixture's pooled ceiling lowered to
    10,000 yuan of cost, is paid (10,000 − 1,300) × 85% = 7,395 by the pooled fund and
    (12,175 − 10,000) × 85% = 1,848.75 by the large-amount fund: 9,243.75 together."""
    employee = compare_schemes(WORK, HUKOU, MARCH, 600_000)[0]
    assert employee.scheme == "employee_at_work" and employee.region.startswith("择险测试工作地")
    assert employee.cost_year_fen == 691_572
    assert employee.account_credit_year_fen == 197_592
    assert employee.reimbursement_fen == 924_375 and TYPICAL_ADMISSION_FEN == 1_217_500
    assert employee.waiting_months == 6
    assert employee.unknown == []


def test_where_no_hukou_condition_applies_the_employee_option_is_open() -> None:
    """The hukou fixture inherits the national baseline's ``none`` (国办发〔2024〕38号)."""
    assert compare_schemes(HUKOU, WORK, MARCH, 600_000)[0].hukou_allowed is True


@pytest.mark.parametrize(
    ("day", "hukou", "allowed"),
    [
        (MARCH, HUKOU, False),  # local hukou required, and the worker's is elsewhere
        (MARCH, WORK, True),  # the same place: the local hukou is theirs
        (dt.date(2025, 7, 1), HUKOU, True),  # from 2025-06: hukou or residence permit
    ],
)
def test_the_hukou_condition_decides_whether_the_employee_option_is_open(
    day: dt.date, hukou: object, allowed: bool
) -> None:
    employee = compare_schemes(WORK, hukou, day, 600_000)[0]  # type: ignore[arg-type]
    assert employee.hukou_allowed is allowed


def test_resident_options_cost_their_regions_contribution_and_say_what_is_unknown() -> None:
    """Resident insurance at work costs the work region's 400 yuan, waits 2 months; at the hukou
    place 350 yuan and no wait — its settlement and the remote-care reduction are not known there,
    and the option names them."""
    _, at_work, at_hukou = compare_schemes(WORK, HUKOU, MARCH, 600_000)
    assert (at_work.scheme, at_work.cost_year_fen, at_work.waiting_months) == ("resident_at_work", 40_000, 2)
    assert at_work.unknown == [] and at_work.hukou_allowed is True and at_work.reimbursement_fen is None
    assert (at_hukou.scheme, at_hukou.cost_year_fen, at_hukou.waiting_months) == (
        "resident_at_hukou",
        35_000,
        0,
    )
    assert at_hukou.region.startswith("择险测试户籍地") and at_hukou.hukou_allowed is True
    assert at_hukou.unknown == [
        "resident.inpatient.deductible",
        "resident.inpatient.ratio",
        "resident.inpatient.ceiling",
        "remote.registered_ratio_reduction",
    ]
    # at home there is no remote care: the reduction is not asked for
    home = compare_schemes(WORK, WORK, MARCH, 600_000)[2]
    assert home.unknown == [] and home.cost_year_fen == 40_000


def test_unknown_rules_leave_the_amounts_empty_and_are_named() -> None:
    """Shipped Beijing in 2018: the flexible base rule and the inpatient deductible rule are not
    sourced before 2019, nor the waiting period — nothing is guessed."""
    employee = compare_schemes(REG.policy("beijing"), HUKOU, dt.date(2018, 3, 1), 600_000)[0]
    assert employee.cost_year_fen is None and employee.account_credit_year_fen is None
    assert employee.reimbursement_fen is None and employee.waiting_months is None
    assert employee.unknown == [
        "contribution.flexible.base_choice",
        "settlement.inpatient.deductible.scope",
        "eligibility.waiting.flexible_months",
    ]
    assert employee.hukou_allowed is False  # Beijing required a local hukou from 2018 (seed 001)
    later = compare_schemes(REG.policy("beijing"), HUKOU, MARCH, 600_000)[0]
    assert later.hukou_allowed is None and "enrollment.flexible.hukou_required" in later.unknown
