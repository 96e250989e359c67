"""Retirement check and the switch to retiree cover (DOMAIN §6; Social Insurance Law art. 27).

Beijing: men 25, women 20 years (PD beijing, the 2012 rule). Whether Beijing requires years paid
in Beijing is not sourced, so the shipped file leaves ``retirement.min_local_actual_years``
unknown and the check stops naming it; the other Beijing tests run on a user file that inherits
Beijing and sets that one value to 0 (hypothetical). Changsha: 30 / 25 years including 10 years
actually paid in the province; deemed years count (PD changsha), the shipped file as it is.
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
    assess_open,
    contribution_months,
    employer,
    enroll,
    ledger_counts,
    months,
    person,
    shanghai_registry,
    span,
)

from yibao.admin import ledger
from yibao.admin.accounts import credit_retirees
from yibao.admin.audit import events_for
from yibao.admin.retirement import (
    RetirementRefused,
    clear_unit_arrears_for,
    record_history,
    retire,
    retirement_check,
)
from yibao.admin.transfer import count_record, transfer_in, transfer_out
from yibao.admin.uow import Actor, run
from yibao.db.models.cases import ContributionPeriod
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Region
from yibao.errors import InputError, UnknownParameterError
from yibao.policy.registry import Registry

CLERK = Actor("clerk", "operator")
ON = dt.date(2024, 6, 30)
CS = "430100"

BEIJING_LOCAL = """
region: {code: "990110", pinyin: beijing_local_test, name_zh: 北京（本地年限为假设值）,
         name_en: Beijing with a hypothetical local minimum, inherits: beijing,
         pooling_level: hypothetical, confidence: low}
sources:
  hypothetical: {title: "hypothetical: no local minimum (not sourced for Beijing)", confidence: low}
parameters:
  retirement.min_local_actual_years: [{from: 2012-01-01, value: 0, source: hypothetical}]
"""


def beijing_registry(engine: Engine, tmp_path: Path) -> Registry:
    f = tmp_path / "beijing_local_test.yaml"
    f.write_text(BEIJING_LOCAL, encoding="utf-8")
    with Session(engine) as s, s.begin():
        s.get_one(Region, BJ).policy = "beijing_local_test"
    return Registry(policy_files=[f])


def _beijing_woman(engine: Engine, paid: int, first: int = 200401) -> tuple[int, int]:
    """A woman employed in Beijing since ``first``, ``paid`` months paid from then on."""
    def build(s: Session) -> tuple[int, int]:
        p = person(s, "female", dt.date(1974, 3, 8))
        e = employer(s, BJ, "北京甲公司")
        enr = enroll(s, p, BJ, employer_id=e.id, start=first)
        contribution_months(s, enr, months(first, paid))
        return p.id, enr.id

    return run(engine, build)


def _check(engine: Engine, pid: int, reg: Registry | None, region: str = "beijing", **kw: Any) -> dict[str,
                                                                                                       Any]:
    return run(engine, lambda s: retirement_check(s, region, pid, ON, actor=CLERK, registry=reg, **kw))


def _retire(engine: Engine, pid: int, reg: Registry | None, key: str = "r1", region: str = "beijing",
            on: dt.date = ON) -> dict[str, Any]:
    return run(engine, lambda s: retire(s, CLERK, pid, region, on, 500000, key, registry=reg))


def test_beijing_woman_19_years_11_months_is_short_by_one_month_and_refused(engine: Engine,
                                                                          tmp_path: Path) -> None:
    """PD beijing: women 20 years = 240 months; 239 paid → 1 month short; retirement refused and
    the message says so; nothing changes."""
    reg = beijing_registry(engine, tmp_path)
    pid, enr = _beijing_woman(engine, 239, 200408)
    got = _check(engine, pid, reg)
    assert (got["eligible"], got["reason"], got["years_short_months"]) == (False, "short_of_years", 1)
    assert got["months"]["actual"] == 239 and got["required_months"] == 240
    assert got["message_en"] == "years short by 1 month (239 months counted, 240 required)"
    assert "差 1 个月" in got["message_zh"]
    assert "short of years" in got["explanation"]["en"]
    counts = ledger_counts(engine)
    with pytest.raises(RetirementRefused) as err:
        _retire(engine, pid, reg)
    assert err.value.reason == "short_of_years" and "years short by 1 month" in err.value.en
    assert "不能办理退休" in err.value.zh
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        e = s.get_one(Enrollment, enr)
        assert (e.status, e.end_month) == ("active", None)
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_beijing_woman_with_20_years_retires_and_becomes_a_retiree(engine: Engine, tmp_path: Path) -> None:
    """240 months → eligible. The in-service enrollment ends in the month of retirement
    (2024-06); the retiree enrollment starts 2024-07 with the pension, on the unit (with_unit)."""
    reg = beijing_registry(engine, tmp_path)
    pid, _ = _beijing_woman(engine, 240, 200407)
    assert _check(engine, pid, reg)["eligible"] is True
    got = _retire(engine, pid, reg)
    assert got["check"]["eligible"] and got["retiree_start_month"] == "2024-07"
    assert _retire(engine, pid, reg) == got  # replay: nothing more
    with Session(engine) as s:
        old, new = s.scalars(select(Enrollment).where(Enrollment.person_id == pid).order_by(Enrollment.id))
        assert (old.status, old.end_month, old.end_reason) == ("ended", 202406, "retired")
        assert (new.category, new.status, new.start_month, new.retired_on, new.pension_fen) == (
            "retiree", "active", 202407, ON, 500000)
        assert new.employer_id == old.employer_id and new.was_flexible is False
        assert [e.action for e in events_for(s, "person", pid)] == [
            "retirement.check", "retirement.retire"]
    with pytest.raises(InputError) as err:
        _retire(engine, pid, reg, key="r2")
    assert "already retired" in err.value.en


def test_a_new_retiree_gets_the_retiree_account_credit(engine: Engine, tmp_path: Path) -> None:
    """After the switch the monthly retiree credit applies: Beijing 100 yuan a month under 70 from
    2022-09-01 (PD beijing, account.retiree.fixed_tiers), credited for 2024-07."""
    reg = beijing_registry(engine, tmp_path)
    pid, _ = _beijing_woman(engine, 240, 200407)
    _retire(engine, pid, reg)
    done = credit_retirees(engine, BJ, 202407, registry=reg)
    assert done.rows_done == 1
    with Session(engine) as s:
        assert ledger.balance(s, ledger.account(s, BJ, "individual_account", pid)) == 10000


def test_shipped_beijing_has_no_local_minimum_and_the_check_names_it(engine: Engine) -> None:
    pid, _ = _beijing_woman(engine, 240, 200407)
    with pytest.raises(UnknownParameterError) as err:
        _check(engine, pid, None)
    assert err.value.key == "retirement.min_local_actual_years"


def _changsha_man(engine: Engine, local_years: int) -> int:
    """20 deemed years in Changsha (service before 2003-01-01, PD changsha), 1 year paid in
    Guangzhou (recorded history), then ``local_years`` paid in Changsha."""
    def build(s: Session) -> int:
        s.add(Region(code=CS, policy="changsha", name_zh="长沙", name_en="Changsha"))
        p = person(s, "male", dt.date(1964, 1, 5), "李强")
        e = employer(s, CS, "长沙甲公司")
        enr = enroll(s, p, CS, employer_id=e.id, start=200401)
        contribution_months(s, enr, months(200401, local_years * 12))
        return p.id

    pid = run(engine, build)
    run(engine, lambda s: record_history(s, CLERK, pid, CS, "1983-01", "2002-12", "deemed",
                                         "人事档案 连续工龄认定表", key="h1"))
    run(engine, lambda s: record_history(s, CLERK, pid, "440100", "2003-01", "2003-12", "actual",
                                         "广州市参保缴费凭证", key="h2"))
    return pid


def test_changsha_man_with_30_years_but_9_local_is_short_of_local_years(engine: Engine) -> None:
    """PD changsha: 30 years for men including 10 actually paid in the province. 20 deemed + 1
    Guangzhou + 9 Changsha = 30 years, but only 9 local → 12 local months short."""
    pid = _changsha_man(engine, 9)
    got = _check(engine, pid, None, "changsha")
    assert got["months"] == {"actual": 120, "local_actual": 108, "deemed": 240, "transferred": 0,
                             "shortfall_paid": 0}
    assert got["qualifying_months"] == 360 and got["reason"] == "short_of_local_years"
    assert got["local_short_months"] == 12 and got["years_short_months"] == 0
    assert got["shortfall_payment_fen"] is None  # Changsha does not say how a shortfall is priced
    assert "local actual years short by 12 months" in got["message_en"]
    with pytest.raises(RetirementRefused):
        _retire(engine, pid, None, region="changsha")


def test_changsha_man_with_10_local_years_is_eligible(engine: Engine) -> None:
    pid = _changsha_man(engine, 10)
    got = _check(engine, pid, None, "changsha")
    assert got["eligible"] and got["qualifying_months"] == 372 and got["months"]["local_actual"] == 120


def test_unit_arrears_block_retirement_until_cleared(engine: Engine, tmp_path: Path) -> None:
    """Seed 002 (补一退一): a unit's arrears block 在职转退休; the member's own months owed by the
    unit (分户管理) are paid first, then she retires. 2 months × 1200.00 = 2400.00 owed."""
    reg = beijing_registry(engine, tmp_path)

    def build(s: Session) -> tuple[int, int]:
        p = person(s, "female", dt.date(1974, 3, 8))
        e = employer(s, BJ, "北京困难公司")
        enr = enroll(s, p, BJ, employer_id=e.id, start=200405)
        contribution_months(s, enr, months(200405, 240))
        assess_open(s, enr, [202405, 202406], 120000)
        colleague = enroll(s, person(s, "male", dt.date(1980, 1, 1), "赵六"), BJ, employer_id=e.id,
                           start=202001)
        assess_open(s, colleague, [202406], 99900)
        return p.id, e.id

    pid, emp = run(engine, build)
    got = _check(engine, pid, reg)
    assert (got["eligible"], got["reason"], got["unit_arrears_fen"]) == (False, "unit_arrears", 240000)
    assert got["message_en"] == "unit arrears of 2400.00 yuan must be cleared first (补一退一)"
    assert got["arrears"][0]["months"] == ["2024-05", "2024-06"]
    assert _check(engine, pid, reg, arrears_scope="unit")["unit_arrears_fen"] == 240000 + 99900
    with pytest.raises(RetirementRefused) as err:
        _retire(engine, pid, reg)
    assert "2400.00 yuan" in err.value.en and "补一退一" in err.value.zh
    paid = run(engine, lambda s: clear_unit_arrears_for(s, CLERK, pid, "beijing", ON, "BANK-1", "c1",
                                                        registry=reg))
    assert paid["total_fen"] == 240000 and paid["payments"][0]["months"] == ["2024-05", "2024-06"]
    assert _check(engine, pid, reg)["eligible"] is True
    # the colleague's month is still owed: only her sub-account was paid
    assert _check(engine, pid, reg, arrears_scope="unit")["unit_arrears_fen"] == 99900
    _retire(engine, pid, reg)
    with Session(engine) as s:
        rec = ledger.account(s, BJ, "employer_receivable", emp)
        assert ledger.balance(s, rec) == 99900
    assert ledger_counts(engine)[2] == 0
    with pytest.raises(InputError) as nothing:
        run(engine, lambda s: clear_unit_arrears_for(s, CLERK, pid, "beijing", ON, "BANK-2", "c2"))
    assert "no months of this person are owed" in nothing.value.en


def test_transferred_months_count_as_the_receiving_region_recognised_them(engine: Engine,
                                                                         tmp_path: Path) -> None:
    """A member who paid 20 years in Beijing and moved to Shanghai: Shanghai recognised 80%
    (hypothetical ratio) = 192 months; with 12 months in Shanghai her record there holds 192
    transferred + 12 actual (not 240 + 12)."""
    reg = shanghai_registry(engine, tmp_path)
    pid, _ = _beijing_woman(engine, 240, 200404)

    def sh_employer(s: Session) -> int:
        return employer(s, SH, "上海乙公司").id

    emp = run(engine, sh_employer)
    case = run(engine, lambda s: transfer_out(s, CLERK, pid, "beijing", "2024-03"))
    got = run(engine, lambda s: transfer_in(s, CLERK, case["case_id"], "shanghai", "2024-04", "in_service",
                                            emp,
                                            registry=reg))

    def pay(s: Session) -> None:
        contribution_months(s, s.get_one(Enrollment, got["to_enrollment_id"]), months(202404, 12))

    run(engine, pay)
    rec = run(engine, lambda s: count_record(s, pid, SH, dt.date(2025, 3, 31)))
    assert (rec.transferred_months, rec.actual_months, rec.local_actual_months) == (192, 12, 12)
    assert span(200404, 202403) == 240
    # Shanghai's minimum years are not sourced (DOMAIN §11 open gaps): the check names the key
    with pytest.raises(UnknownParameterError) as err:
        run(engine, lambda s: retirement_check(s, "shanghai", pid, dt.date(2025, 3, 31), registry=reg))
    assert err.value.key.startswith("retirement.min_years.")  # the rule reads both sexes


@pytest.mark.parametrize(("args", "field", "en"), [
    ({"kind": "imagined"}, "kind", "expected actual, deemed or back_paid"),
    ({"region": "43010"}, "region", "6-digit GB/T 2260"),
    ({"to_month": "1979-12"}, "to_month", "cannot be before the first month"),
    ({"source_document": " "}, "source_document", "name the archive"),
    ({"from_month": "2002-06", "to_month": "2003-06"}, "from_month", "overlaps the recorded period"),
])
def test_bad_history_is_refused_and_changes_nothing(engine: Engine, args: dict[str, Any], field: str,
                                                    en: str) -> None:
    pid = _changsha_man(engine, 1)
    base: dict[str, Any] = {"person_id": pid, "region": CS, "from_month": "1980-01", "to_month": "1982-12",
                            "kind": "deemed", "source_document": "档案"} | args
    with pytest.raises(InputError) as err:
        run(engine, lambda s: record_history(s, CLERK, key="bad", **base))
    assert err.value.field == field and en in err.value.en
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ContributionPeriod)) == 2


def test_bad_retirement_requests_change_nothing(engine: Engine, tmp_path: Path) -> None:
    reg = beijing_registry(engine, tmp_path)
    pid, _ = _beijing_woman(engine, 240, 200407)
    other, _ = _beijing_woman(engine, 240, 200407)
    bad: list[tuple[dict[str, Any], str, str]] = [
        ({"region": "shanghai"}, "region", "still enrolled in 110000"),
        ({"region": "mars"}, "region", "not a pooling region"),
        ({"pension_fen": -1}, "pension", "expected an amount"),
        ({"retired_on": dt.date(2024, 5, 31)}, "retired_on", "2024-06 and later are assessed"),
        ({"person_id": 10**6}, "person_id", "no such person"),
        ({"mode": "both"}, "mode", "expected with_unit or separate"),
    ]
    counts = ledger_counts(engine)
    for change, field, en in bad:
        kw: dict[str, Any] = {"person_id": pid, "region": "beijing", "retired_on": ON, "pension_fen": 500000,
                              "mode": "with_unit"} | change
        with pytest.raises(InputError) as err:
            run(engine, lambda s, k=kw: retire(s, CLERK, key=None, registry=reg, **k))  # type: ignore[misc]
        assert err.value.field == field and en in err.value.en, (change, err.value.en)
    assert ledger_counts(engine) == counts
    with Session(engine) as s:
        active = select(func.count()).select_from(Enrollment).where(Enrollment.status == "active")
        assert s.scalar(active) == 2
    assert other != pid
