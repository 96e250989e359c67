"""Benchmark of online claim settlement on PostgreSQL: the service vs a naive per-row ORM peer.

:func:`bench_settlement` creates a fresh database (``yibao_bench_settle`` on the server of the URL
given; dropped at the end) and loads, with ``COPY``, a synthetic Beijing register: ``n_persons``
in-service members enrolled from 2022-07 with every month of 2022-07..2024-12 paid on time, and
an individual-account balance each (one seeding transfer DR cash / CR every account). Then, on
the same data, for each implementation:

1. **throughput** — ``clients`` concurrent clients (16) settle claims for ``seconds``: each claim
   is an inpatient (1 in 4) or general-outpatient claim of 2024 for a random member, settled in
   its own transaction through :func:`yibao.admin.claims.settle` (eligibility from the member's
   contribution months, locked accumulators and account, the rule, the claim row with its
   ``setlinfo`` and explanation, one ledger transfer, an audit row); claims/s = claims settled /
   wall time;
2. **latency** — ``latency_clients`` (4) concurrent clients, p50 / p99 / max of the time per claim
   (the whole transaction, commit included).

Clients run in ``procs`` processes (default one per CPU), ``fork``-ed after the numba kernel is
compiled and the parameter caches are filled in the parent, each running its share of the clients
as threads with their own connections — an application server's workers. Each client settles 30
claims before the clock starts (connections, prepared statements, copied pages). Threads in one
process share its interpreter lock; one process per client instead costs more in context switches
on a small machine (both are measured by passing ``procs``; docs/performance.md). The machine's
cores are shared with the PostgreSQL server, and the CPU time per claim (``/proc/stat``, the
whole machine) and the clients' own are reported with each row. The engine of the clients has no
``pool_pre_ping`` (a round trip per transaction a local, long-lived pool does not need).

The **naive peer** (:func:`naive_settle`) is the most natural per-row ORM implementation: the
person, the enrollments and every contribution month are loaded as ORM objects, the accumulators
are recomputed by re-settling all the person's earlier claims of the year through
:func:`~yibao.rules.settlement.settle_claims` (no stored accumulators, so no row to lock —
correctness comes from one global lock, ``pg_advisory_xact_lock``), the policy snapshot and the
settlement table are built per claim, and each ledger account is fetched with
:func:`yibao.admin.ledger.account`. It writes the same claim rows and postings. It is measured
with the same clients for the same time, after the service, on the same database (its claims start
after the service's, so its recomputation sees the history the service left, as a real system would).

Each result row: suite, implementation, clients, claims, seconds, claims/s, p50/p99/max ms, and the
ratio of the naive peer's figure to the service's.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing as mp
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

import yibao.db.models  # noqa: F401  (the whole schema)
from yibao.admin import claims, ledger
from yibao.admin.audit import record
from yibao.admin.claims import ClaimInput, policy_for
from yibao.admin.continuity import MonthRow, Span, assess
from yibao.admin.uow import SYSTEM, run
from yibao.bench.pg import PERSON_COLUMNS, bench_urls, copy_lines, person_line, recreate
from yibao.db.base import Base, add_months, month_of
from yibao.db.crypto import keyring
from yibao.db.engine import make_engine
from yibao.db.models.claims import Claim
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Person, Region
from yibao.errors import InputError, YibaoError
from yibao.ids.person import MOD11_CHARS, MOD11_WEIGHTS
from yibao.platform.models import ClaimIn
from yibao.platform.settle import _out as platform_out
from yibao.policy.catalog import BENEFIT_CLASSES
from yibao.policy.values import Unknown
from yibao.rules.classes import STATUS_INDEX, benefit_class
from yibao.rules.settlement import Accumulators, settle_claims, year_key
from yibao.rules.settlement import Claim as RuleClaim

__all__ = ["BENCH_DB", "FULL", "QUICK", "bench_settlement", "naive_settle"]

BENCH_DB = "yibao_bench_settle"
REGION = "110000"
QUICK = {"n_persons": 20_000, "seconds": 5.0}
FULL = {"n_persons": 200_000, "seconds": 20.0}
FIRST_MONTH, LAST_MONTH = 202207, 202412


# -- database ----------------------------------------------------------------------------------------







def _person_id(i: int) -> str:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=i % 16000)
    body = f"110101{born:%Y%m%d}{i // 16000:03d}"
    return body + MOD11_CHARS[sum(int(c) * w for c, w in zip(body, MOD11_WEIGHTS, strict=True)) % 11]


def _due(month: int) -> dt.date:
    nxt = add_months(month, 1)
    return dt.date(nxt // 100, nxt % 100, 15)


def load(engine: Engine, n_persons: int, seed: int = 20240315) -> None:
    """The synthetic register of the module docstring, loaded with COPY."""
    Base.metadata.create_all(engine)
    keyring(create=True)  # a throwaway database: a keyring is made if none is configured
    with Session(engine) as s, s.begin():
        # staff-settled claims from a region-set total wait for a second person (four-eyes,
        # yibao.admin.approvals); this bench measures settlement, so no claim of it reaches the line
        s.add(Region(code=REGION, policy="beijing", name_zh="北京", name_en="Beijing",
                     claim_review_fen=MAX_BENCH_CLAIM_FEN + 1))
    rng = np.random.default_rng(seed)
    now = dt.datetime.now(dt.UTC).isoformat()
    ids = range(1, n_persons + 1)
    copy_lines(engine, "person", [*PERSON_COLUMNS, "sex", "birth_date", "created_at"],
          (f"{person_line(i, _person_id(i), f'测试{i}')}\t{'male' if i % 2 else 'female'}\t"
           f"{dt.date(1960, 1, 1) + dt.timedelta(days=i % 16000)}\t{now}\n" for i in ids))
    copy_lines(engine, "enrollment", ["id", "person_id", "region_code", "scheme", "category", "start_month",
                                 "status", "flexible_option", "pension_fen", "was_flexible", "created_at"],
          (f"{i}\t{i}\t{REGION}\temployee\tin_service\t{FIRST_MONTH}\tactive\t0\t0\tf\t{now}\n" for i in ids))
    months = [FIRST_MONTH]
    while months[-1] < LAST_MONTH:
        months.append(add_months(months[-1], 1))

    def cm_lines() -> Iterable[str]:
        zeros = "\t".join(["0"] * 6)
        for i in ids:
            for m in months:
                due = _due(m)
                yield (f"{i}\t{i}\t{REGION}\t{m}\tin_service\tperson\t{i}\t900000\t900000\t{zeros}\t"
                       f"18000\t0\t0\t18000\t0\t18000\t18000\tpaid\t{due}\t{due - dt.timedelta(days=5)}"
                       f"\tt\t{now}\n")
    copy_lines(engine, "contribution_month", [
        "enrollment_id", "person_id", "region_code", "month", "category", "payer_kind", "payer_id",
        "wage_fen", "base_fen", "employer_basic_fen", "employer_maternity_fen", "employer_large_amount_fen",
        "employer_local_supplement_fen", "to_pooled_fund_fen", "to_maternity_fund_fen",
        "individual_basic_fen", "fixed_premium_fen", "to_large_amount_fund_fen",
        "to_individual_account_fen", "to_local_supplement_fund_fen", "paid_fen", "total_fen", "status",
        "due_date", "paid_on", "recognised", "created_at"], cm_lines())
    # accounts: the funds, then one individual account per person (ids n+1 ..)
    with Session(engine) as s, s.begin():
        for kind in ("cash", "pooled_fund", "large_amount_fund", "provider_payable", "family_mutual_aid"):
            ledger.account(s, REGION, kind)
        cash = ledger.account(s, REGION, "cash")
        first_ia = int(s.scalar(text("SELECT max(id) FROM ledger_account")) or 0) + 1
        s.execute(text("INSERT INTO ledger_transfer (idempotency_key, kind, region_code, value_date, "
                       "created_at) VALUES ('bench:seed', 'account_credit', :r, :d, now())"),
                  {"r": REGION, "d": dt.date(2024, 1, 1)})
        tid = int(s.scalar(text("SELECT id FROM ledger_transfer WHERE idempotency_key = 'bench:seed'")) or 0)
        cash_id = cash.id
    copy_lines(engine, "ledger_account", ["id", "code", "region_code", "kind", "person_id", "normal",
                                     "non_negative", "created_at"],
          (f"{first_ia + i - 1}\t{REGION}/individual_account/{i}\t{REGION}\tindividual_account\t{i}\t"
           f"credit\tt\t{now}\n" for i in ids))
    balances = rng.integers(0, 300_000, size=n_persons)  # 0..3000 yuan
    copy_lines(engine, "ledger_entry", ["transfer_id", "account_id", "amount_fen", "value_date"],
          [f"{tid}\t{cash_id}\t{int(balances.sum())}\t2024-01-01\n",
           *(f"{tid}\t{first_ia + i}\t{-int(b)}\t2024-01-01\n" for i, b in enumerate(balances))])
    with engine.begin() as c:
        for table in ("person", "enrollment", "ledger_account"):
            c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))"))
        c.execute(text("ANALYZE"))


# -- claims ------------------------------------------------------------------------------------------

MAX_BENCH_CLAIM_FEN = 8_000_000  # the largest inpatient total the bench draws (80,000 yuan)


def _claims(n_persons: int, seed: int) -> Iterator[tuple[int, ClaimInput]]:
    """Endless random claims of 2024: 1 in 4 inpatient, the rest general outpatient."""
    rnd = random.Random(seed)
    while True:
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randrange(360))
        if rnd.random() < 0.25:
            ci = ClaimInput(day, "inpatient", rnd.choice(("level_1", "level_2", "level_3")),
                            rnd.randrange(200_000, MAX_BENCH_CLAIM_FEN),
                            full_self_pay_fen=rnd.randrange(0, 100_000))
        else:
            ci = ClaimInput(day, "outpatient", rnd.choice(("community", "level_1", "level_2", "level_3")),
                            rnd.randrange(2_000, 200_000))
        yield rnd.randrange(1, n_persons + 1), ci


def _service(engine: Engine, pid: int, ci: ClaimInput, key: str) -> None:
    run(engine, lambda s: claims.settle(s, SYSTEM, REGION, pid, ci, key=key))


def naive_settle(session: Session, region: str, person_id: int, ci: ClaimInput, key: str) -> Claim:
    """The naive per-row ORM settlement of the module docstring (correct, and slow by design)."""
    session.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # one claim at a time, everywhere
    reg = session.get(Region, region)
    p = session.get(Person, person_id)
    if reg is None or p is None:
        raise InputError("person_id", person_id, "无此人员", "no such person")
    policy = policy_for(reg.policy)
    snap = policy.at(ci.service_date)
    enr = session.scalars(select(Enrollment).where(Enrollment.person_id == person_id,
                                                   Enrollment.region_code == region)).all()
    span = next(e for e in enr if e.start_month <= month_of(ci.service_date))
    months = session.scalars(select(ContributionMonth).where(ContributionMonth.person_id == person_id)
                             .order_by(ContributionMonth.month)).all()
    spans = [Span(e.id, e.category, e.start_month, e.end_month, e.status, e.retired_on) for e in enr]
    el = assess(snap, spans,
                [MonthRow(m.month, m.status, m.due_date, m.paid_on) for m in months], ci.service_date)
    share = el.share_bp
    age = ci.service_date.year - p.birth_date.year - (
        (ci.service_date.month, ci.service_date.day) < (p.birth_date.month, p.birth_date.day))
    senior = snap.maybe("benefit_class.senior_age")
    cls = BENEFIT_CLASSES[int(benefit_class([STATUS_INDEX["in_service"]], [age],
                                            np.array(["NaT"], dtype="datetime64[D]"),
                                            None if isinstance(senior, Unknown) else int(senior), None)[0])]
    # accumulators recomputed from every earlier claim of the benefit year
    yk = year_key(policy, ci.service_date)
    past = session.scalars(select(Claim).where(Claim.person_id == person_id, Claim.year_key == yk,
                                               Claim.status == "settled").order_by(Claim.id)).all()
    acc = Accumulators.zeros(1)
    for c in past:
        settle_claims(policy, [RuleClaim(c.service_date, c.kind, c.benefit_class, c.hospital_level,
                                         c.medfee_sumamt, c.fulamt_ownpay_amt, c.overlmt_selfpay,
                                         c.preselfpay_amt, remote=c.remote,
                                         benefit_share_bp=c.share_bp)], acc)
    before = acc.person(0)
    ia = ledger.account(session, region, "individual_account", person_id)
    bal = ledger.balance(session, ia)
    rule_claim = RuleClaim(ci.service_date, ci.kind, cls, ci.level, ci.total_fen, ci.full_self_pay_fen,
                           ci.over_limit_fen, ci.preselfpay_fen, benefit_share_bp=share,
                           account_balance_fen=bal)
    (r,) = settle_claims(policy, [rule_claim], acc)
    after = acc.person(0)
    a = r.amounts
    fund = a["hifp_pay"] + a["hifob_pay"]
    out = platform_out(ClaimIn(psn_no=str(person_id), med_type="21" if ci.kind == "inpatient" else "11",
                               hosp_lv=ci.level, psn_type="in_service", age=age, setl_date=ci.service_date,
                               medfee_sumamt="0"), policy, r).model_dump(mode="json")
    claim = Claim(idempotency_key=key, request_hash="-", person_id=person_id, region_code=region,
                  enrollment_id=span.id, kind=ci.kind, med_type="21" if ci.kind == "inpatient" else "11",
                  service_date=ci.service_date, settle_date=ci.service_date, year_key=yk, benefit_class=cls,
                  hospital_level=ci.level, remote=ci.remote, share_bp=share, eligibility_reason="eligible",
                  medfee_sumamt=ci.total_fen, fulamt_ownpay_amt=ci.full_self_pay_fen,
                  overlmt_selfpay=ci.over_limit_fen, preselfpay_amt=r.preselfpay_fen,
                  account_balance_before=bal, mulaid_balance_before=0,
                  **{k: a[k] for k in a if k != "status"}, fund_pay_sumamt=fund,
                  psn_part_amt=ci.total_fen - fund, balc=bal - a["acct_pay"], acc_delta={
                      k: after[k] - before[k] for k in after if k != "year_key"},
                  setlinfo=out["setlinfo"], setldetail=out["setldetail"],
                  explanation={"zh": r.explanation.as_json("zh"), "en": r.explanation.as_json("en")})
    session.add(claim)
    session.flush()
    lines = [ledger.debit(ledger.account(session, region, "pooled_fund"), a["hifp_pay"]),
             ledger.debit(ledger.account(session, region, "large_amount_fund"), a["hifob_pay"]),
             ledger.debit(ia, a["acct_pay"]),
             ledger.credit(ledger.account(session, region, "provider_payable"), fund + a["acct_pay"])]
    t = ledger.post(session, f"claim:{key}", "claim_settlement", region, ci.service_date, lines,
                    reference=f"claim:{claim.id}")
    claim.transfer_id = t.id
    record(session, SYSTEM, "claim.settle", "claim", claim.id, ("hifp_pay",), region)
    return claim


def _naive(engine: Engine, pid: int, ci: ClaimInput, key: str) -> None:
    run(engine, lambda s: naive_settle(s, REGION, pid, ci, key))


# -- clients -----------------------------------------------------------------------------------------

def _client(args: tuple[str, str, int, int, int, int, int, float, int, Any, Any, Any]) -> None:
    """One client process: ``threads`` clients (threads) sharing a pool of ``conns`` connections
    (a client waits for a free connection when all are busy, as at an application server)."""
    url, impl, worker, threads, conns, n_persons, seed, seconds, warmup, start, out, ready = args
    # no pre-ping: a round trip per transaction that a local, long-lived pool does not need
    engine = make_engine(url, pool_size=conns, max_overflow=0, pool_pre_ping=False)
    fn: Callable[[Engine, int, ClaimInput, str], None]
    if impl == "api":  # the HTTP service (yibao.bench.api): ``url`` is still the database's, unused here
        from yibao.bench.api import http_settle

        fn = http_settle
    else:
        fn = _service if impl == "yibao" else _naive
    results: list[tuple[float, float, list[float], int]] = []
    first_error: list[str] = []

    def one(k: int) -> None:
        todo = _claims(n_persons, seed + 100 * worker + k)
        lat: list[float] = []
        errors = 0
        try:
            for i in range(warmup):  # connect, prepare statements, copy the forked pages once
                pid, ci = next(todo)
                fn(engine, pid, ci, f"{impl}-{seed}-{worker}-{k}-warm{i}")
        except Exception as exc:  # a client that cannot warm up says why, rather than hang the run
            first_error.append(f"warm-up: {exc}")
            results.append((time.time(), time.time(), [], 1))
            with ready.get_lock():
                ready.value += 1
            return
        with ready.get_lock():
            ready.value += 1
        start.wait()
        t0 = time.perf_counter()
        wall0 = time.time()
        i = 0
        while time.perf_counter() - t0 < seconds:
            pid, ci = next(todo)
            t = time.perf_counter()
            try:
                fn(engine, pid, ci, f"{impl}-{seed}-{worker}-{k}-{i}")
            except YibaoError as exc:
                errors += 1
                if errors == 1:
                    first_error.append(exc.en)
            lat.append(time.perf_counter() - t)
            i += 1
        results.append((wall0, time.time(), lat, errors))

    pool = [threading.Thread(target=one, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    cpu0 = time.process_time()
    for t in pool:
        t.join()
    out.put((results, first_error[:1], time.process_time() - cpu0))
    engine.dispose()


def _cpu_busy() -> float:
    """Seconds of CPU time spent on the machine so far (all cores, /proc/stat), or 0 if unknown."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
    except OSError:
        return 0.0
    ticks = [int(x) for x in parts]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _phase(url: str, impl: str, clients: int, procs: int, n_persons: int, seconds: float,
           seed: int, warmup: int = 30, connections: int | None = None) -> dict[str, Any]:
    """``clients`` concurrent clients as ``procs`` processes of threads (forked after warming),
    with at most ``connections`` database connections in all (None: one per client)."""
    ctx = mp.get_context("fork")
    start, out, ready = ctx.Event(), ctx.Queue(), ctx.Value("i", 0)
    procs = max(1, min(procs, clients))
    share = [clients // procs + (1 if w < clients % procs else 0) for w in range(procs)]
    total = clients if connections is None else max(procs, min(connections, clients))
    conns = [total // procs + (1 if w < total % procs else 0) for w in range(procs)]
    ps = [ctx.Process(target=_client, args=((url, impl, w, share[w], min(conns[w], share[w]), n_persons, seed,
                                             seconds, warmup, start, out, ready),)) for w in range(procs)]
    gc.freeze()  # the parent's objects stay in shared pages: the children's collector leaves them alone
    for p in ps:
        p.start()
    while ready.value < clients:  # every client warmed up
        time.sleep(0.05)
    cpu0 = _cpu_busy()
    start.set()
    got = [out.get() for _ in ps]
    cpu = _cpu_busy() - cpu0
    results = [r for g in got for r in g[0]]
    first_errors = [e for g in got for e in g[1]]
    for p in ps:
        p.join()
    lat = np.array([x for r in results for x in r[2]])
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    return {"claims": int(lat.size), "seconds": wall, "errors": sum(r[3] for r in results),
            "claims_per_s": lat.size / wall if wall else 0.0,
            "p50_ms": float(np.percentile(lat, 50) * 1000) if lat.size else 0.0,
            "p99_ms": float(np.percentile(lat, 99) * 1000) if lat.size else 0.0,
            "max_ms": float(lat.max() * 1000) if lat.size else 0.0,
            "cpu_ms_per_claim": cpu * 1000 / lat.size if lat.size and cpu else None,
            "first_error": first_errors[0] if first_errors else None,
            "client_cpu_ms_per_claim": sum(g[2] for g in got) * 1000 / lat.size if lat.size else None}


def _warm(engine: Engine) -> None:
    """Compile the numba kernel and fill the caches in the parent, before the clients fork."""
    pol = policy_for("beijing")
    for d in (dt.date(2024, 1, 1) + dt.timedelta(days=k) for k in range(366)):
        claims._snapshot(pol, d)
    with Session(engine) as s:
        claims.presettle(s, SYSTEM, REGION, 1,
                         ClaimInput(dt.date(2024, 6, 1), "inpatient", "level_3", 100_000))
        s.rollback()
    settle_claims(pol, [RuleClaim(dt.date(2024, 6, 1), "inpatient", "in_service", "level_3", 100)],
                  Accumulators.zeros(1))


def check_accumulators(engine: Engine, n: int = 200) -> tuple[int, int]:
    """(persons checked, mismatches): for up to ``n`` persons with claims, the stored accumulators
    equal :func:`~yibao.rules.settlement.settle_claims` re-run over their claims in id order."""
    pol = policy_for("beijing")
    with Session(engine) as s:
        persons = list(s.scalars(select(Claim.person_id).distinct().order_by(Claim.person_id).limit(n)))
        bad = 0
        for pid in persons:
            acc = Accumulators.zeros(1)
            for c in s.scalars(select(Claim).where(Claim.person_id == pid, Claim.status == "settled")
                               .order_by(Claim.id)):
                settle_claims(pol, [RuleClaim(c.service_date, c.kind, c.benefit_class, c.hospital_level,
                                              c.medfee_sumamt, c.fulamt_ownpay_amt, c.overlmt_selfpay,
                                              c.preselfpay_amt, remote=c.remote,
                                              benefit_share_bp=c.share_bp)], acc)
            stored = claims.accumulators(s, pid, REGION, int(acc.data[0, 0]))
            bad += stored != {k: v for k, v in acc.person(0).items() if k != "year_key"}
    return len(persons), bad


def bench_settlement(url: str, n_persons: int = 20_000, clients: int = 16, seconds: float = 5.0,
                     latency_clients: int = 4, procs: int | None = None, naive: bool = True,
                     seed: int = 20240315, keep: bool = False, database: str = BENCH_DB,
                     log: Callable[[str], None] | None = None,
                     connections: int | None = None) -> list[dict[str, Any]]:
    """Run the benchmark (module docstring) on the PostgreSQL server of ``url``; rows as dicts.

    ``procs``: client processes (default: one per CPU); the clients are spread over them as
    threads. ``connections``: the database connections the clients share (a client waits for a
    free one, as behind an application server's pool); default (None or 0): one per client. On
    the 2-CPU machine a pool of 4 for 16 clients measured lower (420/s) than one connection per
    client (480/s): the waiting threads cost more than the server's context switches. ``keep``
    leaves the bench database in place; ``log`` receives progress lines. After the service's
    phases the stored accumulators of a sample of persons are checked against the rule re-run over
    their claims (``mismatches``, 0 expected).
    """
    say = log or (lambda _msg: None)
    procs = procs or os.cpu_count() or 1
    pool = connections or None
    admin_url, bench_url = bench_urls(url, database)
    recreate(admin_url, database)
    engine = make_engine(bench_url)
    rows: list[dict[str, Any]] = []
    try:
        t = time.perf_counter()
        load(engine, n_persons, seed)
        say(f"loaded {n_persons} members, {n_persons * 30} paid months in {time.perf_counter() - t:.1f} s")
        _warm(engine)
        engine.dispose()
        figures: dict[tuple[str, int], dict[str, Any]] = {}
        checked = (0, 0)
        for impl in ["yibao", "naive per-row ORM"] if naive else ["yibao"]:
            for n_clients in (clients, latency_clients):
                f = _phase(bench_url, "yibao" if impl == "yibao" else "naive", n_clients, procs, n_persons,
                           seconds, seed + 1000 * n_clients + (0 if impl == "yibao" else 7),
                           connections=pool)
                figures[(impl, n_clients)] = f
                say(f"{impl}, {n_clients} clients: {f['claims']} claims in {f['seconds']:.1f} s = "
                    f"{f['claims_per_s']:.0f}/s, p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, "
                    f"{f['cpu_ms_per_claim'] or 0:.1f} CPU-ms/claim")
            if impl == "yibao":  # before the naive peer writes claims without accumulator rows
                checked = check_accumulators(engine)
                say(f"accumulators of {checked[0]} persons checked against the rule: {checked[1]} mismatches")
        for (impl, n_clients), f in figures.items():
            base = figures[("yibao", n_clients)]
            speed = base["claims_per_s"] / f["claims_per_s"] if f["claims_per_s"] else None
            rows.append({
                "suite": "settlement", "implementation": impl, "clients": n_clients, "claims": f["claims"],
                "seconds": round(f["seconds"], 2), "claims_per_s": round(f["claims_per_s"], 1),
                "p50_ms": round(f["p50_ms"], 2), "p99_ms": round(f["p99_ms"], 2),
                "max_ms": round(f["max_ms"], 2), "errors": f["errors"], "first_error": f["first_error"],
                "cpu_ms_per_claim": round(f["cpu_ms_per_claim"], 2) if f["cpu_ms_per_claim"] else None,
                "client_cpu_ms_per_claim": round(f["client_cpu_ms_per_claim"], 2)
                if f["client_cpu_ms_per_claim"] else None,
                "ratio_throughput": round(speed, 2) if speed else None,
                "ratio_p99": round(f["p99_ms"] / base["p99_ms"], 2) if base["p99_ms"] else None,
                "checked": checked[0] if impl == "yibao" else None,
                "mismatches": checked[1] if impl == "yibao" else None,
                "connections": min(pool or n_clients, n_clients),
                "note": f"{n_persons} members; {min(procs, n_clients)} client processes of threads; "
                        f"{os.cpu_count()} CPUs shared with PostgreSQL"})
    finally:
        engine.dispose()
        if not keep:
            recreate(admin_url, database, drop_only=True)
    return rows
