"""Employers and jobs of the synthetic world: who works where, the taxed wage of each month,
the wage the unit declares to the bureau, and who the unit leaves uninsured."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from yibao.ids import organisation_code_check, uscc_check_char
from yibao.match.synthetic.model import Model
from yibao.match.synthetic.population import (
    EMPLOYED,
    WORKING,
    Population,
    Window,
    day_month_index,
    month_index,
)

__all__ = ["Employment", "make_employment", "synthetic_usccs"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_NAME_WORDS = ("华信", "恒泰", "新元", "博远", "中科", "金桥", "宏达", "瑞丰", "永安", "东方", "天成", "鼎盛",
               "嘉禾", "联创", "海纳", "盛世", "启明", "长城", "正道", "汇通")
_TRADES = ("科技", "贸易", "建筑工程", "物流", "餐饮管理", "信息技术", "医药", "文化传媒", "物业管理",
           "机械制造")


@dataclass
class Employment:
    """Employers (index + 1 = ``employer_id``) and one row per employee (a person's one job)."""

    uscc: list[str]
    employer_name: list[str]
    noncompliant: Mask
    under_declaring: Mask
    person: I64  # true_person_key of each employee
    employer: I64  # employer index of each employee
    insured: Mask
    hire_day: npt.NDArray[np.datetime64]
    first_month: I64  # month index of the first month worked inside the window
    last_month: I64  # month index of the last month worked inside the window (death, move out)
    wage_fen: I64  # (employees, months) taxed wage; 0 outside the job
    declared_ratio: npt.NDArray[np.float64]

    @property
    def n_employers(self) -> int:
        return len(self.uscc)


def synthetic_usccs(rng: np.random.Generator, n: int, districts: list[str]) -> list[str]:
    """``n`` distinct valid unified social credit codes (GB 32100-2015) of enterprises (91…)."""
    body = rng.choice(10**8, size=n, replace=False)
    where = rng.integers(0, len(districts), n)
    out = []
    for b, d in zip(body.tolist(), where.tolist(), strict=True):
        org = f"{b:08d}"
        first17 = f"91{districts[d]}{org}{organisation_code_check(org)}"
        out.append(first17 + uscc_check_char(first17))
    return out


def _names(rng: np.random.Generator, n: int, city: str) -> list[str]:
    a = rng.integers(0, len(_NAME_WORDS), n)
    b = rng.integers(0, len(_TRADES), n)
    pairs = zip(a.tolist(), b.tolist(), strict=True)
    return [f"{city}{_NAME_WORDS[i]}{_TRADES[j]}有限公司" for i, j in pairs]


def make_employment(rng: np.random.Generator, model: Model, pop: Population, window: Window) -> Employment:
    """Jobs of the employed working-age home persons, employers sized log-normally around the mean."""
    person = np.flatnonzero((pop.group == WORKING) & (pop.status == EMPLOYED)).astype(np.int64)
    n = person.size
    n_emp = max(1, round(n / model.number("employer_mean_size")))
    size = rng.lognormal(0.0, 1.2, n_emp)
    employer = rng.choice(n_emp, size=n, p=size / size.sum())
    used, employer = np.unique(employer, return_inverse=True)  # units without an employee do not exist
    n_emp = used.size
    noncompliant = rng.random(n_emp) < model.share("noncompliant_employer_share")
    under = rng.random(n_emp) < model.share("under_declaring_employer_share")
    uninsured_p = np.where(noncompliant[employer], model.share("uninsured_share_noncompliant"),
                           model.share("uninsured_share_compliant"))
    insured = rng.random(n) >= uninsured_p
    span = window.months * 30
    age_days = (window.start - pop.birth[person]).astype(np.int64)
    in_window = rng.random(n) < model.share("hire_share")
    before = np.minimum(age_days - 16 * 365, 20 * 365).clip(31, None)
    hire = np.where(in_window, window.start + rng.integers(0, span, n).astype("timedelta64[D]"),
                    window.start - (1 + (rng.random(n) * before).astype(np.int64)).astype("timedelta64[D]"))
    hire = np.minimum(hire, window.end)
    first_i, last_i = int(month_index(window.first)), int(month_index(window.last))
    first = np.maximum(day_month_index(hire), first_i)
    ends = np.full(n, last_i, dtype=np.int64)
    for stop in (pop.death[person], pop.move_out[person]):
        has = ~np.isnat(stop)
        ends = np.where(has, np.minimum(ends, day_month_index(np.where(has, stop, window.end))), ends)
    median_yuan = 0.85 * model.number("wage_anchor_yuan_year") / 12
    base = rng.lognormal(np.log(median_yuan), model.share("wage_sigma"), n)
    factor = 1.0 + rng.uniform(-0.03, 0.03, (n, window.months))
    months = np.arange(first_i, last_i + 1)
    working = (months[None, :] >= first[:, None]) & (months[None, :] <= ends[:, None])
    wage = np.where(working, np.round(base[:, None] * factor * 100), 0).astype(np.int64)
    ratio = np.where(under[employer], rng.uniform(model.share("declared_ratio_low"),
                                                  model.share("declared_ratio_high"), n), 1.0)
    districts = model.codes("home_districts")
    return Employment(uscc=synthetic_usccs(rng, n_emp, districts), employer_name=_names(rng, n_emp, "北京"),
                      noncompliant=noncompliant, under_declaring=under, person=person,
                      employer=employer.astype(np.int64), insured=insured, hire_day=hire, first_month=first,
                      last_month=ends, wage_fen=wage, declared_ratio=ratio)
