"""Contribution assessment checked column by column (mutation testing of rules/contribution.py).

The region is a user policy file with made-up but distinct values (every employer component has
its own rate, every fixed premium its own amount), so that each column, each rounding rule and
each routing can be told apart. Unless a test says otherwise every expected figure is "computed by
us from the rule in DOMAIN.md §2 (国发〔1998〕44号 via seed 000) and the file's values below".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pytest

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.contribution import (
    COLUMNS,
    ContributionParams,
    assess_contributions,
    employer_base_by_unit,
    person_type_codes,
)

IN_SERVICE, FLEXIBLE, NEW_FORM, RETIREE = 0, 1, 2, 3

#: The check region's values (yuan, %). base_rounding yuan_half_up and amount_rounding
#: fen_half_up are the national defaults unless a test overrides them.
VALUES: dict[str, str] = {
    "contribution.average_wage_monthly": "10001",
    "contribution.base_floor": "3000",
    "contribution.base_cap": "30000",
    "contribution.employer_rate.basic": '"7%"',
    "contribution.employer_rate.maternity": '"0.7%"',
    "contribution.employer_rate.large_amount": '"1.1%"',
    "contribution.employer_rate.local_supplement": '"1.3%"',
    "contribution.individual_rate.basic": '"2%"',
    "contribution.individual_fixed_premium": "3",
    "contribution.retiree_fixed_premium": '"4.50"',
    "contribution.flexible.rate": '"6%"',
    "contribution.flexible.fixed_premium": "2",
    "contribution.flexible.base_choice": "fixed_options",
    "contribution.flexible.base_options": '["60%", "100%", "300%"]',
    "contribution.new_form.rate": '"5%"',
    "contribution.new_form.base_share": '"80%"',
    "contribution.new_form.with_account": "false",
}

Make = Callable[..., ContributionParams]


@pytest.fixture(scope="module")
def make(tmp_path_factory: pytest.TempPathFactory) -> Make:
    """Build the check region with some values replaced (``None`` drops a value: national's).

    The snapshot is kept per set of replacements; the parameters are compiled afresh on every
    call, so that each test exercises the compilation it relies on.
    """
    snaps: dict[tuple[tuple[str, str | None], ...], Snapshot] = {}

    def build(**over: str | None) -> ContributionParams:
        key = tuple(sorted(over.items()))
        if key not in snaps:
            vals = {**VALUES, **{k.replace("__", "."): v for k, v in over.items()}}
            lines = [f"  contribution.{k.removeprefix('contribution.')}: "
                     f"[{{from: 2024-01-01, value: {v}, source: made_up}}]"
                     for k, v in vals.items() if v is not None]
            text = "\n".join([
                'region: {code: "990301", pinyin: contrib_mut, name_zh: 缴费核对, '
                "name_en: Contribution check,",
                "         inherits: national, pooling_level: hypothetical, confidence: low}",
                "sources:",
                '  made_up: {title: "made-up values for the mutation tests", confidence: low}',
                "parameters:", *lines, ""])
            f = tmp_path_factory.mktemp("contrib") / "region.yaml"
            f.write_text(text, encoding="utf-8")
            snaps[key] = Registry(policy_files=[f]).policy("contrib_mut").at(dt.date(2024, 3, 1))
        return ContributionParams.from_snapshot(snaps[key])

    return build


def k(name: str) -> str:
    """Keyword form of a parameter key for ``make`` (dots are not allowed in keywords)."""
    return name.replace(".", "__")


def row(p: ContributionParams, wage_fen: int, kind: int, option: int | None = None) -> dict[str, int]:
    opt = None if option is None else [option]
    return assess_contributions([wage_fen], [kind], p, option=opt).row(0)


# -- unit employees ------------------------------------------------------------------------------

def test_unit_employee_every_component_and_its_fund(make: Make) -> None:
    """Wage 12345.67 → base 12346 (yuan half up); 7% 864.22, 0.7% 86.422 → 86.42,
    1.1% 135.806 → 135.81, 1.3% 160.498 → 160.50; individual 2% 246.92 + 3 yuan fixed.
    The individual 2% goes to the account (个人缴费全部计入个人账户), the fixed 3 yuan and the
    1.1% to the large-amount fund."""
    assert row(make(), 1234567, IN_SERVICE) == {
        "base_fen": 1234600, "employer_basic_fen": 86422, "employer_maternity_fen": 8642,
        "employer_large_amount_fen": 13581, "employer_local_supplement_fen": 16050,
        "individual_basic_fen": 24692, "fixed_premium_fen": 300,
        "to_pooled_fund_fen": 86422, "to_individual_account_fen": 24692,
        "to_maternity_fund_fen": 8642, "to_large_amount_fund_fen": 13881,
        "to_local_supplement_fund_fen": 16050,
        "employer_total_fen": 86422 + 8642 + 13581 + 16050, "individual_total_fen": 24692 + 300,
        "total_fen": 86422 + 8642 + 13581 + 16050 + 24692 + 300,
    }


@pytest.mark.parametrize(("wage_fen", "base_yuan"), [
    (0, 3000), (299_949, 3000), (299_950, 3000), (300_049, 3000), (300_050, 3001),
    (2_999_949, 29999), (2_999_950, 30000), (3_000_049, 30000), (3_000_050, 30000), (10**12, 30000),
])
def test_base_is_rounded_to_the_yuan_then_clamped(make: Make, wage_fen: int, base_yuan: int) -> None:
    """Floor 3000 and cap 30000: the wage is rounded half up to the yuan first, then clamped."""
    assert row(make(), wage_fen, IN_SERVICE)["base_fen"] == base_yuan * 100


@pytest.mark.parametrize(("rounding", "wage_fen", "base_fen"), [
    ("yuan_half_up", 1_234_549, 1_234_500), ("yuan_half_up", 1_234_550, 1_234_600),
    ("yuan_up", 1_234_501, 1_234_600), ("yuan_up", 1_234_500, 1_234_500),
    ("yuan_down", 1_234_599, 1_234_500),
    ("jiao_half_up", 1_234_544, 1_234_540), ("jiao_half_up", 1_234_545, 1_234_550),
    ("jiao_up", 1_234_541, 1_234_550), ("jiao_down", 1_234_549, 1_234_540),
    ("fen_half_up", 1_234_567, 1_234_567),
])
def test_each_base_rounding_rule(make: Make, rounding: str, wage_fen: int, base_fen: int) -> None:
    """contribution.base_rounding: unit fen/jiao/yuan × mode half_up/up/down, before the clamp."""
    assert row(make(**{k("contribution.base_rounding"): rounding}), wage_fen, IN_SERVICE)[
        "base_fen"] == base_fen


@pytest.mark.parametrize(("rounding", "large_fen", "basic_fen"), [
    # base 12345 yuan: 1.1% = 135.795 yuan, 7% = 864.15 yuan
    ("fen_half_up", 13580, 86415), ("fen_up", 13580, 86415), ("fen_down", 13579, 86415),
    ("jiao_half_up", 13580, 86420), ("jiao_up", 13580, 86420), ("jiao_down", 13570, 86410),
    ("yuan_half_up", 13600, 86400), ("yuan_up", 13600, 86500), ("yuan_down", 13500, 86400),
])
def test_each_amount_rounding_rule(make: Make, rounding: str, large_fen: int, basic_fen: int) -> None:
    """contribution.amount_rounding on base 12345: 1.1% = 13579.5 fen, 7% = 86415 fen exactly."""
    r = row(make(**{k("contribution.amount_rounding"): rounding}), 1_234_500, IN_SERVICE)
    assert (r["employer_large_amount_fen"], r["employer_basic_fen"]) == (large_fen, basic_fen)


@pytest.mark.parametrize(("rounding", "amounts"), [
    # base 12346 yuan: 7% = 86422 fen, 0.7% = 8642.2, 1.1% = 13580.6, 1.3% = 16049.8, 2% = 24692
    ("fen_half_up", (86422, 8642, 13581, 16050, 24692)), ("fen_up", (86422, 8643, 13581, 16050, 24692)),
    ("fen_down", (86422, 8642, 13580, 16049, 24692)),
    ("jiao_half_up", (86420, 8640, 13580, 16050, 24690)), ("jiao_up", (86430, 8650, 13590, 16050, 24700)),
    ("jiao_down", (86420, 8640, 13580, 16040, 24690)),
    ("yuan_half_up", (86400, 8600, 13600, 16000, 24700)), ("yuan_up", (86500, 8700, 13600, 16100, 24700)),
    ("yuan_down", (86400, 8600, 13500, 16000, 24600)),
])
def test_each_amount_rounding_rule_on_every_component(
        make: Make, rounding: str, amounts: tuple[int, ...]) -> None:
    """contribution.amount_rounding applies to each of the five amounts on its own."""
    r = row(make(**{k("contribution.amount_rounding"): rounding}), 1_234_600, IN_SERVICE)
    assert (r["employer_basic_fen"], r["employer_maternity_fen"], r["employer_large_amount_fen"],
            r["employer_local_supplement_fen"], r["individual_basic_fen"]) == amounts


def test_fen_half_up_rounds_a_half_fen_up_and_below_half_down(make: Make) -> None:
    """Base 3001 × 0.7% = 21.007 → 21.01; base 3005 × 1.1% = 33.055 → 33.06; 3001 × 1.3% = 39.013."""
    r = row(make(), 300_100, IN_SERVICE)
    assert (r["employer_maternity_fen"], r["employer_local_supplement_fen"]) == (2101, 3901)
    assert row(make(), 300_500, IN_SERVICE)["employer_large_amount_fen"] == 3306


# -- flexible workers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "base_fen"), [(0, 600_100), (1, 1_000_100), (2, 3_000_300)])
def test_flexible_base_is_the_chosen_share_of_the_average_wage(
        make: Make, option: int, base_fen: int) -> None:
    """Average 10001: 60% = 6000.6 → 6001, 100% = 10001, 300% = 30003 (an option is not clamped);
    6% of it to the pooled fund, the 2-yuan fixed premium to the large-amount fund, the wage
    declared (99999) is not used."""
    r = row(make(), 9_999_900, FLEXIBLE, option)
    ind = (2 * base_fen * 600 + 10_000) // 20_000
    assert r == {
        "base_fen": base_fen, "employer_basic_fen": 0, "employer_maternity_fen": 0,
        "employer_large_amount_fen": 0, "employer_local_supplement_fen": 0,
        "individual_basic_fen": ind, "fixed_premium_fen": 200, "to_pooled_fund_fen": ind,
        "to_individual_account_fen": 0, "to_maternity_fund_fen": 0, "to_large_amount_fund_fen": 200,
        "to_local_supplement_fund_fen": 0, "employer_total_fen": 0, "individual_total_fen": ind + 200,
        "total_fen": ind + 200,
    }


def test_flexible_option_defaults_to_the_first_and_uses_the_base_rounding(make: Make) -> None:
    """No option column: option 0 (60% → 6001 yuan); with yuan_down 6000.6 → 6000, jiao_up 6000.6."""
    assert row(make(), 0, FLEXIBLE)["base_fen"] == 600_100
    assert row(make(**{k("contribution.base_rounding"): "yuan_down"}), 0, FLEXIBLE)["base_fen"] == 600_000
    assert row(make(**{k("contribution.base_rounding"): "jiao_up"}), 0, FLEXIBLE)["base_fen"] == 600_060


def test_flexible_free_choice_is_the_declared_wage_within_the_limits(make: Make) -> None:
    """base_choice free_within_limits: like a unit employee's base, 6% and 2 yuan, all pooled."""
    p = make(**{k("contribution.flexible.base_choice"): "free_within_limits"})
    got = [row(p, w, FLEXIBLE)["base_fen"] for w in (100, 1_234_567, 9_999_900)]
    assert got == [300_000, 1_234_600, 3_000_000]
    assert row(p, 1_234_567, FLEXIBLE)["to_pooled_fund_fen"] == 74076  # 12346 × 6% = 740.76


# -- new-form workers and retirees ---------------------------------------------------------------

@pytest.mark.parametrize(("rounding", "wage_fen", "base_fen"), [
    # 12346 × 80% = 9876.8; 3000 (floor) × 80% = 2400; 30000 (cap) × 80% = 24000
    ("yuan_half_up", 1_234_567, 987_700), ("yuan_down", 1_234_567, 987_600),
    ("yuan_up", 1_234_501, 987_700), ("yuan_half_up", 0, 240_000), ("yuan_half_up", 10**9, 2_400_000),
])
def test_new_form_base_is_the_clamped_base_times_the_share(
        make: Make, rounding: str, wage_fen: int, base_fen: int) -> None:
    """Seed 002 / DOMAIN §2.4: the clamped base × new_form.base_share, rounded by base_rounding."""
    assert row(make(**{k("contribution.base_rounding"): rounding}), wage_fen, NEW_FORM)[
        "base_fen"] == base_fen


def test_new_form_worker_pays_alone_to_the_pooled_fund(make: Make) -> None:
    """Base 9877 × 5% = 493.85, plus the flexible fixed premium 2 yuan (large-amount fund)."""
    r = row(make(), 1_234_567, NEW_FORM)
    assert (r["individual_basic_fen"], r["to_pooled_fund_fen"], r["to_individual_account_fen"]) == (
        49385, 49385, 0)
    assert (r["fixed_premium_fen"], r["to_large_amount_fund_fen"], r["employer_total_fen"]) == (200, 200, 0)
    assert r["total_fen"] == 49585


def test_new_form_share_of_100_percent_keeps_the_base(make: Make) -> None:
    """base_share 100%: the base is the clamped wage itself (seed 002's region)."""
    p = make(**{k("contribution.new_form.base_share"): '"100%"'})
    assert row(p, 1_234_567, NEW_FORM)["base_fen"] == 1_234_600


def test_retiree_pays_only_the_fixed_premium(make: Make) -> None:
    """No basic contribution: base 0 whatever the wage; 4.50 yuan to the large-amount fund."""
    r = row(make(), 1_234_567, RETIREE)
    assert r == {c: 0 for c in COLUMNS} | {
        "fixed_premium_fen": 450, "to_large_amount_fund_fen": 450, "employer_total_fen": 0,
        "individual_total_fen": 450, "total_fen": 450}


def test_a_mixed_batch_equals_each_row_alone(make: Make) -> None:
    """The columnar call gives each row what it gives alone (order: unit, flexible, new-form, retiree)."""
    p = make()
    wages, kinds, opts = [1_234_567, 0, 1_234_567, 5], [0, 1, 2, 3], [0, 2, 0, 0]
    cols = assess_contributions(wages, kinds, p, option=opts)
    for i in range(4):
        assert cols.row(i) == row(p, wages[i], kinds[i], opts[i])
    assert list(cols.base_fen) == [1_234_600, 3_000_300, 987_700, 0]


# -- the parameters each person type rests on ---------------------------------------------------

def test_parameters_used_by_each_person_type(make: Make) -> None:
    """The keys each type's assessment reads, in order (published limits here)."""
    lim = ("contribution.base_floor", "contribution.base_cap", "contribution.base_rounding")
    assert make().used == {
        IN_SERVICE: (*lim, "contribution.employer_rate.basic", "contribution.employer_rate.maternity",
                     "contribution.employer_rate.large_amount",
                     "contribution.employer_rate.local_supplement",
                     "contribution.individual_rate.basic", "contribution.individual_fixed_premium"),
        FLEXIBLE: ("contribution.flexible.base_choice", "contribution.average_wage_monthly",
                   "contribution.flexible.base_options", "contribution.base_rounding",
                   "contribution.flexible.rate", "contribution.flexible.fixed_premium"),
        NEW_FORM: (*lim, "contribution.new_form.base_share", "contribution.new_form.rate",
                   "contribution.flexible.fixed_premium"),
        RETIREE: ("contribution.retiree_fixed_premium",),
    }
    free = make(**{k("contribution.flexible.base_choice"): "free_within_limits"})
    assert free.used[FLEXIBLE] == ("contribution.flexible.base_choice", *lim,
                                   "contribution.flexible.rate", "contribution.flexible.fixed_premium")
    assert list(make().option_base_fen) == [600_100, 1_000_100, 3_000_300]
    assert make().missing == {}


def test_limits_are_derived_from_the_average_wage_when_not_published(make: Make) -> None:
    """DOMAIN §2.1: no published floor/cap → 60% / 300% of 10001 = 6000.6 → 6001 and 30003."""
    p = make(**{k("contribution.base_floor"): None, k("contribution.base_cap"): None})
    assert (p.limits["floor"].fen, p.limits["cap"].fen) == (600_100, 3_000_300)
    assert p.limits["floor"].derived and p.limits["cap"].derived
    assert p.limits["floor"].keys == ("contribution.average_wage_monthly",
                                      "contribution.base_floor_share", "contribution.base_rounding")
    assert p.limits["cap"].keys[1] == "contribution.base_cap_share"
    assert [row(p, w, IN_SERVICE)["base_fen"] for w in (0, 10**9)] == [600_100, 3_000_300]
    assert p.used[IN_SERVICE][:7] == (*p.limits["floor"].keys, *p.limits["cap"].keys,
                                      "contribution.base_rounding")
    down = make(**{k("contribution.base_floor"): None, k("contribution.base_rounding"): "yuan_down"})
    assert down.limits["floor"].fen == 600_000 and not down.limits["cap"].derived


def test_published_limits_are_not_marked_derived(make: Make) -> None:
    p = make()
    assert (p.limits["floor"].fen, p.limits["floor"].derived, p.limits["floor"].keys) == (
        300_000, False, ("contribution.base_floor",))
    assert (p.limits["cap"].fen, p.limits["cap"].derived) == (3_000_000, False)


def test_no_limit_and_no_average_wage_names_the_published_limit(make: Make) -> None:
    """Without an average wage nothing can be derived: the error names contribution.base_floor."""
    p = make(**{k("contribution.base_floor"): None, k("contribution.average_wage_monthly"): None})
    assert set(p.missing) == {IN_SERVICE, NEW_FORM, FLEXIBLE}
    with pytest.raises(UnknownParameterError) as err:
        assess_contributions([100], [IN_SERVICE], p)
    assert err.value.key == "contribution.base_floor"
    assert row(p, 100, RETIREE)["total_fen"] == 450  # retirees need no limit


def test_an_unknown_parameter_stops_only_its_own_person_type(make: Make) -> None:
    """new_form.rate unknown: every other type is assessed; a new-form row names the key."""
    p = make(**{k("contribution.new_form.rate"): None})
    assert set(p.missing) == {NEW_FORM} and NEW_FORM not in p.used
    cols = assess_contributions([1_234_567] * 3, [IN_SERVICE, FLEXIBLE, RETIREE], p)
    assert list(cols.total_fen) == [149687, 36206, 450]
    with pytest.raises(UnknownParameterError) as err:
        assess_contributions([1_234_567, 1_234_567], [RETIREE, NEW_FORM], p)
    assert err.value.key == "contribution.new_form.rate"
    q = make(**{k("contribution.flexible.rate"): None})
    assert list(assess_contributions([0, 0], [NEW_FORM, RETIREE], q).total_fen) == [
        12200, 450]  # 2400 × 5% + 2
    with pytest.raises(UnknownParameterError):
        assess_contributions([0], [FLEXIBLE], q)


# -- input checks --------------------------------------------------------------------------------

def test_a_negative_wage_anywhere_names_it(make: Make) -> None:
    with pytest.raises(InputError) as err:
        assess_contributions([100, -5, 200], [0, 0, 0], make())
    assert err.value.zh == "字段 wage 的值 '-0.05' 无效：月工资应为非负金额（元），如 12000"
    assert err.value.en == ("field wage: invalid value '-0.05': the monthly wage must be a "
                            "non-negative amount in yuan, e.g. 12000")


def test_wage_limit_is_ten_to_the_twelve_fen(make: Make) -> None:
    """Up to 10^12 fen (100 亿 yuan) is accepted; one fen more is refused, showing the amount."""
    assert row(make(), 10**12, IN_SERVICE)["base_fen"] == 3_000_000
    with pytest.raises(InputError) as err:
        assess_contributions([0, 10**12 + 1], [0, 0], make())
    assert err.value.value == "10000000000.01"
    with pytest.raises(InputError) as err:
        assess_contributions([10**12 + 1, -1], [0, 0], make())
    assert err.value.value == "-0.01"  # a negative wage is named first


@pytest.mark.parametrize(("codes", "bad"), [([0, 4, -1], 4), ([-1, 0], -1), ([3, 0, 9], 9)])
def test_a_bad_person_type_code_is_named(make: Make, codes: list[int], bad: int) -> None:
    with pytest.raises(InputError) as err:
        assess_contributions([100] * len(codes), codes, make())
    assert (err.value.field, err.value.value) == ("person_type", bad)
    assert "代码应为 0..3" in err.value.zh
    assert "codes are 0..3: in_service, flexible, new_form, retiree" in err.value.en


def test_a_row_with_a_bad_code_is_written_as_zeros_and_the_others_assessed(make: Make) -> None:
    """The kernel reads nothing out of bounds: the bad row is zero, later rows still assessed."""
    out = np.full((len(COLUMNS), 3), 7, dtype=np.int64)
    with pytest.raises(InputError):
        assess_contributions([1_234_567, 1_234_567, 1_234_567], [0, 9, 3], make(), out=out)
    assert (out[:, 1] == 0).all()
    assert out[0, 0] == 1_234_600 and out[6, 2] == 450


def test_a_bad_code_is_reported_before_an_unknown_parameter(make: Make) -> None:
    p = make(**{k("contribution.new_form.rate"): None})
    with pytest.raises(InputError):
        assess_contributions([0, 0], [NEW_FORM, 7], p)


def test_a_bad_flexible_option_is_named_with_the_accepted_range(make: Make) -> None:
    """Options only matter on flexible rows: 5 on a unit employee's row is ignored, 9 is named."""
    with pytest.raises(InputError) as err:
        assess_contributions([0, 0, 0, 0], [0, 1, 1, 1], make(), option=[5, 0, 9, -2])
    assert (err.value.field, err.value.value) == ("flexible_option", 9)
    assert "应为 0..2（地区可选基数档）" in err.value.zh
    assert "expected 0..2 (the region's base options)" in err.value.en
    with pytest.raises(InputError) as err:
        assess_contributions([0], [1], make(), option=[3])
    assert err.value.value == 3
    cols = assess_contributions([0, 0], [0, 1], make(), option=[5, 2])
    assert list(cols.base_fen) == [300_000, 3_000_300]


def test_columns_of_different_lengths_are_refused(make: Make) -> None:
    with pytest.raises(InputError) as err:
        assess_contributions([0, 0], [0], make())
    assert err.value.zh == "字段 wage_fen/person_type 的值 '(2,)/(1,)/-' 无效：各列长度须相同"
    assert err.value.en == ("field wage_fen/person_type: invalid value '(2,)/(1,)/-': "
                            "columns must have the same length")
    with pytest.raises(InputError) as err:
        assess_contributions([0, 0], [1, 1], make(), option=[0])
    assert err.value.value == "(2,)/(2,)/(1,)"


def test_person_type_names_to_codes() -> None:
    codes = person_type_codes(["in_service", "flexible", "new_form", "retiree"])
    assert codes.dtype == np.int8 and list(codes) == [0, 1, 2, 3]
    assert list(person_type_codes("retiree")) == [3]
    with pytest.raises(InputError) as err:
        person_type_codes(["retiree", "student"])
    assert (err.value.field, err.value.value) == ("person_type", "student")
    assert "应为 in_service / flexible / new_form / retiree" in err.value.zh
    assert "expected one of in_service, flexible, new_form, retiree" in err.value.en


def test_an_empty_batch_is_empty(make: Make) -> None:
    cols = assess_contributions([], [], make())
    assert cols.data.shape == (len(COLUMNS), 0)


# -- the output block ----------------------------------------------------------------------------

def test_a_block_of_the_wrong_shape_or_type_is_not_reused(make: Make) -> None:
    p = make()
    small = np.zeros((len(COLUMNS), 1), dtype=np.int64)
    got = assess_contributions([100, 100], [0, 0], p, out=small)
    assert got.data is not small and got.data.shape == (len(COLUMNS), 2)
    narrow = np.zeros((len(COLUMNS), 2), dtype=np.int32)
    got = assess_contributions([100, 100], [0, 0], p, out=cast(Any, narrow))  # a wrong block on purpose
    assert got.data is not narrow and got.data.dtype == np.int64 and (narrow == 0).all()
    same = np.zeros((len(COLUMNS), 2), dtype=np.int64)
    assert assess_contributions([100, 100], [0, 0], p, out=same).data is same


def test_column_names_and_totals(make: Make) -> None:
    cols = assess_contributions([1_234_567], [0], make())
    assert list(cols.to_large_amount_fund_fen) == [13881]
    assert list(cols.employer_total_fen) == [124695] and list(cols.individual_total_fen) == [24992]
    with pytest.raises(AttributeError, match="no_such_column"):
        _ = cols.no_such_column


# -- employer base by unit -----------------------------------------------------------------------

def test_employer_base_by_unit_sums_and_checks_the_unit_index() -> None:
    """DOMAIN §2.1: a unit's base is the sum of its members' bases; an index outside 0..n-1 is named."""
    assert list(employer_base_by_unit([1, 1, 0], [300_000, 400_000, 500_000], 3)) == [500_000, 700_000, 0]
    assert list(employer_base_by_unit([], [], 2)) == [0, 0]
    exact = employer_base_by_unit([0, 0], [2**62, 1], 1)  # int64 all the way: no float rounding
    assert exact.dtype == np.int64 and int(exact[0]) == 2**62 + 1
    with pytest.raises(InputError) as err:
        employer_base_by_unit([0, 2], [1, 1], 2)
    assert (err.value.field, err.value.value) == ("unit_index", 2)
    assert "应为 0..1" in err.value.zh and "expected 0..1" in err.value.en
    with pytest.raises(InputError):
        employer_base_by_unit([-1, 0], [1, 1], 2)


def test_a_narrow_wage_column_is_widened_before_the_arithmetic(make: Make) -> None:
    """An int32 wage column (20 million yuan fits int32 fen) is assessed like int64: base = cap."""
    wage = np.array([2_000_000_000, 1_234_567], dtype=np.int32)
    assert list(assess_contributions(wage, [0, 0], make()).base_fen) == [3_000_000, 1_234_600]


@pytest.mark.parametrize("code", [128, 256, 300, -129])
def test_a_person_type_code_outside_int8_is_named_not_wrapped(make: Make, code: int) -> None:
    """256 must not wrap to 0 (a unit employee): it is a bad code like 4, named with its value."""
    for codes in ([0, code], np.array([0, code], dtype=np.int64)):
        with pytest.raises(InputError) as err:
            assess_contributions([100, 100], codes, make())
        assert (err.value.field, err.value.value) == ("person_type", code)
        assert err.value.en.endswith("codes are 0..3: in_service, flexible, new_form, retiree")
        assert err.value.zh.endswith("代码应为 0..3")


def test_a_flexible_option_outside_int8_is_named_not_wrapped(make: Make) -> None:
    """Option 256 must not wrap to option 0 (60% of the average wage)."""
    for opts in ([0, 256], np.array([0, 256], dtype=np.int16)):
        with pytest.raises(InputError) as err:
            assess_contributions([0, 0], [1, 1], make(), option=opts)
        assert (err.value.field, err.value.value) == ("flexible_option", 256)
        assert err.value.en.endswith("expected 0..2 (the region's base options)")
        assert err.value.zh.endswith("应为 0..2（地区可选基数档）")
    # -128 and 127 fit int8: on a unit employee's row an option is not read, so they pass
    got = assess_contributions([0, 0, 0], [0, 0, 1], make(), option=np.array([-128, 127, 1]))
    assert got.base_fen.tolist() == [300_000, 300_000, 1_000_100]
    codes = np.array([1, 1], dtype=np.int8)
    assert assess_contributions([0, 0], codes, make(), option=codes).base_fen.tolist() == [
        1_000_100, 1_000_100]


def test_new_form_derives_its_own_limits_when_unit_rates_are_unknown(make: Make) -> None:
    """A region with new-form rules but no unit-employee rate and no published limits: the
    new-form base is derived from the average wage (60% of 10001 = 6000.6 → 6001 × 80%)."""
    p = make(**{k("contribution.employer_rate.basic"): None, k("contribution.base_floor"): None,
                k("contribution.base_rounding"): "jiao_down"})
    assert set(p.missing) == {IN_SERVICE}
    # jiao_down: floor 6000.6 → 6000.60; × 80% = 4800.48 → 4800.40
    assert row(p, 0, NEW_FORM)["base_fen"] == 480_040
