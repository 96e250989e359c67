"""One year of the lab's members through the bureau's rules: contributions, account credits and
the year's claims settled (issue 7). The unit of work of the calibration, the projection and
``yibao bench lab``.

For each record, with the composite region's policy (or a reform of it) at the year's 1 July:

- :func:`yibao.rules.contribution.assess_contributions` on the monthly declared base (wage ×
  base ratio / 12; flexible workers on the region's base option) and
  :func:`yibao.rules.contribution.retiree_contribution` on retirees' pensions, times the months
  paid (2020: three employer months fewer, the relief);
- :func:`yibao.rules.accounts.credit_accounts`, times twelve;
- the year's claims (:mod:`yibao.sim.claims`) settled in person order with
  :func:`yibao.rules.settlement.settle_batch` on fresh benefit-year accumulators. The lab does
  not follow each member's account balance, so claims settle with no account money: the fund's
  payments do not depend on it, and account spending is modelled in aggregate
  (:mod:`yibao.sim.funds`).

Every output is an int64 fen column per record (:data:`RESULT_COLUMNS`); totals weight them. A
block's random numbers come from ``SeedSequence([seed, year, block, 1])``, so the result of a
population does not depend on how it is split into chunks or workers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from yibao.policy.resolve import Policy, Snapshot
from yibao.rules.accounts import credit_accounts
from yibao.rules.classes import STATUS_INDEX, benefit_class, class_settings
from yibao.rules.contribution import (
    FLEXIBLE,
    IN_SERVICE,
    NEW_FORM,
    RETIREE,
    ContributionParams,
    assess_contributions,
    retiree_contribution,
)
from yibao.rules.settlement import (
    Accumulators,
    ClaimColumns,
    SettlementTable,
    compile_settlement_table,
    settle_batch,
    year_key,
)
from yibao.sim.claims import Utilisation, draw_claims

__all__ = ["RESULT_COLUMNS", "YearRules", "YearSettings", "claims_year", "contributions_year", "person_year"]

I64 = npt.NDArray[np.int64]
#: Person type of the contribution rules and status of the class rules, by sample status.
_PTYPE: Final = np.array([IN_SERVICE, FLEXIBLE, RETIREE, RETIREE], dtype=np.int8)
_CLASS_STATUS: Final = np.array(
    [STATUS_INDEX["in_service"], STATUS_INDEX["flexible"], STATUS_INDEX["retired"], STATUS_INDEX["retired"]],
    dtype=np.int8,
)
#: Per-record results of the claims, all int64 (fen, or a count for ``admissions``).
CLAIM_RESULTS: Final = (
    "admissions",
    "inpatient_cost",
    "outpatient_cost",
    "inpatient_fund",
    "outpatient_fund",
    "large_amount",
    "inpatient_in_scope",
    "personal",
)
#: Per-record results of the contributions (fen).
CONTRIBUTION_RESULTS: Final = ("base", "employer", "individual", "retiree", "account_credit")
#: Per-record results of a year, all int64 (fen, or a count for ``admissions``).
RESULT_COLUMNS: Final = CONTRIBUTION_RESULTS + CLAIM_RESULTS


class YearRules:
    """The rules of one policy in one year, compiled once for every block. The contribution
    table is compiled on first use, so a region whose contribution rules are not all known can
    still settle claims (the regional comparison)."""

    def __init__(self, year: int, snapshot: Snapshot, settlement: SettlementTable, key: int) -> None:
        self.year, self.snapshot, self.settlement, self.year_key = year, snapshot, settlement, key

    @classmethod
    def build(cls, policy: Policy, year: int) -> YearRules:
        date = dt.date(year, 7, 1)
        snap = policy.at(date)
        return cls(year, snap, compile_settlement_table([snap]), year_key(policy, date))

    @cached_property
    def contribution(self) -> ContributionParams:
        return ContributionParams.from_snapshot(self.snapshot)

    @cached_property
    def new_form_category(self) -> bool:
        """Whether the policy has a rule of its own for new-form workers (its rate is known);
        without one they pay as the flexible workers they enroll as today (DOMAIN.md §1)."""
        return bool(self.snapshot["contribution.new_form.rate"].known)


@dataclass(frozen=True)
class YearSettings:
    """What the year's rules do not fix: calibrated or assumed."""

    base_ratio: float  # declared base / wage
    utilisation: Utilisation
    employer_months: int = 12  # 2020: 9 (the relief)


def contributions_year(
    m: dict[str, np.ndarray], rules: YearRules, base_ratio: float, employer_months: int = 12
) -> dict[str, I64]:
    """The year's contributions and account credits of every record (fen): ``employer``,
    ``individual``, ``retiree``, ``account_credit``."""
    status = m["status"]
    ptype = _PTYPE[status]
    if rules.new_form_category and "new_form" in m:
        ptype = np.where(m["new_form"] & (status == 1), np.int8(NEW_FORM), ptype).astype(np.int8)
    monthly = np.round(m["wage_fen"] / 12 * base_ratio).astype(np.int64)
    cols = assess_contributions(monthly, ptype, rules.contribution)
    credits = credit_accounts(
        rules.snapshot, ptype, m["age"].astype(np.int64), cols.base_fen, cols.individual_total_fen
    )
    pension = np.where(status >= 2, m["pension_fen"] // 12, 0)
    return {
        "base": cols.base_fen * 12,
        "employer": cols.employer_total_fen * employer_months,
        "individual": cols.individual_total_fen * 12,
        "retiree": retiree_contribution(rules.snapshot, pension) * 12,
        "account_credit": credits.credit_fen * 12,
    }


def claims_year(
    m: dict[str, np.ndarray], rules: YearRules, u: Utilisation, seed: int, block: int
) -> dict[str, I64]:
    """The year's claims of every record, drawn and settled (fen; ``admissions`` a count)."""
    status = m["status"]
    n = status.shape[0]
    age = m["age"].astype(np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([seed, rules.year, block, 1]))
    drawn = draw_claims(age, status >= 2, u, rng)
    k = drawn.psn.size
    ro = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    cls = benefit_class(_CLASS_STATUS[status], age, ro, *class_settings(rules.snapshot))
    zeros = np.zeros(k, dtype=np.int64)
    claims = ClaimColumns(
        psn=drawn.psn,
        param=np.zeros(k, np.int16),
        year=np.full(k, rules.year_key, np.int32),
        kind=drawn.kind,
        benefit_class=cls[drawn.psn],
        level=drawn.level,
        remote=np.zeros(k, np.int8),
        share_bp=np.full(k, 10_000, np.int16),
        total=drawn.total,
        full_self_pay=drawn.full_self_pay,
        over_limit=zeros,
        preselfpay=zeros,
        account_balance=zeros,
        mulaid_balance=zeros,
    )
    settled = settle_batch(claims, rules.settlement, Accumulators.zeros(n))
    settled.raise_first_error(rules.settlement, claims)
    fund = settled.out["hifp_pay"] + settled.out["hifob_pay"]
    sums = _per_person(
        drawn.psn, drawn.kind, drawn.total, fund, settled.out["hifob_pay"], settled.inscp_scp_amt, n
    )
    return dict(zip(CLAIM_RESULTS, sums, strict=True))


@njit(cache=True, nogil=True)
def _per_person(
    psn: I64, kind: npt.NDArray[np.int8], total: I64, fund: I64, large: I64, in_scope: I64, n: int
) -> I64:  # pragma: no cover - compiled
    """Each person's sums of their claims, in one pass (rows of CLAIM_RESULTS), in integers."""
    out = np.zeros((8, n), dtype=np.int64)
    for i in range(psn.shape[0]):
        p = psn[i]
        if kind[i] == 0:
            out[0, p] += 1
            out[1, p] += total[i]
            out[3, p] += fund[i]
            out[6, p] += in_scope[i]
        else:
            out[2, p] += total[i]
            out[4, p] += fund[i]
        out[5, p] += large[i]
        out[7, p] += total[i] - fund[i]
    return out


def person_year(
    m: dict[str, np.ndarray], rules: YearRules, settings: YearSettings, seed: int, block: int
) -> dict[str, I64]:
    """The year of every record of ``m`` (population columns) — module docstring."""
    return contributions_year(m, rules, settings.base_ratio, settings.employer_months) | claims_year(
        m, rules, settings.utilisation, seed, block
    )
