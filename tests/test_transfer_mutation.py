"""Transfer recognition, checked line by line: each input check, the 3-month back-pay limit on its
first day, whole-month conversion, several members at once, the exact explanation a clerk reads.

Sources: 基本医疗保险关系转移接续暂行办法 (NHSA/MOF 2021-11, PD national_rules) for the back-pay
limit of 3 months from 2021-11-29 (src/yibao/policy/params/national.yaml); conversion ratios are
unsourced (DOMAIN §7), so the ratio here is a hypothetical 50% in a user file. Every figure below
is computed by us from those rules.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.transfer import TransferColumns, explain_transfer, recognise_transfer

USER = """
region: {{code: "990008", pinyin: transfer_check, name_zh: 转入核对地区, name_en: Check region,
         pooling_level: hypothetical, confidence: low}}
sources:
  hypothetical: {{title: "hypothetical values for a test", confidence: low}}
parameters:
  transfer.years_conversion_ratio: [{{from: 2020-01-01, value: "50%", source: hypothetical}}]
  transfer.account_balance_follows: [{{from: 2020-01-01, value: {follows}, source: hypothetical}}]
"""


def snap(tmp_path: Path, day: dt.date = dt.date(2023, 1, 1), follows: bool = True) -> Snapshot:
    f = tmp_path / f"t_{follows}.yaml"
    f.write_text(USER.format(follows=str(follows).lower()), encoding="utf-8")
    return Registry(policy_files=[f]).policy("transfer_check").at(day)


def run(s: Snapshot, person: list[int], months: list[int], kind: list[int], local: list[int],
        n: int, gap: list[int], due: list[int], balance: list[int]) -> TransferColumns:
    return recognise_transfer(s, person, months, kind, local, n, gap, due, balance)


def test_several_members_are_kept_apart(tmp_path: Path) -> None:
    """Computed by us (50% ratio): member 0 has 24 local months; member 1 has 10 local + 61 months
    transferred as back-paid (kind 2) → 10 + 30 (30.5 rounds down) = 40."""
    c = run(snap(tmp_path), [1, 0, 1], [10, 24, 61], [0, 0, 2], [1, 1, 0], 2, [0, 0], [0, 0],
            [0, 0])
    assert c.local_months.tolist() == [24, 10]
    assert c.transferred_months.tolist() == [0, 61]
    assert c.recognised_months.tolist() == [24, 40]
    assert c.by_kind_months.tolist() == [[24, 10], [0, 0], [0, 30]]
    assert c.keys == ("transfer.years_conversion_ratio",)


def test_local_flags_given_as_0_and_1_mean_false_and_true(tmp_path: Path) -> None:
    """A CSV or JSON column gives local as 0/1: 0 is a transferred period (converted at 50%)."""
    c = run(snap(tmp_path), [0, 0], [12, 12], [0, 0], [0, 1], 1, [0], [0], [0])
    assert c.recognised_months.tolist() == [12 + 6]


def test_int32_columns_give_int64_months_and_fen(tmp_path: Path) -> None:
    """Money is int64 fen end to end: int32 inputs (as read from a narrow file) are widened, so
    3 months × 1,000,000.00 yuan = 300,000,000 fen does not overflow int32 (computed by us)."""
    i32 = np.int32
    c = recognise_transfer(snap(tmp_path), np.array([0], i32), np.array([12], i32),
                           np.array([0], i32), [True], 1, np.array([3], i32),
                           np.array([100_000_000], i32), np.array([5], i32))
    assert int(c.backpay_due_fen[0]) == 300_000_000
    for col in (c.local_months, c.transferred_months, c.recognised_months, c.by_kind_months,
                c.backpay_months, c.backpay_due_fen, c.balance_moved_fen):
        assert col.dtype == np.int64


def test_no_transfer_at_all_uses_no_parameter(tmp_path: Path) -> None:
    """Only local months, no gap, no balance: nothing is looked up and everything is int64 zero."""
    c = run(snap(tmp_path), [0], [5], [1], [1], 2, [0, 0], [0, 0], [0, 0])
    assert c.keys == ()
    assert c.recognised_months.tolist() == [5, 0]
    assert c.by_kind_months.tolist() == [[0, 0], [5, 0], [0, 0]]
    assert c.transferred_months.tolist() == [0, 0]
    for col in (c.local_months, c.transferred_months, c.backpay_months, c.backpay_due_fen,
                c.balance_moved_fen, c.by_kind_months):
        assert col.dtype == np.int64


def test_a_member_without_periods_is_zero(tmp_path: Path) -> None:
    c = run(snap(tmp_path), [], [], [], [], 1, [0], [0], [0])
    assert c.recognised_months.tolist() == [0]
    assert c.local_months.tolist() == [0]
    assert c.by_kind_months.shape == (3, 1)


def test_gap_at_below_and_above_the_3_month_limit(tmp_path: Path) -> None:
    """Transfer rules 2021: a gap of at most 3 months may be back-paid. Gaps 2, 3, 4, 0 with a
    monthly contribution of 321.00 → 642.00, 963.00, nothing, nothing (computed by us)."""
    c = run(snap(tmp_path), [0], [1], [0], [1], 4, [2, 3, 4, 0], [32100] * 4, [0] * 4)
    assert c.backpay_months.tolist() == [2, 3, 0, 0]
    assert c.backpay_due_fen.tolist() == [64200, 96300, 0, 0]
    assert c.keys == ("eligibility.backpay_max_gap_months",)


def test_back_pay_limit_starts_on_2021_11_29(tmp_path: Path) -> None:
    """The 2021 transfer rules take effect 2021-11-29: the day before, the limit is unknown."""
    c = run(snap(tmp_path, dt.date(2021, 11, 29)), [0], [1], [0], [1], 1, [3], [100], [0])
    assert c.backpay_due_fen.tolist() == [300]
    with pytest.raises(UnknownParameterError) as err:
        run(snap(tmp_path, dt.date(2021, 11, 28)), [0], [1], [0], [1], 1, [3], [100], [0])
    assert err.value.key == "eligibility.backpay_max_gap_months"


def test_balance_stays_when_the_region_says_it_does_not_follow(tmp_path: Path) -> None:
    c = run(snap(tmp_path, follows=False), [0], [1], [0], [1], 2, [0, 0], [0, 0], [500, 0])
    assert c.balance_moved_fen.tolist() == [0, 0]
    assert c.balance_moved_fen.dtype == np.int64
    assert c.keys == ("transfer.account_balance_follows",)
    f = run(snap(tmp_path), [0], [1], [0], [1], 2, [0, 0], [0, 0], [500, 7])
    assert f.balance_moved_fen.tolist() == [500, 7]


@pytest.mark.parametrize("field", ["person", "months", "kind", "gap_months", "monthly_due_fen",
                                   "balance_fen"])
def test_a_negative_value_names_its_field_and_value(tmp_path: Path, field: str) -> None:
    args: dict[str, list[int]] = {"person": [0], "months": [1], "kind": [0], "gap_months": [0],
                                  "monthly_due_fen": [0], "balance_fen": [0]}
    args[field] = [-3]
    with pytest.raises(InputError) as err:
        run(snap(tmp_path), args["person"], args["months"], args["kind"], [1], 1,
            args["gap_months"], args["monthly_due_fen"], args["balance_fen"])
    assert (err.value.field, err.value.value) == (field, -3)
    assert err.value.zh == f"字段 {field} 的值 -3 无效：应为非负整数"
    assert err.value.en == f"field {field}: invalid value -3: must be ≥ 0"


@pytest.mark.parametrize(("field", "n"), [("months", 1), ("kind", 1), ("gap_months", 2),
                                          ("monthly_due_fen", 2), ("balance_fen", 2)])
def test_a_column_of_the_wrong_length_names_the_length_expected(tmp_path: Path, field: str,
                                                                 n: int) -> None:
    """Period columns have one row per period (here 1); member columns one per member (here 2)."""
    args: dict[str, list[int]] = {"months": [1], "kind": [0], "gap_months": [0, 0],
                                  "monthly_due_fen": [0, 0], "balance_fen": [0, 0]}
    args[field] = [0, 0, 0]
    with pytest.raises(InputError) as err:
        run(snap(tmp_path), [0], args["months"], args["kind"], [1], 2, args["gap_months"],
            args["monthly_due_fen"], args["balance_fen"])
    assert (err.value.field, err.value.value) == (field, (3,))
    assert err.value.zh == f"字段 {field} 的值 (3,) 无效：长度应为 {n}"
    assert err.value.en == f"field {field}: invalid value (3,): expected length {n}"


def test_person_and_kind_must_be_in_range(tmp_path: Path) -> None:
    """Kinds are 0 actual, 1 deemed, 2 back-paid; persons 0..n-1. The last valid ones pass."""
    s = snap(tmp_path)
    ok = run(s, [1], [4], [2], [1], 2, [0, 0], [0, 0], [0, 0])
    assert ok.by_kind_months.tolist() == [[0, 0], [0, 0], [0, 4]]
    for person, kind in ((2, 0), (0, 3)):
        with pytest.raises(InputError) as err:
            run(s, [person], [4], [kind], [1], 2, [0, 0], [0, 0], [0, 0])
        assert (err.value.field, err.value.value) == ("person/kind", f"{person}/{kind}")
        assert err.value.zh == (f"字段 person/kind 的值 '{person}/{kind}' 无效：person 应小于 2，"
                                "kind 为 0..2（actual/deemed/back_paid）")
        assert err.value.en == (f"field person/kind: invalid value '{person}/{kind}': person must "
                                "be < 2; kind 0..2 (actual/deemed/back_paid)")


def test_the_explanation_reads_in_both_languages(tmp_path: Path) -> None:
    """The clerk's breakdown for a member with 10 local + 61 transferred months (40 recognised),
    a 3-month gap at 321.00 a month (963.00 due) and a balance of 1234.56 that follows."""
    s = snap(tmp_path)
    c = run(s, [1, 1, 0], [10, 61, 1], [0, 2, 0], [1, 0, 1], 2, [0, 3], [0, 32100], [0, 123456])
    zh = explain_transfer(s, c, 1).render("zh").splitlines()
    en = explain_transfer(s, c, 1).render("en").splitlines()
    assert zh[0] == "转入核对地区 2023-01-01 转入认定"
    assert zh[1] == ("1. 认可缴费月数（本地 + 转入折算）: 10 local + 61 transferred → 40 "
                     "(actual 10, deemed 0, back_paid 30)")
    assert zh[2].startswith("    · 转入缴费年限折算比例 = 50%〔transfer.years_conversion_ratio；")
    assert zh[3].startswith("    · 可补缴视为连续的最长断保月数 = 3〔")
    assert zh[4].startswith("    · 个人账户余额随转 = True〔")
    assert zh[5:] == ["2. 可补缴的断保月数与应补金额: 3 months = 963.00",
                      "3. 随转的个人账户余额: 1234.56 = 1234.56"]
    assert en[0] == "Check region 2023-01-01 transfer-in recognition"
    assert en[1] == ("1. recognised months (local + converted transferred): 10 local + 61 "
                     "transferred → 40 (actual 10, deemed 0, back_paid 30)")
    assert en[2].startswith("    · conversion ratio applied to years transferred in = 50% [")
    assert en[5:] == ["2. back-payable gap months and amount due: 3 months = 963.00",
                      "3. account balance moved: 1234.56 = 1234.56"]
