"""Payments: recording, matching oldest month first, recognition into funds and the individual
account, partial and over-payment, refunds, closed months, duplicate bank lines, write-off.

Amounts are Beijing's (policy file beijing.yaml, DOMAIN §2.2): employer 8% basic + 0.8% maternity
+ 1% large-amount, individual 2% + 3 yuan/month to the large-amount fund. On a 10000-yuan base a
month is 800 + 80 + 100 + 200 + 3 = 1183 yuan (computed by us from those rates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_pay_support import assess, employer, enroll, person

from yibao.admin import accounts, ledger, payments
from yibao.admin.accounts import verify_ledger
from yibao.admin.uow import SYSTEM, IdempotencyConflict, run
from yibao.db.models.contribution import ContributionMonth, Payment, PaymentAllocation
from yibao.db.models.ledger import LedgerEntry, LedgerTransfer
from yibao.db.models.register import Region
from yibao.errors import InputError
from yibao.policy.registry import Registry

BJ = "110000"
WAGE = 1_000_000  # 10000 yuan a month, inside Beijing's 2023-07 limits 6326–33891 (京人社发〔2023〕8号)
MONTH_TOTAL = 118_300


def _setup(engine: Engine, months: list[int], birth: dt.date = dt.date(1990, 5, 17),
           wage: int = WAGE) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        emp = employer(s)
        p = person(s, birth)
        en = enroll(s, p, BJ, "in_service", emp)
        cms = [assess(s, en, m, wage).id for m in months]
        return {"employer": emp.id, "person": p.id, "cms": cms}
    return run(engine, step)


def _pay(engine: Engine, ids: dict[str, Any], amount: int, on: dt.date, ref: str,
         **kw: Any) -> Payment:
    return run(engine, lambda s: payments.record_payment(s, SYSTEM, BJ, "employer", ids["employer"], amount,
                                                         on, ref, **kw))


def _bal(engine: Engine, kind: str, owner: int | None = None) -> int:
    def step(s: Session) -> int:
        return ledger.balance(s, ledger.account(s, BJ, kind, owner))
    return run(engine, step)


def _cm(engine: Engine, cm_id: int) -> ContributionMonth:
    with Session(engine) as s:
        cm = s.get(ContributionMonth, cm_id)
        assert cm is not None
        s.expunge(cm)
        return cm


def _counts(engine: Engine) -> tuple[int, ...]:
    with Session(engine) as s:
        return tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)
                     for t in (Payment, PaymentAllocation, LedgerTransfer, LedgerEntry))


def test_beijing_2024_03_paid_in_full_is_recognised_post_reform(engine: Engine) -> None:
    """Beijing from 2022-09-01 (北京日报 2022-09-16, account.regime): the account gets the
    individual 2% only (200 yuan on a 10000 base); the employer's 8% stays in the pooled fund,
    0.8% goes to the maternity fund, 1% + the 3-yuan premium to the large-amount fund."""
    ids = _setup(engine, [202403])
    pay = _pay(engine, ids, MONTH_TOTAL, dt.date(2024, 4, 10), "BANK1")
    cm = _cm(engine, ids["cms"][0])
    assert (cm.status, cm.paid_fen, cm.paid_on, cm.recognised) == \
        ("paid", MONTH_TOTAL, dt.date(2024, 4, 10), True)
    assert pay.unallocated_fen == 0
    assert _bal(engine, "pooled_fund") == 80_000
    assert _bal(engine, "maternity_fund") == 8_000
    assert _bal(engine, "large_amount_fund") == 10_000 + 300
    assert _bal(engine, "individual_account", ids["person"]) == 20_000
    assert _bal(engine, "contribution_deferred") == 0
    assert _bal(engine, "employer_receivable", ids["employer"]) == 0
    assert _bal(engine, "cash") == MONTH_TOTAL
    with Session(engine) as s:
        assert verify_ledger(s).ok


@pytest.mark.parametrize(("birth", "account", "pool"), [
    (dt.date(1972, 1, 10), 40_000, 60_000),  # 50 on 2022-06-01: 2% + employer 2% (45+)
    (dt.date(1980, 1, 10), 30_000, 70_000),  # 42: 2% + 1% (35–44)
    (dt.date(1990, 1, 10), 28_000, 72_000),  # 32: 2% + 0.8% (under 35)
])
def test_beijing_2022_06_pre_reform_account_gets_employer_part_by_age(engine: Engine, birth: dt.date,
                                                                       account: int, pool: int) -> None:
    """Before 2022-09-01 Beijing credited 2% plus an employer part of 0.8% / 1% / 2% of the base
    under 35 / 35–44 / 45+ (京劳社医发〔2006〕9号, beijing.yaml account.in_service.employer_tiers);
    the employer part comes out of the pooled fund's 8%. Base 10000 (2021-07 limits 5360–28221)."""
    ids = _setup(engine, [202206], birth=birth)
    _pay(engine, ids, MONTH_TOTAL, dt.date(2022, 7, 5), "B2206")
    assert _bal(engine, "individual_account", ids["person"]) == account
    assert _bal(engine, "pooled_fund") == pool
    assert _bal(engine, "large_amount_fund") == 10_300
    assert _bal(engine, "maternity_fund") == 8_000


def test_partial_payment_then_completion(engine: Engine) -> None:
    ids = _setup(engine, [202403])
    _pay(engine, ids, 50_000, dt.date(2024, 4, 10), "P1")
    cm = _cm(engine, ids["cms"][0])
    assert (cm.status, cm.paid_fen, cm.paid_on, cm.recognised) == ("partial", 50_000, None, False)
    assert _bal(engine, "individual_account", ids["person"]) == 0
    assert _bal(engine, "employer_receivable", ids["employer"]) == MONTH_TOTAL - 50_000
    _pay(engine, ids, MONTH_TOTAL - 50_000, dt.date(2024, 4, 20), "P2")
    cm = _cm(engine, ids["cms"][0])
    assert (cm.status, cm.paid_fen, cm.paid_on, cm.recognised) == \
        ("paid", MONTH_TOTAL, dt.date(2024, 4, 20), True)
    assert _bal(engine, "individual_account", ids["person"]) == 20_000
    assert _bal(engine, "contribution_deferred") == 0


def test_oldest_open_month_first(engine: Engine) -> None:
    ids = _setup(engine, [202403, 202401, 202402])
    _pay(engine, ids, MONTH_TOTAL + 1000, dt.date(2024, 4, 10), "OLD")
    by_month = {c.month: c for c in (_cm(engine, i) for i in ids["cms"])}
    assert [by_month[m].status for m in (202401, 202402, 202403)] == ["paid", "partial", "due"]
    assert by_month[202402].paid_fen == 1000


def test_over_payment_and_refund(engine: Engine) -> None:
    ids = _setup(engine, [202403])
    pay = _pay(engine, ids, 130_000, dt.date(2024, 4, 10), "OVER")
    assert pay.unallocated_fen == 130_000 - MONTH_TOTAL
    # the receivable holds the over-payment as a credit balance
    assert _bal(engine, "employer_receivable", ids["employer"]) == -(130_000 - MONTH_TOTAL)
    before = _counts(engine)
    with pytest.raises(InputError) as e:
        run(engine, lambda s: payments.refund(s, SYSTEM, BJ, 11_701, dt.date(2024, 4, 12), "R1",
                                              payment_id=pay.id))
    assert "117.00" in e.value.zh and "117.00" in e.value.en and e.value.field == "amount"
    assert _counts(engine) == before
    rf = run(engine, lambda s: payments.refund(s, SYSTEM, BJ, 11_700, dt.date(2024, 4, 12), "R1",
                                               payment_id=pay.id))
    assert (rf.kind, rf.amount_fen, rf.refund_of_id) == ("refund", 11_700, pay.id)
    assert _bal(engine, "employer_receivable", ids["employer"]) == 0
    assert _bal(engine, "cash") == MONTH_TOTAL
    with Session(engine) as s:
        p = s.get(Payment, pay.id)
        assert p is not None and p.unallocated_fen == 0
    # nothing left to refund, by payment or by payer
    with pytest.raises(InputError):
        run(engine, lambda s: payments.refund(s, SYSTEM, BJ, 1, dt.date(2024, 4, 13), "R2",
                                              payer_kind="employer", payer_id=ids["employer"]))


def test_refund_by_payer_draws_oldest_over_payment_first(engine: Engine) -> None:
    ids = _setup(engine, [202403])
    p1 = _pay(engine, ids, MONTH_TOTAL + 500, dt.date(2024, 4, 10), "A")
    p2 = _pay(engine, ids, 700, dt.date(2024, 4, 11), "B")
    run(engine, lambda s: payments.refund(s, SYSTEM, BJ, 1000, dt.date(2024, 4, 12), "RR",
                                          payer_kind="employer", payer_id=ids["employer"]))
    with Session(engine) as s:
        got = [s.get(Payment, p.id) for p in (p1, p2)]
        assert [p.unallocated_fen for p in got if p] == [0, 200]


def test_payment_for_a_closed_month_is_refused_and_changes_nothing(engine: Engine) -> None:
    ids = _setup(engine, [202402, 202403])
    _pay(engine, ids, MONTH_TOTAL, dt.date(2024, 3, 10), "FEB", months=["2024-02"])
    before = _counts(engine)
    with pytest.raises(InputError) as e:
        _pay(engine, ids, MONTH_TOTAL, dt.date(2024, 4, 10), "AGAIN", months=["2024-02", "2024-03"])
    assert e.value.field == "months" and "2024-02" in e.value.zh and "closed" in e.value.en
    assert _counts(engine) == before
    assert _cm(engine, ids["cms"][1]).status == "due"
    with pytest.raises(InputError) as e:
        _pay(engine, ids, MONTH_TOTAL, dt.date(2024, 4, 10), "NOTYET", months=[202405])
    assert "2024-05" in e.value.zh and "not been assessed" in e.value.en
    assert _counts(engine) == before


def test_payment_for_a_written_off_month_is_refused(engine: Engine) -> None:
    ids = _setup(engine, [202403])
    run(engine, lambda s: payments.write_off(s, SYSTEM, BJ, ids["cms"], "单位破产清算终结",
                                             dt.date(2024, 9, 1)))
    with pytest.raises(InputError) as e:
        _pay(engine, ids, MONTH_TOTAL, dt.date(2024, 9, 2), "LATE", months=[202403])
    assert "已核销" in e.value.zh and "written_off" in e.value.en


def test_same_bank_reference_twice_is_one_payment(engine: Engine) -> None:
    ids = _setup(engine, [202403])
    a = _pay(engine, ids, MONTH_TOTAL, dt.date(2024, 4, 10), "STMT-7")
    before = _counts(engine)
    b = _pay(engine, ids, MONTH_TOTAL, dt.date(2024, 4, 10), "STMT-7")
    assert a.id == b.id and _counts(engine) == before
    with pytest.raises(InputError) as e:
        _pay(engine, ids, MONTH_TOTAL + 1, dt.date(2024, 4, 10), "STMT-7")
    assert e.value.field == "reference" and "differs" in e.value.en
    assert _counts(engine) == before


def test_idempotency_key_replay_and_conflict(engine: Engine) -> None:
    ids = _setup(engine, [202403])
    a = _pay(engine, ids, 1000, dt.date(2024, 4, 10), "K1", key="k-1")
    b = _pay(engine, ids, 1000, dt.date(2024, 4, 10), "K1", key="k-1")
    assert a.id == b.id
    with pytest.raises(IdempotencyConflict):
        _pay(engine, ids, 2000, dt.date(2024, 4, 10), "K2", key="k-1")


@pytest.mark.parametrize(("payer_kind", "payer_id", "amount", "field"), [
    ("employer", 9999, 100, "payer"),
    ("person", 9999, 100, "payer"),
    ("bank", 1, 100, "payer_kind"),
    ("employer", None, 0, "amount"),
    ("employer", None, -5, "amount"),
])
def test_bad_payments_are_refused(engine: Engine, payer_kind: str, payer_id: int | None, amount: int,
                                  field: str) -> None:
    ids = _setup(engine, [202403])
    before = _counts(engine)
    fn: Callable[[Session], Payment] = lambda s: payments.record_payment(  # noqa: E731
        s, SYSTEM, BJ, payer_kind, payer_id or ids["employer"], amount, dt.date(2024, 4, 1), "X")
    with pytest.raises(InputError) as e:
        run(engine, fn)
    assert e.value.field == field and e.value.zh and e.value.en
    assert _counts(engine) == before


def test_write_off_needs_a_reason_and_releases_partial_money(engine: Engine) -> None:
    ids = _setup(engine, [202402, 202403])
    pay = _pay(engine, ids, MONTH_TOTAL + 30_000, dt.date(2024, 4, 10), "WO")
    feb, mar = ids["cms"]
    with pytest.raises(InputError) as e:
        run(engine, lambda s: payments.write_off(s, SYSTEM, BJ, [mar], "  ", dt.date(2024, 9, 1)))
    assert e.value.field == "reason"
    [cm] = run(engine, lambda s: payments.write_off(s, SYSTEM, BJ, [mar], "欠费单位已注销",
                                                    dt.date(2024, 9, 1)))
    assert (cm.status, cm.write_off_reason, cm.written_off_on, cm.paid_fen) == \
        ("written_off", "欠费单位已注销", dt.date(2024, 9, 1), 0)
    with Session(engine) as s:
        p = s.get(Payment, pay.id)
        assert p is not None and p.unallocated_fen == 30_000  # released: refundable or matchable
    assert _bal(engine, "contribution_deferred") == 0  # Feb recognised, Mar written off
    assert _bal(engine, "employer_receivable", ids["employer"]) == -30_000
    with pytest.raises(InputError) as e:
        run(engine, lambda s: payments.write_off(s, SYSTEM, BJ, [feb], "x", dt.date(2024, 9, 1)))
    assert "2024-02" in e.value.zh


def test_apply_unallocated_matches_months_assessed_later(engine: Engine) -> None:
    ids = _setup(engine, [202403])
    pay = _pay(engine, ids, 2 * MONTH_TOTAL, dt.date(2024, 4, 10), "PRE")

    def later(s: Session) -> int:
        cm = s.get(ContributionMonth, ids["cms"][0])
        assert cm is not None
        from yibao.db.models.enrollment import Enrollment
        en = s.get(Enrollment, cm.enrollment_id)
        assert en is not None
        new = assess(s, en, 202404, WAGE)
        payments.apply_unallocated(s, SYSTEM, BJ, "employer", ids["employer"])
        return new.id

    apr = run(engine, later)
    cm = _cm(engine, apr)
    assert (cm.status, cm.paid_on, cm.recognised) == ("paid", dt.date(2024, 4, 10), True)
    with Session(engine) as s:
        p = s.get(Payment, pay.id)
        assert p is not None and p.unallocated_fen == 0


def _flex_registry(tmp_path: Path, credited: str | None) -> Registry:
    """A test region on Beijing's rules; ``credited`` is a PLACEHOLDER for the flexible-worker
    account rule Beijing's file does not source yet (a user would supply it with --policy-file)."""
    extra = "parameters: {}\n" if credited is None else (
        "parameters:\n  account.flexible.credited:\n"
        f"    - {{from: 2018-01-01, value: {credited}, source: placeholder}}\n")
    f = tmp_path / f"flex_{credited}.yaml"
    f.write_text(
        'region:\n  code: "990112"\n  pinyin: beijing_flex_test\n  name_zh: 测试\n  name_en: test\n'
        "  inherits: beijing\n  pooling_level: hypothetical\n  confidence: low\n"
        "sources:\n  placeholder:\n    title: placeholder for a mechanism test; not a Beijing rule\n"
        "    confidence: low\n" + extra, encoding="utf-8")
    return Registry(policy_files=[f])


def test_a_missing_account_rule_keeps_the_money_and_recognises_later(engine: Engine, tmp_path: Path) -> None:
    """A Beijing flexible worker pays 553.56 yuan for 2024-03 (7908 × 7%, 京人社发〔2023〕8号).
    Whether part of it is credited to an account is not sourced (account.flexible.credited is
    unknown): the payment is recorded and the month paid, the money waits in contribution_deferred,
    and recognise_pending() splits it once the value is supplied."""
    unknown, known = _flex_registry(tmp_path, None), _flex_registry(tmp_path, "false")
    with Session(engine) as s, s.begin():
        s.add(Region(code="990112", policy="beijing_flex_test", name_zh="测试", name_en="test"))

    def step(s: Session) -> tuple[int, int]:
        p = person(s, dt.date(1980, 1, 1))
        cm = assess(s, enroll(s, p, "990112", "flexible"), 202403, 800_000, registry=unknown)
        assert cm.total_fen == 55_356 and cm.payer_kind == "person"
        payments.record_payment(s, SYSTEM, "990112", "person", p.id, 55_356, dt.date(2024, 4, 1), "F1",
                                registry=unknown)
        return p.id, cm.id

    pid, cm_id = run(engine, step)
    cm = _cm(engine, cm_id)
    assert (cm.status, cm.recognised) == ("paid", False)

    def bal(s: Session, kind: str) -> int:
        return ledger.balance(s, ledger.account(s, "990112", kind))

    with Session(engine) as s:
        assert bal(s, "contribution_deferred") == 55_356 and bal(s, "pooled_fund") == 0
    assert run(engine, lambda s: payments.recognise_pending(s, "990112", known)) == 1
    with Session(engine) as s:
        assert bal(s, "contribution_deferred") == 0 and bal(s, "pooled_fund") == 55_356
        assert accounts.account_balance(s, "990112", pid) == 0
    assert _cm(engine, cm_id).recognised
