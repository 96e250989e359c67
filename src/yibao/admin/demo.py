"""The demo installation: a region with a few thousand synthetic people and a year of business.

``yibao demo`` (what ``make run`` shows) builds it once in ``./yibao.db`` (or ``--db``) and then
prints what a bureau would look at. Everything goes through the same services staff use — the
register, enrollment, declarations, the monthly assessment run, payments and recognition, the
retiree account credit, claim settlement — so the demo exercises the real system, not a shortcut.

The region is 示范市 / Demo City (``demo_region.yaml``): Beijing's sourced rules plus labelled
assumptions for the values Beijing's sources leave unknown (waiting periods, flexible workers'
account credit). The people, employers, wages and claims are random but reproducible (seeded):

- employers with 5–60 employees, wages log-normal around the region's average wage; a few
  employers stop paying in the autumn (arrears), a few flexible workers stop paying (interruptions);
- retirees with pensions and the region's monthly account credit;
- spouses linked for family mutual aid (家庭共济);
- outpatient visits and inpatient stays settled through the rule calculators.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin import approvals
from yibao.admin import claims as claims_service
from yibao.admin.accounts import credit_retirees
from yibao.admin.assessment import run_assessment
from yibao.admin.declarations import declare_payroll, declare_wage
from yibao.admin.enrollment import enroll
from yibao.admin.payments import record_payment
from yibao.admin.policies import add_region, registry_of
from yibao.admin.register import hire, link_family, register_employer, register_person
from yibao.admin.uow import SYSTEM, Actor, run
from yibao.db.base import add_months, ym
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, Person, Region
from yibao.ids import organisation_code_check, synthetic_resident_ids, uscc_check_char
from yibao.policy.registry import Registry

__all__ = ["DEMO_REGION", "DemoSize", "build_demo", "demo_exists", "demo_region_text"]

DEMO_REGION = "990100"
CLERK = Actor("demo-clerk", "operator", purpose="示范数据 / demo data")
#: The second pair of eyes for the demo's large claims (four-eyes, yibao.admin.approvals).
REVIEWER = Actor("demo-reviewer", "reviewer", purpose="示范数据 / demo data")

_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓"
             "曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
_GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国"
          "红梅海燕玉兰志强春梅文博子涵浩然欣怡宇轩梓萱")
_UNITS = ("科技", "商贸", "物流", "建设", "食品", "医药", "印刷", "服装", "信息", "餐饮")
_ORG_ALPHABET = string.digits + "ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class DemoSize:
    """How big the demo is. The defaults make a region a bureau clerk can browse."""

    employees: int = 1400
    flexible: int = 200
    retirees: int = 400
    employers: int = 60
    outpatient_claims: int = 900
    inpatient_claims: int = 150
    year: int = 2024
    seed: int = 20240101
    claim_review_fen: int | None = None  # the region's four-eyes threshold; None: yibao's default


def demo_region_text() -> str:
    return resources.files("yibao.admin").joinpath("demo_region.yaml").read_text(encoding="utf-8")


def demo_exists(engine: Engine) -> bool:
    with Session(engine) as s:
        return bool(s.scalar(select(func.count()).select_from(Enrollment)
                             .where(Enrollment.region_code == DEMO_REGION)))


def _uscc(rng: np.random.Generator, district: str) -> str:
    body = "".join(rng.choice(list(string.digits), 8))
    org = body + organisation_code_check(body)
    first17 = "91" + district + org
    return first17 + uscc_check_char(first17)


def _name(rng: np.random.Generator) -> str:
    given = "".join(rng.choice(list(_GIVEN), int(rng.integers(1, 3))))
    return str(rng.choice(list(_SURNAMES))) + given


def _birth_dates(rng: np.random.Generator, n: int, first_year: int, last_year: int) -> np.ndarray[Any, Any]:
    lo = np.datetime64(f"{first_year}-01-01", "D").astype(np.int64)
    hi = np.datetime64(f"{last_year}-12-31", "D").astype(np.int64)
    return rng.integers(lo, hi + 1, n).astype("datetime64[D]")


Step = Callable[[str, int, int], None]


def _noop(_label: str, _done: int, _total: int) -> None:
    return None


def build_demo(engine: Engine, size: DemoSize | None = None, progress: Step = _noop) -> dict[str, Any]:
    """Create the demo region and run its year (see the module docstring); returns counts."""
    size = size or DemoSize()
    rng = np.random.default_rng(size.seed)
    year = size.year
    first_month = ym(year, 1)

    progress("地区与单位 / region and employers", 0, 1)
    run(engine, lambda s: add_region(s, demo_region_text()))
    if size.claim_review_fen is not None:
        threshold = size.claim_review_fen
        run(engine, lambda s: approvals.set_thresholds(s, SYSTEM, DEMO_REGION, claim_review=threshold))
    with Session(engine) as s:
        registry = registry_of(s)
    people = _register(engine, rng, size, registry, progress)
    progress("地区与单位 / region and employers", 1, 1)

    arrears_units = set(people["employers"][:3])  # these stop paying from September
    dropouts = set(people["flexible"][: max(1, len(people["flexible"]) // 20)])
    plan = _claim_plan(rng, size, people)
    months = [add_months(first_month, k) for k in range(12)]
    settled = 0
    # Chronological, as a bureau lives it: the month is assessed on the 1st, claims arrive every
    # day, payers pay on the 15th (so an account pays only from credits it already had).
    for k, month in enumerate(months):
        progress("每月业务 / the year month by month", k, len(months))
        run_assessment(engine, DEMO_REGION, month, registry=registry, actor=CLERK)
        credit_retirees(engine, DEMO_REGION, month, registry=registry, actor=CLERK)
        paid_on = dt.date(month // 100, month % 100, 15)
        in_month = [c for c in plan if (c[0].year * 100 + c[0].month) == month]
        settled += _settle(engine, [c for c in in_month if c[0] < paid_on], registry)
        _pay_month(engine, month, paid_on, arrears_units, dropouts, registry)
        settled += _settle(engine, [c for c in in_month if c[0] >= paid_on], registry)
    progress("每月业务 / the year month by month", len(months), len(months))
    return {"region": DEMO_REGION, "persons": len(people["persons"]), "employers": len(people["employers"]),
            "claims": settled}


def _register(engine: Engine, rng: np.random.Generator, size: DemoSize, registry: Registry,
              progress: Step) -> dict[str, list[int]]:
    year = size.year
    start = ym(year, 1)
    n = size.employees + size.flexible + size.retirees
    births = np.concatenate([
        _birth_dates(rng, size.employees + size.flexible, 1966, 2002),
        _birth_dates(rng, size.retirees, 1940, 1962)])
    male = rng.random(n) < 0.52
    districts = rng.choice(["110101", "110102", "110105", "110106", "110108"], n)
    ids = synthetic_resident_ids(rng, births, male, list(districts))
    wages = np.round(np.exp(rng.normal(np.log(9_500), 0.45, n)), -1).astype(np.int64) * 100  # fen
    out: dict[str, list[int]] = {"persons": [], "employers": [], "employees": [], "flexible": [],
                                 "retirees": []}

    def employers(s: Session) -> None:
        for i in range(size.employers):
            name = f"示范{_UNITS[i % len(_UNITS)]}有限公司{i + 1:02d}"
            e = register_employer(s, CLERK, _uscc(rng, "110105"), name, DEMO_REGION)
            out["employers"].append(e.id)

    run(engine, employers)
    unit_of = rng.integers(0, size.employers, size.employees)
    chunk = 250
    for lo in range(0, n, chunk):
        progress("登记与参保 / register and enroll", lo, n)

        def people(s: Session, lo: int = lo) -> None:
            for i in range(lo, min(lo + chunk, n)):
                p = register_person(s, CLERK, ids[i], _name(rng), hukou_region=str(districts[i]))
                out["persons"].append(p.id)
                if i < size.employees:
                    emp = out["employers"][int(unit_of[i])]
                    hire(s, CLERK, p.id, emp, dt.date(year - 1 - int(rng.integers(0, 8)), 1, 1))
                    enroll(s, CLERK, p.id, DEMO_REGION, "in_service", start, employer_id=emp,
                           registry=registry)
                    declare_wage(s, CLERK, DEMO_REGION, p.id, "employer", emp, start, int(wages[i]))
                    out["employees"].append(p.id)
                elif i < size.employees + size.flexible:
                    enroll(s, CLERK, p.id, DEMO_REGION, "flexible", start, registry=registry)
                    out["flexible"].append(p.id)
                else:
                    born = births[i].astype(dt.date)
                    retired_on = dt.date(born.year + (60 if male[i] else 55), born.month, 1)
                    enroll(s, CLERK, p.id, DEMO_REGION, "retiree", start, retired_on=retired_on,
                           pension_fen=int(wages[i]) // 2, registry=registry)
                    out["retirees"].append(p.id)

        run(engine, people)
    progress("登记与参保 / register and enroll", n, n)

    def payroll_and_families(s: Session) -> None:
        counts = np.bincount(unit_of, minlength=size.employers)
        sums = np.bincount(unit_of, weights=wages[: size.employees], minlength=size.employers)
        for j, emp in enumerate(out["employers"]):
            # a few units declare a payroll above their employees' declared wages (base audit finds it)
            factor = 1.25 if j % 10 == 0 else 1.0
            declare_payroll(s, CLERK, emp, start, int(sums[j] * factor), int(counts[j]))
        emps = out["employees"]
        for a, b in zip(emps[0:80:2], emps[1:80:2], strict=False):
            link_family(s, CLERK, a, b, "spouse", dt.date(year, 1, 1), region=DEMO_REGION, registry=registry)

    run(engine, payroll_and_families)
    return out


def _pay_month(engine: Engine, month: int, paid_on: dt.date, arrears_units: set[int],
               dropouts: set[int], registry: Registry) -> None:
    """Each payer pays what the month assessed, on the 15th; some stop in the autumn."""
    with Session(engine) as s:
        dues = s.execute(select(ContributionMonth.payer_kind, ContributionMonth.payer_id,
                                func.sum(ContributionMonth.total_fen))
                         .where(ContributionMonth.region_code == DEMO_REGION,
                                ContributionMonth.month == month)
                         .group_by(ContributionMonth.payer_kind, ContributionMonth.payer_id)).all()
    autumn = month % 100 >= 9
    for kind, payer, total in dues:
        stopped = (kind == "employer" and payer in arrears_units) or (kind == "person" and payer in dropouts)
        if autumn and stopped:
            continue

        def pay(s: Session, kind: str = kind, payer: int = payer, total: int = int(total)) -> None:
            record_payment(s, CLERK, DEMO_REGION, kind, payer, total, paid_on,
                           f"DEMO-{month}-{kind[0].upper()}{payer}", key=f"demo-pay-{month}-{kind}-{payer}",
                           registry=registry)

        run(engine, pay)


Planned = tuple[dt.date, int, int, str, str, int, int]  # date, seq, person, kind, level, cost, self-pay


def _claim_plan(rng: np.random.Generator, size: DemoSize, people: dict[str, list[int]]) -> list[Planned]:
    """Outpatient visits and inpatient stays spread over the year (retirees use more care)."""
    everyone = people["employees"] + people["flexible"] + people["retirees"]
    weights = np.array([1.0] * (len(people["employees"]) + len(people["flexible"]))
                       + [3.0] * len(people["retirees"]))  # admission rate 39.5% vs 9.9% (DOMAIN §4.3)
    weights /= weights.sum()
    plan: list[Planned] = []
    for k in range(size.outpatient_claims + size.inpatient_claims):
        inpatient = k >= size.outpatient_claims
        who = int(rng.choice(everyone, p=weights))
        day = dt.date(size.year, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
        if inpatient:
            cost = int(np.exp(rng.normal(np.log(12_000), 0.8)) * 100)  # 2023 average 12175 (DOMAIN §4.3)
            level = str(rng.choice(["level_2", "level_3", "level_3"]))
        else:
            cost = int(np.exp(rng.normal(np.log(350), 0.9)) * 100)
            level = str(rng.choice(["community", "level_1", "level_2", "level_3"]))
        full_self = int(cost * rng.uniform(0, 0.08))
        plan.append((day, k, who, "inpatient" if inpatient else "outpatient", level, cost, full_self))
    plan.sort()
    return plan


def _approve(engine: Engine, asked: approvals.ApprovalRequired) -> bool:
    """File the clerk's request; the demo's reviewer approves it, which settles the claim (False:
    the claim was refused when settled, and the request stays pending)."""
    filed = run(engine, lambda s: approvals.submit(s, asked))
    try:
        run(engine, lambda s: approvals.decide(s, REVIEWER, filed.id, True, "示范复核 / demo review"))
    except claims_service.ClaimRefused:
        return False
    return True


def _settle(engine: Engine, planned: list[Planned], registry: Registry) -> int:
    settled = 0
    for day, k, who, kind, level, cost, full_self in planned:
        ci = claims_service.ClaimInput(service_date=day, kind=kind, level=level, total_fen=cost,
                                       full_self_pay_fen=full_self, medins_code=f"H990100{k % 7:03d}")

        def settle(s: Session, who: int = who, ci: claims_service.ClaimInput = ci, k: int = k) -> None:
            claims_service.settle(s, CLERK, DEMO_REGION, who, ci, key=f"demo-claim-{k}", registry=registry)

        try:
            run(engine, settle)
            settled += 1
        except approvals.ApprovalRequired as asked:  # a large claim: the demo's reviewer approves it
            settled += _approve(engine, asked)
        except claims_service.ClaimRefused:
            pass  # e.g. a flexible worker in the waiting period, or after contributions stopped
    return settled


def demo_region_row(session: Session) -> Region | None:
    return session.get(Region, DEMO_REGION)


def sample_people(session: Session) -> dict[str, int | None]:
    """People worth showing: someone with an inpatient claim, a retiree, an employer in arrears."""
    from yibao.db.models.claims import Claim

    inpatient = session.scalar(select(Claim.id).where(
        Claim.region_code == DEMO_REGION, Claim.kind == "inpatient", Claim.status == "settled")
        .order_by(Claim.hifp_pay.desc()).limit(1))
    retiree = session.scalar(select(Enrollment.person_id).where(Enrollment.region_code == DEMO_REGION,
                                                                Enrollment.category == "retiree").limit(1))
    unit = session.scalar(select(Employer.id).where(Employer.region_code == DEMO_REGION)
                          .order_by(Employer.id))
    person = session.scalar(select(Person.id).order_by(Person.id))
    return {"inpatient_claim": inpatient, "retiree": retiree, "employer": unit, "person": person}
