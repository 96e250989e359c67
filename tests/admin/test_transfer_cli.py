"""``yibao transfer`` and ``yibao retire`` end to end on SQLite and PostgreSQL: JSON for scripts,
Chinese then English for people, bilingual errors with exit code 2 and nothing changed.

Numbers as in test_transfer_flow / test_retire_check / test_retire_payments (Shanghai 1200.00 a
month on a 10000 base, PD shanghai; hypothetical 80% conversion ratio; Beijing women 20 years,
PD beijing, with a hypothetical local minimum of 0; Jinan 3万 per retiree, seed 003).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_retire_check import BEIJING_LOCAL
from test_transfer_support import (
    BJ,
    SH,
    SHANGHAI_TRANSFER,
    contribution_months,
    employer,
    enroll,
    fund_account,
    months,
    person,
)
from typer.testing import CliRunner

from yibao.admin.uow import run
from yibao.cli import admin_cases
from yibao.db.models.cases import TransferCase
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Region

APP = typer.Typer()
admin_cases.install(APP)


def cli(url: str, *args: str, code: int = 0, as_json: bool = True) -> Any:
    r = CliRunner().invoke(APP, [*args, "--db", url, *(["--json"] if as_json else [])])
    assert r.exit_code == code, (r.output, r.stderr if r.stderr_bytes is not None else "")
    if code:
        return " ".join(r.stderr.split())
    # human output is wrapped to the terminal's width: compare it with the line breaks undone
    return json.loads(r.stdout) if as_json else " ".join(r.stdout.split())


def _world(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    files = {}
    for name, text in (("sh", SHANGHAI_TRANSFER), ("bj", BEIJING_LOCAL)):
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(text, encoding="utf-8")

    def step(s: Session) -> dict[str, Any]:
        s.get_one(Region, SH).policy = "shanghai_transfer_test"
        s.get_one(Region, BJ).policy = "beijing_local_test"
        mover = person(s, "female", dt.date(1980, 1, 1), "张迁")
        bj_emp = employer(s, BJ, "北京甲公司")
        sh_emp = employer(s, SH, "上海乙公司")
        enr = enroll(s, mover, BJ, employer_id=bj_emp.id, start=202001)
        contribution_months(s, enr, months(202001, 51))
        fund_account(s, mover, BJ, 123456)
        retiree = person(s, "female", dt.date(1974, 3, 8), "李退")
        enr2 = enroll(s, retiree, BJ, employer_id=bj_emp.id, start=200408)
        contribution_months(s, enr2, months(200408, 239))
        return {"mover": mover.id_number, "retiree": retiree.id_number, "sh_uscc": sh_emp.uscc,
                "bj_uscc": bj_emp.uscc, "url": engine.url.render_as_string(hide_password=False),
                "sh_file": str(files["sh"]), "bj_file": str(files["bj"])}

    return run(engine, step)


def test_transfer_out_in_show(engine: Engine, tmp_path: Path) -> None:
    w = _world(engine, tmp_path)
    url = w["url"]
    out = cli(url, "transfer", "out", "--person", w["mover"], "--from", "beijing", "--end", "2024-03",
              "--key", "o1")
    assert out["status"] == "issued" and out["carried_months"]["actual"] == 51
    err = cli(url, "transfer", "in", str(out["case_id"]), "--to", "beijing", "--start", "2024-06",
              "--policy-file", w["sh_file"], code=2)
    assert "错误 / error" in err and "two different regions" in err and "相同" in err
    got = cli(url, "transfer", "in", str(out["case_id"]), "--to", "shanghai", "--start", "2024-06",
              "--category", "in_service", "--employer", w["sh_uscc"], "--policy-file", w["sh_file"],
              "--key", "i1")
    assert got["backpay_due_fen"] == 240000 and got["balance_moved_fen"] == 123456
    again = cli(url, "transfer", "in", str(out["case_id"]), "--to", "shanghai", "--start", "2024-06",
                "--category", "in_service", "--employer", w["sh_uscc"], "--policy-file", w["sh_file"],
                "--key", "i1")
    assert again == got
    text = cli(url, "transfer", "show", str(out["case_id"]), as_json=False)
    zh, en = text.index("转移接续单"), text.index("transfer case #")
    assert zh < en and "应补 2400.00 元" in text and "due 2400.00" in text
    assert "transfer-in recognition" in text  # the explanation follows, Chinese then English
    err = cli(url, "transfer", "in", "4242", "--to", "shanghai", "--start", "2024-06", code=2)
    assert "no such transfer case" in err


def test_retire_check_refusal_and_plan(engine: Engine, tmp_path: Path) -> None:
    w = _world(engine, tmp_path)
    url = w["url"]
    check = cli(url, "retire", "check", "--person", w["retiree"], "--region", "beijing", "--on", "2024-06-30",
                "--policy-file", w["bj_file"])
    assert check["reason"] == "short_of_years" and check["years_short_months"] == 1
    text = cli(url, "retire", "check", "--person", w["retiree"], "--region", "beijing", "--on", "2024-06-30",
               "--policy-file", w["bj_file"], as_json=False)
    assert text.index("差 1 个月") < text.index("years short by 1 month")
    err = cli(url, "retire", "--person", w["retiree"], "--region", "beijing", "--on", "2024-06-30",
              "--pension", "5000.00", "--policy-file", w["bj_file"], code=2)
    assert "不能办理退休" in err and "retirement refused: years short by 1 month" in err
    with Session(engine) as s:
        retirees = select(func.count()).select_from(Enrollment).where(Enrollment.category == "retiree")
        assert s.scalar(retirees) == 0
    err = cli(url, "retire", "--person", w["retiree"], "--region", "beijing", code=2)
    assert "--on" in err and "--pension" in err
    history = cli(url, "retire", "history", "--person", w["retiree"], "--region", "110000", "--from",
                  "2004-07",
                  "--to", "2004-07", "--kind", "actual", "--source", "北京市参保缴费凭证（纸质）")
    assert history["months"] == 1
    done = cli(url, "retire", "--person", w["retiree"], "--region", "beijing", "--on", "2024-06-30",
               "--pension", "5000.00", "--policy-file", w["bj_file"], "--key", "r1")
    assert done["pension_fen"] == 500000 and done["retiree_start_month"] == "2024-07"
    plan = cli(url, "retire", "plan", "create", "--employer", w["bj_uscc"], "--region", "beijing",
               "--per-retiree", "30000", "--retirees", "3", "--instalments", "2", "--schedule", "yearly",
               "--first-due", "2025-01-31", "--decided-on", "2024-12-01",
               "--document", "经办机构决定（测试）")
    assert [i["amount_fen"] for i in plan["instalments"]] == [4_500_000, 4_500_000]
    paid = cli(url, "retire", "plan", "pay", str(plan["plan_id"]), "--amount", "45000.00", "--paid-on",
               "2025-01-20", "--reference", "B1")
    assert paid["outstanding_fen"] == 4_500_000
    shown = cli(url, "retire", "plan", "show", str(plan["plan_id"]), as_json=False)
    assert "尚欠 45000.00 元" in shown and "outstanding 45000.00" in shown
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(TransferCase)) == 0
