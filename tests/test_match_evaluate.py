"""Evaluation of person matching against the synthetic truth (issue 6, yibao match evaluate)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli.match import app
from yibao.errors import YibaoError
from yibao.match import evaluate
from yibao.match.evaluate import evaluate_run, person_matching, scores
from yibao.match.exact import exact_links
from yibao.match.feeds import ingest, load_spec, write
from yibao.match.synthetic import FEEDS, generate


def _truth(rows: list[tuple[str, int, int | None, list[str]]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"feed": pl.String, "source_row": pl.Int64, "person_id": pl.Int64,
                                      "errors": pl.List(pl.String)}, orient="row")


def _links(rows: list[tuple[str, int, int | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"feed": pl.String, "source_row": pl.Int64, "person_id": pl.Int64,
                                      "method": pl.String}, orient="row")


TRUTH = _truth([("a", 1, 1, []), ("a", 2, 2, ["id_typo"]), ("a", 3, None, []), ("a", 4, 5, ["id_typo"]),
                ("a", 5, None, []), ("b", 1, 6, []), ("b", 2, 7, ["name_variant"]), ("b", 3, 8, [])])
LINKS = _links([("a", 1, 1, "exact_id"), ("a", 2, 3, "probabilistic"), ("a", 3, 4, "probabilistic"),
                ("a", 4, None, "none"), ("a", 5, None, "none"), ("b", 1, 6, "exact_id"),
                ("b", 2, 7, "probabilistic")])  # b:3 missing from the run


def test_f1_of_a_hand_computed_example() -> None:
    """TP: a1, b1, b2 = 3. FP: a2 (wrong person), a3 (not in the register) = 2. FN: a2, a4, b3 = 3.
    P = 3/5 = 0.6, R = 3/6 = 0.5, F1 = 2 x 0.6 x 0.5 / 1.1 = 0.545454..."""
    got = person_matching(TRUTH, LINKS)
    assert got["overall"] == {"tp": 3, "fp": 2, "fn": 3, "precision": 0.6, "recall": 0.5, "f1": 0.545455}
    assert got["rows_missing_from_run"] == 1 and got["in_register"] == 6
    assert got["by_feed"]["b"] == {"rows": 3, "tp": 2, "fp": 0, "fn": 1, "precision": 1.0,
                                        "recall": pytest.approx(2 / 3, abs=1e-6), "f1": 0.8}
    typo = got["by_error_type"]["id_typo"]
    assert (typo["tp"], typo["fp"], typo["fn"], typo["precision"]) == (0, 1, 2, 0.0)
    assert got["by_error_type"]["clean"]["rows"] == 5
    assert got["by_method"]["probabilistic"]["fp"] == 2 and got["by_method"]["missing"]["fn"] == 1


def test_scores_never_divide_by_zero() -> None:
    assert scores(0, 0, 0) == {"tp": 0, "fp": 0, "fn": 0, "precision": None, "recall": None, "f1": None}
    assert scores(0, 3, 0)["precision"] == 0.0 and scores(0, 3, 0)["f1"] is None


def test_a_run_with_two_links_for_one_row_is_refused() -> None:
    with pytest.raises(YibaoError) as info:
        person_matching(TRUTH, pl.concat([LINKS, LINKS.head(1)]))
    assert "a:1" in info.value.en


def test_exact_only_run_on_a_world_and_the_extra_section_hook(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    world, run = tmp_path / "world", tmp_path / "run"
    manifest = generate(3_000, 5, world)
    paths = {f: write(ingest(world / manifest["feeds"][f], load_spec(f)), run / "feeds" / f)["rows"]
             for f in FEEDS}
    exact_links(world / "register", paths, run / "links.parquet")
    section = ("worklists", lambda w, r: {"table": [{"worklist": "x", "n": 1}]})
    monkeypatch.setattr(evaluate, "SECTIONS", [section])
    result = CliRunner().invoke(app, ["evaluate", "--world", str(world), "--run", str(run)])
    assert result.exit_code == 0, result.output
    assert "person matching" in result.output and "worklists" in result.output
    saved = json.loads((run / "evaluation.json").read_text(encoding="utf-8"))
    pm = saved["person_matching"]
    assert pm["overall"]["precision"] == 1.0 and pm["overall"]["recall"] < 1.0  # exact links never err
    assert pm["by_error_type"]["clean"]["recall"] == 1.0
    assert pm["by_error_type"]["id_legacy15"]["recall"] == 1.0
    for kind in ("id_typo", "id_transposition", "id_missing"):
        assert pm["by_error_type"][kind]["tp"] == 0  # left for probabilistic linkage
    assert saved["worklists"] == {"table": [{"worklist": "x", "n": 1}]}
    assert saved == evaluate_run(world, run, write=False)


def test_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--world", str(tmp_path), "--run", str(tmp_path)])
    assert result.exit_code == 2 and "file not found" in result.output
