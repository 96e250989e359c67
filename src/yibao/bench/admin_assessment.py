"""Benchmark of the monthly assessment run on PostgreSQL: set-based vs a naive per-row ORM loop.

:func:`bench_assessment` creates a fresh database (``yibao_bench_assess`` on the server of the URL
given; dropped at the end), loads a synthetic Beijing register with ``COPY`` — ``n_employers``
units, ``n_employees`` unit employees (in_service) each assigned to a random unit (so a chunk
touches many units, as in a real register where enrollment ids do not follow the unit), one wage
declaration each (log-normal around 9000 yuan, some above the cap and below the floor) — and
measures, on the same data in the same process:

1. ``yibao`` — :func:`yibao.admin.assessment.run_assessment` for 2024-03, rows and postings written
   with ``COPY``;
2. ``yibao (executemany)`` — the same run with SQLAlchemy ``insert()`` executemany (the run's rows
   and postings are truncated in between);
3. ``naive per-row ORM`` — for each enrollment of a sample, in its own transaction (that is what
   makes a per-row loop resumable): load the enrollment and its declaration in force with the ORM,
   :func:`~yibao.rules.contribution.assess_contributions` on one row, add a
   :class:`~yibao.db.models.contribution.ContributionMonth`, :func:`yibao.admin.ledger.post` a
   transfer. It runs on ``naive_rows`` rows (default 2,000) of month 2024-04 (same parameter
   period) and is **extrapolated** linearly to ``n_employees``; the row says so. Its results are
   compared with the set-based run's on the same enrollments (``mismatches``, 0 expected).

Each result row: implementation, rows measured, seconds, rows/s, the time for all rows (measured
or extrapolated) and the ratio of that time to the set-based run's. The database and its
indexes are those of the models (``Base.metadata.create_all``) and ``ANALYZE`` runs after loading.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

import yibao.db.models  # noqa: F401  (the whole schema)
from yibao.admin import ledger
from yibao.admin.assessment import Bulk, due_date, run_assessment
from yibao.admin.declarations import wage_in_force
from yibao.admin.ledger import credit, debit
from yibao.admin.policies import region_policy
from yibao.admin.uow import run
from yibao.bench.pg import PERSON_COLUMNS, bench_urls, copy_lines, person_line, recreate
from yibao.db.base import Base, first_day
from yibao.db.crypto import keyring
from yibao.db.engine import make_engine
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Region
from yibao.ids import organisation_code_check
from yibao.ids.person import MOD11_CHARS, MOD11_WEIGHTS
from yibao.ids.uscc import uscc_check_char
from yibao.rules.contribution import COLUMNS, IN_SERVICE, ContributionParams, assess_contributions

__all__ = ["BENCH_DB", "FULL", "QUICK", "bench_assessment"]

BENCH_DB = "yibao_bench_assess"
QUICK = {"n_employees": 20_000, "n_employers": 200}
FULL = {"n_employees": 1_000_000, "n_employers": 10_000}
REGION = "110000"
MONTH = 202403
NAIVE_MONTH = 202404  # same Beijing parameter period (2023-07..2024-06) as MONTH






def _person_ids(n: int) -> list[str]:
    """``n`` distinct valid 18-digit resident IDs (Beijing Dongcheng address code)."""
    out = []
    base = dt.date(1960, 1, 1)
    for i in range(n):
        born = base + dt.timedelta(days=i % 16000)
        body = f"110101{born:%Y%m%d}{i // 16000:03d}"
        check = sum(int(c) * w for c, w in zip(body, MOD11_WEIGHTS, strict=True)) % 11
        out.append(body + MOD11_CHARS[check])
    return out


def _usccs(n: int) -> list[str]:
    out = []
    for i in range(n):
        org = f"{i + 1:08d}"
        first17 = f"91110000{org}{organisation_code_check(org)}"
        out.append(first17 + uscc_check_char(first17))
    return out


def _load(engine: Engine, n_employees: int, n_employers: int, seed: int) -> None:
    Base.metadata.create_all(engine)
    keyring(create=True)  # a throwaway database: a keyring is made if none is configured
    with Session(engine) as s, s.begin():
        s.add(Region(code=REGION, policy="beijing", name_zh="北京", name_en="Beijing"))
    now = dt.datetime.now(dt.UTC).isoformat()
    copy_lines(engine, "employer", ["id", "uscc", "name", "region_code", "base_method", "hardship", "status",
                               "created_at"],
          (f"{i + 1}\t{code}\t单位{i + 1}\t{REGION}\tsum_of_individual_bases\tf\tactive\t{now}\n"
           for i, code in enumerate(_usccs(n_employers))))
    copy_lines(engine, "person", [*PERSON_COLUMNS, "sex", "birth_date", "hukou_region", "created_at"],
          (f"{person_line(i + 1, number, f'职工{i + 1}')}\t{'male' if int(number[16]) % 2 else 'female'}\t"
           f"{number[6:10]}-{number[10:12]}-{number[12:14]}\t{REGION}\t{now}\n"
           for i, number in enumerate(_person_ids(n_employees))))
    rng = np.random.default_rng(seed)
    employer = rng.integers(1, n_employers + 1, size=n_employees).tolist()
    copy_lines(engine, "enrollment", ["id", "person_id", "region_code", "scheme", "category", "employer_id",
                                 "start_month", "status", "flexible_option", "pension_fen", "was_flexible",
                                 "created_at"],
          (f"{i + 1}\t{i + 1}\t{REGION}\temployee\tin_service\t{emp}\t202301\tactive\t0\t0\tf\t{now}\n"
           for i, emp in enumerate(employer)))
    # wages: log-normal around 9000 yuan (some below the 6326 floor, some above the 33891 cap)
    wage = (np.exp(rng.normal(np.log(9000.0), 0.6, size=n_employees)) * 100).astype(np.int64).tolist()
    copy_lines(engine, "wage_declaration", ["id", "region_code", "person_id", "payer_kind", "payer_id",
                                       "month_from", "wage_fen", "source", "created_at"],
          (f"{i + 1}\t{REGION}\t{i + 1}\temployer\t{emp}\t202401\t{w}\tbench\t{now}\n"
           for i, (emp, w) in enumerate(zip(employer, wage, strict=True))))
    with engine.begin() as c:
        for seq in ("employer", "person", "enrollment", "wage_declaration"):
            c.execute(text(f"SELECT setval(pg_get_serial_sequence('{seq}', 'id'), "
                           f"(SELECT max(id) FROM {seq}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ANALYZE"))


def _reset_run(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(text("TRUNCATE contribution_month, ledger_entry, ledger_transfer, ledger_account, "
                       "monthly_run, audit_event RESTART IDENTITY CASCADE"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE contribution_month"))


def naive_assess(engine: Engine, enrollment_ids: list[int], month: int) -> None:
    """The per-row ORM implementation (module docstring), one transaction per enrollment."""
    day = first_day(month)
    cache: dict[str, ContributionParams] = {}

    def one(s: Session, eid: int) -> None:
        if "p" not in cache:
            cache["p"] = ContributionParams.from_snapshot(region_policy(s, REGION).at(day))
        e = s.get(Enrollment, eid)
        assert e is not None and e.employer_id is not None
        decl = wage_in_force(s, e.person_id, "employer", e.employer_id, month, REGION)
        assert decl is not None
        cols = assess_contributions([decl.wage_fen], np.array([IN_SERVICE], dtype=np.int8), cache["p"])
        amounts = cols.row(0)
        cm = ContributionMonth(enrollment_id=e.id, person_id=e.person_id, region_code=REGION, month=month,
                               category="in_service", payer_kind="employer", payer_id=e.employer_id,
                               wage_fen=decl.wage_fen, **{c: amounts[c] for c in COLUMNS},
                               total_fen=amounts["total_fen"], due_date=due_date(month))
        s.add(cm)
        s.flush()
        recv = ledger.account(s, REGION, "employer_receivable", e.employer_id)
        deferred = ledger.account(s, REGION, "contribution_deferred")
        ledger.post(s, f"naive:{cm.id}", "contribution_assessed", REGION, day,
                    [debit(recv, cm.total_fen), credit(deferred, cm.total_fen)])

    for eid in enrollment_ids:
        run(engine, partial(one, eid=eid))


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def bench_assessment(url: str, n_employees: int, n_employers: int, naive_rows: int = 2_000,
                     chunk_size: int = 50_000, seed: int = 20240301, keep: bool = False,
                     log: Callable[[str], None] | None = None,
                     database: str = BENCH_DB) -> list[dict[str, Any]]:
    """Run the benchmark (module docstring) on the PostgreSQL server of ``url``; rows as dicts.

    ``database`` is created afresh and dropped at the end unless ``keep``; ``log`` receives
    progress lines.
    """
    say = log or (lambda _msg: None)
    admin_url, bench_url = bench_urls(url, database)
    recreate(admin_url, database)
    engine = make_engine(bench_url)
    rows: list[dict[str, Any]] = []
    try:
        _, load_s = _timed(lambda: _load(engine, n_employees, n_employers, seed))
        say(f"loaded {n_employees} employees, {n_employers} employers in {load_s:.1f} s")
        results = {}
        modes: tuple[tuple[str, Bulk], ...] = (("yibao (executemany)", "executemany"), ("yibao", "copy"))
        for label, bulk in modes:
            _reset_run(engine)
            summary, secs = _timed(partial(run_assessment, engine, REGION, MONTH, chunk_size, bulk=bulk))
            assert summary.status == "done" and summary.assessed == n_employees, summary.message
            results[label] = (summary, secs)
            say(f"{label}: {secs:.2f} s, {summary.transfers} transfers")
        base_s = results["yibao"][1]
        for label, (summary, secs) in sorted(results.items(), key=lambda kv: kv[1][1]):
            rows.append({"suite": "assessment", "implementation": label, "rows": n_employees,
                         "suite_rows": n_employees, "seconds": round(secs, 3),
                         "rows_per_s": round(n_employees / secs), "seconds_all_rows": round(secs, 3),
                         "ratio": round(secs / base_s, 2), "transfers": summary.transfers,
                         "mismatches": None, "extrapolated": False,
                         "note": f"chunks of {chunk_size}; {'COPY' if label == 'yibao' else 'executemany'}"})
        sample = sorted(np.random.default_rng(seed + 1).choice(np.arange(1, n_employees + 1),
                                                                 size=min(naive_rows, n_employees),
                                                                 replace=False).tolist())
        _, naive_s = _timed(lambda: naive_assess(engine, sample, NAIVE_MONTH))
        with Session(engine) as s:
            got = dict(s.execute(select(ContributionMonth.enrollment_id, ContributionMonth.total_fen)
                                 .where(ContributionMonth.month == NAIVE_MONTH)).all())
            ref = dict(s.execute(select(ContributionMonth.enrollment_id, ContributionMonth.total_fen)
                                 .where(ContributionMonth.month == MONTH,
                                        ContributionMonth.enrollment_id.in_(sample))).all())
        mismatches = sum(1 for k in sample if got.get(k) != ref.get(k))
        rate = len(sample) / naive_s
        all_s = n_employees / rate
        rows.append({"suite": "assessment", "implementation": "naive per-row ORM", "rows": len(sample),
                     "suite_rows": n_employees, "seconds": round(naive_s, 3), "rows_per_s": round(rate),
                     "seconds_all_rows": round(all_s, 1), "ratio": round(all_s / base_s, 1),
                     "transfers": len(sample), "mismatches": mismatches, "extrapolated": True,
                     "note": f"measured on {len(sample)} rows, extrapolated to {n_employees} "
                             "(one transaction per row)"})
        say(f"naive: {naive_s:.2f} s for {len(sample)} rows, {mismatches} mismatches")
    finally:
        engine.dispose()
        if not keep:
            recreate(admin_url, database, drop_only=True)
    return rows
