"""Invariants of the settlement kernel over generated claim sequences (hypothesis).

Money is conserved to the fen; the pooled ceiling and the large-amount limit are never exceeded;
a batch equals claims settled one by one; chunking does not matter; a claim that raises (needs
an unknown parameter) changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.policy.registry import Registry
from yibao.rules.settlement import (
    Accumulators,
    ClaimColumns,
    SettlementColumns,
    SettlementTable,
    compile_settlement_table,
    settle_batch,
    year_key,
)
from yibao.rules.settlement_kernel import ACC_COLUMNS, OUT_COLUMNS
from yibao.rules.settlement_params import NO_LIMIT

FIX = Path(__file__).parent / "fixtures" / "settlement"
REG = Registry(policy_files=[FIX / "fund_basis.yaml"])
# (region, date): cost-basis bands and ceiling (Beijing 2022, 2023 outpatient on fund payment),
# a shared ceiling (Shanghai), fund-basis everything with yuan rounding (fixture)
CASES = [("beijing", dt.date(2022, 6, 1)), ("beijing", dt.date(2023, 6, 1)),
         ("shanghai", dt.date(2023, 9, 1)), ("fund_basis", dt.date(2023, 6, 1))]
POLICIES = [REG.policy(r) for r, _ in CASES]
TABLE = compile_settlement_table([p.at(d) for p, (_, d) in zip(POLICIES, CASES, strict=True)])
YEARS = [year_key(p, d) for p, (_, d) in zip(POLICIES, CASES, strict=True)]
PERSONS = 3

claim = st.fixed_dictionaries({
    "psn": st.integers(0, PERSONS - 1),
    "kind": st.integers(0, 1),
    "cls": st.sampled_from([0, 2, 3]),  # in_service, retired, retired_senior
    "level": st.integers(2, 4),  # level_1 .. level_3
    "share": st.sampled_from([0, 5000, 10_000]),
    "total": st.integers(0, 80_000_000),  # up to 800000 yuan
    "parts": st.tuples(st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000)),
    "bal": st.integers(0, 2_000_000),
    "mbal": st.integers(0, 500_000),
})
case = st.integers(0, len(CASES) - 1)


def columns(rows: list[dict[str, object]], q: int) -> ClaimColumns:
    n = len(rows)
    total = np.array([r["total"] for r in rows], dtype=np.int64)
    parts = np.array([r["parts"] for r in rows], dtype=np.int64)  # per-mille shares of the total
    ful = total * parts[:, 0] // 3000 if n else total
    over = total * parts[:, 1] // 3000 if n else total
    pre = total * parts[:, 2] // 3000 if n else total
    return ClaimColumns(
        psn=[r["psn"] for r in rows], param=[q] * n, year=[YEARS[q]] * n,
        kind=[r["kind"] for r in rows], benefit_class=[r["cls"] for r in rows],
        level=[r["level"] for r in rows], remote=[0] * n, share_bp=[r["share"] for r in rows],
        total=total, full_self_pay=ful, over_limit=over, preselfpay=pre,
        account_balance=[r["bal"] for r in rows], mulaid_balance=[r["mbal"] for r in rows])


def run(cols: ClaimColumns, table: SettlementTable = TABLE,
        acc: Accumulators | None = None) -> tuple[SettlementColumns, Accumulators]:
    acc = acc or Accumulators.zeros(PERSONS)
    return settle_batch(cols, table, acc), acc


def ok_rows(res: SettlementColumns) -> np.ndarray:
    return res.status == 0


@settings(max_examples=150, deadline=None)
@given(case, st.lists(claim, max_size=12))
def test_money_is_conserved_to_the_fen(q: int, rows: list[dict[str, object]]) -> None:
    cols = columns(rows, q)
    res, _ = run(cols)
    ok = ok_rows(res)
    paid = res.hifp_pay + res.hifob_pay + res.acct_pay + res.acct_mulaid_pay + res.psn_cash_pay
    assert np.array_equal(paid[ok], cols.total[ok])
    assert (res.psn_cash_pay[ok] >= 0).all() and (res.hifp_pay >= 0).all()
    assert (res.acct_pay[ok] <= cols.account_balance[ok]).all()


@settings(max_examples=150, deadline=None)
@given(case, st.lists(claim, max_size=12))
def test_pooled_ceiling_and_large_limit_are_never_exceeded(q: int, rows: list[dict[str, object]]
                                                          ) -> None:
    cols = columns(rows, q)
    res, acc = run(cols)
    names = list(ACC_COLUMNS)
    for pool, kind in ((0, "inpatient"), (1, "outpatient")):
        ceiling = TABLE.ceiling[q, pool]
        basis = TABLE.ceiling_basis[q, pool]
        for p in range(PERSONS):
            mine = (cols.psn == p) & (res.status == 0)
            cls_seen = {int(c) for c in cols.benefit_class[mine]}
            for c in cls_seen:
                if ceiling[c] == NO_LIMIT or basis != 1:
                    continue
                assert acc.data[p, names.index(f"pool_{kind}_hifp_cum")] <= ceiling[c]
            lim = TABLE.large_ceiling[q, pool]
            for c in cls_seen:
                if lim[c] == NO_LIMIT or lim[c] < 0:
                    continue
                col = "cost" if TABLE.large_basis[q, pool] == 0 else "paid"
                assert acc.data[p, names.index(f"large_{kind}_{col}_cum")] <= lim[c]


@settings(max_examples=100, deadline=None)
@given(case, st.lists(claim, max_size=10))
def test_batch_equals_one_by_one(q: int, rows: list[dict[str, object]]) -> None:
    batch, acc_b = run(columns(rows, q))
    acc_1 = Accumulators.zeros(PERSONS)
    singles = [run(columns([r], q), acc=acc_1)[0] for r in rows]
    if rows:
        assert [s.row(0) for s in singles] == [batch.row(i) for i in range(len(rows))]
    assert np.array_equal(acc_1.data, acc_b.data)


@settings(max_examples=100, deadline=None)
@given(case, st.lists(claim, max_size=12), st.data())
def test_chunking_does_not_change_results(q: int, rows: list[dict[str, object]],
                                          data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(rows)))
    whole, acc_w = run(columns(rows, q))
    acc_c = Accumulators.zeros(PERSONS)
    a, _ = run(columns(rows[:cut], q), acc=acc_c)
    b, _ = run(columns(rows[cut:], q), acc=acc_c)
    assert np.array_equal(np.concatenate([a.out, b.out]), whole.out)
    assert [a.row(i) for i in range(cut)] + [b.row(i) for i in range(len(rows) - cut)] == [
        whole.row(i) for i in range(len(rows))]
    assert np.array_equal(acc_c.data, acc_w.data)


@settings(max_examples=100, deadline=None)
@given(st.lists(claim, max_size=12))
def test_a_claim_that_raises_changes_nothing(rows: list[dict[str, object]]) -> None:
    """fund_basis.yaml leaves the retirees' large-amount ratio unknown: retirees' claims that
    reach it fail; settling the sequence equals settling it without them."""
    q = 3
    res, acc = run(columns(rows, q))
    kept = [r for r, s in zip(rows, res.status, strict=True) if s == 0]
    again, acc_k = run(columns(kept, q))
    assert np.array_equal(acc.data, acc_k.data)
    assert np.array_equal(res.out[res.status == 0], again.out)
    ok = np.flatnonzero(res.status == 0)
    assert [res.row(int(i)) for i in ok] == [again.row(i) for i in range(len(ok))]
    for i in np.flatnonzero(res.status != 0):
        assert not any(res.row(int(i))[c] for c in OUT_COLUMNS if c != "status")


def test_the_fixture_really_has_claims_that_raise() -> None:
    """Guard for the property above: a retiree's 200000 admission reaches the unknown ratio."""
    rows = [{"psn": 0, "kind": 0, "cls": 2, "level": 4, "share": 10_000, "total": 20_000_000,
             "parts": (0, 0, 0), "bal": 0, "mbal": 0}]
    res, acc = run(columns(rows, 3))  # type: ignore[arg-type]
    assert res.status[0] != 0 and not acc.data.any()
