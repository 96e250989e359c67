"""yibao's own calculators, called through their public columnar APIs as a user would.

Nothing here re-implements a rule: :func:`prepare_claims` only lays the synthetic claims out as
:class:`~yibao.rules.settlement.ClaimColumns` (inputs, built outside the timed call), and the
timed calls are :func:`~yibao.rules.settlement.settle_batch` (numba kernel with benefit-year
accumulators) and :func:`~yibao.rules.contribution.assess_contributions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.bench.data import Claims, Wages
from yibao.bench.rules_view import BENCH_CLASSES, BENCH_LEVELS
from yibao.money import BP
from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.resolve import Snapshot
from yibao.rules.contribution import (
    PERSON_TYPES,
    ContributionColumns,
    ContributionParams,
    assess_contributions,
)
from yibao.rules.settlement import (
    Accumulators,
    ClaimColumns,
    SettlementColumns,
    SettlementTable,
    compile_settlement_table,
    settle_batch,
    year_key,
)

__all__ = ["YibaoContribution", "YibaoSettlement", "prepare_claims"]

_CLASS_CODES = np.array([BENEFIT_CLASSES.index(c) for c in BENCH_CLASSES], dtype=np.int8)
_LEVEL_CODES = np.array([LEVELS.index(lv) for lv in BENCH_LEVELS], dtype=np.int8)
_INPATIENT = 0


def prepare_claims(claims: Claims, year: int) -> ClaimColumns:
    """The synthetic claims as yibao's input columns: local inpatient care, full benefits."""
    n = claims.rows
    zero8 = np.zeros(n, dtype=np.int8)
    return ClaimColumns(
        psn=claims.person,
        param=np.zeros(n, dtype=np.int32),
        year=np.full(n, year, dtype=np.int32),
        kind=zero8 + _INPATIENT,
        benefit_class=_CLASS_CODES[claims.benefit_class],
        level=_LEVEL_CODES[claims.level],
        remote=zero8.copy(),
        share_bp=np.full(n, BP, dtype=np.int16),
        total=claims.medfee_fen,
        full_self_pay=claims.fulamt_ownpay_fen,
        over_limit=claims.overlmt_selfpay_fen,
        preselfpay=claims.preselfpay_fen,
        account_balance=np.zeros(n, dtype=np.int64),
        mulaid_balance=np.zeros(n, dtype=np.int64),
    )


@dataclass
class YibaoSettlement:
    """A compiled parameter table for one snapshot; :meth:`settle` is the timed call."""

    snapshot: Snapshot

    def __post_init__(self) -> None:
        self.table: SettlementTable = compile_settlement_table([self.snapshot])
        self.year = year_key(self.snapshot.policy, self.snapshot.date)

    def settle(self, cols: ClaimColumns, n_persons: int, out: np.ndarray | None = None,
               acc: Accumulators | None = None) -> tuple[SettlementColumns, Accumulators]:
        """Fresh accumulators and output, or the streaming mode: ``out`` = a reused output
        buffer, ``acc`` = reused accumulators, zeroed here (inside the timed call)."""
        if acc is None:
            acc = Accumulators.zeros(n_persons)
        else:
            acc.data.fill(0)
        res = settle_batch(cols, self.table, acc, out=out)
        res.raise_first_error(self.table, cols)
        return res, acc


@dataclass
class YibaoContribution:
    """Compiled contribution parameters for one snapshot; :meth:`assess` is the timed call."""

    snapshot: Snapshot

    def __post_init__(self) -> None:
        self.params = ContributionParams.from_snapshot(self.snapshot)
        self.in_service = np.int8(PERSON_TYPES.index("in_service"))

    def person_types(self, wages: Wages) -> np.ndarray:
        return np.full(wages.rows, self.in_service, dtype=np.int8)

    def assess(self, wages: Wages, person_type: np.ndarray,
               out: np.ndarray | None = None) -> ContributionColumns:
        return assess_contributions(wages.wage_fen, person_type, self.params, out=out)
