"""Enrollment (参保): a person in a pooling region and scheme, in a category, for a span of months.

Categories are the person types of the contribution rule (:data:`yibao.rules.contribution.PERSON_TYPES`:
``in_service`` unit employees, ``flexible`` workers, ``new_form`` workers, ``retiree``) for the
employee scheme; ``resident`` for resident insurance (城乡居民医保), recorded here so that a
duplicate can be detected. Months are ``YYYYMM``; ``end_month`` is inclusive.

**One enrollment at a time.** A person holds at most one employee enrollment in any month, in any
region, and an employee enrollment and a resident enrollment (or two resident enrollments) for the
same months are duplicates (重复参保, DOMAIN.md §8, seed 000). A new enrollment that would overlap
one the person already holds is refused with a message naming both; nothing is silently accepted.
Data imported around the service can still hold such duplicates: :func:`conflicts` lists them for
the precise-enrollment worklists.

**Flexible workers' hukou.** A region may require flexible workers to hold its hukou (Beijing and
Shanghai, seed 001; DOMAIN.md §1 and §5 "Hukou"): the policy parameter
``enrollment.flexible.hukou_required`` (``none`` | ``local_hukou`` | ``local_hukou_or_residence``)
on the first day of the start month decides, and a refusal names the rule and its source.

A category change (a unit employee leaves the job and continues as a flexible worker next month)
is an end plus a new enrollment (:func:`change_category`); continuity is derived elsewhere from
the contribution months.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from yibao.admin import audit
from yibao.admin.policies import registry_of
from yibao.admin.register import (
    covers,
    install_masking,
    lookup_employer,
    lookup_person,
    replayable,
    resolve_region,
)
from yibao.admin.uow import Actor
from yibao.db.base import add_months, month_of, parse_month
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import EmploymentSpell, Person, Region
from yibao.errors import InputError, YibaoError
from yibao.policy.registry import Registry
from yibao.rules.contribution import PERSON_TYPES

__all__ = [
    "CATEGORIES",
    "END_REASONS",
    "Conflict",
    "EnrollmentConflict",
    "active_enrollment",
    "change_category",
    "conflicts",
    "describe",
    "end_enrollment",
    "enroll",
    "enrollments_of",
]

log = logging.getLogger(__name__)
install_masking(log)

#: Employee-scheme categories (the contribution rule's person types) plus resident insurance.
CATEGORIES: tuple[str, ...] = (*PERSON_TYPES, "resident")
#: Why an enrollment ended (``Enrollment.end_reason``).
END_REASONS: tuple[str, ...] = ("left_job", "transfer_out", "retired", "death", "category_change",
                                "scheme_change", "employer_closed", "correction", "other")
_CATEGORY_ZH = {"in_service": "在职职工", "flexible": "灵活就业人员", "new_form": "新就业形态劳动者",
                "retiree": "退休人员", "resident": "城乡居民"}
_SCHEME_ZH = {"employee": "职工医保", "resident": "城乡居民医保"}
_OPEN = 999912  # compares after every real month: an open end


def _ym_text(yyyymm: int | None) -> str:
    return "-" if yyyymm is None else f"{yyyymm // 100}-{yyyymm % 100:02d}"


def describe(session: Session, e: Enrollment, lang: str = "zh") -> str:
    """One line naming an enrollment: number, region, scheme, category and months."""
    reg = session.get(Region, e.region_code)
    place = f"{reg.name_zh if lang == 'zh' else reg.name_en} {e.region_code}" if reg else e.region_code
    since = _ym_text(e.start_month)
    if lang == "zh":
        span = f"{since} 起至今" if e.end_month is None else f"{since} 至 {_ym_text(e.end_month)}"
        return (f"参保 {e.id}（{place}，{_SCHEME_ZH.get(e.scheme, e.scheme)}·"
                f"{_CATEGORY_ZH.get(e.category, e.category)} {e.category}，{span}）")
    span = f"since {since}" if e.end_month is None else f"{since} to {_ym_text(e.end_month)}"
    return f"enrollment {e.id} ({place}, {e.scheme} scheme, {e.category}, {span})"


class EnrollmentConflict(YibaoError):
    """A new enrollment would overlap one the person holds (DOMAIN.md §8 duplicates, seed 000)."""

    def __init__(self, session: Session, person_id: int, existing: Enrollment, scheme: str, category: str,
                 region: Region, start: int) -> None:
        self.person_id = person_id
        self.existing_id = existing.id
        new_zh = (f"新的{_SCHEME_ZH[scheme]}参保（{region.name_zh} {region.code}，{_CATEGORY_ZH[category]} "
                  f"{category}，{_ym_text(start)} 起）")
        new_en = (f"the new {scheme}-scheme enrollment ({region.name_en} {region.code}, {category}, "
                  f"from {_ym_text(start)})")
        if scheme == existing.scheme == "employee":
            why_zh = "一人同一时期只能有一份职工医保参保，无论在哪个统筹地区"
            why_en = "a person holds one employee enrollment at a time, in any region"
        else:
            why_zh = "职工医保与城乡居民医保（或两份居民医保）同时参保属重复参保（DOMAIN §8）"
            why_en = ("employee and resident insurance (or two resident enrollments) at the same time is a "
                      "duplicate enrollment (DOMAIN §8)")
        super().__init__(
            f"人员 {person_id} 已有{describe(session, existing, 'zh')}，与{new_zh}重叠：{why_zh}；"
            f"请先终止已有参保（yibao enroll end --id {existing.id}）或从其结束后的月份起参保",
            f"person {person_id} already holds {describe(session, existing, 'en')}, which overlaps {new_en}: "
            f"{why_en}; end it first (yibao enroll end --id {existing.id}) or start after it ends",
        )


def _overlapping(session: Session, person_id: int, start: int) -> Enrollment | None:
    # The new enrollment is open-ended, so it overlaps every enrollment not ended before `start`.
    return session.scalar(select(Enrollment).where(
        Enrollment.person_id == person_id,
        or_(Enrollment.end_month.is_(None), Enrollment.end_month >= start)).order_by(Enrollment.start_month))


def _check_hukou(session: Session, person: Person, region: Region, start: int, registry: Registry) -> None:
    """Refuse a flexible worker whose hukou (or residence, if the rule allows it) is outside the
    region, when ``enrollment.flexible.hukou_required`` says so (seed 001: Beijing, Shanghai)."""
    day = dt.date(start // 100, start % 100, 1)
    policy = registry.policy(region.policy)
    rule = policy.at(day).get("enrollment.flexible.hukou_required")
    if rule == "none":
        return
    ok = covers(region.code, person.hukou_region) or (
        rule == "local_hukou_or_residence" and covers(region.code, person.residence_region))
    if ok:
        return
    resolved = policy.resolve("enrollment.flexible.hukou_required", day)
    src = resolved.source.title if resolved.source is not None else "-"
    what_zh = "本地户籍" if rule == "local_hukou" else "本地户籍或本地居住"
    what_en = "a local hukou" if rule == "local_hukou" else "a local hukou or local residence"
    have = person.hukou_region or "未登记 / not recorded"
    raise InputError(
        "hukou_region", have,
        f"{policy.label} 自 {resolved.start} 起要求灵活就业人员参加职工医保须有{what_zh}"
        f"（行政区划 {region.code} 内）；规则 enrollment.flexible.hukou_required = {rule}，"
        f"来源：{src}。可参加户籍地医保，或登记户籍/居住地后再办",
        f"{policy.label} requires flexible workers in the employee scheme to hold {what_en} (inside "
        f"division {region.code}) since {resolved.start}; rule enrollment.flexible.hukou_required = "
        f"{rule}, source: {src}. Enroll where the hukou is, or record the person's hukou/residence first")


def _check_flexible_option(region: Region, option: int, day: dt.date, registry: Registry) -> None:
    options = registry.policy(region.policy).at(day).maybe("contribution.flexible.base_options")
    if isinstance(options, tuple) and option >= len(options):
        n = len(options)
        raise InputError("flexible_option", option,
                         f"{region.name_zh} 的灵活就业缴费基数只有 {n} 档（0–{n - 1}）",
                         f"{region.name_en} offers {n} base option(s) (0-{n - 1})")


def _check_employer(session: Session, person: Person, employer_id: int, region: Region, start: int) -> int:
    """A unit employee needs an employer of the region with an open spell in the start month."""
    employer = lookup_employer(session, employer_id)
    if employer.region_code != region.code:
        raise InputError("employer", employer.uscc, f"单位登记在 {employer.region_code}，不在 {region.code}",
                         f"the employer is registered in {employer.region_code}, not {region.code}")
    first = dt.date(start // 100, start % 100, 1)
    last = dt.date(*divmod(add_months(start, 1), 100), 1) - dt.timedelta(days=1)
    spell = session.scalar(select(EmploymentSpell.id).where(
        EmploymentSpell.person_id == person.id, EmploymentSpell.employer_id == employer.id,
        EmploymentSpell.start_date <= last,
        or_(EmploymentSpell.end_date.is_(None), EmploymentSpell.end_date >= first)))
    if spell is None:
        raise InputError("employer", employer.uscc,
                         f"人员 {person.id} 在 {_ym_text(start)} 没有该单位的就业记录；"
                         "请先办理入职（yibao employer hire）",
                         f"person {person.id} has no employment spell with this employer in "
                         f"{_ym_text(start)}; record the hiring first (yibao employer hire)")
    return employer.id


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(field, value, "应为非负整数", "expected a whole number ≥ 0")
    return value


def _scheme(category: str, scheme: str | None) -> str:
    if category not in CATEGORIES:
        raise InputError("category", category, "应为 in_service（在职职工）、flexible（灵活就业）、"
                         "new_form（新就业形态）、retiree（退休）或 resident（城乡居民）",
                         "expected in_service, flexible, new_form, retiree or resident")
    implied = "resident" if category == "resident" else "employee"
    if scheme is not None and scheme != implied:
        raise InputError("scheme", scheme, f"类别 {category} 对应的险种为 {implied}",
                         f"category {category} belongs to the {implied} scheme")
    return implied


def enroll(session: Session, actor: Actor, person_id: int, region: str, category: str, start_month: object,
           employer_id: int | None = None, scheme: str | None = None, flexible_option: int = 0,
           retired_on: dt.date | None = None, pension_fen: int = 0, was_flexible: bool = False, *,
           key: str | None = None, registry: Registry | None = None) -> Enrollment:
    """Enroll a person from ``start_month`` (open-ended); see the module docstring for the checks.

    ``employer_id`` is required for ``in_service`` (an open employment spell with an employer of
    the region in the start month), optional for ``new_form`` and ``retiree``, refused otherwise.
    Retirees give ``retired_on`` (the start month is not before it) and ``pension_fen`` (own
    monthly pension, for percentage account credits); ``flexible_option`` indexes the region's
    ``contribution.flexible.base_options``.
    """
    request = {"person": person_id, "region": region, "category": category, "start_month": str(start_month),
               "employer": employer_id, "scheme": scheme, "flexible_option": flexible_option,
               "retired_on": str(retired_on), "pension_fen": pension_fen, "was_flexible": was_flexible}

    def make() -> Enrollment:
        chosen_scheme = _scheme(category, scheme)
        start = parse_month(start_month, "start_month")
        reg = resolve_region(session, region)
        option = _int(flexible_option, "flexible_option")
        pension = _int(pension_fen, "pension_fen")
        if option and category != "flexible":
            raise InputError("flexible_option", option, "只适用于灵活就业人员",
                             "applies to flexible workers only")
        if (pension or retired_on is not None or was_flexible) and category != "retiree":
            raise InputError("retired_on", retired_on, "退休日期、养老金和原灵活就业标记只适用于退休人员",
                             "retirement date, pension and was_flexible apply to retirees only")
        person = lookup_person(session, person_id)
        # Serialise enrollments of one person (PostgreSQL row lock; SQLite holds the write lock).
        session.scalar(select(Person.id).where(Person.id == person.id).with_for_update())
        if person.death_date is not None and month_of(person.death_date) < start:
            raise InputError("start_month", _ym_text(start), f"此人已于 {person.death_date} 死亡",
                             f"the person died on {person.death_date}")
        employer: int | None = None
        if category == "in_service":
            if employer_id is None:
                raise InputError("employer", None, "在职职工参保须指明用人单位",
                                 "a unit employee needs an employer")
            employer = _check_employer(session, person, employer_id, reg, start)
        elif employer_id is not None:
            if category not in ("new_form", "retiree"):
                raise InputError("employer", employer_id, f"{_CATEGORY_ZH[category]}参保不经用人单位",
                                 f"a {category} enrollment has no employer")
            employer = lookup_employer(session, employer_id).id
        if category == "retiree":
            if retired_on is None:
                raise InputError("retired_on", None, "退休人员参保须给出退休日期",
                                 "a retiree needs the retirement date")
            retired_month = _ym_text(month_of(retired_on))
            if start < month_of(retired_on):
                raise InputError("start_month", _ym_text(start), f"不能早于退休月 {retired_month}",
                                 f"must not be before the retirement month {retired_month}")
        if category == "flexible":
            policies = registry or registry_of(session)
            _check_hukou(session, person, reg, start, policies)
            _check_flexible_option(reg, option, dt.date(start // 100, start % 100, 1), policies)
        clash = _overlapping(session, person.id, start)
        if clash is not None:
            raise EnrollmentConflict(session, person.id, clash, chosen_scheme, category, reg, start)
        e = Enrollment(person_id=person.id, region_code=reg.code, scheme=chosen_scheme, category=category,
                       employer_id=employer, start_month=start, status="active", flexible_option=option,
                       retired_on=retired_on, pension_fen=pension, was_flexible=bool(was_flexible))
        session.add(e)
        session.flush()
        audit.record(session, actor, "enrollment.create", "enrollment", e.id,
                     ("person_id", "region_code", "scheme", "category", "employer_id", "start_month"),
                     region=reg.code)
        log.info("enrollment %s: person %s %s/%s in %s from %s", e.id, person.id, chosen_scheme, category,
                 reg.code, start)
        return e

    return replayable(session, key, "enrollment.create", request, make, Enrollment)


def end_enrollment(session: Session, actor: Actor, enrollment_id: int, end_month: object, reason: str, *,
                   key: str | None = None) -> Enrollment:
    """End an enrollment with ``end_month`` as its last month; refused before assessed months."""
    request = {"enrollment": enrollment_id, "end_month": str(end_month), "reason": reason}

    def make() -> Enrollment:
        e = session.scalar(select(Enrollment).where(Enrollment.id == enrollment_id).with_for_update())
        if e is None:
            raise InputError("enrollment", enrollment_id, "没有此参保登记", "no such enrollment")
        actor.check_region(e.region_code)
        if e.status == "ended":
            raise InputError("enrollment", enrollment_id, f"该参保已于 {_ym_text(e.end_month)} 终止",
                             f"the enrollment already ended with {_ym_text(e.end_month)}")
        end = parse_month(end_month, "end_month")
        if reason not in END_REASONS:
            raise InputError("reason", reason, f"应为：{', '.join(END_REASONS)}",
                             f"expected one of {', '.join(END_REASONS)}")
        if end < e.start_month:
            raise InputError("end_month", _ym_text(end), f"不能早于起始月 {_ym_text(e.start_month)}",
                             f"must not be before the start month {_ym_text(e.start_month)}")
        later = session.execute(select(func.count(), func.min(ContributionMonth.month)).where(
            ContributionMonth.enrollment_id == e.id, ContributionMonth.month > end)).one()
        if later[0]:
            raise InputError("end_month", _ym_text(end),
                             f"终止月之后已有 {later[0]} 个月核定了缴费（最早 {_ym_text(later[1])}）；"
                             "请先冲正这些月份",
                             f"{later[0]} month(s) after it are already assessed "
                             f"(first {_ym_text(later[1])}); reverse them first")
        e.status, e.end_month, e.end_reason = "ended", end, reason
        audit.record(session, actor, "enrollment.end", "enrollment", e.id,
                     ("status", "end_month", "end_reason"), region=e.region_code)
        log.info("enrollment %s ended with %s (%s)", e.id, end, reason)
        return e

    return replayable(session, key, "enrollment.end", request, make, Enrollment)


def change_category(session: Session, actor: Actor, enrollment_id: int, category: str, from_month: object,
                    *, key: str | None = None, registry: Registry | None = None,
                    **enroll_args: Any) -> Enrollment:
    """End an enrollment with the month before ``from_month`` and enroll the person anew in
    ``category`` (same region) from ``from_month``, e.g. a unit employee who left the job
    continuing as a flexible worker (reason ``category_change``)."""
    start = parse_month(from_month, "from_month")
    old = session.get(Enrollment, enrollment_id)
    if old is None:
        raise InputError("enrollment", enrollment_id, "没有此参保登记", "no such enrollment")
    actor.check_region(old.region_code)
    end_enrollment(session, actor, enrollment_id, add_months(start, -1), "category_change",
                   key=f"{key}:end" if key else None)
    return enroll(session, actor, old.person_id, old.region_code, category, start,
                  key=f"{key}:enroll" if key else None, registry=registry, **enroll_args)


def active_enrollment(session: Session, person_id: int, region: str | None, month: object,
                      scheme: str = "employee") -> Enrollment | None:
    """The person's enrollment in ``scheme`` covering ``month`` in ``region`` (any region if None)."""
    m = parse_month(month)
    stmt = select(Enrollment).where(
        Enrollment.person_id == person_id, Enrollment.scheme == scheme, Enrollment.start_month <= m,
        or_(Enrollment.end_month.is_(None), Enrollment.end_month >= m))
    if region is not None:
        stmt = stmt.where(Enrollment.region_code == resolve_region(session, region).code)
    return session.scalar(stmt.order_by(Enrollment.start_month.desc(), Enrollment.id.desc()))


def enrollments_of(session: Session, person_id: int) -> list[Enrollment]:
    return list(session.scalars(select(Enrollment).where(Enrollment.person_id == person_id)
                                .order_by(Enrollment.start_month, Enrollment.id)))


@dataclass(frozen=True)
class Conflict:
    """Two enrollments of one person that overlap (a worklist row for precise enrollment)."""

    person_id: int
    kind: str  # employee_employee | employee_resident | resident_resident
    first_id: int
    second_id: int
    regions: tuple[str, str]
    overlap_from: int
    overlap_to: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "kind": self.kind,
                "enrollments": [self.first_id, self.second_id], "regions": list(self.regions),
                "overlap_from": self.overlap_from, "overlap_to": self.overlap_to}


def conflicts(session: Session, region: str | None = None) -> list[Conflict]:
    """Every pair of overlapping enrollments of one person (two employee enrollments, employee +
    resident, two resident), e.g. from imported data; with ``region``, pairs touching it."""
    a, b = aliased(Enrollment), aliased(Enrollment)
    a_end, b_end = func.coalesce(a.end_month, _OPEN), func.coalesce(b.end_month, _OPEN)
    stmt = select(a, b).join(b, and_(a.person_id == b.person_id, a.id < b.id)).where(
        a.start_month <= b_end, b.start_month <= a_end)
    if region is not None:
        code = resolve_region(session, region).code
        stmt = stmt.where(or_(a.region_code == code, b.region_code == code))
    out: list[Conflict] = []
    for x, y in session.execute(stmt.order_by(a.person_id, a.id, b.id)):
        kind = "_".join(sorted((x.scheme, y.scheme)))
        ends = [e for e in (x.end_month, y.end_month) if e is not None]
        out.append(Conflict(x.person_id, kind, x.id, y.id, (x.region_code, y.region_code),
                            max(x.start_month, y.start_month), min(ends) if ends else None))
    return out
