"""The eight worklists of precise enrollment (issue 6, docs/worklists.md).

Most tests run on the hand-made register of ``worklist_fixture.py``: Beijing (110000) as of
2024-12-31, one person per case, each case commented with the worklist it must (or must not) land
on. Amounts are checked against the contribution rules of beijing.yaml (2024-07: floor 6821 yuan,
employer 9.8%, individual 2% + 3 yuan) worked by hand, and against the policy engine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli import _register
from yibao.cli import app as root_app
from yibao.errors import YibaoError
from yibao.match.exact import exact_links
from yibao.match.excel import write_workbook
from yibao.match.feeds import ingest, load_spec, write
from yibao.match.synthetic import FEEDS, generate
from yibao.match.worklists import CODES, compute, load_inputs, write_folder
from yibao.match.worklists.truth import evaluate_worklists

sys.path.insert(0, str(Path(__file__).parent))
import worklist_fixture as fx


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return fx.write(fx.build(), tmp_path_factory.mktemp("worklists"))


@pytest.fixture(scope="module")
def frames(folders: tuple[Path, Path]) -> dict[str, pl.DataFrame]:
    register, run = folders
    result = compute(load_inputs(run, register))
    assert result.skipped == {}
    return result.frames


def listed(frame: pl.DataFrame) -> list[tuple[int | None, str, int]]:
    return sorted(frame.select("person_id", "subtype", "priority").iter_rows(),
                  key=lambda r: (r[0] is None, r[0] or 0, r[1]))


def test_every_worklist_lists_exactly_its_cases(frames: dict[str, pl.DataFrame]) -> None:
    """Who is listed, under which subtype and priority: the cases of worklist_fixture.build()."""
    assert set(frames) == set(CODES)
    assert listed(frames["employed_not_insured"]) == [(4, "resident_instead", 2),
                                                      (None, "not_in_register", 1)]
    assert listed(frames["base_below_wage"]) == [(2, "base_below_wage", 1)]
    assert listed(frames["deceased_enrolled"]) == [(8, "allocations_after_death", 1),
                                                   (10, "still_enrolled", 2), (11, "still_enrolled", 2)]
    assert listed(frames["insured_twice"]) == [(12, "two_regions", 2), (15, "two_schemes", 2)]
    assert listed(frames["interrupted"]) == [(18, "in_service", 2), (25, "in_service", 2)]
    assert listed(frames["flexible_at_risk"]) == [(20, "flexible", 1), (21, "flexible", 2)]
    units = frames["employer_undercount"].sort("priority")
    assert units.select("employer_uscc", "subtype", "taxed_count", "insured_count").rows() == [
        (fx.U3, "not_registered", 1, 0), (fx.U1, "fewer_insured", 4, 3)]


def test_newborns_past_the_deadline_once_each(frames: dict[str, pl.DataFrame]) -> None:
    """91 days listed, 90 days not; a birth sent twice is one row; a child without an ID linked to
    nobody is listed for an identity check; an enrolled child and a child who died are not."""
    births = frames["newborn_not_enrolled"].sort("birth_date")
    assert births.select("birth_date", "days_since_birth", "identity_check").rows() == [
        (fx.dt.date(2024, 7, 1), 183, True), (fx.dt.date(2024, 10, 1), 91, False)]
    assert births["id_number"].to_list() == [None, fx.rid(951, "20241001")]


def test_base_gap_is_priced_by_the_contribution_rules(frames: dict[str, pl.DataFrame]) -> None:
    """Person 2 declared 6000 yuan while taxed on 10000: the declared base is lifted to Beijing's
    floor of 6821 (beijing.yaml, 2024-07), so the gap is (10000 − 6821) × (9.8% + 2%) = 375.12 yuan
    for the month. Person 3 declared 40000 and was taxed on 45000, both above the 35283 cap: no gap,
    not listed. The link of person 2 is probabilistic at 0.80 < 0.95: check the identity first."""
    row = frames["base_below_wage"].row(0, named=True)
    assert row["gap_fen"] == row["amount_fen"] == 37_512
    assert (row["base_declared_fen"], row["base_taxed_fen"]) == (682_100, 1_000_000)
    due, declared = fx.price(202412, 1_000_000, "in_service"), fx.price(202412, 600_000, "in_service")
    assert row["gap_fen"] == due[1] - declared[1]
    assert row["employer_gap_fen"] + row["individual_gap_fen"] == row["gap_fen"]
    assert row["identity_check"] is True and row["link_method"] == "probabilistic"


def test_money_after_death_and_arrears_are_the_registers_own_figures(frames: dict[str, pl.DataFrame]) -> None:
    """Person 8 died 2024-10-15 and paid November and December as a flexible worker; person 18 has
    four unpaid in-service months (Sep–Dec) at the floor: 4 × (6821 × 11.8% + 3) = 3231.52 yuan;
    flexible persons 20 and 21 owe three and two months."""
    dead = frames["deceased_enrolled"].filter(pl.col("person_id") == 8).row(0, named=True)
    flexible_month = fx.price(202411, 744_000, "flexible")[1]
    assert dead["months_after_death"] == 2 and dead["paid_after_death_fen"] == 2 * flexible_month
    interrupted = frames["interrupted"].filter(pl.col("person_id") == 18).row(0, named=True)
    assert interrupted["arrears_fen"] == 4 * 80_788 == 323_152
    assert (interrupted["last_paid_month"], interrupted["unpaid_months"]) == (202408, 4)
    at_risk = {r["person_id"]: r for r in frames["flexible_at_risk"].iter_rows(named=True)}
    assert at_risk[20]["backpay_months_left"] == 1 and at_risk[20]["arrears_fen"] == 3 * flexible_month
    assert at_risk[21]["backpay_months_left"] == 2 and at_risk[21]["arrears_fen"] == 2 * flexible_month


def test_every_row_says_why_what_shows_it_and_what_to_do(frames: dict[str, pl.DataFrame]) -> None:
    for code, frame in frames.items():
        for col in ("reason_zh", "reason_en", "evidence_zh", "evidence_en", "suggested_action_zh",
                    "suggested_action_en", "evidence"):
            assert frame[col].null_count() == 0 and (frame[col].str.len_chars() > 0).all(), (code, col)
        for text in frame["evidence"]:
            json.loads(text)


@pytest.mark.parametrize(("option", "value", "code", "now_listed"), [
    ("newborn_days", 89, "newborn_not_enrolled", fx.rid(950, "20241002")),  # 90 days > 89
    ("interrupted_months", 2, "interrupted", fx.rid(19)),  # 3 unpaid months > 2
])
def test_thresholds_move_the_cut(folders: tuple[Path, Path], option: str, value: int, code: str,
                                 now_listed: str) -> None:
    register, run = folders
    result = compute(load_inputs(run, register), {option: value})
    assert now_listed in result.frames[code]["id_number"].to_list()
    assert result.thresholds[option].value == value


def test_a_worklist_without_its_feed_is_skipped_with_the_reason(folders: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    register, run = folders
    bare = tmp_path / "run"
    (bare / "feeds").mkdir(parents=True)
    links = pl.read_parquet(run / "links.parquet").filter(pl.col("feed") != "tax_wages")
    links.write_parquet(bare / "links.parquet")
    for feed in ("ps_deaths", "ps_births", "other_region_register", "ps_hukou_moves"):
        (bare / "feeds" / feed).symlink_to(run / "feeds" / feed)
    result = compute(load_inputs(bare, register))
    for code in ("employed_not_insured", "employer_undercount", "base_below_wage"):
        assert code not in result.frames and "tax" in result.skipped[code][1]
    assert "deceased_enrolled" in result.frames


def test_unknown_worklist_name_is_refused(folders: tuple[Path, Path]) -> None:
    register, run = folders
    with pytest.raises(YibaoError) as info:
        compute(load_inputs(run, register), only="employed_not_insured,retired_twice")
    assert info.value.field == "only" and "retired_twice" in info.value.bilingual()


def test_exports_mask_ids_unless_asked(folders: tuple[Path, Path], tmp_path: Path) -> None:
    register, run = folders
    result = compute(load_inputs(run, register))
    write_folder(result, tmp_path / "masked")
    write_folder(result, tmp_path / "full", full_ids=True)
    masked = pl.read_parquet(tmp_path / "masked" / "interrupted.parquet")
    full = pl.read_parquet(tmp_path / "full" / "interrupted.parquet")
    assert fx.rid(18) in full["id_number"].to_list() and fx.rid(18) not in masked["id_number"].to_list()
    assert all("*" in v for v in masked["id_number"]) and all("*" in v for v in masked["name"])
    summary = json.loads((tmp_path / "masked" / "summary.json").read_text(encoding="utf-8"))
    assert summary["ids"] == "masked"
    assert {w["worklist"]: w["rows"] for w in summary["worklists"]}["deceased_enrolled"] == 3

    book = write_workbook(result, tmp_path / "worklists.xlsx")
    wb = openpyxl.load_workbook(book, read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    text = json.dumps(sheets, ensure_ascii=False, default=str)
    assert fx.rid(18) not in text and "原因" in text and "建议措施" in text
    assert len(sheets) == 1 + len(CODES)  # the summary sheet and one per worklist
    with pytest.raises(YibaoError):
        write_workbook(result, tmp_path / "worklists.csv")


def test_cli_writes_the_workbook_and_refuses_bad_options(folders: tuple[Path, Path], tmp_path: Path) -> None:
    register, run = folders
    _register()
    base = ["match", "worklist", "--run", str(run), "--register", str(register)]
    ok = CliRunner().invoke(root_app, [*base, "--out", str(tmp_path / "w.xlsx")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "w.xlsx").is_file() and "interrupted" in ok.output
    bad = CliRunner().invoke(root_app, [*base, "--out", str(tmp_path / "x"), "--only", "nope"])
    assert bad.exit_code != 0 and not (tmp_path / "x").exists()


def test_with_perfect_links_every_worklist_matches_the_worlds_truth(tmp_path: Path) -> None:
    """On a synthetic world (docs/match-synthetic.md), worklists built from the true links equal the
    worklists of the uncorrupted world: precision and recall 1 for each. With exact-ID links only,
    recall stays 1 where the list is about registered people, while unlinked rows with corrupted IDs
    show up as 'not in the register' — the precision linkage must win back."""
    world, run = tmp_path / "world", tmp_path / "run"
    manifest = generate(3_000, 5, world)
    paths = {f: write(ingest(world / manifest["feeds"][f], load_spec(f)), run / "feeds" / f)["rows"]
             for f in FEEDS}
    exact_links(world / "register", paths, run / "links.parquet")
    exact = evaluate_worklists(world, run)["by_worklist"]
    assert exact["employed_not_insured"]["recall"] == 1.0 and exact["employed_not_insured"]["precision"] < 0.9

    truth = pl.read_parquet(world / "truth" / "feed_rows.parquet")
    linked = pl.col("person_id").is_not_null()
    truth.select(
        "feed", "source_row", "person_id",
        method=pl.when(linked).then(pl.lit("exact_id")).otherwise(pl.lit("none")),
        match_probability=pl.when(linked).then(1.0),
        match_weight=pl.lit(None, pl.Float64), cluster_id="person_id",
    ).write_parquet(run / "links.parquet")
    perfect = evaluate_worklists(world, run)["by_worklist"]
    for code in CODES:
        assert perfect[code]["true"] > 0, code
        assert (perfect[code]["precision"], perfect[code]["recall"]) == (1.0, 1.0), (code, perfect[code])
