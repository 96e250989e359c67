"""A hand-made register (export layout) and run folder on which every worklist fires and does not fire.

Beijing (110000), as of 2024-12-31. Each person is one case; the comment says which worklist it is
for and whether it must be listed. Thresholds: interrupted_months = 3 from
``eligibility.backpay_max_gap_months`` (national.yaml, transfer2021), flexible_warn_months = 2 and
newborn_days = 90 (settings.yaml, assumptions). Contribution months are priced with the policy
engine (Beijing 2024-07: floor 6821, cap 35283, employer 9.8%, individual 2% + 3 yuan; beijing.yaml).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from yibao.match.synthetic.employment import synthetic_usccs
from yibao.match.synthetic.register import write_table
from yibao.policy.registry import default_registry
from yibao.rules.contribution import PERSON_TYPES, ContributionParams, assess_contributions

AS_OF = dt.date(2024, 12, 31)
REGION = "110000"
U1, U2, U3, U4 = synthetic_usccs(np.random.default_rng(7), 4, ["110105"])  # U3 is not in the register


def rid(n: int, born: str = "19800101") -> str:
    """A valid 18-digit resident ID (GB 11643-1999 checksum) for person number ``n``."""
    body = f"110105{born}{n:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def price(month: int, wage_fen: int, category: str) -> tuple[int, int]:
    """(base, total) of one month by Beijing's contribution rules (the policy engine)."""
    params = ContributionParams.from_snapshot(default_registry().policy("beijing").at(
        dt.date(month // 100, month % 100, 1)))
    cols = assess_contributions(np.array([wage_fen]), np.array([PERSON_TYPES.index(category)], dtype=np.int8),
                                params)
    return int(cols.base_fen[0]), int(cols.total_fen[0])


@dataclass
class World:
    persons: list[dict[str, Any]] = field(default_factory=list)
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    months: list[dict[str, Any]] = field(default_factory=list)
    feeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)

    def person(self, pid: int, death: dt.date | None = None, born: str = "19800101") -> str:
        number = rid(pid, born)
        self.persons.append({"person_id": pid, "id_number": number, "id_kind": "resident",
                             "name": f"张{pid}", "sex": "male",
                             "birth_date": dt.date(int(born[:4]), int(born[4:6]), int(born[6:])),
                             "hukou_region": "110105", "residence_region": "110105", "death_date": death})
        return number

    def enroll(self, pid: int, scheme: str, category: str, start: int, end: int | None = None,
               status: str = "active", employer: int | None = None) -> int:
        eid = 100 + len(self.enrollments)
        self.enrollments.append({"enrollment_id": eid, "person_id": pid, "region_code": REGION,
                                 "scheme": scheme, "category": category, "employer_id": employer,
                                 "start_month": start,
                                 "end_month": end, "status": status})
        return eid

    def pay(self, pid: int, eid: int, months: range | list[int], wage_fen: int, category: str,
            employer: int | None = None, status: str = "paid") -> None:
        for m in months:
            base, total = price(m, wage_fen, category)
            due = dt.date(m // 100, m % 100, 28)
            self.months.append({
                "person_id": pid, "enrollment_id": eid, "region_code": REGION, "month": m,
                "category": category,
                "payer_kind": "employer" if employer else "person", "payer_id": employer or pid,
                "wage_fen": wage_fen, "base_fen": base, "total_fen": total,
                "paid_fen": total if status == "paid" else 0, "status": status, "due_date": due,
                "paid_on": due if status == "paid" else None})

    def row(self, feed: str, pid: int | None, method: str = "exact_id", prob: float | None = 1.0,
            cluster: int | None = None, **cells: Any) -> int:
        rows = self.feeds.setdefault(feed, [])
        source_row = len(rows) + 1
        rows.append({"source_row": source_row} | cells)
        self.links.append({"feed": feed, "source_row": source_row, "person_id": pid,
                           "method": method if pid is not None or method != "exact_id" else "none",
                           "match_probability": prob if pid is not None else None, "match_weight": None,
                           "cluster_id": cluster if cluster is not None else pid})
        return source_row


def tax(w: World, pid: int | None, number: str | None, uscc: str, wage_yuan: int, month: int = 202412,
        method: str = "exact_id", prob: float | None = 1.0) -> int:
    return w.row("tax_wages", pid, method, prob, id_number=number, id_raw=number, name=f"张{pid}",
                 employer_uscc=uscc, employer_name="某公司", month=dt.date(month // 100, month % 100, 1),
                 wage_fen=wage_yuan * 100)


def build() -> World:
    w = World()
    year = list(range(202401, 202413))
    # -- employed_not_insured, employer_undercount, base_below_wage --------------------------------
    n1 = w.person(1)  # base equal to wage: NOT base_below_wage
    e = w.enroll(1, "employee", "in_service", 202001, employer=1)
    w.pay(1, e, year, 1_000_000, "in_service", employer=1)
    tax(w, 1, n1, U1, 10000)
    n2 = w.person(2)  # declared 6000 < taxed 10000: base_below_wage, gap 375.12 yuan; weak link
    e = w.enroll(2, "employee", "in_service", 202001, employer=1)
    w.pay(2, e, year, 600_000, "in_service", employer=1)
    tax(w, 2, n2, U1, 10000, method="probabilistic", prob=0.80)
    n3 = w.person(3)  # declared 40000 < taxed 45000, both above the 35283 cap: gap 0, NOT listed
    e = w.enroll(3, "employee", "in_service", 202001, employer=1)
    w.pay(3, e, year, 4_000_000, "in_service", employer=1)
    tax(w, 3, n3, U1, 45000)
    n4 = w.person(4)  # taxed at U1, resident insurance only: employed_not_insured / resident_instead
    w.enroll(4, "resident", "resident", 202001)
    tax(w, 4, n4, U1, 8000)
    # not in the register, unit U3 unknown: W1 not_in_register, W2 not_registered
    tax(w, None, rid(900), U3, 7000)
    tax(w, None, rid(901), U3, 7000, month=202501)  # after the as-of month: ignored
    for pid in (6, 7):  # U2: two taxed, two insured: NOT employer_undercount
        n = w.person(pid)
        e = w.enroll(pid, "employee", "in_service", 202001, employer=2)
        w.pay(pid, e, year, 900_000, "in_service", employer=2)
        tax(w, pid, n, U2, 9000)
    # -- deceased_enrolled -------------------------------------------------------------------------
    n8 = w.person(8)  # died 2024-10-15, flexible, still paying Nov and Dec: allocations_after_death
    e = w.enroll(8, "employee", "flexible", 202001)
    w.pay(8, e, year, 744_000, "flexible")
    w.row("ps_deaths", 8, id_number=n8, id_raw=n8, name="张8", death_date=dt.date(2024, 10, 15))
    n9 = w.person(9)  # died 2024-11-20, enrollment ended 2024-11, paid for Nov: NOT listed
    e = w.enroll(9, "employee", "flexible", 202001, 202411, "ended")
    w.pay(9, e, list(range(202401, 202412)), 744_000, "flexible")
    w.row("ps_deaths", 9, id_number=n9, id_raw=n9, name="张9", death_date=dt.date(2024, 11, 20))
    n10 = w.person(10)  # died 2024-11-20, resident enrollment still open: still_enrolled
    w.enroll(10, "resident", "resident", 202001)
    w.row("ps_deaths", 10, id_number=n10, id_raw=n10, name="张10", death_date=dt.date(2024, 11, 20))
    w.person(11, death=dt.date(2024, 6, 1))  # the register knows the death, enrollment open: listed
    w.enroll(11, "resident", "resident", 202001)
    # -- insured_twice -----------------------------------------------------------------------------
    others = ((12, "120000", "参保缴费"), (13, "120000", "终止参保"), (14, "110108", "参保缴费"))
    for pid, region, status in others:
        n = w.person(pid)  # 12 listed; 13 ended there; 14 is a home district
        w.enroll(pid, "resident", "resident", 202001)
        w.row("other_region_register", pid, id_number=n, id_raw=n, name=f"张{pid}", region_code=region,
              insurance_type="职工基本医疗保险", status=status, event_date=dt.date(2023, 1, 1))
    w.person(15)  # employee and resident both in force: two_schemes
    e = w.enroll(15, "employee", "in_service", 202001, employer=3)
    w.pay(15, e, year, 900_000, "in_service", employer=3)
    w.enroll(15, "resident", "resident", 202001)
    w.person(16)  # resident ended 2024-06: NOT listed
    e = w.enroll(16, "employee", "in_service", 202001, employer=3)
    w.pay(16, e, year, 900_000, "in_service", employer=3)
    w.enroll(16, "resident", "resident", 202001, 202406, "ended")
    # -- newborn_not_enrolled (as of 2024-12-31, N = 90 days) ---------------------------------------
    def birth(pid: int | None, number: str | None, born: dt.date, method: str = "exact_id") -> None:
        w.row("ps_births", pid, method, id_number=number, id_raw=number, name="新生儿", sex="female",
              birth_date=born, region_code="110105")

    birth(None, rid(950, "20241002"), dt.date(2024, 10, 2))  # exactly 90 days: NOT listed
    birth(None, rid(951, "20241001"), dt.date(2024, 10, 1))  # 91 days: listed
    birth(None, rid(951, "20241001"), dt.date(2024, 10, 1))  # the same birth sent twice: one row
    w.person(17, born="20240801")  # enrolled at birth: NOT listed
    w.enroll(17, "resident", "resident", 202408)
    birth(17, rid(17, "20240801"), dt.date(2024, 8, 1))
    birth(None, None, dt.date(2024, 7, 1), method="none")  # no ID, linked to nobody: listed, identity check
    birth(None, rid(952, "20240701"), dt.date(2024, 7, 1))  # died (deaths feed, same ID): NOT listed
    w.row("ps_deaths", None, id_number=rid(952, "20240701"), id_raw=rid(952, "20240701"), name="新生儿",
          death_date=dt.date(2024, 9, 1))
    # -- interrupted (N = 3) and flexible_at_risk (warn 2) --------------------------------------------
    def history(pid: int, category: str, last_paid: int, status: str = "active", end: int | None = None,
                employer: int | None = None) -> None:
        w.person(pid)
        e = w.enroll(pid, "employee", category, 202301, end, status, employer)
        months = [m for m in year if end is None or m <= end]
        w.pay(pid, e, [m for m in months if m <= last_paid], 600_000, category, employer)
        w.pay(pid, e, [m for m in months if m > last_paid], 600_000, category, employer, status="due")

    history(18, "in_service", 202408, employer=3)  # 4 months unpaid > 3: interrupted
    history(19, "in_service", 202409, employer=3)  # exactly 3: NOT interrupted (and not flexible)
    history(20, "flexible", 202409)  # 3 unpaid, 1 back-payable month left: at risk, priority 1
    history(21, "flexible", 202410)  # 2 unpaid, 2 left: at risk, priority 2
    history(22, "flexible", 202411)  # 1 unpaid, 3 left: NOT at risk
    w.person(23)  # retiree, pays nothing: NOT interrupted
    w.enroll(23, "employee", "retiree", 202001)
    history(24, "in_service", 202405, "ended", 202405, employer=3)  # ended, moved away: NOT interrupted
    n24 = rid(24)
    w.row("ps_hukou_moves", 24, id_number=n24, id_raw=n24, name="张24", event_date=dt.date(2024, 5, 20),
          from_region_code="110105", to_region_code="120101", event_type="迁出")
    history(25, "in_service", 202405, "ended", 202405, employer=3)  # ended without reason: interrupted
    return w


def write(w: World, root: Path) -> tuple[Path, Path]:
    """The register folder and the run folder of ``w`` under ``root``."""
    register, run = root / "register", root / "run"
    register.mkdir(parents=True)
    employers = pl.DataFrame({"employer_id": [1, 2, 3], "uscc": [U1, U2, U4],
                              "name": ["北京甲公司", "北京乙公司", "北京丙公司"],
                              "region_code": REGION, "status": "active", "closed_on": [None, None, None],
                              "hardship": False}, schema_overrides={"closed_on": pl.Date})
    spells = pl.DataFrame(schema={"person_id": pl.Int64, "employer_id": pl.Int64, "start_date": pl.Date,
                                  "end_date": pl.Date})
    tables = {"persons": pl.DataFrame(w.persons), "employers": employers, "employment_spells": spells,
              "enrollments": pl.DataFrame(w.enrollments, infer_schema_length=None),
              "contribution_months": pl.DataFrame(w.months, infer_schema_length=None)}
    for name, frame in tables.items():
        write_table(frame, register / f"{name}.parquet", name)
    (register / "manifest.json").write_text(json.dumps({"layout_version": "1", "region": REGION,
                                                        "as_of": AS_OF.isoformat()}), encoding="utf-8")
    for feed, rows in w.feeds.items():
        (run / "feeds" / feed).mkdir(parents=True)
        pl.DataFrame(rows, infer_schema_length=None).write_parquet(run / "feeds" / feed / "rows.parquet")
    pl.DataFrame(w.links, schema={"feed": pl.String, "source_row": pl.Int64, "person_id": pl.Int64,
                                  "method": pl.String, "match_probability": pl.Float64,
                                  "match_weight": pl.Float64, "cluster_id": pl.Int64}
                 ).write_parquet(run / "links.parquet")
    return register, run
