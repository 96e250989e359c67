"""Bulk wage declarations from CSV and Excel files: columns, every bad row, all-or-nothing vs good rows."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_assess_world import BJ, STAFF, World, build, new_id

from yibao.admin.declarations import declare_wage
from yibao.admin.uow import run
from yibao.admin.wage_file import ImportReport, WageFileColumnsError, import_wage_file
from yibao.db.models.audit import AuditEvent
from yibao.db.models.contribution import WageDeclaration
from yibao.errors import InputError


def _csv(path: Path, rows: list[list[object]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _import(engine: Engine, path: Path, w: World, mode: str = "all_or_nothing",
            employer: str | None = "甲") -> ImportReport:
    return run(engine, lambda s: import_wage_file(s, STAFF, path, BJ, w.usccs[employer] if employer else None,
                                                  mode))


def _declared(engine: Engine) -> dict[tuple[int, int], int]:
    with Session(engine) as s:
        return {(p, m): wage for p, m, wage in s.execute(
            select(WageDeclaration.person_id, WageDeclaration.month_from, WageDeclaration.wage_fen))}


def test_wrong_columns_name_the_file_found_and_expected(engine: Engine, tmp_path: Path) -> None:
    w = build(engine)
    path = _csv(tmp_path / "wages.csv", [["身份证", "姓名", "工资", "起始月份"],
                                         [w.id_numbers["张三"], "张三", "8000", "2024-03"]])
    with pytest.raises(WageFileColumnsError) as e:
        _import(engine, path, w)
    msg = e.value
    assert "wages.csv" in msg.zh and "wages.csv" in msg.en
    assert "'身份证'" in msg.zh and "'工资'" in msg.en  # columns found
    assert "证件号码" in msg.zh and "缴费工资" in msg.zh  # expected (Chinese)
    assert "id_number" in msg.en and "wage" in msg.en and "missing column(s) id_number, wage" in msg.en
    assert _declared(engine) == {}


def test_missing_uscc_column_without_employer_option(engine: Engine, tmp_path: Path) -> None:
    w = build(engine)
    path = _csv(tmp_path / "w.csv", [["id_number", "name", "wage", "month_from"]])
    with pytest.raises(WageFileColumnsError) as e:
        _import(engine, path, w, employer=None)
    assert "--employer" in e.value.en


def test_good_csv_with_english_headers_and_uscc_column(engine: Engine, tmp_path: Path) -> None:
    w = build(engine)
    path = _csv(tmp_path / "w.csv", [
        ["No", "ID_Number", "Name", "Wage", "Month_From", "USCC"],
        [1, w.id_numbers["张三"], "张三", "8,000.00", "202403", w.usccs["甲"]],
        [2, w.id_numbers["李四"].lower(), " 李四 ", "1.2万", "2024年3月", w.usccs["甲"]],
        [],  # blank lines are skipped
        [3, w.id_numbers["钱七"], "钱七", "6000", "2024-03", w.usccs["乙"]],
    ])
    report = _import(engine, path, w, employer=None)
    assert report.ok and report.rows == 3 and report.imported == 3
    assert _declared(engine) == {(w.persons["张三"], 202403): 800000, (w.persons["李四"], 202403): 1200000,
                                 (w.persons["钱七"], 202403): 600000}


def test_gbk_csv_from_chinese_excel(engine: Engine, tmp_path: Path) -> None:
    w = build(engine)
    path = _csv(tmp_path / "gbk.csv", [["证件号码", "姓名", "缴费工资", "起始月份"],
                                       [w.id_numbers["张三"], "张三", "8000", "2024-03"]], encoding="gb18030")
    assert _import(engine, path, w).imported == 1


def test_xlsx_with_typed_cells(engine: Engine, tmp_path: Path) -> None:
    import datetime as dt

    w = build(engine)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["证件号码", "姓名", "缴费工资（元）", "起始月份"])
    ws.append([w.id_numbers["张三"], "张三", 8000.5, dt.datetime(2024, 3, 1)])  # number and date cells
    ws.append([w.id_numbers["李四"], "李四", 9000, 202403])
    path = tmp_path / "wages.xlsx"
    wb.save(path)
    report = _import(engine, path, w)
    assert report.ok and report.imported == 2
    assert _declared(engine)[(w.persons["张三"], 202403)] == 800050


def _bad_file(tmp_path: Path, w: World) -> Path:
    bad_check = w.id_numbers["张三"][:17] + ("0" if w.id_numbers["张三"][17] != "0" else "1")
    unregistered = new_id(__import__("datetime").date(1970, 1, 1))
    return _csv(tmp_path / "mixed.csv", [
        ["证件号码", "姓名", "缴费工资", "起始月份"],
        [w.id_numbers["张三"], "张三", "8000", "2024-03"],  # 2: good
        [bad_check, "张三", "8000", "2024-03"],  # 3: checksum
        [unregistered, "某人", "8000", "2024-03"],  # 4: not registered
        [w.id_numbers["李四"], "李五", "8000", "2024-03"],  # 5: name does not match
        [w.id_numbers["李四"], "李四", "-5", "2024-13"],  # 6: wage and month both bad
        [w.id_numbers["钱七"], "钱七", "8000", "2024-03"],  # 7: works for 乙, not 甲
        [w.id_numbers["张三"], "张三", "8100", "2024-03"],  # 8: duplicate of row 2
        [w.id_numbers["李四"], "李四", "7000", "2024-01"],  # 9: duplicate of the database
        [w.id_numbers["李四"], "李四", "9000", "2024-04"],  # 10: good
    ])


def _seed_existing(engine: Engine, w: World) -> None:
    run(engine, lambda s: declare_wage(s, STAFF, BJ, w.persons["李四"], "employer", w.employers["甲"], 202401,
                                       650000))


def test_all_or_nothing_reports_every_bad_row_and_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    w = build(engine)
    _seed_existing(engine, w)
    report = _import(engine, _bad_file(tmp_path, w), w)
    got = {(b.row, b.field) for b in report.bad_rows}
    assert got == {(3, "id_number"), (4, "id_number"), (5, "name"), (6, "wage"), (6, "month_from"),
                   (7, "month_from"), (8, "month_from"), (9, "month_from")}
    assert report.bad_row_numbers == [3, 4, 5, 6, 7, 8, 9] and report.imported == 0 and report.rows == 9
    by = {(b.row, b.field): b for b in report.bad_rows}
    assert "check character" in by[3, "id_number"].en
    assert "not in the register" in by[4, "id_number"].en and "*" in by[4, "id_number"].value
    assert by[5, "name"].value == "李*" and "李*" in by[5, "name"].zh  # names masked
    assert by[6, "wage"].value == "-5" and "negative" in by[6, "wage"].en
    assert "YYYYMM" in by[6, "month_from"].en
    assert "in-service enrollment" in by[7, "month_from"].en
    assert "row 2" in by[8, "month_from"].en and "第 2 行" in by[8, "month_from"].zh
    assert "already exists" in by[9, "month_from"].en and "6500.00" in by[9, "month_from"].en
    assert _declared(engine) == {(w.persons["李四"], 202401): 650000}  # only the one declared before
    with Session(engine) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "wage_declaration.import")).one()
        assert ev.outcome == "refused"


def test_good_rows_mode_imports_only_the_good_rows(engine: Engine, tmp_path: Path) -> None:
    w = build(engine)
    _seed_existing(engine, w)
    report = _import(engine, _bad_file(tmp_path, w), w, mode="good_rows")
    assert report.imported == 2 and len(report.bad_row_numbers) == 7
    assert _declared(engine) == {(w.persons["李四"], 202401): 650000, (w.persons["张三"], 202403): 800000,
                                 (w.persons["李四"], 202404): 900000}
    # the same file again: every row is now a duplicate (or bad), nothing more is imported
    again = _import(engine, _bad_file(tmp_path, w), w, mode="good_rows")
    assert again.imported == 0 and 2 in again.bad_row_numbers and 10 in again.bad_row_numbers
    assert len(_declared(engine)) == 3


def test_import_refuses_bad_arguments(engine: Engine, tmp_path: Path) -> None:
    w = build(engine)
    path = _csv(tmp_path / "w.csv", [["证件号码", "姓名", "缴费工资", "起始月份"]])
    with pytest.raises(InputError) as e:
        _import(engine, path, w, mode="some")
    assert e.value.field == "mode"
    with pytest.raises(InputError) as e:
        run(engine, lambda s: import_wage_file(s, STAFF, path, BJ, "91110000600037341X"))
    assert e.value.field == "employer"
    with pytest.raises(InputError) as e:
        _import(engine, tmp_path / "none.csv", w)
    assert e.value.field == "file"
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(InputError) as e:
        _import(engine, tmp_path / "w.txt", w)
    assert ".xlsx" in e.value.en
    assert _import(engine, path, w).rows == 0  # header only: nothing to do, not an error
