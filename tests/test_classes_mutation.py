"""Benefit class (待遇类别) at each boundary, for each status, and every input error's exact text.

Rules (rules/classes.py, DOMAIN.md §4.2 and §4.6): not retired → the member's status; retired on
or before ``benefit_class.early_retiree_before`` → ``retired_early`` (Shanghai 2000-12-31,
沪医保规〔2023〕6号); age ≥ ``benefit_class.senior_age`` → ``retired_senior`` (Beijing 70, PD
beijing); otherwise ``retired``. Expected classes are computed by us from these rules.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from yibao.errors import InputError
from yibao.policy.catalog import BENEFIT_CLASSES
from yibao.rules.classes import CLASS_INDEX, STATUS_INDEX, STATUSES, benefit_class, parse_status

NAT = np.datetime64("NaT")
SH_EARLY = dt.date(2000, 12, 31)  # 沪医保规〔2023〕6号: 2000年12月31日前退休
BJ_SENIOR = 70  # PD beijing: 退休人员 70 周岁以上


def names(idx: np.ndarray) -> list[str]:
    return [BENEFIT_CLASSES[int(i)] for i in idx]


@pytest.mark.parametrize(("text", "want"), [
    ("in_service", 0), ("flexible", 1), ("retired", 2),
    ("  Retired ", 2), ("FLEXIBLE", 1), ("In_Service\t", 0),
])
def test_parse_status_ignores_case_and_surrounding_space(text: str, want: int) -> None:
    assert parse_status(text) == want
    assert STATUSES[want] == text.strip().lower()


def test_parse_status_error_names_the_field_value_and_the_statuses() -> None:
    with pytest.raises(InputError) as err:
        parse_status("student", field="members[3].psn_type")
    e = err.value
    assert e.field == "members[3].psn_type" and e.value == "student"
    assert e.zh == ("字段 members[3].psn_type 的值 'student' 无效："
                    "应为人员类别之一：in_service, flexible, retired")
    assert e.en == ("field members[3].psn_type: invalid value 'student': "
                    "expected one of in_service, flexible, retired")
    with pytest.raises(InputError) as err:
        parse_status("retiree")
    assert err.value.field == "psn_type"


def test_in_service_and_flexible_are_never_retiree_classes() -> None:
    """Age and retirement date do not matter before retirement (rule 1)."""
    st = [STATUS_INDEX["in_service"], STATUS_INDEX["flexible"]] * 2
    got = benefit_class(st, [85, 85, 20, 20], np.array([SH_EARLY, SH_EARLY, NAT, NAT],
                                                         dtype="datetime64[D]"), BJ_SENIOR,
                        SH_EARLY)
    assert names(got) == ["in_service", "flexible", "in_service", "flexible"]
    assert got.dtype == np.int8


@pytest.mark.parametrize(("age", "want"), [
    (0, "retired"), (69, "retired"), (70, "retired_senior"), (71, "retired_senior"),
])
def test_beijing_senior_class_starts_at_70(age: int, want: str) -> None:
    """PD beijing: retirees aged 70 and over (benefit_class.senior_age = 70): 69 / 70 / 71."""
    got = benefit_class([STATUS_INDEX["retired"]], [age], [NAT], BJ_SENIOR, None)
    assert names(got) == [want]


@pytest.mark.parametrize(("retired_on", "age", "want"), [
    (dt.date(2000, 12, 30), 60, "retired_early"),
    (SH_EARLY, 60, "retired_early"),  # last day of the early class
    (dt.date(2001, 1, 1), 60, "retired"),  # first day after it
    (SH_EARLY, 90, "retired_early"),  # early wins over senior (narrower, historical class)
    (dt.date(2001, 1, 1), 90, "retired_senior"),
    (None, 60, "retired"),  # NaT: no retirement date known → never early
])
def test_shanghai_early_class_is_retired_on_or_before_2000_12_31(
        retired_on: dt.date | None, age: int, want: str) -> None:
    """沪医保规〔2023〕6号 (early) with an illustrative senior age of 75."""
    ro = [NAT if retired_on is None else np.datetime64(retired_on, "D")]
    got = benefit_class([STATUS_INDEX["retired"]], [age], ro, 75, SH_EARLY)
    assert names(got) == [want]


def test_no_early_or_senior_class_when_the_region_sets_none() -> None:
    got = benefit_class([2, 2], [95, 95], np.array([SH_EARLY, NAT], dtype="datetime64[D]"),
                        None, None)
    assert names(got) == ["retired", "retired"]


def test_columns_read_as_text_are_converted() -> None:
    """A CSV reader hands over text: status indexes, ages and ISO dates still classify."""
    got = benefit_class(np.array(["2", "2", "0", "2"]), np.array(["70", "69", "80", "60"]),
                        np.array(["2005-01-01", "2005-01-01", "", "2000-12-31"]), 70, SH_EARLY)
    assert names(got) == ["retired_senior", "retired", "in_service", "retired_early"]


def test_class_indexes_follow_the_catalogue() -> None:
    assert [CLASS_INDEX[c] for c in BENEFIT_CLASSES] == list(range(len(BENEFIT_CLASSES)))
    assert CLASS_INDEX["in_service"] == STATUS_INDEX["in_service"]
    assert CLASS_INDEX["flexible"] == STATUS_INDEX["flexible"]


@pytest.mark.parametrize("bad", [-1, 3, 7])
def test_status_index_out_of_range_is_named(bad: int) -> None:
    with pytest.raises(InputError) as err:
        benefit_class([0, bad, 1], [30, 30, 30], [NAT] * 3, None, None)
    e = err.value
    assert e.field == "psn_type" and e.value == bad
    assert e.zh == (f"字段 psn_type 的值 {bad} 无效：应为 0..2（in_service, flexible, retired）")
    assert e.en == f"field psn_type: invalid value {bad}: expected 0..2 (in_service, flexible, retired)"


def test_first_bad_status_is_the_one_named() -> None:
    with pytest.raises(InputError) as err:
        benefit_class([0, 5, 9], [30] * 3, [NAT] * 3, None, None)
    assert err.value.value == 5


def test_valid_edges_of_status_and_age_are_accepted() -> None:
    got = benefit_class([0, 2], [0, 0], [NAT, NAT], None, None)
    assert names(got) == ["in_service", "retired"]


def test_negative_age_is_named() -> None:
    with pytest.raises(InputError) as err:
        benefit_class([0, 0, 0], [30, -1, -7], [NAT] * 3, None, None)
    e = err.value
    assert e.field == "age" and e.value == -1
    assert e.zh == "字段 age 的值 -1 无效：年龄不能为负"
    assert e.en == "field age: invalid value -1: age must not be negative"
    with pytest.raises(InputError) as err:  # an age of 0 before it is valid, not the one named
        benefit_class([0, 0], [0, -4], [NAT] * 2, None, None)
    assert err.value.value == -4
