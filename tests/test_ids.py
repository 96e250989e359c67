"""Identifiers: person ID numbers, USCC, masking, the log filter and synthetic IDs (yibao.ids).

Sources: GB 11643-1999 (citizen ID; its own example 11010519491231002X), GB 11643-1989 (legacy
15-digit), 国家移民管理局《新版外国人永久居留身份证适配性改造要点》(2023; examples
932682198501010017 and KAZ110090123105), GB 32100-2015 (USCC), GB 11714-1997 (organisation code),
DOMAIN.md §8.x (pitfalls in validating resident IDs).
"""

from __future__ import annotations

import datetime as dt
import logging
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

import yibao.ids
from yibao.errors import InputError
from yibao.ids import (
    EARLIEST_BIRTH_DATE,
    PROVINCE_CODES,
    USCC_ALPHABET,
    IdReason,
    MaskingFilter,
    PersonId,
    checksum_char,
    is_valid_person_id,
    is_valid_uscc,
    mask_bank_account,
    mask_id,
    mask_name,
    mask_phone,
    mask_text,
    normalize_resident_id,
    organisation_code_check,
    parse_person_id,
    parse_uscc,
    person_id_reason,
    reason_text,
    synthetic_resident_id,
    synthetic_resident_ids,
    uscc_check_char,
    validate_ids,
)

GB_EXAMPLE = "11010519491231002X"  # GB 11643-1999's own example: 北京市朝阳区, born 1949-12-31, female
TODAY = dt.date(2025, 6, 30)


def rejects(text: str, zh: str, en: str, field: str = "id_number", **kw: object) -> InputError:
    """parse_person_id(text) raises an InputError naming the field, the value as given and why."""
    with pytest.raises(InputError) as info:
        parse_person_id(text, field, **kw)  # type: ignore[arg-type]
    err = info.value
    assert err.field == field
    assert err.value == text
    assert zh in err.zh and f"字段 {field} 的值 {text!r} 无效" in err.zh
    assert en in err.en and f"field {field}: invalid value {text!r}" in err.en
    return err


def with_check(first17: str) -> str:
    return first17 + checksum_char(first17)


def icao(text: str) -> str:
    """ICAO 9303 7-3-1 check digit, written out independently of the module."""
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in text]
    return str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(values)) % 10)


# --- citizen ID, GB 11643-1999 ----------------------------------------------------------------------


def test_the_standards_own_example_is_a_woman_born_1949_12_31_in_chaoyang() -> None:
    pid = parse_person_id(GB_EXAMPLE)
    assert pid == PersonId("resident", GB_EXAMPLE, dt.date(1949, 12, 31), "female", "110105")
    assert checksum_char(GB_EXAMPLE[:17]) == "X"


@pytest.mark.parametrize("typed", [
    "11010519491231002x",  # lower-case x
    "  11010519491231002X\t",  # surrounding blanks
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and letter
    "\ufeff11010519491231002ｘ\u3000",  # Excel's byte-order mark, full-width x, ideographic space
    "\u200b11010519491231002X",  # zero-width space
])
def test_typing_variants_normalise_to_the_same_number(typed: str) -> None:
    assert parse_person_id(typed).number == GB_EXAMPLE
    assert is_valid_person_id(typed)


def test_sequence_parity_gives_the_sex() -> None:
    """GB 11643 §4.4: 顺序码的奇数分配给男性，偶数分配给女性."""
    assert parse_person_id(with_check("11010519800101001")).sex == "male"
    assert parse_person_id(with_check("11010519800101002")).sex == "female"


def test_every_province_code_is_accepted_and_its_neighbours_are_not() -> None:
    """GB/T 2260 provinces 11-15 … 61-65, 71, and 81/82/83 (HK/Macao/Taiwan residence permits)."""
    expected = {*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55),
                *range(61, 66), 71, 81, 82, 83}
    assert expected == PROVINCE_CODES
    for p in range(10, 90):  # 9x is read as a foreigner's number, tested below
        number = with_check(f"{p:02d}010519800101001")
        assert is_valid_person_id(number) is (p in expected), number


def test_a_district_created_after_the_birth_is_fine_unlike_stdnum_cn_ric() -> None:
    """DOMAIN.md §8.x: a number keeps the district code in force when issued, not at birth.

    440305 (深圳市南山区) dates from 1990; a person born there in 1960 was issued 440305… later.
    python-stdnum's cn.ric rejects the number (the measured pitfall); we accept it.
    """
    number = with_check("44030519600301243")
    assert not ric.is_valid(number)
    assert parse_person_id(number).region_code == "440305"


def test_leap_days_follow_the_gregorian_calendar() -> None:
    assert parse_person_id(with_check("11010520000229001")).birth_date == dt.date(2000, 2, 29)
    rejects(with_check("11010519000229001"), "出生日期码 19000229 不是真实日期",
            "birth date code 19000229 is not a real date")


# --- legacy 15-digit numbers, GB 11643-1989 ------------------------------------------------------------


def test_a_15_digit_number_is_the_same_person_as_its_18_digit_form() -> None:
    """DOMAIN.md §8.x: insert 19 before the year and append the check character."""
    pid = parse_person_id("110105491231002")
    assert pid.kind == "resident_legacy15"
    assert pid.number == GB_EXAMPLE
    assert (pid.birth_date, pid.sex, pid.region_code) == (dt.date(1949, 12, 31), "female", "110105")
    assert normalize_resident_id("110105491231002") == GB_EXAMPLE
    assert normalize_resident_id(" 11010519491231002x") == GB_EXAMPLE


def test_a_legacy_number_has_no_check_character_so_x_is_refused() -> None:
    rejects("11010549123100X", "第 15 位字符 'X' 不允许", "character 'X' at position 15 is not allowed")


def test_a_legacy_number_with_an_impossible_date_names_its_6_digit_code() -> None:
    rejects("110105490231002", "出生日期码 490231 不是真实日期", "birth date code 490231 is not a real date")


# --- foreigners' permanent residence ID -------------------------------------------------------------------


def test_the_2023_edition_example_starts_with_9_then_province_and_nationality() -> None:
    """适配性改造要点 (2023): 9 + 受理地省级代码 32 (江苏) + 国籍 682 + 19850101 + 001 + MOD 11-2 check."""
    pid = parse_person_id("932682198501010017")
    assert pid == PersonId("foreign_permanent_2023", "932682198501010017", dt.date(1985, 1, 1), "male",
                           "320000", "682")


def test_the_2023_edition_checks_its_province_in_digits_2_and_3() -> None:
    rejects(with_check("90039819901231002"), "第 2–3 位", "digits 2-3")
    rejects("932682198501010018", "校验码应为 7，实为 8", "check character should be 7, found 8")


def test_the_2017_edition_example_is_read_as_nationality_office_and_birth_date() -> None:
    """适配性改造要点 (2023): the old 15-character number, example KAZ110090123105."""
    pid = parse_person_id("kaz110090123105")
    assert pid == PersonId("foreign_permanent_2017", "KAZ110090123105", dt.date(1990, 12, 31), None,
                           "110000", "KAZ")
    rejects("KAZ110090123107", "校验码应为 5，实为 7", "check character should be 5, found 7")


@pytest.mark.parametrize(("yymmdd", "born"), [
    ("150101", dt.date(2015, 1, 1)),
    ("231130", dt.date(2023, 11, 30)),  # the last day the 2017 edition was issued
    ("231201", dt.date(1923, 12, 1)),
    ("240101", dt.date(1924, 1, 1)),
])
def test_the_2017_edition_century_is_the_2000s_unless_after_its_last_issue(
    yymmdd: str, born: dt.date
) -> None:
    body = f"USA3101{yymmdd}1"
    assert parse_person_id(body + icao(body)).birth_date == born


def test_the_2017_edition_is_three_letters_and_twelve_digits() -> None:
    rejects("KAZ11009012310A", "第 15 位字符 'A' 不允许", "character 'A' at position 15 is not allowed")
    body = "KAZ99009012310"
    rejects(body + icao(body), "第 4–5 位（受理地省级代码） 99", "characters 4-5 (the issuing province) 99")


# --- every rejection, with its message -------------------------------------------------------------------


def test_empty_and_blank_values_are_refused() -> None:
    for text in ("", "   ", "\u3000"):
        rejects(text, "证件号码不能为空", "must not be empty")


def test_wrong_length_says_how_many_characters_and_what_is_expected() -> None:
    rejects("11010519491231002", "长度为 17 位；应为 18 位", "it has 17 characters; expected 18")
    rejects("110105194912310020X", "长度为 19 位", "it has 19 characters")


def test_a_bad_character_is_named_with_its_position() -> None:
    rejects("1101051949-231002X", "第 11 位字符 '-' 不允许；前 17 位应为数字",
            "character '-' at position 11 is not allowed; the first 17 must be digits")
    rejects("11010519491231002Y", "第 18 位字符 'Y' 不允许；末位应为数字或 X",
            "character 'Y' at position 18 is not allowed; the last must be a digit or X")
    rejects("110105 19491231 02", "第 7 位字符 ' ' 不允许", "character ' ' at position 7")


def test_an_unknown_province_is_refused() -> None:
    rejects(with_check("00010519491231002"), "前两位 00 不是省级行政区划代码",
            "the first two digits 00 are not a province code")


def test_an_impossible_birth_date_is_refused() -> None:
    rejects(with_check("11010519491301002"), "出生日期码 19491301 不是真实日期",
            "birth date code 19491301 is not a real date")


def test_a_birth_before_1900_is_refused_even_the_standards_historical_example() -> None:
    """GB 11643-1999's second example 440524188001010014 (born 1880) has a correct check
    character, but no living person was born before 1900, so a feed's 18xx is taken as a typo."""
    assert checksum_char("44052418800101001") == "4"
    rejects("440524188001010014", "出生日期 1880-01-01 早于 1900-01-01",
            "birth date 1880-01-01 is before 1900-01-01")
    assert dt.date(1900, 1, 1) == EARLIEST_BIRTH_DATE


def test_a_birth_after_today_is_refused_only_when_today_is_given() -> None:
    number = with_check("11010520250701001")
    assert parse_person_id(number).birth_date == dt.date(2025, 7, 1)
    rejects(number, "出生日期 2025-07-01 晚于当天 2025-06-30",
            "birth date 2025-07-01 is after today (2025-06-30)", today=TODAY)
    assert parse_person_id(with_check("11010520250630001"), today=TODAY).birth_date == TODAY


def test_a_wrong_check_character_says_which_was_expected() -> None:
    rejects("110105194912310025", "校验码应为 X，实为 5", "check character should be X, found 5")


def test_the_field_name_is_the_callers() -> None:
    rejects("110105194912310025", "校验码应为 X", "check character should be X", field="insured.id_number")


def test_non_text_values_are_refused_with_a_message() -> None:
    with pytest.raises(InputError) as info:
        parse_person_id(11010519491231002)  # type: ignore[arg-type]
    assert info.value.field == "id_number" and "expected the ID number as text" in info.value.en
    assert not is_valid_person_id(None)
    assert person_id_reason(None) is IdReason.empty
    assert person_id_reason(float("nan")) is IdReason.empty
    assert person_id_reason(3.5) is IdReason.bad_characters
    assert person_id_reason(110105194912310025) is IdReason.bad_checksum


def test_checksum_char_wants_17_digits() -> None:
    assert checksum_char("１１０１０５１９４９１２３１００２") == "X"
    for bad in ("1101051949123100", "1101051949123100A", "110105194912310023"):
        with pytest.raises(InputError) as info:
            checksum_char(bad)
        assert info.value.field == "first17" and "应为 17 位数字" in info.value.zh


# --- properties -------------------------------------------------------------------------------------------

births = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
sexes = st.sampled_from(["male", "female"])
regions = st.builds(lambda p, rest: f"{p:02d}{rest:04d}", st.sampled_from(sorted(PROVINCE_CODES)),
                    st.integers(0, 9999))


@given(seed=st.integers(0, 2**32 - 1), born=births, sex=sexes, region=regions)
def test_every_synthetic_id_validates_and_decodes_to_what_was_asked(
    seed: int, born: dt.date, sex: str, region: str
) -> None:
    number = synthetic_resident_id(random.Random(seed), born, sex, region)  # type: ignore[arg-type]
    pid = parse_person_id(number)
    assert (pid.kind, pid.number, pid.birth_date, pid.sex, pid.region_code) == (
        "resident", number, born, sex, region)


@given(seed=st.integers(0, 2**32 - 1), born=births, sex=sexes, pos=st.integers(0, 17),
       shift=st.integers(1, 10))
def test_changing_any_one_character_of_a_valid_id_makes_it_invalid(
    seed: int, born: dt.date, sex: str, pos: int, shift: int
) -> None:
    """MOD 11-2 detects every single substitution (all weights are non-zero mod 11)."""
    number = synthetic_resident_id(np.random.default_rng(seed), born, sex)  # type: ignore[arg-type]
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    new = alphabet[(alphabet.index(number[pos]) + shift) % len(alphabet)]
    if new == number[pos]:
        return
    assert not is_valid_person_id(number[:pos] + new + number[pos + 1 :])


@given(seed=st.integers(0, 2**32 - 1), born=st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)), sex=sexes)
def test_15_to_18_keeps_the_birth_date_and_sex(seed: int, born: dt.date, sex: str) -> None:
    number = synthetic_resident_id(random.Random(seed), born, sex, "320102")  # type: ignore[arg-type]
    legacy = number[:6] + number[8:17]
    old, new = parse_person_id(legacy), parse_person_id(number)
    assert old.number == new.number == normalize_resident_id(legacy)
    assert (old.birth_date, old.sex) == (new.birth_date, new.sex) == (born, sex)


@given(seed=st.integers(0, 2**32 - 1), born=births, sex=sexes)
def test_masking_keeps_the_length_and_never_shows_digits_7_to_14(seed: int, born: dt.date, sex: str) -> None:
    number = synthetic_resident_id(random.Random(seed), born, sex, "110101")  # type: ignore[arg-type]
    masked = mask_id(number)
    assert len(masked) == 18
    assert masked[6:14] == "********"
    assert masked[:6] == number[:6] and masked[14:] == number[14:]
    if born.year < 2000:
        legacy = mask_id(number[:6] + number[8:17])
        assert len(legacy) == 15 and legacy[6:12] == "******"


# --- the vectorised validator ------------------------------------------------------------------------------


def test_validate_ids_gives_a_canonical_number_or_a_reason_per_row() -> None:
    rows: list[object] = [
        GB_EXAMPLE, "110105491231002", " 11010519491231002x ", None, "", "11010519491231002",
        "110105194912310025", with_check("00010519491231002"), with_check("11010519490231002"),
        "440524188001010014", with_check("11010520300101001"), "932682198501010017", "KAZ110090123105",
        "1101051949123100?X", 110105194912310025, float("nan"), b"11010519491231002X",
    ]
    got = validate_ids(rows, today=TODAY)
    r = IdReason
    assert got.reason.dtype == np.int8
    assert got.reason.tolist() == [
        r.ok, r.ok, r.ok, r.empty, r.empty, r.bad_length, r.bad_checksum, r.unknown_province,
        r.impossible_date, r.born_before_1900, r.born_in_future, r.ok, r.ok, r.bad_characters,
        r.bad_checksum, r.empty, r.bad_characters,
    ]
    assert got.normalised[:4] == [GB_EXAMPLE, GB_EXAMPLE, GB_EXAMPLE, None]
    assert got.normalised[11:13] == ["932682198501010017", "KAZ110090123105"]
    assert got.normalised[14] is None
    assert reason_text(int(got.reason[6]), "en") == "check character does not match"
    assert reason_text(int(got.reason[6])) == "校验码不符"


def test_validate_ids_reads_an_integer_cell_as_its_digits() -> None:
    """A spreadsheet that typed the column as numbers loses nothing for IDs without an X."""
    number = with_check("11010519800101001")
    assert number[-1] != "X"
    assert validate_ids([int(number)]).normalised == [number]


def test_validate_ids_of_nothing_is_nothing() -> None:
    got = validate_ids([])
    assert got.normalised == [] and got.reason.shape == (0,)


def legacy_of(seed: int, born: dt.date) -> str:
    number = synthetic_resident_id(random.Random(seed), born, "male")
    return number[:6] + number[8:17]


variants = st.one_of(
    st.builds(lambda s, b, x: synthetic_resident_id(random.Random(s), b, x), st.integers(0, 99), births,
              sexes),
    st.builds(legacy_of, st.integers(0, 99), st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31))),
    st.text(alphabet="0123456789Xx９Ｘ ", min_size=0, max_size=20),
    st.from_regex(r"\A[0-9]{17}[0-9Xx]\Z"),
    st.from_regex(r"\A[0-9]{15}\Z"),
    st.from_regex(r"\A9[0-9]{16}[0-9X]\Z"),
    st.builds(lambda n: f"USA3101{n:07d}", st.integers(0, 9_999_999)),
    st.none(),
    st.integers(10**14, 10**18),
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(rows=st.lists(variants, max_size=40), chunk=st.integers(1, 50), today=st.none() | st.just(TODAY))
def test_validate_ids_agrees_with_the_scalar_parser_row_by_row(
    rows: list[str | int | None], chunk: int, today: dt.date | None
) -> None:
    got = validate_ids(rows, today=today, chunk_rows=chunk)
    assert len(got.normalised) == len(rows)
    for row, norm, code in zip(rows, got.normalised, got.reason.tolist(), strict=True):
        assert code == person_id_reason(row, today=today), row
        if code == IdReason.ok:
            assert norm == parse_person_id(str(row), today=today).number, row
        else:
            assert norm is None, row


def test_synthetic_ids_in_bulk_are_all_valid_and_reproducible() -> None:
    rng = np.random.default_rng(7)
    days = np.datetime64("1930-01-01") + rng.integers(0, 36500, size=2000).astype("timedelta64[D]")
    male = rng.random(2000) < 0.5
    numbers = synthetic_resident_ids(np.random.default_rng(1), days, male, "510104")
    assert numbers == synthetic_resident_ids(np.random.default_rng(1), days, male, "510104")
    got = validate_ids(numbers)
    assert (got.reason == 0).all()
    first = parse_person_id(numbers[0])
    assert first.birth_date == days[0].astype(dt.date) and (first.sex == "male") == bool(male[0])


def test_synthetic_ids_in_bulk_take_one_region_per_row() -> None:
    days = np.array(["1949-12-31", "2000-02-29", "1900-01-01"], dtype="datetime64[D]")
    numbers = synthetic_resident_ids(np.random.default_rng(3), days, np.array([False, True, False]),
                                     ["110105", "650102", "810000"])
    decoded = [parse_person_id(x) for x in numbers]
    assert [(p.region_code, p.birth_date, p.sex) for p in decoded] == [
        ("110105", dt.date(1949, 12, 31), "female"), ("650102", dt.date(2000, 2, 29), "male"),
        ("810000", dt.date(1900, 1, 1), "female")]


def test_synthetic_ids_in_bulk_check_their_arguments() -> None:
    days = np.array(["1990-01-01", "1991-01-01"], dtype="datetime64[D]")
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="male"):
        synthetic_resident_ids(rng, days, np.array([True]))
    with pytest.raises(InputError, match="region_codes"):
        synthetic_resident_ids(rng, days, np.array([True, False]), ["110105"])
    with pytest.raises(InputError, match="region_code"):
        synthetic_resident_ids(rng, days, np.array([True, False]), ["110105", "000000"])
    with pytest.raises(InputError, match="birth_dates"):
        synthetic_resident_ids(rng, days - np.timedelta64(40000, "D"), np.array([True, False]))
    assert synthetic_resident_ids(rng, days[:0], np.array([], dtype=bool)) == []


def test_synthetic_id_arguments_are_checked() -> None:
    with pytest.raises(InputError, match="region_code"):
        synthetic_resident_id(random.Random(1), dt.date(1990, 1, 1), "male", "990101")
    with pytest.raises(InputError, match="sex"):
        synthetic_resident_id(random.Random(1), dt.date(1990, 1, 1), "other")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="birth_date"):
        synthetic_resident_id(random.Random(1), dt.date(1899, 12, 31), "male")


# --- unified social credit code, GB 32100-2015 -------------------------------------------------------------


@pytest.mark.parametrize("code", [
    "91110000600037341L",  # python-stdnum 2.2's documented example (stdnum/cn/uscc.py)
    "914403001922038216",  # published as 华为技术有限公司's code (organisation code 19220382-1)
    "9144030071526726XG",  # published as a Tencent company's code (organisation code 71526726-X)
])
def test_published_codes_pass_both_checks(code: str) -> None:
    assert parse_uscc(code) == code
    assert organisation_code_check(code[8:16]) == code[16]
    assert uscc.is_valid(code)  # python-stdnum agrees on the MOD 31 character


def test_a_code_is_cleaned_up_like_an_id() -> None:
    assert parse_uscc(" ９１１１００００６０００３７３４１ｌ ") == "91110000600037341L"
    assert uscc_check_char("91110000600037341") == "L"


def test_letters_in_the_first_two_places_are_accepted_unlike_stdnum() -> None:
    """GB 32100 allows letters for the registration authority and entity type (e.g. N, Y)."""
    body = "N2320102" + "MA1K2P3Q"
    body += organisation_code_check(body[8:])
    code = body + uscc_check_char(body)
    assert is_valid_uscc(code)
    assert not uscc.is_valid(code)


def rejects_uscc(text: str, zh: str, en: str) -> None:
    with pytest.raises(InputError) as info:
        parse_uscc(text, "employer.uscc")
    assert info.value.field == "employer.uscc" and info.value.value == text
    assert zh in info.value.zh and en in info.value.en
    assert not is_valid_uscc(text)


def test_uscc_errors_name_the_first_problem() -> None:
    rejects_uscc("", "统一社会信用代码不能为空", "must not be empty")
    rejects_uscc("9111000060003734", "长度为 16 位", "it has 16 characters")
    rejects_uscc("9111000060003734IL", "第 17 位字符 'I' 不允许",
                 "character 'I' at position 17 is not allowed")
    rejects_uscc("911100006000373S1L", "第 16 位字符 'S'", "position 16")
    rejects_uscc("91A10000600037341L", "第 3–8 位登记管理机关行政区划码 A10000", "division code A10000")
    rejects_uscc("91990000600037341L", "行政区划码 990000", "division code 990000")
    rejects_uscc("91110000600037342L", "组织机构代码 60003734-2 的校验码应为 1，实为 2",
                 "check character should be 1, found 2")
    rejects_uscc("91110000600037341M", "校验码应为 L，实为 M", "check character should be L, found M")
    assert not is_valid_uscc(None)


def test_a_widely_repeated_example_is_not_a_valid_code() -> None:
    """91310115MA1G4L1WXK is quoted on Q&A pages as an example; its organisation code fails."""
    rejects_uscc("91310115MA1G4L1WXK", "组织机构代码 MA1G4L1W-X 的校验码应为 0，实为 X",
                 "should be 0, found X")


def test_central_registrations_use_division_10() -> None:
    body = "11100000" + "00001312"
    org = organisation_code_check(body[8:])
    assert is_valid_uscc(body + org + uscc_check_char(body + org))


def test_check_helpers_refuse_bad_input() -> None:
    with pytest.raises(InputError, match="first17"):
        uscc_check_char("9111000060003734I")
    with pytest.raises(InputError, match="first8"):
        organisation_code_check("6000373")


uscc_bodies = st.tuples(st.sampled_from("159ANY"), st.sampled_from("123"),
                        st.sampled_from(sorted(PROVINCE_CODES)), st.integers(0, 9999),
                        st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8))


@given(parts=uscc_bodies, pos=st.integers(0, 17), shift=st.integers(1, 30))
def test_changing_any_one_character_of_a_valid_uscc_makes_it_invalid(
    parts: tuple[str, str, int, int, str], pos: int, shift: int
) -> None:
    """MOD 31 with weights non-zero mod 31 detects every single substitution."""
    authority, kind, province, rest, org = parts
    body = f"{authority}{kind}{province:02d}{rest:04d}{org}"
    body += organisation_code_check(org)
    code = body + uscc_check_char(body)
    assert is_valid_uscc(code)
    new = USCC_ALPHABET[(USCC_ALPHABET.index(code[pos]) + shift) % 31]
    assert not is_valid_uscc(code[:pos] + new + code[pos + 1 :])


# --- masking -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given_", "masked"), [
    (GB_EXAMPLE, "110105********002X"),
    ("11010519491231002x", "110105********002X"),
    ("110105491231002", "110105******002"),
    ("KAZ110090123105", "KAZ1100******05"),
    ("12345", "*****"),
    ("1101051949123100", "****************"),
    ("", ""),
])
def test_mask_id(given_: str, masked: str) -> None:
    assert mask_id(given_) == masked


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"), ("张三丰", "张**"), ("欧阳娜娜", "欧***"), ("张", "张"),
    ("阿卜杜·热合曼", "阿**·***"), (" 李四 ", "李*"),
    ("John Smith", "J*** S****"), ("Mary-Jane O'Neil", "M***-J*** O'N***"), ("", ""),
])
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"), ("+8613812345678", "+86138****5678"),
    ("+86 138 1234 5678", "+86 138 **** 5678"), ("010-12345678", "***-****5678"), ("12345", "*****"),
])
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_bank_account_keeps_the_last_four_digits() -> None:
    assert mask_bank_account("6222021234567890123") == "***************0123"
    assert mask_bank_account("6222 0212 3456 7890") == "**** **** **** 7890"
    assert mask_bank_account("1234567") == "*******"


def test_mask_text_finds_ids_and_mobiles_but_not_other_numbers() -> None:
    text = (f"id={GB_EXAMPLE} old=110105491231002 fpr=KAZ110090123105 tel:13812345678 "
            "card=6222021234567890 amount=123456789012 ｉｄ１１０１０５１９４９１２３１００２Ｘ")
    assert mask_text(text) == (
        "id=110105********002X old=110105******002 fpr=KAZ1100******05 tel:138****5678 "
        "card=6222021234567890 amount=123456789012 ｉｄ110105********002X")


def test_masking_filter_keeps_full_ids_out_of_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("yibao.test_ids")
    masking = MaskingFilter()
    caplog.handler.addFilter(masking)
    try:
        with caplog.at_level(logging.INFO, logger="yibao.test_ids"):
            log.info("registered %s, mobile %s", GB_EXAMPLE, "13812345678")
            log.warning("legacy number %(n)s", {"n": "110105491231002"})
            try:
                parse_person_id("110105194912310025")
            except InputError:
                log.exception("rejected")
            log.info("bad args %s %s", GB_EXAMPLE)  # the arguments do not fit the format
    finally:
        caplog.handler.removeFilter(masking)
    text = caplog.text
    for secret in (GB_EXAMPLE, "13812345678", "110105491231002", "110105194912310025", "19491231"):
        assert secret not in text
    assert "registered 110105********002X, mobile 138****5678" in text
    assert "legacy number 110105******002" in text
    assert "110105********0025" in text  # the InputError's message in the traceback, masked
    assert caplog.records[0].getMessage() == "registered 110105********002X, mobile 138****5678"


def test_the_package_surface_is_what_all_lists() -> None:
    assert sorted(yibao.ids.__all__) == sorted(set(yibao.ids.__all__))
    for name in yibao.ids.__all__:
        assert hasattr(yibao.ids, name), name
