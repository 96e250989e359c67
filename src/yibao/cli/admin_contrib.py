"""``yibao declare`` (wage and payroll declarations, wage files, base audit) and ``yibao assess``
(the monthly assessment run, the arrears list).

Every command takes ``--db`` and ``--json``; writes take ``--key`` (a replay with the same key
changes nothing and prints the first result). Persons are given by register number or ID number,
units by register number or USCC, regions by code, pinyin or Chinese name. A bad value is a
bilingual message and exit code 2; ``declare import`` in ``all_or_nothing`` mode also exits 2
when any row is bad (nothing was imported), after printing every bad row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin.uow import idempotent, run
from yibao.cli.admin_common import DbOpt, JsonFlag, KeyOpt, actor, emit, open_db
from yibao.cli.admin_common import guard as _guard
from yibao.errors import InputError
from yibao.money import fen_to_yuan_str

__all__ = ["assess_app", "declare_app", "install"]

declare_app = typer.Typer(help="缴费工资申报与基数稽核 / wage declarations and the base audit",
                          no_args_is_help=True)
assess_app = typer.Typer(help="月度缴费核定与欠费 / monthly assessment and arrears", no_args_is_help=True)

PersonOpt = Annotated[str, typer.Option("--person", help="登记号或证件号码 / register number or ID number")]
EmployerOpt = Annotated[str, typer.Option("--employer", help="登记号或统一社会信用代码 / number or USCC")]
RegionOpt = Annotated[str, typer.Option("--region", help="统筹地区（代码、拼音或中文名）/ pooling region")]
MonthOpt = Annotated[str, typer.Option("--month", help="月份，如 2024-03 / month, e.g. 2024-03")]
_SHOWN_ROWS = 500




def install(app: typer.Typer) -> None:
    """Add ``declare`` and ``assess`` to the ``yibao`` app."""
    app.add_typer(declare_app, name="declare")
    app.add_typer(assess_app, name="assess")


def _region(s: Session, given: str) -> str:
    from yibao.admin.register import resolve_region

    return resolve_region(s, given).code


# -- declare ----------------------------------------------------------------------------------------
@declare_app.command("wage")
@_guard
def wage_cmd(
    person: PersonOpt,
    month_from: Annotated[str, typer.Option("--from", help="起始月份，如 2024-01 / first month")],
    wage: Annotated[str, typer.Option("--wage", help="月缴费工资（元），如 8000.00 / monthly wage, yuan")],
    employer: Annotated[str | None, typer.Option(
        "--employer", help="申报单位；不给则为个人申报（灵活就业、新就业形态）/ the unit; omit for a person "
                           "declaring for themselves")] = None,
    month_to: Annotated[str | None, typer.Option("--to", help="截止月份（含）/ last month")] = None,
    region: Annotated[str | None, typer.Option("--region", help="统筹地区（个人申报时）/ region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """申报缴费工资 / declare a person's monthly wage from a month."""
    from yibao.admin.declarations import declare_wage, parse_wage
    from yibao.admin.register import lookup_employer, lookup_person
    from yibao.db.models.enrollment import Enrollment

    who = actor()
    request = {"person": person, "employer": employer, "from": month_from, "to": month_to, "wage": wage,
               "region": region}

    def go(s: Session) -> dict[str, Any]:
        def do() -> dict[str, Any]:
            p = lookup_person(s, person)
            fen = parse_wage(wage)
            if employer is not None:
                emp = lookup_employer(s, employer)
                reg = _region(s, region) if region else emp.region_code
                kind, payer = "employer", emp.id
            else:
                kind, payer = "person", p.id
                if region:
                    reg = _region(s, region)
                else:
                    found = s.scalar(select(Enrollment.region_code).where(
                        Enrollment.person_id == p.id, Enrollment.scheme == "employee",
                        Enrollment.status == "active").order_by(Enrollment.id.desc()).limit(1))
                    if found is None:
                        raise InputError("region", None,
                                         "此人没有有效的职工医保参保，请用 --region 指明统筹地区",
                                         "the person has no active employee enrollment; give --region")
                    reg = found
            d = declare_wage(s, who, reg, p.id, kind, payer, month_from, fen, month_to=month_to)
            return {"declaration_id": d.id, "region": d.region_code, "person_id": d.person_id,
                    "payer_kind": d.payer_kind, "payer_id": d.payer_id, "month_from": d.month_from,
                    "month_to": d.month_to, "wage_fen": d.wage_fen, "wage_yuan": fen_to_yuan_str(d.wage_fen)}

        return idempotent(s, key, "declare.wage", request, do)

    res = run(open_db(db), go)
    emit(res, as_json, f"已申报 / declared #{res['declaration_id']}: {res['wage_yuan']} 元 / yuan "
                       f"from {res['month_from']}" + (f" to {res['month_to']}" if res["month_to"] else ""))


@declare_app.command("payroll")
@_guard
def payroll_cmd(
    employer: EmployerOpt,
    month: MonthOpt,
    total: Annotated[str, typer.Option("--total", help="工资总额（元）/ payroll total, yuan")],
    headcount: Annotated[int, typer.Option("--headcount", help="职工人数 / number of employees")],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """申报单位月工资总额与职工人数 / declare a unit's payroll total and headcount for a month."""
    from yibao.admin.declarations import declare_payroll
    from yibao.admin.register import lookup_employer
    from yibao.money import parse_yuan

    who = actor()
    request = {"employer": employer, "month": month, "total": total, "headcount": headcount}

    def go(s: Session) -> dict[str, Any]:
        def do() -> dict[str, Any]:
            emp = lookup_employer(s, employer)
            p = declare_payroll(s, who, emp.id, month, parse_yuan(total, "total"), headcount)
            return {"payroll_declaration_id": p.id, "employer": emp.uscc, "month": p.month,
                    "payroll_total_fen": p.payroll_total_fen,
                    "payroll_total_yuan": fen_to_yuan_str(p.payroll_total_fen), "headcount": p.headcount}

        return idempotent(s, key, "declare.payroll", request, do)

    res = run(open_db(db), go)
    emit(res, as_json, f"已申报 / declared {res['employer']} {res['month']}: "
                       f"{res['payroll_total_yuan']} 元 / yuan, {res['headcount']} 人 / persons")


def _bad_rows_table(rows: list[dict[str, Any]]) -> Table:
    t = Table("行 / row", "字段 / field", "值 / value", "问题 / problem", show_lines=False)
    for b in rows[:_SHOWN_ROWS]:
        t.add_row(str(b["row"]), b["field"], b["value"], f"{b['zh']}\n{b['en']}")
    return t


@declare_app.command("import")
@_guard
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV 或 Excel (.xlsx) 文件 / CSV or Excel file")],
    region: RegionOpt,
    employer: Annotated[str | None, typer.Option(
        "--employer",
        help="单位统一社会信用代码（文件无该列时必填）/ the unit's USCC (unless a column)")] = None,
    mode: Annotated[str, typer.Option(
        "--mode",
        help="all_or_nothing（有错全不导入，默认）或 good_rows（只导入正确行）")] = "all_or_nothing",
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """批量导入缴费工资申报 / import wage declarations from a file (every bad row is reported)."""
    from yibao.admin.register import lookup_employer
    from yibao.admin.wage_file import import_wage_file

    who = actor()
    request = {"file": str(file.resolve()), "region": region, "employer": employer, "mode": mode}

    def go(s: Session) -> dict[str, Any]:
        def do() -> dict[str, Any]:
            uscc = lookup_employer(s, employer).uscc if employer else None
            return import_wage_file(s, who, file, _region(s, region), uscc, mode).as_dict()

        # a refused import changes nothing but its audit event: no key is stored for it
        return idempotent(s, key, "declare.import", request, do) if key else do()

    res = run(open_db(db), go)
    failed = bool(res["bad_rows"]) and res["mode"] == "all_or_nothing"
    if as_json:
        emit(res, True)
    else:
        console = Console(highlight=False)
        if res["bad_rows"]:
            console.print(_bad_rows_table(res["bad_rows"]))
            if len(res["bad_rows"]) > _SHOWN_ROWS:
                console.print(f"……另有 {len(res['bad_rows']) - _SHOWN_ROWS} 条（用 --json 查看全部）/ "
                              f"{len(res['bad_rows']) - _SHOWN_ROWS} more (see --json)")
        head = f"{res['file']}: {res['rows']} 行 / rows, 导入 / imported {res['imported']}, " \
               f"有误的行 / bad rows {res['bad_row_count']}"
        tail = ("；有误，未导入任何行 / bad rows: nothing was imported" if failed else "")
        console.print(head + tail)
    if failed:
        raise typer.Exit(2)


@declare_app.command("audit")
@_guard
def audit_cmd(
    employer: EmployerOpt, month: MonthOpt, db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """单位缴费基数稽核：申报基数与工资总额比较 / the unit's base audit (declared bases vs payroll)."""
    from yibao.admin.declarations import base_audit
    from yibao.admin.register import lookup_employer

    who = actor("base audit")

    def go(s: Session) -> tuple[dict[str, Any], str]:
        a = base_audit(s, lookup_employer(s, employer).id, month, actor=who)
        return a.as_dict(), a.text()

    res, text = run(open_db(db), go)
    emit(res, as_json, text)


# -- assess -----------------------------------------------------------------------------------------
@assess_app.command("run")
@_guard
def run_cmd(
    region: RegionOpt, month: MonthOpt,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="每批行数 / rows per chunk")] = 50_000,
    reopen: Annotated[bool, typer.Option(
        "--reopen",
        help="重新打开已完成的月份，核定其后登记的参保 / pick up enrollments added since")] = False,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """月度缴费核定（可续跑，只做一次）/ the monthly assessment (resumable, exactly once).

    Ctrl-C 在当前批次提交后停止，再次运行将继续 / Ctrl-C stops after the chunk in progress commits;
    run again to finish.
    """
    from yibao.admin.assessment import run_assessment

    engine = open_db(db)
    code = run(engine, lambda s: _region(s, region))
    summary = run_assessment(engine, code, month, chunk_size, progress=not as_json, actor=actor("assessment"),
                             reopen=reopen)
    res = summary.as_dict()
    if as_json:
        emit(res, True)
    else:
        console = Console(highlight=False)
        if summary.errors:
            t = Table("参保 / enrollment", "人员 / person", "类别 / category", "字段 / field",
                      "问题 / problem")
            for e in summary.errors[:_SHOWN_ROWS]:
                t.add_row(str(e.enrollment_id), str(e.person_id), e.category, e.field, f"{e.zh}\n{e.en}")
            console.print(t)
        zh, en = summary.message
        console.print(f"{zh}\n{en}")
    if summary.status == "interrupted":
        raise typer.Exit(130)


@assess_app.command("arrears")
@_guard
def arrears_cmd(
    region: RegionOpt,
    employer: Annotated[str | None, typer.Option("--employer", help="只看该单位 / one unit only")] = None,
    person: Annotated[str | None, typer.Option(
        "--person", help="只看该人员自缴的月份 / one person paying for themselves")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="截至月份 / up to this month")] = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """欠费清单：未缴足的月份 / the arrears list: months not fully paid, per payer and person."""
    from yibao.admin.assessment import arrears
    from yibao.admin.register import lookup_employer, lookup_person
    from yibao.db.models.register import Employer, Person
    from yibao.ids import mask_id, mask_name

    who = actor("arrears list")

    def go(s: Session) -> list[dict[str, Any]]:
        code = _region(s, region)
        kind: str | None = None
        payer: int | None = None
        if employer is not None:
            kind, payer = "employer", lookup_employer(s, employer).id
        elif person is not None:
            kind, payer = "person", lookup_person(s, person).id
        rows = arrears(s, code, kind, payer, as_of, actor=who)
        names = {p.id: (p.name, p.id_number) for p in s.scalars(
            select(Person).where(Person.id.in_({r.person_id for r in rows})))} if rows else {}
        unit_ids = {r.payer_id for r in rows if r.payer_kind == "employer"}
        units = {e.id: e.uscc for e in s.scalars(select(Employer).where(Employer.id.in_(unit_ids)))}
        out = []
        for r in rows:
            d = r.as_dict()
            name, number = names.get(r.person_id, ("", ""))
            d["person"] = f"{mask_name(name)} {mask_id(number)}"
            d["payer"] = units.get(r.payer_id, "") if r.payer_kind == "employer" else d["person"]
            out.append(d)
        return out

    res = run(open_db(db), go)
    if as_json:
        emit(res, True)
        return
    t = Table("缴费人 / payer", "人员 / person", "月份 / month", "应缴 / due", "已缴 / paid", "欠缴 / owed",
              "状态 / status")
    for d in res[:_SHOWN_ROWS]:
        t.add_row(d["payer"], d["person"], str(d["month"]), fen_to_yuan_str(d["total_fen"]),
                  fen_to_yuan_str(d["paid_fen"]), d["outstanding_yuan"], d["status"])
    console = Console(highlight=False)
    console.print(t)
    owed = sum(d["outstanding_fen"] for d in res)
    console.print(f"{len(res)} 个月 / months，欠缴合计 / owed in all {fen_to_yuan_str(owed)} 元 / yuan")
