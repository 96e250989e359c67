"""Masking (脱敏) of personal identifiers for lists, screens and logs.

The rules follow common practice for displaying personal information (cf. GB/T 35273-2020
《个人信息安全规范》 on de-identified display; the exact patterns are practice, not a standard):

* ID number: first 6 (the address code) and last 4 shown, the birth date never
  (``110105********002X``). A legacy 15-digit number shows 6 and the last 3 (its birth date ends
  at digit 12). A 2017 foreign ID shows nationality and office (7) and its last 2. Anything else
  is masked entirely.
* Name: a Chinese name keeps its first character (张三 → 张*, 欧阳娜娜 → 欧***); a Latin name keeps
  the first letter of each word (John Smith → J*** S****). Separators (space, ·, -, .) are kept.
* Mobile: 3 + 4 masked + 4 (138****5678); other phone numbers keep only the last 4 digits.
* Bank account: only the last 4 digits.

Every function keeps the length of its (cleaned-up) input, so columns still line up.
:class:`MaskingFilter` applies the ID and mobile rules to log records, so no log line carries a
full ID number.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from yibao.ids._text import clean_identifier

__all__ = ["MaskingFilter", "mask_bank_account", "mask_id", "mask_name", "mask_phone", "mask_text"]

_STAR = "*"
_NAME_SEPARATORS = frozenset(" ·•・.-‧'’")


def _keep(text: str, head: int, tail: int) -> str:
    return text[:head] + _STAR * (len(text) - head - tail) + text[len(text) - tail :]


def mask_id(number: str) -> str:
    """Mask a person ID number, keeping its length and never showing the birth date.

    >>> mask_id("11010519491231002X")
    '110105********002X'
    """
    text = clean_identifier(number)
    if len(text) == 18:
        return _keep(text, 6, 4)
    if len(text) == 15 and text[:3].isalpha():
        return _keep(text, 7, 2)  # 2017 foreign: LLL RRRR | YYMMDD | S C
    if len(text) == 15:
        return _keep(text, 6, 3)  # legacy: AAAAAA | YYMMDD | SSS
    return _STAR * len(text)


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY"))


def mask_name(name: str) -> str:
    """Mask a person's name: keep the first Chinese character, or each Latin word's first letter.

    >>> mask_name("张三丰"), mask_name("John Smith")
    ('张**', 'J*** S****')
    """
    text = name.strip()
    if not text:
        return ""
    if _is_cjk(text[0]):
        return text[0] + "".join(c if c in _NAME_SEPARATORS else _STAR for c in text[1:])
    out: list[str] = []
    word_start = True
    for c in text:
        if c in _NAME_SEPARATORS:
            out.append(c)
            word_start = True
        else:
            out.append(c if word_start else _STAR)
            word_start = False
    return "".join(out)


def _mask_digits(text: str, keep: set[int]) -> str:
    """Replace every digit whose digit-index is not in `keep`; other characters stay."""
    out: list[str] = []
    k = 0
    for c in text:
        if c.isdigit():
            out.append(c if k in keep else _STAR)
            k += 1
        else:
            out.append(c)
    return "".join(out)


def mask_phone(phone: str) -> str:
    """Mask a phone number: a mainland mobile as 138****5678, anything else to its last 4 digits.

    >>> mask_phone("13812345678"), mask_phone("+86 138 1234 5678")
    ('138****5678', '+86 138 **** 5678')
    """
    text = clean_identifier(phone)
    digits = [c for c in text if c.isdigit()]
    n = len(digits)
    local = digits[2:] if n == 13 and digits[:2] == ["8", "6"] else digits
    if len(local) == 11 and local[0] == "1":
        first = n - 11
        return _mask_digits(text, {*range(first + 3), *range(n - 4, n)})
    return _mask_digits(text, set(range(n - 4, n)) if n >= 8 else set())


def mask_bank_account(account: str) -> str:
    """Keep only the last 4 digits of a bank account (fewer than 8 digits: mask all).

    >>> mask_bank_account("6222 0212 3456 7890")
    '**** **** **** 7890'
    """
    text = clean_identifier(account)
    n = sum(c.isdigit() for c in text)
    return _mask_digits(text, set(range(n - 4, n)) if n >= 8 else set())


# An 18-character ID (17 digits + digit/X), a legacy 15-digit ID, a 2017 foreign ID (3 letters +
# 12 digits) and a mainland mobile (1[3-9] + 9 digits, optionally after +86/86), each not part of a
# longer run of digits or letters. \d also matches full-width digits, which mask_id folds (keeping
# the length).
_SENSITIVE = re.compile(
    r"(?<![0-9A-Za-z０-９])"
    r"(?:(?P<id>\d{17}[\dXxＸｘ]|\d{15}|[A-Z]{3}\d{12})|(?P<mobile>(?:\+?86[ -]?)?1[3-9]\d{9}))"
    r"(?![0-9A-Za-z０-９])"
)


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number found in free text (used for log lines).

    >>> mask_text("person 11010519491231002X, tel 13812345678")
    'person 110105********002X, tel 138****5678'
    """

    def repl(m: re.Match[str]) -> str:
        return mask_id(m.group()) if m.group("id") else mask_phone(m.group())

    return _SENSITIVE.sub(repl, text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID and mobile numbers in each record before it is written.

    The message is formatted with its arguments first (so an ID passed as ``%s`` argument is
    caught), masked, and stored back with no arguments; an exception's traceback text and the
    stack text are masked too. Attach it to *handlers*: a filter on a logger does not see records
    propagated from its child loggers.

        handler.addFilter(MaskingFilter())
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: logging would echo both raw
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
