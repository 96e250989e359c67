"""Probabilistic linkage of feed rows without a usable ID to the register, with Splink (issue 6).

Exact matching (:mod:`yibao.match.exact`) links every feed row whose ID validated. What is left
with method ``none`` and no ``id_number`` — an ID with a typo, two digits transposed, or none at
all — is linked here by the Fellegi–Sunter model as Splink implements it: blocking rules choose
candidate pairs of register persons × feed rows, comparisons score each pair field by field, and
match weights trained on the data itself (u by random sampling, m by expectation maximisation)
add up to a match probability. A row with a valid ID that is not in the register is left alone:
the register's IDs are unique and checked, so a valid ID that differs names another person.

**Fields compared** (docs/match-linkage.md has the levels and the trained weights):

- name: hanzi equal (with term-frequency adjustment: 王伟 agreeing says less than 欧阳修), pinyin
  equal (a homophone, or a variant the normalisation did not catch), pinyin Jaro–Winkler ≥ 0.92.
  Hanzi are never compared by edit distance: SQL engines count UTF-8 bytes, so one hanzi differs
  by three "edits" and a near-miss looks like a different name; pinyin is plain ASCII.
- birth date: equal, within 3 days, day and month swapped, one digit off. Feeds without a
  birth-date column (tax, deaths) use the birth date written inside the damaged ID.
- ID: its region code and sequence number (characters 1–6 and 15–17 of the body; a legacy 15-digit
  ID widened with 19) equal, or one character off. The birth digits are left to the birth-date
  comparison: compared twice, the ID's birth date would count twice (Fellegi–Sunter adds the
  weights of fields as if independent), and two strangers born the same day whose IDs differ
  in one region digit outscored their different names (measured: 392 false links on 1M rows).
- sex, region (hukou or residence, either side), employer USCC.

**Blocking**: birth date + surname pinyin; three pairs of the ID's thirds (region, birth date,
sequence + check: one typo or one transposition inside a third leaves another pair intact); name
pinyin + region; name pinyin + employer.

**Choosing the link.** Each feed row is linked to its best register candidate when the candidate's
probability reaches the threshold and its weight beats the second-best candidate's by the margin
(:file:`linkage_settings.yaml`; the threshold was chosen on another seed's evaluation). Several
rows may link to one person — a feed holds a person twice when he has two jobs or a row was sent
twice — but a row never links to two persons. Rows of the same unregistered person found by a
valid ID share a negative ``cluster_id``.

**Backends.** DuckDB by default; Spark (``backend="spark"``, local mode here, a cluster for scale)
runs the same Splink settings. The prepared tables, the scored pairs and the links are Parquet
either way, so everything after scoring is one code path.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field

from yibao.errors import InputError
from yibao.match.exact import LINK_SCHEMA
from yibao.match.normalize import normalize_names

__all__ = [
    "BACKENDS",
    "COLUMNS",
    "LinkageResult",
    "LinkageSettings",
    "best_links",
    "link",
    "linkage_settings",
    "linked_expr",
    "merge_links",
    "prepare_feed",
    "prepare_register",
    "splink_settings",
]

Backend = Literal["duckdb", "spark"]
BACKENDS: Final = ("duckdb", "spark")

#: The columns both sides of the linkage carry (``unique_id`` is the person_id on the register side).
COLUMNS: Final = {
    "unique_id": pl.Int64, "name": pl.String, "pinyin_key": pl.String, "surname_pinyin": pl.String,
    "birth_date": pl.Date, "birth_text": pl.String, "sex": pl.String, "region": pl.String,
    "region2": pl.String, "employer_uscc": pl.String, "id17": pl.String, "id_rest": pl.String,
    "id_ab": pl.String,
    "id_ac": pl.String, "id_bc": pl.String,
}
REGISTER: Final = "register"
FEED: Final = "feed"


class TrainingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = 42
    u_max_pairs: float = Field(5e6, gt=0)
    em_rules: list[list[str]]
    prior_recall: float = Field(0.8, gt=0, le=1)
    min_rows: int = Field(2000, ge=0)
    m_floor: float = Field(0.001, ge=0, lt=0.1)


class LinkageSettings(BaseModel):
    """The shipped (or a user's) linkage settings: threshold, margin and training plan."""

    model_config = ConfigDict(extra="forbid")
    version: int
    threshold: float = Field(gt=0, lt=1)
    margin: float = Field(ge=0)
    keep_above: float = Field(gt=0, lt=1)
    training: TrainingSettings


#: The reference model shipped with yibao: trained on the tuning world (linkage_settings.yaml).
REFERENCE_MODEL: Final = "linkage_model.json"


def reference_model() -> Path:
    """The shipped model, used when a run has too few rows to train its own."""
    return Path(str(resources.files("yibao.match").joinpath(REFERENCE_MODEL)))


@lru_cache(maxsize=1)
def linkage_settings() -> LinkageSettings:
    """The shipped settings (``linkage_settings.yaml``)."""
    text = resources.files("yibao.match").joinpath("linkage_settings.yaml").read_text(encoding="utf-8")
    return LinkageSettings.model_validate(yaml.safe_load(text))


# ---- preparing both sides --------------------------------------------------------------------

def _id_parts(frame: pl.DataFrame, id_col: str) -> pl.DataFrame:
    """``id17`` (the body: the first 17 characters; a 15-digit ID widened with 19) and the three pairs
    of its thirds, for blocking."""
    raw = pl.col(id_col).str.replace_all(r"\s", "").str.to_uppercase()
    # 17 characters: most often the body without its check digit (an X dropped), compared as is
    id17 = (pl.when(raw.str.len_chars().is_in([17, 18])).then(raw.str.slice(0, 17))
            .when(raw.str.len_chars() == 15).then(raw.str.slice(0, 6) + "19" + raw.str.slice(6, 9))
            .otherwise(None))
    frame = frame.with_columns(id17.alias("id17"))
    a, b, c = pl.col("id17").str.slice(0, 6), pl.col("id17").str.slice(6, 6), pl.col("id17").str.slice(12, 5)
    # compared: region + sequence, not the birth date inside the ID, which is compared as a birth date
    rest = pl.col("id17").str.slice(0, 6) + pl.col("id17").str.slice(14, 3)
    return frame.with_columns((a + b).alias("id_ab"), (a + "|" + c).alias("id_ac"), (b + c).alias("id_bc"),
                              rest.alias("id_rest"))


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.with_columns(
        pl.col("pinyin_key").str.split(" ").list.first().alias("surname_pinyin"),
        pl.col("birth_date").dt.strftime("%Y-%m-%d").alias("birth_text"),
    ).with_columns(pl.col("pinyin_key").str.replace_all(" ", ""))
    return frame.select([pl.col(c).cast(t) for c, t in COLUMNS.items()])


def prepare_register(register: str | Path) -> pl.DataFrame:
    """The register's persons (register-export layout) with the compared and blocking columns.

    The employer is the unit of the person's open employment spell (the latest if several)."""
    folder = Path(register)
    persons_path = folder / "persons.parquet"
    if not persons_path.is_file():
        raise InputError("register", str(folder), "找不到 persons.parquet（应为登记册导出目录）",
                         "no persons.parquet there (expected a register export folder)")
    persons = pl.read_parquet(persons_path, columns=["person_id", "id_number", "name", "sex", "birth_date",
                                                     "hukou_region", "residence_region"])
    employer = pl.DataFrame(schema={"person_id": pl.Int64, "employer_uscc": pl.String})
    spells_path, employers_path = folder / "employment_spells.parquet", folder / "employers.parquet"
    if spells_path.is_file() and employers_path.is_file():
        spells = pl.read_parquet(spells_path, columns=["person_id", "employer_id", "start_date", "end_date"])
        units = pl.read_parquet(employers_path, columns=["employer_id", "uscc"])
        employer = (spells.sort("end_date", "start_date", nulls_last=True, descending=True)
                    .unique("person_id", keep="first")
                    .join(units, on="employer_id", how="left")
                    .select("person_id", pl.col("uscc").alias("employer_uscc")))
    names = normalize_names(persons["name"])
    frame = (persons.with_columns(names["pinyin_key"].alias("pk"), names["name_pinyin"])
             .join(employer, on="person_id", how="left")
             .select(pl.col("person_id").alias("unique_id"), "name",
                     pl.col("name_pinyin").alias("pinyin_key"), "birth_date", "sex",
                     pl.col("hukou_region").alias("region"), pl.col("residence_region").alias("region2"),
                     "employer_uscc", "id_number"))
    return _finish(_id_parts(frame, "id_number"))


def _col(names: list[str], name: str, dtype: type[pl.DataType] | pl.DataType) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in names else pl.lit(None, dtype=dtype).alias(name)


def prepare_feed(feeds: Mapping[str, str | Path], exact: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The feed rows left to linkage (no usable ID, not linked exactly) and their ``unique_id`` key.

    Returns ``(records, keys)``: records with :data:`COLUMNS`, keys ``unique_id, feed, source_row``."""
    open_rows = exact.filter(pl.col("method") == "none").select("feed", "source_row")
    parts: list[pl.DataFrame] = []
    for name, path in feeds.items():
        rows = pl.read_parquet(path)
        cols = rows.columns
        rows = rows.filter(pl.col("id_number").is_null()) if "id_number" in cols else rows
        rows = rows.join(open_rows.filter(pl.col("feed") == name).select("source_row"), on="source_row")
        parts.append(rows.select(
            pl.lit(name).alias("feed"), pl.col("source_row").cast(pl.Int64),
            _col(cols, "name", pl.String), _col(cols, "name_pinyin", pl.String),
            _col(cols, "birth_date", pl.Date), _col(cols, "sex", pl.String),
            pl.coalesce(_col(cols, "region_code", pl.String), _col(cols, "from_region_code", pl.String))
            .alias("region"),
            _col(cols, "to_region_code", pl.String).alias("region2"),
            _col(cols, "employer_uscc", pl.String), _col(cols, "id_raw", pl.String)))
    rows = pl.concat(parts) if parts else pl.DataFrame(
        schema={"feed": pl.String, "source_row": pl.Int64, "name": pl.String, "name_pinyin": pl.String,
                "birth_date": pl.Date, "sex": pl.String, "region": pl.String, "region2": pl.String,
                "employer_uscc": pl.String, "id_raw": pl.String})
    rows = _id_parts(rows.with_row_index("unique_id").with_columns(pl.col("unique_id").cast(pl.Int64) + 1),
                     "id_raw")
    # The birth date a damaged ID carries stands in for a missing birth-date column; the ID comparison
    # leaves the birth digits out, so a typo there counts once, as a birth date one digit off.
    born = pl.col("id17").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    rows = rows.with_columns(
        pl.coalesce("birth_date", born).alias("birth_date"),
        pl.col("name_pinyin").alias("pinyin_key"))
    return _finish(rows), rows.select("unique_id", "feed", "source_row")


# ---- the Splink model --------------------------------------------------------------------------

BLOCKING: Final = (("birth_date", "surname_pinyin"), ("id_ab",), ("id_ac",), ("id_bc",),
                   ("pinyin_key", "region"), ("pinyin_key", "employer_uscc"))


def splink_settings(settings: LinkageSettings) -> Any:
    """The Splink settings: comparisons, blocking rules for prediction (module docstring)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(output_column_name="name", comparison_levels=[
        cll.NullLevel("name"),
        cll.ExactMatchLevel("name", term_frequency_adjustments=True).configure(
            label_for_charts="hanzi equal / 汉字相同"),
        cll.ExactMatchLevel("pinyin_key").configure(label_for_charts="pinyin equal / 拼音相同"),
        cll.JaroWinklerLevel("pinyin_key", 0.92),
        cll.ElseLevel()])
    birth = cl.CustomComparison(output_column_name="birth_date", comparison_levels=[
        cll.NullLevel("birth_date"),
        cll.ExactMatchLevel("birth_date"),
        # A typed birth date is rare among matches (the corruption model's 0.5%); when no pair of a
        # run shows it, EM cannot estimate it and this starting value stands.
        cll.AbsoluteDateDifferenceLevel("birth_date", threshold=3, metric="day", input_is_string=False)
        .configure(m_probability=0.003),
        cll.CustomLevel("substr(birth_text_l, 1, 4) = substr(birth_text_r, 1, 4) AND "
                        "substr(birth_text_l, 6, 2) = substr(birth_text_r, 9, 2) AND "
                        "substr(birth_text_l, 9, 2) = substr(birth_text_r, 6, 2)",
                        label_for_charts="day and month swapped / 月日颠倒").configure(m_probability=0.002),
        cll.DamerauLevenshteinLevel("birth_text", 1).configure(
            label_for_charts="one digit off / 一位不同", m_probability=0.01),
        cll.ElseLevel()])
    region = cl.CustomComparison(output_column_name="region", comparison_levels=[
        cll.CustomLevel("(region_l IS NULL AND region2_l IS NULL) OR "
                        "(region_r IS NULL AND region2_r IS NULL)",
                        label_for_charts="null").configure(is_null_level=True),
        cll.CustomLevel("region_l = region_r OR region_l = region2_r OR region2_l = region_r "
                        "OR region2_l = region2_r", label_for_charts="same region / 同一地区"),
        cll.ElseLevel()])
    ident = cl.CustomComparison(output_column_name="id_rest", comparison_levels=[
        cll.NullLevel("id_rest"),
        cll.ExactMatchLevel("id_rest").configure(
            label_for_charts="region and sequence equal / 地区码与顺序码相同"),
        cll.DamerauLevenshteinLevel("id_rest", 1).configure(label_for_charts="one character off / 一位不同"),
        cll.ElseLevel()])
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[name, birth, cl.ExactMatch("sex"), region, ident, cl.ExactMatch("employer_uscc")],
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in BLOCKING],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )


def _prior(linker: Any, settings: LinkageSettings) -> None:
    """The probability that a random register × feed pair is a match, counted on this run's data
    from deterministic rules (it depends on the register's size, so a reused model needs it too)."""
    linker.training.estimate_probability_two_random_records_match(
        ["l.name = r.name AND l.birth_date = r.birth_date",
         "l.id_bc = r.id_bc AND l.pinyin_key = r.pinyin_key"], recall=settings.training.prior_recall)


def _trained_spec(model: dict[str, Any], settings: LinkageSettings, dialect: str) -> dict[str, Any]:
    """A saved model for another SQL dialect: yibao's settings written for ``dialect``, with the
    model's trained values (prior, m, u) copied level by level. Splink saves the SQL of its levels in
    the dialect it trained in, which another backend cannot always read (Spark quoting)."""
    if model.get("sql_dialect") == dialect:
        return model
    fresh: dict[str, Any] = splink_settings(settings).create_settings_dict(sql_dialect_str=dialect)
    names = [c["output_column_name"] for c in model["comparisons"]]
    if names != [c["output_column_name"] for c in fresh["comparisons"]]:
        raise InputError("--model", ", ".join(names), "模型的比较字段与本版本不同",
                         "the model compares other fields than this version of yibao")
    fresh["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for new, old in zip(fresh["comparisons"], model["comparisons"], strict=True):
        for new_level, old_level in zip(new["comparison_levels"], old["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                if old_level.get(key) is not None:
                    new_level[key] = old_level[key]
    return fresh


def floor_m(model: dict[str, Any], floor: float) -> dict[str, Any]:
    """Raise every trained m probability to at least ``floor`` and renormalise each comparison.

    EM gives m = 0 to a level no true pair of the training data showed (the synthetic feeds never
    mistype the sex), which makes that level a veto of -70 bits; real data has such errors, so no
    disagreement may weigh more than log2(floor / u)."""
    for comp in model["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"]
                  if not lv.get("is_null_level") and lv.get("m_probability") is not None]
        if not levels:
            continue
        raised = [max(float(lv["m_probability"]), floor) for lv in levels]
        total = sum(raised)
        for lv, m in zip(levels, raised, strict=True):
            lv["m_probability"] = m / total
    return model


def _train(linker: Any, settings: LinkageSettings, log: Callable[[str], None]) -> None:
    from splink import block_on

    training = settings.training
    _prior(linker, settings)
    log("u: random sampling")
    linker.training.estimate_u_using_random_sampling(max_pairs=training.u_max_pairs, seed=training.seed)
    for rule in training.em_rules:
        log(f"m: expectation maximisation blocked on {' + '.join(rule)}")
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), record_sample_proportion=1.0)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _spark_session() -> Any:
    """A local Spark session with Splink's similarity UDF jar (STACK.md pitfalls 1, 2, 4)."""
    import sys

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    spark = (SparkSession.builder.master("local[2]").appName("yibao-linkage")
            .config("spark.jars", similarity_jar_location())
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "4g")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _score(backend: Backend, work: Path, settings: LinkageSettings, model: Path | None, rows: int,
           log: Callable[[str], None]) -> tuple[Path, str]:
    """Score the blocked pairs with ``model`` (a user's, used as it is), or else train on the run —
    or, with too few rows, use the reference model with the prior counted on the run. Returns the
    pairs' Parquet and where the model came from (``given``, ``trained``, ``reference``)."""
    from splink import Linker
    from splink.internals.exceptions import EMTrainingException

    pairs, model_out = work / "pairs.parquet", work / "model.json"
    dialect = "duckdb" if backend == "duckdb" else "spark"

    def saved(path: Path) -> Any:
        return _trained_spec(json.loads(path.read_text(encoding="utf-8")), settings, dialect)

    spec: Any
    if model is not None:
        source, spec = "given", saved(model)
    elif rows < settings.training.min_rows:
        log(f"{rows} rows are too few to train (< {settings.training.min_rows}): "
            "the reference model scores this run")
        source, spec = "reference", saved(reference_model())
    else:
        source, spec = "trained", splink_settings(settings)
    if backend == "duckdb":
        from splink import DuckDBAPI

        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET temp_directory = {_quote(work / '.duckdb_tmp')}")
        for side in (REGISTER, FEED):
            parquet = _quote(work / f"{side}.parquet")
            con.execute(f"CREATE TABLE {side}_in AS SELECT * FROM read_parquet({parquet})")
        api: Any = DuckDBAPI(connection=con)
        tables = [api.register(f"{side}_in", dataset_display_name=side) for side in (REGISTER, FEED)]
    else:
        from splink.backends.spark import SparkAPI

        spark = _spark_session()
        spark.sparkContext.setCheckpointDir(str(work / ".spark_checkpoints"))  # Splink checkpoints stages
        api = SparkAPI(spark_session=spark)  # type: ignore[no-untyped-call]
        token = uuid.uuid4().hex[:8]  # one session may run several linkages: fresh view names
        tables = [api.register(spark.read.parquet(str(work / f"{side}.parquet")), dataset_display_name=side,
                               table_name=f"yibao_{side}_{token}")
                  for side in (REGISTER, FEED)]
    logging.getLogger("splink").setLevel(logging.ERROR)  # its notes go to the run log, not the terminal
    linker = Linker(tables, spec, log_level="ERROR")
    if source == "trained":
        try:
            _train(linker, settings, log)
            trained = floor_m(linker.misc.save_model_to_json(), settings.training.m_floor)
            linker = Linker(tables, trained, log_level="ERROR")
        except EMTrainingException:
            # some training rule found no pairs at all: too little data to learn from
            log("too few pairs to train: the reference model scores this run")
            source = "reference"
            linker = Linker(tables, saved(reference_model()), log_level="ERROR")
    if source == "reference":
        try:
            _prior(linker, settings)
        except Exception:
            log("the prior could not be counted on this run: the reference model's stands")
    linker.misc.save_model_to_json(str(model_out), overwrite=True)
    log("scoring the blocked pairs")
    predictions = linker.inference.predict(threshold_match_probability=settings.keep_above)
    tmp = pairs.with_suffix(".part")
    shutil.rmtree(tmp, ignore_errors=True)
    columns = ("source_dataset_l, unique_id_l, source_dataset_r, unique_id_r, "
               "match_weight, match_probability")
    if backend == "duckdb":
        con.execute(f"COPY (SELECT {columns} FROM {predictions.physical_name}) TO {_quote(tmp)} "
                    "(FORMAT parquet)")
        tmp.replace(pairs)
        con.close()
    else:
        predictions.as_spark_dataframe().selectExpr(*columns.split(", ")).coalesce(1).write.parquet(str(tmp))
        pl.read_parquet(tmp / "*.parquet").write_parquet(pairs)
        shutil.rmtree(tmp)
    return pairs, source


def best_links(pairs: pl.DataFrame, settings: LinkageSettings) -> pl.DataFrame:
    """Each feed row's best and second-best register candidate, and whether the best is linked.

    Columns ``unique_id`` (feed side), ``person_id``, ``match_probability``, ``match_weight``,
    ``second_person_id``, ``second_weight``, ``linked``; one row per feed row that had any pair."""
    reg_left = pl.col("source_dataset_l") == REGISTER
    scored = pairs.select(
        pl.when(reg_left).then(pl.col("unique_id_r")).otherwise(pl.col("unique_id_l")).cast(pl.Int64)
        .alias("unique_id"),
        pl.when(reg_left).then(pl.col("unique_id_l")).otherwise(pl.col("unique_id_r")).cast(pl.Int64)
        .alias("person_id"),
        pl.col("match_weight").cast(pl.Float64), pl.col("match_probability").cast(pl.Float64))
    ranked = scored.sort(["unique_id", "match_weight", "person_id"], descending=[False, True, False])
    top = ranked.group_by("unique_id", maintain_order=True).head(2)
    first = top.group_by("unique_id", maintain_order=True).first()
    second = (top.with_columns(pl.int_range(pl.len()).over("unique_id").alias("rank"))
              .filter(pl.col("rank") == 1)
              .select("unique_id", pl.col("person_id").alias("second_person_id"),
                      pl.col("match_weight").alias("second_weight")))
    out = first.join(second, on="unique_id", how="left")
    return out.with_columns(linked_expr(settings.threshold, settings.margin).alias("linked"))


def linked_expr(threshold: float, margin: float) -> pl.Expr:
    """The linking rule over ``match_probability``, ``match_weight`` and ``second_weight``: probable
    enough, and clear of the runner-up by ``margin`` bits (or no runner-up)."""
    clear = pl.col("second_weight").is_null() | (pl.col("match_weight") - pl.col("second_weight") >= margin)
    return (pl.col("match_probability") >= threshold) & clear


@dataclass(frozen=True)
class LinkageResult:
    """What linkage wrote and found."""

    backend: str
    model: str
    register_persons: int
    candidates: int
    pairs: int
    linked: int
    ambiguous: int
    seconds: dict[str, float]
    files: dict[str, str] = field(default_factory=dict)


def link(register: str | Path, feeds: Mapping[str, str | Path], exact: pl.DataFrame, work: str | Path, *,
         backend: Backend = "duckdb", settings: LinkageSettings | None = None,
         model: str | Path | None = None,
         log: Callable[[str], None] = lambda _: None) -> tuple[pl.DataFrame, LinkageResult]:
    """Link the rows exact matching left open; returns the candidates' best links and a summary.

    ``exact`` is the exact step's links (:data:`yibao.match.exact.LINK_SCHEMA`); ``work`` receives
    ``register.parquet``, ``feed.parquet``, ``keys.parquet``, ``model.json``, ``pairs.parquet`` and
    ``candidates.parquet``. ``model`` reuses a trained model (Splink JSON) instead of training."""
    if backend not in BACKENDS:
        raise InputError("backend", backend, "应为 duckdb 或 spark", "expected duckdb or spark")
    settings = settings or linkage_settings()
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    reg = prepare_register(register)
    reg.write_parquet(work / f"{REGISTER}.parquet")
    records, keys = prepare_feed(feeds, exact)
    records.write_parquet(work / f"{FEED}.parquet")
    keys.write_parquet(work / "keys.parquet")
    seconds["prepare"] = time.perf_counter() - start
    log(f"{records.height:,} feed rows to link against {reg.height:,} register persons")
    empty = pl.DataFrame(schema={"feed": pl.String, "source_row": pl.Int64, "person_id": pl.Int64,
                                 "match_probability": pl.Float64, "match_weight": pl.Float64,
                                 "second_person_id": pl.Int64, "second_weight": pl.Float64,
                                 "linked": pl.Boolean})
    if records.height == 0 or reg.height == 0:
        empty.write_parquet(work / "candidates.parquet")
        return empty, LinkageResult(backend, "none", reg.height, records.height, 0, 0, 0, seconds)
    start = time.perf_counter()
    pairs_path, source = _score(backend, work, settings, Path(model) if model else None, records.height, log)
    seconds["train_and_score"] = time.perf_counter() - start
    start = time.perf_counter()
    pairs = pl.read_parquet(pairs_path)
    best = best_links(pairs, settings)
    candidates = (keys.join(best, on="unique_id", how="left")
                  .with_columns(pl.col("linked").fill_null(False))
                  .select(*empty.columns))
    candidates.write_parquet(work / "candidates.parquet")
    seconds["choose"] = time.perf_counter() - start
    linked = int(candidates["linked"].sum())
    ambiguous = int(candidates.filter(~pl.col("linked") & (pl.col("match_probability") >= settings.threshold))
                    .height)
    files = {k: str(work / f) for k, f in (("model", "model.json"), ("pairs", "pairs.parquet"),
                                          ("candidates", "candidates.parquet"))}
    return candidates, LinkageResult(backend, source, reg.height, records.height, pairs.height, linked,
                                     ambiguous,
                                     seconds, files)


def merge_links(exact: pl.DataFrame, candidates: pl.DataFrame, feed_ids: pl.DataFrame) -> pl.DataFrame:
    """The run's links: exact links, the linked candidates as ``probabilistic``, clusters.

    ``feed_ids`` holds ``feed, source_row, id_number`` of every feed row: rows linked to nobody that
    carry the same valid ID share one negative ``cluster_id`` (one unregistered person)."""
    found = candidates.filter(pl.col("linked")).select(
        "feed", "source_row", pl.col("person_id").alias("p_person"),
        pl.col("match_probability").alias("p_prob"), pl.col("match_weight").alias("p_weight"))
    links = exact.join(found, on=["feed", "source_row"], how="left")
    newly = pl.col("p_person").is_not_null() & (pl.col("method") == "none")
    links = links.with_columns(
        pl.when(newly).then(pl.col("p_person")).otherwise(pl.col("person_id")).alias("person_id"),
        pl.when(newly).then(pl.lit("probabilistic")).otherwise(pl.col("method")).alias("method"),
        pl.when(newly).then(pl.col("p_prob")).otherwise(pl.col("match_probability")).alias("match_probability"),
        pl.when(newly).then(pl.col("p_weight")).otherwise(pl.col("match_weight")).alias("match_weight"),
    ).drop("p_person", "p_prob", "p_weight")
    ids = feed_ids.select("feed", "source_row", "id_number")
    links = links.join(ids, on=["feed", "source_row"], how="left")
    stray = pl.col("person_id").is_null() & pl.col("id_number").is_not_null()
    links = links.with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.col("person_id"))
        .when(stray).then(-pl.col("id_number").rank("dense").over(stray).cast(pl.Int64))
        .otherwise(None).alias("cluster_id"))
    return links.select(list(LINK_SCHEMA)).cast(LINK_SCHEMA)  # type: ignore[arg-type]
