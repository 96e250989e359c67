"""Claims: pre-settlement, settlement and reversal (2206/2207/2208, 2303/2304/2305, 2601).

:func:`presettle` and :func:`settle` run ONE code path (:func:`_process`); pre-settlement stops
before anything is written (only an audit row records that a person's figures were read).

Per claim, in one transaction:

1. **Input** checked (amounts, components ≤ total, kind, level, remote): a bilingual
   :class:`~yibao.errors.InputError` naming the field, nothing changed.
2. **Policy** of the region (``region.policy`` in the registry) on the service date; its
   compiled settlement table is cached per (policy, date), so a claim never recompiles it.
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

   Cash paid at the counter (``psn_cash_pay``) is stored on the claim, not posted.

**Idempotency**: the claim's key is unique; settling with the same key and request returns the
first claim (``replayed``) and posts nothing; the same key with another request is refused.
**Reversal** (:func:`reverse`) posts the ledger negation and subtracts the claim's accumulator
delta: settling then reversing leaves every balance and accumulator exactly as before. Reversing a
claim that is not the person's last of the year removes that claim's own contribution to the
counters; later claims keep what they were paid (the platform re-settles them if it must).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.admin import ledger
from yibao.admin.audit import record
from yibao.admin.continuity import Eligibility, MonthRow, Span, assess
from yibao.admin.uow import Actor, IdempotencyConflict, request_hash
from yibao.db.base import month_of, utcnow
from yibao.db.models.claims import ACC_FIELDS, BenefitAccumulator, Claim
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.ledger import LedgerAccount, LedgerTransfer
from yibao.db.models.register import FamilyLink, Person, Region
from yibao.errors import InputError, YibaoError
from yibao.money import fen_to_yuan_str
from yibao.platform.models import ClaimIn
from yibao.platform.settle import _out as platform_out
from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.registry import Registry, default_registry
from yibao.policy.resolve import Policy, Snapshot
from yibao.policy.values import Unknown
from yibao.rules.classes import STATUS_INDEX, benefit_class
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
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()}


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
    """The policy ``name`` (a region's ``policy``) of ``registry`` (default: shipped), cached."""
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
        year=np.array([year_key(policy, claim.date)]), kind=np.array([KINDS.index(claim.kind)]),
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


def _check_region(actor: Actor, region: str) -> None:
    if actor.regions is not None and region not in actor.regions:
        raise InputError("region", region, f"操作员 {actor.user} 无权办理该统筹地区业务",
                         f"operator {actor.user} may not act for this region")


def _check_key(key: str | None, field: str = "idempotency_key") -> None:
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY):
        raise InputError(field, key, f"幂等键应为 1..{MAX_KEY} 个字符", f"a key is 1..{MAX_KEY} characters")


# -- locks and balances ---------------------------------------------------------------------------

def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _acc_row(session: Session, person_id: int, region: str, yk: int,
             lock: bool) -> tuple[int | None, list[int]]:
    """The accumulator row (id, counters) for the year, locked; created (zeros) when ``lock``."""
    ba = BenefitAccumulator
    q = select(ba.id, *(getattr(ba, f) for f in ACC_FIELDS)).where(
        ba.person_id == person_id, ba.region_code == region, ba.year_key == yk)
    if lock and _is_pg(session):
        q = q.with_for_update()
    row = session.execute(q).first()
    if row is None and lock:
        ins = (postgresql.insert(ba) if _is_pg(session) else sqlite.insert(ba)).values(
            person_id=person_id, region_code=region, year_key=yk, version=0, updated_at=utcnow(),
            **dict.fromkeys(ACC_FIELDS, 0))
        session.execute(ins.on_conflict_do_nothing(index_elements=["person_id", "region_code", "year_key"]))
        row = session.execute(q).first()
    if row is None:
        return None, [0] * len(ACC_FIELDS)
    return int(row[0]), [int(v) for v in row[1:]]


def _accounts(session: Session, region: str, codes: Sequence[str]) -> dict[str, LedgerAccount]:
    found = session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(codes))).all()
    return {a.code: a for a in found}


_FUNDS: Final = ("pooled_fund", "large_amount_fund", "provider_payable", "family_mutual_aid")


# -- the one code path ----------------------------------------------------------------------------

def _process(session: Session, actor: Actor, region: str, person_id: int, ci: ClaimInput,
             key: str | None, commit: bool, registry: Registry | None) -> dict[str, Any]:
    _check_input(ci)
    _check_region(actor, region)
    _check_key(key)
    if not isinstance(person_id, int) or isinstance(person_id, bool):
        raise InputError("person_id", person_id, "应为人员编号（整数）", "expected a person id (integer)")
    settle_date = ci.settle_date or ci.service_date
    req = {"region": region, "person_id": person_id, **ci.request()}
    rhash = request_hash(req)
    if commit and key is not None:
        done = session.scalar(select(Claim).where(Claim.idempotency_key == key))
        if done is not None:
            if done.request_hash != rhash:
                raise IdempotencyConflict(key, "claim.settle")
            record(session, actor, "claim.replay", "claim", done.id, ("setlinfo",), region)
            return claim_result(done, replayed=True)

    # person, region, and the family mutual-aid holder in force on the service date
    fl = FamilyLink
    holder_q = (select(fl.holder_id).where(
        fl.relative_id == Person.id, fl.holder_id != Person.id, fl.valid_from <= ci.service_date,
        (fl.valid_to.is_(None)) | (fl.valid_to >= ci.service_date)).order_by(fl.id).limit(1)
        .scalar_subquery())
    head = session.execute(
        select(Person.birth_date, Person.death_date, Region.policy, holder_q)
        .select_from(Person).join(Region, Region.code == region).where(Person.id == person_id)).first()
    if head is None:
        if session.get(Region, region) is None:
            raise InputError("region", region, "不是本系统管理的统筹地区",
                             "not a region of this installation")
        raise InputError("person_id", person_id, "无此人员", "no such person")
    birth, death, policy_name, holder_id = head
    if death is not None and ci.service_date > death:
        raise InputError("service_date", ci.service_date.isoformat(), f"晚于该人员死亡日期 {death}",
                         f"after the person's date of death {death}")
    policy = policy_for(policy_name, registry)
    snap, _ = _snapshot(policy, ci.service_date)

    # enrollment and eligibility on the service date
    e, cm = Enrollment, ContributionMonth
    spans = [Span(i, cat, s, end, st, ro) for i, cat, s, end, st, ro in session.execute(
        select(e.id, e.category, e.start_month, e.end_month, e.status, e.retired_on)
        .where(e.person_id == person_id, e.region_code == region, e.scheme == "employee"))]
    svc_month = month_of(ci.service_date)
    covering = sorted((s for s in spans if s.covers(svc_month)),
                      key=lambda s: (s.status != "active", -s.start_month))
    if not covering:
        raise InputError("person_id", person_id,
                         f"该人员在 {ci.service_date} 未参加统筹地区 {region} 的职工医保",
                         f"the person is not enrolled in the employee scheme of region {region} on "
                         f"{ci.service_date}")
    span = covering[0]
    rows = [MonthRow(m, st, due, paid) for m, st, due, paid in session.execute(
        select(cm.month, cm.status, cm.due_date, cm.paid_on)
        .where(cm.person_id == person_id, cm.region_code == region, cm.month <= month_of(settle_date)))]
    elig = assess(snap, spans, rows, ci.service_date, settle_date)
    if elig.share_bp <= 0:
        raise ClaimRefused(person_id, ci.service_date, elig)

    # benefit class on the service date
    status = STATUS_OF_CATEGORY[span.category]
    age = ci.service_date.year - birth.year - ((ci.service_date.month, ci.service_date.day)
                                                < (birth.month, birth.day))
    senior = snap.maybe("benefit_class.senior_age")
    early = snap.maybe("benefit_class.early_retiree_before")
    ro = np.datetime64(span.retired_on, "D") if span.retired_on else np.datetime64("NaT")
    cls = BENEFIT_CLASSES[int(benefit_class(
        np.array([STATUS_INDEX[status]]), np.array([max(age, 0)]), np.array([ro], dtype="datetime64[D]"),
        None if isinstance(senior, Unknown) else int(senior),
        None if isinstance(early, Unknown) or early is None else early)[0])]

    # lock the accumulators, then the accounts (id order), and read the balances
    yk = year_key(policy, ci.service_date)
    acc_id, before = _acc_row(session, person_id, region, yk, lock=commit)
    own_code = ledger.account_code(region, "individual_account", person_id)
    holder_code = (ledger.account_code(region, "individual_account", holder_id)
                   if holder_id is not None and ci.use_account else None)
    codes = [own_code, *([holder_code] if holder_code else []),
             *(ledger.account_code(region, k) for k in _FUNDS)] if commit else \
        [own_code, *([holder_code] if holder_code else [])]
    accs = _accounts(session, region, codes)
    if commit and own_code not in accs:
        accs[own_code] = ledger.account(session, region, "individual_account", person_id)
    ia_ids = sorted(a.id for c, a in accs.items() if c in (own_code, holder_code))
    if commit and ia_ids and _is_pg(session):
        session.execute(select(LedgerAccount.id).where(LedgerAccount.id.in_(ia_ids))
                        .order_by(LedgerAccount.id).with_for_update())
    raw = ledger.balances(session, ia_ids) if ia_ids else {}
    own_acc, holder_acc = accs.get(own_code), accs.get(holder_code) if holder_code else None
    own_bal = -raw[own_acc.id] if own_acc is not None else 0
    holder_bal = -raw[holder_acc.id] if holder_acc is not None else 0

    rule_claim = RuleClaim(
        date=ci.service_date, kind=ci.kind, benefit_class=cls, level=ci.level, total_fen=ci.total_fen,
        full_self_pay_fen=ci.full_self_pay_fen, over_limit_fen=ci.over_limit_fen,
        preselfpay_fen=ci.preselfpay_fen, category_b_fen=ci.category_b_fen, remote=ci.remote,
        benefit_share_bp=elig.share_bp, account_balance_fen=own_bal if ci.use_account else 0,
        mulaid_balance_fen=holder_bal if holder_acc is not None else 0)
    acc = Accumulators(np.array([[yk, *before]], dtype=np.int64))
    result = settle_rule(policy, rule_claim, acc)
    after = [int(v) for v in acc.data[0, 1:]]
    a = result.amounts
    fund = a["hifp_pay"] + a["hifob_pay"]
    platform = platform_out(ClaimIn(
        psn_no=str(person_id), med_type=MED_TYPE[ci.kind], hosp_lv=ci.level, psn_type=status, age=max(age, 0),
        retired_on=span.retired_on, setl_date=ci.service_date, insuplc_admdvs=region,
        medfee_sumamt=fen_to_yuan_str(ci.total_fen)), policy, result).model_dump(mode="json")
    claim = Claim(
        idempotency_key=key or f"auto:{uuid.uuid4().hex}", request_hash=rhash, person_id=person_id,
        region_code=region, enrollment_id=span.enrollment_id, kind=ci.kind, med_type=MED_TYPE[ci.kind],
        service_date=ci.service_date, settle_date=settle_date, year_key=yk, benefit_class=cls,
        hospital_level=ci.level, remote=ci.remote, share_bp=elig.share_bp,
        eligibility_reason=elig.reason.name, medfee_sumamt=ci.total_fen,
        fulamt_ownpay_amt=ci.full_self_pay_fen, overlmt_selfpay=ci.over_limit_fen,
        preselfpay_amt=result.preselfpay_fen, account_balance_before=rule_claim.account_balance_fen,
        mulaid_balance_before=rule_claim.mulaid_balance_fen,
        **{k: a[k] for k in OUT_COLUMNS if k != "status"},
        fund_pay_sumamt=fund, psn_part_amt=ci.total_fen - fund,
        balc=rule_claim.account_balance_fen - a["acct_pay"],
        mulaid_holder_id=holder_id if a["acct_mulaid_pay"] else None,
        acc_delta={f: n - b for f, b, n in zip(ACC_FIELDS, before, after, strict=True)},
        setlinfo=platform["setlinfo"], setldetail=platform["setldetail"],
        explanation=_explanation_json(result.explanation, elig),
        status="settled", medins_code=ci.medins_code, mdtrt_id=ci.mdtrt_id,
        medins_setl_id=ci.medins_setl_id)
    if not commit:
        record(session, actor, "claim.presettle", "person", person_id, ("setlinfo", "acct_balc"), region)
        return claim_result(claim, presettled=True)

    # write: accumulators, claim, one ledger transfer, audit
    ba = BenefitAccumulator
    session.execute(update(ba).where(ba.id == acc_id).values(
        version=ba.version + 1, updated_at=utcnow(), **dict(zip(ACC_FIELDS, after, strict=True))))
    session.add(claim)
    session.flush()
    lines = _ledger_lines(session, region, accs, own_code, holder_code, a)
    t = ledger.post(session, f"claim:{claim.idempotency_key}", "claim_settlement", region, settle_date,
                    lines, reference=f"claim:{claim.id}",
                    memo=f"{ci.kind} {ci.service_date} person {person_id}")
    claim.transfer_id = t.id
    record(session, actor, "claim.settle", "claim", claim.id,
           ("hifp_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay"), region)
    return claim_result(claim)


def _ledger_lines(session: Session, region: str, accs: dict[str, LedgerAccount], own_code: str,
                  holder_code: str | None, a: dict[str, int]) -> list[ledger.Line]:
    def acc(kind: str) -> LedgerAccount:
        code = ledger.account_code(region, kind)
        if code not in accs:
            accs[code] = ledger.account(session, region, kind)
        return accs[code]

    paid = a["hifp_pay"] + a["hifob_pay"] + a["acct_pay"] + a["acct_mulaid_pay"]
    lines = [ledger.debit(acc("pooled_fund"), a["hifp_pay"]),
             ledger.debit(acc("large_amount_fund"), a["hifob_pay"]),
             ledger.debit(accs[own_code], a["acct_pay"])]
    if a["acct_mulaid_pay"]:
        assert holder_code is not None
        mutual = acc("family_mutual_aid")
        lines += [ledger.debit(accs[holder_code], a["acct_mulaid_pay"]),
                  ledger.credit(mutual, a["acct_mulaid_pay"]), ledger.debit(mutual, a["acct_mulaid_pay"])]
    lines.append(ledger.credit(acc("provider_payable"), paid))
    return lines


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


def claim_result(c: Claim, replayed: bool = False, presettled: bool = False) -> dict[str, Any]:
    """The JSON result of a claim (the same for settle, replay, pre-settle and ``claim show``)."""
    return {
        "claim_id": None if presettled else c.id,
        "status": "presettled" if presettled else c.status,
        "replayed": replayed,
        "idempotency_key": None if presettled else c.idempotency_key,
        "person_id": c.person_id, "region": c.region_code, "enrollment_id": c.enrollment_id,
        "kind": c.kind, "med_type": c.med_type, "service_date": c.service_date.isoformat(),
        "settle_date": c.settle_date.isoformat(), "year_key": c.year_key,
        "benefit_class": c.benefit_class, "hospital_level": c.hospital_level, "remote": c.remote,
        "share_bp": c.share_bp, "eligibility_reason": c.eligibility_reason,
        "amounts_fen": {k: int(getattr(c, k)) for k in _RESULT_AMOUNTS},
        "pool_ratio_bp": c.pool_ratio_bp,
        "mulaid_holder_id": c.mulaid_holder_id,
        "acc_delta": dict(c.acc_delta),
        "setlinfo": c.setlinfo, "setldetail": c.setldetail, "explanation": c.explanation,
        "transfer_id": c.transfer_id, "reversal_transfer_id": c.reversal_transfer_id,
        "reversed_on": c.reversed_on.isoformat() if c.reversed_on else None,
        "medins_code": c.medins_code, "mdtrt_id": c.mdtrt_id, "medins_setl_id": c.medins_setl_id,
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
    """Settle a claim (2207 / 2304 结算); see the module docstring. ``key``: idempotency key."""
    return _process(session, actor, region, person_id, claim_input, key, True, registry)


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
    _check_region(actor, c.region_code)
    record(session, actor, "claim.read", "claim", c.id, ("setlinfo", "explanation"), c.region_code)
    return claim_result(c)


def reverse(session: Session, actor: Actor, claim_id: int, key: str | None,
            on_date: dt.date) -> dict[str, Any]:
    """Reverse a settled claim (2305 / 2208 / 2601 冲正): ledger negation, accumulators restored.

    ``key`` defaults to ``reverse:<claim id>``: a claim is reversed at most once, so reversing it
    again with the same (or no) key returns the first reversal; another key is refused.
    """
    _check_key(key)
    c = _claim(session, claim_id, lock=True)
    _check_region(actor, c.region_code)
    rkey = key or f"reverse:{c.id}"
    if c.status == "reversed":
        if c.reversal_key == rkey:
            return claim_result(c, replayed=True)
        raise AlreadyReversed(c.id, c.reversed_on, c.reversal_key)
    if not isinstance(on_date, dt.date):
        raise InputError("on_date", on_date, "应为日期 YYYY-MM-DD", "expected a date YYYY-MM-DD")
    if on_date < c.settle_date:
        raise InputError("on_date", on_date.isoformat(), f"冲销日期不能早于结算日期 {c.settle_date}",
                         f"the reversal date cannot be before the settlement date {c.settle_date}")
    acc_id, now = _acc_row(session, c.person_id, c.region_code, c.year_key, lock=True)
    restored = [v - int(c.acc_delta.get(f, 0)) for f, v in zip(ACC_FIELDS, now, strict=True)]
    if min(restored) < 0:  # pragma: no cover - only if the counters were edited outside this module
        raise InputError("acc_delta", c.id, "累计值不足以冲销（数据不一致）",
                         "the accumulators are below this claim's delta (inconsistent data)")
    ba = BenefitAccumulator
    session.execute(update(ba).where(ba.id == acc_id).values(
        version=ba.version + 1, updated_at=utcnow(), **dict(zip(ACC_FIELDS, restored, strict=True))))
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
    _, vals = _acc_row(session, person_id, region, year, lock=False)
    return dict(zip(ACC_FIELDS, vals, strict=True))

