"""Continuity of contributions (连续参保) and eligibility on a service date, from the register.

The rule is :func:`yibao.rules.eligibility.assess_eligibility` (DOMAIN §5: waiting periods, gaps,
back-payment); this module only derives its inputs from a person's :class:`ContributionMonth`
rows and enrollment spells in one region, and calls it.

Each month from the person's first enrollment month to the as-of month is in one state:

- **current** — paid by its due date, or not yet due on the as-of date, or inside an enrollment
  spell but not yet assessed (the monthly run has not reached it: nobody owes a month never
  assessed);
- **back-paid** — paid after its due date (补缴; ``paid_on > due_date``);
- **lapsed** — assessed, overdue and unpaid (or written off), or outside every enrollment spell.

A *spell* is a run of current months; a *gap* is the run of back-paid or lapsed months between two
spells. For a service month S:

- S in a spell → ``cover_start`` = the spell's first month; ``gap_months`` = the gap before it,
  ``-1`` for the first spell (first enrolment: back-paid months at the very start of the history
  belong to the first spell, there was no continuity to interrupt); ``gap_backpaid`` = every
  month of that gap is back-paid.
- S in a gap followed by a spell → that spell and gap; the rule decides whether S is covered
  retroactively (a short back-paid gap, 2021-11 national transfer rules) or not.
- S in a trailing gap whose months up to S are all back-paid → as if cover resumed after them
  (the member has paid up to here); otherwise the last spell before S, with ``paid_through`` its
  last month, so the rule finds S outside the period paid.
- Retirees pay no basic contribution (DOMAIN §1): an enrolled retiree's row is a continuous spell
  from the retiree enrollment's first month.

**Unknown waiting figures.** Many regions' files leave the waiting periods ``unknown`` (no source
yet). A spell that started more than ``eligibility.waiting.max_months`` (+1 for 次月享受) before
S has served any wait whatever the figure (seed 000: the longest regional wait is 12 months), so
such a row is given to the rule as continuous (``gap_months = 0``) and its explanation says why;
a younger spell still needs the figure and the rule names it (UnknownParameterError).

:func:`interruptions` finds, for a whole region in two queries, the persons whose contributions
stopped more than N months ago and the flexible workers about to pass the back-payable gap.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.db.base import add_months, month_index, month_of, ym_from_index
from yibao.db.models.contribution import ContributionMonth
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Person
from yibao.errors import InputError
from yibao.policy.resolve import Policy, Snapshot
from yibao.rules.eligibility import (
    EligibilityColumns,
    Reason,
    assess_eligibility,
    explain_eligibility,
)
from yibao.rules.explain import Explanation, Step, param_use

if TYPE_CHECKING:
    # polars is imported where the worklist is built: every claim settlement imports this module,
    # and the service should not load polars (0.35 s) to start
    import polars as pl

__all__ = [
    "BACK_PAID",
    "CURRENT",
    "LAPSED",
    "Continuity",
    "Eligibility",
    "Interruption",
    "MonthRow",
    "Span",
    "assess",
    "backpay_max_gap",
    "classify_interruptions",
    "continuity_inputs",
    "eligibility_on",
    "interruptions",
    "load_history",
    "month_states",
]

CURRENT: Final = 0
BACK_PAID: Final = 1
LAPSED: Final = 2
FLEXIBLE_CATEGORIES: Final = ("flexible", "new_form")
# the enrollment ended for a reason that is not an interruption of contributions
_NOT_INTERRUPTED: Final = ("transfer_out", "retired", "death")


@dataclass(frozen=True)
class Span:
    """An employee-scheme enrollment spell of the person in the region (months YYYYMM)."""

    enrollment_id: int
    category: str
    start_month: int
    end_month: int | None
    status: str = "active"
    retired_on: dt.date | None = None

    def covers(self, month: int) -> bool:
        return self.start_month <= month and (self.end_month is None or month <= self.end_month)


@dataclass(frozen=True)
class MonthRow:
    """What continuity needs of one :class:`ContributionMonth`."""

    month: int
    status: str
    due_date: dt.date
    paid_on: dt.date | None


def month_states(spans: Sequence[Span], rows: Sequence[MonthRow], as_of: dt.date
                 ) -> tuple[int, npt.NDArray[np.int8]]:
    """The first month's index and the state of every month from it to the as-of month.

    States: :data:`CURRENT`, :data:`BACK_PAID`, :data:`LAPSED` (module docstring). Several rows
    in one month (two enrollments) count as the best of them.
    """
    horizon = month_index(month_of(as_of))
    starts = [month_index(s.start_month) for s in spans] + [month_index(r.month) for r in rows]
    if not starts:
        return horizon + 1, np.zeros(0, dtype=np.int8)
    first = min(starts)
    n = max(horizon - first + 1, 0)
    state = np.full(n, LAPSED, dtype=np.int8)
    for s in spans:  # inside a spell and not (yet) assessed: current
        if s.category == "retiree":
            continue
        lo = month_index(s.start_month) - first
        hi = (horizon if s.end_month is None else min(month_index(s.end_month), horizon)) - first
        if hi >= lo:
            state[lo:hi + 1] = CURRENT
    seen = np.full(n, LAPSED + 1, dtype=np.int8)  # best state among the month's rows
    for r in rows:
        i = month_index(r.month) - first
        if not 0 <= i < n:
            continue
        paid = r.status == "paid" and r.paid_on is not None and r.paid_on <= as_of
        if paid:
            st = CURRENT if r.paid_on is not None and r.paid_on <= r.due_date else BACK_PAID
        elif r.status != "written_off" and r.due_date >= as_of:
            st = CURRENT  # not yet due on the as-of date (a later payment is not known yet)
        else:
            st = LAPSED
        seen[i] = min(int(seen[i]), st)
    assessed = seen <= LAPSED
    state[assessed] = seen[assessed]
    return first, state


@dataclass(frozen=True)
class Continuity:
    """The eligibility rule's inputs for one service month (months YYYYMM)."""

    service_month: int
    cover_start: int
    gap_months: int  # -1 first enrolment, 0 none, else the months of the gap before cover_start
    gap_backpaid: bool
    flexible: bool
    retired: bool
    paid_through: int | None  # None: no end (current through the service month)
    established: bool = False  # any wait served: passed to the rule as continuous

    def as_dict(self) -> dict[str, Any]:
        return {"service_month": self.service_month, "cover_start": self.cover_start,
                "gap_months": self.gap_months, "gap_backpaid": self.gap_backpaid,
                "flexible": self.flexible, "retired": self.retired,
                "paid_through": self.paid_through, "established": self.established}


def _runs(state: npt.NDArray[np.int8]) -> list[tuple[int, int, bool]]:
    """(start, end, is_spell) runs over the state array (a spell = CURRENT months)."""
    if state.size == 0:
        return []
    spell = state == CURRENT
    cuts = np.flatnonzero(np.diff(spell.astype(np.int8))) + 1
    bounds = np.concatenate(([0], cuts, [state.size]))
    return [(int(a), int(b) - 1, bool(spell[a])) for a, b in itertools.pairwise(bounds)]


def continuity_inputs(first: int, state: npt.NDArray[np.int8], service: int,
                      flexible: bool = False) -> tuple[int, int, bool, int | None]:
    """``(cover_start, gap_months, gap_backpaid, paid_through)`` as month indices (module doc).

    ``first`` is the index of ``state[0]``; ``service`` the service month's index.
    ``paid_through`` is None when cover runs through the service month.
    """
    del flexible  # the same derivation for every category; the rule reads it
    st = state.copy()
    # back-paid months before the first current month: the first spell, nothing interrupted
    cur = np.flatnonzero(st == CURRENT)
    paid_any = np.flatnonzero(st != LAPSED)
    if paid_any.size == 0:
        return service + 1, -1, False, None  # never paid: cover has not started
    lead_end = int(cur[0]) if cur.size else st.size
    lead = st[:lead_end]
    lead[lead == BACK_PAID] = CURRENT
    # lapsed months before the first paid month are not a gap: cover starts when payment does
    begin = int(np.flatnonzero(st != LAPSED)[0])
    st = st[begin:]
    first += begin
    runs = _runs(st)
    s = service - first
    if s < 0:  # before cover ever started
        return first, -1, False, None

    def gap_before(k: int) -> tuple[int, bool]:
        if k == 0:
            return -1, False
        a, b, _ = runs[k - 1]
        return b - a + 1, bool(np.all(st[a:b + 1] == BACK_PAID))

    for k, (a, b, spell) in enumerate(runs):
        if not a <= s <= b:
            continue
        if spell:
            gap, backpaid = gap_before(k)
            through = None if b == st.size - 1 else first + b
            return first + a, gap, backpaid, through
        if k + 1 < len(runs):  # a gap followed by a spell
            gap, backpaid = gap_before(k + 1)
            nb = runs[k + 1][1]
            return first + runs[k + 1][0], gap, backpaid, None if nb == st.size - 1 else first + nb
        # a trailing gap: back-paid up to S means cover resumes after the back-paid months
        prefix = st[a:s + 1]
        if bool(np.all(prefix == BACK_PAID)):
            end = a
            while end + 1 < st.size and st[end + 1] == BACK_PAID:
                end += 1
            return first + end + 1, end - a + 1, True, None
        pa, pb, _ = runs[k - 1]  # k > 0: the first run is a spell (leading months made current)
        gap, backpaid = gap_before(k - 1)
        return first + pa, gap, backpaid, first + pb
    # S after the horizon cannot happen (the states run to the as-of month)
    raise InputError("service_month", ym_from_index(service), "就诊月份不能晚于结算日期所在月份",
                     "the service month cannot be after the settlement month")


@dataclass
class Eligibility:
    """Eligibility of one person on a service date, with the rule's row and its explanation."""

    continuity: Continuity
    columns: EligibilityColumns
    explanation: Explanation
    extra_steps: list[Step] = field(default_factory=list)

    @property
    def share_bp(self) -> int:
        return int(self.columns.benefit_share_bp[0])

    @property
    def eligible(self) -> bool:
        return bool(self.columns.eligible[0])

    @property
    def reason(self) -> Reason:
        return Reason(int(self.columns.reason[0]))

    def as_dict(self) -> dict[str, Any]:
        c = self.columns
        return {"eligible": self.eligible, "benefit_share_bp": self.share_bp,
                "reason": self.reason.name,
                "benefit_start_month": ym_from_index(int(c.benefit_start_month[0])),
                "full_benefit_month": ym_from_index(int(c.full_benefit_month[0])),
                "waiting_months": int(c.waiting_months[0]), "continuity": self.continuity.as_dict()}


def _needs_unknown(snap: Snapshot, gap: int, backpaid: bool, flexible: bool) -> bool:
    """Whether the rule, given this gap, would need a waiting figure the region leaves unknown."""
    keys: list[str] = []
    if gap == -1:
        keys.append("eligibility.waiting.flexible_months" if flexible else "eligibility.waiting.unit_months")
    elif gap > 0:
        keys.append("eligibility.backpay_max_gap_months")
        mg = snap["eligibility.backpay_max_gap_months"]
        continuous = mg.known and backpaid and gap <= int(snap.get("eligibility.backpay_max_gap_months"))
        if continuous:  # no wait: the rule reads nothing more
            return not mg.known
        keys.append("eligibility.waiting.after_gap_backpaid_months" if backpaid
                    else "eligibility.waiting.after_gap_months")
    else:
        return False
    keys += ["eligibility.benefit_start", "eligibility.waiting.reduced_share"]
    return any(not snap[k].known for k in keys)


def assess(snap: Snapshot, spans: Sequence[Span], rows: Sequence[MonthRow], service_date: dt.date,
           as_of: dt.date | None = None) -> Eligibility:
    """Eligibility on ``service_date`` from prefetched spans and months (no database access).

    ``snap`` is the region's policy on the service date; ``as_of`` (default the service date)
    is the date payments are counted to. The person must have a span covering the service month
    (the caller checks enrollment and says so in its own words).
    """
    as_of = as_of or service_date
    svc_month = month_of(service_date)
    svc = month_index(svc_month)
    span = next((s for s in sorted(spans, key=lambda s: -s.start_month) if s.covers(svc_month)), None)
    retired = span is not None and span.category == "retiree"
    flexible = span is not None and span.category in FLEXIBLE_CATEGORIES
    steps: list[Step] = []
    if retired:
        assert span is not None
        start, gap, backpaid, through = month_index(span.start_month), 0, False, None
        steps.append(Step("退休人员不缴纳基本医疗保险费，按参保状态享受待遇",
                          "retirees pay no basic contribution: entitled while enrolled",
                          f"retiree enrollment from {_ym(span.start_month)}"))
    else:
        first, state = month_states(spans, rows, as_of)
        start, gap, backpaid, through = continuity_inputs(first, state, svc, flexible)
    established = False
    if gap != 0 and not retired and _needs_unknown(snap, gap, backpaid, flexible):
        mx = snap["eligibility.waiting.max_months"]
        longest = int(snap.get("eligibility.waiting.max_months")) if mx.known else 0
        if through is not None and svc > through:
            # after the last month paid nothing is covered, whatever the wait: the figure is moot
            established = True
            last = _ym(ym_from_index(through))
            steps.append(Step(f"就诊月份晚于最后缴费月份 {last}，等待期长短不影响结论",
                              f"the service month is after the last month paid ({last}): "
                              "the length of any wait does not matter", "-"))
        elif mx.known and svc >= start + longest + 1:
            established = True
            steps.append(Step(
                f"参保自 {_ym(ym_from_index(start))} 起连续，已超过最长等待期 {longest} 个月"
                "（另加次月享受 1 个月），任何等待期均已届满；本地区等待期参数未知也不影响结论",
                f"continuous since {_ym(ym_from_index(start))}, longer than the longest waiting period "
                f"({longest} months, plus one for next-month start): any wait is over, so the "
                "region's unknown waiting figures do not matter",
                f"gap before the spell: {gap} months" if gap > 0 else "first enrolment",
                None, (param_use(snap, "eligibility.waiting.max_months"),)))
    cont = Continuity(svc_month, ym_from_index(start), gap, backpaid, flexible, retired,
                      None if through is None else ym_from_index(through), established)
    cols = assess_eligibility(snap, [svc], [start], [0 if established else gap], [backpaid], [flexible],
                              None if through is None else [through])
    ex = explain_eligibility(snap, cols, 0, svc)
    ex.steps[:0] = [_continuity_step(cont), *steps]
    return Eligibility(cont, cols, ex, steps)


def _ym(yyyymm: int) -> str:
    return f"{yyyymm // 100}-{yyyymm % 100:02d}"


def _continuity_step(c: Continuity) -> Step:
    if c.retired:
        zh, en = "参保状态：退休人员", "status: retiree"
    elif c.gap_months == -1:
        zh = f"首次参保，缴费自 {_ym(c.cover_start)} 起连续"
        en = f"first enrolment, paid from {_ym(c.cover_start)}"
    elif c.gap_months == 0:
        zh, en = f"缴费自 {_ym(c.cover_start)} 起连续", f"paid continuously from {_ym(c.cover_start)}"
    else:
        bp_zh, bp_en = ("已补缴", "back-paid") if c.gap_backpaid else ("未补缴", "not back-paid")
        zh = f"断保 {c.gap_months} 个月（{bp_zh}）后自 {_ym(c.cover_start)} 起恢复缴费"
        en = f"gap of {c.gap_months} months ({bp_en}), paid again from {_ym(c.cover_start)}"
    through = "" if c.paid_through is None else f"; paid through {_ym(c.paid_through)}"
    kind = "flexible worker" if c.flexible else ("retiree" if c.retired else "unit employee")
    return Step(zh, en, f"{kind}{through}")


def load_history(session: Session, region: str, person_id: int) -> tuple[list[Span], list[MonthRow]]:
    """The person's employee-scheme spans and contribution months in ``region`` (two queries)."""
    e = Enrollment
    spans = [Span(i, cat, s, end, st, ro) for i, cat, s, end, st, ro in session.execute(
        select(e.id, e.category, e.start_month, e.end_month, e.status, e.retired_on)
        .where(e.person_id == person_id, e.region_code == region, e.scheme == "employee"))]
    cm = ContributionMonth
    rows = [MonthRow(m, st, due, paid) for m, st, due, paid in session.execute(
        select(cm.month, cm.status, cm.due_date, cm.paid_on)
        .where(cm.person_id == person_id, cm.region_code == region))]
    return spans, rows


def eligibility_on(session: Session, policy: Policy, region: str, person_id: int, service_date: dt.date,
                   as_of: dt.date | None = None) -> Eligibility:
    """Eligibility of ``person_id`` in ``region`` on ``service_date`` (payments counted to ``as_of``)."""
    spans, rows = load_history(session, region, person_id)
    if not any(s.covers(month_of(service_date)) for s in spans):
        raise InputError("person_id", person_id,
                         f"该人员在 {service_date} 未参加本统筹地区（{region}）职工医保",
                         f"the person is not enrolled in the employee scheme of region {region} on "
                         f"{service_date}")
    return assess(policy.at(service_date), spans, rows, service_date, as_of)


@dataclass(frozen=True)
class Interruption:
    """A person whose contributions stopped, or a flexible worker about to lose continuity."""

    person_id: int
    enrollment_id: int
    category: str
    enrollment_status: str
    last_paid_month: int | None  # YYYYMM, None if never paid
    unpaid_months: int  # months after the last paid month up to the as-of month
    kind: str  # interrupted | at_risk
    backpay_months_left: int | None  # months still back-payable before continuity is lost

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("person_id", "enrollment_id", "category",
                                              "enrollment_status", "last_paid_month",
                                              "unpaid_months", "kind", "backpay_months_left")}


def interruptions(session: Session, region: str, as_of_month: int, min_months: int,
                  policy: Policy | None = None, warn_months: int = 1) -> list[Interruption]:
    """Persons of ``region`` whose contributions stopped more than ``min_months`` months ago
    (断保, DOMAIN §8 "interrupted or stopped cover"), and flexible workers whose unpaid months are
    within ``warn_months`` of ``eligibility.backpay_max_gap_months`` (they can still back-pay and
    keep continuity, DOMAIN §5).

    ``as_of_month`` (YYYYMM) is the last month whose contribution is due. Persons counted: the
    latest employee-scheme enrollment in the region is not a retiree's and did not end by
    transfer, retirement or death, and the person is alive. Two queries for the whole region;
    the months are counted with numpy.
    """
    if min_months < 0:
        raise InputError("min_months", min_months, "应为非负整数", "must be a non-negative integer")
    if warn_months < 0:
        raise InputError("warn_months", warn_months, "应为非负整数", "must be a non-negative integer")
    e, cm = Enrollment, ContributionMonth
    last_paid = (select(cm.person_id.label("pid"), func.max(cm.month).label("m"))
                 .where(cm.region_code == region, cm.status == "paid", cm.month <= as_of_month)
                 .group_by(cm.person_id).subquery())
    rows = session.execute(
        select(e.person_id, e.id, e.start_month, e.category, e.status, e.end_reason,
               Person.death_date.is_not(None), func.coalesce(last_paid.c.m, 0))
        .join(Person, Person.id == e.person_id)
        .outerjoin(last_paid, last_paid.c.pid == e.person_id)
        .where(e.region_code == region, e.scheme == "employee", e.start_month <= as_of_month)).all()
    if not rows:
        return []
    cols = list(zip(*rows, strict=True))
    found = classify_interruptions(
        np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.int64),
        np.array(cols[2], dtype=np.int64), np.array(cols[3], dtype=object), np.array(cols[4], dtype=object),
        np.array(cols[5], dtype=object), np.array(cols[6], dtype=bool), np.array(cols[7], dtype=np.int64),
        as_of_month, min_months, backpay_max_gap(policy, as_of_month), warn_months)
    out = [Interruption(*(r[k] for k in ("person_id", "enrollment_id", "category", "enrollment_status",
                                         "last_paid_month", "unpaid_months", "kind",
                                         "backpay_months_left")))
           for r in found.iter_rows(named=True)]
    out.sort(key=lambda x: (x.kind, -x.unpaid_months, x.person_id))
    return out


def backpay_max_gap(policy: Policy | None, as_of_month: int) -> int | None:
    """``eligibility.backpay_max_gap_months`` in force at the end of ``as_of_month`` (None: unknown)."""
    if policy is None:
        return None
    snap = policy.at(_last_day(as_of_month))
    if not snap["eligibility.backpay_max_gap_months"].known:
        return None
    return int(snap.get("eligibility.backpay_max_gap_months"))


def classify_interruptions(person_id: npt.NDArray[np.int64], enrollment_id: npt.NDArray[np.int64],
                           start_month: npt.NDArray[np.int64], category: npt.NDArray[Any],
                           status: npt.NDArray[Any], end_reason: npt.NDArray[Any],
                           dead: npt.NDArray[np.bool_], last_paid_month: npt.NDArray[np.int64],
                           as_of_month: int, min_months: int, max_gap: int | None,
                           warn_months: int = 1) -> pl.DataFrame:
    """The rule of :func:`interruptions` on columns, one entry per employee-scheme enrollment.

    Each person's latest enrollment (by ``start_month``) is judged; ``last_paid_month`` is the
    person's last paid month (0 if never paid), ``max_gap`` the back-payable gap (None: unknown).
    Returns one row per person found: ``person_id``, ``enrollment_id``, ``category``,
    ``enrollment_status``, ``last_paid_month`` (null if never paid), ``unpaid_months``, ``kind``
    (``interrupted`` / ``at_risk``) and ``backpay_months_left`` (null if ``max_gap`` is unknown).
    Precise enrollment's worklists call it on the register export (yibao.match.worklists).
    """
    import polars as pl

    if min_months < 0:
        raise InputError("min_months", min_months, "应为非负整数", "must be a non-negative integer")
    if warn_months < 0:
        raise InputError("warn_months", warn_months, "应为非负整数", "must be a non-negative integer")
    pid = np.asarray(person_id, dtype=np.int64)
    start = np.asarray(start_month, dtype=np.int64)
    order = np.lexsort((start, pid))  # the latest enrollment of each person: its last row
    latest = order[np.r_[pid[order][1:] != pid[order][:-1], True]] if pid.size else order
    cat = np.asarray(category, dtype=object)[latest]
    st_ = np.asarray(status, dtype=object)[latest]
    reason = np.asarray(end_reason, dtype=object)[latest]
    gone = np.asarray(dead, dtype=bool)[latest]
    lp = np.asarray(last_paid_month, dtype=np.int64)[latest]
    st = start[latest]
    st_idx = (st // 100) * 12 + st % 100 - 1
    lp_idx = np.where(lp > 0, (lp // 100) * 12 + lp % 100 - 1, st_idx - 1)
    unpaid = month_index(as_of_month) - lp_idx
    counted = (cat != "retiree") & ~np.isin(reason, _NOT_INTERRUPTED) & ~gone
    interrupted = counted & (unpaid > min_months)
    left = np.full(latest.size, -1, dtype=np.int64) if max_gap is None else max_gap - unpaid + 1
    at_risk = (counted & ~interrupted & np.isin(cat, FLEXIBLE_CATEGORIES) & (st_ == "active")
               & (unpaid >= 1) & (left >= 1) & (left <= warn_months))
    pick = np.flatnonzero(interrupted | at_risk)
    return pl.DataFrame({
        "person_id": pid[latest[pick]],
        "enrollment_id": np.asarray(enrollment_id, dtype=np.int64)[latest[pick]],
        "category": pl.Series(cat[pick].tolist(), dtype=pl.String),
        "enrollment_status": pl.Series(st_[pick].tolist(), dtype=pl.String),
        "last_paid_month": pl.Series(np.where(lp[pick] > 0, lp[pick], -1)).replace(-1, None).cast(pl.Int64),
        "unpaid_months": unpaid[pick].astype(np.int64),
        "kind": pl.Series(np.where(interrupted[pick], "interrupted", "at_risk"), dtype=pl.String),
        "backpay_months_left": (pl.Series([None] * pick.size, dtype=pl.Int64) if max_gap is None
                                else pl.Series(np.maximum(left[pick], 0), dtype=pl.Int64))})


def _last_day(yyyymm: int) -> dt.date:
    nxt = add_months(yyyymm, 1)
    return dt.date(nxt // 100, nxt % 100, 1) - dt.timedelta(days=1)
