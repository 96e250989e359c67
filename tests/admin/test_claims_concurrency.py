"""Concurrency on PostgreSQL: 50 parallel settlements for one person near the annual ceiling.

Each thread settles in its own session and transaction (yibao.admin.uow.run, which retries
deadlocks and serialization failures). The person's accumulator row and account are locked
(SELECT … FOR UPDATE), so the claims settle one after another in some order; replaying them in
that order (claim ids are taken under the lock) through yibao.rules.settlement.settle_claims must
give exactly the stored amounts. Beijing 2024: pooled ceiling 100000 of cost, large-amount 85% of
the next 400000 (DOMAIN §4.4, beijing.yaml).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_claims_support import contribution, enroll, fund_account, ia_balance, ledger_sum, months, person

from yibao.admin import claims
from yibao.admin.claims import ClaimInput, policy_for
from yibao.admin.uow import SYSTEM, run
from yibao.db.engine import is_sqlite
from yibao.db.models.claims import Claim
from yibao.errors import YibaoError
from yibao.rules.settlement import Accumulators, settle_claims
from yibao.rules.settlement import Claim as RuleClaim

BJ = "110000"
N = 50


def test_fifty_parallel_settlements_never_exceed_the_ceiling(engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("SQLite serialises every writer with BEGIN IMMEDIATE; the row-lock race is PostgreSQL's")

    def setup(s: Session) -> int:
        p = person(s)
        contribution(s, enroll(s, p, start=202001), months(202001, 202412))
        fund_account(s, p, 200_000)  # 2000 yuan: the account runs dry part way through
        return p.id
    pid = run(engine, setup)
    # near the ceiling: 95000 of in-scope cost already this year
    run(engine, lambda s: claims.settle(s, SYSTEM, BJ, pid, ClaimInput(
        dt.date(2024, 2, 1), "inpatient", "level_3", 9_500_000), key="near"))

    def one(i: int) -> dict[str, Any] | YibaoError:
        ci = ClaimInput(dt.date(2024, 3, 1) + dt.timedelta(days=i % 20), "inpatient",
                        ("level_1", "level_2", "level_3")[i % 3], 300_000 + 1_000 * i)
        try:
            return run(engine, lambda s: claims.settle(s, SYSTEM, BJ, pid, ci, key=f"par-{i}"))
        except YibaoError as exc:  # a clean refusal would be acceptable; none is expected
            return exc

    with ThreadPoolExecutor(max_workers=N) as pool:
        outcomes = list(pool.map(one, range(N)))
    assert all(isinstance(o, dict) for o in outcomes), [o for o in outcomes if not isinstance(o, dict)]

    with Session(engine) as s:
        stored = list(s.scalars(select(Claim).where(Claim.person_id == pid).order_by(Claim.id)))
        acc = claims.accumulators(s, pid, BJ, 20240101)
        assert ia_balance(s, pid) >= 0 and ledger_sum(s) == 0
    assert len(stored) == N + 1
    # the stored amounts are the rule's, settled one after another in lock (= id) order
    rule_acc = Accumulators.zeros(1)
    balance = 200_000
    for c in stored:
        (r,) = settle_claims(policy_for("beijing"), [RuleClaim(
            c.service_date, c.kind, c.benefit_class, c.hospital_level, c.medfee_sumamt,
            account_balance_fen=balance)], rule_acc)
        assert (c.hifp_pay, c.hifob_pay, c.act_pay_dedc, c.acct_pay) == (
            r.amounts["hifp_pay"], r.amounts["hifob_pay"], r.amounts["act_pay_dedc"], r.amounts["acct_pay"])
        balance -= c.acct_pay
    assert sum(c.hifp_pay for c in stored) <= 100_000 * 100
    assert acc["inpatient_admissions"] == N + 1
    assert acc["pool_inpatient_inscp_cum"] == sum(c.inscp_scp_amt for c in stored)
    assert sum(c.hifob_pay for c in stored) > 0  # the pooled ceiling was crossed


def test_the_same_key_settled_in_parallel_is_one_claim(engine: Engine) -> None:
    """Ten parallel requests with one idempotency key: the losers collide on the unique key,
    run() retries them, and they return the winner's claim (one claim, one transfer)."""
    if is_sqlite(engine):
        pytest.skip("SQLite serialises every writer with BEGIN IMMEDIATE; the race is PostgreSQL's")

    def setup(s: Session) -> int:
        p = person(s)
        contribution(s, enroll(s, p, start=202001), months(202001, 202412))
        return p.id
    pid = run(engine, setup)
    ci = ClaimInput(dt.date(2024, 3, 1), "inpatient", "level_3", 2_000_000)
    def one(_: int) -> dict[str, Any]:
        return run(engine, lambda s: claims.settle(s, SYSTEM, BJ, pid, ci, key="same"))

    with ThreadPoolExecutor(max_workers=10) as pool:
        got = list(pool.map(one, range(10)))
    assert len({g["claim_id"] for g in got}) == 1 and sum(not g["replayed"] for g in got) == 1
    with Session(engine) as s:
        assert len(list(s.scalars(select(Claim).where(Claim.person_id == pid)))) == 1
        assert claims.accumulators(s, pid, BJ, 20240101)["inpatient_admissions"] == 1
        assert ledger_sum(s) == 0
