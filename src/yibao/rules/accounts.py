"""Monthly individual-account credit (个人账户划入), before and after the 2021 reform.

The rule (DOMAIN.md §3; 国办发〔2021〕14号; regional notices in the policy files). The regime is the
dated parameter ``account.regime`` — Beijing switches on 2022-09-01, Shanghai 2023-07-01, Wuhan
2023-02-01, Chongqing 2024-01-01 — so no date appears in this code.

- **In service, pre_2021_reform (§3.1).** ``individual contribution × account.in_service.individual_share``
  plus ``base × employer_tiers(age)`` (Beijing 0.8% / 1% / 2% under 35 / 35–44 / 45+). With
  ``tiers_cover = total_credit`` the tier rate is the whole credit (seed 004's 2% / 3% / 4.1%, E7) and
  the employer part is what the individual part leaves.
- **In service, post_2021_reform (§3.2).** Only the individual part; the whole employer contribution
  stays in the pooled fund, so ``employer_tiers`` is not consulted.
- **Flexible workers.** ``base × contribution.flexible.account_rate`` if ``account.flexible.credited``
  and the scheme is ``pooling_plus_account``; nothing otherwise (Wuhan after 2023-02-01; Tianjin's
  pooling-only scheme). New-form workers: the individual part of the ordinary individual rate if
  ``contribution.new_form.with_account``.
- **Retirees** by ``account.retiree.mode``: ``fixed_monthly`` by age tier (Beijing 100 / 110 at 70;
  Shanghai 140 / 157.50 a month, i.e. 1680 / 1890 a year, at 75; Wuhan 83); ``pct_own_pension``
  (Jinan 4%, seed 003); ``pct_average_pension`` (Guangzhou 2.8%); ``pct_average_wage``. A retiree who
  was a flexible worker gets ``× account.retiree.flexible_factor`` (Wuhan 80%: 83 → 66 with
  ``credit_rounding`` to the yuan).

**Which fund pays** (for the ledger): ``from_individual_fen`` is the part of the individual
contribution kept in the account — the contribution was already routed there, and
``individual_to_pool_fen`` (the part not kept) moves back to the pooled fund; ``from_employer_fen``
comes out of the employer contribution the pooled fund received (pre-reform in-service tiers and
pre-reform retiree credits); ``from_pooled_fen`` is paid by the pooled fund (post-reform retiree
credits, flexible and new-form credits).

API: ``credit_accounts(snap, person_type, age, base_fen, individual_fen, pension_fen=None,
was_flexible=None) -> AccountColumns`` over int arrays; ``explain_account`` explains one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError
from yibao.money import BP, Rounding, fen_to_yuan_str, rate_bp_to_str
from yibao.policy.catalog import CATALOGUE, Kind
from yibao.policy.resolve import Snapshot
from yibao.policy.values import AgeTier
from yibao.rules.contribution import FLEXIBLE, IN_SERVICE, NEW_FORM, PERSON_TYPES, RETIREE
from yibao.rules.explain import Explanation, Step, param_use

__all__ = ["AccountColumns", "credit_accounts", "explain_account", "tier_values"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AccountColumns:
    """Per-row credit and where it comes from (fen). ``keys`` lists the parameters used."""

    credit_fen: IntArray
    from_individual_fen: IntArray
    from_employer_fen: IntArray
    from_pooled_fen: IntArray
    individual_to_pool_fen: IntArray
    rate_bp: IntArray  # the tier rate applied (bp), or 0 for fixed amounts
    keys: tuple[str, ...]


def tier_values(tiers: tuple[AgeTier, ...], age: npt.ArrayLike) -> IntArray:
    """The value of the age tier each age falls in (tiers start at age_from, inclusive)."""
    starts = np.array([t.age_from for t in tiers], dtype=np.int64)
    vals = np.array([t.value for t in tiers], dtype=np.int64)
    out: IntArray = vals[np.searchsorted(starts, np.asarray(age, dtype=np.int64), side="right") - 1]
    return out


def _arr(x: npt.ArrayLike | None, n: int, name: str, dtype: Any = np.int64) -> Any:
    if x is None:
        return np.zeros(n, dtype=dtype)
    a = np.asarray(x, dtype=dtype)
    if a.shape != (n,):
        raise InputError(name, a.shape, f"长度应为 {n}", f"expected length {n}")
    if dtype is np.int64 and a.size and int(a.min()) < 0:
        raise InputError(name, int(a.min()), "应为非负数", "must not be negative")
    return a


def credit_accounts(snap: Snapshot, person_type: npt.ArrayLike, age: npt.ArrayLike,
                    base_fen: npt.ArrayLike, individual_fen: npt.ArrayLike,
                    pension_fen: npt.ArrayLike | None = None,
                    was_flexible: npt.ArrayLike | None = None) -> AccountColumns:
    """One month's account credit for n people; parameters are resolved only if a row needs them."""
    ptype = np.asarray(person_type, dtype=np.int8)
    n = ptype.shape[0]
    if n and (int(ptype.min()) < 0 or int(ptype.max()) >= len(PERSON_TYPES)):
        raise InputError("person_type", int(ptype.max()), "应为 " + " / ".join(PERSON_TYPES),
                         "expected one of " + ", ".join(PERSON_TYPES))
    ages = _arr(age, n, "age")
    base = _arr(base_fen, n, "base_fen")
    ind = _arr(individual_fen, n, "individual_fen")
    pension = _arr(pension_fen, n, "pension_fen")
    flex = _arr(was_flexible, n, "was_flexible", np.bool_)
    rounding: Rounding = snap.get("account.credit_rounding")
    z = np.zeros(n, dtype=np.int64)
    from_ind, from_emp, from_pool, to_pool, rate = z.copy(), z.copy(), z.copy(), z.copy(), z.copy()
    keys: list[str] = ["account.credit_rounding"]

    m = ptype == IN_SERVICE
    if m.any():
        regime = snap.get("account.regime")
        share = int(snap.get("account.in_service.individual_share"))
        keys += ["account.regime", "account.in_service.individual_share"]
        kept = rounding.div(ind[m] * share, BP)
        from_ind[m], to_pool[m] = kept, ind[m] - kept
        if regime == "pre_2021_reform":
            tiers = snap.get("account.in_service.employer_tiers")
            cover = snap.get("account.in_service.tiers_cover")
            keys += ["account.in_service.employer_tiers", "account.in_service.tiers_cover"]
            r = tier_values(tiers, ages[m])
            rate[m] = r
            part = rounding.div(base[m] * r, BP)
            from_emp[m] = part if cover == "employer_part" else np.maximum(part - kept, 0)
            if cover == "total_credit":
                # The tier is the whole credit: the individual part never exceeds it.
                capped = np.minimum(kept, part)
                to_pool[m] += kept - capped
                from_ind[m] = capped

    m = ptype == FLEXIBLE
    if m.any() and snap.get("account.flexible.credited"):
        keys += ["account.flexible.credited", "contribution.flexible.scheme"]
        if snap.get("contribution.flexible.scheme") == "pooling_plus_account":
            r_flex = int(snap.get("contribution.flexible.account_rate"))
            keys.append("contribution.flexible.account_rate")
            rate[m] = r_flex
            from_pool[m] = rounding.div(base[m] * r_flex, BP)
    elif m.any():
        keys.append("account.flexible.credited")

    m = ptype == NEW_FORM
    if m.any():
        keys.append("contribution.new_form.with_account")
        if snap.get("contribution.new_form.with_account"):
            r_nf = int(snap.get("contribution.individual_rate.basic"))
            keys.append("contribution.individual_rate.basic")
            rate[m] = r_nf
            from_pool[m] = rounding.div(base[m] * r_nf, BP)

    m = ptype == RETIREE
    if m.any():
        credit, r_ret, rkeys = _retiree(snap, ages[m], pension[m], flex[m], rounding)
        keys += rkeys
        rate[m] = r_ret
        if snap.get("account.regime") == "pre_2021_reform":
            from_emp[m] = credit
        else:
            from_pool[m] = credit
        keys.append("account.regime")

    total = from_ind + from_emp + from_pool
    return AccountColumns(total, from_ind, from_emp, from_pool, to_pool, rate,
                          tuple(dict.fromkeys(keys)))


def _retiree(snap: Snapshot, age: IntArray, pension: IntArray, flex: BoolArray,
             rounding: Rounding) -> tuple[IntArray, IntArray, list[str]]:
    mode = snap.get("account.retiree.mode")
    keys = ["account.retiree.mode"]
    zero = np.zeros(age.shape[0], dtype=np.int64)
    if mode == "fixed_monthly":
        keys.append("account.retiree.fixed_tiers")
        amount, rate = tier_values(snap.get("account.retiree.fixed_tiers"), age), zero
    else:
        keys.append("account.retiree.rate_tiers")
        rate = tier_values(snap.get("account.retiree.rate_tiers"), age)
        if mode == "pct_own_pension":
            on = pension
        else:
            key = ("account.retiree.average_pension_monthly" if mode == "pct_average_pension"
                   else "contribution.average_wage_monthly")
            keys.append(key)
            on = np.full(age.shape[0], int(snap.get(key)), dtype=np.int64)
        amount = on * rate  # still × BP; rounded once below
        amount = rounding.div(amount, BP)
    if flex.any():
        factor = int(snap.get("account.retiree.flexible_factor"))
        keys.append("account.retiree.flexible_factor")
        amount = np.where(flex, rounding.div(amount * factor, BP), amount)
    credit: IntArray = amount  # published fixed amounts are not re-rounded
    return credit, rate, keys


def _tiers_shown(key: str, value: object) -> str | None:
    """``0+: 0.8%; 35+: 1%; 45+: 2%`` for a tier table, else the default display."""
    if not (isinstance(value, tuple) and value and isinstance(value[0], AgeTier)):
        return None
    money = CATALOGUE[key].kind is Kind.age_tiers_money
    shown = (fen_to_yuan_str(t.value) if money else rate_bp_to_str(t.value) for t in value)
    return "; ".join(f"{t.age_from}+: {v}" for t, v in zip(value, shown, strict=True))


def explain_account(snap: Snapshot, cols: AccountColumns, i: int, person_type: int,
                    age: int) -> Explanation:
    """Explain row ``i``: the credit, its parts and where each comes from, with the parameters used."""
    name = PERSON_TYPES[person_type]
    ex = Explanation(f"{snap.region.name_zh} {snap.date} 个人账户月划入（{name}，{age} 岁）",
                     f"{snap.region.name_en} {snap.date} monthly account credit ({name}, age {age})")
    used = [param_use(snap, k, _tiers_shown(k, snap[k].value)) for k in cols.keys]
    rate = int(cols.rate_bp[i])
    parts = (("个人缴费划入（已入账户）", "from the individual contribution (already in the account)",
              cols.from_individual_fen),
             ("单位缴费划入（出自统筹基金收到的单位缴费）",
              "from the employer contribution (via the pooled fund)", cols.from_employer_fen),
             ("统筹基金划入", "paid by the pooled fund", cols.from_pooled_fen))
    for j, (zh, en, arr) in enumerate(parts):
        if int(arr[i]):
            how = f" (base × {rate_bp_to_str(rate)}, age {age})" if j and rate else ""
            ex.add(Step(zh, en, f"{fen_to_yuan_str(int(arr[i]))}{how}", int(arr[i])))
    if int(cols.individual_to_pool_fen[i]):
        ex.add(Step("个人缴费中未划入部分转回统筹基金",
                    "part of the individual contribution returned to the pool",
                    fen_to_yuan_str(int(cols.individual_to_pool_fen[i])),
                    int(cols.individual_to_pool_fen[i])))
    ex.add(Step("本月划入合计", "credit this month",
                " + ".join(fen_to_yuan_str(int(a[i])) for _, _, a in parts),
                int(cols.credit_fen[i]), tuple(used)))
    return ex
