"""Command-line usage errors in Chinese and English.

The command-line parser (typer's vendored click) reports a mistyped option, a missing value or a
value of the wrong type in English only, and not always with the value given. Every bad input gets
a bilingual message that names the field, the value and what is accepted (the project's bar), so
:func:`usage_message` rebuilds the message from the exception's parts; the parser's own English
text is kept at the end for anything it says that is not rebuilt here.
"""

from __future__ import annotations

import re
from typing import Any

from yibao.errors import YibaoError

__all__ = ["CommandLineError", "usage_message"]


class CommandLineError(YibaoError):
    """A usage error of the command line, in Chinese and English (exit code 2)."""


# pydantic error types (typer validates option values with pydantic) → what is accepted
_ACCEPTED: dict[str, tuple[str, str]] = {
    "int_parsing": ("整数", "a whole number"),
    "int_from_float": ("整数", "a whole number"),
    "float_parsing": ("数字", "a number"),
    "bool_parsing": ("true 或 false", "true or false"),
    "enum": ("所列值之一", "one of the listed values"),
    "literal_error": ("所列值之一", "one of the listed values"),
    "date_from_datetime_parsing": ("日期 YYYY-MM-DD", "a date YYYY-MM-DD"),
    "date_parsing": ("日期 YYYY-MM-DD", "a date YYYY-MM-DD"),
}


def _hint(exc: Any) -> str:
    hint = getattr(exc, "param_hint", None)
    if hint is None and getattr(exc, "param", None) is not None:
        hint = exc.param.get_error_hint()
    if isinstance(hint, (list, tuple)):
        hint = " / ".join(hint)
    return str(hint or "?")


def _bad_value(exc: Any) -> tuple[Any, str | None]:
    """The value the user gave and pydantic's error type, when the parser kept them."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        first = errors()[0]
        return first.get("input"), first.get("type")
    return None, None


def usage_message(exc: Any) -> CommandLineError:
    """A bilingual message for a usage error of the command-line parser."""
    kind = type(exc).__name__
    raw = str(getattr(exc, "message", "") or exc)
    if kind == "NoSuchOption":
        zh = f"没有选项 {exc.option_name}"
        en = f"no such option: {exc.option_name}"
        if exc.possibilities:
            alts = ", ".join(sorted(exc.possibilities))
            zh, en = f"{zh}；是否想用 {alts}", f"{en}; did you mean {alts}"
        return CommandLineError(zh + "（--help 列出全部选项）", en + " (--help lists every option)")
    if kind == "BadOptionUsage":
        name = exc.option_name
        if "requires an argument" in raw:
            return CommandLineError(f"选项 {name} 后面需要一个值", f"option {name} needs a value after it")
        if "does not take a value" in raw:
            return CommandLineError(f"选项 {name} 不带值", f"option {name} takes no value")
        return CommandLineError(f"选项 {name} 用法不对：{raw}", f"option {name} is misused: {raw}")
    if kind == "MissingParameter":
        hint = _hint(exc)
        return CommandLineError(f"缺少必需的参数 {hint}", f"missing required parameter {hint}")
    if kind == "BadParameter":
        hint = _hint(exc)
        value, typ = _bad_value(exc)
        accepted = _ACCEPTED.get(typ or "")
        given_zh = f" 的值 {value!r}" if value is not None else " 的值"
        given_en = f" {value!r}" if value is not None else ""
        if accepted is not None:
            return CommandLineError(
                f"{hint}{given_zh} 无效：应为{accepted[0]}",
                f"invalid value{given_en} for {hint}: expected {accepted[1]}",
            )
        return CommandLineError(f"{hint}{given_zh} 无效：{raw}", f"invalid value{given_en} for {hint}: {raw}")
    m = re.match(r"No such command '([^']*)'\.(?: Did you mean '([^']*)'\?)?", raw)
    if m:
        zh, en = f"没有命令 {m.group(1)}", f"no such command: {m.group(1)}"
        if m.group(2):
            zh, en = f"{zh}；是否想用 {m.group(2)}", f"{en}; did you mean {m.group(2)}"
        return CommandLineError(zh + "（--help 列出全部命令）", en + " (--help lists every command)")
    m = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", raw)
    if m:
        return CommandLineError(f"多余的参数：{m.group(1)}", f"unexpected extra argument(s): {m.group(1)}")
    return CommandLineError(f"命令行用法错误：{raw}", f"command-line usage error: {raw}")
