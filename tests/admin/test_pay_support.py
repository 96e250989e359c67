"""Test data for the payment and account tests (no tests here).

Assessed months are made exactly as admin.md's ledger flow says, without the monthly assessment run
(written by another helper at the same time): the amounts come from
:func:`yibao.rules.contribution.assess_contributions` on the policy of the month's first day, and
the assessment is posted DR receivable / CR contribution_deferred under ``assess:<id>``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin import ledger
from yibao.admin.ledger import credit, debit
from yibao.db.base import add_months
from yibao.db.crypto import blind_index
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, FamilyLink, Person, Region
from yibao.ids.synthetic import synthetic_resident_id
from yibao.policy.registry import Registry, default_registry
from yibao.rules.contribution import ContributionParams, assess_contributions, person_type_codes

_seq = itertools.count(1)
USCC = {"110000": "91110000MA01ABCD52", "310000": "91310000MA1FL0007C"}  # valid (GB 32100-2015)


def person(s: Session, birth: dt.date, sex: str = "male", name: str = "张三") -> Person:
    while True:  # 500 sequence numbers per birth date and sex: skip one already in this database
        number = synthetic_resident_id(random.Random(next(_seq)), birth, sex)
        if s.scalar(select(Person.id).where(Person.id_number_bidx == blind_index(number))) is None:
            break
    p = Person(id_kind="resident", id_number=number, name=name, sex=sex, birth_date=birth)
    s.add(p)
    s.flush()
    return p


def employer(s: Session, region: str = "110000", uscc: str | None = None) -> Employer:
    e = Employer(uscc=uscc or USCC[region], name="示例单位", region_code=region)
    s.add(e)
    s.flush()
    return e


def enroll(s: Session, p: Person, region: str = "110000", category: str = "in_service",
           emp: Employer | None = None, start_month: int = 202001, **kw: object) -> Enrollment:
    fields: dict[str, object] = {"status": "active", **kw}
    en = Enrollment(person_id=p.id, region_code=region, scheme="employee", category=category,
                    employer_id=emp.id if emp else None, start_month=start_month, **fields)
    s.add(en)
    s.flush()
    return en


def due_date(month: int) -> dt.date:
    """Test convention: a month's contribution is due on the 15th of the next month."""
    nxt = add_months(month, 1)
    return dt.date(nxt // 100, nxt % 100, 15)


def assess(s: Session, en: Enrollment, month: int, wage_fen: int, due: dt.date | None = None,
           registry: Registry | None = None) -> ContributionMonth:
    """One assessed month, by the rule in force on its first day, with its assessment posting."""
    region = s.get(Region, en.region_code)
    assert region is not None
    snap = (registry or default_registry()).policy(region.policy).at(dt.date(month // 100, month % 100, 1))
    cols = assess_contributions([wage_fen], person_type_codes([en.category]),
                                ContributionParams.from_snapshot(snap))
    row = cols.row(0)
    payer_kind, payer_id = ("employer", en.employer_id) if en.employer_id else ("person", en.person_id)
    assert payer_id is not None
    cm = ContributionMonth(
        enrollment_id=en.id, person_id=en.person_id, region_code=en.region_code, month=month,
        category=en.category, payer_kind=payer_kind, payer_id=payer_id, wage_fen=wage_fen,
        due_date=due or due_date(month), paid_fen=0, status="due", recognised=False,
        **{k: v for k, v in row.items() if k not in ("employer_total_fen", "individual_total_fen")})
    s.add(cm)
    s.flush()
    rec_kind = "employer_receivable" if payer_kind == "employer" else "person_receivable"
    ledger.post(s, f"assess:{cm.id}", "contribution_assessed", en.region_code,
                dt.date(month // 100, month % 100, 1),
                [debit(ledger.account(s, en.region_code, rec_kind, payer_id), cm.total_fen),
                 credit(ledger.account(s, en.region_code, "contribution_deferred"), cm.total_fen)])
    return cm


def fund_account(s: Session, region: str, person_id: int, fen: int, on: dt.date, key: str) -> None:
    """Put money in an individual account from the pooled fund (as a retiree credit would)."""
    ledger.post(s, key, "retiree_credit", region, on,
                [debit(ledger.account(s, region, "pooled_fund"), fen),
                 credit(ledger.account(s, region, "individual_account", person_id), fen)])


def link(s: Session, holder: Person, relative: Person, relation: str, valid_from: dt.date,
         valid_to: dt.date | None = None) -> FamilyLink:
    fl = FamilyLink(holder_id=holder.id, relative_id=relative.id, relation=relation, valid_from=valid_from,
                    valid_to=valid_to)
    s.add(fl)
    s.flush()
    return fl
