"""One year of the whole membership, person by person, streamed in chunks (issue 7's scale).

The population is the year's :func:`~yibao.sim.population.population_plan` with one record per
person (``agents=None``: 354 million in 2021) or a sample. Records are generated block by block
(:data:`~yibao.sim.population.BLOCK_SIZE`, each block its own random stream), run through the
year's rules (:func:`~yibao.sim.year.person_year`) and reduced at once to integer sums per status;
only the sums leave a worker, so memory stays that of a few blocks whatever the population.

**Same result however it is run.** A chunk is a run of whole blocks. Sums are int64 fen per
status, added in any order; a weighted total multiplies each status's sum by its weight at the
end. So the result is identical for any chunk size, any number of worker processes, and on Spark
(:func:`national_year_spark`: the same chunk function through ``mapInArrow``). Finished chunks
are written to a checkpoint file, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Final

import numpy as np

from yibao.sim.calibrate import CalibratedYear
from yibao.sim.funds import FEN_PER_YI, RELIEF_2020_EMPLOYER_MONTHS, lab_policy
from yibao.sim.population import STATUSES, PopulationPlan, population_block
from yibao.sim.year import RESULT_COLUMNS, YearRules, YearSettings, person_year

__all__ = ["COUNTED", "NationalJob", "NationalYear", "national_year", "national_year_spark", "run_chunk"]

#: What a chunk sums per status: the year's result columns, records and claims.
COUNTED: Final = (*RESULT_COLUMNS, "records")


@dataclass(frozen=True)
class NationalJob:
    """Everything a worker needs, as plain values (it is pickled to worker processes and Spark)."""

    plan: PopulationPlan
    base_ratio: float
    utilisation: Any  # yibao.sim.claims.Utilisation
    reforms: tuple[str, ...] = ()
    chunk_blocks: int = 16

    @property
    def chunks(self) -> int:
        return -(-self.plan.blocks // self.chunk_blocks)

    @property
    def employer_months(self) -> int:
        return 12 - (RELIEF_2020_EMPLOYER_MONTHS if self.plan.year == 2020 else 0)

    @classmethod
    def from_calibration(
        cls, plan: PopulationPlan, c: CalibratedYear, reforms: tuple[str, ...] = (), chunk_blocks: int = 16
    ) -> NationalJob:
        return cls(plan, c.base_ratio, c.utilisation, reforms, chunk_blocks)


@lru_cache(maxsize=4)
def _rules(year: int, reforms: tuple[str, ...]) -> YearRules:
    return YearRules.build(lab_policy(reforms), year)


def run_chunk(job: NationalJob, chunk: int) -> np.ndarray:
    """The integer sums of one chunk: an int64 array (statuses × COUNTED)."""
    rules = _rules(job.plan.year, job.reforms)
    settings = YearSettings(job.base_ratio, job.utilisation, job.employer_months)
    sums = np.zeros((len(STATUSES), len(COUNTED)), dtype=np.int64)
    first = chunk * job.chunk_blocks
    for block in range(first, min(job.plan.blocks, first + job.chunk_blocks)):
        m = population_block(job.plan, block)
        res = person_year(m, rules, settings, job.plan.seed, block)
        status = m["status"]
        for j, col in enumerate(RESULT_COLUMNS):
            sums[:, j] += np.bincount(status, weights=res[col], minlength=len(STATUSES)).astype(np.int64)
        sums[:, -1] += np.bincount(status, minlength=len(STATUSES))
    return sums


@dataclass(frozen=True)
class NationalYear:
    """The sums of a whole run, per status (int64 fen, counts), and the weighted totals."""

    job: NationalJob
    sums: np.ndarray

    def total(self, column: str) -> float:
        """Weighted total of a column, 亿元 for money (weights per status: persons / records)."""
        w = np.array([p / r for p, r in zip(self.job.plan.persons, self.job.plan.records, strict=True)])
        value = float(w @ self.sums[:, COUNTED.index(column)])
        return value if column in ("admissions", "records") else value / FEN_PER_YI

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.job.plan.year,
            "records": int(self.sums[:, -1].sum()),
            "sums": {c: [int(x) for x in self.sums[:, j]] for j, c in enumerate(COUNTED)},
        }


def _checkpoint(path: Path | None, fingerprint: str) -> dict[int, np.ndarray]:
    if path is None or not path.exists():
        return {}
    done = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("job") == fingerprint:
            done[int(rec["chunk"])] = np.asarray(rec["sums"], dtype=np.int64)
    return done


def _fingerprint(job: NationalJob) -> str:
    return json.dumps(
        [
            job.plan.year,
            job.plan.seed,
            job.plan.records,
            job.base_ratio,
            repr(job.utilisation),
            job.reforms,
            job.chunk_blocks,
        ]
    )


def national_year(
    job: NationalJob,
    workers: int = 2,
    checkpoint: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NationalYear:
    """Run every chunk over ``workers`` processes (1: in this process); resume from ``checkpoint``."""
    fp = _fingerprint(job)
    done = _checkpoint(checkpoint, fp)
    todo = [c for c in range(job.chunks) if c not in done]
    log = checkpoint.open("a") if checkpoint else None

    def finished(chunk: int, sums: np.ndarray) -> None:
        done[chunk] = sums
        if log:
            log.write(json.dumps({"job": fp, "chunk": chunk, "sums": sums.tolist()}) + "\n")
            log.flush()
        if progress:
            progress(len(done), job.chunks)

    try:
        if workers <= 1:
            for c in todo:
                finished(c, run_chunk(job, c))
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                futures = {pool.submit(run_chunk, job, c): c for c in todo}
                for f in as_completed(futures):
                    finished(futures[f], f.result())
    finally:
        if log:
            log.close()
    total = np.zeros((len(STATUSES), len(COUNTED)), dtype=np.int64)
    for sums in done.values():
        total += sums
    return NationalYear(job, total)


def _spark_chunks(job: NationalJob) -> Callable[[Iterator[Any]], Iterator[Any]]:
    def compute(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            for chunk in batch.column("id").to_pylist():
                sums = run_chunk(job, int(chunk))
                yield pa.RecordBatch.from_pydict({"chunk": [int(chunk)], "sums": [sums.ravel().tolist()]})

    return compute


def national_year_spark(job: NationalJob, spark: Any) -> NationalYear:
    """The same run on Spark: one task per chunk through ``mapInArrow``, sums collected and added."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter (STACK.md)
    frame = spark.range(job.chunks, numPartitions=min(job.chunks, 64))
    rows = frame.mapInArrow(_spark_chunks(job), "chunk long, sums array<long>").collect()
    total = np.zeros((len(STATUSES), len(COUNTED)), dtype=np.int64)
    for r in rows:
        total += np.asarray(r["sums"], dtype=np.int64).reshape(total.shape)
    return NationalYear(job, total)
