"""Builders for the transfer and retirement tests: data made directly with the models (no other
service), and user region files with hypothetical values where no source gives one."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from yibao.admin import ledger
from yibao.admin.ledger import credit, debit
from yibao.db.base import add_months, month_index
from yibao.db.crypto import blind_index
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ledger import LedgerEntry, LedgerTransfer
from yibao.db.models.register import Employer, Person, Region
from yibao.ids import synthetic_resident_id
from yibao.ids.uscc import organisation_code_check, uscc_check_char
from yibao.policy.registry import Registry

BJ, SH = "110000", "310000"

# Hypothetical transfer parameters for Shanghai: no source quantifies a conversion ratio or the
# balance mechanics (DOMAIN §7), and Shanghai's waiting period after a long gap is not sourced.
SHANGHAI_TRANSFER = """
region: {code: "990310", pinyin: shanghai_transfer_test, name_zh: 上海（转移接续参数为假设值）,
         name_en: Shanghai with hypothetical transfer parameters, inherits: shanghai,
         pooling_level: hypothetical, confidence: low}
sources:
  hypothetical: {title: "hypothetical transfer parameters for a test; no source gives them (DOMAIN §7)",
                 confidence: low}
parameters:
  transfer.years_conversion_ratio: [{from: 2020-01-01, value: "80%", source: hypothetical}]
  transfer.account_balance_follows: [{from: 2020-01-01, value: true, source: hypothetical}]
  eligibility.waiting.after_gap_months:
    - {from: 2021-11-29, value: 6, source: hypothetical, note: "the national maximum (2021-11 rules)"}
  eligibility.benefit_start: [{from: 2020-01-01, value: next_month, source: hypothetical}]
"""


def shanghai_registry(engine: Engine, tmp_path: Path) -> Registry:
    """Region 310000 of the test installation runs on Shanghai's file plus the hypothetical
    transfer parameters above."""
    f = tmp_path / "shanghai_transfer_test.yaml"
    f.write_text(SHANGHAI_TRANSFER, encoding="utf-8")
    with Session(engine) as s, s.begin():
        region = s.get(Region, SH)
        assert region is not None
        region.policy = "shanghai_transfer_test"
    return Registry(policy_files=[f])


_rng = random.Random(20240601)


def person(s: Session, sex: Literal["male", "female"] = "female", birth: dt.date = dt.date(1969, 5, 17),
           name: str = "王芳") -> Person:
    while True:
        number = synthetic_resident_id(_rng, birth, sex, "110101")
        if s.scalar(select(Person.id).where(Person.id_number_bidx == blind_index(number))) is None:
            break
    p = Person(id_kind="resident", id_number=number, name=name, sex=sex, birth_date=birth,
               hukou_region="110000")
    s.add(p)
    s.flush()
    return p


def employer(s: Session, region: str, name: str = "测试有限公司", hardship: bool = False) -> Employer:
    n = (s.scalar(select(func.count()).select_from(Employer)) or 0) + 1
    body = f"{_rng.randrange(10**7):07d}{n % 10}"
    org = body + organisation_code_check(body)
    first17 = f"91{region}{org}"
    e = Employer(uscc=first17 + uscc_check_char(first17), name=name, region_code=region, hardship=hardship)
    s.add(e)
    s.flush()
    return e


def enroll(s: Session, p: Person, region: str, category: str = "in_service", employer_id: int | None = None,
           start: int = 200001, end: int | None = None) -> Enrollment:
    e = Enrollment(person_id=p.id, region_code=region, scheme="employee", category=category,
                   employer_id=employer_id, start_month=start, end_month=end,
                   status="ended" if end is not None else "active", end_reason="left_job" if end else None)
    s.add(e)
    s.flush()
    return e


def months(first: int, n: int) -> list[int]:
    return [add_months(first, i) for i in range(n)]


def contribution_months(s: Session, e: Enrollment, ms: list[int], total_fen: int = 120000,
                        status: str = "paid", wage_fen: int = 1000000, late: set[int] | None = None) -> None:
    """Assessed months of an enrollment: paid on the 15th of the month (``late`` ones a year later:
    a back-payment), or left open (``status`` due)."""
    payer = ("employer", e.employer_id) if e.employer_id is not None else ("person", e.person_id)
    rows: list[dict[str, Any]] = []
    for m in ms:
        due = dt.date(m // 100, m % 100, 15)
        paid_on = None
        if status == "paid":
            paid_on = due.replace(year=due.year + 1) if late and m in late else due
        rows.append({
            "enrollment_id": e.id, "person_id": e.person_id, "region_code": e.region_code, "month": m,
            "category": e.category, "payer_kind": payer[0], "payer_id": payer[1], "wage_fen": wage_fen,
            "base_fen": wage_fen, "employer_basic_fen": total_fen, "employer_maternity_fen": 0,
            "employer_large_amount_fen": 0, "employer_local_supplement_fen": 0, "individual_basic_fen": 0,
            "fixed_premium_fen": 0, "to_pooled_fund_fen": total_fen, "to_individual_account_fen": 0,
            "to_maternity_fund_fen": 0, "to_large_amount_fund_fen": 0, "to_local_supplement_fund_fen": 0,
            "total_fen": total_fen, "paid_fen": total_fen if status == "paid" else 0, "status": status,
            "due_date": due, "paid_on": paid_on, "recognised": status == "paid"})
    if rows:
        s.execute(insert(ContributionMonth), rows)


def assess_open(s: Session, e: Enrollment, ms: list[int], total_fen: int) -> None:
    """Open months, assessed and posted to the receivable as the assessment flow does
    (DR employer_receivable / CR contribution_deferred)."""
    contribution_months(s, e, ms, total_fen, status="due")
    assert e.employer_id is not None
    rec = ledger.account(s, e.region_code, "employer_receivable", e.employer_id)
    deferred = ledger.account(s, e.region_code, "contribution_deferred")
    for m in ms:
        ledger.post(s, f"test-assess:{e.id}:{m}", "assessment", e.region_code,
                    dt.date(m // 100, m % 100, 1), [debit(rec, total_fen), credit(deferred, total_fen)])


def fund_account(s: Session, p: Person, region: str, fen: int, on: dt.date = dt.date(2023, 12, 31)) -> None:
    cash = ledger.account(s, region, "cash")
    ia = ledger.account(s, region, "individual_account", p.id)
    ledger.post(s, f"test-credit:{p.id}:{region}:{on}", "account_credit", region, on,
                [debit(cash, fen), credit(ia, fen)])


def ledger_counts(engine: Engine) -> tuple[int, int, int]:
    """(transfers, entries, sum of all entries) — the sum is 0 in a balanced ledger."""
    with Session(engine) as s:
        return (s.scalar(select(func.count()).select_from(LedgerTransfer)) or 0,
                s.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
                int(s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))) or 0))


def span(first: int, last: int) -> int:
    return month_index(last) - month_index(first) + 1
