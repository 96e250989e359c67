"""Parsing one parameter value, by its kind, into the exact form the rules use.

Money is written in yuan and becomes int fen; rates are written ``"9.8%"`` or ``0.098`` and
become int basis points. Tables by benefit class and facility level accept shorthands:
a scalar (every class and level), a mapping by class (every level), or class → level. Cells
left out fall back along :data:`CLASS_FALLBACK` / :data:`LEVEL_FALLBACK`, else are
:data:`UNKNOWN`. ``unknown`` (source needed) and ``none`` (no limit) are different things.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from yibao.errors import InputError
from yibao.money import Rounding, parse_rate_bp, parse_yuan
from yibao.policy.catalog import (
    BENEFIT_CLASSES,
    CLASS_FALLBACK,
    LEVEL_FALLBACK,
    LEVELS,
    Kind,
    ParamSpec,
)

__all__ = [
    "UNKNOWN",
    "AgeTier",
    "Band",
    "ClassLevelTable",
    "ClassTable",
    "Unknown",
    "ValueProblem",
    "parse_value",
]


class Unknown:
    """The value is not known: a source is needed. Distinct from ``None`` (no limit)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()

Cell: TypeAlias = "int | Unknown | None"
ClassTable: TypeAlias = dict[str, Cell]
ClassLevelTable: TypeAlias = dict[str, dict[str, Cell]]


@dataclass(frozen=True)
class Band:
    """A reimbursement band: up to ``upto_fen`` on the band measure (None = open), at ``ratio``."""

    upto_fen: int | None
    ratio: ClassLevelTable


@dataclass(frozen=True)
class AgeTier:
    """From ``age_from`` (inclusive) until the next tier's age, ``value`` applies."""

    age_from: int
    value: int


class ValueProblem(Exception):
    """A value does not fit its kind; ``path`` points inside the value."""

    def __init__(self, zh: str, en: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en
        self.path = path


def _is_unknown(raw: object) -> bool:
    return isinstance(raw, str) and raw.strip().lower() == "unknown"


def _is_none(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() == "none")


def _money(raw: object) -> int:
    try:
        fen = parse_yuan(raw, "value")
    except InputError as exc:
        raise ValueProblem(f"金额 {raw!r} 无效：应为元，如 1300 或 520.80",
                           f"amount {raw!r} is invalid: expected yuan, e.g. 1300 or 520.80") from exc
    if fen < 0:
        raise ValueProblem(f"金额 {raw!r} 不能为负", f"amount {raw!r} must not be negative")
    return fen


def _rate(raw: object) -> int:
    try:
        bp = parse_rate_bp(raw, "value")
    except InputError as exc:
        raise ValueProblem(f"比例 {raw!r} 无效：应如 \"9.8%\" 或 0.098，精确到 0.01%",
                           f"rate {raw!r} is invalid: expected e.g. \"9.8%\" or 0.098, "
                           "to 0.01%") from exc
    if bp < 0:
        raise ValueProblem(f"比例 {raw!r} 不能为负", f"rate {raw!r} must not be negative")
    return bp


def _cell(parse: Callable[[object], int], allow_none: bool) -> Callable[[object], Cell]:
    def inner(raw: object) -> Cell:
        if _is_unknown(raw):
            return UNKNOWN
        if allow_none and _is_none(raw):
            return None
        return parse(raw)

    return inner


def _class_table(raw: object, cell: Callable[[object], Any]) -> dict[str, Any]:
    """Expand a scalar or a by-class mapping over every benefit class."""
    if not isinstance(raw, Mapping):
        v = cell(raw)
        return dict.fromkeys(BENEFIT_CLASSES, v)
    bad = [k for k in raw if k not in BENEFIT_CLASSES]
    if bad:
        raise ValueProblem(
            f"未知的待遇类别 {bad[0]!r}；可用：{', '.join(BENEFIT_CLASSES)}",
            f"unknown benefit class {bad[0]!r}; accepted: {', '.join(BENEFIT_CLASSES)}",
            (str(bad[0]),),
        )
    out: dict[str, Any] = {}
    for c in BENEFIT_CLASSES:
        if c in raw:
            try:
                out[c] = cell(raw[c])
            except ValueProblem as p:
                raise ValueProblem(p.zh, p.en, (c, *p.path)) from p
    for c in BENEFIT_CLASSES:
        if c not in out:
            fb = CLASS_FALLBACK.get(c)
            out[c] = out[fb] if fb in out else (cell("unknown"))
    return out


def _level_table(raw: object, cell: Callable[[object], Cell]) -> dict[str, Cell]:
    if not isinstance(raw, Mapping):
        return dict.fromkeys(LEVELS, cell(raw))
    bad = [k for k in raw if k not in LEVELS]
    if bad:
        raise ValueProblem(
            f"未知的医疗机构等级 {bad[0]!r}；可用：{', '.join(LEVELS)}",
            f"unknown facility level {bad[0]!r}; accepted: {', '.join(LEVELS)}",
            (str(bad[0]),),
        )
    out: dict[str, Cell] = {}
    for lv in LEVELS:
        if lv in raw:
            try:
                out[lv] = cell(raw[lv])
            except ValueProblem as p:
                raise ValueProblem(p.zh, p.en, (lv, *p.path)) from p
    for lv in LEVELS:
        if lv not in out:
            fb = LEVEL_FALLBACK.get(lv, "")
            out[lv] = out.get(fb, UNKNOWN)
    return out


def _class_level_table(raw: object, cell: Callable[[object], Cell]) -> ClassLevelTable:
    if isinstance(raw, Mapping) and raw and all(k in LEVELS for k in raw):
        raw = {"in_service": raw, "retired": raw}  # a by-level table for everyone
    return _class_table(raw, lambda r: _level_table(r, cell) if not _is_unknown(r)
                        else dict.fromkeys(LEVELS, UNKNOWN))


def _bands(raw: object) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueProblem("分段应为非空列表：[{upto: 30000, ratio: ...}, ...]",
                           "bands must be a non-empty list: [{upto: 30000, ratio: ...}, ...]")
    out: list[Band] = []
    last = -1
    for i, b in enumerate(raw):
        if not isinstance(b, Mapping) or set(b) - {"upto", "ratio"} or "ratio" not in b:
            raise ValueProblem("每段只含 upto 与 ratio 两个键", "each band has only keys upto and ratio",
                               (i,))
        upto = None if _is_none(b.get("upto")) else _money(b["upto"])
        if upto is not None and upto <= last:
            raise ValueProblem("各段 upto 须递增", "band limits (upto) must increase", (i, "upto"))
        if upto is None and i != len(raw) - 1:
            raise ValueProblem("只有最后一段可以不设上限", "only the last band may be open (upto: none)",
                               (i, "upto"))
        try:
            ratio = _class_level_table(b["ratio"], _cell(_rate, False))
        except ValueProblem as p:
            raise ValueProblem(p.zh, p.en, (i, "ratio", *p.path)) from p
        out.append(Band(upto, ratio))
        last = upto if upto is not None else last
    return tuple(out)


def _tiers(raw: object, parse: Callable[[object], int]) -> tuple[AgeTier, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueProblem("年龄段应为非空列表：[{age_from: 0, value: ...}, ...]",
                           "age tiers must be a non-empty list: [{age_from: 0, value: ...}, ...]")
    out: list[AgeTier] = []
    for i, t in enumerate(raw):
        if not isinstance(t, Mapping) or set(t) != {"age_from", "value"}:
            raise ValueProblem("每个年龄段只含 age_from 与 value", "each tier has keys age_from and value",
                               (i,))
        age = t["age_from"]
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            raise ValueProblem(f"age_from {age!r} 应为非负整数", f"age_from {age!r} must be an integer ≥ 0",
                               (i, "age_from"))
        if out and age <= out[-1].age_from:
            raise ValueProblem("age_from 须递增", "age_from must increase", (i, "age_from"))
        if not out and age != 0:
            raise ValueProblem("第一个年龄段须从 0 开始", "the first tier must start at age_from 0",
                               (i, "age_from"))
        out.append(AgeTier(age, parse(t["value"])))
    return tuple(out)


_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


def parse_value(spec: ParamSpec, raw: object) -> object:
    """Parse ``raw`` (as loaded from YAML) for ``spec``; raise :class:`ValueProblem` if it does not fit."""
    if _is_unknown(raw):
        return UNKNOWN
    k = spec.kind
    if k is Kind.money:
        return _money(raw)
    if k is Kind.money_or_none:
        return None if _is_none(raw) else _money(raw)
    if k is Kind.rate:
        return _rate(raw)
    if k is Kind.integer:
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
            raise ValueProblem(f"{raw!r} 应为非负整数（{spec.unit}）",
                               f"{raw!r} must be a whole number ≥ 0 ({spec.unit})")
        return raw
    if k is Kind.boolean:
        if not isinstance(raw, bool):
            raise ValueProblem(f"{raw!r} 应为 true 或 false", f"{raw!r} must be true or false")
        return raw
    if k is Kind.choice:
        if raw not in spec.choices:
            raise ValueProblem(f"{raw!r} 不是可选值；可用：{', '.join(spec.choices)}",
                               f"{raw!r} is not accepted; choose one of {', '.join(spec.choices)}")
        return raw
    if k is Kind.choices:
        if not isinstance(raw, list) or any(x not in spec.choices for x in raw):
            raise ValueProblem(f"{raw!r} 应为列表，元素取自：{', '.join(spec.choices)}",
                               f"{raw!r} must be a list drawn from {', '.join(spec.choices)}")
        return tuple(raw)
    if k is Kind.month_day:
        if not isinstance(raw, str) or not _MONTH_DAY.match(raw):
            raise ValueProblem(f"{raw!r} 应为 MM-DD，如 \"07-01\"", f"{raw!r} must be MM-DD, e.g. \"07-01\"")
        return raw
    if k is Kind.rounding:
        try:
            return Rounding.parse(str(raw))
        except InputError as exc:
            raise ValueProblem(exc.zh, exc.en) from exc
    if k is Kind.date_or_none:
        if _is_none(raw):
            return None
        if not isinstance(raw, dt.date):
            raise ValueProblem(f"{raw!r} 应为日期 YYYY-MM-DD 或 none",
                               f"{raw!r} must be a date YYYY-MM-DD or none")
        return raw
    if k is Kind.by_class_money:
        return _class_table(raw, _cell(_money, False))
    if k is Kind.by_class_money_or_none:
        return _class_table(raw, _cell(_money, True))
    if k is Kind.by_class_rate:
        return _class_table(raw, _cell(_rate, False))
    if k is Kind.by_class_level_money:
        return _class_level_table(raw, _cell(_money, False))
    if k is Kind.by_class_level_rate:
        return _class_level_table(raw, _cell(_rate, False))
    if k is Kind.bands:
        return _bands(raw)
    if k is Kind.age_tiers_rate:
        return _tiers(raw, _rate)
    if k is Kind.age_tiers_money:
        return _tiers(raw, _money)
    if k is Kind.rate_list:
        if not isinstance(raw, list) or not raw:
            raise ValueProblem("应为比例列表，如 [\"60%\", \"100%\"]",
                               "must be a list of rates, e.g. [\"60%\", \"100%\"]")
        return tuple(parse_rate_bp(x, "value") for x in raw)
    raise AssertionError(f"kind {k} not handled")  # pragma: no cover - catalogue is closed
