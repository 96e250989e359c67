"""The national baseline loads and covers the closed catalogue."""

from __future__ import annotations

import datetime as dt

import pytest

from yibao.errors import UnknownParameterError
from yibao.policy.catalog import CATALOGUE
from yibao.policy.registry import Registry


def test_national_baseline_sets_every_catalogue_key() -> None:
    reg = Registry()
    pol = reg.policy("national")
    for key in CATALOGUE:
        pol.resolve(key, dt.date(2018, 1, 1))


def test_individual_rate_is_two_percent_nationally() -> None:
    """国发〔1998〕44号: 职工缴费率一般为本人工资收入的2%."""
    snap = Registry().policy("national").at(dt.date(2020, 5, 1))
    assert snap.get("contribution.individual_rate.basic") == 200


def test_unknown_value_raises_bilingual_error() -> None:
    snap = Registry().policy("national").at(dt.date(2020, 5, 1))
    with pytest.raises(UnknownParameterError) as err:
        snap.get("contribution.base_floor")
    assert "未知" in err.value.zh and "unknown" in err.value.en
