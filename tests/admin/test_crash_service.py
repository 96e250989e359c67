"""The kill -9 drill (issue 8, "What must hold"): 10,000 claims sent over HTTP by 8 concurrent
clients to a real service process on PostgreSQL, which is killed with SIGKILL 20 times at random
points of the run and started again; each client retries the same request with the same
idempotency key until it has an answer. Afterwards every key has exactly one claim and one ledger
transfer with the claim's amounts, no half-written claim exists, each person's accumulators are the
sum of their claims, the ledger balances with no account below zero, and the amounts are the
rule's on each person's claims in the order they were settled (so none was paid twice or skipped).

PostgreSQL only: it is the production database, and a killed server's sessions outlive it
(test_crash_support); SQLite's crash safety is shown by test_crash_claims and test_crash_assessment.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_api_service import make_user, token_for
from test_claims_support import contribution, enroll, fund_account, ia_balance, months, person
from test_crash_support import child_url, new_tag, wait_sessions_gone

from browser_support import free_port
from yibao.admin import accounts, claims, ledger
from yibao.admin.claims import policy_for
from yibao.admin.uow import run
from yibao.db.models.claims import ACC_FIELDS, Claim
from yibao.db.models.ledger import LedgerEntry, LedgerTransfer
from yibao.rules.settlement import Accumulators, settle_claims
from yibao.rules.settlement import Claim as RuleClaim

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)

BJ = "110000"
PEOPLE = 100
CLAIMS = 10_000
KILLS = 20
CLIENTS = 8
SERVER = """
import sys, uvicorn
from yibao.api.app import create_app
from yibao.db.engine import make_engine
uvicorn.run(create_app(make_engine(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_config=None,
            access_log=False)
"""


class Service:
    """The service in its own process group, so SIGKILL takes it down at once, mid-request."""

    def __init__(self, url: str, port: int) -> None:
        self.url, self.port = url, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, self.url, str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, "the service exited while starting"
            time.sleep(0.1)
        raise AssertionError("the service did not start within 60 s")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _setup(engine: Engine) -> list[int]:
    def step(s: Any) -> list[int]:
        ids = []
        for i in range(PEOPLE):
            p = person(s, dt.date(1960 + i % 40, 1 + i % 12, 1))
            contribution(s, enroll(s, p, start=202001), months(202001, 202412))
            fund_account(s, p, 200_000, on=dt.date(2024, 1, 2))
            ids.append(p.id)
        return ids

    return run(engine, step)


def _plan(people: list[int]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(20241206)
    out = []
    for i in range(CLAIMS):
        inpatient = rng.random() < 0.15
        total = (
            int(np.exp(rng.normal(np.log(12_000), 0.6)) * 100)
            if inpatient
            else int(np.exp(rng.normal(np.log(400), 0.8)) * 100)
        )
        total = min(total, 4_900_000)  # under the four-eyes threshold (50,000 yuan): no reviewer
        out.append(
            {
                "key": f"drill-{i:05d}",
                "body": {
                    "person": people[int(rng.integers(0, PEOPLE))],
                    "region": BJ,
                    # dates follow the list, as claims arrive in life (a person's are ~100 claims apart)
                    "service_date": (dt.date(2024, 1, 3) + dt.timedelta(days=i * 360 // CLAIMS)).isoformat(),
                    "kind": "inpatient" if inpatient else "outpatient",
                    "level": str(rng.choice(["level_1", "level_2", "level_3"])),
                    "total": f"{total / 100:.2f}",
                    "full_self_pay": f"{int(total * rng.uniform(0, 0.1)) / 100:.2f}",
                },
            }
        )
    return out


def test_twenty_kill_9_during_10000_settlements_leave_each_claim_settled_once(engine: Engine) -> None:
    people = _setup(engine)
    make_user(engine, "op.bj", "operator", regions=[BJ])
    headers = token_for(engine, "op.bj")
    plan = _plan(people)
    tag = new_tag()
    service = Service(child_url(engine, tag), free_port())
    service.start()
    base = f"http://127.0.0.1:{service.port}"
    work: queue.Queue[dict[str, Any]] = queue.Queue()
    for c in plan:
        work.put(c)
    answers: dict[str, dict[str, Any]] = {}
    retries = [0]
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while True:
                try:
                    c = work.get_nowait()
                except queue.Empty:
                    return
                while True:  # the same request, the same key, until it is answered
                    try:
                        r = http.post(
                            "/api/v1/claims", json=c["body"], headers={**headers, "Idempotency-Key": c["key"]}
                        )
                    except httpx.TransportError:
                        with lock:
                            retries[0] += 1
                        time.sleep(0.05)
                        continue
                    if r.status_code >= 500:
                        with lock:
                            retries[0] += 1
                        time.sleep(0.05)
                        continue
                    with lock:
                        if r.status_code == 201:
                            answers[c["key"]] = r.json()
                        else:
                            failures.append(f"{c['key']}: {r.status_code} {r.text[:300]}")
                    break

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    marks = sorted(random.Random(20241206).sample(range(200, CLAIMS - 300), KILLS))
    for mark in marks:  # each kill lands when that many answers are in: spread over the whole run
        while len(answers) < mark and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.05))
        service.kill()
        wait_sessions_gone(engine, tag)
        service.start()
    for t in threads:
        t.join(timeout=900)
    service.kill()
    wait_sessions_gone(engine, tag)
    assert not failures, failures[:5]
    assert len(answers) == CLAIMS and len(marks) == KILLS and retries[0] >= KILLS

    with Session(engine) as s:
        stored = list(s.scalars(select(Claim).order_by(Claim.id)))
        assert len(stored) == CLAIMS and {c.idempotency_key for c in stored} == {c["key"] for c in plan}
        assert all(c.status == "settled" and c.transfer_id is not None for c in stored)
        by_key = {c.idempotency_key: c for c in stored}
        assert all(answers[k]["claim_id"] == by_key[k].id for k in answers)  # what each client was told
        transfers = {
            t.id: t
            for t in s.scalars(select(LedgerTransfer).where(LedgerTransfer.kind == "claim_settlement"))
        }
        assert sorted(transfers) == sorted(c.transfer_id for c in stored)  # no transfer without its claim
        sums: dict[int, int] = defaultdict(int)
        pool: dict[int, int] = defaultdict(int)
        pool_id = ledger.account(s, BJ, "pooled_fund").id
        for tid, acc, fen in s.execute(
            select(LedgerEntry.transfer_id, LedgerEntry.account_id, LedgerEntry.amount_fen).where(
                LedgerEntry.transfer_id.in_(list(transfers))
            )
        ):
            sums[tid] += fen
            if acc == pool_id:
                pool[tid] += fen
        assert all(v == 0 for v in sums.values())  # every transfer balances
        # a transfer has entries unless the claim moved no money (all paid by the person in cash)
        assert all(c.transfer_id in sums or c.hifp_pay + c.hifob_pay + c.acct_pay == 0 for c in stored)
        assert all(
            pool[c.transfer_id] == c.hifp_pay for c in stored
        )  # the pooled fund paid what the claim says
        for pid in people:
            mine = [c for c in stored if c.person_id == pid]
            total = {f: sum(int(c.acc_delta.get(f, 0)) for c in mine) for f in ACC_FIELDS}
            assert claims.accumulators(s, pid, BJ, 20240101) == total, f"accumulators of person {pid}"
            assert ia_balance(s, pid) == 200_000 - sum(c.acct_pay for c in mine), f"account of person {pid}"
        report = accounts.verify_ledger(s)
        assert report.ok, report.as_dict()
        assert (
            s.scalar(
                select(func.count())
                .select_from(LedgerTransfer)
                .where(LedgerTransfer.kind == "claim_settlement")
            )
            == CLAIMS
        )
    # the rule on each person's claims in the order they were settled gives the stored amounts
    policy = policy_for("beijing")
    acc = {pid: Accumulators.zeros(1) for pid in people}
    for c in stored:
        (r,) = settle_claims(
            policy,
            [
                RuleClaim(
                    c.service_date,
                    c.kind,
                    c.benefit_class,
                    c.hospital_level,
                    c.medfee_sumamt,
                    c.fulamt_ownpay_amt,
                    account_balance_fen=c.account_balance_before,
                )
            ],
            acc[c.person_id],
        )
        got = (c.hifp_pay, c.hifob_pay, c.act_pay_dedc, c.acct_pay)
        assert got == tuple(r.amounts[k] for k in ("hifp_pay", "hifob_pay", "act_pay_dedc", "acct_pay")), (
            c.idempotency_key
        )
    print(f"\nkill -9 drill: {KILLS} kills, {retries[0]} retried requests, {CLAIMS} claims settled once each")
