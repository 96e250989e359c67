"""Account payments for the holder and, by family mutual aid (家庭共济), for a linked relative;
balances across years; the per-person statement; ledger verification.

Family mutual aid (DOMAIN §3.3; seed 004; PD national_rules): the account may pay the costs of
the holder's spouse, children and parents (near relatives from 2024) and their resident premiums
(LS §3) — only under a family link valid on the date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session
from test_pay_support import assess, employer, enroll, fund_account, link, person

from yibao.admin import accounts, ledger, payments
from yibao.admin.accounts import pay_from_account
from yibao.admin.ledger import InsufficientBalance
from yibao.admin.uow import SYSTEM, IdempotencyConflict, run
from yibao.db.models.audit import AuditEvent
from yibao.db.models.ledger import LedgerEntry, LedgerTransfer
from yibao.db.models.register import Person
from yibao.errors import InputError

BJ = "110000"
D = dt.date(2024, 3, 20)


def _family(engine: Engine, balance: int = 50_000) -> dict[str, int]:
    def step(s: Session) -> dict[str, int]:
        holder = person(s, dt.date(1985, 1, 1), name="李明")
        child = person(s, dt.date(2015, 6, 1), sex="female", name="李小红")
        stranger = person(s, dt.date(1990, 1, 1), name="王五")
        link(s, holder, child, "child", dt.date(2023, 1, 1))
        fund_account(s, BJ, holder.id, balance, dt.date(2023, 1, 1), f"fund:{holder.id}")
        return {"holder": holder.id, "child": child.id, "stranger": stranger.id}
    return run(engine, step)


def _pay(engine: Engine, ids: dict[str, int], amount: int, key: str, purpose: str = "outpatient",
         for_: str | None = None, on: dt.date = D) -> accounts.AccountPayment:
    return run(engine, lambda s: pay_from_account(s, SYSTEM, BJ, ids["holder"], amount, purpose, on, key,
                                                  for_person_id=ids[for_] if for_ else None))


def _bal(engine: Engine, kind: str, owner: int | None = None) -> int:
    def step(s: Session) -> int:
        return ledger.balance(s, ledger.account(s, BJ, kind, owner))
    return run(engine, step)


def test_own_outpatient_payment(engine: Engine) -> None:
    ids = _family(engine)
    r = _pay(engine, ids, 12_000, "own-1")
    assert (r.balance_after_fen, r.for_person_id) == (38_000, None)
    assert _bal(engine, "provider_payable") == 12_000


def test_family_payment_for_a_linked_child(engine: Engine) -> None:
    ids = _family(engine)
    r = _pay(engine, ids, 20_000, "fam-1", for_="child")
    assert (r.for_person_id, r.balance_after_fen) == (ids["child"], 30_000) and r.family_link_id
    assert _bal(engine, "family_mutual_aid") == 0  # passes through
    assert _bal(engine, "provider_payable") == 20_000
    with Session(engine) as s:
        t = s.get(LedgerTransfer, r.transfer_id)
        assert t is not None and t.kind == "family_mutual_aid" and t.reference == f"person:{ids['child']}"


def test_relatives_resident_premium(engine: Engine) -> None:
    """A relative's resident premium paid from the account (LS §3): 380 yuan, the 2023 national
    minimum individual premium (PD resident_financing_national_minimum, DOMAIN §1)."""
    ids = _family(engine)
    _pay(engine, ids, 38_000, "prem-1", purpose="resident_premium", for_="child")
    assert _bal(engine, "resident_premium_payable") == 38_000
    with pytest.raises(InputError) as e:
        _pay(engine, ids, 100, "prem-own", purpose="resident_premium")
    assert e.value.field == "purpose"


def test_family_payment_refused_for_an_unlinked_person_and_changes_nothing(engine: Engine) -> None:
    ids = _family(engine)
    with pytest.raises(InputError) as e:
        _pay(engine, ids, 1000, "fam-x", for_="stranger")
    assert e.value.field == "for_person_id" and "家庭共济" in e.value.zh and "family mutual aid" in e.value.en
    assert _bal(engine, "individual_account", ids["holder"]) == 50_000
    # a link in force only from a later date does not cover an earlier purchase
    with pytest.raises(InputError):
        _pay(engine, ids, 1000, "fam-early", for_="child", on=dt.date(2022, 12, 31))


def test_family_link_that_ended_does_not_cover(engine: Engine) -> None:
    ids = _family(engine)

    def end(s: Session) -> None:
        spouse = person(s, dt.date(1986, 2, 2), sex="female")
        h = s.get(Person, ids["holder"])
        assert h is not None
        link(s, h, spouse, "spouse", dt.date(2020, 1, 1), valid_to=dt.date(2023, 12, 31))
        ids["spouse"] = spouse.id

    run(engine, end)
    _pay(engine, ids, 500, "sp-1", for_="spouse", on=dt.date(2023, 12, 31))
    with pytest.raises(InputError):
        _pay(engine, ids, 500, "sp-2", for_="spouse", on=dt.date(2024, 1, 1))


def test_family_payment_refused_when_it_would_overdraw(engine: Engine) -> None:
    ids = _family(engine, balance=10_000)
    with pytest.raises(InputError):
        _pay(engine, ids, 0, "zero", for_="child")
    with pytest.raises(InsufficientBalance):
        _pay(engine, ids, 10_001, "fam-big", for_="child")
    assert _bal(engine, "individual_account", ids["holder"]) == 10_000
    assert _pay(engine, ids, 10_000, "fam-all", for_="child").balance_after_fen == 0


def test_replay_with_the_same_key_pays_once(engine: Engine) -> None:
    ids = _family(engine)
    a = _pay(engine, ids, 1000, "same")
    b = _pay(engine, ids, 1000, "same")
    assert a == b and _bal(engine, "individual_account", ids["holder"]) == 49_000
    with pytest.raises(IdempotencyConflict):
        _pay(engine, ids, 2000, "same")


def test_balance_carried_across_years(engine: Engine) -> None:
    """A balance is the sum of entries: what is left on 31 December is there on 1 January, with no
    closing or opening posting (architecture: balances are derived, never stored)."""
    ids = _family(engine, balance=0)

    def step(s: Session) -> None:
        fund_account(s, BJ, ids["holder"], 30_000, dt.date(2023, 6, 1), "y2023")
    run(engine, step)
    _pay(engine, ids, 5_000, "dec", on=dt.date(2023, 12, 30))
    _pay(engine, ids, 7_000, "jan", on=dt.date(2024, 1, 2))
    with Session(engine) as s:
        end_2023 = accounts.account_balance(s, BJ, ids["holder"], dt.date(2023, 12, 31))
        start_2024 = accounts.account_balance(s, BJ, ids["holder"], dt.date(2024, 1, 1))
        assert end_2023 == start_2024 == 25_000
        st = accounts.person_statement(s, SYSTEM, ids["holder"], dt.date(2024, 1, 1), dt.date(2024, 12, 31))
        assert (st.opening_fen, st.closing_fen) == (25_000, 18_000)
        assert [ln.amount_fen for ln in st.lines] == [-7_000]


def test_statement_masks_and_runs_the_balance(engine: Engine) -> None:
    def step(s: Session) -> dict[str, Any]:
        emp = employer(s)
        p = person(s, dt.date(1990, 5, 17), name="张三丰")
        en = enroll(s, p, BJ, "in_service", emp)
        cms = [assess(s, en, m, 1_000_000) for m in (202402, 202403)]
        return {"person": p.id, "employer": emp.id, "id_number": p.id_number, "cms": [c.id for c in cms]}

    ids = run(engine, step)
    run(engine, lambda s: payments.record_payment(s, SYSTEM, BJ, "employer", ids["employer"], 118_300,
                                                  dt.date(2024, 3, 10), "S1"))
    run(engine, lambda s: payments.record_payment(s, SYSTEM, BJ, "employer", ids["employer"], 50_000,
                                                  dt.date(2024, 4, 10), "S2"))
    run(engine, lambda s: pay_from_account(s, SYSTEM, BJ, ids["person"], 5_000, "pharmacy",
                                           dt.date(2024, 3, 15), "ph-1"))
    with Session(engine) as s, s.begin():
        st = accounts.person_statement(s, SYSTEM, ids["person"], date_to=dt.date(2024, 3, 31))
        assert st.name == "张**" and st.id_number == ids["id_number"][:6] + "********" + ids["id_number"][-4:]
        assert [(ln.kind, ln.amount_fen, ln.balance_fen) for ln in st.lines] == \
            [("contribution_recognised", 20_000, 20_000), ("account_payment", -5_000, 15_000)]
        assert [(m.month, m.status) for m in st.months] == [(202402, "paid"), (202403, "due")]
        later = accounts.person_statement(s, SYSTEM, ids["person"])
        assert [(m.month, m.status, m.paid_fen) for m in later.months] == \
            [(202402, "paid", 118_300), (202403, "partial", 50_000)]
    with Session(engine) as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "account.statement.read")).all()
        assert len(reads) == 2 and reads[0].subject_id == str(ids["person"])
    with pytest.raises(InputError):
        run(engine, lambda s: accounts.person_statement(s, SYSTEM, ids["person"], dt.date(2024, 5, 1),
                                                        dt.date(2024, 4, 1)))


def test_verify_reports_an_unbalanced_transfer_and_the_first_negative_row(engine: Engine) -> None:
    ids = _family(engine, balance=1_000)
    with Session(engine) as s:
        assert accounts.verify_ledger(s).ok

    def tamper(s: Session) -> tuple[int, int]:
        # bypass ledger.post: a back-dated spend, balanced, that takes the account below zero on 2022-06-01
        t = LedgerTransfer(idempotency_key="bad", kind="tamper", region_code=BJ,
                           value_date=dt.date(2022, 6, 1))
        s.add(t)
        s.flush()
        ia = ledger.account(s, BJ, "individual_account", ids["holder"])
        pay = ledger.account(s, BJ, "provider_payable")
        s.execute(insert(LedgerEntry), [
            {"transfer_id": t.id, "account_id": ia.id, "amount_fen": 500, "value_date": t.value_date},
            {"transfer_id": t.id, "account_id": pay.id, "amount_fen": -500, "value_date": t.value_date}])
        u = LedgerTransfer(idempotency_key="bad2", kind="tamper", region_code=BJ, value_date=D)
        s.add(u)
        s.flush()
        s.execute(insert(LedgerEntry), [{"transfer_id": u.id, "account_id": pay.id, "amount_fen": 7,
                                         "value_date": D}])
        return t.id, u.id

    t_id, u_id = run(engine, tamper)
    with Session(engine) as s:
        rep = accounts.verify_ledger(s)
    assert not rep.ok
    assert rep.unbalanced == [{"transfer_id": u_id, "sum_fen": 7}]
    assert rep.negative is not None and rep.negative["transfer_id"] == t_id
    assert (rep.negative["value_date"], rep.negative["balance_fen"]) == ("2022-06-01", -500)


def test_near_relatives_only_from_2024_08(engine: Engine) -> None:
    """national.yaml account.family_mutual_aid.relations: spouse, children, parents from
    国办发〔2021〕14号; near relatives (近亲属) from 2024-08-01 (PD national_rules)."""
    ids = _family(engine)

    def step(s: Session) -> None:
        h = s.get(Person, ids["holder"])
        assert h is not None
        sibling = person(s, dt.date(1988, 8, 8))
        link(s, h, sibling, "near_relative", dt.date(2024, 1, 1))
        ids["sibling"] = sibling.id

    run(engine, step)
    with pytest.raises(InputError) as e:
        _pay(engine, ids, 1_000, "sib-1", for_="sibling", on=dt.date(2024, 7, 31))
    assert "account.family_mutual_aid.relations" in e.value.en and "near_relative" in e.value.zh
    paid = _pay(engine, ids, 1_000, "sib-2", for_="sibling", on=dt.date(2024, 8, 1))
    assert paid.balance_after_fen == 49_000


def test_a_back_dated_payment_cannot_make_an_earlier_balance_negative(engine: Engine) -> None:
    """No account is negative at any date: 500 yuan credited on 2023-01-01 cannot pay for a
    purchase dated 2022-12-20, although today's balance would cover it."""
    ids = _family(engine)  # 500 yuan on 2023-01-01
    with pytest.raises(InsufficientBalance) as e:
        _pay(engine, ids, 100, "early", on=dt.date(2022, 12, 20))
    assert "2022-12-20" in e.value.en
    _pay(engine, ids, 100, "ok", on=dt.date(2023, 1, 1))
    with Session(engine) as s:
        assert accounts.verify_ledger(s).ok
