"""`yibao demo` (what `make run` shows): the policy engine at work, with no server.

1. Where two regions' rules differ on a date (the regional differences seed 000 lists).
2. One inpatient claim settled under both regions' rules, side by side, in the national
   platform's ``setlinfo`` fields.
3. The step-by-step explanation of the first settlement: every parameter with its value, source
   and effective date — what a counter clerk reads out when asked "why was I paid this?".
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from yibao.cli import policy as policy_cli
from yibao.cli.common import LangOpt, PolicyFileOpt, parse_date, registry
from yibao.errors import InputError

__all__ = ["demo"]

_SHOWN = (
    ("medfee_sumamt", "医疗费总额", "total cost"),
    ("fulamt_ownpay_amt", "全自费", "full self-pay"),
    ("inscp_scp_amt", "政策范围内费用", "in-scope amount"),
    ("act_pay_dedc", "起付线", "deductible"),
    ("hifp_pay", "统筹基金支付", "pooled fund"),
    ("hifob_pay", "大额/地方附加支付", "large-amount fund"),
    ("fund_pay_sumamt", "基金支付合计", "fund total"),
    ("psn_part_amt", "个人负担", "personal share"),
    ("acct_pay", "个人账户支付", "account pays"),
    ("psn_cash_pay", "个人现金支付", "cash"),
)


def demo(
    a: Annotated[str, typer.Option("--a", help="第一个地区 / first region")] = "beijing",
    b: Annotated[str, typer.Option("--b", help="第二个地区 / second region")] = "shanghai",
    date: Annotated[str, typer.Option("--date", "-d", help="日期 YYYY-MM-DD")] = "2024-03-15",
    total: Annotated[str, typer.Option(help="住院医疗费总额（元）/ inpatient total")] = "80000",
    full_self_pay: Annotated[str, typer.Option(help="全自费（元）")] = "4000",
    psn_type: Annotated[str, typer.Option(help="in_service | flexible | retired")] = "in_service",
    age: Annotated[int, typer.Option(help="年龄 / age")] = 45,
    account_balance: Annotated[str, typer.Option(help="个人账户余额（元）")] = "3000",
    policy_file: PolicyFileOpt = None,
    lang: LangOpt = "zh",
) -> None:
    """政策引擎演示：两地区对比与一笔住院结算 / the engine: two regions compared, a claim settled."""
    if lang not in ("zh", "en"):
        raise InputError("--lang", lang, "应为 zh 或 en", "expected zh or en")
    zh = lang == "zh"
    d = parse_date(date)
    out = Console(highlight=False)
    out.print(Rule("yibao 医保 — 政策引擎演示" if zh else "yibao — the policy engine at work"))
    out.print("① " + ("两地区政策差异（seed 000 所列：费率、基数、起付线、封顶线、年限等）" if zh else
                      "Where the two regions differ (as seed 000 lists: rates, bases, deductibles, "
                      "ceilings, minimum years)"))
    policy_cli.diff(a, b, d.isoformat(), show_all=False, policy_file=policy_file, reform=None,
                    lang=lang)

    # imported here: `yibao policy` registers this command, and the settlement kernel (numba) is
    # not needed by the other policy commands
    from yibao.platform.settle import settle_document

    reg = registry(policy_file)
    claim: dict[str, Any] = {
        "med_type": "21", "hosp_lv": "level_3", "psn_type": psn_type, "age": age,
        "setl_date": d.isoformat(), "medfee_sumamt": total, "fulamt_ownpay_amt": full_self_pay,
        "acct_balc": account_balance,
    }
    results = []
    for region in (a, b):
        doc, explained = settle_document({**claim, "insuplc_admdvs": region}, reg, None)
        results.append((reg.policy(region), doc["setlinfo"], explained[0].explanation))
    out.print()
    out.print("② " + (f"同一笔住院（三级医院，{psn_type}，{age} 岁，总额 {total} 元，全自费 "
                      f"{full_self_pay} 元，账户余额 {account_balance} 元）在两地结算" if zh else
                      f"One inpatient claim (level-3 hospital, {psn_type}, age {age}, total {total}, "
                      f"full self-pay {full_self_pay}, account {account_balance}) in both regions"))
    table = Table(title=f"{d}")
    table.add_column("字段 field")
    table.add_column("含义" if zh else "meaning")
    for pol, _, _ in results:
        table.add_column(pol.region.name_zh if zh else pol.region.name_en, justify="right")
    for key, lz, le in _SHOWN:
        table.add_row(key, lz if zh else le, *(str(info[key]) for _, info, _ in results))
    out.print(table)
    out.print()
    out.print("③ " + ("结算说明（每一步所用参数、来源与生效日期）" if zh else
                      "How the first settlement was computed (each parameter with source and date)"))
    out.print(results[0][2].render(lang), markup=False)
    out.print()
    out.print("更多：yibao policy regions | yibao policy show beijing --date 2024-03-15 | "
              "yibao calc settle --help" if zh else
              "More: yibao policy regions | yibao policy show beijing --date 2024-03-15 | "
              "yibao calc settle --help")
