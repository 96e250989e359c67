"""Contribution assessment: worked examples from published figures, each naming its source."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry
from yibao.rules.contribution import (
    ContributionColumns,
    ContributionParams,
    assess_contributions,
    employer_base_by_unit,
    person_type_codes,
)
from yibao.rules.contribution_explain import explain_contribution

FIX = Path(__file__).parent / "fixtures" / "rules"


def params(region: str, day: str, *files: str) -> ContributionParams:
    reg = Registry(policy_files=[FIX / f for f in files])
    return ContributionParams.from_snapshot(reg.policy(region).at(dt.date.fromisoformat(day)))


def one(region: str, day: str, wage_yuan: int, kind: str, *files: str) -> dict[str, int]:
    cols = assess_contributions([wage_yuan * 100], person_type_codes([kind]), params(region, day, *files))
    return cols.row(0)


# -- Beijing -------------------------------------------------------------------------------------

def test_beijing_flexible_worker_pays_520_80_from_2022_07() -> None:
    """京人社保发〔2022〕30号: 灵活就业人员 520.80 元/月 (31884/3 × 70% = 7439.6 → 7440 × 7%)."""
    r = one("beijing", "2022-07-01", 0, "flexible")
    assert (r["base_fen"], r["total_fen"]) == (744000, 52080)
    assert r["to_pooled_fund_fen"] == 52080


def test_beijing_flexible_worker_pays_553_56_from_2023_07() -> None:
    """京人社发〔2023〕8号: 553.56 元/月 (33891/3 × 70% = 7907.9 → 7908 × 7%)."""
    r = one("beijing", "2023-07-01", 0, "flexible")
    assert (r["base_fen"], r["total_fen"]) == (790800, 55356)


def test_beijing_flexible_amount_changes_on_the_first_day_of_the_new_year() -> None:
    """The 2022 amount holds on 2023-06-30; the 2023 one starts 2023-07-01 (same two notices)."""
    assert one("beijing", "2023-06-30", 0, "flexible")["total_fen"] == 52080
    assert one("beijing", "2023-07-01", 0, "flexible")["total_fen"] == 55356


@pytest.mark.parametrize(("wage", "base"), [
    (3000, 5869), (5868, 5869), (5869, 5869), (5870, 5870), (12000, 12000),
    (31883, 31883), (31884, 31884), (31885, 31884), (90000, 31884),
])
def test_beijing_base_clamped_to_5869_31884_in_2022_07(wage: int, base: int) -> None:
    """京人社保发〔2022〕30号: 缴费基数下限 5869、上限 31884 元/月 (below, at and above each limit)."""
    assert one("beijing", "2022-07-01", wage, "in_service")["base_fen"] == base * 100


@pytest.mark.parametrize(("wage", "base"), [(6325, 6326), (6326, 6326), (33891, 33891), (33892, 33891)])
def test_beijing_base_clamped_to_6326_33891_in_2023_07(wage: int, base: int) -> None:
    """京人社发〔2023〕8号: 下限 6326、上限 33891 元/月."""
    assert one("beijing", "2023-07-01", wage, "in_service")["base_fen"] == base * 100


def test_beijing_employer_9_8_percent_is_8_basic_0_8_maternity_1_large_amount_from_2020() -> None:
    """PD beijing (jingyanla.com, medium): 9.8% = 8% + 0.8% 生育 + 1% 大额; individual 2% + 3 yuan.

    Computed by us on a 10000-yuan base: 800 + 80 + 100 = 980 employer; 200 + 3 individual.
    """
    r = one("beijing", "2022-07-01", 10000, "in_service")
    assert (r["employer_basic_fen"], r["employer_maternity_fen"], r["employer_large_amount_fen"]) == (
        80000, 8000, 10000)
    assert r["employer_total_fen"] == 98000
    assert (r["individual_basic_fen"], r["fixed_premium_fen"]) == (20000, 300)
    assert r["to_individual_account_fen"] == 20000
    assert r["to_large_amount_fund_fen"] == 10300  # 1% employer + the 3-yuan premium
    assert r["to_maternity_fund_fen"] == 8000


def test_beijing_employer_was_9_plus_1_before_2020() -> None:
    """Seed 001: 单位 9% 基本医保 + 1% 大额互助 (before maternity was folded in on 2020-01-01)."""
    r = one("beijing_old_limits", "2019-12-31", 10000, "in_service", "beijing_2019_limits.yaml")
    assert (r["employer_basic_fen"], r["employer_maternity_fen"], r["employer_large_amount_fen"]) == (
        90000, 0, 10000)


def test_beijing_retiree_pays_only_3_yuan_to_the_large_amount_fund() -> None:
    """PD beijing: retirees pay no basic contribution, 3 yuan/month 大额互助."""
    r = one("beijing", "2023-07-01", 0, "retiree")
    assert (r["base_fen"], r["total_fen"], r["to_large_amount_fund_fen"]) == (0, 300, 300)


# -- Shanghai ------------------------------------------------------------------------------------

def test_shanghai_employer_rate_10_5_to_10_percent_on_2022_10_01() -> None:
    """上海市医疗保障局 政策问答 (2022-09-30): 10.5% → 10% from 2022-10-01, 地方附加 2% → 1.5%.

    Limits in this fixture are placeholders (Shanghai's pre-2023-07 limits are not sourced).
    """
    before = one("shanghai_rates_only", "2022-09-30", 10000, "in_service", "shanghai_rates_only.yaml")
    after = one("shanghai_rates_only", "2022-10-01", 10000, "in_service", "shanghai_rates_only.yaml")
    assert (before["employer_total_fen"], before["employer_local_supplement_fen"]) == (105000, 20000)
    assert (after["employer_total_fen"], after["employer_local_supplement_fen"]) == (100000, 15000)
    assert after["to_local_supplement_fund_fen"] == 15000


@pytest.mark.parametrize(("wage", "base"), [(5000, 7310), (7310, 7310), (36549, 36549), (40000, 36549)])
def test_shanghai_base_7310_to_36549_from_2023_07(wage: int, base: int) -> None:
    """PD shanghai (mjzbj.com repost): 2023-07 起 缴费基数 7310–36549 元/月."""
    assert one("shanghai", "2023-07-01", wage, "in_service")["base_fen"] == base * 100


def test_shanghai_limits_before_2023_07_are_unknown_and_say_so() -> None:
    """No source for Shanghai's 2022-07 limits: the calculation stops and names the key."""
    with pytest.raises(UnknownParameterError) as err:
        one("shanghai", "2023-06-30", 10000, "in_service")
    assert err.value.key == "contribution.base_floor"


def test_limits_derived_from_average_wage_reproduce_shanghai_7310_36549() -> None:
    """DOMAIN §2.1: 60%/300% of 12183 = 7309.8 → 7310 and 36549 (PD shanghai); explanation says derived."""
    p = params("derived_limits_region", "2023-07-01", "derived_limits.yaml")
    cols = assess_contributions([100, 10**7], [0, 0], p)
    assert list(cols.base_fen) == [731000, 3654900]
    text = explain_contribution(p, cols, 0, 0, 100).render("en")
    assert "derived" in text and "12183.00" in text


# -- seed 002: new-form workers ------------------------------------------------------------------

def test_seed_002_new_form_rate_8_percent_saves_687_a_year() -> None:
    """Seed 002: 职工 9% vs 新业态 8%; 年人均 6178 vs 5491 元, 少缴 687 元 (base ≈ 5720/month, E1).

    Computed by us: 5720 × 9% × 12 = 6177.60 → 6178; 5720 × 8% × 12 = 5491.20 → 5491.
    """
    p = params("seed_two_region", "2023-01-01", "seed002_region.yaml")
    cols = assess_contributions([572000, 572000], person_type_codes(["in_service", "new_form"]), p)
    employee_year, new_form_year = (int(x) * 12 for x in cols.total_fen)
    yuan = [(v + 50) // 100 for v in (employee_year, new_form_year)]
    assert yuan == [6178, 5491]
    assert yuan[0] - yuan[1] == 687


# -- unit employer base --------------------------------------------------------------------------

def test_employer_base_is_the_sum_of_member_bases() -> None:
    """DOMAIN §2.1 (seed 000): the employer base may be the sum of the members' individual bases."""
    p = params("beijing", "2022-07-01")
    cols = assess_contributions([300000, 1200000, 9000000], [0, 0, 0], p)
    assert list(employer_base_by_unit([0, 1, 0], cols.base_fen, 2)) == [586900 + 3188400, 1200000]


# -- errors --------------------------------------------------------------------------------------

def test_negative_wage_is_a_bilingual_input_error() -> None:
    with pytest.raises(InputError) as err:
        assess_contributions([-100], [0], params("beijing", "2022-07-01"))
    assert "wage" in err.value.zh and "non-negative" in err.value.en


def test_unknown_person_type_is_a_bilingual_input_error() -> None:
    with pytest.raises(InputError) as err:
        person_type_codes(["student"])
    assert "in_service" in err.value.en and "student" in err.value.zh


def test_unknown_parameter_raises_only_when_a_row_needs_it() -> None:
    """Beijing's new-form rules are unknown: unit employees still work; a new-form row names the key."""
    p = params("beijing", "2022-07-01")
    assert assess_contributions([1000000], [0], p).total_fen[0] > 0
    with pytest.raises(UnknownParameterError) as err:
        assess_contributions([1000000, 1000000], person_type_codes(["in_service", "new_form"]), p)
    assert err.value.key.startswith("contribution.new_form")


def test_explanation_names_parameter_values_and_sources_in_both_languages() -> None:
    p = params("beijing", "2022-07-01")
    cols = assess_contributions([1200000], [0], p)
    zh = explain_contribution(p, cols, 0, 0, 1200000).render("zh")
    en = explain_contribution(p, cols, 0, 0, 1200000).render("en")
    assert "京人社保发〔2022〕30号" in zh and "缴费基数" in zh and "5869.00" in zh
    assert "base" in en and "0.8%" in en and "1419.00" in en


def test_columns_are_one_int64_block_that_can_be_reused() -> None:
    p = params("beijing", "2022-07-01")
    first = assess_contributions([1000000, 2000000], [0, 0], p)
    again = assess_contributions([1500000, 500000], [0, 0], p, out=first.data)
    assert isinstance(again, ContributionColumns) and again.data is first.data
    assert again.data.dtype == np.int64 and list(again.base_fen) == [1500000, 586900]
