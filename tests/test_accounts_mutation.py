"""Account credits checked row by row for every member type, every retiree mode and every input
check, with the exact explanation a clerk reads.

Sources: 京劳社医发〔2006〕9号 (PD beijing): 2% individual + employer 0.8% / 1% / 2% (<35 / 35–44 /
45+) before 2022-09-01, retirees 100 / 110 yuan (70+); 北京日报 2022-09-16: individual 2% only from
2022-09-01. Flexible, new-form and retiree-percentage values are not sourced for Beijing, so a user
file inheriting Beijing sets hypothetical ones. Every figure is computed by us from those.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from yibao.errors import InputError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.accounts import credit_accounts, explain_account

IN_SERVICE, FLEXIBLE, NEW_FORM, RETIREE = 0, 1, 2, 3
HEAD = """
region: {{code: "990111", pinyin: account_check, name_zh: 北京（假设参数）, name_en: Beijing check,
         inherits: beijing, pooling_level: hypothetical, confidence: low}}
sources:
  hypothetical: {{title: "hypothetical values for a test", confidence: low}}
parameters:
  account.flexible.credited: [{{from: 2020-01-01, value: {credited}, source: hypothetical}}]
  contribution.flexible.scheme: [{{from: 2020-01-01, value: {scheme}, source: hypothetical}}]
  contribution.flexible.account_rate: [{{from: 2020-01-01, value: "1.5%", source: hypothetical}}]
  contribution.new_form.with_account: [{{from: 2020-01-01, value: {new_form}, source: hypothetical}}]
  account.retiree.flexible_factor: [{{from: 2020-01-01, value: "80%", source: hypothetical}}]
"""
RETIREE_MODE = """
  account.retiree.mode: [{{from: 2020-01-01, value: {mode}, source: hypothetical}}]
  account.retiree.rate_tiers: [{{from: 2020-01-01, source: hypothetical,
      value: [{{age_from: 0, value: "2.8%"}}, {{age_from: 75, value: "3%"}}]}}]
  account.retiree.average_pension_monthly: [{{from: 2020-01-01, value: "4321.00", source: hypothetical}}]
  contribution.average_wage_monthly: [{{from: 2020-01-01, value: "8123.45", source: hypothetical}}]
"""


def snap(tmp_path: Path, day: str, mode: str | None = None, credited: bool = True,
         scheme: str = "pooling_plus_account", new_form: bool = True) -> Snapshot:
    text = HEAD.format(credited=str(credited).lower(), scheme=scheme, new_form=str(new_form).lower())
    if mode:
        text += RETIREE_MODE.format(mode=mode)
    f = tmp_path / f"a_{mode}_{credited}_{scheme}_{new_form}.yaml"
    f.write_text(text, encoding="utf-8")
    return Registry(policy_files=[f]).policy("account_check").at(dt.date.fromisoformat(day))


TYPES = [IN_SERVICE, FLEXIBLE, NEW_FORM, RETIREE, RETIREE]
AGES = [34, 45, 30, 69, 70]
BASES = [1000050, 744000, 500000, 0, 0]
INDIVIDUAL = [20001, 14880, 10000, 0, 0]
ALL_KEYS = ("account.credit_rounding", "account.regime", "account.in_service.individual_share")
OTHER_KEYS = ("account.flexible.credited", "contribution.flexible.scheme",
              "contribution.flexible.account_rate", "contribution.new_form.with_account",
              "contribution.individual_rate.basic", "account.retiree.mode",
              "account.retiree.fixed_tiers", "account.retiree.flexible_factor")


def test_every_member_type_before_the_beijing_reform(tmp_path: Path) -> None:
    """2022-08-31: in service 200.01 + 10000.50 × 0.8% = 80.004 → 80.00; flexible 7440 × 1.5% =
    111.60; new-form 5000 × 2% = 100.00; retirees 100 (69) × 80% for a former flexible worker = 80
    and 110 (70), out of the employer contributions the pooled fund received."""
    c = credit_accounts(snap(tmp_path, "2022-08-31"), TYPES, AGES, BASES, INDIVIDUAL,
                        None, [False, False, False, True, False])
    assert c.credit_fen.tolist() == [28001, 11160, 10000, 8000, 11000]
    assert c.from_individual_fen.tolist() == [20001, 0, 0, 0, 0]
    assert c.from_employer_fen.tolist() == [8000, 0, 0, 8000, 11000]
    assert c.from_pooled_fen.tolist() == [0, 11160, 10000, 0, 0]
    assert c.individual_to_pool_fen.tolist() == [0] * 5
    assert c.rate_bp.tolist() == [80, 150, 200, 0, 0]
    assert c.keys == (*ALL_KEYS, "account.in_service.employer_tiers",
                      "account.in_service.tiers_cover", *OTHER_KEYS)
    for col in (c.credit_fen, c.from_individual_fen, c.from_employer_fen, c.from_pooled_fen,
                c.individual_to_pool_fen, c.rate_bp):
        assert col.dtype == np.int64


def test_every_member_type_from_the_beijing_reform(tmp_path: Path) -> None:
    """2022-09-01: in service the individual 2% only; retiree credits now from the pooled fund."""
    c = credit_accounts(snap(tmp_path, "2022-09-01"), TYPES, AGES, BASES, INDIVIDUAL,
                        None, [False, False, False, True, False])
    assert c.credit_fen.tolist() == [20001, 11160, 10000, 8000, 11000]
    assert c.from_employer_fen.tolist() == [0] * 5
    assert c.from_pooled_fen.tolist() == [0, 11160, 10000, 8000, 11000]
    assert c.rate_bp.tolist() == [0, 150, 200, 0, 0]
    assert c.keys == (*ALL_KEYS, *OTHER_KEYS)


def test_without_a_flexible_account_or_a_new_form_account_nothing_is_credited(
        tmp_path: Path) -> None:
    """Pooling-only schemes (Tianjin style) and regions crediting no flexible account pay nothing."""
    for credited, scheme, keys in (
            (True, "pooling_only", ("account.flexible.credited", "contribution.flexible.scheme")),
            (False, "pooling_plus_account", ("account.flexible.credited",))):
        s = snap(tmp_path, "2023-01-01", credited=credited, scheme=scheme, new_form=False)
        c = credit_accounts(s, [FLEXIBLE, NEW_FORM], [40, 40], [744000, 500000], [0, 0])
        assert c.credit_fen.tolist() == [0, 0] and c.rate_bp.tolist() == [0, 0]
        assert c.keys == ("account.credit_rounding", *keys, "contribution.new_form.with_account")


@pytest.mark.parametrize(("mode", "credits", "key"), [
    # 3333.33 × 2.8% = 93.33324 → 93.33; × 3% = 99.9999 → 100.00; former flexible: 93.33 × 80%.
    ("pct_own_pension", [9333, 10000, 7466], None),
    # 4321.00 × 2.8% = 120.988 → 120.99; × 3% = 129.63; × 80% = 96.792 → 96.79.
    ("pct_average_pension", [12099, 12963, 9679], "account.retiree.average_pension_monthly"),
    # 8123.45 × 2.8% = 227.4566 → 227.46; × 3% = 243.7035 → 243.70; × 80% = 181.968 → 181.97.
    ("pct_average_wage", [22746, 24370, 18197], "contribution.average_wage_monthly"),
])
def test_retiree_percentage_modes_round_to_the_fen(tmp_path: Path, mode: str, credits: list[int],
                                                   key: str | None) -> None:
    """Jinan-style own pension (seed 003), Guangzhou-style average pension, average wage; tiers
    2.8% under 75 and 3% from 75 (hypothetical), national fen half-up rounding."""
    s = snap(tmp_path, "2023-01-01", mode)
    c = credit_accounts(s, [RETIREE] * 3, [74, 75, 74], [0] * 3, [0] * 3, [333333] * 3,
                        [False, False, True])
    assert c.credit_fen.tolist() == credits
    assert c.from_pooled_fen.tolist() == credits
    assert c.rate_bp.tolist() == [280, 300, 280]
    extra = (key,) if key else ()
    assert c.keys == ("account.credit_rounding", "account.retiree.mode",
                      "account.retiree.rate_tiers", *extra, "account.retiree.flexible_factor",
                      "account.regime")


def test_total_credit_tiers_never_give_more_than_the_tier(tmp_path: Path) -> None:
    """Seed 004 (tiers are the whole credit): base 5000, individual 2% = 100; tier 2% = 100 → all
    from the individual part; a tier of 1% (hypothetical) = 50 → 50 kept, 50 back to the pool."""
    f = tmp_path / "t.yaml"
    f.write_text("""
region: {code: "990112", pinyin: total_credit_check, name_zh: 总额档, name_en: Total tiers,
         inherits: beijing, pooling_level: hypothetical, confidence: low}
sources: {h: {title: "hypothetical values for a test", confidence: low}}
parameters:
  account.in_service.tiers_cover: [{from: 2020-01-01, value: total_credit, source: h}]
  account.in_service.employer_tiers: [{from: 2020-01-01, source: h,
      value: [{age_from: 0, value: "1%"}, {age_from: 40, value: "2%"}, {age_from: 50, value: "3%"}]}]
""", encoding="utf-8")
    s = Registry(policy_files=[f]).policy("total_credit_check").at(dt.date(2021, 1, 1))
    c = credit_accounts(s, [IN_SERVICE] * 3, [39, 40, 50], [500000] * 3, [10000] * 3)
    assert c.credit_fen.tolist() == [5000, 10000, 15000]
    assert c.from_individual_fen.tolist() == [5000, 10000, 10000]
    assert c.from_employer_fen.tolist() == [0, 0, 5000]
    assert c.individual_to_pool_fen.tolist() == [5000, 0, 0]


def test_the_explanation_names_each_part(tmp_path: Path) -> None:
    s = snap(tmp_path, "2022-08-31")
    c = credit_accounts(s, TYPES, AGES, BASES, INDIVIDUAL, None, [False, False, False, True, False])
    en = explain_account(s, c, 0, IN_SERVICE, 34).render("en").splitlines()
    assert en[:4] == [
        "Beijing check 2022-08-31 monthly account credit (in_service, age 34)",
        "1. from the individual contribution (already in the account): 200.01 = 200.01",
        "2. from the employer contribution (via the pooled fund): 80.00 (base × 0.8%, age 34) = 80.00",
        "3. credit this month: 200.01 + 80.00 + 0.00 = 280.01"]
    assert en[7].startswith("    · employer part credited to the account, by age = 0+: 0.8%; 35+: "
                            "1%; 45+: 2% [account.in_service.employer_tiers;")
    assert en[15].startswith("    · retiree fixed monthly credit, by age = 0+: 100.00; 70+: 110.00 [")
    zh = explain_account(s, c, 1, FLEXIBLE, 45).render("zh").splitlines()
    assert zh[:3] == ["北京（假设参数） 2022-08-31 个人账户月划入（flexible，45 岁）",
                      "1. 统筹基金划入: 111.60 (base × 1.5%, age 45) = 111.60",
                      "2. 本月划入合计: 0.00 + 0.00 + 111.60 = 111.60"]
    ret = explain_account(s, c, 3, RETIREE, 69).render("zh").splitlines()
    assert ret[1:3] == ["1. 单位缴费划入（出自统筹基金收到的单位缴费）: 80.00 = 80.00",
                        "2. 本月划入合计: 0.00 + 80.00 + 0.00 = 80.00"]


def test_the_explanation_shows_the_part_returned_to_the_pool(tmp_path: Path) -> None:
    f = tmp_path / "h.yaml"
    f.write_text("""
region: {code: "990113", pinyin: half_share, name_zh: 半数划入, name_en: Half share,
         inherits: beijing, pooling_level: hypothetical, confidence: low}
sources: {h: {title: "hypothetical values for a test", confidence: low}}
parameters:
  account.in_service.individual_share: [{from: 2023-01-01, value: "50%", source: h}]
""", encoding="utf-8")
    s = Registry(policy_files=[f]).policy("half_share").at(dt.date(2023, 1, 1))
    c = credit_accounts(s, [IN_SERVICE], [30], [1000000], [20001])
    assert c.from_individual_fen.tolist() == [10001] and c.individual_to_pool_fen.tolist() == [10000]
    zh = explain_account(s, c, 0, IN_SERVICE, 30).render("zh").splitlines()
    assert zh[1:4] == ["1. 个人缴费划入（已入账户）: 100.01 = 100.01",
                       "2. 个人缴费中未划入部分转回统筹基金: 100.00 = 100.00",
                       "3. 本月划入合计: 100.01 + 0.00 + 0.00 = 100.01"]
    en = explain_account(s, c, 0, IN_SERVICE, 30).render("en").splitlines()
    assert en[2] == "2. part of the individual contribution returned to the pool: 100.00 = 100.00"


@pytest.mark.parametrize("ptype", [-1, 4])
def test_person_type_must_be_one_of_the_four(tmp_path: Path, ptype: int) -> None:
    with pytest.raises(InputError) as err:
        credit_accounts(snap(tmp_path, "2023-01-01"), [ptype], [30], [0], [0])
    assert err.value.field == "person_type"
    assert err.value.zh.endswith("无效：应为 in_service / flexible / new_form / retiree")
    assert err.value.en.endswith(": expected one of in_service, flexible, new_form, retiree")


@pytest.mark.parametrize("field", ["age", "base_fen", "individual_fen", "pension_fen"])
def test_each_column_is_checked_by_name(tmp_path: Path, field: str) -> None:
    cols: dict[str, list[int]] = {"age": [30, 30], "base_fen": [0, 0], "individual_fen": [0, 0],
                                  "pension_fen": [0, 0]}
    s = snap(tmp_path, "2023-01-01")
    cols[field] = [0, -7]
    with pytest.raises(InputError) as err:
        credit_accounts(s, [0, 0], cols["age"], cols["base_fen"], cols["individual_fen"],
                        cols["pension_fen"])
    assert err.value.zh == f"字段 {field} 的值 -7 无效：应为非负数"
    assert err.value.en == f"field {field}: invalid value -7: must not be negative"
    cols[field] = [1]
    with pytest.raises(InputError) as err:
        credit_accounts(s, [0, 0], cols["age"], cols["base_fen"], cols["individual_fen"],
                        cols["pension_fen"])
    assert err.value.en == f"field {field}: invalid value (1,): expected length 2"
    assert err.value.zh == f"字段 {field} 的值 (1,) 无效：长度应为 2"
