"""Enrollments and contribution months of the synthetic register, and the second region's insured.

The register is what the bureau knows: it learns of a death only when told (``death_unknown_share``),
an uninsured employee is not in it, a move out is transferred only for half the movers. Months are
priced by :func:`yibao.rules.contribution.assess_contributions` with the home region's policy of
each month, on the wage the unit declares (below the taxed wage for under-declaring units).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.match.synthetic.employment import Employment
from yibao.match.synthetic.model import Model
from yibao.match.synthetic.population import (
    CHILD,
    ELDERLY,
    FLEXIBLE,
    NEWBORN,
    OTHER,
    WORKING,
    Population,
    Window,
    day_month_index,
    last_day,
    month_index,
    yyyymm,
)
from yibao.policy.registry import default_registry
from yibao.rules.contribution import (
    FLEXIBLE as T_FLEXIBLE,
)
from yibao.rules.contribution import (
    IN_SERVICE as T_IN_SERVICE,
)
from yibao.rules.contribution import (
    RETIREE as T_RETIREE,
)
from yibao.rules.contribution import (
    ContributionParams,
    assess_contributions,
)

__all__ = ["Enrollments", "make_enrollments", "price"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# month states of a contribution row
PAID, DUE, BACKPAID, ABSENT = range(4)
_CATEGORY_TYPE: Final = {"in_service": T_IN_SERVICE, "flexible": T_FLEXIBLE, "retiree": T_RETIREE}
_NAT: Final = np.datetime64("NaT", "D")
_INTERRUPTED, _SHORT_GAP, _AT_RISK = 1, 2, 3
_PLAN_CODES: Final = {"interrupted": _INTERRUPTED, "short_gap": _SHORT_GAP, "at_risk": _AT_RISK}


@dataclass
class Enrollments:
    """Home-region enrollments (with their contribution months) and the second region's insured."""

    enrollments: pl.DataFrame  # key, scheme, category, employer (index or -1), start/end month, status
    months: pl.DataFrame  # enrollment row, key, month, category, payer, wage, base, total, paid, status…
    other: pl.DataFrame  # key, scheme, category, start_date, employer_uscc (second region)
    plans: pl.DataFrame  # key, plan (interrupted / short_gap / at_risk), months


def _stop(pop: Population, keys: I64, last_i: int) -> tuple[I64, Mask]:
    """Month index where each person's home enrollment ends, and whether it ends in the window."""
    end = np.full(keys.size, last_i, dtype=np.int64)
    ended = np.zeros(keys.size, dtype=np.bool_)
    death = pop.death[keys]
    known = pop.death_known[keys]
    out = pop.move_out[keys]
    transferred = ~np.isnat(out) & ~pop.move_out_enrolled[keys]
    for when, applies in ((death, known), (out, transferred)):
        m = day_month_index(np.where(applies, when, np.datetime64("1970-01-01")))
        end = np.where(applies, np.minimum(end, m), end)
        ended |= applies
    return end, ended


def _spans(rng: np.random.Generator, model: Model, pop: Population, emp: Employment, window: Window
           ) -> pl.DataFrame:
    """One row per home enrollment (start month index may lie before the window)."""
    first_i, last_i = int(month_index(window.first)), int(month_index(window.last))
    parts: list[pl.DataFrame] = []

    def add(keys: I64, scheme: str, category: str, start: I64, employer: I64 | None = None) -> None:
        end, ended = _stop(pop, keys, last_i)
        parts.append(pl.DataFrame({
            "key": keys, "scheme": scheme, "category": category,
            "employer": employer if employer is not None else np.full(keys.size, -1, dtype=np.int64),
            "start_i": start, "end_i": end, "ended": ended}))

    ins = emp.insured
    add(emp.person[ins], "employee", "in_service", day_month_index(emp.hire_day[ins]), emp.employer[ins])
    home = pop.home
    flex = np.flatnonzero(home & (pop.group == WORKING) & (pop.status == FLEXIBLE)
                          & (rng.random(pop.n) < model.share("flexible_insured_share")))
    add(flex, "employee", "flexible", first_i - rng.integers(-11, 120, flex.size))
    retirees = np.flatnonzero(pop.retiree)
    add(retirees, "employee", "retiree", first_i - rng.integers(1, 240, retirees.size))
    u = rng.random(pop.n)
    employed = np.zeros(pop.n, dtype=np.bool_)
    employed[emp.person] = True
    uninsured = np.zeros(pop.n, dtype=np.bool_)
    uninsured[emp.person[~ins]] = True
    resident = home & (((pop.group == CHILD) & (u < model.share("resident_child_share")))
                       | (((pop.group == WORKING) | (pop.group == ELDERLY)) & ~employed & ~pop.retiree
                          & ~np.isin(np.arange(pop.n), flex) & (u < model.share("resident_other_share")))
                       | (uninsured & (u < model.share("uninsured_resident_share"))))
    twice = emp.person[ins][rng.random(int(ins.sum())) < model.share("employee_resident_duplicate_share")]
    resident[twice] = True
    keys = np.flatnonzero(resident)
    birth_i = day_month_index(pop.birth[keys])
    add(keys, "resident", "resident", np.maximum(birth_i, first_i - rng.integers(1, 120, keys.size)))
    babies = np.flatnonzero((pop.group == NEWBORN) & (pop.newborn_enrolled >= 0))
    add(babies, "resident", "resident", pop.newborn_enrolled[babies])
    spans = pl.concat(parts).filter(pl.col("start_i") <= pl.col("end_i"))  # e.g. hired after dying
    return spans.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))


def _plans(rng: np.random.Generator, model: Model, pop: Population, spans: pl.DataFrame, window: Window,
           max_gap: int) -> pl.DataFrame:
    """Interruptions, back-paid gaps and flexible workers at risk, among the living who stayed."""
    paying = spans.filter(pl.col("category").is_in(["in_service", "flexible"]) & ~pl.col("ended"))
    keys = paying["key"].to_numpy()
    calm = np.isnat(pop.death[keys]) & np.isnat(pop.move_out[keys])
    cand = np.flatnonzero(calm)
    u = rng.random(cand.size)
    inter, short = model.share("interrupted_share"), model.share("short_gap_share")
    plan = np.where(u < inter, "interrupted", np.where(u < inter + short, "short_gap", ""))
    is_flex = paying["category"].to_numpy()[cand] == "flexible"
    at_risk = (plan == "") & is_flex & (rng.random(cand.size) < model.share("flexible_at_risk_share"))
    plan = np.where(at_risk, "at_risk", plan)
    months = np.where(plan == "interrupted", rng.integers(4, 10, cand.size),
                      np.where(plan == "short_gap", rng.integers(1, 4, cand.size),
                               rng.integers(max_gap - 1, max_gap + 1, cand.size)))
    gap_start = rng.integers(1, window.months - 4, cand.size) + int(month_index(window.first))
    suspended = rng.random(cand.size) < 0.5  # an interrupted member: arrears rows, or no rows at all
    keep = plan != ""
    rows = paying["row"].to_numpy()
    return pl.DataFrame({"row": rows[cand][keep], "key": keys[cand][keep], "plan": plan[keep],
                         "months": months[keep].astype(np.int64),
                         "gap_start": gap_start[keep].astype(np.int64),
                         "suspended": suspended[keep] & (plan[keep] == "interrupted")})


def price(model: Model, month: I64, wage_fen: I64, person_type: npt.NDArray[np.int8]
          ) -> tuple[I64, I64]:
    """Base and total of each row, by the home region's contribution rules of the row's month."""
    policy = default_registry().policy(model.text("home_policy"))
    base = np.zeros(month.size, dtype=np.int64)
    total = np.zeros(month.size, dtype=np.int64)
    for m in np.unique(month).tolist():
        rows = np.flatnonzero(month == m)
        params = ContributionParams.from_snapshot(policy.at(dt.date(m // 100, m % 100, 1)))
        cols = assess_contributions(wage_fen[rows], person_type[rows], params)
        base[rows], total[rows] = cols.base_fen, cols.total_fen
    return base, total


def _month_rows(spans: pl.DataFrame, first_i: int) -> tuple[I64, I64]:
    """(span row, month index) of every month of every employee-scheme span inside the window."""
    emp = spans.filter(pl.col("scheme") == "employee")
    lo = np.maximum(emp["start_i"].to_numpy(), first_i)
    count = np.clip(emp["end_i"].to_numpy() - lo + 1, 0, None)
    which = np.repeat(np.arange(emp.height), count)
    offset = np.arange(which.size) - np.repeat(np.cumsum(count) - count, count)
    return emp["row"].to_numpy()[which], lo[which] + offset


def _types(spans: pl.DataFrame) -> npt.NDArray[np.int8]:
    """Each span's contribution person type (-1 for the resident scheme)."""
    codes = spans["category"].replace_strict(_CATEGORY_TYPE, default=-1, return_dtype=pl.Int8)
    return codes.to_numpy()


def _states(spans: pl.DataFrame, plans: pl.DataFrame, pop: Population, row: I64, month: I64,
            last_i: int) -> npt.NDArray[np.int8]:
    key = spans["key"].to_numpy()[row]
    ptype = _types(spans)[row]
    state = np.full(row.size, PAID, dtype=np.int8)
    death, out = pop.death[key], pop.move_out[key]
    unknown = ~np.isnat(death) & ~pop.death_known[key]
    after_death = unknown & (month > day_month_index(np.where(unknown, death, np.datetime64("1970-01-01"))))
    state[after_death & (ptype == T_FLEXIBLE)] = DUE  # the employer or the pension keeps paying the others
    stayed = ~np.isnat(out) & pop.move_out_enrolled[key]
    state[stayed & (month > day_month_index(np.where(stayed, out, np.datetime64("1970-01-01"))))] = DUE
    plan_of = np.full(spans.height, -1, dtype=np.int64)
    plan_of[plans["row"].to_numpy()] = np.arange(plans.height)
    p = plan_of[row]
    has = p >= 0
    plan_code = plans["plan"].replace_strict(_PLAN_CODES, return_dtype=pl.Int8).to_numpy()
    kind = np.where(has, plan_code[np.maximum(p, 0)], 0)
    k = np.where(has, plans["months"].to_numpy()[np.maximum(p, 0)], 0)
    start = np.where(has, plans["gap_start"].to_numpy()[np.maximum(p, 0)], 0)
    susp = np.where(has, plans["suspended"].to_numpy()[np.maximum(p, 0)], False)
    tail = month > last_i - k
    state[(kind == _INTERRUPTED) & tail] = DUE
    state[(kind == _INTERRUPTED) & tail & susp] = ABSENT
    state[(kind == _AT_RISK) & tail] = DUE
    state[(kind == _SHORT_GAP) & (month >= start) & (month < start + k)] = BACKPAID
    return state


def _wages(rng: np.random.Generator, model: Model, pop: Population, emp: Employment, spans: pl.DataFrame,
           row: I64, month: I64, first_i: int) -> I64:
    """The wage each row is assessed on: the unit's declaration (in_service), the flexible worker's
    declared income, nothing for retirees."""
    key = spans["key"].to_numpy()[row]
    ptype = _types(spans)[row]
    job = np.full(pop.n, -1, dtype=np.int64)
    job[emp.person] = np.arange(emp.person.size)
    e = job[key]
    service = (ptype == T_IN_SERVICE) & (e >= 0)
    es = np.maximum(e, 0)
    col = np.clip(month, emp.first_month[es], emp.last_month[es]) - first_i  # a dead man's unit declares on
    taxed = emp.wage_fen[es, np.clip(col, 0, emp.wage_fen.shape[1] - 1)]
    declared = np.where(emp.under_declaring[emp.employer[es]],
                        np.round(taxed * emp.declared_ratio[es] / 100) * 100, taxed).astype(np.int64)
    median = 0.6 * 0.85 * model.number("wage_anchor_yuan_year") / 12  # assumption: flexible incomes are lower
    drawn = rng.lognormal(np.log(median), model.share("wage_sigma"), pop.n)
    income = (np.round(drawn) * 100).astype(np.int64)
    return np.where(service, declared, np.where(ptype == T_FLEXIBLE, income[key], 0))


def _contribution_months(rng: np.random.Generator, model: Model, pop: Population, emp: Employment,
                         spans: pl.DataFrame, plans: pl.DataFrame, window: Window) -> pl.DataFrame:
    first_i, last_i = int(month_index(window.first)), int(month_index(window.last))
    row, month = _month_rows(spans, first_i)
    state = _states(spans, plans, pop, row, month, last_i)
    keep = state != ABSENT
    row, month, state = row[keep], month[keep], state[keep]
    ptype = _types(spans)[row]
    wage = _wages(rng, model, pop, emp, spans, row, month, first_i)
    base, total = price(model, yyyymm(month), wage, ptype)
    due = last_day(month)
    gap_end = month.copy()
    plan_rows = plans.filter(pl.col("plan") == "short_gap")
    end_of = np.zeros(spans.height, dtype=np.int64)
    end_of[plan_rows["row"].to_numpy()] = (plan_rows["gap_start"] + plan_rows["months"] - 1).to_numpy()
    gap_end = np.where(state == BACKPAID, end_of[row], gap_end)
    late = last_day(gap_end) + rng.integers(10, 60, row.size).astype("timedelta64[D]")
    on_time = due - rng.integers(0, 25, row.size).astype("timedelta64[D]")
    paid_on = np.where(state == PAID, on_time,
                       np.where(state == BACKPAID, np.minimum(late, window.end), _NAT))
    paid = state != DUE
    employer = spans["employer"].to_numpy()[row]
    names = {v: k for k, v in _CATEGORY_TYPE.items()}
    types = pl.Series(ptype)
    return pl.DataFrame({
        "row": row, "key": spans["key"].to_numpy()[row], "month": yyyymm(month).astype(np.int32),
        "category": types.replace_strict(names, return_dtype=pl.String),
        "payer_kind": types.replace_strict({T_IN_SERVICE: "employer"}, default="person",
                                           return_dtype=pl.String),
        "employer": employer, "wage_fen": wage, "base_fen": base, "total_fen": total,
        "paid_fen": np.where(paid, total, 0),
        "status": pl.Series(paid).replace_strict({True: "paid", False: "due"}, return_dtype=pl.String),
        "due_date": due, "paid_on": paid_on})


def _other_region(rng: np.random.Generator, model: Model, pop: Population, emp: Employment,
                  spans: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Who is insured in the second region at the as-of date: its own people, movers, duplicates."""
    own = np.flatnonzero(pop.group == OTHER)
    movers = np.flatnonzero(~np.isnat(pop.move_out))
    service = spans.filter((pl.col("category") == "in_service") & ~pl.col("ended"))["key"].to_numpy()
    service = service[np.isnat(pop.death[service]) & np.isnat(pop.move_out[service])]
    dup = np.sort(rng.choice(service, size=round(service.size * model.share("cross_region_duplicate_share")),
                             replace=False)) if service.size else service
    keys = np.concatenate([own, movers, dup])
    start = window.start - rng.integers(30, 3650, keys.size).astype("timedelta64[D]")
    start[own.size:own.size + movers.size] = pop.move_out[movers]
    works = np.isin(pop.status[keys], (1, 2)) | (np.arange(keys.size) >= own.size + movers.size)
    works |= (pop.group[keys] == OTHER) & (rng.random(keys.size) < 0.6)
    n_units = max(1, int(works.sum()) // 20)
    from yibao.match.synthetic.employment import synthetic_usccs

    usccs = np.array(synthetic_usccs(rng, n_units, model.codes("other_districts")))
    drawn = usccs[rng.integers(0, n_units, keys.size)]
    unit = pl.Series([str(u) if w else None for u, w in zip(drawn.tolist(), works.tolist(), strict=True)],
                     dtype=pl.String)
    return pl.DataFrame({"key": keys.astype(np.int64), "scheme": np.where(works, "employee", "resident"),
                         "category": np.where(works, "in_service", "resident"), "start_date": start,
                         "employer_uscc": unit, "region_code": model.text("other_region"),
                         "reason": ["resident"] * own.size + ["moved_out"] * movers.size
                         + ["duplicate"] * dup.size})


def make_enrollments(rng: np.random.Generator, model: Model, pop: Population, emp: Employment, window: Window,
                     max_gap: int) -> Enrollments:
    """Every home enrollment with its months in the window, and the second region's insured."""
    spans = _spans(rng, model, pop, emp, window)
    plans = _plans(rng, model, pop, spans, window, max_gap)
    months = _contribution_months(rng, model, pop, emp, spans, plans, window)
    suspended = plans.filter(pl.col("suspended"))["row"].to_numpy()
    status = np.where(spans["ended"].to_numpy(), "ended", "active")
    status[suspended] = "suspended"
    spans = spans.with_columns(pl.Series("status", status))
    other = _other_region(rng, model, pop, emp, spans, window)
    return Enrollments(enrollments=spans, months=months, other=other, plans=plans)
