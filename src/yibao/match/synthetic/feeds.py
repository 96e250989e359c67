"""The department feeds of the synthetic world: clean records, then corrupted and rendered as sent.

:func:`clean_feeds` gives, per feed, one row per record with canonical fields (the names of
:data:`yibao.match.feeds.FIELD_KINDS`, money in fen) and the world key; :func:`render_feed` applies
the corruption model and writes the cells under the Chinese headers of the shipped spec, returning
the raw table and its truth (``source_row``, key, error types).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.match.feeds import FeedSpec, shipped_specs
from yibao.match.synthetic.corrupt import (
    corrupt_birth_dates,
    corrupt_ids,
    corrupt_names,
    render_dates,
    render_months,
)
from yibao.match.synthetic.employment import Employment
from yibao.match.synthetic.enrollment import Enrollments
from yibao.match.synthetic.model import CORRUPTION_TYPES, Model
from yibao.match.synthetic.population import NONE, WORKING, Population, Window, month_index

__all__ = ["OPTIONAL_BLANKABLE", "clean_feeds", "render_feed"]

Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
#: Optional cells the ``field_missing`` corruption may blank (never a spec's required field).
OPTIONAL_BLANKABLE: Final = ("sex", "birth_date", "region_code", "from_region_code", "employer_name")
_DATE_FIELDS: Final = ("birth_date", "event_date")


def _people(pop: Population, keys: I64, region: bool = False) -> dict[str, object]:
    out: dict[str, object] = {"key": keys.astype(np.int64),
                              "id_number": pop.id_number.gather(keys),
                              "name": pop.name.gather(keys),
                              "sex": np.where(pop.male[keys], "male", "female")}
    if region:
        out["region_code"] = [pop.hukou_before[k] for k in keys.tolist()]
    return out


def _in_window(rng: np.random.Generator, window: Window, n: int) -> npt.NDArray[np.datetime64]:
    days = rng.integers(0, window.months * 30, n).astype("timedelta64[D]")
    return np.minimum(window.start + days, window.end)


def _tax(model: Model, pop: Population, emp: Employment, window: Window) -> pl.DataFrame:
    parts = []
    for m in model.codes("tax_months"):
        col = int(month_index(int(m))) - int(month_index(window.first))
        rows = np.flatnonzero(emp.wage_fen[:, col] > 0)
        rows = rows[np.lexsort((emp.person[rows], emp.employer[rows]))]  # a unit files its staff together
        unit = emp.employer[rows]
        parts.append(pl.DataFrame(_people(pop, emp.person[rows]) | {
            "employer_uscc": [emp.uscc[u] for u in unit.tolist()],
            "employer_name": [emp.employer_name[u] for u in unit.tolist()],
            "month": np.full(rows.size, int(m), dtype=np.int32), "wage_fen": emp.wage_fen[rows, col]}))
    return pl.concat(parts)


def _moves(pop: Population) -> pl.DataFrame:
    out_k = np.flatnonzero(~np.isnat(pop.move_out))
    in_k = np.flatnonzero(~np.isnat(pop.move_in))
    return pl.concat([
        pl.DataFrame(_people(pop, out_k) | {"event_date": pop.move_out[out_k],
                                            "from_region_code": [pop.hukou_before[k] for k in out_k.tolist()],
                                            "to_region_code": [pop.hukou[k] for k in out_k.tolist()],
                                            "event_type": "迁出"}),
        pl.DataFrame(_people(pop, in_k) | {"event_date": pop.move_in[in_k],
                                           "from_region_code": [pop.move_from[k] for k in in_k.tolist()],
                                           "to_region_code": [pop.hukou[k] for k in in_k.tolist()],
                                           "event_type": "迁入"}),
    ]).sort("event_date", "key")


def clean_feeds(rng: np.random.Generator, model: Model, pop: Population, emp: Employment, enr: Enrollments,
                window: Window) -> dict[str, pl.DataFrame]:
    """One clean frame per feed (canonical fields, ``key`` = true_person_key)."""
    alive = np.isnat(pop.death)
    babies = np.flatnonzero(pop.mother >= 0)
    dead = np.flatnonzero(~np.isnat(pop.death))
    hired = np.flatnonzero(emp.hire_day >= window.start)
    jobless = np.flatnonzero((pop.group == WORKING) & (pop.status == NONE) & alive)
    n_working = int((pop.group == WORKING).sum())
    k_unemp = min(round(n_working * model.share("unemployment_share")), jobless.size)
    unemployed = np.sort(rng.choice(jobless, size=k_unemp, replace=False))
    home_alive = np.flatnonzero(pop.home & alive)
    k_low = round(home_alive.size * model.share("low_income_share"))
    low = np.sort(rng.choice(home_alive, size=k_low, replace=False))
    other = enr.other
    o_keys = other["key"].to_numpy()
    feeds = {
        "tax_wages": _tax(model, pop, emp, window),
        "ps_births": pl.DataFrame(_people(pop, babies, region=True) | {
            "birth_date": pop.birth[babies],
            "event_date": np.minimum(
                pop.birth[babies] + rng.integers(1, 60, babies.size).astype("timedelta64[D]"), window.end),
        }).sort("event_date", "key"),
        "ps_deaths": pl.DataFrame(_people(pop, dead, region=True) | {"event_date": pop.death[dead]}
                                  ).sort("event_date", "key"),
        "ps_hukou_moves": _moves(pop),
        "hr_employment": pl.DataFrame(_people(pop, emp.person[hired]) | {
            "employer_uscc": [emp.uscc[u] for u in emp.employer[hired].tolist()],
            "employer_name": [emp.employer_name[u] for u in emp.employer[hired].tolist()],
            "event_date": emp.hire_day[hired],
            "status": np.array(["全日制", "非全日制", "劳务派遣"])[
                np.searchsorted([0.85, 0.95], rng.random(hired.size))]}).sort("event_date", "key"),
        "hr_unemployment": pl.DataFrame(_people(pop, unemployed, region=True) | {
            "event_date": _in_window(rng, window, unemployed.size)}).sort("event_date", "key"),
        "ca_low_income": pl.DataFrame(_people(pop, low, region=True) | {
            "household_id": [f"HH{110000000 + int(h):09d}"
                             for h in rng.integers(0, max(1, k_low * 2 // 3), k_low)],
            "status": np.array(["低保", "低收入", "特困"])[np.searchsorted([0.6, 0.95], rng.random(k_low))],
            "event_date": window.start - rng.integers(0, 3650, k_low).astype("timedelta64[D]")}),
        "other_region_register": pl.DataFrame(_people(pop, o_keys) | {
            "birth_date": pop.birth[o_keys],
            "insurance_type": np.where(other["scheme"].to_numpy() == "employee", "职工基本医疗保险",
                                       "城乡居民基本医疗保险"),
            "status": "参保缴费", "event_date": other["start_date"], "region_code": other["region_code"],
            "employer_uscc": other["employer_uscc"]}),
    }
    return {name: frame.with_columns(pl.col("key").cast(pl.Int64)) for name, frame in feeds.items()}


def _header(spec: FeedSpec, field: str) -> str:
    return next(h for h, f in spec.columns.items() if f == field)


def _yuan(fen: pl.Series) -> pl.Series:
    return pl.select(pl.concat_str((fen // 100).cast(pl.String), pl.lit("."),
                                   (fen % 100).cast(pl.String).str.zfill(2))).to_series()


def render_feed(rng: np.random.Generator, model: Model, name: str, clean: pl.DataFrame, pop: Population
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The raw table (spec headers, text cells) and truth (``source_row``, ``key``, ``errors``)."""
    spec = shipped_specs()[name]
    rates = {t: model.rate(t, name) for t in CORRUPTION_TYPES}
    n = clean.height
    keys = clean["key"].to_numpy()
    year = pop.birth[keys].astype("datetime64[Y]").astype(np.int64) + 1970
    masks: dict[str, Mask] = {}
    cells: dict[str, pl.Series] = {}
    ids, id_masks = corrupt_ids(rng, clean["id_number"].to_list(), (year >= 1900) & (year <= 1999), rates)
    masks |= id_masks
    cells["id_number"] = pl.Series(ids, dtype=pl.String)
    cells["name"], name_masks = corrupt_names(rng, clean["name"], pop.surname_len[keys], rates)
    masks |= name_masks
    missing = np.zeros(n, dtype=np.bool_)
    frame = clean
    for field in OPTIONAL_BLANKABLE:
        if field in frame.columns and field not in spec.required:
            hit = rng.random(n) < rates["field_missing"]
            missing |= hit
            blank = pl.when(pl.Series(hit)).then(None).otherwise(pl.col(field))
            frame = frame.with_columns(blank.alias(field))
    masks["field_missing"] = missing
    if "birth_date" in frame.columns:
        shifted, hit = corrupt_birth_dates(rng, frame["birth_date"].to_numpy(), rates["birth_date_typo"])
        masks["birth_date_typo"] = hit
        frame = frame.with_columns(pl.Series("birth_date", shifted).cast(pl.Date))
    styled = np.zeros(n, dtype=np.bool_)
    for field in _DATE_FIELDS:
        if field in frame.columns:
            cells[field], hit = render_dates(rng, frame[field].cast(pl.Date), rates["date_format"])
            styled |= hit
    if "month" in frame.columns:
        cells["month"], hit = render_months(rng, frame["month"], rates["date_format"])
        styled |= hit
    masks["date_format"] = styled
    if "sex" in frame.columns:
        cells["sex"] = frame["sex"].replace_strict({"male": "男", "female": "女"}, default=None)
    if "wage_fen" in frame.columns:
        cells["wage_yuan"] = _yuan(frame["wage_fen"])
    for field in frame.columns:
        if field not in cells and field not in ("key", "wage_fen"):
            cells[field] = frame[field].cast(pl.String)
    raw = pl.DataFrame({_header(spec, f): cells[f].alias(_header(spec, f))
                        for f in spec.fields() if f in cells})
    moved = ~np.isnat(pop.move_out[keys]) | ~np.isnat(pop.move_in[keys])
    masks["moved_region"] = moved
    dup = rng.random(n) < rates["duplicate_row"]
    order = np.repeat(np.arange(n), 1 + dup.astype(np.int64))
    copy = np.r_[False, order[1:] == order[:-1]] if order.size else np.zeros(0, dtype=np.bool_)
    kinds = [k for k in (*CORRUPTION_TYPES, "moved_region") if k in masks]
    flags = pl.DataFrame({k: masks[k][order] for k in kinds} | {"duplicate_row": copy})
    errors = flags.select(pl.concat_list([pl.when(pl.col(k)).then(pl.lit(k)) for k in flags.columns])
                          .list.drop_nulls().alias("errors"))["errors"]
    truth = pl.DataFrame({"source_row": np.arange(1, order.size + 1, dtype=np.int64), "key": keys[order],
                          "errors": errors})
    return raw[order], truth
