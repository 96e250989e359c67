"""The Spark backend runs the same linkage as DuckDB and finds the same matches (issue 6).

Local mode (``local[2]``, Splink's similarity UDF jar, Java 17 from ``make system``). The set is
small enough that u sampling takes every pair on both backends, so both train the same model from
the same data and any difference in the links would be a difference of the backends.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from yibao.match.linkage import linkage_settings
from yibao.match.run import feeds_of_world, run_match
from yibao.match.synthetic import generate


@pytest.fixture(scope="module")
def spark_session():  # type: ignore[no-untyped-def]
    from yibao.match.linkage import _spark_session

    spark = _spark_session()
    yield spark
    spark.stop()


def test_spark_and_duckdb_give_the_same_links(tmp_path: Path, spark_session: object) -> None:
    world = tmp_path / "world"
    generate(2_500, 17, world)
    register, feeds = feeds_of_world(world)
    train_here = linkage_settings().model_copy(
        update={"training": linkage_settings().training.model_copy(update={"min_rows": 0})})
    runs = {}
    for backend in ("duckdb", "spark"):
        out = tmp_path / backend
        run_match(register, feeds, out, backend=backend, settings=train_here)  # type: ignore[arg-type]
        runs[backend] = out
    state = {b: json.loads((o / "run.json").read_text(encoding="utf-8"))["stages"]["linkage"]
             for b, o in runs.items()}
    assert state["spark"]["backend"] == "spark" and state["duckdb"]["backend"] == "duckdb"
    assert state["spark"]["model"] == state["duckdb"]["model"]
    assert state["spark"]["candidates"] == state["duckdb"]["candidates"] > 0
    assert state["spark"]["pairs"] == state["duckdb"]["pairs"]
    key = ["feed", "source_row"]
    links = {b: pl.read_parquet(o / "links.parquet").sort(key) for b, o in runs.items()}
    prob = links["duckdb"].filter(pl.col("method") == "probabilistic")
    assert prob.height > 20
    assert links["spark"].select(*key, "person_id", "method", "cluster_id").equals(
        links["duckdb"].select(*key, "person_id", "method", "cluster_id"))
    # trained apart, the weights differ a little (u is sampled differently); with one model, not at all
    both = links["duckdb"].join(links["spark"], on=key, suffix="_spark").filter(
        pl.col("method") == "probabilistic")
    assert (both["match_weight"] - both["match_weight_spark"]).abs().max() < 1.0  # type: ignore[operator]
    same_model = tmp_path / "spark_same_model"
    run_match(register, feeds, same_model, backend="spark", model=runs["duckdb"] / "linkage" / "model.json")
    again = pl.read_parquet(same_model / "links.parquet").sort(key)
    columns = [*key, "person_id", "method"]
    assert again.select(columns).equals(links["duckdb"].select(columns))
    paired = links["duckdb"].join(again, on=key, suffix="_spark").filter(pl.col("method") == "probabilistic")
    assert (paired["match_weight"] - paired["match_weight_spark"]).abs().max() < 1e-6  # type: ignore[operator]
