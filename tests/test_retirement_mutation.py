"""Retirement transition, checked at each threshold and each reason, with the exact explanation.

Sources: 长沙市职工基本医疗保险管理办法 (PD changsha, as quoted 2021-03-21): men 30 / women 25 years,
10 years actually paid locally, deemed years count. The shortfall formula is unsourced (DOMAIN §6),
so its parameters here are hypothetical, in a user file. Figures are computed by us from those.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from yibao.errors import InputError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.retirement import RetirementReason, assess_retirement, explain_retirement

MALE, FEMALE = 0, 1
BASE_KEYS = ("retirement.min_years.male", "retirement.min_years.female",
             "retirement.min_local_actual_years", "retirement.deemed_years_count")
USER = """
region: {{code: "990431", pinyin: changsha_check, name_zh: 长沙（假设参数）, name_en: Changsha check,
         inherits: changsha, pooling_level: hypothetical, confidence: low}}
sources:
  hypothetical: {{title: "hypothetical values for a test", confidence: low}}
parameters:
  retirement.deemed_years_count: [{{from: 2021-03-21, value: {deemed}, source: hypothetical}}]
  retirement.shortfall.mode: [{{from: 2021-03-21, value: {mode}, source: hypothetical}}]
  contribution.average_wage_monthly: [{{from: 2021-03-21, value: "8123.45", source: hypothetical}}]
  retirement.shortfall.base_share: [{{from: 2021-03-21, value: "60%", source: hypothetical}}]
  retirement.shortfall.rate: [{{from: 2021-03-21, value: "7.77%", source: hypothetical}}]
"""


def changsha() -> Snapshot:
    return Registry().policy("changsha").at(dt.date(2024, 1, 1))


def user(tmp_path: Path, deemed: bool = True, mode: str = "lump_sum_payment") -> Snapshot:
    f = tmp_path / f"r_{deemed}_{mode}.yaml"
    f.write_text(USER.format(deemed=str(deemed).lower(), mode=mode), encoding="utf-8")
    return Registry(policy_files=[f]).policy("changsha_check").at(dt.date(2024, 1, 1))


def test_each_reason_in_one_batch() -> None:
    """PD changsha, computed by us: a man with 360 months (eligible), a woman with 299 (short 1
    month), a man with 360 of which 119 local (short 1 local month), a woman with 300 and arrears
    of 0.01 yuan (补一退一, seed 002), and a woman with 300 months and none (eligible)."""
    c = assess_retirement(changsha(), [MALE, FEMALE, MALE, FEMALE, FEMALE],
                          [360, 299, 360, 300, 300], [0] * 5, [0] * 5, [120, 120, 119, 120, 120],
                          [0, 0, 0, 1, 0])
    assert c.reason.tolist() == [RetirementReason.eligible, RetirementReason.short_of_years,
                                 RetirementReason.short_of_local_years,
                                 RetirementReason.unit_arrears, RetirementReason.eligible]
    assert c.reason.dtype == np.int8
    assert c.eligible.tolist() == [True, False, False, False, True]
    assert c.required_months.tolist() == [360, 300, 360, 300, 300]
    assert c.local_required_months.tolist() == [120] * 5
    assert c.shortfall_months.tolist() == [0, 1, 1, 0, 0]
    assert c.shortfall_payment_fen.tolist() == [0] * 5
    assert c.shortfall_payment_fen.dtype == np.int64
    assert c.keys == BASE_KEYS


def test_short_of_both_reports_years_and_the_larger_shortfall() -> None:
    """A woman with 100 months, 100 local: short 200 months overall and 20 local → 200."""
    c = assess_retirement(changsha(), [FEMALE], [100], [0], [0], [100], [0])
    assert int(c.reason[0]) == RetirementReason.short_of_years
    assert c.shortfall_months.tolist() == [200]
    # A man with 300 months, 20 local: short 60 overall and 100 local → years first, 100 months.
    c = assess_retirement(changsha(), [MALE], [300], [0], [0], [20], [0])
    assert int(c.reason[0]) == RetirementReason.short_of_years
    assert c.shortfall_months.tolist() == [100]


def test_transferred_and_deemed_months_count_when_the_region_says_so(tmp_path: Path) -> None:
    """Changsha counts deemed years; a region that does not leaves them out (hypothetical file)."""
    c = assess_retirement(changsha(), [MALE], [200], [100], [60], [200], [0])
    assert c.qualifying_months.tolist() == [360] and bool(c.eligible[0])
    n = assess_retirement(user(tmp_path, deemed=False), [MALE], [200], [100], [60], [200], [0])
    assert n.qualifying_months.tolist() == [260] and n.shortfall_months.tolist() == [100]


def test_lump_sum_rounds_the_base_to_the_yuan_and_the_amount_to_the_fen(tmp_path: Path) -> None:
    """Hypothetical formula, national rounding (base yuan half-up, amount fen half-up): 8123.45 ×
    60% = 4874.07 → 4874; × 7.77% = 378.7098 → 378.71 a month; × 13 months short = 4923.23."""
    s = user(tmp_path)
    c = assess_retirement(s, [MALE, MALE], [347, 360], [0, 0], [0, 0], [347, 360], [0, 0],
                          price_shortfall=True)
    assert c.shortfall_months.tolist() == [13, 0]
    assert c.shortfall_payment_fen.tolist() == [492323, 0]
    assert c.keys == (*BASE_KEYS, "retirement.shortfall.mode", "contribution.average_wage_monthly",
                      "retirement.shortfall.base_share", "retirement.shortfall.rate",
                      "contribution.base_rounding", "contribution.amount_rounding")
    en = explain_retirement(s, c, 0).render("en").splitlines()
    assert en[-1] == "2. result: short of years: shortfall 13 months; payment 4923.23 = 4923.23"


def test_continuing_to_pay_costs_nothing_now_and_nobody_short_reads_nothing(tmp_path: Path) -> None:
    c = assess_retirement(user(tmp_path, mode="continue_paying"), [MALE], [300], [0], [0], [300],
                          [0], price_shortfall=True)
    assert c.shortfall_payment_fen.tolist() == [0]
    assert c.keys == (*BASE_KEYS, "retirement.shortfall.mode")
    e = assess_retirement(user(tmp_path), [MALE], [360], [0], [0], [360], [0],
                          price_shortfall=True)
    assert e.keys == BASE_KEYS


def test_no_one_to_check_gives_empty_columns() -> None:
    c = assess_retirement(changsha(), [], [], [], [], [], [])
    assert c.eligible.tolist() == [] and c.keys == BASE_KEYS


@pytest.mark.parametrize("sex", [-1, 2])
def test_sex_must_be_0_or_1(sex: int) -> None:
    with pytest.raises(InputError) as err:
        assess_retirement(changsha(), [MALE, sex], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0])
    assert err.value.field == "sex"
    assert err.value.zh.endswith("无效：应为 male 或 female（0/1）")
    assert err.value.en.endswith(": expected male or female (0/1)")


def _assess(cols: dict[str, list[int]]) -> None:
    assess_retirement(changsha(), [0, 1], cols["actual_months"], cols["deemed_months"],
                      cols["transferred_months"], cols["local_actual_months"],
                      cols["unit_arrears_fen"])


@pytest.mark.parametrize("field", ["actual_months", "deemed_months", "transferred_months",
                                   "local_actual_months", "unit_arrears_fen"])
def test_each_column_is_checked_by_name(field: str) -> None:
    cols = {k: [0, 0] for k in ("actual_months", "deemed_months", "transferred_months",
                                "local_actual_months", "unit_arrears_fen")}
    cols[field] = [0, -5]
    with pytest.raises(InputError) as err:
        _assess(cols)
    assert (err.value.field, err.value.value) == (field, -5)
    assert err.value.zh == f"字段 {field} 的值 -5 无效：应为非负整数（月）"
    assert err.value.en == f"field {field}: invalid value -5: must be a whole number of months ≥ 0"
    cols[field] = [0]
    with pytest.raises(InputError) as err:
        _assess(cols)
    assert (err.value.field, err.value.value) == (field, (1,))
    assert err.value.en == f"field {field}: invalid value (1,): expected length 2"
    assert err.value.zh == f"字段 {field} 的值 (1,) 无效：长度应为 2"


def test_local_months_may_equal_but_not_exceed_actual_months() -> None:
    c = assess_retirement(changsha(), [MALE], [360], [0], [0], [360], [0])
    assert bool(c.eligible[0])
    with pytest.raises(InputError) as err:
        assess_retirement(changsha(), [MALE, MALE], [360, 10], [0, 0], [0, 0], [360, 11], [0, 0])
    assert err.value.zh == "字段 local_actual_months 的值 360 无效：不能超过 actual_months"
    assert err.value.en == "field local_actual_months: invalid value 360: cannot exceed actual_months"


@pytest.mark.parametrize(("row", "zh", "en"), [
    (0, "结论：符合条件", "result: eligible"),
    (1, "结论：缴费年限不足", "result: short of years"),
    (2, "结论：本地实际缴费年限不足", "result: short of local years"),
    (3, "结论：单位欠费，须先补缴（补一退一）", "result: unit arrears must be cleared first (补一退一)"),
])
def test_the_explanation_names_each_result(row: int, zh: str, en: str) -> None:
    s = changsha()
    c = assess_retirement(s, [MALE, FEMALE, MALE, FEMALE], [360, 299, 360, 300], [0] * 4, [0] * 4,
                          [120, 120, 119, 120], [0, 0, 0, 100])
    short = [0, 1, 1, 0][row]
    z = explain_retirement(s, c, row).render("zh").splitlines()
    e = explain_retirement(s, c, row).render("en").splitlines()
    req = c.required_months[row]
    assert z[0] == "长沙市 2024-01-01 退休医保待遇资格"
    assert e[0] == "Changsha 2024-01-01 retirement entitlement"
    assert z[1] == (f"1. 累计缴费月数（实际 + 视同（如计入）+ 认可的转入）: {c.qualifying_months[row]} / "
                    f"{req} required; local minimum 120")
    assert e[1] == ("1. qualifying months (actual + deemed if counted + recognised transferred): "
                    f"{c.qualifying_months[row]} / {req} required; local minimum 120")
    assert e[2].startswith("    · minimum contribution years, men = 30 [retirement.min_years.male;")
    assert len(z) == 7 and len(e) == 7
    assert z[6] == f"2. {zh}: shortfall {short} months; payment 0.00 = 0.00"
    assert e[6] == f"2. {en}: shortfall {short} months; payment 0.00 = 0.00"
