"""Reversal (2305 / 2208 / 2601) and the invariants over random claim sequences (hypothesis).

- settle then reverse leaves every balance and accumulator exactly as before;
- reversing the last claims in reverse order walks the state back claim by claim;
- random sequences settled through the service equal yibao.rules.settlement.settle_claims on the
  same inputs, never pay more than Beijing's pooled ceiling (100000 of cost) and large-amount
  limit (400000 of cost) allow (DOMAIN §4.4, beijing.yaml), keep accounts non-negative and the
  ledger balanced.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_claims_support import (
    contribution,
    enroll,
    fund_account,
    fund_balances,
    ia_balance,
    ledger_sum,
    link,
    months,
    person,
)

from yibao.admin import claims
from yibao.admin.claims import AlreadyReversed, ClaimInput, policy_for
from yibao.admin.uow import SYSTEM, run
from yibao.errors import InputError
from yibao.rules.settlement import Accumulators, settle_claims
from yibao.rules.settlement import Claim as RuleClaim

BJ = "110000"
YEAR = 20240101


def family(engine: Engine, own_fen: int, holder_fen: int) -> tuple[int, int]:
    def step(s: Session) -> tuple[int, int]:
        holder, rel = person(s), person(s)
        for p in (holder, rel):
            contribution(s, enroll(s, p, start=202001), months(202001, 202412))
        if holder_fen:
            fund_account(s, holder, holder_fen)
        if own_fen:
            fund_account(s, rel, own_fen)
        link(s, holder, rel)
        return holder.id, rel.id
    return run(engine, step)


def state(engine: Engine, pids: tuple[int, ...]) -> dict[str, Any]:
    with Session(engine) as s:
        return {"acc": [claims.accumulators(s, p, BJ, YEAR) for p in pids],
                "ia": [ia_balance(s, p) for p in pids], "funds": fund_balances(s), "ledger": ledger_sum(s)}


def settle(engine: Engine, pid: int, ci: ClaimInput, key: str | None = None) -> dict[str, Any]:
    return run(engine, lambda s: claims.settle(s, SYSTEM, BJ, pid, ci, key=key))


def reverse(engine: Engine, claim_id: int, key: str | None = None,
            on: dt.date = dt.date(2024, 12, 31)) -> dict[str, Any]:
    return run(engine, lambda s: claims.reverse(s, SYSTEM, claim_id, key, on))


def ci(total_yuan: int, day: dt.date = dt.date(2024, 3, 15), kind: str = "inpatient",
       level: str = "level_3", **kw: Any) -> ClaimInput:
    return ClaimInput(service_date=day, kind=kind, level=level, total_fen=total_yuan * 100, **kw)


def test_settle_then_reverse_restores_everything(engine: Engine) -> None:
    holder, rel = family(engine, 10_000, 500_000)
    before = state(engine, (holder, rel))
    r = settle(engine, rel, ci(150_000))
    assert r["amounts_fen"]["hifob_pay"] > 0 and r["amounts_fen"]["acct_mulaid_pay"] > 0
    assert state(engine, (holder, rel)) != before
    back = reverse(engine, r["claim_id"], on=dt.date(2024, 3, 20))
    assert back["status"] == "reversed" and back["reversal_transfer_id"] is not None
    assert state(engine, (holder, rel)) == before


def test_reversing_twice_returns_the_first_reversal_and_another_key_is_refused(engine: Engine) -> None:
    _, rel = family(engine, 0, 0)
    r = settle(engine, rel, ci(20_000))
    first = reverse(engine, r["claim_id"])
    again = reverse(engine, r["claim_id"])
    assert again["replayed"] and again["reversal_transfer_id"] == first["reversal_transfer_id"]
    with pytest.raises(AlreadyReversed) as err:
        reverse(engine, r["claim_id"], key="another")
    assert "already reversed" in err.value.en and "已于" in err.value.zh


def test_reversal_errors_name_the_field(engine: Engine) -> None:
    _, rel = family(engine, 0, 0)
    r = settle(engine, rel, ci(20_000))
    with pytest.raises(InputError) as err:
        reverse(engine, 424_242)
    assert err.value.field == "claim_id"
    with pytest.raises(InputError) as err:
        reverse(engine, r["claim_id"], on=dt.date(2024, 1, 1))
    assert err.value.field == "on_date"


def test_a_reversed_claim_frees_the_deductible_for_the_next(engine: Engine) -> None:
    """Beijing: reversing the year's only admission makes the next one a first admission again
    (deductible 1300, not 650; beijing.yaml settlement.inpatient.deductible.*)."""
    _, rel = family(engine, 0, 0)
    r = settle(engine, rel, ci(20_000))
    reverse(engine, r["claim_id"])
    assert settle(engine, rel, ci(20_000, dt.date(2024, 4, 2)))["amounts_fen"]["act_pay_dedc"] == 130_000


claim_st = st.tuples(
    st.sampled_from(["inpatient", "inpatient", "outpatient"]),
    st.sampled_from(["level_1", "level_3", "community"]),
    st.integers(0, 300_000),  # total, yuan
    st.integers(0, 100),  # percent of the total paid in full by the member
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(claim_st, min_size=1, max_size=6), st.integers(0, 20_000), st.integers(0, 20_000),
       st.data())
def test_random_sequences_equal_the_rule_respect_the_limits_and_reverse_exactly(
        engine: Engine, seq: list[tuple[str, str, int, int]], own: int, held: int,
        data: st.DataObject) -> None:
    holder, rel = family(engine, own * 100, held * 100)
    pids = (holder, rel)
    states = [state(engine, pids)]
    results = []
    day = dt.date(2024, 1, 10)
    for kind, level, total, pct in seq:
        total_fen = total * 100
        full_self = total_fen * pct // 100
        results.append(settle(engine, rel, ClaimInput(day, kind, level, total_fen, full_self)))
        states.append(state(engine, pids))
        day += dt.timedelta(days=30)
    # the same claims through the rule, balances carried as the service carried them
    acc = Accumulators.zeros(1)
    bal, mul = own * 100, held * 100
    for r in results:
        a = r["amounts_fen"]
        (e,) = settle_claims(policy_for("beijing"), [RuleClaim(
            dt.date.fromisoformat(r["service_date"]), r["kind"], r["benefit_class"], r["hospital_level"],
            a["medfee_sumamt"], a["fulamt_ownpay_amt"], account_balance_fen=bal,
            mulaid_balance_fen=mul)], acc)
        assert {k: a[k] for k in e.amounts if k in a} == {k: v for k, v in e.amounts.items() if k in a}
        bal, mul = bal - a["acct_pay"], mul - a["acct_mulaid_pay"]
    inpatient = [r["amounts_fen"] for r in results if r["kind"] == "inpatient"]
    assert sum(a["hifp_pay"] for a in inpatient) <= 100_000 * 100  # a share of at most 100000 of cost
    assert sum(a["hifob_pay"] for a in inpatient) <= 400_000 * 100
    last = states[-1]
    assert min(last["ia"]) >= 0 and last["ledger"] == 0
    assert last["ia"] == [held * 100 - sum(r["amounts_fen"]["acct_mulaid_pay"] for r in results), bal]
    # reverse the last k claims, newest first: the state walks back claim by claim
    k = data.draw(st.integers(1, len(results)), label="reversed")
    for i in range(len(results) - 1, len(results) - 1 - k, -1):
        reverse(engine, results[i]["claim_id"])
        assert state(engine, pids) == states[i]
