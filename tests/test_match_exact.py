"""Exact matching on the canonical ID (issue 6): what matches, how, and what is left for linkage."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import polars as pl
import pytest

from yibao.errors import YibaoError
from yibao.ids import synthetic_resident_id
from yibao.match.exact import LINK_SCHEMA, exact_links, exact_links_frame
from yibao.match.feeds import ingest, load_spec, write
from yibao.match.synthetic import FEEDS, ID_UNUSABLE, generate
from yibao.match.synthetic.register import write_table

BORN = dt.date(1968, 7, 9)


def _id(seed: int) -> str:
    return synthetic_resident_id(random.Random(seed), BORN, "male", "110105")


def _register(folder: Path, ids: list[str], person_ids: list[int] | None = None) -> Path:
    n = len(ids)
    frame = pl.DataFrame({
        "person_id": person_ids or list(range(101, 101 + n)), "id_number": ids, "id_kind": ["resident"] * n,
        "name": ["张三"] * n, "sex": ["male"] * n, "birth_date": [BORN] * n, "hukou_region": ["110105"] * n,
        "residence_region": ["110105"] * n, "death_date": pl.Series([None] * n, dtype=pl.Date)})
    folder.mkdir(parents=True, exist_ok=True)
    write_table(frame, folder / "persons.parquet", "persons")
    return folder


def _feed(tmp: Path, ids: list[str]) -> pl.DataFrame:
    path = tmp / "deaths.csv"
    lines = "".join(f"{i},张三,2024-05-01\n" for i in ids)
    path.write_text("公民身份号码,姓名,死亡日期\n" + lines, encoding="utf-8")
    result = ingest(path, load_spec("ps_deaths"))
    assert result.bad_row_count() == 0
    return result.rows


def test_valid_legacy_transposed_and_unknown_ids(tmp_path: Path) -> None:
    a, b, c = _id(1), _id(2), _id(3)
    swapped = a[:15] + a[16] + a[15] + a[17] if a[15] != a[16] else a[:14] + a[15] + a[14] + a[16:]
    legacy = b[:6] + b[8:17]  # the 15-digit form of b (DOMAIN.md §8.x)
    stranger = _id(4)
    reg = _register(tmp_path / "reg", [a, b, c])
    rows = _feed(tmp_path, [a, swapped, legacy, "", stranger, f" {c} "])
    links = exact_links_frame(reg, {"ps_deaths": rows}, tmp_path / "work")
    assert links.schema == pl.Schema(LINK_SCHEMA)
    got = links.select("source_row", "person_id", "method", "match_probability", "cluster_id").rows()
    assert got == [(1, 101, "exact_id", 1.0, 101),
                   (2, None, "none", None, None),   # a transposed digit is never matched exactly...
                   (3, 102, "exact_id_legacy15", 1.0, 102),
                   (4, None, "none", None, None),
                   (5, None, "none", None, None),   # valid, but not in the register
                   (6, 103, "exact_id", 1.0, 103)]
    assert rows.filter(pl.col("source_row") == 2)["id_problem"].item() == "bad_checksum"  # ...but reported
    assert links["match_weight"].null_count() == links.height


def test_foreign_2017_ids_join_as_text(tmp_path: Path) -> None:
    foreign = "KAZ110090123105"  # the official example, 15 characters with letters
    reg = _register(tmp_path / "reg", [foreign, _id(1)])
    rows = _feed(tmp_path, [foreign, _id(1)])
    links = exact_links_frame(reg, {"ps_deaths": rows}, tmp_path / "work")
    assert links.select("person_id", "method").rows() == [(101, "exact_id"), (102, "exact_id")]


def test_register_with_a_duplicated_id_is_counted_not_doubled(tmp_path: Path) -> None:
    a = _id(1)
    reg = _register(tmp_path / "reg", [a, a, _id(2)], [7, 5, 9])
    rows = _feed(tmp_path, [a])
    feed = ingest(tmp_path / "deaths.csv", load_spec("ps_deaths"))
    paths = {"ps_deaths": write(feed, tmp_path / "f")["rows"]}
    result = exact_links(reg, paths, tmp_path / "links.parquet")
    assert result.register_duplicate_ids == 1 and result.rows == rows.height == 1
    assert pl.read_parquet(result.links)["person_id"].to_list() == [5]
    assert result.counts == {"ps_deaths": {"exact_id": 1}}


def test_bad_register_or_feed_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(YibaoError) as info:
        exact_links(tmp_path, {"x": tmp_path / "x.parquet"}, tmp_path / "l.parquet")
    assert "persons.parquet" in info.value.en
    reg = _register(tmp_path / "reg", [_id(1)])
    pl.DataFrame({"source_row": [1]}).write_parquet(tmp_path / "x.parquet")
    with pytest.raises(YibaoError) as info:
        exact_links(reg, {"x": tmp_path / "x.parquet"}, tmp_path / "l.parquet")
    assert "missing columns id_number" in info.value.en


def test_on_a_synthetic_world_exact_links_are_right_and_complete(tmp_path: Path) -> None:
    """Every exact link names the true person; every usable ID of a registered person is linked."""
    world = tmp_path / "world"
    manifest = generate(4_000, 11, world)
    paths = {f: write(ingest(world / manifest["feeds"][f], load_spec(f)), tmp_path / "run" / f)["rows"]
             for f in FEEDS}
    result = exact_links(world / "register", paths, tmp_path / "run" / "links.parquet")
    truth = pl.read_parquet(world / "truth" / "feed_rows.parquet")
    links = pl.read_parquet(result.links)
    assert links.height == truth.height == result.rows
    j = truth.join(links, on=["feed", "source_row"], suffix="_link")
    linked = j.filter(pl.col("person_id_link").is_not_null())
    assert (linked["person_id_link"] == linked["person_id"]).all()
    usable = ~j["errors"].list.eval(pl.element().is_in(list(ID_UNUSABLE))).list.any()
    should = j.filter(usable & pl.col("person_id").is_not_null())
    assert should["person_id_link"].null_count() == 0
    legacy = j.filter(pl.col("errors").list.contains("id_legacy15") & pl.col("person_id").is_not_null())
    assert legacy.height > 0 and (legacy["method"] == "exact_id_legacy15").all()
    json.dumps(result.counts)  # the counts are plain data for the run manifest


def test_bench_match_quick_agrees_with_pandas(tmp_path: Path) -> None:
    """The benchmark's own check: DuckDB and the pandas peer find the same matches (no timing)."""
    from typer.testing import CliRunner

    from yibao.cli.bench import app as bench_app

    out = CliRunner().invoke(bench_app, ["match", "--quick", "--rows", "5000", "--sample", "5000",
                                         "--workdir", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout)["rows"][0]
    assert row["part"] == "exact" and row["rows"] == 5000
    assert 0.80 * 5000 < row["matched"] < 0.90 * 5000  # 90% register persons, 5% without a usable ID
