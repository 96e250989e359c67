"""The synthetic register, written in the register-export layout (docs/register-export.md).

The columns and types come from :data:`yibao.admin.export.LAYOUT` (never copied here), and the
folder is checked with :func:`yibao.admin.export.read_table` after writing, so the generator and
``yibao export register`` cannot drift apart. ``person_id`` is a permutation unrelated to the
world's ``true_person_key``, so a matcher cannot find a person by position.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from yibao.admin.export import LAYOUT, LAYOUT_VERSION, read_table
from yibao.match.synthetic.employment import Employment
from yibao.match.synthetic.enrollment import Enrollments
from yibao.match.synthetic.model import Model
from yibao.match.synthetic.population import Population, last_day, yyyymm

__all__ = ["Register", "build_register", "write_register", "write_table"]

I64 = npt.NDArray[np.int64]


@dataclass
class Register:
    """The five tables, and the map from world key to register person_id (-1 if not registered)."""

    tables: dict[str, pl.DataFrame]
    person_id: I64


def write_table(frame: pl.DataFrame, path: Path, table: str) -> None:
    """One table in the export layout: the layout's columns, order and types; zstd; atomic rename."""
    schema = pa.schema([pa.field(name, typ) for name, typ, _ in LAYOUT[table]])
    data = frame.select([name for name, _, _ in LAYOUT[table]]).to_arrow().cast(schema)
    tmp = path.with_suffix(".parquet.part")
    pq.write_table(data, tmp, compression="zstd")
    tmp.replace(path)


def _persons(rng: np.random.Generator, model: Model, pop: Population, keys: I64, pid: I64) -> pl.DataFrame:
    birth = pop.birth[keys]
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    legacy = (year < 1984) & (rng.random(keys.size) < model.share("legacy_register_share"))
    known = pop.death_known[keys]
    hukou = [pop.hukou_before[k] for k in keys.tolist()]
    return pl.DataFrame({
        "person_id": pid[keys], "id_number": pop.id_number.gather(keys),
        "id_kind": np.where(legacy, "resident_legacy15", "resident"), "name": pop.name.gather(keys),
        "sex": np.where(pop.male[keys], "male", "female"), "birth_date": birth,
        "hukou_region": hukou, "residence_region": hukou,
        "death_date": np.where(known, pop.death[keys], np.datetime64("NaT")),
    }).sort("person_id")


def build_register(rng: np.random.Generator, model: Model, pop: Population, emp: Employment,
                   enr: Enrollments) -> Register:
    """The tables of the home region's register from the world's enrollments."""
    spans = enr.enrollments
    keys = np.unique(spans["key"].to_numpy())
    pid = np.full(pop.n, -1, dtype=np.int64)
    pid[keys] = rng.permutation(keys.size) + 1
    region = model.text("home_region")
    insured_units = np.unique(spans.filter(pl.col("employer") >= 0)["employer"].to_numpy())
    employers = pl.DataFrame({
        "employer_id": insured_units + 1, "uscc": [emp.uscc[e] for e in insured_units.tolist()],
        "name": [emp.employer_name[e] for e in insured_units.tolist()], "region_code": region,
        "status": "active", "closed_on": pl.Series([None] * insured_units.size, dtype=pl.Date),
        "hardship": False})
    service = spans.filter(pl.col("category") == "in_service")
    job = np.full(pop.n, -1, dtype=np.int64)
    job[emp.person] = np.arange(emp.person.size)
    s_keys = service["key"].to_numpy()
    end = np.where(service["ended"].to_numpy(), last_day(service["end_i"].to_numpy()), np.datetime64("NaT"))
    spells = pl.DataFrame({"person_id": pid[s_keys], "employer_id": service["employer"].to_numpy() + 1,
                           "start_date": emp.hire_day[job[s_keys]], "end_date": end})
    ended = spans["ended"].to_numpy()
    unit = spans["employer"].to_numpy()
    enrollments = pl.DataFrame({
        "enrollment_id": spans["row"].to_numpy() + 1, "person_id": pid[spans["key"].to_numpy()],
        "region_code": region, "scheme": spans["scheme"], "category": spans["category"],
        "employer_id": pl.Series(np.where(unit >= 0, unit + 1, 0)).replace(0, None),
        "start_month": yyyymm(spans["start_i"].to_numpy()).astype(np.int32),
        "end_month": pl.Series(np.where(ended, yyyymm(spans["end_i"].to_numpy()), 0).astype(np.int32)
                               ).replace(0, None),
        "status": spans["status"]})
    m = enr.months
    payer = np.where(m["payer_kind"].to_numpy() == "employer", m["employer"].to_numpy() + 1,
                     pid[m["key"].to_numpy()])
    months = m.with_columns(person_id=pl.Series(pid[m["key"].to_numpy()]),
                            enrollment_id=pl.col("row") + 1, region_code=pl.lit(region),
                            payer_id=pl.Series(payer))
    return Register({"persons": _persons(rng, model, pop, keys, pid), "employers": employers,
                     "employment_spells": spells, "enrollments": enrollments,
                     "contribution_months": months}, pid)


def write_register(reg: Register, out: Path, region: str, as_of: dt.date) -> dict[str, Any]:
    """The five tables and ``manifest.json`` as ``yibao export register`` writes them; checked."""
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for table in LAYOUT:
        write_table(reg.tables[table], out / f"{table}.parquet", table)
        rows[table] = read_table(out, table).num_rows  # the layout check of the matching side
    manifest = {"layout_version": LAYOUT_VERSION, "region": region, "as_of": as_of.isoformat(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "rows": rows,
                "audit_event": None, "synthetic": True,
                "tables": {t: [{"name": n, "type": str(ty), "description": d} for n, ty, d in cols]
                           for t, cols in LAYOUT.items()}}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest
