"""``yibao person``, ``yibao employer``, ``yibao enroll``: the register and enrollment for staff who script.

Every command takes ``--db`` and ``--json``; writes take ``--key`` (a replay with the same key
changes nothing and prints the first result). Regions are given by code, pinyin or Chinese name
(``110000``, ``beijing``, ``北京``) and must be administered here (the region table). Persons are
given by register number or ID number, employers by register number or USCC. Lists and results
show masked ID numbers and names; ``--unmask`` needs ``--purpose`` and is audited. A bad value is
a bilingual message and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yibao.admin import enrollment as enr
from yibao.admin import register as reg
from yibao.admin.uow import run
from yibao.cli.admin_common import DbOpt, JsonFlag, KeyOpt, actor, emit, open_db
from yibao.cli.admin_common import guard as _guard
from yibao.cli.common import PolicyFileOpt, parse_date, registry
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, EmploymentSpell, FamilyLink, Person
from yibao.errors import InputError
from yibao.ids import mask_id, mask_name
from yibao.money import fen_to_yuan_str, parse_yuan

__all__ = ["employer_app", "enroll_app", "install", "person_app"]


person_app = typer.Typer(help="人员登记 / persons in the register", no_args_is_help=True)
employer_app = typer.Typer(help="用人单位与就业 / employers and employment", no_args_is_help=True)
enroll_app = typer.Typer(
    help="参保登记 / enrollment: yibao enroll --person P --region R --category C --from 2024-01",
    invoke_without_command=True)

# Options several commands share.
PersonOpt = Annotated[str, typer.Option("--person", help="登记号或证件号码 / register number or ID number")]
EmployerOpt = Annotated[str, typer.Option("--employer", help="登记号或统一社会信用代码 / number or USCC")]
UnmaskFlag = Annotated[bool, typer.Option("--unmask", help="显示完整信息（须 --purpose，记入审计）")]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", help="用途（记入审计日志）/ purpose, audited")]


def install(app: typer.Typer) -> None:
    """Add the three command groups to the ``yibao`` app."""
    app.add_typer(person_app, name="person")
    app.add_typer(employer_app, name="employer")
    app.add_typer(enroll_app, name="enroll")




def _ym(m: int | None) -> str:
    return "-" if m is None else f"{m // 100}-{m % 100:02d}"


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


# -- persons ---------------------------------------------------------------------------------------
@person_app.command("add")
@_guard
def person_add(
    id_number: Annotated[str, typer.Option(
        "--id", help="证件号码（18 位、15 位旧号或外国人永久居留身份证）/ ID number")],
    name: Annotated[str, typer.Option("--name", help="姓名 / name")],
    sex: Annotated[str | None, typer.Option("--sex", help="male | female（默认取自号码）")] = None,
    birth_date: Annotated[str | None, typer.Option(
        "--birth-date", help="出生日期 YYYY-MM-DD（须与号码一致）/ birth date")] = None,
    hukou: Annotated[str | None, typer.Option("--hukou", help="户籍地区划代码 / hukou division")] = None,
    residence: Annotated[str | None, typer.Option("--residence", help="居住地区划代码 / residence")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="电话 / phone")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """登记人员 / register a person."""
    def go(s: Session) -> dict[str, Any]:
        p = reg.register_person(s, actor(), id_number, name, sex, birth_date, hukou, residence, phone,
                                key=key, today=dt.date.today())
        return reg.person_view(p).as_dict()

    view = run(open_db(db), go)
    emit(view, as_json, f"已登记人员 / registered person {view['id']}: {view['id_number']} "
                        f"{view['name']} ({view['sex']})")


def _person_rows(views: list[dict[str, Any]]) -> str:
    head = "登记号 id | 证件号码 ID number | 姓名 name | 性别 sex | 户籍 hukou | 出生 born"
    lines = [f"{v['id']} | {v['id_number']} | {v['name']} | {v['sex']} | {v['hukou_region'] or '-'} | "
             f"{v['birth_date'] or '-'}" for v in views]
    return "\n".join([head, *lines]) if lines else "未找到 / nothing found"


@person_app.command("find")
@_guard
def person_find(
    query: Annotated[str, typer.Argument(help="证件号码或姓名（前缀）/ ID number or name (prefix)")],
    region: Annotated[str | None, typer.Option(
        "--region", help="只查在此地区参保过的人 / enrolled in the region")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 20,
    offset: Annotated[int, typer.Option("--offset")] = 0,
    unmask: UnmaskFlag = False, purpose: PurposeOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """查找人员（默认脱敏）/ find persons (masked unless --unmask --purpose)."""
    def go(s: Session) -> list[dict[str, Any]]:
        found = reg.find_persons(s, actor(purpose), query, region, limit, offset, unmasked=unmask,
                                 purpose=purpose if unmask else None)
        return [v.as_dict() for v in found]

    views = run(open_db(db), go)
    emit(views, as_json, _person_rows(views))


def _enrollment_dict(e: Enrollment) -> dict[str, Any]:
    return {"id": e.id, "person_id": e.person_id, "region": e.region_code, "scheme": e.scheme,
            "category": e.category, "employer_id": e.employer_id, "start_month": _ym(e.start_month),
            "end_month": _ym(e.end_month) if e.end_month else None, "status": e.status,
            "end_reason": e.end_reason, "flexible_option": e.flexible_option,
            "retired_on": _iso(e.retired_on),
            "pension": fen_to_yuan_str(e.pension_fen) if e.pension_fen else None}


def _spell_dict(sp: EmploymentSpell) -> dict[str, Any]:
    return {"id": sp.id, "person_id": sp.person_id, "employer_id": sp.employer_id,
            "start_date": sp.start_date.isoformat(), "end_date": _iso(sp.end_date)}


def _link_dict(link: FamilyLink) -> dict[str, Any]:
    return {"id": link.id, "holder_id": link.holder_id, "relative_id": link.relative_id,
            "relation": link.relation, "valid_from": link.valid_from.isoformat(),
            "valid_to": _iso(link.valid_to)}


def _person_text(doc: dict[str, Any]) -> str:
    p = doc["person"]
    lines = [f"人员 / person {p['id']}: {p['id_number']} {p['name']} {p['sex']} "
             f"户籍 hukou {p['hukou_region'] or '-'}"]
    lines += [f"  参保 enrollment {e['id']}: {e['region']} {e['scheme']}/{e['category']} "
              f"{e['start_month']}–{e['end_month'] or ''} {e['status']}" for e in doc["enrollments"]]
    lines += [f"  就业 employment {sp['id']}: employer {sp['employer_id']} "
              f"{sp['start_date']}–{sp['end_date'] or ''}" for sp in doc["employment"]]
    lines += [f"  家庭共济 family link {k['id']}: holder {k['holder_id']} → relative {k['relative_id']} "
              f"{k['relation']} {k['valid_from']}–{k['valid_to'] or ''}" for k in doc["family_links"]]
    return "\n".join(lines)


@person_app.command("show")
@_guard
def person_show(
    ref: Annotated[str, typer.Argument(help="登记号或证件号码 / register number or ID number")],
    unmask: UnmaskFlag = False, purpose: PurposeOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """人员详情：参保、就业、家庭共济 / a person with enrollments, employment and family links."""
    def go(s: Session) -> dict[str, Any]:
        view = reg.get_person(s, actor(purpose), ref, unmasked=unmask, purpose=purpose if unmask else None)
        spells = s.scalars(select(EmploymentSpell).where(EmploymentSpell.person_id == view.id)
                           .order_by(EmploymentSpell.start_date))
        links = s.scalars(select(FamilyLink).where(
            or_(FamilyLink.holder_id == view.id, FamilyLink.relative_id == view.id)).order_by(FamilyLink.id))
        return {"person": view.as_dict(),
                "enrollments": [_enrollment_dict(e) for e in enr.enrollments_of(s, view.id)],
                "employment": [_spell_dict(sp) for sp in spells],
                "family_links": [_link_dict(k) for k in links]}

    doc = run(open_db(db), go)
    emit(doc, as_json, _person_text(doc))


@person_app.command("link-family")
@_guard
def person_link_family(
    holder: Annotated[str, typer.Option("--holder", help="账户持有人（登记号或证件号码）/ holder")],
    relative: Annotated[str, typer.Option("--relative", help="共济亲属 / the relative")],
    relation: Annotated[str, typer.Option("--relation", help="spouse | child | parent | near_relative")],
    valid_from: Annotated[str, typer.Option("--from", help="起始日 YYYY-MM-DD / first day")],
    region: Annotated[str | None, typer.Option(
        "--region", help="按此地区政策（默认持有人参保地）/ policy region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """建立个人账户家庭共济关系 / let the holder's account pay for a relative (DOMAIN §3.3)."""
    day = parse_date(valid_from, "valid_from")
    link = run(open_db(db), lambda s: _link_dict(
        reg.link_family(s, actor(), holder, relative, relation, day, region=region, key=key)))
    emit(link, as_json, f"已建立家庭共济 / family link {link['id']}: {link['holder_id']} → "
                        f"{link['relative_id']} ({link['relation']}) from {link['valid_from']}")


@person_app.command("unlink-family")
@_guard
def person_unlink_family(
    link: Annotated[int, typer.Option("--link", help="关系编号 / link number")],
    valid_to: Annotated[str, typer.Option("--to", help="最后一日 YYYY-MM-DD / last day")],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """终止家庭共济关系 / end a family link."""
    day = parse_date(valid_to, "valid_to")
    doc = run(open_db(db), lambda s: _link_dict(reg.unlink_family(s, actor(), link, day, key=key)))
    emit(doc, as_json, f"家庭共济 / family link {doc['id']} ends {doc['valid_to']}")


# -- employers -------------------------------------------------------------------------------------
def _employer_dict(e: Employer) -> dict[str, Any]:
    return {"id": e.id, "uscc": e.uscc, "name": e.name, "region": e.region_code,
            "base_method": e.base_method, "hardship": e.hardship, "status": e.status,
            "closed_on": _iso(e.closed_on)}


@employer_app.command("add")
@_guard
def employer_add(
    uscc: Annotated[str, typer.Option("--uscc", help="统一社会信用代码 / unified social credit code")],
    name: Annotated[str, typer.Option("--name", help="单位名称 / name")],
    region: Annotated[str, typer.Option("--region", help="统筹地区：代码、拼音或中文名 / region")],
    base_method: Annotated[str, typer.Option(
        "--base-method", help="sum_of_individual_bases | payroll_total")] = "sum_of_individual_bases",
    hardship: Annotated[bool, typer.Option("--hardship", help="困难/破产企业（seed 003）")] = False,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """登记用人单位 / register an employer."""
    doc = run(open_db(db), lambda s: _employer_dict(
        reg.register_employer(s, actor(), uscc, name, region, base_method, hardship, key=key)))
    emit(doc, as_json, f"已登记单位 / registered employer {doc['id']}: {doc['uscc']} {doc['name']} "
                       f"({doc['region']})")


@employer_app.command("show")
@_guard
def employer_show(
    ref: Annotated[str, typer.Argument(help="登记号或统一社会信用代码 / number or USCC")],
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """单位详情与在职人员（脱敏）/ an employer and who works there (masked)."""
    def go(s: Session) -> dict[str, Any]:
        e = reg.lookup_employer(s, ref)
        rows = s.execute(select(EmploymentSpell, Person).join(Person, Person.id == EmploymentSpell.person_id)
                         .where(EmploymentSpell.employer_id == e.id, EmploymentSpell.end_date.is_(None))
                         .order_by(EmploymentSpell.start_date))
        staff = [{"person_id": p.id, "id_number": mask_id(p.id_number), "name": mask_name(p.name),
                  "since": sp.start_date.isoformat()} for sp, p in rows]
        return {"employer": _employer_dict(e), "employed": staff}

    doc = run(open_db(db), go)
    e = doc["employer"]
    lines = [f"单位 / employer {e['id']}: {e['uscc']} {e['name']} {e['region']} {e['status']}",
             *(f"  {p['person_id']} {p['id_number']} {p['name']} since {p['since']}"
               for p in doc["employed"])]
    emit(doc, as_json, "\n".join(lines))


@employer_app.command("close")
@_guard
def employer_close(
    ref: Annotated[str, typer.Argument(help="登记号或统一社会信用代码 / number or USCC")],
    on: Annotated[str, typer.Option("--on", help="注销日 YYYY-MM-DD / closing date")],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """注销单位 / close an employer."""
    day = parse_date(on, "closed_on")
    doc = run(open_db(db), lambda s: _employer_dict(
        reg.close_employer(s, actor(), reg.lookup_employer(s, ref).id, day, key=key)))
    emit(doc, as_json, f"单位已注销 / employer {doc['id']} closed on {doc['closed_on']}")


@employer_app.command("hire")
@_guard
def employer_hire(
    employer: EmployerOpt, person: PersonOpt,
    start: Annotated[str, typer.Option("--from", help="入职日 YYYY-MM-DD / first day")],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """入职 / open an employment spell."""
    day = parse_date(start, "start_date")
    doc = run(open_db(db), lambda s: _spell_dict(reg.hire(s, actor(), person, employer, day, key=key)))
    emit(doc, as_json, f"已入职 / employment {doc['id']}: person {doc['person_id']} at employer "
                       f"{doc['employer_id']} from {doc['start_date']}")


@employer_app.command("separate")
@_guard
def employer_separate(
    employer: EmployerOpt, person: PersonOpt,
    end: Annotated[str, typer.Option("--on", help="最后工作日 YYYY-MM-DD / last day")],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """离职 / close an employment spell."""
    day = parse_date(end, "end_date")
    doc = run(open_db(db), lambda s: _spell_dict(reg.separate(s, actor(), person, employer, day, key=key)))
    emit(doc, as_json, f"已离职 / employment {doc['id']} ends {doc['end_date']}")


# -- enrollment ------------------------------------------------------------------------------------
@enroll_app.callback()
@_guard
def enroll_cmd(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option("--person", help="登记号或证件号码 / person")] = None,
    region: Annotated[str | None, typer.Option("--region", help="统筹地区 / region")] = None,
    category: Annotated[str | None, typer.Option(
        "--category", help="in_service | flexible | new_form | retiree | resident")] = None,
    start: Annotated[str | None, typer.Option("--from", help="起始月 2024-01 / first month")] = None,
    employer: Annotated[str | None, typer.Option("--employer", help="单位（在职职工必填）/ employer")] = None,
    option: Annotated[int, typer.Option("--option", help="灵活就业缴费基数档次 / base option")] = 0,
    retired_on: Annotated[str | None, typer.Option("--retired-on", help="退休日期 / retired on")] = None,
    pension: Annotated[str | None, typer.Option("--pension", help="本人月养老金（元）/ own pension")] = None,
    was_flexible: Annotated[bool, typer.Option("--was-flexible", help="退休前为灵活就业")] = False,
    policy_file: PolicyFileOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """参保登记 / enroll a person: yibao enroll --person P --region R --category C --from 2024-01."""
    if ctx.invoked_subcommand is not None:
        return
    if person is None and region is None and category is None and start is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    if person is None or region is None or category is None or start is None:
        missing = [f for f, v in (("--person", person), ("--region", region), ("--category", category),
                                  ("--from", start)) if v is None]
        raise InputError(missing[0], None, "必填", "is required")
    pension_fen = parse_yuan(pension, "pension") if pension is not None else 0
    retired = parse_date(retired_on, "retired_on") if retired_on is not None else None
    policies = registry(policy_file) if policy_file else None

    def go(s: Session) -> dict[str, Any]:
        emp = reg.lookup_employer(s, employer).id if employer is not None else None
        e = enr.enroll(s, actor(), reg.lookup_person(s, person).id, region, category, start, emp,
                       flexible_option=option, retired_on=retired, pension_fen=pension_fen,
                       was_flexible=was_flexible, key=key, registry=policies)
        return _enrollment_dict(e)

    doc = run(open_db(db), go)
    emit(doc, as_json, f"已参保 / enrolled {doc['id']}: person {doc['person_id']} {doc['region']} "
                       f"{doc['scheme']}/{doc['category']} from {doc['start_month']}")


@enroll_app.command("end")
@_guard
def enroll_end(
    enrollment: Annotated[int, typer.Option("--id", help="参保编号 / enrollment number")],
    end: Annotated[str, typer.Option("--to", help="最后一个月 2024-06 / last month")],
    reason: Annotated[str, typer.Option("--reason", help=", ".join(enr.END_REASONS))],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """终止参保 / end an enrollment."""
    doc = run(open_db(db), lambda s: _enrollment_dict(
        enr.end_enrollment(s, actor(), enrollment, end, reason, key=key)))
    emit(doc, as_json, f"参保已终止 / enrollment {doc['id']} ends with {doc['end_month']} "
                       f"({doc['end_reason']})")


@enroll_app.command("list")
@_guard
def enroll_list(person: PersonOpt, db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """某人的全部参保 / a person's enrollments."""
    rows = run(open_db(db), lambda s: [_enrollment_dict(e)
                                       for e in enr.enrollments_of(s, reg.lookup_person(s, person).id)])
    emit(rows, as_json, "\n".join(f"{e['id']}: {e['region']} {e['scheme']}/{e['category']} "
                                  f"{e['start_month']}–{e['end_month'] or ''} {e['status']}" for e in rows)
         or "无 / none")


@enroll_app.command("conflicts")
@_guard
def enroll_conflicts(
    region: Annotated[str | None, typer.Option("--region", help="统筹地区 / region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """重复参保清单（职工+职工、职工+居民、居民+居民）/ persons holding overlapping enrollments."""
    rows = run(open_db(db), lambda s: [c.as_dict() for c in enr.conflicts(s, region)])
    emit(rows, as_json, "\n".join(
        f"person {c['person_id']}: {c['kind']}, enrollments {c['enrollments'][0]} + {c['enrollments'][1]}, "
        f"regions {c['regions'][0]} / {c['regions'][1]}, from {_ym(c['overlap_from'])}" for c in rows)
         or "没有重复参保 / no conflicts")
