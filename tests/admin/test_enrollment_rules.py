"""Enrollment: one enrollment at a time, duplicates reported, the flexible-worker hukou rule (issue 4).

Sources: one person cannot hold two active employee enrollments, and an employee enrollment
conflicts with resident insurance — duplicates (重复参保) are reported, not accepted (DOMAIN.md §8,
seed 000). Beijing and Shanghai require flexible workers to hold local hukou (seed 001; DOMAIN.md
§1, §5 "Hukou"): enrollment.flexible.hukou_required = local_hukou in beijing.yaml/shanghai.yaml
from 2018-01-01; the national baseline (Yinchuan inherits it) sets none.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import register as reg
from yibao.admin.enrollment import (
    EnrollmentConflict,
    active_enrollment,
    change_category,
    conflicts,
    end_enrollment,
    enroll,
)
from yibao.admin.uow import Actor, run
from yibao.db.base import Base
from yibao.db.models.audit import AuditEvent
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.errors import InputError, UnknownParameterError, YibaoError
from yibao.ids import synthetic_resident_id

OFFICER = Actor("officer1")
D = dt.date
USCC = "91110000600037341L"


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


_serial = itertools.count()


def person(engine: Engine, hukou: str | None = "110105", residence: str | None = None) -> int:
    """A new person with a synthetic ID that no other test uses (its birth date is a counter)."""
    born = D(1960, 1, 1) + dt.timedelta(days=next(_serial))
    number = synthetic_resident_id(random.Random(1), born, "male", "110105")
    return run(engine, lambda s: reg.register_person(s, OFFICER, number, "李四", hukou_region=hukou,
                                                     residence_region=residence)).id


def unit_employee(engine: Engine, region: str = "beijing") -> tuple[int, int]:
    p = person(engine)
    e = run(engine, lambda s: reg.register_employer(s, OFFICER, USCC, "北京某某有限公司", region)).id
    run(engine, lambda s: reg.hire(s, OFFICER, p, e, D(2023, 12, 15)))
    return p, e


def test_unit_employee_needs_an_employer_of_the_region_with_an_open_spell(engine: Engine) -> None:
    p, e = unit_employee(engine)
    before = counts(engine)
    for kw, field in (({}, "employer"), ({"employer_id": 999}, "employer")):
        with pytest.raises(InputError) as err:
            run(engine, lambda s, k=kw: enroll(s, OFFICER, p, "beijing", "in_service", "2024-01", **k))  # type: ignore[misc]
        assert err.value.field == field
    with pytest.raises(InputError) as err:  # the spell starts 2023-12-15: nothing in 2023-11
        run(engine, lambda s: enroll(s, OFFICER, p, "beijing", "in_service", "2023-11", employer_id=e))
    assert "no employment spell" in err.value.en
    with pytest.raises(InputError) as err:  # the employer is registered in Beijing
        run(engine, lambda s: enroll(s, OFFICER, p, "shanghai", "in_service", "2024-01", employer_id=e))
    assert "registered in 110000, not 310000" in err.value.en
    assert counts(engine) == before
    en = run(engine, lambda s: enroll(s, OFFICER, p, "北京", "in_service", "2023-12", employer_id=e))
    assert (en.region_code, en.scheme, en.category, en.start_month, en.status) == (
        "110000", "employee", "in_service", 202312, "active")


def test_second_employee_enrollment_is_refused_in_the_same_and_in_another_region(engine: Engine) -> None:
    p, e = unit_employee(engine)
    first = run(engine, lambda s: enroll(s, OFFICER, p, "110000", "in_service", "2024-01", employer_id=e))
    before = counts(engine)
    for region in ("beijing", "yinchuan"):
        with pytest.raises(EnrollmentConflict) as err:
            run(engine, lambda s, r=region: enroll(s, OFFICER, p, r, "new_form", "2024-06"))  # type: ignore[misc]
        assert err.value.existing_id == first.id
        named = f"enrollment {first.id} (Beijing 110000, employee scheme, in_service, since 2024-01)"
        assert named in err.value.en
        assert "北京 110000" in err.value.zh and "2024-01 起至今" in err.value.zh
        assert "one employee enrollment at a time, in any region" in err.value.en
    assert counts(engine) == before


@pytest.mark.parametrize("resident_first", [True, False])
def test_employee_and_resident_enrollment_conflict_in_either_order(engine: Engine,
                                                                   resident_first: bool) -> None:
    p = person(engine, hukou="640104")
    first, second = (("resident", "2023-01"), ("flexible", "2024-01")) if resident_first else \
        (("flexible", "2023-01"), ("resident", "2024-01"))
    held = run(engine, lambda s: enroll(s, OFFICER, p, "yinchuan", first[0], first[1]))
    before = counts(engine)
    with pytest.raises(EnrollmentConflict) as err:
        run(engine, lambda s: enroll(s, OFFICER, p, "yinchuan", second[0], second[1]))
    msg = err.value.en
    assert f"enrollment {held.id}" in msg and "duplicate enrollment (DOMAIN §8)" in msg
    assert "resident" in msg and "employee" in msg  # both enrollments are named
    assert "重复参保" in err.value.zh
    assert counts(engine) == before


def test_a_new_enrollment_may_start_after_the_old_one_ends(engine: Engine) -> None:
    """A unit employee who leaves the job continues as a flexible worker the next month."""
    p, e = unit_employee(engine)
    job = run(engine, lambda s: enroll(s, OFFICER, p, "beijing", "in_service", "2024-01", employer_id=e))
    run(engine, lambda s: reg.separate(s, OFFICER, p, e, D(2024, 3, 20)))
    flex = run(engine, lambda s: change_category(s, OFFICER, job.id, "flexible", "2024-04"))
    with Session(engine) as s:
        old = s.get(Enrollment, job.id)
        assert old is not None
        assert (old.status, old.end_month, old.end_reason) == ("ended", 202403, "category_change")
    assert (flex.category, flex.start_month, flex.region_code) == ("flexible", 202404, "110000")
    assert run(engine, lambda s: active_enrollment(s, p, "beijing", "2024-03")).id == job.id  # type: ignore[union-attr]
    assert run(engine, lambda s: active_enrollment(s, p, "110000", 202404)).id == flex.id  # type: ignore[union-attr]
    assert run(engine, lambda s: active_enrollment(s, p, None, "2023-12")) is None
    assert run(engine, lambda s: active_enrollment(s, p, "yinchuan", "2024-05")) is None
    # an end before the enrollment's first month is refused
    with pytest.raises(InputError):
        run(engine, lambda s: end_enrollment(s, OFFICER, flex.id, "2024-03", "left_job"))


def test_flexible_worker_without_local_hukou_is_refused_in_beijing_with_rule_and_source(
        engine: Engine) -> None:
    outsider = person(engine, hukou="130102")
    before = counts(engine)
    with pytest.raises(InputError) as err:
        run(engine, lambda s: enroll(s, OFFICER, outsider, "beijing", "flexible", "2024-01"))
    assert err.value.field == "hukou_region" and err.value.value == "130102"
    assert "enrollment.flexible.hukou_required = local_hukou" in err.value.en
    assert "seed 001" in err.value.en and "since 2018-01-01" in err.value.en
    assert "本地户籍" in err.value.zh
    assert counts(engine) == before
    no_hukou = person(engine, hukou=None)
    with pytest.raises(InputError) as err:
        run(engine, lambda s: enroll(s, OFFICER, no_hukou, "310000", "flexible", "2023-07"))
    assert err.value.field == "hukou_region"


def test_flexible_worker_with_beijing_hukou_is_accepted_and_any_hukou_in_yinchuan(engine: Engine) -> None:
    local = person(engine, hukou="110228")  # a former county of Beijing: still 11xxxx
    accepted = run(engine, lambda s: enroll(s, OFFICER, local, "beijing", "flexible", "2024-01"))
    assert (accepted.category, accepted.region_code) == ("flexible", "110000")
    outsider = person(engine, hukou="130102")
    elsewhere = run(engine, lambda s: enroll(s, OFFICER, outsider, "银川", "flexible", "2024-01"))
    assert elsewhere.region_code == "640100"


def test_beijing_hukou_rule_after_the_2024_guidance_is_unknown_not_guessed(engine: Engine) -> None:
    """国办发〔2024〕38号 (2024-08) tells super-large cities to drop the hukou limit; Beijing's date is
    not sourced, so a flexible enrollment from 2024-08 needs the value (UnknownParameterError)."""
    local = person(engine, hukou="110105")
    with pytest.raises(UnknownParameterError) as err:
        run(engine, lambda s: enroll(s, OFFICER, local, "beijing", "flexible", "2024-08"))
    assert "enrollment.flexible.hukou_required" in str(err.value)


def test_other_field_checks(engine: Engine) -> None:
    p = person(engine)
    before = counts(engine)
    cases: list[tuple[dict[str, object], str]] = [
        ({"category": "student"}, "category"),
        ({"category": "resident", "scheme": "employee"}, "scheme"),
        ({"start_month": "2024-13"}, "start_month"),
        ({"region": "tianjin"}, "region"),
        ({"category": "retiree"}, "retired_on"),
        ({"category": "retiree", "retired_on": D(2024, 3, 1), "start_month": "2024-02"}, "start_month"),
        ({"flexible_option": 1, "category": "new_form"}, "flexible_option"),
        ({"flexible_option": -1}, "flexible_option"),
        ({"pension_fen": 100_00}, "retired_on"),
    ]
    for kw, field in cases:
        args: dict[str, object] = {"region": "yinchuan", "category": "flexible",
                                   "start_month": "2024-01"} | kw
        with pytest.raises(InputError) as err:
            run(engine, lambda s, a=args: enroll(s, OFFICER, p, **a))  # type: ignore[arg-type,misc]
        assert err.value.field == field, (kw, err.value)
    assert counts(engine) == before


def test_retiree_enrollment_keeps_pension_and_retirement_date(engine: Engine) -> None:
    p = person(engine)
    e = run(engine, lambda s: enroll(s, OFFICER, p, "yinchuan", "retiree", "2024-04",
                                     retired_on=D(2024, 3, 31), pension_fen=3_500_00, was_flexible=True))
    assert (e.retired_on, e.pension_fen, e.was_flexible) == (D(2024, 3, 31), 350000, True)
    assert e.employer_id is None


def test_end_enrollment_checks_and_assessed_months(engine: Engine) -> None:
    p = person(engine, hukou="640104")
    e = run(engine, lambda s: enroll(s, OFFICER, p, "yinchuan", "flexible", "2024-01"))
    with Session(engine) as s, s.begin():
        zero = {c.name: 0 for c in ContributionMonth.__table__.columns if c.name.endswith("_fen")}
        s.add(ContributionMonth(enrollment_id=e.id, person_id=p, region_code="640100", month=202405,
                                category="flexible", payer_kind="person", payer_id=p,
                                due_date=D(2024, 6, 15), **zero))
    before = counts(engine)
    for args, field in ((("2023-12", "left_job"), "end_month"), (("2024-06", "holiday"), "reason"),
                        (("2024-04", "left_job"), "end_month")):
        with pytest.raises(InputError) as err:
            run(engine, lambda s, a=args: end_enrollment(s, OFFICER, e.id, *a))  # type: ignore[misc]
        assert err.value.field == field
    assert "already assessed (first 2024-05)" in err.value.en
    assert counts(engine) == before
    ended = run(engine, lambda s: end_enrollment(s, OFFICER, e.id, "2024年6月", "left_job"))
    assert (ended.status, ended.end_month) == ("ended", 202406)
    with pytest.raises(InputError):
        run(engine, lambda s: end_enrollment(s, OFFICER, e.id, "2024-07", "left_job"))
    with Session(engine) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "enrollment",
                                                            AuditEvent.subject_id == str(e.id))).all()
    assert sorted(actions) == ["enrollment.create", "enrollment.end"]


def test_conflicts_lists_duplicates_that_imported_data_holds(engine: Engine) -> None:
    p, q = person(engine), person(engine)
    with Session(engine) as s, s.begin():  # imported around the service: resident in Shanghai too
        s.add_all([
            Enrollment(person_id=p, region_code="110000", scheme="employee", category="flexible",
                       start_month=202301, status="active"),
            Enrollment(person_id=p, region_code="310000", scheme="resident", category="resident",
                       start_month=202306, end_month=202312, status="ended"),
            Enrollment(person_id=q, region_code="640100", scheme="resident", category="resident",
                       start_month=202201, end_month=202212, status="ended"),
            Enrollment(person_id=q, region_code="640100", scheme="employee", category="flexible",
                       start_month=202301, status="active"),
        ])
    found = run(engine, lambda s: conflicts(s))
    assert [(c.person_id, c.kind, c.regions, c.overlap_from, c.overlap_to) for c in found] == [
        (p, "employee_resident", ("110000", "310000"), 202306, 202312)]
    assert run(engine, lambda s: conflicts(s, "上海"))[0].person_id == p
    assert run(engine, lambda s: conflicts(s, "yinchuan")) == []


def test_idempotent_enroll_replays(engine: Engine) -> None:
    p = person(engine, hukou="640104")
    e = run(engine, lambda s: enroll(s, OFFICER, p, "yinchuan", "flexible", "2024-01", key="enr-1"))
    before = counts(engine)
    again = run(engine, lambda s: enroll(s, OFFICER, p, "yinchuan", "flexible", "2024-01", key="enr-1"))
    assert again.id == e.id
    assert counts(engine) == before


# -- property: any sequence of enroll/end operations ------------------------------------------------
REGIONS = ("beijing", "shanghai", "yinchuan")
CATEGORIES = ("flexible", "new_form", "resident")
op = st.one_of(
    st.tuples(st.just("enroll"), st.sampled_from(REGIONS), st.sampled_from(CATEGORIES), st.integers(0, 47)),
    st.tuples(st.just("end"), st.integers(0, 5), st.integers(0, 47), st.just("")),
)


def _month(i: int) -> int:
    return (2020 + i // 12) * 100 + i % 12 + 1  # 2020-01 .. 2023-12: Beijing/Shanghai rule known


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=8))
def test_no_sequence_of_operations_leaves_overlapping_enrollments(engine: Engine, ops: list[tuple]) -> None:  # type: ignore[type-arg]
    """Whatever is tried, a person never holds two active employee enrollments nor any two
    enrollments for the same month; a refused operation changes nothing; an accepted one is what a
    simple model of the rule predicts (hukou 110105: Shanghai refuses flexible workers)."""
    p = person(engine, hukou="110105")
    model: list[tuple[int, int | None]] = []  # (start, end) of the person's enrollments, by creation
    ids: list[int] = []
    for kind, a, b, c in ops:
        before = counts(engine)
        if kind == "enroll":
            start = _month(c)
            expect = not (a == "shanghai" and b == "flexible") and all(
                end is not None and end < start for _, end in model)
            try:
                e = run(engine, lambda s: enroll(s, OFFICER, p, a, b, start))  # noqa: B023
                ids.append(e.id)
                model.append((start, None))
                assert expect
            except YibaoError:
                assert not expect
                assert counts(engine) == before
        elif ids:
            i = a % len(ids)
            start, end = model[i]
            month = _month(b)
            expect = end is None and month >= start
            try:
                run(engine, lambda s: end_enrollment(s, OFFICER, ids[i], month, "other"))  # noqa: B023
                model[i] = (start, month)
                assert expect
            except YibaoError:
                assert not expect
                assert counts(engine) == before
        with Session(engine) as s:
            rows = s.scalars(select(Enrollment).where(Enrollment.person_id == p)).all()
        assert sum(r.status == "active" and r.scheme == "employee" for r in rows) <= 1
        spans = sorted((r.start_month, r.end_month or 999912) for r in rows)
        assert all(x[1] < y[0] for x, y in itertools.pairwise(spans))
