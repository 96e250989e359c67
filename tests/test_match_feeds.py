"""Department feeds for precise enrollment (DOMAIN.md §8, issue 6): every row judged, none dropped."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from yibao.cli.match import app
from yibao.errors import YibaoError
from yibao.ids import synthetic_resident_id
from yibao.match.feeds import FeedSpec, ingest, load_spec, shipped_specs, write

USCC = "91350100M000100Y43"  # valid (GB 32100-2015 check characters)
HEADER = ["公民身份号码", "姓名", "纳税人识别号", "所属期", "应发工资"]


def _id(seed: int, born: dt.date = dt.date(1990, 5, 17)) -> str:
    return synthetic_resident_id(random.Random(seed), born, "female")


def _legacy(number: str) -> str:
    """The 15-digit form of an 18-digit number of someone born in the 1900s (DOMAIN.md §8.x)."""
    return number[:6] + number[8:17]


def _rows() -> list[list[str]]:
    good = _id(1)
    return [
        [good, "張偉", USCC, "2024-03", "8500.50"],          # good
        [good[:-1] + ("0" if good[-1] != "0" else "1"), "李娜", USCC, "2024-03", "9000"],  # checksum
        [_id(2), "曾小明", "BADCODE", "202403", "1,234.5元"],  # bad credit code
        [_id(3), "欧阳修", USCC, "二〇二四年三月", "-1"],     # negative wage
        [_id(4), "王芳", USCC, "2024-13", "abc"],             # bad month and wage
        [_legacy(_id(5)), "赵雷", USCC, "2024年3月", "1.2万"],  # legacy ID, good
    ]


def _csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    lines = [",".join(HEADER)] + [",".join(f'"{c}"' for c in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def _check(result_rows: pl.DataFrame, bad: pl.DataFrame) -> None:
    assert result_rows["source_row"].to_list() == [1, 6]
    assert result_rows["name"].to_list() == ["张伟", "赵雷"]
    assert result_rows["wage_fen"].to_list() == [850050, 1200000]
    assert result_rows["month"].to_list() == [dt.date(2024, 3, 1)] * 2
    assert result_rows["id_number"].to_list() == [_id(1), _id(5)]  # legacy 15 → 18 digits
    assert sorted(set(bad["source_row"].to_list())) == [2, 3, 4, 5]
    fields = {(r, f) for r, f in bad.select("source_row", "field").iter_rows()}
    assert fields == {(2, "id_number"), (3, "employer_uscc"), (4, "wage_yuan"), (5, "month"),
                      (5, "wage_yuan")}
    neg = bad.filter(pl.col("source_row") == 4)
    assert neg["reason_en"].to_list() == ["the amount may not be negative"]
    assert bad.filter(pl.col("source_row") == 2)["reason_zh"].item() == "校验码不符"


def test_csv_utf8(tmp_path: Path) -> None:
    res = ingest(_csv(tmp_path / "wages.csv", _rows()), load_spec("tax_wages"))
    _check(res.rows, res.bad)
    assert res.input_rows == 6


def test_csv_gb18030(tmp_path: Path) -> None:
    res = ingest(_csv(tmp_path / "wages.csv", _rows(), "gb18030"), load_spec("tax_wages"))
    _check(res.rows, res.bad)


def test_xlsx(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in _rows():
        sheet.append(r)
    path = tmp_path / "wages.xlsx"
    book.save(path)
    res = ingest(path, load_spec("tax_wages"))
    _check(res.rows, res.bad)


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "wages.parquet"
    pl.DataFrame([pl.Series(h, [r[i] for r in _rows()]) for i, h in enumerate(HEADER)]).write_parquet(path)
    res = ingest(path, load_spec("tax_wages"))
    _check(res.rows, res.bad)


def test_missing_column_names_found_and_expected(tmp_path: Path) -> None:
    path = tmp_path / "wages.csv"
    path.write_text("公民身份号码,姓名,所属期\n" + f"{_id(1)},张伟,2024-03\n", encoding="utf-8")
    with pytest.raises(YibaoError) as info:
        ingest(path, load_spec("tax_wages"))
    err = info.value
    assert "wages.csv" in err.zh and "wages.csv" in err.en
    assert "纳税人识别号 或 统一社会信用代码" in err.zh and "应发工资" in err.zh
    assert "Columns found: 公民身份号码, 姓名, 所属期" in err.en


def test_births_feed_dates_and_sex(tmp_path: Path) -> None:
    path = tmp_path / "births.csv"
    path.write_text("公民身份号码,姓名,性别,出生日期\n"
                    f"{_id(7, dt.date(2024, 3, 5))},張小寶,女,二〇二四年三月五日\n"
                    f"{_id(8, dt.date(2024, 3, 5))},李小龙,9,2024/3/5\n", encoding="utf-8")
    res = ingest(path, load_spec("ps_births"))
    assert res.rows.select("name", "sex", "birth_date").rows() == [("张小宝", "female", dt.date(2024, 3, 5))]
    assert res.bad.select("source_row", "field").rows() == [(2, "sex")]


def test_write_and_summary(tmp_path: Path) -> None:
    res = ingest(_csv(tmp_path / "wages.csv", _rows()), load_spec("tax_wages"))
    paths = write(res, tmp_path / "out")
    assert pl.read_parquet(paths["rows"]).height == 2
    assert pl.read_parquet(paths["bad_rows"]).height == 5
    summary = json.loads(Path(paths["summary"]).read_text(encoding="utf-8"))
    assert (summary["input_rows"], summary["good_rows"], summary["bad_rows"]) == (6, 2, 4)


def test_shipped_specs_are_closed() -> None:
    assert len(shipped_specs()) == 10
    with pytest.raises(ValueError):
        FeedSpec.model_validate({"name": "x", "department": "tax", "kind": "tax_wages",
                                 "columns": {"a": "id_number"}, "extra": 1})
    with pytest.raises(YibaoError):
        load_spec("no_such_spec")


def test_cli_ingest_and_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    path = _csv(tmp_path / "wages.csv", _rows())
    ok = runner.invoke(app, ["ingest", "tax_wages", str(path), "--out", str(tmp_path / "o"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["bad_rows"] == 4
    bad = runner.invoke(app, ["ingest", "tax_wages", str(tmp_path / "nope.csv"), "--out", str(tmp_path)])
    assert bad.exit_code == 2
    assert "找不到文件" in bad.output and "file not found" in bad.output
    listed = runner.invoke(app, ["specs", "--json"])
    assert listed.exit_code == 0 and "tax_wages" in listed.output


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000),
                          st.sampled_from(["ok", "legacy", "checksum", "short", "blank"]),
                          st.sampled_from(["8500", "-3", "x", "12.345", ""])), max_size=30))
def test_every_row_is_kept_or_reported(tmp_path_factory: pytest.TempPathFactory,
                                       mix: list[tuple[int, str, str]]) -> None:
    rows = []
    for seed, kind, wage in mix:
        number = _id(seed)
        cell = {"ok": number, "legacy": _legacy(number), "blank": "", "short": number[:10],
                "checksum": number[:-1] + ("1" if number[-1] != "1" else "2")}[kind]
        rows.append([cell, "张三", USCC, "2024-03", wage])
    path = _csv(tmp_path_factory.mktemp("mix") / "wages.csv", rows)
    res = ingest(path, load_spec("tax_wages"))
    assert res.rows.height + res.bad_row_count() == len(rows)
    assert set(res.rows["source_row"].to_list()).isdisjoint(res.bad["source_row"].to_list())
    expected_good = sum(k in ("ok", "legacy") and w in ("8500",) for _, k, w in mix)
    assert res.rows.height == expected_good
    assert all(len(n) == 18 for n in res.rows["id_number"].to_list())
