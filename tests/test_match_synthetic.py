"""The synthetic world of precise enrollment (docs/match-synthetic.md): truth that can be trusted.

A 20,000-person world is generated once; the tests check that its feeds read cleanly through the
real ingest, that the truth says what the files hold, that the error shares are the documented
rates, and that the same seed gives the same world.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from yibao.admin.export import LAYOUT, read_table
from yibao.cli.match import app
from yibao.ids import synthetic_resident_ids, validate_ids
from yibao.match.feeds import ingest, load_spec
from yibao.match.normalize import normalize_names
from yibao.match.synthetic import CORRUPTION_TYPES, FEEDS, ID_UNUSABLE, SITUATIONS, generate, load_model
from yibao.match.synthetic.corrupt import corrupt_ids

DOC = Path(__file__).resolve().parents[1] / "docs" / "match-synthetic.md"
PERSONS = 20_000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate(PERSONS, 7, out)
    return out


@pytest.fixture(scope="module")
def truth(world: Path) -> pl.DataFrame:
    return pl.read_parquet(world / "truth" / "feed_rows.parquet")


@pytest.fixture(scope="module")
def ingested(world: Path) -> dict[str, pl.DataFrame]:
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    out = {}
    for feed in FEEDS:
        res = ingest(world / manifest["feeds"][feed], load_spec(feed))
        assert res.bad_row_count() == 0, (feed, res.bad.head())
        out[feed] = res.rows
    return out


def test_every_feed_row_is_read_and_has_its_truth(ingested: dict[str, pl.DataFrame],
                                                  truth: pl.DataFrame) -> None:
    for feed, rows in ingested.items():
        t = truth.filter(pl.col("feed") == feed)
        assert rows["source_row"].to_list() == t["source_row"].to_list() == list(range(1, t.height + 1))


def test_clean_and_legacy_ids_normalise_to_the_persons_id(world: Path, ingested: dict[str, pl.DataFrame],
                                                           truth: pl.DataFrame) -> None:
    persons = pl.read_parquet(world / "truth" / "world" / "persons.parquet")
    rows = pl.concat([r.select("source_row", "id_number", "id_problem", "name").with_columns(feed=pl.lit(f))
                      for f, r in ingested.items()])
    joined = (truth.join(rows, on=["feed", "source_row"])
              .join(persons.select("true_person_key", pl.col("id_number").alias("true_id"),
                                   pl.col("name").alias("true_name")), on="true_person_key"))
    unusable = joined["errors"].list.eval(pl.element().is_in(list(ID_UNUSABLE))).list.any()
    usable = joined.filter(~unusable)
    assert usable.height > 0.9 * joined.height
    assert (usable["id_number"] == usable["true_id"]).all()  # legacy 15-digit IDs included
    legacy = usable.filter(pl.col("errors").list.contains("id_legacy15"))
    assert legacy.height > 20
    broken = joined.filter(unusable)
    assert broken["id_number"].null_count() == broken.height
    assert broken["id_problem"].null_count() == 0
    # variants normalise back; the register's names go through the same normaliser (t2s turns the
    # surname 沈 into 沉 on both sides, STACK.md: linkage stays consistent)
    joined = joined.with_columns(normalize_names(joined["true_name"])["name"].alias("true_name"))
    clean_names = joined.filter(~pl.col("errors").list.contains("name_homophone"))
    assert (clean_names["name"] == clean_names["true_name"]).all()
    homophone = joined.filter(pl.col("errors").list.contains("name_homophone"))
    assert homophone.height > 10 and (homophone["name"] != homophone["true_name"]).all()


def _expected(manifest: dict[str, object], kind: str) -> float:
    model = load_model()
    rows: dict[str, int] = manifest["feed_rows"]  # type: ignore[assignment]
    return sum(n * model.rate(kind, f) for f, n in rows.items()) / sum(rows.values())


@pytest.mark.parametrize("kind", ["id_typo", "id_transposition", "id_missing", "duplicate_row"])
def test_error_shares_are_the_documented_rates(world: Path, kind: str) -> None:
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    n = manifest["feed_rows_total"]
    expected = _expected(manifest, kind)
    got = manifest["error_shares"][kind]
    sigma = (expected * (1 - expected) / n) ** 0.5
    assert abs(got - expected) < 4 * sigma + 0.002, (kind, got, expected)


def test_name_and_legacy_shares_stay_below_their_rates(world: Path) -> None:
    """These apply only where possible (a name with a traditional form, a person born 1900-1999)."""
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    shares = manifest["error_shares"]
    for kind in ("name_variant", "name_homophone", "id_legacy15"):
        assert 0.3 * _expected(manifest, kind) < shares[kind] <= _expected(manifest, kind) * 1.15, kind
    assert shares["id_corrupted"] >= 0.05  # issue 6: at least 5% corrupted identifiers
    assert set(shares) >= set(CORRUPTION_TYPES)


def test_world_reproduces_the_sourced_figures(world: Path) -> None:
    stats = json.loads((world / "manifest.json").read_text(encoding="utf-8"))["world"]
    assert abs(stats["newborn_enrolled_share"] - 1 / 3) < 0.12  # seed 002: a third of newborns
    assert 0.12 < stats["flexible_share_of_employee_enrollees"] < 0.23  # 17.4% in 2024
    assert 2.0 < stats["in_service_per_retiree"] < 3.3  # 2.63 in 2024
    # about 10% (0.15 x 0.45 + 0.85 x 0.04), noisy: a few large units weigh much
    assert 0.05 < stats["uninsured_share_of_taxed_employees"] < 0.18


def test_register_is_the_export_layout_and_truth_points_into_it(world: Path, truth: pl.DataFrame) -> None:
    register = world / "register"
    manifest = json.loads((register / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["layout_version"] == "1" and set(manifest["rows"]) == set(LAYOUT)
    persons = pl.from_arrow(read_table(register, "persons"))
    assert isinstance(persons, pl.DataFrame)
    assert persons["person_id"].is_unique().all() and persons["id_number"].is_unique().all()
    assert (validate_ids(persons["id_number"].to_list()).reason == 0).all()
    world_persons = pl.read_parquet(world / "truth" / "world" / "persons.parquet")
    linked = truth.drop_nulls("person_id").join(world_persons.select("true_person_key", "id_number"),
                                                on="true_person_key")
    back = linked.join(persons.select("person_id", pl.col("id_number").alias("reg_id")), on="person_id")
    assert back.height == linked.height and (back["id_number"] == back["reg_id"]).all()
    other = truth.filter(pl.col("feed") == "other_region_register")
    assert 0 < other["person_id"].null_count() < other.height  # its own residents are not in the register


def test_every_worklist_situation_is_planted(world: Path) -> None:
    situations = pl.read_parquet(world / "truth" / "world" / "situations.parquet")
    counts = dict(situations.group_by("situation").len().iter_rows())
    assert set(counts) == set(SITUATIONS)
    assert all(v >= 5 for v in counts.values()), counts


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".parquet", ".csv"):
            h.update(path.relative_to(folder).as_posix().encode())
            if path.suffix == ".parquet":  # the content, not the file's metadata
                h.update(pl.read_parquet(path).hash_rows(seed=0).to_numpy().tobytes())
            else:
                h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_world_other_seed_other_world(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(1_500, seed, tmp_path / name)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_doc_table_states_the_model_rates() -> None:
    """docs/match-synthetic.md and model.yaml must say the same (the rates are fixed before tuning)."""
    text = DOC.read_text(encoding="utf-8")
    model = load_model()
    for kind in CORRUPTION_TYPES:
        row = re.search(rf"^\| `{kind}` \| ([0-9.]+) \|", text, re.MULTILINE)
        assert row is not None, kind
        assert float(row.group(1)) == model.corruption[kind].rate, kind
    assert str(model.fixed_on) in text


def test_cli_generate_and_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["generate", "--persons", "300", "--seed", "2", "--out", str(tmp_path / "w"),
                             "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["persons"] == 300
    bad = runner.invoke(app, ["generate", "--persons", "5", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "persons" in bad.output and "expected an integer from 100" in bad.output


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)), st.booleans())
def test_id_corruptions_are_what_they_claim(seed: int, born: dt.date, male: bool) -> None:
    """MOD 11-2 catches every single substitution and adjacent transposition; a legacy 15-digit
    form names the same person (DOMAIN.md §8.x)."""
    rng = np.random.default_rng(seed)
    ids = synthetic_resident_ids(rng, np.array([born] * 40, dtype="datetime64[D]"), np.full(40, male))
    rates = {"id_typo": 0.25, "id_transposition": 0.25, "id_missing": 0.1, "id_legacy15": 0.5}
    out, masks = corrupt_ids(rng, ids, np.ones(40, dtype=bool), rates)
    batch = validate_ids(out)
    for kind in ("id_typo", "id_transposition", "id_missing"):
        assert (batch.reason[masks[kind]] != 0).all(), kind
    legacy = masks["id_legacy15"]
    assert all(len(out[i] or "") == 15 for i in np.flatnonzero(legacy))
    clean = ~(masks["id_typo"] | masks["id_transposition"] | masks["id_missing"])
    assert [batch.normalised[i] for i in np.flatnonzero(clean)] == [ids[i] for i in np.flatnonzero(clean)]
