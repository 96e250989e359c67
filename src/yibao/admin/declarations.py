"""Wage declarations (缴费工资申报), payroll declarations and the employer's base audit (基数稽核).

**Wage declaration.** A payer declares a person's monthly wage from ``month_from`` (YYYYMM): an
employer unit for its employees (the person must hold an ``in_service`` employee enrollment with
that unit in that region covering ``month_from``), or the person itself for a flexible or
new-form worker (an enrollment of that category covering ``month_from``). The wage is the input of
the base (缴费基数, DOMAIN §2.1): the assessment clamps it to the region's limits by
:func:`yibao.rules.contribution.assess_contributions`; nothing here clamps or rounds.

**Which declaration is in force.** Declarations are never edited: a later one supersedes from its
own month. For a month ``m`` the declaration in force is, among the payer's declarations for the
person with ``month_from ≤ m`` and ``month_to`` open or ``≥ m``, the one with the latest
``month_from`` (:func:`wage_in_force`; the assessment run uses the same rule in SQL,
:func:`wage_in_force_column`). A second declaration for the same person, payer and
``month_from`` is refused (the first stays as it is): a correction is a new declaration from a
later month, or a reversal the lead may add later.

**Base audit (做实缴费基数, DOMAIN §2.1, §2.5).** :func:`base_audit` compares, for one unit and
month, the sum of the declared wages of its insured employees (and the sum of their clamped bases)
with the payroll total (工资总额) and headcount the unit declared (:func:`declare_payroll`). The
contribution gap of an under-declaration is computed by the contribution rule itself (see
:func:`base_audit`), never by hand.

A wage above :data:`MAX_WAGE_FEN` (1亿 yuan a month) is refused as a typing error; it is a sanity
guard, not a policy parameter (the calculator's own bound is 100亿).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Table,
    and_,
    case,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from yibao.admin import audit
from yibao.admin.policies import region_policy
from yibao.admin.uow import Actor
from yibao.db.base import first_day, parse_month
from yibao.db.models.contribution import PAYERS, PayrollDeclaration, WageDeclaration
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, Person, Region
from yibao.errors import InputError
from yibao.ids import mask_id, mask_name
from yibao.money import fen_to_yuan_str, parse_yuan, rate_bp_to_str
from yibao.policy.registry import Registry
from yibao.rules.contribution import (  # F_CAP/F_FLOOR: the rule's own table layout (_unit_params)
    F_CAP,
    F_FLOOR,
    IN_SERVICE,
    ContributionParams,
    assess_contributions,
    employer_base_by_unit,
    person_type_codes,
)

__all__ = [
    "MAX_WAGE_FEN",
    "BaseAudit",
    "bulk_insert",
    "check_wage_fen",
    "declare_payroll",
    "declare_wage",
    "parse_wage",
    "wage_in_force",
    "wage_in_force_column",
]

MAX_WAGE_FEN = 10**10  # 1亿 yuan a month: anything above is a typing error, not a wage
BASE_METHODS = ("sum_of_individual_bases", "payroll_total")
_SELF_CATEGORIES = ("flexible", "new_form")  # persons who declare (and pay) for themselves


def _pg_type(t: Any) -> str:
    """The PostgreSQL type name a binary COPY sends for a column of SQLAlchemy type ``t``."""
    if isinstance(t, BigInteger):
        return "int8"
    if isinstance(t, Integer):
        return "int4"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, DateTime):
        return "timestamptz" if t.timezone else "timestamp"
    if isinstance(t, Date):
        return "date"
    return "text"  # String: varchar's binary form is text's


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                use_copy: bool | None = None) -> None:
    """Insert many rows in the session's transaction: PostgreSQL binary ``COPY … FROM STDIN`` on
    the session's own connection (``use_copy`` None = on PostgreSQL), else a Core ``executemany``
    (the ORM's bulk path costs more than the insert itself). Python-side column defaults are not
    applied: ``rows`` give every column that has no server default (ids come from the table's)."""
    if not rows:
        return
    conn = session.connection()
    if use_copy is None:
        use_copy = conn.dialect.name == "postgresql"
    if use_copy:
        raw: Any = conn.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with raw.cursor() as cur, cur.copy(sql) as cp:
            cp.set_types([_pg_type(table.c[c].type) for c in columns])
            for row in rows:
                cp.write_row(row)
    else:
        conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


def ym_text(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def check_wage_fen(wage_fen: object, field_name: str = "wage") -> int:
    """A declared monthly wage in fen: a whole number, 0 ≤ wage ≤ :data:`MAX_WAGE_FEN`."""
    if not isinstance(wage_fen, int | np.integer) or isinstance(wage_fen, bool):
        raise InputError(field_name, wage_fen, "应为以分计的整数金额", "expected a whole amount in fen")
    w = int(wage_fen)
    if w < 0:
        raise InputError(field_name, fen_to_yuan_str(w), "月工资不能为负数",
                         "a monthly wage cannot be negative")
    if w > MAX_WAGE_FEN:
        raise InputError(field_name, fen_to_yuan_str(w),
                         f"月工资超过 {fen_to_yuan_str(MAX_WAGE_FEN)} 元，应为录入错误（请以元为单位填写）",
                         f"a monthly wage above {fen_to_yuan_str(MAX_WAGE_FEN)} yuan is a typing error "
                         "(enter yuan, e.g. 8000.00)")
    return w


def parse_wage(value: object, field_name: str = "wage") -> int:
    """Wage text in yuan (``"8000"``, ``"1,234.56元"``, ``"1.2万"``) → fen, checked."""
    return check_wage_fen(parse_yuan(value, field_name), field_name)


def _month(value: object, field_name: str) -> int:
    return value if isinstance(value, int) and 190001 <= value <= 220012 and 1 <= value % 100 <= 12 \
        else parse_month(value, field_name)


def wage_in_force_column(month: int, person_id: Any, payer_kind: Any, payer_id: Any,
                         region: Any) -> ScalarSelect[int]:
    """The correlated scalar subquery "wage in force for ``month``" (module docstring), for set-based
    queries: ``person_id``/``payer_kind``/``payer_id``/``region`` are columns of the outer query."""
    w = WageDeclaration
    return (select(w.wage_fen)
            .where(w.person_id == person_id, w.payer_kind == payer_kind, w.payer_id == payer_id,
                   w.region_code == region, w.month_from <= month,
                   or_(w.month_to.is_(None), w.month_to >= month))
            .order_by(w.month_from.desc()).limit(1).scalar_subquery())


def enrollment_payer(e: type[Enrollment] = Enrollment) -> tuple[ColumnElement[str], ColumnElement[int]]:
    """The payer of an enrollment's contributions as SQL: its unit for in_service, else the person."""
    kind = case((e.category == "in_service", "employer"), else_="person")
    pid = case((e.category == "in_service", e.employer_id), else_=e.person_id)
    return kind, pid


def covering(month: int, e: type[Enrollment] = Enrollment) -> ColumnElement[bool]:
    """An employee-scheme enrollment that covers ``month`` and is not suspended."""
    return and_(e.scheme == "employee", e.start_month <= month,
                or_(e.end_month.is_(None), e.end_month >= month), e.status != "suspended")


def wage_in_force(session: Session, person_id: int, payer_kind: str, payer_id: int, month: int,
                  region: str | None = None) -> WageDeclaration | None:
    """The declaration in force for ``month`` (module docstring), or None."""
    w = WageDeclaration
    q = (select(w).where(w.person_id == person_id, w.payer_kind == payer_kind, w.payer_id == payer_id,
                         w.month_from <= month, or_(w.month_to.is_(None), w.month_to >= month))
         .order_by(w.month_from.desc()).limit(1))
    if region is not None:
        q = q.where(w.region_code == region)
    return session.scalar(q)


def _person(session: Session, person_id: int) -> Person:
    p = session.get(Person, person_id)
    if p is None:
        raise InputError("person_id", person_id, "查无此人（未登记）", "no such person in the register")
    return p


def _employer(session: Session, employer_id: int, region: str | None = None) -> Employer:
    emp = session.get(Employer, employer_id)
    if emp is None:
        raise InputError("employer", employer_id, "查无此单位（未登记）", "no such employer in the register")
    if region is not None and emp.region_code != region:
        raise InputError("employer", emp.uscc, f"该单位登记在统筹地区 {emp.region_code}，不在 {region}",
                         f"the employer is registered in region {emp.region_code}, not {region}")
    return emp


def _check_enrollment(session: Session, region: str, person: Person, payer_kind: str, payer_id: int,
                      month: int) -> Enrollment:
    """The enrollment that makes this payer liable for the person in ``month``, or a named error."""
    e = Enrollment
    q = select(e).where(e.person_id == person.id, e.region_code == region, covering(month))
    if payer_kind == "employer":
        q = q.where(e.category == "in_service", e.employer_id == payer_id)
        want_zh, want_en = "该单位的在职职工参保", "an in-service enrollment with this employer"
    else:
        q = q.where(e.category.in_(_SELF_CATEGORIES))
        want_zh, want_en = "灵活就业或新就业形态参保", "a flexible or new-form worker enrollment"
    found = session.scalar(q.order_by(e.id).limit(1))
    if found is None:
        raise InputError("month_from", ym_text(month),
                         f"{mask_name(person.name)}（{mask_id(person.id_number)}）在统筹地区 {region} 于 "
                         f"{ym_text(month)} 没有有效的{want_zh}，不能申报缴费工资",
                         f"{mask_name(person.name)} ({mask_id(person.id_number)}) has no {want_en} in "
                         f"region {region} covering {ym_text(month)}; no wage can be declared")
    return found


def duplicate_error(name: str, id_number: str, month_from: int, dup: WageDeclaration) -> InputError:
    """The refusal of a second declaration for the same person, payer and first month."""
    who = f"{mask_name(name)}（{mask_id(id_number)}）"
    was = f"{fen_to_yuan_str(dup.wage_fen)}"
    return InputError(
        "month_from", ym_text(month_from),
        f"{who}自 {ym_text(month_from)} 起已有申报 #{dup.id}（缴费工资 {was} 元，来源 {dup.source}）；"
        "不能重复申报，更正请自以后月份重新申报",
        f"{mask_name(name)} ({mask_id(id_number)}) already has declaration #{dup.id} from "
        f"{ym_text(month_from)} (wage {was} yuan, source {dup.source}); a duplicate is refused; "
        "declare a correction from a later month")


def declare_wage(session: Session, actor: Actor, region: str, person_id: int, payer_kind: str,
                 payer_id: int, month_from: int | str, wage_fen: int, month_to: int | str | None = None,
                 source: str = "single") -> WageDeclaration:
    """Record one wage declaration (module docstring) and audit it; bad input changes nothing.

    ``payer_kind`` is ``employer`` (``payer_id`` an employer id) or ``person`` (``payer_id`` the
    person's own id). Refused, with a bilingual error naming the field: an unknown region, person
    or employer; a unit of another region; no enrollment making the payer liable in
    ``month_from``; ``month_to`` before ``month_from``; a negative or absurd wage; a duplicate of
    an existing declaration (same person, payer and ``month_from``).
    """
    actor.check_region(region)
    if session.get(Region, region) is None:
        region_policy(session, region)  # raises the named error
    if payer_kind not in PAYERS:
        raise InputError("payer_kind", payer_kind, "应为 employer（单位）或 person（个人）",
                         "expected employer or person")
    person = _person(session, person_id)
    wage = check_wage_fen(wage_fen)
    m_from = _month(month_from, "month_from")
    m_to = None if month_to is None else _month(month_to, "month_to")
    if m_to is not None and m_to < m_from:
        raise InputError("month_to", ym_text(m_to), f"截止月份不能早于起始月份 {ym_text(m_from)}",
                         f"the last month cannot be before the first month {ym_text(m_from)}")
    if payer_kind == "employer":
        _employer(session, payer_id, region)
    elif payer_id != person_id:
        raise InputError("payer_id", payer_id, "个人缴费时缴费人应为本人",
                         "a person who pays for themselves is their own payer")
    _check_enrollment(session, region, person, payer_kind, payer_id, m_from)
    w = WageDeclaration
    dup = session.scalar(select(w).where(w.person_id == person_id, w.payer_kind == payer_kind,
                                         w.payer_id == payer_id, w.month_from == m_from))
    if dup is not None:
        raise duplicate_error(person.name, person.id_number, m_from, dup)
    row = WageDeclaration(region_code=region, person_id=person_id, payer_kind=payer_kind, payer_id=payer_id,
                          month_from=m_from, month_to=m_to, wage_fen=wage, source=source[:128])
    session.add(row)
    session.flush()
    audit.record(session, actor, "wage_declaration.create", "person", person_id,
                 ("wage_fen", "month_from", "month_to", "payer"), region)
    return row


def declare_payroll(session: Session, actor: Actor, employer_id: int, month: int | str,
                    payroll_total_fen: int, headcount: int) -> PayrollDeclaration:
    """Record a unit's payroll total (工资总额) and headcount for a month (one per unit and month)."""
    emp = _employer(session, employer_id)
    actor.check_region(emp.region_code)
    m = _month(month, "month")
    if not isinstance(payroll_total_fen, int | np.integer) or isinstance(payroll_total_fen, bool) \
            or payroll_total_fen < 0:
        raise InputError("payroll_total", payroll_total_fen, "工资总额应为非负金额（分）",
                         "the payroll total must be a non-negative amount (fen)")
    if not isinstance(headcount, int | np.integer) or isinstance(headcount, bool) or headcount < 0:
        raise InputError("headcount", headcount, "职工人数应为非负整数",
                         "the headcount must be a whole number ≥ 0")
    p = PayrollDeclaration
    dup = session.scalar(select(p).where(p.employer_id == employer_id, p.month == m))
    if dup is not None:
        raise InputError("month", ym_text(m),
                         f"单位 {emp.uscc} 已申报 {ym_text(m)} 工资总额 #{dup.id}"
                         f"（{fen_to_yuan_str(dup.payroll_total_fen)} 元，{dup.headcount} 人）；不能重复申报",
                         f"employer {emp.uscc} already declared its {ym_text(m)} payroll as #{dup.id} "
                         f"({fen_to_yuan_str(dup.payroll_total_fen)} yuan, {dup.headcount} persons); "
                         "a duplicate is refused")
    row = PayrollDeclaration(employer_id=employer_id, month=m, payroll_total_fen=int(payroll_total_fen),
                             headcount=int(headcount))
    session.add(row)
    session.flush()
    audit.record(session, actor, "payroll_declaration.create", "employer", employer_id,
                 ("payroll_total_fen", "headcount"), emp.region_code)
    return row


# -- base audit -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaseAudit:
    """The base audit of one unit and month (all money in fen; see :func:`base_audit`)."""

    employer_id: int
    uscc: str
    region: str
    month: int
    base_method: str
    headcount_declared: int
    insured_count: int
    declared_count: int  # insured employees with a wage declaration in force
    missing: list[str]  # insured employees without one (masked name and ID)
    declared_wage_sum_fen: int
    clamped_base_sum_fen: int
    payroll_total_fen: int
    under_declared_fen: int  # payroll − declared wages (negative: more declared than the payroll)
    employer_rate_bp: int
    employer_base_fen: int  # by the unit's base_method
    employer_contribution_fen: int  # the rule on the employer base
    employer_contribution_on_payroll_fen: int  # the rule on the payroll total
    contribution_gap_fen: int  # on payroll − on the employer base (≥ 0 means under-paid)
    parameters: list[str] = field(default_factory=list)

    @property
    def headcount_gap(self) -> int:
        """Declared headcount − insured employees (> 0: people on the payroll who are not insured)."""
        return self.headcount_declared - self.insured_count

    @property
    def under_declared(self) -> bool:
        return self.under_declared_fen > 0

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["headcount_gap"] = self.headcount_gap
        out["under_declared"] = self.under_declared
        for k in list(out):
            if k.endswith("_fen"):
                out[k[:-4] + "_yuan"] = fen_to_yuan_str(out[k])
        out["employer_rate"] = rate_bp_to_str(self.employer_rate_bp)
        return out

    def text(self) -> str:
        y = fen_to_yuan_str
        lines = [
            f"单位 / employer {self.uscc}  {ym_text(self.month)}  基数方式 / base method {self.base_method}",
            f"申报职工人数 / declared headcount {self.headcount_declared}；参保在职职工 / insured "
            f"{self.insured_count}（差 / gap {self.headcount_gap}）；已申报工资 / with a wage "
            f"{self.declared_count}",
            f"申报缴费工资合计 / declared wages {y(self.declared_wage_sum_fen)}；核定基数合计 / clamped "
            f"bases {y(self.clamped_base_sum_fen)}；工资总额 / payroll {y(self.payroll_total_fen)}",
            f"少报工资 / under-declared {y(self.under_declared_fen)} 元 / yuan",
            f"单位费率 / employer rate {rate_bp_to_str(self.employer_rate_bp)}；单位缴费基数 / employer base "
            f"{y(self.employer_base_fen)}；单位应缴 / employer contribution "
            f"{y(self.employer_contribution_fen)}；"
            f"按工资总额 / on the payroll {y(self.employer_contribution_on_payroll_fen)}",
            f"少缴单位缴费 / contribution gap {y(self.contribution_gap_fen)} 元 / yuan",
        ]
        if self.missing:
            lines.append("未申报工资 / no wage declared: " + ", ".join(self.missing))
        return "\n".join(lines)


def _unit_params(params: ContributionParams) -> ContributionParams:
    """The same rule with the individual base limits lifted: the employer base of a unit (a sum of
    bases or the payroll total, DOMAIN §2.1) is not clamped like one person's wage, but it is rated
    and rounded exactly as the rule rates and rounds a base."""
    table = params.table.copy()
    table[IN_SERVICE, F_FLOOR] = 0
    table[IN_SERVICE, F_CAP] = np.iinfo(np.int64).max // 10**6
    return dataclasses.replace(params, table=table)


def base_audit(session: Session, employer_id: int, month: int | str, actor: Actor | None = None,
               registry: Registry | None = None) -> BaseAudit:
    """Compare a unit's declared bases with its declared payroll for ``month`` (做实缴费基数).

    Insured employees: the unit's ``in_service`` employee enrollments in its region covering the
    month. Their declared wages in force are summed, and clamped to the region's limits by
    :func:`~yibao.rules.contribution.assess_contributions` (one call) for the sum of bases. The
    employer base is that sum or the payroll total, per the unit's ``base_method`` (DOMAIN §2.1;
    :func:`~yibao.rules.contribution.employer_base_by_unit`). The employer contribution on the
    employer base and on the payroll total are both computed by the same rule (its rates and
    rounding of that month's policy, limits lifted because a unit's total is not one person's
    wage); the gap is their difference. It is the contribution on the under-declared payroll as a
    whole: the payroll does not say how the difference splits between persons, so where some of
    them are already at the base cap the gap is an upper bound.
    """
    emp = _employer(session, employer_id)
    region = emp.region_code
    if actor is not None:
        actor.check_region(region)
    m = _month(month, "month")
    p = session.scalar(select(PayrollDeclaration).where(PayrollDeclaration.employer_id == employer_id,
                                                        PayrollDeclaration.month == m))
    if p is None:
        raise InputError("month", ym_text(m),
                         f"单位 {emp.uscc} 没有申报 {ym_text(m)} 的工资总额；"
                         "请先申报（yibao declare payroll）",
                         f"employer {emp.uscc} declared no payroll for {ym_text(m)}; declare it first "
                         "(yibao declare payroll)")
    e = Enrollment
    wage = wage_in_force_column(m, e.person_id, "employer", employer_id, region)
    rows = session.execute(
        select(e.id, Person.name, Person.id_number, wage.label("wage"))
        .join(Person, Person.id == e.person_id)
        .where(e.employer_id == employer_id, e.region_code == region, e.category == "in_service",
               covering(m))
        .order_by(e.id)).all()
    declared = np.array([r.wage for r in rows if r.wage is not None], dtype=np.int64)
    missing = [f"{mask_name(r.name)} {mask_id(r.id_number)}" for r in rows if r.wage is None]
    snap = region_policy(session, region, registry).at(first_day(m))
    params = ContributionParams.from_snapshot(snap)
    cols = assess_contributions(declared, np.full(declared.size, IN_SERVICE, dtype=np.int8), params)
    base_sum = int(employer_base_by_unit(np.zeros(declared.size, dtype=np.int64), cols.base_fen, 1)[0])
    method = emp.base_method if emp.base_method in BASE_METHODS else BASE_METHODS[0]
    employer_base = base_sum if method == "sum_of_individual_bases" else p.payroll_total_fen
    unit = assess_contributions([employer_base, p.payroll_total_fen], person_type_codes(["in_service"] * 2),
                                _unit_params(params))
    on_base, on_payroll = (int(x) for x in unit.employer_total_fen)
    rate_keys = [f"contribution.employer_rate.{c}" for c in ("basic", "maternity", "large_amount",
                                                               "local_supplement")]
    rate = sum(int(snap.get(k)) for k in rate_keys)
    result = BaseAudit(
        employer_id=employer_id, uscc=emp.uscc, region=region, month=m, base_method=method,
        headcount_declared=p.headcount, insured_count=len(rows), declared_count=int(declared.size),
        missing=missing, declared_wage_sum_fen=int(declared.sum()), clamped_base_sum_fen=base_sum,
        payroll_total_fen=p.payroll_total_fen,
        under_declared_fen=p.payroll_total_fen - int(declared.sum()), employer_rate_bp=rate,
        employer_base_fen=int(unit.base_fen[0]), employer_contribution_fen=on_base,
        employer_contribution_on_payroll_fen=on_payroll, contribution_gap_fen=on_payroll - on_base,
        parameters=[*params.used.get(IN_SERVICE, ()), *rate_keys])
    if actor is not None:
        audit.record(session, actor, "employer.base_audit", "employer", employer_id,
                     ("wage_fen", "payroll_total_fen", "name", "id_number"), region)
    return result
