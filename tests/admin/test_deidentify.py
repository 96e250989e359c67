"""De-identified extracts (issue 8): the policy lab's layout with no direct identifier, keyed
pseudonyms, and every (age band, sex, status) group of at least 5 people — on a small Demo City
built by the same services staff use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from yibao.admin.deidentify import lab_extract, load_key, pseudonym, write_extract
from yibao.admin.demo import DEMO_REGION, DemoSize, build_demo
from yibao.admin.uow import SYSTEM, Actor, run
from yibao.db.engine import make_engine
from yibao.db.migrate import upgrade
from yibao.db.models.register import Person
from yibao.errors import Forbidden, InputError
from yibao.sim.extract import load_extract

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.db")
    upgrade(engine)
    build_demo(
        engine,
        DemoSize(
            employees=150, flexible=30, retirees=40, employers=6, outpatient_claims=40, inpatient_claims=10
        ),
    )
    return engine


def test_the_extract_has_no_identifier_and_every_group_has_five(demo: Engine, tmp_path: Path) -> None:
    frame, report = run(demo, lambda s: lab_extract(s, SYSTEM, DEMO_REGION, 2024, KEY))
    assert report.rows + report.suppressed >= 200 and report.rows > 0
    assert not {"id_number", "name", "phone", "person_id", "employer_id"} & set(frame.columns)
    assert all(d.month == 7 and d.day == 1 for d in frame["birth_date"])  # the year only
    assert all(w % 1000 == 0 for w in frame["wage_yuan"])
    age = 2024 - frame["birth_date"].dt.year()
    sizes = frame.with_columns((age // 5).alias("band")).group_by("band", "sex", "status").len()
    assert sizes["len"].min() >= 5
    with Session(demo) as s:
        numbers = [p.id_number for p in s.query(Person)]
    text = frame.write_csv()
    assert not any(n in text for n in numbers)
    # the same key links, another key does not; the pseudonym is keyed, not a plain hash
    assert set(frame["pseudonym"]) <= {pseudonym(KEY, n) for n in numbers}
    other, _ = run(demo, lambda s: lab_extract(s, SYSTEM, DEMO_REGION, 2024, bytes(32)))
    assert not set(frame["pseudonym"]) & set(other["pseudonym"])
    # the lab reads it as its population
    path = write_extract(frame, report, tmp_path / "extract.parquet")
    population = load_extract(path, 2024)
    assert population.height == report.rows
    assert (tmp_path / "extract.parquet.json").exists()


def test_keys_and_regions_are_checked(demo: Engine, tmp_path: Path) -> None:
    short = tmp_path / "k"
    short.write_bytes(b"too short")
    with pytest.raises(InputError) as err:
        load_key(short, None)
    assert err.value.field == "key"
    with pytest.raises(InputError):
        load_key(None, None)
    assert load_key(None, KEY.hex()) == KEY
    outsider = Actor("user:sh", "operator", ("310000",))
    with pytest.raises(Forbidden):
        run(demo, lambda s: lab_extract(s, outsider, DEMO_REGION, 2024, KEY))
    with pytest.raises(InputError):
        run(demo, lambda s: lab_extract(s, SYSTEM, DEMO_REGION, 1999, KEY))


def test_new_form_workers_are_written_as_such_and_read_as_flexible_workers(
    demo: Engine, tmp_path: Path
) -> None:
    """They pay alone, as flexible workers do (rules/contribution.py; DOMAIN.md §1: they enroll as
    flexible workers today): the extract names them ``new_form_in_service`` and the lab reads them
    as flexible workers in service, marked new-form — never as unit members, who would be charged an
    employer's share."""
    import datetime as dt
    import random

    from yibao.db.models.enrollment import Enrollment
    from yibao.ids import synthetic_resident_id

    rng, numbers = random.Random(7), []
    with Session(demo) as s:
        for i in range(2):
            number = synthetic_resident_id(rng, dt.date(1992, 3, 1 + i), "male")
            p = Person(
                id_kind="resident",
                id_number=number,
                name=f"骑手{i}",
                sex="male",
                birth_date=dt.date(1992, 3, 1 + i),
                hukou_region=DEMO_REGION,
            )
            s.add(p)
            s.flush()
            s.add(
                Enrollment(
                    person_id=p.id,
                    region_code=DEMO_REGION,
                    scheme="employee",
                    category="new_form",
                    start_month=202401,
                    status="active",
                )
            )
            numbers.append(number)
        s.commit()
    frame, _ = run(demo, lambda s: lab_extract(s, SYSTEM, DEMO_REGION, 2024, KEY, k=2))
    riders = frame.filter(frame["pseudonym"].is_in([pseudonym(KEY, n) for n in numbers]))
    assert riders.height == 2 and set(riders["status"]) == {"new_form_in_service"}
    frame.write_parquet(tmp_path / "x.parquet")
    lab = load_extract(tmp_path / "x.parquet", 2024)
    assert lab["new_form"].sum() == 2 and set(lab.filter(lab["new_form"])["status"]) == {1}
