"""A small register for the declaration and assessment tests (imported by test_declare_* and
test_assess_*), and the checks that it builds valid identifiers."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.admin.uow import Actor, run
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, Person
from yibao.ids import is_valid_person_id, is_valid_uscc, organisation_code_check, synthetic_resident_id
from yibao.ids.uscc import uscc_check_char

BJ = "110000"
SH = "310000"
STAFF = Actor("test:staff", "operator", purpose="tests")


def uscc(n: int, division: str = "110000") -> str:
    """A valid unified social credit code (GB 32100) for unit number ``n``."""
    org = f"{n:08d}"
    first17 = f"91{division}{org}{organisation_code_check(org)}"
    return first17 + uscc_check_char(first17)


_rng = random.Random(7)
_used: set[str] = set()


def new_id(birth: dt.date, sex: str = "male") -> str:
    while True:
        number = synthetic_resident_id(_rng, birth, sex, "110105")  # type: ignore[arg-type]
        if number not in _used:
            _used.add(number)
            return number


@dataclass
class World:
    """Ids of what :func:`build` made."""

    employers: dict[str, int] = field(default_factory=dict)  # name → id
    usccs: dict[str, str] = field(default_factory=dict)  # name → code
    persons: dict[str, int] = field(default_factory=dict)  # name → id
    id_numbers: dict[str, str] = field(default_factory=dict)  # name → ID number
    enrollments: dict[str, int] = field(default_factory=dict)  # name → enrollment id


def add_employer(s: Session, w: World, name: str, n: int, region: str = BJ,
                 base_method: str = "sum_of_individual_bases") -> int:
    code = uscc(n, "110000" if region == BJ else "310000")
    emp = Employer(uscc=code, name=name, region_code=region, base_method=base_method)
    s.add(emp)
    s.flush()
    w.employers[name], w.usccs[name] = emp.id, code
    return emp.id


def add_person(s: Session, w: World, name: str, category: str = "in_service", employer: str | None = None,
               region: str = BJ, start: int = 202301, end: int | None = None, option: int = 0,
               birth: dt.date = dt.date(1985, 6, 15), status: str = "active") -> int:
    number = new_id(birth)
    p = Person(id_kind="resident", id_number=number, name=name, sex="male", birth_date=birth,
               hukou_region=region)
    s.add(p)
    s.flush()
    e = Enrollment(person_id=p.id, region_code=region, scheme="employee", category=category,
                   employer_id=w.employers[employer] if employer else None, start_month=start, end_month=end,
                   status=status, flexible_option=option)
    s.add(e)
    s.flush()
    w.persons[name], w.id_numbers[name], w.enrollments[name] = p.id, number, e.id
    return p.id


def build(engine: Engine) -> World:
    """Beijing: unit 甲 with 张三 and 李四 (in service), 王五 flexible, 赵六 retiree; unit 乙 with 钱七."""
    w = World()

    def go(s: Session) -> None:
        add_employer(s, w, "甲", 1)
        add_employer(s, w, "乙", 2)
        add_person(s, w, "张三", employer="甲")
        add_person(s, w, "李四", employer="甲")
        add_person(s, w, "王五", category="flexible")
        add_person(s, w, "赵六", category="retiree", birth=dt.date(1955, 1, 1))
        add_person(s, w, "钱七", employer="乙")

    run(engine, go)
    return w


def test_world_identifiers_are_valid() -> None:
    assert is_valid_uscc(uscc(1)) and is_valid_uscc(uscc(99_999_999, "310000"))
    assert is_valid_person_id(new_id(dt.date(1990, 1, 2)))
