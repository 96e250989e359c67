"""Crash safety of claim settlement (issue 4, "What must hold"): a real process settling a list of
150 claims, one transaction each, is killed with SIGKILL; the database is consistent, and settling
the same list again with the same idempotency keys settles every claim exactly once.

Three Beijing members with paid months and money in their accounts: an employee (3000 yuan), a
retiree (1500 yuan) and an employee with 50 yuan whose account is topped up from the first one's
by family mutual aid (家庭共济, DOMAIN §3.3). The claims (2024, one every two days, inpatient stays
some of which cross the pooled ceiling of 100000 yuan of cost, outpatient visits; beijing.yaml,
DOMAIN §4) are settled by :func:`yibao.admin.claims.settle` under keys ``crash-<i>``. Two ways to
die, as in test_crash_assessment: ``hold`` (blocked inside claim 40's transaction, after its writes:
exactly 40 claims survive) and ``race`` (killed right after it reports claim 30, wherever it is).

After the kill: the claims are exactly a prefix of the list; each has exactly its one ledger
transfer (``claim:<key>``) whose entries are the claim's fund, account and mutual-aid amounts;
each person's stored accumulators are the sum of their claims' deltas; each account balance is the
opening money minus the claims' account and mutual-aid payments; no account is negative at any
date and the ledger balances. After the rerun: 150 claims, the first ones returned as replays of
the stored claims, the rest new, all equal to :func:`yibao.rules.settlement.settle_claims` on the
list in order (so none was paid twice or skipped), and the pooled payments within the ceiling.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_claims_support import contribution, enroll, fund_account, ia_balance, link, months, person
from test_crash_support import child_url, new_tag, spawn, wait_sessions_gone

from yibao.admin import accounts, claims, ledger
from yibao.admin.claims import ClaimInput, policy_for
from yibao.admin.uow import SYSTEM, run
from yibao.db.models.claims import ACC_FIELDS, Claim
from yibao.db.models.ledger import LedgerAccount, LedgerEntry, LedgerTransfer
from yibao.rules.settlement import Accumulators, settle_claims
from yibao.rules.settlement import Claim as RuleClaim

BJ = "110000"
YEAR = 20240101
N = 150

CHILD = """
import datetime as dt, json, sys, time
from yibao.admin import claims
from yibao.admin.uow import SYSTEM, run
from yibao.db.engine import make_engine
url, path, hold_at, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
engine = make_engine(url)
with open(path) as f:
    plan = json.load(f)
for i, c in enumerate(plan):
    ci = claims.ClaimInput(service_date=dt.date.fromisoformat(c["date"]), kind=c["kind"], level=c["level"],
                           total_fen=c["total"], full_self_pay_fen=c["self"])

    def one(s, ci=ci, c=c, i=i):
        r = claims.settle(s, SYSTEM, "110000", c["person"], ci, key=c["key"])
        if i == hold_at:  # written, not committed: wait here to be killed
            print(f"holding claim {i}", file=sys.stderr, flush=True)
            time.sleep(600)
        time.sleep(pause)
        return r

    run(engine, one)
    print(f"settled {i}", file=sys.stderr, flush=True)
    time.sleep(pause)
print("finished", file=sys.stderr, flush=True)
"""


def _setup(engine: Engine) -> tuple[dict[str, int], dict[int, int]]:
    """The three members (name → person id) and their opening account balances (fen)."""
    def step(s: Session) -> tuple[dict[str, int], dict[int, int]]:
        emp, ret, rel = person(s), person(s, dt.date(1952, 6, 1)), person(s, dt.date(1990, 2, 1))
        contribution(s, enroll(s, emp, start=202001), months(202001, 202412))
        enroll(s, ret, category="retiree", start=201701, retired_on=dt.date(2017, 1, 1))
        contribution(s, enroll(s, rel, start=202001), months(202001, 202412))
        opening = {emp.id: 300_000, ret.id: 150_000, rel.id: 5_000}
        for p in (emp, ret, rel):
            fund_account(s, p, opening[p.id], on=dt.date(2024, 1, 2))
        link(s, emp, rel)  # the employee's account pays for the relative (mutual aid)
        return {"employee": emp.id, "retiree": ret.id, "relative": rel.id}, opening
    return run(engine, step)


def _plan(who: dict[str, int]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(20240105)
    people = list(who.values())
    out = []
    for i in range(N):
        inpatient = rng.random() < 0.4
        if inpatient:  # log-normal around 15000 yuan; one in six a stay of 60000-160000 yuan
            total = int(rng.integers(6_000_000, 16_000_000)) if rng.random() < 1 / 6 else \
                int(np.exp(rng.normal(np.log(15_000), 0.7)) * 100)
        else:
            total = int(np.exp(rng.normal(np.log(500), 0.9)) * 100)
        out.append({"key": f"crash-{i:03d}", "person": people[int(rng.integers(0, 3))],
                    "date": (dt.date(2024, 1, 5) + dt.timedelta(days=2 * i)).isoformat(),
                    "kind": "inpatient" if inpatient else "outpatient",
                    "level": str(rng.choice(["level_1", "level_2", "level_3"])),
                    "total": total, "self": int(total * rng.uniform(0, 0.1))})
    return out


def _input(c: dict[str, Any]) -> ClaimInput:
    return ClaimInput(service_date=dt.date.fromisoformat(c["date"]), kind=c["kind"], level=c["level"],
                      total_fen=c["total"], full_self_pay_fen=c["self"])


def _settle(engine: Engine, c: dict[str, Any]) -> dict[str, Any]:
    return run(engine, lambda s: claims.settle(s, SYSTEM, BJ, c["person"], _input(c), key=c["key"]))


def _consistent(engine: Engine, plan: list[dict[str, Any]], opening: dict[int, int],
                holder: dict[int, int]) -> list[Claim]:
    """The checks of the module docstring; the stored claims in id order."""
    with Session(engine) as s:
        stored = list(s.scalars(select(Claim).order_by(Claim.id)))
        k = len(stored)
        assert [c.idempotency_key for c in stored] == [c["key"] for c in plan[:k]], \
            "the claims stored are not exactly the first ones of the list, each once"
        assert all(c.status == "settled" for c in stored)
        codes = {a.id: a.code for a in s.scalars(select(LedgerAccount))}
        transfers = list(s.scalars(select(LedgerTransfer).where(LedgerTransfer.kind == "claim_settlement")))
        assert sorted(t.id for t in transfers) == sorted(c.transfer_id for c in stored if c.transfer_id), \
            "a claim transfer without its claim, or a claim with two"
        by_transfer: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for tid, acc, fen in s.execute(select(LedgerEntry.transfer_id, LedgerEntry.account_id,
                                              LedgerEntry.amount_fen)):
            by_transfer[tid][codes[acc]] += fen
        for c in stored:
            t = s.get(LedgerTransfer, c.transfer_id)
            assert t is not None and t.idempotency_key == f"claim:{c.idempotency_key}"
            want = {f"{BJ}/pooled_fund": c.hifp_pay, f"{BJ}/large_amount_fund": c.hifob_pay,
                    f"{BJ}/provider_payable": -(c.hifp_pay + c.hifob_pay + c.acct_pay + c.acct_mulaid_pay)}
            own = f"{BJ}/individual_account/{c.person_id}"
            want[own] = want.get(own, 0) + c.acct_pay
            if c.acct_mulaid_pay:
                key = f"{BJ}/individual_account/{c.mulaid_holder_id}"
                want[key] = want.get(key, 0) + c.acct_mulaid_pay
            got = {code: v for code, v in by_transfer[t.id].items() if v}
            assert got == {code: v for code, v in want.items() if v}, (c.idempotency_key, got, want)
        for pid in opening:
            mine = [c for c in stored if c.person_id == pid]
            total = {f: sum(int(c.acc_delta.get(f, 0)) for c in mine) for f in ACC_FIELDS}
            assert claims.accumulators(s, pid, BJ, YEAR) == total, f"accumulators of person {pid}"
            spent = sum(c.acct_pay for c in mine) + sum(c.acct_mulaid_pay for c in stored
                                                        if c.mulaid_holder_id == pid)
            assert ia_balance(s, pid) == opening[pid] - spent, f"account of person {pid}"
        assert all(c.mulaid_holder_id in (None, holder.get(c.person_id)) for c in stored)
        report = accounts.verify_ledger(s)
        assert report.ok, report.as_dict()  # balanced; no account below zero at any date
        s.expunge_all()
        return stored


def _equal_to_the_rule(stored: list[Claim], opening: dict[int, int], holder: dict[int, int]) -> None:
    """The stored amounts are the rule's on the list in order, balances carried (module docstring)."""
    policy = policy_for("beijing")
    acc = {pid: Accumulators.zeros(1) for pid in opening}
    bal = dict(opening)
    for c in stored:
        h = holder.get(c.person_id)
        (r,) = settle_claims(policy, [RuleClaim(
            c.service_date, c.kind, c.benefit_class, c.hospital_level, c.medfee_sumamt, c.fulamt_ownpay_amt,
            account_balance_fen=bal[c.person_id], mulaid_balance_fen=bal[h] if h else 0)], acc[c.person_id])
        got = (c.hifp_pay, c.hifob_pay, c.act_pay_dedc, c.acct_pay, c.acct_mulaid_pay)
        assert got == tuple(r.amounts[k] for k in ("hifp_pay", "hifob_pay", "act_pay_dedc", "acct_pay",
                                                   "acct_mulaid_pay")), c.idempotency_key
        bal[c.person_id] -= c.acct_pay
        if h:
            bal[h] -= c.acct_mulaid_pay
    snap = policy.at(dt.date(2024, 6, 1))
    ceiling = snap.get("settlement.inpatient.pooled_ceiling")
    assert snap.get("settlement.inpatient.ceiling_basis") == "cost"
    for pid in opening:
        inpatient = [c for c in stored if c.person_id == pid and c.kind == "inpatient"]
        # on cost, at ratios up to 100%, the pool pays at most the ceiling (DOMAIN §4.4)
        assert sum(c.hifp_pay for c in inpatient) <= max(ceiling[c.benefit_class] for c in inpatient)
    assert any(c.hifob_pay for c in stored)  # some stays crossed the ceiling into the large-amount fund
    assert any(c.acct_mulaid_pay for c in stored)  # the relative's own account ran dry
    assert min(bal.values()) < 10_000  # an account was spent down close to zero


@pytest.mark.parametrize("mode", ["hold", "race"])
def test_killed_settlement_run_is_consistent_and_rerun_settles_each_claim_once(
        engine: Engine, mode: str, tmp_path: Path) -> None:
    who, opening = _setup(engine)
    holder = {who["relative"]: who["employee"]}
    plan = _plan(who)
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    tag = new_tag()
    hold_at, pause, last_seen = (40, "0", 39) if mode == "hold" else (120, "0.01", 30)
    with spawn(CHILD, child_url(engine, tag), str(path), str(hold_at), pause) as child:
        child.wait_for(lambda line: line == f"settled {last_seen}", f"claim {last_seen} settled")
        if mode == "hold":
            child.wait_for(lambda line: line.startswith("holding"), f"claim {hold_at} written")
        child.kill()
    wait_sessions_gone(engine, tag)

    before = _consistent(engine, plan, opening, holder)
    k = len(before)
    if mode == "hold":
        assert k == hold_at
    else:
        assert last_seen + 1 <= k <= hold_at  # claims 0..last_seen committed; claim hold_at never

    results = [_settle(engine, c) for c in plan]
    assert [r["claim_id"] for r in results[:k]] == [c.id for c in before]
    assert all(r["replayed"] for r in results[:k]) and not any(r["replayed"] for r in results[k:])
    after = _consistent(engine, plan, opening, holder)
    assert len(after) == N and len({r["claim_id"] for r in results}) == N
    _equal_to_the_rule(after, opening, holder)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerTransfer)
                        .where(LedgerTransfer.kind == "claim_settlement")) == N
        assert ledger.balance(s, ledger.account(s, BJ, "provider_payable")) == \
            sum(c.fund_pay_sumamt + c.acct_pay + c.acct_mulaid_pay for c in after)
