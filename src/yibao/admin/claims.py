"""Claims: pre-settlement, settlement and reversal (2206/2207/2208, 2303/2304/2305, 2601).

:func:`presettle` and :func:`settle` run ONE code path (:func:`_process`); pre-settlement stops
before anything is written (only an audit row records that a person's figures were read).

Per claim, in one transaction:

1. **Input** checked (amounts, components ≤ total, kind, level, remote): a bilingual
   :class:`~yibao.errors.InputError` naming the field, nothing changed.
2. **Policy** of the region (``region.policy`` in the installation's registry: the shipped files
   plus a bureau's own files stored with its regions, :mod:`yibao.admin.policies`) on the service
   date; its compiled settlement table is cached per (policy, date), so a claim never recompiles it.
3. **Enrollment and eligibility** on the service date (:mod:`yibao.admin.continuity`, calling
   :func:`yibao.rules.eligibility.assess_eligibility`): not enrolled → InputError; no benefits
   (waiting period, gap, contributions not current) → :class:`ClaimRefused` with the reason and its
   explanation; a reduced share (Fujian-style 50% wait, DOMAIN §5) is passed to the rule.
4. **Benefit class** (:func:`yibao.rules.classes.benefit_class`): category, age on the service
   date, retirement date.
5. **Locks**: the person's :class:`BenefitAccumulator` row for the benefit year, then the
   individual accounts (the person's, and the family mutual-aid holder's) in id order —
   ``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers.
   The rule therefore sees the current accumulators and balances, and the annual ceiling
   (封顶线, DOMAIN §4.4) cannot be exceeded by concurrent claims.
6. **Rule**: :mod:`yibao.rules.settlement` (the kernel and the explanation :func:`settle_claims`
   uses, with the cached table) with the stored accumulators, the account balance and the holder's
   balance (家庭共济, DOMAIN §3.3: the person's own account first, then the holder's).
7. **Writes**: the new accumulators, the :class:`Claim` (inputs, outputs, ``setlinfo`` /
   ``setldetail`` in the platform's yuan strings, explanation zh and en, the accumulator delta)
   and ONE ledger transfer (key ``claim:<key>``)::

       DR pooled_fund hifp_pay; DR large_amount_fund hifob_pay; DR individual_account acct_pay;
       DR individual_account(holder) acct_mulaid_pay / CR family_mutual_aid;
       DR family_mutual_aid acct_mulaid_pay; CR provider_payable (all of the above).

   Cash paid at the counter (``psn_cash_pay``) is stored on the claim, not posted. The transfer is
   written by this module's statements with the checks :func:`yibao.admin.ledger.post` makes (the
   lines balance; no individual account below zero, read under its row lock; a unique key), see
   :func:`_check_lines`; a reversal is :func:`yibao.admin.ledger.reverse` itself.

**Idempotency**: the claim's key is unique; settling with the same key and request returns the
first claim (``replayed``) and posts nothing; the same key with another request is refused.
**Reversal** (:func:`reverse`) posts the ledger negation and subtracts the claim's accumulator
delta: settling then reversing leaves every balance and accumulator exactly as before. Reversing a
claim that is not the person's last of the year removes that claim's own contribution to the
counters; later claims keep what they were paid (the platform re-settles them if it must).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yibao.admin import approvals, ledger
from yibao.admin.audit import record
from yibao.admin.continuity import Eligibility, MonthRow, Span, assess
from yibao.admin.policies import registry_of
from yibao.admin.register import check_person_visible
from yibao.admin.uow import Actor, IdempotencyConflict, request_hash
from yibao.db.base import month_of, utcnow
from yibao.db.models.claims import ACC_FIELDS, Claim
from yibao.db.models.ledger import LedgerAccount, LedgerTransfer
from yibao.errors import InputError, YibaoError
from yibao.money import fen_to_yuan_str
from yibao.platform.models import ClaimIn
from yibao.platform.settle import _out as platform_out
from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.registry import Registry, default_registry
from yibao.policy.resolve import Policy, Snapshot
from yibao.rules.classes import STATUS_INDEX, benefit_class, class_settings
from yibao.rules.eligibility import REASON_TEXT
from yibao.rules.explain import Explanation
from yibao.rules.settlement import (
    ACC_COLUMNS,
    KINDS,
    MAX_AMOUNT_FEN,
    OUT_COLUMNS,
    REMOTE,
    Accumulators,
    ClaimColumns,
    ClaimResult,
    SettlementTable,
    _preselfpay,
    compile_settlement_table,
    settle_batch,
    year_key,
)
from yibao.rules.settlement import Claim as RuleClaim
from yibao.rules.settlement_explain import explain_claim

__all__ = [
    "AlreadyReversed",
    "ClaimInput",
    "ClaimRefused",
    "accumulators",
    "claim_result",
    "claims_of",
    "get_claim",
    "policy_for",
    "presettle",
    "reverse",
    "settle",
    "settle_rule",
]

if ACC_COLUMNS[1:] != ACC_FIELDS:  # pragma: no cover - the kernel changed and the model did not
    raise AssertionError("BenefitAccumulator columns differ from the kernel's ACC_COLUMNS")

MED_TYPE: Final[dict[str, str]] = {"inpatient": "21", "outpatient": "11"}
STATUS_OF_CATEGORY: Final[dict[str, str]] = {
    "in_service": "in_service", "flexible": "flexible", "new_form": "flexible", "retiree": "retired"}
_AMOUNTS: Final = ("total_fen", "full_self_pay_fen", "over_limit_fen", "preselfpay_fen", "category_b_fen")
_FIELD: Final[dict[str, str]] = {  # the platform's names for the inputs, used in error messages
    "total_fen": "medfee_sumamt", "full_self_pay_fen": "fulamt_ownpay_amt",
    "over_limit_fen": "overlmt_selfpay", "preselfpay_fen": "preselfpay_amt", "category_b_fen": "catb_amt"}
MAX_KEY: Final = 100


@dataclass(frozen=True)
class ClaimInput:
    """A claim as the provider submits it (amounts in fen; the platform's 2303/2207 inputs)."""

    service_date: dt.date
    kind: str  # inpatient | outpatient
    level: str  # one of yibao.policy.catalog.LEVELS (医疗机构等级)
    total_fen: int  # medfee_sumamt
    full_self_pay_fen: int = 0  # fulamt_ownpay_amt
    over_limit_fen: int = 0  # overlmt_selfpay
    preselfpay_fen: int | None = None  # preselfpay_amt; None: from category_b_fen, else 0
    category_b_fen: int | None = None  # 乙类 amount (the region's first self-pay share applies)
    remote: str = "local"  # local | registered | unregistered (异地就医)
    settle_date: dt.date | None = None  # default the service date
    use_account: bool = True  # the member may decline to pay from the account
    medins_code: str | None = None
    mdtrt_id: str | None = None
    medins_setl_id: str | None = None

    def request(self) -> dict[str, Any]:
        return {f: (v.isoformat() if isinstance(v, dt.date) else v)
                for f in self.__dataclass_fields__ for v in (getattr(self, f),)}


class NotCovered(InputError):
    """No cover on the service date, with a coded ``reason``: ``not_enrolled``, ``deceased`` or
    ``suspended`` (暂停参保). Nothing is paid and nothing is written."""

    def __init__(self, reason: str, field: str, value: object, zh: str, en: str) -> None:
        self.reason = reason
        super().__init__(field, value, zh, en)


class ClaimRefused(YibaoError):
    """The person has no benefits on the service date (eligibility rule, DOMAIN §5)."""

    def __init__(self, person_id: int, service_date: dt.date, elig: Eligibility) -> None:
        self.person_id = person_id
        self.eligibility = elig
        self.explanation = elig.explanation
        self.reason = elig.reason.name
        zh, en = REASON_TEXT[elig.reason]
        d = elig.as_dict()
        super().__init__(
            f"人员 {person_id} 在 {service_date} 不享受待遇：{zh}（待遇起始 {d['benefit_start_month']}，"
            f"全额待遇起始 {d['full_benefit_month']}，等待期 {d['waiting_months']} 个月）",
            f"person {person_id} has no benefits on {service_date}: {en} (benefits from "
            f"{d['benefit_start_month']}, full benefits from {d['full_benefit_month']}, waiting "
            f"period {d['waiting_months']} months)")


class AlreadyReversed(YibaoError):
    """The claim was reversed before, under another key."""

    def __init__(self, claim_id: int, on: dt.date | None, key: str | None) -> None:
        super().__init__(f"结算 {claim_id} 已于 {on} 冲销（幂等键 {key}）；不能再次冲销",
                         f"claim {claim_id} was already reversed on {on} (key {key}); it cannot be "
                         "reversed again")


# -- policy, snapshot and compiled table, cached ----------------------------------------------------

@functools.cache
def _shipped() -> Registry:
    return default_registry()


@functools.lru_cache(maxsize=256)
def _policy(registry: Registry, name: str) -> Policy:
    return registry.policy(name)


def policy_for(name: str, registry: Registry | None = None) -> Policy:
    """The policy ``name`` (a region's ``policy``) of ``registry`` (default: shipped), cached.

    Settlement uses the installation's registry (:func:`yibao.admin.policies.registry_of`: the
    shipped files plus a bureau's own files stored with its regions) when the database holds any.
    """
    return _policy(registry or _shipped(), name)


@functools.lru_cache(maxsize=8192)
def _snapshot(policy: Policy, date: dt.date) -> tuple[Snapshot, SettlementTable]:
    """A snapshot (its resolutions cached inside) and its compiled settlement table."""
    snap = policy.at(date)
    table = compile_settlement_table([snap])
    _ = table.plan  # compile the kernel's plan once, here
    return snap, table


# -- the rule, for one claim, with a cached table ----------------------------------------------

def settle_rule(policy: Policy, claim: RuleClaim, acc: Accumulators) -> ClaimResult:
    """:func:`yibao.rules.settlement.settle_claims` for one claim, with the table cached.

    The same calls in the same order (the kernel with a trace, then the explanation); only the
    compiled table comes from a cache. ``acc`` (one row) is updated only if the claim settles.
    """
    snap, table = _snapshot(policy, claim.date)
    pre = _preselfpay(claim, snap)
    cols = ClaimColumns(
        psn=np.zeros(1, dtype=np.int32), param=np.zeros(1, dtype=np.int16),
        year=np.array([_year_key(policy, claim.date)]), kind=np.array([KINDS.index(claim.kind)]),
        benefit_class=np.array([BENEFIT_CLASSES.index(claim.benefit_class)]),
        level=np.array([LEVELS.index(claim.level)]), remote=np.array([REMOTE.index(claim.remote)]),
        share_bp=np.array([claim.benefit_share_bp]), total=np.array([claim.total_fen]),
        full_self_pay=np.array([claim.full_self_pay_fen]), over_limit=np.array([claim.over_limit_fen]),
        preselfpay=np.array([pre]), account_balance=np.array([claim.account_balance_fen]),
        mulaid_balance=np.array([claim.mulaid_balance_fen]))
    work = acc.copy()
    res = settle_batch(cols, table, work, trace=True)
    res.raise_first_error(table, cols)
    acc.data[:] = work.data
    amounts = {name: int(res.column(name)[0]) for name in OUT_COLUMNS}
    return ClaimResult(claim, snap, pre, amounts, explain_claim(snap, claim, pre, amounts, res.trace[0]))


# -- input ----------------------------------------------------------------------------------------

def _check_input(ci: ClaimInput) -> None:
    if not isinstance(ci.service_date, dt.date):
        raise InputError("service_date", ci.service_date, "应为日期 YYYY-MM-DD", "expected a date YYYY-MM-DD")
    if ci.kind not in KINDS:
        raise InputError("kind", ci.kind, "应为 inpatient（住院）或 outpatient（门诊）",
                         "expected inpatient or outpatient")
    if ci.level not in LEVELS:
        raise InputError("hosp_lv", ci.level, f"医疗机构等级应为之一：{', '.join(LEVELS)}",
                         f"hospital level must be one of {', '.join(LEVELS)}")
    if ci.remote not in REMOTE:
        raise InputError("remote", ci.remote, f"应为之一：{', '.join(REMOTE)}",
                         f"expected one of {', '.join(REMOTE)}")
    for name in _AMOUNTS:
        v = getattr(ci, name)
        if v is None and name in ("preselfpay_fen", "category_b_fen"):
            continue
        if not isinstance(v, int) or isinstance(v, bool):
            raise InputError(_FIELD[name], v, "金额应为整数分", "amounts are integer fen")
        if v < 0:
            raise InputError(_FIELD[name], fen_to_yuan_str(v), "金额不能为负", "amounts must not be negative")
        if v > MAX_AMOUNT_FEN:
            raise InputError(_FIELD[name], fen_to_yuan_str(v), "单笔金额不超过 1 亿元",
                             "a claim's amounts are at most 100,000,000 yuan")
    parts = {"fulamt_ownpay_amt": ci.full_self_pay_fen, "overlmt_selfpay": ci.over_limit_fen,
             "preselfpay_amt": ci.preselfpay_fen or 0}
    if sum(parts.values()) > ci.total_fen:
        shown = " + ".join(f"{k} {fen_to_yuan_str(v)}" for k, v in parts.items() if v)
        raise InputError("+".join(k for k, v in parts.items() if v), shown,
                         f"费用分项之和超过医疗费总额 medfee_sumamt {fen_to_yuan_str(ci.total_fen)}",
                         f"the fee components exceed medfee_sumamt {fen_to_yuan_str(ci.total_fen)}")
    if ci.settle_date is not None and ci.settle_date < ci.service_date:
        raise InputError("settle_date", ci.settle_date.isoformat(), "结算日期不能早于就诊日期",
                         "the settlement date cannot be before the service date")
    if ci.use_account not in (True, False):
        raise InputError("use_account", ci.use_account, "应为 true 或 false", "expected true or false")


def _check_key(key: str | None, field: str = "idempotency_key") -> None:
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY):
        raise InputError(field, key, f"幂等键应为 1..{MAX_KEY} 个字符", f"a key is 1..{MAX_KEY} characters")


# -- the hot path's statements, on the session's own DBAPI connection ---------------------------------
#
# Through SQLAlchemy a statement costs 75-150 µs of client CPU on the benchmark machine, through the
# DBAPI cursor 11 µs (measured on yibao.bench.admin_settlement's database). So settlement runs its
# statements on the session's own DBAPI connection, inside the session's transaction (the same
# commit, and the same retries in yibao.admin.uow.run: driver errors are re-raised as
# SQLAlchemy's), with the SQL written once for both databases. On PostgreSQL independent
# statements go out together in psycopg's pipeline mode and the writes are one statement, so a
# settlement is four round trips: read (person, history), lock (accumulators, accounts, balances),
# write (accumulators, transfer, entries, audit, claim), commit.


class _Db:
    """Raw statements in the session's transaction; ``:name`` parameters on both databases."""

    _pg_sql: ClassVar[dict[str, str]] = {}

    def __init__(self, session: Session) -> None:
        conn = session.connection()
        self.dialect = conn.dialect
        self.pg = conn.dialect.name == "postgresql"
        self.raw: Any = conn.connection.driver_connection
        self.error: type[Exception] = conn.dialect.loaded_dbapi.Error

    def sql(self, text: str) -> str:
        if not self.pg:
            return text
        out = self._pg_sql.get(text)
        if out is None:
            out = self._pg_sql[text] = re.sub(r"(?<!:):([a-z_][a-z0-9_]*)", r"%(\1)s", text)
        return out

    def params(self, params: dict[str, object]) -> dict[str, object]:
        out = {}
        for k, v in params.items():
            if isinstance(v, dict | list):
                v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            elif not self.pg:
                if isinstance(v, dt.datetime):  # SQLAlchemy's SQLite DateTime storage format
                    v = v.strftime("%Y-%m-%d %H:%M:%S.%f")
                elif isinstance(v, dt.date):
                    v = v.isoformat()
            out[k] = v
        return out

    def send(self, text: str, params: dict[str, object] | None = None) -> Any:
        """Execute on a new cursor (in a pipeline, its result is read later); the cursor."""
        cur = self.raw.cursor()
        try:
            cur.execute(self.sql(text), self.params(params or {}))
        except self.error as exc:
            raise self._wrap(exc, text) from exc
        return cur

    def fetch(self, cur: Any, many: bool = False) -> Any:
        try:
            return cur.fetchall() if many else cur.fetchone()
        except self.error as exc:
            raise self._wrap(exc, "fetch") from exc

    def one(self, text: str, params: dict[str, object] | None = None) -> Any:
        return self.fetch(self.send(text, params))

    def all(self, text: str, params: dict[str, object] | None = None) -> list[Any]:
        return list(self.fetch(self.send(text, params), many=True))

    def write_all(self, statements: Sequence[tuple[str, dict[str, object]]]) -> None:
        """Run writes in order: on PostgreSQL as ONE statement (data-modifying CTEs; foreign keys
        are checked at its end), on SQLite one after another."""
        if not self.pg:
            for text, params in statements:
                self.send(text, params)
            return
        sql, names = _combined(tuple(text for text, _ in statements))
        merged = {short: statements[i][1][name] for short, (i, name) in names.items()}
        cur = self.raw.cursor()
        try:
            cur.execute(sql, self.params(merged))
        except self.error as exc:
            raise self._wrap(exc, sql) from exc

    def pipeline(self) -> contextlib.AbstractContextManager[Any]:
        """psycopg's pipeline on PostgreSQL (statements sent together); nothing on SQLite."""
        if not self.pg:
            return contextlib.nullcontext()
        return _Pipeline(self)

    def _wrap(self, exc: Exception, text: str) -> Exception:
        # the exception run() knows: IntegrityError, OperationalError (deadlock, lock timeout) …
        wrapped: Exception = DBAPIError.instance(text, None, exc, self.error, dialect=self.dialect)
        return wrapped

    def for_update(self) -> str:
        return " FOR UPDATE" if self.pg else ""


_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


@functools.lru_cache(maxsize=64)
def _combined(texts: tuple[str, ...]) -> tuple[str, dict[str, tuple[int, str]]]:
    """One PostgreSQL statement of ``texts`` (the last is the main one, the others CTEs), with
    short parameter names: psycopg caches the parsing of statements under 4096 characters only."""
    names: dict[str, tuple[int, str]] = {}
    seen: dict[tuple[int, str], str] = {}
    parts = []
    for i, text in enumerate(texts):
        def short(m: re.Match[str], i: int = i) -> str:
            key = (i, m.group(1))
            if key not in seen:
                seen[key] = f"v{len(seen)}"
                names[seen[key]] = key
            return f"%({seen[key]})s"
        parts.append(_PARAM.sub(short, text))
    head = ", ".join(f"w{i} AS ({p})" for i, p in enumerate(parts[:-1]))
    return (f"WITH {head} {parts[-1]}" if head else parts[-1]), names


class _Pipeline:
    def __init__(self, db: _Db) -> None:
        self.db = db
        self.cm: Any = None

    def __enter__(self) -> Any:
        self.cm = self.db.raw.pipeline()
        return self.cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        try:
            self.cm.__exit__(*exc)
        except self.db.error as err:
            raise self.db._wrap(err, "pipeline") from err


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _day(v: object) -> dt.date | None:
    """A date column as read by the DBAPI (SQLite returns text)."""
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


_ACC_SELECT = ("SELECT id, " + ", ".join(ACC_FIELDS) + " FROM benefit_accumulator"
               " WHERE person_id = :p AND region_code = :r AND year_key = :y")
_ACC_INSERT = ("INSERT INTO benefit_accumulator (person_id, region_code, year_key, version, updated_at, "
               + ", ".join(ACC_FIELDS) + ") VALUES (:p, :r, :y, 0, :now, "
               + ", ".join(["0"] * len(ACC_FIELDS))
               + ") ON CONFLICT (person_id, region_code, year_key) DO NOTHING")
_ACC_UPDATE = ("UPDATE benefit_accumulator SET version = version + 1, updated_at = :now, "
               + ", ".join(f"{f} = :{f}" for f in ACC_FIELDS) + " WHERE id = :id")
# the person, the region's policy, the mutual-aid holder in force, a claim already under the key,
# and the ledger accounts the settlement touches (ids; None if not yet opened)
_HOLDER = """(SELECT fl.holder_id FROM family_link fl WHERE fl.relative_id = p.id AND fl.holder_id <> p.id
     AND fl.valid_from <= :d AND (fl.valid_to IS NULL OR fl.valid_to >= :d) ORDER BY fl.id LIMIT 1)"""
_HEAD = f"""SELECT p.birth_date, p.death_date, r.policy,
  (SELECT COUNT(*) FROM region rf WHERE rf.policy_file IS NOT NULL), {_HOLDER},
  (SELECT c.id FROM claim c WHERE c.idempotency_key = :k),
  (SELECT c.request_hash FROM claim c WHERE c.idempotency_key = :k),
  (SELECT la.id FROM ledger_account la WHERE la.code = :own),
  (SELECT la.id FROM ledger_account la WHERE la.person_id = {_HOLDER} AND la.region_code = :r
     AND la.kind = 'individual_account'),
  (SELECT la.id FROM ledger_account la WHERE la.code = :pool),
  (SELECT la.id FROM ledger_account la WHERE la.code = :large),
  (SELECT la.id FROM ledger_account la WHERE la.code = :provider),
  (SELECT la.id FROM ledger_account la WHERE la.code = :mutual)
  FROM person p JOIN region r ON r.code = :r WHERE p.id = :p"""
# enrollment spans (kind 0) and contribution months (kind 1) in one result
_HISTORY = """SELECT 0, id, category, start_month, end_month, status, retired_on, NULL FROM enrollment
  WHERE person_id = :p AND region_code = :r AND scheme = 'employee'
  UNION ALL
  SELECT 1, month, status, NULL, NULL, NULL, due_date, paid_on FROM contribution_month
  WHERE person_id = :p AND region_code = :r AND month <= :m"""
_NEXT_IDS = {True: "SELECT nextval(pg_get_serial_sequence('claim', 'id')), "
                   "nextval(pg_get_serial_sequence('ledger_transfer', 'id'))",
             # SQLite: the writer holds the database lock (BEGIN IMMEDIATE); a rowid is max + 1
             False: "SELECT (SELECT COALESCE(MAX(id), 0) + 1 FROM claim), "
                    "(SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_transfer)"}
# the locked accumulator row with the ids the writes will use (one statement)
_ACC_LOCK_IDS = {True: _ACC_SELECT.replace(" FROM benefit_accumulator", ", " + _NEXT_IDS[True][7:]
                                           + " FROM benefit_accumulator") + " FOR UPDATE",
                 False: _ACC_SELECT.replace(" FROM benefit_accumulator", ", " + _NEXT_IDS[False][7:]
                                            + " FROM benefit_accumulator")}
_CLAIM_COLUMNS = (
    "id", "idempotency_key", "request_hash", "person_id", "region_code", "enrollment_id", "kind", "med_type",
    "service_date", "settle_date", "year_key", "benefit_class", "hospital_level", "remote", "share_bp",
    "eligibility_reason", "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
    "account_balance_before", "mulaid_balance_before", "inscp_scp_amt", "act_pay_dedc", "coinsurance",
    "over_ceiling", "hifp_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "oop_cap_pay",
    "pool_ratio_bp", "fund_pay_sumamt", "psn_part_amt", "balc", "mulaid_holder_id", "acc_delta", "setlinfo",
    "setldetail", "explanation", "status", "transfer_id", "medins_code", "mdtrt_id", "medins_setl_id",
    "created_at")
_CLAIM_INSERT = (f"INSERT INTO claim ({', '.join(_CLAIM_COLUMNS)}) VALUES "
                 f"({', '.join(':' + c for c in _CLAIM_COLUMNS)})")
_CLAIM_INSERT_PG = "INSERT INTO claim SELECT * FROM json_populate_record(NULL::claim, CAST(:row AS json))"
_ENTRIES_PG = """INSERT INTO ledger_entry (transfer_id, account_id, amount_fen, value_date)
  SELECT :t, x.a, x.f, :d FROM json_to_recordset(CAST(:lines AS json)) AS x(a integer, f bigint)"""
_TRANSFER_INSERT = """INSERT INTO ledger_transfer (id, idempotency_key, kind, region_code, value_date,
  reference, memo, created_at) VALUES (:id, :k, 'claim_settlement', :r, :d, :ref, :memo, :now)"""
_AUDIT_INSERT = """INSERT INTO audit_event (at, actor, role, region_code, action, subject_type, subject_id,
  fields, purpose, request_id, outcome) VALUES (:at, :actor, :role, :region, :action, :stype, :sid,
  :fields, :purpose, :rid, 'ok')"""


def _audit(actor: Actor, action: str, subject_type: str, subject_id: object, fields: Sequence[str],
           region: str) -> tuple[str, dict[str, object]]:
    """The row :func:`yibao.admin.audit.record` writes, as a statement of the hot path."""
    return _AUDIT_INSERT, {"at": utcnow(), "actor": actor.user, "role": actor.role, "region": region,
                           "action": action, "stype": subject_type, "sid": str(subject_id),
                           "fields": ",".join(fields) or None, "purpose": actor.purpose,
                           "rid": actor.request_id or None}


def _acc_row(db: _Db, person_id: int, region: str, yk: int,
             lock: bool) -> tuple[int | None, list[int]]:
    """The accumulator row (id, counters) for the year, locked; created (zeros) when ``lock``."""
    q = _ACC_SELECT + (db.for_update() if lock else "")
    params: dict[str, object] = {"p": person_id, "r": region, "y": yk}
    row = db.one(q, params)
    if row is None and lock:
        db.send(_ACC_INSERT, {**params, "now": utcnow()})
        row = db.one(q, params)
    if row is None:
        return None, [0] * len(ACC_FIELDS)
    return int(row[0]), [int(v) for v in row[1:]]


def _acc_update(acc_id: int, values: Sequence[int]) -> tuple[str, dict[str, object]]:
    return _ACC_UPDATE, {"id": acc_id, "now": utcnow(), **dict(zip(ACC_FIELDS, values, strict=True))}


@functools.lru_cache(maxsize=8192)
def _year_key(policy: Policy, date: dt.date) -> int:
    return year_key(policy, date)


# -- the one code path ----------------------------------------------------------------------------

def _process(session: Session, actor: Actor, region: str, person_id: int, ci: ClaimInput,
             key: str | None, commit: bool, registry: Registry | None) -> dict[str, Any]:
    _check_input(ci)
    actor.check_region(region)
    _check_key(key)
    if not isinstance(person_id, int) or isinstance(person_id, bool):
        raise InputError("person_id", person_id, "应为人员编号（整数）", "expected a person id (integer)")
    settle_date = ci.settle_date or ci.service_date
    rhash = request_hash({"region": region, "person_id": person_id, **ci.request()})
    db = _Db(session)
    own_code = ledger.account_code(region, "individual_account", person_id)

    # round trip 1: the person, the region, the holder, the key, the accounts; the history
    with db.pipeline():
        head_cur = db.send(_HEAD, {
            "p": person_id, "r": region, "d": ci.service_date, "k": key or "", "own": own_code,
            "pool": f"{region}/pooled_fund", "large": f"{region}/large_amount_fund",
            "provider": f"{region}/provider_payable", "mutual": f"{region}/family_mutual_aid"})
        hist_cur = db.send(_HISTORY, {"p": person_id, "r": region, "m": month_of(settle_date)})
        head, history = db.fetch(head_cur), db.fetch(hist_cur, many=True)
    if head is None:
        if db.one("SELECT code FROM region WHERE code = :r", {"r": region}) is None:
            raise InputError("region", region, "不是本系统管理的统筹地区",
                             "not a region of this installation")
        raise InputError("person_id", person_id, "无此人员", "no such person")
    (birth_raw, death_raw, policy_name, own_files, holder_raw, seen_id, seen_hash, own_id, holder_ia,
     *fund_ids) = head
    if commit and key is not None and seen_id is not None:
        if seen_hash != rhash:
            raise IdempotencyConflict(key, "claim.settle")
        done = session.get(Claim, int(seen_id))
        assert done is not None
        db.send(*_audit(actor, "claim.replay", "claim", done.id, ("setlinfo",), region))
        return claim_result(done, replayed=True)
    birth, death = _day(birth_raw), _day(death_raw)
    holder_id = int(holder_raw) if holder_raw is not None else None
    assert birth is not None
    if death is not None and ci.service_date > death:
        raise NotCovered("deceased", "service_date", ci.service_date.isoformat(),
                         f"晚于该人员死亡日期 {death}", f"after the person's date of death {death}")
    if registry is None and own_files:  # a bureau's own region files are stored in this database
        registry = registry_of(session)
    policy = policy_for(str(policy_name), registry)
    snap, _ = _snapshot(policy, ci.service_date)

    # enrollment and eligibility on the service date
    spans: list[Span] = []
    rows: list[MonthRow] = []
    for kind, a1, a2, a3, a4, a5, d1, d2 in history:
        if kind == 0:
            spans.append(Span(int(a1), str(a2), int(a3), None if a4 is None else int(a4), str(a5), _day(d1)))
        else:
            rows.append(MonthRow(int(a1), str(a2), _day(d1) or dt.date.min, _day(d2)))
    svc_month = month_of(ci.service_date)
    covering = sorted((s for s in spans if s.covers(svc_month)),
                      key=lambda s: (s.status != "active", -s.start_month))
    if not covering:
        raise NotCovered("not_enrolled", "person_id", person_id,
                         f"该人员在 {ci.service_date} 未参加统筹地区 {region} 的职工医保",
                         f"the person is not enrolled in the employee scheme of region {region} on "
                         f"{ci.service_date}")
    span = covering[0]
    if span.status == "suspended":
        raise NotCovered("suspended", "person_id", person_id,
                         f"该人员在统筹地区 {region} 的参保 {span.enrollment_id} 已暂停，"
                         f"{ci.service_date} 不享受待遇",
                         f"the person's enrollment {span.enrollment_id} in region {region} is suspended: "
                         f"no benefits on {ci.service_date}")
    elig = assess(snap, spans, rows, ci.service_date, settle_date)
    if elig.share_bp <= 0:
        raise ClaimRefused(person_id, ci.service_date, elig)

    # benefit class on the service date
    status = STATUS_OF_CATEGORY[span.category]
    age = ci.service_date.year - birth.year - ((ci.service_date.month, ci.service_date.day)
                                               < (birth.month, birth.day))
    cls = _benefit_class(snap, status, max(age, 0), span.retired_on)

    # round trip 2: lock the accumulators, then the accounts (id order); balances; new ids
    yk = _year_key(policy, ci.service_date)
    if commit and own_id is None:
        own_id = ledger.account(session, region, "individual_account", person_id).id
    if not ci.use_account:
        holder_ia = None
    ia = sorted(int(i) for i in (own_id, holder_ia) if i is not None)
    marks = ", ".join(f":a{i}" for i in range(len(ia)))
    ia_params: dict[str, object] = {f"a{i}": a for i, a in enumerate(ia)}
    acc_params: dict[str, object] = {"p": person_id, "r": region, "y": yk}
    with db.pipeline():
        acc_cur = db.send(_ACC_LOCK_IDS[db.pg] if commit else _ACC_SELECT, acc_params)
        if ia and commit and db.pg:
            db.send(f"SELECT id FROM ledger_account WHERE id IN ({marks}) ORDER BY id FOR UPDATE", ia_params)
        bal_cur = db.send(f"SELECT account_id, SUM(amount_fen), MAX(value_date) FROM ledger_entry "
                          f"WHERE account_id IN ({marks}) GROUP BY account_id", ia_params) if ia else None
        acc_row = db.fetch(acc_cur)
        sums = db.fetch(bal_cur, many=True) if bal_cur is not None else []
    raw = {int(a): int(b) for a, b, _ in sums}
    for a, _, last in sums:
        last_day = _day(last)
        if last_day is not None and last_day > settle_date:
            # entries dated after this claim: it may spend only what every later balance can spare
            acct = session.get(LedgerAccount, int(a))
            assert acct is not None
            raw[int(a)] = -ledger.lowest_balance_from(session, acct, settle_date)[0]
    new_ids: Sequence[Any] | None = None
    acc_id: int | None
    if acc_row is None and commit:
        # the person's first claim of the benefit year: open the row, ours (locked) until commit;
        # a concurrent first claim waits on the unique key, then reads the row under its lock
        with db.pipeline():
            ins_cur = db.send(_ACC_INSERT + " RETURNING id", {**acc_params, "now": utcnow()})
            ids_cur = db.send(_NEXT_IDS[db.pg])
            made, new_ids = db.fetch(ins_cur), db.fetch(ids_cur)
        if made is not None:
            acc_id, before = int(made[0]), [0] * len(ACC_FIELDS)
        else:
            acc_id, before = _acc_row(db, person_id, region, yk, lock=True)
    elif acc_row is None:
        acc_id, before = None, [0] * len(ACC_FIELDS)
    else:
        acc_id, before = int(acc_row[0]), [int(v) for v in acc_row[1:1 + len(ACC_FIELDS)]]
        new_ids = acc_row[1 + len(ACC_FIELDS):] if commit else None
    own_bal = -raw.get(int(own_id), 0) if own_id is not None else 0
    holder_bal = -raw.get(int(holder_ia), 0) if holder_ia is not None else 0

    rule_claim = RuleClaim(
        date=ci.service_date, kind=ci.kind, benefit_class=cls, level=ci.level, total_fen=ci.total_fen,
        full_self_pay_fen=ci.full_self_pay_fen, over_limit_fen=ci.over_limit_fen,
        preselfpay_fen=ci.preselfpay_fen, category_b_fen=ci.category_b_fen, remote=ci.remote,
        benefit_share_bp=elig.share_bp, account_balance_fen=own_bal if ci.use_account else 0,
        mulaid_balance_fen=holder_bal)
    acc = Accumulators(np.array([[yk, *before]], dtype=np.int64))
    result = settle_rule(policy, rule_claim, acc)
    after = [int(v) for v in acc.data[0, 1:]]
    a = result.amounts
    fund = a["hifp_pay"] + a["hifob_pay"]
    platform = platform_out(ClaimIn(
        psn_no=str(person_id), med_type=MED_TYPE[ci.kind], hosp_lv=ci.level, psn_type=status, age=max(age, 0),
        retired_on=span.retired_on, setl_date=ci.service_date, insuplc_admdvs=region,
        medfee_sumamt=fen_to_yuan_str(ci.total_fen)), policy, result).model_dump(mode="json")
    values: dict[str, Any] = {
        "id": None, "idempotency_key": key or f"auto:{uuid.uuid4().hex}", "request_hash": rhash,
        "person_id": person_id, "region_code": region, "enrollment_id": span.enrollment_id, "kind": ci.kind,
        "med_type": MED_TYPE[ci.kind], "service_date": ci.service_date, "settle_date": settle_date,
        "year_key": yk, "benefit_class": cls, "hospital_level": ci.level, "remote": ci.remote,
        "share_bp": elig.share_bp, "eligibility_reason": elig.reason.name, "medfee_sumamt": ci.total_fen,
        "fulamt_ownpay_amt": ci.full_self_pay_fen, "overlmt_selfpay": ci.over_limit_fen,
        "preselfpay_amt": result.preselfpay_fen, "account_balance_before": rule_claim.account_balance_fen,
        "mulaid_balance_before": rule_claim.mulaid_balance_fen,
        **{k: a[k] for k in OUT_COLUMNS if k != "status"},
        "fund_pay_sumamt": fund, "psn_part_amt": ci.total_fen - fund,
        "balc": rule_claim.account_balance_fen - a["acct_pay"],
        "mulaid_holder_id": holder_id if a["acct_mulaid_pay"] else None,
        "acc_delta": {f: n - b for f, b, n in zip(ACC_FIELDS, before, after, strict=True)},
        "setlinfo": platform["setlinfo"], "setldetail": platform["setldetail"],
        "explanation": _explanation_json(result.explanation, elig), "status": "settled",
        "transfer_id": None, "reversal_transfer_id": None, "reversed_on": None,
        "medins_code": ci.medins_code, "mdtrt_id": ci.mdtrt_id, "medins_setl_id": ci.medins_setl_id,
        "created_at": utcnow(),
    }
    if not commit:
        db.send(*_audit(actor, "claim.presettle", "person", person_id, ("setlinfo", "acct_balc"), region))
        return _result(values, presettled=True)

    # round trip 3: accumulators, the transfer and its entries, the claim, the audit row
    assert acc_id is not None and new_ids is not None and own_id is not None
    claim_id, transfer_id = int(new_ids[0]), int(new_ids[1])
    ids = dict(zip(("pooled_fund", "large_amount_fund", "provider_payable", "family_mutual_aid"),
                   fund_ids, strict=True))
    for kind, got in list(ids.items()):
        if got is None:
            ids[kind] = ledger.account(session, region, kind).id
    lines = _ledger_lines(ids, int(own_id), None if holder_ia is None else int(holder_ia), a)
    _check_lines(lines, {int(own_id): own_bal, **({int(holder_ia): holder_bal} if holder_ia else {})})
    values.update(id=claim_id, transfer_id=transfer_id)
    writes = [
        _acc_update(acc_id, after),
        (_TRANSFER_INSERT, {"id": transfer_id, "k": f"claim:{values['idempotency_key']}", "r": region,
                            "d": settle_date, "ref": f"claim:{claim_id}",
                            "memo": f"{ci.kind} {ci.service_date} person {person_id}", "now": utcnow()})]
    row = {c: values[c] for c in _CLAIM_COLUMNS}
    if db.pg:
        # rows as JSON: a constant statement text with few parameters, which psycopg parses once
        # and PostgreSQL prepares once (a varying VALUES list or ~100 parameters defeat both)
        writes.append((_ENTRIES_PG, {"t": transfer_id, "d": settle_date,
                                     "lines": [{"a": i, "f": f} for i, f in lines]}))
        writes.append(_audit(actor, "claim.settle", "claim", claim_id,
                             ("hifp_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay"), region))
        writes.append((_CLAIM_INSERT_PG, {"row": {k: v.isoformat() if isinstance(v, dt.date) else v
                                                  for k, v in row.items()}}))
    else:
        if lines:
            entry_params: dict[str, object] = {"t": transfer_id, "d": settle_date}
            for i, (line_acc, fen) in enumerate(lines):
                entry_params[f"a{i}"], entry_params[f"f{i}"] = line_acc, fen
            marks = ", ".join(f"(:t, :a{i}, :f{i}, :d)" for i in range(len(lines)))
            writes.append(("INSERT INTO ledger_entry (transfer_id, account_id, amount_fen, value_date) "
                           f"VALUES {marks}", entry_params))
        writes.append(_audit(actor, "claim.settle", "claim", claim_id,
                             ("hifp_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay"), region))
        writes.append((_CLAIM_INSERT, row))
    db.write_all(writes)  # the claim last: on PostgreSQL it is the statement the others hang on
    return _result(values)


def _benefit_class(snap: Snapshot, status: str, age: int, retired_on: dt.date | None) -> str:
    ro = np.datetime64(retired_on, "D") if retired_on else np.datetime64("NaT")
    return BENEFIT_CLASSES[int(benefit_class(
        np.array([STATUS_INDEX[status]]), np.array([age]), np.array([ro], dtype="datetime64[D]"),
        *class_settings(snap))[0])]


def _ledger_lines(funds: dict[str, int], own: int, holder: int | None,
                  a: dict[str, int]) -> list[tuple[int, int]]:
    """(account id, signed fen; debit +) of the settlement transfer (module docstring)."""
    paid = a["hifp_pay"] + a["hifob_pay"] + a["acct_pay"] + a["acct_mulaid_pay"]
    lines = [(funds["pooled_fund"], a["hifp_pay"]), (funds["large_amount_fund"], a["hifob_pay"]),
             (own, a["acct_pay"])]
    if a["acct_mulaid_pay"]:
        assert holder is not None
        mutual = funds["family_mutual_aid"]
        m = a["acct_mulaid_pay"]
        lines += [(holder, m), (mutual, -m), (mutual, m)]
    lines.append((funds["provider_payable"], -paid))
    return [(i, f) for i, f in lines if f != 0]


def _check_lines(lines: Sequence[tuple[int, int]], locked: dict[int, int]) -> None:
    """The checks :func:`yibao.admin.ledger.post` makes, on the lines the hot path writes itself.

    The lines balance, and no individual account goes below zero: its balance was read under the
    row lock this transaction holds (``locked``: account id → balance; SQLite: the database lock),
    and the rule never pays more than it. The transfer's key is unique (``claim:<key>``), and
    the claim's own key was looked up first, so a settlement is posted once.
    """
    if sum(f for _, f in lines) != 0:  # pragma: no cover - the lines balance by construction
        raise InputError("ledger_lines", sum(f for _, f in lines), "借贷不平衡（合计应为 0）",
                         "debits and credits do not balance (the sum must be 0)")
    for acc_id, bal in locked.items():
        out = sum(f for i, f in lines if i == acc_id)
        if out > bal:  # pragma: no cover - the rule pays at most the balance
            raise ledger.InsufficientBalance(str(acc_id), bal, out)


def _explanation_json(settlement: Explanation, elig: Eligibility) -> dict[str, Any]:
    return {
        "settlement": {"title_zh": settlement.title_zh, "title_en": settlement.title_en,
                       "zh": settlement.as_json("zh"), "en": settlement.as_json("en")},
        "eligibility": {"title_zh": elig.explanation.title_zh, "title_en": elig.explanation.title_en,
                        "zh": elig.explanation.as_json("zh"), "en": elig.explanation.as_json("en"),
                        "result": elig.as_dict()},
    }


# -- results ---------------------------------------------------------------------------------------

_RESULT_AMOUNTS: Final = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                          *(c for c in OUT_COLUMNS if c not in ("status", "pool_ratio_bp")),
                          "fund_pay_sumamt", "psn_part_amt", "balc", "account_balance_before",
                          "mulaid_balance_before")
_ROW_FIELDS: Final = (*_CLAIM_COLUMNS, "reversal_transfer_id", "reversed_on")


def claim_result(c: Claim, replayed: bool = False) -> dict[str, Any]:
    """The JSON result of a stored claim (settle, replay, ``claim show``, reversal)."""
    return _result({f: getattr(c, f) for f in _ROW_FIELDS}, replayed=replayed)


def _result(v: dict[str, Any], replayed: bool = False, presettled: bool = False) -> dict[str, Any]:
    return {
        "claim_id": None if presettled else v["id"],
        "status": "presettled" if presettled else v["status"],
        "replayed": replayed,
        "idempotency_key": None if presettled else v["idempotency_key"],
        "person_id": v["person_id"], "region": v["region_code"], "enrollment_id": v["enrollment_id"],
        "kind": v["kind"], "med_type": v["med_type"], "service_date": v["service_date"].isoformat(),
        "settle_date": v["settle_date"].isoformat(), "year_key": v["year_key"],
        "benefit_class": v["benefit_class"], "hospital_level": v["hospital_level"], "remote": v["remote"],
        "share_bp": v["share_bp"], "eligibility_reason": v["eligibility_reason"],
        "amounts_fen": {k: int(v[k]) for k in _RESULT_AMOUNTS},
        "pool_ratio_bp": v["pool_ratio_bp"],
        "mulaid_holder_id": v["mulaid_holder_id"],
        "acc_delta": dict(v["acc_delta"]),
        "setlinfo": v["setlinfo"], "setldetail": v["setldetail"], "explanation": v["explanation"],
        "transfer_id": v["transfer_id"], "reversal_transfer_id": v["reversal_transfer_id"],
        "reversed_on": v["reversed_on"].isoformat() if v["reversed_on"] else None,
        "medins_code": v["medins_code"], "mdtrt_id": v["mdtrt_id"], "medins_setl_id": v["medins_setl_id"],
    }


# -- public services ---------------------------------------------------------------------------------

def presettle(session: Session, actor: Actor, region: str, person_id: int, claim_input: ClaimInput,
              registry: Registry | None = None) -> dict[str, Any]:
    """Pre-settlement (2206 / 2303 预结算): the settlement as it would be, nothing changed.

    Only an audit row is written (a person's figures were read). Same path as :func:`settle`.
    """
    return _process(session, actor, region, person_id, claim_input, None, False, registry)


def settle(session: Session, actor: Actor, region: str, person_id: int, claim_input: ClaimInput,
           key: str | None = None, registry: Registry | None = None) -> dict[str, Any]:
    """Settle a claim (2207 / 2304 结算); see the module docstring. ``key``: idempotency key.

    A claim that staff settle with a total cost of at least the region's review threshold waits
    for a second person (four-eyes, :mod:`yibao.admin.approvals`); a provider's real-time
    settlement through the gateway is reviewed afterwards, as on the national platform.
    """
    if (actor.role not in ("system", "provider") and isinstance(claim_input.total_fen, int)
            and claim_input.total_fen >= approvals.claim_review_fen(session, region)
            and (key is None or session.scalar(select(Claim.id).where(Claim.idempotency_key == key))
                 is None)):
        _check_input(claim_input)
        actor.check_region(region)
        total = fen_to_yuan_str(claim_input.total_fen)
        command = {"region": region, "person_id": person_id, "claim": claim_input.request(), "key": key}
        approvals.check(session, actor, approvals.Command(
            "large_claim", region, command, "person", person_id,
            f"结算人员 {person_id} 的{claim_input.kind}费用 {total} 元",
            f"settle a {claim_input.kind} claim of {total} yuan for person {person_id}"))
    return _process(session, actor, region, person_id, claim_input, key, True, registry)


def settle_from(session: Session, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """Settle an approved large claim (:mod:`yibao.admin.approvals`)."""
    fields: dict[str, Any] = {
        k: (dt.date.fromisoformat(v) if k in ("service_date", "settle_date") and v else v)
        for k, v in payload["claim"].items()}
    return settle(session, actor, payload["region"], payload["person_id"], ClaimInput(**fields),
                  payload["key"])


def _claim(session: Session, claim_id: object, lock: bool = False) -> Claim:
    if not isinstance(claim_id, int) or isinstance(claim_id, bool):
        raise InputError("claim_id", claim_id, "应为结算编号（整数）", "expected a claim id (integer)")
    q = select(Claim).where(Claim.id == claim_id)
    if lock and _is_pg(session):
        q = q.with_for_update()
    c = session.scalar(q)
    if c is None:
        raise InputError("claim_id", claim_id, "无此结算记录", "no such claim")
    return c


def get_claim(session: Session, actor: Actor, claim_id: int) -> dict[str, Any]:
    """A stored claim (audited read of personal data)."""
    c = _claim(session, claim_id)
    actor.check_region(c.region_code)
    check_person_visible(session, actor, c.person_id)
    record(session, actor, "claim.read", "claim", c.id, ("setlinfo", "explanation"), c.region_code)
    return claim_result(c)


def claims_of(session: Session, actor: Actor, person_id: int, limit: int = 50,
              offset: int = 0) -> list[dict[str, Any]]:
    """A person's claims, newest first, each as :func:`claim_result` without the explanation
    (one audited read; a claim's explanation is read with :func:`get_claim`). Only the regions
    ``actor`` may act for."""
    check_person_visible(session, actor, person_id)
    if not (1 <= limit <= 500) or offset < 0:
        raise InputError("limit", limit, "limit 应在 1–500，offset ≥ 0", "limit must be 1-500 and offset ≥ 0")
    q = select(Claim).where(Claim.person_id == person_id)
    if actor.regions is not None:
        q = q.where(Claim.region_code.in_(actor.regions))
    rows = list(session.scalars(q.order_by(Claim.service_date.desc(), Claim.id.desc()).limit(limit)
                                .offset(offset)))
    record(session, actor, "claim.list", "person", person_id, ("setlinfo",))
    out = []
    for c in rows:
        r = claim_result(c)
        r.pop("explanation")
        r.pop("setldetail")
        out.append(r)
    return out


def reverse(session: Session, actor: Actor, claim_id: int, key: str | None,
            on_date: dt.date) -> dict[str, Any]:
    """Reverse a settled claim (2305 / 2208 / 2601 冲正): ledger negation, accumulators restored.

    ``key`` defaults to ``reverse:<claim id>``: a claim is reversed at most once, so reversing it
    again with the same (or no) key returns the first reversal; another key is refused.
    """
    _check_key(key)
    c = _claim(session, claim_id, lock=True)
    actor.check_region(c.region_code)
    rkey = key or f"reverse:{c.id}"
    if c.status == "reversed":
        if c.reversal_key == rkey:
            return claim_result(c, replayed=True)
        raise AlreadyReversed(c.id, c.reversed_on, c.reversal_key)
    other = session.scalar(select(Claim.id).where(Claim.reversal_key == rkey, Claim.id != c.id))
    if other is not None:  # the key already reversed another claim: a different request
        raise IdempotencyConflict(rkey, f"claim.reverse {other}")
    if not isinstance(on_date, dt.date):
        raise InputError("on_date", on_date, "应为日期 YYYY-MM-DD", "expected a date YYYY-MM-DD")
    if on_date < c.settle_date:
        raise InputError("on_date", on_date.isoformat(), f"冲销日期不能早于结算日期 {c.settle_date}",
                         f"the reversal date cannot be before the settlement date {c.settle_date}")
    db = _Db(session)
    acc_id, now = _acc_row(db, c.person_id, c.region_code, c.year_key, lock=True)
    restored = [v - int(c.acc_delta.get(f, 0)) for f, v in zip(ACC_FIELDS, now, strict=True)]
    if min(restored) < 0:  # pragma: no cover - only if the counters were edited outside this module
        raise InputError("acc_delta", c.id, "累计值不足以冲销（数据不一致）",
                         "the accumulators are below this claim's delta (inconsistent data)")
    assert acc_id is not None
    db.send(*_acc_update(acc_id, restored))
    original = session.get(LedgerTransfer, c.transfer_id)
    assert original is not None
    rt = ledger.reverse(session, original, f"claim-reversal:{rkey}", on_date,
                        memo=f"reverses claim {c.id}")
    c.status, c.reversal_transfer_id, c.reversal_key = "reversed", rt.id, rkey
    c.reversed_on, c.reversed_at = on_date, utcnow()
    record(session, actor, "claim.reverse", "claim", c.id, ("status",), c.region_code)
    session.flush()
    return claim_result(c)


def accumulators(session: Session, person_id: int, region: str, year: int) -> dict[str, int]:
    """The stored counters of ``person_id`` for the benefit year keyed ``year`` (zeros if none)."""
    _, vals = _acc_row(_Db(session), person_id, region, year, lock=False)
    return dict(zip(ACC_FIELDS, vals, strict=True))

