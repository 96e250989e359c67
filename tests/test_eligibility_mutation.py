"""Eligibility checked month by month around each waiting period, each reason and each input check.

Sources: 福建省医疗保障局 2024-07 (tests/fixtures/rules/fujian.yaml, high): gap not back-paid → 6
months at 50%, gap over 3 months back-paid → 3 months at 50%, waiting runs from the month cover
restarts; 基本医疗保险关系转移接续暂行办法 2021-11: gaps of at most 3 months back-paid keep
continuity. The new-enrolment waits (unit 1, flexible 3 months: seed 000 reports "3/6/9 months")
and next-month start (当月缴费次月享受, seed 000) are hypothetical values in a user file.
Every expected figure is computed by us from those rules.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from yibao.errors import InputError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.eligibility import Reason, assess_eligibility, explain_eligibility, month_index

FIX = Path(__file__).parent / "fixtures" / "rules"
JUNE = month_index(2024, 6)
USER = """
region: {{code: "350001", pinyin: fujian_check, name_zh: 福建（假设等待期）, name_en: Fujian check,
         inherits: fujian, pooling_level: hypothetical, confidence: low}}
sources: {{h: {{title: "hypothetical values for a test", confidence: low}}}}
parameters:
  eligibility.waiting.unit_months: [{{from: 2024-04-19, value: 1, source: h}}]
  eligibility.waiting.flexible_months: [{{from: 2024-04-19, value: 3, source: h}}]
  eligibility.benefit_start: [{{from: 2024-04-19, value: {start}, source: h}}]
  eligibility.waiting.reduced_share: [{{from: 2024-04-19, value: "{share}", source: h}}]
"""


def snap(tmp_path: Path, start: str = "same_month", share: str = "50%") -> Snapshot:
    f = tmp_path / f"e_{start}_{share[:-1]}.yaml"
    f.write_text(USER.format(start=start, share=share), encoding="utf-8")
    return Registry(policy_files=[FIX / "fujian.yaml", f]).policy("fujian_check").at(
        dt.date(2024, 6, 1))


def test_month_index_counts_months_from_year_zero() -> None:
    assert month_index(2024, 1) == 2024 * 12
    assert month_index(2024, 12) == 2024 * 12 + 11


def test_new_unit_employee_and_flexible_worker_wait_1_and_3_months(tmp_path: Path) -> None:
    """Cover from June: a unit employee waits 1 month (full from July), a flexible worker 3 (full
    from September); during the wait 50% (Fujian reduced share)."""
    svc = [JUNE, JUNE + 1, JUNE + 2, JUNE + 3, JUNE - 1]
    c = assess_eligibility(snap(tmp_path), svc, [JUNE] * 5, [-1] * 5, [False] * 5,
                           [False, False, True, True, True])
    assert c.waiting_months.tolist() == [1, 1, 3, 3, 3]
    assert c.full_benefit_month.tolist() == [JUNE + 1, JUNE + 1, JUNE + 3, JUNE + 3, JUNE + 3]
    assert c.benefit_start_month.tolist() == [JUNE] * 5
    assert c.benefit_share_bp.tolist() == [5000, 10000, 5000, 10000, 0]
    assert c.reason.tolist() == [Reason.waiting_reduced, Reason.eligible, Reason.waiting_reduced,
                                 Reason.eligible, Reason.not_covered]
    assert c.eligible.tolist() == [True, True, True, True, False]
    assert c.reason.dtype == np.int8 and c.benefit_share_bp.dtype == np.int64
    assert c.keys == ("eligibility.waiting.unit_months", "eligibility.waiting.flexible_months",
                      "eligibility.benefit_start", "eligibility.waiting.reduced_share")


def test_next_month_start_and_no_reduced_share(tmp_path: Path) -> None:
    """当月缴费次月享受 with no reduced share: cover from June, unit wait 1 → nothing in June or
    July (waiting), full from August; benefits start with full benefits."""
    c = assess_eligibility(snap(tmp_path, "next_month", "0%"), [JUNE, JUNE + 1, JUNE + 2],
                           [JUNE] * 3, [-1] * 3, [False] * 3, [False] * 3)
    assert c.full_benefit_month.tolist() == [JUNE + 2] * 3
    assert c.benefit_start_month.tolist() == [JUNE + 2] * 3
    assert c.benefit_share_bp.tolist() == [0, 0, 10000]
    assert c.reason.tolist() == [Reason.not_covered, Reason.waiting, Reason.eligible]


def test_gaps_of_3_and_4_months_back_paid_or_not(tmp_path: Path) -> None:
    """Resume in June. A 3-month gap back-paid: continuous, March–May covered retroactively, February
    not; a 4-month gap back-paid waits 3 months at 50%; a 3-month gap not back-paid waits 6
    months, and its gap months are reported as not back-paid."""
    s = snap(tmp_path)
    svc = [JUNE - 3, JUNE - 4, JUNE, JUNE, JUNE + 3, JUNE - 1, JUNE + 5, JUNE + 6]
    gap = [3, 3, 3, 4, 4, 3, 3, 3]
    paid = [True, True, True, True, True, False, False, False]
    c = assess_eligibility(s, svc, [JUNE] * 8, gap, paid, [False] * 8)
    assert c.waiting_months.tolist() == [0, 0, 0, 3, 3, 6, 6, 6]
    assert c.benefit_share_bp.tolist() == [10000, 0, 10000, 5000, 10000, 0, 5000, 10000]
    assert c.reason.tolist() == [Reason.retroactive_backpaid, Reason.not_covered, Reason.eligible,
                                 Reason.waiting_reduced, Reason.eligible, Reason.gap_not_backpaid,
                                 Reason.waiting_reduced, Reason.eligible]
    assert c.keys == ("eligibility.backpay_max_gap_months",
                      "eligibility.waiting.after_gap_backpaid_months",
                      "eligibility.waiting.after_gap_months", "eligibility.benefit_start",
                      "eligibility.waiting.reduced_share")


def test_no_gap_needs_no_parameter_and_months_after_the_last_paid_are_not_covered(
        tmp_path: Path) -> None:
    c = assess_eligibility(snap(tmp_path), [JUNE, JUNE + 1], [JUNE - 12] * 2, [0, 0], [False] * 2,
                           [False] * 2, paid_through=[JUNE, JUNE])
    assert c.keys == ()
    assert c.benefit_share_bp.tolist() == [10000, 0]
    assert c.reason.tolist() == [Reason.eligible, Reason.not_covered]


@pytest.mark.parametrize("field", ["cover_start", "gap_months", "paid_through"])
def test_a_column_of_the_wrong_length_is_named(tmp_path: Path, field: str) -> None:
    cols = {"cover_start": [JUNE, JUNE], "gap_months": [0, 0], "paid_through": [JUNE, JUNE]}
    cols[field] = [JUNE]
    with pytest.raises(InputError) as err:
        assess_eligibility(snap(tmp_path), [JUNE, JUNE], cols["cover_start"], cols["gap_months"],
                           [False] * 2, [False] * 2, paid_through=cols["paid_through"])
    assert err.value.zh.startswith(f"字段 {field} 的值 (1,) 无效：长度应为 2")
    assert err.value.en == f"field {field}: invalid value (1,): expected length 2"


def test_gap_below_minus_1_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        assess_eligibility(snap(tmp_path), [JUNE], [JUNE], [-2], [False], [False])
    assert err.value.zh == "字段 gap_months 的值 -2 无效：应为 -1（首次参保）、0 或断保月数"
    assert err.value.en == ("field gap_months: invalid value -2: expected -1 (first enrolment), "
                            "0 or the months of the gap")


def test_the_explanation_gives_the_wait_the_dates_and_the_result(tmp_path: Path) -> None:
    s = snap(tmp_path)
    c = assess_eligibility(s, [JUNE + 2], [JUNE], [4], [True], [False])
    en = explain_eligibility(s, c, 0, JUNE + 2).render("en").splitlines()
    zh = explain_eligibility(s, c, 0, JUNE + 2).render("zh").splitlines()
    assert en[0] == "Fujian check entitlement in 2024-08"
    assert en[1] == "1. waiting period of 3 months: benefits from 2024-06, full from 2024-09"
    assert en[-1] == "2. result: in a waiting period at a reduced share: share 50%"
    assert zh[0] == "福建（假设等待期） 2024-08 待遇资格"
    assert zh[1] == "1. 等待期 3 个月: benefits from 2024-06, full from 2024-09"
    assert zh[-1] == "2. 结论：等待期内，按比例享受待遇: share 50%"
    dec = explain_eligibility(s, c, 0, month_index(2024, 12)).render("en").splitlines()[0]
    assert dec == "Fujian check entitlement in 2024-12"
