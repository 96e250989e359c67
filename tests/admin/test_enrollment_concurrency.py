"""Concurrent requests cannot sneak a duplicate past the checks (real parallel connections).

Eight clerks enroll one person at the same moment, in different regions and schemes: exactly one
succeeds and every other gets the conflict (DOMAIN.md §8 duplicates are reported, not accepted).
Eight clerks register the same ID in 15- and 18-digit form at once: one person, seven refusals.
On PostgreSQL the person row is locked (SELECT … FOR UPDATE) and the unique index catches a
racing insert, which the unit of work retries; on SQLite BEGIN IMMEDIATE serialises writers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import register as reg
from yibao.admin.enrollment import EnrollmentConflict, enroll
from yibao.admin.uow import Actor, run
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Person
from yibao.errors import YibaoError

OFFICER = Actor("officer1")
TRIES = [("yinchuan", "flexible"), ("yinchuan", "resident"), ("beijing", "flexible"), ("beijing", "resident"),
         ("shanghai", "new_form"), ("shanghai", "resident"), ("yinchuan", "new_form"),
         ("beijing", "new_form")]


def test_parallel_enrollments_of_one_person_leave_exactly_one(engine: Engine) -> None:
    p = run(engine, lambda s: reg.register_person(s, OFFICER, "11010519491231002X", "王芳",
                                                  hukou_region="110105")).id

    def attempt(region_category: tuple[str, str]) -> str:
        region, category = region_category
        try:
            run(engine, lambda s: enroll(s, OFFICER, p, region, category, "2023-01"))
        except EnrollmentConflict:
            return "conflict"
        return "enrolled"

    with ThreadPoolExecutor(max_workers=len(TRIES)) as pool:
        outcomes = list(pool.map(attempt, TRIES))
    assert sorted(outcomes) == ["conflict"] * (len(TRIES) - 1) + ["enrolled"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.person_id == p)) == 1


def test_parallel_registrations_of_one_id_in_both_forms_leave_one_person(engine: Engine) -> None:
    forms = ["11010519491231002X", "110105491231002"] * 4

    def attempt(number: str) -> str:
        try:
            run(engine, lambda s: reg.register_person(s, OFFICER, number, "王芳"))
        except reg.AlreadyRegistered:
            return "refused"
        except YibaoError as exc:  # pragma: no cover - would be a wrong refusal
            return f"other: {exc}"
        return "registered"

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        outcomes = list(pool.map(attempt, forms))
    assert sorted(outcomes) == ["refused"] * (len(forms) - 1) + ["registered"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 1
