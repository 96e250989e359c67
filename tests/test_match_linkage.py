"""Probabilistic linkage (issue 6): rows without a usable ID found by name, birth date and the rest.

A synthetic world (docs/match-synthetic.md) trains the model by itself and is scored against its
truth; hand-made cases then check, with that trained model, what a clerk would decide by eye.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from worklist_fixture import rid
from yibao.cli.match import app
from yibao.errors import YibaoError
from yibao.match.evaluate import evaluate_run
from yibao.match.feeds import load_spec
from yibao.match.linkage import best_links, linkage_settings, prepare_feed
from yibao.match.run import FeedInput, feeds_of_world, run_match
from yibao.match.synthetic import generate
from yibao.match.synthetic.register import write_table

BORN = dt.date(1980, 1, 1)


@pytest.fixture(scope="module")
def world_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("linkage")
    world, run = base / "world", base / "run"
    generate(6_000, 31, world)
    register, feeds = feeds_of_world(world)
    run_match(register, feeds, run)
    return world, run


def test_linkage_finds_the_rows_exact_matching_cannot(world_run: tuple[Path, Path]) -> None:
    world, run = world_run
    result = evaluate_run(world, run, write=False)
    pm = result["person_matching"]
    assert pm["overall"]["f1"] >= 0.99
    assert pm["by_method"]["probabilistic"]["precision"] >= 0.98
    # a typo or a transposition leaves 17 of 18 characters: nearly all of those rows are found
    for kind in ("id_typo", "id_transposition"):
        assert pm["by_error_type"][kind]["recall"] >= 0.97, kind
    # exact matching alone finds none of them (docs/match-synthetic.md)
    assert pm["by_error_type"]["id_missing"]["recall"] >= 0.8
    assert pm["by_error_type"]["clean"]["precision"] == 1.0
    # ~200 rows to link: too few to train, so the reference model with this run's own prior
    stage = json.loads((run / "run.json").read_text(encoding="utf-8"))["stages"]["linkage"]
    assert stage["model"] == "reference" and stage["candidates"] < linkage_settings().training.min_rows
    sweep = result["threshold_sweep"]
    assert sweep["threshold_used"] == linkage_settings().threshold
    assert [r["threshold"] for r in sweep["table"]] == sorted(r["threshold"] for r in sweep["table"])


def test_the_links_file_has_one_row_per_feed_row(world_run: tuple[Path, Path]) -> None:
    world, run = world_run
    links = pl.read_parquet(run / "links.parquet")
    truth = pl.read_parquet(world / "truth" / "feed_rows.parquet")
    assert links.height == truth.height
    assert links.select("feed", "source_row").is_duplicated().sum() == 0
    prob = links.filter(pl.col("method") == "probabilistic")
    assert prob.height > 0
    assert prob["match_probability"].min() >= linkage_settings().threshold  # type: ignore[operator]
    assert (prob["cluster_id"] == prob["person_id"]).all()
    # unlinked rows carrying one valid ID form one negative cluster (one unregistered person)
    rows = pl.concat([pl.read_parquet(p, columns=["source_row", "id_number"]).with_columns(
        pl.lit(p.parent.name).alias("feed")) for p in (run / "feeds").glob("*/rows.parquet")])
    stray = links.filter(pl.col("person_id").is_null()).join(rows, on=["feed", "source_row"])
    with_id = stray.filter(pl.col("id_number").is_not_null())
    assert (with_id["cluster_id"] < 0).all()
    assert with_id.group_by("id_number").agg(pl.col("cluster_id").n_unique())["cluster_id"].max() == 1
    assert stray.filter(pl.col("id_number").is_null())["cluster_id"].is_null().all()


# ---- hand-made cases, scored by the model trained on the world ----------------------------------

def _person(pid: int, name: str, born: dt.date, sex: str, n: int) -> dict[str, object]:
    return {"person_id": pid, "id_number": rid(n, born.strftime("%Y%m%d")), "id_kind": "resident",
            "name": name, "sex": sex, "birth_date": born, "hukou_region": "110105",
            "residence_region": "110105", "death_date": None}


def test_hand_cases_with_the_trained_model(world_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, run = world_run
    twins = dt.date(1992, 6, 18)
    people = [
        _person(1, "沈建国", BORN, "male", 11),      # typo in the ID
        _person(2, "张丽华", dt.date(1975, 3, 2), "female", 12),  # traditional name, no ID
        _person(3, "王伟", dt.date(1990, 5, 5), "male", 13),      # a namesake of the row below
        _person(4, "李明", twins, "male", 14),       # twins: same surname and birth date
        _person(5, "李亮", twins, "male", 15),
        _person(6, "刘洋", dt.date(1985, 8, 8), "male", 16),      # two register persons fit one row
        _person(7, "刘洋", dt.date(1985, 8, 8), "male", 17),
    ]
    reg = tmp_path / "register"
    reg.mkdir()
    frame = pl.DataFrame(people, schema_overrides={"death_date": pl.Date})
    write_table(frame, reg / "persons.parquet", "persons")
    good = str(people[0]["id_number"])
    typo = good[:9] + ("0" if good[9] != "0" else "1") + good[10:]
    feed = tmp_path / "other.csv"
    feed.write_text(
        "公民身份号码,姓名,性别,出生日期,参保地区划代码\n"
        f"{typo},沈建国,男,1980-01-01,110105\n"        # 1 → person 1
        ",張麗華,女,1975年3月2日,110105\n"              # 2 → person 2
        ",王伟,男,1961-11-30,110105\n"                  # 3 → nobody: same name, another birth date
        ",李亮,男,1992-06-18,110105\n"                  # 4 → person 5, not his twin brother
        ",李明,男,1992-06-18,110105\n"                  # 5 → person 4
        ",刘洋,男,1985-08-08,110105\n"                  # 6 → nobody: persons 6 and 7 fit equally
        f"{rid(99, '19700101')},赵强,男,1970-01-01,110105\n",  # 7 → a valid ID not in the register
        encoding="utf-8")
    out = tmp_path / "run"
    run_match(reg, [FeedInput("other_region_register", load_spec("other_region_register"), feed)], out,
              model=run / "linkage" / "model.json")
    links = pl.read_parquet(out / "links.parquet").sort("source_row")
    got = dict(zip(links["source_row"], links["person_id"], strict=True))
    assert got == {1: 1, 2: 2, 3: None, 4: 5, 5: 4, 6: None, 7: None}
    methods = dict(zip(links["source_row"], links["method"], strict=True))
    assert methods[1] == methods[2] == methods[4] == methods[5] == "probabilistic"
    state = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert state["stages"]["linkage"]["ambiguous"] == 1  # row 6
    assert state["stages"]["linkage"]["candidates"] == 6  # row 7 has a valid ID: not a candidate


# ---- resuming ---------------------------------------------------------------------------------

def test_a_run_resumes_and_redoes_only_what_changed(world_run: tuple[Path, Path], tmp_path: Path) -> None:
    world, first = world_run
    register, feeds = feeds_of_world(world)
    seen: list[str] = []
    state_before = json.loads((first / "run.json").read_text(encoding="utf-8"))
    run_match(register, feeds, first, progress=seen.append)
    assert json.loads((first / "run.json").read_text(encoding="utf-8"))["stages"] == state_before["stages"]
    # a run cut off before its last stage: only that stage is done again
    (first / "links.parquet").unlink()
    run_match(register, feeds, first)
    after = json.loads((first / "run.json").read_text(encoding="utf-8"))["stages"]
    assert after["linkage"] == state_before["stages"]["linkage"]
    assert after["links"]["by_method"] == state_before["stages"]["links"]["by_method"]
    # a changed feed file redoes its ingest and what follows, not the other feeds
    deaths = next(f for f in feeds if f.name == "ps_deaths")
    changed = tmp_path / "ps_deaths.csv"
    data = deaths.file.read_bytes()
    changed.write_bytes(data + data.rstrip(b"\r\n").splitlines()[-1] + b"\n")  # the last row sent twice
    moved = [FeedInput(f.name, f.spec, changed) if f.name == "ps_deaths" else f for f in feeds]
    out = tmp_path / "run"
    run_match(register, feeds, out)
    base = json.loads((out / "run.json").read_text(encoding="utf-8"))["stages"]
    run_match(register, moved, out)
    redo = json.loads((out / "run.json").read_text(encoding="utf-8"))["stages"]
    assert redo["ingest:tax_wages"] == base["ingest:tax_wages"]
    assert redo["ingest:ps_deaths"]["fingerprint"] != base["ingest:ps_deaths"]["fingerprint"]
    rows_then = base["ingest:ps_deaths"]["summary"]["input_rows"]
    assert redo["ingest:ps_deaths"]["summary"]["input_rows"] == rows_then + 1
    assert redo["exact"]["fingerprint"] != base["exact"]["fingerprint"]
    assert seen[-1] == "links"


def test_fresh_starts_over(world_run: tuple[Path, Path], tmp_path: Path) -> None:
    world, _ = world_run
    register, feeds = feeds_of_world(world)
    deaths = [f for f in feeds if f.name == "ps_deaths"]
    out = tmp_path / "run"
    run_match(register, deaths, out)
    (out / "stray.txt").write_text("x", encoding="utf-8")
    run_match(register, deaths, out, fresh=True)
    assert not (out / "stray.txt").exists() and (out / "links.parquet").is_file()


# ---- choosing links -----------------------------------------------------------------------------

pair = st.tuples(st.integers(1, 6), st.integers(100, 106), st.floats(-20, 30, allow_nan=False))


@settings(max_examples=80, deadline=None)
@given(st.lists(pair, min_size=1, max_size=40, unique_by=lambda p: (p[0], p[1])), st.booleans())
def test_best_links_picks_one_person_per_row_whatever_the_pair_order(pairs: list[tuple[int, int, float]],
                                                                    flip: bool) -> None:
    cfg = linkage_settings()
    rows = [{"source_dataset_l": "register", "unique_id_l": p, "source_dataset_r": "feed", "unique_id_r": u,
             "match_weight": w, "match_probability": 2**w / (1 + 2**w)} for u, p, w in pairs]
    if flip:  # Splink may put either dataset on the left
        rows = [{"source_dataset_l": "feed", "unique_id_l": r["unique_id_r"], "source_dataset_r": "register",
                 "unique_id_r": r["unique_id_l"], "match_weight": r["match_weight"],
                 "match_probability": r["match_probability"]} for r in reversed(rows)]
    best = best_links(pl.DataFrame(rows), cfg)
    assert best["unique_id"].is_unique().all()
    assert set(best["unique_id"]) == {u for u, _, _ in pairs}
    for r in best.iter_rows(named=True):
        mine = sorted(((w, -p) for u, p, w in pairs if u == r["unique_id"]), reverse=True)
        assert r["match_weight"] == mine[0][0]
        clear = len(mine) == 1 or mine[0][0] - mine[1][0] >= cfg.margin
        assert r["linked"] == (r["match_probability"] >= cfg.threshold and clear)


def test_rows_with_a_valid_id_are_never_linkage_candidates(tmp_path: Path) -> None:
    rows = pl.DataFrame({"source_row": [1, 2, 3], "id_number": [rid(1), None, None],
                         "id_raw": [rid(1), "11010519800101001", None], "name": ["甲", "乙", "丙"],
                         "name_pinyin": ["jia", "yi", "bing"]})
    path = tmp_path / "rows.parquet"
    rows.write_parquet(path)
    exact = pl.DataFrame({"feed": ["f"] * 3, "source_row": [1, 2, 3], "method": ["none"] * 3})
    records, keys = prepare_feed({"f": path}, exact)
    assert keys["source_row"].to_list() == [2, 3]
    assert records["id17"].to_list() == ["11010519800101001", None]


# ---- the command --------------------------------------------------------------------------------

def test_cli_run_and_its_errors(world_run: tuple[Path, Path], tmp_path: Path) -> None:
    world, _ = world_run
    runner = CliRunner()
    deaths = world / "feeds" / "ps_deaths.csv"
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--register", str(world / "register"), "--feed",
                                 f"ps_deaths={deaths}", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sum(summary["by_method"].values()) == pl.read_parquet(out / "links.parquet").height
    for args, field in ((["--backend", "oracle"], "--backend"), (["--feed", "ps_deaths"], "--feed"),
                        (["--feed", f"nosuch={deaths}"], "nosuch"), ([], "--register")):
        extra = [] if field == "--register" else ["--register", str(world / "register")]
        bad = runner.invoke(app, ["run", "--out", str(tmp_path / "bad"), *extra, *args])
        assert bad.exit_code == 2, (args, bad.output)
        assert field in bad.output and "错误 / error" in bad.output, bad.output
        assert "Traceback" not in bad.output
    assert not (tmp_path / "bad" / "links.parquet").exists()


def test_a_register_folder_without_persons_is_refused(tmp_path: Path) -> None:
    with pytest.raises(YibaoError) as info:
        run_match(tmp_path, [FeedInput("ps_deaths", load_spec("ps_deaths"), tmp_path / "x.csv")],
                  tmp_path / "o")
    assert "x.csv" in info.value.en or "persons.parquet" in info.value.en


def test_a_run_killed_during_linkage_resumes_to_the_same_links(world_run: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    """SIGKILL while the run is past exact matching; started again, it keeps the finished stages."""
    import signal
    import subprocess
    import sys
    import time

    world, whole = world_run
    out = tmp_path / "run"
    command = [sys.executable, "-c", "from yibao.cli import main; main()", "match", "run", "--world",
               str(world), "--out", str(out), "--json"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_path = out / "run.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            stages = json.loads(state_path.read_text(encoding="utf-8")).get("stages", {})
        except (OSError, json.JSONDecodeError):
            stages = {}
        if "exact" in stages or child.poll() is not None:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = json.loads(state_path.read_text(encoding="utf-8"))["stages"]
    assert "exact" in before and "links" not in before, "the kill came too late to test resuming"
    seen: list[str] = []
    register, feeds = feeds_of_world(world)
    run_match(register, feeds, out, progress=seen.append)
    after = json.loads(state_path.read_text(encoding="utf-8"))["stages"]
    for stage in [s for s in before if s.startswith("ingest:")] + ["exact"]:
        assert after[stage] == before[stage], stage  # not done again
    key = ["feed", "source_row"]
    assert pl.read_parquet(out / "links.parquet").sort(key).equals(
        pl.read_parquet(whole / "links.parquet").sort(key))
