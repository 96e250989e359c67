"""Monthly contribution assessment (缴费核定): base, employer and individual amounts, routing to funds.

The rule (DOMAIN.md §2; 国发〔1998〕44号 via seed 000; regional notices in the policy files):

- **Base (缴费基数, §2.1).** The declared monthly wage, rounded by ``contribution.base_rounding``
  and clamped to ``[base_floor, base_cap]``. Published limits are used as they are (Beijing's floor is
  not 60% of cap/3, §2.1). When a region has no published limit but its average wage is known, the
  limit is derived as ``round(average_wage_monthly × base_floor_share | base_cap_share)`` and the
  explanation says "derived".
- **Unit employees (in_service).** Employer amounts per component — ``employer_rate.basic`` to the
  pooled fund, ``.maternity`` to the maternity fund, ``.large_amount`` to the large-amount fund,
  ``.local_supplement`` to the local supplement fund — and the individual ``individual_rate.basic``
  to the individual account (个人缴费全部计入个人账户), plus ``individual_fixed_premium`` (Beijing 3
  yuan/month 大额互助) to the large-amount fund. Each amount is ``round(base × rate)`` by
  ``contribution.amount_rounding``.
- **Flexible workers (flexible, §2.3).** They pay ``flexible.rate`` alone. With
  ``flexible.base_choice = fixed_options`` the base is ``round(average_wage_monthly × option)``
  (Beijing 70%: 31884/3 × 0.7 = 7439.6 → 7440 × 7% = 520.80, 京人社保发〔2022〕30号); with
  ``free_within_limits`` it is the declared wage within the limits. The contribution goes to the
  pooled fund; any account part is credited by :mod:`yibao.rules.accounts`
  (``account.flexible.credited``), so that a pooling-only scheme simply credits nothing.
- **New-form workers (new_form, §2.4, seed 002).** Like flexible workers they pay alone, at
  ``new_form.rate`` on the clamped base × ``new_form.base_share``, to the pooled fund, plus
  ``flexible.fixed_premium`` (they enroll as flexible workers today, §1).
- **Retirees.** No basic contribution; ``retiree_fixed_premium`` (Beijing 3 yuan) to the
  large-amount fund. Where a policy sets ``contribution.retiree_rate`` (0% nationally; seed 000's
  lifetime contributions, ``reforms/retiree_contribution.yaml``), :func:`retiree_contribution`
  charges it on the retiree's own monthly pension, rounded by ``amount_rounding``.
- **Employer base (§2.1).** :func:`employer_base_by_unit` sums the member bases of each unit.

Columnar API (the policy lab calls it on 10⁷ rows; one numba loop, one output allocation)::

    params = ContributionParams.from_snapshot(snapshot)        # once per region and date
    cols = assess_contributions(wage_fen, person_type, params,  # int64[n], int8[n]
                                option=None,                    # int8[n] flexible base option
                                out=None)                       # reuse a (12, n) int64 block
    cols.base_fen, cols.employer_basic_fen, ..., cols.to_pooled_fund_fen, cols.total_fen

``person_type`` codes are :data:`PERSON_TYPES` indices. A parameter that is unknown for a person type
raises :class:`~yibao.errors.UnknownParameterError` only if a row of that type is present.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from yibao.errors import InputError, NoRuleError, UnknownParameterError
from yibao.money import BP, Rounding
from yibao.policy.resolve import Snapshot
from yibao.rules._kernels import rdiv

__all__ = [
    "COLUMNS",
    "PERSON_TYPES",
    "ContributionColumns",
    "ContributionParams",
    "assess_contributions",
    "employer_base_by_unit",
    "person_type_codes",
    "retiree_contribution",
]

IntArray = npt.NDArray[np.int64]

PERSON_TYPES: tuple[str, ...] = ("in_service", "flexible", "new_form", "retiree")
IN_SERVICE, FLEXIBLE, NEW_FORM, RETIREE = range(4)

# Fields of the per-person-type parameter table the kernel reads.
(F_MODE, F_FLOOR, F_CAP, F_SHARE, F_EMP_BASIC, F_EMP_MAT, F_EMP_LARGE, F_EMP_LOCAL, F_IND_RATE,
 F_FIXED, F_IND_TO_ACCOUNT) = range(11)
N_FIELDS = 11
MODE_CLAMP, MODE_OPTION, MODE_NONE = 0, 1, 2

#: Rows of :attr:`ContributionColumns.data`, in order.
COLUMNS: tuple[str, ...] = (
    "base_fen", "employer_basic_fen", "employer_maternity_fen", "employer_large_amount_fen",
    "employer_local_supplement_fen", "individual_basic_fen", "fixed_premium_fen",
    "to_pooled_fund_fen", "to_individual_account_fen", "to_maternity_fund_fen",
    "to_large_amount_fund_fen", "to_local_supplement_fund_fen",
)
_MAX_WAGE_FEN = 10**12  # keeps base × rate far inside int64; 100 亿 yuan a month is no real wage


@dataclass(frozen=True)
class Limit:
    """A base limit in fen and whether it was derived from the average wage."""

    fen: int
    derived: bool
    keys: tuple[str, ...]


@dataclass(frozen=True)
class ContributionParams:
    """A snapshot's contribution parameters compiled for the kernel, one row per person type."""

    snap: Snapshot
    table: IntArray
    option_base_fen: IntArray
    base_rounding: Rounding
    amount_rounding: Rounding
    missing: dict[int, Exception] = field(default_factory=dict)
    used: dict[int, tuple[str, ...]] = field(default_factory=dict)
    limits: dict[str, Limit] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> ContributionParams:
        """Compile every person type; an unknown value is kept as that type's error, raised on use."""
        base_r: Rounding = snap.get("contribution.base_rounding")
        amount_r: Rounding = snap.get("contribution.amount_rounding")
        table = np.zeros((len(PERSON_TYPES), N_FIELDS), dtype=np.int64)
        table[:, F_MODE] = MODE_NONE
        table[:, F_SHARE] = BP
        options: list[int] = [0]
        missing: dict[int, Exception] = {}
        used: dict[int, tuple[str, ...]] = {}
        limits: dict[str, Limit] = {}
        builders: list[Callable[[], tuple[str, ...]]] = [
            lambda: _in_service(snap, table[IN_SERVICE], base_r, limits),
            lambda: _flexible(snap, table[FLEXIBLE], base_r, limits, options),
            lambda: _new_form(snap, table[NEW_FORM], base_r, limits),
            lambda: _retiree(snap, table[RETIREE]),
        ]
        for t, build in enumerate(builders):
            try:
                used[t] = build()
            except (UnknownParameterError, NoRuleError) as exc:
                # kept without its traceback: the traceback holds the caller's frames, and with
                # them every array a caller had in hand (the policy lab's whole year, per year)
                missing[t] = exc.with_traceback(None)
        return cls(snap, table, np.asarray(options, dtype=np.int64), base_r, amount_r, missing, used,
                   limits)


def _limit(snap: Snapshot, which: str, base_r: Rounding, limits: dict[str, Limit]) -> Limit:
    """Published limit, else derived from the average wage (DOMAIN §2.1: load, do not derive)."""
    if which in limits:
        return limits[which]
    key = f"contribution.base_{which}"
    if snap[key].known:
        lim = Limit(int(snap.get(key)), snap[key].derived, (key,))
    else:
        avg_key = "contribution.average_wage_monthly"
        share_key = f"contribution.base_{which}_share"
        if not snap[avg_key].known:
            snap.get(key)  # raises UnknownParameterError naming the published limit
        avg = int(snap.get(avg_key))
        lim = Limit(int(base_r.div(avg * int(snap.get(share_key)), BP)), True,
                    (avg_key, share_key, "contribution.base_rounding"))
    limits[which] = lim
    return lim


def _clamp_fields(row: IntArray, snap: Snapshot, base_r: Rounding,
                  limits: dict[str, Limit]) -> tuple[str, ...]:
    lo = _limit(snap, "floor", base_r, limits)
    hi = _limit(snap, "cap", base_r, limits)
    row[F_MODE], row[F_FLOOR], row[F_CAP] = MODE_CLAMP, lo.fen, hi.fen
    return (*lo.keys, *hi.keys, "contribution.base_rounding")


def _in_service(snap: Snapshot, row: IntArray, base_r: Rounding,
                limits: dict[str, Limit]) -> tuple[str, ...]:
    keys = _clamp_fields(row, snap, base_r, limits)
    rates = ("basic", "maternity", "large_amount", "local_supplement")
    for f, name in zip((F_EMP_BASIC, F_EMP_MAT, F_EMP_LARGE, F_EMP_LOCAL), rates, strict=True):
        row[f] = snap.get(f"contribution.employer_rate.{name}")
    row[F_IND_RATE] = snap.get("contribution.individual_rate.basic")
    row[F_FIXED] = snap.get("contribution.individual_fixed_premium")
    row[F_IND_TO_ACCOUNT] = 1
    return (*keys, *(f"contribution.employer_rate.{n}" for n in rates),
            "contribution.individual_rate.basic", "contribution.individual_fixed_premium")


def _flexible(snap: Snapshot, row: IntArray, base_r: Rounding, limits: dict[str, Limit],
              options: list[int]) -> tuple[str, ...]:
    choice = snap.get("contribution.flexible.base_choice")
    if choice == "fixed_options":
        avg = int(snap.get("contribution.average_wage_monthly"))
        options[:] = [int(base_r.div(avg * int(o), BP))
                      for o in snap.get("contribution.flexible.base_options")]
        row[F_MODE] = MODE_OPTION
        keys: tuple[str, ...] = ("contribution.flexible.base_choice", "contribution.average_wage_monthly",
                                 "contribution.flexible.base_options", "contribution.base_rounding")
    else:
        keys = ("contribution.flexible.base_choice", *_clamp_fields(row, snap, base_r, limits))
    row[F_IND_RATE] = snap.get("contribution.flexible.rate")
    row[F_FIXED] = snap.get("contribution.flexible.fixed_premium")
    return (*keys, "contribution.flexible.rate", "contribution.flexible.fixed_premium")


def _new_form(snap: Snapshot, row: IntArray, base_r: Rounding,
              limits: dict[str, Limit]) -> tuple[str, ...]:
    keys = _clamp_fields(row, snap, base_r, limits)
    row[F_SHARE] = snap.get("contribution.new_form.base_share")
    row[F_IND_RATE] = snap.get("contribution.new_form.rate")
    row[F_FIXED] = snap.get("contribution.flexible.fixed_premium")
    return (*keys, "contribution.new_form.base_share", "contribution.new_form.rate",
            "contribution.flexible.fixed_premium")


def _retiree(snap: Snapshot, row: IntArray) -> tuple[str, ...]:
    row[F_FIXED] = snap.get("contribution.retiree_fixed_premium")
    return ("contribution.retiree_fixed_premium",)


@dataclass(frozen=True)
class ContributionColumns:
    """The assessment of n rows: ``data[j]`` is column :data:`COLUMNS` ``[j]``, int64 fen."""

    data: IntArray

    def __getattr__(self, name: str) -> IntArray:
        try:
            j = COLUMNS.index(name)
        except ValueError:
            raise AttributeError(name) from None
        col: IntArray = self.data[j]
        return col

    @property
    def employer_total_fen(self) -> IntArray:
        out: IntArray = self.data[1:5].sum(axis=0)
        return out

    @property
    def individual_total_fen(self) -> IntArray:
        out: IntArray = self.data[5] + self.data[6]
        return out

    @property
    def total_fen(self) -> IntArray:
        """Everything assessed; equals the sum of the five routed columns."""
        out: IntArray = self.data[1:7].sum(axis=0)
        return out

    def row(self, i: int) -> dict[str, int]:
        out = {c: int(self.data[j, i]) for j, c in enumerate(COLUMNS)}
        out["employer_total_fen"] = int(self.employer_total_fen[i])
        out["individual_total_fen"] = int(self.individual_total_fen[i])
        out["total_fen"] = int(self.total_fen[i])
        return out


def _amount_py(b: int, rate: int, au: int, am: int, fast: bool) -> int:
    """round(base × rate / 10^4) to the amount rounding unit.

    ``fast`` (fen, half up: the usual rule) divides by the compile-time constant 2 × 10^4, which
    LLVM turns into a multiply and shifts; the general case divides by the runtime 10^4 × unit.
    """
    num = b * rate
    if fast and num >= 0:
        return (2 * num + BP) // (2 * BP)
    q: int = rdiv(num, BP * au, am)
    return q * au


_amount: Callable[..., int] = njit(cache=True, inline="always")(_amount_py)


def _assess_py(wage: IntArray, ptype: Any, option: Any, table: IntArray, option_base: IntArray,
               bu: int, bm: int, au: int, am: int, out: IntArray, stats: IntArray) -> None:
    """Assess every row into ``out`` (12, n); ``stats`` receives what the input checks need.

    The checks run in this same pass (reading the columns again cost a tenth of the call):
    ``stats`` = [min wage, max wage, rows per person type × 4, rows with a bad type code, rows
    with a bad flexible option]. A row with a bad type code is written as zeros and one with a
    bad option is assessed with option 0 (nothing is read out of bounds); either way the wrapper
    raises before returning, so no such row reaches a caller.
    """
    fast = au == 1 and am == 0
    n_types, n_opt = table.shape[0], option_base.shape[0]
    lo, hi, bad_type, bad_opt = np.int64(0), np.int64(0), 0, 0
    if wage.shape[0] > 0:
        lo, hi = wage[0], wage[0]
    for i in range(wage.shape[0]):
        w = wage[i]
        lo = min(lo, w)
        hi = max(hi, w)
        t = int(ptype[i])
        if t < 0 or t >= n_types:
            bad_type += 1
            for j in range(out.shape[0]):
                out[j, i] = 0
            continue
        stats[2 + t] += 1
        mode = table[t, F_MODE]
        if mode == MODE_CLAMP:
            b = rdiv(w, bu, bm) * bu
            b = min(max(b, table[t, F_FLOOR]), table[t, F_CAP])
            share = table[t, F_SHARE]
            if share != BP:
                b = rdiv(b * share, BP * bu, bm) * bu
        elif mode == MODE_OPTION:
            o = 0 if option is None else int(option[i])
            if o < 0 or o >= n_opt:
                bad_opt += 1
                o = 0
            b = option_base[o]
        else:
            b = 0
        eb = _amount(b, table[t, F_EMP_BASIC], au, am, fast)
        em = _amount(b, table[t, F_EMP_MAT], au, am, fast)
        el = _amount(b, table[t, F_EMP_LARGE], au, am, fast)
        es = _amount(b, table[t, F_EMP_LOCAL], au, am, fast)
        ind = _amount(b, table[t, F_IND_RATE], au, am, fast)
        fixed = table[t, F_FIXED]
        to_account = ind if table[t, F_IND_TO_ACCOUNT] == 1 else 0
        out[0, i] = b
        out[1, i] = eb
        out[2, i] = em
        out[3, i] = el
        out[4, i] = es
        out[5, i] = ind
        out[6, i] = fixed
        out[7, i] = eb + ind - to_account
        out[8, i] = to_account
        out[9, i] = em
        out[10, i] = el + fixed
        out[11, i] = es
    stats[0], stats[1], stats[6], stats[7] = lo, hi, bad_type, bad_opt


_assess: Callable[..., None] = njit(cache=True, nogil=True)(_assess_py)


def person_type_codes(names: Sequence[str] | str) -> npt.NDArray[np.int8]:
    """``["in_service", "retiree"]`` → int8 codes; an unknown name is a bilingual InputError."""
    seq = [names] if isinstance(names, str) else list(names)
    out = np.empty(len(seq), dtype=np.int8)
    for i, n in enumerate(seq):
        if n not in PERSON_TYPES:
            raise InputError("person_type", n, "应为 " + " / ".join(PERSON_TYPES),
                             "expected one of " + ", ".join(PERSON_TYPES))
        out[i] = PERSON_TYPES.index(n)
    return out


def _int8_codes(x: npt.ArrayLike, name: str, zh: str, en: str) -> npt.NDArray[np.int8]:
    """The kernel reads codes as int8; a wider code outside int8 must not wrap (256 → 0) into a
    valid one, nor raise a bare OverflowError: it is named like any other bad code."""
    a = np.asarray(x)
    if a.dtype != np.int8:
        wide = np.asarray(a, dtype=np.int64)
        out_of_range = (wide < -128) | (wide > 127)
        if out_of_range.any():
            raise InputError(name, int(wide[out_of_range][0]), zh, en)
        a = wide
    return np.ascontiguousarray(a, dtype=np.int8)


def _check_shapes(wage: IntArray, ptype: npt.NDArray[np.int8],
                  option: npt.NDArray[np.int8] | None) -> None:
    if wage.shape != ptype.shape or (option is not None and wage.shape != option.shape):
        shown = "-" if option is None else option.shape
        raise InputError("wage_fen/person_type", f"{wage.shape}/{ptype.shape}/{shown}",
                         "各列长度须相同", "columns must have the same length")


def _check_stats(stats: IntArray, ptype: npt.NDArray[np.int8], params: ContributionParams,
                 option: npt.NDArray[np.int8] | None) -> None:
    """Raise for bad input from the kernel's ``stats`` (see ``_assess_py``), in this order:
    wage range, person type codes, unknown parameters of a present type, flexible options."""
    lo, hi = int(stats[0]), int(stats[1])
    if lo < 0 or hi > _MAX_WAGE_FEN:
        bad = lo if lo < 0 else hi
        raise InputError("wage", f"{bad / 100:.2f}", "月工资应为非负金额（元），如 12000",
                         "the monthly wage must be a non-negative amount in yuan, e.g. 12000")
    if stats[6]:
        bad_t = ptype[(ptype < 0) | (ptype >= len(PERSON_TYPES))]
        raise InputError("person_type", int(bad_t[0]), f"代码应为 0..{len(PERSON_TYPES) - 1}",
                         f"codes are 0..{len(PERSON_TYPES) - 1}: " + ", ".join(PERSON_TYPES))
    for t, exc in params.missing.items():
        if stats[2 + t]:
            raise exc
    if stats[7] and option is not None:
        n_opt = params.option_base_fen.size
        o = option[ptype == FLEXIBLE]
        raise InputError("flexible_option", int(o[(o < 0) | (o >= n_opt)][0]),
                         f"应为 0..{n_opt - 1}（地区可选基数档）",
                         f"expected 0..{n_opt - 1} (the region's base options)")


def assess_contributions(wage_fen: npt.ArrayLike, person_type: npt.ArrayLike,
                         params: ContributionParams,
                         option: npt.ArrayLike | None = None,
                         out: IntArray | None = None) -> ContributionColumns:
    """Assess one month for n people: ``wage_fen`` int64, ``person_type`` int8 codes.

    ``option`` picks a flexible worker's base option (index into ``flexible.base_options``;
    default 0). Returns :class:`ContributionColumns` over one (12, n) int64 block; pass ``out``
    (a block from an earlier chunk of the same size) to reuse it, since at 10⁷ rows the fresh
    960 MB allocation costs more than the arithmetic.
    """
    wage = np.ascontiguousarray(wage_fen, dtype=np.int64)
    n_types, n_opt = len(PERSON_TYPES), params.option_base_fen.size
    ptype = _int8_codes(person_type, "person_type", f"代码应为 0..{n_types - 1}",
                        f"codes are 0..{n_types - 1}: " + ", ".join(PERSON_TYPES))
    # no option column: None selects the kernel's specialisation that reads option 0
    opt = None if option is None else _int8_codes(
        option, "flexible_option", f"应为 0..{n_opt - 1}（地区可选基数档）",
        f"expected 0..{n_opt - 1} (the region's base options)")
    _check_shapes(wage, ptype, opt)
    if out is None or out.shape != (len(COLUMNS), wage.shape[0]) or out.dtype != np.int64:
        out = np.empty((len(COLUMNS), wage.shape[0]), dtype=np.int64)
    bu, bm = params.base_rounding.code
    au, am = params.amount_rounding.code
    stats = np.zeros(8, dtype=np.int64)
    _assess(wage, ptype, opt, params.table, params.option_base_fen, bu, bm, au, am, out, stats)
    _check_stats(stats, ptype, params, opt)
    return ContributionColumns(out)


def retiree_contribution(snap: Snapshot, pension_fen: npt.ArrayLike) -> IntArray:
    """One month's contribution of retirees on their own pension: ``pension × retiree_rate``,
    rounded by ``contribution.amount_rounding`` (module docstring)."""
    pension = np.asarray(pension_fen, dtype=np.int64)
    if pension.size and int(pension.min()) < 0:
        raise InputError("pension_fen", int(pension.min()), "养老金不能为负",
                         "a pension must not be negative")
    rate: int = snap.get("contribution.retiree_rate")
    rounding: Rounding = snap.get("contribution.amount_rounding")
    if rate == 0:
        return np.zeros(pension.shape, dtype=np.int64)
    out: IntArray = rounding.div(pension * rate, BP)
    return out


def employer_base_by_unit(unit_index: npt.ArrayLike, base_fen: npt.ArrayLike, n_units: int) -> IntArray:
    """The employer base of each unit as the sum of its members' bases (DOMAIN §2.1), exact int64."""
    idx = np.asarray(unit_index, dtype=np.int64)
    base = np.asarray(base_fen, dtype=np.int64)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n_units):
        raise InputError("unit_index", int(idx.max()), f"应为 0..{n_units - 1}",
                         f"expected 0..{n_units - 1}")
    out = np.zeros(n_units, dtype=np.int64)
    np.add.at(out, idx, base)
    return out
