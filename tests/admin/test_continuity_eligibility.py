"""Continuity: the eligibility rule's inputs derived from contribution months (DOMAIN §5).

Months paid by their due date (or not yet due) are a spell; months paid after it were back-paid
(补缴); a gap is the run of back-paid or unpaid months between spells. The rule itself is
yibao.rules.eligibility (its own tests cite the sources); these tests check the derivation and
the call, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_claims_support import (
    add_wait_regions,
    contribution,
    enroll,
    months,
    person,
    wait_registry,
)

from yibao.admin.claims import policy_for
from yibao.admin.continuity import (
    BACK_PAID,
    CURRENT,
    LAPSED,
    MonthRow,
    Span,
    assess,
    continuity_inputs,
    eligibility_on,
    interruptions,
    month_states,
)
from yibao.admin.uow import run
from yibao.db.base import month_index
from yibao.errors import InputError
from yibao.rules.eligibility import Reason

C, B, L = CURRENT, BACK_PAID, LAPSED
M0 = month_index(202301)


def inputs(states: list[int], service: int) -> tuple[int, int, bool, int | None]:
    """continuity_inputs over states starting 2023-01, with months as offsets from 2023-01."""
    start, gap, bp, through = continuity_inputs(M0, np.array(states, dtype=np.int8), M0 + service)
    return start - M0, gap, bp, None if through is None else through - M0


def test_one_spell_is_a_first_enrolment() -> None:
    assert inputs([C] * 12, 11) == (0, -1, False, None)


def test_short_back_paid_gap_before_the_current_spell() -> None:
    """Paid Jan–Jun on time, Jul–Aug after the due date, on time from Sep: a 2-month back-paid gap."""
    st = [C] * 6 + [B, B] + [C] * 4
    assert inputs(st, 10) == (8, 2, True, None)
    assert inputs(st, 6) == (8, 2, True, None)  # service in the gap: the rule decides (retroactive)


def test_unpaid_gap_is_not_back_paid() -> None:
    st = [C] * 3 + [L, B, L] + [C] * 3
    assert inputs(st, 7) == (6, 3, False, None)


def test_service_after_the_last_spell_is_outside_the_period_paid() -> None:
    st = [C] * 4 + [L] * 3
    assert inputs(st, 6) == (0, -1, False, 3)
    st = [C] * 4 + [L] + [B, B]  # back-paid after an unpaid month: the gap is not back-paid
    assert inputs(st, 6) == (0, -1, False, 3)


def test_trailing_back_paid_months_resume_cover_after_them() -> None:
    """Months paid late with no on-time month after them yet: cover resumes after them."""
    st = [C] * 4 + [B, B]
    assert inputs(st, 5) == (6, 2, True, None)


def test_back_paid_months_at_the_start_belong_to_the_first_spell() -> None:
    """Nothing to interrupt before the first on-time month: a late first payment is no gap."""
    assert inputs([B, B] + [C] * 3, 4) == (0, -1, False, None)
    assert inputs([L, L] + [C] * 3, 4) == (2, -1, False, None)  # cover starts when payment does


def test_never_paid_has_no_cover() -> None:
    start, gap, _, _ = inputs([L, L, L], 2)
    assert start == 3 and gap == -1


def test_month_states_not_yet_due_and_not_yet_assessed_are_current() -> None:
    """A month not yet due on the as-of date, or inside the enrollment but not yet assessed,
    is not in arrears."""
    spans = [Span(1, "in_service", 202301, None)]
    rows = [MonthRow(202301, "paid", dt.date(2023, 2, 15), dt.date(2023, 2, 10)),
            MonthRow(202302, "paid", dt.date(2023, 3, 15), dt.date(2023, 4, 1)),
            MonthRow(202303, "due", dt.date(2023, 4, 15), None),
            MonthRow(202304, "due", dt.date(2023, 5, 15), None)]
    first, st = month_states(spans, rows, dt.date(2023, 5, 1))
    assert first == month_index(202301)
    assert list(st) == [C, B, L, C, C]  # March overdue on 1 May; April not yet due; May unassessed


def test_two_rows_in_a_month_count_as_the_better() -> None:
    spans = [Span(1, "in_service", 202301, None)]
    rows = [MonthRow(202301, "due", dt.date(2023, 2, 15), None),
            MonthRow(202301, "paid", dt.date(2023, 2, 15), dt.date(2023, 2, 1))]
    _, st = month_states(spans, rows, dt.date(2023, 3, 31))
    assert list(st[:1]) == [C]


def _setup_history(engine: Engine, region: str = "110000", category: str = "in_service",
                   late: tuple[int, ...] = (), unpaid: tuple[int, ...] = (), start: int = 202001,
                   last: int = 202405, late_paid_on: dt.date | None = None) -> int:
    def step(s: Session) -> int:
        if region.startswith("99"):
            add_wait_regions(s)
        p = person(s)
        e = enroll(s, p, region, category, start=start)
        ms = months(start, last)
        contribution(s, e, [m for m in ms if m not in late and m not in unpaid])
        if late_paid_on is not None:
            contribution(s, e, [m for m in ms if m in late], paid_on=late_paid_on)
        else:
            contribution(s, e, [m for m in ms if m in late], late_days=40)
        contribution(s, e, [m for m in ms if m in unpaid], status="due")
        return p.id
    return run(engine, step)


def test_beijing_old_spell_is_eligible_although_the_waiting_figures_are_unknown(engine: Engine) -> None:
    """Beijing's file leaves the waiting periods unknown; a spell of four years has served any
    wait (seed 000: the longest regional wait is 12 months), and the explanation says so."""
    pid = _setup_history(engine)
    with Session(engine) as s:
        el = eligibility_on(s, policy_for("beijing"), "110000", pid, dt.date(2024, 3, 15))
    assert el.eligible and el.share_bp == 10_000 and el.reason is Reason.eligible
    assert el.continuity.established and el.continuity.gap_months == -1
    assert "eligibility.waiting.max_months" in el.explanation.render("en")


def test_beijing_short_back_paid_gap_is_covered_retroactively(engine: Engine) -> None:
    """2021-11 national transfer rules (PD national_rules): a gap of at most 3 months, back-paid,
    keeps continuity and the gap is covered retroactively."""
    pid = _setup_history(engine, late=(202310, 202311))
    with Session(engine) as s:
        el = eligibility_on(s, policy_for("beijing"), "110000", pid, dt.date(2023, 11, 20),
                            as_of=dt.date(2024, 6, 1))
    assert el.reason is Reason.retroactive_backpaid and el.share_bp == 10_000
    assert el.continuity.gap_months == 2 and el.continuity.gap_backpaid


def test_fujian_long_back_paid_gap_waits_three_months_at_half(engine: Engine, tmp_path: Path) -> None:
    """Fujian (PD, high): a gap over 3 months, back-paid, gives a 3-month wait at 50%, counted
    from the month cover restarts: January–April back-paid on 5 June together with May's
    contribution (on time, due 15 June), so May, June and July pay half and August is full."""
    reg = wait_registry(tmp_path)
    gap = (202401, 202402, 202403, 202404)
    pid = _setup_history(engine, "990201", late=gap, last=202410, late_paid_on=dt.date(2024, 6, 5))
    pol = policy_for("bj_fujian_wait", reg)
    with Session(engine) as s:
        shares = [eligibility_on(s, pol, "990201", pid, d).share_bp
                  for d in (dt.date(2024, 6, 10), dt.date(2024, 7, 31), dt.date(2024, 8, 1))]
        el = eligibility_on(s, pol, "990201", pid, dt.date(2024, 6, 10))
    assert el.continuity.cover_start == 202405 and el.continuity.gap_months == 4
    assert el.reason is Reason.waiting_reduced and "ybj.fj.gov.cn" in el.explanation.render("en")
    assert shares == [5000, 5000, 10_000]


def test_not_enrolled_on_the_service_date_is_a_named_error(engine: Engine) -> None:
    pid = _setup_history(engine, start=202301)
    with Session(engine) as s, pytest.raises(InputError) as err:
        eligibility_on(s, policy_for("beijing"), "110000", pid, dt.date(2022, 6, 1))
    assert err.value.field == "person_id" and "not enrolled" in err.value.en and "未参加" in err.value.zh


def test_retiree_is_eligible_without_monthly_contributions(engine: Engine) -> None:
    """Retirees pay no basic contribution (DOMAIN §1): enrolled means entitled."""
    def step(s: Session) -> int:
        p = person(s, birth=dt.date(1955, 1, 1))
        enroll(s, p, category="retiree", start=202001, retired_on=dt.date(2019, 12, 31))
        return p.id
    pid = run(engine, step)
    with Session(engine) as s:
        el = eligibility_on(s, policy_for("beijing"), "110000", pid, dt.date(2020, 1, 20))
    assert el.eligible and el.continuity.retired


def test_assess_after_the_last_month_paid_is_not_covered_even_with_unknown_waits() -> None:
    """Beijing: paid 2023-01..2023-06 only; a claim in 2023-10 is outside the period paid, whatever
    the (unknown) waiting period would have been."""
    snap = policy_for("beijing").at(dt.date(2023, 10, 5))
    spans = [Span(1, "in_service", 202301, 202306, "ended")]
    rows = [MonthRow(m, "paid", dt.date(2023, 1, 1), dt.date(2023, 1, 1)) for m in months(202301, 202306)]
    el = assess(snap, spans, rows, dt.date(2023, 10, 5))
    assert not el.eligible and el.reason is Reason.not_covered


def test_interruptions_and_flexible_workers_at_risk(engine: Engine) -> None:
    """断保 worklist (DOMAIN §8): contributions stopped more than 3 months before 2024-06; and
    flexible workers whose 3 unpaid months are the most that back-payment keeps continuous
    (eligibility.backpay_max_gap_months, 2021-11 national transfer rules)."""
    def step(s: Session) -> dict[str, int]:
        ids = {}
        for name, cat, last, extra in (
            ("current", "in_service", 202406, {}), ("stopped", "in_service", 202401, {}),
            ("flex_risk", "flexible", 202403, {}), ("flex_ok", "flexible", 202405, {}),
            ("retiree", "retiree", None, {"retired_on": dt.date(2019, 1, 1)}),
            ("moved", "in_service", 202312, {"end": 202312, "status": "ended", "end_reason": "transfer_out"}),
            ("left", "in_service", 202307, {"end": 202307, "status": "ended", "end_reason": "left_job"}),
        ):
            p = person(s)
            e = enroll(s, p, category=cat, start=202301, **extra)  # type: ignore[arg-type]
            if last is not None:
                contribution(s, e, months(202301, last))
            ids[name] = p.id
        return ids
    ids = run(engine, step)
    with Session(engine) as s:
        rows = interruptions(s, "110000", 202406, 3, policy=policy_for("beijing"))
    got = {r.person_id: r for r in rows}
    assert set(got) == {ids["stopped"], ids["flex_risk"], ids["left"]}
    assert got[ids["stopped"]].kind == "interrupted" and got[ids["stopped"]].unpaid_months == 5
    assert got[ids["left"]].unpaid_months == 11 and got[ids["left"]].last_paid_month == 202307
    risk = got[ids["flex_risk"]]
    assert risk.kind == "at_risk" and risk.unpaid_months == 3 and risk.backpay_months_left == 1


def test_interruptions_refuses_a_negative_threshold(engine: Engine) -> None:
    with Session(engine) as s, pytest.raises(InputError) as err:
        interruptions(s, "110000", 202406, -1)
    assert err.value.field == "min_months"
