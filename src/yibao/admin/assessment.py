"""The monthly assessment run (月度缴费核定): every insured person-month of a region, set-based.

**Who is assessed.** Every employee-scheme enrollment of the region that covers the month
(``start_month ≤ month ≤ end_month``, not suspended) in the categories of
:data:`yibao.rules.contribution.PERSON_TYPES` (in_service, flexible, new_form, retiree), of a
person alive on the month's first day, and not assessed yet for the month.

**What they owe** is :func:`yibao.rules.contribution.assess_contributions` on the policy of the
month's first day (``ContributionParams.from_snapshot(policy.at(first day))``), called once per
chunk of rows:

- a unit employee (in_service) on the wage declared by the unit and in force for the month
  (:mod:`yibao.admin.declarations`); the unit pays (``payer_kind = employer``);
- a flexible worker on the region's base option chosen (``enrollment.flexible_option``,
  Beijing 70% of the average: 553.56 yuan a month from 2023-07, DOMAIN §2.6) — or, where the
  region lets the worker choose a base within the limits, on their own declared wage; a new-form
  worker on their declared wage; both pay themselves (``payer_kind = person``);
- a retiree only the region's ``contribution.retiree_fixed_premium`` (Beijing 3 yuan, PD beijing);
  the retiree pays. A row whose total is 0 (a retiree where the region charges nothing) is not
  stored.

**Rows that cannot be assessed are listed, not guessed.** A unit employee (or a new-form worker,
or a flexible worker who must declare) without a declaration in force, a unit employee whose
enrollment names no unit, a flexible option outside the region's options, or a person type whose
parameters the region's policy file does not have yet (``UnknownParameterError``, e.g. Beijing's
new-form base share): the row is put in :attr:`AssessmentSummary.errors` with the reason and the
run ends ``incomplete``. Assessing at the base floor instead was rejected: no policy file says a
region does so, and a floor assessment would silently under-charge a unit that forgot to declare.
Once the declaration (or the parameter) is supplied, running again assesses exactly those rows.

**Due date (assumption).** No source in ``reference/`` or the policy files gives the day a month's
contributions fall due, so ``due_date`` is the last day of the assessed month (the common practice
of collecting the month's contributions within the month). It is a documented assumption: a
region's rule, once sourced, belongs in its policy file.

**Ledger.** Per chunk, one transfer per payer: DR ``employer_receivable``/``person_receivable`` of
the payer, CR ``contribution_deferred``, the sum of the payer's rows in the chunk (admin.md's ledger
flow), value date the month's first day, key
``assess:<region>:<month>:<payer_kind>:<payer_id>:<first enrollment id>`` where the enrollment id
is the payer's smallest in the chunk: an enrollment is assessed once per month, so the key can
never come back in another chunk, and posting the same chunk twice fails on the unique key.
The transfers and entries are written set-based (ids drawn from the sequences, then ``COPY`` or
``executemany``), not through :func:`yibao.admin.ledger.post`, which posts one transfer at a time;
they satisfy the same invariants (every transfer sums to zero; no non-negative account touched).

**Exactly once, resumable.** The run is a :class:`~yibao.db.models.ops.MonthlyRun` row (unique
region, month, kind ``assessment``). Each chunk is one transaction: it locks the run row, selects
the next ``chunk_size`` enrollments not yet assessed (the unique ``(enrollment_id, month)`` of
:class:`~yibao.db.models.contribution.ContributionMonth` is the truth of "done"), writes their rows
and postings, and commits them together. A process killed at any point leaves whole chunks only;
running again skips the rows already there and finishes the rest; a finished run (``done``) does
nothing the second time and says so. Ctrl-C finishes the chunk in progress, commits it and stops
(a second Ctrl-C aborts at once, rolling the chunk back).

**Speed.** One query per chunk reads the inputs (the wage in force is a correlated subquery on
the declaration's unique index) into numpy arrays; one rule call; on PostgreSQL the rows go in
with ``COPY … FROM STDIN`` (``bulk="copy"``) or ``executemany`` of SQLAlchemy ``insert()``
(``bulk="executemany"``, the only path on SQLite). ``yibao bench admin`` measures both.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import FrameType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, exists, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.admin import audit, ledger
from yibao.admin.declarations import (
    bulk_insert,
    covering,
    enrollment_payer,
    wage_in_force_column,
    ym_text,
)
from yibao.admin.ledger import account_code
from yibao.admin.policies import region_policy
from yibao.admin.uow import SYSTEM, Actor, run
from yibao.db.base import first_day, parse_month, utcnow
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ledger import LedgerAccount, LedgerEntry, LedgerTransfer
from yibao.db.models.ops import MonthlyRun
from yibao.db.models.register import Person
from yibao.errors import InputError, YibaoError
from yibao.money import fen_to_yuan_str
from yibao.policy.registry import Registry
from yibao.rules.contribution import (
    COLUMNS,
    FLEXIBLE,
    IN_SERVICE,
    NEW_FORM,
    PERSON_TYPES,
    ContributionParams,
    assess_contributions,
)

__all__ = [
    "KIND",
    "ArrearsRow",
    "AssessError",
    "AssessmentSummary",
    "Bulk",
    "arrears",
    "due_date",
    "run_assessment",
]

KIND = "assessment"
Bulk = Literal["auto", "copy", "executemany"]
I64 = npt.NDArray[np.int64]
CM = ContributionMonth
_CODE = {name: i for i, name in enumerate(PERSON_TYPES)}
_IN_CHUNK = 10_000  # values per IN (…) list: SQLite allows 32,766 bound parameters per statement

#: ContributionMonth columns written by the run, in COPY order (ids come from the table's default).
CM_COLUMNS: tuple[str, ...] = (
    "enrollment_id", "person_id", "region_code", "month", "category", "payer_kind", "payer_id",
    "wage_fen", *COLUMNS, "total_fen", "paid_fen", "status", "due_date", "recognised", "run_id",
    "created_at",
)


def due_date(month: int) -> dt.date:
    """The due date of a month's contributions: its last day (an assumption, module docstring)."""
    y, m = divmod(month, 100)
    return dt.date(y, m, calendar.monthrange(y, m)[1])


@dataclass(frozen=True)
class AssessError:
    """A row the run could not assess, and why (it stays unassessed until fixed and run again)."""

    enrollment_id: int
    person_id: int
    category: str
    field: str
    zh: str
    en: str


@dataclass
class AssessmentSummary:
    region: str
    month: int
    run_id: int
    status: str  # done | incomplete | interrupted
    already_done: bool = False
    assessed: int = 0  # rows written by this call
    total_fen: int = 0  # assessed by this call
    skipped_zero: int = 0  # rows owing nothing (not stored)
    rows_done: int = 0  # rows of the whole run (also by earlier, interrupted calls)
    chunks: int = 0
    transfers: int = 0
    seconds: float = 0.0
    errors: list[AssessError] = field(default_factory=list)

    @property
    def message(self) -> tuple[str, str]:
        m = ym_text(self.month)
        if self.already_done:
            return (f"统筹地区 {self.region} {m} 的核定已完成（{self.rows_done} 条），本次未做任何更改",
                    f"the {m} assessment of region {self.region} is already done ({self.rows_done} rows); "
                    "nothing was changed")
        tail_zh = {"done": "核定完成", "incomplete": f"有 {len(self.errors)} 条无法核定（见错误列表）",
                   "interrupted": "已中断，再次运行将继续"}[self.status]
        tail_en = {"done": "done",
                   "incomplete": f"{len(self.errors)} rows could not be assessed (see errors)",
                   "interrupted": "interrupted; run again to finish"}[self.status]
        amount = fen_to_yuan_str(self.total_fen)
        return (f"统筹地区 {self.region} {m}：本次核定 {self.assessed} 条，合计 {amount} 元；"
                f"累计 {self.rows_done} 条；{tail_zh}",
                f"region {self.region} {m}: {self.assessed} rows assessed now, {amount} yuan; "
                f"{self.rows_done} in all; {tail_en}")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["total_yuan"] = fen_to_yuan_str(self.total_fen)
        out["message_zh"], out["message_en"] = self.message
        return out


# -- helpers ------------------------------------------------------------------------------------------
def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _pieces(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _new_ids(session: Session, table: str, n: int) -> list[int]:
    """``n`` fresh primary keys of ``table``: from its sequence on PostgreSQL (safe with concurrent
    inserts); on SQLite after the current maximum (the transaction holds the write lock from
    ``BEGIN IMMEDIATE``, so nobody else can take them)."""
    if n == 0:
        return []
    if _dialect(session) == "postgresql":
        q = text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)")
        return [int(x) for x in session.scalars(q, {"n": n})]
    top = int(session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0)
    return list(range(top + 1, top + n + 1))


def _write(session: Session, model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]],
           use_copy: bool) -> None:
    bulk_insert(session, model.__table__, columns, rows, use_copy)


class _Accounts:
    """Ledger account ids by (kind, owner), remembered across the chunks of a run.

    Ids found or created inside a chunk's transaction are kept apart (``fresh``) and only join the
    remembered ones when the chunk commits: an account created by a chunk that rolls back does not
    exist, and a retry must not use its id.
    """

    def __init__(self) -> None:
        self.known: dict[tuple[str, int | None], int] = {}
        self.fresh: dict[tuple[str, int | None], int] = {}

    def begin(self) -> None:
        self.fresh.clear()

    def commit(self) -> None:
        self.known.update(self.fresh)
        self.fresh.clear()

    def get(self, session: Session, region: str, kind: str,
            owners: Sequence[int | None]) -> dict[int | None, int]:
        """Account ids of ``kind`` for many owners, the missing ones created in one statement."""
        out: dict[int | None, int] = {}
        want: list[int | None] = []
        for o in owners:
            got = self.known.get((kind, o), self.fresh.get((kind, o)))
            if got is None:
                want.append(o)
            else:
                out[o] = got
        if want:
            found = _lookup(session, region, kind, want)
            self.fresh.update(((kind, o), i) for o, i in found.items())
            out.update(found)
        return out


def _lookup(session: Session, region: str, kind: str, owners: Sequence[int | None]) -> dict[int | None, int]:
    spec = ledger.ACCOUNT_KINDS[kind]
    codes = {account_code(region, kind, o): o for o in owners}
    found: dict[str, int] = {}
    for part in _pieces(list(codes)):
        found.update((c, i) for c, i in session.execute(
            select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(part))))
    missing = [c for c in codes if c not in found]
    if missing:
        now = utcnow()
        rows = [{"code": c, "region_code": region, "kind": kind, "normal": spec.normal,
                 "non_negative": spec.non_negative,
                 "person_id": codes[c] if spec.owner == "person" else None,
                 "employer_id": codes[c] if spec.owner == "employer" else None, "created_at": now}
                for c in missing]
        ins = (postgresql.insert(LedgerAccount) if _dialect(session) == "postgresql"
               else sqlite.insert(LedgerAccount))
        session.execute(ins.on_conflict_do_nothing(index_elements=["code"]), rows)
        for part in _pieces(missing):
            found.update((c, i) for c, i in session.execute(
                select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(part))))
    return {codes[c]: i for c, i in found.items()}


# -- one chunk ------------------------------------------------------------------------------------------
@dataclass
class _Inputs:
    enrollment: I64
    person: I64
    ptype: npt.NDArray[np.int8]
    employer: I64  # -1 where none
    option: I64
    wage: I64  # -1 where no declaration is in force


def _select_inputs(session: Session, region: str, month: int, after: int, limit: int) -> _Inputs:
    """The next ``limit`` enrollments to assess after id ``after``, with their wage in force: one query."""
    e = Enrollment
    payer_kind, payer_id = enrollment_payer(e)
    wage = wage_in_force_column(month, e.person_id, payer_kind, payer_id, e.region_code)
    done = exists().where(CM.enrollment_id == e.id, CM.month == month)
    q = (select(e.id, e.person_id, e.category, func.coalesce(e.employer_id, -1), e.flexible_option,
                func.coalesce(wage, -1))
         .join(Person, Person.id == e.person_id)
         .where(e.region_code == region, covering(month, e), e.category.in_(PERSON_TYPES), e.id > after,
                or_(Person.death_date.is_(None), Person.death_date >= first_day(month)), ~done)
         .order_by(e.id).limit(limit))
    rows = session.execute(q).all()
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return _Inputs(z, z, np.zeros(0, dtype=np.int8), z, z, z)
    ids, pids, cats, emps, opts, wages = zip(*rows, strict=True)
    return _Inputs(np.array(ids, dtype=np.int64), np.array(pids, dtype=np.int64),
                   np.array([_CODE[c] for c in cats], dtype=np.int8), np.array(emps, dtype=np.int64),
                   np.array(opts, dtype=np.int64), np.array(wages, dtype=np.int64))


def _flexible_declares(params: ContributionParams) -> bool:
    """Whether a flexible worker's base is their declared wage (free_within_limits) rather than an option."""
    choice = params.snap["contribution.flexible.base_choice"]
    return bool(choice.known and choice.value != "fixed_options")


def _sort_out(inp: _Inputs, params: ContributionParams) -> tuple[npt.NDArray[np.bool_], list[AssessError]]:
    """Which rows can be assessed (mask) and why the others cannot."""
    errors: list[AssessError] = []
    ok = np.ones(inp.enrollment.size, dtype=np.bool_)
    needs_wage = (inp.ptype == IN_SERVICE) | (inp.ptype == NEW_FORM)
    if _flexible_declares(params):
        needs_wage |= inp.ptype == FLEXIBLE
    n_opt = params.option_base_fen.size

    def bad(mask: npt.NDArray[np.bool_], fld: str, zh: str, en: str) -> None:
        for i in np.flatnonzero(mask & ok).tolist():
            errors.append(AssessError(int(inp.enrollment[i]), int(inp.person[i]), PERSON_TYPES[inp.ptype[i]],
                                      fld, zh, en))
        ok[mask] = False

    for t, exc in params.missing.items():
        zh, en = (exc.zh, exc.en) if isinstance(exc, YibaoError) else (str(exc), str(exc))
        bad(inp.ptype == t, "policy", zh, en)
    bad((inp.ptype == IN_SERVICE) & (inp.employer < 0), "employer_id",
        "在职职工参保未登记缴费单位", "the in-service enrollment names no employer")
    bad(needs_wage & (inp.wage < 0), "wage_declaration",
        "该月没有有效的缴费工资申报；请先申报（yibao declare wage / import）后再次运行核定",
        "no wage declaration in force for the month; declare it (yibao declare wage / import) and run again")
    bad((inp.ptype == FLEXIBLE) & ((inp.option < 0) | (inp.option >= n_opt)), "flexible_option",
        f"灵活就业缴费基数档次应为 0..{n_opt - 1}", f"the flexible base option must be 0..{n_opt - 1}")
    return ok, errors


@dataclass
class _ChunkResult:
    last_id: int
    assessed: int
    total_fen: int
    skipped_zero: int
    transfers: int
    errors: list[AssessError]


class _Prefetch:
    """Reads the next chunk's inputs on another connection while this chunk writes (PostgreSQL).

    The read runs outside the chunk's transaction and before its run-row lock, so it is used once
    and only as a head start: if another process assessed some of those rows meanwhile, the insert
    fails on the unique ``(enrollment_id, month)``, :func:`~yibao.admin.uow.run` retries the chunk
    and the retry reads afresh. On SQLite it is off (a second connection would wait for the write
    lock that ``BEGIN IMMEDIATE`` gives the chunk).
    """

    def __init__(self, engine: Engine, region: str, month: int, limit: int, enabled: bool) -> None:
        self.engine, self.region, self.month, self.limit = engine, region, month, limit
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="assess-prefetch") if enabled else None
        self.pending: tuple[int, Future[_Inputs]] | None = None

    def _read(self, after: int) -> _Inputs:
        with Session(self.engine) as s:
            return _select_inputs(s, self.region, self.month, after, self.limit)

    def start(self, after: int) -> None:
        if self.pool is not None:
            self.pending = (after, self.pool.submit(self._read, after))

    def take(self, session: Session, after: int) -> _Inputs:
        pending, self.pending = self.pending, None
        if pending is not None and pending[0] == after:
            try:
                return pending[1].result()
            except Exception:  # a failed head start is simply read again below, in the transaction
                pass
        return _select_inputs(session, self.region, self.month, after, self.limit)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _assess_chunk(session: Session, run_row: MonthlyRun, params: ContributionParams, after: int,
                  prefetch: _Prefetch, accounts: _Accounts, use_copy: bool, actor: Actor,
                  before_commit: Callable[[int], None] | None, chunk_no: int) -> _ChunkResult | None:
    region, month = run_row.region_code, run_row.month
    inp = prefetch.take(session, after)
    if inp.enrollment.size == 0:
        return None
    last_id = int(inp.enrollment[-1])
    prefetch.start(last_id)
    ok, errors = _sort_out(inp, params)
    wage = np.where(inp.wage < 0, 0, inp.wage)[ok]
    ptype = inp.ptype[ok]
    cols = assess_contributions(wage, ptype, params, option=np.where(ptype == FLEXIBLE, inp.option[ok], 0))
    total = cols.total_fen
    keep = total > 0
    skipped = int((~keep).sum())
    n = int(keep.sum())
    if n:
        enr, pers, emp = inp.enrollment[ok][keep], inp.person[ok][keep], inp.employer[ok][keep]
        ptype = ptype[keep]
        wage, total, data = wage[keep], total[keep], cols.data[:, keep]
        is_emp = ptype == IN_SERVICE
        payer_id = np.where(is_emp, emp, pers)
        _write_months(session, run_row, enr, pers, ptype, is_emp, payer_id, wage, data, total, use_copy)
        transfers = _post(session, region, month, is_emp, payer_id, enr, total, use_copy, accounts)
    else:
        transfers = 0
    run_row.rows_done += n
    audit.record(session, actor, "assessment.chunk", "monthly_run", run_row.id,
                 ("contribution_month", "ledger"), region)
    if before_commit is not None:
        before_commit(chunk_no)
    return _ChunkResult(last_id, n, int(total.sum()) if n else 0, skipped, transfers, errors)


def _write_months(session: Session, run_row: MonthlyRun, enr: I64, pers: I64, ptype: npt.NDArray[np.int8],
                  is_emp: npt.NDArray[np.bool_], payer_id: I64, wage: I64, data: I64, total: I64,
                  use_copy: bool) -> None:
    region, month = run_row.region_code, run_row.month
    due, now, run_id = due_date(month), utcnow(), run_row.id
    cats = [PERSON_TYPES[t] for t in ptype.tolist()]
    kinds = ["employer" if x else "person" for x in is_emp.tolist()]
    columns = [enr.tolist(), pers.tolist(), cats, kinds, payer_id.tolist(), wage.tolist(),
               *(data[j].tolist() for j in range(data.shape[0])), total.tolist()]
    rows = [(e, p, region, month, c, k, pay, w, *amounts, t, 0, "due", due, False, run_id, now)
            for e, p, c, k, pay, w, *amounts, t in zip(*columns, strict=True)]
    _write(session, CM, CM_COLUMNS, rows, use_copy)


def _post(session: Session, region: str, month: int, is_emp: npt.NDArray[np.bool_], payer_id: I64,
          enr: I64, total: I64, use_copy: bool, accounts: _Accounts) -> int:
    """One balanced transfer per payer of the chunk: DR its receivable / CR contribution_deferred."""
    key = payer_id * 2 + is_emp  # payer kind and id in one int64 key
    order = np.lexsort((enr, key))
    key_s = key[order]
    starts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
    sums = np.add.reduceat(total[order], starts)
    first_enr = enr[order][starts]
    p_ids, p_emp = payer_id[order][starts], is_emp[order][starts]
    acc_emp = accounts.get(session, region, "employer_receivable", sorted(set(p_ids[p_emp].tolist())))
    acc_per = accounts.get(session, region, "person_receivable", sorted(set(p_ids[~p_emp].tolist())))
    deferred = accounts.get(session, region, "contribution_deferred", [None])[None]
    m = len(starts)
    t_ids = _new_ids(session, LedgerTransfer.__tablename__, m)
    day, now = first_day(month), utcnow()
    reference = f"assess:{region}:{month}"
    transfers: list[tuple[Any, ...]] = []
    entries: list[tuple[Any, ...]] = []
    for j, (pid, emp, first, amount) in enumerate(zip(p_ids.tolist(), p_emp.tolist(), first_enr.tolist(),
                                                      sums.tolist(), strict=True)):
        kind = "employer" if emp else "person"
        tid = t_ids[j]
        transfers.append((tid, f"{reference}:{kind}:{pid}:{first}", "contribution_assessed", region, day,
                          reference, f"contribution assessed {month}, {kind} {pid}", None, now))
        acc = acc_emp[pid] if emp else acc_per[pid]
        entries.append((tid, acc, amount, day))
        entries.append((tid, deferred, -amount, day))
    _write(session, LedgerTransfer, ("id", "idempotency_key", "kind", "region_code", "value_date",
                                     "reference", "memo", "reverses_id", "created_at"), transfers, use_copy)
    _write(session, LedgerEntry, ("transfer_id", "account_id", "amount_fen", "value_date"), entries,
           use_copy)
    return m


# -- the run ----------------------------------------------------------------------------------------
class _Stop:
    """The first Ctrl-C asks to stop after the chunk in progress; the second aborts at once."""

    def __init__(self) -> None:
        self.requested = False

    @contextmanager
    def installed(self) -> Iterator[_Stop]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.requested:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                raise KeyboardInterrupt
            self.requested = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


def _remaining(engine: Engine, region: str, month: int) -> int:
    def count(s: Session) -> int:
        e = Enrollment
        done = exists().where(CM.enrollment_id == e.id, CM.month == month)
        q = (select(func.count()).select_from(e).join(Person, Person.id == e.person_id)
             .where(e.region_code == region, covering(month, e), e.category.in_(PERSON_TYPES),
                    or_(Person.death_date.is_(None), Person.death_date >= first_day(month)), ~done))
        return int(s.scalar(q) or 0)

    return run(engine, count)


def run_assessment(engine: Engine, region: str, month: int | str, chunk_size: int = 50_000,
                   progress: bool | Callable[[int, int], None] | None = None, *, actor: Actor = SYSTEM,
                   registry: Registry | None = None, bulk: Bulk = "auto", reopen: bool = False,
                   before_commit: Callable[[int], None] | None = None) -> AssessmentSummary:
    """Assess ``month`` (YYYYMM) for every insured person of ``region`` exactly once (module docstring).

    ``progress``: True shows a rich progress bar (the CLI); a callable gets ``(rows_done_now,
    rows_to_do)`` after each chunk. ``bulk``: ``copy`` or ``executemany`` on PostgreSQL (``auto``
    = copy); SQLite always uses executemany. ``reopen``: run a finished month again to pick up
    enrollments registered since (it still assesses each person-month at most once).
    ``before_commit(chunk_no)`` is called inside each chunk's transaction after its rows and
    postings are written (tests raise there to simulate a crash).
    """
    actor.check_region(region)
    m = parse_month(month, "month")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InputError("chunk_size", chunk_size, "应为正整数", "expected a positive whole number")
    t0 = time.perf_counter()

    def start(s: Session) -> tuple[int, str, int, ContributionParams]:
        params = ContributionParams.from_snapshot(region_policy(s, region, registry).at(first_day(m)))
        r = s.scalar(select(MonthlyRun).where(MonthlyRun.region_code == region, MonthlyRun.month == m,
                                              MonthlyRun.kind == KIND))
        if r is None:
            r = MonthlyRun(region_code=region, month=m, kind=KIND, status="running", rows_done=0)
            s.add(r)
            s.flush()  # a concurrent twin fails on the unique key; run() retries and finds this one
            audit.record(s, actor, "assessment.start", "monthly_run", r.id, (), region)
        elif r.status == "done" and reopen:
            r.status, r.finished_at = "running", None
            audit.record(s, actor, "assessment.reopen", "monthly_run", r.id, ("status",), region)
        return r.id, r.status, r.rows_done, params

    run_id, status, rows_done, params = run(engine, start)
    summary = AssessmentSummary(region, m, run_id, status, rows_done=rows_done)
    if status == "done":
        summary.already_done = True
        summary.seconds = time.perf_counter() - t0
        return summary
    use_copy = engine.dialect.name == "postgresql" and bulk != "executemany"
    bar = _Bar(progress, lambda: _remaining(engine, region, m))
    state = {"after": 0}

    def chunk(s: Session) -> _ChunkResult | None:
        r = s.scalar(select(MonthlyRun).where(MonthlyRun.id == run_id).with_for_update()
                     .execution_options(populate_existing=True))
        assert r is not None
        if r.status == "done":
            return None
        accounts.begin()
        return _assess_chunk(s, r, params, state["after"], prefetch, accounts, use_copy, actor,
                             before_commit, summary.chunks + 1)

    stop = _Stop()
    prefetch = _Prefetch(engine, region, m, chunk_size, engine.dialect.name == "postgresql")
    accounts = _Accounts()
    with bar, stop.installed(), contextlib.closing(prefetch):
        while True:
            res = run(engine, chunk)
            if res is None:
                break
            accounts.commit()
            state["after"] = res.last_id
            summary.chunks += 1
            summary.assessed += res.assessed
            summary.total_fen += res.total_fen
            summary.skipped_zero += res.skipped_zero
            summary.transfers += res.transfers
            summary.errors.extend(res.errors)
            bar.advance(res.assessed + res.skipped_zero + len(res.errors))
            if stop.requested:
                break

    def finish(s: Session) -> tuple[str, int]:
        r = s.scalar(select(MonthlyRun).where(MonthlyRun.id == run_id).with_for_update()
                     .execution_options(populate_existing=True))
        assert r is not None
        if stop.requested:
            audit.record(s, actor, "assessment.interrupt", "monthly_run", run_id, (), region)
            return "interrupted", r.rows_done
        if r.status != "done":
            r.status = "incomplete" if summary.errors else "done"
            r.finished_at = utcnow()
            audit.record(s, actor, "assessment.finish", "monthly_run", run_id, ("status",), region)
        return r.status, r.rows_done

    summary.status, summary.rows_done = run(engine, finish)
    summary.seconds = time.perf_counter() - t0
    return summary


class _Bar:
    """A rich progress bar (``progress=True``), a callback, or nothing."""

    def __init__(self, progress: bool | Callable[[int, int], None] | None, total: Callable[[], int]) -> None:
        self.callback = progress if callable(progress) else None
        self.rich: Any = None
        self.total = total() if progress else 0
        self.done = 0
        if progress is True:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.rich = Progress(TextColumn("核定 / assessing"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), transient=False)
            self.task = self.rich.add_task("assess", total=self.total)

    def __enter__(self) -> _Bar:
        if self.rich is not None:
            self.rich.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.rich is not None:
            self.rich.stop()

    def advance(self, n: int) -> None:
        self.done += n
        if self.rich is not None:
            self.rich.update(self.task, completed=self.done)
        if self.callback is not None:
            self.callback(self.done, self.total)


# -- arrears --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArrearsRow:
    """One open (due / partial) month of a person, owed by a payer."""

    contribution_month_id: int
    payer_kind: str
    payer_id: int
    person_id: int
    month: int
    category: str
    due_date: dt.date
    total_fen: int
    paid_fen: int
    status: str

    @property
    def outstanding_fen(self) -> int:
        return self.total_fen - self.paid_fen

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outstanding_fen"] = self.outstanding_fen
        out["outstanding_yuan"] = fen_to_yuan_str(self.outstanding_fen)
        return out


def arrears(session: Session, region: str, payer_kind: str | None = None, payer_id: int | None = None,
            as_of_month: int | str | None = None, actor: Actor | None = None, limit: int | None = None,
            offset: int = 0) -> list[ArrearsRow]:
    """Open months (status due or partial) of ``region`` up to ``as_of_month``, per payer and person
    (ordered by payer, person, month), with the amount outstanding (total − paid): the arrears list
    (欠费, DOMAIN §2.7). ``actor`` must be allowed the region and records the read in the audit
    log; ``limit`` and ``offset`` page the list."""
    if actor is not None:
        actor.check_region(region)
    q = select(CM).where(CM.region_code == region, CM.status.in_(("due", "partial")))
    if payer_kind is not None:
        if payer_kind not in ("employer", "person"):
            raise InputError("payer_kind", payer_kind, "应为 employer 或 person",
                             "expected employer or person")
        q = q.where(CM.payer_kind == payer_kind)
    if payer_id is not None:
        q = q.where(CM.payer_id == payer_id)
    if as_of_month is not None:
        q = q.where(CM.month <= parse_month(as_of_month, "as_of_month"))
    rows = [ArrearsRow(c.id, c.payer_kind, c.payer_id, c.person_id, c.month, c.category, c.due_date,
                       c.total_fen, c.paid_fen, c.status)
            for c in session.scalars(q.order_by(CM.payer_kind, CM.payer_id, CM.person_id, CM.month, CM.id)
                                     .limit(limit).offset(offset))]
    if actor is not None:
        audit.record(session, actor, "arrears.read", "region", region, ("contribution_month",), region)
    return rows

