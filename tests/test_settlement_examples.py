"""Worked settlement examples, each naming its source.

Figures marked "computed by us" apply the region's published rule (the source named) to the
claim by hand; the test checks that the engine reproduces that arithmetic to the fen.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.errors import UnknownParameterError
from yibao.policy.registry import Registry
from yibao.rules.settlement import Accumulators, Claim, ClaimResult, settle_claims

FIX = Path(__file__).parent / "fixtures" / "settlement"
REG = Registry(policy_files=[FIX / "remote_user.yaml", FIX / "oop_cap.yaml",
                             FIX / "fund_basis.yaml"])
BJ = "http://banzhengshi.com/shebao/695593.html"  # Beijing deductibles and bands (PD beijing)


def yuan(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def settle(region: str, *claims: Claim, acc: Accumulators | None = None) -> list[ClaimResult]:
    return settle_claims(REG.policy(region), list(claims), acc or Accumulators.zeros(4))


def inpatient(date: str, total: str, cls: str = "in_service", level: str = "level_3",
              **kw: object) -> Claim:
    return Claim(dt.date.fromisoformat(date), "inpatient", cls, level, yuan(total), **kw)  # type: ignore[arg-type]


def outpatient(date: str, total: str, cls: str = "in_service", level: str = "level_3",
               **kw: object) -> Claim:
    return Claim(dt.date.fromisoformat(date), "outpatient", cls, level, yuan(total), **kw)  # type: ignore[arg-type]


def test_beijing_in_service_level_3_first_admission_50000() -> None:
    """Computed by us from the Beijing bands (PD beijing, BJ): deductible 1300, 1300–30000 @85%,
    30000–40000 @90%, 40000–50000 @95% → 24395 + 9000 + 9500 = 42895."""
    (r,) = settle("beijing", inpatient("2024-03-01", "50000"))
    assert r.amounts["act_pay_dedc"] == yuan("1300")
    assert r.amounts["hifp_pay"] == yuan("42895")
    assert r.amounts["psn_cash_pay"] == yuan("7105")
    assert r.amounts["pool_ratio_bp"] == 9500


def test_beijing_second_admission_pays_650_and_continues_the_bands() -> None:
    """Computed by us from BJ: the 2nd admission's deductible is 650; the year's cumulative cost is
    already 50000, so the rest of a 10000 claim is in the 40000–100000 band @95%: 9350 × 95%."""
    _, second = settle("beijing", inpatient("2024-03-01", "50000"),
                       inpatient("2024-06-01", "10000"))
    assert second.amounts["act_pay_dedc"] == yuan("650")
    assert second.amounts["hifp_pay"] == yuan("8882.50")


def test_beijing_retiree_level_3_first_admission_50000() -> None:
    """Computed by us from the Beijing retiree bands (BJ): 28700 × 95.5% + 10000 × 97%
    + 10000 × 98.5% = 27408.50 + 9700 + 9850 = 46958.50."""
    (r,) = settle("beijing", inpatient("2024-03-01", "50000", "retired"))
    assert r.amounts["hifp_pay"] == yuan("46958.50")


def test_beijing_claim_crossing_100000_enters_the_large_amount_fund() -> None:
    """Computed by us from BJ and 京医保发〔2019〕14号: pooled to cost 100000 (24395 + 9000 +
    57000 = 90395), then 大额互助 85% of the 50000 above it = 42500."""
    (r,) = settle("beijing", inpatient("2024-03-01", "150000"))
    assert r.amounts["hifp_pay"] == yuan("90395")
    assert r.amounts["hifob_pay"] == yuan("42500")
    assert r.amounts["psn_cash_pay"] == yuan("17105")


def test_beijing_large_amount_segment_ends_at_cost_500000() -> None:
    """京医保发〔2019〕14号: the 大额 band runs 10万–50万 of cost: 400000 × 85% = 340000; the
    100000 above 500000 is self-pay (computed by us)."""
    (r,) = settle("beijing", inpatient("2024-03-01", "600000"))
    assert r.amounts["hifob_pay"] == yuan("340000")
    assert r.amounts["over_ceiling"] == yuan("100000")


def test_beijing_outpatient_2022_cap_20000_on_fund_payment() -> None:
    """Computed by us from PD beijing outpatient (to 2022): deductible 1800, hospital 70%, cap
    20000 of fund payment. 10000 → 5740; a 30000 claim then pays the room left, 14260."""
    a, b = settle("beijing", outpatient("2022-03-01", "10000"), outpatient("2022-05-01", "30000"))
    assert a.amounts["act_pay_dedc"] == yuan("1800")
    assert a.amounts["hifp_pay"] == yuan("5740")
    assert b.amounts["hifp_pay"] == yuan("14260")
    # cost consumed by the ceiling = ceil(14260 / 70%) = 20371.43; the rest is self-pay
    assert b.amounts["over_ceiling"] == yuan("9628.57")


def test_beijing_outpatient_2023_pays_60_percent_above_20000_of_fund_payment() -> None:
    """Computed by us from PD beijing outpatient (from 2023): no cap; after the fund has paid 20000
    the in-service ratio drops to 60%: 14260 + 9628.57 × 60% = 14260 + 5777.14."""
    a, b = settle("beijing", outpatient("2023-03-01", "10000"), outpatient("2023-05-01", "30000"))
    assert a.amounts["hifp_pay"] == yuan("5740")
    assert b.amounts["hifp_pay"] == yuan("20037.14")
    assert b.amounts["over_ceiling"] == 0


def test_beijing_outpatient_retiree_over_70_gets_90_percent() -> None:
    """PD beijing: retirees' hospital ratio is 85% under 70 and 90% at 70+ (benefit_class.senior_age
    70), after the 1300 deductible: (5000 − 1300) × 90% = 3330 (computed by us)."""
    (r,) = settle("beijing", outpatient("2022-03-01", "5000", "retired_senior"))
    assert r.amounts["hifp_pay"] == yuan("3330")


def test_shanghai_inpatient_annual_deductible_by_class() -> None:
    """沪医保规〔2023〕6号: deductible 1500 / 1200 / 700 (in-service / retired from 2001 / retired
    before 2000-12-31), fund 85% / 92%: 20000 → 15725, 17296, 17756 (computed by us)."""
    rs = settle("shanghai", inpatient("2023-08-01", "20000", person=0),
                inpatient("2023-08-01", "20000", "retired", person=1),
                inpatient("2023-08-01", "20000", "retired_early", person=2))
    assert [r.amounts["act_pay_dedc"] for r in rs] == [yuan("1500"), yuan("1200"), yuan("700")]
    assert [r.amounts["hifp_pay"] for r in rs] == [yuan("15725"), yuan("17296"), yuan("17756")]


def test_shanghai_deductible_is_per_insurance_year_july_to_june() -> None:
    """PD shanghai: the insurance year runs 1 July – 30 June, so a claim on 2023-07-01 pays the
    deductible again after one on 2023-06-30 (deductible: 沪医保规〔2023〕6号)."""
    a, b, c = settle("shanghai", inpatient("2023-06-30", "1000"), inpatient("2023-07-01", "1000"),
                     inpatient("2023-09-01", "1000"))
    assert a.amounts["act_pay_dedc"] == yuan("1000")
    assert b.amounts["act_pay_dedc"] == yuan("1000")
    assert c.amounts["act_pay_dedc"] == yuan("500")


def test_shanghai_ceiling_610000_is_shared_with_outpatient() -> None:
    """沪医保规〔2023〕6号 (https://www.ybzffs.com/page41?article_id=28663): the 610000 pooled
    ceiling (fund payment) covers inpatient and outpatient together; above
    it 地方附加 pays 80%. After an 800000 admission has used the ceiling, an outpatient claim's
    in-scope cost above its 500 self-pay band goes to the 80% segment (computed by us)."""
    big, out = settle("shanghai", inpatient("2023-08-01", "800000"),
                      outpatient("2023-09-01", "2000", level="level_1"))
    assert big.amounts["hifp_pay"] == yuan("610000")
    # cost consumed by the ceiling: ceil(610000 / 85%) = 717647.06; the rest at 80%
    assert big.amounts["hifob_pay"] == yuan("64682.35")
    assert out.amounts["act_pay_dedc"] == yuan("500")
    assert out.amounts["hifp_pay"] == 0
    assert out.amounts["hifob_pay"] == yuan("1200")


def test_hefei_per_level_deductible_halved_from_second_admission() -> None:
    """Hefei 2023 (PD hefei): level-3 deductible 600, halved from the 2nd admission; in-service
    90%: 10000 → 8460; then 5000 → (5000 − 300) × 90% = 4230 (computed by us)."""
    a, b = settle("hefei", inpatient("2023-04-01", "10000"), inpatient("2023-09-01", "5000"))
    assert (a.amounts["act_pay_dedc"], a.amounts["hifp_pay"]) == (yuan("600"), yuan("8460"))
    assert (b.amounts["act_pay_dedc"], b.amounts["hifp_pay"]) == (yuan("300"), yuan("4230"))


def test_yinchuan_level_3a_deductible_1200_at_80_percent() -> None:
    """Yinchuan 2023 (PD yinchuan): 三级甲等 deductible 1200, fund 80%: (10000 − 1200) × 80% = 7040;
    the 2nd admission's deductible is 20% lower, 960 (computed by us)."""
    a, b = settle("yinchuan", inpatient("2023-04-01", "10000", level="level_3a"),
                  inpatient("2023-06-01", "3000", level="level_3a"))
    assert a.amounts["hifp_pay"] == yuan("7040")
    assert b.amounts["act_pay_dedc"] == yuan("960")


def test_yinchuan_claim_above_the_ceiling_needs_the_unknown_large_ratio() -> None:
    """PD yinchuan: above the 50000 pooled ceiling 职工大额医疗补助 pays, ratio not sourced: a claim
    reaching it raises, names the cell, and leaves the accumulators untouched."""
    acc = Accumulators.zeros(1)
    with pytest.raises(UnknownParameterError) as err:
        settle("yinchuan", inpatient("2023-04-01", "100000"), acc=acc)
    assert "settlement.inpatient.large_amount.ratio[in_service]" in err.value.en
    assert not acc.data.any()


def test_guangzhou_claim_below_the_deductible_settles_without_the_unknown_ceiling() -> None:
    """Guangzhou (PD guangzhou, rule before the reform, csjbk.com 2022-03): level-2 deductible 800
    for in-service members; a 600 claim is all deductible and needs neither bands nor ceiling; a
    larger one needs the pooled ceiling, which is unknown."""
    (r,) = settle("guangzhou", inpatient("2023-03-01", "600", level="level_2"))
    assert r.amounts["act_pay_dedc"] == yuan("600")
    with pytest.raises(UnknownParameterError) as err:
        settle("guangzhou", inpatient("2023-03-01", "10000", level="level_2"))
    assert "settlement.inpatient.pooled_ceiling[in_service]" in err.value.en


def test_remote_unregistered_care_with_a_user_region_file() -> None:
    """A user's region file (fixture remote_user.yaml) subtracts 10 points for unregistered remote
    care from every Beijing ratio: 28700 × 75% + 10000 × 80% + 10000 × 85% = 38025."""
    (r,) = settle("remote_user", inpatient("2024-03-01", "50000", remote="unregistered"))
    assert r.amounts["hifp_pay"] == yuan("38025")


def test_remote_care_without_a_sourced_reduction_raises() -> None:
    """National baseline: no sourced remote reduction (unknown) — never silently zero."""
    with pytest.raises(UnknownParameterError) as err:
        settle("beijing", inpatient("2024-03-01", "50000", remote="registered"))
    assert "remote.registered_ratio_reduction" in err.value.en


def test_fujian_style_half_benefits_during_a_waiting_period() -> None:
    """PD fujian (DOMAIN §5): a 3-month wait at 50% of benefits; on Beijing's rules the 50000 claim
    pays half of 42895 = 21447.50 (computed by us)."""
    (r,) = settle("beijing", inpatient("2024-03-01", "50000", benefit_share_bp=5000))
    assert r.amounts["hifp_pay"] == yuan("21447.50")


def test_not_eligible_share_zero_pays_nothing() -> None:
    """benefit_share 0 = not eligible: the fund pays nothing, the member pays all."""
    (r,) = settle("beijing", inpatient("2024-03-01", "50000", benefit_share_bp=0))
    assert r.amounts["hifp_pay"] == 0
    assert r.amounts["psn_cash_pay"] == yuan("50000")


def test_category_b_first_self_pay_from_the_ratio() -> None:
    """DOMAIN §4.5: preselfpay = round(乙类 × share); with the fixture's 10%, a 2000 category-B
    amount makes 200 first self-pay and 49800 in scope (computed by us)."""
    (r,) = settle("remote_user", inpatient("2024-03-01", "50000", category_b_fen=yuan("2000")))
    assert r.preselfpay_fen == yuan("200")
    assert r.amounts["inscp_scp_amt"] == yuan("49800")


def test_personal_out_of_pocket_cap_moves_the_excess_to_the_pooled_fund() -> None:
    """Seed 000 (DOMAIN §4.9) proposes a cap on the member's own burden; with the fixture's 5000 the
    7105 burden of the 50000 Beijing claim becomes 5000 and the pooled fund pays 2105 more."""
    (r,) = settle("oop_cap_user", inpatient("2024-03-01", "50000"))
    assert r.amounts["oop_cap_pay"] == yuan("2105")
    assert r.amounts["hifp_pay"] == yuan("45000")
    assert r.amounts["psn_cash_pay"] == yuan("5000")


def test_account_then_family_mutual_aid_then_cash() -> None:
    """DOMAIN §3.3: the account pays the payable parts up to its balance, a relative's account
    (家庭共济) the next part, cash the rest: 7105 = 3000 + 2000 + 2105."""
    (r,) = settle("beijing", inpatient("2024-03-01", "50000", account_balance_fen=yuan("3000"),
                                       mulaid_balance_fen=yuan("2000")))
    assert (r.amounts["acct_pay"], r.amounts["acct_mulaid_pay"], r.amounts["psn_cash_pay"]) == (
        yuan("3000"), yuan("2000"), yuan("2105"))


def test_fund_basis_bands_and_limits_round_to_the_yuan() -> None:
    """Fixture fund_basis.yaml (hypothetical): deductible 1000/year, 80% until the fund has paid
    10000, then 66.67%, ceiling 30000 of fund payment, then 70% up to 20000 paid; rounding to the
    yuan. A 60000 claim: 12500 × 80% = 10000; then 20000 at 66.67% uses ceil(20000 / 66.67%) =
    29998.50 of cost; the 16501.50 left × 70% = 11551.05 → 11551 (computed by us)."""
    (r,) = settle("fund_basis", inpatient("2023-03-01", "60000"))
    assert r.amounts["hifp_pay"] == yuan("30000")
    assert r.amounts["hifob_pay"] == yuan("11551")


def test_explanation_names_parameters_with_sources_in_both_languages() -> None:
    (r,) = settle("beijing", inpatient("2024-03-01", "150000"))
    zh, en = r.explanation.render("zh"), r.explanation.render("en")
    assert "起付线" in zh and "settlement.inpatient.deductible.first" in zh
    assert "large-amount segment" in en and BJ in en
    assert "settlement.inpatient.pooled_ceiling" in en
