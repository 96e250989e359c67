"""Benefit class of a person on a date (rules/classes.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from yibao.errors import InputError
from yibao.policy.catalog import BENEFIT_CLASSES
from yibao.rules.classes import STATUS_INDEX, benefit_class, parse_status

NAT = np.datetime64("NaT")


def classes(status: list[str], age: list[int], retired_on: list[object], senior: int | None,
            early: dt.date | None) -> list[str]:
    st = np.array([STATUS_INDEX[s] for s in status])
    ro = np.array([NAT if r is None else np.datetime64(r, "D") for r in retired_on])
    return [BENEFIT_CLASSES[i] for i in benefit_class(st, np.array(age), ro, senior, early)]


def test_in_service_and_flexible_keep_their_status() -> None:
    assert classes(["in_service", "flexible"], [30, 30], [None, None], 70, None) == [
        "in_service", "flexible"]


def test_beijing_retirees_from_70_are_senior() -> None:
    """PD beijing: retirees' outpatient hospital ratio rises at 70 (benefit_class.senior_age 70)."""
    assert classes(["retired"] * 3, [69, 70, 85], [None] * 3, 70, None) == [
        "retired", "retired_senior", "retired_senior"]


def test_no_senior_class_when_the_age_is_unknown() -> None:
    assert classes(["retired"], [90], [None], None, None) == ["retired"]


def test_shanghai_retired_on_or_before_2000_12_31_are_early() -> None:
    """沪医保规〔2023〕6号: retired on or before 2000-12-31 pay the 700 deductible (retired_early),
    whatever their age; a retiree without a retirement date is not early."""
    cut = dt.date(2000, 12, 31)
    got = classes(["retired"] * 4, [80, 80, 60, 80],
                  [dt.date(2000, 12, 31), dt.date(2001, 1, 1), dt.date(1999, 5, 1), None], 75, cut)
    assert got == ["retired_early", "retired_senior", "retired_early", "retired_senior"]


def test_bad_status_and_age_are_bilingual_input_errors() -> None:
    with pytest.raises(InputError) as err:
        parse_status("student")
    assert "psn_type" in err.value.en and "人员类别" in err.value.zh
    with pytest.raises(InputError):
        benefit_class(np.array([0]), np.array([-1]), np.array([NAT]), None, None)
    with pytest.raises(InputError):
        benefit_class(np.array([7]), np.array([30]), np.array([NAT]), None, None)
