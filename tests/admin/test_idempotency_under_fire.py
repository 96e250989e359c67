"""Idempotency under fire (issue 8), on PostgreSQL: 1,000 claims, each sent 5 times by 50
concurrent clients in shuffled order, give exactly 1,000 settlements and 1,000 ledger transfers,
every replay answers with its first settlement, the ledger balances; a key sent again with another
body is refused and changes nothing."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import claims
from yibao.admin.accounts import verify_ledger
from yibao.admin.claims import ClaimInput
from yibao.admin.uow import SYSTEM, IdempotencyConflict, run
from yibao.bench import admin_settlement as settlement
from yibao.bench.pg import bench_urls, recreate
from yibao.db.engine import make_engine
from yibao.db.models.claims import Claim
from yibao.db.models.ledger import LedgerTransfer

PG_URL = os.environ.get("YIBAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB = f"yibao_fire_{os.getpid()}"
CLAIMS, SENDS, CLIENTS = 1_000, 5, 50


@pytest.fixture(scope="module")
def pg() -> Iterator[Engine]:
    if os.environ.get("YIBAO_SKIP_PG") == "1":
        pytest.skip("YIBAO_SKIP_PG=1: PostgreSQL tests skipped on request")
    admin_url, url = bench_urls(PG_URL, DB)
    recreate(admin_url, DB)
    engine = make_engine(url, pool_size=CLIENTS, max_overflow=5)
    settlement.load(engine, 300)
    yield engine
    engine.dispose()
    recreate(admin_url, DB, drop_only=True)


def test_a_thousand_claims_sent_five_times_settle_once_each(pg: Engine) -> None:
    gen = settlement._claims(300, 11)
    work: list[tuple[str, int, ClaimInput]] = [(f"fire-{i}", *next(gen)) for i in range(CLAIMS)]
    sends = [w for w in work for _ in range(SENDS)]
    random.Random(7).shuffle(sends)
    answers: dict[str, set[int]] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def client(share: list[tuple[str, int, ClaimInput]]) -> None:
        for key, pid, ci in share:
            try:
                r = run(
                    pg, lambda s, k=key, p=pid, c=ci: claims.settle(s, SYSTEM, settlement.REGION, p, c, key=k)
                )
            except Exception as exc:  # every failure is recorded and fails the test
                with lock:
                    errors.append(f"{key}: {exc}")
                continue
            with lock:
                answers.setdefault(key, set()).add(int(r["claim_id"]))

    threads = [threading.Thread(target=client, args=(sends[k::CLIENTS],)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(answers) == CLAIMS and all(len(ids) == 1 for ids in answers.values())  # one settlement a key
    with Session(pg) as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == CLAIMS
        referenced = set(s.scalars(select(Claim.transfer_id)))
        assert len(referenced) == CLAIMS and None not in referenced  # one posting per settlement
        claim_transfers = s.scalar(
            select(func.count())
            .select_from(LedgerTransfer)
            .where(LedgerTransfer.idempotency_key.like("claim:%"))
        )
        assert claim_transfers == CLAIMS
        assert verify_ledger(s, settlement.REGION).ok
    # the same key with another body is refused, and nothing changes
    key, pid, ci = work[0]
    other: Any = ClaimInput(ci.service_date, ci.kind, ci.level, ci.total_fen + 100)
    with pytest.raises(IdempotencyConflict):
        run(pg, lambda s: claims.settle(s, SYSTEM, settlement.REGION, pid, other, key=key))
    with Session(pg) as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == CLAIMS
