"""Registering persons: ID validation end to end, duplicates, masking, audit of reads (issue 4 "Register").

Sources: GB 11643-1999 (18-digit citizen ID, its example 11010519491231002X, a woman born
1949-12-31 in 北京市朝阳区); the legacy 15-digit form names the same person (DOMAIN.md §8.x); the
2023 foreign permanent residence ID example 932682198501010017 and the 2017 example
KAZ110090123105 (国家移民管理局 适配性改造要点, see src/yibao/ids/person.py).
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import register as reg
from yibao.admin.uow import Actor, IdempotencyConflict, run
from yibao.db.base import Base
from yibao.db.models.audit import AuditEvent
from yibao.db.models.register import Person
from yibao.errors import InputError

OFFICER = Actor("officer1", "operator")
GB_EXAMPLE = "11010519491231002X"
GB_EXAMPLE_15 = "110105491231002"


def counts(engine: Engine) -> dict[str, int]:
    """Rows in every table: bad input must leave all of them unchanged."""
    with Session(engine) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


def add(engine: Engine, id_number: str = GB_EXAMPLE, name: str = "王芳", **kw: object) -> Person:
    return run(engine, lambda s: reg.register_person(s, OFFICER, id_number, name, **kw))  # type: ignore[arg-type]


def test_gb11643_example_registers_with_sex_and_birth_date_from_the_number(engine: Engine) -> None:
    p = add(engine, " 11010519491231002x ", "  王  芳 ", hukou_region="110105")
    assert (p.id_number, p.id_kind, p.sex) == (GB_EXAMPLE, "resident", "female")
    assert p.birth_date == dt.date(1949, 12, 31)
    assert p.name == "王 芳" and p.hukou_region == "110105"


def test_legacy_15_digit_id_is_stored_as_its_18_digit_form(engine: Engine) -> None:
    """DOMAIN.md §8.x: insert 19 before the year and append the check character."""
    p = add(engine, GB_EXAMPLE_15)
    assert p.id_number == GB_EXAMPLE and p.id_kind == "resident_legacy15" and p.sex == "female"


@pytest.mark.parametrize(("first", "second"), [(GB_EXAMPLE_15, GB_EXAMPLE), (GB_EXAMPLE, GB_EXAMPLE_15),
                                               (GB_EXAMPLE, "11010519491231002x")])
def test_the_same_person_in_15_and_18_digit_form_is_refused_the_second_time(
        engine: Engine, first: str, second: str) -> None:
    p = add(engine, first)
    before = counts(engine)
    with pytest.raises(reg.AlreadyRegistered) as err:
        add(engine, second, "王芳")
    assert err.value.existing_id == p.id
    assert f"already registered as person {p.id}" in err.value.en and f"已登记为人员 {p.id}" in err.value.zh
    assert GB_EXAMPLE not in str(err.value)  # the message shows the masked number only
    assert "110105********002X" in err.value.en
    assert counts(engine) == before


def test_bad_checksum_is_rejected_naming_the_field_and_the_expected_check_character(engine: Engine) -> None:
    before = counts(engine)
    with pytest.raises(InputError) as err:
        add(engine, "110105194912310021")
    assert err.value.field == "id_number"
    assert "校验码应为 X，实为 1" in err.value.zh and "check character should be X, found 1" in err.value.en
    assert counts(engine) == before


def test_other_malformed_ids_are_rejected_with_the_failed_check(engine: Engine) -> None:
    before = counts(engine)
    for bad, words in (("1101051949123100", "expected 18"), ("110105194902310023", "not a real date"),
                       ("991105194912310022", "province code")):
        with pytest.raises(InputError) as err:
            add(engine, bad)
        assert err.value.field == "id_number" and words in err.value.en
    assert counts(engine) == before


def test_foreign_permanent_residence_ids_2023_and_2017(engine: Engine) -> None:
    """2023 edition: sex from the sequence; 2017 edition carries no sex, so it must be given."""
    p = add(engine, "932682198501010017", "Ahmed Ali")
    assert (p.id_kind, p.sex, p.birth_date) == ("foreign_permanent_2023", "male", dt.date(1985, 1, 1))
    with pytest.raises(InputError) as err:
        add(engine, "KAZ110090123105", "Nurlan Abenov")
    assert err.value.field == "sex"
    q = add(engine, "KAZ110090123105", "Nurlan Abenov", sex="male")
    assert q.id_kind == "foreign_permanent_2017" and q.id_number == "KAZ110090123105"


def test_given_fields_are_checked_against_the_id_and_their_format(engine: Engine) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"sex": "male"}, "sex"),  # the 17th digit 2 is even: female
        ({"sex": "x"}, "sex"),
        ({"birth_date": "1949-12-30"}, "birth_date"),
        ({"birth_date": "31/12/1949"}, "birth_date"),
        ({"hukou_region": "99"}, "hukou_region"),
        ({"residence_region": "nowhere"}, "residence_region"),
        ({"phone": "12ab"}, "phone"),
    ]
    before = counts(engine)
    for kw, field in cases:
        with pytest.raises(InputError) as err:
            add(engine, **kw)
        assert err.value.field == field, kw
    assert counts(engine) == before


def test_matching_sex_and_birth_date_are_accepted_and_region_names_become_codes(engine: Engine) -> None:
    p = add(engine, sex="女", birth_date="1949-12-31", residence_region="北京", phone="138 1234 5678")
    assert p.sex == "female" and p.residence_region == "110000" and p.phone == "138 1234 5678"


def test_name_must_be_non_empty_and_at_most_64_characters(engine: Engine) -> None:
    for name in ("", "   ", "张" * 65):
        with pytest.raises(InputError) as err:
            add(engine, name=name)
        assert err.value.field == "name"
    assert counts(engine)["person"] == 0


def test_idempotency_key_replay_returns_the_person_and_adds_nothing(engine: Engine) -> None:
    p = run(engine, lambda s: reg.register_person(s, OFFICER, GB_EXAMPLE, "王芳", key="reg-1"))
    before = counts(engine)
    again = run(engine, lambda s: reg.register_person(s, OFFICER, GB_EXAMPLE, "王芳", key="reg-1"))
    assert again.id == p.id and counts(engine) == before
    with pytest.raises(IdempotencyConflict):
        run(engine, lambda s: reg.register_person(s, OFFICER, GB_EXAMPLE, "王小芳", key="reg-1"))


def test_registration_is_audited(engine: Engine) -> None:
    p = add(engine, hukou_region="110105")
    with Session(engine) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "person")).one()
    assert (ev.action, ev.subject_id, ev.actor, ev.outcome) == ("person.create", str(p.id), "officer1", "ok")
    assert ev.fields is not None and "id_number" in ev.fields and "hukou_region" in ev.fields


def test_find_by_any_id_form_or_name_shows_masked_values(engine: Engine) -> None:
    p = add(engine)
    add(engine, "110105198001010016", "王小明")
    for query in (GB_EXAMPLE, GB_EXAMPLE_15, "11010519491231002x"):
        found = run(engine, lambda s, q=query: reg.find_persons(s, OFFICER, q))  # type: ignore[misc]
        assert [v.id for v in found] == [p.id]
        assert found[0].id_number == "110105********002X" and found[0].name == "王*"
        assert found[0].birth_date is None and found[0].masked
    by_name = run(engine, lambda s: reg.find_persons(s, OFFICER, "王芳"))
    assert [v.id for v in by_name] == [p.id] and GB_EXAMPLE not in str(by_name[0].as_dict())
    exact = run(engine, lambda s: reg.find_persons(s, OFFICER, "王小明"))
    assert [v.name for v in exact] == ["王**"]
    # Names are stored encrypted and found through a blind index of the whole name: a surname
    # alone finds no one (an index of surnames would tell who shares one, docs/security.md).
    assert run(engine, lambda s: reg.find_persons(s, OFFICER, "王")) == []


def test_find_with_a_bad_id_says_why(engine: Engine) -> None:
    with pytest.raises(InputError) as err:
        run(engine, lambda s: reg.find_persons(s, OFFICER, "110105194912310021"))
    assert err.value.field == "query" and "should be X" in err.value.en


def test_unmasked_find_needs_a_purpose_and_audits_each_person_read(engine: Engine) -> None:
    p = add(engine)
    before = counts(engine)
    with pytest.raises(InputError) as err:
        run(engine, lambda s: reg.find_persons(s, OFFICER, "王芳", unmasked=True))
    assert err.value.field == "purpose"
    assert counts(engine) == before
    found = run(engine, lambda s: reg.find_persons(s, OFFICER, "王芳", unmasked=True,
                                                   purpose="counter enquiry 2024-03-01"))
    assert found[0].id_number == GB_EXAMPLE and found[0].birth_date == dt.date(1949, 12, 31)
    with Session(engine) as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "person.read")).all()
    assert [(r.subject_id, r.purpose) for r in reads] == [(str(p.id), "counter enquiry 2024-03-01")]
    assert reads[0].fields is not None and "id_number" in reads[0].fields


def test_masked_search_and_get_person_are_audited_without_full_ids(engine: Engine) -> None:
    p = add(engine)
    run(engine, lambda s: reg.find_persons(s, OFFICER, GB_EXAMPLE))
    view = run(engine, lambda s: reg.get_person(s, OFFICER, p.id))
    assert view.masked and view.id_number == "110105********002X"
    full = run(engine, lambda s: reg.get_person(s, OFFICER, GB_EXAMPLE_15, unmasked=True, purpose="appeal"))
    assert full.id_number == GB_EXAMPLE
    with Session(engine) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.in_(("person.search", "person.read")))
                           .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["person.search", "person.read", "person.read"]
    assert [e.purpose for e in events] == [None, None, "appeal"]
    assert all(GB_EXAMPLE not in (e.subject_id + (e.fields or "")) for e in events)


def test_region_filter_only_finds_persons_enrolled_there(engine: Engine) -> None:
    from yibao.admin.enrollment import enroll

    p = add(engine)
    run(engine, lambda s: enroll(s, OFFICER, p.id, "640100", "flexible", "2023-01"))
    found = run(engine, lambda s: reg.find_persons(s, OFFICER, "王芳", region="银川"))
    assert [v.id for v in found] == [p.id]
    assert run(engine, lambda s: reg.find_persons(s, OFFICER, "王芳", region="beijing")) == []
    with pytest.raises(InputError) as err:
        run(engine, lambda s: reg.find_persons(s, OFFICER, "王芳", region="tianjin"))
    assert err.value.field == "region" and "110000/beijing" in err.value.en


def test_no_log_record_carries_a_full_id(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="yibao")
    add(engine, GB_EXAMPLE_15)
    # Even a careless log call with the full number is masked by the filter on the logger.
    reg.log.warning("checking %s for %s", GB_EXAMPLE, "x")
    text = caplog.text + " ".join(r.getMessage() for r in caplog.records)
    assert GB_EXAMPLE not in text and GB_EXAMPLE_15 not in text
    assert "110105********002X" in text
