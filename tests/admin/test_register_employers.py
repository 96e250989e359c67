"""Employers, employment spells and family mutual-aid links (issue 4 "Register").

Sources: GB 32100-2015 USCC check (example 91110000600037341L, src/yibao/ids/uscc.py); family
mutual aid covers spouse, children and parents (国办发〔2021〕14号, DOMAIN.md §3.3, seed 004) and
near relatives from 2024-08-01 (PD national_rules enrolment_long_term_mechanism_2024) — the
policy parameter account.family_mutual_aid.relations in national.yaml.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import register as reg
from yibao.admin.enrollment import end_enrollment, enroll
from yibao.admin.uow import Actor, run
from yibao.db.base import Base
from yibao.db.models.audit import AuditEvent
from yibao.errors import InputError
from yibao.ids import organisation_code_check, uscc_check_char

OFFICER = Actor("officer1")
D = dt.date
USCC = "91110000600037341L"


def make_uscc(division: str = "110105", org: str = "12345678") -> str:
    body = "91" + division + org + organisation_code_check(org)
    return body + uscc_check_char(body)


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


def person(engine: Engine, number: str = "11010519491231002X", name: str = "王芳") -> int:
    return run(engine, lambda s: reg.register_person(s, OFFICER, number, name, hukou_region="110105")).id


def employer(engine: Engine, uscc: str = USCC, region: str = "beijing") -> int:
    return run(engine, lambda s: reg.register_employer(s, OFFICER, uscc, "北京某某有限公司", region)).id


def test_employer_registers_with_region_by_name_code_or_pinyin(engine: Engine) -> None:
    e = run(engine, lambda s: reg.register_employer(s, OFFICER, " 91110000600037341l ", "某公司", "北京市",
                                                    "payroll_total", hardship=True))
    assert (e.uscc, e.region_code, e.base_method, e.hardship, e.status) == (USCC, "110000", "payroll_total",
                                                                            True, "active")
    other = run(engine, lambda s: reg.register_employer(s, OFFICER, make_uscc(), "银川公司", "640100"))
    assert other.region_code == "640100"


def test_uscc_bad_check_character_is_rejected_and_nothing_written(engine: Engine) -> None:
    before = counts(engine)
    with pytest.raises(InputError) as err:
        employer(engine, "91110000600037341A")
    assert err.value.field == "uscc" and "check character should be L, found A" in err.value.en
    assert counts(engine) == before


def test_bad_employer_fields_are_named(engine: Engine) -> None:
    before = counts(engine)
    for kw, field in (({"region": "nowhere"}, "region"), ({"name": " "}, "name"),
                      ({"base_method": "headcount"}, "base_method")):
        args = {"uscc": USCC, "name": "某公司", "region": "beijing"} | kw
        with pytest.raises(InputError) as err:
            run(engine, lambda s, a=args: reg.register_employer(s, OFFICER, **a))  # type: ignore[misc]
        assert err.value.field == field
    assert counts(engine) == before


def test_duplicate_employer_is_refused_clearly(engine: Engine) -> None:
    first = employer(engine)
    before = counts(engine)
    with pytest.raises(reg.AlreadyRegistered) as err:
        employer(engine, USCC.lower(), "shanghai")
    assert f"already registered as employer {first}" in err.value.en
    assert f"已登记为单位 {first}" in err.value.zh
    assert counts(engine) == before


def test_hire_separate_and_overlap_with_the_same_employer(engine: Engine) -> None:
    p, e = person(engine), employer(engine)
    spell = run(engine, lambda s: reg.hire(s, OFFICER, p, e, D(2023, 3, 1)))
    with pytest.raises(InputError) as err:
        run(engine, lambda s: reg.hire(s, OFFICER, p, e, D(2024, 1, 1)))
    assert err.value.field == "start_date" and f"spell {spell.id}" in err.value.en
    with pytest.raises(InputError):
        run(engine, lambda s: reg.separate(s, OFFICER, p, e, D(2023, 2, 28)))
    ended = run(engine, lambda s: reg.separate(s, OFFICER, p, e, D(2023, 12, 31)))
    assert ended.end_date == D(2023, 12, 31)
    with pytest.raises(InputError):  # still overlaps the closed spell's last day
        run(engine, lambda s: reg.hire(s, OFFICER, p, e, D(2023, 12, 31)))
    again = run(engine, lambda s: reg.hire(s, OFFICER, "11010519491231002X", USCC, "2024-01-01"))
    assert again.id != spell.id
    other = employer(engine, make_uscc())
    assert run(engine, lambda s: reg.hire(s, OFFICER, p, other, D(2024, 6, 1))).employer_id == other
    with Session(engine) as s:
        actions = s.scalars(select(AuditEvent.action)
                            .where(AuditEvent.subject_type == "employment_spell")).all()
    assert sorted(actions) == ["employment.end", "employment.start", "employment.start", "employment.start"]


def test_hire_before_birth_or_after_closing_is_refused(engine: Engine) -> None:
    p, e = person(engine), employer(engine)
    with pytest.raises(InputError):
        run(engine, lambda s: reg.hire(s, OFFICER, p, e, D(1949, 12, 1)))
    run(engine, lambda s: reg.close_employer(s, OFFICER, e, D(2020, 6, 30)))
    with pytest.raises(InputError) as err:
        run(engine, lambda s: reg.hire(s, OFFICER, p, e, D(2021, 1, 1)))
    assert "closed on 2020-06-30" in err.value.en


def test_close_employer_is_refused_while_staff_or_enrollments_remain(engine: Engine) -> None:
    p, e = person(engine), employer(engine)
    run(engine, lambda s: reg.hire(s, OFFICER, p, e, D(2023, 1, 1)))
    en = run(engine, lambda s: enroll(s, OFFICER, p, "110000", "in_service", "2023-01", employer_id=e))
    with pytest.raises(InputError) as err:
        run(engine, lambda s: reg.close_employer(s, OFFICER, e, D(2024, 6, 30)))
    assert "1 employment spell(s)" in err.value.en and "1 active in-service" in err.value.en
    run(engine, lambda s: reg.separate(s, OFFICER, p, e, D(2024, 5, 31)))
    run(engine, lambda s: end_enrollment(s, OFFICER, en.id, "2024-05", "left_job"))
    closed = run(engine, lambda s: reg.close_employer(s, OFFICER, USCC, "2024-06-30"))
    assert (closed.status, closed.closed_on) == ("closed", D(2024, 6, 30))
    with pytest.raises(InputError):
        run(engine, lambda s: reg.close_employer(s, OFFICER, e, D(2024, 7, 1)))


def test_family_links_spouse_child_parent_and_near_relatives_from_2024_08(engine: Engine) -> None:
    holder = person(engine)
    child = person(engine, "110105198001010016", "王小明")
    cousin = person(engine, "932682198501010017", "Ahmed Ali")
    link = run(engine, lambda s: reg.link_family(s, OFFICER, holder, child, "child", D(2022, 1, 1)))
    assert link.relation == "child"
    before = counts(engine)
    with pytest.raises(InputError) as err:  # near relatives only from 2024-08-01 (national baseline)
        run(engine, lambda s: reg.link_family(s, OFFICER, holder, cousin, "near_relative", D(2024, 7, 31)))
    assert err.value.field == "relation"
    assert "covers only spouse, child, parent" in err.value.en and "from 2021-04-13" in err.value.en
    assert counts(engine) == before
    near = run(engine, lambda s: reg.link_family(s, OFFICER, holder, cousin, "near_relative", D(2024, 8, 1)))
    in_force = run(engine, lambda s: reg.relatives_of(s, holder, D(2024, 9, 1)))
    assert [k.id for k in in_force] == [link.id, near.id]
    assert [k.id for k in run(engine, lambda s: reg.relatives_of(s, holder, D(2024, 1, 1)))] == [link.id]
    assert [k.holder_id for k in run(engine, lambda s: reg.holders_for(s, child, D(2024, 9, 1)))] == [holder]
    run(engine, lambda s: reg.unlink_family(s, OFFICER, link.id, D(2024, 8, 31)))
    assert [k.id for k in run(engine, lambda s: reg.relatives_of(s, holder, D(2024, 9, 1)))] == [near.id]
    assert run(engine, lambda s: reg.holders_for(s, child, D(2024, 8, 31)))[0].id == link.id
    with Session(engine) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "family_link")).all()
    assert sorted(actions) == ["family_link.create", "family_link.create", "family_link.end"]


def test_family_link_refusals(engine: Engine) -> None:
    holder = person(engine)
    child = person(engine, "110105198001010016", "王小明")
    run(engine, lambda s: reg.link_family(s, OFFICER, holder, child, "child", D(2022, 1, 1)))
    before = counts(engine)
    cases = [((holder, holder, "spouse", D(2022, 1, 1)), "relative"),   # no self-link
             ((holder, child, "cousin", D(2022, 1, 1)), "relation"),
             ((holder, child, "child", D(2023, 1, 1)), "valid_from"),  # overlaps the open link
             ((holder, 9999, "child", D(2022, 1, 1)), "relative"),
             ((holder, child, "child", D(2020, 1, 1)), None)]  # before 国办发〔2021〕14号: unknown nationally
    for args, field in cases:
        with pytest.raises(Exception) as err:
            run(engine, lambda s, a=args: reg.link_family(s, OFFICER, *a))  # type: ignore[misc]
        if field is not None:
            assert isinstance(err.value, InputError) and err.value.field == field
        else:
            assert "account.family_mutual_aid.relations" in str(err.value) and "unknown" in str(err.value)
    assert counts(engine) == before
