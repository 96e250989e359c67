"""Benchmark of exact ID matching (issue 6): N register persons × N feed rows on disk, on DuckDB.

**Data.** Written in chunks straight from numpy byte matrices to Parquet (no Python string per
row): the register's ``persons.parquet`` (``person_id``, ``id_number``) and a feed's
``rows.parquet`` as ``yibao match ingest`` writes it (``source_row``, ``id_number``, ``id_raw``).
IDs are valid GB 11643-1999 numbers built from a serial number (address code, birth date and
sequence in mixed radix, then the MOD 11-2 check), so they are distinct by construction. Feed row
``i`` carries serial ``0.1N + (a·i + b) mod N`` (a bijection for ``gcd(a, N) = 1``): the rows come
in scrambled order, 90% of them are register persons, 10% are not, and 5% have no usable ID.

**Measured.** :func:`yibao.match.exact.exact_links` from the Parquet files to the links Parquet
(both ends on disk, as in production), and a pandas ``merge`` of a sample of both sides on the ID
string, the obvious peer, in the same run; the ratio compares rows per second. The generation time
is reported separately and not counted.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yibao.match.synthetic.idgen import id_matrix, matrix_strings

__all__ = ["FULL", "QUICK", "TARGET_SECONDS", "bench_exact", "write_feed_rows", "write_persons"]

FULL: Final = {"rows": 50_000_000, "sample": 2_000_000}
QUICK: Final = {"rows": 200_000, "sample": 200_000}
#: issue 6: exact-ID matching of 50M × 50M rows in at most 2 minutes on this 2-core machine.
TARGET_SECONDS: Final = 120.0
_CHUNK: Final = 2_000_000
# address codes of the IDs (GB/T 2260 districts; only the province part is checked)
_REGIONS: Final = np.array([[int(c) for c in code] for code in
                            ("110101", "110105", "120101", "310101", "330106", "420102", "440106", "510104")],
                           dtype=np.uint8)
_DAYS: Final = 36_000  # birth dates from 1925-01-01 on
_EPOCH: Final = np.datetime64("1925-01-01", "D")

I64 = npt.NDArray[np.int64]


def _id_bytes(serial: I64) -> npt.NDArray[np.uint8]:
    """(n, 18) ASCII bytes of the distinct valid ID of each serial number (mixed radix)."""
    seq = serial % 1000
    rest = serial // 1000
    birth = _EPOCH + (rest % _DAYS).astype("timedelta64[D]")
    return id_matrix(_REGIONS[(rest // _DAYS) % _REGIONS.shape[0]], birth, seq)


def _strings(matrix: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """A pyarrow string array over the matrix's rows; ``valid`` False rows are null."""
    if valid is None:
        return matrix_strings(matrix)
    return pc.if_else(pa.array(valid), matrix_strings(matrix), pa.scalar(None, pa.string()))


def _write(path: Path, schema: pa.Schema, n: int, make: Callable[[int, int], list[pa.Array]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, compression="zstd", compression_level=1) as writer:
        for lo in range(0, n, _CHUNK):
            hi = min(n, lo + _CHUNK)
            writer.write_table(pa.table(make(lo, hi), schema=schema))


def write_persons(path: Path, n: int) -> None:
    """The register's persons (``person_id``, ``id_number``) for serials 0..n-1."""
    schema = pa.schema([("person_id", pa.int64()), ("id_number", pa.string())])

    def make(lo: int, hi: int) -> list[pa.Array]:
        serial = np.arange(lo, hi, dtype=np.int64)
        return [pa.array(serial + 1), _strings(_id_bytes(serial))]

    _write(path, schema, n, make)


def write_feed_rows(path: Path, n: int, seed: int = 1) -> None:
    """A feed's rows as ingest writes them: 90% register serials in scrambled order, 5% unusable."""
    schema = pa.schema([("source_row", pa.int64()), ("id_number", pa.string()), ("id_raw", pa.string())])
    a = 2_654_435_761 % n or 1
    while math.gcd(a, n) != 1:
        a += 1
    b = 12_345 % n
    rng = np.random.default_rng(seed)

    def make(lo: int, hi: int) -> list[pa.Array]:
        i = np.arange(lo, hi, dtype=np.int64)
        serial = n // 10 + (a * i + b) % n  # Python ints would be slower; a·i stays below 2^63
        ids = _id_bytes(serial)
        usable = rng.random(i.size) >= 0.05
        return [pa.array(i + 1), _strings(ids, usable), _strings(ids)]

    _write(path, schema, n, make)


@dataclass(frozen=True)
class Measured:
    seconds: float
    rows: int
    matched: int


def _world(folder: Path, rows: int) -> float:
    start = time.perf_counter()
    write_persons(folder / "register" / "persons.parquet", rows)
    write_feed_rows(folder / "feed" / "rows.parquet", rows)
    return time.perf_counter() - start


def _duckdb(folder: Path, memory_limit: str) -> Measured:
    from yibao.match.exact import exact_links

    result = exact_links(folder / "register", {"bench": folder / "feed" / "rows.parquet"},
                         folder / "run" / "links.parquet", memory_limit=memory_limit, threads=2,
                         temp_directory=folder / "tmp", register_unique=True)
    return Measured(result.seconds, result.rows, result.matched)


def _pandas(folder: Path) -> Measured:
    """pandas: read both files, ``merge`` on the ID string, write the links (the same work)."""
    import pandas as pd

    start = time.perf_counter()
    reg = pd.read_parquet(folder / "register" / "persons.parquet")
    rows = pd.read_parquet(folder / "feed" / "rows.parquet")
    merged = rows.merge(reg, on="id_number", how="left")
    matched = int(merged["person_id"].notna().sum())
    (folder / "run").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"source_row": merged["source_row"], "person_id": merged["person_id"]}).to_parquet(
        folder / "run" / "pandas_links.parquet")
    return Measured(time.perf_counter() - start, len(merged), matched)


def bench_exact(folder: Path, rows: int, sample: int, *, memory_limit: str = "6GB", keep: bool = False,
                log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """N × N on DuckDB, and a sample-size world on both DuckDB and pandas; the figures as one dict."""
    shutil.rmtree(folder, ignore_errors=True)
    sample = min(sample, rows)
    log(f"generating {rows:,} register persons and {rows:,} feed rows in {folder}")
    generated = _world(folder / "full", rows)
    log(f"generated in {generated:.1f} s; exact matching on DuckDB")
    duck = _duckdb(folder / "full", memory_limit)
    log(f"DuckDB {duck.seconds:.1f} s; the peer on {sample:,} × {sample:,}")
    _world(folder / "sample", sample)
    duck_s = _duckdb(folder / "sample", memory_limit)
    peer = _pandas(folder / "sample")
    if duck_s.matched != peer.matched:
        raise RuntimeError(f"DuckDB and pandas disagree: {duck_s.matched} vs {peer.matched} matches")
    size = sum(p.stat().st_size for p in (folder / "full").rglob("*.parquet"))
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {"rows": rows, "generate_seconds": round(generated, 2), "duckdb_seconds": round(duck.seconds, 2),
            "duckdb_rows_per_s": round(duck.rows / duck.seconds), "matched": duck.matched,
            "sample_rows": sample, "duckdb_sample_seconds": round(duck_s.seconds, 3),
            "pandas_sample_seconds": round(peer.seconds, 3),
            "pandas_rows_per_s": round(peer.rows / peer.seconds),
            "ratio_same_size": round(peer.seconds / duck_s.seconds, 2),
            "ratio_rows_per_s": round((duck.rows / duck.seconds) / (peer.rows / peer.seconds), 2),
            "bytes_on_disk": size, "memory_limit": memory_limit, "target_seconds": TARGET_SECONDS,
            "met": rows < FULL["rows"] or duck.seconds <= TARGET_SECONDS}
