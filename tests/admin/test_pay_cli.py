"""The staff commands ``yibao pay``, ``accounts``, ``statement`` and ``ledger`` end to end, on SQLite
and PostgreSQL: JSON output for scripts, bilingual errors with exit code 2 and nothing changed.

Amounts: Beijing 2024-03 on a 10000-yuan base = 1183 yuan (see test_pay_payments); retirees 100
yuan a month under 70 (beijing.yaml account.retiree.fixed_tiers).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_pay_support import USCC, assess, employer, enroll, link, person
from typer.testing import CliRunner

from yibao.admin.uow import run
from yibao.cli import admin_money

APP = typer.Typer()
admin_money.install(APP)


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        emp = employer(s)
        worker = person(s, dt.date(1985, 5, 5), name="王小明")
        en = enroll(s, worker, "110000", "in_service", emp)
        for m in (202402, 202403):
            assess(s, en, m, 1_000_000)
        child = person(s, dt.date(2015, 1, 1), sex="female")
        link(s, worker, child, "child", dt.date(2020, 1, 1))
        retiree = person(s, dt.date(1958, 1, 1))
        enroll(s, retiree, "110000", "retiree", start_month=202001)
        return {"worker": worker.id_number, "child": child.id_number, "retiree": retiree.id_number,
                "url": engine.url.render_as_string(hide_password=False)}
    return run(engine, step)


def cli(w: dict[str, Any], *args: str, code: int = 0) -> Any:
    r = CliRunner().invoke(APP, [*args, "--db", w["url"], "--json"])
    assert r.exit_code == code, (r.output, r.stderr if r.stderr_bytes is not None else "")
    return json.loads(r.stdout) if code == 0 else r.stderr


def test_pay_record_quote_refund_and_errors(world: dict[str, Any]) -> None:
    w = world
    v = cli(w, "pay", "record", "--payer", USCC["110000"], "--amount", "1183", "--on", "2024-03-10",
            "--ref", "BANK1")
    assert [(a["month"], a["status"], a["recognised"]) for a in v["allocations"]] == \
        [("2024-02", "paid", True)]
    assert cli(w, "pay", "record", "--payer", USCC["110000"], "--amount", "1183", "--on", "2024-03-10",
               "--ref", "BANK1")["payment_id"] == v["payment_id"]
    err = cli(w, "pay", "record", "--payer", USCC["110000"], "--amount", "1183", "--on", "2024-04-10",
              "--ref", "BANK2", "--months", "2024-02", code=2)
    assert "2024-02" in err and "closed" in err and "已结清" in err
    q = cli(w, "pay", "quote", "--person", w["worker"], "--as-of", "2024-05-01")
    assert [m["month"] for m in q["months"]] == [202403] and q["continuity"][0]["continuity_kept"] is True
    v = cli(w, "pay", "record", "--payer", USCC["110000"], "--amount", "1,283.00元", "--on", "2024-05-01",
            "--ref", "BANK3", "--months", "2024-03")
    assert v["unallocated"] == "100.00" and v["allocations"][0]["back_payment"] is True
    err = cli(w, "pay", "refund", "--payment", str(v["payment_id"]), "--amount", "100.01",
              "--on", "2024-05-02", "--ref", "RF1", code=2)
    assert "100.00" in err
    r = cli(w, "pay", "refund", "--payer", USCC["110000"], "--amount", "100", "--on", "2024-05-02",
            "--ref", "RF1")
    assert (r["kind"], r["amount"], r["refund_of"]) == ("refund", "100.00", v["payment_id"])
    err = cli(w, "pay", "record", "--payer", "91110000MA01ABCE3W", "--amount", "1", "--on", "2024-05-01",
              "--ref", "X", code=2)
    assert "payer" in err


def test_accounts_statement_and_ledger(world: dict[str, Any]) -> None:
    w = world
    cli(w, "pay", "record", "--payer", USCC["110000"], "--amount", "2366", "--on", "2024-03-10", "--ref", "B")
    r = cli(w, "accounts", "credit-retirees", "--region", "beijing", "--month", "2024-03")
    assert (r["credited"], r["amount"]) == (1, "100.00")
    assert cli(w, "accounts", "credit-retirees", "--region", "110000", "--month", "2024-03")["already_done"]
    paid = cli(w, "accounts", "pay", "--person", w["worker"], "--amount", "50", "--on", "2024-03-20",
               "--for", w["child"], "--purpose", "pharmacy", "--key", "k1")
    assert paid["balance_after"] == "350.00"  # 2 × 200 individual 2% − 50
    assert cli(w, "accounts", "pay", "--person", w["worker"], "--amount", "50", "--on", "2024-03-20",
               "--for", w["child"], "--purpose", "pharmacy", "--key", "k1") == paid
    err = cli(w, "accounts", "pay", "--person", w["worker"], "--amount", "500", "--on", "2024-03-20",
              "--key", "k2", code=2)
    assert "350.00" in err
    st = cli(w, "statement", "--person", w["worker"], "--to", "2024-03-31")
    assert st["name"] == "王**" and "*" in st["id_number"] and w["worker"] not in json.dumps(st)
    assert [ln["balance_fen"] for ln in st["lines"]] == [20_000, 40_000, 35_000]
    tb = cli(w, "ledger", "trial-balance", "--as-of", "2024-12-31", "--region", "beijing")
    assert tb["balanced"] and tb["total_debit"] == tb["total_credit"]
    assert cli(w, "ledger", "verify")["ok"] is True


def test_main_prints_bilingual_error_and_exits_2(tmp_path: Any) -> None:
    """Through the real entry point: a bad month is a message in both languages, not a traceback."""
    db = tmp_path / "x.db"
    p = subprocess.run([sys.executable, "-c", "from yibao.cli import main; main()", "accounts",
                        "credit-retirees", "--region", "110000", "--month", "2024-13", "--db", f"sqlite:///{db}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "month" in p.stderr and "月份" in p.stderr and "Traceback" not in p.stderr
