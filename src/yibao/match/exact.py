"""Exact matching of feed rows to register persons on the canonical ID number, on DuckDB.

The first step of precise enrollment's linkage (issue 6; ARCHITECTURE.md "exact joins on valid
IDs"): every feed row whose ID validated (``id_number`` not null after :func:`yibao.match.feeds.ingest`,
a legacy 15-digit ID already turned into its 18-digit form) is joined to ``persons.parquet`` of the
register export (docs/register-export.md). Rows whose ID is unusable or not in the register get
method ``none`` and are left to probabilistic linkage (:mod:`yibao.match.linkage`).

Output: one row per feed row, the columns of the agreed ``links.parquet`` (docs/match-synthetic.md,
interface point 2 of the match engineers): ``feed``, ``source_row``, ``person_id`` (null if none),
``method`` (``exact_id``, ``exact_id_legacy15`` when the feed wrote the 15-digit form, ``none``),
``match_probability`` (1.0 for an exact match, null otherwise), ``match_weight`` (null) and
``cluster_id`` (the person_id for an exact match).

How it scales: DuckDB reads the Parquet files itself and joins out of core (``memory_limit``,
``temp_directory``, ``threads``), writing the links straight to Parquet, so tens of millions of
rows never pass through Python (50M × 50M in about 35 s on 2 cores, docs/performance.md). The join
is on the canonical ID text: a BIGINT key made of the first 17 digits was measured no faster
(10M × 10M: 1.6 s either way), so the simpler join stays, and foreigners' IDs need no second path.

A register holding the same ID twice (possible in a bureau's own system; yibao's register has a
unique index) is not guessed at: the ID matches the smaller ``person_id`` and the count of such IDs
is reported in :attr:`ExactResult.register_duplicate_ids`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import duckdb
import polars as pl
import pyarrow.parquet as pq

from yibao.admin.export import LAYOUT
from yibao.errors import InputError

__all__ = ["LINK_SCHEMA", "METHODS", "ExactResult", "exact_links", "exact_links_frame"]

#: Methods a link may carry (``probabilistic`` is set by the linkage step).
METHODS: Final = ("exact_id", "exact_id_legacy15", "probabilistic", "none")
#: Columns and polars types of ``links.parquet``.
LINK_SCHEMA: Final = {"feed": pl.String, "source_row": pl.Int64, "person_id": pl.Int64, "method": pl.String,
                      "match_probability": pl.Float64, "match_weight": pl.Float64, "cluster_id": pl.Int64}
_FEED_NEEDS: Final = ("source_row", "id_number")


@dataclass(frozen=True)
class ExactResult:
    """Where the links went, how many rows each feed had per method, and the time taken."""

    links: Path
    counts: dict[str, dict[str, int]]
    register_persons: int
    register_duplicate_ids: int
    seconds: float
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(sum(m.values()) for m in self.counts.values())

    @property
    def matched(self) -> int:
        return sum(n for m in self.counts.values() for k, n in m.items() if k != "none")


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _check_persons(path: Path) -> None:
    """The register's persons file has the export layout's ID columns (schema only: no full read)."""
    if not path.is_file():
        raise InputError("register", str(path.parent), "找不到 persons.parquet（应为登记册导出目录）",
                         "no persons.parquet there (expected a register export folder)")
    schema = pq.read_schema(path)
    for name, typ, _ in LAYOUT["persons"]:
        if name in ("person_id", "id_number") and (name not in schema.names
                                                   or not schema.field(name).type.equals(typ)):
            raise InputError(f"persons.{name}", str(path),
                             f"缺少列或类型不是 {typ}（见 docs/register-export.md）",
                             f"column missing or not of type {typ} (see docs/register-export.md)")


def _feed_select(name: str, path: Path) -> str:
    if not path.is_file():
        raise InputError(f"feed {name}", str(path), "找不到该数据的 rows.parquet", "no such rows.parquet")
    names = pq.read_schema(path).names
    missing = [c for c in _FEED_NEEDS if c not in names]
    if missing:
        raise InputError(f"feed {name}", str(path),
                         f"缺少列 {', '.join(missing)}（应为 yibao match ingest 的输出）",
                         f"missing columns {', '.join(missing)} (expected the output of yibao match ingest)")
    raw = "id_raw" if "id_raw" in names else "NULL::VARCHAR"
    label = name.replace("'", "''")
    return (f"SELECT '{label}' AS feed, source_row::BIGINT AS source_row, id_number, {raw} AS id_raw "
            f"FROM read_parquet({_quote(path)})")


def _connect(memory_limit: str, threads: int, temp_directory: Path | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")  # lets the join stream and spill
    con.execute("SET enable_progress_bar = false")
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {_quote(temp_directory)}")
    return con


def exact_links(register: str | Path, feeds: Mapping[str, str | Path], out: str | Path, *,
                memory_limit: str = "3GB", threads: int = 2, temp_directory: str | Path | None = None,
                register_unique: bool = False) -> ExactResult:
    """Join every feed's ``rows.parquet`` to the register and write ``out`` (links, Parquet, zstd).

    ``register`` is an export folder (``persons.parquet`` is read) or a persons Parquet file;
    ``feeds`` maps a feed name to the ``rows.parquet`` that ``yibao match ingest`` wrote. With
    ``register_unique`` the caller vouches that no ID appears twice (yibao's own export: a unique
    index), which saves one pass over the register; otherwise duplicates are counted and resolved
    to the smaller person_id.
    """
    start = time.perf_counter()
    reg = Path(register)
    persons = reg / "persons.parquet" if reg.is_dir() else reg
    _check_persons(persons)
    if not feeds:
        raise InputError("feeds", "{}", "至少需要一个数据文件", "at least one feed is needed")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(temp_directory) if temp_directory is not None else out.parent / ".duckdb_tmp"
    con = _connect(memory_limit, threads, tmp_dir)
    try:
        src = f"read_parquet({_quote(persons)})"
        n_persons = con.execute(f"SELECT count(*) FROM {src}").fetchone()
        duplicates = 0
        if register_unique:
            con.execute(f"CREATE TEMP VIEW reg AS SELECT person_id, id_number FROM {src}")
        else:
            con.execute(f"CREATE TEMP TABLE reg AS SELECT min(person_id) AS person_id, id_number, "
                        f"count(*) AS n FROM {src} GROUP BY id_number")
            got = con.execute("SELECT count(*) FROM reg WHERE n > 1").fetchone()
            duplicates = int(got[0]) if got else 0
        feed_sql = " UNION ALL ".join(_feed_select(name, Path(p)) for name, p in feeds.items())
        # a legacy ID: the feed wrote 15 characters that ingest turned into 18
        query = f"""
            SELECT f.feed, f.source_row, r.person_id,
                   CASE WHEN r.person_id IS NULL THEN 'none'
                        WHEN length(f.id_number) = 18 AND length(trim(f.id_raw)) = 15
                             THEN 'exact_id_legacy15'
                        ELSE 'exact_id' END AS method,
                   CASE WHEN r.person_id IS NULL THEN NULL ELSE 1.0 END::DOUBLE AS match_probability,
                   NULL::DOUBLE AS match_weight,
                   r.person_id AS cluster_id
            FROM ({feed_sql}) f LEFT JOIN reg r ON f.id_number = r.id_number"""
        tmp = out.with_suffix(".parquet.part")
        con.execute(f"COPY ({query}) TO {_quote(tmp)} (FORMAT parquet, COMPRESSION zstd)")
        tmp.replace(out)
        counts: dict[str, dict[str, int]] = {}
        for feed, method, n in con.execute(
                f"SELECT feed, method, count(*) FROM read_parquet({_quote(out)}) GROUP BY ALL ORDER BY ALL"
        ).fetchall():
            counts.setdefault(str(feed), {})[str(method)] = int(n)
    finally:
        con.close()
        if temp_directory is None and tmp_dir.is_dir() and not any(tmp_dir.iterdir()):
            tmp_dir.rmdir()  # the scratch folder we made, now empty
    return ExactResult(out, counts, int(n_persons[0]) if n_persons else 0, duplicates,
                       time.perf_counter() - start,
                       {"memory_limit": memory_limit, "threads": str(threads),
                        "temp_directory": str(tmp_dir)})


def exact_links_frame(register: str | Path, feeds: Mapping[str, pl.DataFrame], workdir: str | Path
                      ) -> pl.DataFrame:
    """The same for feed rows already in memory (small runs, tests): the links as a DataFrame."""
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in feeds.items():
        paths[name] = work / f"{name}.rows.parquet"
        frame.write_parquet(paths[name])
    result = exact_links(register, paths, work / "links_exact.parquet")
    links = pl.read_parquet(result.links).cast(LINK_SCHEMA)  # type: ignore[arg-type]
    return links.sort("feed", "source_row")
