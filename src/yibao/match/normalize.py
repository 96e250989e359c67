"""Normalise the cells of department feeds: names, dates, months and sex codes (DOMAIN.md §8).

Every function comes in a scalar form (one cell, for tests and odd rows) and a column form over a
polars Series. The column forms work on the distinct values (a feed of a million rows has far
fewer distinct names or dates) or on polars string expressions, and fall back to the scalar form
only for the rare cells the fast path does not recognise, so both forms judge a cell the same way.

Reasons are small integers (0 = fine) with a Chinese and an English text in
:data:`DATE_REASON_TEXT` and :data:`SEX_REASON_TEXT`.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Final

import opencc
import polars as pl
from pypinyin import Style, lazy_pinyin

__all__ = [
    "COMPOUND_SURNAMES",
    "DATE_REASON_TEXT",
    "SEX_REASON_TEXT",
    "SURNAME_PINYIN",
    "clean_text",
    "name_pinyin",
    "normalize_name",
    "normalize_names",
    "parse_date",
    "parse_dates",
    "parse_month",
    "parse_months",
    "parse_sex",
    "parse_sexes",
]

# Reason codes of dates and months.
DATE_OK: Final = 0
DATE_EMPTY: Final = 1
DATE_BAD_FORMAT: Final = 2
DATE_IMPOSSIBLE: Final = 3
DATE_REASON_TEXT: Final[dict[int, tuple[str, str]]] = {
    DATE_OK: ("有效", "valid"),
    DATE_EMPTY: ("日期为空", "date is empty"),
    DATE_BAD_FORMAT: ("无法识别的日期格式（可用 2024-03-05、2024/3/5、20240305、2024年3月5日、"
                      "二〇二四年三月五日、Excel 序列号）",
                      "unrecognised date format (accepted: 2024-03-05, 2024/3/5, 20240305, "
                      "2024年3月5日, 二〇二四年三月五日, an Excel serial number)"),
    DATE_IMPOSSIBLE: ("不是有效的日历日期", "not a calendar date"),
}

SEX_OK: Final = 0
SEX_EMPTY: Final = 1
SEX_UNKNOWN: Final = 2
SEX_REASON_TEXT: Final[dict[int, tuple[str, str]]] = {
    SEX_OK: ("有效", "valid"),
    SEX_EMPTY: ("性别为空", "sex is empty"),
    SEX_UNKNOWN: ("性别应为 男/女、M/F 或 1/2（GB/T 2261.1）",
                  "sex should be 男/女, M/F or 1/2 (GB/T 2261.1)"),
}

# Surnames whose reading as a surname differs from pypinyin's default reading (STACK.md pitfall 16).
SURNAME_PINYIN: Final[dict[str, str]] = {
    "曾": "zeng", "单": "shan", "区": "ou", "仇": "qiu", "朴": "piao", "解": "xie", "查": "zha",
    "盖": "ge", "乐": "yue", "缪": "miao", "覃": "qin", "尉": "yu", "万俟": "mo qi", "尉迟": "yu chi",
}
COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "公孙", "慕容", "夏侯", "尉迟", "万俟", "长孙",
    "宇文", "司徒", "司空", "端木", "独孤",
})

# Full-width ASCII (U+FF01–U+FF5E) and the ideographic space become their half-width forms.
_HALF_WIDTH: Final = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# The separator of minority and foreign names, written in several look-alike characters.
_MIDDLE_DOTS: Final = str.maketrans({"•": "·", "・": "·", "．": "·", "﹒": "·", "∙": "·", "‧": "·"})
_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACES: Final = re.compile(r"\s+")
_EXCEL_EPOCH: Final = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 after Excel's 1900 leap-year bug
# Excel serials accepted as dates: five digits only, 10000 (1927-05-18) .. 99999 (2173-10-14). A
# shorter number is more likely a bare year (1990 would be serial 1990 = 1905-06-12) than a date, so it
# is rejected rather than guessed; real Excel date cells arrive as dates, not serials.
_EXCEL_MIN: Final = 10_000
_EXCEL_MAX: Final = 99_999


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def clean_text(value: object) -> str | None:
    """Half-width Latin and digits, collapsed blanks, trimmed; None for an empty cell."""
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value).translate(_HALF_WIDTH)).strip()
    return text or None


def normalize_name(value: object) -> str | None:
    """A name as the register keeps it: simplified characters, no blanks between Chinese characters.

    >>> normalize_name(" 張　偉 ")
    '张伟'
    """
    text = clean_text(value)
    if text is None:
        return None
    text = _t2s().convert(text.translate(_MIDDLE_DOTS))
    if _CJK.search(text):
        # Chinese names carry no spaces; "张 伟" and "张伟" are the same person's name.
        text = re.sub(r"(?<=[^A-Za-z]) (?=[^A-Za-z])", "", text)
    return text


def _syllables(text: str) -> list[str]:
    return [s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors="default") if s.strip()]


def name_pinyin(name: str | None) -> str | None:
    """Pinyin of a normalised name: lower case, no tones, syllables separated by one space.

    The surname (a compound such as 欧阳 counts as one) is read through :data:`SURNAME_PINYIN`,
    since pypinyin reads 曾 as ceng and 单 as dan. Latin names are only lower-cased.

    >>> name_pinyin("曾小明"), name_pinyin("欧阳修")
    ('zeng xiao ming', 'ouyang xiu')
    """
    if not name:
        return None
    if not _CJK.match(name):
        return " ".join(re.split(r"[\s·]+", name.lower())).strip() or None
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    read = SURNAME_PINYIN.get(surname)
    head = read.replace(" ", "") if read else "".join(_syllables(surname))
    given = _syllables(name[len(surname):].replace("·", " "))
    return " ".join([head, *given])


def normalize_names(names: pl.Series) -> pl.DataFrame:
    """Columns ``name``, ``name_pinyin`` and ``pinyin_key`` (pinyin without spaces, for blocking)."""
    text = names.cast(pl.String)
    uniques = text.unique().drop_nulls().to_list()
    norm = {u: normalize_name(u) for u in uniques}
    pin = {u: name_pinyin(n) for u, n in norm.items()}
    name = text.replace_strict(norm, default=None, return_dtype=pl.String).alias("name")
    pinyin = text.replace_strict(pin, default=None, return_dtype=pl.String).alias("name_pinyin")
    return pl.DataFrame([name, pinyin, pinyin.str.replace_all(" ", "").alias("pinyin_key")])


# ---- dates -------------------------------------------------------------------------------------

_CN_DIGIT: Final = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4,
                    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_DATE: Final = re.compile(r"^([〇零○Ｏ一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月"
                             r"(?:([一二三四五六七八九十]{1,3})日)?$")
_NUM_DATE: Final = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d.*)?$")
_NUM_MONTH: Final = re.compile(r"^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?$")


def _cn_number(text: str) -> int:
    """一..三十一 as written in dates (十, 十五, 二十, 三十一)."""
    if "十" not in text:
        return _CN_DIGIT[text] if len(text) == 1 else -1
    tens, _, ones = text.partition("十")
    return (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[ones] if ones else 0)


def _ymd(year: int, month: int, day: int) -> tuple[dt.date | None, int]:
    try:
        return dt.date(year, month, day), DATE_OK
    except ValueError:
        return None, DATE_IMPOSSIBLE


def parse_date(value: object) -> tuple[dt.date | None, int]:
    """One date cell in any of the formats feeds use; ``(date, 0)`` or ``(None, reason)``.

    >>> parse_date("二〇二四年三月五日"), parse_date(45356)
    ((datetime.date(2024, 3, 5), 0), (datetime.date(2024, 3, 5), 0))
    """
    if isinstance(value, dt.datetime):
        return value.date(), DATE_OK
    if isinstance(value, dt.date):
        return value, DATE_OK
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = clean_text(value)
    if text is None:
        return None, DATE_EMPTY
    text = text.removesuffix(".0") if re.fullmatch(r"\d+\.0", text) else text
    if text.isdecimal() and len(text) == 8:
        return _ymd(int(text[:4]), int(text[4:6]), int(text[6:]))
    if text.isdecimal() and len(text) <= 5:
        serial = int(text)
        if _EXCEL_MIN <= serial <= _EXCEL_MAX:
            return _EXCEL_EPOCH + dt.timedelta(days=serial), DATE_OK
        return None, DATE_BAD_FORMAT
    if m := _NUM_DATE.match(text):
        return _ymd(int(m[1]), int(m[2]), int(m[3]))
    if m := _CN_DATE.match(text.replace(" ", "")):
        if m[3] is None:
            return None, DATE_BAD_FORMAT
        year = int("".join(str(_CN_DIGIT[c]) for c in m[1]))
        month, day = _cn_number(m[2]), _cn_number(m[3])
        if month < 0 or day < 0:
            return None, DATE_BAD_FORMAT
        return _ymd(year, month, day)
    return None, DATE_BAD_FORMAT


def parse_month(value: object) -> tuple[dt.date | None, int]:
    """A month (所属期) as the first day of that month: 2024-03, 2024/3, 202403, 2024年3月, 二〇二四年三月;
    a full date or an Excel serial names its month."""
    if isinstance(value, dt.date):
        return value.replace(day=1), DATE_OK
    text = clean_text(value)
    if text is None:
        return None, DATE_EMPTY
    if text.isdecimal() and len(text) == 6:
        return _ymd(int(text[:4]), int(text[4:]), 1)
    if m := _NUM_MONTH.match(text):
        return _ymd(int(m[1]), int(m[2]), 1)
    if (m := _CN_DATE.match(text.replace(" ", ""))) and m[3] is None:
        month = _cn_number(m[2])
        if month < 0:
            return None, DATE_BAD_FORMAT
        return _ymd(int("".join(str(_CN_DIGIT[c]) for c in m[1])), month, 1)
    day, reason = parse_date(text)
    return (day.replace(day=1) if day else None), reason


def _by_uniques(values: pl.Series, fn: object) -> tuple[pl.Series, pl.Series]:
    """Apply a scalar parser to the distinct cells and spread the results back over the column."""
    assert callable(fn)
    uniques = values.unique().drop_nulls().to_list()
    results = {u: fn(u) for u in uniques}
    day = values.replace_strict({u: r[0] for u, r in results.items()}, default=None, return_dtype=pl.Date)
    reason = values.replace_strict({u: r[1] for u, r in results.items()}, default=DATE_EMPTY,
                                   return_dtype=pl.Int8)
    return day, reason


def _fast_dates(text: pl.Series) -> pl.Series:
    """Dates of the common digit formats via polars string kernels; null where not recognised."""
    frame = pl.DataFrame({"t": text})
    ymd = pl.col("t").str.extract_groups(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
    eight = pl.col("t").str.extract_groups(r"^(\d{4})(\d{2})(\d{2})$")
    out = frame.select(
        pl.coalesce(
            pl.concat_str([ymd.struct[0], ymd.struct[1].str.zfill(2), ymd.struct[2].str.zfill(2)],
                          separator="-"),
            pl.concat_str([eight.struct[0], eight.struct[1], eight.struct[2]], separator="-"),
        ).str.to_date("%Y-%m-%d", strict=False).alias("d")
    )
    return out["d"]


def parse_dates(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """A column of date cells → ``(Date series, Int8 reason series)``, judged as :func:`parse_date`."""
    if values.dtype == pl.Date:
        return values, values.is_null().cast(pl.Int8)
    if values.dtype == pl.Datetime:
        return values.dt.date(), values.is_null().cast(pl.Int8)
    text = values.cast(pl.String).str.strip_chars()
    fast = _fast_dates(text)
    rest = text.filter(fast.is_null() & text.is_not_null() & (text != ""))
    if rest.len() == 0:
        return fast, fast.is_null().cast(pl.Int8)  # null here means an empty cell (reason 1)
    slow_day, slow_reason = _by_uniques(text.set(fast.is_not_null(), None), parse_date)
    day = fast.fill_null(slow_day)
    reason = pl.select(pl.when(fast.is_not_null()).then(pl.lit(DATE_OK, pl.Int8))
                       .otherwise(slow_reason)).to_series()
    return day.alias(values.name), reason.alias(values.name)


def parse_months(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """A column of month cells → ``(Date series of first days, Int8 reason series)``."""
    if values.dtype in (pl.Date, pl.Datetime):
        day = values.cast(pl.Date).dt.truncate("1mo")
        return day, day.is_null().cast(pl.Int8)
    day, reason = _by_uniques(values.cast(pl.String), parse_month)
    return day.alias(values.name), reason.alias(values.name)


# ---- sex ---------------------------------------------------------------------------------------

_SEX: Final = {"男": "male", "男性": "male", "m": "male", "male": "male", "1": "male",
               "女": "female", "女性": "female", "f": "female", "female": "female", "2": "female"}


def parse_sex(value: object) -> tuple[str | None, int]:
    """``male``/``female`` from 男/女, M/F or the GB/T 2261.1 codes 1/2 (0 and 9 are not a sex)."""
    text = clean_text(value)
    if text is None:
        return None, SEX_EMPTY
    sex = _SEX.get(text.lower())
    return (sex, SEX_OK) if sex else (None, SEX_UNKNOWN)


def parse_sexes(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """A column of sex cells → ``(String series male/female, Int8 reason series)``."""
    text = values.cast(pl.String)
    results = {u: parse_sex(u) for u in text.unique().drop_nulls().to_list()}
    sex = text.replace_strict({u: r[0] for u, r in results.items()}, default=None, return_dtype=pl.String)
    reason = text.replace_strict({u: r[1] for u, r in results.items()}, default=SEX_EMPTY,
                                 return_dtype=pl.Int8)
    return sex.alias(values.name), reason.alias(values.name)
