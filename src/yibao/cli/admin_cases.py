"""``yibao transfer`` and ``yibao retire``: transfer between regions, retirement, shortfall payments,
补一退一 and the lump-sum plans of bankrupt or hardship enterprises, for staff who script.

Every command takes ``--db`` and ``--json``; writes take ``--key`` (a replay with the same key
changes nothing and prints the first result). A person is given by ID number or register number,
a unit by its unified social credit code or register number, a region by code, policy name or
name. Amounts are yuan (``5000.00``), dates ``YYYY-MM-DD``, months ``2024-06``. Where the shipped
policy lacks a value (a conversion ratio, a lump-sum formula), ``--policy-file`` supplies your own
region file. Human output is Chinese, then English, then the explanation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin import retirement, transfer
from yibao.admin.register import lookup_person
from yibao.admin.uow import run
from yibao.cli.admin_common import DbOpt, JsonFlag, KeyOpt, actor, emit, open_db
from yibao.cli.admin_common import guard as _guard
from yibao.cli.common import PolicyFileOpt, parse_date, registry
from yibao.db.models.register import Employer
from yibao.errors import InputError
from yibao.ids import is_valid_uscc, parse_uscc
from yibao.money import fen_to_yuan_str, parse_yuan
from yibao.policy.registry import Registry

__all__ = ["install", "retire_app", "transfer_app"]


transfer_app = typer.Typer(help="转移接续：转出、转入、办结、查看 / transfer between regions",
                           no_args_is_help=True)
retire_app = typer.Typer(help="退休：资格审核、办理、补缴年限、补一退一、困难企业一次性缴费计划 / retirement",
                         invoke_without_command=True)
plan_app = typer.Typer(help="破产及困难企业退休人员一次性缴费计划（seed 003）/ hardship lump-sum plans",
                       no_args_is_help=True)
retire_app.add_typer(plan_app, name="plan")


def install(app: typer.Typer) -> None:
    """Add ``transfer`` and ``retire`` to the ``yibao`` app."""
    app.add_typer(transfer_app, name="transfer")
    app.add_typer(retire_app, name="retire")




# -- what the user typed ---------------------------------------------------------------------------
def _person(s: Session, ref: str) -> int:
    return lookup_person(s, ref).id


def _employer(s: Session, ref: str) -> int:
    text = ref.strip()
    emp = None
    if text.isdecimal() and len(text) < 15:
        emp = s.get(Employer, int(text))
    elif is_valid_uscc(text):
        emp = s.scalar(select(Employer).where(Employer.uscc == parse_uscc(text, "employer")))
    else:
        parse_uscc(text, "employer")  # raises, naming what is wrong with the code
    if emp is None:
        raise InputError("employer", text, "没有以此代码登记的用人单位",
                         "no employer is registered with this code")
    return emp.id


def _registry(files: list[Path] | None) -> Registry | None:
    return registry(files) if files else None


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else f"{fen_to_yuan_str(fen)} 元"


def _explained(zh: str, en: str, explanation: dict[str, Any] | None) -> str:
    out = [zh, en]
    if explanation:
        out += ["", explanation["zh"], "", explanation["en"]]
    return "\n".join(out)


# -- transfer ---------------------------------------------------------------------------------------
def _case_text(v: dict[str, Any]) -> str:
    months = v["carried_months"]
    zh = [f"转移接续单 #{v['case_id']}  人员 {v['person_id']}  {v['from_region']} → "
          f"{v['to_region'] or '（待接收）'}  状态 {v['status']}",
          f"  转出终止月 {v['end_month']}；携带缴费月数：实际 {months['actual']}，视同 {months['deemed']}，"
          f"补缴 {months['back_paid']}；未缴未计 {v['unpaid_months_not_carried']}；"
          f"账户余额 {_yuan(v['balance_at_issue_fen'])}"]
    en = [f"transfer case #{v['case_id']}  person {v['person_id']}  {v['from_region']} -> "
          f"{v['to_region'] or '(not received)'}  status {v['status']}",
          f"  ends {v['end_month']}; carries actual {months['actual']}, deemed {months['deemed']}, "
          f"back-paid {months['back_paid']} months; {v['unpaid_months_not_carried']} unpaid not carried; "
          f"balance {fen_to_yuan_str(v['balance_at_issue_fen'])}"]
    if v["to_region"]:
        zh.append(f"  转入 {v['start_month']}（{v['category']}）；断保 {v['gap_months']} 个月，可补缴 "
                  f"{v['backpay_months']} 个月，应补 {_yuan(v['backpay_due_fen'])}；"
                  f"认可 {v['recognised_months']} 个月；"
                  f"等待期 {v['waiting_months']} 个月，全额待遇自 {v['full_benefit_month']}；"
                  f"随转余额 {_yuan(v['balance_moved_fen'])}")
        en.append(f"  starts {v['start_month']} ({v['category']}); gap {v['gap_months']} months, "
                  f"back-payable {v['backpay_months']}, due {fen_to_yuan_str(v['backpay_due_fen'] or 0)}; "
                  f"recognised {v['recognised_months']} months; waiting {v['waiting_months']} months, "
                  f"full benefits from {v['full_benefit_month']}; balance moved "
                  f"{fen_to_yuan_str(v['balance_moved_fen'] or 0)}")
    text = "\n".join(zh + en)
    ex = v.get("explanation")
    if ex:
        text += "\n\n" + "\n\n".join([ex["transfer"]["zh"], ex["eligibility"]["zh"], ex["transfer"]["en"],
                                      ex["eligibility"]["en"]])
    return text


@transfer_app.command("out")
@_guard
def transfer_out_cmd(
    person: Annotated[str, typer.Option("--person", help="证件号码或登记号 / ID number or register number")],
    from_region: Annotated[str, typer.Option("--from", help="转出统筹地区 / the region left")],
    end: Annotated[str, typer.Option("--end", help="转出地最后参保月 / last month in the region, 2024-06")],
    issued_on: Annotated[str | None, typer.Option("--issued-on", help="开具日期（默认终止月末）/ issue date")]
    = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """转出：终止参保并开具参保凭证 / end the enrollment and issue the transfer record."""
    day = parse_date(issued_on, "issued_on") if issued_on else None
    who = actor("transfer out")

    def step(s: Session) -> dict[str, Any]:
        return transfer.transfer_out(s, who, _person(s, person), from_region, end, key, issued_on=day)

    res = run(open_db(db), step)
    emit(res, as_json, _case_text(res))


@transfer_app.command("in")
@_guard
def transfer_in_cmd(
    case: Annotated[int, typer.Argument(help="转移接续单号 / transfer case number")],
    to: Annotated[str, typer.Option("--to", help="转入统筹地区 / receiving region")],
    start: Annotated[str, typer.Option("--start", help="转入地首个参保月 / first month, 2024-07")],
    category: Annotated[str, typer.Option("--category", help="in_service | flexible | new_form")]
    = "in_service",
    employer: Annotated[str | None, typer.Option("--employer", help="转入单位信用代码 / new employer's USCC")]
    = None,
    option: Annotated[int, typer.Option("--option", help="灵活就业基数档 / flexible base option")] = 0,
    policy_file: PolicyFileOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """转入：认定缴费年限、断保补缴或等待期、账户余额随转、参保 / receive the transfer."""
    reg = _registry(policy_file)
    who = actor("transfer in")

    def step(s: Session) -> dict[str, Any]:
        emp = _employer(s, employer) if employer else None
        return transfer.transfer_in(s, who, case, to, start, category, emp, key, registry=reg,
                                    flexible_option=option)

    res = run(open_db(db), step)
    emit(res, as_json, _case_text(res))


@transfer_app.command("complete")
@_guard
def transfer_complete_cmd(
    case: Annotated[int, typer.Argument(help="转移接续单号 / transfer case number")],
    on: Annotated[str, typer.Option("--on", help="办结日期 / date, YYYY-MM-DD")],
    declined: Annotated[bool, typer.Option("--declined", help="参保人放弃补缴 / member declines back-pay")]
    = False,
    policy_file: PolicyFileOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """办结：断保月份已补缴，或放弃补缴（适用等待期）/ close a received case."""
    day = parse_date(on, "on")
    reg = _registry(policy_file)
    who = actor("transfer complete")
    res = run(open_db(db), lambda s: transfer.complete_transfer(s, who, case, day, declined, key, reg))
    emit(res, as_json, _case_text(res))


@transfer_app.command("show")
@_guard
def transfer_show_cmd(
    case: Annotated[int, typer.Argument(help="转移接续单号 / transfer case number")],
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """查看转移接续单及其认定说明 / show a transfer case with its explanation."""
    who = actor("transfer show")
    res = run(open_db(db), lambda s: transfer.show_transfer(s, who, case))
    emit(res, as_json, _case_text(res))


# -- retire -----------------------------------------------------------------------------------------
def _check_text(c: dict[str, Any]) -> str:
    m = c["months"]
    zh = (f"{'符合' if c['eligible'] else '不符合'}：{c['message_zh']}\n"
          f"  实际 {m['actual']}（本地 {m['local_actual']}）、视同 {m['deemed']}、"
          f"转入认可 {m['transferred']}、"
          f"补缴年限 {m['shortfall_paid']} 个月；单位欠费 {_yuan(c['unit_arrears_fen'])}；"
          f"一次性补缴 {_yuan(c['shortfall_payment_fen'])}")
    en = (f"{'eligible' if c['eligible'] else 'not eligible'}: {c['message_en']}\n"
          f"  actual {m['actual']} (local {m['local_actual']}), deemed {m['deemed']}, transferred "
          f"{m['transferred']}, shortfall paid {m['shortfall_paid']} months; unit arrears "
          f"{fen_to_yuan_str(c['unit_arrears_fen'])}; shortfall payment "
          f"{'-' if c['shortfall_payment_fen'] is None else fen_to_yuan_str(c['shortfall_payment_fen'])}")
    return _explained(zh, en, c["explanation"])


@retire_app.callback()
@_guard
def retire_cmd(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option("--person", help="证件号码或登记号 / ID or register number")]
    = None,
    region: Annotated[str | None, typer.Option("--region", help="统筹地区 / region")] = None,
    on: Annotated[str | None, typer.Option("--on", help="退休日期 / retirement date, YYYY-MM-DD")] = None,
    pension: Annotated[str | None, typer.Option("--pension", help="月基本养老金（元）/ monthly pension")]
    = None,
    mode: Annotated[str, typer.Option("--mode", help="with_unit | separate（单独参保，seed 003）")]
    = "with_unit",
    arrears_scope: Annotated[str, typer.Option("--arrears-scope", help="person（分户）| unit（单位全部）")]
    = "person",
    policy_file: PolicyFileOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """办理退休（资格不符则拒绝并说明原因）/ retire a member, refused with the reason if not eligible."""
    if ctx.invoked_subcommand is not None:
        return
    given = {"--person": person, "--region": region, "--on": on, "--pension": pension}
    missing = [n for n, v in given.items() if v is None]
    if len(missing) == len(given):  # `yibao retire` alone: show what it does
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    if missing:
        raise InputError(missing[0], None, f"办理退休须给出 {'、'.join(missing)}",
                         f"retirement needs {', '.join(missing)}")
    assert person is not None and region is not None and on is not None and pension is not None
    day, fen = parse_date(on, "on"), parse_yuan(pension, "pension")
    reg = _registry(policy_file)
    who = actor("retirement")

    def step(s: Session) -> dict[str, Any]:
        return retirement.retire(s, who, _person(s, person), region, day, fen, key, registry=reg,
                                 arrears_scope=arrears_scope, mode=mode)

    res = run(open_db(db), step)
    zh = (f"已办理退休：人员 {res['person_id']}，{res['retired_on']} 退休，自 {res['retiree_start_month']} "
          f"起按退休人员参保（{res['mode']}），月养老金 {_yuan(res['pension_fen'])}")
    en = (f"retired: person {res['person_id']} on {res['retired_on']}; retiree cover from "
          f"{res['retiree_start_month']} ({res['mode']}); pension {fen_to_yuan_str(res['pension_fen'])} "
          "a month")
    emit(res, as_json, _explained(zh, en, res["check"]["explanation"]))


@retire_app.command("check")
@_guard
def retire_check_cmd(
    person: Annotated[str, typer.Option("--person", help="证件号码或登记号 / ID or register number")],
    region: Annotated[str, typer.Option("--region", help="统筹地区 / region")],
    on: Annotated[str, typer.Option("--on", help="审核日期 / date, YYYY-MM-DD")],
    arrears_scope: Annotated[str, typer.Option("--arrears-scope", help="person（分户）| unit（单位全部）")]
    = "person",
    policy_file: PolicyFileOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """退休资格审核：缴费年限、本地实际年限、单位欠费 / check minimum years and arrears."""
    day = parse_date(on, "on")
    reg = _registry(policy_file)
    who = actor("retirement check")
    res = run(open_db(db), lambda s: retirement.retirement_check(
        s, region, _person(s, person), day, actor=who, registry=reg,
        arrears_scope=arrears_scope))
    emit(res, as_json, _check_text(res))


@retire_app.command("history")
@_guard
def retire_history_cmd(
    person: Annotated[str, typer.Option("--person", help="证件号码或登记号 / ID or register number")],
    region: Annotated[str, typer.Option("--region", help="行政区划代码 / 6-digit division code")],
    from_month: Annotated[str, typer.Option("--from", help="起始月 / first month")],
    to_month: Annotated[str, typer.Option("--to", help="截止月 / last month")],
    kind: Annotated[str, typer.Option("--kind", help="actual | deemed（视同）| back_paid")],
    source: Annotated[str, typer.Option("--source", help="依据的档案或证明 / the document")],
    note: Annotated[str | None, typer.Option("--note", help="备注 / note")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """登记视同缴费年限或系统外的缴费期间 / record deemed years or periods paid elsewhere."""
    who = actor("retirement history")

    def step(s: Session) -> dict[str, Any]:
        return retirement.record_history(s, who, _person(s, person), region, from_month, to_month, kind,
                                         source, key, note)

    res = run(open_db(db), step)
    emit(res, as_json,
         f"已登记 {res['kind']} {res['from']}–{res['to']}（{res['months']} 个月），{res['region']}\n"
         f"recorded {res['kind']} {res['from']} to {res['to']} ({res['months']} months), {res['region']}")


@retire_app.command("shortfall")
@_guard
def retire_shortfall_cmd(
    person: Annotated[str, typer.Option("--person", help="证件号码或登记号 / ID or register number")],
    region: Annotated[str, typer.Option("--region", help="统筹地区 / region")],
    on: Annotated[str, typer.Option("--on", help="核定日期 / date, YYYY-MM-DD")],
    policy_file: PolicyFileOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """核定缴费年限不足的一次性补缴 / assess the one-off payment for the years short."""
    day = parse_date(on, "on")
    reg = _registry(policy_file)
    who = actor("retirement shortfall")

    def step(s: Session) -> dict[str, Any]:
        return retirement.shortfall_payment(s, who, _person(s, person), region, day, key, registry=reg)

    res = run(open_db(db), step)
    emit(res, as_json, _explained(
        f"补缴年限费用 #{res['shortfall_id']}：{res['months']} 个月，应缴 {_yuan(res['amount_fen'])}"
        f"（{res['status']}）",
        f"shortfall payment #{res['shortfall_id']}: {res['months']} months, "
        f"{fen_to_yuan_str(res['amount_fen'])} due ({res['status']})", res["explanation"]))


@retire_app.command("settle-shortfall")
@_guard
def retire_settle_cmd(
    shortfall: Annotated[int, typer.Argument(help="补缴年限费用号 / shortfall payment number")],
    paid_on: Annotated[str, typer.Option("--paid-on", help="到账日期 / date received")],
    reference: Annotated[str, typer.Option("--reference", help="银行流水号 / bank reference")],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """登记补缴年限费用到账并计入统筹基金 / record the shortfall payment received."""
    day = parse_date(paid_on, "paid_on")
    who = actor("retirement shortfall payment")
    res = run(open_db(db), lambda s: retirement.settle_shortfall(s, who, shortfall, day, reference, key))
    emit(res, as_json,
         f"已缴清补缴年限费用 #{res['shortfall_id']}：{_yuan(res['amount_fen'])}，{res['paid_on']}\n"
         f"shortfall payment #{res['shortfall_id']} paid: {fen_to_yuan_str(res['amount_fen'])} "
         f"on {res['paid_on']}")


@retire_app.command("clear-arrears")
@_guard
def retire_clear_cmd(
    person: Annotated[str, typer.Option("--person", help="证件号码或登记号 / ID or register number")],
    region: Annotated[str, typer.Option("--region", help="统筹地区 / region")],
    paid_on: Annotated[str, typer.Option("--paid-on", help="到账日期 / date received")],
    reference: Annotated[str, typer.Option("--reference", help="银行流水号 / bank reference")],
    policy_file: PolicyFileOpt = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """补一退一：单位先补缴该职工本人的欠费月份 / the unit pays the retiring member's arrears first."""
    day = parse_date(paid_on, "paid_on")
    reg = _registry(policy_file)
    who = actor("clear arrears before retirement")

    def step(s: Session) -> dict[str, Any]:
        return retirement.clear_unit_arrears_for(s, who, _person(s, person), region, day, reference, key,
                                                 registry=reg)

    res = run(open_db(db), step)
    lines = [f"  单位 {p['uscc']}：{_yuan(p['amount_fen'])}，月份 {', '.join(p['months'])}"
             for p in res["payments"]]
    emit(res, as_json, "\n".join([f"补一退一：已补缴 {_yuan(res['total_fen'])}", *lines,
                                  f"arrears cleared before retirement: {fen_to_yuan_str(res['total_fen'])}"]))


# -- plans ------------------------------------------------------------------------------------------
def _plan_text(v: dict[str, Any]) -> str:
    zh = [f"一次性缴费计划 #{v['plan_id']}  单位 {v['employer_id']}  {v['region']}  {v['status']}",
          f"  每人 {_yuan(v['amount_per_retiree_fen'])} × {v['retirees']} 人 = {_yuan(v['total_fen'])}；"
          f"已缴 {_yuan(v['paid_fen'])}，尚欠 {_yuan(v['outstanding_fen'])}；依据：{v['document']}"]
    zh += [f"  第 {i['seq']} 期 {i['due_date']}  {_yuan(i['amount_fen'])}  已缴 {_yuan(i['paid_fen'])}  "
           f"{i['status']}" for i in v["instalments"]]
    en = [f"lump-sum plan #{v['plan_id']}: {fen_to_yuan_str(v['amount_per_retiree_fen'])} x {v['retirees']} "
          f"retirees = {fen_to_yuan_str(v['total_fen'])}; paid {fen_to_yuan_str(v['paid_fen'])}, outstanding "
          f"{fen_to_yuan_str(v['outstanding_fen'])}; {v['instalment_count']} {v['schedule']} instalments; "
          f"{len(v['members'])} retirees enrolled separately"]
    return "\n".join(zh + en)


@plan_app.command("create")
@_guard
def plan_create_cmd(
    employer: Annotated[str, typer.Option("--employer", help="单位信用代码 / the employer's USCC")],
    region: Annotated[str, typer.Option("--region", help="统筹地区 / region")],
    per_retiree: Annotated[str, typer.Option("--per-retiree",
                                             help="每名退休人员金额（元），如 30000 / yuan")],
    retirees: Annotated[int, typer.Option("--retirees", help="覆盖的退休人数 / retirees covered")],
    instalments: Annotated[int, typer.Option("--instalments", help="分期数 / number of instalments")] = 1,
    schedule: Annotated[str, typer.Option("--schedule", help="yearly | monthly")] = "yearly",
    first_due: Annotated[str | None, typer.Option("--first-due", help="首期应缴日 / first due date")] = None,
    decided_on: Annotated[str | None, typer.Option("--decided-on", help="决定日期 / decision date")] = None,
    document: Annotated[str, typer.Option("--document",
                                          help="经办机构的决定文书 / the bureau's decision")] = "",
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """建立困难企业退休人员一次性缴费计划（可分期）/ create a lump-sum plan with instalments."""
    if decided_on is None:
        raise InputError("decided_on", None, "请给出决定日期 --decided-on",
                         "give the decision date with --decided-on")
    decided = parse_date(decided_on, "decided_on")
    first = parse_date(first_due, "first_due") if first_due else decided
    fen = parse_yuan(per_retiree, "per_retiree")
    who = actor("lump-sum plan")

    def step(s: Session) -> dict[str, Any]:
        return retirement.create_plan(s, who, _employer(s, employer), region, fen, retirees, instalments,
                                      schedule, first, decided, document, key)

    res = run(open_db(db), step)
    emit(res, as_json, _plan_text(res))


@plan_app.command("pay")
@_guard
def plan_pay_cmd(
    plan: Annotated[int, typer.Argument(help="计划号 / plan number")],
    amount: Annotated[str, typer.Option("--amount", help="金额（元）/ yuan")],
    paid_on: Annotated[str, typer.Option("--paid-on", help="到账日期 / date received")],
    reference: Annotated[str, typer.Option("--reference", help="银行流水号 / bank reference")],
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """登记计划缴款（冲抵最早的分期）/ record a payment against the oldest instalments."""
    fen, day = parse_yuan(amount, "amount"), parse_date(paid_on, "paid_on")
    who = actor("lump-sum plan payment")
    res = run(open_db(db), lambda s: retirement.pay_plan(s, who, plan, fen, day, reference, key))
    emit(res, as_json, _plan_text(res))


@plan_app.command("add-retiree")
@_guard
def plan_add_cmd(
    plan: Annotated[int, typer.Argument(help="计划号 / plan number")],
    person: Annotated[str, typer.Option("--person", help="证件号码或登记号 / ID or register number")],
    from_month: Annotated[str, typer.Option("--from", help="单独参保起始月 / first month")],
    retired_on: Annotated[str | None, typer.Option("--retired-on", help="退休日期（未参保者）")] = None,
    pension: Annotated[str | None, typer.Option("--pension", help="月养老金（元，未参保者）")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """将计划覆盖的退休人员单独参保（seed 003）/ enroll a covered retiree apart from the unit."""
    day = parse_date(retired_on, "retired_on") if retired_on else None
    fen = parse_yuan(pension, "pension") if pension else None
    who = actor("lump-sum plan retiree")

    def step(s: Session) -> dict[str, Any]:
        return retirement.add_plan_retiree(s, who, plan, _person(s, person), from_month, day, fen, key)

    res = run(open_db(db), step)
    emit(res, as_json, _plan_text(res))


@plan_app.command("show")
@_guard
def plan_show_cmd(
    plan: Annotated[int, typer.Argument(help="计划号 / plan number")],
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """查看计划、分期、缴款和单独参保的退休人员 / show a plan."""
    who = actor("lump-sum plan show")
    res = run(open_db(db), lambda s: retirement.show_plan(s, who, plan))
    emit(res, as_json, _plan_text(res))
