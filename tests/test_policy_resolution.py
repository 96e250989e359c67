"""Resolution: every shipped region answers exactly once for every key and date; regions are found
by code, pinyin or Chinese name; user files and reform overlays change results without code changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.errors import UnknownParameterError, UnknownRegionError
from yibao.policy.catalog import CATALOGUE
from yibao.policy.check import month_bounds, resolve_everywhere
from yibao.policy.loader import LoadedEntry
from yibao.policy.registry import Registry
from yibao.policy.resolve import Policy
from yibao.policy.values import UNKNOWN

FIX = Path(__file__).parent / "fixtures" / "policy"
REG = Registry()
CODES = [h.code for h in REG.regions()]
FIRST, LAST = dt.date(2018, 1, 1), dt.date(2025, 12, 31)


def _covers(e: LoadedEntry, nxt: LoadedEntry | None, d: dt.date) -> bool:
    end = e.end if e.end is not None else (nxt.start - dt.timedelta(days=1) if nxt else dt.date.max)
    return e.start <= d <= end


def _answers(pol: Policy, key: str, d: dt.date) -> int:
    """How many entries of the answering (top-most covering) layer cover the date."""
    for layer in pol.layers:
        es = layer.entries.get(key, [])
        n = sum(_covers(e, es[i + 1] if i + 1 < len(es) else None, d) for i, e in enumerate(es))
        if n:
            return n
    return 0


def test_all_fifteen_regions_are_shipped() -> None:
    """DOMAIN.md, region codes table (GB/T 2260)."""
    assert set(CODES) == {"110000", "120000", "310000", "440100", "440300", "330100", "340100",
                          "370100", "500000", "420100", "430100", "510100", "530100", "620100",
                          "640100"}


@pytest.mark.parametrize("code", CODES)
def test_every_key_resolves_on_every_month_start_and_end(code: str) -> None:
    assert resolve_everywhere(REG.policy(code), month_bounds(), code) == []


@settings(max_examples=150, deadline=None)
@given(d=st.dates(min_value=FIRST, max_value=LAST), code=st.sampled_from(CODES))
def test_exactly_one_entry_answers_any_key_on_any_date(d: dt.date, code: str) -> None:
    pol = REG.policy(code)
    for key in CATALOGUE:
        assert _answers(pol, key, d) == 1, (code, key, d)
        pol.resolve(key, d)  # one value or UNKNOWN, never NoRuleError


@pytest.mark.parametrize("code", CODES)
def test_entry_boundaries_resolve_to_exactly_one_entry(code: str) -> None:
    """The first and last day of every entry, and the days either side, inside 2018-2025."""
    pol = REG.policy(code)
    for layer in pol.layers:
        for key, es in layer.entries.items():
            days = {x + dt.timedelta(days=k) for e in es for x in (e.start, e.end) if x
                    for k in (-1, 0, 1)}
            for d in sorted(x for x in days if FIRST <= x <= LAST):
                assert _answers(pol, key, d) == 1, (code, key, d)


@pytest.mark.parametrize(("code", "pinyin", "zh"), [
    ("420100", "wuhan", "武汉市"), ("640100", "yinchuan", "银川市"), ("500000", "chongqing", "重庆"),
    ("110000", "beijing", "北京市"), ("530100", "kunming", "昆明"),
])
def test_code_pinyin_and_chinese_name_give_the_same_region(code: str, pinyin: str, zh: str) -> None:
    assert REG.header(code) == REG.header(pinyin) == REG.header(zh) == REG.header(pinyin.upper())


def test_unknown_region_is_a_bilingual_error_listing_what_exists() -> None:
    with pytest.raises(UnknownRegionError) as err:
        REG.policy("atlantis")
    assert "不是已知统筹地区" in err.value.zh and "not a known pooling region" in err.value.en
    assert "420100/wuhan" in err.value.en and "--policy-file" in err.value.en


def test_a_user_file_supplies_an_unknown_value() -> None:
    """Kunming's employer rate has no source (policy_sources.yaml: nothing usable found); a user's
    own file supplies one (a user value, not a sourced figure) without code changes."""
    date = dt.date(2024, 1, 1)
    with pytest.raises(UnknownParameterError):
        REG.policy("kunming").at(date).get("contribution.employer_rate.basic")
    user = Registry([FIX / "user_kunming.yaml"]).policy("530100").at(date)
    assert user.get("contribution.employer_rate.basic") == 800


def test_a_user_file_with_a_shipped_code_replaces_the_shipped_file() -> None:
    """Shipped Wuhan credits retirees 83 yuan/month from 2023-02-01 (武汉 实施细则); the user's
    Wuhan file sets only an inpatient ceiling, so that credit is no longer there."""
    date = dt.date(2024, 1, 1)
    shipped = REG.policy("wuhan").at(date)
    assert shipped.get("account.retiree.fixed_tiers")[0].value == 8300
    user = Registry([FIX / "user_wuhan_replaced.yaml"]).policy("wuhan").at(date)
    assert user.get("settlement.inpatient.pooled_ceiling")["retired"] == 12345600
    assert user["account.retiree.fixed_tiers"].value is UNKNOWN


def test_a_hypothetical_region_inheriting_beijing_overrides_one_value() -> None:
    """Beijing's pooled ceiling is 10万 from 2019 (PD beijing, 京医保发〔2019〕14号); the variant
    raises it to 15万 and keeps every other Beijing value."""
    reg = Registry([FIX / "beijing_variant.yaml"])
    date = dt.date(2023, 3, 1)
    bj, var = reg.policy("beijing").at(date), reg.policy("beijing_variant").at(date)
    assert bj.get("settlement.inpatient.pooled_ceiling")["in_service"] == 10_000_000
    assert var.get("settlement.inpatient.pooled_ceiling")["in_service"] == 15_000_000
    assert var["settlement.inpatient.pooled_ceiling"].defined_in == "beijing_variant"
    for key in CATALOGUE:
        if key != "settlement.inpatient.pooled_ceiling":
            assert var[key].value == bj[key].value, key
    assert var["contribution.employer_rate.basic"].defined_in == "beijing"


def test_a_reform_changes_values_only_from_its_date_and_only_where_it_applies() -> None:
    """The fixture reform applies to Wuhan from 2024-01-01 (a test scenario)."""
    reg = Registry(reform_files=[FIX / "reform_wuhan_only.yaml"])
    key = "settlement.outpatient.pooled_ceiling"
    wuhan = reg.policy("wuhan")
    before, after = wuhan.resolve(key, dt.date(2023, 12, 31)), wuhan.resolve(key, dt.date(2024, 1, 1))
    assert wuhan.at(dt.date(2023, 12, 31)).cell(key, "retired") == 450_000
    assert wuhan.at(dt.date(2024, 1, 1)).cell(key, "retired") == 600_000
    assert before.defined_in == "wuhan" and after.defined_in == "wuhan_outpatient_scenario"
    assert after.status == "proposal"
    chongqing = reg.policy("chongqing")
    assert chongqing.resolve(key, dt.date(2024, 6, 1)).defined_in == "chongqing"


@pytest.mark.parametrize(("reform", "key", "before", "after"), [
    ("personal_oop_cap", "settlement.personal_oop_cap", None, 2_000_000),
    ("retiree_contribution", "contribution.retiree_rate", 0, 200),
    ("account_phase_out", "account.in_service.individual_share", 10_000, 0),
])
def test_shipped_reforms_start_on_2025_01_01_for_every_region(reform: str, key: str, before: object,
                                                              after: object) -> None:
    """Seed 000 proposals (scenario values, see params/reforms/*.yaml)."""
    for code in CODES:
        pol = REG.policy(code, [reform])
        old, new = pol.resolve(key, dt.date(2024, 12, 31)), pol.resolve(key, dt.date(2025, 1, 1))
        if old.defined_in != code:  # a region's own earlier value is not the baseline's
            assert old.value == before, (code, old)
        assert new.value == after and new.defined_in == reform and new.status == "proposal"


def test_account_phase_out_zeroes_wuhan_retiree_credit_from_2025() -> None:
    """Wuhan credits retirees 83 yuan/month (实施细则, 2023-02-01); phased out from 2025 (seed 000)."""
    pol = REG.policy("wuhan", ["account_phase_out"])
    assert pol.at(dt.date(2024, 12, 31)).get("account.retiree.fixed_tiers")[0].value == 8300
    assert pol.at(dt.date(2025, 1, 1)).get("account.retiree.fixed_tiers")[0].value == 0
