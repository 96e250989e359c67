"""Claim settlement through the administration core, on SQLite and PostgreSQL.

The amounts are yibao.rules.settlement's (DOMAIN §4; Beijing policy file
src/yibao/policy/params/beijing.yaml: inpatient deductible 1300 first admission / 650 later,
bands 1300–30000 at 85% / 30000–40000 at 90% / 40000–100000 at 95% for in-service members at
level 3, pooled ceiling 100000 of cost, large-amount 85% up to 400000 more of cost, DOMAIN
§4.2–§4.4). These tests check that the service feeds the rule the stored accumulators and the
current balances, stores what it returns, and moves exactly that money in the ledger.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_claims_support import (
    add_wait_regions,
    contribution,
    enroll,
    fund_account,
    fund_balances,
    ia_balance,
    ledger_sum,
    link,
    months,
    person,
    row_counts,
    wait_registry,
)

from yibao.admin import claims
from yibao.admin.claims import ClaimInput, ClaimRefused, policy_for
from yibao.admin.uow import SYSTEM, Actor, IdempotencyConflict, run
from yibao.db.models.claims import Claim
from yibao.db.models.ledger import LedgerEntry, LedgerTransfer
from yibao.errors import InputError, YibaoError
from yibao.rules.settlement import Accumulators, settle_claims
from yibao.rules.settlement import Claim as RuleClaim

BJ = "110000"
DAY = dt.date(2024, 3, 15)


def member(engine: Engine, balance_fen: int = 50_000, region: str = BJ, category: str = "in_service",
           start: int = 202001, birth: dt.date = dt.date(1980, 5, 1), **kw: Any) -> int:
    """An in-service member paying since ``start`` (on time, through 2024-12)."""
    def step(s: Session) -> int:
        if region.startswith("99"):
            add_wait_regions(s)
        p = person(s, birth=birth)
        e = enroll(s, p, region, category, start=start, **kw)
        if category != "retiree":
            contribution(s, e, months(start, 202412))
        if balance_fen:
            fund_account(s, p, balance_fen, region)
        return p.id
    return run(engine, step)


def settle(engine: Engine, pid: int, ci: ClaimInput, key: str | None = None, region: str = BJ,
           **kw: Any) -> dict[str, Any]:
    return run(engine, lambda s: claims.settle(s, SYSTEM, region, pid, ci, key=key, **kw))


def inpatient(total_yuan: int, day: dt.date = DAY, **kw: Any) -> ClaimInput:
    return ClaimInput(service_date=day, kind="inpatient", level="level_3", total_fen=total_yuan * 100, **kw)


def rule(claim_list: list[RuleClaim]) -> list[dict[str, int]]:
    acc = Accumulators.zeros(1)
    return [r.amounts for r in settle_claims(policy_for("beijing"), claim_list, acc)]


def test_beijing_inpatient_claim_equals_the_rule_and_moves_the_money(engine: Engine) -> None:
    """Beijing 2024, level 3, in-service, first admission of 20000 yuan with 500 in the account:
    deductible 1300; (20000 − 1300) × 85% = 15895 from the pooled fund (DOMAIN §4.2–§4.3,
    beijing.yaml settlement.inpatient.*); the account pays 500 of the personal 4105; cash 3605."""
    pid = member(engine, 50_000)
    r = settle(engine, pid, inpatient(20_000), key="bj-1")
    a = r["amounts_fen"]
    expected = rule([RuleClaim(DAY, "inpatient", "in_service", "level_3", 2_000_000,
                               account_balance_fen=50_000)])[0]
    assert {k: a[k] for k in expected if k not in ("status", "pool_ratio_bp")} == \
        {k: v for k, v in expected.items() if k not in ("status", "pool_ratio_bp")}
    got = (a["act_pay_dedc"], a["hifp_pay"], a["acct_pay"], a["psn_cash_pay"])
    assert got == (130_000, 1_589_500, 50_000, 360_500)
    assert r["setlinfo"]["hifp_pay"] == "15895.00" and r["setlinfo"]["pool_prop_selfpay"] == "0.85"
    assert r["setldetail"][0]["fund_pay_type"] == "310100"
    assert "起付线" in str(r["explanation"]["settlement"]["zh"])
    with Session(engine) as s:
        funds = fund_balances(s)
        assert funds["pooled_fund"] == -1_589_500  # only the claim moved the pooled fund here
        assert funds["provider_payable"] == 1_589_500 + 50_000
        assert ia_balance(s, pid) == 0
        t = s.get(LedgerTransfer, r["transfer_id"])
        assert t is not None and t.idempotency_key == "claim:bj-1" and t.reference == f"claim:{r['claim_id']}"
        assert ledger_sum(s) == 0


def test_second_admission_deductible_comes_from_the_stored_accumulators(engine: Engine) -> None:
    """Beijing: 650 for the second and later admissions of the year (beijing.yaml
    settlement.inpatient.deductible.second); the service counts admissions from the database."""
    pid = member(engine, 0)
    settle(engine, pid, inpatient(20_000))
    r2 = settle(engine, pid, inpatient(10_000, dt.date(2024, 5, 2)))
    assert r2["amounts_fen"]["act_pay_dedc"] == 65_000
    expected = rule([RuleClaim(DAY, "inpatient", "in_service", "level_3", 2_000_000),
                     RuleClaim(dt.date(2024, 5, 2), "inpatient", "in_service", "level_3", 1_000_000)])
    assert r2["amounts_fen"]["hifp_pay"] == expected[1]["hifp_pay"]
    with Session(engine) as s:
        acc = claims.accumulators(s, pid, BJ, 20240101)
    assert acc["inpatient_admissions"] == 2 and acc["inpatient_inscp_cum"] == 3_000_000


def test_new_benefit_year_starts_from_zero(engine: Engine) -> None:
    pid = member(engine, 0, start=202201)
    settle(engine, pid, inpatient(20_000, dt.date(2023, 12, 20)))
    r = settle(engine, pid, inpatient(20_000, dt.date(2024, 1, 3)))
    assert r["amounts_fen"]["act_pay_dedc"] == 130_000 and r["year_key"] == 20240101


def test_pooled_ceiling_and_large_amount_limit_across_claims(engine: Engine) -> None:
    """Beijing: the pooled segment ends at 100000 of cost, the large-amount fund pays 85% of the
    next 400000 of cost (京医保发〔2019〕14号, DOMAIN §4.4); beyond 500000 the fund pays nothing."""
    pid = member(engine, 0)
    days = [dt.date(2024, 2, 1), dt.date(2024, 4, 1), dt.date(2024, 6, 1), dt.date(2024, 8, 1)]
    totals = [90_000, 60_000, 400_000, 50_000]
    got = [settle(engine, pid, inpatient(t, d))["amounts_fen"] for t, d in zip(totals, days, strict=True)]
    expected = rule([RuleClaim(d, "inpatient", "in_service", "level_3", t * 100)
                     for t, d in zip(totals, days, strict=True)])
    for g, e in zip(got, expected, strict=True):
        assert (g["hifp_pay"], g["hifob_pay"], g["over_ceiling"]) == (e["hifp_pay"], e["hifob_pay"],
                                                                      e["over_ceiling"])
    assert got[1]["hifob_pay"] > 0  # the second claim crosses the pooled ceiling
    assert got[3]["hifp_pay"] == 0 and got[3]["hifob_pay"] == 0  # both limits used up
    assert got[3]["over_ceiling"] == got[3]["inscp_scp_amt"] - got[3]["act_pay_dedc"]
    assert sum(g["hifob_pay"] for g in got) == 400_000 * 85  # 85% of 400000 yuan, in fen
    with Session(engine) as s:
        acc = claims.accumulators(s, pid, BJ, 20240101)
        assert fund_balances(s)["large_amount_fund"] == -400_000 * 85
    assert acc["pool_inpatient_inscp_cum"] == sum(totals) * 100


def test_outpatient_claim_uses_the_annual_deductible(engine: Engine) -> None:
    """Beijing general outpatient: 1800 deductible per year for in-service members, 70% at
    hospitals (beijing.yaml settlement.outpatient.*, DOMAIN §4.6)."""
    pid = member(engine, 0)
    ci = ClaimInput(service_date=DAY, kind="outpatient", level="level_2", total_fen=300_000)
    a = settle(engine, pid, ci)["amounts_fen"]
    assert a["act_pay_dedc"] == 180_000 and a["hifp_pay"] == 84_000  # (3000 − 1800) × 70%
    assert settle(engine, pid, ci)["amounts_fen"]["act_pay_dedc"] == 0


def test_retiree_class_and_age(engine: Engine) -> None:
    """A Beijing retiree of 75 is class retired_senior (benefit_class.senior_age 70) and settles
    at the retired inpatient ratio: (20000 − 1300) × 95.5% at level 3 (DOMAIN §4.3)."""
    pid = member(engine, 0, category="retiree", birth=dt.date(1948, 6, 1), retired_on=dt.date(2008, 6, 1))
    r = settle(engine, pid, inpatient(20_000))
    assert r["benefit_class"] == "retired_senior"
    assert r["amounts_fen"]["hifp_pay"] == 1_785_850


def test_fujian_style_wait_settles_at_half_share(engine: Engine, tmp_path: Path) -> None:
    """Fujian (PD, high): after a back-paid gap over 3 months, 3 months at 50% of benefits; the
    share goes into the rule (benefit_share_bp 5000)."""
    reg = wait_registry(tmp_path)

    def step(s: Session) -> int:
        add_wait_regions(s)
        p = person(s)
        e = enroll(s, p, "990201", start=202201)
        contribution(s, e, months(202201, 202312))
        contribution(s, e, months(202401, 202404), paid_on=dt.date(2024, 6, 5))
        contribution(s, e, months(202405, 202408))
        return p.id
    pid = run(engine, step)
    day = dt.date(2024, 6, 20)
    r = settle(engine, pid, inpatient(20_000, day), region="990201", registry=reg)
    assert r["share_bp"] == 5000 and r["eligibility_reason"] == "waiting_reduced"
    (e,) = [x.amounts for x in settle_claims(policy_for("bj_fujian_wait", reg), [RuleClaim(
        day, "inpatient", "in_service", "level_3", 2_000_000, benefit_share_bp=5000)], Accumulators.zeros(1))]
    assert r["amounts_fen"]["hifp_pay"] == e["hifp_pay"] == 794_750  # half of 15895


def test_refused_in_a_waiting_period_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    """A flexible worker enrolling waits 6 months with no benefits (Tianjin's figure, PD tianjin;
    national reduced share 0%): a claim in the third month is refused with the reason, and the
    database is as before."""
    reg = wait_registry(tmp_path)
    pid = member(engine, 10_000, region="990202", category="flexible", start=202401)
    with Session(engine) as s:
        before = row_counts(s)
    with pytest.raises(ClaimRefused) as err:
        settle(engine, pid, inpatient(5_000), region="990202", registry=reg)
    assert err.value.reason == "waiting" and "等待期" in err.value.zh and "waiting" in err.value.en
    assert "waiting period of 6 months" in err.value.explanation.render("en")
    with Session(engine) as s:
        assert row_counts(s) == before
    # in the seventh month of payment the wait is over
    r = settle(engine, pid, inpatient(5_000, dt.date(2024, 7, 1)), region="990202", registry=reg)
    assert r["share_bp"] == 10_000


def test_family_mutual_aid_pays_from_the_holders_account(engine: Engine) -> None:
    """家庭共济 (DOMAIN §3.3): the member's own account first (100 yuan), then the linked holder's
    (5000 yuan) for the rest of the account-payable share (deductible + coinsurance = 4105)."""
    def step(s: Session) -> tuple[int, int]:
        holder, rel = person(s), person(s, birth=dt.date(1950, 1, 1))
        for p in (holder, rel):
            contribution(s, enroll(s, p, start=202001), months(202001, 202412))
        fund_account(s, holder, 500_000)
        fund_account(s, rel, 10_000)
        link(s, holder, rel)
        return holder.id, rel.id
    holder, rel = run(engine, step)
    r = settle(engine, rel, inpatient(20_000))
    a = r["amounts_fen"]
    assert (a["acct_pay"], a["acct_mulaid_pay"], a["psn_cash_pay"]) == (10_000, 400_500, 0)
    assert r["mulaid_holder_id"] == holder and r["setlinfo"]["acct_mulaid_pay"] == "4005.00"
    with Session(engine) as s:
        assert ia_balance(s, holder) == 500_000 - 400_500 and ia_balance(s, rel) == 0
        funds = fund_balances(s)
        assert funds["family_mutual_aid"] == 0 and funds["provider_payable"] == 1_589_500 + 410_500
        assert ledger_sum(s) == 0


def test_presettle_writes_nothing_but_the_audit_row(engine: Engine) -> None:
    pid = member(engine)
    with Session(engine) as s:
        before = row_counts(s)
    r = run(engine, lambda s: claims.presettle(s, SYSTEM, BJ, pid, inpatient(20_000)))
    assert r["status"] == "presettled" and r["claim_id"] is None
    assert r["amounts_fen"]["hifp_pay"] == 1_589_500
    with Session(engine) as s:
        after = row_counts(s)
    assert after.pop("audit_event") == before.pop("audit_event") + 1
    assert after == before
    # and it equals what settlement then does
    assert settle(engine, pid, inpatient(20_000))["amounts_fen"] == r["amounts_fen"]


def test_replay_with_the_same_key_returns_the_first_claim(engine: Engine) -> None:
    pid = member(engine)
    first = settle(engine, pid, inpatient(20_000), key="k-1")
    again = settle(engine, pid, inpatient(20_000), key="k-1")
    assert again["replayed"] and again["claim_id"] == first["claim_id"]
    assert again["amounts_fen"] == first["amounts_fen"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 1
        assert s.scalar(select(func.count()).select_from(LedgerTransfer)
                        .where(LedgerTransfer.kind == "claim_settlement")) == 1
        assert claims.accumulators(s, pid, BJ, 20240101)["inpatient_admissions"] == 1
    with pytest.raises(IdempotencyConflict):
        settle(engine, pid, inpatient(30_000), key="k-1")


@pytest.mark.parametrize(("change", "field"), [
    ({"total_fen": -1}, "medfee_sumamt"),
    ({"full_self_pay_fen": -100}, "fulamt_ownpay_amt"),
    ({"full_self_pay_fen": 1_500_000, "over_limit_fen": 600_000}, "fulamt_ownpay_amt+overlmt_selfpay"),
    ({"level": "level_9"}, "hosp_lv"),
    ({"kind": "dental"}, "kind"),
    ({"remote": "abroad"}, "remote"),
    ({"settle_date": dt.date(2024, 3, 1)}, "settle_date"),
])
def test_bad_input_names_the_field_and_changes_nothing(engine: Engine, change: dict[str, Any],
                                                       field: str) -> None:
    pid = member(engine)
    base = {"service_date": DAY, "kind": "inpatient", "level": "level_3", "total_fen": 2_000_000}
    with Session(engine) as s:
        before = row_counts(s)
    with pytest.raises(InputError) as err:
        settle(engine, pid, ClaimInput(**{**base, **change}))
    assert err.value.field == field and err.value.zh and err.value.en
    with Session(engine) as s:
        assert row_counts(s) == before


def test_unknown_person_and_not_enrolled(engine: Engine) -> None:
    pid = member(engine, start=202301)
    with pytest.raises(InputError) as err:
        settle(engine, 999_999, inpatient(1_000))
    assert err.value.field == "person_id" and "no such person" in err.value.en
    with pytest.raises(InputError) as err:
        settle(engine, pid, inpatient(1_000, dt.date(2022, 5, 1)))
    assert err.value.field == "person_id" and "not enrolled" in err.value.en
    with pytest.raises(InputError) as err:
        settle(engine, pid, inpatient(1_000), region="310000")  # enrolled in Beijing, not Shanghai
    assert "310000" in err.value.en
    with pytest.raises(InputError) as err:
        settle(engine, pid, inpatient(1_000), region="999999")
    assert err.value.field == "region"


def test_an_operator_of_another_region_is_refused(engine: Engine) -> None:
    pid = member(engine)
    sh = Actor("clerk", regions=("310000",))
    with pytest.raises(YibaoError):
        run(engine, lambda s: claims.settle(s, sh, BJ, pid, inpatient(1_000)))


def test_service_table_cache_equals_settle_claims() -> None:
    """settle_rule (the service's call, table cached) is settle_claims for one claim."""
    pol = policy_for("beijing")
    for c in (RuleClaim(DAY, "inpatient", "retired", "level_1", 12_345_678, 10_000, 5_000, 300_000, None,
                        account_balance_fen=77_700, mulaid_balance_fen=9_999),
              RuleClaim(dt.date(2023, 2, 3), "outpatient", "retired_senior", "community", 450_000,
                        benefit_share_bp=5000)):
        a, b = Accumulators.zeros(1), Accumulators.zeros(1)
        assert claims.settle_rule(pol, c, a).amounts == settle_claims(pol, [c], b)[0].amounts
        assert (a.data == b.data).all()


def test_entries_of_a_claim_match_its_amounts(engine: Engine) -> None:
    pid = member(engine, 30_000_00)
    r = settle(engine, pid, inpatient(150_000))
    a = r["amounts_fen"]
    with Session(engine) as s:
        amounts = sorted(int(x) for x in s.scalars(select(LedgerEntry.amount_fen)
                                                   .where(LedgerEntry.transfer_id == r["transfer_id"])))
    paid = a["hifp_pay"] + a["hifob_pay"] + a["acct_pay"]
    assert amounts == sorted([a["hifp_pay"], a["hifob_pay"], a["acct_pay"], -paid])


def test_a_region_file_stored_in_the_database_is_used(engine: Engine) -> None:
    """A bureau's own region file stored with its region (yibao.admin.policies) is the policy
    settlement uses: here Beijing's rules with Fujian's 50% wait (test_claims_support.FUJIAN_WAIT)."""
    from test_claims_support import FUJIAN_WAIT

    from yibao.admin.policies import add_region

    def step(s: Session) -> int:
        add_region(s, FUJIAN_WAIT)
        p = person(s)
        e = enroll(s, p, "990201", start=202201)
        contribution(s, e, months(202201, 202312))
        contribution(s, e, months(202401, 202404), paid_on=dt.date(2024, 6, 5))
        contribution(s, e, months(202405, 202408))
        return p.id
    pid = run(engine, step)
    r = settle(engine, pid, inpatient(20_000, dt.date(2024, 6, 20)), region="990201")
    assert r["share_bp"] == 5000 and r["amounts_fen"]["hifp_pay"] == 794_750
