"""Claim settlement (结算), inpatient and general outpatient, against benefit-year accumulators.

One implementation serves one claim and ten million: :func:`settle_batch` runs the numba kernel
(:mod:`yibao.rules.settlement_kernel`) over int64 fen columns; :func:`settle_claims` is the same
call for a few claims, with a trace that becomes an :class:`~yibao.rules.explain.Explanation`.

Rule (DOMAIN.md §4.1–§4.6, §4.9; the settlement issue), per claim in service order, against the
person's accumulators for the claim's benefit year (reset when the year key changes; the key is
:func:`~yibao.policy.resolve.benefit_year_start` as ``yyyymmdd``):

1. ``inscp_scp_amt = medfee_sumamt − fulamt_ownpay_amt − overlmt_selfpay − preselfpay_amt``. A
   category-B amount may replace ``preselfpay_amt``: ``round(cat_b × category_b_first_self_pay)``
   (DOMAIN §4.5). Components above the total, or negative, are an InputError.
2. Deductible ``act_pay_dedc`` (起付线, §4.2): ``per_admission`` → the nth admission's amount of
   the year (first, second, third_plus), ``min(inscp, amount)``; ``per_year`` →
   ``min(inscp, first − deductible used this year)``.
3. The rest walks segments: pooled bands (分段), then the large-amount segment (大额), then
   self-pay above it. Band measure: ``band_basis=cost`` → the year's cumulative in-scope cost
   including deductible portions (Beijing's bands start at its deductible); ``fund_payment`` →
   the year's cumulative pooled payment (Beijing outpatient from 2023). Pooled ceiling
   (封顶线, §4.4): ``ceiling_basis=cost`` → cumulative in-scope cost reaching it ends the pooled
   segment (Beijing 100000); ``fund_payment`` → cumulative pooled payment cannot exceed it
   (Shanghai 610000). Outpatient care with ``ceiling_shared_with_inpatient`` counts in, and is
   checked against, the inpatient pool (Shanghai: one ceiling for both). Large segment: ratio
   by class; limit on its own cumulative cost or payment; ``none`` = no limit.
   A chunk of cost c at ratio r pays ``round(c × r × share / 10^8)`` by ``settlement.rounding``,
   where r = max(0, band ratio − remote reduction) and share = ``benefit_share_bp`` (10000
   normally; 5000 in a Fujian-style reduced-benefit wait; 0 = not eligible, the fund pays
   nothing while costs still count). When a fund-basis limit binds mid-chunk, the fund pays
   exactly the room left and the cost consumed is ``ceil(room × 10^8 / (r × share))``.
4. ``hifp_pay`` = pooled total, ``hifob_pay`` = large-amount total, ``fund_pay_sumamt`` = both,
   ``psn_part_amt = medfee_sumamt − fund_pay_sumamt``; ``pool_prop_selfpay`` is the pooled
   ratio of the last pooled chunk (基本医疗保险统筹基金支付比例, a 5,4 number in the platform's
   2207/2304 output).
5. ``personal_oop_cap`` (§4.9, optional): when the year's personal in-scope burden (deductible
   + coinsurance + over-ceiling cost) would exceed it, the pooled fund pays the excess (outside
   the pooled ceiling: that is the point of the cap), taken first from over-ceiling cost, then
   coinsurance, then deductible.
6. Account (§3.3): payable = the parts listed in ``settlement.account_pays``;
   ``acct_pay = min(payable, balance)``; ``acct_mulaid_pay = min(payable − acct_pay, family
   mutual-aid balance)``; ``psn_cash_pay`` = the rest; ``balc = balance − acct_pay``.

A parameter recorded as unknown is compiled as -1; a claim that needs such a cell is skipped by
the kernel (its accumulators untouched, status set) and :meth:`SettlementColumns.raise_first_error`
raises :class:`~yibao.errors.UnknownParameterError` naming the key and class/level, e.g.
``settlement.inpatient.large_amount.ratio[retired]``. A claim that does not need it settles.

Interfaces (stable): :class:`ClaimColumns`, :class:`Accumulators`,
:func:`~yibao.rules.settlement_params.compile_settlement_table`, :func:`settle_batch` →
:class:`SettlementColumns`; :class:`Claim` and :func:`settle_claims` for a few claims with
explanations. Columns are numpy arrays; money is int64 fen, ratios int basis points.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError, UnknownParameterError, YibaoError
from yibao.money import BP, Rounding
from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.resolve import Policy, Snapshot, benefit_year_start
from yibao.rules.explain import Explanation
from yibao.rules.settlement_kernel import (
    ACC_COLUMNS,
    KERNEL_COLUMNS,
    MAX_AMOUNT_FEN,
    NACC,
    OUT_COLUMNS,
    OUT_DTYPE,
    PKEYS,
    STATUS_BAD_INDEX,
    STATUS_BAD_SHARE,
    STATUS_INCONSISTENT,
    STATUS_NEGATIVE,
    STATUS_TOO_LARGE,
    STATUS_UNKNOWN_BASE,
    TRACE_FIELDS,
    TRACE_STEPS,
    settle_kernel,
)
from yibao.rules.settlement_params import KINDS, SettlementTable, compile_settlement_table

__all__ = [
    "ACC_COLUMNS",
    "KINDS",
    "MAX_AMOUNT_FEN",
    "OUT_COLUMNS",
    "OUT_DTYPE",
    "REMOTE",
    "Accumulators",
    "Claim",
    "ClaimColumns",
    "ClaimResult",
    "SettlementColumns",
    "SettlementTable",
    "compile_settlement_table",
    "settle_batch",
    "settle_claims",
    "year_key",
]

REMOTE: Final[tuple[str, ...]] = ("local", "registered", "unregistered")

I64 = npt.NDArray[np.int64]


def year_key(policy: Policy, date: dt.date) -> int:
    """The benefit-year key of ``date``: the year's first day as ``yyyymmdd``."""
    d = benefit_year_start(policy, date)
    return d.year * 10_000 + d.month * 100 + d.day


@dataclass
class ClaimColumns:
    """Claims as columns, in service order within each person (see the module docstring)."""

    psn: npt.NDArray[np.integer[Any]]  # person index into the accumulators: int32 (int64 if needed)
    param: npt.NDArray[np.integer[Any]]  # snapshot index into the SettlementTable: int16 (int32)
    year: npt.NDArray[np.int32]  # benefit-year key yyyymmdd
    kind: npt.NDArray[np.int8]  # 0 inpatient, 1 outpatient
    benefit_class: npt.NDArray[np.int8]  # index into BENEFIT_CLASSES
    level: npt.NDArray[np.int8]  # index into LEVELS
    remote: npt.NDArray[np.int8]  # 0 local, 1 registered remote, 2 unregistered remote
    share_bp: npt.NDArray[np.int16]  # benefit share, 10000 = full benefits
    total: I64  # medfee_sumamt
    full_self_pay: I64  # fulamt_ownpay_amt
    over_limit: I64  # overlmt_selfpay
    preselfpay: I64  # preselfpay_amt
    account_balance: I64
    mulaid_balance: I64

    def __post_init__(self) -> None:
        for name, dtype in _CLAIM_DTYPES.items():
            col = getattr(self, name)
            if name in _WIDER:  # narrow only if every value fits, so no index wraps round
                col = np.asarray(col)
                if col.dtype != dtype and col.size and not _fits(col, dtype):
                    dtype = _WIDER[name]
            setattr(self, name, np.ascontiguousarray(col, dtype=dtype))
        n = len(self.psn)
        for name in _CLAIM_DTYPES:
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, psn has {n}")

    def __len__(self) -> int:
        return len(self.psn)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, n).nbytes for n in _CLAIM_DTYPES)

    def validate(self, table: SettlementTable, n_persons: int) -> None:
        """Raise a bilingual InputError for the first row outside what the kernel accepts.

        Optional: the kernel checks every row itself (status codes); this names the field.
        """
        money = ("total", "full_self_pay", "over_limit", "preselfpay", "account_balance",
                 "mulaid_balance")
        for name in money:
            col = getattr(self, name)
            _check(col < 0, col, name, "金额不能为负", "amounts must not be negative")
            _check(col > MAX_AMOUNT_FEN, col, name, "单笔金额不超过 1 亿元",
                   "a claim's amounts are at most 100,000,000 yuan")
        parts = self.full_self_pay + self.over_limit + self.preselfpay
        _check(parts > self.total, parts, "fulamt_ownpay_amt+overlmt_selfpay+preselfpay_amt",
               "全自费、超限价与先行自付之和不能超过医疗费总额",
               "full self-pay + over-limit + pre-self-pay must not exceed medfee_sumamt")
        _check((self.psn < 0) | (self.psn >= n_persons), self.psn, "psn",
               f"人员下标应在 0..{n_persons - 1}", f"person index must be in 0..{n_persons - 1}")
        _check((self.param < 0) | (self.param >= table.size), self.param, "param",
               f"参数下标应在 0..{table.size - 1}", f"parameter index must be in 0..{table.size - 1}")
        for name, size in (("kind", 2), ("benefit_class", len(BENEFIT_CLASSES)),
                           ("level", len(LEVELS)), ("remote", len(REMOTE))):
            col = getattr(self, name)
            _check((col < 0) | (col >= size), col, name, f"应在 0..{size - 1}",
                   f"must be in 0..{size - 1}")
        _check((self.share_bp < 0) | (self.share_bp > BP), self.share_bp, "benefit_share_bp",
               "待遇比例应在 0..10000 基点", "benefit share must be 0..10000 bp")


# Narrow index columns: fewer bytes to read per claim (docs/performance.md); money stays int64.
_CLAIM_DTYPES: Final[dict[str, type]] = {
    "psn": np.int32, "param": np.int16, "year": np.int32, "kind": np.int8,
    "benefit_class": np.int8, "level": np.int8, "remote": np.int8, "share_bp": np.int16,
    "total": np.int64, "full_self_pay": np.int64, "over_limit": np.int64,
    "preselfpay": np.int64, "account_balance": np.int64, "mulaid_balance": np.int64,
}


_WIDER: Final[dict[str, type]] = {"psn": np.int64, "param": np.int64}


def _fits(col: npt.NDArray[Any], dtype: type) -> bool:
    info = np.iinfo(dtype)
    return bool(int(col.min()) >= info.min and int(col.max()) <= info.max)


def _check(bad: npt.NDArray[np.bool_], col: npt.NDArray[np.integer[Any]], name: str, zh: str,
           en: str) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{name}[{i}]", int(col[i]), zh, en)


@dataclass
class Accumulators:
    """Benefit-year accumulators, one row per person, columns :data:`ACC_COLUMNS` (fen/counts)."""

    data: I64

    @classmethod
    def zeros(cls, n_persons: int) -> Accumulators:
        return cls(np.zeros((n_persons, NACC), dtype=np.int64))

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def copy(self) -> Accumulators:
        return Accumulators(self.data.copy())

    def person(self, i: int) -> dict[str, int]:
        return {name: int(v) for name, v in zip(ACC_COLUMNS, self.data[i], strict=True)}


@dataclass
class SettlementColumns:
    """Settled claims: every column of :data:`OUT_COLUMNS` as an attribute (fen, bp, status).

    ``out`` is the kernel's record array (:data:`OUT_DTYPE`, one 64-byte row per claim). The
    columns the kernel does not write are derived from it and the claims on use, exactly:
    ``inscp_scp_amt = total − full self-pay − over-limit − preselfpay``, ``coinsurance = inscp −
    deductible − over-ceiling − (hifp − oop) − hifob`` and ``psn_cash_pay = total − hifp − hifob
    − acct − mutual aid``; all three are 0 on a row that did not settle (status ≠ 0), like every
    other column.
    """

    out: npt.NDArray[np.void]
    trace: I64  # (n, TRACE_STEPS, fields), or (0, ...) when no trace was asked for
    claims: ClaimColumns
    first_error: int | None = None  # the kernel's first unsettled row, -1 if none; None: scan

    def __getattr__(self, name: str) -> npt.NDArray[Any]:
        if name in KERNEL_COLUMNS:
            col: npt.NDArray[Any] = self.out[name]
            return col
        raise AttributeError(name)

    def _settled(self, values: I64) -> I64:
        out: I64 = np.where(self.out["status"] == 0, values, 0)
        return out

    @property
    def inscp_scp_amt(self) -> I64:
        c = self.claims
        return self._settled(c.total - c.full_self_pay - c.over_limit - c.preselfpay)

    @property
    def coinsurance(self) -> I64:
        o = self.out
        out: I64 = (self.inscp_scp_amt - o["act_pay_dedc"] - o["over_ceiling"]
                    - (o["hifp_pay"] - o["oop_cap_pay"]) - o["hifob_pay"])
        return out

    @property
    def psn_cash_pay(self) -> I64:
        o = self.out
        return self._settled(self.claims.total - o["hifp_pay"] - o["hifob_pay"] - o["acct_pay"]
                             - o["acct_mulaid_pay"])

    def fund_pay_sumamt(self) -> I64:
        out: I64 = self.out["hifp_pay"] + self.out["hifob_pay"]
        return out

    def column(self, name: str) -> npt.NDArray[Any]:
        """One column of :data:`OUT_COLUMNS` by name."""
        if name not in OUT_COLUMNS:
            raise AttributeError(name)
        col: npt.NDArray[Any] = getattr(self, name)
        return col

    def row(self, i: int) -> dict[str, int]:
        """Every column of claim ``i`` as Python ints."""
        return {name: int(self.column(name)[i]) for name in OUT_COLUMNS}

    def error_rows(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.out["status"])

    def raise_first_error(self, table: SettlementTable, claims: ClaimColumns) -> None:
        """Raise the error of the first claim the kernel could not settle (if any)."""
        if self.first_error is None:
            rows = self.error_rows()
            first = int(rows[0]) if len(rows) else -1
        else:
            first = self.first_error  # the kernel's answer saves a pass over status
        if first >= 0:
            i = first
            st = int(self.out["status"][i])
            if st in _INPUT_STATUS:
                raise _row_input_error(claims, i, st)
            raise status_error(st, table.snapshots[int(claims.param[i])], i)


_MONEY_COLUMNS: Final = ("total", "full_self_pay", "over_limit", "preselfpay", "account_balance",
                         "mulaid_balance")
_INPUT_STATUS: Final = {STATUS_NEGATIVE, STATUS_TOO_LARGE, STATUS_BAD_INDEX, STATUS_BAD_SHARE}


def _row_input_error(claims: ClaimColumns, i: int, status: int) -> InputError:
    """The InputError of row ``i`` for an input status of the kernel, naming the field."""
    if status == STATUS_NEGATIVE:
        name = next(n for n in _MONEY_COLUMNS if getattr(claims, n)[i] < 0)
        return InputError(f"{name}[{i}]", int(getattr(claims, name)[i]), "金额不能为负",
                          "amounts must not be negative")
    if status == STATUS_TOO_LARGE:
        name = next(n for n in _MONEY_COLUMNS if getattr(claims, n)[i] > MAX_AMOUNT_FEN)
        return InputError(f"{name}[{i}]", int(getattr(claims, name)[i]), "单笔金额不超过 1 亿元",
                          "a claim's amounts are at most 100,000,000 yuan")
    if status == STATUS_BAD_SHARE:
        return InputError(f"benefit_share_bp[{i}]", int(claims.share_bp[i]),
                          "待遇比例应在 0..10000 基点", "benefit share must be 0..10000 bp")
    shown = {n: int(getattr(claims, n)[i]) for n in ("psn", "param", "kind", "benefit_class",
                                                     "level", "remote")}
    return InputError(f"row {i}", shown, "下标超出范围（人员、参数表、类别、等级或异地）",
                      "an index is out of range (person, snapshot, kind, class, level or remote)")


def status_error(status: int, snap: Snapshot, row: int) -> YibaoError:
    """The error a kernel status code stands for."""
    if status == STATUS_INCONSISTENT:
        return InputError(f"inscp_scp_amt[{row}]", status, "费用分项之和超过医疗费总额",
                          "fee components exceed medfee_sumamt")
    code = status - STATUS_UNKNOWN_BASE
    lv, code = code % 8, code // 8
    c, code = code % 8, code // 8
    band, code = code % 8, code // 8
    kind, pkey = code % 2, code // 2
    name = PKEYS[pkey]
    if name.startswith(("settlement.", "remote.")):
        key, where = name, ""
    else:
        key = f"settlement.{KINDS[kind]}.{name.removesuffix('.ratio') if name == 'bands.ratio' else name}"
        cls, lev = BENEFIT_CLASSES[c], LEVELS[lv]
        where = {"deductible.first": f"[{cls}][{lev}]", "deductible.second": f"[{cls}][{lev}]",
                 "deductible.third_plus": f"[{cls}][{lev}]",
                 "bands.ratio": f"[{band}].ratio[{cls}][{lev}]", "pooled_ceiling": f"[{cls}]",
                 "large_amount.ratio": f"[{cls}]", "large_amount.ceiling": f"[{cls}]"}.get(name, "")
    return UnknownParameterError(snap.policy.label, f"{key}{where}", snap.date,
                                 snap[key].note or "")


def settle_batch(claims: ClaimColumns, table: SettlementTable, acc: Accumulators,
                 trace: bool = False, out: npt.NDArray[np.void] | None = None
                 ) -> SettlementColumns:
    """Settle ``claims`` in row order, updating ``acc`` in place; see the module docstring.

    Rows the kernel cannot settle (bad input, or an unknown parameter needed) get a non-zero
    ``status`` and leave the accumulators untouched; call
    :meth:`SettlementColumns.raise_first_error` to raise. The kernel checks every row itself;
    :meth:`ClaimColumns.validate` is there for callers that want the field named up front.
    Chunking is free: settling rows [0, a) then [a, n) with the same ``acc`` equals one call.
    ``out`` (n records of :data:`OUT_DTYPE`, e.g. the ``.out`` of an earlier chunk of the same
    size) may be a reused buffer: streaming chunks through one buffer avoids touching fresh
    memory for every chunk, which costs more than the settlement itself.
    """
    n = len(claims)
    if out is None:
        out = np.empty(n, dtype=OUT_DTYPE)
    elif out.shape != (n,) or out.dtype != OUT_DTYPE or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous array of {n} OUT_DTYPE records")
    # no trace: None selects the kernel's specialisation without trace records
    tr = np.zeros((n, TRACE_STEPS, len(TRACE_FIELDS)), dtype=np.int64) if trace else None
    first_error = settle_kernel(
        claims.psn, claims.param, claims.year, claims.kind, claims.benefit_class, claims.level,
        claims.remote, claims.share_bp, claims.total, claims.full_self_pay, claims.over_limit,
        claims.preselfpay, claims.account_balance, claims.mulaid_balance, acc.data, out, tr,
        table.plan, table.size)
    if tr is None:
        tr = np.zeros((0, TRACE_STEPS, len(TRACE_FIELDS)), dtype=np.int64)
    return SettlementColumns(out, tr, claims, int(first_error))


@dataclass(frozen=True)
class Claim:
    """One claim as a policy reader states it; amounts in fen."""

    date: dt.date
    kind: str  # "inpatient" | "outpatient"
    benefit_class: str  # one of BENEFIT_CLASSES
    level: str  # one of LEVELS
    total_fen: int
    full_self_pay_fen: int = 0
    over_limit_fen: int = 0
    preselfpay_fen: int | None = None
    category_b_fen: int | None = None  # 乙类 amount, when preselfpay is not given
    remote: str = "local"  # one of REMOTE
    benefit_share_bp: int = BP
    account_balance_fen: int = 0
    mulaid_balance_fen: int = 0
    person: int = 0  # index into the accumulators


@dataclass(frozen=True)
class ClaimResult:
    """The settled amounts (fen) of one claim, its snapshot and its explanation."""

    claim: Claim
    snapshot: Snapshot
    preselfpay_fen: int
    amounts: dict[str, int]
    explanation: Explanation


def _preselfpay(claim: Claim, snap: Snapshot) -> int:
    if claim.preselfpay_fen is not None:
        return claim.preselfpay_fen
    if claim.category_b_fen is None:
        return 0
    bp = snap.get("settlement.category_b_first_self_pay")
    rounding: Rounding = snap.get("settlement.rounding")
    return int(rounding.div(claim.category_b_fen * bp, BP))


def _index(value: str, names: Sequence[str], field: str) -> int:
    if value not in names:
        raise InputError(field, value, f"应为之一：{', '.join(names)}", f"expected one of {', '.join(names)}")
    return list(names).index(value)


def settle_claims(policy: Policy, claims: Sequence[Claim], acc: Accumulators) -> list[ClaimResult]:
    """Settle a few claims (in order) with explanations; raise on the first that cannot settle.

    Uses :func:`settle_batch` with a trace. On an error, ``acc`` is left as it was before the
    call (the batch runs on a copy that is committed only if every claim settled).
    """
    from yibao.rules.settlement_explain import explain_claim

    dates = sorted({c.date for c in claims})
    snaps = [policy.at(d) for d in dates]
    table = compile_settlement_table(snaps)
    pre = [_preselfpay(c, snaps[dates.index(c.date)]) for c in claims]
    cols = ClaimColumns(
        psn=np.array([c.person for c in claims]),
        param=np.array([dates.index(c.date) for c in claims]),
        year=np.array([year_key(policy, c.date) for c in claims]),
        kind=np.array([_index(c.kind, KINDS, "kind") for c in claims]),
        benefit_class=np.array([_index(c.benefit_class, BENEFIT_CLASSES, "benefit_class")
                                for c in claims]),
        level=np.array([_index(c.level, LEVELS, "hosp_lv") for c in claims]),
        remote=np.array([_index(c.remote, REMOTE, "remote") for c in claims]),
        share_bp=np.array([c.benefit_share_bp for c in claims]),
        total=np.array([c.total_fen for c in claims]),
        full_self_pay=np.array([c.full_self_pay_fen for c in claims]),
        over_limit=np.array([c.over_limit_fen for c in claims]),
        preselfpay=np.array(pre),
        account_balance=np.array([c.account_balance_fen for c in claims]),
        mulaid_balance=np.array([c.mulaid_balance_fen for c in claims]),
    )
    work = acc.copy()
    res = settle_batch(cols, table, work, trace=True)
    res.raise_first_error(table, cols)
    acc.data[:] = work.data
    out: list[ClaimResult] = []
    columns = {name: res.column(name) for name in OUT_COLUMNS}  # derived columns once
    for i, c in enumerate(claims):
        snap = snaps[int(cols.param[i])]
        amounts = {name: int(col[i]) for name, col in columns.items()}
        expl = explain_claim(snap, c, pre[i], amounts, res.trace[i])
        out.append(ClaimResult(c, snap, pre[i], amounts, expl))
    return out
