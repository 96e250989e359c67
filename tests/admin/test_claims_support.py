"""Helpers for the claims and continuity tests: persons, enrollments, paid months, account money.

The contribution history is built directly as ContributionMonth rows (status, due date, paid on)
and account balances with ledger.post (DR cash / CR individual_account), so these tests depend on
neither the assessment run nor payment matching.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.admin import ledger
from yibao.db.base import Base, add_months
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import FamilyLink, Person, Region
from yibao.policy.registry import Registry

_ids = itertools.count(1)


def person(s: Session, birth: dt.date = dt.date(1980, 5, 1), sex: str = "male",
           death: dt.date | None = None) -> Person:
    p = Person(id_kind="resident", id_number=f"T{next(_ids):017d}", name="测试", sex=sex, birth_date=birth,
               death_date=death)
    s.add(p)
    s.flush()
    return p


def enroll(s: Session, p: Person, region: str = "110000", category: str = "in_service",
           start: int = 201501, end: int | None = None, status: str = "active",
           retired_on: dt.date | None = None, end_reason: str | None = None) -> Enrollment:
    e = Enrollment(person_id=p.id, region_code=region, scheme="employee", category=category,
                   start_month=start, end_month=end, status=status, retired_on=retired_on,
                   end_reason=end_reason)
    s.add(e)
    s.flush()
    return e


def due_date(month: int) -> dt.date:
    """Due on the 15th of the following month (a convention of these tests)."""
    nxt = add_months(month, 1)
    return dt.date(nxt // 100, nxt % 100, 15)


def months(first: int, last: int) -> list[int]:
    out = [first]
    while out[-1] < last:
        out.append(add_months(out[-1], 1))
    return out


def contribution(s: Session, e: Enrollment, ms: Iterable[int], status: str = "paid",
                 paid_on: dt.date | None = None, late_days: int | None = None) -> None:
    """One row per month: paid 5 days before the due date, or ``late_days`` after it, or on
    ``paid_on``; ``status`` due/written_off leaves it unpaid."""
    for m in ms:
        due = due_date(m)
        on: dt.date | None = None
        if status == "paid":
            on = paid_on or (due + dt.timedelta(days=late_days) if late_days is not None
                             else due - dt.timedelta(days=5))
        s.add(ContributionMonth(
            enrollment_id=e.id, person_id=e.person_id, region_code=e.region_code, month=m,
            category=e.category, payer_kind="person", payer_id=e.person_id, wage_fen=0, base_fen=0,
            employer_basic_fen=0, employer_maternity_fen=0, employer_large_amount_fen=0,
            employer_local_supplement_fen=0, individual_basic_fen=10_000, fixed_premium_fen=0,
            to_pooled_fund_fen=0, to_individual_account_fen=10_000, to_maternity_fund_fen=0,
            to_large_amount_fund_fen=0, to_local_supplement_fund_fen=0, total_fen=10_000,
            paid_fen=10_000 if status == "paid" else 0, status=status, due_date=due, paid_on=on))
    s.flush()


def fund_account(s: Session, p: Person, fen: int, region: str = "110000",
                 on: dt.date = dt.date(2024, 1, 2), key: str | None = None) -> None:
    """Money into the person's individual account: DR cash / CR individual_account."""
    cash = ledger.account(s, region, "cash")
    ia = ledger.account(s, region, "individual_account", p.id)
    ledger.post(s, key or f"fund:{p.id}:{fen}:{on}", "account_credit", region, on,
                [ledger.debit(cash, fen), ledger.credit(ia, fen)])


def fund_pools(s: Session, region: str = "110000", fen: int = 10**12,
               on: dt.date = dt.date(2024, 1, 1)) -> None:
    """Money in the pooled and large-amount funds (so their balances read like a real fund's)."""
    cash = ledger.account(s, region, "cash")
    for kind in ("pooled_fund", "large_amount_fund"):
        ledger.post(s, f"seed:{region}:{kind}", "seed", region, on,
                    [ledger.debit(cash, fen), ledger.credit(ledger.account(s, region, kind), fen)])


def link(s: Session, holder: Person, relative: Person, valid_from: dt.date = dt.date(2022, 1, 1),
         relation: str = "parent") -> FamilyLink:
    fl = FamilyLink(holder_id=holder.id, relative_id=relative.id, relation=relation, valid_from=valid_from)
    s.add(fl)
    s.flush()
    return fl


def ia_balance(s: Session, person_id: int, region: str = "110000") -> int:
    code = ledger.account_code(region, "individual_account", person_id)
    acc = s.scalar(select(ledger.LedgerAccount).where(ledger.LedgerAccount.code == code))
    return 0 if acc is None else ledger.balance(s, acc)


def fund_balances(s: Session, region: str = "110000") -> dict[str, int]:
    out = {}
    for kind in ("pooled_fund", "large_amount_fund", "provider_payable", "family_mutual_aid", "cash"):
        code = ledger.account_code(region, kind)
        acc = s.scalar(select(ledger.LedgerAccount).where(ledger.LedgerAccount.code == code))
        out[kind] = 0 if acc is None else ledger.balance(s, acc)
    return out


# Test regions with Beijing's settlement rules and waiting rules Beijing's file leaves unknown.
FUJIAN_WAIT = """
# Beijing's settlement with Fujian's waiting rules (福建省医疗保障局, PD other_regions_examples, high);
# the same values as tests/fixtures/rules/fujian.yaml.
region: {code: "990201", pinyin: bj_fujian_wait, name_zh: 北京规则加福建等待期,
         name_en: Beijing + Fujian waits, inherits: beijing, pooling_level: hypothetical, confidence: low}
sources:
  fj_wait:
    title: 福建省医疗保障局 断保补缴与待遇等待期
    href: "https://ybj.fj.gov.cn/bsfw/syldylbzfw/ybbnx/202407/t20240712_6482630.htm"
    confidence: high
parameters:
  eligibility.waiting.after_gap_months: [{from: 2024-04-19, value: 6, source: fj_wait}]
  eligibility.waiting.after_gap_backpaid_months: [{from: 2024-04-19, value: 3, source: fj_wait}]
  eligibility.waiting.reduced_share: [{from: 2024-04-19, value: "50%", source: fj_wait}]
  eligibility.benefit_start: [{from: 2024-04-19, value: same_month, source: fj_wait}]
"""

FLEX_WAIT = """
# Beijing's settlement with a 6-month wait for flexible workers enrolling (Tianjin's figure, PD
# tianjin, low) and no benefits during it (the national 0% share); benefit start hypothetical.
region: {code: "990202", pinyin: bj_flex_wait, name_zh: 北京规则加灵活就业等待期,
         name_en: Beijing + flexible wait, inherits: beijing, pooling_level: hypothetical, confidence: low}
sources:
  tj_flex: {title: "Tianjin flexible workers: benefits after 6 months of continuous contributions",
            confidence: low}
  hypo: {title: "hypothetical, for tests", confidence: low}
parameters:
  eligibility.waiting.flexible_months: [{from: 2020-01-01, value: 6, source: tj_flex}]
  eligibility.waiting.unit_months: [{from: 2020-01-01, value: 0, source: hypo}]
  eligibility.benefit_start: [{from: 2020-01-01, value: same_month, source: hypo}]
"""


def wait_registry(folder: Path) -> Registry:
    """A registry with the two test regions above (their Region rows: :func:`add_wait_regions`)."""
    files = []
    for name, text in (("bj_fujian_wait", FUJIAN_WAIT), ("bj_flex_wait", FLEX_WAIT)):
        f = folder / f"{name}.yaml"
        f.write_text(text, encoding="utf-8")
        files.append(f)
    return Registry(policy_files=files)


def add_wait_regions(s: Session) -> None:
    s.add(Region(code="990201", policy="bj_fujian_wait", name_zh="福建等待期", name_en="Fujian waits"))
    s.add(Region(code="990202", policy="bj_flex_wait", name_zh="灵活就业等待期", name_en="flexible wait"))
    s.flush()


def row_counts(s: Session) -> dict[str, int]:
    return {t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables}


def ledger_sum(s: Session) -> int:
    return int(s.scalar(select(func.coalesce(func.sum(ledger.LedgerEntry.amount_fen), 0))) or 0)
