"""The double-entry ledger: balanced posts, idempotency, no overdraft, reversal, derived balances."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import ledger
from yibao.admin.ledger import InsufficientBalance, credit, debit
from yibao.admin.uow import run
from yibao.db.models.ledger import LedgerEntry, LedgerTransfer
from yibao.db.models.register import Person
from yibao.errors import InputError

D = dt.date(2024, 3, 1)


def _person(s: Session) -> Person:
    p = Person(id_kind="resident", id_number="11010519491231002X", name="张三", sex="female",
               birth_date=dt.date(1949, 12, 31))
    s.add(p)
    s.flush()
    return p


def test_post_balanced_and_idempotent(engine: Engine) -> None:
    def step(s: Session) -> int:
        p = _person(s)
        cash = ledger.account(s, "110000", "cash")
        ia = ledger.account(s, "110000", "individual_account", p.id)
        t1 = ledger.post(s, "k1", "contribution_paid", "110000", D, [debit(cash, 500), credit(ia, 500)])
        t2 = ledger.post(s, "k1", "contribution_paid", "110000", D, [debit(cash, 500), credit(ia, 500)])
        assert t1.id == t2.id
        assert ledger.balance(s, ia) == 500 and ledger.balance(s, cash) == 500
        return p.id

    run(engine, step)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 2
        assert s.scalar(select(func.sum(LedgerEntry.amount_fen))) == 0


def test_unbalanced_post_is_refused_and_changes_nothing(engine: Engine) -> None:
    def step(s: Session) -> None:
        cash = ledger.account(s, "110000", "cash")
        pool = ledger.account(s, "110000", "pooled_fund")
        ledger.post(s, "bad", "x", "110000", D, [debit(cash, 500), credit(pool, 499)])

    with pytest.raises(InputError) as e:
        run(engine, step)
    assert "ledger_lines" in str(e.value) and "balance" in e.value.en
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerTransfer)) == 0


def test_individual_account_cannot_be_overdrawn(engine: Engine) -> None:
    def setup(s: Session) -> int:
        p = _person(s)
        cash = ledger.account(s, "110000", "cash")
        ia = ledger.account(s, "110000", "individual_account", p.id)
        ledger.post(s, "in", "account_credit", "110000", D, [debit(cash, 1000), credit(ia, 1000)])
        return p.id

    pid = run(engine, setup)

    def spend(amount: int, key: str) -> None:
        def step(s: Session) -> None:
            ia = ledger.account(s, "110000", "individual_account", pid)
            pay = ledger.account(s, "110000", "provider_payable")
            ledger.post(s, key, "claim", "110000", D, [debit(ia, amount), credit(pay, amount)])
        run(engine, step)

    spend(600, "a")
    with pytest.raises(InsufficientBalance) as e:
        spend(401, "b")
    assert "4.00" in e.value.zh and "4.01" in e.value.en
    spend(400, "c")
    with Session(engine) as s:
        assert ledger.balance(s, ledger.account(s, "110000", "individual_account", pid)) == 0


def test_reverse_restores_balances_and_statement_explains(engine: Engine) -> None:
    def step(s: Session) -> None:
        p = _person(s)
        cash = ledger.account(s, "110000", "cash")
        ia = ledger.account(s, "110000", "individual_account", p.id)
        t = ledger.post(s, "in", "account_credit", "110000", D, [debit(cash, 1234), credit(ia, 1234)],
                        reference="month:202403")
        ledger.reverse(s, t, "in:rev", dt.date(2024, 4, 1))
        assert ledger.balance(s, ia) == 0
        assert ledger.balance(s, ia, as_of=dt.date(2024, 3, 31)) == 1234
        opening, lines = ledger.statement(s, ia)
        assert opening == 0 and [ln.balance_fen for ln in lines] == [1234, 0]
        tb = ledger.trial_balance(s, dt.date(2024, 3, 31))
        assert sum(r.debit_fen for r in tb) == sum(r.credit_fen for r in tb) == 1234

    run(engine, step)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["credit", "spend"]), st.integers(1, 10_000)), max_size=20))
def test_property_account_never_negative_and_ledger_sums_to_zero(engine: Engine, ops: list[tuple[str, int]]
                                                                ) -> None:
    """Random credits and spends on one individual account: a spend beyond the balance is refused
    and changes nothing; the balance always equals the model's and every post balances."""
    with Session(engine) as s, s.begin():
        s.query(LedgerEntry).delete()
        s.query(LedgerTransfer).delete()
        pid = s.scalar(select(Person.id)) or _person(s).id
    model = 0
    for i, (op, amount) in enumerate(ops):
        def step(s: Session, op: str = op, amount: int = amount, i: int = i) -> None:
            cash = ledger.account(s, "110000", "cash")
            pay = ledger.account(s, "110000", "provider_payable")
            ia = ledger.account(s, "110000", "individual_account", pid)
            if op == "credit":
                ledger.post(s, f"p{i}", "account_credit", "110000", D,
                            [debit(cash, amount), credit(ia, amount)])
            else:
                ledger.post(s, f"p{i}", "claim", "110000", D, [debit(ia, amount), credit(pay, amount)])
        if op == "spend" and amount > model:
            with pytest.raises(InsufficientBalance):
                run(engine, step)
            continue
        run(engine, step)
        model += amount if op == "credit" else -amount
        with Session(engine) as s:
            assert ledger.balance(s, ledger.account(s, "110000", "individual_account", pid)) == model >= 0
    with Session(engine) as s:
        assert int(s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))) or 0) == 0
