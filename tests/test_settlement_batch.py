"""The columnar batch API: input checks inside the kernel, errors named, buffers reused."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from yibao.errors import InputError
from yibao.policy.registry import Registry
from yibao.rules.settlement import (
    Accumulators,
    ClaimColumns,
    compile_settlement_table,
    settle_batch,
    year_key,
)
from yibao.rules.settlement_kernel import OUT_COLUMNS, OUT_DTYPE

POL = Registry().policy("beijing")
DAY = dt.date(2024, 3, 1)
TABLE = compile_settlement_table([POL.at(DAY)])


def cols(n: int, **over: object) -> ClaimColumns:
    base: dict[str, object] = dict(
        psn=np.arange(n) % 2, param=np.zeros(n), year=np.full(n, year_key(POL, DAY)),
        kind=np.zeros(n), benefit_class=np.zeros(n), level=np.full(n, 4), remote=np.zeros(n),
        share_bp=np.full(n, 10_000), total=np.full(n, 5_000_000), full_self_pay=np.zeros(n),
        over_limit=np.zeros(n), preselfpay=np.zeros(n), account_balance=np.zeros(n),
        mulaid_balance=np.zeros(n))
    base.update(over)
    return ClaimColumns(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("column", "value", "field"), [
    ("total", -1, "total[1]"),
    ("account_balance", -5, "account_balance[1]"),
    ("total", 10**11, "total[1]"),
    ("share_bp", 12_000, "benefit_share_bp[1]"),
    ("level", 9, "row 1"),
    ("psn", 7, "row 1"),
])
def test_bad_rows_are_skipped_and_named(column: str, value: int, field: str) -> None:
    c = cols(3)
    getattr(c, column)[1] = value
    acc = Accumulators.zeros(2)
    res = settle_batch(c, TABLE, acc)
    assert res.status[1] != 0 and res.status[0] == 0 and res.status[2] == 0
    assert not any(res.row(1)[c] for c in OUT_COLUMNS if c != "status")
    with pytest.raises(InputError) as err:
        res.raise_first_error(TABLE, c)
    assert field in err.value.en and "字段" in err.value.zh


def test_fee_components_above_the_total_are_inconsistent() -> None:
    c = cols(1, full_self_pay=np.full(1, 4_000_000), over_limit=np.full(1, 2_000_000))
    res = settle_batch(c, TABLE, Accumulators.zeros(2))
    with pytest.raises(InputError) as err:
        res.raise_first_error(TABLE, c)
    assert "inscp_scp_amt" in err.value.en


def test_a_reused_output_buffer_gives_the_same_results() -> None:
    """Computed by us from the Beijing bands (PD beijing): 50000 → 42895, then 650 deductible."""
    buf = np.empty(4, dtype=OUT_DTYPE)
    a = settle_batch(cols(4), TABLE, Accumulators.zeros(2), out=buf)
    b = settle_batch(cols(4), TABLE, Accumulators.zeros(2))
    assert a.out is buf and np.array_equal(a.out, b.out)
    assert list(b.hifp_pay[:2]) == [4_289_500, 4_289_500]
    assert list(b.act_pay_dedc) == [130_000, 130_000, 65_000, 65_000]
    with pytest.raises(ValueError):
        settle_batch(cols(4), TABLE, Accumulators.zeros(2), out=np.empty(3, OUT_DTYPE))
    with pytest.raises(ValueError):
        settle_batch(cols(4), TABLE, Accumulators.zeros(2), out=np.empty((4, 12), np.int64))


def test_validate_names_the_field_up_front() -> None:
    c = cols(2)
    c.over_limit[0] = -3
    with pytest.raises(InputError) as err:
        c.validate(TABLE, 2)
    assert "over_limit[0]" in err.value.en
