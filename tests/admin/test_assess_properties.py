"""Properties of the assessment run over random registers (hypothesis, SQLite for speed; the same code
runs on PostgreSQL in test_assess_run): set-based ≡ the rule row by row, any chunk size gives the same
months, the ledger balances and each payer's receivable equals what it was assessed."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_assess_world import uscc

import yibao.db.models  # noqa: F401
from yibao.admin.assessment import run_assessment
from yibao.db.base import Base
from yibao.db.engine import make_engine
from yibao.db.models.contribution import ContributionMonth, WageDeclaration
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ledger import LedgerAccount, LedgerEntry
from yibao.db.models.register import Employer, Person, Region
from yibao.policy.registry import default_registry
from yibao.rules.contribution import PERSON_TYPES, ContributionParams, assess_contributions

BJ = "110000"
POLICY = default_registry().policy("beijing")

# (category, employer index 0..2, wage in fen or None = no declaration)
PEOPLE = st.lists(st.tuples(st.sampled_from(["in_service", "in_service", "flexible", "retiree"]),
                            st.integers(0, 2),
                            st.one_of(st.none(), st.integers(0, 6_000_000))),
                  min_size=1, max_size=25)


def _register(engine: Engine, people: list[tuple[str, int, int | None]]) -> None:
    with Session(engine) as s, s.begin():
        s.add(Region(code=BJ, policy="beijing", name_zh="北京", name_en="Beijing"))
        s.flush()
        units = [Employer(uscc=uscc(i + 1), name=f"u{i}", region_code=BJ) for i in range(3)]
        s.add_all(units)
        s.flush()
        for i, (cat, unit, wage) in enumerate(people):
            p = Person(id_kind="resident", id_number=f"P{i:08d}", name="某", sex="male",
                       birth_date=dt.date(1980, 1, 1))
            s.add(p)
            s.flush()
            s.add(Enrollment(person_id=p.id, region_code=BJ, scheme="employee", category=cat,
                             employer_id=units[unit].id if cat == "in_service" else None, start_month=202301))
            if cat == "in_service" and wage is not None:
                s.add(WageDeclaration(region_code=BJ, person_id=p.id, payer_kind="employer",
                                      payer_id=units[unit].id, month_from=202301, wage_fen=wage))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=PEOPLE, chunk=st.integers(1, 30))
def test_run_equals_the_rule_row_by_row_and_balances(people: list[tuple[str, int, int | None]],
                                                     chunk: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'p.db'}")
        Base.metadata.create_all(engine)
        _register(engine, people)
        summary = run_assessment(engine, BJ, 202403, chunk_size=chunk)
        params = ContributionParams.from_snapshot(POLICY.at(dt.date(2024, 3, 1)))
        with Session(engine) as s:
            rows = {c.person_id: c for c in s.scalars(select(ContributionMonth))}
            missing = {i + 1 for i, (cat, _, wage) in enumerate(people)
                       if cat == "in_service" and wage is None}
            assert {e.person_id for e in summary.errors} == missing
            assert set(rows) == {i + 1 for i in range(len(people))} - missing
            for pid, cm in rows.items():
                cat, _, wage = people[pid - 1]
                one = assess_contributions([wage or 0], np.array([PERSON_TYPES.index(cat)], dtype=np.int8),
                                           params).row(0)
                assert cm.total_fen == one["total_fen"] and cm.base_fen == one["base_fen"]
            assert s.scalar(select(func.sum(LedgerEntry.amount_fen))) == (0 if rows else None)
            by_account = dict(s.execute(select(LedgerAccount.code, func.sum(LedgerEntry.amount_fen))
                                        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
                                        .group_by(LedgerAccount.code)).all())
            owed: dict[str, int] = {}
            for cm in rows.values():
                kind = "employer_receivable" if cm.payer_kind == "employer" else "person_receivable"
                code = f"{BJ}/{kind}/{cm.payer_id}"
                owed[code] = owed.get(code, 0) + cm.total_fen
            assert {k: v for k, v in by_account.items() if "receivable" in k} == owed
        engine.dispose()
