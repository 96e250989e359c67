"""The register (参保登记): persons, employer units, employment spells, family mutual-aid links.

Every function takes the caller's ``Session`` (one transaction, see :func:`yibao.admin.uow.run`) and
the :class:`~yibao.admin.uow.Actor`; every change and every read of personal data writes an audit
row in the same transaction (:func:`yibao.admin.audit.record`). Bad input raises a
:class:`~yibao.errors.YibaoError` before anything is written, so it changes nothing.

Identifiers are validated by :mod:`yibao.ids`: a person's ID number (GB 11643 18-digit, the legacy
15-digit number stored in its 18-digit form, foreigners' permanent residence IDs) and an
employer's unified social credit code (GB 32100). The same person given as 15 or 18 digits is the
same person (DOMAIN.md §8.x), so a second registration is refused. Lists and log lines show masked
IDs and names (:func:`yibao.ids.mask_id`, :func:`yibao.ids.mask_name`); an unmasked read needs a
purpose and is audited per person.

Family links (家庭共济, DOMAIN.md §3.3) authorise a holder's individual account to pay for a
relative. Which relations a region allows on a date is the policy parameter
``account.family_mutual_aid.relations`` (spouse, children and parents under 国办发〔2021〕14号;
near relatives from 2024-08-01, PD national_rules).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from yibao.admin import approvals, audit
from yibao.admin.policies import registry_of
from yibao.admin.roles import authorize
from yibao.admin.uow import Actor, idempotent
from yibao.db.base import month_of
from yibao.db.crypto import blind_index
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, EmploymentSpell, FamilyLink, Person, Region
from yibao.errors import Forbidden, InputError, YibaoError
from yibao.ids import (
    PROVINCE_CODES,
    MaskingFilter,
    mask_id,
    mask_name,
    mask_phone,
    mask_text,
    parse_person_id,
    parse_uscc,
)
from yibao.policy.registry import Registry

__all__ = [
    "BASE_METHODS",
    "RELATIONS",
    "AlreadyRegistered",
    "PersonView",
    "check_employer_visible",
    "check_person_visible",
    "close_employer",
    "covers",
    "employees_of",
    "employer_view",
    "employers_in",
    "find_persons",
    "get_person",
    "hire",
    "holders_for",
    "install_masking",
    "link_family",
    "lookup_employer",
    "lookup_payer",
    "lookup_person",
    "person_view",
    "region_prefix",
    "regions_of",
    "register_employer",
    "register_person",
    "relatives_of",
    "replayable",
    "resolve_region",
    "separate",
    "unlink_family",
    "visible_persons",
]

log = logging.getLogger(__name__)

#: How an employer's base is formed (DOMAIN.md §2.1, seed 000).
BASE_METHODS: tuple[str, ...] = ("sum_of_individual_bases", "payroll_total")
#: Relations a family link may name; which are allowed on a date is policy (module docstring).
RELATIONS: tuple[str, ...] = ("spouse", "child", "parent", "near_relative")
_RELATION_ZH = {"spouse": "配偶", "child": "子女", "parent": "父母", "near_relative": "近亲属"}
_SEX_IN = {"male": "male", "m": "male", "男": "male", "1": "male",
           "female": "female", "f": "female", "女": "female", "2": "female"}
_SEX_ZH = {"male": "男", "female": "女"}
# Fields an unmasked read shows (the audit row names them).
_PERSON_FIELDS = ("id_number", "name", "sex", "birth_date", "hukou_region", "residence_region", "phone")
_MASKED_FIELDS = ("id_number_masked", "name_masked", "sex", "hukou_region", "residence_region")
T = TypeVar("T")


def install_masking(logger: logging.Logger) -> None:
    """Put a :class:`~yibao.ids.MaskingFilter` on ``logger`` (once): no record it creates carries
    a full ID or mobile number, whatever handler later writes it."""
    if not any(isinstance(f, MaskingFilter) for f in logger.filters):
        logger.addFilter(MaskingFilter())


install_masking(logging.getLogger("yibao"))
install_masking(log)


class AlreadyRegistered(YibaoError):
    """The person (same canonical ID) or employer (same USCC) is in the register already."""

    def __init__(self, kind: str, existing_id: int, shown: str) -> None:
        self.kind = kind
        self.existing_id = existing_id
        zh_kind, field = {"person": ("人员", "id_number"), "employer": ("单位", "uscc")}[kind]
        super().__init__(
            f"字段 {field}：{shown} 已登记为{zh_kind} {existing_id}，不能重复登记；请查看该登记"
            f"（yibao {kind} show {existing_id}）",
            f"field {field}: {shown} is already registered as {kind} {existing_id}; it cannot be "
            f"registered twice; see that record (yibao {kind} show {existing_id})",
        )


# -- small parsers ---------------------------------------------------------------------------------
def _text(value: object, field: str, max_len: int) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        raise InputError(field, value, "不能为空", "must not be empty")
    if len(text) > max_len:
        raise InputError(field, value, f"最长 {max_len} 个字符，实为 {len(text)}",
                         f"at most {max_len} characters, got {len(text)}")
    return text


def _date(value: object, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(field, value, "应为日期 YYYY-MM-DD，如 2024-03-15",
                         "expected a date YYYY-MM-DD, e.g. 2024-03-15") from None


def _sex(value: object) -> str:
    sex = _SEX_IN.get(str(value).strip().lower())
    if sex is None:
        raise InputError("sex", value, "应为 male/female（或 男/女、1/2）",
                         "expected male or female (or 男/女, 1/2)")
    return sex


def _phone(value: object) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    digits = sum(c.isdigit() for c in text)
    if len(text) > 32 or not (7 <= digits <= 15) or any(not (c.isdigit() or c in "+- ()") for c in text):
        raise InputError("phone", mask_phone(text), "应为 7–15 位数字的电话号码（可含 + - 空格 括号）",
                         "expected a phone number of 7-15 digits (+, -, spaces and brackets allowed)")
    return text


def region_prefix(code: str) -> str:
    """The GB/T 2260 prefix a division code covers: ``110000`` → ``11`` (all of Beijing),
    ``640100`` → ``6401`` (Yinchuan), ``640104`` → itself."""
    p = code
    while len(p) > 2 and p.endswith("00"):
        p = p[:-2]
    return p


def covers(region_code: str, code: str | None) -> bool:
    """True when division ``code`` lies inside ``region_code`` (e.g. 110105 in 110000)."""
    return code is not None and code.startswith(region_prefix(region_code))


def resolve_region(session: Session, given: object, field: str = "region") -> Region:
    """A region of this installation's region table by code, pinyin, Chinese or English name.

    Names the policy registry knows (``北京市``) are accepted too, if that region is administered
    here; anything else is an InputError listing the regions the table holds.
    """
    text = str(given).strip() if given is not None else ""
    if len(text) == 6 and text.isdecimal():
        found = session.get(Region, text)
        if found is not None:
            return found
    rows = list(session.scalars(select(Region).order_by(Region.code)))
    n = text.lower().rstrip("市省")
    for r in rows:
        if n and n in (r.code, r.policy.lower(), r.name_zh.rstrip("市省").lower(), r.name_en.lower()):
            return r
    try:
        code = registry_of(session).header(text).code if text else None
    except YibaoError:
        code = None
    for r in rows:
        if r.code == code:
            return r
    known = ", ".join(f"{r.code}/{r.policy}/{r.name_zh}" for r in rows) or "（无 / none）"
    raise InputError(field, given, f"不是本系统经办的统筹地区；可用代码、拼音或中文名：{known}",
                     f"not a pooling region administered here; use a code, pinyin or Chinese name: {known}")


def _division(session: Session, value: object, field: str) -> str | None:
    """A GB/T 2260 division code (any place in China), or a region name known here → its code."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if len(text) == 6 and text.isascii() and text.isdigit() and int(text[:2]) in PROVINCE_CODES:
        return text
    try:
        return resolve_region(session, text, field).code
    except InputError:
        raise InputError(field, value, "应为 6 位行政区划代码（GB/T 2260，前两位为省级代码），如 110105",
                         "expected a 6-digit division code (GB/T 2260, starting with a province code), "
                         "e.g. 110105") from None


def replayable(session: Session, key: str | None, command: str, request: dict[str, Any],
                make: Callable[[], Any], model: type[T]) -> T:
    """Run ``make`` once per idempotency key; a replay returns the row the first call made."""
    res = idempotent(session, key, command, request, lambda: {"id": make().id})
    row = session.get(model, res["id"])
    assert row is not None  # the first call committed it with its key
    return row


# -- persons ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonView:
    """A person as a list or screen shows it: masked unless ``masked`` is False."""

    id: int
    id_kind: str
    id_number: str
    name: str
    sex: str
    birth_date: dt.date | None  # None when masked (the birth date identifies)
    hukou_region: str | None
    residence_region: str | None
    phone: str | None
    death_date: dt.date | None
    masked: bool

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v)
                for k, v in dataclasses.asdict(self).items()}


def person_view(p: Person, unmasked: bool = False) -> PersonView:
    if unmasked:
        return PersonView(p.id, p.id_kind, p.id_number, p.name, p.sex, p.birth_date, p.hukou_region,
                          p.residence_region, p.phone, p.death_date, masked=False)
    return PersonView(p.id, p.id_kind, mask_id(p.id_number), mask_name(p.name), p.sex, None,
                      p.hukou_region, p.residence_region, mask_phone(p.phone) if p.phone else None,
                      p.death_date, masked=True)


def register_person(session: Session, actor: Actor, id_number: str, name: str, sex: str | None = None,
                    birth_date: dt.date | str | None = None, hukou_region: str | None = None,
                    residence_region: str | None = None, phone: str | None = None, *,
                    key: str | None = None, today: dt.date | None = None) -> Person:
    """Register a natural person; the ID gives sex and birth date, which must agree if also given.

    A second registration of the same canonical ID (15 and 18-digit forms are one person,
    DOMAIN.md §8.x) raises :class:`AlreadyRegistered`; a replay of ``key`` returns the person.
    ``today`` (injected, never read from the clock here) rejects birth dates after it.
    """
    request = {"id_number": id_number, "name": name, "sex": sex, "birth_date": str(birth_date),
               "hukou_region": hukou_region, "residence_region": residence_region, "phone": phone}

    def make() -> Person:
        pid = parse_person_id(id_number, "id_number", today=today)
        clean_name = _text(name, "name", 64)
        chosen_sex: str | None = pid.sex
        if sex is not None and str(sex).strip() != "":
            given = _sex(sex)
            if pid.sex is not None and given != pid.sex:
                raise InputError("sex", sex, f"与证件号码不符：号码第 17 位表示{_SEX_ZH[pid.sex]}性",
                                 f"does not match the ID number, whose sequence digit says {pid.sex}")
            chosen_sex = given
        if chosen_sex is None:
            raise InputError("sex", sex, "此证件号码（2017 版外国人永久居留身份证）不含性别，"
                             "请填写 male 或 female",
                             "this ID number (2017 foreign permanent residence ID) carries no sex; "
                             "give male or female")
        if birth_date is not None and str(birth_date).strip() not in ("", "None"):
            given_birth = _date(birth_date, "birth_date")
            if given_birth != pid.birth_date:
                raise InputError("birth_date", birth_date,
                                 f"与证件号码不符：号码中的出生日期为 {pid.birth_date.isoformat()}",
                                 f"does not match the ID number, which gives {pid.birth_date.isoformat()}")
        hukou = _division(session, hukou_region, "hukou_region")
        residence = _division(session, residence_region, "residence_region")
        clean_phone = _phone(phone)
        existing = session.scalar(select(Person.id).where(Person.id_number_bidx == blind_index(pid.number)))
        if existing is not None:
            raise AlreadyRegistered("person", existing, mask_id(pid.number))
        person = Person(id_kind=pid.kind, id_number=pid.number, name=clean_name, sex=chosen_sex,
                        birth_date=pid.birth_date, hukou_region=hukou, residence_region=residence,
                        phone=clean_phone)
        session.add(person)
        session.flush()
        audit.record(session, actor, "person.create", "person", person.id,
                     [f for f in _PERSON_FIELDS if getattr(person, f) is not None], region=hukou)
        log.info("person %s registered: %s %s", person.id, mask_id(person.id_number), mask_name(clean_name))
        return person

    return replayable(session, key, "person.register", request, make, Person)


def correct_identity(session: Session, actor: Actor, person: object, region: str, *,
                     id_number: str | None = None, name: str | None = None, reason: str = "",
                     today: dt.date | None = None) -> dict[str, Any]:
    """Correct a registered person's ID number (and with it sex and birth date) or name, for the
    office of ``region``; a second person approves it (four-eyes, :mod:`yibao.admin.approvals`).

    Identity edits are where a borrowed or colluding account turns one person into another; the
    audit rows name the clerk, the reviewer and the fields changed, never the values.
    """
    authorize(actor, "person.write")
    actor.check_region(region)
    p = lookup_person(session, person)
    check_person_visible(session, actor, p.id)
    why = " ".join(str(reason or "").split())
    if not (1 <= len(why) <= 256):
        raise InputError("reason", reason, "更正身份信息须写明原因（1–256 个字符）",
                         "an identity correction needs a reason (1-256 characters)")
    changes: dict[str, Any] = {}
    if id_number is not None and str(id_number).strip():
        pid = parse_person_id(id_number, "id_number", today=today)
        if pid.number != p.id_number:
            other = session.scalar(select(Person.id).where(Person.id_number_bidx == blind_index(pid.number)))
            if other is not None:
                raise AlreadyRegistered("person", other, mask_id(pid.number))
            changes.update(id_kind=pid.kind, id_number=pid.number, birth_date=pid.birth_date)
            if pid.sex is not None:
                changes["sex"] = pid.sex
    if name is not None and str(name).strip():
        clean = _text(name, "name", 64)
        if clean != p.name:
            changes["name"] = clean
    if not changes:
        shown = mask_text(str(id_number or name or ""))
        raise InputError("id_number", shown, "与登记的信息相同，没有要更正的",
                         "the same as registered: nothing to correct")
    fields = [f for f in ("id_number", "name", "sex", "birth_date") if f in changes]
    command = {"person_id": p.id, "region": region, "id_number": changes.get("id_number"),
               "name": changes.get("name"), "reason": why}
    approvals.check(session, actor, approvals.Command(
        "identity_edit", region, command, "person", p.id, f"更正人员 {p.id} 的{'、'.join(fields)}：{why}",
        f"correct {', '.join(fields)} of person {p.id}: {why}"))
    for field_name, value in changes.items():
        setattr(p, field_name, value)
    audit.record(session, actor, "person.correct", "person", p.id, fields, region)
    log.info("person %s corrected: %s", p.id, ", ".join(fields))
    return {"person_id": p.id, "corrected": fields}


def correct_identity_from(session: Session, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """Do an approved identity correction (:mod:`yibao.admin.approvals`)."""
    return correct_identity(session, actor, payload["person_id"], payload["region"],
                            id_number=payload["id_number"], name=payload["name"], reason=payload["reason"])


def _is_id_like(text: str) -> bool:
    # Names carry no digits; anything with a digit is read as an ID number (and checked as one).
    return any(c.isdigit() for c in text)


def lookup_person(session: Session, ref: object, field: str = "person") -> Person:
    """A person by register number (``42``) or ID number in any accepted form; no audit row
    (callers that show the person audit the read)."""
    text = str(ref).strip() if ref is not None else ""
    if isinstance(ref, int) or (text.isdecimal() and len(text) < 15):
        person = session.get(Person, int(text)) if text else None
        if person is None:
            raise InputError(field, ref, "没有此登记号的人员", "no person has this register number")
        return person
    number = parse_person_id(text, field).number
    found = session.scalar(select(Person).where(Person.id_number_bidx == blind_index(number)))
    if found is None:
        raise InputError(field, mask_id(number), "没有以此证件号码登记的人员；请先登记（yibao person add）",
                         "no person is registered with this ID number; register first (yibao person add)")
    return found


def _read_actor(actor: Actor, unmasked: bool, purpose: str | None) -> Actor:
    why = (purpose or actor.purpose or "").strip()
    if unmasked and not why:
        raise InputError("purpose", purpose, "查看未脱敏的个人信息须说明用途（记入审计日志）",
                         "reading unmasked personal data needs a purpose (it is written to the audit log)")
    return dataclasses.replace(actor, purpose=why or None)


def visible_persons(actor: Actor) -> ColumnElement[bool] | None:
    """Which persons ``actor`` may see, as a filter on ``Person`` (None: everyone).

    An insured person sees themself; an employer clerk the people their unit enrolled or employed;
    staff limited to regions those ever enrolled there, and the people not yet enrolled anywhere
    (whom they must be able to find to enroll them).
    """
    if actor.role == "insured":
        return Person.id == (actor.person_id if actor.person_id is not None else -1)
    if actor.role == "employer":
        unit = actor.employer_id if actor.employer_id is not None else -1
        spells = select(EmploymentSpell.person_id).where(EmploymentSpell.employer_id == unit)
        return or_(Person.id.in_(select(Enrollment.person_id).where(Enrollment.employer_id == unit)),
                   Person.id.in_(spells))
    if actor.regions is None:
        return None
    return or_(Person.id.in_(select(Enrollment.person_id).where(Enrollment.region_code.in_(actor.regions))),
               ~Person.id.in_(select(Enrollment.person_id)))


def check_person_visible(session: Session, actor: Actor, person_id: int) -> None:
    """:class:`~yibao.errors.Forbidden` unless ``actor`` may see person ``person_id``."""
    clause = visible_persons(actor)
    if clause is None:
        return
    if session.scalar(select(Person.id).where(Person.id == person_id, clause)) is None:
        # the transaction rolls back, so the refusal is logged rather than audited
        log.warning("person %s refused to %s (%s)", person_id, actor.user, actor.role)
        raise Forbidden(f"用户 {actor.user} 无权查看人员 {person_id} 的信息",
                        f"user {actor.user} may not see person {person_id}")


def find_persons(session: Session, actor: Actor, query: str, region: str | None = None, limit: int = 20,
                 offset: int = 0, *, unmasked: bool = False, purpose: str | None = None) -> list[PersonView]:
    """Persons by ID number (exact, any accepted form) or by full name (exact: names are stored
    encrypted and found through their blind index, so a prefix cannot be searched), optionally only
    those enrolled (ever) in ``region``.

    Results are masked; ``unmasked=True`` needs a ``purpose`` and writes one audit row per person
    shown. A masked search writes one audit row for the search.
    """
    reader = _read_actor(actor, unmasked, purpose)
    q = " ".join(str(query or "").split())
    if not q:
        raise InputError("query", query, "请输入证件号码或姓名", "give an ID number or a name")
    if not (1 <= limit <= 500) or offset < 0:
        raise InputError("limit", limit, "limit 应在 1–500，offset ≥ 0", "limit must be 1-500 and offset ≥ 0")
    stmt = select(Person)
    if _is_id_like(q):
        stmt = stmt.where(Person.id_number_bidx == blind_index(parse_person_id(q, "query").number))
        shown = mask_text(q)
    else:
        stmt = stmt.where(Person.name_bidx == blind_index(q))
        shown = mask_name(q)
    if region is not None:
        code = resolve_region(session, region).code
        stmt = stmt.where(Person.id.in_(select(Enrollment.person_id).where(Enrollment.region_code == code)))
    scope = visible_persons(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    rows = list(session.scalars(stmt.order_by(Person.id).limit(limit).offset(offset)))
    if unmasked:
        for p in rows:
            audit.record(session, reader, "person.read", "person", p.id, _PERSON_FIELDS)
    else:
        audit.record(session, reader, "person.search", "person_search", f"query:{shown}"[:64], _MASKED_FIELDS)
    return [person_view(p, unmasked) for p in rows]


def get_person(session: Session, actor: Actor, ref: object, *, unmasked: bool = False,
               purpose: str | None = None) -> PersonView:
    """One person by register number or ID number; the read is audited (with its purpose)."""
    reader = _read_actor(actor, unmasked, purpose)
    person = lookup_person(session, ref)
    check_person_visible(session, actor, person.id)
    audit.record(session, reader, "person.read", "person", person.id,
                 _PERSON_FIELDS if unmasked else _MASKED_FIELDS)
    return person_view(person, unmasked)


# -- employers -------------------------------------------------------------------------------------
def lookup_employer(session: Session, ref: object, field: str = "employer") -> Employer:
    """An employer by register number or unified social credit code."""
    text = str(ref).strip() if ref is not None else ""
    if isinstance(ref, int) or (text.isdecimal() and len(text) < 18):
        found = session.get(Employer, int(text)) if text else None
    else:
        found = session.scalar(select(Employer).where(Employer.uscc == parse_uscc(text, field)))
    if found is None:
        raise InputError(field, ref, "没有此登记号或统一社会信用代码的单位；请先登记（yibao employer add）",
                         "no employer has this register number or code; register it first "
                         "(yibao employer add)")
    return found


def register_employer(session: Session, actor: Actor, uscc: str, name: str, region: str,
                      base_method: str = "sum_of_individual_bases", hardship: bool = False, *,
                      key: str | None = None) -> Employer:
    """Register an employer unit (用人单位) by its USCC (GB 32100) in a region administered here.

    ``base_method`` is how its employer base is formed (DOMAIN.md §2.1); ``hardship`` marks a
    bankrupt or hardship enterprise whose retirees are handled by lump-sum plans (seed 003).
    """
    request = {"uscc": uscc, "name": name, "region": region, "base_method": base_method, "hardship": hardship}

    def make() -> Employer:
        code = parse_uscc(uscc, "uscc")
        clean_name = _text(name, "name", 128)
        reg = resolve_region(session, region)
        if base_method not in BASE_METHODS:
            raise InputError("base_method", base_method, f"应为 {' 或 '.join(BASE_METHODS)}（DOMAIN §2.1）",
                             f"expected {' or '.join(BASE_METHODS)} (DOMAIN §2.1)")
        existing = session.scalar(select(Employer.id).where(Employer.uscc == code))
        if existing is not None:
            raise AlreadyRegistered("employer", existing, code)
        employer = Employer(uscc=code, name=clean_name, region_code=reg.code, base_method=base_method,
                            hardship=bool(hardship), status="active")
        session.add(employer)
        session.flush()
        audit.record(session, actor, "employer.create", "employer", employer.id,
                     ("uscc", "name", "region_code", "base_method", "hardship"), region=reg.code)
        log.info("employer %s registered: %s in %s", employer.id, code, reg.code)
        return employer

    return replayable(session, key, "employer.register", request, make, Employer)


def check_employer_visible(actor: Actor, employer: Employer) -> None:
    """An employer clerk sees only their unit; staff limited to regions only units there."""
    if actor.role == "employer":
        if employer.id != actor.employer_id:
            raise Forbidden(f"用户 {actor.user} 只能查看本单位",
                            f"user {actor.user} may see only their own unit")
        return
    actor.check_region(employer.region_code)


def employer_view(e: Employer) -> dict[str, Any]:
    return {"id": e.id, "uscc": e.uscc, "name": e.name, "region": e.region_code, "base_method": e.base_method,
            "hardship": e.hardship, "status": e.status,
            "closed_on": e.closed_on.isoformat() if e.closed_on else None}


def employers_in(session: Session, actor: Actor, region: str | None = None, query: str | None = None,
                 limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Employer units of the regions ``actor`` may see (an employer clerk: their own), by name."""
    if not (1 <= limit <= 500) or offset < 0:
        raise InputError("limit", limit, "limit 应在 1–500，offset ≥ 0", "limit must be 1-500 and offset ≥ 0")
    q = select(Employer)
    if actor.role == "employer":
        q = q.where(Employer.id == (actor.employer_id if actor.employer_id is not None else -1))
    elif actor.regions is not None:
        q = q.where(Employer.region_code.in_(actor.regions))
    if region is not None:
        q = q.where(Employer.region_code == resolve_region(session, region).code)
    if query:
        text = query.strip()
        q = q.where(or_(Employer.name.contains(text, autoescape=True), Employer.uscc == text))
    return [employer_view(e) for e in session.scalars(q.order_by(Employer.id).limit(limit).offset(offset))]


def employees_of(session: Session, actor: Actor, employer: object, on_date: dt.date) -> list[dict[str, Any]]:
    """The people employed by a unit on ``on_date``, masked (one audited read)."""
    emp = lookup_employer(session, employer)
    check_employer_visible(actor, emp)
    rows = session.execute(
        select(Person, EmploymentSpell).join(EmploymentSpell, EmploymentSpell.person_id == Person.id)
        .where(EmploymentSpell.employer_id == emp.id, EmploymentSpell.start_date <= on_date,
               or_(EmploymentSpell.end_date.is_(None), EmploymentSpell.end_date >= on_date))
        .order_by(Person.id)).all()
    audit.record(session, actor, "employer.employees.read", "employer", emp.id, _MASKED_FIELDS,
                 emp.region_code)
    return [{**person_view(p).as_dict(), "employed_from": sp.start_date.isoformat(),
             "employed_to": sp.end_date.isoformat() if sp.end_date else None} for p, sp in rows]


def regions_of(session: Session, actor: Actor) -> list[dict[str, str]]:
    """The pooling regions of this installation that ``actor`` may act for (code, names)."""
    q = select(Region).order_by(Region.code)
    if actor.regions is not None:
        q = q.where(Region.code.in_(actor.regions))
    return [{"code": r.code, "zh": r.name_zh, "en": r.name_en} for r in session.scalars(q)]


def lookup_payer(session: Session, actor: Actor, kind: str, ref: object) -> int:
    """The register id of a payer (``employer`` or ``person``); an employer clerk may act only for
    their own unit."""
    if kind == "employer":
        emp = lookup_employer(session, ref, "payer")
        check_employer_visible(actor, emp)
        return emp.id
    if kind != "person":
        raise InputError("payer_kind", kind, "应为 employer 或 person", "expected employer or person")
    if actor.role == "employer":
        raise Forbidden("单位账号只能为本单位办理", "an employer account may act only for its own unit")
    return lookup_person(session, ref, "payer").id


def close_employer(session: Session, actor: Actor, employer_id: int | str, closed_on: dt.date | str, *,
                   key: str | None = None) -> Employer:
    """Close an employer unit; refused while anyone is still employed there or enrolled through it."""
    request = {"employer_id": employer_id, "closed_on": str(closed_on)}

    def make() -> Employer:
        employer = lookup_employer(session, employer_id)
        day = _date(closed_on, "closed_on")
        if employer.status == "closed":
            raise InputError("employer", employer.uscc, f"单位已于 {employer.closed_on} 注销",
                             f"the employer was already closed on {employer.closed_on}")
        open_spells = session.scalar(select(func.count()).select_from(EmploymentSpell).where(
            EmploymentSpell.employer_id == employer.id,
            or_(EmploymentSpell.end_date.is_(None), EmploymentSpell.end_date > day)))
        open_enrollments = session.scalar(select(func.count()).select_from(Enrollment).where(
            Enrollment.employer_id == employer.id, Enrollment.category == "in_service",
            Enrollment.status != "ended"))
        if open_spells or open_enrollments:
            raise InputError("closed_on", day.isoformat(),
                             f"单位仍有 {open_spells} 段在 {day} 后未结束的就业记录、"
                             f"{open_enrollments} 份有效的在职参保；"
                             "请先办理离职（yibao employer separate）并终止参保（yibao enroll end）",
                             f"the employer still has {open_spells} employment spell(s) open after {day} and "
                             f"{open_enrollments} active in-service enrollment(s); separate them "
                             "(yibao employer separate) and end the enrollments (yibao enroll end) first")
        employer.status, employer.closed_on = "closed", day
        audit.record(session, actor, "employer.close", "employer", employer.id, ("status", "closed_on"),
                     region=employer.region_code)
        return employer

    return replayable(session, key, "employer.close", request, make, Employer)


# -- employment spells -----------------------------------------------------------------------------
def hire(session: Session, actor: Actor, person_id: int | str, employer_id: int | str,
         start_date: dt.date | str, *, key: str | None = None) -> EmploymentSpell:
    """Open an employment spell; an overlapping spell with the same employer is refused."""
    request = {"person_id": person_id, "employer_id": employer_id, "start_date": str(start_date)}

    def make() -> EmploymentSpell:
        person = lookup_person(session, person_id)
        employer = lookup_employer(session, employer_id)
        start = _date(start_date, "start_date")
        if start < person.birth_date or (person.death_date is not None and start > person.death_date):
            raise InputError("start_date", start.isoformat(), "不在此人的生存期内",
                             "is outside the person's lifetime")
        if employer.status == "closed" and employer.closed_on is not None and start > employer.closed_on:
            raise InputError("start_date", start.isoformat(), f"单位已于 {employer.closed_on} 注销",
                             f"the employer closed on {employer.closed_on}")
        clash = session.scalar(select(EmploymentSpell).where(
            EmploymentSpell.person_id == person.id, EmploymentSpell.employer_id == employer.id,
            or_(EmploymentSpell.end_date.is_(None), EmploymentSpell.end_date >= start)))
        if clash is not None:
            until = clash.end_date.isoformat() if clash.end_date else "至今 / open"
            raise InputError("start_date", start.isoformat(),
                             f"与此人在该单位的就业记录 {clash.id}（{clash.start_date} 至 {until}）重叠",
                             f"overlaps the person's spell {clash.id} with this employer "
                             f"({clash.start_date} to {until})")
        spell = EmploymentSpell(person_id=person.id, employer_id=employer.id, start_date=start)
        session.add(spell)
        session.flush()
        audit.record(session, actor, "employment.start", "employment_spell", spell.id,
                     ("person_id", "employer_id", "start_date"), region=employer.region_code)
        return spell

    return replayable(session, key, "employment.start", request, make, EmploymentSpell)


def separate(session: Session, actor: Actor, person_id: int | str, employer_id: int | str,
             end_date: dt.date | str, *,
             key: str | None = None) -> EmploymentSpell:
    """Close the person's open spell with the employer on ``end_date`` (the last day employed)."""
    request = {"person_id": person_id, "employer_id": employer_id, "end_date": str(end_date)}

    def make() -> EmploymentSpell:
        person = lookup_person(session, person_id)
        employer = lookup_employer(session, employer_id)
        end = _date(end_date, "end_date")
        spell = session.scalar(select(EmploymentSpell).where(
            EmploymentSpell.person_id == person.id, EmploymentSpell.employer_id == employer.id,
            EmploymentSpell.end_date.is_(None)))
        if spell is None:
            raise InputError("employer", employer.uscc, f"人员 {person.id} 在该单位没有未结束的就业记录",
                             f"person {person.id} has no open employment spell with this employer")
        if end < spell.start_date:
            raise InputError("end_date", end.isoformat(), f"不能早于入职日 {spell.start_date}",
                             f"must not be before the start date {spell.start_date}")
        spell.end_date = end
        audit.record(session, actor, "employment.end", "employment_spell", spell.id, ("end_date",),
                     region=employer.region_code)
        return spell

    return replayable(session, key, "employment.end", request, make, EmploymentSpell)


# -- family links ----------------------------------------------------------------------------------
def _family_policy_name(session: Session, holder: Person, day: dt.date, region: str | None) -> str:
    """The policy that decides the holder's account use: the given region, else the region of the
    holder's employee enrollment that month, else the national baseline."""
    if region is not None:
        return resolve_region(session, region).policy
    month = month_of(day)
    code = session.scalar(select(Enrollment.region_code).where(
        Enrollment.person_id == holder.id, Enrollment.scheme == "employee", Enrollment.start_month <= month,
        or_(Enrollment.end_month.is_(None), Enrollment.end_month >= month)).order_by(Enrollment.id))
    reg = session.get(Region, code) if code is not None else None
    return reg.policy if reg is not None else "national"


def link_family(session: Session, actor: Actor, holder_id: int | str, relative_id: int | str, relation: str,
                valid_from: dt.date | str, *, region: str | None = None, key: str | None = None,
                registry: Registry | None = None) -> FamilyLink:
    """Authorise ``holder``'s individual account to pay for ``relative`` from ``valid_from``.

    ``relation`` is the relative's relation to the holder. The relations allowed on that date are
    ``account.family_mutual_aid.relations`` of the holder's region (spouse, child, parent from
    国办发〔2021〕14号; near_relative from 2024-08-01, PD national_rules). No self-link; a link for
    the same pair overlapping an existing one is refused.
    """
    request = {"holder": holder_id, "relative": relative_id, "relation": relation,
               "valid_from": str(valid_from), "region": region}

    def make() -> FamilyLink:
        if relation not in RELATIONS:
            raise InputError("relation", relation, "应为 spouse（配偶）、child（子女）、parent（父母）或 "
                             "near_relative（近亲属）", "expected spouse, child, parent or near_relative")
        holder = lookup_person(session, holder_id, "holder")
        relative = lookup_person(session, relative_id, "relative")
        if holder.id == relative.id:
            raise InputError("relative", relative.id, "不能与本人建立家庭共济关系",
                             "a person cannot be linked to themself")
        day = _date(valid_from, "valid_from")
        policy = (registry or registry_of(session)).policy(_family_policy_name(session, holder, day, region))
        resolved = policy.resolve("account.family_mutual_aid.relations", day)
        allowed = policy.at(day).get("account.family_mutual_aid.relations")
        if relation not in allowed:
            src = resolved.source.title if resolved.source is not None else "-"
            zh = "、".join(_RELATION_ZH[r] for r in allowed)
            raise InputError("relation", relation,
                             f"{policy.label} 在 {day} 的个人账户家庭共济只覆盖{zh}"
                             f"（account.family_mutual_aid.relations，自 {resolved.start} 起，来源：{src}）",
                             f"on {day} family mutual aid in {policy.label} covers only {', '.join(allowed)} "
                             f"(account.family_mutual_aid.relations from {resolved.start}, source: {src})")
        clash = session.scalar(select(FamilyLink).where(
            FamilyLink.holder_id == holder.id, FamilyLink.relative_id == relative.id,
            or_(FamilyLink.valid_to.is_(None), FamilyLink.valid_to >= day)))
        if clash is not None:
            raise InputError("valid_from", day.isoformat(),
                             f"与已有的家庭共济关系 {clash.id}（自 {clash.valid_from} 起）重叠",
                             f"overlaps the existing family link {clash.id} (from {clash.valid_from})")
        link = FamilyLink(holder_id=holder.id, relative_id=relative.id, relation=relation, valid_from=day)
        session.add(link)
        session.flush()
        audit.record(session, actor, "family_link.create", "family_link", link.id,
                     ("holder_id", "relative_id", "relation", "valid_from"))
        return link

    return replayable(session, key, "family_link.create", request, make, FamilyLink)


def unlink_family(session: Session, actor: Actor, link_id: int, valid_to: dt.date | str, *,
                  key: str | None = None) -> FamilyLink:
    """End a family link on ``valid_to`` (the last day the holder's account may pay)."""
    request = {"link": link_id, "valid_to": str(valid_to)}

    def make() -> FamilyLink:
        link = session.get(FamilyLink, link_id)
        if link is None:
            raise InputError("link", link_id, "没有此家庭共济关系", "no such family link")
        day = _date(valid_to, "valid_to")
        if link.valid_to is not None:
            raise InputError("link", link_id, f"该关系已于 {link.valid_to} 结束",
                             f"the link already ended on {link.valid_to}")
        if day < link.valid_from:
            raise InputError("valid_to", day.isoformat(), f"不能早于起始日 {link.valid_from}",
                             f"must not be before valid_from {link.valid_from}")
        link.valid_to = day
        audit.record(session, actor, "family_link.end", "family_link", link.id, ("valid_to",))
        return link

    return replayable(session, key, "family_link.end", request, make, FamilyLink)


def _in_force(day: dt.date) -> Any:
    return (FamilyLink.valid_from <= day) & or_(FamilyLink.valid_to.is_(None), FamilyLink.valid_to >= day)


def relatives_of(session: Session, holder_id: int, on_date: dt.date) -> list[FamilyLink]:
    """Links in force on ``on_date`` whose holder's account may pay for the relative."""
    return list(session.scalars(select(FamilyLink).where(FamilyLink.holder_id == holder_id,
                                                         _in_force(on_date)).order_by(FamilyLink.id)))


def holders_for(session: Session, relative_id: int, on_date: dt.date) -> list[FamilyLink]:
    """Links in force on ``on_date`` through which someone's account may pay for ``relative_id``."""
    return list(session.scalars(select(FamilyLink).where(FamilyLink.relative_id == relative_id,
                                                         _in_force(on_date)).order_by(FamilyLink.id)))
