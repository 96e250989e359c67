"""``yibao demo`` (what ``make run`` shows): the administration core at work on the embedded default.

On first use it creates the database (``./yibao.db`` or ``--db``), upgrades its schema and builds
the demo region (:mod:`yibao.admin.demo`): a few thousand synthetic people, a year of
contributions, payments, account credits and claims, all through the services staff use. Then it
prints what a bureau looks at: the trial balance, arrears, the employer base audit,
interruptions, one member's account statement, and one inpatient claim with its explanation.
``yibao policy demo`` shows the policy engine alone (two regions side by side).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.table import Table
from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from yibao.cli.admin_claims import render_explanation
from yibao.cli.admin_common import DbOpt
from yibao.cli.common import LangOpt
from yibao.errors import InputError
from yibao.money import fen_to_yuan_str

__all__ = ["demo"]


def demo(
    db: DbOpt = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="删除并重建示范数据库 / rebuild the demo database")] = False,
    lang: LangOpt = "zh",
) -> None:
    """经办演示：示范市一年的参保、缴费、账户与结算 / a demo region's year of administration."""
    from yibao.admin.demo import DEMO_REGION, build_demo, demo_exists
    from yibao.db.engine import database_url, make_engine
    from yibao.db.migrate import upgrade

    if lang not in ("zh", "en"):
        raise InputError("--lang", lang, "应为 zh 或 en", "expected zh or en")
    url = database_url(db)
    if fresh and url.startswith("sqlite:///"):
        from pathlib import Path

        for suffix in ("", "-wal", "-shm"):
            Path(url.split("///", 1)[1] + suffix).unlink(missing_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    out = Console(highlight=False)
    zh = lang == "zh"
    out.print(Rule("yibao 医保 — 经办演示 / administration demo"))
    if not demo_exists(engine):
        out.print(f"建立示范市（{DEMO_REGION}）的一年业务，数据库 {url}…" if zh else
                  f"Building a year of business for Demo City ({DEMO_REGION}) in {url}…")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=out, transient=False) as bar:
            tasks: dict[str, TaskID] = {}

            def step(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=total)
                bar.update(tasks[label], completed=done, total=total)

            build_demo(engine, progress=step)
    else:
        out.print(f"使用已有的示范数据：{url}（--fresh 重建）" if zh else
                  f"Using the existing demo data in {url} (--fresh rebuilds it)")
    with Session(engine) as s:
        _report(s, out, zh)


def _yuan(fen: int) -> str:
    return fen_to_yuan_str(int(fen))


def _report(s: Session, out: Console, zh: bool) -> None:
    from yibao.admin import claims as claims_service
    from yibao.admin.accounts import person_statement
    from yibao.admin.continuity import interruptions
    from yibao.admin.declarations import base_audit
    from yibao.admin.demo import CLERK, DEMO_REGION, sample_people
    from yibao.admin.ledger import ACCOUNT_KINDS, trial_balance
    from yibao.admin.payments import arrears
    from yibao.admin.policies import region_policy
    from yibao.db.models.claims import Claim
    from yibao.db.models.contribution import ContributionMonth
    from yibao.db.models.enrollment import Enrollment

    year_end = dt.date(2024, 12, 31)
    counts = dict(s.execute(select(Enrollment.category, func.count()).where(
        Enrollment.region_code == DEMO_REGION).group_by(Enrollment.category)).all())
    months = dict(s.execute(select(ContributionMonth.status, func.count()).where(
        ContributionMonth.region_code == DEMO_REGION).group_by(ContributionMonth.status)).all())
    n_claims = s.scalar(select(func.count()).select_from(Claim).where(Claim.region_code == DEMO_REGION))
    out.print("① " + ("参保与缴费" if zh else "Enrollment and contributions"))
    insured = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    by_status = ", ".join(f"{k} {v}" for k, v in sorted(months.items()))
    out.print(f"   参保人员 / insured: {insured}; 缴费月 / contribution months: {by_status}; "
              f"结算 / claims: {n_claims}")

    out.print("② " + ("试算平衡（截至 2024-12-31，按科目）：借方合计 = 贷方合计" if zh else
                      "Trial balance at 2024-12-31 by account kind: total debits = total credits"))
    table = Table()
    for col in ("科目 kind", "借方 debits", "贷方 credits", "余额 balance"):
        table.add_column(col, justify="left" if col.startswith("科目") else "right")
    rows = trial_balance(s, year_end, region=DEMO_REGION)
    for r in rows:
        kind = ACCOUNT_KINDS.get(r.kind)
        name = (kind.zh if zh else kind.en) if kind else r.kind
        table.add_row(name, _yuan(r.debit_fen), _yuan(r.credit_fen), _yuan(r.balance_fen))
    debits, credits = sum(r.debit_fen for r in rows), sum(r.credit_fen for r in rows)
    table.add_row("合计 total", _yuan(debits), _yuan(credits), "")
    out.print(table)

    owed = arrears(s, DEMO_REGION, year_end)
    payer_of = dict(s.execute(select(ContributionMonth.id, ContributionMonth.payer_kind + ":"
                                     + func.cast(ContributionMonth.payer_id, String)).where(
        ContributionMonth.id.in_([m.contribution_month_id for m in owed]))).all()) if owed else {}
    by_payer: dict[str, int] = {}
    for m in owed:
        payer = payer_of[m.contribution_month_id]
        by_payer[payer] = by_payer.get(payer, 0) + m.owed_fen
    top = sorted(by_payer.items(), key=lambda kv: -kv[1])[:5]
    owed_total = _yuan(sum(by_payer.values()))
    out.print("③ " + (f"欠费：{len(owed)} 个缴费月逾期未缴清，合计 {owed_total} 元；欠费最多的缴费人"
                      if zh else
                      f"Arrears: {len(owed)} months overdue, {owed_total} yuan; largest payers"))
    for payer, fen in top:
        out.print(f"   {payer}: {_yuan(fen)} 元 / yuan")
    people = sample_people(s)
    if people["employer"] is not None:
        audit = base_audit(s, int(people["employer"]), 202401)
        out.print("④ " + ("单位缴费基数稽核（申报工资总额 vs 参保人员申报工资）" if zh else
                          "Employer base audit (declared payroll vs declared wages)"))
        out.print("   " + audit.text().replace("\n", "\n   "), markup=False)
    gaps = interruptions(s, DEMO_REGION, 202412, 2, policy=region_policy(s, DEMO_REGION))
    out.print("⑤ " + (f"断保（2 个月以上未缴）及即将失去连续性的灵活就业人员：{len(gaps)} 人" if zh else
                      f"Interrupted (no payment for over 2 months) or about to lose continuity: {len(gaps)}"))
    claim_id = people["inpatient_claim"]
    if claim_id is not None:
        c: Any = claims_service.get_claim(s, CLERK, int(claim_id))
        st = person_statement(s, CLERK, int(c["person_id"]), date_to=year_end, region=DEMO_REGION)
        closing = _yuan(st.closing_fen)
        out.print("⑥ " + (f"个人账户对账单（{st.name}，{st.id_number}）：期末 {closing} 元，最近 5 笔"
                          if zh else
                          f"Account statement ({st.name}, {st.id_number}): closing {closing} yuan, "
                          "last 5 movements"))
        for line in st.lines[-5:]:
            out.print(f"   {line.value_date}  {line.kind:<22} {_yuan(line.amount_fen):>10}  → "
                      f"{_yuan(line.balance_fen)}", markup=False)
        out.print("⑦ " + ("一笔住院结算及说明" if zh else "An inpatient claim and how it was computed"))
        info = c["setlinfo"]
        for key in ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "hifob_pay", "acct_pay",
                    "acct_mulaid_pay", "psn_cash_pay"):
            out.print(f"   {key:<16} {info.get(key)}", markup=False)
        lang = "zh" if zh else "en"
        for part in ("eligibility", "settlement"):
            text = render_explanation(c["explanation"][part], lang)
            out.print("   " + text.replace("\n", "\n   "), markup=False)
    out.print()
    out.print("试试 / try: yibao person show 1 | yibao statement --person 1 | yibao ledger trial-balance "
              "--as-of 2024-12-31 | yibao settle --help | yibao policy demo", markup=False)
