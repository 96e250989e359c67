"""Integer rounding for numba kernels: the same rules as :func:`yibao.money.round_div`.

``money.round_div`` works on Python ints and numpy arrays; numba needs a scalar function it can
compile. Modes: 0 half_up (四舍五入), 1 up (见分进角 style), 2 down; negative amounts round
symmetrically so reversals undo their originals exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit

__all__ = ["rdiv"]


def _rdiv_py(num: int, den: int, mode: int) -> int:
    sign = 1
    # `num <= 0` / `num < 1` are equivalent mutants: zero's sign does not matter (−0 == 0)
    if num < 0:  # pragma: no mutate
        sign = -1
        num = -num
    if mode == 0:
        q = (2 * num + den) // (2 * den)
    elif mode == 1:
        q = (num + den - 1) // den
    else:
        q = num // den
    return sign * q


rdiv: Callable[..., Any] = njit(cache=True, inline="always")(_rdiv_py)
