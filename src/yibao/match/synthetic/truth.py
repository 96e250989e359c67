"""The uncorrupted world (``truth/world/*.parquet``) and the cases each worklist should find.

The situations are derived from the generated world with the rules of docs/match-synthetic.md
("Planted situations"), not only from what was planted on purpose, so that, say, a mover who kept
his home enrollment and stopped paying is both insured twice and interrupted, as in reality.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.match.synthetic.employment import Employment
from yibao.match.synthetic.enrollment import Enrollments, price
from yibao.match.synthetic.model import Model
from yibao.match.synthetic.population import (
    Population,
    Window,
    month_index,
    yyyymm,
)
from yibao.rules.contribution import IN_SERVICE

__all__ = ["GROUP_NAMES", "SITUATIONS", "situations", "world_tables"]

I64 = npt.NDArray[np.int64]
GROUP_NAMES: Final = ("child", "working", "elderly", "newborn", "other_region")
STATUS_NAMES: Final = ("none", "employed", "flexible")
SITUATIONS: Final = ("employed_not_insured", "employer_undercount", "base_below_wage", "deceased_enrolled",
                     "insured_twice_regions", "insured_twice_schemes", "newborn_not_enrolled", "interrupted",
                     "flexible_at_risk")
_SCHEMA: Final = {"true_person_key": pl.Int64, "situation": pl.String, "employer_id": pl.Int64,
                  "detail": pl.String}


def world_tables(pop: Population, emp: Employment, enr: Enrollments, person_id: I64, window: Window
                 ) -> dict[str, pl.DataFrame]:
    """persons, jobs, employers, births, moves and other_enrollments of the true world."""
    keys = np.arange(pop.n, dtype=np.int64)
    pid = pl.Series(person_id).replace(-1, None)
    persons = pl.DataFrame({
        "true_person_key": keys, "id_number": pop.id_number, "name": pop.name,
        "sex": np.where(pop.male, "male", "female"), "birth_date": pop.birth, "death_date": pop.death,
        "hukou_region": pop.hukou, "home": pop.home, "group": np.array(GROUP_NAMES)[pop.group],
        "status": np.array(STATUS_NAMES)[pop.status], "retiree": pop.retiree,
        "death_known_to_register": pop.death_known, "person_id": pid})
    e_idx, m_idx = np.nonzero(emp.wage_fen)
    first = int(month_index(window.first))
    declared = np.where(emp.under_declaring[emp.employer[e_idx]],
                        np.round(emp.wage_fen[e_idx, m_idx] * emp.declared_ratio[e_idx] / 100) * 100,
                        emp.wage_fen[e_idx, m_idx]).astype(np.int64)
    jobs = pl.DataFrame({
        "true_person_key": emp.person[e_idx], "employer_id": emp.employer[e_idx] + 1,
        "uscc": pl.Series(emp.uscc).gather(emp.employer[e_idx]),
        "month": yyyymm(m_idx + first).astype(np.int32), "wage_fen": emp.wage_fen[e_idx, m_idx],
        "insured": emp.insured[e_idx], "declared_wage_fen": pl.Series(declared).set(
            pl.Series(~emp.insured[e_idx]), None)})
    employers = pl.DataFrame({"employer_id": np.arange(1, emp.n_employers + 1, dtype=np.int64),
                              "uscc": emp.uscc, "name": emp.employer_name, "noncompliant": emp.noncompliant,
                              "under_declaring": emp.under_declaring})
    babies = np.flatnonzero(pop.mother >= 0)
    births = pl.DataFrame({
        "true_person_key": babies.astype(np.int64), "birth_date": pop.birth[babies],
        "mother_key": pop.mother[babies], "father_key": pl.Series(pop.father[babies]).replace(-1, None),
        "enrolled_month": pl.Series(np.where(pop.newborn_enrolled[babies] >= 0,
                                             yyyymm(pop.newborn_enrolled[babies]), -1)).replace(-1, None)})
    out_k, in_k = np.flatnonzero(~np.isnat(pop.move_out)), np.flatnonzero(~np.isnat(pop.move_in))
    moves = pl.DataFrame({
        "true_person_key": np.concatenate([out_k, in_k]).astype(np.int64),
        "direction": ["out"] * out_k.size + ["in"] * in_k.size,
        "move_date": np.concatenate([pop.move_out[out_k], pop.move_in[in_k]]),
        "from_region": [pop.hukou_before[k] for k in out_k.tolist()]
        + [pop.move_from[k] for k in in_k.tolist()],
        "to_region": [pop.hukou[k] for k in np.concatenate([out_k, in_k]).tolist()],
        "still_enrolled_at_home": np.concatenate([pop.move_out_enrolled[out_k], np.zeros(in_k.size, bool)])})
    other = enr.other.rename({"key": "true_person_key"})
    return {"persons": persons, "jobs": jobs, "employers": employers, "births": births, "moves": moves,
            "other_enrollments": other}


def _frame(keys: I64 | list[int | None], situation: str, employer: I64 | list[int | None] | None = None,
           detail: list[str] | None = None) -> pl.DataFrame:
    n = len(keys)
    return pl.DataFrame({"true_person_key": keys, "situation": [situation] * n,
                         "employer_id": employer if employer is not None else [None] * n,
                         "detail": detail if detail is not None else [None] * n}, schema=_SCHEMA)


def _employment_cases(model: Model, emp: Employment, window: Window) -> list[pl.DataFrame]:
    out = []
    for m in model.codes("tax_months"):
        col = int(month_index(int(m))) - int(month_index(window.first))
        taxed = emp.wage_fen[:, col] > 0
        gone = np.flatnonzero(taxed & ~emp.insured)
        out.append(_frame(emp.person[gone], "employed_not_insured", emp.employer[gone] + 1,
                          [f"{m}: {emp.uscc[u]}" for u in emp.employer[gone].tolist()]))
        n_taxed = np.bincount(emp.employer[taxed], minlength=emp.n_employers)
        n_insured = np.bincount(emp.employer[taxed & emp.insured], minlength=emp.n_employers)
        units = np.flatnonzero(n_taxed > n_insured)
        out.append(_frame([None] * units.size, "employer_undercount", units + 1,
                          [f"{m}: taxed {n_taxed[u]}, insured {n_insured[u]}" for u in units.tolist()]))
        rows = np.flatnonzero(taxed & emp.insured & emp.under_declaring[emp.employer])
        wage = emp.wage_fen[rows, col]
        declared = (np.round(wage * emp.declared_ratio[rows] / 100) * 100).astype(np.int64)
        kind = np.full(rows.size, IN_SERVICE, dtype=np.int8)
        month = np.full(rows.size, int(m), dtype=np.int64)
        _, due_taxed = price(model, month, wage, kind)
        _, due_declared = price(model, month, declared, kind)
        gap = due_taxed - due_declared
        hit = gap > 0
        out.append(_frame(emp.person[rows[hit]], "base_below_wage", emp.employer[rows[hit]] + 1,
                          [f"{m}: {g}" for g in gap[hit].tolist()]))
    return out


def _mask(n: int, keys: I64) -> npt.NDArray[np.bool_]:
    out = np.zeros(n, dtype=np.bool_)
    out[keys] = True
    return out


def situations(model: Model, pop: Population, emp: Employment, enr: Enrollments, window: Window,
               max_gap: int) -> pl.DataFrame:
    """Every case a worklist should find; ``detail`` is a short fact (month, gap in fen, dates)."""
    spans = enr.enrollments
    open_ = spans.filter(~pl.col("ended"))
    out = _employment_cases(model, emp, window)
    enrolled = _mask(pop.n, open_["key"].to_numpy())
    dead = np.flatnonzero(~np.isnat(pop.death) & ~pop.death_known & enrolled)
    out.append(_frame(dead, "deceased_enrolled", detail=[str(d) for d in pop.death[dead].tolist()]))
    elsewhere = _mask(pop.n, enr.other.filter(pl.col("reason") != "resident")["key"].to_numpy())
    out.append(_frame(np.flatnonzero(elsewhere & enrolled), "insured_twice_regions"))
    employee = _mask(pop.n, open_.filter(pl.col("scheme") == "employee")["key"].to_numpy())
    resident = _mask(pop.n, open_.filter(pl.col("scheme") == "resident")["key"].to_numpy())
    out.append(_frame(np.flatnonzero(employee & resident), "insured_twice_schemes"))
    babies = np.flatnonzero((pop.mother >= 0) & (pop.newborn_enrolled < 0))
    out.append(_frame(babies, "newborn_not_enrolled", detail=[str(d) for d in pop.birth[babies].tolist()]))
    out.append(_continuity(pop, enr, window, max_gap))
    return pl.concat(out).sort("situation", "true_person_key", "employer_id", nulls_last=True)


def _continuity(pop: Population, enr: Enrollments, window: Window, max_gap: int) -> pl.DataFrame:
    """Interrupted (unpaid for more than ``max_gap`` months) and flexible workers at risk (unpaid
    for ``max_gap``-1 or ``max_gap`` months), by the latest paying enrollment of the living."""
    last_i = int(month_index(window.last))
    spans = enr.enrollments.filter(pl.col("category").is_in(["in_service", "flexible"])
                                   & (pl.col("status") != "ended"))
    latest = spans.sort("key", "start_i").group_by("key", maintain_order=True).last()
    paid = (enr.months.filter(pl.col("status") == "paid").group_by("row")
            .agg(pl.col("month").max().alias("last_paid")))
    latest = latest.join(paid, on="row", how="left")
    keys = latest["key"].to_numpy()
    alive = np.isnat(pop.death[keys])
    last_paid = latest["last_paid"].fill_null(0).to_numpy().astype(np.int64)
    paid_i = np.where(last_paid > 0, month_index(last_paid), latest["start_i"].to_numpy() - 1)
    unpaid = last_i - paid_i
    flexible = latest["category"].to_numpy() == "flexible"
    interrupted = alive & (unpaid > max_gap)
    at_risk = alive & flexible & (latest["status"].to_numpy() == "active") & (unpaid >= max_gap - 1) \
        & (unpaid <= max_gap)
    detail = [f"unpaid {u} months" for u in unpaid.tolist()]
    pick = np.flatnonzero(interrupted)
    risk = np.flatnonzero(at_risk)
    return pl.concat([_frame(keys[pick], "interrupted", detail=[detail[i] for i in pick.tolist()]),
                      _frame(keys[risk], "flexible_at_risk", detail=[detail[i] for i in risk.tolist()])])
