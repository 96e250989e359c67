"""Crash safety of the monthly assessment run (issue 4, "What must hold"): a real process killed
with SIGKILL in the middle of the run leaves the database consistent, and running again assesses
every enrollment exactly once.

The register: 3,000 Beijing enrollments (unit employees with declared wages, flexible workers on
the 70% base option, retirees paying the 3-yuan large-amount premium; beijing.yaml, DOMAIN §2.6),
assessed for 2024-03 in chunks of 200 by :func:`yibao.admin.assessment.run_assessment` in a child
process. Two ways to die:

- ``hold``: the child blocks inside its fourth chunk's transaction (rows and postings written, not
  committed) and is killed there: exactly three chunks (600 rows) survive;
- ``race``: every chunk sleeps a little before its commit and the child is killed as soon as it
  reports its third committed chunk, wherever it then is (writing, committing, between chunks); a
  block in chunk 12 only keeps it from finishing before the kill.

Either way the database holds whole chunks only: every row is the rule's amount
(:func:`yibao.rules.contribution.assess_contributions`), every assessed row is in its payer's
receivable, ``contribution_deferred`` holds their sum, every transfer and the ledger sum to zero,
and the run is still ``running`` with ``rows_done`` = the rows there. Running again in-process
finishes the month (each enrollment once, the rule's totals), and a third run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session
from test_assess_world import uscc
from test_crash_support import child_url, new_tag, spawn, wait_sessions_gone

from yibao.admin import accounts
from yibao.admin.assessment import run_assessment
from yibao.admin.uow import run
from yibao.db.crypto import blind_index
from yibao.db.models.contribution import ContributionMonth, WageDeclaration
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ledger import LedgerAccount, LedgerEntry, LedgerTransfer
from yibao.db.models.ops import MonthlyRun
from yibao.db.models.register import Employer, Person
from yibao.policy.registry import default_registry
from yibao.rules.contribution import (
    FLEXIBLE,
    IN_SERVICE,
    PERSON_TYPES,
    RETIREE,
    ContributionParams,
    assess_contributions,
)

BJ = "110000"
MONTH = 202403
CHUNK = 200
N = 3000
UNITS = 40
CM = ContributionMonth

CHILD = """
import sys, time
from yibao.admin.assessment import run_assessment
from yibao.db.engine import make_engine
url, hold_at, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

def before_commit(chunk_no):
    # inside the chunk's transaction, after its rows and postings are written
    if chunk_no == hold_at:
        print(f"holding chunk {chunk_no}", file=sys.stderr, flush=True)
        time.sleep(600)
    time.sleep(pause)

def progress(done, total):
    print(f"committed {done} of {total}", file=sys.stderr, flush=True)

run_assessment(make_engine(url), "110000", 202403, chunk_size=200, progress=progress,
               before_commit=before_commit)
print("finished", file=sys.stderr, flush=True)
"""


def _register(engine: Engine) -> dict[int, int]:
    """The register, inserted in bulk; returns the rule's total per enrollment id (fen)."""
    rng = np.random.default_rng(20240301)
    kinds = [FLEXIBLE if i % 15 == 0 else RETIREE if i % 15 == 1 else IN_SERVICE for i in range(N)]
    wages = (np.exp(rng.normal(np.log(9000.0), 0.6, N)) * 100).astype(np.int64)  # some below / above
    units = rng.integers(0, UNITS, N)

    def step(s: Session) -> dict[int, int]:
        s.execute(insert(Employer), [{"uscc": uscc(j + 1), "name": f"单位{j + 1}", "region_code": BJ}
                                     for j in range(UNITS)])
        emp_ids = list(s.scalars(select(Employer.id).order_by(Employer.id)))
        s.execute(insert(Person), [
            {"id_kind": "resident", "id_number": f"C{i:017d}", "id_number_bidx": blind_index(f"C{i:017d}"),
             "name": f"职工{i}", "name_bidx": blind_index(f"职工{i}"), "sex": "male",
             "birth_date": dt.date(1950, 1, 1) if kinds[i] == RETIREE else dt.date(1985, 1, 1)}
            for i in range(N)])
        pid = {n: i for i, n in s.execute(select(Person.id, Person.id_number))}
        s.execute(insert(Enrollment), [
            {"person_id": pid[f"C{i:017d}"], "region_code": BJ, "scheme": "employee",
             "category": PERSON_TYPES[kinds[i]], "start_month": 202301, "status": "active",
             "employer_id": emp_ids[units[i]] if kinds[i] == IN_SERVICE else None,
             "flexible_option": 0, "retired_on": dt.date(2010, 1, 1) if kinds[i] == RETIREE else None}
            for i in range(N)])
        s.execute(insert(WageDeclaration), [
            {"region_code": BJ, "person_id": pid[f"C{i:017d}"], "payer_kind": "employer",
             "payer_id": emp_ids[units[i]], "month_from": 202401, "wage_fen": int(wages[i])}
            for i in range(N) if kinds[i] == IN_SERVICE])
        eid = {p: e for e, p in s.execute(select(Enrollment.id, Enrollment.person_id))}
        return {eid[pid[f"C{i:017d}"]]: i for i in range(N)}

    index = run(engine, step)
    params = ContributionParams.from_snapshot(default_registry().policy("beijing").at(dt.date(2024, 3, 1)))
    ptype = np.array(kinds, dtype=np.int8)
    cols = assess_contributions(np.where(ptype == IN_SERVICE, wages, 0), ptype, params)
    expected = {e: int(cols.total_fen[i]) for e, i in index.items()}
    assert all(v > 0 for v in expected.values())  # every enrollment owes something: none is skipped
    return expected


def _counts(s: Session) -> tuple[int, ...]:
    return tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)
                 for t in (CM, LedgerTransfer, LedgerEntry, LedgerAccount, MonthlyRun))


def _consistent(engine: Engine, expected: dict[int, int]) -> tuple[int, str, tuple[int, ...]]:
    """Check the state a crash may leave (module docstring); (rows, run status, row counts)."""
    with Session(engine) as s:
        rows = s.execute(select(CM.enrollment_id, CM.payer_kind, CM.payer_id, CM.total_fen)
                         .where(CM.region_code == BJ, CM.month == MONTH)).all()
        assert len({r.enrollment_id for r in rows}) == len(rows), "an enrollment assessed twice"
        wrong = [(r.enrollment_id, r.total_fen) for r in rows if r.total_fen != expected[r.enrollment_id]]
        assert not wrong, f"rows that are not the rule's amount: {wrong[:5]}"
        owed: dict[str, int] = defaultdict(int)
        for r in rows:
            owed[f"{BJ}/{r.payer_kind}_receivable/{r.payer_id}"] += r.total_fen
        sums = {code: int(v) for code, v in s.execute(
            select(LedgerAccount.code, func.sum(LedgerEntry.amount_fen))
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id).group_by(LedgerAccount.code))}
        receivables = {k: v for k, v in sums.items() if "_receivable/" in k}
        assert receivables == dict(owed), "a receivable differs from its payer's assessed rows"
        assert sums.get(f"{BJ}/contribution_deferred", 0) == -sum(r.total_fen for r in rows)
        assert set(sums) <= {*owed, f"{BJ}/contribution_deferred"}
        report = accounts.verify_ledger(s)
        assert report.ok, report.as_dict()  # every transfer and the whole ledger sum to zero
        keys = list(s.scalars(select(LedgerTransfer.idempotency_key)))
        assert all(k.startswith(f"assess:{BJ}:{MONTH}:") for k in keys)
        (runs,) = s.scalars(select(MonthlyRun)).all()
        assert runs.rows_done == len(rows) and runs.kind == "assessment"
        return len(rows), runs.status, _counts(s)


@pytest.mark.parametrize("mode", ["hold", "race"])
def test_killed_assessment_leaves_whole_chunks_and_rerun_assesses_each_enrollment_once(
        engine: Engine, mode: str) -> None:
    expected = _register(engine)
    tag = new_tag()
    hold_at, pause = (4, "0") if mode == "hold" else (12, "0.03")
    with spawn(CHILD, child_url(engine, tag), str(hold_at), pause) as child:
        for _ in range(3):
            child.wait_for(lambda line: line.startswith("committed"), "a committed chunk")
        if mode == "hold":
            child.wait_for(lambda line: line.startswith("holding"), "the fourth chunk")
        child.kill()
    wait_sessions_gone(engine, tag)

    done, status, _ = _consistent(engine, expected)
    assert status == "running"
    assert done % CHUNK == 0, f"{done} rows: not whole chunks of {CHUNK}"
    if mode == "hold":
        assert done == 3 * CHUNK
    else:
        assert 3 * CHUNK <= done < (hold_at - 1) * CHUNK + 1

    again = run_assessment(engine, BJ, MONTH, chunk_size=CHUNK)
    assert (again.status, again.assessed, again.rows_done, again.errors) == ("done", N - done, N, [])
    rows, status, counts = _consistent(engine, expected)
    assert (rows, status) == (N, "done")
    with Session(engine) as s:
        assert {e: t for e, t in s.execute(select(CM.enrollment_id, CM.total_fen))} == expected

    third = run_assessment(engine, BJ, MONTH, chunk_size=CHUNK)
    assert third.already_done and third.assessed == 0 and third.rows_done == N
    with Session(engine) as s:
        assert _counts(s) == counts

