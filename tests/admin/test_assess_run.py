"""The monthly assessment run: amounts by the rule, exactly once, resumable, ledger balanced.

Beijing 2024-03 (src/yibao/policy/params/beijing.yaml): base 6326–33891 yuan (京人社发〔2023〕8号,
2023-07..2024-06); employer 8% basic + 0.8% maternity + 1% large-amount (9.8%); individual 2% +
3 yuan 大额互助; flexible workers 7% of 7908 = 553.56 (DOMAIN §2.6); retirees 3 yuan.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_assess_world import BJ, STAFF, World, add_person, build

from yibao.admin import ledger
from yibao.admin.assessment import arrears, due_date, run_assessment
from yibao.admin.declarations import declare_wage
from yibao.admin.uow import run
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.ledger import LedgerAccount, LedgerEntry, LedgerTransfer
from yibao.db.models.ops import MonthlyRun
from yibao.errors import InputError

CM = ContributionMonth


def _wage(engine: Engine, w: World, name: str, fen: int, employer: str = "甲", month: int = 202401) -> None:
    run(engine, lambda s: declare_wage(s, STAFF, BJ, w.persons[name], "employer", w.employers[employer],
                                       month, fen))


def _ready(engine: Engine) -> World:
    """The world of test_assess_world with 张三 8000, 李四 40000 (above the cap), 钱七 undeclared."""
    w = build(engine)
    _wage(engine, w, "张三", 800000)
    _wage(engine, w, "李四", 4_000_000)
    return w


def _months(engine: Engine) -> dict[int, CM]:
    with Session(engine) as s:
        return {c.person_id: c for c in s.scalars(select(CM))}


def _ledger_sums(engine: Engine) -> dict[str, int]:
    """Raw signed sums (debit +) by account code, and the whole ledger under "*"."""
    with Session(engine) as s:
        out = {code: int(total) for code, total in s.execute(
            select(LedgerAccount.code, func.sum(LedgerEntry.amount_fen))
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id).group_by(LedgerAccount.code))}
        out["*"] = int(s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))) or 0)
        return out


def test_beijing_2024_03_amounts_by_category(engine: Engine) -> None:
    w = _ready(engine)
    summary = run_assessment(engine, BJ, "2024-03", actor=STAFF)
    rows = _months(engine)
    zhang = rows[w.persons["张三"]]
    # unit employee, wage 8000 → base 8000; employer 8% + 0.8% + 1% = 784.00; individual 2% + 3 yuan
    assert (zhang.base_fen, zhang.employer_basic_fen, zhang.employer_maternity_fen,
            zhang.employer_large_amount_fen, zhang.individual_basic_fen, zhang.fixed_premium_fen) == \
        (800000, 64000, 6400, 8000, 16000, 300)
    assert zhang.total_fen == 94700 and zhang.to_individual_account_fen == 16000
    assert (zhang.payer_kind, zhang.payer_id, zhang.category) == ("employer", w.employers["甲"], "in_service")
    assert zhang.due_date == dt.date(2024, 3, 31) == due_date(202403) and zhang.status == "due"
    li = rows[w.persons["李四"]]
    assert li.wage_fen == 4_000_000 and li.base_fen == 3_389_100  # clamped to the 33891 cap
    assert li.employer_basic_fen == 271_128  # 33891 × 8%
    wang = rows[w.persons["王五"]]  # flexible: 11297 × 70% = 7907.9 → 7908 × 7% = 553.56
    assert (wang.base_fen, wang.total_fen, wang.payer_kind, wang.payer_id) == \
        (790800, 55356, "person", w.persons["王五"])
    zhao = rows[w.persons["赵六"]]  # retiree: only the 3-yuan premium, to the large-amount fund
    assert (zhao.total_fen, zhao.fixed_premium_fen, zhao.to_large_amount_fund_fen) == (300, 300, 300)
    # 钱七 (unit 乙) has no declaration: listed, not assessed, the run is incomplete
    assert w.persons["钱七"] not in rows
    assert [(e.person_id, e.field) for e in summary.errors] == [(w.persons["钱七"], "wage_declaration")]
    assert "no wage declaration" in summary.errors[0].en
    assert summary.status == "incomplete" and summary.assessed == 4 == summary.rows_done
    assert summary.total_fen == sum(c.total_fen for c in rows.values())


def test_ledger_balanced_and_receivables_equal_assessed_totals(engine: Engine) -> None:
    w = _ready(engine)
    run_assessment(engine, BJ, 202403)
    rows = _months(engine)
    sums = _ledger_sums(engine)
    assert sums["*"] == 0
    unit = sum(c.total_fen for c in rows.values() if c.payer_kind == "employer")
    assert sums[f"{BJ}/employer_receivable/{w.employers['甲']}"] == unit
    for name in ("王五", "赵六"):
        assert sums[f"{BJ}/person_receivable/{w.persons[name]}"] == rows[w.persons[name]].total_fen
    assert sums[f"{BJ}/contribution_deferred"] == -sum(c.total_fen for c in rows.values())
    with Session(engine) as s:
        keys = sorted(s.scalars(select(LedgerTransfer.idempotency_key)))
        tb = ledger.trial_balance(s, dt.date(2024, 3, 31), BJ)
        assert sum(r.debit_fen for r in tb) == sum(r.credit_fen for r in tb)
        per_transfer = s.execute(select(LedgerEntry.transfer_id, func.sum(LedgerEntry.amount_fen))
                                 .group_by(LedgerEntry.transfer_id)).all()
        assert per_transfer and all(total == 0 for _, total in per_transfer)
    # one transfer per payer (the chunk holds everybody): unit 甲, 王五, 赵六
    assert len(keys) == 3 and all(k.startswith(f"assess:{BJ}:202403:") for k in keys)


def test_run_is_exactly_once_and_says_so(engine: Engine) -> None:
    w = _ready(engine)
    first = run_assessment(engine, BJ, 202403)
    before = (_months(engine), _ledger_sums(engine))
    again = run_assessment(engine, BJ, 202403)  # incomplete: 钱七 still has no declaration
    assert again.assessed == 0 and again.status == "incomplete" and len(again.errors) == 1
    _wage(engine, w, "钱七", 500000, employer="乙")  # below the floor: base 6326
    third = run_assessment(engine, BJ, 202403)
    assert third.assessed == 1 and third.status == "done" and third.errors == []
    assert third.rows_done == first.rows_done + 1 == 5
    qian = _months(engine)[w.persons["钱七"]]
    assert qian.base_fen == 632_600 and qian.payer_id == w.employers["乙"]
    after = _months(engine)
    assert {k: v.total_fen for k, v in before[0].items()} == \
        {k: v.total_fen for k, v in after.items() if k != w.persons["钱七"]}
    fourth = run_assessment(engine, BJ, 202403)
    assert fourth.already_done and fourth.assessed == 0 and fourth.rows_done == 5
    assert "already done" in fourth.message[1] and "已完成" in fourth.message[0]
    sums = _ledger_sums(engine)
    assert sums["*"] == 0 and sums[f"{BJ}/contribution_deferred"] == -sum(c.total_fen for c in after.values())
    with Session(engine) as s:
        r = s.scalars(select(MonthlyRun)).one()
        assert (r.status, r.rows_done, r.kind) == ("done", 5, "assessment")


def test_reopen_assesses_only_new_enrollments(engine: Engine) -> None:
    w = _ready(engine)
    _wage(engine, w, "钱七", 500000, employer="乙")
    assert run_assessment(engine, BJ, 202403).status == "done"
    run(engine, lambda s: add_person(s, w, "新人", category="retiree", start=202403))
    assert run_assessment(engine, BJ, 202403).already_done
    reopened = run_assessment(engine, BJ, 202403, reopen=True)
    assert reopened.assessed == 1 and reopened.status == "done" and reopened.rows_done == 6


class Crash(RuntimeError):
    pass


def test_crash_in_the_second_chunk_then_rerun_completes_exactly_once(engine: Engine) -> None:
    w = _ready(engine)
    _wage(engine, w, "钱七", 900000, employer="乙")

    def boom(chunk_no: int) -> None:
        if chunk_no == 2:
            raise Crash("killed inside chunk 2")

    with pytest.raises(Crash):
        run_assessment(engine, BJ, 202403, chunk_size=2, before_commit=boom)
    partial = _months(engine)
    assert len(partial) == 2  # chunk 1 committed with its postings; chunk 2 rolled back whole
    sums = _ledger_sums(engine)
    assert sums["*"] == 0
    assert sums[f"{BJ}/contribution_deferred"] == -sum(c.total_fen for c in partial.values())
    with Session(engine) as s:
        assert s.scalars(select(MonthlyRun)).one().status == "running"
    done = run_assessment(engine, BJ, 202403, chunk_size=2)
    assert done.status == "done" and done.assessed == 3 and done.rows_done == 5
    rows = _months(engine)
    assert len(rows) == 5
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(CM)) == 5  # one row per person-month
    sums = _ledger_sums(engine)
    assert sums["*"] == 0 and sums[f"{BJ}/contribution_deferred"] == -sum(c.total_fen for c in rows.values())
    assert sums[f"{BJ}/employer_receivable/{w.employers['甲']}"] == \
        rows[w.persons["张三"]].total_fen + rows[w.persons["李四"]].total_fen


def test_chunk_size_does_not_change_the_result(engine: Engine) -> None:
    """Same rows and the same receivables whether the month runs in one chunk or one row at a time, with
    COPY or executemany (PostgreSQL; SQLite always uses executemany)."""
    w = _ready(engine)
    _wage(engine, w, "钱七", 900000, employer="乙")
    run_assessment(engine, BJ, 202403, chunk_size=1)
    one_by_one = ({k: v.total_fen for k, v in _months(engine).items()}, _ledger_sums(engine))
    run_assessment(engine, BJ, 202404, chunk_size=1000, bulk="executemany")  # COPY was used for March
    with Session(engine) as s:
        april = {c.person_id: c.total_fen for c in s.scalars(select(CM).where(CM.month == 202404))}
    assert april == one_by_one[0]  # March and April share the 2023-07..2024-06 parameters
    sums = _ledger_sums(engine)
    for code, total in one_by_one[1].items():
        assert sums[code] == 2 * total


def test_who_is_assessed(engine: Engine) -> None:
    w = build(engine)

    def more(s: Session) -> None:
        add_person(s, w, "离职", employer="甲", end=202402)  # left in February
        add_person(s, w, "未到", employer="甲", start=202404)  # starts in April
        add_person(s, w, "暂停", category="retiree", status="suspended")
        pid = add_person(s, w, "故去", category="retiree")
        from yibao.db.models.register import Person

        person = s.get(Person, pid)
        assert person is not None
        person.death_date = dt.date(2024, 2, 10)
        add_person(s, w, "沪人", category="retiree", region="310000")

    run(engine, more)
    _wage(engine, w, "张三", 800000)
    _wage(engine, w, "李四", 800000)
    _wage(engine, w, "钱七", 800000, employer="乙")
    _wage(engine, w, "离职", 800000)
    summary = run_assessment(engine, BJ, 202403)
    assessed = set(_months(engine))
    assert assessed == {w.persons[n] for n in ("张三", "李四", "钱七", "王五", "赵六")}
    assert summary.status == "done"


def test_unknown_parameters_are_listed_per_row(engine: Engine) -> None:
    """Beijing's new-form base share is not in the policy file (unknown): such rows are listed with
    the parameter named, the others are assessed."""
    w = build(engine)
    run(engine, lambda s: add_person(s, w, "骑手", category="new_form"))
    run(engine, lambda s: declare_wage(s, STAFF, BJ, w.persons["骑手"], "person", w.persons["骑手"], 202401,
                                       600000))
    summary = run_assessment(engine, BJ, 202403)
    fields = {(e.person_id, e.field) for e in summary.errors}
    assert (w.persons["骑手"], "policy") in fields
    rider = next(e for e in summary.errors if e.person_id == w.persons["骑手"])
    assert "contribution.new_form.base_share" in rider.en
    assert w.persons["王五"] in _months(engine) and summary.status == "incomplete"


def test_arrears_lists_open_months_with_outstanding(engine: Engine) -> None:
    w = _ready(engine)
    run_assessment(engine, BJ, 202403)
    run_assessment(engine, BJ, 202404)

    def pay_part(s: Session) -> None:  # the payments helper's job; enough here to make a month partial
        cm = s.scalars(select(CM).where(CM.person_id == w.persons["张三"], CM.month == 202403)).one()
        cm.paid_fen, cm.status = 50000, "partial"

    run(engine, pay_part)
    with Session(engine) as s:
        unit = arrears(s, BJ, "employer", w.employers["甲"])
        assert [(r.person_id, r.month) for r in unit] == [
            (w.persons["张三"], 202403), (w.persons["张三"], 202404), (w.persons["李四"], 202403),
            (w.persons["李四"], 202404)]
        assert unit[0].outstanding_fen == 94700 - 50000 and unit[0].status == "partial"
        assert len(arrears(s, BJ, as_of_month="2024-03")) == 4  # 张三, 李四, 王五, 赵六 in March
        assert {r.payer_kind for r in arrears(s, BJ)} == {"employer", "person"}
        with pytest.raises(InputError):
            arrears(s, BJ, "unit")


def test_bad_arguments(engine: Engine) -> None:
    build(engine)
    with pytest.raises(InputError) as e:
        run_assessment(engine, BJ, "2024-13")
    assert e.value.field == "month"
    with pytest.raises(InputError) as e:
        run_assessment(engine, "999999", 202403)
    assert e.value.field == "region"
    with pytest.raises(InputError) as e:
        run_assessment(engine, BJ, 202403, chunk_size=0)
    assert e.value.field == "chunk_size"
