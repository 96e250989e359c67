"""Compiling policy snapshots into the settlement kernel's arrays and plan (mutation testing).

Expected cells are read from the policy files by us: tests/fixtures/settlement/params_cells.yaml
(a hypothetical region, not policy: eight bands, a class with unknown ratios, unknown flags) and
Beijing (PD beijing, http://banzhengshi.com/shebao/695593.html, 京医保发〔2019〕14号).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.registry import Registry
from yibao.rules.settlement_params import (
    ACCOUNT_PARTS,
    MAX_BANDS,
    N_CLASSES,
    N_LEVELS,
    N_REMOTE,
    NO_LIMIT,
    P_BB,
    P_CAP,
    P_CB,
    P_CEIL,
    P_DED,
    P_FIELDS,
    P_LB,
    P_LC,
    P_LR,
    P_MASK,
    P_MODE,
    P_NB,
    P_POOL,
    P_RATIO,
    P_RED,
    P_SCOPE,
    P_UNIT,
    P_UPTO,
    UNKNOWN_CELL,
    SettlementTable,
    build_plan,
    compile_settlement_table,
    plan_row,
)

FIX = Path(__file__).parent / "fixtures" / "settlement" / "params_cells.yaml"
REG = Registry(policy_files=[FIX])
CELLS = REG.policy("params_cells")
BJ = REG.policy("beijing")
C, L = N_CLASSES, N_LEVELS
IN_SERVICE, RETIRED = BENEFIT_CLASSES.index("in_service"), BENEFIT_CLASSES.index("retired")
L1, L3 = LEVELS.index("level_1"), LEVELS.index("level_3")


@pytest.fixture(scope="module")
def table() -> SettlementTable:
    """Snapshot 0: the fixture in 2020 (eight bands); 1: Beijing 2022; 2: Beijing 2024."""
    return compile_settlement_table([CELLS.at(dt.date(2020, 6, 1)), BJ.at(dt.date(2022, 6, 1)),
                                     BJ.at(dt.date(2024, 6, 1))])


def test_every_array_has_its_documented_shape_and_int64(table: SettlementTable) -> None:
    k = 3
    shapes = {
        "ded_scope": (k, 2), "deductible": (k, 2, 3, C, L), "n_bands": (k, 2),
        "band_upto": (k, 2, MAX_BANDS), "band_ratio": (k, 2, MAX_BANDS, C, L),
        "band_basis": (k, 2), "ceiling": (k, 2, C), "ceiling_basis": (k, 2), "shared": (k, 2),
        "large_ratio": (k, 2, C), "large_ceiling": (k, 2, C), "large_basis": (k, 2),
        "account_mask": (k,), "oop_cap": (k,), "round_unit": (k,), "round_mode": (k,),
        "remote_reduction": (k, 3), "category_b_bp": (k,)}
    for name, shape in shapes.items():
        arr = getattr(table, name)
        assert (name, arr.shape, arr.dtype) == (name, shape, np.dtype(np.int64))
    assert table.size == 3 and len(table.snapshots) == 3


def test_kernel_args_are_the_arrays_without_snapshots_and_category_b(table: SettlementTable
                                                                     ) -> None:
    args = table.kernel_args()
    names = ["ded_scope", "deductible", "n_bands", "band_upto", "band_ratio", "band_basis",
             "ceiling", "ceiling_basis", "shared", "large_ratio", "large_ceiling", "large_basis",
             "account_mask", "oop_cap", "round_unit", "round_mode", "remote_reduction"]
    assert len(args) == len(names)
    assert all(a is getattr(table, n) for a, n in zip(args, names, strict=True))


def test_fixture_cells_in_fen_and_bp(table: SettlementTable) -> None:
    """params_cells.yaml: deductible 100 (level_1) / 300 (level_3) in service, 50 retired; the
    2nd 20, 3rd+ 10; eight bands 51%..58% (level_1's last band 90%), the retirees' unknown."""
    d = table.deductible[0, 0]
    assert (d[0, IN_SERVICE, L1], d[0, IN_SERVICE, L3], d[0, RETIRED, L3]) == (10_000, 30_000, 5000)
    assert d[0, IN_SERVICE, LEVELS.index("pharmacy")] == UNKNOWN_CELL  # no value, no fallback
    assert (d[1, RETIRED, L1], d[2, IN_SERVICE, L3]) == (2000, 1000)
    assert table.n_bands[0].tolist() == [8, 1]
    assert table.band_upto[0, 0].tolist() == [100_000 * b for b in range(1, 8)] + [NO_LIMIT]
    assert table.band_ratio[0, 0, :, IN_SERVICE, L3].tolist() == [5100 + 100 * b
                                                                  for b in range(8)]
    assert table.band_ratio[0, 0, 7, IN_SERVICE, L1] == 9000
    assert (table.band_ratio[0, 0, :, RETIRED, :] == UNKNOWN_CELL).all()  # the class unknown
    assert (table.band_ratio[0, 1, 1:] == UNKNOWN_CELL).all()  # one outpatient band only
    assert table.ded_scope[0].tolist() == [0, UNKNOWN_CELL]  # per_admission; unknown
    assert table.band_basis[0].tolist() == [1, UNKNOWN_CELL]  # fund_payment; unknown
    assert table.ceiling_basis[0].tolist() == [0, 1]  # cost; fund_payment
    assert table.large_basis[0].tolist() == [0, UNKNOWN_CELL]
    assert table.ceiling[0, 0, IN_SERVICE] == 6_000_000 and table.ceiling[0, 0, RETIRED] == NO_LIMIT
    assert table.large_ratio[0, 0, [IN_SERVICE, RETIRED]].tolist() == [7000, 7500]
    assert table.large_ceiling[0, 0, [IN_SERVICE, RETIRED]].tolist() == [20_000_000, NO_LIMIT]
    assert table.oop_cap.tolist() == [800_000, NO_LIMIT, NO_LIMIT]
    assert (table.round_unit[0], table.round_mode[0]) == (100, 2)  # yuan, down
    assert table.remote_reduction[0].tolist() == [0, 500, UNKNOWN_CELL]
    assert table.category_b_bp[0] == 1250


def test_shared_ceiling_flag(table: SettlementTable) -> None:
    """Only outpatient care can join the inpatient pool: the fixture's inpatient flag (true) is
    ignored, its outpatient flag is unknown; Beijing shares nothing (national default false)."""
    assert table.shared[0].tolist() == [0, UNKNOWN_CELL]
    assert table.shared[1].tolist() == [0, 0]


def test_account_mask_bits_over_account_parts() -> None:
    """national.yaml account_pays [deductible, coinsurance, preselfpay] → bits 0,1,2 = 7; the
    fixture: unknown in 2020, [coinsurance, over_limit] from 2021 → bits 1 and 4 = 18."""
    t = compile_settlement_table([BJ.at(dt.date(2024, 1, 1)), CELLS.at(dt.date(2020, 6, 1))])
    assert t.account_mask.tolist() == [7, UNKNOWN_CELL]
    assert ACCOUNT_PARTS.index("over_limit") == 4


def test_beijing_inpatient_cells() -> None:
    """PD beijing: deductible 1300 / 650 / 650; in-service level_3 bands 85/90/95% to 30000,
    40000, 100000 of cost; ceiling 100000 of cost; 大额 85% up to 400000 of cost (京医保发〔2019〕
    14号); account pays the national three parts; fen half up; remote reductions unknown."""
    t = compile_settlement_table([BJ.at(dt.date(2024, 3, 1))])
    assert t.deductible[0, 0, :, IN_SERVICE, L3].tolist() == [130_000, 65_000, 65_000]
    assert t.band_upto[0, 0, :4].tolist() == [3_000_000, 4_000_000, 10_000_000, UNKNOWN_CELL]
    assert t.band_ratio[0, 0, :3, IN_SERVICE, L3].tolist() == [8500, 9000, 9500]
    assert (t.ceiling[0, 0, IN_SERVICE], t.ceiling_basis[0, 0]) == (10_000_000, 0)
    assert (t.large_ratio[0, 0, IN_SERVICE], t.large_ceiling[0, 0, IN_SERVICE]) == (8500, 40_000_000)
    assert (t.round_unit[0], t.round_mode[0]) == (1, 0)
    assert t.remote_reduction[0].tolist() == [0, UNKNOWN_CELL, UNKNOWN_CELL]
    assert t.category_b_bp[0] == UNKNOWN_CELL


def test_eight_bands_compile_and_nine_are_refused() -> None:
    """The kernel takes MAX_BANDS (8) bands; the fixture's 2021 bands have nine."""
    assert MAX_BANDS == 8
    with pytest.raises(ValueError) as err:
        compile_settlement_table([CELLS.at(dt.date(2021, 6, 1))])
    assert str(err.value) == "settlement.inpatient.bands has 9 bands; the kernel takes 8"


def test_an_unknown_band_list_is_minus_one_bands() -> None:
    """national.yaml records the inpatient bands as unknown."""
    t = compile_settlement_table([Registry().policy("national").at(dt.date(2024, 1, 1))])
    assert t.n_bands[0, 0] == UNKNOWN_CELL
    assert (t.band_upto[0, 0] == UNKNOWN_CELL).all()


def test_plan_row_formula() -> None:
    """Rows run by snapshot, kind, class, level, remote (remote fastest)."""
    assert plan_row(0, 0, 0, 0, 0) == 0
    assert plan_row(0, 0, 0, 0, 2) == 2
    assert plan_row(0, 0, 0, 1, 0) == N_REMOTE
    assert plan_row(0, 0, 1, 0, 0) == L * N_REMOTE
    assert plan_row(0, 1, 0, 0, 0) == C * L * N_REMOTE
    assert plan_row(1, 0, 0, 0, 0) == 2 * C * L * N_REMOTE
    assert plan_row(1, 1, C - 1, L - 1, 2) == 4 * C * L * N_REMOTE - 1


def test_plan_rows_hold_each_claims_cells(table: SettlementTable) -> None:
    """Every plan row equals the table's cells for its (snapshot, kind, class, level, remote)."""
    plan = table.plan
    assert plan.shape == (3 * 2 * C * L * N_REMOTE, P_FIELDS) and plan.dtype == np.int64
    assert plan is table.plan  # computed once
    t = table
    for q in range(3):
        for k in range(2):
            for c in range(C):
                for lv in range(L):
                    for rem in range(N_REMOTE):
                        row = plan[plan_row(q, k, c, lv, rem)]
                        pool = 0 if k == 0 else {-1: -1, 0: 1, 1: 0}[int(t.shared[q, 1])]
                        p = max(pool, 0)
                        want = [pool, t.round_unit[q], t.round_mode[q], t.ded_scope[q, k],
                                *t.deductible[q, k, :, c, lv], t.remote_reduction[q, rem],
                                t.n_bands[q, k], t.band_basis[q, k], t.ceiling[q, p, c],
                                t.ceiling_basis[q, p], t.large_ratio[q, k, c],
                                t.large_ceiling[q, k, c], t.large_basis[q, k], t.oop_cap[q],
                                t.account_mask[q], *t.band_upto[q, k],
                                *t.band_ratio[q, k, :, c, lv]]
                        assert row.tolist() == [int(x) for x in want]


def test_plan_cells_a_policy_reader_can_check(table: SettlementTable) -> None:
    """Fixture 2020, outpatient, in service, level_3, registered remote: pool unknown (flag
    unknown; its ceiling cells are the inpatient pool's, 60000 of cost, never read because the
    kernel stops at the pool); 40%; reduction 5 points. Beijing
    2022 outpatient: its own pool (1), ceiling 20000 of fund payment, 70% open band."""
    row = build_plan(table)[plan_row(0, 1, IN_SERVICE, L3, 1)]
    assert [row[f] for f in (P_POOL, P_CEIL, P_CB, P_RED, P_NB, P_BB, P_SCOPE, P_UNIT,
                             P_MODE)] == [UNKNOWN_CELL, 6_000_000, 0, 500, 1, UNKNOWN_CELL,
                                          UNKNOWN_CELL, 100, 2]
    assert row[P_RATIO] == 4000 and row[P_UPTO] == NO_LIMIT
    bj = build_plan(table)[plan_row(1, 1, RETIRED, L1, 0)]
    assert [bj[f] for f in (P_POOL, P_CEIL, P_CB, P_RATIO, P_UPTO, P_DED, P_LR, P_LC, P_LB,
                            P_CAP, P_MASK)] == [1, 2_000_000, 1, 8500, NO_LIMIT, 130_000, 0, 0,
                                                1, NO_LIMIT, 7]
    # Beijing 2024 inpatient retiree level_3: bands 95.5 / 97 / 98.5%, 大额 90%
    row = build_plan(table)[plan_row(2, 0, RETIRED, L3, 2)]
    assert row[P_RATIO:P_RATIO + 3].tolist() == [9550, 9700, 9850]
    assert (row[P_LR], row[P_POOL], row[P_RED]) == (9000, 0, UNKNOWN_CELL)


def test_shanghai_outpatient_joins_the_inpatient_pool() -> None:
    """沪医保规〔2023〕6号: one 610000 ceiling (fund payment) for inpatient and outpatient care."""
    t = compile_settlement_table([REG.policy("shanghai").at(dt.date(2023, 9, 1))])
    row = t.plan[plan_row(0, 1, IN_SERVICE, L1, 0)]
    assert (t.shared[0, 1], row[P_POOL], row[P_CEIL], row[P_CB]) == (1, 0, 61_000_000, 1)
