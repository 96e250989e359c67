"""`yibao calc contribution|account|eligibility|retirement|transfer`: one person, or a JSON list.

Each command resolves the region's rules on ``--date``, runs the same columnar calculator the policy
lab uses on a one-row array, and prints a table plus the explanation (each step with the parameter
value, its source and effective date). ``--json FILE|-`` reads one object or a list of objects whose
keys are the option names (``wage``, ``person_type``, ``age`` …) and prints JSON with amounts as yuan
strings (``"520.80"``). Bad input raises a bilingual :class:`~yibao.errors.YibaoError` (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from yibao.cli.common import (
    DateOpt,
    JsonOpt,
    LangOpt,
    PolicyFileOpt,
    ReformOpt,
    RegionOpt,
    emit_json,
    load_policy,
    parse_date,
    read_json,
)
from yibao.errors import InputError
from yibao.money import fen_to_yuan_str, parse_yuan, rate_bp_to_str
from yibao.policy.resolve import Snapshot
from yibao.rules.accounts import credit_accounts, explain_account
from yibao.rules.contribution import ContributionParams, assess_contributions, person_type_codes
from yibao.rules.contribution_explain import COLUMN_LABELS, assess_one
from yibao.rules.eligibility import REASON_TEXT, Reason, assess_eligibility, explain_eligibility
from yibao.rules.explain import Explanation
from yibao.rules.retirement import SEXES, RetirementReason, assess_retirement, explain_retirement
from yibao.rules.transfer import explain_transfer, recognise_transfer

__all__ = ["register"]

Item = dict[str, Any]
Row = tuple[dict[str, str], Explanation]


# -- parsing one field ---------------------------------------------------------------------------

def _int(item: Item, key: str, default: int | None = None, lo: int = 0) -> int:
    v = item.get(key, default)
    if v is None:
        raise InputError(key, v, "缺少必填项", "a value is required")
    if isinstance(v, bool) or not str(v).strip().lstrip("-").isdecimal() or int(v) < lo:
        raise InputError(key, v, f"应为不小于 {lo} 的整数", f"expected a whole number ≥ {lo}")
    return int(v)


def _money(item: Item, key: str, default: object = 0) -> int:
    fen = parse_yuan(item.get(key, default), key)
    if fen < 0:
        raise InputError(key, item.get(key), "金额不能为负", "the amount must not be negative")
    return fen


def _bool(item: Item, key: str) -> bool:
    v = item.get(key, False)
    if isinstance(v, bool):
        return v
    if str(v).lower() in {"true", "1", "yes", "是"}:
        return True
    if str(v).lower() in {"false", "0", "no", "否"}:
        return False
    raise InputError(key, v, "应为 true 或 false", "expected true or false")


def _month(item: Item, key: str) -> int:
    d = parse_date(f"{item.get(key)}-01" if len(str(item.get(key))) == 7 else str(item.get(key)), key)
    return d.year * 12 + d.month - 1


def _sex(item: Item) -> int:
    s = str(item.get("sex", "male"))
    if s not in SEXES:
        raise InputError("sex", s, "应为 male 或 female", "expected male or female")
    return SEXES.index(s)


def _month_str(m: int) -> str:
    return f"{m // 12}-{m % 12 + 1:02d}"


# -- one row per command -------------------------------------------------------------------------

def _contribution(snap: Snapshot, item: Item) -> Row:
    amounts, ex = assess_one(snap, _money(item, "wage"), str(item.get("person_type", "in_service")),
                             _int(item, "option", 0))
    return {k: fen_to_yuan_str(v) for k, v in amounts.items()}, ex


def _account(snap: Snapshot, item: Item) -> Row:
    kind = person_type_codes([str(item.get("person_type", "in_service"))])
    age = _int(item, "age")
    base, ind = _money(item, "base"), item.get("individual")
    if kind[0] in (0, 1, 2) and "base" not in item and "wage" in item:
        params = ContributionParams.from_snapshot(snap)
        c = assess_contributions([_money(item, "wage")], kind, params)
        base, ind_fen = int(c.base_fen[0]), int(c.individual_basic_fen[0])
    else:
        ind_fen = _money(item, "individual") if ind is not None else 0
    cols = credit_accounts(snap, kind, [age], [base], [ind_fen], [_money(item, "pension")],
                           [_bool(item, "was_flexible")])
    out = {"credit": fen_to_yuan_str(int(cols.credit_fen[0])),
           "from_individual": fen_to_yuan_str(int(cols.from_individual_fen[0])),
           "from_employer": fen_to_yuan_str(int(cols.from_employer_fen[0])),
           "from_pooled_fund": fen_to_yuan_str(int(cols.from_pooled_fen[0])),
           "individual_to_pool": fen_to_yuan_str(int(cols.individual_to_pool_fen[0])),
           "rate": rate_bp_to_str(int(cols.rate_bp[0]))}
    return out, explain_account(snap, cols, 0, int(kind[0]), age)


def _eligibility(snap: Snapshot, item: Item) -> Row:
    svc = _month(item, "service_month")
    paid = item.get("paid_through")
    cols = assess_eligibility(snap, [svc], [_month(item, "cover_start")],
                              [_int(item, "gap_months", 0, lo=-1)], [_bool(item, "gap_backpaid")],
                              [str(item.get("person_kind", "unit")) == "flexible"],
                              None if paid is None else [_month(item, "paid_through")])
    reason = Reason(int(cols.reason[0]))
    out = {"eligible": str(bool(cols.eligible[0])).lower(),
           "benefit_share": rate_bp_to_str(int(cols.benefit_share_bp[0])),
           "reason": reason.name, "reason_zh": REASON_TEXT[reason][0],
           "waiting_months": str(int(cols.waiting_months[0])),
           "benefit_start_month": _month_str(int(cols.benefit_start_month[0])),
           "full_benefit_month": _month_str(int(cols.full_benefit_month[0]))}
    return out, explain_eligibility(snap, cols, 0, svc)


def _retirement(snap: Snapshot, item: Item) -> Row:
    actual = _int(item, "actual_months")
    cols = assess_retirement(snap, [_sex(item)], [actual], [_int(item, "deemed_months", 0)],
                             [_int(item, "transferred_months", 0)],
                             [_int(item, "local_actual_months", actual)],
                             [_money(item, "unit_arrears")], _bool(item, "price_shortfall"))
    out = {"eligible": str(bool(cols.eligible[0])).lower(),
           "reason": RetirementReason(int(cols.reason[0])).name,
           "qualifying_months": str(int(cols.qualifying_months[0])),
           "required_months": str(int(cols.required_months[0])),
           "shortfall_months": str(int(cols.shortfall_months[0])),
           "shortfall_payment": fen_to_yuan_str(int(cols.shortfall_payment_fen[0]))}
    return out, explain_retirement(snap, cols, 0)


def _transfer(snap: Snapshot, item: Item) -> Row:
    periods = item.get("periods", [])
    if not isinstance(periods, list):
        raise InputError("periods", periods, "应为列表 [{months, kind, local}]",
                         "expected a list of {months, kind, local}")
    kinds = ("actual", "deemed", "back_paid")
    rows = [(_int(p, "months"), kinds.index(p.get("kind", "actual")) if p.get("kind", "actual") in kinds
             else _int(p, "kind"), _bool(p, "local")) for p in periods]
    cols = recognise_transfer(snap, [0] * len(rows), [r[0] for r in rows], [r[1] for r in rows],
                              [r[2] for r in rows], 1, [_int(item, "gap_months", 0)],
                              [_money(item, "monthly_due")], [_money(item, "balance")])
    out = {"recognised_months": str(int(cols.recognised_months[0])),
           "local_months": str(int(cols.local_months[0])),
           "transferred_months": str(int(cols.transferred_months[0])),
           "backpay_months": str(int(cols.backpay_months[0])),
           "backpay_due": fen_to_yuan_str(int(cols.backpay_due_fen[0])),
           "balance_moved": fen_to_yuan_str(int(cols.balance_moved_fen[0]))}
    return out, explain_transfer(snap, cols, 0)


# -- running and printing ------------------------------------------------------------------------

#: Every field the commands print, with its name in Chinese and English, for the human table.
LABELS: dict[str, tuple[str, str]] = {
    **COLUMN_LABELS,
    "credit": ("本月划入个人账户", "credited to the account this month"),
    "from_individual": ("其中来自个人缴费", "of which from the individual's contribution"),
    "from_employer": ("其中来自单位缴费", "of which from the employer's contribution"),
    "from_pooled_fund": ("其中来自统筹基金", "of which from the pooled fund"),
    "individual_to_pool": ("个人缴费划入统筹部分", "individual contribution kept by the pool"),
    "rate": ("单位缴费划入比例（按年龄档；0 = 定额或不划入）",
             "employer-part tier rate by age (0 = fixed amount or none)"),
    "eligible": ("是否享受待遇", "entitled to benefits"),
    "benefit_share": ("待遇比例", "benefit share"),
    "reason": ("原因代码", "reason"),
    "reason_zh": ("原因", "reason (Chinese)"),
    "waiting_months": ("等待期（月）", "waiting period (months)"),
    "benefit_start_month": ("待遇起始月", "first month of benefits"),
    "full_benefit_month": ("全额待遇起始月", "first month of full benefits"),
    "qualifying_months": ("可计缴费月数", "qualifying months"),
    "required_months": ("最低缴费月数", "required months"),
    "shortfall_months": ("差额月数", "shortfall (months)"),
    "shortfall_payment": ("一次性补足金额", "one-off shortfall payment"),
    "recognised_months": ("认可缴费月数", "recognised months"),
    "local_months": ("本地月数", "local months"),
    "transferred_months": ("转入月数", "transferred months"),
    "backpay_months": ("补缴月数", "back-payment months"),
    "backpay_due": ("应补缴金额", "back-payment due"),
    "balance_moved": ("转移的个人账户余额", "account balance moved"),
}

def _run(fn: Callable[[Snapshot, Item], Row], region: str, date: str, policy_file: Any, reform: Any,
         lang: str, json_: str | None, item: Item) -> None:
    if lang not in ("zh", "en"):
        raise InputError("--lang", lang, "应为 zh 或 en", "expected zh or en")
    policy = load_policy(region, policy_file, reform)
    default_day = parse_date(date)

    def one(it: Item) -> Row:
        if not isinstance(it, dict):
            raise InputError("--json", it, "每项应为 JSON 对象", "each item must be a JSON object")
        day = parse_date(it["date"]) if "date" in it else default_day
        return fn(policy.at(day), it)

    if json_ is not None:
        data = read_json(json_)
        items = data if isinstance(data, list) else [data]
        results = []
        for it in items:
            out, ex = one(it)
            results.append({**out, "explanation": ex.as_json(lang)})
        emit_json(results if isinstance(data, list) else results[0])
        return
    out, ex = one(item)
    console = Console(highlight=False)
    table = Table(title=ex.title_en if lang == "en" else ex.title_zh)
    zh = lang != "en"
    table.add_column("字段 field")
    table.add_column("含义" if zh else "meaning")
    table.add_column("值 / value", justify="right")
    for k, v in out.items():
        label = LABELS.get(k, (k, k))
        table.add_row(k, label[0] if zh else label[1], v)
    console.print(table)
    console.print(ex.render(lang), markup=False)


def contribution(region: RegionOpt, date: DateOpt, wage: Annotated[str, typer.Option(
        help="月工资（元）/ monthly wage in yuan")] = "0",
                 person_type: Annotated[str, typer.Option(
                     help="in_service | flexible | new_form | retiree")] = "in_service",
                 option: Annotated[int, typer.Option(help="灵活就业可选基数档 / flexible base option")] = 0,
                 policy_file: PolicyFileOpt = None, reform: ReformOpt = None, lang: LangOpt = "zh",
                 json_: JsonOpt = None) -> None:
    """月缴费核定 / monthly contribution assessment."""
    _run(_contribution, region, date, policy_file, reform, lang, json_,
         {"wage": wage, "person_type": person_type, "option": option})


def account(region: RegionOpt, date: DateOpt, age: Annotated[int, typer.Option(help="年龄 / age")] = 40,
            person_type: Annotated[str, typer.Option(help="in_service | flexible | new_form | retiree")]
            = "in_service",
            wage: Annotated[str | None, typer.Option(help="月工资（元）/ monthly wage")] = None,
            pension: Annotated[str, typer.Option(help="退休人员月养老金 / monthly pension")] = "0",
            was_flexible: Annotated[bool, typer.Option(help="退休前为灵活就业 / former flexible worker")]
            = False,
            policy_file: PolicyFileOpt = None, reform: ReformOpt = None, lang: LangOpt = "zh",
            json_: JsonOpt = None) -> None:
    """个人账户月划入 / monthly individual-account credit."""
    item: Item = {"age": age, "person_type": person_type, "pension": pension, "was_flexible": was_flexible}
    if wage is not None:
        item["wage"] = wage
    _run(_account, region, date, policy_file, reform, lang, json_, item)


def eligibility(region: RegionOpt, date: DateOpt,
                service_month: Annotated[str, typer.Option(help="就医月份 YYYY-MM")] = "",
                cover_start: Annotated[str, typer.Option(help="本段缴费起始月 YYYY-MM")] = "",
                gap_months: Annotated[int, typer.Option(help="此前断保月数；-1 首次参保")] = 0,
                gap_backpaid: Annotated[bool, typer.Option(help="断保已补缴 / gap back-paid")] = False,
                person_kind: Annotated[str, typer.Option(help="unit | flexible")] = "unit",
                policy_file: PolicyFileOpt = None, reform: ReformOpt = None, lang: LangOpt = "zh",
                json_: JsonOpt = None) -> None:
    """待遇资格（等待期、断保、补缴）/ entitlement on a service month."""
    svc = service_month or date[:7]
    _run(_eligibility, region, date, policy_file, reform, lang, json_,
         {"service_month": svc, "cover_start": cover_start or svc, "gap_months": gap_months,
          "gap_backpaid": gap_backpaid, "person_kind": person_kind})


def retirement(region: RegionOpt, date: DateOpt,
               sex: Annotated[str, typer.Option(help="male | female")] = "male",
               actual_months: Annotated[int, typer.Option(help="实际缴费月数")] = 0,
               deemed_months: Annotated[int, typer.Option(help="视同缴费月数")] = 0,
               transferred_months: Annotated[int, typer.Option(help="认可的转入月数")] = 0,
               local_actual_months: Annotated[int | None, typer.Option(help="本地实际缴费月数")] = None,
               unit_arrears: Annotated[str, typer.Option(help="单位欠费（元）")] = "0",
               price_shortfall: Annotated[bool, typer.Option(help="计算一次性补缴金额")] = False,
               policy_file: PolicyFileOpt = None, reform: ReformOpt = None, lang: LangOpt = "zh",
               json_: JsonOpt = None) -> None:
    """退休时最低缴费年限检查 / minimum years at retirement."""
    item: Item = {"sex": sex, "actual_months": actual_months, "deemed_months": deemed_months,
                  "transferred_months": transferred_months, "unit_arrears": unit_arrears,
                  "price_shortfall": price_shortfall}
    if local_actual_months is not None:
        item["local_actual_months"] = local_actual_months
    _run(_retirement, region, date, policy_file, reform, lang, json_, item)


def transfer(region: RegionOpt, date: DateOpt,
             local_months: Annotated[int, typer.Option(help="本地实际缴费月数")] = 0,
             transferred_months: Annotated[int, typer.Option(help="外地实际缴费月数")] = 0,
             gap_months: Annotated[int, typer.Option(help="转移间断月数")] = 0,
             monthly_due: Annotated[str, typer.Option(help="补缴月缴费额（元）")] = "0",
             balance: Annotated[str, typer.Option(help="个人账户余额（元）")] = "0",
             policy_file: PolicyFileOpt = None, reform: ReformOpt = None, lang: LangOpt = "zh",
             json_: JsonOpt = None) -> None:
    """转入认定（年限折算、补缴、账户余额）/ transfer-in recognition."""
    periods = [{"months": local_months, "local": True}, {"months": transferred_months, "local": False}]
    _run(_transfer, region, date, policy_file, reform, lang, json_,
         {"periods": [p for p in periods if p["months"]], "gap_months": gap_months,
          "monthly_due": monthly_due, "balance": balance})


def register(app: typer.Typer) -> None:
    """Add the rule commands to the ``yibao calc`` app."""
    for name, fn in (("contribution", contribution), ("account", account), ("eligibility", eligibility),
                     ("retirement", retirement), ("transfer", transfer)):
        app.command(name)(fn)

