"""The retiree monthly account credit run: amounts by the rule in force, exactly once, resumable.

Beijing (京劳社医发〔2006〕9号, kept by the 2022 reform; beijing.yaml account.retiree.fixed_tiers):
100 yuan a month under 70, 110 from 70. Shanghai (shanghai.yaml, PD shanghai): 1680 yuan a year
under 75, 1890 from 75, i.e. 140 / 157.50 a month.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_crash_support import child_url, new_tag, spawn, wait_sessions_gone
from test_pay_support import enroll, person

from yibao.admin import accounts, ledger
from yibao.admin.accounts import credit_retirees
from yibao.admin.uow import run
from yibao.db.models.ledger import LedgerTransfer
from yibao.db.models.ops import MonthlyRun
from yibao.errors import InputError


def _retirees(engine: Engine, region: str, births: list[dt.date], **kw: Any) -> list[int]:
    def step(s: Session) -> list[int]:
        out = []
        for b in births:
            p = person(s, b)
            enroll(s, p, region, "retiree", start_month=202001, retired_on=dt.date(2020, 1, 1), **kw)
            out.append(p.id)
        return out
    return run(engine, step)


def _balances(engine: Engine, region: str, pids: list[int]) -> list[int]:
    with Session(engine) as s:
        return [accounts.account_balance(s, region, p) for p in pids]


def test_beijing_retirees_credited_100_or_110_once(engine: Engine) -> None:
    # ages on 2024-03-01: 69 (born 1954-03-02), 70 (born 1954-03-01), 80
    pids = _retirees(engine, "110000", [dt.date(1954, 3, 2), dt.date(1954, 3, 1), dt.date(1944, 1, 1)])
    first = credit_retirees(engine, "110000", 202403)
    assert (first.credited, first.amount_fen, first.already_done) == (3, 10_000 + 11_000 + 11_000, False)
    assert _balances(engine, "110000", pids) == [10_000, 11_000, 11_000]
    again = credit_retirees(engine, "110000", 202403)
    assert (again.credited, again.already_done, again.rows_done) == (0, True, 3)
    assert _balances(engine, "110000", pids) == [10_000, 11_000, 11_000]
    with Session(engine) as s:
        pool = ledger.account(s, "110000", "pooled_fund")
        assert ledger.balance(s, pool) == -32_000  # paid out of the pooled fund (post-reform)
        run_row = s.scalar(select(MonthlyRun))
        assert run_row is not None and (run_row.kind, run_row.status) == ("retiree_credit", "done")
    # the next month is a new run
    assert credit_retirees(engine, "110000", 202404).credited == 3


def test_shanghai_retirees_1680_or_1890_a_year(engine: Engine) -> None:
    pids = _retirees(engine, "310000", [dt.date(1950, 1, 1), dt.date(1949, 1, 1)])  # 74 and 75 in 2024-03
    for m in range(202401, 202413):
        credit_retirees(engine, "310000", m)
    assert _balances(engine, "310000", pids) == [168_000, 189_000]


def test_who_is_credited(engine: Engine) -> None:
    """Only retiree enrollments covering the month, not suspended, of persons alive on its first day."""
    def step(s: Session) -> dict[str, int]:
        ids = {}
        for name, kw in {"ok": {}, "ended": {"end_month": 202402, "status": "ended"},
                         "later": {"start_month": 202404}, "suspended": {"status": "suspended"}}.items():
            p = person(s, dt.date(1950, 1, 1))
            args: dict[str, Any] = {"start_month": 202001, "retired_on": dt.date(2020, 1, 1), **kw}
            enroll(s, p, "110000", "retiree", **args)
            ids[name] = p.id
        dead = person(s, dt.date(1950, 1, 1))
        dead.death_date = dt.date(2024, 2, 20)
        enroll(s, dead, "110000", "retiree", start_month=202001)
        ids["dead"] = dead.id
        worker = person(s, dt.date(1980, 1, 1))
        enroll(s, worker, "110000", "in_service", start_month=202001)
        ids["in_service"] = worker.id
        return ids

    ids = run(engine, step)
    assert credit_retirees(engine, "110000", 202403).credited == 1
    with Session(engine) as s:
        assert {k: accounts.account_balance(s, "110000", v) for k, v in ids.items()} == \
            {"ok": 11_000, "ended": 0, "later": 0, "suspended": 0, "dead": 0, "in_service": 0}


def test_a_killed_run_resumes_and_credits_each_retiree_once(engine: Engine,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pids = _retirees(engine, "110000", [dt.date(1956, 1, 1)] * 5)  # 68: 100 yuan
    real_post = ledger.post
    calls = {"n": 0}

    def failing_post(*a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # the process "dies" in the third chunk
            raise SystemExit("killed")
        return real_post(*a, **kw)

    monkeypatch.setattr(ledger, "post", failing_post)
    with pytest.raises(SystemExit):
        credit_retirees(engine, "110000", 202403, chunk_size=2)
    monkeypatch.setattr(ledger, "post", real_post)
    assert _balances(engine, "110000", pids) == [10_000] * 4 + [0]  # two whole chunks committed
    done = credit_retirees(engine, "110000", 202403, chunk_size=2)
    assert (done.credited, done.rows_done) == (1, 5)
    assert _balances(engine, "110000", pids) == [10_000] * 5
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerTransfer)) == 3


def test_former_flexible_worker_factor_and_unknown_region(engine: Engine) -> None:
    """National default account.retiree.flexible_factor is 100% (national.yaml): Beijing pays a
    retiree who was a flexible worker the same 100 yuan."""
    pids = _retirees(engine, "110000", [dt.date(1956, 1, 1)], was_flexible=True)
    credit_retirees(engine, "110000", 202403)
    assert _balances(engine, "110000", pids) == [10_000]
    with pytest.raises(InputError) as e:
        credit_retirees(engine, "999999", 202403)
    assert e.value.field == "region"


KILLED_RUN = """
import sys, time
from yibao.admin import accounts, ledger
from yibao.db.engine import make_engine
real = ledger.post
calls = [0]
def slow(*a, **kw):
    t = real(*a, **kw)
    calls[0] += 1
    if calls[0] == 4:  # the fourth chunk: written, not committed; wait here to be killed
        print("holding chunk 4", file=sys.stderr, flush=True)
        time.sleep(600)
    time.sleep(0.02)
    return t
ledger.post = slow
accounts.credit_retirees(make_engine(sys.argv[1]), "110000", 202403, progress=True, chunk_size=2)
"""


def test_a_real_process_killed_mid_run_leaves_whole_chunks_and_rerun_completes(engine: Engine) -> None:
    """Crash safety (issue 4): kill -9 a real process in the middle of the run (inside its fourth
    chunk's transaction); the database holds the three whole chunks committed before, and running
    again credits every retiree exactly once.

    The child blocks inside the fourth chunk, so the kill always lands there; and the test reads
    the database only once the server has ended the child's sessions (test_crash_support): a
    COMMIT sent just before a kill is still executed after it, which once let this test read
    ``rows_done`` before such a commit and the balances after it.
    """
    n = 40
    pids = _retirees(engine, "110000", [dt.date(1956, 1, 1)] * n)
    tag = new_tag()
    with spawn(KILLED_RUN, child_url(engine, tag)) as child:
        for _ in range(3):
            child.wait_for(lambda line: line.startswith("retiree credit"), "a committed chunk")
        child.wait_for(lambda line: line.startswith("holding"), "the fourth chunk")
        child.kill()
    wait_sessions_gone(engine, tag)
    with Session(engine) as s:
        row = s.scalar(select(MonthlyRun))
        assert row is not None
        status, rows_done = row.status, row.rows_done
    credited = [b for b in _balances(engine, "110000", pids) if b]
    assert status == "running" and rows_done == len(credited) == 6  # three chunks of two
    assert set(credited) == {10_000}
    done = credit_retirees(engine, "110000", 202403, chunk_size=2)
    assert done.rows_done == n and done.credited == n - len(credited)
    assert _balances(engine, "110000", pids) == [10_000] * n
    with Session(engine) as s:
        assert accounts.verify_ledger(s).ok
