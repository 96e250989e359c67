"""The policy lab's claims, projection, reforms, metrics and report (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from yibao.cli.lab import app
from yibao.sim.assumptions import lab_assumptions
from yibao.sim.calibrate import calibrated_years
from yibao.sim.demography import death_rate, gompertz_slope
from yibao.sim.funds import lab_policy, sample_columns
from yibao.sim.metrics import concentration_index
from yibao.sim.population import BLOCK_SIZE, build_population, population_block, population_plan
from yibao.sim.projection import ProjectionStart, assumption_draws, exhaustion_year, project
from yibao.sim.year import YearRules, YearSettings, person_year


def test_mortality_reproduces_the_table_life_expectancy() -> None:
    """CL1/CL2 (2000–2003): life expectancy at birth 76.7 (men), 80.9 (women); women's mortality
    below men's at every adult age; it rises with age and falls with improvement."""
    a = lab_assumptions()
    for sex, e0 in (("male", 76.7), ("female", 80.9)):
        b = gompertz_slope(a["mortality_q19"][sex], e0)
        q = np.minimum(1, a["mortality_q19"][sex] * np.exp(b * np.maximum(np.arange(120) - 19, 0)))
        assert np.cumprod(1 - q).sum() + 0.5 == pytest.approx(e0, abs=0.01)
    ages = np.arange(20, 100)
    men, women = death_rate(ages, np.ones(80, bool), 2024, a), death_rate(ages, np.zeros(80, bool), 2024, a)
    assert (women < men).all() and (np.diff(men) > 0).all()
    assert (death_rate(ages, np.ones(80, bool), 2030, a) < men).all()


def test_population_blocks_do_not_depend_on_how_they_are_built() -> None:
    plan = population_plan(2024, 3 * BLOCK_SIZE // 2, seed=4)
    whole = build_population(2024, 3 * BLOCK_SIZE // 2, 4)
    second = population_block(plan, 1)
    tail = whole.slice(BLOCK_SIZE)
    for col in ("status", "age", "wage_fen", "pension_fen"):
        assert (tail[col].to_numpy() == second[col]).all()


@pytest.fixture(scope="module")
def start() -> ProjectionStart:
    a = lab_assumptions()
    cal = calibrated_years(agents=4_000, seed=2)
    return ProjectionStart(
        sample_columns(build_population(2024, 4_000, 2)),
        cal[2024],
        cal[2023].account_balance,
        float(a["pooled_balance_2023"]),
    )


def test_abolishing_accounts_moves_every_fen_of_credit_to_the_pooled_fund(start: ProjectionStart) -> None:
    """Issue 7: what leaves the accounts enters the pooled fund, to the fen, in the first year
    (reforms/account_phase_out.yaml from 2025-01-01). On the records: contributions and claims are
    unchanged, credits fall to zero, and pooled income (contributions − credits) rises by exactly
    the credits that stopped."""
    m, c = start.sample, start.calibrated
    settings_ = YearSettings(c.base_ratio, c.utilisation)
    base = person_year(m, YearRules.build(lab_policy(), 2025), settings_, 1, 0)
    reform = person_year(m, YearRules.build(lab_policy(("account_phase_out",)), 2025), settings_, 1, 0)

    def pooled(r: dict[str, np.ndarray]) -> np.ndarray:
        return r["employer"] + r["individual"] + r["retiree"] - r["account_credit"]

    credits = int(base["account_credit"].sum())
    assert credits > 0 and int(reform["account_credit"].sum()) == 0
    assert int(pooled(reform).sum()) - int(pooled(base).sum()) == credits
    for k in ("employer", "individual", "retiree", "inpatient_fund", "outpatient_fund", "personal"):
        assert (base[k] == reform[k]).all(), k


def test_projection_paths(start: ProjectionStart) -> None:
    a = lab_assumptions()
    central = assumption_draws(a, 1, 1)[0]
    base, _ = project(start, central, a, lab_policy(), end_year=2040)
    again, _ = project(start, central, a, lab_policy(), end_year=2040)
    assert base.equals(again)  # same seed, same path
    old_ages, _ = project(start, central, a, lab_policy(), end_year=2040, retirement_reform=False)
    # without the 2025 rise more people retire: more retirees, less income, and the fund runs down sooner
    assert (old_ages["retired"] >= base["retired"]).all() and old_ages["retired"][-1] > base["retired"][-1]
    assert old_ages["pooled_balance"][-1] < base["pooled_balance"][-1]
    # the pooled balance carries year to year: B_y = B_{y-1} + income − spending
    b = base.with_columns(
        (pl.col("pooled_balance").shift(1) + pl.col("pooled_income") - pl.col("pooled_spending")).alias(
            "carried"
        )
    )
    assert np.allclose(b["carried"][1:].to_numpy(), b["pooled_balance"][1:].to_numpy())
    # in-service membership follows the assumed growth (0% central)
    assert base["in_service"].to_numpy() == pytest.approx(base["in_service"][0], rel=1e-9)
    # members retiring short of the minimum years pay the missing months: more of them when it rises
    raised, _ = project(start, central, a, lab_policy(("minimum_years_raise",)), end_year=2040)
    assert (raised["shortfall_payments"][1:] >= base["shortfall_payments"][1:]).all()
    assert raised["shortfall_payments"][1] > base["shortfall_payments"][1] > 0
    stopped, _ = project(start, central, a, lab_policy(("account_phase_out",)), end_year=2040)
    assert (stopped["pooled_balance"][1:] > base["pooled_balance"][1:]).all()
    assert (
        exhaustion_year(pl.DataFrame({"year": [2030, 2031, 2032], "pooled_balance": [5.0, -1.0, -3.0]}))
        == 2031
    )


def test_draws_stay_in_their_ranges() -> None:
    a = lab_assumptions()
    draws = assumption_draws(a, 50, 3)
    assert draws[0].wage_growth == a["wage_growth"]
    for d in draws:
        for k in ("wage_growth", "excess_cost_growth", "in_service_growth", "mortality_improvement"):
            lo, hi = a.parameters[k].range  # type: ignore[misc]
            assert lo <= getattr(d, k) <= hi


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1, 1e6), min_size=2, max_size=40), st.floats(0.5, 100))
def test_concentration_index_properties(income: list[float], scale: float) -> None:
    inc = np.asarray(income)
    w = np.ones(inc.size)
    gini = concentration_index(inc, inc, w)
    assert -1e-12 <= gini < 1  # equal incomes give 0 up to rounding (-6e-33 seen)
    assert concentration_index(inc * scale, inc, w) == pytest.approx(gini, abs=1e-9)  # scale-free
    assert concentration_index(np.full(inc.size, 7.0), inc, w) == pytest.approx(0, abs=1e-12)  # equal shares


def test_concentration_index_of_a_known_distribution() -> None:
    # everything to the richest of 4 (ranks 1/8, 3/8, 5/8, 7/8): CI = 2 cov(x, r) / mean = 0.75
    assert concentration_index([0, 0, 0, 4], [1, 2, 3, 4], [1, 1, 1, 1]) == pytest.approx(0.75)
    assert concentration_index([4, 0, 0, 0], [1, 2, 3, 4], [1, 1, 1, 1]) == pytest.approx(-0.75)


def test_lab_run_writes_a_self_contained_report_and_resumes(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name_zh: 测试\nname_en: Test\nagents: 2000\ndraws: 3\nend_year: 2035\n"
        "variants:\n  - {id: account_phase_out, reforms: [account_phase_out]}\n"
        "  - {id: flexible_rate_cut, reforms: [flexible_rate_cut]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert first.exit_code == 0, first.output
    report = (out / "report.html").read_text(encoding="utf-8")
    # self-contained: plotly.js inline, nothing fetched (no <script src>, no stylesheet link)
    assert "Plotly" in report and "<script src" not in report and "<link" not in report
    for text in ("校准", "Calibration", "曾益", "account_phase_out", "Kakwani", "北京市 / Beijing"):
        assert text in report
    paths = pl.read_parquet(out / "paths.parquet")
    assert set(paths["variant"]) == {
        "baseline",
        "no_retirement_rise",
        "account_phase_out",
        "flexible_rate_cut",
    }
    assert paths["draw"].n_unique() == 3 and paths["year"].max() == 2035
    # unit members pay the composite's 6% + 2% of their declared bases; this year's fair rate is lower
    # (they carry the retirees: pay-as-you-go)
    fair = pl.read_parquet(out / "fair_rates.parquet").filter(
        (pl.col("variant") == "baseline") & pl.col("status_name").str.contains("unit in service")
    )
    assert fair["rate_paid"][0] == pytest.approx(0.08, abs=1e-4) and 0 < fair["fair_rate"][0] < 0.08
    first_year = pl.read_parquet(out / "first_year.parquet").filter(pl.col("variant") == "account_phase_out")
    assert first_year["change_pooled_income"][0] == pytest.approx(-first_year["change_account_credits"][0])
    # a cut in contributions the budget could pay instead: the subsidy equals what the fund gives up
    cut = (
        pl.read_parquet(out / "first_year.parquet")
        .filter(pl.col("variant") == "flexible_rate_cut")
        .row(0, named=True)
    )
    assert (
        cut["change_contributions"] < 0 and cut["subsidy_to_keep_fund_whole"] == -cut["change_contributions"]
    )
    assert first_year["subsidy_to_keep_fund_whole"][0] == 0.0  # stopping credits moves money, cuts none
    part = out / "parts" / "baseline__0002.parquet"
    stamp = part.stat().st_mtime_ns
    again = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert again.exit_code == 0 and part.stat().st_mtime_ns == stamp  # resumed: not recomputed
    assert json.loads((out / "run.json").read_text())["fingerprint"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("assumptions: {wage_growth: 0.5}\n", encoding="utf-8")
    refused = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "o2")])
    assert refused.exit_code == 2 and "wage_growth" in refused.output and "0.03–0.07" in refused.output
    assert "Traceback" not in refused.output and not (tmp_path / "o2").exists()


def test_a_reform_laid_on_every_region_moves_each_regions_rate_and_the_spread(
    start: ProjectionStart, tmp_path: Path
) -> None:
    """Reforms between regions (seed 000 §三(一)): a user's overlay for every region — here the
    personal out-of-pocket cap set low enough to bind (2,000 yuan, a test value) — laid on each
    region's own rules settles the same claims again; no region's fund pays less, and the disparity
    table measures the regions' spread before and after."""
    from importlib import resources

    from yibao.sim.regional import disparity, regional_comparison

    shipped = (
        resources.files("yibao.policy").joinpath("params/reforms/personal_oop_cap.yaml").read_text("utf-8")
    )
    low = tmp_path / "low_cap.yaml"
    low.write_text(
        shipped.replace("id: personal_oop_cap", "id: low_cap").replace("value: 20000", "value: 2000"),
        encoding="utf-8",
    )
    u = start.calibrated.utilisation
    base = regional_comparison(start.sample, 2025, u, 7).with_columns(pl.lit("baseline").alias("variant"))
    cap = regional_comparison(start.sample, 2025, u, 7, reforms=(str(low),))
    cap = cap.with_columns(pl.lit("personal_oop_cap").alias("variant"))
    both = base.join(cap, on="code", suffix="_cap").filter(pl.col("inpatient_rate").is_not_null())
    assert both.height >= 1  # the regions whose inpatient rules are complete (issue 3 fills the rest)
    assert (both["inpatient_rate_cap"] >= both["inpatient_rate"] - 1e-12).all()
    assert (both["inpatient_rate_cap"] > both["inpatient_rate"]).any()  # the cap binds somewhere
    d = disparity(pl.concat([base, cap])).filter(pl.col("kind") == "inpatient")
    rows = {r["variant"]: r for r in d.iter_rows(named=True)}
    assert set(rows) == {"baseline", "personal_oop_cap"} and rows["baseline"]["regions"] == both.height
    for r in rows.values():
        assert r["spread"] == pytest.approx(r["highest"] - r["lowest"]) and r["cv"] >= 0
    assert rows["personal_oop_cap"]["lowest"] >= rows["baseline"]["lowest"]


def test_one_inpatient_rule_for_every_region_closes_the_spread(start: ProjectionStart) -> None:
    """Seed 000 §三(一) 逐步统一职工医保待遇, as the shipped overlay unify_inpatient (Beijing's rule as
    the common one, a scenario): every shipped region then settles the same inpatient claims, each at
    Beijing's own effective rate, so the inpatient spread across regions is 0."""
    from yibao.sim.regional import disparity, regional_comparison

    u = start.calibrated.utilisation
    base = regional_comparison(start.sample, 2025, u, 7).with_columns(pl.lit("baseline").alias("variant"))
    unified = regional_comparison(start.sample, 2025, u, 7, reforms=("unify_inpatient",)).with_columns(
        pl.lit("unify_inpatient").alias("variant")
    )
    beijing = base.filter(pl.col("code") == "110000")["inpatient_rate"][0]
    assert beijing is not None
    assert unified["inpatient_rate"].null_count() == 0 and unified.height == base.height >= 15
    assert np.allclose(unified["inpatient_rate"].to_numpy(), beijing, rtol=1e-12)
    assert base["inpatient_rate"].null_count() > 0  # without it, most regions' inpatient rules are unknown
    d = disparity(pl.concat([base, unified])).filter(pl.col("kind") == "inpatient")
    row = d.filter(pl.col("variant") == "unify_inpatient").row(0, named=True)
    assert row["regions"] == unified.height and row["spread"] == 0.0


def test_a_region_sourced_for_one_status_counts_for_that_status(start: ProjectionStart) -> None:
    """Tianjin's shipped inpatient rule is sourced for retirees only (tianjin.yaml): its all-member
    and in-service inpatient rates stay unknown, its retirees' rate is measured, and the retirees'
    disparity row counts it beside Beijing. The status rates bracket the all-member rate."""
    from yibao.sim.regional import disparity, regional_comparison

    r = regional_comparison(start.sample, 2025, start.calibrated.utilisation, 7)
    tianjin = r.filter(pl.col("code") == "120000").row(0, named=True)
    assert tianjin["inpatient_rate"] is None and tianjin["inpatient_rate_in_service"] is None
    assert tianjin["inpatient_rate_retired"] is not None and 0 < tianjin["inpatient_rate_retired"] < 1
    beijing = r.filter(pl.col("code") == "110000").row(0, named=True)
    lo, hi = sorted((beijing["inpatient_rate_in_service"], beijing["inpatient_rate_retired"]))
    assert lo <= beijing["inpatient_rate"] <= hi
    d = disparity(r.with_columns(pl.lit("baseline").alias("variant")))
    rows = {row["kind"]: row for row in d.iter_rows(named=True)}
    assert rows["inpatient_retired"]["regions"] == rows["inpatient"]["regions"] + 1
    assert rows["inpatient_retired"]["spread"] > 0
