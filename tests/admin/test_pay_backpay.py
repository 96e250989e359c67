"""Arrears and back-payment (补缴): the quote lists the months owed and says whether paying them keeps
continuity (DOMAIN §2.7, §5).

- National rule from 2021-11-29 (基本医疗保险关系转移接续暂行办法, national.yaml
  eligibility.backpay_max_gap_months = 3): a gap of at most 3 months, back-paid, counts as
  continuous and is covered retroactively.
- Fujian (福建省医疗保障局, PD other_regions_examples, high; DOMAIN §5): a longer gap, back-paid,
  brings a 3-month wait at 50%; not back-paid, 6 months at 50%.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_pay_support import assess, employer, enroll, person

from yibao.admin import payments
from yibao.admin.uow import SYSTEM, run
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.register import Region
from yibao.errors import InputError
from yibao.policy.registry import Registry

BJ = "110000"
WAGE = 1_000_000
MONTH_TOTAL = 118_300  # Beijing 2023-07..2024-06 on a 10000 base (see test_pay_payments)

# Beijing's contribution rules with Fujian's sourced waiting rule: a test region only, because no
# shipped region of this installation has its waiting periods sourced yet.
FUJIAN_WAIT = """
region:
  code: "990350"
  pinyin: beijing_fujian_wait
  name_zh: 测试地区（北京缴费规则，福建等待期）
  name_en: test region (Beijing contributions, Fujian waiting rule)
  inherits: beijing
  pooling_level: hypothetical
  confidence: low
sources:
  fj_wait:
    title: 福建省医疗保障局 断保补缴与待遇等待期
    href: "https://ybj.fj.gov.cn/bsfw/syldylbzfw/ybbnx/202407/t20240712_6482630.htm"
    confidence: high
parameters:
  eligibility.waiting.after_gap_months:
    - {from: 2024-04-19, value: 6, source: fj_wait, note: "gap with no back-pay: 6 months at 50%"}
  eligibility.waiting.after_gap_backpaid_months:
    - {from: 2024-04-19, value: 3, source: fj_wait, note: "gap over 3 months, back-paid: 3 months at 50%"}
  eligibility.waiting.reduced_share:
    - {from: 2024-04-19, value: "50%", source: fj_wait}
  eligibility.benefit_start:
    - {from: 2024-04-19, value: same_month, source: fj_wait}
"""


def _history(engine: Engine, region: str, months: list[int], paid: list[int],
             registry: Registry | None = None) -> dict[str, Any]:
    """A unit employee with ``months`` assessed, of which ``paid`` were paid on their due date."""
    def step(s: Session) -> dict[str, Any]:
        emp = employer(s)
        if region != BJ:
            emp.region_code = region
        p = person(s, dt.date(1985, 3, 3))
        en = enroll(s, p, region, "in_service", emp, start_month=months[0])
        cms = {m: assess(s, en, m, WAGE, registry=registry) for m in months}
        s.flush()
        for m in paid:
            payments.record_payment(s, SYSTEM, region, "employer", emp.id, cms[m].total_fen, cms[m].due_date,
                                    f"ON-TIME-{m}", months=[m], registry=registry)
        return {"employer": emp.id, "person": p.id}
    return run(engine, step)


def test_two_month_gap_back_paid_keeps_continuity(engine: Engine) -> None:
    ids = _history(engine, BJ, [202310, 202311, 202312, 202401, 202402, 202403],
                   paid=[202310, 202311, 202312, 202403])
    q = run(engine, lambda s: payments.backpay_quote(s, BJ, person_id=ids["person"],
                                                     as_of=dt.date(2024, 4, 20)))
    assert [m.month for m in q.months] == [202401, 202402]
    assert all(m.overdue for m in q.months) and q.total_owed_fen == 2 * MONTH_TOTAL
    [c] = q.continuity
    assert (c.gap_months, c.gap_from, c.gap_to, c.backpaid_by_quote) == (2, 202401, 202402, True)
    assert (c.max_gap_months, c.continuity_kept, c.waiting_months_if_paid) == (3, True, 0)
    assert "eligibility.backpay_max_gap_months" in c.explanation_en and "视为连续参保" in c.explanation_zh
    # paying them is a back-payment: paid after the due date, months closed and recognised
    run(engine, lambda s: payments.record_payment(s, SYSTEM, BJ, "employer", ids["employer"], 2 * MONTH_TOTAL,
                                                  dt.date(2024, 4, 20), "BACK", months=[202401, 202402]))
    with Session(engine) as s:
        cms = s.query(ContributionMonth).filter(ContributionMonth.month.in_([202401, 202402])).all()
        assert all(c.status == "paid" and c.recognised and c.paid_on and c.paid_on > c.due_date for c in cms)
    q2 = run(engine, lambda s: payments.backpay_quote(s, BJ, person_id=ids["person"],
                                                      as_of=dt.date(2024, 4, 21)))
    assert q2.months == [] and q2.continuity[0].gap_months == 0


def test_paying_part_of_a_gap_is_not_a_back_paid_gap(engine: Engine) -> None:
    ids = _history(engine, BJ, [202310, 202311, 202312, 202401, 202402, 202403],
                   paid=[202310, 202311, 202312, 202403])
    q = run(engine, lambda s: payments.backpay_quote(s, BJ, person_id=ids["person"], months=["2024-01"],
                                                     as_of=dt.date(2024, 4, 20)))
    [c] = q.continuity
    assert [m.month for m in q.months] == [202401] and not c.backpaid_by_quote and c.continuity_kept is False


def test_five_month_gap_in_beijing_needs_the_regions_waiting_rule(engine: Engine) -> None:
    """Beijing's policy file has no sourced waiting period after a long gap: the quote says the
    gap breaks continuity and names the parameter a source is needed for (never a guess)."""
    ids = _history(engine, BJ, [202312, 202401, 202402, 202403, 202404, 202405, 202406],
                   paid=[202312, 202406])
    q = run(engine, lambda s: payments.backpay_quote(s, BJ, person_id=ids["person"],
                                                     as_of=dt.date(2024, 7, 20)))
    assert [m.month for m in q.months] == [202401, 202402, 202403, 202404, 202405]
    [c] = q.continuity
    assert (c.gap_months, c.max_gap_months, c.continuity_kept) == (5, 3, False)
    assert c.waiting_months_if_paid is None
    assert "eligibility.waiting.after_gap_backpaid_months" in c.unknown
    assert "eligibility.waiting.after_gap_backpaid_months" in c.explanation_en


def test_five_month_gap_gets_fujians_waiting_period(engine: Engine, tmp_path: Path) -> None:
    f = tmp_path / "fj.yaml"
    f.write_text(FUJIAN_WAIT, encoding="utf-8")
    reg = Registry(policy_files=[f])
    with Session(engine) as s, s.begin():
        s.add(Region(code="990350", policy="beijing_fujian_wait", name_zh="测试", name_en="test"))
    ids = _history(engine, "990350", [202312, 202401, 202402, 202403, 202404, 202405, 202406],
                   paid=[202312, 202406], registry=reg)
    q = run(engine, lambda s: payments.backpay_quote(s, "990350", person_id=ids["person"],
                                                     as_of=dt.date(2024, 7, 20), registry=reg))
    [c] = q.continuity
    assert (c.gap_months, c.continuity_kept) == (5, False)
    assert (c.waiting_months_if_paid, c.waiting_months_if_not_paid, c.reduced_share_bp) == (3, 6, 5000)
    assert "ybj.fj.gov.cn" in c.explanation_zh  # the source is cited


def test_quote_refuses_a_closed_or_unassessed_month(engine: Engine) -> None:
    ids = _history(engine, BJ, [202401, 202402], paid=[202401])
    with pytest.raises(InputError) as e:
        run(engine, lambda s: payments.backpay_quote(s, BJ, person_id=ids["person"], months=[202401],
                                                     as_of=dt.date(2024, 5, 1)))
    assert "2024-01" in e.value.zh and "closed" in e.value.en
    with pytest.raises(InputError) as e:
        run(engine, lambda s: payments.backpay_quote(s, BJ, person_id=ids["person"], months=[202409],
                                                     as_of=dt.date(2024, 5, 1)))
    assert "not been assessed" in e.value.en


def test_arrears_per_month_for_the_payer(engine: Engine) -> None:
    ids = _history(engine, BJ, [202401, 202402, 202403], paid=[202402])
    with Session(engine) as s:
        owed = payments.arrears(s, BJ, dt.date(2024, 4, 1), payer=("employer", ids["employer"]))
    # 2024-03 is due on 2024-04-15 (test convention), so not yet in arrears on 2024-04-01
    assert [(m.month, m.owed_fen) for m in owed] == [(202401, MONTH_TOTAL)]
