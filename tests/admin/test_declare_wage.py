"""Wage and payroll declarations and the employer's base audit (DOMAIN §2.1, §2.5), on SQLite and PostgreSQL.

Beijing 2024-03 parameters (src/yibao/policy/params/beijing.yaml): base limits 6326–33891 yuan
(京人社发〔2023〕8号, 2023-07..2024-06); employer 8% basic + 0.8% maternity + 1% large-amount = 9.8%.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_assess_world import BJ, STAFF, World, add_employer, add_person, build

from yibao.admin.declarations import (
    MAX_WAGE_FEN,
    base_audit,
    declare_payroll,
    declare_wage,
    parse_wage,
    wage_in_force,
)
from yibao.admin.uow import Actor, run
from yibao.db.models.audit import AuditEvent
from yibao.db.models.contribution import WageDeclaration
from yibao.errors import InputError, YibaoError


def _count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(WageDeclaration)) or 0)


def _declare(engine: Engine, w: World, name: str, month: int | str, yuan: str, employer: str | None = "甲",
             month_to: int | None = None) -> int:
    def go(s: Session) -> int:
        kind, payer = ("employer", w.employers[employer]) if employer else ("person", w.persons[name])
        return declare_wage(s, STAFF, BJ, w.persons[name], kind, payer, month, parse_wage(yuan),
                            month_to=month_to).id

    return run(engine, go)


def test_wage_in_force_is_the_latest_declaration_of_the_month(engine: Engine) -> None:
    w = build(engine)
    _declare(engine, w, "张三", 202301, "8000")
    _declare(engine, w, "张三", "2024-03", "9,000.50元")  # supersedes from 2024-03
    _declare(engine, w, "张三", "2024年6月", "1.2万", month_to=202407)  # in force 2024-06..07 only
    with Session(engine) as s:
        def wage(m: int) -> int | None:
            d = wage_in_force(s, w.persons["张三"], "employer", w.employers["甲"], m)
            return None if d is None else d.wage_fen

        assert wage(202212) is None  # before the first declaration
        assert wage(202402) == 800000
        assert wage(202403) == 900050
        assert wage(202406) == wage(202407) == 1200000
        assert wage(202408) == 900050  # the bounded one has ended: the open 2024-03 one is in force again
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "wage_declaration.create")) == 3


def test_duplicate_declaration_is_refused_and_changes_nothing(engine: Engine) -> None:
    w = build(engine)
    _declare(engine, w, "张三", 202403, "8000")
    with pytest.raises(InputError) as e:
        _declare(engine, w, "张三", "2024-03", "8500")
    assert e.value.field == "month_from" and e.value.value == "2024-03"
    assert "已有申报" in e.value.zh and "already has declaration" in e.value.en and "8000.00" in e.value.en
    assert "张三" not in e.value.zh and "张*" in e.value.zh  # the name is masked
    assert _count(engine) == 1


@pytest.mark.parametrize(("text", "fen"), [("1,234.56元", 123456), ("1.2万", 1200000), ("0", 0),
                                           ("33891", 3389100)])
def test_parse_wage_accepts_yuan_text(text: str, fen: int) -> None:
    assert parse_wage(text) == fen


@pytest.mark.parametrize("text", ["-1", "abc", "12.345", str(MAX_WAGE_FEN // 100 + 1)])
def test_parse_wage_refuses_negative_bad_and_absurd(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_wage(text)
    assert e.value.field == "wage"


def test_declaration_needs_an_enrollment_with_that_payer(engine: Engine) -> None:
    w = build(engine)

    def other_unit(s: Session) -> None:  # 钱七 works for 乙, not 甲
        declare_wage(s, STAFF, BJ, w.persons["钱七"], "employer", w.employers["甲"], 202403, 800000)

    with pytest.raises(InputError) as e:
        run(engine, other_unit)
    assert e.value.field == "month_from" and "in-service enrollment with this employer" in e.value.en

    def before_start(s: Session) -> None:  # enrollments in the world start 2023-01
        declare_wage(s, STAFF, BJ, w.persons["张三"], "employer", w.employers["甲"], 202212, 800000)

    with pytest.raises(InputError):
        run(engine, before_start)

    def flexible_via_unit(s: Session) -> None:
        declare_wage(s, STAFF, BJ, w.persons["王五"], "employer", w.employers["甲"], 202403, 800000)

    with pytest.raises(InputError):
        run(engine, flexible_via_unit)

    def self_payer_mismatch(s: Session) -> None:
        declare_wage(s, STAFF, BJ, w.persons["王五"], "person", w.persons["张三"], 202403, 800000)

    with pytest.raises(InputError) as e:
        run(engine, self_payer_mismatch)
    assert e.value.field == "payer_id"

    def unit_in_other_region(s: Session) -> None:
        add_employer(s, w, "沪", 3, region="310000")
        declare_wage(s, STAFF, BJ, w.persons["张三"], "employer", w.employers["沪"], 202403, 800000)

    with pytest.raises(InputError) as e:
        run(engine, unit_in_other_region)
    assert e.value.field == "employer" and "310000" in e.value.en
    assert _count(engine) == 0
    # a flexible worker declares for themselves
    _declare(engine, w, "王五", 202403, "7000", employer=None)
    assert _count(engine) == 1


def test_declaration_input_checks(engine: Engine) -> None:
    w = build(engine)
    cases = [
        (dict(month_from=202403, month_to=202402), "month_to"),
        (dict(month_from="2024-13"), "month_from"),
        (dict(month_from=202403, wage_fen=-1), "wage"),
        (dict(month_from=202403, wage_fen=MAX_WAGE_FEN + 1), "wage"),
        (dict(month_from=202403, payer_kind="unit"), "payer_kind"),
        (dict(month_from=202403, region="999999"), "region"),
        (dict(month_from=202403, person_id=10**6), "person_id"),
    ]
    for overrides, fld in cases:
        args: dict[str, object] = dict(region=BJ, person_id=w.persons["张三"], payer_kind="employer",
                                       payer_id=w.employers["甲"], wage_fen=800000)
        args.update(overrides)
        with pytest.raises(InputError) as e:
            run(engine, lambda s, a=args: declare_wage(s, STAFF, **a))  # type: ignore[misc]
        assert e.value.field == fld, (overrides, e.value)
    assert _count(engine) == 0


def test_actor_limited_to_another_region_is_refused(engine: Engine) -> None:
    w = build(engine)
    shanghai_clerk = Actor("test:sh", "operator", regions=("310000",))
    with pytest.raises(YibaoError):
        run(engine, lambda s: declare_wage(s, shanghai_clerk, BJ, w.persons["张三"], "employer",
                                           w.employers["甲"], 202403, 800000))


def _audit_world(engine: Engine, method: str) -> tuple[World, int]:
    w = build(engine)

    def unit(s: Session) -> int:
        return add_employer(s, w, "丙", 9, base_method=method)

    emp = run(engine, unit)
    run(engine, lambda s: add_person(s, w, "孙八", employer="丙"))
    run(engine, lambda s: add_person(s, w, "周九", employer="丙"))
    run(engine, lambda s: add_person(s, w, "吴十", employer="丙", end=202402))  # left before March
    _declare(engine, w, "孙八", 202401, "8000", employer="丙")
    _declare(engine, w, "周九", 202401, "40000", employer="丙")  # above the cap
    _declare(engine, w, "吴十", 202401, "9000", employer="丙")
    run(engine, lambda s: declare_payroll(s, STAFF, emp, "2024-03", 6_000_000, 3))
    return w, emp


def test_base_audit_sum_of_individual_bases(engine: Engine) -> None:
    """Payroll 60000 yuan for 3 persons; 2 insured, declared 8000 + 40000 = 48000 (bases 8000 + 33891)."""
    _, emp = _audit_world(engine, "sum_of_individual_bases")
    with Session(engine) as s, s.begin():
        a = base_audit(s, emp, 202403, actor=STAFF)
    assert (a.insured_count, a.headcount_declared, a.headcount_gap) == (2, 3, 1)
    assert a.declared_wage_sum_fen == 4_800_000
    assert a.clamped_base_sum_fen == 800_000 + 3_389_100  # 40000 clamps to the 33891 cap
    assert a.under_declared_fen == 1_200_000 and a.under_declared
    assert a.employer_rate_bp == 980
    assert a.employer_base_fen == 4_189_100
    # 41891 × 8% = 3351.28, × 0.8% = 335.128 → 335.13, × 1% = 418.91 (each component rounded to the fen)
    assert a.employer_contribution_fen == 335_128 + 33_513 + 41_891
    # 60000 × 9.8% = 4800 + 480 + 600
    assert a.employer_contribution_on_payroll_fen == 588_000
    assert a.contribution_gap_fen == 588_000 - 410_532
    d = a.as_dict()
    assert d["contribution_gap_yuan"] == "1774.68" and d["under_declared_yuan"] == "12000.00"
    assert "1774.68" in a.text()


def test_base_audit_payroll_method_and_missing_declarations(engine: Engine) -> None:
    w, emp = _audit_world(engine, "payroll_total")
    run(engine, lambda s: add_person(s, w, "郑十一", employer="丙"))  # insured, nothing declared
    with Session(engine) as s:
        a = base_audit(s, emp, "2024-03")
    assert a.insured_count == 3 and a.declared_count == 2 and a.headcount_gap == 0
    assert len(a.missing) == 1 and a.missing[0].startswith("郑** 110105")  # masked name and ID
    assert a.employer_base_fen == 6_000_000  # the payroll is the employer base
    assert a.contribution_gap_fen == 0 and a.under_declared_fen == 1_200_000


def test_payroll_declaration_checks(engine: Engine) -> None:
    _, emp = _audit_world(engine, "sum_of_individual_bases")
    with pytest.raises(InputError) as e:
        run(engine, lambda s: declare_payroll(s, STAFF, emp, 202403, 1, 1))
    assert e.value.field == "month" and "already declared" in e.value.en
    for total, head, fld in ((-1, 1, "payroll_total"), (1, -1, "headcount")):
        with pytest.raises(InputError) as e:
            run(engine, lambda s, t=total, h=head: declare_payroll(s, STAFF, emp, 202404, t, h))
        assert e.value.field == fld
    with Session(engine) as s, pytest.raises(InputError) as e:
        base_audit(s, emp, 202405)
    assert "declare payroll" in e.value.en
