"""``rules._kernels.rdiv``: the kernels' integer rounding, checked directly (mutation testing).

The rule is ``settlement.rounding`` (DOMAIN.md §4.1, Rounding in yibao.money): an amount of
``num / den`` fen is rounded half up (四舍五入, mode 0), up (mode 1) or down (mode 2), and a negative
amount (a reversal) rounds symmetrically so that it undoes its original exactly. Every expected
value below is computed by us from that rule.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.money import round_div
from yibao.rules._kernels import rdiv

HALF_UP, UP, DOWN = 0, 1, 2


@pytest.mark.parametrize(("num", "den", "want"), [
    (0, 10, 0), (4, 10, 0), (5, 10, 1), (6, 10, 1), (14, 10, 1), (15, 10, 2), (25, 10, 3),
    (1, 3, 0), (2, 3, 1), (3, 3, 1), (4, 3, 1), (5, 3, 2),
    (9_999, 20_000, 0), (10_000, 20_000, 1),  # half a fen of 85% × 1 fen: the threshold
    (-4, 10, 0), (-5, 10, -1), (-15, 10, -2), (-2, 3, -1),
])
def test_half_up_rounds_half_a_unit_away_from_zero(num: int, den: int, want: int) -> None:
    assert rdiv(num, den, HALF_UP) == want


@pytest.mark.parametrize(("num", "den", "want"), [
    (0, 10, 0), (1, 10, 1), (9, 10, 1), (10, 10, 1), (11, 10, 2), (19, 10, 2), (20, 10, 2),
    (1, 1, 1), (7, 1, 7), (-1, 10, -1), (-10, 10, -1), (-11, 10, -2),
])
def test_up_rounds_any_remainder_away_from_zero(num: int, den: int, want: int) -> None:
    assert rdiv(num, den, UP) == want


@pytest.mark.parametrize(("num", "den", "want"), [
    (0, 10, 0), (9, 10, 0), (10, 10, 1), (19, 10, 1), (20, 10, 2), (-9, 10, 0), (-19, 10, -1),
    (-20, 10, -2),
])
def test_down_drops_the_remainder_towards_zero(num: int, den: int, want: int) -> None:
    assert rdiv(num, den, DOWN) == want


@settings(max_examples=60, deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(1, 10**8), st.sampled_from([HALF_UP, UP, DOWN]))
def test_rdiv_is_money_round_div_and_reversals_undo_originals(num: int, den: int,
                                                              mode: int) -> None:
    """The kernel rule equals ``money.round_div`` (one rule, two implementations) and is odd."""
    got = rdiv(num, den, mode)
    assert got == round_div(num, den, mode)
    assert rdiv(-num, den, mode) == -got
    # the rounded quotient is within one unit of the exact one, on the side the mode says
    assert abs(got * den - num) < den
