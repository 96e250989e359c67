"""Eligibility: waiting periods, gaps and back-payment, with the sources of each rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.eligibility import Reason, assess_eligibility, explain_eligibility, month_index

FIX = Path(__file__).parent / "fixtures" / "rules"


def snap(region: str, day: str, *files: Path) -> Snapshot:
    return Registry(policy_files=list(files)).policy(region).at(dt.date.fromisoformat(day))


def fujian() -> Snapshot:
    return snap("fujian", "2024-06-01", FIX / "fujian.yaml")


RESUME = month_index(2024, 6)


def test_fujian_gap_over_3_months_back_paid_waits_3_months_at_50_percent() -> None:
    """福建省医疗保障局 (PD, high): 断保超过3个月并补缴，3个月等待期，待遇按50%."""
    months = [RESUME - 1, RESUME, RESUME + 2, RESUME + 3]
    c = assess_eligibility(fujian(), months, [RESUME] * 4, [5] * 4, [True] * 4, [False] * 4)
    assert list(c.benefit_share_bp) == [0, 5000, 5000, 10000]
    assert Reason(int(c.reason[1])) is Reason.waiting_reduced
    assert Reason(int(c.reason[0])) is Reason.not_covered  # a long gap is not covered retroactively


def test_fujian_gap_not_back_paid_waits_6_months_at_50_percent() -> None:
    """福建省医疗保障局 (PD, high): 断保未补缴，6个月等待期，待遇按50%."""
    months = [RESUME + 5, RESUME + 6]
    c = assess_eligibility(fujian(), months, [RESUME] * 2, [5] * 2, [False] * 2, [False] * 2)
    assert list(c.benefit_share_bp) == [5000, 10000]
    assert int(c.full_benefit_month[0]) == RESUME + 6


@pytest.mark.parametrize("gap", [1, 2, 3])
def test_gap_of_at_most_3_months_back_paid_is_continuous_and_covered_retroactively(gap: int) -> None:
    """基本医疗保险关系转移接续暂行办法 (2021-11, PD national_rules, high): 中断不超过3个月补缴后,
    待遇自缴费当月起享受，中断期间的医疗费用按规定追溯报销."""
    s = snap("national", "2022-06-01")
    resume = month_index(2022, 6)
    c = assess_eligibility(s, [resume - gap, resume], [resume] * 2, [gap] * 2, [True] * 2, [False] * 2)
    assert list(c.benefit_share_bp) == [10000, 10000]
    assert Reason(int(c.reason[0])) is Reason.retroactive_backpaid
    assert int(c.waiting_months[1]) == 0


def test_gap_of_4_months_needs_the_regions_waiting_period_which_is_unknown_nationally() -> None:
    """Just above the 3-month limit the national rule hands over to the region: unknown → named."""
    s = snap("national", "2022-06-01")
    resume = month_index(2022, 6)
    with pytest.raises(UnknownParameterError) as err:
        assess_eligibility(s, [resume], [resume], [4], [True], [False])
    assert err.value.key == "eligibility.waiting.after_gap_backpaid_months"


def test_gap_rule_before_the_2021_transfer_rules_is_unknown() -> None:
    """The 3-month rule starts 2021-11-29; before it the national baseline has no figure."""
    s = snap("national", "2021-11-28")
    with pytest.raises(UnknownParameterError):
        assess_eligibility(s, [month_index(2021, 11)], [month_index(2021, 11)], [2], [True], [False])


def test_pay_this_month_benefits_next_month(tmp_path: Path) -> None:
    """Seed 000: 当月缴费次月享受 — a region with no wait and benefit_start next_month."""
    f = tmp_path / "next.yaml"
    f.write_text("""
region: {code: "990005", pinyin: next_month_region, name_zh: 次月享受, name_en: Next month,
         pooling_level: hypothetical, confidence: low}
sources:
  seed000: {title: "seed 000: 当月缴费次月享受", confidence: medium}
parameters:
  eligibility.waiting.unit_months: [{from: 2020-01-01, value: 0, source: seed000}]
  eligibility.benefit_start: [{from: 2020-01-01, value: next_month, source: seed000}]
""", encoding="utf-8")
    s = snap("next_month_region", "2023-03-01", f)
    m = month_index(2023, 3)
    c = assess_eligibility(s, [m, m + 1], [m, m], [-1, -1], [False, False], [False, False])
    assert list(c.eligible) == [False, True]
    assert int(c.benefit_start_month[0]) == m + 1


def test_months_after_the_last_paid_month_are_not_covered() -> None:
    s = snap("national", "2022-06-01")
    m = month_index(2022, 6)
    c = assess_eligibility(s, [m + 1], [m - 24], [0], [False], [False], paid_through=[m])
    assert not c.eligible[0] and Reason(int(c.reason[0])) is Reason.not_covered


def test_bad_gap_value_is_a_bilingual_input_error() -> None:
    with pytest.raises(InputError) as err:
        assess_eligibility(fujian(), [RESUME], [RESUME], [-5], [False], [False])
    assert "gap_months" in err.value.en and "首次参保" in err.value.zh


def test_explanation_gives_the_wait_and_the_share() -> None:
    s = fujian()
    c = assess_eligibility(s, [RESUME], [RESUME], [5], [True], [False])
    en = explain_eligibility(s, c, 0, RESUME).render("en")
    assert "waiting period of 3 months" in en and "50%" in en and "ybj.fj.gov.cn" in en
    assert "等待期" in explain_eligibility(s, c, 0, RESUME).render("zh")
