"""The policy lab's fund year (issue 7): contributions and account credits by the bureau's rules on
the composite region, spending and account use calibrated, 2022 held out, 2024's pooled income as a
check the calibration never sees."""

from __future__ import annotations

import polars as pl
import pytest

from yibao.sim import funds
from yibao.sim.calibrate import TOLERANCE, fund_calibration
from yibao.sim.funds import FEN_PER_YI, lab_policy, year_flows
from yibao.sim.population import build_population


def _one_member(age: int, monthly_wage_yuan: int, status: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"status": [status], "male": [True], "age": [age],
                         "wage_fen": [monthly_wage_yuan * 100 * 12], "pension_fen": [0], "weight": [1.0]},
                        schema_overrides={"status": pl.Int8, "age": pl.Int16})


def test_a_member_by_the_rules_of_the_composite_region() -> None:
    """2021: employer 6% (国发〔1998〕44号 'about 6%'), individual 2%; the account gets the 2% and,
    before the 2021 reform, 1% of the base for ages 35-44 (Beijing's tiers, borrowed): 8000 yuan a
    month → 480 + 160 contributed, 240 credited, a month."""
    f = year_flows(_one_member(40, 8000), 2021, 1.0)
    assert f.employer * FEN_PER_YI == pytest.approx(480_00 * 12)
    assert f.individual * FEN_PER_YI == pytest.approx(160_00 * 12)
    assert f.account_credits * FEN_PER_YI == pytest.approx(240_00 * 12)
    after = year_flows(_one_member(40, 8000), 2023, 1.0)  # the composite's reform date (2023-01-01)
    assert after.account_credits * FEN_PER_YI == pytest.approx(160_00 * 12)  # the 2% only
    # the base is clamped to 60%-300% of the prior year's average wage (2020: 97379 / 12 = 8115)
    capped = year_flows(_one_member(40, 100_000), 2021, 1.0)
    assert capped.individual * FEN_PER_YI == pytest.approx(round(8115 * 3 * 0.02 * 100) * 12)


def test_2020_relief_removes_three_months_of_employer_contributions(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = build_population(2020, 2_000, 3)
    relieved = year_flows(sample, 2020, 0.9)
    monkeypatch.setattr(funds, "RELIEF_2020_EMPLOYER_MONTHS", 0)
    full = year_flows(sample, 2020, 0.9)
    assert relieved.employer / full.employer == pytest.approx(9 / 12)
    assert relieved.individual == full.individual


def test_retirees_pay_nothing_and_are_credited_100_or_110_yuan() -> None:
    young, old = year_flows(_one_member(65, 0, 2), 2021, 1.0), year_flows(_one_member(75, 0, 2), 2021, 1.0)
    assert young.contributions == old.contributions == 0
    assert young.account_credits * FEN_PER_YI == pytest.approx(100_00 * 12)
    assert old.account_credits * FEN_PER_YI == pytest.approx(110_00 * 12)


def test_fund_calibration_figure_by_figure() -> None:
    table, params = fund_calibration(held_out=2022, agents=10_000)
    with pl.Config(tbl_rows=60, tbl_width_chars=160):
        print(table)
        print(params)
    fit = table.filter(pl.col("role") == "fit")
    assert fit.height >= 9 and fit["error"].abs().max() <= TOLERANCE  # type: ignore[operator]
    held = {r["figure"]: r["error"] for r in table.filter(pl.col("role") == "held out").iter_rows(named=True)}
    assert set(held) == {"employee_fund_income", "employee_fund_expenditure", "employee_account_balance"}
    assert abs(held["employee_fund_income"]) <= TOLERANCE  # base ratio interpolated 2021-2023
    # 2022 spending fell below the 2021-2024 trend (outpatient level interpolated: about +11%);
    # reported, not hidden
    assert abs(held["employee_fund_expenditure"]) < 0.15
    assert abs(held["employee_account_balance"]) < 0.05
    # never fitted: the rules' split between pooled fund and accounts, against the 2024 flash report
    checks = {(r["figure"], r["year"]): r["error"] for r in table.filter(pl.col("role") == "check").iter_rows(
        named=True)}
    assert abs(checks["employee_pooled_fund_income", 2024]) <= TOLERANCE
    # the settled claims: the funds' share of in-catalogue inpatient cost (84.2% in 2022, 84.6% in
    # 2023) and the pooled balance at the end of 2023 (2022 flash + the model's 2023 surplus)
    assert abs(checks["employee_inpatient_in_catalogue_fund_share", 2022]) < 0.05
    assert abs(checks["employee_inpatient_in_catalogue_fund_share", 2023]) < 0.05
    assert abs(checks["employee_pooled_fund_balance", 2023]) < 0.05
    # Poisson draws of 10,000 records: the rate the scale sets (21.86%) within sampling noise
    assert abs(checks["employee_admission_rate", 2023]) < 0.10
    # bases are declared below wages (做实缴费基数, seed 000): the ratio is well under 1 every year
    assert all(0.7 < r < 1 for r in params["base_ratio"].to_list())


def test_the_composite_region_is_labelled_as_not_real() -> None:
    header = lab_policy().region
    assert header.code == "990000" and header.confidence == "low"
    assert "not a real" in header.note.lower() or "composite" in header.note.lower()
