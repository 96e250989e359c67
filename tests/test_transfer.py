"""Transfer recognition: conversion of periods, back-payable gaps, the account balance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.transfer import explain_transfer, recognise_transfer

USER = """
region: {code: "990007", pinyin: transfer_region, name_zh: 转入地区, name_en: Receiving region,
         pooling_level: hypothetical, confidence: low}
sources:
  hypothetical: {title: "hypothetical ratio for a test (no source quantifies one)", confidence: low}
parameters:
  transfer.years_conversion_ratio: [{from: 2020-01-01, value: "50%", source: hypothetical}]
  transfer.account_balance_follows: [{from: 2020-01-01, value: true, source: hypothetical}]
"""


def user_snap(tmp_path: Path) -> Snapshot:
    f = tmp_path / "t.yaml"
    f.write_text(USER, encoding="utf-8")
    return Registry(policy_files=[f]).policy("transfer_region").at(dt.date(2023, 1, 1))


def test_transferred_periods_are_converted_local_ones_are_not(tmp_path: Path) -> None:
    """Computed by us with a hypothetical 50% ratio: 60 local + 61 transferred → 60 + 30 = 90 months
    (a ratio never grants a part month: 30.5 → 30)."""
    s = user_snap(tmp_path)
    c = recognise_transfer(s, [0, 0, 0], [60, 41, 20], [0, 0, 1], [True, False, False], 1,
                           [0], [0], [0])
    assert int(c.recognised_months[0]) == 60 + 20 + 10
    assert list(c.by_kind_months[:, 0]) == [80, 10, 0]


def test_gap_of_3_months_is_back_payable_and_the_balance_follows(tmp_path: Path) -> None:
    """2021 transfer rules (PD national_rules, high): a gap ≤ 3 months may be back-paid; computed
    by us: 3 × 500.00 = 1500.00 due; a 4-month gap owes no back-pay. The balance moves (user file)."""
    s = user_snap(tmp_path)
    c = recognise_transfer(s, [0, 1], [12, 12], [0, 0], [True, True], 2, [3, 4], [50000, 50000],
                           [123456, 0])
    assert list(c.backpay_due_fen) == [150000, 0]
    assert list(c.balance_moved_fen) == [123456, 0]
    assert "1500.00" in explain_transfer(s, c, 0).render("en")


def test_shipped_regions_have_no_conversion_ratio_and_say_so() -> None:
    """No source quantifies conversion ratios (DOMAIN §7): transferred months need one → named."""
    s = Registry().policy("beijing").at(dt.date(2023, 1, 1))
    with pytest.raises(UnknownParameterError) as err:
        recognise_transfer(s, [0], [12], [0], [False], 1, [0], [0], [0])
    assert err.value.key == "transfer.years_conversion_ratio"


def test_bad_kind_is_a_bilingual_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        recognise_transfer(user_snap(tmp_path), [0], [12], [7], [True], 1, [0], [0], [0])
    assert "kind" in err.value.en and "kind" in err.value.zh
