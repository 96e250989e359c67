"""Transfer between two regions of one installation (转移接续; DOMAIN §7; 基本医疗保险关系转移接续
暂行办法 2021-11, PD national_rules): periods carried and recognised, the gap, the balance moved.

Beijing (110000) → Shanghai (310000). Shanghai's conversion ratio (80%), balance rule and waiting
period after a long gap are hypothetical values in a user region file (no source gives them);
everything else is the shipped Shanghai file: 2024-06 employer 8.5% + 地方附加 1.5% + individual 2%
on a 10000-yuan base = 1200.00 a month (PD shanghai), back-payable gap ≤ 3 months (2021-11 rules).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_transfer_support import (
    BJ,
    SH,
    contribution_months,
    employer,
    enroll,
    fund_account,
    ledger_counts,
    months,
    person,
    shanghai_registry,
)

from yibao.admin import ledger
from yibao.admin.transfer import complete_transfer, count_record, show_transfer, transfer_in, transfer_out
from yibao.admin.uow import SYSTEM, Actor, IdempotencyConflict, run
from yibao.db.models.cases import TransferCase
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Person, Region
from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry

CLERK = Actor("clerk", "operator")


def _beijing_member(engine: Engine, end: int, balance_fen: int = 123456) -> tuple[int, int]:
    """A Beijing unit employee paid from 2020-01 to ``end``; account balance ``balance_fen``."""
    def build(s: Session) -> tuple[int, int]:
        p = person(s)
        e_bj = employer(s, BJ, "北京甲公司")
        e_sh = employer(s, SH, "上海乙公司")
        enr = enroll(s, p, BJ, employer_id=e_bj.id, start=202001)
        n = (end // 100 - 2020) * 12 + end % 100
        contribution_months(s, enr, months(202001, n))
        if balance_fen:
            fund_account(s, p, BJ, balance_fen)
        return p.id, e_sh.id

    return run(engine, build)


def _out(engine: Engine, pid: int, end: str, key: str = "out-1") -> dict[str, Any]:
    return run(engine, lambda s: transfer_out(s, CLERK, pid, "beijing", end, key=key))


def _in(engine: Engine, case_id: int, start: str, emp: int | None, reg: Registry | None, key: str = "in-1",
        to: str = "shanghai") -> dict[str, Any]:
    return run(engine, lambda s: transfer_in(s, CLERK, case_id, to, start, "in_service", emp, key=key,
                                             registry=reg))


def test_two_month_gap_is_back_payable_and_the_balance_moves_exactly(engine: Engine, tmp_path: Path) -> None:
    """End 2024-03 in Beijing, start 2024-06 in Shanghai: 2 gap months (April, May) ≤ 3, so they
    can be back-paid: 2 × 1200.00 = 2400.00 due; continuity kept (benefits from 2024-06).
    51 months paid in Beijing × 80% (hypothetical) = 40.8 → 40 months (never a part month).
    The account balance 1234.56 moves in one transfer: Beijing's account 0, Shanghai's 1234.56."""
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    out = _out(engine, pid, "2024-03")
    assert out["status"] == "issued" and out["carried_months"] == {"actual": 51, "deemed": 0, "back_paid": 0}
    assert out["balance_at_issue_fen"] == 123456 and out["to_region"] is None
    before = ledger_counts(engine)
    got = _in(engine, out["case_id"], "2024-06", emp, reg)
    assert got["status"] == "received" and got["to_region"] == SH
    assert got["gap_months"] == 2 and got["backpay_months"] == 2
    assert got["monthly_due_fen"] == 120000 and got["backpay_due_fen"] == 240000
    assert got["transferred_months"] == 51 and got["recognised_months"] == 40
    assert got["benefit_start_month"] == "2024-06" and got["waiting_months"] == 0
    assert got["balance_moved_fen"] == 123456
    assert "2400.00" in got["explanation"]["transfer"]["en"]
    with Session(engine) as s:
        ia_bj = ledger.account(s, BJ, "individual_account", pid)
        ia_sh = ledger.account(s, SH, "individual_account", pid)
        assert ledger.balance(s, ia_bj) == 0 and ledger.balance(s, ia_sh) == 123456
        opening, lines = ledger.statement(s, ia_sh)
        assert opening == 0 and [(ln.kind, ln.amount_fen) for ln in lines] == [("account_transfer", 123456)]
        assert lines[0].value_date == dt.date(2024, 6, 1)
        for region in (BJ, SH):  # each region's books balance on their own
            rows = ledger.trial_balance(s, dt.date(2024, 12, 31), region)
            assert sum(r.debit_fen for r in rows) == sum(r.credit_fen for r in rows)
        new = s.scalars(select(Enrollment).where(Enrollment.person_id == pid).order_by(Enrollment.id)).all()
        assert [(e.region_code, e.status, e.end_reason, e.end_month, e.start_month) for e in new] == [
            (BJ, "ended", "transfer_out", 202403, 202001), (SH, "active", None, None, 202406)]
    after = ledger_counts(engine)
    assert after[0] == before[0] + 1 and after[1] == before[1] + 4 and after[2] == 0


def test_replaying_the_same_key_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    out = _out(engine, pid, "2024-03")
    assert _out(engine, pid, "2024-03") == out
    first = _in(engine, out["case_id"], "2024-06", emp, reg)
    counts = ledger_counts(engine)
    assert _in(engine, out["case_id"], "2024-06", emp, reg) == first
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 2
    with pytest.raises(IdempotencyConflict):
        _in(engine, out["case_id"], "2024-07", emp, reg)  # same key, another request


def test_five_month_gap_brings_the_waiting_rule_of_the_receiving_region(engine: Engine,
                                                                        tmp_path: Path) -> None:
    """End 2023-12, start 2024-06: 5 gap months > 3 — nothing back-payable; the receiving region's
    wait after a gap (6 months, hypothetical) counted from the month after cover starts
    (next_month, hypothetical): full benefits from 2024-06 + 1 + 6 = 2025-01, nothing before (the
    national reduced share during a wait is 0%)."""
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202312)
    out = _out(engine, pid, "2023-12")
    got = _in(engine, out["case_id"], "2024-06", emp, reg)
    assert got["gap_months"] == 5 and got["backpay_months"] == 0 and got["backpay_due_fen"] == 0
    assert got["waiting_months"] == 6 and got["full_benefit_month"] == "2025-01"
    assert got["status"] == "completed"
    assert "waiting period of 6 months" in got["explanation"]["eligibility"]["en"]
    assert got["recognised_months"] == 48 * 8 // 10  # 48 months × 80% = 38.4 → 38


def test_transfer_into_the_same_region_is_refused_and_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    reg = shanghai_registry(engine, tmp_path)
    pid, _ = _beijing_member(engine, 202403)
    out = _out(engine, pid, "2024-03")
    counts = ledger_counts(engine)
    with pytest.raises(InputError) as err:
        _in(engine, out["case_id"], "2024-06", None, reg, to="beijing")
    assert err.value.field == "to_region" and "two different regions" in err.value.en
    assert "相同" in err.value.zh
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        case = s.get(TransferCase, out["case_id"])
        assert case is not None and case.status == "issued" and case.to_region is None
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_a_case_already_received_is_refused(engine: Engine, tmp_path: Path) -> None:
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    out = _out(engine, pid, "2024-03")
    _in(engine, out["case_id"], "2024-06", emp, reg)
    counts = ledger_counts(engine)
    with pytest.raises(InputError) as err:
        _in(engine, out["case_id"], "2024-06", emp, reg, key="in-2")
    assert err.value.field == "case_id" and "already received" in err.value.en
    assert ledger_counts(engine) == counts


def test_shipped_regions_have_no_conversion_ratio_the_transfer_stops_naming_it(engine: Engine) -> None:
    """No source quantifies conversion ratios (DOMAIN §7): shipped Shanghai leaves it unknown."""
    pid, emp = _beijing_member(engine, 202403)
    out = _out(engine, pid, "2024-03")
    counts = ledger_counts(engine)
    with pytest.raises(UnknownParameterError) as err:
        _in(engine, out["case_id"], "2024-06", emp, None)
    assert err.value.key == "transfer.years_conversion_ratio"
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        case = s.get(TransferCase, out["case_id"])
        assert case is not None and case.status == "issued"


@pytest.mark.parametrize(("kwargs", "field", "en"), [
    ({"from_region": "guangzhou"}, "from_region", "not a pooling region of this installation"),
    ({"from_region": "shanghai"}, "person_id", "no employee enrollment in region 310000"),
    ({"end_month": "2024-13"}, "end_month", "a month is YYYYMM"),
    ({"end_month": "2019-12"}, "end_month", "cannot be before the enrollment's start month"),
    ({"end_month": "2024-02"}, "end_month", "2024-03 and later are already assessed"),
    ({"person_id": 999999}, "person_id", "no such person"),
])
def test_bad_transfer_out_is_refused_and_changes_nothing(engine: Engine, kwargs: dict[str, Any], field: str,
                                                         en: str) -> None:
    pid, _ = _beijing_member(engine, 202403)
    args: dict[str, Any] = {"person_id": pid, "from_region": "beijing", "end_month": "2024-03"} | kwargs
    with pytest.raises(InputError) as err:
        run(engine, lambda s: transfer_out(s, CLERK, key="bad", **args))
    assert err.value.field == field and en in err.value.en
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(TransferCase)) == 0
        enr = s.scalars(select(Enrollment)).one()
        assert enr.status == "active" and enr.end_month is None


def test_a_second_transfer_out_while_one_is_pending_is_refused(engine: Engine) -> None:
    pid, _ = _beijing_member(engine, 202403)
    first = _out(engine, pid, "2024-03")
    with pytest.raises(InputError) as err:
        _out(engine, pid, "2024-03", key="out-2")
    assert f"({first['case_id']})" in err.value.en


def test_bad_transfer_in_is_refused_and_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    out = _out(engine, pid, "2024-03")
    with Session(engine) as s:
        bj_emp = employer(s, BJ, "北京丙公司")
        s.commit()
        bj_emp_id = bj_emp.id
    counts = ledger_counts(engine)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"start_month": "2024-03"}, "start_month", "must be after the end month"),
        ({"category": "retiree"}, "category", "expected in_service, flexible or new_form"),
        ({"employer_id": None}, "employer_id", "with a registered employer"),
        ({"employer_id": bj_emp_id}, "employer_id", "not in 310000"),
        ({"case_id": 4242}, "case_id", "no such transfer case"),
    ]
    for change, field, en in cases:
        args: dict[str, Any] = {"case_id": out["case_id"], "to_region": "shanghai", "start_month": "2024-06",
                                "category": "in_service", "employer_id": emp} | change
        with pytest.raises(InputError) as err:
            run(engine, lambda s, a=args: transfer_in(s, CLERK, registry=reg, **a))  # type: ignore[misc]
        assert err.value.field == field and en in err.value.en, (change, err.value.en)
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_a_member_still_enrolled_elsewhere_cannot_transfer_in(engine: Engine, tmp_path: Path) -> None:
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    out = _out(engine, pid, "2024-03")
    with Session(engine) as s, s.begin():
        enroll(s, s.get_one(Person, pid), BJ, "flexible", start=202404)
    with pytest.raises(InputError) as err:
        _in(engine, out["case_id"], "2024-06", emp, reg)
    assert "one person cannot hold two" in err.value.en


def test_back_paid_gap_completes_the_case_declining_brings_the_wait(engine: Engine, tmp_path: Path) -> None:
    """A received case with a back-payable gap stays open until the gap months are paid; a member
    who declines gets the receiving region's wait for a gap not back-paid (6 months, hypothetical)."""
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    got = _in(engine, _out(engine, pid, "2024-03")["case_id"], "2024-06", emp, reg)
    cid = got["case_id"]
    with pytest.raises(InputError) as err:
        run(engine, lambda s: complete_transfer(s, CLERK, cid, dt.date(2024, 6, 30), registry=reg))
    assert "2024-04, 2024-05" in err.value.en
    declined = run(engine, lambda s: complete_transfer(s, CLERK, cid, dt.date(2024, 6, 30), declined=True,
                                                       registry=reg, key="decline"))
    assert declined["status"] == "completed" and declined["waiting_months"] == 6
    assert declined["explanation"]["eligibility"]["assumes_gap_back_paid"] is False


def test_gap_months_paid_complete_the_case(engine: Engine, tmp_path: Path) -> None:
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    got = _in(engine, _out(engine, pid, "2024-03")["case_id"], "2024-06", emp, reg)

    def back_pay(s: Session) -> None:
        enr = s.get_one(Enrollment, got["to_enrollment_id"])
        contribution_months(s, enr, [202404, 202405], late={202404, 202405})

    run(engine, back_pay)
    done = run(engine, lambda s: complete_transfer(s, CLERK, got["case_id"], dt.date(2025, 6, 30)))
    assert done["status"] == "completed" and done["completed_on"] == "2025-06-30"


def test_show_is_audited_and_the_record_counts_transferred_months_once(engine: Engine,
                                                                       tmp_path: Path) -> None:
    """After the transfer, Shanghai counts Beijing's 51 months as the 40 it recognised (not as 51
    actual months too), plus its own paid months."""
    reg = shanghai_registry(engine, tmp_path)
    pid, emp = _beijing_member(engine, 202403)
    got = _in(engine, _out(engine, pid, "2024-03")["case_id"], "2024-06", emp, reg)

    def more(s: Session) -> None:
        contribution_months(s, s.get_one(Enrollment, got["to_enrollment_id"]), months(202406, 6))

    run(engine, more)
    rec = run(engine, lambda s: count_record(s, pid, SH, dt.date(2024, 12, 31)))
    assert (rec.actual_months, rec.local_actual_months, rec.transferred_months) == (6, 6, 40)
    shown = run(engine, lambda s: show_transfer(s, SYSTEM, got["case_id"]))
    assert shown == got | {"status": "received"}
    from yibao.admin.audit import events_for

    with Session(engine) as s:
        actions = [e.action for e in events_for(s, "transfer_case", got["case_id"])]
    assert actions == ["transfer.out", "transfer.in", "transfer.read"]


BEIJING_TRANSFER = """
region: {code: "990111", pinyin: beijing_transfer_test, name_zh: 北京（转移接续参数为假设值）,
         name_en: Beijing with hypothetical transfer parameters, inherits: beijing,
         pooling_level: hypothetical, confidence: low}
sources:
  hypothetical: {title: "hypothetical transfer parameters for a test; no source gives them (DOMAIN §7)",
                 confidence: low}
parameters:
  transfer.years_conversion_ratio: [{from: 2020-01-01, value: "50%", source: hypothetical}]
  transfer.account_balance_follows: [{from: 2020-01-01, value: true, source: hypothetical}]
"""


def test_a_chain_there_and_back_counts_every_month_once(engine: Engine, tmp_path: Path) -> None:
    """Beijing → Shanghai → Beijing (hypothetical ratios 80% in Shanghai, 50% in Beijing). Shanghai
    recognised Beijing's 51 months as 40. Back in Beijing, those 40 are Beijing's own (local, as
    they are) and Shanghai's 6 months count 50% = 3: 43 recognised. With 6 more months paid in
    Beijing the record holds 46 actual (all local) + 3 transferred — no month twice."""
    shanghai_registry(engine, tmp_path)  # region 310000 on the Shanghai test file
    bj_file = tmp_path / "beijing_transfer_test.yaml"
    bj_file.write_text(BEIJING_TRANSFER, encoding="utf-8")
    reg = Registry(policy_files=[tmp_path / "shanghai_transfer_test.yaml", bj_file])
    with Session(engine) as s, s.begin():
        s.get_one(Region, BJ).policy = "beijing_transfer_test"
    pid, sh_emp = _beijing_member(engine, 202403)
    first = _in(engine, _out(engine, pid, "2024-03")["case_id"], "2024-06", sh_emp, reg)

    def work_in_shanghai(s: Session) -> int:
        contribution_months(s, s.get_one(Enrollment, first["to_enrollment_id"]), months(202406, 6))
        return employer(s, BJ, "北京丁公司").id

    bj_emp = run(engine, work_in_shanghai)
    back_out = run(engine, lambda s: transfer_out(s, CLERK, pid, "shanghai", "2024-11", key="out-back"))
    assert back_out["carries_case_id"] == first["case_id"]
    assert [(p["region"], p["months"], p["origin"]) for p in back_out["periods"]] == [
        (SH, 6, "contribution_month"), (BJ, 40, "transfer")]
    back = run(engine, lambda s: transfer_in(s, CLERK, back_out["case_id"], "beijing", "2024-12",
                                             "in_service", bj_emp, key="in-back", registry=reg))
    assert (back["local_months"], back["transferred_months"], back["recognised_months"]) == (40, 6, 43)
    assert back["balance_moved_fen"] == 123456 and back["status"] == "completed"

    def work_in_beijing(s: Session) -> None:
        contribution_months(s, s.get_one(Enrollment, back["to_enrollment_id"]), months(202412, 6))

    run(engine, work_in_beijing)
    rec = run(engine, lambda s: count_record(s, pid, BJ, dt.date(2025, 6, 30)))
    assert (rec.actual_months, rec.local_actual_months, rec.transferred_months) == (46, 46, 3)
    with Session(engine) as s:
        assert ledger.balance(s, ledger.account(s, BJ, "individual_account", pid)) == 123456
        assert ledger.balance(s, ledger.account(s, SH, "individual_account", pid)) == 0
    assert ledger_counts(engine)[2] == 0
