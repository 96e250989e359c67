"""``yibao pay``, ``yibao accounts``, ``yibao statement``, ``yibao ledger``: money for staff who script.

Every command takes ``--db`` and ``--json``; writes take ``--key`` (a replay with the same key
changes nothing and prints the first result). Amounts are yuan (``1234.56``, ``"1,234.56元"``),
dates ``YYYY-MM-DD``, months ``2024-03`` / ``202403``. A payer is a unit's unified social credit
code or a person's ID number; persons are given by ID number or register number. Names and ID
numbers are shown masked. A bad value is a bilingual message and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin import accounts, ledger, payments
from yibao.admin.register import lookup_person
from yibao.admin.uow import run
from yibao.cli.admin_common import DbOpt, JsonFlag, KeyOpt, actor, emit, open_db
from yibao.cli.admin_common import guard as _guard
from yibao.cli.common import parse_date
from yibao.db.base import parse_month
from yibao.db.models.contribution import ContributionMonth, Payment
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, Person, Region
from yibao.errors import InputError
from yibao.ids import is_valid_person_id, is_valid_uscc, mask_id, mask_name, parse_uscc
from yibao.money import fen_to_yuan_str, parse_yuan

__all__ = ["accounts_app", "install", "ledger_app", "pay_app", "statement"]


pay_app = typer.Typer(help="缴费、补缴、退款、核销 / payments, back-payment, refunds, write-off",
                      no_args_is_help=True)
accounts_app = typer.Typer(help="个人账户：退休人员划入、账户支付、余额 / individual accounts",
                           no_args_is_help=True)
ledger_app = typer.Typer(help="总账：试算平衡、校验 / the ledger: trial balance, verification",
                         no_args_is_help=True)


def install(app: typer.Typer) -> None:
    """Add ``pay``, ``accounts``, ``ledger`` and ``statement`` to the ``yibao`` app."""
    app.add_typer(pay_app, name="pay")
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(ledger_app, name="ledger")
    app.command("statement")(statement)




# -- resolving what the user typed ------------------------------------------------------------
def _person(s: Session, ref: str, field: str = "person") -> Person:
    return lookup_person(s, ref, field)


def _payer(s: Session, ref: str) -> tuple[str, int, str | None]:
    """``(kind, id, region)``: a unit by USCC (or ``employer:<n>``), a person by ID number (or
    ``person:<n>``); the region is the unit's, or the person's own-paid enrollment's."""
    text = ref.strip()
    kind, _, num = text.partition(":")
    if kind in ("employer", "person") and num.isdecimal():
        if kind == "employer":
            emp = s.get(Employer, int(num))
            if emp is None:
                raise InputError("payer", ref, "查无此缴费单位", "no such employer")
            return "employer", emp.id, emp.region_code
        return "person", _person(s, num, "payer").id, _own_region(s, int(num))
    if is_valid_uscc(text):
        emp = s.scalar(select(Employer).where(Employer.uscc == parse_uscc(text, "payer")))
        if emp is not None:
            return "employer", emp.id, emp.region_code
    if is_valid_person_id(text):
        p = _person(s, text, "payer")
        return "person", p.id, _own_region(s, p.id)
    if is_valid_uscc(text):
        raise InputError("payer", text, "没有以此统一社会信用代码登记的单位",
                         "no employer is registered with this code")
    raise InputError("payer", mask_id(text) if len(text) >= 15 else text,
                     "应为单位的统一社会信用代码或个人的证件号码（或 employer:<登记号> / person:<登记号>）",
                     "expected a unit's unified social credit code or a person's ID number "
                     "(or employer:<number> / person:<number>)")


def _own_region(s: Session, person_id: int) -> str | None:
    """The region of the person's latest employee enrollment (where they pay or are credited)."""
    return s.scalar(select(Enrollment.region_code).where(Enrollment.person_id == person_id,
                                                         Enrollment.scheme == "employee")
                    .order_by(Enrollment.start_month.desc(), Enrollment.id.desc()).limit(1))


def _region(s: Session, given: str | None, default: str | None) -> str:
    text = (given or "").strip()
    if not text:
        if default is None:
            raise InputError("region", given, "请用 --region 指定统筹地区",
                             "give the pooling region with --region")
        return default
    rows = list(s.scalars(select(Region).order_by(Region.code)))
    for r in rows:
        if text.lower() in (r.code, r.policy.lower(), r.name_zh, r.name_zh.rstrip("市"), r.name_en.lower()):
            return r.code
    known = ", ".join(f"{r.code}/{r.policy}" for r in rows) or "-"
    raise InputError("region", given, f"不是本系统经办的统筹地区；可用：{known}",
                     f"not a pooling region administered here; use one of: {known}")


def _months(text: str | None) -> list[int] | None:
    if not text:
        return None
    return [parse_month(m.strip(), "months") for m in text.replace("，", ",").split(",") if m.strip()]


def _yuan(fen: int) -> str:
    return fen_to_yuan_str(fen)


def _emit(result: Any, as_json: bool, human: str) -> None:
    # explanations cite parameters as [key; from …]: printed as text, not read as rich markup
    emit(result, as_json, escape(human))


# -- pay --------------------------------------------------------------------------------------
def _payment_view(s: Session, p: Payment) -> dict[str, Any]:
    allocs = []
    for a, cm in payments.allocations(s, p.id):
        allocs.append({"month": f"{cm.month // 100}-{cm.month % 100:02d}", "person_id": cm.person_id,
                       "amount": _yuan(a.amount_fen), "status": cm.status, "recognised": cm.recognised,
                       "back_payment": bool(cm.paid_on and cm.paid_on > cm.due_date)})
    return {"payment_id": p.id, "kind": p.kind, "region": p.region_code,
            "payer": f"{p.payer_kind}:{p.payer_id}", "amount": _yuan(p.amount_fen),
            "unallocated": _yuan(p.unallocated_fen),
            "received_on": p.received_on.isoformat(), "reference": p.reference,
            "refund_of": p.refund_of_id, "allocations": allocs}


def _payment_text(v: dict[str, Any]) -> str:
    head = (f"{'退款' if v['kind'] == 'refund' else '缴费'} / {v['kind']} #{v['payment_id']}  {v['region']}  "
            f"{v['payer']}  {v['amount']} 元  {v['received_on']}  流水 / ref {v['reference']}")
    lines = [head]
    for a in v["allocations"]:
        flag = "补缴 back-payment" if a["back_payment"] else ""
        lines.append(f"  {a['month']}  人员 {a['person_id']}  {a['amount']} 元  {a['status']}"
                     f"{'  已入账 recognised' if a['recognised'] else ''}  {flag}".rstrip())
    if v["kind"] == "payment":
        lines.append(f"  未冲抵（多缴）/ unallocated (over-payment): {v['unallocated']} 元")
    return "\n".join(lines)


@pay_app.command("record")
@_guard
def pay_record(
    payer: Annotated[str, typer.Option("--payer", help="单位信用代码或个人证件号码 / USCC or ID number")],
    amount: Annotated[str, typer.Option("--amount", help="金额（元）/ amount in yuan")],
    on: Annotated[str, typer.Option("--on", help="到账日期 / date received, YYYY-MM-DD")],
    ref: Annotated[str, typer.Option("--ref", help="银行流水号 / bank reference")],
    months: Annotated[str | None, typer.Option("--months", help="只冲抵这些月份（补缴），如 2024-01,2024-02")]
    = None,
    person: Annotated[str | None, typer.Option("--person", help="只冲抵该职工的月份 / one employee's months")]
    = None,
    region: Annotated[str | None, typer.Option("--region", help="统筹地区（默认：缴费人所在地区）")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """登记到账并冲抵应缴月份（最早月份优先）/ record a payment and match it, oldest month first."""
    fen = parse_yuan(amount, "amount")
    day = parse_date(on, "on")
    who = actor()

    def step(s: Session) -> dict[str, Any]:
        kind, pid, home = _payer(s, payer)
        code = _region(s, region, home)
        only = _person(s, person).id if person else None
        p = payments.record_payment(s, who, code, kind, pid, fen, day, ref, key=key, months=_months(months),
                                    person_id=only)
        return _payment_view(s, p)

    v = run(open_db(db), step)
    _emit(v, as_json, _payment_text(v))


@pay_app.command("refund")
@_guard
def pay_refund(
    amount: Annotated[str, typer.Option("--amount", help="退款金额（元）/ amount in yuan")],
    on: Annotated[str, typer.Option("--on", help="退款日期 / date, YYYY-MM-DD")],
    ref: Annotated[str, typer.Option("--ref", help="退款银行流水号 / bank reference of the refund")],
    payment: Annotated[int | None, typer.Option("--payment", help="退该笔缴费的多缴部分 / payment")] = None,
    payer: Annotated[str | None, typer.Option("--payer", help="或：该缴费人的多缴款 / or the payer")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """退还多缴（未冲抵）的款项 / refund over-payment (only what is unallocated)."""
    fen = parse_yuan(amount, "amount")
    day = parse_date(on, "on")
    who = actor()

    def step(s: Session) -> dict[str, Any]:
        if payment is not None:
            src = s.get(Payment, payment)
            if src is None:
                raise InputError("payment", payment, "没有这笔缴费", "no such payment")
            p = payments.refund(s, who, _region(s, region, src.region_code), fen, day, ref, key=key,
                                payment_id=payment)
        else:
            if not payer:
                raise InputError("payment", None, "请给出 --payment 或 --payer", "give --payment or --payer")
            kind, pid, home = _payer(s, payer)
            p = payments.refund(s, who, _region(s, region, home), fen, day, ref, key=key, payer_kind=kind,
                                payer_id=pid)
        return _payment_view(s, p)

    v = run(open_db(db), step)
    _emit(v, as_json, _payment_text(v))


@pay_app.command("quote")
@_guard
def pay_quote(
    person: Annotated[str | None, typer.Option("--person", help="人员证件号码或登记号 / person")] = None,
    payer: Annotated[str | None, typer.Option("--payer", help="或缴费单位 / or the paying unit")] = None,
    months: Annotated[str | None, typer.Option("--months", help="拟补缴月份，如 2024-01,2024-02（默认全部）")]
    = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="补缴日期（默认今天）/ date")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh | en")] = "zh",
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """欠费月份、补缴金额，以及补缴后是否视为连续参保 / arrears, amount, and whether continuity is kept."""
    day = parse_date(as_of, "as_of") if as_of else dt.date.today()
    who = actor()

    def step(s: Session) -> dict[str, Any]:
        if person:
            p = _person(s, person)
            q = payments.backpay_quote(s, _region(s, region, _own_region(s, p.id)), as_of=day, person_id=p.id,
                                       months=_months(months), actor=who)
        elif payer:
            kind, pid, home = _payer(s, payer)
            q = payments.backpay_quote(s, _region(s, region, home), as_of=day, payer=(kind, pid),
                                       months=_months(months), actor=who)
        else:
            raise InputError("person", None, "请给出 --person 或 --payer", "give --person or --payer")
        return q.as_dict()

    v = run(open_db(db), step)
    lines = [f"补缴测算 / back-payment quote  {v['region']}  截至 / as of {v['as_of']}"]
    for m in v["months"]:
        lines.append(f"  {m['month'] // 100}-{m['month'] % 100:02d}  人员 {m['person_id']}  "
                     f"应缴 {_yuan(m['owed_fen'])} 元  应缴期限 due {m['due_date']}"
                     f"{'  已逾期 overdue' if m['overdue'] else ''}")
    lines.append(f"  合计 / total {_yuan(v['total_owed_fen'])} 元"
                 "（不含滞纳金：无来源 / no late fee: unsourced）")
    for c in v["continuity"]:
        lines.append(c["explanation_en"] if lang == "en" else c["explanation_zh"])
    _emit(v, as_json, "\n".join(lines))


@pay_app.command("write-off")
@_guard
def pay_write_off(
    payer: Annotated[str, typer.Option("--payer", help="缴费单位或个人 / payer")],
    months: Annotated[str, typer.Option("--months", help="核销月份，如 2023-01,2023-02")],
    reason: Annotated[str, typer.Option("--reason", help="核销原因（必填，记入审计）/ reason")],
    on: Annotated[str, typer.Option("--on", help="核销日期 / date")],
    person: Annotated[str | None, typer.Option("--person", help="只核销该职工的月份")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """核销无法收回的欠费 / write off uncollectible arrears (a reason is required)."""
    day = parse_date(on, "on")
    wanted = _months(months) or []
    who = actor()

    def step(s: Session) -> dict[str, Any]:
        kind, pid, home = _payer(s, payer)
        code = _region(s, region, home)
        q = select(ContributionMonth.id).where(ContributionMonth.region_code == code,
                                               ContributionMonth.payer_kind == kind,
                                               ContributionMonth.payer_id == pid,
                                               ContributionMonth.month.in_(wanted))
        if person:
            q = q.where(ContributionMonth.person_id == _person(s, person).id)
        ids = list(s.scalars(q))
        if not ids:
            raise InputError("months", months, "该缴费人在这些月份没有核定记录",
                             "the payer has no assessed months there")
        done = payments.write_off(s, who, code, ids, reason, day, key=key)
        return {"region": code, "written_off": [{"id": c.id, "month": c.month, "person_id": c.person_id,
                                                 "total": _yuan(c.total_fen), "reason": c.write_off_reason}
                                                for c in done]}

    v = run(open_db(db), step)
    _emit(v, as_json, "\n".join(f"核销 / written off {w['month']} 人员 {w['person_id']} {w['total']} 元："
                               f"{w['reason']}" for w in v["written_off"]))


# -- accounts ---------------------------------------------------------------------------------
@accounts_app.command("credit-retirees")
@_guard
def credit_retirees_cmd(
    region: Annotated[str, typer.Option("--region", help="统筹地区 / region")],
    month: Annotated[str, typer.Option("--month", help="月份，如 2024-03 / month")],
    progress: Annotated[bool, typer.Option("--progress", help="显示进度 / show progress")] = False,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """退休人员个人账户按月划入（每月一次，可中断后续跑）/ monthly retiree account credit, exactly once."""
    m = parse_month(month, "month")
    engine = open_db(db)
    code = run(engine, lambda s: _region(s, region, None))
    r = accounts.credit_retirees(engine, code, m, progress=progress, actor=actor())
    v = {"region": r.region, "month": r.month, "run_id": r.run_id, "credited": r.credited,
         "amount": _yuan(r.amount_fen), "already_done": r.already_done, "rows_done": r.rows_done}
    _emit(v, as_json, (f"{code} {m}：本月已划入，未重复 / already done ({r.rows_done})" if r.already_done else
                      f"{code} {m}：划入 {r.credited} 人，{v['amount']} 元 / credited {r.credited} persons"))


@accounts_app.command("pay")
@_guard
def accounts_pay(
    person: Annotated[str, typer.Option("--person", help="账户持有人 / account holder")],
    amount: Annotated[str, typer.Option("--amount", help="金额（元）/ yuan")],
    on: Annotated[str, typer.Option("--on", help="日期 / date")],
    purpose: Annotated[str, typer.Option(
        "--purpose", help="outpatient | pharmacy | inpatient | resident_premium")] = "outpatient",
    for_: Annotated[str | None, typer.Option(
        "--for", help="家庭共济：为该亲属支付 / pay for a linked relative")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False, key: KeyOpt = None,
) -> None:
    """个人账户支付（本人或家庭共济）/ pay from an individual account (own use or family mutual aid)."""
    fen = parse_yuan(amount, "amount")
    day = parse_date(on, "on")
    who = actor()
    use_key = key or f"cli-{uuid.uuid4()}"  # without --key: a unique ledger key, no replay protection

    def step(s: Session) -> dict[str, Any]:
        holder = _person(s, person)
        rel = _person(s, for_, "for").id if for_ else None
        r = accounts.pay_from_account(s, who, _region(s, region, _own_region(s, holder.id)), holder.id, fen,
                                      purpose, day, use_key, for_person_id=rel)
        return {**r.as_dict(), "amount": _yuan(r.amount_fen), "balance_after": _yuan(r.balance_after_fen)}

    v = run(open_db(db), step)
    _emit(v, as_json, f"账户支付 / paid {v['amount']} 元（{purpose}）；"
                      f"余额 / balance {v['balance_after']} 元")


@accounts_app.command("balance")
@_guard
def accounts_balance(
    person: Annotated[str, typer.Option("--person")],
    as_of: Annotated[str, typer.Option("--as-of", help="日期 / date")],
    region: Annotated[str | None, typer.Option("--region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """个人账户某日余额 / account balance at the end of a date."""
    day = parse_date(as_of, "as_of")
    who = actor()

    def step(s: Session) -> dict[str, Any]:
        p = _person(s, person)
        code = _region(s, region, _own_region(s, p.id))
        return {"person_id": p.id, "name": mask_name(p.name), "region": code, "as_of": day.isoformat(),
                "balance": _yuan(accounts.account_balance(s, code, p.id, day, actor=who))}

    v = run(open_db(db), step)
    _emit(v, as_json, f"{v['name']} {v['region']} {v['as_of']}：{v['balance']} 元")


# -- statement --------------------------------------------------------------------------------
@_guard
def statement(
    person: Annotated[str, typer.Option("--person", help="人员证件号码或登记号 / person")],
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期 / from")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="截止日期 / to")] = None,
    region: Annotated[str | None, typer.Option("--region", help="只列该地区的账户 / one region only")] = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """个人账户对账单：每笔收支、余额、缴费月份状态 / the account statement with running balance."""
    d0 = parse_date(date_from, "from") if date_from else None
    d1 = parse_date(date_to, "to") if date_to else None
    who = actor()

    def step(s: Session) -> dict[str, Any]:
        p = _person(s, person)
        code = _region(s, region, None) if region else None
        return accounts.person_statement(s, who, p.id, d0, d1, code).as_dict()

    v = run(open_db(db), step)
    lines = [f"个人账户对账单 / account statement  {v['name']}  {v['id_number']}  "
             f"{v['date_from'] or '…'} — {v['date_to'] or '…'}",
             f"期初余额 / opening {_yuan(v['opening_fen'])}"]
    for ln in v["lines"]:
        lines.append(f"  {ln['value_date']}  {ln['region']}  {ln['kind']:<24} {_yuan(ln['amount_fen']):>12}  "
                     f"{_yuan(ln['balance_fen']):>12}  {ln['reference'] or ''}")
    lines.append(f"期末余额 / closing {_yuan(v['closing_fen'])}")
    if v["months"]:
        lines.append("缴费月份 / contribution months")
        lines += [f"  {m['month'] // 100}-{m['month'] % 100:02d}  {m['region']}  {_yuan(m['total_fen'])}  "
                  f"paid {_yuan(m['paid_fen'])}  {m['status']}" for m in v["months"]]
    _emit(v, as_json, "\n".join(lines))


# -- ledger -----------------------------------------------------------------------------------
@ledger_app.command("trial-balance")
@_guard
def trial_balance_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="日期 / date")],
    region: Annotated[str | None, typer.Option("--region")] = None,
    by_account: Annotated[bool, typer.Option("--by-account", help="按账户而非按类别 / per account")] = False,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """试算平衡表：借方合计等于贷方合计 / trial balance: total debits equal total credits."""
    day = parse_date(as_of, "as_of")

    def step(s: Session) -> dict[str, Any]:
        code = _region(s, region, None) if region else None
        rows = ledger.trial_balance(s, day, code, by_kind=not by_account)
        d, c = sum(r.debit_fen for r in rows), sum(r.credit_fen for r in rows)
        return {"as_of": day.isoformat(), "region": code,
                "rows": [{"account": r.code, "kind": r.kind, "debit": _yuan(r.debit_fen),
                          "credit": _yuan(r.credit_fen), "balance": _yuan(r.balance_fen)} for r in rows],
                "total_debit": _yuan(d), "total_credit": _yuan(c), "balanced": d == c}

    v = run(open_db(db), step)
    lines = [f"试算平衡 / trial balance {v['as_of']} {v['region'] or '全部 / all'}"]
    lines += [f"  {r['account']:<32} {r['debit']:>16} {r['credit']:>16} {r['balance']:>16}"
              for r in v["rows"]]
    lines.append(f"  {'合计 / total':<32} {v['total_debit']:>16} {v['total_credit']:>16}  "
                 f"{'平衡 balanced' if v['balanced'] else '不平衡 NOT balanced'}")
    _emit(v, as_json, "\n".join(lines))


@ledger_app.command("verify")
@_guard
def verify_cmd(
    region: Annotated[str | None, typer.Option("--region")] = None,
    db: DbOpt = None, as_json: JsonFlag = False,
) -> None:
    """校验总账：每笔转账借贷平衡，个人账户任何日期不为负 / every transfer sums to zero, no
    individual account negative at any date (the first offending row is reported)."""

    def step(s: Session) -> dict[str, Any]:
        return accounts.verify_ledger(s, _region(s, region, None) if region else None).as_dict()

    v = run(open_db(db), step)
    if v["ok"]:
        human = f"总账正常 / ledger sound: {v['transfers']} 笔转账 transfers"
    else:
        parts = [f"总账有误 / ledger NOT sound ({v['transfers']} transfers)"]
        parts += [f"  转账 #{u['transfer_id']} 借贷差 / sums to {_yuan(u['sum_fen'])}"
                  for u in v["unbalanced"]]
        if v["negative"]:
            n = v["negative"]
            parts.append(f"  账户 {n['account']} 在 {n['value_date']} 为负 / negative: "
                         f"{_yuan(n['balance_fen'])}（分录 entry #{n['entry_id']}，"
                         f"转账 transfer #{n['transfer_id']}）")
        human = "\n".join(parts)
    _emit(v, as_json, human)
    if not v["ok"]:
        raise typer.Exit(1)
