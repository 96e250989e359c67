"""Feed normalisation for precise enrollment (DOMAIN.md §8; STACK.md pitfall 16 for surnames)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from yibao.match.normalize import (
    DATE_BAD_FORMAT,
    DATE_EMPTY,
    DATE_IMPOSSIBLE,
    SEX_EMPTY,
    SEX_UNKNOWN,
    name_pinyin,
    normalize_name,
    normalize_names,
    parse_date,
    parse_dates,
    parse_month,
    parse_months,
    parse_sex,
    parse_sexes,
)

MARCH_5 = dt.date(2024, 3, 5)


@pytest.mark.parametrize(("raw", "name", "pinyin"), [
    ("張偉", "张伟", "zhang wei"),            # traditional → simplified
    (" 张　伟 ", "张伟", "zhang wei"),         # ideographic space and blanks
    ("曾小明", "曾小明", "zeng xiao ming"),    # surname 曾 is zeng, not ceng
    ("单田芳", "单田芳", "shan tian fang"),    # surname 单 is shan, not dan
    ("区志强", "区志强", "ou zhi qiang"),
    ("解放", "解放", "xie fang"),
    ("欧阳修", "欧阳修", "ouyang xiu"),        # compound surname kept as one
    ("司马光", "司马光", "sima guang"),
    ("ＪＯＨＮ  Smith", "JOHN Smith", "john smith"),  # full-width Latin → half-width
])
def test_names(raw: str, name: str, pinyin: str) -> None:
    assert normalize_name(raw) == name
    assert name_pinyin(name) == pinyin


def test_names_column_has_pinyin_key_without_spaces() -> None:
    out = normalize_names(pl.Series(["張偉", "欧阳修", None, "張偉"]))
    assert out["name"].to_list() == ["张伟", "欧阳修", None, "张伟"]
    assert out["pinyin_key"].to_list() == ["zhangwei", "ouyangxiu", None, "zhangwei"]


DATE_CELLS = ["2024-03-05", "2024/3/5", "2024.03.05", "20240305", "2024年3月5日", "二〇二四年三月五日",
              "45356", 45356, 45356.0]


@pytest.mark.parametrize("cell", DATE_CELLS)
def test_date_formats(cell: object) -> None:
    assert parse_date(cell) == (MARCH_5, 0)


def test_chinese_numeral_days_and_bad_dates() -> None:
    assert parse_date("二〇二四年十二月三十一日") == (dt.date(2024, 12, 31), 0)
    assert parse_date("二〇二四年三月十五日") == (dt.date(2024, 3, 15), 0)
    assert parse_date("2024-02-30") == (None, DATE_IMPOSSIBLE)
    assert parse_date("20230229") == (None, DATE_IMPOSSIBLE)
    assert parse_date("下周一") == (None, DATE_BAD_FORMAT)
    assert parse_date("  ") == (None, DATE_EMPTY)
    # a bare year is not taken for an Excel serial (1990 would be 1905-06-12)
    assert parse_date("1990") == (None, DATE_BAD_FORMAT)
    assert parse_date(10000) == (dt.date(1927, 5, 18), 0)


def test_dates_column_agrees_with_scalar() -> None:
    cells = [str(c) for c in DATE_CELLS] + ["2024-02-30", "x", None, "", "2024-2-29"]
    day, reason = parse_dates(pl.Series(cells))
    expected = [parse_date(c) for c in cells]
    assert day.to_list() == [e[0] for e in expected]
    assert reason.to_list() == [e[1] for e in expected]


def test_dates_column_of_dates_passes_through() -> None:
    day, reason = parse_dates(pl.Series([MARCH_5, None]))
    assert day.to_list() == [MARCH_5, None]
    assert reason.to_list() == [0, DATE_EMPTY]


@pytest.mark.parametrize("cell", ["2024-03", "2024/3", "202403", "2024年3月", "2024.03", "二〇二四年三月",
                                  "2024-03-05"])
def test_months(cell: str) -> None:
    assert parse_month(cell) == (dt.date(2024, 3, 1), 0)


def test_months_column_and_bad_month() -> None:
    day, reason = parse_months(pl.Series(["2024-03", "2024-13", None]))
    assert day.to_list() == [dt.date(2024, 3, 1), None, None]
    assert reason.to_list() == [0, DATE_IMPOSSIBLE, DATE_EMPTY]


@pytest.mark.parametrize(("cell", "sex"), [("男", "male"), ("女", "female"), ("M", "male"), ("f", "female"),
                                          ("1", "male"), ("2", "female"), (1, "male"), ("男性", "male")])
def test_sex_codes(cell: object, sex: str) -> None:
    # GB/T 2261.1: 1 male, 2 female
    assert parse_sex(cell) == (sex, 0)


def test_sex_unknown_and_column() -> None:
    assert parse_sex("9") == (None, SEX_UNKNOWN)  # GB/T 2261.1 "unspecified" is not a sex
    sex, reason = parse_sexes(pl.Series(["男", "0", None]))
    assert sex.to_list() == ["male", None, None]
    assert reason.to_list() == [0, SEX_UNKNOWN, SEX_EMPTY]
