"""`yibao calc settle`: settle one claim from options, or claims from JSON, with explanations.

Human output is a table of ``setlinfo`` plus the step-by-step explanation (zh or en); ``--json``
reads one claim, a list, or ``{"claims": [...], "accumulators": [...]}`` and prints the national
platform's JSON; ``--schema`` prints the JSON Schema of input and output. Every user error is a
bilingual message with exit code 2 (see :func:`yibao.cli.main`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from yibao.cli.common import LangOpt, PolicyFileOpt, ReformOpt, emit_json, parse_date, read_json, registry
from yibao.errors import InputError
from yibao.platform.settle import SETLINFO_LABELS, json_schema, settle_document

__all__ = ["register", "settle"]


Str = Annotated[str | None, typer.Option()]


def settle(
    region: Annotated[str | None, typer.Option("--region", "-r", help="参保地：行政区划代码或拼音 / "
                                                                      "insured region")] = None,
    date: Annotated[str | None, typer.Option("--date", "-d", help="结算日期 YYYY-MM-DD")] = None,
    policy_file: PolicyFileOpt = None,
    reform: ReformOpt = None,
    lang: LangOpt = "zh",
    json_: Annotated[str | None, typer.Option("--json", help="读 JSON（文件或 -）输出平台 JSON / "
                                                             "read JSON claims, print JSON")] = None,
    schema: Annotated[bool, typer.Option("--schema", help="输出 JSON Schema")] = False,
    med_type: Annotated[str, typer.Option(help="11 普通门诊 / 21 普通住院")] = "21",
    hosp_lv: Annotated[str, typer.Option(help="pharmacy community level_1 level_2 level_3 "
                                              "level_3a")] = "level_3",
    psn_type: Annotated[str, typer.Option(help="in_service flexible retired")] = "in_service",
    age: Annotated[int, typer.Option(help="年龄 / age")] = 45,
    retired_on: Annotated[str | None, typer.Option(help="退休日期 YYYY-MM-DD")] = None,
    total: Annotated[str | None, typer.Option(help="医疗费总额（元）/ medfee_sumamt")] = None,
    full_self_pay: Annotated[str, typer.Option(help="全自费（元）")] = "0",
    over_limit: Annotated[str, typer.Option(help="超限价自付（元）")] = "0",
    preselfpay: Annotated[str | None, typer.Option(help="先行自付（元）")] = None,
    category_b: Annotated[str | None, typer.Option(help="乙类金额（元）; preselfpay by ratio")] = None,
    account_balance: Annotated[str, typer.Option(help="个人账户余额（元）")] = "0",
    mulaid_balance: Annotated[str, typer.Option(help="家庭共济可用余额（元）")] = "0",
    treated_in: Annotated[str | None, typer.Option(help="就医地区划代码 mdtrtarea_admvs")] = None,
    remote_registered: Annotated[bool, typer.Option(help="异地就医已备案")] = False,
    benefit_share: Annotated[str, typer.Option(help="待遇比例，如 50%")] = "100%",
) -> None:
    """结算：住院/普通门诊，按参保地与日期的规则 / settle a claim by the region's rules on a date."""
    if lang not in ("zh", "en"):
        raise InputError("--lang", lang, "应为 zh 或 en", "expected zh or en")
    if schema:
        emit_json(json_schema())
        return
    reg = registry(policy_file, reform)
    ids = [r for r in (reform or []) if not r.endswith((".yaml", ".yml"))]
    if json_ is not None:
        out, _ = settle_document(read_json(json_), reg, region, ids)
        emit_json(out)
        return
    if region is None or date is None or total is None:
        raise InputError("--region/--date/--total", None, "单笔结算需要 --region、--date 与 --total",
                         "a single claim needs --region, --date and --total")
    doc: dict[str, Any] = {
        "med_type": med_type, "hosp_lv": hosp_lv, "psn_type": psn_type, "age": age,
        "setl_date": parse_date(date).isoformat(), "insuplc_admdvs": region,
        "medfee_sumamt": total, "fulamt_ownpay_amt": full_self_pay, "overlmt_selfpay": over_limit,
        "acct_balc": account_balance, "mulaid_balc": mulaid_balance,
        "remote_registered": remote_registered, "benefit_share": benefit_share,
    }
    if retired_on:
        doc["retired_on"] = parse_date(retired_on, "--retired-on").isoformat()
    if preselfpay is not None:
        doc["preselfpay_amt"] = preselfpay
    if category_b is not None:
        doc["catb_amt"] = category_b
    if treated_in:
        doc["mdtrtarea_admvs"] = treated_in
    out, results = settle_document(doc, reg, None, ids)
    _show(out["setlinfo"], lang)
    typer.echo(results[0].explanation.render(lang))


def _show(info: dict[str, Any], lang: str) -> None:
    zh = lang != "en"
    table = Table(title="结算信息 setlinfo" if zh else "settlement (setlinfo)")
    table.add_column("字段 field")
    table.add_column("含义" if zh else "meaning")
    table.add_column("金额（元）" if zh else "yuan", justify="right")
    for key, (lz, le) in SETLINFO_LABELS.items():
        table.add_row(key, lz if zh else le, str(info[key]))
    Console(highlight=False).print(table)


def register(app: typer.Typer) -> None:
    """Add ``settle`` to the ``yibao calc`` app."""
    app.command("settle")(settle)



