"""Parameter history: the same region answers differently when its rules changed.

Each case names the source the region file cites (see the file's `sources:`), as recorded in
/work/shared/reference/policy_sources.yaml ("PD <region>") or the seeds.
"""

from __future__ import annotations

import datetime as dt

import pytest

from yibao.money import Rounding, apply_rate
from yibao.policy.registry import Registry
from yibao.policy.resolve import benefit_year_start
from yibao.policy.values import UNKNOWN

REG = Registry()
D = dt.date


def at(region: str, date: dt.date, key: str) -> object:
    return REG.policy(region).resolve(key, date).value


# -- Beijing (beijing.yaml) -------------------------------------------------------------------------

def test_beijing_account_regime_and_employer_tiers_change_on_2022_09_01() -> None:
    """PD beijing: before the reform 0.8% / 1% / 2% of base by age (<35, 35-44, 45+) from the
    employer; from 2022-09-01 the whole employer contribution goes to the pooled fund."""
    assert at("beijing", D(2019, 6, 1), "account.regime") == "pre_2021_reform"
    assert at("beijing", D(2024, 6, 1), "account.regime") == "post_2021_reform"
    old = at("beijing", D(2022, 8, 31), "account.in_service.employer_tiers")
    new = at("beijing", D(2022, 9, 1), "account.in_service.employer_tiers")
    assert [(t.age_from, t.value) for t in old] == [(0, 80), (35, 100), (45, 200)]  # type: ignore[attr-defined]
    assert [(t.age_from, t.value) for t in new] == [(0, 0)]  # type: ignore[attr-defined]


def test_beijing_large_amount_limit_2018_vs_2019() -> None:
    """PD beijing: 大额互助 20万 before 2019 (30万 in all), 40万 from 2019 (50万 in all)."""
    key = "settlement.inpatient.large_amount.ceiling"
    assert at("beijing", D(2018, 12, 31), key)["in_service"] == 20_000_000  # type: ignore[index]
    assert at("beijing", D(2019, 1, 1), key)["in_service"] == 40_000_000  # type: ignore[index]


def test_beijing_employer_maternity_component_from_2020() -> None:
    """PD beijing: maternity (0.8%) folded into the medical rate from 2020-01-01; 9.8% in all
    = 8% basic + 0.8% maternity + 1% 大额 (before: 9% + 1%, seed 001)."""
    key = "contribution.employer_rate.maternity"
    assert at("beijing", D(2019, 12, 31), key) == 0
    assert at("beijing", D(2020, 1, 1), key) == 80
    total_2024 = sum(at("beijing", D(2024, 1, 1), f"contribution.employer_rate.{p}")  # type: ignore[misc]
                     for p in ("basic", "maternity", "large_amount"))
    total_2019 = sum(at("beijing", D(2019, 1, 1), f"contribution.employer_rate.{p}")  # type: ignore[misc]
                     for p in ("basic", "maternity", "large_amount"))
    assert (total_2019, total_2024) == (1000, 980)


# -- Shanghai (shanghai.yaml) -----------------------------------------------------------------------

@pytest.mark.parametrize(("date", "ceiling"), [
    (D(2019, 4, 1), 530_000), (D(2020, 6, 30), 530_000), (D(2020, 7, 1), 550_000),
    (D(2021, 7, 1), 570_000), (D(2022, 7, 1), 590_000), (D(2023, 6, 30), 590_000),
    (D(2023, 7, 1), 610_000), (D(2024, 7, 1), 630_000),
])
def test_shanghai_ceiling_follows_the_insurance_year(date: dt.date, ceiling: int) -> None:
    """PD shanghai: 53万 (2019 insurance year), 55万 (2020), 57万, 59万, 61万 (2023), 63万 (2024, low)."""
    assert at("shanghai", date, "settlement.inpatient.pooled_ceiling")["in_service"] == ceiling * 100  # type: ignore[index]


def test_shanghai_local_supplement_cut_on_2022_10_01() -> None:
    """PD shanghai (上海市医疗保障局 政策问答 2022-09-30): 地方附加 2% → 1.5% from 2022-10-01."""
    key = "contribution.employer_rate.local_supplement"
    assert at("shanghai", D(2022, 9, 30), key) == 200
    assert at("shanghai", D(2022, 10, 1), key) == 150


def test_shanghai_2019_insurance_year_runs_fifteen_months() -> None:
    """PD shanghai (dbsqp.com item 28426): the 2019 insurance year ran 2019-04-01..2020-06-30."""
    pol = REG.policy("shanghai")
    assert benefit_year_start(pol, D(2019, 4, 1)) == D(2019, 4, 1)
    assert benefit_year_start(pol, D(2020, 6, 30)) == D(2019, 4, 1)
    assert benefit_year_start(pol, D(2020, 7, 1)) == D(2020, 7, 1)
    assert benefit_year_start(pol, D(2024, 3, 1)) == D(2023, 7, 1)


# -- the nine regions of this file set -------------------------------------------------------------

def test_wuhan_flexible_retiree_credit_is_66_yuan() -> None:
    """武汉市职工基本医疗保险门诊共济保障实施细则: retirees 83 yuan/month, former flexible workers 66
    (80% of 83). Computed by us: 83 x 80% = 66.40, rounded to the yuan by account.credit_rounding."""
    snap = REG.policy("wuhan").at(D(2023, 6, 1))
    credit = snap.get("account.retiree.fixed_tiers")[0].value
    factor = snap.get("account.retiree.flexible_factor")
    rounding: Rounding = snap.get("account.credit_rounding")
    assert apply_rate(credit, factor, rounding) == 6600


def test_wuhan_outpatient_initial_then_revised_on_2023_04_10() -> None:
    """PD wuhan: deductible 700/500 and level-3 50%/60% until 2023-04-09; from 2023-04-10 no
    deductible, level-3 55%/65%, retiree cap 4500, category-B items pay 10% first."""
    pol = REG.policy("wuhan")
    a, b = pol.at(D(2023, 4, 9)), pol.at(D(2023, 4, 10))
    assert a.cell("settlement.outpatient.deductible.first", "in_service", "level_1") == 70_000
    assert b.cell("settlement.outpatient.deductible.first", "retired", "level_3") == 0
    assert a.get("settlement.outpatient.bands")[0].ratio["retired"]["level_3"] == 6000
    assert b.get("settlement.outpatient.bands")[0].ratio["in_service"]["level_3"] == 5500
    assert b.get("settlement.outpatient.pooled_ceiling")["retired"] == 450_000
    assert a["settlement.category_b_first_self_pay"].value is UNKNOWN
    assert b.get("settlement.category_b_first_self_pay") == 1000


def test_yinchuan_second_admission_deductible_is_20_percent_lower() -> None:
    """PD yinchuan (2023): 1200 at 三级甲等, 20% lower from the 2nd admission.
    Computed by us: 1200 x 80% = 960."""
    snap = REG.policy("yinchuan").at(D(2023, 8, 1))
    assert snap.cell("settlement.inpatient.deductible.first", "retired", "level_3a") == 120_000
    assert snap.cell("settlement.inpatient.deductible.second", "retired", "level_3a") == 96_000
    assert snap.cell("settlement.inpatient.deductible.second", "in_service", "level_3") == 64_000
    assert snap["settlement.inpatient.deductible.second"].derived


def test_hefei_deductible_halved_and_ceiling_300000_in_2023() -> None:
    """PD hefei (2023): 600 at level 3, halved from the 2nd admission; pooled ceiling 300000
    (conflicts with seed 000's 6万, noted in the file)."""
    snap = REG.policy("hefei").at(D(2023, 3, 1))
    assert snap.cell("settlement.inpatient.deductible.second", "in_service", "level_3") == 30_000
    assert snap.get("settlement.inpatient.pooled_ceiling")["retired"] == 30_000_000
    assert "seed 000" in (snap["settlement.inpatient.pooled_ceiling"].note or "")


def test_lanzhou_ceiling_rises_from_40000_to_60000_in_2014() -> None:
    """PD lanzhou (兰州晚报 2013-09-12): 4万 → 6万 from 2014-01; 大额 uncapped from then."""
    key = "settlement.inpatient.pooled_ceiling"
    assert at("lanzhou", D(2013, 12, 31), key)["in_service"] == 4_000_000  # type: ignore[index]
    assert at("lanzhou", D(2014, 1, 1), key)["in_service"] == 6_000_000  # type: ignore[index]
    assert at("lanzhou", D(2024, 1, 1), "settlement.inpatient.large_amount.ceiling")["retired"] is None  # type: ignore[index]


def test_changsha_minimum_years() -> None:
    """PD changsha (长沙市职工基本医疗保险管理办法): men 30, women 25, 10 years actually paid in the
    province, deemed years count."""
    snap = REG.policy("changsha").at(D(2022, 1, 1))
    assert (snap.get("retirement.min_years.male"), snap.get("retirement.min_years.female")) == (30, 25)
    assert snap.get("retirement.min_local_actual_years") == 10
    assert snap.get("retirement.deemed_years_count") is True


def test_chengdu_and_chongqing_reform_dates() -> None:
    """PD chengdu (2023-01-01, 2.8% of the 2022 average pension, low) and PD chongqing
    (2024-01-01, outpatient 200/100 deductible, caps 3000/4000)."""
    assert at("chengdu", D(2022, 12, 31), "account.regime") == "pre_2021_reform"
    assert at("chengdu", D(2023, 1, 1), "account.regime") == "post_2021_reform"
    assert at("chengdu", D(2023, 1, 1), "account.retiree.rate_tiers")[0].value == 280  # type: ignore[index]
    assert at("chongqing", D(2023, 12, 31), "settlement.outpatient.pooled_ceiling") is UNKNOWN
    assert at("chongqing", D(2024, 1, 1), "settlement.outpatient.pooled_ceiling")["retired"] == 400_000  # type: ignore[index]


def test_kunming_is_unknown_and_says_so() -> None:
    """policy_sources.yaml: 昆明 'nothing usable found'."""
    r = REG.policy("kunming").resolve("settlement.inpatient.pooled_ceiling", D(2023, 1, 1))
    assert r.value is UNKNOWN and "seed 000" in (r.note or "")
    assert REG.header("kunming").confidence == "low"
