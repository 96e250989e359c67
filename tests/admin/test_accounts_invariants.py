"""Invariants of payments, refunds, write-offs and account payments over random operation sequences
(hypothesis), and concurrency on PostgreSQL: parallel account payments never overdraw, parallel
payments from one payer never allocate the same fen twice.

What must hold after every operation, refused or not (ARCHITECTURE: the ledger is the truth):
every transfer sums to zero and the whole ledger too; no individual account is negative at any
date; the payer's receivable = open months' outstanding − payments' unallocated; deferred
contributions = totals of months neither recognised nor written off; cash = payments − refunds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session
from test_pay_support import assess, employer, enroll, fund_account, link, person

from yibao.admin import accounts, ledger, payments
from yibao.admin.ledger import InsufficientBalance
from yibao.admin.uow import SYSTEM, run
from yibao.db.base import Base
from yibao.db.models.contribution import ContributionMonth, Payment, PaymentAllocation
from yibao.db.models.ledger import LedgerTransfer
from yibao.errors import InputError

BJ = "110000"
MONTHS = (202401, 202402, 202403)


def _reset(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        for t in reversed(Base.metadata.sorted_tables):
            if t.name != "region":
                s.execute(delete(t))


def _world(engine: Engine) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        emp = employer(s)
        staff = [person(s, dt.date(1970 + 10 * i, 1, 1)) for i in range(2)]
        ens = [enroll(s, p, BJ, "in_service", emp) for p in staff]
        cms = [assess(s, en, m, 800_000 + 100_000 * i).id for i, en in enumerate(ens) for m in MONTHS]
        child = person(s, dt.date(2016, 1, 1))
        link(s, staff[0], child, "child", dt.date(2020, 1, 1))
        fund_account(s, BJ, staff[1].id, 5_000, dt.date(2024, 1, 1), "seed")
        return {"employer": emp.id, "staff": [p.id for p in staff], "child": child.id, "cms": cms}
    return run(engine, step)


def _check(engine: Engine, ids: dict[str, Any]) -> None:
    with Session(engine) as s:
        rep = accounts.verify_ledger(s)
        assert rep.ok, rep.as_dict()
        cms = list(s.scalars(select(ContributionMonth)))
        pays = list(s.scalars(select(Payment)))
        rec = ledger.balance(s, ledger.account(s, BJ, "employer_receivable", ids["employer"]))
        outstanding = sum(c.total_fen - c.paid_fen for c in cms if c.status in payments.OPEN)
        unallocated = sum(p.unallocated_fen for p in pays if p.kind == "payment")
        assert rec == outstanding - unallocated
        deferred = ledger.balance(s, ledger.account(s, BJ, "contribution_deferred"))
        assert deferred == sum(c.total_fen for c in cms if not c.recognised and c.status != "written_off")
        paid_in = sum(p.amount_fen for p in pays if p.kind == "payment")
        refunded = sum(p.amount_fen for p in pays if p.kind == "refund")
        assert ledger.balance(s, ledger.account(s, BJ, "cash")) == paid_in - refunded
        allocated = int(s.scalar(select(func.coalesce(func.sum(PaymentAllocation.amount_fen), 0))) or 0)
        assert allocated + unallocated + refunded == paid_in
        for c in cms:
            assert 0 <= c.paid_fen <= c.total_fen
            assert (c.status == "paid") == (c.paid_fen == c.total_fen) == c.recognised
            assert (c.status == "partial") == (0 < c.paid_fen < c.total_fen)


OPS = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 400_000), st.sampled_from([None, *MONTHS])),
    st.tuples(st.just("refund"), st.integers(1, 60_000), st.none()),
    st.tuples(st.just("account"), st.integers(1, 30_000), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("write_off"), st.integers(0, 5), st.none()),
    st.tuples(st.just("apply"), st.none(), st.none()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(OPS, min_size=1, max_size=10))
@example(ops=[("pay", 300_000, None), ("account", 1_000, 2), ("pay", 400_000, None),
              ("refund", 20_000, None), ("write_off", 5, None), ("pay", 10_000, 202403),
              ("refund", 60_000, None), ("apply", None, None), ("account", 30_000, 1),
              ("account", 30_000, 0)])
def test_property_random_money_operations_keep_the_ledger_sound(engine: Engine,
                                                                ops: list[tuple[str, Any, Any]]) -> None:
    _reset(engine)
    ids = _world(engine)
    day = dt.date(2024, 4, 1)
    for i, (op, amount, arg) in enumerate(ops):
        day += dt.timedelta(days=1)

        def step(s: Session, op: str = op, amount: Any = amount, arg: Any = arg, i: int = i,
                 day: dt.date = day) -> None:
            if op == "pay":
                payments.record_payment(s, SYSTEM, BJ, "employer", ids["employer"], amount, day, f"B{i}",
                                        months=[arg] if arg else None)
            elif op == "refund":
                payments.refund(s, SYSTEM, BJ, amount, day, f"R{i}", payer_kind="employer",
                                payer_id=ids["employer"])
            elif op == "account":
                holder = ids["staff"][min(arg, 1)]
                accounts.pay_from_account(s, SYSTEM, BJ, holder, amount, "pharmacy", day, f"A{i}",
                                          for_person_id=ids["child"] if arg == 2 else None)
            elif op == "write_off":
                payments.write_off(s, SYSTEM, BJ, [ids["cms"][amount]], "uncollectible (test)", day)
            else:
                payments.apply_unallocated(s, SYSTEM, BJ, "employer", ids["employer"])

        # a refused operation must have changed nothing, which the invariants below check
        with contextlib.suppress(InputError, InsufficientBalance):
            run(engine, step)
        _check(engine, ids)


# -- concurrency (PostgreSQL: real parallel connections) --------------------------------------
def _pg_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL; SQLite serialises every writer")


def test_50_parallel_account_payments_never_overdraw(engine: Engine) -> None:
    _pg_only(engine)
    start = 100_000

    def setup(s: Session) -> int:
        p = person(s, dt.date(1980, 1, 1))
        fund_account(s, BJ, p.id, start, dt.date(2024, 3, 1), "fund")
        return p.id

    pid = run(engine, setup)
    rng = random.Random(7)
    amounts = [rng.randint(3_000, 8_000) for _ in range(50)]  # ≈ 275,000 asked of 100,000
    barrier = threading.Barrier(50)

    def one(i: int) -> tuple[int, BaseException | None]:
        barrier.wait()
        try:
            run(engine, lambda s: accounts.pay_from_account(s, SYSTEM, BJ, pid, amounts[i], "outpatient",
                                                            dt.date(2024, 3, 20), f"par-{i}"))
            return amounts[i], None
        except BaseException as exc:  # every refusal is inspected below
            return amounts[i], exc

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    paid = [a for a, e in results if e is None]
    refused = [(a, e) for a, e in results if e is not None]
    assert refused and all(isinstance(e, InsufficientBalance) for _, e in refused), refused[:3]
    with Session(engine) as s:
        left = accounts.account_balance(s, BJ, pid)
        assert accounts.verify_ledger(s).ok
    assert sum(paid) <= start and left == start - sum(paid) >= 0
    # each refusal was real: the balance never recovers, so it stayed below every refused amount
    assert left < min(a for a, _ in refused)


def test_parallel_payments_from_one_payer_never_allocate_a_fen_twice(engine: Engine) -> None:
    _pg_only(engine)
    ids = _world(engine)
    n, each = 20, 50_000
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        barrier.wait()
        run(engine, lambda s: payments.record_payment(s, SYSTEM, BJ, "employer", ids["employer"], each,
                                                      dt.date(2024, 4, 10), f"PAR-{i}"))

    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(one, range(n)))
    _check(engine, ids)
    with Session(engine) as s:
        owed = sum(c.total_fen for c in s.scalars(select(ContributionMonth)))
        assert int(s.scalar(select(func.sum(PaymentAllocation.amount_fen))) or 0) == owed
        assert s.scalar(select(func.count()).select_from(LedgerTransfer)
                        .where(LedgerTransfer.kind == "contribution_recognised")) == len(ids["cms"])
        assert sum(p.unallocated_fen for p in s.scalars(select(Payment))) == n * each - owed
