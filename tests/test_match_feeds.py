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
    # row 2's ID fails its checksum: the row is kept for linkage, without an id_number
    assert result_rows["source_row"].to_list() == [1, 2, 6]
    assert result_rows["name"].to_list() == ["张伟", "李娜", "赵雷"]
    assert result_rows["wage_fen"].to_list() == [850050, 900000, 1200000]
    assert result_rows["month"].to_list() == [dt.date(2024, 3, 1)] * 3
    assert result_rows["id_number"].to_list() == [_id(1), None, _id(5)]  # legacy 15 → 18 digits
    assert result_rows["id_raw"].to_list() == [_id(1), _rows()[1][0], _legacy(_id(5))]
    assert result_rows["id_problem"].to_list() == [None, "bad_checksum", None]
    errors = bad.filter(pl.col("severity") == "error")
    assert sorted(set(errors["source_row"].to_list())) == [3, 4, 5]
    fields = {(r, f, s) for r, f, s in bad.select("source_row", "field", "severity").iter_rows()}
    assert fields == {(2, "id_number", "warning"), (3, "employer_uscc", "error"), (4, "wage_yuan", "error"),
                      (5, "month", "error"), (5, "wage_yuan", "error")}
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


def test_empty_or_invalid_id_keeps_the_row_for_linkage(tmp_path: Path) -> None:
    """A newborn without an ID yet, or a mistyped ID: the row stays (id_number null) and is warned."""
    good = _id(9, dt.date(2024, 3, 5))
    swapped = good[:10] + good[11] + good[10] + good[12:]  # month digits transposed: 03 → 30
    path = tmp_path / "births.csv"
    path.write_text("公民身份号码,姓名,性别,出生日期\n"
                    f",王小明,男,2024-03-05\n"
                    f"{swapped},刘小红,女,2024-03-05\n"
                    f"{good[:16]},陈小刚,男,2024-03-05\n"
                    f"{good},周小丽,女,\n", encoding="utf-8")
    res = ingest(path, load_spec("ps_births"))
    assert res.rows.select("source_row", "id_number", "id_raw", "id_problem").rows() == [
        (1, None, None, "empty"), (2, None, swapped, "impossible_date"), (3, None, good[:16], "bad_length")]
    assert res.bad.select("source_row", "field", "severity").rows() == [
        (1, "id_number", "warning"), (2, "id_number", "warning"), (3, "id_number", "warning"),
        (4, "birth_date", "error")]
    assert (res.bad_row_count(), res.id_warning_count()) == (1, 3)
    assert res.summary()["rows_with_unusable_id"] == 3


def test_write_and_summary(tmp_path: Path) -> None:
    res = ingest(_csv(tmp_path / "wages.csv", _rows()), load_spec("tax_wages"))
    paths = write(res, tmp_path / "out")
    assert pl.read_parquet(paths["rows"]).height == 3
    assert pl.read_parquet(paths["bad_rows"]).height == 5
    summary = json.loads(Path(paths["summary"]).read_text(encoding="utf-8"))
    assert (summary["input_rows"], summary["good_rows"], summary["bad_rows"]) == (6, 3, 3)
    assert summary["rows_with_unusable_id"] == 1


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
    assert json.loads(ok.output)["bad_rows"] == 3
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
    errors = res.bad.filter(pl.col("severity") == "error")
    assert set(res.rows["source_row"].to_list()).isdisjoint(errors["source_row"].to_list())
    assert res.rows.height == sum(w == "8500" for _, _, w in mix)  # an unusable ID never drops a row
    valid = res.rows.filter(pl.col("id_problem").is_null())
    assert valid.height == sum(k in ("ok", "legacy") and w == "8500" for _, k, w in mix)
    assert all(len(n) == 18 for n in valid["id_number"].to_list())
    assert res.rows.filter(pl.col("id_problem").is_not_null())["id_number"].null_count() == \
        res.rows.height - valid.height
    warned = res.bad.filter(pl.col("severity") == "warning")["source_row"].to_list()
    assert sorted(warned) == sorted(i + 1 for i, (_, k, _) in enumerate(mix) if k not in ("ok", "legacy"))
