"""Person identity numbers: citizen ID (身份证), legacy 15-digit ID, foreigners' permanent residence ID.

Sources and layouts
-------------------
**Citizen identity number (公民身份号码), GB 11643-1999**, 18 characters::

    AAAAAA YYYYMMDD SSS C
    address code (GB/T 2260)  birth date  sequence (odd = male, even = female)  check character

The check character is ISO 7064:1983 MOD 11-2 over the 17 digits, weights 2^(17-i) mod 11 =
7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, remainder 0..10 → ``1 0 X 9 8 7 6 5 4 3 2``. The standard's
own example is 11010519491231002X (a woman born 1949-12-31 in 北京市朝阳区).

**Legacy 15-digit number, GB 11643-1989**: ``AAAAAA YYMMDD SSS`` with the year in the 1900s and no
check character. It names the same person as the 18-digit number obtained by inserting ``19``
before the year and appending the check character (DOMAIN.md §8.x); :func:`normalize_resident_id`
returns that 18-digit form.

**Address code.** Only the province (first two digits) is checked, against GB/T 2260 province
codes 11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, plus 81/82/83 used by the residence permits
of Hong Kong, Macao and Taiwan residents (港澳台居民居住证). The district part is *not* checked
against the year of birth: a number keeps the district code in force when it was issued, so
python-stdnum's ``cn.ric.is_valid`` rejects about 36% of correct numbers of people born before
1983 (DOMAIN.md §8.x). That is why this module does not use it.

**Birth date** must be a real calendar date, not before 1900-01-01 (no living person was born
earlier; an 18xx year in a feed is almost always a typo — note this rejects GB 11643's second,
historical example 440524188001010014, born 1880) and, when a ``today`` is given, not after it.

**Foreigners' permanent residence ID, 2023 edition (新版外国人永久居留身份证, issued from
2023-12-01)**, 18 digits::

    9 PP NNN YYYYMMDD SSS C
    '9' marks a foreigner  province of the issuing office (GB/T 2260)  nationality (3-digit
    numeric country code)  birth date  sequence (odd = male, even = female)  MOD 11-2 check

Source: 国家移民管理局《新版外国人永久居留身份证适配性改造要点》(2023), as republished in
"新版外国人永久居留身份证机读信息规则(2023版)" (eastcoms.com/service/pro/840.html): 18 positions,
17 digits + 1 check character, first digit 9 "作为外国人的身份标识码", the 3-letter country code
"转为数字代码", check character by MOD 11-2 "与公民身份号码校验方式相同"; its example
932682198501010017 (Jiangsu, 682 = Saudi Arabia) is quoted at
blog.csdn.net/weixin_47180815/article/details/134553563. The brief this module was built from
spoke of a 2-digit nationality code; the published example has three (9+2+3+8+3+1 = 18).

**Foreigners' permanent residence ID, 2017 edition (issued until 2023-11-30)**, 15 characters::

    LLL RRRR YYMMDD S C
    nationality (ISO 3166-1 alpha-3)  issuing office (province 2 + city 2)  birth date
    one digit  check digit

Source: the same 要点 describes it as "3 位拉丁字母+12 位数字" with the example KAZ110090123105.
The split of the 12 digits and the check digit are *not* in the text we could read; we follow the
layout that a public implementation uses (xiahaimoyu credentialkit,
ForeignerPermanentResidenceIdNumberProcessor): the check digit is the ICAO Doc 9303 7-3-1 digit
(letters A=10 … Z=35, sum mod 10) over the first 14 characters, which reproduces the official
example's check digit 5. Two things stay uncertain and are handled conservatively: the century
of YYMMDD is taken as 20YY when that date is on or before 2023-11-30 (the last day this edition
was issued), else 19YY; and the sex is not derived (``sex=None``) because no source we could
read says what the 14th character means.

Nationality codes are not checked against a country list (none is shipped with yibao).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from yibao.errors import InputError
from yibao.ids._text import cell_text, clean_identifier

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "PROVINCE_CODES",
    "REASON_TEXT",
    "IdReason",
    "PersonId",
    "PersonIdKind",
    "Sex",
    "checksum_char",
    "is_valid_person_id",
    "normalize_resident_id",
    "parse_person_id",
    "person_id_reason",
]

PersonIdKind = Literal["resident", "resident_legacy15", "foreign_permanent_2017", "foreign_permanent_2023"]
Sex = Literal["male", "female"]

# GB/T 2260 province-level codes, plus 81/82/83 for the HK/Macao/Taiwan residence permits.
PROVINCE_CODES: frozenset[int] = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55),
     *range(61, 66), 71, 81, 82, 83]
)
_PROVINCES_TEXT = "11–15、21–23、31–37、41–46、50–54、61–65、71、81–83"

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
# The 2017 foreign permanent residence card was replaced by the 2023 edition from 2023-12-01.
_LAST_2017_ISSUE = dt.date(2023, 11, 30)

MOD11_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
MOD11_CHARS = "10X98765432"  # check character for remainder 0..10
_ICAO_WEIGHTS = (7, 3, 1)
_EXAMPLE = "11010519491231002X"


class IdReason(IntEnum):
    """Why a person ID was rejected, in the order the checks run (the first failing one is named).

    The codes are the per-row values of :func:`yibao.ids.validate_ids` (int8).
    """

    ok = 0
    empty = 1  # None, or nothing but blanks
    bad_length = 2  # not 18 or 15 characters after clean-up
    bad_characters = 3  # a character that may not stand at its place
    unknown_province = 4  # first two digits (after '9' for foreigners) not a province code
    impossible_date = 5  # birth date is not a calendar date (e.g. 19490231)
    born_before_1900 = 6  # birth date before EARLIEST_BIRTH_DATE
    born_in_future = 7  # birth date after the given `today`
    bad_checksum = 8  # check character does not match (MOD 11-2, or 7-3-1 for 2017 foreign IDs)


REASON_TEXT: dict[IdReason, tuple[str, str]] = {
    IdReason.ok: ("有效", "valid"),
    IdReason.empty: ("证件号码为空", "ID number is empty"),
    IdReason.bad_length: ("长度应为 18 位（或 15 位旧号）", "length should be 18 (or a legacy 15)"),
    IdReason.bad_characters: ("含不允许的字符", "contains a character not allowed there"),
    IdReason.unknown_province: ("省级行政区划代码不存在", "no such province code"),
    IdReason.impossible_date: ("出生日期不是真实日期", "birth date is not a real date"),
    IdReason.born_before_1900: ("出生日期早于 1900-01-01", "birth date before 1900-01-01"),
    IdReason.born_in_future: ("出生日期晚于当天", "birth date is in the future"),
    IdReason.bad_checksum: ("校验码不符", "check character does not match"),
}


@dataclass(frozen=True)
class PersonId:
    """A validated person identity number.

    ``number`` is the canonical form: upper-case, half-width, and for a legacy 15-digit citizen
    number the 18-digit equivalent (``kind`` still says ``resident_legacy15``, so a caller can
    tell what was given). ``region_code`` is the 6-digit GB/T 2260 address code for citizens; for
    foreigners it is the issuing office's province (2023) or city (2017) padded with zeros to six
    digits. ``nationality`` is the 3-letter (2017) or 3-digit (2023) country code, None for citizens.
    """

    kind: PersonIdKind
    number: str
    birth_date: dt.date
    sex: Sex | None
    region_code: str | None
    nationality: str | None = None


@dataclass(frozen=True)
class _Rejection:
    reason: IdReason
    zh: str
    en: str


def _mod11_char(digits17: str) -> str:
    return MOD11_CHARS[sum(int(c) * w for c, w in zip(digits17, MOD11_WEIGHTS, strict=True)) % 11]


def _icao_digit(text: str) -> str:
    # ICAO Doc 9303 part 3 §4.9: digits keep their value, A..Z are 10..35, weights 7 3 1 repeating.
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * _ICAO_WEIGHTS[i % 3] for i, c in enumerate(text))
    return str(total % 10)


def checksum_char(first17: str) -> str:
    """The GB 11643 / ISO 7064 MOD 11-2 check character ('0'–'9' or 'X') for 17 digits.

    >>> checksum_char("11010519491231002")
    'X'
    """
    body = clean_identifier(first17)
    if len(body) != 17 or not (body.isascii() and body.isdigit()):
        raise InputError("first17", first17, "应为 17 位数字（身份证号码的本体码）",
                         "expected 17 digits (the ID number's body)")
    return _mod11_char(body)


def _bad_char(text: str, allowed: str, what_zh: str, what_en: str, offset: int = 0) -> _Rejection | None:
    """Name the first character of `text` outside `allowed`, with its 1-based position in the number."""
    for pos, ch in enumerate(text, start=offset + 1):
        if ch not in allowed:
            return _Rejection(
                IdReason.bad_characters,
                f"第 {pos} 位字符 {ch!r} 不允许；{what_zh}",
                f"character {ch!r} at position {pos} is not allowed; {what_en}",
            )
    return None


_DIGITS = "0123456789"


def _province(code: str, where: tuple[str, str] = ("前两位", "the first two digits")) -> _Rejection | None:
    if int(code) in PROVINCE_CODES:
        return None
    return _Rejection(
        IdReason.unknown_province,
        f"{where[0]} {code} 不是省级行政区划代码（GB/T 2260：{_PROVINCES_TEXT}）",
        f"{where[1]} {code} are not a province code "
        "(GB/T 2260: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81-83)",
    )


_FOREIGN_2023_PROVINCE = (
    "第 2–3 位（号码以 9 开头，按 2023 版外国人永久居留身份证的受理地省级代码检查）",
    "digits 2-3 (a number starting with 9 is read as a 2023 foreign permanent residence ID, "
    "whose digits 2-3 are the issuing province)",
)
_FOREIGN_2017_PROVINCE = ("第 4–5 位（受理地省级代码）", "characters 4-5 (the issuing province)")


def _birth_date(year: int, month: str, day: str, shown: str, today: dt.date | None) -> dt.date | _Rejection:
    try:
        born = dt.date(year, int(month), int(day))
    except ValueError:
        return _Rejection(
            IdReason.impossible_date,
            f"出生日期码 {shown} 不是真实日期",
            f"birth date code {shown} is not a real date",
        )
    if born < EARLIEST_BIRTH_DATE:
        return _Rejection(
            IdReason.born_before_1900,
            f"出生日期 {born.isoformat()} 早于 {EARLIEST_BIRTH_DATE.isoformat()}",
            f"birth date {born.isoformat()} is before {EARLIEST_BIRTH_DATE.isoformat()}",
        )
    if today is not None and born > today:
        return _Rejection(
            IdReason.born_in_future,
            f"出生日期 {born.isoformat()} 晚于当天 {today.isoformat()}",
            f"birth date {born.isoformat()} is after today ({today.isoformat()})",
        )
    return born


def _checksum(expected: str, found: str) -> _Rejection | None:
    if expected == found:
        return None
    return _Rejection(
        IdReason.bad_checksum,
        f"校验码应为 {expected}，实为 {found}",
        f"check character should be {expected}, found {found}",
    )


def _sex(sequence: str) -> Sex:
    return "male" if int(sequence) % 2 == 1 else "female"


def _examine18(number: str, today: dt.date | None) -> PersonId | _Rejection:
    bad = _bad_char(number[:17], _DIGITS, "前 17 位应为数字", "the first 17 must be digits") or _bad_char(
        number[17:], _DIGITS + "X", "末位应为数字或 X", "the last must be a digit or X", offset=17
    )
    if bad is not None:
        return bad
    foreign = number[0] == "9"
    prov = number[1:3] if foreign else number[0:2]
    rejected = _province(prov, _FOREIGN_2023_PROVINCE) if foreign else _province(prov)
    if rejected is not None:
        return rejected
    born = _birth_date(int(number[6:10]), number[10:12], number[12:14], number[6:14], today)
    if isinstance(born, _Rejection):
        return born
    rejected = _checksum(_mod11_char(number[:17]), number[17])
    if rejected is not None:
        return rejected
    sex = _sex(number[14:17])
    if foreign:
        return PersonId("foreign_permanent_2023", number, born, sex, prov + "0000", number[3:6])
    return PersonId("resident", number, born, sex, number[:6])


def _examine15_digits(number: str, today: dt.date | None) -> PersonId | _Rejection:
    rejected = _province(number[0:2])
    if rejected is not None:
        return rejected
    born = _birth_date(1900 + int(number[6:8]), number[8:10], number[10:12], number[6:12], today)
    if isinstance(born, _Rejection):
        return born
    body = number[:6] + "19" + number[6:]
    return PersonId("resident_legacy15", body + _mod11_char(body), born, _sex(number[12:15]), number[:6])


def _examine15_foreign(number: str, today: dt.date | None) -> PersonId | _Rejection:
    bad = _bad_char(number[3:], _DIGITS, "2017 版外国人永久居留身份证应为 3 位字母加 12 位数字",
                    "a 2017 foreign permanent residence ID is 3 letters and 12 digits", offset=3)
    if bad is not None:
        return bad
    rejected = _province(number[3:5], _FOREIGN_2017_PROVINCE)
    if rejected is not None:
        return rejected
    yy, mm, dd = int(number[7:9]), number[9:11], number[11:13]
    # YYMMDD has no century: take the 2000s unless that date is after the last 2017-edition issue.
    try:
        year = 2000 + yy if dt.date(2000 + yy, int(mm), int(dd)) <= _LAST_2017_ISSUE else 1900 + yy
    except ValueError:
        year = 1900 + yy
    born = _birth_date(year, mm, dd, number[7:13], today)
    if isinstance(born, _Rejection):
        return born
    rejected = _checksum(_icao_digit(number[:14]), number[14])
    if rejected is not None:
        return rejected
    return PersonId("foreign_permanent_2017", number, born, None, number[3:7] + "00", number[:3])


def _examine(text: str, today: dt.date | None) -> PersonId | _Rejection:
    """Check one cleaned-up candidate; the first failing check is reported."""
    if text == "":
        return _Rejection(
            IdReason.empty,
            f"证件号码不能为空；应为 18 位公民身份号码，如 {_EXAMPLE}",
            f"the ID number must not be empty; expected an 18-character citizen ID number, e.g. {_EXAMPLE}",
        )
    if len(text) == 18:
        return _examine18(text, today)
    if len(text) == 15:
        if text[:3].isascii() and text[:3].isalpha():
            return _examine15_foreign(text, today)
        bad = _bad_char(text, _DIGITS, "15 位旧号应全为数字（外国人永久居留身份证为 3 位字母加 12 位数字）",
                        "a legacy 15-digit number is all digits (a foreign permanent residence ID is "
                        "3 letters and 12 digits)")
        return bad if bad is not None else _examine15_digits(text, today)
    return _Rejection(
        IdReason.bad_length,
        f"长度为 {len(text)} 位；应为 18 位（或 15 位旧号、15 位 2017 版外国人永久居留身份证），"
        f"如 {_EXAMPLE}",
        f"it has {len(text)} characters; expected 18 (or a legacy 15-digit number, or a 15-character "
        f"2017 foreign permanent residence ID), e.g. {_EXAMPLE}",
    )


def parse_person_id(text: str, field: str = "id_number", *, today: dt.date | None = None) -> PersonId:
    """Validate and decode a person ID number (any of the four kinds above).

    Full-width characters, a lower-case ``x`` and surrounding blanks are accepted and normalised.
    Raises :class:`~yibao.errors.InputError` naming ``field``, the value as given and the first
    check that failed (length, character and position, province, date, check character).

    >>> parse_person_id(" 11010519491231002x ").number
    '11010519491231002X'
    """
    if not isinstance(text, str):
        raise InputError(field, text, f"应为文本形式的证件号码，如 {_EXAMPLE}",
                         f"expected the ID number as text, e.g. {_EXAMPLE}")
    outcome = _examine(clean_identifier(text), today)
    if isinstance(outcome, _Rejection):
        raise InputError(field, text, outcome.zh, outcome.en)
    return outcome


def is_valid_person_id(text: str | None, *, today: dt.date | None = None) -> bool:
    """True when :func:`parse_person_id` would accept ``text``."""
    return isinstance(text, str) and person_id_reason(text, today=today) is IdReason.ok


def person_id_reason(text: object, *, today: dt.date | None = None) -> IdReason:
    """The :class:`IdReason` of one feed cell (``ok`` when valid), as :func:`validate_ids` gives.

    None and NaN are ``empty``, an integer is read as its digits, any other non-text value is
    ``bad_characters`` (:func:`parse_person_id` itself accepts text only).
    """
    outcome = _examine(clean_identifier(cell_text(text)), today)
    return outcome.reason if isinstance(outcome, _Rejection) else IdReason.ok


def normalize_resident_id(text: str, field: str = "id_number", *, today: dt.date | None = None) -> str:
    """The canonical number: a legacy 15-digit citizen number becomes its 18-digit form.

    Foreigners' numbers come back in their own canonical form (they have no 15→18 conversion).

    >>> normalize_resident_id("110105491231002")
    '11010519491231002X'
    """
    return parse_person_id(text, field, today=today).number
