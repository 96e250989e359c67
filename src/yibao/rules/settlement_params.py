"""Compiling policy snapshots into the int64 parameter arrays the settlement kernel reads.

K snapshots (several regions or dates in one batch) become arrays of shape ``(K, ...)``; a claim
row names its snapshot by index. Every cell is exact (fen or basis points). Two sentinels:

- :data:`UNKNOWN_CELL` (-1): the policy records the value as unknown (source needed). The kernel
  reports the cell only if a claim needs it; the wrapper then raises
  :class:`~yibao.errors.UnknownParameterError` naming the key and the class/level.
- :data:`NO_LIMIT` (2**62): ``none`` — no ceiling, no cap, an open last band.

Axes: kind (0 inpatient, 1 outpatient), nth deductible (first, second, third_plus), benefit
class (``BENEFIT_CLASSES``), facility level (``LEVELS``), band index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from yibao.money import Rounding
from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.resolve import Snapshot
from yibao.policy.values import Band, Unknown

__all__ = [
    "ACCOUNT_PARTS",
    "KINDS",
    "MAX_BANDS",
    "NO_LIMIT",
    "N_CLASSES",
    "N_LEVELS",
    "UNKNOWN_CELL",
    "SettlementTable",
    "build_plan",
    "compile_settlement_table",
]

UNKNOWN_CELL: Final = -1
NO_LIMIT: Final = 1 << 62
KINDS: Final[tuple[str, ...]] = ("inpatient", "outpatient")
MAX_BANDS: Final = 8
ACCOUNT_PARTS: Final[tuple[str, ...]] = ("deductible", "coinsurance", "preselfpay", "over_ceiling",
                                         "over_limit", "full_self_pay")
"""Bit i of ``account_mask`` is set when ``settlement.account_pays`` lists ACCOUNT_PARTS[i]."""

_SCOPE = {"per_admission": 0, "per_year": 1}
_BASIS = {"cost": 0, "fund_payment": 1}
_NTH = ("first", "second", "third_plus")
N_CLASSES: Final = len(BENEFIT_CLASSES)
N_LEVELS: Final = len(LEVELS)
_C = N_CLASSES
_L = N_LEVELS

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SettlementTable:
    """Settlement parameters of K snapshots as int64 arrays (see the module docstring)."""

    snapshots: tuple[Snapshot, ...]
    ded_scope: I64  # (K, 2)            0 per_admission, 1 per_year
    deductible: I64  # (K, 2, 3, C, L)  fen
    n_bands: I64  # (K, 2)              -1 if the bands are unknown
    band_upto: I64  # (K, 2, B)         fen on the band measure; NO_LIMIT for an open band
    band_ratio: I64  # (K, 2, B, C, L)  bp
    band_basis: I64  # (K, 2)           0 cost, 1 fund_payment
    ceiling: I64  # (K, 2, C)           fen or NO_LIMIT
    ceiling_basis: I64  # (K, 2)
    shared: I64  # (K, 2)               1 if the kind uses the inpatient ceiling pool
    large_ratio: I64  # (K, 2, C)       bp
    large_ceiling: I64  # (K, 2, C)     fen or NO_LIMIT
    large_basis: I64  # (K, 2)
    account_mask: I64  # (K,)           bits over ACCOUNT_PARTS
    oop_cap: I64  # (K,)                fen or NO_LIMIT
    round_unit: I64  # (K,)             fen per rounding unit
    round_mode: I64  # (K,)             0 half_up, 1 up, 2 down
    remote_reduction: I64  # (K, 3)     bp: local (0), registered, unregistered
    category_b_bp: I64  # (K,)          乙类先行自付 share, bp

    def kernel_args(self) -> tuple[I64, ...]:
        """The arrays in the order the kernel takes them."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.name not in
                     ("snapshots", "category_b_bp"))

    @cached_property
    def plan(self) -> I64:
        """One row per (snapshot, kind, class, level, remote): every cell a claim can need.

        The kernel reads a claim's parameters from one contiguous row instead of a dozen
        arrays of up to five dimensions (fewer registers and index computations per claim,
        docs/performance.md). Cells keep their sentinels (:data:`UNKNOWN_CELL`, NO_LIMIT).
        """
        return build_plan(self)

    @property
    def size(self) -> int:
        return len(self.snapshots)


def _cell(v: object, none: int = NO_LIMIT) -> int:
    if isinstance(v, Unknown):
        return UNKNOWN_CELL
    if v is None:
        return none
    assert isinstance(v, int)
    return v


def _by_class(v: object) -> list[int]:
    if isinstance(v, Unknown):
        return [UNKNOWN_CELL] * _C
    assert isinstance(v, dict)
    return [_cell(v[c]) for c in BENEFIT_CLASSES]


def _by_class_level(v: object) -> list[list[int]]:
    if isinstance(v, Unknown):
        return [[UNKNOWN_CELL] * _L for _ in range(_C)]
    assert isinstance(v, dict)
    return [[UNKNOWN_CELL if isinstance(v[c], Unknown) else _cell(v[c][lv]) for lv in LEVELS]
            for c in BENEFIT_CLASSES]


def _as_tuple(v: object) -> tuple[object, ...]:
    assert isinstance(v, tuple)
    return v


def _choice(v: object, codes: dict[str, int]) -> int:
    return UNKNOWN_CELL if isinstance(v, Unknown) else codes[str(v)]


def _flag(v: object) -> int:
    return UNKNOWN_CELL if isinstance(v, Unknown) else int(bool(v))


def _fill_kind(a: dict[str, Any], q: int, k: int, snap: Snapshot) -> None:
    p = f"settlement.{KINDS[k]}"
    a["ded_scope"][q, k] = _choice(snap[f"{p}.deductible.scope"].value, _SCOPE)
    for t, nth in enumerate(_NTH):
        a["deductible"][q, k, t] = _by_class_level(snap[f"{p}.deductible.{nth}"].value)
    bands = snap[f"{p}.bands"].value
    if isinstance(bands, Unknown):
        a["n_bands"][q, k] = UNKNOWN_CELL
    else:
        assert isinstance(bands, tuple)
        if len(bands) > MAX_BANDS:
            raise ValueError(f"{p}.bands has {len(bands)} bands; the kernel takes {MAX_BANDS}")
        a["n_bands"][q, k] = len(bands)
        for b, band in enumerate(bands):
            assert isinstance(band, Band)
            a["band_upto"][q, k, b] = NO_LIMIT if band.upto_fen is None else band.upto_fen
            a["band_ratio"][q, k, b] = _by_class_level(band.ratio)
    a["band_basis"][q, k] = _choice(snap[f"{p}.band_basis"].value, _BASIS)
    a["ceiling"][q, k] = _by_class(snap[f"{p}.pooled_ceiling"].value)
    a["ceiling_basis"][q, k] = _choice(snap[f"{p}.ceiling_basis"].value, _BASIS)
    # the inpatient pool is the inpatient's own; only outpatient care can join it
    a["shared"][q, k] = 0 if k == 0 else _flag(snap[f"{p}.ceiling_shared_with_inpatient"].value)
    a["large_ratio"][q, k] = _by_class(snap[f"{p}.large_amount.ratio"].value)
    a["large_ceiling"][q, k] = _by_class(snap[f"{p}.large_amount.ceiling"].value)
    a["large_basis"][q, k] = _choice(snap[f"{p}.large_amount.ceiling_basis"].value, _BASIS)


def compile_settlement_table(snapshots: Sequence[Snapshot]) -> SettlementTable:
    """Resolve every settlement parameter of each snapshot into :class:`SettlementTable`.

    Raises :class:`~yibao.errors.NoRuleError` if a key has no rule on a snapshot's date; unknown
    values do not raise here (they become :data:`UNKNOWN_CELL`).
    """
    n = len(snapshots)
    shapes: dict[str, tuple[int, ...]] = {
        "ded_scope": (n, 2), "deductible": (n, 2, 3, _C, _L), "n_bands": (n, 2),
        "band_upto": (n, 2, MAX_BANDS), "band_ratio": (n, 2, MAX_BANDS, _C, _L),
        "band_basis": (n, 2), "ceiling": (n, 2, _C), "ceiling_basis": (n, 2), "shared": (n, 2),
        "large_ratio": (n, 2, _C), "large_ceiling": (n, 2, _C), "large_basis": (n, 2),
        "account_mask": (n,), "oop_cap": (n,), "round_unit": (n,), "round_mode": (n,),
        "remote_reduction": (n, 3), "category_b_bp": (n,),
    }
    # pragma: no mutate below: dtype=None is the same int64 for an int fill on 64-bit platforms
    a = {k: np.full(s, UNKNOWN_CELL, dtype=np.int64) for k, s in shapes.items()}  # pragma: no mutate
    for q, snap in enumerate(snapshots):
        for k in range(2):
            _fill_kind(a, q, k, snap)
        pays = snap["settlement.account_pays"].value
        a["account_mask"][q] = UNKNOWN_CELL if isinstance(pays, Unknown) else sum(
            1 << ACCOUNT_PARTS.index(str(x)) for x in _as_tuple(pays))
        a["oop_cap"][q] = _cell(snap["settlement.personal_oop_cap"].value)
        rnd = snap["settlement.rounding"].value
        if isinstance(rnd, Rounding):
            a["round_unit"][q], a["round_mode"][q] = rnd.code
        a["remote_reduction"][q] = [0, _cell(snap["remote.registered_ratio_reduction"].value),
                                    _cell(snap["remote.unregistered_ratio_reduction"].value)]
        a["category_b_bp"][q] = _cell(snap["settlement.category_b_first_self_pay"].value)
    return SettlementTable(tuple(snapshots), **a)


# -- the plan: fields of one row (see SettlementTable.plan) ---------------------------------------
(P_POOL, P_UNIT, P_MODE, P_SCOPE, P_DED, P_RED, P_NB, P_BB, P_CEIL, P_CB, P_LR, P_LC, P_LB, P_CAP,
 P_MASK) = (0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
P_UPTO: Final = 17  # MAX_BANDS band upper limits
P_RATIO: Final = P_UPTO + MAX_BANDS  # MAX_BANDS band ratios for the row's class and level
P_FIELDS: Final = P_RATIO + MAX_BANDS
N_REMOTE: Final = 3


def plan_row(q: int, k: int, c: int, lv: int, rem: int) -> int:
    """The plan row of snapshot q, kind k, class c, level lv, remote rem (the kernel's formula)."""
    return (((q * 2 + k) * _C + c) * _L + lv) * N_REMOTE + rem


def build_plan(t: SettlementTable) -> I64:
    """The plan of ``t``: a (K·2·C·L·3, P_FIELDS) int64 array, rows by :func:`plan_row`."""
    plan = np.full((t.size * 2 * _C * _L * N_REMOTE, P_FIELDS), UNKNOWN_CELL, dtype=np.int64)
    for q in range(t.size):
        for k in range(2):
            # the ceiling pool: outpatient care may count against the inpatient pool (0)
            shared = int(t.shared[q, 1])
            pool = 0 if k == 0 else (UNKNOWN_CELL if shared < 0 else (0 if shared == 1 else 1))
            p = max(pool, 0)
            for c in range(_C):
                for lv in range(_L):
                    for rem in range(N_REMOTE):
                        row = plan[plan_row(q, k, c, lv, rem)]
                        row[P_POOL], row[P_UNIT], row[P_MODE] = pool, t.round_unit[q], t.round_mode[q]
                        row[P_SCOPE] = t.ded_scope[q, k]
                        row[P_DED:P_DED + 3] = t.deductible[q, k, :, c, lv]
                        row[P_RED] = t.remote_reduction[q, rem]
                        row[P_NB], row[P_BB] = t.n_bands[q, k], t.band_basis[q, k]
                        row[P_CEIL], row[P_CB] = t.ceiling[q, p, c], t.ceiling_basis[q, p]
                        row[P_LR], row[P_LC] = t.large_ratio[q, k, c], t.large_ceiling[q, k, c]
                        row[P_LB], row[P_CAP] = t.large_basis[q, k], t.oop_cap[q]
                        row[P_MASK] = t.account_mask[q]
                        row[P_UPTO:P_UPTO + MAX_BANDS] = t.band_upto[q, k]
                        row[P_RATIO:P_RATIO + MAX_BANDS] = t.band_ratio[q, k, :, c, lv]
    return plan
