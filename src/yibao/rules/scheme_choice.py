"""A flexible worker's choice of scheme (seeds 001 and 002): what each option costs a year, what it
pays for typical care, how long one waits, and whether one's hukou allows it.

The three options seed 001 describes for a worker living away from their hukou:

1. **employee insurance where they work**, as a flexible worker — contribution by
   :func:`~yibao.rules.contribution.assess_contributions` on the lowest base option, times 12;
   waiting period ``eligibility.waiting.flexible_months``; hukou condition
   ``enrollment.flexible.hukou_required`` (``none``, ``local_hukou``, ``local_hukou_or_residence``);
2. **resident insurance where they work** — ``resident.individual_contribution`` a year, waiting
   ``resident.waiting_months``;
3. **resident insurance at the hukou place**, treated where they work as registered remote care.

**Typical care** is one inpatient admission at the national average cost of an employee
admission, 12,175 yuan in 2023 (2023 bulletin, DOMAIN.md §4.3), at a level-3 hospital, settled by
:func:`~yibao.rules.settlement.settle_claims` (employee option) — the fund's payment is the
"expected reimbursement". Where a region's rule for a step is not yet sourced, the option says
which parameter is unknown instead of guessing (resident insurance's settlement rules are unknown
in every shipped region).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from yibao.errors import NoRuleError, UnknownParameterError
from yibao.policy.resolve import Policy, Snapshot
from yibao.policy.values import Unknown
from yibao.rules.accounts import credit_accounts
from yibao.rules.contribution import FLEXIBLE, ContributionParams, assess_contributions
from yibao.rules.settlement import Accumulators, Claim, settle_claims

__all__ = ["TYPICAL_ADMISSION_FEN", "SchemeOption", "compare_schemes"]

#: 2023 average cost of an employee inpatient admission (2023 bulletin, policy_sources.yaml).
TYPICAL_ADMISSION_FEN: Final = 12_175_00
SCHEMES: Final = ("employee_at_work", "resident_at_work", "resident_at_hukou")


@dataclass
class SchemeOption:
    scheme: str
    region: str  # label of the region whose rules apply
    cost_year_fen: int | None = None
    account_credit_year_fen: int | None = None
    reimbursement_fen: int | None = None
    waiting_months: int | None = None
    hukou_allowed: bool | None = None
    unknown: list[str] = field(default_factory=list)  # parameters whose source is still missing


def _known(snap: Snapshot, key: str, out: SchemeOption) -> object | None:
    value: object
    try:
        value = snap.maybe(key)
    except NoRuleError:
        value = None
    if value is None or isinstance(value, Unknown):
        out.unknown.append(key)
        return None
    return value


def _employee(
    snap: Snapshot, policy: Policy, date: dt.date, income_fen: int, same_place: bool
) -> SchemeOption:
    out = SchemeOption("employee_at_work", policy.label)
    try:
        params = ContributionParams.from_snapshot(snap)
        cols = assess_contributions(np.array([income_fen]), np.array([FLEXIBLE], np.int8), params)
        out.cost_year_fen = int(cols.total_fen[0]) * 12
        credit = credit_accounts(
            snap, np.array([FLEXIBLE], np.int8), np.array([40]), cols.base_fen, cols.individual_total_fen
        )
        out.account_credit_year_fen = int(credit.credit_fen[0]) * 12
    except UnknownParameterError as e:
        out.unknown.append(e.key)
    try:
        claim = Claim(
            date=date,
            kind="inpatient",
            benefit_class="flexible",
            level="level_3",
            total_fen=TYPICAL_ADMISSION_FEN,
        )
        (r,) = settle_claims(policy, [claim], Accumulators.zeros(1))
        out.reimbursement_fen = r.amounts["hifp_pay"] + r.amounts["hifob_pay"]
    except UnknownParameterError as e:
        out.unknown.append(e.key)
    waiting = _known(snap, "eligibility.waiting.flexible_months", out)
    out.waiting_months = None if waiting is None else int(waiting)  # type: ignore[call-overload]
    rule = _known(snap, "enrollment.flexible.hukou_required", out)
    out.hukou_allowed = (
        None if rule is None else (rule == "none" or same_place or rule == "local_hukou_or_residence")
    )
    return out


def _resident(scheme: str, snap: Snapshot, policy: Policy) -> SchemeOption:
    out = SchemeOption(scheme, policy.label)
    cost = _known(snap, "resident.individual_contribution", out)
    out.cost_year_fen = None if cost is None else int(cost)  # type: ignore[call-overload]
    waiting = _known(snap, "resident.waiting_months", out)
    out.waiting_months = None if waiting is None else int(waiting)  # type: ignore[call-overload]
    for key in ("resident.inpatient.deductible", "resident.inpatient.ratio", "resident.inpatient.ceiling"):
        _known(snap, key, out)  # the settlement a resident member gets: unknown until sourced
    # resident insurance is joined where one's hukou or residence permit is (国办发〔2024〕38号 relaxes it)
    out.hukou_allowed = True
    return out


def compare_schemes(
    work: Policy, hukou: Policy, date: dt.date, monthly_income_fen: int
) -> list[SchemeOption]:
    """The three options (module docstring) for a worker earning ``monthly_income_fen`` a month."""
    work_snap, hukou_snap = work.at(date), hukou.at(date)
    same = work.region.code == hukou.region.code
    options = [
        _employee(work_snap, work, date, monthly_income_fen, same),
        _resident("resident_at_work", work_snap, work),
        _resident("resident_at_hukou", hukou_snap, hukou),
    ]
    if not same:
        _known(hukou_snap, "remote.registered_ratio_reduction", options[2])
    return options
