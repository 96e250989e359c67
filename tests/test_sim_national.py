"""The lab's national year gives the same result whatever the chunk size, the number of worker
processes or the backend (numpy in processes, Spark local mode through mapInArrow), given the same
seed (issue 7); it resumes from its checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from yibao.sim import national as national_mod
from yibao.sim.calibrate import calibrated_years
from yibao.sim.national import COUNTED, NationalJob, national_year, national_year_spark
from yibao.sim.population import BLOCK_SIZE, population_plan


@pytest.fixture(scope="module")
def job() -> NationalJob:
    cal = calibrated_years(agents=4_000, seed=3)
    plan = population_plan(2021, 3 * BLOCK_SIZE + 1_000, seed=3)  # four blocks, the last one short
    return NationalJob.from_calibration(plan, cal[2021], chunk_blocks=1)


def _with(job: NationalJob, chunk_blocks: int) -> NationalJob:
    return NationalJob(job.plan, job.base_ratio, job.utilisation, job.reforms, chunk_blocks)


def test_chunks_and_workers_do_not_change_the_result(job: NationalJob) -> None:
    reference = national_year(job, workers=1)
    assert int(reference.sums[:, COUNTED.index("records")].sum()) == job.plan.total
    assert (reference.sums[:, COUNTED.index("admissions")] > 0).all()
    for chunk_blocks, workers in ((1, 2), (3, 2), (4, 1), (2, 2)):
        other = national_year(_with(job, chunk_blocks), workers=workers)
        assert np.array_equal(other.sums, reference.sums), (chunk_blocks, workers)
        assert other.total("employer") == reference.total("employer")


def test_an_interrupted_run_resumes_from_its_checkpoint(
    job: NationalJob, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "national.jsonl"

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        national_year(job, workers=1, checkpoint=checkpoint, progress=stop_after_two)
    computed: list[int] = []
    real = national_mod.run_chunk

    def counting(j: NationalJob, chunk: int) -> np.ndarray:
        computed.append(chunk)
        return real(j, chunk)

    monkeypatch.setattr(national_mod, "run_chunk", counting)
    resumed = national_year(job, workers=1, checkpoint=checkpoint)
    assert sorted(computed) == [2, 3]  # the first two chunks came from the checkpoint
    monkeypatch.setattr(national_mod, "run_chunk", real)
    assert np.array_equal(resumed.sums, national_year(job, workers=1).sums)


def test_spark_local_mode_gives_the_same_sums(job: NationalJob) -> None:
    from yibao.match.linkage import _spark_session

    spark = _spark_session()
    try:
        on_spark = national_year_spark(_with(job, 2), spark)
    finally:
        spark.stop()
    assert np.array_equal(on_spark.sums, national_year(job, workers=1).sums)


def test_bench_lab_quick_reports_the_three_measures() -> None:
    import json

    from typer.testing import CliRunner

    from yibao.cli.bench import app

    result = CliRunner().invoke(app, ["lab", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["records"] == 300_001 and r["peak_rss_bytes"] > 0 and "records_per_s" in r
    assert r["projection_records"] >= 1_000
    assert r["projection_exhaustion_year"] is None or r["projection_exhaustion_year"] > 2024
    # the same work on both sides: the peer's rows are the sample's in-service members and admissions
    assert r["peer_rows"]["contributions"] > 0 and r["peer_rows"]["first_admissions"] > 0
    assert r["ratio_vs_openfisca"] > 0
    bad = CliRunner().invoke(app, ["lab", "--workers", "0"])
    assert bad.exit_code == 2 and "--workers" in bad.output
