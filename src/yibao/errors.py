"""The one exception hierarchy of yibao.

Every error a user can meet is a :class:`YibaoError`. It carries a message in Chinese and in
English that names the field, the value given and what is accepted, so the CLI and the API can
show it without a traceback. Exit code 2 is used for all of them (bad input / bad parameters).

- :class:`InputError`        — a value given by the user is malformed or out of range.
- :class:`PolicyFileError`   — a policy file does not validate (file, line, key, problem).
- :class:`UnknownRegionError` — no shipped or supplied region has that code or name.
- :class:`NoRuleError`       — the date lies outside every rule of the region.
- :class:`UnknownParameterError` — a calculation needs a value whose source is still missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Forbidden",
    "InputError",
    "NoRuleError",
    "NotSignedIn",
    "PolicyFileError",
    "PolicyIssue",
    "TooManyAttempts",
    "UnknownParameterError",
    "UnknownRegionError",
    "YibaoError",
]


class YibaoError(Exception):
    """Base of every user-facing error; holds a Chinese and an English message."""

    exit_code = 2

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en

    def message(self, lang: str = "zh") -> str:
        """The message in one language (``zh`` or ``en``)."""
        return self.en if lang == "en" else self.zh

    def bilingual(self) -> str:
        """Chinese first, English second, as the interface shows it."""
        return f"{self.zh}\n{self.en}"


class InputError(YibaoError):
    """A user-supplied value is malformed or outside what is accepted."""

    def __init__(self, field: str, value: object, zh_expect: str, en_expect: str) -> None:
        self.field = field
        self.value = value
        super().__init__(
            f"字段 {field} 的值 {value!r} 无效：{zh_expect}",
            f"field {field}: invalid value {value!r}: {en_expect}",
        )


class Forbidden(YibaoError):
    """The signed-in user's role or regions do not allow this (HTTP 403, nothing changed)."""


class NotSignedIn(YibaoError):
    """No valid session or token, or a wrong user name or password (HTTP 401)."""


class TooManyAttempts(YibaoError):
    """Sign-in refused for a while after repeated failures (HTTP 429)."""

    def __init__(self, zh: str, en: str, retry_after: int) -> None:
        super().__init__(zh, en)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PolicyIssue:
    """One problem found in a policy file."""

    file: str
    line: int | None
    key: str
    zh: str
    en: str

    def where(self) -> str:
        line = f":{self.line}" if self.line else ""
        return f"{self.file}{line} [{self.key}]"


class PolicyFileError(YibaoError):
    """A policy file does not validate; every problem is reported in one pass."""

    def __init__(self, issues: Sequence[PolicyIssue]) -> None:
        self.issues = list(issues)
        zh = "\n".join(f"{i.where()}: {i.zh}" for i in self.issues)
        en = "\n".join(f"{i.where()}: {i.en}" for i in self.issues)
        n = len(self.issues)
        super().__init__(f"政策文件有 {n} 处错误：\n{zh}", f"policy file has {n} problem(s):\n{en}")


class UnknownRegionError(YibaoError):
    """No region answers to the given code or pinyin name."""

    def __init__(self, given: str, known: Sequence[str]) -> None:
        self.given = given
        shown = ", ".join(known)
        super().__init__(
            f"字段 region 的值 {given!r} 不是已知统筹地区；可用行政区划代码或拼音名：{shown}；"
            "也可用 --policy-file 提供自己的地区文件",
            f"field region: {given!r} is not a known pooling region; use a division code or "
            f"pinyin name: {shown}; or supply your own region file with --policy-file",
        )


class NoRuleError(YibaoError):
    """The date is outside every rule the region (and the national baseline) defines."""

    def __init__(self, region: str, key: str, date: object, first: object) -> None:
        super().__init__(
            f"地区 {region} 在 {date} 没有参数 {key} 的规则（最早规则自 {first} 起）",
            f"region {region} has no rule for {key} on {date} (the earliest rule starts {first})",
        )


class UnknownParameterError(YibaoError):
    """A calculation needs a parameter that is recorded as unknown (source needed)."""

    def __init__(self, region: str, key: str, date: object, note: str = "") -> None:
        self.region = region
        self.key = key
        extra_zh = f"（{note}）" if note else ""
        extra_en = f" ({note})" if note else ""
        super().__init__(
            f"地区 {region} 在 {date} 的参数 {key} 未知，需要来源{extra_zh}；"
            f"请在自己的地区文件中给出该值（--policy-file），见 docs/policy-format.md",
            f"region {region}: parameter {key} on {date} is unknown, source needed{extra_en}; "
            "supply it in your own region file (--policy-file), see docs/policy-format.md",
        )
