"""Money is integer fen (分); rates are integer basis points (1 bp = 0.01%).

Rounding happens at named steps with a named rule, given by the region's parameters
(``contribution.base_rounding``, ``contribution.amount_rounding``, ``settlement.rounding`` …):
a unit (fen, jiao, yuan) and a mode (half_up — 四舍五入, up — 见分进角 style, down). The
functions here work on Python ints and on numpy int64 arrays alike, with no float anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError

__all__ = [
    "BP",
    "FEN_PER_YUAN",
    "Rounding",
    "RoundingMode",
    "RoundingUnit",
    "apply_rate",
    "fen_to_yuan_str",
    "parse_amount",
    "parse_rate_bp",
    "parse_yuan",
    "rate_bp_to_str",
    "round_div",
]

FEN_PER_YUAN = 100
BP = 10_000  # basis points in 100%

IntArray = npt.NDArray[np.int64]


class RoundingUnit(StrEnum):
    fen = "fen"
    jiao = "jiao"
    yuan = "yuan"

    @property
    def size_fen(self) -> int:
        """How many fen one unit is."""
        return {"fen": 1, "jiao": 10, "yuan": 100}[self.value]


class RoundingMode(StrEnum):
    half_up = "half_up"
    up = "up"
    down = "down"


@dataclass(frozen=True)
class Rounding:
    """Where and how an amount is rounded, e.g. ``Rounding(yuan, half_up)``."""

    unit: RoundingUnit = RoundingUnit.fen
    mode: RoundingMode = RoundingMode.half_up

    @classmethod
    def parse(cls, text: str) -> Rounding:
        """``"yuan_half_up"`` → Rounding(yuan, half_up)."""
        unit, _, mode = text.partition("_")
        try:
            return cls(RoundingUnit(unit), RoundingMode(mode))
        except ValueError as exc:
            raise InputError(
                "rounding",
                text,
                "应为 单位_方式，单位 fen/jiao/yuan，方式 half_up/up/down，如 yuan_half_up",
                "expected UNIT_MODE with unit fen/jiao/yuan and mode half_up/up/down, "
                "e.g. yuan_half_up",
            ) from exc

    def __str__(self) -> str:
        return f"{self.unit.value}_{self.mode.value}"

    @property
    def code(self) -> tuple[int, int]:
        """(unit in fen, mode index) — the form the numba kernels take."""
        return self.unit.size_fen, list(RoundingMode).index(self.mode)

    @overload
    def div(self, num: int, den: int) -> int: ...
    @overload
    def div(self, num: IntArray, den: int | IntArray) -> IntArray: ...
    def div(self, num: Any, den: Any) -> Any:
        """Round ``num / den`` fen to this rule's unit; the result is in fen."""
        unit, mode = self.code
        return round_div(num, den * unit, mode) * unit

    def fen(self, amount: Any) -> Any:
        """Round an amount already in fen to this rule's unit."""
        return self.div(amount, 1)


@overload
def round_div(num: int, den: int, mode: int) -> int: ...
@overload
def round_div(num: IntArray, den: int | IntArray, mode: int) -> IntArray: ...
def round_div(num: Any, den: Any, mode: int) -> Any:
    """Integer ``num / den`` rounded by mode 0 half_up, 1 up, 2 down (away from/to zero).

    Negative amounts (reversals) round symmetrically, so a reversal undoes its original exactly.
    """
    sign = np.sign(num) if isinstance(num, np.ndarray) else (1 if num >= 0 else -1)
    a = abs(num)
    if mode == 0:
        q = (2 * a + den) // (2 * den)
    elif mode == 1:
        q = (a + den - 1) // den
    else:
        q = a // den
    return sign * q


def apply_rate(amount_fen: Any, rate_bp: Any, rounding: Rounding) -> Any:
    """``amount × rate`` in fen, rounded once by ``rounding``."""
    return rounding.div(amount_fen * rate_bp, BP)


_YUAN_RE = re.compile(r"^\s*(-?[\d,，]*\.?\d*)\s*(万)?\s*(元)?\s*$")


def parse_yuan(value: object, field: str) -> int:
    """Parse yuan (number or text like ``"1,234.56元"``, ``"1.2万"``) into integer fen.

    Rejects floats' binary noise by going through Decimal, and rejects sub-fen precision.
    """
    if isinstance(value, bool):
        raise _yuan_error(field, value)
    if isinstance(value, int):
        return value * FEN_PER_YUAN
    text = str(value)
    m = _YUAN_RE.match(text)
    if not m or not m.group(1) or m.group(1) in {"-", "."}:
        raise _yuan_error(field, value)
    try:
        d = Decimal(m.group(1).replace(",", "").replace("，", ""))
    except InvalidOperation as exc:
        raise _yuan_error(field, value) from exc
    if m.group(2):
        d *= 10_000
    fen = d * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise InputError(
            field, value, "金额最多精确到分（两位小数）", "amounts have at most two decimals (fen)"
        )
    return int(fen)


def _yuan_error(field: str, value: object) -> InputError:
    return InputError(
        field,
        value,
        "应为以元计的金额，如 1300、520.80、\"1,234.56元\" 或 \"1.2万\"",
        "expected an amount in yuan, e.g. 1300, 520.80, \"1,234.56元\" or \"1.2万\"",
    )


def parse_rate_bp(value: object, field: str) -> int:
    """Parse a rate (``"9.8%"``, ``0.098`` or ``"0.098"``) into integer basis points.

    A rate finer than one basis point is an error rather than a silent rounding.
    """
    if isinstance(value, bool):
        raise _rate_error(field, value)
    text = str(value).strip()
    pct = text.endswith("%")
    try:
        d = Decimal(text.rstrip("%").strip())
    except InvalidOperation as exc:
        raise _rate_error(field, value) from exc
    bp = d * (100 if pct else BP)
    if bp != bp.to_integral_value():
        raise InputError(
            field, value, "比例最多精确到万分之一（0.01%）", "rates have at most 0.01% precision"
        )
    return int(bp)


def _rate_error(field: str, value: object) -> InputError:
    return InputError(
        field,
        value,
        "应为比例，如 \"9.8%\" 或 0.098",
        "expected a rate, e.g. \"9.8%\" or 0.098",
    )


def parse_amount(value: object, field: str) -> int:
    """:func:`parse_yuan` for an amount that cannot be negative (a fee, a payment)."""
    fen = parse_yuan(value, field)
    if fen < 0:
        raise InputError(field, value, "金额不能为负", "amounts must not be negative")
    return fen


def fen_to_yuan_str(fen: int) -> str:
    """``52080`` → ``"520.80"`` — the form the national platform's JSON uses."""
    sign = "-" if fen < 0 else ""
    a = abs(int(fen))
    return f"{sign}{a // 100}.{a % 100:02d}"


def rate_bp_to_str(bp: int) -> str:
    """``980`` → ``"9.8%"``."""
    d = (Decimal(int(bp)) / 100).normalize()
    return f"{d:f}%"
