"""Eligibility at the smallest reduced share and with next-month start at a reduced share
(mutation testing of rules/eligibility.py; complements tests/test_eligibility_mutation.py).

Region: the Fujian fixture (福建省医疗保障局 2024-07, high) with the hypothetical new-enrolment
waits of tests/test_eligibility_mutation.py; every expected figure is computed by us from
DOMAIN.md §5 (a reduced share pays from the month benefits start; 当月缴费次月享受 shifts it).
"""

from __future__ import annotations

from pathlib import Path

from test_eligibility_mutation import JUNE, snap
from yibao.rules.eligibility import Reason, assess_eligibility


def test_a_reduced_share_of_one_basis_point_still_pays_during_the_wait(tmp_path: Path) -> None:
    """reduced_share 0.01%: a new unit employee (1-month wait) is entitled in June at 1 bp, so
    benefits start in June, not in July when the wait ends."""
    c = assess_eligibility(snap(tmp_path, "same_month", "0.01%"), [JUNE, JUNE + 1], [JUNE] * 2,
                           [-1] * 2, [False] * 2, [False] * 2)
    assert c.benefit_share_bp.tolist() == [1, 10000]
    assert c.eligible.tolist() == [True, True]
    assert c.reason.tolist() == [Reason.waiting_reduced, Reason.eligible]
    assert c.benefit_start_month.tolist() == [JUNE, JUNE]
    assert c.full_benefit_month.tolist() == [JUNE + 1] * 2


def test_next_month_start_with_a_reduced_share(tmp_path: Path) -> None:
    """当月缴费次月享受 at 50%: cover from June, unit wait 1 → nothing in June, 50% in July (benefits
    start in July), full from August."""
    c = assess_eligibility(snap(tmp_path, "next_month", "50%"), [JUNE, JUNE + 1, JUNE + 2],
                           [JUNE] * 3, [-1] * 3, [False] * 3, [False] * 3)
    assert c.benefit_start_month.tolist() == [JUNE + 1] * 3
    assert c.full_benefit_month.tolist() == [JUNE + 2] * 3
    assert c.benefit_share_bp.tolist() == [0, 5000, 10000]
    assert c.reason.tolist() == [Reason.not_covered, Reason.waiting_reduced, Reason.eligible]
