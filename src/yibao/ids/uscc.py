"""Unified social credit code (统一社会信用代码), GB 32100-2015, the employer's identifier.

Layout, 18 characters from the 31-character set ``0-9 A-H J-N P-R T U W-Y`` (no I, O, Z, S, V)::

    R K DDDDDD OOOOOOOO C' C
    registration authority (1)  entity type (1)  registering office's division code (6 digits,
    GB/T 2260)  subject identifier = organisation code (8 + its own check C', GB 11714-1997)
    check character (MOD 31)

* **Check character** (GB 32100-2015 §5): value of each character = its index in the set above;
  weights 3^(i-1) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28; C = 31 − (Σ mod 31),
  with 31 written as 0.
* **Organisation code check** (GB 11714-1997): value of a digit is itself, of a letter A…Z 10…35;
  weights 3 7 9 10 5 8 4 2; C' = 11 − (Σ mod 11), 10 written as X and 11 as 0.
* The division code must be digits whose first two are a province code (as for person IDs) or 10,
  which central registrations use (e.g. 100000).

python-stdnum's ``cn.uscc`` computes the same check character but insists the first 8 characters
are digits (codes with registration authority ``A``/``N``/``Y`` exist) and does not check the
embedded organisation code, so this module checks itself and explains the error in both languages.
"""

from __future__ import annotations

from yibao.errors import InputError
from yibao.ids._text import clean_identifier
from yibao.ids.person import PROVINCE_CODES

__all__ = ["USCC_ALPHABET", "is_valid_uscc", "organisation_code_check", "parse_uscc", "uscc_check_char"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_EXAMPLE = "91110000600037341L"


def uscc_check_char(first17: str) -> str:
    """The GB 32100 MOD 31 check character of the first 17 characters.

    >>> uscc_check_char("91110000600037341")
    'L'
    """
    body = clean_identifier(first17)
    if len(body) != 17 or any(c not in _VALUE for c in body):
        raise InputError("first17", first17, f"应为 17 个字符，取自 {USCC_ALPHABET}",
                         f"expected 17 characters from {USCC_ALPHABET}")
    total = sum(_VALUE[c] * w for c, w in zip(body, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organisation_code_check(first8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body.

    >>> organisation_code_check("60003734")
    '1'
    """
    body = clean_identifier(first8)
    if len(body) != 8 or not body.isascii() or not body.isalnum():
        raise InputError("first8", first8, "应为 8 位数字或大写字母", "expected 8 digits or capital letters")
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _problem(code: str) -> tuple[str, str] | None:
    """The first thing wrong with a cleaned-up code, in Chinese and English, or None."""
    if code == "":
        return (f"统一社会信用代码不能为空；应为 18 位，如 {_EXAMPLE}",
                f"the unified social credit code must not be empty; expected 18 characters, e.g. {_EXAMPLE}")
    if len(code) != 18:
        return (f"长度为 {len(code)} 位；统一社会信用代码应为 18 位，如 {_EXAMPLE}",
                f"it has {len(code)} characters; a unified social credit code has 18, e.g. {_EXAMPLE}")
    for pos, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            return (f"第 {pos} 位字符 {ch!r} 不允许；只用数字和除 I、O、Z、S、V 外的大写字母",
                    f"character {ch!r} at position {pos} is not allowed; only digits and capital letters "
                    "other than I, O, Z, S, V are used")
    division = code[2:8]
    if not division.isdigit() or not (int(division[:2]) in PROVINCE_CODES or division[:2] == "10"):
        return (f"第 3–8 位登记管理机关行政区划码 {division} 无效（应为 6 位数字，前两位为省级代码或 10）",
                f"characters 3-8, the registering office's division code {division}, are not valid "
                "(6 digits starting with a province code or 10)")
    org = organisation_code_check(code[8:16])
    if org != code[16]:
        return (f"第 9–17 位组织机构代码 {code[8:16]}-{code[16]} 的校验码应为 {org}，实为 {code[16]}",
                f"the organisation code in characters 9-17 ({code[8:16]}-{code[16]}): check character "
                f"should be {org}, found {code[16]}")
    check = uscc_check_char(code[:17])
    if check != code[17]:
        return (f"校验码应为 {check}，实为 {code[17]}",
                f"check character should be {check}, found {code[17]}")
    return None


def parse_uscc(text: str, field: str = "uscc") -> str:
    """Validate a unified social credit code and return it cleaned up (half-width, upper-case).

    Raises :class:`~yibao.errors.InputError` naming ``field``, the value and the first problem:
    length, a character and its position, the division code, the organisation code's check, or
    the final check character.

    >>> parse_uscc(" 91110000600037341l ")
    '91110000600037341L'
    """
    if not isinstance(text, str):
        raise InputError(field, text, f"应为文本形式的统一社会信用代码，如 {_EXAMPLE}",
                         f"expected the unified social credit code as text, e.g. {_EXAMPLE}")
    code = clean_identifier(text)
    problem = _problem(code)
    if problem is not None:
        raise InputError(field, text, *problem)
    return code


def is_valid_uscc(text: str | None) -> bool:
    """True when :func:`parse_uscc` would accept ``text``."""
    return isinstance(text, str) and _problem(clean_identifier(text)) is None
