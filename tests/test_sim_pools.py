"""Pooling regions in the lab and the adjustment fund between them (issue 7; seed 000 §三(二))."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli.lab import app
from yibao.sim.assumptions import lab_assumptions
from yibao.sim.calibrate import calibrated_years
from yibao.sim.funds import sample_columns
from yibao.sim.pools import Pool, pool_start
from yibao.sim.population import STATUSES, build_population
from yibao.sim.projection import ProjectionStart


@pytest.fixture(scope="module")
def start() -> ProjectionStart:
    cal = calibrated_years(agents=3_000, seed=3)
    return ProjectionStart(
        sample_columns(build_population(2024, 3_000, 3)),
        cal[2024],
        cal[2023].account_balance,
        float(lab_assumptions()["pooled_balance_2023"]),
    )


def _mean_wage(m: dict[str, np.ndarray]) -> float:
    w = m["weight"] * (m["status"] < 2)
    return float(w @ m["wage_fen"]) / float(w.sum())


def test_a_pool_is_the_national_sample_at_its_size_retired_share_and_wage_level(
    start: ProjectionStart,
) -> None:
    national = start.sample
    p = pool_start(Pool(id="old", members_share=0.1, retired_share=0.4, wage_ratio=1.5), start)
    m = p.sample
    members = float(m["weight"].sum())
    assert members == pytest.approx(0.1 * float(national["weight"].sum()), rel=1e-12)
    assert float(m["weight"][m["status"] >= 2].sum()) / members == pytest.approx(0.4, rel=1e-12)
    assert _mean_wage(m) == pytest.approx(1.5 * _mean_wage(national), rel=1e-6)
    # the same people otherwise: ages, statuses, months paid
    for k in ("status", "birth_month", "months_paid", "original_age"):
        assert (m[k] == national[k]).all()
    # accounts start from the nation's balance per member, scaled by the wage level
    assert p.account_balance_before == pytest.approx(start.account_balance_before * 0.1 * 1.5)
    assert p.pooled_balance_before == 0.0


def _write_extract(start: ProjectionStart, path: Path) -> None:
    """The sample in the documented extract layout (docs/lab.md), a thousandth of its weight."""
    m = start.sample
    birth = m["birth_month"]
    pl.DataFrame(
        {
            "status": [STATUSES[s] for s in m["status"]],
            "sex": np.where(m["male"], "male", "female"),
            "birth_date": [dt.date(int(b // 12), int(b % 12) + 1, 1) for b in birth],
            "original_age": m["original_age"].astype(np.int64),
            "wage_yuan": m["wage_fen"] / 100,
            "pension_yuan": m["pension_fen"] / 100,
            "months_paid": m["months_paid"],
            "weight": m["weight"] / 1000,
        }
    ).write_parquet(path)


SCENARIO = """name_zh: 调剂金测试
name_en: Adjustment fund test
agents: 2000
draws: 2
end_year: 2034
variants:
  - {id: account_phase_out, reforms: [account_phase_out]}
pools:
  - {id: young, name_zh: 年轻地区, name_en: Young pool, members_share: 0.03, retired_share: 0.15,
     wage_ratio: 1.3}
  - {id: old, name_zh: 老工业地区, name_en: Old industrial pool, members_share: 0.01, retired_share: 0.45,
     wage_ratio: 0.8, balance_months: 3}
  - {id: bureau, extract: members.parquet, pooled_balance_yi: 40}
adjustment_fund: {levy_rate: 0.03, allocation: deficit, central_subsidy: true, draws: 2}
"""


def test_a_scenario_with_pools_moves_money_between_them_to_the_fen(
    start: ProjectionStart, tmp_path: Path
) -> None:
    """Seed 000 §三(二): the region that cannot balance is helped by the others' levies and, for
    the rest, by the centre. The old pool (45% retired, a scenario value) runs out alone; with the
    fund and the central subsidy it never does; the young pool pays in and gets nothing."""
    _write_extract(start, tmp_path / "members.parquet")
    scenario = tmp_path / "pools.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert first.exit_code == 0, first.output
    pools = pl.read_parquet(out / "pools.parquet")
    fund = pl.read_parquet(out / "adjustment_fund.parquet")
    assert set(pools["pool"]) == {"young", "old", "bureau"} and pools["draw"].n_unique() == 2
    assert set(pools["variant"]) == {"baseline", "no_retirement_rise", "account_phase_out"}
    # each year: the levies less the grants are what the fund kept (fen inside, 亿元 here)
    flows = pools.group_by(["variant", "draw", "year"]).agg(pl.col("levy").sum(), pl.col("grant").sum())
    both = flows.join(fund, on=["variant", "draw", "year"])
    kept = both["fund_closing"] - both["fund_opening"]
    assert np.allclose((both["levy"] - both["grant"]).to_numpy(), kept.to_numpy(), atol=1e-8)
    # alone, the balance is the opening plus every year's income less spending
    for (_v, _d, _p), g in pools.group_by(["variant", "draw", "pool"]):
        g = g.sort("year")
        steps = (g["pooled_income"] - g["pooled_spending"]).to_numpy()
        assert np.allclose(np.diff(g["balance_alone"].to_numpy()), steps[1:], atol=1e-6)
    # with the fund, a pool's balance moves by its own flows plus its grant and subsidy, less its levy
    g = pools.filter((pl.col("variant") == "baseline") & (pl.col("draw") == 0) & (pl.col("pool") == "old"))
    g = g.sort("year")
    moved = (g["pooled_income"] - g["pooled_spending"] - g["levy"] + g["grant"] + g["central"]).to_numpy()
    assert np.allclose(np.diff(g["pooled_balance"].to_numpy()), moved[1:], atol=1e-6)
    summary = pl.read_parquet(out / "pool_summary.parquet").filter(
        (pl.col("variant") == "baseline") & (pl.col("draw") == 0)
    )
    rows = {r["pool"]: r for r in summary.iter_rows(named=True)}
    assert rows["old"]["exhaustion_alone"] is not None and rows["old"]["exhaustion_with_fund"] is None
    assert rows["old"]["grants"] > 0 and rows["old"]["net_transfer"] > 0
    assert rows["young"]["exhaustion_alone"] is None and rows["young"]["grants"] == 0
    assert rows["young"]["net_transfer"] < 0
    assert rows["bureau"]["retired_share_2024"] == pytest.approx(
        float(start.sample["weight"][start.sample["status"] >= 2].sum() / start.sample["weight"].sum())
    )
    report = (out / "report.html").read_text(encoding="utf-8")
    for text in ("调剂金", "Adjustment fund", "老工业地区 / Old industrial pool", "levy 3.00%"):
        assert text in report
    part = out / "parts" / "pool__baseline__old__0001.parquet"
    stamp = part.stat().st_mtime_ns
    again = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert again.exit_code == 0 and part.stat().st_mtime_ns == stamp  # resumed
    # a changed extract is a new scenario: the run starts afresh
    _write_extract(start, tmp_path / "members.parquet")
    pl.read_parquet(tmp_path / "members.parquet").head(500).write_parquet(tmp_path / "members.parquet")
    third = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert third.exit_code == 0 and part.stat().st_mtime_ns != stamp


@pytest.mark.parametrize(
    ("pools", "names"),
    [
        ("pools:\n  - {id: a, members_share: 0.1}\n  - {id: b}\n", ("pools.1", "members_share")),
        ("pools:\n  - {id: a, members_share: 0.1}\n", ("pools", "at least two")),
        (
            "pools:\n  - {id: a, members_share: 0.1}\n"
            "  - {id: b, extract: nowhere.parquet, balance_months: 6}\n",
            ("pools[1].extract", "nowhere.parquet"),
        ),
        (
            "pools:\n  - {id: a, members_share: 0.1}\n  - {id: b, extract: nowhere.parquet}\n",
            ("pools.1", "pooled_balance_yi"),
        ),
        (
            "pools:\n  - {id: a, members_share: 0.1}\n  - {id: b, members_share: 2}\n",
            ("pools.1.members_share", "1"),
        ),
        ("adjustment_fund: {levy_rate: 0.03, draws: 50}\n", ("adjustment_fund.draws", "draws")),
        ("adjustment_fund: {allocation: lottery}\n", ("adjustment_fund.allocation", "deficit")),
    ],
)
def test_a_bad_pool_or_fund_is_refused_before_any_work(
    tmp_path: Path, pools: str, names: tuple[str, str]
) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("agents: 2000\ndraws: 3\n" + pools, encoding="utf-8")
    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out)])
    assert r.exit_code == 2, r.output
    for name in names:
        assert name in r.output
    assert "Traceback" not in r.output and not out.exists()


def test_a_pool_like_the_nation_is_the_nation_scaled(start: ProjectionStart) -> None:
    """A pool with the nation's retired share and wages is the nation at its size: members, pooled
    income and spending are the national path times its share, every year (the rules are per
    person; only the weights change)."""
    from yibao.sim.funds import lab_policy
    from yibao.sim.projection import assumption_draws, project

    a = lab_assumptions()
    central = assumption_draws(a, 1, 1)[0]
    nation, _ = project(start, central, a, lab_policy(), end_year=2030)
    pool, _ = project(
        pool_start(Pool(id="p", members_share=0.25), start), central, a, lab_policy(), end_year=2030
    )
    for col in ("members", "retired", "pooled_income", "pooled_spending"):
        assert np.allclose(pool[col].to_numpy(), 0.25 * nation[col].to_numpy(), rtol=1e-9), col


def test_new_form_workers_from_an_extract_pay_the_new_form_rule_where_a_region_has_one(
    start: ProjectionStart, tmp_path: Path
) -> None:
    """Seed 002's category (reforms/new_form_category.yaml, from 2025): the extract's
    ``new_form_in_service`` members are flexible workers in service to the lab; without a new-form
    rule they pay exactly as flexible workers (DOMAIN.md §1), under the category the new-form rule
    (rules/contribution.py, person type new_form); nobody else's contribution moves."""
    from yibao.rules.contribution import FLEXIBLE, NEW_FORM, assess_contributions
    from yibao.sim.extract import load_extract
    from yibao.sim.funds import lab_policy
    from yibao.sim.metrics import NEW_FORM_NAME, person_frame
    from yibao.sim.year import YearRules, YearSettings, contributions_year, person_year

    _write_extract(start, tmp_path / "m.parquet")
    frame = pl.read_parquet(tmp_path / "m.parquet")
    flexible = np.flatnonzero((frame["status"] == "flexible_in_service").to_numpy())
    marked = flexible[::2]
    status = frame["status"].to_numpy().copy()
    status[marked] = "new_form_in_service"
    frame.with_columns(pl.Series("status", status)).write_parquet(tmp_path / "m.parquet")
    m = sample_columns(load_extract(tmp_path / "m.parquet", 2024))
    assert m["new_form"].sum() == marked.size > 0 and (m["status"][marked] == 1).all()

    ratio = start.calibrated.base_ratio
    base = contributions_year(m, YearRules.build(lab_policy(), 2025), ratio)
    rules = YearRules.build(lab_policy(("new_form_category",)), 2025)
    reform = contributions_year(m, rules, ratio)
    monthly = np.round(m["wage_fen"][marked] / 12 * ratio).astype(np.int64)
    as_flexible = assess_contributions(monthly, np.full(marked.size, FLEXIBLE, np.int8), rules.contribution)
    as_new_form = assess_contributions(monthly, np.full(marked.size, NEW_FORM, np.int8), rules.contribution)
    assert (base["individual"][marked] == as_flexible.individual_total_fen * 12).all()
    assert (reform["individual"][marked] == as_new_form.individual_total_fen * 12).all()
    assert (reform["individual"][marked] != base["individual"][marked]).any()
    others = np.ones(m["status"].size, bool)
    others[marked] = False
    for k in ("employer", "individual", "account_credit"):
        assert (reform[k][others] == base[k][others]).all(), k
    kept = m | {
        f"r_{k}": v
        for k, v in person_year(m, rules, YearSettings(ratio, start.calibrated.utilisation), 1, 0).items()
    }
    names = person_frame(kept)["status_name"].to_numpy()
    assert (names[marked] == NEW_FORM_NAME).all() and NEW_FORM_NAME not in set(names[others])
