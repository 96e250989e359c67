"""Individual-account credits: worked examples naming their sources, plus invariants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.accounts import credit_accounts, explain_account

FIX = Path(__file__).parent / "fixtures" / "rules"
IN_SERVICE, FLEXIBLE, NEW_FORM, RETIREE = 0, 1, 2, 3


def snap(region: str, day: str, *files: Path) -> Snapshot:
    return Registry(policy_files=list(files)).policy(region).at(dt.date.fromisoformat(day))


@pytest.mark.parametrize(("age", "credit"), [(34, 280), (35, 300), (44, 300), (45, 400), (60, 400)])
def test_beijing_in_service_before_2022_09_gets_2_percent_plus_employer_tier(age: int, credit: int) -> None:
    """PD beijing (京劳社医发〔2006〕9号): 2% + 单位 0.8% / 1% / 2% (<35 / 35–44 / 45+).

    Computed by us on a 10000-yuan base: 200 + 80 / 100 / 200.
    """
    c = credit_accounts(snap("beijing", "2022-08-31"), [IN_SERVICE], [age], [1000000], [20000])
    assert int(c.credit_fen[0]) == credit * 100
    assert int(c.from_individual_fen[0]) == 20000


def test_beijing_in_service_from_2022_09_gets_the_2_percent_only() -> None:
    """北京日报 2022-09-16: from 2022-09-01 the account gets the personal 2% only."""
    c = credit_accounts(snap("beijing", "2022-09-01"), [IN_SERVICE] * 3, [30, 40, 50], [1000000] * 3,
                        [20000] * 3)
    assert list(c.credit_fen) == [20000] * 3 and not c.from_employer_fen.any()


@pytest.mark.parametrize(("day", "age", "credit", "payer"), [
    ("2022-08-31", 69, 100, "employer"), ("2022-08-31", 70, 110, "employer"),
    ("2022-09-01", 69, 100, "pooled"), ("2022-09-01", 70, 110, "pooled"),
])
def test_beijing_retiree_100_under_70_and_110_from_70(day: str, age: int, credit: int, payer: str) -> None:
    """PD beijing: retirees 100 yuan/month under 70, 110 from 70 (2006-04 on, kept by the 2022 reform);
    before the reform funded from the employer contribution, after it from the pooled fund."""
    c = credit_accounts(snap("beijing", day), [RETIREE], [age], [0], [0])
    assert int(c.credit_fen[0]) == credit * 100
    paid = c.from_employer_fen if payer == "employer" else c.from_pooled_fen
    assert int(paid[0]) == credit * 100


@pytest.mark.parametrize(("age", "year_total"), [(74, 1680), (75, 1890)])
def test_shanghai_retiree_1680_or_1890_a_year(age: int, year_total: int) -> None:
    """PD shanghai: 1680 yuan/year (74 and under), 1890 (75 and over) = 140 / 157.50 a month."""
    c = credit_accounts(snap("shanghai", "2023-07-01"), [RETIREE], [age], [0], [0])
    assert int(c.credit_fen[0]) * 12 == year_total * 100


def test_wuhan_retiree_83_and_former_flexible_worker_66() -> None:
    """PD wuhan (武汉市职工基本医疗保险门诊共济保障实施细则, 2023-02-01): 83 yuan; flexible
    retirees 66 (80%)."""
    c = credit_accounts(snap("wuhan", "2023-02-01"), [RETIREE, RETIREE], [66, 66], [0, 0], [0, 0],
                        was_flexible=[False, True])
    assert list(c.credit_fen) == [8300, 6600]


def test_wuhan_flexible_workers_in_service_get_no_account_after_the_reform() -> None:
    """PD wuhan: in-service flexible workers have no account from 2023-02-01."""
    c = credit_accounts(snap("wuhan", "2023-02-01"), [FLEXIBLE], [40], [744000], [0])
    assert int(c.credit_fen[0]) == 0


@pytest.mark.parametrize(("cover", "credits"), [
    ("employer_part", [400, 500, 610]), ("total_credit", [200, 300, 410]),
])
def test_seed_004_age_tiers_2_3_4_1_percent(tmp_path: Path, cover: str, credits: list[int]) -> None:
    """Seed 004 (DOMAIN §10 E7): <35 2%, 35–44 3%, ≥45 4.1% of the monthly base; the seed leaves open
    whether the tier is the employer part or the whole credit, so both readings are computed by us
    on a 10000-yuan base with the 2% individual contribution."""
    f = tmp_path / "seed004.yaml"
    f.write_text((FIX / "seed004_region.yaml").read_text(encoding="utf-8")
                 .replace("value: employer_part", f"value: {cover}"), encoding="utf-8")
    c = credit_accounts(snap("seed_four_region", "2020-01-01", f), [IN_SERVICE] * 3, [34, 44, 45],
                        [1000000] * 3, [20000] * 3)
    assert list(c.credit_fen) == [x * 100 for x in credits]


def test_jinan_style_retiree_4_percent_of_own_pension(tmp_path: Path) -> None:
    """Seed 003 (Jinan 2007-07-01): retirees credited 4% of their own monthly basic pension.

    Computed by us: 870 yuan pension (seed 003's implied average, E9) → 34.80.
    """
    f = tmp_path / "jinan_like.yaml"
    f.write_text("""
region: {code: "990370", pinyin: jinan_like, name_zh: 济南式, name_en: Jinan-like,
         pooling_level: hypothetical, confidence: low}
sources:
  seed003: {title: "seed 003: 按本人基本养老金的4%划入个人账户", confidence: medium}
parameters:
  account.regime: [{from: 2007-07-01, value: pre_2021_reform, source: seed003}]
  account.retiree.mode: [{from: 2007-07-01, value: pct_own_pension, source: seed003}]
  account.retiree.rate_tiers: [{from: 2007-07-01, value: [{age_from: 0, value: "4%"}], source: seed003}]
""", encoding="utf-8")
    c = credit_accounts(snap("jinan_like", "2008-01-01", f), [RETIREE], [65], [0], [0], pension_fen=[87000])
    assert int(c.credit_fen[0]) == 3480


def test_average_pension_mode_needs_the_average_pension_and_names_it() -> None:
    """Guangzhou-style 2.8% of the average pension: the average is unknown nationally, so it is named."""
    s = snap("national", "2020-01-01")
    with pytest.raises(UnknownParameterError) as err:
        credit_accounts(s, [RETIREE], [65], [0], [0])
    assert err.value.key.startswith("account.retiree")


def test_negative_base_is_a_bilingual_input_error() -> None:
    with pytest.raises(InputError) as err:
        credit_accounts(snap("beijing", "2022-08-31"), [IN_SERVICE], [30], [-1], [0])
    assert "base_fen" in err.value.zh and "negative" in err.value.en


def test_explanation_shows_tiers_and_sources() -> None:
    s = snap("beijing", "2022-08-31")
    c = credit_accounts(s, [IN_SERVICE], [50], [1000000], [20000])
    text = explain_account(s, c, 0, IN_SERVICE, 50).render("en")
    assert "0+: 0.8%; 35+: 1%; 45+: 2%" in text and "400.00" in text and "京劳社医发〔2006〕9号" in text
    assert "个人账户" in explain_account(s, c, 0, IN_SERVICE, 50).render("zh")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 3]), st.integers(16, 100), st.integers(0, 10**7)),
                min_size=1, max_size=30),
       st.sampled_from(["2022-08-31", "2022-09-01", "2023-07-01"]))
def test_credit_is_never_negative_and_parts_add_up(rows: list[tuple[int, int, int]], day: str) -> None:
    kinds, ages, bases = (list(x) for x in zip(*rows, strict=True))
    ind = [b // 50 for b in bases]
    c = credit_accounts(snap("beijing", day), kinds, ages, bases, ind)
    assert (c.credit_fen >= 0).all() and (c.individual_to_pool_fen >= 0).all()
    assert (c.from_individual_fen + c.from_employer_fen + c.from_pooled_fen == c.credit_fen).all()
    assert np.array_equal(c.credit_fen, np.array(
        [credit_accounts(snap("beijing", day), [k], [a], [b], [i]).credit_fen[0]
         for k, a, b, i in zip(kinds, ages, bases, ind, strict=True)]))
