"""The policy lab's population (issue 7): member counts by status, calibrated to the national
statistics (statistics.yaml, copied with sources from policy_sources.yaml), one year held out."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from yibao.cli.lab import app
from yibao.errors import YibaoError
from yibao.sim.calibrate import TOLERANCE, count_calibration
from yibao.sim.population import STATUSES, build_population, insured_counts, share_series
from yibao.sim.statistics import Statistics, national_statistics


def test_calibration_of_member_counts_figure_by_figure() -> None:
    table = count_calibration(held_out=2020)
    with pl.Config(tbl_rows=60, tbl_width_chars=160):
        print(table)  # the report, figure by figure (pytest -s shows it)
    fit = table.filter(pl.col("role") == "fit")
    held = table.filter(pl.col("role") == "held out")
    assert fit.height >= 19 and held.height == 3
    assert fit["error"].abs().max() <= TOLERANCE  # type: ignore[operator]
    # the 2020 splits interpolated from 2019 and 2021: within 3% of the yearbook and the bulletin
    assert set(held["how"]) == {"interpolated 2019–2021"}
    assert held["error"].abs().max() <= TOLERANCE  # type: ignore[operator]


def test_2021_bulletin_counts_are_reproduced() -> None:
    """2021年全国医疗保障事业发展统计公报: 35431万 members, 26106万 in service, 9324万 retired
    (ratio 2.80), 4853万 flexible workers and others."""
    c = insured_counts(2021)
    assert (c.total, c.in_service + 0, c.retired, c.flexible) == (
        354_310_000,
        261_070_000,
        93_240_000,
        48_530_000,
    )
    assert round(c.in_service / c.retired, 2) == 2.80
    assert c.how == {"retired_share": "published", "flexible_share": "published"}


def test_years_without_a_split_are_interpolated_or_extrapolated() -> None:
    c2023 = insured_counts(2023)  # no split published: between 2022 (flash) and 2024 (ratio 2.63)
    assert c2023.how["retired_share"] == "interpolated 2022–2024"
    assert 9636 / 36243 < c2023.retired_share < 10453.9 / 37948.34
    c2018 = insured_counts(2018)
    assert c2018.how["retired_share"] == "extrapolated from 2019, 2020"
    assert c2018.how["flexible_share"] == "published"
    got = share_series({2019: 1.0, 2021: 3.0}, {2019: 10.0, 2021: 10.0}, 2020)
    assert got == (0.2, "interpolated 2019–2021")
    assert share_series({2019: 1.0}, {2019: 10.0}, 2030) == (0.1, "carried from 2019")


def test_held_out_year_hides_only_its_own_splits() -> None:
    shown, hidden = insured_counts(2020), insured_counts(2020, held_out=2020)
    assert shown.how["retired_share"] == "published"
    assert hidden.how["retired_share"] == "interpolated 2019–2021"
    assert shown.total == hidden.total  # the total is never held out
    assert insured_counts(2021, held_out=2020) == insured_counts(2021)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=4, max_value=5_000),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([2018, 2019, 2020, 2021, 2022, 2023, 2024]),
)
def test_weights_add_up_to_the_counts_whatever_the_sample(agents: int, seed: int, year: int) -> None:
    sample = build_population(year, agents, seed)
    counts = insured_counts(year)
    sums = dict(sample.group_by("status").agg(pl.col("weight").sum()).iter_rows())
    for code, status in enumerate(STATUSES):
        assert sums[code] == pytest.approx(counts.by_status[status], abs=1e-3)
    assert (sample.filter(pl.col("status") >= 2)["wage_fen"] == 0).all()  # retirees earn no wage here
    assert sample["age"].min() >= 18  # type: ignore[operator]


def test_same_seed_same_sample() -> None:
    assert build_population(2022, 1_000, 7).equals(build_population(2022, 1_000, 7))
    assert not build_population(2022, 1_000, 7).equals(build_population(2022, 1_000, 8))


def test_a_broken_statistics_file_is_refused_with_its_place() -> None:
    data = national_statistics().model_dump()
    data["figures"]["employee_enrollees"]["values"][0]["source"] = "nowhere"
    with pytest.raises(ValueError, match="unknown sources nowhere"):
        Statistics.model_validate(data)
    with pytest.raises(YibaoError) as info:
        insured_counts(2010)
    assert "2018" in info.value.en and "year" in info.value.en


def test_cli_lab_calibrate_and_statistics() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["calibrate", "--agents", "2000"])
    assert result.exit_code == 0, result.output
    assert "held out: 6 figures" in result.output and "check: 5 figures" in result.output
    args = ["calibrate", "--agents", "2000", "--held-out", "2020", "--json"]
    got = json.loads(runner.invoke(app, args).stdout)
    held = {r["figure"]: r["how"] for r in got["figures"] if r["role"] == "held out"}
    between = "interpolated 2019–2021"
    assert held == {
        "employee_in_service": between,
        "employee_retired": between,
        "flexible_and_other_enrollees": between,
        "employee_account_balance": "rules",
    }
    assert [p["year"] for p in got["parameters"]] == list(range(2018, 2025))
    stats = runner.invoke(app, ["statistics", "--json"])
    assert stats.exit_code == 0
    income = [r for r in json.loads(stats.stdout) if r["figure"] == "employee_fund_income"]
    assert {r["year"]: r["value"] for r in income}[2021] == 19003.10  # 2021 bulletin, 亿元
    bad = runner.invoke(app, ["calibrate", "--agents", "5"])
    assert bad.exit_code == 2 and "--agents" in bad.output and "Traceback" not in bad.output


def test_a_real_extract_loads_as_the_population(tmp_path: Path) -> None:
    import datetime as dt

    from yibao.errors import InputError
    from yibao.sim.extract import load_extract
    from yibao.sim.population import COLUMNS

    good = pl.DataFrame(
        {
            "status": ["unit_in_service", "unit_retired", "flexible_in_service"],
            "sex": ["male", "female", "female"],
            "birth_date": [dt.date(1980, 5, 1), dt.date(1950, 1, 31), dt.date(1999, 12, 1)],
            "original_age": [60, 50, 55],
            "wage_yuan": [96000.0, 0.0, 60000.0],
            "pension_yuan": [0.0, 36000.0, 0.0],
        }
    )
    path = tmp_path / "extract.parquet"
    good.write_parquet(path)
    m = load_extract(path, 2024)
    assert m.columns == list(COLUMNS)
    assert m["status"].to_list() == [0, 2, 1] and m["age"].to_list() == [44, 74, 25]
    assert (
        m["wage_fen"][0] == 9_600_000
        and m["pension_fen"][1] == 3_600_000
        and m["weight"].to_list() == [1.0] * 3
    )
    for column, value, accepted in (
        ("status", "retired", "unit_in_service"),
        ("original_age", 65, "50, 55 or 60"),
        ("wage_yuan", -1.0, "non-negative"),
    ):
        bad = good.with_columns(pl.Series(column, [good[column][0], value, good[column][2]]))
        bad.write_parquet(path)
        with pytest.raises(InputError) as e:
            load_extract(path, 2024)
        assert f"{column}[1]" in str(e.value) and accepted in str(e.value)
    good.drop("wage_yuan").write_parquet(path)
    with pytest.raises(InputError, match="wage_yuan"):
        load_extract(path, 2024)
