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

from yibao.policy.resolve import Policy, Snapshot
from yibao.rules.accounts import credit_accounts
from yibao.rules.classes import STATUS_INDEX, benefit_class, class_settings
from yibao.rules.contribution import (
    FLEXIBLE,
    IN_SERVICE,
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
_CLASS_STATUS: Final = np.array([STATUS_INDEX["in_service"], STATUS_INDEX["flexible"],
                                 STATUS_INDEX["retired"], STATUS_INDEX["retired"]], dtype=np.int8)
#: Per-record results of a year, all int64 (fen, or a count for ``admissions``).
RESULT_COLUMNS: Final = ("employer", "individual", "retiree", "account_credit", "admissions",
                         "inpatient_cost", "outpatient_cost", "inpatient_fund", "outpatient_fund",
                         "large_amount", "inpatient_in_scope", "personal")


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


@dataclass(frozen=True)
class YearSettings:
    """What the year's rules do not fix: calibrated or assumed."""

    base_ratio: float          # declared base / wage
    utilisation: Utilisation
    employer_months: int = 12  # 2020: 9 (the relief)


def contributions_year(m: dict[str, np.ndarray], rules: YearRules, base_ratio: float,
                       employer_months: int = 12) -> dict[str, I64]:
    """The year's contributions and account credits of every record (fen): ``employer``,
    ``individual``, ``retiree``, ``account_credit``."""
    status = m["status"]
    ptype = _PTYPE[status]
    monthly = np.round(m["wage_fen"] / 12 * base_ratio).astype(np.int64)
    cols = assess_contributions(monthly, ptype, rules.contribution)
    credits = credit_accounts(rules.snapshot, ptype, m["age"].astype(np.int64), cols.base_fen,
                              cols.individual_total_fen)
    pension = np.where(status >= 2, m["pension_fen"] // 12, 0)
    return {"employer": cols.employer_total_fen * employer_months,
            "individual": cols.individual_total_fen * 12,
            "retiree": retiree_contribution(rules.snapshot, pension) * 12,
            "account_credit": credits.credit_fen * 12}


def claims_year(m: dict[str, np.ndarray], rules: YearRules, u: Utilisation, seed: int,
                block: int) -> dict[str, I64]:
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
        psn=drawn.psn, param=np.zeros(k, np.int16), year=np.full(k, rules.year_key, np.int32),
        kind=drawn.kind, benefit_class=cls[drawn.psn], level=drawn.level, remote=np.zeros(k, np.int8),
        share_bp=np.full(k, 10_000, np.int16), total=drawn.total, full_self_pay=drawn.full_self_pay,
        over_limit=zeros, preselfpay=zeros, account_balance=zeros, mulaid_balance=zeros)
    settled = settle_batch(claims, rules.settlement, Accumulators.zeros(n))
    settled.raise_first_error(rules.settlement, claims)
    inpatient = drawn.kind == 0
    fund = settled.out["hifp_pay"] + settled.out["hifob_pay"]

    def per_person(values: I64, mask: npt.NDArray[np.bool_] | None = None) -> I64:
        # float64 weights hold every sum exactly: a person's year stays far below 2**53 fen
        w = values if mask is None else np.where(mask, values, 0)
        res: I64 = np.bincount(drawn.psn, weights=w, minlength=n).astype(np.int64)
        return res

    return {
        "admissions": np.bincount(drawn.psn[inpatient], minlength=n).astype(np.int64),
        "inpatient_cost": per_person(drawn.total, inpatient),
        "outpatient_cost": per_person(drawn.total, ~inpatient),
        "inpatient_fund": per_person(fund, inpatient),
        "outpatient_fund": per_person(fund, ~inpatient),
        "large_amount": per_person(settled.out["hifob_pay"]),
        "inpatient_in_scope": per_person(settled.inscp_scp_amt, inpatient),
        "personal": per_person(drawn.total - fund),
    }


def person_year(m: dict[str, np.ndarray], rules: YearRules, settings: YearSettings, seed: int,
                block: int) -> dict[str, I64]:
    """The year of every record of ``m`` (population columns) — module docstring."""
    return (contributions_year(m, rules, settings.base_ratio, settings.employer_months)
            | claims_year(m, rules, settings.utilisation, seed, block))
