"""``yibao settle`` (pre-settlement with ``--dry-run``), ``yibao claim show|reverse``.

A claim is given by options (``--total 20000.00 --kind inpatient --level level_3 …``) or as a
national-platform 2303/2304 (2206/2207) style JSON file (``--input FILE``: ``med_type``,
``hosp_lv``, ``setl_date``, ``medfee_sumamt``, ``fulamt_ownpay_amt``, ``overlmt_selfpay``,
``preselfpay_amt``, ``catb_amt``, ``mdtrtarea_admvs``, ``remote_registered``, ``psn_no``,
``insuplc_admdvs``, ``mdtrt_id``, ``fixmedins_code``, ``medins_setl_id``). The person's type, age,
account balances and benefit share come from the register, never from the input. The output is
the ``setlinfo`` breakdown in yuan and the explanation (Chinese, then English); ``--json`` prints
the stored claim. Every staff command takes ``--db`` and ``--json``; writes take ``--key``.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from yibao.admin import claims
from yibao.admin.register import lookup_person, resolve_region
from yibao.admin.uow import run
from yibao.cli.admin_common import DbOpt, JsonFlag, KeyOpt, actor, emit, open_db
from yibao.cli.admin_common import guard as _guard
from yibao.cli.common import parse_date, read_json
from yibao.errors import InputError
from yibao.money import parse_amount
from yibao.platform.settle import MED_TYPES, SETLINFO_LABELS

__all__ = ["claim_app", "install", "render_explanation", "settle_cmd"]


claim_app = typer.Typer(help="结算记录 / settled claims: show, reverse", no_args_is_help=True)

_INPUT_KEYS = {"psn_no", "med_type", "hosp_lv", "setl_date", "insuplc_admdvs", "mdtrtarea_admvs",
               "remote_registered", "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay",
               "preselfpay_amt", "catb_amt", "mdtrt_id", "fixmedins_code", "medins_setl_id",
               # the platform carries these; the administration takes them from the register
               "psn_type", "age", "retired_on", "acct_balc", "mulaid_balc", "benefit_share"}


def install(app: typer.Typer) -> None:
    """Add ``settle`` and ``claim`` to the ``yibao`` app."""
    app.command("settle")(settle_cmd)
    app.add_typer(claim_app, name="claim")





def _from_file(path: Path, region: str | None, person: str | None) -> tuple[str, str, dict[str, Any]]:
    doc = read_json(str(path))
    if not isinstance(doc, dict):
        raise InputError("--input", str(path), "应为一笔结算的 JSON 对象",
                         "expected one claim as a JSON object")
    extra = sorted(set(doc) - _INPUT_KEYS)
    if extra:
        raise InputError(extra[0], doc[extra[0]], f"不是结算输入字段；可用：{', '.join(sorted(_INPUT_KEYS))}",
                         f"not a claim input field; accepted: {', '.join(sorted(_INPUT_KEYS))}")
    med_type = str(doc.get("med_type", ""))
    if med_type not in MED_TYPES:
        raise InputError("med_type", med_type, "应为 11 普通门诊 或 21 普通住院",
                         "expected 11 (general outpatient) or 21 (general inpatient)")
    reg = region or doc.get("insuplc_admdvs")
    psn = person or doc.get("psn_no")
    if not reg or not psn:
        raise InputError("--region/--person", None,
                         "需要 --region 与 --person（或 insuplc_admdvs 与 psn_no）",
                         "give --region and --person (or insuplc_admdvs and psn_no)")
    fields: dict[str, Any] = {
        "kind": MED_TYPES[med_type], "level": str(doc.get("hosp_lv", "")),
        "service_date": parse_date(str(doc.get("setl_date", "")), "setl_date"),
        "total_fen": parse_amount(doc.get("medfee_sumamt"), "medfee_sumamt"),
        "full_self_pay_fen": parse_amount(doc.get("fulamt_ownpay_amt", 0), "fulamt_ownpay_amt"),
        "over_limit_fen": parse_amount(doc.get("overlmt_selfpay", 0), "overlmt_selfpay"),
        "mdtrt_id": doc.get("mdtrt_id"), "medins_code": doc.get("fixmedins_code"),
        "medins_setl_id": doc.get("medins_setl_id"),
    }
    if doc.get("preselfpay_amt") is not None:
        fields["preselfpay_fen"] = parse_amount(doc["preselfpay_amt"], "preselfpay_amt")
    if doc.get("catb_amt") is not None:
        fields["category_b_fen"] = parse_amount(doc["catb_amt"], "catb_amt")
    treated = doc.get("mdtrtarea_admvs")
    fields["_treated_in"] = str(treated) if treated else None
    fields["_registered"] = bool(doc.get("remote_registered", False))
    return str(reg), str(psn), fields


@_guard
def settle_cmd(
    person: Annotated[str | None, typer.Option("--person", help="登记号或证件号码 / person")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="参保地 / insured region")] = None,
    date: Annotated[str | None, typer.Option("--date", "-d", help="就诊日期 YYYY-MM-DD")] = None,
    kind: Annotated[str, typer.Option("--kind", help="inpatient（住院）| outpatient（门诊）")] = "inpatient",
    level: Annotated[str, typer.Option("--level", help="pharmacy community level_1 level_2 level_3 "
                                                       "level_3a")] = "level_3",
    total: Annotated[str | None, typer.Option("--total", help="医疗费总额（元）/ medfee_sumamt")] = None,
    full_self: Annotated[str, typer.Option("--full-self", help="全自费（元）")] = "0",
    over_limit: Annotated[str, typer.Option("--over-limit", help="超限价自付（元）")] = "0",
    pre: Annotated[str | None, typer.Option("--pre", help="先行自付（元）/ preselfpay_amt")] = None,
    category_b: Annotated[str | None, typer.Option("--category-b", help="乙类金额（元）")] = None,
    remote: Annotated[str, typer.Option("--remote", help="local | registered | unregistered")] = "local",
    settle_date: Annotated[str | None, typer.Option("--settle-date", help="结算日期（默认就诊日期）")] = None,
    no_account: Annotated[bool, typer.Option("--no-account", help="不使用个人账户 / pay no part "
                                                                  "from the account")] = False,
    input_file: Annotated[Path | None, typer.Option("--input", help="2303/2304 风格 JSON 输入文件")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="预结算，不记账 / pre-settle only")] = False,
    db: DbOpt = None,
    as_json: JsonFlag = False,
    key: KeyOpt = None,
) -> None:
    """结算（--dry-run 为预结算）/ settle a claim (pre-settle with --dry-run)."""
    if input_file is not None:
        region, person, fields = _from_file(input_file, region, person)
        treated, registered = fields.pop("_treated_in"), fields.pop("_registered")
    else:
        if person is None or region is None or date is None or total is None:
            raise InputError("--person/--region/--date/--total", None,
                             "需要 --person、--region、--date 与 --total（或 --input 文件）",
                             "give --person, --region, --date and --total (or an --input file)")
        fields = {"kind": kind, "level": level, "service_date": parse_date(date, "--date"),
                  "total_fen": parse_amount(total, "--total"),
                  "full_self_pay_fen": parse_amount(full_self, "--full-self"),
                  "over_limit_fen": parse_amount(over_limit, "--over-limit"), "remote": remote}
        if pre is not None:
            fields["preselfpay_fen"] = parse_amount(pre, "--pre")
        if category_b is not None:
            fields["category_b_fen"] = parse_amount(category_b, "--category-b")
        treated, registered = None, False
    if settle_date is not None:
        fields["settle_date"] = parse_date(settle_date, "--settle-date")
    fields["use_account"] = not no_account
    engine = open_db(db)
    who = actor()
    ref_region, ref_person = region, person

    def step(s: Session) -> dict[str, Any]:
        reg = resolve_region(s, ref_region)
        pid = lookup_person(s, ref_person).id
        if treated and treated != reg.code:
            fields["remote"] = "registered" if registered else "unregistered"
        ci = claims.ClaimInput(**fields)
        if dry_run:
            return claims.presettle(s, who, reg.code, pid, ci)
        return claims.settle(s, who, reg.code, pid, ci, key=key)

    result = run(engine, step)
    _emit(result, as_json)


@claim_app.command("show")
@_guard
def show_cmd(
    claim_id: Annotated[int, typer.Argument(help="结算编号 / claim id")],
    db: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """显示一笔结算 / show a settled claim."""
    engine = open_db(db)
    who = actor()
    result = run(engine, lambda s: claims.get_claim(s, who, claim_id))
    _emit(result, as_json)


@claim_app.command("reverse")
@_guard
def reverse_cmd(
    claim_id: Annotated[int, typer.Argument(help="结算编号 / claim id")],
    date: Annotated[str | None, typer.Option("--date", "-d", help="冲销日期（默认今天）")] = None,
    db: DbOpt = None,
    as_json: JsonFlag = False,
    key: KeyOpt = None,
) -> None:
    """冲销一笔结算（2305/2208/2601）/ reverse a settled claim."""
    on = parse_date(date, "--date") if date else dt.date.today()
    engine = open_db(db)
    who = actor()
    result = run(engine, lambda s: claims.reverse(s, who, claim_id, key, on))
    _emit(result, as_json)


def _emit(result: dict[str, Any], as_json: bool) -> None:
    # plain echo for the human text: rich would re-wrap it at the terminal's width
    if as_json:
        emit(result, True)
    else:
        typer.echo(_human(result))


def render_explanation(part: dict[str, Any], lang: str) -> str:
    """A stored explanation (``claim.explanation['settlement']`` or ``['eligibility']``) as text."""
    lines = [str(part.get(f"title_{lang}", ""))]
    for i, s in enumerate(part.get(lang, []), 1):
        amount = f" = {s['amount']}" if s.get("amount") is not None else ""
        lines.append(f"{i}. {s['step']}: {s['arithmetic']}{amount}")
        for p in s.get("params", []):
            lines.append(f"    · {p['key']} = {p['value']} ({p['defined_in']}, {p['effective_from']}; "
                         f"{p['source']})")
    return "\n".join(lines)


def _human(r: dict[str, Any]) -> str:
    cid = r["claim_id"] if r["claim_id"] is not None else "（预结算 / pre-settlement）"
    table = Table(title=f"结算 claim {cid} — {r['status']}")
    table.add_column("字段 field")
    table.add_column("含义 meaning")
    table.add_column("金额（元）yuan", justify="right")
    info = r["setlinfo"]
    for k, (zh, en) in SETLINFO_LABELS.items():
        table.add_row(k, f"{zh} / {en}", str(info[k]))
    buf = io.StringIO()
    Console(file=buf, highlight=False, width=100).print(table)
    head = (f"人员 person {r['person_id']}  地区 region {r['region']}  {r['kind']} {r['hospital_level']}  "
            f"就诊 service {r['service_date']}  结算 settled {r['settle_date']}  "
            f"类别 class {r['benefit_class']}  待遇比例 share {r['share_bp'] / 100:g}%")
    if r.get("mulaid_holder_id"):
        head += f"  共济账户 mutual aid from person {r['mulaid_holder_id']}"
    if r.get("replayed"):
        head += "\n（重复提交：返回首次结果 / replay: the first result）"
    e = r["explanation"]
    parts = [head, buf.getvalue(),
             render_explanation(e["eligibility"], "zh"), render_explanation(e["settlement"], "zh"),
             render_explanation(e["eligibility"], "en"), render_explanation(e["settlement"], "en")]
    return "\n\n".join(parts)
