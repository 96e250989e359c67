"""The statutory retirement age and its rise from 2025 (rules/retirement_age.py)."""

from __future__ import annotations

import numpy as np
import pytest

from yibao.errors import InputError
from yibao.rules.retirement_age import statutory_retirement_month


def _month(year: int, month: int) -> int:
    return year * 12 + month - 1


def _retire_age(born: tuple[int, int], original: int, reform: bool = True) -> tuple[int, int]:
    months = int(statutory_retirement_month([_month(*born)], [original], reform)[0]) - _month(*born)
    return months // 12, months % 12


@pytest.mark.parametrize(
    ("born", "original", "age"),
    [
        ((1964, 12), 60, (60, 0)),  # reached 60 before 2025: not affected
        ((1965, 1), 60, (60, 1)),  # the decision's table: Jan–Apr 1965 → 60 years 1 month
        ((1965, 5), 60, (60, 2)),  # May–Aug 1965 → 60 years 2 months
        ((1976, 8), 60, (62, 11)),
        ((1976, 9), 60, (63, 0)),  # from September 1976: 63
        ((1975, 1), 50, (50, 1)),  # women (50): one month every two months
        ((1984, 11), 50, (55, 0)),  # from November 1984: 55
        ((1970, 1), 55, (55, 1)),  # women (55): one month every four months
        ((1981, 12), 55, (58, 0)),
    ],
)
def test_statutory_retirement_age_follows_the_2024_decision(
    born: tuple[int, int], original: int, age: tuple[int, int]
) -> None:
    """全国人大常委会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13), art. 1 and its tables."""
    assert _retire_age(born, original) == age
    assert _retire_age(born, original, reform=False) == (original, 0)


def test_retirement_age_rejects_an_unknown_original_age() -> None:
    with pytest.raises(InputError) as e:
        statutory_retirement_month([_month(1970, 1)], [65])
    assert "original_age" in str(e.value) and "50, 55 or 60" in str(e.value)


def test_the_rise_is_monotone_and_capped() -> None:
    """Later birth never means earlier retirement, and the rise stops at 63 (men; women 55 → 58)
    and 55 (women 50): every month of birth from 1955 to 2000."""
    births = np.arange(1955 * 12, 2000 * 12)
    for original, cap in ((60, 63), (55, 58), (50, 55)):
        ages = statutory_retirement_month(births, np.full(births.size, original)) - births
        assert (np.diff(ages) >= 0).all() and ages.max() == cap * 12 and ages.min() == original * 12
        before = births + original * 12 < 2025 * 12  # reached the original age before 2025
        assert (ages[before] == original * 12).all()


def test_months_are_whole_and_the_bad_original_age_is_named_with_its_place() -> None:
    """A man born May 1970 reached 60 in May 2030, 64 months after January 2025: 64 // 4 + 1 = 17
    months later, at 61 years 5 months; a woman (50) born March 1984, 110 months after: 110 // 2 + 1
    = 56 months, at 54 years 8 months."""
    out = statutory_retirement_month([_month(1970, 5), _month(1984, 3)], [60, 50])
    assert out.dtype == np.int64
    assert out.tolist() == [_month(1970, 5) + 61 * 12 + 5, _month(1984, 3) + 54 * 12 + 8]
    with pytest.raises(InputError) as e:
        statutory_retirement_month([_month(1970, 1), _month(1971, 1)], [60, 65])
    assert (e.value.field, e.value.value) == ("original_age[1]", 65)
    assert str(e.value) == (
        "字段 original_age[1] 的值 65 无效：应为 50、55 或 60 / "
        "field original_age[1]: invalid value 65: must be 50, 55 or 60"
    )
