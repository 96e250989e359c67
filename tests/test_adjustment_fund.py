"""The adjustment fund between pooling regions (调剂金, seed 000 §三(二)): rules/adjustment_fund.py.

The seed proposes the mechanism without numbers; the examples below are computed by us from the
rule as documented in the module (levy on pooled income, needs up to a reserve, grants by need or by
retirees, an optional central subsidy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.errors import InputError
from yibao.rules.adjustment_fund import AdjustmentRule, adjust_year, apportion

YUAN = 100  # fen


def test_a_worked_year_levies_three_percent_and_meets_the_one_deficit() -> None:
    """Computed by us: three regions with income 1,000 / 2,000 / 500 yuan (×10⁴), the third spends
    more than it has. Levies are 3% of income; the third's need is what brings it back to zero; the
    fund (90 yuan ×10⁴) meets it (80) and carries 10."""
    k = 10_000 * YUAN
    a = adjust_year(
        AdjustmentRule(levy_rate=0.03),
        opening=[100 * k, 100 * k, 10 * k],
        income=[1_000 * k, 2_000 * k, 500 * k],
        spending=[900 * k, 1_800 * k, 575 * k],
        retirees=[100, 200, 300],
    )
    assert a.levy.tolist() == [30 * k, 60 * k, 15 * k]
    assert a.need.tolist() == [0, 0, 80 * k]  # 10 + 500 − 15 − 575 = −80
    assert a.grant.tolist() == [0, 0, 80 * k]
    assert a.closing.tolist() == [170 * k, 240 * k, 0]
    assert a.fund_closing == 25 * k  # 105 levied, 80 granted
    assert a.central.tolist() == [0, 0, 0]


def test_a_short_fund_shares_itself_by_need_and_the_centre_pays_the_rest() -> None:
    """Computed by us: needs 300 and 100 fen, a fund of 200 fen: grants 150 and 50; with the
    central subsidy on, the centre pays the remaining 150 and 50, and both end at their reserve."""
    rule = AdjustmentRule(levy_rate=0.0, central_subsidy=True)
    a = adjust_year(rule, [0, 0, 1_000], [0, 0, 0], [300, 100, 0], [1, 1, 1], fund_opening=200)
    assert a.grant.tolist() == [150, 50, 0]
    assert a.central.tolist() == [150, 50, 0]
    assert a.closing.tolist() == [0, 0, 1_000] and a.fund_closing == 0
    alone = adjust_year(
        AdjustmentRule(), [0, 0, 1_000], [0, 0, 0], [300, 100, 0], [1, 1, 1], fund_opening=200
    )
    assert alone.closing.tolist() == [-150, -50, 1_000] and alone.central.sum() == 0


def test_a_reserve_counts_months_of_the_regions_own_spending() -> None:
    """reserve_months = 6: a region spending 1,200 yuan a year is helped up to 600 yuan."""
    a = adjust_year(
        AdjustmentRule(reserve_months=6, central_subsidy=True), [0], [1_000 * YUAN], [1_200 * YUAN], [0]
    )
    assert a.need.tolist() == [800 * YUAN]  # from −200 to +600
    assert a.closing.tolist() == [600 * YUAN]


def test_the_retiree_allocation_pays_out_the_whole_fund_per_retiree() -> None:
    """allocation = retirees (the pension scheme's per-retiree analogy): 1,000 fen levied, shared
    1 : 3 by retirees whatever the needs."""
    a = adjust_year(
        AdjustmentRule(levy_rate=0.1, allocation="retirees"), [0, 0], [5_000, 5_000], [0, 0], [10, 30]
    )
    assert a.grant.tolist() == [250, 750] and a.fund_closing == 0


def test_apportion_hands_out_every_fen_by_largest_remainder() -> None:
    assert apportion(10, [1, 1, 1]).tolist() == [4, 3, 3]  # equal remainders: the earlier region
    assert apportion(100, [0, 0]).tolist() == [0, 0]
    assert apportion(7, [2, 5]).tolist() == [2, 5]
    with pytest.raises(InputError):
        apportion(-1, [1])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"levy_rate": 1.5}, "levy_rate"),
        ({"allocation": "lottery"}, "allocation"),
        ({"reserve_months": -1}, "reserve_months"),
    ],
)
def test_a_bad_rule_names_its_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        AdjustmentRule(**kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def test_negative_income_or_mismatched_regions_are_refused() -> None:
    with pytest.raises(InputError) as e:
        adjust_year(AdjustmentRule(), [0, 0], [5, -1], [0, 0], [0, 0])
    assert e.value.field == "income[1]"
    with pytest.raises(InputError) as e:
        adjust_year(AdjustmentRule(), [0, 0], [5], [0, 0], [0, 0])
    assert e.value.field == "regions"


amounts = st.integers(min_value=0, max_value=10**15)  # up to 10万亿 yuan in fen


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(-(10**15), 10**15), amounts, amounts, st.integers(0, 10**8)),
        min_size=1,
        max_size=12,
    ),
    levy=st.floats(0, 1),
    months=st.floats(0, 24),
    allocation=st.sampled_from(["deficit", "retirees"]),
    central=st.booleans(),
    fund=amounts,
)
def test_the_fund_neither_loses_nor_makes_a_fen(
    rows: list[tuple[int, int, int, int]],
    levy: float,
    months: float,
    allocation: str,
    central: bool,
    fund: int,
) -> None:
    """Every fen is accounted for: the regions' balances plus the fund's change by exactly their
    income less their spending plus the central subsidy; no region pays more than its income, the
    fund never goes below zero, and by need no region gets more than it needs."""
    opening, income, spending, retirees = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    rule = AdjustmentRule(levy, allocation, months, central)  # type: ignore[arg-type]
    a = adjust_year(rule, opening, income, spending, retirees, fund)
    assert int(a.closing.sum()) + a.fund_closing == (
        int(opening.sum()) + fund + int(income.sum()) - int(spending.sum()) + int(a.central.sum())
    )
    assert (a.levy >= 0).all() and (a.levy <= income).all()
    assert a.fund_closing >= 0 and (a.grant >= 0).all() and (a.central >= 0).all()
    assert int(a.grant.sum()) <= fund + int(a.levy.sum())
    if allocation == "deficit":
        assert (a.grant <= a.need).all()
    if central:
        reserve = spending * round(months * 1_000_000) // 12_000_000
        assert (a.grant + a.central >= a.need).all() and (a.closing >= reserve).all()


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 10**16), weights=st.lists(st.integers(0, 10**14), min_size=1, max_size=20))
def test_apportion_sums_exactly_and_stays_within_a_fen_of_the_share(total: int, weights: list[int]) -> None:
    shares = apportion(total, weights)
    s = sum(weights)
    if s == 0:
        assert shares.sum() == 0
        return
    assert int(shares.sum()) == total
    for share, w in zip(shares.tolist(), weights, strict=True):
        assert abs(share * s - total * w) < s  # |share − total·w/s| < 1 fen


def test_the_errors_name_the_field_the_value_and_what_is_accepted() -> None:
    cases = [
        (
            lambda: adjust_year(AdjustmentRule(), [0, 0], [5], [0, 0], [0, 0]),
            "regions",
            (2,),
            "各地区数组长度应一致",
            "every region array must have the same length",
        ),
        (
            lambda: adjust_year(AdjustmentRule(), [0, 0], [0, -3], [0, 0], [0, 0]),
            "income[1]",
            -3,
            "不能为负",
            "must not be negative",
        ),
        (
            lambda: adjust_year(AdjustmentRule(), [0, 0], [0, 0], [0, -4], [0, 0]),
            "spending[1]",
            -4,
            "不能为负",
            "must not be negative",
        ),
        (
            lambda: adjust_year(AdjustmentRule(), [0, 0], [0, 0], [0, 0], [0, -5]),
            "retirees[1]",
            -5,
            "不能为负",
            "must not be negative",
        ),
        (
            lambda: adjust_year(AdjustmentRule(), [0], [0], [0], [0], fund_opening=-6),
            "fund_opening",
            -6,
            "不能为负",
            "must not be negative",
        ),
        (
            lambda: apportion(5, [1, -7]),
            "weights",
            [1, -7],
            "份额与总额不能为负",
            "total and weights must not be negative",
        ),
        (
            lambda: AdjustmentRule(levy_rate=-0.1),
            "levy_rate",
            -0.1,
            "应在 0 到 1 之间",
            "must be between 0 and 1",
        ),
        (
            lambda: AdjustmentRule(allocation="x"),
            "allocation",
            "x",
            "应为 deficit 或 retirees",  # type: ignore[arg-type]
            "must be one of ('deficit', 'retirees')",
        ),
        (
            lambda: AdjustmentRule(reserve_months=121),
            "reserve_months",
            121,
            "应在 0 到 120 之间",
            "must be 0–120",
        ),
    ]
    for call, field, value, zh, en in cases:
        with pytest.raises(InputError) as e:
            call()
        assert (e.value.field, e.value.value) == (field, value)
        assert (
            str(e.value)
            == f"字段 {field} 的值 {value!r} 无效：{zh} / field {field}: invalid value {value!r}: {en}"
        )


def test_rule_boundaries_are_accepted() -> None:
    for rule in (
        AdjustmentRule(levy_rate=0),
        AdjustmentRule(levy_rate=1),
        AdjustmentRule(reserve_months=0),
        AdjustmentRule(reserve_months=120),
        AdjustmentRule(allocation="retirees"),
    ):
        assert adjust_year(rule, [0], [100], [0], [1]).closing.dtype == np.int64


def test_largest_remainders_not_largest_shares_get_the_spare_fen() -> None:
    """10 fen by 5 : 3 is 6.25 : 3.75; the spare fen goes to the larger remainder (the second)."""
    assert apportion(10, [5, 3]).tolist() == [6, 4]
    assert apportion(1, [1, 3]).tolist() == [0, 1]  # one fen is still shared
    assert apportion(0, [1, 2]).dtype == np.int64 and apportion(4, [0, 0]).dtype == np.int64


def test_a_levy_on_an_income_beyond_floating_point_is_exact() -> None:
    """10¹⁸ + 1 fen at 100% is itself: float arithmetic would give 10¹⁸."""
    big = 10**18 + 1
    a = adjust_year(AdjustmentRule(levy_rate=1.0), [0], [big], [0], [0])
    assert int(a.levy[0]) == big and a.fund_closing == big and int(a.closing[0]) == 0


def test_the_first_negative_value_is_named_not_the_first_zero() -> None:
    with pytest.raises(InputError) as e:
        adjust_year(AdjustmentRule(), [0, 0, 0], [0, 0, -1], [0, 0, 0], [0, 0, 0])
    assert e.value.field == "income[2]"
