"""``yibao declare`` and ``yibao assess`` end to end on SQLite and PostgreSQL: JSON for scripts, tables
for people, bilingual errors with exit code 2 and nothing changed.

Amounts: Beijing 2024-03, wage 8000 → 947.00 yuan (employer 9.8% = 784.00, individual 2% + 3 = 163.00;
beijing.yaml, 京人社发〔2023〕8号 limits)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_assess_world import World, build
from typer.testing import CliRunner

from yibao.cli import admin_contrib
from yibao.db.models.contribution import ContributionMonth, WageDeclaration

APP = typer.Typer()
admin_contrib.install(APP)


@pytest.fixture
def world(engine: Engine) -> tuple[World, str]:
    return build(engine), engine.url.render_as_string(hide_password=False)


def cli(url: str, *args: str, code: int = 0, as_json: bool = True) -> Any:
    r = CliRunner().invoke(APP, [*args, "--db", url, *(["--json"] if as_json else [])],
                           env={"COLUMNS": "250"})  # rich wraps at the terminal width
    assert r.exit_code == code, (r.output, r.stderr)
    if code == 0 and as_json:
        return json.loads(r.stdout)
    return r.stdout + r.stderr


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_declare_assess_arrears_round_trip(world: tuple[World, str], engine: Engine) -> None:
    w, url = world
    d = cli(url, "declare", "wage", "--person", w.id_numbers["张三"], "--employer", w.usccs["甲"],
            "--from", "2024-01", "--wage", "8000.00")
    assert d["wage_fen"] == 800000 and d["payer_kind"] == "employer" and d["region"] == "110000"
    # the same command with a key twice: one declaration
    args = ("declare", "wage", "--person", w.id_numbers["李四"], "--employer", w.usccs["甲"], "--from",
            "2024-01", "--wage", "1.2万", "--key", "k-li")
    assert cli(url, *args)["declaration_id"] == cli(url, *args)["declaration_id"]
    cli(url, "declare", "wage", "--person", w.id_numbers["钱七"], "--employer", w.usccs["乙"],
        "--from", "202401", "--wage", "7000")
    res = cli(url, "assess", "run", "--region", "beijing", "--month", "2024-03")
    assert res["status"] == "done" and res["assessed"] == 5 and res["errors"] == []
    again = cli(url, "assess", "run", "--region", "110000", "--month", "2024-03")
    assert again["already_done"] and again["assessed"] == 0 and "already done" in again["message_en"]
    rows = cli(url, "assess", "arrears", "--region", "北京", "--employer", w.usccs["甲"])
    zhang = next(r for r in rows if r["person_id"] == w.persons["张三"])
    assert zhang["outstanding_yuan"] == "947.00" and zhang["payer"] == w.usccs["甲"]
    assert "张" in zhang["person"] and "张三" not in zhang["person"]  # masked
    text = cli(url, "assess", "arrears", "--region", "110000", as_json=False)
    assert "947.00" in text and "owed in all" in text
    assert _count(engine, ContributionMonth) == 5


def test_assess_run_lists_rows_without_a_declaration(world: tuple[World, str]) -> None:
    _, url = world
    text = cli(url, "assess", "run", "--region", "110000", "--month", "2024-03", as_json=False)
    assert "wage_declaration" in text and "no wage declaration" in text and "could not be assessed" in text


def test_declare_errors_are_bilingual_exit_2_and_change_nothing(world: tuple[World, str],
                                                                  engine: Engine) -> None:
    w, url = world
    base = ("declare", "wage", "--person", w.id_numbers["张三"], "--employer", w.usccs["甲"],
            "--from", "2024-03")
    cli(url, *base, "--wage", "8000")
    err = cli(url, *base, "--wage", "8100", code=2)
    assert "已有申报" in err and "already has declaration" in err
    err = cli(url, *base[:-1], "2024-04", "--wage", "-5", code=2)
    assert "wage" in err and "negative" in err
    err = cli(url, "declare", "wage", "--person", "110105199001011234", "--employer", w.usccs["甲"],
              "--from", "2024-03", "--wage", "8000", code=2)
    assert "错误 / error" in err
    assert _count(engine, WageDeclaration) == 1


def test_declare_import_prints_bad_rows_and_exits_2(world: tuple[World, str], engine: Engine,
                                                    tmp_path: Path) -> None:
    w, url = world
    path = tmp_path / "wages.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([["证件号码", "姓名", "缴费工资", "起始月份"],
                                 [w.id_numbers["张三"], "张三", "8000", "2024-03"],
                                 [w.id_numbers["李四"], "李四", "abc", "2024-03"]])
    text = cli(url, "declare", "import", str(path), "--region", "110000", "--employer", w.usccs["甲"],
               code=2, as_json=False)
    assert "abc" in text and "nothing was imported" in text and "wage" in text
    assert _count(engine, WageDeclaration) == 0
    res = cli(url, "declare", "import", str(path), "--region", "110000", "--employer", w.usccs["甲"],
              "--mode", "good_rows")
    assert res["imported"] == 1 and res["bad_row_count"] == 1 and res["bad_rows"][0]["row"] == 3
    (tmp_path / "cols.csv").write_text("身份证,工资\n", encoding="utf-8")
    err = cli(url, "declare", "import", str(tmp_path / "cols.csv"), "--region", "110000", "--employer",
              w.usccs["甲"], code=2)
    assert "cols.csv" in err and "columns expected" in err


def test_declare_payroll_and_audit(world: tuple[World, str]) -> None:
    w, url = world
    for name in ("张三", "李四"):
        cli(url, "declare", "wage", "--person", w.id_numbers[name], "--employer", w.usccs["甲"], "--from",
            "2024-01", "--wage", "10000")
    p = cli(url, "declare", "payroll", "--employer", w.usccs["甲"], "--month", "2024-03", "--total", "25000",
            "--headcount", "3")
    assert p["payroll_total_fen"] == 2_500_000
    a = cli(url, "declare", "audit", "--employer", w.usccs["甲"], "--month", "2024-03")
    # 25000 − 20000 = 5000 yuan under-declared; × 9.8% = 490.00 (400 + 40 + 50)
    assert a["under_declared_yuan"] == "5000.00" and a["contribution_gap_yuan"] == "490.00"
    assert a["headcount_gap"] == 1 and a["employer_rate"] == "9.8%"
    text = cli(url, "declare", "audit", "--employer", w.usccs["甲"], "--month", "2024-03", as_json=False)
    assert "490.00" in text and "under-declared" in text
