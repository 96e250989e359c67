"""The one-off shortfall payment and the lump-sum plans of bankrupt / hardship enterprises.

Shortfall (DOMAIN §6): no source gives the lump-sum formula, so the test region is Changsha's
sourced minimum years with a HYPOTHETICAL formula (tests/fixtures/rules/changsha_lump_sum.yaml):
8000 × 60% = 4800 base × 8% = 384.00 a month short.

Plans (seed 003, Jinan 2005): "需一次性为退休人员缴纳3万元基本医疗保险费" — 30000 yuan per
retiree, difficult units allowed to pay by year (分年度缴费); retirees enrolled apart from the unit
from 2007-07-01 ("分开参保").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_transfer_support import contribution_months, employer, enroll, ledger_counts, months, person

from yibao.admin import ledger
from yibao.admin.retirement import (
    add_plan_retiree,
    create_plan,
    instalment_amounts,
    pay_plan,
    retirement_check,
    settle_shortfall,
    shortfall_payment,
    show_plan,
)
from yibao.admin.uow import Actor, run
from yibao.db.base import add_months
from yibao.db.models.cases import LumpSumInstalment, LumpSumPlan, ShortfallPayment
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Region
from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry

CLERK = Actor("clerk", "operator")
FIX = Path(__file__).parent.parent / "fixtures" / "rules" / "changsha_lump_sum.yaml"
CS, JN = "430100", "370100"
ON = dt.date(2024, 6, 30)


def _changsha_man(engine: Engine, years: int, policy: str) -> int:
    def build(s: Session) -> int:
        s.add(Region(code=CS, policy=policy, name_zh="长沙", name_en="Changsha"))
        p = person(s, "male", dt.date(1964, 1, 5), "李强")
        e = employer(s, CS, "长沙甲公司")
        first = add_months(202407, -years * 12)  # paid up to 2024-06
        enr = enroll(s, p, CS, employer_id=e.id, start=first)
        contribution_months(s, enr, months(first, years * 12))
        return p.id

    return run(engine, build)


def test_shortfall_is_priced_paid_and_then_the_check_passes(engine: Engine) -> None:
    """28 local years for a Changsha man (30 required) → 24 months × 384.00 = 9216.00 (hypothetical
    formula). Assessed: DR person_receivable / CR contribution_deferred; paid: the receivable clears
    and the pooled fund gains 9216.00; the 24 months then count and he may retire."""
    reg = Registry(policy_files=[FIX])
    pid = _changsha_man(engine, 28, "changsha_lump_sum")
    check = run(engine, lambda s: retirement_check(s, "changsha", pid, ON, registry=reg))
    assert check["shortfall_months"] == 24 and check["shortfall_payment_fen"] == 921600
    due = run(engine, lambda s: shortfall_payment(s, CLERK, pid, "changsha", ON, "sf-1", registry=reg))
    assert (due["months"], due["amount_fen"], due["status"]) == (24, 921600, "due")
    assert "9216.00" in due["explanation"]["en"]
    assert run(engine, lambda s: shortfall_payment(s, CLERK, pid, "changsha", ON, "sf-1",
                                                   registry=reg)) == due
    with pytest.raises(InputError) as twice:
        run(engine, lambda s: shortfall_payment(s, CLERK, pid, "changsha", ON, "sf-2", registry=reg))
    assert "already has a shortfall payment due" in twice.value.en
    assert not run(engine, lambda s: retirement_check(s, "changsha", pid, ON, registry=reg))["eligible"]
    paid = run(engine, lambda s: settle_shortfall(s, CLERK, due["shortfall_id"], dt.date(2024, 7, 15),
                                                  "BANK-77", "pay-1"))
    assert paid["status"] == "paid" and paid["paid_on"] == "2024-07-15"
    after = run(engine, lambda s: retirement_check(s, "changsha", pid, dt.date(2024, 7, 31), registry=reg))
    assert after["eligible"] and after["months"]["shortfall_paid"] == 24 and after["qualifying_months"] == 360
    with Session(engine) as s:
        assert ledger.balance(s, ledger.account(s, CS, "person_receivable", pid)) == 0
        assert ledger.balance(s, ledger.account(s, CS, "pooled_fund")) == 921600
        assert ledger.balance(s, ledger.account(s, CS, "contribution_deferred")) == 0
    assert ledger_counts(engine)[2] == 0
    with pytest.raises(InputError) as again:
        run(engine, lambda s: settle_shortfall(s, CLERK, due["shortfall_id"], dt.date(2024, 7, 16), "B2"))
    assert "already paid" in again.value.en


def test_shipped_changsha_does_not_say_how_to_price_a_shortfall(engine: Engine) -> None:
    """PD changsha allows a lump sum or continuing to pay; the shipped file chooses neither."""
    pid = _changsha_man(engine, 28, "changsha")
    counts = ledger_counts(engine)
    with pytest.raises(UnknownParameterError) as err:
        run(engine, lambda s: shortfall_payment(s, CLERK, pid, "changsha", ON, "sf"))
    assert err.value.key == "retirement.shortfall.mode"
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ShortfallPayment)) == 0


def test_no_shortfall_nothing_to_pay(engine: Engine) -> None:
    reg = Registry(policy_files=[FIX])
    pid = _changsha_man(engine, 30, "changsha_lump_sum")
    with pytest.raises(InputError) as err:
        run(engine, lambda s: shortfall_payment(s, CLERK, pid, "changsha", ON, registry=reg))
    assert "no years are short" in err.value.en


# -- lump-sum plans -------------------------------------------------------------------------------
@given(total=st.integers(min_value=1, max_value=10**13), count=st.integers(min_value=1, max_value=600))
def test_instalments_sum_exactly_to_the_total(total: int, count: int) -> None:
    """The amounts add up to the total in fen; all but the last are equal; the last absorbs the
    remainder (less than one fen per instalment)."""
    parts = instalment_amounts(total, count)
    assert len(parts) == count and sum(parts) == total
    assert len(set(parts[:-1])) <= 1 and 0 <= parts[-1] - parts[0] < count


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(per=st.integers(min_value=1, max_value=10**9), retirees=st.integers(min_value=1, max_value=5000),
       count=st.integers(min_value=1, max_value=40), schedule=st.sampled_from(["yearly", "monthly"]))
def test_stored_plans_sum_exactly_to_their_total(engine: Engine, per: int, retirees: int, count: int,
                                                 schedule: str) -> None:
    """Whatever the bureau decides, the instalments stored add up to per-retiree × retirees and the
    ledger's receivable holds exactly that."""
    with Session(engine) as s, s.begin():
        if s.get(Region, JN) is None:
            s.add(Region(code=JN, policy="jinan", name_zh="济南", name_en="Jinan"))
            s.flush()
        emp = employer(s, JN, "济南某困难企业", hardship=True).id
    plan = _plan(engine, emp, amount_per_retiree_fen=per, retirees=retirees, instalments=count,
                 schedule=schedule, key=f"h-{emp}")
    with Session(engine) as s:
        stored = s.scalars(select(LumpSumInstalment.amount_fen).where(
            LumpSumInstalment.plan_id == plan["plan_id"])).all()
        assert len(stored) == count and sum(stored) == per * retirees == plan["total_fen"]
        assert ledger.balance(s, ledger.account(s, JN, "employer_receivable", emp)) == per * retirees


def _jinan(engine: Engine) -> int:
    def build(s: Session) -> int:
        s.add(Region(code=JN, policy="jinan", name_zh="济南", name_en="Jinan"))
        s.flush()
        return employer(s, JN, "济南某破产企业", hardship=True).id

    return run(engine, build)


def _plan(engine: Engine, emp: int, **change: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {"employer_id": emp, "region": "jinan", "amount_per_retiree_fen": 3_000_000,
                          "retirees": 7, "instalments": 11, "schedule": "monthly",
                          "first_due": dt.date(2005, 7, 31), "decided_on": dt.date(2005, 6, 1),
                          "document": "济南市医保办 一次性缴费分期决定（测试）"} | change
    return run(engine, lambda s: create_plan(s, CLERK, key=change.get("key", "plan-1"),
                                             **{k: v for k, v in kw.items() if k != "key"}))


def test_plan_of_30000_yuan_per_retiree_paid_in_instalments(engine: Engine) -> None:
    """Seed 003: 3万 per retiree; 7 retirees = 210000.00, here in 11 monthly instalments:
    19090.90 × 10 + 19091.00 (the last absorbs the 0.10 left over) = 210000.00 exactly.
    Ledger: DR employer_receivable / CR contribution_deferred 210000.00; each payment DR cash /
    CR employer_receivable, recognised DR contribution_deferred / CR pooled_fund."""
    emp = _jinan(engine)
    plan = _plan(engine, emp)
    amounts = [i["amount_fen"] for i in plan["instalments"]]
    assert plan["total_fen"] == 21_000_000 and sum(amounts) == 21_000_000
    assert amounts[:10] == [1_909_090] * 10 and amounts[10] == 1_909_100
    assert [i["due_date"] for i in plan["instalments"][:3]] == ["2005-07-31", "2005-08-31", "2005-09-30"]
    assert _plan(engine, emp) == plan  # replay
    after1 = run(engine, lambda s: pay_plan(s, CLERK, plan["plan_id"], 2_000_000, dt.date(2005, 7, 20), "B-1",
                                            "p1"))
    assert [i["status"] for i in after1["instalments"][:3]] == ["paid", "partial", "due"]
    assert after1["instalments"][1]["paid_fen"] == 90_910 and after1["outstanding_fen"] == 19_000_000
    with pytest.raises(InputError) as over:
        run(engine, lambda s: pay_plan(s, CLERK, plan["plan_id"], 19_000_001, dt.date(2005, 8, 1), "B-2"))
    assert "more than the 190000.00 yuan the plan still owes" in over.value.en
    done = run(engine, lambda s: pay_plan(s, CLERK, plan["plan_id"], 19_000_000, dt.date(2006, 5, 31), "B-3"))
    assert done["status"] == "paid" and done["outstanding_fen"] == 0
    assert all(i["status"] == "paid" for i in done["instalments"])
    with Session(engine) as s:
        assert ledger.balance(s, ledger.account(s, JN, "employer_receivable", emp)) == 0
        assert ledger.balance(s, ledger.account(s, JN, "pooled_fund")) == 21_000_000
        assert ledger.balance(s, ledger.account(s, JN, "cash")) == 21_000_000
        assert ledger.balance(s, ledger.account(s, JN, "contribution_deferred")) == 0
    assert ledger_counts(engine)[2] == 0


def test_plan_retirees_are_enrolled_separately_from_the_unit(engine: Engine) -> None:
    """Seed 003: retirees of bankrupt units brought into cover, enrolled apart from the unit, so
    the unit's arrears no longer touch them; a retiree already on the unit moves to a separate
    enrollment with the same retirement date and pension. The plan covers only its retirees."""
    emp = _jinan(engine)
    plan = _plan(engine, emp, retirees=2, instalments=2, schedule="yearly")

    def people(s: Session) -> tuple[int, int, int]:
        a = person(s, "male", dt.date(1940, 2, 2), "孙一")
        b = person(s, "female", dt.date(1945, 3, 3), "钱二")
        c = person(s, "female", dt.date(1946, 4, 4), "周三")
        s.add(Enrollment(person_id=b.id, region_code=JN, scheme="employee", category="retiree",
                         employer_id=emp,
                         start_month=200301, status="active", retired_on=dt.date(2000, 12, 31),
                         pension_fen=80000))
        return a.id, b.id, c.id

    a, b, c = run(engine, people)
    got_a = run(engine, lambda s: add_plan_retiree(s, CLERK, plan["plan_id"], a, "2005-07",
                                                   dt.date(1999, 5, 31), 75000, "m-a"))
    got_b = run(engine, lambda s: add_plan_retiree(s, CLERK, plan["plan_id"], b, "2005-07", key="m-b"))
    with Session(engine) as s:
        new_a = s.get_one(Enrollment, got_a["enrollment_id"])
        assert (new_a.category, new_a.employer_id, new_a.start_month, new_a.pension_fen) == (
            "retiree", None, 200507, 75000)
        old_b, new_b = s.scalars(select(Enrollment).where(Enrollment.person_id == b).order_by(Enrollment.id))
        assert (old_b.status, old_b.end_month, old_b.end_reason) == ("ended", 200506, "separate_enrollment")
        assert (new_b.employer_id, new_b.retired_on, new_b.pension_fen) == (None, dt.date(2000, 12, 31),
                                                                            80000)
    assert [m["person_id"] for m in got_b["members"]] == [a, b]
    with pytest.raises(InputError) as full:
        run(engine, lambda s: add_plan_retiree(s, CLERK, plan["plan_id"], c, "2005-07", dt.date(2001, 1, 1),
                                               1))
    assert "covers 2 retirees and is full" in full.value.en
    shown = run(engine, lambda s: show_plan(s, CLERK, plan["plan_id"]))
    assert shown["members"] == got_b["members"]


@pytest.mark.parametrize(("change", "field", "en"), [
    ({"amount_per_retiree_fen": 0}, "amount_per_retiree", "more than 0"),
    ({"retirees": 0}, "retirees", "a whole number ≥ 1"),
    ({"instalments": 601}, "instalments", "1 to 600"),
    ({"schedule": "weekly"}, "schedule", "expected yearly or monthly"),
    ({"first_due": dt.date(2005, 5, 31)}, "first_due", "before the decision date"),
    ({"document": ""}, "document", "name the bureau's decision"),
    ({"region": "beijing"}, "employer_id", "not 110000"),
    ({"employer_id": 10**6}, "employer_id", "no such employer"),
])
def test_bad_plans_are_refused_and_change_nothing(engine: Engine, change: dict[str, Any], field: str,
                                                   en: str) -> None:
    emp = _jinan(engine)
    counts = ledger_counts(engine)
    with pytest.raises(InputError) as err:
        _plan(engine, emp, **change)
    assert err.value.field == field and en in err.value.en
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LumpSumPlan)) == 0
        assert s.scalar(select(func.count()).select_from(LumpSumInstalment)) == 0
